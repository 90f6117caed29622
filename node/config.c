#include "node/config.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "node/peers.h"
#include "node/transport.h"

void config_defaults(struct config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->listen, sizeof c->listen, "tcp://0.0.0.0:%d", HEARTH_DEFAULT_PORT);
    c->access = ACCESS_OPEN;
    c->log_level = HLOG_INFO;
    c->discovery = true;
    c->discovery_port = HEARTH_DEFAULT_PORT + 1;
    c->discovery_interval = 5;
    c->sync_interval = 30;
    c->fanout = 2;
    c->link_timeout = 45;
    c->web = true;
    snprintf(c->web_listen, sizeof c->web_listen, "0.0.0.0:%d", HEARTH_DEFAULT_WEB_PORT);
}

struct parse {
    struct config c;
    char *why;
    size_t why_n;
    const char *file;
    int line;
};

static bool parse_uint(const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!*v || *v == '-')
        return false;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || *end || x < min || x > max)
        return false;
    *out = x;
    return true;
}

static bool parse_bool(const char *v, bool *out)
{
    if (!strcasecmp(v, "true") || !strcasecmp(v, "on") || !strcasecmp(v, "yes") || !strcmp(v, "1"))
        return *out = true, true;
    if (!strcasecmp(v, "false") || !strcasecmp(v, "off") || !strcasecmp(v, "no") || !strcmp(v, "0"))
        return *out = false, true;
    return false;
}

static bool copy_str(char *dst, const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n >= CONFIG_MAX_STR)
        return false;
    memcpy(dst, v, n + 1);
    return true;
}

/* set - one key; returns NULL when fine, else the problem. */
static const char *set(struct config *c, const char *sec, const char *key, const char *v)
{
    uint64_t u;
#define IS(s, k) (!strcmp(sec, s) && !strcmp(key, k))
    if (IS("node", "listen"))
        return copy_str(c->listen, v) ? NULL : "bad listen endpoint";
    if (IS("node", "advertise"))
        return copy_str(c->advertise, v) ? NULL : "bad advertise host";
    if (IS("node", "access")) {
        if (!strcmp(v, "open"))
            c->access = ACCESS_OPEN;
        else if (!strcmp(v, "allowlist"))
            c->access = ACCESS_ALLOWLIST;
        else
            return "access must be open or allowlist";
        return NULL;
    }
    if (IS("node", "log_level")) {
        int l = hlog_parse_level(v);
        if (l < 0)
            return "log_level must be debug, info, warn or error";
        c->log_level = (enum hlog_level)l;
        return NULL;
    }
    if (IS("discovery", "enabled"))
        return parse_bool(v, &c->discovery) ? NULL : "enabled must be true or false";
    if (IS("discovery", "port")) {
        if (!parse_uint(v, 1, 65535, &u))
            return "port must be 1..65535";
        c->discovery_port = (unsigned)u;
        return NULL;
    }
    if (IS("discovery", "interval")) {
        if (!parse_uint(v, 1, 3600, &u))
            return "interval must be 1..3600 seconds";
        c->discovery_interval = (unsigned)u;
        return NULL;
    }
    if (IS("sync", "interval")) {
        if (!parse_uint(v, 1, 86400, &u))
            return "interval must be 1..86400 seconds";
        c->sync_interval = (unsigned)u;
        return NULL;
    }
    if (IS("sync", "fanout")) {
        if (!parse_uint(v, 1, 16, &u))
            return "fanout must be 1..16";
        c->fanout = (unsigned)u;
        return NULL;
    }
    if (IS("limits", "rate") || IS("limits", "peer_rate")) {
        if (!parse_uint(v, 0, 1ULL << 40, &u))
            return "rate must be a number of bytes per second";
        *(!strcmp(key, "rate") ? &c->rate : &c->peer_rate) = u;
        return NULL;
    }
    if (IS("limits", "link_timeout")) {
        if (!parse_uint(v, 10, 3600, &u))
            return "link_timeout must be 10..3600 seconds";
        c->link_timeout = (unsigned)u;
        return NULL;
    }
    if (IS("web", "enabled"))
        return parse_bool(v, &c->web) ? NULL : "enabled must be true or false";
    if (IS("web", "listen"))
        return copy_str(c->web_listen, v) && strchr(v, ':') ? NULL : "listen must be HOST:PORT";
    if (IS("web", "tls_cert"))
        return copy_str(c->web_tls_cert, v) ? NULL : "bad tls_cert path";
    if (IS("web", "tls_key"))
        return copy_str(c->web_tls_key, v) ? NULL : "bad tls_key path";
    if (IS("metrics", "listen"))
        return copy_str(c->metrics_listen, v) && strchr(v, ':') ? NULL : "listen must be HOST:PORT";
    if (IS("metrics", "public"))
        return parse_bool(v, &c->metrics_public) ? NULL : "public must be true or false";
    if (IS("web", "open_join"))
        return parse_bool(v, &c->web_open_join) ? NULL : "open_join must be true or false";
    if (IS("peers", "peer")) {
        uint8_t key_[HEARTH_PK_LEN];
        char ep[PEER_MAX_ENDPOINT]; /* what a peer record holds: longer is refused */
        const char *why;
        if (c->n_peers == CONFIG_MAX_PEERS)
            return "too many peers";
        if (address_parse(v, key_, ep, sizeof ep, &why) != HERR_OK)
            return why;
        if (!copy_str(c->peers[c->n_peers], v))
            return "peer address too long";
        c->n_peers++;
        return NULL;
    }
#undef IS
    return "unknown setting";
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    struct parse *p = user;
    const char *problem = set(&p->c, section, name, value);
    if (!problem)
        return 1;
    if (p->why[0] == 0)
        snprintf(p->why, p->why_n, "[%s] %s: %s", section, name, problem);
    return 0;
}

/* finish - inih returns 0, the first bad line, or -1 when it could not read. */
static herr finish(struct config *c, struct parse *p, int rc)
{
    if (rc == 0) {
        *c = p->c;
        return HERR_OK;
    }
    char msg[300];
    snprintf(msg, sizeof msg, "%s", p->why[0] ? p->why : "not a setting (expected key = value)");
    if (rc > 0)
        snprintf(p->why, p->why_n, "%s:%d: %s", p->file, rc, msg);
    else
        snprintf(p->why, p->why_n, "%s: cannot read", p->file);
    return HERR_USAGE;
}

herr config_load(struct config *c, const char *path, char *why, size_t why_n)
{
    struct parse p = {.c = *c, .why = why, .why_n = why_n, .file = path};
    why[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? HERR_OK : (snprintf(why, why_n, "%s: cannot read", path), HERR_IO);
    int rc = ini_parse_file(f, handler, &p);
    fclose(f);
    return finish(c, &p, rc);
}

herr config_parse(struct config *c, const char *text, char *why, size_t why_n)
{
    struct parse p = {.c = *c, .why = why, .why_n = why_n, .file = "hearth.conf"};
    why[0] = 0;
    int rc = ini_parse_string(text, handler, &p);
    return finish(c, &p, rc);
}
