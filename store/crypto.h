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

#include "store/herr.h"

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
 * outside HEARTH_SEAL_MAX_OPSLIMIT / HEARTH_SEAL_MAX_MEMLIMIT (store/limits.h) are
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

#endif
