#!/usr/bin/env python3
"""qr_decode.py - read back the QR codes hearth draws, with an independent decoder.

  qr_decode.py text FILE        the QR drawn in a terminal (`hearth invite` output)
  qr_decode.py svg FILE ID      the QR <g id=ID> of a poster (`hearth invite --poster`)

Turns the drawing back into a matrix of modules, writes it as a PGM image and lets
zbarimg (Debian's zbar-tools, not libqrencode) decode it; prints what it holds, or
exits 1. Prints "modules N" on stderr: the symbol's side, for a size check.
"""
import os
import re
import subprocess
import sys
import tempfile

UPPER, LOWER, FULL = "\u2580", "\u2584", "\u2588"


def from_text(path):
    rows = []
    for line in open(path, encoding="utf-8"):
        line = re.sub(r"\x1b\[[0-9;]*m", "", line.rstrip("\n"))
        if not line.strip(" ") or set(line) - {" ", UPPER, LOWER, FULL}:
            if rows and not set(line) - {" ", UPPER, LOWER, FULL}:
                continue  # the blank lines of the quiet zone
            if rows:
                break
            continue
        top = [ch in (UPPER, FULL) for ch in line]
        bottom = [ch in (LOWER, FULL) for ch in line]
        rows += [top, bottom]
    if not rows:
        sys.exit("no QR code in the text")
    width = max(len(r) for r in rows)
    return [r + [False] * (width - len(r)) for r in rows]


def from_svg(path, ident):
    svg = open(path, encoding="utf-8").read()
    g = re.search(r'<g id="%s" data-modules="(\d+)"[^>]*>.*?<path[^>]* d="([^"]*)"' % re.escape(ident),
                  svg, re.S)
    if not g:
        sys.exit("no QR code %s in %s" % (ident, path))
    n = int(g.group(1))
    m = [[False] * n for _ in range(n)]
    for x, y, run in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\d+z", g.group(2)):
        for i in range(int(run)):
            m[int(y)][int(x) + i] = True
    return m


def decode(matrix, quiet):
    scale = 6
    side = len(matrix) + 2 * quiet
    width = max(len(r) for r in matrix) + 2 * quiet
    with tempfile.NamedTemporaryFile(suffix=".pgm", delete=False) as f:
        f.write(b"P5 %d %d 255\n" % (width * scale, side * scale))
        for y in range(side):
            row = bytearray()
            for x in range(width):
                my, mx = y - quiet, x - quiet
                dark = 0 <= my < len(matrix) and 0 <= mx < len(matrix[my]) and matrix[my][mx]
                row += bytes([0 if dark else 255]) * scale
            f.write(bytes(row) * scale)
        name = f.name
    try:
        r = subprocess.run(["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", name],
                           capture_output=True, text=True)
    finally:
        os.unlink(name)
    if r.returncode != 0 or not r.stdout:
        sys.exit("zbarimg could not decode it: %s" % r.stderr.strip())
    return r.stdout.rstrip("\n")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "text":
        m = from_text(sys.argv[2])
        print("modules %d" % len(m[0]), file=sys.stderr)
        print(decode(m, 2))
    elif len(sys.argv) >= 4 and sys.argv[1] == "svg":
        m = from_svg(sys.argv[2], sys.argv[3])
        print("modules %d" % len(m), file=sys.stderr)
        print(decode(m, 4))
    else:
        sys.exit(__doc__)
