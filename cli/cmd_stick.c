/* cmd_stick.c - `hearth stick PATH`: a directory on a removable drive is a peer
 * (docs/BACKUP.md, "A USB stick"). The node takes in every event of every bundle on
 * the stick, then writes one new bundle with every event it holds that the stick
 * lacks. Files are only ever added, each written under a temporary name, fsynced and
 * renamed: a stick pulled out mid-write loses at most the file being written. A
 * bundle cut short or damaged is reported and its complete events are still taken
 * (each is verified on its own, like any peer's). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/limits.h"
#include "cli/cli.h"
#include "node/node.h"
#include "store/bundle.h"

#define STICK_TOP "hearth"
#define STICK_SUFFIX ".bundle"
#define BATCH_EVENTS 1000 /* as import: each batch is one commit */
#define BATCH_BYTES (8u << 20)
#define MAX_DAMAGED 16

struct ids {
    uint8_t (*v)[HEARTH_ID_LEN];
    size_t n, cap;
};

struct stick {
    char *dir; /* PATH/hearth/FORUM */
    struct ids on_stick, missing;
    uint64_t files, events_read, accepted, duplicate, rejected, events_out;
    char written[96];
    struct {
        char name[96];
        const char *why;
        uint64_t taken;
    } damaged[MAX_DAMAGED];
    size_t ndamaged;
    /* the batch being offered to the store */
    struct hbuf bytes;
    size_t off[BATCH_EVENTS + 1], n;
    struct store_blob blobs[BATCH_EVENTS];
    struct ingest_result res[BATCH_EVENTS];
};

static herr ids_push(struct ids *a, const uint8_t id[HEARTH_ID_LEN])
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 1024;
        void *v = realloc(a->v, cap * HEARTH_ID_LEN);
        if (!v)
            return HERR_NOMEM;
        a->v = v, a->cap = cap;
    }
    memcpy(a->v[a->n++], id, HEARTH_ID_LEN);
    return HERR_OK;
}

static int cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, HEARTH_ID_LEN);
}

/* ---- taking in what the stick holds ---- */

static int flush(struct cli *c, struct stick *k)
{
    if (k->n == 0)
        return CLI_OK;
    for (size_t i = 0; i < k->n; i++) {
        k->blobs[i].p = k->bytes.data + k->off[i];
        k->blobs[i].n = k->off[i + 1] - k->off[i];
    }
    herr e = store_ingest(c->store, k->blobs, k->n, k->res, NULL);
    if (e)
        return cli_store_error(c, e, NULL);
    for (size_t i = 0; i < k->n; i++) {
        const struct ingest_result *r = &k->res[i];
        if (r->has_id && ids_push(&k->on_stick, r->id) != HERR_OK)
            return cli_error(c, HERR_NOMEM, "out of memory");
        if (r->err == HERR_OK)
            k->accepted++;
        else if (r->err == HERR_DUPLICATE)
            k->duplicate++;
        else
            k->rejected++;
    }
    k->events_read += k->n;
    k->n = 0;
    hbuf_reset(&k->bytes);
    return CLI_OK;
}

static int add(struct cli *c, struct stick *k, const uint8_t *env, size_t len)
{
    int rc;
    if ((k->n == BATCH_EVENTS || k->bytes.len + len > BATCH_BYTES) && (rc = flush(c, k)))
        return rc;
    herr e = hbuf_append(&k->bytes, env, len);
    if (e)
        return cli_error(c, e, "%s", herr_str(e));
    k->n++;
    k->off[k->n] = k->bytes.len;
    return CLI_OK;
}

static void note_damaged(struct cli *c, struct stick *k, const char *name, const char *why,
                         uint64_t taken)
{
    if (k->ndamaged < MAX_DAMAGED) {
        snprintf(k->damaged[k->ndamaged].name, sizeof k->damaged[0].name, "%s", name);
        k->damaged[k->ndamaged].why = why;
        k->damaged[k->ndamaged++].taken = taken;
    }
    fprintf(stderr, "hearth: stick: warning: %s/%s: %s; took its %llu complete event%s\n", k->dir,
            name, why, (unsigned long long)taken, taken == 1 ? "" : "s");
}

/* read_one - every event of one bundle file; a damaged one is noted, not fatal. */
static int read_one(struct cli *c, struct stick *k, const char *name)
{
    char *path = malloc(strlen(k->dir) + strlen(name) + 2);
    if (!path)
        return cli_error(c, HERR_NOMEM, "out of memory");
    sprintf(path, "%s/%s", k->dir, name);
    FILE *f = fopen(path, "rb");
    free(path);
    if (!f) {
        note_damaged(c, k, name, strerror(errno), 0);
        return CLI_OK;
    }
    struct bundle_reader *r = NULL;
    const char *why = NULL;
    const uint8_t *env;
    size_t len;
    uint64_t taken = 0;
    int rc = CLI_OK;
    herr e = bundle_reader_new(&r, f, &why);
    if (!e && memcmp(bundle_forum(r), c->forum, HEARTH_ID_LEN) != 0)
        e = HERR_WRONG_FORUM, why = "a bundle of another forum";
    while (!e && !rc) {
        e = bundle_next(r, &env, &len, &why);
        if (!e && !env)
            break;
        if (!e)
            rc = add(c, k, env, len), taken++;
    }
    bundle_reader_destroy(&r);
    fclose(f);
    if (!rc)
        rc = flush(c, k);
    k->files++;
    if (!rc && e)
        note_damaged(c, k, name, why && *why ? why : herr_str(e),
                     e == HERR_WRONG_FORUM ? 0 : taken);
    return rc;
}

static bool is_bundle(const char *name)
{
    size_t n = strlen(name), k = strlen(STICK_SUFFIX);
    return name[0] != '.' && n > k && strcmp(name + n - k, STICK_SUFFIX) == 0;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* read_all - the stick's bundles, oldest name first. */
static int read_all(struct cli *c, struct stick *k)
{
    DIR *d = opendir(k->dir);
    if (!d)
        return cli_error(c, herr_from_errno(errno), "cannot read '%s': %s", k->dir,
                         strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    int rc = CLI_OK;
    while (!rc && (de = readdir(d))) {
        if (!is_bundle(de->d_name))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **v = realloc(names, cap * sizeof *names);
            if (!v)
                rc = cli_error(c, HERR_NOMEM, "out of memory");
            else
                names = v;
        }
        if (!rc && !(names[n++] = strdup(de->d_name)))
            rc = cli_error(c, HERR_NOMEM, "out of memory");
    }
    closedir(d);
    if (!rc && n)
        qsort(names, n, sizeof *names, cmp_name);
    for (size_t i = 0; i < n && !rc; i++)
        rc = read_one(c, k, names[i]);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

/* ---- writing what the stick lacks ---- */

struct merge {
    const struct ids *on;
    size_t at;
    struct ids *missing;
};

/* lacking - ids come in ascending order, as on_stick is sorted: one merge pass. */
static herr lacking(void *ctx, const uint8_t id[HEARTH_ID_LEN], uint64_t arrival)
{
    struct merge *m = ctx;
    while (m->at < m->on->n && memcmp(m->on->v[m->at], id, HEARTH_ID_LEN) < 0)
        m->at++;
    if (m->at < m->on->n && memcmp(m->on->v[m->at], id, HEARTH_ID_LEN) == 0)
        return HERR_OK;
    return ids_push(m->missing, id);
}

static herr write_one(void *ctx, const uint8_t *env, size_t len)
{
    return bundle_write(ctx, env, len);
}

static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* write_new - one new bundle of the missing events: a new name, a temporary file
 * (a dot name, which readers skip), fsync, rename, fsync of the directory. */
static int write_new(struct cli *c, struct stick *k)
{
    uint8_t rnd[4];
    char hex[9], tmp[128], final[128];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    random_bytes(rnd, sizeof rnd);
    hex_encode(hex, rnd, sizeof rnd);
    size_t at = strftime(k->written, sizeof k->written, "%Y%m%dT%H%M%SZ-", &tm);
    snprintf(k->written + at, sizeof k->written - at, "%s%s", hex, STICK_SUFFIX);
    snprintf(tmp, sizeof tmp, ".%s.tmp", k->written);
    char *tpath = malloc(strlen(k->dir) + sizeof tmp + 2),
         *fpath = malloc(strlen(k->dir) + sizeof final + 2);
    if (!tpath || !fpath) {
        free(tpath);
        free(fpath);
        return cli_error(c, HERR_NOMEM, "out of memory");
    }
    sprintf(tpath, "%s/%s", k->dir, tmp);
    sprintf(fpath, "%s/%s", k->dir, k->written);
    int fd = open(tpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    struct bundle_writer *w = NULL;
    herr e = f ? bundle_writer_new(&w, f, c->forum) : herr_from_errno(errno);
    if (!e)
        e = store_get_many(c->store, (const uint8_t(*)[HEARTH_ID_LEN])k->missing.v, k->missing.n,
                           write_one, w);
    if (!e)
        e = bundle_writer_finish(&w, &k->events_out);
    bundle_writer_destroy(&w);
    if (!e && (fflush(f) != 0 || fsync(fileno(f)) != 0))
        e = herr_from_errno(errno);
    if (f)
        fclose(f);
    else if (fd >= 0)
        close(fd);
    if (!e && rename(tpath, fpath) != 0)
        e = herr_from_errno(errno);
    int rc = CLI_OK;
    if (e) {
        rc = cli_error(c, e, "cannot write '%s': %s", fpath, herr_str(e));
        unlink(tpath);
        k->written[0] = '\0';
        k->events_out = 0;
    }
    sync_dir(k->dir);
    free(tpath);
    free(fpath);
    return rc;
}

static int write_missing(struct cli *c, struct stick *k)
{
    if (k->on_stick.n)
        qsort(k->on_stick.v, k->on_stick.n, HEARTH_ID_LEN, cmp_id);
    struct merge m = {.on = &k->on_stick, .missing = &k->missing};
    herr e = store_ids_in_order(c->store, lacking, &m);
    if (e == HERR_NOMEM)
        return cli_error(c, e, "out of memory");
    if (e)
        return cli_store_error(c, e, NULL);
    if (k->missing.n == 0)
        return CLI_OK;
    return write_new(c, k);
}

/* ---- the stick's directory ---- */

static int make_dir(struct cli *c, const char *path)
{
    if (mkdir(path, 0755) == 0 || errno == EEXIST)
        return CLI_OK;
    return cli_error(c, herr_from_errno(errno), "cannot make '%s': %s", path, strerror(errno));
}

/* open_stick - PATH must exist (a stick that is not mounted must not turn into a
 * directory on the machine's own disk); PATH/hearth/FORUM is made when absent. */
static int open_stick(struct cli *c, const char *path, struct stick *k)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return cli_error(c, herr_from_errno(errno), "cannot open the stick at '%s': %s", path,
                         strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return cli_error(c, HERR_USAGE, "'%s' is not a directory", path);
    char forum[2 * HEARTH_ID_LEN + 1];
    hex_encode(forum, c->forum, HEARTH_ID_LEN);
    size_t n = strlen(path) + sizeof STICK_TOP + sizeof forum + 4;
    k->dir = malloc(n);
    if (!k->dir)
        return cli_error(c, HERR_NOMEM, "out of memory");
    snprintf(k->dir, n, "%s/%s", path, STICK_TOP);
    int rc = make_dir(c, k->dir);
    snprintf(k->dir, n, "%s/%s/%s", path, STICK_TOP, forum);
    return rc ? rc : make_dir(c, k->dir);
}

static void report(struct cli *c, const struct stick *k)
{
    if (c->json) {
        struct json *j = &c->out;
        json_object_open(j, NULL);
        json_str(j, "dir", k->dir);
        json_hex(j, "forum", c->forum, HEARTH_ID_LEN);
        json_u64(j, "files_read", k->files);
        json_u64(j, "events_read", k->events_read);
        json_u64(j, "accepted", k->accepted);
        json_u64(j, "duplicate", k->duplicate);
        json_u64(j, "rejected", k->rejected);
        json_u64(j, "events_written", k->events_out);
        if (k->written[0])
            json_str(j, "file_written", k->written);
        else
            json_null(j, "file_written");
        json_array_open(j, "damaged");
        for (size_t i = 0; i < k->ndamaged; i++) {
            json_object_open(j, NULL);
            json_str(j, "file", k->damaged[i].name);
            json_str(j, "why", k->damaged[i].why);
            json_u64(j, "taken", k->damaged[i].taken);
            json_object_close(j);
        }
        json_array_close(j);
        json_object_close(j);
        return;
    }
    printf("from the stick: %llu event%s in %llu file%s: %llu new, %llu already here, %llu "
           "rejected\n",
           (unsigned long long)k->events_read, k->events_read == 1 ? "" : "s",
           (unsigned long long)k->files, k->files == 1 ? "" : "s", (unsigned long long)k->accepted,
           (unsigned long long)k->duplicate, (unsigned long long)k->rejected);
    if (k->written[0])
        printf("to the stick: %llu event%s it lacked, in %s/%s\n",
               (unsigned long long)k->events_out, k->events_out == 1 ? "" : "s", k->dir,
               k->written);
    else
        printf("to the stick: nothing, it holds every event this node holds\n");
    if (k->ndamaged)
        printf("%zu damaged file%s (see the warnings above)\n", k->ndamaged,
               k->ndamaged == 1 ? "" : "s");
}

static int run(struct cli *c)
{
    struct stick *k = calloc(1, sizeof *k);
    if (!k)
        return cli_error(c, HERR_NOMEM, "out of memory");
    hbuf_init(&k->bytes, BATCH_BYTES + HEARTH_MAX_EVENT);
    int rc = open_stick(c, c->args[0], k);
    if (!rc)
        rc = read_all(c, k);
    if (!rc)
        rc = write_missing(c, k);
    if (!rc) {
        struct hlog log = {.level = HLOG_WARN, .out = stderr};
        node_index_refresh(c->store, &log, k->accepted);
        report(c, k);
    }
    hbuf_release(&k->bytes);
    free(k->on_stick.v);
    free(k->missing.v);
    free(k->dir);
    free(k);
    if (!rc && c->json)
        rc = cli_json_flush(c);
    return rc;
}

const struct cli_command cmd_stick = {
    .name = "stick",
    .run = run,
    .group = "share",
    .summary = "sync both ways with a directory on a USB stick",
    .synopsis = "PATH",
    .details = "Takes in every event the stick holds that this node lacks, then writes one\n"
               "new bundle with every event this node holds that the stick lacks, under\n"
               "PATH/hearth/FORUM_ID/. Carried around towns, the stick gathers the union and\n"
               "brings every town everything. Files are only added, never rewritten: a stick\n"
               "pulled out mid-write loses at most the file being written. A damaged or\n"
               "cut-short bundle is reported and its complete events are still taken; every\n"
               "event is verified like a peer's. See docs/BACKUP.md.",
    .min_args = 1,
    .max_args = 1,
    .needs = CLI_NEEDS_WRITE | CLI_NEEDS_SOUND,
};
