/* SPDX-License-Identifier: Apache-2.0 */
/* The Kubernetes Events watch (k8s.h). */
#include "ingest/k8s.h"

#include <curl/curl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingest/k8s_map.h"
#include "schema/timefmt.h"
#include "server/core/config.h"
#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/core/metrics.h"
#include "server/core/pg.h"
#include "server/core/worker.h"

#define K8_SA_DIR         "/var/run/secrets/kubernetes.io/serviceaccount"
#define K8_LIST_MAX       "500"
#define K8_LINE_MAX       (4 << 20) /* one watch event; bigger is an error */
#define K8_CACHE_TTL_US   (60 * 1000000LL)
#define K8_CACHE_MAX      10000
#define K8_BACKOFF_MIN_MS 1000
#define K8_BACKOFF_MAX_MS 30000

struct k8_ctx;

/* One watched scope: all namespaces (ns NULL) or one. */
struct k8_watch {
    struct k8_ctx *k;
    const struct ac_ingest *in;
    char *ns;
    char scope[300];          /* the k8s_watch row: "core/v1/events/<ns|*>" */
    struct ac_worker *worker; /* leads AC_LOCK_K8S_BASE + hash(scope) */
    int lead_key;
    PGconn *pg;    /* the worker's connection, during a pass */
    CURL *curl;    /* the watch and list requests */
    CURL *meta;    /* lookups of pods and namespaces */
    json_t *cache; /* "pods/<ns>/<name>" | "namespaces/<ns>" -> {"at", "meta"} */
    char *rv;      /* the newest resourceVersion seen in this stream */
    struct ac_buf line;
    struct ac_event_vec evs; /* this chunk's events */
    bool gone;               /* 410: relist */
    bool failed;             /* a submit or a save failed: reconnect */
    char token[4096];
};

struct k8_ctx {
    /* the section (k8_cfg) */
    bool enabled;
    char *api, *token_file, *ca_file;
    long timeout_s;
    json_t *namespaces;
    char *cluster;                        /* the mapping's keys (k8s_map.h), checked */
    bool warning_only;                    /* here and interpreted there, */
    json_t *rules, *app_keys, *user_keys; /* once, by the server */
    const struct ac_k8s_map *map;         /* the server's (ingest.h formats) */
    struct k8_watch *w;
    size_t nw;
    bool started;
    int stop; /* atomic */
    /* relaxed atomics */
    unsigned long long n_events, n_relists, n_reconnects, n_bookmarks;
};

/* ---- HTTP ------------------------------------------------------------- */

static bool k8_read_token(struct k8_watch *w)
{
    FILE *f = fopen(w->k->token_file, "r");
    size_t n;

    if (!f) {
        ac_log(AC_LOG_WARN, "k8s", "cannot read the token file %s", w->k->token_file);
        return false;
    }
    n = fread(w->token, 1, sizeof(w->token) - 1, f);
    fclose(f);
    while (n > 0 &&
           (w->token[n - 1] == '\n' || w->token[n - 1] == '\r' || w->token[n - 1] == ' ')) {
        n--;
    }
    w->token[n] = '\0';
    return n > 0;
}

static struct curl_slist *k8_headers(const struct k8_watch *w)
{
    char auth[4200];

    (void)snprintf(auth, sizeof(auth), "Authorization: Bearer %s", w->token);
    return curl_slist_append(curl_slist_append(NULL, auth), "Accept: application/json");
}

static void k8_common(const struct k8_watch *w, CURL *c, const char *url, struct curl_slist *h)
{
    (void)curl_easy_setopt(c, CURLOPT_URL, url);
    (void)curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    (void)curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    (void)curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    (void)curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (w->k->ca_file) {
        (void)curl_easy_setopt(c, CURLOPT_CAINFO, w->k->ca_file);
    }
}

static size_t k8_gather(char *p, size_t size, size_t nmemb, void *ud)
{
    struct ac_buf *b = ud;
    size_t n = size * nmemb;

    if (b->len + n > K8_LINE_MAX) {
        return 0;
    }
    ac_buf_append(b, p, n);
    return n;
}

/* GET path (a complete answer, JSON). Returns the status (0: transport
 * error) and *out (new, or NULL). */
static long k8_get(struct k8_watch *w, CURL *c, const char *path, json_t **out)
{
    char url[2048];
    struct ac_buf b = {0};
    struct curl_slist *h = k8_headers(w);
    long status = 0;

    *out = NULL;
    curl_easy_reset(c);
    (void)snprintf(url, sizeof(url), "%s%s", w->k->api, path);
    k8_common(w, c, url, h);
    (void)curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
    (void)curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, k8_gather);
    (void)curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (curl_easy_perform(c) == CURLE_OK) {
        (void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (b.data) {
            *out = json_loadb(b.data, b.len, 0, NULL);
        }
    }
    curl_slist_free_all(h);
    ac_buf_deinit(&b);
    return status;
}

/* {"labels", "annotations"} of a pod or namespace, cached a minute. */
static const json_t *k8_meta(struct k8_watch *w, const char *kind, const char *ns, const char *name)
{
    char key[600], path[700];
    json_t *hit, *obj = NULL, *meta;
    int64_t now = ac_time_now_us();
    char *ens = NULL, *ename = NULL;

    if (!ns || !*ns || (name && !*name)) {
        return NULL;
    }
    (void)snprintf(key, sizeof(key), "%s/%s/%s", kind, ns, name ? name : "");
    hit = json_object_get(w->cache, key);
    if (hit && now - json_integer_value(json_object_get(hit, "at")) < K8_CACHE_TTL_US) {
        return json_object_get(hit, "meta");
    }
    if (json_object_size(w->cache) >= K8_CACHE_MAX) {
        json_object_clear(w->cache);
    }
    ens = curl_easy_escape(w->meta, ns, 0);
    if (name) {
        ename = curl_easy_escape(w->meta, name, 0);
        (void)snprintf(path, sizeof(path), "/api/v1/namespaces/%s/%s/%s", ens, kind, ename);
    }
    else {
        (void)snprintf(path, sizeof(path), "/api/v1/namespaces/%s", ens);
    }
    curl_free(ens);
    curl_free(ename);
    meta = json_object();
    if (k8_get(w, w->meta, path, &obj) == 200) {
        const json_t *md = json_object_get(obj, "metadata");
        if (json_is_object(json_object_get(md, "labels"))) {
            json_object_set(meta, "labels", json_object_get(md, "labels"));
        }
        if (json_is_object(json_object_get(md, "annotations"))) {
            json_object_set(meta, "annotations", json_object_get(md, "annotations"));
        }
    }
    json_decref(obj);
    json_object_set_new(w->cache, key,
                        json_pack("{s:I, s:o}", "at", (json_int_t)now, "meta", meta));
    return meta;
}

/* ---- events ----------------------------------------------------------- */

/* Maps one Event into w->evs (a Normal one, or one the model refuses, is
 * skipped with a log line: the watch goes on). */
static void k8_take(struct k8_watch *w, const json_t *event)
{
    const struct ac_k8s_map *m = w->k->map;
    const json_t *io = json_object_get(event, "involvedObject"), *om = NULL, *nm = NULL;
    const char *ns = json_string_value(json_object_get(io, "namespace"));
    json_t *doc = NULL, *errs;
    const char *why = NULL;
    struct ac_event *ev;

    if (ac_k8s_map_wants_labels(m) &&
        (!json_string_value(json_object_get(event, "type")) || !m->warning_only ||
         strcmp(json_string_value(json_object_get(event, "type")), "Warning") == 0)) {
        const char *kind = json_string_value(json_object_get(io, "kind"));
        if (kind && strcmp(kind, "Pod") == 0) {
            om = k8_meta(w, "pods", ns, json_string_value(json_object_get(io, "name")));
        }
        nm = k8_meta(w, "namespaces", ns, NULL);
    }
    switch (ac_k8s_map_event(m, event, om, nm, &doc, &why)) {
        case 1:
            break;
        case 0:
            return;
        default:
            ac_log(AC_LOG_WARN, "k8s", "skipped an object: %s", why);
            return;
    }
    errs = json_array();
    ev = ac_event_vec_push(&w->evs);
    if (!ac_event_from_json(doc, ev, -1, errs)) {
        char *e = json_dumps(errs, JSON_COMPACT);
        ac_log(AC_LOG_WARN, "k8s", "event refused by the model: %s", e ? e : "?");
        free(e);
        ac_event_vec_pop(&w->evs);
    }
    else {
        ev->received_at = ac_time_now_us();
    }
    json_decref(errs);
    json_decref(doc);
}

static bool k8_submit(struct k8_watch *w)
{
    struct ac_ingest_result *res;
    int rc;

    if (w->evs.n == 0) {
        return true;
    }
    res = ac_xcalloc(w->evs.n, sizeof(*res));
    rc = w->in->sink->submit(w->in->sink->ctx, &w->evs, res);
    free(res);
    if (rc == AC_OK) {
        __atomic_add_fetch(&w->k->n_events, (unsigned long long)w->evs.n, __ATOMIC_RELAXED);
    }
    else {
        ac_log(AC_LOG_WARN, "k8s",
               "%zu events not stored (%s); the watch resumes from the last"
               " stored version",
               w->evs.n, ac_strerror(rc));
    }
    ac_event_vec_deinit(&w->evs);
    return rc == AC_OK;
}

/* ---- the persisted resourceVersion -------------------------------------- */

#define SQL_K8_LOAD "SELECT resource_version FROM k8s_watch WHERE scope = $1"
#define SQL_K8_SAVE                                                                                \
    "INSERT INTO k8s_watch (scope, resource_version, updated_at) VALUES ($1, $2, now())"           \
    " ON CONFLICT (scope) DO UPDATE SET resource_version = excluded.resource_version,"             \
    " updated_at = now()"

static char *k8_load_rv(struct k8_watch *w)
{
    const char *p[1] = {w->scope};
    PGresult *r = PQexecParams(w->pg, SQL_K8_LOAD, 1, NULL, p, NULL, NULL, 0);
    char *rv = NULL;

    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
        rv = ac_xstrdup(PQgetvalue(r, 0, 0));
    }
    PQclear(r);
    return rv;
}

static bool k8_save_rv(struct k8_watch *w, const char *rv)
{
    const char *p[2] = {w->scope, rv};
    PGresult *r = PQexecParams(w->pg, SQL_K8_SAVE, 2, NULL, p, NULL, NULL, 0);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;

    if (!ok) {
        ac_log(AC_LOG_WARN, "k8s", "cannot save the resourceVersion: %s", PQerrorMessage(w->pg));
    }
    PQclear(r);
    return ok;
}

/* ---- list and watch ----------------------------------------------------- */

static void k8_path(const struct k8_watch *w, char *out, size_t len, const char *query)
{
    if (w->ns) {
        (void)snprintf(out, len, "/api/v1/namespaces/%s/events?%s", w->ns, query);
    }
    else {
        (void)snprintf(out, len, "/api/v1/events?%s", query);
    }
}

/* Lists every Event (in pages), submits the Warning ones, and returns the
 * list's resourceVersion (new), or NULL. */
static char *k8_relist(struct k8_watch *w, CURL *c)
{
    char path[2048], query[1200];
    char *cont = NULL, *rv = NULL;

    __atomic_add_fetch(&w->k->n_relists, 1, __ATOMIC_RELAXED);
    do {
        json_t *list = NULL;
        const json_t *md, *item;
        size_t i;
        long st;
        char *ec = cont ? curl_easy_escape(c, cont, 0) : NULL;
        (void)snprintf(query, sizeof(query), "limit=" K8_LIST_MAX "%s%s", ec ? "&continue=" : "",
                       ec ? ec : "");
        curl_free(ec);
        k8_path(w, path, sizeof(path), query);
        if ((st = k8_get(w, c, path, &list)) != 200 || !json_is_object(list)) {
            ac_log(AC_LOG_WARN, "k8s", "list %s: status %ld", path, st);
            json_decref(list);
            free(cont);
            free(rv);
            return NULL;
        }
        json_array_foreach(json_object_get(list, "items"), i, item)
        {
            k8_take(w, item);
        }
        md = json_object_get(list, "metadata");
        free(cont);
        cont = json_string_length(json_object_get(md, "continue"))
                   ? ac_xstrdup(json_string_value(json_object_get(md, "continue")))
                   : NULL;
        if (!rv && json_string_value(json_object_get(md, "resourceVersion"))) {
            rv = ac_xstrdup(json_string_value(json_object_get(md, "resourceVersion")));
        }
        json_decref(list);
        if (!k8_submit(w)) {
            free(cont);
            free(rv);
            return NULL;
        }
    } while (cont && !__atomic_load_n(&w->k->stop, __ATOMIC_ACQUIRE));
    free(cont);
    if (rv && !k8_save_rv(w, rv)) {
        free(rv);
        return NULL;
    }
    return rv;
}

static void k8_set_rv(struct k8_watch *w, const char *rv)
{
    if (rv) {
        free(w->rv);
        w->rv = ac_xstrdup(rv);
    }
}

/* One line of the watch stream. */
static void k8_line(struct k8_watch *w, const char *s, size_t n)
{
    json_t *msg;
    const json_t *obj;
    const char *rv;

    switch (ac_k8s_watch_line(s, n, &msg, &obj, &rv)) {
        case AC_K8S_WATCH_BAD:
            ac_log(AC_LOG_WARN, "k8s", "not a watch event: %.100s", s);
            break;
        case AC_K8S_WATCH_GONE:
            w->gone = true;
            break;
        case AC_K8S_WATCH_ERROR:
            ac_log(AC_LOG_WARN, "k8s", "watch error %lld: %s",
                   (long long)json_integer_value(json_object_get(obj, "code")),
                   json_string_value(json_object_get(obj, "message")) ?: "?");
            w->failed = true;
            break;
        case AC_K8S_WATCH_BOOKMARK:
            k8_set_rv(w, rv);
            __atomic_add_fetch(&w->k->n_bookmarks, 1, __ATOMIC_RELAXED);
            break;
        case AC_K8S_WATCH_TAKE:
            k8_take(w, obj);
            k8_set_rv(w, rv);
            break;
        case AC_K8S_WATCH_SKIP:
            k8_set_rv(w, rv);
            break;
    }
    json_decref(msg);
}

/* The stream: complete lines are handled, then the chunk's events are
 * submitted and the version saved; returning short stops the transfer. */
static size_t k8_stream(char *p, size_t size, size_t nmemb, void *ud)
{
    struct k8_watch *w = ud;
    size_t n = size * nmemb, start = 0;
    char *saved = w->rv ? ac_xstrdup(w->rv) : NULL;

    if (w->line.len + n > K8_LINE_MAX) {
        ac_log(AC_LOG_WARN, "k8s", "a watch event over %d bytes; reconnecting", K8_LINE_MAX);
        free(saved);
        return 0;
    }
    ac_buf_append(&w->line, p, n);
    for (size_t i = 0; i < w->line.len && !w->gone && !w->failed; i++) {
        if (w->line.data[i] == '\n') {
            if (i > start) {
                k8_line(w, w->line.data + start, i - start);
            }
            start = i + 1;
        }
    }
    memmove(w->line.data, w->line.data + start, w->line.len - start);
    w->line.len -= start;
    w->line.data[w->line.len] = '\0';
    if (!k8_submit(w) ||
        (w->rv && (!saved || strcmp(saved, w->rv) != 0) && !k8_save_rv(w, w->rv))) {
        w->failed = true;
    }
    free(saved);
    return w->gone || w->failed ? 0 : n;
}

static int k8_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    struct k8_watch *w = ud;

    (void)a;
    (void)b;
    (void)c;
    (void)d;
    return __atomic_load_n(&w->k->stop, __ATOMIC_ACQUIRE) ? 1 : 0;
}

/* Watches from w->rv until the server ends the request, an error, 410 or
 * stop. Returns true when it ended normally (reconnect at once). */
static bool k8_watch_once(struct k8_watch *w, CURL *c)
{
    char path[2048], query[600], url[2600];
    char *erv = curl_easy_escape(c, w->rv, 0);
    struct curl_slist *h = k8_headers(w);
    long status = 0;
    CURLcode rc;

    (void)snprintf(query, sizeof(query),
                   "watch=1&allowWatchBookmarks=true&resourceVersion=%s&timeoutSeconds=%ld", erv,
                   w->k->timeout_s);
    curl_free(erv);
    k8_path(w, path, sizeof(path), query);
    (void)snprintf(url, sizeof(url), "%s%s", w->k->api, path);
    curl_easy_reset(c);
    k8_common(w, c, url, h);
    (void)curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, k8_stream);
    (void)curl_easy_setopt(c, CURLOPT_WRITEDATA, w);
    (void)curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    (void)curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, k8_progress);
    (void)curl_easy_setopt(c, CURLOPT_XFERINFODATA, w);
    /* a silent connection (no bookmark, no event) for long is a dead one */
    (void)curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    (void)curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, w->k->timeout_s + 30);
    w->line.len = 0;
    w->gone = w->failed = false;
    rc = curl_easy_perform(c);
    (void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    if (status == 410) {
        w->gone = true;
    }
    if (w->gone) {
        ac_log(AC_LOG_INFO, "k8s", "%s: resourceVersion %s expired; listing again", w->scope,
               w->rv);
        return true;
    }
    if (rc != CURLE_OK || status != 200 || w->failed) {
        if (!__atomic_load_n(&w->k->stop, __ATOMIC_ACQUIRE)) {
            ac_log(AC_LOG_WARN, "k8s", "%s: watch ended: %s (status %ld)", w->scope,
                   w->failed ? "not stored" : curl_easy_strerror(rc), status);
        }
        return false;
    }
    return true;
}

/* One watch while this instance leads the scope: resume from the stored
 * resourceVersion (or list), watch until the stream ends, list again on 410
 * Gone. A stream that ends well is followed at once; a failure backs off
 * (1 s doubling to 30 s), keeping the lead unless the connection broke. */
static enum ac_worker_pass k8_pass(void *ctx, struct ac_worker *wk, PGconn *c)
{
    struct k8_watch *w = ctx;
    bool ok = false;

    (void)wk;
    w->pg = c;
    if (k8_read_token(w)) {
        free(w->rv);
        w->rv = k8_load_rv(w);
        if (!w->rv) {
            w->rv = k8_relist(w, w->curl);
        }
        if (w->rv) {
            ok = k8_watch_once(w, w->curl);
            if (w->gone) {
                free(w->rv);
                w->rv = k8_relist(w, w->curl);
                ok = w->rv != NULL;
            }
        }
    }
    w->pg = NULL;
    if (ok) {
        return AC_WORKER_MORE;
    }
    __atomic_add_fetch(&w->k->n_reconnects, 1, __ATOMIC_RELAXED);
    return AC_WORKER_FAIL;
}

/* ---- the adapter ------------------------------------------------------ */

static unsigned k8_hash(const char *s)
{
    unsigned h = 2166136261u;

    for (; *s; s++) {
        h = (h ^ (unsigned char)*s) * 16777619u;
    }
    return h;
}

static char *k8_default_api(void)
{
    const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");

    if (!host || !*host) {
        return NULL;
    }
    return strchr(host, ':') ? ac_xasprintf("https://[%s]:%s", host, port ? port : "443")
                             : ac_xasprintf("https://%s:%s", host, port ? port : "443");
}

static void k8_add_watch(struct k8_ctx *k, const struct ac_ingest *in, const char *ns)
{
    struct k8_watch *w = &k->w[k->nw++];

    w->k = k;
    w->in = in;
    w->ns = ns ? ac_xstrdup(ns) : NULL;
    (void)snprintf(w->scope, sizeof(w->scope), "core/v1/events/%s", ns ? ns : "*");
    w->lead_key = AC_LOCK_K8S_BASE + (int)(k8_hash(w->scope) % 1000000u);
    w->cache = json_object();
}

static const struct ac_cfg_entry k8_cfg[] = {
    {AC_CFG_BOOL, "watch", "false", offsetof(struct k8_ctx, enabled), NULL,
     "watch the API server's Events (one instance per scope leads)", 0, 0},
    {AC_CFG_STR, "api_url", NULL, offsetof(struct k8_ctx, api), NULL,
     "the API server; in a pod, from KUBERNETES_SERVICE_HOST/PORT", 0, 0},
    {AC_CFG_STR, "token_file", K8_SA_DIR "/token", offsetof(struct k8_ctx, token_file), NULL,
     "the bearer token, read again at each reconnection", 0, 0},
    {AC_CFG_STR, "ca_file", NULL, offsetof(struct k8_ctx, ca_file), NULL,
     "the API server's CA (default: the service account's, when present)", 0, 0},
    {AC_CFG_INT, "timeout_s", "300", offsetof(struct k8_ctx, timeout_s), NULL,
     "each watch request's timeoutSeconds", 1, 3600},
    {AC_CFG_JSON, "namespaces", NULL, offsetof(struct k8_ctx, namespaces), NULL,
     "the namespaces to watch, each its own scope (default: all)", 0, 0},
    {AC_CFG_STR, "cluster", NULL, offsetof(struct k8_ctx, cluster), NULL,
     "mapping: the cluster name events carry", 0, 0},
    {AC_CFG_BOOL, "warning_only", "true", offsetof(struct k8_ctx, warning_only), NULL,
     "mapping: only Warning events become alerts", 0, 0},
    {AC_CFG_JSON, "rules", NULL, offsetof(struct k8_ctx, rules), NULL,
     "mapping: [{reason, message?, type?, level?, trace?, category?}]", 0, 0},
    {AC_CFG_JSON, "app_id_keys", NULL, offsetof(struct k8_ctx, app_keys), NULL,
     "mapping: labels naming the app, in order", 0, 0},
    {AC_CFG_JSON, "user_id_keys", NULL, offsetof(struct k8_ctx, user_keys), NULL,
     "mapping: labels naming the tenant, in order", 0, 0},
    {AC_CFG_END, NULL, NULL, 0, NULL, NULL, 0, 0},
};

/* The scopes to watch: every namespace, or each one named. */
static bool k8_scopes(struct k8_ctx *k, const struct ac_ingest *in)
{
    const json_t *nss = k->namespaces, *v;
    size_t i;
    bool ok = true;

    if (nss && (!json_is_array(nss) || json_array_size(nss) > 64)) {
        ac_log(AC_LOG_ERROR, "config", "kubernetes.namespaces: an array of at most 64 names");
        ok = false;
        nss = NULL;
    }
    k->w = ac_xcalloc(json_array_size(nss) + 1, sizeof(*k->w));
    if (json_array_size(nss) == 0) {
        k8_add_watch(k, in, NULL);
    }
    json_array_foreach(nss, i, v)
    {
        const char *ns = json_string_value(v);
        if (!ns || !*ns || strlen(ns) > 253 || strpbrk(ns, "/?&#% ")) {
            ac_log(AC_LOG_ERROR, "config", "kubernetes.namespaces[%zu]: a namespace name", i);
            ok = false;
            continue;
        }
        k8_add_watch(k, in, ns);
    }
    return ok;
}

/* The section is checked whether or not the watch is on. */
static int k8_init(struct ac_ingest *in)
{
    struct k8_ctx *k = ac_xcalloc(1, sizeof(*k));
    bool ok;
    size_t n;

    in->ctx = k;
    ok = ac_ingest_load_cfg(in, k) == AC_OK;
    ok = k8_scopes(k, in) && ok;
    k->map = in->formats ? in->formats->k8s : NULL;
    if (!k->api && k->enabled) {
        k->api = k8_default_api();
    }
    if (!k->api && k->enabled) {
        ac_log(AC_LOG_ERROR, "config", "kubernetes.api_url: required outside a cluster");
        ok = false;
    }
    for (n = k->api ? strlen(k->api) : 0; n > 0 && k->api[n - 1] == '/';) {
        k->api[--n] = '\0';
    }
    if (!k->ca_file && k->enabled) {
        FILE *f = fopen(K8_SA_DIR "/ca.crt", "r");
        if (f) {
            fclose(f);
            k->ca_file = ac_xstrdup(K8_SA_DIR "/ca.crt");
        }
    }
    if (k->enabled && !k->map) {
        ac_log(AC_LOG_ERROR, "config", "kubernetes: the event mapping did not load");
        ok = false;
    }
    return ok ? AC_OK : AC_EINVAL;
}

static void k8_stop(struct ac_ingest *in);

static int k8_start(struct ac_ingest *in)
{
    struct k8_ctx *k = in->ctx;

    if (!k->enabled) {
        return AC_OK;
    }
    k->started = true;
    for (size_t i = 0; i < k->nw; i++) {
        struct k8_watch *w = &k->w[i];
        struct ac_worker_def def = {.name = "k8s",
                                    .dsn = in->cfg->pg_dsn,
                                    .lead_key = w->lead_key,
                                    .duty = "watches Kubernetes events",
                                    .period_ms = 1000,
                                    .backoff_min_ms = K8_BACKOFF_MIN_MS,
                                    .backoff_max_ms = K8_BACKOFF_MAX_MS,
                                    .pass = k8_pass,
                                    .ctx = w};
        w->curl = curl_easy_init();
        w->meta = curl_easy_init();
        if (!w->curl || !w->meta || !(w->worker = ac_worker_start(&def))) {
            ac_log(AC_LOG_ERROR, "k8s", "cannot start a watch");
            k8_stop(in);
            return AC_EINVAL;
        }
    }
    ac_log(AC_LOG_INFO, "k8s", "watching Kubernetes events api=%s scopes=%zu", k->api, k->nw);
    return AC_OK;
}

static void k8_stop(struct ac_ingest *in)
{
    struct k8_ctx *k = in->ctx;

    if (k && k->started) {
        __atomic_store_n(&k->stop, 1, __ATOMIC_RELEASE); /* ends the transfers */
        for (size_t i = 0; i < k->nw; i++) {
            ac_worker_stop(k->w[i].worker);
            k->w[i].worker = NULL;
            curl_easy_cleanup(k->w[i].curl);
            curl_easy_cleanup(k->w[i].meta);
            k->w[i].curl = k->w[i].meta = NULL;
        }
        k->started = false;
    }
}

static void k8_destroy(struct ac_ingest *in)
{
    struct k8_ctx *k = in->ctx;

    if (!k) {
        return;
    }
    k8_stop(in);
    for (size_t i = 0; i < k->nw; i++) {
        free(k->w[i].ns);
        free(k->w[i].rv);
        json_decref(k->w[i].cache);
        ac_buf_deinit(&k->w[i].line);
        ac_event_vec_deinit(&k->w[i].evs);
    }
    free(k->w);
    ac_cfg_free(k8_cfg, k);
    free(k);
    in->ctx = NULL;
}

static void k8_collect(struct ac_ingest *in, struct ac_metrics_out *o)
{
    const struct k8_ctx *k = in->ctx;

    if (!k->started) {
        return;
    }
    ac_metrics_single(o, "ac_k8s_events_total", "counter",
                      "Kubernetes Events this instance's watch stored (when it leads).",
                      (double)__atomic_load_n(&k->n_events, __ATOMIC_RELAXED));
    ac_metrics_single(o, "ac_k8s_relists_total", "counter",
                      "Lists of Events: at the first start and after 410 Gone.",
                      (double)__atomic_load_n(&k->n_relists, __ATOMIC_RELAXED));
    ac_metrics_single(o, "ac_k8s_watch_reconnects_total", "counter",
                      "Watches that ended in an error and were made again after a backoff.",
                      (double)__atomic_load_n(&k->n_reconnects, __ATOMIC_RELAXED));
    ac_metrics_single(o, "ac_k8s_bookmarks_total", "counter", "Watch bookmarks received.",
                      (double)__atomic_load_n(&k->n_bookmarks, __ATOMIC_RELAXED));
}

const struct ac_ingest_ops ac_k8s_ops = {
    .section = "kubernetes",
    .cfg = k8_cfg,
    .name = "k8s",
    .init = k8_init,
    .start = k8_start,
    .stop = k8_stop,
    .destroy = k8_destroy,
    .collect = k8_collect,
};
