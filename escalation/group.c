/* SPDX-License-Identifier: Apache-2.0 */
/* Incident grouping (see group.h). */
#include "escalation/group.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/fingerprint.h"
#include "server/core/mem.h"

int ac_group_by_from_json(struct ac_group_by *g, const json_t *arr, const char *path,
                          json_t *errors)
{
    size_t before = json_array_size(errors), i;
    json_t *v;

    memset(g, 0, sizeof(*g));
    if (!arr || json_is_null(arr)) {
        return AC_OK;
    }
    if (!json_is_array(arr) || json_array_size(arr) > AC_GROUP_BY_MAX) {
        ac_event_error(errors, -1, path, "must be a list of at most %d field names, or [\"...\"]",
                       AC_GROUP_BY_MAX);
        return AC_EINVAL;
    }
    json_array_foreach(arr, i, v)
    {
        const char *name = json_string_value(v);
        char buf[8];
        bool known = false;
        if (name && strcmp(name, "...") == 0) {
            g->each = true;
            continue;
        }
        if (name) {
            struct ac_event probe = {0};
            (void)ac_event_field(&probe, name, buf, &known);
        }
        if (!known) {
            char p[128];
            (void)snprintf(p, sizeof(p), "%.96s[%zu]", path, i);
            ac_event_error(errors, -1, p, "names no field (e.g. \"cluster\", \"labels.node\")");
            continue;
        }
        g->fields[g->n++] = ac_xstrdup(name);
    }
    if (g->each && g->n > 0) {
        ac_event_error(errors, -1, path, "\"...\" stands alone: one incident per alert");
    }
    if (json_array_size(errors) > before) {
        ac_group_by_deinit(g);
        return AC_EINVAL;
    }
    return AC_OK;
}

void ac_group_by_deinit(struct ac_group_by *g)
{
    for (size_t i = 0; i < g->n; i++) {
        free(g->fields[i]);
    }
    memset(g, 0, sizeof(*g));
}

void ac_group_key(const struct ac_group_by *g, const struct ac_event *ev, char *out)
{
    EVP_MD_CTX *md;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    size_t len = 0;
    bool cut = false;

    out[0] = '\0';
    if (g->each) {
        (void)snprintf(out, AC_GROUP_KEY_SIZE, "fingerprint=%s", ev->fingerprint);
        return;
    }
    if (g->n == 0) {
        return;
    }
    md = EVP_MD_CTX_new();
    (void)EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    for (size_t i = 0; i < g->n; i++) {
        char buf[8];
        bool known;
        const char *v = ac_event_field(ev, g->fields[i], buf, &known);
        size_t vl = v ? strlen(v) : 0;
        int w;
        v = v ? v : "";
        cut |= vl > AC_GROUP_VALUE_MAX;
        /* the hash sees every value whole, separated by a NUL */
        (void)EVP_DigestUpdate(md, v, vl + 1);
        w = snprintf(out + len, AC_GROUP_KEY_SIZE - len, "%s%s=%.*s", i ? "," : "", g->fields[i],
                     AC_GROUP_VALUE_MAX, v);
        len += w > 0 ? (size_t)w : 0;
        len = len < AC_GROUP_KEY_SIZE ? len : AC_GROUP_KEY_SIZE - 1;
    }
    (void)EVP_DigestFinal_ex(md, digest, &dlen);
    EVP_MD_CTX_free(md);
    if (cut || len + 1 >= AC_GROUP_KEY_SIZE - 20) {
        len = len < AC_GROUP_KEY_SIZE - 20 ? len : AC_GROUP_KEY_SIZE - 20;
        out[len++] = '#';
        ac_hex(digest, 8, out + len);
    }
}

bool ac_group_routes_add(struct ac_group_routes *r, const json_t *doc)
{
    struct ac_group_route rt;
    json_t *errs = json_array();
    bool ok = ac_matchers_from_json(&rt.ms, json_object_get(doc, "matchers"), "$.matchers", errs) ==
              AC_OK;

    if (ok && ac_group_by_from_json(&rt.by, json_object_get(doc, "group_by"), "$.group_by", errs) !=
                  AC_OK) {
        ac_matchers_deinit(&rt.ms);
        ok = false;
    }
    json_decref(errs);
    if (ok) {
        const char *team = json_string_value(json_object_get(doc, "team"));
        rt.team = team ? strtoll(team, NULL, 10) : json_integer_value(json_object_get(doc, "team"));
        r->v = ac_xrealloc(r->v, (r->n + 1) * sizeof(*r->v));
        r->v[r->n++] = rt;
    }
    return ok;
}

void ac_group_routes_deinit(struct ac_group_routes *r)
{
    for (size_t i = 0; i < r->n; i++) {
        ac_matchers_deinit(&r->v[i].ms);
        ac_group_by_deinit(&r->v[i].by);
    }
    free(r->v);
    memset(r, 0, sizeof(*r));
}

void ac_group_routes_key(const struct ac_group_routes *r, const struct ac_event *ev, char *out,
                         int64_t *team)
{
    for (size_t i = 0; i < r->n; i++) {
        if (ac_matchers_match(&r->v[i].ms, ev)) {
            ac_group_key(&r->v[i].by, ev, out);
            *team = r->v[i].team;
            return;
        }
    }
    out[0] = '\0';
    *team = r->default_team;
}
