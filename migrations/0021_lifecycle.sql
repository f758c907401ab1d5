-- SPDX-License-Identifier: Apache-2.0
-- 0021: the end a source declares (Prometheus' and Alertmanager's endsAt).
-- A source that keeps an alert firing re-sends it, and each re-send moves
-- ends_at (and last_seen) on; once ends_at has passed with no re-send, the
-- sweeper resolves the alert, as Alertmanager's resolve_timeout would.
ALTER TABLE alerts ADD COLUMN ends_at timestamptz;
CREATE INDEX alerts_ends ON alerts (ends_at) WHERE status <> 'resolved' AND ends_at IS NOT NULL;
