-- SPDX-License-Identifier: Apache-2.0
-- 0033: an event's resource name is a column (issue 19), written by the
-- writer, so that its index costs nothing to keep: the old index read it
-- from the document, parsing each stored event's JSON text twice on insert
-- (the predicate and the key). ac_alert_related (functions.sql) finds an
-- alert's resource's events by it.
ALTER TABLE events ADD COLUMN resource_name text COLLATE "C";
UPDATE events SET resource_name = (doc -> 'resource') ->> 'name'
 WHERE (doc -> 'resource') IS NOT NULL;
DROP INDEX events_resource;
CREATE INDEX events_resource ON events (resource_name, id) WHERE resource_name IS NOT NULL;
