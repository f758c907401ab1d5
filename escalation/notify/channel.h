/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Notification channels (DESIGN §6), plugins behind struct ac_channel_ops
 * (STYLE §1). A channel turns one notification - a JSON context of the alert,
 * why it is sent, its action links and its recipients - into one HTTP
 * request, and judges the answer: sent, retry later (AC_EAGAIN: timeouts,
 * 408, 429, 5xx, a chat API's rate limit), or failed for good (AC_EINVAL).
 * Sending itself (libcurl multi, retries, the outbox) is the dispatcher's.
 *
 * Kinds: "sms" and "phone" (HTTP gateways: URL, auth header, body template;
 * one request per recipient with a phone), "dingtalk" (custom robot webhook,
 * signed, ActionCard with the action buttons), "slack" (incoming webhook,
 * blocks with buttons), "webhook" (generic JSON, HMAC-signed), "arms"
 * (Alertmanager webhook v4, for ARMS or any Alertmanager receiver), "email"
 * (SMTP with libcurl, one message per recipient with an email address:
 * "url" smtp:// or smtps://, "from", "starttls" (default true on smtp://),
 * "username" and "password_env" | "password_file", "ca_file"). Chat
 * messages @mention the recipients' chat ids (contact.chat.dingtalk /
 * .slack). Every HTTP request carries the notification's Idempotency-Key.
 *
 * Configuration: {"kind", "url", and per kind: "auth_header"?, "auth_env" |
 * "auth_file" (the header's value, a secret), "secret_env" | "secret_file"
 * (signing secret), "body" (template, JSON-escaped), "title"/"text"
 * (templates), "timeout_ms"?}. Secrets are read once, never logged.
 *
 * The context (built by the planner, plan.h): {"incident": {...the incident
 * resource}, "alert": {...its oldest open alert, at the incident's level},
 * "reason": "open"|"escalate"|"resolve"|"repeat"|"timeout"|"summary",
 * "level", "title", "text" (default message lines), "escalation"?: {"from",
 * "to", "why"}, "summary"?: {"new_alerts", "apps", "gc_users"}, "tier",
 * "actions": {"ack", "resolve", "silence", ...: URLs on the incident},
 * "recipients": [contacts], "contact"?: the one recipient (person channels),
 * "notification": {"id", "key"}}.
 */
#ifndef AC_ESCALATION_NOTIFY_CHANNEL_H
#define AC_ESCALATION_NOTIFY_CHANNEL_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/core/err.h"
#include "server/core/mem.h"

#define AC_CHANNEL_HEADERS_MAX 8

/* One HTTP request to send. */
struct ac_http_out {
    char *url;
    char *headers[AC_CHANNEL_HEADERS_MAX]; /* "Name: value" */
    size_t nheaders;
    char *body;
    char *rcpt; /* email: the envelope recipient, else NULL */
};
void ac_http_out_deinit(struct ac_http_out *o);

struct ac_channel;

/* An answer being read: at most max bytes of it are kept. */
struct ac_http_answer {
    struct ac_buf body;
    size_t max;
    size_t sent; /* email: how much of the message was uploaded */
};

/*
 * A libcurl easy handle that POSTs out (borrowed until the transfer ends) with
 * ch's timeouts, over http or https only, the answer into ans. *headers gets
 * the header list to free (curl_slist_free_all) after the transfer.
 */
CURL *ac_channel_easy(const struct ac_channel *ch, const struct ac_http_out *out,
                      struct ac_http_answer *ans, struct curl_slist **headers);
void ac_http_out_header(struct ac_http_out *o, const char *name, const char *value);

struct ac_channel;

struct ac_channel_ops {
    const char *kind;
    bool per_contact;        /* one request per recipient (sms, phone) */
    const char *const *keys; /* its settings besides kind, url, timeout_ms (NULL-ended) */
    /* Reads the kind's own settings from cfg (borrowed) into ch->priv;
     * problems appended to errors with path. */
    int (*configure)(struct ac_channel *ch, const json_t *cfg, const char *path, json_t *errors);
    void (*deinit)(struct ac_channel *ch);
    /* Builds the request for ctx (borrowed) at now_ms. */
    int (*build)(const struct ac_channel *ch, const json_t *ctx, int64_t now_ms,
                 struct ac_http_out *out);
    /* Judges the answer: AC_OK, AC_EAGAIN or AC_EINVAL; why gets a reason. */
    int (*result)(const struct ac_channel *ch, long status, const char *body, char *why,
                  size_t whylen);
    /* The transfer, when it is no HTTP POST (email), else NULL: as
     * ac_channel_easy. */
    CURL *(*easy)(const struct ac_channel *ch, const struct ac_http_out *out,
                  struct ac_http_answer *ans, struct curl_slist **headers);
};

struct ac_channel {
    char *name;
    const struct ac_channel_ops *ops;
    char *url;
    char *auth_header; /* "Name: value", or NULL */
    char *secret;      /* signing secret, or NULL */
    long timeout_ms;
    void *priv;
};

/* The ops of a kind, or NULL. */
const struct ac_channel_ops *ac_channel_kind(const char *kind);

/* Builds ch's request for ctx (ops->build), and gives every HTTP request the
 * notification's Idempotency-Key (ctx.notification.key), whatever the kind,
 * so a receiver can drop a retry it already has. */
int ac_channel_build(const struct ac_channel *ch, const json_t *ctx, int64_t now_ms,
                     struct ac_http_out *out);

/* Configures a channel named name from cfg. Returns AC_OK or AC_EINVAL. */
AC_MUST_CHECK int ac_channel_configure(struct ac_channel *ch, const char *name, const json_t *cfg,
                                       json_t *errors);
/* The same with problems reported under path (a channel outside "channels"). */
AC_MUST_CHECK int ac_channel_configure_at(struct ac_channel *ch, const char *name, const char *path,
                                          const json_t *cfg, json_t *errors);
void ac_channel_deinit(struct ac_channel *ch);

/* The usual judgement of an HTTP status: 2xx AC_OK; 408, 425, 429, 5xx and
 * 0 (no answer) AC_EAGAIN; the rest AC_EINVAL. */
int ac_channel_status(long status, char *why, size_t whylen);

/* Shared by the kinds: a secret from "<prefix>_env" or "<prefix>_file". */
/* ch->auth_header from "auth_header" (default Authorization) and the value
 * in auth_env / auth_file; none when neither is given. */
bool ac_channel_auth(struct ac_channel *ch, const json_t *cfg, const char *path, json_t *errors);
/* A result op judging by the status alone (ac_channel_status). */
int ac_channel_result_status(const struct ac_channel *ch, long status, const char *body, char *why,
                             size_t whylen);

bool ac_channel_secret(const json_t *cfg, const char *prefix, const char *path, char **out,
                       json_t *errors);

extern const struct ac_channel_ops ac_channel_sms, ac_channel_phone, ac_channel_webhook,
    ac_channel_dingtalk, ac_channel_slack, ac_channel_arms, ac_channel_email;

/* The chat ids (contact.chat.<app>) of ctx's recipients, in order, each once:
 * a new array of strings. */
json_t *ac_channel_mentions(const json_t *ctx, const char *app);

#endif
