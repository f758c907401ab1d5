-- SPDX-License-Identifier: Apache-2.0
-- 0005: context association (related events by resource) and runbook links on alerts.

-- Finds recent events about the same Kubernetes object; only events that carry
-- a resource are indexed, so the others pay nothing on insert.
CREATE INDEX events_resource ON events (((doc -> 'resource') ->> 'name'), id)
    WHERE (doc -> 'resource') IS NOT NULL;

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
        'latest_event', (SELECT ac_event_json(e) FROM events e WHERE e.id = a.last_event_id))
$$;

-- The last n events of other alerts (or of none) about the same app or the
-- same resource as alert a: what else was going on.
CREATE FUNCTION ac_alert_related(a alerts, n integer) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_agg(ac_event_json(x) ORDER BY x.id DESC), '[]'::jsonb)
      FROM (SELECT e.* FROM events e
             WHERE e.id IN (
                   SELECT id FROM (
                       SELECT e1.id FROM events e1
                        WHERE a.app_id IS NOT NULL AND e1.app_id = a.app_id
                          AND e1.alert_id IS DISTINCT FROM a.id
                        ORDER BY e1.id DESC LIMIT n) by_app
                   UNION
                   SELECT id FROM (
                       SELECT e2.id FROM events e2
                        WHERE a.resource IS NOT NULL AND (e2.doc -> 'resource') IS NOT NULL
                          AND ((e2.doc -> 'resource') ->> 'name') = a.resource ->> 'name'
                          AND coalesce((e2.doc -> 'resource') ->> 'kind', '')
                              = coalesce(a.resource ->> 'kind', '')
                          AND coalesce((e2.doc -> 'resource') ->> 'namespace', '')
                              = coalesce(a.resource ->> 'namespace', '')
                          AND e2.alert_id IS DISTINCT FROM a.id
                        ORDER BY e2.id DESC LIMIT n) by_resource)
             ORDER BY e.id DESC LIMIT n) x
$$;
