/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Notification configuration (the "notify" object), validated at start-up:
 *   {"channels": {"<name>": {channel, see channel.h}, ...},
 *    "levels": {"P1": ["<channel>", ...], ...},
 *    "mtta_s": {"P1": 300, "P2": 600, "P3": 3600, "P4": 86400},
 *    "repeat_s": {"P1": 1800, "P2": 3600, "P3": 14400, "P4": 0},
 *    "group_wait_s": {"P1": 10, "P2": 30, "P3": 60, "P4": 60},
 *    "group_interval_s": 300, "resolve_channels": ["<channel>", ...],
 *    "retry": {"base_ms": 1000, "cap_ms": 300000, "max_attempts": 10},
 *    "poll_ms": 500, "public_url": "https://alerts.example.com",
 *    "fallback": "<channel>",
 *    "actions": {"secret_env" | "secret_file", "ttl_s": 86400,
 *                "om_webhook": {"url", "secret_env" | "secret_file"}}}
 * Cards carry action links when public_url and the actions' secret are set;
 * stop diagnosis, restart app and delete instance also need om_webhook, to
 * which they are forwarded (signed as a webhook channel signs). A
 * notification that fails for good raises a NotificationFailed alert (P2,
 * instance = the channel), notified on the fallback channel alone when one
 * is set.
 * Without "levels", DESIGN §6 by kind: P1 phone, SMS and chat; P2 SMS and
 * chat; P3 chat; P4 nothing (chat meaning dingtalk, slack, webhook and arms
 * channels). Notifications are per incident (plan.h): group_wait before the
 * first, a raise at once, joined alerts summarized at most every
 * group_interval, repeat_s while unacknowledged, one resolve. MTTA targets
 * (from the first delivered notification) move an unacknowledged incident
 * to the next tier of its team's chain.
 */
#ifndef AC_ESCALATION_NOTIFY_CONFIG_H
#define AC_ESCALATION_NOTIFY_CONFIG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "escalation/notify/backoff.h"
#include "escalation/notify/channel.h"
#include "schema/event.h"
#include "server/core/config.h"
#include "server/core/err.h"

#define AC_NOTIFY_CHANNELS_MAX 32

struct ac_notify_config {
    struct ac_channel channels[AC_NOTIFY_CHANNELS_MAX];
    size_t nchannels;
    /* per level (index AC_LEVEL_P1 - 1 ...): indexes into channels */
    size_t level_channels[4][AC_NOTIFY_CHANNELS_MAX];
    size_t nlevel[4];
    int64_t mtta_s[4];
    int64_t repeat_s[4];      /* 0: an unacknowledged incident is not told again */
    int64_t group_wait_s[4];  /* a new incident's first notification waits this long */
    int64_t group_interval_s; /* joined alerts are summarized at most this often */
    /* the channels a resolve is told on (indexes into channels), when set;
     * else those the incident was told on but phone */
    size_t resolve_channels[AC_NOTIFY_CHANNELS_MAX];
    size_t nresolve;
    bool resolve_set;
    struct ac_backoff backoff;
    int max_attempts;
    long poll_ms;
    char *public_url;                  /* base of action links; NULL: none */
    const struct ac_channel *fallback; /* NotificationFailed goes here; NULL: its level's */
    char *action_secret;               /* signs action links; NULL: no links */
    long action_ttl_s;
    struct ac_channel om; /* the O&M webhook (a "webhook" channel); om.ops NULL: none */
};

/* The keys of the "notify" section (each channel's are channel.h's). */
extern const struct ac_cfg_entry ac_notify_cfg[];

/* Loads from obj (borrowed; NULL = no channels). errors: {"path", "message"}. */
AC_MUST_CHECK int ac_notify_config_load(struct ac_notify_config *c, const json_t *obj,
                                        json_t *errors);
void ac_notify_config_deinit(struct ac_notify_config *c);

/* The channel named name, or NULL. */
const struct ac_channel *ac_notify_channel(const struct ac_notify_config *c, const char *name);

/* Whether level has any channel. */
bool ac_notify_level_notifies(const struct ac_notify_config *c, enum ac_level level);

#endif
