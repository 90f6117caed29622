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

herr store_blob_get(struct store *s, const char *key, uint8_t **value, size_t *n)
{
    sqlite3_stmt *q = NULL;
    *value = NULL;
    *n = 0;
    s->err[0] = '\0';
    if (sqlite3_prepare_v2(s->db, "SELECT value FROM local_blobs WHERE key = ?1", -1, &q, NULL) !=
        SQLITE_OK)
        return store_fail(s, HERR_IO, "cannot read local bytes: %s", sqlite3_errmsg(s->db));
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    herr e = HERR_OK;
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        const void *b = sqlite3_column_blob(q, 0);
        size_t len = (size_t)sqlite3_column_bytes(q, 0);
        *value = malloc(len ? len : 1);
        if (!*value || (!b && len))
            e = store_fail(s, HERR_NOMEM, "out of memory");
        else if (len)
            memcpy(*value, b, len);
        *n = len;
    } else if (rc == SQLITE_DONE) {
        e = store_fail(s, HERR_NOT_FOUND, "no local bytes '%s'", key);
    } else {
        e = store_sqlerr(s, rc, "cannot read local bytes");
    }
    sqlite3_finalize(q);
    if (e) {
        free(*value);
        *value = NULL;
        *n = 0;
    }
    return e;
}

herr store_blob_set(struct store *s, const char *key, const uint8_t *value, size_t n)
{
    sqlite3_stmt *q = NULL;
    s->err[0] = '\0';
    if (s->readonly)
        return store_fail(s, HERR_READONLY, "the store is open read-only");
    if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO local_blobs(key, value) VALUES (?1, ?2)",
                           -1, &q, NULL) != SQLITE_OK)
        return store_fail(s, HERR_IO, "cannot save local bytes: %s", sqlite3_errmsg(s->db));
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_blob64(q, 2, value, n, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? HERR_OK : store_sqlerr(s, rc, "cannot save local bytes");
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
