/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The audit log (migrations/0027): GET /v1/audit, and its verification.
 *
 * Every entry is chained at COMMIT (audit_chain): seq, the previous entry's
 * hash, and SHA-256 over the canonical entry (ac_audit_canonical, a JSON
 * array of seq, id, time, actor, action, object, details, before, after)
 * followed by the previous hash. ac_audit_verify walks the chain in seq
 * order from the oldest kept link (whose stored predecessor hash is the
 * anchor once older partitions are dropped), recomputes each hash here (not
 * in the database), and names the first entry that is missing, changed or
 * out of the chain.
 */
#ifndef AC_SERVER_AUDIT_H
#define AC_SERVER_AUDIT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

struct ac_audit_report {
    bool ok;             /* the whole chain holds */
    long long entries;   /* links checked */
    long long first_seq; /* the oldest kept link (0: none) */
    long long last_seq;
    char head[65];        /* the last link's hash (hex): anchor it elsewhere */
    long long anchor_seq; /* links up to it were dropped by retention (0: none) */
    long long broken_id;  /* the first broken entry (0: none) */
    long long broken_seq;
    char why[160]; /* what is wrong with it */
};

/* Verifies the chain on c (a connection of the owner or of serve's role;
 * read only, one snapshot). False when the database could not be read
 * (logged); else *out says whether the chain holds. */
bool ac_audit_verify(PGconn *c, struct ac_audit_report *out);

/* alertcenter audit verify [-c FILE]: exit 0 when the chain holds, 1 when
 * it is broken or the database cannot be read, 2 for a usage error. */
int ac_cmd_audit(int argc, char **argv);

#endif
