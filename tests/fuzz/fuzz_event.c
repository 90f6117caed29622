/* fuzz_event.c - event_parse and event_verify on arbitrary bytes.
 *
 * Beyond "no crash, no bad read, bounded memory", every accepted input must be
 * canonical: re-framing its parts gives back exactly the input, re-encoding its header
 * from the parsed fields gives back exactly the header bytes, and the same event with
 * its body purged is accepted (with the same id) exactly when its kind is purgeable.
 * Any violation aborts, which libFuzzer reports as a crash.
 *
 * A mutated body almost never matches the body hash in its header, which would keep
 * the body decoder out of the fuzzer's reach. So an input rejected only for its body
 * hash or length is tried a second time with its header's hash and length made to fit
 * its body (and a signature that no longer verifies).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "base/mp.h"
#include "store/event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void write_ref(struct mp_writer *w, bool has, const uint8_t *ref)
{
    if (has)
        mp_write_bin(w, ref, HEARTH_ID_LEN);
    else
        mp_write_nil(w);
}

/* write_header - the parsed fields of ev, written canonically, with the given body
 * hash and length. */
static void write_header(struct hbuf *h, const struct event *ev, const uint8_t *body_hash,
                         uint64_t body_len)
{
    struct mp_writer w;
    hbuf_init(h, HEARTH_MAX_HEADER);
    mp_writer_init(&w, h);
    mp_write_array(&w, 10);
    mp_write_uint(&w, ev->version);
    write_ref(&w, ev->has_forum, ev->forum);
    mp_write_bin(&w, ev->author, HEARTH_PK_LEN);
    mp_write_uint(&w, ev->seq);
    mp_write_uint(&w, ev->created);
    mp_write_uint(&w, ev->kind);
    write_ref(&w, ev->has_root, ev->root);
    write_ref(&w, ev->has_ref, ev->ref);
    mp_write_bin(&w, body_hash, HEARTH_ID_LEN);
    mp_write_uint(&w, body_len);
    if (mp_writer_status(&w))
        abort();
}

/* check_header - the parsed fields, written canonically, are the header's bytes. */
static void check_header(const struct event *ev)
{
    struct hbuf h;
    write_header(&h, ev, ev->body_hash, ev->body_len);
    if (h.len != ev->header_len || memcmp(h.data, ev->header, h.len) != 0)
        abort();
    hbuf_release(&h);
}

/* check_purged - the event with a nil body: accepted, same id, iff purgeable. */
static void check_purged(const struct event *ev)
{
    static const bool purgeable[EK_MAX_KIND + 1] = {
        [EK_POST] = true, [EK_REPLY] = true,   [EK_EDIT] = true,    [EK_REACT] = true,
        [EK_FLAG] = true, [EK_PROFILE] = true, [EK_MESSAGE] = true,
    };
    struct hbuf env;
    struct event p;
    hbuf_init(&env, HEARTH_MAX_EVENT);
    if (event_envelope(&env, ev->header, ev->header_len, ev->sig, NULL, 0))
        abort();
    herr e = event_parse(&p, env.data, env.len, NULL);
    if ((e == HERR_OK) != (ev->kind <= EK_MAX_KIND && purgeable[ev->kind]))
        abort();
    if (!e && (memcmp(p.id, ev->id, HEARTH_ID_LEN) != 0 || p.body))
        abort();
    hbuf_release(&env);
}

/* refit - ev failed only on its body's hash or length: make the envelope again with a
 * header that fits the body, and check that. */
static void check(const uint8_t *data, size_t size, bool refitted);

static void refit(const struct event *ev, const uint8_t *data, size_t size)
{
    struct mp_reader r;
    const uint8_t *p, *body;
    uint32_t count, n, body_n;
    mp_reader_init(&r, data, size);
    if (mp_read_array(&r, &count, 3) || mp_read_bin(&r, &p, &n, HEARTH_MAX_HEADER) ||
        mp_read_bin(&r, &p, &n, HEARTH_SIG_LEN) || mp_read_bin(&r, &body, &body_n, HEARTH_MAX_BODY))
        abort(); /* event_parse got past all of this */
    uint8_t hash[HEARTH_ID_LEN], sig[HEARTH_SIG_LEN] = {0};
    hash_id(hash, body, body_n);
    struct hbuf h, env;
    write_header(&h, ev, hash, body_n);
    hbuf_init(&env, HEARTH_MAX_EVENT);
    if (event_envelope(&env, h.data, h.len, sig, body, body_n) == HERR_OK)
        check(env.data, env.len, true);
    hbuf_release(&env);
    hbuf_release(&h);
}

static void check(const uint8_t *data, size_t size, bool refitted)
{
    struct event ev;
    const char *why = NULL;
    herr e = event_parse(&ev, data, size, &why);
    if (e) {
        /* Every rejection is a bad-input code with a reason. */
        if (!herr_is_bad_input(e) || !why || !*why)
            abort();
        if (!refitted && (strcmp(why, "body does not match its hash") == 0 ||
                          strcmp(why, "body length does not match header") == 0))
            refit(&ev, data, size);
        return;
    }
    struct hbuf env;
    hbuf_init(&env, HEARTH_MAX_EVENT);
    if (event_envelope(&env, ev.header, ev.header_len, ev.sig, ev.body, ev.body_len) ||
        env.len != size || memcmp(env.data, data, size) != 0)
        abort();
    hbuf_release(&env);

    uint8_t id[HEARTH_ID_LEN];
    hash_id(id, ev.header, ev.header_len);
    if (memcmp(id, ev.id, sizeof id) != 0)
        abort();
    check_header(&ev);
    if (ev.body)
        check_purged(&ev);

    e = event_verify(&ev);
    if (e != HERR_OK && e != HERR_BAD_SIG)
        abort();
    if (event_check_forum(&ev, ev.has_forum ? ev.forum : ev.id) != HERR_OK)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool started;
    if (!started) {
        if (crypto_start())
            abort();
        started = true;
    }
    check(data, size, false);
    return 0;
}
