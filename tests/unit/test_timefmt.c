/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of RFC 3339 parsing and formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "schema/timefmt.h"

static void test_timefmt_parse_valid(void **state)
{
    int64_t us = 0;

    (void)state;
    assert_true(ac_time_parse("1970-01-01T00:00:00Z", &us));
    assert_true(us == 0);
    assert_true(ac_time_parse("2026-11-22T04:35:34.123456Z", &us));
    assert_true(us == (int64_t)1795322134 * 1000000 + 123456);
    assert_true(ac_time_parse("2026-11-22T12:35:34.1234567+08:00", &us));
    assert_true(us == (int64_t)1795322134 * 1000000 + 123456); /* truncated to µs */
    assert_true(ac_time_parse("2026-11-21t23:35:34-05:00", &us));
    assert_true(us == (int64_t)1795322134 * 1000000);
    assert_true(ac_time_parse("2024-02-29T00:00:00Z", &us)); /* leap day */
}

static void test_timefmt_parse_invalid(void **state)
{
    int64_t us;
    const char *bad[] = {
        "",
        "2026-11-22",
        "2026-11-22 04:35:34Z",
        "2026-11-22T04:35:34",
        "2026-13-01T00:00:00Z",
        "2025-02-29T00:00:00Z",
        "2026-11-22T24:00:00Z",
        "2026-11-22T04:35:34.Z",
        "2026-11-22T04:35:34+0800",
        "2026-11-22T04:35:34Zjunk",
        "1969-12-31T23:59:59Z",
        "yesterday at noon",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (ac_time_parse(bad[i], &us)) {
            fail_msg("accepted %s", bad[i]);
        }
    }
}

static void test_timefmt_format_roundtrip(void **state)
{
    char buf[AC_TIME_STRLEN];
    int64_t us = 0, back = 0;

    (void)state;
    ac_time_format(0, buf);
    assert_string_equal(buf, "1970-01-01T00:00:00.000000Z");
    us = (int64_t)1795322134 * 1000000 + 7;
    ac_time_format(us, buf);
    assert_string_equal(buf, "2026-11-22T04:35:34.000007Z");
    assert_true(ac_time_parse(buf, &back));
    assert_true(back == us);
    /* the digits written by hand equal printf's, before 1970 too */
    for (int64_t x = -3000000000000000LL; x < 4000000000000000LL; x += 7777777777777LL) {
        time_t t = (time_t)(x / 1000000);
        int64_t frac = x % 1000000;
        struct tm tm;
        char want[AC_TIME_STRLEN];
        if (frac < 0) {
            frac += 1000000;
            t -= 1;
        }
        gmtime_r(&t, &tm);
        snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)frac);
        ac_time_format(x, buf);
        assert_string_equal(buf, want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timefmt_parse_valid),
        cmocka_unit_test(test_timefmt_parse_invalid),
        cmocka_unit_test(test_timefmt_format_roundtrip),
    };

    return cmocka_run_group_tests_name("timefmt", tests, NULL, NULL);
}
