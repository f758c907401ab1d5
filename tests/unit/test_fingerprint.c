/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the v1 fingerprint. The vectors were computed by an
 * independent implementation of the algorithm in fingerprint.h (Python
 * hashlib); if one changes, the algorithm changed and stored alerts would no
 * longer fold: that needs a new version, not new vectors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <string.h>

#include "schema/fingerprint.h"

static void set_labels(struct ac_event *ev, const char *k, const char *v)
{
    if (!ev->labels) {
        ev->labels = json_object();
    }
    json_object_set_new(ev->labels, k, json_string(v));
}

static void test_fingerprint_vectors(void **state)
{
    struct ac_event ev;
    char fp[AC_FP_HEX_LEN + 1];

    (void)state;
    memset(&ev, 0, sizeof(ev));
    ev.type = "PodNotReady";
    ac_fingerprint(&ev, NULL, fp);
    assert_string_equal(fp, "11364e9308d9c2e5afbc19bd9d849af9");

    ev.region = "cn-hangzhou";
    ev.cluster = "c1";
    ev.namespace_ = "ns";
    ev.app_id = "app-1";
    ev.resource.kind = "Pod";
    ev.resource.name = "web-0";
    ev.instance = "web-0";
    ac_fingerprint(&ev, NULL, fp);
    assert_string_equal(fp, "c86b7df2fb718b61e80b7fe29e7dd02f");

    memset(&ev, 0, sizeof(ev));
    ev.type = "\xe5\x91\x8a\xe8\xad\xa6";
    ev.app_id = "\xe5\xba\x94\xe7\x94\xa8";
    ac_fingerprint(&ev, NULL, fp);
    assert_string_equal(fp, "a64d395e8e35cdc023066cc0bed7615c");
}

static void test_fingerprint_absent_differs_from_empty(void **state)
{
    struct ac_event ev;
    char a[AC_FP_HEX_LEN + 1], b[AC_FP_HEX_LEN + 1];

    (void)state;
    memset(&ev, 0, sizeof(ev));
    ev.type = "PodNotReady";
    ac_fingerprint(&ev, NULL, a);
    ev.region = "";
    ac_fingerprint(&ev, NULL, b);
    assert_string_equal(b, "918ae0dd754f1f8efdc0271b772f0e25");
    assert_string_not_equal(a, b);
}

static void test_fingerprint_ignores_non_dimensions(void **state)
{
    struct ac_event ev;
    char a[AC_FP_HEX_LEN + 1], b[AC_FP_HEX_LEN + 1];

    (void)state;
    memset(&ev, 0, sizeof(ev));
    ev.type = "T";
    ev.app_id = "a";
    ev.title = "one";
    ev.level = AC_LEVEL_P1;
    ac_fingerprint(&ev, NULL, a);
    ev.title = "two";
    ev.message = "changed";
    ev.level = AC_LEVEL_P4;
    ev.user_id = "u"; /* not a default dimension */
    ev.occurred_at = 12345;
    ac_fingerprint(&ev, NULL, b);
    assert_string_equal(a, b);
    ev.type = "U";
    ac_fingerprint(&ev, NULL, b);
    assert_string_not_equal(a, b);
    ev.type = "T";
    ev.app_id = "b";
    ac_fingerprint(&ev, NULL, b);
    assert_string_not_equal(a, b);
}

static void test_fingerprint_value_boundaries(void **state)
{
    struct ac_event ev;
    char a[AC_FP_HEX_LEN + 1], b[AC_FP_HEX_LEN + 1];

    (void)state;
    /* Length prefixes keep "ab"+"c" apart from "a"+"bc". */
    memset(&ev, 0, sizeof(ev));
    ev.type = "T";
    ev.region = "ab";
    ev.cluster = "c";
    ac_fingerprint(&ev, NULL, a);
    ev.region = "a";
    ev.cluster = "bc";
    ac_fingerprint(&ev, NULL, b);
    assert_string_not_equal(a, b);
}

static void test_fingerprint_configured_dims(void **state)
{
    static const char *const dims[] = {"labels.route", "app_id"};
    static const char *const reversed[] = {"app_id", "labels.route", "app_id"};
    struct ac_fp_dims d = {dims, 2}, r = {reversed, 3};
    struct ac_event ev;
    char a[AC_FP_HEX_LEN + 1], b[AC_FP_HEX_LEN + 1];

    (void)state;
    memset(&ev, 0, sizeof(ev));
    ev.type = "HighLatency";
    ev.app_id = "a";
    ev.region = "ignored-here";
    set_labels(&ev, "route", "/api");
    ac_fingerprint(&ev, &d, a);
    assert_string_equal(a, "76803a1defad3409e783a893dfa1d988");
    /* Order and repeats of the configured list do not matter. */
    ac_fingerprint(&ev, &r, b);
    assert_string_equal(a, b);
    /* A label in the dimensions separates alerts. */
    set_labels(&ev, "route", "/health");
    ac_fingerprint(&ev, &d, b);
    assert_string_not_equal(a, b);
    json_decref(ev.labels);
}

static void test_fingerprint_dim_names(void **state)
{
    (void)state;
    assert_true(ac_fp_dim_is_valid("region"));
    assert_true(ac_fp_dim_is_valid("resource.uid"));
    assert_true(ac_fp_dim_is_valid("labels.team"));
    assert_false(ac_fp_dim_is_valid("labels."));
    assert_false(ac_fp_dim_is_valid("title"));
    assert_false(ac_fp_dim_is_valid("resource.owner"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fingerprint_vectors),
        cmocka_unit_test(test_fingerprint_absent_differs_from_empty),
        cmocka_unit_test(test_fingerprint_ignores_non_dimensions),
        cmocka_unit_test(test_fingerprint_value_boundaries),
        cmocka_unit_test(test_fingerprint_configured_dims),
        cmocka_unit_test(test_fingerprint_dim_names),
    };

    return cmocka_run_group_tests_name("fingerprint", tests, NULL, NULL);
}
