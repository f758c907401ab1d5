/* SPDX-License-Identifier: Apache-2.0 */
/* Kubernetes Event -> event model mapping (k8s_map.h). */
#include "ingest/k8s_map.h"

#include <stdio.h>
#include <string.h>

#include "server/core/mem.h"

void ac_k8s_map_deinit(struct ac_k8s_map *m)
{
    free(m->cluster);
    for (size_t i = 0; i < m->nrules; i++) {
        struct ac_k8s_rule *r = &m->rules[i];
        free(r->reason);
        ac_regex_free(r->message);
        free(r->type);
        free(r->level);
        free(r->trace);
        free(r->category);
    }
    for (size_t i = 0; i < m->napp; i++) {
        free(m->app_keys[i]);
    }
    for (size_t i = 0; i < m->nuser; i++) {
        free(m->user_keys[i]);
    }
    memset(m, 0, sizeof(*m));
}

static char *k8_opt(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));

    return v ? ac_xstrdup(v) : NULL;
}

static void k8_keys(const json_t *arr, const char *name, char **keys, size_t *n, json_t *errors)
{
    size_t i;
    json_t *v;

    if (arr && (!json_is_array(arr) || json_array_size(arr) > AC_K8S_KEYS_MAX)) {
        json_array_append_new(errors, json_sprintf("kubernetes.%s: an array of at most %d label"
                                                   " keys",
                                                   name, AC_K8S_KEYS_MAX));
        return;
    }
    json_array_foreach(arr, i, v)
    {
        if (!json_string_length(v)) {
            json_array_append_new(errors, json_sprintf("kubernetes.%s[%zu]: a label key", name, i));
            continue;
        }
        keys[(*n)++] = ac_xstrdup(json_string_value(v));
    }
}

int ac_k8s_map_load(const json_t *section, struct ac_k8s_map *m, json_t *errors)
{
    const json_t *rules = json_object_get(section, "rules"), *r, *wo;
    size_t before = json_array_size(errors), i;

    memset(m, 0, sizeof(*m));
    m->cluster = k8_opt(section, "cluster");
    wo = json_object_get(section, "warning_only");
    if (wo && !json_is_boolean(wo)) {
        json_array_append_new(errors, json_string("kubernetes.warning_only: true or false"));
    }
    m->warning_only = !wo || json_is_true(wo);
    if (rules && (!json_is_array(rules) || json_array_size(rules) > AC_K8S_RULES_MAX)) {
        json_array_append_new(errors, json_sprintf("kubernetes.rules: an array of at most %d rules",
                                                   AC_K8S_RULES_MAX));
        rules = NULL;
    }
    json_array_foreach(rules, i, r)
    {
        struct ac_k8s_rule *k = &m->rules[m->nrules];
        const char *msg = json_string_value(json_object_get(r, "message"));
        char why[160];
        const char *lv = json_string_value(json_object_get(r, "level"));
        const char *tr = json_string_value(json_object_get(r, "trace"));
        const char *ca = json_string_value(json_object_get(r, "category"));
        enum ac_level l;
        enum ac_trace t;
        enum ac_category c;
        if (!json_string_length(json_object_get(r, "reason"))) {
            json_array_append_new(errors,
                                  json_sprintf("kubernetes.rules[%zu].reason: required", i));
            continue;
        }
        if ((lv && !ac_level_parse(lv, &l)) || (tr && !ac_trace_parse(tr, &t)) ||
            (ca && !ac_category_parse(ca, &c))) {
            json_array_append_new(errors, json_sprintf("kubernetes.rules[%zu]: level P1..P4, trace"
                                                       " control|data|runtime, category as events",
                                                       i));
            continue;
        }
        if (msg && !(k->message = ac_regex_compile(msg, false, why, sizeof(why)))) {
            json_array_append_new(
                errors,
                json_sprintf("kubernetes.rules[%zu].message: invalid regular expression: %s", i,
                             why));
            continue;
        }
        k->reason = k8_opt(r, "reason");
        k->type = k8_opt(r, "type");
        k->level = k8_opt(r, "level");
        k->trace = k8_opt(r, "trace");
        k->category = k8_opt(r, "category");
        m->nrules++;
    }
    k8_keys(json_object_get(section, "app_id_keys"), "app_id_keys", m->app_keys, &m->napp, errors);
    k8_keys(json_object_get(section, "user_id_keys"), "user_id_keys", m->user_keys, &m->nuser,
            errors);
    if (json_array_size(errors) > before) {
        ac_k8s_map_deinit(m);
        return AC_EINVAL;
    }
    return AC_OK;
}

bool ac_k8s_map_wants_labels(const struct ac_k8s_map *m)
{
    return m->napp > 0 || m->nuser > 0;
}

/* The first of keys found in the object's labels, its annotations, then
 * its namespace's. */
static const char *k8_lookup(char *const *keys, size_t n, const json_t *obj, const json_t *ns)
{
    const json_t *metas[2] = {obj, ns};

    for (size_t m = 0; m < 2; m++) {
        for (size_t w = 0; w < 2; w++) {
            const json_t *o = json_object_get(metas[m], w == 0 ? "labels" : "annotations");
            for (size_t i = 0; i < n; i++) {
                const char *v = json_string_value(json_object_get(o, keys[i]));
                if (v && *v) {
                    return v;
                }
            }
        }
    }
    return NULL;
}

static void k8_set(json_t *o, const char *k, const char *v)
{
    if (v && *v) {
        json_object_set_new(o, k, json_string(v));
    }
}

static const char *k8_str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

int ac_k8s_map_event(const struct ac_k8s_map *m, const json_t *event, const json_t *obj_meta,
                     const json_t *ns_meta, json_t **doc, const char **why)
{
    const json_t *md = json_object_get(event, "metadata");
    const json_t *io = json_object_get(event, "involvedObject");
    const json_t *src = json_object_get(event, "source");
    const char *reason = k8_str(event, "reason"), *uid = k8_str(md, "uid");
    const char *etype = k8_str(event, "type"), *msg = k8_str(event, "message");
    const char *when = k8_str(event, "lastTimestamp");
    const struct ac_k8s_rule *rule = NULL;
    json_int_t count = 1;
    json_t *d, *res, *labels, *ctx;
    char title[600], id[200];

    *doc = NULL;
    *why = NULL;
    if (!json_is_object(event) || !json_is_object(io) || !uid || !*uid || !reason || !*reason) {
        *why = "not a core/v1 Event (metadata.uid, reason and involvedObject are required)";
        return -1;
    }
    if (m->warning_only && (!etype || strcmp(etype, "Warning") != 0)) {
        return 0;
    }
    for (size_t i = 0; i < m->nrules && !rule; i++) {
        const struct ac_k8s_rule *r = &m->rules[i];
        if (strcmp(r->reason, reason) == 0 &&
            (!r->message || (msg && ac_regex_match(r->message, msg, strlen(msg))))) {
            rule = r;
        }
    }
    if (json_is_integer(json_object_get(event, "count"))) {
        count = json_integer_value(json_object_get(event, "count"));
    }
    if (json_is_integer(json_object_get(json_object_get(event, "series"), "count"))) {
        count = json_integer_value(json_object_get(json_object_get(event, "series"), "count"));
    }
    if (!when || !*when) {
        when = k8_str(event, "eventTime");
    }
    if (!when || !*when) {
        when = k8_str(event, "firstTimestamp");
    }
    (void)snprintf(title, sizeof(title), "%s %s/%s", reason,
                   k8_str(io, "kind") ? k8_str(io, "kind") : "object",
                   k8_str(io, "name") ? k8_str(io, "name") : "?");
    (void)snprintf(id, sizeof(id), "k8s:%.100s/%lld", uid, (long long)count);
    d = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", id, "source", "kubernetes", "type",
                  rule && rule->type ? rule->type : reason, "status", "firing", "title", title);
    if (rule) {
        k8_set(d, "level", rule->level);
        k8_set(d, "trace", rule->trace);
        k8_set(d, "category", rule->category);
    }
    k8_set(d, "message", msg);
    k8_set(d, "occurred_at", when);
    k8_set(d, "cluster", m->cluster);
    k8_set(d, "namespace",
           k8_str(io, "namespace") ? k8_str(io, "namespace") : k8_str(md, "namespace"));
    k8_set(d, "app_id", k8_lookup(m->app_keys, m->napp, obj_meta, ns_meta));
    k8_set(d, "user_id", k8_lookup(m->user_keys, m->nuser, obj_meta, ns_meta));
    res = json_object();
    k8_set(res, "kind", k8_str(io, "kind"));
    k8_set(res, "namespace", k8_str(io, "namespace"));
    k8_set(res, "name", k8_str(io, "name"));
    k8_set(res, "uid", k8_str(io, "uid"));
    json_object_set_new(d, "resource", res);
    labels = json_object();
    k8_set(labels, "reason", reason);
    k8_set(labels, "component",
           k8_str(src, "component") ? k8_str(src, "component")
                                    : k8_str(event, "reportingComponent"));
    k8_set(labels, "host", k8_str(src, "host"));
    json_object_set_new(d, "labels", labels);
    ctx = json_pack("{s:s, s:I}", "event_uid", uid, "count", count);
    k8_set(ctx, "first_timestamp", k8_str(event, "firstTimestamp"));
    k8_set(ctx, "last_timestamp", k8_str(event, "lastTimestamp"));
    k8_set(ctx, "event_type", etype);
    json_object_set_new(d, "context", ctx);
    *doc = d;
    return 1;
}

enum ac_k8s_watch ac_k8s_watch_line(const char *line, size_t n, json_t **msg, const json_t **obj,
                                    const char **rv)
{
    const char *type;
    json_int_t code;
    const char *reason;

    *msg = json_loadb(line, n, 0, NULL);
    type = json_string_value(json_object_get(*msg, "type"));
    *obj = json_object_get(*msg, "object");
    *rv = json_string_value(json_object_get(json_object_get(*obj, "metadata"), "resourceVersion"));
    if (*rv && !**rv) {
        *rv = NULL;
    }
    if (!type || !json_is_object(*obj)) {
        return AC_K8S_WATCH_BAD;
    }
    if (strcmp(type, "ERROR") == 0) {
        code = json_integer_value(json_object_get(*obj, "code"));
        reason = json_string_value(json_object_get(*obj, "reason"));
        *rv = NULL;
        return code == 410 || (reason && strcmp(reason, "Expired") == 0) ? AC_K8S_WATCH_GONE
                                                                         : AC_K8S_WATCH_ERROR;
    }
    if (strcmp(type, "BOOKMARK") == 0) {
        return AC_K8S_WATCH_BOOKMARK;
    }
    return strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0 ? AC_K8S_WATCH_TAKE
                                                                       : AC_K8S_WATCH_SKIP;
}
