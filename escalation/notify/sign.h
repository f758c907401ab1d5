/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Request signatures of the notification channels (OpenSSL HMAC, base64;
 * libcurl's URL escaping).
 *   - DingTalk custom robot: sign = urlencode(base64(HMAC-SHA256(key =
 *     secret, "timestamp\nsecret"))), timestamp in milliseconds; both go in
 *     the webhook's query (&timestamp=...&sign=...).
 *   - Generic webhooks: X-AC-Signature: sha256=<hex of HMAC-SHA256(key =
 *     secret, "<timestamp>.<body>")> with X-AC-Timestamp: <unix seconds>, so
 *     a receiver can refuse replays.
 *   - Action links: base64url of HMAC-SHA256 over the link's payload.
 */
#ifndef AC_ESCALATION_NOTIFY_SIGN_H
#define AC_ESCALATION_NOTIFY_SIGN_H

#include <stddef.h>
#include <stdint.h>

/* The DingTalk sign for timestamp_ms, URL-encoded. Returns new. */
char *ac_dingtalk_sign(const char *secret, int64_t timestamp_ms);

/* The hex HMAC-SHA256 of "<timestamp>.<body>" (64 characters). Returns new. */
char *ac_webhook_signature(const char *secret, int64_t timestamp_s, const char *body,
                           size_t body_len);

/* HMAC-SHA256 of data with key into out (32 bytes). */
void ac_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                    unsigned char out[32]);

#endif
