/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration tests of the HTTPS listener: curl against a certificate from
 * a test CA (plain HTTP refused), the certificate replaced on SIGHUP (and
 * kept when the new files do not load), check-config refusing a key that
 * does not fit, and the real Prometheus sending its alerts over HTTPS.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/harness.h"

static char tmp[256];

/* Makes the CA (once) and a server certificate named cn, signed by it,
 * for 127.0.0.1, in tmp/<file>.pem and tmp/<file>.key. */
static void make_cert(const char *cn, const char *file)
{
    char cmd[2048];

    snprintf(cmd, sizeof(cmd),
             "cd %s && { [ -f ca.pem ] || openssl req -x509 -newkey ec -pkeyopt "
             "ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=it-ca; "
             "} && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s.key "
             "-out %s.csr -subj /CN=%s && printf 'subjectAltName=IP:127.0.0.1\\n' > ext && "
             "openssl x509 -req -in %s.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out %s.pem "
             "-days 2 -extfile ext",
             tmp, file, file, cn, file, file);
    assert_int_equal(it_run(cmd, NULL), 0);
}

/* The subject of the certificate the server presents now (new). */
static char *served_subject(int port)
{
    char cmd[512], *out = NULL;

    snprintf(cmd, sizeof(cmd),
             "openssl s_client -connect 127.0.0.1:%d -CAfile %s/ca.pem </dev/null 2>/dev/null | "
             "openssl x509 -noout -subject",
             port, tmp);
    assert_int_equal(it_run(cmd, &out), 0);
    return out;
}

static int curl_status(const struct it_server *s, const char *args, char **out)
{
    char cmd[2560];

    snprintf(cmd, sizeof(cmd), "curl -sS --max-time 10 --cacert %s/ca.pem %s", tmp, args);
    (void)s;
    return it_run(cmd, out);
}

static void test_tls_curl_and_reload(void **state)
{
    struct it_server s;
    char cfg[1024], args[1024], cmd[1024], *out;

    (void)state;
    make_cert("alertcenter-1", "one");
    make_cert("alertcenter-2", "two");
    snprintf(cmd, sizeof(cmd), "cd %s && cp one.pem srv.pem && cp one.key srv.key", tmp);
    assert_int_equal(it_run(cmd, NULL), 0);
    snprintf(cfg, sizeof(cfg),
             "{\"tls\":{\"cert_file\":\"%s/srv.pem\",\"key_file\":\"%s/srv.key\"}}", tmp, tmp);
    snprintf(args, sizeof(args), "%s/ca.pem", tmp);
    it_server_start_tls(&s, cfg, args, NULL);
    /* over HTTPS: health, and an event stored */
    snprintf(args, sizeof(args), "https://127.0.0.1:%d/healthz", s.port);
    assert_int_equal(curl_status(&s, args, &out), 0);
    assert_non_null(strstr(out, "\"ok\""));
    free(out);
    snprintf(args, sizeof(args),
             "-H 'Authorization: Bearer %s' -H 'Content-Type: application/json' "
             "-d '{\"source\":\"probe\",\"type\":\"ItTls\",\"title\":\"over https\"}' "
             "-w ' %%{http_code}' https://127.0.0.1:%d/v1/events",
             IT_INGEST_TOKEN, s.port);
    assert_int_equal(curl_status(&s, args, &out), 0);
    assert_non_null(strstr(out, " 200"));
    free(out);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM events WHERE type = 'ItTls'"), 1);
    /* plain HTTP on the HTTPS port gets nothing */
    snprintf(cmd, sizeof(cmd), "curl -sS --max-time 5 http://127.0.0.1:%d/healthz", s.port);
    assert_true(it_run(cmd, NULL) != 0);
    /* an unknown CA is refused by the client: the certificate is the one given */
    snprintf(cmd, sizeof(cmd), "curl -sS --max-time 5 https://127.0.0.1:%d/healthz", s.port);
    assert_true(it_run(cmd, NULL) != 0);
    out = served_subject(s.port);
    assert_non_null(strstr(out, "CN = alertcenter-1"));
    free(out);
    /* SIGHUP with new files: the new certificate, without a restart */
    snprintf(cmd, sizeof(cmd), "cd %s && cp two.pem srv.pem && cp two.key srv.key", tmp);
    assert_int_equal(it_run(cmd, NULL), 0);
    kill(s.pid, SIGHUP);
    it_quiet_ms(500); /* the main loop looks every 100 ms */
    out = served_subject(s.port);
    assert_non_null(strstr(out, "CN = alertcenter-2"));
    free(out);
    /* SIGHUP with a key that does not fit: the one in use stays */
    snprintf(cmd, sizeof(cmd), "cd %s && cp one.key srv.key", tmp);
    assert_int_equal(it_run(cmd, NULL), 0);
    kill(s.pid, SIGHUP);
    it_quiet_ms(500);
    out = served_subject(s.port);
    assert_non_null(strstr(out, "CN = alertcenter-2"));
    free(out);
    snprintf(args, sizeof(args), "https://127.0.0.1:%d/healthz", s.port);
    assert_int_equal(curl_status(&s, args, NULL), 0);
    snprintf(cmd, sizeof(cmd), "grep -c 'the key does not belong to the certificate' %s", s.log);
    assert_int_equal(it_run(cmd, NULL), 0);
    /* check-config says the same */
    snprintf(cmd, sizeof(cmd),
             "env -u AC_PG_DSN AC_TLS_CERT_FILE=%s/srv.pem AC_TLS_KEY_FILE=%s/srv.key %s "
             "check-config",
             tmp, tmp, getenv("AC_TEST_BINARY"));
    assert_int_equal(it_run(cmd, &out), 2);
    assert_non_null(strstr(out, "the key does not belong to the certificate"));
    free(out);
    assert_int_equal(it_server_stop(&s), 0);
}

static bool prom_alert_present(void *arg)
{
    (void)arg;
    return it_sql_ll("SELECT count(*) FROM alerts WHERE type = 'ItTlsPromFiring'") > 0;
}

/* The real Prometheus sends to the alert center over HTTPS, verifying the
 * certificate against the test CA, with its bearer token. */
static void test_tls_real_prometheus(void **state)
{
    struct it_server s;
    char cfg[1024], alerting[1024], dir[256];
    pid_t pid;

    (void)state;
    make_cert("alertcenter-prom", "prom");
    snprintf(cfg, sizeof(cfg),
             "{\"tls\":{\"cert_file\":\"%s/prom.pem\",\"key_file\":\"%s/prom.key\"}}", tmp, tmp);
    snprintf(alerting, sizeof(alerting), "%s/ca.pem", tmp);
    it_server_start_tls(&s, cfg, alerting, NULL);
    snprintf(alerting, sizeof(alerting),
             "  alertmanagers:\n"
             "  - api_version: v2\n"
             "    scheme: https\n"
             "    tls_config:\n"
             "      ca_file: %s/ca.pem\n"
             "    authorization:\n"
             "      type: Bearer\n"
             "      credentials: %s\n"
             "    static_configs:\n"
             "    - targets: ['127.0.0.1:%d']\n",
             tmp, IT_INGEST_TOKEN, s.port);
    pid = it_prometheus_start("ItTlsPromFiring", alerting, dir, sizeof(dir));
    if (!it_wait_until(prom_alert_present, NULL, 60000)) {
        char cmd[600], *out = NULL;
        snprintf(cmd, sizeof(cmd), "tail -20 %s/prometheus.log", dir);
        (void)it_run(cmd, &out);
        it_prometheus_stop(pid, dir);
        fail_msg("Prometheus's alert did not arrive over HTTPS; its log:\n%s", out);
    }
    assert_int_equal(it_sql_ll("SELECT count(*) FROM alerts WHERE type = 'ItTlsPromFiring'"
                               " AND source = 'prometheus' AND level = 'P1'"),
                     1);
    it_prometheus_stop(pid, dir);
    assert_int_equal(it_server_stop(&s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls_curl_and_reload),
        cmocka_unit_test(test_tls_real_prometheus),
    };
    char cmd[400];
    int rc;

    snprintf(tmp, sizeof(tmp), "%s/it-tls-%d",
             getenv("AC_TEST_TMP") ? getenv("AC_TEST_TMP") : "/tmp", (int)getpid());
    snprintf(cmd, sizeof(cmd), "mkdir -p %s", tmp);
    (void)it_run(cmd, NULL);
    it_init("tls");
    rc = cmocka_run_group_tests_name("integration_tls", tests, NULL, NULL);
    it_fini();
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
    (void)it_run(cmd, NULL);
    return rc;
}
