/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The event center's subscriptions in force (migrations/0029), kept current
 * in memory: a set (subs_match.h) reloaded when they change (reload.h), so
 * the writer matches each event of a group against its tenant's
 * subscriptions without a query per event, and counts the matches per
 * subscription and cycle in the group's transaction (sub_windows).
 */
#ifndef AC_SERVER_SUBS_H
#define AC_SERVER_SUBS_H

#include "server/core/config.h"
#include "server/subs_match.h"

struct ac_subs;

/* Loads the subscriptions and keeps them current. Returns new or NULL. */
struct ac_subs *ac_subs_start(const struct ac_config *cfg);
void ac_subs_stop(struct ac_subs *s);
/* Reload now (after a write through this instance's API). */
void ac_subs_poke(struct ac_subs *s);
/* The set in force, held (a reload waits) until ac_subs_release; NULL when
 * s is NULL. Hold it across a whole group, not per event. */
const struct ac_sub_set *ac_subs_hold(struct ac_subs *s);
void ac_subs_release(struct ac_subs *s);

#endif
