/* SPDX-License-Identifier: Apache-2.0 */
/* The native event decoder: JSON and NDJSON bodies, then each event back to JSON. */
#include <jansson.h>
#include <stdlib.h>

#include "ingest/native.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int fmt = AC_NATIVE_JSON; fmt <= AC_NATIVE_NDJSON; fmt++) {
        struct ac_event_vec evs = {0};
        json_t *details = NULL;
        if (ac_native_decode((const char *)data, size, (enum ac_native_format)fmt, 100,
                             1700000000000000LL, &evs, &details) == AC_OK) {
            for (size_t i = 0; i < evs.n; i++) {
                json_decref(ac_event_to_json(&evs.items[i]));
            }
        }
        ac_event_vec_deinit(&evs);
        json_decref(details);
    }
    return 0;
}
