/* SPDX-License-Identifier: Apache-2.0 */
/* The in-memory fold of a group; the contract is in fold.h. */
#include "server/fold.h"

#include <stdlib.h>
#include <string.h>

#include "server/core/mem.h"

struct fold_fp {
    const char *fp;
    int64_t stored_open;       /* id of the open alert in the database, 0 if none */
    int64_t stored_first_seen; /* its first_seen */
    long open;                 /* index of the open alert record in this group, -1 if none */
};

void ac_fold_init(struct ac_fold *f, size_t expected)
{
    memset(f, 0, sizeof(*f));
    f->cap = expected ? expected : 1;
    f->events = ac_xcalloc(f->cap, sizeof(*f->events));
    /* an event can close an open alert (rollover) and open another: 2 records */
    f->alerts = ac_xcalloc(f->cap * 2, sizeof(*f->alerts));
    f->audits = ac_xcalloc(f->cap * 2, sizeof(*f->audits));
    f->fps = ac_xcalloc(f->cap, sizeof(*f->fps));
    f->keys = ac_xcalloc(f->cap, sizeof(*f->keys));
    ac_strmap_init(&f->fp_index, expected);
    ac_strmap_init(&f->key_index, expected);
}

void ac_fold_deinit(struct ac_fold *f)
{
    for (size_t i = 0; i < f->nevents; i++) {
        free(f->keys[i]);
    }
    free(f->keys);
    free(f->events);
    free(f->alerts);
    free(f->audits);
    free(f->fps);
    ac_strmap_deinit(&f->fp_index);
    ac_strmap_deinit(&f->key_index);
    memset(f, 0, sizeof(*f));
}

static void fold_grow(struct ac_fold *f)
{
    size_t old = f->cap;

    f->cap *= 2;
    f->events = ac_xrealloc(f->events, f->cap * sizeof(*f->events));
    f->alerts = ac_xrealloc(f->alerts, f->cap * 2 * sizeof(*f->alerts));
    f->audits = ac_xrealloc(f->audits, f->cap * 2 * sizeof(*f->audits));
    f->fps = ac_xrealloc(f->fps, f->cap * sizeof(*f->fps));
    f->keys = ac_xrealloc(f->keys, f->cap * sizeof(*f->keys));
    memset(f->keys + old, 0, (f->cap - old) * sizeof(*f->keys));
}

/* "source\0id" as one buffer; *len set. Returns new. */
static char *fold_key(const char *source, const char *id, size_t *len)
{
    size_t s = strlen(source), i = strlen(id);
    char *k = ac_xmalloc(s + 1 + i + 1);

    memcpy(k, source, s + 1);
    memcpy(k + s + 1, id, i + 1);
    *len = s + 1 + i;
    return k;
}

void ac_fold_add(struct ac_fold *f, const struct ac_event *ev)
{
    struct ac_fold_event *fe;
    bool added;
    int64_t *slot;

    if (f->nevents == f->cap) {
        fold_grow(f);
    }
    fe = &f->events[f->nevents];
    memset(fe, 0, sizeof(*fe));
    fe->ev = ev;
    fe->alert = -1;
    fe->dup_of = -1;
    slot = ac_strmap_upsert(&f->fp_index, ev->fingerprint, strlen(ev->fingerprint),
                            (int64_t)f->nfps, &added);
    if (added) {
        f->fps[f->nfps++] = (struct fold_fp){ev->fingerprint, 0, 0, -1};
    }
    (void)slot;
    if (ev->id) {
        size_t klen;
        f->keys[f->nevents] = fold_key(ev->source, ev->id, &klen);
        slot =
            ac_strmap_upsert(&f->key_index, f->keys[f->nevents], klen, (int64_t)f->nevents, &added);
        if (!added) {
            fe->dup_of = (long)*slot;
        }
    }
    f->nevents++;
}

size_t ac_fold_fingerprint_count(const struct ac_fold *f)
{
    return f->nfps;
}

const char *ac_fold_fingerprint(const struct ac_fold *f, size_t i)
{
    return f->fps[i].fp;
}

void ac_fold_set_open(struct ac_fold *f, const char *fingerprint, int64_t alert_id,
                      int64_t first_seen)
{
    int64_t *idx = ac_strmap_get(&f->fp_index, fingerprint, strlen(fingerprint));

    if (idx) {
        f->fps[*idx].stored_open = alert_id;
        f->fps[*idx].stored_first_seen = first_seen;
    }
}

void ac_fold_set_stored(struct ac_fold *f, const char *source, const char *id, int64_t event_id,
                        int64_t alert_id)
{
    size_t klen;
    char *k = fold_key(source, id, &klen);
    int64_t *idx = ac_strmap_get(&f->key_index, k, klen);

    free(k);
    if (idx) {
        /* idx is the first event with this key; later ones point at it */
        f->events[*idx].dup_stored = true;
        f->events[*idx].stored_event_id = event_id;
        f->events[*idx].stored_alert_id = alert_id;
    }
}

static long fold_new_alert(struct ac_fold *f, size_t ei, bool is_new, int64_t id,
                           int64_t first_seen)
{
    struct ac_fold_alert *a = &f->alerts[f->nalerts];

    memset(a, 0, sizeof(*a));
    a->id = id;
    a->is_new = is_new;
    a->opener = ei;
    a->first_seen = first_seen;
    a->last_seen = first_seen;
    a->level = AC_LEVEL_UNSET;
    a->last_event = -1;
    a->last_stored = -1;
    return (long)f->nalerts++;
}

static void fold_audit(struct ac_fold *f, long alert, size_t ei, enum ac_fold_action action)
{
    f->audits[f->naudits++] = (struct ac_fold_audit){(size_t)alert, ei, action};
}

static void fold_apply(struct ac_fold *f, size_t ei)
{
    struct ac_fold_event *fe = &f->events[ei];
    const struct ac_event *ev = fe->ev;
    struct fold_fp *fp =
        &f->fps[*ac_strmap_get(&f->fp_index, ev->fingerprint, strlen(ev->fingerprint))];
    bool firing = ev->status == AC_STATUS_FIRING;
    struct ac_fold_alert *a;

    if (fp->open < 0 && fp->stored_open) {
        fp->open = fold_new_alert(f, ei, false, fp->stored_open, fp->stored_first_seen);
        fp->stored_open = 0;
    }
    if (fp->open >= 0 && firing && ev->refresh) { /* a re-send: the alert goes on */
        a = &f->alerts[fp->open];
        fe->alert = fp->open;
        fe->stored = false;
        fe->refreshed = true;
        a->last_seen = ev->received_at > a->last_seen ? ev->received_at : a->last_seen;
        a->ends_at = ev->ends_at;
        a->last_event = (long)ei;
        return;
    }
    /* An alert open for longer than the compression window rolls over. */
    if (fp->open >= 0 && firing && ev->compress_window > 0 &&
        ev->occurred_at - f->alerts[fp->open].first_seen >= ev->compress_window) {
        a = &f->alerts[fp->open];
        a->resolved = a->rolled_over = true;
        a->resolved_at = ev->occurred_at;
        fold_audit(f, fp->open, ei, AC_FOLD_ROLLOVER);
        fp->open = -1;
    }
    fe->stored = true;
    if (fp->open < 0) {
        if (!firing) {
            return; /* nothing open to resolve: stored without an alert */
        }
        fp->open = fold_new_alert(f, ei, true, 0, ev->occurred_at);
        fold_audit(f, fp->open, ei, AC_FOLD_OPEN);
    }
    else if (firing && !ev->retain_duplicates) {
        fe->stored = false; /* a duplicate of an open alert: counted, not stored */
    }
    a = &f->alerts[fp->open];
    fe->alert = fp->open;
    a->delta++;
    a->first_seen = ev->occurred_at < a->first_seen ? ev->occurred_at : a->first_seen;
    a->last_seen = ev->occurred_at > a->last_seen ? ev->occurred_at : a->last_seen;
    if (ev->refresh && ev->received_at > a->last_seen) {
        /* a source re-sending it keeps it seen; occurred_at is when it began */
        a->last_seen = ev->received_at;
    }
    a->last_event = (long)ei;
    if (fe->stored) {
        a->last_stored = (long)ei;
    }
    if (firing && ev->ends_at) {
        a->ends_at = ev->ends_at;
    }
    if (firing) {
        if (a->level == AC_LEVEL_UNSET || ev->level < a->level) {
            a->level = ev->level;
        }
    }
    else {
        a->resolved = true;
        a->resolved_at = ev->occurred_at;
        fold_audit(f, fp->open, ei, AC_FOLD_RESOLVE);
        fp->open = -1;
    }
}

void ac_fold_run(struct ac_fold *f)
{
    for (size_t i = 0; i < f->nevents; i++) {
        struct ac_fold_event *fe = &f->events[i];
        if (fe->dup_of >= 0 || fe->dup_stored) {
            continue;
        }
        fold_apply(f, i);
    }
}

void ac_fold_keep(struct ac_fold *f, size_t i)
{
    struct ac_fold_event *fe = &f->events[i];
    struct ac_fold_alert *a;

    if (!ac_fold_is_new_event(f, i) || fe->stored) {
        return;
    }
    fe->stored = true;
    if (fe->alert >= 0) {
        a = &f->alerts[fe->alert];
        if ((long)i > a->last_stored) {
            a->last_stored = (long)i;
        }
    }
}

bool ac_fold_is_new_event(const struct ac_fold *f, size_t i)
{
    return f->events[i].dup_of < 0 && !f->events[i].dup_stored;
}

bool ac_fold_is_stored(const struct ac_fold *f, size_t i)
{
    return ac_fold_is_new_event(f, i) && f->events[i].stored;
}

void ac_fold_result(const struct ac_fold *f, size_t i, int64_t *event_id, int64_t *alert_id,
                    bool *duplicate, bool *folded)
{
    const struct ac_fold_event *fe = &f->events[i];

    *folded = false;
    if (fe->dup_of >= 0) {
        fe = &f->events[fe->dup_of];
        *duplicate = true;
    }
    else {
        *duplicate = fe->dup_stored;
    }
    if (fe->dup_stored) {
        *event_id = fe->stored_event_id;
        *alert_id = fe->stored_alert_id;
        return;
    }
    *event_id = fe->stored ? fe->event_id : 0;
    *alert_id = fe->alert >= 0 ? f->alerts[fe->alert].id : 0;
    *folded = !fe->stored && !*duplicate;
}
