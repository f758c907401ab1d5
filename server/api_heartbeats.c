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
#include "server/apikit.h"
#include "server/core/log.h"
#include "server/core/pg.h"
#include "server/server.h"

#define SQL_HEARTBEATS                                                                             \
    "SELECT ac_heartbeat_json(h)::text, h.instance FROM heartbeats h"                              \
    " WHERE ($1::text IS NULL OR h.app_id = $1) AND ($2::text IS NULL OR h.instance = $2)"         \
    " AND ($3::text IS NULL OR h.instance > $3) ORDER BY h.instance LIMIT $4"

static const struct ac_api_filter hb_filters[] = {
    {"app_id", AC_ARG_TEXT, NULL, NULL},
    {"instance", AC_ARG_TEXT, NULL, NULL},
    {NULL, AC_ARG_TEXT, NULL, NULL},
};

static const struct ac_api_list hb_list = {"heartbeats list", hb_filters, SQL_HEARTBEATS,
                                           AC_KEY_TEXT};

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
            free(msg);
            json_decref(items);
            items = NULL;
            break;
        }
        json_array_append_new(items, outcome);
    }
    ac_api_db_release(r, c);
    if (items) {
        ac_http_reply_json(r, 200,
                           json_pack("{s:I, s:o}", "accepted", (json_int_t)n, "items", items));
    }
    ac_hb_free(hbs, n);
}

void ac_api_heartbeats_get(struct ac_http_req *r)
{
    ac_api_list(r, &hb_list);
}
