/* SPDX-License-Identifier: Apache-2.0 */
/* The ingest routes: decode a source format, run the pipeline, answer per event. */
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/alertmanager.h"
#include "ingest/native.h"
#include "ingest/pagerduty.h"
#include "schema/timefmt.h"
#include "server/api.h"
#include "server/auth.h"
#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/core/pg.h"
#include "server/registry.h"
#include "server/server.h"

/* One event's result, appended to b as the answer's item (written as text:
 * the answer to a batch is the ingest path's one serialization). The
 * fingerprint is hex and the ids are digits: nothing to escape. */
static void ing_result_put(struct ac_buf *b, const struct ac_event *ev,
                           const struct ac_ingest_result *res, size_t index)
{
    if (res->dropped) {
        ac_buf_printf(
            b, "{\"index\":%zu,\"dropped\":true,\"rule_id\":\"%lld\",\"fingerprint\":\"%s\"}",
            index, (long long)res->rule_id, ev->fingerprint);
        return;
    }
    ac_buf_printf(b, "{\"index\":%zu,\"event_id\":", index);
    if (res->event_id) {
        ac_buf_printf(b, "\"%lld\"", (long long)res->event_id);
    }
    else {
        ac_buf_appends(b, "null");
    }
    ac_buf_appends(b, ",\"alert_id\":");
    if (res->alert_id) {
        ac_buf_printf(b, "\"%lld\"", (long long)res->alert_id);
    }
    else {
        ac_buf_appends(b, "null");
    }
    ac_buf_printf(b, ",\"fingerprint\":\"%s\",\"duplicate\":%s%s}", ev->fingerprint,
                  res->duplicate ? "true" : "false", res->folded ? ",\"folded\":true" : "");
}

/* Answers a decoded body: 413/400 for what the decoder refused (rc, details
 * stolen), else runs the pipeline and answers per event; truncated (may be
 * NULL: not a webhook) adds the webhook's truncated_alerts to the answer.
 * Releases evs. */
static void ing_submit(struct ac_http_req *r, int rc, struct ac_event_vec *evs, json_t *details,
                       const long *truncated)
{
    struct ac_ingest_result *results = NULL;
    struct ac_buf b = {0};
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
        goto cleanup;
    }
    for (size_t i = 0; i < evs->n; i++) {
        dups += results[i].duplicate;
        dropped += results[i].dropped;
    }
    ac_buf_printf(&b, "{\"accepted\":%zu,\"duplicates\":%zu,\"dropped\":%zu,\"items\":[",
                  evs->n - dups - dropped, dups, dropped);
    for (size_t i = 0; i < evs->n; i++) {
        if (i) {
            ac_buf_append(&b, ",", 1);
        }
        ing_result_put(&b, &evs->items[i], &results[i], i);
    }
    ac_buf_append(&b, "]", 1);
    if (truncated) {
        ac_buf_printf(&b, ",\"truncated_alerts\":%ld", *truncated);
    }
    ac_buf_append(&b, "}\n", 2);
    ac_http_reply_text(r, 200, b.data, b.len, "application/json");
    b.data = NULL;
cleanup:
    ac_buf_deinit(&b);
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
    ing_submit(r, rc, &evs, details, &truncated);
}

/* PagerDuty's answer shape, with ours (error) beside it for a refusal. */
static void pd_reply(struct ac_http_req *r, unsigned status, const char *pd_status,
                     const char *message, json_t *errors, const char *dedup_key)
{
    json_t *body = json_pack("{s:s, s:s}", "status", pd_status, "message", message);

    if (dedup_key) {
        json_object_set_new(body, "dedup_key", json_string(dedup_key));
    }
    if (errors) {
        json_t *details = json_array();
        size_t i;
        json_t *e;
        json_array_foreach(errors, i, e)
        {
            json_array_append_new(details, json_pack("{s:s, s:O}", "path", "$", "message", e));
        }
        json_object_set(body, "errors", errors);
        json_object_set_new(body, "error",
                            json_pack("{s:s, s:s, s:o}", "code",
                                      status == 400 ? "invalid_event" : "unavailable", "message",
                                      message, "details", details));
    }
    ac_http_reply_json(r, status, body);
}

/* Acknowledges the open alert the event names (by its fingerprint), if any. */
static int pd_acknowledge(struct ac_http_req *r, const struct ac_event *ev, const char *who)
{
    PGconn *c = ac_pg_pool_acquire(r->srv->pool, 5000);
    char *actor = ac_xasprintf("pagerduty:%s", who), *details;
    json_t *d = json_pack("{s:s, s:s}", "via", "PagerDuty Events API", "dedup_key",
                          json_string_value(json_object_get(ev->labels, "dedup_key")));
    PGresult *res;
    int rc = AC_EDB;

    details = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    if (c) {
        const char *p[3] = {ev->fingerprint, actor, details};
        res = ac_pg_query(c, "ingest",
                          "SELECT ac_alert_transition(id, 'ack', $2, $3::jsonb) FROM alerts"
                          " WHERE fingerprint = $1 AND status <> 'resolved'",
                          3, p);
        if (res) {
            rc = AC_OK;
            if (PQntuples(res) > 0) {
                ac_log(AC_LOG_INFO, "ingest", "pagerduty: acknowledge by %s: %s", actor,
                       PQgetvalue(res, 0, 0));
            }
        }
        PQclear(res);
        ac_pg_pool_release(r->srv->pool, c);
    }
    free(actor);
    free(details);
    return rc;
}

/* POST /v2/enqueue: the PagerDuty Events API v2. Authorized by a bearer
 * token of the ingest scope, or - as PagerDuty senders do - by the routing
 * key, which is such a token. */
void ac_api_ingest_pagerduty(struct ac_http_req *r)
{
    const char *tenant;
    struct ac_pd_request req;
    json_t *errors = NULL;
    const char *auth = ac_http_header(r, MHD_HTTP_HEADER_AUTHORIZATION), *who = NULL;
    char *bearer = NULL;
    enum ac_auth_verdict v;
    struct ac_event_vec evs = {0};
    struct ac_ingest_result res;
    int rc;

    if (ac_pd_parse(r->body, r->body_len, &req, &errors) != AC_OK) {
        pd_reply(r, 400, "invalid event", "Event object is invalid", errors, NULL);
        json_decref(errors);
        return;
    }
    if (!auth) {
        bearer = ac_xasprintf("Bearer %s", req.routing_key);
    }
    v = ac_auth_check(r->srv->auth, auth ? auth : bearer, AC_SCOPE_INGEST, &who, &tenant);
    free(bearer);
    if (v != AC_AUTH_OK) {
        ac_http_reply_json(
            r, v == AC_AUTH_FORBIDDEN ? 403 : 401,
            json_pack(
                "{s:s, s:s, s:{s:s, s:s, s:[]}}", "status", "unauthorized", "message",
                auth ? "the bearer token is not valid for ingest" : "the routing key is not valid",
                "error", "code", v == AC_AUTH_FORBIDDEN ? "forbidden" : "unauthorized", "message",
                auth ? "the bearer token is not valid for ingest"
                     : "the routing key is not valid (it is a token of the ingest scope)",
                "details"));
        ac_pd_request_deinit(&req);
        return;
    }
    errors = json_array();
    if (ac_pd_event(&req, ac_pd_route_for(&r->srv->pagerduty, who), ac_time_now_us(),
                    ac_event_vec_push(&evs), errors) != AC_OK) {
        evs.n = 0; /* the slot was left empty */
        pd_reply(r, 400, "invalid event", "Event object is invalid", errors, NULL);
        goto out;
    }
    if (req.action == AC_PD_ACKNOWLEDGE) {
        ac_registry_normalize(r->srv->registry, &evs.items[0]);
        rc = pd_acknowledge(r, &evs.items[0], who);
    }
    else {
        rc = r->srv->sink.submit(r->srv->sink.ctx, &evs, &res);
    }
    if (rc != AC_OK) {
        json_t *why = json_pack("[s]", "the server is overloaded or its database unavailable");
        pd_reply(r, 503, "unavailable", "retry later", why, NULL);
        ac_http_add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
        json_decref(why);
        goto out;
    }
    pd_reply(r, 202, "success", "Event processed", NULL, req.dedup_key);
out:
    json_decref(errors);
    ac_event_vec_deinit(&evs);
    ac_pd_request_deinit(&req);
}
