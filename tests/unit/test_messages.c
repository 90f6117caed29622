/* test_messages.c - the private channel between a member and the moderators: a
 * message's text sealed to its readers (base/crypto.h), the event that carries it
 * (kind 14), who may write to whom, who can read, and a second replica that holds
 * the events and still cannot read them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/hbuf.h"
#include "base/limits.h"
#include "store/event.h"
#include "store/store.h"
#include "tests/unit/testutil.h"

static struct hkey F, M, A, B;   /* founder, a moderator, alice, bob */
static struct hkey A_vec, B_vec; /* the keys of docs/EVENTS.md's vectors */

static struct hstr S(const char *s) {
    return (struct hstr){s, (uint32_t)strlen(s)};
}

/* ---- the sealing alone ---- */

static void
test_seal_open(void **state)
{
    (void)state;
    uint8_t ad[96] = {1, 2, 3}, out[HEARTH_MSG_MAX_SEALED];
    const uint8_t readers[3][HEARTH_PK_LEN];
    memcpy((void *)readers[0], A.pk, 32);
    memcpy((void *)readers[1], M.pk, 32);
    memcpy((void *)readers[2], A.pk, 32); /* twice: merged */
    size_t n;
    const char *text = "I'm having a hard week; can someone check in?";
    assert_int_equal(msg_seal(out, &n, ad, readers, 3, text, strlen(text)), HERR_OK);
    assert_int_equal(n, msg_sealed_len(2, strlen(text)));
    const char *why = NULL;
    assert_int_equal(msg_shape(out, n, A.pk, M.pk, &why), HERR_OK);
    assert_int_equal(msg_shape(out, n, A.pk, B.pk, &why), HERR_INVALID); /* B reads not */
    assert_true(msg_is_reader(out, n, M.pk));
    assert_false(msg_is_reader(out, n, B.pk));
    char *got;
    assert_int_equal(msg_open(&A, ad, out, n, &got), HERR_OK);
    assert_string_equal(got, text);
    free(got);
    assert_int_equal(msg_open(&M, ad, out, n, &got), HERR_OK);
    assert_string_equal(got, text);
    free(got);
    assert_int_equal(msg_open(&B, ad, out, n, &got), HERR_DENIED);
    assert_null(got);
    /* The text does not open under other additional data: lifted into another
     * author's event or conversation, it is unreadable. */
    uint8_t other[96] = {1, 2, 4};
    assert_int_equal(msg_open(&A, other, out, n, &got), HERR_DENIED);
    /* Nor once any byte of A's sealed content key or of the ciphertext is changed
     * (the entries are in key order; M's entry is M's business). */
    size_t a_entry =
        HEARTH_MSG_HEAD + (memcmp(A.pk, M.pk, HEARTH_PK_LEN) < 0 ? 0 : HEARTH_MSG_READER);
    for (size_t i = a_entry + HEARTH_PK_LEN; i < n; i++) {
        if (i == a_entry + HEARTH_MSG_READER && i < HEARTH_MSG_HEAD + 2 * HEARTH_MSG_READER)
            i += HEARTH_MSG_READER; /* past M's entry */
        out[i] ^= 0x40;
        assert_int_equal(msg_open(&A, ad, out, n, &got), HERR_DENIED);
        out[i] ^= 0x40;
    }
    out[1] ^= 1; /* the nonce */
    assert_int_equal(msg_open(&A, ad, out, n, &got), HERR_DENIED);
    out[1] ^= 1;
    /* Shapes that are not a message. */
    assert_int_equal(msg_shape(out, 10, A.pk, M.pk, &why), HERR_MALFORMED);
    assert_int_equal(msg_shape(out, n - (strlen(text) + 1), A.pk, M.pk, &why), HERR_MALFORMED);
    out[0] = 2;
    assert_int_equal(msg_shape(out, n, A.pk, M.pk, &why), HERR_VERSION);
    out[0] = 1;
    out[HEARTH_MSG_HEAD - 1] = 0;
    assert_int_equal(msg_shape(out, n, A.pk, M.pk, &why), HERR_INVALID);
    out[HEARTH_MSG_HEAD - 1] = 2;
    /* Readers out of order. */
    uint8_t swapped[HEARTH_MSG_MAX_SEALED];
    memcpy(swapped, out, n);
    memcpy(swapped + HEARTH_MSG_HEAD, out + HEARTH_MSG_HEAD + HEARTH_MSG_READER, HEARTH_MSG_READER);
    memcpy(swapped + HEARTH_MSG_HEAD + HEARTH_MSG_READER, out + HEARTH_MSG_HEAD, HEARTH_MSG_READER);
    assert_int_equal(msg_shape(swapped, n, A.pk, M.pk, &why), HERR_INVALID);
    assert_string_equal(why, "sealed message readers are not in ascending order");
    /* Bounds. */
    assert_int_equal(msg_seal(out, &n, ad, readers, 0, text, strlen(text)), HERR_USAGE);
    assert_int_equal(msg_seal(out, &n, ad, readers, 1, "", 0), HERR_USAGE);
}

/* ---- through the store ---- */

struct fx {
    char *dir, path[512];
    struct store *s;
    uint8_t forum[HEARTH_ID_LEN], board[HEARTH_ID_LEN], post[HEARTH_ID_LEN];
};

static herr try_publish(struct store *s, const struct hkey *k, struct event_draft d, uint8_t *id)
{
    uint8_t dummy[HEARTH_ID_LEN];
    return store_publish(s, k, &d, id ? id : dummy);
}

static void publish(struct store *s, const struct hkey *k, struct event_draft d, uint8_t *id)
{
    herr e = try_publish(s, k, d, id);
    if (e)
        fail_msg("publish: %s: %s", herr_str(e), store_errmsg(s));
}

static herr message(struct store *s, const struct hkey *by, const struct hkey *member,
                    const char *text, const uint8_t *about, uint8_t *id)
{
    struct event_draft d = {.kind = EK_MESSAGE, .ref = about, .message_text = text};
    d.b.subject = member->pk;
    return try_publish(s, by, d, id);
}

static struct fx *fx_new(const char *name)
{
    struct fx *f = calloc(1, sizeof *f);
    f->dir = testutil_tmpdir(name);
    snprintf(f->path, sizeof f->path, "%s/hearth.db", f->dir);
    if (store_open(&f->s, f->path, STORE_CREATE))
        fail_msg("store_open: %s", store_open_error());
    struct event_draft g = {.kind = EK_GENESIS};
    g.b.name = S("Riverbend");
    publish(f->s, &F, g, f->forum);
    struct event_draft b = {.kind = EK_BOARD};
    b.b.name = S("General");
    publish(f->s, &F, b, f->board);
    struct event_draft r = {.kind = EK_ROLE};
    r.b.subject = M.pk;
    r.b.role = S("moderator");
    r.b.has_grant = r.b.grant = true;
    publish(f->s, &F, r, NULL);
    struct event_draft p = {.kind = EK_POST, .ref = f->board};
    p.b.title = S("Rough night");
    p.b.text = S("could not sleep again");
    publish(f->s, &A, p, f->post);
    return f;
}

static void fx_free(struct fx *f)
{
    store_destroy(&f->s);
    free(f->dir);
    free(f);
}

/* text_of - the i-th message's text as reader sees member's conversation ("" when
 * unreadable), and the conversation's length in *n. */
static char *text_of(struct store *s, const struct hkey *reader, const struct hkey *member,
                     size_t i, size_t *n)
{
    struct store_message *v;
    assert_int_equal(store_conversation(s, reader, member->pk, &v, n), HERR_OK);
    char *t = i < *n ? strdup(v[i].text ? v[i].text : "") : NULL;
    store_messages_free(v, *n);
    return t;
}

static void test_conversation(void **state)
{
    (void)state;
    struct fx *f = fx_new("messages");
    uint8_t m1[HEARTH_ID_LEN], m2[HEARTH_ID_LEN];
    assert_int_equal(message(f->s, &A, &A, "please look at my post", f->post, m1), HERR_OK);
    usleep(2000);
    assert_int_equal(message(f->s, &M, &A, "thanks for telling us; how are you today?", NULL, m2),
                     HERR_OK);
    size_t n;
    char *t = text_of(f->s, &A, &A, 0, &n);
    assert_int_equal(n, 2);
    assert_string_equal(t, "please look at my post");
    free(t);
    t = text_of(f->s, &A, &A, 1, &n);
    assert_string_equal(t, "thanks for telling us; how are you today?");
    free(t);
    t = text_of(f->s, &M, &A, 0, &n); /* the moderator reads it */
    assert_string_equal(t, "please look at my post");
    free(t);
    t = text_of(f->s, &F, &A, 1, &n); /* the founder moderates too */
    assert_string_equal(t, "thanks for telling us; how are you today?");
    free(t);
    t = text_of(f->s, &B, &A, 0, &n); /* another member holds it, reads nothing */
    assert_int_equal(n, 2);
    assert_string_equal(t, "");
    free(t);
    struct store_message *v;
    assert_int_equal(store_conversation(f->s, &A, A.pk, &v, &n), HERR_OK);
    assert_false(v[0].from_mod);
    assert_true(v[0].has_about);
    assert_memory_equal(v[0].about, f->post, HEARTH_ID_LEN);
    assert_true(v[1].from_mod);
    assert_memory_equal(v[1].author, M.pk, HEARTH_PK_LEN);
    store_messages_free(v, n);
    /* The moderators' list. */
    struct store_conversation_info *c;
    assert_int_equal(message(f->s, &B, &B, "is this the right place to ask?", NULL, NULL), HERR_OK);
    assert_int_equal(store_conversations(f->s, &c, &n), HERR_OK);
    assert_int_equal(n, 2);
    assert_memory_equal(c[0].member, B.pk, HEARTH_PK_LEN); /* the newest first */
    assert_int_equal(c[0].messages, 1);
    assert_memory_equal(c[1].member, A.pk, HEARTH_PK_LEN);
    assert_int_equal(c[1].messages, 2);
    assert_true(c[1].member_arrival < c[1].last_arrival); /* the moderator answered last */
    store_conversations_free(c, n);

    /* Refusals: a member writes only to the moderators, not to another member. */
    assert_int_equal(message(f->s, &B, &A, "psst", NULL, NULL), HERR_DENIED);
    assert_int_equal(message(f->s, &A, &A, "", NULL, NULL), HERR_USAGE);
    char big[HEARTH_MSG_MAX_TEXT + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_int_equal(message(f->s, &A, &A, big, NULL, NULL), HERR_USAGE);
    uint8_t nowhere[HEARTH_ID_LEN] = {9};
    assert_int_equal(message(f->s, &A, &A, "about nothing", nowhere, NULL), HERR_NOT_FOUND);

    /* A retraction takes a message back: it leaves the conversation, its body purged. */
    struct event_draft r = {.kind = EK_RETRACT, .ref = m1};
    publish(f->s, &A, r, NULL);
    assert_int_equal(store_conversation(f->s, &M, A.pk, &v, &n), HERR_OK);
    assert_int_equal(n, 1);
    assert_true(v[0].from_mod);
    store_messages_free(v, n);
    fx_free(f);
}

/* A second replica (another node) takes the events as a peer would: it holds them,
 * its view counts them, nobody there but the readers can open them, and the words
 * are nowhere in its file. */
static herr copy_one(void *ctx, const uint8_t *env, size_t len)
{
    struct store *to = ctx;
    struct ingest_result r;
    struct store_blob b = {env, len};
    herr e = store_ingest(to, &b, 1, &r, NULL);
    return e ? e : (r.err && r.err != HERR_DUPLICATE ? r.err : HERR_OK);
}

static herr all_ids(void *ctx, const uint8_t id[HEARTH_ID_LEN], uint64_t created, uint64_t arrival)
{
    (void)created, (void)arrival;
    struct hbuf *ids = ctx;
    return hbuf_append(ids, id, HEARTH_ID_LEN);
}

static void test_other_replica(void **state)
{
    (void)state;
    struct fx *f = fx_new("messages-a");
    const char *secret = "the words only the moderators may read: marigold";
    assert_int_equal(message(f->s, &A, &A, secret, NULL, NULL), HERR_OK);
    /* A member's message to another member, made by hand (store_publish refuses it):
     * well-formed, so a peer stores it, and its view gives it no effect. */
    uint8_t ad[96], sealed[HEARTH_MSG_MAX_SEALED];
    memcpy(ad, f->forum, 32);
    memcpy(ad + 32, B.pk, 32);
    memcpy(ad + 64, A.pk, 32);
    uint8_t readers[2][HEARTH_PK_LEN];
    memcpy(readers[0], A.pk, 32);
    memcpy(readers[1], B.pk, 32);
    size_t len;
    assert_int_equal(
        msg_seal(sealed, &len, ad, (const uint8_t(*)[HEARTH_PK_LEN])readers, 2, "psst", 4),
        HERR_OK);
    struct event_draft d = {.kind = EK_MESSAGE, .forum = f->forum, .seq = 1, .created = 1};
    d.b.subject = A.pk;
    d.b.sealed = sealed;
    d.b.sealed_len = (uint32_t)len;
    struct hbuf env;
    hbuf_init(&env, HEARTH_MAX_EVENT);
    uint8_t id[HEARTH_ID_LEN];
    const char *why;
    assert_int_equal(event_build(&d, &B, &env, id, &why), HERR_OK);

    /* The second replica joins the forum and takes every event as from a peer. */
    char *dir = testutil_tmpdir("messages-b"), path[512];
    snprintf(path, sizeof path, "%s/hearth.db", dir);
    struct store *g;
    assert_int_equal(store_open(&g, path, STORE_CREATE), HERR_OK);
    assert_int_equal(store_set_forum(g, f->forum), HERR_OK);
    struct hbuf ids;
    hbuf_init(&ids, 1 << 20);
    assert_int_equal(store_keys_since(f->s, 0, all_ids, &ids), HERR_OK);
    size_t n = ids.len / HEARTH_ID_LEN;
    assert_int_equal(
        store_get_many(f->s, (const uint8_t(*)[HEARTH_ID_LEN])ids.data, n, copy_one, g), HERR_OK);
    hbuf_release(&ids);
    assert_int_equal(copy_one(g, env.data, env.len), HERR_OK);
    hbuf_release(&env);
    size_t k;
    char *t = text_of(g, &M, &A, 0, &k);
    assert_int_equal(k, 1); /* B's message to A does not count */
    assert_string_equal(t, secret);
    free(t);
    t = text_of(g, &B, &A, 0, &k);
    assert_string_equal(t, "");
    free(t);
    /* The words are not in the file in clear (closing checkpoints the log into it). */
    store_destroy(&g);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    static char buf[8 << 20];
    size_t got = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    assert_true(got > 0);
    assert_null(memmem(buf, got, "marigold", 8));
    free(dir);
    fx_free(f);
}

/* ---- the vector of docs/EVENTS.md, section 15 ("message") ---- */

/* Made once by the reference implementation (the sealing is random, so a second
 * implementation checks this one rather than reproducing it). */
static const char message_env[] = "93c4789a01c4201062bf04a92e0a304194cdce14a856bff85c2e6c16969c7484"
                                  "6d46a114de989ec42003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d"
                                  "5f1ddc8664125531b809cf0000019000c7bb400ec0c0c4200ef77e4ab1b557e5"
                                  "8041a0e53540590de32c798fd6736f471a89f87bd9d3788bcd0171c4402dd9f9"
                                  "f3581a7bca08b336929782c1580c067c7d6ff3e6b5e4efa9acc9a8f5ee8a5262"
                                  "fdcdbff2ba81522270561d702519796c59a6066f87f46ad967ab53770ec50171"
                                  "82a67365616c6564c5013c014221f4bbcc9ef3c95e69b44b122853ce67bdb27d"
                                  "4990670e0203a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc86"
                                  "64125531b8fdda63afcb00e7412a971af29e07ad91fd23fac5de58c9fc6c56bb"
                                  "f9aa7796714b71520c48ab8e2955ae74c6ef61cb1e497094a4e42a3a7513ecae"
                                  "1e0eb088a3ec0b5d02363450a0211995b3f82971d929acbae141bccaf0b22e1a"
                                  "94d34d0bc7361e526d0bfe12c89794bc9322966dd7eb2942dfd3657a79bdec48"
                                  "bd8d4524705c98423cbc3567b4ec47ac12a99c844a881cf7fd7f7cdc04289da9"
                                  "ccd4c547d29479c36169b2f4ba95e28e15be59fff2ab07de62eed498a7114083"
                                  "97fed3e4a84657a8c91845e815275d3f70c7f400cf9995dfac75e71225a1cfcd"
                                  "fafee9ddf4b9356ee9a5873e38fcb6671013db834e64d2ef6c96c34ff8e1fcd1"
                                  "ba73c4765e3e75a77375626a656374c42003a107bff3ce10be1d70dd18e74bc0"
                                  "9967e4d6309ba50d5f1ddc8664125531b8";
static const char message_id[] = "20b5865a75df34d28452a16a2d2337d4b55cd3a53dfffb70fd8b2a3af79236e8";

static void test_vector(void **state)
{
    (void)state;
    size_t n = strlen(message_env) / 2;
    uint8_t *env = malloc(n), forum[HEARTH_ID_LEN], ad[96];
    assert_non_null(env);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(message_env + 2 * i, "%2x", &v), 1);
        env[i] = (uint8_t)v;
    }
    struct event ev;
    const char *why;
    assert_int_equal(event_parse(&ev, env, n, &why), HERR_OK);
    assert_int_equal(event_verify(&ev), HERR_OK);
    char hex[2 * HEARTH_ID_LEN + 1];
    hex_encode(hex, ev.id, HEARTH_ID_LEN);
    assert_string_equal(hex, message_id);
    assert_int_equal(ev.kind, EK_MESSAGE);
    /* A (seed 00..1f) writes to the moderators; B (seed 20..3f) moderates. */
    assert_memory_equal(ev.author, A_vec.pk, HEARTH_PK_LEN);
    assert_memory_equal(ev.b.subject, A_vec.pk, HEARTH_PK_LEN);
    assert_int_equal(hex_decode(forum, HEARTH_ID_LEN,
                                "1062bf04a92e0a304194cdce14a856bff85c2e6c16969c74846d46a114de989e"),
                     HERR_OK);
    memcpy(ad, forum, 32);
    memcpy(ad + 32, ev.author, 32);
    memcpy(ad + 64, ev.b.subject, 32);
    const char *want = "Kia ora, could someone check in with me this week?";
    char *got;
    assert_int_equal(msg_open(&B_vec, ad, ev.b.sealed, ev.b.sealed_len, &got), HERR_OK);
    assert_string_equal(got, want);
    free(got);
    assert_int_equal(msg_open(&A_vec, ad, ev.b.sealed, ev.b.sealed_len, &got), HERR_OK);
    assert_string_equal(got, want);
    free(got);
    assert_int_equal(msg_open(&M, ad, ev.b.sealed, ev.b.sealed_len, &got), HERR_DENIED);
    free(env);
}

int main(void)
{
    if (crypto_start())
        return 1;
    uint8_t seed[HEARTH_SEED_LEN];
    struct hkey *keys[] = {&F, &M, &A, &B};
    for (uint8_t i = 0; i < 4; i++) {
        testutil_seed(seed, (uint8_t)(i + 1));
        hkey_from_seed(keys[i], seed);
    }
    for (uint8_t i = 0; i < 32; i++)
        seed[i] = i;
    hkey_from_seed(&A_vec, seed);
    for (uint8_t i = 0; i < 32; i++)
        seed[i] = (uint8_t)(32 + i);
    hkey_from_seed(&B_vec, seed);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seal_open),
        cmocka_unit_test(test_conversation),
        cmocka_unit_test(test_other_replica),
        cmocka_unit_test(test_vector),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
