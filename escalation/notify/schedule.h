/* SPDX-License-Identifier: Apache-2.0 */
/*
 * On-call schedules (DESIGN §6 "who"), pure logic: who is on call at an
 * instant. Times are Unix seconds; the clock is the caller's.
 *
 * A schedule has a time zone, layers and overrides.
 *   - A layer rotates its members (contact ids, in order) from its start:
 *     "daily" and "weekly" hand over at the hand-off time (wall clock in the
 *     schedule's zone, so 09:00 stays 09:00 across daylight-saving changes);
 *     {"hours": N} hands over every N hours from the start. The first shift
 *     runs from the start to the first hand-off after it, and belongs to the
 *     first member. A layer may end.
 *   - Layers are ordered: a later layer, where it has someone on call, takes
 *     precedence over the earlier ones (a weekend layer over the weekly one).
 *   - An override puts a contact on call for a time range, over every layer;
 *     of overlapping overrides the one created last (later in the list) wins.
 *
 * JSON form (the /v1/schedules resource):
 *   {"name": "sre-primary", "time_zone": "Asia/Shanghai",
 *    "layers": [{"name": "weekly", "start": "2026-01-05T09:00:00",
 *                "rotation": "weekly" | "daily" | {"hours": 12},
 *                "handoff": "09:00", "end": null, "members": ["1", "2"]}],
 *    "overrides": [{"contact": "3", "start": "2026-02-01T00:00:00Z",
 *                   "end": "2026-02-02T00:00:00Z"}]}
 * A start or end without an offset is a wall-clock time in the schedule's
 * zone; with Z or ±HH:MM it is that instant. "handoff" defaults to the
 * start's time of day.
 */
#ifndef AC_ESCALATION_NOTIFY_SCHEDULE_H
#define AC_ESCALATION_NOTIFY_SCHEDULE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "escalation/notify/tz.h"
#include "server/core/err.h"

enum ac_rotation { AC_ROT_DAILY, AC_ROT_WEEKLY, AC_ROT_HOURS };

struct ac_sched_layer {
    char *name;
    int64_t start, end; /* end 0: none */
    enum ac_rotation rotation;
    long hours;       /* AC_ROT_HOURS */
    long handoff;     /* seconds after local midnight (daily, weekly) */
    int64_t day0;     /* local day (days since the epoch) of the start */
    int64_t *members; /* contact ids */
    size_t nmembers;
};

struct ac_sched_override {
    int64_t start, end;
    int64_t contact;
};

struct ac_schedule {
    struct ac_tz tz;
    struct ac_sched_layer *layers;
    size_t nlayers;
    struct ac_sched_override *overrides;
    size_t noverrides;
};

/* Who is on call: contact 0 when nobody is. layer: index of the layer, or -1
 * for an override (or nobody). The shift is [from, until); until 0 when it
 * has no end. */
struct ac_oncall {
    int64_t contact;
    long layer;
    int64_t from, until;
};

/*
 * Builds a schedule from its JSON form (borrowed). On AC_EINVAL every
 * problem is appended to errors (borrowed array) with its path, and s holds
 * nothing to free.
 */
AC_MUST_CHECK int ac_schedule_from_json(const json_t *j, struct ac_schedule *s, json_t *errors);
void ac_schedule_deinit(struct ac_schedule *s);

/* Who is on call at t. */
void ac_schedule_oncall(const struct ac_schedule *s, int64_t t, struct ac_oncall *out);

/* Parses "YYYY-MM-DDTHH:MM[:SS]" with an optional Z or ±HH:MM: an instant,
 * or a wall-clock time in tz when it has no offset. */
bool ac_sched_parse_time(const struct ac_tz *tz, const char *s, int64_t *out);

#endif
