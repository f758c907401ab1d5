/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_cstr for the libFuzzer builds (replay.c has its own). */
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"

char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (!s) {
        abort();
    }
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}
