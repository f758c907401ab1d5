-- SPDX-License-Identifier: Apache-2.0
-- 0010: the notification outbox (DESIGN §6 "delivery").
--
-- A state change that must notify writes a notify_intents row in its own
-- transaction: the writer for a new alert at a level with channels, a raise
-- (trigger on escalations), a resolve of a notified alert (trigger on
-- alerts), an unacknowledged alert past its MTTA (the notifier's timer).
-- The notifier plans each intent - route, team, chain tier, who is on call,
-- the level's channels - into notifications rows, one per request to send,
-- in one transaction; dispatchers claim due rows with FOR UPDATE SKIP LOCKED
-- and a lease, send them, and record the outcome. An intent or a
-- notification is never deleted by the server: they are the record of who
-- was told what, when.

CREATE TABLE notify_intents (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id    bigint NOT NULL,
    reason      text NOT NULL CHECK (reason IN ('open', 'escalate', 'resolve', 'timeout')),
    level       text COLLATE "C" NOT NULL,
    tier        integer NOT NULL DEFAULT 1,
    details     jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    planned_at  timestamptz
);
CREATE INDEX notify_intents_pending ON notify_intents (id) WHERE planned_at IS NULL;
CREATE INDEX notify_intents_alert ON notify_intents (alert_id, id);

CREATE TABLE notifications (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    intent_id    bigint NOT NULL REFERENCES notify_intents (id),
    alert_id     bigint NOT NULL,
    channel      text NOT NULL,
    kind         text NOT NULL,
    contact_id   bigint,
    level        text COLLATE "C" NOT NULL,
    reason       text NOT NULL,
    status       text NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts     integer NOT NULL DEFAULT 0,
    next_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    lease_until  timestamptz,
    idem_key     text NOT NULL UNIQUE, -- the Idempotency-Key, stable across retries
    context      jsonb NOT NULL,       -- what the channel renders
    last_status  integer,
    last_error   text,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    sent_at      timestamptz
);
CREATE INDEX notifications_due ON notifications (next_at) WHERE status IN ('pending', 'sending');
CREATE INDEX notifications_alert ON notifications (alert_id, id);

-- Per notified alert: its team, the chain tier reached, the channels used
-- (a resolve goes to them), and when the next tier is due if nobody acks.
CREATE TABLE alert_notify (
    alert_id      bigint PRIMARY KEY,
    team_id       bigint,
    tier          integer NOT NULL DEFAULT 1,
    channels      text[] NOT NULL DEFAULT '{}',
    notified_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    next_tier_at  timestamptz
);
CREATE INDEX alert_notify_due ON alert_notify (next_tier_at) WHERE next_tier_at IS NOT NULL;

-- A raise re-notifies at the new level (the message says why).
CREATE FUNCTION ac_notify_on_escalation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO notify_intents (alert_id, reason, level, details)
    VALUES (NEW.alert_id, 'escalate', NEW.to_level,
            jsonb_build_object('from', NEW.from_level, 'to', NEW.to_level, 'why', NEW.reason));
    RETURN NULL;
END $$;
CREATE TRIGGER escalations_notify AFTER INSERT ON escalations
    FOR EACH ROW EXECUTE FUNCTION ac_notify_on_escalation();

-- A resolve of an alert that was notified tells the same channels.
CREATE FUNCTION ac_notify_on_resolve() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE alert_notify SET next_tier_at = NULL WHERE alert_id = NEW.id;
    IF FOUND THEN
        INSERT INTO notify_intents (alert_id, reason, level) VALUES (NEW.id, 'resolve', NEW.level);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER alerts_resolved_notify AFTER UPDATE OF status ON alerts
    FOR EACH ROW WHEN (NEW.status = 'resolved' AND OLD.status <> 'resolved')
    EXECUTE FUNCTION ac_notify_on_resolve();

-- An acknowledgement stops the time escalation.
CREATE FUNCTION ac_notify_on_ack() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE alert_notify SET next_tier_at = NULL WHERE alert_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER alerts_acked_notify AFTER UPDATE OF status ON alerts
    FOR EACH ROW WHEN (NEW.status = 'acknowledged' AND OLD.status = 'firing')
    EXECUTE FUNCTION ac_notify_on_ack();
