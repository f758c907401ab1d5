-- SPDX-License-Identifier: Apache-2.0
-- 0008: impact escalation windows (DESIGN §5).
--
-- A window per alert type opens with the first firing event of the type and
-- closes, when no alert of the type is open any more, into a record kept for
-- history. While it is open the writer counts, exactly, its events, its open
-- alerts, and its distinct apps and GC6/GC7 users (members below, added only
-- if absent, under the type's lock, so a repeat counts once on any instance),
-- in one upsert per group; the group's net change of open alerts decides the
-- close, so a resolve and a successor in one group (a compression rollover)
-- keep the window open. Operators and the sweeper resolve through
-- ac_alert_transition, which counts down and closes the same way.
--
-- Locking: every change to a type's window or members, or to the level or
-- status of its open alerts, holds the type's advisory lock
-- (ac_type_lock_key), taken in sorted order together with fingerprint locks.
-- Ingest, operators, the sweeper and the escalation timer's decisions
-- therefore serialize per type on every instance, and never deadlock. (The
-- timer's move of counted events into esc_buckets takes row locks only, and
-- skips rows in use.)

CREATE FUNCTION ac_type_lock_key(t text) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT ('x' || substr(encode(sha256(convert_to('type:' || t, 'UTF8')), 'hex'), 1, 16))::bit(64)::bigint
$$;

CREATE TABLE esc_windows (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    type          text COLLATE "C" NOT NULL,
    trace         text NOT NULL CHECK (trace IN ('control', 'data', 'runtime')),
    opened_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    closed_at     timestamptz,
    open_alerts   integer NOT NULL DEFAULT 0,
    apps          integer NOT NULL DEFAULT 0,
    gc_users      integer NOT NULL DEFAULT 0,
    events        bigint NOT NULL DEFAULT 0,
    -- of events, how many are in esc_buckets (the timer moves the rest there
    -- each tick, attributed to the minute it does so)
    flushed_events bigint NOT NULL DEFAULT 0,
    -- the level the policy has raised the type to; P4 = not raised
    level         text COLLATE "C" NOT NULL DEFAULT 'P4' CHECK (level IN ('P1', 'P2', 'P3', 'P4')),
    -- per tier of the policy, when its condition began to hold (µs since the
    -- epoch; 0 = not holding)
    holding_since bigint[] NOT NULL DEFAULT '{}',
    -- kept when the window closes
    increment_pct bigint,
    -- + 1 with every update (updates of a row are serialized by its lock), so
    -- mirrors (Redis) keep only the newest state of a window
    rev           bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX esc_windows_open ON esc_windows (type) WHERE closed_at IS NULL;
CREATE INDEX esc_windows_history ON esc_windows (type, id) WHERE closed_at IS NOT NULL;

-- The distinct apps ('a') and GC6/GC7 users ('u') of the open window of each
-- type, as 64-bit keys (two values share a key with odds of about 1 in 10^7
-- at a million members of one type); deleted when the window closes (the
-- record keeps the counts).
CREATE FUNCTION ac_member_key(kind text, value text) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT ('x' || substr(encode(sha256(convert_to(kind || ':' || value, 'UTF8')), 'hex'), 1, 16))::bit(64)::bigint
$$;
CREATE TABLE esc_members (
    type_key bigint NOT NULL, -- ac_type_lock_key(type)
    member   bigint NOT NULL, -- ac_member_key(kind, value)
    kind     "char" NOT NULL CHECK (kind IN ('a', 'u')),
    PRIMARY KEY (type_key, member)
);

-- Firing events per type and minute: the increment versus the previous period.
-- Written by the escalation timer each tick (and at a window's close) from the
-- windows' exact counts, not by every ingest transaction.
CREATE TABLE esc_buckets (
    type   text COLLATE "C" NOT NULL,
    minute timestamptz NOT NULL,
    events bigint NOT NULL,
    PRIMARY KEY (type, minute)
);

-- Events in the last k whole minutes up to p_at (k = the window's age rounded
-- up, at least 1) against the k minutes before. The previous period counts as
-- at least one event, so a type that was silent shows +(events-1)*100 %, not
-- an infinity. p_extra: events not yet in the buckets (a window's events -
-- flushed_events), counted in the current minute.
CREATE FUNCTION ac_esc_increment(p_type text, p_since timestamptz, p_at timestamptz,
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
-- the timer never waits for ingest nor ingest for it.
CREATE FUNCTION ac_esc_flush() RETURNS bigint LANGUAGE sql AS $$
    WITH o AS (SELECT id, flushed_events FROM esc_windows WHERE closed_at IS NULL
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
CREATE FUNCTION ac_esc_forget_members() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM esc_members WHERE type_key = ac_type_lock_key(NEW.type);
    RETURN NULL;
END $$;
CREATE TRIGGER esc_windows_closed AFTER INSERT OR UPDATE OF closed_at ON esc_windows
    FOR EACH ROW WHEN (NEW.closed_at IS NOT NULL) EXECUTE FUNCTION ac_esc_forget_members();

-- The hand-off to notification: one row per alert raised by a policy.
CREATE TABLE escalations (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id     bigint NOT NULL,
    window_id    bigint NOT NULL,
    from_level   text COLLATE "C" NOT NULL,
    to_level     text COLLATE "C" NOT NULL,
    reason       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    handed_off_at timestamptz
);
CREATE INDEX escalations_pending ON escalations (id) WHERE handed_off_at IS NULL;
CREATE INDEX escalations_alert ON escalations (alert_id, id);

-- Raises every open alert of a window's type that is less severe than p_to,
-- with an audit entry (its timeline) and a hand-off row each. The caller holds
-- the type's lock. Returns how many alerts were raised.
CREATE FUNCTION ac_esc_raise(p_window bigint, p_to text, p_reason text, p_figures jsonb)
RETURNS bigint LANGUAGE sql AS $$
    WITH o AS (SELECT a.id, a.level FROM alerts a JOIN esc_windows w ON w.id = p_window
                WHERE a.type = w.type AND a.status <> 'resolved' AND a.level > p_to
                FOR UPDATE OF a),
    r AS (UPDATE alerts a SET level = p_to, updated_at = clock_timestamp() FROM o
           WHERE a.id = o.id RETURNING a.id, o.level AS old),
    au AS (INSERT INTO audit_log (actor, action, target_type, target_id, details)
           SELECT 'system:escalation', 'alert.escalate', 'alert', r.id::text,
                  jsonb_build_object('from', r.old, 'to', p_to, 'reason', p_reason,
                                     'window_id', p_window::text, 'figures', p_figures)
             FROM r),
    h AS (INSERT INTO escalations (alert_id, window_id, from_level, to_level, reason)
          SELECT r.id, p_window, r.old, p_to, p_reason FROM r)
    SELECT count(*) FROM r
$$;

-- Windows for the alerts already open when this migration runs. Their members
-- and events are taken from the stored events of those alerts.
INSERT INTO esc_windows (type, trace, opened_at, events, open_alerts)
SELECT a.type, min(a.trace), min(a.first_seen), sum(a.count), count(*)
  FROM alerts a WHERE a.status <> 'resolved' GROUP BY a.type;
INSERT INTO esc_members (type_key, member, kind)
SELECT DISTINCT ac_type_lock_key(a.type), ac_member_key('a', a.app_id), 'a'::"char" FROM alerts a
 WHERE a.status <> 'resolved' AND a.app_id IS NOT NULL;
INSERT INTO esc_members (type_key, member, kind)
SELECT DISTINCT ac_type_lock_key(a.type), ac_member_key('u', e.user_id), 'u'::"char" FROM alerts a
  JOIN events e ON e.alert_id = a.id
 WHERE a.status <> 'resolved' AND e.user_id IS NOT NULL
   AND (e.doc ->> 'gc_level') IN ('6', '7')
ON CONFLICT DO NOTHING;
UPDATE esc_windows w SET
    apps = (SELECT count(*) FROM esc_members m WHERE m.type_key = ac_type_lock_key(w.type) AND m.kind = 'a'),
    gc_users = (SELECT count(*) FROM esc_members m WHERE m.type_key = ac_type_lock_key(w.type) AND m.kind = 'u')
 WHERE w.closed_at IS NULL;

-- Transitions take the type's lock with the fingerprint's, in sorted order.
CREATE OR REPLACE FUNCTION ac_alert_transition(p_id bigint, p_action text, p_actor text,
                                               p_details jsonb, p_idle_before timestamptz DEFAULT NULL)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_fp text;
    v_type text;
    v_status text;
    v_last timestamptz;
BEGIN
    SELECT fingerprint, type INTO v_fp, v_type FROM alerts WHERE id = p_id;
    IF NOT FOUND THEN
        RETURN 'not_found';
    END IF;
    PERFORM pg_advisory_xact_lock(k)
       FROM (SELECT DISTINCT unnest(ARRAY[ac_fp_lock_key(v_fp), ac_type_lock_key(v_type)]) AS k
              ORDER BY 1) s;
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
        -- the last open alert of its type closes the window (old values on the right)
        UPDATE esc_windows w SET open_alerts = greatest(w.open_alerts - 1, 0),
               closed_at = CASE WHEN w.open_alerts <= 1 THEN clock_timestamp() END,
               increment_pct = CASE WHEN w.open_alerts <= 1 THEN (ac_esc_increment(w.type,
                               w.opened_at, clock_timestamp(), w.events - w.flushed_events)).pct END,
               rev = w.rev + 1
         WHERE w.type = v_type AND w.closed_at IS NULL;
        -- a closed window's last events go to the buckets
        INSERT INTO esc_buckets (type, minute, events)
        SELECT w.type, date_trunc('minute', now()), w.events - w.flushed_events
          FROM esc_windows w WHERE w.type = v_type AND w.closed_at IS NOT NULL
           AND w.events > w.flushed_events
        ON CONFLICT (type, minute) DO UPDATE SET events = esc_buckets.events + excluded.events;
        UPDATE esc_windows SET flushed_events = events
         WHERE type = v_type AND closed_at IS NOT NULL AND events > flushed_events;
    ELSE
        RAISE EXCEPTION 'unknown action %', p_action;
    END IF;
    INSERT INTO audit_log (actor, action, target_type, target_id, details)
    VALUES (p_actor, 'alert.' || p_action, 'alert', p_id::text, p_details);
    RETURN 'ok';
END $$;
