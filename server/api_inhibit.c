/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /v1/inhibit_rules: inhibition rules (escalation/inhibit.h) through the API
 * (GET read; POST/PUT/DELETE admin), a resource of the API toolkit
 * (apikit.h). A rule is validated and its matchers compiled before it is
 * stored (400 naming the problem); every change is an audit-log entry in the
 * same statement; the notifier reads the rules at each planning round, so
 * a change applies at the next one on every instance.
 */
#include <stdlib.h>
#include <string.h>

#include "escalation/inhibit.h"
#include "server/api.h"
#include "server/apikit.h"
#include "server/core/mem.h"

#define IR_JSON "ac_inhibit_rule_json(w)"
#define SQL_IR_GET                                                                                 \
    "SELECT ac_inhibit_rule_json(w)::text FROM inhibit_rules w WHERE w.id = $1::bigint"
#define SQL_IR_INSERT                                                                              \
    "WITH w AS (INSERT INTO inhibit_rules (name, source_matchers, target_matchers, equal,"         \
    " comment, created_by) VALUES ($1, $2::jsonb, $3::jsonb, ARRAY(SELECT"                         \
    " jsonb_array_elements_text($4::jsonb)), $5, $6) RETURNING *),"                                \
    " a AS (INSERT INTO audit_log (actor, action, target_type, target_id, details)"                \
    " SELECT $6, 'inhibit_rule.create', 'inhibit_rule', w.id::text, " IR_JSON " FROM w)"           \
    " SELECT " IR_JSON "::text FROM w"
#define SQL_IR_UPDATE                                                                              \
    "WITH w AS (UPDATE inhibit_rules SET name = $1, source_matchers = $2::jsonb,"                  \
    " target_matchers = $3::jsonb, equal = ARRAY(SELECT jsonb_array_elements_text($4::jsonb)),"    \
    " comment = $5, updated_at = now() WHERE id = $7::bigint RETURNING *),"                        \
    " a AS (INSERT INTO audit_log (actor, action, target_type, target_id, details, before)"        \
    " SELECT $6, 'inhibit_rule.update', 'inhibit_rule', w.id::text, " IR_JSON ", (SELECT"          \
    " ac_inhibit_rule_json(o) FROM inhibit_rules o WHERE o.id = $7::bigint) FROM w)"               \
    " SELECT " IR_JSON "::text FROM w"
#define SQL_IR_DELETE                                                                              \
    "WITH w AS (DELETE FROM inhibit_rules WHERE id = $1::bigint RETURNING *),"                     \
    " a AS (INSERT INTO audit_log (actor, action, target_type, target_id, details)"                \
    " SELECT $2, 'inhibit_rule.delete', 'inhibit_rule', w.id::text, " IR_JSON " FROM w)"           \
    " SELECT " IR_JSON "::text FROM w"

/* Validates the body into p[0..5): name, source_matchers, target_matchers,
 * equal, comment. */
static bool ir_parse(struct ac_http_req *r, const struct ac_api_resource *res, const json_t *body,
                     struct ac_api_write *w)
{
    json_t *errs = json_array();
    const json_t *eq = json_object_get(body, "equal");

    (void)res;
    if (ac_inhibit_validate(body, errs) != AC_OK) {
        ac_http_reply_error(r, 400, "invalid_inhibit_rule", "the inhibition rule is not valid",
                            errs);
        return false;
    }
    json_decref(errs);
    w->p[0] = json_string_value(json_object_get(body, "name"));
    w->p[1] =
        ac_arena_own(&w->ar, json_dumps(json_object_get(body, "source_matchers"), JSON_COMPACT));
    w->p[2] =
        ac_arena_own(&w->ar, json_dumps(json_object_get(body, "target_matchers"), JSON_COMPACT));
    w->p[3] = eq && !json_is_null(eq) ? ac_arena_own(&w->ar, json_dumps(eq, JSON_COMPACT)) : "[]";
    w->p[4] = json_string_value(json_object_get(body, "comment"));
    w->n = 5;
    return true;
}

static const struct ac_api_resource ir_rules = {
    .name = "inhibition rule",
    .invalid = "invalid_inhibit_rule",
    .conflict = "an inhibition rule with this name exists",
    .key_is_id = true,
    .list = {"inhibit rules list", NULL,
             "SELECT ac_inhibit_rule_json(w)::text, w.id FROM inhibit_rules w"
             " WHERE ($1::bigint IS NULL OR w.id > $1) ORDER BY w.id LIMIT $2",
             AC_KEY_ID},
    .sql_get = SQL_IR_GET,
    .parse = ir_parse,
    .sql_create = SQL_IR_INSERT,
    .sql_update = SQL_IR_UPDATE,
    .sql_delete = SQL_IR_DELETE,
};

void ac_api_inhibit_rules(struct ac_http_req *r)
{
    ac_api_resource(r, &ir_rules);
}
