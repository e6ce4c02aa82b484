/* consult-admin site-new end to end: a fresh slug becomes a client, its
 * owner's account, a vhost on the vertical's preset and a site folder; the
 * configuration test passes with it; a second Apache serving that checkout
 * takes the new site's own form into the new client's inbox (seen by its
 * owner signing in with the printed password, not by another client's
 * owner); and running it again changes nothing.
 *
 * The checkout is a scratch copy under $CS_TEST_TMP: the real conf/,
 * templates/ and sites linked in, so site-new's files are the only real
 * ones in it and the repository is never written. */
#include "integ.h"

#include <apr_strings.h>
#include <apr_file_info.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SLUG "fresh-plumbing"
#define HOST SLUG ".localhost"
#define NAME "Fresh & Clear Plumbing"
#define OWNER "owner@fresh-plumbing.example"

/* Run @p cmd through the shell; its exit status, its output in *pout. */
static int run(const char *cmd, const char **pout)
{
    FILE *f = popen(apr_pstrcat(it_pool, cmd, " 2>&1", NULL), "r");
    char buf[4096];
    const char *out = "";
    size_t n;
    int st;

    ck_assert_msg(f != NULL, "cannot run %s", cmd);
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        out = apr_pstrcat(it_pool, out, apr_pstrmemdup(it_pool, buf, n), NULL);
    }
    st = pclose(f);
    if (pout) *pout = out;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* The scratch checkout: made once, with everything but the new site linked. */
static const char *scratch_root(void)
{
    const char *root = apr_pstrcat(it_pool, getenv("CS_TEST_TMP"), "/site-root", NULL);
    const char *out;
    int rc = run(apr_psprintf(
        it_pool,
        "set -e; r='%s'; src='%s'; htdocs='%s'; rm -rf \"$r\"; mkdir -p \"$r/conf/sites\" \"$r/htdocs\";"
        " for x in conf/httpd.conf conf/presets conf/demo templates modules sql; do"
        "   ln -s \"$src/$x\" \"$r/$x\"; done;"
        " for f in \"$src\"/conf/sites/*.conf; do ln -s \"$f\" \"$r/conf/sites/\"; done;"
        " for d in \"$htdocs\"/*; do ln -s \"$d\" \"$r/htdocs/\"; done",
        root, getenv("CS_TEST_ROOT"), getenv("CONSULT_HTDOCS")), &out);
    ck_assert_msg(rc == 0, "scratch checkout: %s", out);
    return root;
}

static int site_new(const char *root, const char *args, const char **pout)
{
    return run(apr_psprintf(it_pool, "'%s/consult-admin' --db '%s' site-new %s --root '%s'",
                            getenv("CS_TEST_BUILD"), getenv("CS_TEST_DATABASE"), args, root),
               pout);
}

/* tests/integration/ctl.sh with the scratch checkout as ServerRoot. */
static int ctl_in(const char *root, const char *args, const char **pout)
{
    return run(apr_psprintf(it_pool, "CONSULT_ROOT='%s' CONSULT_HTDOCS='%s/htdocs' '%s/tests/integration/ctl.sh' %s",
                            root, root, getenv("CS_TEST_ROOT"), args), pout);
}

static const char *file_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    char buf[65536];
    size_t n;

    ck_assert_msg(f != NULL, "no %s", path);
    n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    return apr_pstrmemdup(it_pool, buf, n);
}

/* What a run may change: the files' bytes and times, the rows. */
static const char *snapshot(const char *root)
{
    const char *files[] = { "/conf/sites/" SLUG ".conf", "/htdocs/" SLUG "/index.html",
                            "/htdocs/" SLUG "/quote.html", "/htdocs/" SLUG "/thanks.html",
                            "/htdocs/" SLUG "/style.css", NULL };
    const char *s = it_sql("SELECT string_agg(concat_ws('|', c.id, c.name, u.id, u.password_hash,"
                           " m.role, u.name), ',') FROM clients c"
                           " JOIN memberships m ON m.client_id = c.id"
                           " JOIN staff_users u ON u.id = m.user_id WHERE c.slug = '" SLUG "'",
                           0, NULL);
    struct stat sb;
    int i;

    for (i = 0; files[i]; i++) {
        const char *path = apr_pstrcat(it_pool, root, files[i], NULL);
        ck_assert_msg(stat(path, &sb) == 0, "no %s", path);
        s = apr_psprintf(it_pool, "%s\n%s %ld.%09ld %s", s, files[i], (long)sb.st_mtim.tv_sec,
                         sb.st_mtim.tv_nsec, file_text(path));
    }
    return s;
}

/* The printed one-time password: the indented line after "password". */
static const char *printed_password(const char *out)
{
    const char *at = strstr(out, "sets another):\n  ");
    ck_assert_msg(at != NULL, "no password printed: %s", out);
    at += strlen("sets another):\n  ");
    return apr_pstrndup(it_pool, at, strcspn(at, "\n"));
}

/* Sign in on the dashboard and fetch the inbox page. */
static const char *inbox_of(const char *email, const char *password)
{
    it_resp_t *r = it_sign_in_post("admin.localhost", apr_psprintf(
        it_pool, "email=%s&password=%s", email, password));
    const char *set = apr_table_get(r->headers, "Set-Cookie"), *hdrs[2];
    it_req_t req = { 0 };

    ck_assert_msg(r->status == 303 && set && !strncmp(set, "consult_session=", 16),
                  "sign-in as %s: %ld", email, r->status);
    hdrs[0] = apr_pstrcat(it_pool, "Cookie: ", apr_pstrndup(it_pool, set, strcspn(set, ";")),
                          NULL);
    hdrs[1] = NULL;
    req.host = "admin.localhost";
    req.path = "/";
    req.accept = "text/html";
    req.headers = hdrs;
    r = it_http(&req);
    ck_assert_int_eq(r->status, 200);
    return r->body;
}

START_TEST(test_site_new_makes_a_working_site_and_a_second_run_changes_nothing)
{
    const char *root = scratch_root(), *out, *vhost, *page, *token, *password, *before, *body;
    const char *base = apr_psprintf(it_pool, "http://127.0.0.1:%s", getenv("CS_TEST_PORT2"));
    const char *word = "zqflangewrenchx";
    long others = it_sql_long("SELECT count(*) FROM submissions s JOIN clients c"
                              " ON c.id = s.client_id WHERE c.slug <> '" SLUG "'", 0, NULL);
    it_req_t req = { 0 };
    it_resp_t *r;
    int rc;

    rc = site_new(root, "'" SLUG "' --name '" NAME "' --vertical trades --owner " OWNER, &out);
    ck_assert_msg(rc == 0, "site-new: %s", out);
    password = printed_password(out);

    /* The vhost: the client, the preset, nothing with a secret switched on. */
    vhost = file_text(apr_pstrcat(it_pool, root, "/conf/sites/" SLUG ".conf", NULL));
    ck_assert_msg(strstr(vhost, "\n    ConsultClient " SLUG "\n"), "%s", vhost);
    ck_assert_msg(strstr(vhost, "\n    Include conf/presets/trades.conf\n"), "%s", vhost);
    ck_assert_msg(strstr(vhost, "\n    # ConsultTwilioAuthToken env:FRESH_PLUMBING_TWILIO_TOKEN\n"),
                  "%s", vhost);
    ck_assert_msg(!strstr(vhost, "\n    ConsultTwilio On"), "%s", vhost);
    /* The site, with the name escaped in its pages. */
    page = file_text(apr_pstrcat(it_pool, root, "/htdocs/" SLUG "/index.html", NULL));
    ck_assert_msg(strstr(page, "Fresh &amp; Clear Plumbing"), "name not in the page");
    ck_assert_msg(!strstr(page, NAME), "name not escaped");
    ck_assert_str_eq(it_sql("SELECT name FROM clients WHERE slug = '" SLUG "'", 0, NULL), NAME);
    ck_assert_str_eq(it_sql("SELECT m.role FROM memberships m JOIN staff_users u ON u.id = m.user_id"
                            " JOIN clients c ON c.id = m.client_id"
                            " WHERE c.slug = '" SLUG "' AND u.email = '" OWNER "'", 0, NULL),
                     "owner");

    /* Right after it, the configuration test passes with the new vhost in. */
    rc = ctl_in(root, "httpd-t", &out);
    ck_assert_msg(rc == 0 && strstr(out, "Syntax OK"), "apache2 -t: %s", out);

    /* A second Apache serving the scratch checkout; the new site's own
     * quote form, posted as a browser posts it. */
    rc = ctl_in(root, "httpd2-start", &out);
    ck_assert_msg(rc == 0, "httpd2-start: %s", out);
    req.base = base;
    req.host = HOST;
    req.path = "/quote.html";
    r = it_http(&req);
    ck_assert_int_eq(r->status, 200);
    token = strstr(r->body, "name=\"_token\" value=\"");
    ck_assert_msg(token && strncmp(token + 21, "__CONSULT", 9), "no form token stamped");
    token = apr_pstrndup(it_pool, token + 21, strcspn(token + 21, "\""));
    sleep(4); /* the preset's minimum fill time (3 s) */
    memset(&req, 0, sizeof(req));
    req.base = base;
    req.host = HOST;
    req.path = "/api/intake";
    req.method = "POST";
    req.accept = "text/html";
    req.content_type = "application/x-www-form-urlencoded";
    req.body = apr_psprintf(it_pool, "_token=%s&website=&service=Repair&message=Leaking+%s+under"
                            "+the+kitchen+sink&zip=80205&preferred_time=Saturday&name=Pat"
                            "&phone=&email=pat%%40example.com", token, word);
    r = it_http(&req);
    ck_assert_msg(r->status == 303, "post: %ld %s", r->status, r->body);
    ck_assert_str_eq(apr_table_get(r->headers, "Location"), "/thanks.html");
    /* Filed from the journal and classified by a job: this Apache's
     * worker is the one that knows the new vhost. */
    ck_assert_msg(it_wait_sql("SELECT c.slug || ' ' || m.is_spam || ' ' || (m.classified_at IS NOT NULL)"
                              " FROM messages m JOIN clients c ON c.id = m.client_id"
                              " WHERE m.body LIKE '%zqflangewrenchx%'", SLUG " false true", 20),
                  "the quote request was not filed as " SLUG "'s and classified");
    ctl_in(root, "httpd2-stop", NULL);
    ck_assert_int_eq(it_sql_long("SELECT count(*) FROM submissions s JOIN clients c"
                                 " ON c.id = s.client_id WHERE c.slug <> '" SLUG "'", 0, NULL),
                     others);
    /* Its owner sees it, with the printed password; another client's does not. */
    body = inbox_of(OWNER, password);
    ck_assert_msg(strstr(body, word), "the new owner's inbox lacks the quote request");
    body = inbox_of("other@other.example", "other+password+1");
    ck_assert_msg(!strstr(body, word), "another client's owner sees the quote request");

    /* Again: refused without --force, and changes nothing either way. */
    before = snapshot(root);
    rc = site_new(root, "'" SLUG "' --name '" NAME "' --vertical trades --owner " OWNER, &out);
    ck_assert_msg(rc == 1 && strstr(out, "taken"), "second run: %d %s", rc, out);
    rc = site_new(root, "'" SLUG "' --name '" NAME "' --vertical trades --owner " OWNER " --force",
                  &out);
    ck_assert_msg(rc == 0, "--force: %s", out);
    ck_assert_msg(strstr(out, "0 file(s) written, 7 unchanged"), "%s", out);
    ck_assert_msg(strstr(out, "password unchanged") && !strstr(out, "sets another"), "%s", out);
    ck_assert_str_eq(snapshot(root), before);
    rc = ctl_in(root, "httpd-t", &out);
    ck_assert_msg(rc == 0, "apache2 -t after --force: %s", out);
}
END_TEST

START_TEST(test_site_new_refuses_what_it_cannot_make)
{
    const char *root = scratch_root(), *out;
    struct stat sb;

    ck_assert_int_eq(site_new(root, "bad-vertical --name 'X' --vertical spaceships", &out), 1);
    ck_assert_msg(strstr(out, "no preset 'spaceships'"), "%s", out);
    ck_assert_int_eq(site_new(root, "bad-vertical --name 'X' --vertical base", &out), 1);
    ck_assert_int_eq(site_new(root, "bad-name --name \"$(printf 'A\\nInclude /etc')\""
                                    " --vertical cafe", &out), 1);
    ck_assert_msg(strstr(out, "one line"), "%s", out);
    ck_assert_int_eq(site_new(root, "Bad_Slug --name 'X' --vertical cafe", &out), 1);
    ck_assert_int_eq(site_new(root, "admin --name 'X' --vertical cafe", &out), 1);
    /* An existing client (seeded, no site yet) is taken too. */
    ck_assert_int_eq(site_new(root, "coffee-shop --name 'X' --vertical cafe", &out), 1);
    ck_assert_msg(strstr(out, "taken"), "%s", out);
    ck_assert_str_eq(it_sql("SELECT count(*) FROM clients WHERE slug IN"
                            " ('bad-vertical', 'bad-name', 'admin')", 0, NULL), "0");
    ck_assert_int_eq(stat(apr_pstrcat(it_pool, root, "/conf/sites/bad-name.conf", NULL), &sb), -1);
}
END_TEST

Suite *suite_sites(void)
{
    Suite *s = suite_create("sites");
    TCase *tc = tcase_create("site-new");
    tcase_add_checked_fixture(tc, it_setup, it_teardown);
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, test_site_new_makes_a_working_site_and_a_second_run_changes_nothing);
    tcase_add_test(tc, test_site_new_refuses_what_it_cannot_make);
    suite_add_tcase(s, tc);
    return s;
}
