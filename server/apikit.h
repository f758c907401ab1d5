/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The API toolkit: what every route handler needs, done one way.
 *   - the database: a pooled connection, or 503 with Retry-After;
 *   - the actor a change is audited under;
 *   - lists: table-driven filters, cursor paging, one set of error messages;
 *   - resources: one CRUD pattern (list, get, create, update, delete, each
 *     write audited in its own statement), which rules, silences, the
 *     registry and the on-call resources declare rather than write.
 */
#ifndef AC_SERVER_APIKIT_H
#define AC_SERVER_APIKIT_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "server/core/mem.h"
#include "server/http.h"

/* --- the database ---------------------------------------------------------- */

/* A pool connection for r (borrowed until ac_api_db_release), or NULL after
 * answering 503 with Retry-After. */
PGconn *ac_api_db(struct ac_http_req *r);
/* Gives it back (NULL is fine). */
void ac_api_db_release(struct ac_http_req *r, PGconn *c);
/* Answers 503 (Retry-After: 1) after a failed statement, logging c's error
 * (c may be NULL) with what failed. */
void ac_api_unavailable(struct ac_http_req *r, PGconn *c, const char *what);

/* The actor of a change made by r: "token:<name>" (new). */
char *ac_api_actor(const struct ac_http_req *r);
/*
 * The optional body of an ack or resolve, {"by": "...", "comment": "..."}
 * (server/api_alerts.c). On success sets *actor ("user:<by>", else the
 * token's) and *details (both new); on failure answers 400 and returns false.
 */
bool ac_api_transition_body(struct ac_http_req *r, char **actor, json_t **details);
/*
 * An ack or resolve of the what ("alert", "incident") named by r's path:
 * the body as above, then sql ($1 id, $2 action, $3 actor, $4 details; its
 * first column "ok", "not_found" or the status that makes it moot); "ok"
 * answers reply(r, c, id), the others 404 / 409.
 */
void ac_api_transition(struct ac_http_req *r, const char *what, const char *sql, const char *action,
                       void (*reply)(struct ac_http_req *r, PGconn *c, const char *id));

/* Answers status with the JSON text in row 0, column 0 of res. */
void ac_api_reply_row(struct ac_http_req *r, const PGresult *res, unsigned status);
/* Answers 404 not_found "no such <what>". */
void ac_api_not_found(struct ac_http_req *r, const char *what);
/* Answers 400 invalid_query naming the parameter and what is wrong with it. */
void ac_api_bad_query(struct ac_http_req *r, const char *param, const char *msg);

/* A positive decimal id of at most 18 digits (ids are strings in the API). */
bool ac_api_is_id(const char *s);

/* --- lists ---------------------------------------------------------------- */

#define AC_API_CURSOR_MAX  512
#define AC_API_MAX_LIMIT   1000
#define AC_API_FILTERS_MAX 24

/* Opaque page cursors: base64url of "v1:" and the last key of the page. */
char *ac_api_cursor_encode(const char *key); /* returns new */
/* Returns false for anything this server did not issue. */
bool ac_api_cursor_decode(const char *cursor, char *key_out, size_t key_len);

/* The "limit" parameter, dflt when absent, 1..AC_API_MAX_LIMIT; false after
 * answering 400. */
bool ac_api_limit(struct ac_http_req *r, long dflt, long *out);

/* What a filter's value must be. */
enum ac_api_arg {
    AC_ARG_TEXT,   /* at most 1024 bytes */
    AC_ARG_ID,     /* an id */
    AC_ARG_LEVEL,  /* P1..P4 */
    AC_ARG_TIME,   /* RFC 3339, passed on normalized */
    AC_ARG_CHOICE, /* one of choices */
};

struct ac_api_filter {
    const char *arg;
    enum ac_api_arg kind;
    const char *const *choices; /* AC_ARG_CHOICE: NULL-terminated */
    const char *dflt;           /* the value when absent (NULL: SQL NULL) */
};

/* How a list is keyed (its cursor's key). */
enum ac_api_key {
    AC_KEY_ID,   /* an id */
    AC_KEY_TEXT, /* any text (a registry key, an instance name) */
    AC_KEY_PAIR, /* "<integer>,<id>": a position or a sort key, then an id */
};

struct ac_api_list {
    const char *what; /* for the log: "events" */
    /* $1..$n, in order; {NULL} ends */
    const struct ac_api_filter *filters;
    /* then $n+1 the cursor's key (NULL on the first page) and $n+2 the
     * limit + 1; rows (JSON text, key) in page order */
    const char *sql;
    enum ac_api_key key;
};

/* Answers GET of l: 400 for an unknown parameter, a bad filter value, limit
 * or cursor; 503 when the database is unavailable; else
 * {"items": [...], "next_cursor": "..." | null}. */
void ac_api_list(struct ac_http_req *r, const struct ac_api_list *l);
/* The same with $idx+1 bound to value whatever the query says: a filter's
 * place (idx < the filters), or one more parameter after them (idx = their
 * count; the cursor and limit then follow it). */
void ac_api_list_bound(struct ac_http_req *r, const struct ac_api_list *l, int idx,
                       const char *value);

/*
 * GET of l as an export (GET /v1/export/<name>): every row the filters
 * select, newest first, as NDJSON (format=ndjson, the default: the list's
 * items, one a line) or CSV (format=csv: a header, then the items' fields
 * named in csv; objects and arrays as JSON text). Read through a server-side
 * cursor on a connection of its own, in one snapshot, and streamed (chunked):
 * memory stays bounded whatever the row count. 400 for a bad parameter,
 * 429 while AC_API_EXPORTS_MAX exports run, 503 when the database is
 * unavailable before the first byte (after it, the body is cut short).
 */
#define AC_API_EXPORTS_MAX 4
void ac_api_export(struct ac_http_req *r, const struct ac_api_list *l, const char *name,
                   const char *const *csv);

/* --- resources ------------------------------------------------------------ */

#define AC_API_PARAMS_MAX 16

/* The parameters a resource's write takes from its body. */
struct ac_api_write {
    const char *p[AC_API_PARAMS_MAX];
    int n;
    struct ac_arena ar; /* owns what the parser made */
    void *ctx;          /* the parser's, for check (freed by ctx_free) */
    void (*ctx_free)(void *ctx);
};

struct ac_api_resource {
    const char *name;     /* "rule": messages and audit actions */
    const char *invalid;  /* the 400 code of a bad body: "invalid_rule" */
    const char *conflict; /* the 409 message of a unique violation */
    bool key_is_id;       /* the path's key is an id (else any text) */
    struct ac_api_list list;
    const char *sql_get; /* $1 key; one row, JSON text */
    /* Validates the body of a create or update into w (w->p[0..n)); false
     * after answering 400. NULL: the resource cannot be written that way. */
    bool (*parse)(struct ac_http_req *r, const struct ac_api_resource *res, const json_t *body,
                  struct ac_api_write *w);
    /* Writes, each answering the resource as JSON text and auditing itself:
     * create: parse's params then $n+1 actor; update: the same then $n+2
     * key; delete: $1 key, $2 actor. NULL: not offered (405). */
    const char *sql_create, *sql_update, *sql_delete;
    /* Run first, in the write's transaction (a lock), or NULL. */
    const char *lock;
    /* In the transaction, before the write (w NULL for a delete): false
     * after answering (a missing reference 400, a user 409). NULL: none. */
    bool (*check)(struct ac_http_req *r, const struct ac_api_resource *res, PGconn *c,
                  const struct ac_api_write *w);
    /* The 409 message for a unique violation of constraint cons, or NULL
     * for the resource's conflict message. */
    const char *(*conflict_of)(const char *cons);
    /* Own handlers for POST / PUT (the registry's bulk upsert), or NULL. */
    void (*post)(struct ac_http_req *r, const struct ac_api_resource *res);
    void (*put)(struct ac_http_req *r, const struct ac_api_resource *res);
    /* After a change: the copies in this instance reload (may be NULL). */
    void (*changed)(struct ac_http_req *r);
};

/* Answers r for res by method and path: GET list or one, POST create, PUT
 * update, DELETE delete. */
void ac_api_resource(struct ac_http_req *r, const struct ac_api_resource *res);

/* Parses r's body as one JSON object; NULL after answering 400 (code). */
json_t *ac_api_body_object(struct ac_http_req *r, const char *code, const char *message);

#endif
