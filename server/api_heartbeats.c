/* SPDX-License-Identifier: Apache-2.0 */
/*
 * POST /v1/heartbeats (scope ingest): probe heartbeats, one object or an
 * array, each received by the heartbeat adapter (ingest/heartbeat.h) in a
 * transaction of its own. GET /v1/heartbeats (scope read): the latest
 * heartbeat of each instance, by instance, filtered by app_id or instance.
 */
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>

#include "ingest/heartbeat.h"
#include "schema/timefmt.h"
#include "server/api.h"
#include "server/core/log.h"
#include "server/core/pg.h"
#include "server/server.h"

#define SQL_HEARTBEATS                                                                             \
    "SELECT ac_heartbeat_json(h)::text, h.instance FROM heartbeats h"                              \
    " WHERE ($1::text IS NULL OR h.instance > $1) AND ($3::text IS NULL OR h.app_id = $3)"         \
    " AND ($4::text IS NULL OR h.instance = $4) ORDER BY h.instance LIMIT $2"

void ac_api_heartbeats_post(struct ac_http_req *r)
{
    struct ac_hb *hbs = NULL;
    size_t n = 0;
    json_t *details = NULL, *items;
    PGconn *c;
    int rc = ac_hb_decode(r->body, r->body_len, (size_t)r->srv->cfg.max_batch_events, &hbs, &n,
                          &details);

    if (rc == AC_ETOOBIG) {
        ac_http_reply_error(r, 413, "too_many_heartbeats", "too many heartbeats in one request",
                            details);
        return;
    }
    if (rc != AC_OK) {
        ac_http_reply_error(r, 400, "invalid_heartbeat",
                            "the request is not valid; nothing was recorded", details);
        return;
    }
    if (!(c = ac_pg_pool_acquire(r->srv->pool, 5000))) {
        ac_http_reply_error(r, 503, "unavailable", "the database is unavailable; retry", NULL);
        ac_hb_free(hbs, n);
        return;
    }
    items = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *outcome = NULL;
        rc = ac_hb_receive(&r->srv->heartbeats, c, &hbs[i], ac_time_now_us(), &outcome);
        if (rc != AC_OK) {
            /* the ones before are recorded; a retry of the whole body is harmless */
            char *msg = ac_xasprintf("heartbeat %zu could not be recorded (%zu before it were);"
                                     " retry",
                                     i, i);
            ac_http_reply_error(r, 503, "unavailable", msg, NULL);
            ac_http_add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
            free(msg);
            json_decref(items);
            items = NULL;
            break;
        }
        json_array_append_new(items, outcome);
    }
    ac_pg_pool_release(r->srv->pool, c);
    if (items) {
        ac_http_reply_json(r, 200,
                           json_pack("{s:I, s:o}", "accepted", (json_int_t)n, "items", items));
    }
    ac_hb_free(hbs, n);
}

void ac_api_heartbeats_get(struct ac_http_req *r)
{
    static const char *const allowed[] = {"limit", "cursor", "app_id", "instance", NULL};
    const char *bad = ac_http_unknown_arg(r, allowed), *cur = ac_http_arg(r, "cursor");
    char after[AC_API_CURSOR_MAX], lim[24];
    const char *p[4];
    long limit;
    PGconn *c;
    PGresult *res;

    if (bad) {
        ac_api_bad_query(r, bad, "is not a parameter of this list");
        return;
    }
    if (!ac_api_limit(r, 100, &limit)) {
        return;
    }
    if (cur && !ac_api_cursor_decode(cur, after, sizeof(after))) {
        ac_api_bad_query(r, "cursor", "is not a cursor this server gave");
        return;
    }
    (void)snprintf(lim, sizeof(lim), "%ld", limit + 1);
    p[0] = cur ? after : NULL;
    p[1] = lim;
    p[2] = ac_http_arg(r, "app_id");
    p[3] = ac_http_arg(r, "instance");
    if (!(c = ac_pg_pool_acquire(r->srv->pool, 5000))) {
        ac_http_reply_error(r, 503, "unavailable", "the database is unavailable; retry", NULL);
        return;
    }
    res = PQexecParams(c, SQL_HEARTBEATS, 4, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        ac_log(AC_LOG_ERROR, "api", "heartbeats: %s", PQerrorMessage(c));
        ac_http_reply_error(r, 503, "unavailable", "the database is unavailable; retry", NULL);
    }
    else {
        ac_api_reply_page(r, res, limit);
    }
    PQclear(res);
    ac_pg_pool_release(r->srv->pool, c);
}
