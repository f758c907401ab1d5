/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which of a group's apps and GC6/GC7 users are new to their type's open
 * escalation window (DESIGN §5: distinct members are counted exactly, each
 * once per window). Pure logic: no thread, socket or global. The writer moves
 * data between it and PostgreSQL / Redis (members.h says where the members
 * live and why a set whose size equals its stored count is exact).
 *
 * DESIGN
 * ------
 * A group's candidates are the distinct (window, kind, value) of its new
 * firing events. Each is decided, in this order:
 *   1. known: the writer's memory (struct ac_cand_memory) holds the members
 *      it counted into each window itself; a candidate it holds is not new
 *      and is not asked about at all;
 *   2. memory exact: when the memory holds as many apps and users as the
 *      window's stored counts (read under the type's lock), it is the whole
 *      window, so every candidate it does not hold is new;
 *   3. a set check: the window's Redis sets answered, in one snapshot, their
 *      sizes and which candidates they hold; if the sizes equal the stored
 *      counts the answers stand (a check made before the locks, or again
 *      under them);
 *   4. PostgreSQL: the rest are probed in the stored events; a candidate the
 *      probe finds is not new, the others are.
 * A window the group opens (no id under the locks) has only new members.
 *
 * Phases, in the writer's order:
 *   ac_cand_collect(view = NULL)   before the locks: candidates against the
 *                                  windows the writer last counted into;
 *   ac_cand_checks / _checked      their set check (round trip 0);
 *   ac_cand_collect(view)          under the locks, after the fold;
 *   ac_cand_decide(pre)            steps 2 and 3 from the earlier check;
 *   ac_cand_checks / _checked /
 *   ac_cand_decide_checked         step 3 again for windows still open;
 *   ac_cand_probes / _probed       step 4;
 *   ac_cand_apply                  the events to store and the new counts;
 *   ac_cand_remember (after COMMIT) into the memory.
 */
#ifndef AC_ESCALATION_CANDIDATES_H
#define AC_ESCALATION_CANDIDATES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "schema/event.h"
#include "server/core/strmap.h"

struct ac_esc_win;

/* --- the open windows, as read under the types' locks ------------------- */

struct ac_cand_window {
    const char *type; /* borrowed */
    int64_t id;
    enum ac_level level;    /* the level the window is raised to (P4: not raised) */
    int64_t first_event_id; /* its members are in the events from this one on */
    long long apps, users;  /* its stored counts */
};

struct ac_cand_view {
    struct ac_cand_window *w;
    size_t n, cap;
    struct ac_strmap idx; /* type -> index into w */
};

void ac_cand_view_init(struct ac_cand_view *v);
void ac_cand_view_deinit(struct ac_cand_view *v);
/* w->type: borrowed for the view's lifetime. A type is added once. */
void ac_cand_view_add(struct ac_cand_view *v, const struct ac_cand_window *w);
/* The open window of type (borrowed), or NULL. */
const struct ac_cand_window *ac_cand_view_get(const struct ac_cand_view *v, const char *type);

/* --- the writer's memory of the members it counted ----------------------- */

/* The members counted into a type's open window by this writer: an
 * open-addressing set of member keys, 0 = empty. Members leave a window only
 * when it closes, and the next one has another id, so "known for this window
 * id" stays true. Like a Redis set it holds only committed members. */
struct ac_cand_known {
    char *type;
    int64_t type_key; /* ac_lockkey_type(type) */
    int64_t window_id;
    int64_t *set;
    size_t cap, n;
    long napps, nusers; /* of n, by kind */
    bool complete;      /* all the window's members, as of the last count */
};

struct ac_cand_memory {
    struct ac_strmap idx; /* type -> index into known */
    struct ac_cand_known *known;
    size_t n, cap;
    size_t total;                   /* members remembered, all types */
    size_t per_type_max, total_max; /* past these, members are asked about again */
};

void ac_cand_memory_init(struct ac_cand_memory *m, size_t per_type_max, size_t total_max);
void ac_cand_memory_deinit(struct ac_cand_memory *m);
/* The entry of type (borrowed; made at first use). */
struct ac_cand_known *ac_cand_memory_type(struct ac_cand_memory *m, const char *type);
/* Whether the memory holds key for window_id. */
bool ac_cand_known_has(const struct ac_cand_known *k, int64_t window_id, int64_t key);
/* Remembers key (kind 'a' or 'u') as counted into window_id; a new window id
 * forgets the previous window's members. */
void ac_cand_memory_add(struct ac_cand_memory *m, struct ac_cand_known *k, int64_t window_id,
                        char kind, int64_t key);

/* --- one group's candidates ---------------------------------------------- */

struct ac_cand_member {
    const char *value; /* borrowed from the event */
    char kind;         /* 'a' (app) or 'u' (GC6/GC7 user) */
    int64_t key;       /* ac_lockkey_member(kind, value) */
    size_t event;      /* the group's first event with it */
    size_t win;        /* index into the group's wins */
    bool present;      /* in the window's set, as checked */
    bool added;        /* new to its window */
};

/* The window of a type with new firing events in the group. */
struct ac_cand_win {
    const char *type; /* borrowed from the event */
    int64_t id;       /* the open window, 0 if the group opens it (before the
                         locks: the one this writer last counted into) */
    int64_t first;
    long long apps_db, users_db;   /* its stored counts */
    long long apps_set, users_set; /* the sizes of its sets, as checked */
    size_t first_event;            /* the group's first firing event of the type */
    size_t nmem;                   /* candidates asked about */
    bool memory;                   /* (before the locks) the memory was exact at its last count:
                                      the sets are not asked */
    bool checked;                  /* the sets answered */
    bool decided;                  /* the members' added flags are final */
    long apps, users;              /* new members (ac_cand_apply) */
};

struct ac_cand_group {
    struct ac_cand_member *m;
    size_t n;
    struct ac_cand_win *wins;
    size_t nwins;
    struct ac_strmap win_idx; /* type -> index into wins */
    struct ac_strmap mem_idx; /* (window index, member key) -> index into m, or -1 */
    int64_t (*mkeys)[2];      /* mem_idx's keys */
    size_t nmkeys;
    int64_t *ekeys; /* per event: its app's and its user's key (0: none) */
};

/*
 * Collects the group's candidates from evs[0..n) (borrowed for the group's
 * lifetime) whose eligible[i] is set (new, firing; under the locks also
 * folded into an alert). With view (under the locks) against the open
 * windows; without, against the windows the memory last counted into.
 * ekeys: the member keys of an earlier collection (2 per event, 0 = none)
 * reused instead of hashing again, or NULL. Candidates the memory knows are
 * left out. g is initialized here; free it with ac_cand_group_deinit.
 */
void ac_cand_collect(struct ac_cand_group *g, struct ac_cand_memory *mem,
                     const struct ac_cand_view *view, const struct ac_event *const *evs,
                     const bool *eligible, size_t n, const int64_t *ekeys);
void ac_cand_group_deinit(struct ac_cand_group *g);

/* The window of type in the group, or NULL. */
const struct ac_cand_win *ac_cand_group_window(const struct ac_cand_group *g, const char *type);

/* The candidates of window win: their kinds and keys (keys may be NULL);
 * added_only: only the new ones. Returns how many (kinds and keys have room
 * for g->n). */
size_t ac_cand_members_of(const struct ac_cand_group *g, size_t win, bool added_only, char *kinds,
                          int64_t *keys);

/* The windows to check against their sets (known id, candidates, not
 * decided, memory not exact), into wins (room for g->nwins). Returns how
 * many. */
size_t ac_cand_checks(const struct ac_cand_group *g, size_t *wins);
/* The answer of window win's check: its sets' sizes and, per candidate in
 * ac_cand_members_of order, whether it is present (n of them). Returns false
 * if n does not match the candidates (the answer is ignored). */
bool ac_cand_checked(struct ac_cand_group *g, size_t win, long long apps_set, long long users_set,
                     const bool *present, size_t n);

/*
 * Under the locks (g collected with the view): decides each window from the
 * memory if exact (step 2), else from pre's check if its sizes equal the
 * stored counts (step 3). A window the memory cannot decide marks its entry
 * incomplete (another instance counted into it). Returns whether some window
 * is left with candidates to check.
 */
bool ac_cand_decide(struct ac_cand_group *g, struct ac_cand_memory *mem,
                    const struct ac_cand_group *pre);
/* Decides the windows g's own checks answered (step 3 again). */
void ac_cand_decide_checked(struct ac_cand_group *g);

/* The candidates left undecided (step 4), as indexes into g->m (ord, room
 * for g->n); each is taken as new until ac_cand_probed says otherwise.
 * Returns how many. */
size_t ac_cand_probes(struct ac_cand_group *g, size_t *ord);
/* The probe found candidate ord[i] in its window: not new. */
void ac_cand_probed(struct ac_cand_group *g, const size_t *ord, size_t nord, size_t i);

/*
 * Counts each window's new apps and users, and lists into keep (room for
 * g->n + g->nwins) the events to store as rows although they might fold:
 * every one that brings a member, and the first firing event of a window the
 * group opens - what a window's members are rebuilt from. Returns how many.
 */
size_t ac_cand_apply(struct ac_cand_group *g, size_t *keep);

/* After COMMIT: the id of cw's window (the one the group opened, if it had
 * none; 0 if none was) among the windows counted, and whether it closed. */
int64_t ac_cand_window_after(const struct ac_cand_win *cw, const struct ac_esc_win *wins,
                             size_t nwins, bool *closed);
/* After COMMIT: the group's new members are in their windows; the memory is
 * exact for a window whose counts it now equals. */
void ac_cand_remember(struct ac_cand_memory *mem, const struct ac_cand_group *g,
                      const struct ac_esc_win *wins, size_t nwins);

#endif
