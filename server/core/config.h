/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Process configuration: one JSON file, overridable by AC_* environment
 * variables, described by a table of entries (Fluent Bit's config_map,
 * Redis's config.c). Unknown keys are an error. Process configuration is
 * immutable after start; rules, silences, contacts are data, not config.
 */
#ifndef AC_SERVER_CORE_CONFIG_H
#define AC_SERVER_CORE_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "server/core/err.h"

enum ac_cfg_type {
    AC_CFG_END = 0,
    AC_CFG_STR,    /* char * */
    AC_CFG_SECRET, /* char *, printed as "***" */
    AC_CFG_DSN,    /* char *, libpq conninfo; its password is masked */
    AC_CFG_URL,    /* char *, URL; its password is masked */
    AC_CFG_INT,    /* long, within [min, max] */
    AC_CFG_BOOL,   /* bool: true or false ("true"/"false" from the environment) */
    AC_CFG_JSON    /* json_t * (new ref), interpreted by the owning module */
};

struct ac_cfg_entry {
    enum ac_cfg_type type;
    const char *key;  /* dotted path in the file: "postgres.dsn" */
    const char *def;  /* default as text; NULL = unset */
    size_t offset;    /* of the field in the configured struct */
    const char *env;  /* overriding environment variable, or NULL */
    const char *help; /* one line for check-config and README */
    long min, max;    /* AC_CFG_INT bounds */
};

struct ac_config {
    char *listen;
    char *tls_cert_file;
    char *tls_key_file;
    char *pg_dsn;
    char *pg_app_role;
    long pg_pool_size;
    char *redis_url;
    char *redis_prefix;
    long redis_timeout_ms;
    long max_body_bytes;
    long max_batch_events;
    long max_connections;
    long connection_timeout_s;
    long max_connections_per_client;
    long header_timeout_ms;
    long http_io_threads;
    long http_workers;
    long http_queue;
    long token_rate_per_s;
    long token_burst;
    long writer_queue_events;
    long group_commit_max_events;
    long shutdown_grace_s;
    long sweep_interval_ms;
    long default_resolve_timeout_s;
    long context_events;
    bool mask_addresses;
    long retention_events_days;
    long retention_history_days;
    long retention_interval_s;
    char *log_level;
    json_t *auth_tokens;
    json_t *filter_rules;
    json_t *escalation;
    json_t *notify;
    json_t *prometheus;
    json_t *pagerduty;
    json_t *heartbeats;
    json_t *kafka;
    json_t *kubernetes;
    json_t *stats;
};

/* The table of struct ac_config, {0}-terminated. */
extern const struct ac_cfg_entry ac_config_table[];

/*
 * Load a table-described struct: defaults, then the JSON object root (may be
 * NULL), then environment overrides.
 * errors: borrowed JSON array; each problem is appended as a string.
 * Returns: AC_OK or AC_EINVAL. On error base may be partly filled; release
 * it with ac_cfg_free.
 */
AC_MUST_CHECK int ac_cfg_load(const struct ac_cfg_entry *table, void *base, const json_t *root,
                              json_t *errors);
/*
 * The same for one module's section: obj (borrowed, may be NULL: defaults
 * and environment only) against a table whose keys are relative to the
 * section; problems name "prefix.key". Each module declares its keys so, and
 * loads its section once, whether the module is on or off: a bad section
 * stops start-up either way.
 */
AC_MUST_CHECK int ac_cfg_load_section(const struct ac_cfg_entry *table, void *base,
                                      const json_t *obj, const char *prefix, json_t *errors);
/* Appends each "path: message" string of problems to errors as
 * {"path", "message"} (the shape of the event validators' problems). */
void ac_cfg_details(const json_t *problems, json_t *errors);
/* The reference of a table: [{key, type, default, env, help, min, max}]
 * with keys under prefix (NULL: none). Returns new. */
json_t *ac_cfg_describe(const struct ac_cfg_entry *table, const char *prefix);
/* Frees the strings and JSON values a table put into base. */
void ac_cfg_free(const struct ac_cfg_entry *table, void *base);
/* The effective values as a nested JSON object, secrets masked. Returns new. */
json_t *ac_cfg_dump(const struct ac_cfg_entry *table, const void *base);

/*
 * Load the server configuration from path (NULL = built-in defaults only).
 * Logs every problem. Returns: AC_OK or AC_EINVAL (cfg then released).
 */
AC_MUST_CHECK int ac_config_load(struct ac_config *cfg, const char *path);
void ac_config_deinit(struct ac_config *cfg);

/* Masks the password of a libpq conninfo string or URI. Returns new. */
char *ac_cfg_mask_dsn(const char *dsn);
/* Masks the password of a URL. Returns new. */
char *ac_cfg_mask_url(const char *url);

#endif
