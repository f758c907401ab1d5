/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /v1/silences (DESIGN §6): GET lists them, newest first (scope read;
 * ?state=active, the default, or all), POST creates one and DELETE ends one
 * now (scope operate). A silence is
 *   {"matchers": [...], "alert_id"? | "incident_id"?, "starts_at"?,
 *    "ends_at"? | "duration_s"? | "until_resolved": true, "comment"?,
 *    "all"?: true}
 * with matchers (as filter rules) or an alert or incident id or both, from
 * starts_at (default now; a later time schedules it) to its end: a time, a
 * duration (from starts_at), or until the named alert or incident resolves.
 * A silence that would hold every alert - no id and matchers that all match
 * an alert lacking their fields (none at all, app_id=~".*", app_id!="x":
 * Alertmanager's rule) - is refused unless "all": true says so. Every
 * change is an audit-log entry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/timefmt.h"
#include "server/api.h"
#include "server/apikit.h"
#include "server/core/log.h"
#include "server/core/matcher.h"
#include "server/core/mem.h"
#include "server/core/pg.h"
#include "server/server.h"

#define SL_MAX_S (366LL * 86400)

#define SQL_SL_LIST                                                                                \
    "SELECT ac_silence_json(s)::text, s.id FROM silences s WHERE ($2::bigint IS NULL OR"           \
    " s.id < $2) AND ($1 = 'all' OR (s.expired_at IS NULL AND (s.ends_at IS NULL OR"               \
    " s.ends_at > now()))) ORDER BY s.id DESC LIMIT $3"
#define SQL_SL_GET "SELECT ac_silence_json(s)::text FROM silences s WHERE s.id = $1::bigint"
#define SQL_SL_INSERT                                                                              \
    "WITH s AS (INSERT INTO silences (matchers, alert_id, starts_at, ends_at, until_resolved,"     \
    " comment, incident_id, created_by) VALUES ($1::jsonb, $2::bigint,"                            \
    " coalesce($3::timestamptz, now()), $4::timestamptz, $5::boolean, $6, $7::bigint, $8)"         \
    " RETURNING *),"                                                                               \
    " a AS (INSERT INTO audit_log (actor, action, target_type, target_id, details)"                \
    " SELECT $8, 'silence.create', 'silence', s.id::text, ac_silence_json(s) FROM s)"              \
    " SELECT ac_silence_json(s)::text FROM s"
#define SQL_SL_EXPIRE                                                                              \
    "WITH s AS (UPDATE silences SET expired_at = clock_timestamp() WHERE id = $1::bigint"          \
    " AND expired_at IS NULL RETURNING *),"                                                        \
    " a AS (INSERT INTO audit_log (actor, action, target_type, target_id, details, before)"        \
    " SELECT $2, 'silence.expire', 'silence', s.id::text, ac_silence_json(s), (SELECT"             \
    " ac_silence_json(o) FROM silences o WHERE o.id = $1::bigint) FROM s)"                         \
    " SELECT ac_silence_json(s)::text FROM s"

/* Whether ms matches an alert that lacks every field it names (then it
 * matches every alert but a few, or all). */
static bool sl_matches_empty(const struct ac_matchers *ms)
{
    struct ac_event none = {0};

    return ac_matchers_match(ms, &none);
}

/* An id field's value, or NULL (with an error appended). */
static const char *sl_id(const json_t *body, const char *key, json_t *errs)
{
    const json_t *v = json_object_get(body, key);
    const char *id = json_string_value(v);
    char path[32];

    if (!v || (id && ac_api_is_id(id))) {
        return id;
    }
    (void)snprintf(path, sizeof(path), "$.%s", key);
    ac_event_error(errs, -1, path, "must be an id (a string of digits)");
    return NULL;
}

/* Validates a silence into p[0..7): matchers, alert_id, starts_at, ends_at,
 * until_resolved, comment, incident_id. */
static bool sl_parse(struct ac_http_req *r, const struct ac_api_resource *res, const json_t *body,
                     struct ac_api_write *w)
{
    static const char *const keys[] = {"matchers", "alert_id",   "incident_id",    "starts_at",
                                       "ends_at",  "duration_s", "until_resolved", "comment",
                                       "all",      NULL};
    json_t *errs = json_array();
    const json_t *ms = NULL, *dur;
    struct ac_matchers m;
    const char *starts, *ends, *comment, *alert, *incident;
    int64_t t0 = ac_time_now_us(), t1 = 0;
    bool until, broad = true, all = json_is_true(json_object_get(body, "all"));
    char ends_buf[AC_TIME_STRLEN];

    (void)res;
    (void)ac_json_only_keys(body, keys, "is not a field of a silence", errs);
    ms = json_object_get(body, "matchers");
    alert = sl_id(body, "alert_id", errs);
    incident = sl_id(body, "incident_id", errs);
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
        broad = sl_matches_empty(&m);
        ac_matchers_deinit(&m);
    }
    if (json_object_get(body, "all") && !json_is_boolean(json_object_get(body, "all"))) {
        ac_event_error(errs, -1, "$.all", "must be true or false");
    }
    if (alert && incident) {
        ac_event_error(errs, -1, "$", "give an alert_id or an incident_id, not both");
    }
    if (broad && !alert && !incident && !json_object_get(body, "alert_id") &&
        !json_object_get(body, "incident_id") && !all) {
        ac_event_error(errs, -1, "$.matchers",
                       "would silence every alert (no matcher needs a value); name an alert_id"
                       " or incident_id, narrow the matchers, or set \"all\": true");
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
    if (until && !alert && !incident) {
        ac_event_error(errs, -1, "$.until_resolved",
                       "needs the alert_id or incident_id it waits for");
    }
    if ((ends || dur) && t1 && t1 <= t0) {
        ac_event_error(errs, -1, "$.ends_at", "must be after starts_at");
    }
    if (comment && strlen(comment) > 1024) {
        ac_event_error(errs, -1, "$.comment", "is longer than 1024 characters");
    }
    if (json_array_size(errs) > 0) {
        ac_http_reply_error(r, 400, "invalid_silence", "the silence is not valid", errs);
        return false;
    }
    json_decref(errs);
    if (t1) {
        ac_time_format(t1, ends_buf);
    }
    w->p[0] = ac_arena_own(&w->ar, ms ? json_dumps(ms, JSON_COMPACT) : ac_xstrdup("[]"));
    w->p[1] = alert;
    w->p[2] = starts;
    w->p[3] = t1 ? ac_arena_own(&w->ar, ac_xstrdup(ends_buf)) : NULL;
    w->p[4] = until ? "true" : "false";
    w->p[5] = comment;
    w->p[6] = incident;
    w->n = 7;
    return true;
}

static const char *const sl_states[] = {"active", "all", NULL};

static const struct ac_api_filter sl_filters[] = {
    {"state", AC_ARG_CHOICE, sl_states, "active"},
    {NULL, AC_ARG_TEXT, NULL, NULL},
};

/* DELETE ends a silence now: the row stays, for the record. */
static const struct ac_api_resource sl_silences = {
    .name = "silence",
    .invalid = "invalid_silence",
    .conflict = "such a silence exists",
    .key_is_id = true,
    .list = {"silences list", sl_filters, SQL_SL_LIST, AC_KEY_ID},
    .sql_get = SQL_SL_GET,
    .parse = sl_parse,
    .sql_create = SQL_SL_INSERT,
    .sql_delete = SQL_SL_EXPIRE,
};

void ac_api_silences(struct ac_http_req *r)
{
    ac_api_resource(r, &sl_silences);
}

json_t *ac_silence_create(struct ac_http_req *r, const json_t *body, const char *actor,
                          const char *replaces)
{
    struct ac_api_write w;
    PGconn *c = NULL;
    PGresult *res = NULL;
    json_t *out = NULL;
    const char *ep[2] = {replaces, actor};

    memset(&w, 0, sizeof(w));
    ac_arena_init(&w.ar);
    if (!sl_parse(r, &sl_silences, body, &w) || !(c = ac_api_db(r))) {
        goto done;
    }
    w.p[w.n] = actor;
    if (!ac_pg_begin(c, "api")) {
        ac_api_unavailable(r, c, "silence write");
        goto done;
    }
    if (replaces) {
        if (!ac_api_is_id(replaces) || !(res = ac_pg_query(c, "api", SQL_SL_EXPIRE, 2, ep))) {
            if (!ac_api_is_id(replaces)) {
                ac_api_not_found(r, "silence");
            }
            else {
                ac_api_unavailable(r, c, "silence write");
            }
            goto done;
        }
        if (PQntuples(res) == 0) {
            ac_api_not_found(r, "silence"); /* none, or ended already */
            goto done;
        }
        PQclear(res);
    }
    if (!(res = ac_pg_query(c, "api", SQL_SL_INSERT, w.n + 1, w.p)) || !ac_pg_commit(c, "api")) {
        ac_api_unavailable(r, c, "silence write");
        goto done;
    }
    out = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    ac_log(AC_LOG_INFO, "api", "silence %s by %s", replaces ? "replaced" : "created", actor);
done:
    PQclear(res);
    if (c) {
        ac_pg_rollback(c); /* a no-op after COMMIT */
        ac_api_db_release(r, c);
    }
    ac_arena_deinit(&w.ar);
    return out;
}

json_t *ac_silence_expire(struct ac_http_req *r, const char *id, const char *actor)
{
    const char *p[2] = {id, actor};
    PGconn *c;
    PGresult *res;
    json_t *out = NULL;

    if (!ac_api_is_id(id)) {
        ac_api_not_found(r, "silence");
        return NULL;
    }
    if (!(c = ac_api_db(r))) {
        return NULL;
    }
    if (!(res = ac_pg_query(c, "api", SQL_SL_EXPIRE, 2, p))) {
        ac_api_unavailable(r, c, "silence write");
    }
    else if (PQntuples(res) == 0) {
        ac_api_not_found(r, "silence");
    }
    else {
        out = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    }
    PQclear(res);
    ac_api_db_release(r, c);
    return out;
}
