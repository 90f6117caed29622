/* cmd_device.c - `hearth device`: one person on many devices (docs/EVENTS.md, 6.3).
 *
 *   device add            on the person's node: a one-time pairing code
 *   device join CODE      on the new device's node: publish a pairing request
 *   device accept         on the person's node: certify the devices that asked with
 *                         a code it made (the add events)
 *   device list           the person's devices
 *   device revoke KEY     stop what the device signs from now on from counting
 *
 * A code is "hd1-" and the base32 (RFC 4648, lower case) of the person's key, the
 * 16-byte secret and two bytes of BLAKE2b-256 over both (a typo is caught). The
 * person's node keeps the secret in its local settings ("pairing:<hex>" = expiry);
 * the request carries only a hash keyed with it. Requests and adds are events, so
 * they travel by whatever carries the forum: a hub both laptops sync with, a bundle
 * on a stick, a LAN with no internet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/code32.h"

#define SECRET_LEN 16
#define CODE_BYTES (HEARTH_PK_LEN + SECRET_LEN + 2)
#define CODE_PREFIX "hd1-"
#define PAIR_TTL_S (24 * 3600)

static int code_make(char *out, size_t n, const uint8_t person[HEARTH_PK_LEN],
                     const uint8_t secret[SECRET_LEN])
{
    uint8_t raw[CODE_BYTES], h[HEARTH_ID_LEN];
    memcpy(raw, person, HEARTH_PK_LEN);
    memcpy(raw + HEARTH_PK_LEN, secret, SECRET_LEN);
    hash_id(h, raw, HEARTH_PK_LEN + SECRET_LEN);
    memcpy(raw + HEARTH_PK_LEN + SECRET_LEN, h, 2);
    size_t p = strlen(CODE_PREFIX);
    if (n < p + code32_len(CODE_BYTES) + 1)
        return -1;
    memcpy(out, CODE_PREFIX, p);
    code32_encode(out + p, raw, CODE_BYTES);
    return 0;
}

static bool code_read(const char *code, uint8_t person[HEARTH_PK_LEN], uint8_t secret[SECRET_LEN])
{
    uint8_t raw[CODE_BYTES], h[HEARTH_ID_LEN];
    size_t p = strlen(CODE_PREFIX);
    if (strncasecmp(code, CODE_PREFIX, p) != 0 || !code32_decode(raw, CODE_BYTES, code + p))
        return false;
    hash_id(h, raw, HEARTH_PK_LEN + SECRET_LEN);
    if (memcmp(h, raw + HEARTH_PK_LEN + SECRET_LEN, 2) != 0)
        return false;
    memcpy(person, raw, HEARTH_PK_LEN);
    memcpy(secret, raw + HEARTH_PK_LEN, SECRET_LEN);
    return true;
}

static int do_add(struct cli *c)
{
    uint8_t secret[SECRET_LEN];
    char code[128], key[16 + 2 * SECRET_LEN], until[32];
    random_bytes(secret, sizeof secret);
    memcpy(key, "pairing:", 9);
    hex_encode(key + 8, secret, SECRET_LEN);
    snprintf(until, sizeof until, "%lld", (long long)time(NULL) + PAIR_TTL_S);
    herr e = store_meta_set(c->store, key, until);
    if (e)
        return cli_store_error(c, e, NULL);
    if (code_make(code, sizeof code, c->key.pk, secret))
        return cli_error(c, HERR_NOMEM, "%s", herr_str(HERR_NOMEM));
    if (c->json) {
        json_object_open(&c->out, NULL);
        json_str(&c->out, "code", code);
        json_hex(&c->out, "person", c->key.pk, HEARTH_PK_LEN);
        json_object_close(&c->out);
        return cli_json_flush(c);
    }
    printf("%s\n", code);
    fprintf(stderr, "On the new device: 'hearth init --join FORUM_ID', then 'hearth device join "
                    "CODE'. Once its request reaches this node, run 'hearth device accept'. The "
                    "code works once, for 24 hours.\n");
    return CLI_OK;
}

static int do_join(struct cli *c, const char *code)
{
    uint8_t person[HEARTH_PK_LEN], secret[SECRET_LEN], proof[HEARTH_SIG_LEN];
    uint8_t pairing[HEARTH_ID_LEN], id[HEARTH_ID_LEN];
    if (!code_read(code, person, secret))
        return cli_error(c, HERR_USAGE, "not a device code (hd1-...), or mistyped");
    if (!memcmp(person, c->key.pk, HEARTH_PK_LEN))
        return cli_error(c, HERR_STATE, "this node is that person already");
    device_proof_sign(proof, c->forum, person, &c->key);
    hash_keyed(pairing, secret, SECRET_LEN, c->key.pk, HEARTH_PK_LEN);
    struct event_draft d = {.kind = EK_DEVICE};
    d.b.subject = person;
    d.b.proof = proof;
    d.b.pairing = pairing;
    int rc = cli_publish(c, &d, id);
    if (rc)
        return rc;
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
           code + strlen(CODE_PREFIX), cli_short_id(sid, id));
    return CLI_OK;
}

/* A pending secret of this node's, matched against a request. */
struct pending {
    struct cli *c;
    const struct store_pair_request *req;
    char matched[64];
};

static herr match_one(void *ctx, const char *key, const char *value)
{
    struct pending *p = ctx;
    uint8_t secret[SECRET_LEN], h[HEARTH_ID_LEN];
    const char *hex = key + strlen("pairing:");
    if (p->matched[0] || strlen(hex) != 2 * SECRET_LEN ||
        hex_decode(secret, SECRET_LEN, hex) != HERR_OK)
        return HERR_OK;
    if (strtoll(value, NULL, 10) < (long long)time(NULL))
        return HERR_OK; /* expired */
    hash_keyed(h, secret, SECRET_LEN, p->req->device, HEARTH_PK_LEN);
    if (!memcmp(h, p->req->pairing, HEARTH_ID_LEN))
        snprintf(p->matched, sizeof p->matched, "%s", key);
    return HERR_OK;
}

static int do_accept(struct cli *c)
{
    struct store_pair_request *reqs;
    size_t n, added = 0;
    herr e = store_pair_requests(c->store, c->key.pk, &reqs, &n);
    if (e)
        return cli_store_error(c, e, NULL);
    int rc = CLI_OK;
    if (c->json)
        json_array_open(&c->out, NULL);
    for (size_t i = 0; i < n && !rc; i++) {
        struct pending p = {.c = c, .req = &reqs[i]};
        e = store_meta_each(c->store, "pairing:", match_one, &p);
        if (e) {
            rc = cli_store_error(c, e, NULL);
            break;
        }
        if (!p.matched[0])
            continue;
        struct event_draft d = {.kind = EK_DEVICE};
        uint8_t id[HEARTH_ID_LEN];
        d.b.subject = reqs[i].device;
        d.b.has_grant = true, d.b.grant = true;
        d.b.proof = reqs[i].proof;
        if ((rc = cli_publish(c, &d, id)))
            break;
        if ((e = store_meta_delete(c->store, p.matched)) != HERR_OK) { /* once */
            rc = cli_store_error(c, e, NULL);
            break;
        }
        added++;
        if (c->json) {
            json_object_open(&c->out, NULL);
            json_hex(&c->out, "device", reqs[i].device, HEARTH_PK_LEN);
            json_hex(&c->out, "event", id, HEARTH_ID_LEN);
            json_object_close(&c->out);
        } else {
            char hex[2 * HEARTH_PK_LEN + 1];
            hex_encode(hex, reqs[i].device, HEARTH_PK_LEN);
            printf("added device %s\n", hex);
        }
    }
    free(reqs);
    if (rc)
        return rc;
    if (c->json) {
        json_array_close(&c->out);
        return cli_json_flush(c);
    }
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
    uint64_t last;
    herr e = store_key_last_seq(c->store, key, &last);
    if (e)
        return cli_store_error(c, e, NULL);
    struct event_draft d = {.kind = EK_DEVICE};
    d.b.subject = key;
    d.b.has_grant = true, d.b.grant = false;
    d.b.has_until = true, d.b.until = cli_flag(c, "undo") ? 0 : last;
    int rc = cli_publish(c, &d, id);
    if (rc)
        return rc;
    char hex[2 * HEARTH_PK_LEN + 1];
    hex_encode(hex, key, HEARTH_PK_LEN);
    if (c->json) {
        json_object_open(&c->out, NULL);
        json_str(&c->out, "device", hex);
        json_u64(&c->out, "until", d.b.until);
        json_hex(&c->out, "event", id, HEARTH_ID_LEN);
        json_object_close(&c->out);
    } else {
        printf("revoked %s: what it signs after seq %llu no longer counts as yours\n", hex,
               (unsigned long long)d.b.until);
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
