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

/* A double-quoted value from s (just past the opening quote) into out; the
 * end of s must follow the closing quote (but for spaces). */
static bool mt_unquote(const char *s, struct ac_buf *out)
{
    for (; *s && *s != '"'; s++) {
        if (*s == '\\') {
            s++;
            if (*s == 'n') {
                ac_buf_append(out, "\n", 1);
            }
            else if (*s == '"' || *s == '\\') {
                ac_buf_append(out, s, 1);
            }
            else {
                return false;
            }
        }
        else {
            ac_buf_append(out, s, 1);
        }
    }
    if (*s != '"') {
        return false;
    }
    for (s++; *s == ' ' || *s == '\t'; s++) {
    }
    return *s == '\0';
}

json_t *ac_matcher_parse_text(const char *text, char *err, size_t errlen)
{
    const char *s = text, *name, *op;
    size_t nlen, olen;
    struct ac_buf v;
    char opbuf[3];
    enum ac_match_op code;
    json_t *out = NULL;

    while (*s == ' ' || *s == '\t') {
        s++;
    }
    name = s;
    if (!(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))) {
        (void)snprintf(err, errlen, "a matcher starts with a label name: %.64s", text);
        return NULL;
    }
    while (*s == '_' || *s == '.' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
           (*s >= '0' && *s <= '9')) {
        s++;
    }
    nlen = (size_t)(s - name);
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    op = s;
    olen = strspn(s, "=!~");
    if (olen == 0 || olen > 2) {
        (void)snprintf(err, errlen, "no operator (=, !=, =~, !~) after the name in: %.64s", text);
        return NULL;
    }
    memcpy(opbuf, op, olen);
    opbuf[olen] = '\0';
    if (!ac_match_op_parse(opbuf, &code)) {
        (void)snprintf(err, errlen, "%s is not an operator (=, !=, =~, !~)", opbuf);
        return NULL;
    }
    for (s += olen; *s == ' ' || *s == '\t'; s++) {
    }
    memset(&v, 0, sizeof(v));
    if (*s == '"') {
        if (!mt_unquote(s + 1, &v)) {
            (void)snprintf(err, errlen, "the quoted value is not closed or has a bad escape: %.64s",
                           text);
            ac_buf_deinit(&v);
            return NULL;
        }
    }
    else {
        size_t len = strlen(s);
        while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t')) {
            len--;
        }
        ac_buf_append(&v, s, len);
    }
    ac_buf_append(&v, "", 0);
    out = json_pack("{s:s%, s:s, s:s}", "name", name, nlen, "op", ac_match_op_name(code), "value",
                    v.data);
    ac_buf_deinit(&v);
    if (!out) {
        (void)snprintf(err, errlen, "the matcher is not valid UTF-8");
    }
    return out;
}
