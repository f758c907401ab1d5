/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The filter stage; see filter.h.
 *
 * DESIGN
 * ------
 * The rules in force are an immutable set behind a read-write lock: request
 * threads evaluate under the read lock (no database access, no allocation);
 * the reloader (reload.h) swaps in a new set under the write lock. Drop counts
 * are atomic counters on the rules of the set; on every poll they are added to
 * the rules' `dropped` column, and the old set's counters are drained after a
 * swap (no reader can hold it then). A failed flush puts the counts back, so
 * they are late but not lost while the database is away.
 */
#include "server/filter.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "schema/timefmt.h"
#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/core/pg.h"
#include "server/reload.h"
#include "server/rules.h"

#define SQL_FL_LOAD                                                                                \
    "SELECT id, position, action, matchers::text,"                                                 \
    " coalesce((extract(epoch FROM expires_at) * 1000000)::bigint, 0)"                             \
    " FROM filter_rules ORDER BY position, id"
#define SQL_FL_FLUSH                                                                               \
    "UPDATE filter_rules f SET dropped = f.dropped + v.n"                                          \
    " FROM unnest($1::bigint[], $2::bigint[]) AS v(id, n) WHERE f.id = v.id"
#define SQL_FL_SEED                                                                                \
    "INSERT INTO filter_rules (name, position, action, matchers, expires_at, comment, created_by)" \
    " VALUES ($1, coalesce($2::int, (SELECT coalesce(max(position), 0) + 10 FROM filter_rules)),"  \
    " $3, $4::jsonb, $5::timestamptz, $6, 'config') ON CONFLICT (name) DO NOTHING"

struct fl_set {
    struct ac_rule *rules;
    size_t n;
};

struct ac_filter {
    const struct ac_config *cfg;
    pthread_rwlock_t lock;
    struct fl_set *cur; /* replaced only on the reloader's thread */
    struct ac_reloader *reloader;
};

static void fl_set_free(struct fl_set *s)
{
    if (!s) {
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        ac_rule_deinit(&s->rules[i]);
    }
    free(s->rules);
    free(s);
}

static int fl_validate(const json_t *rules, bool log)
{
    json_t *r, *errs = json_array(), *e;
    size_t i, j;
    int rc = AC_OK;

    if (rules && !json_is_array(rules)) {
        if (log) {
            ac_log(AC_LOG_ERROR, "config", "filters.rules must be an array of rules");
        }
        json_decref(errs);
        return AC_EINVAL;
    }
    json_array_foreach(rules, i, r)
    {
        struct ac_rule rule;
        json_array_clear(errs);
        if (ac_rule_from_json(&rule, r, errs) != AC_OK) {
            rc = AC_EINVAL;
        }
        else if (!rule.name) {
            ac_event_error(errs, -1, "$.name", "a seeded rule needs a name");
            rc = AC_EINVAL;
        }
        ac_rule_deinit(&rule);
        json_array_foreach(errs, j, e)
        {
            if (log) {
                ac_log(AC_LOG_ERROR, "config", "filters.rules[%zu]%s: %s", i,
                       json_string_value(json_object_get(e, "path")) + 1,
                       json_string_value(json_object_get(e, "message")));
            }
        }
    }
    json_decref(errs);
    return rc;
}

int ac_filter_check_config(const struct ac_config *cfg)
{
    return fl_validate(cfg->filter_rules, true);
}

/* Builds a set from the database. Returns new set or NULL. */
static void *fl_load(void *ctx, PGconn *c)
{
    PGresult *res = PQexec(c, SQL_FL_LOAD);
    struct fl_set *s = NULL;
    json_t *errs = json_array();

    (void)ctx;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        ac_log(AC_LOG_WARN, "filter", "cannot load rules: %s", PQerrorMessage(c));
        goto cleanup;
    }
    s = ac_xcalloc(1, sizeof(*s));
    s->rules = ac_xcalloc((size_t)PQntuples(res) + 1, sizeof(*s->rules));
    for (int i = 0; i < PQntuples(res); i++) {
        struct ac_rule *r = &s->rules[s->n];
        json_t *m = json_loads(PQgetvalue(res, i, 3), 0, NULL);

        memset(r, 0, sizeof(*r));
        json_array_clear(errs);
        if (!m || ac_matchers_from_json(&r->matchers, m, "$.matchers", errs) != AC_OK) {
            ac_log(AC_LOG_ERROR, "filter", "rule %s does not compile here; skipped",
                   PQgetvalue(res, i, 0));
            json_decref(m);
            continue;
        }
        json_decref(m);
        r->id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        r->position = strtol(PQgetvalue(res, i, 1), NULL, 10);
        r->allow = strcmp(PQgetvalue(res, i, 2), "allow") == 0;
        r->expires_at = strtoll(PQgetvalue(res, i, 4), NULL, 10);
        s->n++;
    }
    ac_log(AC_LOG_INFO, "filter", "rules loaded rules=%zu", s->n);
cleanup:
    PQclear(res);
    json_decref(errs);
    return s;
}

/* Adds a set's drop counts to the database; puts them back on failure. */
static void fl_flush(PGconn *c, struct fl_set *s)
{
    struct ac_buf ids = {0}, ns = {0};
    unsigned long long *taken = ac_xcalloc(s->n + 1, sizeof(*taken));
    const char *p[2];
    PGresult *res;
    bool any = false;

    for (size_t i = 0; i < s->n; i++) {
        taken[i] = __atomic_exchange_n(&s->rules[i].drops, 0, __ATOMIC_RELAXED);
        if (taken[i]) {
            ac_pg_array_add_i64(&ids, s->rules[i].id, false);
            ac_pg_array_add_i64(&ns, (int64_t)taken[i], false);
            any = true;
        }
    }
    if (any) {
        ac_pg_array_close(&ids);
        ac_pg_array_close(&ns);
        p[0] = ids.data;
        p[1] = ns.data;
        res = c ? PQexecParams(c, SQL_FL_FLUSH, 2, NULL, p, NULL, NULL, 0) : NULL;
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            for (size_t i = 0; i < s->n; i++) {
                __atomic_add_fetch(&s->rules[i].drops, taken[i], __ATOMIC_RELAXED);
            }
        }
        PQclear(res);
    }
    ac_buf_deinit(&ids);
    ac_buf_deinit(&ns);
    free(taken);
}

/* Reloader hooks: count drops on every poll; swap in a newly loaded set. */
static void fl_tick(void *ctx, PGconn *c)
{
    struct ac_filter *f = ctx;

    if (f->cur) {
        fl_flush(c, f->cur);
    }
}

static void fl_install(void *ctx, PGconn *c, void *copy)
{
    struct ac_filter *f = ctx;
    struct fl_set *old;

    pthread_rwlock_wrlock(&f->lock);
    old = f->cur;
    f->cur = copy;
    pthread_rwlock_unlock(&f->lock);
    /* no reader can hold the old set now: its counts are final */
    if (old) {
        fl_flush(c, old);
        fl_set_free(old);
    }
}

static const struct ac_reload_ops fl_ops = {"filter_rules", fl_load, fl_install, fl_tick};

static bool fl_seed(const struct ac_config *cfg)
{
    PGconn *c = ac_pg_connect(cfg->pg_dsn);
    size_t i;
    json_t *r;
    bool ok = true;

    if (!c) {
        return false;
    }
    json_array_foreach(cfg->filter_rules, i, r)
    {
        json_t *pos = json_object_get(r, "position");
        char *matchers = json_dumps(json_object_get(r, "matchers"), JSON_COMPACT);
        char posbuf[24];
        const char *p[6];
        PGresult *res;

        (void)snprintf(posbuf, sizeof(posbuf), "%" JSON_INTEGER_FORMAT, json_integer_value(pos));
        p[0] = json_string_value(json_object_get(r, "name"));
        p[1] = json_is_integer(pos) ? posbuf : NULL;
        p[2] = json_string_value(json_object_get(r, "action"));
        p[3] = matchers;
        p[4] = json_string_value(json_object_get(r, "expires_at"));
        p[5] = json_string_value(json_object_get(r, "comment"));
        res = PQexecParams(c, SQL_FL_SEED, 6, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            ac_log(AC_LOG_ERROR, "filter", "cannot seed rule %s: %s", p[0], PQerrorMessage(c));
            ok = false;
        }
        PQclear(res);
        free(matchers);
    }
    PQfinish(c);
    return ok;
}

struct ac_filter *ac_filter_start(const struct ac_config *cfg)
{
    struct ac_filter *f = ac_xcalloc(1, sizeof(*f));

    f->cfg = cfg;
    pthread_rwlock_init(&f->lock, NULL);
    if (fl_validate(cfg->filter_rules, true) != AC_OK || !fl_seed(cfg) ||
        !(f->reloader = ac_reloader_start(cfg->pg_dsn, &fl_ops, f))) {
        ac_log(AC_LOG_ERROR, "filter", "cannot load the filter rules");
        pthread_rwlock_destroy(&f->lock);
        free(f);
        return NULL;
    }
    return f;
}

void ac_filter_stop(struct ac_filter *f)
{
    if (!f) {
        return;
    }
    ac_reloader_stop(f->reloader); /* flushes the last counts */
    fl_set_free(f->cur);
    pthread_rwlock_destroy(&f->lock);
    free(f);
}

void ac_filter_poke(struct ac_filter *f)
{
    ac_reloader_poke(f->reloader);
}

int ac_filter_apply(struct ac_filter *f, const struct ac_event *ev, int64_t now, int64_t *rule_id)
{
    long idx;
    int rc = AC_OK;

    pthread_rwlock_rdlock(&f->lock);
    idx = ac_rules_eval(f->cur->rules, f->cur->n, ev, now);
    if (idx >= 0 && !f->cur->rules[idx].allow) {
        __atomic_add_fetch(&f->cur->rules[idx].drops, 1, __ATOMIC_RELAXED);
        *rule_id = f->cur->rules[idx].id;
        rc = AC_DROPPED;
    }
    pthread_rwlock_unlock(&f->lock);
    return rc;
}
