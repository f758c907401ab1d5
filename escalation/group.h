/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Incident grouping (DESIGN §5 "Incidents"): which alerts are told about
 * together. Pure.
 *
 * By default an incident is the escalation scope: the open alerts of one
 * type. A route may split further with "group_by", as Alertmanager's: a list
 * of field names (any ac_event_field() knows: "cluster", "region",
 * "resource.name", "labels.node", ...), or ["..."] for one incident per
 * alert (by fingerprint). The group key is the values of those fields, as
 * "cluster=a,labels.node=n1" (a missing field is empty); it is stored with
 * the alert (alerts.group_key), and the database joins the alert to the open
 * incident of its type and key (migrations/0018).
 */
#ifndef AC_ESCALATION_GROUP_H
#define AC_ESCALATION_GROUP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "schema/event.h"
#include "server/core/err.h"
#include "server/core/matcher.h"

#define AC_GROUP_BY_MAX 8
/* A key's size with its NUL: values longer than AC_GROUP_VALUE_MAX bytes
 * are cut, and a key with a cut value ends in a hash of the whole. */
#define AC_GROUP_KEY_SIZE  768
#define AC_GROUP_VALUE_MAX 64

struct ac_group_by {
    char *fields[AC_GROUP_BY_MAX];
    size_t n;
    bool each; /* ["..."]: one incident per alert */
};

/*
 * Validates arr (borrowed; NULL or an empty list: the type alone) into g.
 * path names arr in errors ({"path", "message"}, appended). Returns AC_OK
 * (release g with ac_group_by_deinit) or AC_EINVAL (g empty).
 */
AC_MUST_CHECK int ac_group_by_from_json(struct ac_group_by *g, const json_t *arr, const char *path,
                                        json_t *errors);
void ac_group_by_deinit(struct ac_group_by *g);

/* ev's group key under g into out (AC_GROUP_KEY_SIZE bytes); "" when g
 * names no field. The fingerprint must be set for ["..."]. */
void ac_group_key(const struct ac_group_by *g, const struct ac_event *ev, char *out);

/* Routes as grouping sees them: the first whose matchers match decides the
 * key and the team (else the default team). */
struct ac_group_route {
    struct ac_matchers ms;
    struct ac_group_by by;
    int64_t team;
};

struct ac_group_routes {
    struct ac_group_route *v;
    size_t n;
    int64_t default_team; /* 0: none */
};

/* Adds a stored route document {"matchers", "team", "group_by"?}
 * (borrowed). Returns false (nothing added) when it does not load. */
bool ac_group_routes_add(struct ac_group_routes *r, const json_t *doc);
void ac_group_routes_deinit(struct ac_group_routes *r);
/* ev's key by the first matching route, else "" (the type alone); *team:
 * that route's team, else the default team (0: none). */
void ac_group_routes_key(const struct ac_group_routes *r, const struct ac_event *ev, char *out,
                         int64_t *team);

#endif
