/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Time zones for on-call schedules: hand-offs happen at a wall-clock time in
 * the schedule's zone, across daylight-saving changes. The C library only
 * knows one process-wide zone (TZ), so zones are read here from the system's
 * tz database (the tzdata package, /usr/share/zoneinfo; AC_TZDIR overrides)
 * in the TZif format of RFC 8536: its transitions, then its POSIX TZ footer
 * for the times after them. Pure, thread-safe after loading; times are Unix
 * seconds.
 */
#ifndef AC_ESCALATION_NOTIFY_TZ_H
#define AC_ESCALATION_NOTIFY_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/core/err.h"

/* A POSIX TZ rule ("CET-1CEST,M3.5.0,M10.5.0/3"). */
struct ac_tz_rule {
    long std_off, dst_off; /* seconds east of UTC */
    bool has_dst;
    struct ac_tz_date {
        char kind;   /* 'M' month/week/day, 'J' Julian 1..365 without Feb 29, 'N' 0..365 */
        int m, w, d; /* M: month 1..12, week 1..5 (5 = last), weekday 0..6 (Sunday 0) */
        int n;       /* J, N: the day */
        long time;   /* seconds after local midnight (may be negative or > 24 h) */
    } start, end;
};

struct ac_tz {
    char *name;
    int64_t *times;     /* transitions, ascending */
    unsigned char *idx; /* the local time type from each transition on */
    size_t ntimes;
    long *offs; /* per type: seconds east of UTC */
    size_t ntypes;
    struct ac_tz_rule rule; /* after the last transition (has_footer) */
    bool has_footer;
};

/* Loads the zone name ("Asia/Shanghai", "UTC", ...) from the tz database.
 * A name with "..", a leading '/' or characters outside [A-Za-z0-9_+-/] is
 * refused. Returns AC_OK, AC_ENOENT (no such zone) or AC_EINVAL (not a
 * TZif file); err (if not NULL) gets a message. */
AC_MUST_CHECK int ac_tz_load(const char *name, struct ac_tz *tz, char *err, size_t errlen);
/* Parses a TZif image (tests, and ac_tz_load). */
AC_MUST_CHECK int ac_tz_parse(const unsigned char *data, size_t len, struct ac_tz *tz);
void ac_tz_deinit(struct ac_tz *tz);

/* Parses a POSIX TZ string; false if it is not one. */
bool ac_tz_rule_parse(const char *s, struct ac_tz_rule *r);

/* Seconds east of UTC in effect at the instant t. */
long ac_tz_offset(const struct ac_tz *tz, int64_t t);

/* The instant of a wall-clock time (seconds since the epoch as if local time
 * were UTC). Ambiguous (a clock set back): the earlier instant. Skipped (a
 * clock set forward): as if the old offset still held, so 02:30 on a
 * spring-forward night is 03:30 of the new offset. */
int64_t ac_tz_to_utc(const struct ac_tz *tz, int64_t local);

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int64_t ac_days_from_civil(int64_t y, int m, int d);
void ac_civil_from_days(int64_t z, int64_t *y, int *m, int *d);

#endif
