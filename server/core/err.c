/* SPDX-License-Identifier: Apache-2.0 */
/* Error texts and the assertion failure path. */
#include "server/core/err.h"

#include <stdio.h>
#include <stdlib.h>

const char *ac_strerror(int rc)
{
    switch (rc) {
        case AC_OK:
            return "ok";
        case AC_ENOMEM:
            return "out of memory";
        case AC_EINVAL:
            return "invalid argument";
        case AC_EIO:
            return "i/o error";
        case AC_EDB:
            return "database error";
        case AC_EKV:
            return "redis error";
        case AC_EAGAIN:
            return "temporarily unavailable";
        case AC_ENOENT:
            return "not found";
        case AC_ETOOBIG:
            return "over limit";
        case AC_ECONFLICT:
            return "conflict";
        case AC_DROPPED:
            return "dropped";
        case AC_DUPLICATE:
            return "duplicate";
        default:
            return "unknown error";
    }
}

void ac_assert_fail(const char *expr, const char *file, int line)
{
    /* fprintf is fine here: we are about to abort and nothing else matters. */
    (void)fprintf(stderr, "assertion failed: %s (%s:%d)\n", expr, file, line);
    abort();
}
