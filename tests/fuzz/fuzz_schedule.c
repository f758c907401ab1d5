/* SPDX-License-Identifier: Apache-2.0 */
/* On-call schedule documents: built, then asked who is on call at a few
 * instants across years and daylight-saving changes. */
#include <jansson.h>

#include "escalation/notify/schedule.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int64_t at[] = {0, 1700000000000000LL, 1711846800000000LL, 1729990800000000LL,
                                 4102444800000000LL};
    json_t *doc = json_loadb((const char *)data, size, 0, NULL), *errors = json_array();
    struct ac_schedule s;

    if (doc && ac_schedule_from_json(doc, &s, errors) == AC_OK) {
        for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
            struct ac_oncall o;
            ac_schedule_oncall(&s, at[i], &o);
        }
        ac_schedule_deinit(&s);
    }
    json_decref(errors);
    json_decref(doc);
    return 0;
}
