/* cmd_id.c - `hearth id`: who this node speaks as, and for which forum.
 *
 * It only shows what exists: it makes no key. A data directory whose author key or
 * node key is not there yet (a node key is made by the first `hearth serve`, `sync` or
 * `invite`) says so on that line (null in JSON), and the command still succeeds. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/node_key.h"
#include "node/config.h"

static void print_name(const char *name)
{
    if (name) {
        fputs(" (", stdout);
        cli_print_text(stdout, name, NULL);
        fputs(")", stdout);
    }
    fputs("\n", stdout);
}

/* Where the address in `hearth id` comes from. */
struct node_where {
    char listen[CONFIG_MAX_STR]; /* the endpoint the address is made from */
    uint64_t pid;                /* the running node's, when it comes from it; else 0 */
};

/* node_address - where other nodes reach this one: the endpoint the node serving this
 * data directory has bound when one runs (it may have been started with --listen, or
 * on port 0), else the listen endpoint of hearth.conf (or the default); with the
 * advertised host of hearth.conf. */
static int node_address(struct cli *c, char *out, size_t n, struct node_where *w)
{
    struct config cfg;
    int rc = cli_config(c, &cfg);
    if (rc)
        return rc;
    w->pid = 0;
    if (!cli_running_endpoint(c, w->listen, sizeof w->listen, &w->pid))
        snprintf(w->listen, sizeof w->listen, "%s", cfg.listen);
    return cli_node_address(c, w->listen, cfg.advertise, out, n);
}

static void print_node(const char *addr, const char *join, const struct node_where *where)
{
    printf("node:   %s\n", addr);
    if (where->pid)
        printf("        the running node (pid %" PRIu64 ") listens on %s\n", where->pid,
               where->listen);
    else
        printf("        no node is running; hearth serve would listen on %s (hearth.conf "
               "or the default)\n",
               where->listen);
    printf("join:   %s\n", join);
}

static int run(struct cli *c)
{
    char author[2 * HEARTH_PK_LEN + 1], forum[2 * HEARTH_ID_LEN + 1];
    char *name = NULL, *about = NULL;
    hex_encode(author, c->key.pk, HEARTH_PK_LEN);
    hex_encode(forum, c->forum, HEARTH_ID_LEN);
    herr e = c->has_key ? store_profile(c->store, c->key.pk, &name, &about) : HERR_NOT_FOUND;
    if (e && e != HERR_NOT_FOUND)
        return cli_store_error(c, e, NULL);
    uint8_t seed[HEARTH_SEED_LEN];
    bool has_node = false;
    int rc = cli_node_seed_existing(c, seed, &has_node);
    secret_wipe(seed, sizeof seed);
    char addr[256] = "", node_key[2 * HEARTH_PK_LEN + 1] = "", join[300] = "";
    struct node_where where = {.pid = 0};
    if (!rc && has_node)
        rc = node_address(c, addr, sizeof addr, &where);
    if (rc) {
        free(name);
        free(about);
        return rc;
    }
    char *forum_name = cli_forum_name(c);
    /* The key is the part of the address between "hearth://" and '@'. */
    if (has_node) {
        snprintf(node_key, sizeof node_key, "%.64s", addr + strlen("hearth://"));
        snprintf(join, sizeof join, "%s/%s", addr, forum);
    }
    if (c->json) {
        json_object_open(&c->out, NULL);
        json_str(&c->out, "author", c->has_key ? author : NULL);
        json_str(&c->out, "name", name);
        json_str(&c->out, "forum", forum);
        json_str(&c->out, "forum_name", forum_name);
        json_str(&c->out, "node_key", has_node ? node_key : NULL);
        json_str(&c->out, "address", has_node ? addr : NULL);
        json_str(&c->out, "join", has_node ? join : NULL);
        json_str(&c->out, "listen", has_node ? where.listen : NULL);
        json_bool(&c->out, "running", where.pid != 0);
        if (where.pid)
            json_u64(&c->out, "pid", where.pid);
        else
            json_null(&c->out, "pid");
        json_str(&c->out, "data_dir", c->dir);
        json_object_close(&c->out);
    } else {
        if (c->has_key) {
            printf("author: %s", author);
            print_name(name);
        } else {
            printf("author: none: no author key in this data directory\n");
        }
        printf("forum:  %s", forum);
        print_name(forum_name);
        if (has_node)
            print_node(addr, join, &where);
        else
            printf("node:   no node key yet ('hearth serve', 'sync' or 'invite' makes one)\n");
        printf("data:   %s\n", c->dir);
    }
    free(name);
    free(about);
    free(forum_name);
    return c->json ? cli_json_flush(c) : CLI_OK;
}

const struct cli_command cmd_id = {
    .name = "id",
    .run = run,
    .group = "start",
    .summary = "show your author key and the forum id",
    .synopsis = "",
    .needs = CLI_NEEDS_STORE,
};
