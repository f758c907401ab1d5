/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The on-call resources of DESIGN §6, validated: contacts, schedules
 * (schedule.h), teams and routes. Pure; the API stores what this returns.
 *
 *   contact  {"name", "phone"?, "email"?, "chat"?: {"dingtalk"?, "slack"?},
 *             "comment"?}
 *   team     {"name", "members"?: [contact], "lead"?: contact,
 *             "chain": [{"targets": [{"schedule": id} | {"contact": id} |
 *                                    {"lead": true}]}, ...],
 *             "default"?: bool}
 *            The chain's tiers are who is notified first, then after each
 *            acknowledgement timeout (tier 1 the on-call person, tier 2 the
 *            secondary, tier 3 the lead ...); the last tier repeats.
 *   route    {"name", "position"?, "matchers": [...], "team": id, "group_by"?}
 *            Routes are tried in (position, id) order; the first whose
 *            matchers all match picks the team; the default team catches the
 *            rest. "group_by"?: [field] splits its incidents (group.h).
 * Ids are strings of digits (integers accepted).
 */
#ifndef AC_ESCALATION_NOTIFY_ONCALL_H
#define AC_ESCALATION_NOTIFY_ONCALL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/core/err.h"

enum ac_oncall_kind { AC_ONCALL_CONTACT, AC_ONCALL_SCHEDULE, AC_ONCALL_TEAM, AC_ONCALL_ROUTE };

#define AC_ONCALL_NAME_MAX 128
#define AC_TEAM_TIERS_MAX  10

/* What a validated document refers to (ids, de-duplicated, ascending). */
struct ac_oncall_refs {
    int64_t *contacts, *schedules, *teams;
    size_t ncontacts, nschedules, nteams;
};

struct ac_oncall_doc {
    char *name;
    json_t *doc; /* the normalized document without "name" and "id" */
    struct ac_oncall_refs refs;
    long position;   /* routes */
    bool is_default; /* teams */
};

/*
 * Validates obj (borrowed) as a resource of kind. errors: borrowed array,
 * each problem appended as {"path", "message"}. Returns AC_OK (out filled,
 * release with ac_oncall_doc_deinit) or AC_EINVAL (out empty).
 */
AC_MUST_CHECK int ac_oncall_validate(enum ac_oncall_kind kind, const json_t *obj,
                                     struct ac_oncall_doc *out, json_t *errors);
void ac_oncall_doc_deinit(struct ac_oncall_doc *d);

/* An id from a JSON string of digits or a positive integer. */
bool ac_oncall_parse_id(const json_t *v, int64_t *out);

#endif
