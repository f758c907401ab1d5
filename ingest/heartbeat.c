/* SPDX-License-Identifier: Apache-2.0 */
/* Probe heartbeats: decoding, receiving, and the lost-heartbeat sweeper (heartbeat.h). */
#include "ingest/heartbeat.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "schema/timefmt.h"
#include "server/core/config.h"
#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/core/metrics.h"
#include "server/core/pg.h"
#include "server/core/worker.h"

#define HB_SWEEP_MAX "500"
#define HB_LOST_TYPE "ProbeHeartbeatLost"
#define HB_EXIT_TYPE "InstanceExited"

static const struct {
    const char *check;
    const char *type;
} hb_default_types[] = {
    {"container", "ContainerExited"},         {"network", "ProbeNetworkUnreachable"},
    {"agent_start", "ProbeAgentStartFailed"}, {"storage_mount", "StorageMountFailed"},
    {"time_zone", "TimeZoneMismatch"},
};

struct hb_ctx {
    long lost_after; /* intervals */
    long sweep_ms;
    json_t *check_types;       /* configured check name -> type */
    struct ac_worker *sweeper; /* leads AC_LOCK_HEARTBEATS */
    /* relaxed atomics */
    unsigned long long n_received, n_raised, n_lost;
};

/* ---- events ---------------------------------------------------------- */

/* The dimensions an event of an instance carries. */
struct hb_dims {
    const char *instance, *app_id, *user_id, *region, *cluster, *namespace_, *probe_version;
};

static const char *hb_check_type(const struct hb_ctx *h, const char *check)
{
    const char *t = json_string_value(json_object_get(h->check_types, check));

    for (size_t i = 0; !t && i < sizeof(hb_default_types) / sizeof(*hb_default_types); i++) {
        if (strcmp(hb_default_types[i].check, check) == 0) {
            t = hb_default_types[i].type;
        }
    }
    return t ? t : "ProbeCheckFailed";
}

static void hb_set(json_t *o, const char *k, const char *v)
{
    if (v && *v) {
        json_object_set_new(o, k, json_string(v));
    }
}

/* Appends one event to evs (the event model validates it); the title says
 * what happened. check may be NULL. */
static void hb_event(struct ac_event_vec *evs, const struct hb_dims *d, const char *type,
                     bool firing, const char *title, const char *message, const char *check,
                     long code, int64_t now_us)
{
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s}", "source", "probe", "type", type, "status",
                            firing ? "firing" : "resolved", "title", title);
    json_t *labels = json_object(), *errs = json_array();
    struct ac_event *ev;

    hb_set(doc, "message", message);
    hb_set(doc, "instance", d->instance);
    hb_set(doc, "app_id", d->app_id);
    hb_set(doc, "user_id", d->user_id);
    hb_set(doc, "region", d->region);
    hb_set(doc, "cluster", d->cluster);
    hb_set(doc, "namespace", d->namespace_);
    if (check) {
        json_object_set_new(labels, "check", json_string(check));
        json_object_set_new(labels, "code", json_sprintf("%ld", code));
    }
    hb_set(labels, "probe_version", d->probe_version);
    if (json_object_size(labels)) {
        json_object_set(doc, "labels", labels);
    }
    ev = ac_event_vec_push(evs);
    if (!ac_event_from_json(doc, ev, -1, errs)) {
        /* the heartbeat was validated against the same limits: a bug */
        char *e = json_dumps(errs, JSON_COMPACT);
        ac_log(AC_LOG_ERROR, "heartbeat", "event of %s refused: %s", type, e ? e : "?");
        free(e);
        ac_event_vec_pop(evs);
    }
    else {
        ev->received_at = now_us;
    }
    json_decref(labels);
    json_decref(errs);
    json_decref(doc);
}

/* ---- decoding -------------------------------------------------------- */

void ac_hb_free(struct ac_hb *hbs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_decref(hbs[i].doc);
    }
    free(hbs);
}

static bool hb_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > 64) {
        return false;
    }
    for (; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' ||
              *s == '.')) {
            return false;
        }
    }
    return true;
}

/* An optional string field of at most max characters; NULL when absent. */
static const char *hb_str(const json_t *o, const char *k, size_t max, bool required, long index,
                          json_t *details)
{
    const json_t *v = json_object_get(o, k);
    char path[80];

    (void)snprintf(path, sizeof(path), "$.%s", k);
    if (!v || json_is_null(v)) {
        if (required) {
            ac_event_error(details, index, path, "required field is missing");
        }
        return NULL;
    }
    if (!json_is_string(v) || json_string_length(v) == 0) {
        ac_event_error(details, index, path, "must be a non-empty string");
        return NULL;
    }
    if (ac_utf8_len(json_string_value(v)) > max) {
        ac_event_error(details, index, path, "longer than %zu characters", max);
        return NULL;
    }
    return json_string_value(v);
}

static void hb_one(json_t *doc, long index, struct ac_hb *hb, json_t *details)
{
    const json_t *iv, *checks, *ex, *c;
    size_t i;
    static const char *const known[] = {"instance",      "app_id",     "user_id", "region",
                                        "cluster",       "namespace",  "checks",  "exit",
                                        "probe_version", "interval_s", NULL};
    const char *k;
    json_t *v;

    memset(hb, 0, sizeof(*hb));
    if (!json_is_object(doc)) {
        ac_event_error(details, index, "$", "a heartbeat must be an object");
        return;
    }
    json_object_foreach(doc, k, v)
    {
        bool ok = false;
        for (const char *const *n = known; *n && !ok; n++) {
            ok = strcmp(*n, k) == 0;
        }
        if (!ok) {
            ac_event_error(details, index, "$", "unknown field %.64s", k);
        }
    }
    hb->doc = json_incref(doc);
    hb->instance = hb_str(doc, "instance", AC_EVENT_STRING_MAX, true, index, details);
    hb->app_id = hb_str(doc, "app_id", AC_EVENT_STRING_MAX, false, index, details);
    hb->user_id = hb_str(doc, "user_id", AC_EVENT_STRING_MAX, false, index, details);
    hb->region = hb_str(doc, "region", AC_EVENT_STRING_MAX, false, index, details);
    hb->cluster = hb_str(doc, "cluster", AC_EVENT_STRING_MAX, false, index, details);
    hb->namespace_ = hb_str(doc, "namespace", AC_EVENT_STRING_MAX, false, index, details);
    hb->probe_version = hb_str(doc, "probe_version", 64, false, index, details);
    iv = json_object_get(doc, "interval_s");
    if (!json_is_integer(iv) || json_integer_value(iv) < 1 || json_integer_value(iv) > 86400) {
        ac_event_error(details, index, "$.interval_s", "must be an integer from 1 to 86400");
    }
    else {
        hb->interval_s = (long)json_integer_value(iv);
    }
    checks = json_object_get(doc, "checks");
    if (checks && !json_is_array(checks)) {
        ac_event_error(details, index, "$.checks", "must be an array of {name, code, message?}");
        checks = NULL;
    }
    if (json_array_size(checks) > AC_HB_CHECKS_MAX) {
        ac_event_error(details, index, "$.checks", "at most %d checks", AC_HB_CHECKS_MAX);
        checks = NULL;
    }
    json_array_foreach(checks, i, c)
    {
        const char *name = json_string_value(json_object_get(c, "name"));
        const json_t *code = json_object_get(c, "code"), *msg = json_object_get(c, "message");
        char path[64];
        (void)snprintf(path, sizeof(path), "$.checks[%zu]", i);
        if (!json_is_object(c) || !hb_name_ok(name) || !json_is_integer(code) ||
            (msg && !json_is_null(msg) &&
             (!json_is_string(msg) || ac_utf8_len(json_string_value(msg)) > 1024))) {
            ac_event_error(details, index, path,
                           "must be {name: [a-z0-9_.-]{1,64}, code: integer, message?: string of"
                           " at most 1024 characters}");
            continue;
        }
        for (size_t j = 0; j < hb->nchecks; j++) {
            if (strcmp(hb->checks[j].name, name) == 0) {
                ac_event_error(details, index, path, "check %s is reported twice", name);
            }
        }
        hb->checks[hb->nchecks].name = name;
        hb->checks[hb->nchecks].code = (long)json_integer_value(code);
        hb->checks[hb->nchecks++].message = json_string_value(msg);
    }
    ex = json_object_get(doc, "exit");
    if (ex && !json_is_null(ex)) {
        const json_t *code = json_object_get(ex, "code"), *why = json_object_get(ex, "reason");
        if (!json_is_object(ex) || !json_is_integer(code) ||
            (why && !json_is_null(why) &&
             (!json_is_string(why) || ac_utf8_len(json_string_value(why)) > 1024))) {
            ac_event_error(details, index, "$.exit", "must be {code: integer, reason?: string}");
        }
        else {
            hb->exiting = true;
            hb->exit_code = (long)json_integer_value(code);
            hb->exit_reason = json_string_value(why);
        }
    }
}

int ac_hb_decode(const char *body, size_t len, size_t max, struct ac_hb **out, size_t *n,
                 json_t **details)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr), *item;
    size_t count, i;

    *out = NULL;
    *n = 0;
    *details = json_array();
    if (!root) {
        ac_ingest_json_error(*details, -1, -1, &jerr);
        return AC_EINVAL;
    }
    count = json_is_array(root) ? json_array_size(root) : 1;
    if (count > max) {
        json_decref(root);
        json_decref(*details);
        return ac_ingest_too_many(details, max);
    }
    *out = ac_xcalloc(count + 1, sizeof(**out));
    if (json_is_array(root)) {
        json_array_foreach(root, i, item)
        {
            hb_one(item, (long)i, &(*out)[i], *details);
        }
    }
    else {
        hb_one(root, -1, &(*out)[0], *details);
    }
    json_decref(root);
    *n = count;
    if (json_array_size(*details) > 0) {
        ac_hb_free(*out, *n);
        *out = NULL;
        *n = 0;
        return AC_EINVAL;
    }
    json_decref(*details);
    *details = NULL;
    return AC_OK;
}

/* ---- receiving ------------------------------------------------------- */

#define SQL_HB_PREV                                                                                \
    "SELECT to_json(failing)::text, lost_at IS NOT NULL, exited_at IS NOT NULL AND exit_code <> 0" \
    " FROM heartbeats WHERE instance = $1 FOR UPDATE"
#define SQL_HB_UPSERT                                                                              \
    "INSERT INTO heartbeats AS h (instance, app_id, user_id, region, cluster, namespace,"          \
    " probe_version, interval_s, doc, failing, received_at, lost_after, lost_at, exited_at,"       \
    " exit_code) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::int, $9::jsonb, $10::text[], now(),"      \
    " now() + make_interval(secs => $8::int * $11::int), NULL, CASE WHEN $12::int IS NULL THEN"    \
    " NULL ELSE now() END, $12::int) ON CONFLICT (instance) DO UPDATE SET app_id = "               \
    "excluded.app_id,"                                                                             \
    " user_id = excluded.user_id, region = excluded.region, cluster = excluded.cluster,"           \
    " namespace = excluded.namespace, probe_version = excluded.probe_version,"                     \
    " interval_s = excluded.interval_s, doc = excluded.doc, failing = excluded.failing,"           \
    " received_at = excluded.received_at, lost_after = excluded.lost_after, lost_at = NULL,"       \
    " exited_at = excluded.exited_at, exit_code = excluded.exit_code"

void ac_hb_plan(const struct ac_ingest *in, const struct ac_hb *hb, const struct ac_hb_prev *pv,
                int64_t now_us, struct ac_event_vec *evs, struct ac_buf *failing, json_t *raised,
                json_t *resolved)
{
    const struct hb_ctx *h = in->ctx;
    struct hb_dims d = {hb->instance, hb->app_id,     hb->user_id,      hb->region,
                        hb->cluster,  hb->namespace_, hb->probe_version};
    char title[512];
    size_t i;
    json_t *name;

    /* failing checks: raised (again: they fold); recovered ones: resolved */
    for (i = 0; i < hb->nchecks; i++) {
        const struct ac_hb_check *k = &hb->checks[i];
        const char *type = hb_check_type(h, k->name);
        if (k->code != 0) {
            (void)snprintf(title, sizeof(title), "%s check failed on %s (code %ld)", k->name,
                           hb->instance, k->code);
            hb_event(evs, &d, type, true, title, k->message, k->name, k->code, now_us);
            ac_pg_array_add(failing, k->name);
            json_array_append_new(raised, json_string(type));
        }
    }
    json_array_foreach(pv->failing, i, name)
    {
        const char *n = json_string_value(name);
        bool reported = false, still = false;
        for (size_t j = 0; n && j < hb->nchecks; j++) {
            if (strcmp(hb->checks[j].name, n) == 0) {
                reported = true;
                still = hb->checks[j].code != 0;
            }
        }
        if (!n || still) {
            continue;
        }
        if (!reported && !(hb->exiting && hb->exit_code == 0)) {
            ac_pg_array_add(failing, n); /* not reported this time: still failing */
            continue;
        }
        (void)snprintf(title, sizeof(title), "%s check passes again on %s", n, hb->instance);
        hb_event(evs, &d, hb_check_type(h, n), false, title, NULL, n, 0, now_us);
        json_array_append_new(resolved, json_string(hb_check_type(h, n)));
    }
    if (pv->lost) {
        (void)snprintf(title, sizeof(title), "heartbeats from %s again", hb->instance);
        hb_event(evs, &d, HB_LOST_TYPE, false, title, NULL, NULL, 0, now_us);
        json_array_append_new(resolved, json_string(HB_LOST_TYPE));
    }
    if (hb->exiting && hb->exit_code != 0) {
        (void)snprintf(title, sizeof(title), "%s exited with code %ld", hb->instance,
                       hb->exit_code);
        hb_event(evs, &d, HB_EXIT_TYPE, true, title, hb->exit_reason, "exit", hb->exit_code,
                 now_us);
        json_array_append_new(raised, json_string(HB_EXIT_TYPE));
    }
    else if (pv->exited_bad) { /* a clean exit, or the instance is back */
        (void)snprintf(title, sizeof(title), "%s %s", hb->instance,
                       hb->exiting ? "exited cleanly" : "is running again");
        hb_event(evs, &d, HB_EXIT_TYPE, false, title, NULL, NULL, 0, now_us);
        json_array_append_new(resolved, json_string(HB_EXIT_TYPE));
    }
}

int ac_hb_receive(struct ac_ingest *in, PGconn *c, const struct ac_hb *hb, int64_t now_us,
                  json_t **outcome)
{
    struct hb_ctx *h = in->ctx;
    const char *p[12];
    PGresult *res;
    json_t *prev = NULL, *raised = json_array(), *resolved = json_array();
    bool lost = false, exited_bad = false;
    struct ac_event_vec evs = {0};
    struct ac_ingest_result *results = NULL;
    struct ac_buf failing = {0};
    char interval[24], after[24], code[24];
    char *doc = NULL;
    int rc = AC_EDB;

    *outcome = NULL;
    if (!ac_pg_begin(c, "heartbeat")) {
        goto out;
    }
    p[0] = hb->instance;
    if (!(res = ac_pg_query(c, "heartbeat", SQL_HB_PREV, 1, p))) {
        goto rollback;
    }
    if (PQntuples(res) == 1) {
        prev = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
        lost = PQgetvalue(res, 0, 1)[0] == 't';
        exited_bad = PQgetvalue(res, 0, 2)[0] == 't';
    }
    PQclear(res);

    {
        struct ac_hb_prev pv = {prev, lost, exited_bad};
        ac_hb_plan(in, hb, &pv, now_us, &evs, &failing, raised, resolved);
    }
    if (evs.n > 0) {
        results = ac_xcalloc(evs.n, sizeof(*results));
        if ((rc = in->sink->submit(in->sink->ctx, &evs, results)) != AC_OK) {
            goto rollback;
        }
        rc = AC_EDB;
        __atomic_add_fetch(&h->n_raised, (unsigned long long)json_array_size(raised),
                           __ATOMIC_RELAXED);
    }
    ac_pg_array_close(&failing);
    doc = json_dumps(hb->doc, JSON_COMPACT);
    (void)snprintf(interval, sizeof(interval), "%ld", hb->interval_s);
    (void)snprintf(after, sizeof(after), "%ld", h->lost_after);
    (void)snprintf(code, sizeof(code), "%ld", hb->exit_code);
    p[1] = hb->app_id;
    p[2] = hb->user_id;
    p[3] = hb->region;
    p[4] = hb->cluster;
    p[5] = hb->namespace_;
    p[6] = hb->probe_version;
    p[7] = interval;
    p[8] = doc;
    p[9] = failing.data;
    p[10] = after;
    p[11] = hb->exiting ? code : NULL;
    if (!(res = ac_pg_query(c, "heartbeat", SQL_HB_UPSERT, 12, p))) {
        goto rollback;
    }
    PQclear(res);
    if (!ac_pg_commit(c, "heartbeat")) {
        goto out;
    }
    __atomic_add_fetch(&h->n_received, 1, __ATOMIC_RELAXED);
    *outcome = json_pack("{s:s, s:O, s:O}", "instance", hb->instance, "raised", raised, "resolved",
                         resolved);
    rc = AC_OK;
    goto out;
rollback:
    ac_pg_rollback(c);
out:
    json_decref(prev);
    json_decref(raised);
    json_decref(resolved);
    free(doc);
    free(results);
    ac_buf_deinit(&failing);
    ac_event_vec_deinit(&evs);
    return rc;
}

/* ---- the lost-heartbeat sweeper --------------------------------------- */

#define SQL_HB_LOST                                                                                \
    "SELECT instance, app_id, user_id, region, cluster, namespace, probe_version, interval_s,"     \
    " ac_rfc3339(received_at) FROM heartbeats WHERE lost_at IS NULL AND exited_at IS NULL"         \
    " AND lost_after < now() ORDER BY lost_after LIMIT " HB_SWEEP_MAX " FOR UPDATE SKIP LOCKED"
#define SQL_HB_MARK "UPDATE heartbeats SET lost_at = now() WHERE instance = ANY($1::text[])"
/* This pass's mark, and how long ago (s) the previous one was (NULL: never). */
#define SQL_HB_DUTY                                                                                \
    "WITH prev AS (SELECT at FROM ac_duty_marks WHERE name = 'heartbeat_sweep' FOR UPDATE),"       \
    " u AS (UPDATE ac_duty_marks SET at = now() WHERE name = 'heartbeat_sweep')"                   \
    " SELECT extract(epoch FROM now() - prev.at) FROM prev"
/* Nobody watched for a while: every probe gets a full window from now. */
#define SQL_HB_GRACE                                                                               \
    "UPDATE heartbeats SET lost_after = greatest(lost_after, now() + make_interval(secs =>"        \
    " interval_s * $1::int)) WHERE lost_at IS NULL AND exited_at IS NULL"

static const char *hb_col(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

/* Marks this pass; after a gap in the passes longer than a few sweeps (no
 * instance swept: we, or the sweep's leader, were down), restarts every
 * probe's count from now. In the caller's transaction. */
static bool hb_grace(const struct hb_ctx *h, PGconn *c)
{
    PGresult *res = ac_pg_query(c, "heartbeat", SQL_HB_DUTY, 0, NULL);
    double gap, allowed = (double)(3 * h->sweep_ms) / 1000.0 + 2.0;
    char n[24];
    const char *p[1] = {n};

    if (!res) {
        return false;
    }
    gap = PQntuples(res) && !PQgetisnull(res, 0, 0) ? strtod(PQgetvalue(res, 0, 0), NULL) : -1;
    PQclear(res);
    if (gap >= 0 && gap <= allowed) {
        return true;
    }
    (void)snprintf(n, sizeof(n), "%ld", h->lost_after);
    if (!(res = ac_pg_query(c, "heartbeat", SQL_HB_GRACE, 1, p))) {
        return false;
    }
    if (gap > allowed) {
        ac_log(AC_LOG_INFO, "heartbeat",
               "no sweep for %.0f s (down, or no leader): %s probe(s) get a full window from now",
               gap, PQcmdTuples(res));
    }
    PQclear(res);
    return true;
}

/* One pass: raise ProbeHeartbeatLost for every instance overdue, in one
 * transaction with marking them (a failed submit leaves them for the next). */
static int hb_sweep(struct ac_ingest *in, PGconn *c)
{
    struct hb_ctx *h = in->ctx;
    PGresult *res;
    struct ac_event_vec evs = {0};
    struct ac_ingest_result *results = NULL;
    struct ac_buf names = {0};
    const char *p[1];
    int n = 0, rc = -1;
    int64_t now = ac_time_now_us();

    if (!ac_pg_begin(c, "heartbeat") || !hb_grace(h, c)) {
        goto rollback;
    }
    if (!(res = ac_pg_query(c, "heartbeat", SQL_HB_LOST, 0, NULL))) {
        goto rollback;
    }
    n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        struct hb_dims d = {hb_col(res, i, 0), hb_col(res, i, 1), hb_col(res, i, 2),
                            hb_col(res, i, 3), hb_col(res, i, 4), hb_col(res, i, 5),
                            hb_col(res, i, 6)};
        char title[512], msg[256];
        (void)snprintf(title, sizeof(title), "no heartbeat from %s", d.instance);
        (void)snprintf(msg, sizeof(msg), "last heartbeat at %s; expected every %s s",
                       PQgetvalue(res, i, 8), PQgetvalue(res, i, 7));
        hb_event(&evs, &d, HB_LOST_TYPE, true, title, msg, NULL, 0, now);
        ac_pg_array_add(&names, d.instance);
    }
    PQclear(res);
    if (n == 0) { /* nothing lost: the pass's mark commits */
        rc = ac_pg_commit(c, "heartbeat") ? 0 : -1;
        goto out;
    }
    results = ac_xcalloc((size_t)n, sizeof(*results));
    if (in->sink->submit(in->sink->ctx, &evs, results) != AC_OK) {
        goto rollback;
    }
    ac_pg_array_close(&names);
    p[0] = names.data;
    if (!(res = ac_pg_query(c, "heartbeat", SQL_HB_MARK, 1, p))) {
        goto rollback;
    }
    PQclear(res);
    if (ac_pg_commit(c, "heartbeat")) {
        rc = n;
        __atomic_add_fetch(&h->n_lost, (unsigned long long)n, __ATOMIC_RELAXED);
        ac_log(AC_LOG_INFO, "heartbeat", "heartbeats lost: raised for %d instance(s)", n);
    }
    goto out;
rollback:
    ac_pg_rollback(c);
out:
    free(results);
    ac_buf_deinit(&names);
    ac_event_vec_deinit(&evs);
    return rc;
}

static enum ac_worker_pass hb_pass(void *ctx, struct ac_worker *w, PGconn *c)
{
    (void)w;
    return hb_sweep(ctx, c) < 0 ? AC_WORKER_FAIL : AC_WORKER_IDLE;
}

/* ---- the adapter ------------------------------------------------------ */

static const struct ac_cfg_entry hb_cfg[] = {
    {AC_CFG_INT, "lost_after_intervals", "3", offsetof(struct hb_ctx, lost_after), NULL,
     "a probe is lost after this many of its own intervals without a heartbeat", 1, 100},
    {AC_CFG_INT, "sweep_ms", "1000", offsetof(struct hb_ctx, sweep_ms), NULL,
     "how often the leading instance looks for lost probes", 50, 3600000},
    {AC_CFG_JSON, "check_types", NULL, offsetof(struct hb_ctx, check_types), NULL,
     "the alert type of each failing check: {check: type} (defaults: container"
     " ContainerExited, network ProbeNetworkUnreachable, ...)",
     0, 0},
    {AC_CFG_END, NULL, NULL, 0, NULL, NULL, 0, 0},
};

static int hb_init(struct ac_ingest *in)
{
    struct hb_ctx *h = ac_xcalloc(1, sizeof(*h));
    int rc;

    in->ctx = h;
    rc = ac_ingest_load_cfg(in, h);
    if (h->check_types && !ac_json_is_string_object(h->check_types)) {
        ac_log(AC_LOG_ERROR, "config", "heartbeats.check_types: {check: type}");
        rc = AC_EINVAL;
    }
    return rc;
}

static int hb_start(struct ac_ingest *in)
{
    struct hb_ctx *h = in->ctx;

    struct ac_worker_def def = {.name = "heartbeat",
                                .dsn = in->cfg->pg_dsn,
                                .lead_key = AC_LOCK_HEARTBEATS,
                                .duty = "sweeps lost heartbeats",
                                .period_ms = h->sweep_ms,
                                .pass = hb_pass,
                                .ctx = in};

    h->sweeper = ac_worker_start(&def);
    return h->sweeper ? AC_OK : AC_EINVAL;
}

static void hb_stop(struct ac_ingest *in)
{
    struct hb_ctx *h = in->ctx;

    if (h) {
        ac_worker_stop(h->sweeper);
        h->sweeper = NULL;
    }
}

static void hb_destroy(struct ac_ingest *in)
{
    struct hb_ctx *h = in->ctx;

    if (h) {
        hb_stop(in);
        ac_cfg_free(hb_cfg, h);
        free(h);
        in->ctx = NULL;
    }
}

static void hb_collect(struct ac_ingest *in, struct ac_metrics_out *o)
{
    const struct hb_ctx *h = in->ctx;

    ac_metrics_single(o, "ac_heartbeats_received_total", "counter",
                      "Heartbeats this instance received and recorded.",
                      (double)__atomic_load_n(&h->n_received, __ATOMIC_RELAXED));
    ac_metrics_single(o, "ac_heartbeat_events_raised_total", "counter",
                      "Failing checks and exits this instance raised from heartbeats.",
                      (double)__atomic_load_n(&h->n_raised, __ATOMIC_RELAXED));
    ac_metrics_single(o, "ac_heartbeats_lost_total", "counter",
                      "ProbeHeartbeatLost raised by this instance's sweeper (when it leads).",
                      (double)__atomic_load_n(&h->n_lost, __ATOMIC_RELAXED));
}

const struct ac_ingest_ops ac_heartbeat_ops = {
    .name = "heartbeats",
    .section = "heartbeats",
    .cfg = hb_cfg,
    .init = hb_init,
    .start = hb_start,
    .stop = hb_stop,
    .destroy = hb_destroy,
    .collect = hb_collect,
};
