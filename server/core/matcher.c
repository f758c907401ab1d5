/* SPDX-License-Identifier: Apache-2.0 */
/* Alertmanager-style matchers; the semantics are in matcher.h. */
#include "server/core/matcher.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/core/mem.h"

static const char *const mt_ops[] = {"=", "!=", "=~", "!~"};

const char *ac_match_op_name(enum ac_match_op op)
{
    return mt_ops[op];
}

bool ac_match_op_parse(const char *s, enum ac_match_op *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, mt_ops[i]) == 0) {
            *out = (enum ac_match_op)i;
            return true;
        }
    }
    return false;
}

static void mt_deinit(struct ac_matcher *m)
{
    if (m->re) {
        ac_regex_release(m->value);
    }
    free(m->name);
    free(m->value);
    memset(m, 0, sizeof(*m));
}

/* Compiles one {"name","op","value"} into m; problems go to errors. */
static bool mt_init(struct ac_matcher *m, const json_t *obj, const char *path, json_t *errors)
{
    const char *name = json_string_value(json_object_get(obj, "name"));
    const char *op = json_string_value(json_object_get(obj, "op"));
    const char *value = json_string_value(json_object_get(obj, "value"));
    char p[160]; /* path (< 96) plus a field name */
    const char *k;
    json_t *v;
    bool known, ok = true;
    char buf[8];

    memset(m, 0, sizeof(*m));
    if (!json_is_object(obj)) {
        ac_event_error(errors, -1, path, "a matcher is an object {\"name\", \"op\", \"value\"}");
        return false;
    }
    json_object_foreach((json_t *)obj, k, v)
    {
        if (strcmp(k, "name") && strcmp(k, "op") && strcmp(k, "value")) {
            (void)snprintf(p, sizeof(p), "%s.%.32s", path, k);
            ac_event_error(errors, -1, p, "unknown field");
            ok = false;
        }
    }
    (void)snprintf(p, sizeof(p), "%s.name", path);
    if (!name || (ac_event_field(NULL, name, buf, &known), !known)) {
        ac_event_error(errors, -1, p, "must name an event field (type, level, labels.<key>, ...)");
        ok = false;
    }
    (void)snprintf(p, sizeof(p), "%s.op", path);
    if (!op || !ac_match_op_parse(op, &m->op)) {
        ac_event_error(errors, -1, p, "must be one of =, !=, =~, !~");
        ok = false;
    }
    (void)snprintf(p, sizeof(p), "%s.value", path);
    if (!value || ac_utf8_len(value) > AC_MATCHER_VALUE_MAX) {
        ac_event_error(errors, -1, p, "must be a string of at most %d characters",
                       AC_MATCHER_VALUE_MAX);
        ok = false;
    }
    if (!ok) {
        return false;
    }
    if (m->op == AC_MATCH_RE || m->op == AC_MATCH_NRE) {
        char why[160];
        if (!(m->re = ac_regex_shared(value, why, sizeof(why)))) {
            ac_event_error(errors, -1, p, "invalid regular expression: %s", why);
            return false;
        }
    }
    m->name = ac_xstrdup(name);
    m->value = ac_xstrdup(value);
    return true;
}

int ac_matchers_from_json(struct ac_matchers *ms, const json_t *arr, const char *path,
                          json_t *errors)
{
    char p[96];
    size_t i;
    json_t *v;
    bool ok = true;

    memset(ms, 0, sizeof(*ms));
    if (!json_is_array(arr) || json_array_size(arr) > AC_MATCHERS_MAX) {
        ac_event_error(errors, -1, path, "must be an array of at most %d matchers",
                       AC_MATCHERS_MAX);
        return AC_EINVAL;
    }
    ms->v = ac_xcalloc(json_array_size(arr) + 1, sizeof(*ms->v));
    json_array_foreach(arr, i, v)
    {
        (void)snprintf(p, sizeof(p), "%s[%zu]", path, i);
        if (!mt_init(&ms->v[ms->n], v, p, errors)) {
            ok = false;
            continue;
        }
        ms->n++;
    }
    if (!ok) {
        ac_matchers_deinit(ms);
        return AC_EINVAL;
    }
    return AC_OK;
}

void ac_matchers_deinit(struct ac_matchers *ms)
{
    for (size_t i = 0; i < ms->n; i++) {
        mt_deinit(&ms->v[i]);
    }
    free(ms->v);
    memset(ms, 0, sizeof(*ms));
}

bool ac_matcher_match(const struct ac_matcher *m, const struct ac_event *ev)
{
    char buf[8];
    bool known, hit;
    const char *v = ac_event_field(ev, m->name, buf, &known);

    v = v ? v : "";
    switch (m->op) {
        case AC_MATCH_EQ:
            return strcmp(v, m->value) == 0;
        case AC_MATCH_NE:
            return strcmp(v, m->value) != 0;
        case AC_MATCH_RE:
        case AC_MATCH_NRE:
            hit = ac_regex_match(m->re, v, strlen(v));
            return m->op == AC_MATCH_RE ? hit : !hit;
    }
    return false;
}

bool ac_matchers_match(const struct ac_matchers *ms, const struct ac_event *ev)
{
    for (size_t i = 0; i < ms->n; i++) {
        if (!ac_matcher_match(&ms->v[i], ev)) {
            return false;
        }
    }
    return true;
}
