/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of matchers (server/core/matcher.c) and filter rules (server/rules.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <string.h>

#include "server/rules.h"
#include "tests/unit/unit.h"

static struct ac_event ev;

static void event_reset(void)
{
    json_decref(ev.labels);
    memset(&ev, 0, sizeof(ev));
    ev.source = "probe";
    ev.type = "PodNotReady";
    ev.level = AC_LEVEL_P3;
    ev.namespace_ = "shop";
    ev.app_id = "web-1";
    ev.gc_level = 6;
    ev.labels = json_pack("{s:s}", "team", "sre");
}

/* Does the single matcher name op value match the event? */
static bool m1(const char *name, const char *op, const char *value)
{
    json_t *arr = json_pack("[{s:s, s:s, s:s}]", "name", name, "op", op, "value", value);
    json_t *errs = json_array();
    struct ac_matchers ms;
    bool hit;

    if (ac_matchers_from_json(&ms, arr, "$.matchers", errs) != AC_OK) {
        fail_msg("rejected %s %s %s", name, op, value);
    }
    hit = ac_matchers_match(&ms, &ev);
    ac_matchers_deinit(&ms);
    json_decref(arr);
    json_decref(errs);
    return hit;
}

static void test_rules_matcher_ops(void **state)
{
    (void)state;
    event_reset();
    assert_true(m1("type", "=", "PodNotReady"));
    assert_false(m1("type", "=", "podnotready"));
    assert_true(m1("type", "!=", "Other"));
    assert_true(m1("level", "=", "P3"));
    assert_true(m1("gc_level", "=~", "[67]"));
    assert_true(m1("labels.team", "=", "sre"));
    assert_false(m1("labels.team", "!~", "sre|ops"));
    assert_true(m1("resource.kind", "=", "")); /* missing compares as "" */
    assert_true(m1("region", "!~", ".+"));
    assert_true(m1("app_id", "!=", ""));
}

static void test_rules_regex_is_anchored(void **state)
{
    (void)state;
    event_reset();
    assert_false(m1("app_id", "=~", "web")); /* not a substring search */
    assert_true(m1("app_id", "=~", "web.*"));
    assert_false(m1("app_id", "=~", "eb-1"));
    assert_true(m1("app_id", "=~", "web-1|api")); /* alternation stays inside the anchors */
    assert_false(m1("app_id", "=~", "api|web"));  /* "web" alone is not all of "web-1" */
    assert_true(m1("app_id", "!~", "web"));
}

static void expect_bad(const char *json, const char *path, const char *msg)
{
    json_t *obj = json_loads(json, 0, NULL), *errs = json_array();
    struct ac_rule r;

    assert_non_null(obj);
    assert_int_equal(ac_rule_from_json(&r, obj, errs), AC_EINVAL);
    assert_null(r.matchers.v);
    if (!unit_has_error(errs, path, msg)) {
        fail_msg("no error %s '%s' for %s: %s", path, msg, json, json_dumps(errs, 0));
    }
    json_decref(obj);
    json_decref(errs);
}

static void test_rules_bad_rules(void **state)
{
    (void)state;
    expect_bad("{\"action\":\"drop\",\"matchers\":[{\"name\":\"type\",\"op\":\"=~\",\"value\":"
               "\"(unclosed\"}]}",
               "$.matchers[0].value", "invalid regular expression");
    expect_bad(
        "{\"action\":\"drop\",\"matchers\":[{\"name\":\"type\",\"op\":\"=\",\"value\":\"a\"},"
        "{\"name\":\"type\",\"op\":\"!~\",\"value\":\"*x\"}]}",
        "$.matchers[1].value", "invalid regular expression");
    expect_bad("{\"action\":\"drop\",\"matchers\":[{\"name\":\"colour\",\"op\":\"=\",\"value\":"
               "\"a\"}]}",
               "$.matchers[0].name", "event field");
    expect_bad("{\"action\":\"drop\",\"matchers\":[{\"name\":\"type\",\"op\":\"==\",\"value\":"
               "\"a\"}]}",
               "$.matchers[0].op", "one of");
    expect_bad("{\"action\":\"drop\",\"matchers\":[{\"name\":\"type\",\"op\":\"=\"}]}",
               "$.matchers[0].value", "string");
    expect_bad("{\"action\":\"drop\",\"matchers\":[]}", "$.matchers", "non-empty");
    expect_bad("{\"action\":\"keep\",\"matchers\":[{\"name\":\"type\",\"op\":\"=\",\"value\":"
               "\"a\"}]}",
               "$.action", "drop");
    expect_bad("{\"action\":\"drop\",\"matchers\":[{\"name\":\"type\",\"op\":\"=\",\"value\":"
               "\"a\"}],\"expires_at\":\"tomorrow\"}",
               "$.expires_at", "RFC 3339");
    expect_bad("{\"action\":\"drop\",\"matchers\":[{\"name\":\"type\",\"op\":\"=\",\"value\":"
               "\"a\"}],\"priority\":1}",
               "$.priority", "unknown");
}

static void add_rule(struct ac_rule *rules, size_t i, const char *json)
{
    json_t *obj = json_loads(json, 0, NULL), *errs = json_array();

    assert_int_equal(ac_rule_from_json(&rules[i], obj, errs), AC_OK);
    rules[i].id = (int64_t)i + 1;
    json_decref(obj);
    json_decref(errs);
}

static void test_rules_first_match_decides(void **state)
{
    struct ac_rule rules[4];

    (void)state;
    event_reset();
    /* 0: allow the sre team's shop namespace; 1: drop all PodNotReady; 2: drop level P3 */
    add_rule(rules, 0,
             "{\"action\":\"allow\",\"matchers\":[{\"name\":\"labels.team\",\"op\":\"=\","
             "\"value\":\"sre\"},{\"name\":\"namespace\",\"op\":\"=\",\"value\":\"shop\"}]}");
    add_rule(rules, 1,
             "{\"action\":\"drop\",\"matchers\":[{\"name\":\"type\",\"op\":\"=\",\"value\":"
             "\"PodNotReady\"}]}");
    add_rule(rules, 2,
             "{\"action\":\"drop\",\"matchers\":[{\"name\":\"level\",\"op\":\"=\",\"value\":"
             "\"P3\"}]}");
    add_rule(rules, 3,
             "{\"action\":\"drop\",\"expires_at\":\"2020-01-01T00:00:00Z\",\"matchers\":[{"
             "\"name\":\"type\",\"op\":\"=~\",\"value\":\".*\"}]}");
    /* the allow rule exempts the event from both later drops */
    assert_int_equal(ac_rules_eval(rules, 3, &ev, 0), 0);
    assert_false(rules[0].allow == false);
    /* another namespace: the allow rule no longer matches, the first drop decides */
    ev.namespace_ = "infra";
    assert_int_equal(ac_rules_eval(rules, 3, &ev, 0), 1);
    /* another type: the level rule decides */
    ev.type = "Other";
    assert_int_equal(ac_rules_eval(rules, 3, &ev, 0), 2);
    /* nothing matches: allowed */
    ev.level = AC_LEVEL_P1;
    assert_int_equal(ac_rules_eval(rules, 3, &ev, 0), -1);
    /* an expired rule is skipped, an unexpired one applies */
    assert_int_equal(ac_rules_eval(&rules[3], 1, &ev, (int64_t)1700000000 * 1000000), -1);
    assert_int_equal(ac_rules_eval(&rules[3], 1, &ev, (int64_t)1500000000 * 1000000), 0);
    for (int i = 0; i < 4; i++) {
        ac_rule_deinit(&rules[i]);
    }
    ev.namespace_ = "shop";
}

static int teardown(void **state)
{
    (void)state;
    json_decref(ev.labels);
    ev.labels = NULL;
    return 0;
}

/* Matchers as text (amtool, Alertmanager's API, the client): each case the
 * JSON it parses to, or NULL for a refusal. */
static void test_rules_matcher_text(void **state)
{
    static const char *const cases[][2] = {
        {"alertname=\"Disk full\"",
         "{\"name\":\"alertname\",\"op\":\"=\",\"value\":\"Disk full\"}"},
        {" team != sre ", "{\"name\":\"team\",\"op\":\"!=\",\"value\":\"sre\"}"},
        {"app=~\"web-.*\"", "{\"name\":\"app\",\"op\":\"=~\",\"value\":\"web-.*\"}"},
        {"x!~\"a\\\"b\\\\\"", "{\"name\":\"x\",\"op\":\"!~\",\"value\":\"a\\\"b\\\\\"}"},
        {"labels.k=", "{\"name\":\"labels.k\",\"op\":\"=\",\"value\":\"\"}"},
        {"=x", NULL},
        {"9a=x", NULL},
        {"a x", NULL},
        {"a==x", NULL},
        {"a~x", NULL},
        {"a=\"open", NULL},
        {"a=\"x\" y", NULL},
        {"a=\"\\q\"", NULL},
    };
    char err[160];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *m = ac_matcher_parse_text(cases[i][0], err, sizeof(err));
        if (!cases[i][1]) {
            if (m) {
                fail_msg("accepted %s", cases[i][0]);
            }
            assert_true(strlen(err) > 0);
            continue;
        }
        if (!m) {
            fail_msg("refused %s: %s", cases[i][0], err);
        }
        char *got = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
        assert_string_equal(got, cases[i][1]);
        free(got);
        json_decref(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules_matcher_ops),         cmocka_unit_test(test_rules_matcher_text),
        cmocka_unit_test(test_rules_regex_is_anchored),   cmocka_unit_test(test_rules_bad_rules),
        cmocka_unit_test(test_rules_first_match_decides),
    };

    return cmocka_run_group_tests_name("rules", tests, NULL, teardown);
}
