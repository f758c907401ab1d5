/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Matchers on event fields, as Alertmanager's: name op "value" with op one of
 * =, !=, =~, !~. A name is any field ac_event_field() knows ("type",
 * "level", "resource.kind", "labels.team", ...). A missing field compares as
 * the empty string, so app_id!="" means "has an app_id". Regular expressions
 * are RE2's (Prometheus's syntax; linear-time matching, server/core/regex.h),
 * fully anchored: =~ "web" matches "web" but not "web-1" (write "web.*"), and
 * a pattern must stand on its own ("a)|(b" is refused). Compiled patterns
 * are shared by text, so loading the same matchers again compiles nothing.
 * Used by filter rules, silences and routes.
 */
#ifndef AC_SERVER_CORE_MATCHER_H
#define AC_SERVER_CORE_MATCHER_H

#include <jansson.h>
#include <stdbool.h>

#include "schema/event.h"
#include "server/core/err.h"
#include "server/core/regex.h"

#define AC_MATCHERS_MAX      32
#define AC_MATCHER_VALUE_MAX 1024

enum ac_match_op { AC_MATCH_EQ, AC_MATCH_NE, AC_MATCH_RE, AC_MATCH_NRE };

struct ac_matcher {
    char *name;
    enum ac_match_op op;
    char *value;
    const struct ac_regex *re; /* =~ and !~: shared (ac_regex_shared) */
};

/* "=", "!=", "=~", "!~"; _parse returns false for anything else. */
const char *ac_match_op_name(enum ac_match_op op);
bool ac_match_op_parse(const char *s, enum ac_match_op *out);

/* All of them must match (an empty list matches everything). */
struct ac_matchers {
    struct ac_matcher *v;
    size_t n;
};

/*
 * Compile [{"name", "op", "value"}, ...] (arr borrowed).
 * path: the JSON path of arr for error messages ("$.matchers").
 * errors: borrowed array; each problem appended with its path
 * ("$.matchers[1].value": "invalid regular expression: ...").
 * Returns AC_OK, or AC_EINVAL with ms left empty.
 */
AC_MUST_CHECK int ac_matchers_from_json(struct ac_matchers *ms, const json_t *arr, const char *path,
                                        json_t *errors);
void ac_matchers_deinit(struct ac_matchers *ms);
bool ac_matchers_match(const struct ac_matchers *ms, const struct ac_event *ev);

/*
 * One matcher written as text, as amtool and Alertmanager's API take them:
 * name op value, with op one of = != =~ !~ and value either double-quoted
 * (escapes \" \\ \n) or bare up to the end; spaces around are ignored.
 * name: [A-Za-z_][A-Za-z0-9_.]*. Returns {"name", "op", "value"} (new), as
 * ac_matchers_from_json takes it, or NULL with a message in err.
 */
json_t *ac_matcher_parse_text(const char *text, char *err, size_t errlen);
bool ac_matcher_match(const struct ac_matcher *m, const struct ac_event *ev);

#endif
