/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GET /v1/notifications (scope read): the outbox, newest first - who was
 * told what, on which channel, when, after how many attempts, and why a
 * failed one failed. Filters: alert_id, status (pending, sending, sent,
 * failed), channel; paged by cursor.
 */
#include <stdio.h>
#include <string.h>

#include "server/api.h"
#include "server/core/log.h"
#include "server/core/pg.h"
#include "server/server.h"

#define SQL_NOTIFICATIONS                                                                          \
    "SELECT jsonb_build_object('id', n.id::text, 'alert_id', n.alert_id::text, 'channel',"         \
    " n.channel, 'kind', n.kind, 'contact_id', n.contact_id::text, 'level', n.level, 'reason',"    \
    " n.reason, 'status', n.status, 'attempts', n.attempts, 'next_at', ac_rfc3339(n.next_at),"     \
    " 'idempotency_key', n.idem_key, 'last_status', n.last_status, 'last_error', n.last_error,"    \
    " 'created_at', ac_rfc3339(n.created_at), 'sent_at', ac_rfc3339(n.sent_at))::text, n.id"       \
    " FROM notifications n WHERE ($1::bigint IS NULL OR n.id < $1)"                                \
    " AND ($3::bigint IS NULL OR n.alert_id = $3) AND ($4::text IS NULL OR n.status = $4)"         \
    " AND ($5::text IS NULL OR n.channel = $5) ORDER BY n.id DESC LIMIT $2"

void ac_api_notifications(struct ac_http_req *r)
{
    static const char *const allowed[] = {"limit", "cursor", "alert_id", "status", "channel", NULL};
    static const char *const statuses[] = {"pending", "sending", "sent", "failed", NULL};
    const char *alert = ac_http_arg(r, "alert_id"), *status = ac_http_arg(r, "status");
    char after[AC_API_CURSOR_MAX], lim[24];
    const char *p[5];
    long limit;
    bool known = !status;
    PGconn *c;
    PGresult *res;

    if (!ac_api_page_params(r, allowed, &limit, after, sizeof(after))) {
        return;
    }
    if (alert && !ac_api_is_id(alert)) {
        ac_api_bad_query(r, "alert_id", "must be an alert id");
        return;
    }
    for (const char *const *s = statuses; status && *s && !known; s++) {
        known = strcmp(*s, status) == 0;
    }
    if (!known) {
        ac_api_bad_query(r, "status", "must be pending, sending, sent or failed");
        return;
    }
    (void)snprintf(lim, sizeof(lim), "%ld", limit + 1);
    p[0] = after[0] ? after : NULL;
    p[1] = lim;
    p[2] = alert;
    p[3] = status;
    p[4] = ac_http_arg(r, "channel");
    if (!(c = ac_pg_pool_acquire(r->srv->pool, 5000))) {
        ac_http_reply_error(r, 503, "unavailable", "the database is unavailable; retry", NULL);
        return;
    }
    res = PQexecParams(c, SQL_NOTIFICATIONS, 5, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        ac_log(AC_LOG_ERROR, "api", "notifications list failed: %s", PQerrorMessage(c));
        ac_http_reply_error(r, 503, "unavailable", "the database is unavailable; retry", NULL);
    }
    else {
        ac_api_reply_page(r, res, limit);
    }
    PQclear(res);
    ac_pg_pool_release(r->srv->pool, c);
}
