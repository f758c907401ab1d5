/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Inhibition (DESIGN §5 "Incidents"), as Alertmanager's inhibit_rules:
 *   {"name", "source_matchers": [...], "target_matchers": [...],
 *    "equal"?: [field, ...], "comment"?}
 * While an open alert matches source_matchers, an alert matching
 * target_matchers whose fields in equal have the same values (a missing
 * field is empty) is inhibited: stored and counted, not notified. An alert
 * never inhibits itself. Pure: the planner loads the rules and the open
 * source alerts, and asks per alert.
 */
#ifndef AC_ESCALATION_INHIBIT_H
#define AC_ESCALATION_INHIBIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "escalation/group.h"
#include "schema/event.h"
#include "server/core/err.h"
#include "server/core/matcher.h"

/* Validates a rule document (borrowed); problems appended to errors as
 * {"path", "message"}. Returns AC_OK or AC_EINVAL. */
AC_MUST_CHECK int ac_inhibit_validate(const json_t *doc, json_t *errors);

struct ac_inhibit_source {
    char *key; /* the values of equal, joined */
    int64_t alert;
};

struct ac_inhibit_rule {
    int64_t id;
    struct ac_matchers source, target;
    struct ac_group_by equal;
    struct ac_inhibit_source *sources; /* sorted by key after ac_inhibit_finish */
    size_t nsources, capsources;
};

struct ac_inhibit_set {
    struct ac_inhibit_rule *rules;
    size_t n;
};

/* Adds a stored rule (source_matchers, target_matchers, equal) of id;
 * false (nothing added) when it does not load. */
bool ac_inhibit_add_rule(struct ac_inhibit_set *s, int64_t id, const json_t *doc);
/* The exact type a rule's source matchers require (an "=" matcher on type),
 * or NULL: which open alerts to load as its sources. */
const char *ac_inhibit_source_type(const struct ac_inhibit_rule *r);
/* Offers open alert alert_id (latest event ev) as a source of rule r. */
void ac_inhibit_add_source(struct ac_inhibit_rule *r, int64_t alert_id, const struct ac_event *ev);
/* Done adding sources. */
void ac_inhibit_finish(struct ac_inhibit_set *s);
void ac_inhibit_deinit(struct ac_inhibit_set *s);

/* The alert inhibiting alert alert_id (latest event ev), or 0; *rule: the
 * rule's id. */
int64_t ac_inhibited(const struct ac_inhibit_set *s, int64_t alert_id, const struct ac_event *ev,
                     int64_t *rule);

#endif
