-- SPDX-License-Identifier: Apache-2.0
-- 0030: subscriptions trigger, once per cycle (issue 17, point 6).
--
-- The writer counts each group's matching events into sub_windows in the
-- group's transaction; the window's threshold is the subscription's when
-- the cycle began, and triggered_at is set by the event that reaches it.
-- The subscription notifier (server/subs_notify.c) makes the notifications
-- of triggered windows (reason 'subscription', idempotency key per
-- subscription, cycle, channel and contact: once per cycle) and marks them.
-- A tenant's primary contact gets its system events without subscribing:
-- a subscription of the tenant made and kept by the system (name
-- "system events", created_by system:tenants) follows tenants.primary_contact.

ALTER TABLE sub_windows ADD COLUMN threshold bigint NOT NULL DEFAULT 1;

ALTER TABLE notify_intents DROP CONSTRAINT notify_intents_reason_check;
ALTER TABLE notify_intents ADD CONSTRAINT notify_intents_reason_check
    CHECK (reason IN ('open', 'escalate', 'resolve', 'timeout', 'repeat', 'summary',
                      'subscription'));

CREATE FUNCTION ac_tenant_system_sub() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER tenants_system_sub AFTER INSERT OR UPDATE OF primary_contact ON tenants
    FOR EACH ROW EXECUTE FUNCTION ac_tenant_system_sub();
UPDATE tenants SET primary_contact = primary_contact WHERE primary_contact IS NOT NULL;
