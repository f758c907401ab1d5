/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Filter rules (black/whitelist), pure logic. A rule is an ordered position,
 * an action - drop (blacklist) or allow (whitelist: passes, and no later
 * drop rule applies) - a list of matchers that must all match, an optional
 * expiry, a comment and its author. Rules are tried in (position, id) order;
 * the first unexpired rule that matches decides; no match allows.
 */
#ifndef AC_SERVER_RULES_H
#define AC_SERVER_RULES_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "server/core/matcher.h"

#define AC_RULE_NAME_MAX    128
#define AC_RULE_COMMENT_MAX 1024

struct ac_rule {
    int64_t id;
    char *name; /* optional, unique; config seeds are matched by it */
    long position;
    bool has_position;
    bool allow; /* false: drop */
    struct ac_matchers matchers;
    int64_t expires_at; /* µs; 0 = never */
    char *comment;
    unsigned long long drops; /* not yet flushed to the database (atomic) */
};

/*
 * Validate and compile a rule from its API/config form
 * {"name"?, "position"?, "action", "matchers": [...], "expires_at"?, "comment"?}.
 * errors: borrowed array, problems appended with their JSON path.
 * Returns AC_OK (r filled, release with ac_rule_deinit) or AC_EINVAL (r empty).
 */
AC_MUST_CHECK int ac_rule_from_json(struct ac_rule *r, const json_t *obj, json_t *errors);
void ac_rule_deinit(struct ac_rule *r);

/*
 * The rule that decides ev among rules[0..n) (already in order) at time now
 * (µs): returns its index, or -1 when none matches (allow).
 */
long ac_rules_eval(const struct ac_rule *rules, size_t n, const struct ac_event *ev, int64_t now);

#endif
