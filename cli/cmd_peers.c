/* cmd_peers.c - `hearth peers`: the nodes this node knows, and who may connect. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "node/peers.h"
#include "node/transport.h"

/* The keys a prefix may name: known peers and allowed keys. */
struct key_match {
    const char *prefix;
    size_t n;
    uint8_t key[HEARTH_PK_LEN];
    int found; /* distinct keys that start with prefix */
};

static void match_key(struct key_match *m, const uint8_t key[HEARTH_PK_LEN])
{
    char hex[2 * HEARTH_PK_LEN + 1];
    hex_encode(hex, key, HEARTH_PK_LEN);
    if (strncasecmp(hex, m->prefix, m->n) != 0)
        return;
    if (m->found > 0 && memcmp(m->key, key, HEARTH_PK_LEN) == 0)
        return; /* a peer that is also on the allow-list */
    memcpy(m->key, key, HEARTH_PK_LEN);
    m->found++;
}

static herr match_peer(void *ctx, const struct peer_record *r)
{
    match_key(ctx, r->key);
    return HERR_OK;
}

static herr match_allowed(void *ctx, const char *key, const char *value)
{
    uint8_t k[HEARTH_PK_LEN];
    (void)value;
    if (hex_decode(k, HEARTH_PK_LEN, key + strlen("allow:")) == HERR_OK)
        match_key(ctx, k);
    return HERR_OK;
}

/* key_arg - a node key: 64 hex digits, the key inside a hearth:// address, or a prefix
 * of 4 or more digits of exactly one key this node knows (a peer or an allowed key),
 * like the id and author prefixes of the other commands. */
static int key_arg(struct cli *c, const char *arg, uint8_t key[HEARTH_PK_LEN])
{
    char ep[PEER_MAX_ENDPOINT];
    if (strncmp(arg, "hearth://", 9) == 0) {
        const char *why;
        if (address_parse(arg, key, ep, sizeof ep, &why) != HERR_OK)
            return cli_error(c, HERR_USAGE, "'%s': %s", arg, why);
        return CLI_OK;
    }
    size_t n = strlen(arg);
    if (n == 2 * HEARTH_PK_LEN && hex_decode(key, HEARTH_PK_LEN, arg) == HERR_OK)
        return CLI_OK;
    if (n < 4 || n > 2 * HEARTH_PK_LEN || strspn(arg, "0123456789abcdefABCDEF") != n)
        return cli_error(c, HERR_USAGE, "'%s' is not a node key (4 to 64 hex digits) or address",
                         arg);
    struct key_match m = {.prefix = arg, .n = n};
    herr e = peer_record_each(c->store, match_peer, &m);
    if (!e)
        e = store_meta_each(c->store, "allow:", match_allowed, &m);
    if (e)
        return cli_store_error(c, e, "cannot list peers");
    if (m.found > 1)
        return cli_error(c, HERR_AMBIGUOUS,
                         "'%s': %d peers have a key starting so; give more digits", arg, m.found);
    if (m.found == 0)
        return cli_error(c, HERR_NOT_FOUND, "'%s': no peer with that key here", arg);
    memcpy(key, m.key, HEARTH_PK_LEN);
    return CLI_OK;
}

static herr list_one(void *ctx, const struct peer_record *r)
{
    struct cli *c = ctx;
    char hex[2 * HEARTH_PK_LEN + 1], seen[64], synced[64];
    hex_encode(hex, r->key, HEARTH_PK_LEN);
    bool allowed = peer_allowed(c->store, r->key);
    if (c->json) {
        json_object_open(&c->out, NULL);
        json_str(&c->out, "key", hex);
        json_str(&c->out, "endpoint", r->endpoint[0] ? r->endpoint : NULL);
        json_str(&c->out, "source", r->source);
        json_bool(&c->out, "allowed", allowed);
        json_u64(&c->out, "last_seen", r->last_seen);
        json_u64(&c->out, "last_sync", r->last_sync);
        json_u64(&c->out, "failures", r->failures);
        json_object_close(&c->out);
        return HERR_OK;
    }
    printf("%.12s  %-28s %-10s%s\n", hex, r->endpoint[0] ? r->endpoint : "(inbound only)",
           r->source, allowed ? "  allowed" : "");
    printf("              last seen %s, last sync %s, %" PRIu64 " failures\n",
           r->last_seen ? cli_format_time(seen, sizeof seen, r->last_seen) : "never",
           r->last_sync ? cli_format_time(synced, sizeof synced, r->last_sync) : "never",
           r->failures);
    return HERR_OK;
}

static herr allowed_only(void *ctx, const char *key, const char *value)
{
    struct cli *c = ctx;
    uint8_t k[HEARTH_PK_LEN];
    struct peer_record r;
    (void)value;
    if (hex_decode(k, HEARTH_PK_LEN, key + strlen("allow:")) != HERR_OK)
        return HERR_OK;
    if (peer_record_load(c->store, k, &r) == HERR_OK)
        return HERR_OK; /* listed with the peers */
    memset(&r, 0, sizeof r);
    memcpy(r.key, k, HEARTH_PK_LEN);
    snprintf(r.source, sizeof r.source, "allowed");
    return list_one(c, &r);
}

static int list(struct cli *c)
{
    if (c->json)
        json_array_open(&c->out, NULL);
    herr e = peer_record_each(c->store, list_one, c);
    if (!e)
        e = store_meta_each(c->store, "allow:", allowed_only, c);
    if (e)
        return cli_store_error(c, e, "cannot list peers");
    if (c->json) {
        json_array_close(&c->out);
        return cli_json_flush(c);
    }
    return CLI_OK;
}

static int add(struct cli *c, const char *address)
{
    struct peer_record r = {0};
    const char *why;
    if (address_parse(address, r.key, r.endpoint, sizeof r.endpoint, &why) != HERR_OK)
        return cli_error(c, HERR_USAGE, "'%s': %s", address, why);
    struct peer_record old;
    if (peer_record_load(c->store, r.key, &old) == HERR_OK) {
        r.last_seen = old.last_seen;
        r.last_sync = old.last_sync;
    }
    snprintf(r.source, sizeof r.source, "added");
    herr e = peer_record_save(c->store, &r);
    if (e)
        return cli_store_error(c, e, "cannot save the peer");
    if (!c->json)
        printf("added %s\n", address);
    return CLI_OK;
}

static int run(struct cli *c)
{
    const char *verb = c->nargs > 0 ? c->args[0] : "list";
    uint8_t key[HEARTH_PK_LEN];
    int rc;
    if (!strcmp(verb, "list") && c->nargs <= 1)
        return list(c);
    if (c->nargs != 2)
        return cli_error(c, HERR_USAGE,
                         "usage: hearth peers [list | add ADDRESS | allow KEY | "
                         "disallow KEY | remove KEY]");
    if (!strcmp(verb, "add"))
        return add(c, c->args[1]);
    if ((rc = key_arg(c, c->args[1], key)) != CLI_OK)
        return rc;
    herr e;
    if (!strcmp(verb, "allow"))
        e = peer_allow(c->store, key);
    else if (!strcmp(verb, "disallow"))
        e = peer_disallow(c->store, key);
    else if (!strcmp(verb, "remove"))
        e = peer_record_remove(c->store, key);
    else
        return cli_error(c, HERR_USAGE, "unknown peers command '%s'", verb);
    if (e == HERR_NOT_FOUND)
        return cli_error(c, e, "no peer %.12s", c->args[1]);
    if (e)
        return cli_store_error(c, e, NULL);
    return CLI_OK;
}

const struct cli_command cmd_peers = {
    .name = "peers",
    .run = run,
    .group = "network",
    .summary = "list, add, allow and remove the nodes this node syncs with",
    .synopsis = "[list | add ADDRESS | allow KEY | disallow KEY | remove KEY]",
    .details = "With `access = allowlist` in hearth.conf (or serve --access allowlist), only\n"
               "allowed keys may connect. A running node picks up changes within seconds.\n"
               "KEY: 64 hex digits, an address, or a unique prefix of a known key.",
    .min_args = 0,
    .max_args = 2,
    .needs = CLI_NEEDS_WRITE,
};
