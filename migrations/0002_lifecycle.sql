-- SPDX-License-Identifier: Apache-2.0
-- 0002: the alert type registry (first columns) and alert lifecycle transitions.

-- One row per alert type; defaults for events of that type. Enrichment adds to it.
CREATE TABLE types (
    type              text COLLATE "C" PRIMARY KEY,
    -- seconds without events before an open alert auto-resolves; 0 = never;
    -- NULL = the configured default (lifecycle.default_resolve_timeout_s)
    resolve_timeout_s integer CHECK (resolve_timeout_s >= 0),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- The advisory lock key of a fingerprint: its first 64 bits, as the writer
-- computes it. Every change to an open alert holds this lock, so operators,
-- the sweeper and ingest (on any instance) serialize per alert.
CREATE FUNCTION ac_fp_lock_key(fp text) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT ('x' || substr(fp, 1, 16))::bit(64)::bigint
$$;

-- Moves an alert along firing -> acknowledged -> resolved.
--   p_action:  'ack' or 'resolve'
--   p_actor:   who, for the audit log ("user:alice", "system:auto-resolve")
--   p_details: extra audit details (comment, token name)
--   p_idle_before: only resolve if the alert saw no event since then (auto-resolve)
-- Returns 'ok', 'not_found', 'skipped' (p_idle_before not met) or the current
-- status when the transition is not allowed from it ('acknowledged', 'resolved').
CREATE FUNCTION ac_alert_transition(p_id bigint, p_action text, p_actor text,
                                    p_details jsonb, p_idle_before timestamptz DEFAULT NULL)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_fp text;
    v_status text;
    v_last timestamptz;
BEGIN
    SELECT fingerprint INTO v_fp FROM alerts WHERE id = p_id;
    IF NOT FOUND THEN
        RETURN 'not_found';
    END IF;
    PERFORM pg_advisory_xact_lock(ac_fp_lock_key(v_fp));
    SELECT status, last_seen INTO v_status, v_last FROM alerts WHERE id = p_id FOR UPDATE;
    IF v_status = 'resolved' THEN
        RETURN 'resolved';
    END IF;
    IF p_action = 'ack' THEN
        IF v_status <> 'firing' THEN
            RETURN v_status;
        END IF;
        UPDATE alerts SET status = 'acknowledged', acked_at = clock_timestamp(),
               acked_by = p_actor, updated_at = clock_timestamp()
         WHERE id = p_id;
    ELSIF p_action = 'resolve' THEN
        IF p_idle_before IS NOT NULL AND v_last >= p_idle_before THEN
            RETURN 'skipped';
        END IF;
        UPDATE alerts SET status = 'resolved', resolved_at = clock_timestamp(),
               updated_at = clock_timestamp()
         WHERE id = p_id;
    ELSE
        RAISE EXCEPTION 'unknown action %', p_action;
    END IF;
    INSERT INTO audit_log (actor, action, target_type, target_id, details)
    VALUES (p_actor, 'alert.' || p_action, 'alert', p_id::text, p_details);
    RETURN 'ok';
END $$;
