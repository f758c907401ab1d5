/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The notification outbox in PostgreSQL (migrations/0010 and after): every
 * statement the notifier runs, and nothing else. Intents are claimed, planned
 * (escalation/notify/plan.h) and written back in one transaction per batch;
 * due tiers, repeats and summaries become new intents; due notifications are claimed
 * with a lease and their outcome recorded. Rows are claimed with
 * FOR UPDATE SKIP LOCKED, so instances share the work without meeting.
 */
#ifndef AC_SERVER_OUTBOX_H
#define AC_SERVER_OUTBOX_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "escalation/notify/plan.h"
#include "server/core/mem.h"

/* --- planning ---------------------------------------------------------------- */

/* Claims (locks) up to limit intents due now, in the caller's transaction.
 * Returns the rows (new), or NULL (logged). */
PGresult *ac_outbox_claim_intents(PGconn *c, int limit);
/* Row i of the claimed intents as a plan input; the documents it points to
 * are new in owned[0..3) (json_decref each). Returns false for a row that
 * does not load (dropped). */
bool ac_outbox_intent(const PGresult *r, int i, struct ac_plan_intent *in, json_t *owned[3]);
/* The on-call snapshot (routes, teams, schedules, contacts, active
 * silences). Returns false (logged) if a query failed. */
bool ac_outbox_snapshot(PGconn *c, struct ac_oncall_snapshot *o);
/* Only the active silences into o (initialized): as the planner tests them,
 * for GET /api/v2/alerts. False (logged) if the query failed. */
bool ac_outbox_silences(PGconn *c, struct ac_oncall_snapshot *o);

/* What one planning transaction writes. */
struct ac_outbox_batch {
    struct ac_buf rows[9], notify[8], planned, hold[3], drop[2], inhib[3];
    size_t nrows, nnotify, nplanned, nhold, nwait, ninhibited, ndrop, ninhib;
};
void ac_outbox_batch_init(struct ac_outbox_batch *b);
void ac_outbox_batch_deinit(struct ac_outbox_batch *b);
/* Adds the plan of one intent. */
void ac_outbox_batch_add(struct ac_outbox_batch *b, const struct ac_plan_intent *in,
                         const struct ac_plan_out *out);
/* Writes the batch (notifications, the incidents' notification state,
 * planned, held, waiting and dropped intents) in the caller's transaction. Returns false
 * (logged) if a statement failed. */
bool ac_outbox_batch_write(PGconn *c, struct ac_outbox_batch *b);

/* Unacknowledged incidents past their MTTA get an intent for their next
 * tier. Returns how many, or -1 (logged). */
long ac_outbox_due_tiers(PGconn *c);
/* Open, unacknowledged incidents of level past repeat_s since they were
 * last told get a repeat intent. Returns false (logged) on failure. */
bool ac_outbox_due_repeats(PGconn *c, enum ac_level level, long long repeat_s);
/* Told incidents that alerts joined get a summary intent, at most once per
 * interval_s. Returns false (logged) on failure. */
bool ac_outbox_due_summaries(PGconn *c, long long interval_s);

/* --- sending ------------------------------------------------------------------ */

/* Claims up to limit due notifications with a lease of lease_s seconds.
 * Rows: id, channel, context (JSON text), attempts. Returns new, or NULL. */
PGresult *ac_outbox_claim_due(PGconn *c, int limit, long lease_s);
/* The outcome of attempts: sent (a batch: array literals of ids and HTTP
 * statuses); of notification id retried after delay_ms; failed for good.
 * Each returns false (logged) on a database error. */
bool ac_outbox_sent(PGconn *c, const char *ids, const char *statuses);
bool ac_outbox_retry(PGconn *c, const char *id, long status, long long delay_ms, const char *why);
bool ac_outbox_failed(PGconn *c, const char *id, long status, const char *why);

#endif
