#include "base/code32.h"

#include <ctype.h>
#include <string.h>

static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

size_t code32_len(size_t n)
{
    return (n * 8 + 4) / 5;
}

char *code32_encode_grouped(char *out, const uint8_t *p, size_t n, int group)
{
    size_t k = 0, chars = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n) {
            acc = (acc << 8) | p[i];
            bits += 8;
        } else if (bits > 0) {
            acc <<= 5 - bits;
            bits = 5;
        }
        while (bits >= 5) {
            if (group && chars && chars % (size_t)group == 0)
                out[k++] = '-';
            out[k++] = alphabet[(acc >> (bits - 5)) & 31];
            chars++;
            bits -= 5;
        }
    }
    out[k] = '\0';
    return out;
}

bool code32_decode(uint8_t *out, size_t n, const char *s)
{
    size_t k = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (; *s; s++) {
        if (*s == '-' || *s == ' ')
            continue;
        const char *at = strchr(alphabet, tolower((unsigned char)*s));
        if (!at || !*s)
            return false;
        acc = (acc << 5) | (uint32_t)(at - alphabet);
        bits += 5;
        if (bits >= 8) {
            if (k == n)
                return false;
            out[k++] = (uint8_t)(acc >> (bits - 8));
            bits -= 8;
        }
        acc &= (1u << bits) - 1;
    }
    return k == n && acc == 0; /* the padding bits are zero */
}
