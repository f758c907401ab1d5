-- SPDX-License-Identifier: Apache-2.0
-- 0028: retention by dropping time partitions (issue 17).
--
-- events becomes a table partitioned by day on received_at; the events
-- already stored become one partition, events_before, up to today. The
-- periodic worker (server/retention.c) keeps partitions made ahead
-- (ac_partitions_ahead) and drops the ones past the retention
-- (ac_retention_run): events after retention.events_days, the audit log and
-- its chain after retention.history_days, month by month; resolved alerts
-- and incidents after retention.history_days go in batches. The primary key
-- becomes (id, received_at); repeats are told by ingest_keys (0006), so the
-- unique (source, client_id) index goes.

DROP FUNCTION ac_event_json(events);
ALTER TABLE events RENAME TO events_0001;
ALTER INDEX events_pkey RENAME TO events_0001_pkey;
DROP INDEX events_idempotency;
ALTER INDEX events_alert RENAME TO events_0001_alert;
ALTER INDEX events_type RENAME TO events_0001_type;
ALTER INDEX events_app RENAME TO events_0001_app;
ALTER INDEX events_user RENAME TO events_0001_user;
ALTER INDEX events_received RENAME TO events_0001_received;
ALTER INDEX events_resource RENAME TO events_0001_resource;

CREATE TABLE events (
    id          bigint NOT NULL,
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
    doc         json NOT NULL,
    PRIMARY KEY (id, received_at)
) PARTITION BY RANGE (received_at);
ALTER SEQUENCE events_id_seq OWNED BY events.id;
CREATE INDEX events_alert ON events (alert_id, id);
CREATE INDEX events_type ON events (type, id);
CREATE INDEX events_app ON events (app_id, id) WHERE app_id IS NOT NULL;
CREATE INDEX events_user ON events (user_id, id) WHERE user_id IS NOT NULL;
CREATE INDEX events_received ON events USING brin (received_at);
CREATE INDEX events_resource ON events (((doc -> 'resource') ->> 'name'), id)
    WHERE (doc -> 'resource') IS NOT NULL;

DO $$
BEGIN
    EXECUTE format('CREATE TABLE events_before PARTITION OF events FOR VALUES FROM (MINVALUE)'
                   ' TO (%L)', date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC');
END $$;
INSERT INTO events SELECT * FROM events_0001;
DROP TABLE events_0001;

CREATE FUNCTION ac_event_json(e events) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT e.doc::jsonb || jsonb_build_object(
        'event_id', e.id::text,
        'alert_id', e.alert_id::text,
        'fingerprint', e.fingerprint,
        'received_at', ac_rfc3339(e.received_at))
$$;

-- The anchor of the audit chain once older links are dropped: the last
-- dropped link (its seq and hash), from which `audit verify` goes on.
CREATE TABLE audit_anchor (
    one        boolean PRIMARY KEY DEFAULT true CHECK (one),
    seq        bigint NOT NULL,
    hash       bytea NOT NULL,
    dropped_at timestamptz NOT NULL DEFAULT now()
);
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'alertcenter_app') THEN
        REVOKE ALL ON audit_anchor FROM alertcenter_app;
        GRANT SELECT ON audit_anchor TO alertcenter_app;
    END IF;
END $$;

-- The upper bound of a partition (from its bound expression).
CREATE FUNCTION ac_partition_upper(p regclass) RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \(''([^'']+)''\)')::timestamptz
      FROM pg_class c WHERE c.oid = p
$$;

-- Partitions made ahead: events a week of days, the audit log and its chain
-- three months. Returns how many were made.
CREATE FUNCTION ac_partitions_ahead() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    RETURN ac_partitions_ensure('events', 'day', now(),
                                now() + interval '7 days')
         + ac_partitions_ensure('audit_log', 'month', now(), now() + interval '3 months')
         + ac_partitions_ensure('audit_chain', 'month', now(), now() + interval '3 months');
END $$;
SELECT ac_partitions_ahead();

-- Partitions ahead, then expiry: events partitions wholly older than
-- p_events_days, audit partitions (with their chain) wholly older than
-- p_history_days (the last dropped link becomes the anchor), and up to
-- p_batch resolved alerts and incidents resolved more than p_history_days
-- ago with what hangs on them. Returns what it did.
CREATE FUNCTION ac_retention_run(p_events_days integer, p_history_days integer, p_batch integer)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    made integer := ac_partitions_ahead();
    dropped text[] := '{}';
    part regclass;
    cut_events timestamptz := now() - make_interval(days => p_events_days);
    cut_history timestamptz := now() - make_interval(days => p_history_days);
    v_seq bigint;
    v_hash bytea;
    v_upper timestamptz;
    name text;
    v_alerts bigint := 0;
    v_incidents bigint := 0;
BEGIN
    FOR part IN SELECT i.inhrelid::regclass FROM pg_inherits i
                 WHERE i.inhparent = 'events'::regclass
                   AND ac_partition_upper(i.inhrelid) <= cut_events LOOP
        name := part::text;
        EXECUTE format('DROP TABLE %s', part);
        dropped := dropped || name;
    END LOOP;
    -- the audit log's months and their chain's (the same bounds); the last
    -- link dropped becomes the anchor
    SELECT max(ac_partition_upper(i.inhrelid)) INTO v_upper FROM pg_inherits i
     WHERE i.inhparent = 'audit_log'::regclass AND ac_partition_upper(i.inhrelid) <= cut_history;
    IF v_upper IS NOT NULL THEN
        SELECT c.seq, c.hash INTO v_seq, v_hash FROM audit_chain c
         WHERE c.entry_at < v_upper ORDER BY c.seq DESC LIMIT 1;
        IF FOUND THEN
            INSERT INTO audit_anchor (seq, hash) VALUES (v_seq, v_hash)
            ON CONFLICT (one) DO UPDATE SET seq = greatest(audit_anchor.seq, excluded.seq),
                hash = CASE WHEN excluded.seq > audit_anchor.seq THEN excluded.hash
                            ELSE audit_anchor.hash END,
                dropped_at = now();
        END IF;
        FOR part IN SELECT i.inhrelid::regclass FROM pg_inherits i
                     WHERE i.inhparent IN ('audit_log'::regclass, 'audit_chain'::regclass)
                       AND ac_partition_upper(i.inhrelid) <= cut_history LOOP
            name := part::text;
            EXECUTE format('DROP TABLE %s', part);
            dropped := dropped || name;
        END LOOP;
    END IF;
    WITH a AS (SELECT id FROM alerts WHERE status = 'resolved' AND resolved_at < cut_history
                ORDER BY id LIMIT p_batch),
         f AS (DELETE FROM alert_folds x USING a WHERE x.alert_id = a.id),
         e AS (DELETE FROM escalations x USING a WHERE x.alert_id = a.id),
         n AS (DELETE FROM alert_notify x USING a WHERE x.alert_id = a.id),
         d AS (DELETE FROM alerts x USING a WHERE x.id = a.id RETURNING 1)
    SELECT count(*) INTO v_alerts FROM d;
    WITH i AS (SELECT id FROM incidents WHERE status = 'resolved' AND resolved_at < cut_history
                AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.incident_id = incidents.id)
                ORDER BY id LIMIT p_batch),
         n AS (DELETE FROM notifications x USING i WHERE x.incident_id = i.id RETURNING x.intent_id)
    SELECT count(*) INTO v_incidents FROM n;
    DELETE FROM notify_intents x USING (SELECT id FROM incidents WHERE status = 'resolved'
                AND resolved_at < cut_history AND NOT EXISTS (SELECT 1 FROM alerts a
                WHERE a.incident_id = incidents.id) ORDER BY id LIMIT p_batch) i
     WHERE x.incident_id = i.id
       AND NOT EXISTS (SELECT 1 FROM notifications y WHERE y.intent_id = x.id);
    WITH d AS (DELETE FROM incidents x WHERE x.id IN (SELECT id FROM incidents
                WHERE status = 'resolved' AND resolved_at < cut_history AND NOT EXISTS (
                SELECT 1 FROM alerts a WHERE a.incident_id = incidents.id) AND NOT EXISTS (
                SELECT 1 FROM notify_intents t WHERE t.incident_id = incidents.id)
                ORDER BY id LIMIT p_batch) RETURNING 1)
    SELECT count(*) INTO v_incidents FROM d;
    RETURN jsonb_build_object('partitions_made', made, 'dropped', to_jsonb(dropped),
                              'alerts_deleted', v_alerts, 'incidents_deleted', v_incidents);
END $$;
