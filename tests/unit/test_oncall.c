/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the on-call documents (escalation/notify/oncall.c): what is
 * accepted, what is refused with which path, and the references pulled out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <string.h>

#include "escalation/notify/oncall.h"
#include "tests/unit/unit.h"

static int check(enum ac_oncall_kind kind, const char *text, struct ac_oncall_doc *d,
                 json_t **errs_out)
{
    json_t *j = json_loads(text, 0, NULL), *errs = json_array();
    int rc;

    assert_non_null(j);
    rc = ac_oncall_validate(kind, j, d, errs);
    json_decref(j);
    if (errs_out) {
        *errs_out = errs;
    }
    else {
        json_decref(errs);
    }
    return rc;
}

static void test_contact(void **state)
{
    struct ac_oncall_doc d;
    json_t *errs;

    (void)state;
    assert_int_equal(check(AC_ONCALL_CONTACT,
                           "{\"name\":\"Li Lei\",\"phone\":\"+86 138-0000-0000\","
                           "\"email\":\"lilei@example.com\",\"chat\":{\"dingtalk\":\"lilei01\"}}",
                           &d, NULL),
                     AC_OK);
    assert_string_equal(d.name, "Li Lei");
    assert_null(json_object_get(d.doc, "name"));
    assert_string_equal(json_string_value(json_object_get(d.doc, "phone")), "+86 138-0000-0000");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(d.doc, "chat"), "dingtalk")), "lilei01");
    ac_oncall_doc_deinit(&d);

    assert_int_equal(check(AC_ONCALL_CONTACT,
                           "{\"phone\":\"call me\",\"email\":\"no-at\",\"chat\":{\"icq\":\"1\"},"
                           "\"pager\":\"x\"}",
                           &d, &errs),
                     AC_EINVAL);
    assert_true(unit_has_error(errs, "$.name", "required"));
    assert_true(unit_has_error(errs, "$.phone", NULL));
    assert_true(unit_has_error(errs, "$.email", NULL));
    assert_true(unit_has_error(errs, "$.chat.icq", NULL));
    assert_true(unit_has_error(errs, "$.pager", "not a field"));
    json_decref(errs);
}

static void test_team(void **state)
{
    struct ac_oncall_doc d;
    json_t *errs;

    (void)state;
    assert_int_equal(check(AC_ONCALL_TEAM,
                           "{\"name\":\"sre\",\"members\":[\"3\",\"1\",\"3\"],\"lead\":\"9\","
                           "\"chain\":[{\"targets\":[{\"schedule\":\"2\"}]},"
                           "{\"targets\":[{\"contact\":\"4\"},{\"schedule\":\"2\"}]},"
                           "{\"targets\":[{\"lead\":true}]}],\"default\":true}",
                           &d, NULL),
                     AC_OK);
    assert_true(d.is_default);
    assert_int_equal(d.refs.ncontacts, 4); /* 1, 3, 4, 9: sorted, de-duplicated */
    assert_int_equal(d.refs.contacts[0], 1);
    assert_int_equal(d.refs.contacts[3], 9);
    assert_int_equal(d.refs.nschedules, 1);
    assert_int_equal(d.refs.schedules[0], 2);
    ac_oncall_doc_deinit(&d);

    assert_int_equal(check(AC_ONCALL_TEAM,
                           "{\"name\":\"x\",\"chain\":[{\"targets\":[{\"lead\":true},"
                           "{\"pager\":\"1\"},{\"contact\":\"abc\"}]}],\"default\":\"yes\"}",
                           &d, &errs),
                     AC_EINVAL);
    assert_true(unit_has_error(errs, "$.chain[0].targets[0]", "lead"));
    assert_true(unit_has_error(errs, "$.chain[0].targets[1]", NULL));
    assert_true(unit_has_error(errs, "$.chain[0].targets[2]", "contact id"));
    assert_true(unit_has_error(errs, "$.default", NULL));
    json_decref(errs);
    assert_int_equal(check(AC_ONCALL_TEAM, "{\"name\":\"x\",\"chain\":[]}", &d, &errs), AC_EINVAL);
    assert_true(unit_has_error(errs, "$.chain", "tiers"));
    json_decref(errs);
}

static void test_route_and_schedule(void **state)
{
    struct ac_oncall_doc d;
    json_t *errs;

    (void)state;
    assert_int_equal(check(AC_ONCALL_ROUTE,
                           "{\"name\":\"db\",\"matchers\":[{\"name\":\"labels.team\",\"op\":\"=\","
                           "\"value\":\"db\"}],\"team\":\"5\",\"position\":20}",
                           &d, NULL),
                     AC_OK);
    assert_int_equal(d.position, 20);
    assert_int_equal(d.refs.nteams, 1);
    assert_int_equal(d.refs.teams[0], 5);
    ac_oncall_doc_deinit(&d);
    assert_int_equal(check(AC_ONCALL_ROUTE,
                           "{\"name\":\"db\",\"matchers\":[{\"name\":\"type\",\"op\":\"=~\","
                           "\"value\":\"(\"}]}",
                           &d, &errs),
                     AC_EINVAL);
    assert_true(unit_has_error(errs, "$.team", NULL));
    assert_true(json_array_size(errs) >= 2); /* and the regular expression */
    json_decref(errs);

    assert_int_equal(check(AC_ONCALL_SCHEDULE,
                           "{\"name\":\"primary\",\"time_zone\":\"Asia/Shanghai\",\"layers\":["
                           "{\"start\":\"2026-01-05T09:00\",\"rotation\":\"weekly\","
                           "\"members\":[\"7\",\"8\"]}],\"overrides\":[{\"contact\":\"6\","
                           "\"start\":\"2026-01-06T00:00:00Z\",\"end\":\"2026-01-07T00:00:00Z\"}]}",
                           &d, NULL),
                     AC_OK);
    assert_int_equal(d.refs.ncontacts, 3);
    assert_string_equal(json_string_value(json_object_get(d.doc, "time_zone")), "Asia/Shanghai");
    ac_oncall_doc_deinit(&d);
    assert_int_equal(
        check(AC_ONCALL_SCHEDULE, "{\"name\":\"p\",\"time_zone\":\"Nowhere/Land\"}", &d, &errs),
        AC_EINVAL);
    assert_true(unit_has_error(errs, "$.time_zone", "unknown time zone"));
    json_decref(errs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contact),
        cmocka_unit_test(test_team),
        cmocka_unit_test(test_route_and_schedule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
