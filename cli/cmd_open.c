/* cmd_open.c - `hearth open`: the node's owner into its own web pages, as the node's
 * own author, with a one-time link on this machine (no account, no passphrase). */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/node_key.h"
#include "store/members.h"

extern char **environ;

#define OPEN_TTL_MS (10 * 60 * 1000ULL) /* a link works this long, once */

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* loopback_url - "http://127.0.0.1:PORT" for the web pages at listen, when this machine
 * reaches them on loopback: a wildcard host (0.0.0.0, [::]) or a loopback one. */
static bool loopback_url(const struct cli_web *w, char *out, size_t n)
{
    char host[CONFIG_MAX_STR];
    const char *colon = strrchr(w->listen, ':');
    if (!colon)
        return false;
    snprintf(host, sizeof host, "%.*s", (int)(colon - w->listen), w->listen);
    if (!strcmp(host, "0.0.0.0"))
        snprintf(host, sizeof host, "127.0.0.1");
    else if (!strcmp(host, "[::]"))
        snprintf(host, sizeof host, "[::1]");
    else if (strncmp(host, "127.", 4) != 0 && strcmp(host, "[::1]") != 0)
        return false;
    snprintf(out, n, "%s://%s%s", w->tls ? "https" : "http", host, colon);
    return true;
}

/* on_path - whether an executable called name is on $PATH. */
static bool on_path(const char *name)
{
    const char *path = getenv("PATH");
    char file[4096];
    for (const char *p = path; p && *p;) {
        size_t n = strcspn(p, ":");
        snprintf(file, sizeof file, "%.*s/%s", (int)n, p, name);
        if (n && access(file, X_OK) == 0)
            return true;
        p += n + (p[n] == ':');
    }
    return false;
}

/* desktop_open - hand url to the desktop's browser (xdg-open) when there is a desktop;
 * true when it was started. */
static bool desktop_open(const char *url)
{
    const char *x = getenv("DISPLAY"), *wl = getenv("WAYLAND_DISPLAY");
    if ((!x || !*x) && (!wl || !*wl))
        return false;
    if (!on_path("xdg-open"))
        return false;
    pid_t pid;
    char *argv[] = {"xdg-open", (char *)url, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", 0, 0);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", 0, 0);
    bool ok = posix_spawnp(&pid, "xdg-open", &fa, NULL, argv, environ) == 0;
    posix_spawn_file_actions_destroy(&fa);
    return ok;
}

static int run(struct cli *c)
{
    struct config cfg;
    struct cli_web w;
    char base[CONFIG_MAX_STR + 16], url[CONFIG_MAX_STR + 100], hex[2 * STORE_OWNER_TOKEN_LEN + 1];
    uint8_t token[STORE_OWNER_TOKEN_LEN];
    int rc = cli_config(c, &cfg);
    if (rc)
        return rc;
    cli_web_place(c, &cfg, &w);
    if (!w.serving)
        return cli_error(c, HERR_STATE,
                         "no web pages are served from %s: start 'hearth serve' (with its web "
                         "pages) first",
                         c->dir);
    if (!loopback_url(&w, base, sizeof base))
        return cli_error(c, HERR_STATE,
                         "the web pages listen on %s only, which this machine's loopback does "
                         "not reach: serve them on 0.0.0.0 or 127.0.0.1 ([web] listen)",
                         w.listen);
    uint64_t now = now_ms(), expires = now + OPEN_TTL_MS;
    random_bytes(token, sizeof token);
    herr e = store_owner_token_add(c->store, token, now, expires);
    hex_encode(hex, token, sizeof token);
    secret_wipe(token, sizeof token);
    if (e)
        return cli_store_error(c, e, "cannot make a login link");
    snprintf(url, sizeof url, "%s/owner?token=%s", base, hex);
    bool opened = !c->json && !cli_flag(c, "no-browser") && desktop_open(url);
    if (c->json) {
        json_object_open(&c->out, NULL);
        json_str(&c->out, "url", url);
        json_u64(&c->out, "expires", expires);
        json_hex(&c->out, "author", c->key.pk, HEARTH_PK_LEN);
        json_object_close(&c->out);
        return cli_json_flush(c);
    }
    printf("%s\n", url);
    printf("this link signs you in as this node's author, once, on this machine, within 10 "
           "minutes%s\n",
           opened ? " (opened in your browser)" : "");
    return CLI_OK;
}

static const struct cli_option options[] = {
    {"no-browser", 0, NULL, "only print the link, even on a desktop"},
    {NULL, 0, NULL, NULL},
};

const struct cli_command cmd_open = {
    .name = "open",
    .run = run,
    .group = "network",
    .summary = "sign in to this node's own web pages as its author, on this machine",
    .synopsis = "[--no-browser]",
    .details = "Prints (and on a desktop opens with xdg-open) a link on 127.0.0.1 that signs\n"
               "you in to the web pages of the running 'hearth serve' as this node's author,\n"
               "with no account or passphrase. It works once, within 10 minutes, and only\n"
               "from this machine; people on the LAN still join with an invite.",
    .options = options,
    .min_args = 0,
    .max_args = 0,
    .needs = CLI_NEEDS_WRITE | CLI_NEEDS_KEY,
};
