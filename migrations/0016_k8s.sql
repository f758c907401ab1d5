-- SPDX-License-Identifier: Apache-2.0
-- 0016: the Kubernetes watch's place (ingest/k8s.h): per scope, the newest
-- resourceVersion whose events are stored, resumed after a restart.
CREATE TABLE k8s_watch (
    scope            text PRIMARY KEY,
    resource_version text NOT NULL,
    updated_at       timestamptz NOT NULL
);
