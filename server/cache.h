/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The writer's Redis cache: the open alert of each fingerprint, the result
 * of each accepted idempotency key, the escalation windows' mirror and
 * member sets (escalation/members.h). Used by the writer thread alone.
 *
 * DESIGN
 * ------
 * PostgreSQL is the system of record; the cache only saves lookups. An open
 * alert it names is verified under the locks (the writer's update fails with
 * SQLSTATE AC001 if it is not open, and the group is retried without the
 * cache). Its idempotency keys are trusted only while PostgreSQL is not
 * behind it: before the first lookup after a (re)connection to either, the
 * cache's high-water event id is compared with the events sequence
 * (ac_cache_check), and if PostgreSQL is behind (restored, or a new
 * database under an old prefix) the key generation moves, orphaning the old
 * keys until their TTL.
 *
 * Each group costs one round trip before its transaction (ac_cache_lookup:
 * fingerprints, keys and the member checks) and one MULTI/EXEC after COMMIT
 * (ac_cache_update), which is sent but whose replies are read before the
 * next command, not waited for. A Redis error never fails a group: the
 * connection is dropped, the writer goes on with PostgreSQL alone and Redis
 * is tried again a second later.
 */
#ifndef AC_SERVER_CACHE_H
#define AC_SERVER_CACHE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "escalation/candidates.h"
#include "server/core/err.h"
#include "server/fold.h"

struct ac_cache;
struct ac_esc_win;

/* redis_url: borrowed (copied), NULL for no cache (every call is then a
 * no-op). prefix: of every key, NULL for "ac:". Returns new. */
struct ac_cache *ac_cache_create(const char *redis_url, const char *prefix);
void ac_cache_destroy(struct ac_cache *c);

/* The key prefix (borrowed). */
const char *ac_cache_prefix(const struct ac_cache *c);

/* The PostgreSQL connection was (re)made: check again before trusting keys. */
void ac_cache_invalidate(struct ac_cache *c);

/*
 * Before the first lookup after a (re)connection: compares the cache with
 * PostgreSQL on conn (borrowed, idle, in pipeline mode; left so). Returns
 * AC_OK, or AC_EDB if conn could not be put back in pipeline mode (close it).
 */
AC_MUST_CHECK int ac_cache_check(struct ac_cache *c, PGconn *conn);

/* Whether the cache is connected and checked (its answers can be used). */
bool ac_cache_ready(struct ac_cache *c);

/*
 * One round trip: the cached open alert of every fingerprint of f and the
 * result of every first idempotency key (applied to f; fp_hit[i] per
 * fingerprint and key_hit[i] per event say which were answered), and the
 * set check of pre's windows (ac_cand_checked). Nothing when not ready.
 */
void ac_cache_lookup(struct ac_cache *c, struct ac_fold *f, bool *fp_hit, bool *key_hit,
                     struct ac_cand_group *pre);

/* Under the locks: checks g's undecided windows against their sets again
 * and decides those whose sizes match (ac_cand_decide_checked). */
void ac_cache_check_members(struct ac_cache *c, struct ac_cand_group *g);

/*
 * After COMMIT, one MULTI/EXEC: the alerts f left open or closed, its keys,
 * the windows counted (wins, mirrored: a closing one always, the others at
 * most every 200 ms) and g's new members into their windows' sets (a closed
 * window's sets deleted).
 */
void ac_cache_update(struct ac_cache *c, const struct ac_fold *f, const struct ac_cand_group *g,
                     const struct ac_esc_win *wins, size_t nwins);

/* After a stale entry: forgets f's fingerprints. */
void ac_cache_forget(struct ac_cache *c, const struct ac_fold *f);

/* Mirrors one window (after a raise). */
void ac_cache_mirror(struct ac_cache *c, const struct ac_esc_win *w);

/* Members asked of the sets so far (relaxed read). */
unsigned long long ac_cache_members_checked(const struct ac_cache *c);

#endif
