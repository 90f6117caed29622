#include "base/crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/limits.h"

herr crypto_start(void)
{
    return sodium_init() < 0 ? HERR_NOMEM : HERR_OK;
}

void hkey_from_seed(struct hkey *k, const uint8_t seed[HEARTH_SEED_LEN])
{
    crypto_sign_seed_keypair(k->pk, k->sk, seed);
}

void hkey_wipe(struct hkey *k)
{
    sodium_memzero(k->sk, sizeof k->sk);
}

static herr read_seed(int fd, uint8_t seed[HEARTH_SEED_LEN])
{
    uint8_t buf[HEARTH_SEED_LEN + 1];
    size_t got = 0;
    while (got < sizeof buf) {
        ssize_t r = read(fd, buf + got, sizeof buf - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return herr_from_errno(errno);
        if (r == 0)
            break;
        got += (size_t)r;
    }
    herr e = got == HEARTH_SEED_LEN ? HERR_OK : HERR_CORRUPT;
    if (!e)
        memcpy(seed, buf, HEARTH_SEED_LEN);
    sodium_memzero(buf, sizeof buf);
    return e;
}

static herr write_seed(const char *path, const uint8_t seed[HEARTH_SEED_LEN])
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return herr_from_errno(errno);
    herr e = HERR_OK;
    ssize_t w = write(fd, seed, HEARTH_SEED_LEN);
    if (w != HEARTH_SEED_LEN)
        e = w < 0 ? herr_from_errno(errno) : HERR_IO;
    else if (fsync(fd) != 0)
        e = herr_from_errno(errno);
    if (close(fd) != 0 && !e)
        e = herr_from_errno(errno);
    if (e)
        unlink(path);
    return e;
}

herr seed_file_load(const char *path, bool create, uint8_t seed[HEARTH_SEED_LEN], bool *created)
{
    if (created)
        *created = false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        herr e = read_seed(fd, seed);
        close(fd);
        return e;
    }
    if (errno != ENOENT || !create)
        return herr_from_errno(errno);
    randombytes_buf(seed, HEARTH_SEED_LEN);
    herr e = write_seed(path, seed);
    if (e) {
        sodium_memzero(seed, HEARTH_SEED_LEN);
        return e;
    }
    if (created)
        *created = true;
    return HERR_OK;
}

herr seed_file_save(const char *path, const uint8_t seed[HEARTH_SEED_LEN])
{
    if (access(path, F_OK) == 0)
        return HERR_STATE;
    return write_seed(path, seed);
}

void hash_keyed(uint8_t out[HEARTH_ID_LEN], const uint8_t *key, size_t keylen, const void *p,
                size_t n)
{
    crypto_generichash(out, HEARTH_ID_LEN, p, n, key, keylen);
}

void nodekey_from_seed(uint8_t pk[HEARTH_PK_LEN], uint8_t sk[32],
                       const uint8_t seed[HEARTH_SEED_LEN])
{
    crypto_box_seed_keypair(pk, sk, seed);
}

void hash_id(uint8_t out[HEARTH_ID_LEN], const void *p, size_t n)
{
    crypto_generichash(out, HEARTH_ID_LEN, p, n, NULL, 0);
}

/* The signed message is tag || msg; headers are small (HEARTH_MAX_HEADER), so the
 * concatenation fits on the stack. */
#define SIGN_MAX 1024

void sign_detached(uint8_t sig[HEARTH_SIG_LEN], const char *tag, const uint8_t *msg, size_t n,
                   const struct hkey *k)
{
    uint8_t buf[SIGN_MAX];
    size_t t = strlen(tag) + 1;
    if (t + n > sizeof buf) {
        /* Programmer error: callers sign only bounded headers. */
        memset(sig, 0, HEARTH_SIG_LEN);
        return;
    }
    memcpy(buf, tag, t);
    memcpy(buf + t, msg, n);
    crypto_sign_detached(sig, NULL, buf, t + n, k->sk);
}

bool sign_verify(const uint8_t sig[HEARTH_SIG_LEN], const char *tag, const uint8_t *msg, size_t n,
                 const uint8_t pk[HEARTH_PK_LEN])
{
    uint8_t buf[SIGN_MAX];
    size_t t = strlen(tag) + 1;
    if (t + n > sizeof buf)
        return false;
    memcpy(buf, tag, t);
    memcpy(buf + t, msg, n);
    return crypto_sign_verify_detached(sig, buf, t + n, pk) == 0;
}

void hex_encode(char *out, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = 0;
}

int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

herr hex_decode(uint8_t *out, size_t n, const char *s)
{
    if (strlen(s) != 2 * n)
        return HERR_USAGE;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return HERR_USAGE;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return HERR_OK;
}

void secret_wipe(void *p, size_t n)
{
    sodium_memzero(p, n);
}

void random_bytes(void *p, size_t n)
{
    randombytes_buf(p, n);
}

uint32_t random_uniform(uint32_t upper)
{
    return randombytes_uniform(upper);
}

/* ---- sealed seeds ---- */

/* Offsets in a sealed blob (base/crypto.h). */
enum {
    SEAL_OPS = 1,
    SEAL_MEM = SEAL_OPS + 4,
    SEAL_SALT = SEAL_MEM + 4,
    SEAL_NONCE = SEAL_SALT + HEARTH_SEAL_SALT_LEN,
    SEAL_BOX = SEAL_NONCE + HEARTH_SEAL_NONCE_LEN,
};

_Static_assert(SEAL_BOX + HEARTH_SEED_LEN + HEARTH_SEAL_MAC_LEN == HEARTH_SEALED_SEED_LEN,
               "sealed seed layout");
_Static_assert(HEARTH_SEAL_SALT_LEN == crypto_pwhash_SALTBYTES, "salt size");
_Static_assert(HEARTH_SEAL_NONCE_LEN == crypto_secretbox_NONCEBYTES, "nonce size");
_Static_assert(HEARTH_SEAL_MAC_LEN == crypto_secretbox_MACBYTES, "mac size");

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool seal_limits_ok(uint64_t ops, uint64_t mem)
{
    return ops >= crypto_pwhash_OPSLIMIT_MIN && ops <= HEARTH_SEAL_MAX_OPSLIMIT &&
           mem >= crypto_pwhash_MEMLIMIT_MIN && mem <= HEARTH_SEAL_MAX_MEMLIMIT && mem % 1024 == 0;
}

/* seal_key - the Argon2id key for a passphrase and salt. libsodium fails only when it
 * cannot allocate (the arguments were checked), hence HERR_NOMEM. */
static herr seal_key(uint8_t key[crypto_secretbox_KEYBYTES], const char *pass, size_t pass_len,
                     const uint8_t *salt, uint64_t ops, uint64_t mem)
{
    if (crypto_pwhash(key, crypto_secretbox_KEYBYTES, pass, pass_len, salt, ops, (size_t)mem,
                      crypto_pwhash_ALG_ARGON2ID13) != 0) {
        sodium_memzero(key, crypto_secretbox_KEYBYTES);
        return HERR_NOMEM;
    }
    return HERR_OK;
}

herr seed_seal_limits(uint8_t out[HEARTH_SEALED_SEED_LEN], const uint8_t seed[HEARTH_SEED_LEN],
                      const char *pass, size_t pass_len, uint64_t opslimit, uint64_t memlimit)
{
    uint8_t key[crypto_secretbox_KEYBYTES];
    memset(out, 0, HEARTH_SEALED_SEED_LEN);
    if (!seal_limits_ok(opslimit, memlimit) || pass_len > crypto_pwhash_PASSWD_MAX)
        return HERR_USAGE;
    out[0] = SEED_SEAL_VERSION;
    put_be32(out + SEAL_OPS, (uint32_t)opslimit);
    put_be32(out + SEAL_MEM, (uint32_t)(memlimit / 1024));
    randombytes_buf(out + SEAL_SALT, HEARTH_SEAL_SALT_LEN);
    randombytes_buf(out + SEAL_NONCE, HEARTH_SEAL_NONCE_LEN);
    herr e = seal_key(key, pass, pass_len, out + SEAL_SALT, opslimit, memlimit);
    if (!e)
        crypto_secretbox_easy(out + SEAL_BOX, seed, HEARTH_SEED_LEN, out + SEAL_NONCE, key);
    else
        memset(out, 0, HEARTH_SEALED_SEED_LEN);
    sodium_memzero(key, sizeof key);
    return e;
}

herr seed_seal(uint8_t out[HEARTH_SEALED_SEED_LEN], const uint8_t seed[HEARTH_SEED_LEN],
               const char *pass, size_t pass_len)
{
    return seed_seal_limits(out, seed, pass, pass_len, SEED_SEAL_OPSLIMIT, SEED_SEAL_MEMLIMIT);
}

herr seed_sealed_limits(const uint8_t *sealed, size_t n, uint64_t *opslimit, uint64_t *memlimit)
{
    *opslimit = *memlimit = 0;
    if (n != HEARTH_SEALED_SEED_LEN || sealed[0] != SEED_SEAL_VERSION)
        return HERR_MALFORMED;
    uint64_t ops = get_be32(sealed + SEAL_OPS), mem = (uint64_t)get_be32(sealed + SEAL_MEM) * 1024;
    if (!seal_limits_ok(ops, mem))
        return HERR_MALFORMED;
    *opslimit = ops;
    *memlimit = mem;
    return HERR_OK;
}

herr seed_unseal(uint8_t seed[HEARTH_SEED_LEN], const uint8_t *sealed, size_t n, const char *pass,
                 size_t pass_len)
{
    uint8_t key[crypto_secretbox_KEYBYTES];
    uint64_t ops, mem;
    memset(seed, 0, HEARTH_SEED_LEN);
    herr e = seed_sealed_limits(sealed, n, &ops, &mem);
    if (e)
        return e;
    if (pass_len > crypto_pwhash_PASSWD_MAX)
        return HERR_DENIED;
    e = seal_key(key, pass, pass_len, sealed + SEAL_SALT, ops, mem);
    if (!e &&
        crypto_secretbox_open_easy(seed, sealed + SEAL_BOX, HEARTH_SEED_LEN + HEARTH_SEAL_MAC_LEN,
                                   sealed + SEAL_NONCE, key) != 0)
        e = HERR_DENIED;
    if (e)
        sodium_memzero(seed, HEARTH_SEED_LEN);
    sodium_memzero(key, sizeof key);
    return e;
}

/* ---- messages sealed to their readers ---- */

#define MSG_NONCE 1
#define MSG_COUNT 25
#define MSG_KEY_LEN crypto_aead_xchacha20poly1305_ietf_KEYBYTES

_Static_assert(HEARTH_MSG_READER == HEARTH_PK_LEN + MSG_KEY_LEN + crypto_box_SEALBYTES,
               "a reader's entry is its key and the sealed content key");
_Static_assert(HEARTH_MSG_TAG == crypto_aead_xchacha20poly1305_ietf_ABYTES, "the AEAD's tag");
_Static_assert(HEARTH_MSG_HEAD == MSG_COUNT + 1 &&
                   MSG_COUNT == MSG_NONCE + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
               "version, nonce, count");

size_t msg_sealed_len(size_t n, size_t len)
{
    return HEARTH_MSG_HEAD + n * HEARTH_MSG_READER + len + HEARTH_MSG_TAG;
}

static int key_order(const void *a, const void *b)
{
    return memcmp(a, b, HEARTH_PK_LEN);
}

herr msg_seal(uint8_t *out, size_t *out_len, const uint8_t ad[96],
              const uint8_t (*readers)[HEARTH_PK_LEN], size_t n, const char *text, size_t len)
{
    if (n == 0 || n > HEARTH_MSG_MAX_READERS || len == 0 || len > HEARTH_MSG_MAX_TEXT)
        return HERR_USAGE;
    uint8_t keys[HEARTH_MSG_MAX_READERS][HEARTH_PK_LEN];
    memcpy(keys, readers, n * HEARTH_PK_LEN);
    qsort(keys, n, HEARTH_PK_LEN, key_order);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || memcmp(keys[m - 1], keys[i], HEARTH_PK_LEN) != 0)
            memmove(keys[m++], keys[i], HEARTH_PK_LEN);
    uint8_t ck[MSG_KEY_LEN];
    crypto_aead_xchacha20poly1305_ietf_keygen(ck);
    out[0] = HEARTH_MSG_VERSION;
    randombytes_buf(out + MSG_NONCE, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    out[MSG_COUNT] = (uint8_t)m;
    herr e = HERR_OK;
    uint8_t *entry = out + HEARTH_MSG_HEAD;
    for (size_t i = 0; i < m && !e; i++, entry += HEARTH_MSG_READER) {
        uint8_t x[crypto_box_PUBLICKEYBYTES];
        memcpy(entry, keys[i], HEARTH_PK_LEN);
        if (crypto_sign_ed25519_pk_to_curve25519(x, keys[i]) != 0 ||
            crypto_box_seal(entry + HEARTH_PK_LEN, ck, sizeof ck, x) != 0)
            e = HERR_INVALID;
    }
    unsigned long long clen = 0;
    if (!e)
        crypto_aead_xchacha20poly1305_ietf_encrypt(entry, &clen, (const uint8_t *)text, len, ad, 96,
                                                   NULL, out + MSG_NONCE, ck);
    sodium_memzero(ck, sizeof ck);
    *out_len = e ? 0 : (size_t)(entry - out) + (size_t)clen;
    return e;
}

herr msg_shape(const uint8_t *p, size_t n, const uint8_t a[HEARTH_PK_LEN],
               const uint8_t b[HEARTH_PK_LEN], const char **why)
{
    if (n < HEARTH_MSG_HEAD)
        return *why = "sealed message too short", HERR_MALFORMED;
    if (p[0] != HEARTH_MSG_VERSION)
        return *why = "unknown sealed message version", HERR_VERSION;
    size_t readers = p[MSG_COUNT];
    if (readers == 0 || readers > HEARTH_MSG_MAX_READERS)
        return *why = "sealed message has no readers or too many", HERR_INVALID;
    size_t head = HEARTH_MSG_HEAD + readers * HEARTH_MSG_READER;
    if (n < head + 1 + HEARTH_MSG_TAG || n > head + HEARTH_MSG_MAX_TEXT + HEARTH_MSG_TAG)
        return *why = "sealed message length does not fit its readers", HERR_MALFORMED;
    const uint8_t *k = p + HEARTH_MSG_HEAD;
    for (size_t i = 1; i < readers; i++)
        if (memcmp(k + (i - 1) * HEARTH_MSG_READER, k + i * HEARTH_MSG_READER, HEARTH_PK_LEN) >= 0)
            return *why = "sealed message readers are not in ascending order", HERR_INVALID;
    if (!msg_is_reader(p, n, a) || !msg_is_reader(p, n, b))
        return *why = "the author and the subject must be readers", HERR_INVALID;
    return HERR_OK;
}

/* reader_entry - pk's entry in a well-shaped message, or NULL. */
static const uint8_t *reader_entry(const uint8_t *p, size_t n, const uint8_t pk[HEARTH_PK_LEN])
{
    if (n < HEARTH_MSG_HEAD)
        return NULL;
    size_t readers = p[MSG_COUNT];
    if (n < HEARTH_MSG_HEAD + readers * HEARTH_MSG_READER)
        return NULL;
    for (size_t i = 0; i < readers; i++) {
        const uint8_t *e = p + HEARTH_MSG_HEAD + i * HEARTH_MSG_READER;
        if (memcmp(e, pk, HEARTH_PK_LEN) == 0)
            return e;
    }
    return NULL;
}

bool msg_is_reader(const uint8_t *p, size_t n, const uint8_t pk[HEARTH_PK_LEN])
{
    return reader_entry(p, n, pk) != NULL;
}

herr msg_open(const struct hkey *k, const uint8_t ad[96], const uint8_t *p, size_t n, char **text)
{
    *text = NULL;
    const uint8_t *entry = reader_entry(p, n, k->pk);
    if (!entry)
        return HERR_DENIED;
    size_t head = HEARTH_MSG_HEAD + (size_t)p[MSG_COUNT] * HEARTH_MSG_READER;
    if (n < head + HEARTH_MSG_TAG)
        return HERR_DENIED;
    uint8_t xpk[crypto_box_PUBLICKEYBYTES], xsk[crypto_box_SECRETKEYBYTES], ck[MSG_KEY_LEN];
    herr e = HERR_OK;
    if (crypto_sign_ed25519_pk_to_curve25519(xpk, k->pk) != 0 ||
        crypto_sign_ed25519_sk_to_curve25519(xsk, k->sk) != 0 ||
        crypto_box_seal_open(ck, entry + HEARTH_PK_LEN, MSG_KEY_LEN + crypto_box_SEALBYTES, xpk,
                             xsk) != 0)
        e = HERR_DENIED;
    sodium_memzero(xsk, sizeof xsk);
    size_t clen = n - head;
    char *t = e ? NULL : malloc(clen - HEARTH_MSG_TAG + 1);
    if (!e && !t)
        e = HERR_NOMEM;
    unsigned long long len = 0;
    if (!e && crypto_aead_xchacha20poly1305_ietf_decrypt((uint8_t *)t, &len, NULL, p + head, clen,
                                                         ad, 96, p + MSG_NONCE, ck) != 0)
        e = HERR_DENIED;
    sodium_memzero(ck, sizeof ck);
    if (e) {
        free(t);
        return e;
    }
    t[len] = '\0';
    *text = t;
    return HERR_OK;
}
