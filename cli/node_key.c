#include "cli/node_key.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/transport.h"

int cli_node_seed(struct cli *c, uint8_t seed[HEARTH_SEED_LEN])
{
    char *path = cli_path(c, "node.key");
    if (!path)
        return cli_error(c, HERR_NOMEM, "out of memory");
    herr e = seed_file_load(path, true, seed, NULL);
    int rc = e ? cli_error(c, e, "%s: %s", path, herr_str(e)) : CLI_OK;
    free(path);
    return rc;
}

int cli_node_seed_existing(struct cli *c, uint8_t seed[HEARTH_SEED_LEN], bool *found)
{
    char *path = cli_path(c, "node.key");
    if (!path)
        return cli_error(c, HERR_NOMEM, "out of memory");
    herr e = seed_file_load(path, false, seed, NULL);
    *found = e == HERR_OK;
    int rc = e && e != HERR_NOT_FOUND ? cli_error(c, e, "%s: %s", path, herr_str(e)) : CLI_OK;
    free(path);
    return rc;
}

/* The longest IPv4 address in text, NUL included. */
#define IPV4_TEXT 16

/* lan_ipv4 - this machine's up, non-loopback IPv4 addresses, at most max; how many. */
static size_t lan_ipv4(char out[][IPV4_TEXT], size_t max)
{
    struct ifaddrs *ifs;
    size_t k = 0;
    if (getifaddrs(&ifs) != 0)
        return 0;
    for (struct ifaddrs *i = ifs; i && k < max; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_UP) ||
            (i->ifa_flags & IFF_LOOPBACK))
            continue;
        struct sockaddr_in *sa = (struct sockaddr_in *)(void *)i->ifa_addr;
        if (inet_ntop(AF_INET, &sa->sin_addr, out[k], IPV4_TEXT))
            k++;
    }
    freeifaddrs(ifs);
    return k;
}

/* first_ipv4 - this machine's first up, non-loopback IPv4 address. */
static int first_ipv4(char *out, size_t n)
{
    char a[1][IPV4_TEXT];
    if (lan_ipv4(a, 1) == 0)
        return -1;
    snprintf(out, n, "%s", a[0]);
    return 0;
}

static bool wildcard(const char *host)
{
    return !strcmp(host, "*") || !strcmp(host, "0.0.0.0") || !host[0] || !strcmp(host, "[::]");
}

/* split_hostport - "tcp://HOST:PORT" or "HOST:PORT" into host and port (0 when the
 * port is "*" or missing). */
static void split_hostport(const char *listen, char *host, size_t hn, unsigned *port)
{
    const char *hp = strstr(listen, "://");
    hp = hp ? hp + 3 : listen;
    const char *colon = strrchr(hp, ':');
    size_t hl = colon ? (size_t)(colon - hp) : strlen(hp);
    snprintf(host, hn, "%.*s", (int)hl, hp);
    *port = colon ? (unsigned)strtoul(colon + 1, NULL, 10) : 0;
}

int cli_config(struct cli *c, struct config *cfg)
{
    char why[300];
    config_defaults(cfg);
    char *path = cli_path(c, "hearth.conf");
    if (!path)
        return cli_error(c, HERR_NOMEM, "out of memory");
    herr e = config_load(cfg, path, why, sizeof why);
    free(path);
    return e ? cli_error(c, e, "%s", why) : CLI_OK;
}

int cli_join_places(struct cli *c, const struct config *cfg, struct joinlink *l, bool *running)
{
    uint8_t seed[HEARTH_SEED_LEN], sk[32];
    char listen[CONFIG_MAX_STR];
    uint64_t pid = 0;
    int rc = cli_node_seed(c, seed);
    if (rc)
        return rc;
    nodekey_from_seed(l->node, sk, seed);
    secret_wipe(seed, sizeof seed);
    secret_wipe(sk, sizeof sk);
    *running = cli_running_endpoint(c, listen, sizeof listen, &pid);
    if (!*running)
        snprintf(listen, sizeof listen, "%s", cfg->listen);
    return cli_join_places_at(c, cfg, listen, l);
}

int cli_join_places_at(struct cli *c, const struct config *cfg, const char *listen,
                       struct joinlink *l)
{
    char host[CONFIG_MAX_STR];
    unsigned port;
    split_hostport(listen, host, sizeof host, &port);
    if (port == 0)
        return cli_error(c, HERR_STATE,
                         "no node is running and hearth.conf's listen (%s) has no fixed port: "
                         "start 'hearth serve' first",
                         listen);
    char hosts[JOINLINK_MAX_ADDRS][IPV4_TEXT];
    size_t nh = 0;
    l->naddrs = 0;
    if (cfg->advertise[0]) {
        snprintf(host, sizeof host, "%s", cfg->advertise);
    } else if (wildcard(host)) {
        nh = lan_ipv4(hosts, JOINLINK_MAX_ADDRS);
        if (nh == 0)
            snprintf(host, sizeof host, "127.0.0.1");
    }
    for (size_t i = 0; i < (nh ? nh : 1); i++) {
        int w = snprintf(l->addrs[l->naddrs], JOINLINK_MAX_HOSTPORT, "%s:%u", nh ? hosts[i] : host,
                         port);
        if (w < 0 || w >= JOINLINK_MAX_HOSTPORT)
            return cli_error(c, HERR_USAGE, "the host '%s' is too long for a link", host);
        l->naddrs++;
    }
    return CLI_OK;
}

herr cli_note_web(struct cli *c, const char *listen, uint16_t port, bool tls, bool open_join)
{
    char host[CONFIG_MAX_STR], text[CONFIG_MAX_STR + 64];
    unsigned ignored;
    if (!listen) {
        herr e = store_meta_delete(c->store, CLI_WEB_META);
        return e == HERR_NOT_FOUND ? HERR_OK : e;
    }
    split_hostport(listen, host, sizeof host, &ignored);
    snprintf(text, sizeof text, "%ld %s %s:%u %s", (long)getpid(), tls ? "https" : "http", host,
             (unsigned)port, open_join ? "open" : "invite");
    return store_meta_set(c->store, CLI_WEB_META, text);
}

void cli_web_place(struct cli *c, const struct config *cfg, struct cli_web *w)
{
    char listen[CONFIG_MAX_STR], *note = NULL, scheme[8], where[CONFIG_MAX_STR], join[8];
    uint64_t pid = 0;
    long noted;
    memset(w, 0, sizeof *w);
    if (cli_running_endpoint(c, listen, sizeof listen, &pid)) {
        /* A node runs: its web pages are those its process noted, or none. */
        if (store_meta_get(c->store, CLI_WEB_META, &note) == HERR_OK &&
            sscanf(note, "%ld %7s %255s %7s", &noted, scheme, where, join) == 4 &&
            (uint64_t)noted == pid) {
            w->serving = w->enabled = true;
            w->tls = !strcmp(scheme, "https");
            w->open_join = !strcmp(join, "open");
            snprintf(w->listen, sizeof w->listen, "%s", where);
        }
        free(note);
        return;
    }
    w->enabled = cfg->web;
    w->tls = cfg->web_tls_cert[0] != '\0';
    w->open_join = cfg->web_open_join;
    snprintf(w->listen, sizeof w->listen, "%s", cfg->web_listen);
}

size_t cli_web_urls(const struct cli_web *w, char urls[][CONFIG_MAX_STR + 16], size_t max)
{
    char host[CONFIG_MAX_STR], hosts[JOINLINK_MAX_ADDRS][IPV4_TEXT];
    unsigned port;
    size_t nh = 0, k = 0;
    if (!w->enabled || max == 0)
        return 0;
    split_hostport(w->listen, host, sizeof host, &port);
    if (wildcard(host) &&
        (nh = lan_ipv4(hosts, max < JOINLINK_MAX_ADDRS ? max : JOINLINK_MAX_ADDRS)) == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    for (size_t i = 0; i < (nh ? nh : 1); i++)
        snprintf(urls[k++], CONFIG_MAX_STR + 16, "%s://%s:%u/", w->tls ? "https" : "http",
                 nh ? hosts[i] : host, port);
    return k;
}

int cli_node_address(struct cli *c, const char *listen, const char *advertise, char *out, size_t n)
{
    uint8_t seed[HEARTH_SEED_LEN], pk[HEARTH_PK_LEN], sk[32];
    int rc = cli_node_seed(c, seed);
    if (rc)
        return rc;
    nodekey_from_seed(pk, sk, seed);
    secret_wipe(seed, sizeof seed);
    secret_wipe(sk, sizeof sk);
    const char *hostport = strstr(listen, "://");
    hostport = hostport ? hostport + 3 : listen;
    const char *colon = strrchr(hostport, ':');
    unsigned port = colon ? (unsigned)atoi(colon + 1) : HEARTH_DEFAULT_PORT;
    char host[128];
    size_t hl = colon ? (size_t)(colon - hostport) : strlen(hostport);
    snprintf(host, sizeof host, "%.*s", (int)hl, hostport);
    if (advertise && *advertise)
        snprintf(host, sizeof host, "%s", advertise);
    else if (!strcmp(host, "*") || !strcmp(host, "0.0.0.0") || !host[0])
        if (first_ipv4(host, sizeof host) != 0)
            snprintf(host, sizeof host, "127.0.0.1");
    address_format(out, n, pk, host, port);
    return CLI_OK;
}
