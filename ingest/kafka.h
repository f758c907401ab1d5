/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Kafka adapter (ingest.h): a librdkafka consumer group reading alert
 * topics into the pipeline, at least once and counted once.
 *
 * Configuration section "kafka" (absent: no consumer):
 *   {"brokers": "k1:9092,k2:9092",       (env AC_KAFKA_BROKERS wins)
 *    "group_id": "alertcenter",
 *    "topics": {"alerts": "native", "prom": "alertmanager", "k8s": "k8s_event"},
 *    "options": {"<any librdkafka property>": "value" | "env:NAME"},
 *    "batch_max": 1000, "batch_ms": 100}
 * A message value is, per its topic's format: "native" - one event or an
 * array of them (POST /v1/events's JSON); "alertmanager" - an Alertmanager
 * v2 alert array (as POST /api/v2/alerts); "k8s_event" - a Kubernetes
 * core/v1 Event, mapped as the Kubernetes watch maps it (k8s_map.h, with the
 * "kubernetes" section's mapping keys).
 *
 * Delivery: enable.auto.offset.store=false. The consumer thread takes up to
 * batch_max messages (or what batch_ms brings), submits all their events to
 * the sink in one call (one group commit), records the messages that cannot
 * be decoded in kafka_dead_letters (topic, partition, offset, key, value,
 * reason), and only then stores the offsets (committed by librdkafka's
 * auto-commit and on rebalance). A restart therefore re-reads at most what
 * was not yet committed, and counts none of it twice: an event without its
 * own id gets "kafka:<topic>/<partition>/<offset>#<index>" as its
 * idempotency key, so a re-read is a duplicate.
 *
 * Backpressure: when the sink refuses (queue full, database down), the
 * batch's partitions are rewound to their first unstored message and every
 * assigned partition is paused; polling goes on (the group keeps its
 * members) and consumption resumes after a backoff (up to 5 s).
 */
#ifndef AC_INGEST_KAFKA_H
#define AC_INGEST_KAFKA_H

#include "ingest/ingest.h"

extern const struct ac_ingest_ops ac_kafka_ops;

/* The idempotency key of the index-th event of a message (into out, at
 * least 160 bytes): "kafka:<topic>/<partition>/<offset>#<index>", the topic
 * shortened to a hash past 80 characters so the key fits the event model. */
void ac_kafka_event_key(const char *topic, int partition, int64_t offset, size_t index, char *out,
                        size_t len);

#endif
