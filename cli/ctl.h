/* SPDX-License-Identifier: Apache-2.0 */
/* alertcenter ctl: the command-line client of the HTTP API (docs/cli.md). */
#ifndef AC_CLI_CTL_H
#define AC_CLI_CTL_H

/* argv: what follows "ctl". Returns the exit code (cli/ctl_fmt.h). */
int ac_cmd_ctl(int argc, char **argv);

#endif
