/* members.h - browser members: accounts, invites and reading state, local to one hub.
 *
 * A person who uses the forum through a hub's web pages has an ordinary author key;
 * the hub keeps its seed sealed under their passphrase (seed_seal, base/crypto.h) in
 * an account named by a login. People join with an invite code that a founder, admin
 * or moderator made, and the hub remembers, per member, what they have read.
 *
 * These tables are part of the store's file but not of the forum: they are never
 * gossiped, never exported, never in a bundle, and not in store_view_digest. Two hubs
 * of one forum have different members. Each function is one transaction.
 *
 * Invite codes are stored as they are, not hashed: `hearth invite --list` shows them
 * so that a moderator can print a lost poster again, which a hash could not do. A
 * stolen database therefore yields the unused codes; that is accepted, because the
 * database holds the whole forum anyway, a code only lets someone open an account on
 * this hub (which posts under a new pseudonym, as any member may), and revoking the
 * codes of a lost disk is one command each.
 *
 * Errors and details as for the rest of the store (store_errmsg). All functions need
 * a store opened for writing, except the getters; a read-only store answers
 * HERR_READONLY to the others.
 */
#ifndef HEARTH_MEMBERS_H
#define HEARTH_MEMBERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/crypto.h"
#include "base/herr.h"
#include "base/limits.h"
#include "store/store.h"

/* Login names: 1 to 32 bytes of [a-z0-9._-]; the caller lower-cases what people type. */
#define STORE_LOGIN_MAX 32

/* Invite codes: 16 symbols of "23456789ABCDEFGHJKMNPQRSTUVWXYZ" (no 0/O, 1/I/L: a code
 * is read off a poster and typed on a phone), about 79 bits. A front end may show it
 * in groups (ABCD-EFGH-JKMN-PQRS): checks upper-case what they are given and ignore
 * '-' and spaces. */
#define STORE_INVITE_CODE_LEN 16
#define STORE_INVITE_ALPHABET "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

/* ---- accounts ---- */

/* store_account_create - make the account `login` for the author key pk, whose seed
 * is sealed in `sealed`, in ONE transaction: when invite_code is not NULL it must be
 * usable at now_ms (known, unused, unrevoked, unexpired) and is marked used by pk;
 * then the account is inserted. HERR_USAGE for a bad login name; HERR_DUPLICATE when
 * the login or pk already has an account; HERR_DENIED when the invite is unknown,
 * used, revoked or expired (one code for all; store_errmsg says which). On any error
 * nothing changes: the invite stays unused. invite_code NULL: no invite needed (the
 * front end decides when that is allowed, e.g. the hub's first account). */
HEARTH_MUST_CHECK herr store_account_create(struct store *s, const char *login,
                                            const uint8_t pk[HEARTH_PK_LEN],
                                            const uint8_t sealed[HEARTH_SEALED_SEED_LEN],
                                            const char *invite_code, uint64_t now_ms);

/* store_account_get - the key and sealed seed of `login`. HERR_NOT_FOUND. */
HEARTH_MUST_CHECK herr store_account_get(struct store *s, const char *login,
                                         uint8_t pk[HEARTH_PK_LEN],
                                         uint8_t sealed[HEARTH_SEALED_SEED_LEN]);

/* store_account_login_of - the login of the account with key pk. HERR_NOT_FOUND. */
HEARTH_MUST_CHECK herr store_account_login_of(struct store *s, const uint8_t pk[HEARTH_PK_LEN],
                                              char login[STORE_LOGIN_MAX + 1]);

/* store_account_set_sealed - replace the sealed seed of `login` (a passphrase change,
 * or a reseal with higher limits). HERR_NOT_FOUND. */
HEARTH_MUST_CHECK herr store_account_set_sealed(struct store *s, const char *login,
                                                const uint8_t sealed[HEARTH_SEALED_SEED_LEN]);

/* ---- invites ---- */

struct store_invite {
    char code[STORE_INVITE_CODE_LEN + 1];
    uint8_t creator[HEARTH_PK_LEN];
    uint64_t created, expires; /* ms since the epoch, the hub's clock */
    bool used, revoked;
    uint8_t used_by[HEARTH_PK_LEN]; /* zero unless used */
};

/* store_invite_create - a new single-use invite code (random_bytes), valid from now_ms
 * until expires_ms, made by `creator`. HERR_DENIED unless creator is the founder or
 * currently holds the admin or moderator role in the view; HERR_USAGE when expires_ms
 * is not after now_ms. */
HEARTH_MUST_CHECK herr store_invite_create(struct store *s, const uint8_t creator[HEARTH_PK_LEN],
                                           uint64_t now_ms, uint64_t expires_ms,
                                           char code[STORE_INVITE_CODE_LEN + 1]);

/* store_invites - every invite, used, revoked and expired ones too, newest first.
 * Caller owns *out (free()); *out is NULL when there are none. */
HEARTH_MUST_CHECK herr store_invites(struct store *s, struct store_invite **out, size_t *n);

/* store_invite_revoke - make `code` unusable (typed as for store_invite_check). Revoking
 * a used or revoked invite is HERR_OK and changes nothing. HERR_NOT_FOUND. */
HEARTH_MUST_CHECK herr store_invite_revoke(struct store *s, const char *code);

/* store_invite_check - HERR_OK when `code` (any case, '-' and spaces ignored) is
 * usable at now_ms, else HERR_DENIED with the reason in store_errmsg. */
HEARTH_MUST_CHECK herr store_invite_check(struct store *s, const char *code, uint64_t now_ms);

/* ---- the owner's login links ---- */

/* `hearth open` signs the owner of a node in to its own web pages with a link that
 * holds a random token of STORE_OWNER_TOKEN_LEN bytes (hex in the link). The hub keeps
 * only its BLAKE2b-256 hash, with an expiry, in the local settings (key
 * STORE_OWNER_TOKEN_PREFIX + hex of the hash, value the expiry in ms): a stolen
 * database holds no usable token. A token works once: taking it deletes it, and of
 * two requests racing with one token only one deletes it. */
#define STORE_OWNER_TOKEN_LEN 32
#define STORE_OWNER_TOKEN_PREFIX "owner-login:"

/* store_owner_token_add - remember token until expires_ms, and forget the tokens
 * expired at now_ms. HERR_USAGE when expires_ms is not after now_ms. */
HEARTH_MUST_CHECK herr store_owner_token_add(struct store *s,
                                             const uint8_t token[STORE_OWNER_TOKEN_LEN],
                                             uint64_t now_ms, uint64_t expires_ms);

/* store_owner_token_take - HERR_OK, once, when hex is the hex of a remembered token
 * unexpired at now_ms; it is forgotten then. HERR_DENIED otherwise (malformed,
 * unknown, used or expired: store_errmsg says which). */
HEARTH_MUST_CHECK herr store_owner_token_take(struct store *s, const char *hex, uint64_t now_ms);

/* ---- reading state ---- */

/* store_seen_get / store_seen_set - a member's reading marks: a number per (pk, what),
 * where `what` is the front end's name for a place ("boards", "replies",
 * "thread:<hex>") of at most HEARTH_MAX_SEEN_WHAT bytes (else HERR_USAGE), and value is
 * usually a time in ms. get: *value is 0 when never set (not an error). */
HEARTH_MUST_CHECK herr store_seen_get(struct store *s, const uint8_t pk[HEARTH_PK_LEN],
                                      const char *what, uint64_t *value);
HEARTH_MUST_CHECK herr store_seen_set(struct store *s, const uint8_t pk[HEARTH_PK_LEN],
                                      const char *what, uint64_t value);

#endif
