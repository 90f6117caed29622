/* session.h - who is logged in to the web pages, and how often people may try.
 *
 * A session is made only by a good login (or a join): a random 256-bit token goes to
 * the browser in a cookie, and with it the member's signing key, derived from their
 * unsealed seed into memory from sodium_malloc (guarded pages, never swapped, wiped
 * on free). A session ends at logout, after `idle_ms` without a request, or when the
 * table is full and it is the least recently used; its key is wiped then. A token
 * presented by a browser is never adopted: logging in always makes a new one, so a
 * planted cookie (session fixation) leads nowhere. Each session has its own CSRF
 * token, which every form carries.
 *
 * The limiter counts failures (bad passphrases, bad invite codes) per key (an
 * account, an address) in fixed windows, in a bounded table.
 *
 * Both are safe to use from several threads (one mutex each).
 */
#ifndef HEARTH_WEB_SESSION_H
#define HEARTH_WEB_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/crypto.h"
#include "base/herr.h"

#define SESSION_TOKEN_HEX 64
#define SESSION_LOGIN_MAX 32

struct sessions;

/* What a request learns of its session: a copy, safe to use after the lock. */
struct session_info {
    char token[SESSION_TOKEN_HEX + 1];
    char csrf[SESSION_TOKEN_HEX + 1];
    char login[SESSION_LOGIN_MAX + 1];
    uint8_t pk[HEARTH_PK_LEN];
    bool asked; /* its key asked to become a device (sessions_note_asked) */
};

/* sessions_new - a table of at most max sessions ending after idle_ms unused.
 * NULL when out of memory. */
struct sessions *sessions_new(size_t max, uint64_t idle_ms);

/* sessions_destroy - wipe every key and free; NULL-safe; sets *s to NULL. */
void sessions_destroy(struct sessions **s);

/* sessions_create - a new session for login, holding the key of seed (copied; the
 * caller wipes its own). Fills *out. HERR_NOMEM when no guarded memory is left. */
HEARTH_MUST_CHECK herr sessions_create(struct sessions *s, const uint8_t seed[HEARTH_SEED_LEN],
                                       const char *login, uint64_t now_ms,
                                       struct session_info *out);

/* sessions_note_asked - note that the key of the session of token asked to become
 * a device of a person (store_pair_asked): the web lets it post only once it is one.
 * Noted at login, so that pages do not ask the store on every request. */
void sessions_note_asked(struct sessions *s, const char *token);

/* sessions_find - the live session of token (compared in constant time), touched at
 * now_ms. false when none (unknown, ended or idle too long). */
bool sessions_find(struct sessions *s, const char *token, uint64_t now_ms,
                   struct session_info *out);

/* sessions_sign_key - copy the session's key into *k (which the caller keeps in
 * sodium_malloc memory and wipes with hkey_wipe). false when the session is gone. */
bool sessions_sign_key(struct sessions *s, const char *token, struct hkey *k);

/* sessions_end - end the session of token, wiping its key. */
void sessions_end(struct sessions *s, const char *token);

/* sessions_end_member - end every session of the member pk (a passphrase change). */
void sessions_end_member(struct sessions *s, const uint8_t pk[HEARTH_PK_LEN]);

/* sessions_expire - end those idle since before now_ms - idle_ms. */
void sessions_expire(struct sessions *s, uint64_t now_ms);

/* sessions_count - how many are open. */
size_t sessions_count(struct sessions *s);

struct limiter;

/* limiter_new - allow `max` failures per key in each window of window_ms, tracking at
 * most `slots` keys (the oldest window is forgotten first). NULL when out of memory. */
struct limiter *limiter_new(size_t slots, unsigned max, uint64_t window_ms);
void limiter_destroy(struct limiter **l);

/* limiter_blocked - true when key has used its failures in the current window. */
bool limiter_blocked(struct limiter *l, const char *key, uint64_t now_ms);

/* limiter_fail - count one failure for key. */
void limiter_fail(struct limiter *l, const char *key, uint64_t now_ms);

#endif
