/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The auto-resolve sweeper: an open alert that saw no event for its type's
 * resolve timeout (types.resolve_timeout_s, else the configured default;
 * 0 = never) is resolved by "system:auto-resolve", like Alertmanager's
 * resolve_timeout. One sweeper runs per cluster: a periodic worker
 * (core/worker.h) that sweeps while its instance leads the duty.
 */
#ifndef AC_SERVER_SWEEPER_H
#define AC_SERVER_SWEEPER_H

#include "server/core/config.h"

struct ac_sweeper;

/* cfg borrowed for the sweeper's lifetime. Returns new running sweeper or NULL. */
struct ac_sweeper *ac_sweeper_start(const struct ac_config *cfg);
/* Stops and joins (at once, or after the alert being resolved); frees. NULL is fine. */
void ac_sweeper_stop(struct ac_sweeper *s);

#endif
