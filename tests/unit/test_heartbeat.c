/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of probe heartbeats (ingest/heartbeat.c): decoding and its
 * refusals, and what a heartbeat means after the instance's previous state -
 * the events (fixtures in tests/fixtures/heartbeats/), the checks left
 * failing, exits clean and not, configured check types.
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

#include "ingest/heartbeat.h"
#include "server/core/pg.h"
#include "tests/unit/unit.h"

static struct ac_ingest in;

static int setup(void **state)
{
    json_t *sec = json_loads("{\"check_types\":{\"dns\":\"ProbeDnsFailed\"}}", 0, NULL);

    (void)state;
    in.ops = &ac_heartbeat_ops;
    in.section = sec;
    assert_int_equal(in.ops->init(&in), AC_OK);
    json_decref(sec); /* init keeps its own copy */
    in.section = NULL;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    in.ops->destroy(&in);
    return 0;
}

static struct ac_hb *decode_ok(const char *body, size_t *n)
{
    struct ac_hb *hbs = NULL;
    json_t *details = NULL;

    if (ac_hb_decode(body, strlen(body), 10, &hbs, n, &details) != AC_OK) {
        fail_msg("refused: %s", json_dumps(details, 0));
    }
    return hbs;
}

/* Plans hb after prev; returns the events as normalized JSON (new) and the
 * failing checks after it in *failing (new string). */
static json_t *plan(const struct ac_hb *hb, const struct ac_hb_prev *prev, char **failing,
                    json_t *raised, json_t *resolved)
{
    struct ac_event_vec evs = {0};
    struct ac_buf f = {0};
    json_t *out = json_array();

    ac_hb_plan(&in, hb, prev, 7, &evs, &f, raised, resolved);
    ac_pg_array_close(&f);
    for (size_t i = 0; i < evs.n; i++) {
        assert_int_equal(evs.items[i].received_at, 7);
        json_array_append_new(out, ac_event_to_json(&evs.items[i]));
    }
    *failing = ac_buf_steal(&f);
    ac_event_vec_deinit(&evs);
    return out;
}

static void test_hb_fixture(void **state)
{
    size_t len, elen, n;
    char *body = unit_fixture("heartbeats", "failing.json", &len);
    char *exp_text = unit_fixture("heartbeats", "failing.expected.json", &elen), *failing;
    json_t *exp = json_loads(exp_text, 0, NULL), *got, *raised = json_array(),
           *resolved = json_array();
    const json_t *pj = json_object_get(exp, "prev");
    struct ac_hb_prev prev = {json_object_get(pj, "failing"),
                              json_is_true(json_object_get(pj, "lost")),
                              json_is_true(json_object_get(pj, "exited_bad"))};
    struct ac_hb *hb = decode_ok(body, &n);

    (void)state;
    assert_int_equal(n, 1);
    assert_string_equal(hb->instance, "web-0");
    assert_int_equal(hb->interval_s, 30);
    assert_int_equal(hb->nchecks, 4);
    got = plan(hb, &prev, &failing, raised, resolved);
    if (!json_equal(got, json_object_get(exp, "events"))) {
        fail_msg("got %s", json_dumps(got, JSON_INDENT(1)));
    }
    assert_true(json_equal(raised, json_object_get(exp, "raised")));
    assert_true(json_equal(resolved, json_object_get(exp, "resolved")));
    /* the PostgreSQL array of the checks failing after it */
    assert_string_equal(failing, "{\"network\",\"storage_mount\",\"agent_start\"}");
    free(failing);
    json_decref(got);
    json_decref(raised);
    json_decref(resolved);
    json_decref(exp);
    ac_hb_free(hb, n);
    free(body);
    free(exp_text);
}

static void test_hb_exits(void **state)
{
    size_t n;
    char *failing;
    json_t *raised = json_array(), *resolved = json_array(), *got;
    json_t *was = json_loads("[\"network\"]", 0, NULL);
    struct ac_hb *hb = decode_ok("{\"instance\":\"web-1\",\"interval_s\":10,\"checks\":[{\"name\":"
                                 "\"container\",\"code\":137}],\"exit\":{\"code\":137,\"reason\":"
                                 "\"OOMKilled\"}}",
                                 &n);
    struct ac_hb_prev prev = {NULL, false, false};

    (void)state;
    /* a bad exit: the container check and InstanceExited */
    got = plan(hb, &prev, &failing, raised, resolved);
    assert_int_equal(json_array_size(got), 2);
    assert_string_equal(json_string_value(json_array_get(raised, 0)), "ContainerExited");
    assert_string_equal(json_string_value(json_array_get(raised, 1)), "InstanceExited");
    assert_string_equal(json_string_value(json_object_get(json_array_get(got, 1), "message")),
                        "OOMKilled");
    assert_string_equal(json_string_value(json_object_get(json_array_get(got, 1), "title")),
                        "web-1 exited with code 137");
    free(failing);
    json_decref(got);
    ac_hb_free(hb, n);

    /* a clean exit resolves what was failing (reported or not); InstanceExited
     * only if it had been raised */
    hb = decode_ok("{\"instance\":\"web-1\",\"interval_s\":10,\"exit\":{\"code\":0}}", &n);
    json_array_clear(raised);
    json_array_clear(resolved);
    prev = (struct ac_hb_prev){was, false, true};
    got = plan(hb, &prev, &failing, raised, resolved);
    assert_int_equal(json_array_size(raised), 0);
    assert_int_equal(json_array_size(resolved), 2);
    assert_string_equal(json_string_value(json_array_get(resolved, 0)), "ProbeNetworkUnreachable");
    assert_string_equal(json_string_value(json_array_get(resolved, 1)), "InstanceExited");
    assert_string_equal(failing, "{}");
    free(failing);
    json_decref(got);
    ac_hb_free(hb, n);

    /* a plain heartbeat that leaves a failing check out keeps it failing;
     * configured check types win */
    hb = decode_ok("{\"instance\":\"web-1\",\"interval_s\":10,\"checks\":[{\"name\":\"dns\","
                   "\"code\":1},{\"name\":\"disk_io\",\"code\":2}]}",
                   &n);
    json_array_clear(raised);
    json_array_clear(resolved);
    prev = (struct ac_hb_prev){was, false, false};
    got = plan(hb, &prev, &failing, raised, resolved);
    assert_string_equal(json_string_value(json_array_get(raised, 0)), "ProbeDnsFailed");
    assert_string_equal(json_string_value(json_array_get(raised, 1)), "ProbeCheckFailed");
    assert_int_equal(json_array_size(resolved), 0);
    assert_string_equal(failing, "{\"dns\",\"disk_io\",\"network\"}");
    free(failing);
    json_decref(got);
    ac_hb_free(hb, n);
    json_decref(was);
    json_decref(raised);
    json_decref(resolved);
}

static void expect_refused(const char *body, const char *path, long index)
{
    struct ac_hb *hbs = NULL;
    size_t n = 9;
    json_t *details = NULL, *d;
    size_t i;
    bool hit = false;

    assert_int_equal(ac_hb_decode(body, strlen(body), 3, &hbs, &n, &details), AC_EINVAL);
    assert_null(hbs);
    assert_int_equal(n, 0);
    json_array_foreach(details, i, d)
    {
        json_t *ix = json_object_get(d, "index");
        hit = hit || (strcmp(json_string_value(json_object_get(d, "path")), path) == 0 &&
                      (index < 0 ? !ix : json_integer_value(ix) == index));
    }
    if (!hit) {
        fail_msg("no error at %s in %s", path, json_dumps(details, 0));
    }
    json_decref(details);
}

static void test_hb_refusals(void **state)
{
    struct ac_hb *hbs = NULL;
    size_t n;
    json_t *details = NULL;

    (void)state;
    expect_refused("{\"interval_s\":10}", "$.instance", -1);
    expect_refused("{\"instance\":\"i\"}", "$.interval_s", -1);
    expect_refused("{\"instance\":\"i\",\"interval_s\":0}", "$.interval_s", -1);
    expect_refused("[{\"instance\":\"i\",\"interval_s\":5},{\"instance\":\"\",\"interval_s\":5}]",
                   "$.instance", 1);
    expect_refused("{\"instance\":\"i\",\"interval_s\":5,\"checks\":[{\"name\":\"Bad Name\","
                   "\"code\":1}]}",
                   "$.checks[0]", -1);
    expect_refused("{\"instance\":\"i\",\"interval_s\":5,\"checks\":[{\"name\":\"n\",\"code\":"
                   "\"1\"}]}",
                   "$.checks[0]", -1);
    expect_refused("{\"instance\":\"i\",\"interval_s\":5,\"checks\":[{\"name\":\"n\",\"code\":1},"
                   "{\"name\":\"n\",\"code\":0}]}",
                   "$.checks[1]", -1);
    expect_refused("{\"instance\":\"i\",\"interval_s\":5,\"exit\":{\"reason\":\"x\"}}", "$.exit",
                   -1);
    expect_refused("{\"instance\":\"i\",\"interval_s\":5,\"colour\":\"red\"}", "$", -1);
    expect_refused("{\"instance\":", "$", -1);
    assert_int_equal(ac_hb_decode("[{},{},{},{}]", 13, 3, &hbs, &n, &details), AC_ETOOBIG);
    json_decref(details);
}

static void test_hb_config(void **state)
{
    struct ac_ingest bad = {.ops = &ac_heartbeat_ops, .section = NULL};
    json_t *sec = json_loads("{\"lost_after_intervals\":0}", 0, NULL);

    (void)state;
    bad.section = sec;
    assert_int_equal(bad.ops->init(&bad), AC_EINVAL);
    bad.ops->destroy(&bad);
    assert_null(bad.ctx);
    json_decref(sec);
    sec = json_loads("{\"check_types\":{\"x\":1}}", 0, NULL);
    bad.section = sec;
    assert_int_equal(bad.ops->init(&bad), AC_EINVAL);
    bad.ops->destroy(&bad);
    json_decref(sec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hb_fixture),
        cmocka_unit_test(test_hb_exits),
        cmocka_unit_test(test_hb_refusals),
        cmocka_unit_test(test_hb_config),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
