/* wal.c - the write-ahead log left behind: whether a replica lost committed writes
 * with its log (wal_check), checked before SQLite opens the file (store_open) and by
 * store_repair. It reads two files' first bytes and calls nothing else of the store.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store_int.h"

static uint32_t get_u32_native(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* The first bytes of the -shm file (SQLite's wal-index header, in the machine's byte
 * order): two copies of a 48-byte header, then the checkpoint info. */
#define SHM_HDR 48
#define SHM_MXFRAME 16
#define SHM_PGSZ 14
#define SHM_ISINIT 12
#define SHM_BACKFILL 96

/* shm_header - the first bytes of the -shm file; false when there is none. */
static bool shm_header(const char *shm, uint8_t h[SHM_BACKFILL + 4])
{
    int fd = open(shm, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t got = pread(fd, h, SHM_BACKFILL + 4, 0);
    close(fd);
    return got == SHM_BACKFILL + 4;
}

herr wal_check(const char *path, char *why, size_t n)
{
    char shm[4096], wal[4096];
    uint8_t h[SHM_BACKFILL + 4], again[SHM_BACKFILL + 4];
    if (snprintf(shm, sizeof shm, "%s-shm", path) >= (int)sizeof shm ||
        snprintf(wal, sizeof wal, "%s-wal", path) >= (int)sizeof wal)
        return HERR_OK;
    /* No -shm: closed cleanly, or never opened: nothing to compare. Another process
     * may be writing the header: the two copies then differ, and the check is left to
     * the next open. */
    if (!shm_header(shm, h) || h[SHM_ISINIT] != 1 || memcmp(h, h + SHM_HDR, SHM_HDR) != 0)
        return HERR_OK;
    uint32_t frames = get_u32_native(h + SHM_MXFRAME),
             backfilled = get_u32_native(h + SHM_BACKFILL);
    uint16_t pgsz16;
    memcpy(&pgsz16, h + SHM_PGSZ, 2);
    uint64_t pgsz = pgsz16 == 1 ? 65536 : pgsz16;
    if (frames <= backfilled || pgsz < 512)
        return HERR_OK; /* everything the log held is in the database file */
    struct stat st;
    uint64_t need = 32 + (uint64_t)frames * (24 + pgsz);
    if (stat(wal, &st) == 0 && (uint64_t)st.st_size >= need)
        return HERR_OK;
    /* The last connection, closing, checkpoints and deletes the -shm file and then the
     * log: a log gone while the -shm file changed or went is a clean close. */
    if (!shm_header(shm, again) || memcmp(h, again, sizeof h) != 0)
        return HERR_OK;
    snprintf(why, n,
             "its write-ahead log (hearth.db-wal) is %s: %u pages of committed writes that "
             "were not yet in hearth.db are lost",
             stat(wal, &st) == 0 ? "cut short" : "missing", (unsigned)(frames - backfilled));
    return HERR_CORRUPT;
}
