/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The web console (web/): GET / answers the page, GET /ui/{file} its script
 * and style sheet, all embedded in the binary at build time (no CDN, no
 * fetch elsewhere). Open routes: the page asks for a token and every data
 * call it makes carries it. Each answer carries a strict
 * Content-Security-Policy (scripts and styles from this server only, no
 * inline script or style, no framing, fetches to this origin only) and an
 * ETag (http.c), so a reload costs a 304.
 */
#include <string.h>

#include "server/api.h"
#include "server/core/mem.h"

extern const char ac_web_index_html[], ac_web_app_js[], ac_web_app_css[];
extern const unsigned long ac_web_index_html_len, ac_web_app_js_len, ac_web_app_css_len;

#define CONSOLE_CSP                                                                                \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"               \
    " connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

static const struct {
    const char *name; /* under /ui/; "" for the page itself */
    const char *data;
    const unsigned long *len;
    const char *type;
} console_files[] = {
    {"", ac_web_index_html, &ac_web_index_html_len, "text/html; charset=utf-8"},
    {"app.js", ac_web_app_js, &ac_web_app_js_len, "text/javascript; charset=utf-8"},
    {"app.css", ac_web_app_css, &ac_web_app_css_len, "text/css; charset=utf-8"},
};

void ac_api_console(struct ac_http_req *r)
{
    const char *name = r->path_arg ? r->path_arg : "";

    for (size_t i = 0; i < sizeof(console_files) / sizeof(console_files[0]); i++) {
        if (strcmp(console_files[i].name, name) != 0) {
            continue;
        }
        ac_http_reply_text(r, 200, ac_xstrndup(console_files[i].data, *console_files[i].len),
                           *console_files[i].len, console_files[i].type);
        ac_http_add_header(r, "Content-Security-Policy", CONSOLE_CSP);
        ac_http_add_header(r, "X-Content-Type-Options", "nosniff");
        ac_http_add_header(r, "X-Frame-Options", "DENY");
        ac_http_add_header(r, "Referrer-Policy", "no-referrer");
        ac_http_add_header(r, "Cache-Control", "no-cache");
        return;
    }
    ac_http_reply_error(r, 404, "not_found", "no such file of the console", NULL);
}
