/* SPDX-License-Identifier: Apache-2.0 */
/* Matchers (RE2 patterns included) as silences, rules and routes take them:
 * the input is their JSON; the compiled ones are matched against an event
 * whose fields are the input's text too. */
#include <jansson.h>
#include <stdlib.h>

#include "server/core/matcher.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *arr = json_loadb((const char *)data, size, 0, NULL), *errors = json_array();
    struct ac_matchers ms;
    char *text = fuzz_cstr(data, size);

    if (arr && ac_matchers_from_json(&ms, arr, "$.matchers", errors) == AC_OK) {
        struct ac_event ev;
        json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:{s:s}}", "source", "probe", "type", "T",
                                "title", "t", "app_id", "web-1", "labels", "team", "sre");
        json_t *errs = json_array();
        if (ac_event_from_json(doc, &ev, -1, errs)) {
            (void)ac_matchers_match(&ms, &ev);
            ac_event_deinit(&ev);
        }
        json_decref(errs);
        json_decref(doc);
        ac_matchers_deinit(&ms);
    }
    /* the input as one pattern, too */
    {
        char why[160];
        const struct ac_regex *re = ac_regex_shared(text, why, sizeof(why));
        if (re) {
            (void)ac_regex_match(re, text, size);
            ac_regex_release(text);
        }
    }
    free(text);
    json_decref(errors);
    json_decref(arr);
    return 0;
}
