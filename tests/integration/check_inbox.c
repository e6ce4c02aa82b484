/* The staff dashboard over HTTP: sign-in, sessions, CSRF, throttling, and
 * a tenant-isolation matrix (another client's ids answer 404, never data). */
#include "integ.h"

#include <apr_strings.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <string.h>

#define ADMIN "admin.localhost"
#define FORM "application/x-www-form-urlencoded"

typedef struct {
    const char *cookie;   /* "consult_session=..." */
    const char *token;
    const char *csrf;
} sess_t;

static it_resp_t *req(const char *host, const char *method, const char *path,
                      const sess_t *s, const char *body, int with_csrf, const char *origin)
{
    it_req_t q = { 0 };
    const char *hdrs[4];
    int n = 0;
    q.host = host;
    q.method = method;
    q.path = path;
    q.accept = "text/html";
    if (body) {
        q.body = body;
        q.content_type = FORM;
    }
    if (!s && body && !strcmp(path, "/login")) {
        /* Signing in, as from the sign-in page: its token and cookie. */
        const char *field, *cookie;
        it_login_token(host, &field, &cookie);
        q.body = apr_pstrcat(it_pool, body, "&", field, NULL);
        hdrs[n++] = apr_pstrcat(it_pool, "Cookie: ", cookie, NULL);
    }
    if (s) hdrs[n++] = apr_pstrcat(it_pool, "Cookie: ", s->cookie, NULL);
    if (with_csrf && s) hdrs[n++] = apr_pstrcat(it_pool, "X-CSRF-Token: ", s->csrf, NULL);
    if (origin) hdrs[n++] = apr_pstrcat(it_pool, "Origin: ", origin, NULL);
    hdrs[n] = NULL;
    q.headers = hdrs;
    return it_http(&q);
}

static const char *csrf_of(const char *body)
{
    const char *at = strstr(body, "\"X-CSRF-Token\": \""), *end;
    if (!at) return "";
    at += strlen("\"X-CSRF-Token\": \"");
    end = strchr(at, '"');
    return apr_pstrmemdup(it_pool, at, end - at);
}

static sess_t *login_on(const char *host, const char *email, const char *password)
{
    sess_t *s = apr_pcalloc(it_pool, sizeof(*s));
    it_resp_t *r = req(host, "POST", "/login", NULL, apr_psprintf(
        it_pool, "email=%s&password=%s", email, password), 0, NULL);
    const char *set = apr_table_get(r->headers, "Set-Cookie"), *semi;
    ck_assert_msg(r->status == 303, "login %s: %ld", email, r->status);
    ck_assert_msg(set && !strncmp(set, "consult_session=", 16), "no cookie");
    semi = strchr(set, ';');
    s->cookie = apr_pstrmemdup(it_pool, set, semi - set);
    s->token = s->cookie + 16;
    s->csrf = csrf_of(req(host, "GET", "/", s, NULL, 0, NULL)->body);
    ck_assert_msg(*s->csrf, "no CSRF token on the page");
    return s;
}

static sess_t *login(const char *email, const char *password)
{
    return login_on(ADMIN, email, password);
}

static const char *sha256(const char *s)
{
    unsigned char md[32];
    unsigned int n = 0;
    char *hex = apr_palloc(it_pool, 65);
    int i;
    EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL);
    for (i = 0; i < 32; i++) sprintf(hex + 2 * i, "%02x", md[i]);
    return hex;
}

/* A fresh conversation for @p site's client; returns its id. */
static const char *new_conversation(const char *site, const char *email, const char *text)
{
    const char *p[1];
    it_resp_t *r = it_post(site, "application/json", apr_psprintf(
        it_pool, "{\"name\":\"N\",\"email\":\"%s\",\"message\":\"%s\"}", email, text));
    const char *cv;
    ck_assert_int_eq(r->status, 201);
    p[0] = it_submission_of(r);
    cv = it_sql("SELECT m.conversation_id FROM submissions s JOIN messages m"
                " ON m.id = s.message_id WHERE s.id = $1", 1, p);
    /* Wait for its classification job, so no background change races the
     * assertions that follow. */
    ck_assert_msg(it_wait_sql(apr_psprintf(it_pool, "SELECT bool_and(classified_at IS NOT NULL)"
                                           " FROM messages WHERE conversation_id = %s", cv),
                              "t", 20), "message not processed");
    return cv;
}

START_TEST(test_sign_in_sets_a_hashed_http_only_session)
{
    it_resp_t *r = req(ADMIN, "GET", "/login", NULL, NULL, 0, NULL);
    const char *p[1];
    sess_t *s;

    ck_assert_int_eq(r->status, 200);
    ck_assert_msg(strstr(r->body, "id=\"login\"") != NULL, "no login form");
    ck_assert_int_eq(req(ADMIN, "GET", "/", NULL, NULL, 0, NULL)->status, 303);

    r = req(ADMIN, "POST", "/login", NULL,
            "email=owner%40coffee.example&password=owner+password+1", 0, NULL);
    ck_assert_int_eq(r->status, 303);
    ck_assert_str_eq(apr_table_get(r->headers, "Location"), "/");
    ck_assert_msg(strstr(apr_table_get(r->headers, "Set-Cookie"), "HttpOnly") != NULL, "HttpOnly");
    ck_assert_msg(strstr(apr_table_get(r->headers, "Set-Cookie"), "SameSite=Lax") != NULL, "SameSite");
    s = login("owner%40coffee.example", "owner+password+1");
    /* Only the token's hash is stored. */
    p[0] = sha256(s->token);
    ck_assert_str_eq(it_sql("SELECT count(*) FROM sessions WHERE token_hash = $1", 1, p), "1");
    p[0] = s->token;
    ck_assert_str_eq(it_sql("SELECT count(*) FROM sessions WHERE token_hash = $1", 1, p), "0");
    r = req(ADMIN, "GET", "/", s, NULL, 0, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_msg(strstr(r->body, "id=\"inbox-list\"") != NULL, "no inbox");
    /* Each sign-in gets its own token. */
    ck_assert_str_ne(login("owner%40coffee.example", "owner+password+1")->token, s->token);
}
END_TEST

START_TEST(test_wrong_password_and_unknown_user_get_the_same_answer)
{
    it_resp_t *a = req(ADMIN, "POST", "/login", NULL,
                       "email=owner%40coffee.example&password=nope", 0, NULL);
    it_resp_t *b = req(ADMIN, "POST", "/login", NULL,
                       "email=nobody%40coffee.example&password=nope", 0, NULL);
    ck_assert_int_eq(a->status, 401);
    ck_assert_int_eq(b->status, 401);
    ck_assert_msg(strstr(a->body, "role=\"alert\"") != NULL, "no alert");
    ck_assert_msg(strstr(a->body, "do not match an account") && strstr(b->body, "do not match an account"),
                  "different messages");
    /* No session on failure (only a fresh sign-in form token). */
    ck_assert_msg(!apr_table_get(a->headers, "Set-Cookie")
                  || !strncmp(apr_table_get(a->headers, "Set-Cookie"), "consult_login=", 14),
                  "cookie on failure: %s", apr_table_get(a->headers, "Set-Cookie"));
}
END_TEST

START_TEST(test_sign_in_needs_the_forms_own_token)
{
    const char *field, *cookie, *hdrs[2];
    it_req_t q = { 0 };
    it_resp_t *r;

    q.host = ADMIN;
    q.method = "POST";
    q.path = "/login";
    q.accept = "text/html";
    q.content_type = FORM;
    /* Posted from another site's page: no token, no cookie. */
    q.body = "email=owner%40coffee.example&password=owner+password+1";
    r = it_http(&q);
    ck_assert_int_eq(r->status, 400);
    ck_assert_msg(strstr(r->body, "sign-in form had expired") != NULL, "%s", r->body);
    ck_assert_msg(apr_table_get(r->headers, "Set-Cookie") == NULL
                  || strstr(apr_table_get(r->headers, "Set-Cookie"), "consult_session=") == NULL,
                  "signed in without the form's token");
    /* A token that is not the one its cookie holds. */
    it_login_token(ADMIN, &field, &cookie);
    hdrs[0] = apr_pstrcat(it_pool, "Cookie: ", cookie, NULL);
    hdrs[1] = NULL;
    q.headers = hdrs;
    q.body = "email=owner%40coffee.example&password=owner+password+1"
             "&_login=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    ck_assert_int_eq(it_http(&q)->status, 400);
    /* The page's own pair signs in. */
    q.body = apr_pstrcat(it_pool, "email=owner%40coffee.example&password=owner+password+1&", field, NULL);
    r = it_http(&q);
    ck_assert_int_eq(r->status, 303);
    ck_assert_msg(strstr(apr_table_get(r->headers, "Set-Cookie"), "consult_session=") != NULL, "no session");
}
END_TEST

START_TEST(test_logout_needs_csrf_and_ends_the_session)
{
    sess_t *s = login("owner%40coffee.example", "owner+password+1");
    const char *p[1] = { sha256(s->token) };

    ck_assert_int_eq(req(ADMIN, "POST", "/logout", s, "", 0, NULL)->status, 403);
    ck_assert_str_eq(it_sql("SELECT count(*) FROM sessions WHERE token_hash = $1", 1, p), "1");
    ck_assert_int_eq(req(ADMIN, "POST", "/logout", s, "", 1, NULL)->status, 303);
    ck_assert_str_eq(it_sql("SELECT count(*) FROM sessions WHERE token_hash = $1", 1, p), "0");
    ck_assert_int_eq(req(ADMIN, "GET", "/", s, NULL, 0, NULL)->status, 303);
}
END_TEST

static int admin_cmd(const char *args)
{
    return system(apr_psprintf(it_pool, "%s/consult-admin --db '%s' %s >/dev/null",
                               getenv("CS_TEST_BUILD"), getenv("CS_TEST_DATABASE"), args));
}

/* consult-admin user-add ARGS with @p password on stdin, as an operator's
 * script gives it (never on the command line, where ps shows it). */
static int user_add(const char *args, const char *password)
{
    return system(apr_psprintf(it_pool, "printf '%%s\\n' '%s' | %s/consult-admin --db '%s' user-add %s"
                               " --password-stdin >/dev/null", password, getenv("CS_TEST_BUILD"),
                               getenv("CS_TEST_DATABASE"), args));
}

START_TEST(test_a_new_password_signs_out_the_old_sessions)
{
    sess_t *s;
    ck_assert_int_eq(user_add("reset@coffee.example 'Rae Reset'", "first password 1"), 0);
    ck_assert_int_eq(admin_cmd("member-add reset@coffee.example coffee-shop staff"), 0);
    s = login("reset%40coffee.example", "first+password+1");
    ck_assert_int_eq(req(ADMIN, "GET", "/", s, NULL, 0, NULL)->status, 200);
    ck_assert_int_eq(user_add("reset@coffee.example 'Rae Reset'", "second password 2"), 0);
    ck_assert_int_eq(req(ADMIN, "GET", "/", s, NULL, 0, NULL)->status, 303);
    ck_assert_int_eq(req(ADMIN, "POST", "/login", NULL,
                         "email=reset%40coffee.example&password=first+password+1", 0, NULL)->status, 401);
    login("reset%40coffee.example", "second+password+2");
}
END_TEST

START_TEST(test_idle_and_absolute_expiry_sign_out)
{
    sess_t *s = login("owner%40coffee.example", "owner+password+1");
    const char *p[1] = { sha256(s->token) };

    it_sql("UPDATE sessions SET last_seen_at = now() - interval '3 hours' WHERE token_hash = $1", 1, p);
    ck_assert_int_eq(req(ADMIN, "GET", "/", s, NULL, 0, NULL)->status, 303);
    s = login("owner%40coffee.example", "owner+password+1");
    p[0] = sha256(s->token);
    it_sql("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE token_hash = $1", 1, p);
    ck_assert_int_eq(req(ADMIN, "GET", "/", s, NULL, 0, NULL)->status, 303);
}
END_TEST

START_TEST(test_state_changes_need_the_csrf_token_and_same_origin)
{
    sess_t *s = login("owner%40coffee.example", "owner+password+1");
    const char *cv = new_conversation("other.localhost", "x@x.example", "noise"), *mine, *p[1];
    (void)cv;
    mine = new_conversation("small.localhost", "csrf@c.example", "Can you cater lunch for 12 people on Friday?");
    p[0] = mine;
    ck_assert_int_eq(req(ADMIN, "POST", apr_psprintf(it_pool, "/c/%s/archive", mine), s, "",
                         0, NULL)->status, 403);
    ck_assert_str_eq(it_sql("SELECT status FROM conversations WHERE id = $1", 1, p), "open");
    ck_assert_int_eq(req(ADMIN, "POST", apr_psprintf(it_pool, "/c/%s/archive", mine), s,
                         apr_psprintf(it_pool, "_csrf=%s", "wrong"), 0, NULL)->status, 403);
    ck_assert_int_eq(req(ADMIN, "POST", apr_psprintf(it_pool, "/c/%s/archive", mine), s, "",
                         1, "https://evil.example")->status, 403);
    ck_assert_str_eq(it_sql("SELECT status FROM conversations WHERE id = $1", 1, p), "open");
    /* Malformed values are refused, not half-applied. */
    ck_assert_int_eq(req(ADMIN, "POST", apr_psprintf(it_pool, "/c/%s/intent", mine), s,
                         "intent=", 1, NULL)->status, 400);
    ck_assert_int_eq(req(ADMIN, "POST", apr_psprintf(it_pool, "/c/%s/intent", mine), s,
                         "intent=spam+other", 1, NULL)->status, 400);
    ck_assert_int_eq(req(ADMIN, "POST", apr_psprintf(it_pool, "/c/%s/assign", mine), s,
                         "assignee=99999999999999999999999", 1, NULL)->status, 400);
    ck_assert_int_eq(req(ADMIN, "POST", apr_psprintf(it_pool, "/c/%s/archive", mine), s,
                         apr_psprintf(it_pool, "_csrf=%s", s->csrf), 0, NULL)->status, 303);
    ck_assert_str_eq(it_sql("SELECT status FROM conversations WHERE id = $1", 1, p), "archived");
    /* And the owner sees it in the activity log. */
    ck_assert_msg(strstr(req(ADMIN, "GET", "/audit", s, NULL, 0, NULL)->body, "archive") != NULL,
                  "audit log");
}
END_TEST

/* A request as htmx sends it from the dashboard (body: a form, or NULL). */
static it_resp_t *hx(const sess_t *s, const char *method, const char *path, const char *body,
                     int with_csrf)
{
    it_req_t q = { 0 };
    const char *hdrs[4];
    int n = 0;
    q.host = ADMIN;
    q.method = method;
    q.path = path;
    if (body) {
        q.body = body;
        q.content_type = FORM;
    }
    hdrs[n++] = apr_pstrcat(it_pool, "Cookie: ", s->cookie, NULL);
    hdrs[n++] = "HX-Request: true";
    if (with_csrf) hdrs[n++] = apr_pstrcat(it_pool, "X-CSRF-Token: ", s->csrf, NULL);
    hdrs[n] = NULL;
    q.headers = hdrs;
    return it_http(&q);
}

/* The panel's own POST after it opens an unread thread. */
static it_resp_t *seen(sess_t *s, const char *cv, int with_csrf)
{
    return hx(s, "POST", apr_psprintf(it_pool, "/c/%s/seen", cv), "", with_csrf);
}

START_TEST(test_opening_a_thread_changes_nothing_until_its_panel_posts_seen)
{
    sess_t *s = login("owner%40coffee.example", "owner+password+1");
    const char *cv = new_conversation("small.localhost", "seen@c.example", "Do you deliver on Sundays?");
    const char *p[1] = { cv }, *audit = "SELECT count(*) FROM audit_log WHERE target_id = $1"
                                        " AND target_type = 'conversation' AND action = 'read'";
    it_resp_t *r;

    /* A GET (a link from another site, say) reads nothing. */
    r = req(ADMIN, "GET", apr_psprintf(it_pool, "/c/%s", cv), s, NULL, 0, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_msg(strstr(r->body, apr_psprintf(it_pool, "hx-post=\"/c/%s/seen\"", cv)) != NULL,
                  "the unread panel does not post seen");
    ck_assert_str_eq(it_sql("SELECT unread::text FROM conversations WHERE id = $1", 1, p), "true");
    ck_assert_int_eq(seen(s, cv, 0)->status, 403);
    ck_assert_str_eq(it_sql("SELECT unread::text FROM conversations WHERE id = $1", 1, p), "true");

    /* The panel's POST reads it, answers the buttons and refreshes the list. */
    r = seen(s, cv, 1);
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(it_sql("SELECT unread::text FROM conversations WHERE id = $1", 1, p), "false");
    ck_assert_msg(strstr(r->body, "value=\"unread\">Mark unread") != NULL, "%s", r->body);
    ck_assert_msg(strstr(r->body, "class=\"msg") == NULL, "the whole panel came back");
    ck_assert_str_eq(apr_table_get(r->headers, "HX-Trigger"), "inbox-changed");
    ck_assert_str_eq(it_sql(audit, 1, p), "1");
    /* Again (a second tab): nothing new to say or log. */
    r = seen(s, cv, 1);
    ck_assert_int_eq(r->status, 200);
    ck_assert_msg(apr_table_get(r->headers, "HX-Trigger") == NULL, "list refreshed for nothing");
    ck_assert_str_eq(it_sql(audit, 1, p), "1");
    /* A read thread's panel does not post it. */
    r = req(ADMIN, "GET", apr_psprintf(it_pool, "/c/%s", cv), s, NULL, 0, NULL);
    ck_assert_msg(strstr(r->body, "/seen") == NULL, "a read panel posts seen");
    /* "Mark unread" answers a panel that leaves it unread. */
    {
        r = hx(s, "POST", apr_psprintf(it_pool, "/c/%s/act", cv), "action=unread", 1);
        ck_assert_int_eq(r->status, 200);
        ck_assert_msg(strstr(r->body, "value=\"read\">Mark read") != NULL, "%s", r->body);
        ck_assert_msg(strstr(r->body, "/seen") == NULL, "the panel would read it again at once");
        ck_assert_str_eq(it_sql("SELECT unread::text FROM conversations WHERE id = $1", 1, p), "true");
        /* The refresh of the messages alone: no composer to wipe. */
        r = hx(s, "GET", apr_psprintf(it_pool, "/c/%s/messages", cv), NULL, 0);
        ck_assert_int_eq(r->status, 200);
        ck_assert_msg(strstr(r->body, "Do you deliver on Sundays?") != NULL, "%s", r->body);
        ck_assert_msg(strstr(r->body, "composer") == NULL && strstr(r->body, "/seen") == NULL,
                      "more than the messages: %s", r->body);
        ck_assert_str_eq(it_sql("SELECT unread::text FROM conversations WHERE id = $1", 1, p), "true");
    }
}
END_TEST

START_TEST(test_a_reply_no_channel_can_carry_says_why_in_the_panel)
{
    sess_t *s = login("owner%40coffee.example", "owner+password+1");
    const char *cv = new_conversation("small.localhost", "nochan@c.example", "Are you open on Monday?");
    const char *p[1] = { cv }, *path = apr_psprintf(it_pool, "/c/%s/reply", cv);
    it_resp_t *r = hx(s, "POST", path, "channel=auto&body=Yes+from+8am", 1);

    /* 200 so htmx shows it: the panel, the reason above the composer. */
    ck_assert_int_eq(r->status, 200);
    ck_assert_msg(strstr(r->body, "role=\"alert\">Not sent. No way to reach them") != NULL, "%s", r->body);
    ck_assert_str_eq(it_sql("SELECT count(*) FROM messages WHERE conversation_id = $1"
                            " AND direction = 'outbound'", 1, p), "0");
    /* Without htmx: 409 (a page for a browser). */
    r = req(ADMIN, "POST", path, s, "channel=auto&body=Yes+from+8am", 1, NULL);
    ck_assert_int_eq(r->status, 409);
}
END_TEST

START_TEST(test_repeated_failures_are_throttled_even_with_the_right_password)
{
    it_resp_t *r;
    int i;
    for (i = 0; i < 5; i++) {
        ck_assert_int_eq(req(ADMIN, "POST", "/login", NULL,
                             "email=throttle%40coffee.example&password=wrong", 0, NULL)->status, 401);
    }
    r = req(ADMIN, "POST", "/login", NULL,
            "email=throttle%40coffee.example&password=throttle+password+1", 0, NULL);
    ck_assert_int_eq(r->status, 429);
    ck_assert_msg(apr_table_get(r->headers, "Retry-After") != NULL, "Retry-After");
    ck_assert_msg(strstr(r->body, "Too many attempts") != NULL, "%s", r->body);
}
END_TEST

START_TEST(test_many_failures_from_one_address_throttle_every_account)
{
    it_resp_t *r;
    /* Someone at this address tried 24 accounts just now (recorded as the
     * sign-in page records them; every test signs in from 127.0.0.1, so the
     * rows are removed again below). */
    it_sql("INSERT INTO login_attempts (email, ip, succeeded)"
           " SELECT 'spray' || g || '@x.example', '127.0.0.1', false FROM generate_series(1, 24) g",
           0, NULL);
    r = req(ADMIN, "POST", "/login", NULL, "email=owner%40coffee.example&password=owner+password+1",
            0, NULL);
    it_sql("DELETE FROM login_attempts WHERE email LIKE 'spray%@x.example'", 0, NULL);
    ck_assert_int_eq(r->status, 429);
    ck_assert_msg(apr_table_get(r->headers, "Retry-After") != NULL, "Retry-After");
    login("owner%40coffee.example", "owner+password+1");
}
END_TEST

/* ---- behind a proxy: mod_remoteip trusts 127.0.0.1 on these vhosts, so
 * X-Forwarded-For is the visitor's address ------------------------------- */
#define PROXIED_ADMIN "proxied-admin.localhost"
#define PROXIED_SITE "proxied.localhost"

/* POST /login on the proxied dashboard, as a browser at @p xff sends it. */
static it_resp_t *sign_in_from(const char *xff, const char *form)
{
    const char *field, *cookie, *hdrs[3];
    it_req_t q = { 0 };

    it_login_token(PROXIED_ADMIN, &field, &cookie);
    hdrs[0] = apr_pstrcat(it_pool, "Cookie: ", cookie, NULL);
    hdrs[1] = apr_pstrcat(it_pool, "X-Forwarded-For: ", xff, NULL);
    hdrs[2] = NULL;
    q.host = PROXIED_ADMIN;
    q.method = "POST";
    q.path = "/login";
    q.accept = "text/html";
    q.content_type = FORM;
    q.body = apr_pstrcat(it_pool, form, "&", field, NULL);
    q.headers = hdrs;
    return it_http(&q);
}

static size_t discard(char *data, size_t size, size_t n, void *baton)
{
    (void)data;
    (void)baton;
    return size * n;
}

/* @p n sign-in posts of @p form from @p xff at once (curl multi: every
 * request is on the wire before the first answer); their statuses. */
static void sign_in_burst(const char *xff, const char *form, int n, long *status)
{
    const char *field, *cookie, *body;
    struct curl_slist *h = NULL;
    CURLM *m = curl_multi_init();
    CURL *e[32];
    int i, running = 0;

    ck_assert_int_le(n, 32);
    it_login_token(PROXIED_ADMIN, &field, &cookie);
    body = apr_pstrcat(it_pool, form, "&", field, NULL);
    h = curl_slist_append(h, "Host: " PROXIED_ADMIN);
    h = curl_slist_append(h, apr_pstrcat(it_pool, "Cookie: ", cookie, NULL));
    h = curl_slist_append(h, "Content-Type: " FORM);
    h = curl_slist_append(h, "Accept: text/html");
    h = curl_slist_append(h, "Expect:");
    h = curl_slist_append(h, apr_pstrcat(it_pool, "X-Forwarded-For: ", xff, NULL));
    for (i = 0; i < n; i++) {
        e[i] = curl_easy_init();
        curl_easy_setopt(e[i], CURLOPT_URL, apr_pstrcat(it_pool, getenv("CS_TEST_URL"),
                                                        "/login", NULL));
        curl_easy_setopt(e[i], CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(e[i], CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e[i], CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(e[i], CURLOPT_TIMEOUT, 30L);
        curl_multi_add_handle(m, e[i]);
    }
    do {
        ck_assert_int_eq(curl_multi_perform(m, &running), CURLM_OK);
        if (running) {
            curl_multi_poll(m, NULL, 0, 1000, NULL);
        }
    } while (running);
    for (i = 0; i < n; i++) {
        status[i] = 0;
        curl_easy_getinfo(e[i], CURLINFO_RESPONSE_CODE, &status[i]);
        curl_multi_remove_handle(m, e[i]);
        curl_easy_cleanup(e[i]);
    }
    curl_multi_cleanup(m);
    curl_slist_free_all(h);
}

START_TEST(test_a_burst_of_parallel_guesses_gets_only_the_allowed_few_checked)
{
    const char *p[1] = { "198.51.100.20" };
    long st[20];
    int i, n401 = 0, n429 = 0;

    /* Twenty guesses at once. Each is counted before its password is
     * checked, so only the first five (no delay before the fifth failure)
     * reach argon2; counted after the check, all twenty would. */
    sign_in_burst(p[0], "email=burst%40coffee.example&password=a+wrong+guess", 20, st);
    for (i = 0; i < 20; i++) {
        n401 += st[i] == 401;
        n429 += st[i] == 429;
    }
    ck_assert_msg(n401 + n429 == 20, "%d 401s and %d 429s of 20", n401, n429);
    ck_assert_msg(n401 >= 1 && n401 <= 6, "%d of 20 parallel guesses were checked", n401);
    /* Only checked guesses are failures (the wait Retry-After states stays
     * true), recorded at the visitor's own address. */
    ck_assert_int_eq(it_sql_long("SELECT count(*) FROM login_attempts WHERE email = 'burst@coffee.example'"
                                 " AND ip = $1::inet AND NOT succeeded", 1, p), n401);
    /* And the account stays throttled. */
    ck_assert_int_eq(sign_in_from(p[0], "email=burst%40coffee.example&password=another")->status, 429);
}
END_TEST

START_TEST(test_addresses_of_one_ipv6_64_share_the_sign_in_throttle)
{
    it_resp_t *r;

    /* 23 failures five minutes ago from 23 hosts of one /64: by exact
     * address none of them would ever add up. */
    it_sql("INSERT INTO login_attempts (email, ip, succeeded, created_at)"
           " SELECT 'v6spray' || g || '@x.example', ('2001:db8:64:1::' || to_hex(g))::inet, false,"
           "        now() - interval '5 minutes' FROM generate_series(1, 23) g", 0, NULL);
    /* One more now, through the proxy, stored as the visitor's address. */
    r = sign_in_from("2001:db8:64:1:aaaa::1", "email=v6spray-now%40x.example&password=wrong");
    ck_assert_int_eq(r->status, 401);
    ck_assert_str_eq(it_sql("SELECT host(ip) FROM login_attempts WHERE email = 'v6spray-now@x.example'",
                            0, NULL), "2001:db8:64:1:aaaa::1");
    /* 24 failures in the /64: another host of it waits, right password or not. */
    r = sign_in_from("2001:db8:64:1:bbbb:cccc:dddd:2", "email=owner%40coffee.example&password=owner+password+1");
    ck_assert_int_eq(r->status, 429);
    ck_assert_msg(apr_table_get(r->headers, "Retry-After") != NULL, "Retry-After");
    /* The next /64 is someone else. */
    r = sign_in_from("2001:db8:64:2::1", "email=owner%40coffee.example&password=owner+password+1");
    it_sql("DELETE FROM login_attempts WHERE ip <<= '2001:db8:64::/48'", 0, NULL);
    ck_assert_int_eq(r->status, 303);
}
END_TEST

static it_resp_t *post_from(const char *xff, const char *email)
{
    const char *hdrs[2] = { apr_pstrcat(it_pool, "X-Forwarded-For: ", xff, NULL), NULL };
    it_req_t q = { 0 };

    q.host = PROXIED_SITE;
    q.path = "/api/intake";
    q.content_type = "application/json";
    q.body = apr_psprintf(it_pool, "{\"name\":\"N\",\"email\":\"%s\",\"message\":\"via the proxy\"}",
                          email);
    q.headers = hdrs;
    return it_http(&q);
}

START_TEST(test_behind_a_trusted_proxy_each_visitor_has_its_own_intake_limit)
{
    const char *out = NULL;

    /* Every request comes from the proxy (127.0.0.1); mod_remoteip gives
     * each its visitor's address, and the per-IP limit (2 a minute on
     * this vhost) counts visitors, not the proxy. */
    it_clear_of_window_edge(60, 15);
    ck_assert_int_eq(post_from("198.51.100.31", "px1@c.example")->status, 201);
    ck_assert_int_eq(post_from("198.51.100.31", "px1@c.example")->status, 201);
    ck_assert_int_eq(post_from("198.51.100.31", "px1@c.example")->status, 429);
    ck_assert_int_eq(post_from("198.51.100.32", "px2@c.example")->status, 201);
    ck_assert_int_eq(post_from("2001:db8:31:1::1", "px3@c.example")->status, 201);
    ck_assert_int_eq(post_from("2001:db8:31:1::2", "px3@c.example")->status, 201);
    /* Same /64: the third post of that network. */
    ck_assert_int_eq(post_from("2001:db8:31:1::3", "px3@c.example")->status, 429);
    /* The shipped example for Cloudflare is a valid configuration. */
    ck_assert_msg(it_ctl("httpd-t -c 'Include conf/remoteip-cloudflare.conf.example'", &out) == 0,
                  "%s", out);
}
END_TEST

/* consult-admin with @p input on its stdin; its exit status, and its
 * output (stdout and stderr) in *pout. */
static int admin_stdin(const char *input, const char *args, const char **pout)
{
    const char *cmd = apr_psprintf(it_pool, "printf '%%s' '%s' | %s/consult-admin --db '%s' %s 2>&1",
                                   input, getenv("CS_TEST_BUILD"), getenv("CS_TEST_DATABASE"), args);
    FILE *f = popen(cmd, "r");
    char buf[4096];
    size_t n, len = 0;
    int st;

    ck_assert_ptr_nonnull(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    len = n;
    buf[len] = '\0';
    st = pclose(f);
    *pout = apr_pstrdup(it_pool, buf);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

START_TEST(test_user_add_reads_the_password_from_stdin_and_keeps_admin_and_disabled)
{
    const char *out = NULL, *q1 = "SELECT is_agency_admin::text || '/' || (disabled_at IS NOT NULL)::text"
                                  " FROM staff_users WHERE email = 'keep@agency.example'";

    /* A password on the command line (it would show in ps) is refused. */
    ck_assert_int_ne(admin_cmd("user-add keep@agency.example 'Kim Keep' 'argv password 1' 2>/dev/null"), 0);
    ck_assert_str_eq(it_sql(q1, 0, NULL), "");
    /* From stdin, as an agency admin. */
    ck_assert_int_eq(admin_stdin("first password 1\n", "user-add keep@agency.example 'Kim Keep'"
                                 " --password-stdin --admin", &out), 0);
    ck_assert_msg(strstr(out, "created") != NULL, "%s", out);
    ck_assert_str_eq(it_sql(q1, 0, NULL), "true/false");
    ck_assert_int_eq(sign_in_from("198.51.100.40", "email=keep%40agency.example&password=first+password+1")
                     ->status, 303);
    /* Again without --admin (a password reset): still an admin, and told so. */
    ck_assert_int_eq(admin_stdin("second password 2", "user-add keep@agency.example 'Kim Keep'"
                                 " --password-stdin", &out), 0);
    ck_assert_str_eq(it_sql(q1, 0, NULL), "true/false");
    ck_assert_msg(strstr(out, "password changed") && strstr(out, "still an agency admin"), "%s", out);
    ck_assert_int_eq(sign_in_from("198.51.100.40", "email=keep%40agency.example&password=second+password+2")
                     ->status, 303);
    /* A disabled account stays disabled unless --enable. */
    it_sql("UPDATE staff_users SET disabled_at = now() WHERE email = 'keep@agency.example'", 0, NULL);
    ck_assert_int_eq(admin_stdin("third password 3\n", "user-add keep@agency.example 'Kim Keep'"
                                 " --password-stdin", &out), 0);
    ck_assert_str_eq(it_sql(q1, 0, NULL), "true/true");
    ck_assert_msg(strstr(out, "still disabled") != NULL, "%s", out);
    ck_assert_int_eq(sign_in_from("198.51.100.40", "email=keep%40agency.example&password=third+password+3")
                     ->status, 401);
    ck_assert_int_eq(admin_stdin("third password 3\n", "user-add keep@agency.example 'Kim Keep'"
                                 " --password-stdin --enable --no-admin", &out), 0);
    ck_assert_str_eq(it_sql(q1, 0, NULL), "false/false");
    ck_assert_msg(strstr(out, "enabled") && strstr(out, "no longer an agency admin"), "%s", out);
    ck_assert_int_eq(sign_in_from("198.51.100.40", "email=keep%40agency.example&password=third+password+3")
                     ->status, 303);
    /* Too short, empty, or no way to read one: refused, nothing changed. */
    ck_assert_int_ne(admin_stdin("short\n", "user-add keep@agency.example 'Kim Keep' --password-stdin",
                                 &out), 0);
    ck_assert_int_ne(admin_stdin("", "user-add keep@agency.example 'Kim Keep' --password-stdin", &out), 0);
    ck_assert_int_ne(admin_stdin("fourth password 4\n", "user-add keep@agency.example 'Kim Keep'", &out), 0);
    ck_assert_msg(strstr(out, "--password-stdin") != NULL, "%s", out);
    ck_assert_int_ne(admin_stdin("fourth password 4\n", "user-add keep@agency.example 'Kim Keep'"
                                 " --password-stdin --admin --no-admin", &out), 0);
    ck_assert_str_eq(it_sql(q1, 0, NULL), "false/false");
    ck_assert_int_eq(sign_in_from("198.51.100.40", "email=keep%40agency.example&password=third+password+3")
                     ->status, 303);
}
END_TEST

START_TEST(test_corrections_export_names_the_client_and_stays_out_of_checkouts)
{
    const char *tmp = getenv("CS_TEST_TMP"), *cv, *msg, *out = NULL, *p[1], *file;
    char line[1024] = "";
    struct stat sb;
    FILE *f;

    cv = new_conversation("small.localhost", "corr@c.example", "the oat milk was sour again today");
    p[0] = cv;
    msg = it_sql("SELECT id FROM messages WHERE conversation_id = $1", 1, p);
    /* The vertical the message was classified with, when known. */
    p[0] = msg;
    it_sql("UPDATE messages SET classification = coalesce(classification, '{}'::jsonb)"
           " || '{\"vertical\": \"coffee_shop\"}' WHERE id = $1", 1, p);
    ck_assert_int_eq(admin_cmd(apr_psprintf(it_pool, "correct %s complaint high", msg)), 0);

    /* A file must be named; a git checkout (customers' words next to
     * code) is refused unless --force. */
    ck_assert_int_ne(admin_cmd("corrections-export 2>/dev/null"), 0);
    ck_assert_int_eq(system(apr_psprintf(it_pool, "mkdir -p %s/checkout/.git %s/checkout/common/classify",
                                         tmp, tmp)), 0);
    file = apr_psprintf(it_pool, "%s/checkout/common/classify/corrections.jsonl", tmp);
    ck_assert_int_ne(admin_stdin("", apr_psprintf(it_pool, "corrections-export %s", file), &out), 0);
    ck_assert_msg(strstr(out, "--force") != NULL, "%s", out);
    ck_assert_int_ne(stat(file, &sb), 0);
    ck_assert_int_eq(admin_cmd(apr_psprintf(it_pool, "corrections-export --force %s", file)), 0);
    ck_assert_int_eq(stat(file, &sb), 0);

    /* Outside a checkout: every line names its client (and its vertical
     * when known), readable by its owner only. */
    file = apr_psprintf(it_pool, "%s/corrections-scoped.jsonl", tmp);
    ck_assert_int_eq(admin_cmd(apr_psprintf(it_pool, "corrections-export %s", file)), 0);
    ck_assert_int_eq(stat(file, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 077, 0);
    f = fopen(file, "r");
    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof(line), f) && !strstr(line, "oat milk was sour")) {}
    fclose(f);
    ck_assert_msg(strstr(line, "\"client\":\"coffee-shop\"") && strstr(line, "\"vertical\":\"coffee_shop\"")
                  && strstr(line, "\"intent\":\"complaint\""), "exported: %s", line);
}
END_TEST

START_TEST(test_an_attachment_downloads_as_a_file_never_a_page)
{
    static const char png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0"
                              "\x1f\x15\xc4\x89\0\0\0\rIDATx\x9c" "c\xf8\x0f\0\0\x01\x01\0\x05";
    const char *head = "--B0\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\natt@c.example\r\n"
                       "--B0\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\nthe stain\r\n"
                       "--B0\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"sofa <1>.png\"\r\n"
                       "Content-Type: text/html\r\n\r\n";
    const char *tail = "\r\n--B0--\r\n", *id;
    apr_size_t n = strlen(head) + sizeof(png) - 1 + strlen(tail);
    char *body = apr_palloc(it_pool, n);
    sess_t *s = login("other%40other.example", "other+password+1");   /* cors.localhost's client */
    it_req_t q = { 0 };
    it_resp_t *r;

    memcpy(body, head, strlen(head));
    memcpy(body + strlen(head), png, sizeof(png) - 1);
    memcpy(body + strlen(head) + sizeof(png) - 1, tail, strlen(tail));
    q.host = "cors.localhost";
    q.path = "/api/intake";
    q.content_type = "multipart/form-data; boundary=B0";
    q.body = body;
    q.body_len = n;
    ck_assert_int_eq(it_http(&q)->status, 303);
    ck_assert(it_intake_settled(10));
    id = it_sql("SELECT a.id FROM attachments a JOIN submissions s ON s.id = a.submission_id"
                " WHERE s.email = 'att@c.example'", 0, NULL);
    ck_assert_msg(*id, "no attachment stored");
    r = req(ADMIN, "GET", apr_psprintf(it_pool, "/a/%s", id), s, NULL, 0, NULL);
    ck_assert_int_eq(r->status, 200);
    /* The type sniffed from the bytes, not the one declared. */
    ck_assert_str_eq(apr_table_get(r->headers, "Content-Type"), "image/png");
    ck_assert_msg(!strncmp(apr_table_get(r->headers, "Content-Disposition"), "attachment;", 11),
                  "%s", apr_table_get(r->headers, "Content-Disposition"));
    ck_assert_msg(strstr(apr_table_get(r->headers, "Content-Disposition"), "filename*=UTF-8''sofa%20%3C1%3E.png") != NULL,
                  "file name not encoded: %s", apr_table_get(r->headers, "Content-Disposition"));
    ck_assert_str_eq(apr_table_get(r->headers, "X-Content-Type-Options"), "nosniff");
    ck_assert_str_eq(apr_table_get(r->headers, "Content-Security-Policy"), "sandbox");
    ck_assert_int_eq((int)r->len, (int)sizeof(png) - 1);
    ck_assert_msg(memcmp(r->body, png, sizeof(png) - 1) == 0, "the bytes changed");
}
END_TEST

START_TEST(test_search_stems_english_and_spanish)
{
    sess_t *s = login("owner%40coffee.example", "owner+password+1");
    const char *en = new_conversation("small.localhost", "stem-en@c.example",
                                      "Do you cater weddings in the spring?");
    const char *es = new_conversation("small.localhost", "stem-es@c.example",
                                      "Necesito pasteles para la fiesta de mi hija");
    /* "catering" finds "cater"; "necesitamos" finds "necesito" (a Spanish
     * stem the English one does not make). */
    ck_assert_msg(strstr(req(ADMIN, "GET", "/?q=catering", s, NULL, 0, NULL)->body,
                         apr_psprintf(it_pool, "data-id=\"%s\"", en)) != NULL, "English stem");
    ck_assert_msg(strstr(req(ADMIN, "GET", "/?q=necesitamos", s, NULL, 0, NULL)->body,
                         apr_psprintf(it_pool, "data-id=\"%s\"", es)) != NULL, "Spanish stem");
    ck_assert_msg(strstr(req(ADMIN, "GET", "/?q=necesitamos", s, NULL, 0, NULL)->body,
                         apr_psprintf(it_pool, "data-id=\"%s\"", en)) == NULL, "unrelated match");
}
END_TEST

START_TEST(test_another_clients_ids_answer_404_never_data)
{
    sess_t *me = login("owner%40coffee.example", "owner+password+1");
    const char *theirs = new_conversation("other.localhost", "secret@other.example",
                                          "their private zebra message");
    const char *p[1] = { theirs }, *contact, *paths[5], *before, *attachment, *their_reply;
    int i;

    /* Let their message's own processing finish first, so any change seen
     * below could only come from our requests. */
    ck_assert_msg(it_wait_sql(apr_psprintf(it_pool, "SELECT bool_and(classified_at IS NOT NULL)"
                                           " FROM messages WHERE conversation_id = %s", theirs),
                              "t", 20), "their message was not processed");
    before = it_sql("SELECT status || unread::text || coalesce(assigned_to::text, '-')"
                    " FROM conversations WHERE id = $1", 1, p);
    contact = it_sql("SELECT contact_id FROM conversations WHERE id = $1", 1, p);
    /* A real file of theirs, so only the client check can refuse it. */
    attachment = it_sql("INSERT INTO attachments (client_id, submission_id, field, filename,"
                        " content_type, size, sha256, data) SELECT s.client_id, s.id, 'file',"
                        " 'zebra.txt', 'text/plain', 5, repeat('0', 64), 'zebra'::bytea"
                        " FROM submissions s JOIN messages m ON m.id = s.message_id"
                        " WHERE m.conversation_id = $1 RETURNING id", 1, p);
    paths[0] = apr_psprintf(it_pool, "/c/%s", theirs);
    paths[1] = apr_psprintf(it_pool, "/contacts/%s", contact);
    paths[2] = apr_psprintf(it_pool, "/a/%s", attachment);
    paths[3] = apr_psprintf(it_pool, "/c/%s/how?channel=email", theirs);
    paths[4] = apr_psprintf(it_pool, "/c/%s/messages", theirs);
    for (i = 0; i < 5; i++) {
        it_resp_t *r = req(ADMIN, "GET", paths[i], me, NULL, 0, NULL);
        ck_assert_msg(r->status == 404, "GET %s -> %ld", paths[i], r->status);
        ck_assert_msg(strstr(r->body, "zebra") == NULL && strstr(r->body, "secret@") == NULL,
                      "leaked data on %s", paths[i]);
    }
    {
        const char *actions[] = { "archive", "spam", "read", "unread", "open", "notspam", "seen" };
        for (i = 0; i < 7; i++) {
            ck_assert_int_eq(req(ADMIN, "POST", apr_psprintf(it_pool, "/c/%s/%s", theirs, actions[i]),
                                 me, "", 1, NULL)->status, 404);
        }
        ck_assert_int_eq(req(ADMIN, "POST", apr_psprintf(it_pool, "/c/%s/note", theirs), me,
                             "body=hi", 1, NULL)->status, 404);
        ck_assert_int_eq(req(ADMIN, "POST", apr_psprintf(it_pool, "/c/%s/reply", theirs), me,
                             "channel=auto&body=hi", 1, NULL)->status, 404);
        ck_assert_int_eq(req(ADMIN, "POST", apr_psprintf(it_pool, "/c/%s/act", theirs), me,
                             "action=archive", 1, NULL)->status, 404);
        ck_assert_int_eq(req(ADMIN, "POST", apr_psprintf(it_pool, "/c/%s/assign", theirs), me,
                             apr_psprintf(it_pool, "assignee=%s", it_sql(
                                 "SELECT id FROM staff_users WHERE email = 'owner@coffee.example'",
                                 0, NULL)), 1, NULL)->status, 404);
        ck_assert_int_eq(req(ADMIN, "POST", apr_psprintf(it_pool, "/c/%s/intent", theirs), me,
                             "intent=spam", 1, NULL)->status, 404);
        ck_assert_int_eq(req(ADMIN, "POST", apr_psprintf(it_pool, "/contacts/%s/edit", contact), me,
                             "name=Hacked&email=h%40h.example", 1, NULL)->status, 404);
        ck_assert_int_eq(req(ADMIN, "POST", apr_psprintf(it_pool, "/contacts/%s/note", contact), me,
                             "body=hi", 1, NULL)->status, 404);
    }
    /* Merging their contact into one of ours, or ours into theirs, changes nothing. */
    {
        const char *mine = new_conversation("small.localhost", "mine@c.example", "mine");
        const char *q1[1] = { mine };
        const char *mc = it_sql("SELECT contact_id FROM conversations WHERE id = $1", 1, q1);
        ck_assert_int_eq(req(ADMIN, "POST", apr_psprintf(it_pool, "/contacts/%s/merge", mc), me,
                             apr_psprintf(it_pool, "other=%s", contact), 1, NULL)->status, 404);
        ck_assert_int_eq(req(ADMIN, "POST", apr_psprintf(it_pool, "/contacts/%s/merge", contact), me,
                             apr_psprintf(it_pool, "other=%s", mc), 1, NULL)->status, 404);
        q1[0] = mc;
        ck_assert_str_eq(it_sql("SELECT count(*) FROM contacts WHERE id = $1", 1, q1), "1");
    }
    /* Their saved reply cannot be deleted from our session. */
    their_reply = it_sql("INSERT INTO saved_replies (client_id, title, body) SELECT id, 'Theirs',"
                         " 'their text' FROM clients WHERE slug = 'other-client' RETURNING id", 0, NULL);
    ck_assert_int_eq(req(ADMIN, "POST", "/replies", me, apr_psprintf(it_pool, "delete=%s", their_reply),
                         1, NULL)->status, 404);
    {
        const char *q2[1] = { their_reply };
        ck_assert_str_eq(it_sql("SELECT count(*) FROM saved_replies WHERE id = $1", 1, q2), "1");
    }
    ck_assert_str_eq(it_sql("SELECT status || unread::text || coalesce(assigned_to::text, '-')"
                            " FROM conversations WHERE id = $1", 1, p), before);
    ck_assert_str_eq(it_sql("SELECT count(*) FROM notes WHERE conversation_id = $1", 1, p), "0");
    ck_assert_str_eq(it_sql("SELECT count(*) FROM messages WHERE conversation_id = $1"
                            " AND direction = 'outbound'", 1, p), "0");
    ck_assert_str_eq(it_sql("SELECT count(*) FROM audit_log WHERE target_id = $1"
                            " AND target_type = 'conversation'", 1, p), "0");
    p[0] = contact;
    ck_assert_str_eq(it_sql("SELECT coalesce(name, '') FROM contacts WHERE id = $1", 1, p), "N");
    /* Search does not reach across either; nor does switching client. */
    ck_assert_msg(strstr(req(ADMIN, "GET", "/?q=zebra", me, NULL, 0, NULL)->body, "conv-row") == NULL,
                  "search leaked");
    ck_assert_int_eq(req(ADMIN, "POST", "/switch", me, "client=other-client", 1, NULL)->status, 404);
    ck_assert_msg(strstr(req(ADMIN, "GET", "/export.csv", me, NULL, 0, NULL)->body, "zebra") == NULL,
                  "export leaked");
}
END_TEST

START_TEST(test_agency_admin_switches_between_clients)
{
    sess_t *a = login("admin%40agency.example", "agency+password+1");
    new_conversation("other.localhost", "switch@other.example", "switching works okapi");
    ck_assert_int_eq(req(ADMIN, "POST", "/switch", a, "client=other-client", 1, NULL)->status, 303);
    ck_assert_msg(strstr(req(ADMIN, "GET", "/?q=okapi", a, NULL, 0, NULL)->body, "conv-row") != NULL,
                  "admin does not see the other client after switching");
}
END_TEST

START_TEST(test_stored_markup_is_escaped_everywhere)
{
    sess_t *s = login("owner%40coffee.example", "owner+password+1");
    const char *cv = new_conversation("small.localhost", "xss@c.example",
                                      "<script>alert(1)</script><img src=x onerror=alert(2)>");
    it_resp_t *list = req(ADMIN, "GET", "/", s, NULL, 0, NULL);
    it_resp_t *panel = req(ADMIN, "GET", apr_psprintf(it_pool, "/c/%s", cv), s, NULL, 0, NULL);
    ck_assert_int_eq(panel->status, 200);
    ck_assert_msg(strstr(list->body, "<script>alert") == NULL && strstr(list->body, "<img src=x") == NULL,
                  "raw markup in the list");
    ck_assert_msg(strstr(panel->body, "&lt;script&gt;alert(1)") != NULL, "not escaped in the panel");
    ck_assert_msg(strstr(panel->body, "<img src=x") == NULL, "raw img in the panel");
}
END_TEST

START_TEST(test_staff_cannot_export_owners_can_and_formulas_are_defused)
{
    sess_t *staff = login("staff%40coffee.example", "staff+password+1");
    sess_t *owner = login("owner%40coffee.example", "owner+password+1");
    it_resp_t *r;
    new_conversation("small.localhost", "csv@c.example", "=HYPERLINK(\\\"http://x\\\")");
    ck_assert_int_eq(req(ADMIN, "GET", "/export.csv", staff, NULL, 0, NULL)->status, 403);
    ck_assert_int_eq(req(ADMIN, "GET", "/audit", staff, NULL, 0, NULL)->status, 403);
    r = req(ADMIN, "GET", "/export.csv", owner, NULL, 0, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_msg(!strncmp(r->body, "message_id,created_utc", 22), "%s", r->body);
    ck_assert_msg(strstr(r->body, "\"'=HYPERLINK") != NULL, "formula not defused");
    /* The contacts, with their SMS opt-out, as a file of their own. */
    ck_assert_int_eq(req(ADMIN, "GET", "/export-contacts.csv", staff, NULL, 0, NULL)->status, 403);
    r = req(ADMIN, "GET", "/export-contacts.csv", owner, NULL, 0, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_msg(!strncmp(r->body, "contact_id,name,email,phone,sms_opted_out", 41), "%s", r->body);
    ck_assert_msg(strstr(r->body, "\"csv@c.example\"") != NULL, "contact missing: %s", r->body);
    ck_assert_msg(strstr(apr_table_get(r->headers, "Content-Disposition"), "coffee-shop-contacts.csv")
                  != NULL, "file name");
    ck_assert_msg(strstr(r->body, "secret@other.example") == NULL, "another client's contact");
}
END_TEST

START_TEST(test_merge_joins_timelines_and_keeps_everything)
{
    sess_t *s = login("owner%40coffee.example", "owner+password+1");
    const char *a = new_conversation("small.localhost", "merge-a@c.example", "first from a");
    const char *b = new_conversation("small.localhost", "merge-b@c.example", "first from b");
    const char *pa[1] = { a }, *pb[1] = { b }, *ca, *cb, *pc[1];
    ca = it_sql("SELECT contact_id FROM conversations WHERE id = $1", 1, pa);
    cb = it_sql("SELECT contact_id FROM conversations WHERE id = $1", 1, pb);
    ck_assert_int_eq(req(ADMIN, "POST", apr_psprintf(it_pool, "/contacts/%s/merge", ca), s,
                         apr_psprintf(it_pool, "other=%s", cb), 1, NULL)->status, 303);
    pc[0] = ca;
    ck_assert_str_eq(it_sql("SELECT string_agg(m.body, ',' ORDER BY m.id) FROM conversations c"
                            " JOIN messages m ON m.conversation_id = c.id WHERE c.contact_id = $1",
                            1, pc), "first from a,first from b");
    pc[0] = cb;
    ck_assert_str_eq(it_sql("SELECT count(*) FROM contacts WHERE id = $1", 1, pc), "0");
    pc[0] = ca;
    ck_assert_str_eq(it_sql("SELECT count(*) FROM submissions WHERE contact_id = $1", 1, pc), "2");
}
END_TEST

START_TEST(test_merge_keeps_the_other_address_and_its_sms_opt_out)
{
    sess_t *s = login("owner%40coffee.example", "owner+password+1");
    const char *a = new_conversation("small.localhost", "keep-a@c.example", "hello from a");
    const char *b = new_conversation("small.localhost", "drop-b@c.example", "hello from b");
    const char *pa[1] = { a }, *pb[1] = { b }, *ca, *cb, *p[1];
    it_resp_t *r;

    ca = it_sql("SELECT contact_id FROM conversations WHERE id = $1", 1, pa);
    cb = it_sql("SELECT contact_id FROM conversations WHERE id = $1", 1, pb);
    /* b also texted from a number that replied STOP. */
    p[0] = cb;
    it_sql("UPDATE contacts SET phone = '+15035550177', sms_opted_out = true,"
           " sms_opted_out_at = now() WHERE id = $1", 1, p);
    ck_assert_int_eq(req(ADMIN, "POST", apr_psprintf(it_pool, "/contacts/%s/merge", ca), s,
                         apr_psprintf(it_pool, "other=%s", cb), 1, NULL)->status, 303);
    /* The kept contact texts b's number now, so it keeps b's STOP. */
    p[0] = ca;
    ck_assert_str_eq(it_sql("SELECT email || '|' || phone || '|' || sms_opted_out::text"
                            " FROM contacts WHERE id = $1", 1, p),
                     "keep-a@c.example|+15035550177|true");
    /* b's address is kept and shown; a new post from it joins the same thread. */
    r = req(ADMIN, "GET", apr_psprintf(it_pool, "/contacts/%s", ca), s, NULL, 0, NULL);
    ck_assert_msg(strstr(r->body, "Merged into this contact") && strstr(r->body, "drop-b@c.example"),
                  "the merged address is not shown");
    ck_assert_str_eq(new_conversation("small.localhost", "DROP-B@c.example", "me again"), a);
    ck_assert_str_eq(it_sql("SELECT count(*) FROM contacts WHERE lower(email) = 'drop-b@c.example'",
                            0, NULL), "0");
    /* Even edited back onto the contact, that number stays opted out. */
    it_sql("UPDATE contacts SET phone = NULL, sms_opted_out = false WHERE id = $1", 1, p);
    ck_assert_int_eq(req(ADMIN, "POST", apr_psprintf(it_pool, "/contacts/%s/edit", ca), s,
                         "name=Kept&email=keep-a%40c.example&phone=%2B15035550177", 1, NULL)->status, 303);
    ck_assert_str_eq(it_sql("SELECT sms_opted_out::text FROM contacts WHERE id = $1", 1, p), "true");
    /* The activity log says what changed. */
    r = req(ADMIN, "GET", "/audit", s, NULL, 0, NULL);
    ck_assert_msg(strstr(r->body, apr_psprintf(it_pool, "merged: %s", cb)) != NULL, "merge detail");
    ck_assert_msg(strstr(r->body, "phone: +15035550177") != NULL, "edit detail");
    /* A name too long is refused, not silently erased. */
    ck_assert_int_eq(req(ADMIN, "POST", apr_psprintf(it_pool, "/contacts/%s/edit", ca), s,
                         apr_psprintf(it_pool, "name=%0201d&email=keep-a%%40c.example", 0), 1,
                         NULL)->status, 400);
    ck_assert_str_eq(it_sql("SELECT name FROM contacts WHERE id = $1", 1, p), "Kept");
}
END_TEST

/* Whether the list page for @p query shows conversation @p cv. */
static int listed(sess_t *s, const char *query, const char *cv)
{
    it_resp_t *r = req(ADMIN, "GET", query, s, NULL, 0, NULL);
    ck_assert_int_eq(r->status, 200);
    return strstr(r->body, apr_psprintf(it_pool, "data-id=\"%s\"", cv)) != NULL;
}

START_TEST(test_chips_and_filters_follow_the_customer_not_our_reply)
{
    sess_t *s = login("owner%40coffee.example", "owner+password+1");
    const char *cv = new_conversation("small.localhost", "chips@c.example",
                                      "My order was cold and the barista was rude, I want a refund");
    const char *p[1] = { cv }, *intent, *other;
    it_resp_t *r;

    intent = it_sql("SELECT intent FROM messages WHERE conversation_id = $1", 1, p);
    other = strcmp(intent, "question") ? "question" : "complaint";
    /* Staff answered by email: the newest message is ours. */
    it_sql("INSERT INTO messages (client_id, conversation_id, channel, direction, body)"
           " SELECT client_id, id, 'email', 'outbound', 'So sorry, refund on its way' FROM conversations"
           " WHERE id = $1", 1, p);
    it_sql("UPDATE conversations SET last_message_at = now() WHERE id = $1", 1, p);
    r = req(ADMIN, "GET", "/?q=barista", s, NULL, 0, NULL);
    ck_assert_msg(strstr(r->body, "You: So sorry, refund on its way") != NULL, "preview: %s", r->body);
    ck_assert_msg(strstr(r->body, apr_psprintf(it_pool, "intent-%s", intent)) != NULL,
                  "the intent chip went away after the reply");
    ck_assert_msg(listed(s, apr_psprintf(it_pool, "/?intent=%s", intent), cv), "intent filter");
    ck_assert_msg(!listed(s, apr_psprintf(it_pool, "/?intent=%s", other), cv), "wrong intent listed");
    ck_assert_msg(listed(s, "/?channel=form", cv), "channel filter: the customer wrote by form");
    ck_assert_msg(!listed(s, "/?channel=email", cv), "channel filter took our reply's channel");
    /* Assigned to me, and only then. */
    ck_assert_msg(!listed(s, "/?mine=1", cv), "unassigned thread listed as mine");
    ck_assert_int_eq(req(ADMIN, "POST", apr_psprintf(it_pool, "/c/%s/assign", cv), s,
                         apr_psprintf(it_pool, "assignee=%s", it_sql(
                             "SELECT id FROM staff_users WHERE email = 'owner@coffee.example'",
                             0, NULL)), 1, NULL)->status, 303);
    ck_assert_msg(listed(s, "/?mine=1", cv), "assigned thread not listed as mine");
}
END_TEST

START_TEST(test_list_filters_search_and_keyset_pages)
{
    sess_t *s = login_on("smallpage.localhost", "owner%40coffee.example", "owner+password+1");
    it_resp_t *r;
    const char *more;
    int i, rows = 0;
    const char *at;

    for (i = 0; i < 7; i++) {
        new_conversation("small.localhost", apr_psprintf(it_pool, "page%d@c.example", i),
                         apr_psprintf(it_pool, "paging llamas %d", i));
    }
    r = req("smallpage.localhost", "GET", "/?q=llamas", s, NULL, 0, NULL);
    for (at = r->body; (at = strstr(at, "class=\"conv-row")); at++) rows++;
    ck_assert_int_eq(rows, 5);
    /* A refresh after "load more" keeps the rows shown. */
    {
        it_resp_t *rr = req("smallpage.localhost", "GET", "/inbox/list?status=open&q=llamas&rows=7",
                            s, NULL, 0, NULL);
        int shown = 0;
        for (at = rr->body; (at = strstr(at, "class=\"conv-row")); at++) shown++;
        ck_assert_int_eq(shown, 7);
    }
    more = strstr(r->body, "before=");
    ck_assert_msg(more != NULL, "no load-more link");
    more = apr_pstrndup(it_pool, more, strcspn(more, "\"&"));
    r = req("smallpage.localhost", "GET", apr_pstrcat(it_pool, "/inbox/list?status=open&q=llamas&", more, NULL),
            s, NULL, 0, NULL);
    /* Not htmx: the full page with the next rows. */
    rows = 0;
    for (at = r->body; (at = strstr(at, "class=\"conv-row")); at++) rows++;
    ck_assert_int_eq(rows, 2);
    ck_assert_msg(strstr(r->body, "paging llamas 0") != NULL, "oldest missing on page 2");
    /* Stemmed search in Spanish and English both find messages. */
    new_conversation("small.localhost", "es@c.example", "necesitamos cotizaciones para mudanzas");
    r = req(ADMIN, "GET", "/?q=mudanza", login("owner%40coffee.example", "owner+password+1"), NULL, 0, NULL);
    ck_assert_msg(strstr(r->body, "mudanzas") != NULL, "Spanish stemming");
}
END_TEST

static const char *contact_of(const char *cv)
{
    const char *p[1] = { cv };
    return it_sql("SELECT contact_id FROM conversations WHERE id = $1", 1, p);
}

START_TEST(test_ids_with_leading_zeros_are_the_same_ids_and_stay_audited)
{
    sess_t *s = login("owner%40coffee.example", "owner+password+1");
    const char *a = new_conversation("small.localhost", "zero-a@c.example", "zeros from a");
    const char *b = new_conversation("small.localhost", "zero-b@c.example", "zeros from b");
    const char *ca = contact_of(a), *cb = contact_of(b), *me, *p[2];
    it_resp_t *r;

    me = it_sql("SELECT id FROM staff_users WHERE email = 'owner@coffee.example'", 0, NULL);
    /* "000<id>" is contact <id>: merged, and the merge is in the log. */
    r = req(ADMIN, "POST", apr_psprintf(it_pool, "/contacts/000%s/merge", ca), s,
            apr_psprintf(it_pool, "other=00%s", cb), 1, NULL);
    ck_assert_int_eq(r->status, 303);
    p[0] = cb;
    ck_assert_str_eq(it_sql("SELECT count(*) FROM contacts WHERE id = $1", 1, p), "0");
    p[0] = ca;
    p[1] = cb;
    ck_assert_str_eq(it_sql("SELECT count(*) FROM audit_log WHERE action = 'contact_merge'"
                            " AND target_id = $1 AND detail->>'merged' = $2", 2, p), "1");
    ck_assert_str_eq(apr_table_get(r->headers, "Location"), apr_psprintf(it_pool, "/contacts/%s", ca));
    /* Assigned to "000<me>": the same person, logged as such. */
    r = req(ADMIN, "POST", apr_psprintf(it_pool, "/c/0%s/assign", a), s,
            apr_psprintf(it_pool, "assignee=000%s", me), 1, NULL);
    ck_assert_int_eq(r->status, 303);
    ck_assert_str_eq(apr_table_get(r->headers, "Location"), apr_psprintf(it_pool, "/c/%s", a));
    p[0] = a;
    p[1] = me;
    ck_assert_str_eq(it_sql("SELECT assigned_to FROM conversations WHERE id = $1", 1, p), me);
    ck_assert_str_eq(it_sql("SELECT count(*) FROM audit_log WHERE action = 'assign'"
                            " AND target_id = $1 AND detail->>'assignee' = $2", 2, p), "1");
    ck_assert_int_eq(req(ADMIN, "GET", apr_psprintf(it_pool, "/c/00%s", a), s, NULL, 0, NULL)->status,
                     200);
    /* Zero and numbers past bigint are no ids: refused, never a 500. */
    ck_assert_int_eq(req(ADMIN, "GET", "/c/0", s, NULL, 0, NULL)->status, 404);
    ck_assert_int_eq(req(ADMIN, "GET", "/c/000", s, NULL, 0, NULL)->status, 404);
    ck_assert_int_eq(req(ADMIN, "GET", "/c/9223372036854775807", s, NULL, 0, NULL)->status, 404);
    ck_assert_int_eq(req(ADMIN, "GET", "/c/9223372036854775808", s, NULL, 0, NULL)->status, 404);
    ck_assert_int_eq(req(ADMIN, "POST", apr_psprintf(it_pool, "/contacts/%s/merge", ca), s,
                         "other=0", 1, NULL)->status, 400);
    ck_assert_int_eq(req(ADMIN, "POST", apr_psprintf(it_pool, "/contacts/%s/merge", ca), s,
                         "other=9223372036854775808", 1, NULL)->status, 400);
    ck_assert_int_eq(req(ADMIN, "POST", apr_psprintf(it_pool, "/c/%s/assign", a), s,
                         "assignee=0", 1, NULL)->status, 400);
    ck_assert_int_eq(req(ADMIN, "POST", "/replies", s, "delete=00", 1, NULL)->status, 400);
    /* A cursor whose id is past bigint is ignored, as any malformed one. */
    ck_assert_int_eq(req(ADMIN, "GET", "/?before=2026-01-01T00:00:00.000000Z_99999999999999999999",
                         s, NULL, 0, NULL)->status, 200);
}
END_TEST

START_TEST(test_an_action_whose_audit_row_cannot_be_written_is_undone)
{
    const char *a, *b, *ca, *cb, *who, *att, *p[2];
    sess_t *s;
    it_resp_t *r;

    ck_assert_int_eq(user_add("unlogged@coffee.example 'Una Unlogged'", "unlogged password 1"), 0);
    ck_assert_int_eq(admin_cmd("member-add unlogged@coffee.example coffee-shop owner"), 0);
    s = login("unlogged%40coffee.example", "unlogged+password+1");
    a = new_conversation("small.localhost", "undo-a@c.example", "undo from a");
    b = new_conversation("small.localhost", "undo-b@c.example", "undo from b");
    ca = contact_of(a);
    cb = contact_of(b);
    who = it_sql("SELECT id FROM staff_users WHERE email = 'unlogged@coffee.example'", 0, NULL);
    att = it_sql("INSERT INTO attachments (client_id, submission_id, field, filename, content_type,"
                 " size, sha256, data) SELECT s.client_id, s.id, 'file', 'undo.txt', 'text/plain', 11,"
                 " encode(sha256('secret text'::bytea), 'hex'), 'secret text'::bytea"
                 " FROM submissions s WHERE s.email = 'undo-a@c.example' RETURNING id", 0, NULL);
    /* From now on this person's audit rows cannot be written (only theirs,
     * should the test stop half-way). */
    it_sql(apr_psprintf(it_pool, "ALTER TABLE audit_log ADD CONSTRAINT test_unlogged"
                        " CHECK (user_id IS DISTINCT FROM %s) NOT VALID", who), 0, NULL);

    /* A merge that cannot be recorded is undone: nothing merged. */
    r = req(ADMIN, "POST", apr_psprintf(it_pool, "/contacts/%s/merge", ca), s,
            apr_psprintf(it_pool, "other=%s", cb), 1, NULL);
    ck_assert_int_eq(r->status, 500);
    p[0] = cb;
    ck_assert_str_eq(it_sql("SELECT count(*) FROM contacts WHERE id = $1", 1, p), "1");
    ck_assert_str_eq(it_sql("SELECT count(*) FROM contact_aliases WHERE merged_id = $1", 1, p), "0");
    p[0] = b;
    ck_assert_str_eq(it_sql("SELECT contact_id FROM conversations WHERE id = $1", 1, p), cb);
    /* Nor any other action, with or without htmx. */
    p[0] = a;
    ck_assert_int_eq(req(ADMIN, "POST", apr_psprintf(it_pool, "/c/%s/archive", a), s, "", 1,
                         NULL)->status, 500);
    ck_assert_str_eq(it_sql("SELECT status FROM conversations WHERE id = $1", 1, p), "open");
    ck_assert_int_eq(hx(s, "POST", apr_psprintf(it_pool, "/c/%s/note", a), "body=lost", 1)->status, 500);
    ck_assert_str_eq(it_sql("SELECT count(*) FROM notes WHERE conversation_id = $1", 1, p), "0");
    ck_assert_int_eq(seen(s, a, 1)->status, 500);
    ck_assert_str_eq(it_sql("SELECT unread::text FROM conversations WHERE id = $1", 1, p), "true");
    p[0] = ca;
    ck_assert_int_eq(req(ADMIN, "POST", apr_psprintf(it_pool, "/contacts/%s/edit", ca), s,
                         "name=Changed&email=undo-a%40c.example", 1, NULL)->status, 500);
    ck_assert_str_eq(it_sql("SELECT name FROM contacts WHERE id = $1", 1, p), "N");
    ck_assert_int_eq(req(ADMIN, "POST", "/replies", s, "title=Unlogged&body=never+kept", 1,
                         NULL)->status, 500);
    ck_assert_str_eq(it_sql("SELECT count(*) FROM saved_replies WHERE title = 'Unlogged'", 0, NULL), "0");
    /* What would leave unrecorded does not leave. */
    r = req(ADMIN, "GET", "/export.csv", s, NULL, 0, NULL);
    ck_assert_int_eq(r->status, 500);
    ck_assert_msg(strstr(r->body, "message_id,") == NULL, "exported unrecorded");
    r = req(ADMIN, "GET", "/export-contacts.csv", s, NULL, 0, NULL);
    ck_assert_int_eq(r->status, 500);
    ck_assert_msg(strstr(r->body, "contact_id,") == NULL, "exported unrecorded");
    r = req(ADMIN, "GET", apr_psprintf(it_pool, "/a/%s", att), s, NULL, 0, NULL);
    ck_assert_int_eq(r->status, 500);
    ck_assert_msg(strstr(r->body, "secret text") == NULL, "downloaded unrecorded");

    /* Recorded again, the same requests work and are in the log. */
    it_sql("ALTER TABLE audit_log DROP CONSTRAINT test_unlogged", 0, NULL);
    ck_assert_int_eq(req(ADMIN, "POST", apr_psprintf(it_pool, "/contacts/%s/merge", ca), s,
                         apr_psprintf(it_pool, "other=%s", cb), 1, NULL)->status, 303);
    r = req(ADMIN, "GET", apr_psprintf(it_pool, "/a/%s", att), s, NULL, 0, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_msg(r->len == 11 && !memcmp(r->body, "secret text", 11), "download");
    p[0] = who;
    ck_assert_str_eq(it_sql("SELECT string_agg(action, ',' ORDER BY id) FROM audit_log"
                            " WHERE user_id = $1", 1, p), "contact_merge,download");
}
END_TEST

START_TEST(test_an_answer_is_sent_only_after_its_commit)
{
    sess_t *s = login("owner%40coffee.example", "owner+password+1");
    const char *cv = new_conversation("small.localhost", "commit@c.example", "Commit first");
    const char *p[1] = { cv };
    it_resp_t *r;

    /* A note that every statement accepts and only COMMIT refuses (a
     * deferred check): the panel showing it must not have gone out. */
    it_sql("CREATE FUNCTION test_refuse_at_commit() RETURNS trigger LANGUAGE plpgsql"
           " AS $$BEGIN RAISE EXCEPTION 'refused at commit'; END$$", 0, NULL);
    it_sql("CREATE CONSTRAINT TRIGGER test_refuse_at_commit AFTER INSERT ON notes"
           " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.body = 'kept until commit')"
           " EXECUTE FUNCTION test_refuse_at_commit()", 0, NULL);
    r = hx(s, "POST", apr_psprintf(it_pool, "/c/%s/note", cv), "body=kept+until+commit", 1);
    it_sql("DROP TRIGGER test_refuse_at_commit ON notes", 0, NULL);
    it_sql("DROP FUNCTION test_refuse_at_commit()", 0, NULL);
    ck_assert_int_eq(r->status, 500);
    ck_assert_msg(strstr(r->body, "kept until commit") == NULL, "the panel went out before COMMIT");
    ck_assert_str_eq(it_sql("SELECT count(*) FROM notes WHERE conversation_id = $1", 1, p), "0");
    ck_assert_str_eq(it_sql("SELECT count(*) FROM audit_log WHERE target_id = $1"
                            " AND action = 'note'", 1, p), "0");
    /* Committed, the same note comes back in the panel. */
    r = hx(s, "POST", apr_psprintf(it_pool, "/c/%s/note", cv), "body=kept+until+commit", 1);
    ck_assert_int_eq(r->status, 200);
    ck_assert_msg(strstr(r->body, "kept until commit") != NULL, "%s", r->body);
    ck_assert_str_eq(it_sql("SELECT count(*) FROM audit_log WHERE target_id = $1"
                            " AND action = 'note'", 1, p), "1");
}
END_TEST

START_TEST(test_a_phone_typed_on_the_dashboard_is_read_in_the_clients_region)
{
    sess_t *a = login("admin%40agency.example", "agency+password+1");
    const char *mx = new_conversation("mx.localhost", "cliente@mx.example", "Hola, quiero una cita");
    const char *us = new_conversation("small.localhost", "region-us@c.example", "Call me back");
    const char *p[1];

    /* A national Mexican number gets +52, as the client's own forms read it
     * (ConsultPhoneRegion MX on its site). */
    ck_assert_int_eq(req(ADMIN, "POST", "/switch", a, "client=mx-client", 1, NULL)->status, 303);
    p[0] = contact_of(mx);
    ck_assert_int_eq(req(ADMIN, "POST", apr_psprintf(it_pool, "/contacts/%s/edit", p[0]), a,
                         "name=Cliente&email=cliente%40mx.example&phone=55+1234+5678", 1,
                         NULL)->status, 303);
    ck_assert_str_eq(it_sql("SELECT phone FROM contacts WHERE id = $1", 1, p), "+525512345678");
    /* The coffee shop's are read as American ones still. */
    ck_assert_int_eq(req(ADMIN, "POST", "/switch", a, "client=coffee-shop", 1, NULL)->status, 303);
    p[0] = contact_of(us);
    ck_assert_int_eq(req(ADMIN, "POST", apr_psprintf(it_pool, "/contacts/%s/edit", p[0]), a,
                         "name=Us&email=region-us%40c.example&phone=503+555+0142", 1,
                         NULL)->status, 303);
    ck_assert_str_eq(it_sql("SELECT phone FROM contacts WHERE id = $1", 1, p), "+15035550142");
}
END_TEST

START_TEST(test_a_long_search_is_cut_between_characters_and_non_text_answers_400)
{
    sess_t *s = login("owner%40coffee.example", "owner+password+1");
    const char *cv = new_conversation("small.localhost", "cut@c.example", "Do quokkas drink coffee?");
    char pad[190];
    const char *q;
    it_resp_t *r;

    /* 10 + 189 bytes, then a two-byte "é" across the 200-byte cut: the
     * search keeps the 199 bytes before it, and still finds the thread. */
    memset(pad, 'a', 189);
    pad[189] = '\0';
    q = apr_pstrcat(it_pool, "quokka+or+", pad, "%C3%A9", NULL);
    ck_assert_msg(listed(s, apr_pstrcat(it_pool, "/?q=", q, NULL), cv), "the cut search");
    r = hx(s, "GET", apr_pstrcat(it_pool, "/inbox/list?status=open&q=", q, NULL), NULL, 0);
    ck_assert_int_eq(r->status, 200);
    ck_assert_msg(strstr(r->body, apr_psprintf(it_pool, "data-id=\"%s\"", cv)) != NULL, "htmx list");
    /* Bytes that are not UTF-8 text: the dashboard's error, not a 500. */
    r = req(ADMIN, "GET", "/?q=caf%E9", s, NULL, 0, NULL);
    ck_assert_int_eq(r->status, 400);
    ck_assert_msg(strstr(r->body, "The search is not valid text") != NULL, "%s", r->body);
    r = hx(s, "GET", "/inbox/list?status=open&q=%FF%FE", NULL, 0);
    ck_assert_int_eq(r->status, 400);
    ck_assert_msg(strstr(r->body, "role=\"alert\"") != NULL && strstr(r->body, "<html") == NULL,
                  "not a fragment: %s", r->body);
    ck_assert_int_eq(req(ADMIN, "GET", apr_psprintf(it_pool, "/c/%s?q=%%C3", cv), s, NULL, 0,
                         NULL)->status, 400);
    ck_assert_int_eq(req(ADMIN, "GET", "/?q=tab%01", s, NULL, 0, NULL)->status, 400);
    /* Real text in any script is searched as typed. */
    ck_assert_int_eq(req(ADMIN, "GET", "/?q=caf%C3%A9+%E2%98%95", s, NULL, 0, NULL)->status, 200);
}
END_TEST

START_TEST(test_a_signed_in_page_while_postgres_is_down_answers_503_not_a_crash)
{
    sess_t *s = login("owner%40coffee.example", "owner+password+1");
    const char *out = NULL;
    it_resp_t *r;

    ck_assert_msg(it_ctl("pg-stop", &out) == 0, "%s", out);
    r = req(ADMIN, "GET", "/", s, NULL, 0, NULL);
    ck_assert_int_eq(r->status, 503);
    r = req(ADMIN, "GET", "/inbox/list", s, NULL, 0, NULL);
    ck_assert_int_eq(r->status, 503);
    ck_assert_msg(it_ctl("pg-start", &out) == 0, "%s", out);
    /* The child that answered is still there, and so is the session. */
    ck_assert_int_eq(req(ADMIN, "GET", "/", s, NULL, 0, NULL)->status, 200);
}
END_TEST


/* Journal-first intake: a post is answered once its journal row is
 * committed, before the worker files it. While filing waits (here: on a
 * lock of the conversation it joins), nothing is lost, the inbox says a
 * message is arriving, /consult/health counts it, and it is filed the
 * moment the lock goes. */
START_TEST(test_a_post_is_acknowledged_before_it_is_filed_and_shown_as_arriving)
{
    const char *cv = new_conversation("small.localhost", "slow@arrive.example", "first");
    const char *body = "second, while filing waits";
    sess_t *s = login("owner%40coffee.example", "owner+password+1");
    PGconn *hold = PQconnectdb(getenv("CS_TEST_DATABASE"));
    it_req_t q = { 0 }, h = { 0 };
    PGresult *res;
    it_resp_t *r;

    ck_assert(PQstatus(hold) == CONNECTION_OK);
    PQclear(PQexec(hold, "BEGIN"));
    res = PQexec(hold, apr_psprintf(it_pool,
                 "SELECT 1 FROM conversations WHERE id = %s FOR UPDATE", cv));
    ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
    PQclear(res);

    q.host = "small.localhost";
    q.path = "/api/intake";
    q.content_type = "application/json";
    q.body = apr_psprintf(it_pool, "{\"name\":\"N\",\"email\":\"slow@arrive.example\","
                          "\"message\":\"%s\"}", body);
    r = it_http(&q);
    ck_assert_int_eq(r->status, 201);
    ck_assert_msg(!strncmp(r->body, "{\"id\":", 6), "%s", r->body);
    usleep(300 * 1000);     /* a few drain rounds: all blocked */
    ck_assert_int_eq(it_sql_long(apr_psprintf(it_pool, "SELECT count(*) FROM messages"
                                              " WHERE body = '%s'", body), 0, NULL), 0);
    r = req(ADMIN, "GET", "/", s, NULL, 0, NULL);
    ck_assert_msg(strstr(r->body, "A new message has just arrived and is being filed"),
                  "no arriving line: %s", r->body);
    h.host = "localhost";
    h.path = "/consult/health";
    r = it_http(&h);
    ck_assert_msg(strstr(r->body, "\"intake\":{\"waiting\":1,"), "%s", r->body);

    PQclear(PQexec(hold, "ROLLBACK"));
    PQfinish(hold);
    ck_assert_msg(it_wait_sql(apr_psprintf(it_pool, "SELECT count(*) FROM messages m"
                                           " WHERE m.body = '%s' AND m.conversation_id = %s",
                                           body, cv), "1", 10), "not filed after the lock went");
    r = req(ADMIN, "GET", "/", s, NULL, 0, NULL);
    ck_assert_msg(!strstr(r->body, "being filed"), "still arriving after filing");
}
END_TEST

/* The spam folder says how many bot posts the edge counted without
 * storing them in the last day (this client's only); the inbox does not. */
START_TEST(test_the_spam_folder_says_how_many_bot_posts_were_counted)
{
    sess_t *s = login("owner%40coffee.example", "owner+password+1");
    it_resp_t *r;

    it_sql("INSERT INTO intake_edge_counts (client_id, hour, reason, posts)"
           " SELECT id, date_trunc('hour', now()), 'honeypot', 4100 FROM clients"
           " WHERE slug = 'coffee-shop' UNION ALL"
           " SELECT id, date_trunc('hour', now()) - interval '2 days', 'honeypot', 900"
           " FROM clients WHERE slug = 'coffee-shop' UNION ALL"
           " SELECT id, date_trunc('hour', now()), 'honeypot', 77 FROM clients"
           " WHERE slug = 'other-client'", 0, NULL);
    r = req(ADMIN, "GET", "/?status=spam", s, NULL, 0, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_msg(strstr(r->body, "4100 more bot posts were counted and not stored"
                         " in the last 24 hours"), "%s", r->body);
    r = req(ADMIN, "GET", "/", s, NULL, 0, NULL);
    ck_assert_msg(!strstr(r->body, "counted and not stored"), "shown outside the spam folder");
    it_sql("DELETE FROM intake_edge_counts", 0, NULL);
    r = req(ADMIN, "GET", "/?status=spam", s, NULL, 0, NULL);
    ck_assert_msg(!strstr(r->body, "counted and not stored"), "shown with nothing counted");
}
END_TEST

Suite *suite_inbox(void)
{

    Suite *s = suite_create("inbox");
    TCase *tc = tcase_create("dashboard");

    tcase_add_checked_fixture(tc, it_setup, it_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_sign_in_sets_a_hashed_http_only_session);
    tcase_add_test(tc, test_a_post_is_acknowledged_before_it_is_filed_and_shown_as_arriving);
    tcase_add_test(tc, test_the_spam_folder_says_how_many_bot_posts_were_counted);
    tcase_add_test(tc, test_wrong_password_and_unknown_user_get_the_same_answer);
    tcase_add_test(tc, test_sign_in_needs_the_forms_own_token);
    tcase_add_test(tc, test_logout_needs_csrf_and_ends_the_session);
    tcase_add_test(tc, test_idle_and_absolute_expiry_sign_out);
    tcase_add_test(tc, test_a_new_password_signs_out_the_old_sessions);
    tcase_add_test(tc, test_state_changes_need_the_csrf_token_and_same_origin);
    tcase_add_test(tc, test_opening_a_thread_changes_nothing_until_its_panel_posts_seen);
    tcase_add_test(tc, test_a_reply_no_channel_can_carry_says_why_in_the_panel);
    tcase_add_test(tc, test_repeated_failures_are_throttled_even_with_the_right_password);
    tcase_add_test(tc, test_another_clients_ids_answer_404_never_data);
    tcase_add_test(tc, test_many_failures_from_one_address_throttle_every_account);
    tcase_add_test(tc, test_a_burst_of_parallel_guesses_gets_only_the_allowed_few_checked);
    tcase_add_test(tc, test_addresses_of_one_ipv6_64_share_the_sign_in_throttle);
    tcase_add_test(tc, test_behind_a_trusted_proxy_each_visitor_has_its_own_intake_limit);
    tcase_add_test(tc, test_user_add_reads_the_password_from_stdin_and_keeps_admin_and_disabled);
    tcase_add_test(tc, test_corrections_export_names_the_client_and_stays_out_of_checkouts);
    tcase_add_test(tc, test_search_stems_english_and_spanish);
    tcase_add_test(tc, test_an_attachment_downloads_as_a_file_never_a_page);
    tcase_add_test(tc, test_agency_admin_switches_between_clients);
    tcase_add_test(tc, test_stored_markup_is_escaped_everywhere);
    tcase_add_test(tc, test_staff_cannot_export_owners_can_and_formulas_are_defused);
    tcase_add_test(tc, test_merge_joins_timelines_and_keeps_everything);
    tcase_add_test(tc, test_merge_keeps_the_other_address_and_its_sms_opt_out);
    tcase_add_test(tc, test_list_filters_search_and_keyset_pages);
    tcase_add_test(tc, test_chips_and_filters_follow_the_customer_not_our_reply);
    tcase_add_test(tc, test_ids_with_leading_zeros_are_the_same_ids_and_stay_audited);
    tcase_add_test(tc, test_an_action_whose_audit_row_cannot_be_written_is_undone);
    tcase_add_test(tc, test_an_answer_is_sent_only_after_its_commit);
    tcase_add_test(tc, test_a_phone_typed_on_the_dashboard_is_read_in_the_clients_region);
    tcase_add_test(tc, test_a_long_search_is_cut_between_characters_and_non_text_answers_400);
    tcase_add_test(tc, test_a_signed_in_page_while_postgres_is_down_answers_503_not_a_crash);
    suite_add_tcase(s, tc);
    return s;
}
