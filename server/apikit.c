/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The API toolkit (see apikit.h).
 *
 * Lists: every filter is a bound parameter of one static statement written
 * as "($n IS NULL OR column = $n)"; libpq's unnamed statements are planned
 * with the actual values, so absent filters fold away. The cursor is an
 * opaque token for "after this key" in the list's order. Rows are rendered
 * to JSON by SQL functions and spliced into the answer as text, so no row is
 * parsed twice.
 */
#include "server/apikit.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/event.h"
#include "schema/timefmt.h"
#include "server/core/log.h"
#include "server/core/pg.h"
#include "server/server.h"

#define AK_POOL_WAIT_MS  5000
#define AK_DEFAULT_LIMIT 100

/* --- the database ------------------------------------------------------------ */

PGconn *ac_api_db(struct ac_http_req *r)
{
    PGconn *c = ac_pg_pool_acquire(r->srv->pool, AK_POOL_WAIT_MS);

    if (!c) {
        ac_http_reply_error(r, 503, "unavailable", "the database is unavailable; retry", NULL);
    }
    return c;
}

void ac_api_db_release(struct ac_http_req *r, PGconn *c)
{
    if (c) {
        ac_pg_pool_release(r->srv->pool, c);
    }
}

void ac_api_unavailable(struct ac_http_req *r, PGconn *c, const char *what)
{
    if (c) {
        ac_log(AC_LOG_ERROR, "api", "%s failed: %s", what, PQerrorMessage(c));
    }
    ac_http_reply_error(r, 503, "unavailable", "the database is unavailable; retry", NULL);
}

char *ac_api_actor(const struct ac_http_req *r)
{
    return ac_xasprintf("token:%s", r->principal ? r->principal : "?");
}

void ac_api_reply_row(struct ac_http_req *r, const PGresult *res, unsigned status)
{
    size_t len = (size_t)PQgetlength(res, 0, 0);
    char *body = ac_xmalloc(len + 2);

    memcpy(body, PQgetvalue(res, 0, 0), len);
    body[len] = '\n';
    body[len + 1] = '\0';
    ac_http_reply_text(r, status, body, len + 1, "application/json");
}

void ac_api_not_found(struct ac_http_req *r, const char *what)
{
    char msg[96];

    (void)snprintf(msg, sizeof(msg), "no such %s", what);
    ac_http_reply_error(r, 404, "not_found", msg, NULL);
}

void ac_api_bad_query(struct ac_http_req *r, const char *param, const char *msg)
{
    json_t *d = json_pack("[{s:s, s:s}]", "path", param, "message", msg);

    ac_http_reply_error(r, 400, "invalid_query", "a query parameter is not valid", d);
}

bool ac_api_is_id(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > 18) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

json_t *ac_api_body_object(struct ac_http_req *r, const char *code, const char *message)
{
    json_error_t jerr;
    json_t *body = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *errs;

    if (body && json_is_object(body)) {
        return body;
    }
    errs = json_array();
    if (body) {
        ac_event_error(errs, -1, "$", "must be a JSON object");
    }
    else {
        ac_event_error(errs, -1, "$", "invalid JSON: %s", jerr.text);
    }
    ac_http_reply_error(r, 400, code, message, errs);
    json_decref(body);
    return NULL;
}

/* --- cursors ------------------------------------------------------------------ */

char *ac_api_cursor_encode(const char *key)
{
    char *raw = ac_xasprintf("v1:%s", key);
    size_t n = strlen(raw);
    char *out = ac_xmalloc(4 * ((n + 2) / 3) + 1);
    int m = EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)raw, (int)n);

    for (int i = 0; i < m; i++) {
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    }
    while (m > 0 && out[m - 1] == '=') {
        m--;
    }
    out[m] = '\0';
    free(raw);
    return out;
}

bool ac_api_cursor_decode(const char *cur, char *key_out, size_t key_len)
{
    char in[AC_API_CURSOR_MAX + 4];
    unsigned char raw[AC_API_CURSOR_MAX];
    size_t n = strlen(cur);
    int m;

    if (n == 0 || n > AC_API_CURSOR_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = cur[i];
        if (!isalnum((unsigned char)c) && c != '-' && c != '_') {
            return false;
        }
        in[i] = c == '-' ? '+' : c == '_' ? '/' : c;
    }
    while (n % 4) {
        in[n++] = '=';
    }
    in[n] = '\0';
    m = EVP_DecodeBlock(raw, (const unsigned char *)in, (int)n);
    if (m < 4) {
        return false;
    }
    while (m > 0 && raw[m - 1] == '\0') {
        m--; /* EVP_DecodeBlock pads the output for '=' */
    }
    raw[m] = '\0';
    if (strncmp((char *)raw, "v1:", 3) != 0 || strlen((char *)raw + 3) >= key_len ||
        memchr(raw, '\0', (size_t)m) != NULL) {
        return false;
    }
    memcpy(key_out, raw + 3, strlen((char *)raw + 3) + 1);
    return true;
}

/* Whether key fits the list's kind of key. */
static bool ak_key_ok(enum ac_api_key kind, const char *key)
{
    const char *comma;
    char *end;

    switch (kind) {
        case AC_KEY_ID:
            return ac_api_is_id(key);
        case AC_KEY_TEXT:
            return true;
        case AC_KEY_PAIR:
            comma = strchr(key, ',');
            if (!comma || comma == key || comma - key > 20) {
                return false;
            }
            errno = 0;
            (void)strtoll(key, &end, 10);
            if (errno) {
                return false;
            }
            return end == comma && ac_api_is_id(comma + 1);
    }
    return false;
}

/* --- lists ------------------------------------------------------------------ */

bool ac_api_limit(struct ac_http_req *r, long dflt, long *out)
{
    const char *v = ac_http_arg(r, "limit");
    char *end = NULL;

    *out = dflt;
    if (!v) {
        return true;
    }
    *out = strtol(v, &end, 10);
    if (!*v || *end || *out < 1 || *out > AC_API_MAX_LIMIT) {
        ac_api_bad_query(r, "limit", "must be an integer from 1 to 1000");
        return false;
    }
    return true;
}

static void ak_reply_page(struct ac_http_req *r, const PGresult *res, long limit)
{
    struct ac_buf b = {0};
    int rows = PQntuples(res);
    size_t len;

    ac_buf_appends(&b, "{\"items\":[");
    for (int i = 0; i < rows && i < limit; i++) {
        ac_buf_appends(&b, i ? "," : "");
        ac_buf_append(&b, PQgetvalue(res, i, 0), (size_t)PQgetlength(res, i, 0));
    }
    ac_buf_appends(&b, "],\"next_cursor\":");
    if (rows > limit) {
        char *cur = ac_api_cursor_encode(PQgetvalue(res, (int)limit - 1, 1));
        ac_buf_printf(&b, "\"%s\"}\n", cur);
        free(cur);
    }
    else {
        ac_buf_appends(&b, "null}\n");
    }
    len = b.len;
    ac_http_reply_text(r, 200, ac_buf_steal(&b), len, "application/json");
}

/* Validates one filter value (store: room for a normalized time); the
 * value to bind into *out. False after answering 400. */
static bool ak_value(struct ac_http_req *r, const struct ac_api_filter *f, const char *v,
                     char *store, const char **out)
{
    int64_t us;
    enum ac_level lv;
    bool ok = false;

    *out = v;
    switch (f->kind) {
        case AC_ARG_TEXT:
            ok = strlen(v) <= 1024;
            if (!ok) {
                ac_api_bad_query(r, f->arg, "is longer than 1024 bytes");
            }
            return ok;
        case AC_ARG_ID:
            ok = ac_api_is_id(v);
            if (!ok) {
                ac_api_bad_query(r, f->arg, "must be an id");
            }
            return ok;
        case AC_ARG_LEVEL:
            ok = ac_level_parse(v, &lv);
            if (!ok) {
                ac_api_bad_query(r, f->arg, "must be one of P1, P2, P3, P4");
            }
            return ok;
        case AC_ARG_TIME:
            ok = ac_time_parse(v, &us);
            if (!ok) {
                ac_api_bad_query(r, f->arg, "must be an RFC 3339 timestamp");
                return false;
            }
            ac_time_format(us, store);
            *out = store;
            return true;
        case AC_ARG_CHOICE:
            break;
    }
    for (const char *const *c = f->choices; c && *c && !ok; c++) {
        ok = strcmp(*c, v) == 0;
    }
    if (!ok) {
        struct ac_buf b = {0};
        ac_buf_appends(&b, "must be one of");
        for (const char *const *c = f->choices; c && *c; c++) {
            ac_buf_printf(&b, "%s %s", c == f->choices ? "" : ",", *c);
        }
        ac_api_bad_query(r, f->arg, b.data);
        ac_buf_deinit(&b);
    }
    return ok;
}

/* The list's parameters from r's query into params (times into times);
 * *nparams of them. An export takes "format" and no cursor or limit (it
 * has them all). False after answering 400. */
static bool ak_params(struct ac_http_req *r, const struct ac_api_list *l, bool export,
                      const char **params, char (*times)[AC_TIME_STRLEN], char *key, char *limit_s,
                      long *limit, int *nparams)
{
    const char *allowed[AC_API_FILTERS_MAX + 3];
    const char *v, *unknown;
    int n = 0, na = 0;

    for (const struct ac_api_filter *f = l->filters; f && f->arg; f++, n++) {
        AC_ASSERT(n < AC_API_FILTERS_MAX);
        allowed[na++] = f->arg;
        params[n] = f->dflt;
        if ((v = ac_http_arg(r, f->arg)) && !ak_value(r, f, v, times[n], &params[n])) {
            return false;
        }
    }
    if (export) {
        allowed[na++] = "format";
    }
    else {
        allowed[na++] = "cursor";
        allowed[na++] = "limit";
    }
    allowed[na] = NULL;
    if ((unknown = ac_http_unknown_arg(r, allowed)) != NULL) {
        ac_api_bad_query(r, unknown,
                         export ? "is not a parameter of this export"
                                : "is not a parameter of this list");
        return false;
    }
    params[n] = NULL;
    if (export) {
        *limit = 0;
        (void)snprintf(limit_s, 24, "%lld", 9223372036854775807LL);
        params[n + 1] = limit_s;
        *nparams = n + 2;
        return true;
    }
    if ((v = ac_http_arg(r, "cursor")) != NULL) {
        if (!ac_api_cursor_decode(v, key, AC_API_CURSOR_MAX) || !ak_key_ok(l->key, key)) {
            ac_api_bad_query(r, "cursor", "is not a cursor this server gave");
            return false;
        }
        params[n] = key;
    }
    if (!ac_api_limit(r, AK_DEFAULT_LIMIT, limit)) {
        return false;
    }
    (void)snprintf(limit_s, 24, "%ld", *limit + 1);
    params[n + 1] = limit_s;
    *nparams = n + 2;
    return true;
}

/* The list's parameters from r's query into params (times into times);
 * *nparams of them. False after answering 400. */
static bool ak_list_params(struct ac_http_req *r, const struct ac_api_list *l, const char **params,
                           char (*times)[AC_TIME_STRLEN], char *key, char *limit_s, long *limit,
                           int *nparams)
{
    return ak_params(r, l, false, params, times, key, limit_s, limit, nparams);
}

void ac_api_list(struct ac_http_req *r, const struct ac_api_list *l)
{
    ac_api_list_bound(r, l, -1, NULL);
}

void ac_api_list_bound(struct ac_http_req *r, const struct ac_api_list *l, int idx,
                       const char *value)
{
    const char *params[AC_API_FILTERS_MAX + 3];
    char times[AC_API_FILTERS_MAX][AC_TIME_STRLEN];
    char key[AC_API_CURSOR_MAX], limit_s[24];
    long limit;
    int n;
    PGconn *c;
    PGresult *res;

    if (!ak_list_params(r, l, params, times, key, limit_s, &limit, &n)) {
        return;
    }
    if (idx >= 0 && idx == n - 2) { /* one more, before the cursor and the limit */
        params[n] = params[n - 1];
        params[n - 1] = params[n - 2];
        params[n - 2] = value;
        n++;
    }
    else if (idx >= 0) {
        AC_ASSERT(idx < n - 2);
        params[idx] = value;
    }
    if (!(c = ac_api_db(r))) {
        return;
    }
    res = ac_pg_query(c, NULL, l->sql, n, params);
    if (!res) {
        ac_api_unavailable(r, c, l->what);
    }
    else {
        ak_reply_page(r, res, limit);
    }
    PQclear(res);
    ac_api_db_release(r, c);
}

/* --- exports ------------------------------------------------------------------ */

#define AK_EXPORT_FETCH "FETCH 1000 FROM ak_export"

static int ak_exports; /* running, atomic */

/* Appends v as a CSV field (RFC 4180: quoted when it holds a comma, quote
 * or line break; quotes doubled). */
static void ak_csv_field(struct ac_buf *b, const json_t *v)
{
    char *owned = NULL;
    const char *s = "";

    if (json_is_string(v)) {
        s = json_string_value(v);
    }
    else if (v && !json_is_null(v)) {
        s = owned = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    }
    if (strpbrk(s, ",\"\r\n")) {
        ac_buf_appends(b, "\"");
        for (const char *p = s; *p; p++) {
            ac_buf_append(b, p, 1);
            if (*p == '"') {
                ac_buf_appends(b, "\"");
            }
        }
        ac_buf_appends(b, "\"");
    }
    else {
        ac_buf_appends(b, s);
    }
    free(owned);
}

/* One fetched page into b, as NDJSON or CSV rows. */
static void ak_export_rows(struct ac_buf *b, const PGresult *res, const char *const *csv)
{
    for (int i = 0; i < PQntuples(res); i++) {
        if (!csv) {
            ac_buf_append(b, PQgetvalue(res, i, 0), (size_t)PQgetlength(res, i, 0));
            ac_buf_appends(b, "\n");
            continue;
        }
        json_t *row = json_loadb(PQgetvalue(res, i, 0), (size_t)PQgetlength(res, i, 0), 0, NULL);
        for (size_t k = 0; csv[k]; k++) {
            ac_buf_appends(b, k ? "," : "");
            ak_csv_field(b, json_object_get(row, csv[k]));
        }
        ac_buf_appends(b, "\r\n");
        json_decref(row);
    }
}

/* Streams the cursor declared on c into r's answer. */
static void ak_export_stream(struct ac_http_req *r, PGconn *c, const char *name,
                             const char *const *csv)
{
    char disp[96];
    struct ac_http_stream *st;
    struct ac_buf b = {0};
    PGresult *res;
    bool ok = true, more = true;
    long long rows = 0;

    (void)snprintf(disp, sizeof(disp), "attachment; filename=\"%s.%s\"", name,
                   csv ? "csv" : "ndjson");
    st = ac_http_stream_begin(r, 200, csv ? "text/csv; charset=utf-8" : "application/x-ndjson",
                              disp);
    if (csv) {
        for (size_t k = 0; csv[k]; k++) {
            ac_buf_appends(&b, k ? "," : "");
            ac_buf_appends(&b, csv[k]);
        }
        ac_buf_appends(&b, "\r\n");
    }
    while (ok && more) {
        if (!(res = ac_pg_query(c, "export", AK_EXPORT_FETCH, 0, NULL))) {
            ok = false;
            break;
        }
        more = PQntuples(res) > 0;
        rows += PQntuples(res);
        ak_export_rows(&b, res, csv);
        PQclear(res);
        if (b.len > 0) {
            ok = ac_http_stream_write(st, b.data, b.len);
            b.len = 0;
        }
    }
    ac_buf_deinit(&b);
    ac_log(ok ? AC_LOG_INFO : AC_LOG_WARN, "export", "%s rows=%lld %s", name, rows,
           ok ? "complete" : "cut short (the client left or the database failed)");
    ac_http_stream_end(st, ok);
}

void ac_api_export(struct ac_http_req *r, const struct ac_api_list *l, const char *name,
                   const char *const *csv)
{
    const char *params[AC_API_FILTERS_MAX + 2];
    char times[AC_API_FILTERS_MAX][AC_TIME_STRLEN];
    char key[AC_API_CURSOR_MAX], limit_s[24], *sql;
    const char *format = ac_http_arg(r, "format");
    long limit;
    int n;
    PGconn *c = NULL;

    if (!ak_params(r, l, true, params, times, key, limit_s, &limit, &n)) {
        return;
    }
    if (format && strcmp(format, "ndjson") != 0 && strcmp(format, "csv") != 0) {
        ac_api_bad_query(r, "format", "must be one of ndjson, csv");
        return;
    }
    if (__atomic_add_fetch(&ak_exports, 1, __ATOMIC_SEQ_CST) > AC_API_EXPORTS_MAX) {
        __atomic_sub_fetch(&ak_exports, 1, __ATOMIC_SEQ_CST);
        ac_http_reply_error(r, 429, "rate_limited", "too many exports are running; retry", NULL);
        ac_http_add_header(r, "Retry-After", "5");
        return;
    }
    sql = ac_xasprintf("DECLARE ak_export NO SCROLL CURSOR FOR %s", l->sql);
    if (!(c = ac_pg_connect(r->srv->cfg.pg_dsn)) ||
        !ac_pg_run(c, "export", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL) ||
        !ac_pg_run(c, "export", sql, n, params)) {
        ac_api_unavailable(r, c, l->what);
    }
    else {
        ak_export_stream(r, c, name, format && strcmp(format, "csv") == 0 ? csv : NULL);
        (void)ac_pg_run(c, "export", "COMMIT", 0, NULL);
    }
    PQfinish(c);
    free(sql);
    __atomic_sub_fetch(&ak_exports, 1, __ATOMIC_SEQ_CST);
}

/* --- resources ---------------------------------------------------------------- */

static void ak_write_deinit(struct ac_api_write *w)
{
    if (w->ctx_free) {
        w->ctx_free(w->ctx);
    }
    ac_arena_deinit(&w->ar);
}

/* Answers a failed write statement: 409 for a unique violation. */
static void ak_write_failed(struct ac_http_req *r, const struct ac_api_resource *res, PGconn *c,
                            const PGresult *failed)
{
    const char *msg = NULL;
    char what[64];

    if (failed && strcmp(ac_pg_sqlstate(failed), "23505") == 0) {
        msg = res->conflict_of
                  ? res->conflict_of(PQresultErrorField(failed, PG_DIAG_CONSTRAINT_NAME))
                  : NULL;
        ac_http_reply_error(r, 409, "conflict", msg ? msg : res->conflict, NULL);
        return;
    }
    (void)snprintf(what, sizeof(what), "%s write", res->name);
    ac_api_unavailable(r, c, what);
}

/* Runs a resource's statement sql with p[0..n) in one transaction (with the
 * lock and the check when the resource has them) and answers its row with
 * status, or 404. w: the parsed body (NULL for a delete). */
static void ak_run(struct ac_http_req *r, const struct ac_api_resource *res, const char *sql, int n,
                   const char *const *p, const struct ac_api_write *w, unsigned status)
{
    bool txn = res->lock || res->check;
    PGconn *c = ac_api_db(r);
    PGresult *out = NULL, *failed = NULL;

    if (!c) {
        return;
    }
    if (txn &&
        (!ac_pg_begin(c, "api") || (res->lock && !ac_pg_run(c, "api", res->lock, 0, NULL)))) {
        ac_api_unavailable(r, c, res->name);
        goto cleanup;
    }
    if (res->check && !res->check(r, res, c, w)) {
        goto cleanup;
    }
    if (!(out = ac_pg_query_or(c, sql, n, p, &failed))) {
        ak_write_failed(r, res, c, failed);
    }
    else if (PQntuples(out) == 0) {
        ac_api_not_found(r, res->name);
    }
    else if (txn && !ac_pg_commit(c, "api")) {
        ac_api_unavailable(r, c, res->name);
    }
    else {
        ac_api_reply_row(r, out, status);
        if (res->changed && strcmp(r->method, "GET") != 0) {
            res->changed(r);
        }
    }
cleanup:
    PQclear(out);
    PQclear(failed);
    ac_pg_rollback(c); /* a no-op after COMMIT */
    ac_api_db_release(r, c);
}

static bool ak_key_of_path(struct ac_http_req *r, const struct ac_api_resource *res)
{
    if (!r->path_arg || (res->key_is_id && !ac_api_is_id(r->path_arg))) {
        ac_api_not_found(r, res->name); /* no such key can exist */
        return false;
    }
    return true;
}

static void ak_write(struct ac_http_req *r, const struct ac_api_resource *res, bool update)
{
    struct ac_api_write w;
    char msg[96], *actor = NULL;
    json_t *body;

    if (update && !ak_key_of_path(r, res)) {
        return;
    }
    (void)snprintf(msg, sizeof(msg), "the %s is not valid", res->name);
    if (!(body = ac_api_body_object(r, res->invalid, msg))) {
        return;
    }
    memset(&w, 0, sizeof(w));
    ac_arena_init(&w.ar);
    if (res->parse(r, res, body, &w)) {
        AC_ASSERT(w.n + 2 <= AC_API_PARAMS_MAX);
        actor = ac_arena_own(&w.ar, ac_api_actor(r));
        w.p[w.n] = actor;
        w.p[w.n + 1] = r->path_arg;
        ak_run(r, res, update ? res->sql_update : res->sql_create, w.n + (update ? 2 : 1), w.p, &w,
               update ? 200 : 201);
        if (r->status < 300) {
            ac_log(AC_LOG_INFO, "api", "%s %s by %s", res->name, update ? "updated" : "created",
                   actor);
        }
    }
    ak_write_deinit(&w);
    json_decref(body);
}

void ac_api_resource(struct ac_http_req *r, const struct ac_api_resource *res)
{
    const char *p[2];
    char *actor;

    if (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0) {
        if (!r->path_arg) {
            ac_api_list(r, &res->list);
        }
        else if (ak_key_of_path(r, res)) {
            p[0] = r->path_arg;
            ak_run(r, &(struct ac_api_resource){.name = res->name}, res->sql_get, 1, p, NULL, 200);
        }
    }
    else if (strcmp(r->method, "POST") == 0 && (res->post || res->sql_create)) {
        if (res->post) {
            res->post(r, res);
        }
        else {
            ak_write(r, res, false);
        }
    }
    else if (strcmp(r->method, "PUT") == 0 && (res->put || res->sql_update)) {
        if (res->put) {
            res->put(r, res);
        }
        else {
            ak_write(r, res, true);
        }
    }
    else if (strcmp(r->method, "DELETE") == 0 && res->sql_delete) {
        if (!ak_key_of_path(r, res)) {
            return;
        }
        actor = ac_api_actor(r);
        p[0] = r->path_arg;
        p[1] = actor;
        ak_run(r, res, res->sql_delete, 2, p, NULL, 200);
        free(actor);
    }
    else {
        ac_http_reply_error(r, 405, "method_not_allowed", "this resource does not take that method",
                            NULL);
    }
}
