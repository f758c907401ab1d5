/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration tests of `alertcenter ctl` (cli/ctl.c) against a real server:
 * events sent from stdin (JSON and NDJSON), lists as tables and as the
 * API's JSON, show with the timeline, ack and resolve seen by the API,
 * silences added, listed and ended, who is on call per team (GET
 * /v1/oncall underneath), the audit log with filters, and the exit codes
 * scripts rely on (2 usage, 3 not found, 4 refused, 5 not authorized,
 * 6 unavailable).
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
static char token_file[512];

static int setup(void **state)
{
    (void)state;
    it_server_start(&srv, NULL);
    snprintf(token_file, sizeof(token_file), "%s/ctl-token-%d", getenv("AC_TEST_TMP") ?: "/tmp",
             srv.port);
    it_write_file(token_file, IT_ADMIN_TOKEN "\n");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(it_server_stop(&srv), 0);
    return 0;
}

/* Runs "alertcenter ctl ARGS" (stdin from input when not NULL) with the
 * admin token in AC_TOKEN; exit code, and stdout in *out (new) if out. */
static int ctl_as(const char *token, const char *input, const char *args, char **out)
{
    char cmd[2048];

    snprintf(cmd, sizeof(cmd),
             "(%s%s%s AC_URL=http://127.0.0.1:%d AC_TOKEN='%s' %s ctl %s 2>/dev/null)",
             input ? "printf '%b' '" : "", input ? input : "", input ? "' |" : "", srv.port, token,
             getenv("AC_TEST_BINARY"), args);
    return it_run(cmd, out);
}

static int ctl(const char *args, char **out)
{
    return ctl_as(IT_ADMIN_TOKEN, NULL, args, out);
}

/* ctl -o json ARGS, parsed (new); asserts exit 0. */
static json_t *ctl_json(const char *args)
{
    char full[512], *out = NULL;
    json_t *j;

    snprintf(full, sizeof(full), "-o json %s", args);
    if (ctl(full, &out) != 0) {
        fail_msg("ctl %s: %s", args, out);
    }
    j = json_loads(out, 0, NULL);
    if (!j) {
        fail_msg("ctl %s printed no JSON: %s", args, out);
    }
    free(out);
    return j;
}

static int lines(const char *s)
{
    int n = 0;

    for (; *s; s++) {
        n += *s == '\n';
    }
    return n;
}

static void test_ctl_events_lists_show(void **state)
{
    char *out = NULL, args[128];
    json_t *j, *api;
    const char *id;

    (void)state;
    /* events from stdin: one JSON object, then NDJSON */
    assert_int_equal(ctl_as(IT_ADMIN_TOKEN,
                            "{\"source\":\"probe\",\"type\":\"CtlDisk\",\"title\":\"disk full on "
                            "db-1\",\"level\":\"P1\",\"app_id\":\"shop\"}",
                            "events send", &out),
                     0);
    assert_non_null(strstr(out, "accepted 1, duplicates 0"));
    free(out);
    assert_int_equal(
        ctl_as(IT_ADMIN_TOKEN,
               "{\"source\":\"probe\",\"type\":\"CtlLatency\",\"title\":\"slow\",\"app_id\":\"a1\"}"
               "\\n{\"source\":\"probe\",\"type\":\"CtlLatency\",\"title\":\"slow\",\"app_id\":"
               "\"a2\"}\\n",
               "events send", &out),
        0);
    assert_non_null(strstr(out, "accepted 2"));
    free(out);
    /* a bad event: refused (4), nothing stored */
    assert_int_equal(ctl_as(IT_ADMIN_TOKEN, "{\"type\":\"NoSource\"}", "events send", NULL), 4);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM events WHERE type = 'NoSource'"), 0);

    /* the table: a header and one line per open incident; -o json is the
     * API's answer */
    assert_int_equal(ctl("incidents list", &out), 0);
    assert_non_null(strstr(out, "LEVEL"));
    assert_non_null(strstr(out, "CtlDisk"));
    j = ctl_json("incidents list");
    api = it_get(&srv, "/v1/incidents?status=active");
    assert_int_equal(json_array_size(json_object_get(j, "items")),
                     json_array_size(json_object_get(api, "items")));
    assert_int_equal(lines(out), 1 + (int)json_array_size(json_object_get(api, "items")));
    free(out);
    json_decref(j);
    json_decref(api);
    /* filters go to the API as they are */
    j = ctl_json("alerts list --type CtlLatency --app-id a2");
    assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(j, "items"), 0), "app_id")),
                        "a2");
    json_decref(j);
    assert_int_equal(ctl("alerts list --no-such-filter 1", &out), 4);
    free(out);

    /* show: the fields and the timeline */
    j = ctl_json("alerts list --type CtlDisk");
    id = json_string_value(json_object_get(json_array_get(json_object_get(j, "items"), 0), "id"));
    snprintf(args, sizeof(args), "alerts show %s", id);
    assert_int_equal(ctl(args, &out), 0);
    assert_non_null(strstr(out, "disk full on db-1"));
    assert_non_null(strstr(out, "alert.open"));
    free(out);
    json_decref(j);
    assert_int_equal(ctl("alerts show 987654321", NULL), 3);
}

static void test_ctl_ack_resolve(void **state)
{
    char args[128], path[64];
    json_t *j, *inc;
    char *id;

    (void)state;
    j = ctl_json("incidents list --type CtlDisk");
    id = strdup(
        json_string_value(json_object_get(json_array_get(json_object_get(j, "items"), 0), "id")));
    json_decref(j);
    snprintf(args, sizeof(args), "incidents ack %s --by carol --comment 'on it'", id);
    assert_int_equal(ctl(args, NULL), 0);
    snprintf(path, sizeof(path), "/v1/incidents/%s", id);
    inc = it_get(&srv, path);
    assert_string_equal(json_string_value(json_object_get(inc, "status")), "acknowledged");
    assert_string_equal(json_string_value(json_object_get(inc, "acked_by")), "user:carol");
    json_decref(inc);
    /* twice: the API's 409 is "refused" */
    assert_int_equal(ctl(args, NULL), 4);
    snprintf(args, sizeof(args), "incidents resolve %s", id);
    assert_int_equal(ctl(args, NULL), 0);
    inc = it_get(&srv, path);
    assert_string_equal(json_string_value(json_object_get(inc, "status")), "resolved");
    json_decref(inc);
    /* the audit log, filtered */
    j = ctl_json("audit --actor user:carol --action incident.ack");
    assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(j, "items"), 0), "target_id")),
                        id);
    json_decref(j);
    free(id);
}

static void test_ctl_silences(void **state)
{
    char *out = NULL, args[128];
    json_t *j;
    const char *id;

    (void)state;
    assert_int_equal(ctl("silence add type=CtlLatency 'app_id=~\"a.*\"' --duration 2h --comment "
                         "'deploy window'",
                         &out),
                     0);
    assert_non_null(strstr(out, "silence "));
    free(out);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM silences WHERE comment = 'deploy window' AND"
                               " expired_at IS NULL AND ends_at > now() + interval '119 minutes'"),
                     1);
    assert_int_equal(ctl("silence list", &out), 0);
    assert_non_null(strstr(out, "type=\"CtlLatency\" app_id=~\"a.*\""));
    free(out);
    j = ctl_json("silence list");
    id = json_string_value(json_object_get(json_array_get(json_object_get(j, "items"), 0), "id"));
    snprintf(args, sizeof(args), "silence end %s", id);
    assert_int_equal(ctl(args, &out), 0);
    assert_non_null(strstr(out, "ended"));
    free(out);
    assert_int_equal(ctl(args, NULL), 3); /* ended already */
    json_decref(j);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM silences WHERE comment = 'deploy window' AND"
                               " expired_at IS NOT NULL"),
                     1);
    /* bad lines: usage (2) before any request; the server's refusal (4) */
    assert_int_equal(ctl("silence add type=X --duration 2weeks", NULL), 2);
    assert_int_equal(ctl("silence add 'type==X' --duration 2h", NULL), 2);
    assert_int_equal(ctl("silence add type=X", NULL), 4); /* no end */
}

static void test_ctl_oncall(void **state)
{
    char body[512], *ann, *bob, *sched, *team, *out = NULL;
    json_t *j, *t;

    (void)state;
    ann = it_create(&srv, "/v1/contacts", "{\"name\":\"ctl-ann\"}");
    bob = it_create(&srv, "/v1/contacts", "{\"name\":\"ctl-bob\"}");
    /* hourly from a whole hour: ann, bob, ann, ... */
    snprintf(body, sizeof(body),
             "{\"name\":\"ctl-primary\",\"layers\":[{\"name\":\"h\",\"start\":"
             "\"2026-01-01T00:00:00Z\",\"rotation\":{\"hours\":1},\"members\":[\"%s\",\"%s\"]}]}",
             ann, bob);
    sched = it_create(&srv, "/v1/schedules", body);
    snprintf(
        body, sizeof(body),
        "{\"name\":\"ctl-sre\",\"lead\":\"%s\",\"chain\":[{\"targets\":[{\"schedule\":\"%s\"}]},"
        "{\"targets\":[{\"lead\":true}]}]}",
        bob, sched);
    team = it_create(&srv, "/v1/teams", body);

    j = ctl_json("oncall ctl-sre");
    assert_int_equal(json_array_size(json_object_get(j, "teams")), 1);
    t = json_array_get(json_object_get(j, "teams"), 0);
    assert_string_equal(json_string_value(json_object_get(t, "id")), team);
    /* the schedule's person now is whoever the API says for the schedule */
    {
        char path[64];
        json_t *oc;
        snprintf(path, sizeof(path), "/v1/schedules/%s/oncall", sched);
        oc = it_get(&srv, path);
        assert_string_equal(
            json_string_value(json_object_get(
                json_object_get(
                    json_array_get(
                        json_object_get(json_array_get(json_object_get(t, "tiers"), 0), "targets"),
                        0),
                    "contact"),
                "id")),
            json_string_value(json_object_get(json_object_get(oc, "contact"), "id")));
        json_decref(oc);
    }
    json_decref(j);
    assert_int_equal(ctl("oncall ctl-sre", &out), 0);
    assert_non_null(strstr(out, "schedule "));
    assert_non_null(strstr(out, "lead"));
    assert_non_null(strstr(out, "ctl-bob"));
    free(out);
    assert_int_equal(ctl("oncall no-such-team", NULL), 3);
    free(ann);
    free(bob);
    free(sched);
    free(team);
}

static void test_ctl_exit_codes(void **state)
{
    char cmd[1400];

    (void)state;
    assert_int_equal(ctl("", NULL), 2);
    assert_int_equal(ctl("frobnicate", NULL), 2);
    assert_int_equal(ctl("-o yaml alerts list", NULL), 2);
    assert_int_equal(ctl_as("not-a-token-at-all-0123", NULL, "alerts list", NULL), 5);
    assert_int_equal(ctl_as(IT_INGEST_TOKEN, NULL, "alerts list", NULL), 5); /* wrong scope */
    /* the token from a file (AC_TOKEN unset) */
    snprintf(cmd, sizeof(cmd),
             "(AC_URL=http://127.0.0.1:%d %s ctl --token-file %s alerts list"
             " >/dev/null 2>&1)",
             srv.port, getenv("AC_TEST_BINARY"), token_file);
    assert_int_equal(it_run(cmd, NULL), 0);
    /* nobody listening */
    snprintf(cmd, sizeof(cmd), "(%s ctl --url http://127.0.0.1:%d alerts list >/dev/null 2>&1)",
             getenv("AC_TEST_BINARY"), it_free_port());
    assert_int_equal(it_run(cmd, NULL), 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ctl_events_lists_show), cmocka_unit_test(test_ctl_ack_resolve),
        cmocka_unit_test(test_ctl_silences),          cmocka_unit_test(test_ctl_oncall),
        cmocka_unit_test(test_ctl_exit_codes),
    };
    int rc;

    it_init("ctl");
    rc = cmocka_run_group_tests_name("integration_ctl", tests, setup, teardown);
    it_fini();
    return rc;
}
