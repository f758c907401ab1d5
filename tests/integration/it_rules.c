/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration tests of filter rules: the /v1/rules API (CRUD, validation,
 * scopes, audit), dropping and allowing through the pipeline, drop counts,
 * expiry, hot reload on a second instance, and seeding from the config.
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

#define SEED_CONFIG                                                                                \
    "{\"filters\":{\"rules\":[{\"name\":\"seed-noise\",\"position\":1000,\"action\":\"drop\","     \
    "\"comment\":\"from config\",\"matchers\":[{\"name\":\"type\",\"op\":\"=\",\"value\":"         \
    "\"ItSeedNoise\"}]}]}}"

static struct it_server srv;

static int setup(void **state)
{
    (void)state;
    it_server_start_config(&srv, SEED_CONFIG, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(it_server_stop(&srv), 0);
    return 0;
}
static long long count_type(const char *type)
{
    return it_sql_llf("SELECT count(*) FROM events WHERE type = '%s'", type);
}

/* Posts one event of type/app; returns whether it was dropped. */
static bool post_dropped(const struct it_server *s, const char *type, const char *app)
{
    char body[256];
    struct it_resp r;
    bool dropped;

    snprintf(body, sizeof(body),
             "{\"source\":\"probe\",\"type\":\"%s\",\"title\":\"t\",\"app_id\":\"%s\"}", type, app);
    assert_int_equal(it_http(s, "POST", "/v1/events", IT_ADMIN_TOKEN, "application/json", body,
                             strlen(body), &r),
                     0);
    assert_int_equal(r.status, 200); /* a drop still succeeds */
    dropped = json_is_true(
        json_object_get(json_array_get(json_object_get(r.json, "items"), 0), "dropped"));
    it_resp_free(&r);
    return dropped;
}

static void test_rules_crud_and_audit(void **state)
{
    char *id;
    char path[64];
    json_t *r = NULL, *list = NULL;

    (void)state;
    id = it_create(&srv, "/v1/rules",
                   "{\"name\":\"crud\",\"action\":\"drop\",\"comment\":\"first\","
                   "\"matchers\":[{\"name\":\"type\",\"op\":\"=\",\"value\":\"ItCrud\"}]}");
    snprintf(path, sizeof(path), "/v1/rules/%s", id);
    assert_int_equal(it_req_as(&srv, "GET", path, IT_READ_TOKEN, NULL, &r), 200);
    assert_string_equal(json_string_value(json_object_get(r, "action")), "drop");
    assert_string_equal(json_string_value(json_object_get(r, "created_by")), "token:admin");
    assert_int_equal(json_integer_value(json_object_get(r, "dropped")), 0);
    json_decref(r);
    /* the list holds it, in position order, after the seeded rule's lower positions */
    assert_int_equal(it_req_as(&srv, "GET", "/v1/rules", IT_READ_TOKEN, NULL, &list), 200);
    assert_true(json_array_size(json_object_get(list, "items")) >= 2);
    assert_true(json_is_null(json_object_get(list, "next_cursor")));
    json_decref(list);
    /* a second rule with the same name conflicts */
    assert_int_equal(it_req_as(&srv, "POST", "/v1/rules", IT_ADMIN_TOKEN,
                               "{\"name\":\"crud\",\"action\":\"allow\",\"matchers\":[{\"name\":"
                               "\"type\",\"op\":\"=\",\"value\":\"x\"}]}",
                               NULL),
                     409);
    /* replace it */
    assert_int_equal(
        it_req_as(&srv, "PUT", path, IT_ADMIN_TOKEN,
                  "{\"name\":\"crud\",\"action\":\"allow\",\"position\":7,\"matchers\":[{"
                  "\"name\":\"type\",\"op\":\"=\",\"value\":\"ItCrud\"}]}",
                  &r),
        200);
    assert_string_equal(json_string_value(json_object_get(r, "action")), "allow");
    assert_int_equal(json_integer_value(json_object_get(r, "position")), 7);
    json_decref(r);
    /* the read scope cannot change rules */
    assert_int_equal(it_req_as(&srv, "DELETE", path, IT_READ_TOKEN, NULL, NULL), 403);
    assert_int_equal(it_req_as(&srv, "DELETE", path, IT_ADMIN_TOKEN, NULL, NULL), 200);
    assert_int_equal(it_req_as(&srv, "GET", path, IT_READ_TOKEN, NULL, NULL), 404);
    assert_int_equal(it_req_as(&srv, "PUT", path, IT_ADMIN_TOKEN,
                               "{\"action\":\"drop\",\"matchers\":[{\"name\":\"type\",\"op\":\"=\","
                               "\"value\":\"x\"}]}",
                               NULL),
                     404);
    {
        char sql[200];
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM audit_log WHERE target_type = 'rule' AND target_id = '%s' "
                 "AND action IN ('rule.create', 'rule.update', 'rule.delete')",
                 id);
        assert_int_equal(it_sql_ll(sql), 3);
    }
    free(id);
}

static void test_rules_bad_rule_names_matcher(void **state)
{
    json_t *r = NULL, *d;

    (void)state;
    assert_int_equal(
        it_req_as(&srv, "POST", "/v1/rules", IT_ADMIN_TOKEN,
                  "{\"action\":\"drop\",\"matchers\":[{\"name\":\"type\",\"op\":\"=\","
                  "\"value\":\"ok\"},{\"name\":\"app_id\",\"op\":\"=~\",\"value\":\"(\"}]}",
                  &r),
        400);
    d = json_array_get(json_object_get(json_object_get(r, "error"), "details"), 0);
    assert_string_equal(json_string_value(json_object_get(d, "path")), "$.matchers[1].value");
    assert_non_null(strstr(json_string_value(json_object_get(d, "message")), "regular expression"));
    json_decref(r);
    assert_int_equal(it_req_as(&srv, "POST", "/v1/rules", IT_ADMIN_TOKEN, "{\"action\":", NULL),
                     400);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM filter_rules WHERE matchers::text LIKE "
                               "'%\"ok\"%'"),
                     0);
}

static void test_rules_drop_allow_and_counts(void **state)
{
    char *allow, *drop, path[64];
    json_t *r = NULL;
    long long dropped = -1;

    (void)state;
    allow = it_create(&srv, "/v1/rules",
                      "{\"position\":5,\"action\":\"allow\",\"matchers\":[{\"name\":\"app_id\","
                      "\"op\":\"=~\",\"value\":\"vip-.*\"}]}");
    drop = it_create(&srv, "/v1/rules",
                     "{\"position\":10,\"action\":\"drop\",\"matchers\":[{\"name\":\"type\","
                     "\"op\":\"=\",\"value\":\"ItNoisy\"}]}");
    /* the creating instance reloads at once */
    assert_true(post_dropped(&srv, "ItNoisy", "app-1"));
    assert_true(post_dropped(&srv, "ItNoisy", "app-2"));
    assert_false(post_dropped(&srv, "ItNoisy", "vip-1")); /* exempted by the allow rule */
    assert_false(post_dropped(&srv, "ItQuiet", "app-1"));
    assert_int_equal(count_type("ItNoisy"), 1); /* dropped events are never stored */
    /* drop counts reach the rule (the filter flushes them to PostgreSQL) */
    assert_true(it_wait_sql(2, 5000, "SELECT dropped FROM filter_rules WHERE id = %s", drop));
    snprintf(path, sizeof(path), "/v1/rules/%s", drop);
    assert_int_equal(it_req_as(&srv, "GET", path, IT_READ_TOKEN, NULL, &r), 200);
    dropped = json_integer_value(json_object_get(r, "dropped"));
    json_decref(r);
    assert_int_equal(dropped, 2);
    /* a mixed batch still succeeds and stores only what passes */
    {
        const char *batch = "[{\"source\":\"p\",\"type\":\"ItNoisy\",\"title\":\"a\"},"
                            "{\"source\":\"p\",\"type\":\"ItMixed\",\"title\":\"b\"}]";
        json_t *resp = it_post_events(&srv, batch, 200);
        assert_int_equal(json_integer_value(json_object_get(resp, "accepted")), 1);
        assert_int_equal(json_integer_value(json_object_get(resp, "dropped")), 1);
        assert_string_equal(json_string_value(json_object_get(
                                json_array_get(json_object_get(resp, "items"), 0), "rule_id")),
                            drop);
        assert_non_null(
            json_object_get(json_array_get(json_object_get(resp, "items"), 1), "event_id"));
        json_decref(resp);
    }
    assert_int_equal(count_type("ItMixed"), 1);
    snprintf(path, sizeof(path), "/v1/rules/%s", allow);
    assert_int_equal(it_req_as(&srv, "DELETE", path, IT_ADMIN_TOKEN, NULL, NULL), 200);
    snprintf(path, sizeof(path), "/v1/rules/%s", drop);
    assert_int_equal(it_req_as(&srv, "DELETE", path, IT_ADMIN_TOKEN, NULL, NULL), 200);
    assert_false(post_dropped(&srv, "ItNoisy", "app-3"));
    free(allow);
    free(drop);
}

static void test_rules_expired_rule_is_ignored(void **state)
{
    char *id, *twin, path[64];

    (void)state;
    id = it_create(&srv, "/v1/rules",
                   "{\"action\":\"drop\",\"expires_at\":\"2020-01-01T00:00:00Z\",\"matchers\":[{"
                   "\"name\":\"type\",\"op\":\"=\",\"value\":\"ItExpired\"}]}");
    /* its unexpired twin drops: so the expiry, not the rule, lets events in */
    twin = it_create(&srv, "/v1/rules",
                     "{\"action\":\"drop\",\"expires_at\":\"2999-01-01T00:00:00Z\",\"matchers\":"
                     "[{\"name\":\"type\",\"op\":\"=\",\"value\":\"ItUnexpired\"}]}");
    assert_false(post_dropped(&srv, "ItExpired", "a"));
    assert_true(post_dropped(&srv, "ItUnexpired", "a"));
    snprintf(path, sizeof(path), "/v1/rules/%s", id);
    assert_int_equal(it_req_as(&srv, "DELETE", path, IT_ADMIN_TOKEN, NULL, NULL), 200);
    snprintf(path, sizeof(path), "/v1/rules/%s", twin);
    assert_int_equal(it_req_as(&srv, "DELETE", path, IT_ADMIN_TOKEN, NULL, NULL), 200);
    free(id);
    free(twin);
}

struct second {
    struct it_server *s;
};

static bool second_drops(void *arg)
{
    return post_dropped(((struct second *)arg)->s, "ItRemote", "a");
}

static void test_rules_reach_another_instance_within_1s(void **state)
{
    struct it_server b = {0};
    struct second arg = {&b};
    char *id, path[64];

    (void)state;
    it_server_start(&b, NULL);
    assert_false(post_dropped(&b, "ItRemote", "a"));
    id = it_create(&srv, "/v1/rules",
                   "{\"action\":\"drop\",\"matchers\":[{\"name\":\"type\",\"op\":\"=\","
                   "\"value\":\"ItRemote\"}]}");
    /* created through the first instance; the second learns of it by polling */
    assert_true(it_wait_until(second_drops, &arg, 1000));
    snprintf(path, sizeof(path), "/v1/rules/%s", id);
    assert_int_equal(it_req_as(&srv, "DELETE", path, IT_ADMIN_TOKEN, NULL, NULL), 200);
    assert_int_equal(it_server_stop(&b), 0);
    free(id);
}

static void test_rules_seeded_from_config(void **state)
{
    json_t *list = NULL, *it;
    size_t i;
    int seen = 0;

    (void)state;
    assert_true(post_dropped(&srv, "ItSeedNoise", "a"));
    assert_int_equal(it_req_as(&srv, "GET", "/v1/rules", IT_READ_TOKEN, NULL, &list), 200);
    json_array_foreach(json_object_get(list, "items"), i, it)
    {
        if (json_object_get(it, "name") && json_is_string(json_object_get(it, "name")) &&
            strcmp(json_string_value(json_object_get(it, "name")), "seed-noise") == 0) {
            seen++;
            assert_string_equal(json_string_value(json_object_get(it, "created_by")), "config");
        }
    }
    json_decref(list);
    assert_int_equal(seen, 1);
    /* a restart seeds again but does not duplicate */
    assert_int_equal(it_server_stop(&srv), 0);
    it_server_start_config(&srv, SEED_CONFIG, NULL);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM filter_rules WHERE name = 'seed-noise'"), 1);
    assert_true(post_dropped(&srv, "ItSeedNoise", "b"));
    assert_int_equal(count_type("ItSeedNoise"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules_crud_and_audit),
        cmocka_unit_test(test_rules_bad_rule_names_matcher),
        cmocka_unit_test(test_rules_drop_allow_and_counts),
        cmocka_unit_test(test_rules_expired_rule_is_ignored),
        cmocka_unit_test(test_rules_reach_another_instance_within_1s),
        cmocka_unit_test(test_rules_seeded_from_config),
    };
    int rc;

    it_init("rules");
    rc = cmocka_run_group_tests_name("integration_rules", tests, setup, teardown);
    it_fini();
    return rc;
}
