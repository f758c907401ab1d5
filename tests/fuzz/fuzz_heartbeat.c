/* SPDX-License-Identifier: Apache-2.0 */
/* Probe heartbeat bodies. */
#include <jansson.h>

#include "ingest/heartbeat.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ac_hb *hbs = NULL;
    size_t n = 0;
    json_t *details = NULL;

    if (ac_hb_decode((const char *)data, size, 100, &hbs, &n, &details) == AC_OK) {
        ac_hb_free(hbs, n);
    }
    json_decref(details);
    return 0;
}
