/* SPDX-License-Identifier: Apache-2.0 */
/* Notification templates: checked, then rendered as text and as JSON over
 * an incident-like context. */
#include <jansson.h>
#include <stdlib.h>

#include "escalation/notify/template.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static json_t *ctx;
    char *text, err[160];

    if (size > AC_TPL_MAX) {
        return 0;
    }
    if (!ctx) {
        ctx = json_loads("{\"alert\":{\"title\":\"db down\",\"level\":\"P1\",\"labels\":{\"team\":"
                         "\"sre\",\"a.b\":\"c\"},\"count\":3,\"apps\":[\"a\",\"b\"]},"
                         "\"incident\":{\"id\":\"7\",\"open\":2},\"link\":\"https://x/y?z=1\"}",
                         0, NULL);
    }
    text = fuzz_cstr(data, size);
    (void)ac_tpl_check(text, err, sizeof(err));
    free(ac_tpl_render(text, ctx, AC_TPL_TEXT));
    free(ac_tpl_render(text, ctx, AC_TPL_JSON));
    free(text);
    return 0;
}
