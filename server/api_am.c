/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Alertmanager's API v2, read and silence side, for the tools that speak it
 * (amtool, Grafana's Alertmanager data source): GET /api/v2/status, GET
 * /api/v2/alerts, GET/POST /api/v2/silences, GET/DELETE
 * /api/v2/silence/{id}. POST /api/v2/alerts (ingest) is api_ingest.c's.
 *
 * An alert's labels, as these routes show and match them: the labels of its
 * latest event, then alertname = its type and, when set, the event model's
 * fields level, source, region, cluster, namespace, app_id, user_id and
 * instance (the field wins over a label of the same name). A silence's
 * matchers map the same way: alertname is the type, those names are the
 * fields, any other name is labels.<name>; a silence made for one alert or
 * incident shows __alert_id__ / __incident_id__ = its id, and such a matcher
 * posted back makes one again. Silences and alerts are the alert center's
 * own (server/api_silences.c, the planner's silence test): what amtool adds
 * holds notifications exactly as POST /v1/silences does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escalation/notify/plan.h"
#include "schema/timefmt.h"
#include "server/api.h"
#include "server/apikit.h"
#include "server/core/log.h"
#include "server/core/matcher.h"
#include "server/core/mem.h"
#include "server/core/pg.h"
#include "server/outbox.h"
#include "server/server.h"

#define AM_FILTERS_MAX 32
/* The open alerts GET /api/v2/alerts answers at most (the oldest first). */
#define AM_ALERTS_MAX 20000
/* Expired silences are listed this long after they end, as Alertmanager
 * keeps them (its --data.retention, 120 h). */
#define AM_SILENCES_KEPT "120 hours"
#define AM_SILENCES_MAX  10000
/* The end of a silence that lasts until its alert resolves. */
#define AM_FOREVER "9999-12-31T23:59:59Z"
/* Go's zero time: Alertmanager's "not set". */
#define AM_ZERO_TIME "0001-01-01T00:00:00Z"

#define SQL_AM_ALERTS                                                                              \
    "SELECT ac_alert_json(a)::text, coalesce(t.name, 'default'), (SELECT s.fingerprint"            \
    " FROM alert_inhibitions i JOIN alerts s ON s.id = i.source_alert_id"                          \
    " WHERE i.alert_id = a.id AND s.status <> 'resolved')"                                         \
    " FROM alerts a LEFT JOIN teams t ON t.id = a.team_id WHERE a.status <> 'resolved'"            \
    " ORDER BY a.id LIMIT $1::int"
#define SQL_AM_SILENCES                                                                            \
    "SELECT ac_silence_json(s)::text FROM silences s WHERE coalesce(s.expired_at, s.ends_at,"      \
    " 'infinity') > now() - interval '" AM_SILENCES_KEPT "' ORDER BY s.id DESC LIMIT $1::int"
#define SQL_AM_SILENCE "SELECT ac_silence_json(s)::text FROM silences s WHERE s.id = $1::bigint"

/* Names that are the event model's fields, not labels. */
static const char *const am_fields[] = {"level",  "source",  "region",   "cluster", "namespace",
                                        "app_id", "user_id", "instance", NULL};

static bool am_is_field(const char *name)
{
    for (const char *const *f = am_fields; *f; f++) {
        if (strcmp(*f, name) == 0) {
            return true;
        }
    }
    return false;
}

/* GET /api/v2/status: enough of Alertmanager's answer for amtool and
 * Prometheus's discovery of an Alertmanager. */
void ac_api_am_status(struct ac_http_req *r)
{
    char uptime[AC_TIME_STRLEN];

    ac_time_format(r->srv->started_us, uptime);
    ac_http_reply_json(
        r, 200,
        json_pack("{s:{s:s, s:s, s:[]}, s:{s:s, s:s, s:s, s:s, s:s, s:s}, s:{s:s}, s:s}", "cluster",
                  "name", "alertcenter", "status", "ready", "peers", "versionInfo", "version",
                  AC_VERSION, "revision", "", "branch", "", "buildUser", "alertcenter", "buildDate",
                  "", "goVersion", "none (C)", "config", "original",
                  "# Unified Alert Center: configuration is not Alertmanager's\n", "uptime",
                  uptime));
}

/* --- matching label sets -------------------------------------------------------- */

/* The ?filter= matchers (Alertmanager's text form), compiled to match a
 * label set put in an event's labels. False after answering 400. */
static bool am_filters(struct ac_http_req *r, struct ac_matchers *ms)
{
    const char *v[AM_FILTERS_MAX];
    size_t n = ac_http_args(r, "filter", v, AM_FILTERS_MAX);
    json_t *arr = json_array(), *errs = json_array();
    char err[160], *name;
    bool ok;

    if (n > AM_FILTERS_MAX) {
        ac_api_bad_query(r, "filter", "at most 32 matchers");
        json_decref(arr);
        json_decref(errs);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *m = ac_matcher_parse_text(v[i], err, sizeof(err));
        if (!m) {
            ac_api_bad_query(r, "filter", err);
            json_decref(arr);
            json_decref(errs);
            return false;
        }
        name = ac_xasprintf("labels.%s", json_string_value(json_object_get(m, "name")));
        json_object_set_new(m, "name", json_string(name));
        free(name);
        json_array_append_new(arr, m);
    }
    ok = ac_matchers_from_json(ms, arr, "filter", errs) == AC_OK;
    if (!ok) {
        const char *msg = json_string_value(json_object_get(json_array_get(errs, 0), "message"));
        ac_api_bad_query(r, "filter", msg ? msg : "not a valid matcher");
    }
    json_decref(arr);
    json_decref(errs);
    return ok;
}

/* Whether the label set (borrowed) passes the filter. */
static bool am_pass(const struct ac_matchers *filter, json_t *labels)
{
    struct ac_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.labels = labels;
    return ac_matchers_match(filter, &ev);
}

/* A true/false argument (dflt when absent); false after answering 400. */
static bool am_bool(struct ac_http_req *r, const char *name, bool dflt, bool *out)
{
    const char *v = ac_http_arg(r, name);

    *out = dflt;
    if (!v) {
        return true;
    }
    if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0) {
        *out = v[0] == 't';
        return true;
    }
    ac_api_bad_query(r, name, "must be true or false");
    return false;
}

/* --- alerts ----------------------------------------------------------------------- */

/* An alert's labels (new), as the header says. */
static json_t *am_labels(const json_t *alert, const struct ac_event *ev)
{
    json_t *l = ev->labels ? json_deep_copy(ev->labels) : json_object();
    const char *v;

    json_object_set(l, "alertname", json_object_get(alert, "type"));
    for (const char *const *f = am_fields; *f; f++) {
        if ((v = json_string_value(json_object_get(alert, *f))) && *v) {
            json_object_set_new(l, *f, json_string(v));
        }
    }
    return l;
}

static json_t *am_time_or(const json_t *alert, const char *key, const char *dflt)
{
    const json_t *v = json_object_get(alert, key);

    return json_is_string(v) ? json_copy((json_t *)v) : json_string(dflt);
}

/* One alert as Alertmanager's GettableAlert (new). */
static json_t *am_alert(const json_t *a, json_t *labels, const char *receiver, json_t *silenced_by,
                        json_t *inhibited_by)
{
    const json_t *latest = json_object_get(a, "latest_event");
    json_t *ann = json_object(), *out;
    const char *v;

    if ((v = json_string_value(json_object_get(a, "title")))) {
        json_object_set_new(ann, "summary", json_string(v));
    }
    if ((v = json_string_value(json_object_get(latest, "message")))) {
        json_object_set_new(ann, "description", json_string(v));
    }
    if ((v = json_string_value(json_object_get(a, "runbook_url")))) {
        json_object_set_new(ann, "runbook_url", json_string(v));
    }
    out = json_pack(
        "{s:o, s:o, s:o, s:o, s:o, s:O, s:[{s:s}], s:{s:s, s:o, s:o}}", "labels", labels,
        "annotations", ann, "startsAt", am_time_or(a, "first_seen", AM_ZERO_TIME), "endsAt",
        am_time_or(a, "ends_at", AM_ZERO_TIME), "updatedAt",
        am_time_or(a, "last_seen", AM_ZERO_TIME), "fingerprint", json_object_get(a, "fingerprint"),
        "receivers", "name", receiver, "status", "state",
        json_array_size(silenced_by) || json_array_size(inhibited_by) ? "suppressed" : "active",
        "silencedBy", silenced_by, "inhibitedBy", inhibited_by);
    v = json_string_value(json_object_get(json_object_get(latest, "context"), "generator_url"));
    if (v) {
        json_object_set_new(out, "generatorURL", json_string(v));
    }
    return out;
}

/* GET /api/v2/alerts?filter=&active=&silenced=&inhibited=&unprocessed=&receiver= */
void ac_api_am_alerts(struct ac_http_req *r)
{
    static const char *const allowed[] = {"filter",      "active",   "silenced", "inhibited",
                                          "unprocessed", "receiver", NULL};
    struct ac_matchers filter = {0}, recv = {0};
    struct ac_oncall_snapshot o;
    bool active, silenced, inhibited, unprocessed;
    const char *bad = ac_http_unknown_arg(r, allowed), *rx = ac_http_arg(r, "receiver");
    char limit[16];
    const char *p[1] = {limit};
    PGconn *c = NULL;
    PGresult *res = NULL;
    json_t *out;

    if (bad) {
        ac_api_bad_query(r, bad, "is not a parameter of this route");
        return;
    }
    if (!am_bool(r, "active", true, &active) || !am_bool(r, "silenced", true, &silenced) ||
        !am_bool(r, "inhibited", true, &inhibited) ||
        !am_bool(r, "unprocessed", true, &unprocessed) || !am_filters(r, &filter)) {
        return;
    }
    if (rx) {
        json_t *arr = json_pack("[{s:s, s:s, s:s}]", "name", "labels.receiver", "op", "=~", "value",
                                rx),
               *errs = json_array();
        bool ok = arr && ac_matchers_from_json(&recv, arr, "receiver", errs) == AC_OK;
        json_decref(arr);
        json_decref(errs);
        if (!ok) {
            ac_api_bad_query(r, "receiver", "is not a valid regular expression");
            ac_matchers_deinit(&filter);
            return;
        }
    }
    ac_snapshot_init(&o);
    (void)snprintf(limit, sizeof(limit), "%d", AM_ALERTS_MAX);
    if (!(c = ac_api_db(r))) {
        goto done;
    }
    if (!ac_outbox_silences(c, &o) || !(res = ac_pg_query(c, "api", SQL_AM_ALERTS, 1, p))) {
        ac_api_unavailable(r, c, "alertmanager alerts");
        goto done;
    }
    if (PQntuples(res) == AM_ALERTS_MAX) {
        ac_log(AC_LOG_WARN, "api", "GET /api/v2/alerts: answered the oldest %d open alerts only",
               AM_ALERTS_MAX);
    }
    out = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        json_t *a = json_loads(PQgetvalue(res, i, 0), 0, NULL), *labels, *sil, *inh, *rl;
        const char *receiver = PQgetvalue(res, i, 1);
        const struct ac_plan_silence *s;
        struct ac_event ev;
        bool has;

        if (!a) {
            continue;
        }
        has = ac_plan_latest_event(a, &ev);
        labels = am_labels(a, &ev);
        s = ac_snapshot_silenced(
            &o, strtoll(json_string_value(json_object_get(a, "incident_id")) ?: "0", NULL, 10),
            strtoll(json_string_value(json_object_get(a, "id")) ?: "0", NULL, 10),
            has ? &ev : NULL);
        ac_event_deinit(&ev);
        sil = json_array();
        inh = json_array();
        if (s) {
            json_array_append_new(sil, json_sprintf("%lld", (long long)s->id));
        }
        if (!PQgetisnull(res, i, 2)) {
            json_array_append_new(inh, json_string(PQgetvalue(res, i, 2)));
        }
        rl = json_pack("{s:s}", "receiver", receiver);
        if (am_pass(&filter, labels) && (!rx || am_pass(&recv, rl)) && (silenced || !s) &&
            (inhibited || json_array_size(inh) == 0) && (active || s || json_array_size(inh) > 0)) {
            json_array_append_new(out, am_alert(a, labels, receiver, sil, inh));
        }
        else {
            json_decref(labels);
            json_decref(sil);
            json_decref(inh);
        }
        json_decref(rl);
        json_decref(a);
    }
    ac_http_reply_json(r, 200, out);
done:
    PQclear(res);
    ac_api_db_release(r, c);
    ac_snapshot_deinit(&o);
    ac_matchers_deinit(&filter);
    ac_matchers_deinit(&recv);
}

/* --- silences ------------------------------------------------------------------- */

/* Our matcher name for Alertmanager's label name (new), and back. */
static char *am_to_field(const char *label)
{
    if (strcmp(label, "alertname") == 0) {
        return ac_xstrdup("type");
    }
    return am_is_field(label) ? ac_xstrdup(label) : ac_xasprintf("labels.%s", label);
}

static const char *am_to_label(const char *field)
{
    if (strcmp(field, "type") == 0) {
        return "alertname";
    }
    return strncmp(field, "labels.", 7) == 0 ? field + 7 : field;
}

static json_t *am_matcher(const char *name, const char *value, bool regex, bool equal)
{
    return json_pack("{s:s, s:s, s:b, s:b}", "name", name, "value", value, "isRegex", regex,
                     "isEqual", equal);
}

/* Our silence (borrowed) as Alertmanager's GettableSilence (new). */
static json_t *am_silence(const json_t *s)
{
    const json_t *ms = json_object_get(s, "matchers"), *m;
    const char *expired = json_string_value(json_object_get(s, "expired_at"));
    const char *starts = json_string_value(json_object_get(s, "starts_at"));
    const char *ends = json_string_value(json_object_get(s, "ends_at"));
    const char *by = json_string_value(json_object_get(s, "created_by"));
    const char *comment = json_string_value(json_object_get(s, "comment"));
    const char *state;
    int64_t now = ac_time_now_us(), t0 = 0, t1 = INT64_MAX, tx = INT64_MAX;
    json_t *out = json_array();
    size_t i;

    json_array_foreach(ms, i, m)
    {
        const char *op = json_string_value(json_object_get(m, "op"));
        json_array_append_new(out,
                              am_matcher(am_to_label(json_string_value(json_object_get(m, "name"))),
                                         json_string_value(json_object_get(m, "value")),
                                         op && op[1] == '~', op && op[0] == '='));
    }
    if (json_string_value(json_object_get(s, "alert_id"))) {
        json_array_append_new(out, am_matcher("__alert_id__",
                                              json_string_value(json_object_get(s, "alert_id")),
                                              false, true));
    }
    if (json_string_value(json_object_get(s, "incident_id"))) {
        json_array_append_new(out, am_matcher("__incident_id__",
                                              json_string_value(json_object_get(s, "incident_id")),
                                              false, true));
    }
    if (json_array_size(out) == 0) { /* "all": true */
        json_array_append_new(out, am_matcher("alertname", ".*", true, true));
    }
    (void)(starts && ac_time_parse(starts, &t0));
    (void)(ends && ac_time_parse(ends, &t1));
    (void)(expired && ac_time_parse(expired, &tx));
    state = (tx <= now || t1 <= now) ? "expired" : t0 > now ? "pending" : "active";
    if (by && strncmp(by, "user:", 5) == 0) {
        by += 5;
    }
    return json_pack("{s:O, s:o, s:s, s:s, s:s, s:s, s:s, s:{s:s}}", "id", json_object_get(s, "id"),
                     "matchers", out, "startsAt", starts ? starts : AM_ZERO_TIME, "endsAt",
                     tx < t1 ? expired : ends ? ends : AM_FOREVER, "updatedAt",
                     expired ? expired
                             : json_string_value(json_object_get(s, "created_at")) ?: AM_ZERO_TIME,
                     "createdBy", by ? by : "", "comment", comment ? comment : "", "status",
                     "state", state);
}

/* The label set a silence's equality matchers name (new), which a ?filter=
 * is matched against (as Alertmanager does). */
static json_t *am_silence_labels(const json_t *ams)
{
    json_t *l = json_object(), *m;
    size_t i;

    json_array_foreach(json_object_get(ams, "matchers"), i, m)
    {
        if (json_is_true(json_object_get(m, "isEqual")) &&
            !json_is_true(json_object_get(m, "isRegex"))) {
            json_object_set(l, json_string_value(json_object_get(m, "name")),
                            json_object_get(m, "value"));
        }
    }
    return l;
}

/*
 * Alertmanager's PostableSilence (borrowed) as POST /v1/silences's body
 * (new); *by: its createdBy (borrowed). NULL after answering 400: the
 * errors name Alertmanager's fields.
 */
static json_t *am_silence_body(struct ac_http_req *r, const json_t *in, const char **by)
{
    static const char *const keys[] = {"id",      "matchers", "startsAt",  "endsAt", "createdBy",
                                       "comment", "status",   "updatedAt", NULL};
    const json_t *ms = json_object_get(in, "matchers"), *m;
    json_t *errs = json_array(), *out = json_object(), *ours = json_array();
    size_t i;

    (void)ac_json_only_keys(in, keys, "is not a field of a silence", errs);
    if (!json_is_array(ms) || json_array_size(ms) == 0) {
        ac_event_error(errs, -1, "$.matchers", "must be a list of at least one matcher");
    }
    json_array_foreach(ms, i, m)
    {
        const char *name = json_string_value(json_object_get(m, "name"));
        const char *value = json_string_value(json_object_get(m, "value"));
        const json_t *eq = json_object_get(m, "isEqual");
        bool regex = json_is_true(json_object_get(m, "isRegex")), equal = !json_is_false(eq);
        char path[48];

        (void)snprintf(path, sizeof(path), "$.matchers[%zu]", i);
        if (!name || !*name || !value) {
            ac_event_error(errs, -1, path, "needs a name and a value (strings)");
            continue;
        }
        if (strcmp(name, "__alert_id__") == 0 || strcmp(name, "__incident_id__") == 0) {
            if (regex || !equal) {
                ac_event_error(errs, -1, path, "%s takes = only", name);
                continue;
            }
            json_object_set_new(out, name[2] == 'a' ? "alert_id" : "incident_id",
                                json_string(value));
            continue;
        }
        char *field = am_to_field(name);
        json_array_append_new(ours, json_pack("{s:s, s:s, s:s}", "name", field, "op",
                                              regex ? (equal ? "=~" : "!~") : (equal ? "=" : "!="),
                                              "value", value));
        free(field);
    }
    if (!json_is_string(json_object_get(in, "startsAt")) ||
        !json_is_string(json_object_get(in, "endsAt"))) {
        ac_event_error(errs, -1, "$", "startsAt and endsAt are required (RFC 3339 times)");
    }
    if (json_array_size(errs) > 0) {
        ac_http_reply_error(r, 400, "invalid_silence", "the silence is not valid", errs);
        json_decref(out);
        json_decref(ours);
        return NULL;
    }
    json_decref(errs);
    if (json_array_size(ours) > 0) {
        json_object_set_new(out, "matchers", ours);
    }
    else {
        json_decref(ours);
    }
    json_object_set(out, "starts_at", json_object_get(in, "startsAt"));
    json_object_set(out, "ends_at", json_object_get(in, "endsAt"));
    if (json_string_length(json_object_get(in, "comment"))) {
        json_object_set(out, "comment", json_object_get(in, "comment"));
    }
    *by = json_string_value(json_object_get(in, "createdBy"));
    return out;
}

/* A starting time in the past is now (amtool sends the time it ran). */
static void am_starts_now(json_t *body)
{
    int64_t t;
    const char *s = json_string_value(json_object_get(body, "starts_at"));

    if (s && ac_time_parse(s, &t) && t < ac_time_now_us()) {
        json_object_del(body, "starts_at");
    }
}

static void am_silences_get(struct ac_http_req *r)
{
    static const char *const allowed[] = {"filter", NULL};
    struct ac_matchers filter = {0};
    const char *bad = ac_http_unknown_arg(r, allowed);
    char limit[16];
    const char *p[1] = {limit};
    PGconn *c;
    PGresult *res;
    json_t *out;

    if (bad) {
        ac_api_bad_query(r, bad, "is not a parameter of this route");
        return;
    }
    if (!am_filters(r, &filter)) {
        return;
    }
    (void)snprintf(limit, sizeof(limit), "%d", AM_SILENCES_MAX);
    if (!(c = ac_api_db(r))) {
        ac_matchers_deinit(&filter);
        return;
    }
    if (!(res = ac_pg_query(c, "api", SQL_AM_SILENCES, 1, p))) {
        ac_api_unavailable(r, c, "alertmanager silences");
    }
    else {
        out = json_array();
        for (int i = 0; i < PQntuples(res); i++) {
            json_t *s = json_loads(PQgetvalue(res, i, 0), 0, NULL);
            json_t *ams = s ? am_silence(s) : NULL, *labels = am_silence_labels(ams);
            if (ams && am_pass(&filter, labels)) {
                json_array_append(out, ams);
            }
            json_decref(labels);
            json_decref(ams);
            json_decref(s);
        }
        ac_http_reply_json(r, 200, out);
    }
    PQclear(res);
    ac_api_db_release(r, c);
    ac_matchers_deinit(&filter);
}

/* POST makes a silence; with an id, it replaces that one (which ends), as
 * Alertmanager does: the answer names the new one. */
static void am_silences_post(struct ac_http_req *r)
{
    json_t *in = ac_api_body_object(r, "invalid_silence", "the silence is not valid");
    json_t *body, *made = NULL;
    const char *by = NULL, *replaces;
    char *actor;

    if (!in) {
        return;
    }
    if (!(body = am_silence_body(r, in, &by))) {
        json_decref(in);
        return;
    }
    am_starts_now(body);
    replaces = json_string_value(json_object_get(in, "id"));
    actor = by && *by ? ac_xasprintf("user:%s", by) : ac_api_actor(r);
    made = ac_silence_create(r, body, actor, replaces && *replaces ? replaces : NULL);
    if (made) {
        ac_http_reply_json(r, 200, json_pack("{s:O}", "silenceID", json_object_get(made, "id")));
    }
    free(actor);
    json_decref(made);
    json_decref(body);
    json_decref(in);
}

void ac_api_am_silences(struct ac_http_req *r)
{
    if (strcmp(r->method, "POST") == 0) {
        am_silences_post(r);
    }
    else {
        am_silences_get(r);
    }
}

/* GET /api/v2/silence/{id}; DELETE ends it (Alertmanager's expire). */
void ac_api_am_silence(struct ac_http_req *r)
{
    const char *p[1] = {r->path_arg};
    PGconn *c;
    PGresult *res;
    json_t *s;
    char *actor;

    if (strcmp(r->method, "DELETE") == 0) {
        actor = ac_api_actor(r);
        s = ac_silence_expire(r, r->path_arg, actor);
        if (s) {
            ac_http_reply_json(r, 200, json_object());
        }
        json_decref(s);
        free(actor);
        return;
    }
    if (!ac_api_is_id(r->path_arg)) {
        ac_api_not_found(r, "silence");
        return;
    }
    if (!(c = ac_api_db(r))) {
        return;
    }
    if (!(res = ac_pg_query(c, "api", SQL_AM_SILENCE, 1, p))) {
        ac_api_unavailable(r, c, "alertmanager silence");
    }
    else if (PQntuples(res) == 0) {
        ac_api_not_found(r, "silence");
    }
    else if ((s = json_loads(PQgetvalue(res, 0, 0), 0, NULL))) {
        ac_http_reply_json(r, 200, am_silence(s));
        json_decref(s);
    }
    PQclear(res);
    ac_api_db_release(r, c);
}
