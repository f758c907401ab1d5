/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration tests of hostile clients. Matchers: patterns that kill
 * backtracking engines, through every API that takes matchers. Connections: 1,100
 * slowloris sockets (a header line every 500 ms, never the end of the
 * header block, reconnecting as soon as they are closed) and, separately,
 * 10,000 idle TCP connects from one address. Meanwhile another client's
 * /healthz and authenticated single-event ingest must keep answering; the
 * figures (p50/p99/max) are printed, and p99 must be within 100 ms.
 *
 * The attackers connect from other loopback addresses (127.0.0.10-19,
 * 127.0.0.2) than the well-behaved client (127.0.0.1), as they would from
 * other hosts: the per-client cap counts by address.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "tests/integration/harness.h"

#define HEADER_TIMEOUT_MS 2000

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the attacker: n sockets in one thread ---- */

struct atk_sock {
    int fd;
    int64_t opened_ms; /* connect started */
    int64_t next_ms;   /* next header line (slow), or next reconnect (closed) */
    bool connected;
};

struct atk {
    int n;    /* sockets */
    int nsrc; /* source addresses 127.0.0.<src0 + i % nsrc> */
    int src0;
    bool slow;      /* send a header line every 500 ms */
    bool reconnect; /* open again 100 ms after a close */
    int port;
    int64_t until_ms;
    /* results */
    long connects, closed, closed_early; /* closed_early: well before the deadline */
    int64_t life_min_ms, life_max_ms;    /* of connections that were accepted and then closed */
    int peak_open;                       /* connected at once, most */
    struct atk_sock *s;
};

static void atk_open(struct atk *a, int i, int64_t now)
{
    struct sockaddr_in src = {.sin_family = AF_INET}, dst = {.sin_family = AF_INET};
    char ip[32];
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

    assert_true(fd >= 0);
    (void)snprintf(ip, sizeof(ip), "127.0.0.%d", a->src0 + i % a->nsrc);
    inet_pton(AF_INET, ip, &src.sin_addr);
    assert_int_equal(bind(fd, (struct sockaddr *)&src, sizeof(src)), 0);
    inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
    dst.sin_port = htons((uint16_t)a->port);
    if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) != 0 && errno != EINPROGRESS) {
        close(fd);
        a->s[i].fd = -1;
        a->s[i].next_ms = now + 100;
        return;
    }
    a->s[i] = (struct atk_sock){.fd = fd, .opened_ms = now, .next_ms = now};
    a->connects++;
}

static void atk_closed(struct atk *a, int i, int64_t now)
{
    int64_t life = now - a->s[i].opened_ms;

    close(a->s[i].fd);
    a->s[i].fd = -1;
    a->s[i].next_ms = now + 100;
    a->closed++;
    if (life < HEADER_TIMEOUT_MS - 200) {
        a->closed_early++;
    }
    else {
        if (a->life_min_ms == 0 || life < a->life_min_ms) {
            a->life_min_ms = life;
        }
        if (life > a->life_max_ms) {
            a->life_max_ms = life;
        }
    }
}

static void *atk_main(void *arg)
{
    struct atk *a = arg;
    struct pollfd *p = calloc((size_t)a->n, sizeof(*p));
    const char *start = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    char buf[512];

    a->s = calloc((size_t)a->n, sizeof(*a->s));
    for (int i = 0; i < a->n; i++) {
        atk_open(a, i, now_ms());
    }
    while (now_ms() < a->until_ms) {
        int64_t now = now_ms();
        int open = 0;

        for (int i = 0; i < a->n; i++) {
            struct atk_sock *s = &a->s[i];
            if (s->fd < 0 && a->reconnect && now >= s->next_ms) {
                atk_open(a, i, now);
            }
            p[i].fd = s->fd;
            p[i].events = s->connected ? POLLIN : POLLOUT;
            p[i].revents = 0;
            open += s->connected;
        }
        if (open > a->peak_open) {
            a->peak_open = open;
        }
        (void)poll(p, (nfds_t)a->n, 50);
        now = now_ms();
        for (int i = 0; i < a->n; i++) {
            struct atk_sock *s = &a->s[i];
            if (s->fd < 0) {
                continue;
            }
            if (!s->connected && (p[i].revents & POLLOUT)) {
                int err = 0;
                socklen_t el = sizeof(err);
                (void)getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                if (err) {
                    atk_closed(a, i, now);
                    continue;
                }
                s->connected = true;
                if (a->slow) {
                    (void)send(s->fd, start, strlen(start), MSG_NOSIGNAL);
                    s->next_ms = now + 500;
                }
            }
            if (p[i].revents & (POLLIN | POLLHUP | POLLERR)) {
                ssize_t r = recv(s->fd, buf, sizeof(buf), 0);
                if (r <= 0 && !(r < 0 && errno == EAGAIN)) {
                    atk_closed(a, i, now);
                    continue;
                }
            }
            if (a->slow && s->connected && now >= s->next_ms) {
                if (send(s->fd, "X-Slow: 1\r\n", 11, MSG_NOSIGNAL) < 0 && errno != EAGAIN) {
                    atk_closed(a, i, now);
                    continue;
                }
                s->next_ms = now + 500;
            }
        }
    }
    for (int i = 0; i < a->n; i++) {
        if (a->s[i].fd >= 0) {
            close(a->s[i].fd);
        }
    }
    free(a->s);
    free(p);
    return NULL;
}

/* ---- the well-behaved client ---- */

struct probe {
    long n_health, n_ingest, failed;
    double conns_max; /* the server's ac_http_connections, most seen */
    double health_ms[2048], ingest_ms[2048];
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(double *v, long n, double q)
{
    long i;

    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    i = (long)(q * (double)(n - 1) + 0.5);
    return n ? v[i] : 0;
}

/* Alternates GET /healthz and a one-event POST /v1/events every 10 ms until
 * until_ms; samples the server's open connections every tenth request. */
static void probe_run(const struct it_server *s, struct probe *pr, int64_t until_ms,
                      const char *tag)
{
    char body[256];
    struct it_resp r;
    int64_t t0;
    long k = 0;

    while (now_ms() < until_ms && pr->n_health < 2048 && pr->n_ingest < 2048) {
        bool health = (k++ % 2) == 0;
        int rc;
        t0 = now_ms();
        if (health) {
            rc = it_http(s, "GET", "/healthz", NULL, NULL, NULL, 0, &r);
        }
        else {
            (void)snprintf(body, sizeof(body),
                           "{\"source\":\"probe\",\"type\":\"ItHostile\",\"title\":\"t\","
                           "\"resource\":{\"kind\":\"host\",\"name\":\"%s-%ld\"}}",
                           tag, k);
            rc = it_http(s, "POST", "/v1/events", IT_INGEST_TOKEN, "application/json", body,
                         strlen(body), &r);
        }
        if (rc != 0 || r.status != 200) {
            fprintf(stderr, "probe %s: rc=%d status=%ld %s\n", health ? "healthz" : "ingest", rc,
                    r.status, r.body ? r.body : "");
            pr->failed++;
        }
        else if (health) {
            pr->health_ms[pr->n_health++] = (double)(now_ms() - t0);
        }
        else {
            pr->ingest_ms[pr->n_ingest++] = (double)(now_ms() - t0);
        }
        if (rc == 0) {
            it_resp_free(&r);
        }
        if (k % 10 == 0) {
            double c = it_metric(s, "ac_http_connections");
            pr->conns_max = c > pr->conns_max ? c : pr->conns_max;
        }
        usleep(10 * 1000);
    }
}

static void probe_report(struct probe *pr, const char *what)
{
    double h99 = pct(pr->health_ms, pr->n_health, 0.99);
    double i99 = pct(pr->ingest_ms, pr->n_ingest, 0.99);

    printf("# %s: /healthz n=%ld p50=%.0f ms p99=%.0f ms max=%.0f ms; ingest n=%ld p50=%.0f ms "
           "p99=%.0f ms max=%.0f ms; failed=%ld\n",
           what, pr->n_health, pct(pr->health_ms, pr->n_health, 0.5), h99,
           pr->n_health ? pr->health_ms[pr->n_health - 1] : 0, pr->n_ingest,
           pct(pr->ingest_ms, pr->n_ingest, 0.5), i99,
           pr->n_ingest ? pr->ingest_ms[pr->n_ingest - 1] : 0, pr->failed);
    assert_int_equal(pr->failed, 0);
    assert_true(pr->n_health >= 50 && pr->n_ingest >= 50);
    assert_true(h99 <= 100);
    assert_true(i99 <= 100);
}

static void start_server(struct it_server *s)
{
    char cfg[256];

    (void)snprintf(cfg, sizeof(cfg), "{\"limits\": {\"header_timeout_ms\": %d}}",
                   HEADER_TIMEOUT_MS);
    it_server_start_config(s, cfg, NULL);
}

/* 1,100 slowloris sockets from ten addresses (110 each, under the
 * per-client cap, so all are accepted): each is closed at the header
 * deadline however steadily it sends, and comes back at once. */
static void test_hostile_slowloris(void **state)
{
    struct it_server s;
    /* static: should an assertion end the test early, the attacker's thread
     * still runs to its end time on memory that stays valid */
    static struct atk a = {.n = 1100, .nsrc = 10, .src0 = 10, .slow = true, .reconnect = true};
    struct probe *pr = calloc(1, sizeof(*pr));
    pthread_t t;

    (void)state;
    start_server(&s);
    a.port = s.port;
    a.until_ms = now_ms() + 3 * HEADER_TIMEOUT_MS + 5000;
    assert_int_equal(pthread_create(&t, NULL, atk_main, &a), 0);
    usleep(1000 * 1000); /* let them all connect */
    probe_run(&s, pr, a.until_ms - 500, "slow");
    pthread_join(t, NULL);
    printf("# slowloris: %ld connects, %d open at once, %ld closed by the server (%ld at once), "
           "lifetime %lld..%lld ms (deadline %d ms)\n",
           a.connects, a.peak_open, a.closed, a.closed_early, (long long)a.life_min_ms,
           (long long)a.life_max_ms, HEADER_TIMEOUT_MS);
    probe_report(pr, "under 1,100 slowloris sockets");
    /* all were held at once (not refused), and each was closed at its deadline */
    assert_true(a.peak_open >= 1000);
    assert_true(a.closed >= 1100);
    assert_true(a.life_min_ms >= HEADER_TIMEOUT_MS - 50);
    assert_true(a.life_max_ms <= HEADER_TIMEOUT_MS + 1500);
    assert_true(it_metric(&s, "ac_http_header_timeouts_total") >= 1100);
    free(pr);
    assert_int_equal(it_server_stop(&s), 0);
}

/* 10,000 idle connects from one address: the per-client cap (256) holds
 * that many until the header deadline and closes the rest at once. */
static void test_hostile_idle_connects(void **state)
{
    struct it_server s;
    static struct atk a = {.n = 10000, .nsrc = 1, .src0 = 2, .slow = false, .reconnect = false};
    struct probe *pr = calloc(1, sizeof(*pr));
    pthread_t t;

    (void)state;
    start_server(&s);
    a.port = s.port;
    a.until_ms = now_ms() + HEADER_TIMEOUT_MS + 6000;
    assert_int_equal(pthread_create(&t, NULL, atk_main, &a), 0);
    usleep(500 * 1000);
    probe_run(&s, pr, a.until_ms - 500, "idle");
    pthread_join(t, NULL);
    printf("# idle connects: %ld connects, %ld closed by the server (%ld well before the "
           "deadline), others lived %lld..%lld ms; the server held at most %.0f connections\n",
           a.connects, a.closed, a.closed_early, (long long)a.life_min_ms, (long long)a.life_max_ms,
           pr->conns_max);
    probe_report(pr, "under 10,000 idle connects");
    assert_int_equal(a.connects, 10000);
    /* all closed by the server, none held past the deadline, and never more
     * than the cap from that address (+ the probe's own) */
    assert_int_equal(a.closed, 10000);
    assert_true(a.closed_early >= 5000);
    assert_true(a.life_max_ms <= HEADER_TIMEOUT_MS + 1500);
    assert_true(pr->conns_max >= 100 && pr->conns_max <= 256 + 4);
    free(pr);
    assert_int_equal(it_server_stop(&s), 0);
}

/* ---- hostile matchers ---- */

/* The server's resident memory in kB (/proc). */
static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;

    (void)snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if (!(f = fopen(path, "r"))) {
        return -1;
    }
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) {
            break;
        }
    }
    fclose(f);
    return kb;
}

/* Whether an answer is a 400 whose details name path. */
static bool names(json_t *r, const char *path)
{
    size_t i;
    json_t *d;

    json_array_foreach(json_object_get(json_object_get(r, "error"), "details"), i, d)
    {
        const char *p = json_string_value(json_object_get(d, "path"));
        const char *m = json_string_value(json_object_get(d, "message"));
        if (p && strcmp(p, path) == 0 && m && strstr(m, "regular expression")) {
            return true;
        }
    }
    return false;
}

/* One matcher on labels.x, JSON-escaped pattern. */
static char *matchers(const char *pattern)
{
    json_t *m = json_pack("[{s:s, s:s, s:s}]", "name", "labels.x", "op", "=~", "value", pattern);
    char *s = json_dumps(m, JSON_COMPACT);

    json_decref(m);
    return s;
}

/* Patterns that backtracking engines die of, or that escape their anchors:
 * each is refused with a 400 naming the matcher by silences, filter rules,
 * routes and inhibition rules - or, where RE2 takes it, it matches in
 * linear time, so ingest and notification go on. */
static void test_hostile_matchers(void **state)
{
    static const char *refused[] = {"(a|b)++++++++++++++++++++",
                                    "(.*)(.*)(.*)(.*)(.*)\\5x",
                                    "prod)|(staging",
                                    "(a)\\1",
                                    "a{1001}",
                                    "((a{1000}){1000}){1000}",
                                    "(?=a)b",
                                    "(?<!a)b",
                                    "[",
                                    NULL};
    static const char *linear[] = {
        "(a+)+b", "(.*a){20}b", "(x+x+)+y", "(a|aa)+b", "((a*)*)*b", "(.*)(.*)(.*)(.*)(.*)x", NULL};
    struct it_server s;
    struct it_sink *sink = it_sink_start("ok");
    char cfg[1024], body[2048], *ms, *contact, *team;
    char big[301];
    json_t *r;
    long rss0, rss1;
    double compiles = 0;

    (void)state;
    (void)snprintf(
        cfg, sizeof(cfg),
        "{\"notify\":{\"poll_ms\":50,\"group_wait_s\":{\"P1\":0},\"repeat_s\":{\"P1\":0},"
        "\"channels\":{\"room\":{\"kind\":\"webhook\",\"url\":"
        "\"http://127.0.0.1:%d/hook\"}},\"levels\":{\"P1\":[\"room\"]},"
        "\"fallback\":\"room\"}}",
        it_sink_port(sink));
    it_server_start_config(&s, cfg, NULL);
    contact = it_create(&s, "/v1/contacts", "{\"name\":\"ann\",\"phone\":\"+8613800000001\"}");
    (void)snprintf(body, sizeof(body),
                   "{\"name\":\"sre\",\"default\":true,\"chain\":[{\"targets\":[{\"contact\":"
                   "\"%s\"}]}]}",
                   contact);
    team = it_create(&s, "/v1/teams", body);
    for (int i = 0; refused[i]; i++) {
        ms = matchers(refused[i]);
        (void)snprintf(body, sizeof(body), "{\"matchers\":%s,\"duration_s\":600}", ms);
        assert_int_equal(it_req(&s, "POST", "/v1/silences", body, &r), 400);
        assert_true(names(r, "$.matchers[0].value"));
        json_decref(r);
        (void)snprintf(body, sizeof(body), "{\"name\":\"h%d\",\"action\":\"drop\",\"matchers\":%s}",
                       i, ms);
        assert_int_equal(it_req(&s, "POST", "/v1/rules", body, &r), 400);
        assert_true(names(r, "$.matchers[0].value"));
        json_decref(r);
        (void)snprintf(body, sizeof(body), "{\"name\":\"h%d\",\"team\":\"%s\",\"matchers\":%s}", i,
                       team, ms);
        assert_int_equal(it_req(&s, "POST", "/v1/routes", body, &r), 400);
        json_decref(r);
        (void)snprintf(body, sizeof(body),
                       "{\"name\":\"h%d\",\"source_matchers\":%s,\"target_matchers\":[]}", i, ms);
        assert_int_equal(it_req(&s, "POST", "/v1/inhibit_rules", body, &r), 400);
        json_decref(r);
        free(ms);
    }
    assert_int_equal(it_sql_ll("SELECT count(*) FROM silences"), 0);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM filter_rules WHERE name LIKE 'h%'"), 0);
    /* the ones RE2 takes: as silences, filter rules and routes at once */
    rss0 = rss_kb(s.pid);
    for (int i = 0; linear[i]; i++) {
        ms = matchers(linear[i]);
        (void)snprintf(body, sizeof(body), "{\"matchers\":%s,\"duration_s\":600}", ms);
        free(it_create(&s, "/v1/silences", body));
        (void)snprintf(body, sizeof(body), "{\"name\":\"l%d\",\"action\":\"drop\",\"matchers\":%s}",
                       i, ms);
        free(it_create(&s, "/v1/rules", body));
        (void)snprintf(body, sizeof(body), "{\"name\":\"l%d\",\"team\":\"%s\",\"matchers\":%s}", i,
                       team, ms);
        free(it_create(&s, "/v1/routes", body));
        free(ms);
    }
    /* a P1 alert whose label is 300 characters the patterns chew on: it is
     * stored (no rule drops it), not silenced, and notified */
    memset(big, 'a', 300);
    big[300] = '\0';
    for (int k = 0; k < 4; k++) {
        (void)snprintf(body, sizeof(body),
                       "{\"source\":\"probe\",\"type\":\"ItHostileRe%d\",\"level\":\"P1\","
                       "\"title\":\"t\",\"labels\":{\"x\":\"%s\"}}",
                       k, big);
        r = it_post_events(&s, body, 200);
        assert_false(json_is_true(
            json_object_get(json_array_get(json_object_get(r, "items"), 0), "dropped")));
        json_decref(r);
        assert_int_equal(it_sink_wait(sink, "/hook", k + 1, 20000), k + 1);
        if (k == 0) {
            compiles = it_metric(&s, "ac_regex_compiles_total");
        }
    }
    /* three more planning rounds loaded the silences and routes: nothing compiled again */
    assert_true(compiles > 0);
    assert_true(it_metric(&s, "ac_regex_compiles_total") == compiles);
    rss1 = rss_kb(s.pid);
    printf("# hostile matchers: %d refused x 4 kinds; %d accepted x 3 kinds; %.0f compiles; "
           "RSS %ld -> %ld kB\n",
           9, 6, compiles, rss0, rss1);
    assert_true(rss1 - rss0 < 64 * 1024);
    free(contact);
    free(team);
    assert_int_equal(it_server_stop(&s), 0);
    it_sink_stop(sink);
}

/* ---- hostile input at the edges ---- */

/* Sends head (and then up to body_max bytes of body while the server takes
 * them), then reads the answer until the server closes. Returns the answer
 * (new); *sent: body bytes the socket took. */
static char *raw_request(int port, const char *head, size_t head_len, long body_max, long *sent)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct timeval tv = {3, 0};
    char chunk[16384], *out = calloc(1, 65536);
    size_t got = 0;
    ssize_t n;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    assert_true(send(fd, head, head_len, MSG_NOSIGNAL) == (ssize_t)head_len);
    memset(chunk, 'x', sizeof(chunk));
    *sent = 0;
    while (*sent < body_max) {
        if ((n = send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL)) <= 0) {
            break; /* closed, reset, or nobody reads: the server stopped taking it */
        }
        *sent += n;
    }
    while (got < 65535 && (n = recv(fd, out + got, 65535 - got, 0)) > 0) {
        got += (size_t)n;
    }
    close(fd);
    return out;
}

/* A request line and headers that ask the server to close after answering. */
#define CLOSE(line) line " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

/* The answer's status is want, its body the JSON error shape with code. */
static void assert_json_error(const char *answer, int want, const char *code)
{
    char status[32], c[64];
    const char *body = strstr(answer, "\r\n\r\n");

    (void)snprintf(status, sizeof(status), "HTTP/1.1 %d ", want);
    if (strncmp(answer, status, strlen(status)) != 0 || !body) {
        fprintf(stderr, "want %d %s, got: %.300s\n", want, code, answer);
        fail();
    }
    assert_non_null(strcasestr(answer, "Content-Type: application/json"));
    (void)snprintf(c, sizeof(c), "{\"error\":{\"code\":\"%s\"", code);
    assert_non_null(strstr(body, c));
}

/* Unauthenticated and over-limit bodies are not read beyond a small cap;
 * every refusal is the JSON error shape; a token over its rate gets 429. */
static void test_hostile_edges(void **state)
{
    struct it_server s;
    const char *cfg = "{\"auth\":{\"tokens\":[{\"name\":\"slow\",\"scopes\":[\"read\"],"
                      "\"token_env\":\"IT_SLOW_TOKEN\",\"rate_per_s\":5,\"burst\":5}]}}";
    const char *env[] = {"IT_SLOW_TOKEN=it-slow-token-0123456789", NULL};
    char *head = malloc(300000), *ans;
    long sent;
    struct it_resp r;
    size_t n;
    int ok = 0, limited = 0;

    (void)state;
    it_server_start_config(&s, cfg, env);
    /* a declared 60 MB body without a token: 401 at once, the body not read */
    n = (size_t)sprintf(head, "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: "
                              "application/json\r\nContent-Length: 60000000\r\n\r\n");
    ans = raw_request(s.port, head, n, 60000000, &sent);
    printf("# unauthenticated 60 MB body: the socket took %ld bytes\n", sent);
    assert_json_error(ans, 401, "unauthorized");
    assert_true(sent < 16L << 20);
    free(ans);
    /* the same chunked, for ever: 401 at once */
    n = (size_t)sprintf(head, "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: "
                              "application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
    ans = raw_request(s.port, head, n, 60000000, &sent);
    printf("# unauthenticated chunked body: the socket took %ld bytes\n", sent);
    assert_json_error(ans, 401, "unauthorized");
    assert_true(sent < 16L << 20);
    free(ans);
    /* authenticated, declared over the limit: 413 at once */
    n = (size_t)sprintf(head,
                        "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                        "Content-Type: application/json\r\nContent-Length: 60000000\r\n\r\n",
                        IT_INGEST_TOKEN);
    ans = raw_request(s.port, head, n, 60000000, &sent);
    assert_json_error(ans, 413, "payload_too_large");
    assert_true(sent < 16L << 20);
    free(ans);
    /* authenticated, chunked past the limit: cut off after the limit + 64 KiB */
    n = (size_t)sprintf(head,
                        "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "100000\r\n",
                        IT_INGEST_TOKEN);
    ans = raw_request(s.port, head, n, 60000000, &sent);
    printf("# chunked past the limit: the socket took %ld bytes\n", sent);
    assert_true(sent < 24L << 20);
    free(ans);
    /* too long a path, too large a header block, too many parameters */
    n = (size_t)sprintf(head, "GET /v1/alerts/");
    memset(head + n, 'a', 10000);
    n += 10000;
    n += (size_t)sprintf(head + n, " HTTP/1.1\r\nHost: x\r\n\r\n");
    ans = raw_request(s.port, head, n, 0, &sent);
    assert_json_error(ans, 414, "uri_too_long");
    free(ans);
    n = (size_t)sprintf(head, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(head + n, 'a', 40000);
    n += 40000;
    n += (size_t)sprintf(head + n, "\r\n\r\n");
    ans = raw_request(s.port, head, n, 0, &sent);
    assert_json_error(ans, 431, "headers_too_large");
    free(ans);
    n = (size_t)sprintf(head, "GET /v1/alerts?");
    for (int i = 0; i < 500; i++) {
        n += (size_t)sprintf(head + n, "%sstatus=open", i ? "&" : "");
    }
    n += (size_t)sprintf(head + n,
                         " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: "
                         "Bearer %s\r\n\r\n",
                         IT_READ_TOKEN);
    ans = raw_request(s.port, head, n, 0, &sent);
    assert_json_error(ans, 400, "invalid_query");
    free(ans);
    /* 404, 405, 415 and 403 in the same shape */
    ans = raw_request(s.port, CLOSE("GET /nope"), strlen(CLOSE("GET /nope")), 0, &sent);
    assert_json_error(ans, 404, "not_found");
    free(ans);
    ans = raw_request(s.port, CLOSE("PATCH /healthz"), strlen(CLOSE("PATCH /healthz")), 0, &sent);
    assert_json_error(ans, 405, "method_not_allowed");
    free(ans);
    n = (size_t)sprintf(head,
                        "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                        "Connection: close\r\nContent-Type: text/plain\r\nContent-Length: "
                        "2\r\n\r\n{}",
                        IT_INGEST_TOKEN);
    ans = raw_request(s.port, head, n, 0, &sent);
    assert_json_error(ans, 415, "unsupported_media_type");
    free(ans);
    n = (size_t)sprintf(head,
                        "POST /v1/rules HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                        "Connection: close\r\nContent-Type: application/json\r\n"
                        "Content-Length: 2\r\n\r\n{}",
                        IT_READ_TOKEN);
    ans = raw_request(s.port, head, n, 0, &sent);
    assert_json_error(ans, 403, "forbidden");
    free(ans);
    /* a token over its rate: 5 at once, then 429 with Retry-After; others unaffected */
    for (int i = 0; i < 10; i++) {
        assert_int_equal(
            it_http(&s, "GET", "/v1/incidents", "it-slow-token-0123456789", NULL, NULL, 0, &r), 0);
        if (r.status == 200) {
            ok++;
        }
        else {
            char *ra = it_resp_header(&r, "Retry-After");
            assert_int_equal(r.status, 429);
            assert_string_equal(
                json_string_value(json_object_get(json_object_get(r.json, "error"), "code")),
                "rate_limited");
            assert_non_null(ra);
            assert_int_equal(atoi(ra), 1);
            free(ra);
            limited++;
        }
        it_resp_free(&r);
    }
    assert_true(ok >= 5 && ok <= 6);
    assert_int_equal(ok + limited, 10);
    assert_int_equal(it_call(&s, "GET", "/v1/incidents", IT_READ_TOKEN, NULL, NULL, NULL), 200);
    it_quiet_ms(1100); /* the bucket refills at 5 a second */
    assert_int_equal(
        it_call(&s, "GET", "/v1/incidents", "it-slow-token-0123456789", NULL, NULL, NULL), 200);
    assert_true(it_metric(&s, "ac_http_requests_total{route=\"/v1/incidents\",method=\"GET\","
                              "code=\"429\"}") >= 4);
    /* nothing of the refused bodies was stored */
    assert_int_equal(it_sql_ll("SELECT count(*) FROM events WHERE type NOT LIKE 'ItHostile%'"), 0);
    free(head);
    assert_int_equal(it_server_stop(&s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_slowloris),
        cmocka_unit_test(test_hostile_idle_connects),
        cmocka_unit_test(test_hostile_matchers),
        cmocka_unit_test(test_hostile_edges),
    };
    int rc;

    it_init("hostile");
    rc = cmocka_run_group_tests_name("integration_hostile", tests, NULL, NULL);
    it_fini();
    return rc;
}
