/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Levels as the escalation engine sees them: they only go up while an alert
 * is open, and each level carries MTTD/MTTA/MTTR targets (DESIGN §6) used by
 * time escalation and by the statistics.
 */
#ifndef AC_ESCALATION_LEVEL_H
#define AC_ESCALATION_LEVEL_H

#include <stdint.h>

#include "schema/event.h"

struct ac_level_targets {
    int64_t mttd_s;
    int64_t mtta_s;
    int64_t mttr_s;
};

/* The more severe of current and requested; UNSET counts as least severe.
 * This is the one rule by which a level changes while an alert is open. */
enum ac_level ac_level_raise(enum ac_level current, enum ac_level requested);

/* Default targets of DESIGN §6, or NULL for AC_LEVEL_UNSET. Borrowed, static. */
const struct ac_level_targets *ac_level_default_targets(enum ac_level level);

#endif
