/* cmd_id.c - `hearth id`: who this node speaks as, and for which forum. */
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
    char why[300];
    config_defaults(&cfg);
    char *path = cli_path(c, "hearth.conf");
    if (!path)
        return cli_error(c, HERR_NOMEM, "out of memory");
    herr e = config_load(&cfg, path, why, sizeof why);
    free(path);
    if (e)
        return cli_error(c, e, "%s", why);
    w->pid = 0;
    if (!cli_running_endpoint(c, w->listen, sizeof w->listen, &w->pid))
        snprintf(w->listen, sizeof w->listen, "%s", cfg.listen);
    return cli_node_address(c, w->listen, cfg.advertise, out, n);
}

static int run(struct cli *c)
{
    char author[2 * HEARTH_PK_LEN + 1], forum[2 * HEARTH_ID_LEN + 1];
    char *name = NULL, *about = NULL;
    hex_encode(author, c->key.pk, HEARTH_PK_LEN);
    hex_encode(forum, c->forum, HEARTH_ID_LEN);
    herr e = store_profile(c->store, c->key.pk, &name, &about);
    if (e && e != HERR_NOT_FOUND)
        return cli_store_error(c, e, NULL);
    char *forum_name = cli_forum_name(c);
    char addr[256], node_key[2 * HEARTH_PK_LEN + 1];
    struct node_where where;
    int rc = node_address(c, addr, sizeof addr, &where);
    if (rc) {
        free(name);
        free(about);
        free(forum_name);
        return rc;
    }
    /* The key is the part of the address between "hearth://" and '@'. */
    snprintf(node_key, sizeof node_key, "%.64s", addr + strlen("hearth://"));
    if (c->json) {
        json_object_open(&c->out, NULL);
        json_str(&c->out, "author", author);
        json_str(&c->out, "name", name);
        json_str(&c->out, "forum", forum);
        json_str(&c->out, "forum_name", forum_name);
        json_str(&c->out, "node_key", node_key);
        json_str(&c->out, "address", addr);
        json_str(&c->out, "listen", where.listen);
        json_bool(&c->out, "running", where.pid != 0);
        if (where.pid)
            json_u64(&c->out, "pid", where.pid);
        else
            json_null(&c->out, "pid");
        json_str(&c->out, "data_dir", c->dir);
        json_object_close(&c->out);
    } else {
        printf("author: %s", author);
        print_name(name);
        printf("forum:  %s", forum);
        print_name(forum_name);
        printf("node:   %s\n", addr);
        if (where.pid)
            printf("        the running node (pid %" PRIu64 ") listens on %s\n", where.pid,
                   where.listen);
        else
            printf("        no node is running; hearth serve would listen on %s (hearth.conf "
                   "or the default)\n",
                   where.listen);
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
    .needs = CLI_NEEDS_STORE | CLI_NEEDS_KEY,
};
