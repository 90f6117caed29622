/* test_members.c - browser members: accounts (create, get, duplicates, bad logins,
 * passphrase change), invites (who may make them, single use, expiry, revocation,
 * typing forgiveness, and an account never made when its invite is refused), reading
 * marks, and that none of it leaves the hub: not in store_export, not in
 * store_view_digest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/event.h"
#include "store/members.h"
#include "store/store.h"
#include "tests/unit/fixture.h"
#include "tests/unit/testutil.h"

#define NOW 1718000000000ULL
#define DAY (24ULL * 3600 * 1000)

static struct hkey F, M, A, B; /* founder, a moderator, alice, bob */

static void publish(struct fx *f, const struct hkey *k, struct event_draft d)
{
    uint8_t id[HEARTH_ID_LEN];
    herr e = store_publish(f->s, k, &d, id);
    if (e)
        fail_msg("publish: %s: %s", herr_str(e), store_errmsg(f->s));
}

/* A forum founded by F, with M a moderator. */
static struct fx *fx_new(const char *name)
{
    struct fx *f = fx_empty(name);
    struct event_draft g = {.kind = EK_GENESIS};
    g.b.name = S("Riverbend");
    publish(f, &F, g);
    struct event_draft r = {.kind = EK_ROLE};
    r.b.subject = M.pk;
    r.b.role = S("moderator");
    r.b.has_grant = true, r.b.grant = true;
    publish(f, &F, r);
    return f;
}

static void sealed_for(uint8_t sealed[HEARTH_SEALED_SEED_LEN], uint8_t n)
{
    memset(sealed, n, HEARTH_SEALED_SEED_LEN);
}

static void invite(struct fx *f, const struct hkey *by, uint64_t expires, char *code)
{
    herr e = store_invite_create(f->s, by->pk, NOW, expires, code);
    if (e)
        fail_msg("invite: %s: %s", herr_str(e), store_errmsg(f->s));
}

static void test_accounts(void **state)
{
    struct fx *f = fx_new("members_accounts");
    uint8_t sa[HEARTH_SEALED_SEED_LEN], sb[HEARTH_SEALED_SEED_LEN], pk[HEARTH_PK_LEN];
    uint8_t got[HEARTH_SEALED_SEED_LEN];
    char login[STORE_LOGIN_MAX + 1];
    sealed_for(sa, 1);
    sealed_for(sb, 2);
    assert_int_equal(store_account_create(f->s, "alice", A.pk, sa, NULL, NOW), HERR_OK);
    assert_int_equal(store_account_get(f->s, "alice", pk, got), HERR_OK);
    assert_memory_equal(pk, A.pk, HEARTH_PK_LEN);
    assert_memory_equal(got, sa, sizeof sa);
    assert_int_equal(store_account_login_of(f->s, A.pk, login), HERR_OK);
    assert_string_equal(login, "alice");
    /* The login or the key taken. */
    assert_int_equal(store_account_create(f->s, "alice", B.pk, sb, NULL, NOW), HERR_DUPLICATE);
    assert_non_null(strstr(store_errmsg(f->s), "taken"));
    assert_int_equal(store_account_create(f->s, "alice2", A.pk, sb, NULL, NOW), HERR_DUPLICATE);
    /* Bad names. */
    static const char *const bad[] = {"",       "Alice", "al ice",
                                      "al/ice", "élise", "a23456789012345678901234567890123"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(store_account_create(f->s, bad[i], B.pk, sb, NULL, NOW), HERR_USAGE);
    assert_int_equal(
        store_account_create(f->s, "b.o_b-2345678901234567890123456789", B.pk, sb, NULL, NOW),
        HERR_USAGE);
    assert_int_equal(store_account_create(f->s, "b.o_b-2", B.pk, sb, NULL, NOW), HERR_OK);
    assert_int_equal(store_account_get(f->s, "bob", pk, got), HERR_NOT_FOUND);
    assert_int_equal(store_account_login_of(f->s, F.pk, login), HERR_NOT_FOUND);
    /* A passphrase change. */
    assert_int_equal(store_account_set_sealed(f->s, "alice", sb), HERR_OK);
    assert_int_equal(store_account_get(f->s, "alice", pk, got), HERR_OK);
    assert_memory_equal(got, sb, sizeof sb);
    assert_int_equal(store_account_set_sealed(f->s, "nobody", sb), HERR_NOT_FOUND);
    /* They outlive a reopen (the schema is on disk). */
    store_destroy(&f->s);
    assert_int_equal(store_open(&f->s, f->path, 0), HERR_OK);
    assert_int_equal(store_account_login_of(f->s, B.pk, login), HERR_OK);
    assert_string_equal(login, "b.o_b-2");
    fx_free(f);
}

static void test_invite_who(void **state)
{
    struct fx *f = fx_new("members_who");
    char code[STORE_INVITE_CODE_LEN + 1], c2[STORE_INVITE_CODE_LEN + 1];
    invite(f, &F, NOW + DAY, code);
    assert_int_equal(strlen(code), STORE_INVITE_CODE_LEN);
    assert_int_equal(strspn(code, "23456789ABCDEFGHJKMNPQRSTUVWXYZ"), STORE_INVITE_CODE_LEN);
    assert_int_equal(store_invite_create(f->s, M.pk, NOW + 1, NOW + DAY, c2), HERR_OK);
    assert_string_not_equal(code, c2);
    /* A member without a role may not. */
    char no[STORE_INVITE_CODE_LEN + 1];
    assert_int_equal(store_invite_create(f->s, A.pk, NOW, NOW + DAY, no), HERR_DENIED);
    assert_string_equal(no, "");
    assert_int_equal(store_invite_create(f->s, F.pk, NOW, NOW, no), HERR_USAGE);
    struct store_invite *v;
    size_t n;
    assert_int_equal(store_invites(f->s, &v, &n), HERR_OK);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].code, c2); /* newest first */
    assert_memory_equal(v[0].creator, M.pk, HEARTH_PK_LEN);
    assert_int_equal(v[0].created, NOW + 1);
    assert_string_equal(v[1].code, code);
    assert_memory_equal(v[1].creator, F.pk, HEARTH_PK_LEN);
    assert_int_equal(v[1].expires, NOW + DAY);
    assert_false(v[1].used);
    assert_false(v[1].revoked);
    free(v);
    fx_free(f);
}

/* account_refused - the account is not made and the invite is as it was. */
static void account_refused(struct fx *f, const char *code, uint64_t now, herr want)
{
    uint8_t s[HEARTH_SEALED_SEED_LEN], pk[HEARTH_PK_LEN];
    sealed_for(s, 9);
    assert_int_equal(store_account_create(f->s, "bob", B.pk, s, code, now), want);
    assert_int_equal(store_account_get(f->s, "bob", pk, s), HERR_NOT_FOUND);
}

static void test_invite_use(void **state)
{
    struct fx *f = fx_new("members_use");
    char code[STORE_INVITE_CODE_LEN + 1], typed[64];
    uint8_t s[HEARTH_SEALED_SEED_LEN];
    sealed_for(s, 3);
    invite(f, &F, NOW + DAY, code);
    assert_int_equal(store_invite_check(f->s, code, NOW), HERR_OK);
    /* As a person types it: lower case, in groups. */
    snprintf(typed, sizeof typed, "%.4s-%.4s %.4s-%.4s", code, code + 4, code + 8, code + 12);
    for (char *c = typed; *c; c++)
        *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
    assert_int_equal(store_invite_check(f->s, typed, NOW), HERR_OK);
    assert_int_equal(store_invite_check(f->s, "AAAA", NOW), HERR_DENIED);
    assert_int_equal(store_invite_check(f->s, "23456789ABCDEFGH", NOW), HERR_DENIED);
    /* A login taken: refused, and the invite stays unused. */
    assert_int_equal(store_account_create(f->s, "bob", B.pk, s, NULL, NOW), HERR_OK);
    assert_int_equal(store_account_create(f->s, "bob", A.pk, s, code, NOW), HERR_DUPLICATE);
    assert_int_equal(store_invite_check(f->s, code, NOW), HERR_OK);
    /* Used once. */
    assert_int_equal(store_account_create(f->s, "alice", A.pk, s, typed, NOW + 1), HERR_OK);
    assert_int_equal(store_invite_check(f->s, code, NOW), HERR_DENIED);
    assert_non_null(strstr(store_errmsg(f->s), "used"));
    struct store_invite *v;
    size_t n;
    assert_int_equal(store_invites(f->s, &v, &n), HERR_OK);
    assert_int_equal(n, 1);
    assert_true(v[0].used);
    assert_memory_equal(v[0].used_by, A.pk, HEARTH_PK_LEN);
    free(v);
    /* Twice: refused, and no second account. */
    uint8_t pk[HEARTH_PK_LEN];
    assert_int_equal(store_account_create(f->s, "carol", F.pk, s, code, NOW + 2), HERR_DENIED);
    assert_int_equal(store_account_get(f->s, "carol", pk, s), HERR_NOT_FOUND);
    fx_free(f);
}

static void test_invite_expired_revoked(void **state)
{
    struct fx *f = fx_new("members_expired");
    char old[STORE_INVITE_CODE_LEN + 1], gone[STORE_INVITE_CODE_LEN + 1];
    invite(f, &M, NOW + DAY, old);
    invite(f, &M, NOW + DAY, gone);
    /* Expired: at its expiry time and after. */
    assert_int_equal(store_invite_check(f->s, old, NOW + DAY - 1), HERR_OK);
    assert_int_equal(store_invite_check(f->s, old, NOW + DAY), HERR_DENIED);
    assert_non_null(strstr(store_errmsg(f->s), "expired"));
    account_refused(f, old, NOW + DAY, HERR_DENIED);
    /* Revoked. */
    assert_int_equal(store_invite_revoke(f->s, gone), HERR_OK);
    assert_int_equal(store_invite_revoke(f->s, gone), HERR_OK);
    assert_int_equal(store_invite_check(f->s, gone, NOW), HERR_DENIED);
    assert_non_null(strstr(store_errmsg(f->s), "revoked"));
    account_refused(f, gone, NOW, HERR_DENIED);
    account_refused(f, "not a code", NOW, HERR_DENIED);
    assert_int_equal(store_invite_revoke(f->s, "23456789ABCDEFGH"), HERR_NOT_FOUND);
    assert_int_equal(store_invite_revoke(f->s, "nonsense"), HERR_NOT_FOUND);
    /* The unexpired, unrevoked one still works, once. */
    assert_int_equal(store_invite_check(f->s, old, NOW), HERR_OK);
    struct store_invite *v;
    size_t n;
    assert_int_equal(store_invites(f->s, &v, &n), HERR_OK);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(v[i].revoked, strcmp(v[i].code, gone) == 0);
    free(v);
    fx_free(f);
}

static void test_seen(void **state)
{
    struct fx *f = fx_new("members_seen");
    uint64_t v = 7;
    assert_int_equal(store_seen_get(f->s, A.pk, "boards", &v), HERR_OK);
    assert_int_equal(v, 0);
    assert_int_equal(store_seen_set(f->s, A.pk, "boards", NOW), HERR_OK);
    assert_int_equal(store_seen_set(f->s, A.pk, "thread:00ff", 5), HERR_OK);
    assert_int_equal(store_seen_set(f->s, B.pk, "boards", 1), HERR_OK);
    assert_int_equal(store_seen_get(f->s, A.pk, "boards", &v), HERR_OK);
    assert_int_equal(v, NOW);
    assert_int_equal(store_seen_set(f->s, A.pk, "boards", NOW + 1), HERR_OK);
    assert_int_equal(store_seen_get(f->s, A.pk, "boards", &v), HERR_OK);
    assert_int_equal(v, NOW + 1);
    assert_int_equal(store_seen_get(f->s, B.pk, "boards", &v), HERR_OK);
    assert_int_equal(v, 1);
    assert_int_equal(store_seen_get(f->s, A.pk, "thread:00ff", &v), HERR_OK);
    assert_int_equal(v, 5);
    assert_int_equal(store_seen_set(f->s, A.pk, "all", UINT64_MAX), HERR_OK);
    assert_int_equal(store_seen_get(f->s, A.pk, "all", &v), HERR_OK);
    assert_true(v == UINT64_MAX);
    char big[HEARTH_MAX_SEEN_WHAT + 2];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(store_seen_set(f->s, A.pk, big, 1), HERR_USAGE);
    assert_int_equal(store_seen_set(f->s, A.pk, "", 1), HERR_USAGE);
    fx_free(f);
}

/* ---- none of it leaves the hub ---- */

struct sink {
    size_t n, bytes;
    const uint8_t *needle;
    size_t needle_len;
    bool found;
};

static herr sink_fn(void *ctx, const uint8_t *env, size_t len)
{
    struct sink *k = ctx;
    k->n++;
    k->bytes += len;
    if (k->needle && memmem(env, len, k->needle, k->needle_len))
        k->found = true;
    return HERR_OK;
}

static herr ingest_fn(void *ctx, const uint8_t *env, size_t len)
{
    struct store_blob b = {env, len};
    struct ingest_result r;
    return store_ingest(ctx, &b, 1, &r, NULL);
}

static void test_local_only(void **state)
{
    struct fx *f = fx_new("members_local");
    uint8_t before[HEARTH_ID_LEN], after[HEARTH_ID_LEN], s[HEARTH_SEALED_SEED_LEN];
    struct sink k0 = {0}, k1 = {0};
    char code[STORE_INVITE_CODE_LEN + 1], used[STORE_INVITE_CODE_LEN + 1];
    assert_int_equal(store_view_digest(f->s, before), HERR_OK);
    assert_int_equal(store_export(f->s, sink_fn, &k0), HERR_OK);
    sealed_for(s, 0x5a);
    invite(f, &F, NOW + DAY, code);
    invite(f, &F, NOW + DAY, used);
    assert_int_equal(store_account_create(f->s, "alice", A.pk, s, used, NOW), HERR_OK);
    assert_int_equal(store_seen_set(f->s, A.pk, "boards", NOW), HERR_OK);
    assert_int_equal(store_invite_revoke(f->s, code), HERR_OK);
    assert_int_equal(store_view_digest(f->s, after), HERR_OK);
    assert_memory_equal(before, after, HEARTH_ID_LEN);
    k1.needle = s;
    k1.needle_len = 16;
    assert_int_equal(store_export(f->s, sink_fn, &k1), HERR_OK);
    assert_int_equal(k1.n, k0.n);
    assert_int_equal(k1.bytes, k0.bytes);
    assert_false(k1.found);
    k1.needle = (const uint8_t *)"alice";
    k1.needle_len = 5;
    assert_int_equal(store_export(f->s, sink_fn, &k1), HERR_OK);
    assert_false(k1.found);
    /* A copy made from the export has the same view, and no members. */
    struct fx *g = fx_empty("members_copy");
    uint8_t pk[HEARTH_PK_LEN], forum[HEARTH_ID_LEN];
    /* Bound first: the export sends the role grant before the genesis. */
    assert_int_equal(store_forum(f->s, forum), HERR_OK);
    assert_int_equal(store_set_forum(g->s, forum), HERR_OK);
    assert_int_equal(store_export(f->s, ingest_fn, g->s), HERR_OK);
    assert_int_equal(store_view_digest(g->s, after), HERR_OK);
    assert_memory_equal(before, after, HEARTH_ID_LEN);
    assert_int_equal(store_account_get(g->s, "alice", pk, s), HERR_NOT_FOUND);
    assert_int_equal(store_invite_check(g->s, code, NOW), HERR_DENIED);
    fx_free(g);
    fx_free(f);
}

static herr count_meta(void *ctx, const char *key, const char *value)
{
    (void)key, (void)value;
    ++*(int *)ctx;
    return HERR_OK;
}

/* The owner's login tokens: kept hashed, taken once, not after expiry, and the
 * expired ones forgotten at the next add. */
static void test_owner_tokens(void **state)
{
    struct fx *f = fx_new("members_owner");
    uint8_t t1[STORE_OWNER_TOKEN_LEN], t2[STORE_OWNER_TOKEN_LEN], t3[STORE_OWNER_TOKEN_LEN];
    char h1[2 * STORE_OWNER_TOKEN_LEN + 1], h2[sizeof h1], h3[sizeof h1], *v = NULL;
    memset(t1, 1, sizeof t1), memset(t2, 2, sizeof t2), memset(t3, 3, sizeof t3);
    hex_encode(h1, t1, sizeof t1), hex_encode(h2, t2, sizeof t2), hex_encode(h3, t3, sizeof t3);
    assert_int_equal(store_owner_token_add(f->s, t1, NOW, NOW), HERR_USAGE);
    assert_int_equal(store_owner_token_add(f->s, t1, NOW, NOW + 600000), HERR_OK);
    assert_int_equal(store_owner_token_add(f->s, t2, NOW, NOW + 1000), HERR_OK);
    /* Not the token itself in the store: only its hash. */
    char key[128];
    snprintf(key, sizeof key, "%s%s", STORE_OWNER_TOKEN_PREFIX, h1);
    assert_int_equal(store_meta_get(f->s, key, &v), HERR_NOT_FOUND);
    /* Once. */
    assert_int_equal(store_owner_token_take(f->s, h1, NOW + 1), HERR_OK);
    assert_int_equal(store_owner_token_take(f->s, h1, NOW + 2), HERR_DENIED);
    assert_non_null(strstr(store_errmsg(f->s), "used"));
    /* Not after its expiry (and gone then too). */
    assert_int_equal(store_owner_token_take(f->s, h2, NOW + 1000), HERR_DENIED);
    assert_non_null(strstr(store_errmsg(f->s), "expired"));
    assert_int_equal(store_owner_token_take(f->s, h2, NOW), HERR_DENIED);
    /* Unknown, malformed. */
    assert_int_equal(store_owner_token_take(f->s, h3, NOW), HERR_DENIED);
    assert_int_equal(store_owner_token_take(f->s, "zz", NOW), HERR_DENIED);
    assert_int_equal(store_owner_token_take(f->s, NULL, NOW), HERR_DENIED);
    /* An expired one that nobody took is forgotten at the next add. */
    assert_int_equal(store_owner_token_add(f->s, t3, NOW, NOW + 10), HERR_OK);
    assert_int_equal(store_owner_token_add(f->s, t1, NOW + 20, NOW + 600000), HERR_OK);
    int n = 0;
    assert_int_equal(store_meta_each(f->s, STORE_OWNER_TOKEN_PREFIX, count_meta, &n), HERR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(store_owner_token_take(f->s, h1, NOW + 30), HERR_OK);
    fx_free(f);
}

int main(void)
{
    uint8_t seed[32];
    if (crypto_start())
        return 1;
    testutil_seed(seed, 31);
    hkey_from_seed(&F, seed);
    testutil_seed(seed, 32);
    hkey_from_seed(&M, seed);
    testutil_seed(seed, 33);
    hkey_from_seed(&A, seed);
    testutil_seed(seed, 34);
    hkey_from_seed(&B, seed);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accounts),     cmocka_unit_test(test_invite_who),
        cmocka_unit_test(test_invite_use),   cmocka_unit_test(test_invite_expired_revoked),
        cmocka_unit_test(test_seen),         cmocka_unit_test(test_local_only),
        cmocka_unit_test(test_owner_tokens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
