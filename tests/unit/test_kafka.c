/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the Kafka adapter's offline parts (ingest/kafka.c): the
 * idempotency key of a message's events, and the configuration it refuses.
 * The consumer itself is tested against the mock cluster (it_kafka).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <string.h>

#include "ingest/kafka.h"

static void test_kafka_event_key(void **state)
{
    char a[160], b[160], topic[200];

    (void)state;
    ac_kafka_event_key("alerts", 3, 123456789012LL, 2, a, sizeof(a));
    assert_string_equal(a, "kafka:alerts/3/123456789012#2");
    /* long topics are cut and hashed: still within the model's 128 characters,
     * still apart when only their tails differ */
    memset(topic, 't', 150);
    topic[150] = '\0';
    ac_kafka_event_key(topic, 2147483647, INT64_MAX, 999999, a, sizeof(a));
    topic[149] = 'u';
    ac_kafka_event_key(topic, 2147483647, INT64_MAX, 999999, b, sizeof(b));
    assert_true(strlen(a) <= 128);
    assert_string_not_equal(a, b);
    assert_int_equal(strncmp(a, "kafka:tttt", 10), 0);
}

static int init_with(const char *section)
{
    json_t *s = json_loads(section, 0, NULL);
    struct ac_ingest in = {.ops = &ac_kafka_ops, .section = s};
    int rc;

    assert_non_null(s);
    rc = in.ops->init(&in);
    in.ops->destroy(&in);
    assert_null(in.ctx);
    json_decref(s);
    return rc;
}

static void test_kafka_config(void **state)
{
    struct ac_ingest off = {.ops = &ac_kafka_ops, .section = NULL};

    (void)state;
    unsetenv("AC_KAFKA_BROKERS");
    assert_int_equal(init_with("{\"brokers\":\"127.0.0.1:9092\",\"topics\":{\"a\":\"native\","
                               "\"b\":\"alertmanager\",\"c\":\"k8s_event\"},\"options\":{"
                               "\"fetch.wait.max.ms\":\"50\"}}"),
                     AC_OK);
    assert_int_equal(init_with("{\"brokers\":\"b:1\",\"topics\":{\"a\":\"xml\"}}"), AC_EINVAL);
    assert_int_equal(init_with("{\"topics\":{\"a\":\"native\"}}"), AC_EINVAL); /* no brokers */
    assert_int_equal(init_with("{\"brokers\":\"b:1\",\"topics\":{}}"), AC_EINVAL);
    assert_int_equal(init_with("{\"brokers\":\"b:1\",\"topics\":{\"a\":\"native\"},"
                               "\"options\":{\"enable.auto.offset.store\":\"true\"}}"),
                     AC_EINVAL);
    assert_int_equal(init_with("{\"brokers\":\"b:1\",\"topics\":{\"a\":\"native\"},"
                               "\"options\":{\"no.such.property\":\"1\"}}"),
                     AC_EINVAL);
    assert_int_equal(init_with("{\"brokers\":\"b:1\",\"topics\":{\"a\":\"native\"},"
                               "\"options\":{\"sasl.password\":\"env:AC_TEST_UNSET_VAR\"}}"),
                     AC_EINVAL);
    assert_int_equal(init_with("{\"brokers\":\"b:1\",\"topics\":{\"a\":\"native\"},"
                               "\"batch_max\":0}"),
                     AC_EINVAL);
    assert_int_equal(init_with("{\"brokers\":\"b:1\",\"topics\":{\"a\":\"native\"},"
                               "\"colour\":1}"),
                     AC_EINVAL);
    /* absent: nothing to consume, nothing started */
    assert_int_equal(off.ops->init(&off), AC_OK);
    assert_int_equal(off.ops->start(&off), AC_OK);
    off.ops->destroy(&off);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kafka_event_key),
        cmocka_unit_test(test_kafka_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
