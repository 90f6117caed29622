/* json.c - the command's JSON writer (cli/json.h). */
#include "cli/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"

void json_init(struct json *j)
{
    memset(j, 0, sizeof *j);
    hbuf_init(&j->b, SIZE_MAX);
    j->first[0] = true;
}

void json_release(struct json *j)
{
    hbuf_release(&j->b);
    json_init(j);
}

static void put(struct json *j, const char *p, size_t n)
{
    if (!j->failed && hbuf_append(&j->b, p, n))
        j->failed = true;
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
    if (!j->failed && json_string(&j->b, s, n))
        j->failed = true;
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
