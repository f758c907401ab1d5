/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the unit tests. */
#ifndef AC_TESTS_UNIT_H
#define AC_TESTS_UNIT_H

#include <jansson.h>
#include <stdbool.h>
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

#endif
