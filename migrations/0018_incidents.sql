-- SPDX-License-Identifier: Apache-2.0
-- 0018: incidents (DESIGN §5 "Incidents", §6): the unit people are told
-- about and act on.
--
-- Every alert belongs to one incident, chosen when the alert is inserted
-- (trigger below): the open incident of its group key - its type and, when
-- the first route matching it sets group_by, those fields' values
-- (alerts.group_key, computed by the server) - or a new one. The writer
-- inserts alerts under their type's advisory lock, and every change of an
-- open alert's status or level holds it too, so instances agree on
-- membership and on the counts kept here.
--
-- An incident's level is the highest of its open alerts; it is acknowledged
-- when acknowledged as a whole or when no alert of it is left firing;
-- resolved when its last open alert is. Notification is planned per
-- incident: the intents below name the incident, and the incident keeps the
-- notifier's state (team, tier reached, channels used, the level told, when
-- the next tier is due, what the last summary covered).

CREATE TABLE incidents (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    group_key     text COLLATE "C" NOT NULL,   -- type, U+001F, the route's group values
    type          text COLLATE "C" NOT NULL,
    grouping      text COLLATE "C" NOT NULL DEFAULT '',  -- "cluster=a,labels.x=b" ('' = the type)
    title         text NOT NULL,
    level         text COLLATE "C" NOT NULL CHECK (level IN ('P1', 'P2', 'P3', 'P4')),
    initial_level text COLLATE "C" NOT NULL,
    level_reason  text,                        -- why the level was last raised
    status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'resolved')),
    alerts        integer NOT NULL DEFAULT 0,
    open_alerts   integer NOT NULL DEFAULT 0,
    first_seen    timestamptz NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    resolved_at   timestamptz,
    acked_at      timestamptz,
    acked_by      text,
    -- the notifier's state
    team_id        bigint,
    tier           integer NOT NULL DEFAULT 1,
    channels       text[] NOT NULL DEFAULT '{}',
    notified_level text COLLATE "C",           -- the most severe level told; NULL: not told yet
    notified_at    timestamptz,                -- the last notification (repeats count from it)
    delivered_at   timestamptz,                -- the first one delivered (MTTA counts from it)
    mtta_s         integer,
    next_tier_at   timestamptz,
    told_alert_id  bigint NOT NULL DEFAULT 0,  -- the newest alert the last message covered
    summary_at     timestamptz                 -- the last message that covered new alerts
);
CREATE UNIQUE INDEX incidents_open_key ON incidents (group_key) WHERE status <> 'resolved';
CREATE INDEX incidents_open ON incidents (id) WHERE status <> 'resolved';
CREATE INDEX incidents_type ON incidents (type, id);
CREATE INDEX incidents_due_tier ON incidents (next_tier_at) WHERE next_tier_at IS NOT NULL;
CREATE INDEX incidents_told ON incidents (notified_at) WHERE status = 'open' AND notified_level IS NOT NULL;

ALTER TABLE alerts ADD COLUMN group_key text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN incident_id bigint;
CREATE INDEX alerts_incident ON alerts (incident_id, id);
-- an incident's open alerts by level (its level), and its firing ones (is
-- anything left to acknowledge)
CREATE INDEX alerts_incident_open ON alerts (incident_id, level) WHERE status <> 'resolved';
CREATE INDEX alerts_incident_firing ON alerts (incident_id) WHERE status = 'firing';

-- Intents and notifications name the incident; alert_id stays for the rows
-- made before (per alert).
ALTER TABLE notify_intents ADD COLUMN incident_id bigint;
ALTER TABLE notify_intents ALTER COLUMN alert_id DROP NOT NULL;
ALTER TABLE notify_intents DROP CONSTRAINT notify_intents_reason_check;
ALTER TABLE notify_intents ADD CONSTRAINT notify_intents_reason_check
    CHECK (reason IN ('open', 'escalate', 'resolve', 'timeout', 'repeat', 'summary'));
CREATE INDEX notify_intents_incident ON notify_intents (incident_id, id);
ALTER TABLE notifications ADD COLUMN incident_id bigint;
ALTER TABLE notifications ALTER COLUMN alert_id DROP NOT NULL;
CREATE INDEX notifications_incident ON notifications (incident_id, id);

-- Per-alert notification ends here: the incident triggers take over (an
-- escalation now records its reason on the incident, functions.sql). The
-- trigger functions are defined in functions.sql, applied right after the
-- migrations in the same transaction; these placeholders only let the
-- triggers be created.
DROP TRIGGER alerts_acked_notify ON alerts;
DROP FUNCTION ac_notify_on_ack();
CREATE FUNCTION ac_incident_attach() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RETURN NEW;
END $$;
CREATE FUNCTION ac_incident_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RETURN NULL;
END $$;
CREATE TRIGGER alerts_incident BEFORE INSERT ON alerts
    FOR EACH ROW EXECUTE FUNCTION ac_incident_attach();
CREATE TRIGGER alerts_incident_follow AFTER UPDATE OF status, level ON alerts
    FOR EACH ROW WHEN (NEW.incident_id IS NOT NULL AND (NEW.status IS DISTINCT FROM OLD.status
                       OR NEW.level IS DISTINCT FROM OLD.level))
    EXECUTE FUNCTION ac_incident_follow();

-- Backfill: one incident per type for the alerts open now; the rest keep
-- no incident (they are history).
INSERT INTO incidents (group_key, type, title, level, initial_level, status, alerts, open_alerts,
                       first_seen)
SELECT a.type || chr(31), a.type, a.type, min(a.level), min(a.initial_level),
       CASE WHEN bool_and(a.status = 'acknowledged') THEN 'acknowledged' ELSE 'open' END,
       count(*), count(*), min(a.first_seen)
  FROM alerts a WHERE a.status <> 'resolved' GROUP BY a.type;
UPDATE alerts a SET incident_id = i.id FROM incidents i
 WHERE a.status <> 'resolved' AND i.group_key = a.type || chr(31);
UPDATE notify_intents n SET incident_id = a.incident_id FROM alerts a
 WHERE a.id = n.alert_id AND n.planned_at IS NULL;
UPDATE notify_intents SET planned_at = clock_timestamp(), dropped = 'made before incidents'
 WHERE planned_at IS NULL AND incident_id IS NULL;
