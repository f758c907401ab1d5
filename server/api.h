/* SPDX-License-Identifier: Apache-2.0 */
/* The route handlers, one group per file (api_ingest.c, api_query.c, health.c);
 * what they share is apikit.h. */
#ifndef AC_SERVER_API_H
#define AC_SERVER_API_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "server/http.h"

void ac_api_ingest_events(struct ac_http_req *r);       /* POST /v1/events */
void ac_api_ingest_am_v2(struct ac_http_req *r);        /* POST /api/v2/alerts */
void ac_api_ingest_am_webhook(struct ac_http_req *r);   /* POST /v1/ingest/alertmanager */
void ac_api_am_status(struct ac_http_req *r);           /* GET /api/v2/status */
void ac_api_am_alerts(struct ac_http_req *r);           /* GET /api/v2/alerts */
void ac_api_am_silences(struct ac_http_req *r);         /* GET, POST /api/v2/silences */
void ac_api_am_silence(struct ac_http_req *r);          /* GET, DELETE /api/v2/silence/{id} */
void ac_api_ingest_pagerduty(struct ac_http_req *r);    /* POST /v2/enqueue */
void ac_api_heartbeats_post(struct ac_http_req *r);     /* POST /v1/heartbeats */
void ac_api_heartbeats_get(struct ac_http_req *r);      /* GET /v1/heartbeats */
void ac_api_list_events(struct ac_http_req *r);         /* GET /v1/events */
void ac_api_list_alerts(struct ac_http_req *r);         /* GET /v1/alerts */
void ac_api_get_alert(struct ac_http_req *r);           /* GET /v1/alerts/{id} */
void ac_api_alert_ack(struct ac_http_req *r);           /* POST /v1/alerts/{id}/ack */
void ac_api_alert_resolve(struct ac_http_req *r);       /* POST /v1/alerts/{id}/resolve */
void ac_api_alerts_ack(struct ac_http_req *r);          /* POST /v1/alerts/ack (by matchers) */
void ac_api_inhibit_rules(struct ac_http_req *r);       /* /v1/inhibit_rules[/{id}] */
void ac_api_list_incidents(struct ac_http_req *r);      /* GET /v1/incidents */
void ac_api_get_incident(struct ac_http_req *r);        /* GET /v1/incidents/{id} */
void ac_api_incident_ack(struct ac_http_req *r);        /* POST /v1/incidents/{id}/ack */
void ac_api_incident_resolve(struct ac_http_req *r);    /* POST /v1/incidents/{id}/resolve */
void ac_api_rules(struct ac_http_req *r);               /* /v1/rules[/{id}] */
void ac_api_apps(struct ac_http_req *r);                /* /v1/apps[/{app_id}] */
void ac_api_tenants(struct ac_http_req *r);             /* /v1/tenants[/{user_id}] */
void ac_api_types(struct ac_http_req *r);               /* /v1/types[/{type}] */
void ac_api_escalation_policies(struct ac_http_req *r); /* GET /v1/escalation/policies */
void ac_api_escalation_windows(struct ac_http_req *r);  /* GET /v1/escalation/windows */
void ac_api_contacts(struct ac_http_req *r);            /* /v1/contacts[/{id}] */
void ac_api_schedules(struct ac_http_req *r);           /* /v1/schedules[/{id}] */
void ac_api_schedule_oncall(struct ac_http_req *r);     /* GET /v1/schedules/{id}/oncall */
void ac_api_oncall_now(struct ac_http_req *r);          /* GET /v1/oncall */
void ac_api_teams(struct ac_http_req *r);               /* /v1/teams[/{id}] */
void ac_api_routes(struct ac_http_req *r);              /* /v1/routes[/{id}] */
void ac_api_silences(struct ac_http_req *r);            /* /v1/silences[/{id}] */
/* A silence as POST /v1/silences takes it (body borrowed), audited under
 * actor; replaces: a silence (id) ended in the same transaction, or NULL.
 * The stored silence (new), or NULL after answering 400, 404 or 503. */
json_t *ac_silence_create(struct ac_http_req *r, const json_t *body, const char *actor,
                          const char *replaces);
/* Ends silence id now, audited under actor: the silence (new), or NULL after
 * answering 404 (none, or ended already) or 503. */
json_t *ac_silence_expire(struct ac_http_req *r, const char *id, const char *actor);
void ac_api_notifications(struct ac_http_req *r); /* GET /v1/notifications */
void ac_api_audit(struct ac_http_req *r);         /* GET /v1/audit */
void ac_api_stats(struct ac_http_req *r);         /* GET /v1/stats */
void ac_api_summary(struct ac_http_req *r);       /* GET /v1/summary */
void ac_api_console(struct ac_http_req *r);       /* GET /, GET /ui/{file} */
void ac_api_export_route(struct ac_http_req *r);  /* GET /v1/export/{kind} */
void ac_api_export_audit(struct ac_http_req *r);  /* its audit */
void ac_api_subscriptions(struct ac_http_req *r); /* GET, POST /v1/subscriptions */
void ac_api_subscription(struct ac_http_req *r);  /* GET, PUT, DELETE .../{id} */
void ac_api_tenant_events(struct ac_http_req *r); /* GET /v1/tenants/{id}/events */
/* Checks the stats section (targets); problems appended to errs. 0 or -1. */
int ac_stats_config_check(const json_t *cfg, json_t *errs);
void ac_api_action(struct ac_http_req *r);      /* GET /v1/actions/{token} (signed) */
void ac_api_action_post(struct ac_http_req *r); /* POST /v1/actions/{token} */
void ac_api_metrics(struct ac_http_req *r);     /* GET /metrics */
void ac_api_healthz(struct ac_http_req *r);     /* GET /healthz */
void ac_api_openapi(struct ac_http_req *r);     /* GET /openapi.json */
void ac_api_tokens(struct ac_http_req *r);      /* /v1/tokens[/{id}] (admin) */
void ac_api_readyz(struct ac_http_req *r);      /* GET /readyz */

/* Registers the process and cluster collectors (api_metrics.c). */
struct ac_server;
void ac_api_metrics_register(struct ac_server *srv);

#endif
