/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Chat channels: "dingtalk" (custom robot webhook: signed URL, an ActionCard
 * whose buttons are the action links) and "slack" (incoming webhook: blocks
 * with link buttons). Both send once per notification, to the group.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escalation/notify/channel.h"
#include "escalation/notify/sign.h"
#include "escalation/notify/template.h"
#include "schema/event.h"
#include "server/core/mem.h"

#define CHAT_TITLE "{{title}}"
#define CHAT_TEXT  "{{text}}"

/* The action buttons in the order shown, with their labels. */
static const struct {
    const char *key, *label;
} chat_actions[] = {
    {"ack", "Acknowledge"},         {"resolve", "Resolve"},
    {"silence", "Silence 1 h"},     {"stop_diagnosis", "Stop diagnosis"},
    {"restart_app", "Restart app"}, {"delete_instance", "Delete instance"},
};

struct chat_priv {
    char *title, *text; /* templates */
};

static int chat_configure(struct ac_channel *ch, const json_t *cfg, const char *path,
                          json_t *errors)
{
    struct chat_priv *p = ac_xcalloc(1, sizeof(*p));
    const char *title = json_string_value(json_object_get(cfg, "title"));
    const char *text = json_string_value(json_object_get(cfg, "text"));
    char err[160], kp[200];
    int rc = AC_OK;

    ch->priv = p;
    p->title = ac_xstrdup(title ? title : CHAT_TITLE);
    p->text = ac_xstrdup(text ? text : CHAT_TEXT);
    for (int i = 0; i < 2; i++) {
        if (!ac_tpl_check(i ? p->text : p->title, err, sizeof(err))) {
            (void)snprintf(kp, sizeof(kp), "%s.%s", path, i ? "text" : "title");
            ac_event_error(errors, -1, kp, "%s", err);
            rc = AC_EINVAL;
        }
    }
    if (json_object_get(cfg, "secret_env") || json_object_get(cfg, "secret_file")) {
        if (!ac_channel_secret(cfg, "secret", path, &ch->secret, errors)) {
            rc = AC_EINVAL;
        }
    }
    return rc;
}

static void chat_deinit(struct ac_channel *ch)
{
    struct chat_priv *p = ch->priv;

    if (p) {
        free(p->title);
        free(p->text);
        free(p);
    }
    ch->priv = NULL;
}

static int ding_build(const struct ac_channel *ch, const json_t *ctx, int64_t now_ms,
                      struct ac_http_out *out)
{
    const struct chat_priv *p = ch->priv;
    const json_t *actions = json_object_get(ctx, "actions");
    char *title = ac_tpl_render(p->title, ctx, AC_TPL_TEXT);
    char *text = ac_tpl_render(p->text, ctx, AC_TPL_TEXT);
    json_t *btns = json_array(), *body, *at = ac_channel_mentions(ctx, "dingtalk"), *id;
    size_t i;

    /* the robot highlights an @ only where the text names the user */
    json_array_foreach(at, i, id)
    {
        char *t = ac_xasprintf("%s%s@%s", text, i ? " " : "\n\n", json_string_value(id));
        free(text);
        text = t;
    }

    for (i = 0; i < sizeof(chat_actions) / sizeof(chat_actions[0]); i++) {
        const char *url = json_string_value(json_object_get(actions, chat_actions[i].key));
        if (url) {
            (void)json_array_append_new(
                btns, json_pack("{s:s, s:s}", "title", chat_actions[i].label, "actionURL", url));
        }
    }
    if (json_array_size(btns) > 0) {
        body = json_pack("{s:s, s:{s:s, s:s, s:s, s:o}}", "msgtype", "actionCard", "actionCard",
                         "title", title, "text", text, "btnOrientation", "1", "btns", btns);
    }
    else { /* an ActionCard needs a button: plain markdown then */
        json_decref(btns);
        body = json_pack("{s:s, s:{s:s, s:s}}", "msgtype", "markdown", "markdown", "title", title,
                         "text", text);
    }
    (void)json_object_set_new(body, "at", json_pack("{s:o, s:b}", "atUserIds", at, "isAtAll", 0));
    out->body = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (ch->secret) {
        char *sign = ac_dingtalk_sign(ch->secret, now_ms);
        out->url = ac_xasprintf("%s%ctimestamp=%lld&sign=%s", ch->url,
                                strchr(ch->url, '?') ? '&' : '?', (long long)now_ms, sign);
        free(sign);
    }
    else {
        out->url = ac_xstrdup(ch->url);
    }
    ac_http_out_header(out, "Content-Type", "application/json");
    free(title);
    free(text);
    return AC_OK;
}

/* DingTalk answers 200 with {"errcode": 0, "errmsg": "ok"}; 130101 is its
 * rate limit (20 messages a minute per robot). */
static int ding_result(const struct ac_channel *ch, long status, const char *body, char *why,
                       size_t whylen)
{
    json_t *j;
    long long code;
    int rc = ac_channel_status(status, why, whylen);

    (void)ch;
    if (rc != AC_OK) {
        return rc;
    }
    j = body ? json_loads(body, 0, NULL) : NULL;
    if (!j || !json_is_integer(json_object_get(j, "errcode"))) {
        (void)snprintf(why, whylen, "not a DingTalk answer");
        json_decref(j);
        return AC_EAGAIN;
    }
    code = json_integer_value(json_object_get(j, "errcode"));
    if (code != 0) {
        const char *msg = json_string_value(json_object_get(j, "errmsg"));
        (void)snprintf(why, whylen, "DingTalk errcode %lld: %s", code, msg ? msg : "");
        rc = code == 130101 || code == -1 ? AC_EAGAIN : AC_EINVAL;
    }
    json_decref(j);
    return rc;
}

static const char *const chat_keys[] = {"secret_env", "secret_file", "title", "text", NULL};

const struct ac_channel_ops ac_channel_dingtalk = {
    .kind = "dingtalk",
    .per_contact = false,
    .keys = chat_keys,
    .configure = chat_configure,
    .deinit = chat_deinit,
    .build = ding_build,
    .result = ding_result,
};

static int slack_build(const struct ac_channel *ch, const json_t *ctx, int64_t now_ms,
                       struct ac_http_out *out)
{
    const struct chat_priv *p = ch->priv;
    const json_t *actions = json_object_get(ctx, "actions");
    char *title = ac_tpl_render(p->title, ctx, AC_TPL_TEXT);
    char *text = ac_tpl_render(p->text, ctx, AC_TPL_TEXT);
    json_t *buttons = json_array(), *blocks, *body, *at = ac_channel_mentions(ctx, "slack"), *id;
    size_t k;

    (void)now_ms;
    json_array_foreach(at, k, id) /* Slack mentions: <@U...> */
    {
        char *t = ac_xasprintf("%s%s<@%s>", text, k ? " " : "\n", json_string_value(id));
        free(text);
        text = t;
    }
    json_decref(at);
    blocks = json_pack("[{s:s, s:{s:s, s:s}}, {s:s, s:{s:s, s:s}}]", "type", "header", "text",
                       "type", "plain_text", "text", title, "type", "section", "text", "type",
                       "mrkdwn", "text", text);
    for (size_t i = 0; i < sizeof(chat_actions) / sizeof(chat_actions[0]); i++) {
        const char *url = json_string_value(json_object_get(actions, chat_actions[i].key));
        if (url) {
            (void)json_array_append_new(buttons, json_pack("{s:s, s:{s:s, s:s}, s:s, s:s}", "type",
                                                           "button", "text", "type", "plain_text",
                                                           "text", chat_actions[i].label, "url",
                                                           url, "action_id", chat_actions[i].key));
        }
    }
    if (json_array_size(buttons) > 0) {
        (void)json_array_append_new(
            blocks, json_pack("{s:s, s:o}", "type", "actions", "elements", buttons));
    }
    else {
        json_decref(buttons);
    }
    body = json_pack("{s:s, s:o}", "text", title, "blocks", blocks);
    out->body = json_dumps(body, JSON_COMPACT);
    out->url = ac_xstrdup(ch->url);
    ac_http_out_header(out, "Content-Type", "application/json");
    json_decref(body);
    free(title);
    free(text);
    return AC_OK;
}

static const char *const slack_keys[] = {"title", "text", NULL};

const struct ac_channel_ops ac_channel_slack = {
    .kind = "slack",
    .per_contact = false,
    .keys = slack_keys,
    .configure = chat_configure,
    .deinit = chat_deinit,
    .build = slack_build,
    .result = ac_channel_result_status,
};
