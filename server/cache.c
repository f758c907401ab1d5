/* SPDX-License-Identifier: Apache-2.0 */
/* The writer's Redis cache (see cache.h). */
#include "server/cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escalation/engine.h"
#include "escalation/members.h"
#include "schema/timefmt.h"
#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/core/redis.h"

#define CACHE_TIMEOUT_MS 200
#define CACHE_RETRY_US   1000000LL
#define CACHE_MIRROR_US  200000LL
#define CACHE_KEY_TTL_S  "604800" /* idempotency keys stay in Redis for 7 days */

struct ac_cache {
    struct ac_redis_target redis;
    bool has_redis;
    char *prefix;            /* of every cache key */
    struct ac_redis_lazy rl; /* rl.c: NULL while Redis is not in use */
    size_t unread;           /* replies to cache updates not read yet */
    /* Idempotency keys are cached as <prefix>key:<keygen>:...; the generation
     * moves when PostgreSQL is found behind the cache (ac_cache_check). */
    long long keygen;
    bool checked;      /* since the last (re)connection to either */
    long long hw_sent; /* the highest event id this writer has cached */
    int64_t mirror_next_us;
    unsigned long long n_checked; /* relaxed atomic */
    /* The per-alert and per-key commands' key and arguments, reused */
    struct ac_buf key;
    struct ac_redis_argv argv;
};

struct ac_cache *ac_cache_create(const char *redis_url, const char *prefix)
{
    struct ac_cache *c = ac_xcalloc(1, sizeof(*c));

    c->prefix = ac_xstrdup(prefix ? prefix : "ac:");
    c->has_redis = redis_url && ac_redis_parse_url(redis_url, &c->redis) == AC_OK;
    ac_redis_argv_init(&c->argv, 5);
    return c;
}

void ac_cache_destroy(struct ac_cache *c)
{
    if (!c) {
        return;
    }
    redisFree(c->rl.c);
    ac_redis_target_deinit(&c->redis);
    ac_buf_deinit(&c->key);
    ac_redis_argv_deinit(&c->argv);
    free(c->prefix);
    free(c);
}

const char *ac_cache_prefix(const struct ac_cache *c)
{
    return c->prefix;
}

void ac_cache_invalidate(struct ac_cache *c)
{
    c->checked = false;
}

unsigned long long ac_cache_members_checked(const struct ac_cache *c)
{
    return __atomic_load_n(&c->n_checked, __ATOMIC_RELAXED);
}

/* --- the connection ------------------------------------------------------- */

/* Forgets the connection; the writer goes on with PostgreSQL alone. */
static void cache_drop(struct ac_cache *c, const char *why)
{
    if (c->rl.c) {
        ac_log(AC_LOG_WARN, "writer", "redis: %s; continuing on PostgreSQL alone", why);
    }
    ac_redis_lazy_drop(&c->rl, CACHE_RETRY_US);
    c->unread = 0;
    c->checked = false;
}

static bool cache_connected(struct ac_cache *c)
{
    bool fresh;

    if (!c->has_redis || !ac_redis_lazy_get(&c->rl, &c->redis, CACHE_TIMEOUT_MS, CACHE_RETRY_US,
                                            ac_esc_mirror_prepare, &fresh)) {
        return false;
    }
    if (fresh) {
        ac_log(AC_LOG_INFO, "writer", "redis connected: open alerts and keys are cached");
        c->checked = false;
    }
    return true;
}

bool ac_cache_ready(struct ac_cache *c)
{
    return cache_connected(c) && c->checked;
}

/* Writes the appended commands, leaving their n replies unread. */
static void cache_send(struct ac_cache *c, size_t n)
{
    int done = 0;

    while (!done) {
        if (redisBufferWrite(c->rl.c, &done) != REDIS_OK) {
            cache_drop(c, c->rl.c->errstr[0] ? c->rl.c->errstr : "write failed");
            return;
        }
    }
    c->unread += n;
}

/* Reads n pipelined replies (after those of the last update, which come
 * first), handing each to fn (which may be NULL). */
static bool cache_replies(struct ac_cache *c, size_t n,
                          void (*fn)(void *ctx, size_t i, const redisReply *r), void *ctx)
{
    for (; c->unread > 0; c->unread--) {
        redisReply *r = NULL;
        if (redisGetReply(c->rl.c, (void **)&r) != REDIS_OK || !r) {
            cache_drop(c, c->rl.c->errstr[0] ? c->rl.c->errstr : "no reply");
            return false;
        }
        freeReplyObject(r);
    }
    for (size_t i = 0; i < n; i++) {
        redisReply *r = NULL;
        if (redisGetReply(c->rl.c, (void **)&r) != REDIS_OK || !r) {
            cache_drop(c, c->rl.c->errstr[0] ? c->rl.c->errstr : "no reply");
            return false;
        }
        if (fn) {
            fn(ctx, i, r);
        }
        freeReplyObject(r);
    }
    return true;
}

/* --- the check against PostgreSQL ------------------------------------------ */

int ac_cache_check(struct ac_cache *c, PGconn *conn)
{
    redisReply *hw = NULL, *gen = NULL;
    PGresult *res;
    long long cached = 0, seq = -1;
    int rc = AC_OK;

    if (c->checked || !conn || !cache_connected(c) || !cache_replies(c, 0, NULL, NULL)) {
        return AC_OK;
    }
    hw = redisCommand(c->rl.c, "GET %shw", c->prefix);
    if (hw && hw->type == REDIS_REPLY_STRING) {
        cached = atoll(hw->str);
    }
    if (PQexitPipelineMode(conn) != 1) {
        goto cleanup;
    }
    res = PQexecParams(conn, "SELECT last_value FROM events_id_seq", 0, NULL, NULL, NULL, NULL, 0);
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        seq = atoll(PQgetvalue(res, 0, 0));
    }
    PQclear(res);
    if (PQenterPipelineMode(conn) != 1) {
        rc = AC_EDB;
        goto cleanup;
    }
    if (seq < 0 || !hw || hw->type == REDIS_REPLY_ERROR) {
        goto cleanup;
    }
    if (cached > seq) {
        gen = redisCommand(c->rl.c, "INCR %skeygen", c->prefix);
        freeReplyObject(redisCommand(c->rl.c, "SET %shw %lld", c->prefix, seq));
        ac_log(AC_LOG_WARN, "writer",
               "the cache names event %lld but PostgreSQL has given ids up to %lld only"
               " (restored?): cached idempotency keys are dropped",
               cached, seq);
    }
    else {
        gen = redisCommand(c->rl.c, "GET %skeygen", c->prefix);
    }
    if (!gen || (gen->type != REDIS_REPLY_STRING && gen->type != REDIS_REPLY_INTEGER &&
                 gen->type != REDIS_REPLY_NIL)) {
        cache_drop(c, "cannot read the key generation");
        goto cleanup;
    }
    c->keygen = gen->type == REDIS_REPLY_INTEGER  ? gen->integer
                : gen->type == REDIS_REPLY_STRING ? atoll(gen->str)
                                                  : 0;
    c->hw_sent = cached > seq ? seq : cached;
    c->checked = true;
cleanup:
    freeReplyObject(hw);
    freeReplyObject(gen);
    return rc;
}

/* --- member checks (escalation/members.h) ----------------------------------- */

static struct ac_esc_set cache_set(const struct ac_cache *c, int64_t window_id)
{
    return (struct ac_esc_set){c->prefix, c->keygen, window_id};
}

/* The replies to the checks of some windows, one MULTI/EXEC: the windows
 * (indexes into g->wins) and where each one's replies start in EXEC's. */
struct cache_checks {
    struct ac_cand_group *g;
    size_t *win, *off;
    size_t nwin;
    size_t ncmds; /* inside the MULTI */
    bool bad;
};

static void cache_checks_deinit(struct cache_checks *k)
{
    free(k->win);
    free(k->off);
}

/* Appends, in one MULTI/EXEC, a check of every window of g to check.
 * Returns how many replies (0: nothing sent). */
static size_t cache_append_checks(struct ac_cache *c, struct ac_cand_group *g,
                                  struct cache_checks *k)
{
    char *kinds = ac_xcalloc(g->n + 1, 1);
    int64_t *keys = ac_xcalloc(g->n + 1, sizeof(int64_t));

    *k = (struct cache_checks){g,
                               ac_xcalloc(g->nwins + 1, sizeof(size_t)),
                               ac_xcalloc(g->nwins + 1, sizeof(size_t)),
                               0,
                               0,
                               false};
    k->nwin = ac_cand_checks(g, k->win);
    for (size_t i = 0; i < k->nwin; i++) {
        struct ac_esc_set set = cache_set(c, g->wins[k->win[i]].id);
        size_t n = ac_cand_members_of(g, k->win[i], false, kinds, keys);
        if (i == 0) {
            (void)redisAppendCommand(c->rl.c, "MULTI");
        }
        k->off[i] = k->ncmds;
        k->ncmds += ac_esc_members_append_check(c->rl.c, &set, kinds, keys, n);
        __atomic_add_fetch(&c->n_checked, (unsigned long long)n, __ATOMIC_RELAXED);
    }
    if (k->nwin > 0) {
        (void)redisAppendCommand(c->rl.c, "EXEC");
    }
    free(kinds);
    free(keys);
    return k->nwin > 0 ? k->ncmds + 2 : 0;
}

/* The replies r[0..nr) to the check of window win. Returns false for bad
 * replies. */
static bool cache_checked(struct ac_cand_group *g, size_t win, redisReply *const *r, size_t nr)
{
    size_t nmem = g->wins[win].nmem;
    char *kinds = ac_xcalloc(nmem + 1, 1);
    bool *present = ac_xcalloc(nmem + 1, sizeof(bool));
    size_t n = ac_cand_members_of(g, win, false, kinds, NULL);
    long long apps = 0, users = 0;
    bool ok = n == nmem &&
              ac_esc_members_parse_check(r, nr, kinds, n, &apps, &users, present) == AC_OK &&
              ac_cand_checked(g, win, apps, users, present, n);

    free(kinds);
    free(present);
    return ok;
}

/* Reply i of a MULTI/EXEC of checks: OK, QUEUED..., then EXEC's array. */
static void cache_check_reply(void *ctx, size_t i, const redisReply *r)
{
    struct cache_checks *k = ctx;

    if (i <= k->ncmds) {
        k->bad |= r->type != REDIS_REPLY_STATUS;
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != k->ncmds) {
        k->bad = true;
        return;
    }
    for (size_t w = 0; w < k->nwin; w++) {
        size_t end = w + 1 < k->nwin ? k->off[w + 1] : k->ncmds;
        k->bad |= !cache_checked(k->g, k->win[w], r->element + k->off[w], end - k->off[w]);
    }
}

void ac_cache_check_members(struct ac_cache *c, struct ac_cand_group *g)
{
    struct cache_checks k = {0};
    size_t n;

    if (!g->n || !ac_cache_ready(c)) {
        return;
    }
    n = cache_append_checks(c, g, &k);
    if (n > 0) {
        if (cache_replies(c, n, cache_check_reply, &k) && k.bad) {
            cache_drop(c, "unexpected reply to the escalation members");
        }
        if (!k.bad) {
            ac_cand_decide_checked(g);
        }
    }
    cache_checks_deinit(&k);
}

/* --- the lookup before the transaction ------------------------------------ */

struct cache_lookup {
    struct ac_fold *f;
    bool *fp_hit;  /* per fingerprint */
    bool *key_hit; /* per event */
    size_t nfp;
    size_t *key_event; /* reply index - nfp -> event index */
    size_t nkeys;
    struct cache_checks checks; /* the replies after the keys' */
};

static void cache_lookup_reply(void *ctx, size_t i, const redisReply *r)
{
    struct cache_lookup *l = ctx;
    long long a = 0, b = 0;

    if (i >= l->nfp + l->nkeys) {
        cache_check_reply(&l->checks, i - l->nfp - l->nkeys, r);
        return;
    }
    if (r->type != REDIS_REPLY_STRING || sscanf(r->str, "%lld:%lld", &a, &b) != 2) {
        return;
    }
    if (i < l->nfp) {
        ac_fold_set_open(l->f, ac_fold_fingerprint(l->f, i), a, b);
        l->fp_hit[i] = true;
    }
    else {
        size_t e = l->key_event[i - l->nfp];
        const struct ac_event *ev = l->f->events[e].ev;
        ac_fold_set_stored(l->f, ev->source, ev->id, a, b);
        l->key_hit[e] = true;
    }
}

/* --- the per-alert and per-key commands --------------------------------------
 * Sent in hiredis's argv form: no format string is parsed per command (they
 * are most of a group's commands; the format form cost 4 % of the server at
 * batch 100, bench/PROFILE.md). */

/* c->key = <prefix>open:<fp> */
static void cache_open_key(struct ac_cache *c, const char *fp)
{
    c->key.len = 0;
    ac_buf_appends(&c->key, c->prefix);
    ac_buf_appends(&c->key, "open:");
    ac_buf_appends(&c->key, fp);
}

/* c->key = <prefix>key:<keygen>:<source>\x1f<id> */
static void cache_idem_key(struct ac_cache *c, const struct ac_event *ev)
{
    char gen[24];

    c->key.len = 0;
    ac_buf_appends(&c->key, c->prefix);
    ac_buf_appends(&c->key, "key:");
    ac_buf_append(&c->key, gen, (size_t)snprintf(gen, sizeof(gen), "%lld:", c->keygen));
    ac_buf_appends(&c->key, ev->source);
    ac_buf_append(&c->key, "\x1f", 1);
    ac_buf_appends(&c->key, ev->id);
}

/* verb c->key [value [EX ttl]] (value NULL: none; ttl only with a value) */
static void cache_append_cmd(struct ac_cache *c, const char *verb, const char *value,
                             const char *ttl)
{
    ac_redis_argv_clear(&c->argv);
    ac_redis_argv_str(&c->argv, verb);
    ac_redis_argv_add(&c->argv, c->key.data, c->key.len);
    if (value) {
        ac_redis_argv_str(&c->argv, value);
    }
    if (value && ttl) {
        ac_redis_argv_str(&c->argv, "EX");
        ac_redis_argv_str(&c->argv, ttl);
    }
    ac_redis_argv_append(c->rl.c, &c->argv);
}

/* "id:other", the value of an open alert or a stored key */
static const char *cache_pair(char *buf, size_t size, int64_t a, int64_t b)
{
    (void)snprintf(buf, size, "%lld:%lld", (long long)a, (long long)b);
    return buf;
}

void ac_cache_lookup(struct ac_cache *c, struct ac_fold *f, bool *fp_hit, bool *key_hit,
                     struct ac_cand_group *pre)
{
    struct cache_lookup l = {f, fp_hit, key_hit, ac_fold_fingerprint_count(f), NULL, 0, {0}};
    size_t n = 0, nchecks;

    if (!ac_cache_ready(c)) {
        return;
    }
    l.key_event = ac_xcalloc(f->nevents + 1, sizeof(size_t));
    for (size_t i = 0; i < l.nfp; i++) {
        cache_open_key(c, ac_fold_fingerprint(f, i));
        cache_append_cmd(c, "GET", NULL, NULL);
    }
    for (size_t i = 0; i < f->nevents; i++) {
        const struct ac_event *ev = f->events[i].ev;
        if (ev->id && f->events[i].dup_of < 0) {
            cache_idem_key(c, ev);
            cache_append_cmd(c, "GET", NULL, NULL);
            l.key_event[n++] = i;
        }
    }
    l.nkeys = n;
    nchecks = cache_append_checks(c, pre, &l.checks);
    if (cache_replies(c, l.nfp + n + nchecks, cache_lookup_reply, &l) && l.checks.bad) {
        cache_drop(c, "unexpected reply to the escalation members");
    }
    cache_checks_deinit(&l.checks);
    free(l.key_event);
}

/* --- the update after COMMIT ------------------------------------------------ */

/* The group's new members into their windows' sets, a closed window's sets
 * deleted. Returns how many commands. */
static size_t cache_append_members(struct ac_cache *c, const struct ac_cand_group *g,
                                   const struct ac_esc_win *wins, size_t nwins)
{
    char *kinds = ac_xcalloc(g->n + 1, 1);
    int64_t *keys = ac_xcalloc(g->n + 1, sizeof(int64_t));
    size_t cmds = 0;

    for (size_t k = 0; k < nwins; k++) {
        struct ac_esc_set set = cache_set(c, wins[k].id);
        if (wins[k].closed) {
            ac_esc_members_append_forget(c->rl.c, &set);
            cmds++;
        }
    }
    for (size_t i = 0; i < g->nwins; i++) {
        bool closed;
        int64_t id = ac_cand_window_after(&g->wins[i], wins, nwins, &closed);
        struct ac_esc_set set = cache_set(c, id);
        size_t n = id && !closed ? ac_cand_members_of(g, i, true, kinds, keys) : 0;
        cmds += n > 0 ? ac_esc_members_append_add(c->rl.c, &set, kinds, keys, n) : 0;
    }
    free(kinds);
    free(keys);
    return cmds;
}

/* The alerts f left open or closed, and its new keys (the highest event id
 * they name into *hw). Returns how many commands. */
static size_t cache_append_alerts(struct ac_cache *c, const struct ac_fold *f, int64_t *hw)
{
    char val[48];
    size_t n = 0;

    for (size_t i = 0; i < f->nalerts; i++) {
        const struct ac_fold_alert *a = &f->alerts[i];
        cache_open_key(c, f->events[a->opener].ev->fingerprint);
        if (a->resolved) {
            cache_append_cmd(c, "DEL", NULL, NULL);
        }
        else {
            cache_append_cmd(c, "SET", cache_pair(val, sizeof(val), a->id, a->first_seen), NULL);
        }
        n++;
    }
    for (size_t i = 0; i < f->nevents; i++) {
        const struct ac_event *ev = f->events[i].ev;
        int64_t eid, aid;
        bool dup, folded;
        if (!ev->id || !ac_fold_is_new_event(f, i)) {
            continue;
        }
        ac_fold_result(f, i, &eid, &aid, &dup, &folded);
        cache_idem_key(c, ev);
        cache_append_cmd(c, "SET", cache_pair(val, sizeof(val), eid, aid), CACHE_KEY_TTL_S);
        n++;
        if (eid > *hw) {
            *hw = eid;
        }
    }
    return n;
}

/* In one MULTI/EXEC, so another instance sees all of a group's changes or
 * none. A failure only leaves the cache behind; whatever it then says is
 * verified in the next transaction. The timer re-mirrors every window each
 * tick, and raises are mirrored where they are made. */
void ac_cache_update(struct ac_cache *c, const struct ac_fold *f, const struct ac_cand_group *g,
                     const struct ac_esc_win *wins, size_t nwins)
{
    size_t n = 0;
    int64_t now = ac_time_now_us();
    bool all = now >= c->mirror_next_us;
    int64_t hw = 0;

    if (!c->rl.c) {
        return;
    }
    (void)redisAppendCommand(c->rl.c, "MULTI");
    n += cache_append_alerts(c, f, &hw);
    for (size_t i = 0; i < nwins; i++) {
        if (all || wins[i].closed) {
            ac_esc_mirror_append(c->rl.c, c->prefix, &wins[i]);
            n++;
        }
    }
    n += cache_append_members(c, g, wins, nwins);
    if (all && nwins > 0) {
        c->mirror_next_us = now + CACHE_MIRROR_US;
    }
    if (hw > c->hw_sent) { /* what ac_cache_check compares with PostgreSQL */
        (void)redisAppendCommand(c->rl.c, "SET %shw %lld", c->prefix, (long long)hw);
        c->hw_sent = hw;
        n++;
    }
    (void)redisAppendCommand(c->rl.c, "EXEC");
    /* Sent now, its replies (OK, n x QUEUED, the EXEC array) read before the
     * next command's: Redis answers in order, and nothing here depends on
     * them, so the group's requests are not kept waiting for them. */
    cache_send(c, n + 2);
}

void ac_cache_forget(struct ac_cache *c, const struct ac_fold *f)
{
    size_t n = ac_fold_fingerprint_count(f);

    if (!c->rl.c) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        cache_open_key(c, ac_fold_fingerprint(f, i));
        cache_append_cmd(c, "DEL", NULL, NULL);
    }
    (void)cache_replies(c, n, NULL, NULL);
}

void ac_cache_mirror(struct ac_cache *c, const struct ac_esc_win *w)
{
    if (!c->rl.c) {
        return;
    }
    ac_esc_mirror_append(c->rl.c, c->prefix, w);
    (void)cache_replies(c, 1, NULL, NULL);
}
