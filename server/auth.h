/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bearer tokens with scopes (DESIGN §8). Tokens come from the environment
 * (AC_ADMIN_TOKEN and friends), from files, or as SHA-256 digests in the
 * config; only digests are kept in memory and compared in constant time.
 * Token values are never logged.
 */
#ifndef AC_SERVER_AUTH_H
#define AC_SERVER_AUTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ac_scope {
    AC_SCOPE_INGEST = 1 << 0,
    AC_SCOPE_READ = 1 << 1,
    AC_SCOPE_OPERATE = 1 << 2,
    AC_SCOPE_ADMIN = 1 << 3,
    /* a tenant's own events and subscriptions (a token bound to a tenant) */
    AC_SCOPE_TENANT = 1 << 4,
};
#define AC_SCOPE_ALL (AC_SCOPE_INGEST | AC_SCOPE_READ | AC_SCOPE_OPERATE | AC_SCOPE_ADMIN)

struct ac_auth;

/*
 * Build the token table from auth.tokens (borrowed, may be NULL) and the
 * AC_ADMIN_TOKEN / AC_INGEST_TOKEN / AC_READ_TOKEN / AC_OPERATE_TOKEN
 * environment variables. Returns new table, or NULL with every problem
 * logged (unknown scope, missing or short secret, unreadable file).
 */
struct ac_auth *ac_auth_create(const json_t *tokens);
/* The same for check-config, which checks a configuration where its secrets
 * may not be: with absent_ok, a token_env that is unset or a token_file that
 * cannot be read is a warning, and that token is left out. */
struct ac_auth *ac_auth_create_checked(const json_t *tokens, bool absent_ok);
void ac_auth_destroy(struct ac_auth *a);

/* Number of configured tokens. */
size_t ac_auth_count(const struct ac_auth *a);

enum ac_auth_verdict {
    AC_AUTH_OK,
    AC_AUTH_MISSING,
    AC_AUTH_INVALID, /* unknown (or revoked) */
    AC_AUTH_EXPIRED, /* a database token past its expiry */
    AC_AUTH_FORBIDDEN,
};

/*
 * Check an Authorization header value (borrowed, may be NULL) for a scope:
 * the configured tokens, then the database's (ac_auth_install_db).
 * need is a mask: any of its scopes will do (admin satisfies every one).
 * principal: set to the token's name (borrowed from a, valid until
 * ac_auth_destroy) when known; tenant: to the tenant a database token is
 * bound to, else NULL. A bound token is refused (AC_AUTH_FORBIDDEN) unless
 * need includes AC_SCOPE_TENANT, whatever its other scopes: the handler
 * then keeps it to its tenant. Thread-safe.
 */
enum ac_auth_verdict ac_auth_check(struct ac_auth *a, const char *header, enum ac_scope need,
                                   const char **principal, const char **tenant);

/* A token from the database: only its SHA-256 is known. */
struct ac_auth_db_token {
    int64_t id;
    const char *name;
    unsigned char digest[32];
    unsigned scopes;
    int64_t expires_us;       /* wall clock, 0: never */
    double rate_per_s, burst; /* < 0: the default */
    const char *tenant;       /* bound to this tenant, or NULL */
};
/* Replaces the database tokens in force with v[0..n) (copied; revoked
 * ones are left out by the caller). A token's rate bucket and last use
 * carry over by id. The sets replaced are kept until ac_auth_destroy (a
 * request may still hold a principal from one). Thread-safe. */
void ac_auth_install_db(struct ac_auth *a, const struct ac_auth_db_token *v, size_t n);
/* Database tokens used since the last call: up to max (id, last use in
 * wall-clock seconds) pairs; returns how many. One caller (the flusher). */
size_t ac_auth_db_used(struct ac_auth *a, int64_t *ids, int64_t *at_s, size_t max);

/*
 * Request rates per token: a token bucket of burst requests refilled at
 * rate_per_s (auth.tokens[i].rate_per_s/burst; else this default, which the
 * AC_*_TOKEN tokens use too). 0 = no limit. Per instance. Before serving.
 */
void ac_auth_set_default_rate(struct ac_auth *a, double rate_per_s, double burst);
/* Takes one request from principal's budget (principal as ac_auth_check
 * set it). Returns 0 if allowed, else the whole seconds until one is
 * (for Retry-After, >= 1). Thread-safe. */
long ac_auth_throttle(struct ac_auth *a, const char *principal);

/* "ingest" -> AC_SCOPE_INGEST; 0 if unknown. */
enum ac_scope ac_scope_parse(const char *s);
const char *ac_scope_name(enum ac_scope s);
/* A mask as its names joined by "|" ("read|tenant") into out (64 bytes). */
const char *ac_scope_names(unsigned mask, char *out);

#endif
