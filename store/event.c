#include "store/event.h"

#include <string.h>

#include "base/limits.h"
#include "base/mp.h"

#define HEADER_FIELDS 10
#define ENVELOPE_FIELDS 3

/* Body fields, in the canonical (ascending byte) order of their keys. */
enum field {
    F_ABOUT,
    F_ACTION,
    F_CW,
    F_FLAGS,
    F_GRANT,
    F_HOLD,
    F_NAME,
    F_PAIRING,
    F_PROOF,
    F_REACTION,
    F_REASON,
    F_ROLE,
    F_SEALED,
    F_SUBJECT,
    F_TEXT,
    F_TITLE,
    F_UNTIL,
    F_COUNT
};

static const char *const field_key[F_COUNT] = {
    "about",    "action", "cw",   "flags",  "grant",   "hold", "name",  "pairing", "proof",
    "reaction", "reason", "role", "sealed", "subject", "text", "title", "until",
};

#define BIT(f) (1u << (f))

/* Per kind: which fields must be present, which may be, and the header references.
 * A reference is required, must be absent, or may be either. */
enum ref_rule { REF_NONE, REF_REQUIRED, REF_OPTIONAL };

struct kind_rule {
    const char *name;
    unsigned required, optional;
    enum ref_rule root, ref;
    bool purgeable; /* may travel with a nil body */
};

static const struct kind_rule rules[EK_LAST_KIND + 1] = {
    [EK_GENESIS] = {"genesis", BIT(F_NAME), BIT(F_ABOUT) | BIT(F_HOLD) | BIT(F_FLAGS), REF_NONE,
                    REF_NONE, false},
    /* board: a ref, when present, is the board it renames. */
    [EK_BOARD] = {"board", BIT(F_NAME), BIT(F_ABOUT), REF_NONE, REF_OPTIONAL, false},
    [EK_POST] = {"post", BIT(F_TITLE) | BIT(F_TEXT), BIT(F_CW), REF_NONE, REF_REQUIRED, true},
    [EK_REPLY] = {"reply", BIT(F_TEXT), BIT(F_CW), REF_REQUIRED, REF_REQUIRED, true},
    [EK_EDIT] = {"edit", BIT(F_TEXT), BIT(F_TITLE) | BIT(F_CW), REF_NONE, REF_REQUIRED, true},
    [EK_RETRACT] = {"retract", 0, 0, REF_NONE, REF_REQUIRED, false},
    [EK_REACT] = {"react", BIT(F_REACTION), 0, REF_NONE, REF_REQUIRED, true},
    [EK_FLAG] = {"flag", BIT(F_REASON), 0, REF_NONE, REF_REQUIRED, true},
    [EK_PROFILE] = {"profile", BIT(F_NAME), BIT(F_ABOUT), REF_NONE, REF_NONE, true},
    /* role: a grant has no ref; a revocation's ref is the grant it revokes. */
    [EK_ROLE] = {"role", BIT(F_SUBJECT) | BIT(F_ROLE) | BIT(F_GRANT), BIT(F_ABOUT) | BIT(F_UNTIL),
                 REF_NONE, REF_NONE, false},
    /* mod: ref is required except for ban/unban, checked below. */
    [EK_MOD] = {"mod", BIT(F_ACTION) | BIT(F_REASON), BIT(F_SUBJECT), REF_NONE, REF_NONE, false},
    [EK_RESOURCES] = {"resources", BIT(F_TEXT), BIT(F_ABOUT), REF_NONE, REF_NONE, false},
    [EK_SETTINGS] = {"settings", 0, BIT(F_HOLD) | BIT(F_FLAGS), REF_NONE, REF_NONE, false},
    /* message: ref, when present, is the post or reply it is about. */
    [EK_MESSAGE] = {"message", BIT(F_SUBJECT) | BIT(F_SEALED), 0, REF_NONE, REF_OPTIONAL, true},
    /* device: an add (grant true, proof), a revocation (grant false, until) or a
     * pairing request (no grant; pairing and proof), checked below. */
    [EK_DEVICE] = {"device", BIT(F_SUBJECT),
                   BIT(F_GRANT) | BIT(F_UNTIL) | BIT(F_PROOF) | BIT(F_PAIRING), REF_NONE, REF_NONE,
                   false},
};

/* A kind this build does not know (EK_MAX_KIND < kind <= HEARTH_MAX_KIND): any known
 * field of its type, references either way, and a body always (whether a later
 * version may purge it cannot be told). */
static const struct kind_rule unknown_rule = {"unknown",    0,    (1u << F_COUNT) - 1, REF_OPTIONAL,
                                              REF_OPTIONAL, false};

static const struct kind_rule *rule_of(uint32_t kind)
{
    return kind >= 1 && kind <= EK_MAX_KIND ? &rules[kind] : &unknown_rule;
}

bool event_kind_known(uint32_t kind)
{
    return kind >= 1 && kind <= EK_MAX_KIND;
}

static void proof_msg(uint8_t msg[HEARTH_ID_LEN + HEARTH_PK_LEN], const uint8_t *forum,
                      const uint8_t *person)
{
    memcpy(msg, forum, HEARTH_ID_LEN);
    memcpy(msg + HEARTH_ID_LEN, person, HEARTH_PK_LEN);
}

void device_proof_sign(uint8_t sig[HEARTH_SIG_LEN], const uint8_t forum[HEARTH_ID_LEN],
                       const uint8_t person[HEARTH_PK_LEN], const struct hkey *device)
{
    uint8_t msg[HEARTH_ID_LEN + HEARTH_PK_LEN];
    proof_msg(msg, forum, person);
    sign_detached(sig, DEVICE_PROOF_TAG, msg, sizeof msg, device);
}

bool device_proof_ok(const uint8_t sig[HEARTH_SIG_LEN], const uint8_t forum[HEARTH_ID_LEN],
                     const uint8_t person[HEARTH_PK_LEN], const uint8_t device[HEARTH_PK_LEN])
{
    uint8_t msg[HEARTH_ID_LEN + HEARTH_PK_LEN];
    proof_msg(msg, forum, person);
    return sign_verify(sig, DEVICE_PROOF_TAG, msg, sizeof msg, device);
}

const char *const event_reactions[] = {"support", "thinking-of-you", "this-helped", "me-too", "hug",
                                       NULL};
const char *const event_roles[] = {"admin", "moderator", "professional", "peer-worker", NULL};
static const char *const actions[] = {"hide",  "unhide", "remove", "lock",    "unlock", "ban",
                                      "unban", "pin",    "unpin",  "approve", NULL};

const char *event_kind_name(uint32_t kind)
{
    if (!event_kind_known(kind))
        return "unknown";
    return rules[kind].name;
}

uint32_t event_kind_from_name(const char *name)
{
    for (uint32_t k = 1; k <= EK_MAX_KIND; k++)
        if (strcmp(rules[k].name, name) == 0)
            return k;
    return 0;
}

static bool hstr_in(struct hstr s, const char *const *set)
{
    for (; *set; set++)
        if (strlen(*set) == s.n && memcmp(*set, s.p, s.n) == 0)
            return true;
    return false;
}

static int field_of(const char *k, uint32_t n)
{
    for (int f = 0; f < F_COUNT; f++)
        if (strlen(field_key[f]) == n && memcmp(field_key[f], k, n) == 0)
            return f;
    return -1;
}

/* Keys compare as bytes, a prefix before its extensions. */
static int key_cmp(const char *a, uint32_t an, const char *b, uint32_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c)
        return c;
    return an < bn ? -1 : an > bn;
}

static uint32_t str_max(int f)
{
    switch (f) {
    case F_TEXT:
        return HEARTH_MAX_TEXT;
    case F_TITLE:
        return HEARTH_MAX_TITLE;
    case F_NAME:
        return HEARTH_MAX_NAME;
    default:
        return HEARTH_MAX_SHORT;
    }
}

#define FAIL(code, reason)                                                                         \
    do {                                                                                           \
        e = (code);                                                                                \
        *why = (reason);                                                                           \
        goto fail;                                                                                 \
    } while (0)

/* read_field - one known field's value into b; sets the field's bit in *seen. */
static herr read_field(struct mp_reader *r, int f, struct event_body *b, const char **why)
{
    herr e;
    struct hstr *strs[F_COUNT] = {
        [F_ABOUT] = &b->about, [F_ACTION] = &b->action,     [F_CW] = &b->cw,
        [F_NAME] = &b->name,   [F_REACTION] = &b->reaction, [F_REASON] = &b->reason,
        [F_ROLE] = &b->role,   [F_TEXT] = &b->text,         [F_TITLE] = &b->title,
    };
    if (strs[f]) {
        e = mp_read_str(r, &strs[f]->p, &strs[f]->n, str_max(f));
        if (e == HERR_TOO_LARGE)
            FAIL(e, "body field too long");
        if (e)
            FAIL(e, "body field is not a valid string");
        if (strs[f]->n == 0)
            FAIL(HERR_INVALID, "body field is empty");
        return HERR_OK;
    }
    switch (f) {
    case F_SUBJECT: {
        const uint8_t *p;
        uint32_t n;
        e = mp_read_bin(r, &p, &n, HEARTH_PK_LEN);
        if (e || n != HEARTH_PK_LEN)
            FAIL(e == HERR_NONCANONICAL ? e : HERR_MALFORMED, "subject is not a 32-byte key");
        b->subject = p;
        return HERR_OK;
    }
    case F_PROOF:
    case F_PAIRING: {
        const uint8_t *p;
        uint32_t n, want = f == F_PROOF ? HEARTH_SIG_LEN : HEARTH_ID_LEN;
        e = mp_read_bin(r, &p, &n, want);
        if (e || n != want)
            FAIL(e == HERR_NONCANONICAL ? e : HERR_MALFORMED,
                 f == F_PROOF ? "proof is not 64 bytes" : "pairing is not 32 bytes");
        *(f == F_PROOF ? &b->proof : &b->pairing) = p;
        return HERR_OK;
    }
    case F_SEALED:
        e = mp_read_bin(r, &b->sealed, &b->sealed_len, HEARTH_MSG_MAX_SEALED);
        if (e)
            FAIL(e, e == HERR_TOO_LARGE ? "sealed message too large" : "sealed is not a bin");
        return HERR_OK;
    case F_GRANT:
        e = mp_read_bool(r, &b->grant);
        if (e)
            FAIL(e, "grant is not a boolean");
        b->has_grant = true;
        return HERR_OK;
    case F_UNTIL: {
        e = mp_read_uint(r, &b->until);
        if (e)
            FAIL(e, "until is not an unsigned integer");
        if (b->until > HEARTH_MAX_SEQ)
            FAIL(HERR_INVALID, "until out of range");
        b->has_until = true;
        return HERR_OK;
    }
    case F_HOLD:
    case F_FLAGS: {
        uint64_t v;
        e = mp_read_uint(r, &v);
        if (e)
            FAIL(e, "setting is not an unsigned integer");
        if (v > 1000)
            FAIL(HERR_INVALID, "setting out of range");
        if (f == F_HOLD)
            b->hold = v, b->has_hold = true;
        else
            b->flags = v, b->has_flags = true;
        return HERR_OK;
    }
    }
    return HERR_MALFORMED;
fail:
    return e;
}

/* device_shape - an add names a device with its proof; a revocation names a device;
 * a request names the person, with the device's proof and the pairing hash. A key
 * is never its own device. */
static herr device_shape(const struct event *ev, const char **why)
{
    herr e;
    const struct event_body *b = &ev->b;
    if (!memcmp(b->subject, ev->author, HEARTH_PK_LEN))
        FAIL(HERR_INVALID, "a key cannot be its own device");
    if (b->has_grant && b->grant && (!b->proof || b->pairing || b->has_until))
        FAIL(HERR_INVALID, "a device add carries the device's proof and nothing else");
    if (b->has_grant && !b->grant && (b->proof || b->pairing))
        FAIL(HERR_INVALID, "a device revocation carries no proof");
    if (!b->has_grant && (!b->proof || !b->pairing || b->has_until))
        FAIL(HERR_INVALID, "a pairing request carries a proof and a pairing hash");
    bool add = b->has_grant && b->grant;
    if ((add || !b->has_grant) &&
        !device_proof_ok(b->proof, ev->forum, add ? ev->author : b->subject,
                         add ? b->subject : ev->author))
        FAIL(HERR_INVALID, "the device's proof does not verify");
    return HERR_OK;
fail:
    return e;
}

static herr parse_body(struct event *ev, const char **why)
{
    herr e;
    struct mp_reader r;
    uint32_t count;
    unsigned seen = 0;
    const char *prev = NULL;
    uint32_t prev_n = 0;
    memset(&ev->b, 0, sizeof ev->b);
    mp_reader_init(&r, ev->body, ev->body_len);
    e = mp_read_map(&r, &count, HEARTH_MAX_BODY_FIELDS);
    if (e)
        FAIL(e, e == HERR_TOO_LARGE ? "too many body fields" : "body is not a map");
    for (uint32_t i = 0; i < count; i++) {
        const char *k;
        uint32_t kn;
        e = mp_read_str(&r, &k, &kn, HEARTH_MAX_KEY);
        if (e)
            FAIL(e, "body key is not a short string");
        if (prev && key_cmp(prev, prev_n, k, kn) >= 0)
            FAIL(HERR_NONCANONICAL, "body keys are not in ascending order");
        prev = k, prev_n = kn;
        int f = field_of(k, kn);
        if (f < 0) {
            e = mp_skip(&r, 0, HEARTH_MAX_BODY); /* an unknown key: a scalar */
            if (e)
                FAIL(e, "unknown body field is not a scalar");
            continue;
        }
        e = read_field(&r, f, &ev->b, why);
        if (e)
            goto fail;
        seen |= BIT(f);
    }
    if (!mp_at_end(&r))
        FAIL(HERR_MALFORMED, "trailing bytes after body");

    const struct kind_rule *kr = rule_of(ev->kind);
    if ((seen & kr->required) != kr->required)
        FAIL(HERR_INVALID, "a required body field is missing");
    if (seen & ~(kr->required | kr->optional))
        FAIL(HERR_INVALID, "body field not allowed for this kind");
    if (ev->kind == EK_REACT && !hstr_in(ev->b.reaction, event_reactions))
        FAIL(HERR_INVALID, "unknown reaction");
    if (ev->kind == EK_ROLE && !hstr_in(ev->b.role, event_roles))
        FAIL(HERR_INVALID, "unknown role");
    if (ev->kind == EK_MOD) {
        if (!hstr_in(ev->b.action, actions))
            FAIL(HERR_INVALID, "unknown moderation action");
        static const char *const author_actions[] = {"ban", "unban", NULL};
        bool on_author = hstr_in(ev->b.action, author_actions);
        if (on_author != (ev->b.subject != NULL) || on_author == ev->has_ref)
            FAIL(HERR_INVALID, "ban and unban name a subject, other actions a target");
    }
    if (ev->kind == EK_ROLE) {
        if (ev->b.grant == ev->has_ref)
            FAIL(HERR_INVALID, "a grant has no ref, a revocation refs its grant");
        if (ev->b.grant && ev->b.has_until)
            FAIL(HERR_INVALID, "until belongs to a revocation");
    }
    if (ev->kind == EK_SETTINGS && !seen)
        FAIL(HERR_INVALID, "settings change nothing");
    if (ev->kind == EK_MESSAGE) {
        e = msg_shape(ev->b.sealed, ev->b.sealed_len, ev->author, ev->b.subject, why);
        if (e)
            goto fail;
    }
    if (ev->kind == EK_DEVICE && event_kind_known(EK_DEVICE)) {
        e = device_shape(ev, why);
        if (e)
            goto fail;
    }
    return HERR_OK;
fail:
    return e;
}

herr event_body_str(const uint8_t *body, size_t len, const char *key, struct hstr *out)
{
    struct mp_reader r;
    uint32_t count, kn, n = (uint32_t)strlen(key);
    const char *k;
    out->p = NULL;
    out->n = 0;
    mp_reader_init(&r, body, len);
    if (mp_read_map(&r, &count, HEARTH_MAX_BODY_FIELDS))
        return HERR_MALFORMED;
    for (uint32_t i = 0; i < count; i++) {
        if (mp_read_str(&r, &k, &kn, HEARTH_MAX_KEY))
            return HERR_MALFORMED;
        if (kn == n && memcmp(k, key, n) == 0) {
            if (!mp_read_str(&r, &out->p, &out->n, HEARTH_MAX_BODY))
                return HERR_OK;
            out->p = NULL;
            return HERR_MALFORMED;
        }
        if (mp_skip(&r, 0, HEARTH_MAX_BODY))
            return HERR_MALFORMED;
    }
    return HERR_OK;
}

/* read_ref - a reference: bin(32) or nil. */
static herr read_ref(struct mp_reader *r, bool *has, uint8_t out[HEARTH_ID_LEN])
{
    if (mp_peek(r) == MP_NIL) {
        *has = false;
        return mp_read_nil(r);
    }
    *has = true;
    return mp_read_bin_fixed(r, out, HEARTH_ID_LEN);
}

static herr parse_header(struct event *ev, const char **why)
{
    herr e;
    struct mp_reader r;
    uint32_t count;
    uint64_t v;
    mp_reader_init(&r, ev->header, ev->header_len);
    e = mp_read_array(&r, &count, 64);
    if (e)
        FAIL(e == HERR_NONCANONICAL ? e : HERR_MALFORMED, "header is not an array");
    if (count < 1)
        FAIL(HERR_MALFORMED, "header is empty");
    e = mp_read_uint(&r, &v);
    if (e)
        FAIL(e, "header version is not an unsigned integer");
    if (v != EVENT_VERSION)
        FAIL(HERR_VERSION, "unknown event format version");
    if (count != HEADER_FIELDS)
        FAIL(HERR_MALFORMED, "header has the wrong number of fields");
    ev->version = (uint32_t)v;
    e = read_ref(&r, &ev->has_forum, ev->forum);
    if (e)
        FAIL(e, "forum is not a 32-byte id or nil");
    e = mp_read_bin_fixed(&r, ev->author, HEARTH_PK_LEN);
    if (e)
        FAIL(e, "author is not a 32-byte key");
    e = mp_read_uint(&r, &ev->seq);
    if (e)
        FAIL(e, "seq is not an unsigned integer");
    e = mp_read_uint(&r, &ev->created);
    if (e)
        FAIL(e, "created is not an unsigned integer");
    e = mp_read_uint(&r, &v);
    if (e)
        FAIL(e, "kind is not an unsigned integer");
    if (v == 0 || v > HEARTH_MAX_KIND)
        FAIL(HERR_KIND, "unknown event kind");
    ev->kind = (uint32_t)v;
    e = read_ref(&r, &ev->has_root, ev->root);
    if (e)
        FAIL(e, "root is not a 32-byte id or nil");
    e = read_ref(&r, &ev->has_ref, ev->ref);
    if (e)
        FAIL(e, "ref is not a 32-byte id or nil");
    e = mp_read_bin_fixed(&r, ev->body_hash, HEARTH_ID_LEN);
    if (e)
        FAIL(e, "body hash is not 32 bytes");
    e = mp_read_uint(&r, &v);
    if (e)
        FAIL(e, "body length is not an unsigned integer");
    if (v > HEARTH_MAX_BODY)
        FAIL(HERR_TOO_LARGE, "body too large");
    ev->body_len = (uint32_t)v;
    if (!mp_at_end(&r))
        FAIL(HERR_MALFORMED, "trailing bytes after header");

    if (ev->seq == 0 || ev->seq > HEARTH_MAX_SEQ)
        FAIL(HERR_INVALID, "seq out of range");
    if (ev->created > HEARTH_MAX_SEQ)
        FAIL(HERR_INVALID, "created out of range");
    const struct kind_rule *kr = rule_of(ev->kind);
    if ((ev->kind == EK_GENESIS) == ev->has_forum)
        FAIL(HERR_INVALID, "only the genesis event has no forum");
    if (ev->kind == EK_GENESIS && ev->seq != 1)
        FAIL(HERR_INVALID, "genesis must be its author's first event");
    if (kr->root != REF_OPTIONAL && (kr->root == REF_REQUIRED) != ev->has_root)
        FAIL(HERR_INVALID, kr->root == REF_REQUIRED ? "root missing" : "unexpected root");
    if (ev->kind != EK_MOD && ev->kind != EK_ROLE && kr->ref != REF_OPTIONAL &&
        (kr->ref == REF_REQUIRED) != ev->has_ref)
        FAIL(HERR_INVALID, kr->ref == REF_REQUIRED ? "ref missing" : "unexpected ref");
    return HERR_OK;
fail:
    return e;
}

herr event_parse(struct event *ev, const uint8_t *buf, size_t len, const char **why)
{
    herr e;
    const char *dummy;
    struct mp_reader r;
    uint32_t count, n;
    if (!why)
        why = &dummy;
    *why = "";
    memset(ev, 0, sizeof *ev);
    if (len > HEARTH_MAX_EVENT)
        FAIL(HERR_TOO_LARGE, "event too large");
    mp_reader_init(&r, buf, len);
    e = mp_read_array(&r, &count, ENVELOPE_FIELDS);
    if (e || count != ENVELOPE_FIELDS)
        FAIL(e == HERR_NONCANONICAL ? e : HERR_MALFORMED, "not an event envelope");
    e = mp_read_bin(&r, &ev->header, &ev->header_len, HEARTH_MAX_HEADER);
    if (e)
        FAIL(e, e == HERR_TOO_LARGE ? "header too large" : "header is not a bin");
    e = mp_read_bin(&r, &ev->sig, &n, HEARTH_SIG_LEN);
    if (e || n != HEARTH_SIG_LEN)
        FAIL(e == HERR_NONCANONICAL ? e : HERR_MALFORMED, "signature is not 64 bytes");
    if (mp_peek(&r) == MP_NIL) {
        e = mp_read_nil(&r);
        ev->body = NULL;
    } else {
        e = mp_read_bin(&r, &ev->body, &n, HEARTH_MAX_BODY);
    }
    if (e)
        FAIL(e, e == HERR_TOO_LARGE ? "body too large" : "body is not a bin or nil");
    if (!mp_at_end(&r))
        FAIL(HERR_MALFORMED, "trailing bytes after event");

    e = parse_header(ev, why);
    if (e)
        goto fail;
    hash_id(ev->id, ev->header, ev->header_len);
    if (!ev->body) {
        if (!rule_of(ev->kind)->purgeable)
            FAIL(HERR_INVALID, "body missing on a kind that cannot be purged");
        return HERR_OK;
    }
    if (n != ev->body_len)
        FAIL(HERR_INVALID, "body length does not match header");
    uint8_t h[HEARTH_ID_LEN];
    hash_id(h, ev->body, n);
    if (memcmp(h, ev->body_hash, sizeof h) != 0)
        FAIL(HERR_INVALID, "body does not match its hash");
    return parse_body(ev, why);
fail:
    return e;
}

herr event_verify(const struct event *ev)
{
    return sign_verify(ev->sig, EVENT_SIG_TAG, ev->header, ev->header_len, ev->author)
               ? HERR_OK
               : HERR_BAD_SIG;
}

herr event_check_forum(const struct event *ev, const uint8_t forum[HEARTH_ID_LEN])
{
    const uint8_t *mine = ev->has_forum ? ev->forum : ev->id;
    return memcmp(mine, forum, HEARTH_ID_LEN) == 0 ? HERR_OK : HERR_WRONG_FORUM;
}

static void write_ref(struct mp_writer *w, const uint8_t *ref)
{
    if (ref)
        mp_write_bin(w, ref, HEARTH_ID_LEN);
    else
        mp_write_nil(w);
}

static void write_body(struct mp_writer *w, const struct event_body *b)
{
    const struct hstr *strs[F_COUNT] = {
        [F_ABOUT] = &b->about, [F_ACTION] = &b->action,     [F_CW] = &b->cw,
        [F_NAME] = &b->name,   [F_REACTION] = &b->reaction, [F_REASON] = &b->reason,
        [F_ROLE] = &b->role,   [F_TEXT] = &b->text,         [F_TITLE] = &b->title,
    };
    bool present[F_COUNT];
    uint32_t count = 0;
    for (int f = 0; f < F_COUNT; f++) {
        present[f] = strs[f]          ? strs[f]->p != NULL
                     : f == F_SUBJECT ? b->subject != NULL
                     : f == F_SEALED  ? b->sealed != NULL
                     : f == F_PROOF   ? b->proof != NULL
                     : f == F_PAIRING ? b->pairing != NULL
                     : f == F_GRANT   ? b->has_grant
                     : f == F_HOLD    ? b->has_hold
                     : f == F_UNTIL   ? b->has_until
                                      : b->has_flags;
        count += present[f];
    }
    mp_write_map(w, count);
    for (int f = 0; f < F_COUNT; f++) {
        if (!present[f])
            continue;
        mp_write_str(w, field_key[f], strlen(field_key[f]));
        if (strs[f])
            mp_write_str(w, strs[f]->p, strs[f]->n);
        else if (f == F_SUBJECT)
            mp_write_bin(w, b->subject, HEARTH_PK_LEN);
        else if (f == F_SEALED)
            mp_write_bin(w, b->sealed, b->sealed_len);
        else if (f == F_PROOF)
            mp_write_bin(w, b->proof, HEARTH_SIG_LEN);
        else if (f == F_PAIRING)
            mp_write_bin(w, b->pairing, HEARTH_ID_LEN);
        else if (f == F_GRANT)
            mp_write_bool(w, b->grant);
        else
            mp_write_uint(w, f == F_HOLD ? b->hold : f == F_UNTIL ? b->until : b->flags);
    }
}

herr event_build(const struct event_draft *d, const struct hkey *k, struct hbuf *out,
                 uint8_t id[HEARTH_ID_LEN], const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    *why = "";
    struct hbuf body, header;
    struct mp_writer w;
    uint8_t body_hash[HEARTH_ID_LEN], sig[HEARTH_SIG_LEN];
    size_t start = out->len;
    hbuf_init(&body, HEARTH_MAX_BODY);
    hbuf_init(&header, HEARTH_MAX_HEADER);

    mp_writer_init(&w, &body);
    write_body(&w, &d->b);
    herr e = mp_writer_status(&w);
    if (e) {
        *why = e == HERR_TOO_LARGE ? "body too large" : "cannot encode body";
        goto done;
    }
    hash_id(body_hash, body.data, body.len);

    mp_writer_init(&w, &header);
    mp_write_array(&w, HEADER_FIELDS);
    mp_write_uint(&w, EVENT_VERSION);
    write_ref(&w, d->forum);
    mp_write_bin(&w, k->pk, HEARTH_PK_LEN);
    mp_write_uint(&w, d->seq);
    mp_write_uint(&w, d->created);
    mp_write_uint(&w, d->kind);
    write_ref(&w, d->root);
    write_ref(&w, d->ref);
    mp_write_bin(&w, body_hash, HEARTH_ID_LEN);
    mp_write_uint(&w, body.len);
    e = mp_writer_status(&w);
    if (e) {
        *why = "cannot encode header";
        goto done;
    }
    sign_detached(sig, EVENT_SIG_TAG, header.data, header.len, k);
    e = event_envelope(out, header.data, header.len, sig, body.data, body.len);
    if (e) {
        *why = "cannot encode envelope";
        goto done;
    }
    struct event ev;
    e = event_parse(&ev, out->data + start, out->len - start, why);
    if (!e)
        e = event_verify(&ev);
    if (!e)
        memcpy(id, ev.id, HEARTH_ID_LEN);
done:
    if (e)
        out->len = start;
    hbuf_release(&body);
    hbuf_release(&header);
    return e;
}

herr event_envelope(struct hbuf *out, const uint8_t *header, size_t header_len, const uint8_t *sig,
                    const uint8_t *body, size_t body_len)
{
    struct mp_writer w;
    size_t start = out->len;
    mp_writer_init(&w, out);
    mp_write_array(&w, ENVELOPE_FIELDS);
    mp_write_bin(&w, header, header_len);
    mp_write_bin(&w, sig, HEARTH_SIG_LEN);
    if (body)
        mp_write_bin(&w, body, body_len);
    else
        mp_write_nil(&w);
    herr e = mp_writer_status(&w);
    if (e)
        out->len = start;
    return e;
}
