/* discovery.c - LAN discovery: the beacons we broadcast and those we hear (their
 * bytes are sync/beacon.h's). */
#include "node/discovery.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct recent {
    uint8_t key[HEARTH_PK_LEN];
    uint64_t at;
};

struct discovery {
    int fd;
    unsigned port;
    unsigned quiet_ms;
    struct beacon self;
    const struct hlog *log;
    struct recent recent[DISCOVERY_RECENT];
    uint64_t window_start;
    unsigned window_count;
};

herr discovery_new(struct discovery **out, const struct beacon *self, unsigned udp_port,
                   unsigned quiet_ms, const struct hlog *log, const char **why)
{
    *out = NULL;
    struct discovery *d = calloc(1, sizeof *d);
    if (!d)
        return HERR_NOMEM;
    d->self = *self;
    d->port = udp_port;
    d->quiet_ms = quiet_ms;
    d->log = log;
    d->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)udp_port)};
    sa.sin_addr.s_addr = htonl(INADDR_ANY);
    if (d->fd < 0 || setsockopt(d->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        setsockopt(d->fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one) != 0 ||
        bind(d->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        static __thread char msg[128];
        snprintf(msg, sizeof msg, "cannot listen for beacons on udp://0.0.0.0:%u: %s",
                 (unsigned)udp_port, errno == EADDRINUSE ? "address in use" : strerror(errno));
        *why = msg;
        discovery_destroy(&d);
        return HERR_NET;
    }
    *out = d;
    return HERR_OK;
}

void discovery_destroy(struct discovery **dp)
{
    struct discovery *d = *dp;
    if (!d)
        return;
    if (d->fd >= 0)
        close(d->fd);
    free(d);
    *dp = NULL;
}

int discovery_fd(const struct discovery *d)
{
    return d->fd;
}

herr discovery_announce(struct discovery *d, unsigned *sent)
{
    uint8_t msg[BEACON_MAX];
    size_t len;
    beacon_encode(&d->self, msg, &len);
    *sent = 0;
    struct ifaddrs *ifs;
    if (getifaddrs(&ifs) != 0)
        return HERR_NET;
    for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_UP) ||
            !(i->ifa_flags & IFF_BROADCAST) || !i->ifa_broadaddr)
            continue;
        struct sockaddr_in to = *(struct sockaddr_in *)i->ifa_broadaddr;
        to.sin_port = htons((uint16_t)d->port);
        if (sendto(d->fd, msg, len, 0, (struct sockaddr *)&to, sizeof to) == (ssize_t)len)
            (*sent)++;
    }
    freeifaddrs(ifs);
    return HERR_OK;
}

/* fresh - true when key was not reported within quiet_ms; remembers it. */
static bool fresh(struct discovery *d, const uint8_t key[HEARTH_PK_LEN], uint64_t now)
{
    struct recent *oldest = &d->recent[0];
    for (int i = 0; i < DISCOVERY_RECENT; i++) {
        struct recent *r = &d->recent[i];
        if (memcmp(r->key, key, HEARTH_PK_LEN) == 0 && r->at) {
            if (now - r->at < d->quiet_ms)
                return false;
            r->at = now;
            return true;
        }
        if (r->at < oldest->at)
            oldest = r;
    }
    memcpy(oldest->key, key, HEARTH_PK_LEN);
    oldest->at = now ? now : 1;
    return true;
}

herr discovery_read(struct discovery *d, uint64_t now_ms, struct discovery_peer *peer, bool *got)
{
    uint8_t buf[BEACON_MAX + 1];
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    *got = false;
    ssize_t n = recvfrom(d->fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? HERR_OK : HERR_NET;
    if (now_ms - d->window_start >= 1000) {
        d->window_start = now_ms;
        d->window_count = 0;
    }
    if (++d->window_count > DISCOVERY_MAX_PER_SEC || n > BEACON_MAX)
        return HERR_OK;
    struct beacon b;
    const char *why;
    if (beacon_decode(&b, buf, (size_t)n, &why) != HERR_OK) {
        hlog(d->log, HLOG_DEBUG, "discovery: ignored a datagram: %s", why);
        return HERR_OK;
    }
    if (memcmp(b.forum, d->self.forum, HEARTH_ID_LEN) != 0 ||
        memcmp(b.key, d->self.key, HEARTH_PK_LEN) == 0 || !fresh(d, b.key, now_ms))
        return HERR_OK;
    memcpy(peer->key, b.key, HEARTH_PK_LEN);
    peer->port = b.port;
    inet_ntop(AF_INET, &from.sin_addr, peer->host, sizeof peer->host);
    *got = true;
    return HERR_OK;
}
