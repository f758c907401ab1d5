/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP server (libmicrohttpd, one thread per connection so request work
 * such as JSON parsing spreads over every core while threads wait for the
 * group commit). Routing, bearer-token scopes, bounded bodies, and the one
 * JSON error shape of DESIGN §3 live here; handlers live in api_*.c.
 */
#ifndef AC_SERVER_HTTP_H
#define AC_SERVER_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "server/core/err.h"

struct ac_server;
struct MHD_Connection;
struct MHD_Response;

/* What a handler sees of one request. */
struct ac_http_req {
    struct ac_server *srv;
    struct MHD_Connection *conn;
    const char *method;
    const char *url;
    const char *body; /* NUL-terminated copy of the body (may be empty) */
    size_t body_len;
    const char *principal; /* authenticated token name, or NULL */
    const char *tenant;    /* the tenant the token is bound to, or NULL (all) */
    const char *path_arg;  /* the {id} of routes that have one */
    struct MHD_Response *resp;
    unsigned status;
    bool streaming; /* the handler answered with a stream (ac_http_stream_begin) */
    char etag[24];  /* of a 200 answer to a GET, or "" */
};

typedef void (*ac_http_handler)(struct ac_http_req *r);

struct ac_http;

/* Whether listen is host:port ([v6]:port) with a numeric host or none and a
 * port 1..65535. */
bool ac_http_listen_ok(const char *listen);
/* Binds and starts serving (no SO_REUSEPORT: a port in use is an error).
 * Returns new server or NULL (logged). */
struct ac_http *ac_http_start(struct ac_server *srv);
/* Stops accepting, waits up to grace_s for in-flight requests, stops. */
void ac_http_stop(struct ac_http *h, long grace_s);

/* Responses. Each sets r->resp/r->status; the last call wins. */
void ac_http_reply_json(struct ac_http_req *r, unsigned status, json_t *body /* stolen */);
void ac_http_reply_text(struct ac_http_req *r, unsigned status, char *body /* stolen */, size_t len,
                        const char *content_type);
/* {"error": {"code", "message", "details": [...]}}; details stolen, may be NULL.
 * A 503 also carries Retry-After: 1. */
void ac_http_reply_error(struct ac_http_req *r, unsigned status, const char *code,
                         const char *message, json_t *details);

/*
 * A streamed answer, for a handler run by a worker (not inline): begin
 * answers status with a body of unknown length (chunked) and lets the
 * connection go out at once; the handler then writes the body piece by
 * piece and ends it. At most AC_HTTP_STREAM_BUFFER bytes wait for the
 * client: a write blocks until it has read enough, so memory stays bounded
 * however long the body. After begin, r must not be touched again.
 */
#define AC_HTTP_STREAM_BUFFER (256 * 1024)
struct ac_http_stream;
struct ac_http_stream *ac_http_stream_begin(struct ac_http_req *r, unsigned status,
                                            const char *content_type, const char *disposition);
/* False once the client has gone (stop producing; still call end). */
bool ac_http_stream_write(struct ac_http_stream *s, const char *data, size_t len);
/* Ends the body; ok false cuts the chunked body short (the client sees an
 * incomplete answer, not a complete one). Frees s. */
void ac_http_stream_end(struct ac_http_stream *s, bool ok);
/* For http_stream.c: the connection of r (a worker's request) goes out now
 * with the response r holds, while the worker goes on; r must not be
 * touched after. */
void ac_http_detach(struct ac_http_req *r);

/* Adds a header to the response already set (copies both strings). */
void ac_http_add_header(struct ac_http_req *r, const char *name, const char *value);

/* A request header or query argument (borrowed), or NULL. */
const char *ac_http_header(const struct ac_http_req *r, const char *name);
const char *ac_http_arg(const struct ac_http_req *r, const char *name);
/* Every value of the query argument name, repeated (?filter=a&filter=b):
 * up to max into out (borrowed); returns how many there are. */
size_t ac_http_args(const struct ac_http_req *r, const char *name, const char **out, size_t max);
/* Name of the first query argument not in allowed (NULL-terminated), or NULL. */
const char *ac_http_unknown_arg(const struct ac_http_req *r, const char *const *allowed);

/* SIGHUP: reads the TLS certificate and key again (nothing without TLS).
 * False (logged, the old ones kept) if they do not load. */
bool ac_http_reload_tls(struct ac_http *h);

/* Every registered route: [{method, path ("*" for a segment), scope
 * ("public" or one scope), body}] (new). */
json_t *ac_http_routes(void);

#endif
