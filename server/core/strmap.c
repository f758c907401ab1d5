/* SPDX-License-Identifier: Apache-2.0 */
/* Open addressing with linear probing, FNV-1a hashes, load factor <= 1/2. */
#include "server/core/strmap.h"

#include <stdlib.h>
#include <string.h>

#include "server/core/mem.h"

static uint64_t sm_hash(const char *k, size_t n)
{
    uint64_t h = 1469598103934665603ULL;

    for (size_t i = 0; i < n; i++) {
        h = (h ^ (unsigned char)k[i]) * 1099511628211ULL;
    }
    return h;
}

void ac_strmap_init(struct ac_strmap *m, size_t expected)
{
    m->cap = 16;
    while (m->cap < expected * 2) {
        m->cap *= 2;
    }
    m->slots = ac_xcalloc(m->cap, sizeof(*m->slots));
    m->n = 0;
}

void ac_strmap_deinit(struct ac_strmap *m)
{
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

static struct ac_strmap_slot *sm_find(struct ac_strmap_slot *slots, size_t cap, const char *key,
                                      size_t klen, uint64_t h)
{
    size_t i = (size_t)h & (cap - 1);

    while (slots[i].key &&
           !(slots[i].hash == h && slots[i].klen == klen && memcmp(slots[i].key, key, klen) == 0)) {
        i = (i + 1) & (cap - 1);
    }
    return &slots[i];
}

static void sm_grow(struct ac_strmap *m)
{
    size_t cap = m->cap * 2;
    struct ac_strmap_slot *slots = ac_xcalloc(cap, sizeof(*slots));

    for (size_t i = 0; i < m->cap; i++) {
        if (m->slots[i].key) {
            *sm_find(slots, cap, m->slots[i].key, m->slots[i].klen, m->slots[i].hash) = m->slots[i];
        }
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
}

int64_t *ac_strmap_upsert(struct ac_strmap *m, const char *key, size_t klen, int64_t init,
                          bool *added)
{
    uint64_t h = sm_hash(key, klen);
    struct ac_strmap_slot *s;

    if ((m->n + 1) * 2 > m->cap) {
        sm_grow(m);
    }
    s = sm_find(m->slots, m->cap, key, klen, h);
    if (added) {
        *added = s->key == NULL;
    }
    if (!s->key) {
        s->key = key;
        s->klen = klen;
        s->hash = h;
        s->value = init;
        m->n++;
    }
    return &s->value;
}

int64_t *ac_strmap_get(const struct ac_strmap *m, const char *key, size_t klen)
{
    struct ac_strmap_slot *s = sm_find(m->slots, m->cap, key, klen, sm_hash(key, klen));

    return s->key ? &s->value : NULL;
}
