/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the job pool (server/core/workq.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

#include "server/core/workq.h"

struct job {
    struct ac_workq_job base;
    pthread_mutex_t *gate; /* held by the test to keep a worker busy, or NULL */
    int ran, skipped;      /* atomic */
    int order;             /* when it ran */
};

static int g_clock; /* atomic */

static void job_fn(struct ac_workq_job *j, bool run)
{
    struct job *job = (struct job *)j;

    if (!run) {
        __atomic_add_fetch(&job->skipped, 1, __ATOMIC_SEQ_CST);
        return;
    }
    if (job->gate) {
        pthread_mutex_lock(job->gate);
        pthread_mutex_unlock(job->gate);
    }
    job->order = __atomic_add_fetch(&g_clock, 1, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&job->ran, 1, __ATOMIC_SEQ_CST);
}

static void wait_for(const int *v, int want)
{
    for (int i = 0; i < 5000 && __atomic_load_n(v, __ATOMIC_SEQ_CST) < want; i++) {
        usleep(1000);
    }
}

/* Every job runs once, in the order queued on one thread. */
static void test_workq_runs_in_order(void **state)
{
    struct ac_workq *q = ac_workq_start("t", 1, 100);
    struct job jobs[20] = {0};

    (void)state;
    assert_non_null(q);
    for (int i = 0; i < 20; i++) {
        jobs[i].base.fn = job_fn;
        assert_true(ac_workq_push(q, &jobs[i].base));
    }
    wait_for(&jobs[19].ran, 1);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(jobs[i].ran, 1);
        if (i) {
            assert_true(jobs[i].order > jobs[i - 1].order);
        }
    }
    ac_workq_stop(q);
}

/* A full queue refuses (the job untouched); stopping finishes queued jobs
 * without running them, and refuses new ones. */
static void test_workq_bound_and_stop(void **state)
{
    pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
    struct ac_workq *q = ac_workq_start("t", 1, 2);
    struct job busy = {.base.fn = job_fn, .gate = &gate};
    struct job a = {.base.fn = job_fn}, b = {.base.fn = job_fn}, c = {.base.fn = job_fn};

    (void)state;
    pthread_mutex_lock(&gate);
    assert_true(ac_workq_push(q, &busy.base));
    for (int i = 0; i < 5000 && ac_workq_busy(q) < 1; i++) {
        usleep(1000);
    }
    assert_int_equal(ac_workq_busy(q), 1);
    assert_true(ac_workq_push(q, &a.base));
    assert_true(ac_workq_push(q, &b.base));
    assert_int_equal(ac_workq_queued(q), 2);
    assert_false(ac_workq_push(q, &c.base)); /* full */
    pthread_mutex_unlock(&gate);
    ac_workq_stop(q); /* busy ends; a and b may run or be skipped, never lost */
    assert_int_equal(busy.ran, 1);
    assert_int_equal(a.ran + a.skipped, 1);
    assert_int_equal(b.ran + b.skipped, 1);
    assert_int_equal(c.ran + c.skipped, 0);
}

/* Several threads run jobs at the same time. */
static void test_workq_parallel(void **state)
{
    pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
    struct ac_workq *q = ac_workq_start("t", 4, 100);
    struct job jobs[4];

    (void)state;
    pthread_mutex_lock(&gate);
    for (int i = 0; i < 4; i++) {
        jobs[i] = (struct job){.base.fn = job_fn, .gate = &gate};
        assert_true(ac_workq_push(q, &jobs[i].base));
    }
    for (int i = 0; i < 5000 && ac_workq_busy(q) < 4; i++) {
        usleep(1000);
    }
    assert_int_equal(ac_workq_busy(q), 4); /* all four blocked at once */
    pthread_mutex_unlock(&gate);
    ac_workq_stop(q);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(jobs[i].ran, 1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_workq_runs_in_order),
        cmocka_unit_test(test_workq_bound_and_stop),
        cmocka_unit_test(test_workq_parallel),
    };

    return cmocka_run_group_tests_name("unit_workq", tests, NULL, NULL);
}
