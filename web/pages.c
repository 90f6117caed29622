/* pages.c - the pages (see pages.h). Each reads top to bottom like the HTML it makes. */
#include "web/pages.h"

#include <stdio.h>
#include <string.h>

#include "node/qr.h"
#include "store/event.h"

#define PAGE_INDENT_MAX 6 /* deeper replies are indented no further */

bool page_has_role(const char *roles, const char *role)
{
    size_t n = strlen(role);
    for (const char *r = roles; r && *r;) {
        const char *end = strchr(r, ',');
        size_t len = end ? (size_t)(end - r) : strlen(r);
        if (len == n && !memcmp(r, role, n))
            return true;
        r += len + (end ? 1 : 0);
    }
    return false;
}

bool page_can_moderate(const char *roles)
{
    return page_has_role(roles, "founder") || page_has_role(roles, "admin") ||
           page_has_role(roles, "moderator");
}

static void who(struct html *h, const uint8_t pk[HEARTH_PK_LEN], const char *name);

/* ---- the frame ---- */

static void csrf_field(struct html *h, const struct page *p)
{
    html_raw(h, "<input type=\"hidden\" name=\"csrf\"");
    html_attr(h, "value", p->csrf);
    html_raw(h, ">");
}

static void post_link(struct html *h, const char *path, const uint8_t *id)
{
    html_raw(h, path);
    html_hex(h, id, HEARTH_ID_LEN);
}

static void open_page(struct html *h, const struct page *p, const char *title)
{
    html_raw(h, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                "<meta name=\"referrer\" content=\"same-origin\"><title>");
    html_text(h, title);
    html_raw(h, " · ");
    html_text(h, p->forum);
    html_raw(h, "</title><link rel=\"stylesheet\" href=\"/style.css\">"
                "<script src=\"/quick.js\" defer></script></head><body>"
                "<a class=\"skip\" href=\"#main\">Skip to content</a><header>"
                "<div class=\"top\"><a class=\"forum\" href=\"/\">");
    html_text(h, p->forum);
    html_raw(h, "</a><a class=\"exit\" id=\"quick-exit\" href=\"/exit\">Quick exit</a></div>");
    html_raw(h, "<p class=\"crisis\"><strong>Need help now?</strong> ");
    html_text(h, p->crisis ? p->crisis : "See the helplines page.");
    html_raw(h, " <a href=\"/resources\">All helplines</a></p><nav aria-label=\"Main\"><ul>"
                "<li><a href=\"/\">Boards</a></li><li><a href=\"/search\">Search</a></li>");
    if (p->member) {
        html_raw(h, "<li><a href=\"/replies\">Replies to me");
        if (p->replies_waiting) {
            html_raw(h, " <span class=\"count\">");
            html_uint(h, p->replies_waiting);
            html_raw(h, "<span class=\"vh\"> new</span></span>");
        }
        html_raw(h, "</a></li><li><a href=\"/messages\">Messages");
        if (p->messages_waiting) {
            html_raw(h, " <span class=\"count\">");
            html_uint(h, p->messages_waiting);
            html_raw(h, page_can_moderate(p->roles) ? "<span class=\"vh\"> waiting</span></span>"
                                                    : "<span class=\"vh\"> new</span></span>");
        }
        html_raw(h, "</a></li><li><a href=\"/u/");
        html_hex(h, p->member->pk, HEARTH_PK_LEN);
        html_raw(h, "\">My profile</a></li><li><a href=\"/devices\">Devices</a></li>");
        if (page_can_moderate(p->roles))
            html_raw(h, "<li><a href=\"/mod\">Moderation</a></li>"
                        "<li><a href=\"/invites\">Invites</a></li>");
        if (page_has_role(p->roles, "founder") || page_has_role(p->roles, "admin"))
            html_raw(h, "<li><a href=\"/admin\">Admin</a></li>");
        html_raw(h, "<li><form method=\"post\" action=\"/logout\">");
        csrf_field(h, p);
        html_raw(h, "<button type=\"submit\" class=\"link\">Log out</button></form></li>");
    } else {
        html_raw(h, "<li><a href=\"/login\">Log in</a></li><li><a href=\"/join\">Join</a></li>");
    }
    html_raw(h, "</ul></nav></header><main id=\"main\">");
}

static void close_page(struct html *h)
{
    html_raw(h, "</main><footer><p>Peer support, not a crisis service. "
                "<a href=\"/about\">About this forum</a> · <a href=\"/resources\">Helplines"
                "</a></p></footer></body></html>\n");
}

/* ---- pieces ---- */

static void badges(struct html *h, const struct store_post *x)
{
    const char *roles = x->author_roles;
    size_t i = 0;
    while (roles && *roles) {
        const char *end = strchr(roles, ',');
        size_t n = end ? (size_t)(end - roles) : strlen(roles);
        html_raw(h, " <span class=\"badge\">");
        html_textn(h, roles, n);
        if (i < STORE_MAX_ROLES && x->role_about[i]) {
            html_raw(h, ": ");
            html_text(h, x->role_about[i]);
        }
        html_raw(h, "</span>");
        roles += n + (end ? 1 : 0);
        i++;
    }
}

/* author - the pseudonym as text (a name can never look like a badge: badges come
 * only from the view's roles), with the key's first digits so that two members who
 * chose one name stay apart. */
static void author(struct html *h, const struct store_post *x)
{
    html_raw(h, "<a class=\"who\" href=\"/u/");
    html_hex(h, x->author, HEARTH_PK_LEN);
    html_raw(h, "\">");
    html_text(h, x->author_name ? x->author_name : "someone");
    html_raw(h, " <span class=\"key\">");
    /* As many digits as tell this author from another of the same name (the store
     * says how many: 8, or more where two names collide). */
    html_hex(h, x->author, x->author_key_digits ? (x->author_key_digits + 1) / 2 : 4);
    html_raw(h, "</span></a>");
    badges(h, x);
}

static const char *placeholder(const struct store_post *x)
{
    switch (x->status) {
    case POST_RETRACTED:
        return "Taken back by its author.";
    case POST_REMOVED:
        return "Removed by a moderator.";
    default:
        return x->text ? NULL : "Its words are not on this hub.";
    }
}

/* status_note - what happened to a post that not everyone sees, as its author and the
 * moderators are told: by whom, and the moderator's reason. */
static void status_note(struct html *h, const struct store_post *x)
{
    if (x->status == POST_HELD) {
        html_raw(h, "<p class=\"note\">Waiting for a moderator's approval: only its author and "
                    "the moderators can see it.</p>");
        return;
    }
    if (x->status != POST_HIDDEN && !(x->status == POST_REMOVED && x->mod_reason))
        return;
    html_raw(h, "<p class=\"note\">");
    if (x->status == POST_REMOVED)
        html_raw(h, "Removed by a moderator");
    else if (x->hidden_by == HIDDEN_BY_FLAGS) {
        html_raw(h, "Hidden until a moderator reviews it (flagged by ");
        html_uint(h, x->flags);
        html_raw(h, x->flags == 1 ? " member)" : " members)");
    } else if (x->hidden_by == HIDDEN_BY_BAN)
        html_raw(h, "Hidden: its author is banned");
    else
        html_raw(h, "Hidden by a moderator");
    if (x->mod_reason) {
        html_raw(h, ". Their reason: ");
        html_text(h, x->mod_reason);
    }
    html_raw(h, x->status == POST_HIDDEN ? ". Only its author and the moderators see it.</p>"
                                         : ".</p>");
}

static void body(struct html *h, const struct store_post *x)
{
    const char *ph = placeholder(x);
    if (ph) {
        html_raw(h, "<p class=\"gone\">");
        html_text(h, ph);
        html_raw(h, "</p>");
        return;
    }
    if (x->cw) {
        html_raw(h, "<details class=\"cw\"><summary>Content warning: ");
        html_text(h, x->cw);
        html_raw(h, " (open to read)</summary>");
    }
    html_raw(h, "<div class=\"text\">");
    html_markdown(h, x->text, strlen(x->text));
    html_raw(h, "</div>");
    if (x->cw)
        html_raw(h, "</details>");
}

/* The viewer's standing reactions in a thread. */
struct mine {
    const struct store_my_reaction *v;
    size_t n;
};

/* title_and_body - a post as moderators review it: its title, if any, then its words. */
static void title_and_body(struct html *h, const struct store_post *x)
{
    if (x->title) {
        html_raw(h, "<h2>");
        html_text(h, x->title);
        html_raw(h, "</h2>");
    }
    body(h, x);
}

/* reactions - the counts; for a member, buttons that toggle their own. */
static void reactions(struct html *h, const struct page *p, const struct store_post *x,
                      const struct mine *mine)
{
    if (x->status != POST_VISIBLE || !x->text)
        return;
    if (!p->member) {
        bool any = false;
        for (uint32_t i = 0; i < x->n_reactions; i++) {
            html_raw(h, any ? " · " : "<p class=\"reactions\">");
            html_text(h, x->reactions[i].name);
            html_raw(h, " ");
            html_uint(h, x->reactions[i].count);
            any = true;
        }
        if (any)
            html_raw(h, "</p>");
        return;
    }
    html_raw(h, "<form method=\"post\" class=\"reactions\"");
    html_raw(h, " action=\"");
    post_link(h, "/react/", x->id);
    html_raw(h, "\">");
    csrf_field(h, p);
    for (const char *const *r = event_reactions; *r; r++) {
        uint32_t count = 0;
        bool mine_too = false;
        for (uint32_t i = 0; i < x->n_reactions; i++)
            if (!strcmp(x->reactions[i].name, *r))
                count = x->reactions[i].count;
        for (size_t i = 0; i < mine->n; i++)
            if (!strcmp(mine->v[i].name, *r) && !memcmp(mine->v[i].post, x->id, HEARTH_ID_LEN))
                mine_too = true;
        html_raw(h, "<button type=\"submit\" name=\"reaction\"");
        html_attr(h, "value", *r);
        html_raw(h, mine_too ? " aria-pressed=\"true\">" : " aria-pressed=\"false\">");
        html_text(h, *r);
        if (count) {
            html_raw(h, " ");
            html_uint(h, count);
        }
        html_raw(h, "</button> ");
    }
    html_raw(h, "</form>");
}

static bool mine(const struct page *p, const struct store_post *x)
{
    return p->member && !memcmp(p->member->pk, x->author, HEARTH_PK_LEN);
}

static void actions(struct html *h, const struct page *p, const struct store_post *x)
{
    if (!p->member || x->status == POST_RETRACTED || x->status == POST_REMOVED)
        return;
    html_raw(h, "<p class=\"actions\">");
    if (mine(p, x)) {
        html_raw(h, "<a href=\"");
        post_link(h, "/edit/", x->id);
        html_raw(h, "\">Edit</a> <a href=\"");
        post_link(h, "/retract/", x->id);
        html_raw(h, "\">Take back</a>");
    } else {
        html_raw(h, "<a href=\"");
        post_link(h, "/flag/", x->id);
        html_raw(h, "\">Flag for a moderator</a>");
    }
    if (page_can_moderate(p->roles)) {
        html_raw(h, " <a href=\"");
        post_link(h, "/mod/", x->id);
        html_raw(h, "\">Moderate</a>");
    }
    html_raw(h, "</p>");
}

/* excerpt - one post in a list; fresh marks it new (unread replies). */
static void excerpt(struct html *h, const struct store_post *x, bool fresh)
{
    html_raw(h, fresh ? "<li class=\"unread\"><span class=\"tag\">New</span> <a href=\""
                      : "<li><a href=\"");
    post_link(h, "/t/", x->root);
    html_raw(h, "#p");
    html_hex(h, x->id, 6);
    html_raw(h, "\">");
    html_text(h, x->title ? x->title : "A reply");
    html_raw(h, "</a> by ");
    html_text(h, x->author_name ? x->author_name : "someone");
    html_raw(h, ", ");
    html_time(h, x->created);
    const char *ph = placeholder(x);
    html_raw(h, "<p class=\"excerpt\">");
    if (ph) {
        html_text(h, ph);
    } else if (x->cw) {
        html_raw(h, "Content warning: ");
        html_text(h, x->cw);
    } else {
        size_t n = strlen(x->text);
        html_textn(h, x->text, n > 200 ? 200 : n);
        if (n > 200)
            html_raw(h, "…");
    }
    html_raw(h, "</p></li>");
}

static void problem_box(struct html *h, const char *problem)
{
    if (!problem)
        return;
    html_raw(h, "<p class=\"problem\" role=\"alert\">");
    html_text(h, problem);
    html_raw(h, "</p>");
}

/* ---- reading ---- */

void page_home(struct html *h, const struct page *p, const struct page_board *v, size_t n)
{
    open_page(h, p, "Boards");
    html_raw(h, "<h1>Boards</h1><ul class=\"boards\">");
    for (size_t i = 0; i < n; i++) {
        html_raw(h, "<li><a href=\"");
        post_link(h, "/b/", v[i].b->id);
        html_raw(h, "\">");
        html_text(h, v[i].b->name);
        html_raw(h, "</a> <span class=\"meta\">");
        html_uint(h, v[i].b->threads);
        html_raw(h, v[i].b->threads == 1 ? " thread" : " threads");
        if (v[i].new_threads) {
            html_raw(h, ", <strong>");
            html_uint(h, v[i].new_threads);
            html_raw(h, " new</strong>");
        }
        html_raw(h, "</span>");
        if (v[i].b->about) {
            html_raw(h, "<p>");
            html_text(h, v[i].b->about);
            html_raw(h, "</p>");
        }
        html_raw(h, "</li>");
    }
    html_raw(h, "</ul>");
    close_page(h);
}

/* pages_nav - a paged list's links: back to its start (unless on it) and on past
 * `next` (unless ""). q: the search words the list is of, or NULL. */
static void pages_nav(struct html *h, const char *q, bool first, const char *next,
                      const char *start, const char *more)
{
    if (first && !*next)
        return;
    html_raw(h, "<nav aria-label=\"Pages\" class=\"pages\">");
    if (!first) {
        html_raw(h, "<a rel=\"first\" href=\"?");
        if (q) {
            html_raw(h, "q=");
            html_urlarg(h, q);
        }
        html_raw(h, "\">");
        html_text(h, start);
        html_raw(h, "</a> ");
    }
    if (*next) {
        html_raw(h, "<a rel=\"next\" href=\"?");
        if (q) {
            html_raw(h, "q=");
            html_urlarg(h, q);
            html_raw(h, "&amp;");
        }
        html_raw(h, "before=");
        html_urlarg(h, next);
        html_raw(h, "\">");
        html_text(h, more);
        html_raw(h, "</a>");
    }
    html_raw(h, "</nav>");
}

void page_board(struct html *h, const struct page *p, const struct store_board *b,
                const struct store_post *t, const bool *unread, size_t n, bool first,
                const char *next)
{
    open_page(h, p, b->name);
    html_raw(h, "<h1>");
    html_text(h, b->name);
    html_raw(h, "</h1>");
    if (p->member) {
        html_raw(h, "<p><a class=\"button\" href=\"");
        post_link(h, "/new/", b->id);
        html_raw(h, "\">Start a thread</a></p>");
    }
    if (!n)
        html_raw(h, "<p>No threads here yet.</p>");
    html_raw(h, "<ul class=\"threads\">");
    for (size_t i = 0; i < n; i++) {
        const struct store_post *x = &t[i];
        html_raw(h, unread && unread[i] ? "<li class=\"unread\">" : "<li>");
        if (x->pinned)
            html_raw(h, "<span class=\"tag\">Pinned</span> ");
        if (x->locked)
            html_raw(h, "<span class=\"tag\">Locked</span> ");
        if (unread && unread[i])
            html_raw(h, "<span class=\"tag\">New</span> ");
        html_raw(h, "<a href=\"");
        post_link(h, "/t/", x->id);
        html_raw(h, "\">");
        html_text(h, x->title ? x->title : placeholder(x));
        html_raw(h, "</a><p class=\"meta\">");
        author(h, x);
        html_raw(h, " · ");
        html_uint(h, x->replies);
        html_raw(h, x->replies == 1 ? " reply · " : " replies · ");
        html_time(h, x->last_activity);
        html_raw(h, "</p></li>");
    }
    html_raw(h, "</ul>");
    pages_nav(h, NULL, first, next, "Newest threads", "Older threads");
    close_page(h);
}

static const struct store_post *find_post(const struct store_post *v, size_t n,
                                          const uint8_t id[HEARTH_ID_LEN])
{
    for (size_t i = 0; i < n; i++)
        if (!memcmp(v[i].id, id, HEARTH_ID_LEN))
            return &v[i];
    return NULL;
}

static void one_post(struct html *h, const struct page *p, const struct store_post *v, size_t n,
                     size_t i, const struct mine *mine_r)
{
    const struct store_post *x = &v[i];
    unsigned depth = x->depth < PAGE_INDENT_MAX ? x->depth : PAGE_INDENT_MAX;
    html_raw(h, "<article class=\"post d");
    html_uint(h, depth);
    if (x->author_roles && (page_has_role(x->author_roles, "professional") ||
                            page_has_role(x->author_roles, "peer-worker")))
        html_raw(h, " pro");
    html_raw(h, "\" id=\"p");
    html_hex(h, x->id, 6);
    html_raw(h, "\"><p class=\"meta\">");
    author(h, x);
    html_raw(h, " · ");
    html_time(h, x->created);
    if (x->edited)
        html_raw(h, " · edited");
    if (x->kind == EK_REPLY && depth > 1) {
        const struct store_post *parent = find_post(v, n, x->parent);
        if (parent) {
            html_raw(h, " · <a href=\"#p");
            html_hex(h, parent->id, 6);
            html_raw(h, "\">in answer to ");
            html_text(h, parent->author_name ? parent->author_name : "someone");
            html_raw(h, "</a>");
        }
    }
    html_raw(h, "</p>");
    status_note(h, x);
    body(h, x);
    reactions(h, p, x, mine_r);
    actions(h, p, x);
    html_raw(h, "</article>");
}

static void reply_form(struct html *h, const struct page *p, const struct store_post *x,
                       const char *label)
{
    html_raw(h, "<details class=\"reply\"><summary>");
    html_text(h, label);
    html_raw(h, "</summary><form method=\"post\" action=\"");
    post_link(h, "/reply/", x->id);
    html_raw(h, "\">");
    csrf_field(h, p);
    html_raw(h, "<label for=\"r");
    html_hex(h, x->id, 6);
    html_raw(h, "\">Your reply</label><textarea required rows=\"5\" name=\"text\" id=\"r");
    html_hex(h, x->id, 6);
    html_raw(h, "\"></textarea><label for=\"c");
    html_hex(h, x->id, 6);
    html_raw(h, "\">Content warning (optional)</label><input name=\"cw\" id=\"c");
    html_hex(h, x->id, 6);
    html_raw(h, "\"><button type=\"submit\">Send reply</button></form></details>");
}

void page_thread(struct html *h, const struct page *p, const struct store_post *t,
                 const struct store_post *v, size_t n, bool first, const char *next,
                 const struct store_my_reaction *mine, size_t nmine)
{
    struct mine m = {mine, nmine};
    open_page(h, p, t->title ? t->title : "Thread");
    html_raw(h, "<h1>");
    html_text(h, t->title ? t->title : placeholder(t));
    html_raw(h, "</h1>");
    if (t->locked)
        html_raw(h, "<p class=\"note\">This thread is locked: no new replies.</p>");
    if (!first)
        html_raw(h, "<p class=\"note\">Later replies in this thread.</p>");
    for (size_t i = 0; i < n; i++) {
        one_post(h, p, v, n, i, &m);
        bool open = v[i].status == POST_VISIBLE && v[i].text;
        if (p->member && !t->locked && open && (i > 0 || !first))
            reply_form(h, p, &v[i], "Reply to this");
    }
    pages_nav(h, NULL, first, next, "The start of the thread", "Later replies");
    if (p->member && !t->locked && t->status == POST_VISIBLE) {
        html_raw(h, "<h2>Reply to the thread</h2>");
        html_raw(h, "<form method=\"post\" action=\"");
        post_link(h, "/reply/", t->id);
        html_raw(h, "\">");
        csrf_field(h, p);
        html_raw(h, "<label for=\"text\">Your reply</label><textarea required rows=\"6\" "
                    "name=\"text\" id=\"text\"></textarea><label for=\"cw\">Content warning "
                    "(optional)</label><input name=\"cw\" id=\"cw\">"
                    "<button type=\"submit\">Send reply</button></form>");
    } else if (!p->member) {
        html_raw(h, "<p><a href=\"/login\">Log in</a> or <a href=\"/join\">join</a> to reply."
                    "</p>");
    }
    close_page(h);
}

void page_search(struct html *h, const struct page *p, const char *query,
                 const struct store_post *v, size_t n, bool first, const char *next)
{
    open_page(h, p, "Search");
    html_raw(h, "<h1>Search</h1><form method=\"get\" action=\"/search\" role=\"search\">"
                "<label for=\"q\">Words to look for</label><input type=\"search\" name=\"q\" "
                "id=\"q\"");
    html_attr(h, "value", query ? query : "");
    html_raw(h, "><button type=\"submit\">Search</button></form>");
    if (query && *query) {
        html_raw(h, "<h2>");
        if (first && !*next) {
            html_uint(h, n);
            html_raw(h, n == 1 ? " post found</h2>" : " posts found</h2>");
        } else {
            html_raw(h, "Posts found: ");
            html_uint(h, n);
            html_raw(h, " on this page</h2>");
        }
        html_raw(h, "<ul class=\"found\">");
        for (size_t i = 0; i < n; i++)
            excerpt(h, &v[i], false);
        html_raw(h, "</ul>");
        pages_nav(h, query, first, next, "The best matches", "More results");
    }
    close_page(h);
}

void page_profile(struct html *h, const struct page *p, const uint8_t who[HEARTH_PK_LEN],
                  const char *name, const char *about, const char *roles,
                  const struct store_post *v, size_t n, bool own)
{
    open_page(h, p, name ? name : "A member");
    html_raw(h, "<h1>");
    html_text(h, name ? name : "A member");
    html_raw(h, "</h1><p class=\"meta\">Key <span class=\"key\">");
    html_hex(h, who, 8);
    html_raw(h, "</span>");
    struct store_post fake = {.author_roles = (char *)roles};
    badges(h, &fake);
    html_raw(h, "</p>");
    if (about) {
        html_raw(h, "<p>");
        html_text(h, about);
        html_raw(h, "</p>");
    }
    if (own) {
        html_raw(h, "<h2>Your profile</h2><form method=\"post\" action=\"/profile\">");
        csrf_field(h, p);
        html_raw(h, "<label for=\"name\">Name people see</label><input required "
                    "maxlength=\"64\" name=\"name\" id=\"name\"");
        html_attr(h, "value", name ? name : "");
        html_raw(h, "><label for=\"about\">About you (optional)</label><textarea rows=\"3\" "
                    "name=\"about\" id=\"about\">");
        html_text(h, about);
        html_raw(h, "</textarea><button type=\"submit\">Save profile</button></form>");
    }
    html_raw(h, "<h2>Posts</h2>");
    if (!n)
        html_raw(h, "<p>Nothing yet.</p>");
    html_raw(h, "<ul class=\"found\">");
    for (size_t i = 0; i < n; i++)
        excerpt(h, &v[i], false);
    html_raw(h, "</ul>");
    close_page(h);
}

static const char *mod_words(const char *action)
{
    static const char *const words[][2] = {
        {"approve", "approved your post"},    {"hide", "hid your post"},
        {"unhide", "showed your post again"}, {"remove", "removed your post"},
        {"lock", "locked your thread"},       {"unlock", "unlocked your thread"},
        {"pin", "pinned your thread"},        {"unpin", "unpinned your thread"},
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (!strcmp(words[i][0], action))
            return words[i][1];
    return action;
}

void page_replies(struct html *h, const struct page *p, const struct store_post *v, size_t n,
                  const struct store_post *at, size_t na, const struct store_mod_entry *m,
                  size_t nm, uint64_t since)
{
    open_page(h, p, "Replies to me");
    html_raw(h, "<h1>Replies to me</h1>");
    if (!n)
        html_raw(h, "<p>No replies to your posts yet.</p>");
    html_raw(h, "<ul class=\"found\">");
    for (size_t i = 0; i < n; i++)
        excerpt(h, &v[i], v[i].created > since);
    html_raw(h, "</ul>");
    if (na) {
        html_raw(h, "<h2>Mentions of you</h2><ul class=\"found mentions\">");
        for (size_t i = 0; i < na; i++)
            excerpt(h, &at[i], at[i].created > since);
        html_raw(h, "</ul>");
    }
    if (nm) {
        html_raw(h, "<h2>Moderators on your posts</h2><ul class=\"found\">");
        for (size_t i = 0; i < nm; i++) {
            html_raw(h, m[i].created > since ? "<li class=\"unread\"><span class=\"tag\">New"
                                               "</span> "
                                             : "<li>");
            html_text(h, m[i].author_name ? m[i].author_name : "A moderator");
            html_raw(h, " ");
            html_text(h, mod_words(m[i].action));
            html_raw(h, ", ");
            html_time(h, m[i].created);
            if (m[i].has_target) {
                html_raw(h, " (<a href=\"/p/");
                html_hex(h, m[i].target, HEARTH_ID_LEN);
                html_raw(h, "\">the post</a>)");
            }
            html_raw(h, "<p class=\"excerpt\">Their reason: ");
            html_text(h, m[i].reason);
            html_raw(h, "</p></li>");
        }
        html_raw(h, "</ul>");
    }
    close_page(h);
}

void page_resources(struct html *h, const struct page *p, const char *text, const char *about)
{
    open_page(h, p, "Helplines");
    html_raw(h, "<h1>Helplines and resources</h1>");
    if (text) {
        html_raw(h, "<div class=\"resources\">");
        html_markdown(h, text, strlen(text));
        html_raw(h, "</div>");
    } else {
        html_raw(h, "<p>This forum has not listed local helplines yet. In an emergency, call "
                    "your local emergency number.</p>");
    }
    if (about) {
        html_raw(h, "<p>");
        html_text(h, about);
        html_raw(h, "</p>");
    }
    close_page(h);
}

void page_conversation(struct html *h, const struct page *p, const uint8_t member[HEARTH_PK_LEN],
                       const char *name, const struct store_message *v, size_t n, uint64_t since)
{
    bool own = memcmp(member, p->member->pk, HEARTH_PK_LEN) == 0;
    open_page(h, p, own ? "Messages with the moderators" : "Messages with a member");
    if (own) {
        html_raw(h, "<h1>You and the moderators</h1><p>Only you and the forum's moderators "
                    "can read these messages, on this hub and on every other: they are "
                    "sealed to you and to them. A moderator made later cannot read what was "
                    "written before.</p>");
    } else {
        html_raw(h, "<p><a href=\"/messages\">All conversations</a></p><h1>");
        html_text(h, name ? name : "A member");
        html_raw(h, " <span class=\"key\">");
        html_hex(h, member, 4);
        html_raw(h, "</span> and the moderators</h1>");
    }
    if (!n)
        html_raw(h, "<p>No messages yet.</p>");
    html_raw(h, "<ol class=\"messages\">");
    for (size_t i = 0; i < n; i++) {
        const struct store_message *m = &v[i];
        bool mine = memcmp(m->author, p->member->pk, HEARTH_PK_LEN) == 0;
        html_raw(h, m->arrival > since && !mine ? "<li class=\"unread\"><span class=\"tag\">"
                                                  "New</span> "
                                                : "<li>");
        html_raw(h, "<p class=\"meta\">");
        if (mine)
            html_raw(h, "You");
        else
            who(h, m->author, m->author_name);
        if (m->from_mod)
            html_raw(h, " <span class=\"badge\">moderator</span>");
        html_raw(h, ", ");
        html_time(h, m->created);
        if (m->has_about) {
            html_raw(h, ", about <a href=\"/p/");
            html_hex(h, m->about, HEARTH_ID_LEN);
            html_raw(h, "\">a post</a>");
        }
        html_raw(h, "</p>");
        if (m->text) {
            /* As text, not CommonMark: a private text never enters the shared cache of
             * rendered texts (web/cache.h). */
            html_raw(h, "<p class=\"private\">");
            html_text(h, m->text);
            html_raw(h, "</p>");
        } else {
            html_raw(h, "<p class=\"gone\">Sealed to its readers: written before you could "
                        "read it.</p>");
        }
        html_raw(h, "</li>");
    }
    html_raw(h, "</ol><h2>");
    html_raw(h, own ? "Write to the moderators" : "Write back");
    html_raw(h, "</h2><form method=\"post\" action=\"/messages");
    if (!own) {
        html_raw(h, "/");
        html_hex(h, member, HEARTH_PK_LEN);
    }
    html_raw(h, "\">");
    csrf_field(h, p);
    html_raw(h, "<label for=\"text\">Your message</label><textarea required rows=\"6\" "
                "maxlength=\"10000\" name=\"text\" id=\"text\"></textarea>"
                "<button type=\"submit\">Send privately</button></form>");
    close_page(h);
}

void page_conversations(struct html *h, const struct page *p,
                        const struct store_conversation_info *v, size_t n)
{
    open_page(h, p, "Messages");
    html_raw(h, "<h1>Messages to the moderators</h1><p>Members write here privately. A "
                "conversation marked <strong>waiting</strong> has a member's message no "
                "moderator has answered yet.</p>");
    if (!n)
        html_raw(h, "<p>No member has written yet.</p>");
    html_raw(h, "<ul class=\"found\">");
    for (size_t i = 0; i < n; i++) {
        bool waiting = v[i].member_arrival == v[i].last_arrival;
        html_raw(h, waiting ? "<li class=\"unread\"><span class=\"tag\">Waiting</span> " : "<li>");
        html_raw(h, "<a href=\"/messages/");
        html_hex(h, v[i].member, HEARTH_PK_LEN);
        html_raw(h, "\">");
        html_text(h, v[i].member_name ? v[i].member_name : "A member");
        html_raw(h, " <span class=\"key\">");
        html_hex(h, v[i].member, 4);
        html_raw(h, "</span></a>: ");
        html_uint(h, (uint32_t)v[i].messages);
        html_raw(h, v[i].messages == 1 ? " message, the last " : " messages, the last ");
        html_time(h, v[i].last_created);
        html_raw(h, "</li>");
    }
    html_raw(h, "</ul>");
    close_page(h);
}

void page_about(struct html *h, const struct page *p)
{
    open_page(h, p, "About");
    html_raw(h, "<h1>About this forum</h1><p>This is a peer-support forum: people with lived "
                "experience, carers, volunteers and some professionals, sharing support and "
                "practical advice.</p><p><strong>It is not a crisis service.</strong> Nobody "
                "watches it around the clock. If you or someone near you is in danger, call "
                "the helplines shown at the top of every page, or your local emergency "
                "number.</p><p>You are known here by the name you choose. You can take back "
                "anything you posted: its words are deleted on this hub and on every hub it "
                "reaches. Moderators can hide or remove posts, always with a reason.</p><p>"
                "The forum lives on this hub and on others that share it when a link appears, "
                "so it works without the internet.</p>");
    close_page(h);
}

/* ---- writing ---- */

static void text_fields(struct html *h, const char *text, const char *cw)
{
    html_raw(h, "<label for=\"text\">What you want to say</label><textarea required "
                "rows=\"10\" name=\"text\" id=\"text\">");
    html_text(h, text);
    html_raw(h, "</textarea><p class=\"hint\">Blank lines make paragraphs; *stars* make "
                "emphasis.</p><label for=\"cw\">Content warning (optional)</label><input "
                "name=\"cw\" id=\"cw\" aria-describedby=\"cwhint\"");
    html_attr(h, "value", cw ? cw : "");
    html_raw(h, "><p class=\"hint\" id=\"cwhint\">If your post talks about something hard "
                "(self-harm, loss, abuse), name it here: readers will open it when they "
                "choose.</p>");
}

void page_compose(struct html *h, const struct page *p, const struct store_board *b,
                  const char *title, const char *text, const char *cw, const char *problem)
{
    open_page(h, p, "Start a thread");
    html_raw(h, "<h1>Start a thread in ");
    html_text(h, b->name);
    html_raw(h, "</h1>");
    problem_box(h, problem);
    html_raw(h, "<form method=\"post\" action=\"");
    post_link(h, "/new/", b->id);
    html_raw(h, "\">");
    csrf_field(h, p);
    html_raw(h, "<label for=\"title\">Title</label><input required maxlength=\"300\" "
                "name=\"title\" id=\"title\"");
    html_attr(h, "value", title ? title : "");
    html_raw(h, ">");
    text_fields(h, text, cw);
    html_raw(h, "<button type=\"submit\">Post</button></form>");
    close_page(h);
}

void page_edit(struct html *h, const struct page *p, const struct store_post *post,
               const char *text, const char *problem)
{
    open_page(h, p, "Edit");
    html_raw(h, "<h1>Edit your post</h1>");
    problem_box(h, problem);
    html_raw(h, "<p class=\"note\">The edited words replace these on every hub.</p>"
                "<form method=\"post\" action=\"");
    post_link(h, "/edit/", post->id);
    html_raw(h, "\">");
    csrf_field(h, p);
    text_fields(h, text ? text : post->text, post->cw);
    html_raw(h, "<button type=\"submit\">Save</button></form>");
    close_page(h);
}

void page_confirm(struct html *h, const struct page *p, const struct store_post *post,
                  const char *what, const char *problem)
{
    bool flag = !strcmp(what, "flag");
    open_page(h, p, flag ? "Flag a post" : "Take back a post");
    html_raw(h, flag ? "<h1>Flag this post for a moderator</h1>" : "<h1>Take back this post?</h1>");
    problem_box(h, problem);
    html_raw(h, "<blockquote>");
    const char *ph = placeholder(post);
    if (ph)
        html_text(h, ph);
    else
        html_markdown(h, post->text, strlen(post->text));
    html_raw(h, "</blockquote><form method=\"post\" action=\"/");
    html_raw(h, flag ? "flag/" : "retract/");
    html_hex(h, post->id, HEARTH_ID_LEN);
    html_raw(h, "\">");
    csrf_field(h, p);
    if (flag)
        html_raw(h, "<label for=\"reason\">What should a moderator know?</label><input "
                    "required maxlength=\"1000\" name=\"reason\" id=\"reason\">"
                    "<button type=\"submit\">Flag it</button>");
    else
        html_raw(h, "<p>Its words will be deleted here and on every hub this reaches. People "
                    "will see that something was taken back.</p><button type=\"submit\" "
                    "name=\"confirm\" value=\"yes\">Yes, take it back</button>");
    html_raw(h, " <a href=\"");
    post_link(h, "/t/", post->root);
    html_raw(h, "\">Cancel</a></form>");
    close_page(h);
}

/* ---- members ---- */

void page_login(struct html *h, const struct page *p, const char *login, const char *problem)
{
    open_page(h, p, "Log in");
    html_raw(h, "<h1>Log in</h1>");
    problem_box(h, problem);
    html_raw(h, "<form method=\"post\" action=\"/login\">");
    csrf_field(h, p);
    html_raw(h, "<label for=\"login\">Login name</label><input required name=\"login\" "
                "id=\"login\" autocomplete=\"username\" autocapitalize=\"none\"");
    html_attr(h, "value", login ? login : "");
    html_raw(h, "><label for=\"pass\">Passphrase</label><input required type=\"password\" "
                "name=\"pass\" id=\"pass\" autocomplete=\"current-password\">"
                "<button type=\"submit\">Log in</button></form><p>New here? "
                "<a href=\"/join\">Join with an invite</a>. Have hearth on a laptop? "
                "<a href=\"/join/device\">Sign in with a code from your own device</a>."
                "</p>");
    close_page(h);
}

void page_join(struct html *h, const struct page *p, const char *code, const char *login,
               const char *name, const char *problem)
{
    open_page(h, p, "Join");
    html_raw(h, "<h1>Join the forum</h1>");
    problem_box(h, problem);
    html_raw(h, "<p>You will be known by the name you choose, not your real name. Your "
                "passphrase unlocks your key on this hub; nobody can reset it, so keep it "
                "safe.</p><form method=\"post\" action=\"/join\">");
    csrf_field(h, p);
    if (!p->open_join) {
        html_raw(h, "<label for=\"code\">Invite code</label><input required name=\"code\" "
                    "id=\"code\" autocapitalize=\"characters\"");
        html_attr(h, "value", code ? code : "");
        html_raw(h, ">");
    }
    html_raw(h, "<label for=\"login\">Login name (letters, digits, . _ -)</label><input "
                "required maxlength=\"32\" name=\"login\" id=\"login\" autocomplete=\"username\" "
                "autocapitalize=\"none\"");
    html_attr(h, "value", login ? login : "");
    html_raw(h, "><label for=\"name\">Name people see</label><input required maxlength=\"64\" "
                "name=\"name\" id=\"name\"");
    html_attr(h, "value", name ? name : "");
    html_raw(h, "><label for=\"pass\">Passphrase (at least 10 characters)</label><input "
                "required minlength=\"10\" type=\"password\" name=\"pass\" id=\"pass\" "
                "autocomplete=\"new-password\"><button type=\"submit\">Join</button></form>"
                "<p>Already a member on a laptop of yours? <a href=\"/join/device\">Sign "
                "in with a code from your own device</a>.</p>");
    close_page(h);
}

/* qr_figure - text as a QR code, an inline SVG (no request, nothing for the CSP to
 * allow), labelled for a screen reader; nothing when text is too long for one. */
static void qr_figure(struct html *h, const char *text, const char *label)
{
    struct qr q;
    struct hbuf d;
    if (!qr_make(&q, text))
        return;
    hbuf_init(&d, 1u << 20);
    if (qr_svg_path(&q, &d) == HERR_OK) {
        char box[160];
        int all = q.width + 2 * QR_QUIET;
        html_raw(h, "<svg class=\"qr\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\"");
        html_attr(h, "aria-label", label);
        snprintf(box, sizeof box,
                 " viewBox=\"0 0 %d %d\"><rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>"
                 "<path transform=\"translate(%d %d)\" fill=\"#000\" d=\"",
                 all, all, all, all, QR_QUIET, QR_QUIET);
        html_raw(h, box);
        html_rawn(h, (const char *)d.data, d.len); /* digits, spaces and "Mhvz-" only */
        html_raw(h, "\"/></svg>");
    }
    hbuf_release(&d);
    qr_release(&q);
}

void page_invites(struct html *h, const struct page *p, const char *fresh, const char *join_url,
                  const char *link, const struct store_invite *v, size_t n, uint64_t now_ms)
{
    open_page(h, p, "Invites");
    html_raw(h, "<h1>Invites</h1>");
    if (fresh) {
        html_raw(h, "<p>A new invite, good for one person for 7 days:</p><p class=\"code\">");
        html_text(h, fresh);
        html_raw(h, "</p><h2>For a phone</h2><p>Let them scan this, or give them the link: <a");
        html_attr(h, "href", join_url);
        html_raw(h, ">");
        html_text(h, join_url);
        html_raw(h, "</a></p>");
        qr_figure(h, join_url, "QR code of the link for a phone");
        if (link) {
            html_raw(h, "<h2>For a laptop with hearth</h2><p>They run <code>hearth init "
                        "--join LINK</code> with this link, which holds the code:</p>"
                        "<p class=\"pcode\" id=\"join-link\">");
            html_text(h, link);
            html_raw(h, "</p>");
            qr_figure(h, link, "QR code of the join link for a laptop");
        }
    }
    html_raw(h, "<form method=\"post\" action=\"/invites\">");
    csrf_field(h, p);
    html_raw(h, "<button type=\"submit\" name=\"do\" value=\"make\">Make an invite</button>"
                "</form>");
    if (n)
        html_raw(h, "<h2>Invites made on this hub</h2><ul class=\"found\">");
    for (size_t i = 0; i < n; i++) {
        const struct store_invite *x = &v[i];
        bool usable = !x->used && !x->revoked && x->expires > now_ms;
        html_raw(h, "<li><span class=\"key\">");
        html_text(h, x->code);
        html_raw(h, "</span> ");
        html_raw(h, x->used ? "used" : x->revoked ? "revoked" : usable ? "open until " : "expired");
        if (usable) {
            html_time(h, x->expires);
            html_raw(h, "<form method=\"post\" action=\"/invites\">");
            csrf_field(h, p);
            html_raw(h, "<input type=\"hidden\" name=\"revoke\"");
            html_attr(h, "value", x->code);
            html_raw(h, "><button type=\"submit\" name=\"do\" value=\"revoke\">Revoke ");
            html_text(h, x->code);
            html_raw(h, "</button></form>");
        }
        html_raw(h, "</li>");
    }
    if (n)
        html_raw(h, "</ul>");
    close_page(h);
}

/* ---- devices ---- */

static void device_line(struct html *h, const struct page *p, const struct store_device *x,
                        const uint8_t *own, bool can_revoke)
{
    html_raw(h, "<li><span class=\"key\">");
    html_hex(h, x->device, 8);
    html_raw(h, "</span>");
    if (!memcmp(x->device, own, HEARTH_PK_LEN))
        html_raw(h, " (this browser account)");
    if (x->revoked) {
        html_raw(h, " revoked: what it signed after its event ");
        html_uint(h, x->until);
        html_raw(h, " does not count");
    } else if (can_revoke) {
        html_raw(h, "<form method=\"post\" action=\"/devices\">");
        csrf_field(h, p);
        html_raw(h, "<input type=\"hidden\" name=\"device\"");
        char hex[2 * HEARTH_PK_LEN + 1];
        hex_encode(hex, x->device, HEARTH_PK_LEN);
        html_attr(h, "value", hex);
        html_raw(h, "><button type=\"submit\" name=\"do\" value=\"revoke\">Revoke device ");
        html_hex(h, x->device, 8);
        html_raw(h, "</button></form>");
    }
    html_raw(h, "</li>");
}

void page_devices(struct html *h, const struct page *p, const struct page_devices *d,
                  const char *problem)
{
    bool root = !memcmp(d->own, d->person, HEARTH_PK_LEN);
    open_page(h, p, "Your devices");
    html_raw(h, "<h1>Your devices</h1>");
    problem_box(h, problem);
    if (d->waiting) {
        html_raw(h, "<p class=\"state\" id=\"pair-state\" role=\"status\">Waiting for your "
                    "device to accept. On it, sync with this hub (<code>hearth sync</code>), "
                    "then run <code>hearth device accept</code> and sync again. Until then "
                    "this account cannot post.</p>");
    } else if (!root) {
        html_raw(h, "<p class=\"state\" id=\"pair-state\" role=\"status\">This browser "
                    "account is a device of ");
        who(h, d->person, d->person_name);
        html_raw(h, ": what you post here counts as theirs. Add or revoke devices from "
                    "their own device.</p>");
    } else {
        html_raw(h, "<p>A laptop that runs hearth can post as you: add it here, and what "
                    "it posts counts as yours on every hub.</p>");
    }
    if (d->n) {
        html_raw(h, "<h2>Devices</h2><ul class=\"found\" id=\"devices\">");
        for (size_t i = 0; i < d->n; i++)
            device_line(h, p, &d->v[i], d->own, root);
        html_raw(h, "</ul>");
    } else if (root) {
        html_raw(h, "<p>No other device counts as you yet.</p>");
    }
    if (!root)
        return close_page(h);
    if (d->code) {
        html_raw(h, "<h2>Your code</h2><p>On the laptop, after <code>hearth init --join "
                    "FORUM</code>, run <code>hearth device join</code> with this code, then "
                    "sync it with this hub. It works once, for 24 hours; anyone who has it "
                    "can ask to be your device, so give it to no one.</p>"
                    "<p class=\"pcode\" id=\"pair-code\">");
        html_text(h, d->code);
        html_raw(h, "</p>");
        qr_figure(h, d->code, "QR code of the device code");
    }
    html_raw(h, "<form method=\"post\" action=\"/devices\">");
    csrf_field(h, p);
    html_raw(h, "<button type=\"submit\" name=\"do\" value=\"add\">Add a device</button>"
                "</form>");
    size_t shown = 0;
    for (size_t i = 0; i < d->nm; i++) {
        const struct store_pair_match *m = &d->m[i];
        if (m->state == STORE_PAIR_ADDED || m->state == STORE_PAIR_FOREIGN)
            continue;
        if (!shown++)
            html_raw(h, "<h2>Devices that asked</h2><ul class=\"found\" id=\"requests\">");
        html_raw(h, "<li><span class=\"key\">");
        html_hex(h, m->req.device, 8);
        html_raw(h, "</span> ");
        if (m->state == STORE_PAIR_READY) {
            char hex[2 * HEARTH_PK_LEN + 1];
            hex_encode(hex, m->req.device, HEARTH_PK_LEN);
            html_raw(h, "asked with your code.<form method=\"post\" action=\"/devices\">");
            csrf_field(h, p);
            html_raw(h, "<input type=\"hidden\" name=\"device\"");
            html_attr(h, "value", hex);
            html_raw(h, "><button type=\"submit\" name=\"do\" value=\"accept\">Accept device ");
            html_hex(h, m->req.device, 8);
            html_raw(h, "</button></form>");
        } else {
            html_raw(h, "refused: ");
            html_text(h, store_pair_state_str(m->state));
        }
        html_raw(h, "</li>");
    }
    if (shown)
        html_raw(h, "</ul>");
    close_page(h);
}

void page_join_device(struct html *h, const struct page *p, const char *code, const char *login,
                      const char *problem)
{
    open_page(h, p, "Sign in with your device");
    html_raw(h, "<h1>Sign in with a code from your own device</h1>");
    problem_box(h, problem);
    html_raw(h, "<p>On your laptop, run <code>hearth device add</code> and type the code "
                "it prints here. This makes a browser account on this hub that posts as "
                "you once your laptop accepts it. Choose a login name and passphrase for "
                "this browser; you keep your name.</p><form method=\"post\" "
                "action=\"/join/device\">");
    csrf_field(h, p);
    html_raw(h, "<label for=\"code\">Device code (hd1-...)</label><input required "
                "name=\"code\" id=\"code\" autocapitalize=\"none\" autocomplete=\"off\"");
    html_attr(h, "value", code ? code : "");
    html_raw(h, "><label for=\"login\">Login name for this browser (letters, digits, . _ -)"
                "</label><input required maxlength=\"32\" name=\"login\" id=\"login\" "
                "autocomplete=\"username\" autocapitalize=\"none\"");
    html_attr(h, "value", login ? login : "");
    html_raw(h, "><label for=\"pass\">Passphrase (at least 10 characters)</label><input "
                "required minlength=\"10\" type=\"password\" name=\"pass\" id=\"pass\" "
                "autocomplete=\"new-password\"><button type=\"submit\">Sign in</button></form>");
    close_page(h);
}

void page_queue(struct html *h, const struct page *p, const struct store_post *v, size_t n)
{
    open_page(h, p, "Moderation");
    html_raw(h, "<h1>Waiting for a moderator</h1><p><a href=\"/mod/log\">Moderation log</a>"
                "</p>");
    if (!n)
        html_raw(h, "<p>Nothing is waiting.</p>");
    for (size_t i = 0; i < n; i++) {
        const struct store_post *x = &v[i];
        html_raw(h, "<article class=\"post\"><p class=\"meta\">");
        author(h, x);
        html_raw(h, " · ");
        html_time(h, x->created);
        html_raw(h, " · <a href=\"");
        post_link(h, "/t/", x->root);
        html_raw(h, "\">in context</a> · <a href=\"");
        post_link(h, "/mod/", x->id);
        html_raw(h, "\">all actions</a></p><p class=\"note\">");
        if (x->status == POST_HELD)
            html_raw(h, "A new member's post, held for approval.");
        else {
            html_raw(h, "Flagged by ");
            html_uint(h, x->flags);
            html_raw(h, x->flags == 1 ? " member." : " members.");
        }
        html_raw(h, "</p>");
        title_and_body(h, x);
        html_raw(h, "<form method=\"post\" action=\"");
        post_link(h, "/mod/", x->id);
        html_raw(h, "\">");
        csrf_field(h, p);
        html_raw(h, "<label for=\"why");
        html_hex(h, x->id, 6);
        html_raw(h, "\">Reason (other moderators and the author see it)</label><input "
                    "required maxlength=\"1000\" name=\"reason\" id=\"why");
        html_hex(h, x->id, 6);
        html_raw(h, "\"><button type=\"submit\" name=\"action\" value=\"approve\">Approve"
                    "</button> <button type=\"submit\" name=\"action\" value=\"hide\">Hide"
                    "</button> <button type=\"submit\" name=\"action\" value=\"remove\">"
                    "Remove</button></form></article>");
    }
    close_page(h);
}

static void who(struct html *h, const uint8_t pk[HEARTH_PK_LEN], const char *name)
{
    html_raw(h, "<a href=\"/u/");
    html_hex(h, pk, HEARTH_PK_LEN);
    html_raw(h, "\">");
    html_text(h, name ? name : "someone");
    html_raw(h, " <span class=\"key\">");
    html_hex(h, pk, 3);
    html_raw(h, "</span></a>");
}

static void log_entries(struct html *h, const struct store_mod_entry *v, size_t n)
{
    html_raw(h, "<ul class=\"found\">");
    for (size_t i = 0; i < n; i++) {
        const struct store_mod_entry *x = &v[i];
        html_raw(h, "<li>");
        html_time(h, x->created);
        html_raw(h, " ");
        who(h, x->author, x->author_name);
        html_raw(h, " <strong>");
        html_text(h, x->action);
        html_raw(h, "</strong> ");
        if (x->has_target) {
            html_raw(h, "<a href=\"");
            post_link(h, "/mod/", x->target);
            html_raw(h, "\">a post</a>");
        } else if (x->has_subject) {
            html_raw(h, "a member (<a href=\"/u/");
            html_hex(h, x->subject, HEARTH_PK_LEN);
            html_raw(h, "\">");
            html_hex(h, x->subject, 3);
            html_raw(h, "</a>)");
        }
        html_raw(h, "<p class=\"excerpt\">Reason: ");
        html_text(h, x->reason);
        html_raw(h, "</p></li>");
    }
    html_raw(h, "</ul>");
}

static void radio(struct html *h, const char *value, const char *label, const char *hint)
{
    html_raw(h, "<p class=\"choice\"><input type=\"radio\" required name=\"action\" id=\"a-");
    html_raw(h, value);
    html_raw(h, "\"");
    html_attr(h, "value", value);
    html_raw(h, "><label class=\"inline\" for=\"a-");
    html_raw(h, value);
    html_raw(h, "\">");
    html_text(h, label);
    html_raw(h, "</label> <span class=\"hint\">");
    html_text(h, hint);
    html_raw(h, "</span></p>");
}

void page_moderate(struct html *h, const struct page *p, const struct store_post *post,
                   const struct store_mod_entry *log, size_t n, const char *problem)
{
    open_page(h, p, "Moderate");
    html_raw(h, "<h1>Moderate a post</h1>");
    problem_box(h, problem);
    html_raw(h, "<article class=\"post\"><p class=\"meta\">");
    author(h, post);
    html_raw(h, " · ");
    html_time(h, post->created);
    html_raw(h, " · <a href=\"");
    post_link(h, "/t/", post->root);
    html_raw(h, "\">in context</a> · ");
    html_text(h, post_status_name(post->status));
    if (post->flags) {
        html_raw(h, " · flagged by ");
        html_uint(h, post->flags);
    }
    html_raw(h, "</p>");
    title_and_body(h, post);
    html_raw(h, "</article><form method=\"post\" action=\"");
    post_link(h, "/mod/", post->id);
    html_raw(h, "\">");
    csrf_field(h, p);
    html_raw(h, "<fieldset><legend>What to do</legend>");
    if (post->status == POST_HELD)
        radio(h, "approve", "Approve", "show it to everyone");
    if (post->status == POST_HIDDEN)
        radio(h, "unhide", "Unhide", "show it again");
    else if (post->status == POST_VISIBLE || post->status == POST_HELD)
        radio(h, "hide", "Hide", "only moderators see it; it can be shown again");
    if (post->status != POST_REMOVED && post->status != POST_RETRACTED)
        radio(h, "remove", "Remove", "its words are deleted on every hub; cannot be undone");
    if (post->kind == EK_POST) {
        if (post->locked)
            radio(h, "unlock", "Unlock the thread", "replies allowed again");
        else
            radio(h, "lock", "Lock the thread", "no new replies");
        if (post->pinned)
            radio(h, "unpin", "Unpin the thread", "");
        else
            radio(h, "pin", "Pin the thread", "first on its board");
    }
    radio(h, "ban", "Ban its author", "they cannot post; their posts are hidden");
    radio(h, "unban", "Unban its author", "");
    html_raw(h, "</fieldset><label for=\"reason\">Reason (other moderators and the author see "
                "it)</label><input required maxlength=\"1000\" name=\"reason\" id=\"reason\">"
                "<button type=\"submit\">Do it</button></form><h2>Moderation of this post</h2>");
    if (!n)
        html_raw(h, "<p>None yet.</p>");
    else
        log_entries(h, log, n);
    close_page(h);
}

void page_modlog(struct html *h, const struct page *p, const struct store_mod_entry *v, size_t n)
{
    open_page(h, p, "Moderation log");
    html_raw(h, "<h1>Moderation log</h1><p><a href=\"/mod\">Back to the queue</a></p>");
    if (!n)
        html_raw(h, "<p>No moderation yet.</p>");
    log_entries(h, v, n);
    close_page(h);
}

void page_admin(struct html *h, const struct page *p, const struct store_role_grant *g, size_t n,
                uint64_t hold, uint64_t flags, const char *resources, const char *on_duty,
                const struct store_board *b, size_t nb, const char *problem)
{
    open_page(h, p, "Admin");
    html_raw(h, "<h1>Running the forum</h1>");
    problem_box(h, problem);
    html_raw(h, "<h2>Roles</h2>");
    if (!n)
        html_raw(h, "<p>Nobody holds a role yet.</p>");
    html_raw(h, "<ul class=\"found\">");
    for (size_t i = 0; i < n; i++) {
        html_raw(h, "<li>");
        who(h, g[i].subject, g[i].subject_name);
        html_raw(h, " <span class=\"badge\">");
        html_text(h, g[i].role);
        if (g[i].about) {
            html_raw(h, ": ");
            html_text(h, g[i].about);
        }
        html_raw(h, "</span><form method=\"post\" action=\"/admin\">");
        csrf_field(h, p);
        html_raw(h, "<input type=\"hidden\" name=\"grant\" value=\"");
        html_hex(h, g[i].grant, HEARTH_ID_LEN);
        html_raw(h, "\"><button type=\"submit\" name=\"do\" value=\"revoke\">Revoke ");
        html_text(h, g[i].role);
        html_raw(h, " from ");
        html_text(h, g[i].subject_name ? g[i].subject_name : "this member");
        html_raw(h, "</button></form></li>");
    }
    html_raw(h, "</ul><h3>Give a role</h3><form method=\"post\" action=\"/admin\">");
    csrf_field(h, p);
    html_raw(h, "<label for=\"member\">The member's key (from their profile page)</label>"
                "<input required name=\"member\" id=\"member\" autocapitalize=\"none\" "
                "pattern=\"[0-9a-fA-F]{64}\"><label for=\"role\">Role</label><select "
                "name=\"role\" id=\"role\">");
    for (const char *const *r = event_roles; *r; r++) {
        html_raw(h, "<option");
        html_attr(h, "value", *r);
        html_raw(h, ">");
        html_text(h, *r);
        html_raw(h, "</option>");
    }
    html_raw(h, "</select><label for=\"about\">What it means here (optional, e.g. "
                "counsellor)</label><input maxlength=\"1000\" name=\"about\" id=\"about\">"
                "<button type=\"submit\" name=\"do\" value=\"grant\">Give the role</button>"
                "</form><h2>Settings</h2><form method=\"post\" action=\"/admin\">");
    csrf_field(h, p);
    html_raw(h, "<label for=\"hold\">A new member's first posts that wait for approval (0: "
                "none)</label><input type=\"number\" min=\"0\" max=\"100\" name=\"hold\" "
                "id=\"hold\" value=\"");
    html_uint(h, hold);
    html_raw(h, "\"><label for=\"flags\">Members' flags that hide a post until a moderator "
                "looks (0: never)</label><input type=\"number\" min=\"0\" max=\"100\" "
                "name=\"flags\" id=\"flags\" value=\"");
    html_uint(h, flags);
    html_raw(h, "\"><button type=\"submit\" name=\"do\" value=\"settings\">Save settings"
                "</button></form><h2>Helplines and resources</h2><form method=\"post\" "
                "action=\"/admin\">");
    csrf_field(h, p);
    html_raw(h, "<label for=\"resources\">Shown on every page and every hub (the first line "
                "in the banner)</label><textarea required rows=\"6\" name=\"resources\" "
                "id=\"resources\">");
    html_text(h, resources);
    html_raw(h, "</textarea><label for=\"duty\">When moderators are on duty "
                "(optional)</label><input maxlength=\"1000\" name=\"duty\" id=\"duty\"");
    html_attr(h, "value", on_duty ? on_duty : "");
    html_raw(h, "><button type=\"submit\" name=\"do\" value=\"resources\">Save resources"
                "</button></form><h2>Boards</h2><h3>Add a board</h3><form method=\"post\" "
                "action=\"/admin\">");
    csrf_field(h, p);
    html_raw(h, "<label for=\"bname\">Name</label><input required maxlength=\"64\" "
                "name=\"bname\" id=\"bname\"><label for=\"babout\">What it is for "
                "(optional)</label><input maxlength=\"1000\" name=\"babout\" id=\"babout\">"
                "<button type=\"submit\" name=\"do\" value=\"board-add\">Add the board</button>"
                "</form>");
    if (nb) {
        html_raw(h, "<h3>Rename a board</h3><p class=\"hint\">Its threads stay; every hub "
                    "shows the new name.</p><form method=\"post\" action=\"/admin\">");
        csrf_field(h, p);
        html_raw(h, "<label for=\"rboard\">Board</label><select name=\"board\" "
                    "id=\"rboard\">");
        for (size_t i = 0; i < nb; i++) {
            html_raw(h, "<option value=\"");
            html_hex(h, b[i].id, HEARTH_ID_LEN);
            html_raw(h, "\">");
            html_text(h, b[i].name);
            html_raw(h, "</option>");
        }
        html_raw(h, "</select><label for=\"rname\">New name</label><input required "
                    "maxlength=\"64\" name=\"bname\" id=\"rname\"><label for=\"rabout\">"
                    "What it is for (optional; empty keeps it)</label><input maxlength=\"1000\" "
                    "name=\"babout\" id=\"rabout\"><button type=\"submit\" name=\"do\" "
                    "value=\"board-rename\">Rename the board</button></form>");
    }
    close_page(h);
}

/* ---- the rest ---- */

void page_error(struct html *h, const struct page *p, int status, const char *what)
{
    open_page(h, p, status == 404 ? "Not found" : "Something went wrong");
    html_raw(h, "<h1>");
    html_raw(h, status == 404 ? "Not found" : status == 403 ? "Not allowed" : "That did not work");
    html_raw(h, "</h1><p role=\"alert\">");
    html_text(h, what);
    html_raw(h, "</p><p><a href=\"/\">Back to the boards</a></p>");
    close_page(h);
}

void page_exit(struct html *h)
{
    html_raw(h, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta "
                "name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>New "
                "tab</title></head><body><main><h1>New tab</h1></main></body></html>\n");
}

const char page_js[] =
    "(function(){function go(e){if(e)e.preventDefault();location.replace('/exit');}\n"
    "var a=document.getElementById('quick-exit');if(a)a.addEventListener('click',go);\n"
    "document.addEventListener('keydown',function(e){if(e.key==='Escape')go(e);});})();\n";

const char page_css[] =
    ":root{--fg:#1a1a1a;--bg:#fdfcf9;--muted:#555;--accent:#1d5e8c;--line:#d8d4cc;"
    "--warm:#f4efe6}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;font:17px/1.5 system-ui,sans-serif;color:var(--fg);background:var(--bg);"
    "overflow-wrap:anywhere}\n"
    "header,main,footer{max-width:44rem;margin:0 auto;padding:0 .8rem}\n"
    "a{color:var(--accent)}\n"
    ".skip{position:absolute;left:-999px}.skip:focus{left:.5rem;top:.5rem;background:#fff}\n"
    ".top{display:flex;justify-content:space-between;align-items:center;gap:.5rem;"
    "padding-top:.5rem}\n"
    ".forum{font-weight:700;font-size:1.15rem;text-decoration:none;color:var(--fg)}\n"
    ".exit{background:#8c1d1d;color:#fff;padding:.45rem .8rem;border-radius:.3rem;"
    "font-weight:700;text-decoration:none;white-space:nowrap}\n"
    ".crisis{background:var(--warm);border-left:4px solid #8c1d1d;padding:.4rem .6rem;"
    "margin:.5rem 0}\n"
    "nav ul{list-style:none;padding:0;margin:.3rem 0;display:flex;flex-wrap:wrap;gap:.3rem 1rem}\n"
    "nav form{display:inline;margin:0}\n"
    "button.link{background:none;border:0;color:var(--accent);text-decoration:underline;"
    "padding:0;margin:0;font:inherit;min-height:0}\n"
    ".count{background:var(--accent);color:#fff;border-radius:1rem;padding:0 .45rem}\n"
    ".vh{position:absolute;left:-999px}\n"
    "h1{font-size:1.5rem;line-height:1.25}h2{font-size:1.2rem}\n"
    "ul.boards,ul.threads,ul.found{list-style:none;padding:0}\n"
    "ul.boards li,ul.threads li,ul.found li{border-bottom:1px solid var(--line);"
    "padding:.5rem 0}\n"
    ".meta,.hint,.key{color:var(--muted);font-size:.9rem}\n"
    ".meta{margin:.1rem 0}\n"
    ".tag,.badge{display:inline-block;font-size:.8rem;border:1px solid var(--muted);"
    "border-radius:.25rem;padding:0 .3rem;color:var(--fg)}\n"
    ".badge{background:#e4eef6;border-color:var(--accent)}\n"
    ".unread>a{font-weight:700}\n"
    "ol.messages{list-style:none;padding:0}\n"
    "ol.messages li{border-bottom:1px solid var(--line);padding:.5rem 0}\n"
    ".private{white-space:pre-wrap}\n"
    "article.post{border-top:1px solid var(--line);padding:.4rem 0}\n"
    "article.pro{border-left:4px solid var(--accent);padding-left:.6rem}\n"
    ".d1{margin-left:.8rem}.d2{margin-left:1.6rem}.d3{margin-left:2.4rem}.d4,.d5,.d6"
    "{margin-left:3rem}\n"
    ".note{background:var(--warm);padding:.3rem .5rem}\n"
    ".gone{font-style:italic;color:var(--muted)}\n"
    ".problem{background:#fbe9e9;border-left:4px solid #8c1d1d;padding:.4rem .6rem}\n"
    "details.cw>summary{cursor:pointer;font-weight:600;padding:.3rem 0}\n"
    "label{display:block;margin-top:.7rem;font-weight:600}\n"
    "label.inline{display:inline;margin:0}.choice{margin:.4rem 0}\n"
    "input[type=radio]{width:auto;margin-right:.4rem}\n"
    "fieldset{border:1px solid var(--line);margin:.7rem 0}select{font:inherit;padding:.4rem}\n"
    "input,textarea{width:100%;font:inherit;padding:.4rem;border:1px solid #767676;"
    "border-radius:.25rem;background:#fff;color:var(--fg)}\n"
    "button,.button{display:inline-block;font:inherit;min-height:2.75rem;margin:.4rem 0;"
    "padding:.4rem .9rem;border-radius:.3rem;border:1px solid var(--accent);"
    "background:var(--accent);color:#fff;text-decoration:none;cursor:pointer}\n"
    "form.reactions button{background:#fff;color:var(--accent);min-height:2.2rem;"
    "padding:.1rem .5rem;font-size:.9rem}\n"
    "form.reactions button[aria-pressed=true]{background:#e4eef6;font-weight:700}\n"
    ".code{font:700 1.6rem monospace;letter-spacing:.1rem}\n"
    ".pcode{font:700 1.05rem monospace;overflow-wrap:anywhere}\n"
    ".qr{display:block;width:100%;max-width:16rem;height:auto}\n"
    "blockquote{border-left:3px solid var(--line);margin:.5rem 0;padding-left:.7rem}\n"
    "pre{white-space:pre-wrap}\n"
    "footer{border-top:1px solid var(--line);margin-top:2rem;color:var(--muted)}\n";
