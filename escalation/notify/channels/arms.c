/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The "arms" channel: forwards the alert as an Alertmanager webhook (version
 * 4) payload, so ARMS - or any receiver of Alertmanager webhooks - gets it.
 * Labels carry the alert's dimensions (alertname = type, severity from the
 * level: P1 critical, P2 error, P3 warning, P4 info); annotations its title
 * and message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escalation/notify/channel.h"
#include "schema/event.h"
#include "server/core/mem.h"

#define ARMS_ZERO_TIME "0001-01-01T00:00:00Z"

struct arms_priv {
    char *external_url;
};

static int arms_configure(struct ac_channel *ch, const json_t *cfg, const char *path,
                          json_t *errors)
{
    struct arms_priv *p = ac_xcalloc(1, sizeof(*p));
    const char *ext = json_string_value(json_object_get(cfg, "external_url"));

    ch->priv = p;
    p->external_url = ac_xstrdup(ext ? ext : "");
    return ac_channel_auth(ch, cfg, path, errors) ? AC_OK : AC_EINVAL;
}

static void arms_deinit(struct ac_channel *ch)
{
    struct arms_priv *p = ch->priv;

    if (p) {
        free(p->external_url);
        free(p);
    }
    ch->priv = NULL;
}

static const char *arms_severity(const char *level)
{
    static const char *const sev[] = {"critical", "error", "warning", "info"};

    if (level && level[0] == 'P' && level[1] >= '1' && level[1] <= '4' && !level[2]) {
        return sev[level[1] - '1'];
    }
    return "info";
}

static int arms_build(const struct ac_channel *ch, const json_t *ctx, int64_t now_ms,
                      struct ac_http_out *out)
{
    static const char *const dims[] = {"source",    "trace",  "category", "region",   "cluster",
                                       "namespace", "app_id", "user_id",  "instance", NULL};
    const struct arms_priv *p = ch->priv;
    const json_t *a = json_object_get(ctx, "alert");
    const char *type = json_string_value(json_object_get(a, "type"));
    const char *level = json_string_value(json_object_get(a, "level"));
    const char *status = json_string_value(json_object_get(a, "status"));
    const char *resolved_at = json_string_value(json_object_get(a, "resolved_at"));
    const char *first_seen = json_string_value(json_object_get(a, "first_seen"));
    const char *fp = json_string_value(json_object_get(a, "fingerprint"));
    const char *title = json_string_value(json_object_get(ctx, "title"));
    const char *text = json_string_value(json_object_get(ctx, "text"));
    const char *reason = json_string_value(json_object_get(ctx, "reason"));
    bool resolved = status && strcmp(status, "resolved") == 0;
    json_t *labels = json_object(), *annotations, *alert, *body;
    char *group_key;

    (void)now_ms;
    (void)json_object_set_new(labels, "alertname", json_string(type ? type : "unknown"));
    (void)json_object_set_new(labels, "severity", json_string(arms_severity(level)));
    (void)json_object_set_new(labels, "level", json_string(level ? level : "P4"));
    for (const char *const *d = dims; *d; d++) {
        const char *v = json_string_value(json_object_get(a, *d));
        if (v && *v) {
            (void)json_object_set_new(labels, *d, json_string(v));
        }
    }
    annotations = json_pack("{s:s, s:s, s:s}", "summary", title ? title : "", "description",
                            text ? text : "", "reason", reason ? reason : "");
    alert = json_pack("{s:s, s:O, s:O, s:s, s:s, s:s, s:s}", "status",
                      resolved ? "resolved" : "firing", "labels", labels, "annotations",
                      annotations, "startsAt", first_seen ? first_seen : ARMS_ZERO_TIME, "endsAt",
                      resolved && resolved_at ? resolved_at : ARMS_ZERO_TIME, "generatorURL",
                      p->external_url, "fingerprint", fp ? fp : "");
    group_key = ac_xasprintf("{}:{alertname=\"%s\"}", type ? type : "unknown");
    body = json_pack(
        "{s:s, s:s, s:i, s:s, s:s, s:{s:s}, s:o, s:o, s:s, s:[o]}", "version", "4", "groupKey",
        group_key, "truncatedAlerts", 0, "status", resolved ? "resolved" : "firing", "receiver",
        ch->name, "groupLabels", "alertname", type ? type : "unknown", "commonLabels", labels,
        "commonAnnotations", annotations, "externalURL", p->external_url, "alerts", alert);
    out->body = json_dumps(body, JSON_COMPACT);
    out->url = ac_xstrdup(ch->url);
    ac_http_out_header(out, "Content-Type", "application/json");
    if (ch->auth_header) {
        out->headers[out->nheaders++] = ac_xstrdup(ch->auth_header);
    }
    json_decref(body);
    free(group_key);
    return AC_OK;
}

static const char *const arms_keys[] = {"external_url", "auth_header", "auth_env", "auth_file",
                                        NULL};

const struct ac_channel_ops ac_channel_arms = {
    .kind = "arms",
    .per_contact = false,
    .keys = arms_keys,
    .configure = arms_configure,
    .deinit = arms_deinit,
    .build = arms_build,
    .result = ac_channel_result_status,
};
