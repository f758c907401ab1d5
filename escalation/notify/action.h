/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ChatOps action links (DESIGN §6): /v1/actions/{token}, where the token is
 * an HMAC-signed, expiring description of (incident, action, recipient):
 *   base64url("v2.<incident>.<action>.<contact>.<expires>") "." base64url(mac)
 * with mac = HMAC-SHA256(secret, that payload). Anything forged, altered or
 * expired is refused before it is acted on. (v1 links named an alert; they
 * are refused as forged.) A link acts at most once (server/api_actions.c).
 */
#ifndef AC_ESCALATION_NOTIFY_ACTION_H
#define AC_ESCALATION_NOTIFY_ACTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ac_action {
    AC_ACTION_ACK,
    AC_ACTION_RESOLVE,
    AC_ACTION_SILENCE, /* one hour */
    AC_ACTION_STOP_DIAGNOSIS,
    AC_ACTION_RESTART_APP,
    AC_ACTION_DELETE_INSTANCE,
    AC_ACTION_COUNT
};

/* "ack", "resolve", "silence", "stop_diagnosis", "restart_app", "delete_instance" */
const char *ac_action_name(enum ac_action a);
bool ac_action_parse(const char *s, enum ac_action *out);
/* Forwarded to the O&M webhook (not done by this server itself). */
bool ac_action_is_om(enum ac_action a);

struct ac_action_link {
    int64_t incident;
    enum ac_action action;
    int64_t contact; /* 0: not one person (a group chat) */
    int64_t expires; /* Unix seconds */
};

/* The token (URL-safe). Returns new. */
char *ac_action_token(const char *secret, const struct ac_action_link *l);

enum ac_action_check { AC_ACTION_OK, AC_ACTION_FORGED, AC_ACTION_EXPIRED };

/* Checks token at now_s; fills out on AC_ACTION_OK (and AC_ACTION_EXPIRED). */
enum ac_action_check ac_action_verify(const char *secret, const char *token, int64_t now_s,
                                      struct ac_action_link *out);

#endif
