/* SPDX-License-Identifier: Apache-2.0 */
/* The route table (every endpoint, its handler, scope and whether it takes a
 * body) and finding a request's route in it; http.c serves them. */
#include "server/http_routes.h"

#include <stdbool.h>
#include <string.h>

#include "server/api.h"
#include "server/auth.h"
#include "server/core/mem.h"

const struct ac_http_route ac_http_route_table[] = {
    {"GET", "/healthz", ac_api_healthz, 0, false},
    {"GET", "/readyz", ac_api_readyz, 0, false},
    {"GET", "/openapi.json", ac_api_openapi, 0, false},
    {"GET", "/", ac_api_console, 0, false},
    {"GET", "/ui/*", ac_api_console, 0, false},
    {"GET", "/metrics", ac_api_metrics, AC_SCOPE_READ, false},
    {"POST", "/v1/events", ac_api_ingest_events, AC_SCOPE_INGEST, true},
    {"GET", "/v1/events", ac_api_list_events, AC_SCOPE_READ, false},
    {"POST", "/api/v2/alerts", ac_api_ingest_am_v2, AC_SCOPE_INGEST, true},
    {"GET", "/api/v2/status", ac_api_am_status, AC_SCOPE_READ, false},
    {"GET", "/api/v2/alerts", ac_api_am_alerts, AC_SCOPE_READ, false},
    {"GET", "/api/v2/silences", ac_api_am_silences, AC_SCOPE_READ, false},
    {"POST", "/api/v2/silences", ac_api_am_silences, AC_SCOPE_OPERATE, true},
    {"GET", "/api/v2/silence/*", ac_api_am_silence, AC_SCOPE_READ, false},
    {"DELETE", "/api/v2/silence/*", ac_api_am_silence, AC_SCOPE_OPERATE, false},
    {"POST", "/v1/ingest/alertmanager", ac_api_ingest_am_webhook, AC_SCOPE_INGEST, true},
    /* authorized in the handler: by bearer token, or by the routing key */
    {"POST", "/v2/enqueue", ac_api_ingest_pagerduty, 0, true},
    {"POST", "/v1/heartbeats", ac_api_heartbeats_post, AC_SCOPE_INGEST, true},
    {"GET", "/v1/heartbeats", ac_api_heartbeats_get, AC_SCOPE_READ, false},
    {"GET", "/v1/alerts", ac_api_list_alerts, AC_SCOPE_READ, false},
    {"POST", "/v1/alerts/ack", ac_api_alerts_ack, AC_SCOPE_OPERATE, true},
    {"GET", "/v1/alerts/*", ac_api_get_alert, AC_SCOPE_READ, false},
    {"POST", "/v1/alerts/*/ack", ac_api_alert_ack, AC_SCOPE_OPERATE, true},
    {"POST", "/v1/alerts/*/resolve", ac_api_alert_resolve, AC_SCOPE_OPERATE, true},
    {"GET", "/v1/inhibit_rules", ac_api_inhibit_rules, AC_SCOPE_READ, false},
    {"POST", "/v1/inhibit_rules", ac_api_inhibit_rules, AC_SCOPE_ADMIN, true},
    {"GET", "/v1/inhibit_rules/*", ac_api_inhibit_rules, AC_SCOPE_READ, false},
    {"PUT", "/v1/inhibit_rules/*", ac_api_inhibit_rules, AC_SCOPE_ADMIN, true},
    {"DELETE", "/v1/inhibit_rules/*", ac_api_inhibit_rules, AC_SCOPE_ADMIN, false},
    {"GET", "/v1/incidents", ac_api_list_incidents, AC_SCOPE_READ, false},
    {"GET", "/v1/incidents/*", ac_api_get_incident, AC_SCOPE_READ, false},
    {"POST", "/v1/incidents/*/ack", ac_api_incident_ack, AC_SCOPE_OPERATE, true},
    {"POST", "/v1/incidents/*/resolve", ac_api_incident_resolve, AC_SCOPE_OPERATE, true},
    {"GET", "/v1/rules", ac_api_rules, AC_SCOPE_READ, false},
    {"POST", "/v1/rules", ac_api_rules, AC_SCOPE_ADMIN, true},
    {"GET", "/v1/rules/*", ac_api_rules, AC_SCOPE_READ, false},
    {"PUT", "/v1/rules/*", ac_api_rules, AC_SCOPE_ADMIN, true},
    {"DELETE", "/v1/rules/*", ac_api_rules, AC_SCOPE_ADMIN, false},
    {"GET", "/v1/escalation/policies", ac_api_escalation_policies, AC_SCOPE_READ, false},
    {"GET", "/v1/escalation/windows", ac_api_escalation_windows, AC_SCOPE_READ, false},
    {"GET", "/v1/apps", ac_api_apps, AC_SCOPE_READ, false},
    {"POST", "/v1/apps", ac_api_apps, AC_SCOPE_ADMIN, true},
    {"GET", "/v1/apps/*", ac_api_apps, AC_SCOPE_READ, false},
    {"PUT", "/v1/apps/*", ac_api_apps, AC_SCOPE_ADMIN, true},
    {"DELETE", "/v1/apps/*", ac_api_apps, AC_SCOPE_ADMIN, false},
    {"GET", "/v1/tenants", ac_api_tenants, AC_SCOPE_READ, false},
    {"POST", "/v1/tenants", ac_api_tenants, AC_SCOPE_ADMIN, true},
    {"GET", "/v1/tenants/*", ac_api_tenants, AC_SCOPE_READ, false},
    {"PUT", "/v1/tenants/*", ac_api_tenants, AC_SCOPE_ADMIN, true},
    {"DELETE", "/v1/tenants/*", ac_api_tenants, AC_SCOPE_ADMIN, false},
    {"GET", "/v1/types", ac_api_types, AC_SCOPE_READ, false},
    {"POST", "/v1/types", ac_api_types, AC_SCOPE_ADMIN, true},
    {"GET", "/v1/types/*", ac_api_types, AC_SCOPE_READ, false},
    {"PUT", "/v1/types/*", ac_api_types, AC_SCOPE_ADMIN, true},
    {"DELETE", "/v1/types/*", ac_api_types, AC_SCOPE_ADMIN, false},
    {"GET", "/v1/contacts", ac_api_contacts, AC_SCOPE_READ, false},
    {"POST", "/v1/contacts", ac_api_contacts, AC_SCOPE_ADMIN, true},
    {"GET", "/v1/contacts/*", ac_api_contacts, AC_SCOPE_READ, false},
    {"PUT", "/v1/contacts/*", ac_api_contacts, AC_SCOPE_ADMIN, true},
    {"DELETE", "/v1/contacts/*", ac_api_contacts, AC_SCOPE_ADMIN, false},
    {"GET", "/v1/schedules/*/oncall", ac_api_schedule_oncall, AC_SCOPE_READ, false},
    {"GET", "/v1/oncall", ac_api_oncall_now, AC_SCOPE_READ, false},
    {"GET", "/v1/schedules", ac_api_schedules, AC_SCOPE_READ, false},
    {"POST", "/v1/schedules", ac_api_schedules, AC_SCOPE_ADMIN, true},
    {"GET", "/v1/schedules/*", ac_api_schedules, AC_SCOPE_READ, false},
    {"PUT", "/v1/schedules/*", ac_api_schedules, AC_SCOPE_ADMIN, true},
    {"DELETE", "/v1/schedules/*", ac_api_schedules, AC_SCOPE_ADMIN, false},
    {"GET", "/v1/teams", ac_api_teams, AC_SCOPE_READ, false},
    {"POST", "/v1/teams", ac_api_teams, AC_SCOPE_ADMIN, true},
    {"GET", "/v1/teams/*", ac_api_teams, AC_SCOPE_READ, false},
    {"PUT", "/v1/teams/*", ac_api_teams, AC_SCOPE_ADMIN, true},
    {"DELETE", "/v1/teams/*", ac_api_teams, AC_SCOPE_ADMIN, false},
    {"GET", "/v1/routes", ac_api_routes, AC_SCOPE_READ, false},
    {"POST", "/v1/routes", ac_api_routes, AC_SCOPE_ADMIN, true},
    {"GET", "/v1/routes/*", ac_api_routes, AC_SCOPE_READ, false},
    {"PUT", "/v1/routes/*", ac_api_routes, AC_SCOPE_ADMIN, true},
    {"DELETE", "/v1/routes/*", ac_api_routes, AC_SCOPE_ADMIN, false},
    /* authorized by the signed link itself; GET shows, POST acts (once) */
    {"GET", "/v1/actions/*", ac_api_action, 0, false},
    {"POST", "/v1/actions/*", ac_api_action_post, 0, false},
    {"GET", "/v1/notifications", ac_api_notifications, AC_SCOPE_READ, false},
    {"GET", "/v1/audit", ac_api_audit, AC_SCOPE_READ, false},
    {"GET", "/v1/stats", ac_api_stats, AC_SCOPE_READ, false},
    {"GET", "/v1/summary", ac_api_summary, AC_SCOPE_READ, false},
    {"GET", "/v1/export/*", ac_api_export_route, AC_SCOPE_READ, false},
    {"GET", "/v1/subscriptions", ac_api_subscriptions, AC_SCOPE_READ | AC_SCOPE_TENANT, false},
    {"POST", "/v1/subscriptions", ac_api_subscriptions, AC_SCOPE_ADMIN | AC_SCOPE_TENANT, true},
    {"GET", "/v1/subscriptions/*", ac_api_subscription, AC_SCOPE_READ | AC_SCOPE_TENANT, false},
    {"PUT", "/v1/subscriptions/*", ac_api_subscription, AC_SCOPE_ADMIN | AC_SCOPE_TENANT, true},
    {"DELETE", "/v1/subscriptions/*", ac_api_subscription, AC_SCOPE_ADMIN | AC_SCOPE_TENANT, false},
    {"GET", "/v1/tenants/*/events", ac_api_tenant_events, AC_SCOPE_READ | AC_SCOPE_TENANT, false},
    {"GET", "/v1/silences", ac_api_silences, AC_SCOPE_READ, false},
    {"GET", "/v1/silences/*", ac_api_silences, AC_SCOPE_READ, false},
    {"POST", "/v1/silences", ac_api_silences, AC_SCOPE_OPERATE, true},
    {"DELETE", "/v1/silences/*", ac_api_silences, AC_SCOPE_OPERATE, false},
    {"GET", "/v1/tokens", ac_api_tokens, AC_SCOPE_ADMIN, false},
    {"POST", "/v1/tokens", ac_api_tokens, AC_SCOPE_ADMIN, true},
    {"GET", "/v1/tokens/*", ac_api_tokens, AC_SCOPE_ADMIN, false},
    {"DELETE", "/v1/tokens/*", ac_api_tokens, AC_SCOPE_ADMIN, false},
    {NULL, NULL, NULL, 0, false},
};

const size_t ac_http_nroutes = sizeof(ac_http_route_table) / sizeof(*ac_http_route_table) - 1;

/* Matches url against a pattern segment by segment; "*" matches one
 * non-empty segment, whose value goes to *arg (new) if arg is not NULL. */
static bool http_path_match(const char *pattern, const char *url, char **arg)
{
    const char *p = pattern, *u = url;

    while (*p && *u) {
        size_t pl = strcspn(p, "/"), ul = strcspn(u, "/");
        if (pl == 1 && *p == '*') {
            if (ul == 0) {
                return false;
            }
            if (arg && !*arg) {
                *arg = ac_xstrndup(u, ul);
            }
        }
        else if (pl != ul || strncmp(p, u, pl) != 0) {
            return false;
        }
        p += pl;
        u += ul;
        if (*p != *u) {
            return false; /* one has a '/' where the other ended */
        }
        if (*p == '/') {
            p++;
            u++;
        }
    }
    return *p == '\0' && *u == '\0';
}

const struct ac_http_route *ac_http_route_match(const char *method, const char *url, char **arg,
                                                bool *path_known)
{
    *path_known = false;
    *arg = NULL;
    for (const struct ac_http_route *rt = ac_http_route_table; rt->method; rt++) {
        if (!http_path_match(rt->path, url, NULL)) {
            continue;
        }
        *path_known = true;
        if (strcmp(method, rt->method) == 0 ||
            (strcmp(method, "HEAD") == 0 && strcmp(rt->method, "GET") == 0)) {
            (void)http_path_match(rt->path, url, arg);
            return rt;
        }
    }
    return NULL;
}

json_t *ac_http_routes(void)
{
    json_t *out = json_array();

    for (const struct ac_http_route *rt = ac_http_route_table; rt->method; rt++) {
        char names[64];
        json_array_append_new(
            out,
            json_pack("{s:s, s:s, s:s, s:b}", "method", rt->method, "path", rt->path, "scope",
                      rt->scope ? ac_scope_names(rt->scope, names) : "public", "body", rt->body));
    }
    return out;
}
