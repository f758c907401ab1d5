/* SPDX-License-Identifier: Apache-2.0 */
/* Decoder of the native event formats (JSON object, JSON array, NDJSON). */
#include "ingest/native.h"

#include <string.h>

#include "server/core/mem.h"

struct ac_event *ac_event_vec_push(struct ac_event_vec *v)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 8;
        v->items = ac_xrealloc(v->items, v->cap * sizeof(*v->items));
    }
    memset(&v->items[v->n], 0, sizeof(v->items[0]));
    return &v->items[v->n++];
}

void ac_event_vec_pop(struct ac_event_vec *v)
{
    if (v->n > 0) {
        ac_event_deinit(&v->items[--v->n]);
    }
}

void ac_event_vec_deinit(struct ac_event_vec *v)
{
    for (size_t i = 0; i < v->n; i++) {
        ac_event_deinit(&v->items[i]);
    }
    free(v->items);
    memset(v, 0, sizeof(*v));
}

void ac_ingest_json_error(json_t *details, long index, long line, const json_error_t *jerr)
{
    json_t *e = json_object();

    if (index >= 0) {
        json_object_set_new(e, "index", json_integer(index));
    }
    if (line >= 0) {
        json_object_set_new(e, "line", json_integer(line));
    }
    json_object_set_new(e, "path", json_string("$"));
    json_object_set_new(e, "message",
                        json_sprintf("invalid JSON: %s (line %d, column %d)", jerr->text,
                                     jerr->line, jerr->column));
    json_array_append_new(details, e);
}

/* Validates one item into the vector; problems go to details. */
static void nt_item(const json_t *v, long index, int64_t received_at, struct ac_event_vec *out,
                    json_t *details)
{
    struct ac_event *ev = ac_event_vec_push(out);

    if (!ac_event_from_json(v, ev, index, details)) {
        ac_event_vec_pop(out);
        return;
    }
    ev->received_at = received_at;
}

bool ac_json_is_string_object(const json_t *o)
{
    const char *k;
    const json_t *v;

    if (!json_is_object(o)) {
        return false;
    }
    json_object_foreach((json_t *)o, k, v)
    {
        if (!json_is_string(v)) {
            return false;
        }
    }
    return true;
}

int ac_ingest_too_many(json_t **details, size_t max_events)
{
    *details = json_array();
    json_array_append_new(
        *details, json_pack("{s:s, s:o}", "path", "$", "message",
                            json_sprintf("more than %zu events in one request", max_events)));
    return AC_ETOOBIG;
}

static int nt_decode_json(const char *body, size_t len, size_t max_events, int64_t received_at,
                          struct ac_event_vec *out, json_t *details)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *item;
    size_t i;

    if (!root) {
        ac_ingest_json_error(details, -1, -1, &jerr);
        return AC_EINVAL;
    }
    if (json_is_array(root)) {
        if (json_array_size(root) == 0) {
            ac_event_error(details, -1, "$", "the array holds no events");
        }
        else if (json_array_size(root) > max_events) {
            json_decref(root);
            return AC_ETOOBIG;
        }
        json_array_foreach(root, i, item)
        {
            nt_item(item, (long)i, received_at, out, details);
        }
    }
    else {
        nt_item(root, -1, received_at, out, details);
    }
    json_decref(root);
    return json_array_size(details) ? AC_EINVAL : AC_OK;
}

static bool nt_blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') {
            return false;
        }
    }
    return true;
}

static int nt_decode_ndjson(const char *body, size_t len, size_t max_events, int64_t received_at,
                            struct ac_event_vec *out, json_t *details)
{
    const char *p = body, *end = body + len, *nl;
    long line = 0, index = 0;
    json_error_t jerr;
    json_t *v;

    while (p < end) {
        size_t n;

        nl = memchr(p, '\n', (size_t)(end - p));
        n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        line++;
        if (!nt_blank(p, n)) {
            if ((size_t)index >= max_events) {
                return AC_ETOOBIG;
            }
            v = json_loadb(p, n, JSON_REJECT_DUPLICATES, &jerr);
            if (!v) {
                ac_ingest_json_error(details, index, line, &jerr);
            }
            else {
                nt_item(v, index, received_at, out, details);
                json_decref(v);
            }
            index++;
        }
        p += n + (nl ? 1 : 0);
    }
    if (index == 0) {
        ac_event_error(details, -1, "$", "the body holds no events");
    }
    return json_array_size(details) ? AC_EINVAL : AC_OK;
}

int ac_native_decode(const char *body, size_t len, enum ac_native_format fmt, size_t max_events,
                     int64_t received_at, struct ac_event_vec *out, json_t **details)
{
    json_t *errs = json_array();
    int rc;

    memset(out, 0, sizeof(*out));
    *details = NULL;
    if (len == 0) {
        ac_event_error(errs, -1, "$", "the request body is empty");
        *details = errs;
        return AC_EINVAL;
    }
    rc = fmt == AC_NATIVE_NDJSON ? nt_decode_ndjson(body, len, max_events, received_at, out, errs)
                                 : nt_decode_json(body, len, max_events, received_at, out, errs);
    if (rc == AC_ETOOBIG) {
        json_decref(errs);
        ac_event_vec_deinit(out);
        return ac_ingest_too_many(details, max_events);
    }
    if (rc != AC_OK) {
        ac_event_vec_deinit(out);
        *details = errs;
        return rc;
    }
    json_decref(errs);
    return AC_OK;
}
