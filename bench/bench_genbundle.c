/* bench_genbundle.c - write a bundle of a synthetic forum, for tests and benchmarks.
 *
 *   bench_genbundle --events N [--seed S] [--salt T] [--authors A] [--body BYTES]
 *                   [--text FILE] OUT
 *
 * Bodies are a periodic run of letters (which compresses far better than prose), or
 * with --text consecutive slices of FILE (printable ASCII kept, wrapping around).
 * The forum (genesis and boards) depends on S only, so bundles made with one S and
 * different salts T hold different events of the same forum. Prints the forum id.
 * Threads of posts with replies and reactions, from A authors, each event signed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "store/bundle.h"
#include "store/event.h"

struct gen {
    struct bundle_writer *w;
    struct hbuf buf;
    uint8_t forum[HEARTH_ID_LEN];
    uint64_t clock;
};

static void die(const char *what, herr e, const char *why)
{
    fprintf(stderr, "bench_genbundle: %s: %s%s%s\n", what, herr_str(e), why ? ": " : "",
            why ? why : "");
    exit(1);
}

static void emit(struct gen *g, const struct event_draft *d, const struct hkey *k,
                 uint8_t id[HEARTH_ID_LEN])
{
    const char *why;
    hbuf_reset(&g->buf);
    herr e = event_build(d, k, &g->buf, id, &why);
    if (e)
        die("build", e, why);
    if ((e = bundle_write(g->w, g->buf.data, g->buf.len)) != HERR_OK)
        die("write", e, NULL);
}

static void seed_key(struct hkey *k, unsigned a, unsigned b)
{
    uint8_t seed[32] = {0};
    seed[0] = (uint8_t)a;
    seed[1] = (uint8_t)(a >> 8);
    seed[2] = (uint8_t)b;
    seed[3] = (uint8_t)(b >> 8);
    seed[4] = 0x5e;
    hkey_from_seed(k, seed);
}

/* load_text - the file's bytes as bodies may hold them: printable ASCII and newlines
 * (anything else becomes a space), at least `body` bytes of it. */
static char *load_text(const char *path, unsigned long body, size_t *n)
{
    FILE *f = fopen(path, "rb");
    char *t = malloc(16u << 20);
    if (!f || !t)
        die(path, HERR_IO, NULL);
    *n = fread(t, 1, 16u << 20, f);
    fclose(f);
    if (*n < body)
        die(path, HERR_INVALID, "shorter than one body");
    for (size_t i = 0; i < *n; i++)
        if (t[i] != '\n' && (t[i] < 0x20 || t[i] > 0x7e))
            t[i] = ' ';
    return t;
}

int main(int argc, char **argv)
{
    unsigned long events = 1000, seed = 1, salt = 1, authors = 50, body = 256;
    const char *out = NULL, *text_path = NULL;
    bool bad = false; /* an unknown option, or a second OUT */
    for (int i = 1; i < argc && !bad; i++) {
        if (i + 1 < argc && !strcmp(argv[i], "--events"))
            events = strtoul(argv[++i], NULL, 10);
        else if (i + 1 < argc && !strcmp(argv[i], "--seed"))
            seed = strtoul(argv[++i], NULL, 10);
        else if (i + 1 < argc && !strcmp(argv[i], "--salt"))
            salt = strtoul(argv[++i], NULL, 10);
        else if (i + 1 < argc && !strcmp(argv[i], "--authors"))
            authors = strtoul(argv[++i], NULL, 10);
        else if (i + 1 < argc && !strcmp(argv[i], "--body"))
            body = strtoul(argv[++i], NULL, 10);
        else if (i + 1 < argc && !strcmp(argv[i], "--text"))
            text_path = argv[++i];
        else if (argv[i][0] == '-' || out)
            bad = true;
        else
            out = argv[i];
    }
    if (bad || !out || !authors || authors > 60000 || body < 1 || body > 4000) {
        fprintf(stderr, "usage: bench_genbundle --events N [--seed S] [--salt T] "
                        "[--authors A] [--body BYTES] [--text FILE] OUT\n");
        return 2;
    }
    if (crypto_start() != HERR_OK)
        return 1;
    struct gen g = {.clock = 1700000000000ULL};
    hbuf_init(&g.buf, HEARTH_MAX_EVENT);
    struct hkey founder;
    seed_key(&founder, 0, (unsigned)seed);
    struct event_draft d = {.kind = EK_GENESIS, .seq = 1, .created = g.clock};
    d.b.name = (struct hstr){"Generated forum", 15};
    uint8_t board[HEARTH_ID_LEN], id[HEARTH_ID_LEN];
    /* The genesis is emitted after we know the forum id; build it once to learn it. */
    hbuf_reset(&g.buf);
    const char *why;
    herr e = event_build(&d, &founder, &g.buf, g.forum, &why);
    if (e)
        die("genesis", e, why);
    FILE *f = strcmp(out, "-") ? fopen(out, "wb") : stdout;
    if (!f || (e = bundle_writer_new(&g.w, f, g.forum)) != HERR_OK)
        die(out, HERR_IO, NULL);
    emit(&g, &d, &founder, id);
    struct event_draft bd = {.kind = EK_BOARD, .forum = g.forum, .seq = 2, .created = g.clock};
    bd.b.name = (struct hstr){"general", 7};
    emit(&g, &bd, &founder, board);

    size_t corpus_n = 0;
    char *corpus = text_path ? load_text(text_path, body, &corpus_n) : NULL;
    char *text = malloc(body + 1);
    uint64_t *seqs = calloc(authors, sizeof *seqs);
    uint8_t(*threads)[HEARTH_ID_LEN] = malloc(64 * HEARTH_ID_LEN);
    if (!text || !seqs || !threads)
        die("memory", HERR_NOMEM, NULL);
    unsigned nthreads = 0;
    srand((unsigned)(seed * 7919 + salt));
    for (unsigned long i = 0; i < events; i++) {
        unsigned a = (unsigned)(rand() % (int)authors);
        struct hkey k;
        seed_key(&k, a + 1, (unsigned)(seed * 1000 + salt));
        struct event_draft p = {.forum = g.forum, .seq = ++seqs[a], .created = ++g.clock};
        for (unsigned long j = 0; j < body; j++)
            text[j] = corpus ? corpus[(i * body + j) % corpus_n] : (char)('a' + (i + j * 7) % 26);
        text[body] = 0;
        int roll = rand() % 10;
        if (nthreads == 0 || roll < 3) {
            p.kind = EK_POST;
            p.ref = board;
            p.b.title = (struct hstr){"a generated thread", 18};
            p.b.text = (struct hstr){text, (uint32_t)body};
            emit(&g, &p, &k, id);
            memcpy(threads[nthreads++ % 64], id, HEARTH_ID_LEN);
            nthreads = nthreads > 64 ? 64 : nthreads;
        } else if (roll < 9) {
            p.kind = EK_REPLY;
            p.root = p.ref = threads[rand() % (int)nthreads];
            p.b.text = (struct hstr){text, (uint32_t)body};
            emit(&g, &p, &k, id);
        } else {
            p.kind = EK_REACT;
            p.ref = threads[rand() % (int)nthreads];
            p.b.reaction = (struct hstr){"support", 7};
            emit(&g, &p, &k, id);
        }
        hkey_wipe(&k);
    }
    uint64_t count;
    if ((e = bundle_writer_finish(&g.w, &count)) != HERR_OK)
        die("finish", e, NULL);
    if (f != stdout)
        fclose(f);
    char hex[2 * HEARTH_ID_LEN + 1];
    hex_encode(hex, g.forum, HEARTH_ID_LEN);
    fprintf(f == stdout ? stderr : stdout, "%s\n", hex);
    free(text);
    free(corpus);
    free(seqs);
    free(threads);
    hbuf_release(&g.buf);
    return 0;
}
