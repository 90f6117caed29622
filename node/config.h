/* config.h - the node's settings: defaults, then hearth.conf (INI), then flags.
 *
 * hearth.conf lives in the data directory; every key is optional:
 *
 *   [node]
 *   listen = tcp://0.0.0.0:7437     ; where peers connect
 *   advertise = 192.0.2.10          ; host printed in our address (default: guessed)
 *   access = open                   ; open | allowlist (only keys added with hearth peers allow)
 *   log_level = info                ; debug | info | warn | error
 *   [discovery]
 *   enabled = true                  ; LAN beacon on UDP
 *   port = 7438
 *   interval = 5                    ; seconds between beacons
 *   [sync]
 *   interval = 30                   ; anti-entropy period, seconds (jittered +-25%)
 *   fanout = 2                      ; peers reconciled with each period
 *   [limits]
 *   rate = 0                        ; bytes/s sent to all peers together, 0: no cap
 *   peer_rate = 0                   ; bytes/s sent to one peer, 0: no cap
 *   link_timeout = 45               ; seconds without a whole message before a link is
 *                                   ; given up; must exceed the time one 128 KiB sync
 *                                   ; frame takes on the slowest link (17 s at 64 kbit/s)
 *   [peers]
 *   peer = hearth://KEY@HOST:PORT   ; static peers, one per line
 *   [web]                           ; read by `hearth serve` for web/, not by the node
 *   enabled = true                  ; serve the forum as web pages
 *   listen = 0.0.0.0:8080           ; HOST:PORT ([::]:8080 for IPv6)
 *   tls_cert = /etc/hearth/cert.pem ; both set: HTTPS (PEM files)
 *   tls_key = /etc/hearth/key.pem
 *   open_join = false               ; true: visitors join without an invite
 *   [metrics]                       ; `hearth serve`'s /metrics (web/metrics.h)
 *   listen = 127.0.0.1:9437         ; a port of its own (default: only on the web port)
 *   public = false                  ; true: the web port's /metrics to the whole LAN,
 *                                   ; not only to this machine
 *
 * The parser is inih: lines are bounded, unknown sections or keys are errors (a typo
 * should not silently leave a node open), and a bad value names its line.
 */
#ifndef HEARTH_CONFIG_H
#define HEARTH_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/herr.h"
#include "node/log.h"

#define CONFIG_MAX_PEERS 32
#define CONFIG_MAX_STR 256

enum access_mode { ACCESS_OPEN, ACCESS_ALLOWLIST };

struct config {
    char listen[CONFIG_MAX_STR];
    char advertise[CONFIG_MAX_STR];
    enum access_mode access;
    enum hlog_level log_level;
    bool discovery;
    unsigned discovery_port;
    unsigned discovery_interval; /* seconds */
    unsigned sync_interval;      /* seconds */
    unsigned fanout;
    uint64_t rate, peer_rate; /* bytes per second; 0: no cap */
    unsigned link_timeout;    /* seconds */
    bool web, web_open_join;
    char web_listen[CONFIG_MAX_STR];
    char web_tls_cert[CONFIG_MAX_STR], web_tls_key[CONFIG_MAX_STR];
    char metrics_listen[CONFIG_MAX_STR]; /* "": /metrics on the web port only */
    bool metrics_public;                 /* /metrics on the web port to the whole LAN */
    size_t n_peers;
    char peers[CONFIG_MAX_PEERS][CONFIG_MAX_STR];
    /* For tests and benchmarks only, never read from hearth.conf: each anti-entropy
     * contact and each push fails at random with this probability, in thousandths
     * (`hearth serve` takes it from $HEARTH_TEST_DROP, e.g. 0.3). 0: never. */
    unsigned test_drop_permille;
    /* For benchmarks only: no eager push ($HEARTH_TEST_NO_PUSH=1), so that what
     * anti-entropy alone does can be measured. */
    bool test_no_push;
    /* For tests only: the node waits this long (ms) before it applies each batch of
     * events a session brings ($HEARTH_TEST_SLOW_INGEST), as a slow machine behind a
     * fast link would: the peer's frames then wait in our queues. 0: no wait. */
    unsigned test_slow_ingest_ms;
};

/* config_defaults - the settings of a node with no file and no flags. */
void config_defaults(struct config *c);

/* config_load - read the INI file at path over c. A missing file is fine (HERR_OK).
 * HERR_USAGE with a message in why[0..why_n) ("hearth.conf:3: unknown key 'lisen'")
 * on a bad file; c is then unchanged. */
HEARTH_MUST_CHECK herr config_load(struct config *c, const char *path, char *why, size_t why_n);

/* config_parse - the same over a string (used by the fuzz harness and tests). */
HEARTH_MUST_CHECK herr config_parse(struct config *c, const char *text, char *why, size_t why_n);

#endif
