/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GET /metrics (scope read): the Prometheus exposition of every registered
 * collector (metrics.h), and the two collectors that belong to no module:
 * the process's own figures, and the cluster's figures read from PostgreSQL
 * at scrape time - open alerts, the outbox backlog, pending intents, open
 * escalation windows, active silences, filter drops - which every instance
 * reports alike.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/event.h"
#include "server/api.h"
#include "server/core/log.h"
#include "server/core/metrics.h"
#include "server/core/pg.h"
#include "server/core/regex.h"
#include "server/server.h"

#define MT_PG_WAIT_MS 2000

/* One statement, one row per figure: (what, label 1, label 2, value). */
#define SQL_CLUSTER                                                                                \
    "SELECT 'open', level, status, count(*)::float8 FROM alerts WHERE status <> 'resolved'"        \
    " GROUP BY level, status"                                                                      \
    " UNION ALL SELECT 'outbox', status, NULL, count(*) FROM notifications"                        \
    " WHERE status IN ('pending', 'sending') GROUP BY status"                                      \
    " UNION ALL SELECT 'outbox', 'failed', NULL, count(*) FROM notifications"                      \
    " WHERE status = 'failed'"                                                                     \
    " UNION ALL SELECT 'due_age', NULL, NULL, coalesce(extract(epoch FROM clock_timestamp() -"     \
    " min(next_at)), 0) FROM notifications WHERE status IN ('pending', 'sending')"                 \
    " AND next_at <= clock_timestamp()"                                                            \
    " UNION ALL SELECT 'intents', CASE WHEN held_by IS NULL THEN 'planning' ELSE 'held' END,"      \
    " NULL, count(*) FROM notify_intents WHERE planned_at IS NULL GROUP BY 2"                      \
    " UNION ALL SELECT 'windows', level, NULL, count(*) FROM esc_windows"                          \
    " WHERE closed_at IS NULL GROUP BY level"                                                      \
    " UNION ALL SELECT 'silences', NULL, NULL, count(*) FROM silences WHERE expired_at IS NULL"    \
    " AND starts_at <= now() AND (ends_at IS NULL OR ends_at > now())"                             \
    " UNION ALL SELECT 'drops', id::text, coalesce(name, ''), dropped FROM filter_rules"

static const char *const mt_statuses[] = {"firing", "acknowledged"};
static const char *const mt_outbox[] = {"pending", "sending", "failed"};
static const char *const mt_intents[] = {"planning", "held"};

static double mt_find(const PGresult *res, const char *what, const char *l1, const char *l2)
{
    for (int i = 0; res && i < PQntuples(res); i++) {
        if (strcmp(PQgetvalue(res, i, 0), what) == 0 &&
            (!l1 || strcmp(PQgetvalue(res, i, 1), l1) == 0) &&
            (!l2 || strcmp(PQgetvalue(res, i, 2), l2) == 0)) {
            return strtod(PQgetvalue(res, i, 3), NULL);
        }
    }
    return 0;
}

static PGresult *mt_query(struct ac_server *srv)
{
    PGconn *c = ac_pg_pool_acquire(srv->pool, MT_PG_WAIT_MS);
    PGresult *out = NULL;

    if (!c) {
        return NULL;
    }
    /* read only, and bounded: a slow scrape must not hold a pool connection */
    if (ac_pg_run(c, "metrics", "BEGIN READ ONLY", 0, NULL) &&
        ac_pg_run(c, "metrics", "SET LOCAL statement_timeout = 5000", 0, NULL)) {
        out = ac_pg_query(c, "metrics", SQL_CLUSTER, 0, NULL);
    }
    ac_pg_rollback(c);
    ac_pg_pool_release(srv->pool, c);
    return out;
}

static void mt_collect_cluster(void *ctx, struct ac_metrics_out *o)
{
    struct ac_server *srv = ctx;
    PGresult *res = mt_query(srv);

    ac_metrics_single(o, "ac_cluster_scrape_ok", "gauge",
                      "1 if the cluster figures (ac_alerts_open ... ac_filter_dropped_events_total)"
                      " could be read from PostgreSQL in this scrape, else 0 and they are absent.",
                      res ? 1 : 0);
    if (!res) {
        return;
    }
    ac_metrics_family(
        o, "ac_alerts_open", "gauge",
        "Open alerts by level and status (cluster-wide, the same on every instance).");
    for (int l = AC_LEVEL_P1; l <= AC_LEVEL_P4; l++) {
        for (size_t s = 0; s < sizeof(mt_statuses) / sizeof(*mt_statuses); s++) {
            const char *ln = ac_level_name((enum ac_level)l);
            ac_metrics_sample(o, "ac_alerts_open", mt_find(res, "open", ln, mt_statuses[s]),
                              "level", ln, "status", mt_statuses[s], NULL);
        }
    }
    ac_metrics_family(o, "ac_outbox_notifications", "gauge",
                      "Notifications in the outbox not sent, by status (cluster-wide); failed ones"
                      " stay until an operator looks.");
    for (size_t s = 0; s < sizeof(mt_outbox) / sizeof(*mt_outbox); s++) {
        ac_metrics_sample(o, "ac_outbox_notifications", mt_find(res, "outbox", mt_outbox[s], NULL),
                          "status", mt_outbox[s], NULL);
    }
    ac_metrics_single(o, "ac_outbox_oldest_due_seconds", "gauge",
                      "How long the oldest due notification has waited (cluster-wide; 0 when none"
                      " is due): a growing figure means sending is behind or a gateway is down.",
                      mt_find(res, "due_age", NULL, NULL));
    ac_metrics_family(o, "ac_notify_intents_pending", "gauge",
                      "Notification intents not planned yet (cluster-wide): planning, or held by a"
                      " silence.");
    for (size_t s = 0; s < sizeof(mt_intents) / sizeof(*mt_intents); s++) {
        ac_metrics_sample(o, "ac_notify_intents_pending",
                          mt_find(res, "intents", mt_intents[s], NULL), "state", mt_intents[s],
                          NULL);
    }
    ac_metrics_family(
        o, "ac_escalation_windows_open", "gauge",
        "Open escalation windows by the level the policy raised them to (cluster-wide).");
    for (int l = AC_LEVEL_P1; l <= AC_LEVEL_P4; l++) {
        const char *ln = ac_level_name((enum ac_level)l);
        ac_metrics_sample(o, "ac_escalation_windows_open", mt_find(res, "windows", ln, NULL),
                          "level", ln, NULL);
    }
    ac_metrics_single(o, "ac_silences_active", "gauge", "Silences in effect now (cluster-wide).",
                      mt_find(res, "silences", NULL, NULL));
    ac_metrics_family(o, "ac_filter_dropped_events_total", "counter",
                      "Events dropped by each filter rule, summed over instances (cluster-wide;"
                      " each instance adds its drops every reload poll).");
    for (int i = 0; i < PQntuples(res); i++) {
        if (strcmp(PQgetvalue(res, i, 0), "drops") == 0) {
            ac_metrics_sample(o, "ac_filter_dropped_events_total",
                              strtod(PQgetvalue(res, i, 3), NULL), "rule_id", PQgetvalue(res, i, 1),
                              "rule", PQgetvalue(res, i, 2), NULL);
        }
    }
    PQclear(res);
}

static void mt_collect_process(void *ctx, struct ac_metrics_out *o)
{
    struct ac_server *srv = ctx;

    ac_metrics_family(o, "ac_regex_compiles_total", "counter",
                      "Regular expressions compiled (each distinct matcher pattern once while in"
                      " use).");
    ac_metrics_sample(o, "ac_regex_compiles_total", (double)ac_regex_compiles(), NULL);
    ac_metrics_family(o, "ac_build_info", "gauge", "The running version (always 1).");
    ac_metrics_sample(o, "ac_build_info", 1, "version", AC_VERSION, NULL);
    ac_metrics_single(o, "ac_process_start_time_seconds", "gauge",
                      "When this instance started, in seconds since the epoch.",
                      (double)srv->started_us / 1e6);
    ac_metrics_family(o, "ac_pipeline_events_total", "counter",
                      "Events this instance's pipeline received from every source, by outcome:"
                      " dropped by a filter rule, or passed to the writer.");
    ac_metrics_sample(o, "ac_pipeline_events_total",
                      (double)__atomic_load_n(&srv->n_dropped, __ATOMIC_RELAXED), "outcome",
                      "dropped", NULL);
    ac_metrics_sample(o, "ac_pipeline_events_total",
                      (double)__atomic_load_n(&srv->n_submitted, __ATOMIC_RELAXED), "outcome",
                      "submitted", NULL);
}

void ac_api_metrics_register(struct ac_server *srv)
{
    ac_metrics_register(srv->metrics, mt_collect_process, srv);
    ac_metrics_register(srv->metrics, mt_collect_cluster, srv);
}

void ac_api_metrics(struct ac_http_req *r)
{
    size_t len;
    char *text = ac_metrics_render(r->srv->metrics, &len);

    ac_http_reply_text(r, 200, text, len, "text/plain; version=0.0.4; charset=utf-8");
}
