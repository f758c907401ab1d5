/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /v1/actions/{token}: the ChatOps buttons (DESIGN §6). The token is the
 * authorization (escalation/notify/action.h): forged, altered or expired ->
 * 403 and nothing done.
 *
 * GET (and HEAD) only show what the link would do - to which incident, as
 * whom - as a small page with a confirmation button, or, once used, what
 * was done, by whom and when. Link previewers and chat unfurlers fetch
 * links; they must not act. The POST from that page acts, once: the link is
 * claimed in action_uses (migrations/0019) in the transaction that acts, so
 * a second POST answers 409 with the first use. Acknowledge and resolve act
 * on the whole incident (ac_incident_transition); silence holds it for an
 * hour; stop diagnosis, restart app and delete instance are forwarded,
 * signed, to the O&M webhook with an Idempotency-Key derived from the link
 * (a retry after a refusal reuses it) and its answer shown. Every action is
 * an audit-log entry naming the contact the link was sent to.
 *
 * Answers are HTML for people, JSON for clients that Accept it.
 */
#include <curl/curl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escalation/notify/action.h"
#include "schema/fingerprint.h"
#include "schema/timefmt.h"
#include "server/api.h"
#include "server/apikit.h"
#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/core/pg.h"
#include "server/server.h"

#define ACT_RESULT_MAX 4096

#define SQL_ACT_WHO                                                                                \
    "SELECT coalesce((SELECT 'contact:' || name FROM contacts WHERE id = $1::bigint),"             \
    " 'contact:' || $1)"
/* The incident, with its oldest open alert (what O&M actions act on). */
#define SQL_ACT_INCIDENT                                                                           \
    "SELECT (ac_incident_json(i) || jsonb_build_object('first_alert', (SELECT ac_alert_json(a)"    \
    " FROM alerts a WHERE a.incident_id = i.id ORDER BY a.status = 'resolved', a.id LIMIT 1)))"    \
    "::text FROM incidents i WHERE i.id = $1::bigint"
#define SQL_ACT_USE                                                                                \
    "SELECT actor, ac_rfc3339(used_at), outcome::text FROM action_uses WHERE link_hash = $1"
#define SQL_ACT_CLAIM                                                                              \
    "INSERT INTO action_uses (link_hash, incident_id, action, actor) VALUES ($1, $2::bigint, $3,"  \
    " $4) ON CONFLICT (link_hash) DO NOTHING RETURNING 1"
#define SQL_ACT_OUTCOME    "UPDATE action_uses SET outcome = $2::jsonb WHERE link_hash = $1"
#define SQL_ACT_RELEASE    "DELETE FROM action_uses WHERE link_hash = $1"
#define SQL_ACT_TRANSITION "SELECT * FROM ac_incident_transition($1::bigint, $2, $3, $4::jsonb)"
#define SQL_ACT_SILENCE                                                                            \
    "WITH s AS (INSERT INTO silences (incident_id, ends_at, comment, created_by) SELECT i.id,"     \
    " now() + interval '1 hour', 'from a chat action', $2 FROM incidents i"                        \
    " WHERE i.id = $1::bigint RETURNING *), a AS (INSERT INTO audit_log (actor, action,"           \
    " target_type, target_id, details) SELECT $2, 'silence.create', 'silence', s.id::text,"        \
    " ac_silence_json(s) FROM s) SELECT s.id FROM s"
#define SQL_ACT_AUDIT                                                                              \
    "INSERT INTO audit_log (actor, action, target_type, target_id, details, after)"                \
    " VALUES ($1, 'incident.action', 'incident', $2, $3::jsonb, $3::jsonb)"

static const char *const act_verbs[AC_ACTION_COUNT] = {
    [AC_ACTION_ACK] = "Acknowledge",
    [AC_ACTION_RESOLVE] = "Resolve",
    [AC_ACTION_SILENCE] = "Silence for one hour",
    [AC_ACTION_STOP_DIAGNOSIS] = "Stop the diagnosis of",
    [AC_ACTION_RESTART_APP] = "Restart the application of",
    [AC_ACTION_DELETE_INSTANCE] = "Delete the instance of",
};

/* One use of a link, as the handlers pass it around. */
struct act_ctx {
    struct ac_action_link l;
    char incident[24];
    char hash[65]; /* hex SHA-256 of the token */
    char *who;     /* "contact:<name>", or "chat" */
    json_t *inc;   /* the incident resource, or NULL */
    bool json;     /* the client wants JSON */
};

static void act_hash(const char *token, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    (void)EVP_Digest(token, strlen(token), md, &n, EVP_sha256(), NULL);
    ac_hex(md, n < 32 ? n : 32, out);
}

/* Appends s to b, HTML-escaped. */
static void act_html_text(struct ac_buf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
            case '<':
                ac_buf_appends(b, "&lt;");
                break;
            case '>':
                ac_buf_appends(b, "&gt;");
                break;
            case '&':
                ac_buf_appends(b, "&amp;");
                break;
            case '"':
                ac_buf_appends(b, "&quot;");
                break;
            case '\'':
                ac_buf_appends(b, "&#39;");
                break;
            default:
                ac_buf_append(b, s, 1);
        }
    }
}

/* Answers a page: heading, paragraphs (text, escaped), and a confirmation
 * form when confirm. */
static void act_page(struct ac_http_req *r, unsigned status, const char *heading,
                     const char *const *paras, const char *confirm)
{
    struct ac_buf b = {0};

    ac_buf_appends(&b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                       "<meta name=\"viewport\" content=\"width=device-width\">"
                       "<meta name=\"robots\" content=\"noindex\"><title>");
    act_html_text(&b, heading);
    ac_buf_appends(&b, "</title></head>\n<body style=\"font-family:sans-serif;max-width:40em;"
                       "margin:2em auto\"><h1>");
    act_html_text(&b, heading);
    ac_buf_appends(&b, "</h1>\n");
    for (; paras && *paras; paras++) {
        ac_buf_appends(&b, "<p>");
        act_html_text(&b, *paras);
        ac_buf_appends(&b, "</p>\n");
    }
    if (confirm) {
        ac_buf_appends(&b, "<form method=\"post\"><button type=\"submit\">");
        act_html_text(&b, confirm);
        ac_buf_appends(&b, "</button></form>\n");
    }
    ac_buf_appends(&b, "</body></html>\n");
    {
        size_t len = b.len;
        ac_http_reply_text(r, status, ac_buf_steal(&b), len, "text/html; charset=utf-8");
    }
    ac_http_add_header(r, "Cache-Control", "no-store");
    ac_http_add_header(r, "Content-Security-Policy",
                       "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'");
    ac_buf_deinit(&b);
}

/* Answers a JSON body or its page (heading and one line from msg). */
static void act_reply(struct ac_http_req *r, const struct act_ctx *a, unsigned status, json_t *body,
                      const char *heading, const char *msg)
{
    if (a->json) {
        ac_http_reply_json(r, status, body);
        return;
    }
    {
        const char *paras[2] = {msg, NULL};
        act_page(r, status, heading, paras, NULL);
    }
    json_decref(body);
}

/* "[P1] ItStorm: 200 alerts, open" (new). */
static char *act_describe(const json_t *inc)
{
    return ac_xasprintf("[%s] %s: %lld alert(s), %s",
                        json_string_value(json_object_get(inc, "level")),
                        json_string_value(json_object_get(inc, "title")),
                        (long long)json_integer_value(json_object_get(inc, "alerts")),
                        json_string_value(json_object_get(inc, "status")));
}

/* Verifies the token and loads who and the incident. false after answering. */
static bool act_load(struct ac_http_req *r, PGconn **c, struct act_ctx *a)
{
    const struct ac_notify_config *nc = &r->srv->notify;
    const char *accept = ac_http_header(r, "Accept");
    enum ac_action_check chk;
    char contact[24];
    const char *p[1];
    PGresult *res;

    memset(a, 0, sizeof(*a));
    a->json = accept && strstr(accept, "application/json") && !strstr(accept, "text/html");
    if (!nc->action_secret) {
        ac_http_reply_error(r, 404, "not_found", "action links are not configured", NULL);
        return false;
    }
    chk = ac_action_verify(nc->action_secret, r->path_arg, ac_time_now_us() / 1000000, &a->l);
    if (chk != AC_ACTION_OK) {
        ac_log(AC_LOG_WARN, "api", "action link refused: %s",
               chk == AC_ACTION_EXPIRED ? "expired" : "forged or altered");
        ac_http_reply_error(r, 403, "forbidden",
                            chk == AC_ACTION_EXPIRED ? "this action link has expired"
                                                     : "this action link is not valid",
                            NULL);
        return false;
    }
    if (ac_action_is_om(a->l.action) && !nc->om.ops) {
        ac_http_reply_error(r, 404, "not_found", "no O&M webhook is configured", NULL);
        return false;
    }
    if (!(*c = ac_api_db(r))) {
        return false;
    }
    act_hash(r->path_arg, a->hash);
    (void)snprintf(a->incident, sizeof(a->incident), "%lld", (long long)a->l.incident);
    (void)snprintf(contact, sizeof(contact), "%lld", (long long)a->l.contact);
    p[0] = contact;
    res = ac_pg_query(*c, "api", SQL_ACT_WHO, 1, p);
    a->who = ac_xstrdup(res && a->l.contact ? PQgetvalue(res, 0, 0) : "chat");
    PQclear(res);
    p[0] = a->incident;
    if (!(res = ac_pg_query(*c, "api", SQL_ACT_INCIDENT, 1, p))) {
        ac_api_unavailable(r, *c, "action link");
        return false;
    }
    a->inc = PQntuples(res) ? json_loads(PQgetvalue(res, 0, 0), 0, NULL) : NULL;
    PQclear(res);
    if (!a->inc) {
        ac_api_not_found(r, "incident");
        return false;
    }
    return true;
}

static void act_free(struct act_ctx *a)
{
    free(a->who);
    json_decref(a->inc);
}

/* The link's first use, if any: answers 409 (or, for a GET, 200) with it and
 * returns true. */
static bool act_used(struct ac_http_req *r, PGconn *c, const struct act_ctx *a, unsigned status)
{
    const char *p[1] = {a->hash};
    PGresult *res = ac_pg_query(c, "api", SQL_ACT_USE, 1, p);
    char *msg;

    if (!res || PQntuples(res) == 0) {
        PQclear(res);
        return false;
    }
    msg = ac_xasprintf("%s was done on incident %s by %s at %s; this link works once.",
                       act_verbs[a->l.action], a->incident, PQgetvalue(res, 0, 0),
                       PQgetvalue(res, 0, 1));
    act_reply(r, a, status,
              json_pack("{s:b, s:s, s:s, s:s, s:s, s:o}", "used", 1, "action",
                        ac_action_name(a->l.action), "incident_id", a->incident, "by",
                        PQgetvalue(res, 0, 0), "at", PQgetvalue(res, 0, 1), "outcome",
                        json_loads(PQgetvalue(res, 0, 2), 0, NULL) ?: json_object()),
              "Already done", msg);
    free(msg);
    PQclear(res);
    return true;
}

/* GET: what the link would do; nothing changes. */
void ac_api_action(struct ac_http_req *r)
{
    struct act_ctx a;
    PGconn *c = NULL;
    char *what = NULL, *as = NULL, *heading = NULL;

    if (!act_load(r, &c, &a)) {
        goto out;
    }
    if (act_used(r, c, &a, 200)) {
        goto out;
    }
    what = act_describe(a.inc);
    heading = ac_xasprintf("%s incident %s?", act_verbs[a.l.action], a.incident);
    as = ac_xasprintf("As %s. Nothing has been done yet: confirm below. The link works once.",
                      a.who);
    if (a.json) {
        ac_http_reply_json(r, 200,
                           json_pack("{s:b, s:s, s:s, s:O, s:s, s:s}", "used", 0, "action",
                                     ac_action_name(a.l.action), "incident_id", a.incident,
                                     "incident", a.inc, "by", a.who, "confirm", "POST"));
    }
    else {
        const char *paras[3] = {what, as, NULL};
        act_page(r, 200, heading, paras, act_verbs[a.l.action]);
    }
out:
    free(what);
    free(as);
    free(heading);
    act_free(&a);
    ac_api_db_release(r, c);
}

/* Forwards an O&M action; fills status and the answer. */
static int act_forward(const struct ac_channel *om, json_t *ctx, const char *key, long *status,
                       char **answer)
{
    struct ac_http_out out = {0};
    struct ac_http_answer resp = {.max = ACT_RESULT_MAX};
    struct curl_slist *h;
    CURL *c;
    CURLcode rc;

    *status = 0;
    (void)json_object_set_new(ctx, "notification", json_pack("{s:s}", "key", key));
    if (ac_channel_build(om, ctx, ac_time_now_us() / 1000, &out) != AC_OK) {
        *answer = ac_xstrdup("the request could not be built");
        return AC_EINVAL;
    }
    c = ac_channel_easy(om, &out, &resp, &h);
    rc = curl_easy_perform(c);
    if (rc == CURLE_OK) {
        (void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    }
    *answer = rc == CURLE_OK ? (resp.body.data ? ac_buf_steal(&resp.body) : ac_xstrdup(""))
                             : ac_xstrdup(curl_easy_strerror(rc));
    ac_buf_deinit(&resp.body);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    ac_http_out_deinit(&out);
    return rc == CURLE_OK && *status >= 200 && *status < 300 ? AC_OK : AC_EAGAIN;
}

/* Claims the link on c (in the caller's transaction). 1 claimed, 0 used
 * before, -1 failed. */
static int act_claim(PGconn *c, const struct act_ctx *a)
{
    const char *p[4] = {a->hash, a->incident, ac_action_name(a->l.action), a->who};
    PGresult *res = ac_pg_query(c, "api", SQL_ACT_CLAIM, 4, p);
    int rc = res ? PQntuples(res) == 1 : -1;

    PQclear(res);
    return rc;
}

/* Acknowledge, resolve or silence, with the claim, in one transaction.
 * Returns the HTTP status (out filled) or 0 after answering. */
static unsigned act_local(struct ac_http_req *r, PGconn *c, const struct act_ctx *a, json_t *out)
{
    const char *p[4];
    PGresult *res = NULL;
    int claimed;
    unsigned st = 0;

    if (!ac_pg_begin(c, "api") || (claimed = act_claim(c, a)) < 0) {
        ac_pg_rollback(c);
        ac_api_unavailable(r, c, "action");
        return 0;
    }
    if (claimed == 0) {
        ac_pg_rollback(c);
        if (!act_used(r, c, a, 409)) {
            ac_api_unavailable(r, c, "action");
        }
        return 0;
    }
    p[0] = a->incident;
    if (a->l.action == AC_ACTION_SILENCE) {
        p[1] = a->who;
        res = ac_pg_query(c, "api", SQL_ACT_SILENCE, 2, p);
        if (res && PQntuples(res) == 1) {
            (void)json_object_set_new(out, "silence_id", json_string(PQgetvalue(res, 0, 0)));
            st = 200;
        }
    }
    else {
        p[1] = a->l.action == AC_ACTION_ACK ? "ack" : "resolve";
        p[2] = a->who;
        p[3] = "{\"via\":\"action link\"}";
        res = ac_pg_query(c, "api", SQL_ACT_TRANSITION, 4, p);
        if (res && strcmp(PQgetvalue(res, 0, 0), "ok") == 0) {
            (void)json_object_set_new(out, "alerts",
                                      json_integer(strtoll(PQgetvalue(res, 0, 1), NULL, 10)));
            st = 200;
        }
        else if (res) {
            (void)json_object_set_new(
                out, "error", json_sprintf("the incident is %s already", PQgetvalue(res, 0, 0)));
            st = 409;
        }
    }
    PQclear(res);
    if (st == 200) {
        char *o = json_dumps(out, JSON_COMPACT);
        const char *q[2] = {a->hash, o};
        bool ok = ac_pg_run(c, "api", SQL_ACT_OUTCOME, 2, q) && ac_pg_commit(c, "api");
        free(o);
        if (ok) {
            return 200;
        }
    }
    ac_pg_rollback(c);
    if (st == 0) {
        ac_api_unavailable(r, c, "action");
    }
    return st;
}

/* An O&M action: claimed first (committed), forwarded, the outcome recorded;
 * released again if the webhook refused it. Returns the HTTP status or 0
 * after answering. */
static unsigned act_om(struct ac_http_req *r, PGconn *c, const struct act_ctx *a, json_t *out)
{
    const struct ac_notify_config *nc = &r->srv->notify;
    json_t *ctx, *details;
    const char *p[3];
    char key[48], *answer = NULL, *ds;
    long status = 0;
    int claimed = act_claim(c, a), rc;

    if (claimed <= 0) {
        if (claimed < 0 || !act_used(r, c, a, 409)) {
            ac_api_unavailable(r, c, "action");
        }
        return 0;
    }
    /* the same key for every try of this link: the O&M side acts once */
    (void)snprintf(key, sizeof(key), "act-%.40s", a->hash);
    ctx =
        json_pack("{s:s, s:O, s:O, s:s}", "action", ac_action_name(a->l.action), "incident", a->inc,
                  "alert", json_object_get(a->inc, "first_alert") ?: json_null(), "by", a->who);
    rc = act_forward(&nc->om, ctx, key, &status, &answer);
    json_decref(ctx);
    details = json_pack("{s:s, s:i, s:s, s:s}", "action", ac_action_name(a->l.action), "status",
                        (json_int_t)status, "answer", answer ? answer : "", "idempotency_key", key);
    ds = json_dumps(details, JSON_COMPACT);
    p[0] = a->who;
    p[1] = a->incident;
    p[2] = ds;
    (void)ac_pg_run(c, "api", SQL_ACT_AUDIT, 3, p);
    p[0] = a->hash;
    p[1] = ds;
    (void)ac_pg_run(c, "api", rc == AC_OK ? SQL_ACT_OUTCOME : SQL_ACT_RELEASE, rc == AC_OK ? 2 : 1,
                    p);
    free(ds);
    free(answer);
    (void)json_object_set_new(out, "result", details);
    return rc == AC_OK ? 200 : 502;
}

/* POST: acts, once. */
void ac_api_action_post(struct ac_http_req *r)
{
    struct act_ctx a;
    PGconn *c = NULL;
    json_t *out = NULL;
    unsigned st;

    if (!act_load(r, &c, &a)) {
        goto cleanup;
    }
    out = json_pack("{s:s, s:s, s:s}", "action", ac_action_name(a.l.action), "incident_id",
                    a.incident, "by", a.who);
    st = ac_action_is_om(a.l.action) ? act_om(r, c, &a, out) : act_local(r, c, &a, out);
    if (st == 0) {
        goto cleanup;
    }
    ac_log(AC_LOG_INFO, "api", "action %s on incident %s by %s: %u", ac_action_name(a.l.action),
           a.incident, a.who, st);
    (void)json_object_set_new(out, "ok", json_boolean(st == 200));
    {
        char *why = json_dumps(json_object_get(out, "error") ?: json_object_get(out, "result"),
                               JSON_COMPACT | JSON_ENCODE_ANY);
        char *msg = st == 200 ? ac_xasprintf("%s incident %s: done, as %s.", act_verbs[a.l.action],
                                             a.incident, a.who)
                              : ac_xasprintf("%s incident %s failed: %s", act_verbs[a.l.action],
                                             a.incident, why ? why : "");
        act_reply(r, &a, st, out, st == 200 ? "Done" : "Not done", msg);
        out = NULL;
        free(msg);
        free(why);
    }
cleanup:
    json_decref(out);
    act_free(&a);
    ac_api_db_release(r, c);
}
