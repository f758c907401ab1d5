/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Prometheus / Alertmanager formats (DESIGN §8), decoded into the unified
 * event model so existing senders work unchanged:
 *
 *   - Alertmanager API v2 postable alerts, as Prometheus (and amtool, Grafana,
 *     Loki's ruler) send them to POST /api/v2/alerts: a JSON array of
 *     {labels, annotations?, startsAt?, endsAt?, generatorURL?};
 *   - the Alertmanager webhook v4 body a receiver POSTs to
 *     /v1/ingest/alertmanager: {version "4", status, receiver, groupKey,
 *     truncatedAlerts, groupLabels, commonLabels, ..., alerts: [...]}.
 *
 * Mapping of one alert:
 *   labels.alertname (required) -> type; the level label (default
 *   "severity": critical/error/warning/info -> P1..P4, configurable; any
 *   other value leaves the level to the type's default); the dimension labels
 *   (default region, cluster, namespace, app_id, user_id, instance) -> the
 *   event's dimensions; pod (with namespace) -> resource {kind Pod}; every
 *   label but alertname is kept in labels; annotations summary -> title (else
 *   the alertname), description (else message) -> message; startsAt ->
 *   occurred_at; the annotations, generatorURL, startsAt and endsAt (and for
 *   the webhook its receiver, groupKey and the alert's fingerprint) ->
 *   context.
 *   Status: v2 - resolved when endsAt is in the past, else firing; webhook -
 *   the alert's status.
 *   Identity: Prometheus re-sends every active alert each evaluation; the
 *   event id (idempotency key) is a hash of the label set, startsAt and the
 *   status, so a re-send is a duplicate, not a new occurrence, while a new
 *   firing (new startsAt) or the resolve is an event of its own. An alert
 *   without startsAt has no id: each post counts.
 *
 * Decoding is all-or-nothing like the native format: any bad alert rejects
 * the body, every problem reported with the alert's index.
 */
#ifndef AC_INGEST_ALERTMANAGER_H
#define AC_INGEST_ALERTMANAGER_H

#include <jansson.h>

#include "ingest/ingest.h"
#include "server/core/config.h"

#define AC_AM_LEVELS_MAX 16

/* The "prometheus" section of the configuration:
 *   {"level_label": "severity",
 *    "levels": {"critical": "P1", "error": "P2", "warning": "P3", "info": "P4"},
 *    "dimensions": {"app_id": "app", ...}}  (event field -> label name) */
struct ac_am_config {
    char *level_label;
    struct {
        char *value;
        enum ac_level level;
    } levels[AC_AM_LEVELS_MAX];
    size_t nlevels;
    /* label names of region, cluster, namespace, app_id, user_id, instance */
    char *dims[6];
};

/* The keys of the "prometheus" section. */
extern const struct ac_cfg_entry ac_am_cfg[];

/* section: borrowed, may be NULL (defaults). Problems go to errors as
 * strings "prometheus.<key>: ...". Returns AC_OK or AC_EINVAL (c then
 * released). */
AC_MUST_CHECK int ac_am_config_load(const json_t *section, struct ac_am_config *c, json_t *errors);
void ac_am_config_deinit(struct ac_am_config *c);

/*
 * Decode a body (borrowed, len bytes).
 * source:      the events' source ("prometheus", "alertmanager").
 * max_events:  more alerts than this is AC_ETOOBIG.
 * now_us:      the receive time: stamped on every event, and what "endsAt in
 *              the past" is judged against.
 * out:         on AC_OK the events (caller deinit); left empty otherwise.
 * details:     on AC_EINVAL/AC_ETOOBIG a new JSON array of
 *              {"index"?, "path", "message"}.
 * truncated:   (webhook) its truncatedAlerts, or 0.
 * Returns AC_OK, AC_EINVAL or AC_ETOOBIG.
 */
AC_MUST_CHECK int ac_am_decode_v2(const struct ac_am_config *c, const char *body, size_t len,
                                  const char *source, size_t max_events, int64_t now_us,
                                  struct ac_event_vec *out, json_t **details);
AC_MUST_CHECK int ac_am_decode_webhook(const struct ac_am_config *c, const char *body, size_t len,
                                       const char *source, size_t max_events, int64_t now_us,
                                       struct ac_event_vec *out, json_t **details, long *truncated);

#endif
