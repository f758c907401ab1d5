/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Regular expressions in RE2 syntax, the one Prometheus and Alertmanager use
 * (Go's regexp), matched in time linear in the text and in bounded memory:
 * no back-references, no catastrophic backtracking (a thin C shim over
 * Debian's libre2, server/core/regex.cc).
 *
 * Anchored means the whole text must match, as Alertmanager anchors matchers
 * (^(?:p)$) - but by the match, not by wrapping the text, so a pattern must
 * stand on its own: "prod)|(staging" is refused, not read as
 * "^(?:prod)|(staging)$" (which matches "production-db").
 *
 * ac_regex_shared hands out compiled anchored patterns from a process-wide cache keyed by the
 * pattern's text, so a silence, route or rule loaded again each planning
 * round is compiled once, not each round.
 */
#ifndef AC_SERVER_CORE_REGEX_H
#define AC_SERVER_CORE_REGEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Memory one compiled pattern may use (its program and its DFA cache);
 * a pattern that needs more does not compile. */
#define AC_REGEX_MAX_MEM (1L << 20)

struct ac_regex;

/* Compiles pattern; anchored: the whole text must match. Returns new, or
 * NULL with the reason in why ("bad repetition operator: ++"). */
struct ac_regex *ac_regex_compile(const char *pattern, bool anchored, char *why, size_t whylen);
/* Whether re matches text (len bytes; need not be NUL-terminated). Thread-safe. */
bool ac_regex_match(const struct ac_regex *re, const char *text, size_t len);
void ac_regex_free(struct ac_regex *re);

/* A compiled anchored pattern from the cache (compiled now if it is not
 * there); NULL with why if it does not compile. Release it (by the same
 * text) when done. */
const struct ac_regex *ac_regex_shared(const char *pattern, char *why, size_t whylen);
void ac_regex_release(const char *pattern);
/* Patterns compiled since start (each ac_regex_compile, shared or not). */
uint64_t ac_regex_compiles(void);

#ifdef __cplusplus
}
#endif

#endif
