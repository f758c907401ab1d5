/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration tests of GET /v1/export/{events,alerts,audit} (issue 17):
 * 100,000 events streamed as NDJSON with the server's memory bounded, CSV
 * quoting, the audit log, bad parameters, and a client that leaves early.
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

#include "tests/integration/harness.h"

#define EX_EVENTS 100000
/* Clients that leave an export early, one after another: more than the
 * exports that may run at once, so a slot not given back shows. */
#define AC_TEST_EXPORT_LEAVERS 6
/* What the server may grow by while it streams ~100 MB: its stream buffer
 * (256 KiB), a fetched page (1,000 rows) and what the sanitizers keep. */
#define EX_RSS_BOUND_KB (32 * 1024)

static struct it_server srv;

static int setup(void **state)
{
    /* a small quarantine, so that ASan's hold on freed memory does not
     * count as the export's */
    static const char *const env[] = {
        "ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:quarantine_size_mb=4", NULL};

    (void)state;
    it_server_start(&srv, env);
    /* 100,000 events of ~1 KB, one app in a hundred each; a thousand of
     * them with a title that needs CSV quoting */
    assert_true(it_sql_ok(
        "INSERT INTO events (id, source, type, level, trace, status, fingerprint, occurred_at,"
        " received_at, app_id, doc) SELECT nextval('events_id_seq'), 'probe', 'ItExport', 'P3',"
        " 'runtime', 'firing', 'fp' || g, now(), now(), 'a' || (g % 100), json_build_object("
        "'source', 'probe', 'type', 'ItExport', 'level', 'P3', 'status', 'firing', 'title',"
        " CASE WHEN g % 100 = 7 THEN 'disk \"full\", again' ELSE 'export ' || g END, 'app_id',"
        " 'a' || (g % 100), 'description', repeat('x', 900)) FROM generate_series(1, 100000) g"));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(it_server_stop(&srv), 0);
    return 0;
}

/* A kB figure of /proc/<pid>/status ("VmRSS:", "VmHWM:"). */
static long proc_kb(pid_t pid, const char *field)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, field, strlen(field)) == 0) {
            kb = strtol(line + strlen(field), NULL, 10);
        }
    }
    fclose(f);
    return kb;
}

/* Runs curl on an export path; its output's line count and byte count. */
static void export_counts(const char *path, long long *lines, long long *bytes)
{
    char cmd[512], *out = NULL;

    snprintf(cmd, sizeof(cmd),
             "curl -fsS --max-time 120 -H 'Authorization: Bearer %s' 'http://127.0.0.1:%d%s' |"
             " wc -lc",
             IT_READ_TOKEN, srv.port, path);
    assert_int_equal(it_run(cmd, &out), 0);
    assert_int_equal(sscanf(out, "%lld %lld", lines, bytes), 2);
    free(out);
}

static void test_export_100k_events_bounded_memory(void **state)
{
    long long lines = 0, bytes = 0;
    long rss0, hwm1;
    char cmd[512], *out = NULL;

    (void)state;
    /* warm: the first export's one-time allocations are not its size */
    export_counts("/v1/export/events?app_id=a1", &lines, &bytes);
    assert_int_equal(lines, EX_EVENTS / 100);
    rss0 = proc_kb(srv.pid, "VmRSS:");
    export_counts("/v1/export/events?type=ItExport", &lines, &bytes);
    hwm1 = proc_kb(srv.pid, "VmHWM:");
    assert_int_equal(lines, EX_EVENTS);
    assert_true(bytes > 100LL * 1000 * 1000); /* ~1 KB each: far more than the bound */
    printf("# export: %lld rows, %.1f MB; server RSS before %ld kB, peak after %ld kB"
           " (+%ld kB, bound %d kB)\n",
           lines, (double)bytes / 1e6, rss0, hwm1, hwm1 - rss0, EX_RSS_BOUND_KB);
    assert_true(hwm1 - rss0 < EX_RSS_BOUND_KB);
    /* every line is one event, newest first */
    snprintf(cmd, sizeof(cmd),
             "curl -fsS -H 'Authorization: Bearer %s' 'http://127.0.0.1:%d/v1/export/events?"
             "app_id=a3' | head -n 2",
             IT_READ_TOKEN, srv.port);
    assert_int_equal(it_run(cmd, &out), 0);
    {
        char *nl = strchr(out, '\n');
        json_t *a, *b;
        assert_non_null(nl);
        a = json_loadb(out, (size_t)(nl - out), 0, NULL);
        b = json_loads(nl + 1, JSON_DISABLE_EOF_CHECK, NULL);
        assert_non_null(a);
        assert_non_null(b);
        assert_string_equal(json_string_value(json_object_get(a, "app_id")), "a3");
        assert_true(atoll(json_string_value(json_object_get(a, "event_id"))) >
                    atoll(json_string_value(json_object_get(b, "event_id"))));
        json_decref(a);
        json_decref(b);
    }
    free(out);
}

static void test_export_csv_and_audit(void **state)
{
    long long lines = 0, bytes = 0, audit;
    char cmd[512], *out = NULL;

    (void)state;
    export_counts("/v1/export/events?app_id=a7&format=csv", &lines, &bytes);
    assert_int_equal(lines, EX_EVENTS / 100 + 1); /* and the header */
    snprintf(cmd, sizeof(cmd),
             "curl -fsS -D - -H 'Authorization: Bearer %s' 'http://127.0.0.1:%d/v1/export/events?"
             "app_id=a7&format=csv' | head -n 12",
             IT_READ_TOKEN, srv.port);
    assert_int_equal(it_run(cmd, &out), 0);
    assert_non_null(strstr(out, "Content-Type: text/csv"));
    assert_non_null(strstr(out, "attachment; filename=\"events.csv\""));
    assert_non_null(strstr(out, "\r\nevent_id,received_at,occurred_at,source,type,"));
    assert_non_null(strstr(out, ",\"disk \"\"full\"\", again\","));
    free(out);

    audit = it_sql_ll("SELECT count(*) FROM audit_log");
    export_counts("/v1/export/audit", &lines, &bytes);
    assert_int_equal(lines, audit);
}

static void expect_status(const char *path, long want)
{
    struct it_resp r;

    assert_int_equal(it_http(&srv, "GET", path, IT_READ_TOKEN, NULL, NULL, 0, &r), 0);
    if (r.status != want) {
        fail_msg("%s: %ld", path, r.status);
    }
    it_resp_free(&r);
}

static void test_export_refusals_and_early_leave(void **state)
{
    char cmd[512];
    long long lines, bytes;

    (void)state;
    expect_status("/v1/export/events?format=xml", 400);
    expect_status("/v1/export/events?limit=5", 400);
    expect_status("/v1/export/events?type=%ff", 400);
    expect_status("/v1/export/incidents", 404);
    {
        struct it_resp r;
        assert_int_equal(
            it_http(&srv, "GET", "/v1/export/events", IT_INGEST_TOKEN, NULL, NULL, 0, &r), 0);
        assert_int_equal(r.status, 403);
        it_resp_free(&r);
    }
    /* clients that read a little and leave, one after another: the server
     * cuts each export short and frees its slot */
    for (int i = 0; i < AC_TEST_EXPORT_LEAVERS; i++) {
        snprintf(cmd, sizeof(cmd),
                 "curl -sS -H 'Authorization: Bearer %s' 'http://127.0.0.1:%d/v1/export/events'"
                 " | head -c 100000 > /dev/null",
                 IT_READ_TOKEN, srv.port);
        (void)it_run(cmd, NULL);
    }
    export_counts("/v1/export/events?app_id=a9", &lines, &bytes);
    assert_int_equal(lines, EX_EVENTS / 100);
    expect_status("/healthz", 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_export_100k_events_bounded_memory),
        cmocka_unit_test(test_export_csv_and_audit),
        cmocka_unit_test(test_export_refusals_and_early_leave),
    };
    int rc;

    it_init("export");
    rc = cmocka_run_group_tests_name("integration_export", tests, setup, teardown);
    it_fini();
    return rc;
}
