/* SPDX-License-Identifier: Apache-2.0 */
/* The event center's notifications; see subs_notify.h. */
#include "server/subs_notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/timefmt.h"
#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/core/pg.h"
#include "server/core/worker.h"

#define SN       "subscriptions"
#define SN_BATCH "100"

#define SQL_SN_CLAIM                                                                               \
    "SELECT w.subscription_id, (extract(epoch FROM w.cycle_start) * 1000000)::bigint, w.events,"   \
    " s.tenant_id, s.name, s.cycle_s, s.threshold, array_to_json(s.channels)::text,"               \
    " array_to_json(s.categories)::text, (SELECT coalesce(json_agg(ac_oncall_json(c.id, c.name,"   \
    " c.doc, c.created_at, c.updated_at) ORDER BY c.id), '[]') FROM contacts c"                    \
    " WHERE c.id = ANY(s.contact_ids))::text, (SELECT t.name FROM tenants t"                       \
    " WHERE t.user_id = s.tenant_id)"                                                              \
    " FROM sub_windows w JOIN subscriptions s ON s.id = w.subscription_id"                         \
    " WHERE w.triggered_at IS NOT NULL AND w.notified_at IS NULL"                                  \
    " ORDER BY w.triggered_at LIMIT " SN_BATCH " FOR UPDATE OF w SKIP LOCKED"
#define SQL_SN_INTENT                                                                              \
    "INSERT INTO notify_intents (reason, level, details, planned_at) VALUES ('subscription',"      \
    " 'P3', $1::jsonb, clock_timestamp()) RETURNING id"
#define SQL_SN_INSERT                                                                              \
    "INSERT INTO notifications (intent_id, channel, kind, contact_id, level, reason, idem_key,"    \
    " context) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[],"           \
    " $5::text[], $6::text[], $7::text[], $8::jsonb[]) ON CONFLICT (idem_key) DO NOTHING"
#define SQL_SN_TOLD                                                                                \
    "UPDATE sub_windows SET notified_at = clock_timestamp() WHERE subscription_id = $1::bigint"    \
    " AND cycle_start = to_timestamp($2::bigint / 1000000)"

struct ac_subs_notify {
    const struct ac_notify_config *nc;
    struct ac_worker *worker;
};

/* The rows of one triggered window into the arrays a[0..8). */
static void sn_rows(const struct ac_notify_config *nc, PGresult *r, int i, const char *intent,
                    struct ac_buf **a, size_t *nrows)
{
    const char *sub = PQgetvalue(r, i, 0), *tenant = PQgetvalue(r, i, 3);
    int64_t start = strtoll(PQgetvalue(r, i, 1), NULL, 10);
    int64_t cycle_s = strtoll(PQgetvalue(r, i, 5), NULL, 10);
    json_t *chans = json_loads(PQgetvalue(r, i, 7), 0, NULL);
    json_t *contacts = json_loads(PQgetvalue(r, i, 9), 0, NULL), *ctx, *who;
    const struct ac_channel *use[AC_NOTIFY_CHANNELS_MAX];
    char from[AC_TIME_STRLEN], to[AC_TIME_STRLEN];
    size_t nuse = 0, k, c;
    char *title;

    if (json_array_size(chans) > 0) {
        json_t *v;
        json_array_foreach(chans, k, v)
        {
            const struct ac_channel *ch = ac_notify_channel(nc, json_string_value(v));
            if (ch && nuse < AC_NOTIFY_CHANNELS_MAX) {
                use[nuse++] = ch;
            }
        }
    }
    else {
        for (k = 0; k < nc->nlevel[AC_LEVEL_P3 - 1]; k++) {
            use[nuse++] = &nc->channels[nc->level_channels[AC_LEVEL_P3 - 1][k]];
        }
    }
    ac_time_format(start, from);
    ac_time_format(start + cycle_s * 1000000, to);
    title =
        ac_xasprintf("[event center] %s: %s", PQgetisnull(r, i, 10) ? tenant : PQgetvalue(r, i, 10),
                     PQgetvalue(r, i, 4));
    ctx = json_pack(
        "{s:s, s:s, s:s, s:{s:s, s:s?}, s:{s:s, s:s, s:o, s:I, s:I},"
        " s:{s:s, s:s, s:I}, s:O, s:{}}",
        "reason", "subscription", "level", "P3", "title", title, "tenant", "id", tenant, "name",
        PQgetisnull(r, i, 10) ? NULL : PQgetvalue(r, i, 10), "subscription", "id", sub, "name",
        PQgetvalue(r, i, 4), "categories", json_loads(PQgetvalue(r, i, 8), 0, NULL), "threshold",
        (json_int_t)strtoll(PQgetvalue(r, i, 6), NULL, 10), "cycle_s", (json_int_t)cycle_s, "cycle",
        "start", from, "end", to, "events", (json_int_t)strtoll(PQgetvalue(r, i, 2), NULL, 10),
        "recipients", contacts, "actions");
    AC_ASSERT(ctx != NULL);
    (void)json_object_set_new(ctx, "text",
                              json_sprintf("%s matching events from %s (threshold %s)",
                                           PQgetvalue(r, i, 2), from, PQgetvalue(r, i, 6)));
    for (k = 0; k < nuse; k++) {
        size_t n = use[k]->ops->per_contact ? json_array_size(contacts) : 1;
        for (c = 0; c < n; c++) {
            const char *cid = NULL;
            char *key, *doc;
            who = use[k]->ops->per_contact ? json_array_get(contacts, c) : NULL;
            if (who && !json_object_get(who, strcmp(use[k]->ops->kind, "email") == 0 ? "email"
                                                                                     : "phone")) {
                continue; /* a person channel needs the person's address */
            }
            cid = who ? json_string_value(json_object_get(who, "id")) : NULL;
            key = cid ? ac_xasprintf("s%s-%lld-%s-c%s", sub, (long long)start, use[k]->name, cid)
                      : ac_xasprintf("s%s-%lld-%s", sub, (long long)start, use[k]->name);
            (void)json_object_set_new(ctx, "notification", json_pack("{s:s}", "key", key));
            if (who) {
                (void)json_object_set(ctx, "contact", who);
            }
            else {
                (void)json_object_del(ctx, "contact");
            }
            doc = json_dumps(ctx, JSON_COMPACT);
            ac_pg_array_add(a[0], intent);
            ac_pg_array_add(a[1], use[k]->name);
            ac_pg_array_add(a[2], use[k]->ops->kind);
            ac_pg_array_add(a[3], cid);
            ac_pg_array_add(a[4], "P3");
            ac_pg_array_add(a[5], "subscription");
            ac_pg_array_add(a[6], key);
            ac_pg_array_add(a[7], doc);
            (*nrows)++;
            free(key);
            free(doc);
        }
    }
    free(title);
    json_decref(ctx);
    json_decref(chans);
    json_decref(contacts);
}

static enum ac_worker_pass sn_pass(void *arg, struct ac_worker *w, PGconn *c)
{
    struct ac_subs_notify *s = arg;
    PGresult *r;
    int n = 0;
    size_t nrows = 0;
    bool ok;

    (void)w;
    if (!ac_pg_begin(c, SN)) {
        return AC_WORKER_FAIL;
    }
    if (!(r = ac_pg_query(c, SN, SQL_SN_CLAIM, 0, NULL))) {
        (void)ac_pg_run(c, SN, "ROLLBACK", 0, NULL);
        return AC_WORKER_FAIL;
    }
    n = PQntuples(r);
    ok = true;
    for (int i = 0; i < n && ok; i++) {
        struct ac_buf arr[8] = {0}, *a[8];
        const char *p[8];
        char *details = ac_xasprintf("{\"subscription_id\":\"%s\",\"events\":%s}",
                                     PQgetvalue(r, i, 0), PQgetvalue(r, i, 2));
        PGresult *ir = ac_pg_query(c, SN, SQL_SN_INTENT, 1, (const char *const *)&details);
        size_t rows = 0;

        free(details);
        if (!(ok = ir != NULL)) {
            break;
        }
        for (int k = 0; k < 8; k++) {
            a[k] = &arr[k];
        }
        sn_rows(s->nc, r, i, PQgetvalue(ir, 0, 0), a, &rows);
        if (rows == 0) { /* told is told: but say that nobody could be */
            ac_log(AC_LOG_WARN, SN,
                   "subscription %s triggered, but none of its channels reaches anyone (a person"
                   " channel needs contacts with that address)",
                   PQgetvalue(r, i, 0));
        }
        for (int k = 0; k < 8; k++) {
            ac_pg_array_close(a[k]);
            p[k] = a[k]->data;
        }
        ok = (rows == 0 || ac_pg_run(c, SN, SQL_SN_INSERT, 8, p)) &&
             ac_pg_run(c, SN, SQL_SN_TOLD, 2,
                       (const char *const[]){PQgetvalue(r, i, 0), PQgetvalue(r, i, 1)});
        nrows += rows;
        PQclear(ir);
        for (int k = 0; k < 8; k++) {
            ac_buf_deinit(&arr[k]);
        }
    }
    PQclear(r);
    if (!ok || !ac_pg_commit(c, SN)) {
        (void)ac_pg_run(c, SN, "ROLLBACK", 0, NULL);
        return AC_WORKER_FAIL;
    }
    if (n > 0) {
        ac_log(AC_LOG_INFO, SN, "triggered windows=%d notifications=%zu", n, nrows);
    }
    return n >= atoi(SN_BATCH) ? AC_WORKER_MORE : AC_WORKER_IDLE;
}

struct ac_subs_notify *ac_subs_notify_start(const struct ac_config *cfg,
                                            const struct ac_notify_config *nc)
{
    struct ac_subs_notify *s = ac_xcalloc(1, sizeof(*s));
    struct ac_worker_def def = {.name = "subs-notify",
                                .dsn = cfg->pg_dsn,
                                .period_ms = nc->poll_ms > 0 ? nc->poll_ms : 500,
                                .pass = sn_pass,
                                .ctx = s};

    s->nc = nc;
    if (!(s->worker = ac_worker_start(&def))) {
        free(s);
        return NULL;
    }
    return s;
}

void ac_subs_notify_stop(struct ac_subs_notify *s)
{
    if (!s) {
        return;
    }
    ac_worker_stop(s->worker);
    free(s);
}
