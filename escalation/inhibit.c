/* SPDX-License-Identifier: Apache-2.0 */
/* Inhibition rules (see inhibit.h). */
#include "escalation/inhibit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/core/mem.h"

int ac_inhibit_validate(const json_t *doc, json_t *errors)
{
    static const char *const keys[] = {
        "id",      "name",       "source_matchers", "target_matchers", "equal",
        "comment", "created_by", "created_at",      "updated_at",      NULL};
    size_t before = json_array_size(errors);
    const char *name = json_string_value(json_object_get(doc, "name"));
    const json_t *comment = json_object_get(doc, "comment");
    struct ac_matchers ms;
    struct ac_group_by eq;

    if (!json_is_object(doc)) {
        ac_event_error(errors, -1, "$", "an inhibition rule is a JSON object");
        return AC_EINVAL;
    }
    (void)ac_json_only_keys(doc, keys, "is not a field of an inhibition rule", errors);
    if (!name || !*name || strlen(name) > 128) {
        ac_event_error(errors, -1, "$.name", "must be a name of 1..128 bytes");
    }
    for (int i = 0; i < 2; i++) {
        const char *key = i ? "target_matchers" : "source_matchers";
        const json_t *arr = json_object_get(doc, key);
        char path[32];
        (void)snprintf(path, sizeof(path), "$.%s", key);
        if (!json_is_array(arr) || json_array_size(arr) == 0) {
            ac_event_error(errors, -1, path, "must be a non-empty list of matchers");
        }
        else if (ac_matchers_from_json(&ms, arr, path, errors) == AC_OK) {
            ac_matchers_deinit(&ms);
        }
    }
    if (ac_group_by_from_json(&eq, json_object_get(doc, "equal"), "$.equal", errors) == AC_OK) {
        if (eq.each) {
            ac_event_error(errors, -1, "$.equal", "lists field names (\"...\" is for group_by)");
        }
        ac_group_by_deinit(&eq);
    }
    if (comment && !json_is_null(comment) &&
        (!json_is_string(comment) || json_string_length(comment) > 1024)) {
        ac_event_error(errors, -1, "$.comment", "must be a string of at most 1024 bytes");
    }
    return json_array_size(errors) > before ? AC_EINVAL : AC_OK;
}

bool ac_inhibit_add_rule(struct ac_inhibit_set *s, int64_t id, const json_t *doc)
{
    struct ac_inhibit_rule r = {.id = id};
    json_t *errs = json_array();
    bool ok = ac_matchers_from_json(&r.source, json_object_get(doc, "source_matchers"), "$",
                                    errs) == AC_OK;

    if (ok && ac_matchers_from_json(&r.target, json_object_get(doc, "target_matchers"), "$",
                                    errs) != AC_OK) {
        ac_matchers_deinit(&r.source);
        ok = false;
    }
    if (ok && ac_group_by_from_json(&r.equal, json_object_get(doc, "equal"), "$", errs) != AC_OK) {
        ac_matchers_deinit(&r.source);
        ac_matchers_deinit(&r.target);
        ok = false;
    }
    json_decref(errs);
    if (ok) {
        s->rules = ac_xrealloc(s->rules, (s->n + 1) * sizeof(*s->rules));
        s->rules[s->n++] = r;
    }
    return ok;
}

const char *ac_inhibit_source_type(const struct ac_inhibit_rule *r)
{
    for (size_t i = 0; i < r->source.n; i++) {
        if (r->source.v[i].op == AC_MATCH_EQ && strcmp(r->source.v[i].name, "type") == 0) {
            return r->source.v[i].value;
        }
    }
    return NULL;
}

/* The key of ev under equal (new). */
static char *ih_key(const struct ac_group_by *equal, const struct ac_event *ev)
{
    char key[AC_GROUP_KEY_SIZE];

    ac_group_key(equal, ev, key);
    return ac_xstrdup(key);
}

void ac_inhibit_add_source(struct ac_inhibit_rule *r, int64_t alert_id, const struct ac_event *ev)
{
    if (!ac_matchers_match(&r->source, ev)) {
        return;
    }
    if (r->nsources == r->capsources) {
        r->capsources = r->capsources ? 2 * r->capsources : 8;
        r->sources = ac_xrealloc(r->sources, r->capsources * sizeof(*r->sources));
    }
    r->sources[r->nsources].key = ih_key(&r->equal, ev);
    r->sources[r->nsources++].alert = alert_id;
}

static int ih_cmp(const void *a, const void *b)
{
    const struct ac_inhibit_source *x = a, *y = b;
    int c = strcmp(x->key, y->key);

    return c ? c : (x->alert > y->alert) - (x->alert < y->alert);
}

void ac_inhibit_finish(struct ac_inhibit_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->rules[i].nsources > 1) {
            qsort(s->rules[i].sources, s->rules[i].nsources, sizeof(*s->rules[i].sources), ih_cmp);
        }
    }
}

void ac_inhibit_deinit(struct ac_inhibit_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        struct ac_inhibit_rule *r = &s->rules[i];
        for (size_t k = 0; k < r->nsources; k++) {
            free(r->sources[k].key);
        }
        free(r->sources);
        ac_matchers_deinit(&r->source);
        ac_matchers_deinit(&r->target);
        ac_group_by_deinit(&r->equal);
    }
    free(s->rules);
    memset(s, 0, sizeof(*s));
}

int64_t ac_inhibited(const struct ac_inhibit_set *s, int64_t alert_id, const struct ac_event *ev,
                     int64_t *rule)
{
    for (size_t i = 0; i < s->n; i++) {
        const struct ac_inhibit_rule *r = &s->rules[i];
        char *key;
        size_t lo = 0, hi = r->nsources;
        if (r->nsources == 0 || !ac_matchers_match(&r->target, ev)) {
            continue;
        }
        key = ih_key(&r->equal, ev);
        while (lo < hi) { /* the first source with this key */
            size_t mid = (lo + hi) / 2;
            if (strcmp(r->sources[mid].key, key) < 0) {
                lo = mid + 1;
            }
            else {
                hi = mid;
            }
        }
        for (; lo < r->nsources && strcmp(r->sources[lo].key, key) == 0; lo++) {
            if (r->sources[lo].alert != alert_id) {
                free(key);
                *rule = r->id;
                return r->sources[lo].alert;
            }
        }
        free(key);
    }
    return 0;
}
