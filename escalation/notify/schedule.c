/* SPDX-License-Identifier: Apache-2.0 */
/* On-call schedules: rotations, layers, overrides (schedule.h). */
#include "escalation/notify/schedule.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/event.h"
#include "server/core/mem.h"

static int64_t sc_floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static bool sc_digits(const char *s, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) {
            return false;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

bool ac_sched_parse_time(const struct ac_tz *tz, const char *s, int64_t *out)
{
    int y, mo, d, h, mi, sec = 0, oh, om;
    const char *p = s + 16;
    int64_t local;
    long off = 0;
    bool has_off = false;

    if (strlen(s) < 16 || !sc_digits(s, 4, &y) || s[4] != '-' || !sc_digits(s + 5, 2, &mo) ||
        s[7] != '-' || !sc_digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
        !sc_digits(s + 11, 2, &h) || s[13] != ':' || !sc_digits(s + 14, 2, &mi)) {
        return false;
    }
    if (*p == ':') {
        if (!sc_digits(p + 1, 2, &sec)) {
            return false;
        }
        p += 3;
    }
    if (*p == 'Z' || *p == 'z') {
        has_off = true;
        p++;
    }
    else if (*p == '+' || *p == '-') {
        if (!sc_digits(p + 1, 2, &oh) || p[3] != ':' || !sc_digits(p + 4, 2, &om) || oh > 23 ||
            om > 59) {
            return false;
        }
        off = (*p == '-' ? -1 : 1) * (oh * 3600L + om * 60L);
        has_off = true;
        p += 6;
    }
    if (*p || y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59) {
        return false;
    }
    {
        int64_t y2;
        int m2, d2;
        int64_t day = ac_days_from_civil(y, mo, d);
        ac_civil_from_days(day, &y2, &m2, &d2);
        if (m2 != mo || d2 != d) { /* February 30 */
            return false;
        }
        local = day * 86400 + h * 3600 + mi * 60 + sec;
    }
    *out = has_off ? local - off : ac_tz_to_utc(tz, local);
    return true;
}

/* "HH:MM" -> seconds after midnight */
static bool sc_parse_hhmm(const char *s, long *out)
{
    int h, m;

    if (strlen(s) != 5 || !sc_digits(s, 2, &h) || s[2] != ':' || !sc_digits(s + 3, 2, &m) ||
        h > 23 || m > 59) {
        return false;
    }
    *out = h * 3600L + m * 60L;
    return true;
}

static bool sc_parse_id(const json_t *v, int64_t *out)
{
    const char *s = json_string_value(v);
    char *end;
    long long n;

    if (json_is_integer(v)) {
        n = json_integer_value(v);
        *out = n;
        return n > 0;
    }
    if (!s || !*s || strlen(s) > 18 || !isdigit((unsigned char)s[0])) {
        return false;
    }
    n = strtoll(s, &end, 10);
    *out = n;
    return *end == '\0' && n > 0;
}

static void sc_err(json_t *errors, const char *path, const char *msg)
{
    ac_event_error(errors, -1, path, "%s", msg);
}

static void sc_layer(const struct ac_schedule *s, const json_t *l, size_t i,
                     struct ac_sched_layer *out, json_t *errors)
{
    char path[64];
    const json_t *rot = json_object_get(l, "rotation");
    const json_t *members = json_object_get(l, "members");
    const char *start = json_string_value(json_object_get(l, "start"));
    const char *end = json_string_value(json_object_get(l, "end"));
    const char *handoff = json_string_value(json_object_get(l, "handoff"));
    const char *name = json_string_value(json_object_get(l, "name"));
    size_t k;
    const json_t *m;
    char dflt[32];

    (void)snprintf(path, sizeof(path), "$.layers[%zu]", i);
    if (!json_is_object(l)) {
        sc_err(errors, path, "must be an object");
        return;
    }
    (void)snprintf(dflt, sizeof(dflt), "layer %zu", i + 1);
    out->name = ac_xstrdup(name ? name : dflt);
    if (!start || !ac_sched_parse_time(&s->tz, start, &out->start)) {
        sc_err(errors, path, "start must be YYYY-MM-DDTHH:MM[:SS] with an optional Z or offset");
    }
    if (json_object_get(l, "end") && !json_is_null(json_object_get(l, "end"))) {
        if (!end || !ac_sched_parse_time(&s->tz, end, &out->end)) {
            sc_err(errors, path, "end must be a time like start, or null");
        }
        else if (start && out->end <= out->start) {
            sc_err(errors, path, "end must be after start");
        }
    }
    if (json_is_string(rot) && strcmp(json_string_value(rot), "daily") == 0) {
        out->rotation = AC_ROT_DAILY;
    }
    else if (json_is_string(rot) && strcmp(json_string_value(rot), "weekly") == 0) {
        out->rotation = AC_ROT_WEEKLY;
    }
    else if (json_is_object(rot) && json_is_integer(json_object_get(rot, "hours")) &&
             json_integer_value(json_object_get(rot, "hours")) >= 1 &&
             json_integer_value(json_object_get(rot, "hours")) <= 24 * 365) {
        out->rotation = AC_ROT_HOURS;
        out->hours = (long)json_integer_value(json_object_get(rot, "hours"));
    }
    else {
        sc_err(errors, path, "rotation must be \"daily\", \"weekly\" or {\"hours\": N}, N >= 1");
    }
    {
        int64_t off_start = out->start + ac_tz_offset(&s->tz, out->start);
        out->day0 = sc_floor_div(off_start, 86400);
        out->handoff = (long)(off_start - out->day0 * 86400);
    }
    if (handoff && !sc_parse_hhmm(handoff, &out->handoff)) {
        sc_err(errors, path, "handoff must be HH:MM");
    }
    else if (!handoff && json_object_get(l, "handoff") &&
             !json_is_null(json_object_get(l, "handoff"))) {
        sc_err(errors, path, "handoff must be HH:MM");
    }
    if (!json_is_array(members) || json_array_size(members) == 0 ||
        json_array_size(members) > 1000) {
        sc_err(errors, path, "members must be a list of 1 to 1000 contact ids");
        return;
    }
    out->members = ac_xcalloc(json_array_size(members), sizeof(*out->members));
    json_array_foreach(members, k, m)
    {
        if (!sc_parse_id(m, &out->members[out->nmembers++])) {
            sc_err(errors, path, "members must be contact ids");
            return;
        }
    }
}

int ac_schedule_from_json(const json_t *j, struct ac_schedule *s, json_t *errors)
{
    const char *zone = json_string_value(json_object_get(j, "time_zone"));
    const json_t *layers = json_object_get(j, "layers");
    const json_t *ovs = json_object_get(j, "overrides");
    size_t before = json_array_size(errors), i;
    const json_t *v;
    char err[160];

    memset(s, 0, sizeof(*s));
    if (!json_is_object(j)) {
        sc_err(errors, "$", "must be an object");
        return AC_EINVAL;
    }
    if (json_object_get(j, "time_zone") && !zone) {
        sc_err(errors, "$.time_zone", "must be a string");
        return AC_EINVAL;
    }
    if (ac_tz_load(zone ? zone : "UTC", &s->tz, err, sizeof(err)) != AC_OK) {
        sc_err(errors, "$.time_zone", err);
        return AC_EINVAL;
    }
    if (layers && (!json_is_array(layers) || json_array_size(layers) > 50)) {
        sc_err(errors, "$.layers", "must be a list of at most 50 layers");
    }
    else if (layers) {
        s->layers = ac_xcalloc(json_array_size(layers) + 1, sizeof(*s->layers));
        json_array_foreach(layers, i, v)
        {
            sc_layer(s, v, i, &s->layers[s->nlayers++], errors);
        }
    }
    if (ovs && (!json_is_array(ovs) || json_array_size(ovs) > 1000)) {
        sc_err(errors, "$.overrides", "must be a list of at most 1000 overrides");
    }
    else if (ovs) {
        s->overrides = ac_xcalloc(json_array_size(ovs) + 1, sizeof(*s->overrides));
        json_array_foreach(ovs, i, v)
        {
            struct ac_sched_override *o = &s->overrides[s->noverrides++];
            const char *a = json_string_value(json_object_get(v, "start"));
            const char *b = json_string_value(json_object_get(v, "end"));
            char path[64];
            (void)snprintf(path, sizeof(path), "$.overrides[%zu]", i);
            if (!json_is_object(v) || !sc_parse_id(json_object_get(v, "contact"), &o->contact)) {
                sc_err(errors, path, "needs a contact id");
            }
            if (!a || !b || !ac_sched_parse_time(&s->tz, a, &o->start) ||
                !ac_sched_parse_time(&s->tz, b, &o->end)) {
                sc_err(errors, path, "start and end must be times");
            }
            else if (o->end <= o->start) {
                sc_err(errors, path, "end must be after start");
            }
        }
    }
    if (json_array_size(errors) > before) {
        ac_schedule_deinit(s);
        return AC_EINVAL;
    }
    return AC_OK;
}

void ac_schedule_deinit(struct ac_schedule *s)
{
    for (size_t i = 0; i < s->nlayers; i++) {
        free(s->layers[i].name);
        free(s->layers[i].members);
    }
    free(s->layers);
    free(s->overrides);
    ac_tz_deinit(&s->tz);
    memset(s, 0, sizeof(*s));
}

/* The k-th daily/weekly hand-off of a layer (k may be negative). */
static int64_t sc_handoff(const struct ac_schedule *s, const struct ac_sched_layer *l, int64_t k)
{
    int64_t step = l->rotation == AC_ROT_WEEKLY ? 7 : 1;

    return ac_tz_to_utc(&s->tz, (l->day0 + k * step) * 86400 + l->handoff);
}

/* The shift of layer l at t: false when the layer has nobody then. */
static bool sc_layer_at(const struct ac_schedule *s, const struct ac_sched_layer *l, int64_t t,
                        struct ac_oncall *out)
{
    int64_t idx, from, until;

    if (t < l->start || (l->end && t >= l->end) || l->nmembers == 0) {
        return false;
    }
    if (l->rotation == AC_ROT_HOURS) {
        int64_t len = (int64_t)l->hours * 3600;
        idx = (t - l->start) / len;
        from = l->start + idx * len;
        until = from + len;
    }
    else {
        int64_t step = l->rotation == AC_ROT_WEEKLY ? 7 : 1;
        int64_t k_first = sc_handoff(s, l, 0) > l->start ? 0 : 1;
        int64_t day = sc_floor_div(t + ac_tz_offset(&s->tz, t), 86400);
        int64_t k = sc_floor_div(day - l->day0, step);
        while (sc_handoff(s, l, k + 1) <= t) {
            k++;
        }
        while (k >= k_first && sc_handoff(s, l, k) > t) {
            k--;
        }
        if (k < k_first) { /* the first, partial shift */
            idx = 0;
            from = l->start;
            until = sc_handoff(s, l, k_first);
        }
        else {
            idx = k - k_first + 1;
            from = sc_handoff(s, l, k);
            until = sc_handoff(s, l, k + 1);
        }
    }
    if (l->end && (until == 0 || until > l->end)) {
        until = l->end;
    }
    out->contact = l->members[idx % (int64_t)l->nmembers];
    out->from = from;
    out->until = until;
    return true;
}

void ac_schedule_oncall(const struct ac_schedule *s, int64_t t, struct ac_oncall *out)
{
    memset(out, 0, sizeof(*out));
    out->layer = -1;
    for (size_t i = s->noverrides; i-- > 0;) {
        const struct ac_sched_override *o = &s->overrides[i];
        if (t >= o->start && t < o->end) {
            out->contact = o->contact;
            out->from = o->start;
            out->until = o->end;
            return;
        }
    }
    for (size_t i = s->nlayers; i-- > 0;) {
        if (sc_layer_at(s, &s->layers[i], t, out)) {
            out->layer = (long)i;
            return;
        }
    }
}
