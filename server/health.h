/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Readiness: whether PostgreSQL and Redis answer. Results are cached for a
 * second so probes cannot load the databases; the Redis connection used here
 * is owned by this module and used under its lock.
 */
#ifndef AC_SERVER_HEALTH_H
#define AC_SERVER_HEALTH_H

#include <jansson.h>
#include <stdbool.h>

#include "server/core/config.h"
#include "server/core/pg.h"

struct ac_health;

/* cfg and pool borrowed for the health object's lifetime. Returns new or NULL. */
struct ac_health *ac_health_create(const struct ac_config *cfg, struct ac_pg_pool *pool);
void ac_health_destroy(struct ac_health *h);

/* Checks (or reuses a check under 1 s old). checks: set to a new object
 * {"postgres": {"ok", "error"?}, "redis": {...}}. Returns true if all ok. */
bool ac_health_ready(struct ac_health *h, json_t **checks);

#endif
