/* session.h - one sync session between two nodes, as a state machine without I/O.
 *
 * A session is fed the peer's messages (sync_session_receive) and asked for its own
 * (sync_session_next); it never touches a socket or a clock, so the node drives it
 * over ZeroMQ, tests drive two of them back to back, and a timeout is the caller's
 * business. docs/PROTOCOL.md specifies the exchange; in short:
 *
 *   1. HELLO both ways: version, forum tag, capabilities, frame size, set count and
 *      fingerprint. Equal fingerprints end the session there (one round trip).
 *   2. The responder picks a plan from the two counts: an empty side receives
 *      everything; a side whose newest events are the whole difference pushes them;
 *      a small set is listed; otherwise the responder streams rateless IBLT symbols
 *      (sync/recon.h) and the initiator decodes, asking for more once with an
 *      estimate of the difference, and falls back to listing ids if decoding fails.
 *      When the responder holds exactly one event more (not its newest) and the
 *      initiator offers it, plan ONE: the initiator sends the XOR of its keys (a
 *      SKETCH), the responder finds the one key and sends its event, or goes on as
 *      IBLT when the sketch does not verify.
 *   3. The side that knows the difference sends WANT for what it lacks, its events the
 *      peer lacks and DONE; the other side answers the WANT and sends DONE. Events go
 *      in batches that fit the peer's frame size, in transfer priority order across
 *      batches (moderation before posts), and each received batch is applied with one
 *      store_ingest() (one transaction): a cut link loses at most the batch in flight
 *      and the next session goes on from there. Events already held come back as
 *      duplicates and are not stored twice. What a session holds follows the peer's
 *      list and the difference, not the size of our replica: listing compares the
 *      peer's keys with our ids as the store walks them, and the events the peer
 *      lacks are streamed from the store a chunk at a time (struct sync_ops).
 *      To a peer that offers it, each EVENTS frame goes compressed with zstd
 *      (ZEVENTS) when that is shorter; a received ZEVENTS is decompressed within
 *      our frame size (a bomb ends the session with HERR_TOO_LARGE).
 *
 * A peer that sends a malformed or unexpected message gets an ERROR and the session
 * ends with HERR_PROTOCOL and a reason; another forum ends it with HERR_WRONG_FORUM.
 * Events the peer sends that the store rejects (bad signature...) are counted in the
 * stats and reported through the log callback, never stored.
 *
 * The recon index is shared by the node's sessions. A session catches it up from the
 * store when it is made, and reads it while reconciling: adding to the index (another
 * session's catch-up) while a session reconciles can make that session's decode fail
 * verification and fall back to listing ids: correct, but dearer. The node should
 * start sessions one after another, or catch up between them.
 */
#ifndef HEARTH_SYNC_SESSION_H
#define HEARTH_SYNC_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/herr.h"
#include "store/store.h"
#include "sync/recon.h"
#include "sync/wire.h"

struct sync_session;

enum sync_mode {
    SYNC_MODE_BOTH = 0,      /* send and receive events */
    SYNC_MODE_WANT_ONLY = 1, /* only receive: send no events */
    SYNC_MODE_PUSH_ONLY = 2, /* only send: accept no events */
};

/* Called with one line (lower case, no full stop, no newline) worth a log entry:
 * the plan, a fallback, each rejected event and why, the peer's ERROR text. */
typedef void (*sync_log_fn)(void *ctx, const char *line);

struct sync_config {
    enum sync_mode mode;
    uint32_t max_frame; /* the largest message we accept; 0 for HEARTH_MAX_FRAME; a
                         * power of two from 2^17 to HEARTH_MAX_FRAME */
    uint32_t few_send;  /* a listing responder sends up to this many events by id and
                         * streams more, skipping what the peer listed; 0: 4096 */
    bool no_compress;   /* neither offer nor send compressed events (ZEVENTS) */
    bool legacy;        /* offer none of the protocol's later additions (ZEVENTS,
                         * plan ONE): speak as hearth did before them, so that tests
                         * can check that such a peer still syncs */
    sync_log_fn log;    /* may be NULL */
    void *log_ctx;
};

/* What a session did. Bytes are message bytes as handed to and taken from the
 * transport (the transport's own framing and encryption are not counted). */
struct sync_stats {
    uint64_t msgs_sent, msgs_recv;
    uint64_t bytes_sent, bytes_recv;                 /* all messages */
    uint64_t recon_bytes_sent, recon_bytes_recv;     /* all messages but EVENTS */
    uint64_t event_bytes_sent, event_bytes_recv;     /* envelope bytes inside EVENTS */
    uint64_t zevents_sent, zevents_recv;             /* EVENTS that went compressed */
    uint64_t zevents_bytes_sent, zevents_bytes_recv; /* their bytes on the wire */
    uint64_t events_sent, events_recv;
    uint64_t events_accepted, events_duplicate, events_rejected;
    uint64_t symbols_sent, symbols_recv; /* coded symbols (count-only entries apart) */
    uint64_t keys_sent, keys_recv;       /* keys in IDS and WANT */
    uint64_t local_only, remote_only;    /* the difference, as found by whichever side
                                          * computed it (0 on the other side) */
    uint32_t round_trips;                /* initiator only: times it waited for the responder
                                          * (docs/PROTOCOL.md, "Round trips") */
    enum sync_plan plan;
    bool fell_back; /* decoding failed or was abandoned: ids were listed instead */
};

/* The store operations a session uses, so that a session can run on something other
 * than a struct store (benchmarks, tests). They mean what the store.h functions of the
 * same names mean; resolve maps a 16-byte key (an id prefix) to the one id that
 * starts with it (HERR_NOT_FOUND when none; any other error is local trouble).
 *
 * stream and ids_in_order let a session compare a peer's list with everything it holds
 * and send what the peer lacks without holding its own ids: ids_in_order walks them in
 * id order (merged with the peer's sorted keys), and stream hands out the events to
 * send a chunk at a time from a cursor, in the same order as get_many, so that a
 * session's memory follows the peer's list and the chunk size, not the replica.
 * sort_ids puts a list of ids to send (a decoded difference, a WANT) in get_many's
 * order once, so that they can then be fetched a chunk at a time. */
struct sync_ops {
    herr (*keys_since)(void *ctx, uint64_t arrival, store_key_fn fn, void *fnctx);
    herr (*resolve)(void *ctx, const uint8_t key[RECON_KEY_LEN], uint8_t id[HEARTH_ID_LEN]);
    herr (*get_many)(void *ctx, const uint8_t (*ids)[HEARTH_ID_LEN], size_t n, store_event_fn fn,
                     void *fnctx);
    herr (*ingest)(void *ctx, const struct store_blob *envs, size_t n, struct ingest_result *res,
                   size_t *accepted);
    herr (*forum)(void *ctx, uint8_t forum[HEARTH_ID_LEN]); /* HERR_STATE when none */
    herr (*stream)(void *ctx, struct store_cursor *cur, uint64_t upto, size_t max, size_t max_bytes,
                   store_stream_fn fn, void *fnctx);
    herr (*ids_in_order)(void *ctx, store_id_fn fn, void *fnctx);
    herr (*sort_ids)(void *ctx, uint8_t (*ids)[HEARTH_ID_LEN], size_t *n);
};

/* sync_session_new - a session over `store`, reconciling with the recon index `idx`
 * (caught up from the store here). store and idx are borrowed and must outlive the
 * session; cfg is copied (NULL for defaults). HERR_USAGE for a bad max_frame;
 * HERR_NOMEM; the store's error when catching up fails. On failure *out is NULL. */
HEARTH_MUST_CHECK herr sync_session_new(struct sync_session **out, struct store *store,
                                        struct recon_index *idx, const struct sync_config *cfg);

/* sync_session_new_ops - the same over any implementation of the store operations. */
HEARTH_MUST_CHECK herr sync_session_new_ops(struct sync_session **out, const struct sync_ops *ops,
                                            void *ctx, struct recon_index *idx,
                                            const struct sync_config *cfg);

/* sync_session_start - make this session the initiator: queue its HELLO. A session
 * that is not started is a responder and waits for the peer's HELLO. HERR_STATE when
 * already started or when a message has been received. */
HEARTH_MUST_CHECK herr sync_session_start(struct sync_session *s);

/* sync_session_receive - take one message from the peer (borrowed for the call).
 * Returns HERR_OK while the session goes on or has ended well; otherwise the error
 * that ended the session (the same as sync_session_result): HERR_PROTOCOL,
 * HERR_WRONG_FORUM, HERR_VERSION for the peer's faults (HERR_DENIED, HERR_BUSY when
 * its ERROR says so), or a local error (HERR_IO,
 * HERR_NOMEM...) from the store. An ERROR for the peer is then queued. Messages that
 * arrive after the session has ended are ignored. */
HEARTH_MUST_CHECK herr sync_session_receive(struct sync_session *s, const uint8_t *msg, size_t len);

/* sync_session_next - the next message to send: true with *msg, *len set (owned by the
 * session, valid until the next call on it), or false when there is nothing to send
 * until the peer's next message arrives (or ever, once done). Large transfers are
 * produced one frame per call. A local failure while producing (the store) ends the
 * session with that error and yields an ERROR for the peer. */
bool sync_session_next(struct sync_session *s, const uint8_t **msg, size_t *len);

/* sync_session_done - true when the session has ended (well or not) and every queued
 * message has been taken with sync_session_next. */
bool sync_session_done(const struct sync_session *s);

/* sync_session_result - HERR_OK when the session has ended well (both sides sent
 * DONE, or the sets were equal), HERR_STATE while it goes on, else the error that
 * ended it; *why (when not NULL) gets a one-line detail owned by the session, valid
 * until it is destroyed ("" when none). */
herr sync_session_result(const struct sync_session *s, const char **why);

/* sync_session_last_word - true when the session ended well with our DONE, sent after
 * the peer's (we were the answering side, section 8.2 of docs/PROTOCOL.md): nothing
 * the peer sends tells us that it has read that DONE and the events before it, which
 * may still wait in its queues when the session ends on our side. A caller that
 * closes the connection then must first learn that the peer has read them (hearth
 * sync starts another session: the peer answers its HELLO only after the messages
 * before it). */
bool sync_session_last_word(const struct sync_session *s);

/* sync_session_stats - the session's counters, owned by the session. */
const struct sync_stats *sync_session_stats(const struct sync_session *s);

/* sync_session_destroy - free; NULL-safe; sets *s to NULL. */
void sync_session_destroy(struct sync_session **s);

/* sync_plan_name - "iblt", "list-responder"...; "none" for SYNC_PLAN_NONE. */
const char *sync_plan_name(enum sync_plan p);

#endif
