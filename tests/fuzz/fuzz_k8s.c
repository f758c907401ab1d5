/* SPDX-License-Identifier: Apache-2.0 */
/* A Kubernetes watch line: classified, its Event mapped (with rules) and
 * validated as the event model. */
#include <jansson.h>
#include <stdlib.h>

#include "ingest/k8s_map.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ac_k8s_map map;
    static int loaded;
    json_t *msg = NULL, *doc = NULL;
    const json_t *obj;
    const char *rv, *why;

    if (!loaded) {
        json_t *errors = json_array();
        json_t *section = json_loads(
            "{\"cluster\":\"fuzz\",\"rules\":[{\"reason\":\"BackOff\",\"message\":\"Back-off "
            "(pulling|restarting)\",\"type\":\"PodCrashLoop\",\"level\":\"P2\"}],"
            "\"app_id_keys\":[\"app\"],\"user_id_keys\":[\"owner\"]}",
            0, NULL);
        if (ac_k8s_map_load(section, &map, errors) != AC_OK) {
            abort();
        }
        json_decref(section);
        json_decref(errors);
        loaded = 1;
    }
    if (ac_k8s_watch_line((const char *)data, size, &msg, &obj, &rv) == AC_K8S_WATCH_TAKE &&
        ac_k8s_map_event(&map, obj, json_object_get(msg, "obj_meta"),
                         json_object_get(msg, "ns_meta"), &doc, &why) == 1) {
        struct ac_event ev;
        json_t *errors = json_array();
        if (ac_event_from_json(doc, &ev, -1, errors)) {
            ac_event_deinit(&ev);
        }
        json_decref(errors);
        json_decref(doc);
    }
    json_decref(msg);
    return 0;
}
