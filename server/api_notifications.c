/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GET /v1/notifications (scope read): the outbox, newest first - who was
 * told what, on which channel, when, after how many attempts, and why a
 * failed one failed. Filters: incident_id, alert_id (its incident's, and
 * any made for it before incidents), status (pending, sending, sent,
 * failed), channel; paged by cursor.
 */
#include "server/api.h"
#include "server/apikit.h"

#define SQL_NOTIFICATIONS                                                                          \
    "SELECT jsonb_build_object('id', n.id::text, 'incident_id', n.incident_id::text, 'alert_id',"  \
    " n.alert_id::text, 'channel',"                                                                \
    " n.channel, 'kind', n.kind, 'contact_id', n.contact_id::text, 'level', n.level, 'reason',"    \
    " n.reason, 'status', n.status, 'attempts', n.attempts, 'next_at', ac_rfc3339(n.next_at),"     \
    " 'idempotency_key', n.idem_key, 'last_status', n.last_status, 'last_error', n.last_error,"    \
    " 'created_at', ac_rfc3339(n.created_at), 'sent_at', ac_rfc3339(n.sent_at))::text, n.id"       \
    " FROM notifications n WHERE ($1::bigint IS NULL OR n.alert_id = $1 OR n.incident_id ="        \
    " (SELECT a.incident_id FROM alerts a WHERE a.id = $1))"                                       \
    " AND ($2::text IS NULL OR n.status = $2) AND ($3::text IS NULL OR n.channel = $3)"            \
    " AND ($4::bigint IS NULL OR n.incident_id = $4)"                                              \
    " AND ($5::bigint IS NULL OR n.id < $5) ORDER BY n.id DESC LIMIT $6"

static const char *const nf_statuses[] = {"pending", "sending", "sent", "failed", NULL};

static const struct ac_api_filter nf_filters[] = {
    {"alert_id", AC_ARG_ID, NULL, NULL},  {"status", AC_ARG_CHOICE, nf_statuses, NULL},
    {"channel", AC_ARG_TEXT, NULL, NULL}, {"incident_id", AC_ARG_ID, NULL, NULL},
    {NULL, AC_ARG_TEXT, NULL, NULL},
};

static const struct ac_api_list nf_list = {"notifications list", nf_filters, SQL_NOTIFICATIONS,
                                           AC_KEY_ID};

void ac_api_notifications(struct ac_http_req *r)
{
    ac_api_list(r, &nf_list);
}
