/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /v1/silences (DESIGN §6): GET lists them, newest first (scope read;
 * ?state=active, the default, or all), POST creates one and DELETE ends one
 * now (scope operate). A silence is
 *   {"matchers": [...], "alert_id"?, "starts_at"?, "ends_at"? | "duration_s"?
 *    | "until_resolved": true, "comment"?}
 * with matchers (as filter rules) or an alert id or both - never neither, which
 * would silence everything - and an end: a time, a duration, or until the
 * named alert resolves. Every change is an audit-log entry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/timefmt.h"
#include "server/api.h"
#include "server/core/log.h"
#include "server/core/matcher.h"
#include "server/core/mem.h"
#include "server/core/pg.h"
#include "server/server.h"

#define SL_MAX_S (366LL * 86400)

#define SQL_SL_LIST                                                                                \
    "SELECT ac_silence_json(s)::text, s.id FROM silences s WHERE ($1::bigint IS NULL OR"           \
    " s.id < $1) AND ($3 = 'all' OR (s.expired_at IS NULL AND (s.ends_at IS NULL OR"               \
    " s.ends_at > now()))) ORDER BY s.id DESC LIMIT $2"
#define SQL_SL_INSERT                                                                              \
    "WITH s AS (INSERT INTO silences (matchers, alert_id, starts_at, ends_at, until_resolved,"     \
    " comment, created_by) VALUES ($1::jsonb, $2::bigint, coalesce($3::timestamptz, now()),"       \
    " $4::timestamptz, $5::boolean, $6, $7) RETURNING *),"                                         \
    " a AS (INSERT INTO audit_log (actor, action, target_type, target_id, details)"                \
    " SELECT $7, 'silence.create', 'silence', s.id::text, ac_silence_json(s) FROM s)"              \
    " SELECT ac_silence_json(s)::text FROM s"
#define SQL_SL_EXPIRE                                                                              \
    "WITH s AS (UPDATE silences SET expired_at = clock_timestamp() WHERE id = $1::bigint"          \
    " AND expired_at IS NULL RETURNING *),"                                                        \
    " a AS (INSERT INTO audit_log (actor, action, target_type, target_id, details)"                \
    " SELECT $2, 'silence.expire', 'silence', s.id::text, ac_silence_json(s) FROM s)"              \
    " SELECT ac_silence_json(s)::text FROM s"

static void sl_unavailable(struct ac_http_req *r)
{
    ac_http_reply_error(r, 503, "unavailable", "the database is unavailable; retry", NULL);
}

static void sl_list(struct ac_http_req *r)
{
    static const char *const allowed[] = {"limit", "cursor", "state", NULL};
    const char *state = ac_http_arg(r, "state");
    char after[AC_API_CURSOR_MAX], lim[24];
    const char *p[3] = {NULL, lim, state ? state : "active"};
    long limit;
    PGconn *c;
    PGresult *res;

    if (!ac_api_page_params(r, allowed, &limit, after, sizeof(after))) {
        return;
    }
    if (state && strcmp(state, "active") != 0 && strcmp(state, "all") != 0) {
        ac_api_bad_query(r, "state", "must be active or all");
        return;
    }
    p[0] = after[0] ? after : NULL;
    (void)snprintf(lim, sizeof(lim), "%ld", limit + 1);
    if (!(c = ac_pg_pool_acquire(r->srv->pool, 5000))) {
        sl_unavailable(r);
        return;
    }
    res = PQexecParams(c, SQL_SL_LIST, 3, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        ac_log(AC_LOG_ERROR, "api", "silences list failed: %s", PQerrorMessage(c));
        sl_unavailable(r);
    }
    else {
        ac_api_reply_page(r, res, limit);
    }
    PQclear(res);
    ac_pg_pool_release(r->srv->pool, c);
}

/* Runs a statement answering one silence (status on success, 404 on none). */
static void sl_run(struct ac_http_req *r, const char *sql, int n, const char *const *p,
                   unsigned status)
{
    PGconn *c = ac_pg_pool_acquire(r->srv->pool, 5000);
    PGresult *res;

    if (!c) {
        sl_unavailable(r);
        return;
    }
    res = PQexecParams(c, sql, n, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        ac_log(AC_LOG_ERROR, "api", "silence statement failed: %s", PQerrorMessage(c));
        sl_unavailable(r);
    }
    else if (PQntuples(res) == 0) {
        ac_http_reply_error(r, 404, "not_found", "no such active silence", NULL);
    }
    else {
        json_t *j = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
        ac_http_reply_json(r, status, j ? j : json_object());
    }
    PQclear(res);
    ac_pg_pool_release(r->srv->pool, c);
}

static void sl_create(struct ac_http_req *r)
{
    static const char *const keys[] = {"matchers",   "alert_id",       "starts_at", "ends_at",
                                       "duration_s", "until_resolved", "comment",   NULL};
    json_error_t jerr;
    json_t *body = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *errs = json_array(), *v;
    const json_t *ms = NULL, *aid, *dur;
    struct ac_matchers m;
    const char *k, *starts, *ends, *comment, *alert = NULL;
    int64_t t0 = ac_time_now_us(), t1 = 0;
    bool until;
    char *mtext = NULL, *actor = NULL, ends_buf[AC_TIME_STRLEN];
    const char *p[7];

    if (!body || !json_is_object(body)) {
        ac_event_error(errs, -1, "$", "must be a JSON object%s%s", body ? "" : ": ",
                       body ? "" : jerr.text);
        goto bad;
    }
    json_object_foreach(body, k, v)
    {
        bool known = false;
        for (const char *const *q = keys; *q && !known; q++) {
            known = strcmp(*q, k) == 0;
        }
        if (!known) {
            char path[120];
            (void)snprintf(path, sizeof(path), "$.%.100s", k);
            ac_event_error(errs, -1, path, "is not a field of a silence");
        }
    }
    ms = json_object_get(body, "matchers");
    aid = json_object_get(body, "alert_id");
    starts = json_string_value(json_object_get(body, "starts_at"));
    ends = json_string_value(json_object_get(body, "ends_at"));
    dur = json_object_get(body, "duration_s");
    comment = json_string_value(json_object_get(body, "comment"));
    until = json_is_true(json_object_get(body, "until_resolved"));
    if (ms && (!json_is_array(ms) || ac_matchers_from_json(&m, ms, "$.matchers", errs) != AC_OK)) {
        if (!json_is_array(ms)) {
            ac_event_error(errs, -1, "$.matchers", "must be a list of matchers");
        }
        ms = NULL;
    }
    else if (ms) {
        ac_matchers_deinit(&m);
    }
    if (aid) {
        alert = json_string_value(aid);
        if (!alert || !ac_api_is_id(alert)) {
            ac_event_error(errs, -1, "$.alert_id", "must be an alert id (a string of digits)");
            alert = NULL;
        }
    }
    if ((!ms || json_array_size(ms) == 0) && !aid) {
        ac_event_error(errs, -1, "$", "needs matchers or an alert_id (it would silence all)");
    }
    if (starts && !ac_time_parse(starts, &t0)) {
        ac_event_error(errs, -1, "$.starts_at", "must be an RFC 3339 time");
    }
    if (!!ends + !!dur + until != 1) {
        ac_event_error(errs, -1, "$", "give exactly one of ends_at, duration_s, until_resolved");
    }
    else if (ends && !ac_time_parse(ends, &t1)) {
        ac_event_error(errs, -1, "$.ends_at", "must be an RFC 3339 time");
    }
    else if (dur) {
        if (!json_is_integer(dur) || json_integer_value(dur) < 1 ||
            json_integer_value(dur) > SL_MAX_S) {
            ac_event_error(errs, -1, "$.duration_s", "must be 1..%lld seconds", SL_MAX_S);
        }
        else {
            t1 = t0 + json_integer_value(dur) * 1000000;
        }
    }
    if (until && !aid) {
        ac_event_error(errs, -1, "$.until_resolved", "needs the alert_id it waits for");
    }
    if ((ends || dur) && t1 && t1 <= t0) {
        ac_event_error(errs, -1, "$.ends_at", "must be after starts_at");
    }
    if (comment && strlen(comment) > 1024) {
        ac_event_error(errs, -1, "$.comment", "is longer than 1024 characters");
    }
    if (json_array_size(errs) > 0) {
        goto bad;
    }
    json_decref(errs);
    mtext = ms ? json_dumps(ms, JSON_COMPACT) : ac_xstrdup("[]");
    actor = ac_xasprintf("token:%s", r->principal ? r->principal : "?");
    if (t1) {
        ac_time_format(t1, ends_buf);
    }
    p[0] = mtext;
    p[1] = alert;
    p[2] = starts;
    p[3] = t1 ? ends_buf : NULL;
    p[4] = until ? "true" : "false";
    p[5] = comment;
    p[6] = actor;
    sl_run(r, SQL_SL_INSERT, 7, p, 201);
    free(mtext);
    free(actor);
    json_decref(body);
    return;
bad:
    ac_http_reply_error(r, 400, "invalid_silence", "the silence is not valid", errs);
    json_decref(body);
}

void ac_api_silences(struct ac_http_req *r)
{
    if (strcmp(r->method, "POST") == 0) {
        sl_create(r);
    }
    else if (strcmp(r->method, "DELETE") == 0) {
        char *actor;
        const char *p[2];
        if (!ac_api_is_id(r->path_arg)) {
            ac_http_reply_error(r, 404, "not_found", "no such active silence", NULL);
            return;
        }
        actor = ac_xasprintf("token:%s", r->principal ? r->principal : "?");
        p[0] = r->path_arg;
        p[1] = actor;
        sl_run(r, SQL_SL_EXPIRE, 2, p, 200);
        free(actor);
    }
    else {
        sl_list(r);
    }
}
