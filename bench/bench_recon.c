/* bench_recon.c - reconciliation cost over a grid of set sizes and differences.
 *
 * Two in-memory stand-in stores (sync/memstore.h) share n events; the initiator holds
 * floor(d/2) more and the responder ceil(d/2) more. Two real sync sessions run back
 * to back in this process, each draining its outbox before the other reads it, and
 * the table reports what crossed: round trips, reconciliation bytes each way (every
 * message but EVENTS), all bytes beyond the event envelopes themselves, bytes per
 * differing event, the ratio to the information floor (32 bytes per differing id),
 * the cold build time of a recon index of n ids and the session's wall time.
 *
 * Placement: "newest" puts each side's extra events after the shared ones (the usual
 * case: recent posts not yet exchanged); "random" scatters them among the shared ones
 * in arrival order, so that no shortcut for newest events applies.
 *
 *   bench_recon [--quick] [--json] [--placement newest|random|both] [--seed N]
 *               [--n N --d D [--reps K]] [--legacy]
 *
 * --legacy runs the sessions as hearth before plan ONE (sync_config.legacy), for a
 * before/after on one machine. Events are never compressed here (the stand-in
 * envelopes are random bytes, and the figures are about reconciliation).
 *
 * With --n and --d one cell is run K times with different seeds and summarised (the
 * worst round trips and bytes per differing event): a check of the tails.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/crypto.h"
#include "bench/benchutil.h"
#include "sync/memstore.h"
#include "sync/recon.h"
#include "sync/session.h"

/* The sessions' configuration: --legacy sets legacy. */
static struct sync_config session_cfg = {.no_compress = true};

struct row {
    uint64_t n, d;
    const char *placement;
    const char *plan;
    uint32_t round_trips;
    uint64_t recon_i2r, recon_r2i, overhead, envelope_bytes, events;
    double per_diff, floor_ratio, build_s, wall_s;
    bool ok;
};

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void die(const char *what, herr e)
{
    fprintf(stderr, "bench_recon: %s: %s\n", what, herr_str(e));
    exit(1);
}

static void must(herr e, const char *what)
{
    if (e && e != HERR_DUPLICATE)
        die(what, e);
}

static const uint8_t FORUM[HEARTH_ID_LEN] = {0x42};

/* Build a side: shared headers (n of them) with `extra` headers placed as asked. */
static struct memstore *build_side(uint8_t (*shared)[MEMSTORE_HEADER_LEN], uint64_t n,
                                   uint8_t (*extra)[MEMSTORE_HEADER_LEN], uint64_t ne,
                                   bool random_place, uint64_t *rng)
{
    struct memstore *m;
    must(memstore_new(&m, FORUM), "memstore");
    uint64_t *at = calloc(ne ? ne : 1, sizeof *at);
    if (!at)
        die("memory", HERR_NOMEM);
    for (uint64_t k = 0; k < ne; k++)
        at[k] = random_place ? rng_next(rng) % (n + 1) : n;
    /* Few extras: a plain merge by position keeps this linear. */
    for (uint64_t k = 1; k < ne; k++)
        for (uint64_t j = k; j > 0 && at[j - 1] > at[j]; j--) {
            uint64_t t = at[j];
            at[j] = at[j - 1];
            at[j - 1] = t;
            uint8_t h[MEMSTORE_HEADER_LEN];
            memcpy(h, extra[j], sizeof h);
            memcpy(extra[j], extra[j - 1], sizeof h);
            memcpy(extra[j - 1], h, sizeof h);
        }
    uint64_t k = 0;
    for (uint64_t i = 0; i <= n; i++) {
        while (k < ne && at[k] == i)
            must(memstore_add(m, extra[k++], NULL), "add");
        if (i < n)
            must(memstore_add(m, shared[i], NULL), "add");
    }
    free(at);
    return m;
}

static bool same_sets(struct memstore *a, struct memstore *b)
{
    if (memstore_count(a) != memstore_count(b))
        return false;
    struct recon_index *x, *y;
    must(recon_index_new(&x), "index");
    must(recon_index_new(&y), "index");
    uint8_t fa[RECON_FP_LEN], fb[RECON_FP_LEN];
    /* A fresh index of each set gives its fingerprint. */
    struct sync_session *s;
    must(sync_session_new_ops(&s, memstore_ops(), a, x, NULL), "session");
    sync_session_destroy(&s);
    must(sync_session_new_ops(&s, memstore_ops(), b, y, NULL), "session");
    sync_session_destroy(&s);
    recon_index_fingerprint(x, fa);
    recon_index_fingerprint(y, fb);
    recon_index_destroy(&x);
    recon_index_destroy(&y);
    return memcmp(fa, fb, sizeof fa) == 0;
}

static void run(struct row *r, uint8_t (*shared)[MEMSTORE_HEADER_LEN], uint64_t n, uint64_t d,
                bool random_place, const struct recon_index *base_idx, uint64_t *rng, bool check)
{
    uint64_t da = d / 2, db = d - d / 2;
    uint8_t(*ea)[MEMSTORE_HEADER_LEN] = malloc((da + 1) * MEMSTORE_HEADER_LEN);
    uint8_t(*eb)[MEMSTORE_HEADER_LEN] = malloc((db + 1) * MEMSTORE_HEADER_LEN);
    if (!ea || !eb)
        die("memory", HERR_NOMEM);
    for (uint64_t k = 0; k < da; k++)
        rng_header(rng, ea[k]);
    for (uint64_t k = 0; k < db; k++)
        rng_header(rng, eb[k]);
    struct memstore *a = build_side(shared, n, ea, da, random_place, rng);
    struct memstore *b = build_side(shared, n, eb, db, random_place, rng);
    struct recon_index *ia, *ib;
    if (random_place) {
        must(recon_index_new(&ia), "index");
        must(recon_index_new(&ib), "index");
    } else {
        must(recon_index_clone(&ia, base_idx), "index");
        must(recon_index_clone(&ib, base_idx), "index");
    }
    struct sync_session *si, *sr;
    must(sync_session_new_ops(&si, memstore_ops(), a, ia, &session_cfg), "session");
    must(sync_session_new_ops(&sr, memstore_ops(), b, ib, &session_cfg), "session");
    double t0 = now();
    must(sync_session_start(si), "start");
    for (int guard = 0; guard < 100000; guard++) {
        bool m1 = pump(si, sr);
        bool m2 = pump(sr, si);
        if (!m1 && !m2)
            break;
    }
    r->wall_s = now() - t0;
    const char *why_i, *why_r;
    herr ei = sync_session_result(si, &why_i), er = sync_session_result(sr, &why_r);
    const struct sync_stats *a_st = sync_session_stats(si), *b_st = sync_session_stats(sr);
    r->n = n;
    r->d = d;
    r->placement = random_place ? "random" : "newest";
    r->plan = sync_plan_name(b_st->plan);
    if (a_st->fell_back)
        r->plan = "fallback";
    r->round_trips = a_st->round_trips;
    r->recon_i2r = a_st->recon_bytes_sent;
    r->recon_r2i = b_st->recon_bytes_sent;
    r->envelope_bytes = a_st->event_bytes_sent + b_st->event_bytes_sent;
    r->events = a_st->events_sent + b_st->events_sent;
    r->overhead = a_st->bytes_sent + b_st->bytes_sent - r->envelope_bytes;
    r->per_diff = d ? (double)r->overhead / (double)d : 0;
    r->floor_ratio = d ? (double)r->overhead / (32.0 * (double)d) : 0;
    r->ok = ei == HERR_OK && er == HERR_OK && sync_session_done(si) && sync_session_done(sr) &&
            r->events == d;
    if (ei || er)
        fprintf(stderr, "bench_recon: n=%" PRIu64 " d=%" PRIu64 ": %s (%s) / %s (%s)\n", n, d,
                herr_str(ei), why_i, herr_str(er), why_r);
    if (r->ok && check)
        r->ok = same_sets(a, b);
    sync_session_destroy(&si);
    sync_session_destroy(&sr);
    recon_index_destroy(&ia);
    recon_index_destroy(&ib);
    memstore_destroy(&a);
    memstore_destroy(&b);
    free(ea);
    free(eb);
}

static void print_row(const struct row *r, bool json, bool first)
{
    if (json) {
        printf("%s\n  {\"n\": %" PRIu64 ", \"d\": %" PRIu64 ", \"placement\": \"%s\", "
               "\"plan\": \"%s\", \"round_trips\": %u, \"recon_bytes_i2r\": %" PRIu64
               ", \"recon_bytes_r2i\": %" PRIu64 ", \"recon_bytes\": %" PRIu64
               ", \"bytes_beyond_events\": %" PRIu64 ", \"bytes_per_diff\": %.1f, "
               "\"floor_ratio\": %.2f, \"index_build_s\": %.3f, \"wall_s\": %.3f, "
               "\"ok\": %s}",
               first ? "" : ",", r->n, r->d, r->placement, r->plan, r->round_trips, r->recon_i2r,
               r->recon_r2i, r->recon_i2r + r->recon_r2i, r->overhead, r->per_diff, r->floor_ratio,
               r->build_s, r->wall_s, r->ok ? "true" : "false");
        return;
    }
    char pd[32] = "-", fr[32] = "-";
    if (r->d) {
        snprintf(pd, sizeof pd, "%.1f", r->per_diff);
        snprintf(fr, sizeof fr, "%.2f", r->floor_ratio);
    }
    printf("%8" PRIu64 " %7" PRIu64 " %-7s %-17s %3u %10" PRIu64 " %10" PRIu64 " %10" PRIu64
           " %8s %6s %7.3f %7.3f %s\n",
           r->n, r->d, r->placement, r->plan, r->round_trips, r->recon_i2r, r->recon_r2i,
           r->overhead, pd, fr, r->build_s, r->wall_s, r->ok ? "ok" : "FAIL");
}

/* One cell, many seeds: the tails. */
static int run_reps(uint64_t n, uint64_t d, uint64_t reps, uint64_t seed, bool random_place)
{
    uint32_t rt_hist[8] = {0};
    double worst = 0, sum = 0, bytes = 0;
    bool ok = true;
    for (uint64_t k = 0; k < reps; k++) {
        uint64_t rng = seed + k * 7919;
        uint8_t(*shared)[MEMSTORE_HEADER_LEN] = malloc((n + 1) * MEMSTORE_HEADER_LEN);
        if (!shared)
            die("memory", HERR_NOMEM);
        for (uint64_t i = 0; i < n; i++)
            rng_header(&rng, shared[i]);
        struct recon_index *base;
        must(recon_index_new(&base), "index");
        for (uint64_t i = 0; i < n; i++) {
            uint8_t id[HEARTH_ID_LEN];
            hash_id(id, shared[i], MEMSTORE_HEADER_LEN);
            must(recon_index_add(base, id, i + 1), "index add");
        }
        struct row r;
        memset(&r, 0, sizeof r);
        run(&r, shared, n, d, random_place, base, &rng, false);
        rt_hist[r.round_trips < 7 ? r.round_trips : 7]++;
        worst = r.per_diff > worst ? r.per_diff : worst;
        sum += r.per_diff;
        bytes += (double)r.overhead;
        ok = ok && r.ok;
        recon_index_destroy(&base);
        free(shared);
    }
    printf("n=%" PRIu64 " d=%" PRIu64 " reps=%" PRIu64 ": bytes/diff mean %.1f worst %.1f; "
           "bytes beyond the events mean %.1f; round trips:",
           n, d, reps, sum / (double)reps, worst, bytes / (double)reps);
    for (int i = 0; i < 8; i++)
        if (rt_hist[i])
            printf(" %d:%u", i, rt_hist[i]);
    printf("%s\n", ok ? "" : " (FAILURES)");
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    bool quick = false, json = false, newest = true, random_place = true, check = true;
    uint64_t seed = 1, one_n = 0, one_d = UINT64_MAX, reps = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) {
            quick = true;
        } else if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (!strcmp(argv[i], "--legacy")) {
            session_cfg.legacy = true;
        } else if (!strcmp(argv[i], "--no-check")) {
            check = false;
        } else if (!strcmp(argv[i], "--n") && i + 1 < argc) {
            one_n = strtoull(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--d") && i + 1 < argc) {
            one_d = strtoull(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
            reps = strtoull(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            seed = strtoull(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--placement") && i + 1 < argc) {
            const char *p = argv[++i];
            newest = !strcmp(p, "newest") || !strcmp(p, "both");
            random_place = !strcmp(p, "random") || !strcmp(p, "both");
            if (!newest && !random_place) {
                fprintf(stderr, "bench_recon: placement is newest, random or both\n");
                return 2;
            }
        } else {
            fprintf(stderr, "usage: bench_recon [--quick] [--json] [--placement "
                            "newest|random|both] [--seed N] [--no-check] [--legacy]\n");
            return 2;
        }
    }
    if (crypto_start() != HERR_OK)
        return 1;
    if (one_n && one_d != UINT64_MAX)
        return run_reps(one_n, one_d, reps, seed, random_place && !newest);
    static const uint64_t ns[] = {10000, 100000, 1000000};
    static const uint64_t ds[] = {0, 1, 100, 10000, 100000};
    if (json)
        printf("[");
    else
        printf("%8s %7s %-7s %-17s %3s %10s %10s %10s %8s %6s %7s %7s\n", "n", "d", "place", "plan",
               "rt", "recon_i2r", "recon_r2i", "beyond_ev", "B/diff", "x32B", "build_s", "wall_s");
    bool first = true, all_ok = true;
    uint64_t rng = seed;
    for (size_t a = 0; a < sizeof ns / sizeof *ns; a++) {
        uint64_t n = ns[a];
        if (quick && n > 100000)
            continue;
        uint8_t(*shared)[MEMSTORE_HEADER_LEN] = malloc(n * MEMSTORE_HEADER_LEN);
        if (!shared)
            die("memory", HERR_NOMEM);
        for (uint64_t i = 0; i < n; i++)
            rng_header(&rng, shared[i]);
        /* The cold build: n ids into an empty index. */
        struct recon_index *base;
        must(recon_index_new(&base), "index");
        uint8_t(*ids)[HEARTH_ID_LEN] = malloc(n * HEARTH_ID_LEN);
        if (!ids)
            die("memory", HERR_NOMEM);
        for (uint64_t i = 0; i < n; i++)
            hash_id(ids[i], shared[i], MEMSTORE_HEADER_LEN);
        double t0 = now();
        for (uint64_t i = 0; i < n; i++)
            must(recon_index_add(base, ids[i], i + 1), "index add");
        double build = now() - t0;
        free(ids);
        for (int pl = 0; pl < 2; pl++) {
            if ((pl == 0 && !newest) || (pl == 1 && !random_place))
                continue;
            for (size_t b = 0; b < sizeof ds / sizeof *ds; b++) {
                if (pl == 1 && ds[b] == 0)
                    continue; /* no extra events to place */
                struct row r;
                memset(&r, 0, sizeof r);
                run(&r, shared, n, ds[b], pl == 1, base, &rng, check);
                r.build_s = build;
                print_row(&r, json, first);
                first = false;
                all_ok = all_ok && r.ok;
                fflush(stdout);
            }
        }
        recon_index_destroy(&base);
        free(shared);
    }
    if (json)
        printf("\n]\n");
    return all_ok ? 0 : 1;
}
