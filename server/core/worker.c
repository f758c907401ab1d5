/* SPDX-License-Identifier: Apache-2.0 */
/* The periodic worker (see worker.h). */
#include "server/core/worker.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/core/pg.h"

#define WK_BACKOFF_MAX_MS 5000

struct ac_worker {
    struct ac_worker_def def;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* on CLOCK_MONOTONIC */
    bool stop, woken;    /* under lock */
    int stopping;        /* atomic: stop, for passes */

    /* The thread's. */
    struct ac_pg_leader lead; /* lead.conn: the connection, leading or not */
    long backoff_ms;
};

static int64_t wk_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until the monotonic time until_ms, a wake or a stop. Returns false
 * if stopping. */
static bool wk_wait_until(struct ac_worker *w, int64_t until_ms)
{
    struct timespec ts = {until_ms / 1000, (long)(until_ms % 1000) * 1000000L};
    bool go_on;

    pthread_mutex_lock(&w->lock);
    while (!w->stop && !w->woken && wk_now_ms() < until_ms) {
        if (pthread_cond_timedwait(&w->cond, &w->lock, &ts) != 0) {
            break;
        }
    }
    go_on = !w->stop;
    pthread_mutex_unlock(&w->lock);
    return go_on;
}

bool ac_worker_sleep(struct ac_worker *w, long ms)
{
    return wk_wait_until(w, wk_now_ms() + ms);
}

bool ac_worker_stopping(const struct ac_worker *w)
{
    return __atomic_load_n(&w->stopping, __ATOMIC_ACQUIRE) != 0;
}

void ac_worker_wake(struct ac_worker *w)
{
    pthread_mutex_lock(&w->lock);
    w->woken = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

static void wk_close(struct ac_worker *w)
{
    ac_pg_leader_drop(&w->lead);
}

/* Connects (and leads) as the worker needs. Returns 1 ready, 0 connected
 * but another instance leads, -1 no connection. */
static int wk_ready(struct ac_worker *w)
{
    const struct ac_worker_def *d = &w->def;

    if (!d->dsn) {
        return 1;
    }
    if (d->lead_key) {
        if (ac_pg_lead(&w->lead, d->dsn)) {
            return 1;
        }
        return w->lead.conn ? 0 : -1;
    }
    if (w->lead.conn && PQstatus(w->lead.conn) != CONNECTION_OK) {
        wk_close(w);
    }
    if (!w->lead.conn) {
        w->lead.conn = ac_pg_connect_opts(d->dsn, d->pg_options);
    }
    return w->lead.conn ? 1 : -1;
}

/* After a failure: the connection goes if it no longer works or was left
 * inside a transaction; the backoff grows. Returns the wait. */
static long wk_failed(struct ac_worker *w)
{
    long wait = w->backoff_ms;
    PGconn *c = w->lead.conn;

    if (c && (PQstatus(c) != CONNECTION_OK || PQtransactionStatus(c) != PQTRANS_IDLE)) {
        wk_close(w);
    }
    w->backoff_ms =
        2 * w->backoff_ms > w->def.backoff_max_ms ? w->def.backoff_max_ms : 2 * w->backoff_ms;
    return wait;
}

static void *wk_main(void *arg)
{
    struct ac_worker *w = arg;
    const struct ac_worker_def *d = &w->def;
    int64_t next = 0;

    while (!ac_worker_stopping(w)) {
        int64_t start;
        int ready;
        enum ac_worker_pass r;

        if (!wk_wait_until(w, next)) {
            break;
        }
        pthread_mutex_lock(&w->lock);
        w->woken = false;
        pthread_mutex_unlock(&w->lock);
        start = wk_now_ms();
        ready = wk_ready(w);
        if (ready <= 0) {
            next = start + (ready < 0 ? wk_failed(w) : d->period_ms);
            continue;
        }
        r = d->pass(d->ctx, w, d->dsn ? w->lead.conn : NULL);
        if (r == AC_WORKER_FAIL) {
            next = start + wk_failed(w);
            continue;
        }
        w->backoff_ms = d->backoff_min_ms;
        next = r == AC_WORKER_MORE ? 0 : start + d->period_ms;
    }
    if (d->done) {
        d->done(d->ctx, w->lead.conn && PQstatus(w->lead.conn) == CONNECTION_OK &&
                                PQtransactionStatus(w->lead.conn) == PQTRANS_IDLE
                            ? w->lead.conn
                            : NULL);
    }
    wk_close(w);
    return NULL;
}

struct ac_worker *ac_worker_start(const struct ac_worker_def *def)
{
    struct ac_worker *w = ac_xcalloc(1, sizeof(*w));
    pthread_condattr_t ca;

    w->def = *def;
    if (w->def.backoff_min_ms <= 0) {
        w->def.backoff_min_ms = w->def.period_ms > 0 ? w->def.period_ms : 1000;
    }
    if (w->def.backoff_max_ms <= 0) {
        w->def.backoff_max_ms = WK_BACKOFF_MAX_MS;
    }
    if (w->def.backoff_max_ms < w->def.backoff_min_ms) {
        w->def.backoff_max_ms = w->def.backoff_min_ms;
    }
    w->backoff_ms = w->def.backoff_min_ms;
    w->lead.key = def->lead_key;
    w->lead.duty = def->duty ? def->duty : def->name;
    pthread_mutex_init(&w->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&w->thread, NULL, wk_main, w) != 0) {
        ac_log(AC_LOG_ERROR, def->name, "cannot start thread");
        pthread_cond_destroy(&w->cond);
        pthread_mutex_destroy(&w->lock);
        free(w);
        return NULL;
    }
    return w;
}

void ac_worker_stop(struct ac_worker *w)
{
    if (!w) {
        return;
    }
    __atomic_store_n(&w->stopping, 1, __ATOMIC_RELEASE);
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    free(w);
}
