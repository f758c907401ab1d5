/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Kubernetes Events adapter (ingest.h): watches core/v1 Events with
 * libcurl streaming and maps them (k8s_map.h) into the pipeline.
 *
 * Configuration section "kubernetes" (the watch runs with "watch": true):
 *   {"watch": true,
 *    "api_url": "https://kube-api:6443",   (default in cluster:
 *                                           https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT)
 *    "token_file": "...",                  (default the service account's token)
 *    "ca_file": "...",                     (default the service account's ca.crt)
 *    "namespaces": ["shop", "pay"],        (default: all, one watch)
 *    "timeout_s": 300,                     (each watch request's timeoutSeconds)
 *    ...the mapping keys of k8s_map.h}
 *
 * Per scope (all namespaces, or each listed one), one thread of one server
 * of the cluster watches (PostgreSQL advisory lock): it resumes from the
 * resourceVersion persisted in k8s_watch (no relist after a restart), with
 * allowWatchBookmarks=true; each chunk's events are submitted and only then
 * is the newest resourceVersion (of an event or a bookmark) persisted, so a
 * crash re-reads at most one chunk (duplicates, by the events' ids). 410
 * Gone / Expired (or no version yet): list, submit the listed Warning events
 * (what was already counted is a duplicate), then watch from the list's
 * version. Errors reconnect with backoff (1 s doubling to 30 s). The token
 * file is read again at every connection (rotated tokens).
 */
#ifndef AC_INGEST_K8S_H
#define AC_INGEST_K8S_H

#include "ingest/ingest.h"

extern const struct ac_ingest_ops ac_k8s_ops;

#endif
