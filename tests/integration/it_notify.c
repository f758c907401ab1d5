/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration tests of notification (DESIGN §6) through the real server,
 * with local HTTP sinks standing in for the phone and SMS gateways and a
 * chat webhook: who gets what at which level, retries until a gateway
 * answers, time escalation to the next tier and an acknowledgement stopping
 * it, and the resolved message on the channels used.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/harness.h"

static struct it_server srv;
static struct it_sink *gw;   /* phone and SMS gateway: /phone, /sms */
static struct it_sink *chat; /* chat webhook: /hook */
static struct it_sink *om;   /* the O&M webhook: /om */
static struct it_sink *dead; /* a P3 channel that can be made to refuse: /dead */
static char ann_id[24], bob_id[24];
static char config[2048];
static const char *const env[] = {"AC_TEST_ACTION_SECRET=act-s3cret-0123456789",
                                  "AC_TEST_OM_SECRET=om-s3cret", NULL};
static struct it_proxy *chat_proxy; /* the room channel goes through it: /hook */

static int setup(void **state)
{
    char body[1024];
    char *sched, *id;

    (void)state;
    gw = it_sink_start("{\"ok\":true}");
    chat = it_sink_start("ok");
    om = it_sink_start("{\"restarted\":true}");
    dead = it_sink_start("ok");
    chat_proxy = it_proxy_start(it_sink_port(chat));
    snprintf(config, sizeof(config),
             "{\"escalation\":{\"types\":{\"ItNotifyEsc\":[{\"from\":\"P3\",\"to\":\"P2\","
             "\"apps\":2}]}},\"notify\":{\"poll_ms\":50,\"public_url\":\"https://ac.example/\","
             "\"actions\":{\"secret_env\":\"AC_TEST_ACTION_SECRET\",\"om_webhook\":{\"url\":"
             "\"http://127.0.0.1:%d/"
             "om\",\"secret_env\":\"AC_TEST_OM_SECRET\"}},\"mtta_s\":{\"P1\":2,\"P2\":600,\"P3\":"
             "600},\"repeat_s\":{\"P1\":0,\"P2\":0,\"P3\":0},"
             "\"group_wait_s\":{\"P1\":0,\"P2\":0,\"P3\":0},\"retry\":{\"base_ms\":100,\"cap_ms\":"
             "2000,\"max_attempts\":40},\"channels\":{"
             "\"call\":{\"kind\":\"phone\",\"url\":\"http://127.0.0.1:%d/phone\"},"
             "\"text\":{\"kind\":\"sms\",\"url\":\"http://127.0.0.1:%d/sms\"},"
             "\"room\":{\"kind\":\"webhook\",\"url\":\"http://127.0.0.1:%d/hook\"},"
             "\"dead\":{\"kind\":\"webhook\",\"url\":\"http://127.0.0.1:%d/dead\"}},"
             "\"levels\":{\"P1\":[\"call\",\"text\",\"room\"],\"P2\":[\"text\",\"room\"],"
             "\"P3\":[\"room\",\"dead\"]},\"fallback\":\"room\"}}",
             it_sink_port(om), it_sink_port(gw), it_sink_port(gw), it_proxy_port(chat_proxy),
             it_sink_port(dead));
    it_server_start_config(&srv, config, env);
    id = it_create(&srv, "/v1/contacts", "{\"name\":\"ann\",\"phone\":\"+8613800000001\"}");
    snprintf(ann_id, sizeof(ann_id), "%s", id);
    free(id);
    id = it_create(&srv, "/v1/contacts", "{\"name\":\"bob\",\"phone\":\"+8613800000002\"}");
    snprintf(bob_id, sizeof(bob_id), "%s", id);
    free(id);
    snprintf(body, sizeof(body),
             "{\"name\":\"primary\",\"layers\":[{\"start\":\"2020-01-01T00:00:00Z\","
             "\"rotation\":\"weekly\",\"members\":[\"%s\"]}]}",
             ann_id);
    sched = it_create(&srv, "/v1/schedules", body);
    snprintf(body, sizeof(body),
             "{\"name\":\"sre\",\"default\":true,\"chain\":[{\"targets\":[{\"schedule\":\"%s\"}]},"
             "{\"targets\":[{\"contact\":\"%s\"}]}]}",
             sched, bob_id);
    free(it_create(&srv, "/v1/teams", body));
    free(sched);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(it_server_stop(&srv), 0);
    it_sink_stop(gw);
    it_proxy_stop(chat_proxy);
    it_sink_stop(chat);
    it_sink_stop(om);
    it_sink_stop(dead);
    return 0;
}

/* Posts one firing event to server s; returns its alert id (new). */
static char *fire_on(const struct it_server *s, const char *type, const char *level,
                     const char *app)
{
    char body[512];
    json_t *r;
    char *id;

    snprintf(body, sizeof(body),
             "{\"source\":\"probe\",\"type\":\"%s\",\"level\":\"%s\",\"title\":\"%s is down\","
             "\"app_id\":\"%s\"}",
             type, level, app, app);
    r = it_post_events(s, body, 200);
    id = strdup(json_string_value(
        json_object_get(json_array_get(json_object_get(r, "items"), 0), "alert_id")));
    json_decref(r);
    return id;
}

/* Posts one firing event to the suite's server; returns its alert id (new). */
static char *fire(const char *type, const char *level, const char *app)
{
    return fire_on(&srv, type, level, app);
}

/* Acknowledges an alert (so its tiers stop repeating into later tests). */
static void ack(const char *id)
{
    char path[96];
    json_t *r = NULL;

    snprintf(path, sizeof(path), "/v1/alerts/%s/ack", id);
    (void)it_req(&srv, "POST", path, "{}", &r);
    json_decref(r);
}

/* the alert id inside a sink's i-th body on path (the webhook's context) */
static bool body_has(struct it_sink *s, const char *path, int i, const char *needle)
{
    char *b = it_sink_body(s, path, i);
    bool hit = b && strstr(b, needle);

    free(b);
    return hit;
}

/* GET /v1/<what>s/<id>, or of the incident of alert id when what is
 * "incident" (new). */
static json_t *history(const char *what, const char *alert_id)
{
    char path[96];

    if (strcmp(what, "incident") == 0) {
        snprintf(path, sizeof(path), "/v1/incidents/%lld",
                 it_sql_llf("SELECT incident_id FROM alerts WHERE id = %s", alert_id));
    }
    else {
        snprintf(path, sizeof(path), "/v1/alerts/%s", alert_id);
    }
    return it_get(&srv, path);
}

/* The timeline's notification item on channel (the first), or NULL. */
static json_t *told_on(const json_t *doc, const char *channel, long tier)
{
    json_t *item;
    size_t i;

    json_array_foreach(json_object_get(doc, "timeline"), i, item)
    {
        const char *act = json_string_value(json_object_get(item, "action"));
        const char *ch = json_string_value(json_object_get(item, "channel"));
        if (act && strcmp(act, "notification") == 0 && ch && strcmp(ch, channel) == 0 &&
            json_integer_value(json_object_get(item, "tier")) == tier) {
            return item;
        }
    }
    return NULL;
}

static void test_p1_reaches_phone_sms_chat_and_p4_nothing(void **state)
{
    char *p1, *p4, needle[64];
    int phone0 = it_sink_count(gw, "/phone"), sms0 = it_sink_count(gw, "/sms");
    int hook0 = it_sink_count(chat, "/hook");

    (void)state;
    p1 = fire("ItNotifyDown", "P1", "shop");
    assert_int_equal(it_sink_wait(gw, "/phone", phone0 + 1, 10000), phone0 + 1);
    assert_int_equal(it_sink_wait(gw, "/sms", sms0 + 1, 10000), sms0 + 1);
    assert_int_equal(it_sink_wait(chat, "/hook", hook0 + 1, 10000), hook0 + 1);
    /* to the on-call person, with a key stable across retries */
    assert_true(body_has(gw, "/sms", sms0, "+8613800000001"));
    assert_true(body_has(gw, "/phone", phone0, "+8613800000001"));
    snprintf(needle, sizeof(needle), "\"id\":\"%s\"", p1);
    assert_true(body_has(chat, "/hook", hook0, needle));
    assert_true(body_has(chat, "/hook", hook0, "[P1] ItNotifyDown: 1 alert, 1 app"));
    {
        char *key = it_sink_header(gw, "/sms", sms0, "Idempotency-Key");
        assert_non_null(key);
        free(key);
    }
    /* marked sent once the batch's outcomes commit, just after the requests */
    assert_true(it_wait_sql(3, 5000,
                            "SELECT count(*) FROM notifications WHERE incident_id = (SELECT "
                            "incident_id FROM alerts WHERE id = %s)"
                            " AND status = 'sent'",
                            p1));

    /* the one-call history: opened, its event, and each notification with
     * its recipient (address masked), tier, attempts, outcome, delivery */
    for (int k = 0; k < 2; k++) {
        json_t *doc = history(k ? "incident" : "alert", p1), *n, *who;
        char *acts = it_timeline_actions(doc);

        assert_non_null(strstr(acts, k ? "incident.open," : "alert.open,alert.events,"));
        free(acts);
        assert_non_null(n = told_on(doc, "text", 1));
        assert_string_equal(json_string_value(json_object_get(n, "status")), "sent");
        assert_int_equal(json_integer_value(json_object_get(n, "attempts")), 1);
        assert_string_equal(json_string_value(json_object_get(n, "kind")), "sms");
        assert_true(json_is_string(json_object_get(n, "delivered_at")));
        who = json_object_get(n, "recipient");
        assert_string_equal(json_string_value(json_object_get(who, "name")), "ann");
        assert_string_equal(json_string_value(json_object_get(who, "address")), "+86*******0001");
        assert_non_null(told_on(doc, "call", 1));
        assert_non_null(n = told_on(doc, "room", 1));
        assert_true(json_is_null(json_object_get(n, "recipient"))); /* a room, not a person */
        json_decref(doc);
    }
    /* and the auditors' record of each outcome */
    assert_int_equal(it_sql_llf("SELECT count(*) FROM audit_log l JOIN notifications n ON"
                                " l.target_id = n.id::text WHERE l.target_type = 'notification'"
                                " AND l.action = 'notification.sent' AND n.incident_id = (SELECT"
                                " incident_id FROM alerts WHERE id = %s)",
                                p1),
                     3);

    /* a P4 reaches nobody: no intent, no notification, no request */
    p4 = fire("ItNotifyQuiet", "P4", "shop");
    it_quiet_ms(1500);
    assert_int_equal(it_sql_llf("SELECT count(*) FROM notify_intents WHERE incident_id = (SELECT "
                                "incident_id FROM alerts WHERE id = %s)",
                                p4),
                     0);
    assert_int_equal(it_sql_llf("SELECT count(*) FROM notifications WHERE incident_id = (SELECT "
                                "incident_id FROM alerts WHERE id = %s)",
                                p4),
                     0);
    assert_false(body_has(chat, "/hook", it_sink_count(chat, "/hook") - 1, "ItNotifyQuiet"));
    ack(p1);
    free(p1);
    free(p4);
}

/* The indexes of the requests on path whose body holds needle. */
static int matching(struct it_sink *s, const char *path, const char *needle, int *idx, int max)
{
    int n = 0, total = it_sink_count(s, path);

    for (int i = 0; i < total; i++) {
        if (body_has(s, path, i, needle) && n < max) {
            idx[n++] = i;
        }
    }
    return n;
}

static void test_gateway_errors_are_retried_until_sent_once(void **state)
{
    char *a;
    int idx[16], n = 0;
    char *k0, *k3;

    (void)state;
    /* the other tests' alerts may be notified meanwhile: count this one's */
    it_sink_fail(chat, 3, 500);
    a = fire("ItNotifyFlaky", "P3", "cart");
    /* three 500s, then one 200: four requests and no fifth */
    (void)it_sink_wait_with(chat, "/hook", "ItNotifyFlaky", 4, 15000);
    n = matching(chat, "/hook", "ItNotifyFlaky", idx, 16);
    assert_int_equal(n, 4);
    it_quiet_ms(1000); /* and no fifth */
    assert_int_equal(matching(chat, "/hook", "ItNotifyFlaky", idx, 16), 4);
    assert_int_equal(it_sql_llf("SELECT attempts FROM notifications WHERE incident_id = (SELECT "
                                "incident_id FROM alerts WHERE id = %s)"
                                " AND channel = 'room' AND status = 'sent'",
                                a),
                     4);
    k0 = it_sink_header(chat, "/hook", idx[0], "Idempotency-Key");
    k3 = it_sink_header(chat, "/hook", idx[3], "Idempotency-Key");
    assert_non_null(k0);
    assert_string_equal(k0, k3); /* the same key on every attempt */
    free(k0);
    free(k3);
    free(a);
}

static void test_unacknowledged_p1_reaches_tier_2_and_ack_stops_it(void **state)
{
    char *a, *b, path[96];
    json_t *r = NULL;

    (void)state;
    a = fire("ItNotifyTier", "P1", "pay");
    b = fire("ItNotifyAcked", "P1", "pay");
    assert_true(it_wait_sql(
        3, 10000,
        "SELECT count(*) FROM notifications WHERE reason = 'open'"
        " AND status = 'sent' AND incident_id = (SELECT incident_id FROM alerts WHERE id = %s)",
        b));
    snprintf(path, sizeof(path), "/v1/alerts/%s/ack", b);
    assert_int_equal(it_req(&srv, "POST", path, "{}", &r), 200);
    json_decref(r);
    /* P1's MTTA is 2 s here: bob (tier 2) gets the unacknowledged one */
    assert_true(it_wait_sql(1, 10000,
                            "SELECT count(*) FROM notifications WHERE incident_id = (SELECT "
                            "incident_id FROM alerts WHERE id = %s)"
                            " AND reason = 'timeout' AND contact_id = %s"
                            " AND channel = 'text' AND status = 'sent'",
                            a, bob_id));
    /* its history shows the move to tier 2 and bob told there */
    {
        json_t *doc = history("incident", a), *n, *mv = it_timeline_item(doc, "incident.tier");

        assert_non_null(mv);
        assert_int_equal(json_integer_value(json_object_get(mv, "tier")), 2);
        assert_non_null(n = told_on(doc, "text", 2));
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(n, "recipient"), "name")), "bob");
        json_decref(doc);
    }
    it_quiet_ms(2500); /* the acknowledged one reaches no tier */
    assert_int_equal(it_sql_llf("SELECT count(*) FROM notifications WHERE incident_id = (SELECT "
                                "incident_id FROM alerts WHERE id = %s)"
                                " AND reason = 'timeout'",
                                b),
                     0);
    ack(a);
    free(a);
    free(b);
}

static void test_silence_holds_and_its_end_resumes(void **state)
{
    json_t *r = NULL;
    char *a, *b, path[96];

    (void)state;
    /* refused: nothing to match, or matchers every alert matches (it would
     * silence all) unless "all": true says so; no end; read scope */
    assert_int_equal(
        it_req(&srv, "POST", "/v1/silences", "{\"matchers\":[],\"duration_s\":60}", &r), 400);
    json_decref(r);
    assert_int_equal(it_req(&srv, "POST", "/v1/silences",
                            "{\"matchers\":[{\"name\":\"app_id\",\"op\":\"=~\",\"value\":"
                            "\".*\"}],\"duration_s\":60}",
                            &r),
                     400);
    assert_non_null(strstr(
        json_string_value(json_object_get(
            json_array_get(json_object_get(json_object_get(r, "error"), "details"), 0), "message")),
        "every alert"));
    json_decref(r);
    assert_int_equal(it_req(&srv, "POST", "/v1/silences",
                            "{\"matchers\":[{\"name\":\"app_id\",\"op\":\"=~\",\"value\":"
                            "\".*\"}],\"duration_s\":60,\"starts_at\":\"2999-01-01T00:00:00Z\","
                            "\"all\":true}",
                            &r),
                     201);
    assert_false(json_is_true(json_object_get(r, "active"))); /* it starts in 2999 */
    json_decref(r);
    assert_int_equal(it_req(&srv, "POST", "/v1/silences",
                            "{\"matchers\":[{\"name\":\"app_id\",\"op\":\"=\",\"value\":\"x\"}]}",
                            &r),
                     400);
    json_decref(r);
    assert_int_equal(it_call(&srv, "POST", "/v1/silences", IT_READ_TOKEN, "application/json",
                             "{\"alert_id\":\"1\",\"duration_s\":60}", &r),
                     403);
    json_decref(r);

    /* a 3-second silence on app "mute": its alert is stored, not notified */
    assert_int_equal(it_req(&srv, "POST", "/v1/silences",
                            "{\"matchers\":[{\"name\":\"app_id\",\"op\":\"=\",\"value\":"
                            "\"mute\"}],\"duration_s\":3,\"comment\":\"maintenance\"}",
                            &r),
                     201);
    assert_true(json_is_true(json_object_get(r, "active")));
    json_decref(r);
    a = fire("ItNotifyMuted", "P3", "mute");
    assert_true(it_wait_sql(1, 5000,
                            "SELECT count(*) FROM notify_intents WHERE incident_id = (SELECT "
                            "incident_id FROM alerts WHERE id = %s)"
                            " AND held_by IS NOT NULL AND planned_at IS NULL",
                            a));
    assert_int_equal(it_sink_count_with(chat, "/hook", "ItNotifyMuted"), 0);
    assert_int_equal(it_sql_llf("SELECT count(*) FROM notify_intents WHERE incident_id = (SELECT "
                                "incident_id FROM alerts WHERE id = %s)"
                                " AND held_by IS NOT NULL AND planned_at IS NULL",
                                a),
                     1);
    assert_int_equal(it_sql_llf("SELECT count FROM alerts WHERE id = %s", a), 1); /* counted */
    { /* the alert's and the incident's histories say which silence held it */
        json_t *doc = history("alert", a), *held = it_timeline_item(doc, "incident.silenced");
        assert_non_null(held);
        assert_string_equal(json_string_value(json_object_get(held, "actor")), "system:notifier");
        assert_true(
            json_is_string(json_object_get(json_object_get(held, "details"), "silence_id")));
        json_decref(doc);
        doc = history("incident", a);
        assert_non_null(it_timeline_item(doc, "incident.silenced"));
        json_decref(doc);
    }
    /* the silence ends; the alert is still open: notified now */
    (void)it_sink_wait_with(chat, "/hook", "ItNotifyMuted", 1, 10000);
    assert_int_equal(it_sink_count_with(chat, "/hook", "ItNotifyMuted"), 1);

    /* until resolved: never notified, and the held intent is dropped */
    b = fire("ItNotifyUntil", "P3", "calm");
    {
        char body[160];
        snprintf(body, sizeof(body), "{\"alert_id\":\"%s\",\"until_resolved\":true}", b);
        /* the intent may be planned before the silence exists: race it out by
         * checking what was sent only after the silence */
        assert_int_equal(it_req(&srv, "POST", "/v1/silences", body, &r), 201);
        json_decref(r);
    }
    snprintf(path, sizeof(path), "/v1/alerts/%s/resolve", b);
    assert_int_equal(it_req(&srv, "POST", path, "{}", &r), 200);
    json_decref(r);
    assert_true(it_wait_sql(1, 5000,
                            "SELECT count(*) FROM silences WHERE alert_id = %s"
                            " AND expired_at IS NOT NULL",
                            b));
    free(a);
    free(b);
}

/* The path of the action link of kind in the chat card of type (new). */
static char *action_path(const char *type, const char *kind)
{
    int idx[8], n = 0;
    char *body, *path = NULL;
    json_t *j;
    const char *url;

    (void)it_sink_wait_with(chat, "/hook", type, 1, 10000);
    n = matching(chat, "/hook", type, idx, 8);
    assert_true(n >= 1);
    body = it_sink_body(chat, "/hook", idx[0]);
    j = json_loads(body, 0, NULL);
    url = json_string_value(json_object_get(json_object_get(j, "actions"), kind));
    assert_non_null(url);
    assert_true(strncmp(url, "https://ac.example/v1/actions/", 30) == 0);
    path = strdup(url + strlen("https://ac.example"));
    json_decref(j);
    free(body);
    return path;
}

/* An unauthenticated request; returns its status (0: no answer). */
static long fetch(const char *method, const char *path, struct it_resp *resp)
{
    return it_http(&srv, method, path, NULL, NULL, NULL, 0, resp) == 0 ? resp->status : 0;
}

/* GET and HEAD of a link only show it; POST acts, once; a second use shows
 * the first. Links act on the incident. */
static void test_action_links_ack_and_forward_and_refuse_tampering(void **state)
{
    char *a, *ack, *restart, *bad, *sig, *key, *key2, *page;
    long long inc;
    json_t *r = NULL;
    struct it_resp resp;

    (void)state;
    a = fire("ItNotifyAction", "P3", "api");
    inc = it_sql_llf("SELECT incident_id FROM alerts WHERE id = %s", a);
    ack = action_path("ItNotifyAction", "ack");
    restart = action_path("ItNotifyAction", "restart_app");
    /* altered: 403 and nothing done */
    bad = strdup(ack);
    bad[strlen("/v1/actions/") + 5] = bad[strlen("/v1/actions/") + 5] == 'A' ? 'B' : 'A';
    assert_int_equal(it_call(&srv, "POST", bad, NULL, NULL, NULL, &r), 403);
    json_decref(r);
    /* what a link previewer does - GET three times, HEAD - changes nothing:
     * a page saying what would happen, to which incident, as whom */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(fetch("GET", ack, &resp), 200);
        page = it_resp_header(&resp, "Content-Type");
        assert_non_null(strstr(page, "text/html"));
        free(page);
        assert_non_null(strstr(resp.body, "Acknowledge incident"));
        assert_non_null(strstr(resp.body, "As contact:ann"));
        assert_non_null(strstr(resp.body, "<form method=\"post\">"));
        it_resp_free(&resp);
    }
    assert_int_equal(fetch("HEAD", restart, &resp), 200);
    it_resp_free(&resp);
    assert_int_equal(fetch("GET", restart, &resp), 200);
    it_resp_free(&resp);
    assert_int_equal(
        it_sql_llf("SELECT count(*) FROM alerts WHERE id = %s AND status = 'firing'", a), 1);
    assert_int_equal(it_sink_count(om, "/om"), 0);
    /* the POST from that page acknowledges the incident, as the contact the
     * link was sent to, without a token */
    assert_int_equal(it_call(&srv, "POST", ack, NULL, NULL, NULL, &r), 200);
    json_decref(r);
    assert_int_equal(it_sql_llf("SELECT count(*) FROM alerts WHERE id = %s"
                                " AND status = 'acknowledged' AND acked_by = 'contact:ann'",
                                a),
                     1);
    assert_int_equal(it_sql_llf("SELECT count(*) FROM audit_log WHERE target_id = '%lld'"
                                " AND action = 'incident.ack' AND actor = 'contact:ann'",
                                inc),
                     1);
    /* once: a second use answers 409 naming the first; its GET says so */
    assert_int_equal(fetch("POST", ack, &resp), 409);
    assert_non_null(strstr(resp.body, "by contact:ann"));
    it_resp_free(&resp);
    assert_int_equal(fetch("GET", ack, &resp), 200);
    assert_non_null(strstr(resp.body, "Already done"));
    assert_null(strstr(resp.body, "<form"));
    it_resp_free(&resp);
    /* restart app: forwarded, signed, with an Idempotency-Key from the link,
     * its answer shown; refused by the O&M side, it can be tried again with
     * the same key; once it went through, never again */
    it_sink_fail(om, 1, 500);
    assert_int_equal(it_call(&srv, "POST", restart, NULL, NULL, NULL, &r), 502);
    json_decref(r);
    assert_int_equal(fetch("POST", restart, &resp), 200); /* a page for people */
    assert_non_null(strstr(resp.body, "done, as contact:ann"));
    it_resp_free(&resp);
    assert_int_equal(it_sql_llf("SELECT count(*) FROM action_uses WHERE incident_id = %lld"
                                " AND action = 'restart_app' AND (outcome ->> 'status')::int = 200",
                                inc),
                     1);
    assert_int_equal(it_call(&srv, "POST", restart, NULL, NULL, NULL, &r), 409);
    json_decref(r);
    assert_int_equal(it_sink_count(om, "/om"), 2);
    assert_true(body_has(om, "/om", 1, "restart_app"));
    assert_true(body_has(om, "/om", 1, "\"app_id\":\"api\""));
    sig = it_sink_header(om, "/om", 1, "X-AC-Signature");
    assert_non_null(sig);
    assert_true(strncmp(sig, "sha256=", 7) == 0);
    key = it_sink_header(om, "/om", 0, "Idempotency-Key");
    key2 = it_sink_header(om, "/om", 1, "Idempotency-Key");
    assert_non_null(key);
    assert_string_equal(key, key2);
    assert_int_equal(it_sql_llf("SELECT count(*) FROM audit_log WHERE target_id = '%lld'"
                                " AND action = 'incident.action' AND actor = 'contact:ann'",
                                inc),
                     2);
    free(sig);
    free(key);
    free(key2);
    free(a);
    free(ack);
    free(restart);
    free(bad);
}

static void test_escalation_p3_to_p2_adds_sms(void **state)
{
    char *a, *b;

    (void)state;
    a = fire("ItNotifyEsc", "P3", "esc-1"); /* P3: the room only */
    (void)it_sink_wait_with(chat, "/hook", "ItNotifyEsc", 1, 10000);
    assert_int_equal(it_sink_count_with(gw, "/sms", "ItNotifyEsc"), 0);
    assert_int_equal(it_sink_count_with(chat, "/hook", "ItNotifyEsc"), 1);
    b = fire("ItNotifyEsc", "P3", "esc-2"); /* 2 apps: the type goes to P2 */
    (void)it_sink_wait_with(gw, "/sms", "escalated P3", 1, 10000);
    assert_true(it_sink_count_with(gw, "/sms", "escalated P3") >= 1);
    /* one incident: one raise, told once (ann, by sms), at once */
    assert_int_equal(it_sql_llf("SELECT incident_id FROM alerts WHERE id = %s", a),
                     it_sql_llf("SELECT incident_id FROM alerts WHERE id = %s", b));
    assert_true(it_wait_sql(
        1, 5000,
        "SELECT count(*) FROM notifications WHERE reason = 'escalate'"
        " AND channel = 'text' AND incident_id = (SELECT incident_id FROM alerts WHERE id = %s)",
        a));
    free(a);
    free(b);
}

static void test_chat_down_30s_gets_everything_after(void **state)
{
    int before = it_sink_count_with(chat, "/hook", "ItNotifyOutage");
    char *ids[5];

    (void)state;
    it_proxy_set_down(chat_proxy, true);
    for (int i = 0; i < 5; i++) { /* five types: five incidents */
        char type[32];
        snprintf(type, sizeof(type), "ItNotifyOutage%d", i);
        ids[i] = fire(type, "P3", "out");
    }
    it_quiet_ms(30000); /* the room is down for 30 s: nothing reaches it */
    assert_int_equal(it_sink_count_with(chat, "/hook", "ItNotifyOutage"), before);
    assert_true(it_wait_sql(5, 1000,
                            "SELECT count(*) FROM notifications n JOIN incidents i ON i.id ="
                            " n.incident_id WHERE i.type LIKE 'ItNotifyOutage%%'"
                            " AND n.status = 'pending' AND n.attempts >= 2"));
    it_proxy_set_down(chat_proxy, false);
    (void)it_sink_wait_with(chat, "/hook", "ItNotifyOutage", before + 5, 15000);
    assert_int_equal(it_sink_count_with(chat, "/hook", "ItNotifyOutage"), before + 5);
    for (int i = 0; i < 5; i++) {
        free(ids[i]);
    }
}

/* This instance's room notifications sent so far. */
static double room_sent(const struct it_server *s)
{
    double v = it_metric(
        s, "ac_notification_attempts_total{channel=\"room\",kind=\"webhook\",outcome=\"sent\"}");

    return v < 0 ? 0 : v;
}

/* Two instances on one outbox: each sends while the other is paused
 * (SIGSTOP) and both run in between; forty notifications, each sent once,
 * twenty by each. */
static void test_two_instances_send_each_notification_once(void **state)
{
    struct it_server second;
    char *ids[40];
    int idx[64], n = 0;
    double first0 = room_sent(&srv);

    (void)state;
    it_server_start_config(&second, config, env);
    for (int half = 0; half < 2; half++) {
        /* the first half only the second instance can send, the other only
         * the first */
        struct it_server *on = half ? &srv : &second, *off = half ? &second : &srv;
        assert_int_equal(kill(off->pid, SIGSTOP), 0);
        for (int i = half * 20; i < half * 20 + 20; i++) { /* one incident each */
            char type[32];
            snprintf(type, sizeof(type), "ItNotifyPair%d", i);
            ids[i] = fire_on(on, type, "P3", "pair");
        }
        (void)it_sink_wait_with(chat, "/hook", "ItNotifyPair", half * 20 + 20, 15000);
        assert_int_equal(kill(off->pid, SIGCONT), 0);
    }
    it_quiet_ms(1500); /* both run: a double would come now */
    n = matching(chat, "/hook", "ItNotifyPair", idx, 64);
    assert_int_equal(n, 40);
    for (int i = 0; i < n; i++) { /* forty different keys */
        char *ki = it_sink_header(chat, "/hook", idx[i], "Idempotency-Key");
        for (int j = 0; j < i; j++) {
            char *kj = it_sink_header(chat, "/hook", idx[j], "Idempotency-Key");
            assert_string_not_equal(ki, kj);
            free(kj);
        }
        free(ki);
    }
    assert_int_equal((int)room_sent(&second), 20);
    assert_int_equal((int)(room_sent(&srv) - first0), 20);
    assert_int_equal(it_server_stop(&second), 0);
    for (int i = 0; i < 40; i++) {
        free(ids[i]);
    }
}

/* Repeats: an open, unacknowledged incident is told again every repeat
 * interval (P2: 1 s on a second instance, whose planner makes them), until
 * it is acknowledged. */
static void test_repeats_notify_only_after_the_repeat_interval(void **state)
{
    struct it_server second;
    char *a, *b, cfg2[2048];
    int n;

    (void)state;
    snprintf(cfg2, sizeof(cfg2), "%s", config);
    {
        char *rep = strstr(cfg2, "\"repeat_s\":{\"P1\":0,\"P2\":0");
        assert_non_null(rep);
        rep[strlen("\"repeat_s\":{\"P1\":0,\"P2\":")] = '1';
    }
    it_server_start_config(&second, cfg2, env);
    a = fire("ItNotifyRepeat", "P2", "rep");
    (void)it_sink_wait_with(chat, "/hook", "ItNotifyRepeat", 1, 10000);
    b = fire("ItNotifyRepeat", "P2", "rep"); /* a repeat: folded into the same alert */
    assert_string_equal(a, b);
    it_quiet_ms(300); /* within P2's repeat interval (1 s here): nothing more */
    assert_int_equal(it_sink_count_with(chat, "/hook", "ItNotifyRepeat"), 1);
    (void)it_sink_wait_with(chat, "/hook", "ItNotifyRepeat still open", 2, 10000);
    assert_true(it_sink_count_with(chat, "/hook", "ItNotifyRepeat still open") >= 2);
    ack(a); /* acknowledged: no more */
    it_quiet_ms(500);
    n = it_sink_count_with(chat, "/hook", "ItNotifyRepeat");
    it_quiet_ms(2500);
    assert_int_equal(it_sink_count_with(chat, "/hook", "ItNotifyRepeat"), n);
    assert_int_equal(it_server_stop(&second), 0);
    free(a);
    free(b);
}

static void test_failed_notification_raises_notification_failed_on_fallback(void **state)
{
    char *a;

    const char *failed_attempts =
        "ac_notification_attempts_total{channel=\"dead\",kind=\"webhook\",outcome=\"failed\"}";
    double failed0 = it_metric(&srv, failed_attempts);
    double outbox0 = it_metric(&srv, "ac_outbox_notifications{status=\"failed\"}");

    (void)state;
    assert_true(failed0 >= 0 && outbox0 >= 0);
    it_sink_fail(dead, 1, 400); /* a permanent error: no retry */
    a = fire("ItNotifyRefused", "P3", "ref");
    assert_true(it_wait_sql(1, 10000,
                            "SELECT count(*) FROM notifications WHERE incident_id = (SELECT "
                            "incident_id FROM alerts WHERE id = %s)"
                            " AND channel = 'dead' AND status = 'failed' AND attempts = 1"
                            " AND last_status = 400",
                            a));
    assert_true(it_wait_sql(1, 10000,
                            "SELECT count(*) FROM alerts WHERE type = 'NotificationFailed'"
                            " AND instance = 'dead' AND status = 'firing'"));
    /* told on the fallback channel (the room), not on the failing one */
    (void)it_sink_wait_with(chat, "/hook", "NotificationFailed", 1, 10000);
    assert_int_equal(it_sink_count_with(chat, "/hook", "NotificationFailed"), 1);
    assert_int_equal(it_sink_count_with(dead, "/dead", "NotificationFailed"), 0);
    /* and the outbox says so through the API */
    {
        char path[128];
        json_t *r = NULL, *item;
        snprintf(path, sizeof(path), "/v1/notifications?alert_id=%s&status=failed", a);
        assert_int_equal(it_call(&srv, "GET", path, IT_READ_TOKEN, NULL, NULL, &r), 200);
        assert_int_equal(json_array_size(json_object_get(r, "items")), 1);
        item = json_array_get(json_object_get(r, "items"), 0);
        assert_string_equal(json_string_value(json_object_get(item, "channel")), "dead");
        assert_int_equal(json_integer_value(json_object_get(item, "last_status")), 400);
        json_decref(r);
        assert_int_equal(
            it_call(&srv, "GET", "/v1/notifications?status=lost", IT_READ_TOKEN, NULL, NULL, &r),
            400);
        json_decref(r);
    }
    /* and /metrics: this instance's failed attempt, and the cluster's outbox */
    assert_true(it_metric(&srv, failed_attempts) == failed0 + 1);
    assert_true(it_metric(&srv, "ac_outbox_notifications{status=\"failed\"}") == outbox0 + 1);
    free(a);
}

/* A resolve is told on the channels the alert was notified on - and only
 * those - as resolved; the sends show in /metrics. */
static void test_resolve_is_told_on_the_channels_used(void **state)
{
    const char *sent_sms =
        "ac_notification_attempts_total{channel=\"text\",kind=\"sms\",outcome=\"sent\"}";
    double sms_sent0 = it_metric(&srv, sent_sms);
    int phone0 = it_sink_count(gw, "/phone");
    char *a, path[96];
    json_t *r = NULL;

    (void)state;
    a = fire("ItNotifyFixed", "P2", "fixed"); /* P2: text and room */
    (void)it_sink_wait_with(gw, "/sms", "ItNotifyFixed", 1, 10000);
    (void)it_sink_wait_with(chat, "/hook", "ItNotifyFixed", 1, 10000);
    assert_int_equal(it_sink_count_with(gw, "/sms", "[P2] ItNotifyFixed: 1 alert, 1 app"), 1);
    assert_int_equal(it_sink_count_with(chat, "/hook", "[P2] ItNotifyFixed: 1 alert, 1 app"), 1);
    snprintf(path, sizeof(path), "/v1/alerts/%s/resolve", a);
    assert_int_equal(it_req(&srv, "POST", path, "{}", &r), 200);
    json_decref(r);
    (void)it_sink_wait_with(gw, "/sms", "[RESOLVED] ItNotifyFixed", 1, 10000);
    (void)it_sink_wait_with(chat, "/hook", "[RESOLVED] ItNotifyFixed", 1, 10000);
    assert_int_equal(it_sink_count_with(gw, "/sms", "[RESOLVED] ItNotifyFixed: 1 alert"), 1);
    assert_int_equal(it_sink_count_with(chat, "/hook", "[RESOLVED] ItNotifyFixed: 1 alert"), 1);
    assert_true(body_has(gw, "/sms", it_sink_count(gw, "/sms") - 1, "+8613800000001"));
    it_quiet_ms(500); /* nothing else follows: no phone (not used), no tier */
    assert_int_equal(it_sink_count(gw, "/phone"), phone0);
    assert_int_equal(it_sink_count_with(gw, "/sms", "ItNotifyFixed"), 2);
    assert_int_equal(it_sql_llf("SELECT count(*) FROM notifications WHERE incident_id = (SELECT "
                                "incident_id FROM alerts WHERE id = %s)"
                                " AND reason = 'resolve' AND status = 'sent'",
                                a),
                     2);
    assert_true(it_metric(&srv, sent_sms) >= sms_sent0 + 2);
    /* /metrics wants the read scope */
    assert_int_equal(it_call(&srv, "GET", "/metrics", NULL, NULL, NULL, NULL), 401);
    assert_int_equal(it_call(&srv, "GET", "/metrics", IT_INGEST_TOKEN, NULL, NULL, &r), 403);
    json_decref(r);
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_p1_reaches_phone_sms_chat_and_p4_nothing),
        cmocka_unit_test(test_gateway_errors_are_retried_until_sent_once),
        cmocka_unit_test(test_unacknowledged_p1_reaches_tier_2_and_ack_stops_it),
        cmocka_unit_test(test_silence_holds_and_its_end_resumes),
        cmocka_unit_test(test_action_links_ack_and_forward_and_refuse_tampering),
        cmocka_unit_test(test_escalation_p3_to_p2_adds_sms),
        cmocka_unit_test(test_repeats_notify_only_after_the_repeat_interval),
        cmocka_unit_test(test_failed_notification_raises_notification_failed_on_fallback),
        cmocka_unit_test(test_resolve_is_told_on_the_channels_used),
        cmocka_unit_test(test_two_instances_send_each_notification_once),
        cmocka_unit_test(test_chat_down_30s_gets_everything_after),
    };
    int rc;

    it_init("notify");
    rc = cmocka_run_group_tests_name("integration_notify", tests, setup, teardown);
    it_fini();
    return rc;
}
