-- SPDX-License-Identifier: Apache-2.0
-- 0029: the event center's subscriptions (DESIGN §7, issue 17).
--
-- A tenant (tenants.user_id; events carry it as user_id) subscribes to
-- categories of its events within a scope (apps, namespaces, regions; empty
-- = all), with a detection cycle and a threshold: N matching events within
-- one cycle trigger it, once per cycle, to its contacts on its channels.
-- sub_windows counts the events of each subscription per cycle.

CREATE TABLE subscriptions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id    text COLLATE "C" NOT NULL,
    name         text NOT NULL,
    categories   text[] NOT NULL CHECK (categories <> '{}' AND categories <@
                     ARRAY['runtime', 'change', 'system', 'cloud_product']),
    apps         text[] COLLATE "C" NOT NULL DEFAULT '{}',
    namespaces   text[] COLLATE "C" NOT NULL DEFAULT '{}',
    regions      text[] COLLATE "C" NOT NULL DEFAULT '{}',
    cycle_s      integer NOT NULL CHECK (cycle_s BETWEEN 60 AND 604800),
    threshold    integer NOT NULL CHECK (threshold BETWEEN 1 AND 1000000),
    contact_ids  bigint[] NOT NULL DEFAULT '{}',
    channels     text[] NOT NULL DEFAULT '{}',
    enabled      boolean NOT NULL DEFAULT true,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name)
);

CREATE TABLE sub_windows (
    subscription_id  bigint NOT NULL,
    cycle_start      timestamptz NOT NULL,
    events           bigint NOT NULL DEFAULT 0,
    triggered_at     timestamptz,   -- the threshold was reached
    notified_at      timestamptz,   -- its notifications were made
    PRIMARY KEY (subscription_id, cycle_start)
);
CREATE INDEX sub_windows_due ON sub_windows (triggered_at)
    WHERE triggered_at IS NOT NULL AND notified_at IS NULL;

INSERT INTO ac_versions (name) VALUES ('subscriptions');
CREATE TRIGGER subscriptions_changed AFTER INSERT OR UPDATE OR DELETE ON subscriptions
    FOR EACH STATEMENT EXECUTE FUNCTION ac_bump_version('subscriptions');

CREATE FUNCTION ac_subscription_json(s subscriptions) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', s.id::text, 'tenant_id', s.tenant_id, 'name', s.name,
        'categories', to_jsonb(s.categories),
        'scope', jsonb_build_object('apps', to_jsonb(s.apps), 'namespaces', to_jsonb(s.namespaces),
                                    'regions', to_jsonb(s.regions)),
        'cycle_s', s.cycle_s, 'threshold', s.threshold,
        'contacts', (SELECT coalesce(jsonb_agg(c::text ORDER BY c), '[]') FROM unnest(s.contact_ids) c),
        'channels', to_jsonb(s.channels), 'enabled', s.enabled, 'created_by', s.created_by,
        'created_at', ac_rfc3339(s.created_at), 'updated_at', ac_rfc3339(s.updated_at),
        'current_cycle', (SELECT jsonb_build_object('start', ac_rfc3339(w.cycle_start), 'events',
                                 w.events, 'triggered_at', ac_rfc3339(w.triggered_at))
                            FROM sub_windows w WHERE w.subscription_id = s.id
                           ORDER BY w.cycle_start DESC LIMIT 1))
$$;

-- Tokens bound to a tenant (scope tenant, with the tenant's id).
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_scopes_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_scopes_check CHECK (cardinality(scopes) > 0
    AND scopes <@ ARRAY['ingest', 'read', 'operate', 'admin', 'tenant']
    AND (NOT scopes @> ARRAY['tenant'] OR tenant IS NOT NULL));
