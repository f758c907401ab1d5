-- SPDX-License-Identifier: Apache-2.0
-- 0001: events, alerts and the audit log; the ingest function.
-- Levels are stored as 'P1'..'P4' so that least() is "the most severe" (C collation).

CREATE SEQUENCE events_id_seq;

-- Every accepted event: the normalized document plus indexed columns.
-- Identifier columns compare bytewise (COLLATE "C"): they are names, not prose,
-- and index maintenance is cheaper. The document is stored as json (validated
-- text, written as sent); reads convert it to jsonb.
CREATE TABLE events (
    id          bigint PRIMARY KEY,
    source      text COLLATE "C" NOT NULL,
    client_id   text COLLATE "C",
    type        text COLLATE "C" NOT NULL,
    level       text COLLATE "C" NOT NULL CHECK (level IN ('P1', 'P2', 'P3', 'P4')),
    trace       text NOT NULL CHECK (trace IN ('control', 'data', 'runtime')),
    category    text CHECK (category IN ('runtime', 'change', 'system', 'cloud_product')),
    status      text NOT NULL CHECK (status IN ('firing', 'resolved')),
    fingerprint text COLLATE "C" NOT NULL,
    alert_id    bigint,
    occurred_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    region      text COLLATE "C",
    cluster     text COLLATE "C",
    namespace   text COLLATE "C",
    app_id      text COLLATE "C",
    user_id     text COLLATE "C",
    instance    text COLLATE "C",
    doc         json NOT NULL
);
ALTER SEQUENCE events_id_seq OWNED BY events.id;
CREATE UNIQUE INDEX events_idempotency ON events (source, client_id) WHERE client_id IS NOT NULL;
CREATE INDEX events_alert ON events (alert_id, id);
CREATE INDEX events_type ON events (type, id);
CREATE INDEX events_app ON events (app_id, id) WHERE app_id IS NOT NULL;
CREATE INDEX events_user ON events (user_id, id) WHERE user_id IS NOT NULL;
CREATE INDEX events_received ON events USING brin (received_at);

-- One row per alert: events with one fingerprint fold into the open alert.
-- Ids come from sequences so the writer can reserve a group's ids at once.
CREATE SEQUENCE alerts_id_seq;
CREATE TABLE alerts (
    id            bigint PRIMARY KEY DEFAULT nextval('alerts_id_seq'),
    fingerprint   text COLLATE "C" NOT NULL,
    type          text COLLATE "C" NOT NULL,
    source        text COLLATE "C" NOT NULL,
    trace         text NOT NULL,
    category      text,
    level         text COLLATE "C" NOT NULL CHECK (level IN ('P1', 'P2', 'P3', 'P4')),
    initial_level text COLLATE "C" NOT NULL CHECK (initial_level IN ('P1', 'P2', 'P3', 'P4')),
    status        text NOT NULL CHECK (status IN ('firing', 'acknowledged', 'resolved')),
    count         bigint NOT NULL CHECK (count > 0),
    first_seen    timestamptz NOT NULL,
    last_seen     timestamptz NOT NULL,
    resolved_at   timestamptz,
    acked_at      timestamptz,
    acked_by      text,
    region        text COLLATE "C",
    cluster       text COLLATE "C",
    namespace     text COLLATE "C",
    app_id        text COLLATE "C",
    user_id       text COLLATE "C",
    gc_level      smallint,
    instance      text COLLATE "C",
    resource      jsonb,
    last_event_id bigint NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
-- At most one open alert per fingerprint, also across server instances.
ALTER SEQUENCE alerts_id_seq OWNED BY alerts.id;
CREATE UNIQUE INDEX alerts_open_fingerprint ON alerts (fingerprint) WHERE status <> 'resolved';
CREATE INDEX alerts_type ON alerts (type, id);
CREATE INDEX alerts_open ON alerts (id) WHERE status <> 'resolved';
CREATE INDEX alerts_app ON alerts (app_id, id) WHERE app_id IS NOT NULL;

-- Append-only record of who did what (system actions included).
CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor       text NOT NULL,
    action      text NOT NULL,
    target_type text,
    target_id   text,
    details     jsonb
);
CREATE INDEX audit_log_target ON audit_log (target_type, target_id, id);

CREATE FUNCTION ac_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION ac_audit_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION ac_audit_append_only();

-- API representations, built where the data is.
CREATE FUNCTION ac_rfc3339(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

CREATE FUNCTION ac_event_json(e events) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT e.doc::jsonb || jsonb_build_object(
        'event_id', e.id::text,
        'alert_id', e.alert_id::text,
        'fingerprint', e.fingerprint,
        'received_at', ac_rfc3339(e.received_at))
$$;

CREATE FUNCTION ac_alert_json(a alerts) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', a.id::text,
        'fingerprint', a.fingerprint,
        'type', a.type,
        'source', a.source,
        'trace', a.trace,
        'category', a.category,
        'level', a.level,
        'initial_level', a.initial_level,
        'status', a.status,
        'count', a.count,
        'first_seen', ac_rfc3339(a.first_seen),
        'last_seen', ac_rfc3339(a.last_seen),
        'resolved_at', ac_rfc3339(a.resolved_at),
        'acked_at', ac_rfc3339(a.acked_at),
        'acked_by', a.acked_by,
        'region', a.region,
        'cluster', a.cluster,
        'namespace', a.namespace,
        'app_id', a.app_id,
        'user_id', a.user_id,
        'gc_level', a.gc_level,
        'instance', a.instance,
        'resource', a.resource,
        'latest_event', (SELECT ac_event_json(e) FROM events e WHERE e.id = a.last_event_id))
$$;
