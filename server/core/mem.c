/* SPDX-License-Identifier: Apache-2.0 */
/* Aborting allocation wrappers and a small growable buffer. */
#include "server/core/mem.h"

#include <jansson.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/core/worker.h"

static void mem_oom(size_t n)
{
    (void)fprintf(stderr, "out of memory allocating %zu bytes\n", n);
    abort();
}

void *ac_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (!p) {
        mem_oom(n);
    }
    return p;
}

void *ac_xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

    if (!p) {
        mem_oom(nmemb * size);
    }
    return p;
}

void *ac_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);

    if (!q) {
        mem_oom(n);
    }
    return q;
}

char *ac_xstrdup(const char *s)
{
    return ac_xstrndup(s, strlen(s));
}

char *ac_xstrndup(const char *s, size_t n)
{
    char *d = ac_xmalloc(n + 1);

    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *ac_xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) {
        mem_oom(0);
    }
    return s;
}

static void *mem_json_malloc(size_t n)
{
    return ac_xmalloc(n);
}

/*
 * glibc gives a thread that meets a locked arena one of its own, up to 8 per
 * core, and each arena keeps what its threads freed: the HTTP workers' request
 * trees leave every arena holding its peak (300,000 open alerts: 83 MB
 * resident). Two arenas a core (4..16) and a trim every few seconds
 * (ac_mem_trimmer_start) keep it near what is in use (53 MB) at no cost
 * measured beyond noise; one arena a core (50 MB) cost the server 8-15 % of
 * its CPU at 90 % repeats in malloc_consolidate (bench/PROFILE.md).
 * MALLOC_ARENA_MAX, when set, still rules.
 */
void ac_mem_init(void)
{
    json_set_alloc_funcs(mem_json_malloc, free);
    if (!getenv("MALLOC_ARENA_MAX")) {
        long n = 2 * sysconf(_SC_NPROCESSORS_ONLN);
        (void)mallopt(M_ARENA_MAX, (int)(n < 4 ? 4 : n > 16 ? 16 : n));
    }
}

static enum ac_worker_pass mem_trim_pass(void *ctx, struct ac_worker *w, PGconn *conn)
{
    (void)ctx;
    (void)w;
    (void)conn;
    (void)malloc_trim(0);
    return AC_WORKER_IDLE;
}

struct ac_worker *ac_mem_trimmer_start(long period_ms)
{
    struct ac_worker_def def = {.name = "memtrim", .period_ms = period_ms, .pass = mem_trim_pass};

    return ac_worker_start(&def);
}

void ac_buf_reserve(struct ac_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;

    if (need <= b->cap) {
        return;
    }
    b->cap = b->cap ? b->cap : 256;
    while (b->cap < need) {
        b->cap *= 2;
    }
    b->data = ac_xrealloc(b->data, b->cap);
}

void ac_buf_append(struct ac_buf *b, const void *p, size_t n)
{
    ac_buf_reserve(b, n);
    if (n) {
        memcpy(b->data + b->len, p, n);
    }
    b->len += n;
    b->data[b->len] = '\0';
}

void ac_buf_appends(struct ac_buf *b, const char *s)
{
    ac_buf_append(b, s, strlen(s));
}

void ac_buf_printf(struct ac_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    ac_buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    (void)vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *ac_buf_steal(struct ac_buf *b)
{
    char *d = b->data;

    if (!d) {
        d = ac_xstrdup("");
    }
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}

void ac_buf_deinit(struct ac_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

struct ac_arena_item {
    void (*fn)(void *);
    void *p;
};

void ac_arena_init(struct ac_arena *a)
{
    a->items = NULL;
    a->n = a->cap = 0;
}

void *ac_arena_defer(struct ac_arena *a, void (*fn)(void *), void *p)
{
    if (!p) {
        return NULL;
    }
    if (a->n == a->cap) {
        a->cap = a->cap ? 2 * a->cap : 32;
        a->items = ac_xrealloc(a->items, a->cap * sizeof(*a->items));
    }
    a->items[a->n++] = (struct ac_arena_item){fn, p};
    return p;
}

char *ac_arena_own(struct ac_arena *a, char *s)
{
    return ac_arena_defer(a, free, s);
}

static void arena_buf_free(void *p)
{
    ac_buf_deinit(p);
    free(p);
}

struct ac_buf *ac_arena_buf(struct ac_arena *a)
{
    return ac_arena_defer(a, arena_buf_free, ac_xcalloc(1, sizeof(struct ac_buf)));
}

void ac_arena_reset(struct ac_arena *a)
{
    while (a->n > 0) {
        a->n--;
        a->items[a->n].fn(a->items[a->n].p);
    }
}

void ac_arena_deinit(struct ac_arena *a)
{
    ac_arena_reset(a);
    free(a->items);
    ac_arena_init(a);
}
