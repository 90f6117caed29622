#include "base/hbuf.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

void hbuf_init(struct hbuf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void hbuf_release(struct hbuf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void hbuf_reset(struct hbuf *b)
{
    b->len = 0;
}

herr hbuf_reserve(struct hbuf *b, size_t n)
{
    if (n > b->max || b->len > b->max - n)
        return HERR_TOO_LARGE;
    assert(b->len <= b->cap && b->len <= b->max); /* the buffer's invariant */
    size_t need = b->len + n;
    if (need <= b->cap)
        return HERR_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > b->max)
        cap = b->max;
    uint8_t *p = realloc(b->data, cap);
    if (!p)
        return HERR_NOMEM;
    b->data = p;
    b->cap = cap;
    return HERR_OK;
}

herr hbuf_append(struct hbuf *b, const void *p, size_t n)
{
    herr e = hbuf_reserve(b, n);
    if (e)
        return e;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return HERR_OK;
}
