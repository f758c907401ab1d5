/* SPDX-License-Identifier: Apache-2.0 */
/* Advisory lock and member keys (see lockkey.h). */
#include "server/core/lockkey.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>

#include "server/core/err.h"

/* Lock and member keys take one digest per event or two, so each thread
 * makes its context once, and SHA-256 is fetched once for the process (an
 * implicit fetch per digest costs as much as the digest). */
static __thread EVP_MD_CTX *lk_md;
static EVP_MD *lk_sha256;
static pthread_once_t lk_sha256_once = PTHREAD_ONCE_INIT;

static void lk_sha256_fetch(void)
{
    lk_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    AC_ASSERT(lk_sha256 != NULL);
}

/* The first 64 bits of SHA-256(a, b), a with alen bytes. */
static int64_t lk_hash(const char *a, size_t alen, const char *b)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    uint64_t v = 0;

    if (!lk_md) {
        pthread_once(&lk_sha256_once, lk_sha256_fetch);
        lk_md = EVP_MD_CTX_new();
        AC_ASSERT(lk_md != NULL);
    }
    EVP_DigestInit_ex(lk_md, lk_sha256, NULL);
    EVP_DigestUpdate(lk_md, a, alen);
    EVP_DigestUpdate(lk_md, b, strlen(b));
    EVP_DigestFinal_ex(lk_md, d, &n);
    for (int i = 0; i < 8; i++) {
        v = (v << 8) | d[i];
    }
    return (int64_t)v;
}

int64_t ac_lockkey_fp(const char *fp)
{
    uint64_t v = 0;

    for (int i = 0; i < 16 && fp[i]; i++) {
        char c = fp[i];
        v = (v << 4) | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    return (int64_t)v;
}

int64_t ac_lockkey_type(const char *type)
{
    return lk_hash("type:", 5, type);
}

int64_t ac_lockkey_ingest_id(const char *source, const char *id)
{
    return lk_hash(source, strlen(source) + 1, id);
}

int64_t ac_lockkey_member(char kind, const char *value)
{
    const char prefix[2] = {kind, ':'};

    return lk_hash(prefix, 2, value);
}

void ac_lockkey_thread_done(void)
{
    EVP_MD_CTX_free(lk_md);
    lk_md = NULL;
}
