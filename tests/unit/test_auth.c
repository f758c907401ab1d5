/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of bearer tokens and scopes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/auth.h"

static void clear_env(void)
{
    unsetenv("AC_ADMIN_TOKEN");
    unsetenv("AC_INGEST_TOKEN");
    unsetenv("AC_READ_TOKEN");
    unsetenv("AC_OPERATE_TOKEN");
    unsetenv("AC_TEST_TOK");
}

static void test_auth_env_tokens_and_scopes(void **state)
{
    struct ac_auth *a;
    const char *who, *ten;

    (void)state;
    clear_env();
    setenv("AC_ADMIN_TOKEN", "admin-secret-123456", 1);
    setenv("AC_INGEST_TOKEN", "ingest-secret-123456", 1);
    a = ac_auth_create(NULL);
    assert_non_null(a);
    assert_int_equal(ac_auth_count(a), 2);
    assert_int_equal(ac_auth_check(a, "Bearer ingest-secret-123456", AC_SCOPE_INGEST, &who, &ten),
                     AC_AUTH_OK);
    assert_string_equal(who, "ingest");
    assert_int_equal(ac_auth_check(a, "Bearer ingest-secret-123456", AC_SCOPE_READ, &who, &ten),
                     AC_AUTH_FORBIDDEN);
    /* admin satisfies every scope */
    assert_int_equal(ac_auth_check(a, "bearer admin-secret-123456", AC_SCOPE_READ, &who, &ten),
                     AC_AUTH_OK);
    assert_int_equal(ac_auth_check(a, "Bearer admin-secret-12345", AC_SCOPE_READ, &who, &ten),
                     AC_AUTH_INVALID);
    assert_null(who);
    assert_int_equal(ac_auth_check(a, NULL, AC_SCOPE_READ, &who, &ten), AC_AUTH_MISSING);
    assert_int_equal(ac_auth_check(a, "Basic YWI6Y2Q=", AC_SCOPE_READ, &who, &ten),
                     AC_AUTH_MISSING);
    ac_auth_destroy(a);
    clear_env();
}

static void test_auth_config_entries(void **state)
{
    char path[] = "/tmp/ac_tok_XXXXXX";
    int fd = mkstemp(path);
    json_t *tokens;
    struct ac_auth *a;
    const char *who, *ten;
    char *text;

    (void)state;
    clear_env();
    assert_true(write(fd, "file-secret-abcdef\n", 19) == 19);
    close(fd);
    setenv("AC_TEST_TOK", "env-secret-abcdefgh", 1);
    /* sha256("digest-secret-abcd") */
    text = NULL;
    assert_true(asprintf(&text,
                         "[{\"name\":\"f\",\"scopes\":[\"read\"],\"token_file\":\"%s\"},"
                         "{\"name\":\"e\",\"scopes\":[\"ingest\",\"operate\"],\"token_env\":"
                         "\"AC_TEST_TOK\"},"
                         "{\"name\":\"d\",\"scopes\":[\"read\"],\"token_sha256\":"
                         "\"515bcaa53f6e63c9df6dc387658ee33030fcf00aec97338337a7d2920f720390\"}]",
                         path) > 0);
    tokens = json_loads(text, 0, NULL);
    a = ac_auth_create(tokens);
    assert_non_null(a);
    assert_int_equal(ac_auth_count(a), 3);
    /* the trailing newline of a token file is not part of the token */
    assert_int_equal(ac_auth_check(a, "Bearer file-secret-abcdef", AC_SCOPE_READ, &who, &ten),
                     AC_AUTH_OK);
    assert_string_equal(who, "f");
    assert_int_equal(ac_auth_check(a, "Bearer env-secret-abcdefgh", AC_SCOPE_OPERATE, &who, &ten),
                     AC_AUTH_OK);
    assert_int_equal(ac_auth_check(a, "Bearer env-secret-abcdefgh", AC_SCOPE_READ, &who, &ten),
                     AC_AUTH_FORBIDDEN);
    assert_int_equal(ac_auth_check(a, "Bearer digest-secret-abcd", AC_SCOPE_READ, &who, &ten),
                     AC_AUTH_OK);
    assert_string_equal(who, "d");
    ac_auth_destroy(a);
    json_decref(tokens);
    free(text);
    unlink(path);
    clear_env();
}

static void expect_rejected(const char *json)
{
    json_t *t = json_loads(json, 0, NULL);

    assert_non_null(t);
    assert_null(ac_auth_create(t));
    json_decref(t);
}

static void test_auth_rejects_bad_entries(void **state)
{
    (void)state;
    clear_env();
    expect_rejected("[{\"name\":\"x\",\"scopes\":[\"root\"],\"token_sha256\":\"00\"}]");
    expect_rejected("[{\"name\":\"x\",\"scopes\":[\"read\"]}]");
    expect_rejected("[{\"name\":\"x\",\"scopes\":[\"read\"],\"token_env\":\"AC_NOPE_UNSET\"}]");
    expect_rejected("[{\"name\":\"x\",\"scopes\":[\"read\"],\"token_sha256\":\"abc\"}]");
    expect_rejected("[{\"name\":\"x\",\"scopes\":[\"read\"],\"token\":\"plain-in-config\"}]");
    expect_rejected("[{\"scopes\":[\"read\"],\"token_file\":\"/etc/hostname\"}]");
    expect_rejected("{\"name\":\"x\"}");
    /* checking a configuration where its secrets are not: absent sources are
     * warnings (the token left out), everything else still an error */
    {
        json_t *t = json_loads("[{\"name\":\"x\",\"scopes\":[\"read\"],\"token_env\":"
                               "\"AC_NOPE_UNSET\"},{\"name\":\"y\",\"scopes\":[\"read\"],"
                               "\"token_file\":\"/nonexistent/token\"}]",
                               0, NULL);
        struct ac_auth *a = ac_auth_create_checked(t, true);
        assert_non_null(a);
        assert_int_equal(ac_auth_count(a), 0);
        ac_auth_destroy(a);
        assert_null(ac_auth_create_checked(t, false));
        json_decref(t);
        t = json_loads("[{\"name\":\"x\",\"scopes\":[\"root\"],\"token_env\":\"AC_NOPE\"}]", 0,
                       NULL);
        assert_null(ac_auth_create_checked(t, true));
        json_decref(t);
    }
    /* too short to be a secret */
    setenv("AC_ADMIN_TOKEN", "short", 1);
    assert_null(ac_auth_create(NULL));
    clear_env();
}

/* Token buckets: a token's own rate, the default for the others, 0 = none. */
static void test_auth_rates(void **state)
{
    struct ac_auth *a;
    const char *who, *fast, *ten;
    json_t *cfg;
    int allowed = 0;

    (void)state;
    clear_env();
    setenv("AC_ADMIN_TOKEN", "admin-secret-123456", 1);
    setenv("AC_TEST_TOK", "slow-secret-1234567", 1);
    cfg = json_loads("[{\"name\":\"slow\",\"scopes\":[\"read\"],\"token_env\":\"AC_TEST_TOK\","
                     "\"rate_per_s\":0.5,\"burst\":3}]",
                     0, NULL);
    a = ac_auth_create(cfg);
    assert_non_null(a);
    assert_int_equal(ac_auth_check(a, "Bearer slow-secret-1234567", AC_SCOPE_READ, &who, &ten),
                     AC_AUTH_OK);
    for (int i = 0; i < 5; i++) {
        allowed += ac_auth_throttle(a, who) == 0;
    }
    assert_int_equal(allowed, 3);                    /* the burst */
    assert_in_range(ac_auth_throttle(a, who), 1, 2); /* one more in 2 s at 0.5/s */
    /* the admin token has no rate of its own, and the default is none */
    assert_int_equal(ac_auth_check(a, "Bearer admin-secret-123456", AC_SCOPE_READ, &fast, &ten),
                     AC_AUTH_OK);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(ac_auth_throttle(a, fast), 0);
    }
    /* a default of 100/s with a burst of 10 applies to it */
    ac_auth_set_default_rate(a, 100, 10);
    allowed = 0;
    for (int i = 0; i < 50; i++) {
        allowed += ac_auth_throttle(a, fast) == 0;
    }
    assert_in_range(allowed, 10, 12);
    usleep(100 * 1000); /* ~10 more */
    allowed = 0;
    for (int i = 0; i < 50; i++) {
        allowed += ac_auth_throttle(a, fast) == 0;
    }
    assert_in_range(allowed, 8, 12);
    ac_auth_destroy(a);
    json_decref(cfg);
    /* rates must be numbers >= 0 */
    cfg = json_loads("[{\"name\":\"bad\",\"scopes\":[\"read\"],\"token_env\":\"AC_TEST_TOK\","
                     "\"rate_per_s\":-1}]",
                     0, NULL);
    assert_null(ac_auth_create(cfg));
    json_decref(cfg);
    clear_env();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth_env_tokens_and_scopes),
        cmocka_unit_test(test_auth_config_entries),
        cmocka_unit_test(test_auth_rejects_bad_entries),
        cmocka_unit_test(test_auth_rates),
    };

    return cmocka_run_group_tests_name("auth", tests, NULL, NULL);
}
