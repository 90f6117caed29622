/* node.h - the running hearth node: peers, gossip, discovery, and one-shot sync.
 *
 * A node owns its transport (node/transport.h), the recon index of its replica, the
 * LAN discovery socket and the state of every peer it knows, and drives sync
 * sessions (sync/session.h) over the transport:
 *
 *   - eager push: an event that arrives in the replica — from a session, a push, or a
 *     `hearth post` run while the node serves (seen by polling the store's arrival
 *     number every 200 ms) — is pushed, as one PUSH message, to every connected peer
 *     but the one it came from. Each peer has a cursor in the replica's arrival order
 *     (its backlog lives in the store, not in memory): what its queue (4 frames on
 *     the listener) or a bandwidth cap does not take now waits and is tried again
 *     within 20 ms, so a burst is delivered, not lost. Pushes wait while a session
 *     is open on the channel they would take (a PUSH inside a session is a protocol
 *     error, docs/PROTOCOL.md 7.10). A backlog (what arrived from the peer itself in a
 *     session is no part of it) above NODE_PUSH_BACKLOG events, or
 *     one that has not moved for NODE_PUSH_STALL_MS, is handed to a session started
 *     at once when the peer is on a connection of ours, and otherwise dropped (the
 *     peer's own anti-entropy over its connection to us repairs it); either way it
 *     is counted (struct node_counters);
 *   - anti-entropy: every sync interval, jittered by +-25%, the node starts a session
 *     with `fanout` connected peers among those it is not already in a session
 *     with, those it chose longest ago first (ties at random: every connected peer
 *     in turn, node/rotation.h), and with a peer as soon as a connection to it comes
 *     up;
 *     the initiator of a session is always the side whose connection it is;
 *   - connections to static, added and discovered peers; a refused connection or a
 *     failed session is retried on a new socket after an exponential back-off (1 s
 *     doubling to 5 min, jittered) that the next good session resets; a connection
 *     that drops is re-established by ZeroMQ at most a sync interval apart (<= 30 s);
 *   - small frames (NODE_FRAME, 128 KiB) and a link timeout (config.h) longer than
 *     such a frame takes on a slow link: ZeroMQ counts only whole messages as signs
 *     of life;
 *   - bandwidth caps: token buckets for all peers together and for each peer; a
 *     session's next frame waits for tokens, so the priority order of a transfer
 *     (moderation first) holds under a cap;
 *   - access: in allow-list mode, a key taken off the list is not heard any more and
 *     a stranger's beacon earns no connection;
 *   - pushes received in one burst (up to NODE_PUSH_BATCH messages) are verified and
 *     committed in one transaction;
 *   - bounded state: NODE_MAX_PEERS peers (a stale discovered or inbound one makes
 *     room for a new one, and any of them for a static or added one; inbound peers
 *     of an earlier run are forgotten at start) and NODE_MAX_INBOUND sessions started
 *     by others, one per key. When all are taken, one that is half-open (its peer
 *     said hello and nothing more, and it is the peer's turn) for 250 ms gives its
 *     place to a new one, or failing that one that has waited for its peer for 2 s,
 *     or one where nothing moved for 20 s: the one idle longest, those from an
 *     address holding more than NODE_MAX_INBOUND_PER_ADDR first; a new session from
 *     an address that holds that many takes only the place of one of its own.
 *     Otherwise the new one is answered "try again later";
 *   - a full disk (store_space, looked at every second and whenever a write fails
 *     for want of space) is logged once at error with the data directory and the
 *     space free and needed; until space returns the node takes no new events: it
 *     refuses pushes and new sessions from peers (HERR_FULL, "this node's disk is
 *     full") and starts none, then logs that space returned and syncs at once;
 *   - peer state (address, last seen, last sync, failures) kept in the store's local
 *     settings under "peer:<key hex>", and the node's status (JSON: counters, peers)
 *     under "node:status" every 2 s, removed when the node stops, so that
 *     `hearth status` can show it.
 *
 * Single-threaded: one loop polls every socket until the next timer is due.
 */
#ifndef HEARTH_NODE_H
#define HEARTH_NODE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "node/config.h"
#include "node/log.h"
#include "node/status.h"
#include "store/store.h"
#include "sync/session.h"

#define NODE_MAX_PEERS 64
#define NODE_MAX_INBOUND 64
#define NODE_MAX_INBOUND_PER_ADDR 16 /* an address's share of a full session table */
#define NODE_PUSH_MAX 256            /* pushes taken whose source is remembered (a ring) */
#define NODE_PUSH_BACKLOG 4096       /* events waiting to be pushed to one peer, at most */
#define NODE_PUSH_STALL_MS 10000     /* a backlog that does not move for this long is given up */
#define NODE_PUSH_BATCH 64           /* messages taken per turn; their pushes commit together */
#define NODE_FRAME (1u << SYNC_MIN_FRAME_LOG2) /* the largest sync message we accept */
#define NODE_LINK_TIMEOUT_MS 45000             /* `hearth sync`: the link timeout of config.h */
#define NODE_SESSION_GRACE 5                   /* s: a session idle for link_timeout + this ends */

struct node;

/* node_sync_compat - apply HEARTH_SYNC_COMPAT from the environment to a session's
 * config: "legacy" offers none of the protocol's later additions (compressed events,
 * plan ONE), as a hearth from before them; "no-compress" only declines compression.
 * For interoperability tests and measurements (docs/OPERATIONS.md). */
void node_sync_compat(struct sync_config *cfg);

/* What a node has done since it started: `hearth status` shows them (the JSON under
 * meta "node:status", docs/OPERATIONS.md, uses the names in quotes), and the metrics
 * page, both from node_stats's snapshot (node/status.h). All count up from 0 at
 * start, but push_backlog, which is a level. */
struct node_counters {
    uint64_t bytes_sent, bytes_recv;       /* "bytes_sent", "bytes_received": every
                                            * message, sessions and pushes */
    uint64_t sessions_ok, sessions_failed; /* "sessions", "sessions_failed" */
    uint64_t pushes_sent;                  /* "pushes_sent": PUSH messages that left,
                                            * one per event and peer */
    uint64_t pushes_recv, pushes_new;      /* "pushes_received", "pushes_new": taken
                                            * from peers, and of those new to us */
    uint64_t pushes_dropped;               /* "pushes_dropped": events not pushed to a
                                            * peer they were due to (its backlog too
                                            * large or stuck while it is only on its
                                            * connection to us, its route gone, the
                                            * test knob); anti-entropy repairs them */
    uint64_t pushes_handed_to_sync;        /* "pushes_handed_to_sync": events not
                                            * pushed because a session with that peer
                                            * was started at once to carry them */
    uint64_t push_backlog;                 /* "push_backlog": events waiting to be
                                            * pushed, summed over peers, just now */
    uint64_t busy_refused;                 /* "busy_refused": sessions refused because
                                            * every inbound slot was taken */
    uint64_t inbound_evicted;              /* "inbound_evicted": idle inbound sessions
                                            * that gave their slot to a new one */
    uint64_t push_in_session;              /* "push_in_session": PUSH messages refused
                                            * because they came inside a session */
    uint64_t contacts_dropped;             /* "contacts_dropped": by the test knob
                                            * (config.test_drop_permille) */
    uint64_t full_refused;                 /* "full_refused": sessions and pushes
                                            * refused while the disk was full */
};

/* node_new - a node over an open store (borrowed; must outlive the node), with the
 * transport key from seed (copied) and the settings in cfg (copied). Binds the
 * listener (and the discovery socket when enabled). HERR_NET / HERR_USAGE / HERR_STATE
 * with *why. */
HEARTH_MUST_CHECK herr node_new(struct node **out, struct store *st, const struct config *cfg,
                                const uint8_t seed[HEARTH_SEED_LEN], const struct hlog *log,
                                const char **why);

void node_destroy(struct node **n);

/* node_endpoint - where the listener is bound (port resolved). Owned by n. */
const char *node_endpoint(const struct node *n);

/* node_run - serve until *stop becomes non-zero (set it from a signal handler), then
 * end sessions and save peer state. HERR_NET on a transport failure. */
HEARTH_MUST_CHECK herr node_run(struct node *n, volatile sig_atomic_t *stop);

/* ---- what the node tells: `hearth status --json` and the metrics page ---- */

#define NODE_STATUS_MS 2000

/* node_stats - copy the latest snapshot into *out. Safe from any thread (the web's):
 * the node's own thread writes it under a lock. */
void node_stats(struct node *n, struct node_stats *out);

/* node_note_replica - record what a check of the replica found (serve checks it when
 * it opens); shown from the next snapshot on. Call before node_run. */
void node_note_replica(struct node *n, enum node_replica r, uint64_t when_ms);

/* node_check_replica - read the rest of the replica at db_path (serve's check at
 * start read only the part it had time for) on a thread of its own, with a
 * connection of its own, while the node runs. The status says "unchecked" until it
 * ends, then "ok"; when it finds damage the node logs why, with the repair hint, and
 * node_run returns HERR_CORRUPT. Call before node_run; HERR_NOMEM, or the store's
 * error opening the file (logged). */
HEARTH_MUST_CHECK herr node_check_replica(struct node *n, const char *db_path);

/* The recon index saved in the replica: a replica of fewer events builds its index
 * in well under 0.1 s and saves none (a saved index is RECON_SAVED_LEN bytes, about
 * 6 MiB, whatever the count); a running node saves it again once this many events
 * have arrived since, and when it stops. */
#define NODE_INDEX_SAVE_MIN 65536
#define NODE_INDEX_SAVE_EVERY 65536

/* node_index_refresh - after a command added `added` events to the replica (an
 * import, a stick), bring the recon index saved in it up to date when that is at
 * least NODE_INDEX_SAVE_EVERY events, so that the next node to start on it need not
 * read them all (node/index.c; at ten million events that read takes about 15 s).
 * Failures are logged as warnings: the index is only a cache. */
void node_index_refresh(struct store *st, const struct hlog *log, uint64_t added);

/* Where a one-shot sync stands, by what has actually moved: events in EVENTS
 * messages received whole, and in those of ours that left this process; bytes at the
 * TCP level (received, and acknowledged by the peer's system), which move before a
 * whole frame has crossed a slow link. */
struct node_sync_progress {
    bool connected; /* the handshake is done */
    uint64_t events_recv, events_sent;
    uint64_t bytes_in, bytes_out;
};

/* Called now and then during a one-shot sync (every 250 ms at most), for a progress
 * line. */
typedef void (*node_progress_fn)(void *ctx, const struct node_sync_progress *p);

/* node_sync_once - connect to `address` (hearth://KEY@HOST:PORT), run one session as
 * initiator, and fill *stats. timeout_ms bounds each wait: for the connection and
 * its handshake (from the start), for a busy peer to take us (asked again after 0.5,
 * 1, 2... s), and, in the session, for anything to move — a message, or a byte
 * either way at the TCP level (a slow link that moves is not idle). A connection the
 * peer's system refuses (or an unreachable or unresolvable host) fails at once.
 * HERR_USAGE (bad address), HERR_NET (cannot connect: refused, unreachable, or no
 * answer within the timeout), HERR_DENIED (the peer refused us), HERR_INVALID (the
 * peer holds another key), HERR_TIMEOUT (nothing moved for timeout_ms), HERR_BUSY
 * (the peer had no session slot free until the timeout), and the session's errors
 * (HERR_WRONG_FORUM, HERR_PROTOCOL...) with *why. A link that drops and comes back
 * gets a new session (up to 5); *stats adds up all. */
HEARTH_MUST_CHECK herr node_sync_once(struct store *st, const uint8_t seed[HEARTH_SEED_LEN],
                                      const char *address, int timeout_ms, const struct hlog *log,
                                      node_progress_fn progress, void *progress_ctx,
                                      struct sync_stats *stats, char *why, size_t why_n);

#endif
