/* SPDX-License-Identifier: Apache-2.0 */
/* Time zones from the tz database; the format is RFC 8536 (TZif). */
#include "escalation/notify/tz.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/core/mem.h"

#define TZ_MAX_FILE (1 << 20)

int64_t ac_days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void ac_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int64_t tz_floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static bool tz_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* ---- POSIX TZ strings ---------------------------------------------------- */

static const char *tz_name(const char *p)
{
    if (*p == '<') {
        const char *q = strchr(p, '>');
        return q && q - p >= 4 ? q + 1 : NULL;
    }
    const char *q = p;
    while (isalpha((unsigned char)*q)) {
        q++;
    }
    return q - p >= 3 ? q : NULL;
}

/* [+-]hh[:mm[:ss]], hours up to 167 (RFC 8536 allows it for rule times) */
static const char *tz_hms(const char *p, long *out)
{
    long sign = 1, h = 0, m = 0, s = 0;

    if (*p == '+' || *p == '-') {
        sign = *p++ == '-' ? -1 : 1;
    }
    if (!isdigit((unsigned char)*p)) {
        return NULL;
    }
    while (isdigit((unsigned char)*p)) {
        h = h * 10 + (*p++ - '0');
        if (h > 167) {
            return NULL;
        }
    }
    if (*p == ':') {
        if (!isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2])) {
            return NULL;
        }
        m = (p[1] - '0') * 10 + (p[2] - '0');
        p += 3;
        if (*p == ':') {
            if (!isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2])) {
                return NULL;
            }
            s = (p[1] - '0') * 10 + (p[2] - '0');
            p += 3;
        }
    }
    if (m > 59 || s > 59) {
        return NULL;
    }
    *out = sign * (h * 3600 + m * 60 + s);
    return p;
}

static const char *tz_int(const char *p, int *out, int lo, int hi)
{
    int v = 0;

    if (!isdigit((unsigned char)*p)) {
        return NULL;
    }
    while (isdigit((unsigned char)*p)) {
        v = v * 10 + (*p++ - '0');
        if (v > hi) {
            return NULL;
        }
    }
    *out = v;
    return v >= lo ? p : NULL;
}

static const char *tz_date(const char *p, struct ac_tz_date *d)
{
    memset(d, 0, sizeof(*d));
    d->time = 7200; /* 02:00 unless given */
    if (*p == 'M') {
        d->kind = 'M';
        if (!(p = tz_int(p + 1, &d->m, 1, 12)) || *p++ != '.' || !(p = tz_int(p, &d->w, 1, 5)) ||
            *p++ != '.' || !(p = tz_int(p, &d->d, 0, 6))) {
            return NULL;
        }
    }
    else if (*p == 'J') {
        d->kind = 'J';
        if (!(p = tz_int(p + 1, &d->n, 1, 365))) {
            return NULL;
        }
    }
    else {
        d->kind = 'N';
        if (!(p = tz_int(p, &d->n, 0, 365))) {
            return NULL;
        }
    }
    if (*p == '/') {
        p = tz_hms(p + 1, &d->time);
    }
    return p;
}

bool ac_tz_rule_parse(const char *s, struct ac_tz_rule *r)
{
    const char *p = s;
    long off;

    memset(r, 0, sizeof(*r));
    if (!(p = tz_name(p)) || !(p = tz_hms(p, &off))) {
        return false;
    }
    r->std_off = -off; /* POSIX offsets are west of UTC */
    if (*p == '\0') {
        return true;
    }
    if (!(p = tz_name(p))) {
        return false;
    }
    r->has_dst = true;
    r->dst_off = r->std_off + 3600;
    if (*p && *p != ',') {
        if (!(p = tz_hms(p, &off))) {
            return false;
        }
        r->dst_off = -off;
    }
    if (*p == '\0') { /* no rule: the US one, as the C library assumes */
        r->start = (struct ac_tz_date){.kind = 'M', .m = 3, .w = 2, .d = 0, .time = 7200};
        r->end = (struct ac_tz_date){.kind = 'M', .m = 11, .w = 1, .d = 0, .time = 7200};
        return true;
    }
    if (*p++ != ',' || !(p = tz_date(p, &r->start)) || *p++ != ',' || !(p = tz_date(p, &r->end))) {
        return false;
    }
    return *p == '\0';
}

/* Local seconds since the epoch of a rule date in year y. */
static int64_t tz_rule_local(const struct ac_tz_date *d, int64_t y)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t day;

    if (d->kind == 'J') { /* 1..365, February 29 never counted */
        day = ac_days_from_civil(y, 1, 1) + d->n - 1 + (tz_leap(y) && d->n >= 60);
    }
    else if (d->kind == 'N') {
        day = ac_days_from_civil(y, 1, 1) + d->n;
    }
    else {
        int64_t first = ac_days_from_civil(y, d->m, 1);
        int wd = (int)((first % 7 + 11) % 7); /* 1970-01-01 was a Thursday (4) */
        int mlen = mdays[d->m - 1] + (d->m == 2 && tz_leap(y));
        int dom = 1 + (d->d - wd + 7) % 7 + (d->w - 1) * 7;
        while (dom > mlen) {
            dom -= 7;
        }
        day = first + dom - 1;
    }
    return day * 86400 + d->time;
}

static long tz_rule_offset(const struct ac_tz_rule *r, int64_t t)
{
    int64_t y, start, end;
    int m, d;

    if (!r->has_dst) {
        return r->std_off;
    }
    ac_civil_from_days(tz_floor_div(t + r->std_off, 86400), &y, &m, &d);
    /* DST starts at a standard-time wall clock and ends at a DST one */
    for (int64_t yy = y - 1; yy <= y + 1; yy++) {
        start = tz_rule_local(&r->start, yy) - r->std_off;
        end = tz_rule_local(&r->end, yy) - r->dst_off;
        if (start < end ? (t >= start && t < end) : false) {
            return r->dst_off;
        }
        if (start >= end) { /* southern hemisphere: DST across the new year */
            int64_t next_end = tz_rule_local(&r->end, yy + 1) - r->dst_off;
            if (t >= start && t < next_end) {
                return r->dst_off;
            }
        }
    }
    return r->std_off;
}

/* ---- TZif ---------------------------------------------------------------- */

static uint32_t tz_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t tz_be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)tz_be32(p) << 32 | tz_be32(p + 4));
}

struct tz_hdr {
    char version;
    uint32_t isut, isstd, leap, time, type, chars;
};

static bool tz_header(const unsigned char *p, size_t len, struct tz_hdr *h)
{
    if (len < 44 || memcmp(p, "TZif", 4) != 0) {
        return false;
    }
    h->version = (char)p[4];
    h->isut = tz_be32(p + 20);
    h->isstd = tz_be32(p + 24);
    h->leap = tz_be32(p + 28);
    h->time = tz_be32(p + 32);
    h->type = tz_be32(p + 36);
    h->chars = tz_be32(p + 40);
    return h->type >= 1 && h->type <= 256 && h->time <= 100000 && h->chars <= 100000 &&
           h->leap <= 100000 && (h->isut == 0 || h->isut == h->type) &&
           (h->isstd == 0 || h->isstd == h->type);
}

static size_t tz_block_len(const struct tz_hdr *h, size_t tsize)
{
    return h->time * tsize + h->time + h->type * 6 + h->chars + h->leap * (tsize + 4) + h->isstd +
           h->isut;
}

int ac_tz_parse(const unsigned char *data, size_t len, struct ac_tz *tz)
{
    struct tz_hdr h;
    const unsigned char *p = data;
    size_t tsize = 4, blen;

    memset(tz, 0, sizeof(*tz));
    if (!tz_header(p, len, &h)) {
        return AC_EINVAL;
    }
    blen = tz_block_len(&h, 4);
    if (44 + blen > len) {
        return AC_EINVAL;
    }
    if (h.version >= '2') { /* skip the 32-bit block for the 64-bit one */
        p += 44 + blen;
        len -= 44 + blen;
        if (!tz_header(p, len, &h)) {
            return AC_EINVAL;
        }
        tsize = 8;
        blen = tz_block_len(&h, 8);
        if (44 + blen > len) {
            return AC_EINVAL;
        }
    }
    p += 44;
    tz->ntimes = h.time;
    tz->ntypes = h.type;
    tz->times = ac_xcalloc(h.time + 1, sizeof(*tz->times));
    tz->idx = ac_xcalloc(h.time + 1, 1);
    tz->offs = ac_xcalloc(h.type, sizeof(*tz->offs));
    for (size_t i = 0; i < h.time; i++) {
        tz->times[i] = tsize == 8 ? tz_be64(p + i * 8) : (int32_t)tz_be32(p + i * 4);
        if (i > 0 && tz->times[i] <= tz->times[i - 1]) {
            ac_tz_deinit(tz);
            return AC_EINVAL;
        }
    }
    p += h.time * tsize;
    for (size_t i = 0; i < h.time; i++) {
        tz->idx[i] = p[i];
        if (p[i] >= h.type) {
            ac_tz_deinit(tz);
            return AC_EINVAL;
        }
    }
    p += h.time;
    for (size_t i = 0; i < h.type; i++) {
        tz->offs[i] = (int32_t)tz_be32(p + i * 6);
        if (tz->offs[i] < -89999 || tz->offs[i] > 93599) {
            ac_tz_deinit(tz);
            return AC_EINVAL;
        }
    }
    p += blen - h.time * tsize - h.time;
    len -= 44 + blen;
    if (tsize == 8 && len >= 2 && p[0] == '\n') { /* the footer: "\n<TZ string>\n" */
        const unsigned char *nl = memchr(p + 1, '\n', len - 1);
        if (nl && nl > p + 1 && nl - p < 256) {
            char buf[256];
            memcpy(buf, p + 1, (size_t)(nl - p - 1));
            buf[nl - p - 1] = '\0';
            tz->has_footer = ac_tz_rule_parse(buf, &tz->rule);
        }
    }
    return AC_OK;
}

void ac_tz_deinit(struct ac_tz *tz)
{
    free(tz->name);
    free(tz->times);
    free(tz->idx);
    free(tz->offs);
    memset(tz, 0, sizeof(*tz));
}

static bool tz_name_ok(const char *name)
{
    if (!name[0] || name[0] == '/' || strstr(name, "..") || strlen(name) > 128) {
        return false;
    }
    for (const char *c = name; *c; c++) {
        if (!isalnum((unsigned char)*c) && !strchr("_+-/", *c)) {
            return false;
        }
    }
    return true;
}

int ac_tz_load(const char *name, struct ac_tz *tz, char *err, size_t errlen)
{
    const char *dir = getenv("AC_TZDIR");
    char path[512];
    unsigned char *data;
    size_t n;
    FILE *f;
    int rc;

    memset(tz, 0, sizeof(*tz));
    if (!tz_name_ok(name)) {
        if (err) {
            (void)snprintf(err, errlen, "\"%s\" is not a time zone name", name);
        }
        return AC_EINVAL;
    }
    (void)snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    f = fopen(path, "rb");
    if (!f) {
        if (err) {
            (void)snprintf(err, errlen, "unknown time zone \"%s\"", name);
        }
        return AC_ENOENT;
    }
    data = ac_xmalloc(TZ_MAX_FILE);
    n = fread(data, 1, TZ_MAX_FILE, f);
    (void)fclose(f);
    rc = ac_tz_parse(data, n, tz);
    free(data);
    if (rc != AC_OK) {
        if (err) {
            (void)snprintf(err, errlen, "time zone \"%s\" is not a TZif file", name);
        }
        return rc;
    }
    tz->name = ac_xstrdup(name);
    return AC_OK;
}

long ac_tz_offset(const struct ac_tz *tz, int64_t t)
{
    size_t lo = 0, hi = tz->ntimes;

    if (tz->ntimes == 0 || t < tz->times[0]) {
        if (tz->ntimes == 0 && tz->has_footer) {
            return tz_rule_offset(&tz->rule, t);
        }
        return tz->offs[0];
    }
    if (t >= tz->times[tz->ntimes - 1] && tz->has_footer) {
        return tz_rule_offset(&tz->rule, t);
    }
    while (hi - lo > 1) { /* times[lo] <= t < times[hi] */
        size_t mid = (lo + hi) / 2;
        if (tz->times[mid] <= t) {
            lo = mid;
        }
        else {
            hi = mid;
        }
    }
    return tz->offs[tz->idx[lo]];
}

int64_t ac_tz_to_utc(const struct ac_tz *tz, int64_t local)
{
    long cand[4];
    int64_t best = 0;
    bool found = false;

    /* at most one transition within a day either side */
    cand[0] = ac_tz_offset(tz, local - 86400);
    cand[1] = ac_tz_offset(tz, local + 86400);
    cand[2] = ac_tz_offset(tz, local - cand[0]);
    cand[3] = ac_tz_offset(tz, local - cand[1]);
    for (int i = 0; i < 4; i++) {
        int64_t u = local - cand[i];
        if (ac_tz_offset(tz, u) == cand[i] && (!found || u < best)) {
            best = u;
            found = true;
        }
    }
    return found ? best : local - cand[0];
}
