/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The filter stage; see filter.h.
 *
 * DESIGN
 * ------
 * The rules in force are an immutable set behind a read-write lock: request
 * threads evaluate under the read lock (no database access, no allocation),
 * the refresher swaps in a new set under the write lock. Drop counts are
 * atomic counters on the rules of the set; the refresher adds them to the
 * rules' `dropped` column on every poll, and drains the old set's counters
 * after a swap (no reader can hold it then). A failed flush puts the counts
 * back, so they are late but not lost while the database is away.
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
#include "server/rules.h"

#define SQL_FL_VERSION "SELECT version FROM ac_versions WHERE name = 'filter_rules'"
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
    struct fl_set *cur;
    pthread_t thread;
    volatile int stop;
    pthread_mutex_t poke_lock;
    pthread_cond_t poke_done;
    unsigned long poke_asked; /* under poke_lock */
    unsigned long poke_served;
    PGconn *conn; /* refresher thread only (and start-up, before it runs) */
    int64_t version;
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
static struct fl_set *fl_load(PGconn *c, int64_t *version)
{
    PGresult *vres = PQexec(c, SQL_FL_VERSION), *res = NULL;
    struct fl_set *s = NULL;
    json_t *errs = json_array();

    if (PQresultStatus(vres) != PGRES_TUPLES_OK || PQntuples(vres) != 1) {
        ac_log(AC_LOG_WARN, "filter", "cannot read the rules' version: %s", PQerrorMessage(c));
        goto cleanup;
    }
    res = PQexec(c, SQL_FL_LOAD);
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
    *version = strtoll(PQgetvalue(vres, 0, 0), NULL, 10);
cleanup:
    PQclear(vres);
    PQclear(res);
    json_decref(errs);
    return s;
}

/* Adds a set's drop counts to the database; puts them back on failure. */
static void fl_flush(struct ac_filter *f, struct fl_set *s)
{
    struct ac_buf ids = {0}, ns = {0};
    unsigned long long *taken = ac_xcalloc(s->n + 1, sizeof(*taken));
    const char *p[2];
    PGresult *res;
    bool any = false;

    for (size_t i = 0; i < s->n; i++) {
        taken[i] = __atomic_exchange_n(&s->rules[i].drops, 0, __ATOMIC_RELAXED);
        if (taken[i]) {
            ac_buf_printf(&ids, "%s%lld", any ? "," : "{", (long long)s->rules[i].id);
            ac_buf_printf(&ns, "%s%llu", any ? "," : "{", taken[i]);
            any = true;
        }
    }
    if (any) {
        ac_buf_appends(&ids, "}");
        ac_buf_appends(&ns, "}");
        p[0] = ids.data;
        p[1] = ns.data;
        res = f->conn ? PQexecParams(f->conn, SQL_FL_FLUSH, 2, NULL, p, NULL, NULL, 0) : NULL;
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

static bool fl_connect(struct ac_filter *f)
{
    if (f->conn && PQstatus(f->conn) == CONNECTION_OK) {
        return true;
    }
    PQfinish(f->conn);
    f->conn = ac_pg_connect(f->cfg->pg_dsn);
    return f->conn != NULL;
}

/* One poll: count drops, and reload when the version moved. */
static void fl_refresh(struct ac_filter *f)
{
    PGresult *res;
    int64_t version = 0;
    struct fl_set *next, *old;

    if (!fl_connect(f)) {
        return;
    }
    fl_flush(f, f->cur); /* cur is only replaced by this thread */
    res = PQexec(f->conn, SQL_FL_VERSION);
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        version = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    }
    PQclear(res);
    if (version == 0 || version == f->version) {
        return;
    }
    next = fl_load(f->conn, &version);
    if (!next) {
        return;
    }
    pthread_rwlock_wrlock(&f->lock);
    old = f->cur;
    f->cur = next;
    pthread_rwlock_unlock(&f->lock);
    fl_flush(f, old);
    fl_set_free(old);
    f->version = version;
    ac_log(AC_LOG_INFO, "filter", "rules reloaded version=%lld rules=%zu", (long long)version,
           next->n);
}

static void *fl_main(void *arg)
{
    struct ac_filter *f = arg;
    struct timespec tick = {0, 10 * 1000000L};
    long waited = 0;

    while (!f->stop) {
        unsigned long asked;

        nanosleep(&tick, NULL);
        waited += 10;
        pthread_mutex_lock(&f->poke_lock);
        asked = f->poke_asked;
        pthread_mutex_unlock(&f->poke_lock);
        if (waited >= AC_FILTER_POLL_MS || asked != f->poke_served) {
            waited = 0;
            fl_refresh(f);
            pthread_mutex_lock(&f->poke_lock);
            f->poke_served = asked;
            pthread_cond_broadcast(&f->poke_done);
            pthread_mutex_unlock(&f->poke_lock);
        }
    }
    fl_flush(f, f->cur);
    return NULL;
}

static bool fl_seed(struct ac_filter *f)
{
    size_t i;
    json_t *r;
    bool ok = true;

    json_array_foreach(f->cfg->filter_rules, i, r)
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
        res = PQexecParams(f->conn, SQL_FL_SEED, 6, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            ac_log(AC_LOG_ERROR, "filter", "cannot seed rule %s: %s", p[0],
                   PQerrorMessage(f->conn));
            ok = false;
        }
        PQclear(res);
        free(matchers);
    }
    return ok;
}

static void fl_free(struct ac_filter *f)
{
    fl_set_free(f->cur);
    PQfinish(f->conn);
    pthread_cond_destroy(&f->poke_done);
    pthread_mutex_destroy(&f->poke_lock);
    pthread_rwlock_destroy(&f->lock);
    free(f);
}

struct ac_filter *ac_filter_start(const struct ac_config *cfg)
{
    struct ac_filter *f = ac_xcalloc(1, sizeof(*f));

    f->cfg = cfg;
    pthread_rwlock_init(&f->lock, NULL);
    pthread_mutex_init(&f->poke_lock, NULL);
    pthread_cond_init(&f->poke_done, NULL);
    if (fl_validate(cfg->filter_rules, true) != AC_OK || !fl_connect(f) || !fl_seed(f) ||
        !(f->cur = fl_load(f->conn, &f->version))) {
        ac_log(AC_LOG_ERROR, "filter", "cannot load the filter rules");
        fl_free(f);
        return NULL;
    }
    ac_log(AC_LOG_INFO, "filter", "rules loaded version=%lld rules=%zu", (long long)f->version,
           f->cur->n);
    if (pthread_create(&f->thread, NULL, fl_main, f) != 0) {
        ac_log(AC_LOG_ERROR, "filter", "cannot start thread");
        fl_free(f);
        return NULL;
    }
    return f;
}

void ac_filter_stop(struct ac_filter *f)
{
    if (!f) {
        return;
    }
    f->stop = 1;
    pthread_join(f->thread, NULL);
    fl_free(f);
}

void ac_filter_poke(struct ac_filter *f)
{
    struct timespec deadline;
    unsigned long ticket;

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 2;
    pthread_mutex_lock(&f->poke_lock);
    ticket = ++f->poke_asked;
    while (f->poke_served < ticket && !f->stop) {
        if (pthread_cond_timedwait(&f->poke_done, &f->poke_lock, &deadline) != 0) {
            break; /* the periodic poll will still pick the change up */
        }
    }
    pthread_mutex_unlock(&f->poke_lock);
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
