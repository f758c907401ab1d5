-- SPDX-License-Identifier: Apache-2.0
-- 0034: the writer names each new alert's incident itself (ac_incidents_attach,
-- once per group key), so the row trigger that finds one for an alert
-- inserted without it (0018) runs only for those: PostgreSQL tests the
-- condition without calling the function. Before, every alert of a group
-- paid a PL/pgSQL call that returned at once (issue 19: ~6 µs of
-- PostgreSQL CPU per new alert at batch 100).
DROP TRIGGER alerts_incident ON alerts;
CREATE TRIGGER alerts_incident BEFORE INSERT ON alerts
    FOR EACH ROW WHEN (NEW.incident_id IS NULL) EXECUTE FUNCTION ac_incident_attach();
