/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of notification planning (escalation/notify/plan.c): routes,
 * chains and tiers, silences, channels by level and reason, rows and keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escalation/notify/plan.h"

static struct ac_notify_config nc;
static struct ac_oncall_snapshot snap;

static json_t *js(const char *text)
{
    json_t *j = json_loads(text, 0, NULL);

    assert_non_null(j);
    return j;
}

static void add_contact(int64_t id, const char *text)
{
    json_t *c = js(text);

    assert_true(ac_snapshot_add_contact(&snap, id, c));
    json_decref(c);
}

static void add_team(int64_t id, const char *name, const char *doc, bool is_default)
{
    json_t *d = js(doc);

    assert_true(ac_snapshot_add_team(&snap, id, name, d, is_default));
    json_decref(d);
}

static int setup(void **state)
{
    json_t *cfg = js("{\"channels\":{\"call\":{\"kind\":\"phone\",\"url\":\"http://h/c\"},"
                     "\"text\":{\"kind\":\"sms\",\"url\":\"http://h/s\"},"
                     "\"chat\":{\"kind\":\"slack\",\"url\":\"http://h/k\"},"
                     "\"ops\":{\"kind\":\"webhook\",\"url\":\"http://h/o\"}},"
                     "\"fallback\":\"ops\",\"mtta_s\":{\"P1\":60}}");
    json_t *errs = json_array(), *d;

    (void)state;
    assert_int_equal(ac_notify_config_load(&nc, cfg, errs), AC_OK);
    json_decref(cfg);
    json_decref(errs);
    ac_snapshot_init(&snap);
    add_contact(1, "{\"id\":\"1\",\"name\":\"ann\",\"phone\":\"+100\"}");
    add_contact(2, "{\"id\":\"2\",\"name\":\"bob\",\"phone\":\"+200\"}");
    add_contact(3, "{\"id\":\"3\",\"name\":\"cid\"}"); /* no phone */
    add_contact(4, "{\"id\":\"4\",\"name\":\"lea\",\"phone\":\"+400\"}");
    /* the payments team: tier 1 ann and cid, tier 2 bob, tier 3 the lead */
    add_team(10, "payments",
             "{\"lead\":\"4\",\"chain\":[{\"targets\":[{\"contact\":\"1\"},{\"contact\":\"3\"}]},"
             "{\"targets\":[{\"contact\":\"2\"},{\"contact\":\"2\"}]},"
             "{\"targets\":[{\"lead\":true}]}]}",
             false);
    add_team(11, "default", "{\"chain\":[{\"targets\":[{\"contact\":\"2\"}]}]}", true);
    d = js("{\"team\":\"10\",\"matchers\":[{\"name\":\"app_id\",\"op\":\"=\",\"value\":\"pay\"}]}");
    assert_true(ac_snapshot_add_route(&snap, d));
    json_decref(d);
    d = js("{\"team\":\"10\",\"matchers\":\"not a list\"}");
    assert_false(ac_snapshot_add_route(&snap, d)); /* left out */
    json_decref(d);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ac_snapshot_deinit(&snap);
    ac_notify_config_deinit(&nc);
    return 0;
}

/* An alert resource whose latest event is of type on app. */
static json_t *alert_of(const char *id, const char *type, const char *app, const char *status)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:{s:s, s:s, s:s, s:s}}", "id", id, "type",
                     type, "app_id", app, "status", status, "count", 3, "first_seen",
                     "2026-12-07T00:00:00.000000Z", "latest_event", "source", "probe", "type", type,
                     "title", "disk full", "app_id", app);
}

/* An incident of type at level with one alert (77) on app. */
static json_t *alert(const char *type, const char *app, const char *status)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:[s], s:s, s:s, s:[o]}", "id",
                     "900", "type", type, "title", type, "status",
                     strcmp(status, "firing") == 0 ? "open" : status, "level", "P1", "alerts", 1,
                     "events", 3, "apps", 1, "gc_users", 0, "top_apps", app, "first_seen",
                     "2026-12-07T00:00:00.000000Z", "last_alert_id", "77", "members",
                     alert_of("77", type, app, status));
}

static struct ac_plan_intent intent(json_t *inc, enum ac_notify_reason r, enum ac_level l)
{
    struct ac_plan_intent in = {.id = 5, .incident_id = 900, .reason = r, .level = l, .tier = 1};

    (void)json_object_set_new(inc, "level", json_string(ac_level_name(l)));
    in.incident = inc;
    in.created_s = 1700000000 - 3600; /* its group_wait is over */
    return in;
}

/* How many rows of out go to channel name. */
static size_t rows_on(const struct ac_plan_out *out, const char *name)
{
    size_t n = 0;

    for (size_t i = 0; i < out->nrows; i++) {
        n += strcmp(out->rows[i].ch->name, name) == 0;
    }
    return n;
}

static void test_plan_reasons(void **state)
{
    enum ac_notify_reason r;

    (void)state;
    assert_true(ac_notify_reason_parse("timeout", &r));
    assert_int_equal(r, AC_REASON_TIMEOUT);
    assert_string_equal(ac_notify_reason_name(AC_REASON_REPEAT), "repeat");
    assert_false(ac_notify_reason_parse("later", &r));
}

static void test_plan_route_tier_and_rows(void **state)
{
    json_t *a = alert("DiskFull", "pay", "firing"), *ctx;
    struct ac_plan_intent in = intent(a, AC_REASON_OPEN, AC_LEVEL_P1);
    struct ac_plan_out out;

    (void)state;
    ac_plan(&nc, &snap, &in, 1700000000, &out);
    assert_int_equal(out.verdict, AC_PLAN_NOTIFY);
    assert_int_equal(out.team, 10); /* the route, not the default team */
    assert_int_equal(out.tier, 1);
    /* P1: phone and sms per recipient with a phone (ann; cid has none), each
     * chat-like channel (slack, the webhook) once */
    assert_int_equal(rows_on(&out, "call"), 1);
    assert_int_equal(rows_on(&out, "text"), 1);
    assert_int_equal(rows_on(&out, "chat"), 1);
    assert_int_equal(rows_on(&out, "ops"), 1);
    assert_int_equal(out.nrows, 4);
    for (size_t i = 0; i < out.nrows; i++) {
        if (out.rows[i].ch->ops->per_contact) {
            assert_string_equal(out.rows[i].contact_id, "1");
            assert_true(strstr(out.rows[i].key, "n5-") == out.rows[i].key);
            assert_non_null(strstr(out.rows[i].key, "-c1"));
        }
        else {
            char key[32];
            snprintf(key, sizeof(key), "n5-%s", out.rows[i].ch->name);
            assert_null(out.rows[i].contact_id);
            assert_string_equal(out.rows[i].key, key);
        }
    }
    ctx = js(out.rows[0].doc);
    assert_string_equal(json_string_value(json_object_get(ctx, "title")),
                        "[P1] DiskFull: 1 alert, 1 app");
    assert_non_null(strstr(json_string_value(json_object_get(ctx, "text")), "top apps: pay"));
    assert_non_null(strstr(json_string_value(json_object_get(ctx, "text")), "incident 900"));
    assert_string_equal(json_string_value(json_object_get(ctx, "reason")), "open");
    assert_string_equal(json_string_value(json_object_get(json_object_get(ctx, "team"), "name")),
                        "payments");
    assert_int_equal(json_array_size(json_object_get(ctx, "recipients")), 2); /* ann, cid */
    json_decref(ctx);
    assert_true(out.remember);
    assert_int_equal(out.mtta_s, 60);
    assert_false(out.arm); /* the MTTA starts at the first delivery */
    assert_int_equal(out.told_alert, 77);
    assert_int_equal(out.level, AC_LEVEL_P1);
    assert_int_equal(json_array_size(out.used), 4);
    ac_plan_out_deinit(&out);

    /* another app: the default team; P3: the chat-like channels only */
    json_decref(a);
    a = alert("DiskFull", "web", "firing");
    in = intent(a, AC_REASON_OPEN, AC_LEVEL_P3);
    ac_plan(&nc, &snap, &in, 1700000000, &out);
    assert_int_equal(out.team, 11);
    assert_int_equal(out.nrows, 2);
    assert_int_equal(rows_on(&out, "chat"), 1);
    assert_int_equal(rows_on(&out, "text"), 0);
    ac_plan_out_deinit(&out);
    json_decref(a);
}

static void test_plan_timeout_tiers(void **state)
{
    json_t *a = alert("DiskFull", "pay", "firing");
    struct ac_plan_intent in = intent(a, AC_REASON_TIMEOUT, AC_LEVEL_P2);
    struct ac_plan_out out;
    json_t *r;

    (void)state;
    in.told = AC_LEVEL_P2;
    in.team = 10;
    /* tier 2: bob once (named twice), by sms */
    in.tier = 2;
    ac_plan(&nc, &snap, &in, 1700000000, &out);
    assert_int_equal(rows_on(&out, "text"), 1);
    assert_string_equal(out.rows[0].contact_id, "2");
    assert_int_equal(out.tier, 2);
    r = js(out.rows[0].doc);
    assert_string_equal(json_string_value(json_object_get(r, "title")),
                        "[P2] DiskFull not acknowledged (tier 2): 1 alert, 1 app");
    json_decref(r);
    assert_true(out.arm); /* the next tier is due mtta from now */
    ac_plan_out_deinit(&out);
    /* tier 3: the lead; past the last tier, still the last */
    for (long tier = 3; tier <= 5; tier++) {
        in.tier = tier;
        ac_plan(&nc, &snap, &in, 1700000000, &out);
        assert_int_equal(rows_on(&out, "text"), 1);
        assert_string_equal(out.rows[0].contact_id, "4");
        ac_plan_out_deinit(&out);
    }
    r = ac_snapshot_recipients(&snap, 999, 1, 0); /* an unknown team names nobody */
    assert_int_equal(json_array_size(r), 0);
    json_decref(r);
    json_decref(a);
}

static void test_plan_resolve_and_fallback(void **state)
{
    json_t *a = alert("DiskFull", "pay", "resolved");
    json_t *used = js("[\"text\",\"chat\",\"gone\"]");
    struct ac_plan_intent in = intent(a, AC_REASON_RESOLVE, AC_LEVEL_P1);
    struct ac_plan_out out;

    (void)state;
    /* a resolve goes where the incident was told (a channel since removed is
     * skipped, phone never), to every tier told, and changes no state */
    in.told = AC_LEVEL_P1;
    in.team = 10;
    in.notified_tier = 2;
    in.used = used;
    ac_plan(&nc, &snap, &in, 1700000000, &out);
    assert_int_equal(out.verdict, AC_PLAN_NOTIFY);
    assert_int_equal(rows_on(&out, "call"), 0);
    assert_int_equal(rows_on(&out, "text"), 2); /* tier 1 ann, tier 2 bob */
    assert_string_equal(out.rows[0].contact_id, "1");
    assert_string_equal(out.rows[1].contact_id, "2");
    assert_int_equal(rows_on(&out, "chat"), 1);
    assert_false(out.remember);
    ac_plan_out_deinit(&out);
    /* the phone channel, used before, is left out of a resolve */
    json_decref(used);
    used = js("[\"call\",\"chat\"]");
    in.used = used;
    ac_plan(&nc, &snap, &in, 1700000000, &out);
    assert_int_equal(out.nrows, 1);
    assert_int_equal(rows_on(&out, "chat"), 1);
    ac_plan_out_deinit(&out);
    json_decref(a);

    /* NotificationFailed: the fallback channel alone, whatever its level says */
    a = alert("NotificationFailed", "pay", "firing");
    in = intent(a, AC_REASON_OPEN, AC_LEVEL_P1);
    ac_plan(&nc, &snap, &in, 1700000000, &out);
    assert_int_equal(out.nrows, 1);
    assert_int_equal(rows_on(&out, "ops"), 1);
    ac_plan_out_deinit(&out);
    json_decref(a);
    json_decref(used);
}

static void test_plan_silences(void **state)
{
    json_t *a = alert("DiskFull", "pay", "firing");
    json_t *ms = js("[{\"name\":\"type\",\"op\":\"=\",\"value\":\"DiskFull\"}]"), *none = js("[]");
    struct ac_plan_intent in = intent(a, AC_REASON_OPEN, AC_LEVEL_P1);
    struct ac_oncall_snapshot s2;
    struct ac_plan_out out;

    (void)state;
    ac_snapshot_init(&s2);
    assert_true(ac_snapshot_add_silence(&s2, 8, ms, 0, 1700003600, 0));
    ac_plan(&nc, &s2, &in, 1700000000, &out);
    assert_int_equal(out.verdict, AC_PLAN_HOLD);
    assert_int_equal(out.silence->id, 8);
    assert_int_equal(out.silence->ends, 1700003600);
    assert_int_equal(out.nrows, 0);
    ac_plan_out_deinit(&out);
    ac_snapshot_deinit(&s2);

    /* an alert's own silence without matchers holds it, and only it */
    ac_snapshot_init(&s2);
    assert_true(ac_snapshot_add_silence(&s2, 9, none, 78, 0, 0));
    ac_plan(&nc, &s2, &in, 1700000000, &out);
    assert_int_equal(out.verdict, AC_PLAN_NOTIFY);
    ac_plan_out_deinit(&out);
    assert_true(ac_snapshot_add_silence(&s2, 10, none, 77, 0, 0));
    ac_plan(&nc, &s2, &in, 1700000000, &out);
    assert_int_equal(out.verdict, AC_PLAN_HOLD);
    assert_int_equal(out.silence->id, 10);
    ac_plan_out_deinit(&out);
    ac_snapshot_deinit(&s2);

    /* one alert of two silenced: the incident is told */
    ac_snapshot_init(&s2);
    assert_true(ac_snapshot_add_silence(&s2, 10, none, 77, 0, 0));
    (void)json_array_append_new(json_object_get(a, "members"),
                                alert_of("78", "DiskFull", "web", "firing"));
    ac_plan(&nc, &s2, &in, 1700000000, &out);
    assert_int_equal(out.verdict, AC_PLAN_NOTIFY);
    ac_plan_out_deinit(&out);
    /* and both: held */
    assert_true(ac_snapshot_add_silence(&s2, 11, none, 78, 0, 0));
    ac_plan(&nc, &s2, &in, 1700000000, &out);
    assert_int_equal(out.verdict, AC_PLAN_HOLD);
    ac_plan_out_deinit(&out);
    ac_snapshot_deinit(&s2);

    /* held before and resolved since: dropped, not notified late */
    json_decref(a);
    a = alert("DiskFull", "pay", "resolved");
    in = intent(a, AC_REASON_OPEN, AC_LEVEL_P1);
    in.held = true;
    ac_plan(&nc, &snap, &in, 1700000000, &out);
    assert_int_equal(out.verdict, AC_PLAN_DROP);
    assert_string_equal(out.why, "resolved while silenced");
    ac_plan_out_deinit(&out);
    json_decref(a);
    json_decref(ms);
    json_decref(none);
}

static void test_plan_escalation_message(void **state)
{
    json_t *a = alert("DiskFull", "pay", "firing");
    json_t *d = js("{\"from\":\"P3\",\"to\":\"P2\",\"why\":\"apps >= 100\"}"), *ctx;
    struct ac_plan_intent in = intent(a, AC_REASON_ESCALATE, AC_LEVEL_P2);
    struct ac_plan_out out;

    (void)state;
    in.details = d;
    (void)json_object_set_new(a, "level_reason", json_string("apps >= 100"));
    in.told = AC_LEVEL_P3;
    in.team = 10;
    in.notified_tier = 2;
    in.tier = 1;
    ac_plan(&nc, &snap, &in, 1700000000, &out);
    assert_int_equal(out.verdict, AC_PLAN_NOTIFY);
    assert_int_equal(out.tier, 2); /* stays at the tier it reached */
    ctx = js(out.rows[0].doc);
    assert_string_equal(json_string_value(json_object_get(ctx, "title")),
                        "[P2] DiskFull escalated P3→P2: 1 alert, 1 app");
    assert_non_null(strstr(json_string_value(json_object_get(ctx, "text")), "apps >= 100"));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(ctx, "escalation"), "why")),
        "apps >= 100");
    json_decref(ctx);
    ac_plan_out_deinit(&out);
    /* told at P2 already (a second raise of the same burst): nothing */
    in.told = AC_LEVEL_P2;
    ac_plan(&nc, &snap, &in, 1700000000, &out);
    assert_int_equal(out.verdict, AC_PLAN_DROP);
    assert_int_equal(out.nrows, 0);
    ac_plan_out_deinit(&out);
    json_decref(a);
    json_decref(d);
}

static void test_plan_group_wait_and_first_notification(void **state)
{
    json_t *a = alert("Storm", "web", "firing");
    struct ac_plan_intent in = intent(a, AC_REASON_OPEN, AC_LEVEL_P3);
    struct ac_plan_out out;

    (void)state;
    /* created 5 s ago: P3 waits 60 s from its creation */
    in.created_s = 1700000000 - 5;
    ac_plan(&nc, &snap, &in, 1700000000, &out);
    assert_int_equal(out.verdict, AC_PLAN_WAIT);
    assert_int_equal(out.until, 1700000000 - 5 + 60);
    assert_int_equal(out.nrows, 0);
    ac_plan_out_deinit(&out);
    /* raised to P1 before anyone was told: P1's 10 s, then one first
     * notification at P1 (an open, whatever the intent said) */
    in = intent(a, AC_REASON_ESCALATE, AC_LEVEL_P1);
    in.created_s = 1700000000 - 5;
    ac_plan(&nc, &snap, &in, 1700000000, &out);
    assert_int_equal(out.verdict, AC_PLAN_WAIT);
    assert_int_equal(out.until, 1700000000 + 5);
    ac_plan_out_deinit(&out);
    ac_plan(&nc, &snap, &in, 1700000000 + 5, &out);
    assert_int_equal(out.verdict, AC_PLAN_NOTIFY);
    assert_int_equal(out.as, AC_REASON_OPEN);
    assert_int_equal(rows_on(&out, "call"), 1);
    ac_plan_out_deinit(&out);
    /* P4 has no channels: nobody is told, nothing is remembered */
    in = intent(a, AC_REASON_OPEN, AC_LEVEL_P4);
    ac_plan(&nc, &snap, &in, 1700000000, &out);
    assert_int_equal(out.verdict, AC_PLAN_DROP);
    assert_string_equal(out.why, "no channels at its level");
    ac_plan_out_deinit(&out);
    /* an open intent for an incident told already: nothing */
    in = intent(a, AC_REASON_OPEN, AC_LEVEL_P1);
    in.told = AC_LEVEL_P1;
    ac_plan(&nc, &snap, &in, 1700000000, &out);
    assert_int_equal(out.verdict, AC_PLAN_DROP);
    ac_plan_out_deinit(&out);
    json_decref(a);
}

static void test_plan_summary_and_acknowledged(void **state)
{
    json_t *a = alert("Storm", "web", "firing"), *ctx;
    json_t *d = js("{\"new_alerts\":150,\"apps\":140,\"gc_users\":7}");
    struct ac_plan_intent in = intent(a, AC_REASON_SUMMARY, AC_LEVEL_P1);
    struct ac_plan_out out;

    (void)state;
    in.details = d;
    in.told = AC_LEVEL_P1;
    in.team = 11;
    in.notified_tier = 1;
    ac_plan(&nc, &snap, &in, 1700000000, &out);
    assert_int_equal(out.verdict, AC_PLAN_NOTIFY);
    /* a summary never rings: sms and the chat-like channels */
    assert_int_equal(rows_on(&out, "call"), 0);
    assert_int_equal(rows_on(&out, "text"), 1);
    assert_int_equal(rows_on(&out, "chat"), 1);
    ctx = js(out.rows[0].doc);
    assert_string_equal(json_string_value(json_object_get(ctx, "title")),
                        "[P1] Storm: 150 new alerts, 140 apps, 7 GC6/GC7 users");
    json_decref(ctx);
    ac_plan_out_deinit(&out);
    /* acknowledged: joined alerts and repeats tell nobody; a raise does */
    (void)json_object_set_new(a, "status", json_string("acknowledged"));
    ac_plan(&nc, &snap, &in, 1700000000, &out);
    assert_int_equal(out.verdict, AC_PLAN_DROP);
    assert_string_equal(out.why, "acknowledged");
    ac_plan_out_deinit(&out);
    in.reason = AC_REASON_REPEAT;
    ac_plan(&nc, &snap, &in, 1700000000, &out);
    assert_int_equal(out.verdict, AC_PLAN_DROP);
    ac_plan_out_deinit(&out);
    in.reason = AC_REASON_ESCALATE;
    in.told = AC_LEVEL_P2;
    ac_plan(&nc, &snap, &in, 1700000000, &out);
    assert_int_equal(out.verdict, AC_PLAN_NOTIFY);
    assert_int_equal(rows_on(&out, "call"), 1);
    ac_plan_out_deinit(&out);
    json_decref(a);
    json_decref(d);
}

/* Who is on call now, per team and tier (GET /v1/oncall, the console, ctl
 * oncall): contacts, the lead, and a schedule's person with the shift end. */
static void test_plan_oncall_now(void **state)
{
    struct ac_oncall_snapshot o;
    json_t *d, *teams, *tiers, *t0;

    (void)state;
    ac_snapshot_init(&o);
    d = js("{\"id\":\"1\",\"name\":\"ann\"}");
    assert_true(ac_snapshot_add_contact(&o, 1, d));
    json_decref(d);
    d = js("{\"id\":\"2\",\"name\":\"bob\"}");
    assert_true(ac_snapshot_add_contact(&o, 2, d));
    json_decref(d);
    /* daily from 2026-01-05 09:00 UTC: ann, then bob */
    d = js("{\"name\":\"primary\",\"time_zone\":\"UTC\",\"layers\":[{\"name\":\"d\","
           "\"start\":\"2026-01-05T09:00\",\"rotation\":\"daily\",\"members\":[\"1\",\"2\"]}]}");
    assert_true(ac_snapshot_add_schedule(&o, 7, d));
    json_decref(d);
    d = js("{\"lead\":\"2\",\"chain\":[{\"targets\":[{\"schedule\":\"7\"}]},"
           "{\"targets\":[{\"contact\":\"1\"},{\"lead\":true}]}]}");
    assert_true(ac_snapshot_add_team(&o, 10, "sre", d, true));
    json_decref(d);
    /* 2026-01-06 10:00 UTC: bob's day, until 2026-01-07 09:00 */
    teams = ac_snapshot_oncall(&o, 1767693600);
    assert_int_equal(json_array_size(teams), 1);
    t0 = json_array_get(teams, 0);
    assert_string_equal(json_string_value(json_object_get(t0, "id")), "10");
    assert_string_equal(json_string_value(json_object_get(t0, "name")), "sre");
    assert_true(json_is_true(json_object_get(t0, "default")));
    tiers = json_object_get(t0, "tiers");
    assert_int_equal(json_array_size(tiers), 2);
    d = json_array_get(json_object_get(json_array_get(tiers, 0), "targets"), 0);
    assert_string_equal(json_string_value(json_object_get(d, "kind")), "schedule");
    assert_string_equal(json_string_value(json_object_get(d, "schedule")), "7");
    assert_string_equal(json_string_value(json_object_get(json_object_get(d, "contact"), "name")),
                        "bob");
    assert_string_equal(json_string_value(json_object_get(d, "until")),
                        "2026-01-07T09:00:00.000000Z");
    d = json_object_get(json_array_get(tiers, 1), "targets");
    assert_string_equal(json_string_value(json_object_get(json_array_get(d, 0), "contact_id")),
                        "1");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(d, 0), "contact"), "name")),
                        "ann");
    assert_string_equal(json_string_value(json_object_get(json_array_get(d, 1), "kind")), "lead");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(d, 1), "contact"), "name")),
                        "bob");
    assert_null(json_object_get(json_array_get(d, 1), "until"));
    json_decref(teams);
    /* a day later: ann's */
    teams = ac_snapshot_oncall(&o, 1767693600 + 86400);
    d = json_array_get(
        json_object_get(json_array_get(json_object_get(json_array_get(teams, 0), "tiers"), 0),
                        "targets"),
        0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(d, "contact"), "name")),
                        "ann");
    json_decref(teams);
    ac_snapshot_deinit(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_reasons),
        cmocka_unit_test(test_plan_route_tier_and_rows),
        cmocka_unit_test(test_plan_timeout_tiers),
        cmocka_unit_test(test_plan_oncall_now),
        cmocka_unit_test(test_plan_resolve_and_fallback),
        cmocka_unit_test(test_plan_silences),
        cmocka_unit_test(test_plan_escalation_message),
        cmocka_unit_test(test_plan_group_wait_and_first_notification),
        cmocka_unit_test(test_plan_summary_and_acknowledged),
    };

    return cmocka_run_group_tests_name("unit_plan", tests, setup, teardown);
}
