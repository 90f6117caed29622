/* cmd_role.c - `hearth role grant|revoke|list`: who holds which role in the forum.
 *
 * Roles (admin, moderator, professional, peer-worker) are granted and revoked by
 * signed role events from the forum's founder and the admins it names; the store
 * refuses them from anyone else (exit 6) and the view gives the roles their effect.
 * A revocation names the grant it revokes.
 */
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "cli/cli.h"

/* A role grant as it was signed. */
struct grant {
    uint8_t id[HEARTH_ID_LEN];
    uint8_t subject[HEARTH_PK_LEN];
    char role[32];
    char *about;  /* owned; NULL when none */
    bool revoked; /* a revocation of it is held (valid or not: the store judges) */
};

/* What the events held say about roles: every key that appears (as an author or
 * a role's subject), and every grant. The store has no list of role holders, so the
 * command walks the events for the candidates and asks store_roles() which roles
 * each one holds: the store stays the judge of who holds what. */
struct roster {
    uint8_t (*keys)[HEARTH_PK_LEN];
    size_t nkeys;
    struct grant *grants;
    size_t ngrants;
    /* Revocations seen before their grant (the walk is in transfer order). */
    uint8_t (*revokes)[HEARTH_ID_LEN];
    size_t nrevokes;
};

static int bad_role(const struct cli *c, const char *arg)
{
    return cli_error(c, HERR_USAGE,
                     "'%s' is not a role (choose admin, moderator, professional or peer-worker)",
                     arg);
}

/* report - what was published: n events (one grant, or a revocation per grant
 * revoked; revokes[i] is the grant that events[i] revokes). */
static int report(struct cli *c, const uint8_t (*events)[HEARTH_ID_LEN], size_t n,
                  const uint8_t *subject, const char *role, bool grant, const char *about,
                  const uint8_t (*revokes)[HEARTH_ID_LEN])
{
    char sid[13], gid[13];
    if (c->json) {
        struct json *j = &c->out;
        char *name = NULL, *pabout = NULL;
        if (store_profile(c->store, subject, &name, &pabout) != HERR_OK)
            name = pabout = NULL;
        json_object_open(j, NULL);
        json_hex(j, "event", events[0], HEARTH_ID_LEN);
        json_array_open(j, "events");
        for (size_t i = 0; i < n; i++)
            json_hex(j, NULL, events[i], HEARTH_ID_LEN);
        json_array_close(j);
        json_str(j, "kind", "role");
        json_hex(j, "subject", subject, HEARTH_PK_LEN);
        json_str(j, "subject_name", name);
        json_str(j, "role", role);
        json_bool(j, "grant", grant);
        json_str(j, "about", about);
        json_array_open(j, "revokes");
        for (size_t i = 0; revokes && i < n; i++)
            json_hex(j, NULL, revokes[i], HEARTH_ID_LEN);
        json_array_close(j);
        json_object_close(j);
        free(name);
        free(pabout);
        return cli_json_flush(c);
    }
    for (size_t i = 0; i < n; i++) {
        printf("%s %s %s ", grant ? "granted" : "revoked", role, grant ? "to" : "from");
        cli_print_person(c, stdout, subject);
        if (about) {
            fputs(" (", stdout);
            cli_print_text(stdout, about, NULL);
            fputs(")", stdout);
        }
        printf(": event %s", cli_short_id(sid, events[i]));
        if (revokes)
            printf(" (revokes grant %s)", cli_short_id(gid, revokes[i]));
        fputs("\n", stdout);
    }
    return CLI_OK;
}

static int grant(struct cli *c)
{
    const char *role, *about = cli_opt(c, "about");
    uint8_t subject[HEARTH_PK_LEN], id[HEARTH_ID_LEN];
    int rc;
    if (c->nargs != 3)
        return cli_error(c, HERR_USAGE, "usage: hearth role grant KEY ROLE [--about TEXT]");
    if (!(role = cli_role_name(c->args[2])))
        return bad_role(c, c->args[2]);
    if (about && (rc = cli_check_text(c, "about", about, strlen(about), HEARTH_MAX_SHORT, false)))
        return rc;
    if ((rc = cli_open(c, true, true)) || (rc = cli_resolve_author(c, c->args[1], subject)))
        return rc;
    struct event_draft d = {.kind = EK_ROLE};
    d.b.subject = subject;
    d.b.role = cli_hstr(role);
    d.b.has_grant = d.b.grant = true;
    d.b.about = cli_hstr(about);
    if ((rc = cli_publish(c, &d, id)))
        return rc;
    return report(c, &id, 1, subject, role, true, about, NULL);
}

/* grant_get - the role grant event `id`. */
static int grant_get(struct cli *c, const char *arg, const uint8_t id[HEARTH_ID_LEN],
                     struct grant *g)
{
    struct hbuf b;
    struct event ev;
    hbuf_init(&b, HEARTH_MAX_EVENT);
    herr e = store_get(c->store, id, &b);
    if (e && e != HERR_NOT_FOUND) {
        hbuf_release(&b);
        return cli_store_error(c, e, NULL);
    }
    bool ok = e == HERR_OK && event_parse(&ev, b.data, b.len, NULL) == HERR_OK &&
              ev.kind == EK_ROLE && ev.b.grant && ev.b.subject && ev.b.role.p &&
              ev.b.role.n < sizeof g->role;
    if (ok) {
        memset(g, 0, sizeof *g);
        memcpy(g->id, id, HEARTH_ID_LEN);
        memcpy(g->subject, ev.b.subject, HEARTH_PK_LEN);
        memcpy(g->role, ev.b.role.p, ev.b.role.n);
        g->role[ev.b.role.n] = '\0';
    }
    hbuf_release(&b);
    return ok ? CLI_OK : cli_error(c, HERR_NOT_FOUND, "'%s': no such role grant", arg);
}

/* ---- the roster ---- */

static void roster_release(struct roster *r)
{
    for (size_t i = 0; i < r->ngrants; i++)
        free(r->grants[i].about);
    free(r->grants);
    free(r->keys);
    free(r->revokes);
    memset(r, 0, sizeof *r);
}

/* add_key - note a key; duplicates are dropped once the walk is over. */
static herr add_key(struct roster *r, const uint8_t *pk)
{
    if (r->nkeys && memcmp(r->keys[r->nkeys - 1], pk, HEARTH_PK_LEN) == 0)
        return HERR_OK;
    if ((r->nkeys & (r->nkeys - 1)) == 0) { /* grow at 0, 1, 2, 4, 8... */
        size_t cap = r->nkeys ? 2 * r->nkeys : 1;
        uint8_t(*grown)[HEARTH_PK_LEN] = realloc(r->keys, cap * sizeof *grown);
        if (!grown)
            return HERR_NOMEM;
        r->keys = grown;
    }
    memcpy(r->keys[r->nkeys++], pk, HEARTH_PK_LEN);
    return HERR_OK;
}

static int key_cmp(const void *a, const void *b)
{
    return memcmp(a, b, HEARTH_PK_LEN);
}

/* keys_unique - sort the keys and drop the duplicates. */
static void keys_unique(struct roster *r)
{
    size_t n = 0;
    if (r->nkeys > 1)
        qsort(r->keys, r->nkeys, sizeof *r->keys, key_cmp);
    for (size_t i = 0; i < r->nkeys; i++)
        if (n == 0 || memcmp(r->keys[n - 1], r->keys[i], HEARTH_PK_LEN) != 0)
            memmove(r->keys[n++], r->keys[i], HEARTH_PK_LEN);
    r->nkeys = n;
}

static herr add_grant(struct roster *r, const struct event *ev)
{
    struct grant *grown = realloc(r->grants, (r->ngrants + 1) * sizeof *grown);
    if (!grown)
        return HERR_NOMEM;
    r->grants = grown;
    struct grant *g = &r->grants[r->ngrants];
    memset(g, 0, sizeof *g);
    memcpy(g->id, ev->id, HEARTH_ID_LEN);
    memcpy(g->subject, ev->b.subject, HEARTH_PK_LEN);
    snprintf(g->role, sizeof g->role, "%.*s", (int)ev->b.role.n, ev->b.role.p);
    if (ev->b.about.p && !(g->about = strndup(ev->b.about.p, ev->b.about.n)))
        return HERR_NOMEM;
    r->ngrants++;
    return HERR_OK;
}

static herr add_revoke(struct roster *r, const uint8_t *grant)
{
    uint8_t(*grown)[HEARTH_ID_LEN] = realloc(r->revokes, (r->nrevokes + 1) * sizeof *grown);
    if (!grown)
        return HERR_NOMEM;
    r->revokes = grown;
    memcpy(r->revokes[r->nrevokes++], grant, HEARTH_ID_LEN);
    return HERR_OK;
}

static herr roster_add(void *ctx, const uint8_t *env, size_t len)
{
    struct roster *r = ctx;
    struct event ev;
    if (event_parse(&ev, env, len, NULL) != HERR_OK)
        return HERR_OK;
    herr e = add_key(r, ev.author);
    if (e || ev.kind != EK_ROLE || !ev.b.subject)
        return e;
    if ((e = add_key(r, ev.b.subject)))
        return e;
    return ev.b.grant ? add_grant(r, &ev) : add_revoke(r, ev.ref);
}

/* roster_load - walk the events; then mark the grants that a revocation names. */
static int roster_load(struct cli *c, struct roster *r)
{
    herr e = store_export(c->store, roster_add, r);
    if (e == HERR_NOMEM)
        return cli_error(c, e, "%s", herr_str(e));
    if (e)
        return cli_store_error(c, e, NULL);
    keys_unique(r);
    for (size_t i = 0; i < r->ngrants; i++)
        for (size_t k = 0; k < r->nrevokes; k++)
            if (memcmp(r->grants[i].id, r->revokes[k], HEARTH_ID_LEN) == 0)
                r->grants[i].revoked = true;
    return CLI_OK;
}

/* has_role - whether the comma-separated list holds role. */
static bool has_role(const char *roles, const char *role)
{
    size_t n = strlen(role);
    for (const char *p = roles; p && *p;) {
        size_t k = strcspn(p, ",");
        if (k == n && memcmp(p, role, n) == 0)
            return true;
        p += k + (p[k] == ',');
    }
    return false;
}

static void list_role_json(struct json *j, const struct roster *r, const uint8_t *pk,
                           const char *role, size_t n)
{
    char name[32];
    snprintf(name, sizeof name, "%.*s", (int)n, role);
    const char *about = NULL;
    json_object_open(j, NULL);
    json_str(j, "role", name);
    json_array_open(j, "grants");
    for (size_t i = 0; i < r->ngrants; i++) {
        const struct grant *g = &r->grants[i];
        if (g->revoked || strcmp(g->role, name) != 0 || memcmp(g->subject, pk, HEARTH_PK_LEN) != 0)
            continue;
        json_hex(j, NULL, g->id, HEARTH_ID_LEN);
        if (g->about)
            about = g->about;
    }
    json_array_close(j);
    json_str(j, "about", about);
    json_object_close(j);
}

static void list_role_human(const struct roster *r, const uint8_t *pk, const char *role, size_t n)
{
    char name[32], sid[13];
    snprintf(name, sizeof name, "%.*s", (int)n, role);
    printf("  %s", name);
    for (size_t i = 0; i < r->ngrants; i++) {
        const struct grant *g = &r->grants[i];
        if (g->revoked || strcmp(g->role, name) != 0 || memcmp(g->subject, pk, HEARTH_PK_LEN) != 0)
            continue;
        if (g->about) {
            fputs(": ", stdout);
            cli_print_text(stdout, g->about, NULL);
        }
        printf(" (grant %s)", cli_short_id(sid, g->id));
    }
    fputs("\n", stdout);
}

/* A person who holds roles, as listed. */
struct holder {
    const uint8_t *pk; /* into the roster */
    char *roles;       /* from store_roles, owned */
    int rank;          /* of their first role: founder first, then as event_roles */
};

static int role_rank(const char *roles)
{
    size_t n = strcspn(roles, ",");
    if (n == 7 && memcmp(roles, "founder", 7) == 0)
        return 0;
    for (int i = 0; event_roles[i]; i++)
        if (strlen(event_roles[i]) == n && memcmp(event_roles[i], roles, n) == 0)
            return i + 1;
    return 9;
}

static int holder_cmp(const void *a, const void *b)
{
    const struct holder *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank - y->rank;
    return memcmp(x->pk, y->pk, HEARTH_PK_LEN);
}

static void list_one(struct cli *c, const struct roster *r, const struct holder *h)
{
    if (c->json) {
        char *name = NULL, *about = NULL;
        if (store_profile(c->store, h->pk, &name, &about) != HERR_OK)
            name = about = NULL;
        json_object_open(&c->out, NULL);
        json_hex(&c->out, "key", h->pk, HEARTH_PK_LEN);
        json_str(&c->out, "name", name);
        json_array_open(&c->out, "roles");
        for (const char *p = h->roles; *p;) {
            size_t k = strcspn(p, ",");
            list_role_json(&c->out, r, h->pk, p, k);
            p += k + (p[k] == ',');
        }
        json_array_close(&c->out);
        json_object_close(&c->out);
        free(name);
        free(about);
        return;
    }
    cli_print_person(c, stdout, h->pk);
    fputs("\n", stdout);
    for (const char *p = h->roles; *p;) {
        size_t k = strcspn(p, ",");
        list_role_human(r, h->pk, p, k);
        p += k + (p[k] == ',');
    }
}

/* publish_revocation - revoke grant g; with --undo, everything its subject did with
 * the role loses its effect (until 0), else what they did so far keeps it. */
static int publish_revocation(struct cli *c, const struct grant *g, uint8_t id[HEARTH_ID_LEN])
{
    struct event_draft d = {.kind = EK_ROLE, .ref = g->id};
    d.b.subject = g->subject;
    d.b.role = cli_hstr(g->role);
    d.b.has_grant = true;
    d.b.grant = false;
    if (cli_flag(c, "undo")) {
        d.b.has_until = true;
        d.b.until = 0;
    }
    return cli_publish(c, &d, id);
}

static int revoke_grant(struct cli *c)
{
    uint8_t id[HEARTH_ID_LEN], ev[HEARTH_ID_LEN];
    struct grant g;
    int rc;
    if ((rc = cli_open(c, true, true)) || (rc = cli_resolve(c, c->args[1], id)) ||
        (rc = grant_get(c, c->args[1], id, &g)) || (rc = publish_revocation(c, &g, ev)))
        return rc;
    return report(c, (const uint8_t(*)[HEARTH_ID_LEN])ev, 1, g.subject, g.role, false, NULL,
                  (const uint8_t(*)[HEARTH_ID_LEN])g.id);
}

/* revoke_role - revoke every grant of `role` to the key: those that no revocation
 * names yet, or, when the store still counts the role and all were named (by
 * revocations that the store did not count), all of them. */
static int revoke_role(struct cli *c, const char *role)
{
    uint8_t pk[HEARTH_PK_LEN], (*evs)[HEARTH_ID_LEN] = NULL, (*gs)[HEARTH_ID_LEN] = NULL;
    struct roster r = {0};
    char *roles = NULL;
    size_t n = 0;
    int rc;
    if ((rc = cli_open(c, true, true)) || (rc = cli_resolve_author(c, c->args[1], pk)))
        return rc;
    herr e = store_roles(c->store, pk, &roles);
    bool holds = !e && has_role(roles, role);
    free(roles);
    if (e)
        return cli_store_error(c, e, NULL);
    if (!holds)
        return cli_error(c, HERR_NOT_FOUND, "'%s' does not hold the %s role", c->args[1], role);
    if ((rc = roster_load(c, &r)))
        goto done;
    evs = calloc(r.ngrants + 1, sizeof *evs);
    gs = calloc(r.ngrants + 1, sizeof *gs);
    if (!evs || !gs) {
        rc = cli_error(c, HERR_NOMEM, "%s", herr_str(HERR_NOMEM));
        goto done;
    }
    for (int pass = 0; pass < 2 && !n && !rc; pass++) {
        for (size_t i = 0; i < r.ngrants && !rc; i++) {
            const struct grant *g = &r.grants[i];
            if ((g->revoked && pass == 0) || strcmp(g->role, role) != 0 ||
                memcmp(g->subject, pk, HEARTH_PK_LEN) != 0)
                continue;
            if (!(rc = publish_revocation(c, g, evs[n])))
                memcpy(gs[n++], g->id, HEARTH_ID_LEN);
        }
    }
    if (!rc && !n)
        rc = cli_error(c, HERR_NOT_FOUND, "'%s': no grant of the %s role here", c->args[1], role);
    if (!rc)
        rc = report(c, (const uint8_t(*)[HEARTH_ID_LEN])evs, n, pk, role, false, NULL,
                    (const uint8_t(*)[HEARTH_ID_LEN])gs);
done:
    free(evs);
    free(gs);
    roster_release(&r);
    return rc;
}

static int revoke(struct cli *c)
{
    const char *role;
    if (c->nargs == 2)
        return revoke_grant(c);
    if (c->nargs != 3)
        return cli_error(c, HERR_USAGE, "usage: hearth role revoke (KEY ROLE | GRANT_ID) [--undo]");
    if (!(role = cli_role_name(c->args[2])))
        return bad_role(c, c->args[2]);
    return revoke_role(c, role);
}

static int list(struct cli *c)
{
    struct roster r = {0};
    struct holder *h = NULL;
    size_t n = 0;
    int rc;
    if (c->nargs != 1)
        return cli_error(c, HERR_USAGE, "usage: hearth role list");
    if ((rc = cli_open(c, false, false)) || (rc = roster_load(c, &r)))
        goto done;
    if (r.nkeys && !(h = calloc(r.nkeys, sizeof *h))) {
        rc = cli_error(c, HERR_NOMEM, "%s", herr_str(HERR_NOMEM));
        goto done;
    }
    for (size_t i = 0; i < r.nkeys && !rc; i++) {
        char *roles = NULL;
        herr e = store_roles(c->store, r.keys[i], &roles);
        if (e) {
            rc = cli_store_error(c, e, NULL);
        } else if (roles) {
            h[n] = (struct holder){.pk = r.keys[i], .roles = roles, .rank = role_rank(roles)};
            n++;
        }
    }
    if (!rc && n > 1)
        qsort(h, n, sizeof *h, holder_cmp);
    if (!rc && c->json) {
        json_array_open(&c->out, NULL);
        for (size_t i = 0; i < n; i++)
            list_one(c, &r, &h[i]);
        json_array_close(&c->out);
        rc = cli_json_flush(c);
    } else if (!rc) {
        for (size_t i = 0; i < n; i++)
            list_one(c, &r, &h[i]);
        if (!n)
            printf("nobody holds a role yet\n");
    }
done:
    for (size_t i = 0; i < n; i++)
        free(h[i].roles);
    free(h);
    roster_release(&r);
    return rc;
}

static int run(struct cli *c)
{
    const char *what = c->args[0];
    if (cli_opt(c, "about") && strcmp(what, "grant") != 0)
        return cli_error(c, HERR_USAGE, "--about goes with grant");
    if (cli_flag(c, "undo") && strcmp(what, "revoke") != 0)
        return cli_error(c, HERR_USAGE, "--undo goes with revoke");
    if (strcmp(what, "list") == 0)
        return list(c);
    if (strcmp(what, "grant") == 0)
        return grant(c);
    if (strcmp(what, "revoke") == 0)
        return revoke(c);
    return cli_error(c, HERR_USAGE, "'%s' is not a role command (choose grant, revoke or list)",
                     what);
}

static const struct cli_option options[] = {
    {"about", 0, "TEXT", "with grant: what the role means here, e.g. 'counsellor'"},
    {"undo", 0, NULL, "with revoke: undo what they did with the role, not only what comes"},
    {NULL, 0, NULL, NULL},
};

const struct cli_command cmd_role = {
    .name = "role",
    .run = run,
    .group = "care",
    .summary = "grant, revoke and list roles: admin, moderator, professional, peer-worker",
    .synopsis = "grant KEY ROLE [--about TEXT] | revoke (KEY ROLE | GRANT_ID) [--undo] | list",
    .details = "Only the forum's founder and the admins it names grant and revoke roles.\n"
               "KEY is an author key (see 'hearth id'), or at least 4 of its first digits.\n"
               "A revocation names the grant it revokes: give the key and the role, or the\n"
               "grant's id (see 'hearth role list'). What the subject did with the role so\n"
               "far keeps its effect, unless --undo: then all of it loses its effect.",
    .options = options,
    .min_args = 1,
    .max_args = 3,
};
