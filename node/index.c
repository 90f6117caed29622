/* index.c - the recon index a node reconciles with, opened from the copy it saved in
 * the replica (store_blob_set under NODE_INDEX_KEY) and caught up with what arrived since,
 * so that starting reads only the newest events, not all of them (at a million events
 * a full build reads the whole events table: about 1.5 s).
 *
 * The saved copy is only a cache: events are never deleted or numbered anew in a
 * replica, so a copy saved at arrival A describes exactly the events numbered up to A
 * for as long as the file lives (a backup carries it with those events). Before it is
 * used it must hold together (recon_index_load: its checksum), the replica must still
 * hold its newest id at its last arrival number, and once caught up it must count as
 * many events as the replica does; otherwise it is set aside and the index built
 * from every event, as a node without a saved copy does. Repair, which numbers events
 * anew, does not copy it. */
#include <stdlib.h>
#include <string.h>

#include "node/node_int.h"

/* What the check reads first: the event numbered `at`, which must be `newest`. */
struct checked {
    struct store *st;
    uint64_t at;
    uint8_t newest[HEARTH_ID_LEN];
    bool seen, matches;
    recon_keys_fn fn;
    void *ctx;
};

static herr check_key(void *ctx, const uint8_t id[HEARTH_ID_LEN], uint64_t created,
                      uint64_t arrival)
{
    struct checked *c = ctx;
    if (!c->seen) {
        c->seen = true;
        c->matches = arrival == c->at && memcmp(id, c->newest, HEARTH_ID_LEN) == 0;
        return c->matches ? HERR_OK : HERR_CORRUPT;
    }
    return c->fn(c->ctx, id, created, arrival);
}

/* checked_keys - a recon_source_fn reading from the saved copy's own newest event on,
 * so that one pass checks it and catches up. */
static herr checked_keys(void *src, uint64_t arrival, recon_keys_fn fn, void *ctx)
{
    struct checked *c = src;
    c->fn = fn;
    c->ctx = ctx;
    herr e = store_keys_since(c->st, arrival - 1, check_key, c);
    if (!e && !c->seen)
        return HERR_CORRUPT;
    return e;
}

/* load_saved - the saved copy (of *held events), caught up; NULL (and *why) when
 * there is none or it does not fit this replica. */
static struct recon_index *load_saved(struct store *st, const char **why, uint64_t *held)
{
    uint8_t *b = NULL;
    size_t n;
    struct recon_index *x = NULL;
    struct checked c = {.st = st};
    *why = NULL;
    herr e = store_blob_get(st, NODE_INDEX_KEY, &b, &n);
    if (e) {
        *why = e == HERR_NOT_FOUND ? NULL : "it cannot be read";
        return NULL;
    }
    if ((e = recon_index_new(&x)) != HERR_OK) {
        *why = "out of memory";
        goto fail;
    }
    e = recon_index_load(x, b, n);
    free(b); /* before catching up: not both copies in memory longer than needed */
    b = NULL;
    if (e) {
        *why = e == HERR_VERSION ? "another version saved it" : "it is damaged";
        goto fail;
    }
    *held = recon_index_count(x);
    if (*held == 0) {
        *why = "it is empty";
        goto fail;
    }
    c.at = recon_index_last_arrival(x);
    if (recon_index_newest(x, c.newest) != HERR_OK || c.at == 0) {
        *why = "it is damaged";
        goto fail;
    }
    e = recon_index_catch_up(x, checked_keys, &c);
    if (e) {
        *why = c.seen && !c.matches ? "the replica no longer holds its newest event there"
               : !c.seen            ? "the replica no longer holds its newest event"
                                    : "the replica cannot be read";
        goto fail;
    }
    struct store_stats ss;
    if (store_stats(st, &ss) != HERR_OK || ss.events != recon_index_count(x)) {
        *why = "it counts other events than the replica holds";
        goto fail;
    }
    return x;
fail:
    free(b);
    recon_index_destroy(&x);
    return NULL;
}

herr node_index_open(struct store *st, const struct hlog *log, struct recon_index **out,
                     uint64_t *saved)
{
    const char *why;
    *out = load_saved(st, &why, saved);
    if (*out) {
        hlog(log, HLOG_INFO, "recon index: the saved copy of %llu events, caught up to %llu",
             (unsigned long long)*saved, (unsigned long long)recon_index_count(*out));
        return HERR_OK;
    }
    if (why)
        hlog(log, HLOG_WARN,
             "recon index: not using the copy saved in the replica (%s); building it from "
             "every event",
             why);
    *saved = 0;
    herr e = recon_index_new(out);
    if (!e)
        e = recon_index_catch_up(*out, node_source_keys, st);
    if (e)
        recon_index_destroy(out);
    return e;
}

void node_index_save(struct store *st, const struct hlog *log, struct recon_index *x,
                     uint64_t *saved)
{
    uint64_t count = recon_index_count(x);
    if (count < NODE_INDEX_SAVE_MIN || count == *saved)
        return;
    uint8_t *b = NULL;
    size_t n;
    herr e = recon_index_save(x, &b, &n);
    if (!e)
        e = store_blob_set(st, NODE_INDEX_KEY, b, n);
    free(b);
    if (e)
        hlog(log, HLOG_WARN, "recon index: cannot save it in the replica: %s",
             e == HERR_NOMEM ? "out of memory" : store_errmsg(st));
    *saved = count; /* after a failure, the next try is NODE_INDEX_SAVE_EVERY events on */
}

void node_index_refresh(struct store *st, const struct hlog *log, uint64_t added)
{
    struct recon_index *x = NULL;
    uint64_t saved;
    if (added < NODE_INDEX_SAVE_EVERY)
        return;
    if (node_index_open(st, log, &x, &saved) != HERR_OK) {
        hlog(log, HLOG_WARN, "recon index: cannot build it: %s", store_errmsg(st));
        return;
    }
    node_index_save(st, log, x, &saved);
    recon_index_destroy(&x);
}
