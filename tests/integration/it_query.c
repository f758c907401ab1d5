/* SPDX-License-Identifier: Apache-2.0 */
/* Integration tests of GET /v1/events and /v1/alerts: filters, pagination, errors. */
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

#define N_EVENTS 25

static struct it_server srv;
static char since[64];

static int setup(void **state)
{
    char body[8192];
    size_t n = 0;
    json_t *r;

    (void)state;
    it_server_start(&srv, NULL);
    r = it_get(&srv, "/healthz");
    json_decref(r);
    /* 25 events of type ItQ: app a0..a4, levels P1..P4 cycling, two regions */
    n += (size_t)snprintf(body + n, sizeof(body) - n, "[");
    for (int i = 0; i < N_EVENTS; i++) {
        n += (size_t)snprintf(body + n, sizeof(body) - n,
                              "%s{\"source\":\"%s\",\"type\":\"ItQ\",\"title\":\"q%d\","
                              "\"app_id\":\"a%d\",\"user_id\":\"u%d\",\"level\":\"P%d\","
                              "\"region\":\"%s\",\"instance\":\"i%d\"}",
                              i ? "," : "", i % 2 ? "probe" : "diagnosis", i, i % 5, i % 3,
                              i % 4 + 1, i < 10 ? "cn-hz" : "cn-sh", i);
    }
    snprintf(body + n, sizeof(body) - n, "]");
    json_decref(it_post_events(&srv, body, 200));
    json_decref(it_post_events(
        &srv, "{\"source\":\"probe\",\"type\":\"ItOther\",\"title\":\"x\",\"app_id\":\"a0\"}",
        200));
    snprintf(since, sizeof(since), "2000-01-01T00:00:00Z");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(it_server_stop(&srv), 0);
    return 0;
}

static size_t n_items(json_t *page)
{
    return json_array_size(json_object_get(page, "items"));
}

static void test_query_pagination(void **state)
{
    char path[256];
    const char *cursor = NULL;
    long long seen[64];
    size_t nseen = 0, pages = 0;
    json_t *page = NULL;

    (void)state;
    do {
        snprintf(path, sizeof(path), "/v1/events?type=ItQ&limit=10%s%s", cursor ? "&cursor=" : "",
                 cursor ? cursor : "");
        json_t *next = it_get(&srv, path);
        size_t i;
        json_t *it;
        json_decref(page);
        page = next;
        json_array_foreach(json_object_get(page, "items"), i, it)
        {
            long long id = atoll(json_string_value(json_object_get(it, "event_id")));
            /* newest first, no repeats across pages */
            if (nseen) {
                assert_true(id < seen[nseen - 1]);
            }
            seen[nseen++] = id;
            assert_string_equal(json_string_value(json_object_get(it, "type")), "ItQ");
        }
        cursor = json_string_value(json_object_get(page, "next_cursor"));
        pages++;
    } while (cursor && pages < 10);
    assert_int_equal(pages, 3);
    assert_int_equal(nseen, N_EVENTS);
    assert_true(json_is_null(json_object_get(page, "next_cursor")));
    json_decref(page);
}

static void test_query_event_filters(void **state)
{
    struct {
        const char *q;
        size_t expect;
    } cases[] = {
        {"type=ItQ&app_id=a0", 5},
        {"type=ItQ&level=P1", 7},
        {"type=ItQ&source=probe", 12},
        {"type=ItQ&region=cn-hz", 10},
        {"type=ItQ&user_id=u2", 8},
        {"type=ItQ&status=firing", 25},
        {"type=ItQ&status=resolved", 0},
        {"app_id=a0", 6},
        {"type=ItQ&until=2000-01-01T00:00:00Z", 0},
        {"type=ItQ&since=2000-01-01T00:00:00Z&limit=1000", 25},
        {"type=NoSuchType", 0},
    };
    char path[256];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *page;
        snprintf(path, sizeof(path), "/v1/events?%s", cases[i].q);
        page = it_get(&srv, path);
        if (n_items(page) != cases[i].expect) {
            fail_msg("%s: %zu items, expected %zu", path, n_items(page), cases[i].expect);
        }
        json_decref(page);
    }
}

static void test_query_alerts(void **state)
{
    json_t *page, *alert, *one;
    char path[128];

    (void)state;
    /* distinct instances: 25 alerts */
    page = it_get(&srv, "/v1/alerts?type=ItQ&limit=1000");
    assert_int_equal(n_items(page), N_EVENTS);
    alert = json_array_get(json_object_get(page, "items"), 0);
    assert_string_equal(json_string_value(json_object_get(alert, "status")), "firing");
    assert_int_equal(json_integer_value(json_object_get(alert, "count")), 1);
    assert_non_null(json_object_get(alert, "latest_event"));
    assert_non_null(json_object_get(alert, "first_seen"));
    snprintf(path, sizeof(path), "/v1/alerts/%s", json_string_value(json_object_get(alert, "id")));
    one = it_get(&srv, path);
    assert_string_equal(json_string_value(json_object_get(one, "fingerprint")),
                        json_string_value(json_object_get(alert, "fingerprint")));
    assert_true(json_is_array(json_object_get(one, "timeline")));
    json_decref(one);
    json_decref(page);
    page = it_get(&srv, "/v1/alerts?type=ItQ&status=open&level=P2&app_id=a1");
    assert_int_equal(n_items(page), 2); /* i=1, i=21 (i%4==1, i%5==1) */
    json_decref(page);
    page = it_get(&srv, "/v1/alerts?type=ItQ&status=resolved");
    assert_int_equal(n_items(page), 0);
    json_decref(page);
    page = it_get(&srv, "/v1/alerts?type=ItQ&limit=7");
    assert_int_equal(n_items(page), 7);
    assert_true(json_is_string(json_object_get(page, "next_cursor")));
    json_decref(page);
}

static void expect_400(const char *path, const char *param)
{
    struct it_resp r;
    json_t *d;

    assert_int_equal(it_http(&srv, "GET", path, IT_READ_TOKEN, NULL, NULL, 0, &r), 0);
    if (r.status != 400) {
        fail_msg("%s: status %ld", path, r.status);
    }
    d = json_array_get(json_object_get(json_object_get(r.json, "error"), "details"), 0);
    assert_string_equal(json_string_value(json_object_get(d, "path")), param);
    it_resp_free(&r);
}

static void test_query_bad_params(void **state)
{
    struct it_resp r;

    (void)state;
    expect_400("/v1/events?limit=0", "limit");
    expect_400("/v1/events?limit=1001", "limit");
    expect_400("/v1/events?limit=ten", "limit");
    expect_400("/v1/events?level=P9", "level");
    expect_400("/v1/events?status=acknowledged", "status");
    expect_400("/v1/events?since=yesterday", "since");
    expect_400("/v1/events?alert_id=abc", "alert_id");
    expect_400("/v1/events?cursor=bm90LWEtY3Vyc29y", "cursor");
    expect_400("/v1/events?typo=1", "typo");
    expect_400("/v1/alerts?status=closed", "status");
    expect_400("/v1/alerts?cursor=%27%3B--", "cursor");
    assert_int_equal(it_http(&srv, "GET", "/v1/alerts/999999999", IT_READ_TOKEN, NULL, NULL, 0, &r),
                     0);
    assert_int_equal(r.status, 404);
    it_resp_free(&r);
    assert_int_equal(it_http(&srv, "GET", "/v1/alerts/abc", IT_READ_TOKEN, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 404);
    it_resp_free(&r);
    /* SQL metacharacters are data, not SQL */
    assert_int_equal(it_http(&srv, "GET", "/v1/events?type=x%27%20OR%20%271%27%3D%271",
                             IT_READ_TOKEN, NULL, NULL, 0, &r),
                     0);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 0);
    it_resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_pagination),
        cmocka_unit_test(test_query_event_filters),
        cmocka_unit_test(test_query_alerts),
        cmocka_unit_test(test_query_bad_params),
    };
    int rc;

    it_init("query");
    rc = cmocka_run_group_tests_name("integration_query", tests, setup, teardown);
    it_fini();
    return rc;
}
