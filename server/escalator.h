/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The escalation timer and the windows' read side.
 *
 * One timer runs per cluster: each instance's thread tries a session advisory
 * lock and only the holder works. Every tick (escalation.tick_ms) it moves
 * the windows' new events into the per-minute buckets (the increment), decides
 * on every open window - which is how duration conditions ("lasting 60 min")
 * are met without new events - and re-mirrors the open windows into Redis,
 * which also rebuilds the mirror after Redis lost it. Ingest decides on the
 * windows it changes itself (writer.c), so the timer is only the clock.
 */
#ifndef AC_SERVER_ESCALATOR_H
#define AC_SERVER_ESCALATOR_H

#include <jansson.h>
#include <libpq-fe.h>

#include "escalation/policy.h"
#include "server/core/config.h"
#include "server/core/pg.h"

struct ac_escalator;

/* cfg and esc borrowed for its lifetime. Returns new running timer or NULL. */
struct ac_escalator *ac_escalator_start(const struct ac_config *cfg,
                                        const struct ac_esc_config *esc);
/* Stops and joins (within about 100 ms); frees. NULL is fine. */
void ac_escalator_stop(struct ac_escalator *e);

/*
 * The open windows (all, or of type) in API form: from the Redis mirror when
 * it is complete, else from PostgreSQL through pool. *source names which.
 * Returns new array, or NULL when neither could be read.
 */
json_t *ac_escalator_open_windows(struct ac_escalator *e, struct ac_pg_pool *pool, const char *type,
                                  const char **source);

#endif
