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

/* The grants in force (store_role_grants: the store judges who holds what). */
struct roster {
    struct store_role_grant *g;
    size_t n;
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

static int roster_load(struct cli *c, struct roster *r)
{
    herr e = store_role_grants(c->store, &r->g, &r->n);
    return e ? cli_store_error(c, e, NULL) : CLI_OK;
}

static void roster_release(struct roster *r)
{
    store_role_grants_free(r->g, r->n);
    memset(r, 0, sizeof *r);
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
    for (size_t i = 0; i < r->n; i++) {
        const struct store_role_grant *g = &r->g[i];
        if (strcmp(g->role, name) != 0 || memcmp(g->subject, pk, HEARTH_PK_LEN) != 0)
            continue;
        json_hex(j, NULL, g->grant, HEARTH_ID_LEN);
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
    for (size_t i = 0; i < r->n; i++) {
        const struct store_role_grant *g = &r->g[i];
        if (strcmp(g->role, name) != 0 || memcmp(g->subject, pk, HEARTH_PK_LEN) != 0)
            continue;
        if (g->about) {
            fputs(": ", stdout);
            cli_print_text(stdout, g->about, NULL);
        }
        printf(" (grant %s)", cli_short_id(sid, g->grant));
    }
    fputs("\n", stdout);
}

/* A person who holds roles, as listed. */
struct holder {
    uint8_t pk[HEARTH_PK_LEN];
    char *roles; /* from store_roles, owned */
    int rank;    /* of their first role: founder first, then as event_roles */
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
static int publish_revocation(struct cli *c, const struct store_role_grant *g,
                              uint8_t id[HEARTH_ID_LEN])
{
    struct event_draft d = {.kind = EK_ROLE, .ref = g->grant};
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

/* revoke_grant - revoke the grant in force with id GRANT_ID. */
static int revoke_grant(struct cli *c)
{
    uint8_t id[HEARTH_ID_LEN], ev[HEARTH_ID_LEN];
    struct roster r = {0};
    const struct store_role_grant *g = NULL;
    int rc;
    if ((rc = cli_open(c, true, true)) || (rc = cli_resolve(c, c->args[1], id)) ||
        (rc = roster_load(c, &r)))
        goto done;
    for (size_t i = 0; i < r.n && !g; i++)
        if (memcmp(r.g[i].grant, id, HEARTH_ID_LEN) == 0)
            g = &r.g[i];
    if (!g)
        rc = cli_error(c, HERR_NOT_FOUND, "'%s': no such role grant in force", c->args[1]);
    else if (!(rc = publish_revocation(c, g, ev)))
        rc = report(c, (const uint8_t(*)[HEARTH_ID_LEN])ev, 1, g->subject, g->role, false, NULL,
                    (const uint8_t(*)[HEARTH_ID_LEN])g->grant);
done:
    roster_release(&r);
    return rc;
}

/* revoke_role - revoke every grant in force of `role` to the key. */
static int revoke_role(struct cli *c, const char *role)
{
    uint8_t pk[HEARTH_PK_LEN], (*evs)[HEARTH_ID_LEN] = NULL, (*gs)[HEARTH_ID_LEN] = NULL;
    struct roster r = {0};
    size_t n = 0;
    int rc;
    if ((rc = cli_open(c, true, true)) || (rc = cli_resolve_author(c, c->args[1], pk)) ||
        (rc = roster_load(c, &r)))
        goto done;
    evs = calloc(r.n + 1, sizeof *evs);
    gs = calloc(r.n + 1, sizeof *gs);
    if (!evs || !gs) {
        rc = cli_error(c, HERR_NOMEM, "%s", herr_str(HERR_NOMEM));
        goto done;
    }
    for (size_t i = 0; i < r.n && !rc; i++) {
        const struct store_role_grant *g = &r.g[i];
        if (strcmp(g->role, role) != 0 || memcmp(g->subject, pk, HEARTH_PK_LEN) != 0)
            continue;
        if (!(rc = publish_revocation(c, g, evs[n])))
            memcpy(gs[n++], g->grant, HEARTH_ID_LEN);
    }
    if (!rc && !n)
        rc = cli_error(c, HERR_NOT_FOUND, "'%s' does not hold the %s role", c->args[1], role);
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

/* add_holder - h[*n] for pk, unless it is there already. */
static void add_holder(struct holder *h, size_t *n, const uint8_t pk[HEARTH_PK_LEN])
{
    for (size_t i = 0; i < *n; i++)
        if (memcmp(h[i].pk, pk, HEARTH_PK_LEN) == 0)
            return;
    memcpy(h[(*n)++].pk, pk, HEARTH_PK_LEN);
}

/* list - the founder and everyone a grant in force names, each with their roles. */
static int list(struct cli *c)
{
    struct roster r = {0};
    struct holder *h = NULL;
    uint8_t founder[HEARTH_PK_LEN];
    size_t n = 0, held = 0;
    int rc;
    if (c->nargs != 1)
        return cli_error(c, HERR_USAGE, "usage: hearth role list");
    if ((rc = cli_open(c, false, false)) || (rc = roster_load(c, &r)))
        goto done;
    if (!(h = calloc(r.n + 1, sizeof *h))) {
        rc = cli_error(c, HERR_NOMEM, "%s", herr_str(HERR_NOMEM));
        goto done;
    }
    if (store_founder(c->store, founder) == HERR_OK)
        add_holder(h, &n, founder);
    for (size_t i = 0; i < r.n; i++)
        add_holder(h, &n, r.g[i].subject);
    for (size_t i = 0; i < n && !rc; i++) {
        herr e = store_roles(c->store, h[i].pk, &h[i].roles);
        if (e)
            rc = cli_store_error(c, e, NULL);
        held += h[i].roles != NULL;
        h[i].rank = h[i].roles ? role_rank(h[i].roles) : 99; /* none: sorted last */
    }
    if (!rc && n > 1)
        qsort(h, n, sizeof *h, holder_cmp);
    if (!rc && c->json) {
        json_array_open(&c->out, NULL);
        for (size_t i = 0; i < held; i++)
            list_one(c, &r, &h[i]);
        json_array_close(&c->out);
        rc = cli_json_flush(c);
    } else if (!rc) {
        for (size_t i = 0; i < held; i++)
            list_one(c, &r, &h[i]);
        if (!held)
            printf("nobody holds a role yet\n");
    }
done:
    for (size_t i = 0; h && i < n; i++)
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
