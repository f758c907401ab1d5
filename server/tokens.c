/* SPDX-License-Identifier: Apache-2.0 */
/* Database tokens: the reloader, creation, and the `token` command. */
#include "server/tokens.h"

#include <getopt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/event.h"
#include "schema/fingerprint.h"
#include "schema/timefmt.h"
#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/core/pg.h"
#include "server/reload.h"

#define TK          "tokens"
#define TK_FLUSH_US (5 * 1000000LL) /* last uses written back at most this often */
#define TK_MAX      100000

#define SQL_TK_LOAD                                                                                \
    "SELECT id, name, encode(token_sha256, 'hex'), array_to_string(scopes, ','),"                  \
    " coalesce((extract(epoch FROM expires_at) * 1000000)::bigint, 0), coalesce(rate_per_s, -1),"  \
    " coalesce(burst, -1), tenant FROM api_tokens WHERE revoked_at IS NULL ORDER BY id"            \
    " LIMIT 100000"
#define SQL_TK_USED                                                                                \
    "UPDATE api_tokens t SET last_used_at = to_timestamp(v.s)"                                     \
    " FROM unnest($1::bigint[], $2::bigint[]) AS v(id, s)"                                         \
    " WHERE t.id = v.id AND (t.last_used_at IS NULL OR t.last_used_at < to_timestamp(v.s))"
#define SQL_TK_CREATE                                                                              \
    "SELECT ac_token_create($1, decode($2, 'hex'), string_to_array($3, ','), $4,"                  \
    " $5::timestamptz, $6::float8, $7::float8, $8)::text"
#define SQL_TK_LIST   "SELECT ac_token_json(t)::text FROM api_tokens t ORDER BY t.id"
#define SQL_TK_REVOKE "SELECT ac_token_revoke($1, $2)::text"

struct ac_tokens {
    struct ac_auth *auth;
    struct ac_reloader *reloader;
    int64_t flushed_us; /* the reloader's thread's */
};

struct tk_copy {
    struct ac_auth_db_token *v;
    char **names;
    size_t n;
    struct ac_arena ar; /* the tenants */
};

static void *tk_load(void *ctx, PGconn *c)
{
    PGresult *r = ac_pg_query(c, TK, SQL_TK_LOAD, 0, NULL);
    struct tk_copy *cp;
    int n;

    (void)ctx;
    if (!r) {
        return NULL;
    }
    n = PQntuples(r);
    cp = ac_xcalloc(1, sizeof(*cp));
    cp->v = ac_xcalloc((size_t)n + 1, sizeof(*cp->v));
    cp->names = ac_xcalloc((size_t)n + 1, sizeof(*cp->names));
    for (int i = 0; i < n; i++) {
        struct ac_auth_db_token *t = &cp->v[cp->n];
        const char *hex = PQgetvalue(r, i, 2);
        char *scopes = ac_xstrdup(PQgetvalue(r, i, 3)), *save = NULL;
        bool ok = strlen(hex) == 64;

        t->id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        for (int k = 0; ok && k < 32; k++) {
            unsigned v;
            ok = sscanf(hex + 2 * k, "%2x", &v) == 1;
            t->digest[k] = (unsigned char)v;
        }
        for (char *sc = strtok_r(scopes, ",", &save); sc; sc = strtok_r(NULL, ",", &save)) {
            t->scopes |= (unsigned)ac_scope_parse(sc);
        }
        free(scopes);
        t->expires_us = strtoll(PQgetvalue(r, i, 4), NULL, 10);
        t->rate_per_s = strtod(PQgetvalue(r, i, 5), NULL);
        t->burst = strtod(PQgetvalue(r, i, 6), NULL);
        if (!ok || !t->scopes) {
            ac_log(AC_LOG_WARN, TK, "token id=%lld does not load; it is refused", (long long)t->id);
            continue;
        }
        cp->names[cp->n] = ac_xstrdup(PQgetvalue(r, i, 1));
        t->name = cp->names[cp->n];
        t->tenant =
            PQgetisnull(r, i, 7) ? NULL : ac_arena_own(&cp->ar, ac_xstrdup(PQgetvalue(r, i, 7)));
        cp->n++;
    }
    PQclear(r);
    return cp;
}

static void tk_copy_free(struct tk_copy *cp)
{
    for (size_t i = 0; i < cp->n; i++) {
        free(cp->names[i]);
    }
    free(cp->names);
    free(cp->v);
    ac_arena_deinit(&cp->ar);
    free(cp);
}

static void tk_install(void *ctx, PGconn *c, void *copy)
{
    struct ac_tokens *t = ctx;
    struct tk_copy *cp = copy;

    (void)c;
    ac_auth_install_db(t->auth, cp->v, cp->n);
    tk_copy_free(cp);
}

/* Every poll: when tokens were last used, at most every TK_FLUSH_US. */
static void tk_tick(void *ctx, PGconn *c)
{
    struct ac_tokens *t = ctx;
    int64_t now = ac_time_mono_us(), ids[256], at[256];
    size_t n;

    if (!c || now - t->flushed_us < TK_FLUSH_US) {
        return;
    }
    t->flushed_us = now;
    while ((n = ac_auth_db_used(t->auth, ids, at, 256)) > 0) {
        struct ac_buf a = {0}, b = {0};
        const char *p[2];
        for (size_t i = 0; i < n; i++) {
            ac_pg_array_add_i64(&a, ids[i], false);
            ac_pg_array_add_i64(&b, at[i], false);
        }
        ac_pg_array_close(&a);
        ac_pg_array_close(&b);
        p[0] = a.data;
        p[1] = b.data;
        (void)ac_pg_run(c, TK, SQL_TK_USED, 2, p); /* a lost update is only a late last_used */
        ac_buf_deinit(&a);
        ac_buf_deinit(&b);
        if (n < 256) {
            break;
        }
    }
}

static const struct ac_reload_ops tk_ops = {"api_tokens", tk_load, tk_install, tk_tick};

struct ac_tokens *ac_tokens_start(const struct ac_config *cfg, struct ac_auth *auth)
{
    struct ac_tokens *t = ac_xcalloc(1, sizeof(*t));

    t->auth = auth;
    if (!(t->reloader = ac_reloader_start(cfg->pg_dsn, &tk_ops, t))) {
        ac_log(AC_LOG_ERROR, TK, "cannot load the database tokens");
        free(t);
        return NULL;
    }
    return t;
}

void ac_tokens_poke(struct ac_tokens *t)
{
    if (t) {
        ac_reloader_poke(t->reloader);
    }
}

void ac_tokens_stop(struct ac_tokens *t)
{
    if (!t) {
        return;
    }
    ac_reloader_stop(t->reloader);
    free(t);
}

/* A new secret: "act_" and 32 random bytes in base64url (43 characters). */
static bool tk_secret(char *out, size_t len)
{
    unsigned char raw[32], b64[48];
    int n;

    if (len < 48 || RAND_bytes(raw, sizeof(raw)) != 1) {
        return false;
    }
    n = EVP_EncodeBlock(b64, raw, sizeof(raw));
    while (n > 0 && b64[n - 1] == '=') {
        n--;
    }
    for (int i = 0; i < n; i++) {
        b64[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
    }
    (void)snprintf(out, len, "act_%.*s", n, (const char *)b64);
    return true;
}

static void tk_sha256_hex(const char *s, char *hex)
{
    unsigned char d[32];
    unsigned int n = 0;

    EVP_Digest(s, strlen(s), d, &n, EVP_sha256(), NULL);
    ac_hex(d, 32, hex);
}

static bool tk_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    return n >= 1 && n <= 64 &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* Validates spec into the statement's text parameters p[0..7) (p[1], the
 * digest, left to the caller); problems appended to errors. */
static bool tk_parse(const json_t *spec, const char **p, struct ac_buf *scopes, char *expires,
                     char *rate, char *burst, json_t *errors)
{
    static const char *const keys[] = {"name",         "scopes",     "tenant", "expires_at",
                                       "expires_in_s", "rate_per_s", "burst",  NULL};
    const char *k;
    json_t *v, *sc = json_object_get(spec, "scopes");
    const json_t *ea = json_object_get(spec, "expires_at"),
                 *ei = json_object_get(spec, "expires_in_s");
    size_t before = json_array_size(errors), i;
    int64_t at;

    if (!json_is_object(spec)) {
        ac_event_error(errors, -1, "$", "must be an object");
        return false;
    }
    json_object_foreach((json_t *)spec, k, v)
    {
        bool known = false;
        for (const char *const *q = keys; *q; q++) {
            known = known || strcmp(*q, k) == 0;
        }
        if (!known) {
            char path[96];
            (void)snprintf(path, sizeof(path), "$.%.64s", k);
            ac_event_error(errors, -1, path, "unknown field");
        }
    }
    p[0] = json_string_value(json_object_get(spec, "name"));
    if (!tk_name_ok(p[0])) {
        ac_event_error(errors, -1, "$.name", "1 to 64 letters, digits, '.', '_' or '-'");
    }
    if (!json_is_array(sc) || json_array_size(sc) == 0 || json_array_size(sc) > 5) {
        ac_event_error(errors, -1, "$.scopes", "a list of ingest, read, operate, admin, tenant");
    }
    v = json_object_get(spec, "tenant");
    p[3] = json_string_value(v);
    json_array_foreach(sc, i, v)
    {
        const char *name = json_string_value(v);
        /* "tenant:<id>" is scope tenant with its tenant */
        if (name && strncmp(name, "tenant:", 7) == 0 && name[7]) {
            if (p[3] && strcmp(p[3], name + 7) != 0) {
                ac_event_error(errors, -1, "$.scopes", "names another tenant than $.tenant");
            }
            p[3] = name + 7;
            name = "tenant";
        }
        if (!name || !ac_scope_parse(name)) {
            ac_event_error(errors, -1, "$.scopes",
                           "a list of ingest, read, operate, admin, tenant (or tenant:<id>)");
            break;
        }
        ac_buf_printf(scopes, "%s%s", i ? "," : "", name);
    }
    p[2] = scopes->data;
    v = json_object_get(spec, "tenant");
    if ((v && !json_is_null(v) && (!p[3] || !*p[3])) || (p[3] && strlen(p[3]) > 128)) {
        ac_event_error(errors, -1, "$.tenant", "a tenant id of at most 128 characters");
    }
    else if (!p[3] && scopes->data && strstr(scopes->data, "tenant")) {
        ac_event_error(errors, -1, "$.tenant", "a token of scope tenant names its tenant");
    }
    p[4] = NULL;
    if (ea && ei) {
        ac_event_error(errors, -1, "$.expires_at", "give expires_at or expires_in_s, not both");
    }
    else if (ea) {
        if (!json_is_string(ea) || !ac_time_parse(json_string_value(ea), &at) ||
            at <= ac_time_now_us()) {
            ac_event_error(errors, -1, "$.expires_at", "an RFC 3339 time in the future");
        }
        else {
            ac_time_format(at, expires);
            p[4] = expires;
        }
    }
    else if (ei) {
        if (!json_is_integer(ei) || json_integer_value(ei) < 1 ||
            json_integer_value(ei) > 100LL * 365 * 86400) {
            ac_event_error(errors, -1, "$.expires_in_s", "a number of seconds from 1 to 100 years");
        }
        else {
            ac_time_format(ac_time_now_us() + json_integer_value(ei) * 1000000, expires);
            p[4] = expires;
        }
    }
    p[5] = p[6] = NULL;
    if ((v = json_object_get(spec, "rate_per_s"))) {
        if (!json_is_number(v) || json_number_value(v) < 0) {
            ac_event_error(errors, -1, "$.rate_per_s", "a number >= 0 (0: no limit)");
        }
        (void)snprintf(rate, 32, "%.17g", json_number_value(v));
        p[5] = rate;
    }
    if ((v = json_object_get(spec, "burst"))) {
        if (!json_is_number(v) || json_number_value(v) < 0) {
            ac_event_error(errors, -1, "$.burst", "a number >= 0");
        }
        (void)snprintf(burst, 32, "%.17g", json_number_value(v));
        p[6] = burst;
    }
    return json_array_size(errors) == before;
}

json_t *ac_token_create(PGconn *c, const json_t *spec, const char *actor, json_t *errors,
                        unsigned *status)
{
    const char *p[8];
    struct ac_buf scopes = {0};
    char expires[AC_TIME_STRLEN], rate[32], burst[32], secret[64], hex[65];
    PGresult *res, *failed = NULL;
    json_t *out = NULL;

    *status = 400;
    if (!tk_parse(spec, p, &scopes, expires, rate, burst, errors)) {
        ac_buf_deinit(&scopes);
        return NULL;
    }
    *status = 503;
    if (!tk_secret(secret, sizeof(secret))) {
        ac_buf_deinit(&scopes);
        return NULL;
    }
    tk_sha256_hex(secret, hex);
    p[1] = hex;
    p[7] = actor;
    res = ac_pg_query_or(c, SQL_TK_CREATE, 8, p, &failed);
    if (res && PQntuples(res) == 1) {
        out = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
        json_object_set_new(out, "token", json_string(secret));
        *status = 201;
    }
    else if (failed && strcmp(ac_pg_sqlstate(failed), "23505") == 0) {
        *status = 409;
    }
    else if (failed) {
        ac_log(AC_LOG_WARN, TK, "creating a token failed: %s", PQresultErrorMessage(failed));
    }
    OPENSSL_cleanse(secret, sizeof(secret));
    PQclear(res);
    PQclear(failed);
    ac_buf_deinit(&scopes);
    return out;
}

/* ---- the command ---- */

static const char tk_usage[] =
    "usage: alertcenter token create --name NAME --scopes S[,S...] [--expires-in-s N |\n"
    "                                --expires-at TIME] [--tenant ID] [--rate-per-s R]\n"
    "                                [--burst B] [-c FILE]\n"
    "       alertcenter token list [-c FILE]\n"
    "       alertcenter token revoke NAME|ID [-c FILE]\n\n"
    "Tokens kept in PostgreSQL (postgres.dsn of the configuration): create prints the\n"
    "token once (only its SHA-256 is stored); list prints them without secrets;\n"
    "revoke takes effect on every instance within a second. Scopes: ingest, read,\n"
    "operate, admin. Each change is in the audit log as actor cli:<user>.\n";

static int tk_connect(const char *config_path, struct ac_config *cfg, PGconn **c)
{
    if (ac_config_load(cfg, config_path) != AC_OK) {
        return 2;
    }
    if (!(*c = ac_pg_connect(cfg->pg_dsn))) {
        ac_config_deinit(cfg);
        return 1;
    }
    return 0;
}

static char *tk_actor(void)
{
    const char *u = getenv("USER");

    return ac_xasprintf("cli:%s", u && *u ? u : "unknown");
}

static int tk_print_rows(PGresult *r)
{
    for (int i = 0; r && i < PQntuples(r); i++) {
        puts(PQgetvalue(r, i, 0));
    }
    return r ? 0 : 1;
}

int ac_cmd_token(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"name", required_argument, NULL, 'n'},
        {"scopes", required_argument, NULL, 's'},
        {"expires-in-s", required_argument, NULL, 'e'},
        {"expires-at", required_argument, NULL, 'a'},
        {"tenant", required_argument, NULL, 't'},
        {"rate-per-s", required_argument, NULL, 'r'},
        {"burst", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *sub = argc > 0 ? argv[0] : NULL;
    json_t *spec = json_object(), *v;
    struct ac_config cfg;
    PGconn *c = NULL;
    int opt, rc;
    char *actor;

    if (!sub || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        fputs(tk_usage, sub ? stdout : stderr);
        json_decref(spec);
        return sub ? 0 : 2;
    }
    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (opt) {
            case 'c':
                config = optarg;
                break;
            case 'n':
                json_object_set_new(spec, "name", json_string(optarg));
                break;
            case 's': {
                json_t *arr = json_array();
                char *copy = ac_xstrdup(optarg), *save = NULL;
                for (char *s = strtok_r(copy, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
                    json_array_append_new(arr, json_string(s));
                }
                free(copy);
                json_object_set_new(spec, "scopes", arr);
                break;
            }
            case 'e':
                json_object_set_new(spec, "expires_in_s", json_integer(strtoll(optarg, NULL, 10)));
                break;
            case 'a':
                json_object_set_new(spec, "expires_at", json_string(optarg));
                break;
            case 't':
                json_object_set_new(spec, "tenant", json_string(optarg));
                break;
            case 'r':
            case 'b':
                json_object_set_new(spec, opt == 'r' ? "rate_per_s" : "burst",
                                    json_real(strtod(optarg, NULL)));
                break;
            case 'h':
                fputs(tk_usage, stdout);
                json_decref(spec);
                return 0;
            default:
                fputs(tk_usage, stderr);
                json_decref(spec);
                return 2;
        }
    }
    if (strcmp(sub, "create") != 0 && strcmp(sub, "list") != 0 && strcmp(sub, "revoke") != 0) {
        fprintf(stderr, "unknown token command: %s\n\n%s", sub, tk_usage);
        json_decref(spec);
        return 2;
    }
    if (strcmp(sub, "revoke") == 0 ? optind != argc - 1 : optind != argc) {
        fputs(tk_usage, stderr);
        json_decref(spec);
        return 2;
    }
    if ((rc = tk_connect(config, &cfg, &c)) != 0) {
        json_decref(spec);
        return rc;
    }
    actor = tk_actor();
    if (strcmp(sub, "create") == 0) {
        json_t *errors = json_array(), *out;
        unsigned status;
        size_t i;
        out = ac_token_create(c, spec, actor, errors, &status);
        if (out) {
            char *s = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            printf("%s\n", s);
            fprintf(stderr, "the token is shown this once: keep it now\n");
            free(s);
        }
        else {
            json_array_foreach(errors, i, v)
            {
                fprintf(stderr, "%s: %s\n", json_string_value(json_object_get(v, "path")),
                        json_string_value(json_object_get(v, "message")));
            }
            if (status == 409) {
                fprintf(stderr, "a token with this name exists\n");
            }
        }
        rc = out ? 0 : status == 400 || status == 409 ? 2 : 1;
        json_decref(out);
        json_decref(errors);
    }
    else if (strcmp(sub, "list") == 0) {
        PGresult *r = ac_pg_query(c, TK, SQL_TK_LIST, 0, NULL);
        rc = tk_print_rows(r);
        PQclear(r);
    }
    else {
        const char *p[2] = {argv[optind], actor};
        PGresult *r = ac_pg_query(c, TK, SQL_TK_REVOKE, 2, p);
        if (r && PQgetisnull(r, 0, 0)) {
            fprintf(stderr, "no such token: %s\n", argv[optind]);
            rc = 1;
        }
        else {
            rc = tk_print_rows(r);
        }
        PQclear(r);
    }
    free(actor);
    PQfinish(c);
    ac_config_deinit(&cfg);
    json_decref(spec);
    return rc;
}
