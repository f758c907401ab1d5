/* SPDX-License-Identifier: Apache-2.0 */
/* Filter rules: parsing, validation and first-match evaluation. */
#include "server/rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/timefmt.h"
#include "server/core/mem.h"

static bool rl_known_key(const char *k)
{
    static const char *const keys[] = {"name",     "position",   "action",
                                       "matchers", "expires_at", "comment"};

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strcmp(k, keys[i]) == 0) {
            return true;
        }
    }
    return false;
}

int ac_rule_from_json(struct ac_rule *r, const json_t *obj, json_t *errors)
{
    size_t before = json_array_size(errors);
    const char *k, *action, *s;
    json_t *v;
    char path[160];

    memset(r, 0, sizeof(*r));
    if (!json_is_object(obj)) {
        ac_event_error(errors, -1, "$", "a rule is a JSON object");
        return AC_EINVAL;
    }
    json_object_foreach((json_t *)obj, k, v)
    {
        if (!rl_known_key(k)) {
            (void)snprintf(path, sizeof(path), "$.%.128s", k);
            ac_event_error(errors, -1, path, "unknown field");
        }
    }
    v = json_object_get(obj, "name");
    if (v && !json_is_null(v)) {
        s = json_string_value(v);
        if (!s || !*s || ac_utf8_len(s) > AC_RULE_NAME_MAX) {
            ac_event_error(errors, -1, "$.name", "must be a string of 1 to %d characters",
                           AC_RULE_NAME_MAX);
        }
        else {
            r->name = ac_xstrdup(s);
        }
    }
    v = json_object_get(obj, "position");
    if (v && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < -1000000000 ||
            json_integer_value(v) > 1000000000) {
            ac_event_error(errors, -1, "$.position", "must be an integer");
        }
        else {
            r->position = (long)json_integer_value(v);
            r->has_position = true;
        }
    }
    action = json_string_value(json_object_get(obj, "action"));
    if (!action || (strcmp(action, "drop") != 0 && strcmp(action, "allow") != 0)) {
        ac_event_error(errors, -1, "$.action", "must be \"drop\" or \"allow\"");
    }
    else {
        r->allow = strcmp(action, "allow") == 0;
    }
    v = json_object_get(obj, "matchers");
    if (!json_is_array(v) || json_array_size(v) == 0) {
        /* A rule without matchers would act on every event: say so explicitly. */
        ac_event_error(errors, -1, "$.matchers", "must be a non-empty array of matchers");
    }
    else if (ac_matchers_from_json(&r->matchers, v, "$.matchers", errors) != AC_OK) {
        /* errors already name the bad matcher */
    }
    v = json_object_get(obj, "expires_at");
    if (v && !json_is_null(v)) {
        s = json_string_value(v);
        if (!s || !ac_time_parse(s, &r->expires_at)) {
            ac_event_error(errors, -1, "$.expires_at", "must be an RFC 3339 timestamp or null");
        }
    }
    v = json_object_get(obj, "comment");
    if (v && !json_is_null(v)) {
        s = json_string_value(v);
        if (!s || ac_utf8_len(s) > AC_RULE_COMMENT_MAX) {
            ac_event_error(errors, -1, "$.comment", "must be a string of at most %d characters",
                           AC_RULE_COMMENT_MAX);
        }
        else {
            r->comment = ac_xstrdup(s);
        }
    }
    if (json_array_size(errors) != before) {
        ac_rule_deinit(r);
        return AC_EINVAL;
    }
    return AC_OK;
}

void ac_rule_deinit(struct ac_rule *r)
{
    ac_matchers_deinit(&r->matchers);
    free(r->name);
    free(r->comment);
    memset(r, 0, sizeof(*r));
}

long ac_rules_eval(const struct ac_rule *rules, size_t n, const struct ac_event *ev, int64_t now)
{
    for (size_t i = 0; i < n; i++) {
        if (rules[i].expires_at && rules[i].expires_at <= now) {
            continue;
        }
        if (ac_matchers_match(&rules[i].matchers, ev)) {
            return (long)i;
        }
    }
    return -1;
}
