/* plvfs.h - a test-only SQLite VFS that loses power and runs out of disk.
 *
 * Header-only (CMake links each tests/unit/test_*.c with testutil.c alone), used by
 * test_powerloss.c and test_faults.c. It wraps the default "unix" VFS and registers
 * itself as the default, so that store_open(), which opens with the default VFS,
 * goes through it with no change to the store.
 *
 * Power loss. Every write reaches the real file at once (so SQLite reads back what it
 * wrote, as from a page cache), and is also kept, per file path, in a list of
 * operations since that file's last xSync. A file's "durable image" is its content
 * as of its last xSync. At the crash point (the K-th write, truncate or sync, counted
 * over all files) the machine dies: that operation and every later write, truncate,
 * sync and delete fail with an I/O error, so nothing more reaches the disk.
 * plvfs_power_cut() then rewrites each file as the disk would hold it after the cut:
 * its durable image, plus, by mode, none of the unsynced operations, a random subset
 * of them (in order), or none but a torn prefix (whole 512-byte sectors) of the last
 * write. Closing files never syncs them, so what SQLite closed unsynced is lost too.
 * Deletes are taken as durable at once (a simplification: SQLite tells stale WAL
 * files from live ones by their salts and checksums anyway). The -shm file is not
 * modelled: SQLite maps it, and rebuilds it when the first connection opens.
 *
 * Disk full. With a byte budget set, a write or truncate that would make the files
 * together larger than the budget fails with SQLITE_FULL (and writes nothing).
 *
 * One VFS per process, single-threaded tests: the state is global, as a VFS's is.
 */
#ifndef HEARTH_TESTS_PLVFS_H
#define HEARTH_TESTS_PLVFS_H

#include <fcntl.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Each test uses some of these helpers. */
#define PLVFS_FN static __attribute__((unused))

enum plvfs_mode {
    PLVFS_DROP_ALL = 0, /* every unsynced operation is lost */
    PLVFS_SUBSET = 1,   /* each unsynced operation survives or not, at random */
    PLVFS_TORN = 2,     /* all lost but a sector-aligned prefix of the last write */
};

struct plvfs_op {
    bool truncate;
    sqlite3_int64 off; /* offset, or the new size for a truncate */
    size_t n;
    unsigned char *data;
};

struct plvfs_path {
    char *path;
    bool deleted;
    unsigned char *img; /* the durable image */
    size_t len, cap;
    struct plvfs_op *ops; /* unsynced operations, oldest first */
    size_t nops, capops;
};

struct plvfs_state {
    sqlite3_vfs vfs;
    sqlite3_vfs *real;
    struct plvfs_path **paths; /* each stays put while files point at it */
    size_t npaths, cappaths;
    uint64_t ops;      /* writes, truncates and syncs so far */
    uint64_t crash_at; /* 0: never */
    bool crashed;
    uint64_t budget; /* bytes all files may hold together; 0: no limit */
    bool lying_disk; /* fsync makes nothing durable: a test of the test, must fail */
    uint64_t rng;
    /* figures */
    uint64_t writes, syncs, torn, kept, dropped, full_errors;
    /* Images of forgotten files, kept for the next ones (see plvfs_img_reserve). */
    unsigned char *spare[8];
    size_t spare_cap[8], nspare;
};

static struct plvfs_state plvfs;

struct plvfs_file {
    sqlite3_file base;
    struct plvfs_path *p; /* NULL for files we do not track */
    sqlite3_file *real;   /* follows this struct in the same allocation */
};

PLVFS_FN uint64_t plvfs_rand(void)
{
    /* xorshift64*: reproducible from the seed the test prints */
    plvfs.rng ^= plvfs.rng >> 12;
    plvfs.rng ^= plvfs.rng << 25;
    plvfs.rng ^= plvfs.rng >> 27;
    return plvfs.rng * 2685821657736338717ULL;
}

PLVFS_FN void *plvfs_xalloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        abort(); /* test harness: out of memory is not what we test here */
    return q;
}

/* plvfs_img_reserve - room for n bytes in p's durable image. A new image starts from
 * the largest spare one a reset left (plvfs_paths_free): a test makes hundreds of
 * boots, and growing every file's image from nothing each time cost most of
 * test_powerloss's time under ASan (whose realloc copies into fresh pages, where
 * glibc's moves them with mremap). Only img[0..len) means anything. */
PLVFS_FN void plvfs_img_reserve(struct plvfs_path *p, size_t n)
{
    if (!p->img && plvfs.nspare) {
        size_t best = 0;
        for (size_t i = 1; i < plvfs.nspare; i++)
            if (plvfs.spare_cap[i] > plvfs.spare_cap[best])
                best = i;
        p->img = plvfs.spare[best];
        p->cap = plvfs.spare_cap[best];
        plvfs.nspare--;
        plvfs.spare[best] = plvfs.spare[plvfs.nspare];
        plvfs.spare_cap[best] = plvfs.spare_cap[plvfs.nspare];
    }
    if (n > p->cap) {
        size_t cap = p->cap ? p->cap : 4096;
        while (cap < n)
            cap *= 2;
        p->img = plvfs_xalloc(p->img, cap);
        p->cap = cap;
    }
}

PLVFS_FN void plvfs_img_apply(struct plvfs_path *p, const struct plvfs_op *op, size_t n)
{
    if (op->truncate) {
        size_t to = (size_t)op->off;
        plvfs_img_reserve(p, to);
        if (to > p->len)
            memset(p->img + p->len, 0, to - p->len);
        p->len = to;
        return;
    }
    if (n == 0) /* a torn write may keep none of its sectors; a write of nothing */
        return; /* never extends a file, and img may still be NULL */
    size_t end = (size_t)op->off + n;
    plvfs_img_reserve(p, end);
    if ((size_t)op->off > p->len)
        memset(p->img + p->len, 0, (size_t)op->off - p->len);
    memcpy(p->img + op->off, op->data, n);
    if (end > p->len)
        p->len = end;
}

PLVFS_FN void plvfs_ops_clear(struct plvfs_path *p)
{
    for (size_t i = 0; i < p->nops; i++)
        free(p->ops[i].data);
    p->nops = 0;
}

/* plvfs_path_load - (re)start path's history from the file on disk. */
PLVFS_FN void plvfs_path_load(struct plvfs_path *p)
{
    plvfs_ops_clear(p);
    p->len = 0;
    p->deleted = false;
    int fd = open(p->path, O_RDONLY);
    if (fd >= 0) {
        struct stat st;
        if (fstat(fd, &st) == 0 && st.st_size > 0) {
            plvfs_img_reserve(p, (size_t)st.st_size);
            ssize_t r = pread(fd, p->img, (size_t)st.st_size, 0);
            p->len = r > 0 ? (size_t)r : 0;
        }
        close(fd);
    }
}

/* plvfs_path_for - the state of path, made from the file on disk when new. */
PLVFS_FN struct plvfs_path *plvfs_path_for(const char *path)
{
    for (size_t i = 0; i < plvfs.npaths; i++) {
        struct plvfs_path *p = plvfs.paths[i];
        if (strcmp(p->path, path) == 0) {
            if (p->deleted)
                plvfs_path_load(p);
            return p;
        }
    }
    if (plvfs.npaths == plvfs.cappaths) {
        plvfs.cappaths = plvfs.cappaths ? 2 * plvfs.cappaths : 8;
        plvfs.paths = plvfs_xalloc(plvfs.paths, plvfs.cappaths * sizeof *plvfs.paths);
    }
    struct plvfs_path *p = plvfs_xalloc(NULL, sizeof *p);
    memset(p, 0, sizeof *p);
    p->path = strdup(path);
    plvfs.paths[plvfs.npaths++] = p;
    plvfs_path_load(p);
    return p;
}

/* plvfs_path_deleted - the file is gone (for good: deletes are durable). */
PLVFS_FN void plvfs_path_deleted(const char *path)
{
    for (size_t i = 0; i < plvfs.npaths; i++) {
        struct plvfs_path *p = plvfs.paths[i];
        if (strcmp(p->path, path) == 0) {
            plvfs_ops_clear(p);
            p->len = 0;
            p->deleted = true;
        }
    }
}

PLVFS_FN void plvfs_paths_free(void)
{
    for (size_t i = 0; i < plvfs.npaths; i++) {
        struct plvfs_path *p = plvfs.paths[i];
        plvfs_ops_clear(p);
        free(p->ops);
        if (p->img && plvfs.nspare < sizeof plvfs.spare / sizeof plvfs.spare[0]) {
            plvfs.spare[plvfs.nspare] = p->img;
            plvfs.spare_cap[plvfs.nspare++] = p->cap;
        } else {
            free(p->img);
        }
        free(p->path);
        free(p);
    }
    plvfs.npaths = 0;
}

/* plvfs_total - bytes the tracked files hold now (with unsynced writes). */
PLVFS_FN uint64_t plvfs_total(void)
{
    uint64_t t = 0;
    for (size_t i = 0; i < plvfs.npaths; i++) {
        struct stat st;
        if (!plvfs.paths[i]->deleted && stat(plvfs.paths[i]->path, &st) == 0)
            t += (uint64_t)st.st_size;
    }
    return t;
}

/* plvfs_tick - count one write, truncate or sync; true when the machine is dead. */
PLVFS_FN bool plvfs_tick(void)
{
    if (plvfs.crashed)
        return true;
    plvfs.ops++;
    if (plvfs.crash_at && plvfs.ops >= plvfs.crash_at)
        plvfs.crashed = true;
    return plvfs.crashed;
}

PLVFS_FN int plvfs_close(sqlite3_file *f)
{
    struct plvfs_file *pf = (struct plvfs_file *)f;
    int rc = pf->real->pMethods ? pf->real->pMethods->xClose(pf->real) : SQLITE_OK;
    return rc;
}

PLVFS_FN int plvfs_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
    struct plvfs_file *pf = (struct plvfs_file *)f;
    return pf->real->pMethods->xRead(pf->real, buf, n, off);
}

PLVFS_FN int plvfs_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
    struct plvfs_file *pf = (struct plvfs_file *)f;
    if (!pf->p)
        return pf->real->pMethods->xWrite(pf->real, buf, n, off);
    if (plvfs_tick())
        return SQLITE_IOERR_WRITE;
    if (plvfs.budget) {
        sqlite3_int64 size = 0;
        pf->real->pMethods->xFileSize(pf->real, &size);
        uint64_t grow = off + n > size ? (uint64_t)(off + n - size) : 0;
        if (grow && plvfs_total() + grow > plvfs.budget) {
            plvfs.full_errors++;
            return SQLITE_FULL;
        }
    }
    int rc = pf->real->pMethods->xWrite(pf->real, buf, n, off);
    if (rc != SQLITE_OK)
        return rc;
    struct plvfs_path *p = pf->p;
    if (p->nops == p->capops) {
        p->capops = p->capops ? 2 * p->capops : 16;
        p->ops = plvfs_xalloc(p->ops, p->capops * sizeof *p->ops);
    }
    struct plvfs_op *op = &p->ops[p->nops++];
    op->truncate = false;
    op->off = off;
    op->n = (size_t)n;
    op->data = plvfs_xalloc(NULL, (size_t)n);
    memcpy(op->data, buf, (size_t)n);
    plvfs.writes++;
    return SQLITE_OK;
}

PLVFS_FN int plvfs_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    struct plvfs_file *pf = (struct plvfs_file *)f;
    if (!pf->p)
        return pf->real->pMethods->xTruncate(pf->real, size);
    if (plvfs_tick())
        return SQLITE_IOERR_TRUNCATE;
    int rc = pf->real->pMethods->xTruncate(pf->real, size);
    if (rc != SQLITE_OK)
        return rc;
    struct plvfs_path *p = pf->p;
    if (p->nops == p->capops) {
        p->capops = p->capops ? 2 * p->capops : 16;
        p->ops = plvfs_xalloc(p->ops, p->capops * sizeof *p->ops);
    }
    struct plvfs_op *op = &p->ops[p->nops++];
    memset(op, 0, sizeof *op);
    op->truncate = true;
    op->off = size;
    return SQLITE_OK;
}

PLVFS_FN int plvfs_sync(sqlite3_file *f, int flags)
{
    struct plvfs_file *pf = (struct plvfs_file *)f;
    (void)flags;
    if (!pf->p)
        return SQLITE_OK;
    if (plvfs_tick())
        return SQLITE_IOERR_FSYNC;
    /* Durable now. The real fsync is skipped: durability is what we model, and the
     * test runs hundreds of crash points. */
    struct plvfs_path *p = pf->p;
    plvfs.syncs++;
    if (plvfs.lying_disk)
        return SQLITE_OK;
    for (size_t i = 0; i < p->nops; i++)
        plvfs_img_apply(p, &p->ops[i], p->ops[i].n);
    plvfs_ops_clear(p);
    return SQLITE_OK;
}

PLVFS_FN int plvfs_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    struct plvfs_file *pf = (struct plvfs_file *)f;
    return pf->real->pMethods->xFileSize(pf->real, size);
}

PLVFS_FN int plvfs_lock(sqlite3_file *f, int lock)
{
    struct plvfs_file *pf = (struct plvfs_file *)f;
    return pf->real->pMethods->xLock(pf->real, lock);
}

PLVFS_FN int plvfs_unlock(sqlite3_file *f, int lock)
{
    struct plvfs_file *pf = (struct plvfs_file *)f;
    return pf->real->pMethods->xUnlock(pf->real, lock);
}

PLVFS_FN int plvfs_check_reserved(sqlite3_file *f, int *out)
{
    struct plvfs_file *pf = (struct plvfs_file *)f;
    return pf->real->pMethods->xCheckReservedLock(pf->real, out);
}

PLVFS_FN int plvfs_file_control(sqlite3_file *f, int op, void *arg)
{
    struct plvfs_file *pf = (struct plvfs_file *)f;
    /* Keep SQLite from growing or mapping files behind our back. */
    if (op == SQLITE_FCNTL_MMAP_SIZE && arg)
        *(sqlite3_int64 *)arg = 0;
    return pf->real->pMethods->xFileControl(pf->real, op, arg);
}

PLVFS_FN int plvfs_sector_size(sqlite3_file *f)
{
    struct plvfs_file *pf = (struct plvfs_file *)f;
    return pf->real->pMethods->xSectorSize(pf->real);
}

PLVFS_FN int plvfs_device_characteristics(sqlite3_file *f)
{
    struct plvfs_file *pf = (struct plvfs_file *)f;
    return pf->real->pMethods->xDeviceCharacteristics(pf->real);
}

PLVFS_FN int plvfs_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
    struct plvfs_file *pf = (struct plvfs_file *)f;
    return pf->real->pMethods->xShmMap(pf->real, pg, pgsz, extend, pp);
}

PLVFS_FN int plvfs_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
    struct plvfs_file *pf = (struct plvfs_file *)f;
    return pf->real->pMethods->xShmLock(pf->real, offset, n, flags);
}

PLVFS_FN void plvfs_shm_barrier(sqlite3_file *f)
{
    struct plvfs_file *pf = (struct plvfs_file *)f;
    pf->real->pMethods->xShmBarrier(pf->real);
}

PLVFS_FN int plvfs_shm_unmap(sqlite3_file *f, int del)
{
    struct plvfs_file *pf = (struct plvfs_file *)f;
    return pf->real->pMethods->xShmUnmap(pf->real, del);
}

/* Version 2: no xFetch/xUnfetch, so SQLite never reads through a memory map. */
static const sqlite3_io_methods plvfs_io = {
    2,
    plvfs_close,
    plvfs_read,
    plvfs_write,
    plvfs_truncate,
    plvfs_sync,
    plvfs_file_size,
    plvfs_lock,
    plvfs_unlock,
    plvfs_check_reserved,
    plvfs_file_control,
    plvfs_sector_size,
    plvfs_device_characteristics,
    plvfs_shm_map,
    plvfs_shm_lock,
    plvfs_shm_barrier,
    plvfs_shm_unmap,
    NULL,
    NULL,
};

PLVFS_FN int plvfs_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out)
{
    struct plvfs_file *pf = (struct plvfs_file *)f;
    (void)vfs;
    pf->real = (sqlite3_file *)(pf + 1);
    pf->p = NULL;
    int rc = plvfs.real->xOpen(plvfs.real, name, pf->real, flags, out);
    if (rc != SQLITE_OK) {
        pf->base.pMethods = NULL;
        return rc;
    }
    /* The database, its WAL and its journal; temporary files are not ours. */
    if (name && (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_JOURNAL)))
        pf->p = plvfs_path_for(name);
    pf->base.pMethods = &plvfs_io;
    return SQLITE_OK;
}

PLVFS_FN int plvfs_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    (void)vfs;
    if (plvfs.crashed)
        return SQLITE_IOERR_DELETE;
    plvfs_path_deleted(name);
    return plvfs.real->xDelete(plvfs.real, name, sync_dir);
}

/* plvfs_install - register as the default VFS (once per process). */
PLVFS_FN void plvfs_install(uint64_t seed)
{
    if (!plvfs.real) {
        plvfs.real = sqlite3_vfs_find("unix");
        plvfs.vfs = *plvfs.real;
        plvfs.vfs.zName = "plvfs";
        plvfs.vfs.szOsFile = (int)sizeof(struct plvfs_file) + plvfs.real->szOsFile;
        plvfs.vfs.xOpen = plvfs_open;
        plvfs.vfs.xDelete = plvfs_delete;
        plvfs.vfs.pNext = NULL;
        sqlite3_vfs_register(&plvfs.vfs, 1);
    }
    plvfs.rng = seed ? seed : 0x9e3779b97f4a7c15ULL;
}

/* plvfs_reset - a new boot: forget every file's history (what is on disk now is
 * durable), no crash point, no budget. */
PLVFS_FN void plvfs_reset(void)
{
    plvfs_paths_free();
    plvfs.ops = 0;
    plvfs.crash_at = 0;
    plvfs.crashed = false;
    plvfs.budget = 0;
    plvfs.lying_disk = false;
}

/* plvfs_write_file - replace the content of path with img[0..len). */
PLVFS_FN void plvfs_write_file(const char *path, const unsigned char *img, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT, 0600);
    if (fd < 0)
        return;
    if (ftruncate(fd, (off_t)len) != 0 || (len && pwrite(fd, img, len, 0) != (ssize_t)len))
        abort();
    close(fd);
}

/* plvfs_power_cut - after every connection is closed: rewrite each file as the disk
 * holds it after the cut (see the header comment), then plvfs_reset(). */
PLVFS_FN void plvfs_power_cut(enum plvfs_mode mode)
{
    for (size_t i = 0; i < plvfs.npaths; i++) {
        struct plvfs_path *p = plvfs.paths[i];
        if (p->deleted)
            continue;
        size_t last_write = p->nops;
        for (size_t k = 0; k < p->nops; k++)
            if (!p->ops[k].truncate)
                last_write = k;
        for (size_t k = 0; k < p->nops; k++) {
            const struct plvfs_op *op = &p->ops[k];
            if (mode == PLVFS_SUBSET && plvfs_rand() % 2) {
                plvfs_img_apply(p, op, op->n);
                plvfs.kept++;
            } else if (mode == PLVFS_TORN && k == last_write && op->n > 512) {
                size_t sectors = op->n / 512;
                plvfs_img_apply(p, op, 512 * (size_t)(plvfs_rand() % sectors));
                plvfs.torn++;
            } else {
                plvfs.dropped++;
            }
        }
        plvfs_write_file(p->path, p->img, p->len);
    }
    plvfs_reset();
}

#endif
