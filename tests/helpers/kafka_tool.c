/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kafka helper for the integration tests and the benchmark (STYLE §3):
 *
 *   ac_kafka_tool mock <topic> <partitions> [<topic> <partitions> ...]
 *       starts librdkafka's mock cluster (one broker, the real Kafka
 *       protocol on 127.0.0.1), creates the topics, prints its bootstrap
 *       address on a line of its own and serves until SIGTERM/SIGINT or
 *       until its parent process is gone. SIGUSR1 takes the broker down
 *       (connections refused and closed), SIGUSR2 brings it back.
 *   ac_kafka_tool produce <bootstrap> <topic> <count> <bytes> <fingerprints> [<first> [<type>]]
 *       produces count native events of about bytes bytes each, message n
 *       (from first) of type (default ItKafka) naming app
 *       "k-<n mod fingerprints>" (so they fold into that many alerts), keyed by n; waits for every
 * delivery report; prints "produced <count>" and exits non-zero on any failure.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_flag, down_flag;

static void on_signal(int sig)
{
    if (sig == SIGUSR1 || sig == SIGUSR2) {
        down_flag = sig == SIGUSR1;
        return;
    }
    stop_flag = 1;
}

static int mock(int argc, char **argv)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    rd_kafka_mock_cluster_t *mc;
    struct sigaction sa = {0};
    pid_t parent = getppid();

    (void)rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "rd_kafka_new: %s\n", errstr);
        return 1;
    }
    mc = rd_kafka_mock_cluster_new(rk, 1);
    if (!mc) {
        fprintf(stderr, "cannot start the mock cluster\n");
        return 1;
    }
    for (int i = 0; i + 1 < argc; i += 2) {
        if (rd_kafka_mock_topic_create(mc, argv[i], atoi(argv[i + 1]), 1) !=
            RD_KAFKA_RESP_ERR_NO_ERROR) {
            fprintf(stderr, "cannot create topic %s\n", argv[i]);
            return 1;
        }
    }
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    /* serve until told to stop, or until whoever started us goes away */
    for (int down = 0; !stop_flag && getppid() == parent;) {
        if (down != down_flag) {
            down = down_flag;
            (void)rd_kafka_mock_broker_set_down(mc, 1);
            if (!down) {
                (void)rd_kafka_mock_broker_set_up(mc, 1);
            }
            fprintf(stderr, "broker %s\n", down ? "down" : "up");
        }
        usleep(100 * 1000);
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}

static long delivered, failed;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (m->err) {
        failed++;
        fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(m->err));
    }
    else {
        delivered++;
    }
}

static int produce(int argc, char **argv)
{
    char errstr[512], key[32];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    long count, bytes, fps, first;
    const char *type;
    char *msg, *pad;

    if (argc < 5) {
        fprintf(stderr, "produce <bootstrap> <topic> <count> <bytes> <fingerprints> [first]\n");
        return 2;
    }
    count = atol(argv[2]);
    bytes = atol(argv[3]);
    fps = atol(argv[4]);
    first = argc > 5 ? atol(argv[5]) : 0;
    type = argc > 6 ? argv[6] : "ItKafka";
    if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[0], errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "linger.ms", "5", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "queue.buffering.max.messages", "1000000", errstr,
                          sizeof(errstr))) {
        fprintf(stderr, "conf: %s\n", errstr);
        return 1;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "rd_kafka_new: %s\n", errstr);
        return 1;
    }
    pad = malloc((size_t)bytes + 1);
    msg = malloc((size_t)bytes + 512);
    memset(pad, 'x', (size_t)bytes);
    pad[bytes > 200 ? bytes - 200 : 0] = '\0';
    for (long n = first; n < first + count; n++) {
        int len = snprintf(msg, (size_t)bytes + 512,
                           "{\"source\":\"kafka-test\",\"type\":\"%s\",\"title\":\"message %ld\","
                           "\"app_id\":\"k-%ld\",\"message\":\"%s\"}",
                           type, n, n % fps, pad);
        snprintf(key, sizeof(key), "%ld", n);
        while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(argv[1]), RD_KAFKA_V_KEY(key, strlen(key)),
                                 RD_KAFKA_V_VALUE(msg, (size_t)len),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                 RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(rk, 10);
        }
        rd_kafka_poll(rk, 0);
    }
    rd_kafka_flush(rk, 60000);
    free(pad);
    free(msg);
    rd_kafka_destroy(rk);
    printf("produced %ld\n", delivered);
    return failed || delivered != count ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "mock") == 0) {
        return mock(argc - 2, argv + 2);
    }
    if (argc >= 2 && strcmp(argv[1], "produce") == 0) {
        return produce(argc - 2, argv + 2);
    }
    fprintf(stderr, "usage: ac_kafka_tool mock <topic> <partitions>... |"
                    " produce <bootstrap> <topic> <count> <bytes> <fingerprints> [first]\n");
    return 2;
}
