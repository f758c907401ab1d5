/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Who is notified, through the API: /v1/contacts, /v1/schedules, /v1/teams,
 * /v1/routes (DESIGN §6; documents in escalation/notify/oncall.h), and
 * GET /v1/schedules/{id}/oncall?at=... .
 *
 * GET lists (by id, cursor-paged) or fetches one (scope read); POST creates,
 * PUT replaces, DELETE removes (scope admin). A document is validated before
 * anything is stored (400 with every problem and its path). A write runs in
 * one transaction under advisory lock (16707, 4): the ids it refers to must
 * exist (400 naming the missing ones), an object still referred to cannot be
 * deleted (409 naming who refers to it), and every change is an audit-log
 * entry. The four resources differ only in the columns of struct oc_kind;
 * their SQL is assembled from those constants at first use, never from
 * request data.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escalation/notify/oncall.h"
#include "escalation/notify/schedule.h"
#include "schema/timefmt.h"
#include "server/api.h"
#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/core/pg.h"
#include "server/server.h"

#define OC_LOCK "SELECT pg_advisory_xact_lock(16707, 4)"
_Static_assert(AC_LOCK_ONCALL == 4, "OC_LOCK takes AC_LOCK_ONCALL");
#define OC_MISSING                                                                                 \
    "SELECT array(SELECT x FROM unnest($1::bigint[]) x WHERE NOT EXISTS"                           \
    " (SELECT 1 FROM contacts c WHERE c.id = x))::text,"                                           \
    " array(SELECT x FROM unnest($2::bigint[]) x WHERE NOT EXISTS"                                 \
    " (SELECT 1 FROM schedules s WHERE s.id = x))::text,"                                          \
    " array(SELECT x FROM unnest($3::bigint[]) x WHERE NOT EXISTS"                                 \
    " (SELECT 1 FROM teams t WHERE t.id = x))::text"

struct oc_kind {
    enum ac_oncall_kind kind;
    const char *name;  /* "contact": audit actions, messages */
    const char *table; /* "contacts" */
    bool contacts, schedules, teams, is_default, position;
    const char *users; /* SQL: the names of what refers to $1, or NULL */
    char *sql_list, *sql_get, *sql_insert, *sql_update, *sql_delete;
};

static struct oc_kind oc_kinds[] = {
    {AC_ONCALL_CONTACT, "contact", "contacts", false, false, false, false, false,
     "SELECT concat_ws(', ', (SELECT string_agg('schedule ' || to_json(name)::text, ', ')"
     " FROM schedules WHERE contact_refs @> ARRAY[$1::bigint]), (SELECT string_agg('team ' ||"
     " to_json(name)::text, ', ') FROM teams WHERE contact_refs @> ARRAY[$1::bigint]))",
     NULL, NULL, NULL, NULL, NULL},
    {AC_ONCALL_SCHEDULE, "schedule", "schedules", true, false, false, false, false,
     "SELECT (SELECT string_agg('team ' || to_json(name)::text, ', ') FROM teams"
     " WHERE schedule_refs @> ARRAY[$1::bigint])",
     NULL, NULL, NULL, NULL, NULL},
    {AC_ONCALL_TEAM, "team", "teams", true, true, false, true, false,
     "SELECT (SELECT string_agg('route ' || to_json(name)::text, ', ') FROM routes"
     " WHERE team_refs @> ARRAY[$1::bigint])",
     NULL, NULL, NULL, NULL, NULL},
    {AC_ONCALL_ROUTE, "route", "routes", false, false, true, false, true, NULL, NULL, NULL, NULL,
     NULL, NULL},
};

static pthread_once_t oc_once = PTHREAD_ONCE_INIT;

/* The API form of row w of k's table. */
static char *oc_json_expr(const struct oc_kind *k)
{
    return ac_xasprintf("(ac_oncall_json(w.id, w.name, w.doc, w.created_at, w.updated_at)%s)",
                        k->position ? " || jsonb_build_object('position', w.position)" : "");
}

/* Parameters of a write: $1 name, $2 doc, $3 actor, then the kind's columns
 * in this order, then (update) the id. */
static void oc_build_sql(struct oc_kind *k)
{
    struct ac_buf cols = {0}, vals = {0}, sets = {0};
    char *json = oc_json_expr(k);
    int n = 3;

#define OC_COL(flag, col, cast, ins, upd)                                                          \
    if (flag) {                                                                                    \
        n++;                                                                                       \
        ac_buf_printf(&cols, ", %s", col);                                                         \
        ac_buf_printf(&vals, ins, n, cast);                                                        \
        ac_buf_printf(&sets, upd, col, n, cast);                                                   \
    }
    OC_COL(k->contacts, "contact_refs", "bigint[]", ", $%d::%s", ", %s = $%d::%s")
    OC_COL(k->schedules, "schedule_refs", "bigint[]", ", $%d::%s", ", %s = $%d::%s")
    OC_COL(k->teams, "team_refs", "bigint[]", ", $%d::%s", ", %s = $%d::%s")
    OC_COL(k->is_default, "is_default", "boolean", ", $%d::%s", ", %s = $%d::%s")
    OC_COL(k->position, "position", "int",
           ", coalesce($%d::%s, (SELECT coalesce(max(position), 0) + 10 FROM routes))",
           ", %s = coalesce($%d::%s, w.position)")
#undef OC_COL
    k->sql_list = ac_xasprintf("SELECT %s::text, w.id FROM %s w WHERE ($1::bigint IS NULL OR"
                               " w.id > $1) ORDER BY w.id LIMIT $2",
                               json, k->table);
    k->sql_get = ac_xasprintf("SELECT %s::text FROM %s w WHERE w.id = $1::bigint", json, k->table);
    k->sql_insert = ac_xasprintf(
        "WITH w AS (INSERT INTO %s (name, doc, created_by%s) VALUES ($1, $2::jsonb, $3%s)"
        " RETURNING *), a AS (INSERT INTO audit_log (actor, action, target_type, target_id,"
        " details) SELECT $3, '%s.create', '%s', w.id::text, %s FROM w) SELECT %s::text FROM w",
        k->table, cols.data ? cols.data : "", vals.data ? vals.data : "", k->name, k->name, json,
        json);
    k->sql_update = ac_xasprintf(
        "WITH w AS (UPDATE %s w SET name = $1, doc = $2::jsonb%s WHERE w.id = $%d::bigint"
        " RETURNING w.*), a AS (INSERT INTO audit_log (actor, action, target_type, target_id,"
        " details) SELECT $3, '%s.update', '%s', w.id::text, %s FROM w) SELECT %s::text FROM w",
        k->table, sets.data ? sets.data : "", n + 1, k->name, k->name, json, json);
    k->sql_delete = ac_xasprintf(
        "WITH w AS (DELETE FROM %s w WHERE w.id = $1::bigint RETURNING w.*), a AS (INSERT INTO"
        " audit_log (actor, action, target_type, target_id, details) SELECT $2, '%s.delete',"
        " '%s', w.id::text, %s FROM w) SELECT %s::text FROM w",
        k->table, k->name, k->name, json, json);
    free(json);
    ac_buf_deinit(&cols);
    ac_buf_deinit(&vals);
    ac_buf_deinit(&sets);
}

static void oc_init(void)
{
    for (size_t i = 0; i < sizeof(oc_kinds) / sizeof(oc_kinds[0]); i++) {
        oc_build_sql(&oc_kinds[i]);
    }
}

static struct oc_kind *oc_kind(enum ac_oncall_kind kind)
{
    (void)pthread_once(&oc_once, oc_init);
    return &oc_kinds[kind];
}

static void oc_unavailable(struct ac_http_req *r)
{
    ac_http_reply_error(r, 503, "unavailable", "the database is unavailable; retry", NULL);
}

/* "{1,2,3}" */
static char *oc_ids(const int64_t *v, size_t n)
{
    struct ac_buf b = {0};

    ac_buf_appends(&b, "{");
    for (size_t i = 0; i < n; i++) {
        ac_buf_printf(&b, "%s%lld", i ? "," : "", (long long)v[i]);
    }
    ac_buf_appends(&b, "}");
    return ac_buf_steal(&b);
}

static void oc_reply_row(struct ac_http_req *r, const PGresult *res, unsigned status)
{
    size_t len = (size_t)PQgetlength(res, 0, 0);
    char *body = ac_xmalloc(len + 2);

    memcpy(body, PQgetvalue(res, 0, 0), len);
    body[len] = '\n';
    body[len + 1] = '\0';
    ac_http_reply_text(r, status, body, len + 1, "application/json");
}

static PGresult *oc_exec(PGconn *c, const char *sql, int n, const char *const *p)
{
    return PQexecParams(c, sql, n, NULL, p, NULL, NULL, 0);
}

static bool oc_simple(PGconn *c, const char *sql)
{
    PGresult *res = PQexec(c, sql);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;

    PQclear(res);
    return ok;
}

static void oc_list(struct ac_http_req *r, struct oc_kind *k)
{
    static const char *const allowed[] = {"limit", "cursor", NULL};
    char after[AC_API_CURSOR_MAX], lim[24];
    const char *p[2] = {NULL, lim};
    long limit;
    PGconn *c;
    PGresult *res;

    if (!ac_api_page_params(r, allowed, &limit, after, sizeof(after))) {
        return;
    }
    p[0] = after[0] ? after : NULL;
    (void)snprintf(lim, sizeof(lim), "%ld", limit + 1);
    if (!(c = ac_pg_pool_acquire(r->srv->pool, 5000))) {
        oc_unavailable(r);
        return;
    }
    res = oc_exec(c, k->sql_list, 2, p);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        ac_log(AC_LOG_ERROR, "api", "%s list failed: %s", k->name, PQerrorMessage(c));
        oc_unavailable(r);
    }
    else {
        ac_api_reply_page(r, res, limit);
    }
    PQclear(res);
    ac_pg_pool_release(r->srv->pool, c);
}

static void oc_not_found(struct ac_http_req *r, const struct oc_kind *k)
{
    char *msg = ac_xasprintf("no such %s", k->name);

    ac_http_reply_error(r, 404, "not_found", msg, NULL);
    free(msg);
}

/* For the routes on /{id}: a pool connection, or NULL after answering 404
 * (no such id can exist) or 503. */
static PGconn *oc_open_id(struct ac_http_req *r, const struct oc_kind *k)
{
    PGconn *c;

    if (!ac_api_is_id(r->path_arg)) {
        oc_not_found(r, k);
        return NULL;
    }
    if (!(c = ac_pg_pool_acquire(r->srv->pool, 5000))) {
        oc_unavailable(r);
    }
    return c;
}

/* Whether res holds the row; else answers 503 (logged) or 404. */
static bool oc_row(struct ac_http_req *r, const struct oc_kind *k, PGconn *c, const PGresult *res,
                   const char *what)
{
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        ac_log(AC_LOG_ERROR, "api", "%s %s failed: %s", k->name, what, PQerrorMessage(c));
        oc_unavailable(r);
        return false;
    }
    if (PQntuples(res) == 0) {
        oc_not_found(r, k);
        return false;
    }
    return true;
}

static void oc_get(struct ac_http_req *r, struct oc_kind *k)
{
    const char *p[1] = {r->path_arg};
    PGconn *c = oc_open_id(r, k);
    PGresult *res;

    if (!c) {
        return;
    }
    res = oc_exec(c, k->sql_get, 1, p);
    if (oc_row(r, k, c, res, "get")) {
        oc_reply_row(r, res, 200);
    }
    PQclear(res);
    ac_pg_pool_release(r->srv->pool, c);
}

/* The ids d refers to that do not exist, as 400 details; NULL when all do.
 * Sets *failed on a database error. */
static json_t *oc_missing(PGconn *c, const struct ac_oncall_doc *d, bool *failed)
{
    char *a = oc_ids(d->refs.contacts, d->refs.ncontacts);
    char *b = oc_ids(d->refs.schedules, d->refs.nschedules);
    char *t = oc_ids(d->refs.teams, d->refs.nteams);
    const char *p[3] = {a, b, t};
    static const char *const what[3] = {"contact", "schedule", "team"};
    PGresult *res = oc_exec(c, OC_MISSING, 3, p);
    json_t *errs = NULL;

    *failed = PQresultStatus(res) != PGRES_TUPLES_OK;
    for (int i = 0; !*failed && i < 3; i++) {
        const char *v = PQgetvalue(res, 0, i);
        if (strcmp(v, "{}") != 0) {
            if (!errs) {
                errs = json_array();
            }
            ac_event_error(errs, -1, "$", "unknown %s ids %s", what[i], v);
        }
    }
    PQclear(res);
    free(a);
    free(b);
    free(t);
    return errs;
}

/* Answers a failed write statement: 409 for a unique name or default team. */
static void oc_write_error(struct ac_http_req *r, const struct oc_kind *k, PGconn *c,
                           const PGresult *res)
{
    const char *cons = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
    char *msg;

    if (strcmp(ac_pg_sqlstate(res), "23505") == 0) {
        msg = cons && strcmp(cons, "teams_one_default") == 0
                  ? ac_xstrdup("another team is the default team")
                  : ac_xasprintf("a %s with this name exists", k->name);
        ac_http_reply_error(r, 409, "conflict", msg, NULL);
        free(msg);
        return;
    }
    ac_log(AC_LOG_ERROR, "api", "%s write failed: %s", k->name, PQerrorMessage(c));
    oc_unavailable(r);
}

static void oc_write(struct ac_http_req *r, struct oc_kind *k, bool update)
{
    json_error_t jerr;
    json_t *body, *errs = json_array(), *missing;
    struct ac_oncall_doc d;
    char *docs = NULL, *refs[3] = {NULL, NULL, NULL}, *actor = NULL, pos[24];
    const char *p[9];
    int n = 3;
    PGconn *c;
    PGresult *res;
    bool failed;
    char *msg;

    if (update && !ac_api_is_id(r->path_arg)) {
        oc_not_found(r, k);
        json_decref(errs);
        return;
    }
    body = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
    msg = ac_xasprintf("the %s is not valid", k->name);
    if (!body) {
        ac_event_error(errs, -1, "$", "invalid JSON: %s", jerr.text);
        ac_http_reply_error(r, 400, "invalid_document", msg, errs);
        free(msg);
        return;
    }
    if (ac_oncall_validate(k->kind, body, &d, errs) != AC_OK) {
        ac_http_reply_error(r, 400, "invalid_document", msg, errs);
        json_decref(body);
        free(msg);
        return;
    }
    json_decref(errs);
    docs = json_dumps(d.doc, JSON_COMPACT);
    actor = ac_xasprintf("token:%s", r->principal ? r->principal : "?");
    p[0] = d.name;
    p[1] = docs;
    p[2] = actor;
    if (k->contacts) {
        p[n++] = refs[0] = oc_ids(d.refs.contacts, d.refs.ncontacts);
    }
    if (k->schedules) {
        p[n++] = refs[1] = oc_ids(d.refs.schedules, d.refs.nschedules);
    }
    if (k->teams) {
        p[n++] = refs[2] = oc_ids(d.refs.teams, d.refs.nteams);
    }
    if (k->is_default) {
        p[n++] = d.is_default ? "true" : "false";
    }
    if (k->position) {
        (void)snprintf(pos, sizeof(pos), "%ld", d.position);
        p[n++] = d.position >= 0 ? pos : NULL;
    }
    if (update) {
        p[n++] = r->path_arg;
    }
    if (!(c = ac_pg_pool_acquire(r->srv->pool, 5000))) {
        oc_unavailable(r);
        goto out;
    }
    if (!oc_simple(c, "BEGIN") || !oc_simple(c, OC_LOCK)) {
        oc_unavailable(r);
        goto rollback;
    }
    missing = oc_missing(c, &d, &failed);
    if (failed) {
        oc_unavailable(r);
        goto rollback;
    }
    if (missing) {
        ac_http_reply_error(r, 400, "invalid_document", msg, missing);
        goto rollback;
    }
    res = oc_exec(c, update ? k->sql_update : k->sql_insert, n, p);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        oc_write_error(r, k, c, res); /* a name taken, the default team */
    }
    else if (oc_row(r, k, c, res, "write") && !oc_simple(c, "COMMIT")) {
        oc_unavailable(r);
    }
    else if (PQntuples(res) == 1) {
        oc_reply_row(r, res, update ? 200 : 201);
        ac_log(AC_LOG_INFO, "api", "%s %s %s by %s", k->name, d.name,
               update ? "updated" : "created", actor);
    }
    PQclear(res);
rollback:
    (void)oc_simple(c, "ROLLBACK"); /* a no-op after COMMIT */
    ac_pg_pool_release(r->srv->pool, c);
out:
    ac_oncall_doc_deinit(&d);
    json_decref(body);
    free(docs);
    free(actor);
    free(msg);
    for (int i = 0; i < 3; i++) {
        free(refs[i]);
    }
}

static void oc_delete(struct ac_http_req *r, struct oc_kind *k)
{
    char *actor;
    const char *p[2];
    PGconn *c = oc_open_id(r, k);
    PGresult *res;

    if (!c) {
        return;
    }
    actor = ac_xasprintf("token:%s", r->principal ? r->principal : "?");
    p[0] = r->path_arg;
    p[1] = actor;
    if (!oc_simple(c, "BEGIN") || !oc_simple(c, OC_LOCK)) {
        oc_unavailable(r);
        goto out;
    }
    if (k->users) {
        res = oc_exec(c, k->users, 1, p);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            ac_log(AC_LOG_ERROR, "api", "%s users failed: %s", k->name, PQerrorMessage(c));
            oc_unavailable(r);
            PQclear(res);
            goto out;
        }
        if (PQgetlength(res, 0, 0) > 0) {
            char *m = ac_xasprintf("this %s is in use by %s", k->name, PQgetvalue(res, 0, 0));
            ac_http_reply_error(r, 409, "in_use", m, NULL);
            free(m);
            PQclear(res);
            goto out;
        }
        PQclear(res);
    }
    res = oc_exec(c, k->sql_delete, 2, p);
    if (oc_row(r, k, c, res, "delete")) {
        if (oc_simple(c, "COMMIT")) {
            oc_reply_row(r, res, 200);
        }
        else {
            oc_unavailable(r);
        }
    }
    PQclear(res);
out:
    (void)oc_simple(c, "ROLLBACK");
    ac_pg_pool_release(r->srv->pool, c);
    free(actor);
}

static void oc_dispatch(struct ac_http_req *r, enum ac_oncall_kind kind)
{
    struct oc_kind *k = oc_kind(kind);

    if (strcmp(r->method, "POST") == 0) {
        oc_write(r, k, false);
    }
    else if (strcmp(r->method, "PUT") == 0) {
        oc_write(r, k, true);
    }
    else if (strcmp(r->method, "DELETE") == 0) {
        oc_delete(r, k);
    }
    else if (r->path_arg) {
        oc_get(r, k);
    }
    else {
        oc_list(r, k);
    }
}

void ac_api_contacts(struct ac_http_req *r)
{
    oc_dispatch(r, AC_ONCALL_CONTACT);
}

void ac_api_schedules(struct ac_http_req *r)
{
    oc_dispatch(r, AC_ONCALL_SCHEDULE);
}

void ac_api_teams(struct ac_http_req *r)
{
    oc_dispatch(r, AC_ONCALL_TEAM);
}

void ac_api_routes(struct ac_http_req *r)
{
    oc_dispatch(r, AC_ONCALL_ROUTE);
}

#define OC_SQL_ONCALL_SCHEDULE "SELECT name, doc::text FROM schedules WHERE id = $1::bigint"
#define OC_SQL_ONCALL_CONTACT                                                                      \
    "SELECT ac_oncall_json(w.id, w.name, w.doc, w.created_at, w.updated_at)::text"                 \
    " FROM contacts w WHERE w.id = $1::bigint"

static json_t *oc_time(int64_t s)
{
    char buf[AC_TIME_STRLEN];

    ac_time_format(s * 1000000, buf);
    return json_string(buf);
}

/* GET /v1/schedules/{id}/oncall?at=RFC3339 (default: now) */
void ac_api_schedule_oncall(struct ac_http_req *r)
{
    static const char *const allowed[] = {"at", NULL};
    const char *bad = ac_http_unknown_arg(r, allowed), *at_s = ac_http_arg(r, "at");
    const char *p[1] = {r->path_arg};
    int64_t at_us = ac_time_now_us();
    char idbuf[24];
    struct ac_schedule s;
    struct ac_oncall o;
    json_t *doc, *out, *who = json_null(), *errs;
    PGconn *c;
    PGresult *res;

    if (bad) {
        ac_api_bad_query(r, bad, "is not a parameter here (at)");
        return;
    }
    if (at_s && !ac_time_parse(at_s, &at_us)) {
        ac_api_bad_query(r, "at", "must be an RFC 3339 time");
        return;
    }
    if (!ac_api_is_id(r->path_arg)) {
        oc_not_found(r, oc_kind(AC_ONCALL_SCHEDULE));
        return;
    }
    if (!(c = ac_pg_pool_acquire(r->srv->pool, 5000))) {
        oc_unavailable(r);
        return;
    }
    res = oc_exec(c, OC_SQL_ONCALL_SCHEDULE, 1, p);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) == 0) {
        if (PQresultStatus(res) == PGRES_TUPLES_OK) {
            oc_not_found(r, oc_kind(AC_ONCALL_SCHEDULE));
        }
        else {
            oc_unavailable(r);
        }
        PQclear(res);
        ac_pg_pool_release(r->srv->pool, c);
        return;
    }
    doc = json_loads(PQgetvalue(res, 0, 1), 0, NULL);
    errs = json_array();
    if (!doc || ac_schedule_from_json(doc, &s, errs) != AC_OK) {
        /* stored documents were validated; a zone removed from tzdata since */
        ac_http_reply_error(r, 500, "invalid_schedule", "the stored schedule no longer loads",
                            errs);
        json_decref(doc);
        PQclear(res);
        ac_pg_pool_release(r->srv->pool, c);
        return;
    }
    json_decref(errs);
    ac_schedule_oncall(&s, at_us / 1000000, &o);
    out = json_pack("{s:s, s:s, s:o}", "schedule", r->path_arg, "name", PQgetvalue(res, 0, 0), "at",
                    oc_time(at_us / 1000000));
    PQclear(res);
    if (o.contact) {
        const char *q[1] = {idbuf};
        (void)snprintf(idbuf, sizeof(idbuf), "%lld", (long long)o.contact);
        res = oc_exec(c, OC_SQL_ONCALL_CONTACT, 1, q);
        if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
            who = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
        }
        else {
            who = json_pack("{s:s}", "id", idbuf);
        }
        PQclear(res);
        (void)json_object_set_new(out, "layer",
                                  o.layer >= 0 ? json_string(s.layers[o.layer].name) : json_null());
        (void)json_object_set_new(out, "override", json_boolean(o.layer < 0));
        (void)json_object_set_new(out, "from", oc_time(o.from));
        (void)json_object_set_new(out, "until", o.until ? oc_time(o.until) : json_null());
    }
    (void)json_object_set_new(out, "contact", who ? who : json_null());
    ac_pg_pool_release(r->srv->pool, c);
    ac_schedule_deinit(&s);
    json_decref(doc);
    ac_http_reply_json(r, 200, out);
}
