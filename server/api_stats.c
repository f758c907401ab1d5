/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GET /v1/stats?from=&to=&by=level|type|app_id|team (scope read): how fast
 * alerts were handled. Over the alerts created in [from, to) (default: the
 * last 7 days), per group:
 *   - MTTD: the problem observed (the first event's occurred_at, the
 *     alert's first_seen) until the alert existed (created_at);
 *   - MTTA: its incident's first delivered notification until the alert
 *     was acknowledged (alerts acknowledged after a delivery);
 *   - MTTR: created until resolved (resolved alerts);
 * each as count, mean, p50 and p90 in seconds, and the share within the
 * target of the alert's level (stats.targets, DESIGN §6 by default).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/timefmt.h"
#include "server/api.h"
#include "server/apikit.h"
#include "server/core/pg.h"
#include "server/server.h"

#define ST_DEFAULT_SPAN_US (7LL * 86400 * 1000000)

/* One measure's figures over m (seconds) and its target column. */
#define ST_MEASURE(m)                                                                              \
    "jsonb_build_object('count', count(a." m "), 'mean_s', round(avg(a." m ")::numeric, 3),"       \
    " 'p50_s', round((percentile_cont(0.5) WITHIN GROUP (ORDER BY a." m "))::numeric, 3),"         \
    " 'p90_s', round((percentile_cont(0.9) WITHIN GROUP (ORDER BY a." m "))::numeric, 3),"         \
    " 'within_target', round(avg(CASE WHEN a." m " IS NULL THEN NULL WHEN a." m " <= t." m         \
    " THEN 1.0 ELSE 0.0 END)::numeric, 4))"

#define SQL_STATS                                                                                  \
    "WITH t AS (SELECT * FROM jsonb_to_recordset($4::jsonb) AS t(level text, mttd float8,"         \
    " mtta float8, mttr float8)),"                                                                 \
    " a AS (SELECT CASE $3 WHEN 'level' THEN a.level WHEN 'type' THEN a.type"                      \
    " WHEN 'app_id' THEN a.app_id ELSE a.team_id::text END AS k, a.level,"                         \
    " greatest(extract(epoch FROM a.created_at - a.first_seen), 0)::float8 AS mttd,"               \
    " CASE WHEN a.acked_at IS NOT NULL AND i.delivered_at IS NOT NULL AND a.acked_at >="           \
    " i.delivered_at THEN extract(epoch FROM a.acked_at - i.delivered_at)::float8 END AS mtta,"    \
    " CASE WHEN a.resolved_at IS NOT NULL THEN greatest(extract(epoch FROM a.resolved_at -"        \
    " a.created_at), 0)::float8 END AS mttr"                                                       \
    " FROM alerts a LEFT JOIN incidents i ON i.id = a.incident_id"                                 \
    " WHERE a.created_at >= $1::timestamptz AND a.created_at < $2::timestamptz)"                   \
    " SELECT jsonb_build_object('from', ac_rfc3339($1::timestamptz), 'to',"                        \
    " ac_rfc3339($2::timestamptz), 'by', $3::text, 'targets', (SELECT jsonb_object_agg(t.level,"   \
    " jsonb_build_object('mttd_s', t.mttd, 'mtta_s', t.mtta, 'mttr_s', t.mttr)) FROM t),"          \
    " 'groups', coalesce((SELECT jsonb_agg(g.j ORDER BY g.n DESC, g.k) FROM (SELECT a.k, count(*)" \
    " AS n, jsonb_build_object('key', a.k, 'name', CASE WHEN $3 = 'team' THEN (SELECT tm.name"     \
    " FROM teams tm WHERE tm.id::text = a.k) END, 'alerts', count(*), 'mttd', " ST_MEASURE(        \
        "mttd") ", 'mtta', " ST_MEASURE("mtta") ", 'mttr', " ST_MEASURE("mttr") ") AS j FROM a "   \
                                                                                "JOIN t ON "       \
                                                                                "t.level = "       \
                                                                                "a.level GROUP "   \
                                                                                "BY a.k) g), "     \
                                                                                "'[]'::jsonb))::"  \
                                                                                "text"

static const char *const st_by[] = {"level", "type", "app_id", "team", NULL};

/* The targets per level, [{level, mttd, mtta, mttr}] in seconds: the
 * configured ones (stats.targets) over DESIGN §6's (new). */
static char *st_targets(const json_t *cfg)
{
    static const long dflt[4][3] = {
        {60, 300, 600}, {60, 600, 3600}, {60, 3600, 86400}, {3600, 86400, 7 * 86400}};
    static const char *const names[3] = {"mttd_s", "mtta_s", "mttr_s"};
    json_t *out = json_array();
    char *s;

    for (int l = 0; l < 4; l++) {
        char level[4];
        json_t *lv;
        (void)snprintf(level, sizeof(level), "P%d", l + 1);
        lv = json_object_get(json_object_get(cfg, "targets"), level);
        json_array_append_new(
            out,
            json_pack(
                "{s:s, s:I, s:I, s:I}", "level", level, "mttd",
                json_integer_value(json_object_get(lv, names[0])) ?: (json_int_t)dflt[l][0], "mtta",
                json_integer_value(json_object_get(lv, names[1])) ?: (json_int_t)dflt[l][1], "mttr",
                json_integer_value(json_object_get(lv, names[2])) ?: (json_int_t)dflt[l][2]));
    }
    s = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    return s;
}

int ac_stats_config_check(const json_t *cfg, json_t *errs)
{
    const char *level, *k;
    json_t *lv, *v;
    int rc = 0;

    if (!cfg) {
        return 0;
    }
    json_object_foreach((json_t *)json_object_get(cfg, "targets"), level, lv)
    {
        if (strlen(level) != 2 || level[0] != 'P' || level[1] < '1' || level[1] > '4' ||
            !json_is_object(lv)) {
            json_array_append_new(errs, json_sprintf("stats.targets.%s: must be P1..P4: {mttd_s,"
                                                     " mtta_s, mttr_s}",
                                                     level));
            rc = -1;
            continue;
        }
        json_object_foreach(lv, k, v)
        {
            if ((strcmp(k, "mttd_s") && strcmp(k, "mtta_s") && strcmp(k, "mttr_s")) ||
                !json_is_integer(v) || json_integer_value(v) < 1) {
                json_array_append_new(
                    errs, json_sprintf("stats.targets.%s.%s: must be mttd_s, mtta_s or mttr_s,"
                                       " a positive number of seconds",
                                       level, k));
                rc = -1;
            }
        }
    }
    return rc;
}

void ac_api_stats(struct ac_http_req *r)
{
    static const char *const allowed[] = {"from", "to", "by", NULL};
    char from[AC_TIME_STRLEN], to[AC_TIME_STRLEN];
    const char *v, *by = "level", *p[4];
    int64_t f_us, t_us = ac_time_now_us();
    char *targets;
    PGconn *c;
    PGresult *res;

    if ((v = ac_http_unknown_arg(r, allowed)) != NULL) {
        ac_api_bad_query(r, v, "is not a parameter of stats");
        return;
    }
    if ((v = ac_http_arg(r, "to")) && !ac_time_parse(v, &t_us)) {
        ac_api_bad_query(r, "to", "must be an RFC 3339 timestamp");
        return;
    }
    f_us = t_us - ST_DEFAULT_SPAN_US;
    if ((v = ac_http_arg(r, "from")) && !ac_time_parse(v, &f_us)) {
        ac_api_bad_query(r, "from", "must be an RFC 3339 timestamp");
        return;
    }
    if (f_us >= t_us) {
        ac_api_bad_query(r, "from", "must be before to");
        return;
    }
    if ((v = ac_http_arg(r, "by")) != NULL) {
        by = NULL;
        for (int i = 0; st_by[i]; i++) {
            by = strcmp(st_by[i], v) == 0 ? st_by[i] : by;
        }
        if (!by) {
            ac_api_bad_query(r, "by", "must be one of level, type, app_id, team");
            return;
        }
    }
    if (!(c = ac_api_db(r))) {
        return;
    }
    ac_time_format(f_us, from);
    ac_time_format(t_us, to);
    targets = st_targets(r->srv->cfg.stats);
    p[0] = from;
    p[1] = to;
    p[2] = by;
    p[3] = targets;
    if (!(res = ac_pg_query(c, NULL, SQL_STATS, 4, p))) {
        ac_api_unavailable(r, c, "stats");
    }
    else {
        ac_api_reply_row(r, res, 200);
    }
    PQclear(res);
    free(targets);
    ac_api_db_release(r, c);
}

/* GET /v1/summary?type=&team_id=&app_id=: what is open now, counted per
 * level: incidents and alerts not resolved, and how many of them are
 * acknowledged (the console's level cards; cheap on partial indexes). An
 * incident counts for app_id when one of its open alerts is of that app. */
#define SQL_SUMMARY                                                                                \
    "WITH a AS (SELECT level, status FROM alerts WHERE status <> 'resolved'"                       \
    " AND ($1::text IS NULL OR type = $1) AND ($2::bigint IS NULL OR team_id = $2)"                \
    " AND ($3::text IS NULL OR app_id = $3)),"                                                     \
    " i AS (SELECT level, status FROM incidents n WHERE status <> 'resolved'"                      \
    " AND ($1::text IS NULL OR type = $1) AND ($2::bigint IS NULL OR team_id = $2)"                \
    " AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM alerts x WHERE x.incident_id = n.id"          \
    " AND x.status <> 'resolved' AND x.app_id = $3)))"                                             \
    " SELECT jsonb_build_object("                                                                  \
    " 'alerts', (SELECT jsonb_object_agg(l, (SELECT count(*) FROM a WHERE a.level = l))"           \
    "   FROM unnest(ARRAY['P1','P2','P3','P4']) l),"                                               \
    " 'alerts_acknowledged', (SELECT jsonb_object_agg(l, (SELECT count(*) FROM a"                  \
    "   WHERE a.level = l AND a.status = 'acknowledged')) FROM "                                   \
    "unnest(ARRAY['P1','P2','P3','P4']) l),"                                                       \
    " 'incidents', (SELECT jsonb_object_agg(l, (SELECT count(*) FROM i WHERE i.level = l))"        \
    "   FROM unnest(ARRAY['P1','P2','P3','P4']) l),"                                               \
    " 'incidents_acknowledged', (SELECT jsonb_object_agg(l, (SELECT count(*) FROM i"               \
    "   WHERE i.level = l AND i.status = 'acknowledged'))"                                         \
    "   FROM unnest(ARRAY['P1','P2','P3','P4']) l))::text"

void ac_api_summary(struct ac_http_req *r)
{
    static const char *const allowed[] = {"type", "team_id", "app_id", NULL};
    const char *bad = ac_http_unknown_arg(r, allowed);
    const char *p[3] = {ac_http_arg(r, "type"), ac_http_arg(r, "team_id"),
                        ac_http_arg(r, "app_id")};
    PGconn *c;
    PGresult *res;

    if (bad) {
        ac_api_bad_query(r, bad, "is not a parameter here (type, team_id, app_id)");
        return;
    }
    if (p[1] && !ac_api_is_id(p[1])) {
        ac_api_bad_query(r, "team_id", "must be an id (a string of digits)");
        return;
    }
    for (int i = 0; i < 3; i++) {
        if (p[i] && strlen(p[i]) > 1024) {
            ac_api_bad_query(r, allowed[i], "is longer than 1024 bytes");
            return;
        }
    }
    if (!(c = ac_api_db(r))) {
        return;
    }
    if ((res = ac_pg_query(c, "api", SQL_SUMMARY, 3, p))) {
        ac_api_reply_row(r, res, 200);
    }
    else {
        ac_api_unavailable(r, c, "summary");
    }
    PQclear(res);
    ac_api_db_release(r, c);
}
