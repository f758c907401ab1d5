/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the client's pure parts (cli/ctl_fmt.c): exit codes,
 * durations, fields and tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cli/ctl_fmt.h"
#include "tests/unit/unit.h"

static void test_ctl_exit_codes(void **state)
{
    static const long st[] = {200, 201, 0, 400, 401, 403, 404, 409, 413, 429, 500, 503, 302};
    static const int want[] = {AC_CTL_OK,          AC_CTL_OK,          AC_CTL_UNAVAILABLE,
                               AC_CTL_REFUSED,     AC_CTL_AUTH,        AC_CTL_AUTH,
                               AC_CTL_NOT_FOUND,   AC_CTL_REFUSED,     AC_CTL_REFUSED,
                               AC_CTL_UNAVAILABLE, AC_CTL_UNAVAILABLE, AC_CTL_UNAVAILABLE,
                               AC_CTL_FAIL};

    (void)state;
    for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
        assert_int_equal(ac_ctl_exit_of(st[i]), want[i]);
    }
}

static void test_ctl_durations(void **state)
{
    static const char *const ok[] = {"90s", "30m", "2h", "7d", "1h30m", "45", "1d2h3m4s"};
    static const int64_t want[] = {90, 1800, 7200, 604800, 5400, 45, 93784};
    static const char *const bad[] = {"",    "0",      "0s",   "h",    "2x",
                                      "-5m", "1h 30m", "367d", "30m5", "99999999999999999999"};
    int64_t s;

    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        assert_true(ac_ctl_duration(ok[i], &s));
        assert_int_equal(s, want[i]);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (ac_ctl_duration(bad[i], &s)) {
            fail_msg("accepted %s", bad[i]);
        }
    }
}

static void test_ctl_table(void **state)
{
    static const struct ac_ctl_col cols[] = {{"ID", "id", 0},
                                             {"WHO", "contact.name", 0},
                                             {"N", "n", 0},
                                             {"TITLE", "title", 8},
                                             {"AT", "at", 0}};
    json_t *items = json_loads("[{\"id\":\"7\",\"contact\":{\"name\":\"ann\"},\"n\":12,\"at\":"
                               "\"2026-12-07T13:01:36.284459Z\",\"title\":\"disk full on db-1\"},"
                               "{\"id\":\"12\",\"n\":true,\"title\":\"žluťoučký kůň\\nnext\"}]",
                               0, NULL);
    char *t, *f;

    (void)state;
    assert_non_null(items);
    t = ac_ctl_table(items, cols, 5);
    assert_string_equal(t, "ID  WHO  N     TITLE     AT\n"
                           "7   ann  12    disk fu…  2026-12-07 13:01:36\n"
                           "12  -    true  žluťouč…  -\n");
    free(t);
    f = ac_ctl_field(json_array_get(items, 0), "contact.name");
    assert_string_equal(f, "ann");
    free(f);
    assert_null(ac_ctl_field(json_array_get(items, 1), "contact.name"));
    f = ac_ctl_field(json_array_get(items, 0), "contact");
    assert_string_equal(f, "{\"name\":\"ann\"}");
    free(f);
    json_decref(items);
    items = json_array();
    t = ac_ctl_table(items, cols, 2); /* no rows: the header only */
    assert_string_equal(t, "ID  WHO\n");
    free(t);
    json_decref(items);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ctl_exit_codes),
        cmocka_unit_test(test_ctl_durations),
        cmocka_unit_test(test_ctl_table),
    };

    return cmocka_run_group_tests_name("unit_ctl", tests, NULL, NULL);
}
