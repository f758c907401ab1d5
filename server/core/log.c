/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Line-oriented stderr logger. Each line is formatted into a stack buffer and
 * written with a single write(2), so lines from different threads never
 * interleave. A call site (identified by its format string) may log at most
 * LOG_BURST lines per second; the rest are counted and reported once the
 * window passes.
 */
#include "server/core/log.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 4096
#define LOG_SLOTS    64
#define LOG_BURST    20

int ac_log_level_current = AC_LOG_INFO;

static const char *const log_names[] = {"debug", "info", "warn", "error", "off"};

struct log_slot {
    const char *fmt;
    time_t window;
    unsigned count;
    unsigned suppressed;
};

static struct log_slot log_slots[LOG_SLOTS];
static int log_lock; /* spin lock via __atomic; logging is rare enough */

static void log_lock_acquire(void)
{
    while (__atomic_exchange_n(&log_lock, 1, __ATOMIC_ACQUIRE)) {
        /* spin */
    }
}

static void log_lock_release(void)
{
    __atomic_store_n(&log_lock, 0, __ATOMIC_RELEASE);
}

/* Returns how many earlier lines were suppressed (>=0) or -1 to drop this one. */
static long log_ratelimit(const char *fmt, time_t now)
{
    struct log_slot *s = &log_slots[((uintptr_t)fmt >> 3) % LOG_SLOTS];
    long prev = 0;

    log_lock_acquire();
    if (s->fmt != fmt || s->window != now) {
        prev = s->fmt == fmt ? (long)s->suppressed : 0;
        s->fmt = fmt;
        s->window = now;
        s->count = 0;
        s->suppressed = 0;
    }
    if (++s->count > LOG_BURST) {
        s->suppressed++;
        prev = -1;
    }
    log_lock_release();
    return prev;
}

void ac_log_write(enum ac_log_level level, const char *component, const char *fmt, ...)
{
    char line[LOG_LINE_MAX];
    struct timespec ts;
    struct tm tm;
    va_list ap;
    size_t n;
    long suppressed;
    int w;

    clock_gettime(CLOCK_REALTIME, &ts);
    suppressed = log_ratelimit(fmt, ts.tv_sec);
    if (suppressed < 0) {
        return;
    }
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    w = snprintf(line + n, sizeof(line) - n, ".%03ldZ %s [%s] ", ts.tv_nsec / 1000000,
                 log_names[level < AC_LOG_OFF ? level : AC_LOG_ERROR], component);
    n += w > 0 ? (size_t)w : 0;
    va_start(ap, fmt);
    w = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    va_end(ap);
    n = (w < 0) ? n : (n + (size_t)w >= sizeof(line) - 32 ? sizeof(line) - 32 : n + (size_t)w);
    if (suppressed > 0) {
        w = snprintf(line + n, sizeof(line) - n, " suppressed=%ld", suppressed);
        n += w > 0 ? (size_t)w : 0;
    }
    line[n++] = '\n';
    /* A failed log write has nowhere to be reported. */
    if (write(STDERR_FILENO, line, n) < 0) {
        return;
    }
}

void ac_log_set_level(enum ac_log_level level)
{
    __atomic_store_n(&ac_log_level_current, (int)level, __ATOMIC_RELAXED);
}

bool ac_log_level_parse(const char *s, enum ac_log_level *out)
{
    for (int i = 0; i <= AC_LOG_OFF; i++) {
        if (strcmp(s, log_names[i]) == 0) {
            *out = (enum ac_log_level)i;
            return true;
        }
    }
    return false;
}
