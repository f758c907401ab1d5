/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The "email" channel: one message per recipient with an email address, over
 * SMTP with libcurl. Settings: "url" (smtp://host:port, or smtps:// for TLS
 * from the start), "from" (the sender address), "starttls" (on smtp://,
 * default true: STARTTLS is required, never plain text), "username" and
 * "password_env" | "password_file" (SMTP AUTH; never logged), "ca_file" (a CA
 * bundle to trust instead of the system's), "subject" and "text"
 * (templates; default the notification's title and text). The message
 * carries the notification's key as its Message-ID, so a retry is
 * recognisably the same message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "escalation/notify/channel.h"
#include "escalation/notify/template.h"
#include "schema/event.h"
#include "server/core/mem.h"

struct email_priv {
    char *from, *username, *password, *ca_file;
    char *subject, *text; /* templates */
    bool starttls;
};

static bool email_addr_ok(const char *a)
{
    /* an address we can put in an envelope: something@something, no
     * spaces, angle brackets or line breaks */
    const char *at = a ? strchr(a, '@') : NULL;

    return at && at != a && at[1] && strcspn(a, " \t\r\n<>,;\"") == strlen(a) && strlen(a) <= 254;
}

static int email_configure(struct ac_channel *ch, const json_t *cfg, const char *path,
                           json_t *errors)
{
    struct email_priv *p = ac_xcalloc(1, sizeof(*p));
    const char *from = json_string_value(json_object_get(cfg, "from"));
    const char *user = json_string_value(json_object_get(cfg, "username"));
    const char *ca = json_string_value(json_object_get(cfg, "ca_file"));
    const char *subject = json_string_value(json_object_get(cfg, "subject"));
    const char *text = json_string_value(json_object_get(cfg, "text"));
    const json_t *tls = json_object_get(cfg, "starttls");
    char kp[200], err[160];
    int rc = AC_OK;

    ch->priv = p;
    if (!email_addr_ok(from)) {
        (void)snprintf(kp, sizeof(kp), "%s.from", path);
        ac_event_error(errors, -1, kp, "must be an email address");
        rc = AC_EINVAL;
    }
    if (tls && !json_is_boolean(tls)) {
        (void)snprintf(kp, sizeof(kp), "%s.starttls", path);
        ac_event_error(errors, -1, kp, "must be true or false");
        rc = AC_EINVAL;
    }
    p->starttls = !tls || json_is_true(tls);
    p->from = ac_xstrdup(from ? from : "");
    p->username = user ? ac_xstrdup(user) : NULL;
    p->ca_file = ca ? ac_xstrdup(ca) : NULL;
    p->subject = ac_xstrdup(subject ? subject : "{{title}}");
    p->text = ac_xstrdup(text ? text : "{{text}}");
    for (int i = 0; i < 2; i++) {
        if (!ac_tpl_check(i ? p->text : p->subject, err, sizeof(err))) {
            (void)snprintf(kp, sizeof(kp), "%s.%s", path, i ? "text" : "subject");
            ac_event_error(errors, -1, kp, "%s", err);
            rc = AC_EINVAL;
        }
    }
    if (!ac_channel_secret(cfg, "password", path, &p->password, errors)) {
        rc = AC_EINVAL;
    }
    if (p->password && !p->username) {
        (void)snprintf(kp, sizeof(kp), "%s.username", path);
        ac_event_error(errors, -1, kp, "is needed with a password");
        rc = AC_EINVAL;
    }
    return rc;
}

static void email_deinit(struct ac_channel *ch)
{
    struct email_priv *p = ch->priv;

    if (p) {
        free(p->from);
        free(p->username);
        if (p->password) {
            memset(p->password, 0, strlen(p->password));
            free(p->password);
        }
        free(p->ca_file);
        free(p->subject);
        free(p->text);
        free(p);
    }
    ch->priv = NULL;
}

/* Appends s with every line break as CRLF, and a line that starts with a dot
 * doubled (SMTP's transparency; libcurl does it too, but a header must not
 * break either). header: line breaks become spaces. */
static void email_put(struct ac_buf *b, const char *s, bool header)
{
    bool bol = true;

    for (; s && *s; s++) {
        if (*s == '\r') {
            continue;
        }
        if (*s == '\n') {
            ac_buf_appends(b, header ? " " : "\r\n");
            bol = !header;
            continue;
        }
        if (bol && *s == '.' && !header) {
            ac_buf_appends(b, ".");
        }
        ac_buf_append(b, s, 1);
        bol = false;
    }
}

static int email_build(const struct ac_channel *ch, const json_t *ctx, int64_t now_ms,
                       struct ac_http_out *out)
{
    const struct email_priv *p = ch->priv;
    const char *to = json_string_value(json_object_get(json_object_get(ctx, "contact"), "email"));
    const char *key =
        json_string_value(json_object_get(json_object_get(ctx, "notification"), "key"));
    char *subject, *text, date[64];
    struct ac_buf b = {0};
    time_t t = (time_t)(now_ms / 1000);
    struct tm tm;

    if (!email_addr_ok(to)) {
        return AC_EINVAL; /* a recipient without an email address: nothing to send here */
    }
    subject = ac_tpl_render(p->subject, ctx, AC_TPL_TEXT);
    text = ac_tpl_render(p->text, ctx, AC_TPL_TEXT);
    (void)gmtime_r(&t, &tm);
    (void)strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    ac_buf_printf(&b, "Date: %s\r\nFrom: <%s>\r\nTo: <%s>\r\nMessage-ID: <%s@alertcenter>\r\n",
                  date, p->from, to, key ? key : "none");
    ac_buf_appends(&b, "Subject: ");
    email_put(&b, subject, true);
    ac_buf_appends(&b, "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                       "Content-Transfer-Encoding: 8bit\r\n\r\n");
    email_put(&b, text, false);
    ac_buf_appends(&b, "\r\n");
    out->url = ac_xstrdup(ch->url);
    out->rcpt = ac_xstrdup(to);
    out->body = ac_buf_steal(&b);
    ac_buf_deinit(&b);
    free(subject);
    free(text);
    return AC_OK;
}

/* Feeds the message to libcurl. */
static size_t email_read(char *buf, size_t size, size_t nitems, void *ud)
{
    struct ac_http_answer *a = ud;
    const char *msg = a->body.data; /* the message, kept in the answer's buffer */
    size_t len = msg ? strlen(msg) : 0, n = size * nitems;

    if (a->sent >= len) {
        return 0;
    }
    n = n < len - a->sent ? n : len - a->sent;
    memcpy(buf, msg + a->sent, n);
    a->sent += n;
    return n;
}

/* SMTP sends no body back; anything it would write is dropped. */
static size_t email_discard(char *p, size_t size, size_t nmemb, void *ud)
{
    (void)p;
    (void)ud;
    return size * nmemb;
}

static CURL *email_easy(const struct ac_channel *ch, const struct ac_http_out *out,
                        struct ac_http_answer *ans, struct curl_slist **rcpts)
{
    const struct email_priv *p = ch->priv;
    CURL *c = curl_easy_init();

    AC_ASSERT(c != NULL);
    /* the message rides in the answer's buffer: nothing is read back */
    ac_buf_deinit(&ans->body);
    ac_buf_appends(&ans->body, out->body);
    ans->sent = 0;
    *rcpts = curl_slist_append(NULL, out->rcpt);
    (void)curl_easy_setopt(c, CURLOPT_URL, out->url);
    (void)curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    (void)curl_easy_setopt(c, CURLOPT_MAIL_FROM, p->from);
    (void)curl_easy_setopt(c, CURLOPT_MAIL_RCPT, *rcpts);
    (void)curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    (void)curl_easy_setopt(c, CURLOPT_READFUNCTION, email_read);
    (void)curl_easy_setopt(c, CURLOPT_READDATA, ans);
    (void)curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, email_discard);
    if (p->starttls) {
        (void)curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    }
    if (p->ca_file) {
        (void)curl_easy_setopt(c, CURLOPT_CAINFO, p->ca_file);
    }
    if (p->username) {
        (void)curl_easy_setopt(c, CURLOPT_USERNAME, p->username);
        (void)curl_easy_setopt(c, CURLOPT_PASSWORD, p->password ? p->password : "");
    }
    (void)curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ch->timeout_ms);
    (void)curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ch->timeout_ms);
    (void)curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    return c;
}

/* The last SMTP reply: 2xx sent; 4xx (and no answer) again later; 5xx never. */
static int email_result(const struct ac_channel *ch, long status, const char *body, char *why,
                        size_t whylen)
{
    (void)ch;
    (void)body;
    if (status >= 200 && status < 300) {
        return AC_OK;
    }
    if (status == 0 || (status >= 400 && status < 500)) {
        (void)snprintf(why, whylen, status ? "SMTP %ld" : "no answer", status);
        return AC_EAGAIN;
    }
    (void)snprintf(why, whylen, "SMTP %ld", status);
    return AC_EINVAL;
}

static const char *const email_keys[] = {"from",         "starttls",      "username",
                                         "password_env", "password_file", "ca_file",
                                         "subject",      "text",          NULL};

const struct ac_channel_ops ac_channel_email = {
    .kind = "email",
    .per_contact = true,
    .keys = email_keys,
    .configure = email_configure,
    .deinit = email_deinit,
    .build = email_build,
    .result = email_result,
    .easy = email_easy,
};
