/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of subscription matching (server/subs_match.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <string.h>

#include "server/subs_match.h"
#include "tests/unit/unit.h"

/* acme: 1 runtime in app shop (hourly, 3), 2 runtime|system anywhere (daily, 1),
 * 3 change in namespace prod and region cn-hz; globex: 4 runtime. */
static struct ac_sub_set *set_make(void)
{
    struct ac_sub_set *s = ac_sub_set_new(1); /* grows */
    json_t *rt = json_pack("[s]", "runtime"), *rs = json_pack("[s, s]", "runtime", "system");
    json_t *ch = json_pack("[s, s]", "change", "weather"), *shop = json_pack("[s]", "shop");
    json_t *prod = json_pack("[s]", "prod"), *hz = json_pack("[s]", "cn-hz"), *none = json_array();

    ac_sub_set_add(s, 1, "acme", rt, shop, NULL, NULL, 3600, 3);
    ac_sub_set_add(s, 2, "acme", rs, NULL, NULL, none, 86400, 1);
    ac_sub_set_add(s, 3, "acme", ch, NULL, prod, hz, 600, 5);
    ac_sub_set_add(s, 4, "globex", rt, NULL, NULL, NULL, 60, 1);
    json_decref(rt);
    json_decref(rs);
    json_decref(ch);
    json_decref(shop);
    json_decref(prod);
    json_decref(hz);
    json_decref(none);
    return s;
}

static struct ac_event event(const char *tenant, enum ac_category cat, const char *app)
{
    struct ac_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.user_id = (char *)tenant;
    ev.category = cat;
    ev.app_id = (char *)app;
    ev.received_at = 1765000000123456LL; /* 2025-12-06T05:46:40.123456Z */
    return ev;
}

static void test_subs_match_by_tenant_category_scope(void **state)
{
    struct ac_sub_set *s = set_make();
    struct ac_sub_hit h[8];
    struct ac_event ev = event("acme", AC_CATEGORY_RUNTIME, "shop");

    (void)state;
    assert_int_equal(ac_sub_set_size(s), 4);
    assert_int_equal(ac_sub_set_match(s, &ev, h, 8), 2);
    assert_int_equal(h[0].id, 1);
    assert_int_equal(h[0].threshold, 3);
    assert_int_equal(h[1].id, 2);
    ev.app_id = "cart"; /* out of 1's scope */
    assert_int_equal(ac_sub_set_match(s, &ev, h, 8), 1);
    assert_int_equal(h[0].id, 2);
    ev.app_id = NULL; /* no app: only scopes without apps */
    assert_int_equal(ac_sub_set_match(s, &ev, h, 8), 1);
    ev.category = AC_CATEGORY_SYSTEM;
    assert_int_equal(ac_sub_set_match(s, &ev, h, 8), 1);
    ev.category = AC_CATEGORY_CLOUD_PRODUCT; /* nobody's */
    assert_int_equal(ac_sub_set_match(s, &ev, h, 8), 0);
    /* change: namespace and region both in scope */
    ev.category = AC_CATEGORY_CHANGE;
    ev.namespace_ = "prod";
    assert_int_equal(ac_sub_set_match(s, &ev, h, 8), 0); /* no region */
    ev.region = "cn-hz";
    assert_int_equal(ac_sub_set_match(s, &ev, h, 8), 1);
    assert_int_equal(h[0].id, 3);
    ev.region = "cn-sh";
    assert_int_equal(ac_sub_set_match(s, &ev, h, 8), 0);
    /* another tenant's, no tenant, no category, an unknown tenant */
    ev = event("globex", AC_CATEGORY_RUNTIME, "shop");
    assert_int_equal(ac_sub_set_match(s, &ev, h, 8), 1);
    assert_int_equal(h[0].id, 4);
    ev = event(NULL, AC_CATEGORY_RUNTIME, "shop");
    assert_int_equal(ac_sub_set_match(s, &ev, h, 8), 0);
    ev = event("acme", AC_CATEGORY_UNSET, "shop");
    assert_int_equal(ac_sub_set_match(s, &ev, h, 8), 0);
    ev = event("initech", AC_CATEGORY_RUNTIME, "shop");
    assert_int_equal(ac_sub_set_match(s, &ev, h, 8), 0);
    /* at most max */
    ev = event("acme", AC_CATEGORY_RUNTIME, "shop");
    assert_int_equal(ac_sub_set_match(s, &ev, h, 1), 1);
    assert_int_equal(ac_sub_set_match(NULL, &ev, h, 8), 0);
    ac_sub_set_free(s);
}

/* Cycles are aligned to the epoch: the hour, the day, the minute. */
static void test_subs_cycles(void **state)
{
    struct ac_sub_set *s = set_make();
    struct ac_sub_hit h[8];
    struct ac_event ev = event("acme", AC_CATEGORY_RUNTIME, "shop");

    (void)state;
    assert_int_equal(ac_sub_set_match(s, &ev, h, 8), 2);
    assert_int_equal(h[0].cycle_start_us, 1764997200000000LL); /* 05:00:00 */
    assert_int_equal(h[1].cycle_start_us, 1764979200000000LL); /* 00:00:00 */
    ev = event("globex", AC_CATEGORY_RUNTIME, "x");
    assert_int_equal(ac_sub_set_match(s, &ev, h, 8), 1);
    assert_int_equal(h[0].cycle_start_us, 1764999960000000LL); /* 05:46:00 */
    ev.received_at = 1764999960000000LL - 1;                   /* the minute before */
    assert_int_equal(ac_sub_set_match(s, &ev, h, 8), 1);
    assert_int_equal(h[0].cycle_start_us, 1764999900000000LL);
    ac_sub_set_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subs_match_by_tenant_category_scope),
        cmocka_unit_test(test_subs_cycles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
