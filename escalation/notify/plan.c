/* SPDX-License-Identifier: Apache-2.0 */
/* Planning notification intents (see plan.h). */
#include "escalation/notify/plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escalation/level.h"
#include "escalation/notify/action.h"
#include "schema/timefmt.h"
#include "server/core/log.h"
#include "server/core/mem.h"

static const char *const plan_reasons[] = {
    [AC_REASON_OPEN] = "open",       [AC_REASON_ESCALATE] = "escalate",
    [AC_REASON_RESOLVE] = "resolve", [AC_REASON_TIMEOUT] = "timeout",
    [AC_REASON_REPEAT] = "repeat",   [AC_REASON_SUMMARY] = "summary",
};

const char *ac_notify_reason_name(enum ac_notify_reason r)
{
    return plan_reasons[r];
}

bool ac_notify_reason_parse(const char *s, enum ac_notify_reason *out)
{
    for (size_t i = 0; i < sizeof(plan_reasons) / sizeof(plan_reasons[0]); i++) {
        if (strcmp(s, plan_reasons[i]) == 0) {
            *out = (enum ac_notify_reason)i;
            return true;
        }
    }
    return false;
}

/* --- the snapshot ------------------------------------------------------------ */

/* Room for one more of n in *v (cap elements of size sz). */
static void *plan_grow(void *v, size_t n, size_t *cap, size_t sz)
{
    if (n < *cap) {
        return v;
    }
    *cap = *cap ? 2 * *cap : 8;
    return ac_xrealloc(v, *cap * sz);
}

#define PLAN_PUSH(arr, n, cap) ((arr) = plan_grow((arr), (n), &(cap), sizeof(*(arr))), &(arr)[(n)])

void ac_snapshot_init(struct ac_oncall_snapshot *o)
{
    memset(o, 0, sizeof(*o));
}

void ac_snapshot_deinit(struct ac_oncall_snapshot *o)
{
    for (size_t i = 0; i < o->nroutes; i++) {
        ac_matchers_deinit(&o->routes[i].ms);
    }
    for (size_t i = 0; i < o->nteams; i++) {
        free(o->teams[i].name);
        for (size_t t = 0; t < o->teams[i].ntiers; t++) {
            free(o->teams[i].targets[t]);
        }
    }
    for (size_t i = 0; i < o->nschedules; i++) {
        ac_schedule_deinit(&o->schedules[i].s);
    }
    for (size_t i = 0; i < o->ncontacts; i++) {
        json_decref(o->contacts[i].doc);
    }
    for (size_t i = 0; i < o->nsilences; i++) {
        ac_matchers_deinit(&o->silences[i].ms);
    }
    ac_inhibit_deinit(&o->inhibit);
    free(o->routes);
    free(o->teams);
    free(o->schedules);
    free(o->contacts);
    free(o->silences);
    memset(o, 0, sizeof(*o));
}

/* An id from a string of digits (routes, teams name each other so). */
static int64_t plan_id(const json_t *v)
{
    int64_t id = 0;

    return v && ac_oncall_parse_id(v, &id) ? id : 0;
}

bool ac_snapshot_add_route(struct ac_oncall_snapshot *o, const json_t *doc)
{
    struct ac_plan_route *rt = PLAN_PUSH(o->routes, o->nroutes, o->caproutes);
    json_t *errs = json_array();
    int64_t team = plan_id(json_object_get(doc, "team"));
    bool ok = team && ac_matchers_from_json(&rt->ms, json_object_get(doc, "matchers"), "$.matchers",
                                            errs) == AC_OK;

    json_decref(errs);
    if (ok) {
        rt->team = team;
        o->nroutes++;
    }
    return ok;
}

bool ac_snapshot_add_team(struct ac_oncall_snapshot *o, int64_t id, const char *name,
                          const json_t *doc, bool is_default)
{
    struct ac_plan_team *t = PLAN_PUSH(o->teams, o->nteams, o->capteams);
    const json_t *chain = json_object_get(doc, "chain"), *tier, *target;
    size_t i, k;

    memset(t, 0, sizeof(*t));
    t->id = id;
    t->name = ac_xstrdup(name);
    t->lead = plan_id(json_object_get(doc, "lead"));
    json_array_foreach(chain, i, tier)
    {
        const json_t *targets = json_object_get(tier, "targets");
        if (t->ntiers == AC_TEAM_TIERS_MAX) {
            break;
        }
        t->targets[t->ntiers] = ac_xcalloc(json_array_size(targets) + 1, sizeof(**t->targets));
        json_array_foreach(targets, k, target)
        {
            struct ac_plan_target *pt = &t->targets[t->ntiers][t->ntargets[t->ntiers]];
            if ((pt->id = plan_id(json_object_get(target, "schedule")))) {
                pt->kind = AC_TARGET_SCHEDULE;
            }
            else if ((pt->id = plan_id(json_object_get(target, "contact")))) {
                pt->kind = AC_TARGET_CONTACT;
            }
            else if (json_is_true(json_object_get(target, "lead"))) {
                pt->kind = AC_TARGET_LEAD;
            }
            else {
                continue;
            }
            t->ntargets[t->ntiers]++;
        }
        t->ntiers++;
    }
    if (is_default) {
        o->default_team = id;
    }
    o->nteams++;
    return true;
}

bool ac_snapshot_add_schedule(struct ac_oncall_snapshot *o, int64_t id, const json_t *doc)
{
    struct ac_plan_schedule *s = PLAN_PUSH(o->schedules, o->nschedules, o->capschedules);
    json_t *errs = json_array();
    bool ok = doc && ac_schedule_from_json(doc, &s->s, errs) == AC_OK;

    json_decref(errs);
    if (ok) {
        s->id = id;
        o->nschedules++;
    }
    return ok;
}

bool ac_snapshot_add_contact(struct ac_oncall_snapshot *o, int64_t id, json_t *contact)
{
    struct ac_plan_contact *c = PLAN_PUSH(o->contacts, o->ncontacts, o->capcontacts);

    if (!json_is_object(contact)) {
        return false;
    }
    c->id = id;
    c->doc = json_incref(contact);
    o->ncontacts++;
    return true;
}

bool ac_snapshot_add_silence(struct ac_oncall_snapshot *o, int64_t id, const json_t *matchers,
                             int64_t alert, int64_t ends, int64_t incident)
{
    struct ac_plan_silence *s = PLAN_PUSH(o->silences, o->nsilences, o->capsilences);
    json_t *errs = json_array();
    bool ok = matchers && ac_matchers_from_json(&s->ms, matchers, "$.matchers", errs) == AC_OK;

    json_decref(errs);
    if (ok) {
        s->id = id;
        s->alert = alert;
        s->incident = incident;
        s->ends = ends;
        o->nsilences++;
    }
    return ok;
}

int64_t ac_snapshot_route(const struct ac_oncall_snapshot *o, const struct ac_event *ev)
{
    for (size_t i = 0; ev && i < o->nroutes; i++) {
        if (ac_matchers_match(&o->routes[i].ms, ev)) {
            return o->routes[i].team;
        }
    }
    return o->default_team;
}

const struct ac_plan_silence *ac_snapshot_silenced(const struct ac_oncall_snapshot *o,
                                                   int64_t incident_id, int64_t alert_id,
                                                   const struct ac_event *ev)
{
    for (size_t i = 0; i < o->nsilences; i++) {
        const struct ac_plan_silence *s = &o->silences[i];
        if ((s->alert && s->alert != alert_id) || (s->incident && s->incident != incident_id)) {
            continue;
        }
        /* an alert's or incident's own silence without matchers holds it
         * whatever it says; one for everything (all: true) holds all */
        if (s->ms.n == 0 ? true : ev && ac_matchers_match(&s->ms, ev)) {
            return s;
        }
    }
    return NULL;
}

static const struct ac_plan_team *plan_team(const struct ac_oncall_snapshot *o, int64_t id)
{
    for (size_t i = 0; i < o->nteams; i++) {
        if (o->teams[i].id == id) {
            return &o->teams[i];
        }
    }
    return NULL;
}

/* Appends contact id to recipients unless it is there or unknown. */
static void plan_add_contact(const struct ac_oncall_snapshot *o, json_t *recipients, int64_t id)
{
    const json_t *c = NULL;
    size_t i;
    json_t *r;

    for (i = 0; i < o->ncontacts && !c; i++) {
        c = o->contacts[i].id == id ? o->contacts[i].doc : NULL;
    }
    if (!c) {
        return;
    }
    json_array_foreach(recipients, i, r)
    {
        if (json_equal(json_object_get(r, "id"), json_object_get(c, "id"))) {
            return;
        }
    }
    (void)json_array_append(recipients, (json_t *)c);
}

/* The contact target pt of team t names at now_s (0: nobody), and for a
 * schedule the end of the shift (*until, else 0). */
static int64_t plan_target_contact(const struct ac_oncall_snapshot *o, const struct ac_plan_team *t,
                                   const struct ac_plan_target *pt, int64_t now_s, int64_t *until)
{
    *until = 0;
    if (pt->kind == AC_TARGET_CONTACT) {
        return pt->id;
    }
    if (pt->kind == AC_TARGET_LEAD) {
        return t->lead;
    }
    for (size_t s = 0; s < o->nschedules; s++) {
        struct ac_oncall oc;
        if (o->schedules[s].id == pt->id) {
            ac_schedule_oncall(&o->schedules[s].s, now_s, &oc);
            *until = oc.contact ? oc.until : 0;
            return oc.contact;
        }
    }
    return 0;
}

json_t *ac_snapshot_recipients(const struct ac_oncall_snapshot *o, int64_t team, long tier,
                               int64_t now_s)
{
    const struct ac_plan_team *t = plan_team(o, team);
    json_t *out = json_array();
    int64_t until, who;
    size_t k;

    if (!t || t->ntiers == 0) {
        return out;
    }
    k = tier < 1 ? 0 : tier > (long)t->ntiers ? t->ntiers - 1 : (size_t)tier - 1;
    for (size_t i = 0; i < t->ntargets[k]; i++) {
        if ((who = plan_target_contact(o, t, &t->targets[k][i], now_s, &until))) {
            plan_add_contact(o, out, who);
        }
    }
    return out;
}

json_t *ac_snapshot_oncall(const struct ac_oncall_snapshot *o, int64_t now_s)
{
    static const char *const kinds[] = {"schedule", "contact", "lead"};
    json_t *teams = json_array();

    for (size_t ti = 0; ti < o->nteams; ti++) {
        const struct ac_plan_team *t = &o->teams[ti];
        json_t *tiers = json_array();
        for (size_t k = 0; k < t->ntiers; k++) {
            json_t *targets = json_array();
            for (size_t i = 0; i < t->ntargets[k]; i++) {
                const struct ac_plan_target *pt = &t->targets[k][i];
                int64_t until, who = plan_target_contact(o, t, pt, now_s, &until);
                json_t *c = json_array(), *x;
                plan_add_contact(o, c, who);
                x = json_pack("{s:s, s:O}", "kind", kinds[pt->kind], "contact",
                              json_array_size(c) ? json_array_get(c, 0) : json_null());
                if (pt->kind != AC_TARGET_LEAD) {
                    json_object_set_new(x,
                                        pt->kind == AC_TARGET_SCHEDULE ? "schedule" : "contact_id",
                                        json_sprintf("%lld", (long long)pt->id));
                }
                if (until > 0) {
                    char when[AC_TIME_STRLEN];
                    ac_time_format(until * 1000000, when);
                    json_object_set_new(x, "until", json_string(when));
                }
                json_array_append_new(targets, x);
                json_decref(c);
            }
            json_array_append_new(
                tiers, json_pack("{s:I, s:o}", "tier", (json_int_t)(k + 1), "targets", targets));
        }
        json_array_append_new(teams, json_pack("{s:o, s:s, s:b, s:o}", "id",
                                               json_sprintf("%lld", (long long)t->id), "name",
                                               t->name ? t->name : "", "default",
                                               t->id == o->default_team, "tiers", tiers));
    }
    return teams;
}

/* --- planning ----------------------------------------------------------------- */

bool ac_plan_latest_event(const json_t *alert, struct ac_event *ev)
{
    /* the stored document with what the server added to it (ids, the
     * fingerprint, times: ac_event_json, ac_alert_json) taken off again */
    static const char *const added[] = {"event_id",    "alert_id", "fingerprint",
                                        "received_at", "folded",   NULL};
    json_t *latest = json_deep_copy(json_object_get(alert, "latest_event"));
    json_t *errs = json_array();
    bool ok;

    memset(ev, 0, sizeof(*ev));
    for (const char *const *k = added; latest && *k; k++) {
        (void)json_object_del(latest, *k);
    }
    ok = latest && ac_event_from_json(latest, ev, -1, errs);
    if (!ok && latest) {
        char *e = json_dumps(errs, JSON_COMPACT);
        ac_log(AC_LOG_WARN, "notify",
               "alert %s: its latest event does not load (%s); routes"
               " and silences see no fields",
               json_string_value(json_object_get(alert, "id")), e);
        free(e);
    }
    json_decref(latest);
    json_decref(errs);
    return ok;
}

/* The incident's representative alert: its oldest carried (new copy with
 * the incident's level and, once resolved, status), or an empty object. */
static json_t *plan_first_alert(const json_t *inc)
{
    json_t *a = json_copy(json_array_get(json_object_get(inc, "members"), 0));
    const json_t *status = json_object_get(inc, "status");

    a = a ? a : json_object();
    (void)json_object_set(a, "level", json_object_get(inc, "level"));
    if (json_is_string(status) && strcmp(json_string_value(status), "resolved") == 0) {
        (void)json_object_set(a, "status", (json_t *)status);
    }
    return a;
}

static const char *plan_str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static long long plan_int(const json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

/* The default title and text of a notification (channels' templates may use
 * anything of the context instead). */
static void plan_message(json_t *ctx, const struct ac_plan_intent *in, enum ac_notify_reason as,
                         enum ac_level level)
{
    const json_t *inc = in->incident, *d = in->details;
    const char *lv = ac_level_name(level), *title = plan_str(inc, "title");
    const json_t *first = json_array_get(json_object_get(inc, "members"), 0);
    const json_t *ev = json_object_get(first, "latest_event");
    const char *why = plan_str(inc, "level_reason");
    const json_t *top = json_object_get(inc, "top_apps");
    struct ac_buf t = {0}, x = {0};
    size_t i;
    json_t *app;

    title = title ? title : "incident";
    switch (as) {
        case AC_REASON_RESOLVE:
            ac_buf_printf(&t, "[RESOLVED] %s", title);
            break;
        case AC_REASON_ESCALATE:
            ac_buf_printf(&t, "[%s] %s escalated %s→%s", lv, title,
                          in->told ? ac_level_name(in->told) : "?", lv);
            break;
        case AC_REASON_REPEAT:
            ac_buf_printf(&t, "[%s] %s still open", lv, title);
            break;
        case AC_REASON_TIMEOUT:
            ac_buf_printf(&t, "[%s] %s not acknowledged (tier %ld)", lv, title, in->tier);
            break;
        case AC_REASON_SUMMARY:
            ac_buf_printf(&t, "[%s] %s: %lld new alerts, %lld apps, %lld GC6/GC7 users", lv, title,
                          plan_int(d, "new_alerts"), plan_int(d, "apps"), plan_int(d, "gc_users"));
            break;
        case AC_REASON_OPEN:
            ac_buf_printf(&t, "[%s] %s", lv, title);
            break;
    }
    if (as != AC_REASON_SUMMARY) { /* ": 3 alerts, 2 apps, 1 GC6/GC7 user" */
        static const struct {
            const char *key, *noun;
        } counts[] = {{"alerts", "alert"}, {"apps", "app"}, {"gc_users", "GC6/GC7 user"}};
        for (size_t c = 0; c < 3; c++) {
            long long n = plan_int(inc, counts[c].key);
            if (c == 0 || n > 0) {
                ac_buf_printf(&t, "%s%lld %s%s", c ? ", " : ": ", n, counts[c].noun,
                              n == 1 ? "" : "s");
            }
        }
    }
    if (plan_str(ev, "title")) {
        ac_buf_printf(&x, "%s", plan_str(ev, "title"));
    }
    if (plan_str(ev, "message")) {
        ac_buf_printf(&x, "%s%s", x.len ? "\n" : "", plan_str(ev, "message"));
    }
    if (why && as != AC_REASON_RESOLVE) {
        ac_buf_printf(&x, "%swhy %s: %s", x.len ? "\n" : "", lv, why);
    }
    if (json_array_size(top) > 0) {
        ac_buf_printf(&x, "%stop apps:", x.len ? "\n" : "");
        json_array_foreach(top, i, app)
        {
            ac_buf_printf(&x, "%s %s", i ? "," : "", json_string_value(app));
        }
    }
    ac_buf_printf(&x, "%sincident %s, %lld alert(s), %lld event(s) since %s", x.len ? "\n" : "",
                  plan_str(inc, "id") ?: "?", plan_int(inc, "alerts"), plan_int(inc, "events"),
                  plan_str(inc, "first_seen") ?: "?");
    (void)json_object_set_new(ctx, "title", json_string(t.data ? t.data : ""));
    (void)json_object_set_new(ctx, "text", json_string(x.data ? x.data : ""));
    ac_buf_deinit(&t);
    ac_buf_deinit(&x);
}

/* The action links of a card: for the first recipient (chat cards go to a
 * group; the link records who was asked). None without public_url and a
 * secret; the O&M ones only with om_webhook. */
static json_t *plan_actions(const struct ac_notify_config *nc, int64_t incident_id,
                            const json_t *recipient, int64_t now_s)
{
    json_t *out = json_object();
    const char *cid = json_string_value(json_object_get(recipient, "id"));

    if (!nc->public_url || !nc->action_secret) {
        return out;
    }
    for (int a = 0; a < AC_ACTION_COUNT; a++) {
        struct ac_action_link l = {.incident = incident_id,
                                   .action = (enum ac_action)a,
                                   .contact = cid ? strtoll(cid, NULL, 10) : 0,
                                   .expires = now_s + nc->action_ttl_s};
        char *tok, *url;
        if (ac_action_is_om(l.action) && !nc->om.ops) {
            continue;
        }
        tok = ac_action_token(nc->action_secret, &l);
        url = ac_xasprintf("%s/v1/actions/%s", nc->public_url, tok);
        (void)json_object_set_new(out, ac_action_name(l.action), json_string(url));
        free(tok);
        free(url);
    }
    return out;
}

/* One request to ch (to contact, or NULL) with the context ctx. */
static void plan_row(struct ac_plan_out *out, const struct ac_plan_intent *in,
                     const struct ac_channel *ch, const json_t *contact, json_t *ctx)
{
    struct ac_plan_row *row = &out->rows[out->nrows++];
    const char *cid = json_string_value(json_object_get(contact, "id"));

    row->ch = ch;
    row->contact_id = cid;
    row->key = cid ? ac_xasprintf("n%lld-%s-c%s", (long long)in->id, ch->name, cid)
                   : ac_xasprintf("n%lld-%s", (long long)in->id, ch->name);
    (void)json_object_set_new(ctx, "notification", json_pack("{s:s}", "key", row->key));
    if (contact) {
        (void)json_object_set(ctx, "contact", (json_t *)contact);
    }
    else {
        (void)json_object_del(ctx, "contact");
    }
    row->doc = json_dumps(ctx, JSON_COMPACT);
}

static bool plan_is_phone(const struct ac_channel *ch)
{
    return strcmp(ch->ops->kind, "phone") == 0;
}

static bool plan_is_email(const struct ac_channel *ch)
{
    return strcmp(ch->ops->kind, "email") == 0;
}

/* The channels of a message as at level: a resolve's are the resolve
 * channels (else those used, but phone), a summary's the level's but phone,
 * NotificationFailed's the fallback, the others their level's. Returns how
 * many. */
static size_t plan_channels(const struct ac_notify_config *nc, const struct ac_plan_intent *in,
                            enum ac_notify_reason as, enum ac_level level,
                            const struct ac_channel **chans)
{
    const char *type = plan_str(in->incident, "type");
    size_t n = 0, k;
    json_t *name;

    if (as == AC_REASON_RESOLVE && nc->resolve_set) {
        for (k = 0; k < nc->nresolve; k++) {
            chans[n++] = &nc->channels[nc->resolve_channels[k]];
        }
        return n;
    }
    if (as == AC_REASON_RESOLVE) {
        json_array_foreach(in->used, k, name)
        {
            const struct ac_channel *ch = ac_notify_channel(nc, json_string_value(name));
            if (ch && !plan_is_phone(ch) && n < AC_NOTIFY_CHANNELS_MAX) {
                chans[n++] = ch;
            }
        }
        return n;
    }
    if (nc->fallback && type && strcmp(type, "NotificationFailed") == 0) {
        chans[n++] = nc->fallback; /* never the channels that may be failing */
        return n;
    }
    for (k = 0; level >= AC_LEVEL_P1 && k < nc->nlevel[level - 1]; k++) {
        const struct ac_channel *ch = &nc->channels[nc->level_channels[level - 1][k]];
        if (as != AC_REASON_SUMMARY || !plan_is_phone(ch)) {
            chans[n++] = ch;
        }
    }
    return n;
}

/* Who a message goes to: a resolve's, every tier told; a timeout's, its
 * tier; the others', the tier reached (1 before anyone was told). */
static json_t *plan_recipients(const struct ac_oncall_snapshot *o, const struct ac_plan_intent *in,
                               enum ac_notify_reason as, int64_t team, long tier, int64_t now_s)
{
    json_t *out, *more, *c;
    size_t i;

    if (!team) {
        return json_array();
    }
    if (as != AC_REASON_RESOLVE) {
        return ac_snapshot_recipients(o, team, tier, now_s);
    }
    out = json_array();
    for (long t = 1; t <= (in->notified_tier > 0 ? in->notified_tier : 1); t++) {
        more = ac_snapshot_recipients(o, team, t, now_s);
        json_array_foreach(more, i, c)
        {
            size_t j;
            json_t *have;
            bool dup = false;
            json_array_foreach(out, j, have)
            {
                dup |= json_equal(json_object_get(have, "id"), json_object_get(c, "id"));
            }
            if (!dup) {
                (void)json_array_append(out, c);
            }
        }
        json_decref(more);
    }
    return out;
}

/* Whether every carried open alert of the incident is silenced or
 * inhibited: AC_PLAN_HOLD (some silenced: out->silence, the first one's),
 * AC_PLAN_INHIBITED (all inhibited), else AC_PLAN_NOTIFY. The alerts looked
 * at for inhibition, and what was found, go to out->inhibitions. */
static enum ac_plan_verdict plan_held(const struct ac_oncall_snapshot *o,
                                      const struct ac_plan_intent *in, struct ac_plan_out *out)
{
    const json_t *alerts = json_object_get(in->incident, "members"), *a;
    const struct ac_plan_silence *first = NULL;
    bool any = false;
    size_t i;

    if (o->nsilences == 0 && o->inhibit.n == 0) {
        return AC_PLAN_NOTIFY; /* nothing could hold it: no alert need be read */
    }
    out->inhibitions = ac_xcalloc(json_array_size(alerts) + 1, sizeof(*out->inhibitions));
    json_array_foreach(alerts, i, a)
    {
        struct ac_event ev;
        bool has = ac_plan_latest_event(a, &ev);
        const char *ids = plan_str(a, "id");
        int64_t id = ids ? strtoll(ids, NULL, 10) : 0, rule = 0, by = 0;
        const struct ac_plan_silence *s =
            ac_snapshot_silenced(o, in->incident_id, id, has ? &ev : NULL);
        if (!s && has && o->inhibit.n > 0) {
            by = ac_inhibited(&o->inhibit, id, &ev, &rule);
            out->inhibitions[out->ninhibitions++] =
                (struct ac_plan_inhibition){.alert = id, .source = by, .rule = rule};
        }
        ac_event_deinit(&ev);
        if (!s && !by) {
            return AC_PLAN_NOTIFY;
        }
        first = first ? first : s;
        any = true;
    }
    if (!any) {
        return AC_PLAN_NOTIFY;
    }
    out->silence = first;
    return first ? AC_PLAN_HOLD : AC_PLAN_INHIBITED;
}

/* Decides what in is, given the incident's state: sets out's verdict (and
 * why / until) and returns the message kind for a NOTIFY. */
static enum ac_notify_reason plan_decide(const struct ac_notify_config *nc,
                                         const struct ac_oncall_snapshot *o,
                                         const struct ac_plan_intent *in, enum ac_level level,
                                         int64_t now_s, struct ac_plan_out *out)
{
    const char *status = plan_str(in->incident, "status");
    bool resolved = status && strcmp(status, "resolved") == 0;
    bool acked = status && strcmp(status, "acknowledged") == 0;
    int64_t until;

    out->verdict = AC_PLAN_DROP;
    if (in->reason == AC_REASON_RESOLVE) {
        out->verdict = AC_PLAN_NOTIFY;
        return AC_REASON_RESOLVE;
    }
    if (resolved) {
        out->why = in->held ? "resolved while silenced" : "resolved before it was told";
        if (in->told) {
            out->why = "resolved";
        }
        return in->reason;
    }
    if ((out->verdict = plan_held(o, in, out)) != AC_PLAN_NOTIFY) { /* recorded, not told */
        out->until = now_s + AC_PLAN_INHIBIT_RECHECK_S;
        return in->reason;
    }
    out->verdict = AC_PLAN_DROP;
    if (!in->told) { /* the first notification */
        if (in->reason != AC_REASON_OPEN && in->reason != AC_REASON_ESCALATE) {
            out->why = "not told yet";
            return in->reason;
        }
        if (!ac_notify_level_notifies(nc, level)) {
            out->why = "no channels at its level";
            return in->reason;
        }
        until = in->created_s + nc->group_wait_s[level - 1];
        if (now_s < until) {
            out->verdict = AC_PLAN_WAIT;
            out->until = until;
            return in->reason;
        }
        out->verdict = AC_PLAN_NOTIFY;
        return AC_REASON_OPEN;
    }
    switch (in->reason) {
        case AC_REASON_OPEN:
            out->why = "told already";
            return in->reason;
        case AC_REASON_ESCALATE:
            if (level >= in->told) {
                out->why = "told at this level already";
                return in->reason;
            }
            break;
        case AC_REASON_SUMMARY:
        case AC_REASON_REPEAT:
            if (acked) {
                out->why = "acknowledged";
                return in->reason;
            }
            break;
        case AC_REASON_TIMEOUT:
        case AC_REASON_RESOLVE:
            break;
    }
    out->verdict = AC_PLAN_NOTIFY;
    return in->reason;
}

/* The context every notification of in starts from (new). */
static json_t *plan_context(const struct ac_notify_config *nc, const struct ac_oncall_snapshot *o,
                            const struct ac_plan_intent *in, enum ac_notify_reason as,
                            enum ac_level level, int64_t team, long tier, json_t *recipients,
                            int64_t now_s)
{
    const struct ac_plan_team *t = plan_team(o, team);
    json_t *inc = json_copy((json_t *)in->incident), *ctx;
    char tk[24];

    (void)snprintf(tk, sizeof(tk), "%lld", (long long)team);
    (void)json_object_del(inc, "members");
    ctx = json_pack(
        "{s:o, s:o, s:s, s:s, s:I, s:O, s:o}", "incident", inc, "alert",
        plan_first_alert(in->incident), "reason", ac_notify_reason_name(as), "level",
        ac_level_name(level), "tier", (json_int_t)tier, "recipients", recipients, "team",
        team ? json_pack("{s:s, s:s*}", "id", tk, "name", t ? t->name : NULL) : json_null());
    if (as == AC_REASON_ESCALATE) {
        (void)json_object_set_new(
            ctx, "escalation",
            json_pack("{s:s, s:s, s:s*}", "from", in->told ? ac_level_name(in->told) : "?", "to",
                      ac_level_name(level), "why", plan_str(in->incident, "level_reason")));
    }
    if (as == AC_REASON_SUMMARY && in->details) {
        (void)json_object_set(ctx, "summary", (json_t *)in->details);
    }
    (void)json_object_set_new(
        ctx, "actions", plan_actions(nc, in->incident_id, json_array_get(recipients, 0), now_s));
    plan_message(ctx, in, as, level);
    return ctx;
}

void ac_plan(const struct ac_notify_config *nc, const struct ac_oncall_snapshot *o,
             const struct ac_plan_intent *in, int64_t now_s, struct ac_plan_out *out)
{
    const struct ac_channel *chans[AC_NOTIFY_CHANNELS_MAX];
    enum ac_level level = AC_LEVEL_P4;
    enum ac_notify_reason as;
    json_t *recipients, *ctx;
    const json_t *first;
    struct ac_event ev;
    bool has_ev;
    size_t nch;
    long tier;

    memset(out, 0, sizeof(*out));
    if (plan_str(in->incident, "level")) {
        (void)ac_level_parse(plan_str(in->incident, "level"), &level);
    }
    as = plan_decide(nc, o, in, level, now_s, out);
    if (out->verdict != AC_PLAN_NOTIFY) {
        return;
    }
    out->as = as;
    first = json_array_get(json_object_get(in->incident, "members"), 0);
    has_ev = first && ac_plan_latest_event(first, &ev);
    out->team = in->team ? in->team : ac_snapshot_route(o, has_ev ? &ev : NULL);
    if (has_ev) {
        ac_event_deinit(&ev);
    }
    tier = as == AC_REASON_TIMEOUT             ? in->tier
           : in->told && in->notified_tier > 0 ? in->notified_tier
                                               : 1;
    out->tier = tier;
    nch = plan_channels(nc, in, as, level, chans);
    recipients = plan_recipients(o, in, as, out->team, tier, now_s);
    ctx = plan_context(nc, o, in, as, level, out->team, tier, recipients, now_s);
    out->rows = ac_xcalloc(nch * (json_array_size(recipients) + 1) + 1, sizeof(*out->rows));
    out->used = json_array();
    for (size_t k = 0; k < nch; k++) {
        size_t r;
        json_t *who;
        if (!chans[k]->ops->per_contact) {
            plan_row(out, in, chans[k], NULL, ctx);
        }
        json_array_foreach(chans[k]->ops->per_contact ? recipients : NULL, r, who)
        {
            /* a person channel needs the person's address on it */
            if (json_object_get(who, plan_is_email(chans[k]) ? "email" : "phone")) {
                plan_row(out, in, chans[k], who, ctx);
            }
        }
        (void)json_array_append_new(out->used, json_string(chans[k]->name));
    }
    out->remember = as != AC_REASON_RESOLVE;
    out->level = level;
    {
        const char *last = plan_str(in->incident, "last_alert_id");
        out->told_alert = last ? strtoll(last, NULL, 10) : 0;
    }
    out->mtta_s = nc->mtta_s[level - 1];
    out->arm = as == AC_REASON_TIMEOUT;
    json_decref(recipients);
    json_decref(ctx);
}

void ac_plan_out_deinit(struct ac_plan_out *out)
{
    for (size_t i = 0; i < out->nrows; i++) {
        free(out->rows[i].key);
        free(out->rows[i].doc);
    }
    free(out->rows);
    free(out->inhibitions);
    json_decref(out->used);
    memset(out, 0, sizeof(*out));
}
