/* fixture.h - a store in a fresh directory, with or without a forum, for the unit
 * tests that publish into a replica (test_care, test_devices, test_pages, test_store).
 *
 * Every helper fails the running cmocka test (fail_msg) when the store refuses: a
 * fixture that could not be set up is a failed test, never a skipped one.
 */
#ifndef HEARTH_TEST_FIXTURE_H
#define HEARTH_TEST_FIXTURE_H

#include <stdint.h>

#include "base/limits.h"
#include "store/event.h"
#include "store/store.h"

struct fx {
    char *dir, path[512]; /* the test's directory, and its hearth.db */
    struct store *s;
    uint8_t forum[HEARTH_ID_LEN], board[HEARTH_ID_LEN]; /* set by fx_forum */
};

/* S - s as an hstr (not copied): the tests' short name for a literal field. */
struct hstr S(const char *s);

/* fx_empty - a new store (STORE_CREATE) in a fresh directory for the test `name`, with
 * no forum. Caller frees with fx_free. */
struct fx *fx_empty(const char *name);

/* fx_forum - fx_empty, then founded by `founder`: a genesis named "Riverbend" (with
 * hold and flags set when they are not 0) into f->forum and a board "General" into
 * f->board. */
struct fx *fx_forum(const char *name, const struct hkey *founder, uint64_t hold, uint64_t flags);

/* fx_try_publish - store_publish d by k after 1.5 ms, so that every event's created
 * time differs (moderation toggles and time filters are ordered by it); its id into
 * id when not NULL. */
herr fx_try_publish(struct fx *f, const struct hkey *k, struct event_draft d, uint8_t *id);

/* fx_publish - fx_try_publish, failing the test when the store refuses. */
void fx_publish(struct fx *f, const struct hkey *k, struct event_draft d, uint8_t *id);

/* fx_free - close the store and free f; the directory is left for inspection. */
void fx_free(struct fx *f);

#endif
