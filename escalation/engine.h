/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The impact escalation engine (DESIGN §5) over the stored windows.
 *
 * DESIGN
 * ------
 * PostgreSQL keeps the windows (migrations/0008, 0017): the writer counts
 * events, distinct apps and GC6/GC7 users into the open window of each type
 * in the transaction that stores the events, under the type's advisory lock,
 * so the figures are exact with any number of instances (which members are
 * new it learns from the windows' Redis sets, members.h). This module decides from
 * those figures (policy.h) and applies the decision in a short transaction of
 * its own under the same lock: the window's level and hold clocks, and every
 * open alert of the type raised with an audit entry and a hand-off row for
 * notification. Deciding twice is harmless - the second decision, made under
 * the lock from the first one's result, finds nothing to do - which is why
 * ingest (for immediate tiers) and the timer (for durations) may both call it.
 *
 * Redis mirrors every open window as a hash, written only if newer (window
 * id, then rev), so all instances read one current state without querying
 * PostgreSQL; a marker key says the mirror is complete. When Redis loses it,
 * the timer rebuilds it from PostgreSQL on its next tick and readers fall back
 * to PostgreSQL until then.
 */
#ifndef AC_ESCALATION_ENGINE_H
#define AC_ESCALATION_ENGINE_H

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "escalation/policy.h"

/* One window as stored. */
struct ac_esc_win {
    int64_t id;
    char type[AC_EVENT_TYPE_MAX * 4 + 1];
    enum ac_trace trace;
    enum ac_level level;
    struct ac_esc_figures fig;
    long long prev_events;        /* of the previous equal-length period, when has_increment */
    int64_t opened_at, closed_at; /* µs; closed_at 0 while open */
    int64_t holding[AC_ESC_TIERS_MAX];
    int64_t rev;
    bool closed; /* closed, or closing when the transaction that read it commits */
};

/*
 * The select list of a window row "w", in the order ac_esc_win_from_pg reads
 * it. closed_sql, inc_sql and extra_sql are SQL expressions: whether the
 * window is (or is about to be) closed, whether to compute its increment, and
 * this minute's events not yet in the buckets.
 */
#define AC_ESC_WIN_SELECT(closed_sql, inc_sql, extra_sql)                                          \
    "w.id, w.type, w.trace, w.level, w.apps, w.gc_users, w.events,"                                \
    " (extract(epoch FROM w.opened_at) * 1000000)::bigint,"                                        \
    " coalesce((extract(epoch FROM w.closed_at) * 1000000)::bigint, 0), w.holding_since::text,"    \
    " w.rev, (" closed_sql "), CASE WHEN (" inc_sql                                                \
    ") THEN (SELECT row(i.cur, i.prev, i.pct)::text"                                               \
    " FROM ac_esc_increment(w.type, w.opened_at, coalesce(w.closed_at, now()), " extra_sql         \
    ") i) END,"                                                                                    \
    " w.increment_pct"

/* A window's events not yet in the per-minute buckets (extra_sql above). */
#define AC_ESC_UNFLUSHED "w.events - w.flushed_events"

/* Reads the columns of AC_ESC_WIN_SELECT from row of r. */
void ac_esc_win_from_pg(const PGresult *r, int row, struct ac_esc_win *w);

/* The policy of a window (its type's, else its trace's). Borrowed. */
const struct ac_esc_policy *ac_esc_win_policy(const struct ac_esc_config *c,
                                              const struct ac_esc_win *w);
/* Whether any tier of p is conditioned on the increment. */
bool ac_esc_needs_increment(const struct ac_esc_policy *p);

/* Whether deciding on w at now would change it (a hold clock or a raise). */
bool ac_esc_win_due(const struct ac_esc_config *c, const struct ac_esc_win *w, int64_t now);

/*
 * Decides on the open window of type and applies the result in one
 * transaction on conn (not in pipeline mode) under the type's lock. out gets
 * the window as left (out->id == 0: no open window); *raised the number of
 * alerts raised. Returns AC_OK or AC_EDB (nothing applied).
 */
AC_MUST_CHECK int ac_esc_apply(const struct ac_esc_config *c, PGconn *conn, const char *type,
                               int64_t now, struct ac_esc_win *out, long *raised);

/*
 * Loads the open windows (all, or of type when not NULL), with their
 * increments, ordered by type; or, with closed, the last limit closed ones,
 * newest first. *out is new (free). Returns AC_OK or AC_EDB.
 */
AC_MUST_CHECK int ac_esc_load(PGconn *conn, bool closed, const char *type, long limit,
                              struct ac_esc_win **out, size_t *n);

/* The API form of a window at now, with its pending duration conditions. */
json_t *ac_esc_win_to_json(const struct ac_esc_config *c, const struct ac_esc_win *w, int64_t now);

/* --- the Redis mirror ---------------------------------------------------- */

/* Loads the mirror's script into Redis; call once per connection, before
 * the functions below. Returns AC_OK or AC_EKV (drop the connection). */
AC_MUST_CHECK int ac_esc_mirror_prepare(redisContext *rc);

/* Appends one command (one reply) that stores w unless the mirror is newer. */
void ac_esc_mirror_append(redisContext *rc, const char *prefix, const struct ac_esc_win *w);

/*
 * Stores all the open windows (the whole truth from PostgreSQL), removes the
 * types not among them, and marks the mirror complete for ttl_ms.
 * Returns AC_OK or AC_EKV (the caller drops the connection).
 */
AC_MUST_CHECK int ac_esc_mirror_sync(redisContext *rc, const char *prefix,
                                     const struct ac_esc_win *w, size_t n, long ttl_ms);

/*
 * Reads the open windows from the mirror. Returns AC_OK; AC_ENOENT when the
 * mirror is not known to be complete (read PostgreSQL instead); AC_EKV.
 */
AC_MUST_CHECK int ac_esc_mirror_read(redisContext *rc, const char *prefix, const char *type,
                                     struct ac_esc_win **out, size_t *n);

#endif
