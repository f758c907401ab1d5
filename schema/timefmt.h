/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RFC 3339 timestamps <-> microseconds since the Unix epoch (UTC).
 * Every time in the API is RFC 3339 in UTC; internally times are int64 µs.
 */
#ifndef AC_SCHEMA_TIMEFMT_H
#define AC_SCHEMA_TIMEFMT_H

#include <stdbool.h>
#include <stdint.h>

#define AC_TIME_STRLEN 48 /* "2026-11-22T04:35:34.123456Z" plus NUL, with room */

/* Parses "YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)" (t/z accepted in lower case).
 * Years 1970..9999. Fractions beyond microseconds are truncated.
 * Returns false on any syntax or range error. */
bool ac_time_parse(const char *s, int64_t *us_out);

/* Formats as "YYYY-MM-DDTHH:MM:SS.ffffffZ" into out (AC_TIME_STRLEN bytes). */
void ac_time_format(int64_t us, char *out);

/* Wall-clock time now in µs. */
int64_t ac_time_now_us(void);
/* A monotonic clock in µs (intervals, deadlines; not a date). */
int64_t ac_time_mono_us(void);

#endif
