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

/* Pages through path (which has no cursor) with limit 4; each page's rows
 * must follow the previous in field's order (asc or desc, compared as
 * strings of equal form: levels, RFC 3339 times); returns how many. */
static size_t walk_sorted(const char *path, const char *field, bool asc)
{
    char url[512], prev[64] = "";
    const char *cursor = NULL;
    json_t *page = NULL;
    size_t n = 0, pages = 0;
    long long ids[64];

    do {
        json_t *next, *it;
        size_t i;
        snprintf(url, sizeof(url), "%s&limit=4%s%s", path, cursor ? "&cursor=" : "",
                 cursor ? cursor : "");
        next = it_get(&srv, url);
        json_decref(page);
        page = next;
        json_array_foreach(json_object_get(page, "items"), i, it)
        {
            const char *v = json_string_value(json_object_get(it, field));
            long long id = atoll(json_string_value(json_object_get(it, "id")));
            if (*prev) {
                int c = strcmp(prev, v);
                if (asc ? c > 0 : c < 0) {
                    fail_msg("%s: %s after %s", path, v, prev);
                }
            }
            for (size_t k = 0; k < n; k++) {
                assert_true(ids[k] != id); /* no row twice across pages */
            }
            ids[n++] = id;
            snprintf(prev, sizeof(prev), "%s", v);
        }
        cursor = json_string_value(json_object_get(page, "next_cursor"));
    } while (cursor && ++pages < 20 && n < 60);
    json_decref(page);
    return n;
}

/* The history filters of GET /v1/alerts: initial level, time ranges on
 * first_seen / last_seen / resolved_at, full-text search on titles, and
 * sorting with cursor paging. */
static void test_query_alert_history_filters(void **state)
{
    struct {
        const char *q;
        size_t expect;
    } cases[] = {
        {"type=ItQ&initial_level=P1", 7},
        {"type=ItQ&initial_level=P4&level=P4", 6},
        {"type=ItQ&first_seen_from=2000-01-01T00:00:00Z", 25},
        {"type=ItQ&first_seen_from=2999-01-01T00:00:00Z", 0},
        {"type=ItQ&first_seen_to=2000-01-01T00:00:00Z", 0},
        {"type=ItQ&last_seen_from=2000-01-01T00:00:00Z&last_seen_to=2999-01-01T00:00:00Z", 25},
        {"type=ItQ&resolved_from=2000-01-01T00:00:00Z", 0},
        {"type=ItHist&q=disk", 2},
        {"type=ItHist&q=%22disk+full%22", 1},
        {"type=ItHist&q=disk+-latency", 1},
        {"type=ItHist&q=cpu+or+disk", 3},
        {"type=ItHist&q=DISK", 2},
        {"type=ItHist&q=memory", 0},
        {"type=ItHist&resolved_from=2000-01-01T00:00:00Z", 1},
        {"type=ItHist&resolved_to=2000-01-01T00:00:00Z", 0},
        {"q=saturated", 1},
    };
    char path[256];
    json_t *r = NULL;

    (void)state;
    json_decref(it_post_events(
        &srv,
        "[{\"source\":\"probe\",\"type\":\"ItHist\",\"title\":\"disk full on db-1\","
        "\"app_id\":\"db1\"},{\"source\":\"probe\",\"type\":\"ItHist\",\"title\":"
        "\"disk latency high on db-2\",\"app_id\":\"db2\"},{\"source\":\"probe\",\"type\":"
        "\"ItHist\",\"title\":\"CPU saturated on web-1\",\"app_id\":\"web1\"}]",
        200));
    snprintf(path, sizeof(path), "/v1/alerts/%lld/resolve",
             it_sql_ll("SELECT id FROM alerts WHERE type = 'ItHist' AND app_id = 'web1'"));
    assert_int_equal(it_req(&srv, "POST", path, "{}", &r), 200);
    json_decref(r);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *page;
        snprintf(path, sizeof(path), "/v1/alerts?%s&limit=1000", cases[i].q);
        page = it_get(&srv, path);
        if (n_items(page) != cases[i].expect) {
            fail_msg("%s: %zu items, expected %zu", path, n_items(page), cases[i].expect);
        }
        json_decref(page);
    }
    /* sorted every way, paged by cursor, each alert once */
    assert_int_equal(walk_sorted("/v1/alerts?type=ItQ&sort=level&order=asc", "level", true), 25);
    assert_int_equal(walk_sorted("/v1/alerts?type=ItQ&sort=level", "level", false), 25);
    assert_int_equal(
        walk_sorted("/v1/alerts?type=ItQ&sort=first_seen&order=asc", "first_seen", true), 25);
    assert_int_equal(walk_sorted("/v1/alerts?type=ItQ&sort=last_seen", "last_seen", false), 25);
    assert_int_equal(walk_sorted("/v1/alerts?type=ItQ&order=asc", "first_seen", true), 25);
    assert_int_equal(walk_sorted("/v1/alerts?type=ItHist&sort=resolved_at", "type", true), 3);
    /* a cursor belongs to its order */
    {
        json_t *page = it_get(&srv, "/v1/alerts?type=ItQ&sort=level&limit=2");
        struct it_resp resp;
        snprintf(path, sizeof(path), "/v1/alerts?type=ItQ&cursor=%s",
                 json_string_value(json_object_get(page, "next_cursor")));
        assert_int_equal(it_http(&srv, "GET", path, IT_READ_TOKEN, NULL, NULL, 0, &resp), 0);
        assert_int_equal(resp.status, 400);
        it_resp_free(&resp);
        json_decref(page);
    }
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

/* The same 400 (invalid_query, the parameter, the message) from path. */
static void expect_400_msg(const char *path, const char *param, const char *msg)
{
    struct it_resp r;
    json_t *e, *d;

    assert_int_equal(it_http(&srv, "GET", path, IT_READ_TOKEN, NULL, NULL, 0, &r), 0);
    if (r.status != 400) {
        fail_msg("%s: status %ld", path, r.status);
    }
    e = json_object_get(r.json, "error");
    d = json_array_get(json_object_get(e, "details"), 0);
    assert_string_equal(json_string_value(json_object_get(e, "code")), "invalid_query");
    assert_string_equal(json_string_value(json_object_get(d, "path")), param);
    if (strcmp(json_string_value(json_object_get(d, "message")), msg) != 0) {
        fail_msg("%s: %s", path, json_string_value(json_object_get(d, "message")));
    }
    it_resp_free(&r);
}

/* A measure of a stats group: its field as a number (NULL: -1). */
static double st_num(const json_t *group, const char *measure, const char *field)
{
    json_t *v = json_object_get(json_object_get(group, measure), field);

    return json_is_number(v) ? json_number_value(v) : -1;
}

/* GET /v1/stats on a seeded data set (alerts of 2001, apart from the
 * others) with known answers: MTTD, MTTA, MTTR mean, p50, p90 and the share
 * within the level's target, per level and per type. */
static void test_query_stats_known_answers(void **state)
{
    json_t *st, *g;

    (void)state;
    assert_true(it_sql_ok(
        "INSERT INTO incidents (group_key, type, title, level, initial_level, first_seen,"
        " created_at, delivered_at) VALUES"
        " ('st1', 'StA', 'StA', 'P1', 'P1', '2001-01-01 00:00:00Z', '2001-01-01 00:00:30Z',"
        " '2001-01-01 00:01:00Z'),"
        " ('st2', 'StA', 'StA', 'P1', 'P1', '2001-01-01 00:00:00Z', '2001-01-01 00:01:30Z',"
        " '2001-01-01 00:02:00Z');"
        "INSERT INTO alerts (fingerprint, type, source, trace, level, initial_level, status,"
        " count, first_seen, last_seen, created_at, updated_at, acked_at, resolved_at,"
        " last_event_id, incident_id) VALUES"
        " ('st-a1', 'StA', 'probe', 'data', 'P1', 'P1', 'resolved', 1, '2001-01-01 00:00:00Z',"
        " '2001-01-01 00:00:00Z', '2001-01-01 00:00:30Z', now(), '2001-01-01 00:03:00Z',"
        " '2001-01-01 00:05:00Z', 0, (SELECT id FROM incidents WHERE group_key = 'st1')),"
        " ('st-a2', 'StA', 'probe', 'data', 'P1', 'P1', 'resolved', 1, '2001-01-01 00:00:00Z',"
        " '2001-01-01 00:00:00Z', '2001-01-01 00:01:30Z', now(), '2001-01-01 00:12:00Z',"
        " '2001-01-01 01:00:00Z', 0, (SELECT id FROM incidents WHERE group_key = 'st2')),"
        " ('st-a3', 'StB', 'probe', 'data', 'P4', 'P4', 'firing', 1, '2001-01-01 00:00:00Z',"
        " '2001-01-01 00:00:00Z', '2001-01-01 00:10:00Z', now(), NULL, NULL, 0, NULL)"));
    st = it_get(&srv, "/v1/stats?from=2001-01-01T00:00:00Z&to=2001-01-02T00:00:00Z");
    assert_string_equal(json_string_value(json_object_get(st, "by")), "level");
    assert_int_equal(json_array_size(json_object_get(st, "groups")), 2);
    g = json_array_get(json_object_get(st, "groups"), 0);
    assert_string_equal(json_string_value(json_object_get(g, "key")), "P1");
    assert_int_equal(json_integer_value(json_object_get(g, "alerts")), 2);
    /* MTTD 30 s and 90 s against 60 s */
    assert_true(st_num(g, "mttd", "mean_s") == 60 && st_num(g, "mttd", "p50_s") == 60);
    assert_true(st_num(g, "mttd", "p90_s") == 84 && st_num(g, "mttd", "within_target") == 0.5);
    /* MTTA 120 s and 600 s (delivery to ack) against 300 s */
    assert_true(st_num(g, "mtta", "count") == 2 && st_num(g, "mtta", "mean_s") == 360);
    assert_true(st_num(g, "mtta", "p90_s") == 552 && st_num(g, "mtta", "within_target") == 0.5);
    /* MTTR 270 s and 3510 s against 600 s */
    assert_true(st_num(g, "mttr", "mean_s") == 1890 && st_num(g, "mttr", "p50_s") == 1890);
    assert_true(st_num(g, "mttr", "p90_s") == 3186 && st_num(g, "mttr", "within_target") == 0.5);
    g = json_array_get(json_object_get(st, "groups"), 1);
    assert_string_equal(json_string_value(json_object_get(g, "key")), "P4");
    assert_true(st_num(g, "mttd", "mean_s") == 600 && st_num(g, "mttd", "within_target") == 1);
    assert_true(st_num(g, "mtta", "count") == 0 && st_num(g, "mtta", "mean_s") == -1);
    assert_true(st_num(g, "mttr", "count") == 0);
    json_decref(st);
    /* by type; an empty range; bad parameters */
    st = it_get(&srv, "/v1/stats?from=2001-01-01T00:00:00Z&to=2001-01-02T00:00:00Z&by=type");
    g = json_array_get(json_object_get(st, "groups"), 0);
    assert_string_equal(json_string_value(json_object_get(g, "key")), "StA");
    assert_int_equal(json_integer_value(json_object_get(g, "alerts")), 2);
    json_decref(st);
    st = it_get(&srv, "/v1/stats?from=2001-01-03T00:00:00Z&to=2001-01-04T00:00:00Z");
    assert_int_equal(json_array_size(json_object_get(st, "groups")), 0);
    json_decref(st);
    expect_400_msg("/v1/stats?by=region", "by", "must be one of level, type, app_id, team");
    expect_400_msg("/v1/stats?from=2001-01-02T00:00:00Z&to=2001-01-01T00:00:00Z", "from",
                   "must be before to");
    expect_400_msg("/v1/stats?since=x", "since", "is not a parameter of stats");
}

/* Every list is one implementation: the same parameters, errors and paging. */
static void test_query_every_list_alike(void **state)
{
    static const char *const lists[] = {
        "/v1/events",   "/v1/alerts",    "/v1/silences", "/v1/notifications", "/v1/heartbeats",
        "/v1/contacts", "/v1/schedules", "/v1/teams",    "/v1/routes",        "/v1/apps",
        "/v1/tenants",  "/v1/types",     "/v1/rules",
    };
    char path[256];
    json_t *page;

    (void)state;
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        snprintf(path, sizeof(path), "%s?typo=1", lists[i]);
        expect_400_msg(path, "typo", "is not a parameter of this list");
        snprintf(path, sizeof(path), "%s?limit=0", lists[i]);
        expect_400_msg(path, "limit", "must be an integer from 1 to 1000");
        snprintf(path, sizeof(path), "%s?cursor=%%27%%3B--", lists[i]);
        expect_400_msg(path, "cursor", "is not a cursor this server gave");
        page = it_get(&srv, lists[i]);
        assert_true(json_is_array(json_object_get(page, "items")));
        assert_non_null(json_object_get(page, "next_cursor"));
        json_decref(page);
    }
    /* a cursor of one list's kind of key is refused by a list keyed otherwise */
    expect_400_msg("/v1/rules?cursor=djE6YWJj", "cursor", "is not a cursor this server gave");
    expect_400_msg("/v1/silences?state=expired", "state", "must be one of active, all");
}

/* Rules page in the order they apply (position, then id), by cursor. */
static void test_query_rules_paged_in_order(void **state)
{
    static const char *const rules[] = {
        "{\"name\":\"q-c\",\"position\":30,\"action\":\"drop\",\"matchers\":"
        "[{\"name\":\"type\",\"op\":\"=\",\"value\":\"ItNone\"}]}",
        "{\"name\":\"q-a\",\"position\":10,\"action\":\"drop\",\"matchers\":"
        "[{\"name\":\"type\",\"op\":\"=\",\"value\":\"ItNone\"}]}",
        "{\"name\":\"q-b\",\"position\":10,\"action\":\"drop\",\"matchers\":"
        "[{\"name\":\"type\",\"op\":\"=\",\"value\":\"ItNone\"}]}",
    };
    static const char *const order[] = {"q-a", "q-b", "q-c"};
    char path[600];
    const char *cursor = NULL;
    json_t *page = NULL;
    size_t seen = 0;

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(
            it_call(&srv, "POST", "/v1/rules", IT_ADMIN_TOKEN, "application/json", rules[i], NULL),
            201);
    }
    do {
        snprintf(path, sizeof(path), "/v1/rules?limit=2%s%s", cursor ? "&cursor=" : "",
                 cursor ? cursor : "");
        json_decref(page);
        page = it_get(&srv, path);
        for (size_t i = 0; i < json_array_size(json_object_get(page, "items")); i++) {
            json_t *rule = json_array_get(json_object_get(page, "items"), i);
            assert_true(seen < 3);
            assert_string_equal(json_string_value(json_object_get(rule, "name")), order[seen++]);
        }
        cursor = json_string_value(json_object_get(page, "next_cursor"));
    } while (cursor);
    json_decref(page);
    assert_int_equal(seen, 3);
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
    expect_400("/v1/alerts?sort=title", "sort");
    expect_400("/v1/alerts?order=up", "order");
    expect_400("/v1/alerts?first_seen_from=yesterday", "first_seen_from");
    expect_400("/v1/alerts?initial_level=P5", "initial_level");
    expect_400("/v1/alerts?cursor=%27%3B--", "cursor");
    /* not UTF-8: a 400 naming the parameter, not a database error */
    expect_400("/v1/alerts?type=%ff%fe", "type");
    expect_400("/v1/events?app_id=%c0%af", "app_id");
    assert_int_equal(it_http(&srv, "GET", "/v1/alerts/%ff", IT_READ_TOKEN, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 400);
    it_resp_free(&r);
    {
        /* too many parameters: a 400 that says so */
        char path[1024] = "/v1/events?";
        for (int i = 0; i < 70; i++) {
            snprintf(path + strlen(path), sizeof(path) - strlen(path), "%sp%d=1", i ? "&" : "", i);
        }
        assert_int_equal(it_http(&srv, "GET", path, IT_READ_TOKEN, NULL, NULL, 0, &r), 0);
        assert_int_equal(r.status, 400);
        assert_non_null(strstr(r.body, "too many query parameters"));
        it_resp_free(&r);
    }
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
        cmocka_unit_test(test_query_alert_history_filters),
        cmocka_unit_test(test_query_stats_known_answers),
        cmocka_unit_test(test_query_bad_params),
        cmocka_unit_test(test_query_every_list_alike),
        cmocka_unit_test(test_query_rules_paged_in_order),
    };
    int rc;

    it_init("query");
    rc = cmocka_run_group_tests_name("integration_query", tests, setup, teardown);
    it_fini();
    return rc;
}
