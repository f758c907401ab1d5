/* SPDX-License-Identifier: Apache-2.0 */
/* Signed action links (action.h). */
#include "escalation/notify/action.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escalation/notify/sign.h"
#include "server/core/mem.h"

#define ACT_PAYLOAD_MAX 160

static const char *const act_names[AC_ACTION_COUNT] = {
    "ack", "resolve", "silence", "stop_diagnosis", "restart_app", "delete_instance",
};

const char *ac_action_name(enum ac_action a)
{
    return a < AC_ACTION_COUNT ? act_names[a] : "?";
}

bool ac_action_parse(const char *s, enum ac_action *out)
{
    for (int i = 0; s && i < AC_ACTION_COUNT; i++) {
        if (strcmp(s, act_names[i]) == 0) {
            *out = (enum ac_action)i;
            return true;
        }
    }
    return false;
}

bool ac_action_is_om(enum ac_action a)
{
    return a == AC_ACTION_STOP_DIAGNOSIS || a == AC_ACTION_RESTART_APP ||
           a == AC_ACTION_DELETE_INSTANCE;
}

/* base64url without padding */
static char *act_b64url(const unsigned char *p, size_t n)
{
    char *out = ac_xmalloc(4 * ((n + 2) / 3) + 1);
    int m = EVP_EncodeBlock((unsigned char *)out, p, (int)n);

    while (m > 0 && out[m - 1] == '=') {
        m--;
    }
    out[m] = '\0';
    for (int i = 0; i < m; i++) {
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    }
    return out;
}

/* decodes base64url of at most max bytes into out; returns the length or -1 */
static int act_unb64url(const char *s, size_t len, unsigned char *out, size_t max)
{
    char buf[512];
    unsigned char tmp[400];
    size_t n = len;
    int m;

    if (len == 0 || len + 4 > sizeof(buf)) {
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_')) {
            return -1;
        }
        buf[i] = c == '-' ? '+' : c == '_' ? '/' : c;
    }
    while (n % 4) {
        buf[n++] = '=';
    }
    m = EVP_DecodeBlock(tmp, (const unsigned char *)buf, (int)n);
    if (m < 0) {
        return -1;
    }
    m -= (int)(n - len); /* the padding decoded as zero bytes */
    if (m < 0 || (size_t)m > max) {
        return -1;
    }
    memcpy(out, tmp, (size_t)m);
    return m;
}

char *ac_action_token(const char *secret, const struct ac_action_link *l)
{
    char payload[ACT_PAYLOAD_MAX], *a, *b, *out;
    unsigned char mac[32];
    int n = snprintf(payload, sizeof(payload), "v2.%lld.%s.%lld.%lld", (long long)l->incident,
                     ac_action_name(l->action), (long long)l->contact, (long long)l->expires);

    ac_hmac_sha256(secret, strlen(secret), payload, (size_t)n, mac);
    a = act_b64url((const unsigned char *)payload, (size_t)n);
    b = act_b64url(mac, sizeof(mac));
    out = ac_xasprintf("%s.%s", a, b);
    free(a);
    free(b);
    return out;
}

enum ac_action_check ac_action_verify(const char *secret, const char *token, int64_t now_s,
                                      struct ac_action_link *out)
{
    const char *dot = strchr(token, '.');
    unsigned char payload[ACT_PAYLOAD_MAX + 1], mac[40], want[32];
    char name[32];
    long long incident, contact, expires;
    int pn, mn, used = 0;

    if (!dot || strchr(dot + 1, '.')) {
        return AC_ACTION_FORGED;
    }
    pn = act_unb64url(token, (size_t)(dot - token), payload, ACT_PAYLOAD_MAX);
    mn = act_unb64url(dot + 1, strlen(dot + 1), mac, sizeof(mac));
    if (pn <= 0 || mn != 32) {
        return AC_ACTION_FORGED;
    }
    ac_hmac_sha256(secret, strlen(secret), payload, (size_t)pn, want);
    if (CRYPTO_memcmp(want, mac, 32) != 0) {
        return AC_ACTION_FORGED;
    }
    payload[pn] = '\0';
    if (sscanf((const char *)payload, "v2.%lld.%31[a-z_].%lld.%lld%n", &incident, name, &contact,
               &expires, &used) != 4 ||
        used != pn || !ac_action_parse(name, &out->action) || incident <= 0 || contact < 0) {
        return AC_ACTION_FORGED;
    }
    out->incident = incident;
    out->contact = contact;
    out->expires = expires;
    return now_s >= expires ? AC_ACTION_EXPIRED : AC_ACTION_OK;
}
