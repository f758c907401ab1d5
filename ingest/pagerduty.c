/* SPDX-License-Identifier: Apache-2.0 */
/* The PagerDuty Events API v2 decoder (pagerduty.h). */
#include "ingest/pagerduty.h"

#include <openssl/rand.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "schema/fingerprint.h"
#include "schema/timefmt.h"
#include "server/core/config.h"
#include "server/core/mem.h"

#define PD_SUMMARY_MAX 1024 /* PagerDuty's own limit */

static const struct ac_pd_route pd_default_route = {NULL, "pagerduty", "PagerDuty", NULL};

static const struct {
    const char *name;
    enum ac_level level;
} pd_severities[] = {
    {"critical", AC_LEVEL_P1},
    {"error", AC_LEVEL_P2},
    {"warning", AC_LEVEL_P3},
    {"info", AC_LEVEL_P4},
};

void ac_pd_config_deinit(struct ac_pd_config *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->routes[i].token);
        free(c->routes[i].source);
        free(c->routes[i].type);
        json_decref(c->routes[i].labels);
    }
    free(c->routes);
    memset(c, 0, sizeof(*c));
}

/* The pagerduty section as its table loads it. */
struct pd_section {
    json_t *keys;
};

const struct ac_cfg_entry ac_pd_cfg[] = {
    {AC_CFG_JSON, "routing_keys", NULL, offsetof(struct pd_section, keys), NULL,
     "{token name: {source, type, labels}}: what a routing key's events are", 0, 0},
    {AC_CFG_END, NULL, NULL, 0, NULL, NULL, 0, 0},
};

int ac_pd_config_load(const json_t *section, struct ac_pd_config *c, json_t *errors)
{
    struct pd_section sec = {0};
    const json_t *keys, *v;
    const char *k;
    size_t before = json_array_size(errors);
    int rc;

    memset(c, 0, sizeof(*c));
    rc = ac_cfg_load_section(ac_pd_cfg, &sec, section, "pagerduty", errors);
    keys = sec.keys;
    if (rc != AC_OK || (keys && !json_is_object(keys))) {
        if (rc == AC_OK) {
            json_array_append_new(errors,
                                  json_string("pagerduty.routing_keys: an object of token name -> "
                                              "{source, type, labels}"));
        }
        ac_cfg_free(ac_pd_cfg, &sec);
        return AC_EINVAL;
    }
    c->routes = ac_xcalloc(json_object_size(keys) + 1, sizeof(*c->routes));
    json_object_foreach((json_t *)keys, k, v)
    {
        const json_t *src = json_object_get(v, "source"), *type = json_object_get(v, "type");
        const json_t *labels = json_object_get(v, "labels");
        struct ac_pd_route *r = &c->routes[c->n];
        if (!json_is_object(v) ||
            json_object_size(v) != (src ? 1u : 0u) + (type ? 1u : 0u) + (labels ? 1u : 0u) ||
            (src && !json_string_length(src)) || (type && !json_string_length(type)) ||
            (labels && !ac_json_is_string_object(labels))) {
            json_array_append_new(errors, json_sprintf("pagerduty.routing_keys.%s: {source?, type?,"
                                                       " labels?} with non-empty strings",
                                                       k));
            continue;
        }
        r->token = ac_xstrdup(k);
        r->source = ac_xstrdup(src ? json_string_value(src) : pd_default_route.source);
        r->type = ac_xstrdup(type ? json_string_value(type) : pd_default_route.type);
        r->labels = labels ? json_deep_copy(labels) : NULL;
        c->n++;
    }
    ac_cfg_free(ac_pd_cfg, &sec);
    if (json_array_size(errors) > before) {
        ac_pd_config_deinit(c);
        return AC_EINVAL;
    }
    return AC_OK;
}

const struct ac_pd_route *ac_pd_route_for(const struct ac_pd_config *c, const char *token)
{
    for (size_t i = 0; token && i < c->n; i++) {
        if (strcmp(c->routes[i].token, token) == 0) {
            return &c->routes[i];
        }
    }
    return &pd_default_route;
}

void ac_pd_request_deinit(struct ac_pd_request *req)
{
    free(req->routing_key);
    free(req->dedup_key);
    json_decref(req->body);
    memset(req, 0, sizeof(*req));
}

static bool pd_blank(const json_t *v)
{
    const char *s = json_string_value(v);

    if (!s) {
        return true;
    }
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
        s++;
    }
    return *s == '\0';
}

static void pd_err(json_t *errors, const char *msg)
{
    json_array_append_new(errors, json_string(msg));
}

static void pd_new_key(char *out)
{
    unsigned char b[16];

    AC_ASSERT(RAND_bytes(b, sizeof(b)) == 1);
    ac_hex(b, sizeof(b), out);
}

int ac_pd_parse(const char *body, size_t len, struct ac_pd_request *req, json_t **errors)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    const json_t *rk, *act, *dk, *pl;
    const char *a;
    char key[33];

    memset(req, 0, sizeof(*req));
    *errors = json_array();
    if (!root) {
        json_array_append_new(*errors, json_sprintf("invalid JSON: %s", jerr.text));
        return AC_EINVAL;
    }
    if (!json_is_object(root)) {
        pd_err(*errors, "the event must be a JSON object");
        json_decref(root);
        return AC_EINVAL;
    }
    rk = json_object_get(root, "routing_key");
    act = json_object_get(root, "event_action");
    dk = json_object_get(root, "dedup_key");
    pl = json_object_get(root, "payload");
    a = json_string_value(act);
    if (pd_blank(rk) || json_string_length(rk) > 256) {
        pd_err(*errors, "'routing_key' is missing or blank");
    }
    if (!a ||
        (strcmp(a, "trigger") != 0 && strcmp(a, "acknowledge") != 0 && strcmp(a, "resolve") != 0)) {
        pd_err(*errors, "'event_action' must be one of trigger, acknowledge, resolve");
    }
    if (dk && !json_is_null(dk) && (!json_is_string(dk) || pd_blank(dk))) {
        pd_err(*errors, "'dedup_key' must be a non-blank string");
    }
    else if (json_string_length(dk) > AC_PD_DEDUP_MAX) {
        pd_err(*errors, "'dedup_key' is longer than 255 characters");
    }
    if (a && strcmp(a, "trigger") != 0 && !json_is_string(dk)) {
        pd_err(*errors, "'dedup_key' is required to acknowledge or resolve");
    }
    if (a && strcmp(a, "trigger") == 0) {
        const json_t *sev = json_object_get(pl, "severity"), *ts = json_object_get(pl, "timestamp");
        bool known = false;
        int64_t us;
        if (!json_is_object(pl)) {
            pd_err(*errors, "'payload' is missing or not an object");
        }
        else {
            if (pd_blank(json_object_get(pl, "summary"))) {
                pd_err(*errors, "'payload.summary' is missing or blank");
            }
            else if (ac_utf8_len(json_string_value(json_object_get(pl, "summary"))) >
                     PD_SUMMARY_MAX) {
                pd_err(*errors, "'payload.summary' is longer than 1024 characters");
            }
            if (pd_blank(json_object_get(pl, "source"))) {
                pd_err(*errors, "'payload.source' is missing or blank");
            }
            for (size_t i = 0; i < sizeof(pd_severities) / sizeof(*pd_severities); i++) {
                known = known || (json_is_string(sev) &&
                                  strcmp(json_string_value(sev), pd_severities[i].name) == 0);
            }
            if (!known) {
                pd_err(*errors, "'payload.severity' must be one of critical, error, warning, info");
            }
            if (ts && (!json_is_string(ts) || !ac_time_parse(json_string_value(ts), &us))) {
                pd_err(*errors, "'payload.timestamp' must be an ISO 8601 (RFC 3339) time");
            }
            for (const char *const *f = (const char *const[]){"component", "group", "class", NULL};
                 *f; f++) {
                const json_t *v = json_object_get(pl, *f);
                if (v && !json_is_null(v) && !json_is_string(v)) {
                    json_array_append_new(*errors,
                                          json_sprintf("'payload.%s' must be a string", *f));
                }
            }
        }
    }
    if (json_array_size(*errors) > 0) {
        json_decref(root);
        return AC_EINVAL;
    }
    json_decref(*errors);
    *errors = NULL;
    req->action = strcmp(a, "trigger") == 0       ? AC_PD_TRIGGER
                  : strcmp(a, "acknowledge") == 0 ? AC_PD_ACKNOWLEDGE
                                                  : AC_PD_RESOLVE;
    req->routing_key = ac_xstrdup(json_string_value(rk));
    if (json_is_string(dk)) {
        req->dedup_key = ac_xstrdup(json_string_value(dk));
    }
    else {
        pd_new_key(key);
        req->dedup_key = ac_xstrdup(key);
    }
    req->body = root;
    return AC_OK;
}

/* The first max code points of s (new), marked when cut. */
static char *pd_cut(const char *s, size_t max)
{
    size_t cp = 0, i = 0;

    if (ac_utf8_len(s) <= max) {
        return ac_xstrdup(s);
    }
    for (; s[i] && cp < max - 1; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            cp++;
        }
    }
    while (s[i] && ((unsigned char)s[i] & 0xC0) == 0x80) {
        i++; /* finish the last code point */
    }
    return ac_xasprintf("%.*s…", (int)i, s);
}

int ac_pd_event(const struct ac_pd_request *req, const struct ac_pd_route *route, int64_t now_us,
                struct ac_event *ev, json_t *errors)
{
    const json_t *pl = json_object_get(req->body, "payload");
    json_t *labels = route->labels ? json_deep_copy(route->labels) : json_object();
    json_t *doc, *ctx = json_object();
    bool ok;

    json_object_set_new(labels, "dedup_key", json_string(req->dedup_key));
    doc = json_pack("{s:s, s:s, s:s}", "source", route->source, "type", route->type, "status",
                    req->action == AC_PD_RESOLVE ? "resolved" : "firing");
    if (req->action == AC_PD_TRIGGER) {
        const char *summary = json_string_value(json_object_get(pl, "summary"));
        char *title = pd_cut(summary, AC_EVENT_TITLE_MAX);
        const char *sev = json_string_value(json_object_get(pl, "severity"));
        json_object_set_new(doc, "title", json_string(title));
        if (strcmp(title, summary) != 0) {
            json_object_set_new(doc, "message", json_string(summary));
        }
        free(title);
        for (size_t i = 0; i < sizeof(pd_severities) / sizeof(*pd_severities); i++) {
            if (strcmp(sev, pd_severities[i].name) == 0) {
                json_object_set_new(doc, "level",
                                    json_string(ac_level_name(pd_severities[i].level)));
            }
        }
        json_object_set(doc, "instance", json_object_get(pl, "source"));
        if (json_is_string(json_object_get(pl, "timestamp"))) {
            json_object_set(doc, "occurred_at", json_object_get(pl, "timestamp"));
        }
        for (const char *const *f = (const char *const[]){"component", "group", "class", NULL}; *f;
             f++) {
            if (json_string_length(json_object_get(pl, *f))) {
                json_object_set(labels, *f, json_object_get(pl, *f));
            }
        }
        if (json_object_get(pl, "custom_details")) {
            json_object_set(ctx, "custom_details", json_object_get(pl, "custom_details"));
        }
    }
    else {
        json_object_set_new(
            doc, "title",
            json_sprintf("%s via the PagerDuty Events API",
                         req->action == AC_PD_RESOLVE ? "resolved" : "acknowledged"));
    }
    for (const char *const *f =
             (const char *const[]){"client", "client_url", "links", "images", NULL};
         *f; f++) {
        if (json_object_get(req->body, *f)) {
            json_object_set(ctx, *f, json_object_get(req->body, *f));
        }
    }
    json_object_set_new(doc, "labels", labels);
    if (json_object_size(ctx)) {
        json_object_set(doc, "context", ctx);
    }
    json_decref(ctx);
    ok = ac_event_from_json(doc, ev, -1, errors);
    json_decref(doc);
    if (!ok) {
        return AC_EINVAL;
    }
    ev->received_at = now_us;
    return AC_OK;
}
