/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Auto-resolve sweeper thread; see sweeper.h.
 *
 * Each pass lists candidates without locking anything, then resolves them one
 * statement (one transaction) at a time through ac_alert_transition(), which
 * takes the fingerprint lock and re-checks that no event arrived since the
 * candidate was listed. Holding one lock at a time means the sweeper can
 * never deadlock with ingest, which locks many fingerprints in sorted order.
 */
#include "server/sweeper.h"

#include <stdio.h>
#include <stdlib.h>

#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/core/pg.h"
#include "server/core/worker.h"

#define SW_BATCH_MAX "1000"

/* Idle past the resolve timeout (from the latest event or re-send), or past
 * the end the source declared with no re-send since. With a default timeout
 * ($1 > 0) every open alert may time out, so every one is looked at. */
#define SQL_SW_CANDIDATES                                                                          \
    "SELECT a.id, c.tmo, a.ends_at IS NOT NULL AND a.ends_at < now() FROM alerts a"                \
    " LEFT JOIN types t ON t.type = a.type,"                                                       \
    " LATERAL (SELECT coalesce(t.resolve_timeout_s, $1::int) AS tmo) c"                            \
    " WHERE a.status <> 'resolved' AND ((c.tmo > 0"                                                \
    " AND a.last_seen < now() - make_interval(secs => c.tmo)) OR (a.ends_at IS NOT NULL"           \
    " AND a.ends_at < now())) ORDER BY a.id LIMIT " SW_BATCH_MAX
/* The same without a default timeout (the default): not a scan of every open
 * alert each pass (a million of them cost about a second of CPU), but the
 * ended ones from their partial index (alerts_ends) and the idle ones of the
 * types that have a timeout of their own. */
#define SQL_SW_CANDIDATES_TYPED                                                                    \
    "SELECT id, tmo, ended FROM ("                                                                 \
    " SELECT a.id, 0 AS tmo, true AS ended FROM alerts a"                                          \
    " WHERE a.status <> 'resolved' AND a.ends_at IS NOT NULL AND a.ends_at < now()"                \
    " UNION ALL"                                                                                   \
    " SELECT a.id, t.resolve_timeout_s, false FROM types t JOIN alerts a ON a.type = t.type"       \
    " WHERE t.resolve_timeout_s > 0 AND a.status <> 'resolved'"                                    \
    " AND a.last_seen < now() - make_interval(secs => t.resolve_timeout_s)"                        \
    " AND NOT coalesce(a.ends_at < now(), false)"                                                  \
    ") x ORDER BY id LIMIT " SW_BATCH_MAX
#define SQL_SW_RESOLVE                                                                             \
    "SELECT ac_alert_transition($1::bigint, 'resolve', 'system:auto-resolve',"                     \
    " jsonb_build_object('reason', 'no events within the resolve timeout',"                        \
    " 'resolve_timeout_s', $2::int), now() - make_interval(secs => $2::int))"
#define SQL_SW_ENDED                                                                               \
    "SELECT ac_alert_transition($1::bigint, 'resolve', 'system:ends-at',"                          \
    " jsonb_build_object('reason', 'its source stopped re-sending it past its end'), NULL,"        \
    " now())"

struct ac_sweeper {
    const struct ac_config *cfg;
    struct ac_worker *worker; /* leads AC_LOCK_SWEEPER */
};

static enum ac_worker_pass sw_pass(void *ctx, struct ac_worker *w, PGconn *c)
{
    struct ac_sweeper *s = ctx;
    char def[24];
    const char *p[2] = {def, NULL};
    PGresult *cand, *res;
    int resolved = 0;

    (void)snprintf(def, sizeof(def), "%ld", s->cfg->default_resolve_timeout_s);
    if (s->cfg->default_resolve_timeout_s > 0) {
        cand = ac_pg_query(c, "sweeper", SQL_SW_CANDIDATES, 1, p);
    }
    else {
        cand = ac_pg_query(c, "sweeper", SQL_SW_CANDIDATES_TYPED, 0, NULL);
    }
    if (!cand) {
        return AC_WORKER_FAIL;
    }
    for (int i = 0; i < PQntuples(cand) && !ac_worker_stopping(w); i++) {
        bool ended = PQgetvalue(cand, i, 2)[0] == 't';
        p[0] = PQgetvalue(cand, i, 0);
        p[1] = PQgetvalue(cand, i, 1);
        res = ac_pg_query(c, "sweeper", ended ? SQL_SW_ENDED : SQL_SW_RESOLVE, ended ? 1 : 2, p);
        if (res && PQgetvalue(res, 0, 0)[0] == 'o') { /* "ok" */
            resolved++;
        }
        PQclear(res);
    }
    PQclear(cand);
    if (resolved > 0) {
        ac_log(AC_LOG_INFO, "sweeper", "auto-resolved alerts=%d", resolved);
    }
    return AC_WORKER_IDLE;
}

struct ac_sweeper *ac_sweeper_start(const struct ac_config *cfg)
{
    struct ac_sweeper *s = ac_xcalloc(1, sizeof(*s));
    struct ac_worker_def def = {.name = "sweeper",
                                .dsn = cfg->pg_dsn,
                                .lead_key = AC_LOCK_SWEEPER,
                                .duty = "sweeps (auto-resolve)",
                                .period_ms = cfg->sweep_interval_ms,
                                .pass = sw_pass,
                                .ctx = s};

    s->cfg = cfg;
    if (!(s->worker = ac_worker_start(&def))) {
        free(s);
        return NULL;
    }
    return s;
}

void ac_sweeper_stop(struct ac_sweeper *s)
{
    if (!s) {
        return;
    }
    ac_worker_stop(s->worker);
    free(s);
}
