/* qr.h - QR codes of join links and pairing codes (libqrencode), for a terminal, a
 * poster and a web page.
 *
 * One symbol per text: byte mode, error correction level M (a poster survives a
 * smudge or a fold), the smallest version that holds it, with the standard quiet zone
 * of four modules around it.
 */
#ifndef HEARTH_NODE_QR_H
#define HEARTH_NODE_QR_H

#include <stdbool.h>
#include <stdio.h>

#include "base/hbuf.h"
#include "base/herr.h"

#define QR_QUIET 4 /* modules of light margin on each side */

struct qr {
    int width;           /* modules on a side, without the quiet zone */
    unsigned char *dark; /* width * width: 1 dark, 0 light, row by row */
};

/* qr_make - the QR symbol of text into *q. false when out of memory or the text is
 * too long for any symbol. Free with qr_release. */
bool qr_make(struct qr *q, const char *text);
void qr_release(struct qr *q);

/* qr_print - q on f in a terminal's characters, two rows of modules a line: "▀" is a
 * dark upper module, "▄" a dark lower one, "█" both, a space neither. With colour,
 * each line is drawn black on white (ANSI) so it scans on a dark terminal too. */
void qr_print(const struct qr *q, FILE *f, bool colour);

/* qr_svg_path - q as the "d" of one SVG path (only the characters "Mhvz -" and
 * digits), one unit a module, with (0,0) the symbol's top left corner (the quiet zone
 * is the caller's), appended to b. hbuf_append's errors. */
HEARTH_MUST_CHECK herr qr_svg_path(const struct qr *q, struct hbuf *b);

#endif
