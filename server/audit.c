/* SPDX-License-Identifier: Apache-2.0 */
/* The audit chain's verification and `alertcenter audit`; see audit.h. */
#include "server/audit.h"

#include <getopt.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/fingerprint.h"
#include "server/core/config.h"
#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/core/pg.h"

#define AU        "audit"
#define AU_FETCH  "5000"
#define AU_HASHLN 32 /* SHA-256 */

/* Each link with its entry as the entry is now (NULL when it is gone). */
#define SQL_AU_CURSOR                                                                              \
    "DECLARE au_chain NO SCROLL CURSOR FOR SELECT c.seq, c.entry_id, encode(c.prev_hash, 'hex'),"  \
    " encode(c.hash, 'hex'), ac_audit_canonical(c.seq, l) FROM audit_chain c LEFT JOIN audit_log"  \
    " l ON l.id = c.entry_id AND l.at = c.entry_at ORDER BY c.seq"
/* Entries no link covers (written with the chain's trigger bypassed). */
#define SQL_AU_UNCHAINED                                                                           \
    "SELECT l.id FROM audit_log l WHERE NOT EXISTS (SELECT 1 FROM audit_chain c"                   \
    " WHERE c.entry_id = l.id AND c.entry_at = l.at) ORDER BY l.id LIMIT 1"

static bool au_hex(const char *hex, unsigned char *out)
{
    if (strlen(hex) != 2 * AU_HASHLN) {
        return false;
    }
    for (size_t i = 0; i < AU_HASHLN; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) {
            return false;
        }
        out[i] = (unsigned char)v;
    }
    return true;
}

static void au_tohex(const unsigned char *h, char *out)
{
    ac_hex(h, AU_HASHLN, out);
}

static void au_broken(struct ac_audit_report *out, long long id, long long seq, const char *why)
{
    out->ok = false;
    out->broken_id = id;
    out->broken_seq = seq;
    (void)snprintf(out->why, sizeof(out->why), "%s", why);
}

/* Where the chain starts: seq 1 after the zero hash, or, once older links
 * were dropped (retention), after the last dropped link (audit_anchor).
 * Links at or below the anchor's seq that are still kept (their entries
 * are younger than their partition's neighbours: they committed late) are
 * checked one by one, not as a chain. */
struct au_anchor {
    long long seq;
    unsigned char hash[AU_HASHLN];
};

/* Checks one fetched page; false once something is broken. */
static bool au_page(const PGresult *r, struct ac_audit_report *out, const struct au_anchor *an,
                    unsigned char *prev, bool *have_prev)
{
    for (int i = 0; i < PQntuples(r); i++) {
        long long seq = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        long long id = strtoll(PQgetvalue(r, i, 1), NULL, 10);
        unsigned char stored_prev[AU_HASHLN], stored[AU_HASHLN], calc[EVP_MAX_MD_SIZE];
        EVP_MD_CTX *ctx;
        unsigned len = 0;

        if (!au_hex(PQgetvalue(r, i, 2), stored_prev) || !au_hex(PQgetvalue(r, i, 3), stored)) {
            au_broken(out, id, seq, "its link's hashes are not SHA-256 values");
            return false;
        }
        bool straggler = seq <= an->seq;

        if (!straggler && seq != (*have_prev ? out->last_seq : an->seq) + 1) {
            au_broken(out, id, seq,
                      *have_prev || an->seq
                          ? "the chain skips a link before it (a link was removed)"
                          : "the chain does not start at its first link");
            return false;
        }
        if (!straggler && memcmp(stored_prev, *have_prev ? prev : an->hash, AU_HASHLN) != 0) {
            au_broken(out, id, seq, "its link does not follow the previous one");
            return false;
        }
        if (PQgetisnull(r, i, 4)) {
            au_broken(out, id, seq, "the entry is missing (deleted)");
            return false;
        }
        ctx = EVP_MD_CTX_new();
        AC_ASSERT(ctx != NULL);
        if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
            EVP_DigestUpdate(ctx, PQgetvalue(r, i, 4), (size_t)PQgetlength(r, i, 4)) != 1 ||
            EVP_DigestUpdate(ctx, stored_prev, AU_HASHLN) != 1 ||
            EVP_DigestFinal_ex(ctx, calc, &len) != 1) {
            len = 0;
        }
        EVP_MD_CTX_free(ctx);
        if (len != AU_HASHLN || memcmp(calc, stored, AU_HASHLN) != 0) {
            au_broken(out, id, seq, "the entry does not match its hash (changed)");
            return false;
        }
        if (out->entries == 0) {
            out->first_seq = seq;
        }
        out->entries++;
        if (!straggler) {
            memcpy(prev, stored, AU_HASHLN);
            *have_prev = true;
            out->last_seq = seq;
        }
    }
    return true;
}

bool ac_audit_verify(PGconn *c, struct ac_audit_report *out)
{
    unsigned char prev[AU_HASHLN] = {0};
    struct au_anchor an = {0, {0}};
    bool have_prev = false, readable = false, going = true;
    PGresult *r;

    memset(out, 0, sizeof(*out));
    out->ok = true;
    if (!ac_pg_run(c, AU, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL) ||
        !(r = ac_pg_query(c, AU, "SELECT seq, encode(hash, 'hex') FROM audit_anchor", 0, NULL))) {
        goto done;
    }
    if (PQntuples(r) == 1 && !au_hex(PQgetvalue(r, 0, 1), an.hash)) {
        PQclear(r);
        au_broken(out, 0, 0, "the anchor of dropped links is not a SHA-256 value");
        readable = true;
        goto done;
    }
    an.seq = PQntuples(r) == 1 ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    out->anchor_seq = an.seq;
    PQclear(r);
    if (!ac_pg_run(c, AU, SQL_AU_CURSOR, 0, NULL)) {
        goto done;
    }
    while (going) {
        if (!(r = ac_pg_query(c, AU, "FETCH " AU_FETCH " FROM au_chain", 0, NULL))) {
            goto done;
        }
        going = PQntuples(r) > 0 && au_page(r, out, &an, prev, &have_prev);
        PQclear(r);
    }
    if (out->ok) {
        if (!(r = ac_pg_query(c, AU, SQL_AU_UNCHAINED, 0, NULL))) {
            goto done;
        }
        if (PQntuples(r) > 0) {
            au_broken(out, strtoll(PQgetvalue(r, 0, 0), NULL, 10), 0,
                      "the entry is in no link (written around the chain)");
        }
        PQclear(r);
    }
    if (have_prev) {
        au_tohex(prev, out->head);
    }
    readable = true;
done:
    (void)ac_pg_run(c, AU, "ROLLBACK", 0, NULL);
    return readable;
}

static const char au_usage[] =
    "usage: alertcenter audit verify [-c FILE]\n\n"
    "Recomputes the audit log's hash chain from the oldest kept entry and names the\n"
    "first entry that is missing, changed, or outside the chain. Prints the head\n"
    "hash: keep it elsewhere (a ticket, a log) to detect a rewritten chain later.\n"
    "Exits 0 when the chain holds, 1 when it is broken or unreadable.\n";

int ac_cmd_audit(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *sub = argc > 0 ? argv[0] : NULL;
    struct ac_audit_report rep;
    struct ac_config cfg;
    PGconn *c;
    int opt, rc;

    if (!sub || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        fputs(au_usage, sub ? stdout : stderr);
        return sub ? 0 : 2;
    }
    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (opt) {
            case 'c':
                config = optarg;
                break;
            case 'h':
                fputs(au_usage, stdout);
                return 0;
            default:
                fputs(au_usage, stderr);
                return 2;
        }
    }
    if (strcmp(sub, "verify") != 0 || optind != argc) {
        fprintf(stderr, "%s", au_usage);
        return 2;
    }
    if (ac_config_load(&cfg, config) != AC_OK) {
        return 2;
    }
    if (!(c = ac_pg_connect(cfg.pg_dsn))) {
        ac_config_deinit(&cfg);
        return 1;
    }
    if (!ac_audit_verify(c, &rep)) {
        fprintf(stderr, "the audit log could not be read\n");
        rc = 1;
    }
    else if (!rep.ok) {
        printf("audit chain BROKEN at entry %lld (seq %lld): %s\n"
               "%lld entries verified before it (seq %lld..%lld)\n",
               rep.broken_id, rep.broken_seq, rep.why, rep.entries, rep.first_seq, rep.last_seq);
        rc = 1;
    }
    else {
        printf("audit chain OK: %lld entries, seq %lld..%lld, head %s", rep.entries, rep.first_seq,
               rep.last_seq, rep.entries ? rep.head : "-");
        if (rep.anchor_seq) {
            printf(" (older links dropped by retention up to seq %lld)", rep.anchor_seq);
        }
        printf("\n");
        rc = 0;
    }
    PQfinish(c);
    ac_config_deinit(&cfg);
    return rc;
}
