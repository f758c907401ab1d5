/* SPDX-License-Identifier: Apache-2.0 */
/* The Redis member sets of the open escalation windows; see members.h. */
#include "escalation/members.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escalation/engine.h"
#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/core/redis.h"

/*
 * KEYS: the apps set, the users set. ARGV: the kinds ("auua..."), then the
 * members. Returns {size of apps, size of users, "0"/"1" per member}. One
 * SMISMEMBER per kind and 1000 members (Redis >= 6.2).
 */
static const char mem_check_lua[] =
    "local kinds, a, u = ARGV[1], {}, {}\n"
    "for i = 2, #ARGV do\n"
    "  if string.byte(kinds, i - 1) == 97 then a[#a + 1] = ARGV[i] else u[#u + 1] = ARGV[i] end\n"
    "end\n"
    "local function mis(key, t)\n"
    "  local r = {}\n"
    "  for s = 1, #t, 1000 do\n"
    "    local part = redis.call('SMISMEMBER', key, unpack(t, s, math.min(s + 999, #t)))\n"
    "    for _, v in ipairs(part) do r[#r + 1] = v end\n"
    "  end\n"
    "  return r\n"
    "end\n"
    "local ra, ru, f, ia, iu = mis(KEYS[1], a), mis(KEYS[2], u), {}, 1, 1\n"
    "for i = 2, #ARGV do\n"
    "  local v\n"
    "  if string.byte(kinds, i - 1) == 97 then v = ra[ia]; ia = ia + 1 else v = ru[iu]; iu = iu + "
    "1 end\n"
    "  f[#f + 1] = v == 1 and '1' or '0'\n"
    "end\n"
    "return {redis.call('SCARD', KEYS[1]), redis.call('SCARD', KEYS[2]), table.concat(f)}\n";

static char mem_check_sha[41];
static pthread_once_t mem_once = PTHREAD_ONCE_INIT;

static void mem_hash(void)
{
    ac_redis_script_sha(mem_check_lua, mem_check_sha);
}

int ac_esc_members_prepare(redisContext *rc)
{
    pthread_once(&mem_once, mem_hash);
    if (ac_redis_script_load(rc, mem_check_lua, mem_check_sha) != AC_OK) {
        ac_log(AC_LOG_WARN, "escalation", "redis: cannot load the member script");
        return AC_EKV;
    }
    return AC_OK;
}

static char *mem_key(const struct ac_esc_set *s, char kind)
{
    return ac_xasprintf("%sesc:m%c:%lld:%lld", s->prefix, kind, s->gen, (long long)s->window_id);
}

void ac_esc_members_append_check(redisContext *rc, const struct ac_esc_set *s, const char *kinds,
                                 const int64_t *keys, size_t n)
{
    struct ac_redis_argv a;
    char *ka = mem_key(s, 'a'), *ku = mem_key(s, 'u');

    pthread_once(&mem_once, mem_hash);
    ac_redis_argv_init(&a, n + 6);
    ac_redis_argv_str(&a, "EVALSHA");
    ac_redis_argv_str(&a, mem_check_sha);
    ac_redis_argv_str(&a, "2");
    ac_redis_argv_str(&a, ka);
    ac_redis_argv_str(&a, ku);
    ac_redis_argv_add(&a, kinds, n);
    for (size_t i = 0; i < n; i++) {
        ac_redis_argv_num(&a, keys[i]);
    }
    ac_redis_argv_append(rc, &a);
    ac_redis_argv_deinit(&a);
    free(ka);
    free(ku);
}

int ac_esc_members_parse_check(const redisReply *r, long long *apps, long long *users,
                               bool *present, size_t n)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
        r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_INTEGER ||
        r->element[2]->type != REDIS_REPLY_STRING || r->element[2]->len != n) {
        return AC_EKV;
    }
    *apps = r->element[0]->integer;
    *users = r->element[1]->integer;
    for (size_t i = 0; i < n; i++) {
        present[i] = r->element[2]->str[i] == '1';
    }
    return AC_OK;
}

#define MEM_CHUNK 4096 /* members per SADD */

/* SADDs of the keys of one kind, then its TTL. Returns the replies. */
static size_t mem_append_kind(redisContext *rc, const struct ac_esc_set *s, char kind,
                              const char *kinds, const int64_t *keys, size_t n)
{
    char *key = mem_key(s, kind);
    size_t replies = 0, i = 0;

    while (i < n) {
        struct ac_redis_argv a;
        ac_redis_argv_init(&a, MEM_CHUNK + 2);
        ac_redis_argv_str(&a, "SADD");
        ac_redis_argv_str(&a, key);
        for (; i < n && a.n < MEM_CHUNK + 2; i++) {
            if (kinds[i] == kind) {
                ac_redis_argv_num(&a, keys[i]);
            }
        }
        if (a.n > 2) {
            ac_redis_argv_append(rc, &a);
            replies++;
        }
        ac_redis_argv_deinit(&a);
    }
    if (replies > 0) {
        (void)redisAppendCommand(rc, "PEXPIRE %s %lld", key, AC_ESC_MEMBERS_TTL_MS);
        replies++;
    }
    free(key);
    return replies;
}

size_t ac_esc_members_append_add(redisContext *rc, const struct ac_esc_set *s, const char *kinds,
                                 const int64_t *keys, size_t n)
{
    return mem_append_kind(rc, s, 'a', kinds, keys, n) +
           mem_append_kind(rc, s, 'u', kinds, keys, n);
}

void ac_esc_members_append_forget(redisContext *rc, const struct ac_esc_set *s)
{
    char *ka = mem_key(s, 'a'), *ku = mem_key(s, 'u');

    (void)redisAppendCommand(rc, "DEL %s %s", ka, ku);
    free(ka);
    free(ku);
}

/* Reads n replies; false (and *bad) if Redis failed or answered an error. */
static bool mem_replies(redisContext *rc, size_t n, redisReply **keep, size_t nkeep)
{
    bool ok = true;

    for (size_t i = 0; i < n; i++) {
        redisReply *r = NULL;
        if (redisGetReply(rc, (void **)&r) != REDIS_OK || !r) {
            return false;
        }
        ok &= r->type != REDIS_REPLY_ERROR;
        if (keep && i < nkeep) {
            keep[i] = r;
        }
        else {
            freeReplyObject(r);
        }
    }
    return ok;
}

/* Fills in one window's sets from PostgreSQL. */
static int mem_fill(redisContext *rc, PGconn *conn, const struct ac_esc_set *set)
{
    char id[24];
    const char *v[1] = {id};
    PGresult *res;
    char *kinds;
    int64_t *keys;
    int nk, rc_ = AC_OK;

    (void)snprintf(id, sizeof(id), "%lld", (long long)set->window_id);
    res = PQexecParams(conn, "SELECT kind, member FROM ac_esc_members($1)", 1, NULL, v, NULL, NULL,
                       0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        ac_log(AC_LOG_WARN, "escalation", "reading the members of window %s failed: %s", id,
               PQerrorMessage(conn));
        PQclear(res);
        return AC_EDB;
    }
    nk = PQntuples(res);
    kinds = ac_xcalloc((size_t)nk + 1, 1);
    keys = ac_xcalloc((size_t)nk + 1, sizeof(int64_t));
    for (int t = 0; t < nk; t++) {
        kinds[t] = PQgetvalue(res, t, 0)[0];
        keys[t] = strtoll(PQgetvalue(res, t, 1), NULL, 10);
    }
    PQclear(res);
    if (!mem_replies(rc, ac_esc_members_append_add(rc, set, kinds, keys, (size_t)nk), NULL, 0)) {
        rc_ = AC_EKV;
    }
    else {
        ac_log(AC_LOG_INFO, "escalation",
               "member sets filled in from PostgreSQL window=%s members=%d", id, nk);
    }
    free(kinds);
    free(keys);
    return rc_;
}

int ac_esc_members_catch_up(redisContext *rc, PGconn *conn, const char *prefix,
                            const struct ac_esc_win *w, size_t n, size_t *filled)
{
    redisReply *gen = redisCommand(rc, "GET %skeygen", prefix), **checks;
    struct ac_esc_set set = {prefix, 0, 0};
    size_t nchk = 0;
    int rc_ = AC_OK;

    *filled = 0;
    if (!gen || (gen->type != REDIS_REPLY_STRING && gen->type != REDIS_REPLY_NIL)) {
        freeReplyObject(gen);
        return AC_EKV;
    }
    set.gen = gen->type == REDIS_REPLY_STRING ? atoll(gen->str) : 0;
    freeReplyObject(gen);
    checks = ac_xcalloc(n + 1, sizeof(*checks));
    for (size_t i = 0; i < n; i++) {
        if (w[i].fig.apps + w[i].fig.gc_users > 0) {
            set.window_id = w[i].id;
            ac_esc_members_append_check(rc, &set, "", NULL, 0);
            nchk++;
        }
    }
    if (!mem_replies(rc, nchk, checks, nchk)) {
        rc_ = AC_EKV;
    }
    for (size_t i = 0, k = 0; rc_ == AC_OK && i < n; i++) {
        long long apps, users;
        if (w[i].fig.apps + w[i].fig.gc_users <= 0) {
            continue;
        }
        if (ac_esc_members_parse_check(checks[k++], &apps, &users, NULL, 0) != AC_OK) {
            rc_ = AC_EKV;
        }
        else if (apps < w[i].fig.apps || users < w[i].fig.gc_users) {
            set.window_id = w[i].id;
            rc_ = mem_fill(rc, conn, &set);
            *filled += rc_ == AC_OK;
        }
    }
    for (size_t k = 0; k < nchk; k++) {
        freeReplyObject(checks[k]);
    }
    free(checks);
    return rc_;
}
