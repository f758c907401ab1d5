/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Redis client helpers over hiredis 0.14: URL parsing and connecting. A
 * redisContext belongs to one thread; a NULL reply means the connection is
 * broken and must be reopened.
 */
#ifndef AC_SERVER_CORE_REDIS_H
#define AC_SERVER_CORE_REDIS_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdint.h>

#include "server/core/err.h"

struct ac_redis_target {
    char *host;
    int port;
    char *username; /* Redis 6 ACL user, or NULL */
    char *password; /* or NULL */
    int db;
};

/* Parses redis://[[user]:password@]host[:port][/db]. Returns AC_OK or AC_EINVAL. */
AC_MUST_CHECK int ac_redis_parse_url(const char *url, struct ac_redis_target *t);
void ac_redis_target_deinit(struct ac_redis_target *t);

/* Connects, authenticates and selects the db. Returns new context or NULL,
 * with the reason in err (a static or library string, never a secret). */
redisContext *ac_redis_connect(const struct ac_redis_target *t, int timeout_ms, char *err,
                               size_t errlen);

/*
 * A connection made on demand, for one thread: after a failure the next
 * attempt waits retry_us. prepare (may be NULL) runs on each new connection,
 * and its failure counts as one. *fresh (may be NULL) says whether this call
 * connected. Returns the connection, or NULL while Redis cannot be reached.
 */
struct ac_redis_lazy {
    redisContext *c;
    int64_t next_try;
};
redisContext *ac_redis_lazy_get(struct ac_redis_lazy *l, const struct ac_redis_target *t,
                                int timeout_ms, int64_t retry_us, int (*prepare)(redisContext *c),
                                bool *fresh);
/* Closes it (after an error); the next attempt waits retry_us. */
void ac_redis_lazy_drop(struct ac_redis_lazy *l, int64_t retry_us);

/* The SHA-1 of a Lua script, as EVALSHA names it (40 hex digits and NUL). */
void ac_redis_script_sha(const char *lua, char out[41]);

/* SCRIPT LOAD lua, checked against its sha. Returns AC_OK or AC_EKV. */
AC_MUST_CHECK int ac_redis_script_load(redisContext *c, const char *lua, const char *sha);

/* An argument vector for redisAppendCommandArgv, of at most cap arguments:
 * strings (borrowed) and numbers (formatted into its own storage). */
struct ac_redis_argv {
    const char **v;
    size_t *len;
    char *nums; /* 21 bytes per argument */
    int n, cap;
};
void ac_redis_argv_init(struct ac_redis_argv *a, size_t cap);
void ac_redis_argv_add(struct ac_redis_argv *a, const char *s, size_t len);
void ac_redis_argv_str(struct ac_redis_argv *a, const char *s);
void ac_redis_argv_num(struct ac_redis_argv *a, long long v);
/* Empties it for the next command; its storage stays. */
void ac_redis_argv_clear(struct ac_redis_argv *a);
/* Appends the command (one reply). */
void ac_redis_argv_append(redisContext *c, const struct ac_redis_argv *a);
void ac_redis_argv_deinit(struct ac_redis_argv *a);

/* PING. Returns AC_OK or AC_EKV. */
AC_MUST_CHECK int ac_redis_ping(redisContext *c, char *err, size_t errlen);

#endif
