/* SPDX-License-Identifier: Apache-2.0 */
/* Token table: SHA-256 digests, scopes, constant-time comparison. */
#include "server/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/timefmt.h"
#include "server/core/log.h"
#include "server/core/mem.h"

#define AUTH_MIN_TOKEN 16

/* A token bucket: up to burst requests at once, refilled at rate per second. */
struct auth_bucket {
    double rate, burst; /* rate < 0: the default; 0: unlimited */
    double level;       /* requests available */
    int64_t at_us;      /* when level was last brought up to date (monotonic) */
};

struct auth_token {
    char *name;
    unsigned char digest[32];
    unsigned scopes;
    struct auth_bucket bucket;
};

/* A token from the database (ac_auth_install_db). */
struct auth_db_token {
    int64_t id;
    char *name;
    unsigned char digest[32];
    unsigned scopes;
    int64_t expires_us; /* wall clock; 0: never */
    char *tenant;       /* bound to it, or NULL */
    struct auth_bucket bucket;
    int64_t used_s;    /* last use, wall-clock seconds (atomic) */
    int64_t flushed_s; /* the last use written back (the flusher's) */
};

struct auth_db_set {
    struct auth_db_token *v;
    size_t n;
    struct auth_db_set *older; /* kept until destroy: principals point into them */
};

struct ac_auth {
    struct auth_token *tokens;
    size_t n;
    double rate, burst;   /* the default of tokens without their own */
    pthread_mutex_t lock; /* the buckets */
    pthread_rwlock_t db_lock;
    struct auth_db_set *db; /* the set in force (and, through older, those before) */
};

static const struct {
    const char *name;
    enum ac_scope scope;
} auth_scopes[] = {
    {"ingest", AC_SCOPE_INGEST}, {"read", AC_SCOPE_READ},     {"operate", AC_SCOPE_OPERATE},
    {"admin", AC_SCOPE_ADMIN},   {"tenant", AC_SCOPE_TENANT},
};

enum ac_scope ac_scope_parse(const char *s)
{
    for (size_t i = 0; i < sizeof(auth_scopes) / sizeof(auth_scopes[0]); i++) {
        if (strcmp(s, auth_scopes[i].name) == 0) {
            return auth_scopes[i].scope;
        }
    }
    return 0;
}

const char *ac_scope_names(unsigned mask, char *out)
{
    size_t n = 0;

    out[0] = '\0';
    for (size_t i = 0; i < sizeof(auth_scopes) / sizeof(auth_scopes[0]); i++) {
        if (mask & (unsigned)auth_scopes[i].scope) {
            n += (size_t)snprintf(out + n, 64 - n, "%s%s", n ? "|" : "", auth_scopes[i].name);
        }
    }
    return out;
}

const char *ac_scope_name(enum ac_scope s)
{
    for (size_t i = 0; i < sizeof(auth_scopes) / sizeof(auth_scopes[0]); i++) {
        if (auth_scopes[i].scope == s) {
            return auth_scopes[i].name;
        }
    }
    return "?";
}

static void auth_digest(const char *token, size_t len, unsigned char *out)
{
    unsigned int n = 0;

    EVP_Digest(token, len, out, &n, EVP_sha256(), NULL);
}

static void auth_add(struct ac_auth *a, const char *name, const unsigned char *digest,
                     unsigned scopes)
{
    a->tokens = ac_xrealloc(a->tokens, (a->n + 1) * sizeof(*a->tokens));
    a->tokens[a->n].name = ac_xstrdup(name);
    memcpy(a->tokens[a->n].digest, digest, 32);
    a->tokens[a->n].scopes = scopes;
    a->tokens[a->n].bucket = (struct auth_bucket){.rate = -1, .burst = -1};
    a->n++;
}

static bool auth_add_secret(struct ac_auth *a, const char *name, const char *secret,
                            unsigned scopes)
{
    unsigned char d[32];
    size_t len = strlen(secret);

    while (len > 0 && (secret[len - 1] == '\n' || secret[len - 1] == '\r')) {
        len--; /* files usually end with a newline */
    }
    if (len < AUTH_MIN_TOKEN) {
        ac_log(AC_LOG_ERROR, "auth", "token %s is shorter than %d characters", name,
               AUTH_MIN_TOKEN);
        return false;
    }
    auth_digest(secret, len, d);
    auth_add(a, name, d, scopes);
    return true;
}

static char *auth_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char buf[4096];
    size_t n;

    if (!f) {
        return NULL;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    (void)fclose(f);
    buf[n] = '\0';
    return ac_xstrdup(buf);
}

static bool auth_hex(const char *s, unsigned char *out)
{
    if (strlen(s) != 64) {
        return false;
    }
    for (int i = 0; i < 32; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) {
            return false;
        }
        out[i] = (unsigned char)v;
    }
    return true;
}

/* A secret from the environment or a file that is not there: an error, or
 * (checking a configuration away from its secrets) a warning. */
static bool auth_absent(bool absent_ok, size_t idx, const char *what, const char *where)
{
    ac_log(absent_ok ? AC_LOG_WARN : AC_LOG_ERROR, "auth", "auth.tokens[%zu]: %s %s%s", idx, what,
           where, absent_ok ? " (here; serve needs it)" : "");
    return absent_ok;
}

/* An optional number >= 0 (absent: *out stays). */
static bool auth_rate_ok(const json_t *v, double *out)
{
    if (!v) {
        return true;
    }
    if (!json_is_number(v) || json_number_value(v) < 0) {
        return false;
    }
    *out = json_number_value(v);
    return true;
}

static bool auth_add_entry(struct ac_auth *a, size_t idx, const json_t *t, bool absent_ok)
{
    const char *name = json_string_value(json_object_get(t, "name"));
    json_t *scopes = json_object_get(t, "scopes"), *s;
    const char *env = json_string_value(json_object_get(t, "token_env"));
    const char *file = json_string_value(json_object_get(t, "token_file"));
    const char *hex = json_string_value(json_object_get(t, "token_sha256"));
    unsigned mask = 0;
    unsigned char d[32];
    size_t i, before = a->n;
    const char *k;
    json_t *v;
    bool ok = false;
    double rate = -1, burst = -1;

    json_object_foreach((json_t *)t, k, v)
    {
        if (strcmp(k, "name") && strcmp(k, "scopes") && strcmp(k, "token_env") &&
            strcmp(k, "token_file") && strcmp(k, "token_sha256") && strcmp(k, "rate_per_s") &&
            strcmp(k, "burst")) {
            ac_log(AC_LOG_ERROR, "auth", "auth.tokens[%zu]: unknown key %s", idx, k);
            return false;
        }
    }
    if (!auth_rate_ok(json_object_get(t, "rate_per_s"), &rate) ||
        !auth_rate_ok(json_object_get(t, "burst"), &burst)) {
        ac_log(AC_LOG_ERROR, "auth",
               "auth.tokens[%zu]: rate_per_s and burst are numbers >= 0 (0: no limit)", idx);
        return false;
    }
    if (!name || !json_is_array(scopes) || json_array_size(scopes) == 0) {
        ac_log(AC_LOG_ERROR, "auth", "auth.tokens[%zu]: needs a name and a list of scopes", idx);
        return false;
    }
    json_array_foreach(scopes, i, s)
    {
        enum ac_scope sc = json_is_string(s) ? ac_scope_parse(json_string_value(s)) : 0;
        if (!sc) {
            ac_log(AC_LOG_ERROR, "auth",
                   "auth.tokens[%zu]: unknown scope (ingest, read, operate, admin)", idx);
            return false;
        }
        mask |= sc;
    }
    if (!!env + !!file + !!hex != 1) {
        ac_log(AC_LOG_ERROR, "auth",
               "auth.tokens[%zu]: give exactly one of token_env, token_file, token_sha256", idx);
        return false;
    }
    if (env) {
        const char *val = getenv(env);
        if (!val) {
            return auth_absent(absent_ok, idx, "environment variable is not set:", env);
        }
        ok = auth_add_secret(a, name, val, mask);
    }
    else if (file) {
        char *val = auth_read_file(file);
        if (!val) {
            return auth_absent(absent_ok, idx, "cannot read", file);
        }
        ok = auth_add_secret(a, name, val, mask);
        OPENSSL_cleanse(val, strlen(val));
        free(val);
    }
    else if (!auth_hex(hex, d)) {
        ac_log(AC_LOG_ERROR, "auth", "auth.tokens[%zu]: token_sha256 must be 64 hex digits", idx);
        return false;
    }
    else {
        auth_add(a, name, d, mask);
        ok = true;
    }
    if (ok && a->n > before) {
        a->tokens[a->n - 1].bucket.rate = rate;
        a->tokens[a->n - 1].bucket.burst = burst;
    }
    return ok;
}

struct ac_auth *ac_auth_create(const json_t *tokens)
{
    return ac_auth_create_checked(tokens, false);
}

struct ac_auth *ac_auth_create_checked(const json_t *tokens, bool absent_ok)
{
    static const struct {
        const char *env;
        const char *name;
        unsigned scopes;
    } envs[] = {
        {"AC_ADMIN_TOKEN", "admin", AC_SCOPE_ALL},
        {"AC_INGEST_TOKEN", "ingest", AC_SCOPE_INGEST},
        {"AC_READ_TOKEN", "read", AC_SCOPE_READ},
        {"AC_OPERATE_TOKEN", "operate", AC_SCOPE_READ | AC_SCOPE_OPERATE},
    };
    struct ac_auth *a = ac_xcalloc(1, sizeof(*a));
    bool ok = true;
    size_t i;
    json_t *t;

    pthread_mutex_init(&a->lock, NULL);
    pthread_rwlock_init(&a->db_lock, NULL);
    for (i = 0; i < sizeof(envs) / sizeof(envs[0]); i++) {
        const char *v = getenv(envs[i].env);
        if (v && *v && !auth_add_secret(a, envs[i].name, v, envs[i].scopes)) {
            ok = false;
        }
    }
    if (tokens && !json_is_array(tokens)) {
        ac_log(AC_LOG_ERROR, "auth", "auth.tokens must be an array");
        ok = false;
    }
    json_array_foreach(tokens, i, t)
    {
        if (!json_is_object(t) || !auth_add_entry(a, i, t, absent_ok)) {
            ok = false;
        }
    }
    if (!ok) {
        ac_auth_destroy(a);
        return NULL;
    }
    return a;
}

static void auth_db_set_free(struct auth_db_set *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->v[i].name);
        free(d->v[i].tenant);
    }
    OPENSSL_cleanse(d->v, d->n * sizeof(*d->v));
    free(d->v);
    free(d);
}

void ac_auth_destroy(struct ac_auth *a)
{
    if (!a) {
        return;
    }
    for (size_t i = 0; i < a->n; i++) {
        free(a->tokens[i].name);
    }
    OPENSSL_cleanse(a->tokens, a->n * sizeof(*a->tokens));
    free(a->tokens);
    for (struct auth_db_set *d = a->db, *older; d; d = older) {
        older = d->older;
        auth_db_set_free(d);
    }
    pthread_rwlock_destroy(&a->db_lock);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

size_t ac_auth_count(const struct ac_auth *a)
{
    return a->n;
}

enum ac_auth_verdict ac_auth_check(struct ac_auth *a, const char *header, enum ac_scope need,
                                   const char **principal, const char **tenant)
{
    unsigned char d[32];
    const struct auth_token *found = NULL;
    struct auth_db_token *db = NULL;
    unsigned scopes;

    *principal = NULL;
    *tenant = NULL;
    if (!header || strncasecmp(header, "Bearer ", 7) != 0) {
        return AC_AUTH_MISSING;
    }
    header += 7;
    while (*header == ' ') {
        header++;
    }
    auth_digest(header, strlen(header), d);
    /* Compare against every token so the time does not depend on which matched. */
    for (size_t i = 0; i < a->n; i++) {
        if (CRYPTO_memcmp(d, a->tokens[i].digest, sizeof(d)) == 0) {
            found = &a->tokens[i];
        }
    }
    if (found) {
        *principal = found->name;
        scopes = found->scopes;
    }
    else {
        pthread_rwlock_rdlock(&a->db_lock);
        for (size_t i = 0; a->db && i < a->db->n; i++) {
            if (CRYPTO_memcmp(d, a->db->v[i].digest, sizeof(d)) == 0) {
                db = &a->db->v[i];
            }
        }
        if (db) {
            int64_t now_us = ac_time_now_us();
            if (db->expires_us && now_us >= db->expires_us) {
                pthread_rwlock_unlock(&a->db_lock);
                return AC_AUTH_EXPIRED;
            }
            __atomic_store_n(&db->used_s, now_us / 1000000, __ATOMIC_RELAXED);
            *principal = db->name; /* the set outlives the request (older) */
            *tenant = db->tenant;
            scopes = db->scopes;
        }
        pthread_rwlock_unlock(&a->db_lock);
        if (!db) {
            return AC_AUTH_INVALID;
        }
    }
    /* a token bound to a tenant goes only where a tenant may */
    if (*tenant && !((unsigned)need & AC_SCOPE_TENANT)) {
        return AC_AUTH_FORBIDDEN;
    }
    if (*tenant) {
        scopes |= AC_SCOPE_TENANT;
    }
    /* admin is the superuser scope: it satisfies every requirement. */
    return (scopes & ((unsigned)need | AC_SCOPE_ADMIN)) ? AC_AUTH_OK : AC_AUTH_FORBIDDEN;
}

void ac_auth_install_db(struct ac_auth *a, const struct ac_auth_db_token *v, size_t n)
{
    struct auth_db_set *set = ac_xcalloc(1, sizeof(*set));

    set->v = ac_xcalloc(n ? n : 1, sizeof(*set->v));
    set->n = n;
    for (size_t i = 0; i < n; i++) {
        struct auth_db_token *t = &set->v[i];
        t->id = v[i].id;
        t->name = ac_xstrdup(v[i].name);
        memcpy(t->digest, v[i].digest, 32);
        t->scopes = v[i].scopes;
        t->expires_us = v[i].expires_us;
        t->tenant = v[i].tenant ? ac_xstrdup(v[i].tenant) : NULL;
        t->bucket = (struct auth_bucket){.rate = v[i].rate_per_s, .burst = v[i].burst};
    }
    pthread_rwlock_wrlock(&a->db_lock);
    /* a token's bucket and last use go on in the new set */
    pthread_mutex_lock(&a->lock);
    for (size_t i = 0; a->db && i < set->n; i++) {
        for (size_t j = 0; j < a->db->n; j++) {
            if (a->db->v[j].id == set->v[i].id) {
                set->v[i].bucket.level = a->db->v[j].bucket.level;
                set->v[i].bucket.at_us = a->db->v[j].bucket.at_us;
                set->v[i].used_s = a->db->v[j].used_s;
                set->v[i].flushed_s = a->db->v[j].flushed_s;
            }
        }
    }
    pthread_mutex_unlock(&a->lock);
    set->older = a->db;
    a->db = set;
    pthread_rwlock_unlock(&a->db_lock);
}

size_t ac_auth_db_used(struct ac_auth *a, int64_t *ids, int64_t *at_s, size_t max)
{
    size_t n = 0;

    pthread_rwlock_rdlock(&a->db_lock);
    for (size_t i = 0; a->db && i < a->db->n && n < max; i++) {
        struct auth_db_token *t = &a->db->v[i];
        int64_t used = __atomic_load_n(&t->used_s, __ATOMIC_RELAXED);
        if (used > t->flushed_s) {
            ids[n] = t->id;
            at_s[n] = used;
            t->flushed_s = used; /* only the flusher's thread writes it */
            n++;
        }
    }
    pthread_rwlock_unlock(&a->db_lock);
    return n;
}

void ac_auth_set_default_rate(struct ac_auth *a, double rate_per_s, double burst)
{
    a->rate = rate_per_s;
    a->burst = burst;
}

long ac_auth_throttle(struct ac_auth *a, const char *principal)
{
    struct auth_bucket *b = NULL;
    double rate, burst, wait_s;
    int64_t now = ac_time_mono_us();
    long retry = 0;

    for (size_t i = 0; i < a->n && !b; i++) {
        if (a->tokens[i].name == principal) {
            b = &a->tokens[i].bucket;
        }
    }
    pthread_rwlock_rdlock(&a->db_lock); /* held while b may point into the set */
    for (size_t i = 0; !b && a->db && i < a->db->n; i++) {
        if (a->db->v[i].name == principal) {
            b = &a->db->v[i].bucket;
        }
    }
    if (!b) {
        pthread_rwlock_unlock(&a->db_lock);
        return 0;
    }
    pthread_mutex_lock(&a->lock);
    rate = b->rate >= 0 ? b->rate : a->rate;
    burst = b->burst >= 0 ? b->burst : a->burst;
    if (burst < 1) {
        burst = rate > 1 ? rate : 1; /* a second's worth */
    }
    if (rate > 0) {
        if (b->at_us == 0) {
            b->level = burst; /* a new bucket starts full */
        }
        else {
            b->level += rate * (double)(now - b->at_us) / 1e6;
            b->level = b->level > burst ? burst : b->level;
        }
        b->at_us = now;
        if (b->level >= 1) {
            b->level -= 1;
        }
        else {
            wait_s = (1 - b->level) / rate;
            retry = (long)wait_s + ((double)(long)wait_s < wait_s ? 1 : 0);
            retry = retry < 1 ? 1 : retry;
        }
    }
    pthread_mutex_unlock(&a->lock);
    pthread_rwlock_unlock(&a->db_lock);
    return retry;
}
