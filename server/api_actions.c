/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GET /v1/actions/{token}: the ChatOps buttons (DESIGN §6). The token is the
 * authorization (escalation/notify/action.h): forged, altered or expired -> 403
 * and nothing done. Acknowledge and resolve move the alert as the API does;
 * silence silences it for an hour; stop diagnosis, restart app and delete
 * instance are forwarded, signed, to the O&M webhook and its answer shown.
 * Every action is an audit-log entry naming the contact the link was sent to.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escalation/notify/action.h"
#include "schema/timefmt.h"
#include "server/api.h"
#include "server/apikit.h"
#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/core/pg.h"
#include "server/server.h"

#define ACT_RESULT_MAX 4096

#define SQL_ACT_WHO                                                                                \
    "SELECT coalesce((SELECT 'contact:' || name FROM contacts WHERE id = $1::bigint),"             \
    " 'contact:' || $1)"
#define SQL_ACT_TRANSITION "SELECT ac_alert_transition($1::bigint, $2, $3, $4::jsonb)"
#define SQL_ACT_SILENCE                                                                            \
    "WITH s AS (INSERT INTO silences (alert_id, ends_at, comment, created_by) SELECT a.id,"        \
    " now() + interval '1 hour', 'from a chat action', $2 FROM alerts a WHERE a.id = $1::bigint"   \
    " RETURNING *), a AS (INSERT INTO audit_log (actor, action, target_type, target_id, details)"  \
    " SELECT $2, 'silence.create', 'silence', s.id::text, ac_silence_json(s) FROM s)"              \
    " SELECT s.id FROM s"
#define SQL_ACT_ALERT "SELECT ac_alert_json(a)::text FROM alerts a WHERE a.id = $1::bigint"
#define SQL_ACT_AUDIT                                                                              \
    "INSERT INTO audit_log (actor, action, target_type, target_id, details)"                       \
    " VALUES ($1, 'alert.action', 'alert', $2, $3::jsonb)"

/* Forwards an O&M action; fills status and the answer. */
static int act_forward(const struct ac_channel *om, json_t *ctx, long *status, char **answer)
{
    struct ac_http_out out = {0};
    struct ac_http_answer resp = {.max = ACT_RESULT_MAX};
    struct curl_slist *h;
    CURL *c;
    CURLcode rc;

    *status = 0;
    if (om->ops->build(om, ctx, ac_time_now_us() / 1000, &out) != AC_OK) {
        return AC_EINVAL;
    }
    c = ac_channel_easy(om, &out, &resp, &h);
    rc = curl_easy_perform(c);
    if (rc == CURLE_OK) {
        (void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    }
    *answer = rc == CURLE_OK ? (resp.body.data ? ac_buf_steal(&resp.body) : ac_xstrdup(""))
                             : ac_xstrdup(curl_easy_strerror(rc));
    ac_buf_deinit(&resp.body);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    ac_http_out_deinit(&out);
    return rc == CURLE_OK && *status >= 200 && *status < 300 ? AC_OK : AC_EAGAIN;
}

void ac_api_action(struct ac_http_req *r)
{
    const struct ac_notify_config *nc = &r->srv->notify;
    struct ac_action_link l;
    enum ac_action_check chk;
    char alert[24], contact[24], *who = NULL;
    const char *p[4];
    PGconn *c = NULL;
    PGresult *res = NULL;
    json_t *out = NULL;

    if (!nc->action_secret) {
        ac_http_reply_error(r, 404, "not_found", "action links are not configured", NULL);
        return;
    }
    chk = ac_action_verify(nc->action_secret, r->path_arg, ac_time_now_us() / 1000000, &l);
    if (chk != AC_ACTION_OK) {
        ac_log(AC_LOG_WARN, "api", "action link refused: %s",
               chk == AC_ACTION_EXPIRED ? "expired" : "forged or altered");
        ac_http_reply_error(r, 403, "forbidden",
                            chk == AC_ACTION_EXPIRED ? "this action link has expired"
                                                     : "this action link is not valid",
                            NULL);
        return;
    }
    if (ac_action_is_om(l.action) && !nc->om.ops) {
        ac_http_reply_error(r, 404, "not_found", "no O&M webhook is configured", NULL);
        return;
    }
    if (!(c = ac_api_db(r))) {
        return;
    }
    (void)snprintf(alert, sizeof(alert), "%lld", (long long)l.alert);
    (void)snprintf(contact, sizeof(contact), "%lld", (long long)l.contact);
    p[0] = contact;
    res = ac_pg_query(c, "api", SQL_ACT_WHO, 1, p);
    who = ac_xstrdup(PQresultStatus(res) == PGRES_TUPLES_OK && l.contact ? PQgetvalue(res, 0, 0)
                                                                         : "chat");
    PQclear(res);
    out = json_pack("{s:s, s:s, s:s}", "action", ac_action_name(l.action), "alert_id", alert, "by",
                    who);
    if (l.action == AC_ACTION_ACK || l.action == AC_ACTION_RESOLVE) {
        const char *outcome;
        p[0] = alert;
        p[1] = l.action == AC_ACTION_ACK ? "ack" : "resolve";
        p[2] = who;
        p[3] = "{\"via\":\"action link\"}";
        res = ac_pg_query(c, "api", SQL_ACT_TRANSITION, 4, p);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            ac_http_reply_error(r, 503, "unavailable", "the database is unavailable; retry", NULL);
            goto out;
        }
        outcome = PQgetvalue(res, 0, 0);
        if (strcmp(outcome, "not_found") == 0) {
            ac_http_reply_error(r, 404, "not_found", "no such alert", NULL);
            goto out;
        }
        if (strcmp(outcome, "ok") != 0) {
            char *m = ac_xasprintf("the alert is %s already", outcome);
            ac_http_reply_error(r, 409, "conflict", m, NULL);
            free(m);
            goto out;
        }
    }
    else if (l.action == AC_ACTION_SILENCE) {
        p[0] = alert;
        p[1] = who;
        res = ac_pg_query(c, "api", SQL_ACT_SILENCE, 2, p);
        if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) == 0) {
            ac_http_reply_error(r, PQresultStatus(res) == PGRES_TUPLES_OK ? 404 : 503,
                                PQresultStatus(res) == PGRES_TUPLES_OK ? "not_found"
                                                                       : "unavailable",
                                "the alert could not be silenced", NULL);
            goto out;
        }
        (void)json_object_set_new(out, "silence_id", json_string(PQgetvalue(res, 0, 0)));
    }
    else {
        json_t *ctx, *details;
        long status;
        char *answer = NULL, *ds;
        int rc;
        p[0] = alert;
        res = ac_pg_query(c, "api", SQL_ACT_ALERT, 1, p);
        if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) == 0) {
            ac_http_reply_error(r, 404, "not_found", "no such alert", NULL);
            goto out;
        }
        ctx = json_pack("{s:s, s:o, s:s}", "action", ac_action_name(l.action), "alert",
                        json_loads(PQgetvalue(res, 0, 0), 0, NULL), "by", who);
        rc = act_forward(&nc->om, ctx, &status, &answer);
        json_decref(ctx);
        details = json_pack("{s:s, s:i, s:s}", "action", ac_action_name(l.action), "status",
                            (json_int_t)status, "answer", answer ? answer : "");
        ds = json_dumps(details, JSON_COMPACT);
        PQclear(res);
        p[0] = who;
        p[1] = alert;
        p[2] = ds;
        res = ac_pg_query(c, "api", SQL_ACT_AUDIT, 3, p);
        free(ds);
        (void)json_object_set_new(out, "result", details);
        free(answer);
        if (rc != AC_OK) {
            ac_http_reply_json(r, 502, out);
            out = NULL;
            goto out;
        }
    }
    ac_log(AC_LOG_INFO, "api", "action %s on alert %s by %s", ac_action_name(l.action), alert, who);
    (void)json_object_set_new(out, "ok", json_true());
    ac_http_reply_json(r, 200, out);
    out = NULL;
out:
    json_decref(out);
    PQclear(res);
    ac_api_db_release(r, c);
    free(who);
}
