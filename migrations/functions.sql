-- SPDX-License-Identifier: Apache-2.0
-- The current definition of every SQL function the schema has, in one place
-- (as PostgreSQL's own system_functions.sql). `migrate` applies the numbered
-- migrations first, then this file whenever it differs from what the
-- database last received, all in one transaction under the migration lock.
--
-- To change a function, edit it here: never in a numbered migration, whose
-- text is frozen once applied (each keeps the definition its schema step
-- needed, as history). A new function goes here too; a migration that needs
-- it while it runs (a trigger, a backfill) defines it itself, and this file
-- then holds its current form. Every definition is CREATE OR REPLACE, so the
-- file can be applied any number of times. A change of a function's result
-- type or argument names needs a DROP here first, as PostgreSQL refuses to
-- replace those.
--
-- Lock keys: ac_fp_lock_key, ac_type_lock_key and ac_member_key are computed
-- in C too (server/core/lockkey.c); the lock-key test pins both equal.


CREATE OR REPLACE FUNCTION ac_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END $$;

-- API representations, built where the data is.
-- STABLE, as to_char is: PostgreSQL then inlines it into its callers. Declared
-- IMMUTABLE over a STABLE body it was run as a function of its own each time,
-- ~3.6 against ~1.2 µs a call (each audit chain link, each alert listed).
CREATE OR REPLACE FUNCTION ac_rfc3339(t timestamptz) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

CREATE OR REPLACE FUNCTION ac_event_json(e events) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT e.doc::jsonb || jsonb_build_object(
        'event_id', e.id::text,
        'alert_id', e.alert_id::text,
        'fingerprint', e.fingerprint,
        'received_at', ac_rfc3339(e.received_at))
$$;

-- The advisory lock key of a fingerprint: its first 64 bits, as the writer
-- computes it. Every change to an open alert holds this lock, so operators,
-- the sweeper and ingest (on any instance) serialize per alert.
CREATE OR REPLACE FUNCTION ac_fp_lock_key(fp text) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT ('x' || substr(fp, 1, 16))::bit(64)::bigint
$$;

CREATE OR REPLACE FUNCTION ac_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ac_versions SET version = version + 1 WHERE name = TG_ARGV[0];
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION ac_rule_json(r filter_rules) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', r.id::text, 'name', r.name, 'position', r.position, 'action', r.action,
        'matchers', r.matchers, 'expires_at', ac_rfc3339(r.expires_at), 'comment', r.comment,
        'created_by', r.created_by, 'created_at', ac_rfc3339(r.created_at),
        'updated_at', ac_rfc3339(r.updated_at), 'dropped', r.dropped)
$$;

CREATE OR REPLACE FUNCTION ac_tenant_json(t tenants) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('user_id', t.user_id, 'gc_level', t.gc_level, 'name', t.name,
        'primary_contact', t.primary_contact, 'updated_at', ac_rfc3339(t.updated_at))
$$;

CREATE OR REPLACE FUNCTION ac_app_json(a apps) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('app_id', a.app_id, 'user_id', a.user_id, 'team', a.team,
        'region', a.region, 'namespace', a.namespace, 'tags', a.tags,
        'updated_at', ac_rfc3339(a.updated_at))
$$;

CREATE OR REPLACE FUNCTION ac_type_json(t types) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('type', t.type, 'level', t.level, 'trace', t.trace,
        'category', t.category, 'fingerprint_dims', to_jsonb(t.fingerprint_dims),
        'compression_window_s', t.compression_window_s,
        'resolve_timeout_s', t.resolve_timeout_s, 'retain_duplicates', t.retain_duplicates,
        'runbook_url', t.runbook_url, 'title_template', t.title_template,
        'updated_at', ac_rfc3339(t.updated_at))
$$;

-- The last n events of other alerts (or of none) about the same app or the
-- same resource as alert a: what else was going on.
CREATE OR REPLACE FUNCTION ac_alert_related(a alerts, n integer) RETURNS jsonb LANGUAGE sql STABLE AS $$
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
                        WHERE a.resource IS NOT NULL AND e2.resource_name = a.resource ->> 'name'
                          AND coalesce((e2.doc -> 'resource') ->> 'kind', '')
                              = coalesce(a.resource ->> 'kind', '')
                          AND coalesce((e2.doc -> 'resource') ->> 'namespace', '')
                              = coalesce(a.resource ->> 'namespace', '')
                          AND e2.alert_id IS DISTINCT FROM a.id
                        ORDER BY e2.id DESC LIMIT n) by_resource)
             ORDER BY e.id DESC LIMIT n) x
$$;

CREATE OR REPLACE FUNCTION ac_alert_json(a alerts) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', a.id::text,
        'incident_id', a.incident_id::text,
        'team_id', a.team_id::text,
        'fingerprint', a.fingerprint,
        'type', a.type,
        'title', a.title,
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
        'ends_at', ac_rfc3339(a.ends_at),
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

-- Raises SQLSTATE AC001 unless got = want. The writer updates the open alerts
-- the cache named with "... AND status <> 'resolved'" and checks the row count
-- here, inside the transaction: a stale cache entry (an alert resolved through
-- the API or the sweeper) aborts the group, which is retried from PostgreSQL.
CREATE OR REPLACE FUNCTION ac_expect_rows(got bigint, want integer) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    IF got <> want THEN
        RAISE EXCEPTION 'stale open-alert cache: % of % alerts still open', got, want
            USING ERRCODE = 'AC001';
    END IF;
    RETURN got;
END $$;

CREATE OR REPLACE FUNCTION ac_type_lock_key(t text) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT ('x' || substr(encode(sha256(convert_to('type:' || t, 'UTF8')), 'hex'), 1, 16))::bit(64)::bigint
$$;

-- The distinct apps ('a') and GC6/GC7 users ('u') of the open window of each
-- type, as 64-bit keys (two values share a key with odds of about 1 in 10^7
-- at a million members of one type); deleted when the window closes (the
-- record keeps the counts).
CREATE OR REPLACE FUNCTION ac_member_key(kind text, value text) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT ('x' || substr(encode(sha256(convert_to(kind || ':' || value, 'UTF8')), 'hex'), 1, 16))::bit(64)::bigint
$$;

-- Events in the last k whole minutes up to p_at (k = the window's age rounded
-- up, at least 1) against the k minutes before. The previous period counts as
-- at least one event, so a type that was silent shows +(events-1)*100 %, not
-- an infinity. p_extra: events not yet in the buckets (a window's events -
-- flushed_events), counted in the current minute.
CREATE OR REPLACE FUNCTION ac_esc_increment(p_type text, p_since timestamptz, p_at timestamptz,
                                 p_extra bigint, OUT cur bigint, OUT prev bigint, OUT pct bigint)
LANGUAGE sql STABLE AS $$
    WITH k AS (SELECT greatest(1, ceil(extract(epoch FROM p_at - p_since) / 60))::int AS n,
                      date_trunc('minute', p_at) AS m)
    SELECT c, p, (c - greatest(p, 1)) * 100 / greatest(p, 1)
      FROM (SELECT p_extra + coalesce(sum(b.events) FILTER (WHERE b.minute > k.m - make_interval(mins => k.n)), 0) AS c,
                   coalesce(sum(b.events) FILTER (WHERE b.minute <= k.m - make_interval(mins => k.n)), 0) AS p
              FROM k LEFT JOIN esc_buckets b ON b.type = p_type
               AND b.minute > k.m - make_interval(mins => 2 * k.n) AND b.minute <= k.m) s
$$;

-- The timer's tick: the open windows' events not yet in the buckets go to the
-- current minute. A window a writer holds is skipped until the next tick, so
-- the timer never waits for ingest nor ingest for it. Held means its type's
-- lock, not only its row: a writer takes the type's lock when its
-- transaction begins and the row only when it counts, and a flush committed
-- in between would be half seen by that count (the row after the flush, the
-- buckets before it: its increment short by the flushed events).
CREATE OR REPLACE FUNCTION ac_esc_flush() RETURNS bigint LANGUAGE sql AS $$
    WITH o AS (SELECT id, flushed_events FROM esc_windows WHERE closed_at IS NULL
                AND pg_try_advisory_xact_lock(ac_type_lock_key(type))
                FOR UPDATE SKIP LOCKED),
    u AS (UPDATE esc_windows w SET flushed_events = w.events, rev = w.rev + 1 FROM o
           WHERE w.id = o.id AND w.events > o.flushed_events
          RETURNING w.type, w.events - o.flushed_events AS d),
    b AS (INSERT INTO esc_buckets (type, minute, events)
          SELECT u.type, date_trunc('minute', now()), u.d FROM u
          ON CONFLICT (type, minute) DO UPDATE SET events = esc_buckets.events + excluded.events)
    SELECT count(*) FROM u
$$;

-- A closed window's members go with it (the record keeps the counts).
CREATE OR REPLACE FUNCTION ac_esc_forget_members() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM esc_members WHERE type_key = ac_type_lock_key(NEW.type);
    RETURN NULL;
END $$;

-- Raises every open alert of a window's type that is less severe than p_to,
-- with an audit entry (its timeline) and a hand-off row each. The caller holds
-- the type's lock. Returns how many alerts were raised.
CREATE OR REPLACE FUNCTION ac_esc_raise(p_window bigint, p_to text, p_reason text, p_figures jsonb)
RETURNS bigint LANGUAGE sql AS $$
    WITH o AS (SELECT a.id, a.level FROM alerts a JOIN esc_windows w ON w.id = p_window
                WHERE a.type = w.type AND a.status <> 'resolved' AND a.level > p_to
                FOR UPDATE OF a),
    r AS (UPDATE alerts a SET level = p_to, updated_at = clock_timestamp() FROM o
           WHERE a.id = o.id RETURNING a.id, o.level AS old),
    au AS (INSERT INTO audit_log (actor, action, target_type, target_id, details, before,
                                  after)
           SELECT 'system:escalation', 'alert.escalate', 'alert', r.id::text,
                  jsonb_build_object('from', r.old, 'to', p_to, 'reason', p_reason,
                                     'window_id', p_window::text, 'figures', p_figures),
                  jsonb_build_object('level', r.old), jsonb_build_object('level', p_to)
             FROM r),
    h AS (INSERT INTO escalations (alert_id, window_id, from_level, to_level, reason)
          SELECT r.id, p_window, r.old, p_to, p_reason FROM r)
    SELECT count(*) FROM r
$$;

-- p_n open alerts of type p_type were resolved (by an operator, the sweeper
-- or an incident's resolve): the window counts them down, and the last one
-- closes it (old values on the right). The caller holds the type's lock.
CREATE OR REPLACE FUNCTION ac_esc_alerts_closed(p_type text, p_n bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE esc_windows w SET open_alerts = greatest(w.open_alerts - p_n, 0),
           closed_at = CASE WHEN w.open_alerts <= p_n THEN clock_timestamp() END,
           increment_pct = CASE WHEN w.open_alerts <= p_n THEN (ac_esc_increment(w.type,
                           w.opened_at, clock_timestamp(), w.events - w.flushed_events)).pct END,
           rev = w.rev + 1
     WHERE w.type = p_type AND w.closed_at IS NULL;
    -- a closed window's last events go to the buckets
    INSERT INTO esc_buckets (type, minute, events)
    SELECT w.type, date_trunc('minute', now()), w.events - w.flushed_events
      FROM esc_windows w WHERE w.type = p_type AND w.closed_at IS NOT NULL
       AND w.events > w.flushed_events
    ON CONFLICT (type, minute) DO UPDATE SET events = esc_buckets.events + excluded.events;
    UPDATE esc_windows SET flushed_events = events
     WHERE type = p_type AND closed_at IS NOT NULL AND events > flushed_events;
END $$;

-- The audit entry of an alert's transition, written before the change so
-- that what it sets off (its incident acknowledged or resolved) follows it.
CREATE OR REPLACE FUNCTION ac_alert_transition_audit(p_id bigint, p_action text, p_actor text,
                                                     p_details jsonb, p_status text)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO audit_log (actor, action, target_type, target_id, details, before, after)
    VALUES (p_actor, 'alert.' || p_action, 'alert', p_id::text, p_details,
            jsonb_build_object('status', p_status),
            jsonb_build_object('status', CASE p_action WHEN 'ack' THEN 'acknowledged'
                                                       ELSE 'resolved' END))
$$;

-- Transitions take the type's lock with the fingerprint's, in sorted order.
-- The sweeper's resolves re-check, under the lock, that the alert is still
-- idle (p_idle_before: nothing seen since) or past its source's end
-- (p_ends_before: ends_at before it), else answer 'skipped'.
DROP FUNCTION IF EXISTS ac_alert_transition(bigint, text, text, jsonb, timestamptz);
CREATE OR REPLACE FUNCTION ac_alert_transition(p_id bigint, p_action text, p_actor text,
                                               p_details jsonb, p_idle_before timestamptz DEFAULT NULL,
                                               p_ends_before timestamptz DEFAULT NULL)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_fp text;
    v_type text;
    v_status text;
    v_last timestamptz;
    v_ends timestamptz;
BEGIN
    SELECT fingerprint, type INTO v_fp, v_type FROM alerts WHERE id = p_id;
    IF NOT FOUND THEN
        RETURN 'not_found';
    END IF;
    PERFORM pg_advisory_xact_lock(k)
       FROM (SELECT DISTINCT unnest(ARRAY[ac_fp_lock_key(v_fp), ac_type_lock_key(v_type)]) AS k
              ORDER BY 1) s;
    SELECT status, last_seen, ends_at INTO v_status, v_last, v_ends FROM alerts WHERE id = p_id FOR UPDATE;
    IF v_status = 'resolved' THEN
        RETURN 'resolved';
    END IF;
    IF p_action = 'ack' THEN
        IF v_status <> 'firing' THEN
            RETURN v_status;
        END IF;
        PERFORM ac_alert_transition_audit(p_id, p_action, p_actor, p_details, v_status);
        UPDATE alerts SET status = 'acknowledged', acked_at = clock_timestamp(),
               acked_by = p_actor, updated_at = clock_timestamp()
         WHERE id = p_id;
    ELSIF p_action = 'resolve' THEN
        IF p_idle_before IS NOT NULL AND v_last >= p_idle_before THEN
            RETURN 'skipped';
        END IF;
        IF p_ends_before IS NOT NULL AND (v_ends IS NULL OR v_ends >= p_ends_before) THEN
            RETURN 'skipped';
        END IF;
        PERFORM ac_alert_transition_audit(p_id, p_action, p_actor, p_details, v_status);
        UPDATE alerts SET status = 'resolved', resolved_at = clock_timestamp(),
               updated_at = clock_timestamp()
         WHERE id = p_id;
        PERFORM ac_esc_alerts_closed(v_type, 1);
    ELSE
        RAISE EXCEPTION 'unknown action %', p_action;
    END IF;
    RETURN 'ok';
END $$;

CREATE OR REPLACE FUNCTION ac_oncall_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at = now();
    RETURN NEW;
END $$;

-- The API form: the document with id, name and times.
CREATE OR REPLACE FUNCTION ac_oncall_json(p_id bigint, p_name text, p_doc jsonb, p_created timestamptz,
                               p_updated timestamptz) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object('id', p_id::text, 'name', p_name) || p_doc
        || jsonb_build_object('created_at', ac_rfc3339(p_created),
                              'updated_at', ac_rfc3339(p_updated))
$$;

-- A raise by a policy: the incident records why (its notification says so;
-- the raise itself was followed by ac_incident_follow).
CREATE OR REPLACE FUNCTION ac_notify_on_escalation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE incidents i SET level_reason = NEW.reason
      FROM alerts a WHERE a.id = NEW.alert_id AND i.id = a.incident_id
       AND i.level_reason IS DISTINCT FROM NEW.reason;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION ac_silence_json(s silences) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', s.id::text, 'matchers', s.matchers, 'alert_id', s.alert_id::text,
        'incident_id', s.incident_id::text,
        'starts_at', ac_rfc3339(s.starts_at), 'ends_at', ac_rfc3339(s.ends_at),
        'until_resolved', s.until_resolved, 'comment', s.comment, 'created_by', s.created_by,
        'created_at', ac_rfc3339(s.created_at), 'expired_at', ac_rfc3339(s.expired_at),
        'active', s.expired_at IS NULL AND s.starts_at <= now()
                  AND (s.ends_at IS NULL OR s.ends_at > now()),
        'held', (SELECT count(*) FROM notify_intents i WHERE i.held_by = s.id
                   AND i.planned_at IS NULL))
$$;

-- A resolve also ends the silences that last until it.
CREATE OR REPLACE FUNCTION ac_notify_on_resolve() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE silences SET expired_at = clock_timestamp()
     WHERE until_resolved AND alert_id = NEW.id AND expired_at IS NULL;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION ac_heartbeat_json(h heartbeats) RETURNS jsonb LANGUAGE sql STABLE AS $$
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

-- The members of open window p_window: (kind, ac_member_key(kind, value)).
-- Read through events_type.
CREATE OR REPLACE FUNCTION ac_esc_members(p_window bigint)
RETURNS TABLE (kind "char", member bigint) LANGUAGE sql STABLE AS $$
    SELECT 'a'::"char", ac_member_key('a', e.app_id) FROM esc_windows w JOIN events e
        ON e.type = w.type AND e.id >= w.first_event_id
     WHERE w.id = p_window AND e.status = 'firing' AND e.app_id IS NOT NULL
    UNION
    SELECT 'u'::"char", ac_member_key('u', e.user_id) FROM esc_windows w JOIN events e
        ON e.type = w.type AND e.id >= w.first_event_id
     WHERE w.id = p_window AND e.status = 'firing' AND e.user_id IS NOT NULL
       AND (e.doc ->> 'gc_level') IN ('6', '7')
    UNION
    SELECT m.kind, m.member FROM esc_windows w JOIN esc_members m
        ON m.type_key = ac_type_lock_key(w.type)
     WHERE w.id = p_window
$$;

-- --- incidents (migrations/0018) ---------------------------------------------

-- Incident p_id's level rose from p_from to p_to: a first notification still
-- waiting (group_wait) is looked at again at once, at the new level; else an
-- 'escalate' intent tells it at once.
CREATE OR REPLACE FUNCTION ac_incident_raised(p_id bigint, p_from text, p_to text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE notify_intents SET check_at = NULL, level = p_to
     WHERE incident_id = p_id AND planned_at IS NULL AND reason IN ('open', 'escalate');
    IF NOT FOUND THEN
        INSERT INTO notify_intents (incident_id, reason, level, details)
        VALUES (p_id, 'escalate', p_to, jsonb_build_object('from', p_from, 'to', p_to));
    END IF;
END $$;

-- The open incident of each group key among a group's new alerts (arrays
-- in the alerts' order), found or made once per key, with the counts, level
-- and raise that ac_incident_attach applies alert by alert: the writer's
-- insert passes the ids on, and the trigger then leaves them be. Keys in
-- order (locks in one order); the writer holds the types' locks.
CREATE OR REPLACE FUNCTION ac_incidents_attach(p_types text[], p_groups text[], p_levels text[],
                                               p_status text[], p_first timestamptz[],
                                               p_teams bigint[])
RETURNS TABLE (key text, incident_id bigint) LANGUAGE plpgsql AS $$
DECLARE
    r record;
    v_id bigint;
    v_level text;
BEGIN
    FOR r IN SELECT t.type || chr(31) || t.g AS k, t.type, t.g, count(*)::int AS n,
                    (count(*) FILTER (WHERE t.s <> 'resolved'))::int AS n_open,
                    min(t.l COLLATE "C") FILTER (WHERE t.s <> 'resolved') AS open_level,
                    (array_agg(t.l ORDER BY t.ord))[1] AS first_level,
                    min(t.f) AS first_seen, (array_agg(t.team ORDER BY t.ord))[1] AS team
               FROM unnest(p_types, p_groups, p_levels, p_status, p_first, p_teams)
                    WITH ORDINALITY AS t(type, g, l, s, f, team, ord)
              GROUP BY t.type, t.g ORDER BY 1 LOOP
        SELECT i.id, i.level INTO v_id, v_level FROM incidents i
         WHERE i.group_key = r.k AND i.status <> 'resolved' FOR UPDATE;
        IF FOUND THEN
            UPDATE incidents SET alerts = alerts + r.n, open_alerts = open_alerts + r.n_open,
                   level = CASE WHEN r.n_open > 0 THEN least(level, r.open_level) ELSE level END,
                   news = news OR notified_level IS NOT NULL, updated_at = clock_timestamp()
             WHERE id = v_id;
            IF r.n_open > 0 AND r.open_level COLLATE "C" < v_level COLLATE "C" THEN
                PERFORM ac_incident_raised(v_id, v_level, r.open_level);
            END IF;
        ELSE
            INSERT INTO incidents (group_key, type, grouping, title, level, initial_level, status,
                                   alerts, open_alerts, first_seen, resolved_at, team_id)
            VALUES (r.k, r.type, r.g,
                    CASE WHEN r.g = '' THEN r.type ELSE r.type || ' (' || r.g || ')' END,
                    coalesce(r.open_level, r.first_level), coalesce(r.open_level, r.first_level),
                    CASE WHEN r.n_open > 0 THEN 'open' ELSE 'resolved' END, r.n, r.n_open,
                    r.first_seen, CASE WHEN r.n_open = 0 THEN clock_timestamp() END, r.team)
            RETURNING id INTO v_id;
        END IF;
        key := r.k;
        incident_id := v_id;
        RETURN NEXT;
    END LOOP;
END $$;

-- Before an alert is inserted: the open incident of its group key, or a new
-- one. The writer holds the type's lock, so one instance at a time decides.
CREATE OR REPLACE FUNCTION ac_incident_attach() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_key text := NEW.type || chr(31) || NEW.group_key;
    v_open integer := CASE WHEN NEW.status = 'resolved' THEN 0 ELSE 1 END;
    v_id bigint;
    v_level text;
BEGIN
    IF NEW.incident_id IS NOT NULL THEN
        RETURN NEW;
    END IF;
    SELECT id, level INTO v_id, v_level FROM incidents
     WHERE group_key = v_key AND status <> 'resolved' FOR UPDATE;
    IF FOUND THEN
        UPDATE incidents SET alerts = alerts + 1, open_alerts = open_alerts + v_open,
               level = CASE WHEN v_open = 1 THEN least(level, NEW.level) ELSE level END,
               news = news OR notified_level IS NOT NULL, updated_at = clock_timestamp()
         WHERE id = v_id;
        IF v_open = 1 AND NEW.level < v_level THEN
            PERFORM ac_incident_raised(v_id, v_level, NEW.level);
        END IF;
    ELSE
        INSERT INTO incidents (group_key, type, grouping, title, level, initial_level, status,
                               alerts, open_alerts, first_seen, resolved_at, team_id)
        VALUES (v_key, NEW.type, NEW.group_key,
                CASE WHEN NEW.group_key = '' THEN NEW.type
                     ELSE NEW.type || ' (' || NEW.group_key || ')' END,
                NEW.level, NEW.level, CASE WHEN v_open = 1 THEN 'open' ELSE 'resolved' END,
                1, v_open, NEW.first_seen, CASE WHEN v_open = 0 THEN clock_timestamp() END,
                NEW.team_id)
        RETURNING id INTO v_id;
    END IF;
    NEW.incident_id := v_id;
    RETURN NEW;
END $$;

-- After an alert's status or level changed: its incident's open count,
-- level, acknowledgement and resolve follow. An incident's own resolve
-- (ac_incident_transition) does its bookkeeping once, for all its alerts.
CREATE OR REPLACE FUNCTION ac_incident_follow() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v incidents%ROWTYPE;
    v_level text;
BEGIN
    IF current_setting('ac.incident_bulk', true) = NEW.incident_id::text THEN
        RETURN NULL;
    END IF;
    SELECT * INTO v FROM incidents WHERE id = NEW.incident_id FOR UPDATE;
    IF NOT FOUND OR v.status = 'resolved' THEN
        RETURN NULL;
    END IF;
    IF NEW.status = 'resolved' AND OLD.status <> 'resolved' THEN
        IF v.open_alerts <= 1 THEN
            UPDATE incidents SET open_alerts = 0, status = 'resolved',
                   resolved_at = clock_timestamp(), next_tier_at = NULL,
                   updated_at = clock_timestamp()
             WHERE id = v.id;
            UPDATE silences SET expired_at = clock_timestamp()
             WHERE until_resolved AND incident_id = v.id AND expired_at IS NULL;
            IF v.notified_level IS NOT NULL THEN
                INSERT INTO notify_intents (incident_id, reason, level)
                VALUES (v.id, 'resolve', v.level);
            END IF;
            RETURN NULL;
        END IF;
        v_level := v.level;
        IF OLD.level = v.level AND NOT EXISTS (
               SELECT 1 FROM alerts WHERE incident_id = v.id AND status <> 'resolved'
                  AND level = v.level AND id <> NEW.id) THEN
            SELECT min(level) INTO v_level FROM alerts
             WHERE incident_id = v.id AND status <> 'resolved' AND id <> NEW.id;
        END IF;
        UPDATE incidents SET open_alerts = open_alerts - 1, level = coalesce(v_level, level),
               updated_at = clock_timestamp()
         WHERE id = v.id;
    ELSIF NEW.status <> 'resolved' AND NEW.level < v.level THEN
        UPDATE incidents SET level = NEW.level, updated_at = clock_timestamp() WHERE id = v.id;
        PERFORM ac_incident_raised(v.id, v.level, NEW.level);
    END IF;
    -- nothing of it left firing: acknowledged (by whoever acknowledged last)
    IF OLD.status = 'firing' AND NEW.status <> 'firing' AND v.status = 'open' AND NOT EXISTS (
           SELECT 1 FROM alerts WHERE incident_id = v.id AND status = 'firing' AND id <> NEW.id) THEN
        UPDATE incidents SET status = 'acknowledged', next_tier_at = NULL,
               acked_at = coalesce(NEW.acked_at, clock_timestamp()),
               acked_by = coalesce(NEW.acked_by, 'system:resolve'), updated_at = clock_timestamp()
         WHERE id = v.id AND open_alerts > 0;
    END IF;
    RETURN NULL;
END $$;

-- Acknowledges or resolves incident p_id: all its open alerts, in this
-- transaction, audited once with the count. The type's lock is the only one
-- taken: every change of an alert of that type holds it, so nothing moves
-- meanwhile (and, one lock, no order to get wrong). result: 'ok',
-- 'not_found', or the status that made it moot ('acknowledged' for an ack,
-- 'resolved').
CREATE OR REPLACE FUNCTION ac_incident_transition(p_id bigint, p_action text, p_actor text,
                                                  p_details jsonb, OUT result text, OUT alerts bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v incidents%ROWTYPE;
BEGIN
    alerts := 0;
    SELECT * INTO v FROM incidents WHERE id = p_id;
    IF NOT FOUND THEN
        result := 'not_found';
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(ac_type_lock_key(v.type));
    SELECT * INTO v FROM incidents WHERE id = p_id FOR UPDATE;
    -- this entry says who and why: the incidents' audit trigger stays quiet
    PERFORM set_config('ac.incident_transition', p_id::text, true);
    IF v.status = 'resolved' OR (p_action = 'ack' AND v.status = 'acknowledged') THEN
        result := v.status;
        RETURN;
    END IF;
    IF p_action = 'ack' THEN
        UPDATE incidents SET status = 'acknowledged', acked_at = clock_timestamp(),
               acked_by = p_actor, next_tier_at = NULL, updated_at = clock_timestamp()
         WHERE id = p_id;
        UPDATE alerts SET status = 'acknowledged', acked_at = clock_timestamp(),
               acked_by = p_actor, updated_at = clock_timestamp()
         WHERE incident_id = p_id AND status = 'firing';
        GET DIAGNOSTICS alerts = ROW_COUNT;
    ELSIF p_action = 'resolve' THEN
        PERFORM set_config('ac.incident_bulk', p_id::text, true);
        UPDATE alerts SET status = 'resolved', resolved_at = clock_timestamp(),
               updated_at = clock_timestamp()
         WHERE incident_id = p_id AND status <> 'resolved';
        GET DIAGNOSTICS alerts = ROW_COUNT;
        PERFORM set_config('ac.incident_bulk', '', true);
        PERFORM ac_esc_alerts_closed(v.type, alerts);
        UPDATE incidents SET status = 'resolved', open_alerts = 0, resolved_at = clock_timestamp(),
               next_tier_at = NULL, updated_at = clock_timestamp()
         WHERE id = p_id;
        UPDATE silences SET expired_at = clock_timestamp()
         WHERE until_resolved AND incident_id = p_id AND expired_at IS NULL;
        IF v.notified_level IS NOT NULL THEN
            INSERT INTO notify_intents (incident_id, reason, level) VALUES (p_id, 'resolve', v.level);
        END IF;
    ELSE
        RAISE EXCEPTION 'unknown action %', p_action;
    END IF;
    INSERT INTO audit_log (actor, action, target_type, target_id, details, before, after)
    VALUES (p_actor, 'incident.' || p_action, 'incident', p_id::text,
            coalesce(p_details, '{}'::jsonb) || jsonb_build_object('alerts', alerts),
            jsonb_build_object('status', v.status),
            jsonb_build_object('status', CASE p_action WHEN 'ack' THEN 'acknowledged'
                                                       ELSE 'resolved' END));
    result := 'ok';
END $$;

-- The API form of an incident, with the counts over its alerts.
CREATE OR REPLACE FUNCTION ac_incident_json(i incidents) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', i.id::text, 'type', i.type, 'title', i.title, 'grouping', i.grouping,
        'level', i.level, 'initial_level', i.initial_level, 'level_reason', i.level_reason,
        'status', i.status, 'alerts', i.alerts, 'open_alerts', i.open_alerts,
        'events', c.events, 'apps', c.apps, 'gc_users', c.gc_users,
        'top_apps', coalesce(c.top_apps, '[]'::jsonb),
        'first_seen', ac_rfc3339(i.first_seen), 'last_seen', ac_rfc3339(c.last_seen),
        'created_at', ac_rfc3339(i.created_at), 'updated_at', ac_rfc3339(i.updated_at),
        'resolved_at', ac_rfc3339(i.resolved_at), 'acked_at', ac_rfc3339(i.acked_at),
        'acked_by', i.acked_by, 'team_id', i.team_id::text, 'tier', i.tier,
        'notified_level', i.notified_level, 'notified_at', ac_rfc3339(i.notified_at),
        'delivered_at', ac_rfc3339(i.delivered_at), 'next_tier_at', ac_rfc3339(i.next_tier_at))
      FROM (SELECT coalesce(sum(a.count), 0) AS events, count(DISTINCT a.app_id) AS apps,
                   count(DISTINCT a.user_id) FILTER (WHERE a.gc_level >= 6) AS gc_users,
                   max(a.last_seen) AS last_seen,
                   (SELECT jsonb_agg(t.app_id ORDER BY t.n DESC, t.app_id) FROM (
                        SELECT b.app_id, count(*) AS n FROM alerts b
                         WHERE b.incident_id = i.id AND b.app_id IS NOT NULL
                         GROUP BY b.app_id ORDER BY n DESC, b.app_id LIMIT 5) t) AS top_apps
              FROM alerts a WHERE a.incident_id = i.id) c
$$;

-- Acknowledges the firing alerts among p_ids (POST /v1/alerts/ack): the
-- fingerprint and type locks of all of them, taken at once in sorted order
-- (as the writer takes a group's), then one update; audited once with the
-- count and the ids. Returns the ids acknowledged.
CREATE OR REPLACE FUNCTION ac_alerts_ack(p_ids bigint[], p_actor text, p_details jsonb)
RETURNS bigint[] LANGUAGE plpgsql AS $$
DECLARE
    v_done bigint[];
BEGIN
    PERFORM pg_advisory_xact_lock(k)
       FROM (SELECT DISTINCT k FROM alerts a,
                    unnest(ARRAY[ac_fp_lock_key(a.fingerprint), ac_type_lock_key(a.type)]) AS k
              WHERE a.id = ANY(p_ids) AND a.status = 'firing' ORDER BY 1) s;
    WITH u AS (UPDATE alerts SET status = 'acknowledged', acked_at = clock_timestamp(),
                      acked_by = p_actor, updated_at = clock_timestamp()
                WHERE id = ANY(p_ids) AND status = 'firing' RETURNING id)
    SELECT coalesce(array_agg(id ORDER BY id), '{}') INTO v_done FROM u;
    IF cardinality(v_done) > 0 THEN
        INSERT INTO audit_log (actor, action, target_type, target_id, details, before, after)
        VALUES (p_actor, 'alerts.ack', 'alerts', 'bulk',
                coalesce(p_details, '{}'::jsonb)
                || jsonb_build_object('alerts', cardinality(v_done), 'ids', to_jsonb(v_done)),
                jsonb_build_object('status', 'firing'),
                jsonb_build_object('status', 'acknowledged'));
    END IF;
    RETURN v_done;
END $$;

CREATE OR REPLACE FUNCTION ac_inhibit_rule_json(r inhibit_rules) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', r.id::text, 'name', r.name, 'source_matchers', r.source_matchers,
        'target_matchers', r.target_matchers, 'equal', to_jsonb(r.equal), 'comment', r.comment,
        'created_by', r.created_by, 'created_at', ac_rfc3339(r.created_at),
        'updated_at', ac_rfc3339(r.updated_at))
$$;

-- Database tokens (0025): their API form (never the digest), creation and
-- revocation, each audited in the same statement. The CLI and the API both
-- call these.
CREATE OR REPLACE FUNCTION ac_token_json(t api_tokens) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', t.id::text, 'name', t.name, 'scopes', to_jsonb(t.scopes), 'tenant', t.tenant,
        'rate_per_s', t.rate_per_s, 'burst', t.burst, 'expires_at', ac_rfc3339(t.expires_at),
        'created_by', t.created_by, 'created_at', ac_rfc3339(t.created_at),
        'revoked_at', ac_rfc3339(t.revoked_at), 'revoked_by', t.revoked_by,
        'last_used_at', ac_rfc3339(t.last_used_at),
        'state', CASE WHEN t.revoked_at IS NOT NULL THEN 'revoked'
                      WHEN t.expires_at <= now() THEN 'expired' ELSE 'active' END)
$$;

CREATE OR REPLACE FUNCTION ac_token_create(p_name text, p_sha256 bytea, p_scopes text[],
        p_tenant text, p_expires timestamptz, p_rate double precision, p_burst double precision,
        p_actor text) RETURNS jsonb LANGUAGE sql AS $$
    WITH t AS (INSERT INTO api_tokens (name, token_sha256, scopes, tenant, expires_at, rate_per_s,
                                       burst, created_by)
               VALUES (p_name, p_sha256, p_scopes, p_tenant, p_expires, p_rate, p_burst, p_actor)
               RETURNING *),
         a AS (INSERT INTO audit_log (actor, action, target_type, target_id, details)
               SELECT p_actor, 'token.create', 'token', t.id::text, ac_token_json(t) FROM t)
    SELECT ac_token_json(t) FROM t
$$;

-- p_key: the id, or the name. NULL when no such token; a revoked one is
-- answered as it is (revoking twice changes nothing and audits nothing).
CREATE OR REPLACE FUNCTION ac_token_revoke(p_key text, p_actor text) RETURNS jsonb
        LANGUAGE sql AS $$
    WITH k AS (SELECT id FROM api_tokens
               WHERE name = p_key
                  OR id = CASE WHEN p_key ~ '^[0-9]{1,18}$' THEN p_key::bigint END
               ORDER BY (name = p_key) DESC LIMIT 1),
         t AS (UPDATE api_tokens w SET revoked_at = now(), revoked_by = p_actor FROM k
               WHERE w.id = k.id AND w.revoked_at IS NULL RETURNING w.*),
         a AS (INSERT INTO audit_log (actor, action, target_type, target_id, details, before)
               SELECT p_actor, 'token.revoke', 'token', t.id::text, ac_token_json(t),
                      (SELECT ac_token_json(o) FROM api_tokens o WHERE o.id = t.id) FROM t)
    SELECT coalesce((SELECT ac_token_json(t) FROM t),
                    (SELECT ac_token_json(w) FROM api_tokens w JOIN k ON w.id = k.id))
$$;

-- --- history (0026) ---------------------------------------------------------

-- Audit entries for what the notifier decides on its own (0026), with the
-- state before and after.
CREATE OR REPLACE FUNCTION ac_audit_inhibition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO audit_log (actor, action, target_type, target_id, details, before, after)
        VALUES ('system:notifier', 'alert.uninhibit', 'alert', OLD.alert_id::text,
                jsonb_build_object('source_alert_id', OLD.source_alert_id::text,
                                   'rule_id', OLD.rule_id::text),
                jsonb_build_object('inhibited_by', jsonb_build_object(
                    'alert_id', OLD.source_alert_id::text, 'rule_id', OLD.rule_id::text)),
                jsonb_build_object('inhibited_by', NULL));
        RETURN NULL;
    END IF;
    INSERT INTO audit_log (actor, action, target_type, target_id, details, before, after)
    VALUES ('system:notifier', 'alert.inhibit', 'alert', NEW.alert_id::text,
            jsonb_build_object('source_alert_id', NEW.source_alert_id::text,
                               'rule_id', NEW.rule_id::text),
            jsonb_build_object('inhibited_by', CASE WHEN TG_OP = 'UPDATE' THEN jsonb_build_object(
                'alert_id', OLD.source_alert_id::text, 'rule_id', OLD.rule_id::text) END),
            jsonb_build_object('inhibited_by', jsonb_build_object(
                'alert_id', NEW.source_alert_id::text, 'rule_id', NEW.rule_id::text)));
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION ac_audit_intent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.dropped IS NOT NULL AND OLD.dropped IS NULL THEN
        INSERT INTO audit_log (actor, action, target_type, target_id, details, before, after)
        VALUES ('system:notifier', 'incident.notify_dropped', 'incident', NEW.incident_id::text,
                jsonb_build_object('intent_id', NEW.id::text, 'reason', NEW.reason,
                                   'level', NEW.level, 'why', NEW.dropped),
                jsonb_build_object('planned', OLD.planned_at IS NOT NULL),
                jsonb_build_object('planned', true, 'dropped', NEW.dropped));
    ELSIF NEW.held_by IS NOT NULL AND OLD.held_by IS DISTINCT FROM NEW.held_by THEN
        INSERT INTO audit_log (actor, action, target_type, target_id, details, before, after)
        VALUES ('system:notifier', 'incident.silenced', 'incident', NEW.incident_id::text,
                jsonb_build_object('intent_id', NEW.id::text, 'reason', NEW.reason,
                                   'level', NEW.level, 'silence_id', NEW.held_by::text),
                jsonb_build_object('held_by', OLD.held_by::text),
                jsonb_build_object('held_by', NEW.held_by::text));
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION ac_audit_notification() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_log (actor, action, target_type, target_id, details, before, after)
    VALUES ('system:notifier', 'notification.' || NEW.status, 'notification', NEW.id::text,
            jsonb_build_object('incident_id', NEW.incident_id::text,
                               'alert_id', NEW.alert_id::text, 'channel', NEW.channel,
                               'contact_id', NEW.contact_id::text, 'level', NEW.level,
                               'reason', NEW.reason, 'attempts', NEW.attempts,
                               'last_status', NEW.last_status, 'last_error', NEW.last_error,
                               'idempotency_key', NEW.idem_key),
            jsonb_build_object('status', OLD.status, 'attempts', OLD.attempts),
            jsonb_build_object('status', NEW.status, 'attempts', NEW.attempts,
                               'sent_at', ac_rfc3339(NEW.sent_at)));
    RETURN NULL;
END $$;

-- An address as shown in a history: with p_mask, a phone number keeps its
-- first three and last four characters, an email its first letter and its
-- domain, anything else its last two.
CREATE OR REPLACE FUNCTION ac_mask_address(p_addr text, p_mask boolean)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN p_addr IS NULL OR NOT p_mask THEN p_addr
        WHEN strpos(p_addr, '@') > 1 THEN
            left(p_addr, 1) || repeat('*', greatest(strpos(p_addr, '@') - 2, 1))
            || substr(p_addr, strpos(p_addr, '@'))
        WHEN length(p_addr) >= 8 THEN left(p_addr, 3) || repeat('*', length(p_addr) - 7)
                                      || right(p_addr, 4)
        ELSE repeat('*', greatest(length(p_addr) - 2, 1)) || right(p_addr, 2)
    END
$$;

-- The width of the buckets a history counts in over a span: at most about
-- 120 of them.
CREATE OR REPLACE FUNCTION ac_bucket_width(p_span interval) RETURNS interval
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_span <= interval '2 hours' THEN interval '1 minute'
                WHEN p_span <= interval '20 hours' THEN interval '10 minutes'
                WHEN p_span <= interval '5 days' THEN interval '1 hour'
                ELSE interval '1 day' END
$$;

-- One notification as a history item: channel, recipient (name and
-- address, masked with p_mask), tier, attempts, final status, delivered time.
CREATE OR REPLACE FUNCTION ac_notification_item(n notifications, p_mask boolean)
RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'at', ac_rfc3339(n.created_at), 'action', 'notification', 'id', n.id::text,
        'incident_id', n.incident_id::text, 'channel', n.channel, 'kind', n.kind,
        'reason', n.reason, 'level', n.level, 'tier', (n.context ->> 'tier')::int,
        'recipient', CASE WHEN n.context -> 'contact' IS NULL THEN NULL ELSE jsonb_build_object(
            'contact_id', n.contact_id::text, 'name', n.context -> 'contact' ->> 'name',
            'address', ac_mask_address(n.context -> 'contact' ->> (
                CASE n.kind WHEN 'email' THEN 'email' ELSE 'phone' END), p_mask)) END,
        'status', n.status, 'attempts', n.attempts, 'last_status', n.last_status,
        'last_error', n.last_error, 'delivered_at', ac_rfc3339(n.sent_at))
$$;

-- What happened to incident p_id between p_from and p_to: each
-- notification, each move to a further tier, and the audit entries about
-- it (acks, resolves, actions, silences holding it, messages dropped).
CREATE OR REPLACE FUNCTION ac_incident_items(p_id bigint, p_from timestamptz, p_to timestamptz,
                                             p_mask boolean)
RETURNS TABLE (at timestamptz, ord int, seq bigint, item jsonb) LANGUAGE sql STABLE AS $$
    SELECT n.created_at, 3, n.id, ac_notification_item(n, p_mask)
      FROM notifications n
     WHERE n.incident_id = p_id AND n.created_at >= p_from AND n.created_at <= p_to
    UNION ALL
    SELECT t.created_at, 2, t.id, jsonb_build_object(
               'at', ac_rfc3339(t.created_at), 'action', 'incident.tier', 'incident_id',
               p_id::text, 'tier', t.tier, 'level', t.level,
               'why', 'not acknowledged within its level''s MTTA target')
      FROM notify_intents t
     WHERE t.incident_id = p_id AND t.reason = 'timeout' AND t.created_at >= p_from
       AND t.created_at <= p_to
    UNION ALL
    SELECT l.at, 4, l.id, jsonb_build_object(
               'at', ac_rfc3339(l.at), 'action', l.action, 'actor', l.actor,
               'incident_id', p_id::text, 'details', l.details)
      FROM audit_log l
     WHERE l.target_type = 'incident' AND l.target_id = p_id::text AND l.at >= p_from
       AND l.at <= p_to AND l.action <> 'incident.opened'
$$;

-- An alert's timeline, oldest first: opened (the first event, with the
-- writer's audit entry), the events it took in counted per interval, its
-- audit entries (level changes with their reasons, inhibitions, acks,
-- resolves), what happened to its incident while the alert was in it
-- (notifications, tier moves, silences, actions), and its resolve when no
-- entry tells it (an incident resolved as a whole, an expiry).
CREATE OR REPLACE FUNCTION ac_alert_timeline(a alerts, p_mask boolean)
RETURNS jsonb LANGUAGE sql STABLE AS $$
    WITH w AS (SELECT ac_bucket_width(a.last_seen - a.first_seen) AS width)
    SELECT coalesce(jsonb_agg(t.item ORDER BY t.at, t.ord, t.seq), '[]'::jsonb) FROM (
        SELECT a.first_seen AS at, 0 AS ord, 0::bigint AS seq, jsonb_build_object(
                   'at', ac_rfc3339(a.first_seen), 'action', 'alert.open',
                   'level', a.initial_level, 'title', a.title, 'actor', o.actor,
                   'event_id', coalesce(o.details ->> 'event_id',
                                        (SELECT e.id::text FROM events e WHERE e.alert_id = a.id
                                          ORDER BY e.id LIMIT 1)),
                   'details', o.details) AS item
          FROM (SELECT NULL) z
          LEFT JOIN LATERAL (SELECT l.actor, l.details FROM audit_log l
                              WHERE l.target_type = 'alert' AND l.target_id = a.id::text
                                AND l.action = 'alert.open' ORDER BY l.id LIMIT 1) o ON true
        UNION ALL
        SELECT greatest(min(f.at), a.first_seen), 1, 0, jsonb_build_object(
                   'at', ac_rfc3339(greatest(min(f.at), a.first_seen)), 'action', 'alert.events',
                   'until', ac_rfc3339(max(f.at) + interval '1 minute'),
                   'interval', (SELECT extract(epoch FROM width)::int FROM w),
                   'count', sum(f.count))
          FROM alert_folds f WHERE f.alert_id = a.id
         GROUP BY date_bin((SELECT width FROM w), f.at, timestamptz '2000-01-01 00:00:00+00')
        UNION ALL
        SELECT l.at, 2, l.id, jsonb_build_object(
                   'at', ac_rfc3339(l.at), 'action', l.action, 'actor', l.actor,
                   'details', l.details)
          FROM audit_log l WHERE l.target_type = 'alert' AND l.target_id = a.id::text
           AND l.action <> 'alert.open'
        UNION ALL
        SELECT x.at, x.ord, x.seq, x.item
          FROM ac_incident_items(a.incident_id, a.created_at,
                                 -- (what a resolve sets off is written in its
                                 -- transaction, a moment after the time it records)
                                 CASE WHEN a.resolved_at IS NULL THEN 'infinity'
                                      ELSE greatest(a.resolved_at,
                                                    (SELECT i.resolved_at FROM incidents i
                                                      WHERE i.id = a.incident_id))
                                           + interval '1 second' END,
                                 p_mask) x
         WHERE a.incident_id IS NOT NULL
        UNION ALL
        SELECT a.resolved_at, 9, 0, jsonb_build_object(
                   'at', ac_rfc3339(a.resolved_at), 'action', 'alert.resolved')
         WHERE a.resolved_at IS NOT NULL AND NOT EXISTS (
               SELECT 1 FROM audit_log l WHERE l.target_type = 'alert'
                  AND l.target_id = a.id::text AND l.action = 'alert.resolve')) t
$$;

-- An incident's timeline, oldest first: opened, its alerts joining (counted
-- per interval), each level first reached (and why, with how many alerts),
-- every notification, tier move, silence, ack and action, and its resolve.
CREATE OR REPLACE FUNCTION ac_incident_timeline(i incidents, p_mask boolean)
RETURNS jsonb LANGUAGE sql STABLE AS $$
    WITH w AS (SELECT ac_bucket_width(coalesce(i.resolved_at, now()) - i.first_seen) AS width)
    SELECT coalesce(jsonb_agg(t.item ORDER BY t.at, t.ord, t.seq), '[]'::jsonb) FROM (
        SELECT i.created_at AS at, 0 AS ord, 0::bigint AS seq, jsonb_build_object(
                   'at', ac_rfc3339(i.created_at), 'action', 'incident.open',
                   'level', i.initial_level, 'title', i.title) AS item
        UNION ALL
        SELECT min(a.created_at), 1, min(a.id), jsonb_build_object(
                   'at', ac_rfc3339(min(a.created_at)), 'action', 'incident.alerts',
                   'until', ac_rfc3339(max(a.created_at)),
                   'interval', (SELECT extract(epoch FROM width)::int FROM w),
                   'alerts', count(*), 'apps', count(DISTINCT a.app_id),
                   'first_alert_id', min(a.id)::text)
          FROM alerts a WHERE a.incident_id = i.id
         GROUP BY date_bin((SELECT width FROM w), a.created_at,
                           timestamptz '2000-01-01 00:00:00+00')
        UNION ALL
        SELECT min(e.created_at), 1, 0, jsonb_build_object(
                   'at', ac_rfc3339(min(e.created_at)), 'action', 'incident.escalate',
                   'from', max(e.from_level), 'to', e.to_level, 'reason', min(e.reason),
                   'alerts', count(*))
          FROM escalations e JOIN alerts a ON a.id = e.alert_id
         WHERE a.incident_id = i.id GROUP BY e.to_level
        UNION ALL
        SELECT x.at, x.ord, x.seq, x.item
          FROM ac_incident_items(i.id, '-infinity', 'infinity', p_mask) x
        UNION ALL
        SELECT i.resolved_at, 9, 0, jsonb_build_object(
                   'at', ac_rfc3339(i.resolved_at), 'action', 'incident.resolved')
         WHERE i.resolved_at IS NOT NULL AND NOT EXISTS (
               SELECT 1 FROM audit_log l WHERE l.target_type = 'incident'
                  AND l.target_id = i.id::text
                  AND l.action IN ('incident.resolved', 'incident.resolve'))) t
$$;

-- --- the audit log (0027) ----------------------------------------------------

-- Partitions of p_table by p_unit (day, month) covering [p_from, p_to).
CREATE OR REPLACE FUNCTION ac_partitions_ensure(p_table text, p_unit text, p_from timestamptz,
                                     p_to timestamptz) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    t timestamptz := date_trunc(p_unit, p_from);
    name text;
    made integer := 0;
BEGIN
    WHILE t < p_to LOOP
        name := p_table || '_' || to_char(t AT TIME ZONE 'UTC',
                                           CASE p_unit WHEN 'month' THEN 'YYYY"m"MM'
                                                       ELSE 'YYYY"m"MM"d"DD' END);
        IF to_regclass(name) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                           name, p_table, t, t + ('1 ' || p_unit)::interval);
            IF p_table IN ('audit_log', 'audit_chain')
               AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'alertcenter_app') THEN
                EXECUTE format('REVOKE ALL ON %I FROM alertcenter_app', name);
            END IF;
            made := made + 1;
        END IF;
        t := t + ('1 ' || p_unit)::interval;
    END LOOP;
    RETURN made;
END $$;

-- The text an audit entry's hash is computed over (with the previous hash).
-- json_build_array writes the same text jsonb_build_array(...)::text did
-- when the chain began (its jsonb values in their own output form, ", "
-- between elements; compared over 1.26 million entries) without building a
-- jsonb value first: chains made before verify unchanged.
CREATE OR REPLACE FUNCTION ac_audit_canonical(p_seq bigint, l audit_log) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT json_build_array(p_seq, l.id::text, ac_rfc3339(l.at), l.actor, l.action,
                            l.target_type, l.target_id, l.details, l.before, l.after)::text
$$;

-- This transaction's audit entries, noted after each statement that adds
-- some (ac.audit_pending: ids, comma-ended), for ac_audit_chain.
CREATE OR REPLACE FUNCTION ac_audit_pending() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('ac.audit_pending',
                       coalesce(current_setting('ac.audit_pending', true), '') ||
                       coalesce((SELECT string_agg(n.id::text, ',') || ',' FROM n), ''), true);
    RETURN NULL;
END $$;

-- The chain links of a transaction's entries, at COMMIT: the first of its
-- deferred calls (one per entry) links every entry the transaction noted,
-- in id order, under the chain's lock, in one insert; the others find
-- nothing left to do. An entry is linked once (one already in the chain is
-- skipped), and one left unnoted is reported by `alertcenter audit verify`.
-- The trigger is a plain function and calls the linking one, which runs as
-- the chain's owner, only when there is something to link: a SECURITY
-- DEFINER call (its search_path set and reset) for each entry cost ~3 µs.
CREATE OR REPLACE FUNCTION ac_audit_link() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_ids bigint[];
    v_seq bigint;
    v_prev bytea;
    v_hash bytea;
    v_seqs bigint[] := '{}';
    v_entries bigint[] := '{}';
    v_ats timestamptz[] := '{}';
    v_prevs bytea[] := '{}';
    v_hashes bytea[] := '{}';
    l audit_log;
BEGIN
    IF coalesce(current_setting('ac.audit_pending', true), '') = '' THEN
        RETURN;
    END IF;
    v_ids := string_to_array(rtrim(current_setting('ac.audit_pending'), ','), ',')::bigint[];
    PERFORM set_config('ac.audit_pending', '', true);
    PERFORM pg_advisory_xact_lock(16707, 6);
    SELECT c.seq, c.hash INTO v_seq, v_prev FROM audit_chain c ORDER BY c.seq DESC LIMIT 1;
    IF NOT FOUND THEN
        v_seq := 0;
        v_prev := decode(repeat('00', 32), 'hex');
    END IF;
    FOR l IN SELECT a.* FROM audit_log a WHERE a.id = ANY (v_ids)
               AND NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.entry_id = a.id)
             ORDER BY a.id LOOP
        v_seq := v_seq + 1;
        v_hash := sha256(convert_to(ac_audit_canonical(v_seq, l), 'UTF8') || v_prev);
        v_seqs := v_seqs || v_seq;
        v_entries := v_entries || l.id;
        v_ats := v_ats || l.at;
        v_prevs := v_prevs || v_prev;
        v_hashes := v_hashes || v_hash;
        v_prev := v_hash;
    END LOOP;
    INSERT INTO audit_chain (seq, entry_id, entry_at, prev_hash, hash)
    SELECT * FROM unnest(v_seqs, v_entries, v_ats, v_prevs, v_hashes);
END $$;

CREATE OR REPLACE FUNCTION ac_audit_chain() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('ac.audit_pending', true), '') <> '' THEN
        PERFORM ac_audit_link();
    END IF;
    RETURN NULL;
END $$;

-- Fills `before` of a deletion and `after` of a creation or change from
-- the writer's details (the object as deleted, as written); writers of a
-- change name `before` themselves (the row as the statement found it).
CREATE OR REPLACE FUNCTION ac_audit_fill() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    verb text := substr(NEW.action, strpos(NEW.action, '.') + 1);
BEGIN
    IF NEW.before IS NULL AND verb = 'delete' THEN
        NEW.before := NEW.details;
    END IF;
    IF NEW.after IS NULL AND verb IN ('create', 'update', 'upsert', 'revoke', 'expire') THEN
        NEW.after := NEW.details;
    END IF;
    RETURN NEW;
END $$;

-- --- retention (0028) -------------------------------------------------------

-- The upper bound of a partition (from its bound expression).
CREATE OR REPLACE FUNCTION ac_partition_upper(p regclass) RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \(''([^'']+)''\)')::timestamptz
      FROM pg_class c WHERE c.oid = p
$$;

-- Partitions made ahead: events a week of days, the audit log and its chain
-- three months. Returns how many were made.
CREATE OR REPLACE FUNCTION ac_partitions_ahead() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    RETURN ac_partitions_ensure('events', 'day', now(),
                                now() + interval '7 days')
         + ac_partitions_ensure('audit_log', 'month', now(), now() + interval '3 months')
         + ac_partitions_ensure('audit_chain', 'month', now(), now() + interval '3 months');
END $$;

-- Partitions ahead, then expiry: events partitions wholly older than
-- p_events_days, audit partitions (with their chain) wholly older than
-- p_history_days (the last dropped link becomes the anchor), and up to
-- p_batch resolved alerts and incidents resolved more than p_history_days
-- ago with what hangs on them. Returns what it did.
CREATE OR REPLACE FUNCTION ac_retention_run(p_events_days integer, p_history_days integer, p_batch integer)
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
    v_old bigint[];
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
    -- the resolved incidents left without alerts, chosen once for the three deletes
    SELECT coalesce(array_agg(id), '{}') INTO v_old FROM (
        SELECT id FROM incidents
         WHERE status = 'resolved' AND resolved_at < cut_history
           AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.incident_id = incidents.id)
         ORDER BY id LIMIT p_batch) o;
    DELETE FROM notifications WHERE incident_id = ANY(v_old);
    DELETE FROM notify_intents WHERE incident_id = ANY(v_old);
    DELETE FROM incidents WHERE id = ANY(v_old);
    v_incidents := cardinality(v_old);
    RETURN jsonb_build_object('partitions_made', made, 'dropped', to_jsonb(dropped),
                              'alerts_deleted', v_alerts, 'incidents_deleted', v_incidents);
END $$;

-- --- the event center (0029) ------------------------------------------------

-- The API form of a subscription, with its current cycle.
CREATE OR REPLACE FUNCTION ac_subscription_json(s subscriptions) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', s.id::text, 'tenant_id', s.tenant_id, 'name', s.name,
        'categories', to_jsonb(s.categories),
        'scope', jsonb_build_object('apps', to_jsonb(s.apps), 'namespaces', to_jsonb(s.namespaces),
                                    'regions', to_jsonb(s.regions)),
        'cycle_s', s.cycle_s, 'threshold', s.threshold,
        'contacts', (SELECT coalesce(jsonb_agg(c::text ORDER BY c), '[]') FROM unnest(s.contact_ids) c),
        'channels', to_jsonb(s.channels), 'enabled', s.enabled, 'created_by', s.created_by,
        'created_at', ac_rfc3339(s.created_at), 'updated_at', ac_rfc3339(s.updated_at),
        'current_cycle', (SELECT jsonb_build_object('start', ac_rfc3339(w.cycle_start), 'events',
                                 w.events, 'triggered_at', ac_rfc3339(w.triggered_at))
                            FROM sub_windows w WHERE w.subscription_id = s.id
                           ORDER BY w.cycle_start DESC LIMIT 1))
$$;

-- A tenant's primary contact gets its system events (0030).
CREATE OR REPLACE FUNCTION ac_tenant_system_sub() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_contact bigint;
BEGIN
    IF NEW.primary_contact IS NOT NULL THEN
        SELECT c.id INTO v_contact FROM contacts c
         WHERE c.name = NEW.primary_contact
            OR c.id::text = NEW.primary_contact
         ORDER BY (c.id::text = NEW.primary_contact) DESC LIMIT 1;
    END IF;
    IF v_contact IS NULL THEN
        DELETE FROM subscriptions
         WHERE tenant_id = NEW.user_id AND name = 'system events' AND created_by = 'system:tenants';
        RETURN NULL;
    END IF;
    INSERT INTO subscriptions (tenant_id, name, categories, cycle_s, threshold, contact_ids,
                               created_by)
    VALUES (NEW.user_id, 'system events', '{system}', 300, 1, ARRAY[v_contact], 'system:tenants')
    ON CONFLICT (tenant_id, name) DO UPDATE SET contact_ids = excluded.contact_ids,
        updated_at = now()
     WHERE subscriptions.created_by = 'system:tenants';
    RETURN NULL;
END $$;

-- The state changes of incidents no person made (0031).
CREATE OR REPLACE FUNCTION ac_audit_incident() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO audit_log (actor, action, target_type, target_id, details, after)
        VALUES ('system:pipeline', 'incident.opened', 'incident', NEW.id::text,
                jsonb_build_object('type', NEW.type, 'title', NEW.title),
                jsonb_build_object('status', NEW.status, 'level', NEW.level));
    ELSIF current_setting('ac.incident_transition', true) IS DISTINCT FROM NEW.id::text THEN
        INSERT INTO audit_log (actor, action, target_type, target_id, details, before, after)
        VALUES (CASE WHEN NEW.status = 'acknowledged'
                     THEN coalesce(NEW.acked_by, 'system:pipeline') ELSE 'system:pipeline' END,
                'incident.' || CASE NEW.status WHEN 'open' THEN 'reopened' ELSE NEW.status END,
                'incident', NEW.id::text,
                jsonb_build_object('why', CASE NEW.status
                    WHEN 'resolved' THEN 'all its alerts are resolved'
                    WHEN 'acknowledged' THEN 'none of its alerts is left firing'
                    ELSE 'one of its alerts fires again' END),
                jsonb_build_object('status', OLD.status), jsonb_build_object('status', NEW.status));
    END IF;
    RETURN NULL;
END $$;
