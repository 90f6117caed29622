/* cli.h - what every `hearth` subcommand shares: the command context, argument
 * parsing, the data directory, errors and exit codes, and output for people and
 * for scripts.
 *
 * A subcommand is one file, cli/cmd_NAME.c, that defines a `struct cli_command`
 * named cmd_NAME: its name, one-line summary, synopsis, options and what it needs
 * opened (the store, the author key). main.c lists the commands in one table, parses
 * the global options, opens what the command needs and calls its run function with
 * a ready `struct cli`. Adding a command is adding that file and a row to the table.
 *
 * Only this layer prints or exits. A run function returns an exit code (enum
 * cli_exit); on failure it has already printed one line, `hearth: CMD: problem`, on
 * stderr (cli_error()). With --json, a command builds its whole document in c->out
 * and prints it only when it succeeds, so stdout holds valid JSON or nothing.
 */
#ifndef HEARTH_CLI_CLI_H
#define HEARTH_CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/crypto.h"
#include "base/herr.h"
#include "cli/json.h"
#include "store/store.h"

/* Exit codes: what kind of trouble, for scripts. docs/CLI.md and `hearth help` list
 * them; cli_exit_code() maps every herr onto one. Never renumber. */
enum cli_exit {
    CLI_OK = 0,
    CLI_FAIL = 1,      /* anything else (out of memory, cannot write output) */
    CLI_USAGE = 2,     /* a bad command line: unknown option, missing or malformed argument */
    CLI_NOT_FOUND = 3, /* no such post, board or file */
    CLI_BAD_INPUT = 4, /* bad text or data: empty or oversize body, corrupt or foreign bundle */
    CLI_STORAGE = 5,   /* the data directory is in trouble: io, full, read-only, locked, damaged */
    CLI_DENIED = 6,    /* not allowed: someone else's post, a missing role */
    CLI_NETWORK = 7,   /* the network failed */
    CLI_STATE = 8,     /* no forum here yet, already initialised, an action that does nothing */
};

/* What a command needs opened before it runs. */
enum cli_needs {
    CLI_NEEDS_STORE = 1, /* the store, bound to a forum; else "no forum in DIR" */
    CLI_NEEDS_WRITE = 2, /* ... opened for writing (implies CLI_NEEDS_STORE) */
    CLI_NEEDS_KEY = 4,   /* the author key; without it the key is loaded when present */
    CLI_NEEDS_SOUND = 8, /* a replica that passes store_check (cli_check) */
};

struct cli_option {
    const char *name; /* long name without the dashes: "title" */
    char short_name;  /* 0 when none */
    const char *arg;  /* the value's name in help ("TITLE"), NULL for a flag */
    const char *help;
};

#define CLI_MAX_OPTIONS 16
#define CLI_MAX_ARGS 8
#define CLI_MAX_VALUES 32 /* option values in one command line, repeats included */

struct cli;

struct cli_command {
    const char *name;
    int (*run)(struct cli *c);
    const char *group;                /* the heading it is listed under in `hearth help` */
    const char *summary;              /* one line */
    const char *synopsis;             /* what follows `hearth NAME` in the usage line */
    const char *details;              /* more lines for `hearth NAME --help`, or NULL */
    const struct cli_option *options; /* ends with an entry whose name is NULL; may be NULL */
    int min_args, max_args;           /* positional arguments */
    unsigned needs;                   /* enum cli_needs */
    unsigned check_ms;                /* CLI_NEEDS_SOUND's budget; 0: CLI_CHECK_BUDGET_MS */
};

/* The table, in the order `hearth help` lists it; ends with NULL. Defined in main.c. */
extern const struct cli_command *const cli_commands[];

/* cli_command_find - the command called name, or NULL. */
const struct cli_command *cli_command_find(const char *name);

struct cli {
    const struct cli_command *cmd; /* NULL while parsing the global options */
    const char *dir_option;        /* -d DIR, or NULL */
    char *dir;                     /* the data directory, once resolved (owned) */
    bool json;

    /* The command's arguments: options by their index in cmd->options ("" for a
     * flag that is set, NULL when absent), then the positional arguments. */
    const char *opt[CLI_MAX_OPTIONS];
    const char *args[CLI_MAX_ARGS];
    int nargs;
    /* Every option value in order, repeats included (cli_opt gives the last). */
    const char *values[CLI_MAX_VALUES];
    int value_opt[CLI_MAX_VALUES];
    int nvalues;

    struct store *store; /* when the command needs it */
    uint8_t forum[HEARTH_ID_LEN];
    bool has_key;
    struct hkey key;     /* the author key, when has_key */
    uint64_t checked_ms; /* wall-clock ms when cli_check found the replica sound; 0: not */
    bool checked_all;    /* and it read all of it within its budget */

    struct store_board *boards; /* loaded by cli_board_name(), owned */
    size_t nboards;
    bool boards_loaded;

    char **muted; /* this node's muted warnings, loaded by cli_muted(), owned */
    size_t nmuted;
    bool muted_loaded;

    struct json out; /* the --json document */
};

/* ---- lifecycle (main.c) ---- */

void cli_init(struct cli *c);
/* cli_release - close the store, wipe the key, free everything. */
void cli_release(struct cli *c);

/* cli_parse_args - parse argv[0..argc) (the words after the command name) into c's
 * options and arguments. Sets *help when --help or -h was given. Prints and returns
 * CLI_USAGE on a bad command line, else CLI_OK. */
int cli_parse_args(struct cli *c, int argc, char **argv, bool *help);

/* cli_print_usage - the usage of one command on f (`hearth CMD --help`). */
void cli_print_usage(const struct cli_command *cmd, FILE *f);

/* cli_print_help - the list of commands, global options and exit codes on f
 * (`hearth help`; in cmd_help.c). */
void cli_print_help(FILE *f);

/* ---- options ---- */

/* cli_opt - the value of option `name` (long name), or NULL when not given; the
 * last one when given several times. */
const char *cli_opt(const struct cli *c, const char *name);

/* cli_opt_all - every value of a repeatable option `name` in order (at most max in
 * vals); returns how many. */
int cli_opt_all(const struct cli *c, const char *name, const char **vals, int max);
/* cli_flag - whether the flag `name` was given. */
bool cli_flag(const struct cli *c, const char *name);

/* ---- the data directory ---- */

/* cli_resolve_dir - set c->dir: -d DIR, else $HEARTH_HOME, else $XDG_DATA_HOME/hearth,
 * else ~/.local/share/hearth. Prints and returns an exit code on failure. */
int cli_resolve_dir(struct cli *c);

/* cli_path - "DIR/name"; caller frees. NULL when out of memory. */
char *cli_path(const struct cli *c, const char *name);

/* cli_dir_readonly - whether the data directory (resolved) cannot be written: a
 * read-only file system (a mounted backup, a locked stick), or permissions that deny
 * this user. Root passes permission bits, so for root only the first counts. */
bool cli_dir_readonly(const struct cli *c);

/* cli_open - open the store (for writing when `write`: refused at once with "the
 * data directory DIR is read-only" when cli_dir_readonly), check that it belongs to a
 * forum, and load the author key (required when `need_key`, else when present). Sets
 * the store's viewer to the author. Prints and returns an exit code on failure. */
int cli_open(struct cli *c, bool write, bool need_key);

/* cli_check - refuse a damaged replica: store_check within CLI_CHECK_BUDGET_MS, and
 * on damage one line saying why and to run `hearth repair`. Prints and returns an
 * exit code on failure. */
int cli_check(struct cli *c);

#define CLI_CHECK_BUDGET_MS 3000

/* The hint every report of a damaged replica ends with. */
#define CLI_REPAIR_HINT "run 'hearth repair' to rebuild it from the events that still verify"

/* ---- errors ---- */

/* cli_open_error - report a failed store_open of the database at db. */
int cli_open_error(const struct cli *c, herr e, const char *db);

/* cli_exit_code - the exit code for e. */
int cli_exit_code(herr e);

/* cli_error - print "hearth: CMD: <message>" on stderr (one line; without "CMD: "
 * outside a command) and return cli_exit_code(e). */
int cli_error(const struct cli *c, herr e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* cli_store_error - cli_error() with the store's detail for e, after "what: " when
 * what is not NULL. */
int cli_store_error(const struct cli *c, herr e, const char *what);

/* ---- ids, posts and boards ---- */

/* cli_short_id - the first 12 hex digits of id into buf. Returns buf. */
const char *cli_short_id(char buf[13], const uint8_t *id);

/* cli_resolve - the one event whose id starts with the hex prefix `arg` (4 to 64
 * digits). Prints and returns an exit code on failure. */
int cli_resolve(struct cli *c, const char *arg, uint8_t id[HEARTH_ID_LEN]);

/* cli_get_post - resolve `arg` to a post or reply and fetch it into *p (free with
 * store_posts_free(p, 1)). Prints and returns an exit code on failure. */
int cli_get_post(struct cli *c, const char *arg, struct store_post *p);

/* Paged listings (threads, read, search): the options --limit N and --before CURSOR,
 * for a command's options table. */
#define CLI_PAGE_OPTIONS                                                                           \
    {"limit", 'n', "N", "show at most N (default 50, at most 1000)"},                              \
    {                                                                                              \
        "before", 0, "CURSOR", "the page after the one that printed CURSOR"                        \
    }

/* cli_page_limit - the --limit given (0 when none: the store's default); prints and
 * returns an exit code for one that is not a number from 1 to STORE_PAGE_MAX. */
int cli_page_limit(struct cli *c, size_t *limit);

/* cli_page_next - after a page: with --json, "next" (the cursor, or null at the end);
 * else, when there is more, a line saying how to see it ("more: hearth CMD --before
 * CURSOR"). `cmd` is the command line to repeat, without the cursor. */
void cli_page_next(struct cli *c, const char *cmd, const char *next);

/* cli_find_board - the board called `arg` or whose id starts with it. */
int cli_find_board(struct cli *c, const char *arg, uint8_t id[HEARTH_ID_LEN]);

/* cli_board_name - the name of board id, or NULL when unknown (owned by c). */
const char *cli_board_name(struct cli *c, const uint8_t id[HEARTH_ID_LEN]);

/* cli_resolve_author - the author key given as `arg`: 64 hex digits (any key, even
 * one this node has not seen yet), or a prefix of at least 4 digits of the key of an
 * author whose events this node holds. Prints and returns an exit code on failure
 * (2 for a malformed or ambiguous prefix, 3 when no author matches). */
int cli_resolve_author(struct cli *c, const char *arg, uint8_t pk[HEARTH_PK_LEN]);

/* cli_forum_name - the forum's name from its genesis event; NULL when the genesis has
 * not arrived yet (a node that has joined but not synced). Caller frees. */
char *cli_forum_name(struct cli *c);

/* ---- text that people type ---- */

/* cli_check_text - refuse text that the event format would refuse, before touching
 * the store: "WHAT: empty WHAT" for empty or blank text, "WHAT too long (N bytes, at
 * most MAX)", "WHAT is not valid UTF-8", "WHAT contains a NUL byte"; and, unless
 * `multiline`, a line break. Returns CLI_OK or the printed error's exit code. */
int cli_check_text(const struct cli *c, const char *what, const char *s, size_t n, size_t max,
                   bool multiline);

/* cli_body - the body text: the option `opt` when given, else standard input (with a
 * hint on stderr when it is a terminal). Trailing white space is dropped; the result
 * is checked with cli_check_text. Caller frees *out. */
int cli_body(struct cli *c, const char *opt, char **out);

/* cli_hstr - s as a borrowed event string (absent when s is NULL). */
struct hstr cli_hstr(const char *s);

/* cli_role_name - the role `arg` names ("Peer worker", "peer_worker" and "peer-worker"
 * all name "peer-worker"), or NULL when it names none. */
const char *cli_role_name(const char *arg);

/* Local settings (store_meta) that name a muted warning: "mute:" + the warning in
 * lower case. */
#define CLI_MUTE_PREFIX "mute:"

/* cli_muted - the warning this node has muted (hearth settings --mute) that the content
 * warning cw matches, or NULL: a muted warning matches every cw that holds it as whole
 * words (cli_contains_words), so muting "self-harm" also hides "Self-harm, suicide" and
 * muting "ill" hides "ill-health" but not "will". The result is owned by c. */
const char *cli_muted(struct cli *c, const char *cw);

/* cli_publish - publish draft d (its forum filled in here) with the author key.
 * Prints and returns an exit code on failure. */
int cli_publish(struct cli *c, struct event_draft *d, uint8_t id[HEARTH_ID_LEN]);

/* ---- output ---- */

/* cli_print_text - s on f with terminal control characters made harmless (text from
 * the forum must not drive the terminal). Each line after the first is prefixed with
 * indent; when indent is NULL the text is kept to one line, line breaks becoming
 * spaces. */
void cli_print_text(FILE *f, const char *s, const char *indent);

/* cli_print_excerpt - the first line of s on f, cut (with "...") after at most max
 * bytes, at a character boundary; made harmless as by cli_print_text. */
void cli_print_excerpt(FILE *f, const char *s, size_t max);

/* cli_format_time - "2024-05-01 14:03 (3 hours ago)" for ms since 1970, in local
 * time, into buf. Returns buf. */
const char *cli_format_time(char *buf, size_t size, uint64_t ms);

/* cli_print_author - "name (1a2b3c4d)", or the first 12 digits of the key when the
 * author has no pseudonym, then their standing in the forum in brackets, as the store
 * gives it: "[founder]", "[moderator, peer-worker]". */
void cli_print_author(FILE *f, const struct store_post *p);

/* cli_print_muted - "[muted: WARNING]", what stands in for the words (and title) of a
 * post whose warning this node has muted (cli_muted). */
void cli_print_muted(FILE *f, const char *warning);

/* cli_print_folded - "[folded under the warning: hearth read ID --show]", what stands in
 * for the words of a post with a content warning until the reader opens them. */
void cli_print_folded(FILE *f, const uint8_t id[HEARTH_ID_LEN]);

/* cli_print_person - an author key as people read it: "name (1a2b3c4d)" with their
 * pseudonym, else the first 12 digits of the key. */
void cli_print_person(struct cli *c, FILE *f, const uint8_t pk[HEARTH_PK_LEN]);

/* cli_placeholder - what stands in for a post's words when they are gone, e.g.
 * "[retracted by its author]"; NULL when its words are there to show. */
const char *cli_placeholder(const struct store_post *p);

/* cli_contains_words - whether needle (not empty) occurs in hay as whole words,
 * ignoring ASCII case: where needle begins (ends) with a word character, the character
 * before (after) it in hay must not be one. Word characters are ASCII letters and
 * digits and every non-ASCII code point except common punctuation and spaces (Latin-1
 * punctuation, U+2000..U+206F, U+3000..U+303F, fullwidth ASCII punctuation). */
bool cli_contains_words(const char *hay, const char *needle);

/* cli_contains_nocase - whether needle (not empty) occurs in hay, ignoring ASCII case. */
bool cli_contains_nocase(const char *hay, const char *needle);

/* The line every node shows with the crisis resources, unless they say it already. */
#define CLI_NOT_A_CRISIS_SERVICE "This forum is not a crisis service."

/* cli_print_resources_box - the forum's crisis resources in a short box on f (the top
 * of `threads` and `read`): that this forum is not a crisis service, the first lines
 * of the resources, when moderators are on duty, and where to read the rest. Prints
 * the first line alone when the resources have not arrived or cannot be read. */
void cli_print_resources_box(struct cli *c, FILE *f);

/* cli_note_held - after posting the post or reply `id`: when it is held for a
 * moderator's approval, say so on stdout. */
void cli_note_held(struct cli *c, const uint8_t id[HEARTH_ID_LEN]);

/* cli_json_post - p as a JSON object (docs/CLI.md, "A post"). */
void cli_json_post(struct cli *c, const char *key, const struct store_post *p);

/* cli_json_published - print the JSON report of a published event (docs/CLI.md,
 * "Writing commands"): {"event", "kind", "target", "post"}, where post is the post or
 * reply with id `post` as it now reads, or null when post is NULL. */
int cli_json_published(struct cli *c, uint32_t kind, const uint8_t event[HEARTH_ID_LEN],
                       const uint8_t *target, const uint8_t *post);

/* cli_json_flush - print c->out on stdout. */
int cli_json_flush(struct cli *c);

#endif
