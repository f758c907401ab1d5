/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of level ordering and default targets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include "escalation/level.h"

static void test_level_raise_only_up(void **state)
{
    (void)state;
    assert_int_equal(ac_level_raise(AC_LEVEL_P4, AC_LEVEL_P3), AC_LEVEL_P3);
    assert_int_equal(ac_level_raise(AC_LEVEL_P2, AC_LEVEL_P4), AC_LEVEL_P2);
    assert_int_equal(ac_level_raise(AC_LEVEL_P1, AC_LEVEL_P2), AC_LEVEL_P1);
    assert_int_equal(ac_level_raise(AC_LEVEL_UNSET, AC_LEVEL_P3), AC_LEVEL_P3);
    assert_int_equal(ac_level_raise(AC_LEVEL_P3, AC_LEVEL_UNSET), AC_LEVEL_P3);
}

static void test_level_targets(void **state)
{
    (void)state;
    assert_int_equal(ac_level_default_targets(AC_LEVEL_P1)->mtta_s, 300);
    assert_int_equal(ac_level_default_targets(AC_LEVEL_P2)->mtta_s, 600);
    assert_int_equal(ac_level_default_targets(AC_LEVEL_P3)->mttr_s, 86400);
    assert_int_equal(ac_level_default_targets(AC_LEVEL_P4)->mttd_s, 3600);
    assert_null(ac_level_default_targets(AC_LEVEL_UNSET));
}

static void test_level_names(void **state)
{
    enum ac_level l;

    (void)state;
    assert_string_equal(ac_level_name(AC_LEVEL_P2), "P2");
    assert_null(ac_level_name(AC_LEVEL_UNSET));
    assert_true(ac_level_parse("P1", &l));
    assert_int_equal(l, AC_LEVEL_P1);
    assert_false(ac_level_parse("P0", &l));
    assert_false(ac_level_parse("", &l));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_level_raise_only_up),
        cmocka_unit_test(test_level_targets),
        cmocka_unit_test(test_level_names),
    };

    return cmocka_run_group_tests_name("level", tests, NULL, NULL);
}
