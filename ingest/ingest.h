/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ingest side's contract with the server: decoded events go into a sink
 * the server installs (the pipeline). Every source - the HTTP formats, the
 * Kafka, Kubernetes and heartbeat adapters - ends in its submit, so nothing
 * after normalization knows where an event came from except through its
 * source.
 */
#ifndef AC_INGEST_INGEST_H
#define AC_INGEST_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "schema/event.h"
#include "server/core/err.h"

/* A growable array of events; owns them. */
struct ac_event_vec {
    struct ac_event *items;
    size_t n;
    size_t cap;
};

/* Returns a zeroed slot at the end (caller storage inside the vector). */
struct ac_event *ac_event_vec_push(struct ac_event_vec *v);
/* Drops the last slot (after a failed parse into it). */
void ac_event_vec_pop(struct ac_event_vec *v);
/* Releases every event and the array. */
void ac_event_vec_deinit(struct ac_event_vec *v);

/* What became of one submitted event. */
struct ac_ingest_result {
    int64_t event_id;
    int64_t alert_id; /* 0 = no alert (a resolve with nothing open) */
    bool duplicate;   /* the idempotency key was seen before */
    bool folded;      /* counted into its open alert, not stored as a row */
    bool dropped;     /* a filter rule dropped it: not stored */
    int64_t rule_id;  /* the rule that dropped it */
};

/* For decoders: appends {"index"?, "line"?, "path": "$", "message"} for a JSON
 * syntax error (index, line: -1 when not applicable). */
void ac_ingest_json_error(json_t *details, long index, long line, const json_error_t *jerr);
/* True if o is a JSON object whose values are all strings (labels,
 * annotations). */
bool ac_json_is_string_object(const json_t *o);
/* Sets *details to the one error of a body over max_events; returns AC_ETOOBIG. */
int ac_ingest_too_many(json_t **details, size_t max_events);

struct ac_sink {
    /*
     * Store a batch atomically and durably, then fill results[0..n).
     * evs: borrowed; normalized in place (fingerprint, defaults).
     * Returns: AC_OK; AC_EAGAIN when overloaded or shutting down; AC_EDB when
     * the database is unreachable. On error nothing of the batch is stored.
     * Blocks the caller until the outcome is known. Thread-safe.
     */
    int (*submit)(void *ctx, struct ac_event_vec *evs, struct ac_ingest_result *results);
    void *ctx;
};

/*
 * A long-running source (STYLE §1; cf. flb_input_plugin): Kafka, the
 * Kubernetes watch, the heartbeat sweeper. The server creates one struct
 * ac_ingest per configured adapter, calls init, start, and at shutdown stop
 * and destroy. HTTP formats are plain decoders (native.h, alertmanager.h,
 * pagerduty.h) that the server's routes call.
 */
struct ac_config;
struct ac_metrics_out;
struct ac_ingest;

struct ac_cfg_entry;

struct ac_ingest_ops {
    const char *name;                   /* "heartbeats", "kafka", "k8s" */
    const char *section;                /* its configuration section: "kubernetes" */
    const struct ac_cfg_entry *cfg;     /* the keys of its section, {0}-terminated */
    int (*init)(struct ac_ingest *in);  /* parse in->section, allocate in->ctx; AC_EINVAL logged */
    int (*start)(struct ac_ingest *in); /* begin emitting into in->sink */
    void (*stop)(struct ac_ingest *in); /* idempotent, returns promptly */
    void (*destroy)(struct ac_ingest *in); /* frees in->ctx; safe after a failed init */
    /* its figures for /metrics (may be NULL); called from any thread */
    void (*collect)(struct ac_ingest *in, struct ac_metrics_out *o);
};

/* The decoders' settings, loaded once by the server from their sections
 * ("prometheus", "kubernetes") and shared by every adapter that decodes those
 * formats (HTTP routes, Kafka topics, the Kubernetes watch). */
struct ac_am_config;
struct ac_k8s_map;
struct ac_ingest_formats {
    const struct ac_am_config *am; /* Prometheus / Alertmanager */
    const struct ac_k8s_map *k8s;  /* Kubernetes Events */
};

struct ac_ingest {
    const struct ac_ingest_ops *ops;
    const struct ac_config *cfg;             /* the process configuration (borrowed) */
    const json_t *section;                   /* the adapter's own section (borrowed; may be NULL) */
    const struct ac_sink *sink;              /* where its events go (borrowed) */
    const struct ac_ingest_formats *formats; /* borrowed */
    void *ctx;                               /* the adapter's state */
};

/* Loads in's section with its ops' table into base (problems logged, each
 * "<name>.<key>: ..."). Returns AC_OK or AC_EINVAL. */
AC_MUST_CHECK int ac_ingest_load_cfg(const struct ac_ingest *in, void *base);

#endif
