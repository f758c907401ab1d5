-- SPDX-License-Identifier: Apache-2.0
-- 0031: the state changes of incidents that no person made are audited too
-- (issue 17): opened by the pipeline, acknowledged when none of its alerts
-- is left firing, resolved when all its alerts are, reopened. A person's
-- ack or resolve (ac_incident_transition) writes its own entry, with who
-- and why; the trigger stays quiet for it.

CREATE FUNCTION ac_audit_incident() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER incidents_audit_ins AFTER INSERT ON incidents
    FOR EACH ROW EXECUTE FUNCTION ac_audit_incident();
CREATE TRIGGER incidents_audit_upd AFTER UPDATE OF status ON incidents
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION ac_audit_incident();
