/* SPDX-License-Identifier: Apache-2.0 */
/* PagerDuty Events API v2 bodies, then the event each one makes. */
#include <jansson.h>

#include "ingest/pagerduty.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ac_pd_request req;
    json_t *errors = NULL;

    if (ac_pd_parse((const char *)data, size, &req, &errors) == AC_OK) {
        struct ac_event ev;
        json_t *problems = json_array();
        static const struct ac_pd_config none;
        if (ac_pd_event(&req, ac_pd_route_for(&none, NULL), 1700000000000000LL, &ev, problems) ==
            AC_OK) {
            json_decref(ac_event_to_json(&ev));
            ac_event_deinit(&ev);
        }
        json_decref(problems);
        ac_pd_request_deinit(&req);
    }
    json_decref(errors);
    return 0;
}
