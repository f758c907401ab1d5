/* SPDX-License-Identifier: Apache-2.0 */
/* A fixed pool of threads over a bounded FIFO of intrusive jobs. */
#include "server/core/workq.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/core/err.h"
#include "server/core/log.h"
#include "server/core/mem.h"

struct ac_workq {
    pthread_mutex_t lock;
    pthread_cond_t work;
    struct ac_workq_job *head, *tail;
    long queued, queue_max;
    long busy; /* jobs running */
    bool stopping;
    int nthreads;
    pthread_t *threads;
};

static void *workq_main(void *arg)
{
    struct ac_workq *q = arg;
    struct ac_workq_job *job;

    pthread_mutex_lock(&q->lock);
    for (;;) {
        while (!q->head && !q->stopping) {
            pthread_cond_wait(&q->work, &q->lock);
        }
        if (!q->head) {
            break; /* stopping, and nothing left */
        }
        job = q->head;
        q->head = job->next;
        if (!q->head) {
            q->tail = NULL;
        }
        __atomic_sub_fetch(&q->queued, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&q->busy, 1, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&q->lock);
        job->next = NULL;
        job->fn(job, !__atomic_load_n(&q->stopping, __ATOMIC_RELAXED));
        pthread_mutex_lock(&q->lock);
        __atomic_sub_fetch(&q->busy, 1, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

struct ac_workq *ac_workq_start(const char *name, int threads, long queue_max)
{
    struct ac_workq *q = ac_xcalloc(1, sizeof(*q));
    char tname[32];

    AC_ASSERT(threads >= 1 && queue_max >= 1);
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->work, NULL);
    q->queue_max = queue_max;
    q->threads = ac_xcalloc((size_t)threads, sizeof(*q->threads));
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&q->threads[i], NULL, workq_main, q) != 0) {
            ac_log(AC_LOG_ERROR, name, "cannot start worker thread %d of %d", i + 1, threads);
            ac_workq_stop(q);
            return NULL;
        }
        q->nthreads++;
        (void)snprintf(tname, sizeof(tname), "%.10s-%d", name, i);
        tname[15] = '\0'; /* the kernel's limit */
        (void)pthread_setname_np(q->threads[i], tname);
    }
    return q;
}

bool ac_workq_push(struct ac_workq *q, struct ac_workq_job *job)
{
    pthread_mutex_lock(&q->lock);
    if (q->stopping || q->queued >= q->queue_max) {
        pthread_mutex_unlock(&q->lock);
        return false;
    }
    job->next = NULL;
    if (q->tail) {
        q->tail->next = job;
    }
    else {
        q->head = job;
    }
    q->tail = job;
    __atomic_add_fetch(&q->queued, 1, __ATOMIC_RELAXED);
    pthread_cond_signal(&q->work);
    pthread_mutex_unlock(&q->lock);
    return true;
}

long ac_workq_queued(const struct ac_workq *q)
{
    return __atomic_load_n(&q->queued, __ATOMIC_RELAXED);
}

long ac_workq_busy(const struct ac_workq *q)
{
    return __atomic_load_n(&q->busy, __ATOMIC_RELAXED);
}

void ac_workq_stop(struct ac_workq *q)
{
    if (!q) {
        return;
    }
    pthread_mutex_lock(&q->lock);
    __atomic_store_n(&q->stopping, true, __ATOMIC_RELAXED);
    pthread_cond_broadcast(&q->work);
    pthread_mutex_unlock(&q->lock);
    for (int i = 0; i < q->nthreads; i++) {
        pthread_join(q->threads[i], NULL);
    }
    free(q->threads);
    pthread_cond_destroy(&q->work);
    pthread_mutex_destroy(&q->lock);
    free(q);
}
