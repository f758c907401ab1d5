/* SPDX-License-Identifier: Apache-2.0 */
/*
 * alertcenter ctl: the command-line client of the HTTP API (docs/cli.md).
 * The server's URL from --url or AC_URL (default http://127.0.0.1:8080), the
 * bearer token from AC_TOKEN or the file named by --token-file /
 * AC_TOKEN_FILE; --cacert / AC_CACERT for a private CA. Tables for people,
 * -o json for scripts (the API's own answer), exit codes in ctl_fmt.h.
 * Filters are passed to the API as they are (--level P1 → ?level=P1): the
 * server checks them, and its refusal is printed with exit code 4.
 */
#include "cli/ctl.h"

#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/ctl_fmt.h"
#include "server/core/matcher.h"
#include "server/core/mem.h"

#define CTL_BODY_MAX (64L << 20) /* events send: stdin read at most this */

static const char ctl_usage[] =
    "usage: alertcenter ctl [--url URL] [--token-file FILE] [--cacert FILE] [-o table|json]\n"
    "                       <command> ...\n"
    "\n"
    "commands:\n"
    "  incidents list [--FILTER VALUE]...   open incidents (--status all for every one)\n"
    "  incidents show|ack|resolve ID [--by NAME] [--comment TEXT]\n"
    "  alerts list [--FILTER VALUE]...      alerts (--level P1 --type T --app-id A --q TEXT ...)\n"
    "  alerts show|ack|resolve ID [--by NAME] [--comment TEXT]\n"
    "  silence add [MATCHER]... (--duration 2h | --ends TIME) [--comment TEXT]\n"
    "              [--alert ID | --incident ID] [--starts TIME]\n"
    "  silence list [--all]\n"
    "  silence end ID\n"
    "  oncall [TEAM]                        who is on call now, per team and tier\n"
    "  audit [--FILTER VALUE]...            the audit log (--actor, --action, --since ...)\n"
    "  events send                          POST the JSON (or NDJSON) on stdin to /v1/events\n"
    "\n"
    "The token: AC_TOKEN, or the file --token-file / AC_TOKEN_FILE names.\n"
    "Exit codes: 0 ok, 1 other error, 2 usage, 3 not found, 4 refused (invalid),\n"
    "5 not authorized, 6 unavailable (no connection, busy, server error).\n";

struct ctl {
    const char *url;
    char *token;
    const char *cacert;
    bool json;
};

struct ctl_resp {
    long status;
    struct ac_buf body;
};

static size_t ctl_write(char *p, size_t size, size_t n, void *arg)
{
    ac_buf_append(arg, p, size * n);
    return size * n;
}

/* One request; the answer in *resp (its body NUL-terminated). False when
 * no answer came (printed). */
static bool ctl_http(const struct ctl *c, const char *method, const char *path, const char *body,
                     const char *ctype, struct ctl_resp *resp)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hd = NULL;
    char *url = ac_xasprintf("%s%s", c->url, path), *auth = NULL, *ct = NULL;
    CURLcode rc;

    memset(resp, 0, sizeof(*resp));
    ac_buf_append(&resp->body, "", 0);
    if (c->token) {
        auth = ac_xasprintf("Authorization: Bearer %s", c->token);
        hd = curl_slist_append(hd, auth);
    }
    if (body) {
        ct = ac_xasprintf("Content-Type: %s", ctype ? ctype : "application/json");
        hd = curl_slist_append(hd, ct);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, ctl_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp->body);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (c->cacert) {
        curl_easy_setopt(h, CURLOPT_CAINFO, c->cacert);
    }
    rc = curl_easy_perform(h);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    }
    else {
        fprintf(stderr, "alertcenter ctl: %s: %s\n", url, curl_easy_strerror(rc));
    }
    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
    free(url);
    free(auth);
    free(ct);
    return rc == CURLE_OK;
}

/* Prints a refusal (the API's error message and details) on stderr. */
static void ctl_print_error(const struct ctl_resp *r)
{
    json_t *j = json_loads(r->body.data, 0, NULL), *e = json_object_get(j, "error"), *d;
    size_t i;

    if (!e) {
        fprintf(stderr, "alertcenter ctl: HTTP %ld\n", r->status);
    }
    else {
        fprintf(stderr, "alertcenter ctl: %s (%s, HTTP %ld)\n",
                json_string_value(json_object_get(e, "message")) ?: "error",
                json_string_value(json_object_get(e, "code")) ?: "?", r->status);
        json_array_foreach(json_object_get(e, "details"), i, d)
        {
            fprintf(stderr, "  %s: %s\n", json_string_value(json_object_get(d, "path")) ?: "$",
                    json_string_value(json_object_get(d, "message")) ?: "");
        }
    }
    json_decref(j);
}

/* Runs a request and prints its answer: -o json as the server sent it,
 * else through show (NULL: nothing). Returns the exit code. */
static int ctl_run(const struct ctl *c, const char *method, const char *path, const char *body,
                   const char *ctype, void (*show)(const json_t *answer))
{
    struct ctl_resp r;
    int code;
    json_t *j;

    if (!ctl_http(c, method, path, body, ctype, &r)) {
        ac_buf_deinit(&r.body);
        return AC_CTL_UNAVAILABLE;
    }
    code = ac_ctl_exit_of(r.status);
    if (code != AC_CTL_OK) {
        ctl_print_error(&r);
    }
    else if (c->json) {
        fputs(r.body.data, stdout);
        if (r.body.len && r.body.data[r.body.len - 1] != '\n') {
            fputc('\n', stdout);
        }
    }
    else if (show) {
        j = json_loads(r.body.data, 0, NULL);
        if (!j) {
            fprintf(stderr, "alertcenter ctl: the answer is not JSON\n");
            code = AC_CTL_FAIL;
        }
        else {
            show(j);
        }
        json_decref(j);
    }
    ac_buf_deinit(&r.body);
    return code;
}

/* --- the views ----------------------------------------------------------------- */

static void ctl_print_table(const json_t *items, const struct ac_ctl_col *cols, int n)
{
    char *t = ac_ctl_table(items, cols, n);

    fputs(t, stdout);
    free(t);
}

static void ctl_page_hint(const json_t *answer)
{
    const char *next = json_string_value(json_object_get(answer, "next_cursor"));

    if (next) {
        fprintf(stderr, "(more: add --cursor %s)\n", next);
    }
}

static void show_incidents(const json_t *a)
{
    static const struct ac_ctl_col cols[] = {
        {"ID", "id", 0},
        {"LEVEL", "level", 0},
        {"STATUS", "status", 0},
        {"TEAM", "team_id", 0},
        {"ALERTS", "open_alerts", 0},
        {"APPS", "apps", 0},
        {"SINCE", "first_seen", 0},
        {"TITLE", "title", 60},
    };
    ctl_print_table(json_object_get(a, "items"), cols, 8);
    ctl_page_hint(a);
}

static void show_alerts(const json_t *a)
{
    static const struct ac_ctl_col cols[] = {
        {"ID", "id", 0},
        {"LEVEL", "level", 0},
        {"STATUS", "status", 0},
        {"TYPE", "type", 24},
        {"APP", "app_id", 20},
        {"COUNT", "count", 0},
        {"LAST SEEN", "last_seen", 0},
        {"TITLE", "title", 60},
    };
    ctl_print_table(json_object_get(a, "items"), cols, 8);
    ctl_page_hint(a);
}

static void show_timeline(const json_t *a)
{
    static const struct ac_ctl_col cols[] = {
        {"AT", "at", 0},
        {"ACTION", "action", 0},
        {"BY", "actor", 28},
        {"DETAILS", "details", 90},
    };
    ctl_print_table(json_object_get(a, "timeline"), cols, 4);
}

/* One incident or alert: its fields, then its timeline. */
static void show_one(const json_t *a)
{
    static const char *const keys[] = {
        "id",          "type",       "title",     "level",     "initial_level", "level_reason",
        "status",      "team_id",    "tier",      "alerts",    "open_alerts",   "apps",
        "gc_users",    "count",      "app_id",    "namespace", "cluster",       "region",
        "incident_id", "first_seen", "last_seen", "acked_at",  "acked_by",      "resolved_at",
        "runbook_url", NULL};
    for (const char *const *k = keys; *k; k++) {
        char *v = ac_ctl_field(a, *k);
        if (v) {
            printf("%-14s %s\n", *k, v);
        }
        free(v);
    }
    if (json_array_size(json_object_get(a, "timeline"))) {
        putchar('\n');
        show_timeline(a);
    }
}

static void show_changed(const json_t *a)
{
    printf("%s: %s\n", json_string_value(json_object_get(a, "id")) ?: "?",
           json_string_value(json_object_get(a, "status")) ?: "done");
}

/* A silence's matchers as text: type="DiskFull" labels.team=~"s.*" (new). */
static json_t *ctl_matchers_text(const json_t *ms)
{
    struct ac_buf b = {0};
    json_t *m, *out;
    size_t i;

    ac_buf_append(&b, "", 0);
    json_array_foreach(ms, i, m)
    {
        char *v = json_dumps(json_object_get(m, "value"), JSON_ENCODE_ANY);
        ac_buf_printf(&b, "%s%s%s%s", i ? " " : "", json_string_value(json_object_get(m, "name")),
                      json_string_value(json_object_get(m, "op")), v ? v : "\"\"");
        free(v);
    }
    out = json_string(b.data);
    ac_buf_deinit(&b);
    return out;
}

static void show_silences(const json_t *a)
{
    static const struct ac_ctl_col cols[] = {
        {"ID", "id", 0},           {"ACTIVE", "active", 0},        {"ENDS", "ends_at", 0},
        {"ALERT", "alert_id", 0},  {"INCIDENT", "incident_id", 0}, {"BY", "created_by", 24},
        {"MATCHERS", "match", 60}, {"COMMENT", "comment", 40},
    };
    json_t *items = json_deep_copy(json_object_get(a, "items")), *s;
    size_t i;

    json_array_foreach(items, i, s)
    {
        json_object_set_new(s, "match", ctl_matchers_text(json_object_get(s, "matchers")));
    }
    ctl_print_table(items, cols, 8);
    json_decref(items);
    ctl_page_hint(a);
}

static void show_silence(const json_t *a)
{
    printf("silence %s%s\n", json_string_value(json_object_get(a, "id")) ?: "?",
           json_string_value(json_object_get(a, "expired_at")) ? " ended" : "");
}

static void show_audit(const json_t *a)
{
    static const struct ac_ctl_col cols[] = {
        {"ID", "id", 0},
        {"AT", "at", 0},
        {"ACTOR", "actor", 28},
        {"ACTION", "action", 0},
        {"TARGET", "target_type", 0},
        {"TARGET ID", "target_id", 0},
    };
    ctl_print_table(json_object_get(a, "items"), cols, 6);
    ctl_page_hint(a);
}

/* Flattens GET /v1/oncall into one row a target. */
static void show_oncall(const json_t *a)
{
    static const struct ac_ctl_col cols[] = {
        {"TEAM", "team", 0}, {"TIER", "tier", 0},   {"VIA", "via", 0},
        {"WHO", "who", 0},   {"UNTIL", "until", 0},
    };
    json_t *rows = json_array(), *t, *tier, *x;
    size_t i, k, m;

    json_array_foreach(json_object_get(a, "teams"), i, t)
    {
        json_array_foreach(json_object_get(t, "tiers"), k, tier)
        {
            json_array_foreach(json_object_get(tier, "targets"), m, x)
            {
                const char *kind = json_string_value(json_object_get(x, "kind"));
                json_t *via = strcmp(kind, "schedule") == 0
                                  ? json_sprintf("schedule %s",
                                                 json_string_value(json_object_get(x, "schedule")))
                                  : json_string(kind);
                json_array_append_new(
                    rows,
                    json_pack("{s:O, s:O, s:o, s:O, s:O}", "team", json_object_get(t, "name"),
                              "tier", json_object_get(tier, "tier"), "via", via, "who",
                              json_object_get(json_object_get(x, "contact"), "name") ?: json_null(),
                              "until", json_object_get(x, "until") ?: json_null()));
            }
        }
    }
    ctl_print_table(rows, cols, 5);
    json_decref(rows);
}

static void show_sent(const json_t *a)
{
    printf("accepted %lld, duplicates %lld, dropped %lld\n",
           (long long)json_integer_value(json_object_get(a, "accepted")),
           (long long)json_integer_value(json_object_get(a, "duplicates")),
           (long long)json_integer_value(json_object_get(a, "dropped")));
}

/* --- commands ------------------------------------------------------------------ */

/* "?a=1&b=2" from --a 1 --b 2 (dashes in names become underscores), values
 * URL-encoded; extra: pairs already chosen (NULL-terminated, may be NULL).
 * NULL after a usage error (printed). */
static char *ctl_query(int argc, char **argv, const char *const *extra)
{
    struct ac_buf q = {0};
    CURL *h = curl_easy_init();

    ac_buf_append(&q, "", 0);
    for (const char *const *e = extra; e && *e; e += 2) {
        char *v = curl_easy_escape(h, e[1], 0);
        ac_buf_printf(&q, "%c%s=%s", q.len ? '&' : '?', e[0], v);
        curl_free(v);
    }
    for (int i = 0; i < argc; i += 2) {
        if (strncmp(argv[i], "--", 2) != 0 || !argv[i][2] || i + 1 >= argc) {
            fprintf(stderr, "alertcenter ctl: expected --FILTER VALUE, got %s\n", argv[i]);
            ac_buf_deinit(&q);
            curl_easy_cleanup(h);
            return NULL;
        }
        char *name = ac_xstrdup(argv[i] + 2), *v = curl_easy_escape(h, argv[i + 1], 0);
        for (char *p = name; *p; p++) {
            *p = *p == '-' ? '_' : *p;
        }
        ac_buf_printf(&q, "%c%s=%s", q.len ? '&' : '?', name, v);
        free(name);
        curl_free(v);
    }
    curl_easy_cleanup(h);
    return ac_buf_steal(&q);
}

static int ctl_list(const struct ctl *c, const char *path, int argc, char **argv,
                    const char *const *extra, void (*show)(const json_t *))
{
    char *q = ctl_query(argc, argv, extra), *url;
    int rc;

    if (!q) {
        return AC_CTL_USAGE;
    }
    url = ac_xasprintf("%s%s", path, q);
    rc = ctl_run(c, "GET", url, NULL, NULL, show);
    free(url);
    free(q);
    return rc;
}

/* ack / resolve ID [--by NAME] [--comment TEXT] */
static int ctl_transition(const struct ctl *c, const char *what, const char *verb, int argc,
                          char **argv)
{
    json_t *body = json_object();
    char *path, *text;
    int rc;

    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc || (strcmp(argv[i], "--by") != 0 && strcmp(argv[i], "--comment") != 0)) {
            fprintf(stderr, "alertcenter ctl: %s %s ID [--by NAME] [--comment TEXT]\n", what, verb);
            json_decref(body);
            return AC_CTL_USAGE;
        }
        json_object_set_new(body, argv[i] + 2, json_string(argv[i + 1]));
    }
    path = ac_xasprintf("/v1/%s/%s/%s", what, argv[0], verb);
    text = json_dumps(body, JSON_COMPACT);
    rc = ctl_run(c, "POST", path, text, NULL, show_changed);
    free(path);
    free(text);
    json_decref(body);
    return rc;
}

/* incidents|alerts list|show|ack|resolve */
static int ctl_items(const struct ctl *c, const char *what, int argc, char **argv)
{
    static const char *const open_only[] = {"status", "active", NULL};
    bool incidents = strcmp(what, "incidents") == 0;
    char path[64];
    bool has_status = false;

    if (argc < 1) {
        fprintf(stderr, "alertcenter ctl: %s list|show|ack|resolve\n", what);
        return AC_CTL_USAGE;
    }
    if (strcmp(argv[0], "list") == 0) {
        for (int i = 1; i < argc; i++) {
            has_status = has_status || strcmp(argv[i], "--status") == 0;
        }
        (void)snprintf(path, sizeof(path), "/v1/%s", what);
        /* incidents: open or acknowledged unless a status is asked for */
        return ctl_list(c, path, argc - 1, argv + 1, incidents && !has_status ? open_only : NULL,
                        incidents ? show_incidents : show_alerts);
    }
    if (argc < 2) {
        fprintf(stderr, "alertcenter ctl: %s %s ID\n", what, argv[0]);
        return AC_CTL_USAGE;
    }
    if (strcmp(argv[0], "show") == 0 && argc == 2) {
        char *p = ac_xasprintf("/v1/%s/%s", what, argv[1]);
        int rc = ctl_run(c, "GET", p, NULL, NULL, show_one);
        free(p);
        return rc;
    }
    if (strcmp(argv[0], "ack") == 0 || strcmp(argv[0], "resolve") == 0) {
        return ctl_transition(c, what, argv[0], argc - 1, argv + 1);
    }
    fprintf(stderr, "alertcenter ctl: %s list|show|ack|resolve\n", what);
    return AC_CTL_USAGE;
}

static int ctl_silence_add(const struct ctl *c, int argc, char **argv)
{
    json_t *body = json_object(), *ms = json_array();
    char err[160], *text;
    int rc = AC_CTL_USAGE;
    int64_t dur;

    for (int i = 0; i < argc; i++) {
        const char *opt = argv[i];
        if (strncmp(opt, "--", 2) != 0) {
            json_t *m = ac_matcher_parse_text(opt, err, sizeof(err));
            if (!m) {
                fprintf(stderr, "alertcenter ctl: %s\n", err);
                goto out;
            }
            json_array_append_new(ms, m);
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "alertcenter ctl: %s needs a value\n", opt);
            goto out;
        }
        const char *v = argv[++i];
        if (strcmp(opt, "--duration") == 0) {
            if (!ac_ctl_duration(v, &dur)) {
                fprintf(stderr, "alertcenter ctl: --duration %s: use 90s, 30m, 2h, 1d or 1h30m\n",
                        v);
                goto out;
            }
            json_object_set_new(body, "duration_s", json_integer(dur));
        }
        else if (strcmp(opt, "--ends") == 0 || strcmp(opt, "--starts") == 0 ||
                 strcmp(opt, "--comment") == 0) {
            json_object_set_new(body,
                                strcmp(opt, "--ends") == 0     ? "ends_at"
                                : strcmp(opt, "--starts") == 0 ? "starts_at"
                                                               : "comment",
                                json_string(v));
        }
        else if (strcmp(opt, "--alert") == 0 || strcmp(opt, "--incident") == 0) {
            json_object_set_new(body, opt[2] == 'a' ? "alert_id" : "incident_id", json_string(v));
        }
        else {
            fprintf(stderr, "alertcenter ctl: silence add: unknown option %s\n", opt);
            goto out;
        }
    }
    if (json_array_size(ms)) {
        json_object_set(body, "matchers", ms);
    }
    text = json_dumps(body, JSON_COMPACT);
    rc = ctl_run(c, "POST", "/v1/silences", text, NULL, show_silence);
    free(text);
out:
    json_decref(ms);
    json_decref(body);
    return rc;
}

static int ctl_silence(const struct ctl *c, int argc, char **argv)
{
    static const char *const all[] = {"state", "all", NULL};

    if (argc >= 1 && strcmp(argv[0], "add") == 0) {
        return ctl_silence_add(c, argc - 1, argv + 1);
    }
    if (argc >= 1 && strcmp(argv[0], "list") == 0 &&
        (argc == 1 || (argc == 2 && strcmp(argv[1], "--all") == 0))) {
        return ctl_list(c, "/v1/silences", 0, NULL, argc == 2 ? all : NULL, show_silences);
    }
    if (argc == 2 && strcmp(argv[0], "end") == 0) {
        char *p = ac_xasprintf("/v1/silences/%s", argv[1]);
        int rc = ctl_run(c, "DELETE", p, NULL, NULL, show_silence);
        free(p);
        return rc;
    }
    fprintf(stderr, "alertcenter ctl: silence add|list|end (see --help)\n");
    return AC_CTL_USAGE;
}

static int ctl_events_send(const struct ctl *c, int argc)
{
    struct ac_buf in = {0};
    char chunk[65536];
    size_t n;
    const char *p, *ctype = "application/json";
    int rc;

    if (argc != 0) {
        fprintf(stderr, "alertcenter ctl: events send takes the events on stdin\n");
        return AC_CTL_USAGE;
    }
    ac_buf_append(&in, "", 0);
    while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
        if ((long)(in.len + n) > CTL_BODY_MAX) {
            fprintf(stderr, "alertcenter ctl: stdin is over 64 MiB\n");
            ac_buf_deinit(&in);
            return AC_CTL_USAGE;
        }
        ac_buf_append(&in, chunk, n);
    }
    /* several lines that each start an object: NDJSON */
    for (p = in.data; *p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'; p++) {
    }
    if (*p == '{') {
        const char *nl = strchr(p, '\n');
        while (nl && (nl[1] == ' ' || nl[1] == '\r' || nl[1] == '\t')) {
            nl++;
        }
        if (nl && nl[1] == '{') {
            ctype = "application/x-ndjson";
        }
    }
    rc = ctl_run(c, "POST", "/v1/events", in.data, ctype, show_sent);
    ac_buf_deinit(&in);
    return rc;
}

/* The token: AC_TOKEN, else the file (first line, trimmed). */
static bool ctl_token(struct ctl *c, const char *file)
{
    const char *env = getenv("AC_TOKEN");
    char buf[4096];
    FILE *f;
    size_t n;

    if (env && *env && !file) {
        c->token = ac_xstrdup(env);
        return true;
    }
    file = file ? file : getenv("AC_TOKEN_FILE");
    if (!file || !*file) {
        return true; /* none: the server answers 401, exit 5 */
    }
    if (!(f = fopen(file, "r"))) {
        fprintf(stderr, "alertcenter ctl: cannot read the token file %s\n", file);
        return false;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    c->token = ac_xstrdup(buf);
    return true;
}

int ac_cmd_ctl(int argc, char **argv)
{
    static const struct option opts[] = {
        {"url", required_argument, NULL, 'u'},    {"token-file", required_argument, NULL, 't'},
        {"cacert", required_argument, NULL, 'k'}, {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    struct ctl c = {.url = getenv("AC_URL"), .cacert = getenv("AC_CACERT")};
    const char *token_file = NULL;
    int opt, rc;

    /* options up to the command; the command's own options follow it */
    optind = 0;
    while ((opt = getopt_long(argc + 1, argv - 1, "+o:h", opts, NULL)) != -1) {
        switch (opt) {
            case 'u':
                c.url = optarg;
                break;
            case 't':
                token_file = optarg;
                break;
            case 'k':
                c.cacert = optarg;
                break;
            case 'o':
                if (strcmp(optarg, "json") != 0 && strcmp(optarg, "table") != 0) {
                    fprintf(stderr, "alertcenter ctl: -o table or -o json\n");
                    return AC_CTL_USAGE;
                }
                c.json = strcmp(optarg, "json") == 0;
                break;
            case 'h':
                fputs(ctl_usage, stdout);
                return AC_CTL_OK;
            default:
                fputs(ctl_usage, stderr);
                return AC_CTL_USAGE;
        }
    }
    argc -= optind - 1;
    argv += optind - 1;
    if (argc < 1) {
        fputs(ctl_usage, stderr);
        return AC_CTL_USAGE;
    }
    if (!c.url || !*c.url) {
        c.url = "http://127.0.0.1:8080";
    }
    if (!ctl_token(&c, token_file)) {
        return AC_CTL_USAGE;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (strcmp(argv[0], "incidents") == 0 || strcmp(argv[0], "alerts") == 0) {
        rc = ctl_items(&c, argv[0], argc - 1, argv + 1);
    }
    else if (strcmp(argv[0], "silence") == 0 || strcmp(argv[0], "silences") == 0) {
        rc = ctl_silence(&c, argc - 1, argv + 1);
    }
    else if (strcmp(argv[0], "oncall") == 0 && argc <= 2) {
        const char *const team[] = {"team", argc == 2 ? argv[1] : NULL, NULL};
        rc = ctl_list(&c, "/v1/oncall", 0, NULL, argc == 2 ? team : NULL, show_oncall);
    }
    else if (strcmp(argv[0], "audit") == 0) {
        rc = ctl_list(&c, "/v1/audit", argc - 1, argv + 1, NULL, show_audit);
    }
    else if (strcmp(argv[0], "events") == 0 && argc >= 2 && strcmp(argv[1], "send") == 0) {
        rc = ctl_events_send(&c, argc - 2);
    }
    else {
        fprintf(stderr, "alertcenter ctl: unknown command %s\n\n%s", argv[0], ctl_usage);
        rc = AC_CTL_USAGE;
    }
    curl_global_cleanup();
    free(c.token);
    return rc;
}
