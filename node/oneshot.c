/* oneshot.c - `hearth sync ADDRESS`: one session as initiator, then exit. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "node/clock.h"
#include "node/node.h"
#include "node/node_int.h"
#include "node/transport.h"
#include "sync/wire.h"

/* Sessions started again after the link dropped and came back, at most. */
#define ONESHOT_RESTARTS 5

/* ONESHOT_CONFIRMS - sessions started only to learn that the peer has taken the events
 * we sent, at most. When we answered the peer's WANT, our DONE ended the session
 * (sync_session_last_word): the session is over on our side while the events and the
 * DONE we sent may still wait in the peer's queues, in libzmq's (it reads a few frames
 * ahead, PEER_RCVHWM in transport.c) and its kernel's, which has acknowledged them to
 * ours. Closing then loses them: our system answers the peer's next heartbeat with a
 * reset, and libzmq, whose reading waits for room in its full queue, drops the
 * connection with what its kernel still holds (under ASan the slow-link case of
 * tests/integration/test_sync.sh lost the last 500 of 5,000 events so, while hearth
 * sync reported them sent). A responder answers a connection's messages in order, so
 * its answer to a new HELLO means that it has applied everything we sent before: the
 * next session is that answer, and a cheap one (equal sets end at the hellos,
 * docs/PROTOCOL.md 8.3). One that again ends with events of ours (the peer took in new
 * ones meanwhile) is confirmed the same way, a few times. A DONE of ours after no
 * events is left to drain(): losing it costs no event. */
#define ONESHOT_CONFIRMS 3

/* add_stats - what a session did, added to what the earlier ones of this sync did. */
static void add_stats(struct sync_stats *sum, const struct sync_stats *st)
{
    sum->msgs_sent += st->msgs_sent, sum->msgs_recv += st->msgs_recv;
    sum->bytes_sent += st->bytes_sent, sum->bytes_recv += st->bytes_recv;
    sum->recon_bytes_sent += st->recon_bytes_sent, sum->recon_bytes_recv += st->recon_bytes_recv;
    sum->event_bytes_sent += st->event_bytes_sent, sum->event_bytes_recv += st->event_bytes_recv;
    sum->events_sent += st->events_sent, sum->events_recv += st->events_recv;
    sum->events_accepted += st->events_accepted;
    sum->events_duplicate += st->events_duplicate;
    sum->events_rejected += st->events_rejected;
    sum->symbols_sent += st->symbols_sent, sum->symbols_recv += st->symbols_recv;
    sum->keys_sent += st->keys_sent, sum->keys_recv += st->keys_recv;
    sum->local_only += st->local_only, sum->remote_only += st->remote_only;
    sum->round_trips += st->round_trips;
    if (st->plan != SYNC_PLAN_NONE) /* not the equal sets of a confirming session */
        sum->plan = st->plan;
    sum->fell_back |= st->fell_back;
}

/* Give a refused connection this long to say why when asked again (a host that
 * answers nothing is the timeout's business). */
#define PROBE_MS 2000

/* probe_errno - connect to endpoint ("tcp://HOST:PORT") once with a plain socket: 0
 * when it connects (closed at once), else the errno (EAI_* as -1 for a name that does
 * not resolve). */
static int probe_errno(const char *endpoint)
{
    char host[256];
    const char *hp = endpoint + (strncmp(endpoint, "tcp://", 6) == 0 ? 6 : 0);
    const char *colon = strrchr(hp, ':');
    if (!colon || (size_t)(colon - hp) >= sizeof host)
        return EINVAL;
    snprintf(host, sizeof host, "%.*s", (int)(colon - hp), hp);
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = 0;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0 || !ai)
        return -1;
    int err = EINVAL;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        err = connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ? 0 : errno;
        if (err == EINPROGRESS) {
            struct pollfd pf = {.fd = fd, .events = POLLOUT};
            socklen_t len = sizeof err;
            err =
                poll(&pf, 1, PROBE_MS) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0
                    ? err
                    : ETIMEDOUT;
        }
        close(fd);
    }
    freeaddrinfo(ai);
    return err;
}

/* connect_failed - libzmq's attempt to connect failed and it will retry quietly: ask
 * the system why. HERR_NET with *why when the peer cannot be reached that way (a
 * refusal, an unreachable network, a name that does not resolve); HERR_OK when the
 * answer is not definite (it connects now, or a host that answers nothing: the
 * caller's timeout decides). */
static herr connect_failed(const char *endpoint, char *why, size_t why_n)
{
    const char *hp = endpoint + (strncmp(endpoint, "tcp://", 6) == 0 ? 6 : 0);
    int err = probe_errno(endpoint);
    if (err == 0 || err == ETIMEDOUT || err == EINPROGRESS)
        return HERR_OK;
    if (err == -1) {
        snprintf(why, why_n, "cannot connect to %s: the host name does not resolve", hp);
    } else {
        char text[128];
        snprintf(text, sizeof text, "%s", strerror(err));
        text[0] = (char)tolower((unsigned char)text[0]);
        snprintf(why, why_n, "cannot connect to %s: %s%s", hp, text,
                 err == ECONNREFUSED ? " (no hearth node listens there?)" : "");
    }
    return HERR_NET;
}

/* await_ready - poll until the connection's handshake is done. */
static herr await_ready(struct transport *t, int conn, const char *endpoint, int timeout_ms,
                        char *why, size_t why_n)
{
    uint64_t end = mono_ms() + (uint64_t)timeout_ms;
    unsigned failures = 0;
    while (mono_ms() < end) {
        struct transport_msg m;
        bool got;
        herr e = transport_poll(t, 50, &m, &got);
        if (e) {
            snprintf(why, why_n, "transport failed");
            return e;
        }
        switch (transport_conn_state(t, conn)) {
        case CONN_READY:
            return HERR_OK;
        case CONN_REFUSED:
            snprintf(why, why_n, "%s refused us (we are not on its allow-list)", endpoint);
            return HERR_DENIED;
        case CONN_BAD_KEY:
            snprintf(why, why_n, "the node at %s does not hold the key in the address", endpoint);
            return HERR_INVALID;
        default:
            break;
        }
        if (transport_conn_failures(t, conn) > failures) {
            failures = transport_conn_failures(t, conn);
            if ((e = connect_failed(endpoint, why, why_n)) != HERR_OK)
                return e;
        }
    }
    snprintf(why, why_n, "cannot reach %s: no answer in %d s",
             endpoint + (strncmp(endpoint, "tcp://", 6) == 0 ? 6 : 0), timeout_ms / 1000);
    return HERR_NET;
}

/* drain - the last resort after a session that ended well with our DONE unconfirmed
 * (ONESHOT_CONFIRMS): our last frames may still be on their way over a slow
 * link, in libzmq's queue or the kernel's. Stay, reading what the peer sends (data
 * arriving at a closed socket is answered with a reset, which would throw away what
 * the kernel still holds), until the peer's system has acknowledged every byte,
 * within timeout_ms; then close lingering for whatever libzmq may still hold. The
 * peer's system holding our bytes is not the peer having read them (see
 * ONESHOT_CONFIRMS): this only narrows the window. */
static void drain(struct transport *t, int conn, int timeout_ms)
{
    uint64_t end = mono_ms() + (uint64_t)timeout_ms;
    for (int empty = 0; empty < 2 && mono_ms() < end;) {
        long q = transport_unacked(t, conn);
        if (q < 0)
            break;
        empty = q == 0 ? empty + 1 : 0;
        struct transport_msg m;
        bool got;
        if (transport_poll(t, 20, &m, &got) != HERR_OK)
            break;
    }
    transport_linger(t, conn, timeout_ms);
}

/* exchange - drive the session to its end over conn; its progress is shown added to
 * `before`, what the earlier sessions of this sync moved. When the link drops and comes
 * back (ZeroMQ reconnects by itself), what was in flight may be lost with it: *again
 * is set, and the caller starts a new session (committed batches stay committed). */
static herr exchange(struct transport *t, int conn, struct sync_session *s, int timeout_ms,
                     const struct sync_stats *before, bool confirming, node_progress_fn progress,
                     void *pctx, char *why, size_t why_n, bool *again)
{
    bool dropped = false;
    *again = false;
    struct hbuf held;
    hbuf_init(&held, HEARTH_MAX_FRAME);
    bool has_held = false;
    uint64_t heard = mono_ms(), shown = 0;
    bool answered = false; /* the peer has said something in this session */
    /* What moved: events in frames that left, bytes at the TCP level. */
    struct node_sync_progress pr = {
        .connected = true, .events_sent = before->events_sent, .events_recv = before->events_recv};
    uint64_t acked = 0, received = 0;
    herr e = HERR_OK;
    /* Until the session has ended and its last frame (often our DONE) has left. */
    while (!sync_session_done(s) || has_held) {
        /* Send what the session has until the peer's queue is full. */
        for (;;) {
            if (!has_held) {
                const uint8_t *msg;
                size_t len;
                if (!sync_session_next(s, &msg, &len))
                    break;
                hbuf_reset(&held);
                if ((e = hbuf_append(&held, msg, len)) != HERR_OK)
                    goto done;
                has_held = true;
            }
            e = transport_send(t, conn, NULL, 0, held.data, held.len);
            if (e == HERR_BUSY)
                break;
            if (e) {
                snprintf(why, why_n, "the connection dropped");
                goto done;
            }
            has_held = false;
            /* The session makes one frame at a time: its count is of frames sent. */
            pr.events_sent = before->events_sent + sync_session_stats(s)->events_sent;
            /* Sending a large transfer, we hear nothing back for a while: frames
             * leaving is progress too (a dead peer's queue fills and stops them). */
            heard = mono_ms();
        }
        if (sync_session_done(s) && !has_held)
            break;
        struct transport_msg m;
        bool got;
        if ((e = transport_poll(t, has_held ? 10 : 100, &m, &got)) != HERR_OK)
            goto done;
        if (transport_conn_state(t, conn) != CONN_READY) {
            dropped = true;
        } else if (dropped) {
            snprintf(why, why_n, "the link dropped and came back");
            *again = true;
            e = HERR_NET;
            goto done;
        }
        uint64_t now = mono_ms();
        /* Bytes crossing the link either way are progress, though no whole message
         * has yet: a 128 KiB frame takes 17 s at 64 kbit/s. */
        if (transport_moved(t, conn, &acked, &received) &&
            (acked != pr.bytes_out || received != pr.bytes_in)) {
            pr.bytes_out = acked, pr.bytes_in = received;
            heard = now;
        }
        if (got && m.conn == conn && sync_msg_peek(m.data, m.len) != SYNC_PUSH) {
            heard = now;
            answered = true;
            if (sync_session_receive(s, m.data, m.len) != HERR_OK)
                continue; /* the session has ended; its result says why */
        } else if (now - heard > (uint64_t)timeout_ms) {
            if (answered)
                snprintf(why, why_n, "nothing moved for %d s (the peer went quiet)",
                         timeout_ms / 1000);
            else if (confirming)
                snprintf(why, why_n, "the peer did not confirm in %d s that it took what we sent",
                         timeout_ms / 1000);
            else
                snprintf(why, why_n,
                         "the peer took the connection but did not answer our hello in %d s",
                         timeout_ms / 1000);
            e = HERR_TIMEOUT;
            goto done;
        }
        if (progress && now - shown >= 250) {
            pr.events_recv = before->events_recv + sync_session_stats(s)->events_recv;
            progress(pctx, &pr);
            shown = now;
        }
    }
    const char *sw;
    e = sync_session_result(s, &sw);
    if (e)
        snprintf(why, why_n, "%s", *sw ? sw : herr_str(e));
done:
    hbuf_release(&held);
    return e;
}

/* confirm_restore - a session that ended well leaves this replica holding all the
 * peer held: a restored replica may sign again (store.h, "Fork safety"). */
static void confirm_restore(struct store *st, const struct hlog *log, const char *endpoint)
{
    bool was = false;
    if (store_clear_restored(st, &was) != HERR_OK)
        hlog(log, HLOG_WARN, "restore: cannot clear the restored mark: %s", store_errmsg(st));
    else if (was)
        hlog(log, HLOG_INFO, "restore: synced with %s since the restore; this node signs again",
             endpoint);
}

herr node_sync_once(struct store *st, const uint8_t seed[HEARTH_SEED_LEN], const char *address,
                    int timeout_ms, const struct hlog *log, node_progress_fn progress,
                    void *progress_ctx, struct sync_stats *stats, char *why, size_t why_n)
{
    uint8_t key[HEARTH_PK_LEN];
    char endpoint[256];
    const char *w = "";
    struct transport *t = NULL;
    struct recon_index *idx = NULL;
    uint64_t idx_saved = 0;
    struct sync_session *s = NULL;
    int conn;
    memset(stats, 0, sizeof *stats);
    why[0] = 0;
    herr e = address_parse(address, key, endpoint, sizeof endpoint, &w);
    if (e) {
        snprintf(why, why_n, "%s", w);
        return e;
    }
    /* ZeroMQ must not drop a slow link before our own timeout would. */
    struct transport_opts o = {
        .link_timeout_ms = timeout_ms > NODE_LINK_TIMEOUT_MS ? timeout_ms : NODE_LINK_TIMEOUT_MS,
        .log = log};
    if ((e = transport_new(&t, seed, &o, &w)) != HERR_OK) {
        snprintf(why, why_n, "%s", w);
        goto done;
    }
    if ((e = transport_connect(t, key, endpoint, &conn)) != HERR_OK) {
        snprintf(why, why_n, "cannot connect to %s", endpoint);
        goto done;
    }
    if ((e = node_index_open(st, log, &idx, &idx_saved)) != HERR_OK) {
        snprintf(why, why_n, "cannot index the replica: %s", store_errmsg(st));
        goto done;
    }
    if ((e = await_ready(t, conn, endpoint, timeout_ms, why, why_n)) != HERR_OK)
        goto done;
    if (progress)
        progress(progress_ctx, &(struct node_sync_progress){.connected = true});
    /* A busy node (every session slot taken) asks us to try again later: we do, after
     * 0.5, 1, 2... s, while the timeout lasts. A link that drops and comes back gets a
     * new session at once, a few times. */
    uint64_t give_up = mono_ms() + (uint64_t)timeout_ms;
    int restarts = 0, confirms = 0;
    bool unconfirmed = false; /* the last session ended with our DONE */
    for (uint64_t wait = 500;;) {
        struct sync_config sc = {.max_frame = NODE_FRAME};
        node_sync_compat(&sc);
        if ((e = sync_session_new(&s, st, idx, &sc)) != HERR_OK ||
            (e = sync_session_start(s)) != HERR_OK) {
            snprintf(why, why_n, "cannot start a session: %s", store_errmsg(st));
            goto done;
        }
        bool again;
        e = exchange(t, conn, s, timeout_ms, stats, unconfirmed, progress, progress_ctx, why, why_n,
                     &again);
        add_stats(stats, sync_session_stats(s));
        if (again && restarts++ < ONESHOT_RESTARTS) {
            hlog(log, HLOG_INFO, "sync: %s: %s; starting the session again", endpoint, why);
            sync_session_destroy(&s);
            continue;
        }
        unconfirmed = !e && sync_session_last_word(s);
        if (unconfirmed && sync_session_stats(s)->events_sent && confirms++ < ONESHOT_CONFIRMS) {
            hlog(log, HLOG_DEBUG, "sync: %s: our done ended the session; a new hello confirms it",
                 endpoint);
            sync_session_destroy(&s);
            continue;
        }
        if (e != HERR_BUSY || mono_ms() + wait > give_up)
            break;
        hlog(log, HLOG_INFO, "sync: %s is busy (%s); trying again in %.1f s", endpoint, why,
             (double)wait / 1000);
        sync_session_destroy(&s);
        for (uint64_t until = mono_ms() + wait; mono_ms() < until;) {
            struct transport_msg m;
            bool got;
            if ((e = transport_poll(t, 50, &m, &got)) != HERR_OK)
                goto done;
        }
        wait *= 2;
    }
    if (!e && unconfirmed)
        drain(t, conn, timeout_ms);
    if (!e)
        confirm_restore(st, log, endpoint);
done:
    sync_session_destroy(&s);
    if (idx && recon_index_count(idx) >= idx_saved + NODE_INDEX_SAVE_EVERY)
        node_index_save(st, log, idx, &idx_saved);
    recon_index_destroy(&idx);
    transport_destroy(&t);
    return e;
}
