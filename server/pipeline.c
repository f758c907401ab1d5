/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pipeline every event goes through, whatever its source:
 *   normalize (type defaults, built-in defaults, fingerprint by the type's
 *   dimensions) -> filter -> enrich (app, tenant) -> group (the incident key
 *   by the routes) -> persist (group-committed:
 *   dedup and escalation counting happen in the writer's transaction).
 * Dropped events are answered (dropped, rule id) but never reach the writer.
 */
#include <stdlib.h>
#include <string.h>

#include "schema/fingerprint.h"
#include "schema/timefmt.h"
#include "server/core/mem.h"
#include "server/filter.h"
#include "server/grouping.h"
#include "server/registry.h"
#include "server/server.h"

int ac_pipeline_submit(void *arg, struct ac_event_vec *evs, struct ac_ingest_result *results)
{
    struct ac_server *srv = arg;
    struct ac_event_vec kept = {0};
    struct ac_ingest_result *kres;
    size_t *from;
    int64_t now = ac_time_now_us();
    int rc;

    from = ac_xcalloc(evs->n + 1, sizeof(*from));
    for (size_t i = 0; i < evs->n; i++) {
        struct ac_event *ev = &evs->items[i];

        ac_registry_normalize(srv->registry, ev);
        memset(&results[i], 0, sizeof(results[i]));
        if (ac_filter_apply(srv->filter, ev, now, &results[i].rule_id) == AC_DROPPED) {
            results[i].dropped = true;
            continue;
        }
        ac_registry_enrich(srv->registry, ev);
        ac_grouping_apply(srv->grouping, ev);
        /* Move the event into the kept batch; it moves back below. */
        from[kept.n] = i;
        *ac_event_vec_push(&kept) = *ev;
    }
    __atomic_add_fetch(&srv->n_dropped, (unsigned long long)(evs->n - kept.n), __ATOMIC_RELAXED);
    __atomic_add_fetch(&srv->n_submitted, (unsigned long long)kept.n, __ATOMIC_RELAXED);
    if (kept.n == evs->n) {
        /* nothing dropped: submit the batch as it is */
        free(kept.items);
        free(from);
        return ac_writer_submit(srv->writer, evs, results);
    }
    kres = ac_xcalloc(kept.n + 1, sizeof(*kres));
    rc = kept.n ? ac_writer_submit(srv->writer, &kept, kres) : AC_OK;
    for (size_t k = 0; k < kept.n; k++) {
        results[from[k]] = kres[k];
    }
    /* The events were copied, not moved: evs still owns them; free the copy's array only. */
    free(kept.items);
    free(kres);
    free(from);
    return rc;
}
