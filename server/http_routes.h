/* SPDX-License-Identifier: Apache-2.0 */
/* The route table of the HTTP server (server/http_routes.c), for http.c. */
#ifndef AC_SERVER_HTTP_ROUTES_H
#define AC_SERVER_HTTP_ROUTES_H

#include <stdbool.h>
#include <stddef.h>

#include "server/http.h"

struct ac_http_route {
    const char *method;
    const char *path; /* "*" matches one non-empty segment, passed as path_arg */
    ac_http_handler fn;
    unsigned scope; /* 0 = public */
    bool body;      /* accepts a request body */
};

/* Every route, ended by one of NULLs; ac_http_nroutes of them. */
extern const struct ac_http_route ac_http_route_table[];
extern const size_t ac_http_nroutes;

/* The route of method and url, and its {id} in *arg (new, or NULL); NULL
 * when none, *path_known telling 404 (no such path) from 405. */
const struct ac_http_route *ac_http_route_match(const char *method, const char *url, char **arg,
                                                bool *path_known);

#endif
