/* cmd_import.c - `hearth import FILE|-`: take in the events of a bundle.
 *
 * All or nothing at the bundle level: a bundle that is corrupt, cut short or of
 * another forum stores nothing. The store commits each batch it ingests, so the
 * whole bundle is read and its trailer checked (pass one) before a single event is
 * offered to the store (pass two). Standard input, which cannot be read twice, is
 * first copied to an unlinked temporary file in the data directory; a regular file
 * is read twice in place, and refused if it changes in between.
 *
 * Within an intact bundle each event is the store's to judge: accepted, a duplicate,
 * or rejected with a reason; the counts are reported, the reasons grouped.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/limits.h"
#include "cli/cli.h"
#include "node/node.h"
#include "store/bundle.h"

/* Batches of up to 20,000 events (16 MB) a transaction: each commit writes every page
 * it changed once, and the id and reference indexes take their inserts at random
 * places, so that a large replica rewrites about one page per event at 1,000 a batch.
 * `import` of a million events: 74.7 s and 18.2 GB written at 1,000 a batch, 51.2 s and
 * 4.7 GB at 20,000, 49.2 s at 50,000 (with 82 MB of memory instead of 50:
 * docs/PERFORMANCE.md, "Ten million events"). */
#define BATCH_EVENTS 20000
#define BATCH_BYTES (16u * 1024 * 1024)
#define MAX_REASONS 32

struct reason {
    const char *text; /* static, from the store or herr_str() */
    uint64_t count;
};

struct tally {
    uint64_t events, accepted, duplicate, rejected;
    struct reason reasons[MAX_REASONS];
    size_t nreasons;
};

struct batch {
    struct hbuf bytes;
    size_t off[BATCH_EVENTS + 1];
    size_t n;
    struct store_blob blobs[BATCH_EVENTS];
    struct ingest_result res[BATCH_EVENTS];
};

static void count_rejection(struct tally *t, const char *why)
{
    size_t i;
    for (i = 0; i < t->nreasons; i++)
        if (strcmp(t->reasons[i].text, why) == 0)
            break;
    if (i == t->nreasons) {
        if (t->nreasons == MAX_REASONS)
            i = MAX_REASONS - 1, why = "other reasons";
        else
            t->reasons[t->nreasons++].text = why;
    }
    t->reasons[i].count++;
}

static int bundle_error(struct cli *c, const char *name, herr e, const char *why)
{
    return cli_error(c, e, "%s: %s", name, why && *why ? why : herr_str(e));
}

/* check_forum - the bundle names our forum. */
static int check_forum(struct cli *c, const char *name, const struct bundle_reader *r)
{
    char theirs[13];
    if (memcmp(bundle_forum(r), c->forum, HEARTH_ID_LEN) == 0)
        return CLI_OK;
    return cli_error(c, HERR_WRONG_FORUM, "%s: bundle is for another forum (%s)", name,
                     cli_short_id(theirs, bundle_forum(r)));
}

/* verify - pass one: the whole bundle is well-formed, ours, and ends with a good
 * trailer. */
static int verify(struct cli *c, FILE *f, const char *name)
{
    struct bundle_reader *r;
    const char *why = NULL;
    const uint8_t *env;
    size_t len;
    herr e = bundle_reader_new(&r, f, &why);
    if (e)
        return bundle_error(c, name, e, why);
    int rc = check_forum(c, name, r);
    while (!rc) {
        e = bundle_next(r, &env, &len, &why);
        if (e)
            rc = bundle_error(c, name, e, why);
        else if (!env)
            break;
    }
    bundle_reader_destroy(&r);
    return rc;
}

/* flush - offer the batch to the store and count what became of each event. */
static int flush(struct cli *c, struct batch *b, struct tally *t)
{
    if (b->n == 0)
        return CLI_OK;
    for (size_t i = 0; i < b->n; i++) {
        b->blobs[i].p = b->bytes.data + b->off[i];
        b->blobs[i].n = b->off[i + 1] - b->off[i];
    }
    herr e = store_ingest(c->store, b->blobs, b->n, b->res, NULL);
    if (e)
        return cli_store_error(c, e, NULL);
    for (size_t i = 0; i < b->n; i++) {
        const struct ingest_result *r = &b->res[i];
        if (r->err == HERR_OK)
            t->accepted++;
        else if (r->err == HERR_DUPLICATE)
            t->duplicate++;
        else {
            t->rejected++;
            count_rejection(t, r->why && *r->why ? r->why : herr_str(r->err));
        }
    }
    t->events += b->n;
    b->n = 0;
    hbuf_reset(&b->bytes);
    return CLI_OK;
}

static int add(struct cli *c, struct batch *b, struct tally *t, const uint8_t *env, size_t len)
{
    int rc;
    if ((b->n == BATCH_EVENTS || b->bytes.len + len > BATCH_BYTES) && (rc = flush(c, b, t)))
        return rc;
    herr e = hbuf_append(&b->bytes, env, len);
    if (e)
        return cli_error(c, e, "%s", herr_str(e));
    b->n++;
    b->off[b->n] = b->bytes.len;
    return CLI_OK;
}

/* ingest - pass two: the events, in batches. */
static int ingest(struct cli *c, FILE *f, const char *name, struct tally *t)
{
    struct bundle_reader *r = NULL;
    const char *why = NULL;
    const uint8_t *env;
    size_t len;
    struct batch *b = calloc(1, sizeof *b);
    if (!b)
        return cli_error(c, HERR_NOMEM, "%s", herr_str(HERR_NOMEM));
    hbuf_init(&b->bytes, BATCH_BYTES + HEARTH_MAX_EVENT);
    herr e = bundle_reader_new(&r, f, &why);
    int rc = e ? bundle_error(c, name, e, why) : check_forum(c, name, r);
    while (!rc) {
        e = bundle_next(r, &env, &len, &why);
        if (e)
            rc = cli_error(c, e, "%s: the bundle changed while it was imported: %s", name,
                           why && *why ? why : herr_str(e));
        else if (!env)
            break;
        else
            rc = add(c, b, t, env, len);
    }
    if (!rc)
        rc = flush(c, b, t);
    bundle_reader_destroy(&r);
    hbuf_release(&b->bytes);
    free(b);
    return rc;
}

static int spool_error(const struct cli *c, int err)
{
    herr e = herr_from_errno(err);
    return cli_error(c, e, "%s: %s (cannot keep the bundle from standard input: %s)", c->dir,
                     herr_str(e), strerror(err));
}

/* spool - copy standard input to an unlinked file in the data directory, so that
 * it can be read twice. */
static int spool(struct cli *c, FILE **out)
{
    char buf[65536];
    char *tmpl = cli_path(c, ".import-XXXXXX");
    if (!tmpl)
        return cli_error(c, HERR_NOMEM, "%s", herr_str(HERR_NOMEM));
    int fd = mkstemp(tmpl);
    int err = errno;
    if (fd >= 0)
        unlink(tmpl);
    free(tmpl);
    FILE *f = fd >= 0 ? fdopen(fd, "w+b") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return spool_error(c, err);
    }
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) {
        if (fwrite(buf, 1, n, f) != n) {
            err = errno;
            fclose(f);
            return spool_error(c, err);
        }
    }
    if (ferror(stdin) || fflush(f) != 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return cli_error(c, HERR_IO, "cannot read the bundle from standard input");
    }
    *out = f;
    return CLI_OK;
}

static int open_input(struct cli *c, const char *path, FILE **out, struct stat *st)
{
    if (strcmp(path, "-") == 0) {
        if (isatty(STDIN_FILENO))
            return cli_error(c, HERR_USAGE, "refusing to read a bundle from a terminal");
        return spool(c, out);
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        int err = errno;
        return cli_error(c, err == ENOENT ? HERR_NOT_FOUND : HERR_IO, "cannot open '%s': %s", path,
                         strerror(err));
    }
    if (fstat(fileno(f), st) != 0 || !S_ISREG(st->st_mode)) {
        fclose(f);
        return cli_error(c, HERR_USAGE, "'%s' is not a file", path);
    }
    *out = f;
    return CLI_OK;
}

/* unchanged - the file is as pass one read it. */
static bool unchanged(FILE *f, const struct stat *before)
{
    struct stat now;
    return fstat(fileno(f), &now) == 0 && now.st_size == before->st_size &&
           now.st_mtim.tv_sec == before->st_mtim.tv_sec &&
           now.st_mtim.tv_nsec == before->st_mtim.tv_nsec;
}

static void report_json(struct cli *c, const char *path, const struct tally *t, uint64_t pending)
{
    struct json *j = &c->out;
    json_object_open(j, NULL);
    json_str(j, "file", path);
    json_hex(j, "forum", c->forum, HEARTH_ID_LEN);
    json_u64(j, "events", t->events);
    json_u64(j, "accepted", t->accepted);
    json_u64(j, "duplicate", t->duplicate);
    json_u64(j, "rejected", t->rejected);
    json_object_open(j, "reasons");
    for (size_t i = 0; i < t->nreasons; i++)
        json_u64(j, t->reasons[i].text, t->reasons[i].count);
    json_object_close(j);
    json_u64(j, "pending", pending);
    json_object_close(j);
}

static void report_human(const struct tally *t, uint64_t pending)
{
    printf("%llu event%s: %llu accepted, %llu duplicate, %llu rejected\n",
           (unsigned long long)t->events, t->events == 1 ? "" : "s",
           (unsigned long long)t->accepted, (unsigned long long)t->duplicate,
           (unsigned long long)t->rejected);
    if (t->rejected) {
        printf("%llu rejected:", (unsigned long long)t->rejected);
        for (size_t i = 0; i < t->nreasons; i++)
            printf("%s %s (%llu)", i ? "," : "", t->reasons[i].text,
                   (unsigned long long)t->reasons[i].count);
        printf("\n");
    }
    if (pending)
        printf("%llu event%s wait for earlier events they need\n", (unsigned long long)pending,
               pending == 1 ? "" : "s");
}

static int run(struct cli *c)
{
    const char *path = c->args[0];
    const char *name = strcmp(path, "-") == 0 ? "standard input" : path;
    struct stat st = {0};
    struct tally t = {0};
    struct store_stats stats;
    FILE *f = NULL;
    int rc = open_input(c, path, &f, &st);
    if (rc)
        return rc;
    rc = verify(c, f, name);
    if (!rc && (fseek(f, 0, SEEK_SET) != 0 || (st.st_mode && !unchanged(f, &st))))
        rc = cli_error(c, HERR_IO, "%s: the bundle changed while it was imported", name);
    if (!rc)
        rc = ingest(c, f, name, &t);
    fclose(f);
    if (rc)
        return rc;
    struct hlog log = {.level = HLOG_WARN, .out = stderr};
    node_index_refresh(c->store, &log, t.accepted);
    herr e = store_stats(c->store, &stats);
    if (e)
        return cli_store_error(c, e, NULL);
    if (c->json) {
        report_json(c, path, &t, stats.pending);
        return cli_json_flush(c);
    }
    report_human(&t, stats.pending);
    return CLI_OK;
}

const struct cli_command cmd_import = {
    .name = "import",
    .run = run,
    .group = "share",
    .summary = "take in the events of a bundle file",
    .synopsis = "FILE|-",
    .details = "'-' reads the bundle from standard input. A bundle that is damaged, cut short\n"
               "or of another forum is refused whole and nothing of it is stored. In an intact\n"
               "bundle every event is verified: each is accepted, a duplicate of one already\n"
               "here, or rejected with its reason; the exit status is 0 either way.",
    .min_args = 1,
    .max_args = 1,
    .needs = CLI_NEEDS_WRITE | CLI_NEEDS_SOUND,
};
