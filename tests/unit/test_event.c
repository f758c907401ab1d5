/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the event model: every class of bad input of DESIGN §3. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/event.h"
#include "schema/timefmt.h"
#include "tests/unit/unit.h"

/* Parses text as JSON then as an event; returns validity, errors in *errs (new). */
static bool parse(const char *text, struct ac_event *ev, json_t **errs)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
    bool ok;

    assert_non_null(v);
    *errs = json_array();
    ok = ac_event_from_json(v, ev, -1, *errs);
    json_decref(v);
    return ok;
}

static void expect_invalid(const char *text, const char *path, const char *msg)
{
    struct ac_event ev;
    json_t *errs;

    if (parse(text, &ev, &errs)) {
        fail_msg("accepted: %s", text);
    }
    if (!unit_has_error(errs, path, msg)) {
        char *s = json_dumps(errs, 0);
        fail_msg("no error at %s (%s) for %s; got %s", path, msg ? msg : "", text, s);
    }
    /* A rejected event owns nothing. */
    assert_null(ev.source);
    assert_null(ev.labels);
    json_decref(errs);
}

#define MIN_EVENT "\"source\":\"probe\",\"type\":\"T\",\"title\":\"t\""

static void test_event_full_roundtrip(void **state)
{
    const char *text =
        "{\"spec_version\":\"1\",\"id\":\"k-1\",\"source\":\"diagnosis\",\"type\":"
        "\"ImagePullBackOff\","
        "\"trace\":\"data\",\"category\":\"runtime\",\"level\":\"P2\",\"status\":\"resolved\","
        "\"title\":\"pull "
        "failed\",\"message\":\"m\",\"occurred_at\":\"2026-01-02T03:04:05.5+08:00\","
        "\"region\":\"cn-hz\",\"cluster\":\"c1\",\"namespace\":\"ns\",\"app_id\":\"app\","
        "\"user_id\":\"u1\",\"gc_level\":7,\"instance\":\"pod-1\","
        "\"resource\":{\"kind\":\"Pod\",\"namespace\":\"ns\",\"name\":\"pod-1\",\"uid\":\"x\"},"
        "\"labels\":{\"team\":\"sre\"},\"context\":{\"events\":[{\"reason\":\"Failed\"}]}}";
    struct ac_event ev;
    json_t *errs, *out;
    char *s;

    (void)state;
    assert_true(parse(text, &ev, &errs));
    assert_int_equal(json_array_size(errs), 0);
    assert_string_equal(ev.type, "ImagePullBackOff");
    assert_int_equal(ev.trace, AC_TRACE_DATA);
    assert_int_equal(ev.category, AC_CATEGORY_RUNTIME);
    assert_int_equal(ev.level, AC_LEVEL_P2);
    assert_int_equal(ev.status, AC_STATUS_RESOLVED);
    assert_int_equal(ev.gc_level, 7);
    assert_string_equal(ev.resource.kind, "Pod");
    /* +08:00 converts to UTC. */
    assert_true(ev.occurred_at == (int64_t)1767294245 * 1000000 + 500000);
    out = ac_event_to_json(&ev);
    assert_string_equal(json_string_value(json_object_get(out, "occurred_at")),
                        "2026-01-01T19:04:05.500000Z");
    assert_string_equal(json_string_value(json_object_get(out, "category")), "runtime");
    assert_string_equal(json_string_value(json_object_get(json_object_get(out, "labels"), "team")),
                        "sre");
    assert_non_null(json_object_get(out, "context"));
    s = json_dumps(out, JSON_COMPACT);
    assert_non_null(strstr(s, "\"resource\":{\"kind\":\"Pod\""));
    free(s);
    json_decref(out);
    json_decref(errs);
    ac_event_deinit(&ev);
}

static void test_event_defaults(void **state)
{
    struct ac_event ev;
    json_t *errs;

    (void)state;
    assert_true(parse("{" MIN_EVENT "}", &ev, &errs));
    assert_int_equal(ev.level, AC_LEVEL_UNSET);
    ev.received_at = 42;
    ac_event_apply_defaults(&ev);
    assert_int_equal(ev.level, AC_LEVEL_P4);
    assert_int_equal(ev.trace, AC_TRACE_RUNTIME);
    assert_int_equal(ev.status, AC_STATUS_FIRING);
    assert_true(ev.occurred_at == 42);
    json_decref(errs);
    ac_event_deinit(&ev);
}

static void test_event_not_object(void **state)
{
    (void)state;
    expect_invalid("[1]", "$", "JSON object");
    expect_invalid("\"x\"", "$", "JSON object");
}

static void test_event_missing_required(void **state)
{
    struct ac_event ev;
    json_t *errs;

    (void)state;
    assert_false(parse("{}", &ev, &errs));
    assert_true(unit_has_error(errs, "$.source", "required"));
    assert_true(unit_has_error(errs, "$.type", "required"));
    assert_true(unit_has_error(errs, "$.title", "required"));
    json_decref(errs);
    expect_invalid("{\"source\":\"\",\"type\":\"T\",\"title\":\"t\"}", "$.source", "empty");
}

static void test_event_wrong_types(void **state)
{
    (void)state;
    expect_invalid("{\"source\":1,\"type\":\"T\",\"title\":\"t\"}", "$.source", "string");
    expect_invalid("{" MIN_EVENT ",\"app_id\":true}", "$.app_id", "string");
    expect_invalid("{" MIN_EVENT ",\"gc_level\":\"7\"}", "$.gc_level", NULL);
    expect_invalid("{" MIN_EVENT ",\"gc_level\":6.5}", "$.gc_level", NULL);
    expect_invalid("{" MIN_EVENT ",\"gc_level\":8}", "$.gc_level", NULL);
    expect_invalid("{" MIN_EVENT ",\"gc_level\":0}", "$.gc_level", NULL);
    expect_invalid("{" MIN_EVENT ",\"labels\":[]}", "$.labels", NULL);
    expect_invalid("{" MIN_EVENT ",\"labels\":{\"a\":1}}", "$.labels.a", "string");
    expect_invalid("{" MIN_EVENT ",\"context\":\"x\"}", "$.context", "object");
    expect_invalid("{" MIN_EVENT ",\"resource\":{\"kind\":2}}", "$.resource.kind", "string");
    expect_invalid("{" MIN_EVENT ",\"resource\":{\"owner\":\"x\"}}", "$.resource.owner", "unknown");
    expect_invalid("{" MIN_EVENT ",\"occurred_at\":\"yesterday\"}", "$.occurred_at", "RFC 3339");
    expect_invalid("{" MIN_EVENT ",\"occurred_at\":12}", "$.occurred_at", "RFC 3339");
    expect_invalid("{" MIN_EVENT ",\"spec_version\":\"2\"}", "$.spec_version", NULL);
    expect_invalid("{" MIN_EVENT ",\"event_id\":\"5\"}", "$.event_id", "unknown field");
}

static void test_event_unknown_enum(void **state)
{
    (void)state;
    expect_invalid("{" MIN_EVENT ",\"level\":\"P5\"}", "$.level", "unknown value");
    expect_invalid("{" MIN_EVENT ",\"level\":\"p1\"}", "$.level", "unknown value");
    expect_invalid("{" MIN_EVENT ",\"trace\":\"mgmt\"}", "$.trace", "unknown value");
    expect_invalid("{" MIN_EVENT ",\"category\":\"infra\"}", "$.category", "unknown value");
    expect_invalid("{" MIN_EVENT ",\"status\":\"open\"}", "$.status", "unknown value");
}

/* Builds {"source":"probe","type":"T","title":"t", <field>: "<n times c>"}. */
static char *with_long(const char *field, size_t n, const char *unit)
{
    size_t ul = strlen(unit);
    char *v = malloc(n * ul + 1), *out;

    for (size_t i = 0; i < n; i++) {
        memcpy(v + i * ul, unit, ul);
    }
    v[n * ul] = '\0';
    out = malloc(n * ul + 256);
    sprintf(out, "{%s,\"%s\":\"%s\"}",
            strcmp(field, "title") == 0 ? "\"source\":\"probe\",\"type\":\"T\"" : MIN_EVENT, field,
            v);
    free(v);
    return out;
}

static void check_limit(const char *field, size_t max)
{
    struct ac_event ev;
    json_t *errs;
    char path[64], *ok = with_long(field, max, "a"), *bad = with_long(field, max + 1, "a");

    if (strcmp(field, "type") == 0 || strcmp(field, "source") == 0) {
        /* these appear in MIN_EVENT too: build the document by hand */
        free(ok);
        free(bad);
        return;
    }
    assert_true(parse(ok, &ev, &errs));
    ac_event_deinit(&ev);
    json_decref(errs);
    (void)snprintf(path, sizeof(path), "$.%s", field);
    expect_invalid(bad, path, "longer than");
    free(ok);
    free(bad);
}

static void test_event_overlong_strings(void **state)
{
    struct ac_event ev;
    json_t *errs;
    char *doc;

    (void)state;
    check_limit("id", AC_EVENT_ID_MAX);
    check_limit("title", AC_EVENT_TITLE_MAX);
    check_limit("message", AC_EVENT_MESSAGE_MAX);
    check_limit("region", AC_EVENT_STRING_MAX);
    check_limit("app_id", AC_EVENT_STRING_MAX);
    check_limit("instance", AC_EVENT_STRING_MAX);
    /* Limits count characters, not bytes: 128 three-byte characters are fine. */
    doc = with_long("id", AC_EVENT_ID_MAX, "\xe5\x91\x8a");
    assert_true(parse(doc, &ev, &errs));
    ac_event_deinit(&ev);
    json_decref(errs);
    free(doc);
    /* type: 129 characters */
    doc = malloc(400);
    strcpy(doc, "{\"source\":\"p\",\"title\":\"t\",\"type\":\"");
    for (int i = 0; i < AC_EVENT_TYPE_MAX + 1; i++) {
        strcat(doc, "x");
    }
    strcat(doc, "\"}");
    expect_invalid(doc, "$.type", "longer than 128");
    free(doc);
}

static void test_event_labels_limits(void **state)
{
    char doc[8192], key[200], path[200];
    size_t n;

    (void)state;
    /* 65 labels */
    n = (size_t)sprintf(doc, "{" MIN_EVENT ",\"labels\":{");
    for (int i = 0; i < 65; i++) {
        n += (size_t)sprintf(doc + n, "%s\"k%d\":\"v\"", i ? "," : "", i);
    }
    strcpy(doc + n, "}}");
    expect_invalid(doc, "$.labels", "more than 64");
    /* key of 129 characters */
    memset(key, 'k', 129);
    key[129] = '\0';
    (void)snprintf(doc, sizeof(doc), "{" MIN_EVENT ",\"labels\":{\"%s\":\"v\"}}", key);
    /* the path shows the first 128 characters of the key */
    (void)snprintf(path, sizeof(path), "$.labels.%.128s", key);
    expect_invalid(doc, path, "1 to 128");
    /* value of 1025 characters */
    n = (size_t)sprintf(doc, "{" MIN_EVENT ",\"labels\":{\"k\":\"");
    memset(doc + n, 'v', 1025);
    strcpy(doc + n + 1025, "\"}}");
    expect_invalid(doc, "$.labels.k", "longer than 1024");
    expect_invalid("{" MIN_EVENT ",\"labels\":{\"\":\"v\"}}", "$.labels.", "1 to 128");
}

static void test_event_context_too_big(void **state)
{
    size_t big = AC_EVENT_CONTEXT_MAX + 10;
    char *doc = malloc(big + 256);
    size_t n = (size_t)sprintf(doc, "{" MIN_EVENT ",\"context\":{\"blob\":\"");
    struct ac_event ev;
    json_t *errs;

    (void)state;
    memset(doc + n, 'x', big);
    strcpy(doc + n + big, "\"}}");
    expect_invalid(doc, "$.context", "larger than");
    /* just under the limit is accepted */
    n = (size_t)sprintf(doc, "{" MIN_EVENT ",\"context\":{\"blob\":\"");
    memset(doc + n, 'x', AC_EVENT_CONTEXT_MAX - 20);
    strcpy(doc + n + AC_EVENT_CONTEXT_MAX - 20, "\"}}");
    assert_true(parse(doc, &ev, &errs));
    ac_event_deinit(&ev);
    json_decref(errs);
    free(doc);
}

/* Nested objects inside context: depth counts the event object as 1. */
static char *nested(int depth)
{
    char *doc = malloc((size_t)depth * 8 + 256);
    size_t n = (size_t)sprintf(doc, "{" MIN_EVENT ",\"context\":");

    for (int i = 0; i < depth - 1; i++) {
        n += (size_t)sprintf(doc + n, "{\"a\":");
    }
    n += (size_t)sprintf(doc + n, "1");
    for (int i = 0; i < depth - 1; i++) {
        doc[n++] = '}';
    }
    strcpy(doc + n, "}");
    return doc;
}

static void test_event_depth(void **state)
{
    struct ac_event ev;
    json_t *errs;
    char *ok = nested(AC_EVENT_DEPTH_MAX), *bad = nested(AC_EVENT_DEPTH_MAX + 1);

    (void)state;
    assert_true(parse(ok, &ev, &errs));
    ac_event_deinit(&ev);
    json_decref(errs);
    expect_invalid(bad, "$", "nesting deeper than 32");
    free(ok);
    free(bad);
}

static void test_event_all_errors_reported(void **state)
{
    struct ac_event ev;
    json_t *errs;

    (void)state;
    assert_false(parse("{\"type\":5,\"level\":\"P0\",\"x\":1}", &ev, &errs));
    assert_true(json_array_size(errs) >= 5); /* source, title missing; type, level, x */
    json_decref(errs);
}

static void test_event_utf8_len(void **state)
{
    (void)state;
    assert_int_equal(ac_utf8_len(""), 0);
    assert_int_equal(ac_utf8_len("abc"), 3);
    assert_int_equal(ac_utf8_len("\xe5\x91\x8a\xe8\xad\xa6"), 2);
    assert_int_equal(ac_utf8_len("\xf0\x9f\x94\xa5x"), 2);
}

static void test_utf8_valid(void **state)
{
    (void)state;
    assert_true(ac_utf8_valid(""));
    assert_true(ac_utf8_valid("plain ascii"));
    assert_true(ac_utf8_valid("\xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x94\xa5")); /* 中文 🔥 */
    assert_false(ac_utf8_valid("\xff"));                                     /* no such byte */
    assert_false(ac_utf8_valid("a\x80"
                               "b"));                /* a lone continuation */
    assert_false(ac_utf8_valid("\xc0\xaf"));         /* overlong "/" */
    assert_false(ac_utf8_valid("\xe0\x80\xaf"));     /* overlong, 3 bytes */
    assert_false(ac_utf8_valid("\xed\xa0\x80"));     /* a surrogate */
    assert_false(ac_utf8_valid("\xf4\x90\x80\x80")); /* past U+10FFFF */
    assert_false(ac_utf8_valid("\xe4\xb8"));         /* cut short */
}

/* ac_event_dump writes exactly what jansson writes for ac_event_to_json:
 * every field, escapes, UTF-8, the resource's partial fields, labels and
 * context, and the smallest event. */
static void test_event_dump_is_jansson(void **state)
{
    static const char *const docs[] = {
        "{" MIN_EVENT "}",
        "{\"id\":\"k-1\",\"source\":\"diagnosis\",\"type\":\"ImagePullBackOff\",\"trace\":"
        "\"data\",\"category\":\"runtime\",\"level\":\"P2\",\"status\":\"resolved\",\"title\":"
        "\"pull \\\"x\\\" \\\\ failed\\n\\t\\u0001\\u001f / ž 漢 😀\",\"message\":\"m\\r\\b\\f\","
        "\"occurred_at\":\"2026-01-02T03:04:05.5+08:00\",\"region\":\"cn-hz\",\"cluster\":\"c1\","
        "\"namespace\":\"ns\",\"app_id\":\"app\",\"user_id\":\"u1\",\"gc_level\":7,"
        "\"instance\":\"pod-1\",\"resource\":{\"kind\":\"Pod\",\"namespace\":\"ns\",\"name\":"
        "\"pod-1\",\"uid\":\"x\"},\"labels\":{\"team\":\"sre\",\"q\":\"a\\\"b\"},"
        "\"context\":{\"events\":[{\"reason\":\"Failed\",\"n\":3,\"f\":1.5,\"ok\":true,"
        "\"none\":null,\"e\":{},\"a\":[]}]}}",
        "{" MIN_EVENT ",\"resource\":{\"name\":\"only-name\"},\"gc_level\":1}",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        struct ac_event ev;
        json_t *errs, *tree;
        char *want, *got;
        size_t len = 0;

        if (!parse(docs[i], &ev, &errs)) {
            char *e = json_dumps(errs, 0);
            fail_msg("doc %zu refused: %s", i, e);
        }
        tree = ac_event_to_json(&ev);
        want = json_dumps(tree, JSON_COMPACT);
        got = ac_event_dump(&ev, &len);
        assert_string_equal(got, want);
        assert_int_equal(len, strlen(want));
        free(want);
        free(got);
        json_decref(tree);
        json_decref(errs);
        ac_event_deinit(&ev);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_full_roundtrip),
        cmocka_unit_test(test_event_dump_is_jansson),
        cmocka_unit_test(test_event_defaults),
        cmocka_unit_test(test_event_not_object),
        cmocka_unit_test(test_event_missing_required),
        cmocka_unit_test(test_event_wrong_types),
        cmocka_unit_test(test_event_unknown_enum),
        cmocka_unit_test(test_event_overlong_strings),
        cmocka_unit_test(test_event_labels_limits),
        cmocka_unit_test(test_event_context_too_big),
        cmocka_unit_test(test_event_depth),
        cmocka_unit_test(test_event_all_errors_reported),
        cmocka_unit_test(test_event_utf8_len),
        cmocka_unit_test(test_utf8_valid),
    };

    return cmocka_run_group_tests_name("event", tests, NULL, NULL);
}
