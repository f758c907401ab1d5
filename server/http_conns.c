/* SPDX-License-Identifier: Apache-2.0 */
/* The header deadline of HTTP connections: a table and its watchdog. */
#include "server/http_conns.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "schema/timefmt.h"
#include "server/core/log.h"
#include "server/core/mem.h"

#define CONNS_TICK_MS 100

struct ac_http_conn {
    struct ac_http_conn *prev, *next;
    int fd;
    int64_t deadline_us; /* 0: a request is in progress */
    bool shut;
};

struct ac_http_conns {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct ac_http_conn *head;
    long n;
    int64_t header_us, idle_us;
    uint64_t timed_out;
    bool stopping;
    pthread_t thread;
};

static void *conns_watch(void *arg)
{
    struct ac_http_conns *t = arg;
    struct timespec until;
    int64_t now;

    pthread_mutex_lock(&t->lock);
    while (!t->stopping) {
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += CONNS_TICK_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        (void)pthread_cond_timedwait(&t->wake, &t->lock, &until);
        now = ac_time_mono_us();
        for (struct ac_http_conn *c = t->head; c; c = c->next) {
            if (c->deadline_us && !c->shut && now >= c->deadline_us) {
                /* the table's lock keeps the descriptor open (see the header) */
                (void)shutdown(c->fd, SHUT_RDWR);
                c->shut = true;
                __atomic_add_fetch(&t->timed_out, 1, __ATOMIC_RELAXED);
            }
        }
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

struct ac_http_conns *ac_http_conns_start(long header_timeout_ms, long idle_timeout_ms)
{
    struct ac_http_conns *t = ac_xcalloc(1, sizeof(*t));
    pthread_condattr_t ca;

    pthread_mutex_init(&t->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->wake, &ca);
    pthread_condattr_destroy(&ca);
    t->header_us = (int64_t)header_timeout_ms * 1000;
    t->idle_us = (int64_t)idle_timeout_ms * 1000;
    if (pthread_create(&t->thread, NULL, conns_watch, t) != 0) {
        ac_log(AC_LOG_ERROR, "http", "cannot start the connection watchdog");
        pthread_cond_destroy(&t->wake);
        pthread_mutex_destroy(&t->lock);
        free(t);
        return NULL;
    }
    (void)pthread_setname_np(t->thread, "http-deadline");
    return t;
}

void ac_http_conns_stop(struct ac_http_conns *t)
{
    struct ac_http_conn *next;

    if (!t) {
        return;
    }
    pthread_mutex_lock(&t->lock);
    t->stopping = true;
    pthread_cond_signal(&t->wake);
    pthread_mutex_unlock(&t->lock);
    pthread_join(t->thread, NULL);
    for (struct ac_http_conn *c = t->head; c; c = next) {
        next = c->next;
        free(c);
    }
    pthread_cond_destroy(&t->wake);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

struct ac_http_conn *ac_http_conn_opened(struct ac_http_conns *t, int fd)
{
    struct ac_http_conn *c = ac_xcalloc(1, sizeof(*c));

    c->fd = fd;
    c->deadline_us = ac_time_mono_us() + t->header_us;
    pthread_mutex_lock(&t->lock);
    c->next = t->head;
    if (t->head) {
        t->head->prev = c;
    }
    t->head = c;
    __atomic_add_fetch(&t->n, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&t->lock);
    return c;
}

void ac_http_conn_request(struct ac_http_conns *t, struct ac_http_conn *c)
{
    pthread_mutex_lock(&t->lock);
    c->deadline_us = 0;
    pthread_mutex_unlock(&t->lock);
}

void ac_http_conn_answered(struct ac_http_conns *t, struct ac_http_conn *c)
{
    int64_t d = ac_time_mono_us() + t->idle_us;

    pthread_mutex_lock(&t->lock);
    c->deadline_us = d;
    pthread_mutex_unlock(&t->lock);
}

void ac_http_conn_closed(struct ac_http_conns *t, struct ac_http_conn *c)
{
    pthread_mutex_lock(&t->lock);
    if (c->prev) {
        c->prev->next = c->next;
    }
    else {
        t->head = c->next;
    }
    if (c->next) {
        c->next->prev = c->prev;
    }
    __atomic_sub_fetch(&t->n, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&t->lock);
    free(c);
}

long ac_http_conns_open(const struct ac_http_conns *t)
{
    return __atomic_load_n(&t->n, __ATOMIC_RELAXED);
}

uint64_t ac_http_conns_timed_out(const struct ac_http_conns *t)
{
    return __atomic_load_n(&t->timed_out, __ATOMIC_RELAXED);
}
