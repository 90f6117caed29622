/* node_int.h - what the parts of the running node share, inside node/ only.
 *
 * node.h is the node's manual; this header is for its parts. struct node is one
 * object that every part works on, single-threaded (but stats and stats_mu, which the
 * web's thread reads through node_stats). Each part owns its fields and functions:
 *
 *   node.c        making the node, the loop and its timers, discovery, routing what
 *                 arrives (handle), the full disk (watch_space)
 *   peer_table.c  peers[]: the table of known peers, their connections, back-off,
 *                 records in the store, and the allow-list check
 *   session.c     struct sess: sessions on the wire, ours (anti-entropy) and the
 *                 taking, pumping and ending of any
 *   inbound.c     in[]: the slots of sessions peers start with us
 *   push.c        eager push: pushes taken (pushes, pushed_by) and sent (the peers'
 *                 cursors, push_ids, from_sessions)
 *   status.c      the snapshot (stats) and its JSON under "node:status"
 */
#ifndef HEARTH_NODE_INT_H
#define HEARTH_NODE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "node/bucket.h"
#include "node/discovery.h"
#include "node/node.h"
#include "node/peers.h"
#include "node/transport.h"
#include "store/event.h"
#include "sync/recon.h"

/* A session with the frame it could not send yet (the peer's queue was full). */
struct sess {
    struct sync_session *s;
    struct hbuf held;
    bool has_held;
    uint64_t last_ms;  /* the peer spoke, a frame of ours left, or our cap held one */
    uint64_t start_ms; /* when the session began */
    uint32_t heard;    /* messages the peer has sent in this session */
};

struct peer {
    bool used;
    struct peer_record rec;
    int conn;   /* outgoing connection, -1 when none */
    bool ready; /* conn was ready when last looked at */
    uint64_t next_attempt_ms, backoff_ms;
    struct sess out; /* the session we initiated on conn */
    struct bucket bucket;
    bool dirty;  /* rec changed since it was saved */
    bool stored; /* rec is (or was, until someone removed it) in the store */
    /* rec's endpoint and source as we last saved or loaded them: a stored record that
     * differs was changed by `hearth peers add` since. */
    char stored_endpoint[PEER_MAX_ENDPOINT], stored_source[16];
    uint64_t noted_ms; /* wall clock when this node first heard of it, this run */
    /* Where to push when we have no connection of our own: its last inbound route. */
    uint8_t route[TRANSPORT_MAX_ROUTE];
    size_t route_len;
    uint64_t bytes_sent, bytes_recv; /* this run */
    /* Eager push: every event of ours up to arrival push_from has been pushed to it
     * (or skipped, handed to a session, dropped and counted); push_wait_ms is when
     * its backlog last moved or began to wait (0: none). */
    uint64_t push_from, push_wait_ms;
    /* The anti-entropy round that last chose it (node->ae_rounds then; 0: none yet):
     * a round takes the peers chosen longest ago (node/rotation.h). */
    uint64_t ae_round;
};

struct inbound {
    bool used;
    uint8_t route[TRANSPORT_MAX_ROUTE];
    size_t route_len;
    char address[TRANSPORT_MAX_ADDRESS]; /* where its connection comes from */
    uint8_t key[HEARTH_PK_LEN];
    struct sess in;
};

_Static_assert(NODE_MAX_PEERS == NODE_STATUS_PEERS, "the status shows every peer");

/* Pushed events taken in one burst, committed together by push_flush. */
struct push_batch {
    struct hbuf bytes; /* the envelopes, end to end */
    size_t len[NODE_PUSH_BATCH];
    uint8_t from[NODE_PUSH_BATCH][HEARTH_PK_LEN];
    size_t n;
};

/* Where a pushed event came from: it need not go back there. */
struct push_source {
    uint8_t id[HEARTH_ID_LEN];
    uint8_t key[HEARTH_PK_LEN];
};

/* Events a session took from a peer: arrivals lo..hi. Push does not send them back. */
#define SESSION_SOURCES 64

struct session_source {
    uint64_t lo, hi;
    uint8_t key[HEARTH_PK_LEN];
};

struct node {
    struct store *st;
    bool restored; /* the replica was restored and has not synced since (store.h) */
    struct config cfg;
    const struct hlog *log;
    struct transport *tp;
    struct discovery *disc;
    struct recon_index *idx;
    uint64_t idx_saved; /* events in the copy of idx saved in the replica (index.c) */
    uint8_t forum[HEARTH_ID_LEN];
    struct peer peers[NODE_MAX_PEERS];
    struct inbound in[NODE_MAX_INBOUND];
    struct bucket global;
    uint64_t next_ae, next_beacon, next_status, next_reload, next_arrivals;
    uint64_t ae_rounds; /* anti-entropy rounds run, this run */
    uint64_t next_push; /* when to try the push backlogs again (UINT64_MAX: none) */
    uint64_t arrived;   /* the newest arrival number seen in the replica */
    uint64_t started;   /* wall clock */
    /* Lines a peer can cause at will: refused sessions, messages outside a session,
     * evictions, rejected pushes, failed sessions it started. By reason (peer and
     * why): pushes refused, push backlogs given up on (our own bookkeeping, which
     * must not use up the lines a hostile peer's pushes need), failed sessions. */
    struct hlog_limit busy_warn, stray_warn, evict_warn, full_push_warn, full_sync_warn;
    struct hlog_kinds push_warn, backlog_warn, fail_warn;
    bool held_back;      /* a session's frame waits for a queue or a cap */
    bool disk_full;      /* the store is full: no new events are taken (watch_space) */
    uint64_t next_space; /* when to look at the free space again */
    struct node_counters ctr;
    struct hbuf scratch;
    uint8_t push_ids[NODE_PUSH_MAX][HEARTH_ID_LEN];
    uint64_t push_arrivals[NODE_PUSH_MAX];                /* beside push_ids */
    struct push_source pushed_by[NODE_PUSH_MAX];          /* a ring of the latest pushes taken */
    struct session_source from_sessions[SESSION_SOURCES]; /* a ring */
    size_t from_sessions_next;
    struct push_batch pushes;
    size_t pushed_next;
    enum node_replica replica;
    uint64_t replica_checked;
    struct node_check *check; /* the replica check under way (check.c), or NULL */
    pthread_mutex_t stats_mu; /* guards stats, which node_stats reads from other threads */
    struct node_stats stats;
};

/* since - how long ago `then` was at `now`; 0 when then is later (it was read from the
 * clock after now was). */
static inline uint64_t since(uint64_t now, uint64_t then)
{
    return now > then ? now - then : 0;
}

/* jitter - ms scaled by a random factor in [0.75, 1.25). */
static inline uint64_t jitter(uint64_t ms)
{
    return ms * (750 + random_uniform(500)) / 1000;
}

/* short_key - the first 12 hex digits of key, for log lines. */
static inline void short_key(char out[13], const uint8_t key[HEARTH_PK_LEN])
{
    char hex[2 * HEARTH_PK_LEN + 1];
    hex_encode(hex, key, HEARTH_PK_LEN);
    memcpy(out, hex, 12);
    out[12] = 0;
}

/* test_dropped - the test knob: true when this contact is to fail. */
static inline bool test_dropped(struct node *n)
{
    if (!n->cfg.test_drop_permille || random_uniform(1000) >= n->cfg.test_drop_permille)
        return false;
    n->ctr.contacts_dropped++;
    return true;
}

/* warn_kind - the kind of a line about a peer's doing: the peer and the reason. */
static inline uint64_t warn_kind(const uint8_t key[HEARTH_PK_LEN], const char *why)
{
    return hlog_kind(why, strlen(why), hlog_kind(key, HEARTH_PK_LEN, 0));
}

/* ---- node.c ---- */

/* node_refuse_full - count (and now and then log) what a peer offered while the disk
 * is full: a push, or a session. */
void node_refuse_full(struct node *n, const uint8_t key[HEARTH_PK_LEN], bool push);

/* node_source_keys - the replica's keys since `arrival`, for recon_index_catch_up. */
herr node_source_keys(void *src, uint64_t arrival, recon_keys_fn fn, void *ctx);

/* ---- check.c ---- */

/* node_check_tend - when the replica check has ended, note and log what it found and
 * forget it: HERR_CORRUPT when it found damage (the node must stop), else HERR_OK. */
herr node_check_tend(struct node *n);

/* node_check_stop - interrupt a check under way and wait for its thread. */
void node_check_stop(struct node *n);

/* ---- index.c ---- */

#define NODE_INDEX_KEY "recon-index" /* its name among the replica's local bytes */

/* node_index_open - the replica's recon index: the copy saved in it, caught up with
 * the events that arrived since, when that copy still fits the replica (index.c says
 * how that is checked); else, with a warning when there was a copy, built from every
 * event. *saved is the count of the saved copy used (0: none). HERR_NOMEM, or the
 * store's error reading the events. */
herr node_index_open(struct store *st, const struct hlog *log, struct recon_index **out,
                     uint64_t *saved);

/* node_index_save - save x in the replica when it holds at least NODE_INDEX_SAVE_MIN
 * events and another count than *saved, which becomes its count (also when saving
 * fails: that is logged, and tried again later). */
void node_index_save(struct store *st, const struct hlog *log, struct recon_index *x,
                     uint64_t *saved);

/* ---- peer_table.c ---- */

/* peer_find / peer_by_conn - the peer with that key, or on our connection conn; NULL
 * when none. */
struct peer *peer_find(struct node *n, const uint8_t key[HEARTH_PK_LEN]);
struct peer *peer_by_conn(struct node *n, int conn);

/* peer_configured - p is a peer the operator named (static or added). */
bool peer_configured(const struct peer *p);

/* peer_note - the peer with key, added when new and there is room (make_room: a stale
 * discovered or inbound peer may be forgotten for it; for a static or added peer, any
 * discovered or inbound one not in use); an endpoint given replaces another one. Never
 * ourselves. NULL when the table is full. */
struct peer *peer_note(struct node *n, const uint8_t key[HEARTH_PK_LEN], const char *endpoint,
                       const char *source, bool make_room);

/* peer_disconnect - end p's session of ours and close our connection to it. */
void peer_disconnect(struct node *n, struct peer *p);

/* peer_failed - a contact with p failed (why, for the log): counted, disconnected, and
 * tried again after its back-off. */
void peer_failed(struct node *n, struct peer *p, const char *why);

/* peer_seen - p just spoke. */
void peer_seen(struct peer *p);

/* peer_save - write p's record to the store if it changed (and drop p if someone
 * removed it meanwhile). */
void peer_save(struct node *n, struct peer *p);

/* peer_reload - pick up static peers and what `hearth peers` changed. */
void peer_reload(struct node *n);

/* node_allows - key may talk to us: the node is open, or key is on the allow-list. */
bool node_allows(struct node *n, const uint8_t key[HEARTH_PK_LEN]);

/* ---- session.c ---- */

/* sess_begin - a new session in x (initiator: ours, its HELLO queued). The store's
 * error on failure. */
herr sess_begin(struct node *n, struct sess *x, bool initiator);

/* sess_end - free x's session and its held frame. */
void sess_end(struct sess *x);

/* sess_pump - send what x has, as far as caps and queues allow, on conn (ours) or to
 * route (p: the peer, NULL when unknown). HERR_NET when the peer is gone. */
herr sess_pump(struct node *n, struct sess *x, int conn, const uint8_t *route, size_t route_len,
               struct peer *p);

/* sess_receive - hand m to session s with the peer `key`. */
herr sess_receive(struct node *n, struct sync_session *s, const uint8_t *key,
                  const struct transport_msg *m);

/* sess_handle_outbound - m came on our connection: to our session with that peer. */
void sess_handle_outbound(struct node *n, const struct transport_msg *m);

/* sess_start - begin anti-entropy with p, unless the disk is full or the test knob
 * says this contact fails. */
void sess_start(struct node *n, struct peer *p);

/* sess_finished - log and count the end of session x with key, then free it; returns
 * how it ended. */
herr sess_finished(struct node *n, struct sess *x, const uint8_t key[HEARTH_PK_LEN],
                   bool initiator);

/* sess_warn_failed - the log line for a failed session with key (limited for the
 * sessions others start). */
void sess_warn_failed(struct node *n, const uint8_t key[HEARTH_PK_LEN], bool initiator,
                      const char *what);

/* sess_tend - pump every session, and end those that are done or idle. */
void sess_tend(struct node *n, uint64_t now);

/* node_send_error / node_reply_error - an ERROR outside any session to a listener
 * peer's route, or to m's sender. */
void node_send_error(struct node *n, const uint8_t *route, size_t route_len, herr code,
                     const char *text);
void node_reply_error(struct node *n, const struct transport_msg *m, herr code, const char *text);

/* ---- inbound.c ---- */

/* inbound_handle - m came to our listener (not a push): to the session its sender
 * started, or a new one for a HELLO. */
void inbound_handle(struct node *n, const struct transport_msg *m);

/* inbound_free - end b's session and free its slot. */
void inbound_free(struct inbound *b);

/* inbound_count - slots in use. */
unsigned inbound_count(const struct node *n);

/* ---- push.c ---- */

/* push_receive - a PUSH from a peer, outside a session: decoded and queued for
 * push_flush. */
void push_receive(struct node *n, const struct transport_msg *m);

/* push_flush - verify and commit the queued pushes (one transaction). */
void push_flush(struct node *n);

/* push_inside_session - m is a PUSH that came inside a session with its sender: refused,
 * and the session ended. false when m is an ordinary push. */
bool push_inside_session(struct node *n, const struct transport_msg *m);

/* push_note_session - a session with key took arrivals (before, after]: not pushed back
 * to it. */
void push_note_session(struct node *n, const uint8_t key[HEARTH_PK_LEN], uint64_t before,
                       uint64_t after);

/* push_arrivals - note what arrived since we last looked (look) and push every peer's
 * backlog as far as its queue takes it. */
void push_arrivals(struct node *n, uint64_t now, bool look);

/* ---- status.c ---- */

/* node_write_status - a new snapshot, written to "node:status"; peer records saved. */
void node_write_status(struct node *n);

#endif
