/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration tests of operations: restart with data kept, SIGTERM draining
 * in-flight requests with every acknowledged event stored, PostgreSQL loss
 * (503 meanwhile, recovery after), readiness, the CLI subcommands, and the
 * schema's guarantees (migrations recorded once, audit log append-only).
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
#include <unistd.h>

#include "tests/integration/harness.h"

/* Accepted events of a type: what its alerts counted (every test event opens
 * or folds into an alert; duplicates are not stored as rows). */
static long long count_type(const char *type)
{
    return it_sql_llf("SELECT coalesce(sum(count), 0) FROM alerts WHERE type = '%s'", type);
}

static void test_ops_restart_keeps_data(void **state)
{
    struct it_server s;
    const char *ev = "{\"source\":\"probe\",\"type\":\"ItRestart\",\"title\":\"t\"}";
    char path[64];
    json_t *r, *alert;

    (void)state;
    it_server_start(&s, NULL);
    json_decref(it_post_events(&s, ev, 200));
    json_decref(it_post_events(&s, ev, 200));
    r = it_post_events(&s, ev, 200);
    snprintf(path, sizeof(path), "/v1/alerts/%s",
             json_string_value(
                 json_object_get(json_array_get(json_object_get(r, "items"), 0), "alert_id")));
    json_decref(r);
    assert_int_equal(it_server_stop(&s), 0);

    it_server_start(&s, NULL);
    alert = it_get(&s, path);
    assert_int_equal(json_integer_value(json_object_get(alert, "count")), 3);
    json_decref(alert);
    /* the open alert survives the restart and keeps folding */
    json_decref(it_post_events(&s, ev, 200));
    alert = it_get(&s, path);
    assert_int_equal(json_integer_value(json_object_get(alert, "count")), 4);
    json_decref(alert);
    assert_int_equal(it_server_stop(&s), 0);
    /* migrations ran on each start but were applied once; functions.sql is
     * recorded beside them, once */
    assert_int_equal(it_sql_ll("SELECT count(*) FROM schema_migrations"),
                     it_sql_ll("SELECT count(*) FROM schema_migrations WHERE name LIKE '0%'") + 1);
    assert_int_equal(
        it_sql_ll("SELECT count(*) FROM schema_migrations WHERE name = 'functions.sql'"), 1);
    assert_true(it_sql_ll("SELECT count(*) FROM schema_migrations") >= 1);
}

struct drain_arg {
    struct it_server *s;
    long acked;   /* events answered 200 */
    long refused; /* 503 or transport errors */
};

static void *drain_main(void *p)
{
    struct drain_arg *a = p;
    const char *batch = "[{\"source\":\"probe\",\"type\":\"ItDrain\",\"title\":\"a\"},"
                        "{\"source\":\"probe\",\"type\":\"ItDrain\",\"title\":\"b\"}]";

    for (int i = 0; i < 2000; i++) {
        struct it_resp r;
        int rc = it_http(a->s, "POST", "/v1/events", IT_INGEST_TOKEN, "application/json", batch,
                         strlen(batch), &r);
        if (rc == 0 && r.status == 200) {
            a->acked += 2;
        }
        else {
            a->refused++;
            it_resp_free(&r);
            break;
        }
        it_resp_free(&r);
    }
    return NULL;
}

static bool drain_started(void *arg)
{
    (void)arg;
    return count_type("ItDrain") >= 100;
}

static void test_ops_sigterm_drains(void **state)
{
    struct it_server s;
    pthread_t th[8];
    struct drain_arg args[8];
    long acked = 0;

    (void)state;
    it_server_start(&s, NULL);
    for (int i = 0; i < 8; i++) {
        args[i] = (struct drain_arg){&s, 0, 0};
        pthread_create(&th[i], NULL, drain_main, &args[i]);
    }
    assert_true(it_wait_until(drain_started, NULL, 30000));
    assert_int_equal(it_server_stop(&s), 0); /* SIGTERM with requests in flight */
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        acked += args[i].acked;
    }
    /* every acknowledged event is stored, and nothing else */
    assert_true(acked >= 100);
    assert_int_equal(count_type("ItDrain"), acked);
}

struct outage {
    struct it_server *s;
};

static bool post_ok(void *arg)
{
    struct it_server *s = arg;
    const char *ev = "{\"source\":\"probe\",\"type\":\"ItOutage\",\"title\":\"back\"}";
    struct it_resp r;
    bool ok = it_http(s, "POST", "/v1/events", IT_ADMIN_TOKEN, "application/json", ev, strlen(ev),
                      &r) == 0 &&
              r.status == 200;

    it_resp_free(&r);
    return ok;
}

static const char *const outage_paths[] = {
    "/v1/events?type=ItOutage",
    "/v1/alerts",
    "/v1/alerts/1",
    "/v1/silences",
    "/v1/contacts",
    "/v1/teams/1",
    "/v1/apps",
    "/v1/rules",
    "/v1/notifications",
    "/v1/heartbeats",
};

static void test_ops_postgres_outage(void **state)
{
    struct it_proxy *px = it_proxy_start(it_pg_port());
    char dsn[256], env_dsn[300];
    const char *env[2];
    const char *ev = "{\"source\":\"probe\",\"type\":\"ItOutage\",\"title\":\"t\"}";
    struct it_server s;
    struct it_resp r;
    json_t *checks;

    (void)state;
    it_dsn_for_port(it_proxy_port(px), dsn, sizeof(dsn));
    snprintf(env_dsn, sizeof(env_dsn), "AC_PG_DSN=%s", dsn);
    env[0] = env_dsn;
    env[1] = NULL;
    it_server_start(&s, env);
    json_decref(it_post_events(&s, ev, 200));

    it_proxy_set_down(px, true);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(it_http(&s, "POST", "/v1/events", IT_ADMIN_TOKEN, "application/json", ev,
                                 strlen(ev), &r),
                         0);
        assert_int_equal(r.status, 503);
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(r.json, "error"), "code")),
            "unavailable");
        it_resp_free(&r);
    }
    /* every route that needs the database answers 503 with Retry-After */
    for (size_t i = 0; i < sizeof(outage_paths) / sizeof(outage_paths[0]); i++) {
        char *ra;
        assert_int_equal(it_http(&s, "GET", outage_paths[i], IT_ADMIN_TOKEN, NULL, NULL, 0, &r), 0);
        if (r.status != 503) {
            fail_msg("GET %s: %ld, expected 503", outage_paths[i], r.status);
        }
        ra = it_resp_header(&r, "Retry-After");
        assert_non_null(ra);
        assert_string_equal(ra, "1");
        free(ra);
        it_resp_free(&r);
    }
    assert_int_equal(it_http(&s, "GET", "/readyz", NULL, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 503);
    checks = json_object_get(r.json, "checks");
    assert_false(json_boolean_value(json_object_get(json_object_get(checks, "postgres"), "ok")));
    assert_true(json_boolean_value(json_object_get(json_object_get(checks, "redis"), "ok")));
    it_resp_free(&r);
    assert_int_equal(it_http(&s, "GET", "/healthz", NULL, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200); /* the process is fine */
    it_resp_free(&r);
    /* /metrics still answers: this instance's figures, and no cluster ones */
    assert_true(it_metric(&s, "ac_cluster_scrape_ok") == 0);
    assert_true(it_metric(&s, "ac_alerts_open{level=\"P4\",status=\"firing\"}") < 0);
    assert_true(
        it_metric(
            &s, "ac_http_requests_total{route=\"/v1/events\",method=\"POST\",code=\"503\"}") == 3);

    it_proxy_set_down(px, false);
    assert_true(it_wait_until(post_ok, &s, 20000));
    assert_int_equal(it_http(&s, "GET", "/readyz", NULL, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
    /* the first event and the ones after recovery; none of the refused ones */
    assert_int_equal(
        it_sql_ll("SELECT count(*) FROM events WHERE type = 'ItOutage' AND doc->>'title' = 't'"),
        1);
    assert_int_equal(it_server_stop(&s), 0);
    it_proxy_stop(px);
}

/* PostgreSQL down when the server starts: it serves /healthz (alive,
 * "starting") and /readyz (503, why) at once, answers every other endpoint
 * 503 "starting", retries with a backoff, and is ready soon after
 * PostgreSQL comes back. */
static void test_ops_postgres_down_at_start(void **state)
{
    struct it_proxy *px = it_proxy_start(it_pg_port());
    char dsn[256], env_dsn[300];
    const char *env[2];
    const char *ev = "{\"source\":\"probe\",\"type\":\"ItDownAtStart\",\"title\":\"t\"}";
    struct it_server s = {0};
    struct it_resp r;
    bool answered = false;

    (void)state;
    it_dsn_for_port(it_proxy_port(px), dsn, sizeof(dsn));
    snprintf(env_dsn, sizeof(env_dsn), "AC_PG_DSN=%s", dsn);
    env[0] = env_dsn;
    env[1] = NULL;
    it_proxy_set_down(px, true);
    it_server_spawn(&s, dsn, env);
    for (int i = 0; i < 500 && !answered; i++) {
        answered = it_http(&s, "GET", "/healthz", NULL, NULL, NULL, 0, &r) == 0;
        if (!answered) {
            it_quiet_ms(20);
        }
    }
    assert_true(answered);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "starting");
    it_resp_free(&r);
    it_quiet_ms(2500); /* a few attempts */
    assert_int_equal(it_http(&s, "GET", "/readyz", NULL, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 503);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "starting");
    assert_non_null(strstr(json_string_value(json_object_get(r.json, "reason")),
                           "PostgreSQL is unreachable (attempt"));
    it_resp_free(&r);
    assert_int_equal(
        it_http(&s, "POST", "/v1/events", IT_ADMIN_TOKEN, "application/json", ev, strlen(ev), &r),
        0);
    assert_int_equal(r.status, 503);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(r.json, "error"), "code")), "starting");
    it_resp_free(&r);
    assert_int_equal(it_call(&s, "GET", "/v1/alerts", IT_READ_TOKEN, NULL, NULL, NULL), 503);
    /* PostgreSQL comes back: ready within the backoff (at most 30 s), then serving */
    it_proxy_set_down(px, false);
    it_server_wait_up(&s);
    assert_int_equal(it_http(&s, "GET", "/readyz", NULL, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
    json_decref(it_post_events(&s, ev, 200));
    assert_int_equal(it_sql_ll("SELECT count(*) FROM events WHERE type = 'ItDownAtStart'"), 1);
    assert_int_equal(it_server_stop(&s), 0);
    it_proxy_stop(px);
}

static void test_ops_backend_killed_reconnects(void **state)
{
    struct it_server s;
    const char *ev = "{\"source\":\"probe\",\"type\":\"ItKilled\",\"title\":\"t\"}";
    char sql[256];

    (void)state;
    it_server_start(&s, NULL);
    json_decref(it_post_events(&s, ev, 200));
    snprintf(sql, sizeof(sql),
             "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '%s' "
             "AND application_name = 'alertcenter'",
             it_db_name());
    assert_true(it_sql_ll(sql) >= 1);
    /* the writer notices before COMMIT was sent, reconnects and retries */
    json_decref(it_post_events(&s, ev, 200));
    assert_int_equal(count_type("ItKilled"), 2);
    assert_int_equal(it_server_stop(&s), 0);
}

static void test_ops_readyz_redis_down(void **state)
{
    struct it_server s;
    char redis[80];
    const char *env[2] = {redis, NULL};
    struct it_resp r;
    json_t *checks;

    (void)state;
    snprintf(redis, sizeof(redis), "AC_REDIS_URL=redis://127.0.0.1:%d/0", it_free_port());
    it_server_start(&s, env);
    assert_int_equal(it_http(&s, "GET", "/readyz", NULL, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 503);
    checks = json_object_get(r.json, "checks");
    assert_true(json_boolean_value(json_object_get(json_object_get(checks, "postgres"), "ok")));
    assert_false(json_boolean_value(json_object_get(json_object_get(checks, "redis"), "ok")));
    assert_non_null(json_object_get(json_object_get(checks, "redis"), "error"));
    it_resp_free(&r);
    assert_int_equal(it_server_stop(&s), 0);

    it_server_start(&s, NULL);
    assert_int_equal(it_http(&s, "GET", "/readyz", NULL, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
    assert_int_equal(it_server_stop(&s), 0);
}

static void test_ops_cli(void **state)
{
    const char *bin = getenv("AC_TEST_BINARY");
    char cmd[1024], dsn[256], path[] = "/tmp/ac_it_cfg_XXXXXX";
    char *out = NULL;
    FILE *f;
    int fd;

    (void)state;
    snprintf(cmd, sizeof(cmd), "%s version", bin);
    assert_int_equal(it_run(cmd, &out), 0);
    assert_non_null(strstr(out, "alertcenter "));
    free(out);
    snprintf(cmd, sizeof(cmd), "%s --help", bin);
    assert_int_equal(it_run(cmd, &out), 0);
    assert_non_null(strstr(out, "check-config"));
    free(out);
    snprintf(cmd, sizeof(cmd), "%s serve --help", bin);
    assert_int_equal(it_run(cmd, &out), 0);
    assert_non_null(strstr(out, "usage: alertcenter serve"));
    free(out);
    snprintf(cmd, sizeof(cmd), "%s frobnicate", bin);
    assert_int_equal(it_run(cmd, NULL), 2);

    /* migrate on an up-to-date database applies nothing and succeeds */
    it_dsn_for_port(it_pg_port(), dsn, sizeof(dsn));
    snprintf(cmd, sizeof(cmd), "AC_PG_DSN='%s' %s migrate", dsn, bin);
    assert_int_equal(it_run(cmd, &out), 0);
    assert_non_null(strstr(out, "applied=0"));
    free(out);

    /* check-config masks secrets and rejects unknown keys */
    fd = mkstemp(path);
    f = fdopen(fd, "w");
    fputs(
        "{\"listen\":\"127.0.0.1:9999\",\"postgres\":{\"dsn\":\"postgresql://u:hunter2pw@db/x\"}}",
        f);
    fclose(f);
    snprintf(cmd, sizeof(cmd),
             "env -u AC_PG_DSN AC_REDIS_URL=redis://:r3dis-secret@h:1/0 %s "
             "check-config -c %s",
             bin, path);
    assert_int_equal(it_run(cmd, &out), 0);
    assert_non_null(strstr(out, "127.0.0.1:9999"));
    assert_null(strstr(out, "hunter2pw"));
    assert_null(strstr(out, "r3dis-secret"));
    free(out);
    f = fopen(path, "w");
    fputs("{\"listen\":\"127.0.0.1:9999\",\"limits\":{\"max_body\":5}}", f);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "%s check-config -c %s", bin, path);
    assert_int_equal(it_run(cmd, &out), 2);
    assert_non_null(strstr(out, "limits.max_body: unknown key"));
    free(out);
    /* a second server on a port in use fails at start, loudly (no
     * SO_REUSEPORT sharing it with the running one) */
    {
        struct it_server busy;
        int rc;
        it_server_start(&busy, NULL);
        snprintf(cmd, sizeof(cmd),
                 "AC_PG_DSN='%s' AC_REDIS_URL=redis://127.0.0.1:%d/0 AC_LISTEN=127.0.0.1:%d"
                 " timeout 60 %s serve 2>&1",
                 dsn, it_redis_port(), busy.port, bin);
        rc = it_run(cmd, &out);
        assert_true(rc != 0 && rc != 124);
        assert_non_null(strstr(out, "cannot listen on"));
        free(out);
        assert_int_equal(it_server_stop(&busy), 0);
    }
    /* a port out of range, and a DSN that does not parse: refused, and the
     * password is not echoed */
    f = fopen(path, "w");
    fputs("{\"listen\":\"127.0.0.1:99999\",\"postgres\":{\"dsn\":\"host=db password hunter2pw\"}}",
          f);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "env -u AC_PG_DSN -u AC_LISTEN %s check-config -c %s", bin, path);
    assert_int_equal(it_run(cmd, &out), 2);
    assert_non_null(strstr(out, "listen: want host:port"));
    assert_non_null(strstr(out, "postgres.dsn: cannot be parsed"));
    assert_null(strstr(out, "hunter2pw"));
    assert_null(strstr(out, "\"listen\"")); /* an invalid configuration is not printed */
    free(out);
    /* a Redis password in the URL's query is masked too */
    snprintf(cmd, sizeof(cmd),
             "env -u AC_PG_DSN -u AC_LISTEN AC_REDIS_URL='redis://h:1/0?password=qu3ry-secret' "
             "%s check-config",
             bin);
    assert_int_equal(it_run(cmd, &out), 0);
    assert_non_null(strstr(out, "redis://h:1/0"));
    assert_null(strstr(out, "qu3ry-secret"));
    free(out);
    /* the shipped example passes as shipped: its secrets' sources are named,
     * absent here (warnings), and those tokens are left out */
    snprintf(cmd, sizeof(cmd), "env -u AC_TOKEN_PROMETHEUS %s check-config -c %s/config/%s", bin,
             AC_SOURCE_DIR, "alertcenter.example.json");
    assert_int_equal(it_run(cmd, &out), 0);
    assert_non_null(strstr(out, "AC_TOKEN_PROMETHEUS (here; serve needs it)"));
    assert_non_null(strstr(out, "\"auth_token_count\": 1"));
    free(out);
    /* and with its token sources provided, every token loads */
    snprintf(cmd, sizeof(cmd),
             "tok=$(mktemp) && echo auditors-token-0123456789 >$tok && "
             "sed \"s#/etc/alertcenter/auditors.token#$tok#\" %s/config/alertcenter.example.json "
             ">%s && AC_TOKEN_PROMETHEUS=prometheus-token-0123456789 %s check-config -c %s; "
             "rc=$?; rm -f $tok; exit $rc",
             AC_SOURCE_DIR, path, bin, path);
    assert_int_equal(it_run(cmd, &out), 0);
    assert_non_null(strstr(out, "\"auth_token_count\": 3"));
    free(out);
    f = fopen(path, "w");
    fputs("{\"listen\":\"127.0.0.1:9999\",\"limits\":{\"max_body\":5}}", f);
    fclose(f);
    /* serve refuses to start on an invalid configuration */
    snprintf(cmd, sizeof(cmd), "%s serve -c %s", bin, path);
    assert_int_equal(it_run(cmd, NULL), 2);
    unlink(path);
}

/* Two instances starting together on an empty database: the advisory lock
 * lets one migrate while the other waits; both serve, migrations ran once. */
static void test_ops_concurrent_start_migrates_once(void **state)
{
    struct it_server a = {0}, b = {0};
    char db[64], dsn[256];
    PGconn *c;
    PGresult *r;

    (void)state;
    snprintf(db, sizeof(db), "%s_race", it_db_name());
    it_extra_db(db, false);
    snprintf(dsn, sizeof(dsn), "host=127.0.0.1 port=%d dbname=%s user=alertcenter", it_pg_port(),
             db);
    it_server_spawn(&a, dsn, NULL);
    it_server_spawn(&b, dsn, NULL);
    it_server_wait_up(&a);
    it_server_wait_up(&b);
    json_decref(it_post_events(&a, "{\"source\":\"p\",\"type\":\"ItRace\",\"title\":\"t\"}", 200));
    json_decref(it_post_events(&b, "{\"source\":\"p\",\"type\":\"ItRace\",\"title\":\"t\"}", 200));
    assert_int_equal(it_server_stop(&a), 0);
    assert_int_equal(it_server_stop(&b), 0);
    c = PQconnectdb(dsn);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    r = PQexec(c, "SELECT count(*), count(DISTINCT name) FROM schema_migrations");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1));
    assert_true(atoi(PQgetvalue(r, 0, 0)) >= 1);
    PQclear(r);
    /* both instances folded into the same alert */
    r = PQexec(c, "SELECT count(*), max(count) FROM alerts WHERE type = 'ItRace'");
    assert_string_equal(PQgetvalue(r, 0, 0), "1");
    assert_string_equal(PQgetvalue(r, 0, 1), "2");
    PQclear(r);
    PQfinish(c);
    it_extra_db(db, true);
}

static void test_ops_escalation_policies(void **state)
{
    struct it_server s = {0};
    const char *bin = getenv("AC_TEST_BINARY");
    char cmd[1024], *out = NULL, path[] = "/tmp/ac_it_esc_XXXXXX";
    json_t *p, *data, *hot;
    FILE *f;
    int fd;

    (void)state;
    it_server_start_config(&s,
                           "{\"escalation\":{\"types\":{\"ItHot\":[{\"from\":\"P4\",\"to\":"
                           "\"P2\",\"apps\":3,\"hold_s\":30}]}}}",
                           NULL);
    p = it_get(&s, "/v1/escalation/policies");
    data = json_object_get(json_object_get(p, "policies"), "data");
    assert_int_equal(json_array_size(data), 3); /* DESIGN §5 defaults */
    assert_int_equal(json_integer_value(json_object_get(json_array_get(data, 0), "apps")), 50);
    assert_int_equal(json_array_size(json_object_get(json_object_get(p, "policies"), "control")),
                     2);
    hot = json_array_get(json_object_get(json_object_get(p, "types"), "ItHot"), 0);
    assert_string_equal(json_string_value(json_object_get(hot, "to")), "P2");
    assert_int_equal(json_integer_value(json_object_get(hot, "hold_s")), 30);
    json_decref(p);
    assert_int_equal(it_server_stop(&s), 0);

    /* an invalid policy stops start-up with a clear message */
    fd = mkstemp(path);
    f = fdopen(fd, "w");
    fputs("{\"escalation\":{\"policies\":{\"data\":[{\"from\":\"P4\",\"to\":\"P3\","
          "\"apps\":100},{\"from\":\"P3\",\"to\":\"P2\",\"apps\":50}]}}}",
          f);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "%s serve -c %s", bin, path);
    assert_int_equal(it_run(cmd, &out), 2);
    assert_non_null(strstr(out, "escalation.policies.data[1]: thresholds out of order"));
    free(out);
    snprintf(cmd, sizeof(cmd), "%s check-config -c %s", bin, path);
    assert_int_equal(it_run(cmd, NULL), 2);
    unlink(path);
}

/* Firing alerts of every level, as /metrics reports them. */
static double open_firing(const struct it_server *s)
{
    static const char *const lv[] = {"P1", "P2", "P3", "P4"};
    char series[96];
    double open = 0;

    for (int i = 0; i < 4; i++) {
        snprintf(series, sizeof(series), "ac_alerts_open{level=\"%s\",status=\"firing\"}", lv[i]);
        open += it_metric(s, series);
    }
    return open;
}

/* /metrics follows what the instance did: requests by route and code,
 * events through the pipeline and the writer, open alerts. */
static void test_ops_metrics(void **state)
{
    struct it_server s;
    const char *ok =
        "[{\"source\":\"probe\",\"type\":\"ItMetrics\",\"title\":\"t\",\"app_id\":\"a\"},"
        "{\"source\":\"probe\",\"type\":\"ItMetrics\",\"title\":\"t\",\"app_id\":\"b\"}]";
    const char *bad = "{\"source\":\"probe\"}";
    double open0;

    (void)state;
    it_server_start(&s, NULL);
    open0 = open_firing(&s);
    assert_true(open0 >= 0);
    assert_true(it_metric(&s, "ac_writer_events_total") == 0);
    json_decref(it_post_events(&s, ok, 200));
    json_decref(it_post_events(&s, ok, 200)); /* repeats: fold into the same two alerts */
    json_decref(it_post_events(&s, bad, 400));
    assert_true(it_metric(&s, "ac_pipeline_events_total{outcome=\"submitted\"}") == 4);
    assert_true(it_metric(&s, "ac_writer_events_total") == 4);
    assert_true(it_metric(&s, "ac_writer_groups_total") >= 1);
    assert_true(it_metric(&s, "ac_writer_group_duration_seconds_count") ==
                it_metric(&s, "ac_writer_groups_total"));
    assert_true(
        it_metric(
            &s, "ac_http_requests_total{route=\"/v1/events\",method=\"POST\",code=\"200\"}") == 2);
    assert_true(
        it_metric(
            &s, "ac_http_requests_total{route=\"/v1/events\",method=\"POST\",code=\"400\"}") == 1);
    assert_true(it_metric(&s, "ac_http_request_duration_seconds_count{route=\"/v1/events\",method="
                              "\"POST\"}") == 3);
    /* two alerts opened (cluster-wide figure, read from PostgreSQL) */
    assert_true(open_firing(&s) == open0 + 2);
    assert_true(it_sql_ll("SELECT count(*) FROM alerts WHERE type = 'ItMetrics'"
                          " AND status = 'firing'") == 2);
    assert_true(it_metric(&s, "ac_cluster_scrape_ok") == 1);
    /* and Prometheus's own checker accepts the exposition, lint included */
    {
        char cmd[1024], *out = NULL;
        snprintf(cmd, sizeof(cmd),
                 "curl -sf -o %s.metrics -H 'Authorization: Bearer " IT_READ_TOKEN
                 "' http://127.0.0.1:%d/metrics && promtool check metrics < %s.metrics",
                 s.log, s.port, s.log);
        if (it_run(cmd, &out) != 0) {
            fail_msg("promtool check metrics: %s", out);
        }
        free(out);
    }
    assert_int_equal(it_server_stop(&s), 0);
}

static void test_ops_audit_log_append_only(void **state)
{
    (void)state;
    assert_true(it_sql_ok("INSERT INTO audit_log (actor, action) VALUES ('test', 'probe')"));
    assert_false(it_sql_ok("UPDATE audit_log SET actor = 'someone else'"));
    assert_false(it_sql_ok("DELETE FROM audit_log"));
    assert_false(it_sql_ok("TRUNCATE audit_log"));
    assert_true(it_sql_ll("SELECT count(*) FROM audit_log WHERE actor = 'test'") == 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ops_restart_keeps_data),
        cmocka_unit_test(test_ops_sigterm_drains),
        cmocka_unit_test(test_ops_postgres_outage),
        cmocka_unit_test(test_ops_postgres_down_at_start),
        cmocka_unit_test(test_ops_backend_killed_reconnects),
        cmocka_unit_test(test_ops_readyz_redis_down),
        cmocka_unit_test(test_ops_cli),
        cmocka_unit_test(test_ops_concurrent_start_migrates_once),
        cmocka_unit_test(test_ops_escalation_policies),
        cmocka_unit_test(test_ops_metrics),
        cmocka_unit_test(test_ops_audit_log_append_only),
    };
    int rc;

    it_init("ops");
    rc = cmocka_run_group_tests_name("integration_ops", tests, NULL, NULL);
    it_fini();
    return rc;
}
