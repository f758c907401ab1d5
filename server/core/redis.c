/* SPDX-License-Identifier: Apache-2.0 */
/* Redis URL parsing (with libcurl's URL API) and connection set-up. */
#include "server/core/redis.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/fingerprint.h"
#include "schema/timefmt.h"
#include "server/core/mem.h"

static char *rd_part(CURLU *u, CURLUPart part)
{
    char *v = NULL, *copy = NULL;

    if (curl_url_get(u, part, &v, CURLU_URLDECODE) == CURLUE_OK && v && *v) {
        copy = ac_xstrdup(v);
    }
    curl_free(v);
    return copy;
}

int ac_redis_parse_url(const char *url, struct ac_redis_target *t)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *port = NULL, *path = NULL, *end = NULL;
    int rc = AC_EINVAL;

    memset(t, 0, sizeof(*t));
    if (!u || curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
        goto cleanup;
    }
    scheme = rd_part(u, CURLUPART_SCHEME);
    if (!scheme || strcmp(scheme, "redis") != 0) {
        goto cleanup;
    }
    t->host = rd_part(u, CURLUPART_HOST);
    t->username = rd_part(u, CURLUPART_USER);
    t->password = rd_part(u, CURLUPART_PASSWORD);
    port = rd_part(u, CURLUPART_PORT);
    path = rd_part(u, CURLUPART_PATH);
    if (!t->host) {
        goto cleanup;
    }
    /* libcurl keeps IPv6 brackets in the host; hiredis wants them off. */
    if (t->host[0] == '[') {
        size_t n = strlen(t->host);
        memmove(t->host, t->host + 1, n - 2);
        t->host[n - 2] = '\0';
    }
    t->port = 6379;
    if (port) {
        long p = strtol(port, &end, 10);
        if (*end != '\0' || p < 1 || p > 65535) {
            goto cleanup;
        }
        t->port = (int)p;
    }
    if (path && strcmp(path, "/") != 0) {
        long db = strtol(path + 1, &end, 10);
        if (*end != '\0' || db < 0 || db > 15) {
            goto cleanup;
        }
        t->db = (int)db;
    }
    rc = AC_OK;
cleanup:
    free(scheme);
    free(port);
    free(path);
    curl_url_cleanup(u);
    if (rc != AC_OK) {
        ac_redis_target_deinit(t);
    }
    return rc;
}

void ac_redis_target_deinit(struct ac_redis_target *t)
{
    free(t->host);
    free(t->username);
    free(t->password);
    memset(t, 0, sizeof(*t));
}

static int rd_expect_ok(redisContext *c, redisReply *r, char *err, size_t errlen)
{
    int rc = AC_OK;

    if (!r) {
        (void)snprintf(err, errlen, "%s", c->errstr);
        return AC_EKV;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        (void)snprintf(err, errlen, "%s", r->str);
        rc = AC_EKV;
    }
    freeReplyObject(r);
    return rc;
}

redisContext *ac_redis_connect(const struct ac_redis_target *t, int timeout_ms, char *err,
                               size_t errlen)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(t->host, t->port, tv);
    redisReply *r;

    if (!c || c->err) {
        (void)snprintf(err, errlen, "%s", c ? c->errstr : "out of memory");
        redisFree(c);
        return NULL;
    }
    if (redisSetTimeout(c, tv) != REDIS_OK) {
        (void)snprintf(err, errlen, "cannot set timeout");
        redisFree(c);
        return NULL;
    }
    if (t->password) {
        r = t->username ? redisCommand(c, "AUTH %s %s", t->username, t->password)
                        : redisCommand(c, "AUTH %s", t->password);
        if (rd_expect_ok(c, r, err, errlen) != AC_OK) {
            redisFree(c);
            return NULL;
        }
    }
    if (t->db) {
        r = redisCommand(c, "SELECT %d", t->db);
        if (rd_expect_ok(c, r, err, errlen) != AC_OK) {
            redisFree(c);
            return NULL;
        }
    }
    return c;
}

int ac_redis_ping(redisContext *c, char *err, size_t errlen)
{
    return rd_expect_ok(c, redisCommand(c, "PING"), err, errlen);
}

redisContext *ac_redis_lazy_get(struct ac_redis_lazy *l, const struct ac_redis_target *t,
                                int timeout_ms, int64_t retry_us, int (*prepare)(redisContext *c),
                                bool *fresh)
{
    char err[128];

    if (fresh) {
        *fresh = false;
    }
    if (l->c || ac_time_now_us() < l->next_try) {
        return l->c;
    }
    l->c = ac_redis_connect(t, timeout_ms, err, sizeof(err));
    if (l->c && prepare && prepare(l->c) != AC_OK) {
        redisFree(l->c);
        l->c = NULL;
    }
    if (!l->c) {
        l->next_try = ac_time_now_us() + retry_us;
    }
    else if (fresh) {
        *fresh = true;
    }
    return l->c;
}

void ac_redis_lazy_drop(struct ac_redis_lazy *l, int64_t retry_us)
{
    redisFree(l->c);
    l->c = NULL;
    l->next_try = ac_time_now_us() + retry_us;
}

void ac_redis_script_sha(const char *lua, char out[41])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    AC_ASSERT(EVP_Digest(lua, strlen(lua), d, &n, EVP_sha1(), NULL) == 1 && n == 20);
    ac_hex(d, n, out);
}

int ac_redis_script_load(redisContext *c, const char *lua, const char *sha)
{
    redisReply *r = redisCommand(c, "SCRIPT LOAD %s", lua);
    bool ok = r && r->type == REDIS_REPLY_STRING && strcmp(r->str, sha) == 0;

    freeReplyObject(r);
    return ok ? AC_OK : AC_EKV;
}

void ac_redis_argv_init(struct ac_redis_argv *a, size_t cap)
{
    a->v = ac_xcalloc(cap, sizeof(*a->v));
    a->len = ac_xcalloc(cap, sizeof(*a->len));
    a->nums = ac_xcalloc(cap, 21);
    a->n = 0;
    a->cap = (int)cap;
}

void ac_redis_argv_add(struct ac_redis_argv *a, const char *s, size_t len)
{
    AC_ASSERT(a->n < a->cap);
    a->v[a->n] = s;
    a->len[a->n++] = len;
}

void ac_redis_argv_str(struct ac_redis_argv *a, const char *s)
{
    ac_redis_argv_add(a, s, strlen(s));
}

void ac_redis_argv_num(struct ac_redis_argv *a, long long v)
{
    char *p;

    AC_ASSERT(a->n < a->cap);
    p = a->nums + 21 * (size_t)a->n;
    ac_redis_argv_add(a, p, (size_t)snprintf(p, 21, "%lld", v));
}

void ac_redis_argv_clear(struct ac_redis_argv *a)
{
    a->n = 0;
}

void ac_redis_argv_append(redisContext *c, const struct ac_redis_argv *a)
{
    (void)redisAppendCommandArgv(c, a->n, a->v, a->len);
}

void ac_redis_argv_deinit(struct ac_redis_argv *a)
{
    free(a->v);
    free(a->len);
    free(a->nums);
    memset(a, 0, sizeof(*a));
}
