/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The composition root: the one global object of the process, passed
 * explicitly (as Fluent Bit passes struct flb_config). Each field notes which
 * thread writes it.
 */
#ifndef AC_SERVER_SERVER_H
#define AC_SERVER_SERVER_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "escalation/notify/config.h"
#include "escalation/policy.h"
#include "ingest/alertmanager.h"
#include "ingest/heartbeat.h"
#include "ingest/ingest.h"
#include "ingest/k8s.h"
#include "ingest/k8s_map.h"
#include "ingest/kafka.h"
#include "ingest/pagerduty.h"
#include "server/auth.h"
#include "server/core/config.h"
#include "server/core/pg.h"
#include "server/writer.h"

struct ac_http;
struct ac_health;
struct ac_sweeper;
struct ac_worker;
struct ac_escalator;
struct ac_notifier;
struct ac_filter;
struct ac_grouping;
struct ac_registry;
struct ac_metrics;

struct ac_retention;
struct ac_subs;
struct ac_subs_notify;

struct ac_server {
    struct ac_config cfg;               /* main, before start; immutable after */
    struct ac_auth *auth;               /* main, before start */
    struct ac_tokens *tokens;           /* main; loads the database tokens into auth */
    struct ac_pg_pool *pool;            /* main; connections checked out by request threads */
    struct ac_writer *writer;           /* main; its thread owns its connection */
    struct ac_health *health;           /* main */
    struct ac_sweeper *sweeper;         /* main; its thread owns its connection */
    struct ac_worker *memtrim;          /* main; hands free heap memory back (mem.h) */
    struct ac_retention *retention;     /* main; its thread owns its connection */
    struct ac_subs *subs;               /* main; the event center's subscriptions */
    struct ac_subs_notify *subs_notify; /* main; its thread owns its connection */
    struct ac_escalator *escalator;     /* main; its thread owns its connections */
    struct ac_notifier *notifier;       /* main; its thread owns its connection */
    pthread_mutex_t wake_lock;          /* guards wake_notifier */
    struct ac_notifier *wake_notifier;  /* what the writer wakes; NULL once it stops */
    struct ac_filter *filter;           /* main; rules swapped by its own thread */
    struct ac_grouping *grouping;       /* main; routes swapped by its own thread */
    struct ac_registry *registry;       /* main; contents swapped by its own thread */
    struct ac_esc_config escalation;    /* main, before start; immutable after */
    struct ac_notify_config notify;     /* main, before start; immutable after */
    struct ac_am_config prometheus;     /* main, before start; immutable after */
    struct ac_pd_config pagerduty;      /* main, before start; immutable after */
    struct ac_k8s_map k8s_map;          /* main, before start; immutable after */
    struct ac_ingest_formats formats;   /* the two above, for the adapters */
    struct ac_http *http;               /* main */
    struct ac_metrics *metrics;         /* main, collectors registered before http starts */
    int64_t started_us;                 /* main, before start */
    struct ac_sink sink;                /* main: the pipeline entry for every source */
    struct ac_ingest heartbeats;        /* main: the heartbeat adapter (sweeper thread its own) */
    struct ac_ingest kafka;             /* main: the Kafka consumer (its thread its own) */
    struct ac_ingest k8s;               /* main: the Kubernetes watch (its threads their own) */
    int stopping;                       /* main (atomic store), read by request threads */
    /* Serving starts before the database is reached: until ready, only
     * /healthz and /readyz answer (the rest 503 "starting") with why. */
    int ready;                  /* main (atomic store), read by request threads */
    pthread_mutex_t start_lock; /* guards starting */
    char starting[256];         /* what start-up waits for */
    /* Relaxed atomics, added to by the pipeline (any source thread). */
    unsigned long long n_dropped, n_submitted;
};

/* Set by the signal handler; the one other global (STYLE §2). */
extern volatile sig_atomic_t ac_stop_signal;

/* The subcommands; each returns the process exit code. */
int ac_cmd_serve(const char *config_path);
int ac_cmd_migrate(const char *config_path);
int ac_cmd_check_config(const char *config_path);

/*
 * The pipeline: normalize, filter, enrich, group, then the writer (server/pipeline.c).
 * Implements ac_sink for every source.
 */
int ac_pipeline_submit(void *srv, struct ac_event_vec *evs, struct ac_ingest_result *results);

/* What start-up waits for (copied into out, NUL-terminated); "" once ready. */
void ac_server_starting(struct ac_server *srv, char *out, size_t len);

#endif
