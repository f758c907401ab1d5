/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The persist stage: durable, group-committed writes of accepted events.
 *
 * Request threads hand whole batches to one writer thread that owns a
 * PostgreSQL connection. The writer takes every batch waiting (up to a size
 * bound), stores them in ONE transaction with libpq pipeline mode (one
 * network round trip per few hundred events, one fsync per group), then wakes
 * each submitter with its own results. A request's batch is never split
 * across transactions, so it is stored whole or not at all.
 */
#ifndef AC_SERVER_WRITER_H
#define AC_SERVER_WRITER_H

#include <stdbool.h>

#include "escalation/policy.h"
#include "ingest/ingest.h"
#include "server/core/err.h"

struct ac_writer;

/*
 * dsn, redis_url: borrowed (copied); redis_url may be NULL (no cache). esc: the escalation
 * policies (borrowed for the writer's lifetime). queue_events: most events
 * waiting before submit answers AC_EAGAIN. group_max: most events in one transaction. Returns new
 * writer (not started).
 */
struct ac_writer *ac_writer_create(const char *dsn, const char *redis_url, const char *redis_prefix,
                                   const struct ac_esc_config *esc, long queue_events,
                                   long group_max);
/* The levels whose new alerts are notified (bit 1 << level; before start):
 * a new alert at one of them gets a notify_intents row in its transaction. */
void ac_writer_set_notify_levels(struct ac_writer *w, unsigned mask);
/* The event center's subscriptions whose matches each group counts (subs.h;
 * borrowed, NULL: none). */
struct ac_subs;
void ac_writer_set_subs(struct ac_writer *w, struct ac_subs *subs);
/* fn(ctx) is called (on the writer's thread; it must not block) after each
 * COMMIT that wrote notification intents. May be set while it runs. */
void ac_writer_on_intents(struct ac_writer *w, void (*fn)(void *ctx), void *ctx);
/* Starts the thread; connects lazily. Returns AC_OK or AC_EIO. */
AC_MUST_CHECK int ac_writer_start(struct ac_writer *w);
/* Refuses new batches, finishes the queued ones, joins. Idempotent. */
void ac_writer_stop(struct ac_writer *w);
void ac_writer_destroy(struct ac_writer *w);

/*
 * Store evs (borrowed; already normalized: defaults and fingerprint set) and
 * fill results[0..evs->n). Blocks until committed or failed.
 * Returns: AC_OK; AC_EAGAIN (queue full or stopping); AC_EDB (database
 * unreachable or rejected the batch; nothing of it stored, except that a
 * connection lost during COMMIT leaves the outcome unknown, as with any
 * database client).
 */
AC_MUST_CHECK int ac_writer_submit(struct ac_writer *w, struct ac_event_vec *evs,
                                   struct ac_ingest_result *results);

/* Counters for logs and metrics (relaxed reads). */
struct ac_writer_stats {
    unsigned long long groups;
    unsigned long long events;
    unsigned long long failures;
    unsigned long long raised; /* alerts raised by escalation after the writer's groups */
    /* escalation members asked of PostgreSQL, their window's Redis set being
     * behind its count or Redis unavailable (escalation/members.h) */
    unsigned long long members_probed;
    /* escalation members asked of the windows' Redis sets (not known new
     * from the writer's own counting) */
    unsigned long long members_checked;
};
void ac_writer_stats(const struct ac_writer *w, struct ac_writer_stats *out);

/* Metrics collector (metrics.h); ctx is the writer. */
struct ac_metrics_out;
void ac_writer_collect(void *ctx, struct ac_metrics_out *o);

#endif
