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

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/core/pg.h"

#define SW_TICK_MS   100
#define SW_BATCH_MAX "1000"

#define SQL_SW_CANDIDATES                                                                          \
    "SELECT a.id, c.tmo FROM alerts a LEFT JOIN types t ON t.type = a.type,"                       \
    " LATERAL (SELECT coalesce(t.resolve_timeout_s, $1::int) AS tmo) c"                            \
    " WHERE a.status <> 'resolved' AND c.tmo > 0"                                                  \
    " AND a.last_seen < now() - make_interval(secs => c.tmo) ORDER BY a.id LIMIT " SW_BATCH_MAX
#define SQL_SW_RESOLVE                                                                             \
    "SELECT ac_alert_transition($1::bigint, 'resolve', 'system:auto-resolve',"                     \
    " jsonb_build_object('reason', 'no events within the resolve timeout',"                        \
    " 'resolve_timeout_s', $2::int), now() - make_interval(secs => $2::int))"

struct ac_sweeper {
    const struct ac_config *cfg;
    pthread_t thread;
    int stop;                 /* atomic */
    struct ac_pg_leader lead; /* advisory lock (16707, 2) */
};

static void sw_pass(struct ac_sweeper *s)
{
    char def[24];
    const char *p[2] = {def, NULL};
    PGresult *cand, *res;
    int resolved = 0;

    (void)snprintf(def, sizeof(def), "%ld", s->cfg->default_resolve_timeout_s);
    cand = PQexecParams(s->lead.conn, SQL_SW_CANDIDATES, 1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(cand) != PGRES_TUPLES_OK) {
        ac_log(AC_LOG_WARN, "sweeper", "candidate query failed: %s", PQerrorMessage(s->lead.conn));
        PQclear(cand);
        return;
    }
    for (int i = 0; i < PQntuples(cand) && !__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE); i++) {
        p[0] = PQgetvalue(cand, i, 0);
        p[1] = PQgetvalue(cand, i, 1);
        res = PQexecParams(s->lead.conn, SQL_SW_RESOLVE, 2, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(res) == PGRES_TUPLES_OK && PQgetvalue(res, 0, 0)[0] == 'o') { /* "ok" */
            resolved++;
        }
        else if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            ac_log(AC_LOG_WARN, "sweeper", "resolve failed: %s", PQerrorMessage(s->lead.conn));
        }
        PQclear(res);
    }
    PQclear(cand);
    if (resolved > 0) {
        ac_log(AC_LOG_INFO, "sweeper", "auto-resolved alerts=%d", resolved);
    }
}

static void *sw_main(void *arg)
{
    struct ac_sweeper *s = arg;
    struct timespec tick = {0, SW_TICK_MS * 1000000L};
    long waited = s->cfg->sweep_interval_ms; /* first pass right away */

    while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
        if (waited >= s->cfg->sweep_interval_ms) {
            waited = 0;
            if (ac_pg_lead(&s->lead, s->cfg->pg_dsn)) {
                sw_pass(s);
            }
        }
        nanosleep(&tick, NULL);
        waited += SW_TICK_MS;
    }
    ac_pg_leader_drop(&s->lead);
    return NULL;
}

struct ac_sweeper *ac_sweeper_start(const struct ac_config *cfg)
{
    struct ac_sweeper *s = ac_xcalloc(1, sizeof(*s));

    s->cfg = cfg;
    s->lead.key = AC_LOCK_SWEEPER;
    s->lead.duty = "sweeps (auto-resolve)";
    if (pthread_create(&s->thread, NULL, sw_main, s) != 0) {
        ac_log(AC_LOG_ERROR, "sweeper", "cannot start thread");
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
    __atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
    pthread_join(s->thread, NULL);
    free(s);
}
