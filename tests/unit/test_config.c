/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the configuration tables, env overrides, masking and Redis URLs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/core/config.h"
#include "server/core/redis.h"

static void clear_env(void)
{
    unsetenv("AC_LISTEN");
    unsetenv("AC_PG_DSN");
    unsetenv("AC_REDIS_URL");
    unsetenv("AC_LOG_LEVEL");
}

static int load_text(struct ac_config *cfg, const char *text, json_t **errors)
{
    json_error_t jerr;
    json_t *root = text ? json_loads(text, 0, &jerr) : NULL;
    int rc;

    memset(cfg, 0, sizeof(*cfg));
    *errors = json_array();
    rc = ac_cfg_load(ac_config_table, cfg, root, *errors);
    json_decref(root);
    return rc;
}

static void test_config_defaults(void **state)
{
    struct ac_config cfg;
    json_t *errs;

    (void)state;
    clear_env();
    assert_int_equal(load_text(&cfg, NULL, &errs), AC_OK);
    assert_string_equal(cfg.listen, "127.0.0.1:8080");
    assert_int_equal(cfg.max_body_bytes, 1048576);
    assert_non_null(strstr(cfg.pg_dsn, "dbname=alertcenter"));
    assert_string_equal(cfg.redis_url, "redis://127.0.0.1:6379/0");
    assert_null(cfg.auth_tokens);
    json_decref(errs);
    ac_config_deinit(&cfg);
}

static void test_config_file_and_env(void **state)
{
    struct ac_config cfg;
    json_t *errs;

    (void)state;
    clear_env();
    setenv("AC_LISTEN", "[::1]:9000", 1);
    assert_int_equal(load_text(&cfg,
                               "{\"listen\":\"0.0.0.0:1\",\"limits\":{\"max_body_bytes\":2048},"
                               "\"auth\":{\"tokens\":[{\"name\":\"x\"}]}}",
                               &errs),
                     AC_OK);
    assert_string_equal(cfg.listen, "[::1]:9000"); /* environment wins over the file */
    assert_int_equal(cfg.max_body_bytes, 2048);
    assert_true(json_is_array(cfg.auth_tokens));
    json_decref(errs);
    ac_config_deinit(&cfg);
    clear_env();
}

static void test_config_unknown_key(void **state)
{
    struct ac_config cfg;
    json_t *errs;

    (void)state;
    clear_env();
    assert_int_equal(load_text(&cfg, "{\"postgres\":{\"dns\":\"x\"},\"lissen\":\"y\"}", &errs),
                     AC_EINVAL);
    assert_int_equal(json_array_size(errs), 2);
    assert_non_null(strstr(json_string_value(json_array_get(errs, 0)), "postgres.dns"));
    json_decref(errs);
    ac_config_deinit(&cfg);
}

static void test_config_bad_values(void **state)
{
    struct ac_config cfg;
    json_t *errs;

    (void)state;
    clear_env();
    assert_int_equal(load_text(&cfg, "{\"limits\":{\"max_body_bytes\":1}}", &errs), AC_EINVAL);
    assert_non_null(strstr(json_string_value(json_array_get(errs, 0)), "from 1024"));
    json_decref(errs);
    ac_config_deinit(&cfg);
    assert_int_equal(load_text(&cfg, "{\"listen\":5}", &errs), AC_EINVAL);
    json_decref(errs);
    ac_config_deinit(&cfg);
    assert_int_equal(load_text(&cfg, "[1]", &errs), AC_EINVAL);
    json_decref(errs);
    ac_config_deinit(&cfg);
}

static void test_config_file_load(void **state)
{
    char path[] = "/tmp/ac_cfg_XXXXXX";
    int fd = mkstemp(path);
    struct ac_config cfg;
    FILE *f;

    (void)state;
    clear_env();
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    fputs("{\"log\":{\"level\":\"debug\"},\"postgres\":{\"pool_size\":9}}", f);
    fclose(f);
    assert_int_equal(ac_config_load(&cfg, path), AC_OK);
    assert_string_equal(cfg.log_level, "debug");
    assert_int_equal(cfg.pg_pool_size, 9);
    ac_config_deinit(&cfg);
    assert_int_equal(ac_config_load(&cfg, "/nonexistent/alertcenter.json"), AC_EINVAL);
    unlink(path);
}

static void test_config_secrets_masked(void **state)
{
    struct ac_config cfg;
    json_t *errs, *dump;
    char *s;

    (void)state;
    clear_env();
    setenv("AC_PG_DSN", "postgresql://ac:s3cretpw@db:5432/ac", 1);
    setenv("AC_REDIS_URL", "redis://:r3dispw@cache:6380/2", 1);
    assert_int_equal(load_text(&cfg, NULL, &errs), AC_OK);
    dump = ac_cfg_dump(ac_config_table, &cfg);
    s = json_dumps(dump, 0);
    assert_null(strstr(s, "s3cretpw"));
    assert_null(strstr(s, "r3dispw"));
    assert_non_null(strstr(s, "password=***"));
    assert_non_null(strstr(s, "cache:6380"));
    free(s);
    json_decref(dump);
    json_decref(errs);
    ac_config_deinit(&cfg);
    clear_env();
    s = ac_cfg_mask_dsn("host=x dbname=y");
    assert_string_equal(s, "host=x dbname=y");
    free(s);

    /* webhook URLs carry their tokens in the path or the query */
    assert_int_equal(load_text(&cfg,
                               "{\"notify\":{\"channels\":{\"d\":{\"kind\":\"dingtalk\",\"url\":"
                               "\"https://oapi.dingtalk.com/robot/send?access_token=t0kEn\"},"
                               "\"s\":{\"kind\":\"slack\",\"url\":\"https://hooks.slack.com/"
                               "services/T0/B0/sl4ckSecret\"}}}}",
                               &errs),
                     AC_OK);
    dump = ac_cfg_dump(ac_config_table, &cfg);
    s = json_dumps(dump, 0);
    assert_null(strstr(s, "t0kEn"));
    assert_null(strstr(s, "sl4ckSecret"));
    assert_non_null(strstr(s, "https://hooks.slack.com/***"));
    free(s);
    json_decref(dump);
    json_decref(errs);
    ac_config_deinit(&cfg);
}

static void test_config_redis_url(void **state)
{
    struct ac_redis_target t;

    (void)state;
    assert_int_equal(ac_redis_parse_url("redis://127.0.0.1:6380/3", &t), AC_OK);
    assert_string_equal(t.host, "127.0.0.1");
    assert_int_equal(t.port, 6380);
    assert_int_equal(t.db, 3);
    assert_null(t.password);
    ac_redis_target_deinit(&t);
    assert_int_equal(ac_redis_parse_url("redis://user:p%40ss@[::1]", &t), AC_OK);
    assert_string_equal(t.host, "::1");
    assert_int_equal(t.port, 6379);
    assert_string_equal(t.username, "user");
    assert_string_equal(t.password, "p@ss");
    ac_redis_target_deinit(&t);
    assert_int_equal(ac_redis_parse_url("http://x", &t), AC_EINVAL);
    assert_int_equal(ac_redis_parse_url("redis://x/99", &t), AC_EINVAL);
    assert_int_equal(ac_redis_parse_url("not a url", &t), AC_EINVAL);
}

struct sect {
    long n;
    bool on;
    char *name;
};

static const struct ac_cfg_entry sect_cfg[] = {
    {AC_CFG_INT, "n", "3", offsetof(struct sect, n), NULL, "a number", 1, 9},
    {AC_CFG_BOOL, "on", "false", offsetof(struct sect, on), "AC_TEST_SECT_ON", "a switch", 0, 0},
    {AC_CFG_STR, "name", "x", offsetof(struct sect, name), NULL, "a name", 0, 0},
    {AC_CFG_END, NULL, NULL, 0, NULL, NULL, 0, 0},
};

/* A module's section: relative keys, errors named under its prefix,
 * booleans, environment overrides, and the table as a reference. */
static void test_config_section(void **state)
{
    struct sect st;
    json_t *errs = json_array(), *obj = json_loads("{\"n\":5,\"on\":true}", 0, NULL), *ref;

    (void)state;
    unsetenv("AC_TEST_SECT_ON");
    memset(&st, 0, sizeof(st));
    assert_int_equal(ac_cfg_load_section(sect_cfg, &st, obj, "mod", errs), AC_OK);
    assert_int_equal(st.n, 5);
    assert_true(st.on);
    assert_string_equal(st.name, "x");
    ac_cfg_free(sect_cfg, &st);
    json_decref(obj);
    /* no section: the defaults, and the environment */
    setenv("AC_TEST_SECT_ON", "true", 1);
    memset(&st, 0, sizeof(st));
    assert_int_equal(ac_cfg_load_section(sect_cfg, &st, NULL, "mod", errs), AC_OK);
    assert_int_equal(st.n, 3);
    assert_true(st.on);
    ac_cfg_free(sect_cfg, &st);
    unsetenv("AC_TEST_SECT_ON");
    /* every problem, named under the prefix */
    obj = json_loads("{\"n\":10,\"on\":\"yes\",\"typo\":1}", 0, NULL);
    memset(&st, 0, sizeof(st));
    assert_int_equal(ac_cfg_load_section(sect_cfg, &st, obj, "mod", errs), AC_EINVAL);
    ac_cfg_free(sect_cfg, &st);
    json_decref(obj);
    assert_int_equal(json_array_size(errs), 3);
    assert_non_null(strstr(json_string_value(json_array_get(errs, 0)), "mod.n"));
    assert_non_null(strstr(json_string_value(json_array_get(errs, 1)), "mod.on"));
    assert_string_equal(json_string_value(json_array_get(errs, 2)), "mod.typo: unknown key");
    json_array_clear(errs);
    memset(&st, 0, sizeof(st));
    obj = json_string("not an object");
    assert_int_equal(ac_cfg_load_section(sect_cfg, &st, obj, "mod", errs), AC_EINVAL);
    assert_string_equal(json_string_value(json_array_get(errs, 0)), "mod: must be an object");
    ac_cfg_free(sect_cfg, &st);
    json_decref(obj);
    ref = ac_cfg_describe(sect_cfg, "mod");
    assert_int_equal(json_array_size(ref), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ref, 0), "key")), "mod.n");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(ref, 0), "max")), 9);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ref, 1), "type")),
                        "boolean");
    assert_string_equal(json_string_value(json_object_get(json_array_get(ref, 1), "env")),
                        "AC_TEST_SECT_ON");
    json_decref(ref);
    json_decref(errs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults),    cmocka_unit_test(test_config_file_and_env),
        cmocka_unit_test(test_config_unknown_key), cmocka_unit_test(test_config_bad_values),
        cmocka_unit_test(test_config_file_load),   cmocka_unit_test(test_config_secrets_masked),
        cmocka_unit_test(test_config_redis_url),   cmocka_unit_test(test_config_section),
    };

    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
