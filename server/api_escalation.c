/* SPDX-License-Identifier: Apache-2.0 */
/* GET /v1/escalation/policies and /v1/escalation/windows. */
#include <stdlib.h>
#include <string.h>

#include "escalation/engine.h"
#include "schema/timefmt.h"
#include "server/api.h"
#include "server/apikit.h"
#include "server/core/mem.h"
#include "server/escalator.h"
#include "server/http.h"
#include "server/server.h"

#define ESC_API_DEFAULT_LIMIT 100

void ac_api_escalation_policies(struct ac_http_req *r)
{
    ac_http_reply_json(r, 200, ac_esc_config_to_json(&r->srv->escalation));
}

/* Closed windows (the records), newest first. */
static void esc_api_closed(struct ac_http_req *r, const char *type, long limit)
{
    PGconn *c = ac_api_db(r);
    struct ac_esc_win *wins = NULL;
    size_t n = 0;
    int64_t now = ac_time_now_us();
    json_t *arr;
    int rc = c ? ac_esc_load(c, true, type, limit, &wins, &n) : AC_EDB;

    ac_api_db_release(r, c);
    if (rc != AC_OK) {
        if (c) {
            ac_api_unavailable(r, NULL, "closed windows");
        }
        return;
    }
    arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(arr, ac_esc_win_to_json(&r->srv->escalation, &wins[i], now));
    }
    free(wins);
    ac_http_reply_json(r, 200, json_pack("{s:o}", "windows", arr));
}

void ac_api_escalation_windows(struct ac_http_req *r)
{
    static const char *const allowed[] = {"type", "status", "limit", NULL};
    const char *unknown = ac_http_unknown_arg(r, allowed);
    const char *type = ac_http_arg(r, "type"), *status = ac_http_arg(r, "status");
    const char *source = NULL;
    long limit;
    json_t *arr;

    if (unknown) {
        ac_api_bad_query(r, unknown, "is not a parameter of this list");
        return;
    }
    if (type && (!*type || strlen(type) > AC_EVENT_TYPE_MAX * 4)) {
        ac_api_bad_query(r, "type", "must be an alert type");
        return;
    }
    if (status && strcmp(status, "open") != 0 && strcmp(status, "closed") != 0) {
        ac_api_bad_query(r, "status", "must be open or closed");
        return;
    }
    if (!ac_api_limit(r, ESC_API_DEFAULT_LIMIT, &limit)) {
        return;
    }
    if (status && strcmp(status, "closed") == 0) {
        esc_api_closed(r, type, limit);
        return;
    }
    arr = ac_escalator_open_windows(r->srv->escalator, r->srv->pool, type, &source);
    if (!arr) {
        ac_http_reply_error(r, 503, "unavailable", "the database is unavailable; retry", NULL);
        return;
    }
    ac_http_reply_json(r, 200, json_pack("{s:o, s:s}", "windows", arr, "source", source));
}
