/* joinlink.h - the join link: everything a new node needs to join a forum, in one
 * line that fits a QR code.
 *
 *   hearth://NODEKEY@HOST:PORT[,HOST:PORT]...[/FORUM_ID][?invite=CODE]
 *
 * It is a node address (what `hearth id` prints and `hearth sync` takes) with more
 * places the same node listens on, the forum's id after a '/', and, where the hub's
 * web pages need one, a single-use invite code. NODEKEY and FORUM_ID are 64 lower-case
 * hex digits; HOST is a dotted IPv4 address, a bracketed IPv6 address or a DNS name;
 * CODE is STORE_INVITE_CODE_LEN symbols of STORE_INVITE_ALPHABET. docs/PROTOCOL.md
 * ("Join links") is the specification, with a test vector.
 *
 * The parser is strict (one canonical spelling, nothing left over) because a link is
 * read off a poster or a chat message by people and cameras: a link that is wrong in
 * any way is refused with a one-line reason rather than half-understood.
 */
#ifndef HEARTH_NODE_JOINLINK_H
#define HEARTH_NODE_JOINLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/herr.h"
#include "base/limits.h"
#include "store/members.h"

#define JOINLINK_MAX 640          /* bytes of a whole link */
#define JOINLINK_MAX_ADDRS 4      /* HOST:PORT places in one link */
#define JOINLINK_MAX_HOSTPORT 128 /* bytes of one HOST:PORT, NUL included */

struct joinlink {
    uint8_t node[HEARTH_PK_LEN];                           /* the node's CURVE public key */
    size_t naddrs;                                         /* 1..JOINLINK_MAX_ADDRS */
    char addrs[JOINLINK_MAX_ADDRS][JOINLINK_MAX_HOSTPORT]; /* "192.168.1.5:7437" */
    bool has_forum;                                        /* false: a bare node address */
    uint8_t forum[HEARTH_ID_LEN];
    char invite[STORE_INVITE_CODE_LEN + 1]; /* "" when none */
};

/* joinlink_format - the canonical text of l into out[0..n). HERR_USAGE when l does not
 * hold 1..JOINLINK_MAX_ADDRS well-formed places or a bad code; HERR_TOO_LARGE when out
 * is too small. */
HEARTH_MUST_CHECK herr joinlink_format(const struct joinlink *l, char *out, size_t n);

/* joinlink_parse - read text into *l. HERR_USAGE when it is not a link, with *why
 * (a static string, one line) saying what is wrong; *l is then undefined. A bare node
 * address parses, with has_forum false. */
HEARTH_MUST_CHECK herr joinlink_parse(const char *text, struct joinlink *l, const char **why);

/* joinlink_address - the node address ("hearth://KEY@HOST:PORT") of place i of l,
 * which `hearth sync` and node_sync_once take, into out[0..n). */
void joinlink_address(const struct joinlink *l, size_t i, char *out, size_t n);

#endif
