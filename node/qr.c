/* qr.c - QR symbols from libqrencode, drawn in text and SVG (see qr.h). */
#include "node/qr.h"

#include <qrencode.h>
#include <stdlib.h>
#include <string.h>

bool qr_make(struct qr *q, const char *text)
{
    memset(q, 0, sizeof *q);
    QRcode *code = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
    if (!code)
        return false;
    size_t n = (size_t)code->width * (size_t)code->width;
    q->dark = malloc(n);
    if (q->dark) {
        q->width = code->width;
        for (size_t i = 0; i < n; i++)
            q->dark[i] = code->data[i] & 1; /* bit 0: dark; the others say what it is */
    }
    QRcode_free(code);
    return q->dark != NULL;
}

void qr_release(struct qr *q)
{
    free(q->dark);
    q->dark = NULL;
    q->width = 0;
}

/* dark_at - module (x, y) of the symbol with its quiet zone around it. */
static bool dark_at(const struct qr *q, int x, int y)
{
    x -= QR_QUIET, y -= QR_QUIET;
    return x >= 0 && y >= 0 && x < q->width && y < q->width && q->dark[y * q->width + x];
}

void qr_print(const struct qr *q, FILE *f, bool colour)
{
    int side = q->width + 2 * QR_QUIET;
    for (int y = 0; y < side; y += 2) {
        if (colour)
            fputs("\033[30;47m", f);
        for (int x = 0; x < side; x++) {
            bool up = dark_at(q, x, y), down = y + 1 < side && dark_at(q, x, y + 1);
            fputs(up && down ? "\xe2\x96\x88"
                  : up       ? "\xe2\x96\x80"
                  : down     ? "\xe2\x96\x84"
                             : " ",
                  f);
        }
        fputs(colour ? "\033[0m\n" : "\n", f);
    }
}

herr qr_svg_path(const struct qr *q, struct hbuf *b)
{
    /* Runs of dark modules in a row become one rectangle each. */
    herr e = HERR_OK;
    for (int y = 0; y < q->width && !e; y++) {
        for (int x = 0; x < q->width && !e;) {
            if (!q->dark[y * q->width + x]) {
                x++;
                continue;
            }
            int run = 0;
            while (x + run < q->width && q->dark[y * q->width + x + run])
                run++;
            char step[64];
            int len = snprintf(step, sizeof step, "M%d %dh%dv1h-%dz", x, y, run, run);
            e = hbuf_append(b, step, (size_t)len);
            x += run;
        }
    }
    return e;
}
