/* cmd_repair.c - `hearth repair`: rebuild a damaged replica from the events it still
 * holds that verify (store_repair), so that sync can fetch the rest. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"

static void print_human(const struct cli *c, const struct store_repair *r)
{
    if (r->wal_lost) {
        printf("lost:     ");
        cli_print_text(stdout, r->wal_why, NULL);
        printf("\n");
    }
    printf("kept:     %llu events that verify (%llu rows found; %llu dropped: unreadable, "
           "not signed by their author or not of this forum)\n",
           (unsigned long long)r->kept, (unsigned long long)r->found,
           (unsigned long long)r->dropped);
    printf("local:    %llu settings, peers, web accounts, invites and reading marks kept%s\n",
           (unsigned long long)r->local_rows,
           r->local_lost ? " (some could not be read and are gone)" : "");
    printf("view:     rebuilt from the events\n");
    printf("damaged:  the old file is kept as ");
    cli_print_text(stdout, r->moved_to, NULL);
    printf("\nnext:     sync with a peer (`hearth sync ADDRESS`, or `hearth serve`) to fetch "
           "what was lost\n");
    (void)c;
}

static void print_json(struct cli *c, const struct store_repair *r)
{
    struct json *j = &c->out;
    json_object_open(j, NULL);
    json_str(j, "data_dir", c->dir);
    json_u64(j, "kept", r->kept);
    json_u64(j, "found", r->found);
    json_u64(j, "dropped", r->dropped);
    json_u64(j, "local_rows", r->local_rows);
    json_bool(j, "local_lost", r->local_lost);
    json_str(j, "wal_lost", r->wal_lost ? r->wal_why : NULL);
    json_str(j, "damaged_copy", r->moved_to);
    json_object_close(j);
}

static int run(struct cli *c)
{
    struct stat st;
    int rc = cli_resolve_dir(c);
    if (rc)
        return rc;
    char *db = cli_path(c, "hearth.db");
    if (!db)
        return cli_error(c, HERR_NOMEM, "%s", herr_str(HERR_NOMEM));
    if (stat(db, &st) != 0) {
        free(db);
        return cli_error(c, HERR_STATE, "no forum in %s (run 'hearth init')", c->dir);
    }
    struct store_repair *r = malloc(sizeof *r);
    herr e = r ? store_repair(db, r) : HERR_NOMEM;
    free(db);
    if (e) {
        rc = cli_error(c, e, "%s: cannot repair: %s", c->dir, r ? r->why : herr_str(e));
        free(r);
        return rc;
    }
    if (c->json)
        print_json(c, r);
    else
        print_human(c, r);
    free(r);
    return c->json ? cli_json_flush(c) : CLI_OK;
}

const struct cli_command cmd_repair = {
    .name = "repair",
    .run = run,
    .group = "start",
    .summary = "rebuild a damaged replica from the events that still verify",
    .synopsis = "",
    .details = "Reads every page of DIR/hearth.db (and of its write-ahead log) as raw bytes,\n"
               "re-verifies the signature of every event found, and builds a new replica from\n"
               "those that verify: the forum view is rebuilt from them, and local settings,\n"
               "peers and web accounts are kept as far as they can be read. The damaged file\n"
               "is kept beside the new one as hearth.db.damaged-DATE. What was lost comes back\n"
               "from peers at the next sync. Stop `hearth serve` first: a replica in use is\n"
               "refused. Safe on a sound replica too (it is rebuilt the same).",
    .min_args = 0,
    .max_args = 0,
    .needs = 0,
};
