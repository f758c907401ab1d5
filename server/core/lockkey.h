/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The 64-bit keys of PostgreSQL advisory locks and escalation members, as C
 * computes them. The SQL functions of the same names in
 * migrations/functions.sql compute the same keys (ac_fp_lock_key,
 * ac_type_lock_key, ac_member_key); ingest takes its locks from C, operators
 * and the timers from SQL, and only equal keys make them serialize. The
 * lock-key test (tests/integration/it_sqlfn.c) pins both equal over a set of
 * inputs.
 *
 * Thread-safe: each thread keeps its own digest context (made at first use,
 * freed by ac_lockkey_thread_done).
 */
#ifndef AC_SERVER_CORE_LOCKKEY_H
#define AC_SERVER_CORE_LOCKKEY_H

#include <stdint.h>

/* A fingerprint's key: its first 64 bits (fp: borrowed, lowercase hex). */
int64_t ac_lockkey_fp(const char *fp);
/* A type's key (its escalation window, its alerts' decisions): the first 64
 * bits of SHA-256("type:" type). */
int64_t ac_lockkey_type(const char *type);
/* An idempotency key's: the first 64 bits of SHA-256(source NUL id). No SQL
 * twin: only ingest takes it. */
int64_t ac_lockkey_ingest_id(const char *source, const char *id);
/* An escalation member's: the first 64 bits of SHA-256(kind ":" value),
 * kind 'a' (app) or 'u' (GC6/GC7 user). */
int64_t ac_lockkey_member(char kind, const char *value);

/* Frees the calling thread's digest context (call before a thread that used
 * the keys exits; harmless when it did not). */
void ac_lockkey_thread_done(void);

#endif
