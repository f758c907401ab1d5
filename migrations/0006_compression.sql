-- SPDX-License-Identifier: Apache-2.0
-- 0006: compression of duplicates and idempotency keys of their own.

-- A firing event that folds into an open alert is counted but, unless its type
-- retains duplicates, not stored as an event row; the alert keeps the latest
-- such document here (NULL when its latest event is a stored row).
ALTER TABLE alerts ADD COLUMN last_doc json;

-- Every accepted idempotency key, whether or not its event was stored as a
-- row, so PostgreSQL stays the final word on repeats.
CREATE TABLE ingest_keys (
    source     text COLLATE "C" NOT NULL,
    client_id  text COLLATE "C" NOT NULL,
    event_id   bigint,
    alert_id   bigint,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, client_id)
);
INSERT INTO ingest_keys (source, client_id, event_id, alert_id, created_at)
SELECT source, client_id, id, alert_id, received_at FROM events WHERE client_id IS NOT NULL;

CREATE OR REPLACE FUNCTION ac_alert_json(a alerts) RETURNS jsonb LANGUAGE sql STABLE AS $$
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
        'runbook_url', (SELECT t.runbook_url FROM types t WHERE t.type = a.type),
        'latest_event', coalesce(
            a.last_doc::jsonb || jsonb_build_object('alert_id', a.id::text,
                                                    'fingerprint', a.fingerprint,
                                                    'folded', true),
            (SELECT ac_event_json(e) FROM events e WHERE e.id = a.last_event_id)))
$$;
