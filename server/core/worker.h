/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one periodic worker: a thread that runs a duty's pass every period, as
 * Redis's serverCron runs its jobs with run_with_period and PgBouncer's
 * janitor its maintenance, on a PostgreSQL connection of its own.
 *
 * DESIGN
 * ------
 * A pass runs at a fixed rate: the next one is due a period after the last
 * one started (at once if the pass took longer), or at once when the pass
 * reports that it did work and more may wait (a batch that was full). The
 * worker owns the pass's connection: it connects before a pass (none when
 * the worker has no DSN) and, after a failed pass or a lost connection,
 * closes it and waits a backoff that doubles from backoff_min_ms up to
 * backoff_max_ms, resetting after a pass that succeeds.
 *
 * Leadership: a duty that one instance of the cluster performs (the sweeper,
 * the escalation timer, a Kubernetes watch) names its advisory lock key; the
 * worker then runs passes only while its connection holds the session lock
 * (16707, key), tries to take it every period, and gives it up with the
 * connection. Losing the connection loses the lock, so another instance
 * takes over.
 *
 * Stopping never waits out a period: waits are on a condition variable that
 * ac_worker_stop and ac_worker_wake signal; a long pass polls
 * ac_worker_stopping or waits with ac_worker_sleep.
 */
#ifndef AC_SERVER_CORE_WORKER_H
#define AC_SERVER_CORE_WORKER_H

#include <libpq-fe.h>
#include <stdbool.h>

struct ac_worker;

/* What ac_worker_def.pass answers. */
enum ac_worker_pass {
    AC_WORKER_IDLE = 0,  /* done: the next pass a period after this one started */
    AC_WORKER_MORE = 1,  /* did work, more may wait: the next pass at once */
    AC_WORKER_FAIL = -1, /* failed: close the connection, back off */
};

struct ac_worker_def {
    const char *name;       /* the thread's, and the log component ("sweeper") */
    const char *dsn;        /* borrowed for the worker's life; NULL: no connection */
    const char *pg_options; /* server options of the connection ("-c ..."), or NULL */
    int lead_key;           /* 0: every instance; else the duty's lock (enum ac_pg_lock_key) */
    const char *duty;       /* logged when this instance takes the lead: "sweeps (auto-resolve)" */
    long period_ms;         /* between passes (and lead attempts) */
    long backoff_min_ms;    /* after a failure; 0: period_ms */
    long backoff_max_ms;    /* the backoff's cap; 0: 5 s */
    /* One pass on conn (the worker's, connected and, with lead_key, leading;
     * NULL without dsn). */
    enum ac_worker_pass (*pass)(void *ctx, struct ac_worker *w, PGconn *conn);
    /* On the worker's thread as it stops (may be NULL): conn is its
     * connection if it has one that works, else NULL. */
    void (*done)(void *ctx, PGconn *conn);
    void *ctx;
};

/* Starts the thread; def is copied (its strings borrowed). Returns new
 * worker, or NULL (logged). */
struct ac_worker *ac_worker_start(const struct ac_worker_def *def);
/* Stops (waking it), joins and frees. NULL is fine. */
void ac_worker_stop(struct ac_worker *w);
/* Runs a pass as soon as the current one (if any) ends. Thread-safe. */
void ac_worker_wake(struct ac_worker *w);

/* From a pass: whether the worker is stopping (finish promptly). */
bool ac_worker_stopping(const struct ac_worker *w);
/* From a pass: waits ms or until stopped or woken. Returns false if
 * stopping. */
bool ac_worker_sleep(struct ac_worker *w, long ms);

#endif
