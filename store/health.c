/* health.c - is a replica sound (store_check), and rebuilding one that is not
 * (store_repair). The lost-log check before an open is wal.c's (wal_check).
 *
 * The repair does not trust the damaged file's b-trees: it reads every page of the
 * file (and of its write-ahead log, when one is left) as raw bytes, picks out each
 * cell that has the shape of a row of `events`, rebuilds the event's envelope from
 * it and offers it to a new replica through store_ingest, which parses, verifies the
 * signature and applies it like any event from a peer. Whatever does not verify is
 * dropped; a row whose page was lost is simply not found, and sync fetches it again.
 * The local tables (settings, peers, web accounts, invites, reading marks) are not
 * events and cannot be re-verified: they are copied through SQLite as far as their
 * pages can still be read.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/store_int.h"

#define REPAIR_BATCH 256
#define REPAIR_MAX_PAYLOAD (2 * HEARTH_MAX_EVENT) /* larger cells are not events */
#define EVENTS_COLUMNS 13     /* arrival (NULL: the rowid), id ... body, as in migration 1 */
#define EVENTS_COLUMNS_MAX 14 /* and signer (migration 6): a key or NULL */

/* ---- store_check ---- */

/* A watchdog: a thread that interrupts the connection (sqlite3_interrupt) when the
 * check's time is up. A progress handler cannot cut it: quick_check walks a whole
 * table's b-tree, and count(*) a whole table, inside one instruction of SQLite's,
 * between which alone a progress handler runs (a check given 50 ms took 8.7 s on a
 * cold 1M replica); the b-tree walks do look at the interrupt flag. */
struct watchdog {
    sqlite3 *db;
    struct timespec until; /* CLOCK_MONOTONIC */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done, started;
    pthread_t t;
};

static void *watch(void *arg)
{
    struct watchdog *w = arg;
    pthread_mutex_lock(&w->mu);
    int rc = 0;
    while (!w->done && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&w->cv, &w->mu, &w->until);
    if (!w->done)
        sqlite3_interrupt(w->db);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* watchdog_start - arm w for budget_ms; without a thread the check runs uncut. */
static void watchdog_start(struct watchdog *w, sqlite3 *db, unsigned budget_ms)
{
    pthread_condattr_t ca;
    memset(w, 0, sizeof *w);
    w->db = db;
    clock_gettime(CLOCK_MONOTONIC, &w->until);
    uint64_t ns = (uint64_t)w->until.tv_nsec + (uint64_t)budget_ms * 1000000;
    w->until.tv_sec += (time_t)(ns / 1000000000);
    w->until.tv_nsec = (long)(ns % 1000000000);
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    w->started = pthread_create(&w->t, NULL, watch, w) == 0;
}

static void watchdog_stop(struct watchdog *w)
{
    pthread_mutex_lock(&w->mu);
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (w->started)
        pthread_join(w->t, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
}

/* quick - PRAGMA quick_check(1); *complete false when the watchdog cut it. */
static herr quick(struct store *s, bool *complete)
{
    sqlite3_stmt *q;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA quick_check(1)", -1, &q, NULL);
    *complete = rc != SQLITE_INTERRUPT; /* the watchdog can fire while it is prepared */
    if (rc != SQLITE_OK)
        return rc == SQLITE_INTERRUPT ? HERR_OK : store_sqlerr(s, rc, "cannot check the database");
    rc = sqlite3_step(q);
    herr e = HERR_OK;
    *complete = rc != SQLITE_INTERRUPT;
    if (rc == SQLITE_ROW) {
        const char *r = (const char *)sqlite3_column_text(q, 0);
        if (!r || strcmp(r, "ok") != 0)
            e = store_fail(s, HERR_CORRUPT, "quick check: %.200s", r ? r : "no answer");
    } else if (rc != SQLITE_INTERRUPT) {
        e = store_sqlerr(s, rc, "quick check");
    }
    sqlite3_finalize(q);
    return e;
}

/* view_matches - the view lists every post, reply and board held (docs/EVENTS.md,
 * "View digest"): a row lost from either side shows as a difference of counts. A
 * board event with a ref renames a board and has no row of its own. */
static herr view_matches(struct store *s, bool *complete)
{
    sqlite3_stmt *q;
    int rc = sqlite3_prepare_v2(
        s->db,
        "SELECT (SELECT count(*) FROM events WHERE kind IN (3, 4)), (SELECT count(*) FROM posts),"
        " (SELECT count(*) FROM events WHERE kind = 2 AND ref IS NULL), (SELECT count(*) FROM "
        "boards)",
        -1, &q, NULL);
    if (rc == SQLITE_INTERRUPT) { /* the watchdog fired while it was prepared */
        *complete = false;
        return HERR_OK;
    }
    if (rc != SQLITE_OK)
        return store_sqlerr(s, rc, "cannot compare the view with the events");
    rc = sqlite3_step(q);
    herr e = HERR_OK;
    if (rc == SQLITE_INTERRUPT) {
        *complete = false;
    } else if (rc != SQLITE_ROW) {
        e = store_sqlerr(s, rc, "cannot compare the view with the events");
    } else {
        int64_t ep = sqlite3_column_int64(q, 0), vp = sqlite3_column_int64(q, 1);
        int64_t eb = sqlite3_column_int64(q, 2), vb = sqlite3_column_int64(q, 3);
        if (ep != vp || eb != vb)
            e = store_fail(s, HERR_CORRUPT,
                           "the view does not match the events: %lld posts and replies held, "
                           "%lld in the view; %lld boards held, %lld in the view",
                           (long long)ep, (long long)vp, (long long)eb, (long long)vb);
    }
    sqlite3_finalize(q);
    return e;
}

herr store_check(struct store *s, unsigned budget_ms, bool *complete)
{
    s->err[0] = '\0';
    *complete = false;
    herr e = store_read_begin(s);
    if (e)
        return e;
    struct watchdog w;
    if (budget_ms)
        watchdog_start(&w, s->db, budget_ms);
    e = quick(s, complete);
    if (!e && *complete)
        e = view_matches(s, complete);
    if (budget_ms)
        watchdog_stop(&w);
    store_read_end(s);
    return e;
}

void store_interrupt(struct store *s)
{
    sqlite3_interrupt(s->db);
}

/* ---- store_repair: finding rows of `events` in raw pages ---- */

struct scan {
    int fd;
    uint64_t pages;      /* in the database file */
    uint32_t page_size;  /* bytes of a page */
    uint32_t usable;     /* minus the reserved bytes at its end */
    uint8_t *page, *ovf; /* one page each */
    struct hbuf payload; /* the cell being read, overflow included */
    struct hbuf env;     /* its envelope */
    herr (*fn)(void *ctx, const uint8_t *env, size_t len);
    void *ctx;
};

/* varint - SQLite's big-endian varint at p[0..end); 0 when it runs past end. */
static size_t varint(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
    uint64_t x = 0;
    for (size_t i = 0; i < 9; i++) {
        if (p + i >= end)
            return 0;
        if (i == 8) {
            *v = (x << 8) | p[i];
            return 9;
        }
        x = (x << 7) | (p[i] & 0x7f);
        if (!(p[i] & 0x80)) {
            *v = x;
            return i + 1;
        }
    }
    return 0;
}

static uint32_t get_u32_be(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* serial_len - the bytes of a value of SQLite serial type t. */
static uint64_t serial_len(uint64_t t)
{
    static const uint8_t ints[] = {0, 1, 2, 3, 4, 6, 8, 8, 0, 0};
    if (t < 10)
        return ints[t];
    return t >= 12 ? (t - 12) / 2 : 0;
}

/* record_event - when the record in p[0..n) has the shape of a row of events (13
 * columns: NULL, id, author, ..., header, sig, body), pass its envelope to fn. */
static herr record_event(struct scan *sc, const uint8_t *p, size_t n)
{
    const uint8_t *end = p + n;
    uint64_t hlen, t[EVENTS_COLUMNS_MAX];
    size_t k = varint(p, end, &hlen);
    if (!k || hlen > n)
        return HERR_OK;
    const uint8_t *h = p + k, *hend = p + hlen;
    int cols = 0;
    while (h < hend && cols < EVENTS_COLUMNS_MAX) {
        size_t m = varint(h, hend, &t[cols]);
        if (!m)
            return HERR_OK;
        h += m;
        cols++;
    }
    if (cols == EVENTS_COLUMNS_MAX && t[13] != 0 && t[13] != 12 + 2 * HEARTH_PK_LEN)
        return HERR_OK;
    if (cols < EVENTS_COLUMNS || h != hend || t[0] != 0 || t[1] != 12 + 2 * HEARTH_ID_LEN ||
        t[2] != 12 + 2 * HEARTH_PK_LEN || t[11] != 12 + 2 * 64 || t[10] < 12 || t[10] % 2 ||
        (t[12] != 0 && (t[12] < 12 || t[12] % 2)))
        return HERR_OK;
    const uint8_t *v = hend, *col[EVENTS_COLUMNS];
    for (int i = 0; i < EVENTS_COLUMNS; i++) {
        col[i] = v;
        if (serial_len(t[i]) > (uint64_t)(end - v))
            return HERR_OK;
        v += serial_len(t[i]);
    }
    hbuf_reset(&sc->env);
    herr e = event_envelope(&sc->env, col[10], serial_len(t[10]), col[11], t[12] ? col[12] : NULL,
                            serial_len(t[12]));
    if (e)
        return HERR_OK; /* too large to be an event: not one */
    return sc->fn(sc->ctx, sc->env.data, sc->env.len);
}

/* cell_payload - the payload of a table-leaf cell at c (in a page of sc->usable
 * bytes) into sc->payload, following its overflow chain in the database file. */
static bool cell_payload(struct scan *sc, const uint8_t *c, const uint8_t *end)
{
    uint64_t len, rowid;
    size_t a = varint(c, end, &len), b;
    if (!a || !(b = varint(c + a, end, &rowid)) || len > REPAIR_MAX_PAYLOAD)
        return false;
    c += a + b;
    uint64_t u = sc->usable, x = u - 35, m = ((u - 12) * 32 / 255) - 23;
    uint64_t local = len <= x ? len : m + ((len - m) % (u - 4));
    if (local > x)
        local = m;
    if ((uint64_t)(end - c) < local + (local < len ? 4 : 0))
        return false;
    hbuf_reset(&sc->payload);
    if (hbuf_append(&sc->payload, c, local) != HERR_OK)
        return false;
    uint32_t next = local < len ? get_u32_be(c + local) : 0;
    uint64_t hops = 0;
    while (sc->payload.len < len) {
        if (next == 0 || next > sc->pages || ++hops > REPAIR_MAX_PAYLOAD / 256)
            return false;
        if (pread(sc->fd, sc->ovf, sc->page_size, (off_t)(next - 1) * sc->page_size) !=
            (ssize_t)sc->page_size)
            return false;
        uint64_t take = len - sc->payload.len < u - 4 ? len - sc->payload.len : u - 4;
        if (hbuf_append(&sc->payload, sc->ovf + 4, take) != HERR_OK)
            return false;
        next = get_u32_be(sc->ovf);
    }
    return true;
}

/* scan_page - every cell of a table-leaf page (its b-tree header at `hdr`). */
static herr scan_page(struct scan *sc, const uint8_t *pg, size_t hdr)
{
    const uint8_t *end = pg + sc->usable;
    if (pg[hdr] != 0x0d)
        return HERR_OK;
    uint32_t cells = (uint32_t)pg[hdr + 3] << 8 | pg[hdr + 4];
    if (hdr + 8 + 2 * (size_t)cells > sc->usable)
        return HERR_OK;
    for (uint32_t i = 0; i < cells; i++) {
        size_t off = (size_t)pg[hdr + 8 + 2 * i] << 8 | pg[hdr + 9 + 2 * i];
        if (off < hdr + 8 || off >= sc->usable)
            continue;
        if (!cell_payload(sc, pg + off, end))
            continue;
        herr e = record_event(sc, sc->payload.data, sc->payload.len);
        if (e)
            return e;
    }
    return HERR_OK;
}

/* scan_file - every page of the database file, then the frames of its log. */
static herr scan_file(struct scan *sc, int wal_fd)
{
    herr e = HERR_OK;
    for (uint64_t i = 0; i < sc->pages && !e; i++) {
        if (pread(sc->fd, sc->page, sc->page_size, (off_t)i * sc->page_size) !=
            (ssize_t)sc->page_size)
            break;
        e = scan_page(sc, sc->page, i == 0 ? 100 : 0);
    }
    uint8_t wh[32];
    if (e || wal_fd < 0 || pread(wal_fd, wh, sizeof wh, 0) != (ssize_t)sizeof wh ||
        get_u32_be(wh + 8) != sc->page_size)
        return e;
    /* Frames: a 24-byte header (the page number first), then the page. */
    for (off_t off = 32;; off += 24 + (off_t)sc->page_size) {
        uint8_t fh[24];
        if (pread(wal_fd, fh, sizeof fh, off) != (ssize_t)sizeof fh ||
            pread(wal_fd, sc->page, sc->page_size, off + 24) != (ssize_t)sc->page_size)
            break;
        if ((e = scan_page(sc, sc->page, get_u32_be(fh) == 1 ? 100 : 0)) != HERR_OK)
            break;
    }
    return e;
}

/* ---- store_repair ---- */

struct batch {
    struct store *to;
    struct hbuf bytes;
    size_t len[REPAIR_BATCH], n;
    struct store_repair *r;
    bool find_genesis, found;
    uint8_t genesis[HEARTH_ID_LEN];
};

static herr flush_batch(struct batch *b)
{
    struct store_blob blobs[REPAIR_BATCH];
    struct ingest_result res[REPAIR_BATCH];
    size_t off = 0;
    if (b->n == 0)
        return HERR_OK;
    for (size_t i = 0; i < b->n; i++) {
        blobs[i] = (struct store_blob){b->bytes.data + off, b->len[i]};
        off += b->len[i];
    }
    herr e = store_ingest(b->to, blobs, b->n, res, NULL);
    for (size_t i = 0; !e && i < b->n; i++)
        if (res[i].err && res[i].err != HERR_DUPLICATE)
            b->r->dropped++;
    b->n = 0;
    hbuf_reset(&b->bytes);
    return e;
}

static herr take_event(void *ctx, const uint8_t *env, size_t len)
{
    struct batch *b = ctx;
    if (b->find_genesis) {
        struct event ev;
        if (!b->found && event_parse(&ev, env, len, NULL) == HERR_OK && ev.kind == EK_GENESIS &&
            event_verify(&ev) == HERR_OK) {
            memcpy(b->genesis, ev.id, HEARTH_ID_LEN);
            b->found = true;
        }
        return HERR_OK;
    }
    b->r->found++;
    if (b->n == REPAIR_BATCH || hbuf_append(&b->bytes, env, len) != HERR_OK) {
        herr e = flush_batch(b);
        if (e)
            return e;
        if ((e = hbuf_append(&b->bytes, env, len)) != HERR_OK)
            return e;
    }
    b->len[b->n++] = len;
    return HERR_OK;
}

/* repair_fail - the detail for r->why; returns e. */
static herr repair_fail(struct store_repair *r, herr e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static herr repair_fail(struct store_repair *r, herr e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof r->why, fmt, ap);
    va_end(ap);
    return e;
}

/* claim - open the damaged database for salvage and take it whole: a running node
 * (or any other process with it open) makes this HERR_BUSY. Its log is copied into
 * the file first when SQLite still can, so that the raw scan sees every commit. */
static herr claim(sqlite3 **db, const char *path, struct store_repair *r)
{
    int rc = sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK)
        return repair_fail(r, HERR_IO, "cannot open %s: %s", path, sqlite3_errstr(rc));
    sqlite3_busy_timeout(*db, 2000);
    /* writable_schema lets SQLite read a file shorter than its header says. */
    sqlite3_exec(*db, "PRAGMA locking_mode = EXCLUSIVE; PRAGMA writable_schema = ON", NULL, NULL,
                 NULL);
    rc = sqlite3_exec(*db, "BEGIN EXCLUSIVE", NULL, NULL, NULL);
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
        return repair_fail(r, HERR_BUSY,
                           "the replica is in use by another process (stop `hearth serve` first)");
    if (rc == SQLITE_OK)
        sqlite3_exec(*db, "COMMIT", NULL, NULL, NULL);
    sqlite3_exec(*db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
    return HERR_OK;
}

/* old_forum - the forum id as the damaged file's forum table says; false when it
 * cannot be read. */
static bool old_forum(sqlite3 *db, uint8_t forum[HEARTH_ID_LEN])
{
    sqlite3_stmt *q;
    bool ok = false;
    if (sqlite3_prepare_v2(db, "SELECT id FROM forum WHERE one = 1", -1, &q, NULL) != SQLITE_OK)
        return false;
    if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_bytes(q, 0) == HEARTH_ID_LEN) {
        memcpy(forum, sqlite3_column_blob(q, 0), HEARTH_ID_LEN);
        ok = true;
    }
    sqlite3_finalize(q);
    return ok;
}

/* copy_table - the rows of a local table that can still be read, into the new
 * replica (its running node's status is not worth keeping). */
static herr copy_table(sqlite3 *from, struct store *to, const char *table, int cols,
                       struct store_repair *r)
{
    char sql[256];
    sqlite3_stmt *q, *ins;
    snprintf(sql, sizeof sql, "SELECT * FROM %s%s", table,
             strcmp(table, "local_meta") == 0 ? " WHERE key != 'node:status'" : "");
    if (sqlite3_prepare_v2(from, sql, -1, &q, NULL) != SQLITE_OK) {
        r->local_lost = true;
        return HERR_OK;
    }
    int n = snprintf(sql, sizeof sql, "INSERT OR IGNORE INTO %s VALUES (?", table);
    for (int i = 1; i < cols; i++)
        n += snprintf(sql + n, sizeof sql - (size_t)n, ", ?");
    snprintf(sql + n, sizeof sql - (size_t)n, ")");
    int rc = sqlite3_prepare_v2(to->db, sql, -1, &ins, NULL);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(q);
        return store_sqlerr(to, rc, "cannot copy the local settings");
    }
    herr e = HERR_OK;
    while (!e && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (sqlite3_column_count(q) != cols) {
            r->local_lost = true;
            break;
        }
        for (int i = 0; i < cols; i++)
            sqlite3_bind_value(ins, i + 1, sqlite3_column_value(q, i));
        rc = sqlite3_step(ins);
        sqlite3_reset(ins);
        if (rc != SQLITE_DONE)
            e = store_sqlerr(to, rc, "cannot copy the local settings");
        else
            r->local_rows++;
    }
    if (!e && rc != SQLITE_DONE && rc != SQLITE_ROW)
        r->local_lost = true; /* a page of it is damaged: keep the rows read before */
    sqlite3_finalize(ins);
    sqlite3_finalize(q);
    return e;
}

static herr copy_local(sqlite3 *from, struct store *to, struct store_repair *r)
{
    static const struct {
        const char *name;
        int cols;
    } tables[] = {{"local_meta", 2}, {"accounts", 5}, {"invites", 7}, {"seen", 3}};
    herr e = store_write_begin(to);
    for (size_t i = 0; !e && i < sizeof tables / sizeof tables[0]; i++)
        e = copy_table(from, to, tables[i].name, tables[i].cols, r);
    return store_write_end(to, e);
}

static herr open_scan(struct scan *sc, const char *path)
{
    uint8_t h[100];
    struct stat st;
    sc->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (sc->fd < 0 || fstat(sc->fd, &st) != 0)
        return HERR_IO;
    /* The header's page size when it is a sane one; the default otherwise. */
    sc->page_size = 4096;
    sc->usable = 4096;
    if (pread(sc->fd, h, sizeof h, 0) == (ssize_t)sizeof h) {
        uint32_t ps = (uint32_t)h[16] << 8 | h[17];
        ps = ps == 1 ? 65536 : ps;
        if (ps >= 512 && (ps & (ps - 1)) == 0 && h[20] < 128) {
            sc->page_size = ps;
            sc->usable = ps - h[20];
        }
    }
    sc->pages = (uint64_t)st.st_size / sc->page_size;
    sc->page = malloc(sc->page_size);
    sc->ovf = malloc(sc->page_size);
    hbuf_init(&sc->payload, REPAIR_MAX_PAYLOAD);
    hbuf_init(&sc->env, HEARTH_MAX_EVENT + 64);
    return sc->page && sc->ovf ? HERR_OK : HERR_NOMEM;
}

static void close_scan(struct scan *sc)
{
    if (sc->fd >= 0)
        close(sc->fd);
    free(sc->page);
    free(sc->ovf);
    hbuf_release(&sc->payload);
    hbuf_release(&sc->env);
}

/* scan_into - the events found in path (and its log) into b. */
static herr scan_into(const char *path, struct batch *b)
{
    struct scan sc = {.fd = -1, .fn = take_event, .ctx = b};
    char wal[4096];
    herr e = open_scan(&sc, path);
    int wfd = -1;
    if (!e && snprintf(wal, sizeof wal, "%s-wal", path) < (int)sizeof wal)
        wfd = open(wal, O_RDONLY | O_CLOEXEC);
    if (!e)
        e = scan_file(&sc, wfd);
    if (wfd >= 0)
        close(wfd);
    close_scan(&sc);
    return e;
}

/* rebuild - a new replica at tmp from what path still holds. */
static herr rebuild(sqlite3 *old, const char *path, const char *tmp, struct store_repair *r)
{
    struct store *to = NULL;
    struct batch b = {.r = r};
    uint8_t forum[HEARTH_ID_LEN];
    hbuf_init(&b.bytes, (size_t)REPAIR_BATCH * HEARTH_MAX_EVENT);
    herr e = store_open(&to, tmp, STORE_CREATE);
    if (e) {
        repair_fail(r, e, "cannot create %s: %s", tmp, store_open_error());
        goto done;
    }
    b.to = to;
    if (!old_forum(old, forum)) {
        b.find_genesis = true;
        if ((e = scan_into(path, &b)) != HERR_OK) {
            repair_fail(r, e, "cannot read %s", path);
            goto done;
        }
        if (!b.found) {
            e = repair_fail(r, HERR_CORRUPT,
                            "neither the forum nor its founding event can be read from %s: "
                            "make a new replica with `hearth init --join FORUM` and sync",
                            path);
            goto done;
        }
        memcpy(forum, b.genesis, HEARTH_ID_LEN);
        b.find_genesis = false;
    }
    e = store_set_forum(to, forum);
    if (!e)
        e = scan_into(path, &b);
    if (!e)
        e = flush_batch(&b);
    if (!e)
        e = copy_local(old, to, r);
    struct store_stats st;
    if (!e && (e = store_stats(to, &st)) == HERR_OK)
        r->kept = st.events;
    if (e && !r->why[0])
        repair_fail(r, e, "%s", store_errmsg(to));
done:
    hbuf_release(&b.bytes);
    store_destroy(&to);
    return e;
}

/* joined - a + b into out[0..n); false when it does not fit. */
static bool joined(char *out, size_t n, const char *a, const char *b)
{
    int k = snprintf(out, n, "%s%s", a, b);
    return k >= 0 && (size_t)k < n;
}

static void remove_db(const char *path)
{
    char p[4300];
    unlink(path);
    if (joined(p, sizeof p, path, "-wal"))
        unlink(p);
    if (joined(p, sizeof p, path, "-shm"))
        unlink(p);
}

/* sync_file - fsync path (a file, or a directory). */
static bool sync_file(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    bool ok = fd >= 0 && fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* swap - the damaged file (and what is left of its log) to r->moved_to, the new one
 * in its place. */
static herr swap(const char *path, const char *tmp, struct store_repair *r)
{
    char from[4300], to[4300], dir[4300];
    time_t now = time(NULL);
    struct tm tm;
    char stamp[32];
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    if (snprintf(r->moved_to, sizeof r->moved_to, "%s.damaged-%s", path, stamp) >=
        (int)sizeof r->moved_to)
        return repair_fail(r, HERR_USAGE, "the path is too long");
    if (!sync_file(tmp))
        return repair_fail(r, HERR_IO, "cannot sync %s: %s", tmp, strerror(errno));
    if (rename(path, r->moved_to) != 0)
        return repair_fail(r, HERR_IO, "cannot move %s aside: %s", path, strerror(errno));
    for (int i = 0; i < 2; i++) {
        const char *sfx = i ? "-shm" : "-wal";
        if (!joined(from, sizeof from, path, sfx) || !joined(to, sizeof to, r->moved_to, sfx))
            return repair_fail(r, HERR_USAGE, "the path is too long");
        /* An index of a log is worth keeping only as the evidence of a lost log. */
        if (i && !r->wal_lost) {
            unlink(from);
            continue;
        }
        if (rename(from, to) != 0 && errno != ENOENT)
            return repair_fail(r, HERR_IO, "cannot move %s aside: %s", from, strerror(errno));
    }
    if (rename(tmp, path) != 0)
        return repair_fail(r, HERR_IO, "cannot put the new replica in place: %s", strerror(errno));
    if (!joined(dir, sizeof dir, path, ""))
        return HERR_OK;
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    sync_file(dir);
    return HERR_OK;
}

herr store_repair(const char *path, struct store_repair *r)
{
    char tmp[4096];
    memset(r, 0, sizeof *r);
    r->wal_lost = wal_check(path, r->wal_why, sizeof r->wal_why) != HERR_OK;
    if (access(path, F_OK) != 0)
        return repair_fail(r, HERR_NOT_FOUND, "no database at '%s'", path);
    if (snprintf(tmp, sizeof tmp, "%s.repair", path) >= (int)sizeof tmp)
        return repair_fail(r, HERR_USAGE, "the path is too long");
    sqlite3 *old = NULL;
    herr e = claim(&old, path, r);
    if (!e) {
        remove_db(tmp);
        e = rebuild(old, path, tmp, r);
    }
    sqlite3_close(old);
    if (!e)
        e = swap(path, tmp, r);
    if (e)
        remove_db(tmp);
    return e;
}

/* ---- backups: a consistent copy, and a full check of one ---- */

herr store_snapshot(struct store *s, const char *path)
{
    s->err[0] = '\0';
    sqlite3_stmt *q;
    /* VACUUM INTO reads in one read transaction: in WAL mode writers go on meanwhile,
     * and the copy is the replica as of that transaction's start. */
    int rc = sqlite3_prepare_v2(s->db, "VACUUM INTO ?1", -1, &q, NULL);
    if (rc != SQLITE_OK)
        return store_sqlerr(s, rc, "cannot copy the replica");
    sqlite3_bind_text(q, 1, path, -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return store_sqlerr(s, rc, "cannot copy the replica");
    return HERR_OK;
}

struct verify_all {
    struct store *s;
    uint64_t n;
};

static herr verify_one(void *ctx, const uint8_t *env, size_t len)
{
    struct verify_all *v = ctx;
    struct event ev;
    const char *why = NULL;
    char hex[2 * HEARTH_ID_LEN + 1] = "";
    herr e = event_parse(&ev, env, len, &why);
    if (!e) {
        hex_encode(hex, ev.id, HEARTH_ID_LEN);
        hex[12] = '\0';
        if ((e = event_verify(&ev)) != HERR_OK)
            why = "its signature does not verify";
        else if ((e = event_check_forum(&ev, v->s->forum)) != HERR_OK)
            why = "it belongs to another forum";
    }
    if (e)
        return store_fail(v->s, HERR_CORRUPT, "event %s%s%s", hex[0] ? hex : "(unreadable)",
                          hex[0] ? ": " : " ", why ? why : herr_str(e));
    v->n++;
    return HERR_OK;
}

herr store_integrity(struct store *s)
{
    s->err[0] = '\0';
    sqlite3_stmt *q;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA integrity_check(1)", -1, &q, NULL);
    if (rc != SQLITE_OK)
        return store_sqlerr(s, rc, "cannot check the database");
    rc = sqlite3_step(q);
    const char *r = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(q, 0) : NULL;
    herr e = HERR_OK;
    if (rc == SQLITE_ROW && (!r || strcmp(r, "ok") != 0))
        e = store_fail(s, HERR_CORRUPT, "integrity check: %.200s", r ? r : "no answer");
    else if (rc != SQLITE_ROW)
        e = store_sqlerr(s, rc, "integrity check");
    sqlite3_finalize(q);
    return e;
}

herr store_verify_all(struct store *s, uint64_t *events)
{
    s->err[0] = '\0';
    *events = 0;
    uint8_t forum[HEARTH_ID_LEN];
    herr e = store_forum(s, forum);
    if (!e)
        e = store_integrity(s);
    if (e)
        return e;
    struct verify_all v = {.s = s};
    e = store_export(s, verify_one, &v);
    if (!e) {
        bool complete;
        e = store_check(s, 0x7fffffff, &complete);
    }
    *events = v.n;
    return e;
}
