/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration tests of probe heartbeats: a failing check raises its type and
 * folds while it fails, a passing one resolves it; a silent instance raises
 * ProbeHeartbeatLost once (two servers running) and its next heartbeat
 * resolves it; exits raise or resolve InstanceExited and stop the lost
 * watch; only the latest heartbeat is kept, listed by app with paging; a
 * bad body records nothing.
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
#include <time.h>

#include "tests/integration/harness.h"

#define HB_CONFIG "{\"heartbeats\":{\"lost_after_intervals\":2,\"sweep_ms\":100}}"

static struct it_server srv;

static int setup(void **state)
{
    (void)state;
    it_server_start_config(&srv, HB_CONFIG, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(it_server_stop(&srv), 0);
    return 0;
}

static json_t *beat(const char *body, long want)
{
    json_t *r = NULL;

    assert_int_equal(
        it_call(&srv, "POST", "/v1/heartbeats", IT_INGEST_TOKEN, "application/json", body, &r),
        want);
    return r;
}

static void test_failing_check_raises_and_recovers(void **state)
{
    json_t *r;

    (void)state;
    r = beat("{\"instance\":\"hb-web-0\",\"app_id\":\"hb-shop\",\"interval_s\":60,"
             "\"probe_version\":\"1.4.2\",\"checks\":[{\"name\":\"network\",\"code\":3,\"message\":"
             "\"dns timeout\"},{\"name\":\"time_zone\",\"code\":0}]}",
             200);
    assert_string_equal(
        json_string_value(json_array_get(
            json_object_get(json_array_get(json_object_get(r, "items"), 0), "raised"), 0)),
        "ProbeNetworkUnreachable");
    json_decref(r);
    json_decref(beat("{\"instance\":\"hb-web-0\",\"app_id\":\"hb-shop\",\"interval_s\":60,"
                     "\"checks\":[{\"name\":\"network\",\"code\":3}]}",
                     200));
    assert_int_equal(it_sql_ll("SELECT count FROM alerts WHERE type = 'ProbeNetworkUnreachable'"
                               " AND instance = 'hb-web-0' AND app_id = 'hb-shop'"
                               " AND status = 'firing' AND source = 'probe'"),
                     2);
    /* the check passes: resolved */
    r = beat("{\"instance\":\"hb-web-0\",\"app_id\":\"hb-shop\",\"interval_s\":60,"
             "\"checks\":[{\"name\":\"network\",\"code\":0}]}",
             200);
    assert_string_equal(
        json_string_value(json_array_get(
            json_object_get(json_array_get(json_object_get(r, "items"), 0), "resolved"), 0)),
        "ProbeNetworkUnreachable");
    json_decref(r);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM alerts WHERE type = 'ProbeNetworkUnreachable'"
                               " AND instance = 'hb-web-0' AND status = 'resolved'"),
                     1);
    /* one row for the instance, the latest heartbeat */
    assert_int_equal(it_sql_ll("SELECT count(*) FROM heartbeats WHERE instance = 'hb-web-0'"
                               " AND failing = '{}' AND probe_version IS NULL"),
                     1);
}

static void test_lost_once_with_two_servers_and_back(void **state)
{
    struct it_server second;
    json_t *r;

    (void)state;
    it_server_start_config(&second, HB_CONFIG, NULL);
    json_decref(beat("{\"instance\":\"hb-lost-1\",\"app_id\":\"hb-shop\",\"interval_s\":1}", 200));
    /* silent for 2 intervals: raised by whichever server sweeps, once */
    assert_true(it_wait_sql(1, 10000,
                            "SELECT count(*) FROM alerts WHERE type = 'ProbeHeartbeatLost'"
                            " AND instance = 'hb-lost-1' AND status = 'firing'"));
    it_quiet_ms(1500); /* more sweeps of both servers: still one occurrence */
    assert_int_equal(it_sql_ll("SELECT count FROM alerts WHERE type = 'ProbeHeartbeatLost'"
                               " AND instance = 'hb-lost-1'"),
                     1);
    r = it_get(&srv, "/v1/heartbeats?instance=hb-lost-1");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(r, "items"), 0), "state")),
        "lost");
    json_decref(r);
    /* it is back: resolved */
    json_decref(beat("{\"instance\":\"hb-lost-1\",\"app_id\":\"hb-shop\",\"interval_s\":60}", 200));
    assert_int_equal(it_sql_ll("SELECT count(*) FROM alerts WHERE type = 'ProbeHeartbeatLost'"
                               " AND instance = 'hb-lost-1' AND status = 'resolved'"),
                     1);
    assert_int_equal(it_server_stop(&second), 0);
}

/* Our own downtime is no probe's: after a restart longer than the probes'
 * windows, detection counts from the moment we are back - the probe that
 * beats again is never lost, the one that stays silent is, a window later. */
static void test_restart_does_not_lose_healthy_probes(void **state)
{
    (void)state;
    json_decref(beat("{\"instance\":\"hb-down-ok\",\"app_id\":\"hb-shop\",\"interval_s\":2}", 200));
    json_decref(
        beat("{\"instance\":\"hb-down-gone\",\"app_id\":\"hb-shop\",\"interval_s\":2}", 200));
    assert_int_equal(it_server_stop(&srv), 0);
    it_quiet_ms(8000); /* down for twice the probes' window (2 x 2 s) */
    it_server_start_config(&srv, HB_CONFIG, NULL);
    it_quiet_ms(1500);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM alerts WHERE type = 'ProbeHeartbeatLost'"
                               " AND instance LIKE 'hb-down-%'"),
                     0);
    json_decref(beat("{\"instance\":\"hb-down-ok\",\"app_id\":\"hb-shop\",\"interval_s\":2}", 200));
    /* the silent one is lost a window after the restart; the other is not */
    assert_true(it_wait_sql(1, 10000,
                            "SELECT count(*) FROM alerts WHERE type = 'ProbeHeartbeatLost'"
                            " AND instance = 'hb-down-gone' AND status = 'firing'"));
    assert_int_equal(it_sql_ll("SELECT count(*) FROM alerts WHERE type = 'ProbeHeartbeatLost'"
                               " AND instance = 'hb-down-ok'"),
                     0);
    json_decref(
        beat("{\"instance\":\"hb-down-ok\",\"app_id\":\"hb-shop\",\"interval_s\":60}", 200));
}

static void test_exits(void **state)
{
    (void)state;
    json_decref(
        beat("{\"instance\":\"hb-exit-1\",\"interval_s\":1,\"checks\":[{\"name\":"
             "\"container\",\"code\":137}],\"exit\":{\"code\":137,\"reason\":\"OOMKilled\"}}",
             200));
    assert_int_equal(it_sql_ll("SELECT count(*) FROM alerts WHERE type = 'InstanceExited'"
                               " AND instance = 'hb-exit-1' AND status = 'firing'"),
                     1);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM alerts WHERE type = 'ContainerExited'"
                               " AND instance = 'hb-exit-1' AND status = 'firing'"),
                     1);
    json_decref(beat("{\"instance\":\"hb-exit-2\",\"interval_s\":1,\"exit\":{\"code\":0}}", 200));
    it_quiet_ms(3000); /* past 2 intervals: an exited instance is not lost */
    assert_int_equal(it_sql_ll("SELECT count(*) FROM alerts WHERE type = 'ProbeHeartbeatLost'"
                               " AND instance IN ('hb-exit-1', 'hb-exit-2')"),
                     0);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM alerts WHERE instance = 'hb-exit-2'"), 0);
    /* the instance comes back: InstanceExited and its container check resolve */
    json_decref(beat("{\"instance\":\"hb-exit-1\",\"interval_s\":60,\"checks\":[{\"name\":"
                     "\"container\",\"code\":0}]}",
                     200));
    assert_int_equal(it_sql_ll("SELECT count(*) FROM alerts WHERE instance = 'hb-exit-1'"
                               " AND status = 'resolved'"),
                     2);
}

static void test_list_and_refusals(void **state)
{
    json_t *r;
    const char *cursor;
    char path[256];
    long before = (long)it_sql_ll("SELECT count(*) FROM heartbeats");

    (void)state;
    json_decref(beat("[{\"instance\":\"hb-list-a\",\"app_id\":\"hb-list\",\"interval_s\":60},"
                     "{\"instance\":\"hb-list-b\",\"app_id\":\"hb-list\",\"interval_s\":60,"
                     "\"checks\":[{\"name\":\"storage_mount\",\"code\":5}]}]",
                     200));
    r = it_get(&srv, "/v1/heartbeats?app_id=hb-list&limit=1");
    assert_int_equal(json_array_size(json_object_get(r, "items")), 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(r, "items"), 0), "instance")),
                        "hb-list-a");
    cursor = json_string_value(json_object_get(r, "next_cursor"));
    assert_non_null(cursor);
    snprintf(path, sizeof(path), "/v1/heartbeats?app_id=hb-list&limit=1&cursor=%s", cursor);
    json_decref(r);
    r = it_get(&srv, path);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(r, "items"), 0), "state")),
        "failing");
    assert_true(json_is_null(json_object_get(r, "next_cursor")));
    json_decref(r);
    /* one bad heartbeat: nothing of the body recorded */
    r = beat("[{\"instance\":\"hb-bad-a\",\"interval_s\":60},{\"instance\":\"hb-bad-b\"}]", 400);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "error"), "code")),
                        "invalid_heartbeat");
    json_decref(r);
    assert_int_equal((long)it_sql_ll("SELECT count(*) FROM heartbeats"), before + 2);
    assert_int_equal(
        it_call(&srv, "GET", "/v1/heartbeats?colour=red", IT_READ_TOKEN, NULL, NULL, &r), 400);
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failing_check_raises_and_recovers),
        cmocka_unit_test(test_lost_once_with_two_servers_and_back),
        cmocka_unit_test(test_restart_does_not_lose_healthy_probes),
        cmocka_unit_test(test_exits),
        cmocka_unit_test(test_list_and_refusals),
    };
    int rc;

    it_init("heartbeat");
    rc = cmocka_run_group_tests_name("integration_heartbeat", tests, setup, teardown);
    it_fini();
    return rc;
}
