/* SPDX-License-Identifier: Apache-2.0 */
/* Mustache-subset templates (template.h). */
#include "escalation/notify/template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/core/mem.h"

#define TPL_PATH_MAX 128
#define TPL_DEPTH    16

const json_t *ac_tpl_lookup(const json_t *ctx, const char *path, size_t len)
{
    const json_t *v = ctx;
    size_t i = 0;

    while (i < len && v) {
        size_t j = i;
        char key[TPL_PATH_MAX];
        while (j < len && path[j] != '.') {
            j++;
        }
        if (j - i == 0 || j - i >= sizeof(key)) {
            return NULL;
        }
        memcpy(key, path + i, j - i);
        key[j - i] = '\0';
        v = json_is_object(v) ? json_object_get(v, key) : NULL;
        i = j + 1;
    }
    return v;
}

static bool tpl_truthy(const json_t *v)
{
    switch (v ? json_typeof(v) : JSON_NULL) {
        case JSON_STRING:
            return json_string_length(v) > 0;
        case JSON_INTEGER:
            return json_integer_value(v) != 0;
        case JSON_REAL:
            return json_real_value(v) != 0;
        case JSON_TRUE:
            return true;
        case JSON_ARRAY:
            return json_array_size(v) > 0;
        case JSON_OBJECT:
            return json_object_size(v) > 0;
        default:
            return false;
    }
}

static void tpl_put(struct ac_buf *b, const char *s, size_t n)
{
    if (b->len + n > AC_TPL_MAX) {
        n = AC_TPL_MAX > b->len ? AC_TPL_MAX - b->len : 0;
    }
    ac_buf_append(b, s, n);
}

static void tpl_value(struct ac_buf *b, const json_t *v, enum ac_tpl_escape esc)
{
    char *s = NULL;
    const char *text;
    size_t n;

    if (!v || json_is_null(v)) {
        return;
    }
    if (json_is_string(v)) {
        text = json_string_value(v);
        n = json_string_length(v);
    }
    else {
        s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        text = s ? s : "";
        n = strlen(text);
    }
    if (esc == AC_TPL_JSON) { /* a JSON string literal, less its quotes */
        json_t *str = json_stringn(text, n);
        char *q = str ? json_dumps(str, JSON_ENCODE_ANY) : NULL;
        if (q && strlen(q) >= 2) {
            tpl_put(b, q + 1, strlen(q) - 2);
        }
        free(q);
        json_decref(str);
    }
    else {
        tpl_put(b, text, n);
    }
    free(s);
}

/* A tag at p ("{{"): its kind ('#', '^', '/', or 0), name and end. */
static bool tpl_tag(const char *p, char *kind, const char **name, size_t *nlen, const char **end)
{
    const char *close = strstr(p + 2, "}}");
    const char *s = p + 2, *e;

    if (!close) {
        return false;
    }
    *kind = (*s == '#' || *s == '^' || *s == '/') ? *s++ : 0;
    while (*s == ' ') {
        s++;
    }
    e = close;
    while (e > s && e[-1] == ' ') {
        e--;
    }
    if (e == s || (size_t)(e - s) >= TPL_PATH_MAX) {
        return false;
    }
    for (const char *c = s; c < e; c++) {
        if (*c == '{' || *c == '}' || *c == ' ') {
            return false;
        }
    }
    *name = s;
    *nlen = (size_t)(e - s);
    *end = close + 2;
    return true;
}

/* The matching {{/name}} of a section whose body starts at p, or NULL. */
static const char *tpl_section_end(const char *p, const char *name, size_t nlen, const char **after)
{
    int depth = 0;

    while ((p = strstr(p, "{{"))) {
        char kind;
        const char *n, *e;
        size_t l;
        if (!tpl_tag(p, &kind, &n, &l, &e)) {
            p += 2;
            continue;
        }
        if ((kind == '#' || kind == '^') && l == nlen && memcmp(n, name, l) == 0) {
            depth++;
        }
        else if (kind == '/' && l == nlen && memcmp(n, name, l) == 0) {
            if (depth-- == 0) {
                *after = e;
                return p;
            }
        }
        p = e;
    }
    return NULL;
}

static void tpl_render(struct ac_buf *b, const char *p, const char *end, const json_t *ctx,
                       enum ac_tpl_escape esc, int depth)
{
    while (p < end) {
        const char *open = strstr(p, "{{"), *n, *e, *body_end, *after;
        char kind;
        size_t l;

        if (!open || open >= end) {
            tpl_put(b, p, (size_t)(end - p));
            return;
        }
        tpl_put(b, p, (size_t)(open - p));
        if (!tpl_tag(open, &kind, &n, &l, &e) || e > end || kind == '/') {
            tpl_put(b, open, 2); /* literal */
            p = open + 2;
            continue;
        }
        if (kind == 0) {
            tpl_value(b, ac_tpl_lookup(ctx, n, l), esc);
            p = e;
            continue;
        }
        body_end = tpl_section_end(e, n, l, &after);
        if (!body_end || after > end || depth >= TPL_DEPTH) {
            tpl_put(b, open, 2);
            p = open + 2;
            continue;
        }
        if (tpl_truthy(ac_tpl_lookup(ctx, n, l)) == (kind == '#')) {
            tpl_render(b, e, body_end, ctx, esc, depth + 1);
        }
        p = after;
    }
}

char *ac_tpl_render(const char *text, const json_t *ctx, enum ac_tpl_escape esc)
{
    struct ac_buf b = {0};

    ac_buf_appends(&b, "");
    tpl_render(&b, text, text + strlen(text), ctx, esc, 0);
    return ac_buf_steal(&b);
}

bool ac_tpl_check(const char *text, char *err, size_t errlen)
{
    const char *p = text;
    const char *stack[TPL_DEPTH];
    size_t slen[TPL_DEPTH];
    int depth = 0;

    while ((p = strstr(p, "{{"))) {
        char kind;
        const char *n, *e;
        size_t l;
        if (!tpl_tag(p, &kind, &n, &l, &e)) {
            (void)snprintf(err, errlen, "malformed tag at offset %zu", (size_t)(p - text));
            return false;
        }
        if (kind == '#' || kind == '^') {
            if (depth == TPL_DEPTH) {
                (void)snprintf(err, errlen, "sections nested deeper than %d", TPL_DEPTH);
                return false;
            }
            stack[depth] = n;
            slen[depth++] = l;
        }
        else if (kind == '/') {
            if (depth == 0 || slen[depth - 1] != l || memcmp(stack[depth - 1], n, l) != 0) {
                (void)snprintf(err, errlen, "{{/%.*s}} closes no open section", (int)l, n);
                return false;
            }
            depth--;
        }
        p = e;
    }
    if (depth > 0) {
        (void)snprintf(err, errlen, "section {{#%.*s}} is not closed", (int)slen[depth - 1],
                       stack[depth - 1]);
        return false;
    }
    return true;
}
