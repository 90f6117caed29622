/* cmd_export.c - `hearth export FILE|-`: every event this node holds, in a bundle
 * for a USB stick (docs/EVENTS.md, "Bundles"). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "store/bundle.h"

static herr write_one(void *ctx, const uint8_t *env, size_t len)
{
    return bundle_write(ctx, env, len);
}

static herr errno_herr(int err)
{
    switch (err) {
    case ENOENT:
        return HERR_NOT_FOUND;
    case EACCES:
    case EPERM:
    case EROFS:
        return HERR_READONLY;
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
        return HERR_FULL;
    default:
        return HERR_IO;
    }
}

/* write_bundle - the whole bundle on f; sets *count. */
static int write_bundle(struct cli *c, FILE *f, const char *name, uint64_t *count)
{
    struct bundle_writer *w;
    herr e = bundle_writer_new(&w, f, c->forum);
    if (e)
        return cli_error(c, e, "%s: %s", name, herr_str(e));
    e = store_export(c->store, write_one, w);
    if (e) {
        bundle_writer_destroy(&w);
        /* A failure of ours (a write) or of the store (a read). */
        return cli_error(c, e, "%s: %s", name, herr_str(e));
    }
    e = bundle_writer_finish(&w, count);
    if (e)
        return cli_error(c, e, "%s: %s", name, herr_str(e));
    return CLI_OK;
}

/* to_file - write FILE through a temporary file beside it, renamed into place once
 * complete and on disk, so that a failed export never leaves half a bundle. Files
 * that are not regular (a device, a pipe) are written directly. */
static int to_file(struct cli *c, const char *path, uint64_t *count)
{
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        FILE *f = fopen(path, "wb");
        if (!f)
            return cli_error(c, errno_herr(errno), "cannot write '%s': %s", path, strerror(errno));
        int rc = write_bundle(c, f, path, count);
        if (fclose(f) != 0 && !rc)
            rc = cli_error(c, errno_herr(errno), "cannot write '%s': %s", path, strerror(errno));
        return rc;
    }
    size_t n = strlen(path);
    char *tmp = malloc(n + 16);
    if (!tmp)
        return cli_error(c, HERR_NOMEM, "%s", herr_str(HERR_NOMEM));
    snprintf(tmp, n + 16, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int err = errno;
        free(tmp);
        return cli_error(c, errno_herr(err), "cannot write '%s': %s", path, strerror(err));
    }
    FILE *f = fdopen(fd, "wb");
    int rc =
        f ? write_bundle(c, f, path, count) : cli_error(c, HERR_NOMEM, "%s", herr_str(HERR_NOMEM));
    if (!rc && (fflush(f) != 0 || fsync(fileno(f)) != 0 || rename(tmp, path) != 0))
        rc = cli_error(c, errno_herr(errno), "cannot write '%s': %s", path, strerror(errno));
    if (f)
        fclose(f);
    else
        close(fd);
    if (rc)
        unlink(tmp);
    free(tmp);
    return rc;
}

static int run(struct cli *c)
{
    const char *path = c->args[0];
    uint64_t count = 0;
    int rc;
    bool to_stdout = strcmp(path, "-") == 0;
    if (to_stdout) {
        if (isatty(STDOUT_FILENO))
            return cli_error(c, HERR_USAGE, "refusing to write a bundle to a terminal");
        rc = write_bundle(c, stdout, "standard output", &count);
    } else {
        rc = to_file(c, path, &count);
    }
    if (rc)
        return rc;
    if (c->json && !to_stdout) {
        json_object_open(&c->out, NULL);
        json_str(&c->out, "file", path);
        json_hex(&c->out, "forum", c->forum, HEARTH_ID_LEN);
        json_u64(&c->out, "events", count);
        json_object_close(&c->out);
        return cli_json_flush(c);
    }
    /* With the bundle on stdout, the report goes to stderr. */
    fprintf(to_stdout ? stderr : stdout, "wrote %llu event%s to %s\n", (unsigned long long)count,
            count == 1 ? "" : "s", to_stdout ? "standard output" : path);
    return CLI_OK;
}

const struct cli_command cmd_export = {
    .name = "export",
    .run = run,
    .group = "share",
    .summary = "write every event to a bundle file, for a USB stick",
    .synopsis = "FILE|-",
    .details = "'-' writes the bundle to standard output. Another node takes it in with\n"
               "'hearth import FILE'. A bundle is checksummed, so a damaged or cut-short\n"
               "copy is refused whole.",
    .min_args = 1,
    .max_args = 1,
    .needs = CLI_NEEDS_STORE,
};
