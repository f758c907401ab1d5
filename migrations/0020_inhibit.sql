-- SPDX-License-Identifier: Apache-2.0
-- 0020: inhibition rules (DESIGN §5 "Incidents"), as Alertmanager's
-- inhibit_rules: while an open alert matches source_matchers, the alerts
-- matching target_matchers with the same values of every field in equal are
-- stored and counted but not notified. The planner reads the rules each
-- round (so a change applies at the next one) and records which alert
-- inhibits which in alert_inhibitions, for the alert's API view.

CREATE TABLE inhibit_rules (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name             text NOT NULL UNIQUE,
    source_matchers  jsonb NOT NULL,
    target_matchers  jsonb NOT NULL,
    equal            text[] NOT NULL DEFAULT '{}',
    comment          text,
    created_by       text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE alert_inhibitions (
    alert_id         bigint PRIMARY KEY,
    source_alert_id  bigint NOT NULL,
    rule_id          bigint NOT NULL,
    checked_at       timestamptz NOT NULL DEFAULT clock_timestamp()
);
