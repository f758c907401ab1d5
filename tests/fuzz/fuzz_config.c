/* SPDX-License-Identifier: Apache-2.0 */
/* The configuration loader: the file's JSON against the server's table,
 * then the sections each module loads (Prometheus, PagerDuty, Kubernetes,
 * escalation, notify), as serve and check-config do. */
#include <jansson.h>

#include "escalation/notify/config.h"
#include "escalation/policy.h"
#include "ingest/alertmanager.h"
#include "ingest/k8s_map.h"
#include "ingest/pagerduty.h"
#include "server/core/config.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    json_t *errors = json_array();
    struct ac_config cfg = {0};
    struct ac_am_config am;
    struct ac_pd_config pd;
    struct ac_k8s_map k8s;
    struct ac_esc_config esc;
    struct ac_notify_config notify;

    if (!root) {
        json_decref(errors);
        return 0;
    }
    if (ac_cfg_load(ac_config_table, &cfg, root, errors) == AC_OK) {
        if (ac_am_config_load(cfg.prometheus, &am, errors) == AC_OK) {
            ac_am_config_deinit(&am);
        }
        if (ac_pd_config_load(cfg.pagerduty, &pd, errors) == AC_OK) {
            ac_pd_config_deinit(&pd);
        }
        if (ac_k8s_map_load(cfg.kubernetes, &k8s, errors) == AC_OK) {
            ac_k8s_map_deinit(&k8s);
        }
        if (ac_esc_config_load(&esc, cfg.escalation, errors) != AC_OK) {
            /* esc holds the defaults: freed the same way */
        }
        ac_esc_config_deinit(&esc);
        if (ac_notify_config_load(&notify, cfg.notify, errors) == AC_OK) {
            ac_notify_config_deinit(&notify);
        }
    }
    ac_cfg_free(ac_config_table, &cfg);
    json_decref(errors);
    json_decref(root);
    return 0;
}
