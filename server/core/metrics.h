/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Prometheus metrics: GET /metrics in the text exposition format 0.0.4.
 *
 * Each module keeps its own figures - relaxed atomic counters and the
 * fixed-bucket histogram below - and registers a collector that writes them
 * out at scrape time. A collector only reads: a scrape never waits for a
 * module's work, nor the work for a scrape.
 *
 * Two kinds of figures, told apart in each family's help text:
 *   - this instance's, counted since it started (requests, events written,
 *     sends): sum them over instances;
 *   - the cluster's, read from PostgreSQL at scrape time (the outbox backlog,
 *     open alerts): every instance reports the same; take one, not the sum.
 *
 * Names follow Prometheus conventions: ac_ prefix, _total for counters,
 * _seconds for durations. Label values are escaped here; keep label sets
 * bounded (routes, channels, levels - never an event's own strings).
 */
#ifndef AC_SERVER_CORE_METRICS_H
#define AC_SERVER_CORE_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct ac_metrics;     /* the registry of collectors */
struct ac_metrics_out; /* one scrape's text */

typedef void (*ac_metrics_collect_fn)(void *ctx, struct ac_metrics_out *o);

struct ac_metrics *ac_metrics_create(void);
void ac_metrics_destroy(struct ac_metrics *m); /* NULL is fine */
/* Any time; ctx must outlive every later scrape. */
void ac_metrics_register(struct ac_metrics *m, ac_metrics_collect_fn fn, void *ctx);
/* Every collector's output, in registration order. Returns new; *len set. */
char *ac_metrics_render(struct ac_metrics *m, size_t *len);

/* In a collector: a family's HELP and TYPE ("counter", "gauge",
 * "histogram"), then its samples. */
void ac_metrics_family(struct ac_metrics_out *o, const char *name, const char *type,
                       const char *help);
/* One sample; then label name, value pairs, ending with NULL. */
void ac_metrics_sample(struct ac_metrics_out *o, const char *name, double value, ...)
    __attribute__((sentinel));

/* A family of one sample without labels. */
void ac_metrics_single(struct ac_metrics_out *o, const char *name, const char *type,
                       const char *help, double value);

/* A latency histogram: buckets from 1 ms to 10 s, relaxed atomics, so any
 * thread may observe while another renders. Zeroed memory is empty. */
#define AC_HIST_NBUCKETS 13
struct ac_hist {
    unsigned long long le[AC_HIST_NBUCKETS]; /* observations <= each bound (not cumulative) */
    unsigned long long count;
    unsigned long long sum_us;
};
void ac_hist_observe_us(struct ac_hist *h, int64_t us);
/* Writes name_bucket (cumulative, with +Inf), name_sum (seconds) and
 * name_count; then label pairs, ending with NULL. */
void ac_metrics_hist(struct ac_metrics_out *o, const char *name, const struct ac_hist *h, ...)
    __attribute__((sentinel));

#endif
