/* SPDX-License-Identifier: Apache-2.0 */
/* /v1/tokens (scope admin): database tokens (server/tokens.h). */
#include <stdlib.h>
#include <string.h>

#include "server/api.h"
#include "server/apikit.h"
#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/server.h"
#include "server/tokens.h"

#define SQL_TK_GET "SELECT ac_token_json(t)::text FROM api_tokens t WHERE t.id = $1::bigint"
#define SQL_TK_REVOKE_ID                                                                           \
    "SELECT ac_token_revoke($1, $2)::text WHERE EXISTS (SELECT 1 FROM api_tokens WHERE id ="       \
    " $1::bigint)"

static const struct ac_api_resource tk_res = {
    .name = "token",
    .invalid = "invalid_token",
    .conflict = "a token with this name exists",
    .key_is_id = true,
    .list = {"tokens list", NULL,
             "SELECT ac_token_json(t)::text, t.id FROM api_tokens t"
             " WHERE ($1::bigint IS NULL OR t.id > $1) ORDER BY t.id LIMIT $2",
             AC_KEY_ID},
    .sql_get = SQL_TK_GET,
};

/* POST: the secret is in this answer and nowhere else. */
static void tk_create(struct ac_http_req *r)
{
    json_t *body = ac_api_body_object(r, "invalid_token", "the token is not valid");
    json_t *errors, *out;
    PGconn *c;
    unsigned status;
    char *actor;

    if (!body || !(c = ac_api_db(r))) {
        json_decref(body);
        return;
    }
    errors = json_array();
    actor = ac_api_actor(r);
    out = ac_token_create(c, body, actor, errors, &status);
    ac_api_db_release(r, c);
    if (out) {
        ac_tokens_poke(r->srv->tokens); /* usable on this instance when we answer */
        ac_http_reply_json(r, 201, out);
        ac_http_add_header(r, "Cache-Control", "no-store");
    }
    else if (status == 400) {
        ac_http_reply_error(r, 400, "invalid_token", "the token is not valid; nothing was stored",
                            json_incref(errors));
    }
    else if (status == 409) {
        ac_http_reply_error(r, 409, "conflict", "a token with this name exists", NULL);
    }
    else {
        ac_api_unavailable(r, NULL, "token create");
    }
    free(actor);
    json_decref(errors);
    json_decref(body);
}

/* DELETE: revokes (the row stays, for the audit trail). */
static void tk_revoke(struct ac_http_req *r)
{
    const char *p[2];
    PGresult *res;
    PGconn *c;
    char *actor;

    if (!ac_api_is_id(r->path_arg)) {
        ac_api_not_found(r, "token");
        return;
    }
    if (!(c = ac_api_db(r))) {
        return;
    }
    actor = ac_api_actor(r);
    p[0] = r->path_arg;
    p[1] = actor;
    res = ac_pg_query(c, "api", SQL_TK_REVOKE_ID, 2, p);
    if (!res) {
        ac_api_unavailable(r, c, "token revoke");
    }
    else if (PQntuples(res) == 0) {
        ac_api_not_found(r, "token");
    }
    else {
        ac_tokens_poke(r->srv->tokens); /* refused on this instance when we answer */
        ac_api_reply_row(r, res, 200);
    }
    PQclear(res);
    ac_api_db_release(r, c);
    free(actor);
}

void ac_api_tokens(struct ac_http_req *r)
{
    if (strcmp(r->method, "POST") == 0) {
        tk_create(r);
    }
    else if (strcmp(r->method, "DELETE") == 0) {
        tk_revoke(r);
    }
    else {
        ac_api_resource(r, &tk_res);
    }
}
