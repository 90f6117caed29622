/* backup.h - backup files: a whole node (its replica and its keys) encrypted under a
 * passphrase (docs/BACKUP.md, with a test vector).
 *
 * A backup file is a plain header (magic "HEARTHBK", format version, the Argon2id
 * limits and salt, the secretstream header), then the payload in chunks, each a
 * 4-byte big-endian length and a libsodium secretstream (XChaCha20-Poly1305) message,
 * then a trailer: BLAKE2b-256 of every byte before it. The key is derived from the
 * passphrase with crypto_pwhash (Argon2id). The payload is a manifest (the forum, when
 * the backup was made, how many files), then each file (its name and size, then its
 * bytes in data chunks), then an end chunk tagged FINAL; the first chunk authenticates
 * the header as additional data.
 *
 * The trailer is unkeyed, so a reader can tell a damaged or truncated file (the
 * trailer does not match: checked before any key is derived) from a wrong passphrase
 * (the trailer matches, the first chunk does not open). The authentication of every
 * chunk, their order and the FINAL tag catch the rest: a reader that reaches the end
 * (backup_next returns no name) has read exactly what the writer wrote.
 *
 * The crypto (Argon2id, secretstream, the streaming BLAKE2b) is libsodium's, called
 * here directly as bundle.c does for its hash: crypto.h has no streaming interfaces.
 * The derived key and the stream state are wiped when the writer or reader goes.
 */
#ifndef HEARTH_BACKUP_H
#define HEARTH_BACKUP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/crypto.h"
#include "base/herr.h"

#define BACKUP_MAGIC "HEARTHBK"
#define BACKUP_VERSION 1
#define BACKUP_HEADER_LEN 58 /* magic 8, version 1, kdf 1, ops 4, mem 4, salt 16, stream 24 */
#define BACKUP_CHUNK 65536   /* bytes of a file in one data chunk, at most */
#define BACKUP_MAX_NAME 64   /* bytes of a file's name */
#define BACKUP_MAX_FILES 64  /* files in one backup */

/* The Argon2id limits new backups are made with: libsodium's "moderate" (3 passes
 * over 256 MiB), 1.2 s on the development machine under load. A backup is a file that
 * travels, on sticks and drives that get lost: a guess should cost more than a login.
 * A reader refuses limits above BACKUP_MAX_OPSLIMIT / BACKUP_MAX_MEMLIMIT
 * (base/limits.h) before it hashes anything. */
#define BACKUP_OPSLIMIT 3ULL
#define BACKUP_MEMLIMIT (256ULL * 1024 * 1024)

/* backup_name_ok - whether name may name a file in a backup: 1..BACKUP_MAX_NAME bytes
 * of [A-Za-z0-9._-], not starting with a dot. */
bool backup_name_ok(const char *name);

struct backup_writer;

/* backup_writer_new - start a backup on f (not closed by us) under the passphrase
 * pass[0..pass_len) with Argon2id limits ops / mem (bytes, a multiple of 1 KiB), for
 * forum `forum`, made at created_ms, holding nfiles files (each then written with
 * backup_write_file). HERR_USAGE for limits out of bounds, no files or too many, or a
 * passphrase longer than libsodium takes; HERR_NOMEM when Argon2id cannot get its
 * memory; HERR_IO / HERR_FULL when writing fails. */
HEARTH_MUST_CHECK herr backup_writer_new(struct backup_writer **out, FILE *f, const char *pass,
                                         size_t pass_len, uint64_t ops, uint64_t mem,
                                         const uint8_t forum[HEARTH_ID_LEN], uint64_t created_ms,
                                         unsigned nfiles);

/* backup_write_file - the file `name` (backup_name_ok) of `size` bytes, read from src
 * (not closed by us) from where it stands. HERR_USAGE for a bad name or one file more
 * than announced; HERR_IO when src ends early (*why says so) or cannot be read, or on
 * a write failure (HERR_FULL for a full disk). After a failure every call returns it. */
HEARTH_MUST_CHECK herr backup_write_file(struct backup_writer *w, const char *name, FILE *src,
                                         uint64_t size, const char **why);

/* backup_writer_finish - the end chunk and the trailer, then flush f (not fsynced:
 * the caller owns f). HERR_USAGE when fewer files were written than announced;
 * HERR_IO / HERR_FULL. Frees the writer and sets *w to NULL whatever the result. */
HEARTH_MUST_CHECK herr backup_writer_finish(struct backup_writer **w);

/* backup_writer_destroy - abandon a backup; NULL-safe; sets *w to NULL. */
void backup_writer_destroy(struct backup_writer **w);

struct backup_reader;

/* backup_reader_new - open the backup in f (a seekable file, not closed by us): read
 * it whole once to check its trailer, then derive the key and open the manifest. On
 * failure *out is NULL and *why a static one-line reason: HERR_MALFORMED ("not a
 * hearth backup", "the backup is truncated", "the backup is damaged (its checksum does
 * not match)", "the backup's header is damaged"), HERR_VERSION ("a backup of a newer
 * format"), HERR_TOO_LARGE (limits above the maximums), HERR_DENIED ("wrong
 * passphrase"), HERR_NOMEM, HERR_IO ("cannot read the backup"). */
HEARTH_MUST_CHECK herr backup_reader_new(struct backup_reader **out, FILE *f, const char *pass,
                                         size_t pass_len, const char **why);

/* backup_forum / backup_created / backup_files - the manifest. */
const uint8_t *backup_forum(const struct backup_reader *r);
uint64_t backup_created(const struct backup_reader *r);
unsigned backup_files(const struct backup_reader *r);

/* backup_next - go to the next file: its name (owned by r, valid until the next call)
 * and size. The bytes of the file before it that were not extracted are skipped.
 * *name is NULL at the verified end (the FINAL chunk read, the trailer right after
 * it), and again on every later call. On failure *why is a static reason
 * (HERR_MALFORMED: "the backup is damaged: ..."); a failure is final. */
HEARTH_MUST_CHECK herr backup_next(struct backup_reader *r, const char **name, uint64_t *size,
                                   const char **why);

/* backup_extract - write the current file's bytes to dst (not closed by us). HERR_IO
 * / HERR_FULL when writing fails (*why "cannot write"), else as backup_next. */
HEARTH_MUST_CHECK herr backup_extract(struct backup_reader *r, FILE *dst, const char **why);

/* backup_reader_destroy - free r, wiping its key; NULL-safe; sets *r to NULL. */
void backup_reader_destroy(struct backup_reader **r);

#endif
