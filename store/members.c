/* members.c - browser members: accounts, invite codes and reading marks (members.h).
 * Local tables of the store's file, outside the forum view. The per-page lookups
 * (an account, a reading mark) use cached statements; the rest prepare per call. */
#include "store/members.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

/* No 0/O, 1/I/L: a code is read off a poster. 31 symbols, so 16 carry ~79 bits. */
static const char code_alphabet[] = STORE_INVITE_ALPHABET;

/* A code may need a new draw if it meets an existing one; with 79 bits it never
 * does, but a bound keeps the loop honest. */
#define INVITE_TRIES 4

static herr prepare(struct store *s, const char *sql, sqlite3_stmt **q)
{
    int rc = sqlite3_prepare_v2(s->db, sql, -1, q, NULL);
    return rc == SQLITE_OK ? HERR_OK : store_sqlerr(s, rc, "cannot prepare a query");
}

static bool login_ok(const char *login)
{
    size_t n = strlen(login);
    return n >= 1 && n <= STORE_LOGIN_MAX &&
           strspn(login, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* code_normalise - the code a person typed as stored: upper case, without '-' and
 * spaces. false when that is not STORE_INVITE_CODE_LEN symbols of the alphabet. */
static bool code_normalise(const char *in, char out[STORE_INVITE_CODE_LEN + 1])
{
    size_t n = 0;
    for (const char *p = in; *p; p++) {
        char c = *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
        if (c == '-' || c == ' ')
            continue;
        if (n == STORE_INVITE_CODE_LEN || !strchr(code_alphabet, c))
            return false;
        out[n++] = c;
    }
    out[n] = '\0';
    return n == STORE_INVITE_CODE_LEN;
}

static herr need_writable(struct store *s)
{
    return s->readonly ? store_fail(s, HERR_READONLY, "the store is open read-only") : HERR_OK;
}

/* ---- invites ---- */

/* invite_usable - HERR_OK when the normalised code can be used at now_ms, else
 * HERR_DENIED saying why. */
static herr invite_usable(struct store *s, const char *code, uint64_t now_ms)
{
    sqlite3_stmt *q = NULL;
    herr e =
        prepare(s, "SELECT expires, used_by IS NOT NULL, revoked FROM invites WHERE code = ?1", &q);
    if (e)
        return e;
    sqlite3_bind_text(q, 1, code, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_DONE)
        e = store_fail(s, HERR_DENIED, "no such invite code");
    else if (rc != SQLITE_ROW)
        e = store_sqlerr(s, rc, "cannot read the invite");
    else if (sqlite3_column_int(q, 1))
        e = store_fail(s, HERR_DENIED, "the invite code was already used");
    else if (sqlite3_column_int(q, 2))
        e = store_fail(s, HERR_DENIED, "the invite code was revoked");
    else if ((uint64_t)sqlite3_column_int64(q, 0) <= now_ms)
        e = store_fail(s, HERR_DENIED, "the invite code has expired");
    sqlite3_finalize(q);
    return e;
}

herr store_invite_check(struct store *s, const char *code, uint64_t now_ms)
{
    char norm[STORE_INVITE_CODE_LEN + 1];
    s->err[0] = '\0';
    if (!code_normalise(code, norm))
        return store_fail(s, HERR_DENIED, "no such invite code");
    return invite_usable(s, norm, now_ms);
}

static void new_code(char code[STORE_INVITE_CODE_LEN + 1])
{
    for (size_t i = 0; i < STORE_INVITE_CODE_LEN; i++)
        code[i] = code_alphabet[random_uniform(sizeof code_alphabet - 1)];
    code[STORE_INVITE_CODE_LEN] = '\0';
}

/* invite_insert - insert a fresh code; *done false when it met an existing one. */
static herr invite_insert(struct store *s, sqlite3_stmt *q, const uint8_t *creator, uint64_t now_ms,
                          uint64_t expires_ms, char *code, bool *done)
{
    new_code(code);
    sqlite3_reset(q);
    sqlite3_bind_text(q, 1, code, -1, SQLITE_STATIC);
    sqlite3_bind_blob(q, 2, creator, HEARTH_PK_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, (int64_t)now_ms);
    sqlite3_bind_int64(q, 4, (int64_t)expires_ms);
    herr e = sq_exec(s, q, "cannot save the invite");
    *done = !e && sqlite3_changes(s->db) == 1;
    return e;
}

herr store_invite_create(struct store *s, const uint8_t creator[HEARTH_PK_LEN], uint64_t now_ms,
                         uint64_t expires_ms, char code[STORE_INVITE_CODE_LEN + 1])
{
    sqlite3_stmt *q = NULL;
    bool may = false, done = false;
    s->err[0] = '\0';
    code[0] = '\0';
    if (expires_ms <= now_ms || expires_ms > HEARTH_MAX_SEQ)
        return store_fail(s, HERR_USAGE, "an invite must expire after it is made");
    herr e = store_write_begin(s);
    if (e)
        return e;
    e = care_current(s, creator, ROLE_MODERATOR, &may);
    if (!e && !may)
        e = store_fail(s, HERR_DENIED, "only the founder, admins and moderators can make invites");
    if (!e)
        e = prepare(s,
                    "INSERT OR IGNORE INTO invites(code, creator, created, expires) VALUES "
                    "(?1, ?2, ?3, ?4)",
                    &q);
    for (int i = 0; !e && !done && i < INVITE_TRIES; i++)
        e = invite_insert(s, q, creator, now_ms, expires_ms, code, &done);
    if (!e && !done)
        e = store_fail(s, HERR_IO, "cannot draw a new invite code");
    sqlite3_finalize(q);
    e = store_write_end(s, e);
    if (e)
        code[0] = '\0';
    return e;
}

static herr invites_run(struct store *s, sqlite3_stmt *q, struct store_invite **out, size_t *n)
{
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            struct store_invite *v = realloc(*out, cap * sizeof *v);
            if (!v)
                return store_fail(s, HERR_NOMEM, "out of memory");
            *out = v;
        }
        struct store_invite *iv = &(*out)[(*n)++];
        memset(iv, 0, sizeof *iv);
        snprintf(iv->code, sizeof iv->code, "%s", (const char *)sqlite3_column_text(q, 0));
        if (sqlite3_column_bytes(q, 1) == HEARTH_PK_LEN)
            memcpy(iv->creator, sqlite3_column_blob(q, 1), HEARTH_PK_LEN);
        iv->created = (uint64_t)sqlite3_column_int64(q, 2);
        iv->expires = (uint64_t)sqlite3_column_int64(q, 3);
        iv->used = sqlite3_column_type(q, 4) != SQLITE_NULL;
        if (sqlite3_column_bytes(q, 4) == HEARTH_PK_LEN)
            memcpy(iv->used_by, sqlite3_column_blob(q, 4), HEARTH_PK_LEN);
        iv->revoked = sqlite3_column_int(q, 5) != 0;
    }
    return rc == SQLITE_DONE ? HERR_OK : store_sqlerr(s, rc, "cannot list invites");
}

herr store_invites(struct store *s, struct store_invite **out, size_t *n)
{
    sqlite3_stmt *q = NULL;
    s->err[0] = '\0';
    *out = NULL;
    *n = 0;
    herr e = prepare(s,
                     "SELECT code, creator, created, expires, used_by, revoked FROM invites "
                     "ORDER BY created DESC, code",
                     &q);
    if (!e)
        e = invites_run(s, q, out, n);
    sqlite3_finalize(q);
    if (e) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return e;
}

herr store_invite_revoke(struct store *s, const char *code)
{
    char norm[STORE_INVITE_CODE_LEN + 1];
    sqlite3_stmt *q = NULL;
    s->err[0] = '\0';
    herr e = need_writable(s);
    if (e)
        return e;
    if (!code_normalise(code, norm))
        return store_fail(s, HERR_NOT_FOUND, "no invite code '%s'", code);
    /* The row's existence decides: revoking twice, or a used code, changes nothing. */
    e = prepare(s,
                "UPDATE invites SET revoked = (revoked OR used_by IS NULL) WHERE code = ?1 "
                "RETURNING code",
                &q);
    if (e)
        return e;
    sqlite3_bind_text(q, 1, norm, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    bool found = rc == SQLITE_ROW;
    while (rc == SQLITE_ROW)
        rc = sqlite3_step(q);
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return store_sqlerr(s, rc, "cannot revoke the invite");
    return found ? HERR_OK : store_fail(s, HERR_NOT_FOUND, "no invite code '%s'", norm);
}

/* ---- accounts ---- */

/* account_free - HERR_DUPLICATE when login or pk already has an account. */
static herr account_free(struct store *s, const char *login, const uint8_t *pk)
{
    sqlite3_stmt *q = NULL;
    herr e = prepare(s, "SELECT login = ?1 FROM accounts WHERE login = ?1 OR pk = ?2 LIMIT 1", &q);
    if (e)
        return e;
    sqlite3_bind_text(q, 1, login, -1, SQLITE_STATIC);
    sqlite3_bind_blob(q, 2, pk, HEARTH_PK_LEN, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        e = sqlite3_column_int(q, 0)
                ? store_fail(s, HERR_DUPLICATE, "the login '%s' is taken", login)
                : store_fail(s, HERR_DUPLICATE, "this key already has an account");
    else if (rc != SQLITE_DONE)
        e = store_sqlerr(s, rc, "cannot read accounts");
    sqlite3_finalize(q);
    return e;
}

static herr invite_use(struct store *s, const char *code, const uint8_t *pk, uint64_t now_ms)
{
    sqlite3_stmt *q = NULL;
    herr e = invite_usable(s, code, now_ms);
    if (!e)
        e = prepare(s, "UPDATE invites SET used_by = ?2, used_at = ?3 WHERE code = ?1", &q);
    if (!e) {
        sqlite3_bind_text(q, 1, code, -1, SQLITE_STATIC);
        sqlite3_bind_blob(q, 2, pk, HEARTH_PK_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(q, 3, (int64_t)now_ms);
        e = sq_exec(s, q, "cannot use the invite");
    }
    sqlite3_finalize(q);
    return e;
}

static herr account_insert(struct store *s, const char *login, const uint8_t *pk,
                           const uint8_t *sealed, const char *code, uint64_t now_ms)
{
    sqlite3_stmt *q = NULL;
    herr e = prepare(s,
                     "INSERT INTO accounts(login, pk, sealed, created, invite) VALUES (?1, ?2, "
                     "?3, ?4, ?5)",
                     &q);
    if (e)
        return e;
    sqlite3_bind_text(q, 1, login, -1, SQLITE_STATIC);
    sqlite3_bind_blob(q, 2, pk, HEARTH_PK_LEN, SQLITE_STATIC);
    sqlite3_bind_blob(q, 3, sealed, HEARTH_SEALED_SEED_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, (int64_t)now_ms);
    if (code)
        sqlite3_bind_text(q, 5, code, -1, SQLITE_STATIC);
    e = sq_exec(s, q, "cannot save the account");
    sqlite3_finalize(q);
    return e;
}

herr store_account_create(struct store *s, const char *login, const uint8_t pk[HEARTH_PK_LEN],
                          const uint8_t sealed[HEARTH_SEALED_SEED_LEN], const char *invite_code,
                          uint64_t now_ms)
{
    char code[STORE_INVITE_CODE_LEN + 1];
    s->err[0] = '\0';
    if (!login_ok(login))
        return store_fail(s, HERR_USAGE, "a login is 1 to %d of a-z, 0-9, '.', '_' and '-'",
                          STORE_LOGIN_MAX);
    herr e = store_write_begin(s);
    if (e)
        return e;
    e = account_free(s, login, pk);
    if (!e && invite_code && !code_normalise(invite_code, code))
        e = store_fail(s, HERR_DENIED, "no such invite code");
    if (!e && invite_code)
        e = invite_use(s, code, pk, now_ms);
    if (!e)
        e = account_insert(s, login, pk, sealed, invite_code ? code : NULL, now_ms);
    return store_write_end(s, e);
}

herr store_account_get(struct store *s, const char *login, uint8_t pk[HEARTH_PK_LEN],
                       uint8_t sealed[HEARTH_SEALED_SEED_LEN])
{
    herr e = HERR_OK;
    s->err[0] = '\0';
    sqlite3_stmt *q = sq(s, Q_ACCOUNT_GET);
    if (!q)
        return HERR_IO;
    sqlite3_bind_text(q, 1, login, -1, SQLITE_STATIC);
    int r = sq_step(s, q, &e, "cannot read the account");
    if (r < 0)
        return e;
    if (r == 0)
        return store_fail(s, HERR_NOT_FOUND, "no account '%s'", login);
    if (sqlite3_column_bytes(q, 0) != HEARTH_PK_LEN ||
        sqlite3_column_bytes(q, 1) != HEARTH_SEALED_SEED_LEN)
        e = store_fail(s, HERR_CORRUPT, "the account '%s' is damaged", login);
    else {
        memcpy(pk, sqlite3_column_blob(q, 0), HEARTH_PK_LEN);
        memcpy(sealed, sqlite3_column_blob(q, 1), HEARTH_SEALED_SEED_LEN);
    }
    sqlite3_reset(q);
    return e;
}

herr store_account_login_of(struct store *s, const uint8_t pk[HEARTH_PK_LEN],
                            char login[STORE_LOGIN_MAX + 1])
{
    herr e = HERR_OK;
    s->err[0] = '\0';
    login[0] = '\0';
    sqlite3_stmt *q = sq(s, Q_ACCOUNT_LOGIN_OF);
    if (!q)
        return HERR_IO;
    sqlite3_bind_blob(q, 1, pk, HEARTH_PK_LEN, SQLITE_STATIC);
    int r = sq_step(s, q, &e, "cannot read the account");
    if (r < 0)
        return e;
    if (r == 0)
        return store_fail(s, HERR_NOT_FOUND, "no account for this key");
    if (sqlite3_column_bytes(q, 0) > STORE_LOGIN_MAX)
        e = store_fail(s, HERR_CORRUPT, "an account's login is too long");
    else
        snprintf(login, STORE_LOGIN_MAX + 1, "%s", (const char *)sqlite3_column_text(q, 0));
    sqlite3_reset(q);
    return e;
}

herr store_account_set_sealed(struct store *s, const char *login,
                              const uint8_t sealed[HEARTH_SEALED_SEED_LEN])
{
    sqlite3_stmt *q = NULL;
    s->err[0] = '\0';
    herr e = need_writable(s);
    if (!e)
        e = prepare(s, "UPDATE accounts SET sealed = ?2 WHERE login = ?1", &q);
    if (e)
        return e;
    sqlite3_bind_text(q, 1, login, -1, SQLITE_STATIC);
    sqlite3_bind_blob(q, 2, sealed, HEARTH_SEALED_SEED_LEN, SQLITE_STATIC);
    e = sq_exec(s, q, "cannot save the account");
    bool changed = !e && sqlite3_changes(s->db) == 1;
    sqlite3_finalize(q);
    if (!e && !changed)
        e = store_fail(s, HERR_NOT_FOUND, "no account '%s'", login);
    return e;
}

/* ---- reading marks ---- */

static herr what_ok(struct store *s, const char *what)
{
    size_t n = strlen(what);
    if (n == 0 || n > HEARTH_MAX_SEEN_WHAT)
        return store_fail(s, HERR_USAGE, "a reading mark's name is 1 to %d bytes",
                          HEARTH_MAX_SEEN_WHAT);
    return HERR_OK;
}

herr store_seen_get(struct store *s, const uint8_t pk[HEARTH_PK_LEN], const char *what,
                    uint64_t *value)
{
    *value = 0;
    s->err[0] = '\0';
    herr e = what_ok(s, what);
    if (e)
        return e;
    sqlite3_stmt *q = sq(s, Q_SEEN_GET);
    if (!q)
        return HERR_IO;
    sqlite3_bind_blob(q, 1, pk, HEARTH_PK_LEN, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, what, -1, SQLITE_STATIC);
    int r = sq_step(s, q, &e, "cannot read a reading mark");
    if (r > 0) {
        *value = (uint64_t)sqlite3_column_int64(q, 0);
        sqlite3_reset(q);
    }
    return r < 0 ? e : HERR_OK;
}

herr store_seen_set(struct store *s, const uint8_t pk[HEARTH_PK_LEN], const char *what,
                    uint64_t value)
{
    s->err[0] = '\0';
    herr e = need_writable(s);
    if (!e)
        e = what_ok(s, what);
    if (e)
        return e;
    sqlite3_stmt *q = sq(s, Q_SEEN_SET);
    if (!q)
        return HERR_IO;
    sqlite3_bind_blob(q, 1, pk, HEARTH_PK_LEN, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, what, -1, SQLITE_STATIC);
    /* Stored as SQLite's int64, bit for bit: the value is the front end's. */
    sqlite3_bind_int64(q, 3, (int64_t)value);
    return sq_exec(s, q, "cannot save a reading mark");
}

/* ---- the owner's login links ---- */

static void owner_token_key(char key[sizeof STORE_OWNER_TOKEN_PREFIX + 2 * HEARTH_ID_LEN],
                            const uint8_t token[STORE_OWNER_TOKEN_LEN])
{
    uint8_t h[HEARTH_ID_LEN];
    char hex[2 * HEARTH_ID_LEN + 1];
    hash_id(h, token, STORE_OWNER_TOKEN_LEN);
    hex_encode(hex, h, sizeof h);
    snprintf(key, sizeof STORE_OWNER_TOKEN_PREFIX + 2 * HEARTH_ID_LEN, "%s%s",
             STORE_OWNER_TOKEN_PREFIX, hex);
}

#define OWNER_SWEEP_MAX 64 /* expired tokens forgotten at one add */

struct owner_sweep {
    uint64_t now;
    size_t n;
    char keys[OWNER_SWEEP_MAX][sizeof STORE_OWNER_TOKEN_PREFIX + 2 * HEARTH_ID_LEN];
};

static herr owner_expired(void *ctx, const char *key, const char *value)
{
    struct owner_sweep *w = ctx;
    if (w->n < OWNER_SWEEP_MAX && strtoull(value, NULL, 10) <= w->now &&
        strlen(key) < sizeof w->keys[0])
        snprintf(w->keys[w->n++], sizeof w->keys[0], "%s", key);
    return HERR_OK;
}

herr store_owner_token_add(struct store *s, const uint8_t token[STORE_OWNER_TOKEN_LEN],
                           uint64_t now_ms, uint64_t expires_ms)
{
    char key[sizeof STORE_OWNER_TOKEN_PREFIX + 2 * HEARTH_ID_LEN], value[24];
    if (expires_ms <= now_ms)
        return store_fail(s, HERR_USAGE, "a login link must expire after it is made");
    struct owner_sweep *w = calloc(1, sizeof *w);
    if (!w)
        return HERR_NOMEM;
    w->now = now_ms;
    herr e = store_meta_each(s, STORE_OWNER_TOKEN_PREFIX, owner_expired, w);
    for (size_t i = 0; !e && i < w->n; i++)
        if ((e = store_meta_delete(s, w->keys[i])) == HERR_NOT_FOUND)
            e = HERR_OK; /* taken meanwhile */
    free(w);
    if (e)
        return e;
    owner_token_key(key, token);
    snprintf(value, sizeof value, "%llu", (unsigned long long)expires_ms);
    return store_meta_set(s, key, value);
}

herr store_owner_token_take(struct store *s, const char *hex, uint64_t now_ms)
{
    uint8_t token[STORE_OWNER_TOKEN_LEN];
    char key[sizeof STORE_OWNER_TOKEN_PREFIX + 2 * HEARTH_ID_LEN], *value = NULL;
    if (!hex || strlen(hex) != 2 * STORE_OWNER_TOKEN_LEN ||
        hex_decode(token, sizeof token, hex) != HERR_OK)
        return store_fail(s, HERR_DENIED, "not a login token");
    owner_token_key(key, token);
    secret_wipe(token, sizeof token);
    herr e = store_meta_get(s, key, &value);
    if (e == HERR_NOT_FOUND)
        return store_fail(s, HERR_DENIED, "no such login token: it was used, or never made here");
    if (e)
        return e;
    uint64_t expires = strtoull(value, NULL, 10);
    free(value);
    /* Deleting it is what takes it: of two racing requests, one deletes it. */
    e = store_meta_delete(s, key);
    if (e == HERR_NOT_FOUND)
        return store_fail(s, HERR_DENIED, "no such login token: it was used, or never made here");
    if (e)
        return e;
    if (expires <= now_ms)
        return store_fail(s, HERR_DENIED, "the login token has expired");
    return HERR_OK;
}
