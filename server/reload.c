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

#define SQL_RL_VERSION "SELECT version FROM ac_versions WHERE name = $1"

struct ac_reloader {
    const struct ac_reload_ops *ops;
    void *ctx;
    char *dsn;
    PGconn *conn; /* the thread's (and start-up's, before the thread runs) */
    int64_t version;
    pthread_t thread;
    int stop; /* atomic */
    pthread_mutex_t lock;
    pthread_cond_t served_cond;
    unsigned long asked;  /* under lock */
    unsigned long served; /* under lock */
};

static bool rl_connect(struct ac_reloader *r)
{
    if (r->conn && PQstatus(r->conn) == CONNECTION_OK) {
        return true;
    }
    PQfinish(r->conn);
    r->conn = ac_pg_connect(r->dsn);
    return r->conn != NULL;
}

/* The current version, or -1 when it cannot be read. */
static int64_t rl_version(struct ac_reloader *r)
{
    const char *p[1] = {r->ops->version_name};
    PGresult *res = PQexecParams(r->conn, SQL_RL_VERSION, 1, NULL, p, NULL, NULL, 0);
    int64_t v = -1;

    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    }
    PQclear(res);
    return v;
}

/* Polls once; returns false if nothing could be loaded. */
static bool rl_poll(struct ac_reloader *r, bool force)
{
    int64_t v;
    void *copy;

    if (!rl_connect(r)) {
        return false;
    }
    if (r->ops->tick) {
        r->ops->tick(r->ctx, r->conn);
    }
    v = rl_version(r);
    if (v < 0 || (v == r->version && !force)) {
        return v >= 0;
    }
    /* Loaded after reading the version: at worst a newer copy under an
     * older number, which the next poll loads again. */
    copy = r->ops->load(r->ctx, r->conn);
    if (!copy) {
        return false;
    }
    r->ops->install(r->ctx, r->conn, copy);
    r->version = v;
    ac_log(AC_LOG_INFO, "reload", "%s installed version=%lld", r->ops->version_name, (long long)v);
    return true;
}

static void *rl_main(void *arg)
{
    struct ac_reloader *r = arg;
    struct timespec tick = {0, 10 * 1000000L};
    long waited = 0;

    while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
        unsigned long asked;

        nanosleep(&tick, NULL);
        waited += 10;
        pthread_mutex_lock(&r->lock);
        asked = r->asked;
        pthread_mutex_unlock(&r->lock);
        if (waited >= AC_RELOAD_POLL_MS || asked != r->served) {
            waited = 0;
            (void)rl_poll(r, false);
            pthread_mutex_lock(&r->lock);
            r->served = asked;
            pthread_cond_broadcast(&r->served_cond);
            pthread_mutex_unlock(&r->lock);
        }
    }
    if (r->ops->tick && rl_connect(r)) {
        r->ops->tick(r->ctx, r->conn);
    }
    return NULL;
}

static void rl_free(struct ac_reloader *r)
{
    PQfinish(r->conn);
    pthread_cond_destroy(&r->served_cond);
    pthread_mutex_destroy(&r->lock);
    free(r->dsn);
    free(r);
}

struct ac_reloader *ac_reloader_start(const char *dsn, const struct ac_reload_ops *ops, void *ctx)
{
    struct ac_reloader *r = ac_xcalloc(1, sizeof(*r));

    r->ops = ops;
    r->ctx = ctx;
    r->dsn = ac_xstrdup(dsn);
    r->version = -1;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->served_cond, NULL);
    if (!rl_poll(r, true) || r->version < 0) {
        ac_log(AC_LOG_ERROR, "reload", "cannot load %s", ops->version_name);
        rl_free(r);
        return NULL;
    }
    if (pthread_create(&r->thread, NULL, rl_main, r) != 0) {
        ac_log(AC_LOG_ERROR, "reload", "cannot start thread");
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
    __atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
    pthread_join(r->thread, NULL);
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
    while (r->served < ticket && !__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
        if (pthread_cond_timedwait(&r->served_cond, &r->lock, &deadline) != 0) {
            break; /* the periodic poll still picks the change up */
        }
    }
    pthread_mutex_unlock(&r->lock);
}
