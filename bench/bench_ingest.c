/* bench_ingest.c - how close store_ingest comes to the speed of signature
 * verification itself.
 *
 * Builds a forum of N events (default 100000: posts with ~256-byte bodies, replies
 * to posts and to replies, reactions, from 100 authors; signed on two threads), then
 * times, in one run:
 *   - store_ingest of all of them into a fresh store, in batches (default 1000);
 *   - raw crypto_sign_verify_detached over the same headers on one thread and on
 *     two threads;
 * and prints events/s and the ratios ingest / 1-core verify and ingest / 2-core
 * verify (the target: ingest >= 0.8 x two-core verification).
 *
 *   bench_ingest [--n N] [--batch B] [--dir DIR] [--json]
 */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/limits.h"
#include "store/event.h"
#include "store/store.h"

#define AUTHORS 100
#define BOARDS 4
#define T0 1718000000000ULL

struct plan {
    uint32_t kind;
    int author; /* index into keys; AUTHORS is the founder */
    uint64_t seq, created;
    int64_t root, ref; /* indices of earlier events, -1 for none, -2 for a board */
    int board;
    struct hbuf env;
    uint8_t id[HEARTH_ID_LEN];
};

struct bench {
    size_t n, batch;
    bool json;
    const char *dir;
    struct hkey keys[AUTHORS + 1];
    uint8_t forum[HEARTH_ID_LEN], boards[BOARDS][HEARTH_ID_LEN];
    struct hbuf head[1 + BOARDS]; /* genesis and boards */
    struct plan *p;
    uint64_t seq[AUTHORS + 1];
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x1234567;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static void die(const char *what, herr e)
{
    fprintf(stderr, "bench_ingest: %s: %s\n", what, herr_str(e));
    exit(1);
}

/* ---- the forum ---- */

static void build_head(struct bench *b)
{
    const char *why;
    struct event_draft g = {.kind = EK_GENESIS, .seq = 1, .created = T0};
    g.b.name = (struct hstr){"Bench", 5};
    hbuf_init(&b->head[0], HEARTH_MAX_EVENT);
    if (event_build(&g, &b->keys[AUTHORS], &b->head[0], b->forum, &why))
        die(why, HERR_INVALID);
    for (int i = 0; i < BOARDS; i++) {
        char name[16];
        snprintf(name, sizeof name, "board-%d", i);
        struct event_draft d = {.kind = EK_BOARD,
                                .forum = b->forum,
                                .seq = (uint64_t)i + 2,
                                .created = T0 + (uint64_t)i};
        d.b.name = (struct hstr){name, (uint32_t)strlen(name)};
        hbuf_init(&b->head[i + 1], HEARTH_MAX_EVENT);
        if (event_build(&d, &b->keys[AUTHORS], &b->head[i + 1], b->boards[i], &why))
            die(why, HERR_INVALID);
    }
}

/* plan - decide every event's kind, author, seq and references. The phases let
 * signing run in parallel: posts, then replies to posts and reactions, then replies
 * to replies. */
static void plan(struct bench *b)
{
    size_t posts = b->n * 3 / 10, first = b->n * 7 / 10;
    for (size_t i = 0; i < b->n; i++) {
        struct plan *x = &b->p[i];
        x->author = (int)rnd(AUTHORS);
        x->seq = ++b->seq[x->author];
        x->created = T0 + 1000 + i * 10;
        x->root = x->ref = -1;
        if (i < posts) {
            x->kind = EK_POST;
            x->board = (int)rnd(BOARDS);
        } else if (i < first) {
            size_t t = rnd((uint32_t)posts);
            x->kind = rnd(10) < 7 ? EK_REPLY : EK_REACT;
            x->root = x->kind == EK_REPLY ? (int64_t)t : -1;
            x->ref = (int64_t)t;
        } else {
            size_t t = posts + rnd((uint32_t)(first - posts));
            while (b->p[t].kind != EK_REPLY)
                t = posts + rnd((uint32_t)(first - posts));
            x->kind = EK_REPLY;
            x->root = b->p[t].root;
            x->ref = (int64_t)t;
        }
    }
}

static const char lorem[] = "Some days are harder than others out here. The roads close, the "
                            "phone drops out, and the nearest person who understands is two "
                            "hours away. Writing it down helps. Thank you all for reading and "
                            "for the kind words last week; they meant more than you know.";

static void sign_one(struct bench *b, size_t i)
{
    struct plan *x = &b->p[i];
    const char *why;
    struct event_draft d = {
        .kind = x->kind, .forum = b->forum, .seq = x->seq, .created = x->created};
    d.b.text = (struct hstr){lorem, (uint32_t)strlen(lorem)};
    if (x->kind == EK_POST) {
        d.ref = b->boards[x->board];
        d.b.title = (struct hstr){"A long week", 11};
    } else if (x->kind == EK_REPLY) {
        d.root = b->p[x->root].id;
        d.ref = b->p[x->ref].id;
        d.b.text.n = 120;
    } else {
        d.ref = b->p[x->ref].id;
        d.b.text = (struct hstr){0};
        d.b.reaction = (struct hstr){"support", 7};
    }
    hbuf_init(&x->env, HEARTH_MAX_EVENT);
    if (event_build(&d, &b->keys[x->author], &x->env, x->id, &why))
        die(why, HERR_INVALID);
}

struct range {
    struct bench *b;
    size_t from, to;
};

static void *sign_range(void *arg)
{
    struct range *r = arg;
    for (size_t i = r->from; i < r->to; i++)
        sign_one(r->b, i);
    return NULL;
}

static void sign_phase(struct bench *b, size_t from, size_t to)
{
    pthread_t t;
    size_t mid = from + (to - from) / 2;
    struct range r1 = {b, from, mid}, r2 = {b, mid, to};
    if (pthread_create(&t, NULL, sign_range, &r1) != 0) {
        sign_range(&r1);
        sign_range(&r2);
        return;
    }
    sign_range(&r2);
    pthread_join(t, NULL);
}

static void build(struct bench *b)
{
    uint8_t seed[32];
    for (int i = 0; i <= AUTHORS; i++) {
        memset(seed, 0, sizeof seed);
        seed[0] = (uint8_t)i;
        seed[1] = 0xbe;
        hkey_from_seed(&b->keys[i], seed);
    }
    b->seq[AUTHORS] = 1 + BOARDS;
    build_head(b);
    b->p = calloc(b->n, sizeof *b->p);
    if (!b->p)
        die("out of memory", HERR_NOMEM);
    plan(b);
    size_t posts = b->n * 3 / 10, first = b->n * 7 / 10;
    sign_phase(b, 0, posts);
    sign_phase(b, posts, first);
    sign_phase(b, first, b->n);
}

/* ---- timing ingest ---- */

static double time_ingest(struct bench *b, struct store *s, double *cpu)
{
    struct store_blob head[1 + BOARDS];
    struct ingest_result res[1 + BOARDS];
    for (int i = 0; i <= BOARDS; i++)
        head[i] = (struct store_blob){b->head[i].data, b->head[i].len};
    herr e = store_ingest(s, head, 1 + BOARDS, res, NULL);
    if (e)
        die(store_errmsg(s), e);
    struct store_blob *envs = malloc(b->batch * sizeof *envs);
    struct ingest_result *r = malloc(b->batch * sizeof *r);
    size_t accepted = 0;
    double t0 = now_s(), c0 = cpu_s();
    for (size_t i = 0; i < b->n; i += b->batch) {
        size_t m = b->n - i < b->batch ? b->n - i : b->batch, acc;
        for (size_t j = 0; j < m; j++)
            envs[j] = (struct store_blob){b->p[i + j].env.data, b->p[i + j].env.len};
        e = store_ingest(s, envs, m, r, &acc);
        if (e)
            die(store_errmsg(s), e);
        accepted += acc;
    }
    double t = now_s() - t0;
    *cpu = cpu_s() - c0;
    if (accepted != b->n) {
        fprintf(stderr, "bench_ingest: only %zu of %zu accepted\n", accepted, b->n);
        exit(1);
    }
    free(envs);
    free(r);
    return t;
}

/* ---- timing raw verification ---- */

struct msgs {
    uint8_t **m;
    size_t *len;
    const uint8_t **sig, **pk;
    size_t n;
};

struct vrange {
    const struct msgs *m;
    size_t from, to, bad;
};

static void *verify_range(void *arg)
{
    struct vrange *r = arg;
    for (size_t i = r->from; i < r->to; i++)
        if (crypto_sign_verify_detached(r->m->sig[i], r->m->m[i], r->m->len[i], r->m->pk[i]) != 0)
            r->bad++;
    return NULL;
}

static double time_verify(const struct msgs *m, int threads, double *cpu)
{
    pthread_t t;
    struct vrange a = {m, 0, threads == 2 ? m->n / 2 : m->n, 0}, c = {m, a.to, m->n, 0};
    double t0 = now_s(), c0 = cpu_s();
    bool two = threads == 2 && pthread_create(&t, NULL, verify_range, &a) == 0;
    if (!two)
        verify_range(&a);
    verify_range(&c);
    if (two)
        pthread_join(t, NULL);
    double dt = now_s() - t0;
    *cpu = cpu_s() - c0;
    if (a.bad || c.bad)
        die("a signature did not verify", HERR_BAD_SIG);
    return dt;
}

/* messages - tag || header of every event, the exact bytes that are signed. */
static void messages(struct bench *b, struct msgs *m)
{
    m->n = b->n;
    m->m = calloc(b->n, sizeof *m->m);
    m->len = calloc(b->n, sizeof *m->len);
    m->sig = calloc(b->n, sizeof *m->sig);
    m->pk = calloc(b->n, sizeof *m->pk);
    for (size_t i = 0; i < b->n; i++) {
        struct event ev;
        if (event_parse(&ev, b->p[i].env.data, b->p[i].env.len, NULL))
            die("cannot parse", HERR_MALFORMED);
        m->len[i] = sizeof EVENT_SIG_TAG + ev.header_len;
        m->m[i] = malloc(m->len[i]);
        memcpy(m->m[i], EVENT_SIG_TAG, sizeof EVENT_SIG_TAG);
        memcpy(m->m[i] + sizeof EVENT_SIG_TAG, ev.header, ev.header_len);
        m->sig[i] = ev.sig;
        m->pk[i] = b->keys[b->p[i].author].pk;
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_ingest [--n N] [--batch B] [--dir DIR] [--json]\n");
    exit(2);
}

static void args(struct bench *b, int argc, char **argv)
{
    b->n = 100000;
    b->batch = 1000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            b->json = true;
        else if (!strcmp(argv[i], "--n") && i + 1 < argc)
            b->n = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            b->batch = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            b->dir = argv[++i];
        else
            usage();
    }
    if (b->n < 100 || b->batch < 1)
        usage();
}

static struct store *fresh_store(struct bench *b, char *path, size_t cap)
{
    char tmpl[] = "/tmp/bench_ingest.XXXXXX";
    const char *dir = b->dir;
    if (!dir && !(dir = mkdtemp(tmpl)))
        die("cannot make a directory", HERR_IO);
    snprintf(path, cap, "%s/bench-%ld.db", dir, (long)getpid());
    struct store *s;
    herr e = store_open(&s, path, STORE_CREATE);
    if (e)
        die(store_open_error(), e);
    return s;
}

/* The wall-clock ratios need two idle cores; on a shared machine the CPU-time ratio
 * (verification CPU / ingest CPU, per event) is what they would be with both cores
 * free and perfect overlap, and it does not move with other people's load. */
static void report(struct bench *b, double ingest, double cpu, double v1, double v2, double v1cpu,
                   uint64_t bytes)
{
    double ri = (double)b->n / ingest, r1 = (double)b->n / v1, r2 = (double)b->n / v2;
    double rc = v1cpu / cpu;
    if (b->json) {
        printf("{\"events\":%zu,\"batch\":%zu,\"ingest_per_s\":%.0f,\"verify_1core_per_s\":%.0f,"
               "\"verify_2core_per_s\":%.0f,\"ratio_1core\":%.3f,\"ratio_2core\":%.3f,"
               "\"ingest_cpu_s\":%.3f,\"ingest_wall_s\":%.3f,\"verify_cpu_s\":%.3f,"
               "\"ratio_cpu\":%.3f,\"db_bytes\":%llu}\n",
               b->n, b->batch, ri, r1, r2, ri / r1, ri / r2, cpu, ingest, v1cpu, rc,
               (unsigned long long)bytes);
        return;
    }
    printf("events            %zu (batches of %zu)\n", b->n, b->batch);
    printf("ingest            %.0f events/s (%.2f s wall, %.2f s cpu)\n", ri, ingest, cpu);
    printf("verify, 1 core    %.0f events/s\n", r1);
    printf("verify, 2 cores   %.0f events/s\n", r2);
    printf("ingest / 1-core   %.3f\n", ri / r1);
    printf("ingest / 2-core   %.3f   (target >= 0.8)\n", ri / r2);
    printf("verify cpu / ingest cpu  %.3f   (the 2-core ratio on two idle cores)\n", rc);
    printf("database          %.1f MB\n", (double)bytes / 1e6);
}

int main(int argc, char **argv)
{
    struct bench b = {0};
    struct msgs m;
    char path[512];
    args(&b, argc, argv);
    if (crypto_start())
        die("libsodium", HERR_NOMEM);
    build(&b);
    messages(&b, &m);
    struct store *s = fresh_store(&b, path, sizeof path);
    double cpu;
    double ingest = time_ingest(&b, s, &cpu);
    struct store_stats st;
    if (store_stats(s, &st))
        die(store_errmsg(s), HERR_IO);
    store_destroy(&s);
    double v1cpu, v2cpu;
    double v1 = time_verify(&m, 1, &v1cpu), v2 = time_verify(&m, 2, &v2cpu);
    report(&b, ingest, cpu, v1, v2, v1cpu, st.db_bytes);
    if (!b.dir)
        unlink(path);
    return 0;
}
