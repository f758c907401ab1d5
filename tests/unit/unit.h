/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the unit tests. */
#ifndef AC_TESTS_UNIT_H
#define AC_TESTS_UNIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* True if the problem list errs ([{"path", "message"}, ...], as the
 * validators report them) holds one at path whose message contains msg
 * (any message when msg is NULL). */
static inline bool unit_has_error(const json_t *errs, const char *path, const char *msg)
{
    size_t i;
    json_t *e;

    json_array_foreach(errs, i, e)
    {
        const char *p = json_string_value(json_object_get(e, "path"));
        const char *m = json_string_value(json_object_get(e, "message"));
        if (p && strcmp(p, path) == 0 && (!msg || (m && strstr(m, msg)))) {
            return true;
        }
    }
    return false;
}

/* The whole of tests/fixtures/<dir>/<name> (new, NUL-terminated; *len its
 * size), or NULL when it cannot be read. */
static inline char *unit_fixture(const char *dir, const char *name, size_t *len)
{
    char path[512];
    FILE *f;
    char *buf = NULL;
    long n;

    *len = 0;
    snprintf(path, sizeof(path), "%s/%s/%s", AC_FIXTURES, dir, name);
    if (!(f = fopen(path, "rb"))) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0) {
        rewind(f);
        buf = malloc((size_t)n + 1);
        if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n) {
            buf[n] = '\0';
            *len = (size_t)n;
        }
        else {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    return buf;
}

#endif
