/* pages.h - every page a browser sees, as a function of typed answers.
 *
 * A page function writes one whole HTML document into a struct html from what the
 * store answered (boards, posts, profiles) and who is looking (struct page); it runs
 * no query, decodes no event and knows no SQL. Every byte goes through web/html.h.
 *
 * The frame of every page: the forum's name, the local crisis line from the
 * resources event, a quick-exit link (to /exit, which works without JavaScript; a
 * small script in /quick.js makes Esc do the same), the member's links with the count
 * of replies waiting, and a footer with the about and helplines pages. Markup is
 * semantic (headings, lists, labels, <details>) so that it reads in a text browser
 * and passes WCAG 2.1 AA with one small stylesheet.
 */
#ifndef HEARTH_WEB_PAGES_H
#define HEARTH_WEB_PAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/members.h"
#include "store/store.h"
#include "web/html.h"
#include "web/session.h"

/* Who is looking, and what every page shows around its content. */
struct page {
    const char *forum;                 /* the forum's name */
    const char *crisis;                /* the first line of the resources text, or NULL */
    const struct session_info *member; /* NULL for a visitor */
    const char *csrf;                  /* the token every form carries */
    const char *roles;                 /* the member's roles, comma-separated, or NULL */
    uint32_t replies_waiting;
    uint32_t messages_waiting; /* a member: answers not read yet; a moderator: members
                                  waiting for a reply */
    bool open_join;            /* visitors may join without an invite */
};

/* page_is - true when the comma-separated roles hold role. */
bool page_has_role(const char *roles, const char *role);

/* page_can_moderate - founder, admin or moderator. */
bool page_can_moderate(const char *roles);

/* ---- reading ---- */

struct page_board {
    const struct store_board *b;
    uint32_t new_threads; /* since the member last opened it (0 for a visitor) */
};
void page_home(struct html *h, const struct page *p, const struct page_board *v, size_t n);

/* page_board - page page_no of a board's threads; unread[i] marks threads with
 * activity since the member last opened them; more says an older page follows. */
void page_board(struct html *h, const struct page *p, const struct store_board *b,
                const struct store_post *t, const bool *unread, size_t n, bool first,
                const char *next);

/* page_thread - one page of a thread: on the first, the post (v[0] == *t) then
 * replies depth-first; on a later one (first false), the replies that follow, under
 * the thread's title. mine[0..nmine) are the viewer's standing reactions in the
 * thread (each names its post), for the reaction buttons.
 *
 * Paged lists (board, thread, search) link on with the store's cursor `next`
 * ("" at the end: no link) as ?before=, and back to their start when not on it. */
void page_thread(struct html *h, const struct page *p, const struct store_post *t,
                 const struct store_post *v, size_t n, bool first, const char *next,
                 const struct store_my_reaction *mine, size_t nmine);

void page_search(struct html *h, const struct page *p, const char *query,
                 const struct store_post *v, size_t n, bool first, const char *next);

/* page_profile - a member's profile and posts; own adds the edit form. */
void page_profile(struct html *h, const struct page *p, const uint8_t author[HEARTH_PK_LEN],
                  const char *name, const char *about, const char *roles,
                  const struct store_post *v, size_t n, bool own);

/* page_replies - what answered the member, what mentioned them (@name), and what
 * moderators did to their posts (with their reasons), newest first; since marks the
 * new ones. */
void page_replies(struct html *h, const struct page *p, const struct store_post *v, size_t n,
                  const struct store_post *at, size_t na, const struct store_mod_entry *m,
                  size_t nm, uint64_t since);

void page_resources(struct html *h, const struct page *p, const char *text, const char *about);

/* page_conversation - member's conversation with the moderators (as the viewer reads
 * it: a message the viewer cannot open says so), messages newer than arrival `since`
 * marked, and the form to write: to the moderators when the viewer is the member, to
 * the member when a moderator. name is the member's, or NULL. */
void page_conversation(struct html *h, const struct page *p, const uint8_t member[HEARTH_PK_LEN],
                       const char *name, const struct store_message *v, size_t n, uint64_t since);

/* page_conversations - the moderators' list: every member who wrote, the newest first. */
void page_conversations(struct html *h, const struct page *p,
                        const struct store_conversation_info *v, size_t n);
void page_about(struct html *h, const struct page *p);

/* ---- writing ---- */

/* page_compose - the form for a new thread in board b (title, body, content warning),
 * refilled with what was sent when `problem` says why it was refused. */
void page_compose(struct html *h, const struct page *p, const struct store_board *b,
                  const char *title, const char *text, const char *cw, const char *problem);

/* page_edit - the form to edit one's own post or reply. */
void page_edit(struct html *h, const struct page *p, const struct store_post *post,
               const char *text, const char *problem);

/* page_confirm - "are you sure" for retracting (what = "retract") or flagging
 * (what = "flag", with a reason field). */
void page_confirm(struct html *h, const struct page *p, const struct store_post *post,
                  const char *what, const char *problem);

/* ---- members ---- */

void page_login(struct html *h, const struct page *p, const char *login, const char *problem);
void page_join(struct html *h, const struct page *p, const char *code, const char *login,
               const char *name, const char *problem);

/* page_invites - make invites and list this hub's (moderators and admins), newest
 * first, each with its state and a revoke button while usable. fresh is a code just
 * made, shown large, or NULL; join_url its web link for phones and link the join link
 * (`hearth init --join LINK`, node/joinlink.h) for laptops, or NULL; each with its QR
 * code. now_ms tells which have expired. */
void page_invites(struct html *h, const struct page *p, const char *fresh, const char *join_url,
                  const char *link, const struct store_invite *v, size_t n, uint64_t now_ms);

/* What the member's devices page shows (docs/CLI.md, `hearth device`). */
struct page_devices {
    const uint8_t *own;           /* the browser account's own key */
    const uint8_t *person;        /* whom it counts for: own, or the person it is a device of */
    const char *person_name;      /* or NULL */
    bool waiting;                 /* the account asked to be person's device; not accepted yet */
    const struct store_device *v; /* person's devices */
    size_t n;
    const struct store_pair_match *m; /* requests naming person (own == person only) */
    size_t nm;
    const char *code; /* a pairing code just made, or NULL */
};

/* page_devices - the devices that count for the member's person, with a revoke button
 * each; an "add a device" button, the code it made (text and QR) and the requests
 * that wait, with an accept button (own == person); or, for an account that is a
 * device, whose it is (or that it waits for its device to accept). */
void page_devices(struct html *h, const struct page *p, const struct page_devices *d,
                  const char *problem);

/* page_join_device - "sign in with a code from your own device": a code `hearth
 * device add` printed, a login name and a passphrase for this browser account. */
void page_join_device(struct html *h, const struct page *p, const char *code, const char *login,
                      const char *problem);

/* page_queue - the moderation queue: held and flagged posts, oldest first. */
void page_queue(struct html *h, const struct page *p, const struct store_post *v, size_t n);

/* page_moderate - a moderator's form for one post: the actions that apply to it (those
 * on a thread for a thread's post; ban and unban act on its author), with a reason.
 * log is the moderation of this post so far. */
void page_moderate(struct html *h, const struct page *p, const struct store_post *post,
                   const struct store_mod_entry *log, size_t n, const char *problem);

/* page_modlog - who did what, when and why, newest first. */
void page_modlog(struct html *h, const struct page *p, const struct store_mod_entry *v, size_t n);

/* page_admin - the forum's roles (with revoke buttons), a grant form, the settings and
 * the crisis resources, for the founder and admins. */
void page_admin(struct html *h, const struct page *p, const struct store_role_grant *g, size_t n,
                uint64_t hold, uint64_t flags, const char *resources, const char *on_duty,
                const struct store_board *b, size_t nb, const char *problem);

/* ---- the rest ---- */

/* page_error - a page that says what went wrong, in one sentence. */
void page_error(struct html *h, const struct page *p, int status, const char *what);

/* page_exit - the neutral page the quick exit leads to: nothing of the forum. */
void page_exit(struct html *h);

/* The stylesheet and the quick-exit script, served with an ETag. */
extern const char page_css[];
extern const char page_js[];

#endif
