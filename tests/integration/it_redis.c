/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration tests of Redis faults. Redis is the writer's cache of open
 * alerts and seen idempotency keys; PostgreSQL verifies and stays the system
 * of record. So: FLUSHALL loses nothing and opens no second alert; a stale
 * entry (alert resolved through the API) is caught; with Redis killed, ingest
 * goes on from PostgreSQL alone with exact counts, and uses Redis again once it
 * is back. This suite runs its own redis-server so it can kill it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/integration/harness.h"

static struct it_server srv;
static struct it_redis redis;

/* Cached open alerts (the escalation timer mirrors windows alongside). */
static long long redis_open_keys(void)
{
    char *out = it_redis_cli(&redis, "--scan --pattern '*open:*'");
    long long n = 0;

    for (const char *p = out; *p; p++) {
        n += *p == '\n';
    }
    free(out);
    return n;
}

static int setup(void **state)
{
    const char *env[2] = {redis.env, NULL};

    (void)state;
    it_redis_start(&redis);
    it_server_start(&srv, env);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(it_server_stop(&srv), 0);
    it_redis_stop(&redis);
    return 0;
}

static long long counted(const char *type)
{
    return it_sql_llf("SELECT coalesce(sum(count), 0) FROM alerts WHERE type = '%s'", type);
}

static long long alerts_of(const char *type)
{
    return it_sql_llf("SELECT count(*) FROM alerts WHERE type = '%s'", type);
}

static void post_n(const char *type, int n)
{
    char body[160];

    snprintf(body, sizeof(body), "{\"source\":\"probe\",\"type\":\"%s\",\"title\":\"t\"}", type);
    for (int i = 0; i < n; i++) {
        json_decref(it_post_events(&srv, body, 200));
    }
}

static void test_redis_cache_is_used(void **state)
{
    (void)state;
    post_n("ItCache", 5);
    assert_true(redis_open_keys() >= 1); /* the open alert is cached */
    assert_int_equal(counted("ItCache"), 5);
}

/* The cache is read, not only written: an idempotency key only the cache
 * knows (set here by hand, naming an existing event) is answered from it -
 * a duplicate of that event - and nothing is stored. */
static void test_redis_cache_is_read(void **state)
{
    char *gen, cmd[512];
    long long eid, aid;
    json_t *r, *item;

    (void)state;
    post_n("ItCacheSeed", 1); /* the writer has checked the cache against PostgreSQL */
    eid = it_sql_ll("SELECT max(id) FROM events WHERE type = 'ItCacheSeed'");
    aid = it_sql_ll("SELECT alert_id FROM events WHERE type = 'ItCacheSeed' ORDER BY id DESC"
                    " LIMIT 1");
    snprintf(cmd, sizeof(cmd), "GET %s:keygen", it_db_name()); /* the server's key prefix */
    gen = it_redis_cli(&redis, cmd);
    snprintf(cmd, sizeof(cmd),
             "EVAL \"return redis.call('SET', KEYS[1] .. string.char(31) .. ARGV[1], ARGV[2])\""
             " 1 %s:key:%lld:probe cacheonlykey %lld:%lld",
             it_db_name(), atoll(gen), eid, aid);
    free(gen);
    free(it_redis_cli(&redis, cmd));
    r = it_post_events(&srv,
                       "{\"source\":\"probe\",\"id\":\"cacheonlykey\",\"type\":"
                       "\"ItCacheRead\",\"title\":\"t\"}",
                       200);
    item = json_array_get(json_object_get(r, "items"), 0);
    assert_true(json_is_true(json_object_get(item, "duplicate")));
    assert_int_equal(atoll(json_string_value(json_object_get(item, "event_id"))), eid);
    json_decref(r);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM events WHERE type = 'ItCacheRead'"), 0);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM ingest_keys WHERE client_id = 'cacheonlykey'"),
                     0);
}

static void test_redis_flushall_opens_no_second_alert(void **state)
{
    (void)state;
    post_n("ItFlush", 20);
    free(it_redis_cli(&redis, "flushall"));
    assert_int_equal(redis_open_keys(), 0);
    post_n("ItFlush", 20);
    assert_int_equal(alerts_of("ItFlush"), 1);
    assert_int_equal(counted("ItFlush"), 40);
    assert_true(redis_open_keys() >= 1); /* rebuilt from PostgreSQL as alerts are touched */
}

static void test_redis_stale_entry_is_caught(void **state)
{
    json_t *r;
    char path[96];
    struct it_resp resp;

    (void)state;
    r = it_post_events(&srv, "{\"source\":\"probe\",\"type\":\"ItStale\",\"title\":\"t\"}", 200);
    snprintf(path, sizeof(path), "/v1/alerts/%s/resolve",
             json_string_value(
                 json_object_get(json_array_get(json_object_get(r, "items"), 0), "alert_id")));
    json_decref(r);
    /* resolved through the API: the cache still names the alert as open */
    assert_int_equal(it_http(&srv, "POST", path, IT_ADMIN_TOKEN, NULL, NULL, 0, &resp), 0);
    assert_int_equal(resp.status, 200);
    it_resp_free(&resp);
    post_n("ItStale", 3);
    assert_int_equal(alerts_of("ItStale"), 2); /* the resolved one and a new one */
    assert_int_equal(it_sql_ll("SELECT count FROM alerts WHERE type = 'ItStale' AND status = "
                               "'firing'"),
                     3);
}

struct load {
    int stop; /* atomic */
    long acked;
    long failed;
};

static void *load_main(void *p)
{
    struct load *l = p;
    const char *batch =
        "[{\"source\":\"probe\",\"type\":\"ItRedisDown\",\"title\":\"a\"},"
        "{\"source\":\"probe\",\"type\":\"ItRedisDown\",\"title\":\"b\"},"
        "{\"id\":\"\",\"source\":\"probe\",\"type\":\"ItRedisDown2\",\"title\":\"c\"}]";
    char body[512];

    for (int i = 0; i < 20000 && !__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE); i++) {
        struct it_resp r;
        /* a unique idempotency key per request, so keys go through the cache too */
        snprintf(body, sizeof(body), "%.*s%d-%ld%s", (int)(strstr(batch, "\"\"") - batch + 1),
                 batch, i, (long)pthread_self() % 100000, strstr(batch, "\"\"") + 1);
        if (it_http(&srv, "POST", "/v1/events", IT_INGEST_TOKEN, "application/json", body,
                    strlen(body), &r) == 0 &&
            r.status == 200) {
            l->acked += 3;
        }
        else {
            l->failed++;
        }
        it_resp_free(&r);
    }
    return NULL;
}

static bool reached(void *arg)
{
    return counted("ItRedisDown") + counted("ItRedisDown2") >= *(long long *)arg;
}

static bool cache_back(void *arg)
{
    (void)arg;
    post_n("ItRedisBack", 1);
    return redis_open_keys() >= 1;
}

static void test_redis_killed_and_restarted(void **state)
{
    pthread_t th[4];
    struct load l[4];
    long acked = 0, failed = 0;
    long long mark;

    (void)state;
    for (int i = 0; i < 4; i++) {
        memset(&l[i], 0, sizeof(l[i]));
        pthread_create(&th[i], NULL, load_main, &l[i]);
    }
    mark = 150;
    assert_true(it_wait_until(reached, &mark, 30000));
    it_redis_kill(&redis); /* mid-run */
    mark = counted("ItRedisDown") + counted("ItRedisDown2") + 300;
    assert_true(it_wait_until(reached, &mark, 30000)); /* ingest goes on without Redis */
    it_redis_up(&redis);
    mark = counted("ItRedisDown") + counted("ItRedisDown2") + 300;
    assert_true(it_wait_until(reached, &mark, 30000));
    for (int i = 0; i < 4; i++) {
        __atomic_store_n(&l[i].stop, 1, __ATOMIC_RELEASE);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        acked += l[i].acked;
        failed += l[i].failed;
    }
    /* nothing refused, nothing lost, nothing counted twice */
    assert_int_equal(failed, 0);
    assert_int_equal(counted("ItRedisDown") + counted("ItRedisDown2"), acked);
    assert_int_equal(alerts_of("ItRedisDown"), 1);
    assert_int_equal(alerts_of("ItRedisDown2"), 1);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM ingest_keys WHERE client_id LIKE '%-%'"),
                     acked / 3);
    /* and the restarted Redis is used again (the writer retries it every second) */
    assert_true(it_wait_until(cache_back, NULL, 10000));
}

static bool duplicate_of(json_t *r)
{
    bool d =
        json_is_true(json_object_get(json_array_get(json_object_get(r, "items"), 0), "duplicate"));

    json_decref(r);
    return d;
}

/* PostgreSQL behind the cache - restored from a backup; here, a fresh
 * database under the same Redis prefix: an event id the cache remembers
 * from the other database is stored, not answered as a duplicate. */
static void test_redis_database_behind_the_cache(void **state)
{
    struct it_server other;
    const char *env[2] = {redis.env, NULL};
    const char *ev = "{\"id\":\"restore-1\",\"source\":\"probe\",\"type\":\"ItRestore\","
                     "\"title\":\"t\"}";
    char db[96], dsn[256];
    PGconn *c;
    PGresult *r;

    (void)state;
    assert_false(duplicate_of(it_post_events(&srv, ev, 200)));
    assert_true(duplicate_of(it_post_events(&srv, ev, 200)));
    snprintf(db, sizeof(db), "%s_restored", it_db_name());
    it_extra_db(db, false);
    snprintf(dsn, sizeof(dsn), "host=127.0.0.1 port=%d dbname=%s user=alertcenter", it_pg_port(),
             db);
    it_server_spawn(&other, dsn, env);
    it_server_wait_up(&other);
    assert_false(duplicate_of(it_post_events(&other, ev, 200)));
    assert_true(duplicate_of(it_post_events(&other, ev, 200))); /* and the cache works again */
    assert_int_equal(it_server_stop(&other), 0);
    c = PQconnectdb(dsn);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    r = PQexec(c, "SELECT count(*) FROM events WHERE client_id = 'restore-1'");
    assert_string_equal(PQgetvalue(r, 0, 0), "1");
    PQclear(r);
    PQfinish(c);
    it_extra_db(db, true);
    /* the first server goes on with its own database */
    assert_true(duplicate_of(it_post_events(&srv, ev, 200)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redis_cache_is_used),
        cmocka_unit_test(test_redis_cache_is_read),
        cmocka_unit_test(test_redis_flushall_opens_no_second_alert),
        cmocka_unit_test(test_redis_stale_entry_is_caught),
        cmocka_unit_test(test_redis_killed_and_restarted),
        cmocka_unit_test(test_redis_database_behind_the_cache),
    };
    int rc;

    it_init("redis");
    rc = cmocka_run_group_tests_name("integration_redis", tests, setup, teardown);
    it_fini();
    return rc;
}
