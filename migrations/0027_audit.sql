-- SPDX-License-Identifier: Apache-2.0
-- 0027: the audit log, tamper-evident and partitioned (issue 17).
--
-- * audit_log becomes a table partitioned by month on `at` (retention drops
--   whole partitions, ac_retention_run), with `before` and `after`.
-- * audit_chain: one row per entry, in commit order: seq, the entry, the
--   previous entry's hash and its own, SHA-256 over the canonical entry
--   (ac_audit_canonical) and the previous hash. A deferred trigger writes it
--   at COMMIT, under a transaction advisory lock (16707, 6) taken as the
--   last lock of the transaction, so appenders on every instance serialize
--   only for their commit and never deadlock over it. `alertcenter audit
--   verify` recomputes the chain.
-- * The role alertcenter_app: what `serve` runs as (postgres.app_role). It
--   reads and writes the tables, but cannot UPDATE, DELETE or TRUNCATE the
--   audit log or write its chain; creating and dropping partitions goes
--   through SECURITY DEFINER functions owned by the role that migrates.

-- The role is the cluster's (one for every database): made by whoever
-- sets the cluster up (scripts/lib.sh, docs/operations.md), or here when
-- the migrating role may create roles; without it, grants are skipped and
-- serve needs postgres.app_role "" (it says so at start).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'alertcenter_app') THEN
        CREATE ROLE alertcenter_app NOLOGIN;
        EXECUTE format('GRANT alertcenter_app TO %I', current_user);
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL; -- another database's migration made it meanwhile
WHEN insufficient_privilege THEN
    RAISE NOTICE 'role alertcenter_app does not exist and % may not create it', current_user;
END $$;

ALTER TABLE audit_log RENAME TO audit_log_0001;
ALTER INDEX audit_log_target RENAME TO audit_log_0001_target;
ALTER INDEX audit_log_pkey RENAME TO audit_log_0001_pkey;
DROP TRIGGER audit_log_no_change ON audit_log_0001;
DROP TRIGGER audit_log_no_truncate ON audit_log_0001;

CREATE SEQUENCE audit_log_seq;
SELECT setval('audit_log_seq', coalesce((SELECT max(id) FROM audit_log_0001), 0) + 1, false);

CREATE TABLE audit_log (
    id          bigint NOT NULL DEFAULT nextval('audit_log_seq'),
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor       text NOT NULL,
    action      text NOT NULL,
    target_type text,
    target_id   text,
    details     jsonb,
    before      jsonb,
    after       jsonb,
    PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
ALTER SEQUENCE audit_log_seq OWNED BY audit_log.id;
CREATE INDEX audit_log_target ON audit_log (target_type, target_id, id);
CREATE INDEX audit_log_at ON audit_log USING brin (at);

CREATE TABLE audit_chain (
    seq        bigint NOT NULL,
    entry_id   bigint NOT NULL,
    entry_at   timestamptz NOT NULL,
    prev_hash  bytea NOT NULL,
    hash       bytea NOT NULL,
    PRIMARY KEY (seq, entry_at)
) PARTITION BY RANGE (entry_at);
CREATE INDEX audit_chain_entry ON audit_chain (entry_id);

-- The months of both tables: [first, first + 1 month) for each month from
-- the oldest entry's to two months ahead (the periodic worker keeps ahead).
CREATE FUNCTION ac_partitions_ensure(p_table text, p_unit text, p_from timestamptz,
                                     p_to timestamptz) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    t timestamptz := date_trunc(p_unit, p_from);
    name text;
    made integer := 0;
BEGIN
    WHILE t < p_to LOOP
        name := p_table || '_' || to_char(t AT TIME ZONE 'UTC',
                                           CASE p_unit WHEN 'month' THEN 'YYYY"m"MM'
                                                       ELSE 'YYYY"m"MM"d"DD' END);
        IF to_regclass(name) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                           name, p_table, t, t + ('1 ' || p_unit)::interval);
            IF p_table IN ('audit_log', 'audit_chain')
               AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'alertcenter_app') THEN
                EXECUTE format('REVOKE ALL ON %I FROM alertcenter_app', name);
            END IF;
            made := made + 1;
        END IF;
        t := t + ('1 ' || p_unit)::interval;
    END LOOP;
    RETURN made;
END $$;
SELECT ac_partitions_ensure('audit_log', 'month',
                            least(coalesce((SELECT min(at) FROM audit_log_0001), now()), now()),
                            now() + interval '2 months');
SELECT ac_partitions_ensure('audit_chain', 'month',
                            least(coalesce((SELECT min(at) FROM audit_log_0001), now()), now()),
                            now() + interval '2 months');

CREATE FUNCTION ac_audit_canonical(p_seq bigint, l audit_log) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_array(p_seq, l.id::text, ac_rfc3339(l.at), l.actor, l.action,
                             l.target_type, l.target_id, l.details, l.before, l.after)::text
$$;

CREATE FUNCTION ac_audit_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_seq bigint;
    v_prev bytea;
BEGIN
    PERFORM pg_advisory_xact_lock(16707, 6);
    SELECT c.seq, c.hash INTO v_seq, v_prev FROM audit_chain c ORDER BY c.seq DESC LIMIT 1;
    IF NOT FOUND THEN
        v_seq := 0;
        v_prev := decode(repeat('00', 32), 'hex');
    END IF;
    INSERT INTO audit_chain (seq, entry_id, entry_at, prev_hash, hash)
    VALUES (v_seq + 1, NEW.id, NEW.at, v_prev,
            sha256(convert_to(ac_audit_canonical(v_seq + 1, NEW), 'UTF8') || v_prev));
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER audit_log_chain AFTER INSERT ON audit_log
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ac_audit_chain();

CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION ac_audit_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION ac_audit_append_only();
CREATE TRIGGER audit_chain_no_change BEFORE UPDATE OR DELETE ON audit_chain
    FOR EACH ROW EXECUTE FUNCTION ac_audit_append_only();

-- The old entries, in their order (the chain is made at COMMIT).
INSERT INTO audit_log (id, at, actor, action, target_type, target_id, details)
SELECT id, at, actor, action, target_type, target_id, details FROM audit_log_0001 ORDER BY id;
DROP TABLE audit_log_0001;

-- Fills `before` of a deletion and `after` of a creation or change from
-- the writer's details (the object as deleted, as written); writers of a
-- change name `before` themselves (the row as the statement found it).
CREATE FUNCTION ac_audit_fill() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    verb text := substr(NEW.action, strpos(NEW.action, '.') + 1);
BEGIN
    IF NEW.before IS NULL AND verb = 'delete' THEN
        NEW.before := NEW.details;
    END IF;
    IF NEW.after IS NULL AND verb IN ('create', 'update', 'revoke', 'expire') THEN
        NEW.after := NEW.details;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER audit_log_fill BEFORE INSERT ON audit_log
    FOR EACH ROW WHEN (NEW.target_type NOT IN ('alert', 'alerts', 'incident', 'notification'))
    EXECUTE FUNCTION ac_audit_fill();

-- The grants of serve's role.
DO $$
DECLARE
    part regclass;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'alertcenter_app') THEN
        RETURN;
    END IF;
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO alertcenter_app;
    GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO alertcenter_app;
    REVOKE ALL ON audit_log, audit_chain FROM alertcenter_app;
    FOR part IN SELECT i.inhrelid::regclass FROM pg_inherits i
                 WHERE i.inhparent IN ('audit_log'::regclass, 'audit_chain'::regclass) LOOP
        EXECUTE format('REVOKE ALL ON %s FROM alertcenter_app', part);
    END LOOP;
    GRANT SELECT, INSERT ON audit_log TO alertcenter_app;
    GRANT SELECT ON audit_chain TO alertcenter_app;
    REVOKE ALL ON schema_migrations FROM alertcenter_app;
    GRANT SELECT ON schema_migrations TO alertcenter_app;
    ALTER DEFAULT PRIVILEGES IN SCHEMA public
        GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO alertcenter_app;
    ALTER DEFAULT PRIVILEGES IN SCHEMA public
        GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO alertcenter_app;
END $$;
