/* SPDX-License-Identifier: Apache-2.0 */
/* The Redis member sets of the open escalation windows; see members.h. */
#include "escalation/members.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escalation/engine.h"
#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/core/redis.h"

static char *mem_key(const struct ac_esc_set *s, char kind)
{
    return ac_xasprintf("%sesc:m%c:%lld:%lld", s->prefix, kind, s->gen, (long long)s->window_id);
}

#define MEM_CHUNK 4096 /* members per SADD */

/* Appends cmd key m... for the keys of kind (at most chunk per command).
 * Returns how many commands. */
static size_t mem_append_keys(redisContext *rc, const char *cmd, const char *key, char kind,
                              const char *kinds, const int64_t *keys, size_t n, size_t chunk)
{
    size_t cmds = 0, i = 0;

    while (i < n) {
        struct ac_redis_argv a;
        ac_redis_argv_init(&a, (n - i < chunk ? n - i : chunk) + 2);
        ac_redis_argv_str(&a, cmd);
        ac_redis_argv_str(&a, key);
        for (; i < n && (size_t)a.n - 2 < chunk; i++) {
            if (kinds[i] == kind) {
                ac_redis_argv_num(&a, keys[i]);
            }
        }
        if (a.n > 2) {
            ac_redis_argv_append(rc, &a);
            cmds++;
        }
        ac_redis_argv_deinit(&a);
    }
    return cmds;
}

size_t ac_esc_members_append_check(redisContext *rc, const struct ac_esc_set *s, const char *kinds,
                                   const int64_t *keys, size_t n)
{
    char *ka = mem_key(s, 'a'), *ku = mem_key(s, 'u');
    size_t cmds = 2;

    (void)redisAppendCommand(rc, "SCARD %s", ka);
    (void)redisAppendCommand(rc, "SCARD %s", ku);
    cmds += mem_append_keys(rc, "SMISMEMBER", ka, 'a', kinds, keys, n, SIZE_MAX - 2);
    cmds += mem_append_keys(rc, "SMISMEMBER", ku, 'u', kinds, keys, n, SIZE_MAX - 2);
    free(ka);
    free(ku);
    return cmds;
}

/* Whether r answers SMISMEMBER of n members. */
static bool mem_is_answer(const redisReply *r, size_t n)
{
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (r->element[i]->type != REDIS_REPLY_INTEGER) {
            return false;
        }
    }
    return true;
}

int ac_esc_members_parse_check(redisReply *const *r, size_t nr, const char *kinds, size_t n,
                               long long *apps, long long *users, bool *present)
{
    size_t na = 0, nu = 0, ia = 0, iu = 0;
    const redisReply *ra = NULL, *ru = NULL;

    for (size_t i = 0; i < n; i++) {
        na += kinds[i] == 'a';
        nu += kinds[i] == 'u';
    }
    if (nr != 2 + (size_t)(na > 0) + (size_t)(nu > 0) || r[0]->type != REDIS_REPLY_INTEGER ||
        r[1]->type != REDIS_REPLY_INTEGER) {
        return AC_EKV;
    }
    ra = na > 0 ? r[2] : NULL;
    ru = nu > 0 ? r[2 + (na > 0)] : NULL;
    if ((ra && !mem_is_answer(ra, na)) || (ru && !mem_is_answer(ru, nu))) {
        return AC_EKV;
    }
    *apps = r[0]->integer;
    *users = r[1]->integer;
    for (size_t i = 0; i < n; i++) {
        present[i] =
            kinds[i] == 'a' ? ra->element[ia++]->integer == 1 : ru->element[iu++]->integer == 1;
    }
    return AC_OK;
}

/* SADDs of the keys of one kind, then its TTL. Returns the replies. */
static size_t mem_append_kind(redisContext *rc, const struct ac_esc_set *s, char kind,
                              const char *kinds, const int64_t *keys, size_t n)
{
    char *key = mem_key(s, kind);
    size_t replies = mem_append_keys(rc, "SADD", key, kind, kinds, keys, n, MEM_CHUNK);

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

/* Reads n replies, keeping the first nkeep in keep (the caller frees them);
 * false if Redis failed or answered an error. */
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
    checks = ac_xcalloc(2 * n + 1, sizeof(*checks));
    for (size_t i = 0; i < n; i++) {
        if (w[i].fig.apps + w[i].fig.gc_users > 0) {
            set.window_id = w[i].id;
            nchk += ac_esc_members_append_check(rc, &set, "", NULL, 0); /* the sizes */
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
        k += 2;
        if (ac_esc_members_parse_check(checks + k - 2, 2, "", 0, &apps, &users, NULL) != AC_OK) {
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
