-- SPDX-License-Identifier: Apache-2.0
-- 0026: the one-call history of an alert or incident (issue 17).
--
-- * alerts.title: the opening event's title, searchable (PostgreSQL full
--   text, 'simple' configuration: no stemming, any language's words as
--   written).
-- * alert_folds: how many events an alert took in per minute. Repeats fold
--   into the alert without an event row (0006), so these counts are the
--   only record of when they came; the writer adds to them in the same
--   statement that adds to alerts.count, so their sum is the count.
-- * Audit entries for what the notifier decides on its own: an alert
--   inhibited (and released), a notification held by a silence or dropped
--   (and why), a notification's final outcome. Timelines read them from
--   the audit log like people's actions.

ALTER TABLE alerts ADD COLUMN title text;
UPDATE alerts a SET title = coalesce(a.last_doc ->> 'title',
                                     (SELECT e.doc ->> 'title' FROM events e
                                       WHERE e.alert_id = a.id ORDER BY e.id LIMIT 1));
CREATE INDEX alerts_title_search ON alerts USING gin (to_tsvector('simple', coalesce(title, '')));

CREATE TABLE alert_folds (
    alert_id  bigint NOT NULL,
    at        timestamptz NOT NULL,  -- the minute
    count     bigint NOT NULL CHECK (count > 0),
    PRIMARY KEY (alert_id, at)
);
INSERT INTO alert_folds (alert_id, at, count)
SELECT id, date_trunc('minute', first_seen), count FROM alerts;

CREATE FUNCTION ac_audit_inhibition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO audit_log (actor, action, target_type, target_id, details)
        VALUES ('system:notifier', 'alert.uninhibit', 'alert', OLD.alert_id::text,
                jsonb_build_object('source_alert_id', OLD.source_alert_id::text,
                                   'rule_id', OLD.rule_id::text));
        RETURN NULL;
    END IF;
    INSERT INTO audit_log (actor, action, target_type, target_id, details)
    VALUES ('system:notifier', 'alert.inhibit', 'alert', NEW.alert_id::text,
            jsonb_build_object('source_alert_id', NEW.source_alert_id::text,
                               'rule_id', NEW.rule_id::text));
    RETURN NULL;
END $$;
CREATE TRIGGER alert_inhibitions_audit_ins AFTER INSERT ON alert_inhibitions
    FOR EACH ROW EXECUTE FUNCTION ac_audit_inhibition();
CREATE TRIGGER alert_inhibitions_audit_upd AFTER UPDATE ON alert_inhibitions
    FOR EACH ROW WHEN (OLD.source_alert_id IS DISTINCT FROM NEW.source_alert_id
                       OR OLD.rule_id IS DISTINCT FROM NEW.rule_id)
    EXECUTE FUNCTION ac_audit_inhibition();
CREATE TRIGGER alert_inhibitions_audit_del AFTER DELETE ON alert_inhibitions
    FOR EACH ROW EXECUTE FUNCTION ac_audit_inhibition();

CREATE FUNCTION ac_audit_intent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.dropped IS NOT NULL AND OLD.dropped IS NULL THEN
        INSERT INTO audit_log (actor, action, target_type, target_id, details)
        VALUES ('system:notifier', 'incident.notify_dropped', 'incident', NEW.incident_id::text,
                jsonb_build_object('intent_id', NEW.id::text, 'reason', NEW.reason,
                                   'level', NEW.level, 'why', NEW.dropped));
    ELSIF NEW.held_by IS NOT NULL AND OLD.held_by IS DISTINCT FROM NEW.held_by THEN
        INSERT INTO audit_log (actor, action, target_type, target_id, details)
        VALUES ('system:notifier', 'incident.silenced', 'incident', NEW.incident_id::text,
                jsonb_build_object('intent_id', NEW.id::text, 'reason', NEW.reason,
                                   'level', NEW.level, 'silence_id', NEW.held_by::text));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER notify_intents_audit AFTER UPDATE OF held_by, dropped ON notify_intents
    FOR EACH ROW WHEN (NEW.incident_id IS NOT NULL
                       AND ((NEW.dropped IS NOT NULL AND OLD.dropped IS NULL)
                            OR (NEW.held_by IS NOT NULL
                                AND OLD.held_by IS DISTINCT FROM NEW.held_by)))
    EXECUTE FUNCTION ac_audit_intent();

CREATE FUNCTION ac_audit_notification() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_log (actor, action, target_type, target_id, details)
    VALUES ('system:notifier', 'notification.' || NEW.status, 'notification', NEW.id::text,
            jsonb_build_object('incident_id', NEW.incident_id::text,
                               'alert_id', NEW.alert_id::text, 'channel', NEW.channel,
                               'contact_id', NEW.contact_id::text, 'level', NEW.level,
                               'reason', NEW.reason, 'attempts', NEW.attempts,
                               'last_status', NEW.last_status, 'last_error', NEW.last_error,
                               'idempotency_key', NEW.idem_key));
    RETURN NULL;
END $$;
CREATE TRIGGER notifications_audit AFTER UPDATE OF status ON notifications
    FOR EACH ROW WHEN (NEW.status IN ('sent', 'failed') AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION ac_audit_notification();
