/* SPDX-License-Identifier: Apache-2.0 */
/* The notification outbox's statements (see outbox.h). */
#include "server/outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escalation/level.h"
#include "server/core/log.h"
#include "server/core/pg.h"

/* The due intents, locked first; then, per incident (through its alerts'
 * index, so the cost follows the incident, not the table), what planning
 * needs: counts, top apps, and the oldest open alerts (all of them once it
 * resolved) with their dimensions and latest events (silences, inhibition,
 * routing, channels' "alert"). */
#define SQL_CLAIM_INTENTS                                                                          \
    "WITH i AS MATERIALIZED (SELECT id, incident_id, reason, level, tier, details, held_by"        \
    " FROM notify_intents WHERE planned_at IS NULL"                                                \
    " AND coalesce(check_at, created_at) <= clock_timestamp()"                                     \
    " ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED),"                                               \
    " d AS (SELECT c.id, jsonb_build_object('id', c.id::text, 'type', c.type, 'title', c.title,"   \
    " 'grouping', c.grouping, 'level', c.level, 'level_reason', c.level_reason, 'status',"         \
    " c.status, 'alerts', c.alerts, 'open_alerts', c.open_alerts, 'events', agg.events, 'apps',"   \
    " agg.apps, 'gc_users', agg.gc, 'top_apps', coalesce(top.apps, '[]'), 'first_seen',"           \
    " ac_rfc3339(c.first_seen), 'team_id', c.team_id::text, 'last_alert_id', agg.last::text,"      \
    " 'members', coalesce(mem.list, '[]'))::text AS doc, c.team_id, c.tier,"                       \
    " to_json(c.channels)::text AS chans, extract(epoch FROM c.created_at)::bigint AS created,"    \
    " c.notified_level FROM incidents c"                                                           \
    " CROSS JOIN LATERAL (SELECT sum(a.count) AS events, count(DISTINCT a.app_id) AS apps,"        \
    " count(DISTINCT a.user_id) FILTER (WHERE a.gc_level >= 6) AS gc, max(a.id) AS last"           \
    " FROM alerts a WHERE a.incident_id = c.id) agg"                                               \
    " CROSS JOIN LATERAL (SELECT jsonb_agg(t.app_id ORDER BY t.n DESC, t.app_id) AS apps FROM"     \
    " (SELECT a.app_id, count(*) AS n FROM alerts a WHERE a.incident_id = c.id AND a.app_id IS"    \
    " NOT NULL GROUP BY a.app_id ORDER BY n DESC, a.app_id LIMIT 5) t) top"                        \
    " CROSS JOIN LATERAL (SELECT jsonb_agg(jsonb_build_object('id', m.id::text, 'status',"         \
    " m.status, 'type', m.type, 'fingerprint', m.fingerprint, 'source', m.source, 'trace',"        \
    " m.trace, 'category', m.category, 'region', m.region, 'cluster', m.cluster, 'namespace',"     \
    " m.namespace, 'app_id', m.app_id, 'user_id', m.user_id, 'instance', m.instance, 'count',"     \
    " m.count, 'first_seen', ac_rfc3339(m.first_seen), 'resolved_at', ac_rfc3339(m.resolved_at),"  \
    " 'latest_event', coalesce(m.last_doc::jsonb, (SELECT e.doc::jsonb FROM events e"              \
    " WHERE e.id = m.last_event_id))) ORDER BY m.id) AS list FROM (SELECT a.* FROM alerts a"       \
    " WHERE a.incident_id = c.id AND (a.status <> 'resolved' OR c.status = 'resolved')"            \
    " ORDER BY a.id LIMIT $2) m) mem"                                                              \
    " WHERE c.id IN (SELECT incident_id FROM i))"                                                  \
    " SELECT i.id, i.incident_id, i.reason, i.level, i.tier, i.details::text, d.doc, d.team_id,"   \
    " d.tier, d.chans, i.held_by, d.created, d.notified_level FROM i JOIN d ON d.id ="             \
    " i.incident_id ORDER BY i.id"
#define SQL_ROUTES "SELECT doc::text FROM routes ORDER BY position, id"
#define SQL_TEAMS  "SELECT id, name, doc::text, is_default FROM teams"
#define SQL_SCHEDS "SELECT id, doc::text FROM schedules"
#define SQL_INHIBIT_RULES                                                                          \
    "SELECT id, jsonb_build_object('source_matchers', source_matchers, 'target_matchers',"         \
    " target_matchers, 'equal', to_jsonb(equal))::text FROM inhibit_rules ORDER BY id"
/* The open alerts a rule's sources may be among (of its type, when its
 * source matchers name one), newest first. */
#define SQL_INHIBIT_SOURCES                                                                        \
    "SELECT a.id, ac_alert_json(a)::text FROM alerts a WHERE a.status <> 'resolved'"               \
    " AND ($1::text IS NULL OR a.type = $1) ORDER BY a.id DESC LIMIT 5000"
/* What the planner found about the open alerts it looked at. */
#define SQL_INHIBITIONS                                                                            \
    "WITH u AS (SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS u(a, s, r)),"    \
    " d AS (DELETE FROM alert_inhibitions i USING u WHERE i.alert_id = u.a AND u.s = 0)"           \
    " INSERT INTO alert_inhibitions AS i (alert_id, source_alert_id, rule_id)"                     \
    " SELECT DISTINCT ON (a) a, s, r FROM u WHERE s <> 0 ORDER BY a"                               \
    " ON CONFLICT (alert_id) DO UPDATE SET source_alert_id = excluded.source_alert_id,"            \
    " rule_id = excluded.rule_id, checked_at = clock_timestamp()"
#define SQL_CONTACTS                                                                               \
    "SELECT id, ac_oncall_json(w.id, w.name, w.doc, w.created_at, w.updated_at)::text"             \
    " FROM contacts w"
#define SQL_INSERT_NOTIFICATIONS                                                                   \
    "INSERT INTO notifications (intent_id, incident_id, channel, kind, contact_id, level, reason," \
    " idem_key, context) SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[],"             \
    " $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::jsonb[])"                  \
    " ON CONFLICT (idem_key) DO NOTHING"
#define SQL_PLANNED "UPDATE notify_intents SET planned_at = clock_timestamp() WHERE id = ANY($1)"
#define SQL_SILENCES                                                                               \
    "SELECT id, matchers::text, alert_id, extract(epoch FROM ends_at)::bigint, incident_id"        \
    " FROM silences"                                                                               \
    " WHERE expired_at IS NULL AND starts_at <= now() AND (ends_at IS NULL OR ends_at > now())"
/* Held by a silence: looked at again at its end, or in 30 s (a silence can
 * be deleted, an alert resolved). Waiting (group_wait): at its end; a raise
 * makes it look again at once (ac_incident_raised). */
#define SQL_HOLD                                                                                   \
    "UPDATE notify_intents i SET held_by = u.s, check_at = CASE WHEN u.s IS NULL THEN"             \
    " to_timestamp(u.e) ELSE least(to_timestamp(coalesce(u.e, 'infinity'::float8)),"               \
    " clock_timestamp() + interval '30 seconds') END FROM unnest($1::bigint[], $2::bigint[],"      \
    " $3::float8[]) AS u(id, s, e) WHERE i.id = u.id"
#define SQL_DROP                                                                                   \
    "UPDATE notify_intents i SET planned_at = clock_timestamp(), dropped = u.why"                  \
    " FROM unnest($1::bigint[], $2::text[]) AS u(id, why) WHERE i.id = u.id"
/* The incident's team, tier, channels used, level told, what the message
 * covered, and the next tier's time (a timeout's: now; else on the first
 * delivery, ac_outbox_sent). */
#define SQL_INCIDENT_NOTIFY                                                                        \
    "WITH u AS (SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::jsonb[],"          \
    " $5::int[], $6::text[], $7::bigint[], $8::bool[]) WITH ORDINALITY"                            \
    " AS u(inc, team, tier, ch, mtta, lvl, told, arm, ord)),"                                      \
    " used AS (SELECT u.inc, array_agg(DISTINCT c) AS chans FROM u,"                               \
    " jsonb_array_elements_text(u.ch) AS c GROUP BY u.inc),"                                       \
    " agg AS (SELECT u.inc, min(u.lvl COLLATE \"C\") AS lvl, max(u.told) AS told,"                 \
    " bool_or(u.arm) AS arm FROM u GROUP BY u.inc),"                                               \
    " last AS (SELECT DISTINCT ON (u.inc) u.* FROM u ORDER BY u.inc, u.ord DESC)"                  \
    " UPDATE incidents n SET team_id = l.team, tier = l.tier, channels = ARRAY(SELECT DISTINCT x"  \
    " FROM unnest(n.channels || coalesce(used.chans, '{}')) x), notified_level ="                  \
    " least(coalesce(n.notified_level, 'P4'), g.lvl), notified_at = clock_timestamp(),"            \
    " summary_at = clock_timestamp(), told_alert_id = greatest(n.told_alert_id, g.told),"          \
    " news = n.news AND coalesce((SELECT max(a.id) FROM alerts a WHERE a.incident_id = n.id) >"    \
    " greatest(n.told_alert_id, g.told), false),"                                                  \
    " mtta_s = l.mtta, next_tier_at = CASE WHEN g.arm AND n.status = 'open' THEN"                  \
    " clock_timestamp() + make_interval(secs => l.mtta) ELSE n.next_tier_at END"                   \
    " FROM last l JOIN agg g ON g.inc = l.inc LEFT JOIN used ON used.inc = l.inc"                  \
    " WHERE n.id = l.inc"
/* Unacknowledged past their MTTA: the next tier. */
#define SQL_DUE_TIERS                                                                              \
    "WITH due AS (SELECT id FROM incidents WHERE next_tier_at <= clock_timestamp()"                \
    " AND status = 'open' ORDER BY next_tier_at LIMIT 100 FOR UPDATE SKIP LOCKED),"                \
    " u AS (UPDATE incidents n SET tier = n.tier + 1, next_tier_at = NULL FROM due"                \
    " WHERE n.id = due.id RETURNING n.id, n.tier, n.level)"                                        \
    " INSERT INTO notify_intents (incident_id, reason, level, tier)"                               \
    " SELECT id, 'timeout', level, tier FROM u"
/* Open, unacknowledged incidents of a level told longer ago than its repeat
 * interval, with nothing pending. */
#define SQL_DUE_REPEATS                                                                            \
    "WITH due AS (SELECT n.id, n.level, n.tier FROM incidents n WHERE n.status = 'open'"           \
    " AND n.notified_level IS NOT NULL AND n.level = $1"                                           \
    " AND n.notified_at < clock_timestamp() - make_interval(secs => $2::int)"                      \
    " AND NOT EXISTS (SELECT 1 FROM notify_intents i WHERE i.incident_id = n.id"                   \
    " AND i.planned_at IS NULL) LIMIT 100 FOR UPDATE SKIP LOCKED),"                                \
    " u AS (UPDATE incidents n SET notified_at = clock_timestamp() FROM due"                       \
    " WHERE n.id = due.id RETURNING n.id)"                                                         \
    " INSERT INTO notify_intents (incident_id, reason, level, tier)"                               \
    " SELECT due.id, 'repeat', due.level, due.tier FROM due JOIN u ON u.id = due.id"
/* Open, unacknowledged, told incidents that alerts joined since the last
 * message that covered them, at most once per group interval: a summary of
 * the new ones. */
#define SQL_DUE_SUMMARIES                                                                          \
    "WITH due AS (SELECT n.id, n.level, n.tier, n.told_alert_id, n.status FROM incidents n"        \
    " WHERE n.news AND coalesce(n.summary_at, n.notified_at) < clock_timestamp() -"                \
    " make_interval(secs => $1::int) AND NOT EXISTS (SELECT 1 FROM notify_intents i"               \
    " WHERE i.incident_id = n.id AND i.planned_at IS NULL) LIMIT 100 FOR UPDATE SKIP LOCKED),"     \
    " s AS (SELECT due.id, count(a.id) AS n, count(DISTINCT a.app_id) AS apps,"                    \
    " count(DISTINCT a.user_id) FILTER (WHERE a.gc_level >= 6) AS gc,"                             \
    " coalesce(max(a.id), due.told_alert_id) AS top FROM due LEFT JOIN alerts a"                   \
    " ON a.incident_id = due.id AND a.id > due.told_alert_id GROUP BY due.id, due.told_alert_id)," \
    " u AS (UPDATE incidents n SET news = false, summary_at = clock_timestamp(),"                  \
    " told_alert_id = s.top FROM s WHERE n.id = s.id RETURNING n.id)"                              \
    " INSERT INTO notify_intents (incident_id, reason, level, tier, details)"                      \
    " SELECT due.id, 'summary', due.level, due.tier, jsonb_build_object('new_alerts', s.n,"        \
    " 'apps', s.apps, 'gc_users', s.gc) FROM due JOIN s ON s.id = due.id"                          \
    " WHERE s.n > 0 AND due.status = 'open'"
#define SQL_CLAIM_DUE                                                                              \
    "WITH c AS (SELECT id FROM notifications WHERE status IN ('pending', 'sending')"               \
    " AND next_at <= clock_timestamp() AND (lease_until IS NULL OR lease_until <"                  \
    " clock_timestamp()) ORDER BY next_at LIMIT $1 FOR UPDATE SKIP LOCKED)"                        \
    " UPDATE notifications n SET status = 'sending', attempts = n.attempts + 1,"                   \
    " lease_until = clock_timestamp() + make_interval(secs => $2::int) FROM c WHERE n.id = c.id"   \
    " RETURNING n.id, n.channel, n.context::text, n.attempts"
/* Sent (a batch: ids, HTTP statuses); each incident's first delivered
 * notification starts its MTTA. */
#define SQL_SENT                                                                                   \
    "WITH s AS (UPDATE notifications n SET status = 'sent', sent_at = clock_timestamp(),"          \
    " lease_until = NULL, last_status = u.st, last_error = NULL FROM unnest($1::bigint[],"         \
    " $2::int[]) AS u(id, st) WHERE n.id = u.id RETURNING n.incident_id, n.reason)"                \
    " UPDATE incidents i SET delivered_at = clock_timestamp(), next_tier_at = CASE WHEN"           \
    " i.status = 'open' THEN clock_timestamp() + make_interval(secs => coalesce(i.mtta_s, 300))"   \
    " END FROM (SELECT DISTINCT incident_id FROM s WHERE reason <> 'resolve') s"                   \
    " WHERE i.id = s.incident_id AND i.delivered_at IS NULL"
#define SQL_RETRY                                                                                  \
    "UPDATE notifications SET status = 'pending', lease_until = NULL, next_at ="                   \
    " clock_timestamp() + make_interval(secs => $3::double precision / 1000),"                     \
    " last_status = $2::int, last_error = $4 WHERE id = $1::bigint"
#define SQL_FAILED                                                                                 \
    "UPDATE notifications SET status = 'failed', lease_until = NULL, last_status = $2::int,"       \
    " last_error = $3 WHERE id = $1::bigint"

#define OB "notify" /* the log component */

PGresult *ac_outbox_claim_intents(PGconn *c, int limit)
{
    char lim[16], alerts[16];
    const char *p[2] = {lim, alerts};

    (void)snprintf(lim, sizeof(lim), "%d", limit);
    (void)snprintf(alerts, sizeof(alerts), "%d", AC_PLAN_ALERTS_MAX);
    return ac_pg_query(c, OB, SQL_CLAIM_INTENTS, 2, p);
}

static int64_t ob_ll(const PGresult *r, int i, int col)
{
    return PQgetisnull(r, i, col) ? 0 : strtoll(PQgetvalue(r, i, col), NULL, 10);
}

bool ac_outbox_intent(const PGresult *r, int i, struct ac_plan_intent *in, json_t *owned[3])
{
    memset(in, 0, sizeof(*in));
    owned[0] = json_loads(PQgetvalue(r, i, 6), 0, NULL); /* the incident */
    owned[1] = PQgetisnull(r, i, 5) ? NULL : json_loads(PQgetvalue(r, i, 5), 0, NULL);
    owned[2] = PQgetisnull(r, i, 9) ? NULL : json_loads(PQgetvalue(r, i, 9), 0, NULL);
    in->id = ob_ll(r, i, 0);
    in->incident_id = ob_ll(r, i, 1);
    in->level = AC_LEVEL_P4;
    (void)ac_level_parse(PQgetvalue(r, i, 3), &in->level);
    in->tier = (long)ob_ll(r, i, 4);
    in->incident = owned[0];
    in->details = owned[1];
    in->used = owned[2];
    in->team = ob_ll(r, i, 7);
    in->notified_tier = (long)ob_ll(r, i, 8);
    in->held = !PQgetisnull(r, i, 10);
    in->created_s = ob_ll(r, i, 11);
    in->told = AC_LEVEL_UNSET;
    if (!PQgetisnull(r, i, 12)) {
        (void)ac_level_parse(PQgetvalue(r, i, 12), &in->told);
    }
    if (!owned[0] || !ac_notify_reason_parse(PQgetvalue(r, i, 2), &in->reason)) {
        ac_log(AC_LOG_WARN, OB, "intent %s does not load (reason %s); dropped", PQgetvalue(r, i, 0),
               PQgetvalue(r, i, 2));
        return false;
    }
    return true;
}

/* The inhibition rules and, for each, the open alerts that are its sources. */
static bool ob_inhibit(PGconn *c, struct ac_inhibit_set *set)
{
    PGresult *r = ac_pg_query(c, OB, SQL_INHIBIT_RULES, 0, NULL);

    if (!r) {
        return false;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *doc = json_loads(PQgetvalue(r, i, 1), 0, NULL);
        if (!doc || !ac_inhibit_add_rule(set, ob_ll(r, i, 0), doc)) {
            ac_log(AC_LOG_WARN, OB, "inhibition rule %s does not load; it inhibits nothing",
                   PQgetvalue(r, i, 0));
        }
        json_decref(doc);
    }
    PQclear(r);
    for (size_t k = 0; k < set->n; k++) {
        const char *p[1] = {ac_inhibit_source_type(&set->rules[k])};
        if (!(r = ac_pg_query(c, OB, SQL_INHIBIT_SOURCES, 1, p))) {
            return false;
        }
        for (int i = 0; i < PQntuples(r); i++) {
            json_t *a = json_loads(PQgetvalue(r, i, 1), 0, NULL);
            struct ac_event ev;
            if (a && ac_plan_latest_event(a, &ev)) {
                ac_inhibit_add_source(&set->rules[k], ob_ll(r, i, 0), &ev);
                ac_event_deinit(&ev);
            }
            json_decref(a);
        }
        PQclear(r);
    }
    ac_inhibit_finish(set);
    return true;
}

bool ac_outbox_silences(PGconn *c, struct ac_oncall_snapshot *o)
{
    PGresult *r = ac_pg_query(c, OB, SQL_SILENCES, 0, NULL);

    if (!r) {
        return false;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *ms = json_loads(PQgetvalue(r, i, 1), 0, NULL);
        (void)ac_snapshot_add_silence(o, ob_ll(r, i, 0), ms, ob_ll(r, i, 2), ob_ll(r, i, 3),
                                      ob_ll(r, i, 4));
        json_decref(ms);
    }
    PQclear(r);
    return true;
}

bool ac_outbox_snapshot(PGconn *c, struct ac_oncall_snapshot *o)
{
    PGresult *r;

    ac_snapshot_init(o);
    if (!(r = ac_pg_query(c, OB, SQL_ROUTES, 0, NULL))) {
        return false;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *doc = json_loads(PQgetvalue(r, i, 0), 0, NULL);
        if (!ac_snapshot_add_route(o, doc)) {
            ac_log(AC_LOG_WARN, OB, "a route does not load; it matches nothing");
        }
        json_decref(doc);
    }
    PQclear(r);
    if (!(r = ac_pg_query(c, OB, SQL_TEAMS, 0, NULL))) {
        return false;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *doc = json_loads(PQgetvalue(r, i, 2), 0, NULL);
        (void)ac_snapshot_add_team(o, ob_ll(r, i, 0), PQgetvalue(r, i, 1), doc,
                                   strcmp(PQgetvalue(r, i, 3), "t") == 0);
        json_decref(doc);
    }
    PQclear(r);
    if (!(r = ac_pg_query(c, OB, SQL_SCHEDS, 0, NULL))) {
        return false;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *doc = json_loads(PQgetvalue(r, i, 1), 0, NULL);
        (void)ac_snapshot_add_schedule(o, ob_ll(r, i, 0), doc);
        json_decref(doc);
    }
    PQclear(r);
    if (!ac_outbox_silences(c, o)) {
        return false;
    }
    if (!ob_inhibit(c, &o->inhibit)) {
        return false;
    }
    if (!(r = ac_pg_query(c, OB, SQL_CONTACTS, 0, NULL))) {
        return false;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *doc = json_loads(PQgetvalue(r, i, 1), 0, NULL);
        (void)ac_snapshot_add_contact(o, ob_ll(r, i, 0), doc);
        json_decref(doc);
    }
    PQclear(r);
    return true;
}

void ac_outbox_batch_init(struct ac_outbox_batch *b)
{
    memset(b, 0, sizeof(*b));
}

void ac_outbox_batch_deinit(struct ac_outbox_batch *b)
{
    for (int k = 0; k < 9; k++) {
        ac_buf_deinit(&b->rows[k]);
    }
    for (int k = 0; k < 8; k++) {
        ac_buf_deinit(&b->notify[k]);
    }
    for (int k = 0; k < 3; k++) {
        ac_buf_deinit(&b->hold[k]);
        ac_buf_deinit(&b->inhib[k]);
    }
    ac_buf_deinit(&b->planned);
    ac_buf_deinit(&b->drop[0]);
    ac_buf_deinit(&b->drop[1]);
}

void ac_outbox_batch_add(struct ac_outbox_batch *b, const struct ac_plan_intent *in,
                         const struct ac_plan_out *out)
{
    char intent[24], inc[24], num[24];

    (void)snprintf(intent, sizeof(intent), "%lld", (long long)in->id);
    (void)snprintf(inc, sizeof(inc), "%lld", (long long)in->incident_id);
    for (size_t i = 0; i < out->ninhibitions; i++) {
        ac_pg_array_add_i64(&b->inhib[0], out->inhibitions[i].alert, false);
        ac_pg_array_add_i64(&b->inhib[1], out->inhibitions[i].source, false);
        ac_pg_array_add_i64(&b->inhib[2], out->inhibitions[i].rule, false);
        b->ninhib++;
    }
    switch (out->verdict) {
        case AC_PLAN_HOLD:
        case AC_PLAN_WAIT:
        case AC_PLAN_INHIBITED:
            ac_pg_array_add(&b->hold[0], intent);
            if (out->verdict == AC_PLAN_HOLD) {
                ac_pg_array_add_i64(&b->hold[1], out->silence->id, false);
                ac_pg_array_add_i64(&b->hold[2], out->silence->ends, true);
                b->nhold++;
            }
            else {
                ac_pg_array_add(&b->hold[1], NULL);
                ac_pg_array_add_i64(&b->hold[2], out->until, false);
                b->nwait += out->verdict == AC_PLAN_WAIT;
                b->ninhibited += out->verdict == AC_PLAN_INHIBITED;
            }
            return;
        case AC_PLAN_DROP:
            ac_pg_array_add(&b->drop[0], intent);
            ac_pg_array_add(&b->drop[1], out->why ? out->why : "nothing to tell");
            b->ndrop++;
            return;
        case AC_PLAN_NOTIFY:
            break;
    }
    ac_pg_array_add(&b->planned, intent);
    b->nplanned++;
    for (size_t i = 0; i < out->nrows; i++) {
        const struct ac_plan_row *row = &out->rows[i];
        ac_pg_array_add(&b->rows[0], intent);
        ac_pg_array_add(&b->rows[1], inc);
        ac_pg_array_add(&b->rows[2], row->ch->name);
        ac_pg_array_add(&b->rows[3], row->ch->ops->kind);
        ac_pg_array_add(&b->rows[4], row->contact_id);
        ac_pg_array_add(&b->rows[5], ac_level_name(out->level ? out->level : in->level));
        ac_pg_array_add(&b->rows[6], ac_notify_reason_name(out->as));
        ac_pg_array_add(&b->rows[7], row->key);
        ac_pg_array_add(&b->rows[8], row->doc);
        b->nrows++;
    }
    if (out->remember) {
        char *used = json_dumps(out->used, JSON_COMPACT);
        ac_pg_array_add(&b->notify[0], inc);
        ac_pg_array_add_i64(&b->notify[1], out->team, true);
        (void)snprintf(num, sizeof(num), "%ld", out->tier);
        ac_pg_array_add(&b->notify[2], num);
        ac_pg_array_add(&b->notify[3], used);
        ac_pg_array_add_i64(&b->notify[4], out->mtta_s, false);
        ac_pg_array_add(&b->notify[5], ac_level_name(out->level));
        ac_pg_array_add_i64(&b->notify[6], out->told_alert, false);
        ac_pg_array_add(&b->notify[7], out->arm ? "t" : "f");
        b->nnotify++;
        free(used);
    }
}

/* Closes n array buffers into p. */
static void ob_params(struct ac_buf *a, int n, const char **p)
{
    for (int k = 0; k < n; k++) {
        ac_pg_array_close(&a[k]);
        p[k] = a[k].data;
    }
}

bool ac_outbox_batch_write(PGconn *c, struct ac_outbox_batch *b)
{
    const char *p[9];

    ob_params(b->rows, 9, p);
    if (b->nrows && !ac_pg_run(c, OB, SQL_INSERT_NOTIFICATIONS, 9, p)) {
        return false;
    }
    ob_params(b->notify, 8, p);
    if (b->nnotify && !ac_pg_run(c, OB, SQL_INCIDENT_NOTIFY, 8, p)) {
        return false;
    }
    ob_params(&b->planned, 1, p);
    if (!ac_pg_run(c, OB, SQL_PLANNED, 1, p)) {
        return false;
    }
    ob_params(b->hold, 3, p);
    if (b->nhold + b->nwait + b->ninhibited > 0 && !ac_pg_run(c, OB, SQL_HOLD, 3, p)) {
        return false;
    }
    ob_params(b->inhib, 3, p);
    if (b->ninhib > 0 && !ac_pg_run(c, OB, SQL_INHIBITIONS, 3, p)) {
        return false;
    }
    ob_params(b->drop, 2, p);
    return !b->ndrop || ac_pg_run(c, OB, SQL_DROP, 2, p);
}

long ac_outbox_due_tiers(PGconn *c)
{
    PGresult *r = ac_pg_query(c, OB, SQL_DUE_TIERS, 0, NULL);
    long n = r ? strtol(PQcmdTuples(r), NULL, 10) : -1;

    if (n > 0) {
        ac_log(AC_LOG_INFO, OB, "unacknowledged past MTTA: next tier for %ld incident(s)", n);
    }
    PQclear(r);
    return n;
}

bool ac_outbox_due_repeats(PGconn *c, enum ac_level level, long long repeat_s)
{
    char secs[24];
    const char *p[2] = {ac_level_name(level), secs};

    (void)snprintf(secs, sizeof(secs), "%lld", repeat_s);
    return ac_pg_run(c, OB, SQL_DUE_REPEATS, 2, p);
}

bool ac_outbox_due_summaries(PGconn *c, long long interval_s)
{
    char secs[24];
    const char *p[1] = {secs};

    (void)snprintf(secs, sizeof(secs), "%lld", interval_s);
    return ac_pg_run(c, OB, SQL_DUE_SUMMARIES, 1, p);
}

PGresult *ac_outbox_claim_due(PGconn *c, int limit, long lease_s)
{
    char lim[24], lease[24];
    const char *p[2] = {lim, lease};

    (void)snprintf(lim, sizeof(lim), "%d", limit);
    (void)snprintf(lease, sizeof(lease), "%ld", lease_s);
    return ac_pg_query(c, OB, SQL_CLAIM_DUE, 2, p);
}

bool ac_outbox_sent(PGconn *c, const char *ids, const char *statuses)
{
    const char *p[2] = {ids, statuses};

    return ac_pg_run(c, OB, SQL_SENT, 2, p);
}

bool ac_outbox_retry(PGconn *c, const char *id, long status, long long delay_ms, const char *why)
{
    char st[16], delay[24];
    const char *p[4] = {id, st, delay, why};

    (void)snprintf(st, sizeof(st), "%ld", status);
    (void)snprintf(delay, sizeof(delay), "%lld", delay_ms);
    return ac_pg_run(c, OB, SQL_RETRY, 4, p);
}

bool ac_outbox_failed(PGconn *c, const char *id, long status, const char *why)
{
    char st[16];
    const char *p[3] = {id, st, why};

    (void)snprintf(st, sizeof(st), "%ld", status);
    return ac_pg_run(c, OB, SQL_FAILED, 3, p);
}
