/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The metadata registry in memory: apps (app_id -> user_id, team, region,
 * namespace), tenants (user_id -> gc_level) and alert types (type -> default
 * level/trace/category, fingerprint dimensions). Loaded from PostgreSQL at
 * start and reloaded when any of them changes (reload.h); lookups never touch
 * the database. Thread-safe.
 *
 * Precedence: a field the event carries always wins; the registry fills only
 * what is missing; built-in defaults (level P4, trace runtime) come last.
 */
#ifndef AC_SERVER_REGISTRY_H
#define AC_SERVER_REGISTRY_H

#include "schema/event.h"
#include "server/core/config.h"

struct ac_registry;

struct ac_registry *ac_registry_start(const struct ac_config *cfg);
void ac_registry_stop(struct ac_registry *r);
/* After a change through this instance: in force here before returning. */
void ac_registry_poke(struct ac_registry *r);

/*
 * Normalize: level, trace and category from the event's type where the event
 * has none, then the built-in defaults, then the fingerprint over the type's
 * dimensions (or the default ones) - or, for an event with a non-empty
 * labels.dedup_key, over that label alone (an explicit dedup key, as
 * PagerDuty's, names its alert whatever else differs); the type's
 * compression settings.
 */
void ac_registry_normalize(struct ac_registry *r, struct ac_event *ev);

/*
 * Enrich: user_id from the app; gc_level from the tenant (the event's user_id,
 * else the app's); region and namespace from the app; the app's team as
 * labels.team. Only where the event lacks them.
 */
void ac_registry_enrich(struct ac_registry *r, struct ac_event *ev);

/*
 * The precedence rules themselves, pure (unit-tested): each fills only what
 * ev lacks. NULL / UNSET / 0 arguments fill nothing.
 */
void ac_registry_fill_type(struct ac_event *ev, enum ac_level level, enum ac_trace trace,
                           enum ac_category category);
void ac_registry_fill_app(struct ac_event *ev, const char *user_id, const char *region,
                          const char *namespace_, const char *team);
void ac_registry_fill_gc(struct ac_event *ev, int gc_level);

#endif
