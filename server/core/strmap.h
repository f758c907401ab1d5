/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A string-keyed open-addressing hash map with borrowed keys and int64
 * values, for short-lived per-batch indexes (fingerprint -> alert slot).
 * Not thread-safe; keys must outlive the map.
 */
#ifndef AC_SERVER_CORE_STRMAP_H
#define AC_SERVER_CORE_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ac_strmap_slot {
    const char *key; /* borrowed; NULL = empty */
    size_t klen;
    uint64_t hash;
    int64_t value;
};

struct ac_strmap {
    struct ac_strmap_slot *slots;
    size_t cap; /* power of two */
    size_t n;
};

/* Sizes for about expected entries. */
void ac_strmap_init(struct ac_strmap *m, size_t expected);
void ac_strmap_deinit(struct ac_strmap *m);

/*
 * Find key (klen bytes, may contain NULs) or add it with value init.
 * Returns a pointer to its value, valid until the next insertion.
 * *added (may be NULL) tells whether it was new.
 */
int64_t *ac_strmap_upsert(struct ac_strmap *m, const char *key, size_t klen, int64_t init,
                          bool *added);
/* The value of key, or NULL. */
int64_t *ac_strmap_get(const struct ac_strmap *m, const char *key, size_t klen);

#endif
