/* SPDX-License-Identifier: Apache-2.0 */
#include "cli/ctl_fmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/core/mem.h"

enum ac_ctl_exit ac_ctl_exit_of(long status)
{
    if (status >= 200 && status < 300) {
        return AC_CTL_OK;
    }
    switch (status) {
        case 0:
        case 429:
            return AC_CTL_UNAVAILABLE;
        case 401:
        case 403:
            return AC_CTL_AUTH;
        case 404:
            return AC_CTL_NOT_FOUND;
        case 400:
        case 409:
        case 413:
        case 415:
        case 422:
            return AC_CTL_REFUSED;
        default:
            return status >= 500 ? AC_CTL_UNAVAILABLE : AC_CTL_FAIL;
    }
}

bool ac_ctl_duration(const char *text, int64_t *s)
{
    int64_t total = 0;
    const char *p = text;

    if (!text || !*text) {
        return false;
    }
    while (*p) {
        char *end;
        long long n = strtoll(p, &end, 10);
        int64_t unit;
        if (*p < '0' || *p > '9' || end == p || n > 366LL * 86400) {
            return false;
        }
        switch (*end) {
            case '\0':
                unit = p == text ? 1 : -1; /* bare seconds only alone */
                break;
            case 's':
                unit = 1;
                break;
            case 'm':
                unit = 60;
                break;
            case 'h':
                unit = 3600;
                break;
            case 'd':
                unit = 86400;
                break;
            default:
                unit = -1;
        }
        if (unit < 0) {
            return false;
        }
        total += n * unit;
        if (total > 366LL * 86400) {
            return false;
        }
        p = *end ? end + 1 : end;
    }
    if (total < 1) {
        return false;
    }
    *s = total;
    return true;
}

char *ac_ctl_field(const json_t *obj, const char *dotted)
{
    const json_t *v = obj;
    const char *p = dotted;
    char key[128];

    while (v && *p) {
        size_t n = strcspn(p, ".");
        if (n >= sizeof(key)) {
            return NULL;
        }
        memcpy(key, p, n);
        key[n] = '\0';
        v = json_object_get(v, key);
        p += n + (p[n] == '.');
    }
    if (!v || json_is_null(v)) {
        return NULL;
    }
    if (json_is_string(v)) {
        return ac_xstrdup(json_string_value(v));
    }
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* Characters (not bytes) of a UTF-8 string. */
static int fmt_chars(const char *s)
{
    int n = 0;

    for (; *s; s++) {
        n += ((unsigned char)*s & 0xC0) != 0x80;
    }
    return n;
}

/* Cuts s (owned) to at most width characters, the last one "…". */
static char *fmt_cut(char *s, int width)
{
    int n = 0;
    char *p = s, *out;

    if (width <= 0 || fmt_chars(s) <= width) {
        return s;
    }
    for (; *p; p++) {
        if (((unsigned char)*p & 0xC0) != 0x80 && ++n == width) {
            break;
        }
    }
    out = ac_xasprintf("%.*s…", (int)(p - s), s);
    free(s);
    return out;
}

/* An RFC 3339 time as people read it: "2026-12-07 13:01:36" (UTC); else s. */
static char *fmt_time(char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";

    for (size_t i = 0; i < sizeof(shape) - 1; i++) {
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i]) {
            return s;
        }
    }
    if (!strchr(s + 19, 'Z')) {
        return s; /* an offset other than UTC: as written */
    }
    s[10] = ' ';
    s[19] = '\0';
    return s;
}

char *ac_ctl_table(const json_t *items, const struct ac_ctl_col *cols, int ncols)
{
    size_t rows = json_array_size(items);
    char **cell = ac_xcalloc((rows + 1) * (size_t)ncols, sizeof(char *));
    int *w = ac_xcalloc((size_t)ncols, sizeof(int));
    struct ac_buf out = {0};

    for (int c = 0; c < ncols; c++) {
        cell[c] = ac_xstrdup(cols[c].header);
        for (size_t r = 0; r < rows; r++) {
            char *v = ac_ctl_field(json_array_get(items, r), cols[c].field);
            for (char *q = v; q && *q; q++) {
                if (*q == '\n' || *q == '\t') {
                    *q = ' ';
                }
            }
            cell[(r + 1) * (size_t)ncols + (size_t)c] =
                fmt_cut(v ? fmt_time(v) : ac_xstrdup("-"), cols[c].width);
        }
    }
    for (size_t i = 0; i < (rows + 1) * (size_t)ncols; i++) {
        int n = fmt_chars(cell[i]);
        w[i % (size_t)ncols] = n > w[i % (size_t)ncols] ? n : w[i % (size_t)ncols];
    }
    ac_buf_append(&out, "", 0);
    for (size_t r = 0; r <= rows; r++) {
        for (int c = 0; c < ncols; c++) {
            const char *v = cell[r * (size_t)ncols + (size_t)c];
            if (c == ncols - 1) {
                ac_buf_appends(&out, v);
            }
            else {
                ac_buf_printf(&out, "%s%*s  ", v, w[c] - fmt_chars(v), "");
            }
        }
        ac_buf_appends(&out, "\n");
    }
    for (size_t i = 0; i < (rows + 1) * (size_t)ncols; i++) {
        free(cell[i]);
    }
    free(cell);
    free(w);
    return ac_buf_steal(&out);
}
