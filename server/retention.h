/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Retention (migrations/0028): one instance of the cluster, every
 * retention.interval_s (and at once when it takes the lead), makes the
 * time partitions of events (days) and of the audit log and its chain
 * (months) ahead, drops the partitions past retention.events_days and
 * retention.history_days - whole partitions, never row by row - and
 * deletes resolved alerts and incidents past retention.history_days in
 * batches. The work is ac_retention_run, a SECURITY DEFINER function of
 * the schema's owner: serve's role may not drop tables itself.
 */
#ifndef AC_SERVER_RETENTION_H
#define AC_SERVER_RETENTION_H

#include "server/core/config.h"

struct ac_retention;

/* cfg borrowed for the worker's lifetime. Returns new running worker or NULL. */
struct ac_retention *ac_retention_start(const struct ac_config *cfg);
/* Stops and joins; frees. NULL is fine. */
void ac_retention_stop(struct ac_retention *r);

#endif
