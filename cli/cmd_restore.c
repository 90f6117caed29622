/* cmd_restore.c - `hearth restore FILE`: bring back a node from a backup file
 * (docs/BACKUP.md). Everything is checked in a staging directory before anything of
 * the data directory is touched: the file's checksum, the passphrase, every chunk,
 * SQLite's integrity check, every event's signature and forum, the keys. Then the old
 * files are moved aside (DIR/replaced-DATE/) and the restored ones put in their place.
 * The restored replica signs nothing until it has synced with a peer (store.h, "Fork
 * safety"); `hearth restore --confirm` lifts that by hand. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/passphrase.h"
#include "store/backup.h"

struct restore {
    const char *file;
    FILE *f;
    int lock_fd;
    bool made_dir, made_lock;
    char *stage; /* DIR/.restore-XXXXXX, owned */
    char names[BACKUP_MAX_FILES][BACKUP_MAX_NAME + 1];
    unsigned n;
    uint8_t forum[HEARTH_ID_LEN];
    uint64_t created, events;
    char aside[64]; /* "replaced-YYYYMMDD-HHMMSS" when old files were moved there */
};

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n > k && strcmp(s + n - k, suffix) == 0;
}

/* wanted - the files a backup may hold (cmd_backup.c puts in the same). */
static bool wanted(const char *name)
{
    return strcmp(name, "hearth.db") == 0 || strcmp(name, "hearth.conf") == 0 ||
           ends_with(name, ".key");
}

/* in_dir - "DIR/name" or "DIR/sub/name"; caller frees. */
static char *in_dir(const char *dir, const char *sub, const char *name)
{
    size_t n = strlen(dir) + (sub ? strlen(sub) + 1 : 0) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s%s%s", dir, sub ? sub : "", sub ? "/" : "", name);
    return p;
}

/* lock - take DIR/serve.lock as `hearth serve` does, so that no node runs on the
 * directory while we replace its files (and none starts meanwhile). */
static int lock(struct cli *c, struct restore *r)
{
    char *path = cli_path(c, "serve.lock");
    if (!path)
        return cli_error(c, HERR_NOMEM, "out of memory");
    r->made_lock = access(path, F_OK) != 0;
    r->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    int rc = CLI_OK;
    if (r->lock_fd < 0) {
        rc = cli_error(c, herr_from_errno(errno), "cannot open '%s': %s", path, strerror(errno));
    } else if (flock(r->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        char pid[32] = "";
        ssize_t n = pread(r->lock_fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = 0;
        pid[strcspn(pid, "\n")] = 0;
        rc = cli_error(c, HERR_BUSY,
                       "a node is running on %s (hearth serve, pid %s): stop it first; nothing "
                       "was changed",
                       c->dir, pid[0] ? pid : "unknown");
        r->made_lock = false;
    }
    free(path);
    return rc;
}

static void unlock(struct cli *c, struct restore *r, bool failed)
{
    if (r->lock_fd < 0)
        return;
    if (failed && r->made_lock) {
        char *path = cli_path(c, "serve.lock");
        if (path)
            unlink(path);
        free(path);
    }
    close(r->lock_fd);
    r->lock_fd = -1;
}

static int open_file(struct cli *c, struct restore *r)
{
    struct stat st;
    r->f = fopen(r->file, "rb");
    if (!r->f) {
        int err = errno;
        return cli_error(c, herr_from_errno(err), "cannot open '%s': %s", r->file, strerror(err));
    }
    if (fstat(fileno(r->f), &st) != 0 || !S_ISREG(st.st_mode))
        return cli_error(c, HERR_USAGE, "'%s' is not a file", r->file);
    return CLI_OK;
}

/* refuse - the one line for a backup that does not pass. */
static int refuse(struct cli *c, struct restore *r, herr e, const char *why)
{
    return cli_error(c, e, "'%s': %s; nothing was changed", r->file, why);
}

/* extract_one - the current file of the backup into the staging directory. */
static int extract_one(struct cli *c, struct restore *r, struct backup_reader *br, const char *name)
{
    for (unsigned i = 0; i < r->n; i++)
        if (strcmp(r->names[i], name) == 0)
            return refuse(c, r, HERR_MALFORMED, "the backup holds a file twice");
    if (!wanted(name))
        return refuse(c, r, HERR_MALFORMED, "the backup holds a file hearth does not restore");
    char *path = in_dir(r->stage, NULL, name);
    int fd = path ? open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    int rc = CLI_OK;
    if (!f) {
        rc = cli_error(c, path ? herr_from_errno(errno) : HERR_NOMEM, "cannot write in '%s': %s",
                       r->stage, path ? strerror(errno) : "out of memory");
        if (fd >= 0)
            close(fd);
        free(path);
        return rc;
    }
    const char *why = NULL;
    herr e = backup_extract(br, f, &why);
    if (e == HERR_IO || e == HERR_FULL || e == HERR_NOMEM)
        rc = cli_error(c, e, "cannot write '%s': %s", path, herr_str(e));
    else if (e)
        rc = refuse(c, r, e, why ? why : herr_str(e));
    if (!rc && (fflush(f) != 0 || fsync(fileno(f)) != 0))
        rc = cli_error(c, herr_from_errno(errno), "cannot write '%s': %s", path, strerror(errno));
    fclose(f);
    free(path);
    if (!rc)
        snprintf(r->names[r->n++], sizeof r->names[0], "%s", name);
    return rc;
}

/* same_forum - a data directory that holds a forum takes back only that forum. */
static int same_forum(struct cli *c, struct restore *r)
{
    char *db = cli_path(c, "hearth.db");
    struct store *s = NULL;
    uint8_t forum[HEARTH_ID_LEN];
    if (!db)
        return cli_error(c, HERR_NOMEM, "out of memory");
    herr e = access(db, F_OK) == 0 ? store_open(&s, db, STORE_READONLY) : HERR_NOT_FOUND;
    free(db);
    if (e == HERR_NOT_FOUND)
        return CLI_OK;
    if (!e)
        e = store_forum(s, forum);
    store_destroy(&s);
    if (e)
        return CLI_OK; /* a damaged or empty replica: what restore is for */
    if (memcmp(forum, r->forum, HEARTH_ID_LEN) == 0)
        return CLI_OK;
    char here[13], theirs[13];
    return cli_error(c, HERR_WRONG_FORUM,
                     "'%s' is a backup of forum %s but %s holds forum %s: restore it into "
                     "another directory (-d DIR); nothing was changed",
                     r->file, cli_short_id(theirs, r->forum), c->dir, cli_short_id(here, forum));
}

/* extract - decrypt the whole backup into the staging directory. */
static int extract(struct cli *c, struct restore *r)
{
    char *pass = NULL;
    size_t pass_len = 0;
    struct backup_reader *br = NULL;
    const char *why = "";
    int rc = cli_passphrase(c, false, &pass, &pass_len);
    if (rc)
        return rc;
    herr e = backup_reader_new(&br, r->f, pass, pass_len, &why);
    cli_passphrase_free(&pass);
    if (e)
        return refuse(c, r, e, why);
    memcpy(r->forum, backup_forum(br), HEARTH_ID_LEN);
    r->created = backup_created(br);
    rc = same_forum(c, r);
    for (; !rc;) {
        const char *name;
        uint64_t size;
        if ((e = backup_next(br, &name, &size, &why)) != HERR_OK) {
            rc = refuse(c, r, e, why);
            break;
        }
        if (!name)
            break;
        if ((rc = extract_one(c, r, br, name)) != CLI_OK)
            break;
    }
    backup_reader_destroy(&br);
    return rc;
}

static bool has(const struct restore *r, const char *name)
{
    for (unsigned i = 0; i < r->n; i++)
        if (strcmp(r->names[i], name) == 0)
            return true;
    return false;
}

/* check_keys - every key restored is one seed. */
static int check_keys(struct cli *c, struct restore *r)
{
    for (unsigned i = 0; i < r->n; i++) {
        if (!ends_with(r->names[i], ".key"))
            continue;
        uint8_t seed[HEARTH_SEED_LEN];
        bool created;
        char *path = in_dir(r->stage, NULL, r->names[i]);
        herr e = path ? seed_file_load(path, false, seed, &created) : HERR_NOMEM;
        secret_wipe(seed, sizeof seed);
        free(path);
        if (e) {
            char why[128];
            snprintf(why, sizeof why, "its %s is not a key", r->names[i]);
            return refuse(c, r, HERR_MALFORMED, why);
        }
    }
    return CLI_OK;
}

/* verify - the staged replica: sound, every event verifies, of the backup's forum;
 * then mark it restored. */
static int verify(struct cli *c, struct restore *r)
{
    if (!has(r, "hearth.db"))
        return refuse(c, r, HERR_MALFORMED, "the backup holds no replica (hearth.db)");
    int rc = check_keys(c, r);
    if (rc)
        return rc;
    char *db = in_dir(r->stage, NULL, "hearth.db");
    struct store *s = NULL;
    uint8_t forum[HEARTH_ID_LEN];
    char why[600];
    herr e = db ? store_open(&s, db, 0) : HERR_NOMEM;
    free(db);
    if (e == HERR_IO || e == HERR_FULL || e == HERR_NOMEM || e == HERR_READONLY)
        return cli_error(c, e, "cannot open the restored replica in '%s': %s", r->stage,
                         store_open_error());
    if (e) {
        snprintf(why, sizeof why, "the replica inside is damaged (%s)", store_open_error());
        return refuse(c, r, HERR_CORRUPT, why);
    }
    e = store_forum(s, forum);
    if (!e && memcmp(forum, r->forum, HEARTH_ID_LEN) != 0) {
        store_destroy(&s);
        return refuse(c, r, HERR_WRONG_FORUM,
                      "the replica inside is of another forum than the backup names");
    }
    if (!e)
        e = store_verify_all(s, &r->events);
    if (!e)
        e = store_set_restored(s, r->created);
    /* The status a running node had written when the backup was taken is not ours. */
    if (!e && (e = store_meta_delete(s, "node:status")) == HERR_NOT_FOUND)
        e = HERR_OK;
    if (e) {
        snprintf(why, sizeof why, "the replica inside does not pass its check (%s)",
                 store_errmsg(s));
        rc = e == HERR_IO || e == HERR_FULL || e == HERR_NOMEM
                 ? cli_store_error(c, e, "the restored replica")
                 : refuse(c, r, HERR_CORRUPT, why);
    }
    store_destroy(&s);
    return rc;
}

/* old_file - a file of the data directory that the restore replaces. */
static bool old_file(const char *name)
{
    return strcmp(name, "hearth.db") == 0 || strcmp(name, "hearth.db-wal") == 0 ||
           strcmp(name, "hearth.db-shm") == 0 || strcmp(name, "hearth.conf") == 0 ||
           (ends_with(name, ".key") && name[0] != '.');
}

/* move_one - the file `name` into DIR/replaced-DATE/, made at the first. */
static int move_one(struct cli *c, const char *name, void *ctx)
{
    struct restore *r = ctx;
    int rc = CLI_OK;
    if (!r->aside[0]) {
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(r->aside, sizeof r->aside, "replaced-%Y%m%d-%H%M%S", &tm);
        char *dir = cli_path(c, r->aside);
        if (!dir || (mkdir(dir, 0700) != 0 && errno != EEXIST))
            rc = cli_error(c, dir ? herr_from_errno(errno) : HERR_NOMEM, "cannot make '%s': %s",
                           dir ? dir : r->aside, dir ? strerror(errno) : "out of memory");
        free(dir);
        if (rc)
            return rc;
    }
    char *from = cli_path(c, name), *to = in_dir(c->dir, r->aside, name);
    if (!from || !to || rename(from, to) != 0)
        rc = cli_error(c, from && to ? herr_from_errno(errno) : HERR_NOMEM,
                       "cannot move '%s' aside: %s", from ? from : name,
                       from && to ? strerror(errno) : "out of memory");
    free(from);
    free(to);
    return rc;
}

/* move_aside - the files the restore replaces into DIR/replaced-DATE/. */
static int move_aside(struct cli *c, struct restore *r)
{
    return cli_dir_each(c, old_file, move_one, r);
}

static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* swap - the old files aside, the restored ones in. A crash in between leaves the old
 * files in DIR/replaced-DATE/ and the backup as it was: run the restore again. */
static int swap(struct cli *c, struct restore *r)
{
    int rc = move_aside(c, r);
    for (unsigned i = 0; !rc && i < r->n; i++) {
        char *from = in_dir(r->stage, NULL, r->names[i]), *to = cli_path(c, r->names[i]);
        if (!from || !to || rename(from, to) != 0)
            rc = cli_error(c, from && to ? herr_from_errno(errno) : HERR_NOMEM,
                           "cannot put '%s' in place: %s", to ? to : r->names[i],
                           from && to ? strerror(errno) : "out of memory");
        free(from);
        free(to);
    }
    sync_dir(c->dir);
    return rc;
}

/* remove_stage - the staging directory and whatever is left in it. */
static void remove_stage(struct restore *r)
{
    if (!r->stage)
        return;
    DIR *d = opendir(r->stage);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char *p = in_dir(r->stage, NULL, de->d_name);
        if (p)
            unlink(p);
        free(p);
    }
    if (d)
        closedir(d);
    rmdir(r->stage);
    free(r->stage);
    r->stage = NULL;
}

/* mkdir_p - make dir (mode 0700) and any missing parents (0755), as init does. */
static int mkdir_p(const char *dir)
{
    char *p = strdup(dir);
    if (!p) {
        errno = ENOMEM;
        return -1;
    }
    for (char *q = p + 1; *q; q++) {
        if (*q != '/')
            continue;
        *q = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            free(p);
            return -1;
        }
        *q = '/';
    }
    free(p);
    return mkdir(dir, 0700);
}

/* prepare - the data directory (made when absent) and the staging directory in it. */
static int prepare(struct cli *c, struct restore *r)
{
    struct stat st;
    if (stat(c->dir, &st) != 0) {
        if (errno != ENOENT || mkdir_p(c->dir) != 0)
            return cli_error(c, herr_from_errno(errno), "cannot make '%s': %s", c->dir,
                             strerror(errno));
        r->made_dir = true;
    } else if (!S_ISDIR(st.st_mode)) {
        return cli_error(c, HERR_USAGE, "'%s' is not a directory", c->dir);
    }
    int rc = lock(c, r);
    if (rc)
        return rc;
    r->stage = cli_path(c, ".restore-XXXXXX");
    if (!r->stage)
        return cli_error(c, HERR_NOMEM, "out of memory");
    if (!mkdtemp(r->stage)) {
        int err = errno;
        free(r->stage);
        r->stage = NULL;
        return cli_error(c, herr_from_errno(err), "cannot make a staging directory in '%s': %s",
                         c->dir, strerror(err));
    }
    return CLI_OK;
}

static void report(struct cli *c, const struct restore *r)
{
    char when[64], forum[13];
    cli_format_time(when, sizeof when, r->created);
    if (c->json) {
        json_object_open(&c->out, NULL);
        json_str(&c->out, "file", r->file);
        json_str(&c->out, "dir", c->dir);
        json_hex(&c->out, "forum", r->forum, HEARTH_ID_LEN);
        json_u64(&c->out, "created", r->created);
        json_u64(&c->out, "events", r->events);
        json_array_open(&c->out, "files");
        for (unsigned i = 0; i < r->n; i++)
            json_str(&c->out, NULL, r->names[i]);
        json_array_close(&c->out);
        if (r->aside[0])
            json_str(&c->out, "replaced", r->aside);
        else
            json_null(&c->out, "replaced");
        json_bool(&c->out, "confirmed", false);
        json_object_close(&c->out);
        return;
    }
    printf("restored forum %s (%llu events, every one verified) from the backup made %s\n",
           cli_short_id(forum, r->forum), (unsigned long long)r->events, when);
    if (r->aside[0])
        printf("what %s held before is in %s/%s\n", c->dir, c->dir, r->aside);
    printf("this node signs nothing until it has synced with a peer (hearth sync ADDRESS, or\n"
           "hearth serve until a peer syncs); if nothing was signed here after the backup was\n"
           "made and no peer exists, run 'hearth restore --confirm'\n");
}

/* confirm - lift the restored mark by hand. */
static int confirm(struct cli *c)
{
    int rc = cli_open(c, true, false);
    if (rc)
        return rc;
    bool was;
    herr e = store_clear_restored(c->store, &was);
    if (e)
        return cli_store_error(c, e, NULL);
    if (!was)
        return cli_error(c, HERR_NOOP,
                         "%s was not restored from a backup (or has synced since): "
                         "nothing to confirm",
                         c->dir);
    if (c->json) {
        json_object_open(&c->out, NULL);
        json_str(&c->out, "dir", c->dir);
        json_bool(&c->out, "confirmed", true);
        json_object_close(&c->out);
        return cli_json_flush(c);
    }
    printf("confirmed: this node signs again\n");
    return CLI_OK;
}

static int run(struct cli *c)
{
    if (cli_flag(c, "confirm")) {
        if (c->nargs)
            return cli_error(c, HERR_USAGE, "--confirm takes no FILE");
        return confirm(c);
    }
    if (c->nargs != 1)
        return cli_error(c, HERR_USAGE, "give the backup FILE (see 'hearth restore --help')");
    struct restore r = {.file = c->args[0], .lock_fd = -1};
    int rc = cli_resolve_dir(c);
    if (!rc)
        rc = open_file(c, &r);
    if (!rc)
        rc = prepare(c, &r);
    if (!rc)
        rc = extract(c, &r);
    if (!rc)
        rc = verify(c, &r);
    if (!rc)
        rc = swap(c, &r);
    remove_stage(&r);
    unlock(c, &r, rc != CLI_OK);
    if (rc && r.made_dir)
        rmdir(c->dir);
    if (r.f)
        fclose(r.f);
    if (rc)
        return rc;
    report(c, &r);
    return c->json ? cli_json_flush(c) : CLI_OK;
}

static const struct cli_option options[] = {
    {"passphrase-file", 0, "FILE", "read the passphrase from the first line of FILE"},
    {"confirm", 0, NULL, "let a restored node sign again without a sync (no FILE)"},
    {NULL, 0, NULL, NULL},
};

const struct cli_command cmd_restore = {
    .name = "restore",
    .run = run,
    .group = "share",
    .summary = "bring back a node from a backup file, checked whole first",
    .synopsis = "FILE [--passphrase-file FILE] | --confirm",
    .details = "Checks everything before it replaces anything: the file's checksum, the\n"
               "passphrase, SQLite's integrity check, every event's signature and forum. A\n"
               "damaged, cut-short, foreign or wrong-passphrase backup is refused and the data\n"
               "directory is left as it was; a running node is never replaced. What the\n"
               "directory held is moved to DIR/replaced-DATE/. The restored node signs\n"
               "nothing until it has synced with a peer, so that it cannot reuse a sequence\n"
               "number its authors signed after the backup (a fork); 'hearth restore\n"
               "--confirm' lifts that when no peer exists and nothing was signed since.",
    .options = options,
    .min_args = 0,
    .max_args = 1,
    .needs = 0,
};
