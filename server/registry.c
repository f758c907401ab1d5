/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The in-memory registry; see registry.h. Like the filter, the loaded copy is
 * immutable behind a read-write lock and replaced whole by the reloader.
 */
#include "server/registry.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "schema/fingerprint.h"
#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/core/strmap.h"
#include "server/reload.h"

#define SQL_RG_APPS    "SELECT app_id, user_id, team, region, namespace FROM apps"
#define SQL_RG_TENANTS "SELECT user_id, gc_level FROM tenants WHERE gc_level IS NOT NULL"
#define SQL_RG_TYPES                                                                               \
    "SELECT type, level, trace, category, array_to_json(fingerprint_dims)::text,"                  \
    " coalesce(compression_window_s, 0), retain_duplicates FROM types"

struct rg_app {
    char *app_id, *user_id, *team, *region, *namespace_;
};

struct rg_type {
    char *type;
    enum ac_level level;
    enum ac_trace trace;
    enum ac_category category;
    bool has_dims;
    char **dims;
    struct ac_fp_dims fp;
    int64_t compress_window; /* µs */
    bool retain_duplicates;
};

struct rg_set {
    struct rg_app *apps;
    size_t napps;
    struct ac_strmap app_index;
    char **tenant_ids;
    int *gc_levels;
    size_t ntenants;
    struct ac_strmap tenant_index;
    struct rg_type *types;
    size_t ntypes;
    struct ac_strmap type_index;
};

struct ac_registry {
    pthread_rwlock_t lock;
    struct rg_set *cur;
    struct ac_reloader *reloader;
};

static char *rg_dup(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : ac_xstrdup(PQgetvalue(res, row, col));
}

static void rg_set_free(struct rg_set *s)
{
    if (!s) {
        return;
    }
    for (size_t i = 0; i < s->napps; i++) {
        struct rg_app *a = &s->apps[i];
        free(a->app_id);
        free(a->user_id);
        free(a->team);
        free(a->region);
        free(a->namespace_);
    }
    for (size_t i = 0; i < s->ntenants; i++) {
        free(s->tenant_ids[i]);
    }
    for (size_t i = 0; i < s->ntypes; i++) {
        for (size_t k = 0; k < s->types[i].fp.n; k++) {
            free(s->types[i].dims[k]);
        }
        free(s->types[i].dims);
        free(s->types[i].type);
    }
    free(s->apps);
    free(s->tenant_ids);
    free(s->gc_levels);
    free(s->types);
    ac_strmap_deinit(&s->app_index);
    ac_strmap_deinit(&s->tenant_index);
    ac_strmap_deinit(&s->type_index);
    free(s);
}

static void rg_load_types(struct rg_set *s, PGresult *res)
{
    int n = PQntuples(res);

    s->types = ac_xcalloc((size_t)n + 1, sizeof(*s->types));
    ac_strmap_init(&s->type_index, (size_t)n);
    for (int i = 0; i < n; i++) {
        struct rg_type *t = &s->types[s->ntypes];
        json_t *dims = PQgetisnull(res, i, 4) ? NULL : json_loads(PQgetvalue(res, i, 4), 0, NULL);
        size_t k;
        json_t *d;

        t->type = rg_dup(res, i, 0);
        if (!PQgetisnull(res, i, 1)) {
            (void)ac_level_parse(PQgetvalue(res, i, 1), &t->level);
        }
        if (!PQgetisnull(res, i, 2)) {
            (void)ac_trace_parse(PQgetvalue(res, i, 2), &t->trace);
        }
        if (!PQgetisnull(res, i, 3)) {
            (void)ac_category_parse(PQgetvalue(res, i, 3), &t->category);
        }
        if (json_is_array(dims)) {
            t->has_dims = true;
            t->dims = ac_xcalloc(json_array_size(dims) + 1, sizeof(char *));
            json_array_foreach(dims, k, d)
            {
                t->dims[t->fp.n++] = ac_xstrdup(json_string_value(d) ? json_string_value(d) : "");
            }
            t->fp.names = (const char *const *)t->dims;
        }
        json_decref(dims);
        t->compress_window = strtoll(PQgetvalue(res, i, 5), NULL, 10) * 1000000;
        t->retain_duplicates = PQgetvalue(res, i, 6)[0] == 't';
        *ac_strmap_upsert(&s->type_index, t->type, strlen(t->type), (int64_t)s->ntypes, NULL) =
            (int64_t)s->ntypes;
        s->ntypes++;
    }
}

static void *rg_load(void *ctx, PGconn *c)
{
    PGresult *apps = PQexec(c, SQL_RG_APPS), *tenants = PQexec(c, SQL_RG_TENANTS),
             *types = PQexec(c, SQL_RG_TYPES);
    struct rg_set *s = NULL;
    int n;

    (void)ctx;
    if (PQresultStatus(apps) != PGRES_TUPLES_OK || PQresultStatus(tenants) != PGRES_TUPLES_OK ||
        PQresultStatus(types) != PGRES_TUPLES_OK) {
        ac_log(AC_LOG_WARN, "registry", "cannot load: %s", PQerrorMessage(c));
        goto cleanup;
    }
    s = ac_xcalloc(1, sizeof(*s));
    n = PQntuples(apps);
    s->apps = ac_xcalloc((size_t)n + 1, sizeof(*s->apps));
    ac_strmap_init(&s->app_index, (size_t)n);
    for (int i = 0; i < n; i++) {
        struct rg_app *a = &s->apps[i];
        a->app_id = rg_dup(apps, i, 0);
        a->user_id = rg_dup(apps, i, 1);
        a->team = rg_dup(apps, i, 2);
        a->region = rg_dup(apps, i, 3);
        a->namespace_ = rg_dup(apps, i, 4);
        *ac_strmap_upsert(&s->app_index, a->app_id, strlen(a->app_id), i, NULL) = i;
    }
    s->napps = (size_t)n;
    n = PQntuples(tenants);
    s->tenant_ids = ac_xcalloc((size_t)n + 1, sizeof(char *));
    s->gc_levels = ac_xcalloc((size_t)n + 1, sizeof(int));
    ac_strmap_init(&s->tenant_index, (size_t)n);
    for (int i = 0; i < n; i++) {
        s->tenant_ids[i] = rg_dup(tenants, i, 0);
        s->gc_levels[i] = atoi(PQgetvalue(tenants, i, 1));
        *ac_strmap_upsert(&s->tenant_index, s->tenant_ids[i], strlen(s->tenant_ids[i]), i, NULL) =
            i;
    }
    s->ntenants = (size_t)n;
    rg_load_types(s, types);
    ac_log(AC_LOG_INFO, "registry", "loaded apps=%zu tenants=%zu types=%zu", s->napps, s->ntenants,
           s->ntypes);
cleanup:
    PQclear(apps);
    PQclear(tenants);
    PQclear(types);
    return s;
}

static void rg_install(void *ctx, PGconn *c, void *copy)
{
    struct ac_registry *r = ctx;
    struct rg_set *old;

    (void)c;
    pthread_rwlock_wrlock(&r->lock);
    old = r->cur;
    r->cur = copy;
    pthread_rwlock_unlock(&r->lock);
    rg_set_free(old);
}

static const struct ac_reload_ops rg_ops = {"registry", rg_load, rg_install, NULL};

struct ac_registry *ac_registry_start(const struct ac_config *cfg)
{
    struct ac_registry *r = ac_xcalloc(1, sizeof(*r));

    pthread_rwlock_init(&r->lock, NULL);
    r->reloader = ac_reloader_start(cfg->pg_dsn, &rg_ops, r);
    if (!r->reloader) {
        pthread_rwlock_destroy(&r->lock);
        free(r);
        return NULL;
    }
    return r;
}

void ac_registry_stop(struct ac_registry *r)
{
    if (!r) {
        return;
    }
    ac_reloader_stop(r->reloader);
    rg_set_free(r->cur);
    pthread_rwlock_destroy(&r->lock);
    free(r);
}

void ac_registry_poke(struct ac_registry *r)
{
    ac_reloader_poke(r->reloader);
}

static const void *rg_find(const struct ac_strmap *m, const void *base, size_t size,
                           const char *key)
{
    int64_t *idx = key ? ac_strmap_get(m, key, strlen(key)) : NULL;

    return idx ? (const char *)base + (size_t)*idx * size : NULL;
}

void ac_registry_normalize(struct ac_registry *r, struct ac_event *ev)
{
    const struct rg_type *t;

    pthread_rwlock_rdlock(&r->lock);
    t = rg_find(&r->cur->type_index, r->cur->types, sizeof(*t), ev->type);
    if (t) {
        ac_registry_fill_type(ev, t->level, t->trace, t->category);
        ev->compress_window = t->compress_window;
        ev->retain_duplicates = t->retain_duplicates;
    }
    ac_event_apply_defaults(ev);
    if (json_string_length(json_object_get(ev->labels, "dedup_key"))) {
        /* an explicit dedup key (PagerDuty's dedup_key) alone names the alert */
        static const char *const dk[] = {"labels.dedup_key"};
        static const struct ac_fp_dims by_key = {dk, 1};
        ac_fingerprint(ev, &by_key, ev->fingerprint);
    }
    else {
        ac_fingerprint(ev, t && t->has_dims ? &t->fp : NULL, ev->fingerprint);
    }
    pthread_rwlock_unlock(&r->lock);
}

static char *rg_fill(char *have, const char *from)
{
    return (have || !from) ? have : ac_xstrdup(from);
}

void ac_registry_fill_type(struct ac_event *ev, enum ac_level level, enum ac_trace trace,
                           enum ac_category category)
{
    ev->level = ev->level ? ev->level : level;
    ev->trace = ev->trace ? ev->trace : trace;
    ev->category = ev->category ? ev->category : category;
}

void ac_registry_fill_app(struct ac_event *ev, const char *user_id, const char *region,
                          const char *namespace_, const char *team)
{
    ev->user_id = rg_fill(ev->user_id, user_id);
    ev->region = rg_fill(ev->region, region);
    ev->namespace_ = rg_fill(ev->namespace_, namespace_);
    if (team && !(ev->labels && json_object_get(ev->labels, "team"))) {
        if (!ev->labels) {
            ev->labels = json_object();
        }
        json_object_set_new(ev->labels, "team", json_string(team));
    }
}

void ac_registry_fill_gc(struct ac_event *ev, int gc_level)
{
    if (!ev->gc_level && gc_level >= 1 && gc_level <= 7) {
        ev->gc_level = gc_level;
    }
}

void ac_registry_enrich(struct ac_registry *r, struct ac_event *ev)
{
    const struct rg_app *a;
    int64_t *ti;

    pthread_rwlock_rdlock(&r->lock);
    a = rg_find(&r->cur->app_index, r->cur->apps, sizeof(*a), ev->app_id);
    if (a) {
        ac_registry_fill_app(ev, a->user_id, a->region, a->namespace_, a->team);
    }
    if (ev->user_id &&
        (ti = ac_strmap_get(&r->cur->tenant_index, ev->user_id, strlen(ev->user_id)))) {
        ac_registry_fill_gc(ev, r->cur->gc_levels[*ti]);
    }
    pthread_rwlock_unlock(&r->lock);
}
