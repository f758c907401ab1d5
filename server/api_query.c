/* SPDX-License-Identifier: Apache-2.0 */
/*
 * History queries: GET /v1/events, GET /v1/alerts - lists (apikit.h) newest
 * first by id, with the filters below.
 */
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

static const struct ac_api_filter qr_alert_filters[] = {
    {"type", AC_ARG_TEXT, NULL, NULL},      {"source", AC_ARG_TEXT, NULL, NULL},
    {"level", AC_ARG_LEVEL, NULL, NULL},    {"status", AC_ARG_CHOICE, qr_al_status, NULL},
    {"app_id", AC_ARG_TEXT, NULL, NULL},    {"user_id", AC_ARG_TEXT, NULL, NULL},
    {"region", AC_ARG_TEXT, NULL, NULL},    {"since", AC_ARG_TIME, NULL, NULL},
    {"until", AC_ARG_TIME, NULL, NULL},     {"fingerprint", AC_ARG_TEXT, NULL, NULL},
    {"incident_id", AC_ARG_ID, NULL, NULL}, {"team_id", AC_ARG_ID, NULL, NULL},
    {NULL, AC_ARG_TEXT, NULL, NULL},
};

/* since/until select alerts whose [first_seen, last_seen] overlaps the range;
 * status=open means firing or acknowledged. */
static const struct ac_api_list qr_alerts = {
    "alerts list",
    qr_alert_filters,
    "SELECT ac_alert_json(a)::text, a.id FROM alerts a"
    " WHERE ($1::text IS NULL OR a.type = $1) AND ($2::text IS NULL OR a.source = $2)"
    " AND ($3::text IS NULL OR a.level = $3)"
    " AND ($4::text IS NULL OR a.status = $4 OR ($4 = 'open' AND a.status <> 'resolved'))"
    " AND ($5::text IS NULL OR a.app_id = $5) AND ($6::text IS NULL OR a.user_id = $6)"
    " AND ($7::text IS NULL OR a.region = $7)"
    " AND ($8::timestamptz IS NULL OR a.last_seen >= $8)"
    " AND ($9::timestamptz IS NULL OR a.first_seen < $9)"
    " AND ($10::text IS NULL OR a.fingerprint = $10)"
    " AND ($11::bigint IS NULL OR a.incident_id = $11)"
    " AND ($12::bigint IS NULL OR a.team_id = $12)"
    " AND ($13::bigint IS NULL OR a.id < $13)"
    " ORDER BY a.id DESC LIMIT $14",
    AC_KEY_ID,
};

void ac_api_list_events(struct ac_http_req *r)
{
    ac_api_list(r, &qr_events);
}

void ac_api_list_alerts(struct ac_http_req *r)
{
    ac_api_list(r, &qr_alerts);
}
