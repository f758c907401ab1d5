/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kubernetes Events (core/v1 Event) -> the event model: the mapping the
 * watch adapter (k8s.h) and Kafka topics of format "k8s_event" share. Pure:
 * no I/O; the labels of the involved object and its namespace are looked up
 * by the caller and passed in.
 *
 * Configuration (the "kubernetes" section's mapping keys):
 *   "cluster": "prod-hz"                  -> every event's cluster
 *   "warning_only": true                  (Normal events are skipped)
 *   "rules": [{"reason": "BackOff", "message"?: "<POSIX ERE>",
 *              "type"?, "level"?, "trace"?, "category"?}, ...]
 *              (first match wins; without one: type = the reason)
 *   "app_id_keys": ["app.kubernetes.io/name", "app"],
 *   "user_id_keys": ["tenant"]            (looked up in the object's labels,
 *              then its annotations, then its namespace's labels/annotations)
 *
 * An Event maps to: source "kubernetes", status firing, title "<reason>
 * <kind>/<name>", message, occurred_at (lastTimestamp, else eventTime,
 * else firstTimestamp), namespace, resource (involvedObject: kind,
 * namespace, name, uid), labels reason, component, host; context: the
 * Event's uid, count, first and last timestamps; and the id
 * "k8s:<uid>/<count>" (series.count when present): the same Event seen again
 * (a relist) is a duplicate, while a MODIFIED Event whose count grew is a new
 * occurrence that folds into the same alert.
 */
#ifndef AC_INGEST_K8S_MAP_H
#define AC_INGEST_K8S_MAP_H

#include <jansson.h>
#include <stdbool.h>

#include "ingest/ingest.h"
#include "server/core/regex.h"

#define AC_K8S_RULES_MAX 64
#define AC_K8S_KEYS_MAX  8

struct ac_k8s_rule {
    char *reason;
    struct ac_regex *message;              /* unanchored (a search), or NULL */
    char *type, *level, *trace, *category; /* NULL: not set by the rule */
};

struct ac_k8s_map {
    char *cluster;
    bool warning_only;
    struct ac_k8s_rule rules[AC_K8S_RULES_MAX];
    size_t nrules;
    char *app_keys[AC_K8S_KEYS_MAX], *user_keys[AC_K8S_KEYS_MAX];
    size_t napp, nuser;
};

/* section: the "kubernetes" object (borrowed; other keys are ignored here).
 * Problems go to errors as strings. Returns AC_OK or AC_EINVAL (m released). */
AC_MUST_CHECK int ac_k8s_map_load(const json_t *section, struct ac_k8s_map *m, json_t *errors);
void ac_k8s_map_deinit(struct ac_k8s_map *m);

/* Whether the mapping needs the involved object's or namespace's labels. */
bool ac_k8s_map_wants_labels(const struct ac_k8s_map *m);

/*
 * Map one core/v1 Event (borrowed). obj_meta, ns_meta: the involved
 * object's and its namespace's {"labels", "annotations"} (borrowed, may be
 * NULL). Returns: 1 with *doc a new native event document (to validate with
 * ac_event_from_json); 0 when the Event is skipped (Normal with
 * warning_only); -1 with *why set (static text) for an object that is no
 * Event.
 */
int ac_k8s_map_event(const struct ac_k8s_map *m, const json_t *event, const json_t *obj_meta,
                     const json_t *ns_meta, json_t **doc, const char **why);

/* One line of a watch stream ({"type", "object"}), classified. */
enum ac_k8s_watch {
    AC_K8S_WATCH_BAD,      /* not a watch event */
    AC_K8S_WATCH_TAKE,     /* ADDED or MODIFIED: map the object */
    AC_K8S_WATCH_SKIP,     /* DELETED or another type: only its version counts */
    AC_K8S_WATCH_BOOKMARK, /* a version to resume from */
    AC_K8S_WATCH_GONE,     /* ERROR 410 / Expired: list again */
    AC_K8S_WATCH_ERROR,    /* another ERROR: reconnect */
};
/* Parses line (n bytes): *msg the document (new, may be NULL), *obj its
 * object and *rv the object's resourceVersion (borrowed from *msg; NULL
 * when absent or empty). */
enum ac_k8s_watch ac_k8s_watch_line(const char *line, size_t n, json_t **msg, const json_t **obj,
                                    const char **rv);

#endif
