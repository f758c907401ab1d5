/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the periodic worker (server/core/worker.c), without a database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <stdbool.h>
#include <time.h>

#include "server/core/worker.h"

#define HOUR_MS (3600L * 1000)

struct probe {
    int passes;     /* atomic */
    int more_until; /* MORE while passes < this */
    int fail_until; /* FAIL while passes < this */
    bool saw_conn;  /* a pass got a connection (none was configured) */
    int done;       /* atomic */
    bool sleep_in_pass;
    bool sleep_result;
};

static enum ac_worker_pass pr_pass(void *ctx, struct ac_worker *w, PGconn *conn)
{
    struct probe *p = ctx;
    int n = __atomic_add_fetch(&p->passes, 1, __ATOMIC_ACQ_REL);

    p->saw_conn |= conn != NULL;
    if (p->sleep_in_pass) {
        p->sleep_result = ac_worker_sleep(w, HOUR_MS); /* ends with the stop */
        return AC_WORKER_IDLE;
    }
    if (n < p->fail_until) {
        return AC_WORKER_FAIL;
    }
    return n < p->more_until ? AC_WORKER_MORE : AC_WORKER_IDLE;
}

static void pr_done(void *ctx, PGconn *conn)
{
    struct probe *p = ctx;

    p->saw_conn |= conn != NULL;
    __atomic_add_fetch(&p->done, 1, __ATOMIC_ACQ_REL);
}

/* Polls until the probe has made want passes (at most 10 s). */
static bool wait_passes(struct probe *p, int want)
{
    struct timespec t = {0, 5 * 1000000L};

    for (int i = 0; i < 2000; i++) {
        if (__atomic_load_n(&p->passes, __ATOMIC_ACQUIRE) >= want) {
            return true;
        }
        nanosleep(&t, NULL);
    }
    return false;
}

static struct ac_worker *start(struct probe *p, long period_ms, long backoff_ms)
{
    struct ac_worker_def def = {.name = "test",
                                .period_ms = period_ms,
                                .backoff_min_ms = backoff_ms,
                                .backoff_max_ms = backoff_ms * 4,
                                .pass = pr_pass,
                                .done = pr_done,
                                .ctx = p};
    struct ac_worker *w = ac_worker_start(&def);

    assert_non_null(w);
    return w;
}

static void test_worker_first_pass_wake_and_prompt_stop(void **state)
{
    struct probe p = {0};
    struct ac_worker *w;

    (void)state;
    w = start(&p, HOUR_MS, 0);
    assert_true(wait_passes(&p, 1)); /* the first pass runs at once */
    ac_worker_wake(w);
    assert_true(wait_passes(&p, 2)); /* a wake runs one now, not in an hour */
    ac_worker_stop(w);               /* returns without waiting out the period */
    assert_int_equal(p.passes, 2);
    assert_int_equal(p.done, 1);
    assert_false(p.saw_conn);
}

static void test_worker_more_runs_again_at_once(void **state)
{
    struct probe p = {.more_until = 5};
    struct ac_worker *w;

    (void)state;
    w = start(&p, HOUR_MS, 0);
    assert_true(wait_passes(&p, 5)); /* four MOREs, then idle for an hour */
    ac_worker_stop(w);
    assert_int_equal(p.passes, 5);
}

static void test_worker_failure_backs_off_then_recovers(void **state)
{
    struct probe p = {.fail_until = 4};
    struct ac_worker *w;

    (void)state;
    /* failures are retried after the backoff (ms), not the hour's period */
    w = start(&p, HOUR_MS, 5);
    assert_true(wait_passes(&p, 4));
    ac_worker_stop(w);
    assert_int_equal(p.passes, 4); /* then it succeeded and waits the period */
}

static void test_worker_sleep_in_pass_ends_with_stop(void **state)
{
    struct probe p = {.sleep_in_pass = true, .sleep_result = true};
    struct ac_worker *w;

    (void)state;
    w = start(&p, HOUR_MS, 0);
    assert_true(wait_passes(&p, 1));
    ac_worker_stop(w);
    assert_false(p.sleep_result); /* the pass was told the worker stops */
    assert_int_equal(p.done, 1);
    ac_worker_stop(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worker_first_pass_wake_and_prompt_stop),
        cmocka_unit_test(test_worker_more_runs_again_at_once),
        cmocka_unit_test(test_worker_failure_backs_off_then_recovers),
        cmocka_unit_test(test_worker_sleep_in_pass_ends_with_stop),
    };

    return cmocka_run_group_tests_name("unit_worker", tests, NULL, NULL);
}
