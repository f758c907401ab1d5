/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Probe heartbeats (POST /v1/heartbeats): each probe reports, every
 * interval_s, that its instance is alive and how its dependency checks went.
 *
 *   {"instance": "shop-web-0", "app_id": "shop", "user_id"?, "region"?,
 *    "cluster"?, "namespace"?, "probe_version"?, "interval_s": 30,
 *    "checks": [{"name": "network", "code": 0, "message"?}, ...],
 *    "exit"?: {"code": 137, "reason"?: "OOMKilled"}}
 *
 * A check's code 0 is healthy; any other code is a failure, raised as an
 * event of the check's type (container -> ContainerExited, network ->
 * ProbeNetworkUnreachable, agent_start -> ProbeAgentStartFailed,
 * storage_mount -> StorageMountFailed, time_zone -> TimeZoneMismatch,
 * another name -> ProbeCheckFailed; configurable) on every heartbeat while
 * it fails (they fold into one alert), and resolved by the first heartbeat
 * where it passes. "exit" says the instance is going away: code 0 resolves
 * what it had open (and InstanceExited), another code raises InstanceExited;
 * either way no heartbeat is expected from it any more.
 *
 * Only the latest heartbeat of each instance is kept (table heartbeats, one
 * row per instance). An instance silent for lost_after_intervals (default
 * 3) intervals raises ProbeHeartbeatLost - found by a sweeper that one
 * instance of the cluster runs (advisory lock) - and its next heartbeat
 * resolves it.
 *
 * Events: source "probe", the heartbeat's dimensions, labels check, code and
 * probe_version; the type's level comes from the registry (/v1/types).
 *
 * Configuration section "heartbeats": {"lost_after_intervals": 3,
 * "sweep_ms": 1000, "check_types": {"<check name>": "<type>"}}.
 */
#ifndef AC_INGEST_HEARTBEAT_H
#define AC_INGEST_HEARTBEAT_H

#include <jansson.h>
#include <libpq-fe.h>

#include "ingest/ingest.h"
#include "server/core/mem.h"

#define AC_HB_CHECKS_MAX 32

struct ac_hb_check {
    const char *name; /* borrowed from the heartbeat's doc */
    long code;
    const char *message; /* or NULL */
};

struct ac_hb {
    json_t *doc; /* the heartbeat as received (its strings are borrowed below) */
    const char *instance, *app_id, *user_id, *region, *cluster, *namespace_, *probe_version;
    long interval_s;
    struct ac_hb_check checks[AC_HB_CHECKS_MAX];
    size_t nchecks;
    bool exiting;
    long exit_code;
    const char *exit_reason;
};

/* The adapter (ingest.h): init reads in->section, start runs the sweeper. */
extern const struct ac_ingest_ops ac_heartbeat_ops;

/*
 * Decode a body: one heartbeat object or an array of them, all-or-nothing.
 * On AC_OK *out holds *n heartbeats (ac_hb_free); on AC_EINVAL/AC_ETOOBIG
 * *details is a new array of {"index"?, "path", "message"}.
 */
AC_MUST_CHECK int ac_hb_decode(const char *body, size_t len, size_t max, struct ac_hb **out,
                               size_t *n, json_t **details);
void ac_hb_free(struct ac_hb *hbs, size_t n);

/* The instance's state before a heartbeat. */
struct ac_hb_prev {
    const json_t *failing; /* array of the check names failing (or NULL: none) */
    bool lost;             /* ProbeHeartbeatLost is raised */
    bool exited_bad;       /* it exited with a non-zero code (InstanceExited raised) */
};

/*
 * What a heartbeat means after prev (in: an initialized heartbeat adapter,
 * for the check types): appends the events to submit to evs, the checks
 * failing after it to failing (a PostgreSQL array being built: elements
 * only), and the types it raises / resolves to raised / resolved (arrays).
 */
void ac_hb_plan(const struct ac_ingest *in, const struct ac_hb *hb, const struct ac_hb_prev *prev,
                int64_t now_us, struct ac_event_vec *evs, struct ac_buf *failing, json_t *raised,
                json_t *resolved);

/*
 * Receive one heartbeat: compare it with the instance's previous one (row
 * locked on c, which must be outside a transaction), submit the events that
 * follow through the adapter's sink, and keep it as the instance's latest -
 * all or nothing. *outcome: new {"instance", "raised": [types],
 * "resolved": [types]}. Returns AC_OK, AC_EDB or the sink's error.
 */
AC_MUST_CHECK int ac_hb_receive(struct ac_ingest *in, PGconn *c, const struct ac_hb *hb,
                                int64_t now_us, json_t **outcome);

#endif
