/* SPDX-License-Identifier: Apache-2.0 */
/* What every long-running adapter shares (see ingest.h). */
#include "ingest/ingest.h"

#include "server/core/config.h"
#include "server/core/log.h"

int ac_ingest_load_cfg(const struct ac_ingest *in, void *base)
{
    json_t *errs = json_array(), *e;
    size_t i;
    int rc = ac_cfg_load_section(in->ops->cfg, base, in->section, in->ops->section, errs);

    json_array_foreach(errs, i, e)
    {
        ac_log(AC_LOG_ERROR, "config", "%s", json_string_value(e));
    }
    json_decref(errs);
    return rc;
}
