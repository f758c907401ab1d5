/* SPDX-License-Identifier: Apache-2.0 */
/* The integration-test harness; see harness.h. */
#include "tests/integration/harness.h"

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char it_db[64];

static int it_env_int(const char *name)
{
    const char *v = getenv(name);

    if (!v || !*v) {
        fprintf(stderr, "%s is not set: run the integration tests through scripts/test.sh\n", name);
        exit(1);
    }
    return atoi(v);
}

int it_pg_port(void)
{
    return it_env_int("AC_TEST_PG_PORT");
}

int it_redis_port(void)
{
    return it_env_int("AC_TEST_REDIS_PORT");
}

void it_dsn_for_port(int port, char *out, size_t len)
{
    snprintf(out, len, "host=127.0.0.1 port=%d dbname=%s user=alertcenter connect_timeout=2", port,
             it_db);
}

static PGconn *it_connect(const char *db)
{
    char dsn[256];
    PGconn *c;

    snprintf(dsn, sizeof(dsn), "host=127.0.0.1 port=%d dbname=%s user=postgres", it_pg_port(), db);
    c = PQconnectdb(dsn);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "cannot connect to the test PostgreSQL: %s", PQerrorMessage(c));
        exit(1);
    }
    return c;
}

static void it_admin_exec(const char *sql)
{
    PGconn *c = it_connect("postgres");
    PGresult *r = PQexec(c, sql);

    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
        exit(1);
    }
    PQclear(r);
    PQfinish(c);
}

void it_init(const char *suite)
{
    char sql[256];

    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(it_db, sizeof(it_db), "it_%s_%d", suite, (int)getpid());
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s OWNER alertcenter", it_db);
    it_admin_exec(sql);
}

void it_fini(void)
{
    char sql[256];

    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", it_db);
    it_admin_exec(sql);
    curl_global_cleanup();
}

int it_free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static size_t it_write_cb(char *p, size_t size, size_t n, void *ud)
{
    struct it_resp *r = ud;
    size_t old = r->body ? strlen(r->body) : 0;

    r->body = realloc(r->body, old + size * n + 1);
    memcpy(r->body + old, p, size * n);
    r->body[old + size * n] = '\0';
    return size * n;
}

struct it_upload {
    const char *p;
    size_t left;
};

static size_t it_read_cb(char *buf, size_t size, size_t n, void *ud)
{
    struct it_upload *u = ud;
    size_t k = size * n < u->left ? size * n : u->left;

    k = k > 16384 ? 16384 : k;
    memcpy(buf, u->p, k);
    u->p += k;
    u->left -= k;
    return k;
}

static size_t it_header_cb(char *p, size_t size, size_t nmemb, void *ud)
{
    struct it_resp *r = ud;
    size_t n = size * nmemb, old = r->headers ? strlen(r->headers) : 0;
    char *h = realloc(r->headers, old + n + 1);

    assert_non_null(h);
    memcpy(h + old, p, n);
    h[old + n] = '\0';
    r->headers = h;
    return n;
}

char *it_resp_header(const struct it_resp *r, const char *name)
{
    size_t n = strlen(name);

    for (const char *l = r->headers; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "") {
        if (strncasecmp(l, name, n) == 0 && l[n] == ':') {
            const char *v = l + n + 1;
            while (*v == ' ') {
                v++;
            }
            return strndup(v, strcspn(v, "\r\n"));
        }
    }
    return NULL;
}

static int it_http_impl(const struct it_server *s, const char *method, const char *path,
                        const char *token, const char *ctype, const char *body, size_t len,
                        bool chunked, struct it_resp *out)
{
    struct it_upload up = {body, len};
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    char url[512], auth[256], ct[128];
    CURLcode rc;

    memset(out, 0, sizeof(*out));
    snprintf(url, sizeof(url), "%s://127.0.0.1:%d%s", s->ca_file[0] ? "https" : "http", s->port,
             path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    if (s->ca_file[0]) {
        curl_easy_setopt(c, CURLOPT_CAINFO, s->ca_file);
    }
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L); /* no body follows the headers */
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, it_write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, it_header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    if (token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
    }
    if (ctype) {
        snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
        h = curl_slist_append(h, ct);
    }
    h = curl_slist_append(h, "Expect:");
    if (body && chunked) {
        h = curl_slist_append(h, "Transfer-Encoding: chunked");
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, it_read_cb);
        curl_easy_setopt(c, CURLOPT_READDATA, &up);
    }
    else if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    rc = curl_easy_perform(c);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
        if (out->body) {
            out->json = json_loads(out->body, 0, NULL);
        }
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return rc == CURLE_OK ? 0 : -1;
}

int it_http(const struct it_server *s, const char *method, const char *path, const char *token,
            const char *ctype, const char *body, size_t len, struct it_resp *out)
{
    return it_http_impl(s, method, path, token, ctype, body, len, false, out);
}

int it_http_chunked(const struct it_server *s, const char *path, const char *token,
                    const char *ctype, const char *body, size_t len, struct it_resp *out)
{
    return it_http_impl(s, "POST", path, token, ctype, body, len, true, out);
}

void it_resp_free(struct it_resp *r)
{
    free(r->body);
    free(r->headers);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}

long it_call(const struct it_server *s, const char *method, const char *path, const char *token,
             const char *ctype, const char *body, json_t **out)
{
    struct it_resp r;
    long st;

    assert_int_equal(it_http(s, method, path, token, ctype, body, body ? strlen(body) : 0, &r), 0);
    st = r.status;
    if (out) {
        *out = json_incref(r.json);
    }
    else if (st >= 500) {
        fprintf(stderr, "%s %s: %ld %s\n", method, path, st, r.body ? r.body : "");
    }
    it_resp_free(&r);
    return st;
}

long it_req_as(const struct it_server *s, const char *method, const char *path, const char *token,
               const char *body, json_t **out)
{
    return it_call(s, method, path, token, body ? "application/json" : NULL, body, out);
}

long it_req(const struct it_server *s, const char *method, const char *path, const char *body,
            json_t **out)
{
    return it_req_as(s, method, path, IT_ADMIN_TOKEN, body, out);
}

char *it_create(const struct it_server *s, const char *path, const char *body)
{
    json_t *r = NULL;
    long st = it_req(s, "POST", path, body, &r);
    char *id;

    if (st != 201 || !json_string_value(json_object_get(r, "id"))) {
        char *text = json_dumps(r, JSON_COMPACT);
        fail_msg("POST %s: %ld %s", path, st, text ? text : "");
    }
    id = strdup(json_string_value(json_object_get(r, "id")));
    json_decref(r);
    return id;
}

void it_quiet_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

json_t *it_post_events(const struct it_server *s, const char *body, long expect_status)
{
    struct it_resp r;
    json_t *j;

    assert_int_equal(it_http(s, "POST", "/v1/events", IT_ADMIN_TOKEN, "application/json", body,
                             strlen(body), &r),
                     0);
    if (r.status != expect_status) {
        fail_msg("POST /v1/events: status %ld, expected %ld: %s", r.status, expect_status,
                 r.body ? r.body : "");
    }
    j = json_incref(r.json);
    it_resp_free(&r);
    return j;
}

json_t *it_get(const struct it_server *s, const char *path)
{
    struct it_resp r;
    json_t *j;

    assert_int_equal(it_http(s, "GET", path, IT_ADMIN_TOKEN, NULL, NULL, 0, &r), 0);
    if (r.status != 200) {
        fail_msg("GET %s: status %ld: %s", path, r.status, r.body ? r.body : "");
    }
    assert_non_null(r.json);
    j = json_incref(r.json);
    it_resp_free(&r);
    return j;
}

json_t *it_timeline_item(const json_t *resource, const char *action)
{
    json_t *tl = json_object_get(resource, "timeline"), *item, *found = NULL;
    size_t i;

    json_array_foreach(tl, i, item)
    {
        if (strcmp(json_string_value(json_object_get(item, "action")) ?: "", action) == 0) {
            found = item;
        }
    }
    return found;
}

char *it_timeline_actions(const json_t *resource)
{
    json_t *tl = json_object_get(resource, "timeline"), *item;
    size_t i, len = 1;
    char *out;

    json_array_foreach(tl, i, item)
    {
        len += strlen(json_string_value(json_object_get(item, "action")) ?: "?") + 1;
    }
    out = calloc(1, len);
    assert_non_null(out);
    json_array_foreach(tl, i, item)
    {
        if (i > 0) {
            strcat(out, ",");
        }
        strcat(out, json_string_value(json_object_get(item, "action")) ?: "?");
    }
    return out;
}

double it_metric(const struct it_server *s, const char *series)
{
    struct it_resp r;
    double v = -1;
    size_t n = strlen(series);

    assert_int_equal(it_http(s, "GET", "/metrics", IT_READ_TOKEN, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    for (const char *line = r.body; line && *line;) {
        const char *end = strchr(line, '\n');
        if (strncmp(line, series, n) == 0 && line[n] == ' ') {
            v = strtod(line + n + 1, NULL);
            break;
        }
        line = end ? end + 1 : NULL;
    }
    it_resp_free(&r);
    return v;
}

const char *it_db_name(void)
{
    return it_db;
}

bool it_sql_ok(const char *sql)
{
    PGconn *c = it_connect(it_db);
    PGresult *r = PQexec(c, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

    PQclear(r);
    PQfinish(c);
    return ok;
}

int it_run(const char *cmdline, char **out)
{
    char *full = NULL, buf[4096];
    FILE *f;
    size_t n, total = 0;
    int st;

    assert_true(asprintf(&full, "%s 2>&1", cmdline) > 0);
    f = popen(full, "r");
    assert_non_null(f);
    if (out) {
        *out = calloc(1, 1);
    }
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        if (out) {
            *out = realloc(*out, total + n + 1);
            memcpy(*out + total, buf, n);
            total += n;
            (*out)[total] = '\0';
        }
    }
    st = pclose(f);
    free(full);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void it_redis_up(struct it_redis *r)
{
    char cmd[1400];

    snprintf(cmd, sizeof(cmd),
             "redis-server --port %d --bind 127.0.0.1 --save '' --appendonly no --daemonize yes "
             "--dir %s --pidfile %s/redis.pid --logfile %s/redis.log && "
             "for i in $(seq 1 100); do redis-cli -p %d ping 2>/dev/null | grep -q PONG && exit 0; "
             "sleep 0.05; done; exit 1",
             r->port, r->dir, r->dir, r->dir, r->port);
    assert_int_equal(it_run(cmd, NULL), 0);
}

void it_redis_start(struct it_redis *r)
{
    char cmd[300];

    snprintf(r->dir, sizeof(r->dir), "%s/it-redis-%d",
             getenv("AC_TEST_TMP") ? getenv("AC_TEST_TMP") : "/tmp", (int)getpid());
    snprintf(cmd, sizeof(cmd), "mkdir -p %s", r->dir);
    assert_int_equal(it_run(cmd, NULL), 0);
    r->port = it_free_port();
    snprintf(r->env, sizeof(r->env), "AC_REDIS_URL=redis://127.0.0.1:%d/0", r->port);
    it_redis_up(r);
}

void it_redis_kill(struct it_redis *r)
{
    char cmd[700];

    snprintf(cmd, sizeof(cmd),
             "kill -9 $(cat %s/redis.pid) && while redis-cli -p %d ping >/dev/null 2>&1; do "
             "sleep 0.05; done",
             r->dir, r->port);
    assert_int_equal(it_run(cmd, NULL), 0);
}

void it_redis_stop(struct it_redis *r)
{
    char cmd[700];

    snprintf(cmd, sizeof(cmd), "kill $(cat %s/redis.pid) 2>/dev/null; rm -rf %s", r->dir, r->dir);
    (void)it_run(cmd, NULL);
}

char *it_redis_cli(const struct it_redis *r, const char *args)
{
    char cmd[1024], *out = NULL;

    snprintf(cmd, sizeof(cmd), "redis-cli -p %d %s", r->port, args);
    assert_int_equal(it_run(cmd, &out), 0);
    return out;
}

long long it_sql_ll(const char *sql)
{
    PGconn *c = it_connect(it_db);
    PGresult *r = PQexec(c, sql);
    long long v;

    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    }
    v = PQgetisnull(r, 0, 0) ? -1 : strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    PQfinish(c);
    return v;
}

long long it_sql_llf(const char *fmt, ...)
{
    char sql[1024];
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    return it_sql_ll(sql);
}

bool it_wait_until(bool (*cond)(void *), void *arg, int timeout_ms)
{
    struct timespec tick = {0, 20 * 1000 * 1000};

    for (int waited = 0; waited < timeout_ms; waited += 20) {
        if (cond(arg)) {
            return true;
        }
        nanosleep(&tick, NULL);
    }
    return cond(arg);
}

struct it_health_arg {
    struct it_server *s;
};

static bool it_is_up(void *arg)
{
    struct it_server *s = arg;
    struct it_resp r;
    /* alive and past start-up ({"status":"starting"} until then) */
    bool up = it_http(s, "GET", "/healthz", NULL, NULL, NULL, 0, &r) == 0 && r.status == 200 &&
              r.body && strstr(r.body, "\"ok\"");

    it_resp_free(&r);
    return up;
}

static bool it_exited(struct it_server *s)
{
    int st;

    return waitpid(s->pid, &st, WNOHANG) == s->pid;
}

void it_server_spawn(struct it_server *s, const char *dsn_in, const char *const *env)
{
    const char *bin = getenv("AC_TEST_BINARY");
    char listen[64], dsn[256], redis[128];
    pid_t pid;

    assert_non_null(bin);
    if (s->config[0] && access(s->config, R_OK) != 0) {
        s->config[0] = '\0';
    }
    s->port = it_free_port();
    s->ca_file[0] = '\0';
    snprintf(s->log, sizeof(s->log), "/tmp/%s_%d.log", it_db, s->port);
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", s->port);
    if (dsn_in) {
        snprintf(dsn, sizeof(dsn), "%s", dsn_in);
    }
    else {
        it_dsn_for_port(it_pg_port(), dsn, sizeof(dsn));
    }
    snprintf(redis, sizeof(redis), "redis://127.0.0.1:%d/0", it_redis_port());
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        setenv("AC_LISTEN", listen, 1);
        setenv("AC_PG_DSN", dsn, 1);
        setenv("AC_REDIS_URL", redis, 1);
        {
            char prefix[96];
            snprintf(prefix, sizeof(prefix), "%s:", it_db); /* suites share one Redis */
            setenv("AC_REDIS_PREFIX", prefix, 1);
        }
        setenv("AC_ADMIN_TOKEN", IT_ADMIN_TOKEN, 1);
        setenv("AC_INGEST_TOKEN", IT_INGEST_TOKEN, 1);
        setenv("AC_READ_TOKEN", IT_READ_TOKEN, 1);
        for (; env && *env; env++) {
            putenv((char *)*env);
        }
        if (s->config[0]) {
            execl(bin, "alertcenter", "serve", "-c", s->config, (char *)NULL);
        }
        else {
            execl(bin, "alertcenter", "serve", (char *)NULL);
        }
        _exit(127);
    }
    s->pid = pid;
}

void it_server_wait_up(struct it_server *s)
{
    for (int i = 0; i < 1500; i++) {
        struct timespec tick = {0, 20 * 1000 * 1000};
        if (it_is_up(s)) {
            return;
        }
        if (it_exited(s)) {
            fail_msg("the server exited during start-up; see %s", s->log);
        }
        nanosleep(&tick, NULL);
    }
    fail_msg("the server did not come up; see %s", s->log);
}

void it_server_start(struct it_server *s, const char *const *env)
{
    s->config[0] = '\0';
    it_server_spawn(s, NULL, env);
    it_server_wait_up(s);
}

void it_server_start_config(struct it_server *s, const char *config_json, const char *const *env)
{
    it_server_start_tls(s, config_json, NULL, env);
}

void it_server_start_tls(struct it_server *s, const char *config_json, const char *ca_file,
                         const char *const *env)
{
    FILE *f;

    snprintf(s->config, sizeof(s->config), "/tmp/%s_%d.json", it_db, it_free_port());
    f = fopen(s->config, "w");
    assert_non_null(f);
    fputs(config_json, f);
    fclose(f);
    it_server_spawn(s, NULL, env);
    snprintf(s->ca_file, sizeof(s->ca_file), "%s", ca_file ? ca_file : "");
    it_server_wait_up(s);
}

long long it_server_log_value(const struct it_server *s, const char *key)
{
    FILE *f = fopen(s->log, "r");
    char line[4096], pat[64];
    long long v = -1;

    if (!f) {
        return -1;
    }
    snprintf(pat, sizeof(pat), " %s=", key);
    while (fgets(line, sizeof(line), f)) {
        char *p = strstr(line, pat);
        if (p) {
            v = strtoll(p + strlen(pat), NULL, 10);
        }
    }
    fclose(f);
    return v;
}

void it_extra_db(const char *name, bool drop)
{
    char sql[256];

    if (drop) {
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    }
    else {
        snprintf(sql, sizeof(sql), "CREATE DATABASE %s OWNER alertcenter", name);
    }
    it_admin_exec(sql);
}

int it_server_stop(struct it_server *s)
{
    int st = 0;

    if (s->pid <= 0) { /* never started: kill(0) would signal the whole group */
        return -1;
    }
    kill(s->pid, SIGTERM);
    if (waitpid(s->pid, &st, 0) != s->pid) {
        return -1;
    }
    s->pid = 0;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "server exit status %d; log %s\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1,
                s->log);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void it_server_kill(struct it_server *s)
{
    int st;

    if (s->pid <= 0) {
        return;
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &st, 0);
    s->pid = 0;
}

bool it_wait_sql(long long want, int timeout_ms, const char *fmt, ...)
{
    char sql[2048];
    va_list ap;
    struct timespec tick = {0, 50 * 1000 * 1000};

    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    for (int waited = 0; waited <= timeout_ms; waited += 50) {
        if (it_sql_ll(sql) >= want) {
            return true;
        }
        nanosleep(&tick, NULL);
    }
    return false;
}

pid_t it_helper_start(char *const argv[], char *line, size_t len)
{
    int fds[2];
    pid_t pid;
    FILE *f;

    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    f = fdopen(fds[0], "r");
    assert_non_null(f);
    if (!fgets(line, (int)len, f)) {
        fail_msg("%s said nothing", argv[0]);
    }
    line[strcspn(line, "\n")] = '\0';
    fclose(f);
    return pid;
}

void it_helper_stop(pid_t pid)
{
    int st;

    kill(pid, SIGTERM);
    waitpid(pid, &st, 0);
}
