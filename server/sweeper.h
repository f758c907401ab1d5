/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The auto-resolve sweeper: an open alert that saw no event for its type's
 * resolve timeout (types.resolve_timeout_s, else the configured default;
 * 0 = never) is resolved by "system:auto-resolve", like Alertmanager's
 * resolve_timeout. One sweeper runs per cluster: each instance's thread tries
 * a session advisory lock and only the holder sweeps.
 */
#ifndef AC_SERVER_SWEEPER_H
#define AC_SERVER_SWEEPER_H

#include "server/core/config.h"

struct ac_sweeper;

/* cfg borrowed for the sweeper's lifetime. Returns new running sweeper or NULL. */
struct ac_sweeper *ac_sweeper_start(const struct ac_config *cfg);
/* Stops and joins (returns within about 100 ms); frees. NULL is fine. */
void ac_sweeper_stop(struct ac_sweeper *s);

#endif
