/* SPDX-License-Identifier: Apache-2.0 */
/* The harness's local peers: a TCP proxy that can cut a connection and the
 * HTTP sink that stands in for notification gateways; see harness.h. */
#include "tests/integration/harness.h"

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* --- TCP proxy ---------------------------------------------------------- */

struct it_proxy {
    int lfd;
    int port;
    int target;
    int down;   /* atomic */
    int stop;   /* atomic */
    int active; /* relays running */
    pthread_t accept_thread;
    pthread_mutex_t lock;
};

struct it_relay {
    struct it_proxy *p;
    int a, b;
};

static void *it_relay_main(void *arg)
{
    struct it_relay *r = arg;
    struct it_proxy *p = r->p;
    char buf[65536];

    for (;;) {
        struct pollfd fds[2] = {{r->a, POLLIN, 0}, {r->b, POLLIN, 0}};
        int n = poll(fds, 2, 50);

        if (__atomic_load_n(&p->down, __ATOMIC_ACQUIRE) ||
            __atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) {
            break;
        }
        if (n <= 0) {
            continue;
        }
        if (fds[0].revents) {
            ssize_t k = read(r->a, buf, sizeof(buf));
            if (k <= 0 || write(r->b, buf, (size_t)k) != k) {
                break;
            }
        }
        if (fds[1].revents) {
            ssize_t k = read(r->b, buf, sizeof(buf));
            if (k <= 0 || write(r->a, buf, (size_t)k) != k) {
                break;
            }
        }
    }
    close(r->a);
    close(r->b);
    pthread_mutex_lock(&p->lock);
    p->active--;
    pthread_mutex_unlock(&p->lock);
    free(r);
    return NULL;
}

static void *it_accept_main(void *arg)
{
    struct it_proxy *p = arg;

    while (!__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) {
        struct pollfd pf = {p->lfd, POLLIN, 0};
        int c, t;
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        struct it_relay *r;
        pthread_t th;

        if (poll(&pf, 1, 50) <= 0) {
            continue;
        }
        c = accept(p->lfd, NULL, NULL);
        if (c < 0) {
            continue;
        }
        if (__atomic_load_n(&p->down, __ATOMIC_ACQUIRE)) {
            close(c);
            continue;
        }
        a.sin_port = htons((uint16_t)p->target);
        t = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(t, (struct sockaddr *)&a, sizeof(a)) != 0) {
            close(c);
            close(t);
            continue;
        }
        r = malloc(sizeof(*r));
        r->p = p;
        r->a = c;
        r->b = t;
        pthread_mutex_lock(&p->lock);
        p->active++;
        pthread_mutex_unlock(&p->lock);
        pthread_create(&th, NULL, it_relay_main, r);
        pthread_detach(th);
    }
    return NULL;
}

struct it_proxy *it_proxy_start(int target_port)
{
    struct it_proxy *p = calloc(1, sizeof(*p));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int one = 1;

    p->target = target_port;
    pthread_mutex_init(&p->lock, NULL);
    p->lfd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(p->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    assert_int_equal(bind(p->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(p->lfd, 64), 0);
    getsockname(p->lfd, (struct sockaddr *)&a, &len);
    p->port = ntohs(a.sin_port);
    pthread_create(&p->accept_thread, NULL, it_accept_main, p);
    return p;
}

int it_proxy_port(const struct it_proxy *p)
{
    return p->port;
}

void it_proxy_set_down(struct it_proxy *p, bool down)
{
    struct timespec tick = {0, 10 * 1000 * 1000};

    __atomic_store_n(&p->down, down ? 1 : 0, __ATOMIC_RELEASE);
    /* Wait until every relay has noticed and closed its sockets. */
    for (int i = 0; down && i < 500; i++) {
        int active;
        pthread_mutex_lock(&p->lock);
        active = p->active;
        pthread_mutex_unlock(&p->lock);
        if (active == 0) {
            break;
        }
        nanosleep(&tick, NULL);
    }
}

void it_proxy_stop(struct it_proxy *p)
{
    __atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
    pthread_join(p->accept_thread, NULL);
    it_proxy_set_down(p, true);
    close(p->lfd);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/* ---- HTTP sink -------------------------------------------------------------- */

#define IT_SINK_MAX 1024

struct it_sink_req {
    char *path, *head, *body;
};

struct it_sink {
    int lfd, port, stop, fail, fail_status;
    char *ok_body;
    pthread_t thread;
    pthread_mutex_t lock;
    struct it_sink_req reqs[IT_SINK_MAX];
    int n;
};

static void it_sink_serve(struct it_sink *s, int fd)
{
    char *buf = malloc(1 << 20), *hend = NULL, *cl, reply[512];
    size_t len = 0, need = 0;
    int status;
    const char *body;

    while (len < (1 << 20) - 1) {
        struct pollfd pfd = {fd, POLLIN, 0};
        ssize_t r;
        if (poll(&pfd, 1, 5000) <= 0 || (r = read(fd, buf + len, (1 << 20) - 1 - len)) <= 0) {
            break;
        }
        len += (size_t)r;
        buf[len] = '\0';
        if (!hend && (hend = strstr(buf, "\r\n\r\n"))) {
            cl = strcasestr(buf, "\r\nContent-Length:");
            need = (size_t)(hend + 4 - buf) + (cl && cl < hend ? strtoul(cl + 17, NULL, 10) : 0);
        }
        if (hend && len >= need) {
            break;
        }
    }
    if (!hend) {
        free(buf);
        close(fd);
        return;
    }
    pthread_mutex_lock(&s->lock);
    if (s->n < IT_SINK_MAX) {
        struct it_sink_req *q = &s->reqs[s->n++];
        char *sp = strchr(buf, ' ');
        q->path = sp ? strndup(sp + 1, strcspn(sp + 1, " ")) : strdup("");
        q->head = strndup(buf, (size_t)(hend - buf));
        q->body = strdup(hend + 4);
    }
    if (s->fail > 0) {
        s->fail--;
        status = s->fail_status;
        body = "{\"error\":\"down\"}";
    }
    else {
        status = 200;
        body = s->ok_body;
    }
    pthread_mutex_unlock(&s->lock);
    snprintf(reply, sizeof(reply),
             "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
             "Connection: close\r\n\r\n%s",
             status, strlen(body), body);
    (void)!write(fd, reply, strlen(reply));
    free(buf);
    close(fd);
}

static void *it_sink_main(void *arg)
{
    struct it_sink *s = arg;

    while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
        struct pollfd pfd = {s->lfd, POLLIN, 0};
        if (poll(&pfd, 1, 50) == 1) {
            int fd = accept(s->lfd, NULL, NULL);
            if (fd >= 0) {
                it_sink_serve(s, fd);
            }
        }
    }
    return NULL;
}

struct it_sink *it_sink_start(const char *ok_body)
{
    struct it_sink *s = calloc(1, sizeof(*s));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int one = 1;

    s->ok_body = strdup(ok_body ? ok_body : "ok");
    pthread_mutex_init(&s->lock, NULL);
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->lfd, 64), 0);
    getsockname(s->lfd, (struct sockaddr *)&a, &len);
    s->port = ntohs(a.sin_port);
    pthread_create(&s->thread, NULL, it_sink_main, s);
    return s;
}

int it_sink_port(const struct it_sink *s)
{
    return s->port;
}

void it_sink_fail(struct it_sink *s, int n, int status)
{
    pthread_mutex_lock(&s->lock);
    s->fail = n;
    s->fail_status = status;
    pthread_mutex_unlock(&s->lock);
}

static struct it_sink_req *it_sink_find(struct it_sink *s, const char *path, int i, int *count)
{
    int k = 0;

    for (int j = 0; j < s->n; j++) {
        if (!path || strncmp(s->reqs[j].path, path, strlen(path)) == 0) {
            if (k++ == i) {
                return &s->reqs[j];
            }
        }
    }
    *count = k;
    return NULL;
}

int it_sink_count(struct it_sink *s, const char *path)
{
    int n = 0;

    pthread_mutex_lock(&s->lock);
    (void)it_sink_find(s, path, -1, &n);
    pthread_mutex_unlock(&s->lock);
    return n;
}

char *it_sink_body(struct it_sink *s, const char *path, int i)
{
    int n;
    char *out;

    pthread_mutex_lock(&s->lock);
    struct it_sink_req *q = it_sink_find(s, path, i, &n);
    out = q ? strdup(q->body) : NULL;
    pthread_mutex_unlock(&s->lock);
    return out;
}

char *it_sink_header(struct it_sink *s, const char *path, int i, const char *name)
{
    int n;
    char *out = NULL, key[128];

    snprintf(key, sizeof(key), "\r\n%s:", name);
    pthread_mutex_lock(&s->lock);
    struct it_sink_req *q = it_sink_find(s, path, i, &n);
    const char *h = q ? strcasestr(q->head, key) : NULL;
    if (h) {
        h += strlen(key);
        while (*h == ' ') {
            h++;
        }
        out = strndup(h, strcspn(h, "\r\n"));
    }
    pthread_mutex_unlock(&s->lock);
    return out;
}

int it_sink_count_with(struct it_sink *s, const char *path, const char *needle)
{
    int n = 0, total = it_sink_count(s, path);

    for (int i = 0; i < total; i++) {
        char *b = it_sink_body(s, path, i);
        n += b && strstr(b, needle);
        free(b);
    }
    return n;
}

/* A condition of it_sink_wait_with. */
struct it_sink_want {
    struct it_sink *s;
    const char *path, *needle;
    int n, seen;
};

static bool it_sink_has(void *arg)
{
    struct it_sink_want *w = arg;

    w->seen = it_sink_count_with(w->s, w->path, w->needle);
    return w->seen >= w->n;
}

int it_sink_wait_with(struct it_sink *s, const char *path, const char *needle, int n,
                      int timeout_ms)
{
    struct it_sink_want w = {s, path, needle, n, 0};

    (void)it_wait_until(it_sink_has, &w, timeout_ms);
    return w.seen;
}

int it_sink_wait(struct it_sink *s, const char *path, int n, int timeout_ms)
{
    struct timespec tick = {0, 20 * 1000 * 1000};
    int c = 0;

    for (int waited = 0; waited <= timeout_ms; waited += 20) {
        if ((c = it_sink_count(s, path)) >= n) {
            return c;
        }
        nanosleep(&tick, NULL);
    }
    return c;
}

void it_sink_stop(struct it_sink *s)
{
    __atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
    pthread_join(s->thread, NULL);
    close(s->lfd);
    for (int i = 0; i < s->n; i++) {
        free(s->reqs[i].path);
        free(s->reqs[i].head);
        free(s->reqs[i].body);
    }
    free(s->ok_body);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void it_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

pid_t it_prometheus_start(const char *alert, const char *alerting_yaml, char *dir, size_t dirlen)
{
    static int seq;
    char cfg[4096], rules[1024], path[512], log[512], cfgpath[512], listen[64], tsdb[512];
    char c1[600];
    char *argv[6];
    pid_t pid;
    posix_spawn_file_actions_t fa;

    snprintf(dir, dirlen, "%s/it-prom-%d-%d",
             getenv("AC_TEST_TMP") ? getenv("AC_TEST_TMP") : "/tmp", (int)getpid(), seq++);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(path, sizeof(path), "%s/rules.yml", dir);
    snprintf(rules, sizeof(rules),
             "groups:\n"
             "- name: it\n"
             "  interval: 1s\n"
             "  rules:\n"
             "  - alert: %s\n"
             "    expr: vector(1)\n"
             "    labels: {severity: critical, app_id: prom-app}\n"
             "    annotations: {summary: always firing}\n",
             alert);
    it_write_file(path, rules);
    snprintf(cfg, sizeof(cfg),
             "global:\n"
             "  evaluation_interval: 1s\n"
             "alerting:\n"
             "%s"
             "rule_files: ['%s']\n",
             alerting_yaml, path);
    snprintf(cfgpath, sizeof(cfgpath), "%s/prometheus.yml", dir);
    it_write_file(cfgpath, cfg);
    snprintf(log, sizeof(log), "%s/prometheus.log", dir);
    snprintf(tsdb, sizeof(tsdb), "--storage.tsdb.path=%s/data", dir);
    snprintf(listen, sizeof(listen), "--web.listen-address=127.0.0.1:%d", it_free_port());
    snprintf(c1, sizeof(c1), "--config.file=%s", cfgpath);
    argv[0] = "prometheus";
    argv[1] = c1;
    argv[2] = tsdb;
    argv[3] = listen;
    argv[4] = "--rules.alert.resend-delay=1s";
    argv[5] = NULL;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    if (posix_spawnp(&pid, "prometheus", &fa, NULL, argv, environ) != 0) {
        fail_msg("cannot run prometheus (Debian package prometheus)");
    }
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

void it_prometheus_stop(pid_t pid, const char *dir)
{
    char cmd[600];
    int st;

    kill(pid, SIGTERM);
    waitpid(pid, &st, 0);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    (void)it_run(cmd, NULL);
}
