/* SPDX-License-Identifier: Apache-2.0 */
/* Backoff with jitter, Retry-After (backoff.h). */
#include "escalation/notify/backoff.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdlib.h>

int64_t ac_backoff_delay(const struct ac_backoff *b, int n, double r)
{
    int64_t d = b->base_ms;

    for (int i = 1; i < n && d < b->cap_ms; i++) {
        d *= 2;
    }
    if (d > b->cap_ms) {
        d = b->cap_ms;
    }
    if (r < 0 || r >= 1) {
        r = 0;
    }
    return d / 2 + (int64_t)((double)(d - d / 2) * r);
}

bool ac_retry_after_ms(const char *value, int64_t now_s, int64_t *ms)
{
    const char *p = value;
    time_t t;

    if (!value) {
        return false;
    }
    while (*p == ' ') {
        p++;
    }
    if (isdigit((unsigned char)*p)) {
        char *end;
        long long s = strtoll(p, &end, 10);
        while (*end == ' ') {
            end++;
        }
        if (*end || s < 0 || s > 86400 * 365) {
            return false;
        }
        *ms = s * 1000;
        return true;
    }
    t = curl_getdate(p, NULL); /* RFC 7231 HTTP-date */
    if (t == (time_t)-1) {
        return false;
    }
    *ms = t > now_s ? ((int64_t)t - now_s) * 1000 : 0;
    return true;
}
