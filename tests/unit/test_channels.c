/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the notification channels (escalation/notify/channel.c and
 * channels/): configuration and its errors, the request each kind builds,
 * and how each judges the answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "escalation/notify/channel.h"
#include "escalation/notify/config.h"
#include "escalation/notify/sign.h"
#include "server/core/mem.h"
#include "tests/unit/unit.h"

#define NOW_MS 1700000000123LL

static json_t *context(bool resolved)
{
    return json_pack(
        "{s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s*}, s:s, s:s, s:s, s:s, s:{s:s, s:s},"
        " s:{s:s, s:s}, s:{s:s, s:s}}",
        "alert", "id", "42", "type", "DiskFull", "level", "P1", "status",
        resolved ? "resolved" : "firing", "fingerprint", "0123abcd", "app_id", "shop", "first_seen",
        "2026-11-22T08:00:00.000000Z", "resolved_at",
        resolved ? "2026-11-22T09:00:00.000000Z" : NULL, "reason", resolved ? "resolve" : "open",
        "level", "P1", "title", "[P1] DiskFull on shop", "text", "disk \"/\" full\nsecond line",
        "actions", "ack", "https://ac.example/v1/actions/tok-ack", "resolve",
        "https://ac.example/v1/actions/tok-res", "contact", "name", "ann", "phone",
        "+8613800000001", "notification", "id", "7", "key", "n7-sms-ann");
}

static int configure(const char *name, const char *cfg_text, struct ac_channel *ch,
                     json_t **errs_out)
{
    json_t *cfg = json_loads(cfg_text, 0, NULL), *errs = json_array();
    int rc;

    assert_non_null(cfg);
    rc = ac_channel_configure(ch, name, cfg, errs);
    json_decref(cfg);
    if (errs_out) {
        *errs_out = errs;
    }
    else {
        if (rc != AC_OK) {
            fail_msg("configure failed: %s", json_dumps(errs, 0));
        }
        json_decref(errs);
    }
    return rc;
}

static bool has_header(const struct ac_http_out *o, const char *h)
{
    for (size_t i = 0; i < o->nheaders; i++) {
        if (strcmp(o->headers[i], h) == 0) {
            return true;
        }
    }
    return false;
}

static void test_config_errors(void **state)
{
    struct ac_channel ch;
    json_t *errs;

    (void)state;
    unsetenv("AC_TEST_NO_SUCH_SECRET");
    assert_int_equal(configure("x", "{\"kind\":\"pager\",\"url\":\"http://h/\"}", &ch, &errs),
                     AC_EINVAL);
    assert_true(unit_has_error(errs, "notify.channels.x", "kind"));
    json_decref(errs);
    assert_int_equal(
        configure("x", "{\"kind\":\"sms\",\"url\":\"ftp://h/\",\"colour\":1}", &ch, &errs),
        AC_EINVAL);
    assert_true(unit_has_error(errs, "notify.channels.x.url", NULL));
    assert_true(unit_has_error(errs, "notify.channels.x.colour", NULL));
    json_decref(errs);
    assert_int_equal(configure("x",
                               "{\"kind\":\"dingtalk\",\"url\":\"https://h/robot/send?"
                               "access_token=t\",\"secret_env\":\"AC_TEST_NO_SUCH_SECRET\"}",
                               &ch, &errs),
                     AC_EINVAL);
    assert_true(unit_has_error(errs, "notify.channels.x.secret_env", "not set"));
    json_decref(errs);
    assert_int_equal(
        configure("x", "{\"kind\":\"sms\",\"url\":\"http://h/\",\"body\":\"{{#a}}\"}", &ch, &errs),
        AC_EINVAL);
    assert_true(unit_has_error(errs, "notify.channels.x.body", "not closed"));
    json_decref(errs);
}

static void test_sms(void **state)
{
    struct ac_channel ch;
    struct ac_http_out o = {0};
    json_t *ctx = context(false), *body;
    char why[128];

    (void)state;
    setenv("AC_TEST_SMS_AUTH", "APPCODE s3cret", 1);
    (void)configure("sms",
                    "{\"kind\":\"sms\",\"url\":\"http://127.0.0.1:9/sms\","
                    "\"auth_env\":\"AC_TEST_SMS_AUTH\"}",
                    &ch, NULL);
    assert_true(ch.ops->per_contact);
    assert_int_equal(ac_channel_build(&ch, ctx, NOW_MS, &o), AC_OK);
    assert_string_equal(o.url, "http://127.0.0.1:9/sms");
    body = json_loads(o.body, 0, NULL);
    assert_non_null(body); /* quotes and newlines of the message escaped */
    assert_string_equal(json_string_value(json_object_get(body, "to")), "+8613800000001");
    assert_string_equal(json_string_value(json_object_get(body, "text")),
                        "[P1] DiskFull on shop\ndisk \"/\" full\nsecond line");
    assert_true(has_header(&o, "Idempotency-Key: n7-sms-ann"));
    assert_true(has_header(&o, "Authorization: APPCODE s3cret"));
    json_decref(body);
    ac_http_out_deinit(&o);
    assert_int_equal(ch.ops->result(&ch, 200, "", why, sizeof(why)), AC_OK);
    assert_int_equal(ch.ops->result(&ch, 503, "", why, sizeof(why)), AC_EAGAIN);
    assert_int_equal(ch.ops->result(&ch, 429, "", why, sizeof(why)), AC_EAGAIN);
    assert_int_equal(ch.ops->result(&ch, 0, NULL, why, sizeof(why)), AC_EAGAIN);
    assert_int_equal(ch.ops->result(&ch, 400, "bad", why, sizeof(why)), AC_EINVAL);
    assert_string_equal(why, "HTTP 400");
    /* no phone: nothing to send on this channel */
    (void)json_object_del(json_object_get(ctx, "contact"), "phone");
    assert_int_equal(ch.ops->build(&ch, ctx, NOW_MS, &o), AC_EINVAL);
    ac_http_out_deinit(&o);
    ac_channel_deinit(&ch);
    json_decref(ctx);
}

static void test_dingtalk(void **state)
{
    struct ac_channel ch;
    struct ac_http_out o = {0};
    json_t *ctx = context(false), *body, *btns;
    char why[128], *sign, *want;

    (void)state;
    setenv("AC_TEST_DING_SECRET", "this is secret", 1);
    (void)configure("ops",
                    "{\"kind\":\"dingtalk\",\"url\":\"https://oapi.dingtalk.com/robot/"
                    "send?access_token=abc\",\"secret_env\":\"AC_TEST_DING_SECRET\"}",
                    &ch, NULL);
    assert_false(ch.ops->per_contact);
    assert_int_equal(ch.ops->build(&ch, ctx, NOW_MS, &o), AC_OK);
    sign = ac_dingtalk_sign("this is secret", NOW_MS);
    want = ac_xasprintf("https://oapi.dingtalk.com/robot/send?access_token=abc&timestamp="
                        "%lld&sign=%s",
                        NOW_MS, sign);
    assert_string_equal(o.url, want);
    body = json_loads(o.body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(body, "msgtype")), "actionCard");
    btns = json_object_get(json_object_get(body, "actionCard"), "btns");
    assert_int_equal(json_array_size(btns), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(btns, 0), "title")),
                        "Acknowledge");
    assert_string_equal(json_string_value(json_object_get(json_array_get(btns, 1), "actionURL")),
                        "https://ac.example/v1/actions/tok-res");
    json_decref(body);
    ac_http_out_deinit(&o);
    assert_int_equal(
        ch.ops->result(&ch, 200, "{\"errcode\":0,\"errmsg\":\"ok\"}", why, sizeof(why)), AC_OK);
    assert_int_equal(ch.ops->result(&ch, 200, "{\"errcode\":130101,\"errmsg\":\"send too fast\"}",
                                    why, sizeof(why)),
                     AC_EAGAIN);
    assert_int_equal(ch.ops->result(&ch, 200, "{\"errcode\":310000,\"errmsg\":\"sign not match\"}",
                                    why, sizeof(why)),
                     AC_EINVAL);
    assert_non_null(strstr(why, "sign not match"));
    /* without action links: markdown */
    (void)json_object_del(ctx, "actions");
    assert_int_equal(ch.ops->build(&ch, ctx, NOW_MS, &o), AC_OK);
    body = json_loads(o.body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(body, "msgtype")), "markdown");
    json_decref(body);
    ac_http_out_deinit(&o);
    free(sign);
    free(want);
    ac_channel_deinit(&ch);
    json_decref(ctx);
}

/* Every HTTP request gets the notification's key; chat ids are @mentioned. */
static void test_keys_and_mentions(void **state)
{
    struct ac_channel ch;
    struct ac_http_out o = {0};
    json_t *ctx = context(false), *body, *at;

    (void)state;
    (void)json_object_set_new(ctx, "recipients",
                              json_pack("[{s:s, s:{s:s, s:s}}, {s:s, s:{s:s}}, {s:s}]", "name",
                                        "ann", "chat", "dingtalk", "d-ann", "slack", "U1", "name",
                                        "bob", "chat", "slack", "U2", "name", "cid"));
    (void)configure("ops", "{\"kind\":\"dingtalk\",\"url\":\"https://h/robot\"}", &ch, NULL);
    assert_int_equal(ac_channel_build(&ch, ctx, NOW_MS, &o), AC_OK);
    assert_true(has_header(&o, "Idempotency-Key: n7-sms-ann"));
    body = json_loads(o.body, 0, NULL);
    at = json_object_get(json_object_get(body, "at"), "atUserIds");
    assert_int_equal(json_array_size(at), 1);
    assert_string_equal(json_string_value(json_array_get(at, 0)), "d-ann");
    assert_non_null(strstr(o.body, "@d-ann"));
    json_decref(body);
    ac_http_out_deinit(&o);
    ac_channel_deinit(&ch);
    (void)configure("team", "{\"kind\":\"slack\",\"url\":\"https://h/slack\"}", &ch, NULL);
    assert_int_equal(ac_channel_build(&ch, ctx, NOW_MS, &o), AC_OK);
    assert_true(has_header(&o, "Idempotency-Key: n7-sms-ann"));
    assert_non_null(strstr(o.body, "<@U1>"));
    assert_non_null(strstr(o.body, "<@U2>"));
    ac_http_out_deinit(&o);
    ac_channel_deinit(&ch);
    (void)configure("arms", "{\"kind\":\"arms\",\"url\":\"http://h/am\"}", &ch, NULL);
    assert_int_equal(ac_channel_build(&ch, ctx, NOW_MS, &o), AC_OK);
    assert_true(has_header(&o, "Idempotency-Key: n7-sms-ann"));
    ac_http_out_deinit(&o);
    ac_channel_deinit(&ch);
    json_decref(ctx);
}

static void test_email(void **state)
{
    struct ac_channel ch;
    struct ac_http_out o = {0};
    json_t *ctx = context(false), *errs = NULL;
    char why[64];

    (void)state;
    setenv("AC_TEST_SMTP_PW", "pw", 1);
    (void)configure("mail",
                    "{\"kind\":\"email\",\"url\":\"smtp://mx.example:587\",\"from\":"
                    "\"ac@example.com\",\"username\":\"ac\",\"password_env\":\"AC_TEST_SMTP_PW\"}",
                    &ch, NULL);
    assert_true(ch.ops->per_contact);
    /* ann has no email address: nothing to send */
    assert_int_equal(ac_channel_build(&ch, ctx, NOW_MS, &o), AC_EINVAL);
    ac_http_out_deinit(&o);
    (void)json_object_set_new(json_object_get(ctx, "contact"), "email",
                              json_string("ann@example.com"));
    assert_int_equal(ac_channel_build(&ch, ctx, NOW_MS, &o), AC_OK);
    assert_string_equal(o.rcpt, "ann@example.com");
    assert_non_null(strstr(o.body, "From: <ac@example.com>\r\n"));
    assert_non_null(strstr(o.body, "Subject: [P1] DiskFull on shop\r\n"));
    assert_non_null(strstr(o.body, "Message-ID: <n7-sms-ann@alertcenter>\r\n"));
    assert_non_null(strstr(o.body, "\r\n\r\ndisk \"/\" full\r\nsecond line"));
    assert_false(has_header(&o, "Idempotency-Key: n7-sms-ann")); /* no HTTP here */
    ac_http_out_deinit(&o);
    assert_int_equal(ch.ops->result(&ch, 250, "", why, sizeof(why)), AC_OK);
    assert_int_equal(ch.ops->result(&ch, 451, "", why, sizeof(why)), AC_EAGAIN);
    assert_int_equal(ch.ops->result(&ch, 550, "", why, sizeof(why)), AC_EINVAL);
    ac_channel_deinit(&ch);
    /* refused: an http URL, a bad sender, a password without a user */
    assert_int_equal(configure("mail",
                               "{\"kind\":\"email\",\"url\":\"http://mx/\",\"from\":\"nobody\","
                               "\"password_env\":\"AC_TEST_SMTP_PW\"}",
                               &ch, &errs),
                     AC_EINVAL);
    assert_true(json_array_size(errs) >= 1);
    json_decref(errs);
    json_decref(ctx);
}

static void test_slack_and_webhook(void **state)
{
    struct ac_channel ch;
    struct ac_http_out o = {0};
    json_t *ctx = context(false), *body, *blocks;
    char *sig, *hdr;

    (void)state;
    (void)configure("team",
                    "{\"kind\":\"slack\",\"url\":\"https://hooks.slack.com/services/T/B/x\"}", &ch,
                    NULL);
    assert_int_equal(ch.ops->build(&ch, ctx, NOW_MS, &o), AC_OK);
    body = json_loads(o.body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(body, "text")), "[P1] DiskFull on shop");
    blocks = json_object_get(body, "blocks");
    assert_string_equal(json_string_value(json_object_get(json_array_get(blocks, 2), "type")),
                        "actions");
    json_decref(body);
    ac_http_out_deinit(&o);
    ac_channel_deinit(&ch);

    setenv("AC_TEST_HOOK_SECRET", "whsec", 1);
    (void)configure("hook",
                    "{\"kind\":\"webhook\",\"url\":\"http://127.0.0.1:9/hook\","
                    "\"secret_env\":\"AC_TEST_HOOK_SECRET\"}",
                    &ch, NULL);
    assert_int_equal(ch.ops->build(&ch, ctx, NOW_MS, &o), AC_OK);
    body = json_loads(o.body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(body, "version")), "1");
    assert_string_equal(json_string_value(json_object_get(json_object_get(body, "alert"), "type")),
                        "DiskFull");
    sig = ac_webhook_signature("whsec", NOW_MS / 1000, o.body, strlen(o.body));
    hdr = ac_xasprintf("X-AC-Signature: sha256=%s", sig);
    assert_true(has_header(&o, hdr));
    assert_true(has_header(&o, "X-AC-Timestamp: 1700000000"));
    json_decref(body);
    free(sig);
    free(hdr);
    ac_http_out_deinit(&o);
    ac_channel_deinit(&ch);
    json_decref(ctx);
}

static void test_arms(void **state)
{
    struct ac_channel ch;
    struct ac_http_out o = {0};
    json_t *ctx = context(false), *body, *a;

    (void)state;
    (void)configure("arms", "{\"kind\":\"arms\",\"url\":\"http://127.0.0.1:9/am\"}", &ch, NULL);
    assert_int_equal(ch.ops->build(&ch, ctx, NOW_MS, &o), AC_OK);
    body = json_loads(o.body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(body, "version")), "4");
    assert_string_equal(json_string_value(json_object_get(body, "status")), "firing");
    assert_string_equal(json_string_value(json_object_get(body, "receiver")), "arms");
    assert_int_equal(json_integer_value(json_object_get(body, "truncatedAlerts")), 0);
    a = json_array_get(json_object_get(body, "alerts"), 0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(a, "labels"), "alertname")), "DiskFull");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(a, "labels"), "severity")), "critical");
    assert_string_equal(json_string_value(json_object_get(a, "endsAt")), "0001-01-01T00:00:00Z");
    json_decref(body);
    ac_http_out_deinit(&o);
    json_decref(ctx);
    ctx = context(true);
    assert_int_equal(ch.ops->build(&ch, ctx, NOW_MS, &o), AC_OK);
    body = json_loads(o.body, 0, NULL);
    a = json_array_get(json_object_get(body, "alerts"), 0);
    assert_string_equal(json_string_value(json_object_get(body, "status")), "resolved");
    assert_string_equal(json_string_value(json_object_get(a, "endsAt")),
                        "2026-11-22T09:00:00.000000Z");
    json_decref(body);
    ac_http_out_deinit(&o);
    ac_channel_deinit(&ch);
    json_decref(ctx);
}

static void test_notify_config(void **state)
{
    struct ac_notify_config c;
    json_t *cfg, *errs = json_array();

    (void)state;
    /* without "levels": DESIGN §6 by kind */
    cfg = json_loads("{\"channels\":{\"call\":{\"kind\":\"phone\",\"url\":\"http://h/c\"},"
                     "\"text\":{\"kind\":\"sms\",\"url\":\"http://h/s\"},"
                     "\"chat\":{\"kind\":\"slack\",\"url\":\"http://h/k\"}},"
                     "\"mtta_s\":{\"P1\":60}}",
                     0, NULL);
    assert_int_equal(ac_notify_config_load(&c, cfg, errs), AC_OK);
    assert_int_equal(c.nlevel[0], 3); /* P1: phone, sms, chat */
    assert_int_equal(c.nlevel[1], 2); /* P2: sms, chat */
    assert_int_equal(c.nlevel[2], 1); /* P3: chat */
    assert_string_equal(c.channels[c.level_channels[2][0]].name, "chat");
    assert_false(ac_notify_level_notifies(&c, AC_LEVEL_P4));
    assert_true(ac_notify_level_notifies(&c, AC_LEVEL_P3));
    assert_int_equal(c.mtta_s[0], 60);
    assert_int_equal(c.mtta_s[1], 600); /* the default */
    ac_notify_config_deinit(&c);
    json_decref(cfg);

    /* explicit levels, and what is refused */
    cfg = json_loads("{\"channels\":{\"text\":{\"kind\":\"sms\",\"url\":\"http://h/s\"}},"
                     "\"levels\":{\"P4\":[\"text\"],\"P9\":[],\"P1\":[\"pager\"]},"
                     "\"retry\":{\"base_ms\":5000,\"cap_ms\":1000},\"colour\":1}",
                     0, NULL);
    assert_int_equal(ac_notify_config_load(&c, cfg, errs), AC_EINVAL);
    assert_true(unit_has_error(errs, "notify.levels.P9", NULL));
    assert_true(unit_has_error(errs, "notify.levels.P1", "pager"));
    assert_true(unit_has_error(errs, "notify.retry.cap_ms", NULL));
    assert_true(unit_has_error(errs, "notify.colour", NULL));
    json_decref(cfg);
    /* the O&M webhook's problems under its own path */
    cfg = json_loads(
        "{\"actions\":{\"secret_env\":\"PATH\",\"om_webhook\":{\"url\":\"ftp://x/\"}}}", 0, NULL);
    assert_int_equal(ac_notify_config_load(&c, cfg, errs), AC_EINVAL);
    assert_true(unit_has_error(errs, "notify.actions.om_webhook.url", NULL));
    json_decref(cfg);
    json_decref(errs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_sms),
        cmocka_unit_test(test_dingtalk),
        cmocka_unit_test(test_slack_and_webhook),
        cmocka_unit_test(test_arms),
        cmocka_unit_test(test_notify_config),
        cmocka_unit_test(test_keys_and_mentions),
        cmocka_unit_test(test_email),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
