/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The notifier's sending thread (a periodic worker, core/worker.h): each
 * pass claims up to AC_NOTIFY_BATCH due notifications with a lease
 * (outbox.h), sends them concurrently (libcurl multi, each with its channel's
 * timeout) and records each outcome: sent; retried later with exponential
 * backoff and jitter (or the gateway's Retry-After); or failed after a
 * permanent error or max_attempts - which raises a NotificationFailed alert
 * through the sink, notified on the fallback channel.
 */
#ifndef AC_SERVER_NOTIFY_SENDER_H
#define AC_SERVER_NOTIFY_SENDER_H

#include "escalation/notify/config.h"
#include "ingest/ingest.h"
#include "server/core/config.h"

#define AC_NOTIFY_BATCH 200

struct ac_notify_sender;
struct ac_metrics_out;

/* cfg, nc and sink borrowed for its lifetime. Returns new running sender, or NULL. */
struct ac_notify_sender *ac_notify_sender_start(const struct ac_config *cfg,
                                                const struct ac_notify_config *nc,
                                                const struct ac_sink *sink);
/* Its next pass runs now (something was planned). */
void ac_notify_sender_wake(struct ac_notify_sender *s);
/* Stops and joins (within a channel timeout); frees. NULL is fine. */
void ac_notify_sender_stop(struct ac_notify_sender *s);
/* This instance's send attempts by channel and outcome, and their durations. */
void ac_notify_sender_collect(const struct ac_notify_sender *s, struct ac_metrics_out *o);

#endif
