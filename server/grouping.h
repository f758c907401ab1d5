/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The grouping stage: each event's incident group key (escalation/group.h)
 * by the routes' group_by, and its team by the routes, kept in memory and reloaded when the on-call
 * data changes (reload.h), as the filter stage keeps its rules.
 */
#ifndef AC_SERVER_GROUPING_H
#define AC_SERVER_GROUPING_H

#include "schema/event.h"
#include "server/core/config.h"

struct ac_grouping;

/* Loads the routes once and starts the refresher. Returns new or NULL (logged). */
struct ac_grouping *ac_grouping_start(const struct ac_config *cfg);
void ac_grouping_stop(struct ac_grouping *g);

/* Sets ev->group_key (NULL for the type alone) and ev->team (the route's,
 * else the default team; 0: none). Thread-safe, no database. */
void ac_grouping_apply(struct ac_grouping *g, struct ac_event *ev);

/* After a route change through this instance: reload now and wait (≤ 2 s). */
void ac_grouping_poke(struct ac_grouping *g);

#endif
