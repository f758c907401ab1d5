/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Error codes shared by every module. Functions return AC_OK (0), a negative
 * enum ac_err, or a documented positive verdict (AC_DROPPED, AC_DUPLICATE),
 * as nginx returns NGX_DECLINED.
 */
#ifndef AC_SERVER_CORE_ERR_H
#define AC_SERVER_CORE_ERR_H

#define AC_MUST_CHECK __attribute__((warn_unused_result))

enum ac_err {
    AC_OK = 0,
    AC_ENOMEM = -1,   /* out of memory (normally aborts instead) */
    AC_EINVAL = -2,   /* invalid input or configuration */
    AC_EIO = -3,      /* operating-system I/O error */
    AC_EDB = -4,      /* PostgreSQL error or unreachable */
    AC_EKV = -5,      /* Redis error or unreachable */
    AC_EAGAIN = -6,   /* transient: retry later (queue full, shutting down) */
    AC_ENOENT = -7,   /* no such object */
    AC_ETOOBIG = -8,  /* over a configured limit */
    AC_ECONFLICT = -9 /* state conflict */
};

enum ac_verdict {
    AC_DROPPED = 1,  /* a filter rule dropped the event */
    AC_DUPLICATE = 2 /* already accepted (idempotency key) */
};

/* Returns a static description of an ac_err or verdict. */
const char *ac_strerror(int rc);

/* Invariant check that stays on in release builds. */
#define AC_ASSERT(cond)                                                                            \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            ac_assert_fail(#cond, __FILE__, __LINE__);                                             \
        }                                                                                          \
    } while (0)

__attribute__((noreturn)) void ac_assert_fail(const char *expr, const char *file, int line);

#endif
