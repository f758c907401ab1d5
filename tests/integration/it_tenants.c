/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration tests of the event center's API (issue 17, point 6): a
 * tenant's events, subscriptions, and tokens bound to a tenant, which see
 * and change only their tenant's.
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
static struct it_sink *sink;      /* the room (/hook) and the SMS gateway (/sms) */
static char acme[96], globex[96]; /* the tenants' token secrets */
static char contact[32];

/* A database token (admin-made); its secret into out. */
static void make_token(const char *body, char *out, size_t len)
{
    json_t *r = NULL;

    assert_int_equal(it_req(&srv, "POST", "/v1/tokens", body, &r), 201);
    snprintf(out, len, "%s", json_string_value(json_object_get(r, "token")));
    json_decref(r);
}

static int setup(void **state)
{
    char *id;

    char config[1024];

    (void)state;
    sink = it_sink_start("{\"ok\":true}");
    snprintf(config, sizeof(config),
             "{\"notify\":{\"poll_ms\":50,\"channels\":{\"room\":{\"kind\":\"webhook\","
             "\"url\":\"http://127.0.0.1:%d/hook\"},\"text\":{\"kind\":\"sms\",\"url\":"
             "\"http://127.0.0.1:%d/sms\"}},\"levels\":{\"P1\":[\"room\"],\"P3\":[\"room\"]}}}",
             it_sink_port(sink), it_sink_port(sink));
    it_server_start_config(&srv, config, NULL);
    make_token("{\"name\":\"acme\",\"scopes\":[\"tenant\"],\"tenant\":\"acme\"}", acme,
               sizeof(acme));
    /* the shorthand: scope tenant:<id> */
    make_token("{\"name\":\"globex\",\"scopes\":[\"tenant:globex\"]}", globex, sizeof(globex));
    id = it_create(&srv, "/v1/contacts", "{\"name\":\"ops\",\"phone\":\"+8613800000009\"}");
    snprintf(contact, sizeof(contact), "%s", id);
    free(id);
    json_decref(it_post_events(
        &srv,
        "[{\"source\":\"probe\",\"type\":\"ItTenantA\",\"title\":\"a1\",\"user_id\":\"acme\","
        "\"category\":\"runtime\",\"app_id\":\"shop\"},"
        "{\"source\":\"probe\",\"type\":\"ItTenantA\",\"title\":\"a2\",\"user_id\":\"acme\","
        "\"category\":\"change\",\"app_id\":\"cart\"},"
        "{\"source\":\"probe\",\"type\":\"ItTenantB\",\"title\":\"b1\",\"user_id\":\"globex\","
        "\"category\":\"runtime\",\"app_id\":\"mail\"}]",
        200));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(it_server_stop(&srv), 0);
    it_sink_stop(sink);
    return 0;
}

/* A request as token; its status, the body in *out (may be NULL). */
static long as(const char *token, const char *method, const char *path, const char *body,
               json_t **out)
{
    struct it_resp r;
    long st;

    assert_int_equal(it_http(&srv, method, path, token, body ? "application/json" : NULL, body,
                             body ? strlen(body) : 0, &r),
                     0);
    st = r.status;
    if (out) {
        *out = json_incref(r.json);
    }
    it_resp_free(&r);
    return st;
}

static size_t items(const json_t *page)
{
    return json_array_size(json_object_get(page, "items"));
}

static void test_tenant_sees_only_its_events(void **state)
{
    json_t *page = NULL;

    (void)state;
    assert_int_equal(as(acme, "GET", "/v1/tenants/acme/events", NULL, &page), 200);
    assert_int_equal(items(page), 2);
    json_decref(page);
    assert_int_equal(as(acme, "GET", "/v1/tenants/acme/events?category=change", NULL, &page), 200);
    assert_int_equal(items(page), 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(page, "items"), 0), "app_id")),
                        "cart");
    json_decref(page);
    /* not another tenant's, and nothing else of the API */
    assert_int_equal(as(acme, "GET", "/v1/tenants/globex/events", NULL, NULL), 403);
    assert_int_equal(as(acme, "GET", "/v1/events", NULL, NULL), 403);
    assert_int_equal(as(acme, "GET", "/v1/alerts", NULL, NULL), 403);
    assert_int_equal(as(acme, "POST", "/v1/events",
                        "{\"source\":\"probe\",\"type\":\"X\",\"title\":\"x\"}", NULL),
                     403);
    /* the read token sees any tenant's */
    assert_int_equal(as(IT_READ_TOKEN, "GET", "/v1/tenants/globex/events", NULL, &page), 200);
    assert_int_equal(items(page), 1);
    json_decref(page);
}

static void test_tenant_subscriptions_are_its_own(void **state)
{
    json_t *r = NULL, *page = NULL;
    char body[512], path[96], mine[32], theirs[32];

    (void)state;
    snprintf(body, sizeof(body),
             "{\"name\":\"runtime\",\"categories\":[\"runtime\",\"system\"],\"scope\":{\"apps\":"
             "[\"shop\"]},\"cycle_s\":300,\"threshold\":3,\"contacts\":[\"%s\"],\"channels\":"
             "[\"room\"]}",
             contact);
    assert_int_equal(as(acme, "POST", "/v1/subscriptions", body, &r), 201);
    assert_string_equal(json_string_value(json_object_get(r, "tenant_id")), "acme");
    snprintf(mine, sizeof(mine), "%s", json_string_value(json_object_get(r, "id")));
    json_decref(r);
    /* not for another tenant */
    assert_int_equal(
        as(acme, "POST", "/v1/subscriptions",
           "{\"tenant_id\":\"globex\",\"name\":\"x\",\"categories\":[\"change\"],\"cycle_s\":60,"
           "\"threshold\":1}",
           NULL),
        400);
    /* the admin makes globex's */
    assert_int_equal(
        as(IT_ADMIN_TOKEN, "POST", "/v1/subscriptions",
           "{\"tenant_id\":\"globex\",\"name\":\"all\",\"categories\":[\"runtime\"],\"cycle_s\":"
           "600,\"threshold\":10}",
           &r),
        201);
    snprintf(theirs, sizeof(theirs), "%s", json_string_value(json_object_get(r, "id")));
    json_decref(r);

    /* acme lists its own only, and cannot see, change or delete globex's */
    assert_int_equal(as(acme, "GET", "/v1/subscriptions", NULL, &page), 200);
    assert_int_equal(items(page), 1);
    json_decref(page);
    assert_int_equal(as(acme, "GET", "/v1/subscriptions?tenant_id=globex", NULL, NULL), 403);
    snprintf(path, sizeof(path), "/v1/subscriptions/%s", theirs);
    assert_int_equal(as(acme, "GET", path, NULL, NULL), 404);
    assert_int_equal(as(acme, "PUT", path,
                        "{\"name\":\"mine now\",\"categories\":[\"runtime\"],\"cycle_s\":60,"
                        "\"threshold\":1}",
                        NULL),
                     404);
    assert_int_equal(as(acme, "DELETE", path, NULL, NULL), 404);
    assert_int_equal(as(globex, "GET", path, NULL, &r), 200);
    assert_string_equal(json_string_value(json_object_get(r, "name")), "all");
    json_decref(r);
    /* the admin sees both */
    assert_int_equal(as(IT_ADMIN_TOKEN, "GET", "/v1/subscriptions", NULL, &page), 200);
    assert_int_equal(items(page), 2);
    json_decref(page);

    /* acme changes its own: audited with before and after */
    snprintf(path, sizeof(path), "/v1/subscriptions/%s", mine);
    assert_int_equal(as(acme, "PUT", path,
                        "{\"name\":\"runtime\",\"categories\":[\"runtime\"],\"cycle_s\":600,"
                        "\"threshold\":5}",
                        &r),
                     200);
    assert_int_equal(json_integer_value(json_object_get(r, "threshold")), 5);
    json_decref(r);
    snprintf(path, sizeof(path), "/v1/audit?target_type=subscription&target_id=%s", mine);
    page = it_get(&srv, path);
    assert_int_equal(items(page), 2);
    r = json_array_get(json_object_get(page, "items"), 0);
    assert_string_equal(json_string_value(json_object_get(r, "actor")), "token:acme");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "before"), "threshold")),
                     3);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "after"), "threshold")),
                     5);
    json_decref(page);
    snprintf(path, sizeof(path), "/v1/subscriptions/%s", mine);
    assert_int_equal(as(acme, "DELETE", path, NULL, NULL), 200);
    assert_int_equal(as(acme, "GET", path, NULL, NULL), 404);
}

/* Each bad field is named. */
static void test_subscription_validation(void **state)
{
    static const struct {
        const char *body, *path;
    } bad[] = {
        {"{\"name\":\"x\",\"categories\":[\"weather\"],\"cycle_s\":60,\"threshold\":1}",
         "$.categories"},
        {"{\"name\":\"x\",\"categories\":[],\"cycle_s\":60,\"threshold\":1}", "$.categories"},
        {"{\"name\":\"x\",\"categories\":[\"change\"],\"cycle_s\":10,\"threshold\":1}",
         "$.cycle_s"},
        {"{\"name\":\"x\",\"categories\":[\"change\"],\"cycle_s\":60,\"threshold\":0}",
         "$.threshold"},
        {"{\"name\":\"x\",\"categories\":[\"change\"],\"cycle_s\":60,\"threshold\":1,"
         "\"channels\":[\"pager\"]}",
         "$.channels"},
        {"{\"name\":\"x\",\"categories\":[\"change\"],\"cycle_s\":60,\"threshold\":1,"
         "\"contacts\":[\"999999\"]}",
         "$.contacts"},
        {"{\"name\":\"x\",\"categories\":[\"change\"],\"cycle_s\":60,\"threshold\":1,"
         "\"scope\":{\"pods\":[\"a\"]}}",
         "$.scope"},
        {"{\"categories\":[\"change\"],\"cycle_s\":60,\"threshold\":1}", "$.name"},
    };
    json_t *r = NULL;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (as(acme, "POST", "/v1/subscriptions", bad[i].body, &r) != 400) {
            fail_msg("accepted: %s", bad[i].body);
        }
        assert_string_equal(
            json_string_value(json_object_get(
                json_array_get(json_object_get(json_object_get(r, "error"), "details"), 0),
                "path")),
            bad[i].path);
        json_decref(r);
    }
    /* a tenant token names its tenant */
    assert_int_equal(
        it_req(&srv, "POST", "/v1/tokens", "{\"name\":\"t\",\"scopes\":[\"tenant\"]}", &r), 400);
    json_decref(r);
}

/* Posts n events of tenant, category and app. */
static void post(int n, const char *tenant, const char *category, const char *app)
{
    char body[4096];
    size_t len = 0;

    len += (size_t)snprintf(body + len, sizeof(body) - len, "[");
    for (int i = 0; i < n; i++) {
        len += (size_t)snprintf(body + len, sizeof(body) - len,
                                "%s{\"source\":\"probe\",\"type\":\"ItSub%s\",\"title\":\"t\","
                                "\"user_id\":\"%s\",\"category\":\"%s\",\"app_id\":\"%s\","
                                "\"instance\":\"i%d-%d\"}",
                                i ? "," : "", category, tenant, category, app, rand(), i);
    }
    snprintf(body + len, sizeof(body) - len, "]");
    json_decref(it_post_events(&srv, body, 200));
}

/* A subscription triggers at its threshold, once per cycle, on its
 * channels (one SMS per contact with a phone); other apps, categories and
 * tenants do not count. A tenant's primary contact gets its system events
 * without subscribing. */
static void test_subscription_triggers_once_per_cycle(void **state)
{
    char body[512], path[96], id[32];
    json_t *r = NULL;

    (void)state;
    snprintf(body, sizeof(body),
             "{\"name\":\"shop runtime\",\"categories\":[\"runtime\"],\"scope\":{\"apps\":"
             "[\"shop\"]},\"cycle_s\":604800,\"threshold\":3,\"contacts\":[\"%s\"],"
             "\"channels\":[\"room\",\"text\"]}",
             contact);
    assert_int_equal(as(acme, "POST", "/v1/subscriptions", body, &r), 201);
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(r, "id")));
    json_decref(r);
    snprintf(path, sizeof(path), "/v1/subscriptions/%s", id);

    post(2, "acme", "runtime", "shop");
    post(2, "acme", "runtime", "cart");   /* another app */
    post(2, "acme", "change", "shop");    /* another category */
    post(2, "globex", "runtime", "shop"); /* another tenant */
    it_quiet_ms(1000);
    assert_int_equal(it_sink_count_with(sink, "/hook", "shop runtime"), 0);
    r = it_get(&srv, path);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(r, "current_cycle"), "events")), 2);
    json_decref(r);

    post(1, "acme", "runtime", "shop"); /* the third: told */
    assert_int_equal(it_sink_wait_with(sink, "/hook", "shop runtime", 1, 10000), 1);
    assert_int_equal(it_sink_wait_with(sink, "/sms", "+8613800000009", 1, 10000), 1);
    post(5, "acme", "runtime", "shop"); /* the same cycle: not again */
    it_quiet_ms(1500);
    assert_int_equal(it_sink_count_with(sink, "/hook", "shop runtime"), 1);
    assert_int_equal(it_sink_count_with(sink, "/sms", "+8613800000009"), 1);
    r = it_get(&srv, path);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(r, "current_cycle"), "events")), 8);
    assert_true(
        json_is_string(json_object_get(json_object_get(r, "current_cycle"), "triggered_at")));
    json_decref(r);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM notifications WHERE reason ="
                               " 'subscription' AND status = 'sent'"),
                     2);

    /* system events reach acme's primary contact without a subscription */
    assert_int_equal(it_call(&srv, "POST", "/v1/tenants", IT_ADMIN_TOKEN, "application/json",
                             "{\"user_id\":\"acme\",\"name\":\"Acme\",\"primary_contact\":"
                             "\"ops\"}",
                             NULL),
                     200);
    it_quiet_ms(600); /* the subscriptions reload (250 ms) */
    post(1, "acme", "system", "db");
    assert_int_equal(it_sink_wait_with(sink, "/hook", "system events", 1, 10000), 1);
    assert_int_equal(it_sink_count_with(sink, "/hook", "Acme"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tenant_sees_only_its_events),
        cmocka_unit_test(test_tenant_subscriptions_are_its_own),
        cmocka_unit_test(test_subscription_validation),
        cmocka_unit_test(test_subscription_triggers_once_per_cycle),
    };
    int rc;

    it_init("tenants");
    rc = cmocka_run_group_tests_name("integration_tenants", tests, setup, teardown);
    it_fini();
    return rc;
}
