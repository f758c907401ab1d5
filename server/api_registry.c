/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The metadata registry through the API: /v1/apps, /v1/tenants, /v1/types.
 * GET lists (by key, cursor-paged) or fetches one (scope read); POST upserts
 * one object, a JSON array or NDJSON - thousands of records in one request,
 * all validated first and written by one statement; PUT upserts the record
 * named by the path; DELETE removes it (scope admin). Every write is an
 * audit-log entry in the same statement, and this instance's registry is
 * reloaded before the answer (the others within 250 ms).
 *
 * The three resources differ only in their field table and SQL, below.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/fingerprint.h"
#include "server/api.h"
#include "server/apikit.h"
#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/core/pg.h"
#include "server/core/strmap.h"
#include "server/registry.h"
#include "server/server.h"

#define RG_BULK_MAX 100000

enum rgf_kind {
    RGF_KEY,
    RGF_STR,
    RGF_INT,
    RGF_BOOL,
    RGF_LEVEL,
    RGF_TRACE,
    RGF_CATEGORY,
    RGF_DIMS,
    RGF_TAGS
};

struct rg_field {
    const char *name;
    enum rgf_kind kind;
    long min, max; /* RGF_INT bounds; string kinds: max characters */
};

/* A registry resource: list, get and delete as every resource of the API
 * toolkit, and a bulk upsert for POST and PUT. */
struct rg_resource {
    struct ac_api_resource api;    /* first: api.post and api.put find the rest */
    const struct rg_field *fields; /* the key first; {NULL} ends */
    const char *sql_upsert;        /* one array per field, then actor, then single key (or NULL) */
};

static void rg_post(struct ac_http_req *r, const struct ac_api_resource *api);
static void rg_poke(struct ac_http_req *r);

static const struct rg_field rg_app_fields[] = {
    {"app_id", RGF_KEY, 0, 256}, {"user_id", RGF_STR, 0, 256},   {"team", RGF_STR, 0, 256},
    {"region", RGF_STR, 0, 256}, {"namespace", RGF_STR, 0, 256}, {"tags", RGF_TAGS, 0, 1024},
    {NULL, RGF_STR, 0, 0},
};

static const struct rg_resource rg_apps = {
    {.name = "app",
     .invalid = "invalid_request",
     .list = {"apps list", NULL,
              "SELECT ac_app_json(a)::text, a.app_id FROM apps a WHERE ($1::text IS NULL OR "
              "a.app_id > $1)"
              " ORDER BY a.app_id LIMIT $2",
              AC_KEY_TEXT},
     .sql_get = "SELECT ac_app_json(a)::text FROM apps a WHERE a.app_id = $1",
     .sql_delete = "WITH w AS (DELETE FROM apps WHERE app_id = $1 RETURNING *),"
                   " a AS (INSERT INTO audit_log (actor, action, target_type, target_id, details)"
                   " SELECT $2, 'app.delete', 'app', w.app_id, ac_app_json(w) FROM w)"
                   " SELECT ac_app_json(w)::text FROM w",
     .post = rg_post,
     .put = rg_post,
     .changed = rg_poke},
    rg_app_fields,
    "WITH w AS (INSERT INTO apps (app_id, user_id, team, region, namespace, tags)"
    " SELECT k, u, t, r, n, coalesce(g, '{}') FROM unnest($1::text[], $2::text[], $3::text[],"
    " $4::text[], $5::text[], $6::jsonb[]) AS v(k, u, t, r, n, g)"
    " ON CONFLICT (app_id) DO UPDATE SET user_id = EXCLUDED.user_id, team = EXCLUDED.team,"
    " region = EXCLUDED.region, namespace = EXCLUDED.namespace, tags = EXCLUDED.tags,"
    " updated_at = now() RETURNING 1),"
    " a AS (INSERT INTO audit_log (actor, action, target_type, target_id, details)"
    " SELECT $7, 'app.upsert', 'app', $8, jsonb_build_object('count', (SELECT count(*) FROM w)))"
    " SELECT count(*) FROM w",
};

static const struct rg_field rg_tenant_fields[] = {
    {"user_id", RGF_KEY, 0, 256},         {"gc_level", RGF_INT, 1, 7}, {"name", RGF_STR, 0, 256},
    {"primary_contact", RGF_STR, 0, 256}, {NULL, RGF_STR, 0, 0},
};

static const struct rg_resource rg_tenants = {
    {.name = "tenant",
     .invalid = "invalid_request",
     .list = {"tenants list", NULL,
              "SELECT ac_tenant_json(t)::text, t.user_id FROM tenants t WHERE ($1::text IS NULL OR"
              " t.user_id > $1) ORDER BY t.user_id LIMIT $2",
              AC_KEY_TEXT},
     .sql_get = "SELECT ac_tenant_json(t)::text FROM tenants t WHERE t.user_id = $1",
     .sql_delete = "WITH w AS (DELETE FROM tenants WHERE user_id = $1 RETURNING *),"
                   " a AS (INSERT INTO audit_log (actor, action, target_type, target_id, details)"
                   " SELECT $2, 'tenant.delete', 'tenant', w.user_id, ac_tenant_json(w) FROM w)"
                   " SELECT ac_tenant_json(w)::text FROM w",
     .post = rg_post,
     .put = rg_post,
     .changed = rg_poke},
    rg_tenant_fields,
    "WITH w AS (INSERT INTO tenants (user_id, gc_level, name, primary_contact)"
    " SELECT * FROM unnest($1::text[], $2::smallint[], $3::text[], $4::text[])"
    " ON CONFLICT (user_id) DO UPDATE SET gc_level = EXCLUDED.gc_level, name = EXCLUDED.name,"
    " primary_contact = EXCLUDED.primary_contact, updated_at = now() RETURNING 1),"
    " a AS (INSERT INTO audit_log (actor, action, target_type, target_id, details)"
    " SELECT $5, 'tenant.upsert', 'tenant', $6, jsonb_build_object('count', (SELECT count(*)"
    " FROM w)))"
    " SELECT count(*) FROM w",
};

static const struct rg_field rg_type_fields[] = {
    {"type", RGF_KEY, 0, 128},
    {"level", RGF_LEVEL, 0, 0},
    {"trace", RGF_TRACE, 0, 0},
    {"category", RGF_CATEGORY, 0, 0},
    {"fingerprint_dims", RGF_DIMS, 0, 32},
    {"compression_window_s", RGF_INT, 0, 365 * 86400},
    {"resolve_timeout_s", RGF_INT, 0, 365 * 86400},
    {"retain_duplicates", RGF_BOOL, 0, 0},
    {"runbook_url", RGF_STR, 0, 1024},
    {"title_template", RGF_STR, 0, 512},
    {NULL, RGF_STR, 0, 0},
};

static const struct rg_resource rg_types = {
    {.name = "type",
     .invalid = "invalid_request",
     .list = {"types list", NULL,
              "SELECT ac_type_json(t)::text, t.type FROM types t WHERE ($1::text IS NULL OR t.type "
              "> $1)"
              " ORDER BY t.type LIMIT $2",
              AC_KEY_TEXT},
     .sql_get = "SELECT ac_type_json(t)::text FROM types t WHERE t.type = $1",
     .sql_delete = "WITH w AS (DELETE FROM types WHERE type = $1 RETURNING *),"
                   " a AS (INSERT INTO audit_log (actor, action, target_type, target_id, details)"
                   " SELECT $2, 'type.delete', 'type', w.type, ac_type_json(w) FROM w)"
                   " SELECT ac_type_json(w)::text FROM w",
     .post = rg_post,
     .put = rg_post,
     .changed = rg_poke},
    rg_type_fields,
    "WITH w AS (INSERT INTO types (type, level, trace, category, fingerprint_dims,"
    " compression_window_s, resolve_timeout_s, retain_duplicates, runbook_url, title_template)"
    " SELECT k, l, tr, c, (SELECT array_agg(x) FROM jsonb_array_elements_text(d) x), cw, rt,"
    " coalesce(rd, false), ru, tt FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],"
    " $5::jsonb[], $6::int[], $7::int[], $8::bool[], $9::text[], $10::text[])"
    " AS v(k, l, tr, c, d, cw, rt, rd, ru, tt)"
    " ON CONFLICT (type) DO UPDATE SET level = EXCLUDED.level, trace = EXCLUDED.trace,"
    " category = EXCLUDED.category, fingerprint_dims = EXCLUDED.fingerprint_dims,"
    " compression_window_s = EXCLUDED.compression_window_s,"
    " resolve_timeout_s = EXCLUDED.resolve_timeout_s,"
    " retain_duplicates = EXCLUDED.retain_duplicates, runbook_url = EXCLUDED.runbook_url,"
    " title_template = EXCLUDED.title_template, updated_at = now() RETURNING 1),"
    " a AS (INSERT INTO audit_log (actor, action, target_type, target_id, details)"
    " SELECT $11, 'type.upsert', 'type', $12, jsonb_build_object('count', (SELECT count(*)"
    " FROM w)))"
    " SELECT count(*) FROM w",
};

static size_t rg_nfields(const struct rg_resource *res)
{
    size_t n = 0;

    while (res->fields[n].name) {
        n++;
    }
    return n;
}

/* Validates one field value and appends it to its array; problems to errors. */
static void rg_field(const struct rg_field *f, const json_t *v, long index, struct ac_buf *arr,
                     json_t *errors)
{
    char path[96], num[24];
    const char *s = json_string_value(v);
    int tmp;

    (void)snprintf(path, sizeof(path), "$.%s", f->name);
    if (!v || json_is_null(v)) {
        if (f->kind == RGF_KEY) {
            ac_event_error(errors, index, path, "required field is missing");
        }
        ac_pg_array_add(arr, NULL);
        return;
    }
    switch (f->kind) {
        case RGF_KEY:
        case RGF_STR:
            if (!s || ac_utf8_len(s) > (size_t)f->max || (f->kind == RGF_KEY && !*s)) {
                ac_event_error(errors, index, path, "must be a string of %s%ld characters",
                               f->kind == RGF_KEY ? "1 to " : "at most ", f->max);
                s = NULL;
            }
            ac_pg_array_add(arr, s);
            return;
        case RGF_INT:
            if (!json_is_integer(v) || json_integer_value(v) < f->min ||
                json_integer_value(v) > f->max) {
                ac_event_error(errors, index, path, "must be an integer from %ld to %ld", f->min,
                               f->max);
                ac_pg_array_add(arr, NULL);
                return;
            }
            (void)snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            ac_pg_array_add(arr, num);
            return;
        case RGF_BOOL:
            if (!json_is_boolean(v)) {
                ac_event_error(errors, index, path, "must be true or false");
            }
            ac_pg_array_add(arr, json_is_true(v) ? "true" : "false");
            return;
        case RGF_LEVEL:
        case RGF_TRACE:
        case RGF_CATEGORY:
            if (!s || !(f->kind == RGF_LEVEL   ? ac_level_parse(s, (enum ac_level *)&tmp)
                        : f->kind == RGF_TRACE ? ac_trace_parse(s, (enum ac_trace *)&tmp)
                                               : ac_category_parse(s, (enum ac_category *)&tmp))) {
                ac_event_error(errors, index, path, "unknown value");
                s = NULL;
            }
            ac_pg_array_add(arr, s);
            return;
        case RGF_DIMS:
        case RGF_TAGS: {
            bool ok = f->kind == RGF_DIMS ? json_is_array(v) && json_array_size(v) <= (size_t)f->max
                                          : json_is_object(v) && json_object_size(v) <= 64;
            char *dump;
            size_t i;
            const char *k;
            json_t *e;
            if (ok && f->kind == RGF_DIMS) {
                json_array_foreach(v, i, e)
                {
                    ok &= json_is_string(e) && ac_fp_dim_is_valid(json_string_value(e));
                }
            }
            else if (ok) {
                json_object_foreach((json_t *)v, k, e)
                {
                    ok &= json_is_string(e) && ac_utf8_len(json_string_value(e)) <= 1024 &&
                          ac_utf8_len(k) <= 128;
                }
            }
            if (!ok) {
                ac_event_error(errors, index, path,
                               f->kind == RGF_DIMS
                                   ? "must be a list of fingerprint dimensions (region, "
                                     "app_id, resource.name, labels.<key>, ...)"
                                   : "must be an object of at most 64 strings");
                ac_pg_array_add(arr, NULL);
                return;
            }
            dump = json_dumps(v, JSON_COMPACT);
            ac_pg_array_add(arr, dump);
            free(dump);
            return;
        }
    }
}

/* Validates one record into the arrays. */
static void rg_record(const struct rg_resource *res, const json_t *obj, long index,
                      struct ac_buf *arrs, json_t *errors)
{
    const char *k;
    json_t *v;

    if (!json_is_object(obj)) {
        ac_event_error(errors, index, "$", "a record is a JSON object");
        return;
    }
    json_object_foreach((json_t *)obj, k, v)
    {
        bool known = false;
        for (const struct rg_field *f = res->fields; f->name; f++) {
            known |= strcmp(f->name, k) == 0;
        }
        if (!known) {
            char path[160];
            (void)snprintf(path, sizeof(path), "$.%.128s", k);
            ac_event_error(errors, index, path, "unknown field");
        }
    }
    for (size_t i = 0; res->fields[i].name; i++) {
        rg_field(&res->fields[i], json_object_get(obj, res->fields[i].name), index, &arrs[i],
                 errors);
    }
}

static void rg_poke(struct ac_http_req *r)
{
    ac_registry_poke(r->srv->registry);
}

/* The records of a POST body: one object, an array, or NDJSON. Returns a new
 * array, or NULL after answering 400. */
static json_t *rg_records(struct ac_http_req *r)
{
    const char *ct = ac_http_header(r, "Content-Type");
    json_t *items = json_array(), *v, *errs = json_array();
    json_error_t jerr;

    if (ct && strncasecmp(ct, "application/x-ndjson", 20) == 0) {
        const char *p = r->body, *end = r->body + r->body_len;
        long line = 0;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
            line++;
            if (strspn(p, " \t\r") < n) {
                v = json_loadb(p, n, JSON_REJECT_DUPLICATES, &jerr);
                if (!v) {
                    ac_event_error(errs, (long)json_array_size(items), "$",
                                   "invalid JSON on line %ld: %s", line, jerr.text);
                }
                json_array_append_new(items, v ? v : json_null());
            }
            p += n + (nl ? 1 : 0);
        }
    }
    else {
        v = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
        if (!v) {
            ac_event_error(errs, -1, "$", "invalid JSON: %s", jerr.text);
        }
        else if (json_is_array(v)) {
            json_array_extend(items, v);
        }
        else {
            json_array_append(items, v);
        }
        json_decref(v);
    }
    if (json_array_size(errs) == 0 &&
        (json_array_size(items) == 0 || json_array_size(items) > RG_BULK_MAX)) {
        ac_event_error(errs, -1, "$", "send 1 to %d records", RG_BULK_MAX);
    }
    if (json_array_size(errs) > 0) {
        ac_http_reply_error(r, 400, "invalid_request",
                            "the records are not valid; nothing was stored", errs);
        json_decref(items);
        return NULL;
    }
    json_decref(errs);
    return items;
}

/* Validates records (keys unique) and upserts them in one statement. */
static void rg_upsert(struct ac_http_req *r, const struct rg_resource *res, json_t *items,
                      const char *single_key)
{
    size_t nf = rg_nfields(res), i;
    struct ac_buf arrs[16];
    const char *p[18];
    json_t *errs = json_array(), *v;
    struct ac_strmap seen;
    char *actor = ac_api_actor(r);
    PGconn *c = NULL;
    PGresult *pr = NULL;

    memset(arrs, 0, sizeof(arrs));
    ac_strmap_init(&seen, json_array_size(items));
    json_array_foreach(items, i, v)
    {
        const char *key = json_string_value(json_object_get(v, res->fields[0].name));
        bool added = true;
        rg_record(res, v, single_key ? -1 : (long)i, arrs, errs);
        if (key) {
            (void)ac_strmap_upsert(&seen, key, strlen(key), 0, &added);
        }
        if (!added) {
            ac_event_error(errs, (long)i, "$", "the key %.64s appears twice", key);
        }
    }
    if (json_array_size(errs) > 0) {
        ac_http_reply_error(r, 400, "invalid_request",
                            "the records are not valid; nothing was stored", errs);
        errs = NULL;
        goto cleanup;
    }
    for (i = 0; i < nf; i++) {
        ac_pg_array_close(&arrs[i]);
        p[i] = arrs[i].data;
    }
    p[nf] = actor;
    p[nf + 1] = single_key;
    if (!(c = ac_api_db(r))) {
        goto cleanup;
    }
    if (!(pr = ac_pg_query(c, NULL, res->sql_upsert, (int)nf + 2, p))) {
        ac_api_unavailable(r, c, res->api.name);
        goto cleanup;
    }
    rg_poke(r);
    ac_http_reply_json(
        r, 200,
        json_pack("{s:I}", "upserted", (json_int_t)strtoll(PQgetvalue(pr, 0, 0), NULL, 10)));
cleanup:
    PQclear(pr);
    ac_api_db_release(r, c);
    for (i = 0; i < 16; i++) {
        ac_buf_deinit(&arrs[i]);
    }
    ac_strmap_deinit(&seen);
    json_decref(errs);
    free(actor);
}

/* POST (one object, an array or NDJSON) and PUT (one object, keyed by the
 * path): a bulk upsert. */
static void rg_post(struct ac_http_req *r, const struct ac_api_resource *api)
{
    const struct rg_resource *res = (const struct rg_resource *)api;
    json_t *items, *obj;

    if (!(items = rg_records(r))) {
        return;
    }
    if (r->path_arg) { /* PUT: one object, keyed by the path */
        obj = json_array_get(items, 0);
        if (json_array_size(items) != 1 || !json_is_object(obj)) {
            ac_http_reply_error(r, 400, "invalid_request", "PUT takes one JSON object", NULL);
            json_decref(items);
            return;
        }
        json_object_set_new(obj, res->fields[0].name, json_string(r->path_arg));
    }
    rg_upsert(r, res, items, r->path_arg);
    json_decref(items);
}

void ac_api_apps(struct ac_http_req *r)
{
    ac_api_resource(r, &rg_apps.api);
}

void ac_api_tenants(struct ac_http_req *r)
{
    ac_api_resource(r, &rg_tenants.api);
}

void ac_api_types(struct ac_http_req *r)
{
    ac_api_resource(r, &rg_types.api);
}
