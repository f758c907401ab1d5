/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libpq pipeline mode, for a thread that sends many statements per network
 * round trip (the writer): sending prepared statements, reading each one's
 * result in order, and ending a pipeline that failed.
 *
 * A reader records the first failure of a round trip: the connection broke
 * (lost), or a statement failed (its SQLSTATE and message kept); the results
 * after a failed statement are PGRES_PIPELINE_ABORTED and only counted.
 */
#ifndef AC_SERVER_CORE_PGPIPE_H
#define AC_SERVER_CORE_PGPIPE_H

#include <libpq-fe.h>
#include <stdbool.h>

struct ac_pgpipe {
    PGconn *conn;      /* borrowed */
    bool failed;       /* a statement failed or the connection broke; the rest are aborted */
    bool server_error; /* the server itself reported an error (it has a SQLSTATE) */
    bool lost;         /* the connection broke */
    bool conn_error;   /* the first failure was the connection's (ac_pg_is_conn_error) */
    char sqlstate[6];  /* of the first failed statement, "" if none */
    char message[256]; /* its error message, cut */
};

void ac_pgpipe_init(struct ac_pgpipe *r, PGconn *conn);

/* Sends prepared statement stmt with n parameters (borrowed), each with its
 * length and format (0 text, 1 binary: its length counts; ac_pg_barray_*
 * arrays; lengths and formats NULL: all text); false if it could not be
 * queued. */
bool ac_pgpipe_send(PGconn *conn, const char *stmt, int n, const char *const *values,
                    const int *lengths, const int *formats);
/* Sends static SQL without parameters (BEGIN, COMMIT). */
bool ac_pgpipe_send_text(PGconn *conn, const char *sql);
/* Asks the server to send what it has, and writes what is queued. */
bool ac_pgpipe_flush(PGconn *conn);

/*
 * Reads one statement's result. On success with keep set, *keep receives it
 * (new, PQclear), else NULL. Returns false when the connection broke.
 */
bool ac_pgpipe_take(struct ac_pgpipe *r, PGresult **keep);
/* Reads the result of a PQpipelineSync. Returns false if it was not one. */
bool ac_pgpipe_take_sync(struct ac_pgpipe *r);

/*
 * After a failure inside the pipeline: syncs (unless synced), drains, and
 * rolls back an open transaction. Returns false if the connection is no
 * longer usable (close it).
 */
bool ac_pgpipe_abort(PGconn *conn, bool synced);

#endif
