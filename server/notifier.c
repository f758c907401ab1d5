/* SPDX-License-Identifier: Apache-2.0 */
/* The notifier: plans intents, time escalation, sends; see notifier.h. */
#include "server/notifier.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "escalation/notify/action.h"
#include "escalation/notify/schedule.h"
#include "schema/timefmt.h"
#include "server/core/log.h"
#include "server/core/matcher.h"
#include "server/core/mem.h"
#include "server/core/metrics.h"
#include "server/core/pg.h"

#define NT_INTENTS_MAX      500
#define NT_RESPONSE_MAX     (64 * 1024)
#define NT_RETRY_CONNECT_US 1000000LL

#define SQL_CLAIM_INTENTS                                                                          \
    "SELECT i.id, i.alert_id, i.reason, i.level, i.tier, i.details::text,"                         \
    " ac_alert_json(a)::text, n.team_id, n.tier, to_json(n.channels)::text, i.held_by"             \
    " FROM notify_intents i JOIN alerts a ON a.id = i.alert_id"                                    \
    " LEFT JOIN alert_notify n ON n.alert_id = i.alert_id"                                         \
    " WHERE i.planned_at IS NULL AND coalesce(i.check_at, i.created_at) <= clock_timestamp()"      \
    " ORDER BY i.id LIMIT $1 FOR UPDATE OF i SKIP LOCKED"
#define SQL_ROUTES "SELECT doc::text FROM routes ORDER BY position, id"
#define SQL_TEAMS  "SELECT id, name, doc::text, is_default FROM teams"
#define SQL_SCHEDS "SELECT id, doc::text FROM schedules"
#define SQL_CONTACTS                                                                               \
    "SELECT id, ac_oncall_json(w.id, w.name, w.doc, w.created_at, w.updated_at)::text"             \
    " FROM contacts w"
#define SQL_INSERT_NOTIFICATIONS                                                                   \
    "INSERT INTO notifications (intent_id, alert_id, channel, kind, contact_id, level, reason,"    \
    " idem_key, context) SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[],"             \
    " $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::jsonb[])"                  \
    " ON CONFLICT (idem_key) DO NOTHING"
#define SQL_PLANNED "UPDATE notify_intents SET planned_at = clock_timestamp() WHERE id = ANY($1)"
#define SQL_SILENCES                                                                               \
    "SELECT id, matchers::text, alert_id, extract(epoch FROM ends_at)::bigint FROM silences"       \
    " WHERE expired_at IS NULL AND starts_at <= now() AND (ends_at IS NULL OR ends_at > now())"
/* Held by a silence: looked at again at its end, or in 30 s (a silence can
 * be deleted, an alert resolved). */
#define SQL_HOLD                                                                                   \
    "UPDATE notify_intents i SET held_by = u.s, check_at = least(to_timestamp(coalesce(u.e,"       \
    " 'infinity'::float8)), clock_timestamp() + interval '30 seconds') FROM unnest($1::bigint[],"  \
    " $2::bigint[], $3::float8[]) AS u(id, s, e) WHERE i.id = u.id"
#define SQL_DROP                                                                                   \
    "UPDATE notify_intents SET planned_at = clock_timestamp(), dropped = $2 WHERE id = ANY($1)"
/* The alert's team, tier, channels used and next tier time (not for a
 * resolve, nor once it is acknowledged or resolved). */
#define SQL_ALERT_NOTIFY                                                                           \
    "WITH u AS (SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::jsonb[],"          \
    " $5::int[]) WITH ORDINALITY AS u(a, t, tier, ch, mtta, ord)),"                                \
    " used AS (SELECT u.a, array_agg(DISTINCT c) AS chans FROM u,"                                 \
    " jsonb_array_elements_text(u.ch) AS c GROUP BY u.a),"                                         \
    " last AS (SELECT DISTINCT ON (u.a) u.* FROM u ORDER BY u.a, u.ord DESC)"                      \
    " INSERT INTO alert_notify AS n (alert_id, team_id, tier, channels, next_tier_at)"             \
    " SELECT l.a, l.t, l.tier, coalesce(used.chans, '{}'), CASE WHEN al.status = 'firing'"         \
    " THEN clock_timestamp() + make_interval(secs => l.mtta) END FROM last l"                      \
    " JOIN alerts al ON al.id = l.a LEFT JOIN used ON used.a = l.a"                                \
    " ON CONFLICT (alert_id) DO UPDATE SET team_id = excluded.team_id, tier = excluded.tier,"      \
    " channels = ARRAY(SELECT DISTINCT x FROM unnest(n.channels || excluded.channels) x),"         \
    " notified_at = clock_timestamp(), next_tier_at = excluded.next_tier_at"
/* Unacknowledged past their MTTA: the next tier. */
#define SQL_DUE_TIERS                                                                              \
    "WITH due AS (SELECT n.alert_id, a.level FROM alert_notify n JOIN alerts a ON a.id ="          \
    " n.alert_id WHERE n.next_tier_at <= clock_timestamp() AND a.status = 'firing'"                \
    " ORDER BY n.next_tier_at LIMIT 100 FOR UPDATE OF n SKIP LOCKED),"                             \
    " u AS (UPDATE alert_notify n SET tier = n.tier + 1, next_tier_at = NULL FROM due"             \
    " WHERE n.alert_id = due.alert_id RETURNING n.alert_id, n.tier, due.level)"                    \
    " INSERT INTO notify_intents (alert_id, reason, level, tier)"                                  \
    " SELECT alert_id, 'timeout', level, tier FROM u"
/* Repeats since the last notification, past the level's repeat interval.
 * Driven from the notified alerts (OFFSET 0 keeps the alert lookup a nested
 * loop over them): the planner would otherwise scan every open alert of the
 * level, at every poll, for the few that were notified. */
#define SQL_DUE_REPEATS                                                                            \
    "WITH due AS (SELECT n.alert_id, a.level, n.tier FROM alert_notify n CROSS JOIN LATERAL"       \
    " (SELECT a.level FROM alerts a WHERE a.id = n.alert_id AND a.status = 'firing'"               \
    " AND a.level = $1 AND a.last_seen > n.notified_at OFFSET 0) a"                                \
    " WHERE n.notified_at < clock_timestamp() - make_interval(secs => $2::int)"                    \
    " AND NOT EXISTS (SELECT 1 FROM notify_intents i WHERE i.alert_id = n.alert_id"                \
    " AND i.planned_at IS NULL) LIMIT 100 FOR UPDATE OF n SKIP LOCKED),"                           \
    " u AS (UPDATE alert_notify n SET notified_at = clock_timestamp() FROM due"                    \
    " WHERE n.alert_id = due.alert_id RETURNING n.alert_id)"                                       \
    " INSERT INTO notify_intents (alert_id, reason, level, tier)"                                  \
    " SELECT due.alert_id, 'repeat', due.level, due.tier FROM due JOIN u USING (alert_id)"
#define SQL_CLAIM_DUE                                                                              \
    "WITH c AS (SELECT id FROM notifications WHERE status IN ('pending', 'sending')"               \
    " AND next_at <= clock_timestamp() AND (lease_until IS NULL OR lease_until <"                  \
    " clock_timestamp()) ORDER BY next_at LIMIT $1 FOR UPDATE SKIP LOCKED)"                        \
    " UPDATE notifications n SET status = 'sending', attempts = n.attempts + 1,"                   \
    " lease_until = clock_timestamp() + make_interval(secs => $2::int) FROM c WHERE n.id = c.id"   \
    " RETURNING n.id, n.channel, n.context::text, n.attempts"
#define SQL_SENT                                                                                   \
    "UPDATE notifications SET status = 'sent', sent_at = clock_timestamp(), lease_until = NULL,"   \
    " last_status = $2::int, last_error = NULL WHERE id = $1::bigint"
#define SQL_RETRY                                                                                  \
    "UPDATE notifications SET status = 'pending', lease_until = NULL, next_at ="                   \
    " clock_timestamp() + make_interval(secs => $3::double precision / 1000),"                     \
    " last_status = $2::int, last_error = $4 WHERE id = $1::bigint"
#define SQL_FAILED                                                                                 \
    "UPDATE notifications SET status = 'failed', lease_until = NULL, last_status = $2::int,"       \
    " last_error = $3 WHERE id = $1::bigint"

struct ac_notifier {
    const struct ac_config *cfg;
    const struct ac_notify_config *nc;
    const struct ac_sink *sink;
    pthread_t thread;
    int stop; /* atomic */
    /* Notifier thread only. */
    PGconn *conn;
    int64_t next_connect_us;
    CURLM *multi;
    unsigned rand_state;
    int plan_batch; /* halved after a failed batch, so one bad intent cannot hold the rest */
    bool sender;    /* this thread sends; the other plans (and times tiers and repeats) */
    struct ac_notifier *sender_peer; /* the planner's: the sending thread's own state */

    /* Relaxed atomics, for metrics. The planner's: */
    unsigned long long n_intents, n_created, n_held, n_dropped;
    /* The sender's: per configured channel, and one for a channel no longer
     * configured ([nc->nchannels]). */
    struct nt_chan_stats {
        unsigned long long sent, retried, failed;
        struct ac_hist time; /* each attempt's request, answered or not */
    } * chan;
};

/* ---- the on-call snapshot a planning batch uses --------------------------- */

struct nt_route {
    struct ac_matchers ms;
    int64_t team;
};

struct nt_silence {
    int64_t id, alert, ends; /* alert 0: any; ends 0: until resolved */
    struct ac_matchers ms;
};

struct nt_oncall {
    struct nt_route *routes;
    size_t nroutes;
    struct nt_silence *silences;
    size_t nsilences;
    json_t *teams;     /* id -> {"name", "doc", "default"} */
    json_t *contacts;  /* id -> contact resource */
    json_t *schedules; /* id -> doc (parsed on use) */
    int64_t default_team;
};

static void nt_oncall_free(struct nt_oncall *o)
{
    for (size_t i = 0; i < o->nroutes; i++) {
        ac_matchers_deinit(&o->routes[i].ms);
    }
    free(o->routes);
    for (size_t i = 0; i < o->nsilences; i++) {
        ac_matchers_deinit(&o->silences[i].ms);
    }
    free(o->silences);
    json_decref(o->teams);
    json_decref(o->contacts);
    json_decref(o->schedules);
    memset(o, 0, sizeof(*o));
}

static PGresult *nt_query(PGconn *c, const char *sql, int n, const char *const *p)
{
    PGresult *r = PQexecParams(c, sql, n, NULL, p, NULL, NULL, 0);

    if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK) {
        ac_log(AC_LOG_WARN, "notify", "statement failed: %s", PQerrorMessage(c));
        PQclear(r);
        return NULL;
    }
    return r;
}

static bool nt_oncall_load(PGconn *c, struct nt_oncall *o)
{
    PGresult *r;

    memset(o, 0, sizeof(*o));
    o->teams = json_object();
    o->contacts = json_object();
    o->schedules = json_object();
    if (!(r = nt_query(c, SQL_ROUTES, 0, NULL))) {
        return false;
    }
    o->routes = ac_xcalloc((size_t)PQntuples(r) + 1, sizeof(*o->routes));
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *doc = json_loads(PQgetvalue(r, i, 0), 0, NULL), *errs = json_array();
        struct nt_route *rt = &o->routes[o->nroutes];
        const char *team = json_string_value(json_object_get(doc, "team"));
        if (doc && team &&
            ac_matchers_from_json(&rt->ms, json_object_get(doc, "matchers"), "$.matchers", errs) ==
                AC_OK) {
            rt->team = strtoll(team, NULL, 10);
            o->nroutes++;
        }
        json_decref(doc);
        json_decref(errs);
    }
    PQclear(r);
    if (!(r = nt_query(c, SQL_TEAMS, 0, NULL))) {
        return false;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *doc = json_loads(PQgetvalue(r, i, 2), 0, NULL);
        (void)json_object_set_new(o->teams, PQgetvalue(r, i, 0),
                                  json_pack("{s:s, s:s, s:o*}", "id", PQgetvalue(r, i, 0), "name",
                                            PQgetvalue(r, i, 1), "doc", doc));
        if (strcmp(PQgetvalue(r, i, 3), "t") == 0) {
            o->default_team = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        }
    }
    PQclear(r);
    if (!(r = nt_query(c, SQL_SCHEDS, 0, NULL))) {
        return false;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        (void)json_object_set_new(o->schedules, PQgetvalue(r, i, 0),
                                  json_loads(PQgetvalue(r, i, 1), 0, NULL));
    }
    PQclear(r);
    if (!(r = nt_query(c, SQL_SILENCES, 0, NULL))) {
        return false;
    }
    o->silences = ac_xcalloc((size_t)PQntuples(r) + 1, sizeof(*o->silences));
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *ms = json_loads(PQgetvalue(r, i, 1), 0, NULL), *errs = json_array();
        struct nt_silence *s = &o->silences[o->nsilences];
        if (ms && ac_matchers_from_json(&s->ms, ms, "$.matchers", errs) == AC_OK) {
            s->id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
            s->alert = PQgetisnull(r, i, 2) ? 0 : strtoll(PQgetvalue(r, i, 2), NULL, 10);
            s->ends = PQgetisnull(r, i, 3) ? 0 : strtoll(PQgetvalue(r, i, 3), NULL, 10);
            o->nsilences++;
        }
        json_decref(ms);
        json_decref(errs);
    }
    PQclear(r);
    if (!(r = nt_query(c, SQL_CONTACTS, 0, NULL))) {
        return false;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        (void)json_object_set_new(o->contacts, PQgetvalue(r, i, 0),
                                  json_loads(PQgetvalue(r, i, 1), 0, NULL));
    }
    PQclear(r);
    return true;
}

/* An alert's latest event (what routes and silences match); false if none. */
static bool nt_event(const json_t *alert, struct ac_event *ev)
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

/* The team of an alert: the first route matching its latest event. */
static int64_t nt_route_team(const struct nt_oncall *o, const struct ac_event *ev, bool has_ev)
{
    for (size_t i = 0; has_ev && i < o->nroutes; i++) {
        if (ac_matchers_match(&o->routes[i].ms, ev)) {
            return o->routes[i].team;
        }
    }
    return o->default_team;
}

/* The silence holding alert_id (its latest event ev), or NULL. */
static const struct nt_silence *nt_silenced(const struct nt_oncall *o, int64_t alert_id,
                                            const struct ac_event *ev, bool has_ev)
{
    for (size_t i = 0; i < o->nsilences; i++) {
        const struct nt_silence *s = &o->silences[i];
        if (s->alert && s->alert != alert_id) {
            continue;
        }
        if (s->ms.n == 0 ? s->alert != 0 : has_ev && ac_matchers_match(&s->ms, ev)) {
            return s;
        }
    }
    return NULL;
}

static void nt_add_contact(const struct nt_oncall *o, json_t *recipients, int64_t id)
{
    char key[24];
    const json_t *c;
    size_t i;
    json_t *r;

    (void)snprintf(key, sizeof(key), "%lld", (long long)id);
    c = json_object_get(o->contacts, key);
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

/* Who tier (1-based; past the last: the last) of team's chain names now. */
static json_t *nt_recipients(const struct nt_oncall *o, int64_t team, long tier, int64_t now_s)
{
    char key[24];
    const json_t *t, *doc, *chain, *targets, *target;
    json_t *out = json_array();
    size_t n, i;

    (void)snprintf(key, sizeof(key), "%lld", (long long)team);
    t = json_object_get(o->teams, key);
    doc = json_object_get(t, "doc");
    chain = json_object_get(doc, "chain");
    n = json_array_size(chain);
    if (n == 0) {
        return out;
    }
    targets = json_object_get(json_array_get(chain, (size_t)(tier < 1         ? 0
                                                             : tier > (long)n ? (long)n - 1
                                                                              : tier - 1)),
                              "targets");
    json_array_foreach(targets, i, target)
    {
        const char *sched = json_string_value(json_object_get(target, "schedule"));
        const char *contact = json_string_value(json_object_get(target, "contact"));
        if (sched) {
            struct ac_schedule s;
            struct ac_oncall oc;
            json_t *errs = json_array();
            const json_t *sdoc = json_object_get(o->schedules, sched);
            if (sdoc && ac_schedule_from_json(sdoc, &s, errs) == AC_OK) {
                ac_schedule_oncall(&s, now_s, &oc);
                if (oc.contact) {
                    nt_add_contact(o, out, oc.contact);
                }
                ac_schedule_deinit(&s);
            }
            json_decref(errs);
        }
        else if (contact) {
            nt_add_contact(o, out, strtoll(contact, NULL, 10));
        }
        else if (json_is_true(json_object_get(target, "lead"))) {
            const char *lead = json_string_value(json_object_get(doc, "lead"));
            if (lead) {
                nt_add_contact(o, out, strtoll(lead, NULL, 10));
            }
        }
    }
    return out;
}

/* ---- planning --------------------------------------------------------------- */

/* The default title and text of a notification (channels' templates may use
 * anything of the context instead). */
static void nt_message(json_t *ctx, const json_t *alert, const char *reason, const char *level,
                       long tier, const json_t *details)
{
    const char *type = json_string_value(json_object_get(alert, "type"));
    const char *where = json_string_value(json_object_get(alert, "app_id"));
    const json_t *ev = json_object_get(alert, "latest_event");
    const char *title = json_string_value(json_object_get(ev, "title"));
    const char *msg = json_string_value(json_object_get(ev, "message"));
    struct ac_buf t = {0}, x = {0};
    char *s;

    if (!where) {
        where = json_string_value(json_object_get(alert, "instance"));
    }
    if (strcmp(reason, "resolve") == 0) {
        ac_buf_printf(&t, "[RESOLVED] %s", type ? type : "alert");
    }
    else if (strcmp(reason, "escalate") == 0) {
        ac_buf_printf(&t, "[%s] %s escalated %s→%s", level, type ? type : "alert",
                      json_string_value(json_object_get(details, "from")) ?: "?",
                      json_string_value(json_object_get(details, "to")) ?: level);
    }
    else if (strcmp(reason, "repeat") == 0) {
        ac_buf_printf(&t, "[%s] %s still firing", level, type ? type : "alert");
    }
    else if (strcmp(reason, "timeout") == 0) {
        ac_buf_printf(&t, "[%s] %s not acknowledged (tier %ld)", level, type ? type : "alert",
                      tier);
    }
    else {
        ac_buf_printf(&t, "[%s] %s", level, type ? type : "alert");
    }
    if (where) {
        ac_buf_printf(&t, " on %s", where);
    }
    ac_buf_printf(&x, "%s", title ? title : "");
    if (msg) {
        ac_buf_printf(&x, "%s%s", x.len ? "\n" : "", msg);
    }
    if (strcmp(reason, "escalate") == 0 && json_object_get(details, "why")) {
        ac_buf_printf(&x, "%sescalated: %s", x.len ? "\n" : "",
                      json_string_value(json_object_get(details, "why")));
    }
    ac_buf_printf(&x, "%salert %s, %lld event(s) since %s", x.len ? "\n" : "",
                  json_string_value(json_object_get(alert, "id")) ?: "?",
                  (long long)json_integer_value(json_object_get(alert, "count")),
                  json_string_value(json_object_get(alert, "first_seen")) ?: "?");
    s = ac_buf_steal(&t);
    (void)json_object_set_new(ctx, "title", json_string(s));
    free(s);
    s = ac_buf_steal(&x);
    (void)json_object_set_new(ctx, "text", json_string(s));
    free(s);
}

/* The action links of a card: for the first recipient (chat cards go to a
 * group; the link records who was asked). None without public_url and a
 * secret; the O&M ones only with om_webhook. */
static json_t *nt_actions(const struct ac_notify_config *nc, const char *alert_id,
                          const json_t *recipient, int64_t now_s)
{
    json_t *out = json_object();
    const char *cid = json_string_value(json_object_get(recipient, "id"));

    if (!nc->public_url || !nc->action_secret) {
        return out;
    }
    for (int a = 0; a < AC_ACTION_COUNT; a++) {
        struct ac_action_link l = {.alert = strtoll(alert_id, NULL, 10),
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

struct nt_rows {
    struct ac_buf a[9];
    size_t n;
};

static void nt_row(struct nt_rows *r, const char *intent, const char *alert,
                   const struct ac_channel *ch, const json_t *contact, const char *level,
                   const char *reason, json_t *ctx)
{
    char *key, *doc;
    const char *cid = json_string_value(json_object_get(contact, "id"));

    key = cid ? ac_xasprintf("n%s-%s-c%s", intent, ch->name, cid)
              : ac_xasprintf("n%s-%s", intent, ch->name);
    (void)json_object_set_new(ctx, "notification", json_pack("{s:s}", "key", key));
    if (contact) {
        (void)json_object_set(ctx, "contact", (json_t *)contact);
    }
    else {
        (void)json_object_del(ctx, "contact");
    }
    doc = json_dumps(ctx, JSON_COMPACT);
    ac_pg_array_add(&r->a[0], intent);
    ac_pg_array_add(&r->a[1], alert);
    ac_pg_array_add(&r->a[2], ch->name);
    ac_pg_array_add(&r->a[3], ch->ops->kind);
    ac_pg_array_add(&r->a[4], cid);
    ac_pg_array_add(&r->a[5], level);
    ac_pg_array_add(&r->a[6], reason);
    ac_pg_array_add(&r->a[7], key);
    ac_pg_array_add(&r->a[8], doc);
    r->n++;
    free(key);
    free(doc);
}

static bool nt_simple(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;

    PQclear(r);
    return ok;
}

/* Plans up to NT_INTENTS_MAX intents in one transaction. Returns how many. */
static int nt_plan(struct ac_notifier *n)
{
    const struct ac_notify_config *nc = n->nc;
    PGresult *in = NULL;
    struct nt_oncall o = {0};
    struct nt_rows rows = {0};
    struct ac_buf ids = {0}, an[5] = {{0}}, hold[3] = {{0}}, drop = {0};
    size_t nan = 0, nhold = 0, ndrop = 0;
    int count = 0, ok = 0;
    char lim[16];
    const char *lp[1] = {lim};
    int64_t now_s = ac_time_now_us() / 1000000;

    (void)snprintf(lim, sizeof(lim), "%d", n->plan_batch);
    if (!nt_simple(n->conn, "BEGIN") || !(in = nt_query(n->conn, SQL_CLAIM_INTENTS, 1, lp))) {
        goto out;
    }
    count = PQntuples(in);
    if (count == 0) { /* end the transaction: the statements after run on their own */
        ok = nt_simple(n->conn, "ROLLBACK");
        goto out;
    }
    if (!nt_oncall_load(n->conn, &o)) {
        goto out;
    }
    for (int i = 0; i < count; i++) {
        const char *intent = PQgetvalue(in, i, 0), *alert_id = PQgetvalue(in, i, 1);
        const char *reason = PQgetvalue(in, i, 2), *level_s = PQgetvalue(in, i, 3);
        json_t *details = json_loads(PQgetvalue(in, i, 5), 0, NULL);
        json_t *alert = json_loads(PQgetvalue(in, i, 6), 0, NULL);
        bool known = !PQgetisnull(in, i, 7) || !PQgetisnull(in, i, 8);
        long tier = strtol(PQgetvalue(in, i, 4), NULL, 10);
        int64_t team = !PQgetisnull(in, i, 7) ? strtoll(PQgetvalue(in, i, 7), NULL, 10) : 0;
        enum ac_level level = AC_LEVEL_P4;
        const struct ac_channel *chans[AC_NOTIFY_CHANNELS_MAX];
        size_t nch = 0;
        json_t *ctx, *recipients, *used;
        char tk[24];
        struct ac_event ev;
        bool has_ev = nt_event(alert, &ev);
        const struct nt_silence *sil = nt_silenced(&o, strtoll(alert_id, NULL, 10), &ev, has_ev);
        const char *status = json_string_value(json_object_get(alert, "status"));

        if (sil) { /* recorded, not notified: held while the silence lasts */
            char sid[24], ends[24];
            (void)snprintf(sid, sizeof(sid), "%lld", (long long)sil->id);
            (void)snprintf(ends, sizeof(ends), "%lld", (long long)sil->ends);
            ac_pg_array_add(&hold[0], intent);
            ac_pg_array_add(&hold[1], sid);
            ac_pg_array_add(&hold[2], sil->ends ? ends : NULL);
            nhold++;
            goto next;
        }
        if (!PQgetisnull(in, i, 10) && strcmp(reason, "resolve") != 0 && status &&
            strcmp(status, "resolved") == 0) { /* it resolved while silenced */
            ac_pg_array_add(&drop, intent);
            ndrop++;
            goto next;
        }
        used = json_array();
        ac_pg_array_add(&ids, intent);
        (void)ac_level_parse(level_s, &level);
        if (strcmp(reason, "resolve") == 0) { /* the channels used before */
            json_t *prev = PQgetisnull(in, i, 9) ? NULL : json_loads(PQgetvalue(in, i, 9), 0, NULL);
            size_t k;
            json_t *name;
            json_array_foreach(prev, k, name)
            {
                const struct ac_channel *ch = ac_notify_channel(nc, json_string_value(name));
                if (ch) {
                    chans[nch++] = ch;
                }
            }
            json_decref(prev);
            tier = known ? strtol(PQgetvalue(in, i, 8), NULL, 10) : 1;
        }
        else if (nc->fallback && json_string_value(json_object_get(alert, "type")) &&
                 strcmp(json_string_value(json_object_get(alert, "type")), "NotificationFailed") ==
                     0) {
            chans[nch++] = nc->fallback; /* never the channels that may be failing */
        }
        else {
            for (size_t k = 0; level >= AC_LEVEL_P1 && k < nc->nlevel[level - 1]; k++) {
                chans[nch++] = &nc->channels[nc->level_channels[level - 1][k]];
            }
            if ((strcmp(reason, "escalate") == 0 || strcmp(reason, "repeat") == 0) && known) {
                tier = strtol(PQgetvalue(in, i, 8), NULL, 10);
            }
        }
        if (!team) {
            team = nt_route_team(&o, &ev, has_ev);
        }
        recipients = team ? nt_recipients(&o, team, tier, now_s) : json_array();
        (void)snprintf(tk, sizeof(tk), "%lld", (long long)team);
        /* ctx owns recipients from here (borrowed below) */
        ctx = json_pack("{s:O, s:s, s:s, s:i, s:o, s:o}", "alert", alert, "reason", reason, "level",
                        level_s, "tier", (json_int_t)tier, "recipients", recipients, "team",
                        team ? json_pack("{s:s, s:O*}", "id", tk, "name",
                                         json_object_get(json_object_get(o.teams, tk), "name"))
                             : json_null());
        if (strcmp(reason, "escalate") == 0) {
            (void)json_object_set(ctx, "escalation", details);
        }
        (void)json_object_set_new(ctx, "actions",
                                  nt_actions(nc, alert_id, json_array_get(recipients, 0), now_s));
        nt_message(ctx, alert, reason, level_s, tier, details);
        for (size_t k = 0; k < nch; k++) {
            const struct ac_channel *ch = chans[k];
            size_t r;
            json_t *who;
            if (ch->ops->per_contact) {
                json_array_foreach(recipients, r, who)
                {
                    if (json_object_get(who, "phone")) {
                        nt_row(&rows, intent, alert_id, ch, who, level_s, reason, ctx);
                    }
                }
            }
            else {
                nt_row(&rows, intent, alert_id, ch, NULL, level_s, reason, ctx);
            }
            (void)json_array_append_new(used, json_string(ch->name));
        }
        if (strcmp(reason, "resolve") != 0 && (nch > 0 || team)) {
            char tier_s[24], mtta[24], *used_s = json_dumps(used, JSON_COMPACT);
            (void)snprintf(tier_s, sizeof(tier_s), "%ld", tier);
            (void)snprintf(mtta, sizeof(mtta), "%lld",
                           (long long)nc->mtta_s[level >= AC_LEVEL_P1 ? level - 1 : 3]);
            ac_pg_array_add(&an[0], alert_id);
            ac_pg_array_add(&an[1], team ? tk : NULL);
            ac_pg_array_add(&an[2], tier_s);
            ac_pg_array_add(&an[3], used_s);
            ac_pg_array_add(&an[4], mtta);
            nan++;
            free(used_s);
        }
        json_decref(used);
        json_decref(ctx);
    next:
        ac_event_deinit(&ev);
        json_decref(alert);
        json_decref(details);
    }
    {
        const char *p[9];
        PGresult *r;
        for (int k = 0; k < 9; k++) {
            ac_pg_array_close(&rows.a[k]);
            p[k] = rows.a[k].data;
        }
        r = rows.n ? nt_query(n->conn, SQL_INSERT_NOTIFICATIONS, 9, p) : NULL;
        ok = !rows.n || r;
        PQclear(r);
        for (int k = 0; k < 5; k++) {
            ac_pg_array_close(&an[k]);
            p[k] = an[k].data;
        }
        r = ok && nan ? nt_query(n->conn, SQL_ALERT_NOTIFY, 5, p) : NULL;
        ok = ok && (!nan || r);
        PQclear(r);
        ac_pg_array_close(&ids);
        p[0] = ids.data;
        r = ok ? nt_query(n->conn, SQL_PLANNED, 1, p) : NULL;
        ok = ok && r;
        PQclear(r);
        for (int k = 0; k < 3; k++) {
            ac_pg_array_close(&hold[k]);
            p[k] = hold[k].data;
        }
        r = ok && nhold ? nt_query(n->conn, SQL_HOLD, 3, p) : NULL;
        ok = ok && (!nhold || r);
        PQclear(r);
        ac_pg_array_close(&drop);
        p[0] = drop.data;
        p[1] = "resolved while silenced";
        r = ok && ndrop ? nt_query(n->conn, SQL_DROP, 2, p) : NULL;
        ok = ok && (!ndrop || r);
        PQclear(r);
    }
    if (ok) {
        ok = nt_simple(n->conn, "COMMIT");
        if (ok) {
            __atomic_add_fetch(&n->n_intents, (unsigned long long)count, __ATOMIC_RELAXED);
            __atomic_add_fetch(&n->n_created, (unsigned long long)rows.n, __ATOMIC_RELAXED);
            __atomic_add_fetch(&n->n_held, (unsigned long long)nhold, __ATOMIC_RELAXED);
            __atomic_add_fetch(&n->n_dropped, (unsigned long long)ndrop, __ATOMIC_RELAXED);
        }
        if (ok && (rows.n || nhold || ndrop)) {
            ac_log(AC_LOG_INFO, "notify",
                   "planned intents=%d notifications=%zu held=%zu dropped=%zu", count, rows.n,
                   nhold, ndrop);
        }
    }
out:
    if (!ok) {
        (void)nt_simple(n->conn, "ROLLBACK");
        count = -1;
        n->plan_batch = n->plan_batch > 1 ? n->plan_batch / 2 : 1;
    }
    else if (count > 0) {
        n->plan_batch = NT_INTENTS_MAX;
    }
    PQclear(in);
    nt_oncall_free(&o);
    for (int k = 0; k < 9; k++) {
        ac_buf_deinit(&rows.a[k]);
    }
    for (int k = 0; k < 5; k++) {
        ac_buf_deinit(&an[k]);
    }
    ac_buf_deinit(&ids);
    for (int k = 0; k < 3; k++) {
        ac_buf_deinit(&hold[k]);
    }
    ac_buf_deinit(&drop);
    return count;
}

/* ---- time escalation ------------------------------------------------------ */

static void nt_due_tiers(struct ac_notifier *n)
{
    PGresult *r = nt_query(n->conn, SQL_DUE_TIERS, 0, NULL);

    if (r && strcmp(PQcmdTuples(r), "0") != 0) {
        ac_log(AC_LOG_INFO, "notify", "unacknowledged past MTTA: next tier for %s alert(s)",
               PQcmdTuples(r));
    }
    PQclear(r);
}

static void nt_due_repeats(struct ac_notifier *n)
{
    for (int l = AC_LEVEL_P1; l <= AC_LEVEL_P4; l++) {
        char secs[24];
        const char *p[2] = {ac_level_name((enum ac_level)l), secs};
        PGresult *r;
        if (n->nc->repeat_s[l - 1] <= 0) {
            continue;
        }
        (void)snprintf(secs, sizeof(secs), "%lld", (long long)n->nc->repeat_s[l - 1]);
        r = nt_query(n->conn, SQL_DUE_REPEATS, 2, p);
        PQclear(r);
    }
}

/* ---- sending ---------------------------------------------------------------- */

struct nt_send {
    char id[24];
    const struct ac_channel *ch;
    struct ac_http_out out;
    struct curl_slist *headers;
    CURL *easy;
    struct ac_http_answer resp;
    char retry_after[64];
    long status;
    int attempts;
    int rc;
    char why[256];
    int64_t time_us;
};

static size_t nt_header(char *p, size_t size, size_t nmemb, void *ud)
{
    struct nt_send *s = ud;
    size_t n = size * nmemb;

    if (n > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
        size_t l = n - 12;
        if (l >= sizeof(s->retry_after)) {
            l = sizeof(s->retry_after) - 1;
        }
        memcpy(s->retry_after, p + 12, l);
        s->retry_after[l] = '\0';
        s->retry_after[strcspn(s->retry_after, "\r\n")] = '\0';
    }
    return n;
}

/* A notification failed for good: a NotificationFailed alert (one per
 * channel while open), stored and notified like any other. */
static void nt_raise_failed(struct ac_notifier *n, const struct nt_send *s)
{
    struct ac_event_vec v = {0};
    struct ac_ingest_result res;
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "source", "alertcenter",
                            "type", "NotificationFailed", "level", "P2", "title",
                            "a notification could not be delivered", "message", s->why, "instance",
                            s->ch ? s->ch->name : "unknown", "labels", "notification", s->id,
                            "channel", s->ch ? s->ch->name : "unknown");
    json_t *errs = json_array();
    struct ac_event *ev = ac_event_vec_push(&v);

    if (!ac_event_from_json(doc, ev, -1, errs) ||
        n->sink->submit(n->sink->ctx, &v, &res) != AC_OK) {
        ac_log(AC_LOG_ERROR, "notify", "could not raise NotificationFailed for notification %s",
               s->id);
    }
    ac_event_vec_deinit(&v);
    json_decref(doc);
    json_decref(errs);
}

static void nt_record(struct ac_notifier *n, struct nt_send *s)
{
    char status[16], delay[24];
    const char *p[4] = {s->id, status, NULL, NULL};
    PGresult *r;
    int64_t ms;
    struct nt_chan_stats *st =
        &n->chan[s->ch ? (size_t)(s->ch - n->nc->channels) : n->nc->nchannels];

    (void)snprintf(status, sizeof(status), "%ld", s->status);
    if (s->easy) {
        ac_hist_observe_us(&st->time, s->time_us);
    }
    if (s->rc == AC_OK) {
        r = nt_query(n->conn, SQL_SENT, 2, p);
        __atomic_add_fetch(&st->sent, 1, __ATOMIC_RELAXED);
    }
    else if (s->rc == AC_EAGAIN && s->attempts < n->nc->max_attempts) {
        double rnd = (double)(rand_r(&n->rand_state) % 1000000) / 1000000.0;
        ms = ac_backoff_delay(&n->nc->backoff, s->attempts, rnd);
        if (ac_retry_after_ms(s->retry_after[0] ? s->retry_after : NULL, ac_time_now_us() / 1000000,
                              &ms) &&
            ms > n->nc->backoff.cap_ms) {
            ms = n->nc->backoff.cap_ms;
        }
        (void)snprintf(delay, sizeof(delay), "%lld", (long long)ms);
        p[2] = delay;
        p[3] = s->why;
        r = nt_query(n->conn, SQL_RETRY, 4, p);
        __atomic_add_fetch(&st->retried, 1, __ATOMIC_RELAXED);
    }
    else {
        p[2] = s->why;
        r = nt_query(n->conn, SQL_FAILED, 3, p);
        __atomic_add_fetch(&st->failed, 1, __ATOMIC_RELAXED);
        ac_log(AC_LOG_WARN, "notify", "notification %s on %s failed after %d attempt(s): %s", s->id,
               s->ch ? s->ch->name : "?", s->attempts, s->why);
        if (r) {
            nt_raise_failed(n, s);
        }
    }
    PQclear(r);
}

/* Claims the due notifications and sends them concurrently. Returns how many. */
static int nt_dispatch(struct ac_notifier *n)
{
    char lim[24], lease[24];
    const char *p[2] = {lim, lease};
    long max_tmo = 1000;
    PGresult *r;
    struct nt_send *sends;
    int count, running = 0;
    bool recorded;
    int64_t now_ms = ac_time_now_us() / 1000;

    for (size_t i = 0; i < n->nc->nchannels; i++) {
        if (n->nc->channels[i].timeout_ms > max_tmo) {
            max_tmo = n->nc->channels[i].timeout_ms;
        }
    }
    (void)snprintf(lim, sizeof(lim), "%d", AC_NOTIFY_BATCH);
    (void)snprintf(lease, sizeof(lease), "%ld", 2 * max_tmo / 1000 + 30);
    if (!(r = nt_query(n->conn, SQL_CLAIM_DUE, 2, p))) {
        return -1;
    }
    count = PQntuples(r);
    sends = ac_xcalloc((size_t)count + 1, sizeof(*sends));
    for (int i = 0; i < count; i++) {
        struct nt_send *s = &sends[i];
        json_t *ctx = json_loads(PQgetvalue(r, i, 2), 0, NULL);
        (void)snprintf(s->id, sizeof(s->id), "%s", PQgetvalue(r, i, 0));
        s->attempts = (int)strtol(PQgetvalue(r, i, 3), NULL, 10);
        s->ch = ac_notify_channel(n->nc, PQgetvalue(r, i, 1));
        if (!s->ch) {
            s->rc = AC_EINVAL;
            (void)snprintf(s->why, sizeof(s->why), "channel %s is no longer configured",
                           PQgetvalue(r, i, 1));
        }
        else if (!ctx || s->ch->ops->build(s->ch, ctx, now_ms, &s->out) != AC_OK) {
            s->rc = AC_EINVAL;
            (void)snprintf(s->why, sizeof(s->why), "nothing to send on %s", s->ch->name);
        }
        else {
            s->resp.max = NT_RESPONSE_MAX;
            s->easy = ac_channel_easy(s->ch, &s->out, &s->resp, &s->headers);
            (void)curl_easy_setopt(s->easy, CURLOPT_HEADERFUNCTION, nt_header);
            (void)curl_easy_setopt(s->easy, CURLOPT_HEADERDATA, s);
            (void)curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
            (void)curl_multi_add_handle(n->multi, s->easy);
        }
        json_decref(ctx);
    }
    PQclear(r);
    do { /* every transfer ends by its own timeout */
        CURLMsg *m;
        int left;
        if (curl_multi_perform(n->multi, &running) != CURLM_OK) {
            break;
        }
        while ((m = curl_multi_info_read(n->multi, &left))) {
            struct nt_send *s = NULL;
            if (m->msg != CURLMSG_DONE) {
                continue;
            }
            (void)curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            {
                curl_off_t us = 0;
                (void)curl_easy_getinfo(m->easy_handle, CURLINFO_TOTAL_TIME_T, &us);
                s->time_us = (int64_t)us;
            }
            if (m->data.result != CURLE_OK) {
                s->status = 0;
                s->rc = AC_EAGAIN;
                (void)snprintf(s->why, sizeof(s->why), "%s", curl_easy_strerror(m->data.result));
            }
            else {
                (void)curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &s->status);
                s->rc =
                    s->ch->ops->result(s->ch, s->status, s->resp.body.data ? s->resp.body.data : "",
                                       s->why, sizeof(s->why));
            }
        }
        if (running > 0) {
            (void)curl_multi_poll(n->multi, NULL, 0, 200, NULL);
        }
    } while (running > 0);
    /* the outcomes in one transaction: one commit for the batch (if it is
     * lost, the rows are sent again once their lease ends: at least once) */
    recorded = count > 0 && nt_simple(n->conn, "BEGIN");
    for (int i = 0; i < count; i++) {
        struct nt_send *s = &sends[i];
        nt_record(n, s);
        if (s->easy) {
            (void)curl_multi_remove_handle(n->multi, s->easy);
            curl_easy_cleanup(s->easy);
        }
        curl_slist_free_all(s->headers);
        ac_http_out_deinit(&s->out);
        ac_buf_deinit(&s->resp.body);
    }
    if (recorded && !nt_simple(n->conn, "COMMIT")) {
        (void)nt_simple(n->conn, "ROLLBACK");
        count = -1;
    }
    free(sends);
    return count;
}

/* ---- the thread ----------------------------------------------------------- */

static bool nt_connect(struct ac_notifier *n)
{
    int64_t now = ac_time_now_us();

    if (n->conn && PQstatus(n->conn) == CONNECTION_OK) {
        return true;
    }
    if (now < n->next_connect_us) {
        return false;
    }
    PQfinish(n->conn);
    n->conn = ac_pg_connect(n->cfg->pg_dsn);
    if (!n->conn) {
        n->next_connect_us = now + NT_RETRY_CONNECT_US;
    }
    return n->conn != NULL;
}

static void nt_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

static void *nt_main(void *arg)
{
    struct ac_notifier *n = arg;

    while (!__atomic_load_n(&n->stop, __ATOMIC_ACQUIRE)) {
        int planned = 0, sent = 0;
        if (nt_connect(n)) {
            if (n->sender) {
                sent = nt_dispatch(n);
            }
            else {
                nt_due_tiers(n);
                nt_due_repeats(n);
                planned = nt_plan(n);
            }
            if (planned < 0 || sent < 0) {
                PQfinish(n->conn); /* reconnect: a failed statement may have cut it */
                n->conn = NULL;
            }
        }
        if (planned <= 0 && sent <= 0) { /* idle (or failing): wait; else go on at once */
            /* the sender looks more often: what was just planned is due now */
            long idle =
                n->sender ? (n->nc->poll_ms / 10 > 20 ? n->nc->poll_ms / 10 : 20) : n->nc->poll_ms;
            for (long waited = 0; waited < idle && !__atomic_load_n(&n->stop, __ATOMIC_ACQUIRE);
                 waited += 20) {
                nt_sleep_ms(20);
            }
        }
    }
    return NULL;
}

/* One thread's state: the planner's and the sender's are two of these. */
static struct ac_notifier *nt_new(const struct ac_config *cfg, const struct ac_notify_config *nc,
                                  const struct ac_sink *sink, bool sender)
{
    struct ac_notifier *n = ac_xcalloc(1, sizeof(*n));

    n->cfg = cfg;
    n->nc = nc;
    n->sink = sink;
    n->sender = sender;
    n->rand_state = (unsigned)ac_time_now_us() ^ (sender ? 0x9e3779b9u : 0);
    n->plan_batch = NT_INTENTS_MAX;
    n->multi = curl_multi_init();
    AC_ASSERT(n->multi != NULL);
    n->chan = ac_xcalloc(nc->nchannels + 1, sizeof(*n->chan));
    return n;
}

static void nt_free(struct ac_notifier *n)
{
    free(n->chan);
    curl_multi_cleanup(n->multi);
    PQfinish(n->conn);
    free(n);
}

struct ac_notifier *ac_notifier_start(const struct ac_config *cfg,
                                      const struct ac_notify_config *nc, const struct ac_sink *sink)
{
    struct ac_notifier *n = nt_new(cfg, nc, sink, false);

    n->sender_peer = nt_new(cfg, nc, sink, true);
    if (pthread_create(&n->thread, NULL, nt_main, n) != 0) {
        ac_log(AC_LOG_ERROR, "notify", "cannot start the notifier");
        nt_free(n->sender_peer);
        nt_free(n);
        return NULL;
    }
    if (pthread_create(&n->sender_peer->thread, NULL, nt_main, n->sender_peer) != 0) {
        ac_log(AC_LOG_ERROR, "notify", "cannot start the notifier's sender");
        __atomic_store_n(&n->stop, 1, __ATOMIC_RELEASE);
        (void)pthread_join(n->thread, NULL);
        nt_free(n->sender_peer);
        nt_free(n);
        return NULL;
    }
    ac_log(AC_LOG_INFO, "notify", "notifier started channels=%zu", nc->nchannels);
    return n;
}

void ac_notifier_stop(struct ac_notifier *n)
{
    if (!n) {
        return;
    }
    __atomic_store_n(&n->stop, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&n->sender_peer->stop, 1, __ATOMIC_RELEASE);
    (void)pthread_join(n->thread, NULL);
    (void)pthread_join(n->sender_peer->thread, NULL);
    nt_free(n->sender_peer);
    nt_free(n);
}

void ac_notifier_collect(void *ctx, struct ac_metrics_out *o)
{
    const struct ac_notifier *n = ctx;
    const struct ac_notifier *snd = n->sender_peer;
    const struct ac_notify_config *nc = n->nc;
    static const char *const outcomes[] = {"sent", "retried", "failed"};

    ac_metrics_family(o, "ac_notify_intents_planned_total", "counter",
                      "Notification intents this instance planned, by outcome: notified (outbox"
                      " rows made), held by a silence, or dropped (nobody to tell, resolved while"
                      " silenced).");
    ac_metrics_sample(o, "ac_notify_intents_planned_total",
                      (double)(__atomic_load_n(&n->n_intents, __ATOMIC_RELAXED) -
                               __atomic_load_n(&n->n_held, __ATOMIC_RELAXED) -
                               __atomic_load_n(&n->n_dropped, __ATOMIC_RELAXED)),
                      "outcome", "notified", NULL);
    ac_metrics_sample(o, "ac_notify_intents_planned_total",
                      (double)__atomic_load_n(&n->n_held, __ATOMIC_RELAXED), "outcome", "held",
                      NULL);
    ac_metrics_sample(o, "ac_notify_intents_planned_total",
                      (double)__atomic_load_n(&n->n_dropped, __ATOMIC_RELAXED), "outcome",
                      "dropped", NULL);
    ac_metrics_family(o, "ac_notifications_created_total", "counter",
                      "Outbox rows (one per request to a channel) this instance planned.");
    ac_metrics_sample(o, "ac_notifications_created_total",
                      (double)__atomic_load_n(&n->n_created, __ATOMIC_RELAXED), NULL);
    ac_metrics_family(
        o, "ac_notification_attempts_total", "counter",
        "Send attempts this instance made, by channel and outcome: sent, retried"
        " later (timeout, 5xx, 429), or failed for good (raises NotificationFailed).");
    for (size_t i = 0; i <= nc->nchannels; i++) {
        const char *name = i < nc->nchannels ? nc->channels[i].name : "(unconfigured)";
        const char *kind = i < nc->nchannels ? nc->channels[i].ops->kind : "";
        const unsigned long long *v[3] = {&snd->chan[i].sent, &snd->chan[i].retried,
                                          &snd->chan[i].failed};
        if (i == nc->nchannels && !__atomic_load_n(v[2], __ATOMIC_RELAXED)) {
            continue; /* only ever failed, and only when the config changed */
        }
        for (int k = 0; k < 3; k++) {
            ac_metrics_sample(o, "ac_notification_attempts_total",
                              (double)__atomic_load_n(v[k], __ATOMIC_RELAXED), "channel", name,
                              "kind", kind, "outcome", outcomes[k], NULL);
        }
    }
    ac_metrics_family(o, "ac_notification_request_duration_seconds", "histogram",
                      "Each send attempt's request to its channel, by channel.");
    for (size_t i = 0; i < nc->nchannels; i++) {
        ac_metrics_hist(o, "ac_notification_request_duration_seconds", &snd->chan[i].time,
                        "channel", nc->channels[i].name, NULL);
    }
}
