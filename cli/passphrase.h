/* passphrase.h - reading a passphrase for backup and restore: from a file, the
 * environment, or the terminal without echo.
 *
 * Scripts give --passphrase-file FILE (its first line; the file should be mode 0600)
 * or set HEARTH_PASSPHRASE; a person at a terminal is asked on /dev/tty with echo
 * off. The passphrase is held in memory locked against swapping where the system
 * allows (sodium_malloc) and wiped when freed.
 */
#ifndef HEARTH_CLI_PASSPHRASE_H
#define HEARTH_CLI_PASSPHRASE_H

#include <stdbool.h>
#include <stddef.h>

#include "cli/cli.h"

#define CLI_PASS_MIN 10   /* characters of a new backup's passphrase, as for a web account */
#define CLI_PASS_MAX 1024 /* bytes */

/* cli_passphrase - the passphrase: the option --passphrase-file's file, else
 * $HEARTH_PASSPHRASE, else asked on the terminal ("Passphrase for the backup: ", and
 * again to confirm when `is_new`). A new one must have at least CLI_PASS_MIN
 * characters. *out is NUL-terminated, *n its length; free it with cli_passphrase_free.
 * Prints and returns an exit code on failure (no terminal and no file: a usage
 * error). */
int cli_passphrase(struct cli *c, bool is_new, char **out, size_t *n);

/* cli_passphrase_free - wipe and free; NULL-safe; sets *p to NULL. */
void cli_passphrase_free(char **p);

#endif
