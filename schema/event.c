/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Parser, validator and serializer of the unified event model.
 *
 * Validation collects every problem instead of stopping at the first, so a
 * sender sees all its mistakes in one answer. Fields are described by a table
 * (name, kind, limit, struct offset); unknown fields are errors, as in the
 * JSON Schema's "additionalProperties": false.
 */
#include "schema/event.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/timefmt.h"

static const char *const level_names[] = {NULL, "P1", "P2", "P3", "P4"};
static const char *const trace_names[] = {NULL, "control", "data", "runtime"};
static const char *const category_names[] = {NULL, "runtime", "change", "system", "cloud_product"};
static const char *const status_names[] = {"firing", "resolved"};

static bool ev_enum_parse(const char *const *names, int n, const char *s, int *out)
{
    for (int i = 0; i < n; i++) {
        if (names[i] && strcmp(names[i], s) == 0) {
            *out = i;
            return true;
        }
    }
    return false;
}

#define EV_ENUM_FUNCS(kind, type, table)                                                           \
    const char *ac_##kind##_name(type v)                                                           \
    {                                                                                              \
        int n = (int)(sizeof(table) / sizeof(table[0]));                                           \
        return ((int)v >= 0 && (int)v < n) ? table[v] : NULL;                                      \
    }                                                                                              \
    bool ac_##kind##_parse(const char *s, type *out)                                               \
    {                                                                                              \
        int v;                                                                                     \
        if (!ev_enum_parse(table, (int)(sizeof(table) / sizeof(table[0])), s, &v)) {               \
            return false;                                                                          \
        }                                                                                          \
        *out = (type)v;                                                                            \
        return true;                                                                               \
    }

EV_ENUM_FUNCS(level, enum ac_level, level_names)
EV_ENUM_FUNCS(trace, enum ac_trace, trace_names)
EV_ENUM_FUNCS(category, enum ac_category, category_names)
EV_ENUM_FUNCS(status, enum ac_status, status_names)

/* Out of memory aborts, as everywhere in the server (mem.h). */
static char *ev_xstrdup(const char *s)
{
    char *d = strdup(s);

    if (!d) {
        abort();
    }
    return d;
}

bool ac_utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p) {
        unsigned c = *p, n, cp;
        if (c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1, cp = c & 0x1F;
        }
        else if (c >= 0xE0 && c <= 0xEF) {
            n = 2, cp = c & 0x0F;
        }
        else if (c >= 0xF0 && c <= 0xF4) {
            n = 3, cp = c & 0x07;
        }
        else {
            return false; /* a continuation byte, an overlong lead, or past U+10FFFF */
        }
        for (unsigned i = 1; i <= n; i++) {
            if ((p[i] & 0xC0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF)) {
            return false; /* overlong, out of range, or a surrogate */
        }
        p += n + 1;
    }
    return true;
}

size_t ac_utf8_len(const char *s)
{
    size_t n = 0;

    for (; *s; s++) {
        if (((unsigned char)*s & 0xC0) != 0x80) {
            n++;
        }
    }
    return n;
}

void ac_event_error(json_t *errors, long index, const char *path, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    json_t *e;

    va_start(ap, fmt);
    (void)vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    e = json_object();
    if (index >= 0) {
        json_object_set_new(e, "index", json_integer(index));
    }
    json_object_set_new(e, "path", json_string(path));
    json_object_set_new(e, "message", json_string(msg));
    json_array_append_new(errors, e);
}

enum ev_kind {
    EV_STR,
    EV_LEVEL,
    EV_TRACE,
    EV_CATEGORY,
    EV_STATUS,
    EV_SPEC,
    EV_TIME,
    EV_GC,
    EV_RESOURCE,
    EV_LABELS,
    EV_CONTEXT
};

struct ev_field {
    const char *name;
    enum ev_kind kind;
    size_t max;    /* characters, for EV_STR */
    size_t offset; /* into struct ac_event */
    bool required;
};

#define EVO(f) offsetof(struct ac_event, f)

static const struct ev_field ev_fields[] = {
    {"spec_version", EV_SPEC, 0, 0, false},
    {"id", EV_STR, AC_EVENT_ID_MAX, EVO(id), false},
    {"source", EV_STR, AC_EVENT_STRING_MAX, EVO(source), true},
    {"type", EV_STR, AC_EVENT_TYPE_MAX, EVO(type), true},
    {"trace", EV_TRACE, 0, EVO(trace), false},
    {"category", EV_CATEGORY, 0, EVO(category), false},
    {"level", EV_LEVEL, 0, EVO(level), false},
    {"status", EV_STATUS, 0, EVO(status), false},
    {"title", EV_STR, AC_EVENT_TITLE_MAX, EVO(title), true},
    {"message", EV_STR, AC_EVENT_MESSAGE_MAX, EVO(message), false},
    {"occurred_at", EV_TIME, 0, EVO(occurred_at), false},
    {"region", EV_STR, AC_EVENT_STRING_MAX, EVO(region), false},
    {"cluster", EV_STR, AC_EVENT_STRING_MAX, EVO(cluster), false},
    {"namespace", EV_STR, AC_EVENT_STRING_MAX, EVO(namespace_), false},
    {"app_id", EV_STR, AC_EVENT_STRING_MAX, EVO(app_id), false},
    {"user_id", EV_STR, AC_EVENT_STRING_MAX, EVO(user_id), false},
    {"gc_level", EV_GC, 0, EVO(gc_level), false},
    {"instance", EV_STR, AC_EVENT_STRING_MAX, EVO(instance), false},
    {"resource", EV_RESOURCE, 0, 0, false},
    {"labels", EV_LABELS, 0, 0, false},
    {"context", EV_CONTEXT, 0, 0, false},
    {NULL, EV_STR, 0, 0, false},
};

static const struct {
    const char *name;
    size_t offset;
} ev_resource_fields[] = {
    {"kind", offsetof(struct ac_resource, kind)},
    {"namespace", offsetof(struct ac_resource, namespace_)},
    {"name", offsetof(struct ac_resource, name)},
    {"uid", offsetof(struct ac_resource, uid)},
};

static char *ev_dump_value(const json_t *v, size_t *len);

/* Nesting depth: containers count one level each, scalars none. Stops
 * descending past limit (the answer is then already over it). */
static int ev_depth(const json_t *v, int limit)
{
    int max = 0, d;
    size_t i;
    const char *k;
    json_t *c;

    if (!json_is_object(v) && !json_is_array(v)) {
        return 0;
    }
    if (limit <= 0) {
        return 1;
    }
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, c)
        {
            d = ev_depth(c, limit - 1);
            max = d > max ? d : max;
        }
    }
    else {
        json_array_foreach(v, i, c)
        {
            d = ev_depth(c, limit - 1);
            max = d > max ? d : max;
        }
    }
    return max + 1;
}

/* Whether s keeps to a character limit (0: none); the problem goes to errors. */
static bool ev_len_ok(const char *s, size_t max, long index, const char *path, json_t *errors)
{
    size_t n;

    if (!max) {
        return true;
    }
    n = ac_utf8_len(s);
    if (n > max) {
        ac_event_error(errors, index, path, "longer than %zu characters (%zu)", max, n);
        return false;
    }
    return true;
}

/* Validates a string value against a character limit; returns a new copy or NULL. */
static char *ev_string(const json_t *v, size_t max, long index, const char *path, json_t *errors)
{
    if (!json_is_string(v)) {
        ac_event_error(errors, index, path, "must be a string");
        return NULL;
    }
    if (!ev_len_ok(json_string_value(v), max, index, path, errors)) {
        return NULL;
    }
    return ev_xstrdup(json_string_value(v));
}

static void ev_parse_resource(const json_t *v, struct ac_event *ev, long index, json_t *errors)
{
    const char *k;
    json_t *c;
    char path[160];
    bool known;

    if (!json_is_object(v)) {
        ac_event_error(errors, index, "$.resource", "must be an object");
        return;
    }
    ev->has_resource = true;
    json_object_foreach((json_t *)v, k, c)
    {
        known = false;
        (void)snprintf(path, sizeof(path), "$.resource.%.128s", k);
        for (size_t i = 0; i < sizeof(ev_resource_fields) / sizeof(ev_resource_fields[0]); i++) {
            if (strcmp(k, ev_resource_fields[i].name) == 0) {
                char **slot = (char **)((char *)&ev->resource + ev_resource_fields[i].offset);
                *slot = ev_string(c, AC_EVENT_STRING_MAX, index, path, errors);
                known = true;
            }
        }
        if (!known) {
            ac_event_error(errors, index, path, "unknown field");
        }
    }
}

/* The labels' limits (v: an object); problems go to errors. */
static bool ev_labels_ok(const json_t *v, long index, json_t *errors)
{
    const char *k;
    json_t *c;
    char path[160];
    size_t n;
    bool ok = true;

    if (json_object_size(v) > AC_EVENT_LABELS_MAX) {
        ac_event_error(errors, index, "$.labels", "more than %d labels (%zu)", AC_EVENT_LABELS_MAX,
                       json_object_size(v));
        ok = false;
    }
    json_object_foreach((json_t *)v, k, c)
    {
        (void)snprintf(path, sizeof(path), "$.labels.%.128s", k);
        n = ac_utf8_len(k);
        if (n == 0 || n > AC_EVENT_LABEL_KEY_MAX) {
            ac_event_error(errors, index, path, "label name must have 1 to %d characters",
                           AC_EVENT_LABEL_KEY_MAX);
            ok = false;
        }
        if (!json_is_string(c)) {
            ac_event_error(errors, index, path, "must be a string");
            ok = false;
        }
        else if (ac_utf8_len(json_string_value(c)) > AC_EVENT_LABEL_VAL_MAX) {
            ac_event_error(errors, index, path, "longer than %d characters",
                           AC_EVENT_LABEL_VAL_MAX);
            ok = false;
        }
    }
    return ok;
}

static void ev_parse_labels(const json_t *v, struct ac_event *ev, long index, json_t *errors)
{
    if (!json_is_object(v)) {
        ac_event_error(errors, index, "$.labels", "must be an object of strings");
        return;
    }
    if (ev_labels_ok(v, index, errors)) {
        ev->labels = json_deep_copy(v);
    }
}

/* The context (an object) written once as compact JSON into ev->context_json,
 * measured on that text and stored as it is (ac_event_dump). Returns false,
 * the problem in errors, when it is too large. */
static bool ev_context_dump(const json_t *v, struct ac_event *ev, long index, json_t *errors)
{
    size_t size;

    ev->context_json = ev_dump_value(v, &size);
    if (size > AC_EVENT_CONTEXT_MAX) {
        ac_event_error(errors, index, "$.context", "larger than %d bytes (%zu)",
                       AC_EVENT_CONTEXT_MAX, size);
        free(ev->context_json);
        ev->context_json = NULL;
        return false;
    }
    return true;
}

static void ev_parse_context(const json_t *v, struct ac_event *ev, long index, json_t *errors)
{
    if (!json_is_object(v)) {
        ac_event_error(errors, index, "$.context", "must be an object");
        return;
    }
    if (ev_context_dump(v, ev, index, errors)) {
        ev->context = json_deep_copy(v);
    }
}

static void ev_parse_enum(const struct ev_field *f, const json_t *v, struct ac_event *ev,
                          long index, const char *path, json_t *errors)
{
    const char *s = json_string_value(v);
    void *slot = (char *)ev + f->offset;
    bool ok = false;

    if (!s) {
        ac_event_error(errors, index, path, "must be a string");
        return;
    }
    switch (f->kind) {
        case EV_LEVEL:
            ok = ac_level_parse(s, (enum ac_level *)slot);
            break;
        case EV_TRACE:
            ok = ac_trace_parse(s, (enum ac_trace *)slot);
            break;
        case EV_CATEGORY:
            ok = ac_category_parse(s, (enum ac_category *)slot);
            break;
        case EV_STATUS:
            ok = ac_status_parse(s, (enum ac_status *)slot);
            break;
        default:
            break;
    }
    if (!ok) {
        static const char *const allowed[] = {
            [EV_LEVEL] = "P1, P2, P3, P4",
            [EV_TRACE] = "control, data, runtime",
            [EV_CATEGORY] = "runtime, change, system, cloud_product",
            [EV_STATUS] = "firing, resolved",
        };
        ac_event_error(errors, index, path, "unknown value \"%.64s\" (one of %s)", s,
                       allowed[f->kind]);
    }
}

static void ev_parse_field(const struct ev_field *f, const json_t *v, struct ac_event *ev,
                           long index, json_t *errors)
{
    char path[64];
    const char *s;

    (void)snprintf(path, sizeof(path), "$.%s", f->name);
    switch (f->kind) {
        case EV_STR:
            *(char **)((char *)ev + f->offset) = ev_string(v, f->max, index, path, errors);
            if (f->required && json_is_string(v) && json_string_length(v) == 0) {
                ac_event_error(errors, index, path, "must not be empty");
            }
            break;
        case EV_LEVEL:
        case EV_TRACE:
        case EV_CATEGORY:
        case EV_STATUS:
            ev_parse_enum(f, v, ev, index, path, errors);
            break;
        case EV_SPEC:
            if (!json_is_string(v) || strcmp(json_string_value(v), "1") != 0) {
                ac_event_error(errors, index, path, "must be \"1\"");
            }
            break;
        case EV_TIME:
            s = json_string_value(v);
            if (!s || !ac_time_parse(s, &ev->occurred_at)) {
                ac_event_error(errors, index, path, "must be an RFC 3339 timestamp");
            }
            break;
        case EV_GC:
            if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 7) {
                ac_event_error(errors, index, path, "must be an integer from 1 to 7");
            }
            else {
                ev->gc_level = (int)json_integer_value(v);
            }
            break;
        case EV_RESOURCE:
            ev_parse_resource(v, ev, index, errors);
            break;
        case EV_LABELS:
            ev_parse_labels(v, ev, index, errors);
            break;
        case EV_CONTEXT:
            ev_parse_context(v, ev, index, errors);
            break;
    }
}

bool ac_event_from_json(const json_t *obj, struct ac_event *ev, long index, json_t *errors)
{
    size_t before = json_array_size(errors);
    const char *k;
    json_t *v;
    const struct ev_field *f;

    memset(ev, 0, sizeof(*ev));
    if (!json_is_object(obj)) {
        ac_event_error(errors, index, "$", "an event must be a JSON object");
        return false;
    }
    if (ev_depth(obj, AC_EVENT_DEPTH_MAX + 1) > AC_EVENT_DEPTH_MAX) {
        ac_event_error(errors, index, "$", "nesting deeper than %d levels", AC_EVENT_DEPTH_MAX);
        return false;
    }
    json_object_foreach((json_t *)obj, k, v)
    {
        for (f = ev_fields; f->name; f++) {
            if (strcmp(f->name, k) == 0) {
                break;
            }
        }
        if (!f->name) {
            char path[160];
            (void)snprintf(path, sizeof(path), "$.%.128s", k);
            ac_event_error(errors, index, path, "unknown field");
            continue;
        }
        ev_parse_field(f, v, ev, index, errors);
    }
    for (f = ev_fields; f->name; f++) {
        if (f->required && !json_object_get(obj, f->name)) {
            char path[64];
            (void)snprintf(path, sizeof(path), "$.%s", f->name);
            ac_event_error(errors, index, path, "required field is missing");
        }
    }
    if (json_array_size(errors) != before) {
        ac_event_deinit(ev);
        return false;
    }
    return true;
}

bool ac_event_check(struct ac_event *ev, json_t *context, long index, json_t *errors)
{
    size_t before = json_array_size(errors);
    const struct ev_field *f;
    char path[64];

    for (f = ev_fields; f->name; f++) {
        const char *v;

        if (f->kind != EV_STR) {
            continue;
        }
        /* (the path is written only for an error: this runs for every event) */
        v = *(char **)((char *)ev + f->offset);
        if (f->required && (!v || !*v)) {
            (void)snprintf(path, sizeof(path), "$.%s", f->name);
            ac_event_error(errors, index, path,
                           v ? "must not be empty" : "required field is missing");
        }
        else if (v && f->max && ac_utf8_len(v) > f->max) {
            (void)snprintf(path, sizeof(path), "$.%s", f->name);
            (void)ev_len_ok(v, f->max, index, path, errors);
        }
    }
    for (size_t i = 0;
         ev->has_resource && i < sizeof(ev_resource_fields) / sizeof(ev_resource_fields[0]); i++) {
        const char *v = *(char **)((char *)&ev->resource + ev_resource_fields[i].offset);

        if (v && ac_utf8_len(v) > AC_EVENT_STRING_MAX) {
            (void)snprintf(path, sizeof(path), "$.resource.%s", ev_resource_fields[i].name);
            (void)ev_len_ok(v, AC_EVENT_STRING_MAX, index, path, errors);
        }
    }
    if (ev->labels) {
        (void)ev_labels_ok(ev->labels, index, errors);
    }
    if (context) {
        if (ev_depth(context, AC_EVENT_DEPTH_MAX) > AC_EVENT_DEPTH_MAX - 1) {
            ac_event_error(errors, index, "$.context", "nesting deeper than %d levels",
                           AC_EVENT_DEPTH_MAX);
        }
        else if (ev_context_dump(context, ev, index, errors)) {
            ev->context = json_incref(context);
        }
    }
    return json_array_size(errors) == before;
}

void ac_event_apply_defaults(struct ac_event *ev)
{
    if (ev->level == AC_LEVEL_UNSET) {
        ev->level = AC_LEVEL_P4;
    }
    if (ev->trace == AC_TRACE_UNSET) {
        ev->trace = AC_TRACE_RUNTIME;
    }
    if (ev->occurred_at == 0) {
        ev->occurred_at = ev->received_at;
    }
}

static void ev_set_str(json_t *o, const char *k, const char *v)
{
    if (v) {
        json_object_set_new(o, k, json_string(v));
    }
}

json_t *ac_event_resource_json(const struct ac_event *ev)
{
    json_t *r = json_object();

    ev_set_str(r, "kind", ev->resource.kind);
    ev_set_str(r, "namespace", ev->resource.namespace_);
    ev_set_str(r, "name", ev->resource.name);
    ev_set_str(r, "uid", ev->resource.uid);
    return r;
}

json_t *ac_event_to_json(const struct ac_event *ev)
{
    json_t *o = json_object();
    char ts[AC_TIME_STRLEN];

    json_object_set_new(o, "spec_version", json_string("1"));
    ev_set_str(o, "id", ev->id);
    ev_set_str(o, "source", ev->source);
    ev_set_str(o, "type", ev->type);
    ev_set_str(o, "trace", ac_trace_name(ev->trace));
    ev_set_str(o, "category", ac_category_name(ev->category));
    ev_set_str(o, "level", ac_level_name(ev->level));
    ev_set_str(o, "status", ac_status_name(ev->status));
    ev_set_str(o, "title", ev->title);
    ev_set_str(o, "message", ev->message);
    if (ev->occurred_at) {
        ac_time_format(ev->occurred_at, ts);
        json_object_set_new(o, "occurred_at", json_string(ts));
    }
    ev_set_str(o, "region", ev->region);
    ev_set_str(o, "cluster", ev->cluster);
    ev_set_str(o, "namespace", ev->namespace_);
    ev_set_str(o, "app_id", ev->app_id);
    ev_set_str(o, "user_id", ev->user_id);
    if (ev->gc_level) {
        json_object_set_new(o, "gc_level", json_integer(ev->gc_level));
    }
    ev_set_str(o, "instance", ev->instance);
    if (ev->has_resource) {
        json_object_set_new(o, "resource", ac_event_resource_json(ev));
    }
    if (ev->labels) {
        json_object_set(o, "labels", ev->labels);
    }
    if (ev->context) {
        json_object_set(o, "context", ev->context);
    }
    return o;
}

/* A growable text for ac_event_dump. */
struct ev_out {
    char *p;
    size_t n, cap;
};

static void ev_put(struct ev_out *o, const char *s, size_t n)
{
    if (o->n + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 1024;
        while (cap < o->n + n + 1) {
            cap *= 2;
        }
        char *p = realloc(o->p, cap);
        if (!p) {
            abort(); /* as the server's allocation wrappers do */
        }
        o->p = p;
        o->cap = cap;
    }
    memcpy(o->p + o->n, s, n);
    o->n += n;
    o->p[o->n] = '\0';
}

/* A JSON string as jansson writes it (compact, UTF-8 kept, "/" as is). */
static void ev_put_str(struct ev_out *o, const char *s)
{
    static const char hex[] = "0123456789ABCDEF"; /* jansson: \u%04X */
    const char *run = s;

    ev_put(o, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        const char *esc = NULL;
        char u[7];
        if (c >= 0x20 && c != '"' && c != '\\') {
            continue;
        }
        ev_put(o, run, (size_t)(s - run));
        switch (c) {
            case '"':
                esc = "\\\"";
                break;
            case '\\':
                esc = "\\\\";
                break;
            case '\b':
                esc = "\\b";
                break;
            case '\f':
                esc = "\\f";
                break;
            case '\n':
                esc = "\\n";
                break;
            case '\r':
                esc = "\\r";
                break;
            case '\t':
                esc = "\\t";
                break;
            default:
                u[0] = '\\';
                u[1] = 'u';
                u[2] = '0';
                u[3] = '0';
                u[4] = hex[c >> 4];
                u[5] = hex[c & 15];
                u[6] = '\0';
                esc = u;
        }
        ev_put(o, esc, strlen(esc));
        run = s + 1;
    }
    ev_put(o, run, (size_t)(s - run));
    ev_put(o, "\"", 1);
}

/* ,"key":"value" (or {"key":... first), when value is set. */
static void ev_put_field(struct ev_out *o, const char *key, const char *v)
{
    if (!v) {
        return;
    }
    ev_put(o, o->p[o->n - 1] == '{' ? "\"" : ",\"", o->p[o->n - 1] == '{' ? 1 : 2);
    ev_put(o, key, strlen(key));
    ev_put(o, "\":", 2);
    ev_put_str(o, v);
}

static int ev_put_cb(const char *buf, size_t size, void *data)
{
    ev_put(data, buf, size);
    return 0;
}

/* A value as json_dumps(v, JSON_COMPACT) writes it: containers and strings
 * here (most of a document), other scalars by jansson. Depth: the caller's
 * (validated against AC_EVENT_DEPTH_MAX). */
static void ev_put_value(struct ev_out *o, const json_t *v)
{
    const char *k;
    json_t *c;
    size_t i;

    switch (json_typeof(v)) {
        case JSON_OBJECT:
            ev_put(o, "{", 1);
            i = 0;
            json_object_foreach((json_t *)v, k, c)
            {
                if (i++) {
                    ev_put(o, ",", 1);
                }
                ev_put_str(o, k);
                ev_put(o, ":", 1);
                ev_put_value(o, c);
            }
            ev_put(o, "}", 1);
            break;
        case JSON_ARRAY:
            ev_put(o, "[", 1);
            json_array_foreach(v, i, c)
            {
                if (i) {
                    ev_put(o, ",", 1);
                }
                ev_put_value(o, c);
            }
            ev_put(o, "]", 1);
            break;
        case JSON_STRING:
            ev_put_str(o, json_string_value(v));
            break;
        default:
            (void)json_dump_callback(v, ev_put_cb, o, JSON_COMPACT | JSON_ENCODE_ANY);
    }
}

static void ev_put_json(struct ev_out *o, const char *key, const json_t *v)
{
    ev_put(o, ",\"", 2);
    ev_put(o, key, strlen(key));
    ev_put(o, "\":", 2);
    ev_put_value(o, v);
}

static char *ev_dump_value(const json_t *v, size_t *len)
{
    struct ev_out o = {NULL, 0, 0};

    ev_put_value(&o, v);
    *len = o.n;
    return o.p;
}

char *ac_event_dump(const struct ac_event *ev, size_t *len)
{
    struct ev_out o = {NULL, 0, 0};
    char ts[AC_TIME_STRLEN];

    ev_put(&o, "{\"spec_version\":\"1\"", 19);
    ev_put_field(&o, "id", ev->id);
    ev_put_field(&o, "source", ev->source);
    ev_put_field(&o, "type", ev->type);
    ev_put_field(&o, "trace", ac_trace_name(ev->trace));
    ev_put_field(&o, "category", ac_category_name(ev->category));
    ev_put_field(&o, "level", ac_level_name(ev->level));
    ev_put_field(&o, "status", ac_status_name(ev->status));
    ev_put_field(&o, "title", ev->title);
    ev_put_field(&o, "message", ev->message);
    if (ev->occurred_at) {
        ac_time_format(ev->occurred_at, ts);
        ev_put_field(&o, "occurred_at", ts);
    }
    ev_put_field(&o, "region", ev->region);
    ev_put_field(&o, "cluster", ev->cluster);
    ev_put_field(&o, "namespace", ev->namespace_);
    ev_put_field(&o, "app_id", ev->app_id);
    ev_put_field(&o, "user_id", ev->user_id);
    if (ev->gc_level) {
        char n[24];
        int k = snprintf(n, sizeof(n), ",\"gc_level\":%d", ev->gc_level);
        ev_put(&o, n, (size_t)k);
    }
    ev_put_field(&o, "instance", ev->instance);
    if (ev->has_resource) {
        ev_put(&o, ",\"resource\":{", 13);
        ev_put_field(&o, "kind", ev->resource.kind);
        ev_put_field(&o, "namespace", ev->resource.namespace_);
        ev_put_field(&o, "name", ev->resource.name);
        ev_put_field(&o, "uid", ev->resource.uid);
        ev_put(&o, "}", 1);
    }
    if (ev->labels) {
        ev_put_json(&o, "labels", ev->labels);
    }
    if (ev->context_json) {
        ev_put(&o, ",\"context\":", 11);
        ev_put(&o, ev->context_json, strlen(ev->context_json));
    }
    else if (ev->context) {
        ev_put_json(&o, "context", ev->context);
    }
    ev_put(&o, "}", 1);
    if (len) {
        *len = o.n;
    }
    return o.p;
}

bool ac_json_only_keys(const json_t *obj, const char *const *keys, const char *message,
                       json_t *errors)
{
    const char *k;
    const json_t *v;
    bool ok = true;

    json_object_foreach((json_t *)obj, k, v)
    {
        bool known = false;
        for (const char *const *p = keys; *p && !known; p++) {
            known = strcmp(*p, k) == 0;
        }
        if (!known) {
            char path[160];
            (void)snprintf(path, sizeof(path), "$.%.100s", k);
            ac_event_error(errors, -1, path, "%s", message);
            ok = false;
        }
    }
    return ok;
}

void ac_event_deinit(struct ac_event *ev)
{
    char **strs[] = {&ev->id,
                     &ev->source,
                     &ev->type,
                     &ev->title,
                     &ev->message,
                     &ev->region,
                     &ev->cluster,
                     &ev->namespace_,
                     &ev->app_id,
                     &ev->user_id,
                     &ev->instance,
                     &ev->resource.kind,
                     &ev->resource.namespace_,
                     &ev->resource.name,
                     &ev->resource.uid,
                     &ev->group_key};

    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        free(*strs[i]);
        *strs[i] = NULL;
    }
    json_decref(ev->labels);
    json_decref(ev->context);
    ev->labels = ev->context = NULL;
    free(ev->context_json);
    ev->context_json = NULL;
}

const char *ac_event_field(const struct ac_event *ev, const char *name, char *buf, bool *known)
{
    static const struct {
        const char *name;
        size_t offset;
    } strs[] = {
        {"id", offsetof(struct ac_event, id)},
        {"source", offsetof(struct ac_event, source)},
        {"type", offsetof(struct ac_event, type)},
        {"title", offsetof(struct ac_event, title)},
        {"message", offsetof(struct ac_event, message)},
        {"region", offsetof(struct ac_event, region)},
        {"cluster", offsetof(struct ac_event, cluster)},
        {"namespace", offsetof(struct ac_event, namespace_)},
        {"app_id", offsetof(struct ac_event, app_id)},
        {"user_id", offsetof(struct ac_event, user_id)},
        {"instance", offsetof(struct ac_event, instance)},
        {"resource.kind", offsetof(struct ac_event, resource.kind)},
        {"resource.namespace", offsetof(struct ac_event, resource.namespace_)},
        {"resource.name", offsetof(struct ac_event, resource.name)},
        {"resource.uid", offsetof(struct ac_event, resource.uid)},
    };

    *known = true;
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        if (strcmp(name, strs[i].name) == 0) {
            return ev ? *(char *const *)((const char *)ev + strs[i].offset) : NULL;
        }
    }
    if (strcmp(name, "level") == 0) {
        return ev ? ac_level_name(ev->level) : NULL;
    }
    if (strcmp(name, "trace") == 0) {
        return ev ? ac_trace_name(ev->trace) : NULL;
    }
    if (strcmp(name, "category") == 0) {
        return ev ? ac_category_name(ev->category) : NULL;
    }
    if (strcmp(name, "status") == 0) {
        return ev ? ac_status_name(ev->status) : NULL;
    }
    if (strcmp(name, "gc_level") == 0) {
        if (!ev || !ev->gc_level) {
            return NULL;
        }
        (void)snprintf(buf, 8, "%d", ev->gc_level);
        return buf;
    }
    if (strncmp(name, "labels.", 7) == 0 && name[7] != '\0') {
        return (ev && ev->labels) ? json_string_value(json_object_get(ev->labels, name + 7)) : NULL;
    }
    *known = false;
    return NULL;
}
