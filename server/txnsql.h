/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The statements of the writer's group transaction and their parameters:
 * the catalogue (prepared once per connection) and the builders that turn a
 * folded group (fold.h) into PostgreSQL arrays for multi-row statements over
 * unnest() - binary (pg.h's ac_pg_barray_*) for the rows of events and
 * alerts, where the documents and timestamps are, literals elsewhere - and
 * read the answers back into the fold.
 *
 * Every buffer a builder makes belongs to the transaction's arena
 * (mem.h): the writer frees a group's parameters in one ac_arena_reset.
 * No I/O here except ac_txnsql_prepare and ac_txnsql_send.
 */
#ifndef AC_SERVER_TXNSQL_H
#define AC_SERVER_TXNSQL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "escalation/candidates.h"
#include "escalation/policy.h"
#include "server/core/mem.h"
#include "server/fold.h"

enum ac_txnsql_stmt {
    AC_STMT_LOCK,        /* advisory locks of fingerprints, keys and types */
    AC_STMT_STORED,      /* idempotency keys already stored */
    AC_STMT_OPEN,        /* open alerts of fingerprints */
    AC_STMT_IDS,         /* reserve event and alert ids */
    AC_STMT_INS_ALERTS,  /* new alerts */
    AC_STMT_UPD_ALERTS,  /* existing alerts (SQLSTATE AC001 if one is no longer open) */
    AC_STMT_INS_INTENTS, /* notification intents of new alerts at a notified level */
    AC_STMT_INS_KEYS,    /* accepted idempotency keys */
    AC_STMT_INS_EVENTS,  /* stored events */
    AC_STMT_INS_AUDIT,   /* audit entries of opens, resolves, rollovers */
    AC_STMT_ESC_READ,    /* the open windows of the group's types */
    AC_STMT_ESC_EVENTS,  /* the events-only window count */
    AC_STMT_ESC_COUNT,   /* the full window count, returning the windows' figures */
    AC_STMT_ESC_PROBE,   /* candidates already in their windows, from the stored events */
    AC_STMT_ESC_CLOSE,   /* close the windows left without an open alert */
    AC_STMT_SUB_COUNT,   /* the event center's subscription windows (subs.h) */
    AC_STMT_COUNT
};

/* Prepares every statement on conn (not in pipeline mode). Returns false
 * (logged) if one failed. */
bool ac_txnsql_prepare(PGconn *conn);

#define AC_TXNSQL_PARAMS_MAX 28

/* The parameters of one statement: array literals (text), or binary
 * arrays (ac_pg_barray_*) where the statement's largest rows go. */
struct ac_txnsql_params {
    struct ac_buf *a[AC_TXNSQL_PARAMS_MAX]; /* arrays being built (arena's) */
    const char *v[AC_TXNSQL_PARAMS_MAX];    /* the values sent */
    int len[AC_TXNSQL_PARAMS_MAX];          /* a binary value's length */
    int fmt[AC_TXNSQL_PARAMS_MAX];          /* 1: binary */
    int n;
};

/* n empty array parameters from the arena ar (text). */
void ac_txnsql_params_init(struct ac_txnsql_params *p, struct ac_arena *ar, int n);
/* n empty binary arrays, of element types oids[0..n) (AC_PG_OID_*). */
void ac_txnsql_params_init_binary(struct ac_txnsql_params *p, struct ac_arena *ar, int n,
                                  const uint32_t *oids);
/* Closes every array and points v[] at them. */
void ac_txnsql_params_finish(struct ac_txnsql_params *p);
/* n scalar parameters (values borrowed). */
void ac_txnsql_params_scalar(struct ac_txnsql_params *p, int n, const char *const *values);

/* Queues statement stmt in the pipeline (p: NULL for none). False if it
 * could not be queued (the connection is gone). */
bool ac_txnsql_send(PGconn *conn, enum ac_txnsql_stmt stmt, const struct ac_txnsql_params *p);

struct ac_sub_set;
/* The matches of f's new events with the subscriptions s (subs_match.h; may
 * be NULL), counted per subscription and cycle, sorted (rows are locked in
 * one order by every writer) into p; returns how many windows (0: nothing
 * to send). */
size_t ac_txnsql_build_subs(struct ac_arena *ar, const struct ac_fold *f,
                            const struct ac_sub_set *s, struct ac_txnsql_params *p);

/* The sorted, distinct lock keys of f's events (fingerprints, types with
 * their keys from mem, idempotency keys) as an array literal (the arena's). */
const char *ac_txnsql_lock_keys(struct ac_arena *ar, const struct ac_fold *f,
                                struct ac_cand_memory *mem);

/* The distinct types of f, for AC_STMT_ESC_READ. */
void ac_txnsql_build_types(struct ac_arena *ar, const struct ac_fold *f,
                           struct ac_txnsql_params *p);
/* The first keys the cache did not answer (key_hit per event); returns how many. */
size_t ac_txnsql_build_stored(struct ac_arena *ar, const struct ac_fold *f, const bool *key_hit,
                              struct ac_txnsql_params *p);
/* The fingerprints the cache did not answer (fp_hit per fingerprint). */
size_t ac_txnsql_build_open(struct ac_arena *ar, const struct ac_fold *f, const bool *fp_hit,
                            struct ac_txnsql_params *p);
/* Applies AC_STMT_STORED's and AC_STMT_OPEN's answers (either may be NULL). */
void ac_txnsql_apply_lookups(struct ac_fold *f, const PGresult *stored, const PGresult *open);
/* The open windows AC_STMT_ESC_READ answered (res: borrowed for v's lifetime). */
void ac_txnsql_view(const PGresult *res, struct ac_cand_view *v);
/* Hands out AC_STMT_IDS's ids: nev to the stored events, nal to the new
 * alerts. Returns false if the database gave too few. */
bool ac_txnsql_assign_ids(struct ac_fold *f, const PGresult *ids, size_t nev, size_t nal);

/* The new alerts (opening at least at their window's raised level) and, for
 * those at a level in notify_levels (bit 1 << level), their intents
 * (*nintents of them). */
void ac_txnsql_build_new_alerts(struct ac_arena *ar, const struct ac_fold *f,
                                const struct ac_cand_view *view, int64_t now,
                                unsigned notify_levels, struct ac_txnsql_params *p,
                                struct ac_txnsql_params *intents, size_t *nintents);
void ac_txnsql_build_upd_alerts(struct ac_arena *ar, const struct ac_fold *f, int64_t now,
                                struct ac_txnsql_params *p);
void ac_txnsql_build_events(struct ac_arena *ar, const struct ac_fold *f,
                            struct ac_txnsql_params *p);
/* The audit entries of f's opens (saying at which level an alert opened in a
 * raised window, and why), resolves and rollovers. */
void ac_txnsql_build_audit(struct ac_arena *ar, const struct ac_fold *f,
                           const struct ac_cand_view *view, struct ac_txnsql_params *p);
/* Every newly accepted idempotency key, stored or folded. Returns how many. */
size_t ac_txnsql_build_keys(struct ac_arena *ar, const struct ac_fold *f,
                            struct ac_txnsql_params *p);

/* The group's inputs to the escalation windows: per type with a new event
 * (type, trace, firing events, net change of open alerts, window id, new
 * apps and GC6/GC7 users, first event id of a window it opens); the types
 * whose policy has an increment condition; and (close) the types where an
 * alert was resolved. */
struct ac_txnsql_esc {
    struct ac_txnsql_params count;  /* AC_STMT_ESC_COUNT */
    struct ac_txnsql_params close;  /* AC_STMT_ESC_CLOSE */
    struct ac_txnsql_params events; /* AC_STMT_ESC_EVENTS: types, events, alerts opened */
    size_t ntypes, nclose, nevtypes;
    bool full; /* the full count is needed (else the events-only count) */
};
void ac_txnsql_build_esc(struct ac_arena *ar, const struct ac_esc_config *esc,
                         const struct ac_fold *f, const struct ac_cand_view *view,
                         const struct ac_cand_group *g, struct ac_txnsql_esc *e);

/* The probe of the candidates ord[0..n) of g (AC_STMT_ESC_PROBE); mem gives
 * their types' keys. */
void ac_txnsql_build_probe(struct ac_arena *ar, const struct ac_cand_group *g,
                           struct ac_cand_memory *mem, const size_t *ord, size_t n,
                           struct ac_txnsql_params *p);

#endif
