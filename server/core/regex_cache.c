/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cache behind ac_regex_shared (regex.h): anchored patterns by their
 * text, reference-counted. An unused entry stays (the next planning round
 * loads the same silences again) until the cache holds more than
 * REGEX_CACHE_MAX patterns; then the unused ones go.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "server/core/mem.h"
#include "server/core/regex.h"

#define REGEX_BUCKETS   512
#define REGEX_CACHE_MAX 4096

struct regex_entry {
    struct regex_entry *next;
    struct ac_regex *re;
    long refs;
    char pattern[]; /* NUL-terminated */
};

static pthread_mutex_t regex_lock = PTHREAD_MUTEX_INITIALIZER;
static struct regex_entry *regex_buckets[REGEX_BUCKETS];
static long regex_n;

static size_t regex_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */

    for (; *s; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    }
    return (size_t)(h % REGEX_BUCKETS);
}

/* Frees every unused entry (the lock held). */
static void regex_evict(void)
{
    for (size_t b = 0; b < REGEX_BUCKETS; b++) {
        struct regex_entry **pp = &regex_buckets[b];
        while (*pp) {
            struct regex_entry *e = *pp;
            if (e->refs == 0) {
                *pp = e->next;
                ac_regex_free(e->re);
                free(e);
                regex_n--;
            }
            else {
                pp = &e->next;
            }
        }
    }
}

const struct ac_regex *ac_regex_shared(const char *pattern, char *why, size_t whylen)
{
    size_t b = regex_hash(pattern), len = strlen(pattern);
    struct regex_entry *e;
    struct ac_regex *re;

    pthread_mutex_lock(&regex_lock);
    for (e = regex_buckets[b]; e; e = e->next) {
        if (strcmp(e->pattern, pattern) == 0) {
            e->refs++;
            pthread_mutex_unlock(&regex_lock);
            return e->re;
        }
    }
    pthread_mutex_unlock(&regex_lock);
    /* compiled outside the lock: bounded, but not free */
    if (!(re = ac_regex_compile(pattern, true, why, whylen))) {
        return NULL;
    }
    pthread_mutex_lock(&regex_lock);
    for (e = regex_buckets[b]; e; e = e->next) {
        if (strcmp(e->pattern, pattern) == 0) { /* another thread was quicker */
            e->refs++;
            pthread_mutex_unlock(&regex_lock);
            ac_regex_free(re);
            return e->re;
        }
    }
    if (regex_n >= REGEX_CACHE_MAX) {
        regex_evict();
    }
    e = ac_xmalloc(sizeof(*e) + len + 1);
    memcpy(e->pattern, pattern, len + 1);
    e->re = re;
    e->refs = 1;
    e->next = regex_buckets[b];
    regex_buckets[b] = e;
    regex_n++;
    pthread_mutex_unlock(&regex_lock);
    return re;
}

void ac_regex_release(const char *pattern)
{
    pthread_mutex_lock(&regex_lock);
    for (struct regex_entry *e = regex_buckets[regex_hash(pattern)]; e; e = e->next) {
        if (strcmp(e->pattern, pattern) == 0) {
            e->refs--;
            break;
        }
    }
    pthread_mutex_unlock(&regex_lock);
}
