/* SPDX-License-Identifier: Apache-2.0 */
/* Alertmanager API v2 alerts and webhook v4 bodies (both, each input). */
#include <jansson.h>
#include <stdlib.h>

#include "ingest/alertmanager.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ac_am_config cfg;
    static int loaded;
    struct ac_event_vec evs = {0};
    json_t *details = NULL;
    long truncated = 0;

    if (!loaded) {
        json_t *errors = json_array();
        if (ac_am_config_load(NULL, &cfg, errors) != AC_OK) {
            abort();
        }
        json_decref(errors);
        loaded = 1;
    }
    if (ac_am_decode_v2(&cfg, (const char *)data, size, "prometheus", 100, 1700000000000000LL, &evs,
                        &details) == AC_OK) {
        ac_event_vec_deinit(&evs);
    }
    json_decref(details);
    details = NULL;
    if (ac_am_decode_webhook(&cfg, (const char *)data, size, "alertmanager", 100,
                             1700000000000000LL, &evs, &details, &truncated) == AC_OK) {
        ac_event_vec_deinit(&evs);
    }
    json_decref(details);
    return 0;
}
