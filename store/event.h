/* event.h - hearth's signed events: build, strict parse, verify.
 *
 * An event is an envelope of three parts (docs/EVENTS.md is the normative spec):
 *
 *   envelope = msgpack array [ header: bin, sig: bin(64), body: bin | nil ]
 *   header   = msgpack array [ version, forum, author, seq, created, kind,
 *                              root, ref, body_hash, body_len ]
 *   body     = msgpack map of kind-specific fields, keys in ascending byte order
 *
 * The signature is Ed25519 over EVENT_SIG_TAG || header bytes; the id is BLAKE2b-256
 * of the header bytes exactly as received, never re-encoded. The body is bound by its
 * hash, so it can be dropped (purged) and the header still verifies: a purged event
 * travels with a nil body.
 *
 * event_parse() is the one decoder of untrusted event bytes. It is strict (canonical
 * msgpack only, no trailing bytes, every length checked against base/limits.h before
 * use) and allocates nothing: the parsed event points into the caller's buffer, which
 * must outlive it. It checks everything that can be checked from the event alone;
 * event_verify() checks the signature separately so that callers can verify on
 * several threads; rules that need other events (roles, targets) live in the store.
 */
#ifndef HEARTH_EVENT_H
#define HEARTH_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/crypto.h"
#include "base/hbuf.h"
#include "base/herr.h"

#define EVENT_VERSION 1
#define EVENT_SIG_TAG "hearth/event/v1" /* signed with its terminating NUL */

enum event_kind {
    EK_GENESIS = 1,    /* founds the forum; its id is the forum id */
    EK_BOARD = 2,      /* a board (founder or admin) */
    EK_POST = 3,       /* a new thread in a board: ref = board */
    EK_REPLY = 4,      /* root = thread's post, ref = parent post or reply */
    EK_EDIT = 5,       /* ref = own post or reply; new full text */
    EK_RETRACT = 6,    /* ref = own event; purges its body everywhere */
    EK_REACT = 7,      /* ref = post or reply; a supportive reaction */
    EK_FLAG = 8,       /* ref = post or reply; asks moderators to look */
    EK_PROFILE = 9,    /* the author's pseudonym */
    EK_ROLE = 10,      /* grants or revokes a role (founder or admin) */
    EK_MOD = 11,       /* a moderation action (moderator) */
    EK_RESOURCES = 12, /* crisis resources shown everywhere (founder or admin) */
    EK_SETTINGS = 13,  /* forum settings (founder or admin) */
    EK_MESSAGE = 14,   /* a member and the moderators, privately: sealed to its readers */
    EK_DEVICE = 15,    /* a person certifies (or revokes) a device key; or a device asks to be */
    EK_LAST_KIND = 15, /* the highest kind this version defines */
};

/* EK_MAX_KIND - the highest kind this build knows. Kinds above it, up to
 * HEARTH_MAX_KIND (base/limits.h), are "unknown but stored": a well-formed, signed
 * event of such a kind is held and forwarded like any other, and the view ignores it,
 * so that a forum can upgrade node by node (docs/EVENTS.md, section 6.2). A test build
 * sets HEARTH_KNOWN_KINDS to an older number to be an older node. */
#ifdef HEARTH_KNOWN_KINDS
#define EK_MAX_KIND HEARTH_KNOWN_KINDS
#else
#define EK_MAX_KIND EK_LAST_KIND
#endif

/* The tag of a device's proof of possession (docs/EVENTS.md, "device"): the device
 * key signs DEVICE_PROOF_TAG || forum id || the person's key. */
#define DEVICE_PROOF_TAG "hearth/device/v1"

/* A string inside a parsed buffer: not NUL-terminated; p is NULL when absent. */
struct hstr {
    const char *p;
    uint32_t n;
};

/* The known body fields (docs/EVENTS.md lists which kinds take which). A body may
 * hold other keys of the canonical types; they are hashed and ignored, so a later
 * version can add optional fields. */
struct event_body {
    struct hstr name, about, title, text, cw, reaction, reason, role, action;
    const uint8_t *subject; /* bin(32): a key, for role, ban and message; NULL when absent */
    const uint8_t *sealed;  /* bin: a message's text sealed to its readers (base/crypto.h) */
    uint32_t sealed_len;
    const uint8_t *proof;   /* bin(64): a device's proof of possession (EK_DEVICE) */
    const uint8_t *pairing; /* bin(32): a pairing request's keyed hash (EK_DEVICE) */
    bool has_grant, grant;
    bool has_hold, has_flags, has_until;
    uint64_t hold, flags, until;
};

struct event {
    uint8_t id[HEARTH_ID_LEN];
    uint32_t version;
    bool has_forum; /* false only for the genesis event */
    uint8_t forum[HEARTH_ID_LEN];
    uint8_t author[HEARTH_PK_LEN];
    uint64_t seq;     /* 1, 2, 3... per author */
    uint64_t created; /* milliseconds since 1970, the author's clock: never trusted */
    uint32_t kind;
    bool has_root, has_ref;
    uint8_t root[HEARTH_ID_LEN], ref[HEARTH_ID_LEN];
    uint8_t body_hash[HEARTH_ID_LEN];
    uint32_t body_len;
    /* The exact bytes, borrowed from the parsed buffer. */
    const uint8_t *header;
    uint32_t header_len;
    const uint8_t *sig;
    const uint8_t *body; /* NULL when purged */
    struct event_body b; /* all absent when purged */
};

/* What a person or the node asks to publish; event_build fills in the rest. */
struct event_draft {
    uint32_t kind;
    const uint8_t *forum; /* NULL only for genesis */
    uint64_t seq;
    uint64_t created;
    const uint8_t *root, *ref; /* NULL when absent */
    struct event_body b;
    /* EK_MESSAGE only, never part of the event: the text store_publish seals to the
     * message's readers into b.sealed (store/store.h, "The private channel"). */
    const char *message_text;
};

/* event_parse - strictly decode the envelope buf[0..len) into ev, compute its id,
 * check the body against body_hash, and check every rule that needs no other event
 * (field presence and types per kind, sizes, UTF-8). Does not verify the signature.
 * On failure returns HERR_MALFORMED, HERR_NONCANONICAL, HERR_TOO_LARGE, HERR_VERSION,
 * HERR_KIND or HERR_INVALID and sets *why (when why is not NULL) to a static one-line
 * reason. ev borrows from buf. */
HEARTH_MUST_CHECK herr event_parse(struct event *ev, const uint8_t *buf, size_t len,
                                   const char **why);

/* event_body_str - the string field `key` (e.g. "text") of a body as stored (body[0..len),
 * which event_parse accepted): out->p is NULL when the body lacks it. Reads only as far
 * as the key; HERR_MALFORMED when the bytes are not such a body. For the view, which
 * reads a post's words from the body of its version in force (store/view.c). */
HEARTH_MUST_CHECK herr event_body_str(const uint8_t *body, size_t len, const char *key,
                                      struct hstr *out);

/* event_verify - HERR_OK when the signature is the author's over the header, else
 * HERR_BAD_SIG. */
HEARTH_MUST_CHECK herr event_verify(const struct event *ev);

/* event_check_forum - HERR_OK when ev belongs to the forum `forum`: the genesis event
 * must have that id; every other event must name it. Else HERR_WRONG_FORUM. */
HEARTH_MUST_CHECK herr event_check_forum(const struct event *ev,
                                         const uint8_t forum[HEARTH_ID_LEN]);

/* event_build - encode, sign and append the envelope of d to out, and set id. The
 * result is parsed back before returning, so what hearth makes it also accepts; a
 * draft that breaks a rule gives that parse error and *why. out is unchanged on
 * failure. */
HEARTH_MUST_CHECK herr event_build(const struct event_draft *d, const struct hkey *k,
                                   struct hbuf *out, uint8_t id[HEARTH_ID_LEN], const char **why);

/* event_envelope - append the envelope of stored parts to out (body NULL when
 * purged). The bytes are exactly those a peer sent, rebuilt by framing alone. */
HEARTH_MUST_CHECK herr event_envelope(struct hbuf *out, const uint8_t *header, size_t header_len,
                                      const uint8_t *sig, const uint8_t *body, size_t body_len);

/* The reactions a react event may carry, and the roles a role event may grant, in
 * the order people see them; each list ends with NULL. */
extern const char *const event_reactions[];
extern const char *const event_roles[];

/* event_kind_known - kind is one this build knows (1..EK_MAX_KIND). */
bool event_kind_known(uint32_t kind);

/* device_proof_sign / device_proof_ok - the proof a device key gives that it agrees to
 * be the device of `person` in `forum`: an Ed25519 signature by the device over
 * DEVICE_PROOF_TAG || forum || person. */
void device_proof_sign(uint8_t sig[HEARTH_SIG_LEN], const uint8_t forum[HEARTH_ID_LEN],
                       const uint8_t person[HEARTH_PK_LEN], const struct hkey *device);
bool device_proof_ok(const uint8_t sig[HEARTH_SIG_LEN], const uint8_t forum[HEARTH_ID_LEN],
                     const uint8_t person[HEARTH_PK_LEN], const uint8_t device[HEARTH_PK_LEN]);

/* event_kind_name - "post", "reply"...; "unknown" outside the enum. */
const char *event_kind_name(uint32_t kind);

/* event_kind_from_name - the kind for a name, or 0. */
uint32_t event_kind_from_name(const char *name);

#endif
