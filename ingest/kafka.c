/* SPDX-License-Identifier: Apache-2.0 */
/* The Kafka consumer adapter (kafka.h); its loop follows librdkafka's examples/consumer.c. */
#include "ingest/kafka.h"

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/alertmanager.h"
#include "ingest/k8s_map.h"
#include "ingest/native.h"
#include "schema/timefmt.h"
#include "server/core/config.h"
#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/core/metrics.h"
#include "server/core/pg.h"

#define KF_BACKOFF_MIN_MS 100
#define KF_BACKOFF_MAX_MS 5000
#define KF_TOPIC_KEY_MAX  80

enum kf_format { KF_NATIVE, KF_ALERTMANAGER, KF_K8S };

struct kf_topic {
    char *name;
    enum kf_format fmt;
};

struct kf_ctx {
    rd_kafka_conf_t *conf; /* until start hands it to the consumer */
    rd_kafka_t *rk;
    struct kf_topic *topics;
    size_t ntopics;
    long batch_max, batch_ms;
    /* the section (kf_cfg) */
    char *brokers, *group_id;
    json_t *topics_cfg, *options;
    const struct ac_am_config *am; /* the server's (ingest.h formats) */
    const struct ac_k8s_map *k8s;
    char *dsn;
    PGconn *pg; /* the dead letters' connection (consumer thread) */
    pthread_t thread;
    bool started;
    int stop; /* atomic */
    bool paused;
    int64_t resume_at_us;
    long backoff_ms;
    /* relaxed atomics, for metrics */
    unsigned long long n_msgs, n_events, n_dead, n_refused;
    long long lag;
    int paused_now;
};

/* ---- the idempotency key ---------------------------------------------- */

void ac_kafka_event_key(const char *topic, int partition, int64_t offset, size_t index, char *out,
                        size_t len)
{
    size_t tl = strlen(topic);

    if (tl <= KF_TOPIC_KEY_MAX) {
        (void)snprintf(out, len, "kafka:%s/%d/%lld#%zu", topic, partition, (long long)offset,
                       index);
    }
    else { /* FNV-1a of the whole name keeps long topics apart */
        unsigned long long h = 1469598103934665603ULL;
        for (size_t i = 0; i < tl; i++) {
            h = (h ^ (unsigned char)topic[i]) * 1099511628211ULL;
        }
        (void)snprintf(out, len, "kafka:%.60s~%016llx/%d/%lld#%zu", topic, h, partition,
                       (long long)offset, index);
    }
}

/* ---- configuration ---------------------------------------------------- */

static bool kf_set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
    char errstr[256];

    if (rd_kafka_conf_set(conf, k, v, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        ac_log(AC_LOG_ERROR, "config", "kafka.options.%s: %s", k, errstr);
        return false;
    }
    return true;
}

static const struct ac_cfg_entry kf_cfg[] = {
    {AC_CFG_STR, "brokers", NULL, offsetof(struct kf_ctx, brokers), "AC_KAFKA_BROKERS",
     "bootstrap servers host:port[,host:port]", 0, 0},
    {AC_CFG_STR, "group_id", "alertcenter", offsetof(struct kf_ctx, group_id), NULL,
     "the consumer group every instance joins", 0, 0},
    {AC_CFG_JSON, "topics", NULL, offsetof(struct kf_ctx, topics_cfg), NULL,
     "{topic: native | alertmanager | k8s_event}", 0, 0},
    {AC_CFG_JSON, "options", NULL, offsetof(struct kf_ctx, options), NULL,
     "librdkafka properties {name: value}; a value \"env:NAME\" is read from the environment", 0,
     0},
    {AC_CFG_INT, "batch_max", "1000", offsetof(struct kf_ctx, batch_max), NULL,
     "most messages stored in one transaction", 1, 100000},
    {AC_CFG_INT, "batch_ms", "100", offsetof(struct kf_ctx, batch_ms), NULL,
     "longest wait to fill a batch", 1, 60000},
    {AC_CFG_END, NULL, NULL, 0, NULL, NULL, 0, 0},
};

/* The topics and their formats, from the section. */
static bool kf_topics(struct kf_ctx *k)
{
    const char *key;
    json_t *v;
    bool ok = true;

    if (!json_is_object(k->topics_cfg) || json_object_size(k->topics_cfg) == 0) {
        ac_log(AC_LOG_ERROR, "config", "kafka.topics: an object of topic -> format is required");
        return false;
    }
    k->topics = ac_xcalloc(json_object_size(k->topics_cfg) + 1, sizeof(*k->topics));
    json_object_foreach(k->topics_cfg, key, v)
    {
        const char *f = json_string_value(v);
        if (!f || (strcmp(f, "native") != 0 && strcmp(f, "alertmanager") != 0 &&
                   strcmp(f, "k8s_event") != 0)) {
            ac_log(AC_LOG_ERROR, "config",
                   "kafka.topics.%s: the format is native, alertmanager or k8s_event", key);
            ok = false;
            continue;
        }
        k->topics[k->ntopics].name = ac_xstrdup(key);
        k->topics[k->ntopics++].fmt = strcmp(f, "native") == 0         ? KF_NATIVE
                                      : strcmp(f, "alertmanager") == 0 ? KF_ALERTMANAGER
                                                                       : KF_K8S;
    }
    return ok;
}

/* librdkafka's configuration from the section. */
static bool kf_conf(struct kf_ctx *k)
{
    const char *key;
    json_t *v;
    bool ok = true;

    if (!k->brokers || !*k->brokers) {
        ac_log(AC_LOG_ERROR, "config", "kafka.brokers (or AC_KAFKA_BROKERS) is required");
        ok = false;
    }
    k->conf = rd_kafka_conf_new();
    ok = kf_set(k->conf, "bootstrap.servers", k->brokers ? k->brokers : "") && ok;
    ok = kf_set(k->conf, "group.id", k->group_id) && ok;
    ok = kf_set(k->conf, "auto.offset.reset", "earliest") && ok;
    ok = kf_set(k->conf, "enable.auto.commit", "true") && ok;
    if (k->options && !ac_json_is_string_object(k->options)) {
        ac_log(AC_LOG_ERROR, "config", "kafka.options: an object of property -> string");
        ok = false;
    }
    json_object_foreach(k->options, key, v)
    {
        const char *val = json_string_value(v);
        if (strcmp(key, "enable.auto.offset.store") == 0) {
            ac_log(AC_LOG_ERROR, "config",
                   "kafka.options.%s: fixed to false (offsets are stored after the commit)", key);
            ok = false;
            continue;
        }
        if (val && strncmp(val, "env:", 4) == 0) { /* secrets from the environment */
            val = getenv(val + 4);
            if (!val) {
                ac_log(AC_LOG_ERROR, "config", "kafka.options.%s: environment variable %s unset",
                       key, json_string_value(v) + 4);
                ok = false;
                continue;
            }
        }
        ok = kf_set(k->conf, key, val) && ok;
    }
    ok = kf_set(k->conf, "enable.auto.offset.store", "false") && ok;
    return kf_set(k->conf, "enable.partition.eof", "false") && ok;
}

static int kf_init(struct ac_ingest *in)
{
    struct kf_ctx *k = ac_xcalloc(1, sizeof(*k));
    bool ok;

    in->ctx = k;
    k->backoff_ms = KF_BACKOFF_MIN_MS;
    ok = ac_ingest_load_cfg(in, k) == AC_OK;
    if (!in->section) {
        return ok ? AC_OK : AC_EINVAL; /* not configured: nothing to consume */
    }
    ok = kf_topics(k) && ok;
    ok = kf_conf(k) && ok;
    k->am = in->formats ? in->formats->am : NULL;
    k->k8s = in->formats ? in->formats->k8s : NULL;
    k->dsn = ac_xstrdup(in->cfg ? in->cfg->pg_dsn : "");
    return ok ? AC_OK : AC_EINVAL;
}

/* ---- dead letters ----------------------------------------------------- */

#define SQL_KF_DEAD                                                                                \
    "INSERT INTO kafka_dead_letters (topic, partition, \"offset\", key, value, reason)"            \
    " VALUES ($1, $2::int, $3::bigint, $4::bytea, $5::bytea, $6) ON CONFLICT DO NOTHING"

struct kf_dead {
    rd_kafka_message_t *m;
    char reason[512];
};

/* Records the undecodable messages, in one transaction. */
static bool kf_bury(struct kf_ctx *k, const struct kf_dead *dead, size_t n)
{
    PGresult *res;
    bool ok;

    if (n == 0) {
        return true;
    }
    if ((!k->pg || PQstatus(k->pg) != CONNECTION_OK)) {
        PQfinish(k->pg);
        if (!(k->pg = ac_pg_connect(k->dsn))) {
            return false;
        }
    }
    ok = ac_pg_begin(k->pg, "kafka");
    for (size_t i = 0; ok && i < n; i++) {
        const rd_kafka_message_t *m = dead[i].m;
        char part[16], off[24];
        const char *p[6];
        int lens[6] = {0}, fmts[6] = {0, 0, 0, 1, 1, 0};
        (void)snprintf(part, sizeof(part), "%d", (int)m->partition);
        (void)snprintf(off, sizeof(off), "%lld", (long long)m->offset);
        p[0] = rd_kafka_topic_name(m->rkt);
        p[1] = part;
        p[2] = off;
        p[3] = m->key ? (const char *)m->key : NULL;
        lens[3] = (int)m->key_len;
        p[4] = m->payload ? (const char *)m->payload : NULL;
        lens[4] = (int)m->len;
        p[5] = dead[i].reason;
        res = ac_pg_query_bin(k->pg, "kafka", SQL_KF_DEAD, 6, p, lens, fmts);
        ok = res != NULL;
        PQclear(res);
    }
    ok = ok && ac_pg_commit(k->pg, "kafka");
    if (!ok) {
        ac_pg_rollback(k->pg);
    }
    return ok;
}

/* ---- one batch -------------------------------------------------------- */

static const struct kf_topic *kf_topic(const struct kf_ctx *k, const char *name)
{
    for (size_t i = 0; i < k->ntopics; i++) {
        if (strcmp(k->topics[i].name, name) == 0) {
            return &k->topics[i];
        }
    }
    return NULL;
}

/* A Kubernetes Event (core/v1) message; a Normal one (warning_only) yields
 * no event and is no dead letter. */
static bool kf_decode_k8s(struct kf_ctx *k, const rd_kafka_message_t *m, struct ac_event_vec *evs,
                          char *reason, size_t rlen)
{
    json_error_t jerr;
    json_t *ev = json_loadb(m->payload, m->len, JSON_REJECT_DUPLICATES, &jerr), *doc = NULL;
    json_t *errs = json_array();
    const char *why = NULL;
    struct ac_event *e;
    int rc = -1;

    if (!ev) {
        (void)snprintf(reason, rlen, "invalid JSON: %s", jerr.text);
    }
    else if (!k->k8s) {
        (void)snprintf(reason, rlen, "the kubernetes mapping configuration is not valid");
    }
    else if ((rc = ac_k8s_map_event(k->k8s, ev, NULL, NULL, &doc, &why)) < 0) {
        (void)snprintf(reason, rlen, "%s", why);
    }
    else if (rc == 1) {
        e = ac_event_vec_push(evs);
        if (!ac_event_from_json(doc, e, -1, errs)) {
            char *d = json_dumps(errs, JSON_COMPACT);
            (void)snprintf(reason, rlen, "invalid: %s", d ? d : "?");
            free(d);
            ac_event_vec_pop(evs);
            rc = -1;
        }
        else {
            e->received_at = ac_time_now_us();
        }
    }
    json_decref(doc);
    json_decref(errs);
    json_decref(ev);
    return rc >= 0;
}

/* Decodes one message into evs; false with the reason when it cannot be. */
static bool kf_decode(struct kf_ctx *k, const rd_kafka_message_t *m, struct ac_event_vec *evs,
                      char *reason, size_t rlen)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    const struct kf_topic *t = kf_topic(k, topic);
    struct ac_event_vec v = {0};
    json_t *details = NULL;
    int rc;

    if (!t) {
        (void)snprintf(reason, rlen, "topic %s is not configured", topic);
        return false;
    }
    if (!m->payload || m->len == 0) {
        (void)snprintf(reason, rlen, "empty message");
        return false;
    }
    if (t->fmt == KF_K8S) {
        return kf_decode_k8s(k, m, evs, reason, rlen);
    }
    rc = t->fmt == KF_NATIVE
             ? ac_native_decode(m->payload, m->len, AC_NATIVE_JSON, (size_t)k->batch_max * 10,
                                ac_time_now_us(), &v, &details)
         : k->am ? ac_am_decode_v2(k->am, m->payload, m->len, "prometheus",
                                   (size_t)k->batch_max * 10, ac_time_now_us(), &v, &details)
                 : AC_EINVAL;
    if (rc != AC_OK) {
        char *d = details ? json_dumps(details, JSON_COMPACT) : NULL;
        (void)snprintf(reason, rlen, "%s: %s", rc == AC_ETOOBIG ? "too many events" : "invalid",
                       d ? d : "the prometheus configuration is not valid");
        free(d);
        json_decref(details);
        return false;
    }
    for (size_t i = 0; i < v.n; i++) {
        struct ac_event *ev = &v.items[i];
        if (!ev->id) {
            char id[160];
            ac_kafka_event_key(topic, (int)m->partition, (int64_t)m->offset, i, id, sizeof(id));
            ev->id = ac_xstrdup(id);
        }
        *ac_event_vec_push(evs) = *ev; /* moved */
    }
    free(v.items);
    return true;
}

/* Rewinds the batch's partitions to their first message and pauses every
 * assigned partition until a backoff passes. */
static void kf_hold(struct kf_ctx *k, rd_kafka_message_t **msgs, size_t n)
{
    rd_kafka_topic_partition_list_t *rw = rd_kafka_topic_partition_list_new((int)n);
    rd_kafka_topic_partition_list_t *asg = NULL;
    rd_kafka_error_t *err;

    for (size_t i = 0; i < n; i++) {
        const char *topic = rd_kafka_topic_name(msgs[i]->rkt);
        if (!rd_kafka_topic_partition_list_find(rw, topic, msgs[i]->partition)) {
            rd_kafka_topic_partition_list_add(rw, topic, msgs[i]->partition)->offset =
                msgs[i]->offset;
        }
    }
    if (rd_kafka_assignment(k->rk, &asg) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        (void)rd_kafka_pause_partitions(k->rk, asg);
        rd_kafka_topic_partition_list_destroy(asg);
    }
    if ((err = rd_kafka_seek_partitions(k->rk, rw, 5000))) {
        ac_log(AC_LOG_WARN, "kafka", "rewind: %s", rd_kafka_error_string(err));
        rd_kafka_error_destroy(err);
    }
    rd_kafka_topic_partition_list_destroy(rw);
    k->paused = true;
    __atomic_store_n(&k->paused_now, 1, __ATOMIC_RELAXED);
    k->resume_at_us = ac_time_now_us() + k->backoff_ms * 1000;
    k->backoff_ms = k->backoff_ms * 2 > KF_BACKOFF_MAX_MS ? KF_BACKOFF_MAX_MS : k->backoff_ms * 2;
}

static void kf_resume(struct kf_ctx *k)
{
    rd_kafka_topic_partition_list_t *asg = NULL;

    if (rd_kafka_assignment(k->rk, &asg) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        (void)rd_kafka_resume_partitions(k->rk, asg);
        rd_kafka_topic_partition_list_destroy(asg);
    }
    k->paused = false;
    __atomic_store_n(&k->paused_now, 0, __ATOMIC_RELAXED);
}

static void kf_update_lag(struct kf_ctx *k)
{
    rd_kafka_topic_partition_list_t *asg = NULL;
    long long lag = 0;

    if (rd_kafka_assignment(k->rk, &asg) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return;
    }
    if (rd_kafka_position(k->rk, asg) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (int i = 0; i < asg->cnt; i++) {
            int64_t lo, hi;
            if (rd_kafka_get_watermark_offsets(k->rk, asg->elems[i].topic, asg->elems[i].partition,
                                               &lo, &hi) == RD_KAFKA_RESP_ERR_NO_ERROR &&
                hi >= 0) {
                int64_t pos = asg->elems[i].offset >= 0 ? asg->elems[i].offset : lo;
                lag += hi > pos ? hi - pos : 0;
            }
        }
    }
    rd_kafka_topic_partition_list_destroy(asg);
    __atomic_store_n(&k->lag, lag, __ATOMIC_RELAXED);
}

/* Decode, submit, bury, store offsets - or hold the batch for later. */
static void kf_batch(struct ac_ingest *in, rd_kafka_message_t **msgs, size_t n)
{
    struct kf_ctx *k = in->ctx;
    struct ac_event_vec evs = {0};
    struct kf_dead *dead = ac_xcalloc(n + 1, sizeof(*dead));
    struct ac_ingest_result *results = NULL;
    rd_kafka_topic_partition_list_t *offs;
    size_t ndead = 0;
    int rc = AC_OK;

    for (size_t i = 0; i < n; i++) {
        if (!kf_decode(k, msgs[i], &evs, dead[ndead].reason, sizeof(dead[ndead].reason))) {
            dead[ndead++].m = msgs[i];
        }
    }
    if (evs.n > 0) {
        results = ac_xcalloc(evs.n, sizeof(*results));
        rc = in->sink->submit(in->sink->ctx, &evs, results);
    }
    if (rc != AC_OK || !kf_bury(k, dead, ndead)) {
        __atomic_add_fetch(&k->n_refused, 1, __ATOMIC_RELAXED);
        ac_log(AC_LOG_WARN, "kafka", "batch of %zu messages not stored (%s); paused for %ld ms", n,
               rc != AC_OK ? ac_strerror(rc) : "dead letters", k->backoff_ms);
        kf_hold(k, msgs, n);
        goto out;
    }
    /* stored: now the offsets may go (the next to read, per partition) */
    offs = rd_kafka_topic_partition_list_new((int)n);
    for (size_t i = 0; i < n; i++) {
        const char *topic = rd_kafka_topic_name(msgs[i]->rkt);
        rd_kafka_topic_partition_t *p =
            rd_kafka_topic_partition_list_find(offs, topic, msgs[i]->partition);
        if (!p) {
            p = rd_kafka_topic_partition_list_add(offs, topic, msgs[i]->partition);
        }
        if (msgs[i]->offset + 1 > p->offset) {
            p->offset = msgs[i]->offset + 1;
        }
    }
    if (rd_kafka_offsets_store(k->rk, offs) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        /* a partition revoked meanwhile: its new owner reads it again (duplicates) */
        ac_log(AC_LOG_INFO, "kafka", "some offsets were not stored (partitions moved)");
    }
    rd_kafka_topic_partition_list_destroy(offs);
    k->backoff_ms = KF_BACKOFF_MIN_MS;
    __atomic_add_fetch(&k->n_msgs, (unsigned long long)n, __ATOMIC_RELAXED);
    __atomic_add_fetch(&k->n_events, (unsigned long long)evs.n, __ATOMIC_RELAXED);
    __atomic_add_fetch(&k->n_dead, (unsigned long long)ndead, __ATOMIC_RELAXED);
    for (size_t i = 0; i < ndead; i++) {
        ac_log(AC_LOG_WARN, "kafka", "dead letter %s/%d/%lld: %.200s",
               rd_kafka_topic_name(dead[i].m->rkt), (int)dead[i].m->partition,
               (long long)dead[i].m->offset, dead[i].reason);
    }
out:
    free(results);
    free(dead);
    ac_event_vec_deinit(&evs);
}

static void *kf_main(void *arg)
{
    struct ac_ingest *in = arg;
    struct kf_ctx *k = in->ctx;
    rd_kafka_message_t **msgs = ac_xcalloc((size_t)k->batch_max, sizeof(*msgs));
    int64_t last_err_log = 0;

    while (!__atomic_load_n(&k->stop, __ATOMIC_ACQUIRE)) {
        size_t n = 0;
        int64_t deadline = ac_time_now_us() + k->batch_ms * 1000;
        if (k->paused) {
            rd_kafka_message_t *m = rd_kafka_consumer_poll(k->rk, 100); /* rebalances */
            if (m) {
                rd_kafka_message_destroy(m); /* fetched before the pause: read again */
            }
            if (ac_time_now_us() >= k->resume_at_us) {
                kf_resume(k);
            }
            continue;
        }
        while (n < (size_t)k->batch_max && !__atomic_load_n(&k->stop, __ATOMIC_ACQUIRE)) {
            int64_t left_ms = (deadline - ac_time_now_us()) / 1000;
            rd_kafka_message_t *m = rd_kafka_consumer_poll(k->rk, left_ms > 0 ? (int)left_ms : 0);
            if (!m) {
                if (left_ms <= 0) {
                    break;
                }
                continue;
            }
            if (m->err) {
                if (ac_time_now_us() - last_err_log > 10000000) {
                    ac_log(AC_LOG_WARN, "kafka", "consumer: %s", rd_kafka_message_errstr(m));
                    last_err_log = ac_time_now_us();
                }
                rd_kafka_message_destroy(m);
                continue;
            }
            msgs[n++] = m;
        }
        if (n > 0) {
            kf_batch(in, msgs, n);
            for (size_t i = 0; i < n; i++) {
                rd_kafka_message_destroy(msgs[i]);
            }
        }
        kf_update_lag(k);
    }
    free(msgs);
    return NULL;
}

/* ---- the adapter ------------------------------------------------------ */

static int kf_start(struct ac_ingest *in)
{
    struct kf_ctx *k = in->ctx;
    char errstr[512];
    rd_kafka_topic_partition_list_t *subs;
    rd_kafka_resp_err_t err;

    if (!k->conf) {
        return AC_OK; /* not configured */
    }
    k->rk = rd_kafka_new(RD_KAFKA_CONSUMER, k->conf, errstr, sizeof(errstr));
    if (!k->rk) {
        ac_log(AC_LOG_ERROR, "kafka", "cannot create the consumer: %s", errstr);
        return AC_EINVAL;
    }
    k->conf = NULL; /* the consumer owns it */
    rd_kafka_poll_set_consumer(k->rk);
    subs = rd_kafka_topic_partition_list_new((int)k->ntopics);
    for (size_t i = 0; i < k->ntopics; i++) {
        rd_kafka_topic_partition_list_add(subs, k->topics[i].name, RD_KAFKA_PARTITION_UA);
    }
    err = rd_kafka_subscribe(k->rk, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (err) {
        ac_log(AC_LOG_ERROR, "kafka", "cannot subscribe: %s", rd_kafka_err2str(err));
        return AC_EINVAL;
    }
    if (pthread_create(&k->thread, NULL, kf_main, in) != 0) {
        ac_log(AC_LOG_ERROR, "kafka", "cannot start the consumer thread");
        return AC_EINVAL;
    }
    k->started = true;
    ac_log(AC_LOG_INFO, "kafka", "consuming topics=%zu batch_max=%ld", k->ntopics, k->batch_max);
    return AC_OK;
}

static void kf_stop(struct ac_ingest *in)
{
    struct kf_ctx *k = in->ctx;

    if (!k) {
        return;
    }
    if (k->started) {
        __atomic_store_n(&k->stop, 1, __ATOMIC_RELEASE);
        pthread_join(k->thread, NULL);
        k->started = false;
    }
    if (k->rk) {
        /* commits the stored offsets and leaves the group */
        (void)rd_kafka_consumer_close(k->rk);
        rd_kafka_destroy(k->rk);
        k->rk = NULL;
    }
}

static void kf_destroy(struct ac_ingest *in)
{
    struct kf_ctx *k = in->ctx;

    if (!k) {
        return;
    }
    kf_stop(in);
    if (k->conf) {
        rd_kafka_conf_destroy(k->conf);
    }
    for (size_t i = 0; i < k->ntopics; i++) {
        free(k->topics[i].name);
    }
    free(k->topics);
    ac_cfg_free(kf_cfg, k);
    PQfinish(k->pg);
    free(k->dsn);
    free(k);
    in->ctx = NULL;
}

static void kf_collect(struct ac_ingest *in, struct ac_metrics_out *o)
{
    const struct kf_ctx *k = in->ctx;

    if (!k->started) {
        return;
    }
    ac_metrics_family(o, "ac_kafka_messages_total", "counter",
                      "Kafka messages this instance stored, by outcome: consumed (their events"
                      " committed) or dead_lettered (kept in kafka_dead_letters).");
    ac_metrics_sample(o, "ac_kafka_messages_total",
                      (double)(__atomic_load_n(&k->n_msgs, __ATOMIC_RELAXED) -
                               __atomic_load_n(&k->n_dead, __ATOMIC_RELAXED)),
                      "outcome", "consumed", NULL);
    ac_metrics_sample(o, "ac_kafka_messages_total",
                      (double)__atomic_load_n(&k->n_dead, __ATOMIC_RELAXED), "outcome",
                      "dead_lettered", NULL);
    ac_metrics_single(o, "ac_kafka_events_total", "counter",
                      "Events decoded from Kafka messages and committed.",
                      (double)__atomic_load_n(&k->n_events, __ATOMIC_RELAXED));
    ac_metrics_single(o, "ac_kafka_batches_refused_total", "counter",
                      "Batches the pipeline refused (queue full, database down): rewound, paused"
                      " and read again.",
                      (double)__atomic_load_n(&k->n_refused, __ATOMIC_RELAXED));
    ac_metrics_single(o, "ac_kafka_consumer_lag_messages", "gauge",
                      "Messages behind the high watermark on this instance's partitions.",
                      (double)__atomic_load_n(&k->lag, __ATOMIC_RELAXED));
    ac_metrics_single(o, "ac_kafka_paused", "gauge",
                      "1 while consumption is paused for backpressure.",
                      (double)__atomic_load_n(&k->paused_now, __ATOMIC_RELAXED));
}

const struct ac_ingest_ops ac_kafka_ops = {
    .name = "kafka",
    .section = "kafka",
    .cfg = kf_cfg,
    .init = kf_init,
    .start = kf_start,
    .stop = kf_stop,
    .destroy = kf_destroy,
    .collect = kf_collect,
};
