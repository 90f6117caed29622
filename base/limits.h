/* limits.h - every maximum that bounds what hearth accepts from outside.
 *
 * One header so that a reviewer sees the whole attack surface's numbers at once
 * (SQLite's "defense against the dark arts" and curl's bounded buffers are the
 * models). Every decoder of untrusted bytes checks lengths, counts and depths
 * against these before it allocates or reads. docs/EVENTS.md and docs/PROTOCOL.md
 * state the same numbers; change both together.
 */
#ifndef HEARTH_LIMITS_H
#define HEARTH_LIMITS_H

/* Events (docs/EVENTS.md). */
#define HEARTH_MAX_HEADER 512     /* bytes of a signed header */
#define HEARTH_MAX_BODY 65536     /* bytes of a body */
#define HEARTH_MAX_EVENT 66200    /* bytes of a whole event envelope */
#define HEARTH_MAX_BODY_FIELDS 16 /* entries in a body map */
#define HEARTH_MAX_KEY 32         /* bytes of a body map key */
#define HEARTH_MAX_TEXT 60000     /* bytes of a post's or reply's text */
#define HEARTH_MAX_TITLE 300      /* bytes of a thread title */
#define HEARTH_MAX_NAME 64        /* bytes of a pseudonym, board or forum name */
#define HEARTH_MAX_SHORT 1000     /* bytes of any other string field (reason, cw, about) */
#define HEARTH_MAX_SEQ 0x7fffffffffffffffULL /* seq and timestamps fit in SQLite's int64 */
#define HEARTH_MAX_KIND 1000 /* kinds above the known ones up to this are stored unread */

/* Bundles (docs/EVENTS.md, "Bundle files"). */
#define HEARTH_MAX_BUNDLE_EVENTS 100000000ULL

/* Sync (docs/PROTOCOL.md). */
#define HEARTH_MAX_FRAME (1024 * 1024) /* bytes of one ZeroMQ message */

/* Sealed author seeds (base/crypto.h): a stored blob names its own Argon2id limits,
 * bounded here so that a damaged or planted blob cannot stall the hub or exhaust its
 * memory. Four times the production limits leaves room to raise them. */
#define HEARTH_SEAL_MAX_OPSLIMIT 48
#define HEARTH_SEAL_MAX_MEMLIMIT (256ULL * 1024 * 1024)

/* Backups (store/backup.h, docs/BACKUP.md): the Argon2id limits a backup file may ask
 * for. Four times the limits backups are made with. */
#define BACKUP_MAX_OPSLIMIT 12
#define BACKUP_MAX_MEMLIMIT (1024ULL * 1024 * 1024)

/* Browser members (store/members.h). */
#define HEARTH_MAX_SEEN_WHAT 96 /* bytes of a reading-state key ("thread:<64 hex>") */

#endif
