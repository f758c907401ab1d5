/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A fixed pool of threads that run queued jobs, first in first out, with a
 * bound on the queue (as nginx's thread pools behind its event loop): the
 * HTTP server's event threads hand it the requests that may block (a
 * database query, a group commit) so that a slow request never holds up the
 * sockets the event threads serve.
 *
 * Jobs are intrusive: the caller embeds struct ac_workq_job in its own state
 * and owns its memory; the pool only links it.
 */
#ifndef AC_SERVER_CORE_WORKQ_H
#define AC_SERVER_CORE_WORKQ_H

#include <stdbool.h>
#include <stddef.h>

struct ac_workq;

struct ac_workq_job {
    /* Runs on a pool thread; run = false when the pool stops with the job
     * still queued (it must then be finished without doing the work). */
    void (*fn)(struct ac_workq_job *job, bool run);
    struct ac_workq_job *next; /* the pool's */
};

/* threads >= 1, queue_max >= 1 (jobs waiting, not counting those running).
 * name: the threads' name prefix. Returns new pool, or NULL (logged). */
struct ac_workq *ac_workq_start(const char *name, int threads, long queue_max);
/* Queues job; false (job untouched) if the queue is full or the pool stops. */
bool ac_workq_push(struct ac_workq *q, struct ac_workq_job *job);
/* Jobs waiting and running now (relaxed; for metrics). */
long ac_workq_queued(const struct ac_workq *q);
long ac_workq_busy(const struct ac_workq *q);
/* Refuses new jobs, lets running ones end, finishes queued ones with
 * run = false, joins and frees. NULL is fine. */
void ac_workq_stop(struct ac_workq *q);

#endif
