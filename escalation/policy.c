/* SPDX-License-Identifier: Apache-2.0 */
/* Escalation policies: defaults, configuration, evaluation, window sets. */
#include "escalation/policy.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/core/config.h"
#include "server/core/mem.h"

#define ESC_MIN (60LL * 1000000)

/* DESIGN §5. */
static const struct ac_esc_policy esc_default_control = {
    {{AC_LEVEL_P3, AC_LEVEL_P2, 100, 10, 0, 60 * ESC_MIN},
     {AC_LEVEL_P2, AC_LEVEL_P1, 200, 50, 0, 60 * ESC_MIN}},
    2,
};
static const struct ac_esc_policy esc_default_immediate = {
    {{AC_LEVEL_P4, AC_LEVEL_P3, 50, 5, 0, 0},
     {AC_LEVEL_P3, AC_LEVEL_P2, 100, 10, 0, 0},
     {AC_LEVEL_P2, AC_LEVEL_P1, 200, 50, 0, 0}},
    3,
};

static void esc_defaults(struct ac_esc_config *c)
{
    memset(c, 0, sizeof(*c));
    c->by_trace[AC_TRACE_CONTROL] = esc_default_control;
    c->by_trace[AC_TRACE_DATA] = esc_default_immediate;
    c->by_trace[AC_TRACE_RUNTIME] = esc_default_immediate;
    c->tick = 1000000;
    c->members_fill = 5000000;
}

static bool esc_long(const json_t *t, const char *key, long max, long *out, const char *path,
                     json_t *errors)
{
    json_t *v = json_object_get(t, key);
    char p[256];

    *out = 0;
    if (!v) {
        return true;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max) {
        (void)snprintf(p, sizeof(p), "%s.%s", path, key);
        ac_event_error(errors, -1, p, "must be an integer from 0 to %ld", max);
        return false;
    }
    *out = (long)json_integer_value(v);
    return true;
}

static bool esc_tier(const json_t *t, struct ac_esc_tier *tier, const char *path, json_t *errors)
{
    static const char *const keys[] = {"from", "to", "apps", "gc_users", "increment_pct", "hold_s"};
    const char *from = json_string_value(json_object_get(t, "from"));
    const char *to = json_string_value(json_object_get(t, "to"));
    size_t before = json_array_size(errors);
    char p[256];
    const char *k;
    json_t *v;
    long hold;

    memset(tier, 0, sizeof(*tier));
    if (!json_is_object(t)) {
        ac_event_error(errors, -1, path, "a tier is an object {from, to, apps, gc_users, ...}");
        return false;
    }
    json_object_foreach((json_t *)t, k, v)
    {
        bool known = false;
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
            known |= strcmp(k, keys[i]) == 0;
        }
        if (!known) {
            (void)snprintf(p, sizeof(p), "%s.%.32s", path, k);
            ac_event_error(errors, -1, p, "unknown key");
        }
    }
    if (!from || !ac_level_parse(from, &tier->from) || !to || !ac_level_parse(to, &tier->to)) {
        (void)snprintf(p, sizeof(p), "%s", path);
        ac_event_error(errors, -1, p, "from and to must be levels P1..P4");
    }
    else if (tier->to >= tier->from) {
        ac_event_error(errors, -1, path, "to (%s) must be more severe than from (%s)", to, from);
    }
    (void)esc_long(t, "apps", 10000000, &tier->apps, path, errors);
    (void)esc_long(t, "gc_users", 10000000, &tier->gc_users, path, errors);
    (void)esc_long(t, "increment_pct", 1000000, &tier->increment_pct, path, errors);
    if (esc_long(t, "hold_s", 30L * 86400, &hold, path, errors)) {
        tier->hold = (int64_t)hold * 1000000;
    }
    if (json_array_size(errors) == before && tier->apps == 0 && tier->gc_users == 0) {
        ac_event_error(errors, -1, path, "needs apps or gc_users");
    }
    return json_array_size(errors) == before;
}

/* A list of tiers, in order: from less to more severe, thresholds not falling. */
static bool esc_policy(const json_t *arr, struct ac_esc_policy *p, const char *path, json_t *errors)
{
    size_t i, before = json_array_size(errors);
    json_t *t;
    char tp[200];

    memset(p, 0, sizeof(*p));
    if (!json_is_array(arr) || json_array_size(arr) > AC_ESC_TIERS_MAX) {
        ac_event_error(errors, -1, path, "must be a list of at most %d tiers", AC_ESC_TIERS_MAX);
        return false;
    }
    json_array_foreach(arr, i, t)
    {
        (void)snprintf(tp, sizeof(tp), "%s[%zu]", path, i);
        if (!esc_tier(t, &p->tiers[p->n], tp, errors)) {
            continue;
        }
        if (p->n > 0) {
            const struct ac_esc_tier *a = &p->tiers[p->n - 1], *b = &p->tiers[p->n];
            if (b->from > a->to) {
                ac_event_error(errors, -1, tp,
                               "tiers out of order: from %s follows a tier that reaches %s",
                               ac_level_name(b->from), ac_level_name(a->to));
            }
            if ((a->apps && b->apps && b->apps < a->apps) ||
                (a->gc_users && b->gc_users && b->gc_users < a->gc_users)) {
                ac_event_error(errors, -1, tp,
                               "thresholds out of order: a more severe tier needs at least the "
                               "figures of the tier before it");
            }
        }
        p->n++;
    }
    return json_array_size(errors) == before;
}

/* The escalation section as its table loads it. */
struct esc_section {
    long tick_ms, fill_ms;
    json_t *policies, *types;
};

const struct ac_cfg_entry ac_esc_cfg[] = {
    {AC_CFG_INT, "tick_ms", "1000", offsetof(struct esc_section, tick_ms), NULL,
     "ms between the escalation timer's decisions (hold clocks, buckets, mirror)", 50, 60000},
    {AC_CFG_INT, "members_fill_ms", "5000", offsetof(struct esc_section, fill_ms), NULL,
     "ms between fill-ins of windows' Redis member sets behind their counts", 100, 3600000},
    {AC_CFG_JSON, "policies", NULL, offsetof(struct esc_section, policies), NULL,
     "per trace (control, data, runtime): [tier]", 0, 0},
    {AC_CFG_JSON, "types", NULL, offsetof(struct esc_section, types), NULL,
     "per alert type: [tier], instead of its trace's policy", 0, 0},
    {AC_CFG_END, NULL, NULL, 0, NULL, NULL, 0, 0},
};

int ac_esc_config_load(struct ac_esc_config *c, const json_t *cfg, json_t *errors)
{
    size_t before = json_array_size(errors);
    struct esc_section sec = {0};
    json_t *problems = json_array();
    const char *k;
    json_t *v;
    char path[200];

    esc_defaults(c);
    if (ac_cfg_load_section(ac_esc_cfg, &sec, cfg, "escalation", problems) != AC_OK) {
        ac_cfg_details(problems, errors);
    }
    c->tick = (int64_t)sec.tick_ms * 1000;
    c->members_fill = (int64_t)sec.fill_ms * 1000;
    if (sec.policies && !json_is_object(sec.policies)) {
        ac_event_error(errors, -1, "escalation.policies", "must be an object {trace: [tier]}");
    }
    if (sec.types && !json_is_object(sec.types)) {
        ac_event_error(errors, -1, "escalation.types", "must be an object {type: [tier]}");
    }
    json_object_foreach(sec.policies, k, v)
    {
        enum ac_trace tr;
        (void)snprintf(path, sizeof(path), "escalation.policies.%.64s", k);
        if (!ac_trace_parse(k, &tr)) {
            ac_event_error(errors, -1, path, "not a trace (control, data, runtime)");
            continue;
        }
        (void)esc_policy(v, &c->by_trace[tr], path, errors);
    }
    c->types = ac_xcalloc(json_object_size(sec.types) + 1, sizeof(*c->types));
    json_object_foreach(sec.types, k, v)
    {
        (void)snprintf(path, sizeof(path), "escalation.types.%.128s", k);
        if (esc_policy(v, &c->types[c->ntypes].policy, path, errors)) {
            c->types[c->ntypes++].type = ac_xstrdup(k);
        }
    }
    ac_cfg_free(ac_esc_cfg, &sec);
    json_decref(problems);
    if (json_array_size(errors) != before) {
        ac_esc_config_deinit(c);
        esc_defaults(c);
        return AC_EINVAL;
    }
    return AC_OK;
}

void ac_esc_config_deinit(struct ac_esc_config *c)
{
    for (size_t i = 0; i < c->ntypes; i++) {
        free(c->types[i].type);
    }
    free(c->types);
    c->types = NULL;
    c->ntypes = 0;
}

const struct ac_esc_policy *ac_esc_policy_for(const struct ac_esc_config *c, const char *type,
                                              enum ac_trace trace)
{
    for (size_t i = 0; type && i < c->ntypes; i++) {
        if (strcmp(c->types[i].type, type) == 0) {
            return &c->types[i].policy;
        }
    }
    return &c->by_trace[trace >= AC_TRACE_CONTROL && trace <= AC_TRACE_RUNTIME ? trace
                                                                               : AC_TRACE_RUNTIME];
}

static json_t *esc_policy_json(const struct ac_esc_policy *p)
{
    json_t *arr = json_array();

    for (size_t i = 0; i < p->n; i++) {
        const struct ac_esc_tier *t = &p->tiers[i];
        json_array_append_new(
            arr, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "from", ac_level_name(t->from), "to",
                           ac_level_name(t->to), "apps", (json_int_t)t->apps, "gc_users",
                           (json_int_t)t->gc_users, "increment_pct", (json_int_t)t->increment_pct,
                           "hold_s", (json_int_t)(t->hold / 1000000)));
    }
    return arr;
}

json_t *ac_esc_config_to_json(const struct ac_esc_config *c)
{
    json_t *policies = json_object(), *types = json_object();

    for (int tr = AC_TRACE_CONTROL; tr <= AC_TRACE_RUNTIME; tr++) {
        json_object_set_new(policies, ac_trace_name((enum ac_trace)tr),
                            esc_policy_json(&c->by_trace[tr]));
    }
    for (size_t i = 0; i < c->ntypes; i++) {
        json_object_set_new(types, c->types[i].type, esc_policy_json(&c->types[i].policy));
    }
    return json_pack("{s:o, s:o, s:I, s:I}", "policies", policies, "types", types, "tick_ms",
                     (json_int_t)(c->tick / 1000), "members_fill_ms",
                     (json_int_t)(c->members_fill / 1000));
}

/* Whether the figures meet a tier; *why says which threshold did. */
static bool esc_met(const struct ac_esc_tier *t, const struct ac_esc_figures *f, char *why,
                    size_t len)
{
    bool by_apps = t->apps && f->apps >= t->apps;
    bool by_users = t->gc_users && f->gc_users >= t->gc_users;
    int n;

    if (!by_apps && !by_users) {
        return false;
    }
    if (t->increment_pct && (!f->has_increment || f->increment_pct < t->increment_pct)) {
        return false;
    }
    n = by_apps ? snprintf(why, len, "apps=%ld ≥ %ld", f->apps, t->apps)
                : snprintf(why, len, "gc_users=%ld ≥ %ld", f->gc_users, t->gc_users);
    if (t->increment_pct && n > 0 && (size_t)n < len) {
        (void)snprintf(why + n, len - (size_t)n, ", increment=+%ld%% ≥ +%ld%%", f->increment_pct,
                       t->increment_pct);
    }
    return true;
}

size_t ac_esc_evaluate(const struct ac_esc_policy *p, const char *name,
                       const struct ac_esc_figures *fig, int64_t now, struct ac_esc_state *st,
                       struct ac_esc_raise *out)
{
    size_t n = 0;
    char why[128];

    /* Hold clocks follow the figures, whatever the current level. */
    for (size_t i = 0; i < p->n; i++) {
        if (esc_met(&p->tiers[i], fig, why, sizeof(why))) {
            if (!st->holding_since[i]) {
                st->holding_since[i] = now;
            }
        }
        else {
            st->holding_since[i] = 0; /* a dip restarts the clock */
        }
    }
    /* Tiers in order, so one evaluation can climb several levels. */
    for (size_t i = 0; i < p->n; i++) {
        const struct ac_esc_tier *t = &p->tiers[i];
        /* A tier lifts the window to its level from any less severe one: a
         * control window still at P4 goes straight to P2 at its P3->P2 tier. */
        if (st->level <= t->to || !st->holding_since[i] || now - st->holding_since[i] < t->hold) {
            continue;
        }
        (void)esc_met(t, fig, why, sizeof(why));
        out[n].from = st->level;
        out[n].to = t->to;
        if (t->hold) {
            bool in_min = t->hold % ESC_MIN == 0;
            (void)snprintf(out[n].reason, sizeof(out[n].reason), "%s for %lld %s (%s %s→%s)", why,
                           (long long)(t->hold / (in_min ? ESC_MIN : 1000000)),
                           in_min ? "min" : "s", name, ac_level_name(t->from),
                           ac_level_name(t->to));
        }
        else {
            (void)snprintf(out[n].reason, sizeof(out[n].reason), "%s (%s %s→%s)", why, name,
                           ac_level_name(t->from), ac_level_name(t->to));
        }
        st->level = t->to;
        n++;
    }
    return n;
}

int64_t ac_esc_tier_due(const struct ac_esc_policy *p, size_t i, const struct ac_esc_state *st,
                        int64_t now)
{
    int64_t left;

    /* pending: holding, with a duration, and the level where the tier applies */
    if (!st->holding_since[i] || !p->tiers[i].hold || st->level <= p->tiers[i].to) {
        return -1;
    }
    left = st->holding_since[i] + p->tiers[i].hold - now;
    return left < 0 ? 0 : left;
}

int64_t ac_esc_next_due(const struct ac_esc_policy *p, const struct ac_esc_state *st, int64_t now)
{
    int64_t best = -1;

    for (size_t i = 0; i < p->n; i++) {
        int64_t left = ac_esc_tier_due(p, i, st, now);
        best = left >= 0 && (best < 0 || left < best) ? left : best;
    }
    return best;
}

void ac_esc_window_init(struct ac_esc_window *w)
{
    memset(w, 0, sizeof(*w));
    ac_strmap_init(&w->apps, 64);
    ac_strmap_init(&w->users, 16);
}

void ac_esc_window_deinit(struct ac_esc_window *w)
{
    for (size_t i = 0; i < w->nowned; i++) {
        free(w->owned[i]);
    }
    free(w->owned);
    ac_strmap_deinit(&w->apps);
    ac_strmap_deinit(&w->users);
    memset(w, 0, sizeof(*w));
}

static bool esc_set_add(struct ac_esc_window *w, struct ac_strmap *set, const char *key)
{
    bool added;
    char *copy;

    if (!key || !*key || ac_strmap_get(set, key, strlen(key))) {
        return false;
    }
    copy = ac_xstrdup(key);
    if (w->nowned == w->capowned) {
        w->capowned = w->capowned ? w->capowned * 2 : 64;
        w->owned = ac_xrealloc(w->owned, w->capowned * sizeof(char *));
    }
    w->owned[w->nowned++] = copy;
    (void)ac_strmap_upsert(set, copy, strlen(copy), 1, &added);
    return added;
}

bool ac_esc_counts_user(int gc_level)
{
    return gc_level >= 6;
}

bool ac_esc_window_add(struct ac_esc_window *w, const char *app_id, const char *user_id,
                       int gc_level)
{
    bool added = esc_set_add(w, &w->apps, app_id);

    w->events++;
    if (ac_esc_counts_user(gc_level)) {
        added |= esc_set_add(w, &w->users, user_id);
    }
    return added;
}

void ac_esc_window_figures(const struct ac_esc_window *w, struct ac_esc_figures *fig)
{
    memset(fig, 0, sizeof(*fig));
    fig->apps = (long)w->apps.n;
    fig->gc_users = (long)w->users.n;
    fig->events = w->events;
}
