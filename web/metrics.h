/* metrics.h - the node's numbers as a Prometheus text page, /metrics.
 *
 * The page is the node's snapshot (node/status.h: taken every NODE_STATUS_MS on the
 * node's thread), in the Prometheus text exposition format 0.0.4: what the replica
 * holds, what peers offered and why events were refused, pushes (sent, taken, and
 * those that could not be sent), sessions by direction and outcome, bytes and last
 * contact per peer, and what the replica check found. Every metric, its type and
 * meaning is in docs/OPERATIONS.md ("Metrics"); `promtool check metrics` passes it.
 *
 * It is served on the web port (web/web.h, to this machine only unless [metrics]
 * public is set: peers' keys and traffic are the operator's business), or on a port
 * of its own ([metrics] listen) where there is no web, by the small server below.
 */
#ifndef HEARTH_WEB_METRICS_H
#define HEARTH_WEB_METRICS_H

#include "base/hbuf.h"
#include "base/herr.h"
#include "node/status.h"

/* Fills *out with the numbers to show (the node's latest snapshot). */
typedef void (*metrics_fn)(void *ctx, struct node_stats *out);

/* metrics_text - s as the metrics page (appended to out). HERR_NOMEM. */
HEARTH_MUST_CHECK herr metrics_text(const struct node_stats *s, struct hbuf *out);

/* metrics_answer - the metrics page as an answer to a libmicrohttpd connection
 * (struct MHD_Connection *; 500 when it cannot be made). For web.c and the server
 * below. */
int metrics_answer(void *mhd_connection, metrics_fn fn, void *ctx);

struct metrics_server;

/* metrics_server_new - serve GET /metrics (and nothing else) at listen
 * ("127.0.0.1:9437"), to whoever reaches it, on one thread of its own. HERR_USAGE (not
 * HOST:PORT), HERR_NET (cannot bind) with *why (a static buffer of this thread). */
HEARTH_MUST_CHECK herr metrics_server_new(struct metrics_server **out, const char *listen,
                                          metrics_fn fn, void *ctx, const char **why);

/* metrics_server_port - the port it listens on (resolved when listen asked for 0). */
uint16_t metrics_server_port(const struct metrics_server *m);

/* metrics_server_destroy - stop serving; NULL-safe; sets *m to NULL. */
void metrics_server_destroy(struct metrics_server **m);

#endif
