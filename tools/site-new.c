/*
 * consult-admin site-new: a new client site in one command.
 *
 *   site-new SLUG --name NAME --vertical VERTICAL [--owner EMAIL] [--force] [--root DIR]
 *
 * Makes the client row, the owner's account (a password printed once),
 * conf/sites/SLUG.conf Including conf/presets/VERTICAL.conf, and
 * htdocs/SLUG/ from templates/sites/ filled with the name and the preset
 * (conf/presets/VERTICAL.json). Everything is rendered before anything is
 * written, the database work is one transaction committed only once the
 * files are in place, and a file whose content would not change is not
 * touched: run again with --force, nothing changes. Without --force an
 * existing slug (client row, vhost or site folder) is refused.
 */
#include "consult-admin.h"
#include "db/cs_db.h"
#include "base/cs_conf.h"
#include "base/cs_file.h"
#include "base/cs_json.h"
#include "text/cs_text.h"
#include "text/cs_tmpl.h"
#include "auth/cs_auth.h"

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* htdocs folders that are not client sites. */
static const char *const reserved[] = { "admin", "default", "shared", NULL };

typedef struct {
    const char *path;       /* where it goes */
    const char *text;       /* what goes there */
    apr_size_t len;
} out_file_t;

static int site_usage(void)
{
    fprintf(stderr,
            "usage: consult-admin site-new SLUG --name NAME --vertical VERTICAL\n"
            "                              [--owner EMAIL] [--force] [--root DIR]\n"
            "  VERTICAL: a preset in DIR/conf/presets (cafe, restaurant, trades,\n"
            "  booking, services); DIR defaults to $CONSULT_ROOT, else the current\n"
            "  directory (a checkout)\n");
    return 2;
}

/* A name goes into page text (escaped) and a vhost comment (raw): one
 * line of clean UTF-8. */
static int name_ok(const char *name)
{
    const unsigned char *c;

    if (!*name || strlen(name) > 200 || !cs_text_is_clean(name, strlen(name))) {
        return 0;
    }
    for (c = (const unsigned char *)name; *c; c++) {
        if (*c < 0x20 || *c == 0x7f) return 0;
    }
    return 1;
}

/* The letter on the favicon and the wordmark: the name's first character. */
static const char *initial_of(apr_pool_t *p, const char *name)
{
    apr_size_t n = 1;

    while (name[n] && ((unsigned char)name[n] & 0xc0) == 0x80) n++;
    if (n == 1) return apr_psprintf(p, "%c", apr_toupper(name[0]));
    return apr_pstrndup(p, name, n);
}

/* SLUG as an environment variable prefix: MY_SHOP for my-shop. */
static const char *env_of(apr_pool_t *p, const char *slug)
{
    char *e = apr_pstrdup(p, slug), *c;

    for (c = e; *c; c++) *c = *c == '-' ? '_' : (char)apr_toupper(*c);
    return e;
}

static int exists(const char *path, apr_pool_t *p)
{
    apr_finfo_t fi;
    return apr_stat(&fi, path, APR_FINFO_TYPE, p) == APR_SUCCESS;
}

/* Render every VERTICAL/NAME.mustache and pages/NAME.mustache (pages
 * first, so a vertical may replace one) into @p files. */
static int render_dir(apr_array_header_t *files, apr_pool_t *p, const cs_tmpl_set_t *set,
                      const char *tdir, const char *sub, json_object *data,
                      const char *site_dir, const char *vhost)
{
    apr_dir_t *dir;
    apr_finfo_t fi;
    const char *err = NULL, *path = apr_pstrcat(p, tdir, "/", sub, NULL);
    apr_array_header_t *names = apr_array_make(p, 8, sizeof(const char *));
    int i, j;

    if (apr_dir_open(&dir, path, p) != APR_SUCCESS) {
        fprintf(stderr, "consult-admin: no templates in %s\n", path);
        return 1;
    }
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, dir) == APR_SUCCESS) {
        apr_size_t n = strlen(fi.name);
        if (fi.filetype != APR_REG || fi.name[0] == '.' || n <= 9
            || strcmp(fi.name + n - 9, ".mustache")) {
            continue;
        }
        *(const char **)apr_array_push(names) = apr_pstrndup(p, fi.name, n - 9);
    }
    apr_dir_close(dir);
    for (i = 0; i < names->nelts; i++) {
        const char *name = APR_ARRAY_IDX(names, i, const char *), *text;
        apr_size_t len;
        out_file_t *f = NULL;

        if (cs_tmpl_render(&text, &len, p, set, apr_pstrcat(p, sub, "/", name, NULL), data,
                           &err) != APR_SUCCESS) {
            fprintf(stderr, "consult-admin: template %s/%s: %s\n", sub, name, err);
            return 1;
        }
        path = !strcmp(name, "vhost.conf") ? vhost : apr_pstrcat(p, site_dir, "/", name, NULL);
        for (j = 0; j < files->nelts; j++) {
            if (!strcmp(APR_ARRAY_IDX(files, j, out_file_t).path, path)) {
                f = &APR_ARRAY_IDX(files, j, out_file_t);
            }
        }
        if (!f) f = apr_array_push(files);
        f->path = path;
        f->text = text;
        f->len = len;
    }
    return 0;
}

/* Write @p f unless it already holds exactly that; 1 written, 0 same, -1 error. */
static int write_if_changed(const out_file_t *f, apr_pool_t *p)
{
    char *old;
    apr_size_t len;

    if (cs_file_read(&old, &len, p, f->path, 0) == APR_SUCCESS && len == f->len
        && !memcmp(old, f->text, len)) {
        return 0;
    }
    if (cs_file_write_atomic(f->path, f->text, f->len, p) != APR_SUCCESS) {
        fprintf(stderr, "consult-admin: cannot write %s\n", f->path);
        return -1;
    }
    /* Apache's children read the site: not only its owner. */
    apr_file_perms_set(f->path, APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_GREAD
                                | APR_FPROT_WREAD);
    return 1;
}

/* The owner's account: a new one gets a random password, printed once; an
 * existing one keeps its password. Either way they own the client. */
static int owner_account(PGconn *conn, apr_pool_t *p, const char *email, const char *slug,
                         const char *name)
{
    const char *err = NULL, *hash = NULL, *password, *params[3];
    PGresult *res;
    int created;

    params[0] = email;
    res = cs_db_exec(conn, p, &err, PGRES_TUPLES_OK,
                     "SELECT id FROM staff_users WHERE lower(email) = lower($1)", 1, params);
    if (!res) goto fail;
    created = PQntuples(res) == 0;
    PQclear(res);
    if (created) {
        password = cs_random_token(p);
        if (!password || cs_password_hash(&hash, p, password, NULL) != APR_SUCCESS) {
            fprintf(stderr, "consult-admin: cannot make the owner's password\n");
            return 1;
        }
        params[1] = apr_pstrcat(p, name, " (owner)", NULL);
        params[2] = hash;
        res = cs_db_exec(conn, p, &err, PGRES_COMMAND_OK,
                         "INSERT INTO staff_users (email, name, password_hash) VALUES ($1, $2, $3)",
                         3, params);
        if (!res) goto fail;
        PQclear(res);
        printf("owner %s: new account, password (shown only now; `consult-admin user-add`"
               " sets another):\n  %s\n", email, password);
    }
    else {
        printf("owner %s: account exists, password unchanged\n", email);
    }
    params[1] = slug;
    res = cs_db_exec(conn, p, &err, PGRES_TUPLES_OK,
                     "INSERT INTO memberships (user_id, client_id, role)"
                     " SELECT u.id, c.id, 'owner' FROM staff_users u, clients c"
                     " WHERE lower(u.email) = lower($1) AND c.slug = $2"
                     " ON CONFLICT (user_id, client_id) DO UPDATE SET role = 'owner'"
                     "  WHERE memberships.role <> 'owner'"
                     " RETURNING user_id", 2, params);
    if (!res) goto fail;
    if (PQntuples(res)) printf("owner %s: now owner of %s\n", email, slug);
    PQclear(res);
    return 0;
fail:
    fprintf(stderr, "consult-admin: %s", err);
    return 1;
}

int cmd_site_new(PGconn *conn, apr_pool_t *p, int argc, const char *const *argv)
{
    const char *slug = argv[0], *name = NULL, *vertical = NULL, *owner = NULL, *root;
    const char *err = NULL, *params[2], *preset_path, *vhost, *site_dir, *tdir, *v;
    int force = 0, i, pass, written = 0, same = 0, rc, taken_row, has_vhost = 0;
    apr_array_header_t *files, *taken = apr_array_make(p, 3, sizeof(const char *));
    cs_json_t *preset, *data, *site;
    cs_tmpl_set_t *set;
    char *text;
    apr_size_t len;
    apr_time_exp_t now;
    PGresult *res;

    root = getenv("CONSULT_ROOT");
    if (!root || !*root) root = ".";
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--force")) force = 1;
        else if (i + 1 < argc && !strcmp(argv[i], "--name")) name = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--vertical")) vertical = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--owner")) owner = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--root")) root = argv[++i];
        else return site_usage();
    }
    if (!name || !vertical) return site_usage();
    if (!cs_slug_is_valid(slug)) {
        fprintf(stderr, "consult-admin: '%s' is not a valid slug (1-63 of a-z, 0-9 and '-')\n",
                slug);
        return 1;
    }
    for (i = 0; reserved[i]; i++) {
        if (!strcmp(slug, reserved[i])) {
            fprintf(stderr, "consult-admin: '%s' is the name of a folder in htdocs that is no"
                    " client's site\n", slug);
            return 1;
        }
    }
    if (!name_ok(name)) {
        fprintf(stderr, "consult-admin: the name must be one line of 1-200 bytes of UTF-8\n");
        return 1;
    }
    for (v = vertical; *v; v++) {
        if (!apr_islower(*v)) break;
    }
    preset_path = apr_pstrcat(p, root, "/conf/presets/", vertical, ".json", NULL);
    if (*v || !*vertical || !strcmp(vertical, "base")
        || cs_file_read(&text, &len, p, preset_path, 1 << 20) != APR_SUCCESS) {
        fprintf(stderr, "consult-admin: no preset '%s' (%s); the presets are the .json files"
                " of %s/conf/presets\n", vertical, preset_path, root);
        return 1;
    }
    if (cs_json_parse(&preset, p, text, len, &err) != APR_SUCCESS) {
        fprintf(stderr, "consult-admin: %s: %s\n", preset_path, err);
        return 1;
    }
    if (owner && cs_email_normalize(p, owner, &owner) != APR_SUCCESS) {
        fprintf(stderr, "consult-admin: '%s' is not a valid email address\n", owner);
        return 1;
    }
    vhost = apr_pstrcat(p, root, "/conf/sites/", slug, ".conf", NULL);
    site_dir = apr_pstrcat(p, root, "/htdocs/", slug, NULL);
    tdir = apr_pstrcat(p, root, "/templates/sites", NULL);

    /* Taken already? */
    params[0] = slug;
    res = cs_db_exec(conn, p, &err, PGRES_TUPLES_OK,
                     "SELECT name FROM clients WHERE slug = $1", 1, params);
    if (!res) {
        fprintf(stderr, "consult-admin: %s", err);
        return 1;
    }
    taken_row = PQntuples(res) > 0;
    if (taken_row) {
        *(const char **)apr_array_push(taken) =
            apr_psprintf(p, "client %s (%s)", slug, PQgetvalue(res, 0, 0));
    }
    PQclear(res);
    if (exists(vhost, p)) *(const char **)apr_array_push(taken) = vhost;
    if (exists(site_dir, p)) *(const char **)apr_array_push(taken) = site_dir;
    if (taken->nelts && !force) {
        fprintf(stderr, "consult-admin: %s is taken (%s); --force makes the site again over it\n",
                slug, apr_array_pstrcat(p, taken, ','));
        return 1;
    }

    /* Everything rendered before anything is written. */
    data = cs_json_object(p);
    site = cs_json_object(p);
    cs_json_set_str(site, "name", name);
    cs_json_set_str(site, "slug", slug);
    cs_json_set_str(site, "initial", initial_of(p, name));
    cs_json_set_str(site, "env", env_of(p, slug));
    cs_json_set_obj(data, "site", site);
    cs_json_set_obj(data, "preset", preset);
    apr_time_exp_lt(&now, apr_time_now());
    cs_json_set_int(data, "year", now.tm_year + 1900);
    if (cs_tmpl_set_create(&set, p) != APR_SUCCESS
        || cs_tmpl_load_dir(set, tdir, &err) != APR_SUCCESS
        || cs_tmpl_finalize(set, &err) != APR_SUCCESS) {
        fprintf(stderr, "consult-admin: templates in %s: %s\n", tdir, err ? err : "cannot load");
        return 1;
    }
    files = apr_array_make(p, 8, sizeof(out_file_t));
    if (render_dir(files, p, set, tdir, "pages", cs_json_raw(data), site_dir, vhost)
        || render_dir(files, p, set, tdir, vertical, cs_json_raw(data), site_dir, vhost)) {
        return 1;
    }

    for (i = 0; i < files->nelts; i++) {
        has_vhost |= APR_ARRAY_IDX(files, i, out_file_t).path == vhost;
    }
    if (!has_vhost) {
        fprintf(stderr, "consult-admin: no %s/%s/vhost.conf.mustache\n", tdir, vertical);
        return 1;
    }

    if (cs_db_command(conn, p, &err, "BEGIN") != APR_SUCCESS) {
        fprintf(stderr, "consult-admin: %s", err);
        return 1;
    }
    params[1] = name;
    res = cs_db_exec(conn, p, &err, PGRES_TUPLES_OK,
                     "INSERT INTO clients (slug, name) VALUES ($1, $2)"
                     " ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name"
                     "  WHERE clients.name IS DISTINCT FROM EXCLUDED.name"
                     " RETURNING id", 2, params);
    if (!res) {
        fprintf(stderr, "consult-admin: %s", err);
        return 1;
    }
    if (PQntuples(res)) {
        printf("client %s (%s): %s\n", slug, name, taken_row ? "renamed" : "created");
    }
    else {
        printf("client %s (%s): unchanged\n", slug, name);
    }
    PQclear(res);
    if (owner && owner_account(conn, p, owner, slug, name)) {
        return 1;
    }

    /* The site (pass 0) before its vhost (pass 1): Apache never serves a
     * vhost without its folder. */
    if (apr_dir_make_recursive(site_dir, APR_FPROT_OS_DEFAULT, p) != APR_SUCCESS) {
        fprintf(stderr, "consult-admin: cannot make %s\n", site_dir);
        return 1;
    }
    apr_file_perms_set(site_dir, APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_UEXECUTE
                                 | APR_FPROT_GREAD | APR_FPROT_GEXECUTE
                                 | APR_FPROT_WREAD | APR_FPROT_WEXECUTE);
    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < files->nelts; i++) {
            const out_file_t *f = &APR_ARRAY_IDX(files, i, out_file_t);
            if ((f->path == vhost) != pass) continue;
            rc = write_if_changed(f, p);
            if (rc < 0) return 1;
            if (rc) printf("wrote %s\n", f->path);
            written += rc;
            same += !rc;
        }
    }
    if (cs_db_command(conn, p, &err, "COMMIT") != APR_SUCCESS) {
        fprintf(stderr, "consult-admin: %s", err);
        return 1;
    }
    printf("%s: %d file(s) written, %d unchanged; `apache2 -t` then a graceful restart"
           " serves http://%s.localhost:8080/ under make run\n", slug, written, same, slug);
    return 0;
}
