/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PostgreSQL helpers over libpq: connecting, classifying errors, and a small
 * pool of connections for API reads. A PGconn is used by one thread at a
 * time: the pool hands a connection out exclusively and takes it back.
 */
#ifndef AC_SERVER_CORE_PG_H
#define AC_SERVER_CORE_PG_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "server/core/err.h"

/* Connects with synchronous_commit on and UTC time zone. Returns new
 * connection or NULL (logged). */
PGconn *ac_pg_connect(const char *dsn);
/* Every connection opened after this acts as role (PostgreSQL's SET ROLE,
 * given at start-up); "" or NULL: the login role. Call before connecting
 * threads start. */
void ac_pg_set_role(const char *role);

/* The same with extra server options ("-c name=value ..."), may be NULL. */
PGconn *ac_pg_connect_opts(const char *dsn, const char *options);

/* Runs static SQL (no user data, may hold several statements).
 * Returns AC_OK or AC_EDB (logged with PQerrorMessage). */
AC_MUST_CHECK int ac_pg_exec(PGconn *conn, const char *sql);

/*
 * The one way to run a statement: sql with n text parameters p (borrowed;
 * NULL elements are SQL NULL). Returns its result (new, PQclear) when it
 * succeeded, with rows or without, else NULL after logging libpq's text
 * under component (a warning; component NULL: not logged, for callers that
 * expect some failures and read the SQLSTATE with ac_pg_query_failed).
 */
PGresult *ac_pg_query(PGconn *c, const char *component, const char *sql, int n,
                      const char *const *p);
/* The same with binary parameters (lens, fmts as PQexecParams takes them). */
PGresult *ac_pg_query_bin(PGconn *c, const char *component, const char *sql, int n,
                          const char *const *p, const int *lens, const int *fmts);
/* A statement whose rows are not needed; true if it succeeded. */
bool ac_pg_run(PGconn *c, const char *component, const char *sql, int n, const char *const *p);
/*
 * Like ac_pg_query, but a failure leaves its result (new) in *failed for the
 * caller to read (SQLSTATE, message) and is not logged; *failed is NULL on
 * success. Returns the successful result or NULL.
 */
PGresult *ac_pg_query_or(PGconn *c, const char *sql, int n, const char *const *p,
                         PGresult **failed);

/* Transactions: BEGIN (true if it began), COMMIT (true if it committed;
 * else rolled back), ROLLBACK of whatever transaction is open (none: a
 * no-op). Failures are logged under component. */
bool ac_pg_begin(PGconn *c, const char *component);
bool ac_pg_commit(PGconn *c, const char *component);
void ac_pg_rollback(PGconn *c);

/* True if a failed result means the connection is gone (retry elsewhere),
 * false for an error in the statement itself. res may be NULL. */
bool ac_pg_is_conn_error(PGconn *conn, const PGresult *res);

/* SQLSTATE of a failed result, or "" . */
const char *ac_pg_sqlstate(const PGresult *res);

struct ac_buf;

/*
 * PostgreSQL array literals for multi-row statements over unnest(): append
 * elements to an empty buffer (NULL s is SQL NULL), then close it. An empty
 * buffer closes as "{}".
 */
void ac_pg_array_add(struct ac_buf *b, const char *s);
void ac_pg_array_add_i64(struct ac_buf *b, int64_t v, bool zero_is_null);
void ac_pg_array_close(struct ac_buf *b);

/*
 * The same arrays in PostgreSQL's binary format (array_recv), for a
 * parameter sent with format 1: nothing is quoted here and PostgreSQL parses
 * no array text (for a ~1 KB json element that halves its cost, and a
 * timestamp is 8 bytes, not text to parse). Begin an empty buffer with the
 * element type (AC_PG_OID_*: the type the statement casts the parameter's
 * elements to), then add elements of that type; the buffer is complete
 * after every add. NULL s, or zero when zero_is_null, is SQL NULL. Text
 * elements must be valid UTF-8 (PostgreSQL verifies them), json and jsonb
 * valid JSON (it parses them, as from text).
 */
#define AC_PG_OID_INT2        21u
#define AC_PG_OID_INT8        20u
#define AC_PG_OID_TEXT        25u
#define AC_PG_OID_JSON        114u
#define AC_PG_OID_TIMESTAMPTZ 1184u
#define AC_PG_OID_JSONB       3802u
void ac_pg_barray_begin(struct ac_buf *b, uint32_t elem_oid);
void ac_pg_barray_add(struct ac_buf *b, const char *s);
void ac_pg_barray_add_len(struct ac_buf *b, const char *s, size_t n);
/* A jsonb element from JSON text. */
void ac_pg_barray_add_jsonb(struct ac_buf *b, const char *s);
void ac_pg_barray_add_i64(struct ac_buf *b, int64_t v, bool zero_is_null);
void ac_pg_barray_add_i16(struct ac_buf *b, int v, bool zero_is_null);
/* us: microseconds since the Unix epoch */
void ac_pg_barray_add_time(struct ac_buf *b, int64_t us, bool zero_is_null);
/* The number of elements added so far. */
size_t ac_pg_barray_count(const struct ac_buf *b);

/*
 * A duty one instance of the cluster performs (the sweeper, the escalation
 * timer): its thread's own connection, holding the session advisory lock
 * (16707, key) while it is the one. Losing the connection loses the lock.
 */
/* Every advisory lock (16707, key) the server takes, in one place so that
 * no key serves two purposes. */
enum ac_pg_lock_key {
    AC_LOCK_MIGRATE = 1,     /* migrations, at start */
    AC_LOCK_SWEEPER = 2,     /* leader: auto-resolve */
    AC_LOCK_ESCALATOR = 3,   /* leader: the escalation timer */
    AC_LOCK_ONCALL = 4,      /* per transaction: on-call writes */
    AC_LOCK_HEARTBEATS = 5,  /* leader: the lost-heartbeat sweeper */
    AC_LOCK_AUDIT_CHAIN = 6, /* per transaction, at COMMIT: audit chain links (0027) */
    AC_LOCK_RETENTION = 7,   /* leader: partitions ahead, expiry (retention.h) */
    /* leader: a Kubernetes watch scope, AC_LOCK_K8S_BASE + hash(scope) % 10^6 */
    AC_LOCK_K8S_BASE = 1000,
};

struct ac_pg_leader {
    PGconn *conn;
    bool leader;
    int key;
    const char *duty; /* for the log: "sweeps (auto-resolve)" */
};

/* Connects if needed and tries to take the lock. Returns true while this
 * instance holds it (l->conn is then usable). */
bool ac_pg_lead(struct ac_pg_leader *l, const char *dsn);
/* Closes the connection (and so gives the lock up). */
void ac_pg_leader_drop(struct ac_pg_leader *l);

struct ac_pg_pool;

/* Returns new pool of at most size connections, opened lazily. */
struct ac_pg_pool *ac_pg_pool_create(const char *dsn, int size);
void ac_pg_pool_destroy(struct ac_pg_pool *pool);

/*
 * Take a healthy connection, waiting up to timeout_ms for a free one and
 * reconnecting a broken one. Returns borrowed-until-release connection, or
 * NULL when the database cannot be reached (logged).
 */
PGconn *ac_pg_pool_acquire(struct ac_pg_pool *pool, int timeout_ms);
/* Give a connection back; broken ones are closed and reopened later. */
void ac_pg_pool_release(struct ac_pg_pool *pool, PGconn *conn);

#endif
