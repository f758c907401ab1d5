/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Group-commit writer.
 *
 * DESIGN
 * ------
 * Submitters (HTTP connection threads, the Kafka consumer) enqueue a job - one
 * request's events - and sleep on their own condition variable. The writer
 * thread takes all queued jobs up to group_max events and stores them in one
 * transaction, one function per round trip (wr_txn_*):
 *
 *   0. (Redis, when reachable) one pipelined round trip: the cached open alert
 *      of every fingerprint and the cached result of every idempotency key.
 *   1. BEGIN; advisory locks on every fingerprint, idempotency key and alert
 *      type of the group (sorted, so a second writer or instance waits, never
 *      deadlocks); the open escalation windows of its types; for a small
 *      group, ids (as many as it has events) - all sent before round trip 0,
 *      so they run while Redis answers; then from PostgreSQL the keys and
 *      open alerts Redis did not know.
 *   2. The group is folded in memory (fold.h): every alert it touches is
 *      written once however many events fold into it, and a repeat of an open
 *      alert is counted but not stored as a row (compression). Then, under
 *      the types' locks, which of the group's apps and GC6/GC7 users are new
 *      to their windows: from the writer's memory of what it counted if that
 *      holds as many as the stored counts, else from the windows' Redis
 *      sets, checked in round trip 0 and trusted if their sizes equal the
 *      stored counts, else from PostgreSQL (escalation/candidates.h); an event
 *      that brings one is stored as a row after all. A large group then
 *      reserves the ids of its stored events and new alerts.
 *   3. Count the group into the escalation windows of its types
 *      (escalation/engine.h: events, open alerts, new members) - sent first,
 *      so PostgreSQL runs it while the writer builds the rest -, UPDATE the
 *      existing alerts (verifying that each one the cache named is still
 *      open with that fingerprint, else SQLSTATE AC001), INSERT the new
 *      alerts, the idempotency keys, the event rows and the audit entries -
 *      each one statement over unnest()ed arrays - and COMMIT.
 *   4. (Redis) one MULTI/EXEC records what the group left open or closed (and
 *      mirrors the windows, and adds the new members to their sets); it is
 *      sent, and its replies are read before the next Redis command, not
 *      waited for. Then the escalation policies decide on the windows the
 *      group changed, before any request is answered.
 *
 * One fsync per group instead of one per event; a request's batch is never
 * split across transactions. PostgreSQL is the system of record; Redis only
 * saves lookups: an open alert it names is verified under the locks, and its
 * idempotency keys are trusted only while PostgreSQL is not behind it
 * (cache.h, checked after every reconnection).
 *
 * Failures: a deadlock or serialization failure retries the group; a stale
 * cache entry retries it from PostgreSQL alone; a data error re-runs each job
 * alone so one bad request cannot fail its neighbours; a lost connection
 * before COMMIT was sent, or one where the server reported an error first,
 * reconnects and retries once (nothing can have committed); after that the
 * jobs fail with AC_EDB (HTTP 503) and reconnects back off up to
 * WR_BACKOFF_MAX_US. Redis errors never fail a job: the writer drops the
 * connection, goes on without the cache and tries Redis again a second later.
 *
 * The parts: the statements and their parameters are txnsql.h, the Redis
 * cache cache.h, the member decisions escalation/candidates.h; this file
 * keeps the queue, the thread, the retry policy and the transaction's order.
 */
#include "server/writer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escalation/candidates.h"
#include "escalation/engine.h"
#include "schema/timefmt.h"
#include "server/cache.h"
#include "server/core/lockkey.h"
#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/core/metrics.h"
#include "server/core/pg.h"
#include "server/core/pgpipe.h"
#include "server/fold.h"
#include "server/subs.h"
#include "server/txnsql.h"

#define WR_RETRIES         3
#define WR_BACKOFF_MIN_US  100000LL
#define WR_BACKOFF_MAX_US  2000000LL
#define WR_EARLY_IDS_MAX   64         /* events: a group this small reserves ids in round trip 1 */
#define WR_KNOWN_MAX       (1u << 20) /* members remembered per type */
#define WR_KNOWN_TOTAL_MAX (1u << 22) /* and in all (at most 64 MiB of sets) */

struct wr_job {
    struct ac_event_vec *evs;
    struct ac_ingest_result *results;
    int rc;
    bool done;
    pthread_cond_t cond; /* signalled for this job alone: no thundering herd */
    struct wr_job *next;
};

struct ac_writer {
    pthread_mutex_t lock;
    pthread_cond_t work;
    struct wr_job *head, *tail;
    long queued;
    long queue_max;
    long group_max;
    bool stopping;
    bool started;
    pthread_t thread;
    char *dsn;
    const struct ac_esc_config *esc; /* borrowed; immutable */

    /* Writer thread only. */
    struct ac_cache *cache;
    unsigned notify_levels; /* before start */
    /* called after a COMMIT that wrote notification intents (atomic: set
     * while the thread runs) */
    void (*on_intents)(void *ctx);
    void *on_intents_ctx;
    struct ac_cand_memory mem; /* the members this writer counted (candidates.h) */
    PGconn *conn;
    int64_t next_connect_us;
    int64_t backoff_us;

    /* Relaxed atomics. */
    unsigned long long n_groups, n_events, n_failures, n_raised, n_probed;
    struct ac_hist group_time; /* from taking a group to answering it */
    struct ac_subs *subs;      /* the event center's subscriptions, or NULL (atomic) */
};

enum wr_outcome { WR_OK, WR_RETRY, WR_DATA, WR_CONN, WR_CONN_UNSURE, WR_STALE };

struct ac_writer *ac_writer_create(const char *dsn, const char *redis_url, const char *redis_prefix,
                                   const struct ac_esc_config *esc, long queue_events,
                                   long group_max)
{
    struct ac_writer *w = ac_xcalloc(1, sizeof(*w));

    w->esc = esc;
    ac_cand_memory_init(&w->mem, WR_KNOWN_MAX, WR_KNOWN_TOTAL_MAX);
    w->cache = ac_cache_create(redis_url, redis_prefix);
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->work, NULL);
    w->dsn = ac_xstrdup(dsn);
    w->queue_max = queue_events;
    w->group_max = group_max;
    w->backoff_us = WR_BACKOFF_MIN_US;
    return w;
}

static void wr_disconnect(struct ac_writer *w)
{
    PQfinish(w->conn);
    w->conn = NULL;
    ac_cache_invalidate(w->cache);
}

static int wr_connect(struct ac_writer *w)
{
    int64_t now = ac_time_now_us();

    if (w->conn && PQstatus(w->conn) == CONNECTION_OK) {
        return AC_OK;
    }
    wr_disconnect(w);
    if (now < w->next_connect_us) {
        return AC_EDB; /* backing off: fail fast */
    }
    /* The same few statements run for every group with arrays that are small
     * next to the tables, so per-row index lookups are always right. Generic
     * plans avoid re-planning each group, but one is made once, at the first
     * execution: on a young database that is a hash join over a sequential
     * scan, which then costs more with every alert until the connection is
     * replaced (measured: 24.9k -> 13.3k events/s over four runs). Without
     * sequential and bitmap scans the plan is index lookups at any size. */
    w->conn = ac_pg_connect_opts(w->dsn, "-c plan_cache_mode=force_generic_plan "
                                         "-c enable_seqscan=off -c enable_bitmapscan=off");
    if (w->conn && !ac_txnsql_prepare(w->conn)) {
        wr_disconnect(w);
    }
    if (!w->conn || PQenterPipelineMode(w->conn) != 1) {
        wr_disconnect(w);
        w->next_connect_us = now + w->backoff_us;
        w->backoff_us =
            w->backoff_us * 2 > WR_BACKOFF_MAX_US ? WR_BACKOFF_MAX_US : w->backoff_us * 2;
        return AC_EDB;
    }
    w->backoff_us = WR_BACKOFF_MIN_US;
    ac_log(AC_LOG_INFO, "writer", "connected to PostgreSQL");
    return AC_OK;
}

/* What a failed round trip means for the group. */
static enum wr_outcome wr_classify(const struct ac_pgpipe *r)
{
    if (r->lost || r->conn_error) {
        return WR_CONN;
    }
    if (strcmp(r->sqlstate, "40P01") == 0 || strcmp(r->sqlstate, "40001") == 0) {
        return WR_RETRY;
    }
    if (strcmp(r->sqlstate, "AC001") == 0) {
        return WR_STALE; /* the cache named an alert that is no longer open */
    }
    ac_log(AC_LOG_ERROR, "writer", "statement failed sqlstate=%s: %s", r->sqlstate, r->message);
    return WR_DATA;
}

/*
 * After COMMIT: decide on the windows the group changed. A window whose
 * decision changes (a tier met, a hold clock started or stopped) is decided
 * again and applied in a transaction of its own under the type's lock, before
 * the group's requests are answered - so an immediate tier takes effect within
 * the request that crossed it. A failure here loses nothing: the timer decides
 * again from the stored figures on its next tick.
 */
static void wr_escalate(struct ac_writer *w, const struct ac_esc_win *wins, size_t n)
{
    int64_t now = ac_time_now_us();
    bool left_pipeline = false;

    for (size_t i = 0; i < n; i++) {
        struct ac_esc_win after;
        long raised = 0;
        if (!ac_esc_win_due(w->esc, &wins[i], now)) {
            continue;
        }
        if (!left_pipeline) {
            if (PQexitPipelineMode(w->conn) != 1) {
                return;
            }
            left_pipeline = true;
        }
        if (ac_esc_apply(w->esc, w->conn, wins[i].type, now, &after, &raised) != AC_OK) {
            break;
        }
        __atomic_add_fetch(&w->n_raised, (unsigned long long)raised, __ATOMIC_RELAXED);
        if (after.id) {
            ac_cache_mirror(w->cache, &after);
        }
    }
    if (left_pipeline &&
        (PQstatus(w->conn) != CONNECTION_OK || PQenterPipelineMode(w->conn) != 1)) {
        wr_disconnect(w);
    }
}

/* --- one group's transaction: one function per round trip ------------------ */

/* How a round trip ended. */
enum wr_step { WR_STEP_OK, WR_STEP_FAILED, WR_STEP_LOST };

/* Everything one group's transaction holds; what it allocates for its
 * statements belongs to ar. */
struct wr_txn {
    struct ac_writer *w;
    struct ac_pgpipe r;
    struct ac_arena ar;
    struct ac_fold f;
    struct ac_cand_view view;              /* the open windows, under the locks */
    struct ac_cand_group pre, g;           /* candidates before and under the locks */
    const struct ac_event **evs;           /* the fold's events, for the candidates */
    bool *eligible;                        /* per event: a candidate's (per phase) */
    bool *fp_hit, *key_hit;                /* what the cache answered */
    PGresult *win_res, *ids_res, *esc_res; /* the arena's */
    struct ac_txnsql_esc esc;
    struct ac_esc_win *wins; /* the windows counted (ac_esc_count's figures) */
    size_t nwins;
    size_t total, nev, nal;
    size_t nintents; /* open-intent candidates sent (the notifier is woken after COMMIT) */
    bool early_ids, synced, commit_sent;
    int64_t now;
};

static void wr_pqclear(void *res)
{
    PQclear(res);
}

/* Keeps res (new) until the transaction ends. */
static PGresult *wr_keep(struct wr_txn *t, PGresult *res)
{
    return ac_arena_defer(&t->ar, wr_pqclear, res);
}

/* Takes one result; keep: where to keep it (arena-owned), or NULL. */
static bool wr_take(struct wr_txn *t, PGresult **keep)
{
    bool ok = ac_pgpipe_take(&t->r, keep);

    if (keep) {
        (void)wr_keep(t, *keep);
    }
    return ok;
}

static void wr_txn_init(struct wr_txn *t, struct ac_writer *w, struct wr_job *first, size_t njobs)
{
    struct wr_job *j = first;
    size_t k = 0;

    memset(t, 0, sizeof(*t));
    t->w = w;
    t->now = ac_time_now_us();
    ac_pgpipe_init(&t->r, w->conn);
    ac_arena_init(&t->ar);
    ac_cand_view_init(&t->view);
    for (size_t n = 0; n < njobs; n++, j = j->next) {
        t->total += j->evs->n;
    }
    ac_fold_init(&t->f, t->total);
    t->evs = ac_xcalloc(t->total + 1, sizeof(*t->evs));
    t->eligible = ac_xcalloc(t->total + 1, sizeof(bool));
    t->fp_hit = ac_xcalloc(t->total + 1, sizeof(bool));
    t->key_hit = ac_xcalloc(t->total + 1, sizeof(bool));
    j = first;
    for (size_t n = 0; n < njobs; n++, j = j->next) {
        for (size_t i = 0; i < j->evs->n; i++, k++) {
            ac_fold_add(&t->f, &j->evs->items[i]);
            t->evs[k] = &j->evs->items[i];
        }
    }
}

static void wr_txn_deinit(struct wr_txn *t)
{
    ac_arena_deinit(&t->ar);
    ac_cand_view_deinit(&t->view);
    ac_cand_group_deinit(&t->g);
    ac_cand_group_deinit(&t->pre);
    ac_fold_deinit(&t->f);
    free(t->wins);
    free(t->evs);
    free(t->eligible);
    free(t->fp_hit);
    free(t->key_hit);
}

/*
 * Round trip 1, sent: BEGIN, locks, the windows, and for a small group ids
 * (as many as it has events: no more can be stored, nor open new alerts),
 * which saves round trip 2 for the cost of gaps in the ids. It goes out
 * first, so PostgreSQL takes the locks while Redis answers round trip 0.
 */
static enum wr_step wr_txn_begin(struct wr_txn *t)
{
    struct ac_txnsql_params lock, types, ids;
    const char *v[2];
    char n1[24];

    v[0] = ac_txnsql_lock_keys(&t->ar, &t->f, &t->w->mem);
    ac_txnsql_params_scalar(&lock, 1, v);
    t->early_ids = t->total <= WR_EARLY_IDS_MAX;
    (void)snprintf(n1, sizeof(n1), "%zu", t->total);
    v[0] = v[1] = n1;
    ac_txnsql_params_scalar(&ids, 2, v);
    ac_txnsql_build_types(&t->ar, &t->f, &types);
    if (!ac_pgpipe_send_text(t->w->conn, "BEGIN") ||
        !ac_txnsql_send(t->w->conn, AC_STMT_LOCK, &lock) ||
        !ac_txnsql_send(t->w->conn, AC_STMT_ESC_READ, &types) ||
        (t->early_ids && !ac_txnsql_send(t->w->conn, AC_STMT_IDS, &ids)) ||
        !ac_pgpipe_flush(t->w->conn)) {
        return WR_STEP_LOST;
    }
    return WR_STEP_OK;
}

/* The events that are candidates before the locks (under: also folded into
 * an alert). */
static void wr_txn_eligible(struct wr_txn *t, bool locked)
{
    for (size_t i = 0; i < t->f.nevents; i++) {
        t->eligible[i] = (!locked || t->f.events[i].alert >= 0) && ac_fold_is_new_event(&t->f, i) &&
                         t->f.events[i].ev->status == AC_STATUS_FIRING;
    }
}

/*
 * Round trip 0 (Redis, when there) - what the cache knows, and the set check
 * of the candidates of the windows this writer last counted into - then from
 * PostgreSQL what the cache did not know, and round trip 1's answers. The
 * group is folded (fold.h) and its windows read.
 */
static enum wr_step wr_txn_lookup(struct wr_txn *t, bool use_cache)
{
    struct ac_txnsql_params stored, open;
    PGconn *conn = t->w->conn;
    size_t nstored, nopen;

    wr_txn_eligible(t, false);
    ac_cand_collect(&t->pre, &t->w->mem, NULL, t->evs, t->eligible, t->f.nevents, NULL);
    if (use_cache) {
        ac_cache_lookup(t->w->cache, &t->f, t->fp_hit, t->key_hit, &t->pre);
    }
    nstored = ac_txnsql_build_stored(&t->ar, &t->f, t->key_hit, &stored);
    nopen = ac_txnsql_build_open(&t->ar, &t->f, t->fp_hit, &open);
    if ((nstored > 0 && !ac_txnsql_send(conn, AC_STMT_STORED, &stored)) ||
        (nopen > 0 && !ac_txnsql_send(conn, AC_STMT_OPEN, &open)) ||
        ((nstored > 0 || nopen > 0) && !ac_pgpipe_flush(conn))) {
        return WR_STEP_LOST;
    }
    {
        PGresult *stored_res = NULL, *open_res = NULL;
        if (!wr_take(t, NULL) || !wr_take(t, NULL) || !wr_take(t, &t->win_res) ||
            (t->early_ids && !wr_take(t, &t->ids_res)) ||
            (nstored > 0 && !wr_take(t, &stored_res)) || (nopen > 0 && !wr_take(t, &open_res))) {
            return WR_STEP_LOST;
        }
        if (t->r.failed) {
            return WR_STEP_FAILED;
        }
        ac_txnsql_apply_lookups(&t->f, stored_res, open_res);
    }
    ac_fold_run(&t->f);
    ac_txnsql_view(t->win_res, &t->view);
    return WR_STEP_OK;
}

/*
 * Under the types' locks: which of the group's apps and GC6/GC7 users are new
 * to their windows (candidates.h) - from the memory, the sets' checks, and
 * for the rest a probe of PostgreSQL (one round trip, only when needed). The
 * events that bring one are stored as rows.
 */
static enum wr_step wr_txn_members(struct wr_txn *t)
{
    struct ac_txnsql_params probe;
    PGresult *res = NULL;
    size_t *ord, n, nkeep;

    wr_txn_eligible(t, true);
    ac_cand_collect(&t->g, &t->w->mem, &t->view, t->evs, t->eligible, t->f.nevents, t->pre.ekeys);
    if (ac_cand_decide(&t->g, &t->w->mem, &t->pre)) {
        ac_cache_check_members(t->w->cache, &t->g);
    }
    ord = ac_arena_defer(&t->ar, free, ac_xcalloc(t->g.n + t->g.nwins + 1, sizeof(size_t)));
    n = ac_cand_probes(&t->g, ord);
    if (n > 0) {
        ac_txnsql_build_probe(&t->ar, &t->g, &t->w->mem, ord, n, &probe);
        __atomic_add_fetch(&t->w->n_probed, (unsigned long long)n, __ATOMIC_RELAXED);
        if (!ac_txnsql_send(t->w->conn, AC_STMT_ESC_PROBE, &probe) ||
            !ac_pgpipe_flush(t->w->conn) || !wr_take(t, &res)) {
            return t->r.failed && !t->r.lost ? WR_STEP_FAILED : WR_STEP_LOST;
        }
        if (t->r.failed) {
            return WR_STEP_FAILED;
        }
    }
    for (int i = 0; res && i < PQntuples(res); i++) {
        long o = strtol(PQgetvalue(res, i, 0), NULL, 10);
        if (o >= 1) {
            ac_cand_probed(&t->g, ord, n, (size_t)o - 1);
        }
    }
    nkeep = ac_cand_apply(&t->g, ord);
    for (size_t i = 0; i < nkeep; i++) {
        ac_fold_keep(&t->f, ord[i]);
    }
    return WR_STEP_OK;
}

/* Round trip 2 (a large group): reserve the ids of its stored events and new
 * alerts; then hand them out. */
static enum wr_step wr_txn_ids(struct wr_txn *t)
{
    struct ac_txnsql_params ids;
    const char *v[2];
    char n1[24], n2[24];

    for (size_t i = 0; i < t->f.nevents; i++) {
        t->nev += ac_fold_is_stored(&t->f, i);
    }
    for (size_t i = 0; i < t->f.nalerts; i++) {
        t->nal += t->f.alerts[i].is_new;
    }
    if (t->nev == 0 && t->nal == 0) {
        return WR_STEP_OK;
    }
    if (!t->early_ids) {
        (void)snprintf(n1, sizeof(n1), "%zu", t->nev);
        (void)snprintf(n2, sizeof(n2), "%zu", t->nal);
        v[0] = n1;
        v[1] = n2;
        ac_txnsql_params_scalar(&ids, 2, v);
        if (!ac_txnsql_send(t->w->conn, AC_STMT_IDS, &ids) || !ac_pgpipe_flush(t->w->conn) ||
            !wr_take(t, &t->ids_res)) {
            return WR_STEP_LOST;
        }
        if (t->r.failed) {
            return WR_STEP_FAILED;
        }
    }
    if (!ac_txnsql_assign_ids(&t->f, t->ids_res, t->nev, t->nal)) {
        t->r.failed = true;
        (void)snprintf(t->r.message, sizeof(t->r.message), "too few ids reserved");
        return WR_STEP_FAILED;
    }
    return WR_STEP_OK;
}

/*
 * Round trip 3: the writes and COMMIT. The escalation windows' count (which
 * reads no alert) goes out first, so PostgreSQL runs it while the rest is
 * built; existing alerts are updated before new ones are inserted (a
 * rollover closes one before its successor opens).
 */
static enum wr_step wr_txn_commit(struct wr_txn *t)
{
    struct ac_txnsql_params ins_alerts, upd_alerts, ins_events, ins_audit, ins_keys, intents, subs;
    PGconn *conn = t->w->conn;
    struct ac_fold *f = &t->f;
    size_t nkeys, nintents = 0, nsubs;

    t->nintents = 0;
    bool count, events;

    ac_txnsql_build_esc(&t->ar, t->w->esc, f, &t->view, &t->g, &t->esc);
    count = t->esc.ntypes > 0 && t->esc.full;
    events = !t->esc.full && t->esc.nevtypes > 0;
    if ((count && !ac_txnsql_send(conn, AC_STMT_ESC_COUNT, &t->esc.count)) ||
        (count && t->esc.nclose > 0 && !ac_txnsql_send(conn, AC_STMT_ESC_CLOSE, &t->esc.close)) ||
        (events && !ac_txnsql_send(conn, AC_STMT_ESC_EVENTS, &t->esc.events)) ||
        ((count || events) && !ac_pgpipe_flush(conn))) {
        return WR_STEP_LOST;
    }
    ac_txnsql_build_new_alerts(&t->ar, f, &t->view, t->now, t->w->notify_levels, &ins_alerts,
                               &intents, &nintents);
    ac_txnsql_build_upd_alerts(&t->ar, f, t->now, &upd_alerts);
    ac_txnsql_build_events(&t->ar, f, &ins_events);
    ac_txnsql_build_audit(&t->ar, f, &t->view, &ins_audit);
    nkeys = ac_txnsql_build_keys(&t->ar, f, &ins_keys);
    {
        struct ac_subs *held = __atomic_load_n(&t->w->subs, __ATOMIC_ACQUIRE);
        nsubs = ac_txnsql_build_subs(&t->ar, f, ac_subs_hold(held), &subs); /* once a group */
        ac_subs_release(held);
    }
    /* the audit entries first: what the changes set off (an incident
     * resolved by its last alert) is audited after its cause */
    if ((f->naudits > 0 && !ac_txnsql_send(conn, AC_STMT_INS_AUDIT, &ins_audit)) ||
        (f->nalerts > t->nal && !ac_txnsql_send(conn, AC_STMT_UPD_ALERTS, &upd_alerts)) ||
        (t->nal > 0 && !ac_txnsql_send(conn, AC_STMT_INS_ALERTS, &ins_alerts)) ||
        (nintents > 0 && !ac_txnsql_send(conn, AC_STMT_INS_INTENTS, &intents)) ||
        (nkeys > 0 && !ac_txnsql_send(conn, AC_STMT_INS_KEYS, &ins_keys)) ||
        (t->nev > 0 && !ac_txnsql_send(conn, AC_STMT_INS_EVENTS, &ins_events)) ||
        (nsubs > 0 && !ac_txnsql_send(conn, AC_STMT_SUB_COUNT, &subs)) ||
        !ac_pgpipe_send_text(conn, "COMMIT") || PQpipelineSync(conn) != 1) {
        return WR_STEP_LOST;
    }
    t->synced = t->commit_sent = true;
    t->nintents = nintents;
    if ((count && !wr_take(t, &t->esc_res)) || (count && t->esc.nclose > 0 && !wr_take(t, NULL)) ||
        (events && !wr_take(t, NULL)) || (f->naudits > 0 && !wr_take(t, NULL)) ||
        (f->nalerts > t->nal && !wr_take(t, NULL)) || (t->nal > 0 && !wr_take(t, NULL)) ||
        (nintents > 0 && !wr_take(t, NULL)) || (nkeys > 0 && !wr_take(t, NULL)) ||
        (t->nev > 0 && !wr_take(t, NULL)) || (nsubs > 0 && !wr_take(t, NULL)) ||
        !wr_take(t, NULL) || !ac_pgpipe_take_sync(&t->r)) {
        return WR_STEP_LOST;
    }
    return t->r.failed ? WR_STEP_FAILED : WR_STEP_OK;
}

/* Committed: hand each job its results; then the cache, the memory of the
 * members counted, and the escalation decisions the group made due. */
static void wr_txn_after(struct wr_txn *t, struct wr_job *first, size_t njobs)
{
    struct wr_job *j = first;
    size_t k = 0;
    void (*wake)(void *) = __atomic_load_n(&t->w->on_intents, __ATOMIC_ACQUIRE);

    if (t->nintents > 0 && wake) { /* new incidents to tell: plan now, not at the next poll */
        wake(__atomic_load_n(&t->w->on_intents_ctx, __ATOMIC_ACQUIRE));
    }

    if (t->esc_res) {
        t->wins = ac_xcalloc((size_t)PQntuples(t->esc_res) + 1, sizeof(*t->wins));
        for (int i = 0; i < PQntuples(t->esc_res); i++) {
            ac_esc_win_from_pg(t->esc_res, i, &t->wins[t->nwins++]);
        }
    }
    for (size_t jn = 0; jn < njobs; jn++, j = j->next) {
        for (size_t i = 0; i < j->evs->n; i++, k++) {
            ac_fold_result(&t->f, k, &j->results[i].event_id, &j->results[i].alert_id,
                           &j->results[i].duplicate, &j->results[i].folded);
        }
    }
    ac_cache_update(t->w->cache, &t->f, &t->g, t->wins, t->nwins);
    ac_cand_remember(&t->w->mem, &t->g, t->wins, t->nwins);
    wr_escalate(t->w, t->wins, t->nwins);
}

static enum wr_outcome wr_txn(struct ac_writer *w, struct wr_job *first, size_t njobs,
                              bool use_cache)
{
    struct wr_txn t;
    enum wr_step st;
    enum wr_outcome outcome = WR_OK;

    if (use_cache && ac_cache_check(w->cache, w->conn) != AC_OK) { /* before BEGIN: idle */
        wr_disconnect(w);
        return WR_CONN;
    }
    wr_txn_init(&t, w, first, njobs);
    st = wr_txn_begin(&t);
    st = st == WR_STEP_OK ? wr_txn_lookup(&t, use_cache) : st;
    st = st == WR_STEP_OK ? wr_txn_members(&t) : st;
    st = st == WR_STEP_OK ? wr_txn_ids(&t) : st;
    st = st == WR_STEP_OK ? wr_txn_commit(&t) : st;
    if (st == WR_STEP_OK) {
        wr_txn_after(&t, first, njobs);
    }
    else if (st == WR_STEP_FAILED) {
        if (!ac_pgpipe_abort(w->conn, t.synced)) {
            wr_disconnect(w);
        }
        outcome = wr_classify(&t.r);
        if (outcome == WR_STALE) {
            ac_cache_forget(w->cache, &t.f);
        }
    }
    else {
        ac_log(AC_LOG_WARN, "writer", "connection lost: %s", PQerrorMessage(w->conn));
        wr_disconnect(w);
        /* An error the server reported before COMMIT (e.g. 57P01 on a
         * terminated backend) proves the COMMIT never ran; only a silent loss
         * after sending it leaves the outcome unknown. */
        outcome = t.commit_sent && !t.r.server_error ? WR_CONN_UNSURE : WR_CONN;
    }
    wr_txn_deinit(&t);
    return outcome;
}

static void wr_finish(struct wr_job *first, size_t njobs, int rc)
{
    struct wr_job *j = first;

    for (size_t k = 0; k < njobs; k++, j = j->next) {
        j->rc = rc;
    }
}

/* Runs one transaction with the retry policy of the DESIGN block. */
static int wr_store(struct ac_writer *w, struct wr_job *first, size_t njobs)
{
    bool reconnected = false, use_cache = true;

    for (int attempt = 0; attempt < WR_RETRIES; attempt++) {
        enum wr_outcome o;

        if (wr_connect(w) != AC_OK) {
            return AC_EDB;
        }
        o = wr_txn(w, first, njobs, use_cache);
        switch (o) {
            case WR_OK:
                return AC_OK;
            case WR_RETRY:
                ac_log(AC_LOG_WARN, "writer", "transaction conflict; retrying");
                continue;
            case WR_STALE:
                ac_log(AC_LOG_INFO, "writer", "stale cache entry; retrying from PostgreSQL");
                use_cache = false;
                continue;
            case WR_CONN:
                if (reconnected) {
                    return AC_EDB;
                }
                reconnected = true;
                w->next_connect_us = 0;
                continue;
            case WR_CONN_UNSURE:
            case WR_DATA:
                return AC_EDB;
        }
    }
    return AC_EDB;
}

static void wr_run_group(struct ac_writer *w, struct wr_job *group, size_t njobs)
{
    int64_t started = ac_time_now_us();
    int rc = wr_store(w, group, njobs);
    struct wr_job *j = group;
    size_t events = 0;

    if (rc != AC_OK && njobs > 1 && w->conn) {
        /* Connected but rejected: isolate the bad request from its neighbours. */
        for (size_t k = 0; k < njobs; k++, j = j->next) {
            j->rc = wr_store(w, j, 1);
        }
    }
    else {
        wr_finish(group, njobs, rc);
    }
    for (j = group; j; j = j->next) {
        events += j->evs->n;
        if (j->rc != AC_OK) {
            __atomic_add_fetch(&w->n_failures, 1, __ATOMIC_RELAXED);
        }
    }
    __atomic_add_fetch(&w->n_groups, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&w->n_events, events, __ATOMIC_RELAXED);
    ac_hist_observe_us(&w->group_time, ac_time_now_us() - started);
}

static void *wr_main(void *arg)
{
    struct ac_writer *w = arg;
    struct wr_job *group, *last, *j, *next;
    long count;
    size_t njobs;

    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->head && !w->stopping) {
            pthread_cond_wait(&w->work, &w->lock);
        }
        if (!w->head) {
            break;
        }
        group = last = w->head;
        count = (long)group->evs->n;
        njobs = 1;
        while (last->next && count + (long)last->next->evs->n <= w->group_max) {
            last = last->next;
            count += (long)last->evs->n;
            njobs++;
        }
        w->head = last->next;
        if (!w->head) {
            w->tail = NULL;
        }
        last->next = NULL;
        w->queued -= count;
        pthread_mutex_unlock(&w->lock);

        wr_run_group(w, group, njobs);

        pthread_mutex_lock(&w->lock);
        /* Submitters cannot run until we unlock, so walking the list is safe;
         * read next before waking a job, whose storage is its submitter's. */
        for (j = group; j; j = next) {
            next = j->next;
            j->done = true;
            pthread_cond_signal(&j->cond);
        }
    }
    pthread_mutex_unlock(&w->lock);
    wr_disconnect(w);
    ac_lockkey_thread_done();
    return NULL;
}

void ac_writer_set_subs(struct ac_writer *w, struct ac_subs *subs)
{
    __atomic_store_n(&w->subs, subs, __ATOMIC_RELEASE);
}

void ac_writer_set_notify_levels(struct ac_writer *w, unsigned mask)
{
    w->notify_levels = mask;
}

void ac_writer_on_intents(struct ac_writer *w, void (*fn)(void *ctx), void *ctx)
{
    __atomic_store_n(&w->on_intents_ctx, ctx, __ATOMIC_RELEASE);
    __atomic_store_n(&w->on_intents, fn, __ATOMIC_RELEASE);
}

int ac_writer_start(struct ac_writer *w)
{
    if (pthread_create(&w->thread, NULL, wr_main, w) != 0) {
        ac_log(AC_LOG_ERROR, "writer", "cannot start thread");
        return AC_EIO;
    }
    w->started = true;
    return AC_OK;
}

void ac_writer_stop(struct ac_writer *w)
{
    if (!w || !w->started) {
        return;
    }
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    w->started = false;
}

void ac_writer_destroy(struct ac_writer *w)
{
    if (!w) {
        return;
    }
    ac_writer_stop(w);
    wr_disconnect(w);
    ac_cache_destroy(w->cache);
    ac_cand_memory_deinit(&w->mem);
    free(w->dsn);
    pthread_cond_destroy(&w->work);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

int ac_writer_submit(struct ac_writer *w, struct ac_event_vec *evs,
                     struct ac_ingest_result *results)
{
    struct wr_job job = {.evs = evs, .results = results, .rc = AC_EDB};

    if (evs->n == 0) {
        return AC_OK;
    }
    pthread_mutex_lock(&w->lock);
    if (w->stopping || (w->queued > 0 && w->queued + (long)evs->n > w->queue_max)) {
        pthread_mutex_unlock(&w->lock);
        return AC_EAGAIN;
    }
    pthread_cond_init(&job.cond, NULL);
    /* The job lives on this stack while queued: this thread returns only once
     * the writer has taken it off the queue and marked it done (it drains the
     * queue before it stops), so the queue never points at a dead frame. */
    if (w->tail) {
        w->tail->next = &job;
    }
    else {
        /* cppcheck-suppress autoVariables */
        w->head = &job;
    }
    /* cppcheck-suppress autoVariables */
    w->tail = &job;
    w->queued += (long)evs->n;
    pthread_cond_signal(&w->work);
    while (!job.done) {
        pthread_cond_wait(&job.cond, &w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    pthread_cond_destroy(&job.cond);
    return job.rc;
}

void ac_writer_stats(const struct ac_writer *w, struct ac_writer_stats *out)
{
    out->groups = __atomic_load_n(&w->n_groups, __ATOMIC_RELAXED);
    out->events = __atomic_load_n(&w->n_events, __ATOMIC_RELAXED);
    out->failures = __atomic_load_n(&w->n_failures, __ATOMIC_RELAXED);
    out->raised = __atomic_load_n(&w->n_raised, __ATOMIC_RELAXED);
    out->members_probed = __atomic_load_n(&w->n_probed, __ATOMIC_RELAXED);
    out->members_checked = ac_cache_members_checked(w->cache);
}

void ac_writer_collect(void *ctx, struct ac_metrics_out *o)
{
    struct ac_writer *w = ctx;
    struct ac_writer_stats st;
    long queued;

    ac_writer_stats(w, &st);
    pthread_mutex_lock(&w->lock);
    queued = w->queued;
    pthread_mutex_unlock(&w->lock);
    ac_metrics_single(o, "ac_writer_events_total", "counter",
                      "Events this instance's writer handled in its groups (stored, folded into"
                      " an alert, or answered as duplicates), failed ones included.",
                      (double)st.events);
    ac_metrics_single(o, "ac_writer_groups_total", "counter",
                      "Group-commit transactions this instance's writer ran.", (double)st.groups);
    ac_metrics_single(o, "ac_writer_failed_requests_total", "counter",
                      "Requests (jobs) the writer could not store: answered 503 or 400.",
                      (double)st.failures);
    ac_metrics_single(o, "ac_escalation_raised_alerts_total", "counter",
                      "Alerts this instance's writer raised by an escalation policy.",
                      (double)st.raised);
    ac_metrics_single(o, "ac_escalation_member_probes_total", "counter",
                      "Apps and GC6/GC7 users this instance's writer asked PostgreSQL about"
                      " because their window's Redis set was behind its count or Redis was"
                      " unavailable.",
                      (double)st.members_probed);
    ac_metrics_single(o, "ac_escalation_member_checks_total", "counter",
                      "Apps and GC6/GC7 users this instance's writer asked the windows' Redis sets"
                      " about (members it did not know to be new from its own counting).",
                      (double)st.members_checked);
    ac_metrics_single(o, "ac_writer_queue_events", "gauge",
                      "Events waiting for the writer (the queue holds writer_queue_events at most;"
                      " beyond, ingest answers 503).",
                      (double)queued);
    ac_metrics_family(o, "ac_writer_group_duration_seconds", "histogram",
                      "From taking a group off the queue to answering its requests.");
    ac_metrics_hist(o, "ac_writer_group_duration_seconds", &w->group_time, NULL);
}
