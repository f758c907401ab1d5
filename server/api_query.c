/* SPDX-License-Identifier: Apache-2.0 */
/*
 * History queries: GET /v1/events, GET /v1/alerts.
 *
 * Every filter is a bound parameter of one static statement written as
 * "($n IS NULL OR column = $n)"; libpq's unnamed statements are planned with
 * the actual values, so absent filters fold away. Pages run newest first by
 * id, and the cursor is an opaque token for "ids below this one".
 * Rows are rendered to JSON by SQL functions and spliced into the answer as
 * text, so no row is parsed twice.
 */
#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/event.h"
#include "schema/timefmt.h"
#include "server/api.h"
#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/server.h"

#define QR_DEFAULT_LIMIT 100
#define QR_MAX_PARAMS    16

enum qr_kind { Q_TEXT, Q_LEVEL, Q_EV_STATUS, Q_AL_STATUS, Q_TIME, Q_ID };

struct qr_filter {
    const char *arg;
    enum qr_kind kind;
};

struct qr_list {
    const struct qr_filter *filters; /* params $1..$n, then cursor $n+1, limit $n+2 */
    const char *sql;
};

static const struct qr_filter qr_event_filters[] = {
    {"type", Q_TEXT},   {"source", Q_TEXT},  {"level", Q_LEVEL},      {"status", Q_EV_STATUS},
    {"app_id", Q_TEXT}, {"user_id", Q_TEXT}, {"region", Q_TEXT},      {"since", Q_TIME},
    {"until", Q_TIME},  {"alert_id", Q_ID},  {"fingerprint", Q_TEXT}, {NULL, Q_TEXT},
};

static const struct qr_list qr_events = {
    qr_event_filters,
    "SELECT ac_event_json(e)::text, e.id FROM events e"
    " WHERE ($1::text IS NULL OR e.type = $1) AND ($2::text IS NULL OR e.source = $2)"
    " AND ($3::text IS NULL OR e.level = $3) AND ($4::text IS NULL OR e.status = $4)"
    " AND ($5::text IS NULL OR e.app_id = $5) AND ($6::text IS NULL OR e.user_id = $6)"
    " AND ($7::text IS NULL OR e.region = $7)"
    " AND ($8::timestamptz IS NULL OR e.received_at >= $8)"
    " AND ($9::timestamptz IS NULL OR e.received_at < $9)"
    " AND ($10::bigint IS NULL OR e.alert_id = $10) AND ($11::text IS NULL OR e.fingerprint = $11)"
    " AND ($12::bigint IS NULL OR e.id < $12)"
    " ORDER BY e.id DESC LIMIT $13",
};

static const struct qr_filter qr_alert_filters[] = {
    {"type", Q_TEXT},   {"source", Q_TEXT},      {"level", Q_LEVEL}, {"status", Q_AL_STATUS},
    {"app_id", Q_TEXT}, {"user_id", Q_TEXT},     {"region", Q_TEXT}, {"since", Q_TIME},
    {"until", Q_TIME},  {"fingerprint", Q_TEXT}, {NULL, Q_TEXT},
};

/* since/until select alerts whose [first_seen, last_seen] overlaps the range;
 * status=open means firing or acknowledged. */
static const struct qr_list qr_alerts = {
    qr_alert_filters,
    "SELECT ac_alert_json(a)::text, a.id FROM alerts a"
    " WHERE ($1::text IS NULL OR a.type = $1) AND ($2::text IS NULL OR a.source = $2)"
    " AND ($3::text IS NULL OR a.level = $3)"
    " AND ($4::text IS NULL OR a.status = $4 OR ($4 = 'open' AND a.status <> 'resolved'))"
    " AND ($5::text IS NULL OR a.app_id = $5) AND ($6::text IS NULL OR a.user_id = $6)"
    " AND ($7::text IS NULL OR a.region = $7)"
    " AND ($8::timestamptz IS NULL OR a.last_seen >= $8)"
    " AND ($9::timestamptz IS NULL OR a.first_seen < $9)"
    " AND ($10::text IS NULL OR a.fingerprint = $10)"
    " AND ($11::bigint IS NULL OR a.id < $11)"
    " ORDER BY a.id DESC LIMIT $12",
};

void ac_api_reply_page(struct ac_http_req *r, const PGresult *res, long limit)
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

bool ac_api_is_id(const char *s)
{
    size_t n = strlen(s);

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

void ac_api_bad_query(struct ac_http_req *r, const char *param, const char *msg)
{
    json_t *d = json_pack("[{s:s, s:s}]", "path", param, "message", msg);

    ac_http_reply_error(r, 400, "invalid_query", "a query parameter is not valid", d);
}

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

/* Validates one filter value into text for PostgreSQL (owned by store). */
/* store: AC_TIME_STRLEN bytes for the normalized time of Q_TIME filters. */
static bool qr_value(struct ac_http_req *r, const struct qr_filter *f, const char *v, char *store)
{
    int64_t us;
    enum ac_level lv;
    enum ac_status st;

    switch (f->kind) {
        case Q_TEXT:
            if (strlen(v) > 1024) {
                ac_api_bad_query(r, f->arg, "too long");
                return false;
            }
            return true;
        case Q_LEVEL:
            if (!ac_level_parse(v, &lv)) {
                ac_api_bad_query(r, f->arg, "must be one of P1, P2, P3, P4");
                return false;
            }
            return true;
        case Q_EV_STATUS:
            if (!ac_status_parse(v, &st)) {
                ac_api_bad_query(r, f->arg, "must be firing or resolved");
                return false;
            }
            return true;
        case Q_AL_STATUS:
            if (strcmp(v, "firing") && strcmp(v, "acknowledged") && strcmp(v, "resolved") &&
                strcmp(v, "open")) {
                ac_api_bad_query(r, f->arg, "must be firing, acknowledged, resolved or open");
                return false;
            }
            return true;
        case Q_TIME:
            if (!ac_time_parse(v, &us)) {
                ac_api_bad_query(r, f->arg, "must be an RFC 3339 timestamp");
                return false;
            }
            ac_time_format(us, store);
            return true;
        case Q_ID:
            if (!ac_api_is_id(v)) {
                ac_api_bad_query(r, f->arg, "must be an id");
                return false;
            }
            return true;
    }
    return false;
}

static void qr_run_list(struct ac_http_req *r, const struct qr_list *q)
{
    const char *allowed[QR_MAX_PARAMS + 2];
    const char *params[QR_MAX_PARAMS];
    char times[QR_MAX_PARAMS][AC_TIME_STRLEN];
    char cursor_id[32], limit_s[24];
    const char *v, *unknown;
    long limit;
    size_t nf = 0, na = 0;
    PGresult *res = NULL;
    PGconn *c = NULL;

    for (const struct qr_filter *f = q->filters; f->arg; f++, nf++) {
        allowed[na++] = f->arg;
        params[nf] = NULL;
        v = ac_http_arg(r, f->arg);
        if (!v) {
            continue;
        }
        if (!qr_value(r, f, v, times[nf])) {
            return;
        }
        params[nf] = f->kind == Q_TIME ? times[nf] : v;
    }
    allowed[na++] = "cursor";
    allowed[na++] = "limit";
    allowed[na] = NULL;
    if ((unknown = ac_http_unknown_arg(r, allowed)) != NULL) {
        ac_api_bad_query(r, unknown, "unknown query parameter");
        return;
    }
    params[nf] = NULL;
    if ((v = ac_http_arg(r, "cursor")) != NULL) {
        if (!ac_api_cursor_decode(v, cursor_id, sizeof(cursor_id)) || !ac_api_is_id(cursor_id)) {
            ac_api_bad_query(r, "cursor", "not a cursor this server issued");
            return;
        }
        params[nf] = cursor_id;
    }
    if (!ac_api_limit(r, QR_DEFAULT_LIMIT, &limit)) {
        return;
    }
    (void)snprintf(limit_s, sizeof(limit_s), "%ld", limit + 1);
    params[nf + 1] = limit_s;

    c = ac_pg_pool_acquire(r->srv->pool, 5000);
    if (!c) {
        ac_http_reply_error(r, 503, "unavailable", "the database is unavailable; retry", NULL);
        return;
    }
    res = PQexecParams(c, q->sql, (int)nf + 2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        ac_log(AC_LOG_ERROR, "api", "query failed: %s", PQerrorMessage(c));
        ac_http_reply_error(r, 503, "unavailable", "the query failed; retry", NULL);
        goto cleanup;
    }
    ac_api_reply_page(r, res, limit);
cleanup:
    PQclear(res);
    ac_pg_pool_release(r->srv->pool, c);
}

void ac_api_list_events(struct ac_http_req *r)
{
    qr_run_list(r, &qr_events);
}

void ac_api_list_alerts(struct ac_http_req *r)
{
    qr_run_list(r, &qr_alerts);
}

bool ac_api_page_params(struct ac_http_req *r, const char *const *allowed, long *limit, char *after,
                        size_t after_len)
{
    const char *bad = ac_http_unknown_arg(r, allowed), *cur = ac_http_arg(r, "cursor");

    after[0] = '\0';
    if (bad) {
        ac_api_bad_query(r, bad, "is not a parameter of this list");
        return false;
    }
    if (!ac_api_limit(r, 100, limit)) {
        return false;
    }
    if (cur && (!ac_api_cursor_decode(cur, after, after_len) || !ac_api_is_id(after))) {
        ac_api_bad_query(r, "cursor", "is not a cursor this server gave");
        return false;
    }
    return true;
}
