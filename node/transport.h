/* transport.h - ZeroMQ between hearth nodes: CURVE always, peers known by key.
 *
 * One transport owns a ZeroMQ context, a ZAP handler, at most one listening ROUTER
 * socket, and one DEALER socket per outgoing connection. Every message is one frame
 * of at most HEARTH_MAX_FRAME bytes; a multipart message or a larger frame from a
 * peer is dropped with a line in the log. A listener peer that sent a larger frame is
 * not heard again on that connection (a ROUTER cannot hang up on one peer); libzmq
 * itself hangs up on a frame above twice the cap before reading it. Handshakes that
 * fail on the listener (stalled, garbled, not CURVE) are logged, at most five lines
 * per 10 s with a count (every line a peer can cause at will is limited so). The listener queues at
 * most 4 frames for a peer that does not read (its sessions wait); outgoing connections queue
 * `hwm`. Every socket holds at most 8 frames a peer sent and we have not taken (libzmq
 * then stops reading that connection), so one peer pins at most 16 MiB there.
 *
 * Security: CURVE on every socket, with the node's transport key (an X25519 key
 * derived from node.key, distinct from the author's signing key). The ZAP handler is
 * bound (inproc://zeromq.zap.01) before any socket binds or connects; transport_new
 * fails if it cannot be, so no connection is ever accepted without it. It answers
 * each handshake by asking the allow callback (open mode: NULL, everyone with a valid
 * CURVE handshake). A peer is identified by the CURVE key that ZAP saw, read from
 * each message's "User-Id" property — never by its ZeroMQ routing id, which a peer
 * chooses freely.
 *
 * An outgoing connection names the key it expects: CURVE fails the handshake when the
 * server holds another key, and the connection's state says so.
 *
 * The transport does no I/O of its own between calls: transport_poll waits on all
 * sockets (and the ZAP handler) for up to a timeout and returns at most one message.
 * Single-threaded; not thread-safe.
 */
#ifndef HEARTH_TRANSPORT_H
#define HEARTH_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/crypto.h"
#include "base/herr.h"
#include "node/log.h"

#define HEARTH_DEFAULT_PORT 7437
#define HEARTH_DEFAULT_WEB_PORT 8080 /* the web pages of `hearth serve` (web/) */
#define TRANSPORT_MAX_CONNS 64
#define TRANSPORT_MAX_ROUTE 255
#define TRANSPORT_MAX_ADDRESS 64 /* a peer's IP address as text, with its NUL */

/* Decides whether the holder of `key`, connecting from `address`, may connect. */
typedef bool (*transport_allow_fn)(void *ctx, const uint8_t key[HEARTH_PK_LEN],
                                   const char *address);

struct transport_opts {
    const char *listen;       /* endpoint to bind ("tcp://0.0.0.0:7437"); NULL: none */
    transport_allow_fn allow; /* NULL: open (any CURVE peer) */
    void *allow_ctx;
    int handshake_ms;       /* give up a handshake after this; 0: 10000 */
    int heartbeat_ms;       /* ZMTP heartbeat interval; 0: 5000 */
    int link_timeout_ms;    /* a link that brings no whole message for this long is
                             * dropped (ZMTP heartbeat timeout and TTL); 0: 3 intervals */
    int hwm;                /* send high-water mark in messages (receive: at most 8); 0: 32 */
    int reconnect_max_ms;   /* longest wait between reconnection attempts; 0: 30000 */
    const struct hlog *log; /* may be NULL */
};

enum conn_state {
    CONN_FREE = 0,
    CONN_CONNECTING, /* TCP or handshake under way (or retrying) */
    CONN_READY,      /* handshake done */
    CONN_REFUSED,    /* the peer's ZAP handler said no */
    CONN_BAD_KEY,    /* the handshake failed: the peer does not hold the expected key */
};

struct transport;

/* transport_new - create the context and the ZAP handler, then bind the listener
 * when o->listen is set. HERR_NET with *why on a bind failure ("cannot listen on
 * tcp://0.0.0.0:7437: address in use", valid until the next call in this thread);
 * HERR_USAGE for an endpoint ZeroMQ cannot parse;
 * HERR_STATE when the ZAP handler cannot be bound. */
HEARTH_MUST_CHECK herr transport_new(struct transport **out, const uint8_t seed[HEARTH_SEED_LEN],
                                     const struct transport_opts *o, const char **why);

/* transport_destroy - close every socket (linger 0) and the context; NULL-safe. */
void transport_destroy(struct transport **t);

/* transport_key - this node's public transport key. */
const uint8_t *transport_key(const struct transport *t);

/* transport_endpoint - the endpoint the listener is bound to, with the port the
 * system chose for "tcp://...:0" ("" when not listening). Owned by t. */
const char *transport_endpoint(const struct transport *t);

/* transport_connect - open an outgoing connection to the node holding `key` at
 * `endpoint` ("tcp://host:port"). Sets *conn (>= 0). Returns at once; the handshake
 * proceeds in transport_poll. HERR_USAGE for a bad endpoint; HERR_FULL when
 * TRANSPORT_MAX_CONNS are open. */
HEARTH_MUST_CHECK herr transport_connect(struct transport *t, const uint8_t key[HEARTH_PK_LEN],
                                         const char *endpoint, int *conn);

/* transport_close - close an outgoing connection; its id may be reused. */
void transport_close(struct transport *t, int conn);

/* transport_conn_state - where an outgoing connection stands. */
enum conn_state transport_conn_state(const struct transport *t, int conn);

/* A received message. `conn` is the outgoing connection it came on, or -1 for the
 * listener, in which case `route` is where a reply goes and `address` the IP address
 * its TCP connection comes from ("" when libzmq cannot tell, and on an outgoing
 * connection). `peer` is the sender's authenticated CURVE key. `data` is owned by
 * the transport until the next poll. */
struct transport_msg {
    int conn;
    uint8_t route[TRANSPORT_MAX_ROUTE];
    size_t route_len;
    char address[TRANSPORT_MAX_ADDRESS];
    uint8_t peer[HEARTH_PK_LEN];
    const uint8_t *data;
    size_t len;
};

/* transport_poll - wait up to timeout_ms (0: do not wait, -1: forever) for one
 * message; serve ZAP requests and connection events meanwhile. *got tells whether m
 * holds a message. A frame that breaks the rules (multipart, no authenticated key)
 * is dropped and logged. HERR_NET on a socket failure. */
HEARTH_MUST_CHECK herr transport_poll(struct transport *t, int timeout_ms, struct transport_msg *m,
                                      bool *got);

/* transport_watch_fd - also wait on a plain file descriptor (e.g. the discovery
 * socket) in transport_poll; -1 to stop. After a poll, transport_fd_ready tells
 * whether it is readable. */
void transport_watch_fd(struct transport *t, int fd);
bool transport_fd_ready(const struct transport *t);

/* transport_send - send one frame to an outgoing connection (conn >= 0) or back to
 * a listener peer (conn -1 and route). Does not block: HERR_BUSY when the peer's
 * high-water mark is reached (try again after a poll), HERR_NET when the peer is gone,
 * HERR_TOO_LARGE above HEARTH_MAX_FRAME. */
HEARTH_MUST_CHECK herr transport_send(struct transport *t, int conn, const uint8_t *route,
                                      size_t route_len, const uint8_t *data, size_t len);

/* address_format - "hearth://<64 hex key>@host:port" for key and a tcp endpoint. */
void address_format(char *out, size_t n, const uint8_t key[HEARTH_PK_LEN], const char *host,
                    unsigned port);

/* transport_unacked - bytes sent on conn's TCP connection that the peer's system has
 * not yet acknowledged (the kernel's send queue, SIOCOUTQ), or -1 when the connection
 * is not up or the system cannot tell. What libzmq still queues is not counted. */
long transport_unacked(const struct transport *t, int conn);

/* transport_moved - what has crossed conn's current TCP connection at the TCP level:
 * bytes of ours the peer's system acknowledged (*acked) and bytes we received
 * (*received), whole messages or not (TCP_INFO) — so that progress on a slow link
 * shows before a whole frame has arrived. false when the connection is not up or
 * the system cannot tell. The counts start again with each new TCP connection. */
bool transport_moved(const struct transport *t, int conn, uint64_t *acked, uint64_t *received);

/* transport_conn_failures - TCP connection attempts on conn that failed (refused,
 * unreachable, unresolvable: libzmq retries them by itself) before one got through;
 * 0 once one has. The reason is not known here: ask the system again to learn it. */
unsigned transport_conn_failures(const struct transport *t, int conn);

/* transport_linger - what is still queued on conn may leave for up to ms after
 * transport_destroy, which then waits until it has left (or ms have passed). Without
 * it every socket closes with linger 0 and drops what it still holds. */
void transport_linger(struct transport *t, int conn, int ms);

/* address_parse - split "hearth://KEY@HOST:PORT" into key and a "tcp://HOST:PORT"
 * endpoint (of size n). HERR_USAGE with *why when malformed. */
HEARTH_MUST_CHECK herr address_parse(const char *addr, uint8_t key[HEARTH_PK_LEN], char *endpoint,
                                     size_t n, const char **why);

#endif
