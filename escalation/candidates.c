/* SPDX-License-Identifier: Apache-2.0 */
/* Which of a group's members are new to their windows (see candidates.h). */
#include "escalation/candidates.h"

#include <stdlib.h>
#include <string.h>

#include "escalation/engine.h"
#include "escalation/policy.h"
#include "server/core/lockkey.h"
#include "server/core/mem.h"

/* --- view ------------------------------------------------------------------ */

void ac_cand_view_init(struct ac_cand_view *v)
{
    memset(v, 0, sizeof(*v));
    ac_strmap_init(&v->idx, 16);
}

void ac_cand_view_deinit(struct ac_cand_view *v)
{
    free(v->w);
    ac_strmap_deinit(&v->idx);
    memset(v, 0, sizeof(*v));
}

void ac_cand_view_add(struct ac_cand_view *v, const struct ac_cand_window *w)
{
    bool added;

    (void)ac_strmap_upsert(&v->idx, w->type, strlen(w->type), (int64_t)v->n, &added);
    if (!added) {
        return;
    }
    if (v->n == v->cap) {
        v->cap = v->cap ? 2 * v->cap : 8;
        v->w = ac_xrealloc(v->w, v->cap * sizeof(*v->w));
    }
    v->w[v->n++] = *w;
}

const struct ac_cand_window *ac_cand_view_get(const struct ac_cand_view *v, const char *type)
{
    int64_t *row = v ? ac_strmap_get(&v->idx, type, strlen(type)) : NULL;

    return row ? &v->w[*row] : NULL;
}

/* --- memory ------------------------------------------------------------------ */

void ac_cand_memory_init(struct ac_cand_memory *m, size_t per_type_max, size_t total_max)
{
    memset(m, 0, sizeof(*m));
    ac_strmap_init(&m->idx, 16);
    m->per_type_max = per_type_max;
    m->total_max = total_max;
}

void ac_cand_memory_deinit(struct ac_cand_memory *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->known[i].type);
        free(m->known[i].set);
    }
    free(m->known);
    ac_strmap_deinit(&m->idx);
    memset(m, 0, sizeof(*m));
}

struct ac_cand_known *ac_cand_memory_type(struct ac_cand_memory *m, const char *type)
{
    bool added;
    int64_t *slot = ac_strmap_get(&m->idx, type, strlen(type));
    struct ac_cand_known *k;

    if (slot) {
        return &m->known[*slot];
    }
    if (m->n == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 16;
        m->known = ac_xrealloc(m->known, m->cap * sizeof(*m->known));
    }
    k = &m->known[m->n];
    memset(k, 0, sizeof(*k));
    k->type = ac_xstrdup(type);
    k->type_key = ac_lockkey_type(type);
    (void)ac_strmap_upsert(&m->idx, k->type, strlen(k->type), (int64_t)m->n, &added);
    m->n++;
    return k;
}

bool ac_cand_known_has(const struct ac_cand_known *k, int64_t window_id, int64_t key)
{
    if (!k || !k->cap || k->window_id != window_id || key == 0) {
        return false;
    }
    for (size_t i = (uint64_t)key & (k->cap - 1);; i = (i + 1) & (k->cap - 1)) {
        if (k->set[i] == key) {
            return true;
        }
        if (k->set[i] == 0) {
            return false;
        }
    }
}

/* Puts key into a set with room for it. */
static void cand_known_put(struct ac_cand_known *k, int64_t key)
{
    size_t i = (uint64_t)key & (k->cap - 1);

    while (k->set[i]) {
        i = (i + 1) & (k->cap - 1);
    }
    k->set[i] = key;
}

void ac_cand_memory_add(struct ac_cand_memory *m, struct ac_cand_known *k, int64_t window_id,
                        char kind, int64_t key)
{
    if (k->window_id != window_id) { /* a new window: its members start over */
        k->window_id = window_id;
        m->total -= k->n;
        k->n = 0;
        k->napps = k->nusers = 0;
        k->complete = false;
        if (k->set) {
            memset(k->set, 0, k->cap * sizeof(*k->set));
        }
    }
    /* past the bounds members are simply asked about again */
    if (key == 0 || k->n >= m->per_type_max || m->total >= m->total_max ||
        ac_cand_known_has(k, window_id, key)) {
        return;
    }
    if (2 * (k->n + 1) > k->cap) {
        int64_t *old = k->set;
        size_t oldcap = k->cap;
        k->cap = k->cap ? 2 * k->cap : 64;
        k->set = ac_xcalloc(k->cap, sizeof(*k->set));
        for (size_t j = 0; j < oldcap; j++) {
            if (old[j]) {
                cand_known_put(k, old[j]);
            }
        }
        free(old);
    }
    cand_known_put(k, key);
    k->n++;
    k->napps += kind == 'a';
    k->nusers += kind == 'u';
    m->total++;
}

/* Whether k holds exactly the members of window id with these stored
 * counts. */
static bool cand_known_exact(const struct ac_cand_known *k, int64_t id, long long apps,
                             long long users)
{
    return id && k->window_id == id && k->napps == apps && k->nusers == users;
}

/* --- collection ------------------------------------------------------------ */

static struct ac_cand_win *cand_win(struct ac_cand_group *g, struct ac_cand_memory *mem,
                                    const struct ac_cand_view *view, const char *type, size_t event)
{
    bool added;
    int64_t *slot = ac_strmap_upsert(&g->win_idx, type, strlen(type), (int64_t)g->nwins, &added);
    struct ac_cand_win *cw;

    if (!added) {
        return &g->wins[*slot];
    }
    cw = &g->wins[g->nwins++];
    cw->type = type;
    cw->first_event = event;
    if (view) {
        const struct ac_cand_window *w = ac_cand_view_get(view, type);
        cw->id = w ? w->id : 0;
        cw->first = w ? w->first_event_id : 0;
        cw->apps_db = w ? w->apps : 0;
        cw->users_db = w ? w->users : 0;
    }
    else {
        struct ac_cand_known *k = ac_cand_memory_type(mem, type);
        cw->id = k->window_id;
        cw->memory = k->complete;
    }
    return cw;
}

static struct ac_cand_member *cand_find(const struct ac_cand_group *g, size_t win, int64_t key)
{
    int64_t sk[2] = {(int64_t)win, key};
    int64_t *slot = ac_strmap_get(&g->mem_idx, (const char *)sk, sizeof(sk));

    return slot && *slot >= 0 ? &g->m[*slot] : NULL;
}

void ac_cand_collect(struct ac_cand_group *g, struct ac_cand_memory *mem,
                     const struct ac_cand_view *view, const struct ac_event *const *evs,
                     const bool *eligible, size_t n, const int64_t *ekeys)
{
    bool added;

    memset(g, 0, sizeof(*g));
    g->m = ac_xcalloc(2 * n + 1, sizeof(*g->m));
    g->wins = ac_xcalloc(n + 1, sizeof(*g->wins));
    g->mkeys = ac_xcalloc(2 * n + 1, sizeof(*g->mkeys));
    g->ekeys = ac_xcalloc(2 * n + 1, sizeof(*g->ekeys));
    ac_strmap_init(&g->win_idx, 16);
    ac_strmap_init(&g->mem_idx, n + 1);
    for (size_t i = 0; i < n; i++) {
        const struct ac_event *ev = evs[i];
        const char *val[2] = {ev->app_id, ac_esc_counts_user(ev->gc_level) ? ev->user_id : NULL};
        struct ac_cand_win *cw;

        if (!eligible[i]) {
            continue;
        }
        cw = cand_win(g, mem, view, ev->type, i);
        for (int k = 0; k < 2; k++) {
            struct ac_cand_member *m = &g->m[g->n];
            int64_t *sk = g->mkeys[g->nmkeys], *slot;
            if (!val[k]) {
                continue;
            }
            sk[0] = (int64_t)(cw - g->wins);
            sk[1] = ekeys && ekeys[2 * i + (size_t)k]
                        ? ekeys[2 * i + (size_t)k]
                        : ac_lockkey_member(k == 0 ? 'a' : 'u', val[k]);
            g->ekeys[2 * i + (size_t)k] = sk[1];
            slot = ac_strmap_upsert(&g->mem_idx, (const char *)sk, 2 * sizeof(int64_t), -1, &added);
            if (!added) {
                continue;
            }
            g->nmkeys++;
            if (cw->id && ac_cand_known_has(ac_cand_memory_type(mem, ev->type), cw->id, sk[1])) {
                continue; /* counted into this window before: nothing to ask */
            }
            *slot = (int64_t)g->n;
            m->value = val[k];
            m->kind = k == 0 ? 'a' : 'u';
            m->key = sk[1];
            m->event = i;
            m->win = (size_t)sk[0];
            m->added = cw->id == 0;
            cw->nmem++;
            g->n++;
        }
    }
}

void ac_cand_group_deinit(struct ac_cand_group *g)
{
    free(g->m);
    free(g->wins);
    free(g->mkeys);
    free(g->ekeys);
    ac_strmap_deinit(&g->win_idx);
    ac_strmap_deinit(&g->mem_idx);
    memset(g, 0, sizeof(*g));
}

const struct ac_cand_win *ac_cand_group_window(const struct ac_cand_group *g, const char *type)
{
    int64_t *slot = g->wins ? ac_strmap_get(&g->win_idx, type, strlen(type)) : NULL;

    return slot ? &g->wins[*slot] : NULL;
}

size_t ac_cand_members_of(const struct ac_cand_group *g, size_t win, bool added_only, char *kinds,
                          int64_t *keys)
{
    size_t n = 0;

    for (size_t k = 0; k < g->n; k++) {
        if (g->m[k].win == win && (!added_only || g->m[k].added)) {
            kinds[n] = g->m[k].kind;
            if (keys) {
                keys[n] = g->m[k].key;
            }
            n++;
        }
    }
    return n;
}

/* --- set checks ---------------------------------------------------------- */

size_t ac_cand_checks(const struct ac_cand_group *g, size_t *wins)
{
    size_t n = 0;

    for (size_t i = 0; i < g->nwins; i++) {
        const struct ac_cand_win *cw = &g->wins[i];
        if (cw->id && cw->nmem && !cw->decided && !cw->memory) {
            wins[n++] = i;
        }
    }
    return n;
}

bool ac_cand_checked(struct ac_cand_group *g, size_t win, long long apps_set, long long users_set,
                     const bool *present, size_t n)
{
    struct ac_cand_win *cw = &g->wins[win];

    cw->checked = false;
    if (n != cw->nmem) {
        return false;
    }
    for (size_t k = 0, j = 0; k < g->n; k++) {
        if (g->m[k].win == win) {
            g->m[k].present = present[j++];
        }
    }
    cw->apps_set = apps_set;
    cw->users_set = users_set;
    cw->checked = true;
    return true;
}

/* --- decisions ------------------------------------------------------------ */

/* Decides window cw's members from a check (fw of from) whose sizes equal
 * the stored counts: the set is then exactly the window's members. */
static void cand_decide_from(struct ac_cand_group *g, struct ac_cand_win *cw,
                             const struct ac_cand_group *from, const struct ac_cand_win *fw)
{
    size_t win = (size_t)(cw - g->wins), fwin = (size_t)(fw - from->wins);

    if (!fw->checked || fw->id != cw->id || fw->apps_set != cw->apps_db ||
        fw->users_set != cw->users_db) {
        return;
    }
    for (size_t k = 0; k < g->n; k++) {
        const struct ac_cand_member *fm =
            g->m[k].win == win ? cand_find(from, fwin, g->m[k].key) : NULL;
        if (g->m[k].win == win && (!fm || fm->kind != g->m[k].kind)) {
            return; /* not asked then */
        }
    }
    for (size_t k = 0; k < g->n; k++) {
        if (g->m[k].win == win) {
            g->m[k].added = !cand_find(from, fwin, g->m[k].key)->present;
        }
    }
    cw->decided = true;
}

bool ac_cand_decide(struct ac_cand_group *g, struct ac_cand_memory *mem,
                    const struct ac_cand_group *pre)
{
    bool left = false;

    for (size_t i = 0; i < g->nwins; i++) {
        struct ac_cand_win *cw = &g->wins[i];
        struct ac_cand_known *k = ac_cand_memory_type(mem, cw->type);
        const struct ac_cand_win *pw = pre ? ac_cand_group_window(pre, cw->type) : NULL;
        cw->decided = !cw->id || !cw->nmem;
        if (!cw->decided && cand_known_exact(k, cw->id, cw->apps_db, cw->users_db)) {
            for (size_t j = 0; j < g->n; j++) {
                g->m[j].added |= g->m[j].win == i;
            }
            cw->decided = true;
        }
        else if (!cw->decided) {
            k->complete = false; /* counted by another instance: ask the sets next time */
        }
        if (!cw->decided && pw) {
            cand_decide_from(g, cw, pre, pw);
        }
        left |= !cw->decided;
    }
    return left;
}

void ac_cand_decide_checked(struct ac_cand_group *g)
{
    for (size_t i = 0; i < g->nwins; i++) {
        if (!g->wins[i].decided && g->wins[i].checked) {
            cand_decide_from(g, &g->wins[i], g, &g->wins[i]);
        }
    }
}

size_t ac_cand_probes(struct ac_cand_group *g, size_t *ord)
{
    size_t n = 0;

    for (size_t i = 0; i < g->n; i++) {
        if (g->wins[g->m[i].win].decided) {
            continue;
        }
        g->m[i].added = true;
        ord[n++] = i;
    }
    return n;
}

void ac_cand_probed(struct ac_cand_group *g, const size_t *ord, size_t nord, size_t i)
{
    if (i < nord) {
        g->m[ord[i]].added = false;
    }
}

size_t ac_cand_apply(struct ac_cand_group *g, size_t *keep)
{
    size_t n = 0;

    for (size_t i = 0; i < g->n; i++) {
        struct ac_cand_win *cw = &g->wins[g->m[i].win];
        if (!g->m[i].added) {
            continue;
        }
        keep[n++] = g->m[i].event;
        if (g->m[i].kind == 'a') {
            cw->apps++;
        }
        else {
            cw->users++;
        }
    }
    for (size_t i = 0; i < g->nwins; i++) {
        if (!g->wins[i].id) {
            keep[n++] = g->wins[i].first_event;
        }
    }
    return n;
}

/* --- after COMMIT ------------------------------------------------------------ */

int64_t ac_cand_window_after(const struct ac_cand_win *cw, const struct ac_esc_win *wins,
                             size_t nwins, bool *closed)
{
    int64_t id = cw->id;

    *closed = false;
    for (size_t k = 0; k < nwins; k++) {
        if (strcmp(wins[k].type, cw->type) == 0 && (!id || wins[k].id == id)) {
            id = wins[k].id;
            *closed = wins[k].closed;
        }
    }
    return id;
}

void ac_cand_remember(struct ac_cand_memory *mem, const struct ac_cand_group *g,
                      const struct ac_esc_win *wins, size_t nwins)
{
    for (size_t i = 0; i < g->n; i++) {
        const struct ac_cand_win *cw = &g->wins[g->m[i].win];
        bool closed;
        int64_t id = ac_cand_window_after(cw, wins, nwins, &closed);
        if (id && !closed) {
            ac_cand_memory_add(mem, ac_cand_memory_type(mem, cw->type), id, g->m[i].kind,
                               g->m[i].key);
        }
    }
    for (size_t i = 0; i < nwins; i++) { /* the figures as counted, under the lock */
        struct ac_cand_known *k = ac_cand_memory_type(mem, wins[i].type);
        if (k->window_id == wins[i].id) {
            k->complete = !wins[i].closed &&
                          cand_known_exact(k, wins[i].id, wins[i].fig.apps, wins[i].fig.gc_users);
        }
    }
}
