/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Database tokens and the auth walk: tokens made through /v1/tokens and
 * `alertcenter token`, used, listed without secrets, expired, revoked (in
 * force on a second instance within a second), with the config and AC_*
 * tokens working throughout; then every registered route walked with no
 * token, a token of the wrong scope, an expired one and a revoked one.
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

static struct it_server srv, srv2; /* two instances, one database */

static int setup(void **state)
{
    (void)state;
    it_server_start(&srv, NULL);
    it_server_start(&srv2, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(it_server_stop(&srv2), 0);
    assert_int_equal(it_server_stop(&srv), 0);
    return 0;
}

/* Makes a token through the API; its secret in secret, its id returned (new). */
static char *make_token(const char *spec, char *secret, size_t len)
{
    json_t *r = NULL;
    char *id;

    assert_int_equal(it_req(&srv, "POST", "/v1/tokens", spec, &r), 201);
    snprintf(secret, len, "%s", json_string_value(json_object_get(r, "token")));
    assert_true(strncmp(secret, "act_", 4) == 0 && strlen(secret) == 47);
    id = strdup(json_string_value(json_object_get(r, "id")));
    json_decref(r);
    return id;
}

static long status_as(const struct it_server *s, const char *method, const char *path,
                      const char *token)
{
    return it_call(s, method, path, token, NULL, NULL, NULL);
}

/* GET /v1/alerts (method/path) on s with token answers want. */
struct expect {
    const struct it_server *s;
    const char *method, *path, *token;
    long want;
};

static bool answers(void *arg)
{
    struct expect *e = arg;
    return status_as(e->s, e->method, e->path, e->token) == e->want;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool last_used_set(void *arg)
{
    return it_sql_llf("SELECT count(*) FROM api_tokens WHERE id = %s AND last_used_at IS NOT NULL",
                      (const char *)arg) == 1;
}

static void test_tokens_api(void **state)
{
    char secret[64], path[64], *id;
    json_t *r = NULL, *list = NULL;
    struct expect on2;
    long long t0;

    (void)state;
    id = make_token("{\"name\":\"reader\",\"scopes\":[\"read\"]}", secret, sizeof(secret));
    /* it works at once, on both instances, with its scope only */
    assert_int_equal(status_as(&srv, "GET", "/v1/alerts", secret), 200);
    assert_int_equal(status_as(&srv, "POST", "/v1/events", secret), 403);
    on2 = (struct expect){&srv2, "GET", "/v1/alerts", secret, 200};
    assert_true(it_wait_until(answers, &on2, 1000));
    /* listed and shown without the secret or its digest */
    assert_int_equal(it_req(&srv, "GET", "/v1/tokens", NULL, &list), 200);
    {
        char *text = json_dumps(list, 0);
        assert_null(strstr(text, secret));
        assert_null(strstr(text, "sha256"));
        free(text);
    }
    json_decref(list);
    snprintf(path, sizeof(path), "/v1/tokens/%s", id);
    assert_int_equal(it_req(&srv, "GET", path, NULL, &r), 200);
    assert_string_equal(json_string_value(json_object_get(r, "state")), "active");
    assert_null(json_object_get(r, "token"));
    json_decref(r);
    assert_int_equal(it_sql_llf("SELECT count(*) FROM audit_log WHERE action = 'token.create' AND"
                                " target_id = '%s' AND actor = 'token:admin'",
                                id),
                     1);
    /* its last use is written back (every 5 s) */
    assert_true(it_wait_until(last_used_set, id, 15000));
    /* bad ones are refused, nothing stored */
    assert_int_equal(
        it_req(&srv, "POST", "/v1/tokens", "{\"name\":\"reader\",\"scopes\":[\"read\"]}", NULL),
        409);
    assert_int_equal(it_req(&srv, "POST", "/v1/tokens",
                            "{\"name\":\"x y\",\"scopes\":[\"root\"],\"expires_in_s\":0}", &r),
                     400);
    assert_int_equal(json_array_size(json_object_get(json_object_get(r, "error"), "details")), 3);
    json_decref(r);
    /* revoked through one instance: refused there at once, on the other within a second */
    t0 = now_ms();
    assert_int_equal(it_req(&srv, "DELETE", path, NULL, &r), 200);
    assert_string_equal(json_string_value(json_object_get(r, "state")), "revoked");
    json_decref(r);
    assert_int_equal(status_as(&srv, "GET", "/v1/alerts", secret), 401);
    on2.want = 401;
    assert_true(it_wait_until(answers, &on2, 1000));
    printf("# revoked on the other instance within %lld ms\n", now_ms() - t0);
    /* an expired token: 401 saying so */
    free(id);
    id = make_token("{\"name\":\"brief\",\"scopes\":[\"read\"],\"expires_in_s\":1}", secret,
                    sizeof(secret));
    assert_int_equal(status_as(&srv, "GET", "/v1/alerts", secret), 200);
    it_quiet_ms(1200); /* past its expiry */
    assert_int_equal(it_req_as(&srv, "GET", "/v1/alerts", secret, NULL, &r), 401);
    assert_non_null(strstr(
        json_string_value(json_object_get(json_object_get(r, "error"), "message")), "expired"));
    json_decref(r);
    /* the config's tokens were never in question */
    assert_int_equal(status_as(&srv, "GET", "/v1/alerts", IT_READ_TOKEN), 200);
    free(id);
}

/* `alertcenter token create|list|revoke` against the same database. */
static void test_tokens_cli(void **state)
{
    char cmd[1024], dsn[256], *out = NULL, secret[64];
    json_t *made;
    struct expect on2 = {&srv2, "GET", "/v1/alerts", secret, 403}; /* ingest only */

    (void)state;
    it_dsn_for_port(it_pg_port(), dsn, sizeof(dsn));
    snprintf(cmd, sizeof(cmd),
             "AC_PG_DSN='%s' USER=ops %s token create --name cli-ingest --scopes ingest "
             "--expires-in-s 3600",
             dsn, getenv("AC_TEST_BINARY"));
    assert_int_equal(it_run(cmd, &out), 0);
    made = strchr(out, '{') ? json_loads(strchr(out, '{'), JSON_DISABLE_EOF_CHECK, NULL) : NULL;
    free(out);
    assert_non_null(made);
    snprintf(secret, sizeof(secret), "%s", json_string_value(json_object_get(made, "token")));
    json_decref(made);
    /* made outside the API: in force on a running instance within a second */
    assert_true(it_wait_until(answers, &on2, 1000));
    snprintf(cmd, sizeof(cmd), "AC_PG_DSN='%s' %s token list", dsn, getenv("AC_TEST_BINARY"));
    assert_int_equal(it_run(cmd, &out), 0);
    assert_non_null(strstr(out, "\"cli-ingest\""));
    assert_null(strstr(out, secret));
    free(out);
    snprintf(cmd, sizeof(cmd), "AC_PG_DSN='%s' USER=ops %s token revoke cli-ingest", dsn,
             getenv("AC_TEST_BINARY"));
    assert_int_equal(it_run(cmd, NULL), 0);
    on2.want = 401;
    assert_true(it_wait_until(answers, &on2, 1000));
    assert_int_equal(it_sql_ll("SELECT count(*) FROM audit_log WHERE actor = 'cli:ops' AND action"
                               " IN ('token.create', 'token.revoke')"),
                     2);
    snprintf(cmd, sizeof(cmd), "AC_PG_DSN='%s' %s token revoke no-such-token", dsn,
             getenv("AC_TEST_BINARY"));
    assert_int_equal(it_run(cmd, NULL), 1);
}

/* A token lacking every scope of need ("read", "admin|tenant", ...). */
static const char *lacking(const char *need, const char *reader, const char *ingester,
                           const char *operator)
{
    if (strcmp(need, "read") == 0 || strcmp(need, "read|tenant") == 0) {
        return ingester;
    }
    if (strcmp(need, "admin") == 0 || strcmp(need, "admin|tenant") == 0) {
        return operator;
    }
    return reader; /* ingest, operate */
}

/* Every registered route: no token, the wrong scope, expired, revoked. */
static void test_auth_walk(void **state)
{
    char reader[64], ingester[64], operator[64], expired[64], revoked[64], cmd[512], url[256];
    char tenant[64];
    char *out = NULL, *rid, *ids[5];
    json_t *routes, *rt;
    size_t i;
    int walked = 0;

    (void)state;
    ids[0] = make_token("{\"name\":\"walk-read\",\"scopes\":[\"read\"]}", reader, sizeof(reader));
    ids[1] = make_token("{\"name\":\"walk-ingest\",\"scopes\":[\"ingest\"]}", ingester,
                        sizeof(ingester));
    ids[2] = make_token("{\"name\":\"walk-operate\",\"scopes\":[\"read\",\"operate\"]}", operator,
                        sizeof(operator));
    ids[3] = make_token("{\"name\":\"walk-expired\",\"scopes\":[\"admin\"],\"expires_in_s\":1}",
                        expired, sizeof(expired));
    /* bound to a tenant, with admin too: still only the tenant routes */
    ids[4] = make_token(
        "{\"name\":\"walk-tenant\",\"scopes\":[\"tenant\",\"admin\"],\"tenant\":\"walk\"}", tenant,
        sizeof(tenant));
    rid =
        make_token("{\"name\":\"walk-revoked\",\"scopes\":[\"admin\"]}", revoked, sizeof(revoked));
    snprintf(url, sizeof(url), "/v1/tokens/%s", rid);
    assert_int_equal(it_req(&srv, "DELETE", url, NULL, NULL), 200);
    it_quiet_ms(1200); /* past the expiry */
    snprintf(cmd, sizeof(cmd), "%s routes", getenv("AC_TEST_BINARY"));
    assert_int_equal(it_run(cmd, &out), 0);
    routes = json_loads(out, 0, NULL);
    free(out);
    json_array_foreach(routes, i, rt)
    {
        const char *method = json_string_value(json_object_get(rt, "method"));
        const char *scope = json_string_value(json_object_get(rt, "scope"));
        const char *wrong = lacking(scope, reader, ingester, operator);
        size_t n = 0;
        long st;

        if (strcmp(scope, "public") == 0) {
            continue;
        }
        for (const char *p = json_string_value(json_object_get(rt, "path")); *p; p++) {
            n += (size_t)snprintf(url + n, sizeof(url) - n, *p == '*' ? "999999" : "%c", *p);
        }
        if ((st = status_as(&srv, method, url, NULL)) != 401) {
            fail_msg("%s %s without a token: %ld", method, url, st);
        }
        if ((st = status_as(&srv, method, url, wrong)) != 403) {
            fail_msg("%s %s (scope %s) with a token lacking it: %ld", method, url, scope, st);
        }
        if ((st = status_as(&srv, method, url, expired)) != 401) {
            fail_msg("%s %s with an expired token: %ld", method, url, st);
        }
        if ((st = status_as(&srv2, method, url, revoked)) != 401) {
            fail_msg("%s %s with a revoked token: %ld", method, url, st);
        }
        if (!strstr(scope, "tenant") && (st = status_as(&srv, method, url, tenant)) != 403) {
            fail_msg("%s %s with a token bound to a tenant: %ld", method, url, st);
        }
        walked++;
    }
    printf("# %d routes walked x 5 credentials\n", walked);
    assert_true(walked > 70);
    json_decref(routes);
    for (int k = 0; k < 5; k++) {
        free(ids[k]);
    }
    free(rid);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens_api),
        cmocka_unit_test(test_tokens_cli),
        cmocka_unit_test(test_auth_walk),
    };
    int rc;

    it_init("tokens");
    rc = cmocka_run_group_tests_name("integration_tokens", tests, setup, teardown);
    it_fini();
    return rc;
}
