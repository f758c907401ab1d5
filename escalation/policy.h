/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Impact escalation policies (DESIGN §5), pure logic: which tiers apply to an
 * alert type, and - given a window's figures at a moment - which raises are
 * due. The clock is injected, so durations are tested without waiting.
 *
 * A tier raises an alert type to its level `to` (from any less severe level;
 * `from` names the step as DESIGN §5's table does) when, in
 * the type's open window, distinct apps >= apps OR distinct GC6/GC7 users >=
 * gc_users (thresholds inclusive; 0 means "not a condition"), AND, if set,
 * the increment versus the previous equal-length period >= increment_pct.
 * With hold_s the condition must have held continuously that long; a dip
 * below restarts its clock. Tiers apply in order, so one evaluation can climb
 * several levels at once (each raise recorded).
 */
#ifndef AC_ESCALATION_POLICY_H
#define AC_ESCALATION_POLICY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "schema/event.h"
#include "server/core/config.h"
#include "server/core/err.h"
#include "server/core/strmap.h"

#define AC_ESC_TIERS_MAX 3

struct ac_esc_tier {
    enum ac_level from, to;
    long apps;          /* >= this many distinct apps; 0 = not a condition */
    long gc_users;      /* >= this many distinct GC6/GC7 users; 0 = not a condition */
    long increment_pct; /* and >= this increment in percent; 0 = no such condition */
    int64_t hold;       /* µs the condition must hold; 0 = at once */
};

struct ac_esc_policy {
    struct ac_esc_tier tiers[AC_ESC_TIERS_MAX];
    size_t n;
};

struct ac_esc_type_policy {
    char *type;
    struct ac_esc_policy policy;
};

struct ac_esc_config {
    struct ac_esc_policy by_trace[AC_TRACE_RUNTIME + 1]; /* index: enum ac_trace */
    struct ac_esc_type_policy *types;
    size_t ntypes;
    int64_t tick; /* µs between the timer's evaluations ("tick_ms"; default 1 s) */
    /* µs between the timer's fill-ins of member sets behind their counts
     * ("members_fill_ms"; default 5 s): each reads a window's members from
     * PostgreSQL (escalation/members.h) */
    int64_t members_fill;
};

/* The keys of the "escalation" section (the policies and types are read by
 * ac_esc_config_load). */
extern const struct ac_cfg_entry ac_esc_cfg[];

/*
 * Load from the config's "escalation" object (borrowed; NULL = the defaults
 * of DESIGN §5): {"policies": {"data": [tier, ...], ...}, "types": {"T":
 * [tier, ...]}, "tick_ms": N} with tier = {"from", "to", "apps", "gc_users",
 * "increment_pct", "hold_s"}. A trace left out keeps its default.
 * errors: borrowed array; every problem appended with its path.
 * Returns AC_OK or AC_EINVAL (c then holds the defaults only).
 */
AC_MUST_CHECK int ac_esc_config_load(struct ac_esc_config *c, const json_t *cfg, json_t *errors);
void ac_esc_config_deinit(struct ac_esc_config *c);
/* The policy for a type: its own, else its trace's. Borrowed. */
const struct ac_esc_policy *ac_esc_policy_for(const struct ac_esc_config *c, const char *type,
                                              enum ac_trace trace);
/* The effective policies as the API shows them. Returns new. */
json_t *ac_esc_config_to_json(const struct ac_esc_config *c);

/* A window's figures at one moment. */
struct ac_esc_figures {
    long apps;
    long gc_users;
    long events;
    long increment_pct; /* versus the previous equal-length period */
    bool has_increment;
};

/* What the evaluation remembers between calls for one window. */
struct ac_esc_state {
    enum ac_level level;                     /* the window's current level */
    int64_t holding_since[AC_ESC_TIERS_MAX]; /* when each tier's condition began to hold; 0 */
};

struct ac_esc_raise {
    enum ac_level from, to;
    char reason[192]; /* "apps=103 ≥ 100 (data P3→P2)" */
};

/*
 * Evaluate policy p (named name in reasons, e.g. "data") on fig at now (µs).
 * Updates st (hold clocks and level) and writes the raises due, in order, to
 * out (AC_ESC_TIERS_MAX entries). Returns how many.
 */
size_t ac_esc_evaluate(const struct ac_esc_policy *p, const char *name,
                       const struct ac_esc_figures *fig, int64_t now, struct ac_esc_state *st,
                       struct ac_esc_raise *out);

/* µs until tier i's pending duration condition is met (0: due), or -1 if it
 * is not pending. */
int64_t ac_esc_tier_due(const struct ac_esc_policy *p, size_t i, const struct ac_esc_state *st,
                        int64_t now);
/* µs until the next pending duration condition is met, or -1 if none is
 * pending. */
int64_t ac_esc_next_due(const struct ac_esc_policy *p, const struct ac_esc_state *st, int64_t now);

/*
 * The exact sets of an open window: distinct apps, distinct GC6/GC7 users,
 * and the event count. Closing a window and opening the next starts from
 * zero (init again).
 */
struct ac_esc_window {
    struct ac_strmap apps;
    struct ac_strmap users;
    char **owned; /* key copies */
    size_t nowned, capowned;
    long events;
};

/* Whether a user counts into a window: GC6 and GC7 tenants only. */
bool ac_esc_counts_user(int gc_level);

void ac_esc_window_init(struct ac_esc_window *w);
void ac_esc_window_deinit(struct ac_esc_window *w);
/* Counts one event; returns true if it added a new app or GC6/GC7 user. */
bool ac_esc_window_add(struct ac_esc_window *w, const char *app_id, const char *user_id,
                       int gc_level);
void ac_esc_window_figures(const struct ac_esc_window *w, struct ac_esc_figures *fig);

#endif
