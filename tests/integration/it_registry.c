/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration tests of the metadata registry and enrichment: /v1/apps,
 * /v1/tenants, /v1/types (upsert, bulk NDJSON import, paging, validation,
 * delete), and what ingest does with them: precedence of the event's own
 * fields, gc_level from the tenant, type defaults, per-type fingerprint
 * dimensions.
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

/* Posts one event and returns its stored row's (user_id, gc_level, level, trace). */
static json_t *ingest_one(const char *body)
{
    json_t *r = it_post_events(&srv, body, 200), *ev;
    char path[96];

    snprintf(path, sizeof(path), "/v1/events?alert_id=%s&limit=1",
             json_string_value(
                 json_object_get(json_array_get(json_object_get(r, "items"), 0), "alert_id")));
    json_decref(r);
    r = it_get(&srv, path);
    ev = json_incref(json_array_get(json_object_get(r, "items"), 0));
    json_decref(r);
    return ev;
}

static void test_registry_bulk_ndjson_and_paging(void **state)
{
    size_t n = 3000, len = 0;
    char *body = malloc(n * 128);
    json_t *r = NULL;
    const char *cursor = NULL;
    size_t seen = 0;
    char path[700];

    (void)state;
    for (size_t i = 0; i < n; i++) {
        len += (size_t)sprintf(body + len,
                               "{\"app_id\":\"bulk-%05zu\",\"user_id\":\"u-%zu\",\"team\":\"t%zu\","
                               "\"tags\":{\"tier\":\"%s\"}}\n",
                               i, i % 10, i % 3, i % 2 ? "gold" : "std");
    }
    assert_int_equal(
        it_call(&srv, "POST", "/v1/apps", IT_ADMIN_TOKEN, "application/x-ndjson", body, &r), 200);
    assert_int_equal(json_integer_value(json_object_get(r, "upserted")), (json_int_t)n);
    json_decref(r);
    r = NULL;
    free(body);
    /* page through every bulk app, 1000 at a time */
    do {
        json_t *page = NULL;
        snprintf(path, sizeof(path), "/v1/apps?limit=1000%s%s", cursor ? "&cursor=" : "",
                 cursor ? cursor : "");
        assert_int_equal(it_call(&srv, "GET", path, IT_READ_TOKEN, NULL, NULL, &page), 200);
        seen += json_array_size(json_object_get(page, "items"));
        json_decref(r);
        r = page;
        cursor = json_string_value(json_object_get(r, "next_cursor"));
    } while (cursor);
    json_decref(r);
    assert_true(seen >= n);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM apps WHERE app_id LIKE 'bulk-%'"),
                     (long long)n);
    assert_int_equal(it_call(&srv, "GET", "/v1/apps/bulk-00007", IT_READ_TOKEN, NULL, NULL, &r),
                     200);
    assert_string_equal(json_string_value(json_object_get(r, "user_id")), "u-7");
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "tags"), "tier")),
                        "gold");
    json_decref(r);
}

static void test_registry_validation_is_atomic(void **state)
{
    json_t *r = NULL, *d;

    (void)state;
    assert_int_equal(
        it_call(&srv, "POST", "/v1/apps", IT_ADMIN_TOKEN, "application/x-ndjson",
                "{\"app_id\":\"atomic-1\"}\n{\"app_id\":\"atomic-2\",\"owner\":\"x\"}\n"
                "{\"app_id\":\"atomic-1\"}\n",
                &r),
        400);
    d = json_object_get(json_object_get(r, "error"), "details");
    assert_true(json_array_size(d) >= 2); /* unknown field at 1, repeated key at 2 */
    json_decref(r);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM apps WHERE app_id LIKE 'atomic-%'"), 0);
    assert_int_equal(it_call(&srv, "POST", "/v1/tenants", IT_ADMIN_TOKEN, "application/json",
                             "{\"user_id\":\"u-bad\",\"gc_level\":9}", NULL),
                     400);
    assert_int_equal(it_call(&srv, "POST", "/v1/types", IT_ADMIN_TOKEN, "application/json",
                             "{\"type\":\"T\",\"fingerprint_dims\":[\"title\"]}", NULL),
                     400);
    assert_int_equal(it_call(&srv, "POST", "/v1/types", IT_ADMIN_TOKEN, "application/json",
                             "{\"type\":\"T\",\"level\":\"P0\"}", NULL),
                     400);
    assert_int_equal(it_call(&srv, "POST", "/v1/apps", IT_READ_TOKEN, "application/json",
                             "{\"app_id\":\"x\"}", NULL),
                     403);
}

static void test_registry_enrichment_precedence(void **state)
{
    json_t *ev;

    (void)state;
    assert_int_equal(it_call(&srv, "POST", "/v1/tenants", IT_ADMIN_TOKEN, "application/json",
                             "[{\"user_id\":\"vip-tenant\",\"gc_level\":7,\"name\":\"VIP\"},"
                             "{\"user_id\":\"small-tenant\",\"gc_level\":2}]",
                             NULL),
                     200);
    assert_int_equal(
        it_call(&srv, "PUT", "/v1/apps/shop-web", IT_ADMIN_TOKEN, "application/json",
                "{\"user_id\":\"vip-tenant\",\"team\":\"shop-sre\",\"region\":\"cn-sh\"}", NULL),
        200);
    assert_int_equal(it_call(&srv, "PUT", "/v1/types/ItEnrich", IT_ADMIN_TOKEN, "application/json",
                             "{\"level\":\"P2\",\"trace\":\"data\",\"category\":\"runtime\","
                             "\"runbook_url\":\"https://runbooks/itenrich\"}",
                             NULL),
                     200);
    /* the registry fills what the event lacks */
    ev = ingest_one("{\"source\":\"probe\",\"type\":\"ItEnrich\",\"title\":\"t\","
                    "\"app_id\":\"shop-web\"}");
    assert_string_equal(json_string_value(json_object_get(ev, "user_id")), "vip-tenant");
    assert_int_equal(json_integer_value(json_object_get(ev, "gc_level")), 7);
    assert_string_equal(json_string_value(json_object_get(ev, "level")), "P2");
    assert_string_equal(json_string_value(json_object_get(ev, "trace")), "data");
    assert_string_equal(json_string_value(json_object_get(ev, "category")), "runtime");
    assert_string_equal(json_string_value(json_object_get(ev, "region")), "cn-sh");
    assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "labels"), "team")),
                        "shop-sre");
    json_decref(ev);
    /* fields the event carries win; gc_level then comes from its own tenant */
    ev = ingest_one("{\"source\":\"probe\",\"type\":\"ItEnrich\",\"title\":\"t\","
                    "\"app_id\":\"shop-web\",\"user_id\":\"small-tenant\",\"level\":\"P4\","
                    "\"trace\":\"control\",\"region\":\"cn-hz\",\"instance\":\"x\"}");
    assert_string_equal(json_string_value(json_object_get(ev, "user_id")), "small-tenant");
    assert_int_equal(json_integer_value(json_object_get(ev, "gc_level")), 2);
    assert_string_equal(json_string_value(json_object_get(ev, "level")), "P4");
    assert_string_equal(json_string_value(json_object_get(ev, "trace")), "control");
    assert_string_equal(json_string_value(json_object_get(ev, "region")), "cn-hz");
    json_decref(ev);
    /* an explicit gc_level wins over the tenant's */
    ev = ingest_one("{\"source\":\"probe\",\"type\":\"ItEnrich\",\"title\":\"t\","
                    "\"app_id\":\"shop-web\",\"gc_level\":3,\"instance\":\"y\"}");
    assert_int_equal(json_integer_value(json_object_get(ev, "gc_level")), 3);
    json_decref(ev);
    /* unknown app and type: only the built-in defaults */
    ev = ingest_one("{\"source\":\"probe\",\"type\":\"ItUnknownType\",\"title\":\"t\","
                    "\"app_id\":\"nobody\"}");
    assert_null(json_object_get(ev, "user_id"));
    assert_null(json_object_get(ev, "gc_level"));
    assert_string_equal(json_string_value(json_object_get(ev, "level")), "P4");
    json_decref(ev);
    /* a registry change applies to the next event */
    assert_int_equal(it_call(&srv, "PUT", "/v1/tenants/vip-tenant", IT_ADMIN_TOKEN,
                             "application/json", "{\"gc_level\":6}", NULL),
                     200);
    ev = ingest_one("{\"source\":\"probe\",\"type\":\"ItEnrich\",\"title\":\"t\","
                    "\"app_id\":\"shop-web\",\"instance\":\"z\"}");
    assert_int_equal(json_integer_value(json_object_get(ev, "gc_level")), 6);
    json_decref(ev);
}

static void test_registry_type_fingerprint_dims(void **state)
{
    json_t *a, *b, *c;
    const char *e1 = "{\"source\":\"probe\",\"type\":\"ItDims\",\"title\":\"t\",\"app_id\":\"a\","
                     "\"instance\":\"pod-1\",\"labels\":{\"route\":\"/api\"}}";
    const char *e2 = "{\"source\":\"probe\",\"type\":\"ItDims\",\"title\":\"t\",\"app_id\":\"a\","
                     "\"instance\":\"pod-2\",\"labels\":{\"route\":\"/api\"}}";
    const char *e3 = "{\"source\":\"probe\",\"type\":\"ItDims\",\"title\":\"t\",\"app_id\":\"a\","
                     "\"instance\":\"pod-1\",\"labels\":{\"route\":\"/health\"}}";

    (void)state;
    /* by default the instance separates alerts */
    a = it_post_events(&srv, e1, 200);
    b = it_post_events(&srv, e2, 200);
    assert_string_not_equal(json_string_value(json_object_get(
                                json_array_get(json_object_get(a, "items"), 0), "fingerprint")),
                            json_string_value(json_object_get(
                                json_array_get(json_object_get(b, "items"), 0), "fingerprint")));
    json_decref(a);
    json_decref(b);
    /* the type says: app and route only */
    assert_int_equal(it_call(&srv, "PUT", "/v1/types/ItDims", IT_ADMIN_TOKEN, "application/json",
                             "{\"fingerprint_dims\":[\"app_id\",\"labels.route\"]}", NULL),
                     200);
    a = it_post_events(&srv, e1, 200);
    b = it_post_events(&srv, e2, 200);
    c = it_post_events(&srv, e3, 200);
#define FP(x)                                                                                      \
    json_string_value(                                                                             \
        json_object_get(json_array_get(json_object_get(x, "items"), 0), "fingerprint"))
#define AL(x)                                                                                      \
    json_string_value(json_object_get(json_array_get(json_object_get(x, "items"), 0), "alert_id"))
    assert_string_equal(FP(a), FP(b));
    assert_string_equal(AL(a), AL(b)); /* pods fold together now */
    assert_string_not_equal(FP(a), FP(c));
    json_decref(a);
    json_decref(b);
    json_decref(c);
}

static void test_registry_delete(void **state)
{
    json_t *r = NULL;

    (void)state;
    assert_int_equal(it_call(&srv, "PUT", "/v1/apps/gone", IT_ADMIN_TOKEN, "application/json",
                             "{\"team\":\"x\"}", NULL),
                     200);
    assert_int_equal(it_call(&srv, "DELETE", "/v1/apps/gone", IT_ADMIN_TOKEN, NULL, NULL, &r), 200);
    assert_string_equal(json_string_value(json_object_get(r, "app_id")), "gone");
    json_decref(r);
    assert_int_equal(it_call(&srv, "GET", "/v1/apps/gone", IT_READ_TOKEN, NULL, NULL, NULL), 404);
    assert_int_equal(it_call(&srv, "DELETE", "/v1/apps/gone", IT_ADMIN_TOKEN, NULL, NULL, NULL),
                     404);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM audit_log WHERE action IN ('app.upsert', "
                               "'app.delete') AND target_id = 'gone'"),
                     2);
}

static bool has_type(json_t *events, const char *type)
{
    size_t i;
    json_t *e;

    json_array_foreach(events, i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "type")), type) == 0) {
            return true;
        }
    }
    return false;
}

static void test_registry_context_and_runbook(void **state)
{
    json_t *r, *alert, *related;
    char path[96];

    (void)state;
    assert_int_equal(it_call(&srv, "PUT", "/v1/types/ItCtxA", IT_ADMIN_TOKEN, "application/json",
                             "{\"runbook_url\":\"https://runbooks/ctx-a\"}", NULL),
                     200);
    r = it_post_events(
        &srv,
        "[{\"source\":\"p\",\"type\":\"ItCtxA\",\"title\":\"t\",\"app_id\":\"ctx-app\","
        "\"resource\":{\"kind\":\"Pod\",\"namespace\":\"ns\",\"name\":\"pod-1\"}},"
        "{\"source\":\"p\",\"type\":\"ItCtxSameApp\",\"title\":\"t\",\"app_id\":"
        "\"ctx-app\"},"
        "{\"source\":\"p\",\"type\":\"ItCtxSamePod\",\"title\":\"t\",\"app_id\":"
        "\"other\",\"resource\":{\"kind\":\"Pod\",\"namespace\":\"ns\",\"name\":\"pod-1\"}},"
        "{\"source\":\"p\",\"type\":\"ItCtxOtherPod\",\"title\":\"t\",\"app_id\":"
        "\"other\",\"resource\":{\"kind\":\"Pod\",\"namespace\":\"ns2\",\"name\":"
        "\"pod-1\"}},"
        "{\"source\":\"p\",\"type\":\"ItCtxA\",\"title\":\"again\",\"app_id\":"
        "\"ctx-app\",\"resource\":{\"kind\":\"Pod\",\"namespace\":\"ns\",\"name\":"
        "\"pod-1\"}}]",
        200);
    snprintf(path, sizeof(path), "/v1/alerts/%s",
             json_string_value(
                 json_object_get(json_array_get(json_object_get(r, "items"), 0), "alert_id")));
    json_decref(r);
    alert = it_get(&srv, path);
    assert_string_equal(json_string_value(json_object_get(alert, "runbook_url")),
                        "https://runbooks/ctx-a");
    related = json_object_get(alert, "related");
    assert_true(has_type(related, "ItCtxSameApp"));
    assert_true(has_type(related, "ItCtxSamePod"));
    assert_false(has_type(related, "ItCtxOtherPod")); /* same name, other namespace */
    assert_false(has_type(related, "ItCtxA"));        /* its own events are not "related" */
    json_decref(alert);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry_bulk_ndjson_and_paging),
        cmocka_unit_test(test_registry_validation_is_atomic),
        cmocka_unit_test(test_registry_enrichment_precedence),
        cmocka_unit_test(test_registry_type_fingerprint_dims),
        cmocka_unit_test(test_registry_delete),
        cmocka_unit_test(test_registry_context_and_runbook),
    };
    int rc;

    it_init("registry");
    rc = cmocka_run_group_tests_name("integration_registry", tests, setup, teardown);
    it_fini();
    return rc;
}
