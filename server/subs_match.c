/* SPDX-License-Identifier: Apache-2.0 */
/* Subscription matching; see subs_match.h. */
#include "server/subs_match.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "server/core/mem.h"
#include "server/core/strmap.h"

struct sub_list {
    char **v;
    size_t n;
};

struct sub {
    int64_t id;
    char *tenant;
    unsigned cats; /* 1 << enum ac_category */
    struct sub_list apps, namespaces, regions;
    int64_t cycle_us, threshold;
};

struct ac_sub_set {
    struct sub *v; /* a tenant's one after another */
    size_t n, cap;
    struct ac_strmap idx; /* tenant -> index of its first */
};

static void sub_list_free(struct sub_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i]);
    }
    free(l->v);
}

static void sub_list_copy(const json_t *a, struct sub_list *l)
{
    const json_t *v;
    size_t i;

    l->v = ac_xcalloc(json_array_size(a) + 1, sizeof(*l->v));
    json_array_foreach(a, i, v)
    {
        l->v[l->n++] = ac_xstrdup(json_string_value(v) ? json_string_value(v) : "");
    }
}

struct ac_sub_set *ac_sub_set_new(size_t n)
{
    struct ac_sub_set *s = ac_xcalloc(1, sizeof(*s));

    s->cap = n ? n : 1;
    s->v = ac_xcalloc(s->cap, sizeof(*s->v));
    ac_strmap_init(&s->idx, s->cap);
    return s;
}

void ac_sub_set_free(struct ac_sub_set *s)
{
    if (!s) {
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].tenant);
        sub_list_free(&s->v[i].apps);
        sub_list_free(&s->v[i].namespaces);
        sub_list_free(&s->v[i].regions);
    }
    ac_strmap_deinit(&s->idx);
    free(s->v);
    free(s);
}

void ac_sub_set_add(struct ac_sub_set *s, int64_t id, const char *tenant, const json_t *categories,
                    const json_t *apps, const json_t *namespaces, const json_t *regions,
                    int64_t cycle_s, int64_t threshold)
{
    static const char *const cats[] = {[AC_CATEGORY_RUNTIME] = "runtime",
                                       [AC_CATEGORY_CHANGE] = "change",
                                       [AC_CATEGORY_SYSTEM] = "system",
                                       [AC_CATEGORY_CLOUD_PRODUCT] = "cloud_product"};
    struct sub *sb;
    const json_t *v;
    size_t k;

    if (s->n == s->cap) { /* the index keeps pointers to the tenants, not to v */
        s->cap *= 2;
        s->v = ac_xrealloc(s->v, s->cap * sizeof(*s->v));
    }
    sb = &s->v[s->n++];
    memset(sb, 0, sizeof(*sb));
    sb->id = id;
    sb->tenant = ac_xstrdup(tenant);
    json_array_foreach(categories, k, v)
    {
        for (unsigned c = AC_CATEGORY_RUNTIME; c <= AC_CATEGORY_CLOUD_PRODUCT; c++) {
            if (json_string_value(v) && strcmp(json_string_value(v), cats[c]) == 0) {
                sb->cats |= 1u << c;
            }
        }
    }
    sub_list_copy(apps, &sb->apps);
    sub_list_copy(namespaces, &sb->namespaces);
    sub_list_copy(regions, &sb->regions);
    sb->cycle_us = (cycle_s > 0 ? cycle_s : 1) * 1000000;
    sb->threshold = threshold;
    (void)ac_strmap_upsert(&s->idx, sb->tenant, strlen(sb->tenant), (int64_t)(s->n - 1), NULL);
}

size_t ac_sub_set_size(const struct ac_sub_set *s)
{
    return s ? s->n : 0;
}

/* Whether v is in l (an empty list holds everything). */
static bool sub_in(const struct sub_list *l, const char *v)
{
    if (l->n == 0) {
        return true;
    }
    for (size_t i = 0; v && i < l->n; i++) {
        if (strcmp(l->v[i], v) == 0) {
            return true;
        }
    }
    return false;
}

size_t ac_sub_set_match(const struct ac_sub_set *s, const struct ac_event *ev,
                        struct ac_sub_hit *out, size_t max)
{
    const int64_t *first;
    size_t n = 0;

    if (!s || !ev->user_id || ev->category == AC_CATEGORY_UNSET ||
        !(first = ac_strmap_get(&s->idx, ev->user_id, strlen(ev->user_id)))) {
        return 0;
    }
    for (size_t i = (size_t)*first; i < s->n && n < max; i++) {
        const struct sub *sb = &s->v[i];
        if (strcmp(sb->tenant, ev->user_id) != 0) {
            break;
        }
        if ((sb->cats & (1u << ev->category)) && sub_in(&sb->apps, ev->app_id) &&
            sub_in(&sb->namespaces, ev->namespace_) && sub_in(&sb->regions, ev->region)) {
            out[n++] = (struct ac_sub_hit){sb->id, ev->received_at - ev->received_at % sb->cycle_us,
                                           sb->threshold};
        }
    }
    return n;
}
