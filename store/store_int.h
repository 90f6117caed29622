/* store_int.h - the store's insides, shared by the files of store/. Not for use
 * outside store/.
 *
 * Layers. The files of store/ call one another in one direction only, from the top of
 * this list down (scripts/store-layers checks it on the built objects; a file may call
 * those below it, never one above):
 *   health.c    store_check, store_repair (they open replicas and ingest)
 *   members.c   local members, invites, reading marks
 *   pairing.c   pairing a device: codes, requests, the add and revoke it publishes
 *   forum.c     the forum's typed answers built on the queries
 *   query.c     the typed queries of the front-ends
 *   digest.c    the view digest
 *   ingest.c    storing an event and applying it
 *   view.c      applying events to the view; it calls care, never the reverse
 *   rules.c     what a person may publish
 *   messages.c  sealing private messages
 *   care.c      roles, bans, holds and settings, from the set of events
 *   devices.c   which person a key counts for
 *   stored.c    reading a stored event back (stored_event_parse, stored_event_get)
 *   meta.c      local key/value settings
 *   store.c, viewsum.c  the handle: open, statements, errors, transactions (each
 *               loads the forum, care's settings and the kept view sum, and saves the
 *               sum before it commits: the two files call each other)
 *   wal.c       the lost-log check before an open
 *   event.c, bundle.c, backup.c: formats, which take no store handle
 *
 * The store keeps every prepared statement it uses in one table on the handle,
 * prepared on first use with SQLITE_PREPARE_PERSISTENT and reset on every later use:
 * ingest runs a dozen statements per event and preparing them each time would cost
 * more than the inserts. A statement fetched with sq() is reset and unbound; it must
 * not be fetched again while a caller is still stepping it, so functions that recurse
 * (a reply's children) first collect rows into an i64vec and reset the statement.
 */
#ifndef HEARTH_STORE_INT_H
#define HEARTH_STORE_INT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/hbuf.h"
#include "base/limits.h"
#include "store/store.h"

/* Derived state of a post or reply (posts.state). */
enum post_state {
    PS_OK = 0,      /* its references resolve: it is part of the forum */
    PS_PENDING = 1, /* a prerequisite has not arrived (or is itself pending) */
    PS_INVALID = 2, /* its references are wrong: kept as evidence, no effect */
};

/* How many counts of struct store_stats the view keeps (viewsum.c). */
#define VIEWSUM_COUNTS 8

/* The schema version from which events.signer is NULL for an event its person signed
 * (store.c, migration 11): only a device's events name their signer. */
#define SCHEMA_SIGNER_NULL 11

/* The events signed by key k (an SQL expression), through events_author for those
 * that count for their signer (signer NULL) and events_signer for the rest (a
 * device's). */
#define SIGNED_BY(k) "((author = " k " AND signer IS NULL) OR signer = " k ")"

/* The schema version from which posts keeps no copy of a post's words: posts.words_ev
 * names the version in force (the post or its latest edit), whose body holds them
 * (store.c, migration 10). */
#define SCHEMA_WORDS_EV 10

/* A post's words as SQL: read from the body of its version in force by hearth_words
 * (viewsum_register). P is the posts row, W the events row of P.words_ev, which is NULL
 * when no words are in force (a post taken back or removed, or whose latest edit was
 * taken back). A reply has no title. */
#define WORDS_TITLE(P, W) "CASE " P ".kind WHEN 3 THEN hearth_words(" W ".body, 'title') END"
#define WORDS_TEXT(W) "hearth_words(" W ".body, 'text')"
#define WORDS_CW(W) "hearth_words(" W ".body, 'cw')"

/* The person an event signed by key ?1 counts for: the device mapping's, else the key. */
#define DEV_PERSON                                                                                 \
    "coalesce((SELECT d.person FROM devices d WHERE d.device = ?1 AND (d.until IS NULL OR "        \
    "events.seq <= d.until)), ?1)"

/* Every cached statement, as X(name, sql). */
#define STORE_QUERIES(X)                                                                           \
    X(Q_BEGIN, "BEGIN IMMEDIATE")                                                                  \
    X(Q_BEGIN_READ, "BEGIN")                                                                       \
    X(Q_COMMIT, "COMMIT")                                                                          \
    X(Q_ROLLBACK, "ROLLBACK")                                                                      \
    X(Q_FORUM_GET, "SELECT id, founder FROM forum WHERE one = 1")                                  \
    X(Q_FORUM_SET, "INSERT INTO forum(one, id) VALUES (1, ?1)")                                    \
    X(Q_FOUNDER_SET, "UPDATE forum SET founder = ?1 WHERE one = 1")                                \
    X(Q_EV_HAS, "SELECT arrival, body IS NULL FROM events WHERE id = ?1")                          \
    X(Q_EV_BY_ID, "SELECT arrival, kind, author, seq, created, ref, ref_ev FROM events WHERE id =" \
                  " ?1")                                                                           \
    X(Q_EV_ROW, "SELECT arrival, kind, author, seq, created, ref, ref_ev, id, body IS NULL FROM"   \
                " events WHERE arrival = ?1")                                                      \
    X(Q_EV_PARTS, "SELECT header, sig, body FROM events WHERE arrival = ?1")                       \
    X(Q_EV_PARTS_BY_ID, "SELECT header, sig, body FROM events WHERE id = ?1")                      \
    X(Q_EV_INSERT,                                                                                 \
      "INSERT INTO events(id, author, seq, created, kind, root, ref, ref_ev, "                     \
      "body_len, header, sig, body, signer) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "     \
      "?11, ?12, ?13)")                                                                            \
    X(Q_VS_LOAD, "SELECT sum, events, pending, purged, boards, threads, replies, authors, "        \
                 "forks FROM view_sum")                                                            \
    X(Q_VS_SAVE, "INSERT OR REPLACE INTO view_sum(one, sum, events, pending, purged, boards, "     \
                 "threads, replies, authors, forks) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)")        \
    X(Q_VS_EVENT, "SELECT EXISTS (SELECT 1 FROM events WHERE author = ?1 AND arrival != ?2), "     \
                  "(SELECT count(*) FROM events WHERE seq = ?4 AND " SIGNED_BY("?3") ")")          \
    X(Q_EV_PURGE, "UPDATE events SET body = NULL WHERE arrival = ?1 AND body IS NOT NULL")         \
    X(Q_EV_RESTORE, "UPDATE events SET body = ?2 WHERE arrival = ?1 AND body IS NULL")             \
    X(Q_EV_REFS, "SELECT e.arrival, e.kind, e.author, e.seq, e.id, e.body IS NULL, e.created, "    \
                 "m.action, f.live FROM events e LEFT JOIN mods m ON m.ev = e.arrival LEFT JOIN "  \
                 "flags f ON f.ev = e.arrival WHERE e.ref_ev = ?1")                                \
    X(Q_EV_REFS_KIND, "SELECT arrival FROM events WHERE ref_ev = ?1 AND kind = ?2")                \
    X(Q_EV_RETRACTED,                                                                              \
      "SELECT 1 FROM events WHERE ref_ev = ?1 AND kind = 6 AND author = ?2 LIMIT 1")               \
    X(Q_EV_SET_REF, "UPDATE events SET ref_ev = ?2 WHERE arrival = ?1")                            \
    X(Q_POST_TIME, "UPDATE posts SET last_activity = ?2 WHERE ev = ?1")                            \
    X(Q_TIME_TOP, "SELECT author, created, id FROM events WHERE arrival != ?1 ORDER BY created "   \
                  "DESC, id DESC LIMIT 1")                                                         \
    X(Q_TIME_HORIZON, "SELECT created FROM events WHERE author != ?1 AND arrival != ?2 ORDER BY "  \
                      "created DESC, id DESC LIMIT 1")                                             \
    X(Q_TIME_CROSSED, "SELECT 1 FROM events WHERE created > ?1 AND created <= ?2 LIMIT 1")         \
    X(Q_TIME_AHEAD, "SELECT p.ev FROM events e JOIN posts p ON p.ev = e.arrival WHERE e.created "  \
                    "> ?1 AND e.kind IN (3, 4)")                                                   \
    /* Through events_kind, the few posts beyond the bound, not events_author: that                \
     * walked all of an author's later events for every event that arrived (+ keeps                \
     * SQLite off it), which made a sync in kind order quadratic. */                               \
    X(Q_TIME_AUTHOR_AHEAD,                                                                         \
      "SELECT p.ev FROM events e JOIN posts p ON p.ev = e.arrival WHERE +e.author = ?1 AND "       \
      "+e.seq > ?2 AND e.created > ?3 AND e.kind IN (3, 4)")                                       \
    X(Q_TIME_ANCHOR, "SELECT created, seq FROM events WHERE author = ?1 AND seq < ?2 AND created " \
                     "<= ?3 ORDER BY created DESC LIMIT 1")                                        \
    X(Q_EDIT_NEWER,                                                                                \
      "SELECT 1 FROM events WHERE ref_ev = ?1 AND kind = 5 AND author = ?2 AND (seq "              \
      "> ?3 OR (seq = ?3 AND id > ?4)) LIMIT 1")                                                   \
    X(Q_WAIT_EDIT_NEWER,                                                                           \
      "SELECT 1 FROM waiting w JOIN events e ON e.arrival = w.ev WHERE w.ref = ?1 AND e.kind = 5 " \
      "AND e.author = ?2 AND (e.seq > ?3 OR (e.seq = ?3 AND e.id > ?4)) LIMIT 1")                  \
    X(Q_EV_MAX_SEQ, "SELECT max(seq) FROM events WHERE author = ?2 OR " SIGNED_BY("?1"))           \
    X(Q_EV_MAX_CREATED, "SELECT max(created) FROM events WHERE " SIGNED_BY("?1"))                  \
    X(Q_WAIT_ADD, "INSERT OR IGNORE INTO waiting(ref, ev) VALUES (?1, ?2)")                        \
    X(Q_WAIT_ANY, "SELECT 1 FROM waiting LIMIT 1")                                                 \
    X(Q_WAIT_LIST, "SELECT ev FROM waiting WHERE ref = ?1")                                        \
    X(Q_WAIT_DEL, "DELETE FROM waiting WHERE ref = ?1")                                            \
    X(Q_WAIT_RETRACTED,                                                                            \
      "SELECT 1 FROM waiting w JOIN events e ON e.arrival = w.ev WHERE w.ref = ?1 AND"             \
      " e.kind = 6 AND e.author = ?2 LIMIT 1")                                                     \
    X(Q_POST_INSERT,                                                                               \
      "INSERT INTO posts(ev, kind, seq, created, root_ev, board_ev, state, depth, "                \
      "status, words_ev, edited, locked, pinned, last_activity) VALUES (?1, ?2, ?3, ?4, "          \
      "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)")                                              \
    X(Q_POST_GET, "SELECT p.kind, e.author, p.seq, p.created, e.root, e.ref, p.state, p.depth, "   \
                  "p.status, p.board_ev, e.id, p.root_ev, e.ref_ev, p.last_activity FROM posts p " \
                  "JOIN events e "                                                                 \
                  "ON e.arrival = p.ev WHERE p.ev = ?1")                                           \
    X(Q_POST_BY_ID, "SELECT e.arrival, p.kind, p.state, p.depth, e.root, p.board_ev, e.author, "   \
                    "p.status, e.id, p.root_ev FROM events e LEFT JOIN posts p ON p.ev = "         \
                    "e.arrival WHERE e.id = ?1")                                                   \
    X(Q_POST_AT, "SELECT e.arrival, p.kind, p.state, p.depth, e.root, p.board_ev, e.author, "      \
                 "p.status, e.id, p.root_ev FROM events e LEFT JOIN posts p ON p.ev = "            \
                 "e.arrival WHERE e.arrival = ?1")                                                 \
    X(Q_POST_UPDATE,                                                                               \
      "UPDATE posts SET state = ?2, depth = ?3, board_ev = ?4, root_ev = ?5, status ="             \
      " ?6, words_ev = ?7, edited = ?8, locked = ?9, pinned = ?10 "                                \
      "WHERE ev = ?1")                                                                             \
    X(Q_POST_COUNT_ADD,                                                                            \
      "UPDATE posts SET replies = replies + 1, last_activity = max(last_activity, ?2)"             \
      " WHERE ev = ?1")                                                                            \
    X(Q_POST_RECOUNT,                                                                              \
      "WITH RECURSIVE t(ev) AS (SELECT ?1 UNION ALL SELECT e.arrival FROM events e JOIN t "        \
      "ON e.ref_ev = t.ev AND e.kind = 4) UPDATE posts SET (replies, last_activity) = "            \
      "(SELECT count(*), max(?2, coalesce(max(c.last_activity), 0)) FROM t JOIN posts c "          \
      "ON c.ev = t.ev WHERE c.kind = 4 AND c.state = 0 AND c.status = 0) WHERE ev = ?1")           \
    X(Q_BOARD_INSERT, "INSERT OR IGNORE INTO boards(ev, id, author, created, name, about, valid) " \
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")                                       \
    X(Q_BOARD_BY_ID, "SELECT ev, valid FROM boards WHERE id = ?1")                                 \
    X(Q_BOARD_AT, "SELECT valid FROM boards WHERE ev = ?1")                                        \
    X(Q_BOARD_SET_VALID, "UPDATE boards SET valid = ?2 WHERE ev = ?1")                             \
    X(Q_BOARD_SET_WORDS, "UPDATE boards SET name = ?2, about = ?3 WHERE ev = ?1")                  \
    X(Q_BOARD_ALL, "SELECT ev FROM boards")                                                        \
    X(Q_REACT_INSERT,                                                                              \
      "INSERT INTO reacts(ev, author, reaction, live, on_ev) VALUES (?1, ?2, ?3, ?4, (SELECT "     \
      "ref_ev FROM events WHERE arrival = ?1)) ON CONFLICT (ev) DO UPDATE SET author = "           \
      "excluded.author, reaction = excluded.reaction, live = excluded.live, on_ev = "              \
      "excluded.on_ev")                                                                            \
    X(Q_REACT_KILL, "UPDATE reacts SET live = 0, reaction = NULL WHERE ev = ?1")                   \
    X(Q_FLAG_INSERT,                                                                               \
      "INSERT OR REPLACE INTO flags(ev, author, reason, live) VALUES (?1, ?2, ?3, ?4)")            \
    X(Q_FLAG_KILL, "UPDATE flags SET live = 0, reason = NULL WHERE ev = ?1")                       \
    X(Q_PROFILE_GET, "SELECT seq, id FROM profiles WHERE author = ?1")                             \
    X(Q_PROFILE_PUT,                                                                               \
      "INSERT OR REPLACE INTO profiles(author, ev, seq, id, name, about) VALUES (?1, "             \
      "?2, ?3, ?4, ?5, ?6)")                                                                       \
    X(Q_PROFILE_DEL, "DELETE FROM profiles WHERE author = ?1")                                     \
    X(Q_PROFILE_SCAN,                                                                              \
      "SELECT arrival FROM events WHERE author = ?1 AND kind = 9 AND body IS NOT NULL"             \
      " ORDER BY seq DESC, id DESC")                                                               \
    X(Q_RULE_TARGET, "SELECT e.kind, e.author, p.state, p.status, e.root, p.locked FROM events e " \
                     "LEFT JOIN posts p ON p.ev = e.arrival WHERE e.id = ?1")                      \
    X(Q_RULE_MY_REACT,                                                                             \
      "SELECT 1 FROM events e JOIN reacts r ON r.ev = e.arrival WHERE e.ref_ev = (SELECT "         \
      "arrival FROM events WHERE id = ?1) AND e.kind = 7 AND r.author = ?2 AND r.reaction = ?3 "   \
      "AND r.live = 1 LIMIT 1")                                                                    \
    X(Q_RULE_MY_FLAG,                                                                              \
      "SELECT 1 FROM events e JOIN flags f ON f.ev = e.arrival WHERE e.ref_ev = (SELECT "          \
      "arrival FROM events WHERE id = ?1) AND e.kind = 8 AND f.author = ?2 AND f.live = 1 LIMIT "  \
      "1")                                                                                         \
    X(Q_RULE_FLAGGERS,                                                                             \
      "SELECT 1 FROM events e JOIN flags f ON f.ev = e.arrival WHERE e.ref_ev = (SELECT "          \
      "arrival FROM events WHERE id = ?1) AND e.kind = 8 AND f.author != ?2 AND f.live = 1 LIMIT " \
      "1")                                                                                         \
    X(Q_NAME_TWINS, "SELECT o.author FROM profiles p JOIN profiles o ON o.name = p.name COLLATE "  \
                    "NOCASE AND o.author != p.author WHERE p.author = ?1")                         \
    X(Q_REACT_COUNTS,                                                                              \
      "SELECT reaction, count FROM react_count WHERE on_ev = ?1 ORDER BY reaction")                \
    X(Q_FLAG_COUNT,                                                                                \
      "SELECT count(DISTINCT f.author) FROM events e JOIN flags f ON f.ev = e.arrival"             \
      " WHERE e.ref_ev = ?1 AND e.kind = 8 AND f.live = 1")                                        \
    X(Q_ROLE_VALID, "SELECT 1 FROM roles WHERE subject = ?1 AND role <= ?2 AND valid = 1 AND "     \
                    "(revoked = 0 OR until >= ?3) LIMIT 1")                                        \
    X(Q_ROLE_EVER, "SELECT 1 FROM roles WHERE subject = ?1 AND role <= ?2 LIMIT 1")                \
    X(Q_ROLE_CURRENT, "SELECT 1 FROM roles WHERE subject = ?1 AND role <= ?2 AND valid = 1 AND "   \
                      "revoked = 0 LIMIT 1")                                                       \
    X(Q_ROLE_NOTES, "SELECT r.role, r.grant_ev FROM roles r JOIN events e ON e.arrival = "         \
                    "r.grant_ev WHERE r.subject = ?1 AND r.valid = 1 AND r.revoked = 0 ORDER BY "  \
                    "r.role, e.created DESC, e.id DESC")                                           \
    X(Q_ROLE_ALL, "SELECT grant_ev, subject, role, valid, revoked, until FROM roles ORDER BY "     \
                  "grant_ev")                                                                      \
    X(Q_ROLE_CLEAR, "DELETE FROM roles")                                                           \
    X(Q_ROLE_PUT, "INSERT INTO roles(grant_ev, subject, role, valid, revoked, until) VALUES (?1, " \
                  "?2, ?3, ?4, ?5, ?6)")                                                           \
    X(Q_EV_PARTS_REF, "SELECT header, sig, body, ref_ev FROM events WHERE arrival = ?1")           \
    X(Q_CARE_LIST, "SELECT ev FROM care_events WHERE kind = ?1 ORDER BY ev")                       \
    X(Q_CARE_ADD, "INSERT OR IGNORE INTO care_events(ev, kind) VALUES (?1, ?2)")                   \
    X(Q_MOD_ADD, "INSERT OR IGNORE INTO mods(ev, action, subject, key) VALUES (?1, ?2, ?3, ?4)")   \
    X(Q_MOD_SUBJECTS, "SELECT subject FROM mods WHERE subject IS NOT NULL UNION SELECT subject "   \
                      "FROM banned")                                                               \
    X(Q_CONFIG_GET, "SELECT hold, flags, EXISTS (SELECT 1 FROM banned), search_upto, EXISTS "      \
                    "(SELECT 1 FROM devices WHERE until IS NOT NULL) FROM config WHERE one = 1")   \
    X(Q_CONFIG_SET, "UPDATE config SET hold = ?1, flags = ?2, resources_ev = ?3 WHERE one = 1")    \
    X(Q_BAN_ACTIONS, "SELECT m.action, e.author, e.seq, e.created, e.id FROM mods m JOIN events "  \
                     "e ON e.arrival = m.ev WHERE m.subject = ?1")                                 \
    X(Q_BANNED_GET, "SELECT 1 FROM banned WHERE subject = ?1")                                     \
    X(Q_BANNED_ADD, "INSERT OR IGNORE INTO banned(subject) VALUES (?1)")                           \
    X(Q_BANNED_DEL, "DELETE FROM banned WHERE subject = ?1")                                       \
    X(Q_HOLD_RANK, "SELECT count(*) FROM (SELECT 1 FROM events WHERE author = ?1 AND kind IN (3, " \
                   "4) AND (seq < ?2 OR (seq = ?2 AND id < ?3)) LIMIT ?4)")                        \
    X(Q_AUTHOR_FIRST, "SELECT arrival FROM events WHERE author = ?1 AND kind IN (3, 4) ORDER BY "  \
                      "seq, id LIMIT ?2")                                                          \
    X(Q_AUTHOR_CONTENT, "SELECT arrival FROM events WHERE author = ?1 AND kind IN (3, 4)")         \
    X(Q_POSTS_ALL, "SELECT ev FROM posts ORDER BY ev")                                             \
    X(Q_WAIT_REMOVES,                                                                              \
      "SELECT e.author FROM waiting w JOIN events e ON e.arrival = w.ev JOIN mods "                \
      "m ON m.ev = e.arrival WHERE w.ref = ?1 AND m.action = 3")                                   \
    X(Q_EV_REMOVES, "SELECT e.author FROM events e JOIN mods m ON m.ev = e.arrival WHERE "         \
                    "e.ref_ev = ?1 AND e.kind = 11 AND m.action = 3")                              \
    X(Q_SEARCH_HAS, "SELECT 1 FROM search WHERE rowid = ?1")                                       \
    X(Q_SEARCH_DEL,                                                                                \
      "INSERT INTO search(search, rowid, title, text) SELECT 'delete', p.ev, " WORDS_TITLE(        \
          "p", "w") ", " WORDS_TEXT("w") " FROM posts p JOIN events w ON "                         \
                                         "w.arrival = p.words_ev WHERE p.ev = ?1")                 \
    X(Q_SEARCH_ADD, "INSERT INTO search(rowid, title, text) VALUES (?1, ?2, ?3)")                  \
    X(Q_SEARCH_UPTO, "UPDATE config SET search_upto = ?1 WHERE one = 1")                           \
    X(Q_DEV_GET, "SELECT person, until FROM devices WHERE device = ?1")                            \
    X(Q_DEV_REVOKED, "SELECT 1 FROM devices WHERE device = ?1 AND until IS NOT NULL")              \
    X(Q_DEV_EVENTS, "SELECT arrival FROM events WHERE kind = 15 ORDER BY arrival")                 \
    X(Q_DEV_ALL, "SELECT device, person, until FROM devices ORDER BY device")                      \
    X(Q_DEV_LAST_SEQ, "SELECT max(seq) FROM events WHERE " SIGNED_BY("?1"))                        \
    X(Q_DEV_CLEAR, "DELETE FROM devices")                                                          \
    X(Q_DEV_PUT, "INSERT OR REPLACE INTO devices(device, person, until) VALUES (?1, ?2, ?3)")      \
    X(Q_DEV_REMAP, "UPDATE events SET author = " DEV_PERSON ", signer = nullif(?1, " DEV_PERSON    \
                   ") WHERE " SIGNED_BY("?1"))                                                     \
    X(Q_DEV_REMAP_REACTS,                                                                          \
      "UPDATE reacts SET author = (SELECT author FROM events WHERE arrival = "                     \
      "reacts.ev) WHERE ev IN (SELECT arrival FROM events WHERE " SIGNED_BY("?1") ")")             \
    X(Q_DEV_REMAP_FLAGS,                                                                           \
      "UPDATE flags SET author = (SELECT author FROM events WHERE arrival = "                      \
      "flags.ev) WHERE ev IN (SELECT arrival FROM events WHERE " SIGNED_BY("?1") ")")              \
    X(Q_DEV_REMAP_BOARDS,                                                                          \
      "UPDATE boards SET author = (SELECT author FROM events WHERE arrival = "                     \
      "boards.ev) WHERE ev IN (SELECT arrival FROM events WHERE " SIGNED_BY("?1") ")")             \
    X(Q_DEV_REMAP_MODS, "UPDATE mods SET subject = coalesce((SELECT person FROM devices WHERE "    \
                        "device = mods.key), key) WHERE key IS NOT NULL")                          \
    X(Q_DEV_RETRACTS,                                                                              \
      "SELECT arrival FROM events WHERE kind = 6 AND (author = ?1 OR signer = ?1)")                \
    X(Q_META_GET, "SELECT value FROM local_meta WHERE key = ?1")                                   \
    X(Q_META_SET, "INSERT OR REPLACE INTO local_meta(key, value) VALUES (?1, ?2)")                 \
    X(Q_ACCOUNT_GET, "SELECT pk, sealed FROM accounts WHERE login = ?1")                           \
    X(Q_ACCOUNT_LOGIN_OF, "SELECT login FROM accounts WHERE pk = ?1")                              \
    X(Q_SEEN_GET, "SELECT value FROM seen WHERE pk = ?1 AND what = ?2")                            \
    X(Q_SEEN_SET, "INSERT OR REPLACE INTO seen(pk, what, value) VALUES (?1, ?2, ?3)")

#define STORE_Q_ENUM(name, sql) name,
enum q { STORE_QUERIES(STORE_Q_ENUM) Q_COUNT };
#undef STORE_Q_ENUM

/* One valid settings event that set `hold`: the hold timeline is these in (created,
 * id) order, after the genesis's value. */
struct hold_step {
    uint64_t created, value;
    uint8_t id[HEARTH_ID_LEN];
};

struct hold_steps {
    struct hold_step *v;
    size_t n, cap;
    uint64_t genesis; /* the genesis's hold (0 when it sets none) */
};

struct store {
    sqlite3 *db;
    sqlite3_stmt *st[Q_COUNT];
    char err[256];
    bool readonly;
    bool has_viewer;
    uint8_t viewer[HEARTH_PK_LEN];
    /* The forum, read from the database at the start of each write. */
    bool has_forum, has_founder;
    uint8_t forum[HEARTH_ID_LEN], founder[HEARTH_PK_LEN];
    struct hbuf scratch; /* envelopes rebuilt from stored parts for parsing */
    bool any_waiting;    /* the waiting table may have rows (read at each write) */
    /* Community care, read at each write (store.c, load_care). */
    uint64_t hold, flag_limit; /* settings: held first posts, flags that hide */
    struct hold_steps holds;   /* the hold timeline (care_hold_at), when holds_loaded */
    bool holds_loaded;
    bool any_banned;
    bool any_revoked;    /* a device is revoked: its later events count as nobody's */
    int64_t search_upto; /* posts up to this arrival are in the search index */
    /* The time horizon (view.c, "time"), read once a write transaction needs it: the
     * event with the greatest (created, id) and the newest created of any other
     * author's event (UINT64_MAX while no other author has one). */
    bool time_loaded, has_top;
    uint8_t top_author[HEARTH_PK_LEN], top_id[HEARTH_ID_LEN];
    uint64_t top_created, horizon;
    bool search_purged; /* purged text left the index: optimize before commit */
    bool search_late;   /* read-only: temp.search_late indexes the posts past search_upto */
    unsigned ncpu;
    char *path, *dir; /* of the database file, and the directory that holds it */
    bool noted;       /* counted among this process's open replicas (store.c) */
    dev_t dev;        /* ...by the file's device and inode */
    ino_t ino;
    /* Disk space (store_space): full since a write met a full disk, or began with
     * less than STORE_MIN_FREE free; full_avail is what was free then. */
    bool full;
    uint64_t full_avail, full_ms;          /* full_ms: when it filled up (monotonic) */
    struct store_ingest_tally tally;       /* store_ingest's outcomes on this handle */
    uint8_t sealed[HEARTH_MSG_MAX_SEALED]; /* a message being published (rules_prepare) */
    /* The view digest's sum and the kept counts (viewsum.c), loaded at each write and
     * saved before its commit when the triggers changed them. */
    uint64_t vsum[4];
    uint64_t vcount[VIEWSUM_COUNTS];
    bool vsum_dirty;
    struct hbuf vbuf; /* a record being hashed */
};

/* A growable list of int64 (arrival numbers), for collect-then-recurse. */
struct i64vec {
    int64_t *v;
    size_t n, cap;
};

void i64vec_release(struct i64vec *a);
HEARTH_MUST_CHECK herr i64vec_push(struct i64vec *a, int64_t x);

/* ---- store.c ---- */

/* sq - the cached statement q, reset and unbound; NULL on failure (errmsg set). */
sqlite3_stmt *sq(struct store *s, enum q q);

/* store_fail - set the detail message; returns e. */
herr store_fail(struct store *s, herr e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* store_sqlerr - map an SQLite result code to a herr and set the detail
 * ("what: sqlite's message"). */
herr store_sqlerr(struct store *s, int rc, const char *what);

/* sq_exec - step q to completion (no rows expected) and reset it. */
HEARTH_MUST_CHECK herr sq_exec(struct store *s, sqlite3_stmt *q, const char *what);

/* sq_step - step q: 1 for a row, 0 when done (q reset), -1 on error (*e set, q reset). */
int sq_step(struct store *s, sqlite3_stmt *q, herr *e, const char *what);

/* sq_collect - step q and push column 0 of every row (an int64) to out. */
HEARTH_MUST_CHECK herr sq_collect(struct store *s, sqlite3_stmt *q, struct i64vec *out,
                                  const char *what);

void sq_bind_id(sqlite3_stmt *q, int i, const uint8_t *id);

/* Transactions: store_write_begin takes the write lock (BEGIN IMMEDIATE) and loads
 * the forum; store_write_end commits when e is HERR_OK and rolls back otherwise, and
 * returns the first error. */
HEARTH_MUST_CHECK herr store_write_begin(struct store *s);
HEARTH_MUST_CHECK herr store_write_end(struct store *s, herr e);
HEARTH_MUST_CHECK herr store_read_begin(struct store *s);
void store_read_end(struct store *s);

/* ---- viewsum.c ---- */

/* viewsum_register - the SQL functions the digest's triggers call, and recursive
 * triggers on (every connection, at open). One of them, hearth_words(body, key), is
 * also what every read of a post's words calls: the string field key of a stored
 * body, NULL when body or key is NULL or the body lacks it. */
HEARTH_MUST_CHECK herr viewsum_register(struct store *s);
/* viewsum_create - the triggers that keep the digest and counts (the schema upgrade
 * that adds view_sum, in its transaction). */
HEARTH_MUST_CHECK herr viewsum_create(struct store *s);
/* viewsum_event_added - count the event x just stored at arrival, signed by signer
 * (x->author is its person): events, purged, authors, forks. */
HEARTH_MUST_CHECK herr viewsum_event_added(struct store *s, const struct event *x,
                                           const uint8_t *signer, int64_t arrival);
/* viewsum_load - the stored sum and counts into the handle (in a transaction). */
HEARTH_MUST_CHECK herr viewsum_load(struct store *s);
/* viewsum_save - write them back when changed (in the write transaction). */
HEARTH_MUST_CHECK herr viewsum_save(struct store *s);
/* viewsum_fill - recompute both from the tables and store them (schema upgrade). */
HEARTH_MUST_CHECK herr viewsum_fill(struct store *s);
/* viewsum_upgrade - make again the triggers a schema upgrade from version `from` (one
 * that already had view_sum) changed the tables under (in its transaction). */
HEARTH_MUST_CHECK herr viewsum_upgrade(struct store *s, int64_t from);

/* ---- wal.c ---- */

/* wal_check - HERR_CORRUPT, with the detail in why[0..n), when the database at
 * path was left with committed writes in its write-ahead log (its -shm file says so)
 * and that log is gone or cut short; HERR_OK otherwise, or when it cannot tell. Must
 * run before SQLite opens the file: the first connection resets the -shm file. */
HEARTH_MUST_CHECK herr wal_check(const char *path, char *why, size_t n);

/* ---- stored.c ---- */

/* stored_event_parse - rebuild and parse a stored event (bodies included) from the
 * row q is on, whose columns col_header, +1 and +2 are the header, signature and
 * body, into ev, which borrows from s->scratch until the next call. HERR_CORRUPT
 * when it does not parse. */
HEARTH_MUST_CHECK herr stored_event_parse(struct store *s, sqlite3_stmt *q, int col_header,
                                          struct event *ev);

/* stored_event_get - the held event `id`, parsed into ev (borrowing s->scratch);
 * HERR_NOT_FOUND when not held. */
HEARTH_MUST_CHECK herr stored_event_get(struct store *s, const uint8_t *id, struct event *ev);

/* stored_event_at - the event stored at `arrival`, parsed into ev (borrowing
 * s->scratch), and its ref's arrival into *ref_ev (0 when none; ref_ev may be NULL);
 * HERR_NOT_FOUND when no event is stored there. The author is the signer's key as the
 * event says: a reader that counts events by person asks dev_person. */
HEARTH_MUST_CHECK herr stored_event_at(struct store *s, int64_t arrival, struct event *ev,
                                       int64_t *ref_ev);

/* ---- view.c ---- */

enum view_how {
    VIEW_FRESH = 1,      /* just inserted (else: its purged body was restored) */
    VIEW_REFERENCED = 2, /* events that arrived before it refer to it */
};

/* How far past the horizon (the newest time two authors vouch for) a post's own
 * time still counts: docs/EVENTS.md, "Time". */
#define VIEW_SKEW_MS (24ULL * 60 * 60 * 1000)

/* An event as a reference target: where it is held and, for a post or reply, its
 * row of the view. */
struct view_target {
    bool held;
    int64_t ev, board_ev, root_ev;
    uint32_t kind; /* 0 when held but not a post or reply */
    int state, depth, status;
    uint8_t root[HEARTH_ID_LEN], author[HEARTH_PK_LEN];
};

/* view_target_find - the event `id` as a target (t->held false when not held). */
HEARTH_MUST_CHECK herr view_target_find(struct store *s, const uint8_t id[HEARTH_ID_LEN],
                                        struct view_target *t);

/* view_apply - bring the view up to date for the event x stored at arrival `ev`,
 * whose ref target is *ref as found just before the insert (how: enum view_how).
 * x has no body when it was stored without one. */
HEARTH_MUST_CHECK herr view_apply(struct store *s, int64_t ev, const struct view_target *ref,
                                  const struct event *x, unsigned how);

/* view_must_purge - true when a purge is in force for ev, whose body must then not be
 * stored: a retraction by its author, or of the post it edits. `arrival` is where ev
 * is held, or 0 when it is about to be inserted, in which case `referenced` says
 * whether events wait for it. */
HEARTH_MUST_CHECK herr view_must_purge(struct store *s, const struct event *ev, int64_t arrival,
                                       bool referenced, bool *purge);

/* view_post_why - for the post at `ev` whose status is `status`: why it is hidden
 * (enum post_hidden_by) and the moderation event in force behind it (the hide, the
 * ban, or for POST_REMOVED the latest valid removal), when there is one (*has_mod). */
HEARTH_MUST_CHECK herr view_post_why(struct store *s, int64_t ev, int status, int *hidden_by,
                                     uint8_t mod_id[HEARTH_ID_LEN], bool *has_mod);

/* ---- devices (devices.c) ---- */

/* A set of keys. */
struct dev_keys {
    uint8_t (*v)[HEARTH_PK_LEN];
    size_t n, cap;
};
void dev_keys_release(struct dev_keys *k);

/* dev_person - the person an event signed by `key` with sequence number `seq` counts
 * for: the key's person while it is a device and seq is within its revocation's
 * until, else the key itself. out may be key. */
HEARTH_MUST_CHECK herr dev_person(struct store *s, const uint8_t key[HEARTH_PK_LEN], uint64_t seq,
                                  uint8_t out[HEARTH_PK_LEN]);
/* dev_subject - the person a key named as a subject (a ban, a role) stands for: its
 * person when it is (or was, before a revocation) a device, else itself. */
HEARTH_MUST_CHECK herr dev_subject(struct store *s, const uint8_t key[HEARTH_PK_LEN],
                                   uint8_t out[HEARTH_PK_LEN]);
/* dev_each_event - every device event held, parsed, in arrival order, offered to
 * fill(), which copies what it keeps into `slot` (an element of size bytes) and says
 * whether it kept it; *out holds the *n kept (the caller frees it, also on error). */
HEARTH_MUST_CHECK herr dev_each_event(struct store *s, size_t size,
                                      bool (*fill)(void *slot, const struct event *x,
                                                   const void *arg),
                                      const void *arg, void **out, size_t *n);
/* dev_recompute - recompute the devices table from the device events; rewrite the
 * authors of the events of every device whose mapping changed, and add those devices
 * and their persons (before and after) to devs and persons. */
HEARTH_MUST_CHECK herr dev_recompute(struct store *s, struct dev_keys *devs,
                                     struct dev_keys *persons);

/* view_recompute_all - recompute every derived row (after the genesis or a change
 * of roles). */
HEARTH_MUST_CHECK herr view_recompute_all(struct store *s);

/* ---- care.c ---- */

enum role_id { ROLE_ADMIN = 1, ROLE_MODERATOR = 2, ROLE_PROFESSIONAL = 3, ROLE_PEER = 4 };

enum mod_action {
    MA_HIDE = 1,
    MA_UNHIDE,
    MA_REMOVE,
    MA_LOCK,
    MA_UNLOCK,
    MA_BAN,
    MA_UNBAN,
    MA_PIN,
    MA_UNPIN,
    MA_APPROVE,
};

int care_role_of(struct hstr h);   /* enum role_id, 0 when unknown */
int care_action_of(struct hstr h); /* enum mod_action, 0 when unknown */
const char *care_role_name(int role);

/* A toggle (hide/unhide, lock/unlock...): the valid action with the greatest
 * (created, id) wins. */
struct toggle_state {
    bool has, on;
    uint64_t created;
    uint8_t id[HEARTH_ID_LEN];
};
void care_toggle(struct toggle_state *t, bool on, uint64_t created, const uint8_t *id);

/* Role checks; `upto` is the weakest role that counts: ROLE_ADMIN for admin powers,
 * ROLE_MODERATOR for moderation (admins moderate too), ROLE_PEER for any role. The
 * founder passes them all. valid: an action at seq; ever: ignoring revocations (for
 * what cannot be undone, like a purge); current: unrevoked now. */
HEARTH_MUST_CHECK herr care_valid(struct store *s, const uint8_t *author, uint64_t seq, int upto,
                                  bool *yes);
HEARTH_MUST_CHECK herr care_ever(struct store *s, const uint8_t *author, int upto, bool *yes);
HEARTH_MUST_CHECK herr care_current(struct store *s, const uint8_t *author, int upto, bool *yes);

/* Recomputing: each reports whether its result changed. */
HEARTH_MUST_CHECK herr care_roles_recompute(struct store *s, bool *changed);
/* care_role_notes - for each role (1..4) author holds now, the `about` of its newest
 * grant in force (by created, id), strdup'ed into notes[role]; NULL when none. */
HEARTH_MUST_CHECK herr care_role_notes(struct store *s, const uint8_t *author, char *notes[5]);
HEARTH_MUST_CHECK herr care_config_recompute(struct store *s, bool *changed);
HEARTH_MUST_CHECK herr care_ban_recompute(struct store *s, const uint8_t *subject, bool *changed);
HEARTH_MUST_CHECK herr care_bans_recompute_all(struct store *s);
HEARTH_MUST_CHECK herr care_banned(struct store *s, const uint8_t *author, bool *yes);
/* care_ban_event - the valid ban or unban of subject that is in force (*has false when
 * none): its id. */
HEARTH_MUST_CHECK herr care_ban_event(struct store *s, const uint8_t *subject,
                                      uint8_t id[HEARTH_ID_LEN], bool *has);
/* care_hold_at - the hold in force at time t: the value of the valid settings event
 * that set hold with the greatest (created, id) whose created is at most t, else the
 * genesis's (docs/EVENTS.md, "Held posts"). */
HEARTH_MUST_CHECK herr care_hold_at(struct store *s, uint64_t t, uint64_t *hold);

/* ---- ingest.c ---- */

/* ingest_insert - insert a parsed, verified, forum-checked event and apply it.
 * HERR_DUPLICATE when it is already held (nothing changed). */
HEARTH_MUST_CHECK herr ingest_insert(struct store *s, const struct event *ev);

/* ---- rules.c ---- */

/* rules_check_publish - the rules a person's new event must meet beyond the format:
 * HERR_DENIED / HERR_NOT_FOUND with the detail in store_errmsg(). */
HEARTH_MUST_CHECK herr rules_check_publish(struct store *s, const struct event *ev);

/* rules_check_effect - after a person's new event was applied (inside its
 * transaction): HERR_NOOP, with the detail, when it changed nothing it was meant to
 * change (an unhide after which the post is still hidden); the caller rolls back. */
HEARTH_MUST_CHECK herr rules_check_effect(struct store *s, const struct event *ev);

/* rules_prepare - fill in what a draft leaves to the store (a revocation's until, a
 * message's sealed text into s->sealed). */
HEARTH_MUST_CHECK herr rules_prepare(struct store *s, const uint8_t author[HEARTH_PK_LEN],
                                     struct event_draft *d);

/* ---- messages.c ---- */

/* messages_seal - seal d->message_text to the readers of a message from author to
 * d->b.subject (the subject, the author, and the moderators now) into s->sealed, and
 * point d->b.sealed at it. HERR_USAGE (no text, too long), HERR_INVALID (too many
 * moderators to seal to), with the detail in s->err. */
HEARTH_MUST_CHECK herr messages_seal(struct store *s, const uint8_t author[HEARTH_PK_LEN],
                                     struct event_draft *d);

/* rules_name_clean - in (a name of at most HEARTH_MAX_NAME bytes of valid UTF-8) into
 * out (3 * HEARTH_MAX_NAME + 1 bytes, NUL-terminated, length *len) with every control
 * and bidirectional mark, embedding, override or isolate replaced by U+FFFD; returns
 * how many were replaced. */
size_t rules_name_clean(struct hstr in, char *out, size_t *len);

#endif
