/* status.h - what a running node tells about itself, and its one text form.
 *
 * A node takes a snapshot of its numbers (struct node_stats) on its own thread every
 * status period and keeps it for other threads (node_stats() in node/node.h: the
 * metrics page reads it there), and writes it as JSON to the local setting
 * "node:status" of its replica (node_status_json), which `hearth status` in another
 * process reads back (node_status_parse). Both front-ends show one struct, so they
 * never disagree; the JSON's fields are in docs/CLI.md (`hearth status --json`) and
 * the metrics they become in docs/OPERATIONS.md ("Metrics").
 *
 * The JSON comes from our own store, but the reader still checks it: bounded depth,
 * bounded strings (a value longer than its field is refused, not cut), unknown fields
 * skipped (an older `hearth status` reads a newer node's status).
 */
#ifndef HEARTH_NODE_STATUS_H
#define HEARTH_NODE_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/hbuf.h"
#include "node/peers.h"
#include "store/store.h"

#define NODE_STATUS_PEERS 64 /* NODE_MAX_PEERS */

/* One peer, as the snapshot sees it. */
struct node_peer_stats {
    char key[2 * HEARTH_PK_LEN + 1];  /* hex */
    char endpoint[PEER_MAX_ENDPOINT]; /* "" when unknown (it connected to us) */
    char source[16];                  /* "static", "added", "discovered", "inbound" */
    char state[16];                   /* "syncing", "connected", "connecting", "waiting",
                                         "inbound" */
    uint64_t bytes_sent, bytes_recv;  /* this run: sessions, pushes, errors */
    uint64_t last_seen, last_sync;    /* wall-clock ms; 0: never */
    uint64_t failures;                /* failed contacts since the last good session */
};

/* What the replica check found. */
enum node_replica {
    NODE_REPLICA_UNCHECKED = 0, /* nothing checked it since the node started */
    NODE_REPLICA_OK = 1,
    NODE_REPLICA_DAMAGED = 2,
};

/* "unchecked", "ok", "damaged". */
const char *node_replica_name(enum node_replica r);

/* The node's numbers: how it runs, what it holds, what it has done since it started
 * (counters only grow while it runs), and every peer it knows. */
struct node_stats {
    uint64_t pid;
    char version[32];
    char listen[256];          /* the ZeroMQ endpoint it is bound to, port resolved */
    char access[16];           /* "open", "allowlist" */
    bool discovery;            /* LAN beacons on */
    uint64_t interval, fanout; /* anti-entropy: seconds, peers a round */
    uint64_t taken;            /* wall-clock ms of the snapshot; 0: none yet */
    uint64_t started;          /* wall-clock ms */
    uint64_t events;           /* held in the replica */
    uint64_t bytes_sent, bytes_recv;
    uint64_t sessions_ok, sessions_failed; /* ended, since start */
    uint64_t sessions_in, sessions_out;    /* under way now: started by peers, by us */
    uint64_t busy_refused;                 /* sessions refused: every slot taken */
    uint64_t pushes_sent, pushes_recv, pushes_new;
    uint64_t pushes_dropped, pushes_handed_to_sync, push_backlog; /* node/node.h says what */
    uint64_t inbound_evicted, push_in_session;                    /* each counts */
    uint64_t contacts_dropped;                                    /* by the test knob */
    bool disk_full;                   /* the store is full: no new events are taken */
    uint64_t full_refused;            /* syncs and pushes refused while the disk was full */
    struct store_ingest_tally ingest; /* events offered by peers: sessions and pushes */
    enum node_replica replica;
    uint64_t replica_checked; /* wall-clock ms of that check; 0: never */
    size_t npeers;
    struct node_peer_stats peers[NODE_STATUS_PEERS];
};

/* node_status_json - s as one JSON object (NUL-terminated in b). HERR_NOMEM. */
HEARTH_MUST_CHECK herr node_status_json(const struct node_stats *s, struct hbuf *b);

/* node_status_parse - read back what node_status_json wrote (text[0..n)) into *s.
 * HERR_MALFORMED when it is not such an object (too deep, cut short, a number
 * where a string belongs, a string longer than its field...). Peers beyond NODE_STATUS_PEERS are
 * dropped. */
HEARTH_MUST_CHECK herr node_status_parse(const char *text, size_t n, struct node_stats *s);

#endif
