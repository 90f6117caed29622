#include "node/transport.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <zmq.h>

#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "base/limits.h"
#include "node/clock.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_DOMAIN "hearth"
#define MAX_ENDPOINT 256
/* What CURVE adds to a frame ("\x07MESSAGE", nonce, flags, MAC): ZMQ_MAXMSGSIZE
 * counts the frame as it crosses the wire, not the message we take out of it. */
#define CURVE_OVERHEAD 33
/* Frames up to twice the cap reach take(), which logs them with the sender's key and
 * stops hearing its connection; libzmq hangs up on anything larger, before it has
 * been read, and says no more than that the connection closed. */
#define OVERSIZE_SEEN (2 * HEARTH_MAX_FRAME)
/* Frames queued for one listener peer: a peer that reads nothing pins at most this
 * many of our frames in memory (its own sessions stop producing when it is full). */
#define LISTENER_SNDHWM 4
/* Frames a peer may have queued for us on any socket, listener or outgoing (we drain
 * them at once; a full queue only makes libzmq stop reading): with frames of up to
 * OVERSIZE_SEEN, what one connection can make libzmq hold, 16 MiB. */
#define PEER_RCVHWM 8
#define QUARANTINE 64             /* listener connections we no longer hear */
#define ROUTE_WARN_EVERY_MS 10000 /* the window of the limits on log lines */

struct conn {
    enum conn_state state;
    void *sock;
    void *mon;
    bool tcp_up;       /* connected at TCP level, handshake not yet done */
    bool ever_up;      /* has been connected at TCP level since it was opened */
    unsigned failures; /* TCP connection attempts that failed before ever_up */
    int fd;            /* libzmq's TCP socket (from the monitor), -1: none */
    uint8_t key[HEARTH_PK_LEN];
};

struct route {
    uint8_t id[TRANSPORT_MAX_ROUTE];
    size_t len;
};

struct transport {
    void *ctx;
    void *zap;
    void *listener;
    void *lmon; /* the listener's monitor: handshakes that fail */
    /* Lines a peer can cause at will: failed handshakes, messages on a connection we
     * stopped hearing, refusals, malformed messages (multipart, oversize, no key). */
    struct hlog_limit handshake, quarantined, refused, malformed;
    struct route quarantine[QUARANTINE]; /* a ring of connections we stopped hearing */
    unsigned quarantine_next;
    uint8_t pk[HEARTH_PK_LEN];
    uint8_t sk[32];
    struct conn conns[TRANSPORT_MAX_CONNS];
    struct transport_opts o;
    char endpoint[MAX_ENDPOINT];
    zmq_msg_t msg;
    bool msg_live;
    unsigned next_mon;
    unsigned rr; /* round-robin start among sockets, for fairness */
    int fd;      /* an extra descriptor to wait on, or -1 */
    bool fd_ready;
};

static void key_hex(char out[2 * HEARTH_PK_LEN + 1], const uint8_t key[HEARTH_PK_LEN])
{
    hex_encode(out, key, HEARTH_PK_LEN);
}

static int setint(void *s, int opt, int v)
{
    return zmq_setsockopt(s, opt, &v, sizeof v);
}

/* common_opts - what every hearth socket has: no lingering, bounded frames and
 * queues, heartbeats that notice a dead link, and a bounded handshake. */
static int common_opts(struct transport *t, void *s)
{
    int64_t max = OVERSIZE_SEEN + CURVE_OVERHEAD;
    int rc = 0;
    rc |= setint(s, ZMQ_LINGER, 0);
    rc |= zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max, sizeof max);
    rc |= setint(s, ZMQ_SNDHWM, t->o.hwm);
    rc |= setint(s, ZMQ_RCVHWM, PEER_RCVHWM < t->o.hwm ? PEER_RCVHWM : t->o.hwm);
    rc |= setint(s, ZMQ_HEARTBEAT_IVL, t->o.heartbeat_ms);
    rc |= setint(s, ZMQ_HEARTBEAT_TIMEOUT, t->o.link_timeout_ms);
    rc |= setint(s, ZMQ_HEARTBEAT_TTL, t->o.link_timeout_ms);
    rc |= setint(s, ZMQ_HANDSHAKE_IVL, t->o.handshake_ms);
    rc |= zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, t->pk, HEARTH_PK_LEN);
    rc |= zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, t->sk, 32);
    return rc;
}

static herr bind_zap(struct transport *t)
{
    t->zap = zmq_socket(t->ctx, ZMQ_REP);
    if (!t->zap)
        return HERR_STATE;
    setint(t->zap, ZMQ_LINGER, 0);
    if (zmq_bind(t->zap, ZAP_ENDPOINT) != 0)
        return HERR_STATE;
    return HERR_OK;
}

/* open_monitor - watch `events` of sock through a PAIR socket, set in *mon. libzmq sends
 * events from its I/O thread with a blocking send: the reader's queue has no limit
 * (a zero receive high-water mark makes the inproc pipe unbounded), so that a burst
 * of events we have not read yet, a flood of failed handshakes on the listener say,
 * cannot hold that thread and with it every connection. stop_monitor ends it. */
static herr open_monitor(struct transport *t, void *sock, int events, void **mon)
{
    char name[64];
    snprintf(name, sizeof name, "inproc://hearth-mon-%u", t->next_mon++);
    if (zmq_socket_monitor(sock, name, events) != 0)
        return HERR_NET;
    *mon = zmq_socket(t->ctx, ZMQ_PAIR);
    if (!*mon)
        return HERR_NET;
    setint(*mon, ZMQ_LINGER, 0);
    if (setint(*mon, ZMQ_RCVHWM, 0) != 0)
        return HERR_NET;
    return zmq_connect(*mon, name) == 0 ? HERR_OK : HERR_NET;
}

/* bind_failure - "cannot listen on ENDPOINT: PROBLEM", the endpoint first, so that an
 * operator with several addresses sees which one failed. The text is per thread and
 * valid until the next call. */
static const char *bind_failure(const char *endpoint, int err)
{
    static __thread char msg[512];
    const char *problem;
    switch (err) {
    case EADDRINUSE:
        problem = "address in use";
        break;
    case ENODEV:
        problem = "no such interface";
        break;
    case EADDRNOTAVAIL:
        problem = "no such address on this machine";
        break;
    case EACCES:
        problem = "permission denied";
        break;
    case EINVAL:
        problem = "not a valid endpoint (give tcp://HOST:PORT)";
        break;
    case EPROTONOSUPPORT:
        problem = "unsupported transport (give tcp://HOST:PORT)";
        break;
    default:
        problem = zmq_strerror(err);
        break;
    }
    snprintf(msg, sizeof msg, "cannot listen on %s: %s", endpoint, problem);
    return msg;
}

static herr bind_listener(struct transport *t, const char **why)
{
    t->listener = zmq_socket(t->ctx, ZMQ_ROUTER);
    if (!t->listener || common_opts(t, t->listener) != 0) {
        *why = "cannot create the listening socket";
        return HERR_NET;
    }
    int rc = setint(t->listener, ZMQ_CURVE_SERVER, 1);
    rc |= zmq_setsockopt(t->listener, ZMQ_ZAP_DOMAIN, ZAP_DOMAIN, strlen(ZAP_DOMAIN));
    /* Replies to a vanished peer fail loudly instead of vanishing. */
    rc |= setint(t->listener, ZMQ_ROUTER_MANDATORY, 1);
    rc |= setint(t->listener, ZMQ_SNDHWM, LISTENER_SNDHWM < t->o.hwm ? LISTENER_SNDHWM : t->o.hwm);
    if (rc != 0 ||
        open_monitor(t, t->listener,
                     ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL,
                     &t->lmon) != HERR_OK) {
        *why = "cannot configure the listening socket";
        return HERR_NET;
    }
    if (zmq_bind(t->listener, t->o.listen) != 0) {
        int err = zmq_errno();
        *why = bind_failure(t->o.listen, err);
        return err == EINVAL || err == EPROTONOSUPPORT ? HERR_USAGE : HERR_NET;
    }
    size_t n = sizeof t->endpoint;
    if (zmq_getsockopt(t->listener, ZMQ_LAST_ENDPOINT, t->endpoint, &n) != 0)
        t->endpoint[0] = 0;
    return HERR_OK;
}

herr transport_new(struct transport **out, const uint8_t seed[HEARTH_SEED_LEN],
                   const struct transport_opts *o, const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    *why = "";
    *out = NULL;
    struct transport *t = calloc(1, sizeof *t);
    if (!t)
        return HERR_NOMEM;
    t->o = *o;
    t->fd = -1;
    t->handshake = (struct hlog_limit){.every_ms = ROUTE_WARN_EVERY_MS, .burst = 5};
    t->quarantined = (struct hlog_limit){.every_ms = ROUTE_WARN_EVERY_MS, .burst = 1};
    t->refused = (struct hlog_limit){.every_ms = ROUTE_WARN_EVERY_MS, .burst = 5};
    t->malformed = (struct hlog_limit){.every_ms = ROUTE_WARN_EVERY_MS, .burst = 20};
    if (!t->o.handshake_ms)
        t->o.handshake_ms = 10000;
    if (!t->o.heartbeat_ms)
        t->o.heartbeat_ms = 5000;
    /* ZeroMQ counts only whole messages as signs of life, so a slow link needs a
     * timeout longer than one frame takes to cross it. */
    if (!t->o.link_timeout_ms)
        t->o.link_timeout_ms = 3 * t->o.heartbeat_ms;
    if (!t->o.hwm)
        t->o.hwm = 32;
    if (!t->o.reconnect_max_ms)
        t->o.reconnect_max_ms = 30000;
    nodekey_from_seed(t->pk, t->sk, seed);
    /* libzmq numbers a ROUTER's anonymous peers from two rand() calls, and aborts
     * when the number it picks is a routing id a peer has claimed (add_out_pipe). An
     * unseeded C library makes those numbers anyone's guess to make: seed it with
     * secret randomness first (docs/SECURITY.md, section 4). */
    unsigned seed_rand;
    random_bytes(&seed_rand, sizeof seed_rand);
    srand(seed_rand);
    herr e = HERR_NOMEM;
    t->ctx = zmq_ctx_new();
    if (!t->ctx)
        goto fail;
    /* ZAP first: no socket binds or connects before the handler is in place. */
    e = bind_zap(t);
    if (e) {
        *why = "cannot bind the ZAP authentication handler";
        goto fail;
    }
    if (t->o.listen) {
        e = bind_listener(t, why);
        if (e)
            goto fail;
    }
    *out = t;
    return HERR_OK;
fail:
    transport_destroy(&t);
    return e;
}

/* stop_monitor - end sock's monitor before its reader mon is closed: libzmq sends each
 * event from its I/O thread with a blocking send, so an event for a reader already
 * closed holds that thread for good, and with it every connection of the context
 * (libzmq issue 3575). A serving node refused once then never reached a peer again. */
static void stop_monitor(void *sock, void *mon)
{
    if (sock) /* none started: nothing done */
        zmq_socket_monitor(sock, NULL, 0);
    if (mon)
        zmq_close(mon);
}

static void conn_release(struct conn *c)
{
    stop_monitor(c->sock, c->mon);
    if (c->sock)
        zmq_close(c->sock);
    memset(c, 0, sizeof *c);
}

void transport_destroy(struct transport **tp)
{
    struct transport *t = *tp;
    if (!t)
        return;
    if (t->msg_live)
        zmq_msg_close(&t->msg);
    for (int i = 0; i < TRANSPORT_MAX_CONNS; i++)
        conn_release(&t->conns[i]);
    stop_monitor(t->listener, t->lmon);
    if (t->listener)
        zmq_close(t->listener);
    if (t->zap)
        zmq_close(t->zap);
    if (t->ctx)
        zmq_ctx_term(t->ctx);
    secret_wipe(t->sk, sizeof t->sk);
    free(t);
    *tp = NULL;
}

long transport_unacked(const struct transport *t, int conn)
{
    int q;
    if (conn < 0 || conn >= TRANSPORT_MAX_CONNS || t->conns[conn].state != CONN_READY ||
        t->conns[conn].fd < 0 || ioctl(t->conns[conn].fd, SIOCOUTQ, &q) != 0)
        return -1;
    return q;
}

bool transport_moved(const struct transport *t, int conn, uint64_t *acked, uint64_t *received)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    memset(&ti, 0, sizeof ti);
    if (conn < 0 || conn >= TRANSPORT_MAX_CONNS || t->conns[conn].fd < 0 ||
        getsockopt(t->conns[conn].fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 ||
        len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof ti.tcpi_bytes_received)
        return false;
    *acked = ti.tcpi_bytes_acked;
    *received = ti.tcpi_bytes_received;
    return true;
}

unsigned transport_conn_failures(const struct transport *t, int conn)
{
    return conn >= 0 && conn < TRANSPORT_MAX_CONNS ? t->conns[conn].failures : 0;
}

void transport_linger(struct transport *t, int conn, int ms)
{
    if (conn >= 0 && conn < TRANSPORT_MAX_CONNS && t->conns[conn].sock)
        (void)setint(t->conns[conn].sock, ZMQ_LINGER, ms);
}

const uint8_t *transport_key(const struct transport *t)
{
    return t->pk;
}

const char *transport_endpoint(const struct transport *t)
{
    return t->endpoint;
}

herr transport_connect(struct transport *t, const uint8_t key[HEARTH_PK_LEN], const char *endpoint,
                       int *conn)
{
    int i = 0;
    while (i < TRANSPORT_MAX_CONNS && t->conns[i].state != CONN_FREE)
        i++;
    if (i == TRANSPORT_MAX_CONNS)
        return HERR_FULL;
    struct conn *c = &t->conns[i];
    c->state = CONN_CONNECTING;
    c->fd = -1;
    memcpy(c->key, key, HEARTH_PK_LEN);
    herr e = HERR_NET;
    c->sock = zmq_socket(t->ctx, ZMQ_DEALER);
    if (!c->sock || common_opts(t, c->sock) != 0)
        goto fail;
    int rc = zmq_setsockopt(c->sock, ZMQ_CURVE_SERVERKEY, key, HEARTH_PK_LEN);
    /* Queue nothing for a connection that is not up; back off between retries. */
    rc |= setint(c->sock, ZMQ_IMMEDIATE, 1);
    rc |= setint(c->sock, ZMQ_RECONNECT_IVL, 500);
    rc |= setint(c->sock, ZMQ_RECONNECT_IVL_MAX, t->o.reconnect_max_ms);
    if (rc != 0)
        goto fail;
    e = open_monitor(t, c->sock,
                     ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_DISCONNECTED |
                         ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                         ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL,
                     &c->mon);
    if (e)
        goto fail;
    if (zmq_connect(c->sock, endpoint) != 0) {
        e = HERR_USAGE;
        goto fail;
    }
    *conn = i;
    return HERR_OK;
fail:
    conn_release(c);
    return e;
}

void transport_close(struct transport *t, int conn)
{
    if (conn >= 0 && conn < TRANSPORT_MAX_CONNS)
        conn_release(&t->conns[conn]);
}

enum conn_state transport_conn_state(const struct transport *t, int conn)
{
    if (conn < 0 || conn >= TRANSPORT_MAX_CONNS)
        return CONN_FREE;
    return t->conns[conn].state;
}

/* recv_frames - receive a whole message into parts (at most max, the rest
 * discarded); returns the number of parts, or -1. */
static int recv_frames(void *s, zmq_msg_t *parts, int max)
{
    int n = 0;
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, s, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            for (int i = 0; i < n && i < max; i++)
                zmq_msg_close(&parts[i]);
            return -1;
        }
        int more = zmq_msg_more(&m);
        if (n < max)
            parts[n] = m;
        else
            zmq_msg_close(&m);
        n++;
        if (!more)
            return n;
    }
}

static void close_parts(zmq_msg_t *parts, int n, int max)
{
    for (int i = 0; i < n && i < max; i++)
        zmq_msg_close(&parts[i]);
}

/* ZAP (RFC 27): version, request id, domain, address, identity, mechanism, key. */
static void serve_zap(struct transport *t)
{
    zmq_msg_t p[8];
    int n = recv_frames(t->zap, p, 8);
    if (n < 0)
        return;
    const char *status = "400", *text = "not allowed";
    char user[2 * HEARTH_PK_LEN + 1] = "";
    char address[64] = "";
    if (n == 7 && zmq_msg_size(&p[5]) == 5 && memcmp(zmq_msg_data(&p[5]), "CURVE", 5) == 0 &&
        zmq_msg_size(&p[6]) == HEARTH_PK_LEN) {
        size_t an =
            zmq_msg_size(&p[3]) < sizeof address - 1 ? zmq_msg_size(&p[3]) : sizeof address - 1;
        memcpy(address, zmq_msg_data(&p[3]), an);
        address[an] = 0;
        const uint8_t *key = zmq_msg_data(&p[6]);
        key_hex(user, key);
        if (!t->o.allow || t->o.allow(t->o.allow_ctx, key, address)) {
            status = "200";
            text = "OK";
        } else {
            uint64_t more;
            if (hlog_due(&t->refused, mono_ms(), &more))
                hlog(t->o.log, HLOG_WARN,
                     "transport: refused node %.12s from %s (not allowed; %" PRIu64
                     " unlogged before)",
                     user, address, more);
            user[0] = 0;
        }
    }
    const void *reqid = n >= 2 ? zmq_msg_data(&p[1]) : "";
    size_t reqid_len = n >= 2 ? zmq_msg_size(&p[1]) : 0;
    zmq_send(t->zap, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(t->zap, reqid, reqid_len, ZMQ_SNDMORE);
    zmq_send(t->zap, status, 3, ZMQ_SNDMORE);
    zmq_send(t->zap, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(t->zap, user, strlen(user), ZMQ_SNDMORE);
    zmq_send(t->zap, "", 0, 0);
    close_parts(p, n, 8);
}

/* monitor_event - take one event from a monitor socket: false when there was none
 * (or it was not an event); else *ev and *value (an errno, a protocol error code...). */
static bool monitor_event(void *mon, uint16_t *ev, uint32_t *value)
{
    zmq_msg_t p[2];
    int n = recv_frames(mon, p, 2);
    if (n < 0)
        return false;
    bool ok = n == 2 && zmq_msg_size(&p[0]) >= 6;
    if (ok) {
        memcpy(ev, zmq_msg_data(&p[0]), 2);
        memcpy(value, (const uint8_t *)zmq_msg_data(&p[0]) + 2, 4);
    }
    close_parts(p, n, 2);
    return ok;
}

static void serve_monitor(struct transport *t, struct conn *c)
{
    uint16_t ev;
    uint32_t value = 0;
    if (monitor_event(c->mon, &ev, &value)) {
        char hex[2 * HEARTH_PK_LEN + 1];
        key_hex(hex, c->key);
        switch (ev) {
        case ZMQ_EVENT_CONNECTED:
            c->tcp_up = c->ever_up = true;
            c->fd = (int)value;
            break;
        case ZMQ_EVENT_CONNECT_RETRIED:
            /* Also after a connection that dropped: only attempts that never got
             * through count as failures to connect. */
            if (!c->ever_up)
                c->failures++;
            break;
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
            c->state = CONN_READY;
            c->tcp_up = false;
            break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
            c->state = CONN_REFUSED;
            hlog(t->o.log, HLOG_DEBUG, "transport: node %.12s refused our connection", hex);
            break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
            c->state = CONN_BAD_KEY;
            break;
        case ZMQ_EVENT_DISCONNECTED:
            /* A TCP connection that closes before the CURVE handshake completes is a
             * server that could not open our HELLO: it holds another key. */
            if (c->tcp_up && c->state == CONN_CONNECTING) {
                c->state = CONN_BAD_KEY;
                hlog(t->o.log, HLOG_DEBUG,
                     "transport: handshake with %.12s did not complete: wrong key?", hex);
            } else if (c->state == CONN_READY) {
                c->state = CONN_CONNECTING;
            }
            c->tcp_up = false;
            c->fd = -1;
            break;
        }
    }
}

static bool quarantined(const struct transport *t, zmq_msg_t *route)
{
    for (unsigned i = 0; i < QUARANTINE; i++) {
        const struct route *r = &t->quarantine[i];
        if (r->len && r->len == zmq_msg_size(route) &&
            memcmp(r->id, zmq_msg_data(route), r->len) == 0)
            return true;
    }
    return false;
}

/* drop - close a message's parts, with a line (limited by l) saying why. */
static void drop(struct transport *t, zmq_msg_t *p, int n, struct hlog_limit *l,
                 enum hlog_level level, const char *what)
{
    uint64_t more;
    if (hlog_due(l, mono_ms(), &more))
        hlog(t->o.log, level, "transport: %s (%" PRIu64 " unlogged before)", what, more);
    close_parts(p, n, 3);
}

/* take - receive one message from s; on success *got and m filled. Messages that
 * break the rules are dropped here, with a line in the log. */
static void take(struct transport *t, void *s, int conn, struct transport_msg *m, bool *got)
{
    zmq_msg_t p[3];
    int want = conn < 0 ? 2 : 1; /* ROUTER prepends the routing id */
    int n = recv_frames(s, p, 3);
    if (n < 0)
        return;
    char what[160];
    if (conn < 0 && quarantined(t, &p[0])) {
        drop(t, p, n, &t->quarantined, HLOG_DEBUG,
             "ignored a message on a connection we stopped hearing");
        return;
    }
    if (n != want) {
        snprintf(what, sizeof what, "dropped a %d-part message (hearth sends one)", n - (want - 1));
        drop(t, p, n, &t->malformed, HLOG_WARN, what);
        return;
    }
    zmq_msg_t *body = &p[want - 1];
    const char *user = zmq_msg_gets(body, "User-Id");
    uint8_t key[HEARTH_PK_LEN];
    if (conn < 0) {
        if (!user || hex_decode(key, HEARTH_PK_LEN, user) != HERR_OK ||
            zmq_msg_size(&p[0]) > TRANSPORT_MAX_ROUTE) {
            drop(t, p, n, &t->malformed, HLOG_WARN, "dropped a message with no authenticated key");
            return;
        }
    } else {
        /* On our own connection the server proved the key we asked for. */
        memcpy(key, t->conns[conn].key, HEARTH_PK_LEN);
    }
    if (zmq_msg_size(body) > HEARTH_MAX_FRAME) {
        /* libzmq hangs up only above ZMQ_MAXMSGSIZE, before reading, without a word:
         * between the cap and that, log it and stop hearing this connection. */
        snprintf(what, sizeof what,
                 "node %02x%02x%02x%02x%02x%02x sent a %zu-byte message, above the frame limit "
                 "of %d bytes: dropped%s",
                 key[0], key[1], key[2], key[3], key[4], key[5], zmq_msg_size(body),
                 HEARTH_MAX_FRAME, conn < 0 ? "; its connection is no longer heard" : "");
        if (conn < 0) {
            struct route *r = &t->quarantine[t->quarantine_next++ % QUARANTINE];
            r->len = zmq_msg_size(&p[0]);
            memcpy(r->id, zmq_msg_data(&p[0]), r->len);
        }
        drop(t, p, n, &t->malformed, HLOG_WARN, what);
        return;
    }
    m->address[0] = 0;
    if (conn < 0) {
        m->route_len = zmq_msg_size(&p[0]);
        memcpy(m->route, zmq_msg_data(&p[0]), m->route_len);
        zmq_msg_close(&p[0]);
        const char *from = zmq_msg_gets(body, "Peer-Address");
        snprintf(m->address, sizeof m->address, "%s", from ? from : "");
    } else {
        m->route_len = 0;
    }
    memcpy(m->peer, key, HEARTH_PK_LEN);
    if (t->msg_live)
        zmq_msg_close(&t->msg);
    t->msg = *body;
    t->msg_live = true;
    m->conn = conn;
    m->data = zmq_msg_data(&t->msg);
    m->len = zmq_msg_size(&t->msg);
    *got = true;
}

/* serve_listener_monitor - a connection to our listener failed its handshake: a
 * stalled or garbled greeting, a client that is not a hearth node, a link that broke
 * half-way. libzmq tells neither the address nor the key. */
static void serve_listener_monitor(struct transport *t)
{
    uint16_t ev;
    uint32_t value = 0;
    /* Many at a time: a flood of them must not outgrow what we read. */
    for (int i = 0; i < 64 && monitor_event(t->lmon, &ev, &value); i++) {
        uint64_t more;
        if (hlog_due(&t->handshake, mono_ms(), &more)) {
            char why[96];
            if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
                snprintf(why, sizeof why, "protocol error 0x%x: not a hearth peer?",
                         (unsigned)value);
            else
                snprintf(why, sizeof why, "%s before it completed",
                         value ? strerror((int)value) : "closed or timed out");
            hlog(t->o.log, HLOG_WARN,
                 "transport: a connection to our listener failed its handshake (%s; %" PRIu64
                 " unlogged before)",
                 why, more);
        }
    }
}

herr transport_poll(struct transport *t, int timeout_ms, struct transport_msg *m, bool *got)
{
    zmq_pollitem_t items[4 + 2 * TRANSPORT_MAX_CONNS];
    /* -5 listener monitor, -4 fd, -3 zap, -2 listener, 2i conn i, 2i+1 monitor of conn i */
    int owner[4 + 2 * TRANSPORT_MAX_CONNS];
    int n = 0;
    *got = false;
    t->fd_ready = false;
    items[n] = (zmq_pollitem_t){t->zap, 0, ZMQ_POLLIN, 0}, owner[n++] = -3;
    if (t->fd >= 0)
        items[n] = (zmq_pollitem_t){NULL, t->fd, ZMQ_POLLIN, 0}, owner[n++] = -4;
    if (t->listener)
        items[n] = (zmq_pollitem_t){t->listener, 0, ZMQ_POLLIN, 0}, owner[n++] = -2;
    if (t->lmon)
        items[n] = (zmq_pollitem_t){t->lmon, 0, ZMQ_POLLIN, 0}, owner[n++] = -5;
    for (int i = 0; i < TRANSPORT_MAX_CONNS; i++) {
        struct conn *c = &t->conns[i];
        if (c->state == CONN_FREE)
            continue;
        items[n] = (zmq_pollitem_t){c->sock, 0, ZMQ_POLLIN, 0}, owner[n++] = 2 * i;
        items[n] = (zmq_pollitem_t){c->mon, 0, ZMQ_POLLIN, 0}, owner[n++] = 2 * i + 1;
    }
    if (zmq_poll(items, n, timeout_ms) < 0)
        return zmq_errno() == EINTR ? HERR_OK : HERR_NET;
    /* Control traffic first, then one data message, starting at a rotating place. */
    for (int i = 0; i < n; i++) {
        if (!(items[i].revents & ZMQ_POLLIN))
            continue;
        if (owner[i] == -3)
            serve_zap(t);
        else if (owner[i] == -4)
            t->fd_ready = true;
        else if (owner[i] == -5)
            serve_listener_monitor(t);
        else if (owner[i] >= 0 && owner[i] % 2 == 1)
            serve_monitor(t, &t->conns[owner[i] / 2]);
    }
    t->rr++;
    for (int k = 0; k < n && !*got; k++) {
        int i = (int)((t->rr + (unsigned)k) % (unsigned)n);
        if (!(items[i].revents & ZMQ_POLLIN))
            continue;
        if (owner[i] == -2)
            take(t, t->listener, -1, m, got);
        else if (owner[i] >= 0 && owner[i] % 2 == 0)
            take(t, t->conns[owner[i] / 2].sock, owner[i] / 2, m, got);
    }
    return HERR_OK;
}

void transport_watch_fd(struct transport *t, int fd)
{
    t->fd = fd;
}

bool transport_fd_ready(const struct transport *t)
{
    return t->fd_ready;
}

herr transport_send(struct transport *t, int conn, const uint8_t *route, size_t route_len,
                    const uint8_t *data, size_t len)
{
    if (len > HEARTH_MAX_FRAME)
        return HERR_TOO_LARGE;
    void *s;
    if (conn < 0) {
        s = t->listener;
        if (!s)
            return HERR_NET;
        if (zmq_send(s, route, route_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
            return zmq_errno() == EAGAIN ? HERR_BUSY : HERR_NET;
    } else {
        if (conn >= TRANSPORT_MAX_CONNS || t->conns[conn].state == CONN_FREE)
            return HERR_NET;
        s = t->conns[conn].sock;
    }
    if (zmq_send(s, data, len, ZMQ_DONTWAIT) < 0)
        return zmq_errno() == EAGAIN ? HERR_BUSY : HERR_NET;
    return HERR_OK;
}

void address_format(char *out, size_t n, const uint8_t key[HEARTH_PK_LEN], const char *host,
                    unsigned port)
{
    char hex[2 * HEARTH_PK_LEN + 1];
    key_hex(hex, key);
    snprintf(out, n, "hearth://%s@%s:%u", hex, host, port);
}

herr address_parse(const char *addr, uint8_t key[HEARTH_PK_LEN], char *endpoint, size_t n,
                   const char **why)
{
    static const char scheme[] = "hearth://";
    const char *dummy;
    if (!why)
        why = &dummy;
    if (strncmp(addr, scheme, sizeof scheme - 1) != 0) {
        *why = "address must start with hearth://";
        return HERR_USAGE;
    }
    const char *k = addr + sizeof scheme - 1;
    const char *at = strchr(k, '@');
    char hex[2 * HEARTH_PK_LEN + 1];
    if (!at || at - k != 2 * HEARTH_PK_LEN) {
        *why = "address must carry the node's 64-digit key before '@'";
        return HERR_USAGE;
    }
    memcpy(hex, k, 2 * HEARTH_PK_LEN);
    hex[2 * HEARTH_PK_LEN] = 0;
    if (hex_decode(key, HEARTH_PK_LEN, hex) != HERR_OK) {
        *why = "node key is not hex";
        return HERR_USAGE;
    }
    const char *hostport = at + 1;
    const char *colon = strrchr(hostport, ':');
    char *end;
    unsigned long port = colon ? strtoul(colon + 1, &end, 10) : 0;
    if (!colon || colon == hostport || !colon[1] || *end || port == 0 || port > 65535) {
        *why = "address must end with @HOST:PORT";
        return HERR_USAGE;
    }
    int w = snprintf(endpoint, n, "tcp://%s", hostport);
    if (w < 0 || (size_t)w >= n) {
        *why = "address too long";
        return HERR_USAGE;
    }
    return HERR_OK;
}
