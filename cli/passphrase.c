#include "cli/passphrase.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* chars - how many characters s[0..n) holds, counting UTF-8 lead bytes (any other
 * byte counts as one). */
static size_t chars(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += ((unsigned char)s[i] & 0xc0) != 0x80;
    return k;
}

void cli_passphrase_free(char **p)
{
    if (*p)
        sodium_free(*p);
    *p = NULL;
}

/* chomp - drop one line ending from buf[0..*n). */
static void chomp(char *buf, size_t *n)
{
    if (*n && buf[*n - 1] == '\n')
        buf[--*n] = '\0';
    if (*n && buf[*n - 1] == '\r')
        buf[--*n] = '\0';
}

static int from_file(struct cli *c, const char *path, char *buf, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        int err = errno;
        return cli_error(c, err == ENOENT ? HERR_NOT_FOUND : HERR_IO,
                         "--passphrase-file: cannot open '%s': %s", path, strerror(err));
    }
    bool ok = fgets(buf, CLI_PASS_MAX + 2, f) != NULL;
    fclose(f);
    *n = ok ? strlen(buf) : 0;
    chomp(buf, n);
    if (*n > CLI_PASS_MAX)
        return cli_error(c, HERR_USAGE, "--passphrase-file: the passphrase is longer than %d bytes",
                         CLI_PASS_MAX);
    return CLI_OK;
}

/* ask - one line from the terminal with echo off. */
static int ask(struct cli *c, int tty, const char *prompt, char *buf, size_t *n)
{
    struct termios old, quiet;
    bool restore = tcgetattr(tty, &old) == 0;
    if (restore) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
        quiet.c_lflag |= ICANON;
        tcsetattr(tty, TCSAFLUSH, &quiet);
    }
    (void)!write(tty, prompt, strlen(prompt));
    ssize_t got = 0, r;
    char ch;
    while ((r = read(tty, &ch, 1)) == 1 && ch != '\n')
        if ((size_t)got < CLI_PASS_MAX + 1)
            buf[got++] = ch;
    buf[got] = '\0';
    (void)!write(tty, "\n", 1);
    if (restore)
        tcsetattr(tty, TCSAFLUSH, &old);
    if (r < 0)
        return cli_error(c, HERR_IO, "cannot read the passphrase from the terminal");
    *n = (size_t)got;
    chomp(buf, n);
    if (*n > CLI_PASS_MAX)
        return cli_error(c, HERR_USAGE, "the passphrase is longer than %d bytes", CLI_PASS_MAX);
    return CLI_OK;
}

static int from_tty(struct cli *c, bool is_new, char *buf, size_t *n)
{
    int tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (tty < 0)
        return cli_error(c, HERR_USAGE,
                         "no passphrase: give --passphrase-file FILE or set HEARTH_PASSPHRASE "
                         "(there is no terminal to ask on)");
    int rc = ask(c, tty,
                 is_new ? "New passphrase for the backup: " : "Passphrase of the backup: ", buf, n);
    if (!rc && is_new) {
        char *again = sodium_malloc(CLI_PASS_MAX + 2);
        size_t m = 0;
        rc = again ? ask(c, tty, "The same passphrase again: ", again, &m)
                   : cli_error(c, HERR_NOMEM, "out of memory");
        if (!rc && (m != *n || sodium_memcmp(again, buf, m) != 0))
            rc = cli_error(c, HERR_USAGE, "the two passphrases differ");
        if (again)
            sodium_free(again);
    }
    close(tty);
    return rc;
}

int cli_passphrase(struct cli *c, bool is_new, char **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    char *buf = sodium_malloc(CLI_PASS_MAX + 2);
    if (!buf)
        return cli_error(c, HERR_NOMEM, "out of memory");
    const char *file = cli_opt(c, "passphrase-file"), *env = getenv("HEARTH_PASSPHRASE");
    int rc = CLI_OK;
    if (file) {
        rc = from_file(c, file, buf, n);
    } else if (env) {
        *n = strlen(env);
        if (*n > CLI_PASS_MAX)
            rc =
                cli_error(c, HERR_USAGE, "HEARTH_PASSPHRASE is longer than %d bytes", CLI_PASS_MAX);
        else
            memcpy(buf, env, *n + 1);
    } else {
        rc = from_tty(c, is_new, buf, n);
    }
    if (!rc && *n == 0)
        rc = cli_error(c, HERR_USAGE, "the passphrase is empty");
    if (!rc && is_new && chars(buf, *n) < CLI_PASS_MIN)
        rc = cli_error(c, HERR_USAGE, "the passphrase is too short: give at least %d characters",
                       CLI_PASS_MIN);
    if (rc) {
        sodium_free(buf);
        *n = 0;
        return rc;
    }
    *out = buf;
    return CLI_OK;
}
