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

#endif
