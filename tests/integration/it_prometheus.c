/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration tests of the Prometheus / Alertmanager compatibility: POST
 * /api/v2/alerts as Prometheus sends it (a re-send is no new occurrence but
 * refreshes the alert and its endsAt, a past endsAt resolves, a re-send
 * after a resolve opens a new alert), the Alertmanager webhook v4 (every alert of the
 * group an event, truncatedAlerts recorded), GET /api/v2/status, bad bodies
 * storing nothing - and the real Prometheus from Debian's package, with an
 * always-firing rule and bearer auth: one open alert for two minutes under a
 * 15 s resolve timeout, resolved by its endsAt once the rule is removed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/integration/harness.h"

extern char **environ;

static struct it_server srv;

static int setup(void **state)
{
    (void)state;
    it_server_start_config(
        &srv, "{\"lifecycle\":{\"default_resolve_timeout_s\":15,\"sweep_interval_ms\":500}}", NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(it_server_stop(&srv), 0);
    return 0;
}

static void test_v2_alerts_resend_and_resolve(void **state)
{
    char body[1024];
    json_t *r = NULL;

    (void)state;
    snprintf(body, sizeof(body),
             "[{\"labels\":{\"alertname\":\"ItPromCpu\",\"severity\":\"critical\",\"instance\":"
             "\"node-1:9100\",\"job\":\"node\"},\"annotations\":{\"summary\":\"CPU hot on "
             "node-1\"},\"startsAt\":\"2026-11-22T10:00:00Z\",\"endsAt\":\"2099-01-01T00:00:00Z\","
             "\"generatorURL\":\"http://prom:9090/graph\"}]");
    /* bearer auth as Prometheus sends it: the ingest scope */
    assert_int_equal(it_req_as(&srv, "POST", "/api/v2/alerts", NULL, body, &r), 401);
    json_decref(r);
    assert_int_equal(it_req_as(&srv, "POST", "/api/v2/alerts", IT_READ_TOKEN, body, &r), 403);
    json_decref(r);
    assert_int_equal(it_req_as(&srv, "POST", "/api/v2/alerts", IT_INGEST_TOKEN, body, &r), 200);
    assert_int_equal(json_integer_value(json_object_get(r, "accepted")), 1);
    json_decref(r);
    /* Prometheus re-sends every active alert: not a new occurrence, but the
     * alert is seen again (last_seen moves on) */
    assert_true(it_sql_ok("UPDATE alerts SET last_seen = last_seen - interval '1 hour'"
                          " WHERE type = 'ItPromCpu'"));
    for (int i = 0; i < 3; i++) {
        assert_int_equal(it_req_as(&srv, "POST", "/api/v2/alerts", IT_INGEST_TOKEN, body, &r), 200);
        assert_int_equal(json_integer_value(json_object_get(r, "duplicates")), 0);
        json_decref(r);
    }
    assert_int_equal(it_sql_ll("SELECT count(*) FROM alerts WHERE type = 'ItPromCpu'"
                               " AND last_seen > now() - interval '1 minute'"
                               " AND ends_at = '2099-01-01T00:00:00Z'"),
                     1);
    assert_int_equal(it_sql_ll("SELECT count FROM alerts WHERE type = 'ItPromCpu'"
                               " AND status = 'firing' AND level = 'P1' AND source = 'prometheus'"
                               " AND instance = 'node-1:9100'"),
                     1);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM events WHERE type = 'ItPromCpu'"
                               " AND doc->>'title' = 'CPU hot on node-1'"
                               " AND doc->'labels'->>'job' = 'node'"
                               " AND doc->'context'->>'generator_url' = 'http://prom:9090/graph'"),
                     1);
    /* endsAt in the past: resolved */
    snprintf(body, sizeof(body),
             "[{\"labels\":{\"alertname\":\"ItPromCpu\",\"severity\":\"critical\",\"instance\":"
             "\"node-1:9100\",\"job\":\"node\"},\"startsAt\":\"2026-11-22T10:00:00Z\","
             "\"endsAt\":\"2026-11-22T10:05:00Z\"}]");
    assert_int_equal(it_req_as(&srv, "POST", "/api/v2/alerts", IT_INGEST_TOKEN, body, &r), 200);
    json_decref(r);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM alerts WHERE type = 'ItPromCpu'"
                               " AND status = 'resolved'"),
                     1);
    assert_int_equal(
        it_sql_ll("SELECT count(*) FROM alerts WHERE type = 'ItPromCpu' AND status <> 'resolved'"),
        0);
    /* firing again after the resolve (the same startsAt): a new alert */
    snprintf(body, sizeof(body),
             "[{\"labels\":{\"alertname\":\"ItPromCpu\",\"severity\":\"critical\",\"instance\":"
             "\"node-1:9100\",\"job\":\"node\"},\"startsAt\":\"2026-11-22T10:00:00Z\","
             "\"endsAt\":\"2099-01-01T00:00:00Z\"}]");
    assert_int_equal(it_req_as(&srv, "POST", "/api/v2/alerts", IT_INGEST_TOKEN, body, &r), 200);
    json_decref(r);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM alerts WHERE type = 'ItPromCpu'"), 2);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM alerts WHERE type = 'ItPromCpu'"
                               " AND status = 'firing' AND count = 1"),
                     1);
    /* a declared end that passes with no re-send resolves it (sweeper) */
    assert_true(it_sql_ok("UPDATE alerts SET ends_at = now() - interval '1 second'"
                          " WHERE type = 'ItPromCpu' AND status = 'firing'"));
    assert_true(it_wait_sql(1, 10000,
                            "SELECT count(*) FROM audit_log l JOIN alerts a ON l.target_id ="
                            " a.id::text WHERE a.type = 'ItPromCpu' AND a.status = 'resolved'"
                            " AND l.action = 'alert.resolve' AND l.actor = 'system:ends-at'"));
}

static void test_alertmanager_webhook(void **state)
{
    const char *body =
        "{\"version\":\"4\",\"groupKey\":\"{}:{alertname=\\\"ItAmDisk\\\"}\",\"truncatedAlerts\":3,"
        "\"status\":\"firing\",\"receiver\":\"alert-center\",\"groupLabels\":{\"alertname\":"
        "\"ItAmDisk\"},\"commonLabels\":{},\"commonAnnotations\":{},\"externalURL\":\"http://am\","
        "\"alerts\":[{\"status\":\"firing\",\"labels\":{\"alertname\":\"ItAmDisk\",\"severity\":"
        "\"error\",\"instance\":\"db-1\"},\"annotations\":{},\"startsAt\":\"2026-11-22T08:00:00Z\","
        "\"endsAt\":\"0001-01-01T00:00:00Z\",\"generatorURL\":\"\",\"fingerprint\":\"aa\"},"
        "{\"status\":\"firing\",\"labels\":{\"alertname\":\"ItAmDisk\",\"severity\":\"error\","
        "\"instance\":\"db-2\"},\"annotations\":{},\"startsAt\":\"2026-11-22T08:00:00Z\","
        "\"endsAt\":\"0001-01-01T00:00:00Z\",\"generatorURL\":\"\",\"fingerprint\":\"bb\"}]}";
    json_t *r = NULL;

    (void)state;
    assert_int_equal(it_req_as(&srv, "POST", "/v1/ingest/alertmanager", IT_INGEST_TOKEN, body, &r),
                     200);
    assert_int_equal(json_integer_value(json_object_get(r, "accepted")), 2);
    assert_int_equal(json_integer_value(json_object_get(r, "truncated_alerts")), 3);
    json_decref(r);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM alerts WHERE type = 'ItAmDisk'"
                               " AND source = 'alertmanager' AND level = 'P2'"
                               " AND status = 'firing'"),
                     2);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM events WHERE type = 'ItAmDisk'"
                               " AND (doc->'context'->>'truncated_alerts')::int = 3"
                               " AND doc->'context'->>'receiver' = 'alert-center'"),
                     2);
}

static void test_status_and_bad_bodies(void **state)
{
    json_t *r = NULL;
    long before = (long)it_sql_ll("SELECT count(*) FROM events");

    (void)state;
    assert_int_equal(it_call(&srv, "GET", "/api/v2/status", IT_READ_TOKEN, NULL, NULL, &r), 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "cluster"), "status")),
                        "ready");
    assert_non_null(json_string_value(json_object_get(r, "uptime")));
    assert_non_null(json_object_get(json_object_get(r, "versionInfo"), "version"));
    json_decref(r);
    /* one bad alert refuses the whole body, naming it; nothing stored */
    assert_int_equal(
        it_req_as(&srv, "POST", "/api/v2/alerts", IT_INGEST_TOKEN,
                  "[{\"labels\":{\"alertname\":\"ItPromOk\"}},{\"labels\":{\"job\":\"x\"}}]", &r),
        400);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "error"), "code")),
                        "invalid_event");
    assert_int_equal(
        json_integer_value(json_object_get(
            json_array_get(json_object_get(json_object_get(r, "error"), "details"), 0), "index")),
        1);
    json_decref(r);
    assert_int_equal(it_req_as(&srv, "POST", "/v1/ingest/alertmanager", IT_INGEST_TOKEN, "[]", &r),
                     400);
    json_decref(r);
    assert_int_equal(it_req_as(&srv, "POST", "/api/v2/alerts", IT_INGEST_TOKEN, "{not json", &r),
                     400);
    json_decref(r);
    assert_int_equal((long)it_sql_ll("SELECT count(*) FROM events"), before);
}

static bool prom_alert_present(void *arg)
{
    (void)arg;
    return it_sql_ll("SELECT count(*) FROM alerts WHERE type = 'ItPromAlwaysFiring'") > 0;
}

/* The real Prometheus, evaluating an always-firing rule every second and
 * re-sending it every second, with a bearer token: one alert, counted once. */
static void test_real_prometheus(void **state)
{
    char dir[256], alerting[512], path[512];
    pid_t pid;

    (void)state;
    snprintf(alerting, sizeof(alerting),
             "  alertmanagers:\n"
             "  - api_version: v2\n"
             "    authorization:\n"
             "      type: Bearer\n"
             "      credentials: %s\n"
             "    static_configs:\n"
             "    - targets: ['127.0.0.1:%d']\n",
             IT_INGEST_TOKEN, srv.port);
    pid = it_prometheus_start("ItPromAlwaysFiring", alerting, dir, sizeof(dir));
    if (!it_wait_until(prom_alert_present, NULL, 60000)) {
        char *out = NULL;
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "tail -20 %s/prometheus.log", dir);
        (void)it_run(cmd, &out);
        it_prometheus_stop(pid, dir);
        fail_msg("Prometheus's alert did not arrive; its log:\n%s", out);
    }
    /* two minutes of re-sends under a 15 s resolve timeout: still the one
     * open alert, one occurrence, seen just now */
    it_quiet_ms(120000);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM events WHERE type = 'ItPromAlwaysFiring'"
                               " AND doc->>'title' = 'always firing'"),
                     1);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM alerts WHERE type = 'ItPromAlwaysFiring'"), 1);
    assert_int_equal(it_sql_ll("SELECT count FROM alerts WHERE type = 'ItPromAlwaysFiring'"
                               " AND status = 'firing' AND level = 'P1' AND app_id = 'prom-app'"
                               " AND source = 'prometheus' AND last_seen > now() - interval"
                               " '10 seconds' AND ends_at > now()"),
                     1);
    /* the rule is removed: Prometheus stops sending it (no resolve), and the
     * alert resolves once its endsAt passes - before the resolve timeout */
    snprintf(path, sizeof(path), "%s/rules.yml", dir);
    it_write_file(path, "groups: []\n");
    kill(pid, SIGHUP);
    {
        long long t0 = it_sql_ll("SELECT (extract(epoch FROM now()) * 1000)::bigint");
        assert_true(it_wait_sql(1, 30000,
                                "SELECT count(*) FROM alerts WHERE type = 'ItPromAlwaysFiring'"
                                " AND status = 'resolved'"));
        assert_int_equal(it_sql_ll("SELECT count(*) FROM audit_log l JOIN alerts a ON"
                                   " l.target_id = a.id::text WHERE a.type = 'ItPromAlwaysFiring'"
                                   " AND l.action = 'alert.resolve'"
                                   " AND l.actor = 'system:ends-at'"),
                         1);
        fprintf(stderr, "resolved %lld ms after the rule was removed\n",
                it_sql_ll("SELECT (extract(epoch FROM now()) * 1000)::bigint") - t0);
    }
    it_prometheus_stop(pid, dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v2_alerts_resend_and_resolve),
        cmocka_unit_test(test_alertmanager_webhook),
        cmocka_unit_test(test_status_and_bad_bodies),
        cmocka_unit_test(test_real_prometheus),
    };
    int rc;

    it_init("prometheus");
    rc = cmocka_run_group_tests_name("integration_prometheus", tests, setup, teardown);
    it_fini();
    return rc;
}
