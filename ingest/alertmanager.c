/* SPDX-License-Identifier: Apache-2.0 */
/* Decoders of the Alertmanager API v2 and webhook v4 formats (alertmanager.h). */
#include "ingest/alertmanager.h"

#include <openssl/evp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "schema/fingerprint.h"
#include "schema/timefmt.h"
#include "server/core/config.h"
#include "server/core/mem.h"

static const char *const am_dim_fields[6] = {"region", "cluster", "namespace",
                                             "app_id", "user_id", "instance"};
static const struct {
    const char *value;
    enum ac_level level;
} am_default_levels[] = {
    {"critical", AC_LEVEL_P1},
    {"error", AC_LEVEL_P2},
    {"warning", AC_LEVEL_P3},
    {"info", AC_LEVEL_P4},
};

void ac_am_config_deinit(struct ac_am_config *c)
{
    free(c->level_label);
    for (size_t i = 0; i < c->nlevels; i++) {
        free(c->levels[i].value);
    }
    for (size_t i = 0; i < 6; i++) {
        free(c->dims[i]);
    }
    memset(c, 0, sizeof(*c));
}

static void am_cfg_error(json_t *errors, const char *key, const char *msg)
{
    json_array_append_new(errors, json_sprintf("prometheus.%s: %s", key, msg));
}

/* The prometheus section as its table loads it. */
struct am_section {
    char *level_label;
    json_t *levels, *dims;
};

const struct ac_cfg_entry ac_am_cfg[] = {
    {AC_CFG_STR, "level_label", "severity", offsetof(struct am_section, level_label), NULL,
     "the label whose value gives the level", 0, 0},
    {AC_CFG_JSON, "levels", NULL, offsetof(struct am_section, levels), NULL,
     "{label value: P1..P4} (default: critical P1, error P2, warning P3, info P4 ...)", 0, 0},
    {AC_CFG_JSON, "dimensions", NULL, offsetof(struct am_section, dims), NULL,
     "{event field: label name} for region, cluster, namespace, app_id, user_id, instance", 0, 0},
    {AC_CFG_END, NULL, NULL, 0, NULL, NULL, 0, 0},
};

int ac_am_config_load(const json_t *section, struct ac_am_config *c, json_t *errors)
{
    const json_t *v, *levels, *dims;
    const char *k;
    size_t before = json_array_size(errors);
    struct am_section sec = {0};
    int rc;

    memset(c, 0, sizeof(*c));
    rc = ac_cfg_load_section(ac_am_cfg, &sec, section, "prometheus", errors);
    if (sec.level_label && !*sec.level_label) {
        am_cfg_error(errors, "level_label", "must be a label name");
    }
    c->level_label = ac_xstrdup(sec.level_label && *sec.level_label ? sec.level_label : "severity");
    levels = sec.levels;
    if (levels && !json_is_object(levels)) {
        am_cfg_error(errors, "levels", "must be an object of label value -> P1..P4");
    }
    else if (levels) {
        json_object_foreach((json_t *)levels, k, v)
        {
            enum ac_level l;
            if (!json_is_string(v) || !ac_level_parse(json_string_value(v), &l)) {
                am_cfg_error(errors, "levels", "each value must be P1, P2, P3 or P4");
                continue;
            }
            if (c->nlevels == AC_AM_LEVELS_MAX) {
                am_cfg_error(errors, "levels", "too many values (16 at most)");
                break;
            }
            c->levels[c->nlevels].value = ac_xstrdup(k);
            c->levels[c->nlevels++].level = l;
        }
    }
    else {
        for (size_t i = 0; i < sizeof(am_default_levels) / sizeof(*am_default_levels); i++) {
            c->levels[c->nlevels].value = ac_xstrdup(am_default_levels[i].value);
            c->levels[c->nlevels++].level = am_default_levels[i].level;
        }
    }
    dims = sec.dims;
    if (dims && !json_is_object(dims)) {
        am_cfg_error(errors, "dimensions", "must be an object of event field -> label name");
    }
    for (size_t i = 0; i < 6; i++) {
        v = json_object_get(dims, am_dim_fields[i]);
        if (v && (!json_is_string(v) || !json_string_length(v))) {
            am_cfg_error(errors, "dimensions", "each value must be a label name");
        }
        c->dims[i] = ac_xstrdup(json_is_string(v) ? json_string_value(v) : am_dim_fields[i]);
    }
    json_object_foreach((json_t *)dims, k, v)
    {
        bool known = false;
        for (size_t i = 0; i < 6; i++) {
            known = known || strcmp(k, am_dim_fields[i]) == 0;
        }
        if (!known) {
            am_cfg_error(errors, "dimensions",
                         "keys are region, cluster, namespace, app_id, user_id, instance");
        }
    }
    ac_cfg_free(ac_am_cfg, &sec);
    if (rc != AC_OK || json_array_size(errors) > before) {
        ac_am_config_deinit(c);
        return AC_EINVAL;
    }
    return AC_OK;
}

static void am_error(json_t *details, long index, const char *path, const char *msg)
{
    ac_event_error(details, index, path, "%s", msg);
}

/* Go's zero time (0001-01-01T00:00:00Z) means "not set". Returns false for a
 * malformed time; *us = 0 when unset. */
static bool am_time(const json_t *v, int64_t *us)
{
    *us = 0;
    if (!v || json_is_null(v)) {
        return true;
    }
    if (!json_is_string(v)) {
        return false;
    }
    if (strncmp(json_string_value(v), "0001-01-01", 10) == 0) {
        return true;
    }
    return ac_time_parse(json_string_value(v), us);
}

/* "am:" and the SHA-256 of the sorted label set, startsAt and status (new). */
static char *am_id(const json_t *labels, const char *starts_at, const char *status)
{
    char *canon = json_dumps(labels, JSON_COMPACT | JSON_SORT_KEYS);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    char hex[3 + 2 * EVP_MAX_MD_SIZE + 1] = "am:";
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    AC_ASSERT(canon != NULL && ctx != NULL);
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    EVP_DigestUpdate(ctx, canon, strlen(canon));
    EVP_DigestUpdate(ctx, "\x1f", 1);
    EVP_DigestUpdate(ctx, starts_at, strlen(starts_at));
    EVP_DigestUpdate(ctx, "\x1f", 1);
    EVP_DigestUpdate(ctx, status, strlen(status));
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    free(canon);
    ac_hex(md, mdlen, hex + 3);
    return ac_xstrdup(hex);
}

/* A copy of labels[label] when it is a non-empty string, else NULL. */
static char *am_label(const json_t *labels, const char *label)
{
    const char *v = json_string_value(json_object_get(labels, label));

    return v && *v ? ac_xstrdup(v) : NULL;
}

/* The event's context from alert a: the webhook's (extra, or NULL), its
 * annotations, generator URL, times and Alertmanager fingerprint (new; the
 * values are a's, shared). */
static json_t *am_context(const json_t *a, const json_t *extra)
{
    static const char *const copied[][2] = {{"startsAt", "starts_at"},
                                            {"endsAt", "ends_at"},
                                            {"fingerprint", "alertmanager_fingerprint"}};
    const json_t *ann = json_object_get(a, "annotations"),
                 *gen = json_object_get(a, "generatorURL");
    json_t *ctx = json_object();

    if (extra) {
        json_object_update(ctx, (json_t *)extra);
    }
    if (json_object_size(ann)) {
        json_object_set(ctx, "annotations", (json_t *)ann);
    }
    if (json_string_length(gen)) {
        json_object_set(ctx, "generator_url", (json_t *)gen);
    }
    for (size_t i = 0; i < sizeof(copied) / sizeof(copied[0]); i++) {
        if (json_is_string(json_object_get(a, copied[i][0]))) {
            json_object_set(ctx, copied[i][1], json_object_get(a, copied[i][0]));
        }
    }
    return ctx;
}

/*
 * One alert straight into the event model (no native document in between),
 * then through its validation (ac_event_check: the native format's limits and
 * paths). status: the webhook's alert status, or NULL (v2: from endsAt).
 * extra: webhook context to merge (borrowed), or NULL. a's labels object is
 * taken over by the event (alertname removed), so a is the caller's parsed
 * body, dropped after decoding.
 */
static void am_alert(const struct ac_am_config *c, json_t *a, long index, const char *source,
                     const char *status, const json_t *extra, int64_t now_us,
                     struct ac_event_vec *out, json_t *details)
{
    json_t *labels = json_object_get(a, "labels");
    const json_t *ann = json_object_get(a, "annotations");
    const json_t *gen = json_object_get(a, "generatorURL");
    const char *name, *sev, *title, *msg;
    int64_t starts = 0, ends = 0;
    bool resolved;
    json_t *ctx;
    size_t before = json_array_size(details);
    char when[AC_TIME_STRLEN];
    char **dims[6];
    struct ac_event *ev;

    if (!json_is_object(a)) {
        am_error(details, index, "$", "an alert must be an object");
        return;
    }
    if (!ac_json_is_string_object(labels)) {
        am_error(details, index, "$.labels", "must be an object of strings");
        return;
    }
    name = json_string_value(json_object_get(labels, "alertname"));
    if (!name || !*name) {
        am_error(details, index, "$.labels.alertname", "is required (it becomes the type)");
    }
    if (ann && !json_is_null(ann) && !ac_json_is_string_object(ann)) {
        am_error(details, index, "$.annotations", "must be an object of strings");
    }
    if (!am_time(json_object_get(a, "startsAt"), &starts)) {
        am_error(details, index, "$.startsAt", "must be an RFC 3339 time");
    }
    if (!am_time(json_object_get(a, "endsAt"), &ends)) {
        am_error(details, index, "$.endsAt", "must be an RFC 3339 time");
    }
    if (gen && !json_is_null(gen) && !json_is_string(gen)) {
        am_error(details, index, "$.generatorURL", "must be a string");
    }
    if (status && strcmp(status, "firing") != 0 && strcmp(status, "resolved") != 0) {
        am_error(details, index, "$.status", "must be firing or resolved");
    }
    if (json_array_size(details) > before) {
        return;
    }
    resolved = status ? strcmp(status, "resolved") == 0 : (ends > 0 && ends <= now_us);

    ev = ac_event_vec_push(out);
    ev->source = ac_xstrdup(source);
    ev->type = ac_xstrdup(name);
    ev->status = resolved ? AC_STATUS_RESOLVED : AC_STATUS_FIRING;
    /* A resolve is accepted once (Alertmanager re-sends them for a while); a
     * firing alert is re-sent until it ends, and each re-send refreshes it
     * (below), so it needs no key - and a re-send after a resolve opens a
     * new alert. */
    if (starts > 0 && resolved) {
        ac_time_format(starts, when);
        ev->id = am_id(labels, when, "resolved");
    }
    if ((sev = json_string_value(json_object_get(labels, c->level_label)))) {
        for (size_t i = 0; i < c->nlevels; i++) {
            if (strcasecmp(sev, c->levels[i].value) == 0) {
                ev->level = c->levels[i].level;
                break;
            }
        }
    }
    title = json_string_value(json_object_get(ann, "summary"));
    ev->title = ac_xstrdup(title && *title ? title : name);
    msg = json_string_value(json_object_get(ann, "description"));
    if (!msg || !*msg) {
        msg = json_string_value(json_object_get(ann, "message"));
    }
    ev->message = msg && *msg ? ac_xstrdup(msg) : NULL;
    ev->occurred_at = resolved && ends > 0 ? ends : starts;
    dims[0] = &ev->region;
    dims[1] = &ev->cluster;
    dims[2] = &ev->namespace_;
    dims[3] = &ev->app_id;
    dims[4] = &ev->user_id;
    dims[5] = &ev->instance;
    for (size_t i = 0; i < 6; i++) {
        *dims[i] = am_label(labels, c->dims[i]);
    }
    if (json_string_length(json_object_get(labels, "pod"))) {
        ev->has_resource = true;
        ev->resource.kind = ac_xstrdup("Pod");
        ev->resource.name = am_label(labels, "pod");
        ev->resource.namespace_ = am_label(labels, "namespace");
    }
    /* the label set, but alertname (the type): the parsed object itself */
    json_object_del(labels, "alertname");
    if (json_object_size(labels)) {
        ev->labels = json_incref(labels);
    }
    ctx = am_context(a, extra);
    if (!ac_event_check(ev, json_object_size(ctx) ? ctx : NULL, index, details)) {
        ac_event_vec_pop(out);
    }
    else {
        ev->received_at = now_us;
        ev->refresh = !resolved;
        ev->ends_at = !resolved && ends > now_us ? ends : 0;
    }
    json_decref(ctx);
}

/* Parses the body; on a syntax error fills *details and returns NULL. */
static json_t *am_load(const char *body, size_t len, json_t **details)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);

    if (!root) {
        *details = json_array();
        ac_ingest_json_error(*details, -1, -1, &jerr);
    }
    return root;
}

static int am_finish(json_t *root, struct ac_event_vec *out, json_t **details)
{
    json_decref(root);
    if (json_array_size(*details) > 0) {
        ac_event_vec_deinit(out);
        return AC_EINVAL;
    }
    json_decref(*details);
    *details = NULL;
    return AC_OK;
}

int ac_am_decode_v2(const struct ac_am_config *c, const char *body, size_t len, const char *source,
                    size_t max_events, int64_t now_us, struct ac_event_vec *out, json_t **details)
{
    json_t *root, *a;
    size_t i;

    memset(out, 0, sizeof(*out));
    *details = NULL;
    if (!(root = am_load(body, len, details))) {
        return AC_EINVAL;
    }
    if (!json_is_array(root)) {
        json_decref(root);
        *details = json_array();
        am_error(*details, -1, "$", "must be an array of alerts (Alertmanager API v2)");
        return AC_EINVAL;
    }
    if (json_array_size(root) > max_events) {
        json_decref(root);
        return ac_ingest_too_many(details, max_events);
    }
    *details = json_array();
    json_array_foreach(root, i, a)
    {
        am_alert(c, a, (long)i, source, NULL, NULL, now_us, out, *details);
    }
    return am_finish(root, out, details);
}

int ac_am_decode_webhook(const struct ac_am_config *c, const char *body, size_t len,
                         const char *source, size_t max_events, int64_t now_us,
                         struct ac_event_vec *out, json_t **details, long *truncated)
{
    json_t *root, *alerts, *a, *extra;
    const json_t *ver, *tr;
    size_t i;

    memset(out, 0, sizeof(*out));
    *details = NULL;
    *truncated = 0;
    if (!(root = am_load(body, len, details))) {
        return AC_EINVAL;
    }
    alerts = json_object_get(root, "alerts");
    ver = json_object_get(root, "version");
    tr = json_object_get(root, "truncatedAlerts");
    *details = json_array();
    if (!json_is_object(root) || !json_is_array(alerts)) {
        am_error(*details, -1, "$", "must be an Alertmanager webhook body with an alerts array");
        json_decref(root);
        return AC_EINVAL;
    }
    if (ver && (!json_is_string(ver) || strcmp(json_string_value(ver), "4") != 0)) {
        am_error(*details, -1, "$.version", "only version \"4\" is understood");
    }
    if (tr && !json_is_integer(tr)) {
        am_error(*details, -1, "$.truncatedAlerts", "must be an integer");
    }
    if (json_array_size(alerts) > max_events) {
        json_decref(root);
        json_decref(*details);
        return ac_ingest_too_many(details, max_events);
    }
    *truncated = json_is_integer(tr) ? (long)json_integer_value(tr) : 0;
    extra = json_object();
    if (json_is_string(json_object_get(root, "receiver"))) {
        json_object_set(extra, "receiver", json_object_get(root, "receiver"));
    }
    if (json_is_string(json_object_get(root, "groupKey"))) {
        json_object_set(extra, "group_key", json_object_get(root, "groupKey"));
    }
    if (*truncated > 0) {
        json_object_set_new(extra, "truncated_alerts", json_integer(*truncated));
    }
    json_array_foreach(alerts, i, a)
    {
        const json_t *st = json_object_get(a, "status");
        if (st && !json_is_string(st)) {
            am_error(*details, (long)i, "$.status", "must be firing or resolved");
            continue;
        }
        am_alert(c, a, (long)i, source,
                 json_is_string(st) ? json_string_value(st)
                                    : json_string_value(json_object_get(root, "status")),
                 extra, now_us, out, *details);
    }
    json_decref(extra);
    return am_finish(root, out, details);
}
