-- SPDX-License-Identifier: Apache-2.0
-- 0032: the audit chain is linked once per transaction, not once per entry
-- (issue 19): a statement-level trigger notes each statement's new entries
-- (ac_audit_pending) and the first deferred call at COMMIT links them all in
-- one insert (ac_audit_chain, functions.sql). The same chain, the same lock,
-- the same moment; a tenth of the work for a group of new alerts.
CREATE OR REPLACE FUNCTION ac_audit_pending() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('ac.audit_pending',
                       coalesce(current_setting('ac.audit_pending', true), '') ||
                       coalesce((SELECT string_agg(n.id::text, ',') || ',' FROM n), ''), true);
    RETURN NULL;
END $$;
CREATE TRIGGER audit_log_pending AFTER INSERT ON audit_log
    REFERENCING NEW TABLE AS n FOR EACH STATEMENT EXECUTE FUNCTION ac_audit_pending();
