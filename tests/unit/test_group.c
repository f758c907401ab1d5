/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of incident grouping (escalation/group.c) and inhibition
 * (escalation/inhibit.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escalation/group.h"
#include "escalation/inhibit.h"

static json_t *js(const char *text)
{
    json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);

    assert_non_null(j);
    return j;
}

/* An event from JSON text (released by the caller). */
static void event(const char *text, struct ac_event *ev)
{
    json_t *j = js(text), *errs = json_array();

    assert_true(ac_event_from_json(j, ev, -1, errs));
    json_decref(j);
    json_decref(errs);
}

static void test_group_keys(void **state)
{
    struct ac_group_by g;
    struct ac_event ev;
    json_t *errs = json_array(), *by;
    char key[AC_GROUP_KEY_SIZE], key2[AC_GROUP_KEY_SIZE], big[200];

    (void)state;
    event("{\"source\":\"p\",\"type\":\"T\",\"title\":\"t\",\"cluster\":\"c1\","
          "\"labels\":{\"node\":\"n1\"}}",
          &ev);
    by = js("[\"cluster\",\"labels.node\",\"region\"]");
    assert_int_equal(ac_group_by_from_json(&g, by, "$.group_by", errs), AC_OK);
    ac_group_key(&g, &ev, key);
    assert_string_equal(key, "cluster=c1,labels.node=n1,region="); /* missing: empty */
    ac_group_by_deinit(&g);
    json_decref(by);
    /* none: the type alone */
    assert_int_equal(ac_group_by_from_json(&g, NULL, "$", errs), AC_OK);
    ac_group_key(&g, &ev, key);
    assert_string_equal(key, "");
    /* "...": one per alert */
    by = js("[\"...\"]");
    assert_int_equal(ac_group_by_from_json(&g, by, "$", errs), AC_OK);
    strcpy(ev.fingerprint, "abc123");
    ac_group_key(&g, &ev, key);
    assert_string_equal(key, "fingerprint=abc123");
    json_decref(by);
    ac_event_deinit(&ev);
    /* a long value is cut, and the key ends in a hash of the whole: two
     * values with the same first 64 bytes stay apart */
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    by = js("[\"instance\"]");
    assert_int_equal(ac_group_by_from_json(&g, by, "$", errs), AC_OK);
    {
        char text[512];
        snprintf(text, sizeof(text),
                 "{\"source\":\"p\",\"type\":\"T\",\"title\":\"t\",\"instance\":\"%s\"}", big);
        event(text, &ev);
        ac_group_key(&g, &ev, key);
        ac_event_deinit(&ev);
        big[150] = 'y';
        snprintf(text, sizeof(text),
                 "{\"source\":\"p\",\"type\":\"T\",\"title\":\"t\",\"instance\":\"%s\"}", big);
        event(text, &ev);
        ac_group_key(&g, &ev, key2);
        ac_event_deinit(&ev);
    }
    assert_true(strlen(key) < 100);
    assert_non_null(strchr(key, '#'));
    assert_string_not_equal(key, key2);
    ac_group_by_deinit(&g);
    json_decref(by);
    /* refused: an unknown field, "..." with fields, not a list */
    json_array_clear(errs);
    by = js("[\"nosuch\"]");
    assert_int_equal(ac_group_by_from_json(&g, by, "$.group_by", errs), AC_EINVAL);
    json_decref(by);
    by = js("[\"...\",\"cluster\"]");
    assert_int_equal(ac_group_by_from_json(&g, by, "$.group_by", errs), AC_EINVAL);
    json_decref(by);
    by = js("\"cluster\"");
    assert_int_equal(ac_group_by_from_json(&g, by, "$.group_by", errs), AC_EINVAL);
    json_decref(by);
    assert_int_equal(json_array_size(errs), 3);
    json_decref(errs);
}

static void test_group_routes(void **state)
{
    struct ac_group_routes r = {.default_team = 9};
    struct ac_event ev;
    char key[AC_GROUP_KEY_SIZE];
    int64_t team = 0;
    json_t *d;

    (void)state;
    d = js("{\"matchers\":[{\"name\":\"type\",\"op\":\"=\",\"value\":\"A\"}],"
           "\"team\":\"4\",\"group_by\":[\"cluster\"]}");
    assert_true(ac_group_routes_add(&r, d));
    json_decref(d);
    d = js("{\"matchers\":[{\"name\":\"type\",\"op\":\"=\",\"value\":\"A\"}],"
           "\"group_by\":[\"region\"]}"); /* shadowed by the first */
    assert_true(ac_group_routes_add(&r, d));
    json_decref(d);
    d = js("{\"matchers\":\"bad\"}");
    assert_false(ac_group_routes_add(&r, d));
    json_decref(d);
    event("{\"source\":\"p\",\"type\":\"A\",\"title\":\"t\",\"cluster\":\"c9\",\"region\":\"r\"}",
          &ev);
    ac_group_routes_key(&r, &ev, key, &team);
    assert_string_equal(key, "cluster=c9");
    assert_int_equal(team, 4);
    ac_event_deinit(&ev);
    event("{\"source\":\"p\",\"type\":\"B\",\"title\":\"t\",\"cluster\":\"c9\"}", &ev);
    ac_group_routes_key(&r, &ev, key, &team);
    assert_string_equal(key, ""); /* no route: the type alone, the default team */
    assert_int_equal(team, 9);
    ac_event_deinit(&ev);
    ac_group_routes_deinit(&r);
}

static void test_inhibit(void **state)
{
    struct ac_inhibit_set s = {0};
    struct ac_event node1, node2, pod1, pod2;
    json_t *d = js("{\"name\":\"n\",\"source_matchers\":[{\"name\":\"type\",\"op\":\"=\","
                   "\"value\":\"NodeNotReady\"}],\"target_matchers\":[{\"name\":\"type\","
                   "\"op\":\"=~\",\"value\":\"(Pod|Node)NotReady\"}],\"equal\":[\"labels.node\"]}");
    json_t *errs = json_array();
    int64_t rule = 0;

    (void)state;
    assert_int_equal(ac_inhibit_validate(d, errs), AC_OK);
    assert_true(ac_inhibit_add_rule(&s, 7, d));
    assert_string_equal(ac_inhibit_source_type(&s.rules[0]), "NodeNotReady");
    event("{\"source\":\"k\",\"type\":\"NodeNotReady\",\"title\":\"t\",\"labels\":{\"node\":"
          "\"n1\"}}",
          &node1);
    event("{\"source\":\"k\",\"type\":\"NodeNotReady\",\"title\":\"t\",\"labels\":{\"node\":"
          "\"n2\"}}",
          &node2);
    event("{\"source\":\"k\",\"type\":\"PodNotReady\",\"title\":\"t\",\"labels\":{\"node\":"
          "\"n1\"}}",
          &pod1);
    event("{\"source\":\"k\",\"type\":\"PodNotReady\",\"title\":\"t\",\"labels\":{\"node\":"
          "\"n3\"}}",
          &pod2);
    ac_inhibit_add_source(&s.rules[0], 100, &node1);
    ac_inhibit_add_source(&s.rules[0], 200, &pod1); /* matches no source matcher: ignored */
    ac_inhibit_finish(&s);
    assert_int_equal(ac_inhibited(&s, 300, &pod1, &rule), 100); /* same node */
    assert_int_equal(rule, 7);
    assert_int_equal(ac_inhibited(&s, 301, &pod2, &rule), 0);  /* another node */
    assert_int_equal(ac_inhibited(&s, 100, &node1, &rule), 0); /* never itself */
    assert_int_equal(ac_inhibited(&s, 101, &node2, &rule), 0); /* n2 has no source */
    ac_inhibit_deinit(&s);
    /* without equal, any open source inhibits every target */
    d = (json_decref(d), js("{\"name\":\"n\",\"source_matchers\":[{\"name\":\"type\",\"op\":\"=\","
                            "\"value\":\"NodeNotReady\"}],\"target_matchers\":[{\"name\":\"type\","
                            "\"op\":\"=\",\"value\":\"PodNotReady\"}]}"));
    assert_true(ac_inhibit_add_rule(&s, 8, d));
    ac_inhibit_add_source(&s.rules[0], 100, &node1);
    ac_inhibit_finish(&s);
    assert_int_equal(ac_inhibited(&s, 301, &pod2, &rule), 100);
    ac_inhibit_deinit(&s);
    json_decref(d);
    /* refused: no source matchers, a bad equal field, unknown keys */
    d = js("{\"name\":\"x\",\"source_matchers\":[],\"target_matchers\":[{\"name\":\"type\","
           "\"op\":\"=\",\"value\":\"A\"}],\"equal\":[\"nosuch\"],\"extra\":1}");
    assert_int_equal(ac_inhibit_validate(d, errs), AC_EINVAL);
    assert_int_equal(json_array_size(errs), 3);
    json_decref(d);
    json_decref(errs);
    ac_event_deinit(&node1);
    ac_event_deinit(&node2);
    ac_event_deinit(&pod1);
    ac_event_deinit(&pod2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_group_keys),
        cmocka_unit_test(test_group_routes),
        cmocka_unit_test(test_inhibit),
    };

    return cmocka_run_group_tests_name("unit_group", tests, NULL, NULL);
}
