/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The notifier (DESIGN §6): plans the outbox's intents into notifications,
 * moves unacknowledged alerts to the next tier of their chain, and sends the
 * due notifications through the channels, at least once.
 *
 * Every instance runs a planning thread (intents, tiers, repeats:
 * notify_planner.h, deciding with escalation/notify/plan.h) and a sending
 * thread (notify_sender.h), each with its own connection (outbox.h holds
 * their SQL); instances share the work through
 * PostgreSQL alone: intents, due tiers and due notifications are claimed with
 * FOR UPDATE SKIP LOCKED, and a notification being sent carries a lease, so
 * two instances never send the same one at once, and one an instance was
 * sending when it died is sent again after the lease (at least once; the
 * Idempotency-Key lets a gateway drop the repeat).
 *
 * Planning an intent, in one transaction: the alert's team (its own if it
 * was notified before, else the first route whose matchers match its latest
 * event, else the default team), the chain tier's recipients (who is on call
 * on a schedule now, a contact, the lead), the level's channels (a resolve:
 * the channels used before) - one notification per request: per recipient
 * with a phone for sms/phone, one for each chat/webhook/arms channel - and
 * the alert's next tier time (its level's MTTA).
 *
 * Sending: up to AC_NOTIFY_BATCH due rows at a time, concurrently (libcurl
 * multi, each with its channel's timeout); sent, retried later with
 * exponential backoff and jitter (or the server's Retry-After), or failed
 * after a permanent error or max_attempts - which raises a NotificationFailed
 * alert through sink (the pipeline), notified on the fallback channel.
 */
#ifndef AC_SERVER_NOTIFIER_H
#define AC_SERVER_NOTIFIER_H

#include "escalation/notify/config.h"
#include "ingest/ingest.h"
#include "server/core/config.h"

struct ac_notifier;

/* cfg and nc borrowed for its lifetime. Returns new running notifier, or
 * NULL. With no channel configured it still plans (and records) intents. */
struct ac_notifier *ac_notifier_start(const struct ac_config *cfg,
                                      const struct ac_notify_config *nc,
                                      const struct ac_sink *sink);
/* Stops and joins (within a channel timeout); frees. NULL is fine. */
/* Intents were written: plan now rather than at the next poll. */
void ac_notifier_wake(struct ac_notifier *n);
void ac_notifier_stop(struct ac_notifier *n);

/* Metrics collector (metrics.h); ctx is the notifier: this instance's sends
 * by channel and outcome, and their durations. */
struct ac_metrics_out;
void ac_notifier_collect(void *ctx, struct ac_metrics_out *o);

#endif
