/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP gateway channels: "sms" and "phone" (one request per recipient, body
 * from a template) and "webhook" (the whole context as JSON, HMAC-signed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escalation/notify/channel.h"
#include "escalation/notify/sign.h"
#include "escalation/notify/template.h"
#include "schema/event.h"
#include "server/core/mem.h"

#define GW_SMS_BODY                                                                                \
    "{\"to\":\"{{contact.phone}}\",\"text\":\"{{title}}\\n{{text}}\",\"idempotency_key\":"         \
    "\"{{notification.key}}\"}"
#define GW_PHONE_BODY                                                                              \
    "{\"to\":\"{{contact.phone}}\",\"tts\":\"{{title}}\",\"idempotency_key\":"                     \
    "\"{{notification.key}}\"}"

struct gw_priv {
    char *body; /* template */
};

static int gw_configure(struct ac_channel *ch, const json_t *cfg, const char *path, json_t *errors,
                        const char *dflt)
{
    struct gw_priv *p = ac_xcalloc(1, sizeof(*p));
    const char *body = json_string_value(json_object_get(cfg, "body"));
    char err[160], kp[200];

    ch->priv = p;
    p->body = ac_xstrdup(body ? body : dflt);
    if (!ac_tpl_check(p->body, err, sizeof(err))) {
        (void)snprintf(kp, sizeof(kp), "%s.body", path);
        ac_event_error(errors, -1, kp, "%s", err);
        return AC_EINVAL;
    }
    return ac_channel_auth(ch, cfg, path, errors) ? AC_OK : AC_EINVAL;
}

static int gw_sms_configure(struct ac_channel *ch, const json_t *cfg, const char *path,
                            json_t *errors)
{
    return gw_configure(ch, cfg, path, errors, GW_SMS_BODY);
}

static int gw_phone_configure(struct ac_channel *ch, const json_t *cfg, const char *path,
                              json_t *errors)
{
    return gw_configure(ch, cfg, path, errors, GW_PHONE_BODY);
}

static void gw_deinit(struct ac_channel *ch)
{
    struct gw_priv *p = ch->priv;

    if (p) {
        free(p->body);
        free(p);
    }
    ch->priv = NULL;
}

/* The headers every gateway request has. */
static void gw_headers(const struct ac_channel *ch, const json_t *ctx, struct ac_http_out *out)
{
    (void)ctx; /* the Idempotency-Key is ac_channel_build's */
    ac_http_out_header(out, "Content-Type", "application/json");
    if (ch->auth_header) {
        out->headers[out->nheaders++] = ac_xstrdup(ch->auth_header);
    }
}

static int gw_build(const struct ac_channel *ch, const json_t *ctx, int64_t now_ms,
                    struct ac_http_out *out)
{
    const struct gw_priv *p = ch->priv;
    const char *phone =
        json_string_value(json_object_get(json_object_get(ctx, "contact"), "phone"));

    (void)now_ms;
    if (!phone) {
        return AC_EINVAL; /* a recipient without a phone: nothing to send here */
    }
    out->url = ac_xstrdup(ch->url);
    out->body = ac_tpl_render(p->body, ctx, AC_TPL_JSON);
    gw_headers(ch, ctx, out);
    return AC_OK;
}

static const char *const gw_keys[] = {"auth_header", "auth_env", "auth_file", "body", NULL};

const struct ac_channel_ops ac_channel_sms = {
    .kind = "sms",
    .per_contact = true,
    .keys = gw_keys,
    .configure = gw_sms_configure,
    .deinit = gw_deinit,
    .build = gw_build,
    .result = ac_channel_result_status,
};

const struct ac_channel_ops ac_channel_phone = {
    .kind = "phone",
    .per_contact = true,
    .keys = gw_keys,
    .configure = gw_phone_configure,
    .deinit = gw_deinit,
    .build = gw_build,
    .result = ac_channel_result_status,
};

/* ---- webhook ------------------------------------------------------------- */

static int wh_configure(struct ac_channel *ch, const json_t *cfg, const char *path, json_t *errors)
{
    if (!ac_channel_secret(cfg, "secret", path, &ch->secret, errors)) {
        return AC_EINVAL;
    }
    return ac_channel_auth(ch, cfg, path, errors) ? AC_OK : AC_EINVAL;
}

static int wh_build(const struct ac_channel *ch, const json_t *ctx, int64_t now_ms,
                    struct ac_http_out *out)
{
    json_t *doc = json_deep_copy(ctx);

    (void)json_object_set_new(doc, "version", json_string("1"));
    (void)json_object_set_new(doc, "channel", json_string(ch->name));
    out->url = ac_xstrdup(ch->url);
    out->body = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(doc);
    gw_headers(ch, ctx, out);
    if (ch->secret) {
        char ts[24],
            *sig = ac_webhook_signature(ch->secret, now_ms / 1000, out->body, strlen(out->body));
        char *v = ac_xasprintf("sha256=%s", sig);
        (void)snprintf(ts, sizeof(ts), "%lld", (long long)(now_ms / 1000));
        ac_http_out_header(out, "X-AC-Timestamp", ts);
        ac_http_out_header(out, "X-AC-Signature", v);
        free(sig);
        free(v);
    }
    return AC_OK;
}

static const char *const wh_keys[] = {"secret_env", "secret_file", "auth_header",
                                      "auth_env",   "auth_file",   NULL};

const struct ac_channel_ops ac_channel_webhook = {
    .kind = "webhook",
    .per_contact = false,
    .keys = wh_keys,
    .configure = wh_configure,
    .build = wh_build,
    .result = ac_channel_result_status,
};
