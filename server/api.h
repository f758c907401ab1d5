/* SPDX-License-Identifier: Apache-2.0 */
/* The route handlers, one group per file (api_ingest.c, api_query.c, health.c). */
#ifndef AC_SERVER_API_H
#define AC_SERVER_API_H

#include "server/http.h"

void ac_api_ingest_events(struct ac_http_req *r); /* POST /v1/events */
void ac_api_list_events(struct ac_http_req *r);   /* GET /v1/events */
void ac_api_list_alerts(struct ac_http_req *r);   /* GET /v1/alerts */
void ac_api_get_alert(struct ac_http_req *r);     /* GET /v1/alerts/{id} */
void ac_api_healthz(struct ac_http_req *r);       /* GET /healthz */
void ac_api_readyz(struct ac_http_req *r);        /* GET /readyz */

#endif
