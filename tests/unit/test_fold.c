/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the in-memory group fold (server/fold.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "server/fold.h"

#define MAXEV 1200

static struct ac_event evs[MAXEV];
static char fps[MAXEV][40];

/* An event of fingerprint fp, status, level, time t; id may be NULL. */
static const struct ac_event *mk(size_t i, const char *fp, enum ac_status st, enum ac_level lv,
                                 int64_t t, const char *id)
{
    struct ac_event *ev = &evs[i];

    memset(ev, 0, sizeof(*ev));
    ev->source = "probe";
    ev->type = "T";
    ev->id = (char *)id;
    ev->status = st;
    ev->level = lv;
    ev->occurred_at = t;
    snprintf(ev->fingerprint, sizeof(ev->fingerprint), "%s", fp);
    return ev;
}

static void test_fold_fire_fire_fire(void **state)
{
    struct ac_fold f;

    (void)state;
    ac_fold_init(&f, 2);
    for (size_t i = 0; i < 3; i++) {
        ac_fold_add(&f, mk(i, "fpA", AC_STATUS_FIRING, AC_LEVEL_P4, 100 + (int64_t)i, NULL));
    }
    assert_int_equal(ac_fold_fingerprint_count(&f), 1);
    ac_fold_run(&f);
    assert_int_equal(f.nalerts, 1);
    assert_true(f.alerts[0].is_new);
    assert_int_equal(f.alerts[0].delta, 3);
    assert_int_equal(f.alerts[0].first_seen, 100);
    assert_int_equal(f.alerts[0].last_seen, 102);
    assert_int_equal(f.alerts[0].last_event, 2);
    assert_int_equal(f.naudits, 1);
    assert_int_equal(f.audits[0].action, AC_FOLD_OPEN);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(f.events[i].alert, 0);
        assert_true(ac_fold_is_new_event(&f, i));
    }
    /* compression: the opener is a row, the two repeats are only counted */
    assert_true(ac_fold_is_stored(&f, 0));
    assert_false(ac_fold_is_stored(&f, 1));
    assert_false(ac_fold_is_stored(&f, 2));
    assert_int_equal(f.alerts[0].last_stored, 0);
    ac_fold_deinit(&f);
}

/* A re-send (refresh) of an open alert moves last_seen and ends_at only: no
 * count, no row, no window event; with no open alert it opens one. */
static void test_fold_refresh(void **state)
{
    struct ac_fold f;
    struct ac_event *ev;

    (void)state;
    ac_fold_init(&f, 4);
    for (size_t i = 0; i < 3; i++) {
        ev = (struct ac_event *)mk(i, i < 2 ? "fpS" : "fpN", AC_STATUS_FIRING, AC_LEVEL_P4, 100,
                                   NULL);
        ev->refresh = true;
        ev->received_at = 1000 + (int64_t)i;
        ev->ends_at = 5000 + (int64_t)i;
    }
    for (size_t i = 0; i < 3; i++) {
        ac_fold_add(&f, &evs[i]);
    }
    ac_fold_set_open(&f, "fpS", 42, 50); /* fpS is open in the database */
    ac_fold_run(&f);
    assert_int_equal(f.nalerts, 2);
    assert_false(f.alerts[0].is_new);
    assert_int_equal(f.alerts[0].id, 42);
    assert_int_equal(f.alerts[0].delta, 0);        /* not an occurrence */
    assert_int_equal(f.alerts[0].last_seen, 1001); /* the latest re-send */
    assert_int_equal(f.alerts[0].ends_at, 5001);
    assert_int_equal(f.alerts[0].last_event, 1);
    assert_false(ac_fold_is_stored(&f, 0));
    assert_false(ac_fold_is_stored(&f, 1));
    assert_true(f.events[0].refreshed && f.events[1].refreshed);
    /* fpN had none open: the re-send opens it, counted once, stored */
    assert_true(f.alerts[1].is_new);
    assert_int_equal(f.alerts[1].delta, 1);
    assert_int_equal(f.alerts[1].ends_at, 5002);
    assert_int_equal(f.alerts[1].last_seen, 1002); /* seen when received, begun at 100 */
    assert_true(ac_fold_is_stored(&f, 2));
    assert_false(f.events[2].refreshed);
    ac_fold_deinit(&f);
}

static void test_fold_retain_duplicates(void **state)
{
    struct ac_fold f;
    struct ac_event *ev;

    (void)state;
    ac_fold_init(&f, 2);
    for (size_t i = 0; i < 3; i++) {
        ev = (struct ac_event *)mk(i, "fpR", AC_STATUS_FIRING, AC_LEVEL_P4, 10, NULL);
        ev->retain_duplicates = true;
        ac_fold_add(&f, ev);
    }
    ac_fold_run(&f);
    for (size_t i = 0; i < 3; i++) {
        assert_true(ac_fold_is_stored(&f, i));
    }
    assert_int_equal(f.alerts[0].last_stored, 2);
    ac_fold_deinit(&f);
}

static void test_fold_compression_window_rollover(void **state)
{
    struct ac_fold f;
    struct ac_event *ev;
    const int64_t s = 1000000;

    (void)state;
    ac_fold_init(&f, 4);
    /* open in the database since t=100 s; window 60 s */
    ev = (struct ac_event *)mk(0, "fpW", AC_STATUS_FIRING, AC_LEVEL_P4, 150 * s, NULL);
    ev->compress_window = 60 * s;
    ac_fold_add(&f, ev); /* 50 s after first_seen: folds */
    ev = (struct ac_event *)mk(1, "fpW", AC_STATUS_FIRING, AC_LEVEL_P4, 170 * s, NULL);
    ev->compress_window = 60 * s;
    ac_fold_add(&f, ev); /* 70 s: rolls over, opens a new alert */
    ev = (struct ac_event *)mk(2, "fpW", AC_STATUS_FIRING, AC_LEVEL_P4, 171 * s, NULL);
    ev->compress_window = 60 * s;
    ac_fold_add(&f, ev); /* folds into the new one */
    ac_fold_set_open(&f, "fpW", 77, 100 * s);
    ac_fold_run(&f);
    assert_int_equal(f.nalerts, 2);
    assert_int_equal(f.alerts[0].id, 77);
    assert_true(f.alerts[0].resolved && f.alerts[0].rolled_over);
    assert_int_equal(f.alerts[0].delta, 1);
    assert_false(ac_fold_is_stored(&f, 0)); /* a duplicate of the old alert */
    assert_true(f.alerts[1].is_new);
    assert_int_equal(f.alerts[1].delta, 2);
    assert_true(ac_fold_is_stored(&f, 1)); /* the new alert's opener */
    assert_false(ac_fold_is_stored(&f, 2));
    assert_int_equal(f.naudits, 2);
    assert_int_equal(f.audits[0].action, AC_FOLD_ROLLOVER);
    assert_int_equal(f.audits[1].action, AC_FOLD_OPEN);
    ac_fold_deinit(&f);
}

/* One event per fingerprint, each rolling over a stored alert: twice as many
 * alert records as events (ASan checks the bounds). */
static void test_fold_rollover_worst_case(void **state)
{
    struct ac_fold f;
    struct ac_event *ev;
    const int64_t s = 1000000;

    (void)state;
    ac_fold_init(&f, 1);
    for (size_t i = 0; i < 40; i++) {
        snprintf(fps[i], sizeof(fps[i]), "roll%zu", i);
        ev = (struct ac_event *)mk(i, fps[i], AC_STATUS_FIRING, AC_LEVEL_P4, 500 * s, NULL);
        ev->compress_window = 10 * s;
        ac_fold_add(&f, ev);
    }
    for (size_t i = 0; i < 40; i++) {
        ac_fold_set_open(&f, fps[i], (int64_t)i + 1, 1 * s);
    }
    ac_fold_run(&f);
    assert_int_equal(f.nalerts, 80);
    assert_int_equal(f.naudits, 80);
    ac_fold_deinit(&f);
}

static void test_fold_resolve_then_reopen(void **state)
{
    struct ac_fold f;
    int64_t eid, aid;
    bool dup, folded;

    (void)state;
    ac_fold_init(&f, 4);
    ac_fold_add(&f, mk(0, "fpA", AC_STATUS_FIRING, AC_LEVEL_P3, 10, NULL));
    ac_fold_add(&f, mk(1, "fpA", AC_STATUS_RESOLVED, AC_LEVEL_P4, 20, NULL));
    ac_fold_add(&f, mk(2, "fpA", AC_STATUS_FIRING, AC_LEVEL_P4, 30, NULL));
    ac_fold_run(&f);
    assert_int_equal(f.nalerts, 2);
    assert_true(f.alerts[0].resolved);
    assert_int_equal(f.alerts[0].resolved_at, 20);
    assert_int_equal(f.alerts[0].delta, 2);
    assert_int_equal(f.alerts[0].level, AC_LEVEL_P3); /* the resolve does not change it */
    assert_false(f.alerts[1].resolved);
    assert_int_equal(f.alerts[1].delta, 1);
    assert_int_equal(f.events[2].alert, 1);
    assert_int_equal(f.naudits, 3); /* open, resolve, open */
    assert_int_equal(f.audits[1].action, AC_FOLD_RESOLVE);
    assert_int_equal(f.audits[1].event, 1);
    /* results use the ids the caller assigns */
    f.alerts[0].id = 7;
    f.alerts[1].id = 8;
    f.events[2].event_id = 42;
    ac_fold_result(&f, 2, &eid, &aid, &dup, &folded);
    assert_int_equal(eid, 42);
    assert_int_equal(aid, 8);
    assert_false(dup);
    assert_false(folded); /* it opened alert 8 */
    ac_fold_deinit(&f);
}

/* A repeat kept as a row (it brought a new member into an escalation window):
 * stored, no longer folded, and its alert's latest stored event when later. */
static void test_fold_keep(void **state)
{
    struct ac_fold f;
    int64_t eid, aid;
    bool dup, folded;

    (void)state;
    ac_fold_init(&f, 4);
    for (size_t i = 0; i < 3; i++) {
        ac_fold_add(&f, mk(i, "fpA", AC_STATUS_FIRING, AC_LEVEL_P4, 100 + (int64_t)i, NULL));
    }
    ac_fold_add(&f, mk(3, "fpA", AC_STATUS_FIRING, AC_LEVEL_P4, 103, "k1"));
    ac_fold_set_stored(&f, "probe", "k1", 77, 5); /* a duplicate of a stored key */
    ac_fold_run(&f);
    assert_false(ac_fold_is_stored(&f, 1));
    ac_fold_keep(&f, 1);
    assert_true(ac_fold_is_stored(&f, 1));
    assert_false(ac_fold_is_stored(&f, 2));
    assert_int_equal(f.alerts[0].last_stored, 1);
    ac_fold_keep(&f, 0); /* already stored: the latest stays */
    assert_int_equal(f.alerts[0].last_stored, 1);
    ac_fold_keep(&f, 3); /* a duplicate is never stored */
    assert_false(ac_fold_is_stored(&f, 3));
    f.events[1].event_id = 901;
    f.alerts[0].id = 900;
    ac_fold_result(&f, 1, &eid, &aid, &dup, &folded);
    assert_int_equal(eid, 901);
    assert_int_equal(aid, 900);
    assert_false(folded);
    assert_false(dup);
    ac_fold_deinit(&f);
}

static void test_fold_existing_open_alert(void **state)
{
    struct ac_fold f;

    (void)state;
    ac_fold_init(&f, 4);
    ac_fold_add(&f, mk(0, "fpA", AC_STATUS_FIRING, AC_LEVEL_P4, 10, NULL));
    ac_fold_add(&f, mk(1, "fpB", AC_STATUS_FIRING, AC_LEVEL_P2, 11, NULL));
    ac_fold_add(&f, mk(2, "fpA", AC_STATUS_RESOLVED, AC_LEVEL_P4, 12, NULL));
    ac_fold_set_open(&f, "fpA", 555, 5);
    ac_fold_set_open(&f, "not-in-group", 1, 1); /* ignored */
    ac_fold_run(&f);
    assert_int_equal(f.nalerts, 2);
    assert_false(f.alerts[0].is_new);
    assert_int_equal(f.alerts[0].id, 555);
    assert_int_equal(f.alerts[0].delta, 2);
    assert_int_equal(f.alerts[0].first_seen, 5); /* the stored first_seen */
    assert_false(ac_fold_is_stored(&f, 0));      /* folded into the open alert */
    assert_true(ac_fold_is_stored(&f, 2));       /* a resolve is always stored */
    assert_true(f.alerts[0].resolved);
    assert_true(f.alerts[1].is_new);
    /* no "opened" entry for the existing alert: only fpB's open and fpA's resolve */
    assert_int_equal(f.naudits, 2);
    assert_int_equal(f.audits[0].alert, 1);
    assert_int_equal(f.audits[0].action, AC_FOLD_OPEN);
    assert_int_equal(f.audits[1].alert, 0);
    assert_int_equal(f.audits[1].action, AC_FOLD_RESOLVE);
    ac_fold_deinit(&f);
}

static void test_fold_resolve_without_alert(void **state)
{
    struct ac_fold f;
    int64_t eid, aid;
    bool dup, folded;

    (void)state;
    ac_fold_init(&f, 1);
    ac_fold_add(&f, mk(0, "fpZ", AC_STATUS_RESOLVED, AC_LEVEL_P4, 10, NULL));
    ac_fold_run(&f);
    assert_int_equal(f.nalerts, 0);
    assert_int_equal(f.naudits, 0);
    assert_int_equal(f.events[0].alert, -1);
    assert_true(ac_fold_is_new_event(&f, 0));
    f.events[0].event_id = 9;
    ac_fold_result(&f, 0, &eid, &aid, &dup, &folded);
    assert_int_equal(eid, 9);
    assert_int_equal(aid, 0);
    ac_fold_deinit(&f);
}

static void test_fold_idempotency(void **state)
{
    struct ac_fold f;
    int64_t eid, aid;
    bool dup, folded;

    (void)state;
    ac_fold_init(&f, 4);
    ac_fold_add(&f, mk(0, "fpA", AC_STATUS_FIRING, AC_LEVEL_P4, 10, "k1"));
    ac_fold_add(&f, mk(1, "fpA", AC_STATUS_FIRING, AC_LEVEL_P4, 11, "k1")); /* repeat in group */
    ac_fold_add(&f, mk(2, "fpA", AC_STATUS_FIRING, AC_LEVEL_P4, 12, "k2")); /* stored before */
    ac_fold_add(&f, mk(3, "fpA", AC_STATUS_FIRING, AC_LEVEL_P4, 13, "k2"));
    ac_fold_set_stored(&f, "probe", "k2", 100, 200);
    ac_fold_set_stored(&f, "other-source", "k1", 1, 1); /* another source: no effect */
    ac_fold_run(&f);
    assert_int_equal(f.nalerts, 1);
    assert_int_equal(f.alerts[0].delta, 1); /* only the first k1 counts */
    assert_true(ac_fold_is_new_event(&f, 0));
    assert_false(ac_fold_is_new_event(&f, 1));
    assert_false(ac_fold_is_new_event(&f, 2));
    assert_false(ac_fold_is_new_event(&f, 3));
    f.alerts[0].id = 5;
    f.events[0].event_id = 50;
    ac_fold_result(&f, 1, &eid, &aid, &dup, &folded);
    assert_true(dup);
    assert_int_equal(eid, 50);
    assert_int_equal(aid, 5);
    ac_fold_result(&f, 3, &eid, &aid, &dup, &folded);
    assert_true(dup);
    assert_int_equal(eid, 100);
    assert_int_equal(aid, 200);
    ac_fold_result(&f, 0, &eid, &aid, &dup, &folded);
    assert_false(dup);
    ac_fold_deinit(&f);
}

static void test_fold_levels_and_times(void **state)
{
    struct ac_fold f;

    (void)state;
    ac_fold_init(&f, 4);
    ac_fold_add(&f, mk(0, "fpA", AC_STATUS_FIRING, AC_LEVEL_P4, 50, NULL));
    ac_fold_add(&f, mk(1, "fpA", AC_STATUS_FIRING, AC_LEVEL_P2, 40, NULL)); /* late arrival */
    ac_fold_add(&f, mk(2, "fpA", AC_STATUS_FIRING, AC_LEVEL_P3, 60, NULL));
    ac_fold_run(&f);
    assert_int_equal(f.alerts[0].level, AC_LEVEL_P2);
    assert_int_equal(f.alerts[0].first_seen, 40);
    assert_int_equal(f.alerts[0].last_seen, 60);
    assert_int_equal(f.alerts[0].opener, 0);
    ac_fold_deinit(&f);
}

static void test_fold_many(void **state)
{
    struct ac_fold f;
    long total = 0;

    (void)state;
    ac_fold_init(&f, 4); /* far below the real size: forces growth */
    for (size_t i = 0; i < MAXEV; i++) {
        snprintf(fps[i], sizeof(fps[i]), "fp%zu", i % 300);
        ac_fold_add(&f, mk(i, fps[i], AC_STATUS_FIRING, AC_LEVEL_P4, (int64_t)i, NULL));
    }
    assert_int_equal(ac_fold_fingerprint_count(&f), 300);
    ac_fold_run(&f);
    assert_int_equal(f.nalerts, 300);
    for (size_t i = 0; i < f.nalerts; i++) {
        total += f.alerts[i].delta;
    }
    assert_int_equal(total, MAXEV);
    ac_fold_deinit(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fold_fire_fire_fire),
        cmocka_unit_test(test_fold_retain_duplicates),
        cmocka_unit_test(test_fold_compression_window_rollover),
        cmocka_unit_test(test_fold_rollover_worst_case),
        cmocka_unit_test(test_fold_resolve_then_reopen),
        cmocka_unit_test(test_fold_keep),
        cmocka_unit_test(test_fold_existing_open_alert),
        cmocka_unit_test(test_fold_resolve_without_alert),
        cmocka_unit_test(test_fold_idempotency),
        cmocka_unit_test(test_fold_levels_and_times),
        cmocka_unit_test(test_fold_many),
        cmocka_unit_test(test_fold_refresh),
    };

    return cmocka_run_group_tests_name("fold", tests, NULL, NULL);
}
