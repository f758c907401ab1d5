/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration tests of impact escalation (DESIGN §5) through HTTP on real
 * PostgreSQL and Redis: exact thresholds raised within the request that
 * crossed them, every tier recorded, GC6/GC7 users, a held condition raised
 * by the timer, an increment condition, windows closing into records and
 * reopening from zero, a second instance counting with the first without a
 * double raise, and the Redis mirror rebuilt after FLUSHALL. The suite runs its
 * own redis-server so that it may flush it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/integration/harness.h"

static struct it_server srv;
static struct it_redis redis;

/* Short durations and small thresholds for the types that need them; the
 * rest keep the defaults of DESIGN §5. */
#define CONFIG                                                                                     \
    "{\"escalation\":{\"tick_ms\":100,\"members_fill_ms\":1500,\"types\":{"                        \
    "\"ItHold\":[{\"from\":\"P3\",\"to\":\"P2\",\"apps\":3,\"hold_s\":2}],"                        \
    "\"ItInc\":[{\"from\":\"P4\",\"to\":\"P3\",\"apps\":1,\"increment_pct\":200}]}}}"

static int setup(void **state)
{
    const char *env[2] = {redis.env, NULL};

    (void)state;
    it_redis_start(&redis);
    it_server_start_config(&srv, CONFIG, env);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(it_server_stop(&srv), 0);
    it_redis_stop(&redis);
    return 0;
}

/* POSTs events of type for apps [from, to), each with its own app, to s. */
static void post_apps_to(const struct it_server *s, const char *type, const char *trace, int from,
                         int to, const char *extra)
{
    size_t cap = (size_t)(to - from) * 256 + 16, n = 0;
    char *body = malloc(cap);
    json_t *r = NULL;

    n += (size_t)snprintf(body + n, cap - n, "[");
    for (int i = from; i < to; i++) {
        n += (size_t)snprintf(body + n, cap - n,
                              "%s{\"source\":\"probe\",\"type\":\"%s\",\"trace\":\"%s\","
                              "\"title\":\"t\",\"app_id\":\"app-%d\"%s}",
                              i > from ? "," : "", type, trace, i, extra ? extra : "");
    }
    snprintf(body + n, cap - n, "]");
    assert_int_equal(it_call(s, "POST", "/v1/events", IT_ADMIN_TOKEN, "application/json", body, &r),
                     200);
    json_decref(r);
    free(body);
}

static void post_apps(const char *type, const char *trace, int from, int to)
{
    post_apps_to(&srv, type, trace, from, to, NULL);
}

/* The open window of type from the API (new), or NULL. */
static json_t *window_of(const char *type)
{
    char path[160];
    json_t *r = NULL, *w;

    snprintf(path, sizeof(path), "/v1/escalation/windows?type=%s", type);
    r = it_get(&srv, path);
    w = json_incref(json_array_get(json_object_get(r, "windows"), 0));
    json_decref(r);
    return w;
}

/* The open window of type once its key reads want (the API reads the Redis
 * mirror, which follows ingest within 200 ms), or the last one read after
 * 3 s. New, or NULL. */
struct win_want {
    const char *type, *key;
    long long want;
    json_t *last; /* the window last read (new) */
};

static bool win_reads(void *arg)
{
    struct win_want *w = arg;

    json_decref(w->last);
    w->last = window_of(w->type);
    return w->last && json_integer_value(json_object_get(w->last, w->key)) == w->want;
}

static json_t *window_when(const char *type, const char *key, long long want)
{
    struct win_want w = {type, key, want, NULL};

    (void)it_wait_until(win_reads, &w, 3000);
    return w.last;
}

static long long win_int(const char *type, const char *key, long long want)
{
    json_t *w = window_when(type, key, want);
    long long v = w ? json_integer_value(json_object_get(w, key)) : -1;

    json_decref(w);
    return v;
}

/* A figure of the open window of type as stored (the exact count). */
static long long db_win(const char *type, const char *column)
{
    return it_sql_llf("SELECT coalesce((SELECT %s FROM esc_windows WHERE type = '%s'"
                      " AND closed_at IS NULL), -1)",
                      column, type);
}

static long long alerts_at(const char *type, const char *level)
{
    return it_sql_llf("SELECT count(*) FROM alerts WHERE type = '%s' AND level = '%s'"
                      " AND status <> 'resolved'",
                      type, level);
}

static long long escalate_audits(const char *type, const char *reason)
{
    return it_sql_llf("SELECT count(*) FROM audit_log l JOIN alerts a ON a.id::text = l.target_id"
                      " WHERE l.action = 'alert.escalate' AND a.type = '%s'"
                      " AND l.details ->> 'reason' = '%s'",
                      type, reason);
}

/* The name of the apps or users set in Redis of the open window of type
 * (new; empty if there is none). */
static char *member_set(const char *type, char kind)
{
    char args[200], *out, *nl;

    snprintf(args, sizeof(args), "--scan --pattern '*esc:m%c:*:%lld'", kind, db_win(type, "id"));
    out = it_redis_cli(&redis, args);
    if ((nl = strchr(out, '\n')) != NULL) {
        *nl = '\0';
    }
    return out;
}

/* The sizes of the open window of type's sets together, or -1 if it has
 * none. */
static long long member_set_size(const char *type)
{
    long long n = -1;

    for (int k = 0; k < 2; k++) {
        char args[200], *set = member_set(type, k == 0 ? 'a' : 'u');
        if (*set) {
            char *card;
            snprintf(args, sizeof(args), "scard '%s'", set);
            card = it_redis_cli(&redis, args);
            n = (n < 0 ? 0 : n) + atoll(card);
            free(card);
        }
        free(set);
    }
    return n;
}

/* The size of type's sets once it is want (the escalation timer fills in a
 * set behind its count), or the last one read after 5 s. */
struct set_want {
    const char *type;
    long long want, seen;
};

static bool set_reads(void *arg)
{
    struct set_want *w = arg;

    w->seen = member_set_size(w->type);
    return w->seen == w->want;
}

static long long member_set_size_when(const char *type, long long want)
{
    struct set_want w = {type, want, -1};

    (void)it_wait_until(set_reads, &w, 5000);
    return w.seen;
}

/* 49 apps stay P4, the 50th raises to P3 inside its own request. */
static void test_esc_fifty_apps_raise_within_the_request(void **state)
{
    json_t *w, *a = NULL;
    char path[96];
    long long id;

    (void)state;
    post_apps("ItData", "data", 0, 49);
    post_apps("ItData", "data", 0, 1); /* the same app again counts once */
    assert_int_equal(alerts_at("ItData", "P4"), 49);
    assert_int_equal(db_win("ItData", "apps"), 49);
    assert_int_equal(db_win("ItData", "events"), 50);
    w = window_when("ItData", "events", 50);
    assert_non_null(w);
    assert_int_equal(json_integer_value(json_object_get(w, "apps")), 49);
    assert_int_equal(json_integer_value(json_object_get(w, "events")), 50);
    assert_string_equal(json_string_value(json_object_get(w, "level")), "P4");
    assert_string_equal(json_string_value(json_object_get(w, "policy")), "data");
    json_decref(w);

    post_apps("ItData", "data", 49, 50);
    /* no waiting: the request that crossed the threshold raised every alert */
    assert_int_equal(alerts_at("ItData", "P3"), 50);
    assert_int_equal(escalate_audits("ItData", "apps=50 ≥ 50 (data P4→P3)"), 50);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM escalations e JOIN alerts a ON a.id ="
                               " e.alert_id WHERE a.type = 'ItData' AND e.from_level = 'P4'"
                               " AND e.to_level = 'P3' AND e.handed_off_at IS NULL"),
                     50);
    assert_int_equal(win_int("ItData", "apps", 50), 50);

    /* the raise is on the alert's timeline */
    id = it_sql_ll("SELECT min(id) FROM alerts WHERE type = 'ItData'");
    snprintf(path, sizeof(path), "/v1/alerts/%lld", id);
    a = it_get(&srv, path);
    assert_string_equal(json_string_value(json_object_get(a, "level")), "P3");
    assert_string_equal(json_string_value(json_object_get(a, "initial_level")), "P4");
    {
        json_t *last = it_timeline_item(a, "alert.escalate");
        assert_string_equal(json_string_value(json_object_get(last, "action")), "alert.escalate");
        assert_string_equal(json_string_value(json_object_get(last, "actor")), "system:escalation");
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(last, "details"), "reason")),
            "apps=50 ≥ 50 (data P4→P3)");
        assert_int_equal(json_integer_value(json_object_get(
                             json_object_get(json_object_get(last, "details"), "figures"), "apps")),
                         50);
    }
    json_decref(a);

    /* an alert opened later in the window starts at the window's level */
    post_apps("ItData", "data", 50, 51);
    assert_int_equal(alerts_at("ItData", "P3"), 51);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM audit_log l JOIN alerts a ON a.id::text ="
                               " l.target_id WHERE a.type = 'ItData' AND l.action = 'alert.open'"
                               " AND l.details ->> 'escalation' = 'opened while the ItData window"
                               " is at P3' AND l.details ->> 'level' = 'P3'"
                               " AND l.details ->> 'requested_level' = 'P4'"),
                     1);
}

/* GC6/GC7 users: 4 stay, 5 raise; a GC5 user does not count; folded repeats do. */
static void test_esc_gc_users(void **state)
{
    char body[256];

    (void)state;
    for (int i = 0; i < 6; i++) {
        /* one alert (same app, same fingerprint): later events fold into it */
        snprintf(body, sizeof(body),
                 "{\"source\":\"probe\",\"type\":\"ItGc\",\"title\":\"t\",\"app_id\":\"a1\","
                 "\"user_id\":\"u-%d\",\"gc_level\":%d}",
                 i, i == 0 ? 5 : 7);
        json_decref(it_post_events(&srv, body, 200));
        if (i == 4) { /* GC5 user and four GC7 users */
            assert_int_equal(db_win("ItGc", "gc_users"), 4);
            assert_int_equal(win_int("ItGc", "gc_users", 4), 4);
            assert_int_equal(alerts_at("ItGc", "P4"), 1);
        }
    }
    assert_int_equal(win_int("ItGc", "gc_users", 5), 5);
    assert_int_equal(win_int("ItGc", "apps", 1), 1);
    assert_int_equal(alerts_at("ItGc", "P3"), 1);
    assert_int_equal(escalate_audits("ItGc", "gc_users=5 ≥ 5 (runtime P4→P3)"), 1);
}

/* 200 apps at once: P4 -> P1 with each tier recorded on every alert. */
static void test_esc_p1_at_once_each_tier_recorded(void **state)
{
    (void)state;
    post_apps("ItStorm", "data", 0, 200);
    assert_int_equal(alerts_at("ItStorm", "P1"), 200);
    assert_int_equal(escalate_audits("ItStorm", "apps=200 ≥ 50 (data P4→P3)"), 200);
    assert_int_equal(escalate_audits("ItStorm", "apps=200 ≥ 100 (data P3→P2)"), 200);
    assert_int_equal(escalate_audits("ItStorm", "apps=200 ≥ 200 (data P2→P1)"), 200);
    assert_int_equal(win_int("ItStorm", "apps", 200), 200);
}

static bool hold_raised(void *arg)
{
    (void)arg;
    return alerts_at("ItHold", "P2") == 3;
}

/* A held condition: pending with time remaining, raised by the timer. */
static void test_esc_held_condition_raised_by_the_timer(void **state)
{
    json_t *w, *pending, *p;
    struct timespec t0, t1;
    double remaining;
    long long n_p4;

    (void)state;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    post_apps("ItHold", "control", 0, 3);
    w = window_when("ItHold", "apps", 3);
    assert_non_null(w);
    assert_string_equal(json_string_value(json_object_get(w, "policy")), "ItHold");
    assert_string_equal(json_string_value(json_object_get(w, "level")), "P4");
    pending = json_object_get(w, "pending");
    assert_int_equal(json_array_size(pending), 1);
    p = json_array_get(pending, 0);
    assert_string_equal(json_string_value(json_object_get(p, "to")), "P2");
    assert_string_equal(json_string_value(json_object_get(p, "condition")), "apps ≥ 3");
    remaining = json_real_value(json_object_get(p, "remaining_s"));
    assert_true(remaining > 0.0 && remaining <= 2.0);
    json_decref(w);
    /* still P4 while the hold runs: the raise comes 2 s after t0 at the
     * earliest, so a count read before 2 s had passed must be all P4 (a
     * loaded machine may take the whole hold to get here; then the count
     * says nothing) */
    n_p4 = alerts_at("ItHold", "P4");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if ((double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9 < 2.0) {
        assert_int_equal(n_p4, 3);
    }

    assert_true(it_wait_until(hold_raised, NULL, 10000));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* not before the hold elapsed */
    assert_true((double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9 >= 2.0);
    assert_int_equal(escalate_audits("ItHold", "apps=3 ≥ 3 for 2 s (ItHold P3→P2)"), 3);
    w = window_of("ItHold");
    assert_string_equal(json_string_value(json_object_get(w, "level")), "P2");
    assert_int_equal(json_array_size(json_object_get(w, "pending")), 0);
    json_decref(w);
}

/* Waits, if needed, so the next few seconds stay inside one minute. */
static void same_minute(void)
{
    time_t now = time(NULL);

    if (now % 60 > 50) {
        it_quiet_ms((61 - now % 60) * 1000L); /* for the next minute to begin */
    }
}

/* The increment condition: +200% against the previous period. */
static void test_esc_increment_condition(void **state)
{
    json_t *w;

    (void)state;
    same_minute();
    /* the previous minute had nothing (counts as 1): 2 events are +100% */
    post_apps("ItInc", "data", 0, 2);
    w = window_when("ItInc", "events", 2);
    assert_int_equal(json_integer_value(json_object_get(w, "increment_pct")), 100);
    assert_int_equal(json_integer_value(json_object_get(w, "previous_events")), 0);
    json_decref(w);
    assert_int_equal(alerts_at("ItInc", "P4"), 2);
    post_apps("ItInc", "data", 2, 3); /* 3 events: +200% */
    assert_int_equal(alerts_at("ItInc", "P3"), 3);
    assert_int_equal(escalate_audits("ItInc", "apps=3 ≥ 1, increment=+200% ≥ +200% (ItInc P4→P3)"),
                     3);
}

/* Resolving every alert closes the window into a record; the next opens at zero. */
static void test_esc_close_and_reopen_from_zero(void **state)
{
    json_t *r, *rec;
    long long wid;
    char args[160], *sets;

    (void)state;
    post_apps("ItClose", "data", 0, 60);
    assert_int_equal(alerts_at("ItClose", "P3"), 60);
    assert_int_equal(member_set_size_when("ItClose", 60), 60);
    wid = db_win("ItClose", "id");
    /* resolve events for all 60 (the same fingerprints) */
    {
        size_t cap = 60 * 200, n = 0;
        char *body = malloc(cap);
        n += (size_t)snprintf(body, cap, "[");
        for (int i = 0; i < 60; i++) {
            n += (size_t)snprintf(body + n, cap - n,
                                  "%s{\"source\":\"probe\",\"type\":\"ItClose\",\"trace\":\"data\","
                                  "\"title\":\"t\",\"app_id\":\"app-%d\",\"status\":\"resolved\"}",
                                  i ? "," : "", i);
        }
        snprintf(body + n, cap - n, "]");
        json_decref(it_post_events(&srv, body, 200));
        free(body);
    }
    assert_int_equal(it_sql_ll("SELECT count(*) FROM esc_windows WHERE type = 'ItClose'"
                               " AND closed_at IS NULL"),
                     0);
    r = it_get(&srv, "/v1/escalation/windows?status=closed&type=ItClose");
    assert_int_equal(json_array_size(json_object_get(r, "windows")), 1);
    rec = json_array_get(json_object_get(r, "windows"), 0);
    assert_int_equal(json_integer_value(json_object_get(rec, "apps")), 60);
    assert_int_equal(json_integer_value(json_object_get(rec, "events")), 60);
    assert_string_equal(json_string_value(json_object_get(rec, "level")), "P3");
    assert_true(json_is_string(json_object_get(rec, "closed_at")));
    assert_true(json_is_integer(json_object_get(rec, "increment_pct")));
    json_decref(r);
    /* the members went with the window (the group that closed it had no
     * firing event of the type) */
    snprintf(args, sizeof(args), "--scan --pattern '*esc:m[au]:*:%lld'", wid);
    sets = it_redis_cli(&redis, args);
    assert_string_equal(sets, "");
    free(sets);

    post_apps("ItClose", "data", 100, 101);
    assert_int_equal(win_int("ItClose", "apps", 1), 1);
    assert_int_equal(win_int("ItClose", "events", 1), 1);
    assert_int_equal(alerts_at("ItClose", "P4"), 1); /* the closed window's P3 is gone */
}

/* Closing through the API (the last open alert resolved by an operator). */
static void test_esc_closed_by_operator(void **state)
{
    char path[96];
    long long id;

    (void)state;
    post_apps("ItOp", "data", 0, 1);
    assert_int_equal(win_int("ItOp", "apps", 1), 1);
    id = it_sql_ll("SELECT id FROM alerts WHERE type = 'ItOp'");
    snprintf(path, sizeof(path), "/v1/alerts/%lld/resolve", id);
    assert_int_equal(
        it_call(&srv, "POST", path, IT_ADMIN_TOKEN, "application/json", "{\"by\":\"bob\"}", NULL),
        200);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM esc_windows WHERE type = 'ItOp'"
                               " AND closed_at IS NOT NULL"),
                     1);
}

/* Within one request: an alert opened and resolved closes its new window; a
 * resolve of the last alert with a new one of the type keeps the window. */
static void test_esc_one_request_transitions(void **state)
{
    long long id;

    (void)state;
    json_decref(
        it_post_events(&srv,
                       "[{\"source\":\"p\",\"type\":\"ItBlink\",\"title\":\"t\",\"app_id\":\"a\"},"
                       "{\"source\":\"p\",\"type\":\"ItBlink\",\"title\":\"t\",\"app_id\":\"a\","
                       "\"status\":\"resolved\"}]",
                       200));
    assert_int_equal(db_win("ItBlink", "id"), -1);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM esc_windows WHERE type = 'ItBlink'"
                               " AND closed_at IS NOT NULL AND events = 1 AND apps = 1"),
                     1);

    post_apps("ItSwap", "data", 0, 1);
    id = db_win("ItSwap", "id");
    json_decref(
        it_post_events(&srv,
                       "[{\"source\":\"p\",\"type\":\"ItSwap\",\"trace\":\"data\",\"title\":\"t\","
                       "\"app_id\":\"app-0\",\"status\":\"resolved\"},"
                       "{\"source\":\"p\",\"type\":\"ItSwap\",\"trace\":\"data\",\"title\":\"t\","
                       "\"app_id\":\"app-1\"}]",
                       200));
    assert_int_equal(db_win("ItSwap", "id"), id); /* the same window */
    assert_int_equal(db_win("ItSwap", "open_alerts"), 1);
    assert_int_equal(db_win("ItSwap", "apps"), 2);
    /* and once that one resolves too, it closes */
    json_decref(it_post_events(&srv,
                               "{\"source\":\"p\",\"type\":\"ItSwap\",\"trace\":\"data\","
                               "\"title\":\"t\",\"app_id\":\"app-1\",\"status\":\"resolved\"}",
                               200));
    assert_int_equal(db_win("ItSwap", "id"), -1);
}

struct loader {
    const struct it_server *s;
    int from, to;
};

static void *load_main(void *arg)
{
    struct loader *l = arg;

    for (int i = l->from; i < l->to; i += 10) {
        post_apps_to(l->s, "ItTwo", "data", i, i + 10, NULL);
    }
    return NULL;
}

/* Two instances ingest the same apps at once: exact counts, no double raise. */
static void test_esc_two_instances(void **state)
{
    struct it_server second;
    const char *env[2] = {redis.env, NULL};
    pthread_t th[4];
    struct loader l[4] = {{&srv, 0, 60}, {&srv, 60, 120}, {NULL, 0, 60}, {NULL, 60, 120}};

    (void)state;
    it_server_start_config(&second, CONFIG, env);
    l[2].s = l[3].s = &second;
    for (int i = 0; i < 4; i++) {
        pthread_create(&th[i], NULL, load_main, &l[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
    }
    assert_int_equal(it_server_stop(&second), 0);
    /* every app was sent twice, once through each instance */
    assert_int_equal(db_win("ItTwo", "apps"), 120);
    assert_int_equal(db_win("ItTwo", "events"), 240);
    assert_int_equal(win_int("ItTwo", "apps", 120), 120);
    assert_int_equal(win_int("ItTwo", "events", 240), 240);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM alerts WHERE type = 'ItTwo'"), 120);
    assert_int_equal(alerts_at("ItTwo", "P2"), 120);
    /* each alert raised at most once per level */
    assert_int_equal(it_sql_ll("SELECT count(*) FROM (SELECT l.target_id, l.details ->> 'to'"
                               " FROM audit_log l JOIN alerts a ON a.id::text = l.target_id"
                               " WHERE a.type = 'ItTwo' AND l.action = 'alert.escalate'"
                               " GROUP BY 1, 2 HAVING count(*) > 1) d"),
                     0);
    /* and every alert reached P2 by exactly one recorded step: raised, or opened at P2 */
    assert_int_equal(it_sql_ll("SELECT count(*) FROM audit_log l JOIN alerts a ON a.id::text ="
                               " l.target_id WHERE a.type = 'ItTwo' AND ((l.action ="
                               " 'alert.escalate' AND l.details ->> 'to' = 'P2') OR (l.action ="
                               " 'alert.open' AND l.details ->> 'level' = 'P2'))"),
                     120);
}

static bool mirror_has(void *arg)
{
    const char *want = arg;
    char args[160], *out;
    bool ok;

    snprintf(args, sizeof(args), "--scan --pattern '*esc:win:ItFlush'");
    out = it_redis_cli(&redis, args);
    ok = strstr(out, "esc:win:ItFlush") != NULL;
    free(out);
    if (ok && want) {
        json_t *r = it_get(&srv, "/v1/escalation/windows?type=ItFlush");
        json_t *w = json_array_get(json_object_get(r, "windows"), 0);
        ok = strcmp(json_string_value(json_object_get(r, "source")), "redis") == 0 && w &&
             json_integer_value(json_object_get(w, "apps")) == atoi(want);
        json_decref(r);
    }
    return ok;
}

/* Redis flushed mid-window: the mirror is rebuilt from PostgreSQL and the
 * counts go on from where they were. */
static void test_esc_redis_flush_rebuilds(void **state)
{
    json_t *r;

    (void)state;
    post_apps("ItFlush", "data", 0, 30);
    assert_true(it_wait_until(mirror_has, "30", 5000));
    free(it_redis_cli(&redis, "flushall"));
    /* until the timer has rebuilt it, readers use PostgreSQL, never a partial mirror */
    r = it_get(&srv, "/v1/escalation/windows?type=ItFlush");
    assert_int_equal(json_integer_value(
                         json_object_get(json_array_get(json_object_get(r, "windows"), 0), "apps")),
                     30);
    json_decref(r);
    post_apps("ItFlush", "data", 30, 45);
    post_apps("ItFlush", "data", 0, 10); /* known apps still count once */
    assert_true(it_wait_until(mirror_has, "45", 5000));
    assert_int_equal(win_int("ItFlush", "events", 55), 55);
    assert_int_equal(alerts_at("ItFlush", "P4"), 45);
    post_apps("ItFlush", "data", 45, 50); /* the threshold counts the apps from before the flush */
    assert_int_equal(alerts_at("ItFlush", "P3"), 50);
}

/* A user event of type folded into app's alert, through s. */
static void post_user(const struct it_server *s, const char *type, const char *app,
                      const char *user, int gc)
{
    char body[256];

    snprintf(body, sizeof(body),
             "{\"source\":\"probe\",\"type\":\"%s\",\"title\":\"t\",\"app_id\":\"%s\","
             "\"user_id\":\"%s\",\"gc_level\":%d}",
             type, app, user, gc);
    json_decref(it_post_events(s, body, 200));
}

/* The members are Redis sets; flushed, the sets are filled in again from the
 * stored events - a GC7 user whose event repeated an open alert included, as
 * it was kept as a row for bringing a member - and an instance that never saw
 * the window counts nothing twice. */
static void test_esc_members_rebuilt_from_events(void **state)
{
    struct it_server second;
    const char *env[2] = {redis.env, NULL};

    (void)state;
    post_apps("ItSets", "data", 0, 20);
    post_user(&srv, "ItSets", "app-0", "u-1", 7);
    post_user(&srv, "ItSets", "app-0", "u-1", 7);
    post_user(&srv, "ItSets", "app-0", "u-2", 6);
    post_user(&srv, "ItSets", "app-0", "u-3", 5);
    assert_int_equal(db_win("ItSets", "apps"), 20);
    assert_int_equal(db_win("ItSets", "gc_users"), 2);
    /* repeats of app-0's alert: the two that brought a GC6/GC7 user are rows */
    assert_int_equal(it_sql_ll("SELECT count(*) FROM events WHERE type = 'ItSets'"
                               " AND user_id IS NOT NULL"),
                     2);
    assert_int_equal(it_sql_ll("SELECT count FROM alerts WHERE type = 'ItSets'"
                               " AND app_id = 'app-0'"),
                     5);
    assert_int_equal(member_set_size_when("ItSets", 20 + 2), 20 + 2);
    free(it_redis_cli(&redis, "flushall"));
    it_server_start_config(&second, CONFIG, env);
    post_apps_to(&second, "ItSets", "data", 10, 25, NULL);
    post_user(&second, "ItSets", "app-3", "u-1", 7);
    post_user(&second, "ItSets", "app-4", "u-2", 7);
    post_user(&second, "ItSets", "app-5", "u-4", 7);
    assert_int_equal(it_server_stop(&second), 0);
    assert_int_equal(db_win("ItSets", "apps"), 25);
    assert_int_equal(db_win("ItSets", "gc_users"), 3);
    assert_int_equal(member_set_size_when("ItSets", 25 + 3), 25 + 3);
    assert_int_equal(win_int("ItSets", "gc_users", 3), 3);
}

/* An instance without Redis counts members from PostgreSQL; the set in
 * Redis is then smaller than the stored count, so it is not trusted (the
 * timer fills it in): nothing is counted twice, whichever instance sees a
 * member again - here one that has never counted into the window, so that
 * only the set could tell it. */
static void test_esc_members_without_redis(void **state)
{
    struct it_server blind, fresh;
    const char *env[2] = {"AC_REDIS_URL=redis://127.0.0.1:1/0", NULL};
    const char *renv[2] = {redis.env, NULL};

    (void)state;
    post_apps("ItBlind", "data", 0, 10);
    post_apps("ItBlind", "data", 10, 12);
    assert_int_equal(member_set_size_when("ItBlind", 12), 12);
    it_server_start_config(&blind, CONFIG, env);
    it_server_start_config(&fresh, CONFIG, renv);
    post_apps_to(&blind, "ItBlind", "data", 5, 20, NULL);
    post_apps_to(&fresh, "ItBlind", "data", 15, 22, NULL);
    post_apps_to(&blind, "ItBlind", "data", 0, 3, NULL);
    assert_int_equal(db_win("ItBlind", "apps"), 22);
    assert_int_equal(db_win("ItBlind", "events"), 10 + 2 + 15 + 7 + 3);
    assert_int_equal(it_server_stop(&blind), 0);
    assert_int_equal(it_server_stop(&fresh), 0);
    assert_int_equal(member_set_size_when("ItBlind", 22), 22);
}

/* A member whose add to the set never arrived (a writer stopped between
 * COMMIT and its cache update; here, removed from the set): the set is
 * smaller than the stored count, so a writer asks PostgreSQL rather than
 * count that member again, and the timer fills the set in. The timer may
 * fill it in before the next request comes (members_fill_ms): then nothing
 * is asked, and the test tries again with a new type, at most three times. */
static void test_esc_members_lost_add(void **state)
{
    struct it_server fresh;
    const char *renv[2] = {redis.env, NULL};
    char args[300], type[16], *set;
    double before, asked = 0;

    (void)state;
    it_server_start_config(&fresh, CONFIG, renv);
    for (int attempt = 0; attempt < 3 && asked != 5.0; attempt++) {
        snprintf(type, sizeof(type), "ItLost%d", attempt);
        post_apps(type, "data", 0, 5);
        post_apps(type, "data", 5, 10);
        assert_int_equal(member_set_size_when(type, 10), 10);
        set = member_set(type, 'a');
        snprintf(args, sizeof(args), "srem '%s' %lld", set,
                 it_sql_ll("SELECT ac_member_key('a', 'app-7')"));
        before = it_metric(&fresh, "ac_escalation_member_probes_total");
        assert_true(before >= 0); /* the series is there */
        free(it_redis_cli(&redis, args));
        free(set);
        post_apps_to(&fresh, type, "data", 7, 12, NULL);
        assert_int_equal(db_win(type, "apps"), 12);
        asked = it_metric(&fresh, "ac_escalation_member_probes_total") - before;
        /* nothing counted twice either way, and the set is whole again */
        assert_int_equal(member_set_size_when(type, 12), 12);
    }
    /* the five were asked of PostgreSQL, and /metrics says so */
    assert_true(asked == 5.0);
    assert_int_equal(it_server_stop(&fresh), 0);
}

/* An alert that opens without bringing a member (the app is counted
 * already) is still an open alert of the window: it stays open until the
 * last of its alerts resolves. */
static void test_esc_alert_without_new_member(void **state)
{
    (void)state;
    post_apps_to(&srv, "ItAlerts", "data", 0, 1, ",\"instance\":\"i-1\"");
    post_apps_to(&srv, "ItAlerts", "data", 0, 1, ",\"instance\":\"i-2\"");
    assert_int_equal(db_win("ItAlerts", "apps"), 1);
    assert_int_equal(db_win("ItAlerts", "open_alerts"), 2);
    assert_int_equal(db_win("ItAlerts", "events"), 2);
    post_apps_to(&srv, "ItAlerts", "data", 0, 1, ",\"instance\":\"i-1\",\"status\":\"resolved\"");
    assert_int_equal(db_win("ItAlerts", "open_alerts"), 1);
    post_apps_to(&srv, "ItAlerts", "data", 0, 1, ",\"instance\":\"i-2\",\"status\":\"resolved\"");
    assert_int_equal(db_win("ItAlerts", "id"), -1); /* closed */
}

/* One instance that counted every member of a window knows which are new
 * without asking Redis; once another instance has counted into the window
 * it asks again, and counts nothing twice. */
static void test_esc_members_from_memory(void **state)
{
    struct it_server fresh;
    const char *renv[2] = {redis.env, NULL};
    double asked = it_metric(&srv, "ac_escalation_member_checks_total");

    (void)state;
    post_apps("ItMemory", "data", 0, 5);
    post_apps("ItMemory", "data", 5, 10);
    post_apps("ItMemory", "data", 2, 6); /* known apps only: the memory stays exact */
    post_apps("ItMemory", "data", 10, 12);
    assert_int_equal(db_win("ItMemory", "apps"), 12);
    assert_true(it_metric(&srv, "ac_escalation_member_checks_total") == asked);

    it_server_start_config(&fresh, CONFIG, renv);
    post_apps_to(&fresh, "ItMemory", "data", 10, 14, NULL); /* 10, 11 known; 12, 13 new */
    assert_int_equal(db_win("ItMemory", "apps"), 14);
    assert_true(it_metric(&fresh, "ac_escalation_member_checks_total") >= 4.0);
    assert_int_equal(it_server_stop(&fresh), 0);

    /* srv's memory (12 apps) is behind the count (14): it asks the sets */
    post_apps("ItMemory", "data", 12, 17);
    assert_int_equal(db_win("ItMemory", "apps"), 17);
    assert_true(it_metric(&srv, "ac_escalation_member_checks_total") >= asked + 5.0);
    /* and now knows all 17 again */
    asked = it_metric(&srv, "ac_escalation_member_checks_total");
    post_apps("ItMemory", "data", 15, 20);
    assert_int_equal(db_win("ItMemory", "apps"), 20);
    assert_true(it_metric(&srv, "ac_escalation_member_checks_total") == asked);
}

static void test_esc_windows_api(void **state)
{
    json_t *r = NULL;

    (void)state;
    assert_int_equal(it_call(&srv, "GET", "/v1/escalation/windows", NULL, NULL, NULL, NULL), 401);
    assert_int_equal(it_call(&srv, "GET", "/v1/escalation/windows", IT_READ_TOKEN, NULL, NULL, &r),
                     200);
    assert_true(json_array_size(json_object_get(r, "windows")) >= 1);
    json_decref(r);
    r = NULL;
    assert_int_equal(
        it_call(&srv, "GET", "/v1/escalation/windows?bogus=1", IT_READ_TOKEN, NULL, NULL, &r), 400);
    json_decref(r);
    r = NULL;
    assert_int_equal(
        it_call(&srv, "GET", "/v1/escalation/windows?status=maybe", IT_READ_TOKEN, NULL, NULL, &r),
        400);
    json_decref(r);
    r = NULL;
    assert_int_equal(it_call(&srv, "GET", "/v1/escalation/windows?status=closed&limit=0",
                             IT_READ_TOKEN, NULL, NULL, &r),
                     400);
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_esc_fifty_apps_raise_within_the_request),
        cmocka_unit_test(test_esc_gc_users),
        cmocka_unit_test(test_esc_p1_at_once_each_tier_recorded),
        cmocka_unit_test(test_esc_held_condition_raised_by_the_timer),
        cmocka_unit_test(test_esc_increment_condition),
        cmocka_unit_test(test_esc_close_and_reopen_from_zero),
        cmocka_unit_test(test_esc_closed_by_operator),
        cmocka_unit_test(test_esc_one_request_transitions),
        cmocka_unit_test(test_esc_two_instances),
        cmocka_unit_test(test_esc_redis_flush_rebuilds),
        cmocka_unit_test(test_esc_members_rebuilt_from_events),
        cmocka_unit_test(test_esc_members_without_redis),
        cmocka_unit_test(test_esc_members_lost_add),
        cmocka_unit_test(test_esc_members_from_memory),
        cmocka_unit_test(test_esc_alert_without_new_member),
        cmocka_unit_test(test_esc_windows_api),
    };
    int rc;

    it_init("escalation");
    rc = cmocka_run_group_tests_name("integration_escalation", tests, setup, teardown);
    it_fini();
    return rc;
}
