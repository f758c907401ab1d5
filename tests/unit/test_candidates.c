/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of which members are new to their windows (escalation/candidates.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "escalation/candidates.h"
#include "escalation/engine.h"
#include "server/core/lockkey.h"

#define MAXEV 16

static struct ac_event evs[MAXEV];
static const struct ac_event *ptrs[MAXEV];
static bool all[MAXEV];

/* Event i: a firing event of type with app and user at GC gc. */
static void mk(size_t i, const char *type, const char *app, const char *user, int gc)
{
    struct ac_event *ev = &evs[i];

    memset(ev, 0, sizeof(*ev));
    ev->source = "probe";
    ev->type = (char *)type;
    ev->app_id = (char *)app;
    ev->user_id = (char *)user;
    ev->gc_level = gc;
    ev->status = AC_STATUS_FIRING;
    ptrs[i] = ev;
    all[i] = true;
}

/* The candidate of kind and value in g, or NULL. */
static const struct ac_cand_member *find(const struct ac_cand_group *g, char kind,
                                         const char *value)
{
    for (size_t i = 0; i < g->n; i++) {
        if (g->m[i].kind == kind && strcmp(g->m[i].value, value) == 0) {
            return &g->m[i];
        }
    }
    return NULL;
}

static void view_of(struct ac_cand_view *v, const char *type, int64_t id, long long apps,
                    long long users)
{
    struct ac_cand_window w = {type, id, AC_LEVEL_P4, 100, apps, users};

    ac_cand_view_init(v);
    ac_cand_view_add(v, &w);
}

static void test_candidates_memory(void **state)
{
    struct ac_cand_memory m;
    struct ac_cand_known *k;

    (void)state;
    ac_cand_memory_init(&m, 3, 100);
    k = ac_cand_memory_type(&m, "T");
    assert_ptr_equal(k, ac_cand_memory_type(&m, "T"));
    assert_int_equal(k->type_key, ac_lockkey_type("T"));
    for (int64_t key = 1; key <= 200; key++) { /* the set grows past its first size */
        ac_cand_memory_add(&m, k, 7, 'a', key);
    }
    /* bounded per type: the first three only */
    assert_int_equal(k->n, 3);
    assert_true(ac_cand_known_has(k, 7, 1));
    assert_true(ac_cand_known_has(k, 7, 3));
    assert_false(ac_cand_known_has(k, 7, 4));
    assert_false(ac_cand_known_has(k, 8, 1)); /* another window */
    ac_cand_memory_add(&m, k, 7, 'a', 2);     /* again: counted once */
    assert_int_equal(k->napps, 3);
    /* a new window forgets the old one's members */
    ac_cand_memory_add(&m, k, 8, 'u', 42);
    assert_int_equal(k->n, 1);
    assert_int_equal(k->nusers, 1);
    assert_int_equal(k->napps, 0);
    assert_false(ac_cand_known_has(k, 8, 1));
    assert_int_equal(m.total, 1);
    ac_cand_memory_deinit(&m);

    /* bounded in all */
    ac_cand_memory_init(&m, 100, 2);
    ac_cand_memory_add(&m, ac_cand_memory_type(&m, "A"), 1, 'a', 1);
    ac_cand_memory_add(&m, ac_cand_memory_type(&m, "B"), 2, 'a', 2);
    ac_cand_memory_add(&m, ac_cand_memory_type(&m, "B"), 2, 'a', 3);
    assert_int_equal(m.total, 2);
    assert_false(ac_cand_known_has(ac_cand_memory_type(&m, "B"), 2, 3));
    ac_cand_memory_deinit(&m);
}

static void test_candidates_collect(void **state)
{
    struct ac_cand_memory m;
    struct ac_cand_view v;
    struct ac_cand_group g;
    bool eligible[5] = {true, true, true, true, false};

    (void)state;
    mk(0, "T", "a1", "u7", 7);
    mk(1, "T", "a1", "u3", 3); /* GC3: its user is no candidate */
    mk(2, "T", "a2", NULL, 0);
    mk(3, "U", "a1", "u6", 6); /* another type, no open window */
    mk(4, "T", "a9", NULL, 0); /* not eligible (a repeat, a resolve) */
    ac_cand_memory_init(&m, 100, 100);
    view_of(&v, "T", 5, 10, 1);
    ac_cand_collect(&g, &m, &v, ptrs, eligible, 5, NULL);
    assert_int_equal(g.nwins, 2);
    assert_int_equal(g.n, 5); /* T: a1, u7, a2; U: a1, u6 */
    assert_non_null(find(&g, 'a', "a2"));
    assert_null(find(&g, 'u', "u3"));
    assert_null(find(&g, 'a', "a9"));
    assert_int_equal(find(&g, 'a', "a1")->event, 0);
    /* T's window exists: undecided; U's is opened by the group: all new */
    assert_false(find(&g, 'a', "a2")->added);
    assert_true(find(&g, 'u', "u6")->added);
    assert_int_equal(ac_cand_group_window(&g, "T")->id, 5);
    assert_int_equal(ac_cand_group_window(&g, "T")->apps_db, 10);
    assert_int_equal(ac_cand_group_window(&g, "U")->id, 0);
    assert_int_equal(ac_cand_group_window(&g, "U")->first_event, 3);
    assert_int_equal(g.ekeys[0], ac_lockkey_member('a', "a1"));
    assert_int_equal(g.ekeys[1], ac_lockkey_member('u', "u7"));
    ac_cand_group_deinit(&g);

    /* members the memory holds for that window are left out */
    ac_cand_memory_add(&m, ac_cand_memory_type(&m, "T"), 5, 'a', ac_lockkey_member('a', "a1"));
    ac_cand_collect(&g, &m, &v, ptrs, eligible, 5, NULL);
    assert_int_equal(g.n, 4);
    assert_int_equal(ac_cand_group_window(&g, "T")->nmem, 2); /* u7, a2 */
    ac_cand_group_deinit(&g);
    ac_cand_view_deinit(&v);
    ac_cand_memory_deinit(&m);
}

static void test_candidates_memory_exact_decides(void **state)
{
    struct ac_cand_memory m;
    struct ac_cand_view v;
    struct ac_cand_group g;
    struct ac_cand_known *k;

    (void)state;
    mk(0, "T", "a1", NULL, 0);
    mk(1, "T", "a3", NULL, 0);
    ac_cand_memory_init(&m, 100, 100);
    k = ac_cand_memory_type(&m, "T");
    ac_cand_memory_add(&m, k, 5, 'a', ac_lockkey_member('a', "a1"));
    ac_cand_memory_add(&m, k, 5, 'a', ac_lockkey_member('a', "a2"));
    k->complete = true;
    /* the window holds exactly what the memory holds: a3 is new, no check */
    view_of(&v, "T", 5, 2, 0);
    ac_cand_collect(&g, &m, &v, ptrs, all, 2, NULL);
    assert_int_equal(g.n, 1);
    assert_false(ac_cand_decide(&g, &m, NULL));
    assert_true(find(&g, 'a', "a3")->added);
    assert_true(k->complete);
    ac_cand_group_deinit(&g);
    ac_cand_view_deinit(&v);
    /* another instance counted a third app: the memory cannot say */
    view_of(&v, "T", 5, 3, 0);
    ac_cand_collect(&g, &m, &v, ptrs, all, 2, NULL);
    assert_true(ac_cand_decide(&g, &m, NULL));
    assert_false(g.wins[0].decided);
    assert_false(k->complete); /* the sets are asked next time */
    ac_cand_group_deinit(&g);
    ac_cand_view_deinit(&v);
    ac_cand_memory_deinit(&m);
}

/* The set check of round trip 0 (before the locks, against the window the
 * memory names): a1 present, a2 not, sizes apps/users. */
static void pre_check(struct ac_cand_group *pre, struct ac_cand_memory *m, long long apps,
                      long long users)
{
    size_t wins[4], n;
    char kinds[4];
    int64_t keys[4];
    bool present[4];

    ac_cand_collect(pre, m, NULL, ptrs, all, 2, NULL);
    n = ac_cand_checks(pre, wins);
    assert_int_equal(n, 1);
    assert_int_equal(ac_cand_members_of(pre, wins[0], false, kinds, keys), 2);
    for (size_t i = 0; i < 2; i++) {
        present[i] = keys[i] == ac_lockkey_member('a', "a1");
    }
    assert_false(ac_cand_checked(pre, wins[0], apps, users, present, 1)); /* short answer */
    assert_true(ac_cand_checked(pre, wins[0], apps, users, present, 2));
}

static void test_candidates_check_decides(void **state)
{
    struct ac_cand_memory m;
    struct ac_cand_view v;
    struct ac_cand_group pre, g;
    size_t ord[4], n;

    (void)state;
    mk(0, "T", "a1", NULL, 0);
    mk(1, "T", "a2", NULL, 0);
    ac_cand_memory_init(&m, 100, 100);
    /* the memory knows the window (id 5) but none of these members */
    ac_cand_memory_add(&m, ac_cand_memory_type(&m, "T"), 5, 'a', ac_lockkey_member('a', "a0"));

    /* sizes equal the stored counts: the answers stand */
    pre_check(&pre, &m, 4, 0);
    view_of(&v, "T", 5, 4, 0);
    ac_cand_collect(&g, &m, &v, ptrs, all, 2, pre.ekeys);
    assert_false(ac_cand_decide(&g, &m, &pre));
    assert_false(find(&g, 'a', "a1")->added);
    assert_true(find(&g, 'a', "a2")->added);
    assert_int_equal(ac_cand_probes(&g, ord), 0);
    ac_cand_group_deinit(&g);
    ac_cand_view_deinit(&v);

    /* the set is behind its count (an add on its way): undecided, then
     * PostgreSQL finds a1 */
    view_of(&v, "T", 5, 5, 0);
    ac_cand_collect(&g, &m, &v, ptrs, all, 2, pre.ekeys);
    assert_true(ac_cand_decide(&g, &m, &pre));
    n = ac_cand_probes(&g, ord);
    assert_int_equal(n, 2);
    assert_true(find(&g, 'a', "a1")->added); /* new unless the probe finds it */
    for (size_t i = 0; i < n; i++) {
        if (g.m[ord[i]].value == evs[0].app_id) {
            ac_cand_probed(&g, ord, n, i);
        }
    }
    ac_cand_probed(&g, ord, n, 7); /* out of range: ignored */
    assert_false(find(&g, 'a', "a1")->added);
    assert_true(find(&g, 'a', "a2")->added);
    ac_cand_group_deinit(&g);
    ac_cand_view_deinit(&v);

    /* a check made under the locks decides too */
    view_of(&v, "T", 5, 4, 0);
    ac_cand_collect(&g, &m, &v, ptrs, all, 2, pre.ekeys);
    assert_true(ac_cand_decide(&g, &m, NULL));
    {
        bool present[2] = {false, false};
        assert_true(ac_cand_checked(&g, 0, 3, 0, present, 2)); /* behind: stays open */
        ac_cand_decide_checked(&g);
        assert_false(g.wins[0].decided);
        assert_true(ac_cand_checked(&g, 0, 4, 0, present, 2));
        ac_cand_decide_checked(&g);
        assert_true(g.wins[0].decided);
        assert_true(find(&g, 'a', "a1")->added);
    }
    ac_cand_group_deinit(&g);
    ac_cand_view_deinit(&v);
    ac_cand_group_deinit(&pre);
    ac_cand_memory_deinit(&m);
}

static void test_candidates_apply_and_remember(void **state)
{
    struct ac_cand_memory m;
    struct ac_cand_view v;
    struct ac_cand_group g;
    struct ac_esc_win wins[2];
    size_t keep[8], n;
    struct ac_cand_known *k;
    bool closed;

    (void)state;
    mk(0, "T", "a1", "u7", 7);
    mk(1, "T", "a2", NULL, 0);
    mk(2, "U", "b1", NULL, 0);
    ac_cand_memory_init(&m, 100, 100);
    view_of(&v, "T", 5, 0, 0);
    ac_cand_collect(&g, &m, &v, ptrs, all, 3, NULL);
    /* the probe found a2 in T's window already */
    for (size_t i = 0; i < g.n; i++) {
        g.m[i].added = strcmp(g.m[i].value, "a2") != 0;
    }
    g.wins[0].decided = g.wins[1].decided = true;
    n = ac_cand_apply(&g, keep);
    /* events 0 (a1, u7) and 2 (b1), and U's first event (its window opens) */
    assert_int_equal(n, 4);
    assert_int_equal(keep[0], 0);
    assert_int_equal(keep[1], 0);
    assert_int_equal(keep[2], 2);
    assert_int_equal(keep[3], 2);
    assert_int_equal(ac_cand_group_window(&g, "T")->apps, 1);
    assert_int_equal(ac_cand_group_window(&g, "T")->users, 1);
    assert_int_equal(ac_cand_group_window(&g, "U")->apps, 1);

    /* committed: T's window counted to 3 apps (a2 and another before) and 1
     * user; U's opened as 9 and closed at once */
    memset(wins, 0, sizeof(wins));
    wins[0].id = 5;
    snprintf(wins[0].type, sizeof(wins[0].type), "T");
    wins[0].fig.apps = 3;
    wins[0].fig.gc_users = 1;
    wins[1].id = 9;
    snprintf(wins[1].type, sizeof(wins[1].type), "U");
    wins[1].closed = true;
    assert_int_equal(ac_cand_window_after(&g.wins[1], wins, 2, &closed), 9);
    assert_true(closed);
    ac_cand_remember(&m, &g, wins, 2);
    k = ac_cand_memory_type(&m, "T");
    /* every candidate is a member now, new or found */
    assert_true(ac_cand_known_has(k, 5, ac_lockkey_member('a', "a1")));
    assert_true(ac_cand_known_has(k, 5, ac_lockkey_member('u', "u7")));
    assert_true(ac_cand_known_has(k, 5, ac_lockkey_member('a', "a2")));
    assert_false(k->complete);                            /* it holds 2 apps of 3 */
    assert_int_equal(ac_cand_memory_type(&m, "U")->n, 0); /* closed: not remembered */
    /* once it has counted every member itself, it is exact */
    ac_cand_memory_add(&m, k, 5, 'a', ac_lockkey_member('a', "a0"));
    ac_cand_remember(&m, &g, wins, 1);
    assert_true(k->complete);
    ac_cand_group_deinit(&g);
    ac_cand_view_deinit(&v);
    ac_cand_memory_deinit(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_candidates_memory),
        cmocka_unit_test(test_candidates_collect),
        cmocka_unit_test(test_candidates_memory_exact_decides),
        cmocka_unit_test(test_candidates_check_decides),
        cmocka_unit_test(test_candidates_apply_and_remember),
    };

    return cmocka_run_group_tests_name("unit_candidates", tests, NULL, NULL);
}
