/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration tests of POST /v1/events on the real server, PostgreSQL and
 * Redis: formats, atomic batches, limits, idempotency, folding, group commit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/harness.h"

#define CONC_THREADS 16
#define CONC_EACH    40

static struct it_server srv;

static int setup(void **state)
{
    (void)state;
    it_server_start(&srv, NULL);
    return 0;
}

static int teardown(void **state)
{
    long long groups, events;

    (void)state;
    /* A clean exit also means the sanitizers found nothing in the server. */
    assert_int_equal(it_server_stop(&srv), 0);
    /* Group commit: the concurrent requests shared transactions, so the writer
     * ran far fewer transactions than it stored events. */
    groups = it_server_log_value(&srv, "groups");
    events = it_server_log_value(&srv, "events");
    fprintf(stderr, "writer: %lld groups for %lld events\n", groups, events);
    assert_true(events >= CONC_THREADS * CONC_EACH);
    assert_true(groups > 0 && groups * 2 <= events);
    return 0;
}

static long long count_where(const char *table, const char *type)
{
    return it_sql_llf("SELECT count(*) FROM %s WHERE type = '%s'", table, type);
}

static const char *item_str(json_t *resp, size_t i, const char *key)
{
    return json_string_value(
        json_object_get(json_array_get(json_object_get(resp, "items"), i), key));
}

static void test_ingest_single_object(void **state)
{
    json_t *r;

    (void)state;
    r = it_post_events(&srv, "{\"source\":\"probe\",\"type\":\"ItSingle\",\"title\":\"t\"}", 200);
    assert_int_equal(json_integer_value(json_object_get(r, "accepted")), 1);
    assert_non_null(item_str(r, 0, "event_id"));
    assert_non_null(item_str(r, 0, "alert_id"));
    assert_int_equal(strlen(item_str(r, 0, "fingerprint")), 32);
    json_decref(r);
    /* durably stored: visible to another connection right after the answer */
    assert_int_equal(count_where("events", "ItSingle"), 1);
    assert_int_equal(count_where("alerts", "ItSingle"), 1);
}

static void test_ingest_array_and_ndjson(void **state)
{
    const char *arr = "[{\"source\":\"probe\",\"type\":\"ItArr\",\"title\":\"a\",\"app_id\":\"1\"},"
                      "{\"source\":\"probe\",\"type\":\"ItArr\",\"title\":\"b\",\"app_id\":\"2\"}]";
    const char *nd = "{\"source\":\"probe\",\"type\":\"ItNd\",\"title\":\"a\"}\n"
                     "\n"
                     "{\"source\":\"probe\",\"type\":\"ItNd\",\"title\":\"b\",\"app_id\":\"x\"}\n"
                     "{\"source\":\"probe\",\"type\":\"ItNd\",\"title\":\"c\",\"app_id\":\"y\"}\n";
    struct it_resp resp;
    json_t *r;

    (void)state;
    r = it_post_events(&srv, arr, 200);
    assert_int_equal(json_array_size(json_object_get(r, "items")), 2);
    /* different app_id: different fingerprints and alerts */
    assert_string_not_equal(item_str(r, 0, "alert_id"), item_str(r, 1, "alert_id"));
    json_decref(r);
    assert_int_equal(count_where("events", "ItArr"), 2);

    assert_int_equal(it_http(&srv, "POST", "/v1/events", IT_INGEST_TOKEN,
                             "application/x-ndjson; charset=utf-8", nd, strlen(nd), &resp),
                     0);
    assert_int_equal(resp.status, 200);
    assert_int_equal(json_integer_value(json_object_get(resp.json, "accepted")), 3);
    it_resp_free(&resp);
    assert_int_equal(count_where("events", "ItNd"), 3);
    assert_int_equal(count_where("alerts", "ItNd"), 3);
}

static void test_ingest_atomic_batch(void **state)
{
    const char *arr =
        "[{\"source\":\"probe\",\"type\":\"ItAtomic\",\"title\":\"ok\"},"
        "{\"source\":\"probe\",\"type\":\"ItAtomic\",\"title\":\"\",\"level\":\"P9\"},"
        "{\"source\":\"probe\",\"type\":\"ItAtomic\",\"title\":\"ok\"},"
        "{\"type\":\"ItAtomic\",\"title\":\"no source\"}]";
    json_t *r, *details;
    size_t i;
    json_t *d;
    bool saw1 = false, saw3 = false;

    (void)state;
    r = it_post_events(&srv, arr, 400);
    details = json_object_get(json_object_get(r, "error"), "details");
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "error"), "code")),
                        "invalid_event");
    json_array_foreach(details, i, d)
    {
        long long idx = json_integer_value(json_object_get(d, "index"));
        saw1 |= idx == 1;
        saw3 |= idx == 3;
        assert_true(idx == 1 || idx == 3);
    }
    assert_true(saw1 && saw3);
    assert_true(json_array_size(details) >= 3); /* title, level, source */
    json_decref(r);
    assert_int_equal(count_where("events", "ItAtomic"), 0);
    assert_int_equal(count_where("alerts", "ItAtomic"), 0);
}

static void test_ingest_bad_bodies(void **state)
{
    struct it_resp r;
    const char *ev = "{\"source\":\"probe\",\"type\":\"ItBad\",\"title\":\"t\"}";
    const char bad_utf8[] = "{\"source\":\"probe\",\"type\":\"ItBad\",\"title\":\"\xff\"}";

    (void)state;
    assert_int_equal(
        it_http(&srv, "POST", "/v1/events", IT_ADMIN_TOKEN, "text/plain", ev, strlen(ev), &r), 0);
    assert_int_equal(r.status, 415);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(r.json, "error"), "code")),
        "unsupported_media_type");
    it_resp_free(&r);

    assert_int_equal(it_http(&srv, "POST", "/v1/events", IT_ADMIN_TOKEN, "application/json",
                             "{\"source\":", 10, &r),
                     0);
    assert_int_equal(r.status, 400);
    assert_non_null(json_object_get(json_object_get(r.json, "error"), "message"));
    it_resp_free(&r);

    assert_int_equal(it_http(&srv, "POST", "/v1/events", IT_ADMIN_TOKEN, "application/json",
                             bad_utf8, sizeof(bad_utf8) - 1, &r),
                     0);
    assert_int_equal(r.status, 400);
    it_resp_free(&r);

    assert_int_equal(
        it_http(&srv, "POST", "/v1/events", IT_ADMIN_TOKEN, "application/json", "", 0, &r), 0);
    assert_int_equal(r.status, 400);
    it_resp_free(&r);
    assert_int_equal(count_where("events", "ItBad"), 0);
}

/* A valid event padded with a long message field repeated in a 2 MiB batch. */
static char *big_body(size_t *len)
{
    size_t cap = 2 * 1024 * 1024 + 4096, n = 0;
    char *b = malloc(cap);

    n += (size_t)sprintf(b, "[");
    while (n < 2 * 1024 * 1024) {
        n += (size_t)sprintf(b + n,
                             "%s{\"source\":\"probe\",\"type\":\"ItBig\",\"title\":\"t\","
                             "\"message\":\"%0900d\"}",
                             n > 1 ? "," : "", 0);
    }
    n += (size_t)sprintf(b + n, "]");
    *len = n;
    return b;
}

static void test_ingest_body_limit(void **state)
{
    size_t len;
    char *b = big_body(&len);
    struct it_resp r;

    (void)state;
    assert_true(len > 2 * 1024 * 1024);
    assert_int_equal(
        it_http(&srv, "POST", "/v1/events", IT_ADMIN_TOKEN, "application/json", b, len, &r), 0);
    assert_int_equal(r.status, 413);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(r.json, "error"), "code")),
        "payload_too_large");
    it_resp_free(&r);
    /* without a Content-Length the limit holds while reading: the body is
     * dropped and the connection cut off (an answer could only follow the
     * whole body, however long it is) */
    if (it_http_chunked(&srv, "/v1/events", IT_ADMIN_TOKEN, "application/json", b, len, &r) == 0) {
        assert_int_not_equal(r.status, 200);
        it_resp_free(&r);
    }
    free(b);
    assert_int_equal(count_where("events", "ItBig"), 0);
    /* a chunked body under the limit is fine */
    b = "{\"source\":\"probe\",\"type\":\"ItBig\",\"title\":\"small\"}";
    assert_int_equal(
        it_http_chunked(&srv, "/v1/events", IT_ADMIN_TOKEN, "application/json", b, strlen(b), &r),
        0);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
    assert_int_equal(count_where("events", "ItBig"), 1);
}

static void test_ingest_idempotent_repeat(void **state)
{
    const char *ev = "{\"id\":\"it-k-1\",\"source\":\"probe\",\"type\":\"ItIdem\",\"title\":\"t\"}";
    const char *other_src =
        "{\"id\":\"it-k-1\",\"source\":\"diagnosis\",\"type\":\"ItIdem\",\"title\":\"t\"}";
    json_t *a, *b, *c;

    (void)state;
    a = it_post_events(&srv, ev, 200);
    b = it_post_events(&srv, ev, 200);
    assert_false(json_boolean_value(
        json_object_get(json_array_get(json_object_get(a, "items"), 0), "duplicate")));
    assert_true(json_boolean_value(
        json_object_get(json_array_get(json_object_get(b, "items"), 0), "duplicate")));
    assert_string_equal(item_str(a, 0, "event_id"), item_str(b, 0, "event_id"));
    assert_string_equal(item_str(a, 0, "alert_id"), item_str(b, 0, "alert_id"));
    assert_int_equal(json_integer_value(json_object_get(b, "accepted")), 0);
    assert_int_equal(json_integer_value(json_object_get(b, "duplicates")), 1);
    /* the same id from another source is another event: it folds into the open alert */
    c = it_post_events(&srv, other_src, 200);
    assert_false(json_boolean_value(
        json_object_get(json_array_get(json_object_get(c, "items"), 0), "duplicate")));
    assert_true(json_boolean_value(
        json_object_get(json_array_get(json_object_get(c, "items"), 0), "folded")));
    assert_string_equal(item_str(a, 0, "alert_id"), item_str(c, 0, "alert_id"));
    json_decref(c);
    /* and a folded event's key is remembered too */
    c = it_post_events(&srv, other_src, 200);
    assert_true(json_boolean_value(
        json_object_get(json_array_get(json_object_get(c, "items"), 0), "duplicate")));
    json_decref(a);
    json_decref(b);
    json_decref(c);
    assert_int_equal(count_where("events", "ItIdem"), 1);
    assert_int_equal(it_sql_ll("SELECT sum(count) FROM alerts WHERE type = 'ItIdem'"), 2);
}

static void test_ingest_fold_resolve_reopen(void **state)
{
    const char *fire =
        "{\"source\":\"probe\",\"type\":\"ItFold\",\"title\":\"t\",\"app_id\":\"a1\"}";
    const char *fire_p2 = "{\"source\":\"probe\",\"type\":\"ItFold\",\"title\":\"t\",\"app_id\":"
                          "\"a1\",\"level\":\"P2\"}";
    const char *resolve = "{\"source\":\"probe\",\"type\":\"ItFold\",\"title\":\"t\",\"app_id\":"
                          "\"a1\",\"status\":\"resolved\"}";
    char path[64], first_alert[32];
    json_t *r, *alert;

    (void)state;
    r = it_post_events(&srv, fire, 200);
    snprintf(first_alert, sizeof(first_alert), "%s", item_str(r, 0, "alert_id"));
    json_decref(r);
    json_decref(it_post_events(&srv, fire_p2, 200));
    r = it_post_events(&srv, fire, 200);
    assert_string_equal(item_str(r, 0, "alert_id"), first_alert);
    json_decref(r);

    snprintf(path, sizeof(path), "/v1/alerts/%s", first_alert);
    alert = it_get(&srv, path);
    assert_int_equal(json_integer_value(json_object_get(alert, "count")), 3);
    assert_string_equal(json_string_value(json_object_get(alert, "status")), "firing");
    /* the level only goes up: P4, P2, P4 -> P2; the initial level stays */
    assert_string_equal(json_string_value(json_object_get(alert, "level")), "P2");
    assert_string_equal(json_string_value(json_object_get(alert, "initial_level")), "P4");
    json_decref(alert);

    r = it_post_events(&srv, resolve, 200);
    assert_string_equal(item_str(r, 0, "alert_id"), first_alert);
    json_decref(r);
    alert = it_get(&srv, path);
    assert_string_equal(json_string_value(json_object_get(alert, "status")), "resolved");
    assert_int_equal(json_integer_value(json_object_get(alert, "count")), 4);
    assert_true(json_is_string(json_object_get(alert, "resolved_at")));
    /* timeline: opened first, then the four events counted per minute (one
     * bucket or two, as the clock turns), then resolved - and what that set
     * off for its incident */
    {
        char *acts = it_timeline_actions(alert);
        json_t *tl = json_object_get(alert, "timeline"), *it;
        json_int_t counted = 0;
        size_t i;
        if (strncmp(acts, "alert.open,alert.events,", 24) != 0 ||
            !strstr(acts, ",alert.resolve,incident.resolved")) {
            fail_msg("timeline: %s", acts);
        }
        json_array_foreach(tl, i, it)
        {
            if (strcmp(json_string_value(json_object_get(it, "action")), "alert.events") == 0) {
                counted += json_integer_value(json_object_get(it, "count"));
            }
        }
        assert_int_equal(counted, 4);
        free(acts);
    }
    json_decref(alert);

    /* firing again opens a new alert */
    r = it_post_events(&srv, fire, 200);
    assert_string_not_equal(item_str(r, 0, "alert_id"), first_alert);
    json_decref(r);
    assert_int_equal(count_where("alerts", "ItFold"), 2);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM alerts WHERE type = 'ItFold' AND status <> "
                               "'resolved'"),
                     1);
    /* a resolve with nothing open is stored without an alert */
    json_decref(it_post_events(&srv, resolve, 200));
    r = it_post_events(&srv, resolve, 200);
    assert_true(
        json_is_null(json_object_get(json_array_get(json_object_get(r, "items"), 0), "alert_id")));
    json_decref(r);
    /* 7 events accepted: 4 + 2 counted by the two alerts, 1 without an alert.
     * Rows: the openers and the resolves (5); the 2 repeats were folded. */
    assert_int_equal(it_sql_ll("SELECT sum(count) FROM alerts WHERE type = 'ItFold'"), 6);
    assert_int_equal(count_where("events", "ItFold"), 5);
}

/* Many concurrent single-event requests share transactions and fold exactly. */

static void *conc_main(void *arg)
{
    long *ok = arg;
    const char *ev = "{\"source\":\"probe\",\"type\":\"ItConc\",\"title\":\"t\"}";

    for (int i = 0; i < CONC_EACH; i++) {
        struct it_resp r;
        if (it_http(&srv, "POST", "/v1/events", IT_INGEST_TOKEN, "application/json", ev, strlen(ev),
                    &r) == 0 &&
            r.status == 200) {
            (*ok)++;
        }
        it_resp_free(&r);
    }
    return NULL;
}

static void test_ingest_concurrent_fold(void **state)
{
    pthread_t th[CONC_THREADS];
    long ok[CONC_THREADS] = {0}, total = 0;

    (void)state;
    for (int i = 0; i < CONC_THREADS; i++) {
        pthread_create(&th[i], NULL, conc_main, &ok[i]);
    }
    for (int i = 0; i < CONC_THREADS; i++) {
        pthread_join(th[i], NULL);
        total += ok[i];
    }
    assert_int_equal(total, CONC_THREADS * CONC_EACH);
    assert_int_equal(count_where("events", "ItConc"), 1); /* the rest are compressed */
    assert_int_equal(count_where("alerts", "ItConc"), 1);
    assert_int_equal(it_sql_ll("SELECT count FROM alerts WHERE type = 'ItConc'"),
                     CONC_THREADS * CONC_EACH);
}

static void test_ingest_auth(void **state)
{
    struct it_resp r;
    const char *ev = "{\"source\":\"probe\",\"type\":\"ItAuth\",\"title\":\"t\"}";

    (void)state;
    assert_int_equal(
        it_http(&srv, "POST", "/v1/events", NULL, "application/json", ev, strlen(ev), &r), 0);
    assert_int_equal(r.status, 401);
    it_resp_free(&r);
    assert_int_equal(it_http(&srv, "POST", "/v1/events", "wrong-token-0123456789",
                             "application/json", ev, strlen(ev), &r),
                     0);
    assert_int_equal(r.status, 401);
    it_resp_free(&r);
    /* a read-only token cannot ingest */
    assert_int_equal(
        it_http(&srv, "POST", "/v1/events", IT_READ_TOKEN, "application/json", ev, strlen(ev), &r),
        0);
    assert_int_equal(r.status, 403);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(r.json, "error"), "code")), "forbidden");
    it_resp_free(&r);
    /* an ingest token cannot read */
    assert_int_equal(it_http(&srv, "GET", "/v1/events", IT_INGEST_TOKEN, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 403);
    it_resp_free(&r);
    assert_int_equal(count_where("events", "ItAuth"), 0);
    /* a large unauthenticated body is refused without being read: the 401
     * goes out at once and the connection closes. The client usually reads
     * it; when it is still sending, the close can reach it as a reset first
     * (libmicrohttpd 0.9.75 closes without lingering), which is a refusal
     * too - but never a 2xx, and most attempts see the 401. */
    {
        size_t n = 900 * 1024;
        char *big = malloc(n);
        int answered = 0;
        memset(big, ' ', n);
        for (int i = 0; i < 5; i++) {
            if (it_http(&srv, "POST", "/v1/events", NULL, "application/json", big, n, &r) == 0) {
                assert_int_equal(r.status, 401);
                answered++;
            }
            it_resp_free(&r);
        }
        assert_true(answered >= 1);
        free(big);
    }
    /* health endpoints are public */
    assert_int_equal(it_http(&srv, "GET", "/healthz", NULL, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
    assert_int_equal(it_http(&srv, "GET", "/nope", IT_ADMIN_TOKEN, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 404);
    it_resp_free(&r);
    assert_int_equal(it_http(&srv, "DELETE", "/v1/events", IT_ADMIN_TOKEN, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 405);
    it_resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ingest_single_object),
        cmocka_unit_test(test_ingest_array_and_ndjson),
        cmocka_unit_test(test_ingest_atomic_batch),
        cmocka_unit_test(test_ingest_bad_bodies),
        cmocka_unit_test(test_ingest_body_limit),
        cmocka_unit_test(test_ingest_idempotent_repeat),
        cmocka_unit_test(test_ingest_fold_resolve_reopen),
        cmocka_unit_test(test_ingest_concurrent_fold),
        cmocka_unit_test(test_ingest_auth),
    };
    int rc;

    it_init("ingest");
    rc = cmocka_run_group_tests_name("integration_ingest", tests, setup, teardown);
    it_fini();
    return rc;
}
