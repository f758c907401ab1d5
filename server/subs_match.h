/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which subscriptions of the event center an event matches (DESIGN §7): a
 * set built once from the subscriptions in force, indexed by tenant, then
 * read by any number of threads. A subscription matches an event of its
 * tenant (user_id) whose category is one of its categories and whose app,
 * namespace and region are in its scope (an empty list: any); the match
 * names the cycle the event falls in (aligned to the epoch: cycle_s 3600
 * is whole hours UTC) and the threshold. No thread, no I/O (subs.h keeps
 * the set current).
 */
#ifndef AC_SERVER_SUBS_MATCH_H
#define AC_SERVER_SUBS_MATCH_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "schema/event.h"

struct ac_sub_set;

/* One match: the subscription, its cycle's start (µs since the epoch) and
 * its threshold. */
struct ac_sub_hit {
    int64_t id;
    int64_t cycle_start_us;
    int64_t threshold;
};

/* An empty set for about n subscriptions (new). */
struct ac_sub_set *ac_sub_set_new(size_t n);
void ac_sub_set_free(struct ac_sub_set *s);
/* Adds one (strings and arrays copied): categories of runtime, change,
 * system, cloud_product (others ignored), apps / namespaces / regions arrays
 * of strings (NULL or empty: any). Subscriptions of one tenant must be
 * added one after another. */
void ac_sub_set_add(struct ac_sub_set *s, int64_t id, const char *tenant, const json_t *categories,
                    const json_t *apps, const json_t *namespaces, const json_t *regions,
                    int64_t cycle_s, int64_t threshold);
size_t ac_sub_set_size(const struct ac_sub_set *s);
/* The subscriptions ev matches, at its received time, into out (at most
 * max); returns how many. s may be NULL (none). */
size_t ac_sub_set_match(const struct ac_sub_set *s, const struct ac_event *ev,
                        struct ac_sub_hit *out, size_t max);

#endif
