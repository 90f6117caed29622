/* cmd_recovery.c - `hearth recovery show`: this node's recovery code (cli/recovery.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/recovery.h"

static int run(struct cli *c)
{
    uint8_t seed[HEARTH_SEED_LEN];
    if (strcmp(c->args[0], "show") != 0)
        return cli_error(c, HERR_USAGE, "unknown recovery action '%s': show", c->args[0]);
    int rc = cli_resolve_dir(c);
    if (rc)
        return rc;
    char *path = cli_path(c, "author.key");
    if (!path)
        return cli_error(c, HERR_NOMEM, "%s", herr_str(HERR_NOMEM));
    herr e = seed_file_load(path, false, seed, NULL);
    if (e) {
        rc = cli_error(c, e, "%s: %s", path,
                       e == HERR_NOT_FOUND ? "no author key here (hearth init)" : herr_str(e));
        free(path);
        return rc;
    }
    free(path);
    char code[RECOVERY_CODE_MAX];
    recovery_code(code, seed);
    if (c->json) {
        json_object_open(&c->out, NULL);
        json_str(&c->out, "code", code);
        json_object_close(&c->out);
        rc = cli_json_flush(c);
    } else {
        recovery_warn(seed);
        printf("%s\n", code);
    }
    secret_wipe(code, sizeof code);
    secret_wipe(seed, sizeof seed);
    return rc;
}

const struct cli_command cmd_recovery = {
    .name = "recovery",
    .run = run,
    .group = "start",
    .summary = "show the code that restores your identity on a new device",
    .synopsis = "show",
    .details = "Prints your author key as a recovery code. Anyone who has it can post as\n"
               "you: write it on paper, keep it safe. 'hearth init --join FORUM_ID --recover\n"
               "CODE' on a new data directory restores the identity; then sync, and revoke\n"
               "the lost devices with 'hearth device revoke --all'.",
    .min_args = 1,
    .max_args = 1,
};
