/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the native body decoder: JSON object, array, NDJSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/native.h"

#define EV(t) "{\"source\":\"probe\",\"type\":\"" t "\",\"title\":\"x\"}"

static int decode(const char *body, size_t len, enum ac_native_format f, size_t max,
                  struct ac_event_vec *out, json_t **details)
{
    return ac_native_decode(body, len, f, max, 777, out, details);
}

static json_t *detail(json_t *details, size_t i)
{
    assert_true(json_array_size(details) > i);
    return json_array_get(details, i);
}

static void test_native_object(void **state)
{
    struct ac_event_vec v;
    json_t *d;

    (void)state;
    assert_int_equal(decode(EV("A"), strlen(EV("A")), AC_NATIVE_JSON, 10, &v, &d), AC_OK);
    assert_int_equal(v.n, 1);
    assert_string_equal(v.items[0].type, "A");
    assert_true(v.items[0].received_at == 777);
    assert_null(d);
    ac_event_vec_deinit(&v);
}

static void test_native_array(void **state)
{
    const char *b = "[" EV("A") "," EV("B") "," EV("C") "]";
    struct ac_event_vec v;
    json_t *d;

    (void)state;
    assert_int_equal(decode(b, strlen(b), AC_NATIVE_JSON, 10, &v, &d), AC_OK);
    assert_int_equal(v.n, 3);
    assert_string_equal(v.items[2].type, "C");
    ac_event_vec_deinit(&v);
}

static void test_native_ndjson(void **state)
{
    const char *b = EV("A") "\r\n\n   \n" EV("B") "\n" EV("C");
    struct ac_event_vec v;
    json_t *d;

    (void)state;
    assert_int_equal(decode(b, strlen(b), AC_NATIVE_NDJSON, 10, &v, &d), AC_OK);
    assert_int_equal(v.n, 3);
    assert_string_equal(v.items[1].type, "B");
    ac_event_vec_deinit(&v);
}

static void test_native_batch_is_atomic(void **state)
{
    const char *b = "[" EV("A") ",{\"source\":\"p\",\"type\":\"B\"}," EV("C") ",7]";
    struct ac_event_vec v;
    json_t *d;

    (void)state;
    assert_int_equal(decode(b, strlen(b), AC_NATIVE_JSON, 10, &v, &d), AC_EINVAL);
    assert_int_equal(v.n, 0);
    assert_null(v.items);
    /* every bad item is named by index */
    assert_int_equal(json_array_size(d), 2);
    assert_int_equal(json_integer_value(json_object_get(detail(d, 0), "index")), 1);
    assert_string_equal(json_string_value(json_object_get(detail(d, 0), "path")), "$.title");
    assert_int_equal(json_integer_value(json_object_get(detail(d, 1), "index")), 3);
    json_decref(d);
}

static void test_native_ndjson_bad_line(void **state)
{
    const char *b = EV("A") "\n\n{\"source\":\n" EV("C");
    struct ac_event_vec v;
    json_t *d;

    (void)state;
    assert_int_equal(decode(b, strlen(b), AC_NATIVE_NDJSON, 10, &v, &d), AC_EINVAL);
    assert_int_equal(v.n, 0);
    assert_int_equal(json_array_size(d), 1);
    assert_int_equal(json_integer_value(json_object_get(detail(d, 0), "index")), 1);
    assert_int_equal(json_integer_value(json_object_get(detail(d, 0), "line")), 3);
    assert_non_null(
        strstr(json_string_value(json_object_get(detail(d, 0), "message")), "invalid JSON"));
    json_decref(d);
}

static void expect_bad_json(const char *body, size_t len, const char *msg)
{
    struct ac_event_vec v;
    json_t *d;

    assert_int_equal(decode(body, len, AC_NATIVE_JSON, 10, &v, &d), AC_EINVAL);
    assert_int_equal(v.n, 0);
    if (msg && !strstr(json_string_value(json_object_get(detail(d, 0), "message")), msg)) {
        fail_msg("expected '%s' in %s", msg,
                 json_string_value(json_object_get(detail(d, 0), "message")));
    }
    json_decref(d);
}

static void test_native_malformed(void **state)
{
    const char nul_raw[] = "{\"source\":\"probe\",\"type\":\"A\0\",\"title\":\"x\"}";
    const char *truncated = "[" EV("A") "," EV("B");

    (void)state;
    expect_bad_json("{", 1, "invalid JSON");
    expect_bad_json(truncated, strlen(truncated), "invalid JSON");
    expect_bad_json("{\"source\":'p'}", 14, "invalid JSON");
    expect_bad_json("", 0, "empty");
    expect_bad_json("[]", 2, "no events");
    /* invalid UTF-8: a lone continuation byte and an overlong encoding */
    expect_bad_json("{\"source\":\"\x80\",\"type\":\"A\",\"title\":\"x\"}", 39, "invalid JSON");
    expect_bad_json("{\"source\":\"\xc0\xaf\",\"type\":\"A\",\"title\":\"x\"}", 40, "invalid JSON");
    /* NUL bytes: raw and escaped */
    expect_bad_json(nul_raw, sizeof(nul_raw) - 1, "invalid JSON");
    expect_bad_json("{\"source\":\"a\\u0000b\",\"type\":\"A\",\"title\":\"x\"}", 44,
                    "invalid JSON");
    /* duplicate keys are ambiguous */
    expect_bad_json("{\"source\":\"a\",\"source\":\"b\",\"type\":\"A\",\"title\":\"x\"}", 50,
                    "duplicate");
}

static void test_native_deep_nesting(void **state)
{
    /* deeper than jansson's own limit, and between ours and jansson's */
    size_t n = 5000;
    char *b = malloc(2 * n + 1);
    struct ac_event_vec v;
    json_t *d;

    (void)state;
    memset(b, '[', n);
    memset(b + n, ']', n);
    assert_int_equal(decode(b, 2 * n, AC_NATIVE_JSON, 10, &v, &d), AC_EINVAL);
    json_decref(d);
    free(b);
}

static void test_native_too_many(void **state)
{
    const char *b = "[" EV("A") "," EV("B") "," EV("C") "]";
    const char *nd = EV("A") "\n" EV("B") "\n" EV("C") "\n";
    struct ac_event_vec v;
    json_t *d;

    (void)state;
    assert_int_equal(decode(b, strlen(b), AC_NATIVE_JSON, 2, &v, &d), AC_ETOOBIG);
    assert_int_equal(v.n, 0);
    assert_non_null(
        strstr(json_string_value(json_object_get(detail(d, 0), "message")), "more than 2"));
    json_decref(d);
    assert_int_equal(decode(nd, strlen(nd), AC_NATIVE_NDJSON, 2, &v, &d), AC_ETOOBIG);
    json_decref(d);
    assert_int_equal(decode(nd, strlen(nd), AC_NATIVE_NDJSON, 3, &v, &d), AC_OK);
    ac_event_vec_deinit(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_native_object),
        cmocka_unit_test(test_native_array),
        cmocka_unit_test(test_native_ndjson),
        cmocka_unit_test(test_native_batch_is_atomic),
        cmocka_unit_test(test_native_ndjson_bad_line),
        cmocka_unit_test(test_native_malformed),
        cmocka_unit_test(test_native_deep_nesting),
        cmocka_unit_test(test_native_too_many),
    };

    return cmocka_run_group_tests_name("native", tests, NULL, NULL);
}
