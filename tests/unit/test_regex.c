/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the RE2 shim and its cache (server/core/regex.h): the
 * syntax Prometheus uses, anchoring that a pattern cannot escape, hostile
 * patterns refused or matched in bounded time, one compile per text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "server/core/regex.h"

static bool full(const char *pattern, const char *text)
{
    char why[160];
    struct ac_regex *re = ac_regex_compile(pattern, true, why, sizeof(why));
    bool hit;

    assert_non_null(re);
    hit = ac_regex_match(re, text, strlen(text));
    ac_regex_free(re);
    return hit;
}

static bool refused(const char *pattern, const char *why_part)
{
    char why[160] = "";
    struct ac_regex *re = ac_regex_compile(pattern, true, why, sizeof(why));

    if (re) {
        ac_regex_free(re);
        return false;
    }
    if (why_part && !strstr(why, why_part)) {
        fprintf(stderr, "%s: %s\n", pattern, why);
        return false;
    }
    return true;
}

/* Go/RE2 syntax as Prometheus writes it. */
static void test_regex_syntax(void **state)
{
    (void)state;
    assert_true(full("web-\\d+", "web-12"));
    assert_true(full("(?i)PROD", "prod"));
    assert_true(full("(?P<env>prod|staging)-db", "staging-db"));
    assert_true(full("[[:alpha:]]+", "abc"));
    assert_true(full(".+?x", "aaax"));
    assert_true(full("", ""));
    assert_false(full("", "x"));
    assert_false(full("a.b", "a\nb")); /* . is not a newline, as in Go */
    assert_true(full("\\p{Han}+", "\xe5\x91\x8a\xe8\xad\xa6"));
}

/* The whole text must match, and the pattern cannot close the anchor's group. */
static void test_regex_anchoring(void **state)
{
    (void)state;
    assert_false(full("web", "web-1"));
    assert_true(full("web.*", "web-1"));
    assert_true(full("api|web-1", "web-1"));
    assert_false(full("api|web", "web-1"));
    assert_true(refused("prod)|(staging", "unexpected )"));
    assert_true(refused("prod)|(.*", NULL));
    assert_true(refused(")(", NULL));
}

/* What backtracking engines die of is refused or linear. */
static void test_regex_hostile(void **state)
{
    char text[301];
    struct timespec t0, t1;
    const char *slow[] = {"(.*)(.*)(.*)(.*)(.*)x",
                          "(a+)+b",
                          "(a|aa)+b",
                          "(a|a?)+b",
                          "(.*a){20}b",
                          "((a*)*)*b",
                          "(x+x+)+y",
                          "(\\w+\\s?)+$z",
                          "(a|b|ab)*c",
                          "([a-z]+)*[0-9]",
                          "(?:a*)*(?:b*)*c",
                          NULL};
    char why[160];
    double ms;

    (void)state;
    assert_true(refused("(a|b)++++++++++++++++++++", "repetition"));
    assert_true(refused("(.*)(.*)(.*)(.*)(.*)\\5x", "escape"));
    assert_true(refused("(a)\\1", "escape"));
    assert_true(refused("(?=a)b", NULL));  /* lookahead */
    assert_true(refused("(?<=a)b", NULL)); /* lookbehind */
    assert_true(refused("a{1001}", "repetition"));
    assert_true(refused("((a{1000}){1000}){1000}", NULL));
    assert_true(refused(
        "(((((((((((((((((((((((((((((((((((((((((a)))))))))))))))))))))))))))))))))))))))))"
        "{1000}{1000}",
        NULL));
    memset(text, 'a', 300);
    text[300] = '\0';
    for (int i = 0; slow[i]; i++) {
        struct ac_regex *re = ac_regex_compile(slow[i], true, why, sizeof(why));
        assert_non_null(re);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (int k = 0; k < 100; k++) {
            assert_false(ac_regex_match(re, text, 300));
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
        printf("# %-22s 100 x 300 chars: %.2f ms\n", slow[i], ms);
        ac_regex_free(re);
    }
}

/* The shared cache compiles a text once while it is in use or kept. */
static void test_regex_shared_compiles_once(void **state)
{
    char why[160];
    uint64_t before = ac_regex_compiles();
    const struct ac_regex *a = ac_regex_shared("db-[0-9]+", why, sizeof(why));
    const struct ac_regex *b = ac_regex_shared("db-[0-9]+", why, sizeof(why));

    (void)state;
    assert_non_null(a);
    assert_ptr_equal(a, b);
    assert_true(ac_regex_match(a, "db-7", 4));
    assert_false(ac_regex_match(a, "db-7x", 5));
    ac_regex_release("db-[0-9]+");
    ac_regex_release("db-[0-9]+");
    for (int round = 0; round < 10; round++) { /* each planning round loads it again */
        a = ac_regex_shared("db-[0-9]+", why, sizeof(why));
        ac_regex_release("db-[0-9]+");
    }
    assert_int_equal(ac_regex_compiles() - before, 1);
    assert_null(ac_regex_shared("a)|(b", why, sizeof(why)));
    assert_true(strlen(why) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regex_syntax),
        cmocka_unit_test(test_regex_anchoring),
        cmocka_unit_test(test_regex_hostile),
        cmocka_unit_test(test_regex_shared_compiles_once),
    };

    return cmocka_run_group_tests_name("unit_regex", tests, NULL, NULL);
}
