/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bearer tokens kept in PostgreSQL (api_tokens, migration 0025): made by
 * `alertcenter token create` or POST /v1/tokens, shown once, stored only as
 * their SHA-256; revoked by `alertcenter token revoke` or DELETE
 * /v1/tokens/{id}. Each instance loads the set into its auth table (auth.h)
 * and reloads it when its version moves (a poll every 250 ms: a revocation
 * is in force on every instance within a second); each poll also writes
 * back when the tokens were last used. Config and AC_* tokens are not here
 * and keep working as before.
 */
#ifndef AC_SERVER_TOKENS_H
#define AC_SERVER_TOKENS_H

#include <jansson.h>
#include <libpq-fe.h>

#include "server/auth.h"
#include "server/core/config.h"

struct ac_tokens;

/* Loads the set into auth once and starts the reloader (cfg and auth
 * borrowed). Returns new, or NULL (logged). */
struct ac_tokens *ac_tokens_start(const struct ac_config *cfg, struct ac_auth *auth);
/* After a change through this instance: in force here when it returns. */
void ac_tokens_poke(struct ac_tokens *t);
void ac_tokens_stop(struct ac_tokens *t);

/*
 * Makes a token from spec {name, scopes: [...], tenant?, expires_at? (RFC
 * 3339) | expires_in_s?, rate_per_s?, burst?} as actor. On success returns
 * its JSON with "token" (the secret, shown this once; new). Otherwise NULL
 * with *status 400 (problems appended to errors, [{path, message}]), 409
 * (the name is taken) or 503 (the database failed).
 */
json_t *ac_token_create(PGconn *c, const json_t *spec, const char *actor, json_t *errors,
                        unsigned *status);

/* `alertcenter token create|list|revoke ...`: argv after "token". */
int ac_cmd_token(int argc, char **argv);

#endif
