#include "cli/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/utf8.h"

void json_init(struct json *j)
{
    memset(j, 0, sizeof *j);
    j->first[0] = true;
}

void json_release(struct json *j)
{
    free(j->buf);
    json_init(j);
}

static void put(struct json *j, const char *p, size_t n)
{
    if (j->failed)
        return;
    if (j->cap - j->len < n + 1) {
        size_t cap = j->cap ? j->cap : 4096;
        while (cap - j->len < n + 1)
            cap *= 2;
        char *nb = realloc(j->buf, cap);
        if (!nb) {
            j->failed = true;
            return;
        }
        j->buf = nb;
        j->cap = cap;
    }
    memcpy(j->buf + j->len, p, n);
    j->len += n;
    j->buf[j->len] = '\0';
}

static void puts_(struct json *j, const char *s)
{
    put(j, s, strlen(s));
}

static void newline(struct json *j)
{
    put(j, "\n", 1);
    for (int i = 0; i < j->depth; i++)
        put(j, "  ", 2);
}

static void write_string(struct json *j, const char *s, size_t n)
{
    put(j, "\"", 1);
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c >= 0x80) {
            size_t len = utf8_char_len(s + i, n - i);
            if (len == 0) {
                puts_(j, "\\ufffd");
                i++;
            } else {
                put(j, s + i, len);
                i += len;
            }
            continue;
        }
        switch (c) {
        case '"':
            puts_(j, "\\\"");
            break;
        case '\\':
            puts_(j, "\\\\");
            break;
        case '\n':
            puts_(j, "\\n");
            break;
        case '\r':
            puts_(j, "\\r");
            break;
        case '\t':
            puts_(j, "\\t");
            break;
        case '\b':
            puts_(j, "\\b");
            break;
        case '\f':
            puts_(j, "\\f");
            break;
        default:
            if (c < 0x20 || c == 0x7f) {
                snprintf(esc, sizeof esc, "\\u%04x", c);
                puts_(j, esc);
            } else {
                put(j, s + i, 1);
            }
        }
        i++;
    }
    put(j, "\"", 1);
}

/* begin - the separator, indentation and key before a value. */
static void begin(struct json *j, const char *key)
{
    if (!j->first[j->depth])
        put(j, ",", 1);
    if (j->depth > 0)
        newline(j);
    j->first[j->depth] = false;
    if (key) {
        write_string(j, key, strlen(key));
        put(j, ": ", 2);
    }
}

static void open_(struct json *j, const char *key, const char *bracket)
{
    begin(j, key);
    puts_(j, bracket);
    if (j->depth + 1 >= JSON_MAX_DEPTH) {
        j->failed = true;
        return;
    }
    j->depth++;
    j->first[j->depth] = true;
}

static void close_(struct json *j, const char *bracket)
{
    if (j->depth == 0) {
        j->failed = true;
        return;
    }
    bool empty = j->first[j->depth];
    j->depth--;
    if (!empty)
        newline(j);
    puts_(j, bracket);
}

void json_object_open(struct json *j, const char *key)
{
    open_(j, key, "{");
}

void json_object_close(struct json *j)
{
    close_(j, "}");
}

void json_array_open(struct json *j, const char *key)
{
    open_(j, key, "[");
}

void json_array_close(struct json *j)
{
    close_(j, "]");
}

void json_strn(struct json *j, const char *key, const char *s, size_t n)
{
    begin(j, key);
    if (!s)
        puts_(j, "null");
    else
        write_string(j, s, n);
}

void json_str(struct json *j, const char *key, const char *s)
{
    json_strn(j, key, s, s ? strlen(s) : 0);
}

void json_u64(struct json *j, const char *key, uint64_t v)
{
    char num[24];
    begin(j, key);
    snprintf(num, sizeof num, "%llu", (unsigned long long)v);
    puts_(j, num);
}

void json_bool(struct json *j, const char *key, bool v)
{
    begin(j, key);
    puts_(j, v ? "true" : "false");
}

void json_null(struct json *j, const char *key)
{
    begin(j, key);
    puts_(j, "null");
}

void json_hex(struct json *j, const char *key, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    begin(j, key);
    put(j, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        char two[2] = {digits[p[i] >> 4], digits[p[i] & 15]};
        put(j, two, 2);
    }
    put(j, "\"", 1);
}

bool json_finish(struct json *j)
{
    if (j->depth != 0)
        j->failed = true;
    put(j, "\n", 1);
    return !j->failed;
}
