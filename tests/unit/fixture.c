/* fixture.c - a store in a fresh directory for the unit tests (fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/unit/fixture.h"
#include "tests/unit/testutil.h"

struct hstr S(const char *s) {
    return (struct hstr){s, (uint32_t)strlen(s)};
}

struct fx *
fx_empty(const char *name)
{
    struct fx *f = calloc(1, sizeof *f);
    if (!f)
        fail_msg("out of memory");
    f->dir = testutil_tmpdir(name);
    snprintf(f->path, sizeof f->path, "%s/hearth.db", f->dir);
    if (store_open(&f->s, f->path, STORE_CREATE))
        fail_msg("store_open: %s", store_open_error());
    return f;
}

struct fx *fx_forum(const char *name, const struct hkey *founder, uint64_t hold, uint64_t flags)
{
    struct fx *f = fx_empty(name);
    struct event_draft g = {.kind = EK_GENESIS};
    g.b.name = S("Riverbend");
    g.b.hold = hold, g.b.has_hold = hold > 0;
    g.b.flags = flags, g.b.has_flags = flags > 0;
    fx_publish(f, founder, g, f->forum);
    struct event_draft b = {.kind = EK_BOARD};
    b.b.name = S("General");
    fx_publish(f, founder, b, f->board);
    return f;
}

herr fx_try_publish(struct fx *f, const struct hkey *k, struct event_draft d, uint8_t *id)
{
    uint8_t dummy[HEARTH_ID_LEN];
    usleep(1500);
    return store_publish(f->s, k, &d, id ? id : dummy);
}

void fx_publish(struct fx *f, const struct hkey *k, struct event_draft d, uint8_t *id)
{
    herr e = fx_try_publish(f, k, d, id);
    if (e)
        fail_msg("publish: %s: %s", herr_str(e), store_errmsg(f->s));
}

void fx_free(struct fx *f)
{
    store_destroy(&f->s);
    free(f->dir);
    free(f);
}
