/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of enrichment precedence (server/registry.c, the pure rules). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "server/registry.h"

static void test_enrich_type_fills_only_missing(void **state)
{
    struct ac_event ev;

    (void)state;
    memset(&ev, 0, sizeof(ev));
    ev.trace = AC_TRACE_CONTROL; /* the event says control */
    ac_registry_fill_type(&ev, AC_LEVEL_P2, AC_TRACE_DATA, AC_CATEGORY_CHANGE);
    assert_int_equal(ev.level, AC_LEVEL_P2);
    assert_int_equal(ev.trace, AC_TRACE_CONTROL); /* the event's own wins */
    assert_int_equal(ev.category, AC_CATEGORY_CHANGE);
    /* a type without defaults leaves the built-in defaults to come */
    memset(&ev, 0, sizeof(ev));
    ac_registry_fill_type(&ev, AC_LEVEL_UNSET, AC_TRACE_UNSET, AC_CATEGORY_UNSET);
    ev.received_at = 5;
    ac_event_apply_defaults(&ev);
    assert_int_equal(ev.level, AC_LEVEL_P4);
    assert_int_equal(ev.trace, AC_TRACE_RUNTIME);
    assert_int_equal(ev.category, AC_CATEGORY_UNSET);
}

static void test_enrich_app_fills_only_missing(void **state)
{
    struct ac_event ev;

    (void)state;
    memset(&ev, 0, sizeof(ev));
    ev.region = strdup("cn-hz");
    ev.labels = json_pack("{s:s}", "team", "own-team");
    ac_registry_fill_app(&ev, "u-1", "cn-sh", "shop", "sre");
    assert_string_equal(ev.user_id, "u-1");
    assert_string_equal(ev.region, "cn-hz");
    assert_string_equal(ev.namespace_, "shop");
    assert_string_equal(json_string_value(json_object_get(ev.labels, "team")), "own-team");
    ac_event_deinit(&ev);

    memset(&ev, 0, sizeof(ev));
    ac_registry_fill_app(&ev, NULL, NULL, NULL, "sre");
    assert_null(ev.user_id);
    assert_string_equal(json_string_value(json_object_get(ev.labels, "team")), "sre");
    ac_event_deinit(&ev);
}

static void test_enrich_gc_level(void **state)
{
    struct ac_event ev;

    (void)state;
    memset(&ev, 0, sizeof(ev));
    ac_registry_fill_gc(&ev, 7);
    assert_int_equal(ev.gc_level, 7);
    ac_registry_fill_gc(&ev, 2); /* already set: the first (the event's) wins */
    assert_int_equal(ev.gc_level, 7);
    memset(&ev, 0, sizeof(ev));
    ac_registry_fill_gc(&ev, 0); /* a tenant without a grade fills nothing */
    ac_registry_fill_gc(&ev, 9);
    assert_int_equal(ev.gc_level, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enrich_type_fills_only_missing),
        cmocka_unit_test(test_enrich_app_fills_only_missing),
        cmocka_unit_test(test_enrich_gc_level),
    };

    return cmocka_run_group_tests_name("enrich", tests, NULL, NULL);
}
