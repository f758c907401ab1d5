/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the metrics registry and exposition format (server/metrics.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "server/core/metrics.h"

struct fig {
    unsigned long long hits;
    struct ac_hist lat;
};

static void collect_counter(void *ctx, struct ac_metrics_out *o)
{
    const struct fig *f = ctx;

    ac_metrics_family(o, "ac_test_hits_total", "counter", "Hits.\nSecond \\ line.");
    ac_metrics_sample(o, "ac_test_hits_total", (double)f->hits, "route", "/v1/x", "code", "200",
                      NULL);
    ac_metrics_sample(o, "ac_test_hits_total", 0, "route", "say \"hi\"\\\n", NULL);
}

static void collect_hist(void *ctx, struct ac_metrics_out *o)
{
    const struct fig *f = ctx;

    ac_metrics_family(o, "ac_test_seconds", "histogram", "Latency.");
    ac_metrics_hist(o, "ac_test_seconds", &f->lat, "channel", "sms", NULL);
    ac_metrics_family(o, "ac_test_up", "gauge", "Up.");
    ac_metrics_sample(o, "ac_test_up", 1, NULL);
}

static void test_metrics_render(void **state)
{
    struct ac_metrics *m = ac_metrics_create();
    struct fig f = {.hits = 12345678901ULL};
    size_t len;
    char *s;

    (void)state;
    ac_metrics_register(m, collect_counter, &f);
    ac_metrics_register(m, collect_hist, &f);
    ac_hist_observe_us(&f.lat, 500);      /* <= 1 ms */
    ac_hist_observe_us(&f.lat, 1000);     /* = 1 ms: inclusive */
    ac_hist_observe_us(&f.lat, 30000);    /* <= 50 ms */
    ac_hist_observe_us(&f.lat, 60000000); /* above every bound: +Inf only */
    ac_hist_observe_us(&f.lat, -5);       /* a clock step: counted as 0 */
    s = ac_metrics_render(m, &len);
    assert_int_equal(len, strlen(s));
    assert_non_null(strstr(s, "# HELP ac_test_hits_total Hits.\\nSecond \\\\ line.\n"
                              "# TYPE ac_test_hits_total counter\n"));
    assert_non_null(strstr(s, "ac_test_hits_total{route=\"/v1/x\",code=\"200\"} 12345678901\n"));
    assert_non_null(strstr(s, "ac_test_hits_total{route=\"say \\\"hi\\\"\\\\\\n\"} 0\n"));
    assert_non_null(strstr(s, "ac_test_seconds_bucket{channel=\"sms\",le=\"0.001\"} 3\n"));
    assert_non_null(strstr(s, "ac_test_seconds_bucket{channel=\"sms\",le=\"0.025\"} 3\n"));
    assert_non_null(strstr(s, "ac_test_seconds_bucket{channel=\"sms\",le=\"0.05\"} 4\n"));
    assert_non_null(strstr(s, "ac_test_seconds_bucket{channel=\"sms\",le=\"10\"} 4\n"));
    assert_non_null(strstr(s, "ac_test_seconds_bucket{channel=\"sms\",le=\"+Inf\"} 5\n"));
    assert_non_null(strstr(s, "ac_test_seconds_sum{channel=\"sms\"} 60.0315\n"));
    assert_non_null(strstr(s, "ac_test_seconds_count{channel=\"sms\"} 5\n"));
    assert_non_null(strstr(s, "\nac_test_up 1\n"));
    /* registration order is output order */
    assert_true(strstr(s, "ac_test_hits_total") < strstr(s, "ac_test_seconds"));
    free(s);
    ac_metrics_destroy(m);
}

static void test_metrics_empty(void **state)
{
    struct ac_metrics *m = ac_metrics_create();
    size_t len = 99;
    char *s = ac_metrics_render(m, &len);

    (void)state;
    assert_int_equal(len, 0);
    assert_string_equal(s, "");
    free(s);
    ac_metrics_destroy(m);
    ac_metrics_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_render),
        cmocka_unit_test(test_metrics_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
