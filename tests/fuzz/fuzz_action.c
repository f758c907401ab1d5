/* SPDX-License-Identifier: Apache-2.0 */
/* Signed action-link tokens: any text is verified (never accepted unless
 * signed), and a link made from the input's bytes verifies to itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "escalation/notify/action.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char secret[] = "fuzz-secret-0123456789";
    char *text = fuzz_cstr(data, size);
    struct ac_action_link l, back;

    if (ac_action_verify(secret, text, 1700000000, &back) == AC_ACTION_OK) {
        abort(); /* a forged token was accepted */
    }
    free(text);
    if (size >= 16) {
        int64_t v[2];
        memcpy(v, data, sizeof(v));
        l.incident = (v[0] & INT64_MAX) | 1; /* incidents are numbered from 1 */
        l.contact = v[1] & INT64_MAX;        /* 0: a group chat */
        l.action = (enum ac_action)(data[0] % AC_ACTION_COUNT);
        l.expires = 1700000000 + (data[1] % 100) + 1;
        text = ac_action_token(secret, &l);
        if (ac_action_verify(secret, text, 1700000000, &back) != AC_ACTION_OK ||
            back.incident != l.incident || back.contact != l.contact || back.action != l.action ||
            back.expires != l.expires) {
            abort(); /* a genuine link did not verify to itself */
        }
        free(text);
    }
    return 0;
}
