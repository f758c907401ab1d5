/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration tests of Alertmanager's API v2 read and silence side
 * (server/api_am.c), driven by the real amtool from Debian's
 * prometheus-alertmanager package with a bearer token in its
 * --http.config.file: alert query (labels, matchers, silenced and
 * inhibited flags), silence add / query / expire, and what they leave in
 * the alert center's own silences and audit log; then the routes directly:
 * filters refused with a JSON error, a silence made for one alert shown as
 * __alert_id__ and made again from it, a replace by id, scopes.
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

static struct it_server srv;
static char admin_cfg[512], read_cfg[512];

static void write_http_config(char *path, size_t len, const char *name, const char *token)
{
    char text[256];

    snprintf(path, len, "%s/amtool-%s-%d.yml", getenv("AC_TEST_TMP") ?: "/tmp", name, srv.port);
    snprintf(text, sizeof(text), "authorization:\n  type: Bearer\n  credentials: %s\n", token);
    it_write_file(path, text);
}

static int setup(void **state)
{
    (void)state;
    it_server_start(&srv, NULL);
    write_http_config(admin_cfg, sizeof(admin_cfg), "admin", IT_ADMIN_TOKEN);
    write_http_config(read_cfg, sizeof(read_cfg), "read", IT_READ_TOKEN);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(it_server_stop(&srv), 0);
    return 0;
}

/* Runs amtool with args against the server as the token of cfg; its exit
 * status, and its standard output in *out (new) when out is not NULL. */
static int amtool(const char *cfg, const char *args, char **out)
{
    char cmd[2048];

    snprintf(cmd, sizeof(cmd),
             "(amtool --alertmanager.url=http://127.0.0.1:%d --http.config.file=%s %s 2>/dev/null)",
             srv.port, cfg, args);
    return it_run(cmd, out);
}

/* amtool -o json ... parsed (new); asserts it ran. */
static json_t *amtool_json(const char *args)
{
    char full[512], *out = NULL;
    json_t *j;

    snprintf(full, sizeof(full), "-o json %s", args);
    if (amtool(admin_cfg, full, &out) != 0) {
        fail_msg("amtool %s failed: %s", args, out ? out : "");
    }
    j = json_loads(out, 0, NULL);
    if (!j) {
        fail_msg("amtool %s printed no JSON: %s", args, out);
    }
    free(out);
    return j;
}

/* The alertnames of amtool's alert list, sorted, joined by commas (new). */
static char *names_of(const json_t *alerts)
{
    char *names[64];
    size_t n = 0, i;
    json_t *a;
    char *out = calloc(1, 1024);

    json_array_foreach(alerts, i, a)
    {
        if (n < 64) {
            names[n++] = (char *)json_string_value(
                json_object_get(json_object_get(a, "labels"), "alertname"));
        }
    }
    for (size_t x = 0; x < n; x++) { /* sort: few */
        for (size_t y = x + 1; y < n; y++) {
            if (strcmp(names[y], names[x]) < 0) {
                char *t = names[x];
                names[x] = names[y];
                names[y] = t;
            }
        }
    }
    for (i = 0; i < n; i++) {
        strcat(out, i ? "," : "");
        strcat(out, names[i]);
    }
    return out;
}

static const json_t *alert_named(const json_t *alerts, const char *name)
{
    size_t i;
    json_t *a;

    json_array_foreach(alerts, i, a)
    {
        if (strcmp(json_string_value(json_object_get(json_object_get(a, "labels"), "alertname")),
                   name) == 0) {
            return a;
        }
    }
    return NULL;
}

static void seed(void)
{
    json_t *r = NULL;

    assert_int_equal(
        it_req_as(&srv, "POST", "/api/v2/alerts", IT_INGEST_TOKEN,
                  "[{\"labels\":{\"alertname\":\"AmtDiskFull\",\"severity\":\"critical\","
                  "\"team\":\"sre\",\"instance\":\"db-1\"},\"annotations\":{\"summary\":\"disk "
                  "full on db-1\",\"description\":\"95% used\"},\"generatorURL\":"
                  "\"http://prom:9090/graph?g0.expr=x\"},"
                  "{\"labels\":{\"alertname\":\"AmtLatency\",\"team\":\"web\"}}]",
                  &r),
        200);
    json_decref(r);
    json_decref(
        it_post_events(&srv,
                       "{\"source\":\"probe\",\"type\":\"AmtPodNotReady\",\"title\":\"pod "
                       "web-0 not ready\",\"app_id\":\"shop\",\"labels\":{\"team\":\"web\"}}",
                       200));
}

static void test_amtool_alert_query(void **state)
{
    json_t *all, *sre, *web;
    const json_t *disk, *pod;
    char *names, *out = NULL;

    (void)state;
    seed();
    all = amtool_json("alert query");
    names = names_of(all);
    assert_string_equal(names, "AmtDiskFull,AmtLatency,AmtPodNotReady");
    free(names);
    disk = alert_named(all, "AmtDiskFull");
    /* labels as sent, with the event model's fields; annotations from the
     * title and message; where it came from */
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(disk, "labels"), "severity")),
        "critical");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(disk, "labels"), "level")), "P1");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(disk, "annotations"), "description")),
        "95% used");
    assert_string_equal(json_string_value(json_object_get(disk, "generatorURL")),
                        "http://prom:9090/graph?g0.expr=x");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(disk, "status"), "state")), "active");
    pod = alert_named(all, "AmtPodNotReady");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(pod, "labels"), "app_id")), "shop");
    json_decref(all);

    /* matchers: on labels and on fields, regex too */
    sre = amtool_json("alert query team=sre");
    names = names_of(sre);
    assert_string_equal(names, "AmtDiskFull");
    free(names);
    json_decref(sre);
    web = amtool_json("alert query 'team=~\"w.b\"' 'alertname!=AmtLatency'");
    names = names_of(web);
    assert_string_equal(names, "AmtPodNotReady");
    free(names);
    json_decref(web);

    /* the simple table a person reads */
    assert_int_equal(amtool(read_cfg, "alert query app_id=shop", &out), 0);
    assert_non_null(strstr(out, "AmtPodNotReady"));
    assert_non_null(strstr(out, "pod web-0 not ready"));
    assert_null(strstr(out, "AmtDiskFull"));
    free(out);
}

static void test_amtool_silences(void **state)
{
    char *out = NULL, *id, args[256];
    json_t *alerts, *sil, *r = NULL;
    long long before;

    (void)state;
    /* a read-only token cannot silence: amtool fails and nothing is stored */
    before = it_sql_ll("SELECT count(*) FROM silences");
    assert_int_not_equal(
        amtool(read_cfg, "silence add alertname=AmtDiskFull -c 'disk swap' -a alice -d 2h", NULL),
        0);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM silences"), before);

    assert_int_equal(amtool(admin_cfg,
                            "silence add alertname=AmtDiskFull 'instance=~\"db-.*\"' -c 'disk "
                            "swap' -a alice -d 2h",
                            &out),
                     0);
    id = strdup(strtok(out, "\r\n"));
    free(out);
    /* the alert center's own silence, audited under the person amtool named */
    assert_int_equal(
        it_sql_llf("SELECT count(*) FROM silences WHERE id = %s AND expired_at IS NULL AND"
                   " matchers @> '[{\"name\":\"type\",\"op\":\"=\",\"value\":\"AmtDiskFull\"},"
                   "{\"name\":\"instance\",\"op\":\"=~\",\"value\":\"db-.*\"}]' AND comment ="
                   " 'disk swap' AND ends_at BETWEEN now() + interval '119 minutes' AND now() +"
                   " interval '121 minutes'",
                   id),
        1);
    assert_int_equal(it_sql_llf("SELECT count(*) FROM audit_log WHERE action = 'silence.create'"
                                " AND target_id = '%s' AND actor = 'user:alice'",
                                id),
                     1);

    /* amtool sees it, the alert is silenced (hidden by default, shown with
     * --silenced) */
    sil = amtool_json("silence query");
    assert_int_equal(json_array_size(sil), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(sil, 0), "createdBy")),
                        "alice");
    json_decref(sil);
    sil = amtool_json("silence query alertname=AmtLatency");
    assert_int_equal(json_array_size(sil), 0);
    json_decref(sil);
    assert_int_equal(amtool(admin_cfg, "silence query -q alertname=AmtDiskFull", &out), 0);
    assert_string_equal(strtok(out, "\r\n"), id);
    free(out);
    alerts = amtool_json("alert query");
    assert_null(alert_named(alerts, "AmtDiskFull"));
    assert_non_null(alert_named(alerts, "AmtLatency"));
    json_decref(alerts);
    alerts = amtool_json("alert query --silenced");
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(alert_named(alerts, "AmtDiskFull"), "status"), "state")),
        "suppressed");
    assert_string_equal(
        json_string_value(json_array_get(
            json_object_get(json_object_get(alert_named(alerts, "AmtDiskFull"), "status"),
                            "silencedBy"),
            0)),
        id);
    json_decref(alerts);

    /* expire: the silence ends (kept for the record), the alert shows again */
    snprintf(args, sizeof(args), "silence expire %s", id);
    assert_int_equal(amtool(admin_cfg, args, NULL), 0);
    assert_int_equal(it_sql_llf("SELECT count(*) FROM silences WHERE id = %s AND expired_at IS NOT"
                                " NULL",
                                id),
                     1);
    sil = amtool_json("silence query");
    assert_int_equal(json_array_size(sil), 0);
    json_decref(sil);
    sil = amtool_json("silence query --expired");
    assert_int_equal(json_array_size(sil), 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(sil, 0), "status"), "state")),
                        "expired");
    json_decref(sil);
    alerts = amtool_json("alert query");
    assert_non_null(alert_named(alerts, "AmtDiskFull"));
    json_decref(alerts);
    /* a second expire: 404 */
    snprintf(args, sizeof(args), "/api/v2/silence/%s", id);
    assert_int_equal(it_req(&srv, "DELETE", args, NULL, &r), 404);
    json_decref(r);
    free(id);
}

static void test_am_routes_directly(void **state)
{
    json_t *r = NULL, *a;
    char path[512], *sid, *alert_id;
    long long before;

    (void)state;
    /* bad filters and flags: a JSON error naming the parameter */
    assert_int_equal(it_req(&srv, "GET", "/api/v2/alerts?filter=team%3D%3Dx", NULL, &r), 400);
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(json_object_get(r, "error"), "details"), 0), "path")),
        "filter");
    json_decref(r);
    assert_int_equal(it_req(&srv, "GET", "/api/v2/alerts?active=maybe", NULL, &r), 400);
    json_decref(r);
    assert_int_equal(it_req(&srv, "GET", "/api/v2/alerts?filter=a%3D~%22(%22", NULL, &r), 400);
    json_decref(r);
    assert_int_equal(it_req(&srv, "GET", "/api/v2/alerts?bogus=1", NULL, &r), 400);
    json_decref(r);
    /* active=false&silenced=false: nothing is silenced now, so nothing */
    assert_int_equal(it_req(&srv, "GET", "/api/v2/alerts?active=false", NULL, &r), 200);
    assert_int_equal(json_array_size(r), 0);
    json_decref(r);

    /* bad silences store nothing */
    before = it_sql_ll("SELECT count(*) FROM silences");
    assert_int_equal(it_req(&srv, "POST", "/api/v2/silences",
                            "{\"matchers\":[],\"startsAt\":\"2026-01-01T00:00:00Z\","
                            "\"endsAt\":\"2099-01-01T00:00:00Z\",\"createdBy\":\"x\","
                            "\"comment\":\"c\"}",
                            &r),
                     400);
    json_decref(r);
    assert_int_equal(it_req(&srv, "POST", "/api/v2/silences",
                            "{\"matchers\":[{\"name\":\"alertname\",\"value\":\".*\","
                            "\"isRegex\":true}],\"startsAt\":\"2026-01-01T00:00:00Z\","
                            "\"endsAt\":\"2099-01-01T00:00:00Z\",\"createdBy\":\"x\","
                            "\"comment\":\"c\"}",
                            &r),
                     400); /* would silence everything */
    json_decref(r);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM silences"), before);

    /* a silence of one alert shows as __alert_id__, and posting that back
     * with its id replaces it: the old one ends, a new one holds the alert */
    a = it_get(&srv, "/v1/alerts?type=AmtLatency");
    alert_id = strdup(
        json_string_value(json_object_get(json_array_get(json_object_get(a, "items"), 0), "id")));
    json_decref(a);
    assert_non_null(alert_id);
    snprintf(path, sizeof(path), "{\"alert_id\":\"%s\",\"duration_s\":600,\"comment\":\"one\"}",
             alert_id);
    sid = it_create(&srv, "/v1/silences", path);
    snprintf(path, sizeof(path), "/api/v2/silence/%s", sid);
    assert_int_equal(it_req(&srv, "GET", path, NULL, &r), 200);
    a = json_array_get(json_object_get(r, "matchers"), 0);
    assert_string_equal(json_string_value(json_object_get(a, "name")), "__alert_id__");
    assert_string_equal(json_string_value(json_object_get(a, "value")), alert_id);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "status"), "state")),
                        "active");
    json_object_set_new(r, "comment", json_string("two"));
    {
        char *body = json_dumps(r, JSON_COMPACT);
        json_t *made = NULL;
        json_decref(r);
        assert_int_equal(it_req(&srv, "POST", "/api/v2/silences", body, &made), 200);
        free(body);
        assert_int_equal(
            it_sql_llf("SELECT count(*) FROM silences WHERE id = %s AND expired_at IS NOT NULL",
                       sid),
            1);
        assert_int_equal(it_sql_llf("SELECT count(*) FROM silences WHERE id = %s AND alert_id = %s"
                                    " AND comment = 'two' AND expired_at IS NULL",
                                    json_string_value(json_object_get(made, "silenceID")),
                                    alert_id),
                         1);
        json_decref(made);
    }
    /* replacing one that is gone: 404, nothing made */
    before = it_sql_ll("SELECT count(*) FROM silences");
    snprintf(path, sizeof(path),
             "{\"id\":\"%s\",\"matchers\":[{\"name\":\"team\",\"value\":\"web\"}],"
             "\"startsAt\":\"2026-01-01T00:00:00Z\",\"endsAt\":\"2099-01-01T00:00:00Z\","
             "\"createdBy\":\"x\",\"comment\":\"c\"}",
             sid);
    assert_int_equal(it_req(&srv, "POST", "/api/v2/silences", path, &r), 404);
    json_decref(r);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM silences"), before);
    /* scopes: reading takes read, silencing operate */
    assert_int_equal(it_req_as(&srv, "GET", "/api/v2/silences", NULL, NULL, &r), 401);
    json_decref(r);
    assert_int_equal(it_req_as(&srv, "GET", "/api/v2/silences", IT_READ_TOKEN, NULL, &r), 200);
    json_decref(r);
    assert_int_equal(it_req_as(&srv, "DELETE", "/api/v2/silence/1", IT_READ_TOKEN, NULL, &r), 403);
    json_decref(r);
    free(sid);
    free(alert_id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_amtool_alert_query),
        cmocka_unit_test(test_amtool_silences),
        cmocka_unit_test(test_am_routes_directly),
    };
    int rc;

    it_init("amtool");
    rc = cmocka_run_group_tests_name("integration_amtool", tests, setup, teardown);
    it_fini();
    return rc;
}
