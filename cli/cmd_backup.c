/* cmd_backup.c - `hearth backup FILE`: the whole node (a consistent copy of the replica,
 * its keys and hearth.conf) in one file encrypted under a passphrase (docs/BACKUP.md).
 * A running node goes on serving and writing meanwhile. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/passphrase.h"
#include "store/backup.h"

/* What goes in, besides the replica: the keys and the configuration. */
struct item {
    char name[BACKUP_MAX_NAME + 1];
    char *path; /* owned */
};

struct plan {
    struct item items[BACKUP_MAX_FILES];
    unsigned n;
    char *snap; /* the replica's copy (owned; removed at the end) */
};

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n > k && strcmp(s + n - k, suffix) == 0;
}

/* node_file - a file of the data directory that belongs in a backup: a key (every
 * *.key, so that keys added by later versions go too) or hearth.conf. */
static bool node_file(const char *name)
{
    return backup_name_ok(name) && (ends_with(name, ".key") || strcmp(name, "hearth.conf") == 0);
}

static int add_item(struct cli *c, struct plan *p, const char *name, char *path)
{
    if (!path)
        return cli_error(c, HERR_NOMEM, "out of memory");
    if (p->n == BACKUP_MAX_FILES) {
        free(path);
        return cli_error(c, HERR_TOO_LARGE, "more than %d files to back up in %s", BACKUP_MAX_FILES,
                         c->dir);
    }
    snprintf(p->items[p->n].name, sizeof p->items[p->n].name, "%s", name);
    p->items[p->n++].path = path;
    return CLI_OK;
}

static int cmp_item(const void *a, const void *b)
{
    return strcmp(((const struct item *)a)->name, ((const struct item *)b)->name);
}

/* add_file - the data directory's file `name`, when it is a regular file. */
static int add_file(struct cli *c, const char *name, void *ctx)
{
    struct stat st;
    char *path = cli_path(c, name);
    if (path && (stat(path, &st) != 0 || !S_ISREG(st.st_mode))) {
        free(path);
        return CLI_OK;
    }
    return add_item(c, ctx, name, path);
}

/* list_files - the keys and hearth.conf, by name. */
static int list_files(struct cli *c, struct plan *p)
{
    int rc = cli_dir_each(c, node_file, add_file, p);
    qsort(p->items, p->n, sizeof p->items[0], cmp_item);
    return rc;
}

/* temp_in - a new empty file "dir/.backup-PID-XXXXXX" of mode 0600 into *path. */
static int temp_in(const char *dir, char **path)
{
    size_t n = strlen(dir) + 48;
    *path = malloc(n);
    if (!*path)
        return ENOMEM;
    snprintf(*path, n, "%s/.backup-%ld-XXXXXX", dir, (long)getpid());
    int fd = mkstemp(*path);
    if (fd < 0) {
        int err = errno;
        free(*path);
        *path = NULL;
        return err;
    }
    fchmod(fd, 0600);
    close(fd);
    return 0;
}

/* snapshot - the replica's consistent copy into a new file of the data directory
 * (as private as the replica itself; the copy is never written in the clear beside
 * the backup, which may be on a stick), or of $TMPDIR when the data directory cannot
 * be written (a replica on read-only media). */
static int snapshot(struct cli *c, struct plan *p)
{
    int err = temp_in(c->dir, &p->snap);
    if (err == EROFS || err == EACCES || err == EPERM) {
        const char *tmp = getenv("TMPDIR");
        err = temp_in(tmp && *tmp ? tmp : "/tmp", &p->snap);
    }
    if (err)
        return cli_error(c, herr_from_errno(err), "cannot make a copy of the replica in %s: %s",
                         c->dir, strerror(err));
    herr e = store_snapshot(c->store, p->snap);
    if (e)
        return cli_store_error(c, e, NULL);
    return add_item(c, p, "hearth.db", strdup(p->snap));
}

static void plan_release(struct plan *p)
{
    for (unsigned i = 0; i < p->n; i++)
        free(p->items[i].path);
    if (p->snap)
        unlink(p->snap);
    free(p->snap);
}

/* write_all - the backup on f. */
static int write_all(struct cli *c, FILE *f, const char *path, struct plan *p, const char *pass,
                     size_t pass_len, uint64_t *bytes)
{
    struct backup_writer *w;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    herr e = backup_writer_new(&w, f, pass, pass_len, BACKUP_OPSLIMIT, BACKUP_MEMLIMIT, c->forum,
                               now, p->n);
    if (e == HERR_NOMEM)
        return cli_error(c, e, "not enough memory to hash the passphrase (256 MiB)");
    if (e)
        return cli_error(c, e, "cannot write '%s': %s", path, herr_str(e));
    for (unsigned i = 0; i < p->n && !e; i++) {
        const char *why = NULL;
        struct stat st;
        FILE *src = fopen(p->items[i].path, "rb");
        if (!src || fstat(fileno(src), &st) != 0) {
            int err = errno;
            if (src)
                fclose(src);
            backup_writer_destroy(&w);
            return cli_error(c, herr_from_errno(err), "cannot read '%s': %s", p->items[i].path,
                             strerror(err));
        }
        e = backup_write_file(w, p->items[i].name, src, (uint64_t)st.st_size, &why);
        fclose(src);
        if (e == HERR_IO && why) {
            backup_writer_destroy(&w);
            return cli_error(c, e, "'%s' changed while it was read: try again", p->items[i].path);
        }
        *bytes += (uint64_t)st.st_size;
    }
    if (e) {
        backup_writer_destroy(&w);
        return cli_error(c, e, "cannot write '%s': %s", path, herr_str(e));
    }
    e = backup_writer_finish(&w);
    if (e)
        return cli_error(c, e, "cannot write '%s': %s", path, herr_str(e));
    return CLI_OK;
}

/* to_file - through a temporary file beside FILE, renamed into place once complete
 * and on disk, so that a failed backup never leaves half a file under its name. */
static int to_file(struct cli *c, const char *path, struct plan *p, const char *pass,
                   size_t pass_len, uint64_t *bytes)
{
    size_t n = strlen(path);
    char *tmp = malloc(n + 16);
    if (!tmp)
        return cli_error(c, HERR_NOMEM, "out of memory");
    snprintf(tmp, n + 16, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int err = errno;
        free(tmp);
        return cli_error(c, herr_from_errno(err), "cannot write '%s': %s", path, strerror(err));
    }
    FILE *f = fdopen(fd, "wb");
    int rc = f ? write_all(c, f, path, p, pass, pass_len, bytes)
               : cli_error(c, HERR_NOMEM, "out of memory");
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

static void report(struct cli *c, const char *path, const struct plan *p, uint64_t bytes,
                   uint64_t events)
{
    if (c->json) {
        json_object_open(&c->out, NULL);
        json_str(&c->out, "file", path);
        json_hex(&c->out, "forum", c->forum, HEARTH_ID_LEN);
        json_u64(&c->out, "events", events);
        json_u64(&c->out, "bytes", bytes);
        json_array_open(&c->out, "files");
        for (unsigned i = 0; i < p->n; i++)
            json_str(&c->out, NULL, p->items[i].name);
        json_array_close(&c->out);
        json_object_close(&c->out);
        return;
    }
    char forum[13];
    printf("backed up forum %s (%llu events) to %s:", cli_short_id(forum, c->forum),
           (unsigned long long)events, path);
    for (unsigned i = 0; i < p->n; i++)
        printf(" %s", p->items[i].name);
    printf("\nkeep the passphrase apart from the file: without it the backup cannot be read\n");
}

static int run(struct cli *c)
{
    const char *path = c->args[0];
    struct plan p = {0};
    struct store_stats st = {0};
    char *pass = NULL;
    size_t pass_len = 0;
    uint64_t bytes = 0;
    struct stat sb;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
        return cli_error(c, HERR_USAGE, "'%s' is not a file", path);
    int rc = cli_passphrase(c, true, &pass, &pass_len);
    if (!rc)
        rc = list_files(c, &p);
    if (!rc)
        rc = snapshot(c, &p);
    if (!rc && store_stats(c->store, &st) != HERR_OK)
        st.events = 0;
    if (!rc)
        rc = to_file(c, path, &p, pass, pass_len, &bytes);
    cli_passphrase_free(&pass);
    if (!rc)
        report(c, path, &p, bytes, st.events);
    plan_release(&p);
    if (!rc && c->json)
        rc = cli_json_flush(c);
    return rc;
}

static const struct cli_option options[] = {
    {"passphrase-file", 0, "FILE", "read the passphrase from the first line of FILE"},
    {NULL, 0, NULL, NULL},
};

const struct cli_command cmd_backup = {
    .name = "backup",
    .run = run,
    .group = "share",
    .summary = "write the whole node, encrypted, to a backup file",
    .synopsis = "FILE [--passphrase-file FILE]",
    .details = "The backup holds a consistent copy of the replica (taken while a running node\n"
               "goes on serving), the keys and hearth.conf, encrypted under a passphrase\n"
               "(Argon2id and XChaCha20-Poly1305; docs/BACKUP.md). The passphrase is asked\n"
               "twice on the terminal, or read from --passphrase-file FILE or\n"
               "HEARTH_PASSPHRASE; at least 10 characters. 'hearth restore FILE' brings it back.",
    .options = options,
    .min_args = 1,
    .max_args = 1,
    .needs = CLI_NEEDS_STORE | CLI_NEEDS_SOUND,
};
