/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Table-driven configuration. A table lists every accepted key with its type,
 * default, environment override and bounds; loading walks the JSON file and
 * rejects any key the table does not name, so a typo stops start-up instead
 * of being silently ignored.
 */
#include "server/core/config.h"

#include <curl/curl.h>
#include <errno.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "server/core/log.h"
#include "server/core/mem.h"

#define CFO(f) offsetof(struct ac_config, f)

const struct ac_cfg_entry ac_config_table[] = {
    {AC_CFG_STR, "listen", "127.0.0.1:8080", CFO(listen), "AC_LISTEN",
     "HTTP listen address host:port ([::1]:8080 for IPv6)", 0, 0},
    {AC_CFG_STR, "tls.cert_file", NULL, CFO(tls_cert_file), "AC_TLS_CERT_FILE",
     "PEM certificate chain (leaf first): the listener speaks HTTPS; reread on SIGHUP", 0, 0},
    {AC_CFG_STR, "tls.key_file", NULL, CFO(tls_key_file), "AC_TLS_KEY_FILE",
     "PEM private key of tls.cert_file (unencrypted; reread on SIGHUP)", 0, 0},
    {AC_CFG_DSN, "postgres.dsn",
     "host=127.0.0.1 port=5432 dbname=alertcenter user=alertcenter connect_timeout=5", CFO(pg_dsn),
     "AC_PG_DSN", "libpq connection string or URI", 0, 0},
    {AC_CFG_STR, "postgres.app_role", "alertcenter_app", CFO(pg_app_role), "AC_PG_APP_ROLE",
     "the role serve acts as after migrating (it cannot change or delete the audit log); \"\" ="
     " the login role",
     0, 0},
    {AC_CFG_INT, "postgres.pool_size", "4", CFO(pg_pool_size), NULL,
     "connections for API reads (the writer has its own)", 1, 64},
    {AC_CFG_URL, "redis.url", "redis://127.0.0.1:6379/0", CFO(redis_url), "AC_REDIS_URL",
     "redis://[:password@]host:port[/db]", 0, 0},
    {AC_CFG_STR, "redis.prefix", "ac:", CFO(redis_prefix), "AC_REDIS_PREFIX",
     "prefix of every key this deployment keeps in Redis", 0, 0},
    {AC_CFG_INT, "redis.timeout_ms", "1000", CFO(redis_timeout_ms), NULL,
     "connect and command timeout", 10, 60000},
    {AC_CFG_INT, "limits.max_body_bytes", "1048576", CFO(max_body_bytes), NULL,
     "largest accepted request body; larger gets 413", 1024, 64 * 1024 * 1024},
    {AC_CFG_INT, "limits.max_batch_events", "10000", CFO(max_batch_events), NULL,
     "most events in one request; more gets 413", 1, 1000000},
    {AC_CFG_INT, "limits.max_connections", "4096", CFO(max_connections), NULL,
     "concurrent HTTP connections (more are closed at accept)", 4, 65536},
    {AC_CFG_INT, "limits.max_connections_per_client", "256", CFO(max_connections_per_client), NULL,
     "concurrent HTTP connections from one IP address", 1, 65536},
    {AC_CFG_INT, "limits.connection_timeout_s", "60", CFO(connection_timeout_s), NULL,
     "idle keep-alive connections are closed after this", 1, 3600},
    {AC_CFG_INT, "limits.header_timeout_ms", "5000", CFO(header_timeout_ms), NULL,
     "a connection that has not sent a whole header block this long after it opened is closed", 100,
     600000},
    {AC_CFG_INT, "limits.token_rate_per_s", "0", CFO(token_rate_per_s), NULL,
     "requests per second per token (refilled bucket; 429 past it) unless the token sets its"
     " own; 0 = no limit",
     0, 10000000},
    {AC_CFG_INT, "limits.token_burst", "0", CFO(token_burst), NULL,
     "requests a token may make at once before its rate applies; 0 = a second's worth", 0,
     10000000},
    {AC_CFG_INT, "http.io_threads", "0", CFO(http_io_threads), NULL,
     "event threads that serve the sockets (epoll); 0 = one per core", 0, 256},
    {AC_CFG_INT, "http.workers", "64", CFO(http_workers), NULL,
     "threads that run requests which may block (database, group commit)", 1, 4096},
    {AC_CFG_INT, "http.queue", "4096", CFO(http_queue), NULL,
     "requests waiting for a worker before the server answers 503", 1, 1000000},
    {AC_CFG_INT, "ingest.queue_events", "200000", CFO(writer_queue_events), NULL,
     "events waiting for the database before ingest answers 503", 100, 10000000},
    {AC_CFG_INT, "ingest.group_commit_max_events", "2000", CFO(group_commit_max_events), NULL,
     "most events in one shared transaction (group commit)", 1, 100000},
    {AC_CFG_INT, "shutdown_grace_s", "15", CFO(shutdown_grace_s), NULL,
     "how long SIGTERM waits for in-flight requests", 0, 600},
    {AC_CFG_INT, "lifecycle.sweep_interval_ms", "5000", CFO(sweep_interval_ms), NULL,
     "how often open alerts are checked for auto-resolve", 100, 3600000},
    {AC_CFG_INT, "lifecycle.default_resolve_timeout_s", "0", CFO(default_resolve_timeout_s), NULL,
     "auto-resolve after this long without events, for types without their own; 0 = never", 0,
     365 * 86400},
    {AC_CFG_INT, "enrich.context_events", "5", CFO(context_events), NULL,
     "related events (same app or resource) shown with an alert", 0, 100},
    {AC_CFG_INT, "retention.events_days", "30", CFO(retention_events_days), NULL,
     "events are kept this long (whole days; older day partitions are dropped)", 1, 36500},
    {AC_CFG_INT, "retention.history_days", "400", CFO(retention_history_days), NULL,
     "alerts, incidents and the audit log are kept this long (audit by month partitions)", 1,
     36500},
    {AC_CFG_INT, "retention.interval_s", "3600", CFO(retention_interval_s), NULL,
     "how often partitions are made ahead and old ones dropped", 10, 86400},
    {AC_CFG_BOOL, "audit.mask_addresses", "true", CFO(mask_addresses), NULL,
     "phone numbers and email addresses in histories are shown masked (+86****5678)", 0, 0},
    {AC_CFG_STR, "log.level", "info", CFO(log_level), "AC_LOG_LEVEL", "debug|info|warn|error", 0,
     0},
    {AC_CFG_JSON, "auth.tokens", NULL, CFO(auth_tokens), NULL,
     "bearer tokens: [{name, scopes, token_env|token_file|token_sha256}]", 0, 0},
    {AC_CFG_JSON, "escalation", NULL, CFO(escalation), NULL,
     "impact escalation: {policies: {trace: [tier]}, types: {type: [tier]}}", 0, 0},
    {AC_CFG_JSON, "notify", NULL, CFO(notify), NULL,
     "notification: {channels: {name: channel}, levels: {P1: [name]}, mtta_s, retry, poll_ms}", 0,
     0},
    {AC_CFG_JSON, "prometheus", NULL, CFO(prometheus), NULL,
     "Prometheus/Alertmanager formats: {level_label, levels: {value: P1..P4}, dimensions: {field:"
     " label}}",
     0, 0},
    {AC_CFG_JSON, "pagerduty", NULL, CFO(pagerduty), NULL,
     "PagerDuty Events API: {routing_keys: {token name: {source, type, labels}}}", 0, 0},
    {AC_CFG_JSON, "heartbeats", NULL, CFO(heartbeats), NULL,
     "probe heartbeats: {lost_after_intervals, sweep_ms, check_types: {check: type}}", 0, 0},
    {AC_CFG_JSON, "kafka", NULL, CFO(kafka), NULL,
     "Kafka consumer: {brokers, group_id, topics: {topic: native|alertmanager}, options,"
     " batch_max, batch_ms}",
     0, 0},
    {AC_CFG_JSON, "kubernetes", NULL, CFO(kubernetes), NULL,
     "Kubernetes Events: {api_url, token_file, ca_file, namespaces, cluster, warning_only,"
     " rules, app_id_keys, user_id_keys}",
     0, 0},
    {AC_CFG_JSON, "stats", NULL, CFO(stats), NULL,
     "alert handling figures: {targets: {P1: {mttd_s, mtta_s, mttr_s}, ...}} (default DESIGN §6)",
     0, 0},
    {AC_CFG_JSON, "filters.rules", NULL, CFO(filter_rules), NULL,
     "filter rules seeded at start: [{name, position, action, matchers, comment}]", 0, 0},
    {AC_CFG_END, NULL, NULL, 0, NULL, NULL, 0, 0},
};

static int cfg_set_text(const struct ac_cfg_entry *e, void *base, const char *text,
                        const char *origin, json_t *errors)
{
    char *end = NULL;
    long v;

    switch (e->type) {
        case AC_CFG_STR:
        case AC_CFG_SECRET:
        case AC_CFG_DSN:
        case AC_CFG_URL: {
            char **slot = (char **)((char *)base + e->offset);
            free(*slot);
            *slot = ac_xstrdup(text);
            return AC_OK;
        }
        case AC_CFG_INT:
            errno = 0;
            v = strtol(text, &end, 10);
            if (errno || end == text || *end != '\0' || v < e->min || v > e->max) {
                json_array_append_new(errors,
                                      json_sprintf("%s (%s): must be an integer from %ld to %ld",
                                                   e->key, origin, e->min, e->max));
                return AC_EINVAL;
            }
            *(long *)((char *)base + e->offset) = v;
            return AC_OK;
        case AC_CFG_BOOL:
            if (strcmp(text, "true") != 0 && strcmp(text, "false") != 0) {
                json_array_append_new(
                    errors, json_sprintf("%s (%s): must be true or false", e->key, origin));
                return AC_EINVAL;
            }
            *(bool *)((char *)base + e->offset) = strcmp(text, "true") == 0;
            return AC_OK;
        case AC_CFG_JSON: {
            json_error_t jerr;
            json_t **slot = (json_t **)((char *)base + e->offset);
            json_t *j = json_loads(text, 0, &jerr);
            if (!j) {
                json_array_append_new(
                    errors, json_sprintf("%s (%s): invalid JSON: %s", e->key, origin, jerr.text));
                return AC_EINVAL;
            }
            json_decref(*slot);
            *slot = j;
            return AC_OK;
        }
        case AC_CFG_END:
            break;
    }
    return AC_EINVAL;
}

static int cfg_set_json(const struct ac_cfg_entry *e, void *base, const json_t *v, json_t *errors)
{
    char num[32];

    if (e->type == AC_CFG_JSON) {
        json_t **slot = (json_t **)((char *)base + e->offset);
        json_decref(*slot);
        *slot = json_deep_copy(v);
        return AC_OK;
    }
    if (e->type == AC_CFG_BOOL) {
        if (!json_is_boolean(v)) {
            json_array_append_new(errors, json_sprintf("%s: must be true or false", e->key));
            return AC_EINVAL;
        }
        return cfg_set_text(e, base, json_is_true(v) ? "true" : "false", "file", errors);
    }
    if (e->type == AC_CFG_INT) {
        if (!json_is_integer(v)) {
            json_array_append_new(errors, json_sprintf("%s: must be an integer", e->key));
            return AC_EINVAL;
        }
        (void)snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return cfg_set_text(e, base, num, "file", errors);
    }
    if (!json_is_string(v)) {
        json_array_append_new(errors, json_sprintf("%s: must be a string", e->key));
        return AC_EINVAL;
    }
    return cfg_set_text(e, base, json_string_value(v), "file", errors);
}

/* Walks a JSON object, matching dotted paths against the table. */
static int cfg_walk(const struct ac_cfg_entry *table, void *base, const json_t *obj,
                    const char *prefix, json_t *errors)
{
    const char *k;
    json_t *v;
    int rc = AC_OK;

    json_object_foreach((json_t *)obj, k, v)
    {
        char *path = prefix ? ac_xasprintf("%s.%s", prefix, k) : ac_xstrdup(k);
        const struct ac_cfg_entry *e;
        size_t plen = strlen(path);
        bool section = false;

        for (e = table; e->type != AC_CFG_END; e++) {
            if (strcmp(e->key, path) == 0) {
                break;
            }
            if (strncmp(e->key, path, plen) == 0 && e->key[plen] == '.') {
                section = true;
            }
        }
        if (e->type != AC_CFG_END) {
            if (cfg_set_json(e, base, v, errors) != AC_OK) {
                rc = AC_EINVAL;
            }
        }
        else if (section && json_is_object(v)) {
            if (cfg_walk(table, base, v, path, errors) != AC_OK) {
                rc = AC_EINVAL;
            }
        }
        else {
            json_array_append_new(errors, json_sprintf("%s: unknown key", path));
            rc = AC_EINVAL;
        }
        free(path);
    }
    return rc;
}

int ac_cfg_load(const struct ac_cfg_entry *table, void *base, const json_t *root, json_t *errors)
{
    int rc = AC_OK;
    const char *env;

    for (const struct ac_cfg_entry *e = table; e->type != AC_CFG_END; e++) {
        if (e->def && cfg_set_text(e, base, e->def, "default", errors) != AC_OK) {
            rc = AC_EINVAL;
        }
    }
    if (root) {
        if (!json_is_object(root)) {
            json_array_append_new(errors, json_string("the configuration must be a JSON object"));
            return AC_EINVAL;
        }
        if (cfg_walk(table, base, root, NULL, errors) != AC_OK) {
            rc = AC_EINVAL;
        }
    }
    for (const struct ac_cfg_entry *e = table; e->type != AC_CFG_END; e++) {
        if (e->env && (env = getenv(e->env)) != NULL && *env != '\0') {
            if (cfg_set_text(e, base, env, e->env, errors) != AC_OK) {
                rc = AC_EINVAL;
            }
        }
    }
    return rc;
}

int ac_cfg_load_section(const struct ac_cfg_entry *table, void *base, const json_t *obj,
                        const char *prefix, json_t *errors)
{
    json_t *mine = json_array(), *e;
    size_t i;
    int rc;

    rc = ac_cfg_load(table, base, json_is_object(obj) ? obj : NULL, mine);
    if (obj && !json_is_object(obj)) {
        json_array_append_new(errors, json_sprintf("%s: must be an object", prefix));
        rc = AC_EINVAL;
    }
    json_array_foreach(mine, i, e)
    {
        json_array_append_new(errors, json_sprintf("%s.%s", prefix, json_string_value(e)));
    }
    json_decref(mine);
    return rc;
}

void ac_cfg_details(const json_t *problems, json_t *errors)
{
    size_t i;
    json_t *e;

    json_array_foreach(problems, i, e)
    {
        const char *s = json_string_value(e), *sep = s ? strstr(s, ": ") : NULL;
        char *path = sep ? ac_xstrndup(s, (size_t)(sep - s)) : ac_xstrdup(s ? s : "");
        char *origin = strstr(path, " ("), *msg;
        /* "key (file): message": the origin goes with the message */
        msg = origin ? ac_xasprintf("%s %s", sep + 2, origin + 1) : ac_xstrdup(sep ? sep + 2 : "");
        if (origin) {
            *origin = '\0';
        }
        json_array_append_new(errors, json_pack("{s:s, s:s}", "path", path, "message", msg));
        free(path);
        free(msg);
    }
}

json_t *ac_cfg_describe(const struct ac_cfg_entry *table, const char *prefix)
{
    static const char *const types[] = {
        [AC_CFG_STR] = "string", [AC_CFG_SECRET] = "secret", [AC_CFG_DSN] = "dsn",
        [AC_CFG_URL] = "url",    [AC_CFG_INT] = "integer",   [AC_CFG_BOOL] = "boolean",
        [AC_CFG_JSON] = "json"};
    json_t *out = json_array();

    for (const struct ac_cfg_entry *e = table; e->type != AC_CFG_END; e++) {
        char *key = prefix ? ac_xasprintf("%s.%s", prefix, e->key) : ac_xstrdup(e->key);
        json_t *d = json_pack("{s:s, s:s, s:s?, s:s?, s:s?}", "key", key, "type", types[e->type],
                              "default", e->def, "env", e->env, "help", e->help);
        if (e->type == AC_CFG_INT) {
            (void)json_object_set_new(d, "min", json_integer(e->min));
            (void)json_object_set_new(d, "max", json_integer(e->max));
        }
        json_array_append_new(out, d);
        free(key);
    }
    return out;
}

void ac_cfg_free(const struct ac_cfg_entry *table, void *base)
{
    for (const struct ac_cfg_entry *e = table; e->type != AC_CFG_END; e++) {
        if (e->type == AC_CFG_JSON) {
            json_t **slot = (json_t **)((char *)base + e->offset);
            json_decref(*slot);
            *slot = NULL;
        }
        else if (e->type != AC_CFG_INT && e->type != AC_CFG_BOOL) {
            char **slot = (char **)((char *)base + e->offset);
            free(*slot);
            *slot = NULL;
        }
    }
}

char *ac_cfg_mask_dsn(const char *dsn)
{
    PQconninfoOption *opts = PQconninfoParse(dsn, NULL);
    struct ac_buf b = {0};
    bool has_password = false;

    if (!opts) {
        return ac_xstrdup("(unparsable)");
    }
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (o->val && strcmp(o->keyword, "password") == 0) {
            has_password = true;
        }
    }
    if (!has_password) {
        PQconninfoFree(opts);
        return ac_xstrdup(dsn);
    }
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (o->val) {
            ac_buf_printf(&b, "%s%s=%s", b.len ? " " : "", o->keyword,
                          strcmp(o->keyword, "password") == 0 ? "***" : o->val);
        }
    }
    PQconninfoFree(opts);
    return ac_buf_steal(&b);
}

/* The URL with its password and query masked (redis://h?password=X), and
 * if hook its path too: webhooks carry their token there (DingTalk's
 * access_token, Slack's /services/T/B/<secret>). */
static char *cfg_mask_url(const char *url, bool hook)
{
    CURLU *u = curl_url();
    char *pw = NULL, *q = NULL, *out = NULL, *res;

    if (!u || curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
        curl_url_cleanup(u);
        return ac_xstrdup("(unparsable)");
    }
    if (curl_url_get(u, CURLUPART_PASSWORD, &pw, 0) == CURLUE_OK && pw) {
        (void)curl_url_set(u, CURLUPART_PASSWORD, "***", 0);
    }
    curl_free(pw);
    if (curl_url_get(u, CURLUPART_QUERY, &q, 0) == CURLUE_OK && q) {
        (void)curl_url_set(u, CURLUPART_QUERY, "***", 0);
    }
    if (hook) {
        (void)curl_url_set(u, CURLUPART_PATH, "/***", 0);
    }
    curl_free(q);
    if (curl_url_get(u, CURLUPART_URL, &out, 0) != CURLUE_OK) {
        curl_url_cleanup(u);
        return ac_xstrdup("(unparsable)");
    }
    res = ac_xstrdup(out);
    curl_free(out);
    curl_url_cleanup(u);
    return res;
}

char *ac_cfg_mask_url(const char *url)
{
    return cfg_mask_url(url, false);
}

/* Masks obj's "url" (if any) as a webhook's. */
static void cfg_mask_url_in(json_t *obj)
{
    const char *url = json_string_value(json_object_get(obj, "url"));

    if (url) {
        char *m = cfg_mask_url(url, true);
        (void)json_object_set_new(obj, "url", json_string(m));
        free(m);
    }
}

/* A copy of the notify object with its channels' URLs masked. */
static json_t *cfg_mask_notify(const json_t *notify)
{
    json_t *copy = json_deep_copy(notify), *ch;
    json_t *om = json_object_get(json_object_get(copy, "actions"), "om_webhook");
    const char *name;

    json_object_foreach(json_object_get(copy, "channels"), name, ch)
    {
        cfg_mask_url_in(ch);
    }
    cfg_mask_url_in(om);
    return copy;
}

static void cfg_dump_set(json_t *root, const char *key, json_t *v)
{
    const char *dot = strchr(key, '.');
    char *sect;
    json_t *sub;

    if (!dot) {
        json_object_set_new(root, key, v);
        return;
    }
    sect = ac_xstrndup(key, (size_t)(dot - key));
    sub = json_object_get(root, sect);
    if (!sub) {
        sub = json_object();
        json_object_set_new(root, sect, sub);
    }
    cfg_dump_set(sub, dot + 1, v);
    free(sect);
}

/* The printable value of one entry, secrets masked. Returns new. */
static json_t *cfg_dump_value(const struct ac_cfg_entry *e, const void *base)
{
    const void *slot = (const char *)base + e->offset;
    const char *s;
    char *masked;
    json_t *v;

    if (e->type == AC_CFG_INT) {
        return json_integer(*(const long *)slot);
    }
    if (e->type == AC_CFG_BOOL) {
        return json_boolean(*(const bool *)slot);
    }
    if (e->type == AC_CFG_JSON) {
        const json_t *j = *(json_t *const *)slot;
        if (!j) {
            return json_null();
        }
        return strcmp(e->key, "notify") == 0 ? cfg_mask_notify(j) : json_deep_copy(j);
    }
    s = *(char *const *)slot;
    if (!s) {
        return json_null();
    }
    switch (e->type) {
        case AC_CFG_SECRET:
            return json_string("***");
        case AC_CFG_DSN:
        case AC_CFG_URL:
            masked = e->type == AC_CFG_DSN ? ac_cfg_mask_dsn(s) : ac_cfg_mask_url(s);
            v = json_string(masked);
            free(masked);
            return v;
        default:
            return json_string(s);
    }
}

json_t *ac_cfg_dump(const struct ac_cfg_entry *table, const void *base)
{
    json_t *root = json_object();

    for (const struct ac_cfg_entry *e = table; e->type != AC_CFG_END; e++) {
        cfg_dump_set(root, e->key, cfg_dump_value(e, base));
    }
    return root;
}

int ac_config_load(struct ac_config *cfg, const char *path)
{
    json_t *root = NULL, *errors = json_array(), *e;
    json_error_t jerr;
    size_t i;
    int rc;

    memset(cfg, 0, sizeof(*cfg));
    if (path) {
        root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
        if (!root) {
            ac_log(AC_LOG_ERROR, "config", "cannot load %s: %s (line %d, column %d)", path,
                   jerr.text, jerr.line, jerr.column);
            json_decref(errors);
            return AC_EINVAL;
        }
    }
    rc = ac_cfg_load(ac_config_table, cfg, root, errors);
    json_array_foreach(errors, i, e)
    {
        ac_log(AC_LOG_ERROR, "config", "%s%s%s", path ? path : "", path ? ": " : "",
               json_string_value(e));
    }
    json_decref(errors);
    json_decref(root);
    if (rc != AC_OK) {
        ac_config_deinit(cfg);
    }
    return rc;
}

void ac_config_deinit(struct ac_config *cfg)
{
    ac_cfg_free(ac_config_table, cfg);
}
