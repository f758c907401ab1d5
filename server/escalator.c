/* SPDX-License-Identifier: Apache-2.0 */
/* The escalation timer and the windows' read side; see escalator.h. */
#include "server/escalator.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "escalation/engine.h"
#include "escalation/members.h"
#include "schema/timefmt.h"
#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/core/pg.h"
#include "server/core/redis.h"
#include "server/core/worker.h"

#define ESC_WINDOWS_MAX    100000
#define ESC_PURGE_US       (60LL * 1000000)
#define ESC_REDIS_RETRY_US 1000000LL

/* The windows' new events into the per-minute buckets (the increment). */
#define SQL_ESC_FLUSH "SELECT ac_esc_flush()"
/* Buckets the increment of any open window may still need, and a day. */
#define SQL_ESC_PURGE                                                                              \
    "DELETE FROM esc_buckets WHERE minute < now() - interval '1 minute' - greatest(interval"       \
    " '1 day', 2 * coalesce((SELECT now() - min(opened_at) FROM esc_windows"                       \
    " WHERE closed_at IS NULL), interval '0'))"

struct ac_escalator {
    const struct ac_config *cfg;
    const struct ac_esc_config *esc;
    struct ac_redis_target redis;
    bool has_redis;
    struct ac_worker *worker; /* the timer: leads AC_LOCK_ESCALATOR */

    /* Timer thread only. */
    struct ac_redis_lazy rl;
    int64_t next_purge;
    int64_t next_fill; /* of the member sets */

    /* Readers (request threads), under lock. */
    pthread_mutex_t lock;
    struct ac_redis_lazy read_rl;
};

/* A connection of l (the timer's or the readers'), connecting on demand. */
static redisContext *esc_redis(struct ac_escalator *e, struct ac_redis_lazy *l)
{
    return e->has_redis ? ac_redis_lazy_get(l, &e->redis, (int)e->cfg->redis_timeout_ms,
                                            ESC_REDIS_RETRY_US, ac_esc_mirror_prepare, NULL)
                        : NULL;
}

static enum ac_worker_pass esc_tick(void *ctx, struct ac_worker *w, PGconn *c)
{
    struct ac_escalator *e = ctx;
    struct ac_esc_win *wins = NULL;
    size_t n = 0;
    int64_t now = ac_time_now_us();
    long ttl_ms = (long)(e->esc->tick * 3 / 1000);

    (void)ac_pg_run(c, "escalation", SQL_ESC_FLUSH, 0, NULL); /* the timer's next tick retries */
    if (ac_esc_load(c, false, NULL, ESC_WINDOWS_MAX, &wins, &n) != AC_OK) {
        return AC_WORKER_FAIL;
    }
    for (size_t i = 0; i < n && !ac_worker_stopping(w); i++) {
        struct ac_esc_win after;
        long raised;
        if (!ac_esc_win_due(e->esc, &wins[i], now)) {
            continue;
        }
        if (ac_esc_apply(e->esc, c, wins[i].type, now, &after, &raised) != AC_OK) {
            break;
        }
        if (after.id) {
            /* keep the increment computed by the load */
            after.fig.has_increment = wins[i].fig.has_increment;
            after.fig.increment_pct = wins[i].fig.increment_pct;
            after.prev_events = wins[i].prev_events;
            wins[i] = after;
        }
    }
    if (esc_redis(e, &e->rl) && ac_esc_mirror_sync(e->rl.c, e->cfg->redis_prefix, wins, n,
                                                   ttl_ms < 2000 ? 2000 : ttl_ms) != AC_OK) {
        ac_log(AC_LOG_WARN, "escalation", "redis: cannot mirror the windows; retrying");
        ac_redis_lazy_drop(&e->rl, ESC_REDIS_RETRY_US);
    }
    /* the member sets behind their counts, filled in off the ingest path */
    if (e->rl.c && now >= e->next_fill) {
        size_t filled = 0;
        int rc = ac_esc_members_catch_up(e->rl.c, c, e->cfg->redis_prefix, wins, n, &filled);
        e->next_fill = now + e->esc->members_fill;
        if (rc == AC_EKV) {
            ac_log(AC_LOG_WARN, "escalation", "redis: cannot fill in the member sets; retrying");
            ac_redis_lazy_drop(&e->rl, ESC_REDIS_RETRY_US);
        }
        else if (rc == AC_EDB && PQstatus(c) != CONNECTION_OK) {
            free(wins);
            return AC_WORKER_FAIL;
        }
    }
    free(wins);
    if (now >= e->next_purge) {
        (void)ac_pg_run(c, "escalation", SQL_ESC_PURGE, 0, NULL);
        e->next_purge = now + ESC_PURGE_US;
    }
    return AC_WORKER_IDLE;
}

struct ac_escalator *ac_escalator_start(const struct ac_config *cfg,
                                        const struct ac_esc_config *esc)
{
    struct ac_escalator *e = ac_xcalloc(1, sizeof(*e));
    struct ac_worker_def def = {.name = "escalation",
                                .dsn = cfg->pg_dsn,
                                .lead_key = AC_LOCK_ESCALATOR,
                                .duty = "runs the escalation timer",
                                .pass = esc_tick};

    e->cfg = cfg;
    e->esc = esc;
    e->has_redis = cfg->redis_url && ac_redis_parse_url(cfg->redis_url, &e->redis) == AC_OK;
    pthread_mutex_init(&e->lock, NULL);
    def.period_ms = (long)(esc->tick / 1000);
    def.ctx = e;
    if (!(e->worker = ac_worker_start(&def))) {
        pthread_mutex_destroy(&e->lock);
        ac_redis_target_deinit(&e->redis);
        free(e);
        return NULL;
    }
    return e;
}

void ac_escalator_stop(struct ac_escalator *e)
{
    if (!e) {
        return;
    }
    ac_worker_stop(e->worker);
    redisFree(e->rl.c);
    redisFree(e->read_rl.c);
    ac_redis_target_deinit(&e->redis);
    pthread_mutex_destroy(&e->lock);
    free(e);
}

json_t *ac_escalator_open_windows(struct ac_escalator *e, struct ac_pg_pool *pool, const char *type,
                                  const char **source)
{
    struct ac_esc_win *wins = NULL;
    size_t n = 0;
    int rc = AC_ENOENT;
    int64_t now = ac_time_now_us();
    json_t *arr;

    pthread_mutex_lock(&e->lock);
    if (esc_redis(e, &e->read_rl)) {
        rc = ac_esc_mirror_read(e->read_rl.c, e->cfg->redis_prefix, type, &wins, &n);
        if (rc == AC_EKV) {
            ac_redis_lazy_drop(&e->read_rl, ESC_REDIS_RETRY_US);
        }
    }
    pthread_mutex_unlock(&e->lock);
    *source = "redis";
    if (rc != AC_OK) {
        PGconn *conn = ac_pg_pool_acquire(pool, 5000);
        *source = "postgresql";
        rc = conn ? ac_esc_load(conn, false, type, ESC_WINDOWS_MAX, &wins, &n) : AC_EDB;
        if (conn) {
            ac_pg_pool_release(pool, conn);
        }
        if (rc != AC_OK) {
            return NULL;
        }
    }
    arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(arr, ac_esc_win_to_json(e->esc, &wins[i], now));
    }
    free(wins);
    return arr;
}
