/* SPDX-License-Identifier: Apache-2.0 */
/* The reloader thread; see reload.h. */
#include "server/reload.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/core/pg.h"
#include "server/core/worker.h"

#define SQL_RL_VERSION "SELECT version FROM ac_versions WHERE name = $1"

struct ac_reloader {
    const struct ac_reload_ops *ops;
    void *ctx;
    char *dsn;
    int64_t version; /* the worker's (and start-up's, before it runs) */
    struct ac_worker *worker;
    pthread_mutex_t lock;
    pthread_cond_t served_cond;
    unsigned long asked;  /* under lock */
    unsigned long served; /* under lock */
    bool stopped;         /* under lock */
};

/* The current version, or -1 when it cannot be read. */
static int64_t rl_version(struct ac_reloader *r, PGconn *c)
{
    const char *p[1] = {r->ops->version_name};
    PGresult *res = ac_pg_query(c, "reload", SQL_RL_VERSION, 1, p);
    int64_t v = res && PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : -1;

    PQclear(res);
    return v;
}

/* Polls once on c; returns false if nothing could be loaded. */
static bool rl_poll(struct ac_reloader *r, PGconn *c, bool force)
{
    int64_t v;
    void *copy;

    if (r->ops->tick) {
        r->ops->tick(r->ctx, c);
    }
    v = rl_version(r, c);
    if (v < 0 || (v == r->version && !force)) {
        return v >= 0;
    }
    /* Loaded after reading the version: at worst a newer copy under an
     * older number, which the next poll loads again. */
    copy = r->ops->load(r->ctx, c);
    if (!copy) {
        return false;
    }
    r->ops->install(r->ctx, c, copy);
    r->version = v;
    ac_log(AC_LOG_INFO, "reload", "%s installed version=%lld", r->ops->version_name, (long long)v);
    return true;
}

/* A poll, and every ac_reloader_poke made before it is served. */
static enum ac_worker_pass rl_pass(void *ctx, struct ac_worker *w, PGconn *c)
{
    struct ac_reloader *r = ctx;
    unsigned long asked;
    bool ok;

    (void)w;
    pthread_mutex_lock(&r->lock);
    asked = r->asked;
    pthread_mutex_unlock(&r->lock);
    ok = rl_poll(r, c, false);
    pthread_mutex_lock(&r->lock);
    r->served = asked;
    pthread_cond_broadcast(&r->served_cond);
    pthread_mutex_unlock(&r->lock);
    return ok || PQstatus(c) == CONNECTION_OK ? AC_WORKER_IDLE : AC_WORKER_FAIL;
}

static void rl_done(void *ctx, PGconn *c)
{
    struct ac_reloader *r = ctx;

    if (r->ops->tick && c) {
        r->ops->tick(r->ctx, c);
    }
    pthread_mutex_lock(&r->lock);
    r->stopped = true;
    pthread_cond_broadcast(&r->served_cond);
    pthread_mutex_unlock(&r->lock);
}

static void rl_free(struct ac_reloader *r)
{
    pthread_cond_destroy(&r->served_cond);
    pthread_mutex_destroy(&r->lock);
    free(r->dsn);
    free(r);
}

struct ac_reloader *ac_reloader_start(const char *dsn, const struct ac_reload_ops *ops, void *ctx)
{
    struct ac_reloader *r = ac_xcalloc(1, sizeof(*r));
    struct ac_worker_def def = {.name = "reload",
                                .dsn = NULL,
                                .period_ms = AC_RELOAD_POLL_MS,
                                .backoff_max_ms = 2000,
                                .pass = rl_pass,
                                .done = rl_done,
                                .ctx = r};
    PGconn *c;
    bool loaded;

    r->ops = ops;
    r->ctx = ctx;
    r->dsn = ac_xstrdup(dsn);
    r->version = -1;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->served_cond, NULL);
    c = ac_pg_connect(r->dsn);
    loaded = c && rl_poll(r, c, true) && r->version >= 0;
    PQfinish(c);
    if (!loaded) {
        ac_log(AC_LOG_ERROR, "reload", "cannot load %s", ops->version_name);
        rl_free(r);
        return NULL;
    }
    def.dsn = r->dsn;
    if (!(r->worker = ac_worker_start(&def))) {
        rl_free(r);
        return NULL;
    }
    return r;
}

void ac_reloader_stop(struct ac_reloader *r)
{
    if (!r) {
        return;
    }
    ac_worker_stop(r->worker);
    rl_free(r);
}

void ac_reloader_poke(struct ac_reloader *r)
{
    struct timespec deadline;
    unsigned long ticket;

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 2;
    pthread_mutex_lock(&r->lock);
    ticket = ++r->asked;
    pthread_mutex_unlock(&r->lock);
    ac_worker_wake(r->worker);
    pthread_mutex_lock(&r->lock);
    while (r->served < ticket && !r->stopped) {
        if (pthread_cond_timedwait(&r->served_cond, &r->lock, &deadline) != 0) {
            break; /* the periodic poll still picks the change up */
        }
    }
    pthread_mutex_unlock(&r->lock);
}
