/* check.c - the rest of the replica check, on a thread of its own while the node
 * serves: serve's check at start reads only what a fraction of a second allows (a
 * large replica would otherwise keep people waiting for seconds), and this one reads
 * the whole file, on its own read-only connection, at a lower priority than serving.
 * The node looks at its result with its timers (node_check_tend). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "node/clock.h"
#include "node/node_int.h"

enum { CHECK_RUNNING, CHECK_SOUND, CHECK_DAMAGED, CHECK_FAILED };

struct node_check {
    pthread_t t;
    struct store *st; /* the check's own connection */
    atomic_int state;
    uint64_t began, ended; /* mono_ms */
    char why[256];         /* what is damaged, or why the check could not run */
};

static void *check_main(void *arg)
{
    struct node_check *c = arg;
    /* Serving people and peers comes first: nice this thread (Linux keeps a nice
     * value per thread). Without it the check is only slower to end. */
    (void)!setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
    bool complete;
    herr e = store_check(c->st, 0, &complete);
    snprintf(c->why, sizeof c->why, "%s", e ? store_errmsg(c->st) : "");
    c->ended = mono_ms();
    atomic_store(&c->state, e == HERR_CORRUPT ? CHECK_DAMAGED
                            : e || !complete  ? CHECK_FAILED
                                              : CHECK_SOUND);
    return NULL;
}

herr node_check_replica(struct node *n, const char *db_path)
{
    struct node_check *c = calloc(1, sizeof *c);
    if (!c)
        return HERR_NOMEM;
    herr e = store_open(&c->st, db_path, STORE_READONLY | STORE_SMALL_CACHE);
    if (e) {
        hlog(n->log, HLOG_WARN, "replica check: cannot open %s: %s", db_path, store_open_error());
        free(c);
        return e;
    }
    c->began = mono_ms();
    atomic_init(&c->state, CHECK_RUNNING);
    if (pthread_create(&c->t, NULL, check_main, c) != 0) {
        store_destroy(&c->st);
        free(c);
        return HERR_NOMEM;
    }
    n->check = c;
    hlog(n->log, HLOG_INFO, "replica check: reading the rest of the replica while serving");
    return HERR_OK;
}

/* finish - join the thread and close its connection. */
static void finish(struct node *n)
{
    pthread_join(n->check->t, NULL);
    store_destroy(&n->check->st);
    free(n->check);
    n->check = NULL;
}

herr node_check_tend(struct node *n)
{
    struct node_check *c = n->check;
    if (!c)
        return HERR_OK;
    int state = atomic_load(&c->state);
    if (state == CHECK_RUNNING)
        return HERR_OK;
    double s = (double)(c->ended - c->began) / 1000;
    herr e = HERR_OK;
    if (state == CHECK_SOUND) {
        hlog(n->log, HLOG_INFO, "replica check: sound (all of it read in %.1f s)", s);
        node_note_replica(n, NODE_REPLICA_OK, wall_ms());
    } else if (state == CHECK_DAMAGED) {
        hlog(n->log, HLOG_ERROR,
             "the replica is damaged (%s): stopping; run 'hearth repair' to rebuild it from "
             "the events that still verify",
             c->why);
        node_note_replica(n, NODE_REPLICA_DAMAGED, wall_ms());
        e = HERR_CORRUPT;
    } else {
        hlog(n->log, HLOG_WARN, "replica check: could not read all of it: %s",
             c->why[0] ? c->why : "stopped");
    }
    finish(n);
    return e;
}

void node_check_stop(struct node *n)
{
    if (!n->check)
        return;
    /* An interrupt reaches only a statement under way: the thread may be between two. */
    while (atomic_load(&n->check->state) == CHECK_RUNNING) {
        store_interrupt(n->check->st);
        usleep(5000);
    }
    finish(n);
}
