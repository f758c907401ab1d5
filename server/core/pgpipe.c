/* SPDX-License-Identifier: Apache-2.0 */
/* libpq pipeline mode helpers (see pgpipe.h). */
#include "server/core/pgpipe.h"

#include <stdio.h>
#include <string.h>

#include "server/core/pg.h"

void ac_pgpipe_init(struct ac_pgpipe *r, PGconn *conn)
{
    memset(r, 0, sizeof(*r));
    r->conn = conn;
}

bool ac_pgpipe_send(PGconn *conn, const char *stmt, int n, const char *const *values,
                    const int *lengths, const int *formats)
{
    return PQsendQueryPrepared(conn, stmt, n, values, lengths, formats, 0) == 1;
}

bool ac_pgpipe_send_text(PGconn *conn, const char *sql)
{
    return PQsendQueryParams(conn, sql, 0, NULL, NULL, NULL, NULL, 0) == 1;
}

bool ac_pgpipe_flush(PGconn *conn)
{
    return PQsendFlushRequest(conn) == 1 && PQflush(conn) == 0;
}

static void pgpipe_note_error(struct ac_pgpipe *r, const PGresult *res)
{
    const char *state = ac_pg_sqlstate(res);

    if (*state) {
        r->server_error = true;
    }
    if (r->failed) {
        return;
    }
    r->failed = true;
    r->conn_error = ac_pg_is_conn_error(r->conn, res);
    (void)snprintf(r->sqlstate, sizeof(r->sqlstate), "%s", state);
    (void)snprintf(r->message, sizeof(r->message), "%s", PQresultErrorMessage(res));
}

static bool pgpipe_lost(struct ac_pgpipe *r)
{
    r->lost = r->failed = true;
    return false;
}

bool ac_pgpipe_take(struct ac_pgpipe *r, PGresult **keep)
{
    PGresult *res = PQgetResult(r->conn), *end;
    ExecStatusType st;

    if (keep) {
        *keep = NULL;
    }
    if (!res) {
        return pgpipe_lost(r);
    }
    st = PQresultStatus(res);
    if (st == PGRES_FATAL_ERROR) {
        pgpipe_note_error(r, res);
    }
    else if (st == PGRES_PIPELINE_ABORTED) {
        r->failed = true;
    }
    else if (keep && !r->failed) {
        *keep = res;
        res = NULL;
    }
    PQclear(res);
    end = PQgetResult(r->conn); /* each command's results end with NULL */
    if (end) {
        PQclear(end);
        if (keep) {
            PQclear(*keep);
            *keep = NULL;
        }
        return pgpipe_lost(r);
    }
    return PQstatus(r->conn) == CONNECTION_OK || pgpipe_lost(r);
}

bool ac_pgpipe_take_sync(struct ac_pgpipe *r)
{
    PGresult *res = PQgetResult(r->conn);
    bool ok = res && PQresultStatus(res) == PGRES_PIPELINE_SYNC;

    PQclear(res);
    return ok || pgpipe_lost(r);
}

bool ac_pgpipe_abort(PGconn *conn, bool synced)
{
    struct ac_pgpipe r;
    int nulls = 0;

    if (!synced) {
        if (PQpipelineSync(conn) != 1) {
            return false;
        }
        for (int i = 0; i < 100000 && nulls < 2; i++) {
            PGresult *res = PQgetResult(conn);
            if (!res) {
                nulls++;
                if (PQstatus(conn) != CONNECTION_OK) {
                    break;
                }
                continue;
            }
            nulls = 0;
            if (PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
                PQclear(res);
                break;
            }
            PQclear(res);
        }
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        return false;
    }
    if (PQtransactionStatus(conn) == PQTRANS_IDLE) {
        return true;
    }
    ac_pgpipe_init(&r, conn);
    return ac_pgpipe_send_text(conn, "ROLLBACK") && PQpipelineSync(conn) == 1 &&
           ac_pgpipe_take(&r, NULL) && ac_pgpipe_take_sync(&r);
}
