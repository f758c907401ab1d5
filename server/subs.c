/* SPDX-License-Identifier: Apache-2.0 */
/* Subscriptions in memory; see subs.h. */
#include "server/subs.h"

#include <pthread.h>
#include <stdlib.h>

#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/core/pg.h"
#include "server/reload.h"

#define SB "subscriptions"

#define SQL_SUBS_LOAD                                                                              \
    "SELECT id, tenant_id, array_to_json(categories)::text, array_to_json(apps)::text,"            \
    " array_to_json(namespaces)::text, array_to_json(regions)::text, cycle_s, threshold"           \
    " FROM subscriptions WHERE enabled ORDER BY tenant_id, id"

struct ac_subs {
    pthread_rwlock_t lock;
    struct ac_sub_set *set;
    struct ac_reloader *reloader;
};

static void *subs_load(void *ctx, PGconn *c)
{
    PGresult *r = ac_pg_query(c, SB, SQL_SUBS_LOAD, 0, NULL);
    struct ac_sub_set *set;

    (void)ctx;
    if (!r) {
        return NULL;
    }
    set = ac_sub_set_new((size_t)PQntuples(r));
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *a[4];
        for (int k = 0; k < 4; k++) {
            a[k] = json_loads(PQgetvalue(r, i, 2 + k), 0, NULL);
        }
        ac_sub_set_add(set, strtoll(PQgetvalue(r, i, 0), NULL, 10), PQgetvalue(r, i, 1), a[0], a[1],
                       a[2], a[3], strtoll(PQgetvalue(r, i, 6), NULL, 10),
                       strtoll(PQgetvalue(r, i, 7), NULL, 10));
        for (int k = 0; k < 4; k++) {
            json_decref(a[k]);
        }
    }
    PQclear(r);
    return set;
}

static void subs_install(void *ctx, PGconn *c, void *copy)
{
    struct ac_subs *s = ctx;
    struct ac_sub_set *old;

    (void)c;
    pthread_rwlock_wrlock(&s->lock);
    old = s->set;
    s->set = copy;
    pthread_rwlock_unlock(&s->lock);
    ac_sub_set_free(old);
    ac_log(AC_LOG_DEBUG, SB, "in force: %zu", ac_sub_set_size(copy));
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
    ac_sub_set_free(s->set);
    pthread_rwlock_destroy(&s->lock);
    free(s);
}

void ac_subs_poke(struct ac_subs *s)
{
    if (s) {
        ac_reloader_poke(s->reloader);
    }
}

const struct ac_sub_set *ac_subs_hold(struct ac_subs *s)
{
    if (!s) {
        return NULL;
    }
    pthread_rwlock_rdlock(&s->lock);
    return s->set;
}

void ac_subs_release(struct ac_subs *s)
{
    if (s) {
        pthread_rwlock_unlock(&s->lock);
    }
}
