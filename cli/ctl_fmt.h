/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pure parts of `alertcenter ctl` (cli/ctl.c): exit codes from HTTP
 * answers, durations, and the tables people read. No I/O here, so each is
 * unit-tested (tests/unit/test_ctl.c).
 */
#ifndef AC_CLI_CTL_FMT_H
#define AC_CLI_CTL_FMT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* Exit codes scripts can rely on (docs/cli.md). */
enum ac_ctl_exit {
    AC_CTL_OK = 0,
    AC_CTL_FAIL = 1,        /* anything else */
    AC_CTL_USAGE = 2,       /* bad command line */
    AC_CTL_NOT_FOUND = 3,   /* 404 */
    AC_CTL_REFUSED = 4,     /* 400, 409, 413, 415, 422: the request was not valid */
    AC_CTL_AUTH = 5,        /* 401, 403: no token, a wrong one, or a missing scope */
    AC_CTL_UNAVAILABLE = 6, /* no connection, 429, 5xx: try again later */
};

/* The exit code of an HTTP status (0: no answer at all). */
enum ac_ctl_exit ac_ctl_exit_of(long status);

/* "90s", "30m", "2h", "7d", "1h30m" or plain seconds into *s; false if not
 * one, or not 1 s .. 366 days. */
bool ac_ctl_duration(const char *text, int64_t *s);

/* A column of a table: its header and the item's field, dotted for a nested
 * one ("contact.name"); width: at most this many characters (0: any). */
struct ac_ctl_col {
    const char *header;
    const char *field;
    int width;
};

/* The items (an array of objects) as a table with a header line, columns
 * separated by two spaces, missing fields as "-", numbers and booleans as
 * text, RFC 3339 UTC times as "2026-12-07 13:01:36", long values cut with
 * "…" (new string). */
char *ac_ctl_table(const json_t *items, const struct ac_ctl_col *cols, int ncols);

/* The value of a dotted field of obj as text (new), or NULL when missing. */
char *ac_ctl_field(const json_t *obj, const char *dotted);

#endif
