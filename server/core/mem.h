/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Allocation wrappers that abort on out-of-memory (Redis zmalloc's policy):
 * an alerting server that cannot allocate cannot do anything useful, and
 * checking every small allocation hides the real error paths.
 */
#ifndef AC_SERVER_CORE_MEM_H
#define AC_SERVER_CORE_MEM_H

#include <stddef.h>

/* Each returns new memory, freed with free(). Never NULL. */
void *ac_xmalloc(size_t n);
void *ac_xcalloc(size_t nmemb, size_t size);
void *ac_xrealloc(void *p, size_t n);
char *ac_xstrdup(const char *s);
char *ac_xstrndup(const char *s, size_t n);
/* printf into a new string. */
char *ac_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Route jansson's allocations through the aborting wrappers. Call once. */
void ac_mem_init(void);

struct ac_worker;
/* A thread handing the heap's free memory back to the system every period_ms
 * (malloc_trim). Returns new (stop with ac_worker_stop), or NULL. */
struct ac_worker *ac_mem_trimmer_start(long period_ms);

/* A growable byte buffer; always NUL-terminated after any append. */
struct ac_buf {
    char *data;
    size_t len;
    size_t cap;
};
void ac_buf_append(struct ac_buf *b, const void *p, size_t n);
/* Room for extra more bytes (and the NUL) without another allocation. */
void ac_buf_reserve(struct ac_buf *b, size_t extra);
void ac_buf_appends(struct ac_buf *b, const char *s);
void ac_buf_printf(struct ac_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Returns the data (new, free()) and leaves the buffer empty. */
char *ac_buf_steal(struct ac_buf *b);
void ac_buf_deinit(struct ac_buf *b);

/*
 * What one unit of work (a transaction, a request) allocates, freed in one
 * call: buffers it hands out, strings and objects given to it with their
 * destructors. Not thread-safe: one owner.
 */
struct ac_arena {
    struct ac_arena_item *items;
    size_t n, cap;
};
void ac_arena_init(struct ac_arena *a);
/* An empty buffer (borrowed: the arena frees it). */
struct ac_buf *ac_arena_buf(struct ac_arena *a);
/* p (stolen; may be NULL) is passed to fn at the next reset. Returns p. */
void *ac_arena_defer(struct ac_arena *a, void (*fn)(void *), void *p);
/* s (stolen, from malloc; may be NULL) is freed at the next reset. Returns s. */
char *ac_arena_own(struct ac_arena *a, char *s);
/* Frees everything, newest first; the arena can be used again. */
void ac_arena_reset(struct ac_arena *a);
/* Resets and releases the arena's own storage. */
void ac_arena_deinit(struct ac_arena *a);

#endif
