-- SPDX-License-Identifier: Apache-2.0
-- 0014: probe heartbeats (ingest/heartbeat.h). One row per instance: its
-- latest heartbeat, not one row per heartbeat.
CREATE TABLE heartbeats (
    instance      text COLLATE "C" PRIMARY KEY,
    app_id        text COLLATE "C",
    user_id       text COLLATE "C",
    region        text COLLATE "C",
    cluster       text COLLATE "C",
    namespace     text COLLATE "C",
    probe_version text,
    interval_s    integer NOT NULL CHECK (interval_s > 0),
    doc           jsonb NOT NULL,            -- the heartbeat as received
    failing       text[] NOT NULL DEFAULT '{}', -- checks failing as of it (raised)
    received_at   timestamptz NOT NULL,
    lost_after    timestamptz NOT NULL,      -- no heartbeat by then: lost
    lost_at       timestamptz,               -- ProbeHeartbeatLost raised
    exited_at     timestamptz,               -- it said it exits: no heartbeat expected
    exit_code     integer
);
CREATE INDEX heartbeats_app ON heartbeats (app_id, instance);
CREATE INDEX heartbeats_due ON heartbeats (lost_after) WHERE lost_at IS NULL AND exited_at IS NULL;

CREATE FUNCTION ac_heartbeat_json(h heartbeats) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'instance', h.instance, 'app_id', h.app_id, 'user_id', h.user_id, 'region', h.region,
        'cluster', h.cluster, 'namespace', h.namespace, 'probe_version', h.probe_version,
        'interval_s', h.interval_s, 'checks', coalesce(h.doc -> 'checks', '[]'::jsonb),
        'failing', to_jsonb(h.failing), 'received_at', ac_rfc3339(h.received_at),
        'expected_by', ac_rfc3339(h.lost_after),
        'state', CASE WHEN h.exited_at IS NOT NULL THEN 'exited'
                      WHEN h.lost_at IS NOT NULL THEN 'lost'
                      WHEN cardinality(h.failing) > 0 THEN 'failing'
                      ELSE 'ok' END,
        'lost_at', ac_rfc3339(h.lost_at), 'exited_at', ac_rfc3339(h.exited_at),
        'exit', CASE WHEN h.exited_at IS NULL THEN NULL ELSE h.doc -> 'exit' END)
$$;
