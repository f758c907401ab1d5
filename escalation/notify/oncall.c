/* SPDX-License-Identifier: Apache-2.0 */
/* Validation of contacts, schedules, teams and routes (oncall.h). */
#include "escalation/notify/oncall.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escalation/group.h"
#include "escalation/notify/schedule.h"
#include "schema/event.h"
#include "server/core/matcher.h"
#include "server/core/mem.h"

bool ac_oncall_parse_id(const json_t *v, int64_t *out)
{
    const char *s = json_string_value(v);
    char *end;
    long long n;

    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return *out > 0;
    }
    if (!s || !*s || strlen(s) > 18) {
        return false;
    }
    for (const char *c = s; *c; c++) {
        if (!isdigit((unsigned char)*c)) {
            return false;
        }
    }
    n = strtoll(s, &end, 10);
    *out = n;
    return n > 0;
}

/* A growing id list; de-duplicated and sorted at the end. */
static void oc_add(int64_t **v, size_t *n, int64_t id)
{
    *v = ac_xrealloc(*v, (*n + 1) * sizeof(**v));
    (*v)[(*n)++] = id;
}

static int oc_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

static void oc_uniq(int64_t *v, size_t *n)
{
    size_t k = 0;

    if (*n == 0) {
        return;
    }
    qsort(v, *n, sizeof(*v), oc_cmp);
    for (size_t i = 1; i < *n; i++) {
        if (v[i] != v[k]) {
            v[++k] = v[i];
        }
    }
    *n = k + 1;
}

/* The id at key of obj (a reference), added to the list; false if absent or bad. */
static bool oc_ref(const json_t *v, const char *path, int64_t **list, size_t *n, json_t *errors,
                   const char *what)
{
    int64_t id;

    if (!ac_oncall_parse_id(v, &id)) {
        ac_event_error(errors, -1, path, "must be a %s id (a string of digits)", what);
        return false;
    }
    oc_add(list, n, id);
    return true;
}

static const char *oc_str(const json_t *obj, const char *key, size_t max, bool required,
                          json_t *errors)
{
    const json_t *v = json_object_get(obj, key);
    char path[64];

    (void)snprintf(path, sizeof(path), "$.%s", key);
    if (!v || json_is_null(v)) {
        if (required) {
            ac_event_error(errors, -1, path, "is required");
        }
        return NULL;
    }
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max) {
        ac_event_error(errors, -1, path, "must be a string of 1 to %zu characters", max);
        return NULL;
    }
    return json_string_value(v);
}

static bool oc_only(const json_t *obj, const char *const *keys, json_t *errors)
{
    return ac_json_only_keys(obj, keys, "is not a field of this resource", errors);
}

static void oc_contact(const json_t *obj, struct ac_oncall_doc *d, json_t *errors)
{
    static const char *const keys[] = {"id",      "name",       "phone",      "email", "chat",
                                       "comment", "created_at", "updated_at", NULL};
    const char *phone = oc_str(obj, "phone", 32, false, errors);
    const char *email = oc_str(obj, "email", 254, false, errors);
    const char *comment = oc_str(obj, "comment", 1024, false, errors);
    const json_t *chat = json_object_get(obj, "chat");

    (void)oc_only(obj, keys, errors);
    if (phone) {
        const char *c = phone + (phone[0] == '+');
        size_t digits = 0;
        for (; *c; c++) {
            if (isdigit((unsigned char)*c)) {
                digits++;
            }
            else if (!strchr(" -", *c)) {
                break;
            }
        }
        if (*c || digits < 5 || digits > 20) {
            ac_event_error(errors, -1, "$.phone", "must be a phone number (+, digits, spaces, -)");
        }
        else {
            (void)json_object_set_new(d->doc, "phone", json_string(phone));
        }
    }
    if (email) {
        const char *at = strchr(email, '@');
        if (!at || at == email || !at[1] || strchr(at + 1, '@') || strpbrk(email, " \t\r\n<>")) {
            ac_event_error(errors, -1, "$.email", "must be an e-mail address");
        }
        else {
            (void)json_object_set_new(d->doc, "email", json_string(email));
        }
    }
    if (chat && !json_is_null(chat)) {
        const char *k;
        const json_t *v;
        json_t *c = json_object();
        if (!json_is_object(chat)) {
            ac_event_error(errors, -1, "$.chat", "must be an object of chat ids");
        }
        json_object_foreach((json_t *)chat, k, v)
        {
            char path[160];
            (void)snprintf(path, sizeof(path), "$.chat.%.100s", k);
            if (strcmp(k, "dingtalk") != 0 && strcmp(k, "slack") != 0) {
                ac_event_error(errors, -1, path, "unknown chat (dingtalk, slack)");
            }
            else if (!json_is_string(v) || json_string_length(v) == 0 ||
                     json_string_length(v) > 128) {
                ac_event_error(errors, -1, path, "must be a string of 1 to 128 characters");
            }
            else {
                (void)json_object_set(c, k, (json_t *)v);
            }
        }
        (void)json_object_set_new(d->doc, "chat", c);
    }
    if (comment) {
        (void)json_object_set_new(d->doc, "comment", json_string(comment));
    }
}

static void oc_schedule(const json_t *obj, struct ac_oncall_doc *d, json_t *errors)
{
    static const char *const keys[] = {"id",      "name",       "time_zone",  "layers", "overrides",
                                       "comment", "created_at", "updated_at", NULL};
    struct ac_schedule s;
    const char *comment = oc_str(obj, "comment", 1024, false, errors);

    if (!oc_only(obj, keys, errors) || ac_schedule_from_json(obj, &s, errors) != AC_OK) {
        return;
    }
    for (size_t i = 0; i < s.nlayers; i++) {
        for (size_t k = 0; k < s.layers[i].nmembers; k++) {
            oc_add(&d->refs.contacts, &d->refs.ncontacts, s.layers[i].members[k]);
        }
    }
    for (size_t i = 0; i < s.noverrides; i++) {
        oc_add(&d->refs.contacts, &d->refs.ncontacts, s.overrides[i].contact);
    }
    ac_schedule_deinit(&s);
    (void)json_object_set_new(d->doc, "time_zone",
                              json_string(json_string_value(json_object_get(obj, "time_zone"))
                                              ? json_string_value(json_object_get(obj, "time_zone"))
                                              : "UTC"));
    for (int i = 0; i < 2; i++) {
        const char *key = i == 0 ? "layers" : "overrides";
        json_t *v = json_object_get(obj, key);
        (void)json_object_set_new(d->doc, key, v ? json_incref(v) : json_array());
    }
    if (comment) {
        (void)json_object_set_new(d->doc, "comment", json_string(comment));
    }
}

static void oc_team(const json_t *obj, struct ac_oncall_doc *d, json_t *errors)
{
    static const char *const keys[] = {"id",      "name",    "members",    "lead",       "chain",
                                       "default", "comment", "created_at", "updated_at", NULL};
    const json_t *members = json_object_get(obj, "members");
    const json_t *lead = json_object_get(obj, "lead");
    const json_t *chain = json_object_get(obj, "chain");
    const json_t *dflt = json_object_get(obj, "default");
    const char *comment = oc_str(obj, "comment", 1024, false, errors);
    size_t i, k;
    const json_t *v, *t;
    bool has_lead = lead && !json_is_null(lead);

    (void)oc_only(obj, keys, errors);
    if (members && !json_is_null(members)) {
        if (!json_is_array(members) || json_array_size(members) > 1000) {
            ac_event_error(errors, -1, "$.members", "must be a list of at most 1000 contact ids");
        }
        json_array_foreach(members, i, v)
        {
            char path[64];
            (void)snprintf(path, sizeof(path), "$.members[%zu]", i);
            (void)oc_ref(v, path, &d->refs.contacts, &d->refs.ncontacts, errors, "contact");
        }
        (void)json_object_set(d->doc, "members", (json_t *)members);
    }
    if (has_lead &&
        oc_ref(lead, "$.lead", &d->refs.contacts, &d->refs.ncontacts, errors, "contact")) {
        (void)json_object_set(d->doc, "lead", (json_t *)lead);
    }
    if (!json_is_array(chain) || json_array_size(chain) == 0 ||
        json_array_size(chain) > AC_TEAM_TIERS_MAX) {
        ac_event_error(errors, -1, "$.chain", "must be a list of 1 to %d tiers", AC_TEAM_TIERS_MAX);
    }
    else {
        json_array_foreach(chain, i, v)
        {
            const json_t *targets = json_object_get(v, "targets");
            char path[96];
            (void)snprintf(path, sizeof(path), "$.chain[%zu].targets", i);
            if (!json_is_object(v) || !json_is_array(targets) || json_array_size(targets) == 0 ||
                json_array_size(targets) > 50) {
                ac_event_error(errors, -1, path, "must be a list of 1 to 50 targets");
                continue;
            }
            json_array_foreach(targets, k, t)
            {
                char tp[128];
                (void)snprintf(tp, sizeof(tp), "$.chain[%zu].targets[%zu]", i, k);
                if (json_is_object(t) && json_object_size(t) == 1 &&
                    json_object_get(t, "schedule")) {
                    (void)oc_ref(json_object_get(t, "schedule"), tp, &d->refs.schedules,
                                 &d->refs.nschedules, errors, "schedule");
                }
                else if (json_is_object(t) && json_object_size(t) == 1 &&
                         json_object_get(t, "contact")) {
                    (void)oc_ref(json_object_get(t, "contact"), tp, &d->refs.contacts,
                                 &d->refs.ncontacts, errors, "contact");
                }
                else if (json_is_object(t) && json_object_size(t) == 1 &&
                         json_is_true(json_object_get(t, "lead"))) {
                    if (!has_lead) {
                        ac_event_error(errors, -1, tp, "names the lead, but the team has none");
                    }
                }
                else {
                    ac_event_error(errors, -1, tp,
                                   "must be {\"schedule\": id}, {\"contact\": id} or "
                                   "{\"lead\": true}");
                }
            }
        }
        (void)json_object_set(d->doc, "chain", (json_t *)chain);
    }
    if (dflt && !json_is_null(dflt) && !json_is_boolean(dflt)) {
        ac_event_error(errors, -1, "$.default", "must be true or false");
    }
    d->is_default = json_is_true(dflt);
    (void)json_object_set_new(d->doc, "default", json_boolean(d->is_default));
    if (comment) {
        (void)json_object_set_new(d->doc, "comment", json_string(comment));
    }
}

static void oc_route(const json_t *obj, struct ac_oncall_doc *d, json_t *errors)
{
    static const char *const keys[] = {"id",       "name",    "position",   "matchers",   "team",
                                       "group_by", "comment", "created_at", "updated_at", NULL};
    const json_t *pos = json_object_get(obj, "position");
    const json_t *matchers = json_object_get(obj, "matchers");
    const char *comment = oc_str(obj, "comment", 1024, false, errors);
    struct ac_matchers ms;
    struct ac_group_by by;

    (void)oc_only(obj, keys, errors);
    if (pos && !json_is_null(pos)) {
        if (!json_is_integer(pos) || json_integer_value(pos) < 0 ||
            json_integer_value(pos) > 1000000) {
            ac_event_error(errors, -1, "$.position", "must be an integer 0..1000000");
        }
        d->position = (long)json_integer_value(pos);
    }
    else {
        d->position = -1; /* after the last */
    }
    if (!json_is_array(matchers)) {
        ac_event_error(errors, -1, "$.matchers", "must be a list of matchers");
    }
    else if (ac_matchers_from_json(&ms, matchers, "$.matchers", errors) == AC_OK) {
        ac_matchers_deinit(&ms);
        (void)json_object_set(d->doc, "matchers", (json_t *)matchers);
    }
    if (oc_ref(json_object_get(obj, "team"), "$.team", &d->refs.teams, &d->refs.nteams, errors,
               "team")) {
        (void)json_object_set(d->doc, "team", json_object_get(obj, "team"));
    }
    if (json_object_get(obj, "group_by") &&
        ac_group_by_from_json(&by, json_object_get(obj, "group_by"), "$.group_by", errors) ==
            AC_OK) {
        ac_group_by_deinit(&by);
        (void)json_object_set(d->doc, "group_by", json_object_get(obj, "group_by"));
    }
    if (comment) {
        (void)json_object_set_new(d->doc, "comment", json_string(comment));
    }
}

int ac_oncall_validate(enum ac_oncall_kind kind, const json_t *obj, struct ac_oncall_doc *out,
                       json_t *errors)
{
    size_t before = json_array_size(errors);
    const char *name;

    memset(out, 0, sizeof(*out));
    if (!json_is_object(obj)) {
        ac_event_error(errors, -1, "$", "must be an object");
        return AC_EINVAL;
    }
    out->doc = json_object();
    name = oc_str(obj, "name", AC_ONCALL_NAME_MAX, true, errors);
    switch (kind) {
        case AC_ONCALL_CONTACT:
            oc_contact(obj, out, errors);
            break;
        case AC_ONCALL_SCHEDULE:
            oc_schedule(obj, out, errors);
            break;
        case AC_ONCALL_TEAM:
            oc_team(obj, out, errors);
            break;
        case AC_ONCALL_ROUTE:
            oc_route(obj, out, errors);
            break;
    }
    if (json_array_size(errors) > before) {
        ac_oncall_doc_deinit(out);
        return AC_EINVAL;
    }
    out->name = ac_xstrdup(name);
    oc_uniq(out->refs.contacts, &out->refs.ncontacts);
    oc_uniq(out->refs.schedules, &out->refs.nschedules);
    oc_uniq(out->refs.teams, &out->refs.nteams);
    return AC_OK;
}

void ac_oncall_doc_deinit(struct ac_oncall_doc *d)
{
    free(d->name);
    json_decref(d->doc);
    free(d->refs.contacts);
    free(d->refs.schedules);
    free(d->refs.teams);
    memset(d, 0, sizeof(*d));
}
