/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pipeline every event goes through, whatever its source:
 *   normalize (defaults, fingerprint) -> persist (group-committed).
 * Filter, dedup, enrich and escalate are stages that plug in here, each a
 * plain module called in order.
 */
#include "schema/fingerprint.h"
#include "server/server.h"

int ac_pipeline_submit(void *arg, struct ac_event_vec *evs, struct ac_ingest_result *results)
{
    struct ac_server *srv = arg;

    for (size_t i = 0; i < evs->n; i++) {
        struct ac_event *ev = &evs->items[i];
        ac_event_apply_defaults(ev);
        ac_fingerprint(ev, NULL, ev->fingerprint);
    }
    return ac_writer_submit(srv->writer, evs, results);
}
