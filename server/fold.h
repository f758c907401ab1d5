/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Folding a group of events into alerts, in memory, before one set-based
 * write. Pure logic (no I/O): the writer tells it what the database knows -
 * the open alert of each fingerprint and the already stored idempotency keys
 * - and gets back, for the group as a whole,
 *   - which alerts are new and which existing ones change, each exactly once
 *     (count delta, first/last seen, level, resolution, latest event);
 *   - for every event: its alert, or that it repeats an earlier event;
 *   - the audit entries (alert opened, alert resolved).
 * Events are applied in order, so a group behaves exactly like the same
 * events sent one by one: firing folds into the open alert or opens one;
 * resolved folds into the open alert and closes it (or has no alert).
 *
 * Compression: a firing event that folds into an already open alert is
 * counted but not stored as a row unless its type retains duplicates; the
 * alert keeps its document as the latest. Openers and resolves are always
 * stored. An open alert whose first_seen is older than the type's compression
 * window when another firing event arrives rolls over: it is resolved and the
 * event opens a new alert.
 *
 * Refresh: a firing event marked refresh (a source's re-send of an alert it
 * keeps firing) that finds its alert open only moves last_seen and ends_at
 * and becomes its latest event: no count, no row, no rollover. Finding none,
 * it opens one as any firing event does.
 */
#ifndef AC_SERVER_FOLD_H
#define AC_SERVER_FOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "schema/event.h"
#include "server/core/strmap.h"

struct ac_fold_alert {
    int64_t id; /* existing: its id; new: 0 until the caller assigns one */
    bool is_new;
    size_t opener; /* new: index of the event that opened it */
    long delta;    /* events folded in this group */
    int64_t first_seen, last_seen;
    enum ac_level level; /* most severe level of the firing events folded */
    bool resolved;
    bool rolled_over; /* resolved by the compression window */
    int64_t resolved_at;
    int64_t ends_at;  /* the latest source-declared end folded (µs), 0: none */
    long last_event;  /* index of the latest event folded, or -1 */
    long last_stored; /* index of the latest stored event folded, or -1 */
};

enum ac_fold_action { AC_FOLD_OPEN, AC_FOLD_RESOLVE, AC_FOLD_ROLLOVER };

struct ac_fold_audit {
    size_t alert;
    size_t event;
    enum ac_fold_action action;
};

struct ac_fold_event {
    const struct ac_event *ev; /* borrowed */
    long alert;                /* index into alerts, or -1 for none */
    long dup_of;               /* index of the earlier event with the same key, or -1 */
    bool dup_stored;           /* the key is already stored: ids below */
    int64_t stored_event_id, stored_alert_id;
    bool stored;      /* becomes an event row (else folded into its alert) */
    bool refreshed;   /* a re-send that only refreshed its open alert */
    int64_t event_id; /* assigned by the caller for stored events */
};

struct ac_fold {
    struct ac_fold_event *events;
    size_t nevents;
    struct ac_fold_alert *alerts;
    size_t nalerts;
    struct ac_fold_audit *audits;
    size_t naudits;

    /* Private. */
    struct ac_strmap fp_index; /* fingerprint -> index into fps */
    struct fold_fp *fps;
    size_t nfps;
    struct ac_strmap key_index; /* "source\0id" -> index into events */
    char **keys;                /* owned key buffers, one per keyed event */
    size_t cap;
};

void ac_fold_init(struct ac_fold *f, size_t expected_events);
void ac_fold_deinit(struct ac_fold *f);

/* Phase 1: add events in order (ev borrowed, must outlive the fold). */
void ac_fold_add(struct ac_fold *f, const struct ac_event *ev);

/* The distinct fingerprints of the added events (borrowed), for the lookup
 * of open alerts. */
size_t ac_fold_fingerprint_count(const struct ac_fold *f);
const char *ac_fold_fingerprint(const struct ac_fold *f, size_t i);

/* Phase 2: what the database knows. */
void ac_fold_set_open(struct ac_fold *f, const char *fingerprint, int64_t alert_id,
                      int64_t first_seen);
void ac_fold_set_stored(struct ac_fold *f, const char *source, const char *id, int64_t event_id,
                        int64_t alert_id);

/* Phase 3: fold. Then new events need event_id and new alerts need id. */
void ac_fold_run(struct ac_fold *f);

/* After ids are assigned: the result of event i (event_id 0 when folded). */
void ac_fold_result(const struct ac_fold *f, size_t i, int64_t *event_id, int64_t *alert_id,
                    bool *duplicate, bool *folded);

/*
 * After ac_fold_run: event i becomes an event row after all, though it
 * repeats an open alert (the escalation windows need a row for each event
 * that brings a new member into one). Its alert's latest stored event moves
 * to it if it is later. No effect on a duplicate or an event already stored.
 */
void ac_fold_keep(struct ac_fold *f, size_t i);

/* True if event i is accepted by this group (not a repeat of a known key). */
bool ac_fold_is_new_event(const struct ac_fold *f, size_t i);
/* True if event i becomes an event row. */
bool ac_fold_is_stored(const struct ac_fold *f, size_t i);

#endif
