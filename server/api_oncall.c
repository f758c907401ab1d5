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
 * entry. The four are resources of the API toolkit (apikit.h) that differ
 * only in the columns of struct oc_kind; their SQL is assembled from those
 * constants at first use, never from request data.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escalation/notify/oncall.h"
#include "escalation/notify/plan.h"
#include "escalation/notify/schedule.h"
#include "schema/timefmt.h"
#include "server/api.h"
#include "server/apikit.h"
#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/core/pg.h"
#include "server/grouping.h"
#include "server/outbox.h"
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
    const char *users;          /* SQL: the names of what refers to $1, or NULL */
    struct ac_api_resource res; /* made at first use */
};

static struct oc_kind oc_kinds[] = {
    {AC_ONCALL_CONTACT,
     "contact",
     "contacts",
     false,
     false,
     false,
     false,
     false,
     "SELECT concat_ws(', ', (SELECT string_agg('schedule ' || to_json(name)::text, ', ')"
     " FROM schedules WHERE contact_refs @> ARRAY[$1::bigint]), (SELECT string_agg('team ' ||"
     " to_json(name)::text, ', ') FROM teams WHERE contact_refs @> ARRAY[$1::bigint]))",
     {0}},
    {AC_ONCALL_SCHEDULE,
     "schedule",
     "schedules",
     true,
     false,
     false,
     false,
     false,
     "SELECT (SELECT string_agg('team ' || to_json(name)::text, ', ') FROM teams"
     " WHERE schedule_refs @> ARRAY[$1::bigint])",
     {0}},
    {AC_ONCALL_TEAM,
     "team",
     "teams",
     true,
     true,
     false,
     true,
     false,
     "SELECT (SELECT string_agg('route ' || to_json(name)::text, ', ') FROM routes"
     " WHERE team_refs @> ARRAY[$1::bigint])",
     {0}},
    {AC_ONCALL_ROUTE, "route", "routes", false, false, true, false, true, NULL, {0}},
};

static pthread_once_t oc_once = PTHREAD_ONCE_INIT;

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

/* The kind whose resource res is. */
static struct oc_kind *oc_kind_of(const struct ac_api_resource *res)
{
    return (struct oc_kind *)(void *)((const char *)res - offsetof(struct oc_kind, res));
}

static void oc_doc_free(void *d)
{
    ac_oncall_doc_deinit(d);
    free(d);
}

/* Validates a document into p: $1 name, $2 doc, then the kind's columns in
 * the order of oc_build_sql. */
static bool oc_parse(struct ac_http_req *r, const struct ac_api_resource *res, const json_t *body,
                     struct ac_api_write *w)
{
    struct oc_kind *k = oc_kind_of(res);
    struct ac_oncall_doc *d = ac_xcalloc(1, sizeof(*d));
    json_t *errs = json_array();
    char *msg;

    if (ac_oncall_validate(k->kind, body, d, errs) != AC_OK) {
        msg = ac_xasprintf("the %s is not valid", k->name);
        ac_http_reply_error(r, 400, "invalid_document", msg, errs);
        free(msg);
        free(d);
        return false;
    }
    json_decref(errs);
    w->ctx = d;
    w->ctx_free = oc_doc_free;
    w->p[w->n++] = d->name;
    w->p[w->n++] = ac_arena_own(&w->ar, json_dumps(d->doc, JSON_COMPACT));
    if (k->contacts) {
        w->p[w->n++] = ac_arena_own(&w->ar, oc_ids(d->refs.contacts, d->refs.ncontacts));
    }
    if (k->schedules) {
        w->p[w->n++] = ac_arena_own(&w->ar, oc_ids(d->refs.schedules, d->refs.nschedules));
    }
    if (k->teams) {
        w->p[w->n++] = ac_arena_own(&w->ar, oc_ids(d->refs.teams, d->refs.nteams));
    }
    if (k->is_default) {
        w->p[w->n++] = d->is_default ? "true" : "false";
    }
    if (k->position) {
        w->p[w->n++] =
            d->position >= 0 ? ac_arena_own(&w->ar, ac_xasprintf("%ld", d->position)) : NULL;
    }
    return true;
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
    PGresult *res = ac_pg_query(c, "api", OC_MISSING, 3, p);
    json_t *errs = NULL;

    *failed = res == NULL;
    for (int i = 0; res && i < 3; i++) {
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

/* Under the lock: a write's references must exist (400); what is deleted
 * must not be in use (409). */
static bool oc_check(struct ac_http_req *r, const struct ac_api_resource *rs, PGconn *c,
                     const struct ac_api_write *w)
{
    struct oc_kind *k = oc_kind_of(rs);
    const char *p[1] = {r->path_arg};
    PGresult *res;
    json_t *missing;
    bool failed, ok = false;
    char *m;

    if (w) {
        missing = oc_missing(c, w->ctx, &failed);
        if (failed) {
            ac_api_unavailable(r, c, "on-call references");
        }
        else if (missing) {
            m = ac_xasprintf("the %s is not valid", k->name);
            ac_http_reply_error(r, 400, "invalid_document", m, missing);
            free(m);
        }
        return !failed && !missing;
    }
    if (!k->users) {
        return true;
    }
    if (!(res = ac_pg_query(c, "api", k->users, 1, p))) {
        ac_api_unavailable(r, NULL, k->name);
    }
    else if (PQgetlength(res, 0, 0) > 0) {
        m = ac_xasprintf("this %s is in use by %s", k->name, PQgetvalue(res, 0, 0));
        ac_http_reply_error(r, 409, "in_use", m, NULL);
        free(m);
    }
    else {
        ok = true;
    }
    PQclear(res);
    return ok;
}

static const char *oc_conflict_of(const char *cons)
{
    return cons && strcmp(cons, "teams_one_default") == 0 ? "another team is the default team"
                                                          : NULL;
}

/* The API form of row w of k's table. */
static char *oc_json_expr(const struct oc_kind *k)
{
    return ac_xasprintf("(ac_oncall_json(w.id, w.name, w.doc, w.created_at, w.updated_at)%s)",
                        k->position ? " || jsonb_build_object('position', w.position)" : "");
}

/* The kind's resource. A write's parameters: $1 name, $2 doc, then the
 * kind's columns in this order, then the actor, then (update) the id. */
/* A route's group_by applies to the next event this instance takes in. */
static void oc_routes_changed(struct ac_http_req *r)
{
    ac_grouping_poke(r->srv->grouping);
}

static void oc_build(struct oc_kind *k)
{
    struct ac_buf cols = {0}, vals = {0}, sets = {0};
    struct ac_api_resource *res = &k->res;
    char *json = oc_json_expr(k);
    int n = 2;

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
    res->name = k->name;
    res->invalid = "invalid_document";
    res->conflict = ac_xasprintf("a %s with this name exists", k->name);
    res->key_is_id = true;
    res->list.what = k->table;
    res->list.sql = ac_xasprintf("SELECT %s::text, w.id FROM %s w WHERE ($1::bigint IS NULL OR"
                                 " w.id > $1) ORDER BY w.id LIMIT $2",
                                 json, k->table);
    res->list.key = AC_KEY_ID;
    res->sql_get =
        ac_xasprintf("SELECT %s::text FROM %s w WHERE w.id = $1::bigint", json, k->table);
    res->sql_create = ac_xasprintf(
        "WITH w AS (INSERT INTO %s (name, doc, created_by%s) VALUES ($1, $2::jsonb, $%d%s)"
        " RETURNING *), a AS (INSERT INTO audit_log (actor, action, target_type, target_id,"
        " details) SELECT $%d, '%s.create', '%s', w.id::text, %s FROM w) SELECT %s::text FROM w",
        k->table, cols.data ? cols.data : "", n + 1, vals.data ? vals.data : "", n + 1, k->name,
        k->name, json, json);
    res->sql_update = ac_xasprintf(
        "WITH w AS (UPDATE %s w SET name = $1, doc = $2::jsonb%s WHERE w.id = $%d::bigint"
        " RETURNING w.*), a AS (INSERT INTO audit_log (actor, action, target_type, target_id,"
        " details, before) SELECT $%d, '%s.update', '%s', w.id::text, %s, (SELECT %s FROM %s w"
        " WHERE w.id = $%d::bigint) FROM w) SELECT %s::text FROM w",
        k->table, sets.data ? sets.data : "", n + 2, n + 1, k->name, k->name, json, json, k->table,
        n + 2, json);
    res->sql_delete = ac_xasprintf(
        "WITH w AS (DELETE FROM %s w WHERE w.id = $1::bigint RETURNING w.*), a AS (INSERT INTO"
        " audit_log (actor, action, target_type, target_id, details) SELECT $2, '%s.delete',"
        " '%s', w.id::text, %s FROM w) SELECT %s::text FROM w",
        k->table, k->name, k->name, json, json);
    res->parse = oc_parse;
    res->lock = OC_LOCK;
    res->check = oc_check;
    res->conflict_of = oc_conflict_of;
    res->changed = k->kind == AC_ONCALL_ROUTE ? oc_routes_changed : NULL;
    free(json);
    ac_buf_deinit(&cols);
    ac_buf_deinit(&vals);
    ac_buf_deinit(&sets);
}

static void oc_init(void)
{
    for (size_t i = 0; i < sizeof(oc_kinds) / sizeof(oc_kinds[0]); i++) {
        oc_build(&oc_kinds[i]);
    }
}

static void oc_dispatch(struct ac_http_req *r, enum ac_oncall_kind kind)
{
    (void)pthread_once(&oc_once, oc_init);
    ac_api_resource(r, &oc_kinds[kind].res);
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
        ac_api_not_found(r, "schedule");
        return;
    }
    if (!(c = ac_api_db(r))) {
        return;
    }
    res = ac_pg_query(c, "api", OC_SQL_ONCALL_SCHEDULE, 1, p);
    if (!res || PQntuples(res) == 0) {
        if (res) {
            ac_api_not_found(r, "schedule");
        }
        else {
            ac_api_unavailable(r, NULL, "schedule");
        }
        PQclear(res);
        ac_api_db_release(r, c);
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
        ac_api_db_release(r, c);
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
        res = ac_pg_query(c, "api", OC_SQL_ONCALL_CONTACT, 1, q);
        if (res && PQntuples(res) == 1) {
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
    ac_api_db_release(r, c);
    ac_schedule_deinit(&s);
    json_decref(doc);
    ac_http_reply_json(r, 200, out);
}

/* GET /v1/oncall?at=&team=: who is on call, per team and escalation tier
 * (ac_snapshot_oncall), from the same snapshot the notifier plans with. */
void ac_api_oncall_now(struct ac_http_req *r)
{
    static const char *const allowed[] = {"at", "team", NULL};
    const char *bad = ac_http_unknown_arg(r, allowed), *at_s = ac_http_arg(r, "at");
    const char *team = ac_http_arg(r, "team");
    int64_t at_us = ac_time_now_us();
    struct ac_oncall_snapshot o;
    json_t *teams, *t, *out;
    size_t i;
    PGconn *c;

    if (bad) {
        ac_api_bad_query(r, bad, "is not a parameter here (at, team)");
        return;
    }
    if (at_s && !ac_time_parse(at_s, &at_us)) {
        ac_api_bad_query(r, "at", "must be an RFC 3339 time");
        return;
    }
    if (!(c = ac_api_db(r))) {
        return;
    }
    if (!ac_outbox_snapshot(c, &o)) {
        ac_api_unavailable(r, c, "on-call snapshot");
        ac_snapshot_deinit(&o);
        ac_api_db_release(r, c);
        return;
    }
    ac_api_db_release(r, c);
    teams = ac_snapshot_oncall(&o, at_us / 1000000);
    ac_snapshot_deinit(&o);
    out = json_array();
    json_array_foreach(teams, i, t)
    {
        if (!team || strcmp(team, json_string_value(json_object_get(t, "name"))) == 0 ||
            strcmp(team, json_string_value(json_object_get(t, "id"))) == 0) {
            json_array_append(out, t);
        }
    }
    json_decref(teams);
    if (team && json_array_size(out) == 0) {
        json_decref(out);
        ac_api_not_found(r, "team");
        return;
    }
    ac_http_reply_json(r, 200, json_pack("{s:o}", "teams", out));
}
