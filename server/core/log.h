/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Structured logging to stderr: one write(2) per line,
 *   2026-11-22T04:35:34.123Z info [http] listening addr=127.0.0.1:8080
 * The level is checked before formatting (Redis serverLog). Repeats of the
 * same call site are rate-limited so a failing dependency cannot flood the log.
 * Payloads are logged only at debug level; secrets never.
 */
#ifndef AC_SERVER_CORE_LOG_H
#define AC_SERVER_CORE_LOG_H

#include <stdbool.h>

enum ac_log_level { AC_LOG_DEBUG = 0, AC_LOG_INFO, AC_LOG_WARN, AC_LOG_ERROR, AC_LOG_OFF };

extern int ac_log_level_current; /* atomic; read with __atomic_load_n */

#define ac_log(level, component, ...)                                                              \
    do {                                                                                           \
        if ((int)(level) >= __atomic_load_n(&ac_log_level_current, __ATOMIC_RELAXED)) {            \
            ac_log_write((level), (component), __VA_ARGS__);                                       \
        }                                                                                          \
    } while (0)

void ac_log_write(enum ac_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void ac_log_set_level(enum ac_log_level level);
/* Parses "debug", "info", "warn", "error", "off". Returns false if unknown. */
bool ac_log_level_parse(const char *s, enum ac_log_level *out);

#endif
