/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of time zones (escalation/notify/tz.c) and on-call schedule
 * resolution (escalation/notify/schedule.c): rotation boundaries, time zones
 * across daylight-saving changes, overrides and layers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "escalation/notify/schedule.h"
#include "escalation/notify/tz.h"
#include "schema/timefmt.h"

/* An instant from RFC 3339 text, in seconds. */
static int64_t at(const char *s)
{
    int64_t us;

    assert_true(ac_time_parse(s, &us));
    return us / 1000000;
}

static void load_zone(const char *name, struct ac_tz *tz)
{
    char err[160];

    assert_int_equal(ac_tz_load(name, tz, err, sizeof(err)), AC_OK);
}

static void test_rule_parse(void **state)
{
    struct ac_tz_rule r;

    (void)state;
    assert_true(ac_tz_rule_parse("CST-8", &r));
    assert_int_equal(r.std_off, 8 * 3600);
    assert_false(r.has_dst);
    assert_true(ac_tz_rule_parse("EST5EDT,M3.2.0,M11.1.0", &r));
    assert_int_equal(r.std_off, -5 * 3600);
    assert_int_equal(r.dst_off, -4 * 3600);
    assert_int_equal(r.start.m, 3);
    assert_int_equal(r.start.w, 2);
    assert_int_equal(r.end.m, 11);
    assert_int_equal(r.end.time, 7200);
    assert_true(ac_tz_rule_parse("<+0330>-3:30", &r));
    assert_int_equal(r.std_off, 3 * 3600 + 30 * 60);
    assert_true(ac_tz_rule_parse("CET-1CEST,M3.5.0,M10.5.0/3", &r));
    assert_int_equal(r.end.time, 3 * 3600);
    assert_true(ac_tz_rule_parse("<-03>3<-02>,M3.5.0/-2,M10.5.0/-1", &r));
    assert_int_equal(r.start.time, -2 * 3600);
    assert_false(ac_tz_rule_parse("", &r));
    assert_false(ac_tz_rule_parse("C-8", &r));                     /* name too short */
    assert_false(ac_tz_rule_parse("EST5EDT,M13.1.0,M11.1.0", &r)); /* month 13 */
    assert_false(ac_tz_rule_parse("EST5EDT,M3.2.0", &r));          /* no end */
}

static void test_offsets(void **state)
{
    struct ac_tz ny, sh, syd, ber;

    (void)state;
    load_zone("America/New_York", &ny);
    load_zone("Asia/Shanghai", &sh);
    load_zone("Australia/Sydney", &syd);
    load_zone("Europe/Berlin", &ber);
    /* 2026: DST from 8 March 02:00 EST (07:00Z) to 1 November 02:00 EDT (06:00Z) */
    assert_int_equal(ac_tz_offset(&ny, at("2026-03-08T06:59:59Z")), -5 * 3600);
    assert_int_equal(ac_tz_offset(&ny, at("2026-03-08T07:00:00Z")), -4 * 3600);
    assert_int_equal(ac_tz_offset(&ny, at("2026-11-01T05:59:59Z")), -4 * 3600);
    assert_int_equal(ac_tz_offset(&ny, at("2026-11-01T06:00:00Z")), -5 * 3600);
    /* far past the table: the footer's rule */
    assert_int_equal(ac_tz_offset(&ny, at("2300-07-01T00:00:00Z")), -4 * 3600);
    assert_int_equal(ac_tz_offset(&ny, at("2300-01-01T00:00:00Z")), -5 * 3600);
    assert_int_equal(ac_tz_offset(&sh, at("2026-07-01T00:00:00Z")), 8 * 3600);
    assert_int_equal(ac_tz_offset(&sh, at("2400-01-01T00:00:00Z")), 8 * 3600);
    /* southern hemisphere: DST across the new year */
    assert_int_equal(ac_tz_offset(&syd, at("2026-01-15T00:00:00Z")), 11 * 3600);
    assert_int_equal(ac_tz_offset(&syd, at("2026-07-15T00:00:00Z")), 10 * 3600);
    assert_int_equal(ac_tz_offset(&syd, at("2300-01-15T00:00:00Z")), 11 * 3600);
    assert_int_equal(ac_tz_offset(&syd, at("2300-07-15T00:00:00Z")), 10 * 3600);
    /* Europe: 29 March 2026 01:00Z */
    assert_int_equal(ac_tz_offset(&ber, at("2026-03-29T00:59:59Z")), 3600);
    assert_int_equal(ac_tz_offset(&ber, at("2026-03-29T01:00:00Z")), 7200);
    assert_int_equal(ac_tz_offset(&ber, at("2300-03-29T12:00:00Z")), 7200);
    ac_tz_deinit(&ny);
    ac_tz_deinit(&sh);
    ac_tz_deinit(&syd);
    ac_tz_deinit(&ber);
}

static void test_wall_clock(void **state)
{
    struct ac_tz ny;
    int64_t day;

    (void)state;
    load_zone("America/New_York", &ny);
    day = ac_days_from_civil(2026, 6, 1) * 86400;
    assert_int_equal(ac_tz_to_utc(&ny, day + 9 * 3600), at("2026-06-01T13:00:00Z"));
    /* 02:30 does not exist on 8 March: as if EST still held, 03:30 EDT */
    day = ac_days_from_civil(2026, 3, 8) * 86400;
    assert_int_equal(ac_tz_to_utc(&ny, day + 2 * 3600 + 1800), at("2026-03-08T07:30:00Z"));
    /* 01:30 happens twice on 1 November: the earlier (EDT) */
    day = ac_days_from_civil(2026, 11, 1) * 86400;
    assert_int_equal(ac_tz_to_utc(&ny, day + 3600 + 1800), at("2026-11-01T05:30:00Z"));
    ac_tz_deinit(&ny);
}

static void test_load_errors(void **state)
{
    struct ac_tz tz;
    static const unsigned char junk[] = "TZif2 not really a zone file at all, just text....";

    (void)state;
    assert_int_equal(ac_tz_load("../../etc/passwd", &tz, NULL, 0), AC_EINVAL);
    assert_int_equal(ac_tz_load("/etc/localtime", &tz, NULL, 0), AC_EINVAL);
    assert_int_equal(ac_tz_load("Mars/Olympus_Mons", &tz, NULL, 0), AC_ENOENT);
    assert_int_equal(ac_tz_parse(junk, sizeof(junk), &tz), AC_EINVAL);
    assert_int_equal(ac_tz_parse((const unsigned char *)"TZif", 4, &tz), AC_EINVAL);
}

static void build(const char *json, struct ac_schedule *s)
{
    json_error_t je;
    json_t *j = json_loads(json, 0, &je), *errs = json_array();

    assert_non_null(j);
    if (ac_schedule_from_json(j, s, errs) != AC_OK) {
        char *e = json_dumps(errs, 0);
        fail_msg("schedule refused: %s", e);
    }
    json_decref(j);
    json_decref(errs);
}

static int64_t who(const struct ac_schedule *s, const char *t)
{
    struct ac_oncall o;

    ac_schedule_oncall(s, at(t), &o);
    return o.contact;
}

static void test_daily_rotation(void **state)
{
    struct ac_schedule s;
    struct ac_oncall o;

    (void)state;
    build("{\"time_zone\":\"Asia/Shanghai\",\"layers\":[{\"start\":\"2026-01-05T09:00\","
          "\"rotation\":\"daily\",\"members\":[\"1\",\"2\",\"3\"]}]}",
          &s);
    assert_int_equal(who(&s, "2026-01-05T00:59:59Z"), 0); /* 08:59:59 local, before start */
    assert_int_equal(who(&s, "2026-01-05T01:00:00Z"), 1);
    assert_int_equal(who(&s, "2026-01-06T00:59:59Z"), 1);
    assert_int_equal(who(&s, "2026-01-06T01:00:00Z"), 2);
    assert_int_equal(who(&s, "2026-01-07T01:00:00Z"), 3);
    assert_int_equal(who(&s, "2026-01-08T01:00:00Z"), 1);             /* round again */
    assert_int_equal(who(&s, "2026-04-15T12:00:00Z"), (100 % 3) + 1); /* day 100 */
    ac_schedule_oncall(&s, at("2026-01-06T03:00:00Z"), &o);
    assert_int_equal(o.layer, 0);
    assert_int_equal(o.from, at("2026-01-06T01:00:00Z"));
    assert_int_equal(o.until, at("2026-01-07T01:00:00Z"));
    ac_schedule_deinit(&s);
}

static void test_weekly_across_dst(void **state)
{
    struct ac_schedule s;
    struct ac_oncall o;

    (void)state;
    /* Monday 2 March 09:00 EST; the next hand-off is 09:00 EDT on 9 March */
    build("{\"time_zone\":\"America/New_York\",\"layers\":[{\"start\":\"2026-03-02T09:00:00\","
          "\"rotation\":\"weekly\",\"handoff\":\"09:00\",\"members\":[\"11\",\"12\"]}]}",
          &s);
    assert_int_equal(who(&s, "2026-03-02T14:00:00Z"), 11);
    assert_int_equal(who(&s, "2026-03-09T12:59:59Z"), 11);
    assert_int_equal(who(&s, "2026-03-09T13:00:00Z"), 12);
    ac_schedule_oncall(&s, at("2026-03-05T00:00:00Z"), &o);
    assert_int_equal(o.until - o.from, 7 * 86400 - 3600); /* a 167-hour week */
    /* and back in November: 09:00 EST again is 14:00Z */
    assert_int_equal(who(&s, "2026-11-02T13:59:59Z"), 11); /* shift 34 */
    assert_int_equal(who(&s, "2026-11-02T14:00:00Z"), 12); /* shift 35 */
    ac_schedule_deinit(&s);
}

static void test_partial_first_shift_and_hours(void **state)
{
    struct ac_schedule s;
    struct ac_oncall o;

    (void)state;
    build("{\"time_zone\":\"UTC\",\"layers\":[{\"start\":\"2026-01-05T15:00\","
          "\"rotation\":\"daily\",\"handoff\":\"09:00\",\"members\":[\"1\",\"2\"]}]}",
          &s);
    ac_schedule_oncall(&s, at("2026-01-05T16:00:00Z"), &o);
    assert_int_equal(o.contact, 1);
    assert_int_equal(o.from, at("2026-01-05T15:00:00Z"));
    assert_int_equal(o.until, at("2026-01-06T09:00:00Z"));
    assert_int_equal(who(&s, "2026-01-06T09:00:00Z"), 2);
    assert_int_equal(who(&s, "2026-01-07T09:00:00Z"), 1);
    ac_schedule_deinit(&s);

    build("{\"layers\":[{\"start\":\"2026-01-01T00:00:00Z\",\"rotation\":{\"hours\":12},"
          "\"members\":[\"5\",\"6\"]}]}",
          &s);
    assert_int_equal(who(&s, "2026-01-01T11:59:59Z"), 5);
    assert_int_equal(who(&s, "2026-01-01T12:00:00Z"), 6);
    assert_int_equal(who(&s, "2026-01-02T00:00:00Z"), 5);
    assert_int_equal(who(&s, "2025-12-31T23:59:59Z"), 0);
    ac_schedule_deinit(&s);
}

static void test_layers_and_overrides(void **state)
{
    struct ac_schedule s;
    struct ac_oncall o;

    (void)state;
    build("{\"time_zone\":\"UTC\",\"layers\":["
          "{\"name\":\"base\",\"start\":\"2026-01-05T09:00\",\"rotation\":\"daily\","
          "\"members\":[\"1\",\"2\"]},"
          "{\"name\":\"weekend\",\"start\":\"2026-01-10T00:00\",\"end\":\"2026-01-12T00:00\","
          "\"rotation\":\"daily\",\"members\":[\"9\"]}],"
          "\"overrides\":[{\"contact\":\"7\",\"start\":\"2026-01-06T10:00:00Z\","
          "\"end\":\"2026-01-06T12:00:00Z\"},{\"contact\":\"8\",\"start\":\"2026-01-06T11:00:00Z\","
          "\"end\":\"2026-01-06T11:30:00Z\"}]}",
          &s);
    assert_int_equal(who(&s, "2026-01-09T12:00:00Z"), 1 + (4 % 2)); /* base */
    ac_schedule_oncall(&s, at("2026-01-10T12:00:00Z"), &o);
    assert_int_equal(o.contact, 9); /* the later layer wins where it has someone */
    assert_int_equal(o.layer, 1);
    assert_int_equal(o.until, at("2026-01-11T00:00:00Z"));
    ac_schedule_oncall(&s, at("2026-01-11T23:00:00Z"), &o);
    assert_int_equal(o.contact, 9);
    assert_int_equal(o.until, at("2026-01-12T00:00:00Z"));          /* cut at the layer's end */
    assert_int_equal(who(&s, "2026-01-12T00:00:00Z"), 1 + (6 % 2)); /* base again */
    ac_schedule_oncall(&s, at("2026-01-06T10:30:00Z"), &o);
    assert_int_equal(o.contact, 7);
    assert_int_equal(o.layer, -1);
    assert_int_equal(who(&s, "2026-01-06T11:10:00Z"), 8); /* the later override wins */
    assert_int_equal(who(&s, "2026-01-06T11:30:00Z"), 7);
    assert_int_equal(who(&s, "2026-01-06T12:00:00Z"), 2); /* back to the rotation */
    ac_schedule_deinit(&s);
}

static void test_invalid(void **state)
{
    static const char *bad[] = {
        "{\"time_zone\":\"Nowhere/Land\"}",
        "{\"layers\":[{\"start\":\"2026-01-05T09:00\",\"rotation\":\"monthly\",\"members\":[\"1\"]}"
        "]}",
        "{\"layers\":[{\"start\":\"2026-01-05T09:00\",\"rotation\":\"daily\",\"members\":[]}]}",
        "{\"layers\":[{\"start\":\"2026-02-30T09:00\",\"rotation\":\"daily\",\"members\":[\"1\"]}]"
        "}",
        "{\"layers\":[{\"start\":\"2026-01-05T09:00\",\"end\":\"2026-01-04T00:00\","
        "\"rotation\":\"daily\",\"members\":[\"1\"]}]}",
        "{\"layers\":[{\"start\":\"2026-01-05T09:00\",\"rotation\":\"daily\",\"handoff\":\"25:00\","
        "\"members\":[\"1\"]}]}",
        "{\"layers\":[{\"start\":\"2026-01-05T09:00\",\"rotation\":{\"hours\":0},\"members\":["
        "\"1\"]}]}",
        "{\"layers\":[{\"start\":\"2026-01-05T09:00\",\"rotation\":\"daily\",\"members\":[\"x\"]}]"
        "}",
        "{\"overrides\":[{\"contact\":\"1\",\"start\":\"2026-01-06T12:00:00Z\","
        "\"end\":\"2026-01-06T10:00:00Z\"}]}",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ac_schedule s;
        json_t *j = json_loads(bad[i], 0, NULL), *errs = json_array();
        assert_non_null(j);
        assert_int_equal(ac_schedule_from_json(j, &s, errs), AC_EINVAL);
        assert_true(json_array_size(errs) >= 1);
        json_decref(j);
        json_decref(errs);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule_parse),
        cmocka_unit_test(test_offsets),
        cmocka_unit_test(test_wall_clock),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_daily_rotation),
        cmocka_unit_test(test_weekly_across_dst),
        cmocka_unit_test(test_partial_first_shift_and_hours),
        cmocka_unit_test(test_layers_and_overrides),
        cmocka_unit_test(test_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
