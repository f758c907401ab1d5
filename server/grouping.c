/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The grouping stage; see grouping.h. The routes (and the default team) in
 * force are an immutable
 * set behind a read-write lock: request threads read it, the reloader swaps
 * a new one in.
 */
#include "server/grouping.h"

#include <pthread.h>
#include <stdlib.h>

#include "escalation/group.h"
#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/core/pg.h"
#include "server/reload.h"

#define SQL_GR_LOAD "SELECT doc::text FROM routes ORDER BY position, id"
#define SQL_GR_TEAM "SELECT id FROM teams WHERE is_default ORDER BY id LIMIT 1"

struct ac_grouping {
    struct ac_reloader *reloader;
    pthread_rwlock_t lock;
    struct ac_group_routes *cur; /* under lock */
};

static void gr_free(struct ac_group_routes *r)
{
    if (r) {
        ac_group_routes_deinit(r);
        free(r);
    }
}

static void *gr_load(void *ctx, PGconn *c)
{
    PGresult *res = ac_pg_query(c, "grouping", SQL_GR_LOAD, 0, NULL);
    struct ac_group_routes *r;

    (void)ctx;
    if (!res) {
        return NULL;
    }
    r = ac_xcalloc(1, sizeof(*r));
    for (int i = 0; i < PQntuples(res); i++) {
        json_t *doc = json_loads(PQgetvalue(res, i, 0), 0, NULL);
        if (!doc || !ac_group_routes_add(r, doc)) {
            ac_log(AC_LOG_WARN, "grouping", "a route does not load; it groups nothing");
        }
        json_decref(doc);
    }
    PQclear(res);
    if (!(res = ac_pg_query(c, "grouping", SQL_GR_TEAM, 0, NULL))) {
        gr_free(r);
        return NULL;
    }
    r->default_team = PQntuples(res) ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    PQclear(res);
    return r;
}

static void gr_install(void *ctx, PGconn *c, void *copy)
{
    struct ac_grouping *g = ctx;
    struct ac_group_routes *old;

    (void)c;
    pthread_rwlock_wrlock(&g->lock);
    old = g->cur;
    g->cur = copy;
    pthread_rwlock_unlock(&g->lock);
    gr_free(old);
}

static const struct ac_reload_ops gr_ops = {"oncall", gr_load, gr_install, NULL};

struct ac_grouping *ac_grouping_start(const struct ac_config *cfg)
{
    struct ac_grouping *g = ac_xcalloc(1, sizeof(*g));

    pthread_rwlock_init(&g->lock, NULL);
    if (!(g->reloader = ac_reloader_start(cfg->pg_dsn, &gr_ops, g))) {
        ac_log(AC_LOG_ERROR, "grouping", "cannot load the routes");
        pthread_rwlock_destroy(&g->lock);
        free(g);
        return NULL;
    }
    return g;
}

void ac_grouping_stop(struct ac_grouping *g)
{
    if (!g) {
        return;
    }
    ac_reloader_stop(g->reloader);
    gr_free(g->cur);
    pthread_rwlock_destroy(&g->lock);
    free(g);
}

void ac_grouping_apply(struct ac_grouping *g, struct ac_event *ev)
{
    char key[AC_GROUP_KEY_SIZE];

    pthread_rwlock_rdlock(&g->lock);
    ac_group_routes_key(g->cur, ev, key, &ev->team);
    pthread_rwlock_unlock(&g->lock);
    free(ev->group_key);
    ev->group_key = key[0] ? ac_xstrdup(key) : NULL;
}

void ac_grouping_poke(struct ac_grouping *g)
{
    ac_reloader_poke(g->reloader);
}
