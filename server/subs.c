/* SPDX-License-Identifier: Apache-2.0 */
/* Subscriptions in memory; see subs.h. */
#include "server/subs.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/core/pg.h"
#include "server/core/strmap.h"
#include "server/reload.h"

#define SB "subscriptions"

#define SQL_SUBS_LOAD                                                                              \
    "SELECT id, tenant_id, array_to_json(categories)::text, array_to_json(apps)::text,"            \
    " array_to_json(namespaces)::text, array_to_json(regions)::text, cycle_s, threshold"           \
    " FROM subscriptions WHERE enabled ORDER BY tenant_id, id"

struct sub_list {
    char **v;
    size_t n;
};

struct sub {
    int64_t id;
    char *tenant;
    unsigned cats; /* 1 << enum ac_category */
    struct sub_list apps, namespaces, regions;
    int64_t cycle_us, threshold;
};

struct sub_set {
    struct sub *v; /* sorted by tenant */
    size_t n;
    struct ac_strmap idx; /* tenant -> index of its first */
};

struct ac_subs {
    pthread_rwlock_t lock;
    struct sub_set *set;
    struct ac_reloader *reloader;
};

static void sub_list_free(struct sub_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i]);
    }
    free(l->v);
}

static void sub_set_free(struct sub_set *set)
{
    if (!set) {
        return;
    }
    for (size_t i = 0; i < set->n; i++) {
        free(set->v[i].tenant);
        sub_list_free(&set->v[i].apps);
        sub_list_free(&set->v[i].namespaces);
        sub_list_free(&set->v[i].regions);
    }
    ac_strmap_deinit(&set->idx);
    free(set->v);
    free(set);
}

static void sub_list_load(const char *json, struct sub_list *l)
{
    json_t *a = json_loads(json, 0, NULL), *v;
    size_t i;

    l->v = ac_xcalloc(json_array_size(a) + 1, sizeof(*l->v));
    json_array_foreach(a, i, v)
    {
        l->v[l->n++] = ac_xstrdup(json_string_value(v) ? json_string_value(v) : "");
    }
    json_decref(a);
}

static void *subs_load(void *ctx, PGconn *c)
{
    static const char *const cats[] = {[AC_CATEGORY_RUNTIME] = "runtime",
                                       [AC_CATEGORY_CHANGE] = "change",
                                       [AC_CATEGORY_SYSTEM] = "system",
                                       [AC_CATEGORY_CLOUD_PRODUCT] = "cloud_product"};
    PGresult *r = ac_pg_query(c, SB, SQL_SUBS_LOAD, 0, NULL);
    struct sub_set *set;
    int n;

    (void)ctx;
    if (!r) {
        return NULL;
    }
    n = PQntuples(r);
    set = ac_xcalloc(1, sizeof(*set));
    set->v = ac_xcalloc((size_t)n + 1, sizeof(*set->v));
    ac_strmap_init(&set->idx, (size_t)n + 1);
    for (int i = 0; i < n; i++) {
        struct sub *s = &set->v[set->n++];
        json_t *ca = json_loads(PQgetvalue(r, i, 2), 0, NULL), *v;
        size_t k;

        s->id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        s->tenant = ac_xstrdup(PQgetvalue(r, i, 1));
        json_array_foreach(ca, k, v)
        {
            for (unsigned ct = AC_CATEGORY_RUNTIME; ct <= AC_CATEGORY_CLOUD_PRODUCT; ct++) {
                if (json_string_value(v) && strcmp(json_string_value(v), cats[ct]) == 0) {
                    s->cats |= 1u << ct;
                }
            }
        }
        json_decref(ca);
        sub_list_load(PQgetvalue(r, i, 3), &s->apps);
        sub_list_load(PQgetvalue(r, i, 4), &s->namespaces);
        sub_list_load(PQgetvalue(r, i, 5), &s->regions);
        s->cycle_us = strtoll(PQgetvalue(r, i, 6), NULL, 10) * 1000000;
        s->threshold = strtoll(PQgetvalue(r, i, 7), NULL, 10);
        (void)ac_strmap_upsert(&set->idx, s->tenant, strlen(s->tenant), (int64_t)(set->n - 1),
                               NULL);
    }
    PQclear(r);
    return set;
}

static void subs_install(void *ctx, PGconn *c, void *copy)
{
    struct ac_subs *s = ctx;
    struct sub_set *old;

    (void)c;
    pthread_rwlock_wrlock(&s->lock);
    old = s->set;
    s->set = copy;
    pthread_rwlock_unlock(&s->lock);
    sub_set_free(old);
    ac_log(AC_LOG_DEBUG, SB, "in force: %zu", ((struct sub_set *)copy)->n);
}

static const struct ac_reload_ops subs_ops = {
    .version_name = "subscriptions", .load = subs_load, .install = subs_install};

struct ac_subs *ac_subs_start(const struct ac_config *cfg)
{
    struct ac_subs *s = ac_xcalloc(1, sizeof(*s));

    pthread_rwlock_init(&s->lock, NULL);
    if (!(s->reloader = ac_reloader_start(cfg->pg_dsn, &subs_ops, s))) {
        pthread_rwlock_destroy(&s->lock);
        free(s);
        return NULL;
    }
    return s;
}

void ac_subs_stop(struct ac_subs *s)
{
    if (!s) {
        return;
    }
    ac_reloader_stop(s->reloader);
    sub_set_free(s->set);
    pthread_rwlock_destroy(&s->lock);
    free(s);
}

void ac_subs_poke(struct ac_subs *s)
{
    if (s) {
        ac_reloader_poke(s->reloader);
    }
}

size_t ac_subs_count(struct ac_subs *s)
{
    size_t n;

    if (!s) {
        return 0;
    }
    pthread_rwlock_rdlock(&s->lock);
    n = s->set ? s->set->n : 0;
    pthread_rwlock_unlock(&s->lock);
    return n;
}

/* Whether v is in l (an empty list holds everything). */
static bool sub_in(const struct sub_list *l, const char *v)
{
    if (l->n == 0) {
        return true;
    }
    for (size_t i = 0; v && i < l->n; i++) {
        if (strcmp(l->v[i], v) == 0) {
            return true;
        }
    }
    return false;
}

size_t ac_subs_match(struct ac_subs *s, const struct ac_event *ev, struct ac_sub_hit *out,
                     size_t max)
{
    size_t n = 0;
    const int64_t *first;

    if (!s || !ev->user_id || ev->category == AC_CATEGORY_UNSET) {
        return 0;
    }
    pthread_rwlock_rdlock(&s->lock);
    if (s->set && (first = ac_strmap_get(&s->set->idx, ev->user_id, strlen(ev->user_id)))) {
        for (size_t i = (size_t)*first; i < s->set->n && n < max; i++) {
            const struct sub *sb = &s->set->v[i];
            if (strcmp(sb->tenant, ev->user_id) != 0) {
                break;
            }
            if ((sb->cats & (1u << ev->category)) && sub_in(&sb->apps, ev->app_id) &&
                sub_in(&sb->namespaces, ev->namespace_) && sub_in(&sb->regions, ev->region)) {
                out[n++] = (struct ac_sub_hit){
                    sb->id, ev->received_at - ev->received_at % sb->cycle_us, sb->threshold};
            }
        }
    }
    pthread_rwlock_unlock(&s->lock);
    return n;
}
