/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Planning a notification intent: who is told about an incident, on which
 * channels, with what message (DESIGN §5 "Incidents", §6). Pure: the outbox
 * (server/outbox.h) reads the intents and the on-call data, and stores what
 * this decides.
 *
 * People are told about incidents, not alerts. An intent - an incident
 * opened, raised, resolved, timed out on its tier, due a repeat or a summary
 * of the alerts that joined it - is planned against a typed snapshot of the
 * on-call data (routes, teams and their chains, schedules, contacts, active
 * silences):
 *   - the first notification waits for the level's group_wait from the
 *     incident's creation (WAIT), then goes out once at the incident's level
 *     then; a raise before it only shortens the wait; a level with no
 *     channels tells nobody (a later raise makes a new intent);
 *   - once told: a raise above the level told notifies at once; a summary
 *     ("N new alerts, M apps, K GC6/GC7 users") and a repeat only while it is
 *     open and unacknowledged; a resolve once, to every tier told, on the
 *     resolve channels (never a phone call);
 *   - held while every open alert of it (of those carried) is silenced or
 *     inhibited (inhibit.h; looked at again every
 *     AC_PLAN_INHIBIT_RECHECK_S); dropped if it resolved while held before
 *     anyone was told;
 *   - its team: the one it was told with, else the first route matching its
 *     oldest open alert's latest event, else the default team; the chain
 *     tier's recipients (who is on call on a schedule now, a contact, the
 *     lead; past the last tier, the last); one notification per request:
 *     per recipient with a phone on a per-contact channel (sms, phone), one
 *     on each other channel, each with an idempotency key made from the
 *     intent, the channel and the contact.
 */
#ifndef AC_ESCALATION_NOTIFY_PLAN_H
#define AC_ESCALATION_NOTIFY_PLAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "escalation/inhibit.h"
#include "escalation/notify/config.h"
#include "escalation/notify/oncall.h"
#include "escalation/notify/schedule.h"
#include "server/core/matcher.h"

/* Why an intent exists (notify_intents.reason). */
enum ac_notify_reason {
    AC_REASON_OPEN,     /* a new incident (an alert at a notified level) */
    AC_REASON_ESCALATE, /* its level was raised */
    AC_REASON_RESOLVE,  /* it resolved after being told */
    AC_REASON_TIMEOUT,  /* unacknowledged past its MTTA: the next tier */
    AC_REASON_REPEAT,   /* still open and unacknowledged past its level's repeat interval */
    AC_REASON_SUMMARY,  /* alerts joined it since it was last told */
};

const char *ac_notify_reason_name(enum ac_notify_reason r);
/* false for an unknown name. */
bool ac_notify_reason_parse(const char *s, enum ac_notify_reason *out);

/* --- the on-call snapshot ---------------------------------------------------- */

enum ac_plan_target_kind { AC_TARGET_SCHEDULE, AC_TARGET_CONTACT, AC_TARGET_LEAD };

struct ac_plan_target {
    enum ac_plan_target_kind kind;
    int64_t id; /* schedule or contact; 0 for the lead */
};

struct ac_plan_team {
    int64_t id;
    char *name;
    int64_t lead; /* 0: none */
    struct ac_plan_target *targets[AC_TEAM_TIERS_MAX];
    size_t ntargets[AC_TEAM_TIERS_MAX];
    size_t ntiers;
};

struct ac_plan_route {
    struct ac_matchers ms;
    int64_t team;
};

struct ac_plan_silence {
    int64_t id;
    int64_t alert;    /* 0: any alert its matchers match */
    int64_t incident; /* 0: any incident's */
    int64_t ends;     /* s since the epoch; 0: until the alert resolves */
    struct ac_matchers ms;
};

struct ac_plan_schedule {
    int64_t id;
    struct ac_schedule s;
};

struct ac_plan_contact {
    int64_t id;
    json_t *doc; /* the contact resource, as notifications carry it */
};

struct ac_oncall_snapshot {
    struct ac_plan_route *routes; /* in (position, id) order */
    size_t nroutes, caproutes;
    struct ac_plan_team *teams;
    size_t nteams, capteams;
    struct ac_plan_schedule *schedules;
    size_t nschedules, capschedules;
    struct ac_plan_contact *contacts;
    size_t ncontacts, capcontacts;
    struct ac_plan_silence *silences;
    size_t nsilences, capsilences;
    struct ac_inhibit_set inhibit; /* the rules, with their open source alerts */
    int64_t default_team;
};

void ac_snapshot_init(struct ac_oncall_snapshot *o);
void ac_snapshot_deinit(struct ac_oncall_snapshot *o);
/*
 * Adders, from the stored documents (borrowed, parsed here). Each returns
 * false when the document does not load; the entry is then left out (and the
 * caller logs): a broken route matches nothing, a broken schedule names
 * nobody.
 */
bool ac_snapshot_add_route(struct ac_oncall_snapshot *o, const json_t *doc);
bool ac_snapshot_add_team(struct ac_oncall_snapshot *o, int64_t id, const char *name,
                          const json_t *doc, bool is_default);
bool ac_snapshot_add_schedule(struct ac_oncall_snapshot *o, int64_t id, const json_t *doc);
/* contact: the resource (borrowed; a reference is kept). */
bool ac_snapshot_add_contact(struct ac_oncall_snapshot *o, int64_t id, json_t *contact);
bool ac_snapshot_add_silence(struct ac_oncall_snapshot *o, int64_t id, const json_t *matchers,
                             int64_t alert, int64_t ends, int64_t incident);

/* The team of an event (NULL: no latest event): the first matching route's,
 * else the default team (0: none). */
int64_t ac_snapshot_route(const struct ac_oncall_snapshot *o, const struct ac_event *ev);
/* The silence holding alert alert_id of incident incident_id whose latest
 * event is ev (may be NULL), or NULL. */
const struct ac_plan_silence *ac_snapshot_silenced(const struct ac_oncall_snapshot *o,
                                                   int64_t incident_id, int64_t alert_id,
                                                   const struct ac_event *ev);
/* Who tier (from 1; past the last: the last) of team's chain names at now_s:
 * an array of contact resources (new), each once. */
json_t *ac_snapshot_recipients(const struct ac_oncall_snapshot *o, int64_t team, long tier,
                               int64_t now_s);

/* Who is on call at now_s, per team (in the snapshot's order): [{"id",
 * "name", "default", "tiers": [{"tier", "targets": [{"kind": "schedule" |
 * "contact" | "lead", "schedule"? | "contact_id"?: the target's id, "contact": the contact
 * resource or null, "until"?: a schedule's shift end}]}]}] (new). */
json_t *ac_snapshot_oncall(const struct ac_oncall_snapshot *o, int64_t now_s);

/* --- planning one intent ----------------------------------------------------- */

/* Open alerts an intent carries for silences and routing (the oldest). */
#define AC_PLAN_ALERTS_MAX 200

struct ac_plan_intent {
    int64_t id;
    int64_t incident_id;
    enum ac_notify_reason reason;
    enum ac_level level;   /* the level the intent was made at */
    long tier;             /* a timeout's new tier, else 1 */
    const json_t *details; /* an escalation's {from, to}; a summary's {new_alerts, apps,
                              gc_users}; or NULL */
    /* the incident (id, type, title, grouping, level, level_reason, status,
     * alerts, open_alerts, events, apps, gc_users, top_apps, first_seen,
     * team_id, last_alert_id) with "members": its open alerts (all of them
     * once it resolved), oldest first, at most AC_PLAN_ALERTS_MAX, each with
     * its id, status, dimensions, count, first_seen, resolved_at and
     * latest_event */
    const json_t *incident;
    int64_t created_s; /* when the incident was created (group_wait counts from it) */
    /* its notification state */
    enum ac_level told; /* the most severe level told; AC_LEVEL_UNSET: not told yet */
    int64_t team;       /* its team then (0: none) */
    long notified_tier; /* the tier reached */
    const json_t *used; /* the channels it was told on (names), or NULL */
    bool held;          /* a silence held this intent before */
};

enum ac_plan_verdict {
    AC_PLAN_NOTIFY,    /* rows (maybe none: nobody to tell) */
    AC_PLAN_HOLD,      /* silenced: looked at again at the silence's end */
    AC_PLAN_WAIT,      /* the first notification's group_wait: again at until */
    AC_PLAN_DROP,      /* nothing to tell (why) */
    AC_PLAN_INHIBITED, /* every open alert inhibited (or silenced): again at until */
};

/* Seconds before an inhibited intent is looked at again. */
#define AC_PLAN_INHIBIT_RECHECK_S 10

/* An alert found inhibited (source 0: found not inhibited). */
struct ac_plan_inhibition {
    int64_t alert, source, rule;
};

/* One request to a channel. */
struct ac_plan_row {
    const struct ac_channel *ch; /* borrowed from the config */
    const char *contact_id;      /* the recipient's id (borrowed from doc), or NULL */
    char *key;                   /* idempotency key */
    char *doc;                   /* the notification's context, JSON text */
};

struct ac_plan_out {
    enum ac_plan_verdict verdict;
    const struct ac_plan_silence *silence; /* HOLD: the silence (borrowed from the snapshot) */
    int64_t until;                         /* WAIT: s since the epoch */
    const char *why;                       /* DROP: static text */
    enum ac_notify_reason as;              /* NOTIFY: what the message says (a first
                                              notification is an open) */
    struct ac_plan_row *rows;
    size_t nrows;
    /* the open alerts looked at for inhibition, and what was found */
    struct ac_plan_inhibition *inhibitions;
    size_t ninhibitions;
    /* NOTIFY, but for a resolve: the incident's notification state */
    bool remember;
    int64_t team; /* 0: none */
    long tier;
    json_t *used;        /* channel names (new) */
    enum ac_level level; /* the level told */
    int64_t told_alert;  /* the newest alert the message covers */
    int64_t mtta_s;
    bool arm; /* the next tier is due mtta_s from now (a timeout's); else from the
                 first delivery */
};

/* Plans in (borrowed) against o at now_s (action links expire from it).
 * out: release with ac_plan_out_deinit. */
void ac_plan(const struct ac_notify_config *nc, const struct ac_oncall_snapshot *o,
             const struct ac_plan_intent *in, int64_t now_s, struct ac_plan_out *out);
void ac_plan_out_deinit(struct ac_plan_out *out);

/* An alert's latest event, as routes and silences see it (the stored event
 * without the fields the server added). Returns false (ev empty, logged) if
 * it has none or it does not load. ev: release with ac_event_deinit. */
bool ac_plan_latest_event(const json_t *alert, struct ac_event *ev);

#endif
