/* SPDX-License-Identifier: Apache-2.0 */
/* The writer's statements and their parameters (see txnsql.h). */
#include "server/txnsql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escalation/engine.h"
#include "escalation/level.h"
#include "schema/timefmt.h"
#include "server/core/err.h"
#include "server/core/lockkey.h"
#include "server/core/log.h"
#include "server/core/pg.h"
#include "server/core/pgpipe.h"
#include "server/subs_match.h"

/* The figures ac_esc_count returns of each window it counted into. */
#define TXN_ESC_RETURNING                                                                          \
    " RETURNING " AC_ESC_WIN_SELECT("w.open_alerts <= 0", "w.type = ANY($9::text[])",              \
                                    AC_ESC_UNFLUSHED)

static const struct {
    const char *name;
    const char *sql;
} txn_statements[AC_STMT_COUNT] = {
    [AC_STMT_LOCK] = {"ac_lock",
                      "SELECT count(pg_advisory_xact_lock(k)) FROM unnest($1::bigint[]) AS k"},
    [AC_STMT_STORED] =
        {"ac_stored",
         "SELECT k.s, k.c, i.event_id, i.alert_id FROM unnest($1::text[], $2::text[]) AS k(s, c)"
         " JOIN ingest_keys i ON i.source = k.s AND i.client_id = k.c"},
    /* A nested loop of plain index scans, not a bitmap scan: index scans mark
     * the dead entries that hot alerts' updates leave behind, so lookups stay
     * fast between vacuums. */
    [AC_STMT_OPEN] =
        {"ac_open",
         "SELECT a.fingerprint, a.id, (extract(epoch FROM a.first_seen) * 1000000)::bigint"
         " FROM unnest($1::text[]) AS k(fp)"
         " JOIN alerts a ON a.fingerprint = k.fp AND a.status <> 'resolved'"},
    [AC_STMT_IDS] =
        {"ac_ids", "SELECT array(SELECT nextval('events_id_seq') FROM generate_series(1, $1::int)),"
                   " array(SELECT nextval('alerts_id_seq') FROM generate_series(1, $2::int))"},
    /* New alerts, each joining its incident (found or made once per group
     * key: ac_incidents_attach), and their first minute of alert_folds
     * (migrations/0026). */
    [AC_STMT_INS_ALERTS] =
        {"ac_ins_alerts",
         "WITH i AS (SELECT * FROM ac_incidents_attach($3::text[], $25::text[], $7::text[],"
         " $9::text[], $11::timestamptz[], $27::bigint[])),"
         " n AS (INSERT INTO alerts (id, fingerprint, type, source, trace, category, level,"
         " initial_level, status, count, first_seen, last_seen, resolved_at, region, cluster,"
         " namespace, app_id, user_id, gc_level, instance, resource, last_event_id, created_at,"
         " updated_at, last_doc, group_key, ends_at, team_id, title, incident_id) SELECT id,"
         " fingerprint, type, source, trace, category, level, initial_level, status, count,"
         " first_seen, last_seen, resolved_at, region, cluster, namespace, app_id, user_id,"
         " gc_level, instance, resource, last_event_id, created_at, created_at, last_doc,"
         " group_key, ends_at, team_id, title, i.incident_id"
         " FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],"
         " $7::text[], $8::text[], $9::text[], $10::bigint[], $11::timestamptz[],"
         " $12::timestamptz[], $13::timestamptz[], $14::text[], $15::text[], $16::text[],"
         " $17::text[], $18::text[], $19::smallint[], $20::text[], $21::jsonb[], $22::bigint[],"
         " $23::timestamptz[], $24::json[], $25::text[], $26::timestamptz[], $27::bigint[],"
         " $28::text[]) AS v(id, fingerprint, type, source, trace, category, level, initial_level,"
         " status, count, first_seen, last_seen, resolved_at, region, cluster, namespace, app_id,"
         " user_id, gc_level, instance, resource, last_event_id, created_at, last_doc, group_key,"
         " ends_at, team_id, title) JOIN i ON i.key = v.type || chr(31) || v.group_key"
         " RETURNING id, count, first_seen)"
         " INSERT INTO alert_folds (alert_id, at, count)"
         " SELECT id, date_trunc('minute', first_seen), count FROM n"},
    /* last_doc_mode: 'set' (the latest event was folded), 'clear' (it was stored), 'keep'. */
    [AC_STMT_UPD_ALERTS] =
        {"ac_upd_alerts",
         "WITH u AS (UPDATE alerts a SET count = a.count + v.delta, first_seen = "
         "least(a.first_seen,"
         " v.first_seen), last_seen = greatest(a.last_seen, v.last_seen), level = least(a.level,"
         " coalesce(v.level COLLATE \"C\", a.level)), status = CASE WHEN v.resolved_at IS NULL THEN"
         " a.status ELSE 'resolved' END, resolved_at = coalesce(v.resolved_at, a.resolved_at),"
         " last_event_id = coalesce(v.last_event_id, a.last_event_id),"
         " last_doc = CASE v.mode WHEN 'set' THEN v.doc WHEN 'clear' THEN NULL ELSE a.last_doc END,"
         " updated_at = v.updated_at, ends_at = coalesce(v.ends_at, a.ends_at)"
         " FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::timestamptz[], "
         "$5::text[],"
         " $6::timestamptz[], $7::bigint[], $8::timestamptz[], $9::text[], $10::json[],"
         " $11::text[], $12::timestamptz[]) AS v(id, delta, first_seen, last_seen, level,"
         " resolved_at, last_event_id, updated_at, mode, doc, fp, ends_at)"
         " WHERE a.id = v.id AND a.fingerprint = v.fp AND a.status <> 'resolved'"
         " RETURNING a.id, v.delta, v.last_seen),"
         " f AS (INSERT INTO alert_folds AS f (alert_id, at, count) SELECT id,"
         " date_trunc('minute', last_seen), delta FROM u WHERE delta > 0 ON CONFLICT (alert_id, at)"
         " DO UPDATE SET count = f.count + excluded.count)"
         " SELECT ac_expect_rows(count(*), cardinality($1::bigint[])) FROM u"},
    /* The notification outbox's first intent of each incident that one of
     * the group's new alerts at a notified level opened, or joined before it
     * was told (migrations/0010, 0018): one per incident. */
    [AC_STMT_INS_INTENTS] =
        {"ac_ins_intents",
         "INSERT INTO notify_intents (incident_id, alert_id, reason, level)"
         " SELECT DISTINCT ON (x.incident_id) x.incident_id, t.a, 'open', t.l"
         " FROM unnest($1::bigint[], $2::text[]) AS t(a, l)"
         " CROSS JOIN LATERAL (SELECT a.incident_id FROM alerts a WHERE a.id = t.a) x"
         " CROSS JOIN LATERAL (SELECT i.notified_level, i.status FROM incidents i"
         " WHERE i.id = x.incident_id) i"
         " WHERE i.notified_level IS NULL AND i.status <> 'resolved' AND NOT EXISTS (SELECT 1"
         " FROM notify_intents n WHERE n.incident_id = x.incident_id AND n.planned_at IS NULL)"
         " ORDER BY x.incident_id, t.l COLLATE \"C\", t.a"},
    [AC_STMT_INS_KEYS] =
        {"ac_ins_keys",
         "INSERT INTO ingest_keys (source, client_id, event_id, alert_id)"
         " SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[])"},
    [AC_STMT_INS_EVENTS] =
        {"ac_ins_events",
         "INSERT INTO events (id, source, client_id, type, level, trace, category, status,"
         " fingerprint, alert_id, occurred_at, received_at, region, cluster, namespace, app_id,"
         " user_id, instance, doc, resource_name) SELECT * FROM unnest($1::bigint[], $2::text[],"
         " $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],"
         " $10::bigint[], $11::timestamptz[], $12::timestamptz[], $13::text[], $14::text[],"
         " $15::text[], $16::text[], $17::text[], $18::text[], $19::json[], $20::text[])"},
    [AC_STMT_INS_AUDIT] =
        {"ac_ins_audit",
         "INSERT INTO audit_log (actor, action, target_type, target_id, details, before, after)"
         " SELECT a, b, 'alert', c, d, CASE b WHEN 'alert.open' THEN NULL ELSE"
         " '{\"status\": \"open\"}'::jsonb END, CASE b WHEN 'alert.open' THEN"
         " '{\"status\": \"firing\"}'::jsonb ELSE '{\"status\": \"resolved\"}'::jsonb END"
         " FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[]) AS t(a, b, c, d)"},
    /* The open windows of the group's types, read under the types' locks: a
     * new alert opens at its window's level, and the writer knows which
     * members it has already counted into which window and where the
     * window's members are (escalation/members.h). */
    [AC_STMT_ESC_READ] = {"ac_esc_read",
                          "SELECT type, id, level, first_event_id, apps, gc_users FROM esc_windows"
                          " WHERE type = ANY($1::text[]) AND closed_at IS NULL"},
    /* A group that only adds events and alerts to open windows, with no
     * member, resolve or increment condition new to them, just counts them:
     * no decision can change (it rests on the members, the increment and
     * the timer's clocks), nor can a window close. */
    [AC_STMT_ESC_EVENTS] =
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
    [AC_STMT_ESC_COUNT] =
        {"ac_esc_count",
         "WITH v AS (SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::int[],"
         " $5::bigint[], $6::int[], $7::int[], $8::bigint[])"
         " AS v(type, trace, n, delta, wid, apps, users, first)),"
         " u AS (UPDATE esc_windows w SET events = w.events + v.n, open_alerts = w.open_alerts +"
         " v.delta, apps = w.apps + v.apps, gc_users = w.gc_users + v.users, rev = w.rev + 1"
         " FROM v WHERE w.id = v.wid AND w.id = ANY($5::bigint[])" TXN_ESC_RETURNING "),"
         " i AS (INSERT INTO esc_windows AS w (type, trace, events, open_alerts, apps, gc_users,"
         " first_event_id) SELECT type, trace, n, delta, apps, users, first FROM v"
         " WHERE wid IS NULL AND n > 0 " TXN_ESC_RETURNING ")"
         " SELECT * FROM u UNION ALL SELECT * FROM i"},
    /* Without Redis: the ordinals (from 1) of the candidates a window has
     * already - a firing event of the type with that app or GC6/GC7 user from
     * the window's first event on, or a member from before migration 0017. */
    [AC_STMT_ESC_PROBE] =
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
    [AC_STMT_ESC_CLOSE] =
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
    /* Each window's matching events; the event that reaches its threshold
     * triggers it (once: triggered_at stays). Rows come sorted. */
    [AC_STMT_SUB_COUNT] =
        {"ac_sub_count",
         "INSERT INTO sub_windows AS w (subscription_id, cycle_start, events, threshold,"
         " triggered_at) SELECT v.s, to_timestamp(v.c / 1000000), v.n, v.t, CASE WHEN v.n >= v.t"
         " THEN clock_timestamp() END FROM unnest($1::bigint[], $2::bigint[], $3::bigint[],"
         " $4::bigint[]) WITH ORDINALITY AS v(s, c, n, t, o) ORDER BY v.o"
         " ON CONFLICT (subscription_id, cycle_start) DO UPDATE SET events = w.events +"
         " excluded.events, triggered_at = coalesce(w.triggered_at, CASE WHEN w.events +"
         " excluded.events >= w.threshold THEN clock_timestamp() END)"},
};

bool ac_txnsql_prepare(PGconn *conn)
{
    for (int i = 0; i < AC_STMT_COUNT; i++) {
        PGresult *res = PQprepare(conn, txn_statements[i].name, txn_statements[i].sql, 0, NULL);
        bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        if (!ok) {
            ac_log(AC_LOG_ERROR, "writer", "prepare %s failed: %s", txn_statements[i].name,
                   PQerrorMessage(conn));
        }
        PQclear(res);
        if (!ok) {
            return false;
        }
    }
    return true;
}

bool ac_txnsql_send(PGconn *conn, enum ac_txnsql_stmt stmt, const struct ac_txnsql_params *p)
{
    return ac_pgpipe_send(conn, txn_statements[stmt].name, p ? p->n : 0, p ? p->v : NULL,
                          p ? p->len : NULL, p ? p->fmt : NULL);
}

static int txn_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

const char *ac_txnsql_lock_keys(struct ac_arena *ar, const struct ac_fold *f,
                                struct ac_cand_memory *mem)
{
    size_t n = 0;
    int64_t *keys = ac_xmalloc((3 * f->nevents + 1) * sizeof(*keys));
    struct ac_buf *b = ac_arena_buf(ar);

    for (size_t i = 0; i < f->nevents; i++) {
        const struct ac_event *ev = f->events[i].ev;
        keys[n++] = ac_lockkey_fp(ev->fingerprint);
        if (i == 0 || strcmp(ev->type, f->events[i - 1].ev->type) != 0) {
            keys[n++] = ac_cand_memory_type(mem, ev->type)->type_key;
        }
        if (ev->id) {
            keys[n++] = ac_lockkey_ingest_id(ev->source, ev->id);
        }
    }
    qsort(keys, n, sizeof(*keys), txn_cmp_i64);
    ac_buf_appends(b, "{");
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && keys[i] == keys[i - 1]) {
            continue;
        }
        ac_buf_printf(b, "%s%lld", b->len > 1 ? "," : "", (long long)keys[i]);
    }
    ac_buf_appends(b, "}");
    free(keys);
    return b->data;
}

/* --- statement parameters: array literals and binary arrays ------------- */

/* A statement's array buffers: one allocation, one arena entry. */
struct txn_bufs {
    int n;
    struct ac_buf b[];
};

static void txn_bufs_free(void *arg)
{
    struct txn_bufs *t = arg;

    for (int i = 0; i < t->n; i++) {
        ac_buf_deinit(&t->b[i]);
    }
    free(t);
}

void ac_txnsql_params_init(struct ac_txnsql_params *p, struct ac_arena *ar, int n)
{
    struct txn_bufs *t;

    AC_ASSERT(n <= AC_TXNSQL_PARAMS_MAX);
    t = ac_xcalloc(1, sizeof(*t) + (size_t)n * sizeof(struct ac_buf));
    t->n = n;
    (void)ac_arena_defer(ar, txn_bufs_free, t);
    memset(p, 0, sizeof(*p));
    p->n = n;
    for (int i = 0; i < n; i++) {
        p->a[i] = &t->b[i];
    }
}

void ac_txnsql_params_init_binary(struct ac_txnsql_params *p, struct ac_arena *ar, int n,
                                  const uint32_t *oids)
{
    ac_txnsql_params_init(p, ar, n);
    for (int i = 0; i < n; i++) {
        ac_pg_barray_begin(p->a[i], oids[i]);
        p->fmt[i] = 1;
    }
}

void ac_txnsql_params_finish(struct ac_txnsql_params *p)
{
    for (int i = 0; i < p->n; i++) {
        if (p->fmt[i]) {
            AC_ASSERT(p->a[i]->len <= (size_t)INT32_MAX);
            p->len[i] = (int)p->a[i]->len;
        }
        else {
            ac_pg_array_close(p->a[i]);
        }
        p->v[i] = p->a[i]->data;
    }
}

void ac_txnsql_params_scalar(struct ac_txnsql_params *p, int n, const char *const *values)
{
    AC_ASSERT(n <= AC_TXNSQL_PARAMS_MAX);
    memset(p, 0, sizeof(*p));
    p->n = n;
    for (int i = 0; i < n; i++) {
        p->v[i] = values[i];
    }
}

/* Parses "{1,2,3}" into out (at most n values). Returns how many. */
static size_t txn_parse_ids(const char *s, int64_t *out, size_t n)
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
/* --- building the statements of a group -------------------------------- */

/* The document an alert keeps as its latest when its latest event was
 * folded rather than stored (new, or NULL): the event's normalized document
 * as compact JSON. */
static char *txn_last_doc(const struct ac_fold *f, const struct ac_fold_alert *a)
{
    if (a->last_event < 0 || a->last_event == a->last_stored) {
        return NULL;
    }
    return ac_event_dump(f->events[a->last_event].ev, NULL);
}

/* The keys and fingerprints the cache did not answer; returns how many. */
size_t ac_txnsql_build_stored(struct ac_arena *ar, const struct ac_fold *f, const bool *key_hit,
                              struct ac_txnsql_params *p)
{
    size_t n = 0;

    ac_txnsql_params_init(p, ar, 2);
    for (size_t i = 0; i < f->nevents; i++) {
        const struct ac_event *ev = f->events[i].ev;
        if (ev->id && f->events[i].dup_of < 0 && !key_hit[i]) {
            n++;
            ac_pg_array_add(p->a[0], ev->source);
            ac_pg_array_add(p->a[1], ev->id);
        }
    }
    ac_txnsql_params_finish(p);
    return n;
}

size_t ac_txnsql_build_open(struct ac_arena *ar, const struct ac_fold *f, const bool *fp_hit,
                            struct ac_txnsql_params *p)
{
    size_t n = 0;

    ac_txnsql_params_init(p, ar, 1);
    for (size_t i = 0; i < ac_fold_fingerprint_count(f); i++) {
        if (!fp_hit[i]) {
            ac_pg_array_add(p->a[0], ac_fold_fingerprint(f, i));
            n++;
        }
    }
    ac_txnsql_params_finish(p);
    return n;
}

/* The open window of type in view: its id (0: none) and level (P4: not raised). */
static int64_t txn_window(const struct ac_cand_view *view, const char *type, enum ac_level *level)
{
    const struct ac_cand_window *w = ac_cand_view_get(view, type);

    *level = w ? w->level : AC_LEVEL_P4;
    return w ? w->id : 0;
}

/* The element types of the statements sent as binary arrays, in parameter
 * order: AC_STMT_INS_ALERTS, AC_STMT_UPD_ALERTS, AC_STMT_INS_EVENTS (below). */
#define T  AC_PG_OID_TEXT
#define TS AC_PG_OID_TIMESTAMPTZ
#define I8 AC_PG_OID_INT8
#define I2 AC_PG_OID_INT2
#define J  AC_PG_OID_JSON
#define JB AC_PG_OID_JSONB
static const uint32_t txn_new_alert_oids[28] = {
    I8, T,  T,  T,  T, T,  T, T, T, /* $1 id, $2-$9 fingerprint .. status */
    I8, TS, TS, TS,                 /* count, first_seen, last_seen, resolved_at */
    T,  T,  T,  T,  T, I2, T,       /* region .. user_id, gc_level, instance */
    JB, I8, TS, J,                  /* resource, last_event_id, created_at, last_doc */
    T,  TS, I8, T,                  /* group_key, ends_at, team_id, title */
};
/* AC_STMT_UPD_ALERTS's. */
static const uint32_t txn_upd_alert_oids[12] = {
    I8, I8, TS, TS, /* id, delta, first_seen, last_seen */
    T,  TS, I8, TS, /* level, resolved_at, last_event_id, updated_at */
    T,  J,  T,  TS, /* mode, doc, fingerprint, ends_at */
};

void ac_txnsql_build_new_alerts(struct ac_arena *ar, const struct ac_fold *f,
                                const struct ac_cand_view *view, int64_t now,
                                unsigned notify_levels, struct ac_txnsql_params *p,
                                struct ac_txnsql_params *intents, size_t *nintents)
{
    enum ac_level floor, level;

    ac_txnsql_params_init_binary(p, ar, 28, txn_new_alert_oids);
    ac_txnsql_params_init(intents, ar, 2);
    for (size_t i = 0; i < f->nalerts; i++) {
        const struct ac_fold_alert *a = &f->alerts[i];
        const struct ac_event *ev = f->events[a->opener].ev;
        json_t *res = NULL;
        char *res_s = NULL, *last_doc;

        if (!a->is_new) {
            continue;
        }
        if (ev->has_resource) {
            res = ac_event_resource_json(ev);
            res_s = json_dumps(res, JSON_COMPACT);
            json_decref(res);
        }
        /* a new alert opens at least at its type's raised window level */
        (void)txn_window(view, ev->type, &floor);
        level = ac_level_raise(a->level, floor);
        if (!a->resolved && (notify_levels & (1u << level))) {
            ac_pg_array_add_i64(intents->a[0], a->id, false);
            ac_pg_array_add(intents->a[1], ac_level_name(level));
            (*nintents)++;
        }
        ac_pg_barray_add_i64(p->a[0], a->id, false);
        ac_pg_barray_add(p->a[1], ev->fingerprint);
        ac_pg_barray_add(p->a[2], ev->type);
        ac_pg_barray_add(p->a[3], ev->source);
        ac_pg_barray_add(p->a[4], ac_trace_name(ev->trace));
        ac_pg_barray_add(p->a[5], ac_category_name(ev->category));
        ac_pg_barray_add(p->a[6], ac_level_name(level));
        ac_pg_barray_add(p->a[7], ac_level_name(ev->level));
        ac_pg_barray_add(p->a[8], a->resolved ? "resolved" : "firing");
        ac_pg_barray_add_i64(p->a[9], a->delta, false);
        ac_pg_barray_add_time(p->a[10], a->first_seen, false);
        ac_pg_barray_add_time(p->a[11], a->last_seen, false);
        ac_pg_barray_add_time(p->a[12], a->resolved ? a->resolved_at : 0, true);
        ac_pg_barray_add(p->a[13], ev->region);
        ac_pg_barray_add(p->a[14], ev->cluster);
        ac_pg_barray_add(p->a[15], ev->namespace_);
        ac_pg_barray_add(p->a[16], ev->app_id);
        ac_pg_barray_add(p->a[17], ev->user_id);
        ac_pg_barray_add_i16(p->a[18], ev->gc_level, true);
        ac_pg_barray_add(p->a[19], ev->instance);
        ac_pg_barray_add_jsonb(p->a[20], res_s);
        /* a new alert's opener is always stored */
        ac_pg_barray_add_i64(p->a[21], f->events[a->last_stored].event_id, false);
        ac_pg_barray_add_time(p->a[22], now, false);
        last_doc = txn_last_doc(f, a);
        ac_pg_barray_add(p->a[23], last_doc);
        ac_pg_barray_add(p->a[24], ev->group_key ? ev->group_key : "");
        ac_pg_barray_add_time(p->a[25], a->ends_at, true);
        ac_pg_barray_add_i64(p->a[26], ev->team, true);
        ac_pg_barray_add(p->a[27], ev->title);
        free(last_doc);
        free(res_s);
    }
    ac_txnsql_params_finish(p);
    ac_txnsql_params_finish(intents);
}

void ac_txnsql_build_upd_alerts(struct ac_arena *ar, const struct ac_fold *f, int64_t now,
                                struct ac_txnsql_params *p)
{
    ac_txnsql_params_init_binary(p, ar, 12, txn_upd_alert_oids);
    for (size_t i = 0; i < f->nalerts; i++) {
        const struct ac_fold_alert *a = &f->alerts[i];
        char *last_doc;

        if (a->is_new) {
            continue;
        }
        ac_pg_barray_add_i64(p->a[0], a->id, false);
        ac_pg_barray_add_i64(p->a[1], a->delta, false);
        ac_pg_barray_add_time(p->a[2], a->first_seen, false);
        ac_pg_barray_add_time(p->a[3], a->last_seen, false);
        ac_pg_barray_add(p->a[4], ac_level_name(a->level)); /* NULL: no firing event */
        ac_pg_barray_add_time(p->a[5], a->resolved ? a->resolved_at : 0, true);
        ac_pg_barray_add_i64(p->a[6], a->last_stored >= 0 ? f->events[a->last_stored].event_id : 0,
                             true);
        ac_pg_barray_add_time(p->a[7], now, false);
        last_doc = txn_last_doc(f, a);
        ac_pg_barray_add(p->a[8], last_doc ? "set" : a->last_event >= 0 ? "clear" : "keep");
        ac_pg_barray_add(p->a[9], last_doc);
        ac_pg_barray_add(p->a[10], f->events[a->opener].ev->fingerprint);
        ac_pg_barray_add_time(p->a[11], a->ends_at, true);
        free(last_doc);
    }
    ac_txnsql_params_finish(p);
}

/* AC_STMT_INS_EVENTS's element types, in parameter order. */
static const uint32_t txn_event_oids[20] = {
    I8, T,  T,  T, T, T, T, T, T, /* id, source .. fingerprint */
    I8, TS, TS,                   /* alert_id, occurred_at, received_at */
    T,  T,  T,  T, T, T,          /* region .. instance */
    J,  T,                        /* doc, resource_name */
};
#undef T
#undef TS
#undef I8
#undef I2
#undef J
#undef JB

void ac_txnsql_build_events(struct ac_arena *ar, const struct ac_fold *f,
                            struct ac_txnsql_params *p)
{
    ac_txnsql_params_init_binary(p, ar, 20, txn_event_oids);
    for (size_t i = 0; i < f->nevents; i++) {
        const struct ac_fold_event *fe = &f->events[i];
        const struct ac_event *ev = fe->ev;
        size_t doc_n;
        char *doc_s;

        if (!ac_fold_is_stored(f, i)) {
            continue;
        }
        doc_s = ac_event_dump(ev, &doc_n);
        ac_pg_barray_add_i64(p->a[0], fe->event_id, false);
        ac_pg_barray_add(p->a[1], ev->source);
        ac_pg_barray_add(p->a[2], ev->id);
        ac_pg_barray_add(p->a[3], ev->type);
        ac_pg_barray_add(p->a[4], ac_level_name(ev->level));
        ac_pg_barray_add(p->a[5], ac_trace_name(ev->trace));
        ac_pg_barray_add(p->a[6], ac_category_name(ev->category));
        ac_pg_barray_add(p->a[7], ac_status_name(ev->status));
        ac_pg_barray_add(p->a[8], ev->fingerprint);
        ac_pg_barray_add_i64(p->a[9], fe->alert >= 0 ? f->alerts[fe->alert].id : 0, true);
        ac_pg_barray_add_time(p->a[10], ev->occurred_at, false);
        ac_pg_barray_add_time(p->a[11], ev->received_at, false);
        ac_pg_barray_add(p->a[12], ev->region);
        ac_pg_barray_add(p->a[13], ev->cluster);
        ac_pg_barray_add(p->a[14], ev->namespace_);
        ac_pg_barray_add(p->a[15], ev->app_id);
        ac_pg_barray_add(p->a[16], ev->user_id);
        ac_pg_barray_add(p->a[17], ev->instance);
        ac_pg_barray_add_len(p->a[18], doc_s, doc_n);
        ac_pg_barray_add(p->a[19], ev->has_resource ? ev->resource.name : NULL);
        free(doc_s);
    }
    ac_txnsql_params_finish(p);
}

/* The part of an open entry that is the same for every alert of a type
 * opening while its window is raised, made once per type and group. */
struct txn_open_tail {
    const char *type; /* borrowed from an event */
    char *tail;       /* ,"level":...} */
};

/* An open entry: the event and the level asked for; an alert that opens while
 * its type's window is raised also says at which level it opened and why
 * (tails: those made so far in the group, up to cap). */
static char *txn_open_details(const struct ac_fold *f, const struct ac_fold_audit *au,
                              const struct ac_cand_view *view, struct txn_open_tail *tails,
                              size_t *ntails, size_t cap)
{
    const struct ac_fold_event *fe = &f->events[au->event];
    const struct ac_fold_alert *a = &f->alerts[au->alert];
    enum ac_level wl;
    int64_t wid = txn_window(view, fe->ev->type, &wl);
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
            tails[(*ntails)++] = (struct txn_open_tail){fe->ev->type, tail};
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

void ac_txnsql_build_audit(struct ac_arena *ar, const struct ac_fold *f,
                           const struct ac_cand_view *view, struct ac_txnsql_params *p)
{
    static const char *const actions[] = {
        [AC_FOLD_OPEN] = "alert.open",
        [AC_FOLD_RESOLVE] = "alert.resolve",
        [AC_FOLD_ROLLOVER] = "alert.rollover",
    };

    static const uint32_t oids[4] = {AC_PG_OID_TEXT, AC_PG_OID_TEXT, AC_PG_OID_TEXT,
                                     AC_PG_OID_JSONB};
    struct txn_open_tail tails[16];
    size_t ntails = 0;

    ac_txnsql_params_init_binary(p, ar, 4, oids);
    for (size_t i = 0; i < f->naudits; i++) {
        const struct ac_fold_audit *au = &f->audits[i];
        const struct ac_fold_event *fe = &f->events[au->event];
        char *actor = ac_xasprintf("source:%s", fe->ev->source);
        char *details, target[24];

        switch (au->action) {
            case AC_FOLD_OPEN:
                details = txn_open_details(f, au, view, tails, &ntails, 16);
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
        (void)snprintf(target, sizeof(target), "%lld", (long long)f->alerts[au->alert].id);
        ac_pg_barray_add(p->a[0], actor);
        ac_pg_barray_add(p->a[1], actions[au->action]);
        ac_pg_barray_add(p->a[2], target);
        ac_pg_barray_add_jsonb(p->a[3], details);
        free(actor);
        free(details);
    }
    for (size_t i = 0; i < ntails; i++) {
        free(tails[i].tail);
    }
    ac_txnsql_params_finish(p);
}

struct txn_esc_type {
    const struct ac_event *ev; /* the first of the type */
    long n;                    /* firing events */
    long delta;                /* alerts opened minus alerts resolved */
    bool resolved;             /* an alert of the type was resolved */
};

static int txn_cmp_esc_type(const void *a, const void *b)
{
    return strcmp(((const struct txn_esc_type *)a)->ev->type,
                  ((const struct txn_esc_type *)b)->ev->type);
}

void ac_txnsql_build_esc(struct ac_arena *ar, const struct ac_esc_config *esc,
                         const struct ac_fold *f, const struct ac_cand_view *view,
                         const struct ac_cand_group *g, struct ac_txnsql_esc *e)
{
    struct ac_strmap types;
    struct txn_esc_type *t = ac_xcalloc(f->nevents + 1, sizeof(*t));
    bool added;

    memset(e, 0, sizeof(*e));
    ac_txnsql_params_init(&e->count, ar, 9);
    ac_txnsql_params_init(&e->close, ar, 1);
    ac_txnsql_params_init(&e->events, ar, 3);
    ac_strmap_init(&types, 16);
    for (size_t i = 0; i < f->nevents; i++) {
        const struct ac_event *ev = f->events[i].ev;
        int64_t *slot;

        /* a refresh is no occurrence: the window does not count it */
        if (f->events[i].alert < 0 || !ac_fold_is_new_event(f, i) || f->events[i].refreshed) {
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
    qsort(t, e->ntypes, sizeof(*t), txn_cmp_esc_type);
    for (size_t k = 0; k < e->ntypes; k++) {
        const struct ac_event *ev = t[k].ev;
        const struct ac_cand_win *mw = ac_cand_group_window(g, ev->type);
        bool inc = ac_esc_needs_increment(ac_esc_policy_for(esc, ev->type, ev->trace));
        enum ac_level wl;
        int64_t wid = txn_window(view, ev->type, &wl);
        char num[24];
        if (t[k].delta < 0 || t[k].resolved || (t[k].n > 0 && !wid) || inc ||
            (mw && (mw->apps || mw->users))) {
            e->full = true; /* a window opens or closes, or a decision may change */
        }
        if (t[k].n > 0 || t[k].delta != 0) {
            (void)snprintf(num, sizeof(num), "%ld", t[k].n);
            ac_pg_array_add(e->events.a[0], ev->type);
            ac_pg_array_add(e->events.a[1], num);
            (void)snprintf(num, sizeof(num), "%ld", t[k].delta);
            ac_pg_array_add(e->events.a[2], num);
            e->nevtypes++;
        }
        (void)snprintf(num, sizeof(num), "%ld", t[k].n);
        ac_pg_array_add(e->count.a[0], ev->type);
        ac_pg_array_add(e->count.a[1], ac_trace_name(ev->trace));
        ac_pg_array_add(e->count.a[2], num);
        (void)snprintf(num, sizeof(num), "%ld", t[k].delta);
        ac_pg_array_add(e->count.a[3], num);
        ac_pg_array_add_i64(e->count.a[4], wid, true);
        ac_pg_array_add_i64(e->count.a[5], mw ? mw->apps : 0, false);
        ac_pg_array_add_i64(e->count.a[6], mw ? mw->users : 0, false);
        /* a window the group opens starts at its first firing event (kept) */
        ac_pg_array_add_i64(e->count.a[7], mw && !wid ? f->events[mw->first_event].event_id : 0,
                            false);
        if (inc) {
            ac_pg_array_add(e->count.a[8], ev->type);
        }
        if (t[k].resolved && t[k].delta <= 0) { /* may be left without an open alert */
            ac_pg_array_add(e->close.a[0], ev->type);
            e->nclose++;
        }
    }
    ac_txnsql_params_finish(&e->count);
    ac_txnsql_params_finish(&e->close);
    ac_txnsql_params_finish(&e->events);
    ac_strmap_deinit(&types);
    free(t);
}

/* The distinct types of the group, for the read of their windows. */
void ac_txnsql_build_types(struct ac_arena *ar, const struct ac_fold *f, struct ac_txnsql_params *p)
{
    struct ac_strmap seen;
    bool added;

    ac_txnsql_params_init(p, ar, 1);
    ac_strmap_init(&seen, 16);
    for (size_t i = 0; i < f->nevents; i++) {
        const char *t = f->events[i].ev->type;
        (void)ac_strmap_upsert(&seen, t, strlen(t), 0, &added);
        if (added) {
            ac_pg_array_add(p->a[0], t);
        }
    }
    ac_strmap_deinit(&seen);
    ac_txnsql_params_finish(p);
}

/* Every newly accepted idempotency key, stored or folded. Returns the count. */
size_t ac_txnsql_build_keys(struct ac_arena *ar, const struct ac_fold *f,
                            struct ac_txnsql_params *p)
{
    size_t n = 0;

    ac_txnsql_params_init(p, ar, 4);
    for (size_t i = 0; i < f->nevents; i++) {
        const struct ac_fold_event *fe = &f->events[i];
        int64_t eid, aid;
        bool dup, folded;

        if (!fe->ev->id || !ac_fold_is_new_event(f, i)) {
            continue;
        }
        ac_fold_result(f, i, &eid, &aid, &dup, &folded);
        ac_pg_array_add(p->a[0], fe->ev->source);
        ac_pg_array_add(p->a[1], fe->ev->id);
        ac_pg_array_add_i64(p->a[2], eid, true);
        ac_pg_array_add_i64(p->a[3], aid, true);
        n++;
    }
    ac_txnsql_params_finish(p);
    return n;
}

/* Applies the stored idempotency keys and open alerts of round trip 1. */
void ac_txnsql_apply_lookups(struct ac_fold *f, const PGresult *stored, const PGresult *open)
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
bool ac_txnsql_assign_ids(struct ac_fold *f, const PGresult *ids, size_t nev, size_t nal)
{
    int64_t *ev_ids = ac_xcalloc(nev + 1, sizeof(int64_t));
    int64_t *al_ids = ac_xcalloc(nal + 1, sizeof(int64_t));
    bool ok = txn_parse_ids(PQgetvalue(ids, 0, 0), ev_ids, nev) == nev &&
              txn_parse_ids(PQgetvalue(ids, 0, 1), al_ids, nal) == nal;
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

void ac_txnsql_view(const PGresult *res, struct ac_cand_view *v)
{
    for (int i = 0; res && i < PQntuples(res); i++) {
        struct ac_cand_window w = {.type = PQgetvalue(res, i, 0),
                                   .id = strtoll(PQgetvalue(res, i, 1), NULL, 10),
                                   .level = AC_LEVEL_P4,
                                   .first_event_id = strtoll(PQgetvalue(res, i, 3), NULL, 10),
                                   .apps = strtoll(PQgetvalue(res, i, 4), NULL, 10),
                                   .users = strtoll(PQgetvalue(res, i, 5), NULL, 10)};
        (void)ac_level_parse(PQgetvalue(res, i, 2), &w.level);
        ac_cand_view_add(v, &w);
    }
}

void ac_txnsql_build_probe(struct ac_arena *ar, const struct ac_cand_group *g,
                           struct ac_cand_memory *mem, const size_t *ord, size_t n,
                           struct ac_txnsql_params *p)
{
    ac_txnsql_params_init(p, ar, 6);
    for (size_t i = 0; i < n; i++) {
        const struct ac_cand_member *m = &g->m[ord[i]];
        const struct ac_cand_win *cw = &g->wins[m->win];
        char kind[2] = {m->kind, 0};
        ac_pg_array_add(p->a[0], cw->type);
        ac_pg_array_add(p->a[1], kind);
        ac_pg_array_add(p->a[2], m->value);
        ac_pg_array_add_i64(p->a[3], cw->first, false);
        ac_pg_array_add_i64(p->a[4], ac_cand_memory_type(mem, cw->type)->type_key, false);
        ac_pg_array_add_i64(p->a[5], m->key, false);
    }
    ac_txnsql_params_finish(p);
}

struct txn_sub_win {
    int64_t id, cycle, n, threshold;
};

static int txn_cmp_sub_win(const void *a, const void *b)
{
    const struct txn_sub_win *x = a, *y = b;

    if (x->id != y->id) {
        return x->id < y->id ? -1 : 1;
    }
    return x->cycle < y->cycle ? -1 : x->cycle > y->cycle;
}

size_t ac_txnsql_build_subs(struct ac_arena *ar, const struct ac_fold *f,
                            const struct ac_sub_set *s, struct ac_txnsql_params *p)
{
    struct txn_sub_win *w = NULL;
    size_t nw = 0, cap = 0;
    struct ac_sub_hit hits[32];

    if (ac_sub_set_size(s) == 0) {
        return 0;
    }
    for (size_t i = 0; i < f->nevents; i++) {
        const struct ac_fold_event *fe = &f->events[i];
        size_t nh;
        if (fe->dup_of >= 0 || fe->dup_stored) {
            continue; /* a repeat of an idempotency key is not a new event */
        }
        nh = ac_sub_set_match(s, fe->ev, hits, sizeof(hits) / sizeof(hits[0]));
        for (size_t h = 0; h < nh; h++) {
            size_t k = 0;
            while (k < nw && (w[k].id != hits[h].id || w[k].cycle != hits[h].cycle_start_us)) {
                k++;
            }
            if (k == nw) {
                if (nw == cap) {
                    cap = cap ? 2 * cap : 16;
                    w = ac_xrealloc(w, cap * sizeof(*w));
                }
                w[nw++] =
                    (struct txn_sub_win){hits[h].id, hits[h].cycle_start_us, 0, hits[h].threshold};
            }
            w[k].n++;
        }
    }
    if (nw > 0) {
        qsort(w, nw, sizeof(*w), txn_cmp_sub_win);
        ac_txnsql_params_init(p, ar, 4);
        for (size_t k = 0; k < nw; k++) {
            ac_pg_array_add_i64(p->a[0], w[k].id, false);
            ac_pg_array_add_i64(p->a[1], w[k].cycle, false);
            ac_pg_array_add_i64(p->a[2], w[k].n, false);
            ac_pg_array_add_i64(p->a[3], w[k].threshold, false);
        }
        ac_txnsql_params_finish(p);
    }
    free(w);
    return nw;
}
