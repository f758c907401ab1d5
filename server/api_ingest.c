/* SPDX-License-Identifier: Apache-2.0 */
/* The ingest routes: decode a source format, run the pipeline, answer per event. */
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/alertmanager.h"
#include "ingest/native.h"
#include "schema/timefmt.h"
#include "server/api.h"
#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/server.h"

static json_t *ing_result_json(const struct ac_event *ev, const struct ac_ingest_result *res,
                               size_t index)
{
    json_t *o = json_object();

    json_object_set_new(o, "index", json_integer((json_int_t)index));
    if (res->dropped) {
        json_object_set_new(o, "dropped", json_true());
        json_object_set_new(o, "rule_id", json_sprintf("%lld", (long long)res->rule_id));
        json_object_set_new(o, "fingerprint", json_string(ev->fingerprint));
        return o;
    }
    json_object_set_new(o, "event_id",
                        res->event_id ? json_sprintf("%lld", (long long)res->event_id)
                                      : json_null());
    json_object_set_new(o, "alert_id",
                        res->alert_id ? json_sprintf("%lld", (long long)res->alert_id)
                                      : json_null());
    json_object_set_new(o, "fingerprint", json_string(ev->fingerprint));
    json_object_set_new(o, "duplicate", json_boolean(res->duplicate));
    if (res->folded) {
        json_object_set_new(o, "folded", json_true());
    }
    return o;
}

/* Answers a decoded body: 413/400 for what the decoder refused (rc, details
 * stolen), else runs the pipeline and answers per event; extra (stolen, may
 * be NULL) adds fields to the answer. Releases evs. */
static void ing_submit(struct ac_http_req *r, int rc, struct ac_event_vec *evs, json_t *details,
                       json_t *extra)
{
    struct ac_ingest_result *results = NULL;
    json_t *items, *body;
    size_t dups = 0, dropped = 0;

    if (rc == AC_ETOOBIG) {
        ac_http_reply_error(r, 413, "too_many_events",
                            "too many events in one request; "
                            "nothing was stored",
                            details);
        goto cleanup;
    }
    if (rc != AC_OK) {
        ac_http_reply_error(r, 400, "invalid_event", "the request is not valid; nothing was stored",
                            details);
        goto cleanup;
    }
    results = ac_xcalloc(evs->n + 1, sizeof(*results));
    rc = evs->n ? r->srv->sink.submit(r->srv->sink.ctx, evs, results) : AC_OK;
    if (rc != AC_OK) {
        ac_http_reply_error(r, 503, "unavailable",
                            rc == AC_EAGAIN ? "the server is overloaded or stopping; retry"
                                            : "the database is unavailable; retry",
                            NULL);
        ac_http_add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
        goto cleanup;
    }
    items = json_array();
    for (size_t i = 0; i < evs->n; i++) {
        dups += results[i].duplicate;
        dropped += results[i].dropped;
        json_array_append_new(items, ing_result_json(&evs->items[i], &results[i], i));
    }
    body =
        json_pack("{s:I, s:I, s:I, s:o}", "accepted", (json_int_t)(evs->n - dups - dropped),
                  "duplicates", (json_int_t)dups, "dropped", (json_int_t)dropped, "items", items);
    if (extra) {
        json_object_update(body, extra);
    }
    ac_http_reply_json(r, 200, body);
cleanup:
    json_decref(extra);
    free(results);
    ac_event_vec_deinit(evs);
}

void ac_api_ingest_events(struct ac_http_req *r)
{
    const char *ct = ac_http_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
    enum ac_native_format fmt = (ct && strncasecmp(ct, "application/x-ndjson", 20) == 0)
                                    ? AC_NATIVE_NDJSON
                                    : AC_NATIVE_JSON;
    struct ac_event_vec evs;
    json_t *details = NULL;
    int rc = ac_native_decode(r->body, r->body_len, fmt, (size_t)r->srv->cfg.max_batch_events,
                              ac_time_now_us(), &evs, &details);

    ing_submit(r, rc, &evs, details, NULL);
}

/* POST /api/v2/alerts: Alertmanager API v2, as Prometheus sends it. */
void ac_api_ingest_am_v2(struct ac_http_req *r)
{
    struct ac_event_vec evs;
    json_t *details = NULL;
    int rc =
        ac_am_decode_v2(&r->srv->prometheus, r->body, r->body_len, "prometheus",
                        (size_t)r->srv->cfg.max_batch_events, ac_time_now_us(), &evs, &details);

    ing_submit(r, rc, &evs, details, NULL);
}

/* POST /v1/ingest/alertmanager: an Alertmanager receiver's webhook (v4). */
void ac_api_ingest_am_webhook(struct ac_http_req *r)
{
    struct ac_event_vec evs;
    json_t *details = NULL;
    long truncated = 0;
    int rc = ac_am_decode_webhook(&r->srv->prometheus, r->body, r->body_len, "alertmanager",
                                  (size_t)r->srv->cfg.max_batch_events, ac_time_now_us(), &evs,
                                  &details, &truncated);

    if (rc == AC_OK && truncated > 0) {
        ac_log(AC_LOG_WARN, "ingest",
               "alertmanager webhook: %ld alert(s) truncated by the sender (max_alerts)",
               truncated);
    }
    ing_submit(r, rc, &evs, details, json_pack("{s:I}", "truncated_alerts", (json_int_t)truncated));
}

/* GET /api/v2/status: enough of Alertmanager's answer for amtool and
 * Prometheus's discovery of an Alertmanager. */
void ac_api_am_status(struct ac_http_req *r)
{
    char uptime[AC_TIME_STRLEN];

    ac_time_format(r->srv->started_us, uptime);
    ac_http_reply_json(
        r, 200,
        json_pack("{s:{s:s, s:s, s:[]}, s:{s:s, s:s, s:s, s:s, s:s, s:s}, s:{s:s}, s:s}", "cluster",
                  "name", "alertcenter", "status", "ready", "peers", "versionInfo", "version",
                  AC_VERSION, "revision", "", "branch", "", "buildUser", "alertcenter", "buildDate",
                  "", "goVersion", "none (C)", "config", "original",
                  "# Unified Alert Center: configuration is not Alertmanager's\n", "uptime",
                  uptime));
}
