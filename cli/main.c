/* main.c - the `hearth` command: global options, the table of subcommands, and the
 * one place that turns a run into an exit status.
 *
 *   hearth [-d DIR] [--json] COMMAND [ARGS]
 *
 * Each subcommand lives in cli/cmd_NAME.c and defines `const struct cli_command
 * cmd_NAME` (cli.h). To add one, write that file and add X(NAME) to COMMANDS below;
 * `hearth help` lists the commands of each group in this order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define COMMANDS(X)                                                                                \
    X(init)                                                                                        \
    X(id)                                                                                          \
    X(profile)                                                                                     \
    X(device)                                                                                      \
    X(recovery)                                                                                    \
    X(status)                                                                                      \
    X(boards)                                                                                      \
    X(threads)                                                                                     \
    X(read)                                                                                        \
    X(search)                                                                                      \
    X(post)                                                                                        \
    X(reply)                                                                                       \
    X(edit)                                                                                        \
    X(retract)                                                                                     \
    X(react)                                                                                       \
    X(flag)                                                                                        \
    X(message)                                                                                     \
    X(messages)                                                                                    \
    X(mod)                                                                                         \
    X(role)                                                                                        \
    X(invite)                                                                                      \
    X(resources)                                                                                   \
    X(settings)                                                                                    \
    X(export)                                                                                      \
    X(import)                                                                                      \
    X(stick)                                                                                       \
    X(backup)                                                                                      \
    X(restore)                                                                                     \
    X(serve)                                                                                       \
    X(open)                                                                                        \
    X(sync)                                                                                        \
    X(peers)                                                                                       \
    X(repair)                                                                                      \
    X(help)

#define DECLARE(name) extern const struct cli_command cmd_##name;
COMMANDS(DECLARE)
#undef DECLARE

#define ROW(name) &cmd_##name,
const struct cli_command *const cli_commands[] = {COMMANDS(ROW) NULL};
#undef ROW

/* global_options - the options before the command; returns the index of the command
 * word (argc when there is none), or -1 after printing a usage error, or -2 when the
 * run is complete (--help, --version). */
static int global_options(struct cli *c, int argc, char **argv, int *rc)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0)
            return i + 1;
        if (strcmp(a, "--json") == 0) {
            c->json = true;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cli_print_help(stdout);
            *rc = CLI_OK;
            return -2;
        } else if (strcmp(a, "--version") == 0) {
            printf("hearth %s\n", HEARTH_VERSION);
            *rc = CLI_OK;
            return -2;
        } else if (strcmp(a, "-d") == 0 || strcmp(a, "--data-dir") == 0) {
            if (i + 1 >= argc) {
                *rc = cli_error(c, HERR_USAGE, "option '%s' needs a directory", a);
                return -1;
            }
            c->dir_option = argv[++i];
        } else if (strncmp(a, "--data-dir=", 11) == 0) {
            c->dir_option = a + 11;
        } else if (strncmp(a, "-d", 2) == 0) {
            c->dir_option = a + 2;
        } else {
            *rc = cli_error(c, HERR_USAGE, "unknown option '%s' (see 'hearth help')", a);
            return -1;
        }
    }
    return i;
}

static int run(struct cli *c, int argc, char **argv)
{
    int rc = CLI_OK;
    int at = global_options(c, argc, argv, &rc);
    if (at < 0)
        return rc;
    if (at >= argc) {
        cli_print_help(stderr);
        return CLI_USAGE;
    }
    c->cmd = cli_command_find(argv[at]);
    if (!c->cmd)
        return cli_error(c, HERR_USAGE, "'%s' is not a hearth command (see 'hearth help')",
                         argv[at]);
    bool help;
    if ((rc = cli_parse_args(c, argc - at - 1, argv + at + 1, &help)))
        return rc;
    if (help) {
        cli_print_usage(c->cmd, stdout);
        return CLI_OK;
    }
    unsigned needs = c->cmd->needs;
    if (needs & (CLI_NEEDS_STORE | CLI_NEEDS_WRITE)) {
        rc = cli_open(c, needs & CLI_NEEDS_WRITE, needs & CLI_NEEDS_KEY);
        if (!rc && (needs & CLI_NEEDS_SOUND))
            rc = cli_check(c);
        if (rc)
            return rc;
    }
    return c->cmd->run(c);
}

int main(int argc, char **argv)
{
    struct cli c;
    cli_init(&c);
    int rc;
    if (crypto_start() != HERR_OK)
        rc = cli_error(NULL, HERR_NOMEM, "cannot start the cryptography library");
    else
        rc = run(&c, argc, argv);
    cli_release(&c);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "hearth: cannot write the output\n");
        if (rc == CLI_OK)
            rc = CLI_FAIL;
    }
    return rc;
}
