-- SPDX-License-Identifier: Apache-2.0
-- 0004: the metadata registry used by enrichment: tenants, apps, alert types.

CREATE TABLE tenants (
    user_id         text COLLATE "C" PRIMARY KEY,
    gc_level        smallint CHECK (gc_level BETWEEN 1 AND 7),
    name            text,
    primary_contact text,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE apps (
    app_id     text COLLATE "C" PRIMARY KEY,
    user_id    text COLLATE "C",
    team       text,
    region     text,
    namespace  text,
    tags       jsonb NOT NULL DEFAULT '{}',
    updated_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE types
    ADD COLUMN level text CHECK (level IN ('P1', 'P2', 'P3', 'P4')),
    ADD COLUMN trace text CHECK (trace IN ('control', 'data', 'runtime')),
    ADD COLUMN category text CHECK (category IN ('runtime', 'change', 'system', 'cloud_product')),
    ADD COLUMN fingerprint_dims text[],
    ADD COLUMN compression_window_s integer CHECK (compression_window_s >= 0),
    ADD COLUMN retain_duplicates boolean NOT NULL DEFAULT false,
    ADD COLUMN runbook_url text,
    ADD COLUMN title_template text;

INSERT INTO ac_versions (name) VALUES ('registry');
CREATE TRIGGER tenants_changed AFTER INSERT OR UPDATE OR DELETE ON tenants
    FOR EACH STATEMENT EXECUTE FUNCTION ac_bump_version('registry');
CREATE TRIGGER apps_changed AFTER INSERT OR UPDATE OR DELETE ON apps
    FOR EACH STATEMENT EXECUTE FUNCTION ac_bump_version('registry');
CREATE TRIGGER types_changed AFTER INSERT OR UPDATE OR DELETE ON types
    FOR EACH STATEMENT EXECUTE FUNCTION ac_bump_version('registry');

CREATE FUNCTION ac_tenant_json(t tenants) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('user_id', t.user_id, 'gc_level', t.gc_level, 'name', t.name,
        'primary_contact', t.primary_contact, 'updated_at', ac_rfc3339(t.updated_at))
$$;
CREATE FUNCTION ac_app_json(a apps) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('app_id', a.app_id, 'user_id', a.user_id, 'team', a.team,
        'region', a.region, 'namespace', a.namespace, 'tags', a.tags,
        'updated_at', ac_rfc3339(a.updated_at))
$$;
CREATE FUNCTION ac_type_json(t types) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('type', t.type, 'level', t.level, 'trace', t.trace,
        'category', t.category, 'fingerprint_dims', to_jsonb(t.fingerprint_dims),
        'compression_window_s', t.compression_window_s,
        'resolve_timeout_s', t.resolve_timeout_s, 'retain_duplicates', t.retain_duplicates,
        'runbook_url', t.runbook_url, 'title_template', t.title_template,
        'updated_at', ac_rfc3339(t.updated_at))
$$;
