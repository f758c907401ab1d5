-- SPDX-License-Identifier: Apache-2.0
-- 0019: action links act on incidents, once (DESIGN §6 "ChatOps"), and a
-- silence can hold one incident.
--
-- A link's GET only shows what it would do; its POST claims the link here
-- (one row per link, keyed by a hash of the token, so a second use finds
-- who used it and when) in the transaction that acts. An O&M action is
-- claimed before it is forwarded and released again if the O&M webhook
-- refused it, so it can be tried again with the same Idempotency-Key.

CREATE TABLE action_uses (
    link_hash    text PRIMARY KEY,          -- hex SHA-256 of the token
    incident_id  bigint NOT NULL,
    action       text NOT NULL,
    actor        text NOT NULL,
    used_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    outcome      jsonb NOT NULL DEFAULT '{}'
);

ALTER TABLE silences ADD COLUMN incident_id bigint;  -- this incident's alerts (with or without matchers)
ALTER TABLE silences DROP CONSTRAINT silences_check1;
ALTER TABLE silences ADD CONSTRAINT silences_until_resolved
    CHECK (NOT until_resolved OR alert_id IS NOT NULL OR incident_id IS NOT NULL);
