/* store.h - the SQLite replica: events, the forum view, and queries.
 *
 * A store is one SQLite file (WAL, synchronous=FULL, secure_delete, defensive)
 * holding every event of one forum with its exact bytes, and a forum view (boards,
 * threads, posts with their current text, reactions, profiles, roles, moderation)
 * kept up to date as events are applied. The view is a pure function of the set of
 * events: the same set gives the same view_digest whatever order it arrived in
 * (docs/EVENTS.md, "The view"). An event whose prerequisite has not arrived (a reply's
 * parent, an edit's target) is held and applied when it comes.
 *
 * Durability: every function that adds events returns only after its transaction has
 * committed; an id reported accepted is on disk.
 *
 * Errors: functions return a herr; a one-line detail (lower case, no full stop) is
 * available from store_errmsg(), owned by the store and valid until the next call.
 * A store is used from one thread at a time.
 */
#ifndef HEARTH_STORE_H
#define HEARTH_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/crypto.h"
#include "base/herr.h"
#include "store/event.h"

struct store;

enum store_flags {
    STORE_CREATE = 1,      /* create the file when it does not exist */
    STORE_READONLY = 2,    /* open for reading only */
    STORE_CHECK = 4,       /* run SQLite's quick_check on open (reads the whole file) */
    STORE_SMALL_CACHE = 8, /* a 1 MB page cache, not 16: for a connection that reads
                              once through the file (a background check) */
};

/* store_open - open (or with STORE_CREATE create) the replica at path and bring its
 * schema up to date. HERR_NOT_FOUND when absent without STORE_CREATE; HERR_BUSY when
 * another process holds it; HERR_READONLY; HERR_CORRUPT when it is not a hearth
 * database, (with STORE_CHECK) fails its quick check, or was left with committed
 * writes in a write-ahead log that is now missing or cut short (detected from the
 * -shm file SQLite leaves behind after a crash; a log deleted together with its -shm
 * file cannot be told from a clean close); HERR_VERSION when its schema is newer than
 * this program. On failure *out is NULL and store_open_error() has the detail. */
HEARTH_MUST_CHECK herr store_open(struct store **out, const char *path, unsigned flags);

/* store_open_error - the detail of the last store_open failure in this thread. */
const char *store_open_error(void);

/* store_destroy - close and free; NULL-safe; sets *s to NULL. */
void store_destroy(struct store **s);

/* store_errmsg - the detail of the last failed call on s ("" when none). */
const char *store_errmsg(const struct store *s);

/* ---- health ---- */

/* store_check - whether the replica is sound, cheaply enough to run at every start of
 * a node or an export: SQLite's quick_check (every page's structure, without
 * comparing indexes with their tables), and then the view against the events: every
 * post, reply and board held has its row in the view. A thread interrupts the check
 * when budget_ms has passed (*complete false then, and what was read was sound; the
 * view is compared only when the quick check ended), so a check costs about
 * budget_ms at most however large the replica; 0: no budget, the whole replica is
 * read (store_interrupt cuts it short, *complete false). HERR_CORRUPT with the detail
 * in store_errmsg() when damaged; other errors when the check itself could not run.
 * Not caught: a flipped bit inside a row whose page still has a sound structure
 * (SQLite keeps no checksums); store_repair re-verifies every event. */
HEARTH_MUST_CHECK herr store_check(struct store *s, unsigned budget_ms, bool *complete);

/* store_interrupt - cut short what s is running in another thread (SQLite's
 * sqlite3_interrupt): a check returns with *complete false, another call with an
 * error. Reaches only a statement under way. Safe from any thread while s is open. */
void store_interrupt(struct store *s);

/* What store_repair did. */
struct store_repair {
    uint64_t found;      /* event rows found in the damaged file (the same event may be
                            found more than once: in the file and in its log) */
    uint64_t kept;       /* events in the rebuilt replica */
    uint64_t dropped;    /* rows that did not parse, verify or belong to the forum */
    uint64_t local_rows; /* local settings, peers, web accounts, invites, marks kept */
    bool local_lost;     /* some local rows could not be read */
    bool wal_lost;       /* the write-ahead log was missing: wal_why says what was lost */
    char wal_why[256];
    char moved_to[4200]; /* where the damaged file now is */
    char why[512];       /* on failure, what went wrong */
};

/* store_repair - rebuild the replica at path from what it still holds: every page of
 * the file (and of its write-ahead log) is read as raw bytes, each row of events
 * found is re-verified and applied to a new replica as if it came from a peer (what
 * does not verify is dropped; the view is rebuilt from the events), and the local
 * tables are copied as far as they can be read. The new file takes the place of the
 * old one, which is kept beside it as PATH.damaged-YYYYMMDD-HHMMSS (with its log).
 * What was lost comes back from peers by the next sync. HERR_BUSY when another
 * process has the replica open (a running node), HERR_NOT_FOUND, HERR_IO, and
 * HERR_CORRUPT when not even the forum can be told; r->why has the detail. The old
 * file is unchanged on failure, except that its log may have been checkpointed. */
HEARTH_MUST_CHECK herr store_repair(const char *path, struct store_repair *r);

/* ---- disk space ----
 *
 * A store that meets a full disk (SQLite's "database or disk is full", or less than
 * STORE_MIN_FREE bytes free on the file system of its file when a write begins) is
 * full: every write is refused with HERR_FULL, and a detail that names the directory
 * and how much is free and needed, until the file system has at least STORE_MIN_FREE
 * free and STORE_FULL_MARGIN more than when it filled up (so that a node does not fail
 * batch after batch on the same few bytes); when the file system had room as the write
 * failed (a quota, or a size limit of the database, which statvfs does not show),
 * writes are tried again STORE_FULL_RETRY_MS later instead. Reads go on. Nothing is
 * lost: a write
 * that did not fit rolled back whole, and one acknowledged before is committed. The
 * state belongs to the handle: another process learns of the full disk by its own
 * first write. */
#define STORE_MIN_FREE (128u * 1024)
#define STORE_FULL_MARGIN (1024u * 1024)
#define STORE_FULL_RETRY_MS 10000

struct store_space {
    bool full;
    uint64_t avail; /* bytes free for us on the file system of the database */
    uint64_t need;  /* while full: bytes that must be free before writes resume */
};

/* store_space - look at the file system now (statvfs) and say whether the store is
 * full, leaving that state when space has returned. HERR_IO when it cannot look. */
HEARTH_MUST_CHECK herr store_space(struct store *s, struct store_space *sp);

/* store_dir - the directory that holds the database file. Owned by s. */
const char *store_dir(const struct store *s);

/* ---- the forum ---- */

/* store_forum - the forum id this replica belongs to. HERR_STATE when none yet. */
HEARTH_MUST_CHECK herr store_forum(struct store *s, uint8_t forum[HEARTH_ID_LEN]);

/* store_set_forum - bind an empty replica to a forum (hearth init --join). Only the
 * genesis with that id, and events naming it, will be accepted. HERR_STATE when the
 * replica already belongs to another forum; HERR_OK when to this one. */
HEARTH_MUST_CHECK herr store_set_forum(struct store *s, const uint8_t forum[HEARTH_ID_LEN]);

/* ---- adding events ---- */

/* What happened to one offered event. */
struct ingest_result {
    herr err;        /* HERR_OK accepted, HERR_DUPLICATE already held, else why not */
    const char *why; /* static one-line reason when err is a rejection */
    uint8_t id[HEARTH_ID_LEN];
    bool has_id; /* false when the bytes did not even parse */
};

/* A borrowed run of bytes. */
struct store_blob {
    const uint8_t *p;
    size_t n;
};

/* store_ingest - parse, verify and apply envelopes in ONE transaction: each event is
 * accepted, a duplicate, or rejected with its reason in res[i] (res has n entries).
 * The first event of a forum-less replica must be a genesis, which binds it.
 * Returns HERR_OK when the batch committed (whatever each event's fate), or a local
 * error (HERR_IO, HERR_FULL, HERR_READONLY, HERR_BUSY, HERR_CORRUPT, HERR_NOMEM) in
 * which case nothing of the batch was stored. Signatures are verified on all cores.
 * When accepted is not NULL it gets the number accepted. */
HEARTH_MUST_CHECK herr store_ingest(struct store *s, const struct store_blob *envs, size_t n,
                                    struct ingest_result *res, size_t *accepted);

/* What store_ingest made of the events offered through one store handle, since it
 * was opened: batches that did not commit count nothing. rejected[e] counts the events
 * refused with code e (never HERR_OK or HERR_DUPLICATE). */
struct store_ingest_tally {
    uint64_t accepted, duplicate;
    uint64_t rejected[HERR_COUNT];
};

/* store_ingest_tally - the counts above for this handle (read by its own thread). */
void store_ingest_tally(const struct store *s, struct store_ingest_tally *out);

/* store_publish - author a new event: take the next seq for k's author, stamp the
 * time (never earlier than the author's previous event), build, sign, check it as a
 * peer would (including the rules that need the view: e.g. an edit of another's post
 * is refused with HERR_DENIED), apply and commit. Sets id. HERR_STATE when the
 * replica has no forum (except for a genesis). The detail is in store_errmsg(). */
HEARTH_MUST_CHECK herr store_publish(struct store *s, const struct hkey *k,
                                     const struct event_draft *d, uint8_t id[HEARTH_ID_LEN]);

/* ---- reading the view ---- */

/* store_set_viewer - whose eyes the queries below see with: held and hidden posts show
 * only to their author and to moderators, and so on. NULL (the default) is an
 * anonymous reader. The key is copied. */
void store_set_viewer(struct store *s, const uint8_t author[HEARTH_PK_LEN]);

enum post_status {
    POST_VISIBLE = 0,
    POST_RETRACTED = 1, /* taken back by its author: body purged */
    POST_REMOVED = 2,   /* removed by a moderator: body purged */
    POST_HIDDEN = 3,    /* hidden by a moderator or by flags pending review */
    POST_HELD = 4,      /* waiting for a moderator's approval */
};

const char *post_status_name(enum post_status st);

/* Why a post is hidden (status POST_HIDDEN). */
enum post_hidden_by {
    HIDDEN_BY_NONE = 0,  /* not hidden */
    HIDDEN_BY_MOD = 1,   /* a moderator's hide is in force */
    HIDDEN_BY_FLAGS = 2, /* flagged by `flags` members, until a moderator reviews it */
    HIDDEN_BY_BAN = 3,   /* its author is banned */
};

/* post_hidden_by_name - "moderator", "flags", "ban", or NULL for HIDDEN_BY_NONE. */
const char *post_hidden_by_name(enum post_hidden_by h);

struct store_reaction {
    char name[32];
    uint32_t count;
};

#define STORE_MAX_REACTIONS 8
#define STORE_MAX_ROLES 5 /* founder, admin, moderator, professional, peer-worker */

/* A post or a reply as people see it. Strings are NUL-terminated, owned by the
 * struct, NULL when absent or purged; free with store_posts_free. Lists come from
 * store_threads, store_threads_before, store_thread, store_search, store_mod_queue,
 * store_replies_to and store_author_posts. */
struct store_post {
    uint8_t id[HEARTH_ID_LEN];
    uint8_t author[HEARTH_PK_LEN];
    uint8_t board[HEARTH_ID_LEN];  /* the board of the thread */
    uint8_t root[HEARTH_ID_LEN];   /* the thread (its own id for a post) */
    uint8_t parent[HEARTH_ID_LEN]; /* for a reply: the post or reply it answers */
    uint32_t kind;                 /* EK_POST or EK_REPLY */
    uint64_t seq;
    uint64_t created;
    uint64_t edited; /* created time of the edit in force, 0 when never edited */
    uint32_t depth;  /* 0 for the thread's post, 1 for its replies... */
    enum post_status status;
    enum post_hidden_by hidden_by; /* with POST_HIDDEN: why; else HIDDEN_BY_NONE */
    /* The reason given by the moderation event in force on the post: the hide
     * (HIDDEN_BY_MOD), the ban of its author (HIDDEN_BY_BAN) or the removal
     * (POST_REMOVED). NULL otherwise, and NULL unless the viewer is the post's author
     * or a moderator: reasons are written for them. */
    char *mod_reason;
    bool locked, pinned; /* for a thread */
    char *title, *text, *cw;
    char *author_name; /* the author's pseudonym, NULL when no profile */
    /* How many hex digits of the author's key to show beside author_name so that no
     * other author can pass for them (store_key_digits). */
    uint32_t author_key_digits;
    char *author_roles; /* comma-separated roles, NULL when none ("founder" for the
                           founder, then admin, moderator, professional, peer-worker) */
    /* What each of author_roles means, in the same order: the `about` of the newest
     * grant in force ("counsellor"); NULL for a role without one (and the founder). */
    char *role_about[STORE_MAX_ROLES];
    uint32_t replies; /* for a thread: visible replies */
    /* For a thread: the latest view time (docs/EVENTS.md, "Time") of the post and its
     * visible replies; for a reply: its own view time. Equal to created unless the
     * author's clock ran ahead of the forum's. */
    uint64_t last_activity;
    uint32_t n_reactions;
    struct store_reaction reactions[STORE_MAX_REACTIONS];
    uint32_t flags; /* distinct members (not the author) whose flags stand */
    /* store_mod_queue only (else NULL, 0): the reasons given by the flags that stand,
     * not the author's own, oldest first. */
    char **flag_reasons;
    size_t n_flag_reasons;
    /* Private: in a list from a query returning many posts, the list's first element
     * points at the list, so that store_posts_free knows to free the array. */
    void *list_base;
};

/* store_posts_free - free the strings of p[0..n), and the array itself when p is one
 * of the lists named above. Also right for one post from store_post_get:
 * store_posts_free(&post, 1) frees its strings only. NULL-safe. */
void store_posts_free(struct store_post *p, size_t n);

struct store_board {
    uint8_t id[HEARTH_ID_LEN];
    char *name, *about;
    uint64_t created;
    uint32_t threads;
};

void store_boards_free(struct store_board *b, size_t n);

/* store_boards - every board, in (created, id) order. Caller owns *out. */
HEARTH_MUST_CHECK herr store_boards(struct store *s, struct store_board **out, size_t *n);

/* store_board_find - the board named `name` (exact, case-insensitive) or whose id
 * starts with the hex prefix `name`. HERR_NOT_FOUND, HERR_AMBIGUOUS. */
HEARTH_MUST_CHECK herr store_board_find(struct store *s, const char *name,
                                        uint8_t id[HEARTH_ID_LEN]);

/* store_threads - the threads of a board, pinned first then by last activity, newest
 * first. Last activity is in the view's bounded time (docs/EVENTS.md, "Time"): a post
 * dated beyond what other authors' clocks vouch for does not sort above the posts
 * made after it. Caller owns *out. */
HEARTH_MUST_CHECK herr store_threads(struct store *s, const uint8_t board[HEARTH_ID_LEN],
                                     struct store_post **out, size_t *n);

/* A place in a paged list, as text (at most STORE_CURSOR_MAX bytes with its NUL): a
 * page's `next`, given back as `before` for the page that follows. Cursors name the
 * last item shown by the keys the list is ordered by, so a page is read through an
 * index from there (no OFFSET): an item that arrives or moves meanwhile is shown on
 * the page its place falls in, and none is shown twice nor skipped unless it moved. */
#define STORE_CURSOR_MAX 96
#define STORE_PAGE_MAX 1000 /* the largest page a paged query returns */

/* store_threads_before - one page of store_threads' list: at most `limit` threads (0:
 * 50; at most STORE_PAGE_MAX) that come after the cursor `before` (NULL or "": from the
 * top), in the same order; next is set to the cursor of the page that follows, or ""
 * when this page ends the list. HERR_USAGE for a cursor that is not one. Caller owns
 * *out. */
HEARTH_MUST_CHECK herr store_threads_before(struct store *s, const uint8_t board[HEARTH_ID_LEN],
                                            const char *before, size_t limit,
                                            struct store_post **out, size_t *n,
                                            char next[STORE_CURSOR_MAX]);

/* store_board_new - how many of the threads of board that the viewer sees had activity
 * (the post, or a visible reply) after since_ms. */
HEARTH_MUST_CHECK herr store_board_new(struct store *s, const uint8_t board[HEARTH_ID_LEN],
                                       uint64_t since_ms, uint32_t *new_threads);

/* store_replies_to - replies to author: replies the viewer sees whose parent (the
 * thread's post or a reply) is by author, not written by author, created after
 * since_ms; newest first (created, then id), at most `limit` (0: 50). Caller owns
 * *out. Uses events_author then events_ref: no index of its own. */
HEARTH_MUST_CHECK herr store_replies_to(struct store *s, const uint8_t author[HEARTH_PK_LEN],
                                        uint64_t since_ms, size_t limit, struct store_post **out,
                                        size_t *n);

/* store_mentions - posts and replies the viewer sees that mention author by name:
 * "@" and the author's profile name (compared without ASCII case), not inside a word
 * on either side ("@Cal" in "thanks @cal!", not in "bea@cal.nz" or "@Callum"); not
 * written by author, created after since_ms; newest first, at most `limit` (0: 50).
 * None when the author has no profile name. Found through the search index (brought
 * up to date first, as store_search does), then checked word by word. */
HEARTH_MUST_CHECK herr store_mentions(struct store *s, const uint8_t author[HEARTH_PK_LEN],
                                      uint64_t since_ms, size_t limit, struct store_post **out,
                                      size_t *n);

/* store_author_posts - author's posts and replies that the viewer sees, newest first,
 * at most `limit` (0: 50). Caller owns *out. */
HEARTH_MUST_CHECK herr store_author_posts(struct store *s, const uint8_t author[HEARTH_PK_LEN],
                                          size_t limit, struct store_post **out, size_t *n);

/* store_thread - a thread: its post first, then its replies depth-first in
 * (created, id) order among siblings. Caller owns *out. HERR_NOT_FOUND. */
HEARTH_MUST_CHECK herr store_thread(struct store *s, const uint8_t thread[HEARTH_ID_LEN],
                                    struct store_post **out, size_t *n);

/* store_thread_before - one page of a thread, at most `limit` posts (0: 50; at most
 * STORE_PAGE_MAX): with before NULL or "", the thread's post and then its replies,
 * depth-first in (created, id) order among siblings; else the replies that follow the
 * cursor's in that order. next is set to the cursor of the following page, "" at the
 * end. Replies the viewer may not see are left out and their own replies shown in
 * their place in the walk (store_thread lists those last instead). A page costs about
 * its own size plus its depth (one index lookup a step), whatever the thread's size.
 * HERR_NOT_FOUND when there is no such thread (or the viewer may not see its post);
 * HERR_USAGE for a cursor that is not a place in this thread. Caller owns *out. */
HEARTH_MUST_CHECK herr store_thread_before(struct store *s, const uint8_t thread[HEARTH_ID_LEN],
                                           const char *before, size_t limit,
                                           struct store_post **out, size_t *n,
                                           char next[STORE_CURSOR_MAX]);

/* store_post_get - one post or reply. HERR_NOT_FOUND. Free with store_posts_free(p, 1). */
HEARTH_MUST_CHECK herr store_post_get(struct store *s, const uint8_t id[HEARTH_ID_LEN],
                                      struct store_post *out);

/* store_resolve - the one event whose hex id starts with `prefix` (at least 4
 * digits). HERR_USAGE when not hex, HERR_NOT_FOUND, HERR_AMBIGUOUS. */
HEARTH_MUST_CHECK herr store_resolve(struct store *s, const char *prefix,
                                     uint8_t id[HEARTH_ID_LEN]);

/* store_author_find - the one key that signed an event held (an author, or one of a
 * person's devices) whose hex starts with `prefix` (at least 4 digits). HERR_USAGE when not hex,
 * HERR_NOT_FOUND, HERR_AMBIGUOUS. */
HEARTH_MUST_CHECK herr store_author_find(struct store *s, const char *prefix,
                                         uint8_t pk[HEARTH_PK_LEN]);

/* ---- one person, many devices (docs/EVENTS.md, "device"; store/devices.c) ---- */

/* A key that counts for a person. */
struct store_device {
    uint8_t device[HEARTH_PK_LEN], person[HEARTH_PK_LEN];
    bool revoked;
    uint64_t until;    /* with revoked: its last seq that counts */
    uint64_t last_seq; /* the highest seq of the key's that this replica holds (0: none) */
};

/* store_devices - the devices of `person` (every device when person is NULL), by key.
 * The caller frees *out. */
HEARTH_MUST_CHECK herr store_devices(struct store *s, const uint8_t *person,
                                     struct store_device **out, size_t *n);

/* store_person_of - the person a key stands for: its person when it is (or was) a
 * device, else the key itself. */
HEARTH_MUST_CHECK herr store_person_of(struct store *s, const uint8_t key[HEARTH_PK_LEN],
                                       uint8_t person[HEARTH_PK_LEN]);

/* A pairing request: a key that asks to become a device of `person`. */
struct store_pair_request {
    uint8_t device[HEARTH_PK_LEN];
    uint8_t proof[HEARTH_SIG_LEN];  /* the device's proof, for the add */
    uint8_t pairing[HEARTH_ID_LEN]; /* BLAKE2b-256 keyed by the pairing secret of the key */
};

/* store_pair_requests - the pairing requests naming `person` (caller frees *out). */
HEARTH_MUST_CHECK herr store_pair_requests(struct store *s, const uint8_t person[HEARTH_PK_LEN],
                                           struct store_pair_request **out, size_t *n);

/* ---- pairing a device (docs/CLI.md, `hearth device`) ----
 *
 * The person's replica makes a one-time code: "hd1-" and the base32 (base/code32.h)
 * of the person's key, a 16-byte secret and two bytes of BLAKE2b-256 over both (a
 * typo is caught, nothing more: anyone can make a well-formed code naming any key).
 * The secret stays in the replica's local settings ("pairing:HEX" = "EXPIRY PERSON",
 * then "used" once accepted); the new device's pairing request carries only a hash
 * keyed with it. Whoever accepts must hold the secret, so only the device that read
 * the code is added. Both the CLI and the web pages pair through these. */

#define STORE_PAIR_SECRET_LEN 16
#define STORE_PAIR_CODE_MAX 96       /* bytes of a code's text, NUL included */
#define STORE_PAIR_TTL_S (24 * 3600) /* a code works this long */
#define STORE_PAIR_CODE_PREFIX "hd1-"

struct store_pair_code {
    uint8_t person[HEARTH_PK_LEN];
    uint8_t secret[STORE_PAIR_SECRET_LEN];
};

/* store_pair_code_new - a new one-time code for `person`, kept until now_s +
 * STORE_PAIR_TTL_S (seconds since 1970), its text into code. The store's errors. */
HEARTH_MUST_CHECK herr store_pair_code_new(struct store *s, const uint8_t person[HEARTH_PK_LEN],
                                           int64_t now_s, char code[STORE_PAIR_CODE_MAX]);

/* store_pair_code_read - what `code` holds (case, spaces and dashes forgiven).
 * HERR_USAGE when it is not a code or is mistyped, *why (static) saying which. */
HEARTH_MUST_CHECK herr store_pair_code_read(const char *code, struct store_pair_code *out,
                                            const char **why);

/* store_pair_join - publish, signed by k in `forum`, the request of k's key to become
 * a device of the code's person; *person gets who was asked. HERR_USAGE (with
 * store_errmsg) for a bad code, HERR_STATE when k is that person already, else
 * store_publish's errors. */
HEARTH_MUST_CHECK herr store_pair_join(struct store *s, const struct hkey *k,
                                       const uint8_t forum[HEARTH_ID_LEN], const char *code,
                                       uint8_t person[HEARTH_PK_LEN], uint8_t id[HEARTH_ID_LEN]);

/* What became of a pairing request on the replica of the person asked. */
enum store_pair_state {
    STORE_PAIR_READY,   /* made with an unexpired code of this replica's: may be accepted */
    STORE_PAIR_ADDED,   /* the key is a device of the person already */
    STORE_PAIR_EXPIRED, /* made with a code of this replica's that has expired */
    STORE_PAIR_USED,    /* made with a code that another device used first */
    STORE_PAIR_FOREIGN, /* made with no code of this replica's (another device's, or none) */
};

/* store_pair_state_str - a person's words for st ("its code has expired"). */
const char *store_pair_state_str(enum store_pair_state st);

struct store_pair_match {
    struct store_pair_request req;
    enum store_pair_state state;
    char setting[48]; /* the local setting of its code ("pairing:HEX"), or "" */
};

/* store_pair_pending - every pairing request naming `person`, with what this replica
 * can tell of it at now_s. The caller frees *out. */
HEARTH_MUST_CHECK herr store_pair_pending(struct store *s, const uint8_t person[HEARTH_PK_LEN],
                                          int64_t now_s, struct store_pair_match **out, size_t *n);

/* store_pair_accept - publish, signed by k (the person) in `forum`, the add of m's
 * device, then mark its code used. HERR_STATE (store_errmsg says why) unless m is
 * READY; store_publish's errors. */
HEARTH_MUST_CHECK herr store_pair_accept(struct store *s, const struct hkey *k,
                                         const uint8_t forum[HEARTH_ID_LEN],
                                         const struct store_pair_match *m,
                                         uint8_t id[HEARTH_ID_LEN]);

/* store_pair_asked - the person that `device` last asked to become a device of, by a
 * pairing request held here. HERR_NOT_FOUND when it asked no one. */
HEARTH_MUST_CHECK herr store_pair_asked(struct store *s, const uint8_t device[HEARTH_PK_LEN],
                                        uint8_t person[HEARTH_PK_LEN]);

/* store_device_revoke - publish, signed by k in `forum`, the revocation of `device`:
 * what it signs after the last seq this replica holds of it no longer counts (with
 * undo: nothing it signed counts); *until gets that seq. HERR_NOT_FOUND when device
 * is not a device of k's key; store_publish's errors. */
HEARTH_MUST_CHECK herr store_device_revoke(struct store *s, const struct hkey *k,
                                           const uint8_t forum[HEARTH_ID_LEN],
                                           const uint8_t device[HEARTH_PK_LEN], bool undo,
                                           uint64_t *until, uint8_t id[HEARTH_ID_LEN]);

/* store_key_last_seq - the highest seq signed by `key` that this replica holds (0:
 * none). */
HEARTH_MUST_CHECK herr store_key_last_seq(struct store *s, const uint8_t key[HEARTH_PK_LEN],
                                          uint64_t *seq);

/* store_profile - the pseudonym and about text of an author (caller frees both; NULL
 * when none). */
HEARTH_MUST_CHECK herr store_profile(struct store *s, const uint8_t author[HEARTH_PK_LEN],
                                     char **name, char **about);

/* store_key_digits - how many first hex digits of author's key to show beside their
 * pseudonym: 8, or when another author's pseudonym is the same (ASCII letters
 * compared without case) at least 12, and 4 more than the longest prefix the two keys
 * share, so that a copied name, even with a key ground to a like prefix, reads as
 * someone else. Pseudonyms are as the view shows them (controls and bidirectional
 * overrides replaced by U+FFFD). */
HEARTH_MUST_CHECK herr store_key_digits(struct store *s, const uint8_t author[HEARTH_PK_LEN],
                                        uint32_t *digits);

/* store_board_get - the board `id`, without its thread count (threads is 0): what a
 * page of the board needs. HERR_NOT_FOUND. Free its strings with store_board_release. */
HEARTH_MUST_CHECK herr store_board_get(struct store *s, const uint8_t id[HEARTH_ID_LEN],
                                       struct store_board *b);
void store_board_release(struct store_board *b);

/* store_forum_name - the forum's name, from its genesis (caller frees; NULL when the
 * genesis has none). HERR_STATE when the replica has no forum. */
HEARTH_MUST_CHECK herr store_forum_name(struct store *s, char **name);

/* One of a viewer's own standing reactions to a post, with the event that made it
 * (a reaction is taken back by retracting that event). */
struct store_my_reaction {
    char name[32];
    uint8_t id[HEARTH_ID_LEN];
    uint8_t post[HEARTH_ID_LEN]; /* the post reacted to */
};

/* store_thread_reactions - author's standing reactions to the posts of a thread (its
 * post and every reply), at most max, into out[0..*n): one query for a whole page,
 * whose cost follows the author's own events. */
HEARTH_MUST_CHECK herr store_thread_reactions(struct store *s, const uint8_t thread[HEARTH_ID_LEN],
                                              const uint8_t author[HEARTH_PK_LEN],
                                              struct store_my_reaction *out, size_t max, size_t *n);

/* store_my_reactions - author's standing reactions to post, at most max, oldest
 * first, into out[0..*n). */
HEARTH_MUST_CHECK herr store_my_reactions(struct store *s, const uint8_t post[HEARTH_ID_LEN],
                                          const uint8_t author[HEARTH_PK_LEN],
                                          struct store_my_reaction *out, size_t max, size_t *n);

/* One moderation action as its moderator signed it. Strings owned by the entry. */
struct store_mod_entry {
    uint8_t id[HEARTH_ID_LEN], author[HEARTH_PK_LEN];
    uint64_t created;
    char action[16]; /* "hide", "approve"... */
    bool has_target, has_subject;
    uint8_t target[HEARTH_ID_LEN];  /* the post acted on */
    uint8_t subject[HEARTH_PK_LEN]; /* the member banned or unbanned */
    char *reason, *author_name;     /* author_name NULL when no profile */
};

/* store_mod_log - the moderation events held (whether or not the view lets each one
 * act: the log shows what moderators signed), newest first by (created, id), only
 * those on post `target` when it is not NULL, at most `limit` (0: 100). Caller frees
 * with store_mod_log_free. Front-ends show it to moderators only. */
HEARTH_MUST_CHECK herr store_mod_log(struct store *s, const uint8_t *target, size_t limit,
                                     struct store_mod_entry **out, size_t *n);
void store_mod_log_free(struct store_mod_entry *v, size_t n);

/* store_mod_about - moderation of author's posts and replies (approved, hidden,
 * removed, locked...) signed after since_ms, newest first, at most `limit` (0: 100):
 * what that author is told about their own posts. Free with store_mod_log_free. */
HEARTH_MUST_CHECK herr store_mod_about(struct store *s, const uint8_t author[HEARTH_PK_LEN],
                                       uint64_t since_ms, size_t limit,
                                       struct store_mod_entry **out, size_t *n);

/* A role grant in force (its granter held the power, and no revocation names it). */
struct store_role_grant {
    uint8_t grant[HEARTH_ID_LEN], subject[HEARTH_PK_LEN];
    uint64_t created;
    char role[16];      /* "admin", "moderator", "professional", "peer-worker" */
    char *about;        /* what the role means here ("counsellor"), or NULL */
    char *subject_name; /* NULL when no profile */
};

/* store_founder - the key of the forum's founder (the genesis event's author).
 * HERR_NOT_FOUND before the genesis is held. */
HEARTH_MUST_CHECK herr store_founder(struct store *s, uint8_t pk[HEARTH_PK_LEN]);

/* store_role_grants - every grant in force, by role then (created, id). Caller frees
 * with store_role_grants_free. */
HEARTH_MUST_CHECK herr store_role_grants(struct store *s, struct store_role_grant **out, size_t *n);
void store_role_grants_free(struct store_role_grant *v, size_t n);

/* ---- the private channel: a member and the moderators ----
 *
 * A message (kind 14, docs/EVENTS.md) belongs to the conversation of its subject, a
 * member: the member writes to the moderators (subject = the author), a moderator
 * writes to the member (subject = the member; the view counts it only when its author
 * was a moderator at its seq, as for moderation). store_publish seals a message's
 * text (event_draft.message_text) to the subject, the author and everyone who moderates
 * now (the founder, admins, moderators), so that only they can read it: a moderator
 * made later does not read what came before. Every node holds and gossips the sealed
 * events; store_publish refuses a message to another member from a non-moderator
 * (HERR_DENIED). A retraction purges a message like a post: it leaves the conversation. */
struct store_message {
    uint8_t id[HEARTH_ID_LEN], author[HEARTH_PK_LEN];
    char *author_name; /* NULL when no profile */
    bool from_mod;     /* written by a moderator to the member */
    uint64_t created;  /* the author's clock */
    uint64_t arrival;  /* in this replica: larger is newer here */
    bool has_about;    /* the post it is about */
    uint8_t about[HEARTH_ID_LEN];
    char *text; /* NULL when the reader is not one of its readers */
};

/* store_moderates - whether author moderates now (the founder, an admin, a moderator):
 * who sees every conversation. */
HEARTH_MUST_CHECK herr store_moderates(struct store *s, const uint8_t author[HEARTH_PK_LEN],
                                       bool *yes);

/* store_conversation - the messages of member's conversation with the moderators, by
 * (created, id), each opened with the reader's key where the reader is one of its
 * readers (reader may be NULL: nothing is opened). Caller frees with
 * store_messages_free. */
HEARTH_MUST_CHECK herr store_conversation(struct store *s, const struct hkey *reader,
                                          const uint8_t member[HEARTH_PK_LEN],
                                          struct store_message **out, size_t *n);
void store_messages_free(struct store_message *v, size_t n);

/* One member's conversation, as the moderators' list shows it. */
struct store_conversation_info {
    uint8_t member[HEARTH_PK_LEN];
    char *member_name;       /* NULL when no profile */
    size_t messages;         /* counted ones */
    uint64_t last_created;   /* of the newest */
    uint64_t last_arrival;   /* the newest arrival among them */
    uint64_t member_arrival; /* the newest arrival of the member's own, 0 none */
};

/* store_conversations - every conversation, the one with the newest message first.
 * Caller frees with store_conversations_free. */
HEARTH_MUST_CHECK herr store_conversations(struct store *s, struct store_conversation_info **out,
                                           size_t *n);
void store_conversations_free(struct store_conversation_info *v, size_t n);

struct store_stats {
    uint64_t events;  /* events held */
    uint64_t pending; /* held, waiting for a prerequisite */
    uint64_t purged;  /* bodies purged */
    uint64_t boards, threads, replies, authors;
    uint64_t forks;    /* (author, seq) pairs with more than one event */
    uint64_t db_bytes; /* size of the database file */
};

/* store_stats - the counts above, kept up to date by the view as it changes (one row
 * read, whatever the replica's size). store_stats_full counts them from the tables
 * instead (reads every event: seconds at a million); the two agree unless the file
 * was edited by something other than hearth. */
HEARTH_MUST_CHECK herr store_stats(struct store *s, struct store_stats *st);
HEARTH_MUST_CHECK herr store_stats_full(struct store *s, struct store_stats *st);

/* store_view_digest - the view digest (docs/EVENTS.md, "View digest"): a hash of the
 * sum of one hash per record of the view tables, kept up to date in the transaction
 * that changes them, so reading it costs one row. Two replicas with equal digests
 * show the same forum. */
HEARTH_MUST_CHECK herr store_view_digest(struct store *s, uint8_t out[HEARTH_ID_LEN]);

/* store_view_digest_full - the same digest recomputed from every record of the view
 * (reads the whole view: what store_view_digest must always equal). */
HEARTH_MUST_CHECK herr store_view_digest_full(struct store *s, uint8_t out[HEARTH_ID_LEN]);

/* store_view_dump_digest - BLAKE2b-256 over a canonical dump of everything the view
 * shows, post by post in id order, including what is computed when read (reaction
 * counts, flaggers, why a post is hidden): slow (the whole view, in order), and the
 * strictest comparison of two replicas, for tests (docs/EVENTS.md). */
HEARTH_MUST_CHECK herr store_view_dump_digest(struct store *s, uint8_t out[HEARTH_ID_LEN]);

/* ---- community care (docs/EVENTS.md, "Roles and moderation") ----
 *
 * Roles, moderation, settings and resources are evaluated from the set of events
 * like the rest of the view. What a viewer sees follows store_set_viewer: held posts,
 * and posts hidden by a moderator, by flags awaiting review, or because their author
 * is banned, show to their author and to moderators only, with their status, why they
 * are hidden (store_post.hidden_by) and the moderator's reason (mod_reason);
 * retracted and removed posts show to everyone as such, without text.
 * store_publish refuses moderation without the role, posting while banned and
 * replying in a locked thread with HERR_DENIED, and actions that would change nothing
 * with HERR_NOOP (docs/EVENTS.md, "The view"): flagging one's own post or flagging it
 * again while one's flag stands, sending a reaction one's standing reaction already
 * gives, approving a post that is neither held nor flagged, and an unhide after which
 * the post would still be hidden (its author banned, or a later hide in force). */

/* store_roles - the current roles of author, comma-separated as in
 * store_post.author_roles; *roles is NULL when none. Caller frees. */
HEARTH_MUST_CHECK herr store_roles(struct store *s, const uint8_t author[HEARTH_PK_LEN],
                                   char **roles);

/* store_resources - the crisis resources in force (the latest valid resources event
 * by (created, id)): text and about (about may be NULL). Caller frees both.
 * HERR_NOT_FOUND when the forum has none. */
HEARTH_MUST_CHECK herr store_resources(struct store *s, char **text, char **about);

/* store_settings - the forum settings in force: how many first posts of a new
 * member are held for approval (0: none), and how many members' flags hide a post
 * until a moderator looks (0: flags never hide). */
HEARTH_MUST_CHECK herr store_settings(struct store *s, uint64_t *hold, uint64_t *flags);

/* store_search - posts and replies whose visible title or text holds every word of
 * query (SQLite FTS5, unicode61 words; query is words, not FTS syntax), best match
 * first, at most `limit` (0: 50). Hidden, held, removed and retracted posts are never
 * in the index. The index catches up with new posts here; a read-only store indexes
 * the posts its index lacks in a temporary table instead (once per store: its cost
 * follows how far the index is behind). Caller owns *out (store_posts_free). HERR_USAGE when query
 * has no words. */
HEARTH_MUST_CHECK herr store_search(struct store *s, const char *query, size_t limit,
                                    struct store_post **out, size_t *n);

/* store_search_before - one page of a search (store_search's first page when before
 * is NULL or ""), at most `limit` (0: 50; at most STORE_PAGE_MAX), and in next the
 * cursor of the following page ("" at the end). When at most 2,000 posts match, they
 * come best match first (bm25); when more match (a common word), ranking them would
 * read every match, so the newest matches come first instead, read from the index in
 * arrival order: either way a page costs about its own size. A cursor keeps the order
 * its first page had. HERR_USAGE for a query with no words or a cursor that is not one. */
HEARTH_MUST_CHECK herr store_search_before(struct store *s, const char *query, const char *before,
                                           size_t limit, struct store_post **out, size_t *n,
                                           char next[STORE_CURSOR_MAX]);

/* store_mod_queue - what waits for a moderator: held posts, and posts flagged by
 * members (not their author) that no moderator approved, unhid, removed or hid since
 * the newest flag arrived here; oldest first. HERR_DENIED unless the viewer (store_set_viewer) is a
 * moderator. Caller owns *out (store_posts_free). */
HEARTH_MUST_CHECK herr store_mod_queue(struct store *s, struct store_post **out, size_t *n);

/* ---- moving events (export, bundles, sync) ---- */

/* Called with each event's envelope (borrowed, valid during the call). Return
 * HERR_OK to go on; any other value stops the walk and is returned. */
typedef herr (*store_event_fn)(void *ctx, const uint8_t *env, size_t len);

/* store_export - every event, in transfer priority order (docs/EVENTS.md: role,
 * moderation and retraction events first, then genesis, boards, posts...). */
HEARTH_MUST_CHECK herr store_export(struct store *s, store_event_fn fn, void *ctx);

/* store_export_since - store_export, less what people wrote (posts, replies, edits,
 * reactions, flags) before since_ms by its author's clock. Everything else (the
 * genesis, boards, profiles, roles, moderation, retractions, settings, resources) is
 * few and is what makes sense of the rest, so it always goes. since_ms 0: all. */
HEARTH_MUST_CHECK herr store_export_since(struct store *s, uint64_t since_ms, store_event_fn fn,
                                          void *ctx);

/* store_get - append the envelope of the event `id` to out. HERR_NOT_FOUND. */
HEARTH_MUST_CHECK herr store_get(struct store *s, const uint8_t id[HEARTH_ID_LEN],
                                 struct hbuf *out);

/* store_get_many - call fn with the envelope of each of ids[0..n) that is held, in
 * transfer priority order; unknown ids are skipped. Holds 16 bytes per id while
 * ordering them. HERR_USAGE above 2^32 ids. */
HEARTH_MUST_CHECK herr store_get_many(struct store *s, const uint8_t (*ids)[HEARTH_ID_LEN],
                                      size_t n, store_event_fn fn, void *ctx);

/* A place in transfer priority order, for store_stream. Zero it to start from the
 * beginning; done is set once every event has been passed. The fields are the store's:
 * the kind's place in the order, and the created time and id of the last event passed. */
struct store_cursor {
    uint32_t cls;
    bool in_class, done;
    uint64_t created;
    uint8_t id[HEARTH_ID_LEN];
};

/* Called with each event's id and envelope (both borrowed, valid during the call).
 * HERR_OK to go on; any other value stops the walk and is returned. */
typedef herr (*store_stream_fn)(void *ctx, const uint8_t id[HEARTH_ID_LEN], const uint8_t *env,
                                size_t len);

/* store_stream - go on from *cur through the events that arrived no later than `upto`,
 * in transfer priority order (by kind as for store_export, then created time, then
 * id), calling fn with each, until max events or at least max_bytes envelope bytes have
 * been passed or none are left (then cur->done is set). *cur moves past every event
 * passed, so that the next call goes on from there: memory does not grow with the
 * replica, and an event that arrives between calls is passed only if its place is
 * still ahead (and its arrival is within upto). Each call is a few index seeks, not a
 * scan (the index events_kind). */
HEARTH_MUST_CHECK herr store_stream(struct store *s, struct store_cursor *cur, uint64_t upto,
                                    size_t max, size_t max_bytes, store_stream_fn fn, void *ctx);

/* Called with each event's id and local arrival number. */
typedef herr (*store_id_fn)(void *ctx, const uint8_t id[HEARTH_ID_LEN], uint64_t arrival);

/* store_ids_in_order - every event's id and arrival, in ascending id (byte) order, read
 * from the id index alone: for comparing with a sorted list without holding ours. */
HEARTH_MUST_CHECK herr store_ids_in_order(struct store *s, store_id_fn fn, void *ctx);

/* store_sort_ids - put ids[0..*n) in the order store_get_many passes them (transfer
 * priority order), in place, and drop those not held: *n becomes their number, and
 * store_get_many on any run of the result keeps that run's order. Holds 16 bytes per
 * id meanwhile. HERR_USAGE above 2^32 ids; on failure ids and *n are unchanged. */
HEARTH_MUST_CHECK herr store_sort_ids(struct store *s, uint8_t (*ids)[HEARTH_ID_LEN], size_t *n);

/* store_has - HERR_OK when held, HERR_NOT_FOUND when not. */
HEARTH_MUST_CHECK herr store_has(struct store *s, const uint8_t id[HEARTH_ID_LEN]);

/* Called with each event key: its id, created time and local arrival number. */
typedef herr (*store_key_fn)(void *ctx, const uint8_t id[HEARTH_ID_LEN], uint64_t created,
                             uint64_t arrival);

/* store_keys_since - every event that arrived after `arrival` (0 for all), in arrival
 * order. Arrival numbers grow with each accepted event and are local to this replica;
 * they let an index of the set catch up without a full scan. */
HEARTH_MUST_CHECK herr store_keys_since(struct store *s, uint64_t arrival, store_key_fn fn,
                                        void *ctx);

/* store_last_arrival - the arrival number of the newest event (0 when empty). */
HEARTH_MUST_CHECK herr store_last_arrival(struct store *s, uint64_t *arrival);

/* ---- backups (docs/BACKUP.md) ---- */

/* store_snapshot - write a consistent copy of the replica to path (which must not
 * exist, or be empty) with SQLite's VACUUM INTO: one read transaction, so that a
 * running node goes on writing meanwhile and the copy is the replica as of its start,
 * compacted. Works on a read-only store. HERR_IO / HERR_FULL. */
HEARTH_MUST_CHECK herr store_snapshot(struct store *s, const char *path);

/* store_integrity - SQLite's integrity_check: every page's structure, and every index
 * against its table (what store_check's quick check leaves out). Reads the whole file.
 * HERR_CORRUPT with the first problem in store_errmsg(). */
HEARTH_MUST_CHECK herr store_integrity(struct store *s);

/* store_verify_all - check a replica fully, as restore does before it trusts one:
 * SQLite's integrity_check, every event parses, its signature verifies and it belongs
 * to the replica's forum, and store_check's view check. Sets *events to the events
 * that verified. HERR_CORRUPT with the detail (the first bad event's id and why) in
 * store_errmsg(); HERR_STATE when the replica has no forum. Reads everything: about
 * the time of an import of the same events. */
HEARTH_MUST_CHECK herr store_verify_all(struct store *s, uint64_t *events);

/* Fork safety. A replica restored from a backup may lack events its own authors (the
 * node's author key, its browser members) signed after the backup was made; signing
 * again from it could reuse their sequence numbers: a fork. So restore marks it
 * (the local setting STORE_RESTORED_KEY, holding when the backup was made), and
 * store_publish refuses every event with HERR_STATE while the mark stands. The node
 * clears it when a sync session with a peer ends well (the session reconciles both
 * ways, so this replica then holds everything that peer held), and a person who knows
 * nothing was signed after the backup clears it by hand (hearth restore --confirm). */
#define STORE_RESTORED_KEY "restored"

/* store_restored - HERR_OK when the mark stands (*backup_ms, when not NULL, is when
 * the backup was made), HERR_NOT_FOUND when not. */
HEARTH_MUST_CHECK herr store_restored(struct store *s, uint64_t *backup_ms);

/* store_set_restored - set the mark. */
HEARTH_MUST_CHECK herr store_set_restored(struct store *s, uint64_t backup_ms);

/* store_clear_restored - clear the mark; *was says whether it stood. */
HEARTH_MUST_CHECK herr store_clear_restored(struct store *s, bool *was);

/* ---- small local state ---- */

/* store_meta_get / store_meta_set - a local key/value table (not replicated) for
 * settings such as muted warnings or cached sync state. get: HERR_NOT_FOUND; the
 * caller frees *value. */
HEARTH_MUST_CHECK herr store_meta_get(struct store *s, const char *key, char **value);
HEARTH_MUST_CHECK herr store_meta_set(struct store *s, const char *key, const char *value);

/* Called with each key and value (borrowed for the call); HERR_OK to go on. */
typedef herr (*store_meta_fn)(void *ctx, const char *key, const char *value);

/* store_meta_each - every local setting whose key starts with prefix, in key order. */
HEARTH_MUST_CHECK herr store_meta_each(struct store *s, const char *prefix, store_meta_fn fn,
                                       void *ctx);

/* store_meta_delete - remove a local setting. HERR_NOT_FOUND when absent. */
HEARTH_MUST_CHECK herr store_meta_delete(struct store *s, const char *key);

/* store_blob_get / store_blob_set - local bytes (not replicated) kept under a name,
 * larger than a setting: the node's saved recon index (node.h). Repair does not copy
 * them to the replica it makes, where events may be numbered anew. get: HERR_NOT_FOUND;
 * the caller frees *value. set replaces, in one transaction of its own unless one is
 * open (store_write_begin). */
HEARTH_MUST_CHECK herr store_blob_get(struct store *s, const char *key, uint8_t **value, size_t *n);
HEARTH_MUST_CHECK herr store_blob_set(struct store *s, const char *key, const uint8_t *value,
                                      size_t n);

#endif
