/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration tests of the alert lifecycle: ack and resolve through the API
 * (who, comment, audit log, timeline, conflicts, scopes), folding into an
 * acknowledged alert, and auto-resolve by the sweeper.
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

static struct it_server srv;

static int setup(void **state)
{
    (void)state;
    /* sweep fast; types without their own timeout never auto-resolve */
    it_server_start_config(&srv, "{\"lifecycle\":{\"sweep_interval_ms\":200}}", NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(it_server_stop(&srv), 0);
    return 0;
}

/* Opens an alert of type; returns its id (new). */
static char *open_alert(const char *type)
{
    char body[256];
    json_t *r;
    char *id;

    snprintf(body, sizeof(body), "{\"source\":\"probe\",\"type\":\"%s\",\"title\":\"t\"}", type);
    r = it_post_events(&srv, body, 200);
    id = strdup(json_string_value(
        json_object_get(json_array_get(json_object_get(r, "items"), 0), "alert_id")));
    json_decref(r);
    return id;
}

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void test_lifecycle_ack_then_resolve(void **state)
{
    char *id = open_alert("ItLife");
    char path[128];
    json_t *a = NULL, *tl, *last;

    (void)state;
    snprintf(path, sizeof(path), "/v1/alerts/%s/ack", id);
    /* reading is not operating */
    assert_int_equal(it_req_as(&srv, "POST", path, IT_READ_TOKEN, "{}", NULL), 403);
    assert_int_equal(it_req_as(&srv, "POST", path, IT_ADMIN_TOKEN,
                               "{\"by\":\"alice\",\"comment\":\"on it\"}", &a),
                     200);
    assert_string_equal(str(a, "status"), "acknowledged");
    assert_string_equal(str(a, "acked_by"), "user:alice");
    assert_true(json_is_string(json_object_get(a, "acked_at")));
    tl = json_object_get(a, "timeline");
    {
        /* opened, its event, acknowledged - and so its incident (nothing of
         * it left firing) */
        char *acts = it_timeline_actions(a);
        assert_string_equal(acts, "alert.open,alert.events,alert.ack,incident.acknowledged");
        free(acts);
    }
    last = json_array_get(tl, 2);
    assert_string_equal(str(last, "action"), "alert.ack");
    assert_string_equal(str(last, "actor"), "user:alice");
    assert_string_equal(str(json_object_get(last, "details"), "comment"), "on it");
    assert_string_equal(str(json_object_get(last, "details"), "token"), "admin");
    json_decref(a);

    /* a second ack is a conflict */
    assert_int_equal(it_req_as(&srv, "POST", path, IT_ADMIN_TOKEN, NULL, &a), 409);
    assert_string_equal(str(json_object_get(a, "error"), "code"), "conflict");
    json_decref(a);

    /* events keep folding into the acknowledged alert */
    free(open_alert("ItLife"));
    snprintf(path, sizeof(path), "/v1/alerts/%s", id);
    a = it_get(&srv, path);
    assert_int_equal(json_integer_value(json_object_get(a, "count")), 2);
    assert_string_equal(str(a, "status"), "acknowledged");
    json_decref(a);

    /* resolve without a body: the token's name is the actor */
    snprintf(path, sizeof(path), "/v1/alerts/%s/resolve", id);
    assert_int_equal(it_req_as(&srv, "POST", path, IT_ADMIN_TOKEN, NULL, &a), 200);
    assert_string_equal(str(a, "status"), "resolved");
    assert_true(json_is_string(json_object_get(a, "resolved_at")));
    last = it_timeline_item(a, "alert.resolve");
    assert_non_null(last);
    assert_non_null(it_timeline_item(a, "incident.resolved")); /* and so its incident */
    assert_string_equal(str(last, "actor"), "token:admin");
    json_decref(a);
    assert_int_equal(it_req_as(&srv, "POST", path, IT_ADMIN_TOKEN, NULL, NULL), 409);
    snprintf(path, sizeof(path), "/v1/alerts/%s/ack", id);
    assert_int_equal(it_req_as(&srv, "POST", path, IT_ADMIN_TOKEN, NULL, NULL), 409);

    /* the next firing event opens a new alert */
    {
        char *next = open_alert("ItLife");
        assert_string_not_equal(next, id);
        free(next);
    }
    free(id);
}

static void test_lifecycle_resolve_from_firing(void **state)
{
    char *id = open_alert("ItLife2");
    char path[128];
    json_t *a;

    (void)state;
    snprintf(path, sizeof(path), "/v1/alerts/%s/resolve", id);
    assert_int_equal(
        it_req_as(&srv, "POST", path, IT_ADMIN_TOKEN, "{\"comment\":\"false positive\"}", &a), 200);
    assert_string_equal(str(a, "status"), "resolved");
    assert_true(json_is_null(json_object_get(a, "acked_at")));
    json_decref(a);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM audit_log WHERE action = 'alert.resolve' "
                               "AND details->>'comment' = 'false positive'"),
                     1);
    free(id);
}

static void test_lifecycle_bad_requests(void **state)
{
    char *id = open_alert("ItLife3");
    char path[128];
    json_t *a;

    (void)state;
    snprintf(path, sizeof(path), "/v1/alerts/%s/ack", id);
    assert_int_equal(it_req_as(&srv, "POST", path, IT_ADMIN_TOKEN, "{\"by\":5}", &a), 400);
    assert_string_equal(
        str(json_array_get(json_object_get(json_object_get(a, "error"), "details"), 0), "path"),
        "$.by");
    json_decref(a);
    assert_int_equal(it_req_as(&srv, "POST", path, IT_ADMIN_TOKEN, "{\"who\":\"x\"}", NULL), 400);
    assert_int_equal(it_req_as(&srv, "POST", path, IT_ADMIN_TOKEN, "not json", NULL), 400);
    assert_int_equal(it_req_as(&srv, "POST", "/v1/alerts/99999999/ack", IT_ADMIN_TOKEN, NULL, NULL),
                     404);
    assert_int_equal(it_req_as(&srv, "POST", "/v1/alerts/abc/resolve", IT_ADMIN_TOKEN, NULL, NULL),
                     404);
    assert_int_equal(it_req_as(&srv, "POST", "/v1/alerts//ack", IT_ADMIN_TOKEN, NULL, NULL), 404);
    assert_int_equal(it_req_as(&srv, "POST", path, NULL, NULL, NULL), 401);
    /* nothing changed */
    snprintf(path, sizeof(path), "/v1/alerts/%s", id);
    a = it_get(&srv, path);
    assert_string_equal(str(a, "status"), "firing");
    json_decref(a);
    free(id);
}

struct wait_status {
    const char *id;
    const char *status;
};

static bool has_status(void *arg)
{
    struct wait_status *w = arg;

    return it_sql_llf("SELECT count(*) FROM alerts WHERE id = %s AND status = '%s'", w->id,
                      w->status) == 1;
}

/* The alert id's timeline says the sweeper resolved it after timeout_s. */
static void assert_auto_resolved(const char *id, int timeout_s)
{
    char path[128];
    json_t *a, *last;

    snprintf(path, sizeof(path), "/v1/alerts/%s", id);
    a = it_get(&srv, path);
    last = it_timeline_item(a, "alert.resolve");
    assert_non_null(last);
    assert_string_equal(str(last, "actor"), "system:auto-resolve");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(last, "details"), "resolve_timeout_s")),
        timeout_s);
    json_decref(a);
}

static void test_lifecycle_auto_resolve(void **state)
{
    char *quiet, *busy, *never, *unknown;
    struct wait_status w;

    (void)state;
    assert_true(it_sql_ok("INSERT INTO types (type, resolve_timeout_s) VALUES ('ItQuiet', 1), "
                          "('ItBusy', 1), ('ItNever', 0)"));
    quiet = open_alert("ItQuiet");
    busy = open_alert("ItBusy");
    never = open_alert("ItNever");
    unknown = open_alert("ItNoEntry"); /* no type entry, no default: never */
    /* keep ItBusy alive with an event every 300 ms while ItQuiet times out */
    w.id = quiet;
    w.status = "resolved";
    for (int i = 0; i < 30 && !has_status(&w); i++) {
        free(open_alert("ItBusy"));
        it_quiet_ms(300); /* events keep coming, 300 ms apart */
    }
    assert_true(has_status(&w));
    w.id = busy;
    w.status = "firing";
    assert_true(has_status(&w));
    w.id = never;
    assert_true(has_status(&w));
    w.id = unknown;
    assert_true(has_status(&w));

    assert_auto_resolved(quiet, 1);

    /* once the events stop, the busy one resolves too */
    w.id = busy;
    w.status = "resolved";
    assert_true(it_wait_until(has_status, &w, 10000));
    free(quiet);
    free(busy);
    free(never);
    free(unknown);
}

/* With a default timeout (lifecycle.default_resolve_timeout_s), an alert of
 * a type without its own times out after it; a type's own 0 still means
 * never, and its own longer timeout wins. (The server restarts with the
 * setting: one instance sweeps, the one that leads.) */
static void test_lifecycle_default_timeout(void **state)
{
    char *plain, *never, *longer;
    struct wait_status w;

    (void)state;
    assert_int_equal(it_server_stop(&srv), 0);
    it_server_start_config(
        &srv, "{\"lifecycle\":{\"sweep_interval_ms\":200,\"default_resolve_timeout_s\":1}}", NULL);
    assert_true(it_sql_ok("INSERT INTO types (type, resolve_timeout_s) VALUES ('ItDefNever', 0), "
                          "('ItDefLong', 3600)"));
    plain = open_alert("ItDefPlain");
    never = open_alert("ItDefNever");
    longer = open_alert("ItDefLong");
    w.id = plain;
    w.status = "resolved";
    assert_true(it_wait_until(has_status, &w, 10000));
    assert_auto_resolved(plain, 1);
    it_quiet_ms(1500); /* a few more sweeps */
    w.status = "firing";
    w.id = never;
    assert_true(has_status(&w));
    w.id = longer;
    assert_true(has_status(&w));
    free(plain);
    free(never);
    free(longer);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lifecycle_ack_then_resolve),
        cmocka_unit_test(test_lifecycle_resolve_from_firing),
        cmocka_unit_test(test_lifecycle_bad_requests),
        cmocka_unit_test(test_lifecycle_auto_resolve),
        cmocka_unit_test(test_lifecycle_default_timeout),
    };
    int rc;

    it_init("lifecycle");
    rc = cmocka_run_group_tests_name("integration_lifecycle", tests, setup, teardown);
    it_fini();
    return rc;
}
