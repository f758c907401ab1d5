-- SPDX-License-Identifier: Apache-2.0
-- 0017: the members of open escalation windows move to Redis sets
-- (escalation/members.h); PostgreSQL keeps the exact counts and what
-- rebuilds the sets.
--
-- A window's members are the apps and GC6/GC7 users of the firing events of
-- its type stored from first_event_id on: the writer stores as a row every
-- event that brings a new member (even a repeat it would otherwise fold), and
-- event ids are taken under the type's lock, so a window's events are exactly
-- those of its type from the first id its opening group took.
--
-- esc_members is no longer written. The rows it has belong to the windows
-- open now (their first_event_id is set past every stored event, so their
-- members are those rows and the events to come); they go as those windows
-- close (the trigger of 0008).

ALTER TABLE esc_windows ADD COLUMN first_event_id bigint NOT NULL DEFAULT 0;

UPDATE esc_windows SET first_event_id = (SELECT last_value + 1 FROM events_id_seq)
 WHERE closed_at IS NULL;

-- The members of open window p_window: (kind, ac_member_key(kind, value)).
-- Read through events_type.
CREATE FUNCTION ac_esc_members(p_window bigint)
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
