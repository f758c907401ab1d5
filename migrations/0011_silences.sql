-- SPDX-License-Identifier: Apache-2.0
-- 0011: silences (DESIGN §6). A silence matches alerts by matchers (on their
-- latest event, as filter rules do) or names one alert, from starts_at until
-- ends_at - or, with until_resolved, until that alert resolves. A silenced
-- alert is stored and counted as ever; its notification intents are held
-- (not planned) while a silence matches, and planned when none does any more
-- and the alert is still open - or dropped, with the reason, if it resolved.

CREATE TABLE silences (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    matchers        jsonb NOT NULL DEFAULT '[]',
    alert_id        bigint,           -- this alert only (with or without matchers)
    starts_at       timestamptz NOT NULL DEFAULT now(),
    ends_at         timestamptz,      -- NULL with until_resolved
    until_resolved  boolean NOT NULL DEFAULT false,
    comment         text,
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expired_at      timestamptz,      -- ended early (DELETE) or by the resolve
    CHECK (until_resolved OR ends_at IS NOT NULL),
    CHECK (NOT until_resolved OR alert_id IS NOT NULL),
    CHECK (ends_at IS NULL OR ends_at > starts_at)
);
CREATE INDEX silences_active ON silences (id) WHERE expired_at IS NULL;

ALTER TABLE notify_intents ADD COLUMN held_by bigint;        -- the silence holding it
ALTER TABLE notify_intents ADD COLUMN check_at timestamptz;  -- when to look again
ALTER TABLE notify_intents ADD COLUMN dropped text;          -- planned without notifying: why
DROP INDEX notify_intents_pending;
CREATE INDEX notify_intents_pending ON notify_intents (coalesce(check_at, created_at))
    WHERE planned_at IS NULL;

CREATE FUNCTION ac_silence_json(s silences) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', s.id::text, 'matchers', s.matchers, 'alert_id', s.alert_id::text,
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
    UPDATE alert_notify SET next_tier_at = NULL WHERE alert_id = NEW.id;
    IF FOUND THEN
        INSERT INTO notify_intents (alert_id, reason, level) VALUES (NEW.id, 'resolve', NEW.level);
    END IF;
    RETURN NULL;
END $$;
