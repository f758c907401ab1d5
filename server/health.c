/* SPDX-License-Identifier: Apache-2.0 */
/* /healthz and /readyz. */
#include "server/health.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/timefmt.h"
#include "server/api.h"
#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/core/redis.h"
#include "server/server.h"

#define HEALTH_CACHE_US 1000000

struct ac_health {
    pthread_mutex_t lock;
    struct ac_pg_pool *pool;
    struct ac_redis_target target;
    bool target_ok;
    int timeout_ms;
    redisContext *redis;
    int64_t checked_at;
    bool pg_ok, redis_ok;
    char pg_err[256], redis_err[256];
};

struct ac_health *ac_health_create(const struct ac_config *cfg, struct ac_pg_pool *pool)
{
    struct ac_health *h = ac_xcalloc(1, sizeof(*h));

    pthread_mutex_init(&h->lock, NULL);
    h->pool = pool;
    h->timeout_ms = (int)cfg->redis_timeout_ms;
    h->target_ok = ac_redis_parse_url(cfg->redis_url, &h->target) == AC_OK;
    if (!h->target_ok) {
        ac_log(AC_LOG_ERROR, "health", "invalid redis.url");
        ac_health_destroy(h);
        return NULL;
    }
    return h;
}

void ac_health_destroy(struct ac_health *h)
{
    if (!h) {
        return;
    }
    redisFree(h->redis);
    ac_redis_target_deinit(&h->target);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

static void health_first_line(char *dst, size_t n, const char *src)
{
    (void)snprintf(dst, n, "%.*s", (int)strcspn(src, "\n"), src);
}

static void health_check_pg(struct ac_health *h)
{
    PGconn *c = ac_pg_pool_acquire(h->pool, 2000);
    PGresult *res;

    h->pg_ok = false;
    if (!c) {
        (void)snprintf(h->pg_err, sizeof(h->pg_err), "cannot connect");
        return;
    }
    res = PQexecParams(c, "SELECT 1", 0, NULL, NULL, NULL, NULL, 0);
    h->pg_ok = PQresultStatus(res) == PGRES_TUPLES_OK;
    if (!h->pg_ok) {
        health_first_line(h->pg_err, sizeof(h->pg_err), PQerrorMessage(c));
    }
    PQclear(res);
    ac_pg_pool_release(h->pool, c);
}

static void health_check_redis(struct ac_health *h)
{
    h->redis_ok = false;
    if (!h->redis) {
        h->redis = ac_redis_connect(&h->target, h->timeout_ms, h->redis_err, sizeof(h->redis_err));
        if (!h->redis) {
            return;
        }
    }
    if (ac_redis_ping(h->redis, h->redis_err, sizeof(h->redis_err)) != AC_OK) {
        redisFree(h->redis);
        h->redis = NULL;
        return;
    }
    h->redis_ok = true;
}

static json_t *health_item(bool ok, const char *err)
{
    return ok ? json_pack("{s:b}", "ok", 1) : json_pack("{s:b, s:s}", "ok", 0, "error", err);
}

bool ac_health_ready(struct ac_health *h, json_t **checks)
{
    int64_t now = ac_time_now_us();
    bool ok;

    pthread_mutex_lock(&h->lock);
    if (now - h->checked_at >= HEALTH_CACHE_US || !(h->pg_ok && h->redis_ok)) {
        health_check_pg(h);
        health_check_redis(h);
        h->checked_at = ac_time_now_us();
    }
    ok = h->pg_ok && h->redis_ok;
    *checks = json_pack("{s:o, s:o}", "postgres", health_item(h->pg_ok, h->pg_err), "redis",
                        health_item(h->redis_ok, h->redis_err));
    pthread_mutex_unlock(&h->lock);
    return ok;
}

void ac_api_healthz(struct ac_http_req *r)
{
    char why[256];

    if (!__atomic_load_n(&r->srv->ready, __ATOMIC_ACQUIRE)) { /* alive, not ready yet */
        ac_server_starting(r->srv, why, sizeof(why));
        ac_http_reply_json(r, 200, json_pack("{s:s, s:s}", "status", "starting", "reason", why));
        return;
    }
    ac_http_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

void ac_api_readyz(struct ac_http_req *r)
{
    json_t *checks = NULL;
    bool ok = ac_health_ready(r->srv->health, &checks);
    char why[256];

    if (!__atomic_load_n(&r->srv->ready, __ATOMIC_ACQUIRE)) {
        ac_server_starting(r->srv, why, sizeof(why));
        ac_http_reply_json(
            r, 503,
            json_pack("{s:s, s:s, s:o}", "status", "starting", "reason", why, "checks", checks));
        ac_http_add_header(r, "Retry-After", "1");
        return;
    }
    ac_http_reply_json(
        r, ok ? 200 : 503,
        json_pack("{s:s, s:o}", "status", ok ? "ready" : "unavailable", "checks", checks));
}
