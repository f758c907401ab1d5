/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libmicrohttpd glue: per-request state, body accumulation with a hard
 * limit, routing, authentication and graceful draining.
 *
 * A request is refused before its body is looked at when the path or the
 * header block is too long, the route is unknown, the token is missing,
 * lacks the scope or is over its rate, the declared Content-Length is over
 * the limit, or the content type is not accepted. A small declared body
 * (up to HTTP_DISCARD_MAX) is read and dropped first, because closing a
 * socket with unread data makes the kernel reset the connection and the
 * client may never see the answer; otherwise (a larger or chunked body, or
 * Expect: 100-continue) the refusal goes at once and libmicrohttpd closes
 * the connection without reading the body. A chunked body that grows past
 * the limit is dropped as it comes, and the connection is closed without an
 * answer once HTTP_DISCARD_MAX more has come (an answer could only follow
 * the whole body, however long).
 *
 * Threads: libmicrohttpd's epoll event threads (one per core) serve every
 * socket, so an idle or slow connection costs a descriptor and a few
 * hundred bytes, never a thread. A request whose handler may block (a query,
 * a group commit: all but /healthz) is handed to a pool of worker threads
 * with its connection suspended, and resumed when the answer is ready; a
 * full pool queue answers 503. Connections are capped in all and per client
 * address, and each must send its whole header block within
 * limits.header_timeout_ms (http_conns.h: the idle timeout alone lets a
 * client that trickles header lines hold its socket for ever).
 */
#include "server/http.h"

#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "schema/event.h"
#include "schema/timefmt.h"
#include "server/api.h"
#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/core/metrics.h"
#include "server/core/workq.h"
#include "server/http_conns.h"
#include "server/http_routes.h"
#include "server/server.h"
#include "server/tls.h"

#define HTTP_JSON "application/json"
/* A refused request's body is read (and dropped) only up to this, so the
 * answer is not lost to a reset; past it the answer goes at once and the
 * connection closes. */
#define HTTP_DISCARD_MAX (64LL << 10)
/* libmicrohttpd's memory per connection (request line, headers, query);
 * past it, it answers 414/431 itself, so our own limits below sit inside.
 * It zeroes the pool for every request on a kept-alive connection, so it is
 * no larger than that needs (128 KiB cost 6 % of the server's CPU at one
 * alert a request: bench/PROFILE.md). */
#define HTTP_CONN_MEMORY (64U << 10)
#define HTTP_URL_MAX     (8U << 10)  /* longer: 414 */
#define HTTP_HEADERS_MAX (32U << 10) /* header block larger: 431 */
/* TLS 1.2 and 1.3 only, GnuTLS's default ciphers otherwise. */
#define HTTP_TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

/* Per route (and one for requests that matched none): answers by status
 * code, and the time to answer. Relaxed atomics. */
struct http_stats {
    unsigned long long by_status[500]; /* [status - 100] */
    struct ac_hist time;
};

struct ac_http {
    struct ac_server *srv;
    struct MHD_Daemon *d;
    struct ac_http_conns *conns; /* header deadlines */
    struct ac_workq *workers;    /* requests that may block */
    struct ac_tls *tls;          /* the certificate, with HTTPS; else NULL */
    int inflight;                /* atomic */
    unsigned long long busy;     /* 503s for a full worker queue (atomic) */
    struct http_stats *stats;    /* [route] and, last, the unmatched */
};

struct http_state {
    const struct ac_http_route *route;
    char *arg;
    struct ac_buf body;
    bool too_big;          /* the body is discarded */
    size_t dropped;        /* bytes of it discarded */
    size_t body_cap;       /* max_body_bytes, or 0 for a refused request's body */
    const char *principal; /* of the token checked before the body; borrowed from auth */
    const char *tenant;    /* the tenant it is bound to, or NULL */
    bool counted;
    struct MHD_Response *early; /* a refusal waiting for the body to be discarded */
    unsigned early_status;
    int64_t started_us;
    /* A request handed to a worker: the connection is suspended meanwhile. */
    struct ac_workq_job job;
    struct ac_http_req req;
    int done; /* atomic: req holds the answer */
};

/*
 * A 200 answer to a GET gets an ETag (FNV-1a 64 of its body): a client that
 * sends it back in If-None-Match gets 304 without the body (the console
 * polls this way). Weak: the same JSON text, not the same bytes on the wire.
 */
static void http_etag(struct ac_http_req *r, unsigned *status, char **body, size_t *len)
{
    uint64_t h = 14695981039346656037ULL;
    const char *inm = ac_http_header(r, "If-None-Match");

    for (size_t i = 0; i < *len; i++) {
        h = (h ^ (unsigned char)(*body)[i]) * 1099511628211ULL;
    }
    (void)snprintf(r->etag, sizeof(r->etag), "W/\"%016llx\"", (unsigned long long)h);
    if (inm && (strstr(inm, r->etag + 2) || strcmp(inm, "*") == 0)) {
        free(*body);
        *body = ac_xstrdup("");
        *len = 0;
        *status = 304;
    }
}

void ac_http_reply_text(struct ac_http_req *r, unsigned status, char *body, size_t len,
                        const char *content_type)
{
    r->etag[0] = '\0';
    if (r->resp) {
        MHD_destroy_response(r->resp);
    }
    if (status == 200 && (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0)) {
        http_etag(r, &status, &body, &len);
    }
    r->resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    AC_ASSERT(r->resp != NULL);
    if (status != 304) {
        (void)MHD_add_response_header(r->resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    }
    if (r->etag[0]) {
        (void)MHD_add_response_header(r->resp, MHD_HTTP_HEADER_ETAG, r->etag);
    }
    r->status = status;
}

void ac_http_reply_json(struct ac_http_req *r, unsigned status, json_t *body)
{
    struct ac_buf b = {0};
    char *s;

    if (!body) { /* a json_pack that failed: a bug, answered, not crashed on */
        ac_log(AC_LOG_ERROR, "http", "%s %s: the handler built no answer", r->method, r->url);
        status = 500;
        body = json_pack("{s:{s:s, s:s, s:[]}}", "error", "code", "internal", "message",
                         "the server could not build its answer", "details");
    }
    s = json_dumps(body, JSON_COMPACT);

    ac_buf_appends(&b, s);
    ac_buf_append(&b, "\n", 1);
    free(s);
    json_decref(body);
    ac_http_reply_text(r, status, b.data, b.len, HTTP_JSON);
}

void ac_http_reply_error(struct ac_http_req *r, unsigned status, const char *code,
                         const char *message, json_t *details)
{
    json_t *e = json_pack("{s:s, s:s, s:o}", "code", code, "message", message, "details",
                          details ? details : json_array());

    ac_http_reply_json(r, status, json_pack("{s:o}", "error", e));
    if (status == 503) { /* every 503 is transient: say when to come back */
        ac_http_add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    }
}

void ac_http_add_header(struct ac_http_req *r, const char *name, const char *value)
{
    if (r->resp) {
        (void)MHD_add_response_header(r->resp, name, value);
    }
}

const char *ac_http_header(const struct ac_http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *ac_http_arg(const struct ac_http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

struct http_arg_all {
    const char *name;
    const char **out;
    size_t max, n;
};

static enum MHD_Result http_arg_all_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                         const char *value)
{
    struct http_arg_all *a = cls;

    (void)kind;
    if (strcmp(key, a->name) == 0) {
        if (a->n < a->max) {
            a->out[a->n] = value ? value : "";
        }
        a->n++;
    }
    return MHD_YES;
}

size_t ac_http_args(const struct ac_http_req *r, const char *name, const char **out, size_t max)
{
    struct http_arg_all a = {name, out, max, 0};

    (void)MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, http_arg_all_iter, &a);
    return a.n;
}

struct http_arg_scan {
    const char *const *allowed;
    const char *unknown;
};

static enum MHD_Result http_arg_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    struct http_arg_scan *s = cls;

    (void)kind;
    (void)value;
    for (const char *const *a = s->allowed; *a; a++) {
        if (strcmp(*a, key) == 0) {
            return MHD_YES;
        }
    }
    s->unknown = key;
    return MHD_NO;
}

const char *ac_http_unknown_arg(const struct ac_http_req *r, const char *const *allowed)
{
    struct http_arg_scan s = {allowed, NULL};

    (void)MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, http_arg_iter, &s);
    return s.unknown;
}

static bool http_content_type_ok(const char *ct)
{
    size_t n;

    if (!ct) {
        return true; /* treated as JSON */
    }
    n = strcspn(ct, ";");
    while (n > 0 && ct[n - 1] == ' ') {
        n--;
    }
    return (n == strlen(HTTP_JSON) && strncasecmp(ct, HTTP_JSON, n) == 0) ||
           (n == strlen("application/x-ndjson") && strncasecmp(ct, "application/x-ndjson", n) == 0);
}

/* Whether an early answer can go out before the body is read. */
static bool http_answer_now(const struct ac_http_req *r)
{
    const char *cl = ac_http_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *te = ac_http_header(r, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    const char *expect = ac_http_header(r, MHD_HTTP_HEADER_EXPECT);
    long long len = cl ? strtoll(cl, NULL, 10) : 0;

    if (expect && strcasecmp(expect, "100-continue") == 0) {
        return true;
    }
    if (te && strcasestr(te, "chunked")) {
        return true; /* of unknown length: not read at all */
    }
    return len <= 0 || len > HTTP_DISCARD_MAX;
}

static enum MHD_Result http_queue(struct ac_http *h, const struct http_state *st,
                                  struct ac_http_req *r)
{
    enum MHD_Result ret;
    struct http_stats *s =
        &h->stats[st->route ? (size_t)(st->route - ac_http_route_table) : ac_http_nroutes];

    if (!r->resp) {
        ac_http_reply_error(r, 500, "internal", "the handler produced no response", NULL);
    }
    if (r->status == 401) {
        (void)MHD_add_response_header(r->resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    }
    if (__atomic_load_n(&r->srv->stopping, __ATOMIC_ACQUIRE)) {
        (void)MHD_add_response_header(r->resp, MHD_HTTP_HEADER_CONNECTION, "close");
    }
    ret = MHD_queue_response(r->conn, r->status, r->resp);
    MHD_destroy_response(r->resp);
    r->resp = NULL;
    if (r->status >= 100 && r->status < 600) {
        __atomic_add_fetch(&s->by_status[r->status - 100], 1, __ATOMIC_RELAXED);
    }
    ac_hist_observe_us(&s->time, ac_time_now_us() - st->started_us);
    return ret;
}

/* The query parameters a request may carry (more is a 400, not a database
 * error or a closed connection later). */
#define HTTP_QUERY_MAX 64

struct http_query_check {
    unsigned n;
    const char *bad; /* the first parameter not in UTF-8 (its name, or "" for a bad name) */
};

static enum MHD_Result http_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    struct http_query_check *q = cls;

    (void)kind;
    q->n++;
    if (!q->bad && (!ac_utf8_valid(key) || (value && !ac_utf8_valid(value)))) {
        q->bad = ac_utf8_valid(key) ? key : "";
    }
    return MHD_YES;
}

/* The path and the query are UTF-8, and not too many parameters; else
 * answers 400 naming what is wrong and returns false. */
static bool http_query_ok(struct ac_http_req *r)
{
    struct http_query_check q = {0};
    char *msg;

    if (!ac_utf8_valid(r->url)) {
        ac_http_reply_error(r, 400, "invalid_request", "the path is not valid UTF-8", NULL);
        return false;
    }
    (void)MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, http_query_arg, &q);
    if (q.n > HTTP_QUERY_MAX) {
        msg = ac_xasprintf("too many query parameters (%u; at most %d)", q.n, HTTP_QUERY_MAX);
        ac_http_reply_error(r, 400, "invalid_query", msg, NULL);
        free(msg);
        return false;
    }
    if (q.bad) {
        msg = *q.bad ? ac_xasprintf("the query parameter %s is not valid UTF-8", q.bad)
                     : ac_xstrdup("a query parameter's name is not valid UTF-8");
        ac_http_reply_error(
            r, 400, "invalid_query", msg,
            json_pack("[{s:s, s:s}]", "path", q.bad, "message", "is not valid UTF-8"));
        free(msg);
        return false;
    }
    return true;
}

static enum MHD_Result http_header_size(void *cls, enum MHD_ValueKind kind, const char *key,
                                        const char *value)
{
    size_t *n = cls;

    (void)kind;
    *n += strlen(key) + (value ? strlen(value) : 0) + 4; /* ": " and CRLF */
    return MHD_YES;
}

/* The header block's size, about as sent. */
static size_t http_headers_size(const struct ac_http_req *r)
{
    size_t n = 0;

    (void)MHD_get_connection_values(r->conn, MHD_HEADER_KIND, http_header_size, &n);
    return n;
}

/* Checks that can answer before the body is read. Returns true if answered. */
static bool http_early(struct ac_http *h, struct ac_http_req *r, struct http_state *st,
                       bool path_known)
{
    const char *cl;
    enum ac_auth_verdict v;
    long retry;

    if (__atomic_load_n(&h->srv->stopping, __ATOMIC_ACQUIRE)) {
        ac_http_reply_error(r, 503, "unavailable", "the server is shutting down", NULL);
        return true;
    }
    if (strlen(r->url) > HTTP_URL_MAX) {
        ac_http_reply_error(r, 414, "uri_too_long", "the path and query are over 8 KiB", NULL);
        return true;
    }
    if (http_headers_size(r) > HTTP_HEADERS_MAX) {
        ac_http_reply_error(r, 431, "headers_too_large", "the header block is over 32 KiB", NULL);
        return true;
    }
    if (st->route && !__atomic_load_n(&h->srv->ready, __ATOMIC_ACQUIRE) &&
        st->route->fn != ac_api_healthz && st->route->fn != ac_api_readyz &&
        st->route->fn != ac_api_openapi) {
        char why[256], *msg;
        ac_server_starting(h->srv, why, sizeof(why));
        msg = ac_xasprintf("the server is starting: %s", why);
        ac_http_reply_error(r, 503, "starting", msg, NULL);
        free(msg);
        return true;
    }
    if (!st->route) {
        if (path_known) {
            ac_http_reply_error(r, 405, "method_not_allowed", "method not allowed here", NULL);
        }
        else {
            ac_http_reply_error(r, 404, "not_found", "no such endpoint", NULL);
        }
        return true;
    }
    if (st->route->scope) {
        v = ac_auth_check(h->srv->auth, ac_http_header(r, MHD_HTTP_HEADER_AUTHORIZATION),
                          st->route->scope, &r->principal, &r->tenant);
        if (v == AC_AUTH_MISSING || v == AC_AUTH_INVALID || v == AC_AUTH_EXPIRED) {
            ac_http_reply_error(r, 401, "unauthorized",
                                v == AC_AUTH_MISSING   ? "a bearer token is required"
                                : v == AC_AUTH_EXPIRED ? "the bearer token has expired"
                                                       : "the bearer token is not valid",
                                NULL);
            return true;
        }
        st->principal = r->principal;
        st->tenant = r->tenant;
        if (v == AC_AUTH_FORBIDDEN) {
            char names[64];
            char *msg = r->tenant
                            ? ac_xstrdup("this token is bound to a tenant: only its events and"
                                         " subscriptions")
                            : ac_xasprintf("this token lacks the scope %s",
                                           ac_scope_names(st->route->scope, names));
            ac_http_reply_error(r, 403, "forbidden", msg, NULL);
            free(msg);
            return true;
        }
        if ((retry = ac_auth_throttle(h->srv->auth, st->principal)) > 0) {
            char ra[24];
            (void)snprintf(ra, sizeof(ra), "%ld", retry);
            ac_http_reply_error(r, 429, "rate_limited",
                                "this token is over its request rate; retry after Retry-After "
                                "seconds",
                                NULL);
            ac_http_add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
            return true;
        }
    }
    if (!http_query_ok(r)) {
        return true;
    }
    cl = ac_http_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoll(cl, NULL, 10) > h->srv->cfg.max_body_bytes) {
        st->too_big = true;
    }
    if (st->too_big) {
        ac_http_reply_error(r, 413, "payload_too_large", "the request body is over the limit",
                            NULL);
        return true;
    }
    if (st->route->body && !http_content_type_ok(ac_http_header(r, MHD_HTTP_HEADER_CONTENT_TYPE))) {
        ac_http_reply_error(r, 415, "unsupported_media_type",
                            "use application/json or application/x-ndjson", NULL);
        return true;
    }
    return false;
}

/* Handlers that never block (no database, no lock held for long) run on
 * the event thread; the rest on a worker, the connection suspended. */
static bool http_runs_inline(const struct ac_http_route *rt)
{
    return rt->fn == ac_api_healthz || rt->fn == ac_api_openapi;
}

/* Whether the handler this worker runs has begun a stream (which resumed
 * the connection itself). */
static __thread bool http_streamed;

/* A worker runs the handler, then resumes the connection; the event thread
 * then queues the answer (http_access, st->done). Nothing of st is touched
 * after the resume: the connection may complete and free it at once. */
static void http_work(struct ac_workq_job *job, bool run)
{
    struct http_state *st = (struct http_state *)((char *)job - offsetof(struct http_state, job));
    struct MHD_Connection *c = st->req.conn;

    http_streamed = false;
    if (run) {
        st->route->fn(&st->req);
    }
    else {
        ac_http_reply_error(&st->req, 503, "unavailable", "the server is shutting down", NULL);
    }
    if (!http_streamed) {
        __atomic_store_n(&st->done, 1, __ATOMIC_RELEASE);
        MHD_resume_connection(c);
    }
}

/* --- streamed answers (http_stream.c) ------------------------------------- */

void ac_http_detach(struct ac_http_req *r)
{
    struct http_state *st = (struct http_state *)((char *)r - offsetof(struct http_state, req));

    r->streaming = true;
    http_streamed = true;
    __atomic_store_n(&st->done, 1, __ATOMIC_RELEASE);
    MHD_resume_connection(r->conn);
}

static struct ac_http_conn *http_conn_entry(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return ci ? ci->socket_context : NULL;
}

/* Connections open and close: their header deadlines (http_conns.h). */
static void http_notify_conn(void *cls, struct MHD_Connection *c, void **socket_context,
                             enum MHD_ConnectionNotificationCode toe)
{
    struct ac_http *h = cls;
    const union MHD_ConnectionInfo *ci;

    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = ci ? ac_http_conn_opened(h->conns, ci->connect_fd) : NULL;
    }
    else if (*socket_context) {
        ac_http_conn_closed(h->conns, *socket_context);
        *socket_context = NULL;
    }
}

static enum MHD_Result http_access(void *cls, struct MHD_Connection *c, const char *url,
                                   const char *method, const char *version, const char *upload,
                                   size_t *upload_size, void **con_cls)
{
    struct ac_http *h = cls;
    struct http_state *st = *con_cls;
    struct ac_http_req r = {.srv = h->srv, .conn = c, .method = method, .url = url};
    struct ac_http_conn *conn;
    bool path_known;

    (void)version;
    if (!st) {
        st = ac_xcalloc(1, sizeof(*st));
        *con_cls = st;
        st->counted = true;
        st->started_us = ac_time_now_us();
        if ((conn = http_conn_entry(c))) {
            ac_http_conn_request(h->conns, conn);
        }
        __atomic_add_fetch(&h->inflight, 1, __ATOMIC_SEQ_CST);
        st->body_cap = (size_t)h->srv->cfg.max_body_bytes;
        st->route = ac_http_route_match(method, url, &st->arg, &path_known);
        if (http_early(h, &r, st, path_known)) {
            if (http_answer_now(&r)) {
                return http_queue(h, st, &r);
            }
            st->early = r.resp;
            st->early_status = r.status;
            st->too_big = true; /* discard the (small) body, then answer */
            st->body_cap = 0;
        }
        return MHD_YES;
    }
    if (*upload_size) {
        if (!st->too_big && st->body.len + *upload_size > (size_t)h->srv->cfg.max_body_bytes) {
            st->too_big = true;
            st->dropped = st->body.len;
            ac_buf_deinit(&st->body);
        }
        if (!st->too_big) {
            ac_buf_append(&st->body, upload, *upload_size);
        }
        else if ((st->dropped += *upload_size) > (size_t)HTTP_DISCARD_MAX + st->body_cap) {
            ac_log(AC_LOG_WARN, "http", "%s %s: a chunked body past the limit; connection closed",
                   method, url);
            return MHD_NO;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (st->early) {
        r.resp = st->early;
        r.status = st->early_status;
        st->early = NULL;
        return http_queue(h, st, &r);
    }
    if (st->too_big) {
        ac_http_reply_error(&r, 413, "payload_too_large", "the request body is over the limit",
                            NULL);
        return http_queue(h, st, &r);
    }
    if (__atomic_load_n(&st->done, __ATOMIC_ACQUIRE)) { /* resumed: the worker answered */
        return http_queue(h, st, &st->req);
    }
    if (!st->body.data) {
        ac_buf_append(&st->body, "", 0);
    }
    r.body = st->body.data;
    r.body_len = st->body.len;
    r.path_arg = st->arg;
    r.principal = st->principal;
    r.tenant = st->tenant;
    if (http_runs_inline(st->route)) {
        st->route->fn(&r);
        return http_queue(h, st, &r);
    }
    /* Suspend first: a worker may answer and resume before push returns. */
    st->req = r;
    st->job.fn = http_work;
    MHD_suspend_connection(c);
    if (!ac_workq_push(h->workers, &st->job)) {
        __atomic_add_fetch(&h->busy, 1, __ATOMIC_RELAXED);
        ac_http_reply_error(&st->req, 503, "unavailable",
                            "the server is busy: too many requests are waiting", NULL);
        __atomic_store_n(&st->done, 1, __ATOMIC_RELEASE);
        MHD_resume_connection(c);
    }
    return MHD_YES;
}

static void http_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
    struct ac_http *h = cls;
    struct http_state *st = *con_cls;

    struct ac_http_conn *conn = http_conn_entry(c);

    (void)toe;
    if (conn) {
        ac_http_conn_answered(h->conns, conn);
    }
    if (!st) {
        return;
    }
    if (st->counted) {
        __atomic_sub_fetch(&h->inflight, 1, __ATOMIC_SEQ_CST);
    }
    if (st->early) {
        MHD_destroy_response(st->early);
    }
    ac_buf_deinit(&st->body);
    free(st->arg);
    free(st);
    *con_cls = NULL;
}

__attribute__((format(printf, 2, 0))) static void http_mhd_log(void *cls, const char *fm,
                                                               va_list ap)
{
    char msg[512];
    size_t n;

    (void)cls;
    (void)vsnprintf(msg, sizeof(msg), fm, ap);
    n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n') {
        msg[--n] = '\0';
    }
    ac_log(AC_LOG_WARN, "http", "%s", msg);
}

/* Splits "host:port" / "[v6]:port" and resolves it numerically. */
static bool http_parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[256];
    const char *colon, *port;
    struct addrinfo hints = {0}, *ai = NULL;
    size_t hl;

    if (listen[0] == '[') {
        const char *rb = strchr(listen, ']');
        if (!rb || rb[1] != ':') {
            return false;
        }
        hl = (size_t)(rb - listen - 1);
        if (hl >= sizeof(host)) {
            return false;
        }
        memcpy(host, listen + 1, hl);
        port = rb + 2;
    }
    else {
        colon = strrchr(listen, ':');
        if (!colon || (size_t)(colon - listen) >= sizeof(host)) {
            return false;
        }
        hl = (size_t)(colon - listen);
        memcpy(host, listen, hl);
        port = colon + 1;
    }
    host[hl] = '\0';
    if (strspn(port, "0123456789") != strlen(port) || strlen(port) == 0 || strlen(port) > 5 ||
        atoi(port) < 1 || atoi(port) > 65535) {
        return false; /* getaddrinfo would take 99999 (mod 65536) */
    }
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if (getaddrinfo(hl ? host : NULL, port, &hints, &ai) != 0 || !ai) {
        return false;
    }
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *len = ai->ai_addrlen;
    freeaddrinfo(ai);
    return true;
}

bool ac_http_listen_ok(const char *listen)
{
    struct sockaddr_storage ss;
    socklen_t len;

    return listen && http_parse_listen(listen, &ss, &len);
}

static void http_collect(void *ctx, struct ac_metrics_out *o)
{
    const struct ac_http *h = ctx;

    ac_metrics_family(o, "ac_http_connections", "gauge", "HTTP connections open now.");
    ac_metrics_sample(o, "ac_http_connections", (double)ac_http_conns_open(h->conns), NULL);
    ac_metrics_family(o, "ac_http_header_timeouts_total", "counter",
                      "Connections closed for not sending a whole header block in time.");
    ac_metrics_sample(o, "ac_http_header_timeouts_total", (double)ac_http_conns_timed_out(h->conns),
                      NULL);
    ac_metrics_family(o, "ac_http_worker_queue", "gauge",
                      "Requests waiting for a worker thread now.");
    ac_metrics_sample(o, "ac_http_worker_queue", (double)ac_workq_queued(h->workers), NULL);
    ac_metrics_family(o, "ac_http_workers_busy", "gauge", "Worker threads running a request now.");
    ac_metrics_sample(o, "ac_http_workers_busy", (double)ac_workq_busy(h->workers), NULL);
    ac_metrics_family(o, "ac_http_queue_full_total", "counter",
                      "Requests answered 503 because the worker queue was full.");
    ac_metrics_sample(o, "ac_http_queue_full_total",
                      (double)__atomic_load_n(&h->busy, __ATOMIC_RELAXED), NULL);
    ac_metrics_family(o, "ac_http_requests_total", "counter",
                      "Requests this instance answered, by route (its pattern; \"unmatched\" for"
                      " none), method and status code.");
    for (size_t i = 0; i <= ac_http_nroutes; i++) {
        for (unsigned c = 0; c < 500; c++) {
            unsigned long long v = __atomic_load_n(&h->stats[i].by_status[c], __ATOMIC_RELAXED);
            char code[8];
            if (!v) {
                continue;
            }
            (void)snprintf(code, sizeof(code), "%u", c + 100);
            ac_metrics_sample(o, "ac_http_requests_total", (double)v, "route",
                              i < ac_http_nroutes ? ac_http_route_table[i].path : "unmatched",
                              "method", i < ac_http_nroutes ? ac_http_route_table[i].method : "",
                              "code", code, NULL);
        }
    }
    ac_metrics_family(o, "ac_http_request_duration_seconds", "histogram",
                      "From a request's headers to its answer, by route (routes that were used).");
    for (size_t i = 0; i <= ac_http_nroutes; i++) {
        if (__atomic_load_n(&h->stats[i].time.count, __ATOMIC_RELAXED) == 0) {
            continue;
        }
        ac_metrics_hist(o, "ac_http_request_duration_seconds", &h->stats[i].time, "route",
                        i < ac_http_nroutes ? ac_http_route_table[i].path : "unmatched", "method",
                        i < ac_http_nroutes ? ac_http_route_table[i].method : "", NULL);
    }
}

/* Enough descriptors for max_connections and the rest of the server (the
 * soft limit is often 1,024); up to the hard limit. */
static void http_raise_nofile(long max_connections)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)max_connections + 1024;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want) {
        return;
    }
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want) {
        ac_log(AC_LOG_WARN, "http",
               "open files limited to %llu: fewer than limits.max_connections=%ld connections "
               "may be served",
               (unsigned long long)rl.rlim_cur, max_connections);
    }
}

static int http_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

struct ac_http *ac_http_start(struct ac_server *srv)
{
    struct ac_http *h = ac_xcalloc(1, sizeof(*h));
    struct sockaddr_storage ss;
    socklen_t sslen;
    unsigned flags =
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    unsigned io = (unsigned)(srv->cfg.http_io_threads ? srv->cfg.http_io_threads : http_cores());

    h->srv = srv;
    if (!http_parse_listen(srv->cfg.listen, &ss, &sslen)) {
        ac_log(AC_LOG_ERROR, "http", "invalid listen address %s (want host:port)", srv->cfg.listen);
        free(h);
        return NULL;
    }
    h->stats = ac_xcalloc(ac_http_nroutes + 1, sizeof(*h->stats));
    if (ss.ss_family == AF_INET6) {
        flags |= MHD_USE_IPv6;
    }
    http_raise_nofile(srv->cfg.max_connections);
    h->conns =
        ac_http_conns_start(srv->cfg.header_timeout_ms, srv->cfg.connection_timeout_s * 1000);
    h->workers = ac_workq_start("http-work", (int)srv->cfg.http_workers, srv->cfg.http_queue);
    if (!h->conns || !h->workers) {
        goto fail;
    }
    if (srv->cfg.tls_cert_file || srv->cfg.tls_key_file) {
        if (!srv->cfg.tls_cert_file || !srv->cfg.tls_key_file) {
            ac_log(AC_LOG_ERROR, "http", "tls needs both cert_file and key_file");
            goto fail;
        }
        if (!(h->tls = ac_tls_create(srv->cfg.tls_cert_file, srv->cfg.tls_key_file))) {
            goto fail;
        }
        flags |= MHD_USE_TLS;
    }
    {
        struct MHD_OptionItem opts[] = {
            {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)http_mhd_log, h},
            {MHD_OPTION_SOCK_ADDR, 0, &ss},
            {MHD_OPTION_THREAD_POOL_SIZE, io, NULL},
            {MHD_OPTION_CONNECTION_LIMIT, srv->cfg.max_connections, NULL},
            {MHD_OPTION_PER_IP_CONNECTION_LIMIT, srv->cfg.max_connections_per_client, NULL},
            {MHD_OPTION_CONNECTION_TIMEOUT, srv->cfg.connection_timeout_s, NULL},
            {MHD_OPTION_CONNECTION_MEMORY_LIMIT, HTTP_CONN_MEMORY, NULL},
            {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)http_notify_conn, h},
            {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)http_completed, h},
            /* TLS only: the last two, cut off by END otherwise */
            {h->tls ? MHD_OPTION_HTTPS_CERT_CALLBACK : MHD_OPTION_END, 0, (void *)ac_tls_retrieve},
            {MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)HTTP_TLS_PRIORITIES},
            {MHD_OPTION_END, 0, NULL},
        };
        h->d = MHD_start_daemon(flags, 0, NULL, NULL, http_access, h, MHD_OPTION_ARRAY, opts,
                                MHD_OPTION_END);
    }
    if (!h->d) {
        ac_log(AC_LOG_ERROR, "http", "cannot listen on %s (in use?)", srv->cfg.listen);
        goto fail;
    }
    if (h->tls) {
        char *subject = ac_tls_subject(h->tls);
        ac_log(AC_LOG_INFO, "http", "TLS certificate subject=\"%s\"", subject);
        free(subject);
    }
    ac_log(AC_LOG_INFO, "http", "listening addr=%s scheme=%s io_threads=%u workers=%ld",
           srv->cfg.listen, h->tls ? "https" : "http", io, srv->cfg.http_workers);
    if (srv->metrics) {
        ac_metrics_register(srv->metrics, http_collect, h);
    }
    return h;
fail:
    ac_workq_stop(h->workers);
    ac_http_conns_stop(h->conns);
    ac_tls_destroy(h->tls);
    free(h->stats);
    free(h);
    return NULL;
}

void ac_http_stop(struct ac_http *h, long grace_s)
{
    struct timespec tick = {0, 20 * 1000 * 1000};
    long waited_ms = 0;
    int left;

    if (!h) {
        return;
    }
    /* Stop accepting; requests already received finish (the writer still runs). */
    (void)MHD_quiesce_daemon(h->d);
    while ((left = __atomic_load_n(&h->inflight, __ATOMIC_SEQ_CST)) > 0 &&
           waited_ms < grace_s * 1000) {
        nanosleep(&tick, NULL);
        waited_ms += 20;
    }
    if (left > 0) {
        ac_log(AC_LOG_WARN, "http", "grace period over with %d requests in flight", left);
    }
    /* Running requests end; queued ones are answered 503; every suspended
     * connection is resumed before the daemon stops. */
    ac_workq_stop(h->workers);
    MHD_stop_daemon(h->d);
    ac_http_conns_stop(h->conns);
    ac_tls_destroy(h->tls);
    free(h->stats);
    free(h);
}

bool ac_http_reload_tls(struct ac_http *h)
{
    char *subject;

    if (!h || !h->tls) {
        return true;
    }
    if (!ac_tls_reload(h->tls)) {
        return false;
    }
    subject = ac_tls_subject(h->tls);
    ac_log(AC_LOG_INFO, "http", "TLS certificate reloaded subject=\"%s\"", subject);
    free(subject);
    return true;
}

extern const char ac_openapi_json[];
extern const unsigned long ac_openapi_json_len;

void ac_api_openapi(struct ac_http_req *r)
{
    ac_http_reply_text(r, 200, ac_xstrndup(ac_openapi_json, ac_openapi_json_len),
                       ac_openapi_json_len, HTTP_JSON);
}
