/* SPDX-License-Identifier: Apache-2.0 */
/* The retention worker; see retention.h. */
#include "server/retention.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/core/pg.h"
#include "server/core/worker.h"

#define RT "retention"
/* Alerts and incidents deleted per pass at most (a full batch: another pass at once). */
#define RT_BATCH     5000
#define RT_BATCH_STR "5000"

#define SQL_RT_RUN "SELECT ac_retention_run($1::int, $2::int, " RT_BATCH_STR ")::text"

struct ac_retention {
    const struct ac_config *cfg;
    struct ac_worker *worker; /* leads AC_LOCK_RETENTION */
};

static enum ac_worker_pass rt_pass(void *ctx, struct ac_worker *w, PGconn *c)
{
    struct ac_retention *rt = ctx;
    char ev[24], hist[24];
    const char *p[2] = {ev, hist};
    PGresult *res;
    json_t *out;
    bool more;

    (void)w;
    (void)snprintf(ev, sizeof(ev), "%ld", rt->cfg->retention_events_days);
    (void)snprintf(hist, sizeof(hist), "%ld", rt->cfg->retention_history_days);
    if (!(res = ac_pg_query(c, RT, SQL_RT_RUN, 2, p))) {
        return AC_WORKER_FAIL;
    }
    out = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    if (json_integer_value(json_object_get(out, "partitions_made")) > 0 ||
        json_array_size(json_object_get(out, "dropped")) > 0 ||
        json_integer_value(json_object_get(out, "alerts_deleted")) > 0 ||
        json_integer_value(json_object_get(out, "incidents_deleted")) > 0) {
        char *s = json_dumps(out, JSON_COMPACT);
        ac_log(AC_LOG_INFO, RT, "pass %s", s);
        free(s);
    }
    more = json_integer_value(json_object_get(out, "alerts_deleted")) >= RT_BATCH ||
           json_integer_value(json_object_get(out, "incidents_deleted")) >= RT_BATCH;
    json_decref(out);
    return more ? AC_WORKER_MORE : AC_WORKER_IDLE;
}

struct ac_retention *ac_retention_start(const struct ac_config *cfg)
{
    struct ac_retention *rt = ac_xcalloc(1, sizeof(*rt));
    struct ac_worker_def def = {.name = RT,
                                .dsn = cfg->pg_dsn,
                                .lead_key = AC_LOCK_RETENTION,
                                .duty = "keeps partitions ahead and expires old history",
                                .period_ms = cfg->retention_interval_s * 1000,
                                .backoff_max_ms = 60000,
                                .pass = rt_pass,
                                .ctx = rt};

    rt->cfg = cfg;
    if (!(rt->worker = ac_worker_start(&def))) {
        free(rt);
        return NULL;
    }
    return rt;
}

void ac_retention_stop(struct ac_retention *rt)
{
    if (!rt) {
        return;
    }
    ac_worker_stop(rt->worker);
    free(rt);
}
