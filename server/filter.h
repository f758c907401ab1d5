/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The filter stage: the current filter rules (rules.h), kept in memory and
 * reloaded when they change in PostgreSQL (reload.h: a version poll every
 * 250 ms), so a change made through any instance's API applies everywhere
 * within a second; each poll also adds this instance's drop counts to the
 * rules' totals. Seeds from the config's filters.rules are
 * inserted at start when no rule of the same name exists.
 */
#ifndef AC_SERVER_FILTER_H
#define AC_SERVER_FILTER_H

#include <stdint.h>

#include "schema/event.h"
#include "server/core/config.h"
#include "server/core/err.h"

struct ac_filter;

/* Validates the config's seed rules (cfg->filter_rules, may be NULL).
 * Returns AC_OK or AC_EINVAL with every problem logged. */
AC_MUST_CHECK int ac_filter_check_config(const struct ac_config *cfg);

/* Seeds, loads the rules once, and starts the refresher. cfg borrowed.
 * Returns new filter or NULL (logged). */
struct ac_filter *ac_filter_start(const struct ac_config *cfg);
void ac_filter_stop(struct ac_filter *f);

/*
 * Decide for ev. Returns AC_OK (keep) or AC_DROPPED with *rule_id set, and
 * counts the drop. Thread-safe; never touches the database.
 */
int ac_filter_apply(struct ac_filter *f, const struct ac_event *ev, int64_t now, int64_t *rule_id);

/* After a change through this instance: reloads now and waits (at most 2 s)
 * until the new rules are in force here. */
void ac_filter_poke(struct ac_filter *f);

#endif
