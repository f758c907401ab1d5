/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration tests of dedup and compression: repeats of an open alert are
 * counted, not stored as rows (unless the type retains duplicates); the alert
 * keeps the latest payload; the compression window rolls an alert over; and
 * after SIGKILL under load the alert count covers every acknowledged event
 * and nothing that was not sent.
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
#include <time.h>

#include "tests/integration/harness.h"

static struct it_server srv;

static int setup(void **state)
{
    (void)state;
    it_server_start(&srv, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (srv.pid) {
        assert_int_equal(it_server_stop(&srv), 0);
    }
    return 0;
}

/* Sends n copies of body, in batches of batch. */
static void send_copies(const char *one, int n, int batch)
{
    size_t len = strlen(one);
    char *body = malloc((len + 1) * (size_t)batch + 8);

    for (int sent = 0; sent < n; sent += batch) {
        int k = n - sent < batch ? n - sent : batch;
        size_t p = 0;
        body[p++] = '[';
        for (int i = 0; i < k; i++) {
            if (i) {
                body[p++] = ',';
            }
            memcpy(body + p, one, len);
            p += len;
        }
        body[p++] = ']';
        body[p] = '\0';
        json_decref(it_post_events(&srv, body, 200));
    }
    free(body);
}

static void test_compress_thousand_copies(void **state)
{
    (void)state;
    /* in batches of 100 and one by one: the same outcome */
    send_copies("{\"source\":\"probe\",\"type\":\"ItThousand\",\"title\":\"t\",\"app_id\":\"a\"}",
                1000, 100);
    assert_int_equal(it_sql_llf("SELECT count(*) FROM alerts WHERE type = '%s'", "ItThousand"), 1);
    assert_int_equal(it_sql_llf("SELECT count FROM alerts WHERE type = '%s'", "ItThousand"), 1000);
    assert_int_equal(it_sql_llf("SELECT count(*) FROM events WHERE type = '%s'", "ItThousand"), 1);
    send_copies("{\"source\":\"probe\",\"type\":\"ItThousand1\",\"title\":\"t\"}", 200, 1);
    assert_int_equal(it_sql_llf("SELECT count FROM alerts WHERE type = '%s'", "ItThousand1"), 200);
    assert_int_equal(it_sql_llf("SELECT count(*) FROM events WHERE type = '%s'", "ItThousand1"), 1);
}

static void test_compress_retain_duplicates(void **state)
{
    struct it_resp r;
    const char *t = "{\"retain_duplicates\":true}";

    (void)state;
    assert_int_equal(it_http(&srv, "PUT", "/v1/types/ItRetain", IT_ADMIN_TOKEN, "application/json",
                             t, strlen(t), &r),
                     0);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
    send_copies("{\"source\":\"probe\",\"type\":\"ItRetain\",\"title\":\"t\"}", 50, 10);
    assert_int_equal(it_sql_llf("SELECT count FROM alerts WHERE type = '%s'", "ItRetain"), 50);
    assert_int_equal(it_sql_llf("SELECT count(*) FROM events WHERE type = '%s'", "ItRetain"), 50);
}

static void test_compress_latest_payload_kept(void **state)
{
    json_t *r, *alert, *latest;
    char path[64];

    (void)state;
    r = it_post_events(&srv, "{\"source\":\"probe\",\"type\":\"ItLatest\",\"title\":\"first\"}",
                       200);
    snprintf(path, sizeof(path), "/v1/alerts/%s",
             json_string_value(
                 json_object_get(json_array_get(json_object_get(r, "items"), 0), "alert_id")));
    json_decref(r);
    json_decref(it_post_events(
        &srv,
        "{\"source\":\"probe\",\"type\":\"ItLatest\",\"title\":\"second\",\"message\":\"m2\"}",
        200));
    alert = it_get(&srv, path);
    latest = json_object_get(alert, "latest_event");
    assert_string_equal(json_string_value(json_object_get(latest, "title")), "second");
    assert_string_equal(json_string_value(json_object_get(latest, "message")), "m2");
    assert_true(json_is_true(json_object_get(latest, "folded")));
    json_decref(alert);
    /* a stored event (the resolve) becomes the latest again */
    json_decref(it_post_events(
        &srv,
        "{\"source\":\"probe\",\"type\":\"ItLatest\",\"title\":\"bye\",\"status\":\"resolved\"}",
        200));
    alert = it_get(&srv, path);
    latest = json_object_get(alert, "latest_event");
    assert_string_equal(json_string_value(json_object_get(latest, "title")), "bye");
    assert_non_null(json_object_get(latest, "event_id"));
    json_decref(alert);
}

static void test_compress_window_rollover(void **state)
{
    struct it_resp r;
    const char *t = "{\"compression_window_s\":1}";
    const char *ev = "{\"source\":\"probe\",\"type\":\"ItWindow\",\"title\":\"t\"}";
    json_t *a, *b;

    (void)state;
    assert_int_equal(it_http(&srv, "PUT", "/v1/types/ItWindow", IT_ADMIN_TOKEN, "application/json",
                             t, strlen(t), &r),
                     0);
    it_resp_free(&r);
    a = it_post_events(&srv, ev, 200);
    json_decref(it_post_events(&srv, ev, 200)); /* within the window: folds */
    it_quiet_ms(1200);                          /* for the 1 s window to pass */
    b = it_post_events(&srv, ev, 200);          /* past the window: a new alert */
#define ALERT(x)                                                                                   \
    json_string_value(json_object_get(json_array_get(json_object_get(x, "items"), 0), "alert_id"))
    assert_string_not_equal(ALERT(a), ALERT(b));
    assert_int_equal(it_sql_llf("SELECT count FROM alerts WHERE id = %s", ALERT(a)), 2);
    assert_int_equal(
        it_sql_llf("SELECT count(*) FROM alerts WHERE id = %s AND status = 'resolved'", ALERT(a)),
        1);
    assert_int_equal(
        it_sql_llf("SELECT count(*) FROM audit_log WHERE target_id = '%s' AND action = "
                   "'alert.rollover'",
                   ALERT(a)),
        1);
    json_decref(a);
    json_decref(b);
}

struct kill_arg {
    long acked;
    long sent;
};

static void *kill_load(void *p)
{
    struct kill_arg *a = p;
    const char *batch = "[{\"source\":\"probe\",\"type\":\"ItKill\",\"title\":\"a\"},"
                        "{\"source\":\"probe\",\"type\":\"ItKill\",\"title\":\"b\"}]";

    for (int i = 0; i < 5000; i++) {
        struct it_resp r;
        int rc;
        a->sent += 2;
        rc = it_http(&srv, "POST", "/v1/events", IT_INGEST_TOKEN, "application/json", batch,
                     strlen(batch), &r);
        if (rc == 0 && r.status == 200) {
            a->acked += 2;
        }
        it_resp_free(&r);
        if (rc != 0) {
            break; /* the server is gone */
        }
    }
    return NULL;
}

static bool kill_started(void *arg)
{
    (void)arg;
    return it_sql_llf("SELECT coalesce(sum(count), 0) FROM alerts WHERE type = '%s'", "ItKill") >=
           200;
}

static void test_compress_counts_exact_after_sigkill(void **state)
{
    pthread_t th[6];
    struct kill_arg args[6];
    long acked = 0, sent = 0;
    long long counted;

    (void)state;
    for (int i = 0; i < 6; i++) {
        args[i] = (struct kill_arg){0, 0};
        pthread_create(&th[i], NULL, kill_load, &args[i]);
    }
    assert_true(it_wait_until(kill_started, NULL, 30000));
    it_server_kill(&srv); /* SIGKILL: no draining */
    for (int i = 0; i < 6; i++) {
        pthread_join(th[i], NULL);
        acked += args[i].acked;
        sent += args[i].sent;
    }
    counted = it_sql_llf("SELECT coalesce(sum(count), 0) FROM alerts WHERE type = '%s'", "ItKill");
    /* every acknowledged event is counted; at most the requests in flight at the
     * kill (committed, answer lost) are counted on top; no phantom beyond what was sent */
    assert_true(counted >= acked);
    assert_true(counted <= sent);
    assert_true(counted - acked <= 6 * 2);
    assert_int_equal(
        it_sql_llf("SELECT count(*) FROM alerts WHERE type = '%s' AND status <> 'resolved'",
                   "ItKill"),
        1);
    /* after a restart the same alert keeps counting */
    it_server_start(&srv, NULL);
    send_copies("{\"source\":\"probe\",\"type\":\"ItKill\",\"title\":\"c\"}", 10, 5);
    assert_int_equal(
        it_sql_llf("SELECT coalesce(sum(count), 0) FROM alerts WHERE type = '%s'", "ItKill"),
        counted + 10);
    assert_int_equal(it_sql_llf("SELECT count(*) FROM alerts WHERE type = '%s'", "ItKill"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compress_thousand_copies),
        cmocka_unit_test(test_compress_retain_duplicates),
        cmocka_unit_test(test_compress_latest_payload_kept),
        cmocka_unit_test(test_compress_window_rollover),
        cmocka_unit_test(test_compress_counts_exact_after_sigkill),
    };
    int rc;

    it_init("compress");
    rc = cmocka_run_group_tests_name("integration_compress", tests, setup, teardown);
    it_fini();
    return rc;
}
