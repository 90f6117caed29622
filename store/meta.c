/* meta.c - enumeration and removal in the local (not replicated) key/value table,
 * used for the node's peer list and status. Rarely called: statements are prepared
 * per call. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

herr store_meta_each(struct store *s, const char *prefix, store_meta_fn fn, void *ctx)
{
    sqlite3_stmt *q = NULL;
    /* A range scan on the primary key: prefix <= key < prefix || 0xff. */
    if (sqlite3_prepare_v2(s->db,
                           "SELECT key, value FROM local_meta WHERE key >= ?1 AND key < ?1 || "
                           "char(1114111) ORDER BY key",
                           -1, &q, NULL) != SQLITE_OK)
        return store_fail(s, HERR_IO, "cannot list settings: %s", sqlite3_errmsg(s->db));
    sqlite3_bind_text(q, 1, prefix, -1, SQLITE_STATIC);
    herr e = HERR_OK;
    int rc;
    while (!e && (rc = sqlite3_step(q)) == SQLITE_ROW)
        e = fn(ctx, (const char *)sqlite3_column_text(q, 0),
               (const char *)sqlite3_column_text(q, 1));
    if (!e && rc != SQLITE_DONE)
        e = store_fail(s, HERR_IO, "cannot list settings: %s", sqlite3_errmsg(s->db));
    sqlite3_finalize(q);
    return e;
}

herr store_meta_delete(struct store *s, const char *key)
{
    sqlite3_stmt *q = NULL;
    if (s->readonly)
        return store_fail(s, HERR_READONLY, "the store is open read-only");
    if (sqlite3_prepare_v2(s->db, "DELETE FROM local_meta WHERE key = ?1", -1, &q, NULL) !=
        SQLITE_OK)
        return store_fail(s, HERR_IO, "cannot remove a setting: %s", sqlite3_errmsg(s->db));
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    int changed = sqlite3_changes(s->db);
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return store_fail(s, HERR_IO, "cannot remove a setting: %s", sqlite3_errmsg(s->db));
    return changed ? HERR_OK : HERR_NOT_FOUND;
}

/* ---- a replica restored from a backup (docs/BACKUP.md, "Fork safety") ---- */

herr store_restored(struct store *s, uint64_t *backup_ms)
{
    char *v = NULL;
    herr e = store_meta_get(s, STORE_RESTORED_KEY, &v);
    if (!e && backup_ms)
        *backup_ms = strtoull(v, NULL, 10);
    free(v);
    return e;
}

herr store_set_restored(struct store *s, uint64_t backup_ms)
{
    char v[32];
    snprintf(v, sizeof v, "%llu", (unsigned long long)backup_ms);
    return store_meta_set(s, STORE_RESTORED_KEY, v);
}

herr store_clear_restored(struct store *s, bool *was)
{
    *was = false;
    herr e = store_meta_delete(s, STORE_RESTORED_KEY);
    if (e == HERR_NOT_FOUND)
        return HERR_OK;
    *was = e == HERR_OK;
    return e;
}
