/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Incidents (DESIGN §5 "Incidents"): GET /v1/incidents (a list as apikit.h's,
 * newest first), GET /v1/incidents/{id} with its open alerts and its
 * timeline, and POST /v1/incidents/{id}/ack | resolve, which act on all its
 * alerts in one transaction (ac_incident_transition, migrations/
 * functions.sql), audited once with the count.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/api.h"
#include "server/apikit.h"
#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/core/pg.h"
#include "server/server.h"

/* The open alerts shown with an incident (the oldest; GET /v1/alerts?
 * incident_id= pages through all). */
#define IN_ALERTS_SHOWN 100

static const char *const in_status[] = {"open", "acknowledged", "resolved", "active", NULL};

static const struct ac_api_filter in_filters[] = {
    {"status", AC_ARG_CHOICE, in_status, NULL},
    {"level", AC_ARG_LEVEL, NULL, NULL},
    {"type", AC_ARG_TEXT, NULL, NULL},
    {"team_id", AC_ARG_ID, NULL, NULL},
    {"since", AC_ARG_TIME, NULL, NULL},
    {"until", AC_ARG_TIME, NULL, NULL},
    {NULL, AC_ARG_TEXT, NULL, NULL},
};

/* status=active: open or acknowledged. since/until: incidents whose
 * [first_seen, resolved_at or now] overlaps the range. */
static const struct ac_api_list in_list = {
    "incidents list",
    in_filters,
    "SELECT ac_incident_json(i)::text, i.id FROM incidents i"
    " WHERE ($1::text IS NULL OR i.status = $1 OR ($1 = 'active' AND i.status <> 'resolved'))"
    " AND ($2::text IS NULL OR i.level = $2) AND ($3::text IS NULL OR i.type = $3)"
    " AND ($4::bigint IS NULL OR i.team_id = $4)"
    " AND ($5::timestamptz IS NULL OR coalesce(i.resolved_at, 'infinity') >= $5)"
    " AND ($6::timestamptz IS NULL OR i.first_seen < $6)"
    " AND ($7::bigint IS NULL OR i.id < $7)"
    " ORDER BY i.id DESC LIMIT $8",
    AC_KEY_ID,
};

/* The incident, its first open alerts (all its alerts once resolved), and its
 * timeline (ac_incident_timeline, migrations/functions.sql). */
#define SQL_INCIDENT_GET                                                                           \
    "SELECT (ac_incident_json(i) || jsonb_build_object("                                           \
    "'alert_list', (SELECT coalesce(jsonb_agg(ac_alert_json(a) ORDER BY a.id), '[]') FROM"         \
    " (SELECT * FROM alerts a WHERE a.incident_id = i.id AND (a.status <> 'resolved'"              \
    " OR i.status = 'resolved') ORDER BY a.id LIMIT $2) a),"                                       \
    " 'timeline', ac_incident_timeline(i, $3::boolean)))::text"                                    \
    " FROM incidents i WHERE i.id = $1::bigint"

#define SQL_IN_TRANSITION "SELECT * FROM ac_incident_transition($1::bigint, $2, $3, $4::jsonb)"

void ac_api_list_incidents(struct ac_http_req *r)
{
    ac_api_list(r, &in_list);
}

static void in_reply(struct ac_http_req *r, PGconn *c, const char *id)
{
    char n[16];
    const char *p[3] = {id, n, r->srv->cfg.mask_addresses ? "true" : "false"};
    PGresult *res;

    (void)snprintf(n, sizeof(n), "%d", IN_ALERTS_SHOWN);
    if (!(res = ac_pg_query(c, NULL, SQL_INCIDENT_GET, 3, p))) {
        ac_api_unavailable(r, c, "incident query");
    }
    else if (PQntuples(res) == 0) {
        ac_api_not_found(r, "incident");
    }
    else {
        ac_api_reply_row(r, res, 200);
    }
    PQclear(res);
}

void ac_api_get_incident(struct ac_http_req *r)
{
    PGconn *c;

    if (!ac_api_is_id(r->path_arg)) {
        ac_api_not_found(r, "incident");
        return;
    }
    if ((c = ac_api_db(r)) != NULL) {
        in_reply(r, c, r->path_arg);
        ac_api_db_release(r, c);
    }
}

void ac_api_incident_ack(struct ac_http_req *r)
{
    ac_api_transition(r, "incident", SQL_IN_TRANSITION, "ack", in_reply);
}

void ac_api_incident_resolve(struct ac_http_req *r)
{
    ac_api_transition(r, "incident", SQL_IN_TRANSITION, "resolve", in_reply);
}
