/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the PagerDuty Events API v2 decoder (ingest/pagerduty.c):
 * fixtures in tests/fixtures/pagerduty/ with the normalized events expected
 * of them, PagerDuty's validation messages, generated dedup keys, long
 * summaries, and the "pagerduty" configuration section.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/pagerduty.h"
#include "schema/timefmt.h"
#include "tests/unit/unit.h"

static struct ac_pd_config cfg;

static char *slurp(const char *name, size_t *len)
{
    char *buf = unit_fixture("pagerduty", name, len);

    assert_non_null(buf);
    return buf;
}

static int setup(void **state)
{
    json_t *errs = json_array();
    json_t *sec = json_loads("{\"routing_keys\":{\"ingest\":{\"source\":\"pd-shop\",\"type\":"
                             "\"ItPdIncident\",\"labels\":{\"team\":\"shop\"}}}}",
                             0, NULL);

    (void)state;
    assert_int_equal(ac_pd_config_load(sec, &cfg, errs), AC_OK);
    json_decref(sec);
    json_decref(errs);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ac_pd_config_deinit(&cfg);
    return 0;
}

static void fixture(const char *in, const char *expected, enum ac_pd_action action)
{
    size_t len, elen;
    char *body = slurp(in, &len), *exp = slurp(expected, &elen);
    struct ac_pd_request req;
    struct ac_event ev;
    json_t *errors = NULL, *got, *want = json_loadb(exp, elen, 0, NULL);

    assert_int_equal(ac_pd_parse(body, len, &req, &errors), AC_OK);
    assert_null(errors);
    assert_int_equal(req.action, action);
    assert_string_equal(req.routing_key, "R015DEADBEEF0123456789ABCDEFGHIJ");
    assert_string_equal(req.dedup_key, "srv01/HTTP");
    errors = json_array();
    assert_int_equal(ac_pd_event(&req, ac_pd_route_for(&cfg, "ingest"), 42, &ev, errors), AC_OK);
    assert_int_equal(ev.received_at, 42);
    got = ac_event_to_json(&ev);
    if (!json_equal(got, want)) {
        fail_msg("got %s\nwant %s", json_dumps(got, JSON_SORT_KEYS),
                 json_dumps(want, JSON_SORT_KEYS));
    }
    json_decref(got);
    json_decref(want);
    json_decref(errors);
    ac_event_deinit(&ev);
    ac_pd_request_deinit(&req);
    free(body);
    free(exp);
}

static void test_pd_trigger_fixture(void **state)
{
    (void)state;
    fixture("trigger.json", "trigger.expected.json", AC_PD_TRIGGER);
}

static void test_pd_resolve_fixture(void **state)
{
    (void)state;
    fixture("resolve.json", "resolve.expected.json", AC_PD_RESOLVE);
}

static void expect_refused(const char *body, const char *message)
{
    struct ac_pd_request req;
    json_t *errors = NULL;
    char *all;

    assert_int_equal(ac_pd_parse(body, strlen(body), &req, &errors), AC_EINVAL);
    assert_null(req.body);
    all = json_dumps(errors, 0);
    if (!strstr(all, message)) {
        fail_msg("no \"%s\" in %s", message, all);
    }
    free(all);
    json_decref(errors);
}

static void test_pd_refusals(void **state)
{
    char body[2048], summary[1100];

    (void)state;
    expect_refused("[1]", "JSON object");
    expect_refused("{\"routing_key\":", "invalid JSON");
    expect_refused("{\"event_action\":\"trigger\",\"payload\":{\"summary\":\"s\",\"source\":\"h\","
                   "\"severity\":\"info\"}}",
                   "'routing_key' is missing");
    expect_refused("{\"routing_key\":\"k\",\"event_action\":\"page\"}", "'event_action' must be");
    expect_refused("{\"routing_key\":\"k\",\"event_action\":\"resolve\"}",
                   "'dedup_key' is required");
    expect_refused("{\"routing_key\":\"k\",\"event_action\":\"trigger\"}", "'payload' is missing");
    expect_refused("{\"routing_key\":\"k\",\"event_action\":\"trigger\",\"payload\":{\"summary\":"
                   "\" \",\"source\":\"h\",\"severity\":\"info\"}}",
                   "'payload.summary' is missing or blank");
    expect_refused("{\"routing_key\":\"k\",\"event_action\":\"trigger\",\"payload\":{\"summary\":"
                   "\"s\",\"severity\":\"info\"}}",
                   "'payload.source' is missing");
    expect_refused("{\"routing_key\":\"k\",\"event_action\":\"trigger\",\"payload\":{\"summary\":"
                   "\"s\",\"source\":\"h\",\"severity\":\"fatal\"}}",
                   "'payload.severity' must be");
    expect_refused("{\"routing_key\":\"k\",\"event_action\":\"trigger\",\"payload\":{\"summary\":"
                   "\"s\",\"source\":\"h\",\"severity\":\"info\",\"timestamp\":\"noon\"}}",
                   "'payload.timestamp'");
    expect_refused("{\"routing_key\":\"k\",\"event_action\":\"trigger\",\"payload\":{\"summary\":"
                   "\"s\",\"source\":\"h\",\"severity\":\"info\",\"class\":7}}",
                   "'payload.class' must be a string");
    memset(summary, 'k', 300);
    summary[300] = '\0';
    snprintf(body, sizeof(body),
             "{\"routing_key\":\"k\",\"event_action\":\"acknowledge\",\"dedup_key\":\"%s\"}",
             summary);
    expect_refused(body, "longer than 255");
    memset(summary, 's', 1025);
    summary[1025] = '\0';
    snprintf(body, sizeof(body),
             "{\"routing_key\":\"k\",\"event_action\":\"trigger\",\"payload\":{\"summary\":\"%s\","
             "\"source\":\"h\",\"severity\":\"info\"}}",
             summary);
    expect_refused(body, "longer than 1024");
}

/* A trigger without a dedup key gets a fresh one; a summary longer than a
 * title is cut (marked) and kept whole in the message. */
static void test_pd_generated_key_and_long_summary(void **state)
{
    char body[2048], summary[1001], a[64];
    struct ac_pd_request req;
    struct ac_event ev;
    json_t *errors = NULL;

    (void)state;
    memset(summary, 's', 1000);
    summary[1000] = '\0';
    snprintf(body, sizeof(body),
             "{\"routing_key\":\"k\",\"event_action\":\"trigger\",\"payload\":{\"summary\":\"%s\","
             "\"source\":\"h\",\"severity\":\"warning\"}}",
             summary);
    assert_int_equal(ac_pd_parse(body, strlen(body), &req, &errors), AC_OK);
    assert_int_equal(strlen(req.dedup_key), 32);
    snprintf(a, sizeof(a), "%s", req.dedup_key);
    errors = json_array();
    assert_int_equal(ac_pd_event(&req, ac_pd_route_for(&cfg, "someone-else"), 1, &ev, errors),
                     AC_OK);
    assert_string_equal(ev.source, "pagerduty"); /* the default route */
    assert_string_equal(ev.type, "PagerDuty");
    assert_int_equal(ev.level, AC_LEVEL_P3);
    assert_int_equal(ac_utf8_len(ev.title), AC_EVENT_TITLE_MAX);
    assert_non_null(strstr(ev.title, "…"));
    assert_string_equal(ev.message, summary);
    assert_string_equal(json_string_value(json_object_get(ev.labels, "dedup_key")), a);
    ac_event_deinit(&ev);
    ac_pd_request_deinit(&req);
    json_decref(errors);
    assert_int_equal(ac_pd_parse(body, strlen(body), &req, &errors), AC_OK);
    assert_string_not_equal(req.dedup_key, a);
    ac_pd_request_deinit(&req);
}

static void test_pd_config(void **state)
{
    struct ac_pd_config c;
    json_t *errs = json_array();
    json_t *bad =
        json_loads("{\"routing_keys\":{\"a\":{\"source\":\"\"},\"b\":{\"labels\":{\"x\":1}},"
                   "\"c\":{\"team\":\"t\"}}}",
                   0, NULL);

    (void)state;
    assert_int_equal(ac_pd_config_load(bad, &c, errs), AC_EINVAL);
    assert_int_equal(json_array_size(errs), 3);
    json_decref(bad);
    bad = json_loads("{\"keys\":{}}", 0, NULL);
    assert_int_equal(ac_pd_config_load(bad, &c, errs), AC_EINVAL);
    json_decref(bad);
    assert_int_equal(ac_pd_config_load(NULL, &c, errs), AC_OK);
    assert_string_equal(ac_pd_route_for(&c, "ingest")->type, "PagerDuty");
    ac_pd_config_deinit(&c);
    json_decref(errs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pd_trigger_fixture),
        cmocka_unit_test(test_pd_resolve_fixture),
        cmocka_unit_test(test_pd_refusals),
        cmocka_unit_test(test_pd_generated_key_and_long_summary),
        cmocka_unit_test(test_pd_config),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
