/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration tests of the Kafka adapter against librdkafka's mock cluster
 * (tests/helpers/kafka_tool.c, the real Kafka protocol): 100k messages from
 * a C producer become exactly 100k counted events; a server killed with
 * SIGKILL mid-stream and restarted leaves every message counted exactly
 * once; PostgreSQL cut off mid-stream pauses consumption and loses nothing;
 * messages from kcat - a poison one to the dead-letter table, a native event
 * and an Alertmanager array - each in their place; /metrics reports it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/integration/harness.h"

static struct it_server srv;
static struct it_proxy *pg_proxy;
static pid_t mock_pid;
static char bootstrap[256], config[1024], env_dsn[300];
static const char *env[2];

static const char *tool(void)
{
    const char *t = getenv("AC_KAFKA_TOOL");

    assert_non_null(t);
    return t;
}

/* Starts the mock cluster and reads its bootstrap address. The mock keeps
 * about 5 MB a partition (older segments go): 24 partitions hold the 100k
 * messages of 1 KB even unread. */
static void mock_start(void)
{
    char *argv[] = {(char *)tool(), "mock", "alerts", "24", "prom", "1", "k8s", "1", NULL};

    mock_pid = it_helper_start(argv, bootstrap, sizeof(bootstrap));
    assert_true(strlen(bootstrap) > 0);
}

static void server_start(void)
{
    it_server_start_config(&srv, config, env);
}

static int setup(void **state)
{
    char dsn[256];

    (void)state;
    mock_start();
    pg_proxy = it_proxy_start(it_pg_port());
    it_dsn_for_port(it_proxy_port(pg_proxy), dsn, sizeof(dsn));
    snprintf(env_dsn, sizeof(env_dsn), "AC_PG_DSN=%s", dsn);
    env[0] = env_dsn;
    env[1] = NULL;
    snprintf(config, sizeof(config),
             "{\"kafka\":{\"brokers\":\"%s\",\"group_id\":\"it\",\"topics\":{\"alerts\":"
             "\"native\",\"prom\":\"alertmanager\",\"k8s\":\"k8s_event\"},\"batch_max\":2000,"
             "\"options\":{"
             "\"session.timeout.ms\":\"6000\",\"heartbeat.interval.ms\":\"500\"}}}",
             bootstrap);
    server_start();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(it_server_stop(&srv), 0);
    it_proxy_stop(pg_proxy);
    it_helper_stop(mock_pid);
    return 0;
}

static void produce(long count, long bytes, long fps, long first, const char *type)
{
    char cmd[1024], *out = NULL;

    snprintf(cmd, sizeof(cmd), "%s produce %s alerts %ld %ld %ld %ld %s", tool(), bootstrap, count,
             bytes, fps, first, type);
    if (it_run(cmd, &out) != 0) {
        fail_msg("%s: %s", cmd, out);
    }
    free(out);
}

static long long counted(const char *type)
{
    return it_sql_llf("SELECT coalesce(sum(count), 0) FROM alerts WHERE type = '%s'", type);
}

struct want {
    const char *type;
    long long n;
};

static bool reached(void *arg)
{
    const struct want *w = arg;

    return counted(w->type) >= w->n;
}

/* Every message counted once: the total reaches n and stays there. */
static void expect_exactly(const char *type, long long n, int timeout_ms)
{
    struct want w = {type, n};

    if (!it_wait_until(reached, &w, timeout_ms)) {
        fail_msg("%s: %lld of %lld counted", type, counted(type), n);
    }
    it_quiet_ms(2000); /* anything read twice would show now */
    assert_int_equal(counted(type), n);
}

static void test_100k_messages_exactly_once(void **state)
{
    (void)state;
    produce(100000, 1000, 1000, 0, "ItKafka100k");
    expect_exactly("ItKafka100k", 100000, 240000);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM alerts WHERE type = 'ItKafka100k'"), 1000);
    /* each message its own idempotency key: topic, partition, offset */
    assert_int_equal(it_sql_ll("SELECT count(*) FROM events WHERE type = 'ItKafka100k'"
                               " AND client_id LIKE 'kafka:alerts/%%'"),
                     1000);
}

static void test_sigkill_mid_stream(void **state)
{
    struct want some = {"ItKafkaKill", 3000};

    (void)state;
    produce(30000, 500, 100, 200000, "ItKafkaKill");
    assert_true(it_wait_until(reached, &some, 60000));
    it_server_kill(&srv); /* SIGKILL: stored offsets not committed, a batch maybe half done */
    assert_true(counted("ItKafkaKill") < 30000);
    server_start();
    expect_exactly("ItKafkaKill", 30000, 120000);
}

static void test_database_cut_off_mid_stream(void **state)
{
    struct want some = {"ItKafkaCut", 2000};

    (void)state;
    produce(20000, 500, 100, 300000, "ItKafkaCut");
    assert_true(it_wait_until(reached, &some, 60000));
    it_proxy_set_down(pg_proxy, true);
    it_quiet_ms(3000); /* batches refused: rewound and paused */
    it_proxy_set_down(pg_proxy, false);
    expect_exactly("ItKafkaCut", 20000, 120000);
    assert_true(it_metric(&srv, "ac_kafka_batches_refused_total") >= 1);
}

static void test_kcat_poison_native_and_alertmanager(void **state)
{
    char cmd[1024], *out = NULL;
    FILE *f;
    char path[300];

    (void)state;
    snprintf(path, sizeof(path), "%s.kcat", srv.log);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("not json\n"
          "{\"source\":\"kcat\",\"type\":\"ItKcat\",\"title\":\"from kcat\"}\n"
          "{\"source\":\"kcat\"}\n",
          f);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "kcat -b %s -t alerts -P -l %s", bootstrap, path);
    if (it_run(cmd, &out) != 0) {
        fail_msg("kcat: %s", out);
    }
    free(out);
    f = fopen(path, "w");
    fputs("[{\"labels\":{\"alertname\":\"ItKafkaProm\",\"severity\":\"warning\"},"
          "\"startsAt\":\"2026-11-22T10:00:00Z\"}]\n",
          f);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "kcat -b %s -t prom -P -l %s", bootstrap, path);
    if (it_run(cmd, &out) != 0) {
        fail_msg("kcat: %s", out);
    }
    free(out);
    f = fopen(path, "w");
    fputs("{\"kind\":\"Event\",\"metadata\":{\"uid\":\"ev-kafka-1\",\"namespace\":\"shop\"},"
          "\"involvedObject\":{\"kind\":\"Pod\",\"namespace\":\"shop\",\"name\":\"cart-0\"},"
          "\"reason\":\"ItKafkaBackOff\",\"message\":\"Back-off restarting\",\"type\":\"Warning\","
          "\"count\":3}\n",
          f);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "kcat -b %s -t k8s -P -l %s", bootstrap, path);
    if (it_run(cmd, &out) != 0) {
        fail_msg("kcat: %s", out);
    }
    free(out);
    assert_true(it_wait_sql(1, 30000,
                            "SELECT count(*) FROM alerts WHERE type = 'ItKafkaBackOff'"
                            " AND source = 'kubernetes' AND resource->>'name' = 'cart-0'"));
    assert_true(it_wait_sql(1, 30000,
                            "SELECT count(*) FROM alerts WHERE type = 'ItKafkaProm'"
                            " AND level = 'P3' AND source = 'prometheus'"));
    assert_true(it_wait_sql(1, 30000, "SELECT count(*) FROM alerts WHERE type = 'ItKcat'"));
    /* the poison messages: raw bytes and why, consumption went on past them */
    assert_true(
        it_wait_sql(2, 10000, "SELECT count(*) FROM kafka_dead_letters WHERE topic = 'alerts'"));
    assert_int_equal(
        it_sql_ll("SELECT count(*) FROM kafka_dead_letters"
                  " WHERE value = 'not json'::bytea AND reason LIKE 'invalid%%JSON%%'"),
        1);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM kafka_dead_letters"
                               " WHERE convert_from(value, 'UTF8') = '{\"source\":\"kcat\"}'"
                               " AND reason LIKE '%%$.type%%'"),
                     1);
    assert_true(it_metric(&srv, "ac_kafka_messages_total{outcome=\"dead_lettered\"}") >= 2);
    assert_true(it_metric(&srv, "ac_kafka_consumer_lag_messages") >= 0);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kcat_poison_native_and_alertmanager),
        cmocka_unit_test(test_100k_messages_exactly_once),
        cmocka_unit_test(test_sigkill_mid_stream),
        cmocka_unit_test(test_database_cut_off_mid_stream),
    };
    int rc;

    it_init("kafka");
    rc = cmocka_run_group_tests_name("integration_kafka", tests, setup, teardown);
    it_fini();
    return rc;
}
