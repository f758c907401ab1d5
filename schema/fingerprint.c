/* SPDX-License-Identifier: Apache-2.0 */
/* The version-1 fingerprint; the algorithm is specified in fingerprint.h. */
#include "schema/fingerprint.h"

#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FP_TAG      "ac-fp-v1"
#define FP_DIMS_MAX 128

static const char *const fp_default_names[] = {
    "region", "cluster", "namespace", "app_id", "resource.kind", "resource.name", "instance",
};

const struct ac_fp_dims ac_fp_default_dims = {fp_default_names, sizeof(fp_default_names) /
                                                                    sizeof(fp_default_names[0])};

/* The event's value of a dimension (borrowed), or NULL if absent. *known is
 * false for names that are not dimensions: any field that identifies where a
 * problem is, but not the free text, the level or the status of an event. */
static const char *fp_value(const struct ac_event *ev, const char *name, bool *known)
{
    static const char *const not_dims[] = {"id",     "title", "message",  "level",
                                           "status", "trace", "category", "gc_level"};
    char buf[8];
    const char *v = ac_event_field(ev, name, buf, known);

    for (size_t i = 0; *known && i < sizeof(not_dims) / sizeof(not_dims[0]); i++) {
        if (strcmp(name, not_dims[i]) == 0) {
            *known = false;
        }
    }
    return *known ? v : NULL;
}

bool ac_fp_dim_is_valid(const char *name)
{
    bool known;

    (void)fp_value(NULL, name, &known);
    return known;
}

static void fp_put(EVP_MD_CTX *md, const char *s)
{
    uint32_t n = s ? (uint32_t)strlen(s) : 0xFFFFFFFFu;
    unsigned char len[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
                            (unsigned char)(n >> 8), (unsigned char)n};

    EVP_DigestUpdate(md, len, sizeof(len));
    if (s) {
        EVP_DigestUpdate(md, s, strlen(s));
    }
}

static int fp_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void ac_hex(const unsigned char *in, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void ac_fingerprint(const struct ac_event *ev, const struct ac_fp_dims *dims, char *out)
{
    const char *sorted[FP_DIMS_MAX];
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    EVP_MD_CTX *md;
    size_t n;
    bool known;

    dims = dims ? dims : &ac_fp_default_dims;
    n = dims->n < FP_DIMS_MAX ? dims->n : FP_DIMS_MAX;
    memcpy(sorted, dims->names, n * sizeof(sorted[0]));
    qsort(sorted, n, sizeof(sorted[0]), fp_cmp);

    md = EVP_MD_CTX_new();
    if (!md) {
        abort(); /* out of memory */
    }
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    EVP_DigestUpdate(md, FP_TAG, strlen(FP_TAG));
    fp_put(md, ev->type);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(sorted[i], sorted[i - 1]) == 0) {
            continue;
        }
        fp_put(md, sorted[i]);
        fp_put(md, fp_value(ev, sorted[i], &known));
    }
    EVP_DigestFinal_ex(md, digest, &dlen);
    EVP_MD_CTX_free(md);
    ac_hex(digest, AC_FP_HEX_LEN / 2, out);
}
