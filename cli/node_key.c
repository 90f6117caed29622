#include "cli/node_key.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* first_ipv4 - this machine's first up, non-loopback IPv4 address. */
static int first_ipv4(char *out, size_t n)
{
    struct ifaddrs *ifs;
    int found = -1;
    if (getifaddrs(&ifs) != 0)
        return -1;
    for (struct ifaddrs *i = ifs; i && found; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_UP) ||
            (i->ifa_flags & IFF_LOOPBACK))
            continue;
        struct sockaddr_in *sa = (struct sockaddr_in *)i->ifa_addr;
        if (inet_ntop(AF_INET, &sa->sin_addr, out, (socklen_t)n))
            found = 0;
    }
    freeifaddrs(ifs);
    return found;
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
