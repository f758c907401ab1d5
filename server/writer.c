/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Group-commit writer.
 *
 * DESIGN
 * ------
 * Submitters (HTTP connection threads, later Kafka) enqueue a job - one
 * request's events - and sleep on their own condition variable. The writer
 * thread takes all queued jobs up to group_max events and stores them in one
 * transaction:
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
 *      stored counts, else from PostgreSQL (escalation/members.h); an event
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
 * (wr_cache_check, after every reconnection).
 *
 * Failures: a deadlock or serialization failure retries the group; a stale
 * cache entry retries it from PostgreSQL alone; a data error re-runs each job
 * alone so one bad request cannot fail its neighbours; a lost connection
 * before COMMIT was sent, or one where the server reported an error first,
 * reconnects and retries once (nothing can have committed); after that the
 * jobs fail with AC_EDB (HTTP 503) and reconnects back off up to
 * WR_BACKOFF_MAX_US. Redis errors never fail a job: the writer drops the
 * connection, goes on without the cache and tries Redis again a second later.
 */
#include "server/writer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escalation/engine.h"
#include "escalation/level.h"
#include "escalation/members.h"
#include "schema/timefmt.h"
#include "server/core/lockkey.h"
#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/core/metrics.h"
#include "server/core/pg.h"
#include "server/core/redis.h"
#include "server/fold.h"

#define WR_RETRIES        3
#define WR_BACKOFF_MIN_US 100000LL
#define WR_BACKOFF_MAX_US 2000000LL

/* The figures ac_esc_count returns of each window it counted into. */
#define WR_ESC_RETURNING                                                                           \
    " RETURNING " AC_ESC_WIN_SELECT("w.open_alerts <= 0", "w.type = ANY($9::text[])",              \
                                    AC_ESC_UNFLUSHED)

static const struct {
    const char *name;
    const char *sql;
} wr_statements[] = {
    {"ac_lock", "SELECT count(pg_advisory_xact_lock(k)) FROM unnest($1::bigint[]) AS k"},
    {"ac_stored",
     "SELECT k.s, k.c, i.event_id, i.alert_id FROM unnest($1::text[], $2::text[]) AS k(s, c)"
     " JOIN ingest_keys i ON i.source = k.s AND i.client_id = k.c"},
    /* A nested loop of plain index scans, not a bitmap scan: index scans mark
     * the dead entries that hot alerts' updates leave behind, so lookups stay
     * fast between vacuums. */
    {"ac_open", "SELECT a.fingerprint, a.id, (extract(epoch FROM a.first_seen) * 1000000)::bigint"
                " FROM unnest($1::text[]) AS k(fp)"
                " JOIN alerts a ON a.fingerprint = k.fp AND a.status <> 'resolved'"},
    {"ac_ids", "SELECT array(SELECT nextval('events_id_seq') FROM generate_series(1, $1::int)),"
               " array(SELECT nextval('alerts_id_seq') FROM generate_series(1, $2::int))"},
    {"ac_ins_alerts",
     "INSERT INTO alerts (id, fingerprint, type, source, trace, category, level, initial_level,"
     " status, count, first_seen, last_seen, resolved_at, region, cluster, namespace, app_id,"
     " user_id, gc_level, instance, resource, last_event_id, created_at, updated_at, last_doc)"
     " SELECT id, fingerprint, type, source, trace, category, level, initial_level, status,"
     " count, first_seen, last_seen, resolved_at, region, cluster, namespace, app_id, user_id,"
     " gc_level, instance, resource, last_event_id, created_at, created_at, last_doc"
     " FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],"
     " $7::text[], $8::text[], $9::text[], $10::bigint[], $11::timestamptz[],"
     " $12::timestamptz[], $13::timestamptz[], $14::text[], $15::text[], $16::text[],"
     " $17::text[], $18::text[], $19::smallint[], $20::text[], $21::jsonb[], $22::bigint[],"
     " $23::timestamptz[], $24::json[]) AS v(id, fingerprint, type, source, trace, category,"
     " level, initial_level, status, count, first_seen, last_seen, resolved_at, region, cluster,"
     " namespace, app_id, user_id, gc_level, instance, resource, last_event_id, created_at,"
     " last_doc)"},
    /* last_doc_mode: 'set' (the latest event was folded), 'clear' (it was stored), 'keep'. */
    {"ac_upd_alerts",
     "WITH u AS (UPDATE alerts a SET count = a.count + v.delta, first_seen = least(a.first_seen,"
     " v.first_seen), last_seen = greatest(a.last_seen, v.last_seen), level = least(a.level,"
     " coalesce(v.level COLLATE \"C\", a.level)), status = CASE WHEN v.resolved_at IS NULL THEN"
     " a.status ELSE 'resolved' END, resolved_at = coalesce(v.resolved_at, a.resolved_at),"
     " last_event_id = coalesce(v.last_event_id, a.last_event_id),"
     " last_doc = CASE v.mode WHEN 'set' THEN v.doc WHEN 'clear' THEN NULL ELSE a.last_doc END,"
     " updated_at = v.updated_at"
     " FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::timestamptz[], $5::text[],"
     " $6::timestamptz[], $7::bigint[], $8::timestamptz[], $9::text[], $10::json[],"
     " $11::text[]) AS v(id, delta, first_seen, last_seen, level, resolved_at, last_event_id,"
     " updated_at, mode, doc, fp)"
     " WHERE a.id = v.id AND a.fingerprint = v.fp AND a.status <> 'resolved' RETURNING 1)"
     " SELECT ac_expect_rows(count(*), cardinality($1::bigint[])) FROM u"},
    /* The notification outbox's intents for the group's new alerts at a
     * notified level (migrations/0010). */
    {"ac_ins_intents", "INSERT INTO notify_intents (alert_id, reason, level)"
                       " SELECT a, 'open', l FROM unnest($1::bigint[], $2::text[]) AS t(a, l)"},
    {"ac_ins_keys", "INSERT INTO ingest_keys (source, client_id, event_id, alert_id)"
                    " SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[])"},
    {"ac_ins_events",
     "INSERT INTO events (id, source, client_id, type, level, trace, category, status,"
     " fingerprint, alert_id, occurred_at, received_at, region, cluster, namespace, app_id,"
     " user_id, instance, doc) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[],"
     " $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[],"
     " $11::timestamptz[], $12::timestamptz[], $13::text[], $14::text[], $15::text[],"
     " $16::text[], $17::text[], $18::text[], $19::json[])"},
    {"ac_ins_audit",
     "INSERT INTO audit_log (actor, action, target_type, target_id, details)"
     " SELECT a, b, 'alert', c, d FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[])"
     " AS t(a, b, c, d)"},
    /* The open windows of the group's types, read under the types' locks: a
     * new alert opens at its window's level, and the writer knows which
     * members it has already counted into which window and where the
     * window's members are (escalation/members.h). */
    {"ac_esc_read", "SELECT type, id, level, first_event_id, apps, gc_users FROM esc_windows"
                    " WHERE type = ANY($1::text[]) AND closed_at IS NULL"},
    /* A group that only adds events and alerts to open windows, with no
     * member, resolve or increment condition new to them, just counts them:
     * no decision can change (it rests on the members, the increment and
     * the timer's clocks), nor can a window close. */
    {"ac_esc_events",
     "UPDATE esc_windows w SET events = w.events + v.n, open_alerts = w.open_alerts + v.delta,"
     " rev = w.rev + 1 FROM unnest($1::text[], $2::bigint[], $3::int[]) AS v(type, n, delta)"
     " WHERE w.type = v.type AND w.closed_at IS NULL"},
    /* Escalation windows (migrations/0008, 0017), one statement per group:
     * into each type's window its events, net change of open alerts and new
     * members (counted before, escalation/members.h) - figures returned for
     * the decision after COMMIT. The windows open now are the ones
     * ac_esc_read found ($5: their ids, NULL where none): they are created
     * and closed only under their type's lock, which this transaction holds,
     * so a known window is updated by its id and a type without one gets a
     * new window, from the group's first event of the type ($8), if it has
     * firing events. Types come sorted, so window rows are locked in one
     * order everywhere. (w.id = ANY($5) lets the planner find the rows by
     * their key rather than scan a table whose few rows leave many versions.) */
    {"ac_esc_count",
     "WITH v AS (SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::int[],"
     " $5::bigint[], $6::int[], $7::int[], $8::bigint[])"
     " AS v(type, trace, n, delta, wid, apps, users, first)),"
     " u AS (UPDATE esc_windows w SET events = w.events + v.n, open_alerts = w.open_alerts +"
     " v.delta, apps = w.apps + v.apps, gc_users = w.gc_users + v.users, rev = w.rev + 1"
     " FROM v WHERE w.id = v.wid AND w.id = ANY($5::bigint[])" WR_ESC_RETURNING "),"
     " i AS (INSERT INTO esc_windows AS w (type, trace, events, open_alerts, apps, gc_users,"
     " first_event_id) SELECT type, trace, n, delta, apps, users, first FROM v"
     " WHERE wid IS NULL AND n > 0 " WR_ESC_RETURNING ")"
     " SELECT * FROM u UNION ALL SELECT * FROM i"},
    /* Without Redis: the ordinals (from 1) of the candidates a window has
     * already - a firing event of the type with that app or GC6/GC7 user from
     * the window's first event on, or a member from before migration 0017. */
    {"ac_esc_probe",
     "SELECT x.i FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[],"
     " $6::bigint[]) WITH ORDINALITY AS x(type, kind, value, first, tk, mk, i)"
     " WHERE CASE WHEN x.kind = 'a' THEN EXISTS (SELECT 1 FROM events e"
     " WHERE e.app_id = x.value COLLATE \"C\" AND e.id >= x.first"
     " AND e.type = x.type COLLATE \"C\" AND e.status = 'firing')"
     " ELSE EXISTS (SELECT 1 FROM events e WHERE e.user_id = x.value COLLATE \"C\""
     " AND e.id >= x.first AND e.type = x.type COLLATE \"C\" AND e.status = 'firing'"
     " AND (e.doc ->> 'gc_level') IN ('6', '7')) END"
     " OR EXISTS (SELECT 1 FROM esc_members m WHERE m.type_key = x.tk AND m.member = x.mk)"},
    /* Then the windows left without an open alert close (the figures above
     * already say so): the increment is kept, their last events go to the
     * buckets and their members go (trigger). */
    {"ac_esc_close",
     "WITH o AS (SELECT id, events - flushed_events AS d FROM esc_windows"
     " WHERE type = ANY($1::text[]) AND closed_at IS NULL AND open_alerts <= 0),"
     " c AS (UPDATE esc_windows w SET closed_at = clock_timestamp(), open_alerts = 0,"
     " increment_pct = (ac_esc_increment(w.type, w.opened_at, clock_timestamp(), o.d)).pct,"
     " flushed_events = w.events, rev = w.rev + 1 FROM o WHERE w.id = o.id"
     " RETURNING w.type, o.d)"
     " INSERT INTO esc_buckets (type, minute, events)"
     " SELECT c.type, date_trunc('minute', now()), c.d FROM c WHERE c.d > 0"
     " ON CONFLICT (type, minute) DO UPDATE SET events = esc_buckets.events + excluded.events"},
};

struct wr_job {
    struct ac_event_vec *evs;
    struct ac_ingest_result *results;
    int rc;
    bool done;
    pthread_cond_t cond; /* signalled for this job alone: no thundering herd */
    struct wr_job *next;
};

/* The members the writer has counted into a type's open window (writer
 * thread only): an open-addressing set of member keys, 0 = empty. Members
 * leave a window only when it closes, and then the next one has another id,
 * so "known for this window id" stays true. Like a Redis set it holds only
 * committed members, so when its apps and users are as many as the window's
 * stored counts it is exactly the window's members, and a member not in it
 * is new without asking Redis (wr_members_decide): the common case of one
 * instance, or one writer per type. */
struct wr_known {
    char *type;
    int64_t type_key; /* ac_lockkey_type(type) */
    int64_t window_id;
    int64_t *set;
    size_t cap, n;
    long napps, nusers; /* of n, by kind */
    bool complete;      /* all the window's members, as of this writer's last count */
};

#define WR_KNOWN_MAX       (1u << 20) /* members remembered per type */
#define WR_KNOWN_TOTAL_MAX (1u << 22) /* and in all (at most 64 MiB of sets) */

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
    struct ac_redis_target redis;
    bool has_redis;
    char *prefix;            /* of every cache key */
    struct ac_redis_lazy rl; /* rl.c: NULL while Redis is not in use */
    size_t redis_unread;     /* replies to cache updates not read yet */
    /* Idempotency keys are cached as <prefix>key:<keygen>:...; the generation
     * moves when PostgreSQL is found behind the cache (wr_cache_check). */
    long long keygen;
    bool cache_checked; /* since the last (re)connection to either */
    long long hw_sent;  /* the highest event id this writer has cached */
    int64_t mirror_next_us;
    unsigned notify_levels;     /* before start */
    struct ac_strmap known_idx; /* type -> index into known */
    struct wr_known *known;
    size_t nknown, capknown;
    size_t known_total; /* members remembered, all types */
    PGconn *conn;
    int64_t next_connect_us;
    int64_t backoff_us;

    /* Relaxed atomics. */
    unsigned long long n_groups, n_events, n_failures, n_raised, n_probed, n_checked;
    struct ac_hist group_time; /* from taking a group to answering it */
};

enum wr_outcome { WR_OK, WR_RETRY, WR_DATA, WR_CONN, WR_CONN_UNSURE, WR_STALE };

#define WR_REDIS_TIMEOUT_MS 200
#define WR_REDIS_RETRY_US   1000000LL
#define WR_MIRROR_US        200000LL
#define WR_EARLY_IDS_MAX    64       /* events: a group this small reserves ids in round trip 1 */
#define WR_KEY_TTL_S        "604800" /* idempotency keys stay in Redis for 7 days */

struct ac_writer *ac_writer_create(const char *dsn, const char *redis_url, const char *redis_prefix,
                                   const struct ac_esc_config *esc, long queue_events,
                                   long group_max)
{
    struct ac_writer *w = ac_xcalloc(1, sizeof(*w));

    w->esc = esc;
    ac_strmap_init(&w->known_idx, 64);
    w->prefix = ac_xstrdup(redis_prefix ? redis_prefix : "ac:");
    w->has_redis = redis_url && ac_redis_parse_url(redis_url, &w->redis) == AC_OK;
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
    w->cache_checked = false;
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
    /* The same few statements run for every group with arrays that are small
     * next to the tables, so per-row index lookups are always right. Generic
     * plans avoid re-planning each group, but one is made once, at the first
     * execution: on a young database that is a hash join over a sequential
     * scan, which then costs more with every alert until the connection is
     * replaced (measured: 24.9k -> 13.3k events/s over four runs). Without
     * sequential and bitmap scans the plan is index lookups at any size. */
    w->conn = ac_pg_connect_opts(w->dsn, "-c plan_cache_mode=force_generic_plan "
                                         "-c enable_seqscan=off -c enable_bitmapscan=off");
    for (size_t i = 0; w->conn && i < sizeof(wr_statements) / sizeof(wr_statements[0]); i++) {
        if (!wr_prepare(w->conn, wr_statements[i].name, wr_statements[i].sql)) {
            wr_disconnect(w);
        }
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

static int wr_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

static struct wr_known *wr_known_of(struct ac_writer *w, const char *type);

/* The sorted, de-duplicated lock keys of jobs as a PostgreSQL array literal. */
static char *wr_lock_keys(struct ac_writer *w, struct wr_job *first, size_t njobs)
{
    size_t n = 0, cap = 0;
    int64_t *keys = NULL;
    struct ac_buf b = {0};
    struct wr_job *j = first;

    for (size_t k = 0; k < njobs; k++, j = j->next) {
        cap += j->evs->n * 3;
    }
    keys = ac_xmalloc(cap * sizeof(*keys));
    j = first;
    for (size_t k = 0; k < njobs; k++, j = j->next) {
        for (size_t i = 0; i < j->evs->n; i++) {
            const struct ac_event *ev = &j->evs->items[i];
            keys[n++] = ac_lockkey_fp(ev->fingerprint);
            if (i == 0 || strcmp(ev->type, j->evs->items[i - 1].type) != 0) {
                keys[n++] = wr_known_of(w, ev->type)->type_key;
            }
            if (ev->id) {
                keys[n++] = ac_lockkey_ingest_id(ev->source, ev->id);
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

/* --- PostgreSQL array literals ------------------------------------------ */

static void wr_arr_time(struct ac_buf *b, int64_t us, bool zero_is_null)
{
    char ts[AC_TIME_STRLEN];

    if (zero_is_null && us == 0) {
        ac_pg_array_add(b, NULL);
        return;
    }
    ac_time_format(us, ts);
    ac_pg_array_add(b, ts);
}

/* A set of array parameters for one statement. */
struct wr_params {
    struct ac_buf a[24];
    const char *v[24];
    int n;
};

static void wr_params_init(struct wr_params *p, int n)
{
    memset(p, 0, sizeof(*p));
    p->n = n;
}

/* Closes every array and fills v[]. */
static const char *const *wr_params_finish(struct wr_params *p)
{
    for (int i = 0; i < p->n; i++) {
        ac_pg_array_close(&p->a[i]);
        p->v[i] = p->a[i].data;
    }
    return p->v;
}

static void wr_params_deinit(struct wr_params *p)
{
    for (int i = 0; i < p->n; i++) {
        ac_buf_deinit(&p->a[i]);
    }
}

/* Parses "{1,2,3}" into out (at most n values). Returns how many. */
static size_t wr_parse_ids(const char *s, int64_t *out, size_t n)
{
    size_t k = 0;
    char *end;

    if (*s == '{') {
        s++;
    }
    while (*s && *s != '}' && k < n) {
        out[k++] = strtoll(s, &end, 10);
        s = *end == ',' ? end + 1 : end;
    }
    return k;
}

/* --- pipeline reading ------------------------------------------------------ */

struct wr_reader {
    PGconn *conn;
    enum wr_outcome outcome;
    bool failed;       /* a statement failed; the rest are aborted */
    bool server_error; /* the server itself reported an error (has a SQLSTATE) */
    bool lost;         /* the connection broke */
};

static void wr_note_error(struct wr_reader *r, const PGresult *res)
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
    else if (strcmp(state, "AC001") == 0) {
        r->outcome = WR_STALE; /* the cache named an alert that is no longer open */
    }
    else {
        r->outcome = WR_DATA;
        ac_log(AC_LOG_ERROR, "writer", "statement failed sqlstate=%s: %s", state,
               PQresultErrorMessage(res));
    }
}

/*
 * Reads one command's result. On success with keep set, *keep receives it
 * (caller clears). Returns false when the connection broke.
 */
static bool wr_take(struct wr_reader *r, PGresult **keep)
{
    PGresult *res = PQgetResult(r->conn), *end;
    ExecStatusType st;

    if (keep) {
        *keep = NULL;
    }
    if (!res) {
        r->lost = r->failed = true;
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
    else if (keep && !r->failed) {
        *keep = res;
        res = NULL;
    }
    PQclear(res);
    end = PQgetResult(r->conn); /* each command's results end with NULL */
    if (end) {
        PQclear(end);
        if (keep) {
            PQclear(*keep);
            *keep = NULL;
        }
        r->lost = r->failed = true;
        r->outcome = WR_CONN;
        return false;
    }
    return PQstatus(r->conn) == CONNECTION_OK || (r->lost = r->failed = true, false);
}

static bool wr_take_sync(struct wr_reader *r)
{
    PGresult *res = PQgetResult(r->conn);
    bool ok = res && PQresultStatus(res) == PGRES_PIPELINE_SYNC;

    PQclear(res);
    if (!ok) {
        r->lost = r->failed = true;
        r->outcome = WR_CONN;
    }
    return ok;
}

static bool wr_send(PGconn *conn, const char *stmt, const struct wr_params *p)
{
    return PQsendQueryPrepared(conn, stmt, p ? p->n : 0, p ? p->v : NULL, NULL, NULL, 0) == 1;
}

static bool wr_send_text(PGconn *conn, const char *sql)
{
    return PQsendQueryParams(conn, sql, 0, NULL, NULL, NULL, NULL, 0) == 1;
}

static bool wr_flush(PGconn *conn)
{
    return PQsendFlushRequest(conn) == 1 && PQflush(conn) == 0;
}

/* After a failure inside the pipeline: sync, drain, and end the transaction. */
static void wr_abort(struct ac_writer *w, bool synced)
{
    struct wr_reader r = {.conn = w->conn};
    int nulls = 0;

    if (!synced) {
        if (PQpipelineSync(w->conn) != 1) {
            wr_disconnect(w);
            return;
        }
        for (int i = 0; i < 100000 && nulls < 2; i++) {
            PGresult *res = PQgetResult(w->conn);
            if (!res) {
                nulls++;
                if (PQstatus(w->conn) != CONNECTION_OK) {
                    break;
                }
                continue;
            }
            nulls = 0;
            if (PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
                PQclear(res);
                break;
            }
            PQclear(res);
        }
    }
    if (PQstatus(w->conn) != CONNECTION_OK) {
        wr_disconnect(w);
        return;
    }
    if (PQtransactionStatus(w->conn) == PQTRANS_IDLE) {
        return;
    }
    if (!wr_send_text(w->conn, "ROLLBACK") || PQpipelineSync(w->conn) != 1 || !wr_take(&r, NULL) ||
        !wr_take_sync(&r)) {
        wr_disconnect(w);
    }
}

/* --- building the statements of a group -------------------------------- */

/* The event's normalized document as compact JSON. Returns new. */
static char *wr_doc(const struct ac_event *ev)
{
    json_t *doc = ac_event_to_json(ev);
    char *s = json_dumps(doc, JSON_COMPACT);

    json_decref(doc);
    return s;
}

/* The document an alert keeps as its latest when its latest event was
 * folded rather than stored (new, or NULL). */
static char *wr_last_doc(const struct ac_fold *f, const struct ac_fold_alert *a)
{
    if (a->last_event < 0 || a->last_event == a->last_stored) {
        return NULL;
    }
    return wr_doc(f->events[a->last_event].ev);
}

/* The keys and fingerprints the cache did not answer; returns how many. */
static size_t wr_build_stored(const struct ac_fold *f, const bool *key_hit, struct wr_params *p)
{
    size_t n = 0;

    wr_params_init(p, 2);
    for (size_t i = 0; i < f->nevents; i++) {
        const struct ac_event *ev = f->events[i].ev;
        if (ev->id && f->events[i].dup_of < 0 && !key_hit[i]) {
            n++;
            ac_pg_array_add(&p->a[0], ev->source);
            ac_pg_array_add(&p->a[1], ev->id);
        }
    }
    wr_params_finish(p);
    return n;
}

static size_t wr_build_open(const struct ac_fold *f, const bool *fp_hit, struct wr_params *p)
{
    size_t n = 0;

    wr_params_init(p, 1);
    for (size_t i = 0; i < ac_fold_fingerprint_count(f); i++) {
        if (!fp_hit[i]) {
            ac_pg_array_add(&p->a[0], ac_fold_fingerprint(f, i));
            n++;
        }
    }
    wr_params_finish(p);
    return n;
}

/* --- escalation windows: what the group sees of them ------------------- */

/* The open windows of the group's types, read in round trip 1. */
struct wr_view {
    struct ac_strmap idx; /* type (borrowed from res) -> row */
    PGresult *res;
};

static void wr_view_init(struct wr_view *v, PGresult *res)
{
    v->res = res;
    ac_strmap_init(&v->idx, res ? (size_t)PQntuples(res) + 1 : 1);
    for (int i = 0; res && i < PQntuples(res); i++) {
        const char *t = PQgetvalue(res, i, 0);
        (void)ac_strmap_upsert(&v->idx, t, strlen(t), i, NULL);
    }
}

static void wr_view_deinit(struct wr_view *v)
{
    ac_strmap_deinit(&v->idx);
}

/* The open window of type: its id (0: none) and level (P4: not raised). */
static int64_t wr_view_window(const struct wr_view *v, const char *type, enum ac_level *level)
{
    int64_t *row = ac_strmap_get(&v->idx, type, strlen(type));

    *level = AC_LEVEL_P4;
    if (!row) {
        return 0;
    }
    (void)ac_level_parse(PQgetvalue(v->res, (int)*row, 2), level);
    return strtoll(PQgetvalue(v->res, (int)*row, 1), NULL, 10);
}

/* The open window of type's first event id and stored member counts (0 if
 * none). */
static void wr_view_members(const struct wr_view *v, const char *type, int64_t *first,
                            long long *apps, long long *users)
{
    int64_t *row = ac_strmap_get(&v->idx, type, strlen(type));

    *first = row ? strtoll(PQgetvalue(v->res, (int)*row, 3), NULL, 10) : 0;
    *apps = row ? strtoll(PQgetvalue(v->res, (int)*row, 4), NULL, 10) : 0;
    *users = row ? strtoll(PQgetvalue(v->res, (int)*row, 5), NULL, 10) : 0;
}

static struct wr_known *wr_known_of(struct ac_writer *w, const char *type)
{
    bool added;
    int64_t *slot = ac_strmap_get(&w->known_idx, type, strlen(type));
    struct wr_known *k;

    if (slot) {
        return &w->known[*slot];
    }
    if (w->nknown == w->capknown) {
        w->capknown = w->capknown ? 2 * w->capknown : 16;
        w->known = ac_xrealloc(w->known, w->capknown * sizeof(*w->known));
    }
    k = &w->known[w->nknown];
    memset(k, 0, sizeof(*k));
    k->type = ac_xstrdup(type);
    k->type_key = ac_lockkey_type(type);
    (void)ac_strmap_upsert(&w->known_idx, k->type, strlen(k->type), (int64_t)w->nknown, &added);
    w->nknown++;
    return k;
}

static bool wr_known_has(const struct wr_known *k, int64_t window_id, int64_t key)
{
    if (!k || !k->cap || k->window_id != window_id || key == 0) {
        return false;
    }
    for (size_t i = (uint64_t)key & (k->cap - 1);; i = (i + 1) & (k->cap - 1)) {
        if (k->set[i] == key) {
            return true;
        }
        if (k->set[i] == 0) {
            return false;
        }
    }
}

/* Puts key into a set with room for it. */
static void wr_known_put(struct wr_known *k, int64_t key)
{
    size_t i = (uint64_t)key & (k->cap - 1);

    while (k->set[i]) {
        i = (i + 1) & (k->cap - 1);
    }
    k->set[i] = key;
}

static void wr_known_add(struct ac_writer *w, struct wr_known *k, int64_t window_id, char kind,
                         int64_t key)
{
    if (k->window_id != window_id) { /* a new window: its members start over */
        k->window_id = window_id;
        w->known_total -= k->n;
        k->n = 0;
        k->napps = k->nusers = 0;
        k->complete = false;
        if (k->set) {
            memset(k->set, 0, k->cap * sizeof(*k->set));
        }
    }
    /* past the bounds members are simply asked about again */
    if (key == 0 || k->n >= WR_KNOWN_MAX || w->known_total >= WR_KNOWN_TOTAL_MAX ||
        wr_known_has(k, window_id, key)) {
        return;
    }
    if (2 * (k->n + 1) > k->cap) {
        int64_t *old = k->set;
        size_t oldcap = k->cap;
        k->cap = k->cap ? 2 * k->cap : 64;
        k->set = ac_xcalloc(k->cap, sizeof(*k->set));
        for (size_t j = 0; j < oldcap; j++) {
            if (old[j]) {
                wr_known_put(k, old[j]);
            }
        }
        free(old);
    }
    wr_known_put(k, key);
    k->n++;
    k->napps += kind == 'a';
    k->nusers += kind == 'u';
    w->known_total++;
}

/* Whether k holds exactly the members of window id with these stored
 * counts. */
static bool wr_known_exact(const struct wr_known *k, int64_t id, long long apps, long long users)
{
    return id && k->window_id == id && k->napps == apps && k->nusers == users;
}

static void wr_build_new_alerts(const struct ac_fold *f, const struct wr_view *view, int64_t now,
                                unsigned notify_levels, struct wr_params *p,
                                struct wr_params *intents, size_t *nintents)
{
    char gc[8];
    enum ac_level floor, level;

    wr_params_init(p, 24);
    wr_params_init(intents, 2);
    for (size_t i = 0; i < f->nalerts; i++) {
        const struct ac_fold_alert *a = &f->alerts[i];
        const struct ac_event *ev = f->events[a->opener].ev;
        json_t *res = NULL;
        char *res_s = NULL, *last_doc;

        if (!a->is_new) {
            continue;
        }
        if (ev->has_resource) {
            json_t *doc = ac_event_to_json(ev);
            res = json_incref(json_object_get(doc, "resource"));
            json_decref(doc);
            res_s = json_dumps(res, JSON_COMPACT);
            json_decref(res);
        }
        (void)snprintf(gc, sizeof(gc), "%d", ev->gc_level);
        /* a new alert opens at least at its type's raised window level */
        (void)wr_view_window(view, ev->type, &floor);
        level = ac_level_raise(a->level, floor);
        if (!a->resolved && (notify_levels & (1u << level))) {
            ac_pg_array_add_i64(&intents->a[0], a->id, false);
            ac_pg_array_add(&intents->a[1], ac_level_name(level));
            (*nintents)++;
        }
        ac_pg_array_add_i64(&p->a[0], a->id, false);
        ac_pg_array_add(&p->a[1], ev->fingerprint);
        ac_pg_array_add(&p->a[2], ev->type);
        ac_pg_array_add(&p->a[3], ev->source);
        ac_pg_array_add(&p->a[4], ac_trace_name(ev->trace));
        ac_pg_array_add(&p->a[5], ac_category_name(ev->category));
        ac_pg_array_add(&p->a[6], ac_level_name(level));
        ac_pg_array_add(&p->a[7], ac_level_name(ev->level));
        ac_pg_array_add(&p->a[8], a->resolved ? "resolved" : "firing");
        ac_pg_array_add_i64(&p->a[9], a->delta, false);
        wr_arr_time(&p->a[10], a->first_seen, false);
        wr_arr_time(&p->a[11], a->last_seen, false);
        wr_arr_time(&p->a[12], a->resolved ? a->resolved_at : 0, true);
        ac_pg_array_add(&p->a[13], ev->region);
        ac_pg_array_add(&p->a[14], ev->cluster);
        ac_pg_array_add(&p->a[15], ev->namespace_);
        ac_pg_array_add(&p->a[16], ev->app_id);
        ac_pg_array_add(&p->a[17], ev->user_id);
        ac_pg_array_add(&p->a[18], ev->gc_level ? gc : NULL);
        ac_pg_array_add(&p->a[19], ev->instance);
        ac_pg_array_add(&p->a[20], res_s);
        /* a new alert's opener is always stored */
        ac_pg_array_add_i64(&p->a[21], f->events[a->last_stored].event_id, false);
        wr_arr_time(&p->a[22], now, false);
        last_doc = wr_last_doc(f, a);
        ac_pg_array_add(&p->a[23], last_doc);
        free(last_doc);
        free(res_s);
    }
    wr_params_finish(p);
    wr_params_finish(intents);
}

static void wr_build_upd_alerts(const struct ac_fold *f, int64_t now, struct wr_params *p)
{
    wr_params_init(p, 11);
    for (size_t i = 0; i < f->nalerts; i++) {
        const struct ac_fold_alert *a = &f->alerts[i];
        char *last_doc;

        if (a->is_new) {
            continue;
        }
        ac_pg_array_add_i64(&p->a[0], a->id, false);
        ac_pg_array_add_i64(&p->a[1], a->delta, false);
        wr_arr_time(&p->a[2], a->first_seen, false);
        wr_arr_time(&p->a[3], a->last_seen, false);
        ac_pg_array_add(&p->a[4], ac_level_name(a->level)); /* NULL: no firing event */
        wr_arr_time(&p->a[5], a->resolved ? a->resolved_at : 0, true);
        ac_pg_array_add_i64(&p->a[6], a->last_stored >= 0 ? f->events[a->last_stored].event_id : 0,
                            true);
        wr_arr_time(&p->a[7], now, false);
        last_doc = wr_last_doc(f, a);
        ac_pg_array_add(&p->a[8], last_doc ? "set" : a->last_event >= 0 ? "clear" : "keep");
        ac_pg_array_add(&p->a[9], last_doc);
        ac_pg_array_add(&p->a[10], f->events[a->opener].ev->fingerprint);
        free(last_doc);
    }
    wr_params_finish(p);
}

static void wr_build_events(const struct ac_fold *f, struct wr_params *p)
{
    wr_params_init(p, 19);
    for (size_t i = 0; i < f->nevents; i++) {
        const struct ac_fold_event *fe = &f->events[i];
        const struct ac_event *ev = fe->ev;
        char *doc_s;

        if (!ac_fold_is_stored(f, i)) {
            continue;
        }
        doc_s = wr_doc(ev);
        ac_pg_array_add_i64(&p->a[0], fe->event_id, false);
        ac_pg_array_add(&p->a[1], ev->source);
        ac_pg_array_add(&p->a[2], ev->id);
        ac_pg_array_add(&p->a[3], ev->type);
        ac_pg_array_add(&p->a[4], ac_level_name(ev->level));
        ac_pg_array_add(&p->a[5], ac_trace_name(ev->trace));
        ac_pg_array_add(&p->a[6], ac_category_name(ev->category));
        ac_pg_array_add(&p->a[7], ac_status_name(ev->status));
        ac_pg_array_add(&p->a[8], ev->fingerprint);
        ac_pg_array_add_i64(&p->a[9], fe->alert >= 0 ? f->alerts[fe->alert].id : 0, true);
        wr_arr_time(&p->a[10], ev->occurred_at, false);
        wr_arr_time(&p->a[11], ev->received_at, false);
        ac_pg_array_add(&p->a[12], ev->region);
        ac_pg_array_add(&p->a[13], ev->cluster);
        ac_pg_array_add(&p->a[14], ev->namespace_);
        ac_pg_array_add(&p->a[15], ev->app_id);
        ac_pg_array_add(&p->a[16], ev->user_id);
        ac_pg_array_add(&p->a[17], ev->instance);
        ac_pg_array_add(&p->a[18], doc_s);
        free(doc_s);
    }
    wr_params_finish(p);
}

/* The part of an open entry that is the same for every alert of a type
 * opening while its window is raised, made once per type and group. */
struct wr_open_tail {
    const char *type; /* borrowed from an event */
    char *tail;       /* ,"level":...} */
};

/* An open entry: the event and the level asked for; an alert that opens while
 * its type's window is raised also says at which level it opened and why
 * (tails: those made so far in the group, up to cap). */
static char *wr_open_details(const struct ac_fold *f, const struct ac_fold_audit *au,
                             const struct wr_view *view, struct wr_open_tail *tails, size_t *ntails,
                             size_t cap)
{
    const struct ac_fold_event *fe = &f->events[au->event];
    const struct ac_fold_alert *a = &f->alerts[au->alert];
    enum ac_level wl;
    int64_t wid = wr_view_window(view, fe->ev->type, &wl);
    char wids[24], *s, *why, *tail = NULL, *owned = NULL;
    json_t *j;

    if (!wid || ac_level_raise(a->level, wl) == a->level) {
        return ac_xasprintf("{\"event_id\":\"%lld\",\"level\":\"%s\"}", (long long)fe->event_id,
                            ac_level_name(fe->ev->level));
    }
    for (size_t i = 0; i < *ntails && !tail; i++) {
        tail = strcmp(tails[i].type, fe->ev->type) == 0 ? tails[i].tail : NULL;
    }
    if (!tail) {
        (void)snprintf(wids, sizeof(wids), "%lld", (long long)wid);
        why = ac_xasprintf("opened while the %s window is at %s", fe->ev->type, ac_level_name(wl));
        j = json_pack("{s:s, s:s, s:s}", "level", ac_level_name(wl), "window_id", wids,
                      "escalation", why);
        s = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        free(why);
        tail = ac_xasprintf(",%s", s + 1); /* without its '{' */
        free(s);
        if (*ntails < cap) {
            tails[(*ntails)++] = (struct wr_open_tail){fe->ev->type, tail};
        }
        else {
            owned = tail;
        }
    }
    s = ac_xasprintf("{\"event_id\":\"%lld\",\"requested_level\":\"%s\"%s", (long long)fe->event_id,
                     ac_level_name(fe->ev->level), tail);
    free(owned);
    return s;
}

static void wr_build_audit(const struct ac_fold *f, const struct wr_view *view, struct wr_params *p)
{
    static const char *const actions[] = {
        [AC_FOLD_OPEN] = "alert.open",
        [AC_FOLD_RESOLVE] = "alert.resolve",
        [AC_FOLD_ROLLOVER] = "alert.rollover",
    };

    struct wr_open_tail tails[16];
    size_t ntails = 0;

    wr_params_init(p, 4);
    for (size_t i = 0; i < f->naudits; i++) {
        const struct ac_fold_audit *au = &f->audits[i];
        const struct ac_fold_event *fe = &f->events[au->event];
        char *actor = ac_xasprintf("source:%s", fe->ev->source);
        char *details;

        switch (au->action) {
            case AC_FOLD_OPEN:
                details = wr_open_details(f, au, view, tails, &ntails, 16);
                break;
            case AC_FOLD_RESOLVE:
                details = ac_xasprintf("{\"event_id\":\"%lld\"}", (long long)fe->event_id);
                break;
            default:
                details = ac_xasprintf("{\"reason\":\"open longer than the compression window "
                                       "of its type\",\"compression_window_s\":%lld}",
                                       (long long)(fe->ev->compress_window / 1000000));
                break;
        }
        ac_pg_array_add(&p->a[0], actor);
        ac_pg_array_add(&p->a[1], actions[au->action]);
        ac_pg_array_add_i64(&p->a[2], f->alerts[au->alert].id, false);
        ac_pg_array_add(&p->a[3], details);
        free(actor);
        free(details);
    }
    for (size_t i = 0; i < ntails; i++) {
        free(tails[i].tail);
    }
    wr_params_finish(p);
}

/* --- escalation windows: the members the group brings (members.h) ------ */

/* The Redis connection (below). */
static bool wr_redis(struct ac_writer *w);
static void wr_redis_drop(struct ac_writer *w, const char *why);
static bool wr_redis_replies(struct ac_writer *w, size_t n,
                             void (*fn)(void *ctx, size_t i, const redisReply *r), void *ctx);

/* A distinct (window, kind, value) of the group's new firing events. */
struct wr_member {
    const char *value; /* borrowed from the event */
    char kind;         /* 'a' (app) or 'u' (GC6/GC7 user) */
    int64_t key;       /* ac_member_key(kind, value) */
    size_t event;      /* the group's first event with it */
    size_t win;        /* index into wr_members.wins */
    bool present;      /* in the window's set, as checked */
    bool added;        /* new to its window */
};

/* The window of a type with new firing events in the group. */
struct wr_mwin {
    const char *type; /* borrowed from the event */
    int64_t id;       /* the open window, 0 if the group opens it (before the
                         locks: the one this writer last counted into) */
    int64_t first;
    long long apps_db, users_db;   /* its stored counts */
    long long apps_set, users_set; /* the sizes of its sets, as checked */
    size_t first_event;            /* the group's first firing event of the type */
    size_t nmem;                   /* members asked about */
    bool memory;                   /* (round trip 0) the writer's memory was exact at its
                                      last count: the sets are not asked */
    bool checked;                  /* the sets answered */
    bool decided;                  /* the members' added flags are final */
    long apps, users;              /* new members */
};

struct wr_members {
    struct wr_member *m;
    size_t n;
    struct wr_mwin *wins;
    size_t nwins;
    struct ac_strmap win_idx; /* type -> index into wins */
    struct ac_strmap mem_idx; /* (window index, member key) -> index into m, or -1 */
    int64_t (*mkeys)[2];      /* mem_idx's keys */
    size_t nmkeys;
    int64_t *ekeys; /* per event: its app's and its user's key (0: none) */
};

static void wr_members_deinit(struct wr_members *ms)
{
    free(ms->m);
    free(ms->wins);
    free(ms->mkeys);
    free(ms->ekeys);
    ac_strmap_deinit(&ms->win_idx);
    ac_strmap_deinit(&ms->mem_idx);
}

static struct wr_mwin *wr_members_win(struct ac_writer *w, struct wr_members *ms,
                                      const struct wr_view *view, const char *type, size_t event)
{
    bool added;
    int64_t *slot = ac_strmap_upsert(&ms->win_idx, type, strlen(type), (int64_t)ms->nwins, &added);
    struct wr_mwin *mw;
    enum ac_level wl;

    if (!added) {
        return &ms->wins[*slot];
    }
    mw = &ms->wins[ms->nwins++];
    mw->type = type;
    mw->first_event = event;
    if (view) {
        mw->id = wr_view_window(view, type, &wl);
        wr_view_members(view, type, &mw->first, &mw->apps_db, &mw->users_db);
    }
    else {
        struct wr_known *k = wr_known_of(w, type);
        mw->id = k->window_id;
        mw->memory = k->complete;
    }
    return mw;
}

static struct wr_member *wr_members_find(const struct wr_members *ms, size_t win, int64_t key)
{
    int64_t sk[2] = {(int64_t)win, key};
    int64_t *slot = ac_strmap_get(&ms->mem_idx, (const char *)sk, sizeof(sk));

    return slot && *slot >= 0 ? &ms->m[*slot] : NULL;
}

/*
 * The group's members not known to be in their windows already - those of a
 * window the group opens are all new. With view (under the locks, after the
 * fold) of the open windows; without (round trip 0), of the windows this
 * writer last counted into, for every firing event not repeating another
 * of the group. The members' keys are hashed once, in round trip 0 (ekeys:
 * two per event, 0 for none), and reused under the locks.
 */
static void wr_members_collect(struct ac_writer *w, const struct ac_fold *f,
                               const struct wr_view *view, struct wr_members *ms,
                               const int64_t *ekeys)
{
    bool added;

    memset(ms, 0, sizeof(*ms));
    ms->m = ac_xcalloc(2 * f->nevents + 1, sizeof(*ms->m));
    ms->wins = ac_xcalloc(f->nevents + 1, sizeof(*ms->wins));
    ms->mkeys = ac_xcalloc(2 * f->nevents + 1, sizeof(*ms->mkeys));
    ms->ekeys = ac_xcalloc(2 * f->nevents + 1, sizeof(*ms->ekeys));
    ac_strmap_init(&ms->win_idx, 16);
    ac_strmap_init(&ms->mem_idx, f->nevents + 1);
    for (size_t i = 0; i < f->nevents; i++) {
        const struct ac_event *ev = f->events[i].ev;
        const char *val[2] = {ev->app_id, ac_esc_counts_user(ev->gc_level) ? ev->user_id : NULL};
        struct wr_mwin *mw;

        if ((view && f->events[i].alert < 0) || !ac_fold_is_new_event(f, i) ||
            ev->status != AC_STATUS_FIRING) {
            continue;
        }
        mw = wr_members_win(w, ms, view, ev->type, i);
        for (int k = 0; k < 2; k++) {
            struct wr_member *m = &ms->m[ms->n];
            int64_t *sk = ms->mkeys[ms->nmkeys], *slot;
            if (!val[k]) {
                continue;
            }
            sk[0] = (int64_t)(mw - ms->wins);
            sk[1] = ekeys && ekeys[2 * i + (size_t)k]
                        ? ekeys[2 * i + (size_t)k]
                        : ac_lockkey_member(k == 0 ? 'a' : 'u', val[k]);
            ms->ekeys[2 * i + (size_t)k] = sk[1];
            slot =
                ac_strmap_upsert(&ms->mem_idx, (const char *)sk, 2 * sizeof(int64_t), -1, &added);
            if (!added) {
                continue;
            }
            ms->nmkeys++;
            if (mw->id && wr_known_has(wr_known_of(w, ev->type), mw->id, sk[1])) {
                continue; /* counted into this window before: nothing to ask */
            }
            *slot = (int64_t)ms->n;
            m->value = val[k];
            m->kind = k == 0 ? 'a' : 'u';
            m->key = sk[1];
            m->event = i;
            m->win = (size_t)sk[0];
            m->added = mw->id == 0;
            mw->nmem++;
            ms->n++;
        }
    }
}

static struct ac_esc_set wr_esc_set(const struct ac_writer *w, int64_t window_id)
{
    return (struct ac_esc_set){w->prefix, w->keygen, window_id};
}

/* The members of window win: kinds and keys (NULL: not wanted); n of them. */
static size_t wr_members_of(const struct wr_members *ms, size_t win, bool added_only, char *kinds,
                            int64_t *keys)
{
    size_t n = 0;

    for (size_t k = 0; k < ms->n; k++) {
        if (ms->m[k].win == win && (!added_only || ms->m[k].added)) {
            kinds[n] = ms->m[k].kind;
            if (keys) {
                keys[n] = ms->m[k].key;
            }
            n++;
        }
    }
    return n;
}

/* The replies to the checks of some windows, one MULTI/EXEC: the windows
 * (indexes into ms->wins) and where each one's replies start in EXEC's. */
struct wr_check_replies {
    struct wr_members *ms;
    size_t *win, *off;
    size_t nwin;
    size_t ncmds; /* inside the MULTI */
    bool bad;
};

static void wr_checks_deinit(struct wr_check_replies *c)
{
    free(c->win);
    free(c->off);
}

/* Appends, in one MULTI/EXEC, a check of every window with members to ask
 * about that is not decided. Returns how many replies (0: nothing sent). */
static size_t wr_members_append_checks(struct ac_writer *w, struct wr_members *ms,
                                       struct wr_check_replies *c)
{
    char *kinds = ac_xcalloc(ms->n + 1, 1);
    int64_t *keys = ac_xcalloc(ms->n + 1, sizeof(int64_t));

    *c = (struct wr_check_replies){ms,
                                   ac_xcalloc(ms->nwins + 1, sizeof(size_t)),
                                   ac_xcalloc(ms->nwins + 1, sizeof(size_t)),
                                   0,
                                   0,
                                   false};
    for (size_t i = 0; i < ms->nwins; i++) {
        struct ac_esc_set set = wr_esc_set(w, ms->wins[i].id);
        size_t n;
        if (!ms->wins[i].id || !ms->wins[i].nmem || ms->wins[i].decided || ms->wins[i].memory) {
            continue;
        }
        if (c->nwin == 0) {
            (void)redisAppendCommand(w->rl.c, "MULTI");
        }
        n = wr_members_of(ms, i, false, kinds, keys);
        c->win[c->nwin] = i;
        c->off[c->nwin++] = c->ncmds;
        c->ncmds += ac_esc_members_append_check(w->rl.c, &set, kinds, keys, n);
        __atomic_add_fetch(&w->n_checked, (unsigned long long)n, __ATOMIC_RELAXED);
    }
    if (c->nwin > 0) {
        (void)redisAppendCommand(w->rl.c, "EXEC");
    }
    free(kinds);
    free(keys);
    return c->nwin > 0 ? c->ncmds + 2 : 0;
}

/* The replies r[0..nr) to the check of window win of ms. Returns false for
 * bad replies. */
static bool wr_members_checked(struct wr_members *ms, size_t win, redisReply *const *r, size_t nr)
{
    struct wr_mwin *mw = &ms->wins[win];
    char *kinds = ac_xcalloc(mw->nmem + 1, 1);
    bool *present = ac_xcalloc(mw->nmem + 1, sizeof(bool));
    size_t n = wr_members_of(ms, win, false, kinds, NULL);
    bool ok = n == mw->nmem && ac_esc_members_parse_check(r, nr, kinds, n, &mw->apps_set,
                                                          &mw->users_set, present) == AC_OK;

    for (size_t k = 0, j = 0; ok && k < ms->n; k++) {
        if (ms->m[k].win == win) {
            ms->m[k].present = present[j++];
        }
    }
    mw->checked = ok;
    free(kinds);
    free(present);
    return ok;
}

/* Reply i of a MULTI/EXEC of checks: OK, QUEUED..., then EXEC's array. */
static void wr_check_reply(void *ctx, size_t i, const redisReply *r)
{
    struct wr_check_replies *c = ctx;

    if (i <= c->ncmds) {
        c->bad |= r->type != REDIS_REPLY_STATUS;
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != c->ncmds) {
        c->bad = true;
        return;
    }
    for (size_t k = 0; k < c->nwin; k++) {
        size_t end = k + 1 < c->nwin ? c->off[k + 1] : c->ncmds;
        c->bad |= !wr_members_checked(c->ms, c->win[k], r->element + c->off[k], end - c->off[k]);
    }
}

/* Decides window mw's members from a check whose sizes equal the stored
 * counts: the set is then exactly the window's members. */
static void wr_members_decide_from(struct wr_members *ms, struct wr_mwin *mw,
                                   const struct wr_members *from, const struct wr_mwin *fw)
{
    size_t win = (size_t)(mw - ms->wins), fwin = (size_t)(fw - from->wins);

    if (!fw->checked || fw->id != mw->id || fw->apps_set != mw->apps_db ||
        fw->users_set != mw->users_db) {
        return;
    }
    for (size_t k = 0; k < ms->n; k++) {
        const struct wr_member *fm =
            ms->m[k].win == win ? wr_members_find(from, fwin, ms->m[k].key) : NULL;
        if (ms->m[k].win == win && (!fm || fm->kind != ms->m[k].kind)) {
            return; /* not asked then */
        }
    }
    for (size_t k = 0; k < ms->n; k++) {
        if (ms->m[k].win == win) {
            ms->m[k].added = !wr_members_find(from, fwin, ms->m[k].key)->present;
        }
    }
    mw->decided = true;
}

/*
 * Under the types' locks: which members are new to their windows. A window
 * is decided by the writer's memory if it holds as many apps and users as
 * the stored counts (then the group's members, none of which it holds, are
 * all new); else by the check of round trip 0 (pre) if the sets' sizes
 * equal the stored counts; else by a check now (another instance's adds
 * may have been on their way); the rest are left to PostgreSQL
 * (wr_members_probe), and their sets to the escalation timer, which fills
 * in a set behind its count from PostgreSQL.
 */
static void wr_members_decide(struct ac_writer *w, struct wr_members *ms,
                              const struct wr_members *pre)
{
    struct wr_check_replies c = {0};
    size_t n;

    for (size_t i = 0; i < ms->nwins; i++) {
        struct wr_mwin *mw = &ms->wins[i];
        struct wr_known *k = wr_known_of(w, mw->type);
        int64_t *slot = ac_strmap_get(&pre->win_idx, mw->type, strlen(mw->type));
        mw->decided = !mw->id || !mw->nmem;
        if (!mw->decided && wr_known_exact(k, mw->id, mw->apps_db, mw->users_db)) {
            for (size_t j = 0; j < ms->n; j++) {
                ms->m[j].added |= ms->m[j].win == i;
            }
            mw->decided = true;
        }
        else if (!mw->decided) {
            k->complete = false; /* counted by another instance: ask the sets next time */
        }
        if (!mw->decided && slot) {
            wr_members_decide_from(ms, mw, pre, &pre->wins[*slot]);
        }
    }
    if (!ms->n || !wr_redis(w) || !w->cache_checked) {
        return;
    }
    n = wr_members_append_checks(w, ms, &c);
    if (n > 0) {
        if (wr_redis_replies(w, n, wr_check_reply, &c) && c.bad) {
            wr_redis_drop(w, "unexpected reply to the escalation members");
        }
        for (size_t k = 0; !c.bad && k < c.nwin; k++) {
            struct wr_mwin *mw = &ms->wins[c.win[k]];
            wr_members_decide_from(ms, mw, ms, mw);
        }
    }
    wr_checks_deinit(&c);
}

/* The members no set could answer for, from PostgreSQL. Returns false if
 * PostgreSQL failed (r says how). */
static bool wr_members_probe(struct ac_writer *w, struct wr_reader *r, struct wr_members *ms)
{
    struct wr_params p;
    size_t *ord = ac_xcalloc(ms->n + 1, sizeof(size_t)), n = 0;
    PGresult *res = NULL;
    bool ok = true;

    wr_params_init(&p, 6);
    for (size_t i = 0; i < ms->n; i++) {
        const struct wr_mwin *mw = &ms->wins[ms->m[i].win];
        char kind[2] = {ms->m[i].kind, 0};
        if (mw->decided) {
            continue;
        }
        ac_pg_array_add(&p.a[0], mw->type);
        ac_pg_array_add(&p.a[1], kind);
        ac_pg_array_add(&p.a[2], ms->m[i].value);
        ac_pg_array_add_i64(&p.a[3], mw->first, false);
        ac_pg_array_add_i64(&p.a[4], wr_known_of(w, mw->type)->type_key, false);
        ac_pg_array_add_i64(&p.a[5], ms->m[i].key, false);
        ms->m[i].added = true;
        ord[n++] = i;
    }
    wr_params_finish(&p);
    if (n > 0) {
        ok = wr_send(w->conn, "ac_esc_probe", &p) && wr_flush(w->conn) && wr_take(r, &res);
        __atomic_add_fetch(&w->n_probed, (unsigned long long)n, __ATOMIC_RELAXED);
    }
    for (int t = 0; res && t < PQntuples(res); t++) {
        long o = strtol(PQgetvalue(res, t, 0), NULL, 10);
        if (o >= 1 && (size_t)o <= n) {
            ms->m[ord[o - 1]].added = false;
        }
    }
    PQclear(res);
    wr_params_deinit(&p);
    free(ord);
    return ok;
}

/* Every event that brings a member, and the first firing event of a window
 * the group opens, become rows: what a set is rebuilt from. */
static void wr_members_apply(struct ac_fold *f, struct wr_members *ms)
{
    for (size_t i = 0; i < ms->n; i++) {
        struct wr_mwin *mw = &ms->wins[ms->m[i].win];
        if (!ms->m[i].added) {
            continue;
        }
        ac_fold_keep(f, ms->m[i].event);
        if (ms->m[i].kind == 'a') {
            mw->apps++;
        }
        else {
            mw->users++;
        }
    }
    for (size_t i = 0; i < ms->nwins; i++) {
        if (!ms->wins[i].id) {
            ac_fold_keep(f, ms->wins[i].first_event);
        }
    }
}

/* The group's inputs to the escalation windows: per type with a new event
 * (type, trace, firing events, net change of open alerts, window id, new
 * apps and GC6/GC7 users, first event id of a window it opens); the types
 * whose policy has an increment condition; and (close) the types where an
 * alert was resolved. */
struct wr_esc {
    struct wr_params count;
    struct wr_params close;
    struct wr_params events; /* the events-only count: types, events, alerts opened */
    size_t ntypes, nclose, nevtypes;
    bool full; /* the count upsert (else the events-only count) */
};

struct wr_esc_type {
    const struct ac_event *ev; /* the first of the type */
    long n;                    /* firing events */
    long delta;                /* alerts opened minus alerts resolved */
    bool resolved;             /* an alert of the type was resolved */
};

static int wr_cmp_esc_type(const void *a, const void *b)
{
    return strcmp(((const struct wr_esc_type *)a)->ev->type,
                  ((const struct wr_esc_type *)b)->ev->type);
}

static void wr_build_esc(struct ac_writer *w, const struct ac_fold *f, const struct wr_view *view,
                         const struct wr_members *ms, struct wr_esc *e)
{
    struct ac_strmap types;
    struct wr_esc_type *t = ac_xcalloc(f->nevents + 1, sizeof(*t));
    bool added;

    memset(e, 0, sizeof(*e));
    wr_params_init(&e->count, 9);
    wr_params_init(&e->close, 1);
    wr_params_init(&e->events, 3);
    ac_strmap_init(&types, 16);
    for (size_t i = 0; i < f->nevents; i++) {
        const struct ac_event *ev = f->events[i].ev;
        int64_t *slot;

        if (f->events[i].alert < 0 || !ac_fold_is_new_event(f, i)) {
            continue;
        }
        slot = ac_strmap_upsert(&types, ev->type, strlen(ev->type), (int64_t)e->ntypes, &added);
        if (added) {
            t[e->ntypes++].ev = ev;
        }
        if (ev->status == AC_STATUS_FIRING) {
            t[*slot].n++;
        }
    }
    for (size_t i = 0; i < f->nalerts; i++) {
        const struct ac_fold_alert *a = &f->alerts[i];
        const char *type = f->events[a->opener].ev->type;
        int64_t *slot = ac_strmap_get(&types, type, strlen(type));
        if (!slot) {
            continue;
        }
        t[*slot].resolved |= a->resolved;
        if (a->is_new != a->resolved) { /* else unchanged, or opened and resolved here */
            t[*slot].delta += a->is_new ? 1 : -1;
        }
    }
    qsort(t, e->ntypes, sizeof(*t), wr_cmp_esc_type);
    for (size_t k = 0; k < e->ntypes; k++) {
        const struct ac_event *ev = t[k].ev;
        int64_t *slot = ac_strmap_get(&ms->win_idx, ev->type, strlen(ev->type));
        const struct wr_mwin *mw = slot ? &ms->wins[*slot] : NULL;
        bool inc = ac_esc_needs_increment(ac_esc_policy_for(w->esc, ev->type, ev->trace));
        enum ac_level wl;
        int64_t wid = wr_view_window(view, ev->type, &wl);
        char num[24];
        if (t[k].delta < 0 || t[k].resolved || (t[k].n > 0 && !wid) || inc ||
            (mw && (mw->apps || mw->users))) {
            e->full = true; /* a window opens or closes, or a decision may change */
        }
        if (t[k].n > 0 || t[k].delta != 0) {
            (void)snprintf(num, sizeof(num), "%ld", t[k].n);
            ac_pg_array_add(&e->events.a[0], ev->type);
            ac_pg_array_add(&e->events.a[1], num);
            (void)snprintf(num, sizeof(num), "%ld", t[k].delta);
            ac_pg_array_add(&e->events.a[2], num);
            e->nevtypes++;
        }
        (void)snprintf(num, sizeof(num), "%ld", t[k].n);
        ac_pg_array_add(&e->count.a[0], ev->type);
        ac_pg_array_add(&e->count.a[1], ac_trace_name(ev->trace));
        ac_pg_array_add(&e->count.a[2], num);
        (void)snprintf(num, sizeof(num), "%ld", t[k].delta);
        ac_pg_array_add(&e->count.a[3], num);
        ac_pg_array_add_i64(&e->count.a[4], wid, true);
        ac_pg_array_add_i64(&e->count.a[5], mw ? mw->apps : 0, false);
        ac_pg_array_add_i64(&e->count.a[6], mw ? mw->users : 0, false);
        /* a window the group opens starts at its first firing event (kept) */
        ac_pg_array_add_i64(&e->count.a[7], mw && !wid ? f->events[mw->first_event].event_id : 0,
                            false);
        if (inc) {
            ac_pg_array_add(&e->count.a[8], ev->type);
        }
        if (t[k].resolved && t[k].delta <= 0) { /* may be left without an open alert */
            ac_pg_array_add(&e->close.a[0], ev->type);
            e->nclose++;
        }
    }
    wr_params_finish(&e->count);
    wr_params_finish(&e->close);
    wr_params_finish(&e->events);
    ac_strmap_deinit(&types);
    free(t);
}

static void wr_esc_deinit(struct wr_esc *e)
{
    wr_params_deinit(&e->count);
    wr_params_deinit(&e->close);
    wr_params_deinit(&e->events);
}

/* After COMMIT: the id of mw's window (the one the group opened, if it had
 * none; 0 if none was opened) and whether the group closed it. */
static int64_t wr_mwin_after(const struct wr_mwin *mw, const struct ac_esc_win *wins, size_t nwins,
                             bool *closed)
{
    int64_t id = mw->id;

    *closed = false;
    for (size_t k = 0; k < nwins; k++) {
        if (strcmp(wins[k].type, mw->type) == 0 && (!id || wins[k].id == id)) {
            id = wins[k].id;
            *closed = wins[k].closed;
        }
    }
    return id;
}

/* After COMMIT: the group's members are in their windows now. */
static void wr_esc_remember(struct ac_writer *w, const struct wr_members *ms,
                            const struct ac_esc_win *wins, size_t nwins)
{
    for (size_t i = 0; i < ms->n; i++) {
        const struct wr_mwin *mw = &ms->wins[ms->m[i].win];
        bool closed;
        int64_t id = wr_mwin_after(mw, wins, nwins, &closed);
        if (id && !closed) {
            wr_known_add(w, wr_known_of(w, mw->type), id, ms->m[i].kind, ms->m[i].key);
        }
    }
    for (size_t i = 0; i < nwins; i++) { /* the figures as counted, under the lock */
        struct wr_known *k = wr_known_of(w, wins[i].type);
        if (k->window_id == wins[i].id) {
            k->complete = !wins[i].closed &&
                          wr_known_exact(k, wins[i].id, wins[i].fig.apps, wins[i].fig.gc_users);
        }
    }
}

/* The distinct types of the group, for the read of their windows. */
static void wr_build_types(const struct ac_fold *f, struct wr_params *p)
{
    struct ac_strmap seen;
    bool added;

    wr_params_init(p, 1);
    ac_strmap_init(&seen, 16);
    for (size_t i = 0; i < f->nevents; i++) {
        const char *t = f->events[i].ev->type;
        (void)ac_strmap_upsert(&seen, t, strlen(t), 0, &added);
        if (added) {
            ac_pg_array_add(&p->a[0], t);
        }
    }
    ac_strmap_deinit(&seen);
    wr_params_finish(p);
}

/* Every newly accepted idempotency key, stored or folded. Returns the count. */
static size_t wr_build_keys(const struct ac_fold *f, struct wr_params *p)
{
    size_t n = 0;

    wr_params_init(p, 4);
    for (size_t i = 0; i < f->nevents; i++) {
        const struct ac_fold_event *fe = &f->events[i];
        int64_t eid, aid;
        bool dup, folded;

        if (!fe->ev->id || !ac_fold_is_new_event(f, i)) {
            continue;
        }
        ac_fold_result(f, i, &eid, &aid, &dup, &folded);
        ac_pg_array_add(&p->a[0], fe->ev->source);
        ac_pg_array_add(&p->a[1], fe->ev->id);
        ac_pg_array_add_i64(&p->a[2], eid, true);
        ac_pg_array_add_i64(&p->a[3], aid, true);
        n++;
    }
    wr_params_finish(p);
    return n;
}

/* Applies the stored idempotency keys and open alerts of round trip 1. */
static void wr_apply_lookups(struct ac_fold *f, PGresult *stored, PGresult *open)
{
    for (int i = 0; stored && i < PQntuples(stored); i++) {
        ac_fold_set_stored(f, PQgetvalue(stored, i, 0), PQgetvalue(stored, i, 1),
                           strtoll(PQgetvalue(stored, i, 2), NULL, 10),
                           PQgetisnull(stored, i, 3) ? 0
                                                     : strtoll(PQgetvalue(stored, i, 3), NULL, 10));
    }
    for (int i = 0; open && i < PQntuples(open); i++) {
        ac_fold_set_open(f, PQgetvalue(open, i, 0), strtoll(PQgetvalue(open, i, 1), NULL, 10),
                         strtoll(PQgetvalue(open, i, 2), NULL, 10));
    }
}

/* Hands out the reserved ids. Returns false if the database gave too few. */
static bool wr_assign_ids(struct ac_fold *f, PGresult *ids, size_t nev, size_t nal)
{
    int64_t *ev_ids = ac_xcalloc(nev + 1, sizeof(int64_t));
    int64_t *al_ids = ac_xcalloc(nal + 1, sizeof(int64_t));
    bool ok = wr_parse_ids(PQgetvalue(ids, 0, 0), ev_ids, nev) == nev &&
              wr_parse_ids(PQgetvalue(ids, 0, 1), al_ids, nal) == nal;
    size_t k = 0;

    for (size_t i = 0; ok && i < f->nevents; i++) {
        if (ac_fold_is_stored(f, i)) {
            f->events[i].event_id = ev_ids[k++];
        }
    }
    k = 0;
    for (size_t i = 0; ok && i < f->nalerts; i++) {
        if (f->alerts[i].is_new) {
            f->alerts[i].id = al_ids[k++];
        }
    }
    free(ev_ids);
    free(al_ids);
    return ok;
}

/* --- the Redis cache of open alerts and seen keys -------------------------- */

/* Forgets the connection; the writer goes on with PostgreSQL alone. */
static void wr_redis_drop(struct ac_writer *w, const char *why)
{
    if (w->rl.c) {
        ac_log(AC_LOG_WARN, "writer", "redis: %s; continuing on PostgreSQL alone", why);
    }
    ac_redis_lazy_drop(&w->rl, WR_REDIS_RETRY_US);
    w->redis_unread = 0;
    w->cache_checked = false;
}

static bool wr_redis(struct ac_writer *w)
{
    bool fresh;

    if (!w->has_redis || !ac_redis_lazy_get(&w->rl, &w->redis, WR_REDIS_TIMEOUT_MS,
                                            WR_REDIS_RETRY_US, ac_esc_mirror_prepare, &fresh)) {
        return false;
    }
    if (fresh) {
        ac_log(AC_LOG_INFO, "writer", "redis connected: open alerts and keys are cached");
        w->cache_checked = false;
    }
    return true;
}

/* Reads n pipelined replies, handing each to fn (which may be NULL). */
/* Writes the appended commands, leaving their n replies unread. */
static void wr_redis_send(struct ac_writer *w, size_t n)
{
    int done = 0;

    while (!done) {
        if (redisBufferWrite(w->rl.c, &done) != REDIS_OK) {
            wr_redis_drop(w, w->rl.c->errstr[0] ? w->rl.c->errstr : "write failed");
            return;
        }
    }
    w->redis_unread += n;
}

static bool wr_redis_replies(struct ac_writer *w, size_t n,
                             void (*fn)(void *ctx, size_t i, const redisReply *r), void *ctx)
{
    /* first the replies to the last cache update, which come before */
    for (; w->redis_unread > 0; w->redis_unread--) {
        redisReply *r = NULL;
        if (redisGetReply(w->rl.c, (void **)&r) != REDIS_OK || !r) {
            wr_redis_drop(w, w->rl.c->errstr[0] ? w->rl.c->errstr : "no reply");
            return false;
        }
        freeReplyObject(r);
    }
    for (size_t i = 0; i < n; i++) {
        redisReply *r = NULL;
        if (redisGetReply(w->rl.c, (void **)&r) != REDIS_OK || !r) {
            wr_redis_drop(w, w->rl.c->errstr[0] ? w->rl.c->errstr : "no reply");
            return false;
        }
        if (fn) {
            fn(ctx, i, r);
        }
        freeReplyObject(r);
    }
    return true;
}

struct wr_lookup {
    struct ac_fold *f;
    bool *fp_hit;  /* per fingerprint */
    bool *key_hit; /* per event */
    size_t nfp;
    size_t *key_event; /* reply index - nfp -> event index */
    size_t nkeys;
    struct wr_check_replies checks; /* the replies after the keys' */
};

static void wr_lookup_reply(void *ctx, size_t i, const redisReply *r)
{
    struct wr_lookup *l = ctx;
    long long a = 0, b = 0;

    if (i >= l->nfp + l->nkeys) {
        wr_check_reply(&l->checks, i - l->nfp - l->nkeys, r);
        return;
    }
    if (r->type != REDIS_REPLY_STRING || sscanf(r->str, "%lld:%lld", &a, &b) != 2) {
        return;
    }
    if (i < l->nfp) {
        ac_fold_set_open(l->f, ac_fold_fingerprint(l->f, i), a, b);
        l->fp_hit[i] = true;
    }
    else {
        size_t e = l->key_event[i - l->nfp];
        const struct ac_event *ev = l->f->events[e].ev;
        ac_fold_set_stored(l->f, ev->source, ev->id, a, b);
        l->key_hit[e] = true;
    }
}

/*
 * Before the first lookup after a (re)connection to Redis or PostgreSQL:
 * whether PostgreSQL is behind the cache - restored from a backup, or a new
 * database under an old prefix. The cache records the highest event id it
 * has named (<prefix>hw, read first); if that is above what the events
 * sequence has ever given, the keys it holds may name events PostgreSQL
 * does not have, and trusting them would answer new events as duplicates.
 * Then the key generation moves (every instance reads it at its own next
 * check; a restore reconnects them all), which orphans the old keys until
 * their TTL. Open alerts need no such care: they are verified under locks.
 */
static void wr_cache_check(struct ac_writer *w)
{
    redisReply *hw = NULL, *gen = NULL;
    PGresult *res;
    long long cached = 0, seq = -1;

    if (w->cache_checked || !w->conn || !wr_redis(w) || !wr_redis_replies(w, 0, NULL, NULL)) {
        return;
    }
    hw = redisCommand(w->rl.c, "GET %shw", w->prefix);
    if (hw && hw->type == REDIS_REPLY_STRING) {
        cached = atoll(hw->str);
    }
    if (PQexitPipelineMode(w->conn) != 1) {
        goto out;
    }
    res =
        PQexecParams(w->conn, "SELECT last_value FROM events_id_seq", 0, NULL, NULL, NULL, NULL, 0);
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        seq = atoll(PQgetvalue(res, 0, 0));
    }
    PQclear(res);
    if (PQenterPipelineMode(w->conn) != 1) {
        wr_disconnect(w);
        goto out;
    }
    if (seq < 0 || !hw || hw->type == REDIS_REPLY_ERROR) {
        goto out;
    }
    if (cached > seq) {
        gen = redisCommand(w->rl.c, "INCR %skeygen", w->prefix);
        freeReplyObject(redisCommand(w->rl.c, "SET %shw %lld", w->prefix, seq));
        ac_log(AC_LOG_WARN, "writer",
               "the cache names event %lld but PostgreSQL has given ids up to %lld only"
               " (restored?): cached idempotency keys are dropped",
               cached, seq);
    }
    else {
        gen = redisCommand(w->rl.c, "GET %skeygen", w->prefix);
    }
    if (!gen || (gen->type != REDIS_REPLY_STRING && gen->type != REDIS_REPLY_INTEGER &&
                 gen->type != REDIS_REPLY_NIL)) {
        wr_redis_drop(w, "cannot read the key generation");
        goto out;
    }
    w->keygen = gen->type == REDIS_REPLY_INTEGER  ? gen->integer
                : gen->type == REDIS_REPLY_STRING ? atoll(gen->str)
                                                  : 0;
    w->hw_sent = cached > seq ? seq : cached;
    w->cache_checked = true;
out:
    freeReplyObject(hw);
    freeReplyObject(gen);
}

/* One round trip: the cached open alert of every fingerprint, the cached
 * result of every new idempotency key of the group, and the check of its
 * members (pre) against the sets of the windows this writer last counted
 * into (decided under the locks, wr_members_decide). */
static void wr_cache_lookup(struct ac_writer *w, struct ac_fold *f, bool *fp_hit, bool *key_hit,
                            struct wr_members *pre)
{
    struct wr_lookup l = {f, fp_hit, key_hit, ac_fold_fingerprint_count(f), NULL, 0, {0}};
    size_t n = 0, nchecks;

    if (!wr_redis(w) || !w->cache_checked) {
        return;
    }
    l.key_event = ac_xcalloc(f->nevents + 1, sizeof(size_t));
    for (size_t i = 0; i < l.nfp; i++) {
        (void)redisAppendCommand(w->rl.c, "GET %sopen:%s", w->prefix, ac_fold_fingerprint(f, i));
    }
    for (size_t i = 0; i < f->nevents; i++) {
        const struct ac_event *ev = f->events[i].ev;
        if (ev->id && f->events[i].dup_of < 0) {
            (void)redisAppendCommand(w->rl.c, "GET %skey:%lld:%s\x1f%s", w->prefix, w->keygen,
                                     ev->source, ev->id);
            l.key_event[n++] = i;
        }
    }
    l.nkeys = n;
    nchecks = wr_members_append_checks(w, pre, &l.checks);
    if (wr_redis_replies(w, l.nfp + n + nchecks, wr_lookup_reply, &l) && l.checks.bad) {
        wr_redis_drop(w, "unexpected reply to the escalation members");
    }
    wr_checks_deinit(&l.checks);
    free(l.key_event);
}

/* After COMMIT, in the cache update: the group's new members go into their
 * windows' sets (members.h), a closed window's sets go. Returns how many
 * commands. */
static size_t wr_members_commit(struct ac_writer *w, const struct wr_members *ms,
                                const struct ac_esc_win *wins, size_t nwins)
{
    char *kinds = ac_xcalloc(ms->n + 1, 1);
    int64_t *keys = ac_xcalloc(ms->n + 1, sizeof(int64_t));
    size_t cmds = 0;

    for (size_t k = 0; k < nwins; k++) {
        struct ac_esc_set set = wr_esc_set(w, wins[k].id);
        if (wins[k].closed) {
            ac_esc_members_append_forget(w->rl.c, &set);
            cmds++;
        }
    }
    for (size_t i = 0; i < ms->nwins; i++) {
        bool closed;
        int64_t id = wr_mwin_after(&ms->wins[i], wins, nwins, &closed);
        struct ac_esc_set set = wr_esc_set(w, id);
        size_t n;
        n = id && !closed ? wr_members_of(ms, i, true, kinds, keys) : 0;
        cmds += n > 0 ? ac_esc_members_append_add(w->rl.c, &set, kinds, keys, n) : 0;
    }
    free(kinds);
    free(keys);
    return cmds;
}

/* After COMMIT: remember the alerts the group left open, forget those it
 * closed, and remember its keys - in one MULTI/EXEC, so another instance sees
 * all of a group's changes or none. A failure only leaves the cache behind;
 * whatever it then says is verified in the next transaction. The escalation
 * windows the group counted are mirrored with them: a closing one always,
 * the others at most every WR_MIRROR_US (the timer re-mirrors every window
 * each tick, and raises are mirrored where they are made). */
static void wr_cache_update(struct ac_writer *w, const struct ac_fold *f,
                            const struct wr_members *ms, const struct ac_esc_win *wins,
                            size_t nwins)
{
    size_t n = 0;
    int64_t now = ac_time_now_us();
    bool all = now >= w->mirror_next_us;
    int64_t hw = 0;

    if (!w->rl.c) {
        return;
    }
    (void)redisAppendCommand(w->rl.c, "MULTI");
    for (size_t i = 0; i < f->nalerts; i++) {
        const struct ac_fold_alert *a = &f->alerts[i];
        const char *fp = f->events[a->opener].ev->fingerprint;
        if (a->resolved) {
            (void)redisAppendCommand(w->rl.c, "DEL %sopen:%s", w->prefix, fp);
        }
        else {
            (void)redisAppendCommand(w->rl.c, "SET %sopen:%s %lld:%lld", w->prefix, fp,
                                     (long long)a->id, (long long)a->first_seen);
        }
        n++;
    }
    for (size_t i = 0; i < f->nevents; i++) {
        const struct ac_event *ev = f->events[i].ev;
        int64_t eid, aid;
        bool dup, folded;
        if (!ev->id || !ac_fold_is_new_event(f, i)) {
            continue;
        }
        ac_fold_result(f, i, &eid, &aid, &dup, &folded);
        (void)redisAppendCommand(w->rl.c, "SET %skey:%lld:%s\x1f%s %lld:%lld EX " WR_KEY_TTL_S,
                                 w->prefix, w->keygen, ev->source, ev->id, (long long)eid,
                                 (long long)aid);
        n++;
        if (eid > hw) {
            hw = eid;
        }
    }
    for (size_t i = 0; i < nwins; i++) {
        if (all || wins[i].closed) {
            ac_esc_mirror_append(w->rl.c, w->prefix, &wins[i]);
            n++;
        }
    }
    n += wr_members_commit(w, ms, wins, nwins);
    if (all && nwins > 0) {
        w->mirror_next_us = now + WR_MIRROR_US;
    }
    if (hw > w->hw_sent) { /* what wr_cache_check compares with PostgreSQL */
        (void)redisAppendCommand(w->rl.c, "SET %shw %lld", w->prefix, (long long)hw);
        w->hw_sent = hw;
        n++;
    }
    (void)redisAppendCommand(w->rl.c, "EXEC");
    /* Sent now, its replies (OK, n x QUEUED, the EXEC array) read before the
     * next command's: Redis answers in order, and nothing here depends on
     * them, so the group's requests are not kept waiting for them. */
    wr_redis_send(w, n + 2);
}

/* After a stale entry: forget the group's fingerprints. */
static void wr_cache_forget(struct ac_writer *w, const struct ac_fold *f)
{
    size_t n = ac_fold_fingerprint_count(f);

    if (!w->rl.c) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        (void)redisAppendCommand(w->rl.c, "DEL %sopen:%s", w->prefix, ac_fold_fingerprint(f, i));
    }
    (void)wr_redis_replies(w, n, NULL, NULL);
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
        if (after.id && w->rl.c) {
            ac_esc_mirror_append(w->rl.c, w->prefix, &after);
            (void)wr_redis_replies(w, 1, NULL, NULL);
        }
    }
    if (left_pipeline &&
        (PQstatus(w->conn) != CONNECTION_OK || PQenterPipelineMode(w->conn) != 1)) {
        wr_disconnect(w);
    }
}

static enum wr_outcome wr_txn(struct ac_writer *w, struct wr_job *first, size_t njobs,
                              bool use_cache)
{
    struct wr_reader r = {.conn = w->conn, .outcome = WR_OK};
    struct wr_params lock = {0}, stored = {0}, open = {0}, ids = {0};
    struct wr_params ins_alerts = {0}, upd_alerts = {0}, ins_events = {0}, ins_audit = {0};
    struct wr_params ins_keys = {0}, ins_intents = {0};
    struct wr_esc esc = {0};
    struct wr_members ms = {0}, pre = {0};
    struct wr_params types = {0};
    struct wr_view view = {0};
    PGresult *win_res = NULL;
    struct ac_esc_win *wins = NULL;
    size_t nkeys, nwins = 0, nintents = 0;
    bool nesc_count = false, nesc_events = false;
    PGresult *stored_res = NULL, *open_res = NULL, *ids_res = NULL, *esc_res = NULL;
    char *keys = wr_lock_keys(w, first, njobs);
    struct ac_fold f;
    struct wr_job *j = first;
    size_t nev = 0, nal = 0, total = 0, k, nstored_q, nopen_q;
    bool synced = false, commit_sent = false, early_ids;
    bool *fp_hit = NULL, *key_hit = NULL;
    int64_t now = ac_time_now_us();
    char n1[24], n2[24];
    enum wr_outcome outcome;

    for (k = 0; k < njobs; k++, j = j->next) {
        total += j->evs->n;
    }
    ac_fold_init(&f, total);
    j = first;
    for (k = 0; k < njobs; k++, j = j->next) {
        for (size_t i = 0; i < j->evs->n; i++) {
            ac_fold_add(&f, &j->evs->items[i]);
        }
    }

    if (use_cache) {
        wr_cache_check(w); /* before BEGIN: the connection is idle */
    }
    /* Round trip 1: BEGIN, locks, the windows, and from PostgreSQL what the
     * cache did not know. A small group also reserves its ids here, as many
     * as it has events (no more can be stored, nor open new alerts): that
     * saves round trip 2 for the cost of gaps in the ids. The part that does
     * not depend on the cache goes out first, so PostgreSQL takes the locks
     * while Redis answers round trip 0. */
    wr_params_init(&lock, 1);
    lock.v[0] = keys;
    early_ids = total <= WR_EARLY_IDS_MAX;
    wr_params_init(&ids, 2);
    (void)snprintf(n1, sizeof(n1), "%zu", total);
    ids.v[0] = ids.v[1] = n1;
    wr_build_types(&f, &types);
    wr_view_init(&view, NULL);
    if (!wr_send_text(w->conn, "BEGIN") || !wr_send(w->conn, "ac_lock", &lock) ||
        !wr_send(w->conn, "ac_esc_read", &types) ||
        (early_ids && !wr_send(w->conn, "ac_ids", &ids)) || !wr_flush(w->conn)) {
        goto lost;
    }

    /* Round trip 0 (Redis, when there): what the cache knows. */
    fp_hit = ac_xcalloc(ac_fold_fingerprint_count(&f) + 1, sizeof(bool));
    key_hit = ac_xcalloc(f.nevents + 1, sizeof(bool));
    wr_members_collect(w, &f, NULL, &pre, NULL);
    if (use_cache) {
        wr_cache_lookup(w, &f, fp_hit, key_hit, &pre);
    }
    nstored_q = wr_build_stored(&f, key_hit, &stored);
    nopen_q = wr_build_open(&f, fp_hit, &open);
    if ((nstored_q > 0 && !wr_send(w->conn, "ac_stored", &stored)) ||
        (nopen_q > 0 && !wr_send(w->conn, "ac_open", &open)) ||
        ((nstored_q > 0 || nopen_q > 0) && !wr_flush(w->conn))) {
        goto lost;
    }
    if (!wr_take(&r, NULL) || !wr_take(&r, NULL) || !wr_take(&r, &win_res) ||
        (early_ids && !wr_take(&r, &ids_res)) || (nstored_q > 0 && !wr_take(&r, &stored_res)) ||
        (nopen_q > 0 && !wr_take(&r, &open_res))) {
        goto lost;
    }
    if (r.failed) {
        goto failed;
    }
    wr_apply_lookups(&f, stored_res, open_res);
    ac_fold_run(&f);
    wr_view_deinit(&view);
    wr_view_init(&view, win_res);

    /* Escalation members (members.h), under the types' locks: which are new
     * to their windows. The events that bring them become rows. */
    wr_members_collect(w, &f, &view, &ms, pre.ekeys);
    wr_members_decide(w, &ms, &pre);
    if (!wr_members_probe(w, &r, &ms)) {
        if (r.failed && !r.lost) {
            goto failed;
        }
        goto lost;
    }
    if (r.failed) {
        goto failed;
    }
    wr_members_apply(&f, &ms);

    /* Round trip 2 (a large group): reserve ids. */
    for (size_t i = 0; i < f.nevents; i++) {
        nev += ac_fold_is_stored(&f, i);
    }
    for (size_t i = 0; i < f.nalerts; i++) {
        nal += f.alerts[i].is_new;
    }
    if (!early_ids && (nev > 0 || nal > 0)) {
        wr_params_init(&ids, 2);
        (void)snprintf(n1, sizeof(n1), "%zu", nev);
        (void)snprintf(n2, sizeof(n2), "%zu", nal);
        ids.v[0] = n1;
        ids.v[1] = n2;
        if (!wr_send(w->conn, "ac_ids", &ids) || !wr_flush(w->conn) || !wr_take(&r, &ids_res)) {
            goto lost;
        }
        if (r.failed) {
            goto failed;
        }
    }
    if ((nev > 0 || nal > 0) && !wr_assign_ids(&f, ids_res, nev, nal)) {
        r.failed = true;
        r.outcome = WR_DATA;
        goto failed;
    }

    /* Round trip 3: the writes and COMMIT. The escalation windows' count
     * (which reads no alert) goes out first, so PostgreSQL runs it while the
     * rest is built. */
    wr_build_esc(w, &f, &view, &ms, &esc);
    nesc_count = esc.ntypes > 0 && esc.full;
    nesc_events = !esc.full && esc.nevtypes > 0;
    if ((nesc_count && !wr_send(w->conn, "ac_esc_count", &esc.count)) ||
        (nesc_count && esc.nclose > 0 && !wr_send(w->conn, "ac_esc_close", &esc.close)) ||
        (nesc_events && !wr_send(w->conn, "ac_esc_events", &esc.events)) ||
        ((nesc_count || nesc_events) && !wr_flush(w->conn))) {
        goto lost;
    }
    wr_build_new_alerts(&f, &view, now, w->notify_levels, &ins_alerts, &ins_intents, &nintents);
    wr_build_upd_alerts(&f, now, &upd_alerts);
    wr_build_events(&f, &ins_events);
    wr_build_audit(&f, &view, &ins_audit);
    nkeys = wr_build_keys(&f, &ins_keys);
    /* Existing alerts first: a rollover closes one before its successor opens. */
    if ((f.nalerts > nal && !wr_send(w->conn, "ac_upd_alerts", &upd_alerts)) ||
        (nal > 0 && !wr_send(w->conn, "ac_ins_alerts", &ins_alerts)) ||
        (nintents > 0 && !wr_send(w->conn, "ac_ins_intents", &ins_intents)) ||
        (nkeys > 0 && !wr_send(w->conn, "ac_ins_keys", &ins_keys)) ||
        (nev > 0 && !wr_send(w->conn, "ac_ins_events", &ins_events)) ||
        (f.naudits > 0 && !wr_send(w->conn, "ac_ins_audit", &ins_audit)) ||
        !wr_send_text(w->conn, "COMMIT") || PQpipelineSync(w->conn) != 1) {
        goto lost;
    }
    synced = commit_sent = true;
    if ((nesc_count && !wr_take(&r, &esc_res)) ||
        (nesc_count && esc.nclose > 0 && !wr_take(&r, NULL)) ||
        (nesc_events && !wr_take(&r, NULL)) || (f.nalerts > nal && !wr_take(&r, NULL)) ||
        (nal > 0 && !wr_take(&r, NULL)) || (nintents > 0 && !wr_take(&r, NULL)) ||
        (nkeys > 0 && !wr_take(&r, NULL)) || (nev > 0 && !wr_take(&r, NULL)) ||
        (f.naudits > 0 && !wr_take(&r, NULL)) || !wr_take(&r, NULL) || !wr_take_sync(&r)) {
        goto lost;
    }
    if (r.failed) {
        goto failed;
    }
    if (esc_res) {
        wins = ac_xcalloc((size_t)PQntuples(esc_res) + 1, sizeof(*wins));
        for (int i = 0; i < PQntuples(esc_res); i++) {
            ac_esc_win_from_pg(esc_res, i, &wins[nwins++]);
        }
    }
    /* Committed: hand each job its results. */
    j = first;
    k = 0;
    for (size_t jn = 0; jn < njobs; jn++, j = j->next) {
        for (size_t i = 0; i < j->evs->n; i++, k++) {
            ac_fold_result(&f, k, &j->results[i].event_id, &j->results[i].alert_id,
                           &j->results[i].duplicate, &j->results[i].folded);
        }
    }
    wr_cache_update(w, &f, &ms, wins, nwins);
    wr_esc_remember(w, &ms, wins, nwins);
    wr_escalate(w, wins, nwins);
    outcome = WR_OK;
    goto cleanup;

failed:
    wr_abort(w, synced);
    outcome = r.outcome == WR_OK ? WR_DATA : r.outcome;
    if (outcome == WR_STALE) {
        wr_cache_forget(w, &f);
    }
    goto cleanup;

lost:
    ac_log(AC_LOG_WARN, "writer", "connection lost: %s", PQerrorMessage(w->conn));
    wr_disconnect(w);
    /* An error the server reported before COMMIT (e.g. 57P01 on a terminated
     * backend) proves the COMMIT never ran; only a silent loss after sending
     * it leaves the outcome unknown. */
    outcome = commit_sent && !r.server_error ? WR_CONN_UNSURE : WR_CONN;

cleanup:
    PQclear(stored_res);
    PQclear(open_res);
    PQclear(ids_res);
    PQclear(esc_res);
    wr_view_deinit(&view);
    PQclear(win_res);
    wr_params_deinit(&types);
    free(wins);
    wr_esc_deinit(&esc);
    wr_members_deinit(&ms);
    wr_members_deinit(&pre);
    wr_params_deinit(&stored);
    wr_params_deinit(&open);
    wr_params_deinit(&ins_alerts);
    wr_params_deinit(&upd_alerts);
    wr_params_deinit(&ins_events);
    wr_params_deinit(&ins_audit);
    wr_params_deinit(&ins_keys);
    wr_params_deinit(&ins_intents);
    free(fp_hit);
    free(key_hit);
    ac_fold_deinit(&f);
    free(keys);
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

void ac_writer_set_notify_levels(struct ac_writer *w, unsigned mask)
{
    w->notify_levels = mask;
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
    redisFree(w->rl.c);
    ac_redis_target_deinit(&w->redis);
    for (size_t i = 0; i < w->nknown; i++) {
        free(w->known[i].type);
        free(w->known[i].set);
    }
    free(w->known);
    ac_strmap_deinit(&w->known_idx);
    free(w->prefix);
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
    out->members_checked = __atomic_load_n(&w->n_checked, __ATOMIC_RELAXED);
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
