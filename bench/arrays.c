/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ac_arraybench: what PostgreSQL spends per element to take a multi-row
 * statement's array parameter as text (an array literal, ac_pg_array_add)
 * or in binary (ac_pg_barray_*), for the element types whose cost matters
 * to the writer: a ~1 KB document as json and as text, a timestamp
 * (bench/PROFILE.md). It prepares `SELECT cardinality($1::T[])` - the
 * parameter is received, parsed and validated, and nothing else is done -
 * sends the same N elements ROUNDS times in each form, and prints the
 * backend's CPU microseconds per element (from /proc ticks: the database
 * must be on this machine) and the wall time per element.
 *
 *   ac_arraybench DSN [--elements N] [--rounds N] [--event-bytes N]
 */
#include <getopt.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/core/mem.h"
#include "server/core/pg.h"

/* The backend's user + system CPU ticks (/proc/PID/stat fields 14 and 15). */
static long ab_ticks(int pid)
{
    char path[64], line[1024], *p;
    long utime = 0, stime = 0;
    FILE *f;

    (void)snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    if (!(f = fopen(path, "r"))) {
        fprintf(stderr, "ac_arraybench: cannot read %s (is PostgreSQL on this machine?)\n", path);
        exit(1);
    }
    if (!fgets(line, sizeof(line), f) || !(p = strrchr(line, ')'))) {
        fprintf(stderr, "ac_arraybench: cannot parse %s\n", path);
        exit(1);
    }
    fclose(f);
    /* after ") ": state is field 3; utime and stime are fields 14 and 15 */
    for (int field = 3; field < 14 && p; field++) {
        p = strchr(p + 1, ' ');
    }
    if (!p || sscanf(p, " %ld %ld", &utime, &stime) != 2) {
        fprintf(stderr, "ac_arraybench: cannot parse %s\n", path);
        exit(1);
    }
    return utime + stime;
}

static double ab_now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A document of about bytes: an Alertmanager-like JSON object. */
static char *ab_doc(size_t bytes)
{
    struct ac_buf b = {0};

    ac_buf_appends(&b, "{\"spec_version\":\"1\",\"source\":\"prometheus\",\"type\":\"HighLatency\","
                       "\"title\":\"p99 \\\"latency\\\" high\",\"labels\":{");
    for (int k = 0; b.len + 48 < bytes; k++) {
        ac_buf_printf(&b, "%s\"label_%d\":\"value number %d here\"", k ? "," : "", k, k);
    }
    ac_buf_appends(&b, "}}");
    return ac_buf_steal(&b);
}

static void ab_run(PGconn *c, int pid, const char *type, const struct ac_buf *text,
                   const struct ac_buf *bin, int n, int rounds)
{
    char sql[96];
    double t0, wall[2];
    long k0, cpu[2];
    PGresult *r;
    long hz = sysconf(_SC_CLK_TCK);

    (void)snprintf(sql, sizeof(sql), "SELECT cardinality($1::%s[])", type);
    r = PQprepare(c, "ab", sql, 1, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "ac_arraybench: %s", PQerrorMessage(c));
        exit(1);
    }
    PQclear(r);
    for (int form = 0; form < 2; form++) {
        const struct ac_buf *b = form ? bin : text;
        const char *v[1] = {b->data};
        int len[1] = {(int)b->len}, fmt[1] = {form};

        k0 = ab_ticks(pid);
        t0 = ab_now();
        for (int i = 0; i < rounds; i++) {
            r = PQexecPrepared(c, "ab", 1, v, len, fmt, 0);
            if (PQresultStatus(r) != PGRES_TUPLES_OK || atoi(PQgetvalue(r, 0, 0)) != n) {
                fprintf(stderr, "ac_arraybench: %s %s: %s", type, form ? "binary" : "text",
                        PQerrorMessage(c));
                exit(1);
            }
            PQclear(r);
        }
        wall[form] = ab_now() - t0;
        cpu[form] = ab_ticks(pid) - k0;
    }
    PQclear(PQexec(c, "DEALLOCATE ab"));
    printf("| %-11s | %8.2f | %8.2f | %8.2f | %8.2f |\n", type,
           (double)cpu[0] * 1e6 / (double)hz / n / rounds,
           (double)cpu[1] * 1e6 / (double)hz / n / rounds, wall[0] * 1e6 / n / rounds,
           wall[1] * 1e6 / n / rounds);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"elements", required_argument, NULL, 'n'},
                                         {"rounds", required_argument, NULL, 'r'},
                                         {"event-bytes", required_argument, NULL, 'b'},
                                         {NULL, 0, NULL, 0}};
    int n = 300, rounds = 300, bytes = 1024, o, pid;
    struct ac_buf text = {0}, bin = {0};
    char *doc;
    PGconn *c;
    PGresult *r;

    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
            case 'n':
                n = atoi(optarg);
                break;
            case 'r':
                rounds = atoi(optarg);
                break;
            case 'b':
                bytes = atoi(optarg);
                break;
            default:
                optind = argc + 1;
        }
    }
    if (optind != argc - 1 || n < 1 || n > 100000 || rounds < 1 || rounds > 100000 || bytes < 64 ||
        bytes > 65536) {
        fprintf(stderr, "usage: ac_arraybench DSN [--elements 1..100000] [--rounds 1..100000]"
                        " [--event-bytes 64..65536]\n");
        return 2;
    }
    c = PQconnectdb(argv[optind]);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "ac_arraybench: %s", PQerrorMessage(c));
        return 1;
    }
    r = PQexec(c, "SELECT pg_backend_pid()");
    pid = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    doc = ab_doc((size_t)bytes);
    printf("PostgreSQL CPU and wall µs per element: %d elements a statement, %d statements,"
           " %zu-byte documents\n\n",
           n, rounds, strlen(doc));
    printf("| element     | CPU text | CPU bin  | wall text | wall bin |\n");
    printf("|---|---:|---:|---:|---:|\n");
    for (int t = 0; t < 3; t++) {
        static const char *const types[] = {"json", "text", "timestamptz"};
        static const uint32_t oids[] = {AC_PG_OID_JSON, AC_PG_OID_TEXT, AC_PG_OID_TIMESTAMPTZ};

        ac_buf_deinit(&text);
        ac_pg_barray_begin(&bin, oids[t]);
        for (int i = 0; i < n; i++) {
            int64_t us = 1796000000123456LL + i;
            if (t < 2) {
                ac_pg_array_add(&text, doc);
                ac_pg_barray_add(&bin, doc);
            }
            else {
                char ts[40];
                (void)snprintf(ts, sizeof(ts), "2026-12-07T21:00:00.%06dZ", i % 1000000);
                ac_pg_array_add(&text, ts);
                ac_pg_barray_add_time(&bin, us, false);
            }
        }
        ac_pg_array_close(&text);
        ab_run(c, pid, types[t], &text, &bin, n, rounds);
    }
    ac_buf_deinit(&text);
    ac_buf_deinit(&bin);
    free(doc);
    PQfinish(c);
    return 0;
}
