/* SPDX-License-Identifier: Apache-2.0 */
/* The notifier's planning thread (see notify_planner.h). */
#include "server/notify_planner.h"

#include <stdlib.h>
#include <string.h>

#include "escalation/notify/plan.h"
#include "schema/timefmt.h"
#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/core/metrics.h"
#include "server/core/pg.h"
#include "server/core/worker.h"
#include "server/outbox.h"

#define NP_INTENTS_MAX 500

struct ac_notify_planner {
    const struct ac_notify_config *nc;
    struct ac_worker *worker;
    int batch; /* halved after a failed batch, so one bad intent cannot hold the rest */
    void (*planned)(void *ctx);
    void *planned_ctx;
    int64_t timers_us; /* when the tiers, repeats and summaries were last looked at */
    /* Relaxed atomics, for metrics. */
    unsigned long long n_intents, n_created, n_held, n_waiting, n_inhibited, n_dropped;
};

/* Plans the claimed intents in (rows) into b. */
static void np_plan_rows(struct ac_notify_planner *p, const PGresult *in,
                         const struct ac_oncall_snapshot *o, struct ac_outbox_batch *b)
{
    int64_t now_s = ac_time_now_us() / 1000000;

    for (int i = 0; i < PQntuples(in); i++) {
        struct ac_plan_intent intent;
        struct ac_plan_out out;
        json_t *owned[3];
        if (ac_outbox_intent(in, i, &intent, owned)) {
            ac_plan(p->nc, o, &intent, now_s, &out);
        }
        else {
            memset(&out, 0, sizeof(out)); /* planned, to nobody */
        }
        ac_outbox_batch_add(b, &intent, &out);
        ac_plan_out_deinit(&out);
        for (int k = 0; k < 3; k++) {
            json_decref(owned[k]);
        }
    }
}

/* Plans up to p->batch intents in one transaction. Returns how many, or -1. */
static int np_plan(struct ac_notify_planner *p, PGconn *c)
{
    PGresult *in = NULL;
    struct ac_oncall_snapshot o;
    struct ac_outbox_batch b;
    int count = -1;

    ac_snapshot_init(&o);
    ac_outbox_batch_init(&b);
    if (!ac_pg_begin(c, "notify") || !(in = ac_outbox_claim_intents(c, p->batch))) {
        goto cleanup;
    }
    if (PQntuples(in) == 0) { /* end the transaction: the statements after run on their own */
        count = ac_pg_commit(c, "notify") ? 0 : -1;
        goto cleanup;
    }
    if (!ac_outbox_snapshot(c, &o)) {
        goto cleanup;
    }
    np_plan_rows(p, in, &o, &b);
    if (!ac_outbox_batch_write(c, &b) || !ac_pg_commit(c, "notify")) {
        goto cleanup;
    }
    count = PQntuples(in);
    if (b.nrows > 0 && p->planned) {
        p->planned(p->planned_ctx);
    }
    __atomic_add_fetch(&p->n_intents, (unsigned long long)count, __ATOMIC_RELAXED);
    __atomic_add_fetch(&p->n_created, (unsigned long long)b.nrows, __ATOMIC_RELAXED);
    __atomic_add_fetch(&p->n_held, (unsigned long long)b.nhold, __ATOMIC_RELAXED);
    __atomic_add_fetch(&p->n_waiting, (unsigned long long)b.nwait, __ATOMIC_RELAXED);
    __atomic_add_fetch(&p->n_inhibited, (unsigned long long)b.ninhibited, __ATOMIC_RELAXED);
    __atomic_add_fetch(&p->n_dropped, (unsigned long long)b.ndrop, __ATOMIC_RELAXED);
    if (b.nrows || b.nhold || b.ndrop || b.ninhibited) {
        ac_log(AC_LOG_INFO, "notify",
               "planned intents=%d notifications=%zu held=%zu waiting=%zu inhibited=%zu"
               " dropped=%zu",
               count, b.nrows, b.nhold, b.nwait, b.ninhibited, b.ndrop);
    }
cleanup:
    if (count < 0) {
        ac_pg_rollback(c);
        p->batch = p->batch > 1 ? p->batch / 2 : 1;
    }
    else if (count > 0) {
        p->batch = NP_INTENTS_MAX;
    }
    PQclear(in);
    ac_snapshot_deinit(&o);
    ac_outbox_batch_deinit(&b);
    return count;
}

static enum ac_worker_pass np_pass(void *ctx, struct ac_worker *w, PGconn *c)
{
    struct ac_notify_planner *p = ctx;
    int planned;

    (void)w;
    /* the timers once per poll period; a pass woken by new intents (the
     * writer's) goes straight to them */
    if (ac_time_now_us() - p->timers_us >= p->nc->poll_ms * 1000) {
        p->timers_us = ac_time_now_us();
        (void)ac_outbox_due_tiers(c);
        for (int l = AC_LEVEL_P1; l <= AC_LEVEL_P4; l++) {
            if (p->nc->repeat_s[l - 1] > 0) {
                (void)ac_outbox_due_repeats(c, (enum ac_level)l, (long long)p->nc->repeat_s[l - 1]);
            }
        }
        (void)ac_outbox_due_summaries(c, (long long)p->nc->group_interval_s);
    }
    planned = np_plan(p, c);
    return planned < 0 ? AC_WORKER_FAIL : planned > 0 ? AC_WORKER_MORE : AC_WORKER_IDLE;
}

struct ac_notify_planner *ac_notify_planner_start(const struct ac_config *cfg,
                                                  const struct ac_notify_config *nc,
                                                  void (*planned)(void *ctx), void *ctx)
{
    struct ac_notify_planner *p = ac_xcalloc(1, sizeof(*p));
    struct ac_worker_def def = {.name = "notify",
                                .dsn = cfg->pg_dsn,
                                .period_ms = nc->poll_ms,
                                .backoff_min_ms = 1000,
                                .pass = np_pass,
                                .ctx = p};

    p->nc = nc;
    p->batch = NP_INTENTS_MAX;
    p->planned = planned;
    p->planned_ctx = ctx;
    if (!(p->worker = ac_worker_start(&def))) {
        free(p);
        return NULL;
    }
    return p;
}

void ac_notify_planner_wake(struct ac_notify_planner *p)
{
    ac_worker_wake(p->worker);
}

void ac_notify_planner_stop(struct ac_notify_planner *p)
{
    if (!p) {
        return;
    }
    ac_worker_stop(p->worker);
    free(p);
}

void ac_notify_planner_collect(const struct ac_notify_planner *p, struct ac_metrics_out *o)
{
    unsigned long long intents = __atomic_load_n(&p->n_intents, __ATOMIC_RELAXED);
    unsigned long long held = __atomic_load_n(&p->n_held, __ATOMIC_RELAXED);
    unsigned long long dropped = __atomic_load_n(&p->n_dropped, __ATOMIC_RELAXED);
    unsigned long long waiting = __atomic_load_n(&p->n_waiting, __ATOMIC_RELAXED);
    unsigned long long inhibited = __atomic_load_n(&p->n_inhibited, __ATOMIC_RELAXED);

    ac_metrics_family(o, "ac_notify_intents_planned_total", "counter",
                      "Notification intents this instance looked at, by outcome: notified"
                      " (outbox rows made), held by a silence, waiting (an incident's group_wait),"
                      " inhibited, or dropped (nothing to tell: told already, resolved, no"
                      " channels).");
    ac_metrics_sample(o, "ac_notify_intents_planned_total",
                      (double)(intents - held - waiting - inhibited - dropped), "outcome",
                      "notified", NULL);
    ac_metrics_sample(o, "ac_notify_intents_planned_total", (double)inhibited, "outcome",
                      "inhibited", NULL);
    ac_metrics_sample(o, "ac_notify_intents_planned_total", (double)waiting, "outcome", "waiting",
                      NULL);
    ac_metrics_sample(o, "ac_notify_intents_planned_total", (double)held, "outcome", "held", NULL);
    ac_metrics_sample(o, "ac_notify_intents_planned_total", (double)dropped, "outcome", "dropped",
                      NULL);
    ac_metrics_family(o, "ac_notifications_created_total", "counter",
                      "Outbox rows (one per request to a channel) this instance planned.");
    ac_metrics_sample(o, "ac_notifications_created_total",
                      (double)__atomic_load_n(&p->n_created, __ATOMIC_RELAXED), NULL);
}
