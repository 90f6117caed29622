/* viewsum.c - the view digest and the replica's counts, kept up to date as the view
 * changes, so that `hearth status` reads them instead of the whole view.
 *
 * The view digest (docs/EVENTS.md, "View digest") is the sum, lane by lane modulo
 * 2^64 over four little-endian 64-bit lanes, of one BLAKE2b-256 hash per record of
 * the view tables, hashed once more with a tag. A sum does not depend on the order
 * in which records were added, and a record that changes is taken out (its old hash
 * subtracted) and put back (its new one added). Records name events by id, never by
 * arrival number, so two replicas holding the same events sum the same records.
 *
 * The sum is kept by triggers on the view tables, created with the view_sum table by
 * the schema upgrade that brought it (viewsum_create), which call hearth_vsum(): it
 * adds into the handle; store_write_begin loads the stored sum under the write lock,
 * and store_write_end writes it back in the same transaction before COMMIT. The counts
 * of store_stats are kept the same way by hearth_vcount(), and an event's arrival by
 * its insert (viewsum_event_added). Only hearth registers these functions (and
 * hearth_words, which reads a post's words from a body): a write to a view table by
 * another program (the sqlite3 shell) fails ("no such function") instead of leaving
 * the sum behind, and store_view_digest_full recomputes the sum from the tables
 * whatever happened. Such a program cannot read a post's words either.
 *
 * The triggers are in the schema, not made by each connection: an open costs nothing
 * for them (TEMP triggers, made at every writing open, more than doubled the
 * allocations of an open). So a change to `tables` or to a trigger is a schema
 * migration: drop the old triggers and create them again. A table added to the view
 * must be added to `tables` below (and to docs/EVENTS.md) for its rows to count in
 * the digest.
 */
#include <assert.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mp.h"
#include "store/store_int.h"

#define VSUM_TAG "hearth/view/v2"

/* An event's id from its arrival number ($ stands for NEW, OLD or the scanned row). */
#define ID_OF(col) "(SELECT id FROM events WHERE arrival = $." col ")"
/* A post's words, from the body of its version in force (store_int.h, WORDS_TEXT). */
#define WORDS_OF(expr) "(SELECT " expr " FROM events w WHERE w.arrival = $.words_ev)"
#define TEXT_RECORD_WORDS                                                                          \
    WORDS_OF(WORDS_TITLE("$", "w")) ", " WORDS_OF(WORDS_TEXT("w")) ", " WORDS_OF(WORDS_CW("w"))

/* The view tables and each one's record: a tag, then columns. Columns that are a
 * function of the event's id (its author, kind, seq, created time, references) are
 * left out: the id stands for them. */
static const struct vtable {
    const char *table, *tag;
    const char *cols;   /* expressions over $ */
    const char *update; /* the columns whose update changes the record */
} tables[] = {
    {"forum", "forum", "$.id, $.founder", "id, founder"},
    {"boards", "board", "$.id, $.name, $.about, $.valid", "id, name, about, valid"},
    /* A post is two records, so that a reply, which updates its thread's counts and
     * time, does not hash the thread's text again. */
    {"posts", "post",
     ID_OF("ev") ", $.state, $.depth, $.status, $.replies, $.last_activity, $.locked, "
                 "$.pinned, " ID_OF("board_ev"),
     "ev, state, depth, status, replies, last_activity, locked, pinned, board_ev"},
    {"posts", "text", ID_OF("ev") ", " TEXT_RECORD_WORDS ", $.edited", "ev, words_ev, edited"},
    {"reacts", "react", ID_OF("ev") ", $.reaction, $.live", "ev, reaction, live"},
    {"flags", "flag", ID_OF("ev") ", $.reason, $.live", "ev, reason, live"},
    {"mods", "mod", ID_OF("ev") ", $.action, $.subject", "ev, action, subject"},
    {"profiles", "profile", "$.author, $.id, $.name, $.about", "author, id, name, about"},
    {"roles", "role", ID_OF("grant_ev") ", $.subject, $.role, $.valid, $.revoked, $.until",
     "grant_ev, subject, role, valid, revoked, until"},
    {"banned", "ban", "$.subject", "subject"},
    {"config", "config", "$.hold, $.flags, " ID_OF("resources_ev"), "hold, flags, resources_ev"},
    {"devices", "device", "$.device, $.person, $.until", "device, person, until"},
};

/* The counts of struct store_stats kept here, in the order of view_sum's columns. */
enum { VC_EVENTS, VC_PENDING, VC_PURGED, VC_BOARDS, VC_THREADS, VC_REPLIES, VC_AUTHORS, VC_FORKS };

#define PURGED(r) "(" r ".body IS NULL AND " r ".kind IN (3, 4, 5, 7, 8, 9))"
#define POSTS_COUNTS(sign, r)                                                                      \
    "SELECT hearth_vcount(1, " sign " (" r ".state = 1)), hearth_vcount(4, " sign " (" r           \
    ".kind = 3 AND " r ".state = 0)), hearth_vcount(5, " sign " (" r ".kind = 4 AND " r            \
    ".state = 0));"
#define BOARDS_COUNTS(sign, r)                                                                     \
    "SELECT hearth_vcount(3, " sign " (" r ".valid = 0)), hearth_vcount(1, " sign " (" r           \
    ".valid = 1));"
#define WAITING_COUNTS(sign, r)                                                                    \
    "SELECT hearth_vcount(1, " sign " coalesce((SELECT kind IN (5, 6, 7, 8) FROM events "          \
    "WHERE arrival = " r ".ev), 0));"

/* The triggers that keep the counts (the same numbers as store_stats_full's queries),
 * one statement each. An author is a person (events.author): counted when their first
 * event arrives, or when a device event moves a key's events to them. A fork is a
 * second event that takes one (signer, seq). An event's arrival is counted by its
 * insert (viewsum_event_added), not by a trigger: one statement a row cost ingest a
 * fifth of its time. */
// clang-format off
static const char *const counts_sql[] = {
    "CREATE TRIGGER vc_events_d AFTER DELETE ON events BEGIN "
    "SELECT hearth_vcount(0, -1), hearth_vcount(2, -" PURGED("OLD") "), "
    "hearth_vcount(6, -NOT EXISTS (SELECT 1 FROM events WHERE author = OLD.author)), "
    "hearth_vcount(7, -((SELECT count(*) FROM events WHERE seq = OLD.seq AND "
    SIGNED_BY("coalesce(OLD.signer, OLD.author)") ") = 1)); END",
    "CREATE TRIGGER vc_events_body AFTER UPDATE OF body ON events BEGIN "
    "SELECT hearth_vcount(2, " PURGED("NEW") " - " PURGED("OLD") "); END",
    "CREATE TRIGGER vc_events_author AFTER UPDATE OF author ON events "
    "WHEN NEW.author IS NOT OLD.author BEGIN "
    "SELECT hearth_vcount(6, -NOT EXISTS (SELECT 1 FROM events WHERE author = "
    "OLD.author)), hearth_vcount(6, NOT EXISTS (SELECT 1 FROM events WHERE author = "
    "NEW.author AND arrival != NEW.arrival)); END",
    "CREATE TRIGGER vc_posts_i AFTER INSERT ON posts BEGIN " POSTS_COUNTS("", "NEW")
    " END",
    "CREATE TRIGGER vc_posts_d AFTER DELETE ON posts BEGIN " POSTS_COUNTS("-", "OLD")
    " END",
    "CREATE TRIGGER vc_posts_u AFTER UPDATE OF kind, state ON posts BEGIN "
    POSTS_COUNTS("-", "OLD") POSTS_COUNTS("", "NEW") " END",
    "CREATE TRIGGER vc_boards_i AFTER INSERT ON boards BEGIN " BOARDS_COUNTS("", "NEW")
    " END",
    "CREATE TRIGGER vc_boards_d AFTER DELETE ON boards BEGIN " BOARDS_COUNTS("-", "OLD")
    " END",
    "CREATE TRIGGER vc_boards_u AFTER UPDATE OF valid ON boards BEGIN "
    BOARDS_COUNTS("-", "OLD") BOARDS_COUNTS("", "NEW") " END",
    "CREATE TRIGGER vc_waiting_i AFTER INSERT ON waiting BEGIN "
    WAITING_COUNTS("", "NEW") " END",
    "CREATE TRIGGER vc_waiting_d AFTER DELETE ON waiting BEGIN "
    WAITING_COUNTS("-", "OLD") " END",
};
// clang-format on

/* The same counts, from the tables (what the triggers must always agree with). */
static const char *const count_full_sql[VIEWSUM_COUNTS] = {
    [VC_EVENTS] = "SELECT count(*) FROM events",
    [VC_PENDING] = ("SELECT (SELECT count(*) FROM posts WHERE state = 1) + (SELECT count(*) FROM "
                    "boards WHERE valid = 1) + (SELECT count(*) FROM waiting w JOIN events e ON "
                    "e.arrival = w.ev WHERE e.kind IN (5, 6, 7, 8))"),
    [VC_PURGED] = "SELECT count(*) FROM events WHERE body IS NULL AND kind IN (3, 4, 5, 7, 8, 9)",
    [VC_BOARDS] = "SELECT count(*) FROM boards WHERE valid = 0",
    [VC_THREADS] = "SELECT count(*) FROM posts WHERE kind = 3 AND state = 0",
    [VC_REPLIES] = "SELECT count(*) FROM posts WHERE kind = 4 AND state = 0",
    [VC_AUTHORS] = "SELECT count(*) FROM (SELECT DISTINCT author FROM events)",
    /* Events of one (signer, seq) count for one person (the device mapping is a
     * function of both), so a fork is within the events a person signed or within a
     * device's: each half is read through its own index. */
    [VC_FORKS] =
        ("SELECT (SELECT count(*) FROM (SELECT 1 FROM events WHERE signer IS NULL "
         "GROUP BY author, seq HAVING count(*) > 1)) + (SELECT count(*) FROM (SELECT 1 "
         "FROM events WHERE signer IS NOT NULL GROUP BY signer, seq HAVING count(*) > 1))"),
};

/* ---- the SQL functions ---- */

/* in_transaction - the view changes only inside a transaction, whose end writes the
 * sum back. A statement run in autocommit mode (SQLite rolls a transaction back by
 * itself after some errors, such as running out of memory, and a caller that went on
 * would then write outside it) fails here instead of committing a change the sum
 * would miss. */
static bool in_transaction(sqlite3_context *cx)
{
    if (!sqlite3_get_autocommit(sqlite3_context_db_handle(cx)))
        return true;
    sqlite3_result_error(cx, "the view changed outside a transaction", -1);
    return false;
}

/* hearth_vsum(sign, tag, value...) - add (sign 1) or subtract (-1) the hash of the
 * record [tag, value...] into the handle's sum. */
static void fn_vsum(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    struct store *s = sqlite3_user_data(cx);
    struct mp_writer w;
    if (!in_transaction(cx))
        return;
    hbuf_reset(&s->vbuf);
    mp_writer_init(&w, &s->vbuf);
    mp_write_array(&w, (uint32_t)(argc - 1));
    for (int i = 1; i < argc; i++) {
        sqlite3_value *v = argv[i];
        switch (sqlite3_value_type(v)) {
        case SQLITE_BLOB:
            mp_write_bin(&w, sqlite3_value_blob(v), (size_t)sqlite3_value_bytes(v));
            break;
        case SQLITE_TEXT:
            mp_write_str(&w, (const char *)sqlite3_value_text(v), (size_t)sqlite3_value_bytes(v));
            break;
        case SQLITE_INTEGER:
            mp_write_uint(&w, (uint64_t)sqlite3_value_int64(v));
            break;
        default:
            mp_write_nil(&w);
        }
    }
    if (mp_writer_status(&w) != HERR_OK) {
        sqlite3_result_error_nomem(cx);
        return;
    }
    uint8_t h[32];
    crypto_generichash(h, sizeof h, s->vbuf.data, s->vbuf.len, NULL, 0);
    bool add = sqlite3_value_int(argv[0]) > 0;
    for (int i = 0; i < 4; i++) {
        uint64_t lane = 0;
        for (int b = 7; b >= 0; b--)
            lane = lane << 8 | h[8 * i + b];
        s->vsum[i] = add ? s->vsum[i] + lane : s->vsum[i] - lane;
    }
    s->vsum_dirty = true;
    sqlite3_result_null(cx);
}

/* hearth_vcount(which, delta) - add delta to one of the kept counts. */
static void fn_vcount(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    struct store *s = sqlite3_user_data(cx);
    int which = sqlite3_value_int(argv[0]);
    (void)argc;
    if (!in_transaction(cx))
        return;
    if (which >= 0 && which < VIEWSUM_COUNTS) {
        s->vcount[which] += (uint64_t)sqlite3_value_int64(argv[1]);
        s->vsum_dirty = true;
    }
    sqlite3_result_null(cx);
}

/* hearth_words(body, key) - see viewsum_register. A body that is not one event_parse
 * accepted is damage: an error, not words that are not there. */
static void fn_words(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    struct hstr w = {0};
    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_BLOB && sqlite3_value_type(argv[1]) == SQLITE_TEXT &&
        event_body_str(sqlite3_value_blob(argv[0]), (size_t)sqlite3_value_bytes(argv[0]),
                       (const char *)sqlite3_value_text(argv[1]), &w) != HERR_OK) {
        sqlite3_result_error(cx, "a stored body is damaged", -1);
        return;
    }
    if (w.p)
        sqlite3_result_text(cx, w.p, (int)w.n, SQLITE_TRANSIENT);
    else
        sqlite3_result_null(cx);
}

herr viewsum_register(struct store *s)
{
    /* The view replaces rows (INSERT OR REPLACE): with recursive triggers on, the row
     * replaced fires its delete trigger and leaves the sum. */
    int on = sqlite3_exec(s->db, "PRAGMA recursive_triggers = ON", NULL, NULL, NULL);
    if (on != SQLITE_OK)
        return store_sqlerr(s, on, "cannot keep the view digest");
    hbuf_init(&s->vbuf, 4 * HEARTH_MAX_EVENT);
    /* Innocuous, so that the schema's triggers may call them with trusted_schema off
     * (SQLite's default here): all the first two can change is the handle's kept sum
     * and counts, which a full recomputation (store_view_digest_full) checks; the third
     * reads its arguments and nothing else. */
    const int flags = SQLITE_UTF8 | SQLITE_INNOCUOUS;
    int rc = sqlite3_create_function(s->db, "hearth_vsum", -1, flags, s, fn_vsum, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function(s->db, "hearth_vcount", 2, flags, s, fn_vcount, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function(s->db, "hearth_words", 2, flags | SQLITE_DETERMINISTIC, NULL,
                                     fn_words, NULL, NULL);
    return rc == SQLITE_OK ? HERR_OK : store_sqlerr(s, rc, "cannot register the view digest");
}

/* with_row - cols with every "$." replaced by row (e.g. "NEW."); caller frees. */
static char *with_row(const char *cols, const char *row)
{
    size_t n = strlen(cols), k = strlen(row);
    char *out = malloc(n * (k + 1) + 1), *w = out;
    if (!out)
        return NULL;
    for (const char *p = cols; *p; p++) {
        if (p[0] == '$' && p[1] == '.') {
            memcpy(w, row, k);
            w += k;
            p++;
        } else {
            *w++ = *p;
        }
    }
    *w = '\0';
    return out;
}

static herr exec(struct store *s, const char *sql, const char *what)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? HERR_OK : store_sqlerr(s, rc, what);
}

/* when_changed - "NEW.a IS NOT OLD.a OR ..." over a comma-separated column list, into
 * out (size n). A record reads only the columns of its update list (and, for a post's
 * words, the body of the event words_ev names, which never changes while named), so an
 * update that leaves them all as they were leaves the record as it was. */
static void when_changed(const char *cols, char *out, size_t n)
{
    size_t k = 0;
    out[0] = '\0';
    for (const char *p = cols; *p && k < n;) {
        size_t len = strcspn(p, ",");
        int w = snprintf(out + k, n - k, "%sNEW.%.*s IS NOT OLD.%.*s", k ? " OR " : "", (int)len, p,
                         (int)len, p);
        k += w > 0 ? (size_t)w : 0;
        p += len;
        while (*p == ',' || *p == ' ')
            p++;
    }
}

/* table_triggers - the three triggers that keep t's records in the sum (the update's
 * only when a column of its record changed). */
static herr table_triggers(struct store *s, const struct vtable *t)
{
    char *n = with_row(t->cols, "NEW."), *o = with_row(t->cols, "OLD.");
    size_t wlen = 32 * strlen(t->update) + 64;
    size_t len = 1024 + 2 * (strlen(t->cols) * 6 + strlen(t->update)) + wlen;
    char *sql = malloc(len), *when = malloc(wlen);
    herr e = HERR_NOMEM;
    if (n && o && sql && when) {
        when_changed(t->update, when, wlen);
        snprintf(sql, len,
                 "DROP TRIGGER IF EXISTS vs_%s_i; DROP TRIGGER IF EXISTS vs_%s_d; "
                 "DROP TRIGGER IF EXISTS vs_%s_u;"
                 "CREATE TRIGGER vs_%s_i AFTER INSERT ON %s BEGIN "
                 "SELECT hearth_vsum(1, '%s', %s); END;"
                 "CREATE TRIGGER vs_%s_d AFTER DELETE ON %s BEGIN "
                 "SELECT hearth_vsum(-1, '%s', %s); END;"
                 "CREATE TRIGGER vs_%s_u AFTER UPDATE OF %s ON %s WHEN %s BEGIN "
                 "SELECT hearth_vsum(-1, '%s', %s), hearth_vsum(1, '%s', %s); END;",
                 t->tag, t->tag, t->tag, t->tag, t->table, t->tag, n, t->tag, t->table, t->tag, o,
                 t->tag, t->update, t->table, when, t->tag, o, t->tag, n);
        e = exec(s, sql, "cannot keep the view digest");
    }
    free(n);
    free(o);
    free(sql);
    free(when);
    return e;
}

herr viewsum_create(struct store *s)
{
    herr e = HERR_OK;
    for (size_t i = 0; i < sizeof tables / sizeof tables[0] && !e; i++)
        e = table_triggers(s, &tables[i]);
    for (size_t i = 0; i < sizeof counts_sql / sizeof counts_sql[0] && !e; i++)
        e = exec(s, counts_sql[i], "cannot keep the counts");
    return e;
}

herr viewsum_upgrade(struct store *s, int64_t from)
{
    herr e = HERR_OK;
    if (from < SCHEMA_SIGNER_NULL) {
        e = exec(s, "DROP TRIGGER IF EXISTS vc_events_d", "cannot keep the counts");
        if (!e)
            e = exec(s, counts_sql[0], "cannot keep the counts");
    }
    /* Migration 10: every record's triggers again (the text record reads the words
     * from the body; an update fires only when the record's columns change), and the
     * sum recomputed: a post that an older hearth last computed, before superseded
     * versions lost their bodies, may now read the words of another version. */
    for (size_t i = 0; i < sizeof tables / sizeof tables[0] && !e && from < SCHEMA_WORDS_EV; i++)
        e = table_triggers(s, &tables[i]);
    if (!e && from < SCHEMA_WORDS_EV)
        e = viewsum_fill(s);
    return e;
}

herr viewsum_event_added(struct store *s, const struct event *x, const uint8_t *signer,
                         int64_t arrival)
{
    assert(!sqlite3_get_autocommit(s->db)); /* counted in the transaction that stores it */
    sqlite3_stmt *q = sq(s, Q_VS_EVENT);
    if (!q)
        return HERR_IO;
    sqlite3_bind_blob(q, 1, x->author, HEARTH_PK_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, arrival);
    sqlite3_bind_blob(q, 3, signer, HEARTH_PK_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, (int64_t)x->seq);
    herr e = HERR_OK;
    int n = sq_step(s, q, &e, "cannot count an event");
    if (n <= 0)
        return n < 0 ? e : store_fail(s, HERR_IO, "cannot count an event");
    bool known = sqlite3_column_int(q, 0) != 0;
    int64_t same_seq = sqlite3_column_int64(q, 1);
    sqlite3_reset(q);
    static const uint32_t purgeable = 1u << 3 | 1u << 4 | 1u << 5 | 1u << 7 | 1u << 8 | 1u << 9;
    s->vcount[VC_EVENTS]++;
    if (!x->body && x->kind < 32 && (purgeable >> x->kind & 1))
        s->vcount[VC_PURGED]++;
    if (!known)
        s->vcount[VC_AUTHORS]++;
    if (same_seq == 2)
        s->vcount[VC_FORKS]++;
    s->vsum_dirty = true;
    return HERR_OK;
}

/* ---- the stored sum ---- */

herr viewsum_load(struct store *s)
{
    sqlite3_stmt *q = sq(s, Q_VS_LOAD);
    if (!q)
        return HERR_IO;
    int rc = sqlite3_step(q);
    herr e = HERR_OK;
    if (rc == SQLITE_ROW && sqlite3_column_bytes(q, 0) == (int)sizeof s->vsum) {
        const uint8_t *b = sqlite3_column_blob(q, 0);
        for (int i = 0; i < 4; i++) {
            s->vsum[i] = 0;
            for (int k = 7; k >= 0; k--)
                s->vsum[i] = s->vsum[i] << 8 | b[8 * i + k];
        }
        for (int i = 0; i < VIEWSUM_COUNTS; i++)
            s->vcount[i] = (uint64_t)sqlite3_column_int64(q, i + 1);
    } else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
        e = store_fail(s, HERR_CORRUPT, "the view digest is missing");
    } else {
        e = store_sqlerr(s, rc, "cannot read the view digest");
    }
    sqlite3_reset(q);
    s->vsum_dirty = false;
    return e;
}

static void sum_bytes(const uint64_t sum[4], uint8_t out[32])
{
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 8; k++)
            out[8 * i + k] = (uint8_t)(sum[i] >> (8 * k));
}

herr viewsum_save(struct store *s)
{
    assert(!sqlite3_get_autocommit(s->db)); /* before the COMMIT of the write it belongs to */
    if (!s->vsum_dirty)
        return HERR_OK;
    sqlite3_stmt *q = sq(s, Q_VS_SAVE);
    if (!q)
        return HERR_IO;
    uint8_t b[32];
    sum_bytes(s->vsum, b);
    sqlite3_bind_blob(q, 1, b, sizeof b, SQLITE_TRANSIENT);
    for (int i = 0; i < VIEWSUM_COUNTS; i++)
        sqlite3_bind_int64(q, i + 2, (int64_t)s->vcount[i]);
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc != SQLITE_DONE)
        return store_sqlerr(s, rc, "cannot keep the view digest");
    s->vsum_dirty = false;
    return HERR_OK;
}

/* ---- recomputing ---- */

/* recompute - the sum and counts from the tables, into s->vsum and s->vcount. */
static herr recompute(struct store *s)
{
    herr e = HERR_OK;
    memset(s->vsum, 0, sizeof s->vsum);
    for (size_t i = 0; i < sizeof tables / sizeof tables[0] && !e; i++) {
        char *cols = with_row(tables[i].cols, "X.");
        size_t len = strlen(tables[i].cols) * 3 + 256;
        char *sql = malloc(len);
        e = HERR_NOMEM;
        if (cols && sql) {
            snprintf(sql, len, "SELECT count(hearth_vsum(1, '%s', %s)) FROM %s AS X", tables[i].tag,
                     cols, tables[i].table);
            e = exec(s, sql, "cannot compute the view digest");
        }
        free(cols);
        free(sql);
    }
    for (int i = 0; i < VIEWSUM_COUNTS && !e; i++) {
        sqlite3_stmt *q;
        int rc = sqlite3_prepare_v2(s->db, count_full_sql[i], -1, &q, NULL);
        if (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW)
            s->vcount[i] = (uint64_t)sqlite3_column_int64(q, 0);
        else
            e = store_sqlerr(s, rc, "cannot count");
        sqlite3_finalize(q);
    }
    return e;
}

herr viewsum_fill(struct store *s)
{
    herr e = recompute(s);
    s->vsum_dirty = true;
    if (!e)
        e = viewsum_save(s);
    return e;
}

static void finish(const uint64_t sum[4], uint8_t out[HEARTH_ID_LEN])
{
    uint8_t b[32];
    crypto_generichash_state h;
    sum_bytes(sum, b);
    crypto_generichash_init(&h, NULL, 0, HEARTH_ID_LEN);
    crypto_generichash_update(&h, (const uint8_t *)VSUM_TAG, sizeof VSUM_TAG);
    crypto_generichash_update(&h, b, sizeof b);
    crypto_generichash_final(&h, out, HEARTH_ID_LEN);
}

static void counts_out(const uint64_t *c, struct store_stats *st)
{
    st->events = c[VC_EVENTS];
    st->pending = c[VC_PENDING];
    st->purged = c[VC_PURGED];
    st->boards = c[VC_BOARDS];
    st->threads = c[VC_THREADS];
    st->replies = c[VC_REPLIES];
    st->authors = c[VC_AUTHORS];
    st->forks = c[VC_FORKS];
}

/* kept - the stored sum and counts, or (full) recomputed, read in one transaction;
 * the handle's own sum is left as it was. */
static herr kept(struct store *s, bool full, uint64_t sum[4], uint64_t counts[VIEWSUM_COUNTS])
{
    uint64_t keep_sum[4], keep_counts[VIEWSUM_COUNTS];
    bool keep_dirty = s->vsum_dirty;
    memcpy(keep_sum, s->vsum, sizeof keep_sum);
    memcpy(keep_counts, s->vcount, sizeof keep_counts);
    s->err[0] = '\0';
    herr e = store_read_begin(s);
    if (!e) {
        e = full ? recompute(s) : viewsum_load(s);
        store_read_end(s);
    }
    memcpy(sum, s->vsum, sizeof keep_sum);
    memcpy(counts, s->vcount, sizeof keep_counts);
    memcpy(s->vsum, keep_sum, sizeof keep_sum);
    memcpy(s->vcount, keep_counts, sizeof keep_counts);
    s->vsum_dirty = keep_dirty;
    return e;
}

static herr digest(struct store *s, bool full, uint8_t out[HEARTH_ID_LEN])
{
    uint64_t sum[4], counts[VIEWSUM_COUNTS];
    herr e = kept(s, full, sum, counts);
    if (!e)
        finish(sum, out);
    return e;
}

herr store_view_digest(struct store *s, uint8_t out[HEARTH_ID_LEN])
{
    return digest(s, false, out);
}

herr store_view_digest_full(struct store *s, uint8_t out[HEARTH_ID_LEN])
{
    return digest(s, true, out);
}

static herr db_bytes(struct store *s, uint64_t *v)
{
    sqlite3_stmt *q;
    int rc = sqlite3_prepare_v2(
        s->db, "SELECT page_count * page_size FROM pragma_page_count, pragma_page_size", -1, &q,
        NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW)
        *v = (uint64_t)sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return rc == SQLITE_ROW ? HERR_OK : store_sqlerr(s, rc, "cannot count");
}

static herr stats(struct store *s, struct store_stats *st, bool full)
{
    uint64_t sum[4], counts[VIEWSUM_COUNTS];
    memset(st, 0, sizeof *st);
    herr e = kept(s, full, sum, counts);
    if (!e)
        counts_out(counts, st);
    if (!e)
        e = db_bytes(s, &st->db_bytes);
    return e;
}

herr store_stats(struct store *s, struct store_stats *st)
{
    return stats(s, st, false);
}

herr store_stats_full(struct store *s, struct store_stats *st)
{
    return stats(s, st, true);
}
