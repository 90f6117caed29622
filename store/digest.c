/* digest.c - store_view_dump_digest: one hash of a canonical dump of the whole view.
 *
 * The digest is BLAKE2b-256 (unkeyed) of this byte stream (docs/EVENTS.md, "View
 * digest"); two replicas with equal digests show the same forum to every viewer:
 *
 *   "hearth/view/v1" NUL
 *   section*, in this order: forum, boards, posts, profiles, roles, bans, config,
 *   devices, then str "end"
 *   section = msgpack str(name) followed by its records, each one msgpack array
 *
 * Every value is canonical msgpack (base/mp.h): ids, keys as bin; counts, times,
 * seqs and states as uint; text as str; absent as nil; flags as bool. Records:
 *
 *   forum    [forum id|nil, founder|nil, name|nil, about|nil]          (one record)
 *   boards   [id, author, created, name, about|nil, state, wins_name]  by id
 *   posts    [id, kind, author, seq, created, board|nil, root, parent|nil, state,
 *             depth, status, title|nil, text|nil, cw|nil, edited, replies,
 *             last_activity, locked, pinned, [[reaction, count]...] by reaction,
 *             flaggers, hidden_by, mod event id|nil]                    by id
 *   profiles [author, seq, id, name|nil, about|nil]                     by author
 *   roles    [grant id, subject, role, valid, revoked, until]          by grant id
 *   bans     [subject]                                                 by subject
 *   config   [hold, flags, resources id|nil]                            (one record)
 *   devices  [device, person, until|nil]                               by device
 *
 * roles lists every grant made by someone who could ever make it (role: 1 admin,
 * 2 moderator, 3 professional, 4 peer-worker; valid: the granter's power held at the
 * grant's seq; until: what revocations left, 0 when unrevoked); bans the subjects
 * banned now; config the settings and resources in force; devices the keys that
 * count for a person (store/devices.c), until nil while unrevoked. An author key
 * anywhere above is the person an event counts for.
 *
 * Every post and reply held is listed with its state (0 ok, 1 pending, 2 invalid)
 * and status (enum post_status) whatever the viewer; a board's state is the same
 * scale (pending while the founder is unknown); wins_name is true for the valid
 * board with the lowest (created, id) among valid boards whose names are equal
 * ignoring ASCII case; flaggers counts distinct authors of live flags; hidden_by is
 * enum post_hidden_by and the mod event the one behind a hidden or removed post's
 * state (view_post_why).
 *
 * Records are in ascending byte order of the key named ("by id"), so the order in
 * which events arrived cannot show.
 */
#include <sodium.h>
#include <string.h>

#include "base/mp.h"
#include "store/store_int.h"

#define DIGEST_TAG "hearth/view/v1"
/* (store_view_digest, kept up to date, is viewsum.c's.) */
#define DIGEST_FLUSH 16384

struct digest {
    crypto_generichash_state h;
    struct hbuf buf;
    struct mp_writer w;
};

static void flush(struct digest *d, bool force)
{
    if (d->buf.len >= DIGEST_FLUSH || force) {
        crypto_generichash_update(&d->h, d->buf.data, d->buf.len);
        hbuf_reset(&d->buf);
    }
}

static void put_str(struct digest *d, const char *s)
{
    mp_write_str(&d->w, s, strlen(s));
}

/* put_col - column i of q as bin, str, uint or nil, by its SQLite type. */
static void put_col(struct digest *d, sqlite3_stmt *q, int i)
{
    switch (sqlite3_column_type(q, i)) {
    case SQLITE_BLOB:
        mp_write_bin(&d->w, sqlite3_column_blob(q, i), (size_t)sqlite3_column_bytes(q, i));
        break;
    case SQLITE_TEXT:
        mp_write_str(&d->w, (const char *)sqlite3_column_text(q, i),
                     (size_t)sqlite3_column_bytes(q, i));
        break;
    case SQLITE_INTEGER:
        mp_write_uint(&d->w, (uint64_t)sqlite3_column_int64(q, i));
        break;
    default:
        mp_write_nil(&d->w);
    }
}

static void put_bool(struct digest *d, sqlite3_stmt *q, int i)
{
    mp_write_bool(&d->w, sqlite3_column_int(q, i) != 0);
}

static herr put_reactions(struct store *s, struct digest *d, int64_t ev)
{
    herr e = HERR_OK;
    sqlite3_stmt *q = sq(s, Q_REACT_COUNTS);
    if (!q)
        return HERR_IO;
    sqlite3_bind_int64(q, 1, ev);
    struct hbuf rows;
    struct mp_writer w;
    uint32_t n = 0;
    hbuf_init(&rows, HEARTH_MAX_EVENT);
    mp_writer_init(&w, &rows);
    int r;
    while ((r = sq_step(s, q, &e, "cannot count reactions")) > 0) {
        mp_write_array(&w, 2);
        mp_write_str(&w, (const char *)sqlite3_column_text(q, 0),
                     (size_t)sqlite3_column_bytes(q, 0));
        mp_write_uint(&w, (uint64_t)sqlite3_column_int64(q, 1));
        n++;
    }
    mp_write_array(&d->w, n);
    if (!e && (e = mp_writer_status(&w)) == HERR_OK)
        e = hbuf_append(&d->buf, rows.data, rows.len);
    hbuf_release(&rows);
    return e;
}

static herr put_flaggers(struct store *s, struct digest *d, int64_t ev)
{
    herr e = HERR_OK;
    sqlite3_stmt *q = sq(s, Q_FLAG_COUNT);
    if (!q)
        return HERR_IO;
    sqlite3_bind_int64(q, 1, ev);
    int r = sq_step(s, q, &e, "cannot count flags");
    mp_write_uint(&d->w, r > 0 ? (uint64_t)sqlite3_column_int64(q, 0) : 0);
    if (r > 0)
        sqlite3_reset(q);
    return r < 0 ? e : HERR_OK;
}

/* put_why - why the post at ev (of status `status`) is hidden, and the mod event
 * behind its state. */
static herr put_why(struct store *s, struct digest *d, int64_t ev, int status)
{
    uint8_t id[HEARTH_ID_LEN];
    bool has;
    int why;
    herr e = view_post_why(s, ev, status, &why, id, &has);
    mp_write_uint(&d->w, (uint64_t)why);
    if (has)
        mp_write_bin(&d->w, id, HEARTH_ID_LEN);
    else
        mp_write_nil(&d->w);
    return e;
}

/* put_rows - a section: every row of sql as a record of its columns (columns named
 * b_* as bools; the last, x_ev, not written but used to add the reactions, flaggers
 * and why a post is hidden when `post_extras`, which reads the status from column
 * 10 of the posts section). */
static herr put_rows(struct store *s, struct digest *d, const char *name, const char *sql,
                     bool post_extras)
{
    sqlite3_stmt *q;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);
    if (rc != SQLITE_OK)
        return store_sqlerr(s, rc, "cannot prepare the digest");
    herr e = HERR_OK;
    int cols = sqlite3_column_count(q) - (post_extras ? 1 : 0);
    put_str(d, name);
    while (!e && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        mp_write_array(&d->w, (uint32_t)(cols + (post_extras ? 4 : 0)));
        for (int i = 0; i < cols; i++) {
            if (strncmp(sqlite3_column_name(q, i), "b_", 2) == 0)
                put_bool(d, q, i);
            else
                put_col(d, q, i);
        }
        if (post_extras) {
            e = put_reactions(s, d, sqlite3_column_int64(q, cols));
            if (!e)
                e = put_flaggers(s, d, sqlite3_column_int64(q, cols));
            if (!e)
                e = put_why(s, d, sqlite3_column_int64(q, cols), sqlite3_column_int(q, 10));
        }
        if (!e)
            e = mp_writer_status(&d->w);
        flush(d, false);
    }
    if (!e && rc != SQLITE_DONE)
        e = store_sqlerr(s, rc, "cannot read the view");
    sqlite3_finalize(q);
    return e;
}

/* The posts section's rows (a post's words from the version in force, store_int.h). */
// clang-format off
#define POSTS_SQL                                                                                  \
    "SELECT e.id, p.kind, e.author, p.seq, p.created, b.id, CASE p.kind WHEN 3 THEN e.id ELSE "    \
    "e.root END, CASE p.kind WHEN 4 THEN e.ref END, p.state, p.depth, p.status, "                  \
    WORDS_TITLE("p", "w") ", " WORDS_TEXT("w") ", " WORDS_CW("w") ", p.edited, p.replies, "       \
    "p.last_activity, p.locked AS b_locked, p.pinned AS b_pinned, p.ev AS x_ev FROM posts p "      \
    "JOIN events e ON e.arrival = p.ev LEFT JOIN boards b ON b.ev = p.board_ev LEFT JOIN events "  \
    "w ON w.arrival = p.words_ev ORDER BY e.id"
// clang-format on

/* put_forum - the forum record: its id, founder, and the genesis's name and about. */
static herr put_forum(struct store *s, struct digest *d)
{
    herr e = HERR_OK;
    struct event g = {0};
    bool have = false;
    put_str(d, "forum");
    mp_write_array(&d->w, 4);
    if (s->has_forum) {
        mp_write_bin(&d->w, s->forum, HEARTH_ID_LEN);
        sqlite3_stmt *q = sq(s, Q_EV_PARTS_BY_ID);
        if (!q)
            return HERR_IO;
        sq_bind_id(q, 1, s->forum);
        int r = sq_step(s, q, &e, "cannot read the genesis");
        if (r > 0) {
            e = stored_event_parse(s, q, 0, &g);
            have = !e;
            sqlite3_reset(q);
        }
    } else {
        mp_write_nil(&d->w);
    }
    if (s->has_founder)
        mp_write_bin(&d->w, s->founder, HEARTH_PK_LEN);
    else
        mp_write_nil(&d->w);
    struct hstr fields[2] = {have ? g.b.name : (struct hstr){0},
                             have ? g.b.about : (struct hstr){0}};
    for (int i = 0; i < 2; i++)
        if (fields[i].p)
            mp_write_str(&d->w, fields[i].p, fields[i].n);
        else
            mp_write_nil(&d->w);
    return e;
}

static herr digest_run(struct store *s, struct digest *d)
{
    herr e = put_forum(s, d);
    if (!e)
        e = put_rows(s, d, "boards",
                     "SELECT b.id, b.author, b.created, b.name, b.about, b.valid, "
                     "b.valid = 0 AND NOT EXISTS (SELECT 1 FROM boards o WHERE o.valid = 0 AND "
                     "o.name = b.name COLLATE NOCASE AND (o.created < b.created OR "
                     "(o.created = b.created AND o.id < b.id))) AS b_wins FROM boards b "
                     "ORDER BY b.id",
                     false);
    if (!e)
        e = put_rows(s, d, "posts", POSTS_SQL, true);
    if (!e)
        e = put_rows(s, d, "profiles",
                     "SELECT author, seq, id, name, about FROM profiles ORDER BY author", false);
    if (!e)
        e = put_rows(s, d, "roles",
                     "SELECT e.id, r.subject, r.role, r.valid AS b_valid, r.revoked AS b_revoked, "
                     "r.until FROM roles r JOIN events e ON e.arrival = r.grant_ev ORDER BY e.id",
                     false);
    if (!e)
        e = put_rows(s, d, "bans", "SELECT subject FROM banned ORDER BY subject", false);
    if (!e)
        e = put_rows(s, d, "config",
                     "SELECT c.hold, c.flags, e.id FROM config c LEFT JOIN events e ON "
                     "e.arrival = c.resources_ev",
                     false);
    if (!e)
        e = put_rows(s, d, "devices", "SELECT device, person, until FROM devices ORDER BY device",
                     false);
    if (!e) {
        put_str(d, "end");
        e = mp_writer_status(&d->w);
    }
    return e;
}

herr store_view_dump_digest(struct store *s, uint8_t out[HEARTH_ID_LEN])
{
    struct digest d;
    s->err[0] = '\0';
    crypto_generichash_init(&d.h, NULL, 0, HEARTH_ID_LEN);
    crypto_generichash_update(&d.h, (const uint8_t *)DIGEST_TAG, sizeof DIGEST_TAG);
    hbuf_init(&d.buf, 4 * HEARTH_MAX_EVENT);
    mp_writer_init(&d.w, &d.buf);
    herr e = store_read_begin(s);
    if (!e) {
        e = digest_run(s, &d);
        store_read_end(s);
    }
    if (!e) {
        flush(&d, true);
        crypto_generichash_final(&d.h, out, HEARTH_ID_LEN);
    }
    hbuf_release(&d.buf);
    return e;
}
