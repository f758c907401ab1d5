/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Schema migrations: the numbered SQL files of migrations/, embedded in the
 * binary at build time, applied in name order, each once and each in its own
 * transaction, recorded with a checksum in schema_migrations. Then
 * migrations/functions.sql, the current definition of every SQL function,
 * whenever its checksum differs from the one recorded (so a changed function
 * reaches every database, and an unchanged file costs one lookup). A session
 * advisory lock keeps two instances from migrating at the same time.
 */
#ifndef AC_SERVER_CORE_MIGRATE_H
#define AC_SERVER_CORE_MIGRATE_H

#include <libpq-fe.h>
#include <stddef.h>

#include "server/core/err.h"

struct ac_migration {
    const char *name; /* file name, e.g. "0001_init.sql" */
    const char *sql;
    size_t len;
};

/* Generated table, terminated by {NULL, NULL, 0}. */
extern const struct ac_migration ac_migrations[];
/* Generated: migrations/functions.sql. */
extern const struct ac_migration ac_sql_functions;

/*
 * Apply pending migrations on conn (borrowed; left idle).
 * applied: set to how many migrations were applied now (functions.sql not
 *          counted).
 * Returns: AC_OK; AC_EDB if one failed (rolled back) or the database was
 * unreachable; AC_ECONFLICT if an applied file changed since (checksum).
 */
AC_MUST_CHECK int ac_migrate_run(PGconn *conn, int *applied);

#endif
