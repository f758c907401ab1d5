/* SPDX-License-Identifier: Apache-2.0 */
/* A strict RFC 3339 parser and a fixed-width UTC formatter. */
#include "schema/timefmt.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static bool tf_digits(const char *s, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static int tf_days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return (m == 2 && leap) ? 29 : days[m - 1];
}

bool ac_time_parse(const char *s, int64_t *us_out)
{
    int y, mo, d, h, mi, sec, oh = 0, om = 0;
    int64_t frac = 0;
    int fdigits = 0;
    struct tm tm;
    time_t t;
    const char *p;
    int sign = 0;

    if (strlen(s) < 20 || !tf_digits(s, 4, &y) || s[4] != '-' || !tf_digits(s + 5, 2, &mo) ||
        s[7] != '-' || !tf_digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
        !tf_digits(s + 11, 2, &h) || s[13] != ':' || !tf_digits(s + 14, 2, &mi) || s[16] != ':' ||
        !tf_digits(s + 17, 2, &sec)) {
        return false;
    }
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > tf_days_in_month(y, mo) || h > 23 ||
        mi > 59 || sec > 60) {
        return false;
    }
    p = s + 19;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9') {
            return false;
        }
        while (*p >= '0' && *p <= '9') {
            if (fdigits < 6) {
                frac = frac * 10 + (*p - '0');
                fdigits++;
            }
            p++;
        }
        while (fdigits < 6) {
            frac *= 10;
            fdigits++;
        }
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    }
    else if (*p == '+' || *p == '-') {
        sign = *p == '+' ? 1 : -1;
        if (!tf_digits(p + 1, 2, &oh) || p[3] != ':' || !tf_digits(p + 4, 2, &om) || oh > 23 ||
            om > 59) {
            return false;
        }
        p += 6;
    }
    else {
        return false;
    }
    if (*p != '\0') {
        return false;
    }
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec == 60 ? 59 : sec; /* a leap second maps to :59 */
    t = timegm(&tm);
    t -= (time_t)sign * (oh * 3600 + om * 60);
    if (t < 0) {
        return false;
    }
    *us_out = (int64_t)t * 1000000 + frac;
    return true;
}

/* n as exactly w decimal digits at p (the low ones). */
static void tf_put_digits(char *p, int w, int64_t n)
{
    for (int i = w - 1; i >= 0; i--) {
        p[i] = (char)('0' + n % 10);
        n /= 10;
    }
}

void ac_time_format(int64_t us, char *out)
{
    time_t t = (time_t)(us / 1000000);
    int64_t frac = us % 1000000;
    struct tm tm;

    if (frac < 0) {
        frac += 1000000;
        t -= 1;
    }
    gmtime_r(&t, &tm);
    /* "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", without printf (the ingest path
     * formats several times per event) */
    tf_put_digits(out, 4, (tm.tm_year + 1900) % 10000);
    out[4] = '-';
    tf_put_digits(out + 5, 2, tm.tm_mon + 1);
    out[7] = '-';
    tf_put_digits(out + 8, 2, tm.tm_mday);
    out[10] = 'T';
    tf_put_digits(out + 11, 2, tm.tm_hour);
    out[13] = ':';
    tf_put_digits(out + 14, 2, tm.tm_min);
    out[16] = ':';
    tf_put_digits(out + 17, 2, tm.tm_sec);
    out[19] = '.';
    tf_put_digits(out + 20, 6, frac);
    out[26] = 'Z';
    out[27] = '\0';
}

int64_t ac_time_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t ac_time_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
