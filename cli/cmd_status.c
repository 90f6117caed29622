/* cmd_status.c - `hearth status`: what this node holds. */
#include <stdlib.h>

#include "cli/cli.h"

static void human_size(char *buf, size_t size, uint64_t n)
{
    if (n < 1024)
        snprintf(buf, size, "%llu bytes", (unsigned long long)n);
    else if (n < 1024 * 1024)
        snprintf(buf, size, "%.1f KiB", (double)n / 1024);
    else
        snprintf(buf, size, "%.1f MiB", (double)n / (1024 * 1024));
}

static void print_json(struct cli *c, const struct store_stats *st, const char *name,
                       const uint8_t digest[HEARTH_ID_LEN])
{
    struct json *j = &c->out;
    json_object_open(j, NULL);
    json_hex(j, "forum", c->forum, HEARTH_ID_LEN);
    json_str(j, "forum_name", name);
    json_str(j, "data_dir", c->dir);
    json_u64(j, "events", st->events);
    json_u64(j, "pending", st->pending);
    json_u64(j, "purged", st->purged);
    json_u64(j, "boards", st->boards);
    json_u64(j, "threads", st->threads);
    json_u64(j, "replies", st->replies);
    json_u64(j, "authors", st->authors);
    json_u64(j, "forks", st->forks);
    json_u64(j, "db_bytes", st->db_bytes);
    json_hex(j, "view_digest", digest, HEARTH_ID_LEN);
    /* The node adds its peers and sync state here. */
    json_object_close(j);
}

static void print_human(const struct cli *c, const struct store_stats *st, const char *name,
                        const uint8_t digest[HEARTH_ID_LEN])
{
    char forum[2 * HEARTH_ID_LEN + 1], view[2 * HEARTH_ID_LEN + 1], size[32];
    hex_encode(forum, c->forum, HEARTH_ID_LEN);
    hex_encode(view, digest, HEARTH_ID_LEN);
    human_size(size, sizeof size, st->db_bytes);
    printf("forum:    %s", forum);
    if (name) {
        fputs(" (", stdout);
        cli_print_text(stdout, name, NULL);
        fputs(")", stdout);
    } else {
        fputs(" (not fetched yet: import a bundle or sync)", stdout);
    }
    printf("\ndata:     %s (%s)\n", c->dir, size);
    printf("events:   %llu held, %llu waiting for earlier events, %llu bodies purged\n",
           (unsigned long long)st->events, (unsigned long long)st->pending,
           (unsigned long long)st->purged);
    printf("content:  %llu boards, %llu threads, %llu replies, %llu authors\n",
           (unsigned long long)st->boards, (unsigned long long)st->threads,
           (unsigned long long)st->replies, (unsigned long long)st->authors);
    if (st->forks)
        printf("forks:    %llu (an author signed two events with one number; both are kept)\n",
               (unsigned long long)st->forks);
    printf("view:     %s\n", view);
}

static int run(struct cli *c)
{
    struct store_stats st;
    uint8_t digest[HEARTH_ID_LEN];
    herr e = store_stats(c->store, &st);
    if (!e)
        e = store_view_digest(c->store, digest);
    if (e)
        return cli_store_error(c, e, NULL);
    char *name = cli_forum_name(c);
    if (c->json)
        print_json(c, &st, name, digest);
    else
        print_human(c, &st, name, digest);
    free(name);
    return c->json ? cli_json_flush(c) : CLI_OK;
}

const struct cli_command cmd_status = {
    .name = "status",
    .run = run,
    .group = "start",
    .summary = "show what this node holds",
    .synopsis = "",
    .details = "The view digest is a hash of the whole forum as it is shown: two nodes with\n"
               "the same digest show the same forum.",
    .needs = CLI_NEEDS_STORE,
};
