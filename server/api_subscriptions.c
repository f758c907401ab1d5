/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The event center (DESIGN §7): /v1/subscriptions and GET
 * /v1/tenants/{id}/events. A token bound to a tenant (scope tenant) sees and
 * changes only its tenant's: its subscriptions (another tenant's are a 404,
 * as if absent) and its events (another tenant's list is a 403). Other
 * tokens: read for reading, admin for writing, any tenant.
 *
 * A subscription: {tenant_id, name, categories: [runtime|change|system|
 * cloud_product], scope: {apps, namespaces, regions} (empty: all),
 * cycle_s, threshold (events within a cycle that trigger it), contacts:
 * [contact ids], channels: [configured channel names], enabled}. Writes are
 * audited (subscription.create|update|delete) with before and after.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escalation/notify/config.h"
#include "schema/event.h"
#include "server/api.h"
#include "server/apikit.h"
#include "server/core/mem.h"
#include "server/core/pg.h"
#include "server/server.h"
#include "server/subs.h"

#define SB_LIST_MAX 1000 /* entries of a scope or contact list */
#define SB_TEXT_MAX 128

#define SQL_SB_WRITE_COLS                                                                          \
    "name, categories, apps, namespaces, regions, cycle_s, threshold, contact_ids, channels,"      \
    " enabled"
#define SQL_SB_INSERT                                                                              \
    "WITH w AS (INSERT INTO subscriptions (tenant_id, " SQL_SB_WRITE_COLS ", created_by)"          \
    " SELECT $1, $2, ARRAY(SELECT jsonb_array_elements_text($3::jsonb)),"                          \
    " ARRAY(SELECT jsonb_array_elements_text($4::jsonb)),"                                         \
    " ARRAY(SELECT jsonb_array_elements_text($5::jsonb)),"                                         \
    " ARRAY(SELECT jsonb_array_elements_text($6::jsonb)), $7::int, $8::int,"                       \
    " ARRAY(SELECT jsonb_array_elements_text($9::jsonb)::bigint),"                                 \
    " ARRAY(SELECT jsonb_array_elements_text($10::jsonb)), $11::boolean, $12 RETURNING *),"        \
    " a AS (INSERT INTO audit_log (actor, action, target_type, target_id, details)"                \
    " SELECT $12, 'subscription.create', 'subscription', w.id::text, ac_subscription_json(w)"      \
    " FROM w) SELECT ac_subscription_json(w)::text FROM w"
/* $13: the id; $14: the bound tenant (NULL: any) */
#define SQL_SB_UPDATE                                                                              \
    "WITH w AS (UPDATE subscriptions s SET tenant_id = $1, name = $2, categories ="                \
    " ARRAY(SELECT jsonb_array_elements_text($3::jsonb)), apps ="                                  \
    " ARRAY(SELECT jsonb_array_elements_text($4::jsonb)), namespaces ="                            \
    " ARRAY(SELECT jsonb_array_elements_text($5::jsonb)), regions ="                               \
    " ARRAY(SELECT jsonb_array_elements_text($6::jsonb)), cycle_s = $7::int, threshold ="          \
    " $8::int, contact_ids = ARRAY(SELECT jsonb_array_elements_text($9::jsonb)::bigint),"          \
    " channels = ARRAY(SELECT jsonb_array_elements_text($10::jsonb)), enabled = $11::boolean,"     \
    " updated_at = now() WHERE s.id = $13::bigint AND ($14::text IS NULL OR s.tenant_id = $14)"    \
    " RETURNING s.*), a AS (INSERT INTO audit_log (actor, action, target_type, target_id,"         \
    " details, before) SELECT $12, 'subscription.update', 'subscription', w.id::text,"             \
    " ac_subscription_json(w), (SELECT ac_subscription_json(o) FROM subscriptions o"               \
    " WHERE o.id = $13::bigint) FROM w) SELECT ac_subscription_json(w)::text FROM w"
#define SQL_SB_DELETE                                                                              \
    "WITH w AS (DELETE FROM subscriptions s WHERE s.id = $1::bigint AND ($3::text IS NULL OR"      \
    " s.tenant_id = $3) RETURNING s.*), d AS (DELETE FROM sub_windows x USING w"                   \
    " WHERE x.subscription_id = w.id), a AS (INSERT INTO audit_log (actor, action, target_type,"   \
    " target_id, details) SELECT $2, 'subscription.delete', 'subscription', w.id::text,"           \
    " ac_subscription_json(w) FROM w) SELECT ac_subscription_json(w)::text FROM w"
#define SQL_SB_GET                                                                                 \
    "SELECT ac_subscription_json(s)::text FROM subscriptions s WHERE s.id = $1::bigint"            \
    " AND ($2::text IS NULL OR s.tenant_id = $2)"
#define SQL_SB_CONTACTS_EXIST                                                                      \
    "SELECT count(*) = (SELECT count(DISTINCT x) FROM jsonb_array_elements_text($1::jsonb) x)"     \
    " FROM contacts WHERE id::text IN (SELECT jsonb_array_elements_text($1::jsonb))"

static const struct ac_api_filter sb_filters[] = {
    {"tenant_id", AC_ARG_TEXT, NULL, NULL},
    {NULL, AC_ARG_TEXT, NULL, NULL},
};

static const struct ac_api_list sb_list = {
    "subscriptions list",
    sb_filters,
    "SELECT ac_subscription_json(s)::text, s.id FROM subscriptions s"
    " WHERE ($1::text IS NULL OR s.tenant_id = $1) AND ($2::bigint IS NULL OR s.id > $2)"
    " ORDER BY s.id LIMIT $3",
    AC_KEY_ID,
};

/* The events of a tenant: GET /v1/events' filters but user_id. */
static const char *const sb_ev_status[] = {"firing", "resolved", NULL};
static const char *const sb_categories[] = {"runtime", "change", "system", "cloud_product", NULL};
static const struct ac_api_filter sb_ev_filters[] = {
    {"category", AC_ARG_CHOICE, sb_categories, NULL},
    {"type", AC_ARG_TEXT, NULL, NULL},
    {"level", AC_ARG_LEVEL, NULL, NULL},
    {"status", AC_ARG_CHOICE, sb_ev_status, NULL},
    {"app_id", AC_ARG_TEXT, NULL, NULL},
    {"namespace", AC_ARG_TEXT, NULL, NULL},
    {"region", AC_ARG_TEXT, NULL, NULL},
    {"since", AC_ARG_TIME, NULL, NULL},
    {"until", AC_ARG_TIME, NULL, NULL},
    {NULL, AC_ARG_TEXT, NULL, NULL},
};

static const struct ac_api_list sb_events = {
    "tenant events list",
    sb_ev_filters,
    "SELECT ac_event_json(e)::text, e.id FROM events e WHERE e.user_id = $10"
    " AND ($1::text IS NULL OR e.category = $1) AND ($2::text IS NULL OR e.type = $2)"
    " AND ($3::text IS NULL OR e.level = $3) AND ($4::text IS NULL OR e.status = $4)"
    " AND ($5::text IS NULL OR e.app_id = $5) AND ($6::text IS NULL OR e.namespace = $6)"
    " AND ($7::text IS NULL OR e.region = $7) AND ($8::timestamptz IS NULL OR e.received_at >= $8)"
    " AND ($9::timestamptz IS NULL OR e.received_at < $9)"
    " AND ($11::bigint IS NULL OR e.id < $11) ORDER BY e.id DESC LIMIT $12",
    AC_KEY_ID,
};

/* A list of at most max strings of at most SB_TEXT_MAX bytes (absent:
 * empty), as JSON text into *out (arena); ids: each a decimal id; choices:
 * each one of them. Problems into errs at path. */
static void sb_strings(const json_t *v, const char *path, size_t max, bool ids,
                       const char *const *choices, json_t *errs, struct ac_arena *ar,
                       const char **out)
{
    size_t i;
    json_t *s;
    bool ok = !v || json_is_array(v);

    ok = ok && json_array_size(v) <= max;
    json_array_foreach(v, i, s)
    {
        const char *t = json_string_value(s);
        bool one = t && *t && strlen(t) <= SB_TEXT_MAX && (!ids || ac_api_is_id(t));
        if (one && choices) {
            bool in = false;
            for (const char *const *c = choices; *c; c++) {
                in = in || strcmp(*c, t) == 0;
            }
            one = in;
        }
        ok = ok && one;
    }
    if (!ok) {
        ac_event_error(errs, -1, path, "must be a list of at most %zu %s", max,
                       ids       ? "contact ids"
                       : choices ? "of runtime, change, system, cloud_product"
                                 : "non-empty strings");
    }
    *out = ac_arena_own(ar, v ? json_dumps(v, JSON_COMPACT) : ac_xstrdup("[]"));
}

/* Validates a subscription body into p[0..12) (p[11] the actor, set by the
 * caller); false after answering 400. */
static bool sb_parse(struct ac_http_req *r, PGconn *c, const json_t *body, struct ac_arena *ar,
                     const char **p)
{
    static const char *const keys[] = {"tenant_id", "name",     "categories", "scope",   "cycle_s",
                                       "threshold", "contacts", "channels",   "enabled", NULL};
    json_t *errs = json_array(), *scope = json_object_get(body, "scope"), *v;
    const char *tenant = json_string_value(json_object_get(body, "tenant_id")), *k;
    json_int_t cycle = json_integer_value(json_object_get(body, "cycle_s"));
    json_int_t thr = json_integer_value(json_object_get(body, "threshold"));
    size_t i;

    json_object_foreach((json_t *)body, k, v)
    {
        bool known = false;
        for (size_t j = 0; keys[j]; j++) {
            known = known || strcmp(keys[j], k) == 0;
        }
        if (!known) {
            ac_event_error(errs, -1, "$", "unknown field %s", k);
        }
    }
    if (r->tenant && tenant && strcmp(tenant, r->tenant) != 0) {
        ac_event_error(errs, -1, "$.tenant_id", "this token may only subscribe for %s", r->tenant);
    }
    tenant = r->tenant ? r->tenant : tenant;
    if (!tenant || !*tenant || strlen(tenant) > SB_TEXT_MAX) {
        ac_event_error(errs, -1, "$.tenant_id", "the tenant (user_id) is required");
    }
    p[0] = tenant;
    p[1] = json_string_value(json_object_get(body, "name"));
    if (!p[1] || !*p[1] || strlen(p[1]) > SB_TEXT_MAX) {
        ac_event_error(errs, -1, "$.name", "a name of 1 to 128 bytes is required");
    }
    sb_strings(json_object_get(body, "categories"), "$.categories", 4, false, sb_categories, errs,
               ar, &p[2]);
    if (json_array_size(json_object_get(body, "categories")) == 0) {
        ac_event_error(errs, -1, "$.categories", "at least one category");
    }
    if (scope && !json_is_object(scope)) {
        ac_event_error(errs, -1, "$.scope", "an object of apps, namespaces, regions");
    }
    json_object_foreach(scope, k, v)
    {
        if (strcmp(k, "apps") && strcmp(k, "namespaces") && strcmp(k, "regions")) {
            ac_event_error(errs, -1, "$.scope", "unknown field %s", k);
        }
    }
    sb_strings(json_object_get(scope, "apps"), "$.scope.apps", SB_LIST_MAX, false, NULL, errs, ar,
               &p[3]);
    sb_strings(json_object_get(scope, "namespaces"), "$.scope.namespaces", SB_LIST_MAX, false, NULL,
               errs, ar, &p[4]);
    sb_strings(json_object_get(scope, "regions"), "$.scope.regions", SB_LIST_MAX, false, NULL, errs,
               ar, &p[5]);
    if (!json_is_integer(json_object_get(body, "cycle_s")) || cycle < 60 || cycle > 604800) {
        ac_event_error(errs, -1, "$.cycle_s", "the detection cycle: 60 to 604800 seconds");
    }
    if (!json_is_integer(json_object_get(body, "threshold")) || thr < 1 || thr > 1000000) {
        ac_event_error(errs, -1, "$.threshold",
                       "events within a cycle that trigger it: 1 to 1000000");
    }
    p[6] = ac_arena_own(ar, ac_xasprintf("%lld", (long long)cycle));
    p[7] = ac_arena_own(ar, ac_xasprintf("%lld", (long long)thr));
    sb_strings(json_object_get(body, "contacts"), "$.contacts", 100, true, NULL, errs, ar, &p[8]);
    sb_strings(json_object_get(body, "channels"), "$.channels", AC_NOTIFY_CHANNELS_MAX, false, NULL,
               errs, ar, &p[9]);
    json_array_foreach(json_object_get(body, "channels"), i, v)
    {
        if (json_is_string(v) && !ac_notify_channel(&r->srv->notify, json_string_value(v))) {
            ac_event_error(errs, -1, "$.channels", "no channel %s is configured",
                           json_string_value(v));
        }
    }
    v = json_object_get(body, "enabled");
    if (v && !json_is_boolean(v)) {
        ac_event_error(errs, -1, "$.enabled", "true or false");
    }
    p[10] = json_is_false(v) ? "false" : "true";
    if (json_array_size(errs) == 0 && json_array_size(json_object_get(body, "contacts")) > 0) {
        PGresult *res = ac_pg_query(c, NULL, SQL_SB_CONTACTS_EXIST, 1, &p[8]);
        if (res && PQgetvalue(res, 0, 0)[0] != 't') {
            ac_event_error(errs, -1, "$.contacts", "names a contact that does not exist");
        }
        PQclear(res);
    }
    if (json_array_size(errs) > 0) {
        ac_http_reply_error(r, 400, "invalid_subscription", "the subscription is not valid", errs);
        return false;
    }
    json_decref(errs);
    return true;
}

/* POST, or PUT of id: validated, written, audited. */
static void sb_write(struct ac_http_req *r, const char *id)
{
    struct ac_arena ar = {0};
    const char *p[14] = {0};
    json_t *body = ac_api_body_object(r, "invalid_subscription", "the body is not valid");
    PGconn *c;
    PGresult *res, *failed = NULL;

    if (!body || !(c = ac_api_db(r))) {
        json_decref(body);
        return;
    }
    if (sb_parse(r, c, body, &ar, p)) {
        p[11] = ac_arena_own(&ar, ac_api_actor(r));
        p[12] = id;
        p[13] = r->tenant;
        res =
            ac_pg_query_or(c, id ? SQL_SB_UPDATE : SQL_SB_INSERT, id ? 14 : 12,
                           id ? (const char *const[]){p[0], p[1], p[2], p[3], p[4], p[5], p[6],
                                                      p[7], p[8], p[9], p[10], p[11], p[12], p[13]}
                              : p,
                           &failed);
        if (!res && failed && strcmp(ac_pg_sqlstate(failed), "23505") == 0) {
            ac_http_reply_error(r, 409, "conflict", "this tenant has a subscription of this name",
                                NULL);
        }
        else if (!res) {
            ac_api_unavailable(r, c, "subscription write");
        }
        else if (PQntuples(res) == 0) {
            ac_api_not_found(r, "subscription");
        }
        else {
            ac_subs_poke(r->srv->subs); /* in force here before the answer */
            ac_api_reply_row(r, res, id ? 200 : 201);
        }
        PQclear(res);
        PQclear(failed);
    }
    ac_api_db_release(r, c);
    ac_arena_deinit(&ar);
    json_decref(body);
}

void ac_api_subscriptions(struct ac_http_req *r)
{
    if (strcmp(r->method, "POST") == 0) {
        sb_write(r, NULL);
        return;
    }
    if (r->tenant) { /* its own only, whatever the query says */
        const char *t = ac_http_arg(r, "tenant_id");
        if (t && strcmp(t, r->tenant) != 0) {
            ac_http_reply_error(r, 403, "forbidden",
                                "this token is bound to a tenant: only its subscriptions", NULL);
            return;
        }
        ac_api_list_bound(r, &sb_list, 0, r->tenant);
        return;
    }
    ac_api_list(r, &sb_list);
}

void ac_api_subscription(struct ac_http_req *r)
{
    const char *p[3] = {r->path_arg, NULL, r->tenant};
    PGconn *c;
    PGresult *res;
    char *actor;

    if (!ac_api_is_id(r->path_arg)) {
        ac_api_not_found(r, "subscription");
        return;
    }
    if (strcmp(r->method, "PUT") == 0) {
        sb_write(r, r->path_arg);
        return;
    }
    if (!(c = ac_api_db(r))) {
        return;
    }
    actor = ac_api_actor(r);
    if (strcmp(r->method, "DELETE") == 0) {
        p[1] = actor;
        res = ac_pg_query(c, NULL, SQL_SB_DELETE, 3, p);
        if (res && PQntuples(res) > 0) {
            ac_subs_poke(r->srv->subs);
        }
    }
    else {
        p[1] = r->tenant;
        res = ac_pg_query(c, NULL, SQL_SB_GET, 2, p);
    }
    if (!res) {
        ac_api_unavailable(r, c, "subscription");
    }
    else if (PQntuples(res) == 0) {
        ac_api_not_found(r, "subscription");
    }
    else {
        ac_api_reply_row(r, res, 200);
    }
    PQclear(res);
    free(actor);
    ac_api_db_release(r, c);
}

void ac_api_tenant_events(struct ac_http_req *r)
{
    if (r->tenant && strcmp(r->tenant, r->path_arg) != 0) {
        ac_http_reply_error(r, 403, "forbidden", "this token is bound to a tenant: only its events",
                            NULL);
        return;
    }
    ac_api_list_bound(r, &sb_events, 9, r->path_arg);
}
