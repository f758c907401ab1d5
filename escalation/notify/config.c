/* SPDX-License-Identifier: Apache-2.0 */
/* The "notify" configuration (config.h). */
#include "escalation/notify/config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/core/config.h"
#include "server/core/mem.h"

static const int64_t nc_mtta_default[4] = {300, 600, 3600, 86400};
static const int64_t nc_repeat_default[4] = {1800, 3600, 14400, 0};
static const int64_t nc_group_wait_default[4] = {10, 30, 60, 60};

/* DESIGN §6 by kind: which levels a kind serves without "levels". */
static bool nc_default_serves(const char *kind, int li)
{
    if (strcmp(kind, "phone") == 0) {
        return li == 0;
    }
    if (strcmp(kind, "sms") == 0) {
        return li <= 1;
    }
    return li <= 2; /* chat, webhook, arms */
}

static long nc_int(const json_t *obj, const char *key, long dflt, long lo, long hi,
                   const char *path, json_t *errors)
{
    const json_t *v = json_object_get(obj, key);
    char p[128];

    if (!v) {
        return dflt;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        (void)snprintf(p, sizeof(p), "%s.%s", path, key);
        ac_event_error(errors, -1, p, "must be an integer %ld..%ld", lo, hi);
        return dflt;
    }
    return (long)json_integer_value(v);
}

/* The channels a list names (names borrowed), as indexes into out (room
 * for AC_NOTIFY_CHANNELS_MAX); problems under path. Returns how many. */
static size_t nc_channel_list(const struct ac_notify_config *c, const json_t *names,
                              const char *path, size_t *out, json_t *errors)
{
    size_t i, n = 0;
    const json_t *name;

    if (!json_is_array(names) || json_array_size(names) > AC_NOTIFY_CHANNELS_MAX) {
        ac_event_error(errors, -1, path, "must be a list of at most %d channel names",
                       AC_NOTIFY_CHANNELS_MAX);
        return 0;
    }
    json_array_foreach(names, i, name)
    {
        const struct ac_channel *ch = ac_notify_channel(c, json_string_value(name));
        if (!ch) {
            ac_event_error(errors, -1, path, "names no configured channel: %s",
                           json_is_string(name) ? json_string_value(name) : "?");
            continue;
        }
        out[n++] = (size_t)(ch - c->channels);
    }
    return n;
}

static void nc_levels(struct ac_notify_config *c, const json_t *levels, json_t *errors)
{
    const char *k;
    const json_t *v;

    if (!levels) {
        for (int li = 0; li < 4; li++) {
            for (size_t i = 0; i < c->nchannels; i++) {
                if (nc_default_serves(c->channels[i].ops->kind, li)) {
                    c->level_channels[li][c->nlevel[li]++] = i;
                }
            }
        }
        return;
    }
    if (!json_is_object(levels)) {
        ac_event_error(errors, -1, "notify.levels", "must be an object of P1..P4 lists");
        return;
    }
    json_object_foreach((json_t *)levels, k, v)
    {
        enum ac_level l;
        char p[96];
        (void)snprintf(p, sizeof(p), "notify.levels.%.40s", k);
        if (!ac_level_parse(k, &l) || l == AC_LEVEL_UNSET) {
            ac_event_error(errors, -1, p, "is not a level (P1..P4)");
            continue;
        }
        c->nlevel[l - 1] = nc_channel_list(c, v, p, c->level_channels[l - 1], errors);
    }
}

static void nc_actions(struct ac_notify_config *c, const json_t *a, json_t *errors)
{
    const json_t *om = json_object_get(a, "om_webhook");
    const char *k;
    const json_t *v;

    c->action_ttl_s = 86400;
    if (!a) {
        return;
    }
    json_object_foreach((json_t *)a, k, v)
    {
        if (strcmp(k, "secret_env") && strcmp(k, "secret_file") && strcmp(k, "ttl_s") &&
            strcmp(k, "om_webhook")) {
            char p[96];
            (void)snprintf(p, sizeof(p), "notify.actions.%.60s", k);
            ac_event_error(errors, -1, p, "is not an actions setting");
        }
    }
    (void)ac_channel_secret(a, "secret", "notify.actions", &c->action_secret, errors);
    if (!c->action_secret) {
        ac_event_error(errors, -1, "notify.actions", "needs secret_env or secret_file");
    }
    c->action_ttl_s = nc_int(a, "ttl_s", 86400, 60, 30 * 86400, "notify.actions", errors);
    if (om) {
        json_t *cfg = json_deep_copy(om);
        (void)json_object_set_new(cfg, "kind", json_string("webhook"));
        if (ac_channel_configure_at(&c->om, "om_webhook", "notify.actions.om_webhook", cfg,
                                    errors) != AC_OK) {
            memset(&c->om, 0, sizeof(c->om)); /* the problems are in errors */
        }
        json_decref(cfg);
    }
}

/* The channels a resolve is told on, by name; never a phone call. */
static void nc_resolve_channels(struct ac_notify_config *c, const json_t *names, json_t *errors)
{
    size_t n;

    c->resolve_set = names != NULL;
    if (!names) {
        return;
    }
    n = nc_channel_list(c, names, "notify.resolve_channels", c->resolve_channels, errors);
    for (size_t i = 0; i < n; i++) {
        const struct ac_channel *ch = &c->channels[c->resolve_channels[i]];
        if (strcmp(ch->ops->kind, "phone") == 0) {
            ac_event_error(errors, -1, "notify.resolve_channels",
                           "%s is a phone channel: a resolve is never a call", ch->name);
        }
        else {
            c->resolve_channels[c->nresolve++] = c->resolve_channels[i];
        }
    }
}

/* The notify section as its table loads it. */
struct nc_section {
    json_t *channels, *levels, *mtta, *repeat, *retry, *actions, *group_wait, *resolve_channels;
    long poll_ms, group_interval_s;
    char *public_url, *fallback;
};

const struct ac_cfg_entry ac_notify_cfg[] = {
    {AC_CFG_JSON, "channels", NULL, offsetof(struct nc_section, channels), NULL,
     "{name: channel} (channel.h: sms, phone, dingtalk, slack, webhook, arms)", 0, 0},
    {AC_CFG_JSON, "levels", NULL, offsetof(struct nc_section, levels), NULL,
     "{P1..P4: [channel name]} (default: by kind)", 0, 0},
    {AC_CFG_JSON, "mtta_s", NULL, offsetof(struct nc_section, mtta), NULL,
     "{P1..P4: s} before the next tier (default 300, 600, 3600, 86400)", 0, 0},
    {AC_CFG_JSON, "repeat_s", NULL, offsetof(struct nc_section, repeat), NULL,
     "{P1..P4: s} between repeats of an unacknowledged alert (0: none)", 0, 0},
    {AC_CFG_JSON, "group_wait_s", NULL, offsetof(struct nc_section, group_wait), NULL,
     "{P1..P4: s} a new incident's first notification waits to gather its first alerts"
     " (default 10, 30, 60, 60)",
     0, 0},
    {AC_CFG_INT, "group_interval_s", "300", offsetof(struct nc_section, group_interval_s), NULL,
     "alerts joining a told incident are summarized at most this often", 0, 30 * 86400},
    {AC_CFG_JSON, "resolve_channels", NULL, offsetof(struct nc_section, resolve_channels), NULL,
     "[channel name] an incident's resolve is told on (default: those it was told on, but"
     " phone)",
     0, 0},
    {AC_CFG_JSON, "retry", NULL, offsetof(struct nc_section, retry), NULL,
     "{base_ms, cap_ms, max_attempts} of a notification's retries", 0, 0},
    {AC_CFG_INT, "poll_ms", "500", offsetof(struct nc_section, poll_ms), NULL,
     "how often the planner looks for intents (the sender: a tenth of it)", 20, 60000},
    {AC_CFG_STR, "public_url", NULL, offsetof(struct nc_section, public_url), NULL,
     "this server's address as people reach it (action links)", 0, 0},
    {AC_CFG_JSON, "actions", NULL, offsetof(struct nc_section, actions), NULL,
     "{secret_env | secret_file, ttl_s, om_webhook} of action links", 0, 0},
    {AC_CFG_STR, "fallback", NULL, offsetof(struct nc_section, fallback), NULL,
     "the channel NotificationFailed alerts go to", 0, 0},
    {AC_CFG_END, NULL, NULL, 0, NULL, NULL, 0, 0},
};

int ac_notify_config_load(struct ac_notify_config *c, const json_t *obj, json_t *errors)
{
    size_t before = json_array_size(errors);
    struct nc_section sec = {0};
    json_t *problems = json_array();
    const json_t *chans, *mtta, *repeat, *retry;
    const char *pub, *k;
    const json_t *v;

    memset(c, 0, sizeof(*c));
    memcpy(c->mtta_s, nc_mtta_default, sizeof(c->mtta_s));
    c->backoff = (struct ac_backoff){.base_ms = 1000, .cap_ms = 300000};
    c->max_attempts = 10;
    c->poll_ms = 500;
    if (ac_cfg_load_section(ac_notify_cfg, &sec, obj, "notify", problems) != AC_OK) {
        ac_cfg_details(problems, errors);
    }
    json_decref(problems);
    chans = sec.channels;
    mtta = sec.mtta;
    repeat = sec.repeat;
    retry = sec.retry;
    pub = sec.public_url;
    if (chans && (!json_is_object(chans) || json_object_size(chans) > AC_NOTIFY_CHANNELS_MAX)) {
        ac_event_error(errors, -1, "notify.channels", "must be an object of at most %d channels",
                       AC_NOTIFY_CHANNELS_MAX);
    }
    else {
        json_object_foreach((json_t *)chans, k, v)
        {
            if (ac_channel_configure(&c->channels[c->nchannels], k, v, errors) == AC_OK) {
                c->nchannels++;
            }
        }
    }
    nc_levels(c, sec.levels, errors);
    for (int li = 0; li < 4; li++) {
        char key[4] = {'P', (char)('1' + li), '\0', '\0'};
        c->mtta_s[li] =
            nc_int(mtta, key, nc_mtta_default[li], 1, 30 * 86400, "notify.mtta_s", errors);
        c->repeat_s[li] =
            nc_int(repeat, key, nc_repeat_default[li], 0, 30 * 86400, "notify.repeat_s", errors);
        c->group_wait_s[li] = nc_int(sec.group_wait, key, nc_group_wait_default[li], 0, 86400,
                                     "notify.group_wait_s", errors);
    }
    c->group_interval_s = sec.group_interval_s;
    nc_resolve_channels(c, sec.resolve_channels, errors);
    c->backoff.base_ms = nc_int(retry, "base_ms", 1000, 10, 3600000, "notify.retry", errors);
    c->backoff.cap_ms = nc_int(retry, "cap_ms", 300000, 10, 86400000, "notify.retry", errors);
    c->max_attempts = (int)nc_int(retry, "max_attempts", 10, 1, 1000, "notify.retry", errors);
    c->poll_ms = sec.poll_ms;
    if (c->backoff.cap_ms < c->backoff.base_ms) {
        ac_event_error(errors, -1, "notify.retry.cap_ms", "must be at least base_ms");
    }
    nc_actions(c, sec.actions, errors);
    if (sec.fallback) {
        c->fallback = ac_notify_channel(c, sec.fallback);
        if (!c->fallback) {
            ac_event_error(errors, -1, "notify.fallback", "names no configured channel");
        }
    }
    if (pub) {
        c->public_url = ac_xstrdup(pub);
        while (strlen(c->public_url) > 0 && c->public_url[strlen(c->public_url) - 1] == '/') {
            c->public_url[strlen(c->public_url) - 1] = '\0';
        }
    }
    ac_cfg_free(ac_notify_cfg, &sec);
    if (json_array_size(errors) > before) {
        ac_notify_config_deinit(c);
        return AC_EINVAL;
    }
    return AC_OK;
}

void ac_notify_config_deinit(struct ac_notify_config *c)
{
    for (size_t i = 0; i < c->nchannels; i++) {
        ac_channel_deinit(&c->channels[i]);
    }
    free(c->public_url);
    if (c->action_secret) {
        memset(c->action_secret, 0, strlen(c->action_secret));
        free(c->action_secret);
    }
    if (c->om.ops) {
        ac_channel_deinit(&c->om);
    }
    memset(c, 0, sizeof(*c));
}

const struct ac_channel *ac_notify_channel(const struct ac_notify_config *c, const char *name)
{
    for (size_t i = 0; name && i < c->nchannels; i++) {
        if (strcmp(c->channels[i].name, name) == 0) {
            return &c->channels[i];
        }
    }
    return NULL;
}

bool ac_notify_level_notifies(const struct ac_notify_config *c, enum ac_level level)
{
    return level >= AC_LEVEL_P1 && level <= AC_LEVEL_P4 && c->nlevel[level - 1] > 0;
}
