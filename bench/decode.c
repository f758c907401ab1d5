/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ac_decodebench: what decoding an ingest body costs the server per event,
 * on one core, with nothing else running (bench/PROFILE.md).
 *
 * The bodies are ac_loadgen's (~EVENT_BYTES per event, the padding in the
 * message / description): Alertmanager v2 alerts and native events, BATCH
 * per body. Printed per format: CPU microseconds per event for jansson's
 * parse alone (json_loadb: the floor while jansson parses), for the whole
 * decode into the event model, and for the stored document's serialization
 * (ac_event_dump). Medians of RUNS runs of ~0.5 s each.
 *
 *   ac_decodebench [--batch N] [--event-bytes N] [--runs N]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingest/alertmanager.h"
#include "ingest/native.h"
#include "server/core/mem.h"

#define DB_PAD_MAX 8192

static double db_cpu_s(void)
{
    struct timespec t;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int db_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* A body of batch events (prom: Alertmanager v2), each padded to ~bytes. */
static char *db_body(int batch, int bytes, int prom, size_t *len)
{
    static char pad[DB_PAD_MAX + 1];
    size_t cap = (size_t)batch * ((size_t)bytes + 1024) + 16, n = 0;
    char *b = malloc(cap);

    memset(pad, 'x', DB_PAD_MAX);
    if (!b) {
        abort();
    }
    b[n++] = '[';
    for (int i = 0; i < batch; i++) {
        int w = 0, p = 0;
        for (int pass = 0; pass < 2; pass++) {
            w = snprintf(pass ? b + n : NULL, pass ? cap - n : 0,
                         prom ? "%s{\"labels\":{\"alertname\":\"BenchAlert%d\",\"severity\":"
                                "\"warning\",\"namespace\":\"bench\",\"app_id\":\"app-%d\","
                                "\"instance\":\"pod-%d\",\"job\":\"bench\"},\"annotations\":"
                                "{\"summary\":\"benchmark event\",\"description\":\"synthetic "
                                "load%.*s\"},\"startsAt\":\"2026-11-22T10:00:00Z\",\"endsAt\":"
                                "\"2099-01-01T00:00:00Z\",\"generatorURL\":"
                                "\"http://prometheus:9090/graph?g0.expr=up\"}"
                              : "%s{\"source\":\"bench\",\"type\":\"BenchAlert%d\",\"title\":"
                                "\"benchmark event\",\"level\":\"P3\",\"region\":\"cn-hangzhou\","
                                "\"namespace\":\"bench\",\"app_id\":\"app-%d\",\"instance\":"
                                "\"pod-%d\",\"labels\":{\"team\":\"sre\"},\"message\":\"synthetic "
                                "load%.*s\"}",
                         i ? "," : "", i % 8, i, i % 64, pass ? p : 0, pad);
            p = bytes > w ? (bytes - w > DB_PAD_MAX ? DB_PAD_MAX : bytes - w) : 0;
        }
        n += (size_t)w;
    }
    b[n++] = ']';
    b[n] = '\0';
    *len = n;
    return b;
}

/* One format: prints its line. */
static void db_format(const char *name, int prom, int batch, int bytes, int runs)
{
    struct ac_am_config cfg;
    json_t *errs = json_array();
    size_t len;
    char *body = db_body(batch, bytes, prom, &len);
    double parse[32], decode[32], dump[32];

    if (ac_am_config_load(NULL, &cfg, errs) != AC_OK) {
        abort();
    }
    for (int r = 0; r < runs; r++) {
        long events = 0, dumped = 0;
        double t0 = db_cpu_s(), t1, spent = 0;

        do {
            json_error_t jerr;
            json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
            if (!root) {
                fprintf(stderr, "ac_decodebench: %s\n", jerr.text);
                exit(1);
            }
            json_decref(root);
            events += batch;
        } while ((t1 = db_cpu_s()) - t0 < 0.5);
        parse[r] = (t1 - t0) / (double)events * 1e6;

        events = 0;
        t0 = db_cpu_s();
        do {
            struct ac_event_vec v;
            json_t *details = NULL;
            int rc = prom ? ac_am_decode_v2(&cfg, body, len, "prometheus", (size_t)batch,
                                            1795000000000000LL, &v, &details)
                          : ac_native_decode(body, len, AC_NATIVE_JSON, (size_t)batch,
                                             1795000000000000LL, &v, &details);
            if (rc != AC_OK) {
                fprintf(stderr, "ac_decodebench: decode failed: %s\n",
                        details ? json_dumps(details, 0) : "?");
                exit(1);
            }
            if (events == 0 || spent < 0.5) {
                /* the serialization, timed on the side */
                double d0 = db_cpu_s();
                for (size_t i = 0; i < v.n; i++) {
                    free(ac_event_dump(&v.items[i], NULL));
                }
                spent += db_cpu_s() - d0;
                dumped += (long)v.n;
            }
            ac_event_vec_deinit(&v);
            events += batch;
        } while ((t1 = db_cpu_s()) - t0 < 0.5 + spent);
        decode[r] = (t1 - t0 - spent) / (double)events * 1e6;
        dump[r] = spent / (double)dumped * 1e6;
    }
    qsort(parse, (size_t)runs, sizeof(double), db_cmp);
    qsort(decode, (size_t)runs, sizeof(double), db_cmp);
    qsort(dump, (size_t)runs, sizeof(double), db_cmp);
    printf("| %-12s | %5d | %6zu | %8.2f | %8.2f | %8.2f |\n", name, batch, len / (size_t)batch,
           parse[runs / 2], decode[runs / 2], dump[runs / 2]);
    ac_am_config_deinit(&cfg);
    json_decref(errs);
    free(body);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"batch", required_argument, NULL, 'b'},
                                         {"event-bytes", required_argument, NULL, 'e'},
                                         {"runs", required_argument, NULL, 'r'},
                                         {NULL, 0, NULL, 0}};
    int batch = 100, bytes = 1024, runs = 5, c;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
            case 'b':
                batch = atoi(optarg);
                break;
            case 'e':
                bytes = atoi(optarg);
                break;
            case 'r':
                runs = atoi(optarg);
                break;
            default:
                fprintf(stderr, "usage: ac_decodebench [--batch N] [--event-bytes N] [--runs N]\n");
                return 2;
        }
    }
    if (batch < 1 || batch > 10000 || bytes < 0 || bytes > DB_PAD_MAX || runs < 1 || runs > 31) {
        fprintf(stderr, "ac_decodebench: batch 1..10000, event-bytes 0..%d, runs 1..31\n",
                DB_PAD_MAX);
        return 2;
    }
    ac_mem_init();
    printf("CPU µs per event, one core, medians of %d runs:\n\n", runs);
    printf("| format       | batch | bytes  | parse    | decode   | document |\n");
    printf("|---|---:|---:|---:|---:|---:|\n");
    db_format("alertmanager", 1, batch, bytes, runs);
    db_format("native", 0, batch, bytes, runs);
    return 0;
}
