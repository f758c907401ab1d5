/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /v1/rules: filter rules through the API (GET read; POST/PUT/DELETE admin),
 * a resource of the API toolkit (apikit.h).
 * A rule is validated and compiled before it is stored (400 naming the bad
 * matcher), every change is an audit-log entry in the same statement, and
 * this instance's filter reloads before the answer; the others within 250 ms.
 */
#include <stdlib.h>
#include <string.h>

#include "schema/timefmt.h"
#include "server/api.h"
#include "server/apikit.h"
#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/filter.h"
#include "server/rules.h"
#include "server/server.h"

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
    " a AS (INSERT INTO audit_log (actor, action, target_type, target_id, details, before)"        \
    " SELECT $7, 'rule.update', 'rule', w.id::text, ac_rule_json(w), (SELECT ac_rule_json(o)"      \
    " FROM filter_rules o WHERE o.id = $8::bigint) FROM w)"                                        \
    " SELECT ac_rule_json(w)::text FROM w"
#define SQL_RULE_DELETE                                                                            \
    "WITH w AS (DELETE FROM filter_rules WHERE id = $1::bigint RETURNING *),"                      \
    " a AS (INSERT INTO audit_log (actor, action, target_type, target_id, details)"                \
    " SELECT $2, 'rule.delete', 'rule', w.id::text, ac_rule_json(w) FROM w)"                       \
    " SELECT ac_rule_json(w)::text FROM w"

/* Validates the body into p[0..6): name, position, action, matchers,
 * expires_at, comment. */
static bool rl_parse(struct ac_http_req *r, const struct ac_api_resource *res, const json_t *body,
                     struct ac_api_write *w)
{
    json_t *errs = json_array();
    struct ac_rule rule;

    (void)res;
    if (ac_rule_from_json(&rule, body, errs) != AC_OK) {
        ac_http_reply_error(r, 400, "invalid_rule", "the rule is not valid", errs);
        return false;
    }
    json_decref(errs);
    w->p[0] = json_string_value(json_object_get(body, "name"));
    w->p[1] = rule.has_position ? ac_arena_own(&w->ar, ac_xasprintf("%ld", rule.position)) : NULL;
    w->p[2] = rule.allow ? "allow" : "drop";
    w->p[3] = ac_arena_own(&w->ar, json_dumps(json_object_get(body, "matchers"), JSON_COMPACT));
    w->p[4] = json_string_value(json_object_get(body, "expires_at"));
    w->p[5] = json_string_value(json_object_get(body, "comment"));
    w->n = 6;
    ac_rule_deinit(&rule);
    return true;
}

static void rl_changed(struct ac_http_req *r)
{
    ac_filter_poke(r->srv->filter);
}

/* Rules are listed in the order they apply: by position, then id. */
static const struct ac_api_resource rl_rules = {
    .name = "rule",
    .invalid = "invalid_rule",
    .conflict = "a rule with this name exists",
    .key_is_id = true,
    .list = {"rules list", NULL,
             "SELECT ac_rule_json(r)::text, r.position || ',' || r.id FROM filter_rules r"
             " WHERE ($1::text IS NULL OR (r.position, r.id) > (split_part($1, ',', 1)::bigint,"
             " split_part($1, ',', 2)::bigint)) ORDER BY r.position, r.id LIMIT $2",
             AC_KEY_PAIR},
    .sql_get = SQL_RULE_GET,
    .parse = rl_parse,
    .sql_create = SQL_RULE_INSERT,
    .sql_update = SQL_RULE_UPDATE,
    .sql_delete = SQL_RULE_DELETE,
    .changed = rl_changed,
};

void ac_api_rules(struct ac_http_req *r)
{
    ac_api_resource(r, &rl_rules);
}
