/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration tests of the channels' wire forms through the real server:
 * every HTTP request (chat and ARMS too) carries the notification's
 * Idempotency-Key; chat messages @mention the on-call contacts' chat ids
 * (DingTalk at.atUserIds, Slack <@U...>); the email channel speaks SMTP with
 * STARTTLS and AUTH to a local sink (tests/helpers/smtp_sink.py), one
 * message per recipient with an address.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/integration/harness.h"

static struct it_server srv;
static struct it_sink *hooks; /* /ding, /slack, /arms */
static pid_t smtp;
static char maildir[320], certdir[256];
static const char *const env[] = {"AC_TEST_SMTP_PASSWORD=smtp-s3cret", NULL};

static int setup(void **state)
{
    char cmd[1024], line[64], cert[300], key[300], config[4096], body[512];
    char *argv[6];
    int port;

    (void)state;
    hooks = it_sink_start("{\"errcode\":0}");
    snprintf(certdir, sizeof(certdir), "%s/it-smtp-%d",
             getenv("AC_TEST_TMP") ? getenv("AC_TEST_TMP") : "/tmp", (int)getpid());
    snprintf(maildir, sizeof(maildir), "%s/mail", certdir);
    snprintf(cmd, sizeof(cmd),
             "mkdir -p %s && openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1"
             " -addext subjectAltName=IP:127.0.0.1 -keyout %s/key.pem -out %s/cert.pem"
             " >/dev/null 2>&1",
             maildir, certdir, certdir);
    assert_int_equal(it_run(cmd, NULL), 0);
    snprintf(cert, sizeof(cert), "%s/cert.pem", certdir);
    snprintf(key, sizeof(key), "%s/key.pem", certdir);
    setenv("SMTP_SINK_PASSWORD", "smtp-s3cret", 1);
    argv[0] = "python3";
    argv[1] = AC_SOURCE_DIR "/tests/helpers/smtp_sink.py";
    argv[2] = cert;
    argv[3] = key;
    argv[4] = maildir;
    argv[5] = NULL;
    smtp = it_helper_start(argv, line, sizeof(line));
    assert_int_equal(sscanf(line, "port %d", &port), 1);
    snprintf(config, sizeof(config),
             "{\"notify\":{\"poll_ms\":50,\"group_wait_s\":{\"P3\":0},\"channels\":{"
             "\"ding\":{\"kind\":\"dingtalk\",\"url\":\"http://127.0.0.1:%d/ding\"},"
             "\"slack\":{\"kind\":\"slack\",\"url\":\"http://127.0.0.1:%d/slack\"},"
             "\"arms\":{\"kind\":\"arms\",\"url\":\"http://127.0.0.1:%d/arms\"},"
             "\"mail\":{\"kind\":\"email\",\"url\":\"smtp://127.0.0.1:%d\",\"from\":"
             "\"alerts@ac.example\",\"username\":\"alertcenter\",\"password_env\":"
             "\"AC_TEST_SMTP_PASSWORD\",\"ca_file\":\"%s\"}},"
             "\"levels\":{\"P3\":[\"ding\",\"slack\",\"arms\",\"mail\"]}}}",
             it_sink_port(hooks), it_sink_port(hooks), it_sink_port(hooks), port, cert);
    it_server_start_config(&srv, config, env);
    {
        char *a = it_create(&srv, "/v1/contacts",
                            "{\"name\":\"ann\",\"email\":\"ann@ac.example\",\"chat\":"
                            "{\"dingtalk\":\"ding-ann\",\"slack\":\"U0ANN\"}}");
        char *b =
            it_create(&srv, "/v1/contacts", "{\"name\":\"bob\",\"chat\":{\"slack\":\"U0BOB\"}}");
        snprintf(body, sizeof(body),
                 "{\"name\":\"sre\",\"default\":true,\"chain\":[{\"targets\":[{\"contact\":\"%s\"},"
                 "{\"contact\":\"%s\"}]}]}",
                 a, b);
        free(it_create(&srv, "/v1/teams", body));
        free(a);
        free(b);
    }
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];

    (void)state;
    assert_int_equal(it_server_stop(&srv), 0);
    it_sink_stop(hooks);
    it_helper_stop(smtp);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", certdir);
    (void)it_run(cmd, NULL);
    return 0;
}

/* The messages the SMTP sink received (a new array of its JSON records). */
static json_t *mails(void)
{
    json_t *out = json_array();
    DIR *d = opendir(maildir);
    struct dirent *e;

    while (d && (e = readdir(d))) {
        char p[600];
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 5, ".json") != 0) {
            continue;
        }
        snprintf(p, sizeof(p), "%s/%s", maildir, e->d_name);
        (void)json_array_append_new(out, json_load_file(p, 0, NULL));
    }
    if (d) {
        closedir(d);
    }
    return out;
}

static bool mail_arrived(void *arg)
{
    json_t *m = mails();
    bool ok = json_array_size(m) >= *(size_t *)arg;

    json_decref(m);
    return ok;
}

static void test_keys_mentions_and_email(void **state)
{
    json_t *r, *m, *j;
    char *body, *k1, *k2, *k3;
    size_t one = 1;

    (void)state;
    r = it_post_events(&srv,
                       "{\"source\":\"probe\",\"type\":\"ItChanDown\",\"level\":\"P3\","
                       "\"title\":\"api is down\",\"app_id\":\"api\"}",
                       200);
    json_decref(r);
    assert_int_equal(it_sink_wait(hooks, "/ding", 1, 10000), 1);
    assert_int_equal(it_sink_wait(hooks, "/slack", 1, 10000), 1);
    assert_int_equal(it_sink_wait(hooks, "/arms", 1, 10000), 1);
    /* every request carries its own Idempotency-Key */
    k1 = it_sink_header(hooks, "/ding", 0, "Idempotency-Key");
    k2 = it_sink_header(hooks, "/slack", 0, "Idempotency-Key");
    k3 = it_sink_header(hooks, "/arms", 0, "Idempotency-Key");
    assert_non_null(k1);
    assert_non_null(k2);
    assert_non_null(k3);
    assert_string_not_equal(k1, k2);
    assert_string_not_equal(k2, k3);
    /* DingTalk: at.atUserIds, and the @ in the text */
    body = it_sink_body(hooks, "/ding", 0);
    j = json_loads(body, 0, NULL);
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(json_object_get(j, "at"), "atUserIds"), 0)),
                        "ding-ann");
    assert_int_equal(json_array_size(json_object_get(json_object_get(j, "at"), "atUserIds")), 1);
    assert_non_null(strstr(body, "@ding-ann"));
    json_decref(j);
    free(body);
    /* Slack: <@U...> for both contacts */
    body = it_sink_body(hooks, "/slack", 0);
    assert_non_null(strstr(body, "<@U0ANN>"));
    assert_non_null(strstr(body, "<@U0BOB>"));
    free(body);
    /* email: to ann (bob has no address), over STARTTLS, authenticated */
    assert_true(it_wait_until(mail_arrived, &one, 10000));
    it_quiet_ms(1000); /* and no second message */
    m = mails();
    assert_int_equal(json_array_size(m), 1);
    j = json_array_get(m, 0);
    assert_string_equal(json_string_value(json_object_get(j, "from")), "alerts@ac.example");
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "rcpt"), 0)),
                        "ann@ac.example");
    assert_true(json_is_true(json_object_get(j, "tls")));
    assert_string_equal(json_string_value(json_object_get(j, "user")), "alertcenter");
    assert_non_null(strstr(json_string_value(json_object_get(j, "data")),
                           "Subject: [P3] ItChanDown: 1 alert, 1 app"));
    assert_non_null(strstr(json_string_value(json_object_get(j, "data")), "api is down"));
    json_decref(m);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM notifications WHERE channel = 'mail'"
                               " AND status = 'sent' AND attempts = 1"),
                     1);
    free(k1);
    free(k2);
    free(k3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_mentions_and_email),
    };
    int rc;

    it_init("channels");
    rc = cmocka_run_group_tests_name("integration_channels", tests, setup, teardown);
    it_fini();
    return rc;
}
