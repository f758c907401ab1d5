/* SPDX-License-Identifier: Apache-2.0 */
/* The notifier: its planning and sending threads together; see notifier.h. */
#include "server/notifier.h"

#include <stdlib.h>

#include "server/core/log.h"
#include "server/core/mem.h"
#include "server/notify_planner.h"
#include "server/notify_sender.h"

struct ac_notifier {
    struct ac_notify_planner *planner;
    struct ac_notify_sender *sender;
};

static void nf_planned(void *sender)
{
    ac_notify_sender_wake(sender);
}

void ac_notifier_wake(struct ac_notifier *n)
{
    ac_notify_planner_wake(n->planner);
}

struct ac_notifier *ac_notifier_start(const struct ac_config *cfg,
                                      const struct ac_notify_config *nc, const struct ac_sink *sink)
{
    struct ac_notifier *n = ac_xcalloc(1, sizeof(*n));

    /* the sender first: the planner wakes it when it made notifications */
    n->sender = ac_notify_sender_start(cfg, nc, sink);
    n->planner = n->sender ? ac_notify_planner_start(cfg, nc, nf_planned, n->sender) : NULL;
    if (!n->planner) {
        ac_log(AC_LOG_ERROR, "notify", "cannot start the notifier");
        ac_notify_sender_stop(n->sender);
        free(n);
        return NULL;
    }
    ac_log(AC_LOG_INFO, "notify", "notifier started channels=%zu", nc->nchannels);
    return n;
}

void ac_notifier_stop(struct ac_notifier *n)
{
    if (!n) {
        return;
    }
    ac_notify_planner_stop(n->planner);
    ac_notify_sender_stop(n->sender);
    free(n);
}

void ac_notifier_collect(void *ctx, struct ac_metrics_out *o)
{
    const struct ac_notifier *n = ctx;

    ac_notify_planner_collect(n->planner, o);
    ac_notify_sender_collect(n->sender, o);
}
