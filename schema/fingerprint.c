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

/* Returns the event's value of a dimension (borrowed), or NULL if absent.
 * *known is set false for names that are not dimensions. */
static const char *fp_value(const struct ac_event *ev, const char *name, bool *known)
{
    static const struct {
        const char *name;
        size_t offset;
    } fields[] = {
        {"source", offsetof(struct ac_event, source)},
        {"region", offsetof(struct ac_event, region)},
        {"cluster", offsetof(struct ac_event, cluster)},
        {"namespace", offsetof(struct ac_event, namespace_)},
        {"app_id", offsetof(struct ac_event, app_id)},
        {"user_id", offsetof(struct ac_event, user_id)},
        {"instance", offsetof(struct ac_event, instance)},
        {"resource.kind", offsetof(struct ac_event, resource.kind)},
        {"resource.namespace", offsetof(struct ac_event, resource.namespace_)},
        {"resource.name", offsetof(struct ac_event, resource.name)},
        {"resource.uid", offsetof(struct ac_event, resource.uid)},
    };

    *known = true;
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (strcmp(name, fields[i].name) == 0) {
            return ev ? *(char *const *)((const char *)ev + fields[i].offset) : NULL;
        }
    }
    if (strncmp(name, "labels.", 7) == 0 && name[7] != '\0') {
        return (ev && ev->labels) ? json_string_value(json_object_get(ev->labels, name + 7)) : NULL;
    }
    *known = false;
    return NULL;
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

void ac_fingerprint(const struct ac_event *ev, const struct ac_fp_dims *dims, char *out)
{
    static const char hex[] = "0123456789abcdef";
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
    for (int i = 0; i < AC_FP_HEX_LEN / 2; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15];
    }
    out[AC_FP_HEX_LEN] = '\0';
}
