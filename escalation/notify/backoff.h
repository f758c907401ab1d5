/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Retry timing of the notification outbox, pure: exponential backoff with
 * jitter, and the server's own Retry-After when it sends one.
 *
 * The n-th retry (n >= 1) waits base * 2^(n-1), at most cap, of which a
 * random part (the upper half) is jitter - so gateways that come back are
 * not hit by every instance in the same millisecond. A Retry-After (delta
 * seconds or an HTTP date) is honoured, but never beyond max.
 */
#ifndef AC_ESCALATION_NOTIFY_BACKOFF_H
#define AC_ESCALATION_NOTIFY_BACKOFF_H

#include <stdbool.h>
#include <stdint.h>

struct ac_backoff {
    int64_t base_ms, cap_ms;
};

/* The delay before retry n (1 = the first retry). r: a uniform random value
 * in [0, 1) (the caller's, so tests are deterministic). */
int64_t ac_backoff_delay(const struct ac_backoff *b, int n, double r);

/* Parses a Retry-After value at now_s (Unix seconds): delta seconds or an
 * HTTP date. Returns false when absent or unparseable; *ms then untouched. */
bool ac_retry_after_ms(const char *value, int64_t now_s, int64_t *ms);

#endif
