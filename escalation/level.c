/* SPDX-License-Identifier: Apache-2.0 */
/* Level ordering and the default response targets. */
#include "escalation/level.h"

#include <stddef.h>

static const struct ac_level_targets level_targets[] = {
    [AC_LEVEL_P1] = {60, 5 * 60, 10 * 60},
    [AC_LEVEL_P2] = {60, 10 * 60, 60 * 60},
    [AC_LEVEL_P3] = {60, 60 * 60, 24 * 60 * 60},
    [AC_LEVEL_P4] = {60 * 60, 24 * 60 * 60, 7 * 24 * 60 * 60},
};

enum ac_level ac_level_raise(enum ac_level current, enum ac_level requested)
{
    if (current == AC_LEVEL_UNSET) {
        return requested;
    }
    if (requested == AC_LEVEL_UNSET) {
        return current;
    }
    return requested < current ? requested : current;
}

const struct ac_level_targets *ac_level_default_targets(enum ac_level level)
{
    if (level < AC_LEVEL_P1 || level > AC_LEVEL_P4) {
        return NULL;
    }
    return &level_targets[level];
}
