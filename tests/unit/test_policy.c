/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of impact escalation policies (escalation/policy.c), clock injected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "escalation/policy.h"
#include "tests/unit/unit.h"

#define MIN (60LL * 1000000)

static struct ac_esc_config cfg;

static int setup(void **state)
{
    json_t *errs = json_array();

    (void)state;
    assert_int_equal(ac_esc_config_load(&cfg, NULL, errs), AC_OK);
    json_decref(errs);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ac_esc_config_deinit(&cfg);
    return 0;
}

static enum ac_level eval(enum ac_trace tr, enum ac_level start, long apps, long users,
                          size_t *nraises, struct ac_esc_raise *raises)
{
    struct ac_esc_figures f = {apps, users, 0, 0, false};
    struct ac_esc_state st = {start, {0}};
    size_t n = ac_esc_evaluate(ac_esc_policy_for(&cfg, NULL, tr), ac_trace_name(tr), &f, 1000, &st,
                               raises);

    if (nraises) {
        *nraises = n;
    }
    return st.level;
}

static void test_policy_thresholds_table(void **state)
{
    static const struct {
        enum ac_trace tr;
        enum ac_level start;
        long apps, users;
        enum ac_level expect;
    } cases[] = {
        {AC_TRACE_DATA, AC_LEVEL_P4, 49, 0, AC_LEVEL_P4}, /* 49 apps stays */
        {AC_TRACE_DATA, AC_LEVEL_P4, 50, 0, AC_LEVEL_P3}, /* 50 raises: inclusive */
        {AC_TRACE_DATA, AC_LEVEL_P4, 0, 4, AC_LEVEL_P4},  /* 4 GC6/7 users stay */
        {AC_TRACE_DATA, AC_LEVEL_P4, 0, 5, AC_LEVEL_P3},  /* 5 raise */
        {AC_TRACE_RUNTIME, AC_LEVEL_P4, 99, 9, AC_LEVEL_P3},
        {AC_TRACE_RUNTIME, AC_LEVEL_P4, 100, 0, AC_LEVEL_P2},
        {AC_TRACE_DATA, AC_LEVEL_P3, 0, 10, AC_LEVEL_P2},
        {AC_TRACE_DATA, AC_LEVEL_P2, 199, 49, AC_LEVEL_P2},
        {AC_TRACE_DATA, AC_LEVEL_P4, 200, 0, AC_LEVEL_P1},      /* straight to P1 */
        {AC_TRACE_DATA, AC_LEVEL_P1, 500, 500, AC_LEVEL_P1},    /* nothing above P1 */
        {AC_TRACE_CONTROL, AC_LEVEL_P4, 500, 500, AC_LEVEL_P4}, /* control holds first */
        {AC_TRACE_CONTROL, AC_LEVEL_P3, 500, 0, AC_LEVEL_P3},   /* and holds 60 min first */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ac_esc_raise r[AC_ESC_TIERS_MAX];
        enum ac_level got =
            eval(cases[i].tr, cases[i].start, cases[i].apps, cases[i].users, NULL, r);
        if (got != cases[i].expect) {
            fail_msg("case %zu: %s from %s apps=%ld users=%ld -> %s, expected %s", i,
                     ac_trace_name(cases[i].tr), ac_level_name(cases[i].start), cases[i].apps,
                     cases[i].users, ac_level_name(got), ac_level_name(cases[i].expect));
        }
    }
}

static void test_policy_each_tier_recorded(void **state)
{
    struct ac_esc_raise r[AC_ESC_TIERS_MAX];
    size_t n;

    (void)state;
    assert_int_equal(eval(AC_TRACE_DATA, AC_LEVEL_P4, 200, 0, &n, r), AC_LEVEL_P1);
    assert_int_equal(n, 3);
    assert_string_equal(r[0].reason, "apps=200 ≥ 50 (data P4→P3)");
    assert_string_equal(r[1].reason, "apps=200 ≥ 100 (data P3→P2)");
    assert_string_equal(r[2].reason, "apps=200 ≥ 200 (data P2→P1)");
    assert_int_equal(eval(AC_TRACE_DATA, AC_LEVEL_P3, 103, 0, &n, r), AC_LEVEL_P2);
    assert_int_equal(n, 1);
    assert_string_equal(r[0].reason, "apps=103 ≥ 100 (data P3→P2)");
    assert_int_equal(eval(AC_TRACE_RUNTIME, AC_LEVEL_P4, 3, 7, &n, r), AC_LEVEL_P3);
    assert_string_equal(r[0].reason, "gc_users=7 ≥ 5 (runtime P4→P3)");
}

static void test_policy_control_holds_60_minutes(void **state)
{
    const struct ac_esc_policy *p = ac_esc_policy_for(&cfg, NULL, AC_TRACE_CONTROL);
    struct ac_esc_state st = {AC_LEVEL_P3, {0}};
    struct ac_esc_figures hi = {100, 0, 0, 0, false}, lo = {99, 0, 0, 0, false};
    struct ac_esc_raise r[AC_ESC_TIERS_MAX];
    int64_t t0 = 1000 * MIN;

    (void)state;
    assert_int_equal(ac_esc_evaluate(p, "control", &hi, t0, &st, r), 0);
    assert_true(ac_esc_next_due(p, &st, t0) == 60 * MIN);
    assert_int_equal(ac_esc_evaluate(p, "control", &hi, t0 + 59 * MIN, &st, r), 0);
    assert_true(ac_esc_next_due(p, &st, t0 + 59 * MIN) == 1 * MIN);
    /* a dip restarts the clock */
    assert_int_equal(ac_esc_evaluate(p, "control", &lo, t0 + 59 * MIN + 1, &st, r), 0);
    assert_true(ac_esc_next_due(p, &st, t0 + 59 * MIN + 1) == -1);
    assert_int_equal(ac_esc_evaluate(p, "control", &hi, t0 + 60 * MIN, &st, r), 0);
    assert_int_equal(ac_esc_evaluate(p, "control", &hi, t0 + 119 * MIN, &st, r), 0);
    assert_int_equal(st.level, AC_LEVEL_P3);
    /* 60 continuous minutes after the dip: raised */
    assert_int_equal(ac_esc_evaluate(p, "control", &hi, t0 + 120 * MIN, &st, r), 1);
    assert_int_equal(st.level, AC_LEVEL_P2);
    assert_string_equal(r[0].reason, "apps=100 ≥ 100 for 60 min (control P3→P2)");
}

static void test_policy_control_both_tiers_after_an_hour(void **state)
{
    const struct ac_esc_policy *p = ac_esc_policy_for(&cfg, NULL, AC_TRACE_CONTROL);
    struct ac_esc_state st = {AC_LEVEL_P3, {0}};
    struct ac_esc_figures f = {250, 0, 0, 0, false};
    struct ac_esc_raise r[AC_ESC_TIERS_MAX];

    (void)state;
    assert_int_equal(ac_esc_evaluate(p, "control", &f, 1, &st, r), 0);
    /* both conditions began together: after an hour both tiers raise, in order */
    assert_int_equal(ac_esc_evaluate(p, "control", &f, 1 + 60 * MIN, &st, r), 2);
    assert_int_equal(r[0].to, AC_LEVEL_P2);
    assert_int_equal(r[1].to, AC_LEVEL_P1);
}

static void test_policy_control_from_p4(void **state)
{
    const struct ac_esc_policy *p = ac_esc_policy_for(&cfg, NULL, AC_TRACE_CONTROL);
    struct ac_esc_state st = {AC_LEVEL_P4, {0}};
    struct ac_esc_figures f = {120, 0, 0, 0, false};
    struct ac_esc_raise r[AC_ESC_TIERS_MAX];

    (void)state;
    /* control has no P4->P3 tier: a window still at P4 goes straight to P2 */
    assert_int_equal(ac_esc_evaluate(p, "control", &f, 1, &st, r), 0);
    assert_true(ac_esc_next_due(p, &st, 1 + 30 * MIN) == 30 * MIN);
    assert_int_equal(ac_esc_evaluate(p, "control", &f, 1 + 60 * MIN, &st, r), 1);
    assert_int_equal(r[0].from, AC_LEVEL_P4);
    assert_int_equal(r[0].to, AC_LEVEL_P2);
    assert_string_equal(r[0].reason, "apps=120 ≥ 100 for 60 min (control P3→P2)");
    assert_true(ac_esc_next_due(p, &st, 1 + 60 * MIN) == -1);
}

static void test_policy_window_sets(void **state)
{
    struct ac_esc_window w;
    struct ac_esc_figures f;

    (void)state;
    ac_esc_window_init(&w);
    assert_true(ac_esc_window_add(&w, "app-1", "u-1", 7));
    assert_false(ac_esc_window_add(&w, "app-1", "u-1", 7)); /* the same app counts once */
    assert_true(ac_esc_window_add(&w, "app-2", "u-2", 5));  /* a new app; GC5 not counted */
    assert_true(ac_esc_window_add(&w, "app-3", "u-3", 6));
    assert_false(ac_esc_window_add(&w, NULL, NULL, 0));
    ac_esc_window_figures(&w, &f);
    assert_int_equal(f.apps, 3);
    assert_int_equal(f.gc_users, 2);
    assert_int_equal(f.events, 5);
    /* close and reopen: from zero */
    ac_esc_window_deinit(&w);
    ac_esc_window_init(&w);
    ac_esc_window_figures(&w, &f);
    assert_int_equal(f.apps + f.gc_users + f.events, 0);
    assert_true(ac_esc_window_add(&w, "app-1", "u-1", 7));
    ac_esc_window_deinit(&w);
}

static void test_policy_50_apps_from_the_window(void **state)
{
    struct ac_esc_window w;
    struct ac_esc_figures f;
    struct ac_esc_raise r[AC_ESC_TIERS_MAX];
    char app[16];

    (void)state;
    ac_esc_window_init(&w);
    for (int i = 0; i < 49; i++) {
        snprintf(app, sizeof(app), "app-%d", i);
        ac_esc_window_add(&w, app, NULL, 0);
        ac_esc_window_add(&w, app, NULL, 0); /* reported twice */
    }
    ac_esc_window_figures(&w, &f);
    assert_int_equal(f.apps, 49);
    assert_int_equal(eval(AC_TRACE_DATA, AC_LEVEL_P4, f.apps, f.gc_users, NULL, r), AC_LEVEL_P4);
    ac_esc_window_add(&w, "app-49", NULL, 0);
    ac_esc_window_figures(&w, &f);
    assert_int_equal(f.apps, 50);
    assert_int_equal(eval(AC_TRACE_DATA, AC_LEVEL_P4, f.apps, f.gc_users, NULL, r), AC_LEVEL_P3);
    ac_esc_window_deinit(&w);
}

static void expect_invalid(const char *json, const char *path, const char *msg)
{
    json_t *c = json_loads(json, 0, NULL), *errs = json_array();
    struct ac_esc_config bad;

    assert_non_null(c);
    assert_int_equal(ac_esc_config_load(&bad, c, errs), AC_EINVAL);
    if (!unit_has_error(errs, path, msg)) {
        fail_msg("no error %s '%s' in %s", path, msg, json_dumps(errs, 0));
    }
    ac_esc_config_deinit(&bad);
    json_decref(c);
    json_decref(errs);
}

static void test_policy_config(void **state)
{
    json_t *c = json_loads("{\"policies\":{\"data\":[{\"from\":\"P4\",\"to\":\"P3\",\"apps\":2,"
                           "\"increment_pct\":200}]},\"types\":{\"Hot\":[{\"from\":\"P4\","
                           "\"to\":\"P2\",\"gc_users\":1,\"hold_s\":5}]}}",
                           0, NULL);
    json_t *errs = json_array(), *out;
    struct ac_esc_config cc;
    struct ac_esc_figures f = {3, 0, 0, 150, true};
    struct ac_esc_state st = {AC_LEVEL_P4, {0}};
    struct ac_esc_raise r[AC_ESC_TIERS_MAX];
    const struct ac_esc_policy *p;

    (void)state;
    assert_int_equal(ac_esc_config_load(&cc, c, errs), AC_OK);
    /* the increment is a further condition */
    p = ac_esc_policy_for(&cc, "Other", AC_TRACE_DATA);
    assert_int_equal(ac_esc_evaluate(p, "data", &f, 1, &st, r), 0);
    f.increment_pct = 250;
    assert_int_equal(ac_esc_evaluate(p, "data", &f, 2, &st, r), 1);
    assert_string_equal(r[0].reason, "apps=3 ≥ 2, increment=+250% ≥ +200% (data P4→P3)");
    /* a type's own policy wins over its trace's; untouched traces keep the defaults */
    p = ac_esc_policy_for(&cc, "Hot", AC_TRACE_DATA);
    assert_int_equal(p->n, 1);
    assert_int_equal(p->tiers[0].to, AC_LEVEL_P2);
    assert_int_equal(ac_esc_policy_for(&cc, "Other", AC_TRACE_CONTROL)->n, 2);
    out = ac_esc_config_to_json(&cc);
    assert_int_equal(json_array_size(json_object_get(json_object_get(out, "policies"), "runtime")),
                     3);
    assert_non_null(json_object_get(json_object_get(out, "types"), "Hot"));
    /* the member sets are filled in every 5 s unless configured */
    assert_int_equal(json_integer_value(json_object_get(out, "members_fill_ms")), 5000);
    json_decref(out);
    ac_esc_config_deinit(&cc);
    json_decref(c);
    json_decref(errs);

    expect_invalid("{\"policies\":{\"data\":[{\"from\":\"P5\",\"to\":\"P3\",\"apps\":1}]}}",
                   "escalation.policies.data[0]", "levels P1..P4");
    expect_invalid("{\"policies\":{\"data\":[{\"from\":\"P3\",\"to\":\"P4\",\"apps\":1}]}}",
                   "escalation.policies.data[0]", "more severe");
    expect_invalid("{\"policies\":{\"data\":[{\"from\":\"P4\",\"to\":\"P3\",\"apps\":100},"
                   "{\"from\":\"P3\",\"to\":\"P2\",\"apps\":50}]}}",
                   "escalation.policies.data[1]", "thresholds out of order");
    expect_invalid("{\"policies\":{\"data\":[{\"from\":\"P3\",\"to\":\"P2\",\"apps\":1},"
                   "{\"from\":\"P4\",\"to\":\"P3\",\"apps\":1}]}}",
                   "escalation.policies.data[1]", "tiers out of order");
    expect_invalid("{\"policies\":{\"mgmt\":[]}}", "escalation.policies.mgmt", "not a trace");
    expect_invalid("{\"policies\":{\"data\":[{\"from\":\"P4\",\"to\":\"P3\"}]}}",
                   "escalation.policies.data[0]", "needs apps or gc_users");
    expect_invalid("{\"policies\":{\"data\":[{\"from\":\"P4\",\"to\":\"P3\",\"apps\":-1}]}}",
                   "escalation.policies.data[0].apps", "integer");
    expect_invalid("{\"policy\":{}}", "escalation.policy", "unknown key");
    expect_invalid("{\"members_fill_ms\":10}", "escalation.members_fill_ms", "from 100 to");
    expect_invalid("{\"tick_ms\":\"fast\"}", "escalation.tick_ms", "integer");
    expect_invalid("{\"policies\":[]}", "escalation.policies", "object");
    /* the section's table is its reference */
    {
        json_t *ref = ac_cfg_describe(ac_esc_cfg, "escalation");
        assert_int_equal(json_array_size(ref), 4);
        assert_string_equal(json_string_value(json_object_get(json_array_get(ref, 0), "key")),
                            "escalation.tick_ms");
        assert_int_equal(json_integer_value(json_object_get(json_array_get(ref, 0), "min")), 50);
        json_decref(ref);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_thresholds_table),
        cmocka_unit_test(test_policy_each_tier_recorded),
        cmocka_unit_test(test_policy_control_holds_60_minutes),
        cmocka_unit_test(test_policy_control_from_p4),
        cmocka_unit_test(test_policy_control_both_tiers_after_an_hour),
        cmocka_unit_test(test_policy_window_sets),
        cmocka_unit_test(test_policy_50_apps_from_the_window),
        cmocka_unit_test(test_policy_config),
    };

    return cmocka_run_group_tests_name("policy", tests, setup, teardown);
}
