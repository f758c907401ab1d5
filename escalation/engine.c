/* SPDX-License-Identifier: Apache-2.0 */
/* The impact escalation engine over stored windows; see engine.h. */
#include "escalation/engine.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/timefmt.h"
#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/core/pg.h"
#include "server/core/redis.h"

#define SQL_ENG_LOCK "SELECT pg_advisory_xact_lock(ac_type_lock_key($1))"
#define SQL_ENG_OPEN                                                                               \
    "SELECT " AC_ESC_WIN_SELECT(                                                                   \
        "false", "w.trace = ANY($2::text[])",                                                      \
        AC_ESC_UNFLUSHED) " FROM esc_windows w WHERE w.type = $1 AND w.closed_at IS NULL"
#define SQL_ENG_SAVE                                                                               \
    "UPDATE esc_windows SET level = $2, holding_since = $3::bigint[],"                             \
    " rev = rev + 1 WHERE id = $1::bigint RETURNING rev"
#define SQL_ENG_RAISE "SELECT ac_esc_raise($1::bigint, $2, $3, $4::jsonb)"
#define SQL_ENG_LOAD_OPEN                                                                          \
    "SELECT " AC_ESC_WIN_SELECT("false", "true",                                                   \
                                AC_ESC_UNFLUSHED) " FROM esc_windows w WHERE w.closed_at IS NULL"  \
                                                  " AND ($1::text IS NULL OR w.type = $1)"         \
                                                  " ORDER BY w.type LIMIT $2::int"
#define SQL_ENG_LOAD_CLOSED                                                                        \
    "SELECT " AC_ESC_WIN_SELECT("true", "false", "0") " FROM esc_windows w"                        \
                                                      " WHERE w.closed_at IS NOT NULL"             \
                                                      " AND ($1::text IS NULL OR w.type = $1)"     \
                                                      " ORDER BY w.id DESC LIMIT $2::int"

/* --- reading --------------------------------------------------------------- */

static void eng_parse_holding(const char *s, int64_t *out)
{
    char *end;

    memset(out, 0, AC_ESC_TIERS_MAX * sizeof(*out));
    if (*s == '{') {
        s++;
    }
    for (size_t k = 0; *s && *s != '}' && k < AC_ESC_TIERS_MAX; k++) {
        out[k] = strtoll(s, &end, 10);
        if (end == s) {
            break;
        }
        s = *end == ',' ? end + 1 : end;
    }
}

void ac_esc_win_from_pg(const PGresult *r, int row, struct ac_esc_win *w)
{
    long long cur = 0, prev = 0, pct = 0;

    memset(w, 0, sizeof(*w));
    w->id = strtoll(PQgetvalue(r, row, 0), NULL, 10);
    (void)snprintf(w->type, sizeof(w->type), "%s", PQgetvalue(r, row, 1));
    (void)ac_trace_parse(PQgetvalue(r, row, 2), &w->trace);
    (void)ac_level_parse(PQgetvalue(r, row, 3), &w->level);
    w->fig.apps = strtol(PQgetvalue(r, row, 4), NULL, 10);
    w->fig.gc_users = strtol(PQgetvalue(r, row, 5), NULL, 10);
    w->fig.events = strtol(PQgetvalue(r, row, 6), NULL, 10);
    w->opened_at = strtoll(PQgetvalue(r, row, 7), NULL, 10);
    w->closed_at = strtoll(PQgetvalue(r, row, 8), NULL, 10);
    eng_parse_holding(PQgetvalue(r, row, 9), w->holding);
    w->rev = strtoll(PQgetvalue(r, row, 10), NULL, 10);
    w->closed = PQgetvalue(r, row, 11)[0] == 't';
    if (!PQgetisnull(r, row, 12) &&
        sscanf(PQgetvalue(r, row, 12), "(%lld,%lld,%lld)", &cur, &prev, &pct) == 3) {
        w->fig.has_increment = true;
        w->fig.increment_pct = (long)pct;
        w->prev_events = prev;
    }
    else if (!PQgetisnull(r, row, 13)) {
        w->fig.has_increment = true;
        w->fig.increment_pct = strtol(PQgetvalue(r, row, 13), NULL, 10);
        w->prev_events = -1; /* not kept */
    }
}

const struct ac_esc_policy *ac_esc_win_policy(const struct ac_esc_config *c,
                                              const struct ac_esc_win *w)
{
    return ac_esc_policy_for(c, w->type, w->trace);
}

bool ac_esc_needs_increment(const struct ac_esc_policy *p)
{
    for (size_t i = 0; i < p->n; i++) {
        if (p->tiers[i].increment_pct) {
            return true;
        }
    }
    return false;
}

/* The name a policy goes by in reasons: the type's own, else the trace. */
static const char *eng_policy_name(const struct ac_esc_config *c, const struct ac_esc_win *w)
{
    return ac_esc_win_policy(c, w) == ac_esc_policy_for(c, NULL, w->trace) ? ac_trace_name(w->trace)
                                                                           : w->type;
}

static size_t eng_decide(const struct ac_esc_config *c, const struct ac_esc_win *w, int64_t now,
                         struct ac_esc_state *st, struct ac_esc_raise *raises)
{
    st->level = w->level;
    memcpy(st->holding_since, w->holding, sizeof(st->holding_since));
    return ac_esc_evaluate(ac_esc_win_policy(c, w), eng_policy_name(c, w), &w->fig, now, st,
                           raises);
}

bool ac_esc_win_due(const struct ac_esc_config *c, const struct ac_esc_win *w, int64_t now)
{
    struct ac_esc_state st;
    struct ac_esc_raise raises[AC_ESC_TIERS_MAX];

    if (w->closed) {
        return false;
    }
    return eng_decide(c, w, now, &st, raises) > 0 ||
           memcmp(st.holding_since, w->holding, sizeof(st.holding_since)) != 0;
}

/* --- applying ------------------------------------------------------------- */

/* The traces whose policy for type needs the increment, as an array literal. */
static void eng_inc_traces(const struct ac_esc_config *c, const char *type, char *out, size_t len)
{
    size_t n = 0;

    n += (size_t)snprintf(out, len, "{");
    for (int tr = AC_TRACE_CONTROL; tr <= AC_TRACE_RUNTIME && n < len; tr++) {
        if (ac_esc_needs_increment(ac_esc_policy_for(c, type, (enum ac_trace)tr))) {
            n += (size_t)snprintf(out + n, len - n, "%s%s", n > 1 ? "," : "",
                                  ac_trace_name((enum ac_trace)tr));
        }
    }
    if (n < len) {
        (void)snprintf(out + n, len - n, "}");
    }
}

static char *eng_holding_literal(const int64_t *h)
{
    struct ac_buf b = {0};

    for (size_t i = 0; i < AC_ESC_TIERS_MAX; i++) {
        ac_pg_array_add_i64(&b, h[i], false);
    }
    ac_pg_array_close(&b);
    return ac_buf_steal(&b);
}

static char *eng_figures_json(const struct ac_esc_figures *f)
{
    json_t *j = json_pack("{s:I, s:I, s:I}", "apps", (json_int_t)f->apps, "gc_users",
                          (json_int_t)f->gc_users, "events", (json_int_t)f->events);
    char *s;

    json_object_set_new(j, "increment_pct",
                        f->has_increment ? json_integer(f->increment_pct) : json_null());
    s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

/* Inside the transaction: saves the decision and raises the alerts. */
static bool eng_save(PGconn *conn, struct ac_esc_win *w, const struct ac_esc_state *st,
                     const struct ac_esc_raise *raises, size_t n, long *raised)
{
    char id[24];
    char *holding = eng_holding_literal(st->holding_since);
    char *figures = eng_figures_json(&w->fig);
    const char *p[4] = {id, ac_level_name(st->level), holding, NULL};
    PGresult *res;
    bool ok;

    (void)snprintf(id, sizeof(id), "%lld", (long long)w->id);
    res = ac_pg_query(conn, "escalation", SQL_ENG_SAVE, 3, p);
    ok = res && PQntuples(res) == 1;
    if (ok) {
        w->rev = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        w->level = st->level;
        memcpy(w->holding, st->holding_since, sizeof(w->holding));
    }
    PQclear(res);
    for (size_t i = 0; ok && i < n; i++) {
        p[1] = ac_level_name(raises[i].to);
        p[2] = raises[i].reason;
        p[3] = figures;
        res = ac_pg_query(conn, "escalation", SQL_ENG_RAISE, 4, p);
        ok = res != NULL;
        if (ok) {
            long k = strtol(PQgetvalue(res, 0, 0), NULL, 10);
            *raised += k;
            ac_log(AC_LOG_INFO, "escalation", "type=%s window=%lld %s->%s alerts=%ld: %s", w->type,
                   (long long)w->id, ac_level_name(raises[i].from), ac_level_name(raises[i].to), k,
                   raises[i].reason);
        }
        PQclear(res);
    }
    free(holding);
    free(figures);
    return ok;
}

int ac_esc_apply(const struct ac_esc_config *c, PGconn *conn, const char *type, int64_t now,
                 struct ac_esc_win *out, long *raised)
{
    char traces[64];
    const char *p[2] = {type, traces};
    struct ac_esc_state st;
    struct ac_esc_raise raises[AC_ESC_TIERS_MAX];
    PGresult *res = NULL;
    size_t n;
    bool changed;

    memset(out, 0, sizeof(*out));
    *raised = 0;
    eng_inc_traces(c, type, traces, sizeof(traces));
    if (!ac_pg_begin(conn, "escalation")) {
        return AC_EDB;
    }
    res = ac_pg_query(conn, "escalation", SQL_ENG_LOCK, 1, p);
    PQclear(res);
    if (!res || !(res = ac_pg_query(conn, "escalation", SQL_ENG_OPEN, 2, p))) {
        goto rollback;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        return ac_pg_commit(conn, "escalation") ? AC_OK : AC_EDB;
    }
    ac_esc_win_from_pg(res, 0, out);
    PQclear(res);
    n = eng_decide(c, out, now, &st, raises);
    changed = n > 0 || memcmp(st.holding_since, out->holding, sizeof(st.holding_since)) != 0;
    if (changed && !eng_save(conn, out, &st, raises, n, raised)) {
        goto rollback;
    }
    if (ac_pg_commit(conn, "escalation")) {
        return AC_OK;
    }
    *raised = 0;
    return AC_EDB;

rollback:
    *raised = 0;
    ac_pg_rollback(conn);
    return AC_EDB;
}

int ac_esc_load(PGconn *conn, bool closed, const char *type, long limit, struct ac_esc_win **out,
                size_t *n)
{
    char lim[24];
    const char *p[2] = {type, lim};
    PGresult *res;

    *out = NULL;
    *n = 0;
    (void)snprintf(lim, sizeof(lim), "%ld", limit);
    res = ac_pg_query(conn, "escalation", closed ? SQL_ENG_LOAD_CLOSED : SQL_ENG_LOAD_OPEN, 2, p);
    if (!res) {
        return AC_EDB;
    }
    *out = ac_xcalloc((size_t)PQntuples(res) + 1, sizeof(**out));
    for (int i = 0; i < PQntuples(res); i++) {
        ac_esc_win_from_pg(res, i, &(*out)[(*n)++]);
    }
    PQclear(res);
    return AC_OK;
}

/* --- the API form ------------------------------------------------------------ */

static json_t *eng_time(int64_t us)
{
    char ts[AC_TIME_STRLEN];

    if (!us) {
        return json_null();
    }
    ac_time_format(us, ts);
    return json_string(ts);
}

static json_t *eng_condition(const struct ac_esc_tier *t)
{
    char s[160];
    int n = 0;

    if (t->apps) {
        n = snprintf(s, sizeof(s), "apps ≥ %ld", t->apps);
    }
    if (t->gc_users && n >= 0 && (size_t)n < sizeof(s)) {
        n += snprintf(s + n, sizeof(s) - (size_t)n, "%sgc_users ≥ %ld", n ? " or " : "",
                      t->gc_users);
    }
    if (t->increment_pct && n >= 0 && (size_t)n < sizeof(s)) {
        (void)snprintf(s + n, sizeof(s) - (size_t)n, ", increment ≥ +%ld%%", t->increment_pct);
    }
    return json_string(s);
}

json_t *ac_esc_win_to_json(const struct ac_esc_config *c, const struct ac_esc_win *w, int64_t now)
{
    const struct ac_esc_policy *p = ac_esc_win_policy(c, w);
    json_t *pending = json_array(), *j;
    char id[24], step[32];
    struct ac_esc_state st = {w->level, {0}};

    memcpy(st.holding_since, w->holding, sizeof(st.holding_since));
    for (size_t i = 0; i < p->n && !w->closed; i++) {
        const struct ac_esc_tier *t = &p->tiers[i];
        int64_t left = ac_esc_tier_due(p, i, &st, now);
        if (left < 0) {
            continue;
        }
        (void)snprintf(step, sizeof(step), "%s→%s", ac_level_name(t->from), ac_level_name(t->to));
        json_array_append_new(
            pending, json_pack("{s:s, s:s, s:o, s:o, s:I, s:f}", "tier", step, "to",
                               ac_level_name(t->to), "condition", eng_condition(t), "holding_since",
                               eng_time(w->holding[i]), "hold_s", (json_int_t)(t->hold / 1000000),
                               "remaining_s", (double)(left / 1000) / 1000.0));
    }
    (void)snprintf(id, sizeof(id), "%lld", (long long)w->id);
    j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:o, s:o}", "id", id, "type", w->type,
                  "trace", ac_trace_name(w->trace), "policy", eng_policy_name(c, w), "level",
                  ac_level_name(w->level), "apps", (json_int_t)w->fig.apps, "gc_users",
                  (json_int_t)w->fig.gc_users, "events", (json_int_t)w->fig.events, "since",
                  eng_time(w->opened_at), "pending", pending);
    json_object_set_new(j, "increment_pct",
                        w->fig.has_increment ? json_integer(w->fig.increment_pct) : json_null());
    json_object_set_new(j, "previous_events",
                        w->fig.has_increment && w->prev_events >= 0 ? json_integer(w->prev_events)
                                                                    : json_null());
    if (w->closed) {
        json_object_set_new(j, "closed_at", eng_time(w->closed_at));
    }
    return j;
}

/* --- the Redis mirror --------------------------------------------------------- */

/*
 * KEYS: the window's hash, the set of open types. ARGV: type, id, rev,
 * closed, then field/value pairs. A newer window (higher id) replaces the
 * hash; the same window is updated unless the stored rev is higher or it was
 * seen closed.
 */
static const char eng_mirror_lua[] =
    "local cur = redis.call('HMGET', KEYS[1], 'id', 'rev', 'closed')\n"
    "local id, rev = tonumber(ARGV[2]), tonumber(ARGV[3])\n"
    "local cid, crev = tonumber(cur[1] or '0'), tonumber(cur[2] or '0')\n"
    "if id < cid or (id == cid and (rev < crev or cur[3] == '1')) then return 0 end\n"
    "if id > cid then redis.call('DEL', KEYS[1]) end\n"
    "redis.call('HSET', KEYS[1], 'id', ARGV[2], 'rev', ARGV[3], 'closed', ARGV[4],"
    " unpack(ARGV, 5))\n"
    "if ARGV[4] == '1' then\n"
    "  redis.call('SREM', KEYS[2], ARGV[1]); redis.call('EXPIRE', KEYS[1], 86400)\n"
    "else\n"
    "  redis.call('SADD', KEYS[2], ARGV[1]); redis.call('PERSIST', KEYS[1])\n"
    "end\n"
    "return 1\n";

static char eng_mirror_sha[41];
static pthread_once_t eng_mirror_once = PTHREAD_ONCE_INIT;

static void eng_mirror_hash(void)
{
    ac_redis_script_sha(eng_mirror_lua, eng_mirror_sha);
}

int ac_esc_mirror_prepare(redisContext *rc)
{
    pthread_once(&eng_mirror_once, eng_mirror_hash);
    if (ac_redis_script_load(rc, eng_mirror_lua, eng_mirror_sha) != AC_OK) {
        ac_log(AC_LOG_WARN, "escalation", "redis: cannot load the mirror script");
        return AC_EKV;
    }
    return AC_OK;
}

#define ENG_ARGS_MAX 40 /* of a mirror command */

void ac_esc_mirror_append(redisContext *rc, const char *prefix, const struct ac_esc_win *w)
{
    struct ac_redis_argv a;
    char *key = ac_xasprintf("%sesc:win:%s", prefix, w->type);
    char *set = ac_xasprintf("%sesc:open", prefix);
    char holding[3 * 24];

    (void)snprintf(holding, sizeof(holding), "%lld,%lld,%lld", (long long)w->holding[0],
                   (long long)w->holding[1], (long long)w->holding[2]);
    ac_redis_argv_init(&a, ENG_ARGS_MAX);
    ac_redis_argv_str(&a, "EVALSHA");
    ac_redis_argv_str(&a, eng_mirror_sha);
    ac_redis_argv_str(&a, "2");
    ac_redis_argv_str(&a, key);
    ac_redis_argv_str(&a, set);
    ac_redis_argv_str(&a, w->type);
    ac_redis_argv_num(&a, w->id);
    ac_redis_argv_num(&a, w->rev);
    ac_redis_argv_str(&a, w->closed ? "1" : "0");
    ac_redis_argv_str(&a, "trace");
    ac_redis_argv_str(&a, ac_trace_name(w->trace));
    ac_redis_argv_str(&a, "level");
    ac_redis_argv_str(&a, ac_level_name(w->level));
    ac_redis_argv_str(&a, "apps");
    ac_redis_argv_num(&a, w->fig.apps);
    ac_redis_argv_str(&a, "gc_users");
    ac_redis_argv_num(&a, w->fig.gc_users);
    ac_redis_argv_str(&a, "events");
    ac_redis_argv_num(&a, w->fig.events);
    ac_redis_argv_str(&a, "opened_at");
    ac_redis_argv_num(&a, w->opened_at);
    ac_redis_argv_str(&a, "holding");
    ac_redis_argv_str(&a, holding);
    if (w->fig.has_increment) {
        ac_redis_argv_str(&a, "increment_pct");
        ac_redis_argv_num(&a, w->fig.increment_pct);
        ac_redis_argv_str(&a, "previous_events");
        ac_redis_argv_num(&a, w->prev_events);
    }
    ac_redis_argv_append(rc, &a);
    ac_redis_argv_deinit(&a);
    free(key);
    free(set);
}

static bool eng_reply(redisContext *rc, int want_type, redisReply **keep)
{
    redisReply *r = NULL;
    bool ok =
        redisGetReply(rc, (void **)&r) == REDIS_OK && r && (want_type < 0 || r->type == want_type);

    if (r && r->type == REDIS_REPLY_ERROR) {
        ac_log(AC_LOG_WARN, "escalation", "redis: %s", r->str);
        ok = false;
    }
    if (ok && keep) {
        *keep = r;
    }
    else {
        freeReplyObject(r);
    }
    return ok;
}

int ac_esc_mirror_sync(redisContext *rc, const char *prefix, const struct ac_esc_win *w, size_t n,
                       long ttl_ms)
{
    redisReply *members = NULL;
    size_t stale = 0;
    bool ok = true;

    /* A sentinel first: a FLUSHALL while the windows are written takes it
     * too, and then the mirror is not marked synced (readers would see it
     * complete with windows missing); a flush before it leaves everything
     * after it whole. */
    (void)redisAppendCommand(rc, "SET %sesc:syncing 1 PX %ld", prefix, ttl_ms);
    for (size_t i = 0; i < n; i++) {
        ac_esc_mirror_append(rc, prefix, &w[i]);
    }
    (void)redisAppendCommand(rc, "SMEMBERS %sesc:open", prefix);
    ok = eng_reply(rc, -1, NULL);
    for (size_t i = 0; i < n; i++) {
        ok = eng_reply(rc, REDIS_REPLY_INTEGER, NULL) && ok;
    }
    if (!eng_reply(rc, REDIS_REPLY_ARRAY, &members) || !ok) {
        freeReplyObject(members);
        return AC_EKV;
    }
    /* Types the mirror has open that PostgreSQL does not: closed through the
     * API or the sweeper (or a window opened after our read, which the next
     * sync puts back). */
    for (size_t i = 0; i < members->elements; i++) {
        const char *t = members->element[i]->str;
        bool open = false;
        for (size_t k = 0; k < n && !open; k++) {
            open = strcmp(w[k].type, t) == 0;
        }
        if (!open) {
            (void)redisAppendCommand(rc, "SREM %sesc:open %s", prefix, t);
            (void)redisAppendCommand(rc, "DEL %sesc:win:%s", prefix, t);
            stale += 2;
        }
    }
    freeReplyObject(members);
    (void)redisAppendCommand(rc, "EVAL %s 2 %sesc:syncing %sesc:synced %ld",
                             "if redis.call('EXISTS', KEYS[1]) == 1 then"
                             " redis.call('SET', KEYS[2], '1', 'PX', ARGV[1]) return 1 end"
                             " return 0",
                             prefix, prefix, ttl_ms);
    for (size_t i = 0; i < stale + 1; i++) {
        ok = eng_reply(rc, -1, NULL) && ok;
    }
    return ok ? AC_OK : AC_EKV;
}

static const char *eng_field(const redisReply *h, const char *name)
{
    for (size_t i = 0; i + 1 < h->elements; i += 2) {
        if (strcmp(h->element[i]->str, name) == 0) {
            return h->element[i + 1]->str;
        }
    }
    return NULL;
}

static bool eng_from_hash(const redisReply *h, const char *type, struct ac_esc_win *w)
{
    const char *id = eng_field(h, "id"), *inc = eng_field(h, "increment_pct");
    const char *hold = eng_field(h, "holding"), *s;
    long long x[3] = {0, 0, 0};

    memset(w, 0, sizeof(*w));
    if (!id || !hold || (s = eng_field(h, "closed")) == NULL || s[0] == '1') {
        return false;
    }
    w->id = strtoll(id, NULL, 10);
    (void)snprintf(w->type, sizeof(w->type), "%s", type);
    if (!(s = eng_field(h, "trace")) || !ac_trace_parse(s, &w->trace) ||
        !(s = eng_field(h, "level")) || !ac_level_parse(s, &w->level)) {
        return false;
    }
    w->fig.apps = strtol((s = eng_field(h, "apps")) ? s : "0", NULL, 10);
    w->fig.gc_users = strtol((s = eng_field(h, "gc_users")) ? s : "0", NULL, 10);
    w->fig.events = strtol((s = eng_field(h, "events")) ? s : "0", NULL, 10);
    w->opened_at = strtoll((s = eng_field(h, "opened_at")) ? s : "0", NULL, 10);
    w->rev = strtoll((s = eng_field(h, "rev")) ? s : "0", NULL, 10);
    (void)sscanf(hold, "%lld,%lld,%lld", &x[0], &x[1], &x[2]);
    for (int i = 0; i < 3; i++) {
        w->holding[i] = x[i];
    }
    if (inc) {
        w->fig.has_increment = true;
        w->fig.increment_pct = strtol(inc, NULL, 10);
        w->prev_events = strtoll((s = eng_field(h, "previous_events")) ? s : "-1", NULL, 10);
    }
    return true;
}

static int eng_cmp_type(const void *a, const void *b)
{
    return strcmp(((const struct ac_esc_win *)a)->type, ((const struct ac_esc_win *)b)->type);
}

int ac_esc_mirror_read(redisContext *rc, const char *prefix, const char *type,
                       struct ac_esc_win **out, size_t *n)
{
    redisReply *marker = NULL, *types = NULL;
    size_t ntypes;
    bool ok;

    *out = NULL;
    *n = 0;
    (void)redisAppendCommand(rc, "GET %sesc:synced", prefix);
    if (!type) {
        (void)redisAppendCommand(rc, "SMEMBERS %sesc:open", prefix);
    }
    ok = eng_reply(rc, -1, &marker) && (type || eng_reply(rc, REDIS_REPLY_ARRAY, &types));
    if (!ok) {
        freeReplyObject(marker);
        return AC_EKV;
    }
    if (marker->type != REDIS_REPLY_STRING) {
        freeReplyObject(marker);
        freeReplyObject(types);
        return AC_ENOENT;
    }
    freeReplyObject(marker);
    ntypes = type ? 1 : types->elements;
    for (size_t i = 0; i < ntypes; i++) {
        (void)redisAppendCommand(rc, "HGETALL %sesc:win:%s", prefix,
                                 type ? type : types->element[i]->str);
    }
    *out = ac_xcalloc(ntypes + 1, sizeof(**out));
    for (size_t i = 0; i < ntypes; i++) {
        redisReply *h = NULL;
        if (!eng_reply(rc, REDIS_REPLY_ARRAY, &h)) {
            ok = false;
            continue;
        }
        if (eng_from_hash(h, type ? type : types->element[i]->str, &(*out)[*n])) {
            (*n)++;
        }
        freeReplyObject(h);
    }
    freeReplyObject(types);
    if (!ok) {
        free(*out);
        *out = NULL;
        *n = 0;
        return AC_EKV;
    }
    qsort(*out, *n, sizeof(**out), eng_cmp_type);
    return AC_OK;
}
