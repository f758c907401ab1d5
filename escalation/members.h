/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The members of the open escalation windows: the distinct apps and GC6/GC7
 * users each one has counted (DESIGN §5), as Redis sets.
 *
 * DESIGN
 * ------
 * A window's set holds its members as 64-bit keys (ac_member_key in SQL,
 * "a:" or "u:" then the value, hashed), and "#" once it is complete. Only
 * the writer touches a set, under its type's advisory lock in PostgreSQL,
 * so the writers of all instances take turns on it: the group's new members
 * are added in one script per window, which answers, per member, whether it
 * was new - the window's counts grow by those, in the transaction that stores
 * the events.
 *
 * PostgreSQL stays the system of record: every event that brings a member
 * into a window is stored as a row (a repeat that would be folded is kept,
 * ac_fold_keep), so a window's members are the apps and GC6/GC7 users of its
 * firing events from its first_event_id on (plus, for windows open before
 * migration 0017, the esc_members rows). A set is therefore rebuilt from
 * PostgreSQL whenever it cannot be trusted:
 *   - missing, or without "#" (Redis restarted or was flushed);
 *   - marked pending: the script marks the window with the writer's token
 *     when it adds, and the writer removes the mark only after COMMIT; a
 *     mark found by the next writer means the adds may not have committed;
 *   - of another epoch: a writer that counted without Redis moved the
 *     window's members_epoch, which is part of the set's name, and of
 *     another key generation (the writer's wr_cache_check).
 * Sets expire a week after their last change (closed windows' ones are
 * deleted by the writer that closes them, or expire).
 */
#ifndef AC_ESCALATION_MEMBERS_H
#define AC_ESCALATION_MEMBERS_H

#include <hiredis/hiredis.h>
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
    int64_t epoch; /* the window's members_epoch */
};

/* Loads the scripts into Redis; call once per connection. Returns AC_OK or
 * AC_EKV (drop the connection). */
AC_MUST_CHECK int ac_esc_members_prepare(redisContext *rc);

/*
 * Appends one command (one reply) that adds keys[0..n) to the set, unless it
 * must be rebuilt first, and marks the window pending with token.
 */
void ac_esc_members_append_add(redisContext *rc, const struct ac_esc_set *s, const char *token,
                               const int64_t *keys, size_t n);

/*
 * The reply to an add of n keys: 1 with added[i] telling whether keys[i] was
 * new; 0 when the set must be rebuilt (nothing was added); -1 for a reply
 * that is neither (an error: drop the connection).
 */
int ac_esc_members_parse_add(const redisReply *r, bool *added, size_t n);

/* Appends the commands that make keys[0..n) the complete set and clear the
 * pending mark. Returns how many replies they have. */
size_t ac_esc_members_append_rebuild(redisContext *rc, const struct ac_esc_set *s,
                                     const int64_t *keys, size_t n);

/* Appends one command (one reply) that clears the pending mark if it is
 * token's - after COMMIT. */
void ac_esc_members_append_settle(redisContext *rc, const struct ac_esc_set *s, const char *token);

/* Appends one command (one reply) that deletes a closed window's set and mark. */
void ac_esc_members_append_forget(redisContext *rc, const struct ac_esc_set *s);

#endif
