-- SPDX-License-Identifier: Apache-2.0
-- 0001: events, alerts and the audit log; the ingest function.
-- Levels are stored as 'P1'..'P4' so that least() is "the most severe" (C collation).

CREATE SEQUENCE events_id_seq;

-- Every accepted event: the normalized document plus indexed columns.
CREATE TABLE events (
    id          bigint PRIMARY KEY,
    source      text NOT NULL,
    client_id   text,
    type        text NOT NULL,
    level       text COLLATE "C" NOT NULL CHECK (level IN ('P1', 'P2', 'P3', 'P4')),
    trace       text NOT NULL CHECK (trace IN ('control', 'data', 'runtime')),
    category    text CHECK (category IN ('runtime', 'change', 'system', 'cloud_product')),
    status      text NOT NULL CHECK (status IN ('firing', 'resolved')),
    fingerprint text NOT NULL,
    alert_id    bigint,
    occurred_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    region      text,
    cluster     text,
    namespace   text,
    app_id      text,
    user_id     text,
    instance    text,
    doc         jsonb NOT NULL
);
ALTER SEQUENCE events_id_seq OWNED BY events.id;
CREATE UNIQUE INDEX events_idempotency ON events (source, client_id) WHERE client_id IS NOT NULL;
CREATE INDEX events_alert ON events (alert_id, id);
CREATE INDEX events_type ON events (type, id);
CREATE INDEX events_app ON events (app_id, id) WHERE app_id IS NOT NULL;
CREATE INDEX events_user ON events (user_id, id) WHERE user_id IS NOT NULL;
CREATE INDEX events_received ON events USING brin (received_at);

-- One row per alert: events with one fingerprint fold into the open alert.
CREATE TABLE alerts (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    fingerprint   text NOT NULL,
    type          text NOT NULL,
    source        text NOT NULL,
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
    region        text,
    cluster       text,
    namespace     text,
    app_id        text,
    user_id       text,
    gc_level      smallint,
    instance      text,
    resource      jsonb,
    last_event_id bigint NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
-- At most one open alert per fingerprint, also across server instances.
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

-- Stores one validated event and folds it into its alert, in the caller's
-- transaction. The caller holds transaction advisory locks on the event's
-- fingerprint and idempotency key, so concurrent writers (threads or server
-- instances) see each other's effects in order.
--   firing:   fold into the open alert of the fingerprint, or open a new one.
--   resolved: fold into the open alert and close it; with no open alert the
--             event is stored without an alert.
--   a repeated (source, client id): nothing changes; the original ids return.
CREATE FUNCTION ac_ingest_event(
    p_source text, p_client_id text, p_type text, p_level text, p_trace text,
    p_category text, p_status text, p_fingerprint text, p_occurred_at timestamptz,
    p_received_at timestamptz, p_region text, p_cluster text, p_namespace text,
    p_app_id text, p_user_id text, p_gc_level smallint, p_instance text,
    p_resource jsonb, p_doc jsonb,
    OUT o_event_id bigint, OUT o_alert_id bigint, OUT o_duplicate boolean)
LANGUAGE plpgsql AS $$
BEGIN
    o_duplicate := false;
    IF p_client_id IS NOT NULL THEN
        SELECT e.id, e.alert_id INTO o_event_id, o_alert_id
          FROM events e WHERE e.source = p_source AND e.client_id = p_client_id;
        IF FOUND THEN
            o_duplicate := true;
            RETURN;
        END IF;
    END IF;
    o_event_id := nextval('events_id_seq');

    UPDATE alerts a
       SET count = a.count + 1,
           first_seen = least(a.first_seen, p_occurred_at),
           last_seen = greatest(a.last_seen, p_occurred_at),
           level = CASE WHEN p_status = 'firing' THEN least(a.level, p_level) ELSE a.level END,
           status = CASE WHEN p_status = 'resolved' THEN 'resolved' ELSE a.status END,
           resolved_at = CASE WHEN p_status = 'resolved' THEN p_occurred_at END,
           last_event_id = o_event_id,
           updated_at = p_received_at
     WHERE a.fingerprint = p_fingerprint AND a.status <> 'resolved'
    RETURNING a.id INTO o_alert_id;

    IF FOUND AND p_status = 'resolved' THEN
        INSERT INTO audit_log (actor, action, target_type, target_id, details)
        VALUES ('source:' || p_source, 'alert.resolve', 'alert', o_alert_id::text,
                jsonb_build_object('event_id', o_event_id::text));
    ELSIF NOT FOUND AND p_status = 'firing' THEN
        INSERT INTO alerts (fingerprint, type, source, trace, category, level, initial_level,
                            status, count, first_seen, last_seen, region, cluster, namespace,
                            app_id, user_id, gc_level, instance, resource, last_event_id,
                            created_at, updated_at)
        VALUES (p_fingerprint, p_type, p_source, p_trace, p_category, p_level, p_level,
                'firing', 1, p_occurred_at, p_occurred_at, p_region, p_cluster, p_namespace,
                p_app_id, p_user_id, p_gc_level, p_instance, p_resource, o_event_id,
                p_received_at, p_received_at)
        RETURNING id INTO o_alert_id;
        INSERT INTO audit_log (actor, action, target_type, target_id, details)
        VALUES ('source:' || p_source, 'alert.open', 'alert', o_alert_id::text,
                jsonb_build_object('event_id', o_event_id::text, 'level', p_level));
    END IF;

    INSERT INTO events (id, source, client_id, type, level, trace, category, status,
                        fingerprint, alert_id, occurred_at, received_at, region, cluster,
                        namespace, app_id, user_id, instance, doc)
    VALUES (o_event_id, p_source, p_client_id, p_type, p_level, p_trace, p_category, p_status,
            p_fingerprint, o_alert_id, p_occurred_at, p_received_at, p_region, p_cluster,
            p_namespace, p_app_id, p_user_id, p_instance, p_doc);
END $$;

-- API representations, built where the data is.
CREATE FUNCTION ac_rfc3339(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

CREATE FUNCTION ac_event_json(e events) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT e.doc || jsonb_build_object(
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
