/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The unified event model (DESIGN §3): the C type every source is normalized
 * into, its parser/validator and its serializer. event.schema.json beside
 * this file is the normative JSON Schema; this module enforces the same
 * rules and reports every problem with its JSON path.
 */
#ifndef AC_SCHEMA_EVENT_H
#define AC_SCHEMA_EVENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* Length limits of DESIGN §3, in characters (Unicode code points). */
#define AC_EVENT_ID_MAX        128
#define AC_EVENT_TYPE_MAX      128
#define AC_EVENT_TITLE_MAX     512
#define AC_EVENT_MESSAGE_MAX   16384
#define AC_EVENT_STRING_MAX    256
#define AC_EVENT_LABELS_MAX    64
#define AC_EVENT_LABEL_KEY_MAX 128
#define AC_EVENT_LABEL_VAL_MAX 1024
#define AC_EVENT_CONTEXT_MAX   65536 /* bytes of compact JSON */
#define AC_EVENT_DEPTH_MAX     32    /* nesting levels, the event object being 1 */

/* Levels compare numerically: a lower value is more severe. */
enum ac_level { AC_LEVEL_UNSET = 0, AC_LEVEL_P1 = 1, AC_LEVEL_P2, AC_LEVEL_P3, AC_LEVEL_P4 };
enum ac_trace { AC_TRACE_UNSET = 0, AC_TRACE_CONTROL, AC_TRACE_DATA, AC_TRACE_RUNTIME };
enum ac_category {
    AC_CATEGORY_UNSET = 0,
    AC_CATEGORY_RUNTIME,
    AC_CATEGORY_CHANGE,
    AC_CATEGORY_SYSTEM,
    AC_CATEGORY_CLOUD_PRODUCT
};
enum ac_status { AC_STATUS_FIRING = 0, AC_STATUS_RESOLVED };

/* Names are the JSON spellings ("P1", "control", "cloud_product", "firing").
 * _name returns NULL for UNSET; _parse returns false for unknown names. */
const char *ac_level_name(enum ac_level v);
bool ac_level_parse(const char *s, enum ac_level *out);
const char *ac_trace_name(enum ac_trace v);
bool ac_trace_parse(const char *s, enum ac_trace *out);
const char *ac_category_name(enum ac_category v);
bool ac_category_parse(const char *s, enum ac_category *out);
const char *ac_status_name(enum ac_status v);
bool ac_status_parse(const char *s, enum ac_status *out);

struct ac_resource {
    char *kind;
    char *namespace_;
    char *name;
    char *uid;
};

/* All strings are owned (freed by ac_event_deinit); NULL means absent. */
struct ac_event {
    char *id; /* client idempotency key */
    char *source;
    char *type;
    enum ac_trace trace;
    enum ac_category category;
    enum ac_level level;
    enum ac_status status;
    char *title;
    char *message;
    int64_t occurred_at; /* µs since epoch; 0 = absent */
    char *region;
    char *cluster;
    char *namespace_;
    char *app_id;
    char *user_id;
    int gc_level; /* 1..7; 0 = absent */
    char *instance;
    bool has_resource;
    struct ac_resource resource;
    json_t *labels;     /* ref: object of string -> string, or NULL */
    json_t *context;    /* ref: object, or NULL */
    char *context_json; /* context as compact JSON, when the event was parsed (owned) */

    /* Server-assigned. */
    int64_t received_at; /* µs */
    char fingerprint[33];
    /* From the event's type (registry): compression of duplicates. */
    bool retain_duplicates;  /* store every duplicate as an event row */
    int64_t compress_window; /* µs; an open alert older than this rolls over; 0 = never */
    /* From the routes (server/grouping.h): the incident group key; NULL: the type alone. */
    char *group_key;
    int64_t team; /* its route's team, else the default team; 0: none */
    /* From sources that re-send a firing alert until it ends (Prometheus,
     * Alertmanager): a re-send refreshes the open alert (last_seen, ends_at)
     * without counting as an occurrence; ends_at (µs, 0 = none) is when the
     * source says the alert ends unless it is sent again. */
    bool refresh;
    int64_t ends_at;
};

/*
 * Parse and validate one event.
 * obj:    borrowed; any JSON value (non-objects are an error).
 * ev:     caller storage, zeroed by this function; on AC_OK it holds the
 *         event and must be released with ac_event_deinit; on error it is
 *         left empty.
 * index:  position in a batch, or -1 for a single event; recorded in errors.
 * errors: borrowed JSON array; every problem is appended as
 *         {"index": i, "path": "$.labels.x", "message": "..."}.
 * Returns: true if valid; false with at least one entry appended.
 */
bool ac_event_from_json(const json_t *obj, struct ac_event *ev, long index, json_t *errors);

/*
 * Validates an event a decoder filled field by field (the Prometheus and
 * Alertmanager formats, which skip building a native document): the limits
 * ac_event_from_json enforces, reported at the native paths ("$.title",
 * "$.labels.<name>", "$.resource.name", "$.context"). Label values must
 * already be strings. context (borrowed, may be NULL): the event's context
 * object, written once as text here and kept by reference (the event then
 * shares it). Returns true if valid; on false the caller releases the event.
 */
bool ac_event_check(struct ac_event *ev, json_t *context, long index, json_t *errors);

/* Fills what the event did not carry: level P4, trace runtime,
 * occurred_at = received_at. Type-config defaults are applied before this. */
void ac_event_apply_defaults(struct ac_event *ev);

/*
 * Serialize to the normalized JSON document (fields of DESIGN §3 only; absent
 * fields omitted). Returns: new reference.
 */
json_t *ac_event_to_json(const struct ac_event *ev);
/* Its "resource" object alone (new; the event has one). */
json_t *ac_event_resource_json(const struct ac_event *ev);
/*
 * The same document as compact JSON text, written directly (the ingest
 * path's one serialization of each event): byte for byte what
 * json_dumps(ac_event_to_json(ev), JSON_COMPACT) gives, without building the
 * tree. Returns new (free()); *len (may be NULL) its length.
 */
char *ac_event_dump(const struct ac_event *ev, size_t *len);

/* Releases everything the event owns; safe on a zeroed or released event. */
void ac_event_deinit(struct ac_event *ev);

/* Appends "$.<key>: <message>" to errors for each key of obj (an object) not
 * in keys (NULL-ended). Returns whether there was none. */
bool ac_json_only_keys(const json_t *obj, const char *const *keys, const char *message,
                       json_t *errors);

/* Appends {"index"?, "path", "message"} to errors. */
void ac_event_error(json_t *errors, long index, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * The value of a field by its matcher name: a top-level field ("type",
 * "level", "gc_level", ...), "resource.<kind|namespace|name|uid>" or
 * "labels.<key>". Enums give their JSON names, gc_level its digits (in buf,
 * which needs 8 bytes). Returns borrowed value, or NULL when the event lacks
 * it. *known is false for a name that is no field at all.
 */
const char *ac_event_field(const struct ac_event *ev, const char *name, char *buf, bool *known);

/* Whether s is well-formed UTF-8 (no overlong forms, surrogates or code
 * points past U+10FFFF). */
bool ac_utf8_valid(const char *s);

/* Number of Unicode code points in a valid UTF-8 string. */
size_t ac_utf8_len(const char *s);

#endif
