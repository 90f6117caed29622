/* bench_pages.c - how long the first page of each listing takes on a large replica.
 *
 *   bench_pages [--runs R] DB BOARD_ID_HEX THREAD_ID_HEX WORD
 *
 * Opens the replica for writing, as `hearth search` and `hearth serve` do (a search
 * brings the index up to date first; run one search before timing), and times
 * store calls, best and worst of R runs (default 5) after one warm-up: the kept
 * counts and view digest (what `status` reads), the first page of the board, the
 * first page of the thread, and the first page of a search for WORD. Prints one line
 * per figure: "name best_ms worst_ms items".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/crypto.h"
#include "store/store.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

struct args {
    struct store *s;
    uint8_t board[HEARTH_ID_LEN], thread[HEARTH_ID_LEN];
    const char *word;
};

static size_t fig_status(struct args *a)
{
    struct store_stats st;
    uint8_t d[HEARTH_ID_LEN];
    if (store_stats(a->s, &st) || store_view_digest(a->s, d))
        return 0;
    return (size_t)st.events;
}

static size_t fig_board(struct args *a)
{
    struct store_post *p;
    size_t n = 0;
    char next[STORE_CURSOR_MAX];
    if (store_threads_before(a->s, a->board, NULL, 50, &p, &n, next))
        return 0;
    store_posts_free(p, n);
    return n;
}

static size_t fig_thread(struct args *a)
{
    struct store_post *p;
    size_t n = 0;
    char next[STORE_CURSOR_MAX];
    if (store_thread_before(a->s, a->thread, NULL, 50, &p, &n, next))
        return 0;
    store_posts_free(p, n);
    return n;
}

static size_t fig_search(struct args *a)
{
    struct store_post *p;
    size_t n = 0;
    char next[STORE_CURSOR_MAX];
    if (store_search_before(a->s, a->word, NULL, 50, &p, &n, next)) {
        fprintf(stderr, "bench_pages: search: %s\n", store_errmsg(a->s));
        return 0;
    }
    store_posts_free(p, n);
    return n;
}

int main(int argc, char **argv)
{
    int runs = 5, i = 1;
    if (argc > 2 && !strcmp(argv[1], "--runs"))
        runs = atoi(argv[2]), i = 3;
    struct args a;
    if (argc - i != 4 || runs < 1 || crypto_start() != HERR_OK ||
        hex_decode(a.board, HEARTH_ID_LEN, argv[i + 1]) ||
        hex_decode(a.thread, HEARTH_ID_LEN, argv[i + 2])) {
        fprintf(stderr, "usage: bench_pages [--runs R] DB BOARD_ID_HEX THREAD_ID_HEX WORD\n");
        return 2;
    }
    a.word = argv[i + 3];
    if (store_open(&a.s, argv[i], 0)) {
        fprintf(stderr, "bench_pages: %s: %s\n", argv[i], store_open_error());
        return 1;
    }
    static const struct {
        const char *name;
        size_t (*fn)(struct args *);
    } figs[] = {{"status", fig_status},
                {"board_first_page", fig_board},
                {"thread_first_page", fig_thread},
                {"search_first_page", fig_search}};
    for (size_t f = 0; f < sizeof figs / sizeof figs[0]; f++) {
        double best = 1e18, worst = 0;
        size_t items = figs[f].fn(&a);
        for (int r = 0; r < runs; r++) {
            double t = now_ms();
            items = figs[f].fn(&a);
            t = now_ms() - t;
            best = t < best ? t : best;
            worst = t > worst ? t : worst;
        }
        printf("%s %.2f %.2f %zu\n", figs[f].name, best, worst, items);
    }
    store_destroy(&a.s);
    return 0;
}
