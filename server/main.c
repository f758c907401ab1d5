/* SPDX-License-Identifier: Apache-2.0 */
/* alertcenter: the entry point and its subcommands. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/ctl.h"
#include "server/audit.h"
#include "server/core/mem.h"
#include "server/http.h"
#include "server/server.h"
#include "server/tokens.h"

static const char main_usage[] =
    "usage: alertcenter <command> [options]\n"
    "\n"
    "commands:\n"
    "  serve          run the server (applies pending migrations first)\n"
    "  migrate        apply pending database migrations and exit\n"
    "  check-config   validate a configuration and print it, secrets masked\n"
    "  routes         print every HTTP route with its scope (JSON)\n"
    "  token          create, list or revoke database tokens\n"
    "  audit          verify the audit log's hash chain\n"
    "  ctl            the API's command-line client (incidents, alerts, silences, on call...)\n"
    "  version        print the version\n"
    "\n"
    "Run 'alertcenter <command> --help' for a command's options.\n";

static int main_routes(const char *config_path)
{
    json_t *routes = ac_http_routes();
    char *s = json_dumps(routes, JSON_INDENT(1));

    (void)config_path;
    puts(s);
    free(s);
    json_decref(routes);
    return 0;
}

static const struct {
    const char *name;
    const char *help;
    int (*fn)(const char *config_path);
} main_cmds[] = {
    {"serve",
     "usage: alertcenter serve [-c FILE]\n\n"
     "Runs the HTTP server. Without -c, built-in defaults apply (127.0.0.1:8080, local\n"
     "PostgreSQL and Redis). AC_* environment variables override the file.\n",
     ac_cmd_serve},
    {"migrate",
     "usage: alertcenter migrate [-c FILE]\n\n"
     "Applies pending migrations, each once and in its own transaction.\n",
     ac_cmd_migrate},
    {"check-config",
     "usage: alertcenter check-config [-c FILE]\n\n"
     "Validates the configuration (file, then AC_* overrides) and prints the effective\n"
     "values with secrets masked. Exits 2 if it is not valid.\n",
     ac_cmd_check_config},
    {"routes",
     "usage: alertcenter routes\n\n"
     "Prints every HTTP route the server registers, with its method, path (\"*\" for an\n"
     "id segment) and scope, as a JSON array (docs/openapi.json documents each).\n",
     main_routes},
};

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL;
    int c;

    ac_mem_init();
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(main_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        if (argc > 2 && strcmp(argv[2], "--help") == 0) {
            puts("usage: alertcenter version\n\nPrints the version.");
            return 0;
        }
        printf("alertcenter %s\n", AC_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "token") == 0) {
        return ac_cmd_token(argc - 2, argv + 2);
    }
    if (strcmp(argv[1], "ctl") == 0) {
        return ac_cmd_ctl(argc - 2, argv + 2);
    }
    if (strcmp(argv[1], "audit") == 0) {
        return ac_cmd_audit(argc - 2, argv + 2);
    }
    for (size_t i = 0; i < sizeof(main_cmds) / sizeof(main_cmds[0]); i++) {
        if (strcmp(argv[1], main_cmds[i].name) != 0) {
            continue;
        }
        optind = 2;
        while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
            switch (c) {
                case 'c':
                    config = optarg;
                    break;
                case 'h':
                    fputs(main_cmds[i].help, stdout);
                    return 0;
                default:
                    fputs(main_cmds[i].help, stderr);
                    return 2;
            }
        }
        if (optind < argc) {
            fprintf(stderr, "unexpected argument: %s\n", argv[optind]);
            fputs(main_cmds[i].help, stderr);
            return 2;
        }
        return main_cmds[i].fn(config);
    }
    fprintf(stderr, "unknown command: %s\n\n%s", argv[1], main_usage);
    return 2;
}
