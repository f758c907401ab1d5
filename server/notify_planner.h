/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The notifier's planning thread (a periodic worker, core/worker.h): each
 * pass turns due tiers and repeats into intents (outbox.h), then plans a
 * batch of intents (escalation/notify/plan.h) in one transaction. Every
 * instance runs one; they share the intents through SKIP LOCKED.
 */
#ifndef AC_SERVER_NOTIFY_PLANNER_H
#define AC_SERVER_NOTIFY_PLANNER_H

#include "escalation/notify/config.h"
#include "server/core/config.h"

struct ac_notify_planner;
struct ac_metrics_out;

/* cfg and nc borrowed for its lifetime; planned(ctx) is called after each
 * commit that made notifications (may be NULL). Returns new running
 * planner, or NULL. */
struct ac_notify_planner *ac_notify_planner_start(const struct ac_config *cfg,
                                                  const struct ac_notify_config *nc,
                                                  void (*planned)(void *ctx), void *ctx);
/* Its next pass runs now (intents were written). */
void ac_notify_planner_wake(struct ac_notify_planner *p);
/* Stops and joins; frees. NULL is fine. */
void ac_notify_planner_stop(struct ac_notify_planner *p);
/* This instance's planned intents by outcome, and outbox rows made. */
void ac_notify_planner_collect(const struct ac_notify_planner *p, struct ac_metrics_out *o);

#endif
