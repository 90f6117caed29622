/* web.c - the web server: requests, routes, forms in, pages out (see web.h). */
#include "web/web.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "base/limits.h"
#include "base/mp.h"
#include "base/utf8.h"
#include "node/joinlink.h"
#include "store/event.h"
#include "store/members.h"
#include "store/store.h"
#include "web/cache.h"
#include "web/form.h"
#include "web/html.h"
#include "web/pages.h"
#include "web/session.h"

#define WEB_MAX_PAGE (8u << 20)   /* bytes of one page */
#define WEB_PASS_MIN 10           /* characters of a new passphrase */
#define WEB_PASS_MAX 1024         /* bytes of any passphrase */
#define WEB_FAILS 5               /* failed logins per account or address... */
#define WEB_FAIL_WINDOW_MS 300000 /* ...in five minutes */
#define WEB_INVITE_MS (7 * 86400000ULL)

struct web {
    struct MHD_Daemon *d;
    struct web_config cfg;
    const struct hlog *log;
    uint16_t port;
    uint8_t forum[HEARTH_ID_LEN];
    char *forum_name;
    struct sessions *sessions;
    struct limiter *fails;
    struct cache *pages, *fragments;
    pthread_mutex_t hash_mu;                      /* one Argon2id at a time: it takes tens of MiB */
    uint8_t dummy_sealed[HEARTH_SEALED_SEED_LEN]; /* unsealed for unknown logins */
    pthread_mutex_t pool_mu;
    pthread_cond_t pool_cv;
    struct store *pool[WEB_POOL];
    bool busy[WEB_POOL];
    char *tls_key, *tls_cert;
    char *fixed; /* the benchmarks' fixed page, or NULL */
    /* Housekeeping: a thread that ends idle sessions (wiping their keys) on time. */
    pthread_t sweeper;
    bool sweeping, stopping;
    pthread_mutex_t sweep_mu;
    pthread_cond_t sweep_cv;
};

/* One request as the handlers see it. */
struct req {
    struct web *w;
    struct MHD_Connection *conn;
    const char *path;
    bool post;
    struct form form;
    struct store *st;
    char addr[INET6_ADDRSTRLEN + 8];
    struct session_info sess; /* sess.pk: the person the member counts as */
    bool member;
    uint8_t own[HEARTH_PK_LEN]; /* the session's own key (a device's, for a paired account) */
    bool waiting;               /* it asked to be a device and was not accepted yet */
    char anon_csrf[SESSION_TOKEN_HEX + 1]; /* visitors' forms: a cookie and a field */
    bool new_anon_csrf;
    struct page page;
    char *crisis, *roles;
    struct html h;
    /* the answer */
    unsigned status;
    char location[160];
    char cookie[200];
};

/* Accumulated body of a POST, kept between libmicrohttpd's calls. */
struct upload {
    struct hbuf body;
    bool too_large;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the store pool ---- */

static struct store *pool_take(struct web *w)
{
    pthread_mutex_lock(&w->pool_mu);
    for (;;) {
        for (size_t i = 0; i < WEB_POOL; i++) {
            if (!w->busy[i]) {
                w->busy[i] = true;
                pthread_mutex_unlock(&w->pool_mu);
                return w->pool[i];
            }
        }
        pthread_cond_wait(&w->pool_cv, &w->pool_mu);
    }
}

static void pool_give(struct web *w, struct store *st)
{
    pthread_mutex_lock(&w->pool_mu);
    for (size_t i = 0; i < WEB_POOL; i++)
        if (w->pool[i] == st)
            w->busy[i] = false;
    pthread_cond_signal(&w->pool_cv);
    pthread_mutex_unlock(&w->pool_mu);
}

/* ---- small helpers ---- */

static const char *arg(struct req *r, const char *name)
{
    const char *v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
    return v && utf8_valid(v, strlen(v)) && strlen(v) <= HEARTH_MAX_SHORT ? v : NULL;
}

static const char *header(struct req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

static const char *field(struct req *r, const char *name)
{
    return r->post ? form_get(&r->form, name) : NULL;
}

/* id_arg - the 64-hex id that is the rest of the path after prefix. */
static bool id_arg(const char *path, const char *prefix, uint8_t id[HEARTH_ID_LEN])
{
    size_t n = strlen(prefix);
    return !strncmp(path, prefix, n) && strlen(path + n) == 2 * HEARTH_ID_LEN &&
           hex_decode(id, HEARTH_ID_LEN, path + n) == HERR_OK;
}

static void fail_page(struct req *r, unsigned status, const char *what)
{
    html_release(&r->h);
    html_init(&r->h, WEB_MAX_PAGE);
    r->h.markdown = r->w->fragments;
    r->status = status;
    page_error(&r->h, &r->page, (int)status, what);
}

/* redirect - answer 303 See Other to path, followed by id's hex when id is not NULL,
 * then by the anchor of post `at` when that is not NULL. */
static void redirect(struct req *r, const char *path, const uint8_t *id, const uint8_t *at)
{
    char hex[2 * HEARTH_ID_LEN + 1] = "", anchor[16] = "";
    if (id)
        hex_encode(hex, id, HEARTH_ID_LEN);
    if (at) {
        strcpy(anchor, "#p");
        hex_encode(anchor + 2, at, 6);
    }
    snprintf(r->location, sizeof r->location, "%s%s%s", path, hex, anchor);
    r->status = 303;
}

static void store_problem(struct req *r, herr e);
static herr publish(struct req *r, struct event_draft *d, uint8_t id[HEARTH_ID_LEN]);

/* act - sign and commit d, then send the browser to path followed by `target` (NULL:
 * the new event's own id) and the anchor of post `at`; or say why it could not be. */
static void act(struct req *r, struct event_draft *d, const char *path, const uint8_t *target,
                const uint8_t *at)
{
    uint8_t id[HEARTH_ID_LEN];
    herr e = publish(r, d, id);
    if (e)
        store_problem(r, e);
    else
        redirect(r, path, target ? target : id, at);
}

/* store_problem - a person's sentence for a store error on a write. */
static void store_problem(struct req *r, herr e)
{
    const char *detail = store_errmsg(r->st);
    if (e == HERR_DENIED)
        fail_page(r, 403, *detail ? detail : "you may not do that");
    else if (e == HERR_NOOP)
        fail_page(r, 409, *detail ? detail : "that was already done");
    else if (e == HERR_NOT_FOUND)
        fail_page(r, 404, "there is no such post on this hub");
    else if (herr_is_bad_input(e) || e == HERR_USAGE)
        fail_page(r, 400, *detail ? detail : herr_str(e));
    else {
        hlog(r->w->log, HLOG_WARN, "web: %s: %s", herr_str(e), detail);
        fail_page(r, 503, "the hub could not save that just now; please try again");
    }
}

/* publish - sign d with the member's key and commit it; the page is answered only
 * after the commit. */
static herr publish(struct req *r, struct event_draft *d, uint8_t id[HEARTH_ID_LEN])
{
    struct hkey *k = sodium_malloc(sizeof *k);
    if (!k)
        return HERR_NOMEM;
    herr e = HERR_DENIED;
    d->forum = r->w->forum;
    if (!r->waiting && sessions_sign_key(r->w->sessions, r->sess.token, k))
        e = store_publish(r->st, k, d, id);
    hkey_wipe(k);
    sodium_free(k);
    return e;
}

static struct hstr hs(const char *s)
{
    struct hstr h = {s, s ? (uint32_t)strlen(s) : 0};
    return h;
}

/* text_field - the form field as an event string: NULL when empty or blank. */
static const char *text_field(struct req *r, const char *name)
{
    const char *v = field(r, name);
    if (!v)
        return NULL;
    for (const char *p = v; *p; p++)
        if (!isspace((unsigned char)*p))
            return v;
    return NULL;
}

/* check_text - a person's sentence on what is wrong with v, or NULL when fine. */
static const char *check_text(const char *v, size_t max, bool multiline, const char *what)
{
    static __thread char why[128];
    if (!v) {
        snprintf(why, sizeof why, "%s is empty", what);
        return why;
    }
    if (strlen(v) > max) {
        snprintf(why, sizeof why, "%s is too long (at most %zu bytes)", what, max);
        return why;
    }
    if (!form_text_ok(v) || (!multiline && strchr(v, '\n'))) {
        snprintf(why, sizeof why, "%s holds characters that are not allowed", what);
        return why;
    }
    return NULL;
}

/* ---- reading pages ---- */

static void get_home(struct req *r)
{
    struct store_board *b = NULL;
    size_t n = 0;
    herr e = store_boards(r->st, &b, &n);
    struct page_board *v = n ? calloc(n, sizeof *v) : NULL;
    if (e || (n && !v)) {
        store_boards_free(b, n);
        free(v);
        return fail_page(r, 500, "the boards could not be read");
    }
    for (size_t i = 0; i < n; i++) {
        v[i].b = &b[i];
        if (r->member) {
            char what[8 + 2 * HEARTH_ID_LEN];
            uint64_t since = 0;
            strcpy(what, "board:");
            hex_encode(what + 6, b[i].id, HEARTH_ID_LEN);
            if (store_seen_get(r->st, r->sess.pk, what, &since) == HERR_OK && since &&
                store_board_new(r->st, b[i].id, since, &v[i].new_threads) != HERR_OK)
                v[i].new_threads = 0;
        }
    }
    page_home(&r->h, &r->page, v, n);
    free(v);
    store_boards_free(b, n);
}

static void seen_key(char *out, const char *what, const uint8_t id[HEARTH_ID_LEN])
{
    size_t n = strlen(what);
    memcpy(out, what, n);
    hex_encode(out + n, id, HEARTH_ID_LEN);
}

/* note_visit - move the member's reading mark `what` up to `newest`, the time of the
 * newest thing they have now seen. A mark already there is not written again, so that
 * reading is not a durable write (an fsync) on every page. */
static void note_visit(struct req *r, const char *what, uint64_t newest)
{
    uint64_t seen = 0;
    if (!newest || (store_seen_get(r->st, r->sess.pk, what, &seen) == HERR_OK && seen >= newest))
        return;
    if (store_seen_set(r->st, r->sess.pk, what, newest) != HERR_OK)
        hlog(r->w->log, HLOG_DEBUG, "web: cannot note a visit: %s", store_errmsg(r->st));
}

static uint64_t newest_activity(const struct store_post *t, size_t n)
{
    uint64_t newest = 0;
    for (size_t i = 0; i < n; i++)
        newest = t[i].last_activity > newest ? t[i].last_activity : newest;
    return newest;
}

static void get_board(struct req *r, const uint8_t id[HEARTH_ID_LEN])
{
    struct store_board b;
    size_t n = 0;
    struct store_post *t = NULL;
    const char *before = arg(r, "before");
    char next[STORE_CURSOR_MAX];
    herr e = store_board_get(r->st, id, &b);
    if (e)
        return fail_page(r, e == HERR_NOT_FOUND ? 404 : 500, "there is no such board");
    /* A page is read from the cursor through the board's index: the thousandth page
     * of a board of 300,000 threads costs what the first does. */
    if ((e = store_threads_before(r->st, id, before, WEB_PER_PAGE, &t, &n, next))) {
        store_board_release(&b);
        return fail_page(r, e == HERR_USAGE ? 400 : 500,
                         e == HERR_USAGE ? "there is no such page" : "the board could not be read");
    }
    bool first = !before || !*before;
    bool unread[WEB_PER_PAGE] = {0};
    if (r->member) {
        char what[16 + 2 * HEARTH_ID_LEN];
        for (size_t i = 0; i < n; i++) {
            uint64_t seen = 0;
            seen_key(what, "thread:", t[i].id);
            unread[i] = store_seen_get(r->st, r->sess.pk, what, &seen) == HERR_OK &&
                        t[i].last_activity > seen;
        }
        seen_key(what, "board:", id);
        note_visit(r, what, first ? newest_activity(t, n) : 0);
    }
    page_board(&r->h, &r->page, &b, t, r->member ? unread : NULL, n, first, next);
    store_posts_free(t, n);
    store_board_release(&b);
}

static void get_thread(struct req *r, const uint8_t id[HEARTH_ID_LEN])
{
    struct store_post *v = NULL, root;
    size_t n = 0;
    const char *before = arg(r, "before");
    bool first = !before || !*before;
    char next[STORE_CURSOR_MAX];
    herr e = store_post_get(r->st, id, &root);
    if (e)
        return fail_page(r, e == HERR_NOT_FOUND ? 404 : 500, "there is no such thread");
    if (root.kind != EK_POST) {
        store_posts_free(&root, 1);
        return fail_page(r, 404, "there is no such thread");
    }
    /* A page at a time from the cursor: a thread of 100,000 replies is read a page at
     * a time (store_thread_before), never whole. */
    e = store_thread_before(r->st, id, before, WEB_THREAD_PAGE, &v, &n, next);
    if (e || (first && !n)) {
        store_posts_free(&root, 1);
        return fail_page(r,
                         e == HERR_USAGE            ? 400
                         : e && e != HERR_NOT_FOUND ? 500
                                                    : 404,
                         e == HERR_USAGE ? "there is no such page" : "there is no such thread");
    }
    struct store_my_reaction *mine = NULL;
    size_t nmine = 0, max = 8 * (n + 1);
    if (r->member) {
        if (!(mine = calloc(max, sizeof *mine)) ||
            store_thread_reactions(r->st, id, r->sess.pk, mine, max, &nmine))
            nmine = 0;
        char what[16 + 2 * HEARTH_ID_LEN];
        seen_key(what, "thread:", id);
        note_visit(r, what, root.last_activity);
    }
    page_thread(&r->h, &r->page, &root, v, n, first, next, mine, nmine);
    free(mine);
    store_posts_free(v, n);
    store_posts_free(&root, 1);
}

static void get_search(struct req *r)
{
    const char *q = arg(r, "q"), *before = arg(r, "before");
    struct store_post *v = NULL;
    size_t n = 0;
    char next[STORE_CURSOR_MAX] = "";
    if (q && *q) {
        herr e = store_search_before(r->st, q, before, WEB_SEARCH_PAGE, &v, &n, next);
        if (e == HERR_USAGE && before && *before)
            return fail_page(r, 400, "there is no such page");
        if (e && e != HERR_USAGE)
            return fail_page(r, 500, "the search did not work");
    }
    page_search(&r->h, &r->page, q, v, n, !before || !*before, next);
    store_posts_free(v, n);
}

static void get_profile(struct req *r, const uint8_t pk[HEARTH_PK_LEN])
{
    char *name = NULL, *about = NULL, *roles = NULL;
    struct store_post *v = NULL;
    size_t n = 0;
    herr e = store_profile(r->st, pk, &name, &about);
    if (!e)
        e = store_roles(r->st, pk, &roles);
    if (!e)
        e = store_author_posts(r->st, pk, 50, &v, &n);
    if (e)
        fail_page(r, 500, "that profile could not be read");
    else if (!name && !n && !(r->member && !memcmp(pk, r->sess.pk, HEARTH_PK_LEN)))
        fail_page(r, 404, "there is no such member");
    else
        page_profile(&r->h, &r->page, pk, name, about, roles, v, n,
                     r->member && !memcmp(pk, r->sess.pk, HEARTH_PK_LEN));
    store_posts_free(v, n);
    free(name);
    free(about);
    free(roles);
}

static void get_replies(struct req *r)
{
    struct store_post *v = NULL, *at = NULL;
    struct store_mod_entry *m = NULL;
    size_t n = 0, nm = 0, na = 0;
    uint64_t since = 0;
    if (store_seen_get(r->st, r->sess.pk, "replies", &since) ||
        store_replies_to(r->st, r->sess.pk, 0, 50, &v, &n) ||
        store_mod_about(r->st, r->sess.pk, 0, 50, &m, &nm) ||
        store_mentions(r->st, r->sess.pk, 0, 50, &at, &na)) {
        store_posts_free(v, n);
        store_mod_log_free(m, nm);
        return fail_page(r, 500, "your replies could not be read");
    }
    r->page.replies_waiting = 0;
    page_replies(&r->h, &r->page, v, n, at, na, m, nm, since);
    uint64_t newest = 0;
    for (size_t i = 0; i < n; i++)
        newest = v[i].created > newest ? v[i].created : newest;
    for (size_t i = 0; i < na; i++)
        newest = at[i].created > newest ? at[i].created : newest;
    for (size_t i = 0; i < nm; i++)
        newest = m[i].created > newest ? m[i].created : newest;
    note_visit(r, "replies", newest);
    store_posts_free(v, n);
    store_posts_free(at, na);
    store_mod_log_free(m, nm);
}

/* ---- the private channel with the moderators ---- */

/* reader_key - the member's key, in guarded memory (free with drop_key), or NULL. */
static struct hkey *reader_key(struct req *r)
{
    struct hkey *k = sodium_malloc(sizeof *k);
    if (k && !sessions_sign_key(r->w->sessions, r->sess.token, k)) {
        sodium_free(k);
        k = NULL;
    }
    return k;
}

static void drop_key(struct hkey *k)
{
    if (k) {
        hkey_wipe(k);
        sodium_free(k);
    }
}

/* show_conversation - member's conversation, as the member reads it. */
static void show_conversation(struct req *r, const uint8_t member[HEARTH_PK_LEN])
{
    struct store_message *v = NULL;
    size_t n = 0;
    uint64_t since = 0;
    struct hkey *k = reader_key(r);
    herr e = k ? store_conversation(r->st, k, member, &v, &n) : HERR_DENIED;
    drop_key(k);
    if (e)
        return fail_page(r, 500, "the messages could not be read");
    bool own = memcmp(member, r->sess.pk, HEARTH_PK_LEN) == 0;
    char what[HEARTH_MAX_SEEN_WHAT];
    seen_key(what, "messages:", member);
    if (store_seen_get(r->st, r->sess.pk, what, &since) != HERR_OK)
        since = 0;
    char *name = NULL, *about = NULL;
    if (own)
        r->page.messages_waiting = 0;
    else if (store_profile(r->st, member, &name, &about) != HERR_OK)
        name = NULL;
    free(about);
    page_conversation(&r->h, &r->page, member, name, v, n, since);
    uint64_t newest = 0;
    for (size_t i = 0; i < n; i++)
        newest = v[i].arrival > newest ? v[i].arrival : newest;
    if (newest > since && store_seen_set(r->st, r->sess.pk, what, newest) != HERR_OK)
        hlog(r->w->log, HLOG_WARN, "web: a reading mark could not be saved: %s",
             store_errmsg(r->st));
    free(name);
    store_messages_free(v, n);
}

/* send_message - a message from the form to member's conversation, then back to it. */
static void send_message(struct req *r, const uint8_t member[HEARTH_PK_LEN], const char *back,
                         bool with_key)
{
    const char *text = text_field(r, "text");
    const char *bad = check_text(text, HEARTH_MSG_MAX_TEXT, true, "your message");
    if (bad)
        return fail_page(r, 400, bad);
    struct event_draft d = {.kind = EK_MESSAGE, .message_text = text};
    d.b.subject = member;
    uint8_t id[HEARTH_ID_LEN];
    herr e = publish(r, &d, id);
    if (e)
        return store_problem(r, e);
    redirect(r, back, with_key ? member : NULL, NULL);
}

/* do_messages - /messages: a member's conversation with the moderators (and the form
 * to write to them); for a moderator, the list of every conversation. */
static void do_messages(struct req *r)
{
    if (r->post)
        return send_message(r, r->sess.pk, "/messages", false);
    if (!page_can_moderate(r->roles))
        return show_conversation(r, r->sess.pk);
    struct store_conversation_info *v = NULL;
    size_t n = 0;
    if (store_conversations(r->st, &v, &n))
        return fail_page(r, 500, "the conversations could not be read");
    page_conversations(&r->h, &r->page, v, n);
    store_conversations_free(v, n);
}

/* do_member_messages - /messages/KEY: one member's conversation, for the moderators
 * (and the member themselves). */
static void do_member_messages(struct req *r, const uint8_t member[HEARTH_PK_LEN])
{
    bool own = memcmp(member, r->sess.pk, HEARTH_PK_LEN) == 0;
    if (!own && !page_can_moderate(r->roles))
        return fail_page(r, 403, "only the moderators read members' conversations with them");
    if (!r->post)
        return show_conversation(r, member);
    send_message(r, member, "/messages/", true);
}

/* get_post - /p/ID: a post or reply in its thread. */
static void get_post(struct req *r, const uint8_t id[HEARTH_ID_LEN])
{
    struct store_post p;
    herr e = store_post_get(r->st, id, &p);
    if (e)
        return fail_page(r, e == HERR_NOT_FOUND ? 404 : 500, "there is no such post");
    redirect(r, "/t/", p.root, p.id);
    store_posts_free(&p, 1);
}

static void get_resources(struct req *r)
{
    char *text = NULL, *about = NULL;
    herr e = store_resources(r->st, &text, &about);
    if (e && e != HERR_NOT_FOUND)
        return fail_page(r, 500, "the resources could not be read");
    page_resources(&r->h, &r->page, text, about);
    free(text);
    free(about);
}

/* ---- writing ---- */

/* own_post - the post id, which must exist and (when own) be the member's. */
static bool load_post(struct req *r, const uint8_t id[HEARTH_ID_LEN], struct store_post *p,
                      bool own)
{
    herr e = store_post_get(r->st, id, p);
    if (e) {
        fail_page(r, e == HERR_NOT_FOUND ? 404 : 500, "there is no such post");
        return false;
    }
    if (own && memcmp(p->author, r->sess.pk, HEARTH_PK_LEN)) {
        store_posts_free(p, 1);
        fail_page(r, 403, "that is someone else's post");
        return false;
    }
    return true;
}

/* gone - the post's words are gone (retracted or removed): it takes no replies or
 * reactions from this front-end, though the format would store them. */
static bool gone(const struct store_post *p)
{
    return p->status == POST_RETRACTED || p->status == POST_REMOVED;
}

static void do_new(struct req *r, const uint8_t board[HEARTH_ID_LEN])
{
    struct store_board b;
    if (store_board_get(r->st, board, &b))
        return fail_page(r, 404, "there is no such board");
    const char *title = text_field(r, "title"), *text = text_field(r, "text"),
               *cw = text_field(r, "cw");
    const char *problem = NULL;
    if (r->post) {
        if (!(problem = check_text(title, HEARTH_MAX_TITLE, false, "the title")) &&
            !(problem = check_text(text, HEARTH_MAX_TEXT, true, "the text")) &&
            !(problem = cw ? check_text(cw, HEARTH_MAX_SHORT, false, "the warning") : NULL)) {
            struct event_draft d = {.kind = EK_POST, .ref = board};
            d.b.title = hs(title);
            d.b.text = hs(text);
            d.b.cw = hs(cw);
            act(r, &d, "/t/", NULL, NULL); /* to the new thread */
            store_board_release(&b);
            return;
        }
        r->status = 400;
    }
    page_compose(&r->h, &r->page, &b, title, text, cw, problem);
    store_board_release(&b);
}

static void do_reply(struct req *r, const uint8_t parent_id[HEARTH_ID_LEN])
{
    struct store_post parent;
    if (!load_post(r, parent_id, &parent, false))
        return;
    const char *text = text_field(r, "text"), *cw = text_field(r, "cw");
    const char *problem = gone(&parent) ? "that post was taken back or removed: it takes no replies"
                                        : check_text(text, HEARTH_MAX_TEXT, true, "the reply");
    if (!problem && cw)
        problem = check_text(cw, HEARTH_MAX_SHORT, false, "the warning");
    if (problem) {
        fail_page(r, 400, problem);
    } else {
        struct event_draft d = {.kind = EK_REPLY, .root = parent.root, .ref = parent.id};
        uint8_t id[HEARTH_ID_LEN];
        d.b.text = hs(text);
        d.b.cw = hs(cw);
        herr e = publish(r, &d, id);
        if (e) {
            store_problem(r, e);
        } else {
            redirect(r, "/t/", parent.root, id);
        }
    }
    store_posts_free(&parent, 1);
}

static void do_edit(struct req *r, const uint8_t id[HEARTH_ID_LEN])
{
    struct store_post p;
    if (!load_post(r, id, &p, true))
        return;
    if (p.status == POST_RETRACTED || p.status == POST_REMOVED || !p.text) {
        store_posts_free(&p, 1);
        return fail_page(r, 400, "that post's words are gone; it cannot be edited");
    }
    const char *text = text_field(r, "text"), *cw = text_field(r, "cw");
    const char *problem = NULL;
    if (r->post) {
        if (!(problem = check_text(text, HEARTH_MAX_TEXT, true, "the text")) &&
            !(problem = cw ? check_text(cw, HEARTH_MAX_SHORT, false, "the warning") : NULL)) {
            struct event_draft d = {.kind = EK_EDIT, .ref = p.id};
            d.b.text = hs(text);
            d.b.title = hs(p.kind == EK_POST ? p.title : NULL);
            d.b.cw = hs(cw);
            act(r, &d, "/t/", p.root, NULL);
            store_posts_free(&p, 1);
            return;
        }
        r->status = 400;
    }
    page_edit(&r->h, &r->page, &p, text, problem);
    store_posts_free(&p, 1);
}

static void do_retract(struct req *r, const uint8_t id[HEARTH_ID_LEN])
{
    struct store_post p;
    if (!load_post(r, id, &p, true))
        return;
    if (r->post && field(r, "confirm") && !strcmp(field(r, "confirm"), "yes")) {
        struct event_draft d = {.kind = EK_RETRACT, .ref = p.id};
        if (p.status == POST_RETRACTED) /* taken back already: nothing to sign */
            redirect(r, "/t/", p.root, NULL);
        else
            act(r, &d, "/t/", p.root, NULL);
    } else {
        page_confirm(&r->h, &r->page, &p, "retract", NULL);
    }
    store_posts_free(&p, 1);
}

static void do_flag(struct req *r, const uint8_t id[HEARTH_ID_LEN])
{
    struct store_post p;
    if (!load_post(r, id, &p, false))
        return;
    const char *reason = text_field(r, "reason"), *problem = NULL;
    if (!memcmp(p.author, r->sess.pk, HEARTH_PK_LEN)) {
        fail_page(r, 400, "you cannot flag your own post; you can edit it or take it back");
    } else if (r->post && !(problem = check_text(reason, HEARTH_MAX_SHORT, false, "the reason"))) {
        struct event_draft d = {.kind = EK_FLAG, .ref = p.id};
        d.b.reason = hs(reason);
        act(r, &d, "/t/", p.root, NULL);
    } else {
        r->status = r->post ? 400 : 200;
        page_confirm(&r->h, &r->page, &p, "flag", problem);
    }
    store_posts_free(&p, 1);
}

/* do_react - a reaction button toggles: the member's standing reaction of that name is
 * taken back (a retraction of the react event), else one is sent. */
static void do_react(struct req *r, const uint8_t id[HEARTH_ID_LEN])
{
    struct store_post p;
    const char *name = field(r, "reaction");
    bool known = false;
    for (const char *const *x = event_reactions; name && *x; x++)
        known |= !strcmp(*x, name);
    if (!known)
        return fail_page(r, 400, "that is not a reaction");
    if (!load_post(r, id, &p, false))
        return;
    if (gone(&p)) {
        store_posts_free(&p, 1);
        return fail_page(r, 400, "that post was taken back or removed: it takes no reactions");
    }
    struct store_my_reaction mine[8];
    size_t n = 0;
    herr e = store_my_reactions(r->st, p.id, r->sess.pk, mine, 8, &n);
    struct event_draft d = {.kind = EK_REACT, .ref = p.id};
    d.b.reaction = hs(name);
    for (size_t i = 0; !e && i < n; i++) {
        if (!strcmp(mine[i].name, name)) {
            d = (struct event_draft){.kind = EK_RETRACT, .ref = mine[i].id};
            break;
        }
    }
    if (e)
        store_problem(r, e);
    else
        act(r, &d, "/t/", p.root, p.id);
    store_posts_free(&p, 1);
}

static void do_profile(struct req *r)
{
    const char *name = text_field(r, "name"), *about = text_field(r, "about");
    const char *problem = check_text(name, HEARTH_MAX_NAME, false, "the name");
    if (!problem && about)
        problem = check_text(about, HEARTH_MAX_SHORT, true, "the about text");
    if (problem)
        return fail_page(r, 400, problem);
    struct event_draft d = {.kind = EK_PROFILE};
    d.b.name = hs(name);
    d.b.about = hs(about);
    act(r, &d, "/u/", r->sess.pk, NULL);
}

/* do_mod - the moderation form of one post (GET), or an action on it (POST): signed
 * by the moderator, with the reason other moderators and the author will read. */
static void do_mod(struct req *r, const uint8_t id[HEARTH_ID_LEN])
{
    static const char *const on_post[] = {"approve", "hide", "unhide", "remove", "lock",
                                          "unlock",  "pin",  "unpin",  NULL};
    if (!page_can_moderate(r->roles))
        return fail_page(r, 403, "only moderators can do that");
    struct store_post p;
    if (!load_post(r, id, &p, false))
        return;
    const char *action = field(r, "action"), *reason = text_field(r, "reason"), *problem = NULL;
    if (r->post) {
        bool post_act = false,
             author_act = action && (!strcmp(action, "ban") || !strcmp(action, "unban"));
        for (const char *const *a = on_post; action && *a; a++)
            post_act |= !strcmp(*a, action);
        problem = !post_act && !author_act
                      ? "choose what to do"
                      : check_text(reason, HEARTH_MAX_SHORT, false, "the reason");
        if (!problem) {
            struct event_draft d = {.kind = EK_MOD, .ref = post_act ? p.id : NULL};
            d.b.action = hs(action);
            d.b.reason = hs(reason);
            d.b.subject = author_act ? p.author : NULL;
            act(r, &d, "/mod/", p.id, NULL);
            store_posts_free(&p, 1);
            return;
        }
        r->status = 400;
    }
    struct store_mod_entry *log = NULL;
    size_t n = 0;
    if (store_mod_log(r->st, p.id, 50, &log, &n))
        n = 0;
    page_moderate(&r->h, &r->page, &p, log, n, problem);
    store_mod_log_free(log, n);
    store_posts_free(&p, 1);
}

static void get_modlog(struct req *r)
{
    if (!page_can_moderate(r->roles))
        return fail_page(r, 403, "only moderators see the moderation log");
    struct store_mod_entry *log = NULL;
    size_t n = 0;
    if (store_mod_log(r->st, NULL, 200, &log, &n))
        return fail_page(r, 500, "the log could not be read");
    page_modlog(&r->h, &r->page, log, n);
    store_mod_log_free(log, n);
}

/* do_admin - roles, settings and resources, for the founder and admins (the store
 * refuses the events of anyone else, whatever this page shows). */
static void do_admin(struct req *r)
{
    if (!page_has_role(r->roles, "founder") && !page_has_role(r->roles, "admin"))
        return fail_page(r, 403, "only the founder and admins run the forum");
    const char *what = field(r, "do"), *problem = NULL;
    herr e = HERR_OK;
    uint8_t id[HEARTH_ID_LEN], key[HEARTH_PK_LEN];
    struct store_role_grant *g = NULL;
    size_t n = 0;
    if (store_role_grants(r->st, &g, &n))
        return fail_page(r, 500, "the roles could not be read");
    if (r->post && what && !strcmp(what, "grant")) {
        const char *member = field(r, "member"), *role = field(r, "role");
        const char *about = text_field(r, "about");
        bool known = false;
        for (const char *const *x = event_roles; role && *x; x++)
            known |= !strcmp(*x, role);
        if (!member || strlen(member) != 2 * HEARTH_PK_LEN || hex_decode(key, sizeof key, member))
            problem = "give the member's key: the 64 hex digits on their profile page";
        else if (!known)
            problem = "choose a role";
        else if (about && (problem = check_text(about, HEARTH_MAX_SHORT, false, "the about text")))
            ;
        else {
            struct event_draft d = {.kind = EK_ROLE};
            d.b.subject = key;
            d.b.role = hs(role);
            d.b.has_grant = d.b.grant = true;
            d.b.about = hs(about);
            e = publish(r, &d, id);
        }
    } else if (r->post && what && !strcmp(what, "revoke")) {
        const char *grant = field(r, "grant");
        const struct store_role_grant *x = NULL;
        for (size_t i = 0; grant && i < n; i++) {
            char hex[2 * HEARTH_ID_LEN + 1];
            hex_encode(hex, g[i].grant, HEARTH_ID_LEN);
            if (!strcmp(hex, grant))
                x = &g[i];
        }
        if (!x) {
            problem = "that role is not held any more";
        } else {
            struct event_draft d = {.kind = EK_ROLE, .ref = x->grant};
            d.b.subject = x->subject;
            d.b.role = hs(x->role);
            d.b.has_grant = true;
            d.b.grant = false;
            e = publish(r, &d, id);
        }
    } else if (r->post && what && !strcmp(what, "settings")) {
        const char *hold = field(r, "hold"), *flags = field(r, "flags");
        char *end1 = NULL, *end2 = NULL;
        unsigned long h = hold ? strtoul(hold, &end1, 10) : 0,
                      f = flags ? strtoul(flags, &end2, 10) : 0;
        if (!hold || !flags || !*hold || !*flags || *end1 || *end2 || h > 100 || f > 100) {
            problem = "give each setting as a number from 0 to 100";
        } else {
            struct event_draft d = {.kind = EK_SETTINGS};
            d.b.has_hold = d.b.has_flags = true;
            d.b.hold = h;
            d.b.flags = f;
            e = publish(r, &d, id);
        }
    } else if (r->post && what && !strcmp(what, "resources")) {
        const char *text = text_field(r, "resources"), *duty = text_field(r, "duty");
        if (!(problem = check_text(text, HEARTH_MAX_TEXT, true, "the resources")) &&
            !(problem =
                  duty ? check_text(duty, HEARTH_MAX_SHORT, false, "the duty hours") : NULL)) {
            struct event_draft d = {.kind = EK_RESOURCES};
            d.b.text = hs(text);
            d.b.about = hs(duty);
            e = publish(r, &d, id);
        }
    } else if (r->post && what && (!strcmp(what, "board-add") || !strcmp(what, "board-rename"))) {
        bool rename = !strcmp(what, "board-rename");
        const char *name = text_field(r, "bname"), *about = text_field(r, "babout"),
                   *board = field(r, "board");
        uint8_t target[HEARTH_ID_LEN];
        if (rename && (!board || strlen(board) != 2 * HEARTH_ID_LEN ||
                       hex_decode(target, sizeof target, board)))
            problem = "choose the board to rename";
        else if (!(problem = check_text(name, HEARTH_MAX_NAME, false, "the board's name")) &&
                 !(problem =
                       about ? check_text(about, HEARTH_MAX_SHORT, false, "what the board is for")
                             : NULL)) {
            struct event_draft d = {.kind = EK_BOARD, .ref = rename ? target : NULL};
            d.b.name = hs(name);
            d.b.about = hs(about);
            e = publish(r, &d, id);
        }
    } else if (r->post) {
        problem = "nothing to do";
    }
    store_role_grants_free(g, n);
    if (e)
        return store_problem(r, e);
    if (r->post && !problem)
        return redirect(r, "/admin", NULL, NULL);
    uint64_t hold = 0, flags = 0;
    char *text = NULL, *about = NULL;
    if (store_settings(r->st, &hold, &flags) || (store_resources(r->st, &text, &about) && text))
        return fail_page(r, 500, "the settings could not be read");
    g = NULL;
    n = 0;
    if (store_role_grants(r->st, &g, &n)) {
        free(text);
        free(about);
        return fail_page(r, 500, "the roles could not be read");
    }
    struct store_board *b = NULL;
    size_t nb = 0;
    if (store_boards(r->st, &b, &nb))
        nb = 0;
    if (problem)
        r->status = 400;
    page_admin(&r->h, &r->page, g, n, hold, flags, text, about, b, nb, problem);
    store_boards_free(b, nb);
    store_role_grants_free(g, n);
    free(text);
    free(about);
}

static void get_queue(struct req *r)
{
    struct store_post *v = NULL;
    size_t n = 0;
    herr e = store_mod_queue(r->st, &v, &n);
    if (e == HERR_DENIED)
        return fail_page(r, 403, "only moderators see the moderation queue");
    if (e)
        return fail_page(r, 500, "the queue could not be read");
    page_queue(&r->h, &r->page, v, n);
    store_posts_free(v, n);
}

static void do_invites(struct req *r)
{
    if (!page_can_moderate(r->roles))
        return fail_page(r, 403, "only moderators and admins make invites");
    char code[STORE_INVITE_CODE_LEN + 1], url[300], link[JOINLINK_MAX + 1];
    const char *host = header(r, "Host"), *what = field(r, "do");
    bool made = false, has_link = false;
    uint64_t now = now_ms();
    herr e = HERR_OK;
    if (r->post && what && !strcmp(what, "revoke") && field(r, "revoke")) {
        if ((e = store_invite_revoke(r->st, field(r, "revoke"))))
            return store_problem(r, e);
    } else if (r->post) {
        if ((e = store_invite_create(r->st, r->sess.pk, now, now + WEB_INVITE_MS, code)))
            return store_problem(r, e);
        made = true;
        snprintf(url, sizeof url, "%s://%s/join?code=%s", r->w->tls_cert ? "https" : "http",
                 host && strlen(host) < 200 ? host : "localhost", code);
        if (r->w->cfg.has_join) { /* the link `hearth invite` prints, with this code */
            struct joinlink l = r->w->cfg.join;
            memcpy(l.forum, r->w->forum, HEARTH_ID_LEN);
            l.has_forum = true;
            snprintf(l.invite, sizeof l.invite, "%s", code);
            has_link = joinlink_format(&l, link, sizeof link) == HERR_OK;
        }
    }
    struct store_invite *v = NULL;
    size_t n = 0;
    if (store_invites(r->st, &v, &n))
        return fail_page(r, 500, "the invites could not be read");
    page_invites(&r->h, &r->page, made ? code : NULL, made ? url : NULL,
                 made && has_link ? link : NULL, v, n, now);
    free(v);
}

/* ---- members ---- */

static bool login_ok(char *login)
{
    size_t n = strlen(login);
    if (n == 0 || n > STORE_LOGIN_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        login[i] = (char)tolower((unsigned char)login[i]);
        if (!isalnum((unsigned char)login[i]) && !strchr("._-", login[i]))
            return false;
    }
    return true;
}

static void start_session_to(struct req *r, const uint8_t seed[HEARTH_SEED_LEN], const char *login,
                             const char *to)
{
    struct session_info info;
    uint8_t person[HEARTH_PK_LEN];
    if (sessions_create(r->w->sessions, seed, login, now_ms(), &info))
        return fail_page(r, 503, "the hub is out of memory for sessions; try again later");
    /* An account made with a device code (do_join_device) waits until it is a device;
     * noted once here, not asked of the store on every page. */
    if (store_pair_asked(r->st, info.pk, person) == HERR_OK)
        sessions_note_asked(r->w->sessions, info.token);
    snprintf(r->cookie, sizeof r->cookie, "hs=%s; Path=/; HttpOnly; SameSite=Strict%s", info.token,
             r->w->tls_cert ? "; Secure" : "");
    redirect(r, to, NULL, NULL);
}

static void start_session(struct req *r, const uint8_t seed[HEARTH_SEED_LEN], const char *login)
{
    start_session_to(r, seed, login, "/");
}

static void do_login(struct req *r)
{
    char login[STORE_LOGIN_MAX + 1] = "";
    const char *l = field(r, "login"), *pass = field(r, "pass");
    if (!r->post)
        return page_login(&r->h, &r->page, NULL, NULL);
    if (l && strlen(l) <= STORE_LOGIN_MAX)
        snprintf(login, sizeof login, "%s", l);
    char key_login[64], key_addr[80];
    snprintf(key_login, sizeof key_login, "login:%s", login);
    snprintf(key_addr, sizeof key_addr, "addr:%s", r->addr);
    uint64_t now = now_ms();
    r->status = 400;
    if (limiter_blocked(r->w->fails, key_login, now) ||
        limiter_blocked(r->w->fails, key_addr, now)) {
        r->status = 429;
        return page_login(&r->h, &r->page, login,
                          "too many wrong tries; wait five minutes and try again");
    }
    if (!pass || strlen(pass) > WEB_PASS_MAX || !login_ok(login))
        return page_login(&r->h, &r->page, login, "that login name or passphrase is wrong");
    uint8_t pk[HEARTH_PK_LEN], sealed[HEARTH_SEALED_SEED_LEN], seed[HEARTH_SEED_LEN];
    herr e = store_account_get(r->st, login, pk, sealed);
    bool known = e == HERR_OK;
    if (e && e != HERR_NOT_FOUND)
        return store_problem(r, e);
    /* An unknown login costs the same Argon2id as a known one, so that timing does not
     * tell who has an account. */
    pthread_mutex_lock(&r->w->hash_mu);
    e = seed_unseal(seed, known ? sealed : r->w->dummy_sealed, sizeof sealed, pass, strlen(pass));
    pthread_mutex_unlock(&r->w->hash_mu);
    if (!known || e) {
        secret_wipe(seed, sizeof seed);
        limiter_fail(r->w->fails, key_login, now);
        limiter_fail(r->w->fails, key_addr, now);
        hlog(r->w->log, HLOG_INFO, "web: failed login for '%s' from %s", login, r->addr);
        return page_login(&r->h, &r->page, login, "that login name or passphrase is wrong");
    }
    start_session(r, seed, login);
    secret_wipe(seed, sizeof seed);
}

/* new_account_key - a fresh key for a new account: its seed into seed, and sealed
 * under pass into sealed (*e: how the sealing went). NULL, with the page written, when
 * out of memory. The caller wipes and frees the key. */
static struct hkey *new_account_key(struct req *r, const char *pass, uint8_t seed[HEARTH_SEED_LEN],
                                    uint8_t sealed[HEARTH_SEALED_SEED_LEN], herr *e)
{
    struct hkey *k = sodium_malloc(sizeof *k);
    if (!k) {
        fail_page(r, 503, "the hub is out of memory; try again later");
        return NULL;
    }
    random_bytes(seed, HEARTH_SEED_LEN);
    hkey_from_seed(k, seed);
    pthread_mutex_lock(&r->w->hash_mu);
    *e = seed_seal(sealed, seed, pass, strlen(pass));
    pthread_mutex_unlock(&r->w->hash_mu);
    return k;
}

static void do_join(struct req *r)
{
    char login[STORE_LOGIN_MAX + 1] = "";
    const char *code = r->post ? field(r, "code") : arg(r, "code");
    const char *l = field(r, "login"), *name = text_field(r, "name"), *pass = field(r, "pass");
    if (!r->post)
        return page_join(&r->h, &r->page, code, NULL, NULL, NULL);
    if (l && strlen(l) <= STORE_LOGIN_MAX)
        snprintf(login, sizeof login, "%s", l);
    char key_addr[80];
    snprintf(key_addr, sizeof key_addr, "addr:%s", r->addr);
    uint64_t now = now_ms();
    const char *problem = NULL;
    r->status = 400;
    if (limiter_blocked(r->w->fails, key_addr, now)) {
        r->status = 429;
        problem = "too many wrong invite codes; wait five minutes and try again";
    } else if (!login_ok(login)) {
        problem = "a login name is 1 to 32 letters, digits, dots, dashes or underscores";
    } else if ((problem = check_text(name, HEARTH_MAX_NAME, false, "the name"))) {
    } else if (!pass || strlen(pass) < WEB_PASS_MIN || strlen(pass) > WEB_PASS_MAX) {
        problem = "a passphrase has at least 10 characters";
    } else if (!r->page.open_join && (!code || store_invite_check(r->st, code, now))) {
        limiter_fail(r->w->fails, key_addr, now);
        problem = "that invite code is not valid: it may be used, revoked or expired";
    }
    if (problem)
        return page_join(&r->h, &r->page, code, login, name, problem);
    uint8_t seed[HEARTH_SEED_LEN], sealed[HEARTH_SEALED_SEED_LEN];
    herr e;
    struct hkey *k = new_account_key(r, pass, seed, sealed, &e);
    if (!k)
        return;
    if (!e)
        e = store_account_create(r->st, login, k->pk, sealed, r->page.open_join ? NULL : code, now);
    if (e == HERR_DUPLICATE) {
        problem = "that login name is taken; choose another";
    } else if (e == HERR_DENIED) {
        limiter_fail(r->w->fails, key_addr, now);
        problem = "that invite code is not valid: it may be used, revoked or expired";
    } else if (e) {
        store_problem(r, e);
    } else {
        struct event_draft d = {.kind = EK_PROFILE, .forum = r->w->forum};
        uint8_t id[HEARTH_ID_LEN];
        d.b.name = hs(name);
        e = store_publish(r->st, k, &d, id);
        if (e)
            hlog(r->w->log, HLOG_WARN, "web: the new member's profile: %s", store_errmsg(r->st));
        hlog(r->w->log, HLOG_INFO, "web: '%s' joined", login);
        start_session(r, seed, login);
    }
    hkey_wipe(k);
    sodium_free(k);
    secret_wipe(seed, sizeof seed);
    if (problem)
        page_join(&r->h, &r->page, code, login, name, problem);
}

/* ---- devices (docs/CLI.md, `hearth device`; the codes are the store's) ---- */

/* device_field - the 64-hex key in the form's `device`. */
static bool device_field(struct req *r, uint8_t key[HEARTH_PK_LEN])
{
    const char *v = field(r, "device");
    return v && strlen(v) == 2 * HEARTH_PK_LEN && hex_decode(key, HEARTH_PK_LEN, v) == HERR_OK;
}

/* devices_act - add (a new code, shown once: *code), accept or revoke, signed with the
 * session's key, which must be the person's own (a device certifies no key). NULL, or
 * a person's sentence for what went wrong. */
static const char *devices_act(struct req *r, const char *what, char code[STORE_PAIR_CODE_MAX],
                               bool *shown)
{
    uint8_t key[HEARTH_PK_LEN], id[HEARTH_ID_LEN];
    int64_t now = (int64_t)time(NULL);
    herr e = HERR_OK;
    if (memcmp(r->own, r->sess.pk, HEARTH_PK_LEN))
        return "this browser account is a device: add and revoke devices from your own";
    if (!strcmp(what, "add")) {
        if ((e = store_pair_code_new(r->st, r->own, now, code)))
            return "the hub could not make a code just now; please try again";
        *shown = true;
        return NULL;
    }
    if (!device_field(r, key))
        return "choose a device";
    struct hkey *k = reader_key(r);
    if (!k)
        return "your session has ended; log in again";
    if (!strcmp(what, "accept")) {
        struct store_pair_match *m = NULL;
        size_t n = 0;
        const struct store_pair_match *x = NULL;
        e = store_pair_pending(r->st, r->own, now, &m, &n);
        for (size_t i = 0; !e && i < n; i++)
            if (!memcmp(m[i].req.device, key, HEARTH_PK_LEN))
                x = &m[i];
        e = e ? e : x ? store_pair_accept(r->st, k, r->w->forum, x, id) : HERR_NOT_FOUND;
        free(m);
    } else if (!strcmp(what, "revoke")) {
        uint64_t until;
        e = store_device_revoke(r->st, k, r->w->forum, key, false, &until, id);
    } else {
        e = HERR_USAGE;
    }
    drop_key(k);
    if (e == HERR_STATE || e == HERR_NOT_FOUND) {
        static __thread char why[160];
        snprintf(why, sizeof why, "%s",
                 *store_errmsg(r->st) ? store_errmsg(r->st) : "no such device asked");
        return why;
    }
    if (e == HERR_USAGE)
        return "nothing to do";
    if (e) {
        hlog(r->w->log, HLOG_WARN, "web: devices: %s: %s", herr_str(e), store_errmsg(r->st));
        return "the hub could not save that just now; please try again";
    }
    hlog(r->w->log, HLOG_INFO, "web: '%s' %s a device", r->sess.login,
         !strcmp(what, "accept") ? "accepted" : "revoked");
    return NULL;
}

/* do_devices - /devices: the member's devices, adding one (a code), accepting the
 * requests made with it and revoking. */
static void do_devices(struct req *r)
{
    char code[STORE_PAIR_CODE_MAX];
    bool shown = false;
    const char *problem = NULL, *what = field(r, "do");
    if (r->post) {
        problem = what ? devices_act(r, what, code, &shown) : "nothing to do";
        if (!problem && !shown)
            return redirect(r, "/devices", NULL, NULL);
        if (problem)
            r->status = 400;
    }
    struct page_devices d = {.own = r->own, .person = r->sess.pk, .waiting = r->waiting};
    struct store_device *v = NULL;
    struct store_pair_match *m = NULL;
    size_t n = 0, nm = 0;
    char *name = NULL, *about = NULL;
    uint8_t asked[HEARTH_PK_LEN];
    if (r->waiting && store_pair_asked(r->st, r->own, asked) == HERR_OK)
        d.person = asked;
    herr e = store_devices(r->st, d.person, &v, &n);
    if (!e && !memcmp(r->own, r->sess.pk, HEARTH_PK_LEN) && !r->waiting)
        e = store_pair_pending(r->st, r->own, (int64_t)time(NULL), &m, &nm);
    if (!e && store_profile(r->st, d.person, &name, &about) != HERR_OK)
        name = NULL;
    if (e) {
        free(v);
        free(m);
        return fail_page(r, 500, "your devices could not be read");
    }
    d.person_name = name;
    d.v = v, d.n = n, d.m = m, d.nm = nm;
    d.code = shown ? code : NULL;
    page_devices(&r->h, &r->page, &d, problem);
    free(v);
    free(m);
    free(name);
    free(about);
}

/* do_join_device - /join/device: a browser account of someone who has hearth on a
 * laptop. Their laptop's code (`hearth device add`) counts as an invite: it names a
 * member of the forum, and the account it makes can do nothing but wait until that
 * member's device accepts it (frame, publish), which only the holder of the code's
 * secret can make happen. The new key is sealed under the passphrase like any
 * account's, and its pairing request is published before the account is made. */
static void do_join_device(struct req *r)
{
    char login[STORE_LOGIN_MAX + 1] = "";
    const char *code = field(r, "code"), *l = field(r, "login"), *pass = field(r, "pass");
    if (!r->post)
        return page_join_device(&r->h, &r->page, arg(r, "code"), NULL, NULL);
    if (l && strlen(l) <= STORE_LOGIN_MAX)
        snprintf(login, sizeof login, "%s", l);
    char key_addr[80]; /* its own count, apart from logins and invite codes */
    snprintf(key_addr, sizeof key_addr, "pair:%s", r->addr);
    uint64_t now = now_ms(), last = 0;
    struct store_pair_code pc;
    const char *problem = NULL, *why = NULL;
    uint8_t pk[HEARTH_PK_LEN], sealed[HEARTH_SEALED_SEED_LEN];
    r->status = 400;
    if (limiter_blocked(r->w->fails, key_addr, now)) {
        r->status = 429;
        problem = "too many tries from here; wait five minutes and try again";
    } else if (!code || store_pair_code_read(code, &pc, &why)) {
        limiter_fail(r->w->fails, key_addr, now);
        problem = why ? why : "give the code your device printed";
    } else if (store_key_last_seq(r->st, pc.person, &last) != HERR_OK || !last) {
        limiter_fail(r->w->fails, key_addr, now);
        problem = "that code names no member this hub knows: sync your device with this hub "
                  "first";
    } else if (!login_ok(login)) {
        problem = "a login name is 1 to 32 letters, digits, dots, dashes or underscores";
    } else if (!pass || strlen(pass) < WEB_PASS_MIN || strlen(pass) > WEB_PASS_MAX) {
        problem = "a passphrase has at least 10 characters";
    } else if (store_account_get(r->st, login, pk, sealed) != HERR_NOT_FOUND) {
        problem = "that login name is taken; choose another";
    }
    if (problem)
        return page_join_device(&r->h, &r->page, code, login, problem);
    uint8_t seed[HEARTH_SEED_LEN], id[HEARTH_ID_LEN], person[HEARTH_PK_LEN];
    herr e;
    struct hkey *k = new_account_key(r, pass, seed, sealed, &e);
    if (!k)
        return;
    if (!e)
        e = store_pair_join(r->st, k, r->w->forum, code, person, id);
    if (!e)
        e = store_account_create(r->st, login, k->pk, sealed, NULL, now);
    if (e == HERR_DUPLICATE) {
        problem = "that login name is taken; choose another";
    } else if (e) {
        store_problem(r, e);
    } else {
        /* Anyone can write a well-formed code naming a known member, so every account
         * made this way counts against the address like a wrong code: each costs the
         * forum one (inert) request event. */
        limiter_fail(r->w->fails, key_addr, now);
        hlog(r->w->log, HLOG_INFO, "web: '%s' signed in with a device code", login);
        start_session_to(r, seed, login, "/devices");
    }
    hkey_wipe(k);
    sodium_free(k);
    secret_wipe(seed, sizeof seed);
    secret_wipe(&pc, sizeof pc);
    if (problem)
        page_join_device(&r->h, &r->page, code, login, problem);
}

static bool from_loopback(struct MHD_Connection *conn);

/* do_owner - the one-time link of `hearth open`: the node's owner, on this machine,
 * signed in as the node's own author. */
static void do_owner(struct req *r)
{
    uint8_t seed[HEARTH_SEED_LEN];
    if (!r->w->cfg.owner_key_path)
        return fail_page(r, 404, "there is no such page");
    if (!from_loopback(r->conn)) {
        hlog(r->w->log, HLOG_WARN, "web: an owner's login link refused from %s (not this machine)",
             r->addr);
        return fail_page(r, 403, "the owner's login link works only on the hub's own machine");
    }
    herr e = store_owner_token_take(r->st, arg(r, "token"), now_ms());
    if (e == HERR_DENIED) {
        hlog(r->w->log, HLOG_INFO, "web: an owner's login link refused: %s", store_errmsg(r->st));
        return fail_page(r, 403,
                         "this login link was used already or has expired: run 'hearth open' "
                         "again for a new one");
    }
    if (e)
        return store_problem(r, e);
    if ((e = seed_file_load(r->w->cfg.owner_key_path, false, seed, NULL))) {
        hlog(r->w->log, HLOG_ERROR, "web: the owner's key %s: %s", r->w->cfg.owner_key_path,
             herr_str(e));
        return fail_page(r, 500, "the node's author key could not be read");
    }
    hlog(r->w->log, HLOG_INFO, "web: the node's owner signed in");
    start_session(r, seed, "owner");
    secret_wipe(seed, sizeof seed);
}

static void do_logout(struct req *r)
{
    sessions_end(r->w->sessions, r->sess.token);
    snprintf(r->cookie, sizeof r->cookie, "hs=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    redirect(r, "/", NULL, NULL);
}

/* ---- routing ---- */

/* csrf_ok - the form's token is the session's (or for a visitor, the cookie's), and
 * an Origin header, where the browser sent one, is this host. */
static bool csrf_ok(struct req *r)
{
    const char *origin = header(r, "Origin"), *host = header(r, "Host");
    if (origin) {
        const char *rest = !strncmp(origin, "http://", 7)    ? origin + 7
                           : !strncmp(origin, "https://", 8) ? origin + 8
                                                             : NULL;
        if (!rest || !host || strcmp(rest, host))
            return false;
    }
    const char *sent = field(r, "csrf");
    const char *want = r->member ? r->sess.csrf : r->new_anon_csrf ? NULL : r->anon_csrf;
    return sent && want && strlen(sent) == SESSION_TOKEN_HEX &&
           sodium_memcmp(sent, want, SESSION_TOKEN_HEX) == 0;
}

/* The pages: a path (exact, or a prefix followed by a 64-hex id), whether only a
 * member may open it, whether it answers GET and POST, and its handler. */
enum { R_GET = 1, R_POST = 2, R_MEMBER = 4 };

struct route {
    const char *path;
    bool with_id;
    unsigned how;
    void (*plain)(struct req *r);
    void (*with)(struct req *r, const uint8_t id[HEARTH_ID_LEN]);
};

static void get_about(struct req *r)
{
    page_about(&r->h, &r->page);
}

static const struct route routes[] = {
    {"/", false, R_GET, get_home, NULL},
    {"/b/", true, R_GET, NULL, get_board},
    {"/t/", true, R_GET, NULL, get_thread},
    {"/u/", true, R_GET, NULL, get_profile},
    {"/p/", true, R_GET, NULL, get_post},
    {"/search", false, R_GET, get_search, NULL},
    {"/resources", false, R_GET, get_resources, NULL},
    {"/about", false, R_GET, get_about, NULL},
    {"/login", false, R_GET | R_POST, do_login, NULL},
    {"/join", false, R_GET | R_POST, do_join, NULL},
    {"/join/device", false, R_GET | R_POST, do_join_device, NULL},
    {"/owner", false, R_GET, do_owner, NULL},
    {"/new/", true, R_GET | R_POST | R_MEMBER, NULL, do_new},
    {"/reply/", true, R_POST | R_MEMBER, NULL, do_reply},
    {"/edit/", true, R_GET | R_POST | R_MEMBER, NULL, do_edit},
    {"/retract/", true, R_GET | R_POST | R_MEMBER, NULL, do_retract},
    {"/flag/", true, R_GET | R_POST | R_MEMBER, NULL, do_flag},
    {"/react/", true, R_POST | R_MEMBER, NULL, do_react},
    {"/replies", false, R_GET | R_MEMBER, get_replies, NULL},
    {"/profile", false, R_POST | R_MEMBER, do_profile, NULL},
    {"/logout", false, R_POST | R_MEMBER, do_logout, NULL},
    {"/mod", false, R_GET | R_MEMBER, get_queue, NULL},
    {"/mod/log", false, R_GET | R_MEMBER, get_modlog, NULL},
    {"/mod/", true, R_GET | R_POST | R_MEMBER, NULL, do_mod},
    {"/invites", false, R_GET | R_POST | R_MEMBER, do_invites, NULL},
    {"/messages", false, R_GET | R_POST | R_MEMBER, do_messages, NULL},
    {"/messages/", true, R_GET | R_POST | R_MEMBER, NULL, do_member_messages},
    {"/admin", false, R_GET | R_POST | R_MEMBER, do_admin, NULL},
    {"/devices", false, R_GET | R_POST | R_MEMBER, do_devices, NULL},
};

static void route(struct req *r)
{
    uint8_t id[HEARTH_ID_LEN];
    if (r->post && !csrf_ok(r))
        return fail_page(r, 403,
                         "this form is out of date or came from another site; go back, "
                         "reload the page and try again");
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const struct route *x = &routes[i];
        if (x->with_id ? !id_arg(r->path, x->path, id) : strcmp(r->path, x->path) != 0)
            continue;
        if (!(x->how & (r->post ? R_POST : R_GET)))
            return fail_page(
                r, 405, r->post ? "nothing to send here" : "that is done with a form on the page");
        if ((x->how & R_MEMBER) && !r->member)
            return redirect(r, "/login", NULL, NULL);
        if (r->post && r->waiting && x->plain != do_logout && x->plain != do_devices)
            return fail_page(r, 403,
                             "this account waits for your device to accept it; until then it "
                             "cannot post (see Devices)");
        return x->with ? x->with(r, id) : x->plain(r);
    }
    fail_page(r, 404, "there is no such page");
}

/* ---- answering ---- */

static void security_headers(struct MHD_Response *res)
{
    MHD_add_response_header(res, "Content-Security-Policy",
                            "default-src 'self'; frame-ancestors 'none'; form-action 'self'; "
                            "base-uri 'none'");
    MHD_add_response_header(res, "X-Content-Type-Options", "nosniff");
    /* Not no-referrer: under it browsers send "Origin: null" with the hub's own forms,
     * which the Origin check must refuse; same-origin still sends nothing elsewhere. */
    MHD_add_response_header(res, "Referrer-Policy", "same-origin");
    MHD_add_response_header(res, "X-Frame-Options", "DENY");
}

static enum MHD_Result send_static(struct MHD_Connection *conn, const char *body, const char *type,
                                   const char *etag)
{
    const char *inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "If-None-Match");
    bool same = inm && !strcmp(inm, etag);
    struct MHD_Response *res = MHD_create_response_from_buffer(
        same ? 0 : strlen(body), (void *)(uintptr_t)body, MHD_RESPMEM_PERSISTENT);
    if (!res)
        return MHD_NO;
    security_headers(res);
    MHD_add_response_header(res, "Content-Type", type);
    MHD_add_response_header(res, "ETag", etag);
    MHD_add_response_header(res, "Cache-Control", "no-cache");
    enum MHD_Result ok = MHD_queue_response(conn, same ? 304 : 200, res);
    MHD_destroy_response(res);
    return ok;
}

static enum MHD_Result send_response(struct MHD_Connection *conn, struct MHD_Response *res,
                                     unsigned status, bool gz, const char *location,
                                     const char *cookie, const char *cookie2);

/* send_html - answer with a page (body[0..n), already gzip-encoded when gz). */
static enum MHD_Result send_html(struct MHD_Connection *conn, unsigned status, const void *body,
                                 size_t n, bool gz, const char *location, const char *cookie,
                                 const char *cookie2)
{
    struct MHD_Response *res =
        MHD_create_response_from_buffer(n, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
    return send_response(conn, res, status, gz, location, cookie, cookie2);
}

/* send_owned - the same, handing body (from malloc) to libmicrohttpd, which frees it:
 * a page from the cache is not copied again. */
static enum MHD_Result send_owned(struct MHD_Connection *conn, unsigned status, void *body,
                                  size_t n, bool gz, const char *cookie)
{
    struct MHD_Response *res = MHD_create_response_from_buffer_with_free_callback(n, body, free);
    if (!res)
        free(body);
    return send_response(conn, res, status, gz, NULL, NULL, cookie);
}

static enum MHD_Result send_response(struct MHD_Connection *conn, struct MHD_Response *res,
                                     unsigned status, bool gz, const char *location,
                                     const char *cookie, const char *cookie2)
{
    if (!res)
        return MHD_NO;
    security_headers(res);
    MHD_add_response_header(res, "Content-Type", "text/html; charset=utf-8");
    MHD_add_response_header(res, "Cache-Control", "no-store");
    MHD_add_response_header(res, "Vary", "Accept-Encoding, Cookie");
    if (gz)
        MHD_add_response_header(res, "Content-Encoding", "gzip");
    if (location && *location)
        MHD_add_response_header(res, "Location", location);
    if (cookie && *cookie)
        MHD_add_response_header(res, "Set-Cookie", cookie);
    if (cookie2 && *cookie2)
        MHD_add_response_header(res, "Set-Cookie", cookie2);
    enum MHD_Result ok = MHD_queue_response(conn, status, res);
    MHD_destroy_response(res);
    return ok;
}

static bool wants_gzip(struct MHD_Connection *conn)
{
    const char *ae = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept-Encoding");
    return ae && strstr(ae, "gzip");
}

static void client_addr(struct MHD_Connection *conn, char *out, size_t n)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, n, "?");
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)n);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)n);
}

/* from_loopback - true when the client is this machine (127.0.0.0/8, ::1, or
 * ::ffff:127.x). */
static bool from_loopback(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr)
        return false;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr) >> 24) ==
               127;
    if (sa->sa_family != AF_INET6)
        return false;
    const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
}

/* mentions_beyond - the mentions that are not also replies to the member (a reply
 * that names them counts once). */
static size_t mentions_beyond(const struct store_post *at, size_t na, const struct store_post *v,
                              size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < na; i++) {
        bool also = false;
        for (size_t j = 0; j < n && !also; j++)
            also = memcmp(at[i].id, v[j].id, HEARTH_ID_LEN) == 0;
        k += !also;
    }
    return k;
}

/* messages_waiting - for the header: a moderator's conversations whose member spoke
 * last; a member's answers from the moderators not read yet. */
static uint32_t messages_waiting(struct req *r)
{
    uint32_t k = 0;
    if (page_can_moderate(r->roles)) {
        struct store_conversation_info *v = NULL;
        size_t n = 0;
        if (store_conversations(r->st, &v, &n) == HERR_OK)
            for (size_t i = 0; i < n; i++)
                k += v[i].member_arrival == v[i].last_arrival;
        store_conversations_free(v, n);
        return k;
    }
    char what[HEARTH_MAX_SEEN_WHAT];
    uint64_t since = 0;
    struct store_message *v = NULL;
    size_t n = 0;
    seen_key(what, "messages:", r->sess.pk);
    if (store_seen_get(r->st, r->sess.pk, what, &since) == HERR_OK &&
        store_conversation(r->st, NULL, r->sess.pk, &v, &n) == HERR_OK)
        for (size_t i = 0; i < n; i++)
            k += v[i].from_mod && v[i].arrival > since;
    store_messages_free(v, n);
    return k;
}

/* frame - what every page shows around its content: the crisis line, the member and
 * their roles, the replies waiting. */
static void frame(struct req *r)
{
    struct web *w = r->w;
    const char *cookie = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, "hs");
    r->member = cookie && sessions_find(w->sessions, cookie, now_ms(), &r->sess);
    const char *anon = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, "hc");
    if (anon && strlen(anon) == SESSION_TOKEN_HEX) {
        snprintf(r->anon_csrf, sizeof r->anon_csrf, "%s", anon);
    } else {
        uint8_t raw[32];
        random_bytes(raw, sizeof raw);
        hex_encode(r->anon_csrf, raw, sizeof raw);
        r->new_anon_csrf = true;
    }
    if (r->member) {
        /* A browser account that is a device shows and acts as its person; one that
         * asked to be a device and waits may do nothing but wait (see do_join_device). */
        uint8_t person[HEARTH_PK_LEN];
        memcpy(r->own, r->sess.pk, HEARTH_PK_LEN);
        if (store_person_of(r->st, r->own, person) == HERR_OK)
            memcpy(r->sess.pk, person, HEARTH_PK_LEN);
        r->waiting = r->sess.asked && !memcmp(r->sess.pk, r->own, HEARTH_PK_LEN);
    }
    store_set_viewer(r->st, r->member ? r->sess.pk : NULL);
    char *about = NULL;
    if (store_resources(r->st, &r->crisis, &about) == HERR_OK && r->crisis)
        r->crisis[strcspn(r->crisis, "\n")] = '\0';
    free(about);
    r->page.forum = w->forum_name ? w->forum_name : "hearth";
    r->page.crisis = r->crisis;
    r->page.open_join = w->cfg.open_join;
    if (r->member) {
        r->page.member = &r->sess;
        r->page.csrf = r->sess.csrf;
        if (store_roles(r->st, r->sess.pk, &r->roles) != HERR_OK)
            r->roles = NULL;
        r->page.roles = r->roles;
        uint64_t since = 0;
        struct store_post *v = NULL;
        size_t n = 0;
        struct store_mod_entry *m = NULL;
        size_t nm = 0, na = 0;
        struct store_post *at = NULL;
        if (store_seen_get(r->st, r->sess.pk, "replies", &since) == HERR_OK &&
            store_replies_to(r->st, r->sess.pk, since, 99, &v, &n) == HERR_OK &&
            store_mod_about(r->st, r->sess.pk, since, 99, &m, &nm) == HERR_OK &&
            store_mentions(r->st, r->sess.pk, since, 99, &at, &na) == HERR_OK)
            r->page.replies_waiting = (uint32_t)(n + nm + mentions_beyond(at, na, v, n));
        store_posts_free(v, n);
        store_posts_free(at, na);
        store_mod_log_free(m, nm);
        r->page.messages_waiting = messages_waiting(r);
    } else {
        r->page.csrf = r->anon_csrf;
    }
}

/* cacheable - the pages a visitor may get from the page cache: those that hold no
 * form with a CSRF token for visitors. */
static bool cacheable(const char *url)
{
    return !strcmp(url, "/") || !strncmp(url, "/b/", 3) || !strncmp(url, "/t/", 3) ||
           !strncmp(url, "/u/", 3) || !strcmp(url, "/search") || !strcmp(url, "/resources") ||
           !strcmp(url, "/about");
}

static enum MHD_Result answer(struct web *w, struct MHD_Connection *conn, const char *url,
                              bool post, struct upload *up)
{
    if (!post && !strcmp(url, "/style.css"))
        return send_static(conn, page_css, "text/css; charset=utf-8", "\"css-3\"");
    if (!post && !strcmp(url, "/quick.js"))
        return send_static(conn, page_js, "text/javascript; charset=utf-8", "\"js-1\"");
    if (w->fixed && !strcmp(url, "/bench-fixed"))
        return send_html(conn, 200, w->fixed, w->cfg.bench_fixed, false, NULL, NULL, NULL);
    if (!post && w->cfg.metrics && !strcmp(url, "/metrics") &&
        (w->cfg.metrics_public || from_loopback(conn)))
        return (enum MHD_Result)metrics_answer(conn, w->cfg.metrics, w->cfg.metrics_ctx);
    if (!strcmp(url, "/exit")) {
        struct html h;
        html_init(&h, 4096);
        page_exit(&h);
        enum MHD_Result ok = send_html(conn, 200, h.b.data, h.b.len, false, NULL, NULL, NULL);
        html_release(&h);
        return ok;
    }
    struct req *r = calloc(1, sizeof *r);
    if (!r)
        return MHD_NO;
    r->w = w;
    r->conn = conn;
    r->path = url;
    r->post = post;
    r->status = 200;
    html_init(&r->h, WEB_MAX_PAGE);
    r->h.markdown = w->fragments;
    client_addr(conn, r->addr, sizeof r->addr);
    r->st = pool_take(w);
    bool gzip = wants_gzip(conn);
    /* A visitor's page may come from the page cache (web/cache.h), stamped with the
     * replica's newest arrival, read before the page is made. */
    char key[512] = "";
    uint64_t stamp = 0;
    const char *hs_cookie = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, "hs");
    if (!post && !hs_cookie && cacheable(url) && store_last_arrival(r->st, &stamp) == HERR_OK)
        snprintf(key, sizeof key, "%s?%s&%s", url, arg(r, "page") ? arg(r, "page") : "",
                 arg(r, "q") ? arg(r, "q") : "");
    struct hbuf hit;
    hbuf_init(&hit, WEB_MAX_PAGE);
    bool cached = key[0] && cache_page_get(w->pages, key, stamp, gzip, &hit);
    if (!cached) {
        frame(r);
        const char *why = NULL;
        if (post && up->too_large)
            fail_page(r, 413, "that was too long to send");
        else if (post && form_parse(&r->form, (const char *)up->body.data, up->body.len, &why))
            fail_page(r, 400, why);
        else if (!utf8_valid(url, strlen(url)))
            fail_page(r, 400, "that address is not valid");
        else
            route(r);
        store_set_viewer(r->st, NULL);
    }
    pool_give(w, r->st);
    char anon_cookie[120] = "";
    const char *hc = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, "hc");
    if (r->new_anon_csrf || (cached && (!hc || strlen(hc) != SESSION_TOKEN_HEX))) {
        if (cached) {
            uint8_t raw[32];
            random_bytes(raw, sizeof raw);
            hex_encode(r->anon_csrf, raw, sizeof raw);
        }
        snprintf(anon_cookie, sizeof anon_cookie, "hc=%s; Path=/; HttpOnly; SameSite=Strict%s",
                 r->anon_csrf, w->tls_cert ? "; Secure" : "");
    }
    if (r->h.err) {
        hlog(w->log, HLOG_WARN, "web: a page of %s could not be made: %s", url, herr_str(r->h.err));
        html_release(&r->h);
        html_init(&r->h, 4096);
        html_raw(&r->h, "<!doctype html><title>Error</title><p>The page could not be made.");
        r->status = 500;
    }
    enum MHD_Result ok;
    if (cached) {
        ok = send_owned(conn, 200, hit.data, hit.len, gzip, anon_cookie);
        hbuf_init(&hit, 0); /* libmicrohttpd owns the bytes now */
    } else if (r->status == 303) {
        ok = send_html(conn, 303, "", 0, false, r->location, r->cookie, anon_cookie);
    } else {
        if (key[0] && r->status == 200 && !r->member)
            cache_page_put(w->pages, key, stamp, r->h.b.data, r->h.b.len);
        struct hbuf z;
        hbuf_init(&z, WEB_MAX_PAGE);
        bool zipped =
            gzip && r->h.b.len > 1024 && cache_gzip(r->h.b.data, r->h.b.len, 1, &z) == HERR_OK;
        ok = zipped ? send_html(conn, r->status, z.data, z.len, true, NULL, r->cookie, anon_cookie)
                    : send_html(conn, r->status, r->h.b.data, r->h.b.len, false, NULL, r->cookie,
                                anon_cookie);
        hbuf_release(&z);
    }
    hbuf_release(&hit);
    html_release(&r->h);
    form_release(&r->form);
    free(r->crisis);
    free(r->roles);
    free(r);
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    struct web *w = cls;
    bool post = !strcmp(method, "POST");
    if (!post && strcmp(method, "GET") && strcmp(method, "HEAD")) {
        static const char msg[] = "method not allowed\n";
        struct MHD_Response *res = MHD_create_response_from_buffer(
            sizeof msg - 1, (void *)(uintptr_t)msg, MHD_RESPMEM_PERSISTENT);
        security_headers(res);
        MHD_add_response_header(res, "Allow", "GET, HEAD, POST");
        enum MHD_Result ok = MHD_queue_response(conn, 405, res);
        MHD_destroy_response(res);
        return ok;
    }
    /* Answer only once the whole request has been read (the second call at the
     * earliest): a response queued on the first call makes libmicrohttpd close the
     * connection, as it cannot tell where the next request would begin. */
    struct upload *up = *con_cls;
    if (!up) {
        if (!(up = calloc(1, sizeof *up)))
            return MHD_NO;
        hbuf_init(&up->body, post ? WEB_MAX_BODY : 0);
        const char *len = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        up->too_large = len && strtoull(len, NULL, 10) > (post ? WEB_MAX_BODY : 0);
        *con_cls = up;
        return MHD_YES;
    }
    if (*upload_size) {
        if (!up->too_large && hbuf_append(&up->body, upload_data, *upload_size) != HERR_OK)
            up->too_large = true;
        *upload_size = 0;
        return MHD_YES;
    }
    return answer(w, conn, url, post, up);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode why)
{
    struct upload *up = *con_cls;
    if (up) {
        hbuf_release(&up->body);
        free(up);
        *con_cls = NULL;
    }
}

/* ---- starting and stopping ---- */

static void *sweep(void *arg)
{
    struct web *w = arg;
    pthread_mutex_lock(&w->sweep_mu);
    while (!w->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 10;
        pthread_cond_timedwait(&w->sweep_cv, &w->sweep_mu, &ts);
        sessions_expire(w->sessions, now_ms());
    }
    pthread_mutex_unlock(&w->sweep_mu);
    return NULL;
}

herr web_parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen || strlen(listen) >= sizeof host)
        return HERR_USAGE;
    size_t hn = (size_t)(colon - listen);
    memcpy(host, listen, hn);
    host[hn] = '\0';
    if (host[0] == '[' && hn > 2 && host[hn - 1] == ']') {
        memmove(host, host + 1, hn - 2);
        host[hn - 2] = '\0';
    }
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (*end || !colon[1] || port > 65535)
        return HERR_USAGE;
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_PASSIVE, .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai = NULL;
    if (getaddrinfo(host, NULL, &hints, &ai) || !ai)
        return HERR_USAGE;
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *len = ai->ai_addrlen;
    freeaddrinfo(ai);
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)(void *)ss)->sin_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in6 *)(void *)ss)->sin6_port = htons((uint16_t)port);
    return HERR_OK;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 1 << 20);
    size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (buf && n == 0) {
        free(buf);
        buf = NULL;
    }
    return buf;
}

herr web_new(struct web **out, const struct web_config *cfg, const struct hlog *log,
             const char **why)
{
    static __thread char msg[1024];
    *out = NULL;
    *why = msg;
    struct web *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(msg, sizeof msg, "out of memory");
        return HERR_NOMEM;
    }
    w->cfg = *cfg;
    w->log = log;
    pthread_mutex_init(&w->hash_mu, NULL);
    pthread_mutex_init(&w->pool_mu, NULL);
    pthread_cond_init(&w->pool_cv, NULL);
    pthread_mutex_init(&w->sweep_mu, NULL);
    pthread_cond_init(&w->sweep_cv, NULL);
    herr e = HERR_OK;
    for (size_t i = 0; i < WEB_POOL && !e; i++)
        if ((e = store_open(&w->pool[i], cfg->db_path, 0)))
            snprintf(msg, sizeof msg, "cannot open the replica: %s", store_open_error());
    if (!e && (e = store_forum(w->pool[0], w->forum)))
        snprintf(msg, sizeof msg, "the replica has no forum yet");
    if (!e && store_forum_name(w->pool[0], &w->forum_name) != HERR_OK)
        w->forum_name = NULL;
    w->sessions = sessions_new(WEB_SESSIONS, WEB_IDLE_MS);
    w->pages = cache_new(WEB_CACHED_PAGES, WEB_CACHE_BYTES);
    w->fragments = cache_new(WEB_CACHED_TEXTS, WEB_CACHE_BYTES);
    w->fails = limiter_new(4096, WEB_FAILS, WEB_FAIL_WINDOW_MS);
    if (!e && (!w->sessions || !w->fails || !w->pages || !w->fragments)) {
        snprintf(msg, sizeof msg, "out of memory");
        e = HERR_NOMEM;
    }
    if (!e) {
        uint8_t seed[HEARTH_SEED_LEN], pass[32];
        random_bytes(seed, sizeof seed);
        random_bytes(pass, sizeof pass);
        e = seed_seal(w->dummy_sealed, seed, (const char *)pass, sizeof pass);
        secret_wipe(seed, sizeof seed);
        if (e)
            snprintf(msg, sizeof msg, "cannot prepare the login check: %s", herr_str(e));
    }
    if (!e && cfg->bench_fixed && cfg->bench_fixed <= WEB_MAX_PAGE &&
        (w->fixed = malloc(cfg->bench_fixed)))
        memset(w->fixed, 'x', cfg->bench_fixed);
    struct sockaddr_storage ss;
    socklen_t sl = 0;
    if (!e && (e = web_parse_listen(cfg->listen, &ss, &sl)))
        snprintf(msg, sizeof msg, "'%s' is not an address to listen on (HOST:PORT)", cfg->listen);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
    if (!e && ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (!e && (cfg->tls_cert[0] || cfg->tls_key[0])) {
        w->tls_cert = read_file(cfg->tls_cert);
        w->tls_key = read_file(cfg->tls_key);
        if (!w->tls_cert || !w->tls_key) {
            snprintf(msg, sizeof msg, "cannot read the TLS certificate '%s' or key '%s'",
                     cfg->tls_cert, cfg->tls_key);
            e = HERR_USAGE;
        }
        flags |= MHD_USE_TLS;
    }
    if (!e) {
        struct MHD_OptionItem tls[] = {
            {w->tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, w->tls_cert},
            {MHD_OPTION_HTTPS_MEM_KEY, 0, w->tls_key},
            {MHD_OPTION_END, 0, NULL},
        };
        w->d = MHD_start_daemon(
            flags, 0, NULL, NULL, on_request, w, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
            MHD_OPTION_THREAD_POOL_SIZE, (unsigned)WEB_THREADS, MHD_OPTION_CONNECTION_LIMIT,
            (unsigned)WEB_MAX_CONNECTIONS, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
            (unsigned)WEB_MAX_PER_ADDRESS, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)WEB_TIMEOUT_S,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)WEB_CONN_MEMORY,
            MHD_OPTION_NOTIFY_COMPLETED, on_completed, w, MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
        if (!w->d) {
            snprintf(msg, sizeof msg, "cannot listen on %s (in use, or no such address)",
                     cfg->listen);
            e = HERR_NET;
        }
    }
    if (e) {
        web_destroy(&w);
        return e;
    }
    w->sweeping = pthread_create(&w->sweeper, NULL, sweep, w) == 0;
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(w->d, MHD_DAEMON_INFO_BIND_PORT);
    w->port = di ? di->port : 0;
    *out = w;
    return HERR_OK;
}

void web_destroy(struct web **wp)
{
    struct web *w = *wp;
    if (!w)
        return;
    if (w->d)
        MHD_stop_daemon(w->d);
    if (w->sweeping) {
        pthread_mutex_lock(&w->sweep_mu);
        w->stopping = true;
        pthread_cond_signal(&w->sweep_cv);
        pthread_mutex_unlock(&w->sweep_mu);
        pthread_join(w->sweeper, NULL);
    }
    pthread_mutex_destroy(&w->sweep_mu);
    pthread_cond_destroy(&w->sweep_cv);
    sessions_destroy(&w->sessions);
    limiter_destroy(&w->fails);
    cache_destroy(&w->pages);
    cache_destroy(&w->fragments);
    for (size_t i = 0; i < WEB_POOL; i++)
        store_destroy(&w->pool[i]);
    free(w->forum_name);
    if (w->tls_key) {
        secret_wipe(w->tls_key, strlen(w->tls_key));
        free(w->tls_key);
    }
    free(w->tls_cert);
    free(w->fixed);
    pthread_mutex_destroy(&w->hash_mu);
    pthread_mutex_destroy(&w->pool_mu);
    pthread_cond_destroy(&w->pool_cv);
    free(w);
    *wp = NULL;
}

uint16_t web_port(const struct web *w)
{
    return w->port;
}
