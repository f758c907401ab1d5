-- SPDX-License-Identifier: Apache-2.0
-- 0023: the team an alert routes to when it opens (the first route matching
-- it, else the default team; the server's grouping stage decides), which its
-- incident takes when the alert opens it - so an incident has a team before
-- anyone is told, and alerts can be listed by team.
ALTER TABLE alerts ADD COLUMN team_id bigint;
