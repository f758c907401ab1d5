/* SPDX-License-Identifier: Apache-2.0 */
/* Request signatures (sign.h). */
#include "escalation/notify/sign.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/fingerprint.h"
#include "server/core/err.h"
#include "server/core/mem.h"

void ac_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                    unsigned char out[32])
{
    unsigned int n = 0;

    AC_ASSERT(HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &n) != NULL && n == 32);
}

char *ac_dingtalk_sign(const char *secret, int64_t timestamp_ms)
{
    unsigned char mac[32];
    char b64[64], *msg = ac_xasprintf("%lld\n%s", (long long)timestamp_ms, secret);
    char *esc, *out;

    ac_hmac_sha256(secret, strlen(secret), msg, strlen(msg), mac);
    free(msg);
    (void)EVP_EncodeBlock((unsigned char *)b64, mac, 32);
    esc = curl_easy_escape(NULL, b64, 0);
    AC_ASSERT(esc != NULL);
    out = ac_xstrdup(esc);
    curl_free(esc);
    return out;
}

char *ac_webhook_signature(const char *secret, int64_t timestamp_s, const char *body,
                           size_t body_len)
{
    unsigned char mac[32];
    char head[32], *out = ac_xmalloc(65);
    int hl = snprintf(head, sizeof(head), "%lld.", (long long)timestamp_s);
    char *msg = ac_xmalloc((size_t)hl + body_len + 1);

    memcpy(msg, head, (size_t)hl);
    memcpy(msg + hl, body, body_len);
    ac_hmac_sha256(secret, strlen(secret), msg, (size_t)hl + body_len, mac);
    free(msg);
    ac_hex(mac, 32, out);
    return out;
}
