/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GET /v1/audit (scope read): the audit log, newest first - who (actor) did
 * what (action) to which object (target_type, target_id), when, with the
 * object before and after and the entry's link in the hash chain (seq,
 * hash, prev_hash; server/audit.h). Filters: actor, action, target_type,
 * target_id, since/until (on at); paged by cursor.
 */
#include "server/api.h"
#include "server/apikit.h"

#define SQL_AUDIT                                                                                  \
    "SELECT jsonb_build_object('id', l.id::text, 'at', ac_rfc3339(l.at), 'actor', l.actor,"        \
    " 'action', l.action, 'target_type', l.target_type, 'target_id', l.target_id, 'details',"      \
    " l.details, 'before', l.before, 'after', l.after, 'chain', (SELECT jsonb_build_object("       \
    "'seq', c.seq, 'hash', encode(c.hash, 'hex'), 'prev_hash', encode(c.prev_hash, 'hex'))"        \
    " FROM audit_chain c WHERE c.entry_id = l.id AND c.entry_at = l.at))::text, l.id"              \
    " FROM audit_log l WHERE ($1::text IS NULL OR l.actor = $1)"                                   \
    " AND ($2::text IS NULL OR l.action = $2) AND ($3::text IS NULL OR l.target_type = $3)"        \
    " AND ($4::text IS NULL OR l.target_id = $4) AND ($5::timestamptz IS NULL OR l.at >= $5)"      \
    " AND ($6::timestamptz IS NULL OR l.at < $6) AND ($7::bigint IS NULL OR l.id < $7)"            \
    " ORDER BY l.id DESC LIMIT $8"

static const struct ac_api_filter au_filters[] = {
    {"actor", AC_ARG_TEXT, NULL, NULL},       {"action", AC_ARG_TEXT, NULL, NULL},
    {"target_type", AC_ARG_TEXT, NULL, NULL}, {"target_id", AC_ARG_TEXT, NULL, NULL},
    {"since", AC_ARG_TIME, NULL, NULL},       {"until", AC_ARG_TIME, NULL, NULL},
    {NULL, AC_ARG_TEXT, NULL, NULL},
};

static const struct ac_api_list au_list = {"audit list", au_filters, SQL_AUDIT, AC_KEY_ID};

void ac_api_audit(struct ac_http_req *r)
{
    ac_api_list(r, &au_list);
}

static const char *const au_csv[] = {"id",          "at",        "actor",   "action",
                                     "target_type", "target_id", "details", "before",
                                     "after",       "chain",     NULL};

void ac_api_export_audit(struct ac_http_req *r)
{
    ac_api_export(r, &au_list, "audit", au_csv);
}
