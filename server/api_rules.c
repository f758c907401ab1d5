/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /v1/rules: filter rules through the API (GET read; POST/PUT/DELETE admin).
 * A rule is validated and compiled before it is stored (400 naming the bad
 * matcher), every change is an audit-log entry in the same statement, and
 * this instance's filter reloads before the answer; the others within 250 ms.
 */
#include <stdlib.h>
#include <string.h>

#include "schema/timefmt.h"
#include "server/api.h"
#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/filter.h"
#include "server/rules.h"
#include "server/server.h"

#define SQL_RULES_LIST                                                                             \
    "SELECT coalesce(jsonb_agg(ac_rule_json(r) ORDER BY r.position, r.id), '[]')::text"            \
    " FROM filter_rules r"
#define SQL_RULE_GET "SELECT ac_rule_json(r)::text FROM filter_rules r WHERE r.id = $1::bigint"
#define SQL_RULE_INSERT                                                                            \
    "WITH w AS (INSERT INTO filter_rules (name, position, action, matchers, expires_at, comment,"  \
    " created_by) VALUES ($1, coalesce($2::int, (SELECT coalesce(max(position), 0) + 10 FROM"      \
    " filter_rules)), $3, $4::jsonb, $5::timestamptz, $6, $7) RETURNING *),"                       \
    " a AS (INSERT INTO audit_log (actor, action, target_type, target_id, details)"                \
    " SELECT $7, 'rule.create', 'rule', w.id::text, ac_rule_json(w) FROM w)"                       \
    " SELECT ac_rule_json(w)::text FROM w"
#define SQL_RULE_UPDATE                                                                            \
    "WITH w AS (UPDATE filter_rules SET name = $1, position = coalesce($2::int, position),"        \
    " action = $3, matchers = $4::jsonb, expires_at = $5::timestamptz, comment = $6,"              \
    " updated_at = now() WHERE id = $8::bigint RETURNING *),"                                      \
    " a AS (INSERT INTO audit_log (actor, action, target_type, target_id, details)"                \
    " SELECT $7, 'rule.update', 'rule', w.id::text, ac_rule_json(w) FROM w)"                       \
    " SELECT ac_rule_json(w)::text FROM w"
#define SQL_RULE_DELETE                                                                            \
    "WITH w AS (DELETE FROM filter_rules WHERE id = $1::bigint RETURNING *),"                      \
    " a AS (INSERT INTO audit_log (actor, action, target_type, target_id, details)"                \
    " SELECT $2, 'rule.delete', 'rule', w.id::text, ac_rule_json(w) FROM w)"                       \
    " SELECT ac_rule_json(w)::text FROM w"

/* Runs one statement on a pool connection and answers with its single text
 * value (wrapped if wrap_items), 404 when it has no row, 409 on a name
 * conflict. */
static void rl_run(struct ac_http_req *r, const char *sql, int n, const char *const *p,
                   unsigned ok_status, bool wrap_items)
{
    PGconn *c = ac_pg_pool_acquire(r->srv->pool, 5000);
    PGresult *res;
    struct ac_buf b = {0};
    size_t len;

    if (!c) {
        ac_http_reply_error(r, 503, "unavailable", "the database is unavailable; retry", NULL);
        return;
    }
    res = PQexecParams(c, sql, n, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        if (strcmp(ac_pg_sqlstate(res), "23505") == 0) {
            ac_http_reply_error(r, 409, "conflict", "a rule with this name exists", NULL);
        }
        else {
            ac_log(AC_LOG_ERROR, "api", "rules statement failed: %s", PQerrorMessage(c));
            ac_http_reply_error(r, 503, "unavailable", "the database is unavailable; retry", NULL);
        }
    }
    else if (PQntuples(res) == 0) {
        ac_http_reply_error(r, 404, "not_found", "no such rule", NULL);
    }
    else {
        if (wrap_items) {
            ac_buf_appends(&b, "{\"items\":");
        }
        ac_buf_append(&b, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
        ac_buf_appends(&b, wrap_items ? ",\"next_cursor\":null}\n" : "\n");
        len = b.len;
        ac_http_reply_text(r, ok_status, ac_buf_steal(&b), len, "application/json");
        if (ok_status != 200 || strcmp(r->method, "GET") != 0) {
            ac_filter_poke(r->srv->filter);
        }
    }
    PQclear(res);
    ac_pg_pool_release(r->srv->pool, c);
}

void ac_api_rules_list(struct ac_http_req *r)
{
    rl_run(r, SQL_RULES_LIST, 0, NULL, 200, true);
}

void ac_api_rule_get(struct ac_http_req *r)
{
    const char *p[1] = {r->path_arg};

    if (!ac_api_is_id(r->path_arg)) {
        ac_http_reply_error(r, 404, "not_found", "no such rule", NULL);
        return;
    }
    rl_run(r, SQL_RULE_GET, 1, p, 200, false);
}

/* Validates the body; on success fills p[0..6] (strings owned by *hold). */
static bool rl_body(struct ac_http_req *r, const char **p, json_t **hold, char **strs)
{
    json_error_t jerr;
    json_t *body = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *errs = json_array();
    struct ac_rule rule;

    if (!body) {
        ac_event_error(errs, -1, "$", "invalid JSON: %s", jerr.text);
        ac_http_reply_error(r, 400, "invalid_rule", "the rule is not valid", errs);
        return false;
    }
    if (ac_rule_from_json(&rule, body, errs) != AC_OK) {
        ac_http_reply_error(r, 400, "invalid_rule", "the rule is not valid", errs);
        json_decref(body);
        return false;
    }
    json_decref(errs);
    strs[0] = rule.has_position ? ac_xasprintf("%ld", rule.position) : NULL;
    strs[1] = json_dumps(json_object_get(body, "matchers"), JSON_COMPACT);
    strs[2] = r->principal ? ac_xasprintf("token:%s", r->principal) : ac_xstrdup("token:?");
    p[0] = json_string_value(json_object_get(body, "name"));
    p[1] = strs[0];
    p[2] = rule.allow ? "allow" : "drop";
    p[3] = strs[1];
    p[4] = json_string_value(json_object_get(body, "expires_at"));
    p[5] = json_string_value(json_object_get(body, "comment"));
    p[6] = strs[2];
    ac_rule_deinit(&rule);
    *hold = body;
    return true;
}

static void rl_write(struct ac_http_req *r, bool update)
{
    const char *p[8];
    char *strs[3] = {NULL, NULL, NULL};
    json_t *hold = NULL;

    if (update && !ac_api_is_id(r->path_arg)) {
        ac_http_reply_error(r, 404, "not_found", "no such rule", NULL);
        return;
    }
    if (!rl_body(r, p, &hold, strs)) {
        return;
    }
    p[7] = r->path_arg;
    rl_run(r, update ? SQL_RULE_UPDATE : SQL_RULE_INSERT, update ? 8 : 7, p, update ? 200 : 201,
           false);
    for (int i = 0; i < 3; i++) {
        free(strs[i]);
    }
    json_decref(hold);
}

void ac_api_rule_create(struct ac_http_req *r)
{
    rl_write(r, false);
}

void ac_api_rule_update(struct ac_http_req *r)
{
    rl_write(r, true);
}

void ac_api_rule_delete(struct ac_http_req *r)
{
    char *actor;
    const char *p[2];

    if (!ac_api_is_id(r->path_arg)) {
        ac_http_reply_error(r, 404, "not_found", "no such rule", NULL);
        return;
    }
    actor = ac_xasprintf("token:%s", r->principal ? r->principal : "?");
    p[0] = r->path_arg;
    p[1] = actor;
    rl_run(r, SQL_RULE_DELETE, 2, p, 200, false);
    free(actor);
}
