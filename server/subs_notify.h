/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The event center's notifications (DESIGN §7; migrations/0029, 0030): a
 * periodic worker on every instance claims the subscription windows that
 * reached their threshold and were not told yet (FOR UPDATE SKIP LOCKED),
 * and makes their notifications in the outbox - one per channel (one per
 * contact on person channels: phone, SMS, email), idempotency key per
 * subscription, cycle, channel and contact - then marks the window told.
 * So a triggered subscription is told once per cycle, not per event, and a
 * gateway outage loses nothing (the outbox retries). A subscription without
 * channels uses the channels of level P3.
 *
 * The context the channels render: {"reason": "subscription", "level":
 * "P3", "title", "text", "tenant": {id, name}, "subscription": {id, name,
 * categories, threshold, cycle_s}, "cycle": {start, end, events},
 * "recipients": [contacts], "contact"?, "notification": {"key"}}.
 */
#ifndef AC_SERVER_SUBS_NOTIFY_H
#define AC_SERVER_SUBS_NOTIFY_H

#include "escalation/notify/config.h"
#include "server/core/config.h"

struct ac_subs_notify;

/* cfg and nc borrowed for the worker's lifetime. Returns new or NULL. */
struct ac_subs_notify *ac_subs_notify_start(const struct ac_config *cfg,
                                            const struct ac_notify_config *nc);
void ac_subs_notify_stop(struct ac_subs_notify *s);

#endif
