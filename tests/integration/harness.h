/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration-test harness: a fresh database per suite on the PostgreSQL
 * that scripts/test.sh started (AC_TEST_PG_PORT), the Redis it started
 * (AC_TEST_REDIS_PORT), the real server binary (AC_TEST_BINARY) started as a
 * child process on a free loopback port, an HTTP client (libcurl), and a TCP
 * proxy that can cut the server off from PostgreSQL.
 */
#ifndef AC_TESTS_HARNESS_H
#define AC_TESTS_HARNESS_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define IT_ADMIN_TOKEN  "it-admin-token-0123456789"
#define IT_INGEST_TOKEN "it-ingest-token-0123456789"
#define IT_READ_TOKEN   "it-read-token-0123456789"

/* Creates the suite's database; call once from main before the tests. */
void it_init(const char *suite);
/* Drops it. */
void it_fini(void);

int it_free_port(void);
int it_pg_port(void);
int it_redis_port(void);
/* DSN of the suite database (through a port of the caller's choosing). */
void it_dsn_for_port(int port, char *out, size_t len);

struct it_server {
    pid_t pid;
    int port;
    char log[256];
    char config[256];  /* path passed with -c, or empty */
    char ca_file[256]; /* with HTTPS: the CA the client trusts; else empty */
};

/* Starts `alertcenter serve` with the suite's database and the given extra
 * "KEY=VALUE" environment entries (NULL-terminated, may be NULL; they win).
 * Waits for /healthz. Fails the test on error. */
void it_server_start(struct it_server *s, const char *const *env);
/* The same with a configuration file made from config_json (AC_* env still wins). */
void it_server_start_config(struct it_server *s, const char *config_json, const char *const *env);

/* The same over HTTPS (the config names tls.cert_file/key_file): the test
 * client then speaks HTTPS, trusting ca_file. */
void it_server_start_tls(struct it_server *s, const char *config_json, const char *ca_file,
                         const char *const *env);

/* The same in two steps: spawn with an explicit DSN (NULL = the suite's),
 * then wait for /healthz. */
void it_server_spawn(struct it_server *s, const char *dsn, const char *const *env);
void it_server_wait_up(struct it_server *s);
/* The value of "key=<number>" in the last log line containing it, or -1. */
long long it_server_log_value(const struct it_server *s, const char *key);
/* Creates (drop=false) or drops an extra database owned by alertcenter. */
void it_extra_db(const char *name, bool drop);

/* SIGTERM and wait; returns the exit status (-1 if killed by a signal). */
int it_server_stop(struct it_server *s);
/* SIGKILL and wait. */
void it_server_kill(struct it_server *s);

struct it_resp {
    long status;
    char *body;
    json_t *json;  /* parsed body, or NULL */
    char *headers; /* the response's header lines, as received */
};
/* The value of response header name (case-insensitive; new), or NULL. */
char *it_resp_header(const struct it_resp *r, const char *name);

/* One HTTP request. token and ctype may be NULL; body may be NULL.
 * Returns 0, or -1 on a transport error (connection refused/reset). */
int it_http(const struct it_server *s, const char *method, const char *path, const char *token,
            const char *ctype, const char *body, size_t len, struct it_resp *out);
/* The same as a chunked POST (no Content-Length). */
int it_http_chunked(const struct it_server *s, const char *path, const char *token,
                    const char *ctype, const char *body, size_t len, struct it_resp *out);
void it_resp_free(struct it_resp *r);

/* One request that must reach the server (asserted). Returns the status;
 * out (may be NULL) receives the parsed body (new reference, or NULL). */
long it_call(const struct it_server *s, const char *method, const char *path, const char *token,
             const char *ctype, const char *body, json_t **out);

/* One JSON request with token (body may be NULL); the status, and the
 * parsed answer in *out (new; out may be NULL). Asserts it reached the
 * server. */
long it_req_as(const struct it_server *s, const char *method, const char *path, const char *token,
               const char *body, json_t **out);
/* The same as admin. */
long it_req(const struct it_server *s, const char *method, const char *path, const char *body,
            json_t **out);
/* POSTs body to path as admin, asserts 201, returns the new object's "id"
 * (new, free()). */
char *it_create(const struct it_server *s, const char *path, const char *body);
/* Waits a fixed time: one in which something must NOT happen (a duplicate,
 * a late page), or for time itself to pass (a window to elapse, a fault to
 * last). The only fixed wait a suite makes, named for its purpose; whatever
 * should happen is waited for with it_wait_until. */
void it_quiet_ms(long ms);

/* POSTs a JSON body to /v1/events as admin and asserts the status. */
json_t *it_post_events(const struct it_server *s, const char *body, long expect_status);
/* GETs a path as admin, asserts 200, returns the parsed body (new). */
json_t *it_get(const struct it_server *s, const char *path);
/* The last item of an alert's or incident's "timeline" with this action
 * (borrowed), or NULL. */
json_t *it_timeline_item(const json_t *resource, const char *action);
/* The timeline's actions joined by commas: "alert.open,alert.events" (new). */
char *it_timeline_actions(const json_t *resource);

/* The value of one series of GET /metrics (read token), named exactly as
 * exposed, labels included: 'ac_x_total{a="b"}'; -1 when it is absent. */
double it_metric(const struct it_server *s, const char *series);

/* The suite database's name. */
const char *it_db_name(void);
/* Runs SQL on the suite database as the superuser; true if it succeeded. */
bool it_sql_ok(const char *sql);
/* Runs a shell command line; returns its exit status, output (stdout and
 * stderr) in *out (new, free()) when out is not NULL. */
int it_run(const char *cmdline, char **out);

/* A scalar query on the suite database (asserts success). */
long long it_sql_ll(const char *sql);
/* The same with the SQL formatted from fmt (test values only, never input). */
long long it_sql_llf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Polls cond every 20 ms until true or timeout; returns the last result. */
bool it_wait_until(bool (*cond)(void *), void *arg, int timeout_ms);
/* Waits until the single number the formatted query answers is >= want. */
bool it_wait_sql(long long want, int timeout_ms, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A redis-server of the suite's own (it can be killed or flushed without
 * disturbing other suites), in a folder under AC_TEST_TMP so that
 * scripts/test.sh stops it should the suite die. */
struct it_redis {
    int port;
    char dir[160];
    char env[64]; /* "AC_REDIS_URL=..." for a server that is to use it */
};
/* Picks a port and folder, starts it and waits for PING. */
void it_redis_start(struct it_redis *r);
/* Starts it again on the same port (after it_redis_kill). */
void it_redis_up(struct it_redis *r);
/* SIGKILL and wait until it no longer answers. */
void it_redis_kill(struct it_redis *r);
/* Stops it and removes its folder. */
void it_redis_stop(struct it_redis *r);
/* Runs redis-cli with args against it; returns its output (new) . */
char *it_redis_cli(const struct it_redis *r, const char *args);

/* An HTTP sink standing in for a gateway or chat API: a loopback server that
 * records every request (path, headers, body) and answers 200 with body ok
 * - or, while fail > 0, fail_status (and fail counts down). */
struct it_sink;
struct it_sink *it_sink_start(const char *ok_body);
int it_sink_port(const struct it_sink *s);
void it_sink_fail(struct it_sink *s, int n, int status);
/* Requests so far whose path starts with path (NULL: all). */
int it_sink_count(struct it_sink *s, const char *path);
/* The i-th such request's body / a header's value (new), or NULL. */
char *it_sink_body(struct it_sink *s, const char *path, int i);
char *it_sink_header(struct it_sink *s, const char *path, int i, const char *name);
/* Requests so far on path whose body holds needle. */
int it_sink_count_with(struct it_sink *s, const char *path, const char *needle);
/* Waits until it_sink_count_with(...) >= n; returns the count. */
int it_sink_wait_with(struct it_sink *s, const char *path, const char *needle, int n,
                      int timeout_ms);
/* Waits until it_sink_count(s, path) >= n; returns the count. */
int it_sink_wait(struct it_sink *s, const char *path, int n, int timeout_ms);
void it_sink_stop(struct it_sink *s);

/* Runs a helper program (argv[0] looked up in PATH) whose first line of
 * standard output says it is ready; that line (newline removed) goes into
 * line. Returns its pid. it_helper_stop: SIGTERM and wait. */
pid_t it_helper_start(char *const argv[], char *line, size_t len);
void it_helper_stop(pid_t pid);

/* A TCP proxy on a free loopback port to target_port. */
struct it_proxy;
struct it_proxy *it_proxy_start(int target_port);
int it_proxy_port(const struct it_proxy *p);
/* down: drop every open connection and refuse new ones; up: forward again. */
void it_proxy_set_down(struct it_proxy *p, bool down);
void it_proxy_stop(struct it_proxy *p);

/* The real Prometheus (Debian package prometheus) in folder dir (created
 * under AC_TEST_TMP; named in *dir, dirlen), evaluating an always-firing
 * rule "alert" every second (labels severity=critical, app_id=prom-app)
 * and sending to the Alertmanager block alerting_yaml (indented as under
 * "alerting:"; "%RULES%" is not needed). Its rules file is dir/rules.yml,
 * its log dir/prometheus.log. Returns its pid. */
pid_t it_prometheus_start(const char *alert, const char *alerting_yaml, char *dir, size_t dirlen);
/* Writes text to path (asserted). */
void it_write_file(const char *path, const char *text);
/* SIGTERM, wait, remove its folder. */
void it_prometheus_stop(pid_t pid, const char *dir);

#endif
