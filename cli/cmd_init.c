/* cmd_init.c - `hearth init`: found a forum, or prepare this node to join one. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/limits.h"
#include "cli/cli.h"
#include "cli/node_key.h"
#include "cli/recovery.h"
#include "node/joinlink.h"
#include "node/node.h"

#define JOIN_TIMEOUT_S 30 /* for each place of a link: to connect, and while nothing moves */

/* A new forum's settings: no first posts held for approval (a small community can
 * turn that on when it needs it), and a post that three members flag is hidden until
 * a moderator has looked at it. */
#define DEFAULT_HOLD 0
#define DEFAULT_FLAGS 3

/* The boards a new forum starts with: the study behind hearth found people come for
 * connection, to share lived experience, as carers, and for information and advice. */
static const struct {
    const char *name, *about;
} default_boards[] = {
    {"welcome", "Say hello and find out how this place works. Everyone here uses a "
                "pseudonym, and anything you post you can take back."},
    {"lived-experience", "Share your own experience of mental ill-health, and hear from "
                         "others who have been there."},
    {"carers", "For family and friends who support someone: questions, worries, and what "
               "has helped."},
    {"information-and-advice", "Practical information: services, treatments, rights, and "
                               "advice from professionals."},
    {"everyday-life", "Off topic: the good news, the small talk and the everyday things "
                      "that keep us connected."},
};

#define N_BOARDS (sizeof default_boards / sizeof default_boards[0])

/* The crisis resources of a forum whose founder has not given any yet: every node
 * shows them above every board and thread, so they must be true everywhere and say
 * plainly what is missing. */
#define PLACEHOLDER_RESOURCES                                                                      \
    "This forum is not a crisis service. If you are in danger, call your local emergency "         \
    "number.\n(The founder has not set local helplines yet: hearth resources --set)"

/* make_dir - mkdir -p, each new directory private to its owner. */
static int make_dir(struct cli *c)
{
    char *path = strdup(c->dir);
    if (!path)
        return cli_error(c, HERR_NOMEM, "%s", herr_str(HERR_NOMEM));
    int rc = CLI_OK;
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char was = *p;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
            int err = errno;
            rc = cli_error(c, err == EROFS || err == EACCES ? HERR_READONLY : HERR_IO,
                           "cannot create %s: %s", path, strerror(err));
            break;
        }
        *p = was;
        if (was == '\0')
            break;
    }
    free(path);
    struct stat st;
    if (!rc && (stat(c->dir, &st) != 0 || !S_ISDIR(st.st_mode)))
        rc = cli_error(c, HERR_IO, "%s is not a directory", c->dir);
    return rc;
}

/* open_store - create or open DIR/hearth.db, the author key and the node key (so that
 * `hearth id` has an address to show, and makes no key itself). The author key is
 * the one a recovery code (`recover`) gives, else a new one, whose recovery code is
 * shown on a terminal. */
static int open_store(struct cli *c, const char *recover)
{
    uint8_t seed[HEARTH_SEED_LEN];
    bool created;
    int rc = CLI_OK;
    char *key = cli_path(c, "author.key"), *db = cli_path(c, "hearth.db");
    if (!key || !db) {
        rc = cli_error(c, HERR_NOMEM, "%s", herr_str(HERR_NOMEM));
        goto done;
    }
    if (recover) {
        if (!recovery_seed(recover, seed)) {
            rc = cli_error(c, HERR_USAGE, "not a recovery code (hr1-...), or mistyped");
            goto done;
        }
        herr e = seed_file_save(key, seed);
        secret_wipe(seed, sizeof seed);
        if (e) {
            rc = cli_error(c, e, "%s: %s", key,
                           e == HERR_STATE ? "this data directory has an author key already: "
                                             "recover into a new one"
                                           : herr_str(e));
            goto done;
        }
    }
    herr e = store_open(&c->store, db, STORE_CREATE);
    if (e) {
        rc = cli_open_error(c, e, db);
        goto done;
    }
    e = seed_file_load(key, true, seed, &created);
    if (e == HERR_CORRUPT) {
        rc = cli_error(c, e, "%s: not an author key (32 bytes)", key);
        goto done;
    }
    if (e) {
        rc = cli_error(c, e, "%s: %s", key, herr_str(e));
        goto done;
    }
    hkey_from_seed(&c->key, seed);
    if (created && !c->json && isatty(STDERR_FILENO))
        recovery_warn(seed); /* once, at its making; 'hearth recovery show' again */
    explicit_bzero(seed, sizeof seed);
    c->has_key = true;
    if ((rc = cli_node_seed(c, seed)) == CLI_OK)
        secret_wipe(seed, sizeof seed);
done:
    free(key);
    free(db);
    return rc;
}

static void print_boards_json(struct cli *c, uint8_t ids[][HEARTH_ID_LEN], size_t n)
{
    json_array_open(&c->out, "boards");
    for (size_t i = 0; i < n; i++) {
        json_object_open(&c->out, NULL);
        json_hex(&c->out, "id", ids[i], HEARTH_ID_LEN);
        json_str(&c->out, "name", default_boards[i].name);
        json_object_close(&c->out);
    }
    json_array_close(&c->out);
}

/* At most this many devices revoked by a recovering join (a person has a few). */
#define MAX_REVOKED 64

/* What `init --join LINK` did after preparing the replica. */
struct join_sync {
    bool done;
    char address[JOINLINK_MAX];
    struct sync_stats st;
    size_t nrevoked; /* --recover: the devices it revoked */
    uint8_t revoked[MAX_REVOKED][HEARTH_PK_LEN];
    bool told; /* and the hub took the revocations at once */
};

static int report(struct cli *c, const char *name, bool joined, bool placeholder,
                  uint8_t boards[][HEARTH_ID_LEN], size_t nboards, const struct join_sync *js)
{
    char forum[2 * HEARTH_ID_LEN + 1];
    hex_encode(forum, c->forum, HEARTH_ID_LEN);
    if (c->json) {
        json_object_open(&c->out, NULL);
        json_str(&c->out, "forum", forum);
        json_str(&c->out, "name", name);
        json_bool(&c->out, "joined", joined);
        json_str(&c->out, "data_dir", c->dir);
        json_hex(&c->out, "author", c->key.pk, HEARTH_PK_LEN);
        print_boards_json(c, boards, nboards);
        if (joined)
            json_null(&c->out, "resources");
        else
            json_str(&c->out, "resources", placeholder ? "placeholder" : "set");
        if (js && js->done) {
            json_object_open(&c->out, "synced");
            json_str(&c->out, "address", js->address);
            json_u64(&c->out, "events_received", js->st.events_recv);
            json_u64(&c->out, "events_accepted", js->st.events_accepted);
            json_object_close(&c->out);
        } else {
            json_null(&c->out, "synced");
        }
        json_array_open(&c->out, "revoked");
        for (size_t i = 0; js && i < js->nrevoked; i++)
            json_hex(&c->out, NULL, js->revoked[i], HEARTH_PK_LEN);
        json_array_close(&c->out);
        json_object_close(&c->out);
        return cli_json_flush(c);
    }
    if (js && js->done) {
        char *fname = cli_forum_name(c);
        fputs("joined '", stdout);
        cli_print_text(stdout, fname ? fname : "?", NULL);
        printf("' (%s) in %s\nsynced with %s: %" PRIu64 " events received\n", forum, c->dir,
               js->address, js->st.events_accepted);
        free(fname);
        for (size_t i = 0; i < js->nrevoked; i++) {
            char hex[2 * HEARTH_PK_LEN + 1];
            hex_encode(hex, js->revoked[i], HEARTH_PK_LEN);
            printf("revoked your device %s: what it signs from now on does not count\n", hex);
        }
        if (js->nrevoked)
            printf("%s\n", js->told ? "the hub has the revocations; pair the devices you still "
                                      "have again ('hearth device add')"
                                    : "the revocations travel with your next sync");
        return CLI_OK;
    }
    if (joined) {
        printf("ready to join forum %s in %s\n"
               "import a bundle from it ('hearth import FILE') or sync with one of its nodes\n",
               forum, c->dir);
        return CLI_OK;
    }
    fputs("founded '", stdout);
    cli_print_text(stdout, name, NULL);
    printf("' in %s with boards:", c->dir);
    for (size_t i = 0; i < nboards; i++)
        printf(" %s", default_boards[i].name);
    printf("\nforum id: %s\nothers join it with: hearth init --join %s\n", forum, forum);
    if (placeholder)
        printf("crisis resources: a placeholder for now; add local helplines with\n"
               "  hearth resources --set --text TEXT\n");
    return CLI_OK;
}

/* ask_resources - on a terminal, ask the founder for the helplines (one line);
 * NULL when not asked or nothing given. Caller frees. */
static char *ask_resources(void)
{
    char line[4096]; /* a terminal's longest line in canonical mode */
    if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO))
        return NULL;
    fputs("Crisis resources shown on every page: local helplines and when moderators are\n"
          "on duty (one line; press Enter to leave a placeholder for now): ",
          stderr);
    if (!fgets(line, sizeof line, stdin))
        return NULL;
    line[strcspn(line, "\r\n")] = '\0';
    for (const char *p = line; *p; p++)
        if (!isspace((unsigned char)*p))
            return strdup(line);
    return NULL;
}

/* publish_resources - the forum's first crisis resources. */
static int publish_resources(struct cli *c, const char *text)
{
    uint8_t id[HEARTH_ID_LEN];
    struct event_draft r = {.kind = EK_RESOURCES, .forum = c->forum};
    r.b.text = cli_hstr(text ? text : PLACEHOLDER_RESOURCES);
    herr e = store_publish(c->store, &c->key, &r, id);
    if (e)
        return cli_store_error(c, e, "crisis resources");
    return CLI_OK;
}

static int found(struct cli *c, const char *name, const char *about, const char *resources)
{
    uint8_t boards[N_BOARDS][HEARTH_ID_LEN];
    struct event_draft d = {.kind = EK_GENESIS};
    d.b.name = cli_hstr(name);
    d.b.about = cli_hstr(about);
    d.b.has_hold = d.b.has_flags = true;
    d.b.hold = DEFAULT_HOLD;
    d.b.flags = DEFAULT_FLAGS;
    herr e = store_publish(c->store, &c->key, &d, c->forum);
    if (e)
        return cli_store_error(c, e, "cannot found the forum");
    for (size_t i = 0; i < N_BOARDS; i++) {
        /* Boards are listed by (created, id); a clock tick between them keeps them in
         * the order above rather than in the order of their random ids. */
        nanosleep(&(struct timespec){0, 2 * 1000 * 1000}, NULL);
        struct event_draft b = {.kind = EK_BOARD, .forum = c->forum};
        b.b.name = cli_hstr(default_boards[i].name);
        b.b.about = cli_hstr(default_boards[i].about);
        e = store_publish(c->store, &c->key, &b, boards[i]);
        if (e)
            return cli_store_error(c, e, default_boards[i].name);
    }
    int rc = publish_resources(c, resources);
    if (rc)
        return rc;
    return report(c, name, false, resources == NULL, boards, N_BOARDS, NULL);
}

/* join_arg - what --join names: a forum id, or a join link (then *link is filled and
 * *is_link set). Prints and returns an exit code when it is neither. */
static int join_arg(struct cli *c, const char *arg, uint8_t forum[HEARTH_ID_LEN],
                    struct joinlink *link, bool *is_link)
{
    const char *why;
    *is_link = strncmp(arg, "hearth://", 9) == 0;
    if (!*is_link) {
        if (strlen(arg) != 2 * HEARTH_ID_LEN || hex_decode(forum, HEARTH_ID_LEN, arg) != HERR_OK)
            return cli_error(c, HERR_USAGE,
                             "'%s' is not a forum id (64 hex digits) or a join link (hearth://...)",
                             arg);
        return CLI_OK;
    }
    if (joinlink_parse(arg, link, &why) != HERR_OK)
        return cli_error(c, HERR_USAGE, "not a join link: %s", why);
    if (!link->has_forum)
        return cli_error(c, HERR_USAGE,
                         "that is a node's address, not a join link: it has no /FORUM_ID at the "
                         "end (on that node, 'hearth invite' prints a join link)");
    memcpy(forum, link->forum, HEARTH_ID_LEN);
    return CLI_OK;
}

/* join_sync - one sync with the node of the link, trying its places in turn. */
static int join_sync(struct cli *c, const struct joinlink *link, struct join_sync *js)
{
    uint8_t seed[HEARTH_SEED_LEN];
    char why[512] = "";
    herr e = HERR_NET;
    int rc = cli_node_seed(c, seed);
    if (rc)
        return rc;
    struct hlog log = {.level = HLOG_ERROR, .out = stderr};
    for (size_t i = 0; i < link->naddrs; i++) {
        joinlink_address(link, i, js->address, sizeof js->address);
        if (!c->json && isatty(STDERR_FILENO)) /* a wait of up to 30 s: say what for */
            fprintf(stderr, "syncing with %s\xe2\x80\xa6\n", link->addrs[i]);
        memset(&js->st, 0, sizeof js->st);
        e = node_sync_once(c->store, seed, js->address, JOIN_TIMEOUT_S * 1000, &log, NULL, NULL,
                           &js->st, why, sizeof why);
        if (!e)
            break;
    }
    secret_wipe(seed, sizeof seed);
    if (e)
        return cli_error(c, e == HERR_BUSY ? HERR_NET : e,
                         "this node is ready for the forum but could not sync: %s (try again "
                         "with 'hearth sync ADDRESS' or the same command)",
                         why[0] ? why : herr_str(e));
    js->done = true;
    return CLI_OK;
}

/* revoke_lost - a recovery's join synced: the person's devices it learned of are
 * revoked (what they sign after the last seq synced no longer counts: a lost or
 * stolen laptop signs for nobody from now on), and the place that answered is told
 * at once with a second sync. */
static int revoke_lost(struct cli *c, struct join_sync *js)
{
    struct store_device *v;
    size_t n;
    size_t left = 0;
    herr e = store_devices(c->store, c->key.pk, &v, &n);
    for (size_t i = 0; i < n && !e; i++) {
        uint8_t id[HEARTH_ID_LEN];
        uint64_t until;
        if (v[i].revoked)
            continue;
        if (js->nrevoked == MAX_REVOKED) {
            left++;
            continue;
        }
        e = store_device_revoke(c->store, &c->key, c->forum, v[i].device, false, &until, id);
        if (!e)
            memcpy(js->revoked[js->nrevoked++], v[i].device, HEARTH_PK_LEN);
    }
    free(v);
    if (!e && left)
        fprintf(stderr,
                "hearth: init: %zu more devices of yours are not revoked yet: run 'hearth "
                "device revoke --all'\n",
                left);
    if (e)
        return cli_store_error(c, e, "cannot revoke the lost devices");
    if (!js->nrevoked)
        return CLI_OK;
    struct sync_stats st;
    uint8_t seed[HEARTH_SEED_LEN];
    char why[512] = "";
    int rc = cli_node_seed(c, seed);
    if (rc)
        return rc;
    struct hlog log = {.level = HLOG_ERROR, .out = stderr};
    js->told = node_sync_once(c->store, seed, js->address, JOIN_TIMEOUT_S * 1000, &log, NULL, NULL,
                              &st, why, sizeof why) == HERR_OK;
    secret_wipe(seed, sizeof seed);
    return CLI_OK;
}

static int join(struct cli *c, const uint8_t forum[HEARTH_ID_LEN], const struct joinlink *link,
                bool recovering)
{
    herr e = store_set_forum(c->store, forum);
    if (e == HERR_STATE) {
        char held[13];
        herr f = store_forum(c->store, c->forum);
        return cli_error(c, HERR_STATE, "already initialised: %s holds forum %s", c->dir,
                         f ? "?" : cli_short_id(held, c->forum));
    }
    if (e)
        return cli_store_error(c, e, NULL);
    memcpy(c->forum, forum, HEARTH_ID_LEN);
    struct join_sync js;
    memset(&js, 0, sizeof js);
    int rc = link ? join_sync(c, link, &js) : CLI_OK;
    if (!rc && js.done && recovering && !cli_flag(c, "keep-devices"))
        rc = revoke_lost(c, &js);
    return rc ? rc : report(c, NULL, true, false, NULL, 0, &js);
}

static int run(struct cli *c)
{
    const char *name = cli_opt(c, "forum"), *about = cli_opt(c, "about");
    const char *joining = cli_opt(c, "join"), *resources = cli_opt(c, "resources");
    const char *recover = cli_opt(c, "recover");
    char *asked = NULL;
    uint8_t forum[HEARTH_ID_LEN];
    struct joinlink link;
    bool is_link = false;
    int rc;
    if (!name == !joining)
        return cli_error(c, HERR_USAGE,
                         "give --forum NAME to found a forum, or --join "
                         "LINK or FORUM_ID to join one");
    if (joining && (about || resources))
        return cli_error(c, HERR_USAGE, "--%s goes with --forum", about ? "about" : "resources");
    if (name && (rc = cli_check_text(c, "forum name", name, strlen(name), HEARTH_MAX_NAME, false)))
        return rc;
    if (about && (rc = cli_check_text(c, "about", about, strlen(about), HEARTH_MAX_SHORT, true)))
        return rc;
    if (resources &&
        (rc = cli_check_text(c, "resources", resources, strlen(resources), HEARTH_MAX_TEXT, true)))
        return rc;
    if (recover && !joining)
        return cli_error(c, HERR_USAGE, "--recover goes with --join LINK|FORUM_ID");
    if (cli_flag(c, "keep-devices") && !recover)
        return cli_error(c, HERR_USAGE, "--keep-devices goes with --recover");
    /* A bad link is refused before anything is made. */
    if (joining && (rc = join_arg(c, joining, forum, &link, &is_link)))
        return rc;
    if ((rc = cli_resolve_dir(c)) || (rc = make_dir(c)) || (rc = open_store(c, recover)))
        return rc;
    if (name) {
        char held[13];
        herr e = store_forum(c->store, c->forum);
        if (e == HERR_OK)
            return cli_error(c, HERR_STATE, "already initialised: %s holds forum %s", c->dir,
                             cli_short_id(held, c->forum));
        if (e != HERR_STATE)
            return cli_store_error(c, e, NULL);
        if (!resources && (asked = ask_resources()) &&
            (rc = cli_check_text(c, "resources", asked, strlen(asked), HEARTH_MAX_TEXT, true))) {
            free(asked);
            return rc;
        }
        rc = found(c, name, about, resources ? resources : asked);
        free(asked);
        return rc;
    }
    return join(c, forum, is_link ? &link : NULL, recover != NULL);
}

static const struct cli_option options[] = {
    {"forum", 0, "NAME", "found a new forum called NAME"},
    {"about", 0, "TEXT", "what the new forum is for"},
    {"resources", 0, "TEXT",
     "crisis resources shown on every page: helplines, when moderators are on duty"},
    {"join", 0, "LINK",
     "join the forum of a join link (hearth invite) and sync with its node; or "
     "prepare this node for the forum FORUM_ID"},
    {"recover", 0, "CODE", "with --join: restore your identity from its recovery code"},
    {"keep-devices", 0, NULL,
     "with --recover and a link: keep your other devices (they are revoked otherwise)"},
    {NULL, 0, NULL, NULL},
};

const struct cli_command cmd_init = {
    .name = "init",
    .run = run,
    .group = "start",
    .summary = "found a forum, or join one (by a join link or its id)",
    .synopsis = "(--forum NAME [--about TEXT] [--resources TEXT] | --join LINK|FORUM_ID "
                "[--recover CODE [--keep-devices]])",
    .details = "Creates the data directory (mode 0700) with the forum's database, your\n"
               "author key and the node's transport key. --forum founds a forum with boards\n"
               "for welcome, lived experience, carers, information and advice, and everyday\n"
               "life, and its crisis resources (--resources, asked for on a terminal; else a\n"
               "placeholder that says this forum is not a crisis service). --join FORUM_ID\n"
               "prepares an empty replica that accepts only that forum's events (running it\n"
               "again is harmless); --join LINK (a join link from 'hearth invite' on a node of\n"
               "the forum) also syncs with that node at once, over CURVE with the link's key.\n"
               "--recover CODE restores your identity from its recovery code (hearth\n"
               "recovery show). With a link, the devices the sync shows you had are revoked\n"
               "at once and the node told (--keep-devices: not); without one, sync first,\n"
               "then 'hearth device revoke --all'.",
    .options = options,
};
