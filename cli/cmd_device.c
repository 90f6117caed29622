/* cmd_device.c - `hearth device`: one person on many devices (docs/EVENTS.md, 6.3).
 *
 *   device add            on the person's node: a one-time pairing code
 *   device join CODE      on the new device's node: publish a pairing request
 *   device accept         on the person's node: certify the devices that asked with
 *                         a code it made (the add events)
 *   device list           the person's devices
 *   device revoke KEY     stop what the device signs from now on from counting
 *
 * The codes, their secrets and the matching of requests are the store's (store.h,
 * "pairing a device"), shared with the web pages; this file only formats. Requests
 * and adds are events, so they travel by whatever carries the forum: a hub both
 * laptops sync with, a bundle on a stick, a LAN with no internet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

static int do_add(struct cli *c)
{
    char code[STORE_PAIR_CODE_MAX];
    herr e = store_pair_code_new(c->store, c->key.pk, (int64_t)time(NULL), code);
    if (e)
        return cli_store_error(c, e, NULL);
    if (c->json) {
        json_object_open(&c->out, NULL);
        json_str(&c->out, "code", code);
        json_hex(&c->out, "person", c->key.pk, HEARTH_PK_LEN);
        json_object_close(&c->out);
        return cli_json_flush(c);
    }
    printf("%s\n", code);
    fprintf(stderr, "On the new device: 'hearth init --join FORUM_ID', then 'hearth device join "
                    "CODE' (or on a hub's web page: 'Sign in with a code from your own "
                    "device'). Once its request reaches this node, run 'hearth device accept'. "
                    "The code works once, for 24 hours.\n");
    return CLI_OK;
}

static int do_join(struct cli *c, const char *code)
{
    uint8_t person[HEARTH_PK_LEN], id[HEARTH_ID_LEN];
    struct store_pair_code parsed;
    const char *why;
    if (store_pair_code_read(code, &parsed, &why))
        return cli_error(c, HERR_USAGE, "%s", why);
    herr e = store_pair_join(c->store, &c->key, c->forum, code, person, id);
    if (e == HERR_STATE)
        return cli_error(c, HERR_STATE, "this node is that person already");
    if (e)
        return cli_store_error(c, e, NULL);
    if (c->json) {
        json_object_open(&c->out, NULL);
        json_hex(&c->out, "request", id, HEARTH_ID_LEN);
        json_hex(&c->out, "device", c->key.pk, HEARTH_PK_LEN);
        json_hex(&c->out, "person", person, HEARTH_PK_LEN);
        json_object_close(&c->out);
        return cli_json_flush(c);
    }
    char sid[13];
    printf("asked to become a device of %.8s... (event %s): sync with a node the other device "
           "reaches, and run 'hearth device accept' there\n",
           code + strlen(STORE_PAIR_CODE_PREFIX), cli_short_id(sid, id));
    return CLI_OK;
}

/* refusal - note why the request of `device` was refused: on stderr when others are
 * accepted, else in the one-line error at the end (first into why). */
static void refusal(char *why, size_t n, size_t *refused, const char *hex, const char *reason)
{
    if (!*refused)
        snprintf(why, n, "the request of %.16s... was refused: %s", hex, reason);
    (*refused)++;
}

static int do_accept(struct cli *c)
{
    struct store_pair_match *m;
    size_t n, added = 0, refused = 0;
    char why[256] = "";
    herr e = store_pair_pending(c->store, c->key.pk, (int64_t)time(NULL), &m, &n);
    if (e)
        return cli_store_error(c, e, NULL);
    int rc = CLI_OK;
    char hex[2 * HEARTH_PK_LEN + 1];
    if (c->json)
        json_array_open(&c->out, NULL);
    for (size_t i = 0; i < n && !rc; i++) {
        uint8_t id[HEARTH_ID_LEN];
        hex_encode(hex, m[i].req.device, HEARTH_PK_LEN);
        if (m[i].state == STORE_PAIR_EXPIRED || m[i].state == STORE_PAIR_USED) {
            refusal(why, sizeof why, &refused, hex, store_pair_state_str(m[i].state));
            continue;
        }
        if (m[i].state != STORE_PAIR_READY)
            continue;
        e = store_pair_accept(c->store, &c->key, c->forum, &m[i], id);
        if (e == HERR_STATE) { /* a second request with one code, in this run */
            refusal(why, sizeof why, &refused, hex, store_errmsg(c->store));
            continue;
        }
        if (e) {
            rc = cli_store_error(c, e, NULL);
            break;
        }
        added++;
        if (c->json) {
            json_object_open(&c->out, NULL);
            json_hex(&c->out, "device", m[i].req.device, HEARTH_PK_LEN);
            json_hex(&c->out, "event", id, HEARTH_ID_LEN);
            json_object_close(&c->out);
        } else {
            printf("added device %s\n", hex);
        }
    }
    free(m);
    if (rc)
        return rc;
    if (added && refused)
        fprintf(stderr, "hearth: device: %s%s\n", why,
                refused > 1 ? " (and more: run 'hearth device accept' again to see)" : "");
    if (c->json && (added || !refused)) {
        json_array_close(&c->out);
        return cli_json_flush(c);
    }
    if (!added && refused)
        return cli_error(c, HERR_NOT_FOUND, "no pairing request to accept: %s%s", why,
                         refused > 1 ? " (and others)" : "");
    if (!added)
        return cli_error(c, HERR_NOT_FOUND,
                         "no pairing request with a code of this node's yet: sync first");
    return CLI_OK;
}

static int do_list(struct cli *c)
{
    struct store_device *v;
    size_t n;
    uint8_t person[HEARTH_PK_LEN];
    herr e = store_person_of(c->store, c->key.pk, person);
    if (!e)
        e = store_devices(c->store, person, &v, &n);
    if (e)
        return cli_store_error(c, e, NULL);
    char hex[2 * HEARTH_PK_LEN + 1];
    if (c->json) {
        json_object_open(&c->out, NULL);
        json_hex(&c->out, "person", person, HEARTH_PK_LEN);
        json_array_open(&c->out, "devices");
    } else {
        hex_encode(hex, person, HEARTH_PK_LEN);
        printf("person %s%s\n", hex,
               memcmp(person, c->key.pk, HEARTH_PK_LEN) ? "" : " (this node)");
    }
    for (size_t i = 0; i < n; i++) {
        bool me = !memcmp(v[i].device, c->key.pk, HEARTH_PK_LEN);
        if (c->json) {
            json_object_open(&c->out, NULL);
            json_hex(&c->out, "device", v[i].device, HEARTH_PK_LEN);
            json_bool(&c->out, "revoked", v[i].revoked);
            if (v[i].revoked)
                json_u64(&c->out, "until", v[i].until);
            json_u64(&c->out, "last_seq", v[i].last_seq);
            json_bool(&c->out, "this_node", me);
            json_object_close(&c->out);
        } else {
            hex_encode(hex, v[i].device, HEARTH_PK_LEN);
            printf("device %s%s", hex, me ? " (this node)" : "");
            if (v[i].revoked)
                printf(" revoked after seq %llu", (unsigned long long)v[i].until);
            printf("\n");
        }
    }
    free(v);
    if (c->json) {
        json_array_close(&c->out);
        json_object_close(&c->out);
        return cli_json_flush(c);
    }
    return CLI_OK;
}

/* revoke_one - what the device signs after the last seq this node holds of it no
 * longer counts (with --undo: nothing it signed counts). */
static int revoke_one(struct cli *c, const uint8_t key[HEARTH_PK_LEN])
{
    uint8_t id[HEARTH_ID_LEN];
    uint64_t until;
    herr e = store_device_revoke(c->store, &c->key, c->forum, key, cli_flag(c, "undo"), &until, id);
    if (e)
        return cli_store_error(c, e, NULL);
    char hex[2 * HEARTH_PK_LEN + 1];
    hex_encode(hex, key, HEARTH_PK_LEN);
    if (c->json) {
        json_object_open(&c->out, NULL);
        json_str(&c->out, "device", hex);
        json_u64(&c->out, "until", until);
        json_hex(&c->out, "event", id, HEARTH_ID_LEN);
        json_object_close(&c->out);
    } else {
        printf("revoked %s: what it signs after seq %llu no longer counts as yours\n", hex,
               (unsigned long long)until);
    }
    return CLI_OK;
}

static int do_revoke(struct cli *c, const char *arg)
{
    struct store_device *v;
    size_t n, found = 0, at = 0;
    bool all = cli_flag(c, "all");
    if (!all == !arg)
        return cli_error(c, HERR_USAGE, "device revoke takes a KEY, or --all");
    herr e = store_devices(c->store, c->key.pk, &v, &n);
    if (e)
        return cli_store_error(c, e, NULL);
    size_t len = arg ? strlen(arg) : 0;
    for (size_t i = 0; i < n && !all; i++) {
        char hex[2 * HEARTH_PK_LEN + 1];
        hex_encode(hex, v[i].device, HEARTH_PK_LEN);
        if (len >= 4 && len <= 64 && !strncmp(hex, arg, len))
            found++, at = i;
    }
    int rc = CLI_OK;
    if (!all && found != 1)
        rc = cli_error(c, found ? HERR_USAGE : HERR_NOT_FOUND,
                       found ? "%s names more than one device: give more digits"
                             : "%s is not a device of yours",
                       arg);
    if (!rc && c->json)
        json_array_open(&c->out, NULL);
    for (size_t i = 0; i < n && !rc; i++)
        if (all ? !v[i].revoked : i == at)
            rc = revoke_one(c, v[i].device);
    free(v);
    if (!rc && c->json) {
        json_array_close(&c->out);
        rc = cli_json_flush(c);
    }
    return rc;
}

static int run(struct cli *c)
{
    const char *what = c->args[0];
    bool write = strcmp(what, "list") != 0;
    if (strcmp(what, "add") && strcmp(what, "join") && strcmp(what, "accept") &&
        strcmp(what, "list") && strcmp(what, "revoke"))
        return cli_error(c, HERR_USAGE,
                         "unknown device action '%s': add, join, accept, list, revoke", what);
    bool one = !strcmp(what, "join"), maybe = !strcmp(what, "revoke");
    if (!maybe && (c->nargs == 2) != one)
        return cli_error(c, HERR_USAGE,
                         one ? "device %s needs one argument" : "device %s takes no argument",
                         what);
    int rc = cli_open(c, write, true);
    if (rc)
        return rc;
    if (!strcmp(what, "add"))
        return do_add(c);
    if (!strcmp(what, "join"))
        return do_join(c, c->args[1]);
    if (!strcmp(what, "accept"))
        return do_accept(c);
    if (!strcmp(what, "revoke"))
        return do_revoke(c, c->nargs == 2 ? c->args[1] : NULL);
    return do_list(c);
}

static const struct cli_option options[] = {
    {"undo", 0, NULL, "revoke: undo everything the device signed (until 0)"},
    {"all", 0, NULL, "revoke: every device of yours (after a recovery)"},
    {NULL, 0, NULL, NULL},
};

const struct cli_command cmd_device = {
    .name = "device",
    .run = run,
    .group = "start",
    .summary = "use one identity on several devices: add, join, accept, list, revoke",
    .synopsis = "add | join CODE | accept | list | revoke (KEY | --all) [--undo]",
    .details = "A person's key certifies other nodes' keys as its devices; what a device\n"
               "posts counts as the person's everywhere. 'add' prints a one-time code on\n"
               "the person's node; 'join CODE' on the new device asks to be added; 'accept'\n"
               "on the person's node (after a sync) certifies it.",
    .options = options,
    .min_args = 1,
    .max_args = 2,
    .needs = 0,
};
