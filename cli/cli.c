#include "cli/cli.h"
#include "node/clock.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/limits.h"
#include "base/utf8.h"

/* The most that `post` and friends read from standard input: far above any body the
 * format allows, so that the "too long" message can say how long, and bounded. */
#define CLI_MAX_STDIN (4u * 1024 * 1024)

void cli_init(struct cli *c)
{
    memset(c, 0, sizeof *c);
    json_init(&c->out);
}

void cli_release(struct cli *c)
{
    store_boards_free(c->boards, c->nboards);
    for (size_t i = 0; i < c->nmuted; i++)
        free(c->muted[i]);
    free(c->muted);
    store_destroy(&c->store);
    if (c->has_key)
        hkey_wipe(&c->key);
    free(c->dir);
    json_release(&c->out);
    memset(c, 0, sizeof *c);
}

const struct cli_command *cli_command_find(const char *name)
{
    for (const struct cli_command *const *p = cli_commands; *p; p++)
        if (strcmp((*p)->name, name) == 0)
            return *p;
    return NULL;
}

/* ---- errors ---- */

int cli_exit_code(herr e)
{
    switch (e) {
    case HERR_OK:
        return CLI_OK;
    case HERR_USAGE:
    case HERR_AMBIGUOUS:
        return CLI_USAGE;
    case HERR_NOT_FOUND:
        return CLI_NOT_FOUND;
    case HERR_IO:
    case HERR_FULL:
    case HERR_BUSY:
    case HERR_READONLY:
    case HERR_CORRUPT:
        return CLI_STORAGE;
    case HERR_DENIED:
        return CLI_DENIED;
    case HERR_PROTOCOL:
    case HERR_TIMEOUT:
    case HERR_NET:
        return CLI_NETWORK;
    case HERR_STATE:
    case HERR_NOOP:
        return CLI_STATE;
    case HERR_NOMEM:
    case HERR_DUPLICATE:
        return CLI_FAIL;
    default:
        return herr_is_bad_input(e) ? CLI_BAD_INPUT : CLI_FAIL;
    }
}

int cli_error(const struct cli *c, herr e, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* One line, whatever the message quoted. */
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    fflush(stdout);
    if (c && c->cmd)
        fprintf(stderr, "hearth: %s: %s\n", c->cmd->name, msg);
    else
        fprintf(stderr, "hearth: %s\n", msg);
    return cli_exit_code(e);
}

int cli_store_error(const struct cli *c, herr e, const char *what)
{
    const char *detail = c->store ? store_errmsg(c->store) : "";
    if (!detail || !*detail)
        detail = herr_str(e);
    /* Trouble with the data directory names the directory and the kind of trouble
     * first, SQLite's words after. */
    /* The store's detail names the directory, the space free and what is needed. */
    const char *full = e == HERR_FULL ? strstr(detail, "the disk is full") : NULL;
    if (!full && e == HERR_FULL)
        full = strstr(detail, "no room to write");
    if (!what && full)
        return cli_error(c, e, "%s", full);
    if (!what && c->dir && e == HERR_READONLY)
        return cli_error(c, e, "the data directory %s is read-only (%s)", c->dir, detail);
    if (!what && c->dir && e == HERR_CORRUPT)
        return cli_error(c, e, "%s: %s (%s): %s", c->dir, herr_str(e), detail, CLI_REPAIR_HINT);
    if (!what && c->dir && cli_exit_code(e) == CLI_STORAGE) {
        if (e == HERR_BUSY || strcmp(detail, herr_str(e)) == 0)
            return cli_error(c, e, "%s: %s", c->dir, herr_str(e));
        return cli_error(c, e, "%s: %s (%s)", c->dir, herr_str(e), detail);
    }
    if (what)
        return cli_error(c, e, "%s: %s", what, detail);
    return cli_error(c, e, "%s", detail);
}

/* ---- arguments ---- */

static int option_index(const struct cli_command *cmd, const char *name, size_t n, char short_name)
{
    if (!cmd->options)
        return -1;
    for (int i = 0; i < CLI_MAX_OPTIONS && cmd->options[i].name; i++) {
        const struct cli_option *o = &cmd->options[i];
        if (short_name ? o->short_name == short_name
                       : strlen(o->name) == n && memcmp(o->name, name, n) == 0)
            return i;
    }
    return -1;
}

/* usage_error - "PROBLEM 'WHAT' (see 'hearth CMD --help')". */
static int usage_error(const struct cli *c, const char *problem, const char *what)
{
    return cli_error(c, HERR_USAGE, "%s '%s' (see 'hearth %s --help')", problem, what,
                     c->cmd->name);
}

/* set_opt - option k takes value (as written: `as_given`). */
static int set_opt(struct cli *c, int k, const char *value, const char *as_given)
{
    if (c->nvalues == CLI_MAX_VALUES)
        return usage_error(c, "too many options, at", as_given);
    c->opt[k] = value;
    c->value_opt[c->nvalues] = k;
    c->values[c->nvalues++] = value;
    return CLI_OK;
}

/* data_dir_option - the global -d DIR / --data-dir DIR given after the command
 * (`hearth read -d DIR ID`): `value` when it came attached, else the next word. */
static int data_dir_option(struct cli *c, int argc, char **argv, int *i, const char *value)
{
    if (!value) {
        if (*i + 1 >= argc)
            return usage_error(c, "a directory must follow", argv[*i]);
        value = argv[++*i];
    }
    c->dir_option = value;
    return CLI_OK;
}

/* long_option - "--name" or "--name=value" at argv[*i]. */
static int long_option(struct cli *c, int argc, char **argv, int *i, bool *help)
{
    const char *name = argv[*i] + 2;
    const char *eq = strchr(name, '=');
    size_t n = eq ? (size_t)(eq - name) : strlen(name);
    if (!eq && strcmp(name, "json") == 0) {
        c->json = true;
        return CLI_OK;
    }
    if (!eq && strcmp(name, "help") == 0) {
        *help = true;
        return CLI_OK;
    }
    if (n == 8 && memcmp(name, "data-dir", 8) == 0)
        return data_dir_option(c, argc, argv, i, eq ? eq + 1 : NULL);
    int k = option_index(c->cmd, name, n, 0);
    if (k < 0)
        return usage_error(c, "unknown option", argv[*i]);
    const struct cli_option *o = &c->cmd->options[k];
    if (!o->arg) {
        if (eq)
            return usage_error(c, "no value goes with", argv[*i]);
        return set_opt(c, k, "", argv[*i]);
    } else if (eq) {
        return set_opt(c, k, eq + 1, argv[*i]);
    } else if (*i + 1 < argc) {
        ++*i;
        return set_opt(c, k, argv[*i], argv[*i - 1]);
    }
    return usage_error(c, "a value must follow", argv[*i]);
}

/* short_option - "-x", "-x value" or "-xvalue" at argv[*i]. */
static int short_option(struct cli *c, int argc, char **argv, int *i, bool *help)
{
    const char *a = argv[*i];
    if (a[1] == 'h' && a[2] == '\0') {
        *help = true;
        return CLI_OK;
    }
    if (a[1] == 'd')
        return data_dir_option(c, argc, argv, i, a[2] ? a + 2 : NULL);
    int k = option_index(c->cmd, NULL, 0, a[1]);
    if (k < 0)
        return usage_error(c, "unknown option", a);
    const struct cli_option *o = &c->cmd->options[k];
    if (!o->arg) {
        if (a[2] != '\0')
            return usage_error(c, "unknown option", a);
        return set_opt(c, k, "", a);
    } else if (a[2] != '\0') {
        return set_opt(c, k, a + 2, a);
    } else if (*i + 1 < argc) {
        ++*i;
        return set_opt(c, k, argv[*i], a);
    }
    return usage_error(c, "a value must follow", argv[*i]);
}

int cli_parse_args(struct cli *c, int argc, char **argv, bool *help)
{
    bool options_end = false;
    int rc;
    *help = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!options_end && strcmp(a, "--") == 0) {
            options_end = true;
            continue;
        }
        if (!options_end && a[0] == '-' && a[1] == '-') {
            if ((rc = long_option(c, argc, argv, &i, help)))
                return rc;
            continue;
        }
        if (!options_end && a[0] == '-' && a[1] != '\0') {
            if ((rc = short_option(c, argc, argv, &i, help)))
                return rc;
            continue;
        }
        if (c->nargs >= c->cmd->max_args || c->nargs >= CLI_MAX_ARGS)
            return usage_error(c, "unexpected argument", a);
        c->args[c->nargs++] = a;
    }
    if (!*help && c->nargs < c->cmd->min_args)
        return cli_error(c, HERR_USAGE, "missing argument (usage: hearth %s %s)", c->cmd->name,
                         c->cmd->synopsis);
    return CLI_OK;
}

const char *cli_opt(const struct cli *c, const char *name)
{
    int k = option_index(c->cmd, name, strlen(name), 0);
    return k < 0 ? NULL : c->opt[k];
}

int cli_opt_all(const struct cli *c, const char *name, const char **vals, int max)
{
    int k = option_index(c->cmd, name, strlen(name), 0), n = 0;
    for (int i = 0; k >= 0 && i < c->nvalues && n < max; i++)
        if (c->value_opt[i] == k)
            vals[n++] = c->values[i];
    return n;
}

bool cli_flag(const struct cli *c, const char *name)
{
    return cli_opt(c, name) != NULL;
}

void cli_print_usage(const struct cli_command *cmd, FILE *f)
{
    fprintf(f, "usage: hearth [-d DIR] %s%s%s\n\n%s\n", cmd->name, *cmd->synopsis ? " " : "",
            cmd->synopsis, cmd->summary);
    if (cmd->details)
        fprintf(f, "\n%s\n", cmd->details);
    fprintf(f, "\noptions:\n");
    for (const struct cli_option *o = cmd->options; o && o->name; o++) {
        char left[64];
        snprintf(left, sizeof left, "%c%c%c --%s%s%s", o->short_name ? '-' : ' ',
                 o->short_name ? o->short_name : ' ', o->short_name ? ',' : ' ', o->name,
                 o->arg ? " " : "", o->arg ? o->arg : "");
        fprintf(f, "  %-26s %s\n", left, o->help);
    }
    fprintf(f, "  %-26s %s\n", "    --json", "print JSON for scripts (docs/CLI.md)");
    fprintf(f, "  %-26s %s\n", "-h, --help", "show this help");
}

/* ---- the data directory ---- */

static char *join(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *s = malloc(na + nb + 2);
    if (!s)
        return NULL;
    memcpy(s, a, na);
    s[na] = '/';
    memcpy(s + na + 1, b, nb + 1);
    return s;
}

int cli_resolve_dir(struct cli *c)
{
    const char *env;
    if (c->dir)
        return CLI_OK;
    if (c->dir_option) {
        if (!*c->dir_option)
            return cli_error(c, HERR_USAGE, "-d needs a directory, not an empty string");
        c->dir = strdup(c->dir_option);
    } else if ((env = getenv("HEARTH_HOME")) && *env) {
        c->dir = strdup(env);
    } else if ((env = getenv("XDG_DATA_HOME")) && env[0] == '/') {
        /* The XDG spec says a relative XDG_DATA_HOME is invalid and to be ignored. */
        c->dir = join(env, "hearth");
    } else {
        const char *home = getenv("HOME");
        if (!home || !*home) {
            struct passwd *pw = getpwuid(getuid());
            home = pw ? pw->pw_dir : NULL;
        }
        if (!home || !*home)
            return cli_error(c, HERR_USAGE,
                             "no home directory to keep the forum in (use -d DIR or HEARTH_HOME)");
        c->dir = join(home, ".local/share/hearth");
    }
    if (!c->dir)
        return cli_error(c, HERR_NOMEM, "%s", herr_str(HERR_NOMEM));
    size_t n = strlen(c->dir);
    while (n > 1 && c->dir[n - 1] == '/')
        c->dir[--n] = '\0';
    return CLI_OK;
}

char *cli_path(const struct cli *c, const char *name)
{
    return join(c->dir, name);
}

int cli_dir_each(struct cli *c, bool (*want)(const char *name),
                 int (*fn)(struct cli *c, const char *name, void *ctx), void *ctx)
{
    DIR *d = opendir(c->dir);
    if (!d)
        return cli_error(c, herr_from_errno(errno), "cannot read '%s': %s", c->dir,
                         strerror(errno));
    struct dirent *de;
    int rc = CLI_OK;
    while (!rc && (de = readdir(d)))
        if (want(de->d_name))
            rc = fn(c, de->d_name, ctx);
    closedir(d);
    return rc;
}

/* cli_open_error - "cannot open DIR/hearth.db: <kind of trouble> (<sqlite's detail>)". */
int cli_open_error(const struct cli *c, herr e, const char *db)
{
    const char *detail = store_open_error();
    if (e == HERR_CORRUPT)
        return cli_error(c, e, "cannot open %s: %s (%s): %s", db, herr_str(e),
                         detail && *detail ? detail : "damaged", CLI_REPAIR_HINT);
    if (e == HERR_READONLY && c->dir && cli_dir_readonly(c))
        return cli_error(c, e, "the data directory %s is read-only (cannot open %s: %s)", c->dir,
                         db, detail && *detail ? detail : herr_str(e));
    if (detail && *detail && strcmp(detail, herr_str(e)) != 0)
        return cli_error(c, e, "cannot open %s: %s (%s)", db, herr_str(e), detail);
    return cli_error(c, e, "cannot open %s: %s", db, herr_str(e));
}

static int no_forum(const struct cli *c)
{
    return cli_error(NULL, HERR_STATE, "no forum in %s (run 'hearth init')", c->dir);
}

/* load_key - the author key from DIR/author.key. */
static int load_key(struct cli *c, bool need_key)
{
    uint8_t seed[HEARTH_SEED_LEN];
    bool created = false;
    char *path = cli_path(c, "author.key");
    if (!path)
        return cli_error(c, HERR_NOMEM, "%s", herr_str(HERR_NOMEM));
    herr e = seed_file_load(path, false, seed, &created);
    int rc = CLI_OK;
    if (e == HERR_OK) {
        hkey_from_seed(&c->key, seed);
        c->has_key = true;
        store_set_viewer(c->store, c->key.pk);
    } else if (e == HERR_CORRUPT) {
        rc = cli_error(c, e, "%s: not an author key (32 bytes)", path);
    } else if (e == HERR_NOT_FOUND) {
        if (need_key)
            rc = cli_error(c, HERR_STATE, "no author key in %s (run 'hearth init')", c->dir);
    } else if (need_key) {
        rc = cli_error(c, e, "%s: %s", path, herr_str(e));
    }
    explicit_bzero(seed, sizeof seed);
    free(path);
    return rc;
}

/* denied - whether access() said no because of the file system or permissions. */
static bool denied(const char *path)
{
    return access(path, W_OK) != 0 && (errno == EROFS || errno == EACCES || errno == EPERM);
}

bool cli_dir_readonly(const struct cli *c)
{
    char *db = cli_path(c, "hearth.db");
    bool ro = denied(c->dir) || (db && access(db, F_OK) == 0 && denied(db));
    free(db);
    return ro;
}

/* serving - a node holds DIR/serve.lock (`hearth serve` takes it, exclusive, for its
 * life). The probe takes the lock shared for an instant: a node starting in that
 * instant would say another one runs. */
static bool serving(const struct cli *c)
{
    char *path = cli_path(c, "serve.lock");
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    free(path);
    if (fd < 0)
        return false;
    bool held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd);
    return held;
}

int cli_open(struct cli *c, bool write, bool need_key)
{
    struct stat st;
    int rc = cli_resolve_dir(c);
    if (rc)
        return rc;
    char *db = cli_path(c, "hearth.db");
    if (!db)
        return cli_error(c, HERR_NOMEM, "%s", herr_str(HERR_NOMEM));
    if (stat(db, &st) != 0 && errno == ENOENT) {
        free(db);
        return no_forum(c);
    }
    /* SQLite needs to write beside the database (its log) as well as in it. */
    if (write && cli_dir_readonly(c)) {
        free(db);
        return cli_error(c, HERR_READONLY, "the data directory %s is read-only", c->dir);
    }
    herr e = store_open(&c->store, db, write ? 0 : STORE_READONLY);
    /* A replica of an older schema is upgraded by the first open that may write (the
     * first command after hearth itself was upgraded may well be `status`): a reading
     * command does that too where it may write, then reads. Not under a node still
     * running (an older hearth, or it would have upgraded the replica itself: it would
     * then fail on the new schema), nor as another user than the replica's owner (the
     * log files SQLite makes would be that user's). */
    if (e == HERR_READONLY && !write && !cli_dir_readonly(c)) {
        if (serving(c)) {
            free(db);
            return cli_error(c, HERR_BUSY,
                             "the replica in %s needs an upgrade to this hearth, and a node "
                             "still serves it: stop the node, then start it with this hearth",
                             c->dir);
        }
        if (st.st_uid != geteuid()) {
            free(db);
            return cli_error(c, HERR_READONLY,
                             "the replica in %s needs an upgrade to this hearth: run a command "
                             "as its owner (uid %u), or start the node",
                             c->dir, (unsigned)st.st_uid);
        }
        struct store *w = NULL;
        e = store_open(&w, db, 0);
        store_destroy(&w);
        if (!e)
            e = store_open(&c->store, db, STORE_READONLY);
    }
    if (e == HERR_NOT_FOUND) {
        rc = no_forum(c);
    } else if (e) {
        rc = cli_open_error(c, e, db);
    }
    free(db);
    if (rc)
        return rc;
    e = store_forum(c->store, c->forum);
    if (e == HERR_STATE)
        return no_forum(c);
    if (e)
        return cli_store_error(c, e, NULL);
    return load_key(c, need_key);
}

int cli_check(struct cli *c)
{
    bool complete;
    unsigned budget = c->cmd && c->cmd->check_ms ? c->cmd->check_ms : CLI_CHECK_BUDGET_MS;
    const char *skip = getenv("HEARTH_TEST_SKIP_CHECK"); /* docs/OPERATIONS.md, test knobs */
    if (skip && !strcmp(skip, "1")) {
        c->checked_all = false;
        return CLI_OK;
    }
    herr e = store_check(c->store, budget, &complete);
    if (e == HERR_CORRUPT)
        return cli_error(c, e, "the replica in %s is damaged (%s): %s", c->dir,
                         store_errmsg(c->store), CLI_REPAIR_HINT);
    if (e)
        return cli_store_error(c, e, NULL);
    c->checked_ms = wall_ms();
    c->checked_all = complete;
    return CLI_OK;
}

/* ---- ids, posts and boards ---- */

const char *cli_short_id(char buf[13], const uint8_t *id)
{
    char full[2 * HEARTH_ID_LEN + 1];
    hex_encode(full, id, HEARTH_ID_LEN);
    memcpy(buf, full, 12);
    buf[12] = '\0';
    return buf;
}

static bool is_hex_prefix(const char *s)
{
    size_t n = strlen(s);
    if (n < 4 || n > 2 * HEARTH_ID_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]))
            return false;
    return true;
}

int cli_resolve(struct cli *c, const char *arg, uint8_t id[HEARTH_ID_LEN])
{
    char lower[2 * HEARTH_ID_LEN + 1];
    if (!is_hex_prefix(arg))
        return cli_error(c, HERR_USAGE, "'%s' is not an id (4 to 64 hex digits)", arg);
    size_t n = strlen(arg);
    for (size_t i = 0; i <= n; i++)
        lower[i] = (char)tolower((unsigned char)arg[i]);
    herr e = store_resolve(c->store, lower, id);
    switch (e) {
    case HERR_OK:
        return CLI_OK;
    case HERR_NOT_FOUND:
        return cli_error(c, e, "'%s': no such post or event", arg);
    case HERR_AMBIGUOUS:
        return cli_error(c, e, "'%s': ambiguous id, give more digits", arg);
    case HERR_USAGE:
        return cli_error(c, e, "'%s' is not an id (4 to 64 hex digits)", arg);
    default:
        return cli_store_error(c, e, NULL);
    }
}

int cli_get_post(struct cli *c, const char *arg, struct store_post *p)
{
    uint8_t id[HEARTH_ID_LEN];
    int rc = cli_resolve(c, arg, id);
    if (rc)
        return rc;
    herr e = store_post_get(c->store, id, p);
    if (e == HERR_NOT_FOUND)
        return cli_error(c, e, "'%s': no such post or reply", arg);
    if (e)
        return cli_store_error(c, e, NULL);
    return CLI_OK;
}

int cli_page_limit(struct cli *c, size_t *limit)
{
    const char *v = cli_opt(c, "limit");
    *limit = 0;
    if (!v)
        return CLI_OK;
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (errno || end == v || *end || v[0] == '-' || n < 1 || n > STORE_PAGE_MAX)
        return cli_error(c, HERR_USAGE, "--limit: give a number from 1 to %d, not '%s'",
                         STORE_PAGE_MAX, v);
    *limit = n;
    return CLI_OK;
}

void cli_page_next(struct cli *c, const char *cmd, const char *next)
{
    if (c->json) {
        if (next && *next)
            json_str(&c->out, "next", next);
        else
            json_null(&c->out, "next");
    } else if (next && *next) {
        printf("more: hearth %s --before %s\n", cmd, next);
    }
}

int cli_find_board(struct cli *c, const char *arg, uint8_t id[HEARTH_ID_LEN])
{
    herr e = store_board_find(c->store, arg, id);
    switch (e) {
    case HERR_OK:
        return CLI_OK;
    case HERR_NOT_FOUND:
        return cli_error(c, e, "'%s': no such board (see 'hearth boards')", arg);
    case HERR_AMBIGUOUS:
        return cli_error(c, e, "'%s': ambiguous board, give more of its id", arg);
    default:
        return cli_store_error(c, e, NULL);
    }
}

const char *cli_board_name(struct cli *c, const uint8_t id[HEARTH_ID_LEN])
{
    if (!c->boards_loaded) {
        if (store_boards(c->store, &c->boards, &c->nboards) != HERR_OK) {
            c->boards = NULL;
            c->nboards = 0;
        }
        c->boards_loaded = true;
    }
    for (size_t i = 0; i < c->nboards; i++)
        if (memcmp(c->boards[i].id, id, HEARTH_ID_LEN) == 0)
            return c->boards[i].name;
    return NULL;
}

int cli_resolve_author(struct cli *c, const char *arg, uint8_t pk[HEARTH_PK_LEN])
{
    char prefix[2 * HEARTH_PK_LEN + 1];
    size_t n = strlen(arg);
    if (!is_hex_prefix(arg))
        return cli_error(c, HERR_USAGE, "'%s' is not an author key (4 to 64 hex digits)", arg);
    for (size_t i = 0; i <= n; i++)
        prefix[i] = (char)tolower((unsigned char)arg[i]);
    if (n == 2 * HEARTH_PK_LEN)
        return hex_decode(pk, HEARTH_PK_LEN, prefix) == HERR_OK
                   ? CLI_OK
                   : cli_error(c, HERR_USAGE, "'%s' is not an author key", arg);
    /* A prefix names someone this node has heard from: an author of an event held. */
    herr e = store_author_find(c->store, prefix, pk);
    if (e == HERR_AMBIGUOUS)
        return cli_error(c, e, "'%s': ambiguous author key, give more digits", arg);
    if (e == HERR_NOT_FOUND)
        return cli_error(c, HERR_NOT_FOUND, "'%s': no author with that key here", arg);
    return e ? cli_store_error(c, e, NULL) : CLI_OK;
}

char *cli_forum_name(struct cli *c)
{
    char *name = NULL;
    return store_forum_name(c->store, &name) == HERR_OK ? name : NULL;
}

/* ---- text that people type ---- */

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)s[i]))
            return false;
    return true;
}

int cli_check_text(const struct cli *c, const char *what, const char *s, size_t n, size_t max,
                   bool multiline)
{
    if (memchr(s, '\0', n))
        return cli_error(c, HERR_INVALID, "%s contains a NUL byte", what);
    if (!utf8_valid(s, n))
        return cli_error(c, HERR_INVALID, "%s is not valid UTF-8", what);
    if (n > max)
        return cli_error(c, HERR_TOO_LARGE, "%s too long (%zu bytes, at most %zu)", what, n, max);
    if (blank(s, n))
        return cli_error(c, HERR_INVALID, "empty %s", what);
    if (!multiline && (memchr(s, '\n', n) || memchr(s, '\r', n)))
        return cli_error(c, HERR_INVALID, "%s must be one line", what);
    return CLI_OK;
}

/* read_stdin - all of standard input, up to CLI_MAX_STDIN bytes. *n is set past the
 * cap (to CLI_MAX_STDIN + 1) when there was more. */
static int read_stdin(const struct cli *c, char **out, size_t *n)
{
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return cli_error(c, HERR_NOMEM, "%s", herr_str(HERR_NOMEM));
    for (;;) {
        if (len == cap) {
            if (cap > CLI_MAX_STDIN)
                break;
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return cli_error(c, HERR_NOMEM, "%s", herr_str(HERR_NOMEM));
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(STDIN_FILENO, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno != EBADF) {
            int err = errno;
            free(buf);
            return cli_error(c, HERR_IO, "cannot read standard input: %s", strerror(err));
        }
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    *out = buf;
    *n = len;
    return CLI_OK;
}

int cli_body(struct cli *c, const char *opt, char **out)
{
    char *s = NULL;
    size_t n = 0; /* both set by read_stdin on success; gcc -O2 cannot tell */
    int rc;
    *out = NULL;
    if (opt) {
        s = strdup(opt);
        if (!s)
            return cli_error(c, HERR_NOMEM, "%s", herr_str(HERR_NOMEM));
        n = strlen(s);
    } else {
        if (isatty(STDIN_FILENO))
            fprintf(stderr, "(write the %s, then press Ctrl-D on an empty line to finish)\n",
                    c->cmd->name);
        if ((rc = read_stdin(c, &s, &n)))
            return rc;
        if (n > CLI_MAX_STDIN) {
            free(s);
            return cli_error(c, HERR_TOO_LARGE, "body too long (over %u bytes, at most %u)",
                             CLI_MAX_STDIN, HEARTH_MAX_TEXT);
        }
    }
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    if ((rc = cli_check_text(c, "body", s, n, HEARTH_MAX_TEXT, true))) {
        free(s);
        return rc;
    }
    s[n] = '\0';
    *out = s;
    return CLI_OK;
}

const char *cli_role_name(const char *arg)
{
    char buf[32];
    size_t n = 0;
    for (; arg[n] && n + 1 < sizeof buf; n++)
        buf[n] = arg[n] == ' ' || arg[n] == '_' ? '-' : (char)tolower((unsigned char)arg[n]);
    buf[n] = '\0';
    for (const char *const *r = event_roles; *r; r++)
        if (strcmp(*r, buf) == 0)
            return *r;
    return NULL;
}

static herr mute_add(void *ctx, const char *key, const char *value)
{
    struct cli *c = ctx;
    (void)value;
    char **grown = realloc(c->muted, (c->nmuted + 1) * sizeof *grown);
    if (!grown)
        return HERR_NOMEM;
    c->muted = grown;
    if (!(c->muted[c->nmuted] = strdup(key + strlen(CLI_MUTE_PREFIX))))
        return HERR_NOMEM;
    c->nmuted++;
    return HERR_OK;
}

bool cli_contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    if (n == 0)
        return false;
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return true;
    return false;
}

/* utf8_at - the code point that starts at s (decoded leniently: forum text is valid
 * UTF-8, event_parse checked it) and its length in bytes. */
static size_t utf8_at(const unsigned char *s, uint32_t *cp)
{
    size_t len = s[0] < 0x80 ? 1 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
    *cp = len == 1 ? s[0] : (uint32_t)(s[0] & (0x7f >> len));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return i;
        *cp = (*cp << 6) | (s[i] & 0x3fu);
    }
    return len;
}

/* word_char - a code point that belongs to a word: an ASCII letter or digit, or any
 * other code point but the Latin-1 punctuation and symbols, the general punctuation
 * block (dashes, quotes, spaces), CJK punctuation and the fullwidth ASCII
 * punctuation. Letters of every script are word characters; telling each script's
 * punctuation apart would need Unicode's tables, and these are the marks warnings use. */
static bool word_char(uint32_t cp)
{
    if (cp < 0x80)
        return isalnum((int)cp) != 0;
    if (cp <= 0xbf)
        return cp == 0xaa || cp == 0xb5 || cp == 0xba;
    if (cp == 0xd7 || cp == 0xf7 || (cp >= 0x2000 && cp <= 0x206f) ||
        (cp >= 0x3000 && cp <= 0x303f))
        return false;
    return !(cp >= 0xff01 && cp <= 0xff0f);
}

/* word_before - whether the code point that ends just before hay + at is a word
 * character (false at the start). */
static bool word_before(const char *hay, size_t at)
{
    const unsigned char *u = (const unsigned char *)hay;
    if (at == 0)
        return false;
    size_t i = at - 1;
    while (i > 0 && (u[i] & 0xc0) == 0x80 && at - i < 4)
        i--;
    uint32_t cp;
    (void)utf8_at(u + i, &cp);
    return word_char(cp);
}

bool cli_contains_words(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    if (n == 0)
        return false;
    uint32_t first, next;
    (void)utf8_at((const unsigned char *)needle, &first);
    /* A needle that starts (ends) with a mark needs no boundary on that side. */
    bool word_start = word_char(first), word_end = word_before(needle, n);
    for (size_t at = 0; hay[at]; at++) {
        if (strncasecmp(hay + at, needle, n) != 0)
            continue;
        const char *end = hay + at + n;
        bool joined_after = *end && (utf8_at((const unsigned char *)end, &next), word_char(next));
        if ((!word_start || !word_before(hay, at)) && (!word_end || !joined_after))
            return true;
    }
    return false;
}

const char *cli_muted(struct cli *c, const char *cw)
{
    if (!cw || !c->store)
        return NULL;
    if (!c->muted_loaded) {
        /* Settings that cannot be read mute what was read of them, rather than stop
         * the reading. */
        herr e = store_meta_each(c->store, CLI_MUTE_PREFIX, mute_add, c);
        (void)e;
        c->muted_loaded = true;
    }
    for (size_t i = 0; i < c->nmuted; i++)
        if (cli_contains_words(cw, c->muted[i]))
            return c->muted[i];
    return NULL;
}

struct hstr cli_hstr(const char *s)
{
    struct hstr h = {s, s ? (uint32_t)strlen(s) : 0};
    return h;
}

int cli_publish(struct cli *c, struct event_draft *d, uint8_t id[HEARTH_ID_LEN])
{
    d->forum = c->forum;
    herr e = store_publish(c->store, &c->key, d, id);
    if (e)
        return cli_store_error(c, e, NULL);
    return CLI_OK;
}

/* ---- output ---- */

/* harmless - whether the character at s (length len) may reach a terminal as it is:
 * not a C0 or C1 control (other than tab) and not a bidirectional override, which
 * can make text read differently from what it is. */
static bool harmless(const unsigned char *s, size_t len)
{
    if (len == 1)
        return s[0] == '\t' || (s[0] >= 0x20 && s[0] != 0x7f);
    if (len == 2)
        return !(s[0] == 0xc2 && s[1] < 0xa0);
    if (len == 3 && s[0] == 0xe2) {
        unsigned cp = ((s[0] & 0x0fu) << 12) | ((s[1] & 0x3fu) << 6) | (s[2] & 0x3fu);
        return !((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069));
    }
    return true;
}

void cli_print_text(FILE *f, const char *s, const char *indent)
{
    size_t n = strlen(s), i = 0;
    while (i < n) {
        if (s[i] == '\r' && s[i + 1] == '\n') {
            i++;
            continue;
        }
        if (s[i] == '\n') {
            fputc(indent ? '\n' : ' ', f);
            if (indent)
                fputs(indent, f);
            i++;
            continue;
        }
        size_t len = utf8_char_len(s + i, n - i);
        if (len && harmless((const unsigned char *)s + i, len))
            fwrite(s + i, 1, len, f);
        else
            fputs("\xef\xbf\xbd", f); /* U+FFFD */
        i += len ? len : 1;
    }
}

void cli_print_excerpt(FILE *f, const char *s, size_t max)
{
    size_t n = strcspn(s, "\r\n"), i = 0;
    while (i < n) {
        size_t len = utf8_char_len(s + i, n - i);
        if (i + (len ? len : 1) > max)
            break;
        i += len ? len : 1;
    }
    char *line = strndup(s, i);
    if (line)
        cli_print_text(f, line, NULL);
    if (i < strlen(s))
        fputs("...", f);
    free(line);
}

static void relative(char *buf, size_t size, int64_t ago_ms)
{
    int64_t s = ago_ms / 1000;
    if (s < -60)
        snprintf(buf, size, "ahead of this clock");
    else if (s < 60)
        snprintf(buf, size, "just now");
    else if (s < 3600)
        snprintf(buf, size, "%lld min ago", (long long)(s / 60));
    else if (s < 2 * 3600)
        snprintf(buf, size, "1 hour ago");
    else if (s < 86400)
        snprintf(buf, size, "%lld hours ago", (long long)(s / 3600));
    else if (s < 2 * 86400)
        snprintf(buf, size, "yesterday");
    else if (s < 60 * 86400)
        snprintf(buf, size, "%lld days ago", (long long)(s / 86400));
    else
        buf[0] = '\0';
}

const char *cli_format_time(char *buf, size_t size, uint64_t ms)
{
    struct timespec now;
    struct tm tm;
    char abs[32] = "?", rel[32];
    time_t t = (time_t)(ms / 1000);
    if (localtime_r(&t, &tm))
        strftime(abs, sizeof abs, "%Y-%m-%d %H:%M", &tm);
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    relative(rel, sizeof rel, now_ms - (int64_t)ms);
    if (rel[0])
        snprintf(buf, size, "%s (%s)", abs, rel);
    else
        snprintf(buf, size, "%s", abs);
    return buf;
}

void cli_print_author(FILE *f, const struct store_post *p)
{
    char key[2 * HEARTH_PK_LEN + 1];
    hex_encode(key, p->author, HEARTH_PK_LEN);
    if (p->author_name) {
        cli_print_text(f, p->author_name, NULL);
        fprintf(f, " (%.*s)", p->author_key_digits ? (int)p->author_key_digits : 8, key);
    } else {
        fprintf(f, "%.12s", key);
    }
    if (p->author_roles && *p->author_roles) {
        /* The store lists roles with commas; people read them with a space too. */
        fputs(" [", f);
        size_t i = 0;
        for (const char *r = p->author_roles; *r; i++) {
            size_t n = strcspn(r, ",");
            char role[HEARTH_MAX_SHORT + 64];
            snprintf(role, sizeof role, "%.*s", (int)n, r);
            cli_print_text(f, role, NULL);
            /* What the role means here, as its grant says: "professional: counsellor". */
            if (i < STORE_MAX_ROLES && p->role_about[i]) {
                fputs(": ", f);
                cli_print_text(f, p->role_about[i], NULL);
            }
            r += n;
            if (*r == ',' && *++r)
                fputs(", ", f);
        }
        fputs("]", f);
    }
}

void cli_print_muted(FILE *f, const char *warning)
{
    fputs("[muted: ", f);
    cli_print_text(f, warning, NULL);
    fputs("]", f);
}

void cli_print_folded(FILE *f, const uint8_t id[HEARTH_ID_LEN])
{
    char sid[13];
    fprintf(f, "[folded under the warning: hearth read %s --show]", cli_short_id(sid, id));
}

void cli_print_cw(FILE *f, const char *cw)
{
    if (!cw)
        return;
    fputs("[content warning: ", f);
    cli_print_text(f, cw, NULL);
    fputs("] ", f);
}

void cli_print_title(FILE *f, const struct store_post *p, const char *muted)
{
    if (cli_placeholder(p))
        fputs(cli_placeholder(p), f);
    else if (muted)
        cli_print_muted(f, muted);
    else
        cli_print_text(f, p->title ? p->title : "(untitled)", NULL);
}

void cli_print_person(struct cli *c, FILE *f, const uint8_t pk[HEARTH_PK_LEN])
{
    char *name = NULL, *about = NULL, hex[2 * HEARTH_PK_LEN + 1];
    hex_encode(hex, pk, HEARTH_PK_LEN);
    uint32_t digits = 8;
    if (store_profile(c->store, pk, &name, &about) == HERR_OK && name) {
        if (store_key_digits(c->store, pk, &digits) != HERR_OK)
            digits = 2 * HEARTH_PK_LEN;
        cli_print_text(f, name, NULL);
        fprintf(f, " (%.*s)", (int)digits, hex);
    } else {
        fprintf(f, "%.12s", hex);
    }
    free(name);
    free(about);
}

#define BOX_LINES 4  /* lines of the resources shown in the box */
#define BOX_WIDTH 66 /* columns of its top and bottom edges */

/* box_edge - "+-- label -----..." to BOX_WIDTH columns. */
static void box_edge(FILE *f, const char *label)
{
    int n = fprintf(f, "+-- %s ", label);
    for (; n < BOX_WIDTH; n++)
        fputc('-', f);
    fputc('\n', f);
}

/* box_line - one line of the box: "| " and the text up to the line break. */
static void box_line(FILE *f, const char *s, size_t n)
{
    char *line = strndup(s, n);
    fputs("| ", f);
    if (line)
        cli_print_text(f, line, NULL);
    fputs("\n", f);
    free(line);
}

void cli_print_resources_box(struct cli *c, FILE *f)
{
    char *text = NULL, *duty = NULL;
    if (store_resources(c->store, &text, &duty) != HERR_OK)
        text = duty = NULL;
    box_edge(f, "if you need help now");
    if (!text || !cli_contains_nocase(text, "not a crisis service"))
        box_line(f, CLI_NOT_A_CRISIS_SERVICE, strlen(CLI_NOT_A_CRISIS_SERVICE));
    int lines = 0;
    bool more = false;
    for (const char *p = text; p && *p;) {
        size_t n = strcspn(p, "\r\n");
        if (n && lines == BOX_LINES) {
            more = true;
            break;
        }
        if (n) {
            box_line(f, p, n);
            lines++;
        }
        p += n;
        p += strspn(p, "\r\n");
    }
    if (more)
        fputs("| ...\n", f);
    if (duty) {
        fputs("| Moderators on duty: ", f);
        cli_print_text(f, duty, NULL);
        fputs("\n", f);
    }
    box_edge(f, "in full: hearth resources");
    fputc('\n', f);
    free(text);
    free(duty);
}

void cli_note_held(struct cli *c, const uint8_t id[HEARTH_ID_LEN])
{
    struct store_post p;
    if (store_post_get(c->store, id, &p) != HERR_OK)
        return;
    if (p.status == POST_HELD)
        printf("it waits for a moderator's approval (a new member's first posts do): until\n"
               "then only you and the moderators see it\n");
    store_posts_free(&p, 1);
}

const char *cli_placeholder(const struct store_post *p)
{
    switch (p->status) {
    case POST_RETRACTED:
        return "[retracted by its author]";
    case POST_REMOVED:
        return "[removed by a moderator]";
    default:
        return p->text ? NULL : "[its words are not on this node]";
    }
}

static void json_roles(struct json *j, const struct store_post *p)
{
    const char *roles = p->author_roles;
    json_array_open(j, "roles");
    while (roles && *roles) {
        const char *end = strchr(roles, ',');
        size_t n = end ? (size_t)(end - roles) : strlen(roles);
        if (n)
            json_strn(j, NULL, roles, n);
        roles += n + (end ? 1 : 0);
    }
    json_array_close(j);
    /* {"professional": "counsellor"}: what the roles that have a description mean. */
    json_object_open(j, "role_about");
    roles = p->author_roles;
    for (size_t i = 0; roles && *roles; i++) {
        size_t n = strcspn(roles, ",");
        if (i < STORE_MAX_ROLES && p->role_about[i]) {
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)n, roles);
            json_str(j, name, p->role_about[i]);
        }
        roles += n + (roles[n] == ',');
    }
    json_object_close(j);
}

static void json_reactions(struct json *j, const struct store_post *p)
{
    json_object_open(j, "reactions");
    for (const char *const *r = event_reactions; *r; r++) {
        uint32_t count = 0;
        for (uint32_t i = 0; i < p->n_reactions && i < STORE_MAX_REACTIONS; i++)
            if (strcmp(p->reactions[i].name, *r) == 0)
                count = p->reactions[i].count;
        json_u64(j, *r, count);
    }
    json_object_close(j);
}

void cli_json_post(struct cli *c, const char *key, const struct store_post *p)
{
    struct json *j = &c->out;
    json_object_open(j, key);
    json_hex(j, "id", p->id, HEARTH_ID_LEN);
    json_str(j, "kind", event_kind_name(p->kind));
    json_hex(j, "author", p->author, HEARTH_PK_LEN);
    json_str(j, "author_name", p->author_name);
    json_roles(j, p);
    json_hex(j, "board", p->board, HEARTH_ID_LEN);
    json_str(j, "board_name", cli_board_name(c, p->board));
    json_hex(j, "thread", p->root, HEARTH_ID_LEN);
    if (p->kind == EK_REPLY)
        json_hex(j, "parent", p->parent, HEARTH_ID_LEN);
    else
        json_null(j, "parent");
    json_u64(j, "seq", p->seq);
    json_u64(j, "created", p->created);
    if (p->edited)
        json_u64(j, "edited", p->edited);
    else
        json_null(j, "edited");
    json_str(j, "title", p->title);
    json_str(j, "body", p->text);
    json_str(j, "cw", p->cw);
    json_str(j, "muted", cli_muted(c, p->cw));
    json_str(j, "status", post_status_name(p->status));
    json_str(j, "hidden_by", post_hidden_by_name(p->hidden_by));
    json_str(j, "mod_reason", p->mod_reason);
    json_bool(j, "locked", p->locked);
    json_bool(j, "pinned", p->pinned);
    json_u64(j, "flags", p->flags);
    json_reactions(j, p);
    json_u64(j, "replies", p->replies);
    json_u64(j, "depth", p->depth);
    json_u64(j, "last_activity", p->last_activity);
    json_object_close(j);
}

void cli_json_posts(struct cli *c, const struct store_post *p, size_t n)
{
    json_array_open(&c->out, NULL);
    for (size_t i = 0; i < n; i++)
        cli_json_post(c, NULL, &p[i]);
    json_array_close(&c->out);
}

int cli_json_published(struct cli *c, uint32_t kind, const uint8_t event[HEARTH_ID_LEN],
                       const uint8_t *target, const uint8_t *post)
{
    struct store_post p;
    if (post) {
        herr e = store_post_get(c->store, post, &p);
        if (e)
            return cli_store_error(c, e, NULL);
    }
    json_object_open(&c->out, NULL);
    json_hex(&c->out, "event", event, HEARTH_ID_LEN);
    json_str(&c->out, "kind", event_kind_name(kind));
    if (target)
        json_hex(&c->out, "target", target, HEARTH_ID_LEN);
    else
        json_null(&c->out, "target");
    if (post) {
        cli_json_post(c, "post", &p);
        store_posts_free(&p, 1);
    } else {
        json_null(&c->out, "post");
    }
    json_object_close(&c->out);
    return cli_json_flush(c);
}

int cli_json_flush(struct cli *c)
{
    if (!json_finish(&c->out))
        return cli_error(c, HERR_NOMEM, "%s", herr_str(HERR_NOMEM));
    fwrite(c->out.b.data, 1, c->out.b.len, stdout);
    return CLI_OK;
}
