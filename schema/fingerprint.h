/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fingerprint: the identity of an alert. Events with equal fingerprints fold
 * into one open alert.
 *
 * Algorithm (version 1; stable across machines and releases; changing it is a
 * new version, never an edit):
 *   1. The dimensions are the type config's list, or by default
 *      region, cluster, namespace, app_id, resource.kind, resource.name,
 *      instance. A dimension is a field name, "resource.<field>" or
 *      "labels.<key>". The list is sorted by byte order and de-duplicated,
 *      so the order of a configuration does not matter.
 *   2. The input to SHA-256 is the ASCII tag "ac-fp-v1", then the event's
 *      type, then for each dimension its name and its value. Every string is
 *      written as a 4-byte big-endian length followed by its bytes; an absent
 *      value is written as the length 0xFFFFFFFF with no bytes, so an absent
 *      field differs from an empty one.
 *   3. The fingerprint is the lower-case hex of the first 16 bytes of the
 *      digest (32 characters).
 */
#ifndef AC_SCHEMA_FINGERPRINT_H
#define AC_SCHEMA_FINGERPRINT_H

#include <stdbool.h>
#include <stddef.h>

#include "schema/event.h"

#define AC_FP_HEX_LEN 32

struct ac_fp_dims {
    const char *const *names; /* borrowed */
    size_t n;
};

/* The default dimensions of DESIGN §3. */
extern const struct ac_fp_dims ac_fp_default_dims;

/* True if name is a known dimension (a field, resource.<f> or labels.<key>). */
bool ac_fp_dim_is_valid(const char *name);

/*
 * Compute the fingerprint of ev.
 * dims: borrowed; NULL means ac_fp_default_dims.
 * out:  AC_FP_HEX_LEN + 1 bytes, NUL-terminated on return.
 */
void ac_fingerprint(const struct ac_event *ev, const struct ac_fp_dims *dims, char *out);

/* in[0..n) as lower-case hex into out (2 * n + 1 bytes, NUL-terminated): the
 * text form of the fingerprint and of every digest, key and MAC. */
void ac_hex(const unsigned char *in, size_t n, char *out);

#endif
