/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The web console in a real browser: seeds a server (an on-call team, 60
 * incidents of every level, 10,000 open alerts, a title with markup), then
 * runs tests/browser/console.mjs - Debian's chromium, headless, driven by
 * playwright-core - which signs in, compares the counts per level it sees
 * with the API's lists, pages, watches a new P1 incident arrive without a
 * reload, acknowledges it, silences an alert from its labels and ends the
 * silence, visits escalation, on call, MTTx charts and the audit log, and
 * saves a screenshot per view (console-screenshots/ beside the test, or
 * AC_SCREENSHOTS). Here: the script passed, and the database agrees with
 * what it did. Also the console's own routes: no token needed, the CSP and
 * security headers, an ETag answered with 304, unknown files 404.
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
#include <unistd.h>

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
    assert_int_equal(it_server_stop(&srv), 0);
    return 0;
}

static void test_console_routes(void **state)
{
    struct it_resp r;
    char *csp, *etag, hdr[128];

    (void)state;
    assert_int_equal(it_http(&srv, "GET", "/", NULL, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "<script src=\"/ui/app.js\" defer></script>"));
    assert_null(strstr(r.body, "<script>")); /* nothing inline */
    csp = it_resp_header(&r, "Content-Security-Policy");
    assert_non_null(csp);
    assert_non_null(strstr(csp, "default-src 'none'"));
    assert_non_null(strstr(csp, "script-src 'self'"));
    assert_non_null(strstr(csp, "frame-ancestors 'none'"));
    assert_null(strstr(csp, "unsafe"));
    free(csp);
    csp = it_resp_header(&r, "X-Content-Type-Options");
    assert_string_equal(csp, "nosniff");
    free(csp);
    it_resp_free(&r);

    assert_int_equal(it_http(&srv, "GET", "/ui/app.js", NULL, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "sessionStorage"));
    etag = it_resp_header(&r, "ETag");
    assert_non_null(etag);
    it_resp_free(&r);
    /* the same again with its ETag: 304, no body */
    snprintf(hdr, sizeof(hdr), "If-None-Match: %s", etag);
    {
        char cmd[512], *out = NULL;
        snprintf(cmd, sizeof(cmd),
                 "curl -s -o /dev/null -w '%%{http_code}' -H '%s' http://127.0.0.1:%d/ui/app.js",
                 hdr, srv.port);
        assert_int_equal(it_run(cmd, &out), 0);
        assert_string_equal(out, "304");
        free(out);
        /* an API list the same way (the console's polling) */
        snprintf(cmd, sizeof(cmd),
                 "e=$(curl -s -D - -o /dev/null -H 'Authorization: Bearer %s' "
                 "http://127.0.0.1:%d/v1/incidents | tr -d '\\r' | sed -n 's/^ETag: //Ip'); "
                 "curl -s -o /dev/null -w '%%{http_code}' -H \"If-None-Match: $e\" -H "
                 "'Authorization: Bearer %s' http://127.0.0.1:%d/v1/incidents",
                 IT_ADMIN_TOKEN, srv.port, IT_ADMIN_TOKEN, srv.port);
        assert_int_equal(it_run(cmd, &out), 0);
        assert_string_equal(out, "304");
        free(out);
    }
    free(etag);
    assert_int_equal(it_http(&srv, "GET", "/ui/secret.txt", NULL, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 404);
    it_resp_free(&r);
    assert_int_equal(it_http(&srv, "GET", "/ui/app.css", NULL, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    it_resp_free(&r);
}

/* An on-call team, 60 incidents of every level, 10,000 open alerts of ten
 * types (in batches of 1,000: the body limit), a title with markup. */
static void seed(void)
{
    char body[512], *ann, *bob, *sched, *team;
    struct it_buf {
        char *p;
        size_t n;
    } b = {NULL, 0};
    FILE *f;

    ann = it_create(&srv, "/v1/contacts", "{\"name\":\"console-ann\"}");
    bob = it_create(&srv, "/v1/contacts", "{\"name\":\"console-bob\"}");
    snprintf(body, sizeof(body),
             "{\"name\":\"console-primary\",\"layers\":[{\"name\":\"d\",\"start\":"
             "\"2026-01-01T00:00:00Z\",\"rotation\":\"daily\",\"members\":[\"%s\",\"%s\"]}]}",
             ann, bob);
    sched = it_create(&srv, "/v1/schedules", body);
    snprintf(body, sizeof(body),
             "{\"name\":\"console-sre\",\"default\":true,\"lead\":\"%s\",\"chain\":[{\"targets\":"
             "[{\"schedule\":\"%s\"}]},{\"targets\":[{\"lead\":true}]}]}",
             bob, sched);
    team = it_create(&srv, "/v1/teams", body);
    free(ann);
    free(bob);
    free(sched);
    free(team);

    f = open_memstream(&b.p, &b.n);
    fputs("[", f);
    for (int i = 0; i < 60; i++) {
        fprintf(f,
                "%s{\"source\":\"probe\",\"type\":\"ConsoleT%02d\",\"level\":\"P%d\",\"title\":"
                "\"service %02d degraded\",\"app_id\":\"svc-%02d\"}",
                i ? "," : "", i, 1 + i % 4, i, i);
    }
    fputs(",{\"source\":\"probe\",\"type\":\"ConsoleHostile\",\"title\":\"<img src=x "
          "onerror=alert(1)>\"}]",
          f);
    fclose(f);
    json_decref(it_post_events(&srv, b.p, 200));
    free(b.p);
    for (int batch = 0; batch < 10; batch++) {
        f = open_memstream(&b.p, &b.n);
        fputs("[", f);
        for (int i = 0; i < 1000; i++) {
            int n = batch * 1000 + i;
            fprintf(f,
                    "%s{\"source\":\"probe\",\"type\":\"ConsoleLoad%d\",\"title\":\"load %05d\","
                    "\"instance\":\"node-%05d\"}",
                    i ? "," : "", n % 10, n, n);
        }
        fputs("]", f);
        fclose(f);
        json_decref(it_post_events(&srv, b.p, 200));
        free(b.p);
    }
}

static void test_console_in_chromium(void **state)
{
    char cmd[2048], *out = NULL, dir[512];
    const char *shots = getenv("AC_SCREENSHOTS");
    int rc;

    (void)state;
    seed();
    if (!shots) {
        assert_non_null(getcwd(dir, sizeof(dir) - 32));
        strcat(dir, "/console-screenshots");
        shots = dir;
    }
    snprintf(cmd, sizeof(cmd),
             "cd %s/tests/browser && AC_CONSOLE_URL=http://127.0.0.1:%d AC_CONSOLE_TOKEN=%s "
             "AC_SCREENSHOTS=%s timeout 240 node console.mjs",
             AC_SOURCE_DIR, srv.port, IT_ADMIN_TOKEN, shots);
    rc = it_run(cmd, &out);
    printf("%s", out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "checks passed"));
    free(out);
    /* what the browser did, as the database has it */
    assert_int_equal(it_sql_ll("SELECT count(*) FROM incidents WHERE type = 'ConsoleLiveP1' AND"
                               " status = 'acknowledged'"),
                     1);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM audit_log WHERE action = 'incident.ack' AND"
                               " actor = 'token:admin' AND details->>'comment' = 'from the"
                               " console'"),
                     1);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM silences WHERE comment = 'browser test' AND"
                               " expired_at IS NOT NULL"),
                     1);
    /* a screenshot per view */
    static const char *const views[] = {"incidents",  "alerts", "incident", "silences",
                                        "escalation", "oncall", "stats",    "audit"};
    for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++) {
        snprintf(cmd, sizeof(cmd), "test -s %s/%s.png", shots, views[i]);
        assert_int_equal(it_run(cmd, NULL), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_console_routes),
        cmocka_unit_test(test_console_in_chromium),
    };
    int rc;

    it_init("console");
    rc = cmocka_run_group_tests_name("integration_console", tests, setup, teardown);
    it_fini();
    return rc;
}
