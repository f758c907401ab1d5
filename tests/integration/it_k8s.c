/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration tests of the Kubernetes Events watch against a local fake API
 * server that speaks the watch protocol (tests/helpers/fake_kube.py: list,
 * watch, bookmarks, 410 Expired, token check): Warning events become alerts
 * (app and tenant from the pod's labels and the namespace's annotations),
 * Normal ones do not; a grown count is a repeat occurrence; a bookmark's
 * version is persisted; a restart resumes from it without relisting and
 * misses nothing; an expired version relists and counts nothing twice.
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

#define KUBE_TOKEN "kube-test-token-0123456789"

static struct it_server srv;
static pid_t kube_pid;
static int kube_port;
static char config[1024], token_path[300];

static void kube_start(void)
{
    char port[16], line[64], script[512];
    char *argv[] = {"python3", script, port, KUBE_TOKEN, NULL};

    snprintf(script, sizeof(script), "%s/tests/helpers/fake_kube.py", AC_SOURCE_DIR);
    kube_port = it_free_port();
    snprintf(port, sizeof(port), "%d", kube_port);
    kube_pid = it_helper_start(argv, line, sizeof(line));
    assert_string_equal(line, "ready");
}

/* A request to the fake's control API; returns its answer (new). */
static json_t *control(const char *method, const char *path, const char *body)
{
    char cmd[4096], *out = NULL;
    json_t *j;

    snprintf(cmd, sizeof(cmd), "curl -sf -X %s http://127.0.0.1:%d%s %s%s%s", method, kube_port,
             path, body ? "--data-binary '" : "", body ? body : "", body ? "'" : "");
    if (it_run(cmd, &out) != 0) {
        fail_msg("%s: %s", cmd, out);
    }
    j = json_loads(out, 0, NULL);
    free(out);
    assert_non_null(j);
    return j;
}

static long long stat_of(const char *key)
{
    json_t *s = control("GET", "/_control/stats", NULL);
    long long v = json_integer_value(json_object_get(s, key));

    json_decref(s);
    return v;
}

static void event(const char *uid, const char *reason, const char *type, int count, const char *pod)
{
    char body[1024];

    snprintf(body, sizeof(body),
             "{\"kind\":\"Event\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"%s.1\","
             "\"namespace\":\"shop\",\"uid\":\"%s\"},\"involvedObject\":{\"kind\":\"Pod\","
             "\"namespace\":\"shop\",\"name\":\"%s\",\"uid\":\"pod-%s\"},\"reason\":\"%s\","
             "\"message\":\"Back-off restarting failed container\",\"type\":\"%s\",\"count\":%d,"
             "\"source\":{\"component\":\"kubelet\",\"host\":\"node-1\"},"
             "\"lastTimestamp\":\"2026-11-22T10:00:00Z\"}",
             pod, uid, pod, pod, reason, type, count);
    json_decref(control("POST", "/_control/event", body));
}

static void server_start(void)
{
    it_server_start_config(&srv, config, NULL);
}

static int setup(void **state)
{
    FILE *f;

    (void)state;
    kube_start();
    snprintf(token_path, sizeof(token_path), "%s/it-kube-token-%d",
             getenv("AC_TEST_TMP") ? getenv("AC_TEST_TMP") : "/tmp", (int)getpid());
    f = fopen(token_path, "w");
    assert_non_null(f);
    fputs(KUBE_TOKEN "\n", f);
    fclose(f);
    json_decref(control("POST", "/_control/pod",
                        "{\"namespace\":\"shop\",\"name\":\"cart-0\",\"labels\":{\"app\":"
                        "\"cart\"}}"));
    json_decref(control("POST", "/_control/namespace",
                        "{\"name\":\"shop\",\"annotations\":{\"tenant\":\"u-42\"}}"));
    event("ev-old", "ItK8sOld", "Warning", 1, "old-0"); /* before the first start */
    snprintf(config, sizeof(config),
             "{\"kubernetes\":{\"watch\":true,\"api_url\":\"http://127.0.0.1:%d\","
             "\"token_file\":\"%s\",\"timeout_s\":30,\"cluster\":\"it-cluster\","
             "\"rules\":[{\"reason\":\"ItK8sBackOff\",\"type\":\"ItK8sCrashLoop\","
             "\"level\":\"P2\"}],\"app_id_keys\":[\"app\"],\"user_id_keys\":[\"tenant\"]}}",
             kube_port, token_path);
    server_start();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(it_server_stop(&srv), 0);
    it_helper_stop(kube_pid);
    unlink(token_path);
    return 0;
}

static void test_watch_maps_warnings(void **state)
{
    (void)state;
    /* the first start listed what was there */
    assert_true(it_wait_sql(1, 20000, "SELECT count(*) FROM alerts WHERE type = 'ItK8sOld'"));
    assert_true(stat_of("lists") == 1);
    event("ev-1", "ItK8sBackOff", "Warning", 1, "cart-0");
    event("ev-2", "ItK8sPulled", "Normal", 1, "cart-0");
    assert_true(it_wait_sql(1, 20000,
                            "SELECT count(*) FROM alerts WHERE type = 'ItK8sCrashLoop'"
                            " AND level = 'P2' AND source = 'kubernetes' AND app_id = 'cart'"
                            " AND user_id = 'u-42' AND cluster = 'it-cluster'"
                            " AND namespace = 'shop' AND resource->>'kind' = 'Pod'"
                            " AND resource->>'name' = 'cart-0'"));
    /* the count grew: a repeat occurrence of the same alert */
    event("ev-1", "ItK8sBackOff", "Warning", 2, "cart-0");
    assert_true(it_wait_sql(2, 20000, "SELECT count FROM alerts WHERE type = 'ItK8sCrashLoop'"));
    /* the same count again (MODIFIED without growth): not counted */
    event("ev-1", "ItK8sBackOff", "Warning", 2, "cart-0");
    event("ev-3", "ItK8sMarker", "Warning", 1, "cart-0");
    assert_true(it_wait_sql(1, 20000, "SELECT count(*) FROM alerts WHERE type = 'ItK8sMarker'"));
    assert_int_equal(it_sql_ll("SELECT count FROM alerts WHERE type = 'ItK8sCrashLoop'"), 2);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM alerts WHERE type = 'ItK8sPulled'"), 0);
    assert_true(stat_of("unauthorized") == 0); /* the token went with every request */
}

static void test_bookmark_persisted_and_restart_resumes(void **state)
{
    long long rv;
    char sql[256];

    (void)state;
    json_decref(control("POST", "/_control/bookmark", NULL));
    rv = stat_of("rv");
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM k8s_watch WHERE scope = 'core/v1/events/*'"
             " AND resource_version = '%lld'",
             rv);
    assert_true(it_wait_sql(1, 10000, "%s", sql));
    /* down for a while; an event meanwhile; back: resumed, not relisted */
    assert_int_equal(it_server_stop(&srv), 0);
    event("ev-4", "ItK8sWhileDown", "Warning", 1, "cart-0");
    server_start();
    assert_true(it_wait_sql(1, 20000, "SELECT count(*) FROM alerts WHERE type = 'ItK8sWhileDown'"));
    assert_true(stat_of("lists") == 1);
    {
        json_t *s = control("GET", "/_control/stats", NULL);
        char want[32];
        snprintf(want, sizeof(want), "%lld", rv);
        assert_string_equal(json_string_value(json_object_get(s, "last_watch_rv")), want);
        json_decref(s);
    }
}

static void test_expired_relists_without_double_counting(void **state)
{
    (void)state;
    assert_int_equal(it_server_stop(&srv), 0);
    event("ev-5", "ItK8sAfterExpiry", "Warning", 1, "cart-0");
    json_decref(control("POST", "/_control/expire", NULL)); /* the saved version is too old */
    server_start();
    assert_true(
        it_wait_sql(1, 30000, "SELECT count(*) FROM alerts WHERE type = 'ItK8sAfterExpiry'"));
    assert_true(stat_of("lists") == 2);
    it_quiet_ms(1000);
    /* the relist brought every event again: each counted once all the same */
    assert_int_equal(it_sql_ll("SELECT count FROM alerts WHERE type = 'ItK8sCrashLoop'"), 2);
    assert_int_equal(it_sql_ll("SELECT count FROM alerts WHERE type = 'ItK8sOld'"), 1);
    assert_int_equal(it_sql_ll("SELECT count FROM alerts WHERE type = 'ItK8sWhileDown'"), 1);
    /* and the watch goes on from the list's version */
    event("ev-6", "ItK8sAfterRelist", "Warning", 1, "cart-0");
    assert_true(
        it_wait_sql(1, 20000, "SELECT count(*) FROM alerts WHERE type = 'ItK8sAfterRelist'"));
    assert_true(it_metric(&srv, "ac_k8s_relists_total") >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_watch_maps_warnings),
        cmocka_unit_test(test_bookmark_persisted_and_restart_resumes),
        cmocka_unit_test(test_expired_relists_without_double_counting),
    };
    int rc;

    it_init("k8s");
    rc = cmocka_run_group_tests_name("integration_k8s", tests, setup, teardown);
    it_fini();
    return rc;
}
