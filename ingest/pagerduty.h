/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The PagerDuty Events API v2 (POST /v2/enqueue), so a sender written for
 * PagerDuty works by changing its URL:
 *
 *   {"routing_key", "event_action": "trigger" | "acknowledge" | "resolve",
 *    "dedup_key"?, "payload": {"summary", "source", "severity", "timestamp"?,
 *    "component"?, "group"?, "class"?, "custom_details"?}, "client"?,
 *    "client_url"?, "links"?, "images"?}
 *
 * The routing key is the sender's credential: it is a bearer token of the
 * ingest scope (auth.tokens), and the token's name picks the key's route in
 * the "pagerduty" section - {"routing_keys": {"<token name>": {"source",
 * "type", "labels"}}} - the events' source (default "pagerduty"), type
 * (default "PagerDuty") and labels to add (say {"team": "shop"}, for a route
 * to a team).
 *
 * A trigger becomes a firing event: summary -> title, source -> instance,
 * severity critical/error/warning/info -> P1..P4, timestamp -> occurred_at,
 * component, group and class -> labels, custom_details, links, images,
 * client and client_url -> context, and the dedup key (generated when
 * absent) -> labels.dedup_key, which alone (with the type) identifies the
 * alert: repeats fold into it. A resolve is a resolved event with the same
 * key; an acknowledge acknowledges the open alert with that key (the server
 * does it; no event).
 */
#ifndef AC_INGEST_PAGERDUTY_H
#define AC_INGEST_PAGERDUTY_H

#include <jansson.h>

#include "ingest/ingest.h"
#include "server/core/config.h"

#define AC_PD_DEDUP_MAX 255

struct ac_pd_route {
    char *token; /* the auth token's name */
    char *source;
    char *type;
    json_t *labels; /* object of strings, or NULL */
};

struct ac_pd_config {
    struct ac_pd_route *routes;
    size_t n;
};

/* The keys of the "pagerduty" section. */
extern const struct ac_cfg_entry ac_pd_cfg[];

AC_MUST_CHECK int ac_pd_config_load(const json_t *section, struct ac_pd_config *c, json_t *errors);
void ac_pd_config_deinit(struct ac_pd_config *c);
/* The route of a token name; a default one (source pagerduty, type
 * PagerDuty, no labels) when none is configured. Borrowed. */
const struct ac_pd_route *ac_pd_route_for(const struct ac_pd_config *c, const char *token);

enum ac_pd_action { AC_PD_TRIGGER, AC_PD_ACKNOWLEDGE, AC_PD_RESOLVE };

struct ac_pd_request {
    enum ac_pd_action action;
    char *routing_key;
    char *dedup_key; /* generated for a trigger without one */
    json_t *body;    /* the parsed body */
};

/*
 * Parse and check a body (borrowed, len bytes). On AC_OK req holds it
 * (ac_pd_request_deinit); on AC_EINVAL *errors is a new array of strings,
 * PagerDuty's way ("'payload.summary' is missing or blank").
 */
AC_MUST_CHECK int ac_pd_parse(const char *body, size_t len, struct ac_pd_request *req,
                              json_t **errors);
void ac_pd_request_deinit(struct ac_pd_request *req);

/*
 * The event of a trigger or resolve (or, for an acknowledge, the event that
 * names its alert: its fingerprint is the alert's), into ev (caller storage,
 * ac_event_deinit). Returns AC_OK, or AC_EINVAL with problems appended to
 * errors (what the event model refuses).
 */
AC_MUST_CHECK int ac_pd_event(const struct ac_pd_request *req, const struct ac_pd_route *route,
                              int64_t now_us, struct ac_event *ev, json_t *errors);

#endif
