/* cmd_help.c - `hearth help [COMMAND]`: the commands, global options and exit codes. */
#include <string.h>

#include "cli/cli.h"

void cli_print_help(FILE *f)
{
    fprintf(f, "usage: hearth [-d DIR] [--json] COMMAND [ARGS]\n\n"
               "hearth keeps a peer-support forum on this machine and shares it with others.\n");
    /* Each group once, in the order its first command appears in the table. */
    for (const struct cli_command *const *p = cli_commands; *p; p++) {
        bool seen = false;
        for (const struct cli_command *const *q = cli_commands; q != p; q++)
            if (strcmp((*q)->group, (*p)->group) == 0)
                seen = true;
        if (seen)
            continue;
        fprintf(f, "\n%s:\n", (*p)->group);
        for (const struct cli_command *const *q = p; *q; q++)
            if (strcmp((*q)->group, (*p)->group) == 0)
                fprintf(f, "  %-10s %s\n", (*q)->name, (*q)->summary);
    }
    fprintf(f,
            "\nglobal options:\n"
            "  -d DIR       the data directory (else $HEARTH_HOME, else\n"
            "               $XDG_DATA_HOME/hearth, else ~/.local/share/hearth);\n"
            "               also accepted after the command\n"
            "  --json       print JSON for scripts (also accepted after the command)\n"
            "  --version    print the version\n"
            "  -h, --help   this help; 'hearth COMMAND --help' for one command\n"
            "\nexit codes:\n"
            "  0  ok\n"
            "  1  other failure\n"
            "  2  usage: a bad command line, option, id or choice\n"
            "  3  not found: no such post, board or file\n"
            "  4  bad input: unacceptable text, or malformed, rejected, foreign or corrupt data\n"
            "  5  storage trouble: input/output error, disk full, read-only, locked, damaged\n"
            "  6  not allowed\n"
            "  7  network trouble\n"
            "  8  wrong state: no forum here yet, or already initialised\n");
}

static int run(struct cli *c)
{
    if (c->nargs == 0) {
        cli_print_help(stdout);
        return CLI_OK;
    }
    const struct cli_command *cmd = cli_command_find(c->args[0]);
    if (!cmd)
        return cli_error(c, HERR_USAGE, "'%s' is not a hearth command", c->args[0]);
    cli_print_usage(cmd, stdout);
    return CLI_OK;
}

const struct cli_command cmd_help = {
    .name = "help",
    .run = run,
    .group = "help",
    .summary = "show the commands, or one command's usage",
    .synopsis = "[COMMAND]",
    .max_args = 1,
};
