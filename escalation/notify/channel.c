/* SPDX-License-Identifier: Apache-2.0 */
/* Channel configuration and the shared parts of the kinds (channel.h). */
#include "escalation/notify/channel.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/event.h"
#include "server/core/mem.h"

#define CH_SECRET_MAX 4096

static const struct ac_channel_ops *const ch_kinds[] = {
    &ac_channel_sms,   &ac_channel_phone, &ac_channel_webhook, &ac_channel_dingtalk,
    &ac_channel_slack, &ac_channel_arms,  &ac_channel_email,   NULL,
};

const struct ac_channel_ops *ac_channel_kind(const char *kind)
{
    for (const struct ac_channel_ops *const *k = ch_kinds; kind && *k; k++) {
        if (strcmp((*k)->kind, kind) == 0) {
            return *k;
        }
    }
    return NULL;
}

void ac_http_out_deinit(struct ac_http_out *o)
{
    free(o->url);
    free(o->body);
    for (size_t i = 0; i < o->nheaders; i++) {
        free(o->headers[i]);
    }
    free(o->rcpt);
    memset(o, 0, sizeof(*o));
}

static size_t ch_answer_write(char *p, size_t size, size_t nmemb, void *ud)
{
    struct ac_http_answer *a = ud;
    size_t n = size * nmemb;

    if (a->body.len < a->max) {
        ac_buf_append(&a->body, p, n < a->max - a->body.len ? n : a->max - a->body.len);
    }
    return n;
}

int ac_channel_build(const struct ac_channel *ch, const json_t *ctx, int64_t now_ms,
                     struct ac_http_out *out)
{
    const char *key =
        json_string_value(json_object_get(json_object_get(ctx, "notification"), "key"));
    int rc = ch->ops->build(ch, ctx, now_ms, out);

    if (rc != AC_OK || ch->ops->easy || !key) {
        return rc;
    }
    for (size_t i = 0; i < out->nheaders; i++) {
        if (strncasecmp(out->headers[i], "Idempotency-Key:", 16) == 0) {
            return rc;
        }
    }
    ac_http_out_header(out, "Idempotency-Key", key);
    return rc;
}

json_t *ac_channel_mentions(const json_t *ctx, const char *app)
{
    json_t *out = json_array(), *r, *have;
    size_t i, j;

    json_array_foreach(json_object_get(ctx, "recipients"), i, r)
    {
        const json_t *id = json_object_get(json_object_get(r, "chat"), app);
        bool dup = false;
        if (!json_is_string(id) || json_string_length(id) == 0) {
            continue;
        }
        json_array_foreach(out, j, have)
        {
            dup |= json_equal(have, id);
        }
        if (!dup) {
            (void)json_array_append(out, (json_t *)id);
        }
    }
    return out;
}

CURL *ac_channel_easy(const struct ac_channel *ch, const struct ac_http_out *out,
                      struct ac_http_answer *ans, struct curl_slist **headers)
{
    CURL *c;

    if (ch->ops->easy) {
        return ch->ops->easy(ch, out, ans, headers);
    }
    c = curl_easy_init();

    AC_ASSERT(c != NULL);
    *headers = NULL;
    for (size_t i = 0; i < out->nheaders; i++) {
        *headers = curl_slist_append(*headers, out->headers[i]);
    }
    *headers = curl_slist_append(*headers, "Expect:");
    (void)curl_easy_setopt(c, CURLOPT_URL, out->url);
    (void)curl_easy_setopt(c, CURLOPT_POSTFIELDS, out->body);
    (void)curl_easy_setopt(c, CURLOPT_HTTPHEADER, *headers);
    (void)curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ch->timeout_ms);
    (void)curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ch->timeout_ms);
    (void)curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    (void)curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    (void)curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ch_answer_write);
    (void)curl_easy_setopt(c, CURLOPT_WRITEDATA, ans);
    return c;
}

void ac_http_out_header(struct ac_http_out *o, const char *name, const char *value)
{
    AC_ASSERT(o->nheaders < AC_CHANNEL_HEADERS_MAX);
    o->headers[o->nheaders++] = ac_xasprintf("%s: %s", name, value);
}

int ac_channel_status(long status, char *why, size_t whylen)
{
    if (status >= 200 && status < 300) {
        return AC_OK;
    }
    if (status == 0) {
        (void)snprintf(why, whylen, "no answer");
        return AC_EAGAIN;
    }
    (void)snprintf(why, whylen, "HTTP %ld", status);
    return status == 408 || status == 425 || status == 429 || status >= 500 ? AC_EAGAIN : AC_EINVAL;
}

static char *ch_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;

    if (!f) {
        return NULL;
    }
    buf = ac_xmalloc(CH_SECRET_MAX + 1);
    n = fread(buf, 1, CH_SECRET_MAX, f);
    (void)fclose(f);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
        buf[--n] = '\0';
    }
    return buf;
}

bool ac_channel_secret(const json_t *cfg, const char *prefix, const char *path, char **out,
                       json_t *errors)
{
    char kenv[64], kfile[64], p[160];
    const char *env, *file;

    (void)snprintf(kenv, sizeof(kenv), "%s_env", prefix);
    (void)snprintf(kfile, sizeof(kfile), "%s_file", prefix);
    env = json_string_value(json_object_get(cfg, kenv));
    file = json_string_value(json_object_get(cfg, kfile));
    *out = NULL;
    if (!env && !file) {
        return true;
    }
    if (env && file) {
        (void)snprintf(p, sizeof(p), "%s.%s", path, kenv);
        ac_event_error(errors, -1, p, "give %s or %s, not both", kenv, kfile);
        return false;
    }
    if (env) {
        const char *v = getenv(env);
        (void)snprintf(p, sizeof(p), "%s.%s", path, kenv);
        if (!v || !*v) {
            ac_event_error(errors, -1, p, "environment variable %s is not set", env);
            return false;
        }
        *out = ac_xstrdup(v);
        return true;
    }
    *out = ch_read_file(file);
    if (!*out || !**out) {
        (void)snprintf(p, sizeof(p), "%s.%s", path, kfile);
        ac_event_error(errors, -1, p, "cannot read %s", file);
        free(*out);
        *out = NULL;
        return false;
    }
    return true;
}

bool ac_channel_auth(struct ac_channel *ch, const json_t *cfg, const char *path, json_t *errors)
{
    const char *name = json_string_value(json_object_get(cfg, "auth_header"));
    char *value = NULL;

    if (!ac_channel_secret(cfg, "auth", path, &value, errors)) {
        return false;
    }
    if (value) {
        ch->auth_header = ac_xasprintf("%s: %s", name ? name : "Authorization", value);
        memset(value, 0, strlen(value));
        free(value);
    }
    return true;
}

int ac_channel_result_status(const struct ac_channel *ch, long status, const char *body, char *why,
                             size_t whylen)
{
    (void)ch;
    (void)body;
    return ac_channel_status(status, why, whylen);
}

static bool ch_url_ok(const char *url, bool email)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    bool ok;

    ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
         curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
         curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
         (email ? strcmp(scheme, "smtp") == 0 || strcmp(scheme, "smtps") == 0
                : strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0);
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return ok;
}

int ac_channel_configure(struct ac_channel *ch, const char *name, const json_t *cfg, json_t *errors)
{
    char path[160];

    (void)snprintf(path, sizeof(path), "notify.channels.%s", name);
    return ac_channel_configure_at(ch, name, path, cfg, errors);
}

int ac_channel_configure_at(struct ac_channel *ch, const char *name, const char *path,
                            const json_t *cfg, json_t *errors)
{
    static const char *const common[] = {"kind", "url", "timeout_ms", NULL};
    size_t before = json_array_size(errors);
    const char *kind = json_string_value(json_object_get(cfg, "kind"));
    const char *url = json_string_value(json_object_get(cfg, "url"));
    const json_t *tmo = json_object_get(cfg, "timeout_ms");
    const char *k;
    const json_t *v;

    memset(ch, 0, sizeof(*ch));
    if (!json_is_object(cfg)) {
        ac_event_error(errors, -1, path, "must be an object");
        return AC_EINVAL;
    }
    ch->ops = ac_channel_kind(kind);
    if (!ch->ops) {
        ac_event_error(errors, -1, path,
                       "kind must be one of sms, phone, dingtalk, slack, webhook, arms, email");
        return AC_EINVAL;
    }
    json_object_foreach((json_t *)cfg, k, v)
    {
        bool known = false;
        for (const char *const *p = common; *p && !known; p++) {
            known = strcmp(*p, k) == 0;
        }
        for (const char *const *p = ch->ops->keys; p && *p && !known; p++) {
            known = strcmp(*p, k) == 0;
        }
        if (!known) {
            char kp[240];
            (void)snprintf(kp, sizeof(kp), "%s.%.60s", path, k);
            ac_event_error(errors, -1, kp, "is not a setting of a %s channel", kind);
        }
    }
    ch->name = ac_xstrdup(name);
    if (!url || !ch_url_ok(url, ch->ops == &ac_channel_email)) {
        char kp[200];
        (void)snprintf(kp, sizeof(kp), "%s.url", path);
        ac_event_error(errors, -1, kp, "must be an %s URL",
                       ch->ops == &ac_channel_email ? "smtp:// or smtps://"
                                                    : "http:// or https://");
    }
    else {
        ch->url = ac_xstrdup(url);
    }
    ch->timeout_ms = 10000;
    if (tmo) {
        if (!json_is_integer(tmo) || json_integer_value(tmo) < 100 ||
            json_integer_value(tmo) > 120000) {
            char kp[200];
            (void)snprintf(kp, sizeof(kp), "%s.timeout_ms", path);
            ac_event_error(errors, -1, kp, "must be 100..120000");
        }
        else {
            ch->timeout_ms = (long)json_integer_value(tmo);
        }
    }
    if (json_array_size(errors) == before && ch->ops->configure) {
        (void)ch->ops->configure(ch, cfg, path, errors);
    }
    if (json_array_size(errors) > before) {
        ac_channel_deinit(ch);
        return AC_EINVAL;
    }
    return AC_OK;
}

void ac_channel_deinit(struct ac_channel *ch)
{
    if (ch->ops && ch->ops->deinit) {
        ch->ops->deinit(ch);
    }
    free(ch->name);
    free(ch->url);
    free(ch->auth_header);
    if (ch->secret) {
        memset(ch->secret, 0, strlen(ch->secret));
        free(ch->secret);
    }
    memset(ch, 0, sizeof(*ch));
}
