/* SPDX-License-Identifier: Apache-2.0 */
/* The Redis member sets of the open escalation windows; see members.h. */
#include "escalation/members.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/core/redis.h"

/*
 * KEYS: the set, the pending mark. ARGV: token, TTL (ms), the members.
 * -1 when the set must be rebuilt; else one '1' (new) or '0' per member.
 */
static const char mem_add_lua[] =
    "if redis.call('SISMEMBER', KEYS[1], '#') == 0 or redis.call('EXISTS', KEYS[2]) == 1 then\n"
    "  return -1\n"
    "end\n"
    "local f = {}\n"
    "for i = 3, #ARGV do\n"
    "  f[#f + 1] = redis.call('SADD', KEYS[1], ARGV[i]) == 1 and '1' or '0'\n"
    "end\n"
    "redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])\n"
    "redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
    "return table.concat(f)\n";

/* KEYS: the pending mark. ARGV: token. */
static const char mem_settle_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end\n"
    "return 0\n";

static char mem_add_sha[41], mem_settle_sha[41];
static pthread_once_t mem_once = PTHREAD_ONCE_INIT;

static void mem_hash(void)
{
    ac_redis_script_sha(mem_add_lua, mem_add_sha);
    ac_redis_script_sha(mem_settle_lua, mem_settle_sha);
}

int ac_esc_members_prepare(redisContext *rc)
{
    pthread_once(&mem_once, mem_hash);
    if (ac_redis_script_load(rc, mem_add_lua, mem_add_sha) != AC_OK ||
        ac_redis_script_load(rc, mem_settle_lua, mem_settle_sha) != AC_OK) {
        ac_log(AC_LOG_WARN, "escalation", "redis: cannot load the member scripts");
        return AC_EKV;
    }
    return AC_OK;
}

static char *mem_set_key(const struct ac_esc_set *s)
{
    return ac_xasprintf("%sesc:mem:%lld:%lld:%lld", s->prefix, s->gen, (long long)s->window_id,
                        (long long)s->epoch);
}

static char *mem_pending_key(const struct ac_esc_set *s)
{
    return ac_xasprintf("%sesc:pend:%lld:%lld", s->prefix, s->gen, (long long)s->window_id);
}

/* An argument vector: fixed arguments, then up to cap numbers. */
struct mem_argv {
    const char **v;
    size_t *len;
    char *nums; /* 21 bytes per number */
    int n;
};

static void mem_argv_init(struct mem_argv *a, size_t cap)
{
    a->v = ac_xcalloc(cap, sizeof(*a->v));
    a->len = ac_xcalloc(cap, sizeof(*a->len));
    a->nums = ac_xcalloc(cap, 21);
    a->n = 0;
}

static void mem_argv_deinit(struct mem_argv *a)
{
    free(a->v);
    free(a->len);
    free(a->nums);
}

static void mem_arg(struct mem_argv *a, const char *s)
{
    a->v[a->n] = s;
    a->len[a->n++] = strlen(s);
}

static void mem_argn(struct mem_argv *a, long long v)
{
    char *p = a->nums + 21 * (size_t)a->n;

    a->len[a->n] = (size_t)snprintf(p, 21, "%lld", v);
    a->v[a->n++] = p;
}

void ac_esc_members_append_add(redisContext *rc, const struct ac_esc_set *s, const char *token,
                               const int64_t *keys, size_t n)
{
    struct mem_argv a;
    char *set = mem_set_key(s), *pend = mem_pending_key(s);

    pthread_once(&mem_once, mem_hash);
    mem_argv_init(&a, n + 7);
    mem_arg(&a, "EVALSHA");
    mem_arg(&a, mem_add_sha);
    mem_arg(&a, "2");
    mem_arg(&a, set);
    mem_arg(&a, pend);
    mem_arg(&a, token);
    mem_argn(&a, AC_ESC_MEMBERS_TTL_MS);
    for (size_t i = 0; i < n; i++) {
        mem_argn(&a, keys[i]);
    }
    (void)redisAppendCommandArgv(rc, a.n, a.v, a.len);
    mem_argv_deinit(&a);
    free(set);
    free(pend);
}

int ac_esc_members_parse_add(const redisReply *r, bool *added, size_t n)
{
    if (r->type == REDIS_REPLY_INTEGER && r->integer == -1) {
        return 0;
    }
    if (r->type != REDIS_REPLY_STRING || r->len != n) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        added[i] = r->str[i] == '1';
    }
    return 1;
}

#define MEM_CHUNK 4096 /* members per SADD of a rebuild */

size_t ac_esc_members_append_rebuild(redisContext *rc, const struct ac_esc_set *s,
                                     const int64_t *keys, size_t n)
{
    struct mem_argv a;
    char *set = mem_set_key(s), *pend = mem_pending_key(s);
    size_t replies = 0;

    (void)redisAppendCommand(rc, "DEL %s", set);
    replies++;
    for (size_t i = 0; i < n; i += MEM_CHUNK) {
        mem_argv_init(&a, MEM_CHUNK + 2);
        mem_arg(&a, "SADD");
        mem_arg(&a, set);
        for (size_t k = i; k < n && k < i + MEM_CHUNK; k++) {
            mem_argn(&a, keys[k]);
        }
        (void)redisAppendCommandArgv(rc, a.n, a.v, a.len);
        mem_argv_deinit(&a);
        replies++;
    }
    /* complete only now, and no longer pending */
    (void)redisAppendCommand(rc, "SADD %s #", set);
    (void)redisAppendCommand(rc, "PEXPIRE %s %lld", set, AC_ESC_MEMBERS_TTL_MS);
    (void)redisAppendCommand(rc, "DEL %s", pend);
    replies += 3;
    free(set);
    free(pend);
    return replies;
}

void ac_esc_members_append_settle(redisContext *rc, const struct ac_esc_set *s, const char *token)
{
    char *pend = mem_pending_key(s);

    pthread_once(&mem_once, mem_hash);
    (void)redisAppendCommand(rc, "EVALSHA %s 1 %s %s", mem_settle_sha, pend, token);
    free(pend);
}

void ac_esc_members_append_forget(redisContext *rc, const struct ac_esc_set *s)
{
    char *set = mem_set_key(s), *pend = mem_pending_key(s);

    (void)redisAppendCommand(rc, "DEL %s %s", set, pend);
    free(set);
    free(pend);
}
