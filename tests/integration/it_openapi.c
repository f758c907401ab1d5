/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The OpenAPI document kept true: GET /openapi.json (no token) serves
 * docs/openapi.json; every route the server registers (`alertcenter
 * routes`) is documented with its scope and every documented operation is
 * registered; the Event schema is schema/event.schema.json itself; and
 * every documented query parameter is accepted by the real server (a
 * parameter it does not document is refused by the lists).
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
static json_t *doc; /* docs/openapi.json */

static int setup(void **state)
{
    json_error_t e;

    (void)state;
    doc = json_load_file(AC_SOURCE_DIR "/docs/openapi.json", 0, &e);
    if (!doc) {
        fprintf(stderr, "docs/openapi.json: %s (line %d)\n", e.text, e.line);
        return -1;
    }
    it_server_start(&srv, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    json_decref(doc);
    assert_int_equal(it_server_stop(&srv), 0);
    return 0;
}

/* "/v1/alerts/{id}/ack" -> "/v1/alerts/ * /ack" as the server writes it (no spaces). */
static void to_route(const char *path, char *out, size_t len)
{
    size_t n = 0;

    for (const char *p = path; *p && n + 1 < len; p++) {
        if (*p == '{') {
            out[n++] = '*';
            p = strchr(p, '}');
            assert_non_null(p);
        }
        else {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
}

static void lower(const char *in, char *out, size_t len)
{
    size_t i = 0;

    for (; in[i] && i + 1 < len; i++) {
        out[i] = (char)(in[i] >= 'A' && in[i] <= 'Z' ? in[i] - 'A' + 'a' : in[i]);
    }
    out[i] = '\0';
}

static void test_openapi_served(void **state)
{
    json_t *served = NULL;

    (void)state;
    assert_int_equal(it_call(&srv, "GET", "/openapi.json", NULL, NULL, NULL, &served), 200);
    assert_true(json_equal(served, doc));
    assert_string_equal(json_string_value(json_object_get(served, "openapi")), "3.1.0");
    json_decref(served);
}

static void test_openapi_event_schema_is_the_model(void **state)
{
    json_t *ev = json_load_file(AC_SOURCE_DIR "/schema/event.schema.json", 0, NULL);

    (void)state;
    assert_non_null(ev);
    assert_true(json_equal(
        ev,
        json_object_get(json_object_get(json_object_get(doc, "components"), "schemas"), "Event")));
    json_decref(ev);
}

/* Both ways, with the scope. */
static void test_openapi_covers_every_route(void **state)
{
    char cmd[512], *out = NULL, route[256], m[16];
    json_t *routes, *r, *paths = json_object_get(doc, "paths"), *item, *op;
    const char *path, *method;
    size_t i, documented = 0;

    (void)state;
    snprintf(cmd, sizeof(cmd), "%s routes", getenv("AC_TEST_BINARY"));
    assert_int_equal(it_run(cmd, &out), 0);
    routes = json_loads(out, 0, NULL);
    free(out);
    assert_non_null(routes);
    assert_true(json_array_size(routes) > 70);
    /* every registered route is documented, with its scope */
    json_array_foreach(routes, i, r)
    {
        const char *rp = json_string_value(json_object_get(r, "path"));
        bool found = false;
        lower(json_string_value(json_object_get(r, "method")), m, sizeof(m));
        json_object_foreach(paths, path, item)
        {
            to_route(path, route, sizeof(route));
            if (strcmp(route, rp) == 0 && (op = json_object_get(item, m))) {
                found = true;
                if (strcmp(json_string_value(json_object_get(op, "x-scope")),
                           json_string_value(json_object_get(r, "scope"))) != 0) {
                    fail_msg("%s %s: documented scope %s, registered %s", m, rp,
                             json_string_value(json_object_get(op, "x-scope")),
                             json_string_value(json_object_get(r, "scope")));
                }
                /* a route with a scope says it needs the bearer token */
                assert_int_equal(
                    json_array_size(json_object_get(op, "security")),
                    strcmp(json_string_value(json_object_get(r, "scope")), "public") ? 1 : 0);
            }
        }
        if (!found) {
            fail_msg("%s %s is registered but not in docs/openapi.json", m, rp);
        }
    }
    /* every documented operation is registered */
    json_object_foreach(paths, path, item)
    {
        to_route(path, route, sizeof(route));
        json_object_foreach(item, method, op)
        {
            bool found = false;
            documented++;
            json_array_foreach(routes, i, r)
            {
                lower(json_string_value(json_object_get(r, "method")), m, sizeof(m));
                if (strcmp(m, method) == 0 &&
                    strcmp(json_string_value(json_object_get(r, "path")), route) == 0) {
                    found = true;
                }
            }
            if (!found) {
                fail_msg("%s %s is documented but the server has no such route", method, path);
            }
        }
    }
    assert_int_equal(documented, json_array_size(routes));
    json_decref(routes);
}

/* A value the parameter's schema allows. */
static const char *sample(const json_t *schema)
{
    const char *type = json_string_value(json_object_get(schema, "type"));
    const char *format = json_string_value(json_object_get(schema, "format"));

    if (json_is_string(json_object_get(schema, "example"))) {
        return json_string_value(json_object_get(schema, "example"));
    }
    if (format && strcmp(format, "date-time") == 0) {
        return "2026-01-01T00:00:00Z";
    }
    if ((type && strcmp(type, "integer") == 0) || json_object_get(schema, "pattern")) {
        return "1";
    }
    return "x";
}

/* Each documented query parameter, alone, is accepted (not a 400); a list
 * refuses one it does not document. */
static void test_openapi_query_parameters_accepted(void **state)
{
    json_t *paths = json_object_get(doc, "paths"), *item, *get, *params, *p;
    const char *path;
    char route[256], url[512];
    size_t i;
    int checked = 0;

    (void)state;
    json_object_foreach(paths, path, item)
    {
        bool list = false;
        if (!(get = json_object_get(item, "get")) ||
            !(params = json_object_get(get, "parameters"))) {
            continue;
        }
        /* path parameters: any id (the object need not exist) */
        to_route(path, route, sizeof(route));
        for (char *star; (star = strchr(route, '*'));) {
            *star = '1';
        }
        json_array_foreach(params, i, p)
        {
            const char *name = json_string_value(json_object_get(p, "name"));
            json_t *resp = NULL;
            long st;
            if (strcmp(json_string_value(json_object_get(p, "in")), "query") != 0) {
                continue;
            }
            list = list || strcmp(name, "cursor") == 0;
            if (strcmp(name, "cursor") == 0) {
                continue; /* only the server's own cursors are valid */
            }
            /* every value of an enum, else one the schema allows */
            for (size_t k = 0;; k++) {
                const json_t *en = json_object_get(json_object_get(p, "schema"), "enum");
                const char *v = en ? json_string_value(json_array_get(en, k))
                                   : (k ? NULL : sample(json_object_get(p, "schema")));
                if (!v) {
                    break;
                }
                snprintf(url, sizeof(url), "%s?%s=%s", route, name, v);
                st = it_req(&srv, "GET", url, NULL, &resp);
                if (st == 400) {
                    fail_msg("GET %s: 400 %s", url, json_dumps(resp, 0));
                }
                json_decref(resp);
                checked++;
            }
        }
        if (list) {
            snprintf(url, sizeof(url), "%s?nosuchparameter=1", route);
            assert_int_equal(it_req(&srv, "GET", url, NULL, NULL), 400);
        }
    }
    printf("# %d documented query parameters accepted\n", checked);
    assert_true(checked > 50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openapi_served),
        cmocka_unit_test(test_openapi_event_schema_is_the_model),
        cmocka_unit_test(test_openapi_covers_every_route),
        cmocka_unit_test(test_openapi_query_parameters_accepted),
    };
    int rc;

    it_init("openapi");
    rc = cmocka_run_group_tests_name("integration_openapi", tests, setup, teardown);
    it_fini();
    return rc;
}
