/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Group-commit writer.
 *
 * DESIGN
 * ------
 * Submitters (HTTP connection threads, later Kafka) enqueue a job - one
 * request's events - and sleep on a condition variable. The writer thread
 * takes all queued jobs up to group_max events and stores them in one
 * transaction:
 *
 *   BEGIN
 *   SELECT count(pg_advisory_xact_lock(k)) FROM unnest($keys)   -- sorted
 *   SELECT ... FROM ac_ingest_event(...)   -- once per event, in order
 *   COMMIT
 *
 * all sent through libpq's pipeline mode, flushed every WR_CHUNK events, so
 * a group costs a few round trips and one fsync instead of one per event.
 * The advisory locks cover every fingerprint and idempotency key of the
 * group, taken in sorted order: another writer (a second instance) touching
 * the same alerts waits instead of deadlocking, and folding stays exact.
 *
 * Failures: a deadlock or serialization failure retries the group; a data
 * error re-runs each job alone so one bad request cannot fail its
 * neighbours; a lost connection before COMMIT was sent, or one where the
 * server reported an error first, reconnects and retries once (nothing can
 * have committed); after that the jobs fail with
 * AC_EDB (HTTP 503) and reconnects back off up to WR_BACKOFF_MAX_US.
 */
#include "server/writer.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/timefmt.h"
#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/core/pg.h"

#define WR_CHUNK          200
#define WR_NPARAMS        19
#define WR_RETRIES        3
#define WR_BACKOFF_MIN_US 100000LL
#define WR_BACKOFF_MAX_US 2000000LL

#define SQL_INGEST                                                                                 \
    "SELECT o_event_id, o_alert_id, o_duplicate FROM ac_ingest_event($1, $2, $3, $4, $5, $6, "     \
    "$7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)"
#define SQL_LOCK "SELECT count(pg_advisory_xact_lock(k)) FROM unnest($1::bigint[]) AS k"

struct wr_job {
    struct ac_event_vec *evs;
    struct ac_ingest_result *results;
    int rc;
    bool done;
    struct wr_job *next;
};

struct ac_writer {
    pthread_mutex_t lock;
    pthread_cond_t work;
    pthread_cond_t done;
    struct wr_job *head, *tail;
    long queued;
    long queue_max;
    long group_max;
    bool stopping;
    bool started;
    pthread_t thread;
    char *dsn;

    /* Writer thread only. */
    PGconn *conn;
    int64_t next_connect_us;
    int64_t backoff_us;

    /* Relaxed atomics. */
    unsigned long long n_groups, n_events, n_failures;
};

enum wr_outcome { WR_OK, WR_RETRY, WR_DATA, WR_CONN, WR_CONN_UNSURE };

struct ac_writer *ac_writer_create(const char *dsn, long queue_events, long group_max)
{
    struct ac_writer *w = ac_xcalloc(1, sizeof(*w));

    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->work, NULL);
    pthread_cond_init(&w->done, NULL);
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
}

static bool wr_prepare(PGconn *conn, const char *name, const char *sql)
{
    PGresult *res = PQprepare(conn, name, sql, 0, NULL);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;

    if (!ok) {
        ac_log(AC_LOG_ERROR, "writer", "prepare %s failed: %s", name, PQerrorMessage(conn));
    }
    PQclear(res);
    return ok;
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
    w->conn = ac_pg_connect(w->dsn);
    if (!w->conn || !wr_prepare(w->conn, "ac_ingest", SQL_INGEST) ||
        !wr_prepare(w->conn, "ac_lock", SQL_LOCK) || PQenterPipelineMode(w->conn) != 1) {
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

/* Advisory lock key of a fingerprint: its first 64 bits. */
static int64_t wr_fp_key(const char *fp)
{
    uint64_t v = 0;

    for (int i = 0; i < 16 && fp[i]; i++) {
        char c = fp[i];
        v = (v << 4) | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    return (int64_t)v;
}

/* Advisory lock key of an idempotency key: 64 bits of SHA-256(source NUL id). */
static int64_t wr_id_key(const char *source, const char *id)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint64_t v = 0;

    AC_ASSERT(md != NULL);
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    EVP_DigestUpdate(md, source, strlen(source) + 1);
    EVP_DigestUpdate(md, id, strlen(id));
    EVP_DigestFinal_ex(md, d, &n);
    EVP_MD_CTX_free(md);
    for (int i = 0; i < 8; i++) {
        v = (v << 8) | d[i];
    }
    return (int64_t)v;
}

static int wr_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

/* The sorted, de-duplicated lock keys of jobs as a PostgreSQL array literal. */
static char *wr_lock_keys(struct wr_job *first, size_t njobs)
{
    size_t n = 0, cap = 0;
    int64_t *keys = NULL;
    struct ac_buf b = {0};
    struct wr_job *j = first;

    for (size_t k = 0; k < njobs; k++, j = j->next) {
        cap += j->evs->n * 2;
    }
    keys = ac_xmalloc(cap * sizeof(*keys));
    j = first;
    for (size_t k = 0; k < njobs; k++, j = j->next) {
        for (size_t i = 0; i < j->evs->n; i++) {
            const struct ac_event *ev = &j->evs->items[i];
            keys[n++] = wr_fp_key(ev->fingerprint);
            if (ev->id) {
                keys[n++] = wr_id_key(ev->source, ev->id);
            }
        }
    }
    qsort(keys, n, sizeof(*keys), wr_cmp_i64);
    ac_buf_appends(&b, "{");
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && keys[i] == keys[i - 1]) {
            continue;
        }
        ac_buf_printf(&b, "%s%lld", b.len > 1 ? "," : "", (long long)keys[i]);
    }
    ac_buf_appends(&b, "}");
    free(keys);
    return ac_buf_steal(&b);
}

static bool wr_send_event(PGconn *conn, const struct ac_event *ev)
{
    char occurred[AC_TIME_STRLEN], received[AC_TIME_STRLEN], gc[8];
    json_t *doc = ac_event_to_json(ev);
    json_t *resource = json_object_get(doc, "resource");
    char *doc_s = json_dumps(doc, JSON_COMPACT);
    char *res_s = resource ? json_dumps(resource, JSON_COMPACT) : NULL;
    const char *p[WR_NPARAMS];
    bool ok;

    ac_time_format(ev->occurred_at, occurred);
    ac_time_format(ev->received_at, received);
    (void)snprintf(gc, sizeof(gc), "%d", ev->gc_level);
    p[0] = ev->source;
    p[1] = ev->id;
    p[2] = ev->type;
    p[3] = ac_level_name(ev->level);
    p[4] = ac_trace_name(ev->trace);
    p[5] = ac_category_name(ev->category);
    p[6] = ac_status_name(ev->status);
    p[7] = ev->fingerprint;
    p[8] = occurred;
    p[9] = received;
    p[10] = ev->region;
    p[11] = ev->cluster;
    p[12] = ev->namespace_;
    p[13] = ev->app_id;
    p[14] = ev->user_id;
    p[15] = ev->gc_level ? gc : NULL;
    p[16] = ev->instance;
    p[17] = res_s;
    p[18] = doc_s;
    /* libpq copies the parameters into its output buffer before returning. */
    ok = PQsendQueryPrepared(conn, "ac_ingest", WR_NPARAMS, p, NULL, NULL, 0) == 1;
    free(doc_s);
    free(res_s);
    json_decref(doc);
    return ok;
}

/* Reading side of one transaction. */
struct wr_reader {
    PGconn *conn;
    struct wr_job *job; /* next event result goes here */
    size_t idx;
    enum wr_outcome outcome;
    bool failed;       /* a statement failed; the rest are aborted */
    bool server_error; /* the server itself reported an error (has a SQLSTATE) */
};

static void wr_note_error(struct wr_reader *r, PGresult *res)
{
    const char *state = ac_pg_sqlstate(res);

    if (*state) {
        r->server_error = true;
    }
    if (r->failed) {
        return;
    }
    r->failed = true;
    if (ac_pg_is_conn_error(r->conn, res)) {
        r->outcome = WR_CONN;
    }
    else if (strcmp(state, "40P01") == 0 || strcmp(state, "40001") == 0) {
        r->outcome = WR_RETRY;
    }
    else {
        r->outcome = WR_DATA;
        ac_log(AC_LOG_ERROR, "writer", "statement failed sqlstate=%s: %s", state,
               PQresultErrorMessage(res));
    }
}

/* Reads the result of one command; is_event stores an event's ids. */
static bool wr_read_one(struct wr_reader *r, bool is_event)
{
    PGresult *res = PQgetResult(r->conn);
    ExecStatusType st;

    if (!res) {
        r->failed = true;
        r->outcome = WR_CONN;
        return false;
    }
    st = PQresultStatus(res);
    if (st == PGRES_FATAL_ERROR) {
        wr_note_error(r, res);
    }
    else if (st == PGRES_PIPELINE_ABORTED) {
        r->failed = true;
    }
    else if (is_event && st == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        struct ac_ingest_result *out = &r->job->results[r->idx];
        out->event_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        out->alert_id = PQgetisnull(res, 0, 1) ? 0 : strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        out->duplicate = PQgetvalue(res, 0, 2)[0] == 't';
    }
    PQclear(res);
    if (is_event && ++r->idx == r->job->evs->n) {
        r->job = r->job->next;
        r->idx = 0;
    }
    /* Each command's results end with a NULL. */
    res = PQgetResult(r->conn);
    if (res) {
        PQclear(res);
        r->failed = true;
        r->outcome = WR_CONN;
        return false;
    }
    return true;
}

static bool wr_read_sync(struct wr_reader *r)
{
    PGresult *res = PQgetResult(r->conn);
    bool ok = res && PQresultStatus(res) == PGRES_PIPELINE_SYNC;

    PQclear(res);
    if (!ok) {
        r->failed = true;
        r->outcome = WR_CONN;
    }
    return ok;
}

/* After a failed statement the explicit transaction is still open: end it. */
static void wr_rollback(struct ac_writer *w)
{
    struct wr_reader r = {.conn = w->conn};

    if (PQtransactionStatus(w->conn) == PQTRANS_IDLE) {
        return;
    }
    if (PQsendQueryParams(w->conn, "ROLLBACK", 0, NULL, NULL, NULL, NULL, 0) != 1 ||
        PQpipelineSync(w->conn) != 1 || !wr_read_one(&r, false) || !wr_read_sync(&r)) {
        wr_disconnect(w);
    }
}

static enum wr_outcome wr_txn(struct ac_writer *w, struct wr_job *first, size_t njobs)
{
    struct wr_reader r = {.conn = w->conn, .job = first, .outcome = WR_OK};
    char *keys = wr_lock_keys(first, njobs);
    const char *kp[1] = {keys};
    struct wr_job *j = first;
    size_t unread = 0, sent = 0;
    bool commit_sent = false;

    if (PQsendQueryParams(w->conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0) != 1 ||
        PQsendQueryPrepared(w->conn, "ac_lock", 1, kp, NULL, NULL, 0) != 1) {
        goto conn_lost;
    }
    for (size_t k = 0; k < njobs; k++, j = j->next) {
        for (size_t i = 0; i < j->evs->n; i++) {
            if (!wr_send_event(w->conn, &j->evs->items[i])) {
                goto conn_lost;
            }
            unread++;
            if (++sent % WR_CHUNK == 0) {
                if (PQsendFlushRequest(w->conn) != 1 || PQflush(w->conn) != 0) {
                    goto conn_lost;
                }
                if (sent == WR_CHUNK && (!wr_read_one(&r, false) || !wr_read_one(&r, false))) {
                    goto conn_lost; /* BEGIN, lock */
                }
                for (; unread > 0; unread--) {
                    if (!wr_read_one(&r, true)) {
                        goto conn_lost;
                    }
                }
            }
        }
    }
    if (PQsendQueryParams(w->conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) != 1 ||
        PQpipelineSync(w->conn) != 1) {
        goto conn_lost;
    }
    commit_sent = true;
    if (sent < WR_CHUNK && (!wr_read_one(&r, false) || !wr_read_one(&r, false))) {
        goto conn_lost;
    }
    for (; unread > 0; unread--) {
        if (!wr_read_one(&r, true)) {
            goto conn_lost;
        }
    }
    if (!wr_read_one(&r, false) || !wr_read_sync(&r)) {
        goto conn_lost;
    }
    free(keys);
    if (r.failed) {
        wr_rollback(w);
        return r.outcome == WR_OK ? WR_DATA : r.outcome;
    }
    return WR_OK;

conn_lost:
    free(keys);
    ac_log(AC_LOG_WARN, "writer", "connection lost: %s", PQerrorMessage(w->conn));
    wr_disconnect(w);
    /* An error the server reported before COMMIT (e.g. 57P01 on a terminated
     * backend) proves the COMMIT never ran; only a silent loss after sending
     * it leaves the outcome unknown. */
    return commit_sent && !r.server_error ? WR_CONN_UNSURE : WR_CONN;
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
    bool reconnected = false;

    for (int attempt = 0; attempt < WR_RETRIES; attempt++) {
        enum wr_outcome o;

        if (wr_connect(w) != AC_OK) {
            return AC_EDB;
        }
        o = wr_txn(w, first, njobs);
        switch (o) {
            case WR_OK:
                return AC_OK;
            case WR_RETRY:
                ac_log(AC_LOG_WARN, "writer", "transaction conflict; retrying");
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
}

static void *wr_main(void *arg)
{
    struct ac_writer *w = arg;
    struct wr_job *group, *last, *j;
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
        /* Submitters cannot run until we unlock, so walking the list is safe. */
        for (j = group; j; j = j->next) {
            j->done = true;
        }
        pthread_cond_broadcast(&w->done);
    }
    pthread_mutex_unlock(&w->lock);
    wr_disconnect(w);
    return NULL;
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
    free(w->dsn);
    pthread_cond_destroy(&w->done);
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
    if (w->tail) {
        w->tail->next = &job;
    }
    else {
        w->head = &job;
    }
    w->tail = &job;
    w->queued += (long)evs->n;
    pthread_cond_signal(&w->work);
    while (!job.done) {
        pthread_cond_wait(&w->done, &w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return job.rc;
}

void ac_writer_stats(const struct ac_writer *w, struct ac_writer_stats *out)
{
    out->groups = __atomic_load_n(&w->n_groups, __ATOMIC_RELAXED);
    out->events = __atomic_load_n(&w->n_events, __ATOMIC_RELAXED);
    out->failures = __atomic_load_n(&w->n_failures, __ATOMIC_RELAXED);
}
