/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The native format of POST /v1/events: one event object, a JSON array of
 * them, or NDJSON (one object per line). Decoding is all-or-nothing: any bad
 * item rejects the whole body and every problem is reported by item index.
 */
#ifndef AC_INGEST_NATIVE_H
#define AC_INGEST_NATIVE_H

#include <jansson.h>

#include "ingest/ingest.h"

enum ac_native_format { AC_NATIVE_JSON, AC_NATIVE_NDJSON };

/*
 * Decode and validate a body.
 * body:        borrowed, len bytes, need not be NUL-terminated.
 * max_events:  more items than this is AC_ETOOBIG.
 * received_at: µs, stamped on every event.
 * out:         on AC_OK holds the events (caller deinit); left empty otherwise.
 * details:     on AC_EINVAL/AC_ETOOBIG set to a new JSON array of
 *              {"index"?, "line"?, "path", "message"}.
 * Returns: AC_OK, AC_EINVAL or AC_ETOOBIG.
 */
AC_MUST_CHECK int ac_native_decode(const char *body, size_t len, enum ac_native_format fmt,
                                   size_t max_events, int64_t received_at, struct ac_event_vec *out,
                                   json_t **details);

#endif
