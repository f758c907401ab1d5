/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration tests of the PagerDuty Events API v2 (POST /v2/enqueue): a
 * sender that knows only its routing key triggers, repeats, acknowledges and
 * resolves an alert by its dedup_key, answered as PagerDuty answers; the
 * routing key maps to its configured source and labels; bad events and bad
 * keys are refused and store nothing.
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

#include "tests/integration/harness.h"

#define PD_KEY "R0PDKEY0123456789ABCDEFGHIJKLMNO"

static struct it_server srv;

static int setup(void **state)
{
    static const char *const env[] = {"AC_TEST_PD_KEY=" PD_KEY, NULL};

    (void)state;
    it_server_start_config(
        &srv,
        "{\"auth\":{\"tokens\":[{\"name\":\"pd-shop\",\"scopes\":[\"ingest\"],\"token_env\":"
        "\"AC_TEST_PD_KEY\"}]},\"pagerduty\":{\"routing_keys\":{\"pd-shop\":{\"source\":"
        "\"shop-monitor\",\"type\":\"ItPdIncident\",\"labels\":{\"team\":\"shop\"}}}}}",
        env);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(it_server_stop(&srv), 0);
    return 0;
}

/* As a PagerDuty sender posts: no Authorization header. */
static long enqueue(const char *body, json_t **out)
{
    return it_call(&srv, "POST", "/v2/enqueue", NULL, "application/json", body, out);
}

static void test_trigger_repeat_ack_resolve(void **state)
{
    const char *trigger =
        "{\"routing_key\":\"" PD_KEY "\",\"event_action\":\"trigger\",\"dedup_key\":\"db-1/disk\","
        "\"payload\":{\"summary\":\"disk 99% on db-1\",\"source\":\"db-1.example\",\"severity\":"
        "\"error\",\"component\":\"mysql\",\"custom_details\":{\"free\":\"1%\"}}}";
    json_t *r = NULL;

    (void)state;
    assert_int_equal(enqueue(trigger, &r), 202);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "success");
    assert_string_equal(json_string_value(json_object_get(r, "message")), "Event processed");
    assert_string_equal(json_string_value(json_object_get(r, "dedup_key")), "db-1/disk");
    json_decref(r);
    assert_int_equal(enqueue(trigger, &r), 202); /* a repeat folds into the alert */
    json_decref(r);
    assert_int_equal(it_sql_ll("SELECT count FROM alerts WHERE type = 'ItPdIncident'"
                               " AND source = 'shop-monitor' AND level = 'P2'"
                               " AND status = 'firing' AND instance = 'db-1.example'"),
                     2);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM events WHERE type = 'ItPdIncident'"
                               " AND doc->'labels'->>'team' = 'shop'"
                               " AND doc->'labels'->>'component' = 'mysql'"
                               " AND doc->'context'->'custom_details'->>'free' = '1%'"),
                     1);
    /* acknowledge: the alert with that key, by the key's owner */
    assert_int_equal(enqueue("{\"routing_key\":\"" PD_KEY "\",\"event_action\":\"acknowledge\","
                             "\"dedup_key\":\"db-1/disk\"}",
                             &r),
                     202);
    json_decref(r);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM alerts WHERE type = 'ItPdIncident'"
                               " AND status = 'acknowledged' AND acked_by = 'pagerduty:pd-shop'"),
                     1);
    /* another key's resolve leaves it; this one resolves it */
    assert_int_equal(enqueue("{\"routing_key\":\"" PD_KEY "\",\"event_action\":\"resolve\","
                             "\"dedup_key\":\"db-2/disk\"}",
                             &r),
                     202);
    json_decref(r);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM alerts WHERE type = 'ItPdIncident'"
                               " AND status = 'acknowledged'"),
                     1);
    assert_int_equal(enqueue("{\"routing_key\":\"" PD_KEY "\",\"event_action\":\"resolve\","
                             "\"dedup_key\":\"db-1/disk\"}",
                             &r),
                     202);
    json_decref(r);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM alerts WHERE type = 'ItPdIncident'"
                               " AND status = 'resolved'"),
                     1);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM alerts WHERE type = 'ItPdIncident'"
                               " AND status <> 'resolved'"),
                     0);
}

static void test_generated_key_and_bearer(void **state)
{
    json_t *r = NULL;
    char body[512], sql[256];
    const char *key;

    (void)state;
    /* a bearer token works too; the key is then only a field (unknown to
     * the config: the default route) */
    assert_int_equal(it_call(&srv, "POST", "/v2/enqueue", IT_INGEST_TOKEN, "application/json",
                             "{\"routing_key\":\"whatever\",\"event_action\":\"trigger\","
                             "\"payload\":{\"summary\":\"no key\",\"source\":\"h\",\"severity\":"
                             "\"critical\"}}",
                             &r),
                     202);
    key = json_string_value(json_object_get(r, "dedup_key"));
    assert_non_null(key);
    assert_int_equal(strlen(key), 32);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM events WHERE type = 'PagerDuty' AND source = 'pagerduty'"
             " AND doc->'labels'->>'dedup_key' = '%s'",
             key);
    assert_int_equal(it_sql_ll(sql), 1);
    /* and that key resolves it */
    snprintf(body, sizeof(body),
             "{\"routing_key\":\"x\",\"event_action\":\"resolve\",\"dedup_key\":\"%s\"}", key);
    json_decref(r);
    assert_int_equal(
        it_call(&srv, "POST", "/v2/enqueue", IT_INGEST_TOKEN, "application/json", body, &r), 202);
    json_decref(r);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM alerts WHERE type = 'PagerDuty'"
                               " AND status = 'resolved' AND level = 'P1'"),
                     1);
}

static void test_refusals_store_nothing(void **state)
{
    json_t *r = NULL;
    long before = (long)it_sql_ll("SELECT count(*) FROM events");

    (void)state;
    /* an unknown routing key */
    assert_int_equal(enqueue("{\"routing_key\":\"R0NOTAKEY\",\"event_action\":\"trigger\","
                             "\"payload\":{\"summary\":\"s\",\"source\":\"h\",\"severity\":"
                             "\"info\"}}",
                             &r),
                     401);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "error"), "code")),
                        "unauthorized");
    json_decref(r);
    /* a read token is not an ingest token */
    assert_int_equal(it_call(&srv, "POST", "/v2/enqueue", IT_READ_TOKEN, "application/json",
                             "{\"routing_key\":\"" PD_KEY "\",\"event_action\":\"resolve\","
                             "\"dedup_key\":\"k\"}",
                             &r),
                     403);
    json_decref(r);
    /* an invalid event: PagerDuty's answer and ours */
    assert_int_equal(enqueue("{\"routing_key\":\"" PD_KEY "\",\"event_action\":\"trigger\","
                             "\"payload\":{\"summary\":\"s\",\"source\":\"h\",\"severity\":"
                             "\"fatal\"}}",
                             &r),
                     400);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "invalid event");
    assert_non_null(
        strstr(json_string_value(json_array_get(json_object_get(r, "errors"), 0)), "severity"));
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "error"), "code")),
                        "invalid_event");
    json_decref(r);
    assert_int_equal((long)it_sql_ll("SELECT count(*) FROM events"), before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trigger_repeat_ack_resolve),
        cmocka_unit_test(test_generated_key_and_bearer),
        cmocka_unit_test(test_refusals_store_nothing),
    };
    int rc;

    it_init("pagerduty");
    rc = cmocka_run_group_tests_name("integration_pagerduty", tests, setup, teardown);
    it_fini();
    return rc;
}
