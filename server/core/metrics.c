/* SPDX-License-Identifier: Apache-2.0 */
/* The metrics registry and the text exposition format (metrics.h). */
#include "server/core/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/core/mem.h"

struct mt_collector {
    ac_metrics_collect_fn fn;
    void *ctx;
};

struct ac_metrics {
    pthread_mutex_t lock; /* registration may race with a scrape */
    struct mt_collector *c;
    size_t n, cap;
};

struct ac_metrics_out {
    struct ac_buf b;
};

/* Bucket bounds in µs; the last bucket of the exposition is +Inf. */
static const int64_t mt_bounds_us[AC_HIST_NBUCKETS] = {
    1000,   2500,   5000,    10000,   25000,   50000,    100000,
    250000, 500000, 1000000, 2500000, 5000000, 10000000,
};

struct ac_metrics *ac_metrics_create(void)
{
    struct ac_metrics *m = ac_xcalloc(1, sizeof(*m));

    pthread_mutex_init(&m->lock, NULL);
    return m;
}

void ac_metrics_destroy(struct ac_metrics *m)
{
    if (m) {
        pthread_mutex_destroy(&m->lock);
        free(m->c);
        free(m);
    }
}

void ac_metrics_register(struct ac_metrics *m, ac_metrics_collect_fn fn, void *ctx)
{
    pthread_mutex_lock(&m->lock);
    if (m->n == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 8;
        m->c = ac_xrealloc(m->c, m->cap * sizeof(*m->c));
    }
    m->c[m->n++] = (struct mt_collector){fn, ctx};
    pthread_mutex_unlock(&m->lock);
}

char *ac_metrics_render(struct ac_metrics *m, size_t *len)
{
    struct ac_metrics_out o = {{0}};

    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->n; i++) {
        m->c[i].fn(m->c[i].ctx, &o);
    }
    pthread_mutex_unlock(&m->lock);
    *len = o.b.len;
    return ac_buf_steal(&o.b);
}

/* HELP text escapes backslash and newline; label values also the quote. */
static void mt_escape(struct ac_buf *b, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\') {
            ac_buf_appends(b, "\\\\");
        }
        else if (*s == '\n') {
            ac_buf_appends(b, "\\n");
        }
        else if (*s == '"' && quote) {
            ac_buf_appends(b, "\\\"");
        }
        else {
            ac_buf_append(b, s, 1);
        }
    }
}

void ac_metrics_family(struct ac_metrics_out *o, const char *name, const char *type,
                       const char *help)
{
    ac_buf_printf(&o->b, "# HELP %s ", name);
    mt_escape(&o->b, help, false);
    ac_buf_printf(&o->b, "\n# TYPE %s %s\n", name, type);
}

/* {a="x",b="y"} from the pairs of ap, then extra_name=extra_value if given;
 * nothing at all without labels. */
static void mt_labels(struct ac_buf *b, va_list ap, const char *extra_name, const char *extra_value)
{
    const char *k;
    bool any = false;

    while ((k = va_arg(ap, const char *))) {
        const char *v = va_arg(ap, const char *);
        ac_buf_appends(b, any ? "," : "{");
        ac_buf_printf(b, "%s=\"", k);
        mt_escape(b, v ? v : "", true);
        ac_buf_appends(b, "\"");
        any = true;
    }
    if (extra_name) {
        ac_buf_printf(b, "%s%s=\"%s\"", any ? "," : "{", extra_name, extra_value);
        any = true;
    }
    if (any) {
        ac_buf_appends(b, "}");
    }
}

static void mt_value(struct ac_buf *b, double v)
{
    if (isnan(v)) {
        ac_buf_appends(b, " NaN\n");
    }
    else if (isinf(v)) {
        ac_buf_appends(b, v > 0 ? " +Inf\n" : " -Inf\n");
    }
    else {
        /* the shortest of 15 or 17 digits that reads back as v */
        char s[40];
        (void)snprintf(s, sizeof(s), "%.15g", v);
        if (strtod(s, NULL) != v) {
            (void)snprintf(s, sizeof(s), "%.17g", v);
        }
        ac_buf_printf(b, " %s\n", s);
    }
}

void ac_metrics_sample(struct ac_metrics_out *o, const char *name, double value, ...)
{
    va_list ap;

    ac_buf_appends(&o->b, name);
    va_start(ap, value);
    mt_labels(&o->b, ap, NULL, NULL);
    va_end(ap);
    mt_value(&o->b, value);
}

void ac_metrics_single(struct ac_metrics_out *o, const char *name, const char *type,
                       const char *help, double value)
{
    ac_metrics_family(o, name, type, help);
    ac_metrics_sample(o, name, value, NULL);
}

void ac_hist_observe_us(struct ac_hist *h, int64_t us)
{
    size_t i = 0;

    if (us < 0) {
        us = 0;
    }
    while (i < AC_HIST_NBUCKETS && us > mt_bounds_us[i]) {
        i++;
    }
    if (i < AC_HIST_NBUCKETS) {
        __atomic_add_fetch(&h->le[i], 1, __ATOMIC_RELAXED);
    }
    __atomic_add_fetch(&h->sum_us, (unsigned long long)us, __ATOMIC_RELAXED);
    __atomic_add_fetch(&h->count, 1, __ATOMIC_RELAXED);
}

void ac_metrics_hist(struct ac_metrics_out *o, const char *name, const struct ac_hist *h, ...)
{
    unsigned long long cum = 0, count, sum_us;
    char le[32];
    va_list ap;

    /* count first: an observation racing with the scrape then shows in the
     * buckets or not at all, and +Inf (= count) never falls below them */
    count = __atomic_load_n(&h->count, __ATOMIC_RELAXED);
    sum_us = __atomic_load_n(&h->sum_us, __ATOMIC_RELAXED);
    for (size_t i = 0; i <= AC_HIST_NBUCKETS; i++) {
        if (i < AC_HIST_NBUCKETS) {
            cum += __atomic_load_n(&h->le[i], __ATOMIC_RELAXED);
            if (cum > count) {
                cum = count;
            }
            (void)snprintf(le, sizeof(le), "%g", (double)mt_bounds_us[i] / 1e6);
        }
        else {
            cum = count;
            (void)snprintf(le, sizeof(le), "+Inf");
        }
        ac_buf_printf(&o->b, "%s_bucket", name);
        va_start(ap, h);
        mt_labels(&o->b, ap, "le", le);
        va_end(ap);
        mt_value(&o->b, (double)cum);
    }
    ac_buf_printf(&o->b, "%s_sum", name);
    va_start(ap, h);
    mt_labels(&o->b, ap, NULL, NULL);
    va_end(ap);
    mt_value(&o->b, (double)sum_us / 1e6);
    ac_buf_printf(&o->b, "%s_count", name);
    va_start(ap, h);
    mt_labels(&o->b, ap, NULL, NULL);
    va_end(ap);
    mt_value(&o->b, (double)count);
}
