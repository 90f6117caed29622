/* cmd_export.c - `hearth export FILE|- [--since WHEN]`: the events this node holds,
 * in a bundle for a USB stick (docs/EVENTS.md, "Bundles"). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "store/bundle.h"

static herr write_one(void *ctx, const uint8_t *env, size_t len)
{
    return bundle_write(ctx, env, len);
}

/* write_bundle - the whole bundle on f; sets *count. */
static int write_bundle(struct cli *c, FILE *f, const char *name, uint64_t since, uint64_t *count)
{
    struct bundle_writer *w;
    herr e = bundle_writer_new(&w, f, c->forum);
    if (e)
        return cli_error(c, e, "%s: %s", name, herr_str(e));
    e = store_export_since(c->store, since, write_one, w);
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
static int to_file(struct cli *c, const char *path, uint64_t since, uint64_t *count)
{
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        FILE *f = fopen(path, "wb");
        if (!f)
            return cli_error(c, herr_from_errno(errno), "cannot write '%s': %s", path,
                             strerror(errno));
        int rc = write_bundle(c, f, path, since, count);
        if (fclose(f) != 0 && !rc)
            rc = cli_error(c, herr_from_errno(errno), "cannot write '%s': %s", path,
                           strerror(errno));
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
        return cli_error(c, herr_from_errno(err), "cannot write '%s': %s", path, strerror(err));
    }
    FILE *f = fdopen(fd, "wb");
    int rc = f ? write_bundle(c, f, path, since, count)
               : cli_error(c, HERR_NOMEM, "%s", herr_str(HERR_NOMEM));
    if (!rc && (fflush(f) != 0 || fsync(fileno(f)) != 0 || rename(tmp, path) != 0))
        rc = cli_error(c, herr_from_errno(errno), "cannot write '%s': %s", path, strerror(errno));
    if (f)
        fclose(f);
    else
        close(fd);
    if (rc)
        unlink(tmp);
    free(tmp);
    return rc;
}

/* parse_since - "YYYY-MM-DD" (UTC midnight) or "Nd" (N days before now), in ms. */
static bool parse_since(const char *v, uint64_t *ms)
{
    char *end;
    struct tm tm = {0};
    if (v[0] >= '0' && v[0] <= '9' && (end = strptime(v, "%Y-%m-%d", &tm)) && !*end) {
        time_t t = timegm(&tm);
        if (t < 0)
            return false;
        *ms = (uint64_t)t * 1000;
        return true;
    }
    unsigned long days = strtoul(v, &end, 10);
    if (end == v || strcmp(end, "d") != 0 || days > 100000)
        return false;
    uint64_t now = (uint64_t)time(NULL) * 1000, back = (uint64_t)days * 86400000ULL;
    *ms = back < now ? now - back : 1;
    return true;
}

static int run(struct cli *c)
{
    const char *path = c->args[0];
    uint64_t count = 0, since = 0;
    int rc;
    const char *v = cli_opt(c, "since");
    if (v && !parse_since(v, &since))
        return cli_error(c, HERR_USAGE, "--since: give a date (YYYY-MM-DD) or days (7d), not '%s'",
                         v);
    bool to_stdout = strcmp(path, "-") == 0;
    if (to_stdout) {
        if (isatty(STDOUT_FILENO))
            return cli_error(c, HERR_USAGE, "refusing to write a bundle to a terminal");
        rc = write_bundle(c, stdout, "standard output", since, &count);
    } else {
        rc = to_file(c, path, since, &count);
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

static const struct cli_option options[] = {
    {"since", 0, "WHEN", "only what people wrote since WHEN (YYYY-MM-DD, or days: 7d)"},
    {NULL, 0, NULL, NULL},
};

const struct cli_command cmd_export = {
    .name = "export",
    .run = run,
    .group = "share",
    .summary = "write every event to a bundle file, for a USB stick",
    .synopsis = "FILE|- [--since WHEN]",
    .details = "'-' writes the bundle to standard output. Another node takes it in with\n"
               "'hearth import FILE'. A bundle is checksummed, so a damaged or cut-short\n"
               "copy is refused whole. --since WHEN (a date, YYYY-MM-DD, or days: 7d)\n"
               "leaves out posts, replies, edits, reactions and flags made before then,\n"
               "for a stick that goes back and forth; everything else always goes.",
    .options = options,
    .min_args = 1,
    .max_args = 1,
    .needs = CLI_NEEDS_STORE | CLI_NEEDS_SOUND,
};
