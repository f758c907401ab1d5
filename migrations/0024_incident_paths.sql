-- SPDX-License-Identifier: Apache-2.0
-- 0024: cheaper incident paths, measured with bench/notify.sh.
--   - pending intents by incident (the writer asks whether an incident has
--     one for each group with new alerts): a small partial index;
--   - "alerts joined since it was told" as a flag the alert's insert sets,
--     so the summary pass looks at those incidents only, not at every open
--     one;
--   - the told-incidents index no longer covers notified_at, which every
--     notification moves (so those updates can stay HOT).
CREATE INDEX notify_intents_pending_incident ON notify_intents (incident_id)
    WHERE planned_at IS NULL;
ALTER TABLE incidents ADD COLUMN news boolean NOT NULL DEFAULT false;
CREATE INDEX incidents_news ON incidents (id) WHERE news;
DROP INDEX incidents_told;
CREATE INDEX incidents_told ON incidents (level) WHERE status = 'open' AND notified_level IS NOT NULL;
