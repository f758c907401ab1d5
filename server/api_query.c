/* SPDX-License-Identifier: Apache-2.0 */
/*
 * History queries: GET /v1/events, GET /v1/alerts - lists (apikit.h) newest
 * first by id, with the filters below.
 */
#include <string.h>

#include "server/api.h"
#include "server/apikit.h"

static const char *const qr_ev_status[] = {"firing", "resolved", NULL};
static const char *const qr_al_status[] = {"firing", "acknowledged", "resolved", "open", NULL};

static const struct ac_api_filter qr_event_filters[] = {
    {"type", AC_ARG_TEXT, NULL, NULL},        {"source", AC_ARG_TEXT, NULL, NULL},
    {"level", AC_ARG_LEVEL, NULL, NULL},      {"status", AC_ARG_CHOICE, qr_ev_status, NULL},
    {"app_id", AC_ARG_TEXT, NULL, NULL},      {"user_id", AC_ARG_TEXT, NULL, NULL},
    {"region", AC_ARG_TEXT, NULL, NULL},      {"since", AC_ARG_TIME, NULL, NULL},
    {"until", AC_ARG_TIME, NULL, NULL},       {"alert_id", AC_ARG_ID, NULL, NULL},
    {"fingerprint", AC_ARG_TEXT, NULL, NULL}, {NULL, AC_ARG_TEXT, NULL, NULL},
};

static const struct ac_api_list qr_events = {
    "events list",
    qr_event_filters,
    "SELECT ac_event_json(e)::text, e.id FROM events e"
    " WHERE ($1::text IS NULL OR e.type = $1) AND ($2::text IS NULL OR e.source = $2)"
    " AND ($3::text IS NULL OR e.level = $3) AND ($4::text IS NULL OR e.status = $4)"
    " AND ($5::text IS NULL OR e.app_id = $5) AND ($6::text IS NULL OR e.user_id = $6)"
    " AND ($7::text IS NULL OR e.region = $7)"
    " AND ($8::timestamptz IS NULL OR e.received_at >= $8)"
    " AND ($9::timestamptz IS NULL OR e.received_at < $9)"
    " AND ($10::bigint IS NULL OR e.alert_id = $10) AND ($11::text IS NULL OR e.fingerprint = $11)"
    " AND ($12::bigint IS NULL OR e.id < $12)"
    " ORDER BY e.id DESC LIMIT $13",
    AC_KEY_ID,
};

static const char *const qr_al_sort[] = {"id",    "first_seen", "last_seen", "resolved_at",
                                         "level", "count",      NULL};
static const char *const qr_order[] = {"desc", "asc", NULL};

static const struct ac_api_filter qr_alert_filters[] = {
    {"type", AC_ARG_TEXT, NULL, NULL},
    {"source", AC_ARG_TEXT, NULL, NULL},
    {"level", AC_ARG_LEVEL, NULL, NULL},
    {"status", AC_ARG_CHOICE, qr_al_status, NULL},
    {"app_id", AC_ARG_TEXT, NULL, NULL},
    {"user_id", AC_ARG_TEXT, NULL, NULL},
    {"region", AC_ARG_TEXT, NULL, NULL},
    {"since", AC_ARG_TIME, NULL, NULL},
    {"until", AC_ARG_TIME, NULL, NULL},
    {"fingerprint", AC_ARG_TEXT, NULL, NULL},
    {"incident_id", AC_ARG_ID, NULL, NULL},
    {"team_id", AC_ARG_ID, NULL, NULL},
    {"initial_level", AC_ARG_LEVEL, NULL, NULL},
    {"first_seen_from", AC_ARG_TIME, NULL, NULL},
    {"first_seen_to", AC_ARG_TIME, NULL, NULL},
    {"last_seen_from", AC_ARG_TIME, NULL, NULL},
    {"last_seen_to", AC_ARG_TIME, NULL, NULL},
    {"resolved_from", AC_ARG_TIME, NULL, NULL},
    {"resolved_to", AC_ARG_TIME, NULL, NULL},
    {"q", AC_ARG_TEXT, NULL, NULL},
    {"sort", AC_ARG_CHOICE, qr_al_sort, NULL},
    {"order", AC_ARG_CHOICE, qr_order, NULL},
    {NULL, AC_ARG_TEXT, NULL, NULL},
};

/* since/until select alerts whose [first_seen, last_seen] overlaps the
 * range; the *_from / *_to pairs bound one time each ([from, to)); status=
 * open means firing or acknowledged; q searches titles (PostgreSQL full
 * text, websearch syntax: words, "a phrase", -not, or). */
#define QR_ALERT_WHERE                                                                             \
    " WHERE ($1::text IS NULL OR a.type = $1) AND ($2::text IS NULL OR a.source = $2)"             \
    " AND ($3::text IS NULL OR a.level = $3)"                                                      \
    " AND ($4::text IS NULL OR a.status = $4 OR ($4 = 'open' AND a.status <> 'resolved'))"         \
    " AND ($5::text IS NULL OR a.app_id = $5) AND ($6::text IS NULL OR a.user_id = $6)"            \
    " AND ($7::text IS NULL OR a.region = $7)"                                                     \
    " AND ($8::timestamptz IS NULL OR a.last_seen >= $8)"                                          \
    " AND ($9::timestamptz IS NULL OR a.first_seen < $9)"                                          \
    " AND ($10::text IS NULL OR a.fingerprint = $10)"                                              \
    " AND ($11::bigint IS NULL OR a.incident_id = $11)"                                            \
    " AND ($12::bigint IS NULL OR a.team_id = $12)"                                                \
    " AND ($13::text IS NULL OR a.initial_level = $13)"                                            \
    " AND ($14::timestamptz IS NULL OR a.first_seen >= $14)"                                       \
    " AND ($15::timestamptz IS NULL OR a.first_seen < $15)"                                        \
    " AND ($16::timestamptz IS NULL OR a.last_seen >= $16)"                                        \
    " AND ($17::timestamptz IS NULL OR a.last_seen < $17)"                                         \
    " AND ($18::timestamptz IS NULL OR a.resolved_at >= $18)"                                      \
    " AND ($19::timestamptz IS NULL OR a.resolved_at < $19)"                                       \
    " AND ($20::text IS NULL OR to_tsvector('simple', coalesce(a.title, ''))"                      \
    " @@ websearch_to_tsquery('simple', $20))"

/* Newest first by id (the index order): sort and order are absent. */
static const struct ac_api_list qr_alerts = {
    "alerts list",
    qr_alert_filters,
    "SELECT ac_alert_json(a)::text, a.id FROM alerts a" QR_ALERT_WHERE
    " AND $21::text IS NULL AND $22::text IS NULL"
    " AND ($23::bigint IS NULL OR a.id < $23)"
    " ORDER BY a.id DESC LIMIT $24",
    AC_KEY_ID,
};

/* Any other order: by a key (times in microseconds, P1 = 1, the count),
 * then the id; alerts without the key (not resolved, for resolved_at)
 * come last either way. The cursor is the last row's "key,id". */
#define QR_ALERT_KEY                                                                               \
    "(CASE coalesce($21, 'id') WHEN 'id' THEN a.id"                                                \
    " WHEN 'first_seen' THEN (extract(epoch FROM a.first_seen) * 1000000)::bigint"                 \
    " WHEN 'last_seen' THEN (extract(epoch FROM a.last_seen) * 1000000)::bigint"                   \
    " WHEN 'resolved_at' THEN coalesce((extract(epoch FROM a.resolved_at) * 1000000)::bigint,"     \
    " CASE WHEN coalesce($22, 'desc') = 'desc' THEN -1 ELSE 9000000000000000000 END)"              \
    " WHEN 'level' THEN substr(a.level, 2)::bigint ELSE a.count END)"

#define QR_DESC "coalesce($22, 'desc') = 'desc'"

static const struct ac_api_list qr_alerts_sorted = {
    "alerts list",
    qr_alert_filters,
    "SELECT ac_alert_json(a)::text, s.k::text || ',' || s.id FROM (SELECT id, k FROM"
    " (SELECT a.id, " QR_ALERT_KEY " AS k FROM alerts a" QR_ALERT_WHERE ") s0"
    " WHERE $23::text IS NULL OR CASE WHEN " QR_DESC
    " THEN (k, id) < (split_part($23, ',', 1)::bigint, split_part($23, ',', 2)::bigint)"
    " ELSE (k, id) > (split_part($23, ',', 1)::bigint, split_part($23, ',', 2)::bigint) END"
    " ORDER BY CASE WHEN " QR_DESC " THEN -k END, CASE WHEN " QR_DESC " THEN -id END, k, id"
    " LIMIT $24) s JOIN alerts a ON a.id = s.id"
    " ORDER BY CASE WHEN " QR_DESC " THEN -s.k END, CASE WHEN " QR_DESC " THEN -s.id END,"
    " s.k, s.id",
    AC_KEY_PAIR,
};

/* The CSV columns of an export (NDJSON has every field). */
static const char *const qr_event_csv[] = {
    "event_id",  "received_at", "occurred_at", "source",   "type",   "level",  "status",
    "category",  "trace",       "fingerprint", "alert_id", "title",  "region", "cluster",
    "namespace", "app_id",      "user_id",     "instance", "labels", NULL};
static const char *const qr_alert_csv[] = {
    "id",         "incident_id", "team_id",       "type",        "title",
    "source",     "level",       "initial_level", "status",      "count",
    "first_seen", "last_seen",   "resolved_at",   "acked_at",    "acked_by",
    "category",   "region",      "cluster",       "namespace",   "app_id",
    "user_id",    "gc_level",    "instance",      "fingerprint", NULL};

/* GET /v1/export/{events,alerts,audit} (scope read): the lists' filters,
 * every row, streamed (apikit.h). */
void ac_api_export_route(struct ac_http_req *r)
{
    if (strcmp(r->path_arg, "events") == 0) {
        ac_api_export(r, &qr_events, "events", qr_event_csv);
    }
    else if (strcmp(r->path_arg, "alerts") == 0) {
        if (ac_http_arg(r, "sort") || ac_http_arg(r, "order")) {
            ac_api_bad_query(r, ac_http_arg(r, "sort") ? "sort" : "order",
                             "an export is newest first");
            return;
        }
        ac_api_export(r, &qr_alerts, "alerts", qr_alert_csv);
    }
    else if (strcmp(r->path_arg, "audit") == 0) {
        ac_api_export_audit(r);
    }
    else {
        ac_api_not_found(r, "export (events, alerts or audit)");
    }
}

void ac_api_list_events(struct ac_http_req *r)
{
    ac_api_list(r, &qr_events);
}

void ac_api_list_alerts(struct ac_http_req *r)
{
    bool sorted = ac_http_arg(r, "sort") != NULL || ac_http_arg(r, "order") != NULL;

    ac_api_list(r, sorted ? &qr_alerts_sorted : &qr_alerts);
}
