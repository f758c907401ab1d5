/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ac_loadgen: a closed-loop HTTP load generator for POST /v1/events (or, with
 * --format prometheus, POST /api/v2/alerts with Alertmanager v2 alerts, a
 * repeat being a re-send: same labels and startsAt).
 *
 * Each connection is a thread with one keep-alive socket that sends a request,
 * waits for the answer and sends the next, so latency is measured per request
 * and throughput is what the server sustains. A batch holds --batch events;
 * a fraction --dup of them repeat one of a few hot fingerprints (folded into
 * open alerts), the rest open new alerts. Bounded by --seconds and --requests.
 * Loopback only: the target must be 127.0.0.1 or ::1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct lg_opts {
    int port;
    const char *token;
    int conns;
    int batch;
    double dup;
    double seconds;
    long requests;
    double rate;       /* events per second in all; 0: as fast as answered */
    const char *level; /* of every event */
    bool prom;         /* Alertmanager v2 alerts to /api/v2/alerts, as Prometheus sends */
    int event_bytes;   /* pad each event's message to about this size (0: as it comes) */
};

struct lg_thread {
    const struct lg_opts *o;
    int id;
    pthread_t th;
    double *lat_ms;
    long nlat;
    long cap;
    long events_ok;
    long errors;
};

static volatile long lg_sent_total;
/* Makes this run's "unique" fingerprints unique across runs too. */
static unsigned lg_seed;
static double lg_deadline;

static double lg_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int lg_connect(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static int lg_write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k <= 0) {
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Reads one HTTP response; returns the status code or -1. */
static int lg_read_response(int fd, char *buf, size_t cap)
{
    size_t have = 0, need = 0;
    char *hdr_end = NULL;
    long clen = 0;
    int status;

    for (;;) {
        ssize_t k = read(fd, buf + have, cap - have - 1);
        if (k <= 0) {
            return -1;
        }
        have += (size_t)k;
        buf[have] = '\0';
        if (!hdr_end && (hdr_end = strstr(buf, "\r\n\r\n")) != NULL) {
            char *cl = strcasestr(buf, "\r\nContent-Length:");
            clen = cl && cl < hdr_end ? strtol(cl + 17, NULL, 10) : 0;
            need = (size_t)(hdr_end - buf) + 4 + (size_t)clen;
            if (need >= cap) {
                return -1;
            }
        }
        if (hdr_end && have >= need) {
            break;
        }
    }
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) {
        return -1;
    }
    return status;
}

/* What --event-bytes pads messages with. */
#define LG_PAD_MAX 8192
static char lg_pad[LG_PAD_MAX + 1];

static size_t lg_body(const struct lg_thread *t, long seq, char *buf, size_t cap)
{
    size_t n = 0;
    int pad = 0;
    unsigned r = (unsigned)(seq * 2654435761u + (unsigned)t->id * 40503u);

    if (t->o->batch > 1 || t->o->prom) {
        n += (size_t)snprintf(buf + n, cap - n, "[");
    }
    for (int i = 0; i < t->o->batch && t->o->prom; i++) {
        /* a repeat is Prometheus re-sending an active alert: same labels and startsAt */
        r = r * 1103515245u + 12345u;
        bool dup = (double)(r >> 8) / (double)(1u << 24) < t->o->dup;
        for (int pass = 0; pass < 2; pass++) {
            int w = snprintf(
                pass ? buf + n : NULL, pass ? cap - n : 0,
                "%s{\"labels\":{\"alertname\":\"BenchAlert%d\",\"severity\":\"warning\","
                "\"namespace\":\"bench\",\"app_id\":\"%s%u-%d-%ld-%d\",\"instance\":\"pod-%d\","
                "\"job\":\"bench\"},\"annotations\":{\"summary\":\"benchmark event\","
                "\"description\":\"synthetic load from ac_loadgen with a realistic message "
                "size%.*s\"},"
                "\"startsAt\":\"2026-11-22T10:00:00Z\",\"endsAt\":\"2099-01-01T00:00:00Z\","
                "\"generatorURL\":\"http://prometheus:9090/graph?g0.expr=up\"}",
                i ? "," : "", (int)(r % 8), dup ? "hot" : "app", dup ? 0u : lg_seed,
                dup ? 0 : t->id, dup ? 0 : seq, dup ? (int)(r % 16) : i, (int)(r % 64),
                pass ? pad : 0, lg_pad);
            pad = pass ? pad : (t->o->event_bytes > w ? t->o->event_bytes - w : 0);
            n += pass ? (size_t)w : 0;
        }
    }
    for (int i = 0; i < t->o->batch && !t->o->prom; i++) {
        r = r * 1103515245u + 12345u;
        bool dup = (double)(r >> 8) / (double)(1u << 24) < t->o->dup;
        for (int pass = 0; pass < 2; pass++) {
            int w = snprintf(
                pass ? buf + n : NULL, pass ? cap - n : 0,
                "%s{\"source\":\"bench\",\"type\":\"BenchAlert%d\",\"title\":\"benchmark event\","
                "\"level\":\"%s\",\"region\":\"cn-hangzhou\",\"namespace\":\"bench\","
                "\"app_id\":\"%s%u-%d-%ld-%d\",\"instance\":\"pod-%d\",\"labels\":{\"team\":"
                "\"sre\"},"
                "\"message\":\"synthetic load from ac_loadgen with a realistic message size%.*s\"}",
                i ? "," : "", (int)(r % 8), t->o->level, dup ? "hot" : "app", dup ? 0u : lg_seed,
                dup ? 0 : t->id, dup ? 0 : seq, dup ? (int)(r % 16) : i, (int)(r % 64),
                pass ? pad : 0, lg_pad);
            pad = pass ? pad : (t->o->event_bytes > w ? t->o->event_bytes - w : 0);
            n += pass ? (size_t)w : 0;
        }
    }
    if (t->o->batch > 1 || t->o->prom) {
        n += (size_t)snprintf(buf + n, cap - n, "]");
    }
    return n;
}

static void *lg_main(void *arg)
{
    struct lg_thread *t = arg;
    size_t cap = (size_t)t->o->batch * (512 + (size_t)t->o->event_bytes) + 1024;
    char *body = malloc(cap), *req = malloc(cap + 512), resp[65536];
    int fd = lg_connect(t->o->port);
    long seq = 0;
    /* a steady rate: each connection sends its share at even intervals */
    double every = t->o->rate > 0 ? (double)t->o->conns * t->o->batch / t->o->rate : 0;
    double next = lg_now() + every * t->id / t->o->conns;

    while (fd >= 0 && lg_now() < lg_deadline &&
           __atomic_add_fetch(&lg_sent_total, 1, __ATOMIC_RELAXED) <= t->o->requests) {
        size_t blen = lg_body(t, seq++, body, cap);
        int hlen = snprintf(req, 512,
                            "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                            "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                            "Content-Length: %zu\r\n\r\n",
                            t->o->prom ? "/api/v2/alerts" : "/v1/events", t->o->token, blen);
        double t0;
        int status;

        t0 = lg_now();
        if (every > 0) {
            double wait = next - lg_now();
            if (wait > 0) {
                struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
                nanosleep(&ts, NULL);
            }
            /* open loop: latency counts from when the request was due, so a
             * server that falls behind is charged for the queue it makes */
            t0 = next;
            next += every;
        }

        memcpy(req + hlen, body, blen);
        if (lg_write_all(fd, req, (size_t)hlen + blen) != 0 ||
            (status = lg_read_response(fd, resp, sizeof(resp))) < 0) {
            t->errors++;
            close(fd);
            fd = lg_connect(t->o->port);
            continue;
        }
        if (status != 200) {
            t->errors++;
            continue;
        }
        if (t->nlat == t->cap) {
            t->cap = t->cap ? t->cap * 2 : 4096;
            t->lat_ms = realloc(t->lat_ms, (size_t)t->cap * sizeof(double));
        }
        t->lat_ms[t->nlat++] = (lg_now() - t0) * 1000.0;
        t->events_ok += t->o->batch;
    }
    if (fd >= 0) {
        close(fd);
    }
    free(body);
    free(req);
    return NULL;
}

static int lg_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"port", required_argument, NULL, 'p'},        {"token", required_argument, NULL, 't'},
        {"conns", required_argument, NULL, 'c'},       {"batch", required_argument, NULL, 'b'},
        {"dup", required_argument, NULL, 'd'},         {"seconds", required_argument, NULL, 's'},
        {"requests", required_argument, NULL, 'n'},    {"rate", required_argument, NULL, 'r'},
        {"event-bytes", required_argument, NULL, 'e'}, {"level", required_argument, NULL, 'l'},
        {"format", required_argument, NULL, 'f'},      {NULL, 0, NULL, 0},
    };
    struct lg_opts o = {0, NULL, 16, 1, 0.5, 10.0, 1000000, 0, "P4", false, 0};
    struct lg_thread *ts;
    double start, elapsed, *all;
    long n = 0, events = 0, errors = 0;
    int c;

    while ((c = getopt_long(argc, argv, "p:t:c:b:d:s:n:r:l:f:e:", opts, NULL)) != -1) {
        switch (c) {
            case 'p':
                o.port = atoi(optarg);
                break;
            case 't':
                o.token = optarg;
                break;
            case 'c':
                o.conns = atoi(optarg);
                break;
            case 'b':
                o.batch = atoi(optarg);
                break;
            case 'd':
                o.dup = atof(optarg);
                break;
            case 's':
                o.seconds = atof(optarg);
                break;
            case 'n':
                o.requests = atol(optarg);
                break;
            case 'r':
                o.rate = atof(optarg);
                break;
            case 'e':
                o.event_bytes = atoi(optarg);
                break;
            case 'l':
                o.level = optarg;
                break;
            case 'f':
                if (strcmp(optarg, "native") != 0 && strcmp(optarg, "prometheus") != 0) {
                    fprintf(stderr, "ac_loadgen: --format is native or prometheus\n");
                    return 2;
                }
                o.prom = strcmp(optarg, "prometheus") == 0;
                break;
            default:
                fprintf(stderr,
                        "usage: ac_loadgen --port P --token T [--conns N] [--batch N] "
                        "[--dup 0..1] [--seconds S] [--requests N] [--rate EVENTS_PER_S] "
                        "[--level P1..P4] [--format native|prometheus] [--event-bytes N]\n");
                return 2;
        }
    }
    if (strlen(o.level) != 2 || o.level[0] != 'P' || o.level[1] < '1' || o.level[1] > '4') {
        fprintf(stderr, "ac_loadgen: --level is P1, P2, P3 or P4\n");
        return 2;
    }
    if (o.port <= 0 || !o.token || o.conns < 1 || o.batch < 1 || o.seconds <= 0 ||
        o.seconds > 600 || o.rate < 0 || o.event_bytes < 0 || o.event_bytes > LG_PAD_MAX) {
        fprintf(stderr, "ac_loadgen: --port and --token are required; seconds <= 600\n");
        return 2;
    }
    lg_seed = (unsigned)getpid() ^ (unsigned)time(NULL);
    memset(lg_pad, 'x', LG_PAD_MAX);
    ts = calloc((size_t)o.conns, sizeof(*ts));
    start = lg_now();
    lg_deadline = start + o.seconds;
    for (int i = 0; i < o.conns; i++) {
        ts[i].o = &o;
        ts[i].id = i;
        pthread_create(&ts[i].th, NULL, lg_main, &ts[i]);
    }
    for (int i = 0; i < o.conns; i++) {
        pthread_join(ts[i].th, NULL);
        n += ts[i].nlat;
        events += ts[i].events_ok;
        errors += ts[i].errors;
    }
    elapsed = lg_now() - start;
    all = malloc((size_t)(n ? n : 1) * sizeof(double));
    n = 0;
    for (int i = 0; i < o.conns; i++) {
        memcpy(all + n, ts[i].lat_ms, (size_t)ts[i].nlat * sizeof(double));
        n += ts[i].nlat;
        free(ts[i].lat_ms);
    }
    qsort(all, (size_t)n, sizeof(double), lg_cmp);
    printf("batch=%d conns=%d dup=%.2f requests=%ld events=%ld errors=%ld seconds=%.2f "
           "events_per_s=%.0f p50_ms=%.2f p99_ms=%.2f\n",
           o.batch, o.conns, o.dup, n, events, errors, elapsed, (double)events / elapsed,
           n ? all[n / 2] : 0.0, n ? all[(long)((double)n * 0.99)] : 0.0);
    free(all);
    free(ts);
    return errors && !n ? 1 : 0;
}
