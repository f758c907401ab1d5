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

/* Validates a silence into p[0..6): matchers, alert_id, starts_at, ends_at,
 * until_resolved, comment. */
static bool sl_parse(struct ac_http_req *r, const struct ac_api_resource *res, const json_t *body,
                     struct ac_api_write *w)
{
    static const char *const keys[] = {"matchers",   "alert_id",       "starts_at", "ends_at",
                                       "duration_s", "until_resolved", "comment",   NULL};
    json_t *errs = json_array(), *v;
    const json_t *ms = NULL, *aid, *dur;
    struct ac_matchers m;
    const char *k, *starts, *ends, *comment, *alert = NULL;
    int64_t t0 = ac_time_now_us(), t1 = 0;
    bool until;
    char ends_buf[AC_TIME_STRLEN];

    (void)res;
    json_object_foreach((json_t *)body, k, v)
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
    w->n = 6;
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
