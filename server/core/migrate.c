/* SPDX-License-Identifier: Apache-2.0 */
/* Applies the embedded migrations under an advisory lock. */
#include "server/core/migrate.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <string.h>

#include "schema/fingerprint.h"
#include "server/core/log.h"
#include "server/core/pg.h"

/* Two-key advisory lock space, apart from the bigint keys ingest uses. */
#define SQL_LOCK   "SELECT pg_advisory_lock(16707, 1)"
#define SQL_UNLOCK "SELECT pg_advisory_unlock(16707, 1)"
_Static_assert(AC_LOCK_MIGRATE == 1, "SQL_LOCK takes AC_LOCK_MIGRATE");
#define SQL_TABLE                                                                                  \
    "CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, checksum text NOT "      \
    "NULL, applied_at timestamptz NOT NULL DEFAULT now())"
#define SQL_GET    "SELECT checksum FROM schema_migrations WHERE name = $1"
#define SQL_RECORD "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)"
/* functions.sql is recorded with the checksum it was last applied with. */
#define SQL_RECORD_AGAIN                                                                           \
    "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE"  \
    " SET checksum = excluded.checksum, applied_at = now()"

static void mg_checksum(const struct ac_migration *m, char *out)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    EVP_Digest(m->sql, m->len, d, &n, EVP_sha256(), NULL);
    ac_hex(d, n, out);
}

/* Returns 1 if applied (checksum ok), 0 if pending, <0 on error; a changed
 * checksum is an error when frozen (a numbered migration), pending if not. */
static int mg_state(PGconn *conn, const struct ac_migration *m, const char *sum, bool frozen)
{
    const char *p[1] = {m->name};
    PGresult *res = PQexecParams(conn, SQL_GET, 1, NULL, p, NULL, NULL, 0);
    int rc;

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        ac_log(AC_LOG_ERROR, "migrate", "cannot read schema_migrations: %s", PQerrorMessage(conn));
        rc = AC_EDB;
    }
    else if (PQntuples(res) == 0) {
        rc = 0;
    }
    else if (strcmp(PQgetvalue(res, 0, 0), sum) != 0 && !frozen) {
        rc = 0;
    }
    else if (strcmp(PQgetvalue(res, 0, 0), sum) != 0) {
        ac_log(AC_LOG_ERROR, "migrate",
               "%s was changed after it was applied (checksum mismatch); add a new migration "
               "instead",
               m->name);
        rc = AC_ECONFLICT;
    }
    else {
        rc = 1;
    }
    PQclear(res);
    return rc;
}

static int mg_apply(PGconn *conn, const struct ac_migration *m, const char *sum, bool frozen)
{
    const char *p[2] = {m->name, sum};
    PGresult *res = NULL;
    int rc = AC_EDB;

    if (ac_pg_exec(conn, "BEGIN") != AC_OK) {
        return AC_EDB;
    }
    res = PQexec(conn, m->sql); /* static SQL from the binary, may hold many statements */
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
        ac_log(AC_LOG_ERROR, "migrate", "%s failed: %s", m->name, PQerrorMessage(conn));
        goto cleanup;
    }
    PQclear(res);
    res = PQexecParams(conn, frozen ? SQL_RECORD : SQL_RECORD_AGAIN, 2, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        ac_log(AC_LOG_ERROR, "migrate", "cannot record %s: %s", m->name, PQerrorMessage(conn));
        goto cleanup;
    }
    if (ac_pg_exec(conn, "COMMIT") != AC_OK) {
        goto cleanup;
    }
    rc = AC_OK;
cleanup:
    PQclear(res);
    if (rc != AC_OK && PQtransactionStatus(conn) != PQTRANS_IDLE &&
        ac_pg_exec(conn, "ROLLBACK") != AC_OK) {
        rc = AC_EDB; /* already failing; the connection is closed by the caller */
    }
    return rc;
}

/* Applies m if it is pending; 1 if it was, 0 if not, <0 on error. */
static int mg_step(PGconn *conn, const struct ac_migration *m, bool frozen)
{
    char sum[2 * EVP_MAX_MD_SIZE + 1];
    int st;

    mg_checksum(m, sum);
    st = mg_state(conn, m, sum, frozen);
    if (st != 0) {
        return st < 0 ? st : 0;
    }
    st = mg_apply(conn, m, sum, frozen);
    if (st != AC_OK) {
        return st;
    }
    ac_log(AC_LOG_INFO, "migrate", "applied %s", m->name);
    return 1;
}

int ac_migrate_run(PGconn *conn, int *applied)
{
    int rc = AC_OK, st;

    *applied = 0;
    if (ac_pg_exec(conn, SQL_LOCK) != AC_OK) {
        return AC_EDB;
    }
    if (ac_pg_exec(conn, SQL_TABLE) != AC_OK) {
        rc = AC_EDB;
        goto cleanup;
    }
    for (const struct ac_migration *m = ac_migrations; m->name; m++) {
        st = mg_step(conn, m, true);
        if (st < 0) {
            rc = st;
            goto cleanup;
        }
        *applied += st;
    }
    st = mg_step(conn, &ac_sql_functions, false);
    if (st < 0) {
        rc = st;
    }
cleanup:
    if (ac_pg_exec(conn, SQL_UNLOCK) != AC_OK && rc == AC_OK) {
        rc = AC_EDB;
    }
    return rc;
}
