/* SPDX-License-Identifier: Apache-2.0 */
/* The notifier's sending thread (see notify_sender.h). */
#include "server/notify_sender.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "schema/timefmt.h"
#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/core/metrics.h"
#include "server/core/pg.h"
#include "server/core/worker.h"
#include "server/outbox.h"

#define NS_RESPONSE_MAX (64 * 1024)

struct ac_notify_sender {
    const struct ac_notify_config *nc;
    const struct ac_sink *sink;
    struct ac_worker *worker;
    /* The thread's. */
    CURLM *multi;
    unsigned rand_state;
    /* Relaxed atomics, for metrics: per configured channel, and one for a
     * channel no longer configured ([nc->nchannels]). */
    struct ns_chan_stats {
        unsigned long long sent, retried, failed;
        struct ac_hist time; /* each attempt's request, answered or not */
    } * chan;
};

struct ns_send {
    char id[24];
    const struct ac_channel *ch;
    struct ac_http_out out;
    struct curl_slist *headers;
    CURL *easy;
    struct ac_http_answer resp;
    char retry_after[64];
    long status;
    int attempts;
    int rc;
    char why[256];
    int64_t time_us;
};

static size_t ns_header(char *p, size_t size, size_t nmemb, void *ud)
{
    struct ns_send *s = ud;
    size_t n = size * nmemb;

    if (n > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
        size_t l = n - 12;
        if (l >= sizeof(s->retry_after)) {
            l = sizeof(s->retry_after) - 1;
        }
        memcpy(s->retry_after, p + 12, l);
        s->retry_after[l] = '\0';
        s->retry_after[strcspn(s->retry_after, "\r\n")] = '\0';
    }
    return n;
}

/* A notification failed for good: a NotificationFailed alert (one per
 * channel while open), stored and notified like any other. */
static void ns_raise_failed(struct ac_notify_sender *n, const struct ns_send *s)
{
    struct ac_event_vec v = {0};
    struct ac_ingest_result res;
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "source", "alertcenter",
                            "type", "NotificationFailed", "level", "P2", "title",
                            "a notification could not be delivered", "message", s->why, "instance",
                            s->ch ? s->ch->name : "unknown", "labels", "notification", s->id,
                            "channel", s->ch ? s->ch->name : "unknown");
    json_t *errs = json_array();
    struct ac_event *ev = ac_event_vec_push(&v);

    if (!ac_event_from_json(doc, ev, -1, errs) ||
        n->sink->submit(n->sink->ctx, &v, &res) != AC_OK) {
        ac_log(AC_LOG_ERROR, "notify", "could not raise NotificationFailed for notification %s",
               s->id);
    }
    ac_event_vec_deinit(&v);
    json_decref(doc);
    json_decref(errs);
}

/* Records one outcome: a sent one joins the batch sent (written once, by
 * the caller), the others are written now. */
static void ns_record(struct ac_notify_sender *n, PGconn *c, struct ns_send *s, struct ac_buf *ids,
                      struct ac_buf *statuses)
{
    int64_t ms;
    struct ns_chan_stats *st =
        &n->chan[s->ch ? (size_t)(s->ch - n->nc->channels) : n->nc->nchannels];

    if (s->easy) {
        ac_hist_observe_us(&st->time, s->time_us);
    }
    if (s->rc == AC_OK) {
        ac_pg_array_add(ids, s->id);
        ac_pg_array_add_i64(statuses, s->status, false);
        __atomic_add_fetch(&st->sent, 1, __ATOMIC_RELAXED);
    }
    else if (s->rc == AC_EAGAIN && s->attempts < n->nc->max_attempts) {
        double rnd = (double)(rand_r(&n->rand_state) % 1000000) / 1000000.0;
        ms = ac_backoff_delay(&n->nc->backoff, s->attempts, rnd);
        if (ac_retry_after_ms(s->retry_after[0] ? s->retry_after : NULL, ac_time_now_us() / 1000000,
                              &ms) &&
            ms > n->nc->backoff.cap_ms) {
            ms = n->nc->backoff.cap_ms;
        }
        (void)ac_outbox_retry(c, s->id, s->status, (long long)ms, s->why);
        __atomic_add_fetch(&st->retried, 1, __ATOMIC_RELAXED);
    }
    else {
        bool ok = ac_outbox_failed(c, s->id, s->status, s->why);
        __atomic_add_fetch(&st->failed, 1, __ATOMIC_RELAXED);
        ac_log(AC_LOG_WARN, "notify", "notification %s on %s failed after %d attempt(s): %s", s->id,
               s->ch ? s->ch->name : "?", s->attempts, s->why);
        if (ok) {
            ns_raise_failed(n, s);
        }
    }
}

/* Claims the due notifications and sends them concurrently. Returns how many. */
static int ns_dispatch(struct ac_notify_sender *n, PGconn *c)
{
    long max_tmo = 1000;
    PGresult *r;
    struct ns_send *sends;
    struct ac_buf sent_ids = {0}, sent_st = {0};
    int count, running = 0;
    bool recorded;
    int64_t now_ms = ac_time_now_us() / 1000;

    for (size_t i = 0; i < n->nc->nchannels; i++) {
        if (n->nc->channels[i].timeout_ms > max_tmo) {
            max_tmo = n->nc->channels[i].timeout_ms;
        }
    }
    if (!(r = ac_outbox_claim_due(c, AC_NOTIFY_BATCH, 2 * max_tmo / 1000 + 30))) {
        return -1;
    }
    count = PQntuples(r);
    sends = ac_xcalloc((size_t)count + 1, sizeof(*sends));
    for (int i = 0; i < count; i++) {
        struct ns_send *s = &sends[i];
        json_t *ctx = json_loads(PQgetvalue(r, i, 2), 0, NULL);
        (void)snprintf(s->id, sizeof(s->id), "%s", PQgetvalue(r, i, 0));
        s->attempts = (int)strtol(PQgetvalue(r, i, 3), NULL, 10);
        s->ch = ac_notify_channel(n->nc, PQgetvalue(r, i, 1));
        if (!s->ch) {
            s->rc = AC_EINVAL;
            (void)snprintf(s->why, sizeof(s->why), "channel %s is no longer configured",
                           PQgetvalue(r, i, 1));
        }
        else if (!ctx || ac_channel_build(s->ch, ctx, now_ms, &s->out) != AC_OK) {
            s->rc = AC_EINVAL;
            (void)snprintf(s->why, sizeof(s->why), "nothing to send on %s", s->ch->name);
        }
        else {
            s->resp.max = NS_RESPONSE_MAX;
            s->easy = ac_channel_easy(s->ch, &s->out, &s->resp, &s->headers);
            (void)curl_easy_setopt(s->easy, CURLOPT_HEADERFUNCTION, ns_header);
            (void)curl_easy_setopt(s->easy, CURLOPT_HEADERDATA, s);
            (void)curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
            (void)curl_multi_add_handle(n->multi, s->easy);
        }
        json_decref(ctx);
    }
    PQclear(r);
    do { /* every transfer ends by its own timeout */
        CURLMsg *m;
        int left;
        if (curl_multi_perform(n->multi, &running) != CURLM_OK) {
            break;
        }
        while ((m = curl_multi_info_read(n->multi, &left))) {
            struct ns_send *s = NULL;
            if (m->msg != CURLMSG_DONE) {
                continue;
            }
            (void)curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            {
                curl_off_t us = 0;
                (void)curl_easy_getinfo(m->easy_handle, CURLINFO_TOTAL_TIME_T, &us);
                s->time_us = (int64_t)us;
            }
            if (m->data.result != CURLE_OK) {
                s->status = 0;
                s->rc = AC_EAGAIN;
                (void)snprintf(s->why, sizeof(s->why), "%s", curl_easy_strerror(m->data.result));
            }
            else {
                (void)curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &s->status);
                s->rc =
                    s->ch->ops->result(s->ch, s->status, s->resp.body.data ? s->resp.body.data : "",
                                       s->why, sizeof(s->why));
            }
        }
        if (running > 0) {
            (void)curl_multi_poll(n->multi, NULL, 0, 200, NULL);
        }
    } while (running > 0);
    /* the outcomes in one transaction: one commit for the batch (if it is
     * lost, the rows are sent again once their lease ends: at least once) */
    recorded = count > 0 && ac_pg_begin(c, "notify");
    for (int i = 0; i < count; i++) {
        struct ns_send *s = &sends[i];
        ns_record(n, c, s, &sent_ids, &sent_st);
        if (s->easy) {
            (void)curl_multi_remove_handle(n->multi, s->easy);
            curl_easy_cleanup(s->easy);
        }
        curl_slist_free_all(s->headers);
        ac_http_out_deinit(&s->out);
        ac_buf_deinit(&s->resp.body);
    }
    ac_pg_array_close(&sent_ids);
    ac_pg_array_close(&sent_st);
    if (recorded &&
        (!ac_outbox_sent(c, sent_ids.data, sent_st.data) || !ac_pg_commit(c, "notify"))) {
        count = -1;
    }
    ac_buf_deinit(&sent_ids);
    ac_buf_deinit(&sent_st);
    free(sends);
    return count;
}

static enum ac_worker_pass ns_pass(void *ctx, struct ac_worker *w, PGconn *c)
{
    int sent = ns_dispatch(ctx, c);

    (void)w;
    return sent < 0 ? AC_WORKER_FAIL : sent > 0 ? AC_WORKER_MORE : AC_WORKER_IDLE;
}

struct ac_notify_sender *ac_notify_sender_start(const struct ac_config *cfg,
                                                const struct ac_notify_config *nc,
                                                const struct ac_sink *sink)
{
    struct ac_notify_sender *s = ac_xcalloc(1, sizeof(*s));
    /* it looks more often than the planner: what was just planned is due now */
    struct ac_worker_def def = {.name = "notify",
                                .dsn = cfg->pg_dsn,
                                .period_ms = nc->poll_ms / 10 > 20 ? nc->poll_ms / 10 : 20,
                                .backoff_min_ms = 1000,
                                .pass = ns_pass,
                                .ctx = s};

    s->nc = nc;
    s->sink = sink;
    s->rand_state = (unsigned)ac_time_now_us() ^ 0x9e3779b9u;
    s->multi = curl_multi_init();
    AC_ASSERT(s->multi != NULL);
    s->chan = ac_xcalloc(nc->nchannels + 1, sizeof(*s->chan));
    if (!(s->worker = ac_worker_start(&def))) {
        curl_multi_cleanup(s->multi);
        free(s->chan);
        free(s);
        return NULL;
    }
    return s;
}

void ac_notify_sender_wake(struct ac_notify_sender *s)
{
    ac_worker_wake(s->worker);
}

void ac_notify_sender_stop(struct ac_notify_sender *s)
{
    if (!s) {
        return;
    }
    ac_worker_stop(s->worker);
    curl_multi_cleanup(s->multi);
    free(s->chan);
    free(s);
}

void ac_notify_sender_collect(const struct ac_notify_sender *s, struct ac_metrics_out *o)
{
    const struct ac_notify_config *nc = s->nc;
    static const char *const outcomes[] = {"sent", "retried", "failed"};

    ac_metrics_family(
        o, "ac_notification_attempts_total", "counter",
        "Send attempts this instance made, by channel and outcome: sent, retried"
        " later (timeout, 5xx, 429), or failed for good (raises NotificationFailed).");
    for (size_t i = 0; i <= nc->nchannels; i++) {
        const char *name = i < nc->nchannels ? nc->channels[i].name : "(unconfigured)";
        const char *kind = i < nc->nchannels ? nc->channels[i].ops->kind : "";
        const unsigned long long *v[3] = {&s->chan[i].sent, &s->chan[i].retried,
                                          &s->chan[i].failed};
        if (i == nc->nchannels && !__atomic_load_n(v[2], __ATOMIC_RELAXED)) {
            continue; /* only ever failed, and only when the config changed */
        }
        for (int k = 0; k < 3; k++) {
            ac_metrics_sample(o, "ac_notification_attempts_total",
                              (double)__atomic_load_n(v[k], __ATOMIC_RELAXED), "channel", name,
                              "kind", kind, "outcome", outcomes[k], NULL);
        }
    }
    ac_metrics_family(o, "ac_notification_request_duration_seconds", "histogram",
                      "Each send attempt's request to its channel, by channel.");
    for (size_t i = 0; i < nc->nchannels; i++) {
        ac_metrics_hist(o, "ac_notification_request_duration_seconds", &s->chan[i].time, "channel",
                        nc->channels[i].name, NULL);
    }
}
