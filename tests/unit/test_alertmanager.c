/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the Alertmanager API v2 and webhook v4 decoders
 * (ingest/alertmanager.c): fixtures in tests/fixtures/prometheus/ with the
 * normalized events expected of them, the identity of re-sends, bad bodies,
 * and the "prometheus" configuration section.
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

#include "ingest/alertmanager.h"
#include "schema/timefmt.h"
#include "tests/unit/unit.h"

static struct ac_am_config cfg;
static int64_t now_us;

static char *slurp(const char *name, size_t *len)
{
    char *buf = unit_fixture("prometheus", name, len);

    assert_non_null(buf);
    return buf;
}

static int setup(void **state)
{
    json_t *errs = json_array();

    (void)state;
    assert_int_equal(ac_am_config_load(NULL, &cfg, errs), AC_OK);
    assert_int_equal(json_array_size(errs), 0);
    json_decref(errs);
    assert_true(ac_time_parse("2026-11-22T10:01:00Z", &now_us));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ac_am_config_deinit(&cfg);
    return 0;
}

/* Every decoded event equals the expected normalized document. */
static void match_fixture(const struct ac_event_vec *evs, const char *expected_file)
{
    size_t len;
    char *text = slurp(expected_file, &len);
    json_t *want = json_loadb(text, len, 0, NULL);

    assert_non_null(want);
    assert_int_equal(evs->n, json_array_size(want));
    for (size_t i = 0; i < evs->n; i++) {
        json_t *got = ac_event_to_json(&evs->items[i]);
        if (!json_equal(got, json_array_get(want, i))) {
            char *g = json_dumps(got, JSON_SORT_KEYS | JSON_INDENT(1));
            char *w = json_dumps(json_array_get(want, i), JSON_SORT_KEYS | JSON_INDENT(1));
            fail_msg("event %zu:\ngot  %s\nwant %s", i, g, w);
        }
        assert_int_equal(evs->items[i].received_at, now_us);
        json_decref(got);
    }
    json_decref(want);
    free(text);
}

static void test_am_v2_fixture(void **state)
{
    size_t len;
    char *body = slurp("v2_alerts.json", &len);
    struct ac_event_vec evs;
    json_t *details = NULL;

    (void)state;
    assert_int_equal(ac_am_decode_v2(&cfg, body, len, "prometheus", 100, now_us, &evs, &details),
                     AC_OK);
    assert_null(details);
    match_fixture(&evs, "v2_alerts.expected.json");
    /* built field by field (no native document in between), the stored
     * document (ac_event_dump, with the context written once at decoding)
     * is still exactly jansson's serialization of the event */
    for (size_t i = 0; i < evs.n; i++) {
        json_t *tree = ac_event_to_json(&evs.items[i]);
        char *want = json_dumps(tree, JSON_COMPACT), *got = ac_event_dump(&evs.items[i], NULL);

        assert_true(!evs.items[i].context || evs.items[i].context_json != NULL);
        assert_string_equal(got, want);
        free(want);
        free(got);
        json_decref(tree);
    }
    ac_event_vec_deinit(&evs);
    free(body);
}

static void test_am_webhook_fixture(void **state)
{
    size_t len;
    char *body = slurp("webhook_v4.json", &len);
    struct ac_event_vec evs;
    json_t *details = NULL;
    long truncated = -1;

    (void)state;
    assert_int_equal(ac_am_decode_webhook(&cfg, body, len, "alertmanager", 100, now_us, &evs,
                                          &details, &truncated),
                     AC_OK);
    assert_int_equal(truncated, 2);
    match_fixture(&evs, "webhook_v4.expected.json");
    ac_event_vec_deinit(&evs);
    free(body);
}

static const char *id_of(const char *body, int64_t now)
{
    static char id[128];
    struct ac_event_vec evs;
    json_t *details = NULL;

    assert_int_equal(
        ac_am_decode_v2(&cfg, body, strlen(body), "prometheus", 10, now, &evs, &details), AC_OK);
    assert_int_equal(evs.n, 1);
    snprintf(id, sizeof(id), "%s", evs.items[0].id ? evs.items[0].id : "");
    ac_event_vec_deinit(&evs);
    return id;
}

/* A firing alert carries no key: each re-send refreshes its open alert
 * (refresh, with the endsAt it declares while that is ahead); a resolve is
 * keyed by its labels and startsAt, whatever their order, so a re-sent
 * resolve is accepted once. */
static void test_am_resend_identity(void **state)
{
    struct ac_event_vec evs;
    json_t *details = NULL;
    const char *firing =
        "[{\"labels\":{\"alertname\":\"X\",\"job\":\"j\",\"i\":\"1\"},"
        "\"startsAt\":\"2026-11-22T10:00:00Z\",\"endsAt\":\"2026-11-22T10:04:00Z\"}]";
    char a[128], b[128];

    (void)state;
    assert_int_equal(
        ac_am_decode_v2(&cfg, firing, strlen(firing), "prometheus", 10, now_us, &evs, &details),
        AC_OK);
    assert_int_equal(evs.n, 1);
    assert_null(evs.items[0].id);
    assert_true(evs.items[0].refresh);
    {
        int64_t want;
        assert_true(ac_time_parse("2026-11-22T10:04:00Z", &want));
        assert_int_equal(evs.items[0].ends_at, want);
    }
    ac_event_vec_deinit(&evs);
    json_decref(details);
    /* the same alert once endsAt has passed: the resolve, keyed */
    snprintf(a, sizeof(a), "%s",
             id_of("[{\"labels\":{\"alertname\":\"X\",\"job\":\"j\",\"i\":\"1\"},"
                   "\"startsAt\":\"2026-11-22T10:00:00Z\",\"endsAt\":\"2026-11-22T10:00:30Z\"}]",
                   now_us));
    snprintf(
        b, sizeof(b), "%s",
        id_of("[{\"labels\":{\"i\":\"1\",\"job\":\"j\",\"alertname\":\"X\"},"
              "\"startsAt\":\"2026-11-22T10:00:00.000Z\",\"endsAt\":\"2026-11-22T10:00:40Z\"}]",
              now_us));
    assert_true(strncmp(a, "am:", 3) == 0 && strlen(a) == 67);
    assert_string_equal(a, b);
    assert_string_not_equal(a, id_of("[{\"labels\":{\"alertname\":\"X\",\"job\":\"j\",\"i\":\"2\"},"
                                     "\"startsAt\":\"2026-11-22T10:00:00Z\",\"endsAt\":"
                                     "\"2026-11-22T10:00:30Z\"}]",
                                     now_us));
}

static void expect_bad(const char *body, const char *path, const char *msg_part, long index)
{
    struct ac_event_vec evs;
    json_t *details = NULL, *d;
    size_t i;
    bool hit = false;

    assert_int_equal(
        ac_am_decode_v2(&cfg, body, strlen(body), "prometheus", 3, now_us, &evs, &details),
        AC_EINVAL);
    assert_int_equal(evs.n, 0);
    assert_non_null(details);
    json_array_foreach(details, i, d)
    {
        const char *p = json_string_value(json_object_get(d, "path"));
        const char *m = json_string_value(json_object_get(d, "message"));
        json_t *ix = json_object_get(d, "index");
        hit = hit || (p && strcmp(p, path) == 0 && m && strstr(m, msg_part) &&
                      (index < 0 ? !ix : json_integer_value(ix) == index));
    }
    if (!hit) {
        fail_msg("no %s error at %s in %s", msg_part, path, json_dumps(details, 0));
    }
    json_decref(details);
}

static void test_am_bad_bodies(void **state)
{
    struct ac_event_vec evs;
    json_t *details = NULL;
    long tr;
    const char *wh5 = "{\"version\":\"5\",\"alerts\":[]}";

    (void)state;
    expect_bad("{\"labels\":{}}", "$", "array", -1);
    expect_bad("[1,", "$", "invalid JSON", -1);
    expect_bad("[{\"labels\":{\"alertname\":\"A\"}},{\"labels\":{\"job\":\"x\"}}]",
               "$.labels.alertname", "required", 1);
    expect_bad("[{\"labels\":{\"alertname\":\"A\",\"n\":3}}]", "$.labels", "strings", 0);
    expect_bad("[{\"labels\":{\"alertname\":\"A\"},\"startsAt\":\"yesterday\"}]", "$.startsAt",
               "RFC 3339", 0);
    expect_bad("[{\"labels\":{\"alertname\":\"A\"},\"annotations\":[\"x\"]}]", "$.annotations",
               "strings", 0);
    /* what the event model refuses, reported by the alert's index */
    {
        char big[1200];
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        char body[1400];
        snprintf(body, sizeof(body), "[{\"labels\":{\"alertname\":\"A\",\"v\":\"%s\"}}]", big);
        expect_bad(body, "$.labels.v", "", 0);
        /* a summary over the title's 512 characters, 65 labels */
        snprintf(body, sizeof(body),
                 "[{\"labels\":{\"alertname\":\"A\"},\"annotations\":{\"summary\":\"%.600s\"}}]",
                 big);
        expect_bad(body, "$.title", "longer than 512", 0);
        {
            char many[2000];
            size_t n = (size_t)snprintf(many, sizeof(many), "[{\"labels\":{\"alertname\":\"A\"");
            for (int i = 0; i < 65; i++) {
                n += (size_t)snprintf(many + n, sizeof(many) - n, ",\"l%d\":\"v\"", i);
            }
            snprintf(many + n, sizeof(many) - n, "}}]");
            expect_bad(many, "$.labels", "more than 64", 0);
        }
    }
    /* more alerts than allowed */
    assert_int_equal(
        ac_am_decode_v2(&cfg, "[{},{},{},{}]", 13, "prometheus", 3, now_us, &evs, &details),
        AC_ETOOBIG);
    json_decref(details);
    /* the webhook: only version 4 */
    assert_int_equal(ac_am_decode_webhook(&cfg, wh5, strlen(wh5), "alertmanager", 3, now_us, &evs,
                                          &details, &tr),
                     AC_EINVAL);
    {
        char *d = json_dumps(details, 0);
        assert_non_null(strstr(d, "$.version"));
        free(d);
    }
    json_decref(details);
}

static void test_am_config(void **state)
{
    struct ac_am_config c;
    json_t *errs = json_array();
    json_t *sec = json_loads("{\"level_label\":\"priority\",\"levels\":{\"page\":\"P1\","
                             "\"ticket\":\"P3\"},\"dimensions\":{\"app_id\":\"service\"}}",
                             0, NULL);
    const char *body = "[{\"labels\":{\"alertname\":\"A\",\"priority\":\"PAGE\",\"severity\":"
                       "\"info\",\"service\":\"cart\",\"app_id\":\"ignored\"}}]";
    struct ac_event_vec evs;
    json_t *details = NULL;

    (void)state;
    assert_int_equal(ac_am_config_load(sec, &c, errs), AC_OK);
    assert_int_equal(
        ac_am_decode_v2(&c, body, strlen(body), "prometheus", 3, now_us, &evs, &details), AC_OK);
    assert_int_equal(evs.items[0].level, AC_LEVEL_P1); /* case-insensitive value */
    assert_string_equal(evs.items[0].app_id, "cart");
    ac_event_vec_deinit(&evs);
    ac_am_config_deinit(&c);
    json_decref(sec);

    sec = json_loads("{\"levels\":{\"critical\":\"P0\"},\"dimensions\":{\"team\":\"t\"},"
                     "\"levle_label\":\"x\"}",
                     0, NULL);
    assert_int_equal(ac_am_config_load(sec, &c, errs), AC_EINVAL);
    assert_int_equal(json_array_size(errs), 3);
    {
        char *e = json_dumps(errs, 0);
        assert_non_null(strstr(e, "prometheus.levle_label"));
        free(e);
    }
    json_decref(sec);
    json_decref(errs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_am_v2_fixture),      cmocka_unit_test(test_am_webhook_fixture),
        cmocka_unit_test(test_am_resend_identity), cmocka_unit_test(test_am_bad_bodies),
        cmocka_unit_test(test_am_config),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
