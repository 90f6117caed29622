/* store.c - opening the replica, its schema and migrations, statements, errors,
 * transactions, the forum binding and the local key/value table. */
#include "store/store.h"

#include <assert.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "store/store_int.h"

/* "HRTH": tells a hearth database from any other SQLite file. */
#define STORE_APPLICATION_ID 0x48525448

/* A short busy wait: a CLI post while a node serves waits its turn, a second node
 * on the same directory fails fast with HERR_BUSY. */
#define STORE_BUSY_MS 2000

/* The kept reaction counts (migration 13), for the triggers on reacts: X is NEW or OLD.
 * A live reaction with a target adds one to its (target, reaction, author) in react_by,
 * and one author to its (target, reaction) in react_count when it is that author's
 * first; taking one away undoes that. Rows that reach 0 go. */
// clang-format off
#define REACT_LIVE(X) X ".live = 1 AND " X ".on_ev IS NOT NULL AND " X ".reaction IS NOT NULL"
#define REACT_KEY(X) "on_ev = " X ".on_ev AND reaction = " X ".reaction AND author = " X ".author"
#define REACT_ADD(X)                                                                               \
    "INSERT INTO react_count(on_ev, reaction, count) SELECT " X ".on_ev, " X ".reaction, 1 "       \
    "WHERE " REACT_LIVE(X) " AND NOT EXISTS (SELECT 1 FROM react_by WHERE " REACT_KEY(X) ") "      \
    "ON CONFLICT DO UPDATE SET count = count + 1;"                                                 \
    "INSERT INTO react_by(on_ev, reaction, author, n) SELECT " X ".on_ev, " X ".reaction, "        \
    X ".author, 1 WHERE " REACT_LIVE(X) " ON CONFLICT DO UPDATE SET n = n + 1;"
#define REACT_SUB(X)                                                                               \
    "UPDATE react_count SET count = count - 1 WHERE " REACT_LIVE(X) " AND on_ev = " X ".on_ev "    \
    "AND reaction = " X ".reaction AND (SELECT n FROM react_by WHERE " REACT_KEY(X) ") = 1;"       \
    "DELETE FROM react_count WHERE on_ev = " X ".on_ev AND reaction = " X ".reaction "             \
    "AND count = 0;"                                                                               \
    "UPDATE react_by SET n = n - 1 WHERE " REACT_LIVE(X) " AND " REACT_KEY(X) ";"                  \
    "DELETE FROM react_by WHERE " REACT_KEY(X) " AND n = 0;"
// clang-format on

/* The schema, as migration steps applied in order in one transaction; step i brings
 * user_version from i to i + 1. Append only: a released step never changes.
 *
 * events keeps its rowid (the arrival number) in arrival order, so inserts append;
 * clustering by the random id would make every insert a random page write.
 * The view tables are derived from events and could be rebuilt from them. */
static const char *const migrations[] = {
    /* 1: events, the forum view, local state.
     *
     * References between events are kept twice: as the id in the header (events.ref,
     * the truth) and, once the target is held, as its arrival number (ref_ev), which
     * is what the view's lookups use: an index of small, mostly recent integers costs
     * a fraction of one on random 32-byte ids, and ingest writes every index page it
     * touches once per batch. An event whose target has not arrived waits in
     * `waiting` until it does. For the same reason posts has no index of its own: a
     * thread is found by walking reply links down events_ref from its post. */
    "CREATE TABLE local_meta(key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE forum(one INTEGER PRIMARY KEY CHECK (one = 1), id BLOB NOT NULL,"
    "  founder BLOB);"
    "CREATE TABLE events(arrival INTEGER PRIMARY KEY, id BLOB NOT NULL, author BLOB NOT NULL,"
    "  seq INTEGER NOT NULL, created INTEGER NOT NULL, kind INTEGER NOT NULL, root BLOB,"
    "  ref BLOB, ref_ev INTEGER, body_len INTEGER NOT NULL, header BLOB NOT NULL,"
    "  sig BLOB NOT NULL, body BLOB);"
    "CREATE UNIQUE INDEX events_id ON events(id);"
    "CREATE INDEX events_created ON events(created, id);"
    "CREATE INDEX events_author ON events(author, seq);"
    "CREATE INDEX events_ref ON events(ref_ev, kind) WHERE ref_ev IS NOT NULL;"
    "CREATE TABLE waiting(ref BLOB NOT NULL, ev INTEGER NOT NULL, PRIMARY KEY (ref, ev))"
    "  WITHOUT ROWID;"
    "CREATE TABLE posts(ev INTEGER PRIMARY KEY REFERENCES events(arrival),"
    "  kind INTEGER NOT NULL, seq INTEGER NOT NULL, created INTEGER NOT NULL,"
    "  root_ev INTEGER, board_ev INTEGER, state INTEGER NOT NULL, depth INTEGER NOT NULL,"
    "  status INTEGER NOT NULL, title TEXT, text TEXT, cw TEXT, edited INTEGER NOT NULL,"
    "  replies INTEGER NOT NULL DEFAULT 0, last_activity INTEGER NOT NULL,"
    "  locked INTEGER NOT NULL DEFAULT 0, pinned INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE boards(ev INTEGER PRIMARY KEY REFERENCES events(arrival),"
    "  id BLOB NOT NULL UNIQUE, author BLOB NOT NULL, created INTEGER NOT NULL,"
    "  name TEXT NOT NULL, about TEXT, valid INTEGER NOT NULL);"
    "CREATE TABLE reacts(ev INTEGER PRIMARY KEY REFERENCES events(arrival),"
    "  author BLOB NOT NULL, reaction TEXT, live INTEGER NOT NULL);"
    "CREATE TABLE flags(ev INTEGER PRIMARY KEY REFERENCES events(arrival),"
    "  author BLOB NOT NULL, reason TEXT, live INTEGER NOT NULL);"
    "CREATE TABLE profiles(author BLOB PRIMARY KEY, ev INTEGER NOT NULL, seq INTEGER NOT NULL,"
    "  id BLOB NOT NULL, name TEXT, about TEXT) WITHOUT ROWID;",
    /* 2: community care: roles, moderation, settings, resources, search.
     * roles holds one row per grant whose granter could ever grant it (the founder,
     * or for the lesser roles someone the founder once made admin); `valid` says
     * whether the granter still held the power when granting, `revoked`/`until` what
     * revocations left of it. mods and care_events list the events of those kinds so
     * that recomputing never scans all events. search is filled lazily (search_upto)
     * and loses a post at once when its text stops being visible. */
    "CREATE TABLE roles(grant_ev INTEGER PRIMARY KEY, subject BLOB NOT NULL,"
    "  role INTEGER NOT NULL, valid INTEGER NOT NULL, revoked INTEGER NOT NULL,"
    "  until INTEGER NOT NULL);"
    "CREATE INDEX roles_subject ON roles(subject, role);"
    "CREATE TABLE care_events(ev INTEGER PRIMARY KEY, kind INTEGER NOT NULL);"
    "CREATE TABLE mods(ev INTEGER PRIMARY KEY, action INTEGER NOT NULL, subject BLOB);"
    "CREATE INDEX mods_subject ON mods(subject) WHERE subject IS NOT NULL;"
    "CREATE TABLE banned(subject BLOB PRIMARY KEY) WITHOUT ROWID;"
    "CREATE TABLE config(one INTEGER PRIMARY KEY CHECK (one = 1), hold INTEGER NOT NULL,"
    "  flags INTEGER NOT NULL, resources_ev INTEGER, search_upto INTEGER NOT NULL);"
    "INSERT INTO config VALUES (1, 0, 0, NULL, 0);"
    "CREATE VIRTUAL TABLE search USING fts5(title, text, tokenize = 'unicode61');",
    /* 3: events by kind, for store_stream: a sync sends events in transfer priority
     * order one chunk at a time, seeking from where the last chunk stopped, instead of
     * ordering every id it holds in memory. (kind, created) and the rowid make small
     * entries (18 bytes an event on disk, measured); ties of created are ordered by id
     * in the query. Opening an older replica builds it once, reading every event. */
    "CREATE INDEX events_kind ON events(kind, created);",
    /* 4: browser members (store/members.h): accounts with their sealed author seeds,
     * invite codes and per-member reading marks. Local to this hub: no event refers to
     * them, and neither export nor the view digest reads them. Small tables read by
     * their primary keys; store_invites scans its table, which holds one row per
     * invite ever made on this hub. */
    "CREATE TABLE accounts(login TEXT PRIMARY KEY NOT NULL, pk BLOB NOT NULL UNIQUE,"
    "  sealed BLOB NOT NULL, created INTEGER NOT NULL, invite TEXT) WITHOUT ROWID;"
    "CREATE TABLE invites(code TEXT PRIMARY KEY NOT NULL, creator BLOB NOT NULL,"
    "  created INTEGER NOT NULL, expires INTEGER NOT NULL, used_by BLOB, used_at INTEGER,"
    "  revoked INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
    "CREATE TABLE seen(pk BLOB NOT NULL, what TEXT NOT NULL, value INTEGER NOT NULL,"
    "  PRIMARY KEY (pk, what)) WITHOUT ROWID;",
    /* 5: a board's threads in the order people see them, so that a page of a board
     * reads that page's rows and not the whole board (a web page at a time), and its
     * threads are counted from this index alone. */
    ("CREATE INDEX posts_board ON posts(board_ev, pinned DESC, last_activity DESC, status) "
     "WHERE kind = 3 AND state = 0;"),
    /* 6: one person, many devices (docs/EVENTS.md, "device"). events.author is now the
     * person an event counts for (what the view reads), signer the key that signed it;
     * devices is the mapping the device events make (store/devices.c); mods.key is the
     * subject key as the event names it, mods.subject its person. */
    "ALTER TABLE events ADD COLUMN signer BLOB;"
    "UPDATE events SET signer = author;"
    "CREATE INDEX events_signer ON events(signer, seq);"
    "CREATE TABLE devices(device BLOB PRIMARY KEY, person BLOB NOT NULL, until INTEGER)"
    "  WITHOUT ROWID;"
    "ALTER TABLE mods ADD COLUMN key BLOB;"
    "UPDATE mods SET key = subject;",
    /* 7: the view digest and the counts `status` shows, kept up to date by the
     * triggers of viewsum.c instead of recomputed over the whole replica (one row;
     * sum is 32 bytes, docs/EVENTS.md "View digest"). The triggers are made and the
     * row filled when the step runs (viewsum_create, viewsum_fill). */
    ("CREATE TABLE view_sum(one INTEGER PRIMARY KEY CHECK (one = 1), sum BLOB NOT NULL,"
     "  events INTEGER NOT NULL, pending INTEGER NOT NULL, purged INTEGER NOT NULL,"
     "  boards INTEGER NOT NULL, threads INTEGER NOT NULL, replies INTEGER NOT NULL,"
     "  authors INTEGER NOT NULL, forks INTEGER NOT NULL);"),
    /* 8: references with the referring event's created time, so that a thread is read
     * a page at a time: a post's replies in (created, id) order are a range of this
     * index (store_thread_before walks a thread from a cursor, one lookup a step),
     * where events_ref(ref_ev, kind) made every step read all of a post's replies. */
    ("DROP INDEX events_ref;"
     "CREATE INDEX events_ref ON events(ref_ev, kind, created) WHERE ref_ev IS NOT NULL;"),
    /* 9: less disk per event (docs/PERFORMANCE.md, "Disk"). The search index keeps no
     * copy of the words (contentless): posts held them (until migration 10), and taking
     * a post out of the index gives the index the words it was given (view.c,
     * search_out). It is made again at the next search. events_signer holds only the events whose
     * signer is not the person they count for (a device's); an event its person signed
     * is found through events_author (author = signer). The trigger that counts forks
     * on a delete is made again to match (viewsum_upgrade). */
    ("DROP TABLE search;"
     "CREATE VIRTUAL TABLE search USING fts5(title, text, content = '', "
     "tokenize = 'unicode61');"
     "UPDATE config SET search_upto = 0;"
     "DROP INDEX events_signer;"
     "CREATE INDEX events_signer ON events(signer, seq) WHERE signer != author;"),
    /* 10: posts keeps no copy of a post's words (docs/PERFORMANCE.md, "Disk"): words_ev
     * names the version in force, the greatest by (seq, id) of the post and its author's
     * edits that still have a body, and the reads take title, text and cw from that body
     * (hearth_words). The digest's record of a post's words is the same values read
     * another way; its triggers are made again to read them and the sum recomputed
     * (viewsum_upgrade), and the search index, which keeps no copy of the words it was
     * given, is made again at the next search: a post an older hearth last computed,
     * before superseded versions lost their bodies, may read other words now. */
    ("DROP TABLE search;"
     "CREATE VIRTUAL TABLE search USING fts5(title, text, content = '', "
     "tokenize = 'unicode61');"
     "UPDATE config SET search_upto = 0;"
     "DROP TRIGGER IF EXISTS vs_text_i;"
     "DROP TRIGGER IF EXISTS vs_text_d;"
     "DROP TRIGGER IF EXISTS vs_text_u;"
     "ALTER TABLE posts ADD COLUMN words_ev INTEGER;"
     "UPDATE posts SET words_ev = (SELECT v.arrival FROM events v WHERE v.body IS NOT NULL AND "
     "  (v.arrival = posts.ev OR (v.ref_ev = posts.ev AND v.kind = 5 AND v.author = "
     "  (SELECT author FROM events WHERE arrival = posts.ev))) ORDER BY v.seq DESC, v.id DESC "
     "  LIMIT 1) WHERE text IS NOT NULL;"
     "ALTER TABLE posts DROP COLUMN title;"
     "ALTER TABLE posts DROP COLUMN text;"
     "ALTER TABLE posts DROP COLUMN cw;"),
    /* 11: events.signer is NULL for an event its person signed (all but a device's):
     * the header names the key, and author is then that key (32 bytes an event less).
     * events_signer holds the rest, as before. The trigger that counts forks on a
     * delete is made again to read a NULL signer as its author (viewsum_upgrade). */
    ("UPDATE events SET signer = NULL WHERE signer = author;"
     "DROP INDEX events_signer;"
     "CREATE INDEX events_signer ON events(signer, seq) WHERE signer IS NOT NULL;"),
    /* 12: local bytes kept under a name (store_blob_set): the node's saved recon index,
     * so that starting does not read every event. Repair does not copy them. */
    ("CREATE TABLE local_blobs(key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL);"),
    /* 13: a post's reactions counted as they change, not at every read (docs/PERFORMANCE.md,
     * "Listings at ten million"). reacts.on_ev is the reaction's target (its event's
     * ref_ev, kept equal by reacts_on_u when a waiting reaction's target arrives);
     * react_by counts each (target, reaction, author)'s live reactions and react_count
     * each (target, reaction)'s authors, kept by triggers on reacts (REACT_ADD/SUB). */
    ("ALTER TABLE reacts ADD COLUMN on_ev INTEGER;"
     "UPDATE reacts SET on_ev = (SELECT ref_ev FROM events WHERE arrival = reacts.ev);"
     "CREATE TABLE react_by(on_ev INTEGER NOT NULL, reaction TEXT NOT NULL, author BLOB NOT "
     "NULL, n INTEGER NOT NULL, PRIMARY KEY (on_ev, reaction, author)) WITHOUT ROWID;"
     "CREATE TABLE react_count(on_ev INTEGER NOT NULL, reaction TEXT NOT NULL, count INTEGER "
     "NOT NULL, PRIMARY KEY (on_ev, reaction)) WITHOUT ROWID;"
     "INSERT INTO react_by SELECT on_ev, reaction, author, count(*) FROM reacts WHERE " REACT_LIVE(
         "reacts") " GROUP BY 1, 2, 3;"
                   "INSERT INTO react_count SELECT on_ev, reaction, count(*) FROM react_by GROUP "
                   "BY 1, 2;"
                   "CREATE TRIGGER reacts_on_u AFTER UPDATE OF ref_ev ON events WHEN NEW.kind = 7 "
                   "BEGIN "
                   "UPDATE reacts SET on_ev = NEW.ref_ev WHERE ev = NEW.arrival; END;"
                   "CREATE TRIGGER react_i AFTER INSERT ON reacts BEGIN " REACT_ADD(
                       "NEW") " END;"
                              "CREATE TRIGGER react_d AFTER DELETE ON reacts BEGIN " REACT_SUB(
                                  "OLD") " END;"
                                         "CREATE TRIGGER react_u AFTER UPDATE OF live, reaction, "
                                         "author, on_ev ON reacts WHEN "
                                         "OLD.live IS NOT NEW.live OR OLD.reaction IS NOT "
                                         "NEW.reaction OR OLD.author IS NOT "
                                         "NEW.author OR OLD.on_ev IS NOT NEW.on_ev "
                                         "BEGIN " REACT_SUB("OLD") REACT_ADD("NEW") " END;"),
};

/* The first schema version with view_sum. */
#define SCHEMA_VIEWSUM 7

#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

static const char *const sql_text[Q_COUNT] = {
#define STORE_Q_SQL(name, sql) [name] = sql,
    STORE_QUERIES(STORE_Q_SQL)
#undef STORE_Q_SQL
};

static _Thread_local char open_error[256];

/* ---- small helpers ---- */

void i64vec_release(struct i64vec *a)
{
    free(a->v);
    a->v = NULL;
    a->n = a->cap = 0;
}

herr i64vec_push(struct i64vec *a, int64_t x)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        int64_t *v = realloc(a->v, cap * sizeof *v);
        if (!v)
            return HERR_NOMEM;
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = x;
    return HERR_OK;
}

herr store_fail(struct store *s, herr e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof s->err, fmt, ap);
    va_end(ap);
    return e;
}

static herr sqlite_herr(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return HERR_OK;
    case SQLITE_FULL:
        return HERR_FULL;
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return HERR_READONLY;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return HERR_BUSY;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return HERR_CORRUPT;
    case SQLITE_NOMEM:
        return HERR_NOMEM;
    default:
        return HERR_IO;
    }
}

/* ---- disk space ---- */

static void human_bytes(char *buf, size_t n, uint64_t v)
{
    if (v < 1024 * 1024)
        snprintf(buf, n, "%llu KiB", (unsigned long long)((v + 1023) / 1024));
    else if (v < 1024ull * 1024 * 1024)
        snprintf(buf, n, "%.1f MiB", (double)v / (1024 * 1024));
    else
        snprintf(buf, n, "%.1f GiB", (double)v / (1024 * 1024 * 1024));
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* limit_elsewhere - the file system had room when the write failed: the limit is one
 * statvfs does not show (a quota, a size limit of the database). */
static bool limit_elsewhere(const struct store *s)
{
    return s->full_avail >= STORE_MIN_FREE + STORE_FULL_MARGIN;
}

static bool free_bytes(const struct store *s, uint64_t *avail)
{
    struct statvfs v;
    if (!s->path || statvfs(s->path, &v) != 0)
        return false;
    *avail = (uint64_t)v.f_bavail * v.f_frsize;
    return true;
}

static uint64_t space_need(const struct store *s)
{
    uint64_t need = s->full_avail + STORE_FULL_MARGIN;
    return need > STORE_MIN_FREE ? need : STORE_MIN_FREE;
}

/* space_detail - "the disk is full: 12 KiB free in DIR, 1.0 MiB needed: free space
 * there" into s->err after `what`. */
static herr space_detail(struct store *s, const char *what, uint64_t avail)
{
    char have[32], need[32];
    human_bytes(have, sizeof have, avail);
    human_bytes(need, sizeof need, space_need(s));
    if (limit_elsewhere(s))
        return store_fail(s, HERR_FULL,
                          "%s%sno room to write in %s although its disk has %s free (a quota, or "
                          "a size limit of the database?): free space or raise the limit",
                          what ? what : "", what ? ": " : "", store_dir(s), have);
    return store_fail(s, HERR_FULL,
                      "%s%sthe disk is full: %s free in %s, %s needed: free space there",
                      what ? what : "", what ? ": " : "", have, store_dir(s), need);
}

/* space_filled - a write did not fit: the store is full from now on. */
static void space_filled(struct store *s)
{
    uint64_t avail = 0;
    if (!free_bytes(s, &avail))
        avail = 0;
    if (!s->full || avail < s->full_avail)
        s->full_avail = avail;
    s->full = true;
    s->full_ms = mono_ms();
}

herr store_space(struct store *s, struct store_space *sp)
{
    uint64_t avail;
    memset(sp, 0, sizeof *sp);
    if (!free_bytes(s, &avail))
        return store_fail(s, HERR_IO, "cannot tell the free space in %s", store_dir(s));
    if (s->full && (avail >= space_need(s) ||
                    (limit_elsewhere(s) && mono_ms() - s->full_ms >= STORE_FULL_RETRY_MS)))
        s->full = false;
    else if (!s->full && avail < STORE_MIN_FREE)
        space_filled(s);
    sp->full = s->full;
    sp->avail = avail;
    sp->need = s->full ? space_need(s) : 0;
    return HERR_OK;
}

const char *store_dir(const struct store *s)
{
    return s->dir ? s->dir : ".";
}

/* space_gate - refuse a write while the store is full. */
static herr space_gate(struct store *s)
{
    struct store_space sp;
    if (store_space(s, &sp) != HERR_OK || !sp.full)
        return HERR_OK; /* a file system that cannot say: SQLite will */
    return space_detail(s, NULL, sp.avail);
}

herr store_sqlerr(struct store *s, int rc, const char *what)
{
    herr e = sqlite_herr(rc);
    if (e == HERR_BUSY)
        return store_fail(s, e, "%s: database is locked by another process", what);
    if (e == HERR_FULL) {
        uint64_t avail = 0;
        space_filled(s);
        if (free_bytes(s, &avail))
            return space_detail(s, what, avail);
    }
    return store_fail(s, e, "%s: %s", what, s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
}

sqlite3_stmt *sq(struct store *s, enum q q)
{
    assert(q >= 0 && q < Q_COUNT);
    if (s->st[q]) {
        sqlite3_reset(s->st[q]);
        sqlite3_clear_bindings(s->st[q]);
        return s->st[q];
    }
    int rc = sqlite3_prepare_v3(s->db, sql_text[q], -1, SQLITE_PREPARE_PERSISTENT, &s->st[q], NULL);
    if (rc != SQLITE_OK) {
        (void)store_sqlerr(s, rc, "cannot prepare a statement");
        return NULL;
    }
    return s->st[q];
}

void sq_bind_id(sqlite3_stmt *q, int i, const uint8_t *id)
{
    sqlite3_bind_blob(q, i, id, HEARTH_ID_LEN, SQLITE_STATIC);
}

herr sq_exec(struct store *s, sqlite3_stmt *q, const char *what)
{
    int rc = sqlite3_step(q);
    while (rc == SQLITE_ROW)
        rc = sqlite3_step(q);
    sqlite3_reset(q);
    return rc == SQLITE_DONE ? HERR_OK : store_sqlerr(s, rc, what);
}

int sq_step(struct store *s, sqlite3_stmt *q, herr *e, const char *what)
{
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE) {
        sqlite3_reset(q);
        return 0;
    }
    sqlite3_reset(q);
    *e = store_sqlerr(s, rc, what);
    return -1;
}

herr sq_collect(struct store *s, sqlite3_stmt *q, struct i64vec *out, const char *what)
{
    herr e = HERR_OK;
    int r;
    while ((r = sq_step(s, q, &e, what)) > 0) {
        e = i64vec_push(out, sqlite3_column_int64(q, 0));
        if (e) {
            sqlite3_reset(q);
            return store_fail(s, e, "%s: out of memory", what);
        }
    }
    return r < 0 ? e : HERR_OK;
}

static herr exec_sql(struct store *s, const char *sql, const char *what)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? HERR_OK : store_sqlerr(s, rc, what);
}

/* pragma_int - the integer result of a pragma query. */
static herr pragma_int(struct store *s, const char *sql, int64_t *v)
{
    sqlite3_stmt *q;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);
    if (rc != SQLITE_OK)
        return store_sqlerr(s, rc, "cannot read the database header");
    rc = sqlite3_step(q);
    *v = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    sqlite3_finalize(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_sqlerr(s, rc, "cannot read the database header");
    return HERR_OK;
}

/* ---- transactions ---- */

static herr load_forum(struct store *s)
{
    herr e = HERR_OK;
    sqlite3_stmt *q = sq(s, Q_FORUM_GET);
    if (!q)
        return HERR_IO;
    s->has_forum = s->has_founder = false;
    int r = sq_step(s, q, &e, "cannot read the forum");
    if (r > 0) {
        s->has_forum = true;
        memcpy(s->forum, sqlite3_column_blob(q, 0), HEARTH_ID_LEN);
        if (sqlite3_column_bytes(q, 1) == HEARTH_PK_LEN) {
            s->has_founder = true;
            memcpy(s->founder, sqlite3_column_blob(q, 1), HEARTH_PK_LEN);
        }
        sqlite3_reset(q);
    }
    return r < 0 ? e : HERR_OK;
}

/* load_waiting - whether any event waits for a reference: when none does, ingest
 * skips looking for waiters event by event. */
static herr load_waiting(struct store *s)
{
    herr e = HERR_OK;
    sqlite3_stmt *q = sq(s, Q_WAIT_ANY);
    if (!q)
        return HERR_IO;
    int r = sq_step(s, q, &e, "cannot read waiting events");
    s->any_waiting = r > 0;
    if (r > 0)
        sqlite3_reset(q);
    return r < 0 ? e : HERR_OK;
}

static herr run(struct store *s, enum q which, const char *what)
{
    sqlite3_stmt *q = sq(s, which);
    return q ? sq_exec(s, q, what) : HERR_IO;
}

/* load_care - the settings that every event's status reads (care.c's inputs), once
 * per transaction. */
static herr load_care(struct store *s)
{
    herr e = HERR_OK;
    sqlite3_stmt *q = sq(s, Q_CONFIG_GET);
    if (!q)
        return HERR_IO;
    int n = sq_step(s, q, &e, "cannot read the settings");
    if (n > 0) {
        s->hold = (uint64_t)sqlite3_column_int64(q, 0);
        s->flag_limit = (uint64_t)sqlite3_column_int64(q, 1);
        s->any_banned = sqlite3_column_int(q, 2) != 0;
        s->search_upto = sqlite3_column_int64(q, 3);
        s->any_revoked = sqlite3_column_int(q, 4) != 0;
        sqlite3_reset(q);
    }
    s->holds_loaded = false; /* another connection may have added settings */
    s->time_loaded = false;  /* or events */
    return n < 0 ? e : HERR_OK;
}

herr store_write_begin(struct store *s)
{
    if (s->readonly)
        return store_fail(s, HERR_READONLY, "the store is open read-only");
    herr e = space_gate(s);
    if (e)
        return e;
    e = run(s, Q_BEGIN, "cannot start a transaction");
    if (e)
        return e;
    e = load_forum(s);
    if (!e)
        e = load_waiting(s);
    if (!e)
        e = load_care(s);
    if (!e)
        e = viewsum_load(s);
    s->search_purged = false;
    if (e)
        (void)run(s, Q_ROLLBACK, "cannot roll back");
    return e;
}

herr store_write_end(struct store *s, herr e)
{
    /* Purged text left the search index: merge its segments so that the words go
     * from the file too (FTS5 keeps deleted terms until a merge). */
    if (!e && s->search_purged)
        e = exec_sql(s, "INSERT INTO search(search) VALUES ('optimize')",
                     "cannot tidy the search index");
    s->search_purged = false;
    if (!e)
        e = viewsum_save(s);
    if (!e) {
        e = run(s, Q_COMMIT, "cannot commit");
        if (!e)
            return HERR_OK;
    }
    char keep[sizeof s->err];
    memcpy(keep, s->err, sizeof keep);
    if (!sqlite3_get_autocommit(s->db))
        (void)run(s, Q_ROLLBACK, "cannot roll back");
    memcpy(s->err, keep, sizeof keep);
    return e;
}

herr store_read_begin(struct store *s)
{
    herr e = run(s, Q_BEGIN_READ, "cannot start a read");
    if (!e)
        e = load_forum(s);
    if (!e)
        e = load_care(s);
    if (e)
        store_read_end(s);
    return e;
}

void store_read_end(struct store *s)
{
    if (!sqlite3_get_autocommit(s->db))
        (void)run(s, Q_COMMIT, "cannot end a read");
}

/* ---- opening ---- */

static herr open_fail(struct store *s, herr e)
{
    snprintf(open_error, sizeof open_error, "%s", s->err);
    return e;
}

const char *store_open_error(void)
{
    return open_error;
}

const char *store_errmsg(const struct store *s)
{
    return s->err;
}

/* configure - per-connection settings. A checkpoint every 4000 pages (16 MB of WAL
 * at 4 KiB pages, 32 MB at 8 KiB) rather than SQLite's 1000: ingest rewrites the same index pages
 * batch after batch, and a checkpoint copies each page once however often it was
 * rewritten. Pages of 8 KiB for a new replica (the page size only takes on a file
 * that has no table yet; a replica keeps the size it was made with): an event row is
 * ~670 bytes and rows are appended, so a page ends with on average half a row of
 * unused space, which is 6% of an event at 8 KiB and 12% at 4 KiB (docs/PERFORMANCE.md,
 * "Disk per event"). The page cache is sized in bytes and stays 16 MB. */
static herr configure(struct store *s)
{
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
    sqlite3_busy_timeout(s->db, STORE_BUSY_MS);
    return exec_sql(s,
                    "PRAGMA page_size = 8192; PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;"
                    "PRAGMA trusted_schema = OFF; PRAGMA cache_size = -16000;"
                    "PRAGMA wal_autocheckpoint = 4000; PRAGMA journal_size_limit = 16777216;",
                    "cannot configure the database");
}

/* check_identity - a hearth database of a version we know (or an empty file). */
static herr check_identity(struct store *s, int64_t *version)
{
    int64_t app, tables;
    herr e = pragma_int(s, "PRAGMA application_id", &app);
    if (!e)
        e = pragma_int(s, "PRAGMA user_version", version);
    if (!e)
        e = pragma_int(s, "SELECT count(*) FROM sqlite_schema", &tables);
    if (e == HERR_CORRUPT)
        return store_fail(s, e, "not a hearth database");
    if (e)
        return e;
    if (app != STORE_APPLICATION_ID && (app != 0 || tables != 0))
        return store_fail(s, HERR_CORRUPT, "not a hearth database");
    if (*version > SCHEMA_VERSION)
        return store_fail(s, HERR_VERSION,
                          "database schema %lld is newer than this program's %d: upgrade hearth",
                          (long long)*version, SCHEMA_VERSION);
    return HERR_OK;
}

static herr migrate(struct store *s)
{
    int64_t version;
    herr e = exec_sql(s, "BEGIN IMMEDIATE", "cannot start the schema upgrade");
    if (e)
        return e;
    e = check_identity(s, &version); /* again, under the lock */
    for (int64_t v = version; !e && v < SCHEMA_VERSION; v++)
        e = exec_sql(s, migrations[v], "cannot upgrade the schema");
    if (!e && version < SCHEMA_VIEWSUM)
        e = viewsum_create(s);
    if (!e && version < SCHEMA_VIEWSUM)
        e = viewsum_fill(s);
    else if (!e)
        e = viewsum_upgrade(s, version);
    if (!e && version < SCHEMA_VERSION) {
        char sql[128];
        snprintf(sql, sizeof sql, "PRAGMA application_id = %d; PRAGMA user_version = %d",
                 STORE_APPLICATION_ID, SCHEMA_VERSION);
        e = exec_sql(s, sql, "cannot upgrade the schema");
    }
    if (!e)
        return exec_sql(s, "COMMIT", "cannot commit the schema upgrade");
    char keep[sizeof s->err];
    memcpy(keep, s->err, sizeof keep);
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    memcpy(s->err, keep, sizeof keep);
    return e;
}

static herr quick_check(struct store *s)
{
    sqlite3_stmt *q;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA quick_check(1)", -1, &q, NULL);
    if (rc != SQLITE_OK)
        return store_sqlerr(s, rc, "cannot check the database");
    rc = sqlite3_step(q);
    bool ok = rc == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(q, 0), "ok") == 0;
    sqlite3_finalize(q);
    if (rc != SQLITE_ROW)
        return store_sqlerr(s, rc, "cannot check the database");
    return ok ? HERR_OK : store_fail(s, HERR_CORRUPT, "the database fails its integrity check");
}

/* immutable_uri - "file:PATH?immutable=1" with PATH %-escaped; caller frees. */
static char *immutable_uri(const char *path)
{
    size_t n = strlen(path);
    char *u = malloc(3 * n + 32), *w = u;
    if (!u)
        return NULL;
    w += sprintf(w, "file:");
    for (const unsigned char *p = (const unsigned char *)path; *p; p++)
        if (*p == '%' || *p == '?' || *p == '#' || *p < 0x20 || *p >= 0x7f)
            w += sprintf(w, "%%%02X", *p);
        else
            *w++ = (char)*p;
    strcpy(w, "?immutable=1");
    return u;
}

/* open_db - open and configure. `immutable`: read the file alone, as SQLite does for
 * a file on read-only media (no locks, no log: see store_open). */
static herr open_db(struct store *s, const char *path, unsigned flags, bool immutable)
{
    int oflags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    oflags |= (flags & STORE_READONLY) ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    if ((flags & STORE_CREATE) && !(flags & STORE_READONLY))
        oflags |= SQLITE_OPEN_CREATE;
    char *uri = immutable ? immutable_uri(path) : NULL;
    if (immutable && !uri)
        return store_fail(s, HERR_NOMEM, "out of memory");
    int rc = sqlite3_open_v2(immutable ? uri : path, &s->db,
                             oflags | (immutable ? SQLITE_OPEN_URI : 0), NULL);
    free(uri);
    if (rc != SQLITE_OK)
        return store_sqlerr(s, rc, "cannot open the database");
    herr e = configure(s);
    if (!e)
        e = viewsum_register(s);
    int64_t version = 0;
    if (!e)
        e = check_identity(s, &version);
    if (!e && s->readonly && version < SCHEMA_VERSION)
        e = store_fail(s, version ? HERR_READONLY : HERR_CORRUPT,
                       version ? "the database needs a schema upgrade but is read-only"
                               : "not a hearth database");
    if (!e && !s->readonly)
        e = exec_sql(s, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;",
                     "cannot set the journal mode");
    if (!e && !s->readonly && version < SCHEMA_VERSION)
        e = migrate(s);
    /* Prepared now, so that a write can always be rolled back: a ROLLBACK that could
     * not be prepared when memory ran out left the failed write's transaction open,
     * to be committed by whatever the handle did next. */
    if (!e && !s->readonly && (!sq(s, Q_ROLLBACK) || !sq(s, Q_COMMIT)))
        e = HERR_NOMEM;
    if (!e && (flags & STORE_SMALL_CACHE))
        e = exec_sql(s, "PRAGMA cache_size = -1000;", "cannot configure the database");
    if (!e && (flags & STORE_CHECK))
        e = quick_check(s);
    return e;
}

static bool has_suffix_file(const char *path, const char *suffix)
{
    char p[4300];
    struct stat st;
    int k = snprintf(p, sizeof p, "%s%s", path, suffix);
    return k >= 0 && (size_t)k < sizeof p && stat(p, &st) == 0;
}

/* log_without_index - path has a write-ahead log with frames in it and no -shm file:
 * SQLite must make the -shm file to read the log, which a read-only directory does not
 * allow (and reading the file without its log would hide committed writes). */
static bool log_without_index(const char *path)
{
    char shm[4300], wal[4300];
    struct stat st;
    int k = snprintf(shm, sizeof shm, "%s-shm", path);
    if (k < 0 || (size_t)k >= sizeof shm || stat(shm, &st) == 0)
        return false;
    snprintf(wal, sizeof wal, "%s-wal", path); /* as long as shm: it fits */
    return stat(wal, &st) == 0 && st.st_size > 32;
}

/* SQLite's locks are POSIX advisory locks, and a process loses every lock it holds on
 * a file as soon as it closes any descriptor of that file. Reading the -shm file
 * ourselves (wal_check) in a process that already has the replica open (serve:
 * the node's connection, then the web's) dropped the locks of its open connections;
 * another process then took itself for the only one, deleted the -shm file under them,
 * and the next write died of SIGBUS. So the check runs at a process's first open of a
 * replica only: the replicas this process has open, by the file's device and inode. */
#define OPEN_REPLICAS 32
static pthread_mutex_t opened_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    dev_t dev;
    ino_t ino;
    unsigned n; /* 0: a free entry */
} opened[OPEN_REPLICAS];

/* opened_note - count one more (up true) or one fewer open store of (dev, ino); with
 * up, whether one was open already. */
static bool opened_note(dev_t dev, ino_t ino, bool up)
{
    bool was = false;
    pthread_mutex_lock(&opened_mu);
    int free_slot = -1;
    for (int i = 0; i < OPEN_REPLICAS; i++) {
        if (opened[i].n && opened[i].dev == dev && opened[i].ino == ino) {
            was = true;
            if (up)
                opened[i].n++;
            else
                opened[i].n--;
            free_slot = -2;
            break;
        }
        if (!opened[i].n && free_slot == -1)
            free_slot = i;
    }
    if (up && !was && free_slot >= 0)
        opened[free_slot].dev = dev, opened[free_slot].ino = ino, opened[free_slot].n = 1;
    pthread_mutex_unlock(&opened_mu);
    return was;
}

herr store_open(struct store **out, const char *path, unsigned flags)
{
    *out = NULL;
    open_error[0] = '\0';
    if (!(flags & STORE_CREATE) && access(path, F_OK) != 0) {
        snprintf(open_error, sizeof open_error, "no database at '%s'", path);
        return HERR_NOT_FOUND;
    }
    struct store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(open_error, sizeof open_error, "out of memory");
        return HERR_NOMEM;
    }
    s->readonly = (flags & STORE_READONLY) != 0;
    s->path = strdup(path);
    s->dir = s->path ? strdup(path) : NULL;
    if (!s->dir) {
        snprintf(open_error, sizeof open_error, "out of memory");
        store_destroy(&s);
        return HERR_NOMEM;
    }
    char *slash = strrchr(s->dir, '/');
    if (slash && slash != s->dir)
        *slash = '\0';
    else if (slash)
        slash[1] = '\0';
    else
        strcpy(s->dir, ".");
    hbuf_init(&s->scratch, HEARTH_MAX_EVENT + 64);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    s->ncpu = n < 1 ? 1 : n > 16 ? 16 : (unsigned)n;
    struct stat st;
    herr e = HERR_OK;
    if (stat(path, &st) == 0) {
        s->dev = st.st_dev, s->ino = st.st_ino, s->noted = true;
        if (!opened_note(s->dev, s->ino, true)) /* the first open in this process */
            e = wal_check(path, s->err, sizeof s->err);
    }
    if (!e)
        e = open_db(s, path, flags, false);
    /* A read-only directory without the -shm file SQLite needs for a database in WAL
     * mode: when no log holds anything, the file alone is the whole replica, and
     * SQLite reads it as immutable. A log with frames and no index is not read that
     * way, which would hide its commits. */
    if (e == HERR_READONLY && s->readonly && log_without_index(path)) {
        e = store_fail(s, e,
                       "its write-ahead log (hearth.db-wal) has no index (hearth.db-shm) that "
                       "SQLite could make here: copy the directory somewhere writable to read it");
    } else if (e == HERR_READONLY && s->readonly && !has_suffix_file(path, "-shm")) {
        for (int i = 0; i < Q_COUNT; i++)
            sqlite3_finalize(s->st[i]), s->st[i] = NULL;
        sqlite3_close(s->db);
        s->db = NULL;
        e = open_db(s, path, flags, true);
    }
    if (!e && !s->noted && stat(path, &st) == 0) { /* made just now */
        s->dev = st.st_dev, s->ino = st.st_ino, s->noted = true;
        (void)opened_note(s->dev, s->ino, true);
    }
    if (e) {
        open_fail(s, e);
        store_destroy(&s);
        return e;
    }
    *out = s;
    return HERR_OK;
}

void store_destroy(struct store **sp)
{
    struct store *s = *sp;
    if (!s)
        return;
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(s->st[i]);
    sqlite3_close(s->db);
    if (s->noted)
        (void)opened_note(s->dev, s->ino, false);
    hbuf_release(&s->scratch);
    hbuf_release(&s->vbuf);
    free(s->holds.v); /* the hold timeline (care.c, care_hold_at) */
    free(s->path);
    free(s->dir);
    free(s);
    *sp = NULL;
}

/* ---- the forum ---- */

herr store_forum(struct store *s, uint8_t forum[HEARTH_ID_LEN])
{
    s->err[0] = '\0';
    herr e = load_forum(s);
    if (e)
        return e;
    if (!s->has_forum)
        return store_fail(s, HERR_STATE, "replica has no forum yet");
    memcpy(forum, s->forum, HEARTH_ID_LEN);
    return HERR_OK;
}

herr store_set_forum(struct store *s, const uint8_t forum[HEARTH_ID_LEN])
{
    s->err[0] = '\0';
    herr e = store_write_begin(s);
    if (e)
        return e;
    if (s->has_forum && memcmp(s->forum, forum, HEARTH_ID_LEN) != 0)
        e = store_fail(s, HERR_STATE, "replica already belongs to another forum");
    else if (!s->has_forum) {
        sqlite3_stmt *q = sq(s, Q_FORUM_SET);
        e = q ? HERR_OK : HERR_IO;
        if (q) {
            sq_bind_id(q, 1, forum);
            e = sq_exec(s, q, "cannot bind the forum");
        }
    }
    return store_write_end(s, e);
}

/* ---- local state ---- */

herr store_meta_get(struct store *s, const char *key, char **value)
{
    herr e = HERR_OK;
    *value = NULL;
    s->err[0] = '\0';
    sqlite3_stmt *q = sq(s, Q_META_GET);
    if (!q)
        return HERR_IO;
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    int r = sq_step(s, q, &e, "cannot read a setting");
    if (r < 0)
        return e;
    if (r == 0)
        return store_fail(s, HERR_NOT_FOUND, "no setting '%s'", key);
    *value = strdup((const char *)sqlite3_column_text(q, 0));
    sqlite3_reset(q);
    return *value ? HERR_OK : store_fail(s, HERR_NOMEM, "out of memory");
}

herr store_meta_set(struct store *s, const char *key, const char *value)
{
    s->err[0] = '\0';
    if (s->readonly)
        return store_fail(s, HERR_READONLY, "the store is open read-only");
    sqlite3_stmt *q = sq(s, Q_META_SET);
    if (!q)
        return HERR_IO;
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, value, -1, SQLITE_STATIC);
    return sq_exec(s, q, "cannot save a setting");
}
