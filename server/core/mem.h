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

/* A growable byte buffer; always NUL-terminated after any append. */
struct ac_buf {
    char *data;
    size_t len;
    size_t cap;
};
void ac_buf_append(struct ac_buf *b, const void *p, size_t n);
void ac_buf_appends(struct ac_buf *b, const char *s);
void ac_buf_printf(struct ac_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Returns the data (new, free()) and leaves the buffer empty. */
char *ac_buf_steal(struct ac_buf *b);
void ac_buf_deinit(struct ac_buf *b);

#endif
