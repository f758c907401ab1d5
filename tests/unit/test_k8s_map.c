/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the Kubernetes Event mapping (ingest/k8s_map.c): fixtures in
 * tests/fixtures/k8s/ with the normalized events expected of them, the
 * identity of a grown count, Normal events skipped, rules by reason and
 * message, label lookups, and configuration errors.
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

#include "ingest/k8s.h"
#include "ingest/k8s_map.h"
#include "tests/unit/unit.h"

static struct ac_k8s_map map;
static json_t *ns_meta;

static int setup(void **state)
{
    json_t *errs = json_array();
    json_t *sec = json_loads(
        "{\"cluster\":\"prod-hz\",\"rules\":[{\"reason\":\"BackOff\",\"message\":\"^Back-off "
        "restarting\",\"type\":\"PodCrashLooping\",\"level\":\"P2\",\"trace\":\"runtime\"},"
        "{\"reason\":\"BackOff\",\"type\":\"ImageBackOff\"}],\"app_id_keys\":[\"app\"],"
        "\"user_id_keys\":[\"tenant\"]}",
        0, NULL);

    (void)state;
    assert_int_equal(ac_k8s_map_load(sec, &map, errs), AC_OK);
    assert_true(ac_k8s_map_wants_labels(&map));
    json_decref(sec);
    json_decref(errs);
    ns_meta = json_loads("{\"labels\":{\"team\":\"shop\"},\"annotations\":{\"tenant\":\"u-9\"}}", 0,
                         NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ac_k8s_map_deinit(&map);
    json_decref(ns_meta);
    return 0;
}

static json_t *load(const char *name)
{
    size_t len;
    char *text = unit_fixture("k8s", name, &len);
    json_t *j;

    assert_non_null(text);
    j = json_loadb(text, len, 0, NULL);
    free(text);
    assert_non_null(j);
    return j;
}

/* Maps a fixture and checks it against its expected normalized event. */
static void check(const char *in, const char *expected, const json_t *obj_meta)
{
    json_t *ev = load(in), *want = load(expected), *doc = NULL, *errs = json_array(), *got;
    const char *why = NULL;
    struct ac_event e;

    assert_int_equal(ac_k8s_map_event(&map, ev, obj_meta, ns_meta, &doc, &why), 1);
    if (!ac_event_from_json(doc, &e, -1, errs)) {
        fail_msg("refused: %s", json_dumps(errs, 0));
    }
    got = ac_event_to_json(&e);
    if (!json_equal(got, want)) {
        fail_msg("got %s", json_dumps(got, JSON_SORT_KEYS | JSON_INDENT(1)));
    }
    ac_event_deinit(&e);
    json_decref(got);
    json_decref(doc);
    json_decref(errs);
    json_decref(want);
    json_decref(ev);
}

static void test_k8s_map_fixtures(void **state)
{
    json_t *pod = json_loads("{\"labels\":{\"app\":\"cart\"}}", 0, NULL);

    (void)state;
    check("backoff.json", "backoff.expected.json", pod);
    check("failed_scheduling.json", "failed_scheduling.expected.json", NULL);
    json_decref(pod);
}

static const char *mapped_id(json_t *ev, char *buf, size_t len)
{
    json_t *doc = NULL;
    const char *why;

    assert_int_equal(ac_k8s_map_event(&map, ev, NULL, NULL, &doc, &why), 1);
    snprintf(buf, len, "%s", json_string_value(json_object_get(doc, "id")));
    json_decref(doc);
    return buf;
}

/* The same Event again is the same id (a duplicate); a grown count is a new
 * occurrence; the second rule catches BackOff messages the first does not. */
static void test_k8s_map_identity_and_rules(void **state)
{
    json_t *ev = load("backoff.json"), *doc = NULL;
    char a[200], b[200];
    const char *why;

    (void)state;
    mapped_id(ev, a, sizeof(a));
    mapped_id(ev, b, sizeof(b));
    assert_string_equal(a, b);
    json_object_set_new(ev, "count", json_integer(6));
    mapped_id(ev, b, sizeof(b));
    assert_string_equal(b, "k8s:0f3c9a52-1d1e-4c7b-9a0e-7d1c2b3a4f56/6");
    json_object_set_new(ev, "message", json_string("Back-off pulling image \"cart:v2\""));
    assert_int_equal(ac_k8s_map_event(&map, ev, NULL, NULL, &doc, &why), 1);
    assert_string_equal(json_string_value(json_object_get(doc, "type")), "ImageBackOff");
    assert_null(json_object_get(doc, "level"));
    json_decref(doc);
    /* Normal events are skipped; something else is refused */
    json_object_set_new(ev, "type", json_string("Normal"));
    assert_int_equal(ac_k8s_map_event(&map, ev, NULL, NULL, &doc, &why), 0);
    assert_null(doc);
    json_object_del(ev, "involvedObject");
    assert_int_equal(ac_k8s_map_event(&map, ev, NULL, NULL, &doc, &why), -1);
    assert_non_null(why);
    json_decref(ev);
}

static void test_k8s_map_config(void **state)
{
    struct ac_k8s_map m;
    json_t *errs = json_array();
    json_t *sec = json_loads("{\"rules\":[{\"type\":\"X\"},{\"reason\":\"R\",\"level\":\"P9\"},"
                             "{\"reason\":\"R\",\"message\":\"(\"}],\"warning_only\":\"yes\","
                             "\"app_id_keys\":\"app\"}",
                             0, NULL);

    (void)state;
    assert_int_equal(ac_k8s_map_load(sec, &m, errs), AC_EINVAL);
    assert_int_equal(json_array_size(errs), 5);
    json_decref(sec);
    json_decref(errs);
    errs = json_array();
    assert_int_equal(ac_k8s_map_load(NULL, &m, errs), AC_OK);
    assert_true(m.warning_only);
    assert_false(ac_k8s_map_wants_labels(&m));
    ac_k8s_map_deinit(&m);
    json_decref(errs);
}

/* The kubernetes section is checked with the watch off too. */
static void test_k8s_section_checked_when_off(void **state)
{
    static const char *const bad[] = {
        "{\"watch\":false,\"timeout\":5}", /* a typo */
        "{\"timeout_s\":0}",               /* out of range */
        "{\"warning_only\":\"yes\"}",      /* not a boolean */
        "{\"namespaces\":[\"a b\"]}",      /* not a namespace */
    };
    json_t *s;
    struct ac_ingest in = {.ops = &ac_k8s_ops};

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        s = json_loads(bad[i], 0, NULL);
        in.section = s;
        if (in.ops->init(&in) != AC_EINVAL) {
            fail_msg("accepted %s", bad[i]);
        }
        in.ops->destroy(&in);
        json_decref(s);
    }
    s = json_loads("{\"watch\":false,\"cluster\":\"c1\",\"timeout_s\":60}", 0, NULL);
    in.section = s;
    assert_int_equal(in.ops->init(&in), AC_OK);
    in.ops->destroy(&in);
    json_decref(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_k8s_map_fixtures),
        cmocka_unit_test(test_k8s_map_identity_and_rules),
        cmocka_unit_test(test_k8s_map_config),
        cmocka_unit_test(test_k8s_section_checked_when_off),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
