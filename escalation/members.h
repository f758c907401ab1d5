/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The members of the open escalation windows: the distinct apps and GC6/GC7
 * users each one has counted (DESIGN §5), as Redis sets.
 *
 * DESIGN
 * ------
 * A window has two sets, its apps and its users, of 64-bit keys
 * (ac_member_key in SQL: "a:" or "u:" then the value, hashed). PostgreSQL
 * keeps the exact counts (esc_windows.apps, gc_users), and a set only ever
 * receives members whose events have committed - the writer adds them after
 * COMMIT - so a set is always a subset of the window's true members. A set
 * whose size equals the stored count is therefore exactly the window's
 * members, and then whether a member is new is a lookup in it:
 *   - in its first round trip to Redis (before it holds any lock) the writer
 *     asks each set for its size and for the group's candidates (one
 *     MULTI/EXEC, so sizes and answers are one snapshot);
 *   - under the types' locks it compares the sizes with the stored counts:
 *     equal, the answers stand (no member can have been added in between,
 *     as the count would have grown); else it asks again (another instance's
 *     adds may have been on their way) and, still behind, asks PostgreSQL
 *     (an index lookup per candidate in the stored events).
 * The writer's memory of the members it counted itself works the same way
 * and comes first: when it holds as many as the stored counts (one
 * instance), a member it does not hold is new, and the sets are not asked.
 * A set that Redis lost, an add that never arrived (a crash after COMMIT),
 * members counted by an instance without Redis: each leaves a set smaller
 * than its count, which the escalation timer fills in from PostgreSQL every
 * escalation.members_fill_ms (ac_esc_members_catch_up) - off the ingest
 * path, without a lock: it only adds true members, and writers add theirs
 * meanwhile.
 *
 * PostgreSQL has what rebuilds a set: every event that brings a member into a
 * window is stored as a row (a repeat that would be folded is kept,
 * ac_fold_keep), so a window's members are the apps and GC6/GC7 users of its
 * firing events from its first_event_id on (plus, for windows open before
 * migration 0017, the esc_members rows). Sets are named by the writer's key
 * generation (server/cache.h) and the window id; they expire a week after
 * their last change, and the writer that closes a window deletes them.
 */
#ifndef AC_ESCALATION_MEMBERS_H
#define AC_ESCALATION_MEMBERS_H

#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/core/err.h"

#define AC_ESC_MEMBERS_TTL_MS 604800000LL /* a week */

/* Where a window's members are kept. */
struct ac_esc_set {
    const char *prefix; /* of every cache key */
    long long gen;      /* the writer's key generation */
    int64_t window_id;
};

/*
 * Appends the commands that ask the sizes of the window's sets and whether
 * each of keys[0..n) is in its kind's set (kinds[i]: 'a' app, 'u' user):
 * SCARD, SCARD, then one SMISMEMBER per kind asked about (Redis >= 6.2).
 * Send them inside MULTI/EXEC: the sizes vouch for the answers only if both
 * are one snapshot. Returns how many commands (replies).
 */
size_t ac_esc_members_append_check(redisContext *rc, const struct ac_esc_set *s, const char *kinds,
                                   const int64_t *keys, size_t n);

/* The replies r[0..nr) to a check of n keys: the sizes and present[i].
 * Returns AC_OK, or AC_EKV for other replies (errors: drop the connection). */
AC_MUST_CHECK int ac_esc_members_parse_check(redisReply *const *r, size_t nr, const char *kinds,
                                             size_t n, long long *apps, long long *users,
                                             bool *present);

/* Appends the commands that add keys[0..n) (committed members). Returns how
 * many replies they have. */
size_t ac_esc_members_append_add(redisContext *rc, const struct ac_esc_set *s, const char *kinds,
                                 const int64_t *keys, size_t n);

/* Appends one command (one reply) that deletes a closed window's sets. */
void ac_esc_members_append_forget(redisContext *rc, const struct ac_esc_set *s);

struct ac_esc_win;

/*
 * The escalation timer's part: fills in, from PostgreSQL on conn (not in
 * pipeline mode), the sets of the open windows w[0..n) that are smaller than
 * their counts, adding (never removing: a set holds only true members, and
 * writers add theirs meanwhile). *filled gets how many sets it filled in.
 * Returns AC_OK, AC_EKV (drop the Redis connection) or AC_EDB.
 */
AC_MUST_CHECK int ac_esc_members_catch_up(redisContext *rc, PGconn *conn, const char *prefix,
                                          const struct ac_esc_win *w, size_t n, size_t *filled);

#endif
