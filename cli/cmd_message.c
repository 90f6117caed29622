/* cmd_message.c - the private channel with the moderators:
 *   `hearth message [--to AUTHOR] [--about ID] [--text TEXT]`  write (text from stdin
 *                                                             without --text)
 *   `hearth messages [AUTHOR]`                               read
 * A member writes to the moderators and reads their own conversation; a moderator
 * lists every conversation and writes to one member with --to. The text is sealed to
 * its readers (store/store.h, "The private channel"): other members' nodes hold it but
 * cannot read it. */
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "cli/cli.h"

static int write_message(struct cli *c)
{
    const char *to = cli_opt(c, "to"), *about = cli_opt(c, "about");
    uint8_t member[HEARTH_PK_LEN], ref[HEARTH_ID_LEN], id[HEARTH_ID_LEN];
    int rc;
    if (to && (rc = cli_resolve_author(c, to, member)))
        return rc;
    if (!to)
        memcpy(member, c->key.pk, HEARTH_PK_LEN);
    if (about && (rc = cli_resolve(c, about, ref)))
        return rc;
    char *text = NULL;
    if ((rc = cli_body(c, cli_opt(c, "text"), &text)))
        return rc;
    if (strlen(text) > HEARTH_MSG_MAX_TEXT) {
        free(text);
        return cli_error(c, HERR_TOO_LARGE, "a message holds at most %d bytes",
                         HEARTH_MSG_MAX_TEXT);
    }
    struct event_draft d = {.kind = EK_MESSAGE, .ref = about ? ref : NULL, .message_text = text};
    d.b.subject = member;
    rc = cli_publish(c, &d, id);
    secret_wipe(text, strlen(text));
    free(text);
    if (rc)
        return rc;
    if (c->json)
        return cli_json_published(c, EK_MESSAGE, id, about ? ref : NULL, NULL);
    char sid[13];
    if (memcmp(member, c->key.pk, HEARTH_PK_LEN) == 0)
        printf("sent %s to the moderators: only they and you can read it\n", cli_short_id(sid, id));
    else
        printf("sent %s to %.12s: only they and the moderators can read it\n",
               cli_short_id(sid, id), to);
    return CLI_OK;
}

static void print_conversation(struct cli *c, const uint8_t member[HEARTH_PK_LEN],
                               const struct store_message *v, size_t n)
{
    struct json *j = &c->out;
    char when[64], key[2 * HEARTH_PK_LEN + 1], sid[13];
    if (c->json) {
        json_array_open(j, NULL);
        for (size_t i = 0; i < n; i++) {
            json_object_open(j, NULL);
            json_hex(j, "id", v[i].id, HEARTH_ID_LEN);
            json_hex(j, "author", v[i].author, HEARTH_PK_LEN);
            json_str(j, "author_name", v[i].author_name);
            json_hex(j, "member", member, HEARTH_PK_LEN);
            json_bool(j, "from_moderator", v[i].from_mod);
            json_u64(j, "created", v[i].created);
            if (v[i].has_about)
                json_hex(j, "about", v[i].about, HEARTH_ID_LEN);
            else
                json_null(j, "about");
            json_str(j, "text", v[i].text);
            json_object_close(j);
        }
        json_array_close(j);
        return;
    }
    if (n == 0)
        printf("no messages yet\n");
    for (size_t i = 0; i < n; i++) {
        hex_encode(key, v[i].author, HEARTH_PK_LEN);
        printf("%s  ", cli_format_time(when, sizeof when, v[i].created));
        if (v[i].author_name)
            cli_print_text(stdout, v[i].author_name, NULL);
        printf(" (%.8s)%s", key, v[i].from_mod ? " [moderator]" : "");
        if (v[i].has_about)
            printf(", about %s", cli_short_id(sid, v[i].about));
        printf(":\n");
        if (v[i].text)
            cli_print_text(stdout, v[i].text, "    ");
        else
            printf("    (sealed to its readers: not one you can open)");
        printf("\n\n");
    }
}

static void print_list(struct cli *c, const struct store_conversation_info *v, size_t n)
{
    struct json *j = &c->out;
    char when[64], key[2 * HEARTH_PK_LEN + 1];
    if (c->json) {
        json_array_open(j, NULL);
        for (size_t i = 0; i < n; i++) {
            json_object_open(j, NULL);
            json_hex(j, "member", v[i].member, HEARTH_PK_LEN);
            json_str(j, "member_name", v[i].member_name);
            json_u64(j, "messages", v[i].messages);
            json_u64(j, "last", v[i].last_created);
            json_bool(j, "awaiting_reply", v[i].member_arrival == v[i].last_arrival);
            json_object_close(j);
        }
        json_array_close(j);
        return;
    }
    if (n == 0)
        printf("no member has written to the moderators\n");
    for (size_t i = 0; i < n; i++) {
        hex_encode(key, v[i].member, HEARTH_PK_LEN);
        printf("%.16s  ", key);
        cli_print_text(stdout, v[i].member_name ? v[i].member_name : "(no name)", NULL);
        printf("  %zu message%s, last %s%s\n", v[i].messages, v[i].messages == 1 ? "" : "s",
               cli_format_time(when, sizeof when, v[i].last_created),
               v[i].member_arrival == v[i].last_arrival ? "  [waiting for a reply]" : "");
    }
}

static int read_messages(struct cli *c)
{
    uint8_t member[HEARTH_PK_LEN];
    bool mod = false;
    int rc;
    herr e = store_moderates(c->store, c->key.pk, &mod);
    if (e)
        return cli_store_error(c, e, NULL);
    if (c->nargs == 0 && mod) {
        struct store_conversation_info *v;
        size_t n;
        if ((e = store_conversations(c->store, &v, &n)))
            return cli_store_error(c, e, NULL);
        print_list(c, v, n);
        store_conversations_free(v, n);
        return c->json ? cli_json_flush(c) : CLI_OK;
    }
    if (c->nargs == 0)
        memcpy(member, c->key.pk, HEARTH_PK_LEN);
    else if ((rc = cli_resolve_author(c, c->args[0], member)))
        return rc;
    if (!mod && memcmp(member, c->key.pk, HEARTH_PK_LEN) != 0)
        return cli_error(c, HERR_DENIED,
                         "only the moderators read other members' conversations with them");
    struct store_message *v;
    size_t n;
    if ((e = store_conversation(c->store, &c->key, member, &v, &n)))
        return cli_store_error(c, e, NULL);
    print_conversation(c, member, v, n);
    store_messages_free(v, n);
    return c->json ? cli_json_flush(c) : CLI_OK;
}

static const struct cli_option write_options[] = {
    {"to", 0, "AUTHOR", "(moderators) the member to write to, by key prefix"},
    {"about", 0, "ID", "the post or reply it is about"},
    {"text", 't', "TEXT", "the message (else read from stdin)"},
    {NULL, 0, NULL, NULL},
};

const struct cli_command cmd_message = {
    .name = "message",
    .run = write_message,
    .group = "write",
    .summary = "write privately to the moderators (or, as one, to a member)",
    .synopsis = "[--to AUTHOR] [--about ID] [--text TEXT]",
    .details = "The text is sealed to the member and everyone who moderates now: other\n"
               "nodes carry it but nobody else can read it. A moderator made later does not\n"
               "read what came before. `hearth retract ID` takes a message back.",
    .options = write_options,
    .min_args = 0,
    .max_args = 0,
    .needs = CLI_NEEDS_WRITE | CLI_NEEDS_KEY,
};

const struct cli_command cmd_messages = {
    .name = "messages",
    .run = read_messages,
    .group = "read",
    .summary = "your conversation with the moderators (moderators: every conversation)",
    .synopsis = "[AUTHOR]",
    .details = "A moderator without AUTHOR sees every member who wrote, the newest first,\n"
               "marked when the member spoke last; with AUTHOR, that conversation.",
    .min_args = 0,
    .max_args = 1,
    .needs = CLI_NEEDS_STORE | CLI_NEEDS_KEY,
};
