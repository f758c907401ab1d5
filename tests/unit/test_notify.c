/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the notification building blocks: the DingTalk robot
 * signature and the webhook signature (escalation/notify/sign.c), backoff
 * with jitter and Retry-After (backoff.c), and templates (template.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escalation/notify/action.h"
#include "escalation/notify/backoff.h"
#include "escalation/notify/sign.h"
#include "escalation/notify/template.h"

/* DingTalk's documented algorithm with its sample secret ("this is secret"):
 * the expected values come from the documentation's own Python sample code
 * (hmac + base64 + urllib.parse.quote_plus) run at these timestamps. */
static void test_dingtalk_sign(void **state)
{
    char *s;

    (void)state;
    s = ac_dingtalk_sign("this is secret", 1577262236757LL);
    assert_string_equal(s, "hmPWwU%2B7lVdm3ZZz0r9tSfx0L4Q26jWOZr9%2BGs6EZQM%3D");
    free(s);
    s = ac_dingtalk_sign("SEC5a3ecf88f2b3eb50db30ecfc00f53033ac909c99bf7f88fd612bda89d7f3a9dc",
                         1700000000000LL);
    assert_string_equal(s, "6O5F%2FtvvUmbKr2ymOJ0PWyrKAGbwBxjupTxbQ4wDE5M%3D");
    free(s);
}

static void test_webhook_signature(void **state)
{
    static const char body[] = "{\"a\":1}";
    char *s;

    (void)state;
    s = ac_webhook_signature("whsec", 1700000000, body, strlen(body));
    assert_string_equal(s, "8ad37ba156048ae0e0a5533c75cdf26fee88b07f93cb57ee4c80adb053012032");
    free(s);
    s = ac_webhook_signature("whsec", 1700000001, body, strlen(body)); /* replayed later */
    assert_string_not_equal(s, "8ad37ba156048ae0e0a5533c75cdf26fee88b07f93cb57ee4c80adb053012032");
    free(s);
}

static void test_backoff(void **state)
{
    const struct ac_backoff b = {.base_ms = 1000, .cap_ms = 60000};
    int64_t ms = -1;

    (void)state;
    /* 1 s, 2 s, 4 s ... capped at 60 s; jitter is the upper half */
    assert_int_equal(ac_backoff_delay(&b, 1, 0.0), 500);
    assert_int_equal(ac_backoff_delay(&b, 1, 0.999999), 999);
    assert_int_equal(ac_backoff_delay(&b, 2, 0.0), 1000);
    assert_int_equal(ac_backoff_delay(&b, 3, 0.5), 3000);
    assert_int_equal(ac_backoff_delay(&b, 7, 0.0), 30000); /* 64 s capped to 60 */
    assert_int_equal(ac_backoff_delay(&b, 40, 0.0), 30000);
    assert_true(ac_backoff_delay(&b, 40, 0.99) <= 60000);
    assert_int_equal(ac_backoff_delay(&b, 1, 7.0), 500); /* r out of range */

    assert_true(ac_retry_after_ms("120", 0, &ms));
    assert_int_equal(ms, 120000);
    assert_true(ac_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", 1445412450, &ms));
    assert_int_equal(ms, 30000);
    assert_true(ac_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", 1445412500, &ms));
    assert_int_equal(ms, 0); /* already past */
    ms = -1;
    assert_false(ac_retry_after_ms("soon", 0, &ms));
    assert_false(ac_retry_after_ms("12x", 0, &ms));
    assert_false(ac_retry_after_ms(NULL, 0, &ms));
    assert_int_equal(ms, -1);
}

static void test_template(void **state)
{
    json_t *ctx = json_pack("{s:{s:s, s:s, s:i, s:b, s:s, s:n}, s:s}", "alert", "type", "DiskFull",
                            "title", "disk \"/\" at 99%\nnow", "count", 3, "escalated", 1, "reason",
                            "apps=50 ≥ 50", "acked_by", "level", "P1");
    char *s, err[128];

    (void)state;
    s = ac_tpl_render("[{{level}}] {{alert.type}} x{{alert.count}}{{#alert.escalated}}"
                      " escalated: {{alert.reason}}{{/alert.escalated}}{{^alert.acked_by}}"
                      " (not acknowledged){{/alert.acked_by}}{{alert.missing}}",
                      ctx, AC_TPL_TEXT);
    assert_string_equal(s, "[P1] DiskFull x3 escalated: apps=50 ≥ 50 (not acknowledged)");
    free(s);
    s = ac_tpl_render("{\"text\":\"{{alert.title}}\"}", ctx, AC_TPL_JSON);
    assert_string_equal(s, "{\"text\":\"disk \\\"/\\\" at 99%\\nnow\"}");
    json_t *parsed = json_loads(s, 0, NULL);
    assert_non_null(parsed); /* the body stays valid JSON */
    json_decref(parsed);
    free(s);
    s = ac_tpl_render("{{#level}}{{#alert.escalated}}both{{/alert.escalated}}{{/level}}", ctx,
                      AC_TPL_TEXT);
    assert_string_equal(s, "both");
    free(s);
    s = ac_tpl_render("a {{ unclosed", ctx, AC_TPL_TEXT); /* literal, not lost */
    assert_string_equal(s, "a {{ unclosed");
    free(s);

    assert_true(ac_tpl_check("{{#a}}x{{^b}}y{{/b}}{{/a}} {{c.d}}", err, sizeof(err)));
    assert_false(ac_tpl_check("{{#a}}x", err, sizeof(err)));
    assert_non_null(strstr(err, "not closed"));
    assert_false(ac_tpl_check("{{#a}}x{{/b}}", err, sizeof(err)));
    assert_false(ac_tpl_check("{{a b}}", err, sizeof(err)));
    assert_false(ac_tpl_check("{{x", err, sizeof(err)));
    json_decref(ctx);
}

static void test_template_bounded(void **state)
{
    json_t *ctx = json_pack("{s:s}", "x", "0123456789");
    char *big;
    char *s;
    size_t n = 20000;

    (void)state;
    big = malloc(n * 5 + 1);
    for (size_t i = 0; i < n; i++) {
        memcpy(big + i * 5, "{{x}}", 5);
    }
    big[n * 5] = '\0';
    s = ac_tpl_render(big, ctx, AC_TPL_TEXT); /* 200 KB of output wanted */
    assert_int_equal(strlen(s), AC_TPL_MAX);
    free(s);
    free(big);
    json_decref(ctx);
}

/* base64url without padding (new). */
static char *b64url(const unsigned char *p, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    int len = EVP_EncodeBlock((unsigned char *)out, p, (int)n);

    while (len > 0 && out[len - 1] == '=') {
        len--;
    }
    out[len] = '\0';
    for (char *c = out; *c; c++) {
        *c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
    }
    return out;
}

static void test_action_links(void **state)
{
    const struct ac_action_link l = {
        .incident = 42, .action = AC_ACTION_ACK, .contact = 7, .expires = 1700003600};
    struct ac_action_link out;
    char *t = ac_action_token("k3y", &l), *bad;

    (void)state;
    assert_null(strpbrk(t, "+/=")); /* URL-safe */
    assert_int_equal(ac_action_verify("k3y", t, 1700000000, &out), AC_ACTION_OK);
    assert_int_equal(out.incident, 42);
    assert_int_equal(out.action, AC_ACTION_ACK);
    assert_int_equal(out.contact, 7);
    /* expired, another key, an altered payload or signature, junk */
    assert_int_equal(ac_action_verify("k3y", t, 1700003600, &out), AC_ACTION_EXPIRED);
    assert_int_equal(ac_action_verify("other", t, 1700000000, &out), AC_ACTION_FORGED);
    bad = strdup(t);
    bad[3] = bad[3] == 'A' ? 'B' : 'A';
    assert_int_equal(ac_action_verify("k3y", bad, 1700000000, &out), AC_ACTION_FORGED);
    free(bad);
    bad = strdup(t);
    bad[strlen(bad) - 2] = bad[strlen(bad) - 2] == 'A' ? 'B' : 'A';
    assert_int_equal(ac_action_verify("k3y", bad, 1700000000, &out), AC_ACTION_FORGED);
    free(bad);
    assert_int_equal(ac_action_verify("k3y", "nodot", 0, &out), AC_ACTION_FORGED);
    assert_int_equal(ac_action_verify("k3y", "a.b.c", 0, &out), AC_ACTION_FORGED);
    assert_int_equal(ac_action_verify("k3y", "!!.??", 0, &out), AC_ACTION_FORGED);
    /* a v1 link (it named an alert), even signed right, is refused */
    {
        const char *v1 = "v1.42.ack.7.1700003600";
        unsigned char mac[32];
        char *a = b64url((const unsigned char *)v1, strlen(v1)), *m, *tok;
        ac_hmac_sha256("k3y", 3, v1, strlen(v1), mac);
        m = b64url(mac, sizeof(mac));
        tok = malloc(strlen(a) + strlen(m) + 2);
        sprintf(tok, "%s.%s", a, m);
        assert_int_equal(ac_action_verify("k3y", tok, 1700000000, &out), AC_ACTION_FORGED);
        free(a);
        free(m);
        free(tok);
    }
    /* a link for another incident signed with the same key is not this one */
    {
        struct ac_action_link l2 = l;
        char *t2;
        l2.incident = 43;
        t2 = ac_action_token("k3y", &l2);
        assert_string_not_equal(t, t2);
        free(t2);
    }
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dingtalk_sign),    cmocka_unit_test(test_webhook_signature),
        cmocka_unit_test(test_backoff),          cmocka_unit_test(test_template),
        cmocka_unit_test(test_template_bounded), cmocka_unit_test(test_action_links),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
