#include "store/backup.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"

#define KDF_ARGON2ID13 1
#define SALT_LEN 16
#define STREAM_HEADER_LEN 24
#define ABYTES crypto_secretstream_xchacha20poly1305_ABYTES /* 17 */
#define MAX_PLAIN (1 + BACKUP_CHUNK)
#define MAX_CIPHER (MAX_PLAIN + ABYTES)
#define MANIFEST_LEN (1 + HEARTH_ID_LEN + 8 + 2)
#define TRAILER_LEN 32

_Static_assert(SALT_LEN == crypto_pwhash_SALTBYTES, "salt size");
_Static_assert(STREAM_HEADER_LEN == crypto_secretstream_xchacha20poly1305_HEADERBYTES,
               "secretstream header size");
_Static_assert(BACKUP_HEADER_LEN == 8 + 1 + 1 + 4 + 4 + SALT_LEN + STREAM_HEADER_LEN,
               "header size");

typedef crypto_secretstream_xchacha20poly1305_state stream_state;

bool backup_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > BACKUP_MAX_NAME || name[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/* zalloc - a zeroed object whose libsodium states want 64-byte alignment. */
static void *zalloc(size_t n)
{
    void *p = aligned_alloc(64, (n + 63) / 64 * 64);
    if (p)
        memset(p, 0, n);
    return p;
}

static bool limits_ok(uint64_t ops, uint64_t mem)
{
    return ops >= crypto_pwhash_OPSLIMIT_MIN && ops <= BACKUP_MAX_OPSLIMIT &&
           mem >= crypto_pwhash_MEMLIMIT_MIN && mem <= BACKUP_MAX_MEMLIMIT && mem % 1024 == 0;
}

/* derive - the stream key for the passphrase under header h's limits and salt. */
static herr derive(uint8_t key[crypto_secretstream_xchacha20poly1305_KEYBYTES], const char *pass,
                   size_t pass_len, const uint8_t *salt, uint64_t ops, uint64_t mem)
{
    if (crypto_pwhash(key, crypto_secretstream_xchacha20poly1305_KEYBYTES, pass, pass_len, salt,
                      ops, (size_t)mem, crypto_pwhash_ALG_ARGON2ID13) != 0) {
        sodium_memzero(key, crypto_secretstream_xchacha20poly1305_KEYBYTES);
        return HERR_NOMEM;
    }
    return HERR_OK;
}

/* ---- writer ---- */

struct backup_writer {
    stream_state st; /* first: aligned */
    crypto_generichash_state hash;
    FILE *f;
    uint8_t header[BACKUP_HEADER_LEN];
    bool first; /* the next chunk is the first: it authenticates the header */
    unsigned files, written;
    herr err;
    uint8_t plain[MAX_PLAIN], cipher[4 + MAX_CIPHER];
};

static herr w_put(struct backup_writer *w, const void *p, size_t n)
{
    if (fwrite(p, 1, n, w->f) != n)
        return w->err = herr_from_errno(errno);
    crypto_generichash_update(&w->hash, p, n);
    return HERR_OK;
}

/* w_chunk - encrypt plain[0..n) as one chunk with tag and write it. */
static herr w_chunk(struct backup_writer *w, size_t n, uint8_t tag)
{
    unsigned long long clen;
    crypto_secretstream_xchacha20poly1305_push(&w->st, w->cipher + 4, &clen, w->plain, n,
                                               w->first ? w->header : NULL,
                                               w->first ? BACKUP_HEADER_LEN : 0, tag);
    w->first = false;
    put32(w->cipher, (uint32_t)clen);
    return w_put(w, w->cipher, 4 + (size_t)clen);
}

herr backup_writer_new(struct backup_writer **out, FILE *f, const char *pass, size_t pass_len,
                       uint64_t ops, uint64_t mem, const uint8_t forum[HEARTH_ID_LEN],
                       uint64_t created_ms, unsigned nfiles)
{
    *out = NULL;
    if (!limits_ok(ops, mem) || pass_len > crypto_pwhash_PASSWD_MAX || nfiles == 0 ||
        nfiles > BACKUP_MAX_FILES)
        return HERR_USAGE;
    struct backup_writer *w = zalloc(sizeof *w);
    if (!w)
        return HERR_NOMEM;
    w->f = f;
    w->files = nfiles;
    w->first = true;
    uint8_t *h = w->header, key[crypto_secretstream_xchacha20poly1305_KEYBYTES];
    memcpy(h, BACKUP_MAGIC, 8);
    h[8] = BACKUP_VERSION;
    h[9] = KDF_ARGON2ID13;
    put32(h + 10, (uint32_t)ops);
    put32(h + 14, (uint32_t)(mem / 1024));
    randombytes_buf(h + 18, SALT_LEN);
    herr e = derive(key, pass, pass_len, h + 18, ops, mem);
    if (e) {
        free(w);
        return e;
    }
    crypto_secretstream_xchacha20poly1305_init_push(&w->st, h + 18 + SALT_LEN, key);
    sodium_memzero(key, sizeof key);
    crypto_generichash_init(&w->hash, NULL, 0, TRAILER_LEN);
    e = w_put(w, h, BACKUP_HEADER_LEN);
    w->plain[0] = 'M';
    memcpy(w->plain + 1, forum, HEARTH_ID_LEN);
    put64(w->plain + 1 + HEARTH_ID_LEN, created_ms);
    w->plain[1 + HEARTH_ID_LEN + 8] = (uint8_t)(nfiles >> 8);
    w->plain[1 + HEARTH_ID_LEN + 9] = (uint8_t)nfiles;
    if (!e)
        e = w_chunk(w, MANIFEST_LEN, crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
    if (e) {
        backup_writer_destroy(&w);
        return e;
    }
    *out = w;
    return HERR_OK;
}

herr backup_write_file(struct backup_writer *w, const char *name, FILE *src, uint64_t size,
                       const char **why)
{
    static const char *const short_read = "the file ended before its size";
    if (w->err)
        return w->err;
    if (!backup_name_ok(name) || w->written == w->files)
        return HERR_USAGE;
    size_t n = strlen(name);
    w->plain[0] = 'F';
    w->plain[1] = (uint8_t)n;
    memcpy(w->plain + 2, name, n);
    put64(w->plain + 2 + n, size);
    herr e = w_chunk(w, 2 + n + 8, crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
    for (uint64_t left = size; !e && left > 0;) {
        size_t want = left < BACKUP_CHUNK ? (size_t)left : BACKUP_CHUNK;
        w->plain[0] = 'D';
        if (fread(w->plain + 1, 1, want, src) != want) {
            if (why)
                *why = ferror(src) ? "cannot read the file" : short_read;
            return w->err = HERR_IO;
        }
        e = w_chunk(w, 1 + want, crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
        left -= want;
    }
    if (!e)
        w->written++;
    return e;
}

herr backup_writer_finish(struct backup_writer **wp)
{
    struct backup_writer *w = *wp;
    herr e = w->err;
    if (!e && w->written != w->files)
        e = HERR_USAGE;
    w->plain[0] = 'E';
    if (!e)
        e = w_chunk(w, 1, crypto_secretstream_xchacha20poly1305_TAG_FINAL);
    uint8_t sum[TRAILER_LEN];
    crypto_generichash_final(&w->hash, sum, TRAILER_LEN);
    if (!e && fwrite(sum, 1, TRAILER_LEN, w->f) != TRAILER_LEN)
        e = herr_from_errno(errno);
    if (!e && fflush(w->f) != 0)
        e = herr_from_errno(errno);
    backup_writer_destroy(wp);
    return e;
}

void backup_writer_destroy(struct backup_writer **wp)
{
    struct backup_writer *w = *wp;
    if (!w)
        return;
    sodium_memzero(w, sizeof *w);
    free(w);
    *wp = NULL;
}

/* ---- reader ---- */

enum expect {
    EXPECT_FILE, /* an F chunk or the E chunk */
    EXPECT_DATA, /* D chunks of the current file */
    EXPECT_DONE, /* the end was read */
};

struct backup_reader {
    stream_state st; /* first: aligned */
    FILE *f;
    uint64_t pos, data_end; /* where we are; where the trailer starts */
    uint8_t header[BACKUP_HEADER_LEN];
    bool first;
    uint8_t forum[HEARTH_ID_LEN];
    uint64_t created;
    unsigned files, seen;
    enum expect expect;
    char name[BACKUP_MAX_NAME + 1];
    uint64_t left; /* bytes of the current file not yet read */
    herr err;
    const char *err_why;
    uint8_t plain[MAX_PLAIN], cipher[MAX_CIPHER];
    size_t plain_len;
};

/* check_trailer - read f whole: it holds at least a header and a trailer, and the
 * trailer is the hash of the rest. Sets *size. */
static herr check_trailer(FILE *f, uint64_t *size, const char **why)
{
    crypto_generichash_state h;
    uint8_t buf[65536], tail[TRAILER_LEN], sum[TRAILER_LEN];
    size_t keep = 0, n;
    uint64_t total = 0;
    crypto_generichash_init(&h, NULL, 0, TRAILER_LEN);
    /* Hash everything but the last TRAILER_LEN bytes seen so far, held in tail. */
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        total += n;
        if (n >= TRAILER_LEN) {
            crypto_generichash_update(&h, tail, keep);
            crypto_generichash_update(&h, buf, n - TRAILER_LEN);
            memcpy(tail, buf + n - TRAILER_LEN, TRAILER_LEN);
            keep = TRAILER_LEN;
        } else {
            size_t over = keep + n > TRAILER_LEN ? keep + n - TRAILER_LEN : 0;
            crypto_generichash_update(&h, tail, over);
            memmove(tail, tail + over, keep - over);
            memcpy(tail + keep - over, buf, n);
            keep = keep - over + n;
        }
    }
    if (ferror(f)) {
        *why = "cannot read the backup";
        return HERR_IO;
    }
    if (total < BACKUP_HEADER_LEN + TRAILER_LEN) {
        *why = "the backup is truncated";
        return HERR_MALFORMED;
    }
    crypto_generichash_final(&h, sum, TRAILER_LEN);
    if (sodium_memcmp(sum, tail, TRAILER_LEN) != 0) {
        *why = "the backup is damaged or truncated (its checksum does not match)";
        return HERR_MALFORMED;
    }
    *size = total;
    return HERR_OK;
}

static herr r_fail(struct backup_reader *r, herr e, const char *why)
{
    if (!r->err)
        r->err = e, r->err_why = why;
    return r->err;
}

/* r_chunk - read and open the next chunk into plain / plain_len; *tag its tag. */
static herr r_chunk(struct backup_reader *r, uint8_t *tag)
{
    static const char *const damaged = "the backup is damaged (a chunk does not open)";
    uint8_t len[4];
    if (r->pos + 4 > r->data_end || fread(len, 1, 4, r->f) != 4)
        return r_fail(r, HERR_MALFORMED, "the backup is damaged (it ends inside its data)");
    uint32_t clen = get32(len);
    r->pos += 4;
    if (clen <= ABYTES || clen > MAX_CIPHER || r->pos + clen > r->data_end)
        return r_fail(r, HERR_MALFORMED, "the backup is damaged (a chunk length is wrong)");
    if (fread(r->cipher, 1, clen, r->f) != clen)
        return r_fail(r, HERR_IO, "cannot read the backup");
    r->pos += clen;
    unsigned long long mlen;
    if (crypto_secretstream_xchacha20poly1305_pull(&r->st, r->plain, &mlen, tag, r->cipher, clen,
                                                   r->first ? r->header : NULL,
                                                   r->first ? BACKUP_HEADER_LEN : 0) != 0) {
        /* The trailer matched, so the first chunk failing is a key that does not fit. */
        return r_fail(r, HERR_DENIED, r->first ? "wrong passphrase" : damaged);
    }
    r->first = false;
    r->plain_len = (size_t)mlen;
    if (mlen == 0)
        return r_fail(r, HERR_MALFORMED, "the backup is damaged (an empty chunk)");
    bool final = *tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
    if (final != (r->plain[0] == 'E') ||
        (*tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE && !final))
        return r_fail(r, HERR_MALFORMED, "the backup is damaged (a chunk has the wrong tag)");
    return HERR_OK;
}

static herr read_header(struct backup_reader *r, const char *pass, size_t pass_len,
                        const char **why)
{
    uint8_t *h = r->header;
    if (fread(h, 1, BACKUP_HEADER_LEN, r->f) != BACKUP_HEADER_LEN) {
        *why = "cannot read the backup";
        return HERR_IO;
    }
    r->pos = BACKUP_HEADER_LEN;
    if (memcmp(h, BACKUP_MAGIC, 8) != 0) {
        *why = "not a hearth backup";
        return HERR_MALFORMED;
    }
    if (h[8] != BACKUP_VERSION) {
        *why = "a backup of another format version (a newer hearth made it?)";
        return HERR_VERSION;
    }
    uint64_t ops = get32(h + 10), mem = (uint64_t)get32(h + 14) * 1024;
    if (h[9] != KDF_ARGON2ID13 || ops < crypto_pwhash_OPSLIMIT_MIN ||
        mem < crypto_pwhash_MEMLIMIT_MIN) {
        *why = "the backup's header is damaged";
        return HERR_MALFORMED;
    }
    if (!limits_ok(ops, mem)) {
        *why = "the backup asks for more passphrase hashing than this program allows";
        return HERR_TOO_LARGE;
    }
    if (pass_len > crypto_pwhash_PASSWD_MAX) {
        *why = "wrong passphrase";
        return HERR_DENIED;
    }
    uint8_t key[crypto_secretstream_xchacha20poly1305_KEYBYTES];
    herr e = derive(key, pass, pass_len, h + 18, ops, mem);
    if (e) {
        *why = "not enough memory to hash the passphrase";
        return e;
    }
    int rc = crypto_secretstream_xchacha20poly1305_init_pull(&r->st, h + 18 + SALT_LEN, key);
    sodium_memzero(key, sizeof key);
    if (rc != 0) {
        *why = "the backup's header is damaged";
        return HERR_MALFORMED;
    }
    r->first = true;
    return HERR_OK;
}

static herr read_manifest(struct backup_reader *r, const char **why)
{
    uint8_t tag;
    herr e = r_chunk(r, &tag);
    if (!e && (r->plain[0] != 'M' || r->plain_len != MANIFEST_LEN))
        e = r_fail(r, HERR_MALFORMED, "the backup is damaged (no manifest)");
    if (e) {
        *why = r->err_why;
        return e;
    }
    memcpy(r->forum, r->plain + 1, HEARTH_ID_LEN);
    r->created = get64(r->plain + 1 + HEARTH_ID_LEN);
    r->files = (unsigned)r->plain[MANIFEST_LEN - 2] << 8 | r->plain[MANIFEST_LEN - 1];
    if (r->files == 0 || r->files > BACKUP_MAX_FILES) {
        *why = "the backup is damaged (its file count)";
        return HERR_MALFORMED;
    }
    r->expect = EXPECT_FILE;
    return HERR_OK;
}

herr backup_reader_new(struct backup_reader **out, FILE *f, const char *pass, size_t pass_len,
                       const char **why)
{
    *out = NULL;
    uint64_t size;
    uint8_t magic[8];
    size_t got = fread(magic, 1, sizeof magic, f);
    if (ferror(f) || fseek(f, 0, SEEK_SET) != 0) {
        *why = "cannot read the backup";
        return HERR_IO;
    }
    /* A file that does not even begin like a backup is not called damaged. */
    if (memcmp(magic, BACKUP_MAGIC, got) != 0 || got == 0) {
        *why = got ? "not a hearth backup" : "the backup is empty";
        return HERR_MALFORMED;
    }
    herr e = check_trailer(f, &size, why);
    if (e)
        return e;
    if (fseek(f, 0, SEEK_SET) != 0) {
        *why = "cannot read the backup";
        return HERR_IO;
    }
    struct backup_reader *r = zalloc(sizeof *r);
    if (!r) {
        *why = "out of memory";
        return HERR_NOMEM;
    }
    r->f = f;
    r->data_end = size - TRAILER_LEN;
    e = read_header(r, pass, pass_len, why);
    if (!e)
        e = read_manifest(r, why);
    if (e) {
        backup_reader_destroy(&r);
        return e;
    }
    *out = r;
    return HERR_OK;
}

const uint8_t *backup_forum(const struct backup_reader *r)
{
    return r->forum;
}

uint64_t backup_created(const struct backup_reader *r)
{
    return r->created;
}

unsigned backup_files(const struct backup_reader *r)
{
    return r->files;
}

/* r_data - the next data chunk of the current file, into plain; passes it to dst
 * when dst is not NULL. */
static herr r_data(struct backup_reader *r, FILE *dst)
{
    uint8_t tag;
    herr e = r_chunk(r, &tag);
    if (e)
        return e;
    size_t n = r->plain_len - 1;
    if (r->plain[0] != 'D' || n > r->left)
        return r_fail(r, HERR_MALFORMED, "the backup is damaged (a file's data is out of place)");
    if (dst && fwrite(r->plain + 1, 1, n, dst) != n)
        return herr_from_errno(errno); /* ours, not the backup's: not final */
    r->left -= n;
    return HERR_OK;
}

herr backup_extract(struct backup_reader *r, FILE *dst, const char **why)
{
    herr e = r->err;
    if (!e && r->expect != EXPECT_DATA)
        e = HERR_USAGE;
    while (!e && r->left > 0)
        e = r_data(r, dst);
    if (!e)
        r->expect = EXPECT_FILE;
    if (e && why)
        *why = r->err ? r->err_why : e == HERR_USAGE ? "no file to extract" : "cannot write";
    return e;
}

/* r_file - take in an F chunk already in plain. */
static herr r_file(struct backup_reader *r)
{
    size_t n = r->plain_len >= 2 ? r->plain[1] : 0;
    if (r->plain_len != 2 + n + 8 || r->seen == r->files)
        return r_fail(r, HERR_MALFORMED, "the backup is damaged (a file entry)");
    memcpy(r->name, r->plain + 2, n);
    r->name[n] = '\0';
    if (!backup_name_ok(r->name) || strlen(r->name) != n)
        return r_fail(r, HERR_MALFORMED, "the backup is damaged (a file name)");
    r->left = get64(r->plain + 2 + n);
    r->seen++;
    r->expect = EXPECT_DATA;
    return HERR_OK;
}

herr backup_next(struct backup_reader *r, const char **name, uint64_t *size, const char **why)
{
    *name = NULL;
    herr e = r->err;
    while (!e && r->expect == EXPECT_DATA && r->left > 0)
        e = r_data(r, NULL);
    uint8_t tag;
    if (!e && r->expect != EXPECT_DONE)
        e = r_chunk(r, &tag);
    if (!e && r->expect != EXPECT_DONE) {
        if (r->plain[0] == 'F') {
            e = r_file(r);
            if (!e)
                *name = r->name, *size = r->left;
        } else if (r->plain[0] == 'E') {
            if (r->plain_len != 1 || r->seen != r->files)
                e = r_fail(r, HERR_MALFORMED, "the backup is damaged (it ends early)");
            else if (r->pos != r->data_end)
                e = r_fail(r, HERR_MALFORMED, "the backup is damaged (bytes after its end)");
            else
                r->expect = EXPECT_DONE;
        } else {
            e = r_fail(r, HERR_MALFORMED, "the backup is damaged (a chunk out of place)");
        }
    }
    if (e && why)
        *why = r->err_why;
    return e;
}

void backup_reader_destroy(struct backup_reader **rp)
{
    struct backup_reader *r = *rp;
    if (!r)
        return;
    sodium_memzero(r, sizeof *r);
    free(r);
    *rp = NULL;
}
