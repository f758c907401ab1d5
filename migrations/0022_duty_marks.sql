-- SPDX-License-Identifier: Apache-2.0
-- 0022: when each singleton duty last ran (whichever instance led it). A
-- duty that finds its last run too long ago knows nobody was watching
-- meanwhile: the lost-heartbeat sweeper then gives every probe a full
-- window from now before calling it lost, so our own downtime (or its
-- leader's) does not raise ProbeHeartbeatLost for every healthy probe.
CREATE TABLE ac_duty_marks (
    name text PRIMARY KEY,
    at   timestamptz
);
INSERT INTO ac_duty_marks (name) VALUES ('heartbeat_sweep');
