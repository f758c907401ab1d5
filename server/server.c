/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The subcommands serve, migrate and check-config: start-up order, signal
 * handling and shutdown (stop ingest, drain, join, close).
 */
#include "server/server.h"

#include <ctype.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "schema/timefmt.h"
#include "server/api.h"
#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/core/metrics.h"
#include "server/core/migrate.h"
#include "server/core/redis.h"
#include "server/core/worker.h"
#include "server/escalator.h"
#include "server/filter.h"
#include "server/grouping.h"
#include "server/health.h"
#include "server/http.h"
#include "server/notifier.h"
#include "server/registry.h"
#include "server/retention.h"
#include "server/subs.h"
#include "server/subs_notify.h"
#include "server/sweeper.h"
#include "server/tls.h"
#include "server/tokens.h"

/* How often the heap's free memory goes back to the system (mem.h). */
#define SRV_MEMTRIM_MS 10000

volatile sig_atomic_t ac_stop_signal;
static volatile sig_atomic_t srv_reload_signal;

static void srv_on_signal(int sig)
{
    if (sig == SIGHUP) {
        srv_reload_signal = 1;
        return;
    }
    ac_stop_signal = 1;
}

static void srv_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = srv_on_signal;
    sigemptyset(&sa.sa_mask);
    (void)sigaction(SIGTERM, &sa, NULL);
    (void)sigaction(SIGINT, &sa, NULL);
    (void)sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    (void)sigaction(SIGPIPE, &sa, NULL);
}

static void srv_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* Logs every problem of errs (consumed) with its path: {"path", "message"}
 * objects or "path: message" strings. */
static void srv_log_problems(json_t *errs)
{
    json_t *e;
    size_t i;

    json_array_foreach(errs, i, e)
    {
        if (json_is_string(e)) { /* "path: message" */
            ac_log(AC_LOG_ERROR, "config", "%s", json_string_value(e));
        }
        else {
            ac_log(AC_LOG_ERROR, "config", "%s: %s", json_string_value(json_object_get(e, "path")),
                   json_string_value(json_object_get(e, "message")));
        }
    }
    json_decref(errs);
}

/* The modules' own sections of the configuration, into s (every problem
 * logged); srv_modules_deinit releases them, loaded or not. */
static int srv_modules(const struct ac_config *cfg, struct ac_server *s)
{
    json_t *errs = json_array();
    int rc = ac_esc_config_load(&s->escalation, cfg->escalation, errs);

    if (ac_notify_config_load(&s->notify, cfg->notify, errs) != AC_OK) {
        rc = AC_EINVAL;
    }
    if (ac_am_config_load(cfg->prometheus, &s->prometheus, errs) != AC_OK) {
        rc = AC_EINVAL;
    }
    if (ac_pd_config_load(cfg->pagerduty, &s->pagerduty, errs) != AC_OK) {
        rc = AC_EINVAL;
    }
    if (ac_stats_config_check(cfg->stats, errs) != 0) {
        rc = AC_EINVAL;
    }
    if (ac_k8s_map_load(cfg->kubernetes, &s->k8s_map, errs) != AC_OK) {
        rc = AC_EINVAL;
    }
    s->formats = (struct ac_ingest_formats){&s->prometheus, &s->k8s_map};
    s->heartbeats =
        (struct ac_ingest){&ac_heartbeat_ops, cfg, cfg->heartbeats, &s->sink, &s->formats, NULL};
    if (s->heartbeats.ops->init(&s->heartbeats) != AC_OK) {
        rc = AC_EINVAL;
    }
    s->kafka = (struct ac_ingest){&ac_kafka_ops, cfg, cfg->kafka, &s->sink, &s->formats, NULL};
    if (s->kafka.ops->init(&s->kafka) != AC_OK) {
        rc = AC_EINVAL;
    }
    s->k8s = (struct ac_ingest){&ac_k8s_ops, cfg, cfg->kubernetes, &s->sink, &s->formats, NULL};
    if (s->k8s.ops->init(&s->k8s) != AC_OK) {
        rc = AC_EINVAL;
    }
    srv_log_problems(errs);
    return rc;
}

static void srv_modules_deinit(struct ac_server *s)
{
    ac_esc_config_deinit(&s->escalation);
    ac_notify_config_deinit(&s->notify);
    ac_am_config_deinit(&s->prometheus);
    ac_pd_config_deinit(&s->pagerduty);
    ac_k8s_map_deinit(&s->k8s_map);
    if (s->heartbeats.ops) {
        s->heartbeats.ops->destroy(&s->heartbeats); /* stops it first */
    }
    if (s->kafka.ops) {
        s->kafka.ops->destroy(&s->kafka);
    }
    if (s->k8s.ops) {
        s->k8s.ops->destroy(&s->k8s);
    }
}

/* An adapter's figures for /metrics. */
static void srv_ingest_collect(void *ctx, struct ac_metrics_out *o)
{
    struct ac_ingest *in = ctx;

    in->ops->collect(in, o);
}

static int srv_load_config(struct ac_config *cfg, const char *path)
{
    enum ac_log_level lvl;

    if (ac_config_load(cfg, path) != AC_OK) {
        return AC_EINVAL;
    }
    if (!ac_log_level_parse(cfg->log_level, &lvl)) {
        ac_log(AC_LOG_ERROR, "config", "log.level: unknown level %s", cfg->log_level);
        ac_config_deinit(cfg);
        return AC_EINVAL;
    }
    ac_log_set_level(lvl);
    return AC_OK;
}

void ac_server_starting(struct ac_server *srv, char *out, size_t len)
{
    pthread_mutex_lock(&srv->start_lock);
    (void)snprintf(out, len, "%s", srv->starting);
    pthread_mutex_unlock(&srv->start_lock);
}

__attribute__((format(printf, 2, 3))) static void srv_set_starting(struct ac_server *srv,
                                                                   const char *fmt, ...)
{
    va_list ap;

    if (!srv) {
        return;
    }
    pthread_mutex_lock(&srv->start_lock);
    va_start(ap, fmt);
    (void)vsnprintf(srv->starting, sizeof(srv->starting), fmt, ap);
    va_end(ap);
    pthread_mutex_unlock(&srv->start_lock);
}

/* Connects and applies the migrations. With srv (serve), an unreachable
 * PostgreSQL is tried again with a backoff from 1 s doubling to 30 s until
 * it answers or a stop signal comes, and srv says so meanwhile (/readyz);
 * without (migrate), once. */
/* Checks that the login role of conn may act as role (postgres.app_role),
 * then makes every connection opened from now on do so. */
static int srv_assume_role(PGconn *conn, const char *role)
{
    const char *p[1] = {role};
    PGresult *r = ac_pg_query(conn, "migrate",
                              "SELECT pg_has_role(current_user, r.oid, 'MEMBER')"
                              " FROM pg_roles r WHERE r.rolname = $1",
                              1, p);
    bool ok = r && PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';

    for (const char *c = role; ok && *c; c++) {
        if (!isalnum((unsigned char)*c) && *c != '_') {
            ac_log(AC_LOG_ERROR, "migrate", "postgres.app_role: letters, digits and _ only");
            ok = false;
        }
    }

    if (r && !ok) {
        ac_log(AC_LOG_ERROR, "migrate",
               "the login role cannot act as postgres.app_role \"%s\" (%s): grant it, or set"
               " postgres.app_role to \"\" to serve with the login role's own rights",
               role, PQntuples(r) == 0 ? "no such role" : "not a member");
    }
    PQclear(r);
    if (!ok) {
        return AC_EDB;
    }
    ac_pg_set_role(role);
    ac_log(AC_LOG_INFO, "migrate", "serving as role=%s", role);
    return AC_OK;
}

static int srv_migrate(const struct ac_config *cfg, struct ac_server *srv)
{
    PGconn *conn = NULL;
    int applied = 0, rc;
    long backoff_ms = 1000;

    for (int attempt = 1;; attempt++) {
        srv_set_starting(srv, "connecting to PostgreSQL (attempt %d)", attempt);
        conn = ac_pg_connect(cfg->pg_dsn);
        if (conn || !srv || ac_stop_signal) {
            break;
        }
        srv_set_starting(srv, "PostgreSQL is unreachable (attempt %d; the next in %ld s)", attempt,
                         backoff_ms / 1000);
        for (long slept = 0; slept < backoff_ms && !ac_stop_signal; slept += 100) {
            srv_sleep_ms(100);
        }
        backoff_ms = backoff_ms * 2 > 30000 ? 30000 : backoff_ms * 2;
    }
    if (!conn) {
        ac_log(AC_LOG_ERROR, "migrate", "PostgreSQL is unreachable");
        return AC_EDB;
    }
    srv_set_starting(srv, "applying migrations");
    rc = ac_migrate_run(conn, &applied);
    if (rc == AC_OK) {
        ac_log(AC_LOG_INFO, "migrate", "schema up to date applied=%d", applied);
        /* the partitions events and audit entries land in, before any ingest */
        if (!ac_pg_run(conn, "migrate", "SELECT ac_partitions_ahead()", 0, NULL)) {
            rc = AC_EDB;
        }
    }
    if (rc == AC_OK && srv && *cfg->pg_app_role) {
        rc = srv_assume_role(conn, cfg->pg_app_role);
    }
    PQfinish(conn);
    return rc;
}

int ac_cmd_migrate(const char *config_path)
{
    struct ac_config cfg;
    int rc;

    if (srv_load_config(&cfg, config_path) != AC_OK) {
        return 2;
    }
    rc = srv_migrate(&cfg, NULL);
    ac_config_deinit(&cfg);
    return rc == AC_OK ? 0 : 1;
}

int ac_cmd_check_config(const char *config_path)
{
    struct ac_config cfg;
    struct ac_auth *auth = NULL;
    struct ac_redis_target rt;
    PQconninfoOption *pq;
    char *err = NULL;
    bool ok = true;
    json_t *dump;
    char *s;

    if (srv_load_config(&cfg, config_path) != AC_OK) {
        return 2;
    }
    auth = ac_auth_create_checked(cfg.auth_tokens, true);
    if (!auth) {
        ok = false;
    }
    if (ac_filter_check_config(&cfg) != AC_OK) {
        ok = false;
    }
    {
        struct ac_server mods;
        memset(&mods, 0, sizeof(mods));
        if (srv_modules(&cfg, &mods) != AC_OK) {
            ok = false;
        }
        srv_modules_deinit(&mods);
    }
    if (ac_redis_parse_url(cfg.redis_url, &rt) != AC_OK) {
        ac_log(AC_LOG_ERROR, "config", "redis.url: not a redis:// URL");
        ok = false;
    }
    ac_redis_target_deinit(&rt);
    if (!ac_http_listen_ok(cfg.listen)) {
        ac_log(AC_LOG_ERROR, "config",
               "listen: want host:port with a numeric host and a port"
               " 1..65535");
        ok = false;
    }
    pq = PQconninfoParse(cfg.pg_dsn, &err);
    if (!pq) { /* libpq's message may quote a piece of the password: not shown */
        ac_log(AC_LOG_ERROR, "config", "postgres.dsn: cannot be parsed as a connection string");
        ok = false;
    }
    PQconninfoFree(pq);
    PQfreemem(err);
    if (cfg.tls_cert_file || cfg.tls_key_file) {
        struct ac_tls *tls = NULL;
        if (!cfg.tls_cert_file || !cfg.tls_key_file) {
            ac_log(AC_LOG_ERROR, "config", "tls: give both cert_file and key_file");
        }
        else {
            tls = ac_tls_create(cfg.tls_cert_file, cfg.tls_key_file); /* says why not */
        }
        ok = ok && tls;
        ac_tls_destroy(tls);
    }
    if (!ok) { /* the problems are logged; an invalid configuration is not printed */
        ac_log(AC_LOG_ERROR, "config", "configuration is not valid");
        ac_auth_destroy(auth);
        ac_config_deinit(&cfg);
        return 2;
    }
    dump = ac_cfg_dump(ac_config_table, &cfg);
    json_object_set_new(dump, "auth_token_count",
                        json_integer(auth ? (json_int_t)ac_auth_count(auth) : 0));
    s = json_dumps(dump, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    printf("%s\n", s);
    free(s);
    json_decref(dump);
    ac_auth_destroy(auth);
    ac_config_deinit(&cfg);
    return 0;
}

/* The front starts first: metrics, the read pool, health and the listener,
 * which answers /healthz and /readyz (why it is not ready) at once; then
 * the migrations (waiting for PostgreSQL) and every other part in order,
 * registering their metrics, and the server is ready. On failure the parts
 * started are left for srv_teardown. */
/* The writer committed intents: the notifier plans now (under wake_lock, so
 * teardown can take the notifier away first). */
static void srv_wake_notifier(void *arg)
{
    struct ac_server *srv = arg;

    pthread_mutex_lock(&srv->wake_lock);
    if (srv->wake_notifier) {
        ac_notifier_wake(srv->wake_notifier);
    }
    pthread_mutex_unlock(&srv->wake_lock);
}

static int srv_start_front(struct ac_server *srv)
{
    srv->started_us = ac_time_now_us();
    srv->metrics = ac_metrics_create();
    ac_api_metrics_register(srv);
    srv->pool = ac_pg_pool_create(srv->cfg.pg_dsn, (int)srv->cfg.pg_pool_size);
    srv->health = ac_health_create(&srv->cfg, srv->pool);
    if (!srv->health) {
        return AC_EIO;
    }
    srv->http = ac_http_start(srv);
    return srv->http ? AC_OK : AC_EIO;
}

static int srv_start_parts(struct ac_server *srv)
{
    srv_set_starting(srv, "loading the database tokens");
    if (!(srv->tokens = ac_tokens_start(&srv->cfg, srv->auth))) {
        return AC_EIO;
    }
    srv_set_starting(srv, "starting the writer and workers");
    if (!(srv->subs = ac_subs_start(&srv->cfg))) {
        return AC_EDB;
    }
    srv->writer = ac_writer_create(srv->cfg.pg_dsn, srv->cfg.redis_url, srv->cfg.redis_prefix,
                                   &srv->escalation, srv->cfg.writer_queue_events,
                                   srv->cfg.group_commit_max_events);
    {
        unsigned mask = 0;
        for (int l = AC_LEVEL_P1; l <= AC_LEVEL_P4; l++) {
            mask |= ac_notify_level_notifies(&srv->notify, (enum ac_level)l) ? 1u << l : 0;
        }
        ac_writer_set_notify_levels(srv->writer, mask);
        ac_writer_set_subs(srv->writer, srv->subs);
    }
    ac_metrics_register(srv->metrics, ac_writer_collect, srv->writer);
    if (ac_writer_start(srv->writer) != AC_OK) {
        return AC_EIO;
    }
    srv->registry = ac_registry_start(&srv->cfg);
    if (!srv->registry) {
        return AC_EIO;
    }
    srv->filter = ac_filter_start(&srv->cfg);
    if (!srv->filter) {
        return AC_EIO;
    }
    srv->grouping = ac_grouping_start(&srv->cfg);
    if (!srv->grouping) {
        return AC_EIO;
    }
    srv->memtrim = ac_mem_trimmer_start(SRV_MEMTRIM_MS);
    srv->sweeper = ac_sweeper_start(&srv->cfg);
    srv->retention = ac_retention_start(&srv->cfg);
    srv->subs_notify = ac_subs_notify_start(&srv->cfg, &srv->notify);
    if (!srv->sweeper) {
        return AC_EIO;
    }
    srv->escalator = ac_escalator_start(&srv->cfg, &srv->escalation);
    if (!srv->escalator) {
        return AC_EIO;
    }
    srv->sink.submit = ac_pipeline_submit;
    srv->sink.ctx = srv;
    srv->notifier = ac_notifier_start(&srv->cfg, &srv->notify, &srv->sink);
    if (!srv->notifier) {
        return AC_EIO;
    }
    ac_metrics_register(srv->metrics, ac_notifier_collect, srv->notifier);
    srv->wake_notifier = srv->notifier;
    ac_writer_on_intents(srv->writer, srv_wake_notifier, srv);
    if (srv->heartbeats.ops->start(&srv->heartbeats) != AC_OK) {
        return AC_EIO;
    }
    ac_metrics_register(srv->metrics, srv_ingest_collect, &srv->heartbeats);
    if (srv->kafka.ops->start(&srv->kafka) != AC_OK) {
        return AC_EIO;
    }
    ac_metrics_register(srv->metrics, srv_ingest_collect, &srv->kafka);
    if (srv->k8s.ops->start(&srv->k8s) != AC_OK) {
        return AC_EIO;
    }
    ac_metrics_register(srv->metrics, srv_ingest_collect, &srv->k8s);
    srv_set_starting(srv, "%s", "");
    __atomic_store_n(&srv->ready, 1, __ATOMIC_RELEASE);
    return AC_OK;
}

/* Stops every part in the reverse order of their dependencies (sources
 * before the writer they submit to) and frees the server. */
static void srv_teardown(struct ac_server *srv, int code)
{
    __atomic_store_n(&srv->stopping, 1, __ATOMIC_RELEASE);
    ac_http_stop(srv->http, 0);
    ac_sweeper_stop(srv->sweeper);
    ac_worker_stop(srv->memtrim);
    ac_retention_stop(srv->retention);
    ac_subs_notify_stop(srv->subs_notify);
    ac_escalator_stop(srv->escalator);
    pthread_mutex_lock(&srv->wake_lock); /* the writer wakes it no more */
    srv->wake_notifier = NULL;
    pthread_mutex_unlock(&srv->wake_lock);
    ac_notifier_stop(srv->notifier);
    srv->heartbeats.ops->stop(&srv->heartbeats); /* it submits to the writer */
    srv->kafka.ops->stop(&srv->kafka);           /* and so does it */
    srv->k8s.ops->stop(&srv->k8s);               /* and the watch */
    ac_filter_stop(srv->filter);
    ac_tokens_stop(srv->tokens);
    ac_grouping_stop(srv->grouping);
    ac_registry_stop(srv->registry);
    if (srv->writer) {
        struct ac_writer_stats st;
        ac_writer_stop(srv->writer);
        ac_writer_stats(srv->writer, &st);
        ac_log(AC_LOG_INFO, "writer",
               "stopped groups=%llu events=%llu failed_jobs=%llu alerts_raised=%llu", st.groups,
               st.events, st.failures, st.raised);
    }
    ac_writer_destroy(srv->writer);
    ac_subs_stop(srv->subs);
    if (code == 0) {
        ac_log(AC_LOG_INFO, "server", "stopped");
    }
    ac_health_destroy(srv->health);
    ac_pg_pool_destroy(srv->pool);
    ac_metrics_destroy(srv->metrics);
    ac_auth_destroy(srv->auth);
    srv_modules_deinit(srv);
    ac_config_deinit(&srv->cfg);
}

int ac_cmd_serve(const char *config_path)
{
    struct ac_server srv;
    int code = 1;

    memset(&srv, 0, sizeof(srv));
    pthread_mutex_init(&srv.wake_lock, NULL);
    pthread_mutex_init(&srv.start_lock, NULL);
    (void)snprintf(srv.starting, sizeof(srv.starting), "reading the configuration");
    srv_signals();
    if (srv_load_config(&srv.cfg, config_path) != AC_OK) {
        return 2;
    }
    srv.auth = ac_auth_create(srv.cfg.auth_tokens);
    if (srv.auth) {
        ac_auth_set_default_rate(srv.auth, (double)srv.cfg.token_rate_per_s,
                                 (double)srv.cfg.token_burst);
    }
    if (!srv.auth || srv_modules(&srv.cfg, &srv) != AC_OK) {
        ac_log(AC_LOG_ERROR, "config", "configuration is not valid; not starting");
        ac_auth_destroy(srv.auth);
        srv_modules_deinit(&srv);
        ac_config_deinit(&srv.cfg);
        return 2;
    }
    if (ac_auth_count(srv.auth) == 0) {
        ac_log(AC_LOG_WARN, "auth",
               "no tokens configured: every API endpoint answers 401 "
               "(set AC_ADMIN_TOKEN)");
    }
    if (srv_start_front(&srv) != AC_OK || srv_migrate(&srv.cfg, &srv) != AC_OK ||
        srv_start_parts(&srv) != AC_OK) {
        goto cleanup;
    }
    ac_log(AC_LOG_INFO, "server", "serving version=%s pid=%d", AC_VERSION, (int)getpid());
    while (!ac_stop_signal) {
        srv_sleep_ms(100);
        if (srv_reload_signal) {
            srv_reload_signal = 0;
            ac_log(AC_LOG_INFO, "server", "SIGHUP: reloading the TLS certificate");
            (void)ac_http_reload_tls(srv.http);
        }
    }
    ac_log(AC_LOG_INFO, "server", "stopping: draining in-flight requests");
    __atomic_store_n(&srv.stopping, 1, __ATOMIC_RELEASE);
    ac_http_stop(srv.http, srv.cfg.shutdown_grace_s);
    srv.http = NULL;
    code = 0;
cleanup:
    srv_teardown(&srv, code);
    return code;
}
