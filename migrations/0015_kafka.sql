-- SPDX-License-Identifier: Apache-2.0
-- 0015: Kafka messages that could not be decoded (ingest/kafka.h), kept with
-- their raw bytes and the reason; consumption goes on past them. A message
-- read again after a restart is recorded once.
CREATE TABLE kafka_dead_letters (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic       text NOT NULL,
    partition   integer NOT NULL,
    "offset"    bigint NOT NULL,
    key         bytea,
    value       bytea,
    reason      text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (topic, partition, "offset")
);
