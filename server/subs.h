/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The event center's subscriptions in memory (DESIGN §7; migrations/0029):
 * a copy reloaded when they change (reload.h), indexed by tenant, so the
 * writer matches each event of a group against its tenant's subscriptions
 * without a query per event, and counts the matches per subscription and
 * cycle in the group's transaction (sub_windows). A subscription matches an
 * event of its tenant (user_id) whose category is one of its categories and
 * whose app, namespace and region are in its scope (an empty list: any).
 */
#ifndef AC_SERVER_SUBS_H
#define AC_SERVER_SUBS_H

#include <stddef.h>
#include <stdint.h>

#include "schema/event.h"
#include "server/core/config.h"

struct ac_subs;

/* One match: the subscription, its cycle's start (µs, a multiple of the
 * cycle since the epoch) and its threshold. */
struct ac_sub_hit {
    int64_t id;
    int64_t cycle_start_us;
    int64_t threshold;
};

/* Loads the subscriptions and keeps them current. Returns new or NULL. */
struct ac_subs *ac_subs_start(const struct ac_config *cfg);
void ac_subs_stop(struct ac_subs *s);
/* Reload now (after a write through this instance's API). */
void ac_subs_poke(struct ac_subs *s);
/* How many subscriptions are in force (0: nothing to match). */
size_t ac_subs_count(struct ac_subs *s);
/* The subscriptions ev matches, at its received time, into out (at most
 * max); returns how many. Thread-safe. */
size_t ac_subs_match(struct ac_subs *s, const struct ac_event *ev, struct ac_sub_hit *out,
                     size_t max);

#endif
