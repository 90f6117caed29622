/* crypto.h - all of hearth's cryptography, over libsodium.
 *
 * Author keys sign events (Ed25519). Node keys secure the transport (CURVE, X25519)
 * and are different keys, so that a stolen hub's transport key never signs a post.
 * Both are kept as 32-byte seeds in files of mode 0600 inside the data directory;
 * the secret parts are wiped with sodium_memzero on every exit path.
 *
 * Event ids are BLAKE2b-256 of the signed header bytes (docs/EVENTS.md).
 */
#ifndef HEARTH_CRYPTO_H
#define HEARTH_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/herr.h"

#define HEARTH_ID_LEN 32
#define HEARTH_PK_LEN 32
#define HEARTH_SIG_LEN 64
#define HEARTH_SEED_LEN 32

/* An Ed25519 signing key pair (author key). */
struct hkey {
    uint8_t pk[HEARTH_PK_LEN];
    uint8_t sk[64];
};

/* crypto_start - initialise libsodium; call once before anything else here. */
HEARTH_MUST_CHECK herr crypto_start(void);

/* hkey_from_seed - derive the key pair for a 32-byte seed. */
void hkey_from_seed(struct hkey *k, const uint8_t seed[HEARTH_SEED_LEN]);

/* hkey_wipe - zero the secret key. */
void hkey_wipe(struct hkey *k);

/* seed_file_load - read the 32-byte seed in `path`, or, when it does not exist and
 * `create` is true, make a random one and write it (mode 0600, fsynced) and set
 * *created. HERR_NOT_FOUND when absent and !create; HERR_CORRUPT when the file is not
 * exactly one seed; HERR_IO / HERR_READONLY otherwise. */
HEARTH_MUST_CHECK herr seed_file_load(const char *path, bool create, uint8_t seed[HEARTH_SEED_LEN],
                                      bool *created);

/* seed_file_save - write seed to a new file `path` (mode 0600, fsynced): a recovered
 * identity. HERR_STATE when the file exists. */
HEARTH_MUST_CHECK herr seed_file_save(const char *path, const uint8_t seed[HEARTH_SEED_LEN]);

/* hash_keyed - BLAKE2b-256 of p[0..n) keyed with key[0..keylen) (16..64 bytes): a
 * device pairing request's hash (docs/EVENTS.md, 6.3). */
void hash_keyed(uint8_t out[HEARTH_ID_LEN], const uint8_t *key, size_t keylen, const void *p,
                size_t n);

/* nodekey_from_seed - the X25519 (CURVE) key pair of a node's transport key. */
void nodekey_from_seed(uint8_t pk[HEARTH_PK_LEN], uint8_t sk[32],
                       const uint8_t seed[HEARTH_SEED_LEN]);

/* hash_id - BLAKE2b-256 of p[0..n). */
void hash_id(uint8_t out[HEARTH_ID_LEN], const void *p, size_t n);

/* sign_detached - Ed25519 signature of tag || msg (tag is a domain-separation string
 * including its terminating NUL, see docs/EVENTS.md). */
void sign_detached(uint8_t sig[HEARTH_SIG_LEN], const char *tag, const uint8_t *msg, size_t n,
                   const struct hkey *k);

/* sign_verify - true when sig is pk's signature of tag || msg. */
bool sign_verify(const uint8_t sig[HEARTH_SIG_LEN], const char *tag, const uint8_t *msg, size_t n,
                 const uint8_t pk[HEARTH_PK_LEN]);

/* hex_encode - lower-case hex of p[0..n) into out, which holds 2n+1 bytes. */
void hex_encode(char *out, const uint8_t *p, size_t n);

/* hex_digit - the value 0..15 of a hex digit (either case), or -1. */
int hex_digit(char c);

/* hex_decode - decode exactly 2n hex digits of s into out[0..n). HERR_USAGE when s is
 * not that. */
HEARTH_MUST_CHECK herr hex_decode(uint8_t *out, size_t n, const char *s);

/* secret_wipe - zero n bytes of secret material in a way the compiler keeps. */
void secret_wipe(void *p, size_t n);

/* random_bytes - n bytes from the system's CSPRNG. */
void random_bytes(void *p, size_t n);

/* random_uniform - a uniform number below upper (upper > 0). */
uint32_t random_uniform(uint32_t upper);

/* ---- an author seed sealed under a passphrase (browser members' keys) ----
 *
 * A hub keeps each browser member's author seed encrypted under the member's
 * passphrase, and opens it only while they are logged in. A 32-byte key is derived
 * from the passphrase and a random salt with Argon2id (crypto_pwhash), and the seed is
 * sealed with it by crypto_secretbox (XSalsa20-Poly1305). The derived key is wiped on
 * every path. The sealed blob has a fixed size:
 *
 *   version (1 byte, 1) | opslimit (4, big-endian) | memlimit in KiB (4, big-endian) |
 *   salt (16) | nonce (24) | the sealed seed with its MAC (32 + 16)
 *
 * The limits travel in the blob so that they can be raised for new seals (or at a
 * passphrase change) while old blobs still open. A wrong passphrase and an altered
 * byte look the same (the MAC fails), except that an unknown version or limits
 * outside HEARTH_SEAL_MAX_OPSLIMIT / HEARTH_SEAL_MAX_MEMLIMIT (base/limits.h) are
 * refused before any hashing: a blob cannot make the hub spend unbounded time or
 * memory.
 *
 * The production limits, measured on the development machine (2-core AMD EPYC VM,
 * libsodium 1.0.18): 12 passes over 64 MiB take 0.34 s per hash (8 passes 0.27 s,
 * 14 passes 0.40 s). A small ARM board is several times slower, so expect one to two
 * seconds per login there; 64 MiB is held only while a hash runs, so a front end
 * should run one hash at a time (docs/SECURITY.md, "Browser members' keys"). */
#define SEED_SEAL_VERSION 1
#define SEED_SEAL_OPSLIMIT 12ULL
#define SEED_SEAL_MEMLIMIT (64ULL * 1024 * 1024)
#define HEARTH_SEAL_SALT_LEN 16
#define HEARTH_SEAL_NONCE_LEN 24
#define HEARTH_SEAL_MAC_LEN 16
#define HEARTH_SEALED_SEED_LEN                                                                     \
    (1 + 4 + 4 + HEARTH_SEAL_SALT_LEN + HEARTH_SEAL_NONCE_LEN + HEARTH_SEED_LEN +                  \
     HEARTH_SEAL_MAC_LEN) /* 97 */

/* seed_seal - seal seed under the passphrase pass[0..pass_len) (any bytes; the front
 * end decides what it accepts) with the production limits above. Takes about a third
 * of a second and 64 MiB. HERR_NOMEM when Argon2id cannot get its memory; HERR_USAGE
 * for a passphrase longer than libsodium accepts. On failure out is zeroed. */
HEARTH_MUST_CHECK herr seed_seal(uint8_t out[HEARTH_SEALED_SEED_LEN],
                                 const uint8_t seed[HEARTH_SEED_LEN], const char *pass,
                                 size_t pass_len);

/* seed_seal_limits - seed_seal with explicit Argon2id limits (opslimit passes over
 * memlimit bytes, a multiple of 1 KiB). For tests, which cannot spend a third of a
 * second per case, and for a later raise of the limits. HERR_USAGE when the limits are
 * below libsodium's minimum or above the HEARTH_SEAL_MAX_* maximums. */
HEARTH_MUST_CHECK herr seed_seal_limits(uint8_t out[HEARTH_SEALED_SEED_LEN],
                                        const uint8_t seed[HEARTH_SEED_LEN], const char *pass,
                                        size_t pass_len, uint64_t opslimit, uint64_t memlimit);

/* seed_unseal - open the n-byte blob `sealed` with the passphrase. HERR_DENIED for a
 * wrong passphrase (or an altered salt, limit, nonce or ciphertext: the MAC fails);
 * HERR_MALFORMED when n is not HEARTH_SEALED_SEED_LEN, the version is not one this
 * program knows, or the limits are out of bounds; HERR_NOMEM when Argon2id cannot get
 * its memory. On failure seed is zeroed. */
HEARTH_MUST_CHECK herr seed_unseal(uint8_t seed[HEARTH_SEED_LEN], const uint8_t *sealed, size_t n,
                                   const char *pass, size_t pass_len);

/* seed_sealed_limits - the Argon2id limits a well-formed blob was sealed with, so that
 * a front end can reseal at the next login when they are below the production ones.
 * HERR_MALFORMED as for seed_unseal. */
HEARTH_MUST_CHECK herr seed_sealed_limits(const uint8_t *sealed, size_t n, uint64_t *opslimit,
                                          uint64_t *memlimit);

/* ---- a message sealed to its readers (the private channel with the moderators) ----
 *
 * A message event (docs/EVENTS.md, kind 14) carries its text encrypted so that only
 * the keys it names can read it, while every node holds and gossips it like any
 * other event. The text is encrypted once with a random 32-byte content key by
 * XChaCha20-Poly1305 (IETF), with the forum id, the author's key and the subject's
 * key as additional data, so that the ciphertext cannot be lifted into another
 * author's event or conversation; the content key is sealed (crypto_box_seal: an
 * ephemeral X25519 key and XSalsa20-Poly1305) to each reader's X25519 key, converted
 * from the reader's Ed25519 author key (crypto_sign_ed25519_pk_to_curve25519), so a
 * member needs no key besides the one they sign with. The layout:
 *
 *   version (1 byte, 1) | nonce (24) | n, the readers (1 byte, 1..HEARTH_MSG_MAX_READERS) |
 *   n x [ reader's author key (32) | the sealed content key (32 + 48) ] |
 *   the ciphertext with its tag (text length + 16)
 *
 * with the readers in ascending byte order, each once. Who the readers are is
 * visible to every node (as the author and the subject are); what they read is not. */
#define HEARTH_MSG_VERSION 1
#define HEARTH_MSG_MAX_READERS 32
#define HEARTH_MSG_MAX_TEXT 10000                   /* bytes of a message's text */
#define HEARTH_MSG_HEAD (1 + 24 + 1)                /* version, nonce, count */
#define HEARTH_MSG_READER (HEARTH_PK_LEN + 32 + 48) /* key, sealed content key: 112 */
#define HEARTH_MSG_TAG 16
#define HEARTH_MSG_MAX_SEALED                                                                      \
    (HEARTH_MSG_HEAD + HEARTH_MSG_MAX_READERS * HEARTH_MSG_READER + HEARTH_MSG_MAX_TEXT +          \
     HEARTH_MSG_TAG) /* 13,626 */

/* msg_sealed_len - the size of a message to n readers with a text of len bytes. */
size_t msg_sealed_len(size_t n, size_t len);

/* msg_seal - encrypt text[0..len) (1..HEARTH_MSG_MAX_TEXT bytes) to the n readers
 * (author keys, in any order, duplicates allowed: they are sorted and merged) into
 * out, which holds msg_sealed_len(n, len) bytes; *out_len gets the length used (less
 * when readers repeat). ad is forum id | author | subject (96 bytes). HERR_USAGE for
 * no reader, too many, or a text out of bounds; HERR_INVALID when a reader's key is
 * not a point that can receive (crypto_sign_ed25519_pk_to_curve25519 refuses it). */
HEARTH_MUST_CHECK herr msg_seal(uint8_t *out, size_t *out_len, const uint8_t ad[96],
                                const uint8_t (*readers)[HEARTH_PK_LEN], size_t n, const char *text,
                                size_t len);

/* msg_shape - check the layout of sealed[0..n) without opening it: the version, the
 * count, readers ascending and once each, the length, and that `a` and `b` (the
 * author and the subject) are both readers. HERR_OK, or HERR_MALFORMED / HERR_VERSION
 * / HERR_INVALID with *why. What peers check before they store a message. */
HEARTH_MUST_CHECK herr msg_shape(const uint8_t *sealed, size_t n, const uint8_t a[HEARTH_PK_LEN],
                                 const uint8_t b[HEARTH_PK_LEN], const char **why);

/* msg_is_reader - true when pk is one of a well-shaped message's readers. */
bool msg_is_reader(const uint8_t *sealed, size_t n, const uint8_t pk[HEARTH_PK_LEN]);

/* msg_open - the text of a well-shaped message, for the reader k: into a new
 * NUL-terminated string *text (free it; wipe it first if you care). HERR_DENIED when
 * k is not a reader, or the message does not open with k (altered, or ad is not the
 * one it was sealed with); HERR_NOMEM. */
HEARTH_MUST_CHECK herr msg_open(const struct hkey *k, const uint8_t ad[96], const uint8_t *sealed,
                                size_t n, char **text);

#endif
