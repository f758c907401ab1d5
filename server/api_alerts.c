/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One alert: GET /v1/alerts/{id} with its timeline and related events (the
 * last enrich.context_events events of the same app or resource), and the operator
 * transitions POST /v1/alerts/{id}/ack and /resolve; POST /v1/alerts/ack
 * acknowledges the firing alerts whose latest event matches matchers (up to
 * a limit, oldest first) in one transaction, for what is not one incident. A transition runs in
 * ac_alert_transition() (migrations/functions.sql), which holds the same advisory lock
 * on the alert's fingerprint as ingest, so it never interleaves with a group
 * folding into that alert; each transition is an audit-log entry and so a
 * timeline item.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escalation/notify/plan.h"
#include "schema/event.h"
#include "server/api.h"
#include "server/apikit.h"
#include "server/core/log.h"
#include "server/core/matcher.h"
#include "server/core/mem.h"
#include "server/core/pg.h"
#include "server/server.h"

#define AL_BY_MAX      256
#define AL_COMMENT_MAX 1024

#define SQL_ALERT_GET                                                                              \
    "SELECT (ac_alert_json(a) || jsonb_build_object('inhibited_by', (SELECT"                       \
    " jsonb_build_object('alert_id', i.source_alert_id::text, 'rule_id', i.rule_id::text,"         \
    " 'checked_at', ac_rfc3339(i.checked_at)) FROM alert_inhibitions i JOIN alerts s ON s.id ="    \
    " i.source_alert_id AND s.status <> 'resolved' WHERE i.alert_id = a.id AND a.status <>"        \
    " 'resolved'), 'timeline', ac_alert_timeline(a, $3::boolean),"                                 \
    " 'related', ac_alert_related(a, $2::int)))::text FROM alerts a WHERE a.id = $1::bigint"

#define SQL_TRANSITION "SELECT ac_alert_transition($1::bigint, $2, $3, $4::jsonb)"

/* Answers with the alert and its timeline, read on c. */
static void al_reply_alert(struct ac_http_req *r, PGconn *c, const char *id)
{
    char n[24];
    const char *p[3] = {id, n, r->srv->cfg.mask_addresses ? "true" : "false"};
    PGresult *res;

    (void)snprintf(n, sizeof(n), "%ld", r->srv->cfg.context_events);
    if (!(res = ac_pg_query(c, NULL, SQL_ALERT_GET, 3, p))) {
        ac_api_unavailable(r, c, "alert query");
    }
    else if (PQntuples(res) == 0) {
        ac_api_not_found(r, "alert");
    }
    else {
        ac_api_reply_row(r, res, 200);
    }
    PQclear(res);
}

void ac_api_get_alert(struct ac_http_req *r)
{
    PGconn *c;

    if (!ac_api_is_id(r->path_arg)) {
        ac_api_not_found(r, "alert");
        return;
    }
    if ((c = ac_api_db(r)) != NULL) {
        al_reply_alert(r, c, r->path_arg);
        ac_api_db_release(r, c);
    }
}

/*
 * Who acts, from a body's optional "by" and "comment" (body: an object, or
 * NULL): problems appended to errs; when errs is then empty (nothing else is
 * wrong either), *actor ("user:<by>", else the token's) and *details
 * ({comment, token}) are set (new).
 */
static void al_who(const struct ac_http_req *r, const json_t *body, json_t *errs, char **actor,
                   json_t **details)
{
    static const struct {
        const char *key, *path;
        size_t max, min;
    } fields[] = {{"by", "$.by", AL_BY_MAX, 1}, {"comment", "$.comment", AL_COMMENT_MAX, 0}};
    const char *v[2] = {NULL, NULL};

    for (int i = 0; i < 2; i++) {
        const json_t *j = json_object_get(body, fields[i].key);
        if (!j) {
            continue;
        }
        v[i] = json_string_value(j);
        if (!v[i] || ac_utf8_len(v[i]) > fields[i].max || json_string_length(j) < fields[i].min) {
            ac_event_error(errs, -1, fields[i].path, "must be a string of at most %zu characters",
                           fields[i].max);
        }
    }
    if (json_array_size(errs) == 0) {
        /* The named person when given, else the token that authenticated. */
        *actor = v[0] ? ac_xasprintf("user:%s", v[0]) : ac_api_actor(r);
        *details = json_pack("{s:s?, s:s?}", "comment", v[1], "token", r->principal);
    }
}

bool ac_api_transition_body(struct ac_http_req *r, char **actor, json_t **details)
{
    static const char *const keys[] = {"by", "comment", NULL};
    json_t *body = NULL, *errs = json_array();
    json_error_t jerr;

    if (r->body_len > 0) {
        body = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
        if (!body || !json_is_object(body)) {
            ac_event_error(errs, -1, "$", "the body must be a JSON object: %s",
                           body ? "not an object" : jerr.text);
        }
        else {
            (void)ac_json_only_keys(body, keys, "unknown field", errs);
        }
    }
    al_who(r, json_is_object(body) ? body : NULL, errs, actor, details);
    json_decref(body);
    if (json_array_size(errs) > 0) {
        ac_http_reply_error(r, 400, "invalid_request", "the request body is not valid", errs);
        return false;
    }
    json_decref(errs);
    return true;
}

void ac_api_transition(struct ac_http_req *r, const char *what, const char *sql, const char *action,
                       void (*reply)(struct ac_http_req *r, PGconn *c, const char *id))
{
    char *actor = NULL, *details_s = NULL;
    json_t *details = NULL;
    const char *p[4];
    PGresult *res = NULL;
    PGconn *c = NULL;
    const char *outcome;

    if (!ac_api_is_id(r->path_arg)) {
        ac_api_not_found(r, what);
        return;
    }
    if (!ac_api_transition_body(r, &actor, &details)) {
        return;
    }
    details_s = json_dumps(details, JSON_COMPACT);
    if ((c = ac_api_db(r)) == NULL) {
        goto cleanup;
    }
    p[0] = r->path_arg;
    p[1] = action;
    p[2] = actor;
    p[3] = details_s;
    if (!(res = ac_pg_query(c, NULL, sql, 4, p))) {
        ac_api_unavailable(r, c, "transition");
        goto cleanup;
    }
    outcome = PQgetvalue(res, 0, 0);
    if (strcmp(outcome, "ok") == 0) {
        ac_log(AC_LOG_INFO, "api", "%s %s: %s by %s", what, action, r->path_arg, actor);
        reply(r, c, r->path_arg);
    }
    else if (strcmp(outcome, "not_found") == 0) {
        ac_api_not_found(r, what);
    }
    else {
        char *msg = ac_xasprintf("the %s is %s; it cannot be %s", what, outcome,
                                 strcmp(action, "ack") == 0 ? "acknowledged" : "resolved");
        ac_http_reply_error(r, 409, "conflict", msg, NULL);
        free(msg);
    }
cleanup:
    PQclear(res);
    ac_api_db_release(r, c);
    free(actor);
    free(details_s);
    json_decref(details);
}

void ac_api_alert_ack(struct ac_http_req *r)
{
    ac_api_transition(r, "alert", SQL_TRANSITION, "ack", al_reply_alert);
}

void ac_api_alert_resolve(struct ac_http_req *r)
{
    ac_api_transition(r, "alert", SQL_TRANSITION, "resolve", al_reply_alert);
}

/* --- POST /v1/alerts/ack: acknowledge by matchers --------------------------- */

#define AL_BULK_DEFAULT 100
#define AL_BULK_MAX     10000
/* Firing alerts looked at per page, oldest first. */
#define AL_BULK_PAGE 1000

#define SQL_BULK_PAGE                                                                              \
    "SELECT a.id, ac_alert_json(a)::text FROM alerts a WHERE a.status = 'firing'"                  \
    " AND a.id > $1::bigint ORDER BY a.id LIMIT $2::int"
/* The ids acknowledged, as a JSON array of strings. */
#define SQL_BULK_ACK                                                                               \
    "SELECT coalesce(json_agg(x::text ORDER BY x), '[]')::text"                                    \
    " FROM unnest(ac_alerts_ack($1::bigint[], $2, $3::jsonb)) AS x"

/* Parses {"matchers", "limit"?, "all"?, "by"?, "comment"?}: false after
 * answering 400. */
static bool al_bulk_parse(struct ac_http_req *r, struct ac_matchers *ms, long *limit, char **actor,
                          json_t **details)
{
    static const char *const keys[] = {"matchers", "limit", "all", "by", "comment", NULL};
    json_error_t jerr;
    json_t *body = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *errs = json_array(), *lim;
    struct ac_event none = {0};
    bool ok = false;

    memset(ms, 0, sizeof(*ms));
    if (!json_is_object(body)) {
        ac_event_error(errs, -1, "$", "the body must be a JSON object");
        goto out;
    }
    (void)ac_json_only_keys(body, keys, "unknown field", errs);
    if (ac_matchers_from_json(ms, json_object_get(body, "matchers"), "$.matchers", errs) != AC_OK) {
        goto out;
    }
    if (ac_matchers_match(ms, &none) && !json_is_true(json_object_get(body, "all"))) {
        ac_event_error(errs, -1, "$.matchers",
                       "would match every alert (no matcher needs a value); narrow them or set"
                       " \"all\": true");
    }
    lim = json_object_get(body, "limit");
    *limit = lim ? (long)json_integer_value(lim) : AL_BULK_DEFAULT;
    if (lim && (!json_is_integer(lim) || *limit < 1 || *limit > AL_BULK_MAX)) {
        ac_event_error(errs, -1, "$.limit", "must be 1..%d", AL_BULK_MAX);
    }
    al_who(r, body, errs, actor, details);
    ok = json_array_size(errs) == 0;
    if (ok) {
        (void)json_object_set(*details, "matchers", json_object_get(body, "matchers"));
    }
out:
    if (!ok) {
        ac_matchers_deinit(ms);
        ac_http_reply_error(r, 400, "invalid_request", "the request body is not valid", errs);
        errs = NULL;
    }
    json_decref(errs);
    json_decref(body);
    return ok;
}

/* The ids (array literal into ids) of up to limit firing alerts whose latest
 * event ms matches, oldest first; how many. -1 on a database error. */
static long al_bulk_select(PGconn *c, const struct ac_matchers *ms, long limit, struct ac_buf *ids)
{
    char after[24] = "0", page[16];
    const char *p[2] = {after, page};
    long n = 0;

    (void)snprintf(page, sizeof(page), "%d", AL_BULK_PAGE);
    for (;;) {
        PGresult *res = ac_pg_query(c, "api", SQL_BULK_PAGE, 2, p);
        int rows = res ? PQntuples(res) : -1;
        for (int i = 0; i < rows && n < limit; i++) {
            json_t *a = json_loads(PQgetvalue(res, i, 1), 0, NULL);
            struct ac_event ev;
            if (a && ac_plan_latest_event(a, &ev)) {
                if (ac_matchers_match(ms, &ev)) {
                    ac_pg_array_add(ids, PQgetvalue(res, i, 0));
                    n++;
                }
                ac_event_deinit(&ev);
            }
            json_decref(a);
        }
        if (rows > 0) {
            (void)snprintf(after, sizeof(after), "%s", PQgetvalue(res, rows - 1, 0));
        }
        PQclear(res);
        if (rows < 0) {
            return -1;
        }
        if (rows < AL_BULK_PAGE || n >= limit) {
            return n;
        }
    }
}

void ac_api_alerts_ack(struct ac_http_req *r)
{
    struct ac_matchers ms;
    struct ac_buf ids = {0};
    json_t *details = NULL, *done;
    char *actor = NULL, *ds = NULL;
    PGconn *c = NULL;
    PGresult *res = NULL;
    const char *p[3];
    long matched;

    if (!al_bulk_parse(r, &ms, &matched, &actor, &details)) {
        return;
    }
    if (!(c = ac_api_db(r))) {
        goto out;
    }
    if ((matched = al_bulk_select(c, &ms, matched, &ids)) < 0) {
        ac_api_unavailable(r, c, "bulk ack");
        goto out;
    }
    ac_pg_array_close(&ids);
    ds = json_dumps(details, JSON_COMPACT);
    p[0] = ids.data;
    p[1] = actor;
    p[2] = ds;
    if (!(res = ac_pg_query(c, "api", SQL_BULK_ACK, 3, p))) {
        ac_api_unavailable(r, c, "bulk ack");
        goto out;
    }
    done = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    done = done ? done : json_array();
    ac_log(AC_LOG_INFO, "api", "alerts ack by %s: %zu of %ld matched", actor, json_array_size(done),
           matched);
    ac_http_reply_json(r, 200,
                       json_pack("{s:I, s:I, s:o}", "matched", (json_int_t)matched, "acknowledged",
                                 (json_int_t)json_array_size(done), "alert_ids", done));
out:
    PQclear(res);
    ac_api_db_release(r, c);
    ac_matchers_deinit(&ms);
    ac_buf_deinit(&ids);
    json_decref(details);
    free(actor);
    free(ds);
}
