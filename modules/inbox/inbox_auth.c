/*
 * Sign-in, sessions and CSRF. Passwords are argon2id (cs_auth); the cookie
 * carries a 256-bit random token of which only the SHA-256 is stored;
 * sessions end after ConsultInboxSessionIdle without use and
 * ConsultInboxSessionMax after sign-in; every state change carries a CSRF
 * token derived from the session.
 */
#include "inbox_private.h"
#include "base/cs_crypto.h"
#include "text/cs_text.h"

#include "http_protocol.h"
#include "http_request.h"
#include "util_cookies.h"
#include <apr_strings.h>
#include <math.h>
#include <stdlib.h>

APLOG_USE_MODULE(consult_inbox);

/* One message for every failure: no telling which of the two was wrong. */
#define GENERIC_LOGIN_ERROR "That email and password do not match an account."
#define THROTTLE_WINDOW "15 minutes"

static const char *interval(request_rec *r, apr_interval_time_t t)
{
    return apr_psprintf(r->pool, "%" APR_INT64_T_FMT " seconds",
                        (apr_int64_t)apr_time_sec(t));
}

/* Cookies are Secure whenever the dashboard is reached over HTTPS
 * (directly or via a proxy that says so). */
static int over_https(request_rec *r)
{
    const char *proto = apr_table_get(r->headers_in, "X-Forwarded-Proto");
    return !strcmp(ap_http_scheme(r), "https") || (proto && !strcasecmp(proto, "https"));
}

static const char *cookie_attrs(request_rec *r)
{
    return over_https(r) ? "HttpOnly;SameSite=Lax;Path=/;Secure" : "HttpOnly;SameSite=Lax;Path=/";
}

/* Sign-in has no session to derive a CSRF token from, so the form carries
 * a random token that must match a cookie only this site can set (double
 * submit): another site can neither read the page nor set the cookie. */
#define LOGIN_COOKIE "consult_login"
#define LOGIN_FIELD "_login"

static const char *login_cookie_attrs(request_rec *r)
{
    return over_https(r) ? "HttpOnly;SameSite=Strict;Path=/login;Secure"
                         : "HttpOnly;SameSite=Strict;Path=/login";
}

/* The sign-in form's data, with its token: the browser's current one when
 * it has one (a favicon fetch that lands on /login must not change the
 * token under an open form), else a fresh one; the cookie is renewed. */
static json_object *login_data(request_rec *r, const char *error, const char *email)
{
    json_object *d = json_object_new_object();
    const char *token = NULL;

    if (ap_cookie_read(r, LOGIN_COOKIE, &token, 0) != APR_SUCCESS || !token
        || !cs_token_looks_valid(token)) {
        token = cs_random_token(r->pool);
    }

    json_object_object_add(d, "title", json_object_new_string("Sign in"));
    if (error) {
        json_object_object_add(d, "error", json_object_new_string(error));
    }
    if (email) {
        json_object_object_add(d, "email", json_object_new_string(email));
    }
    if (token) {
        ap_cookie_write(r, LOGIN_COOKIE, token, login_cookie_attrs(r), 3600,
                        r->err_headers_out, NULL);
        json_object_object_add(d, "login_token", json_object_new_string(token));
    }
    return d;
}

static int login_token_ok(request_rec *r, apr_table_t *form)
{
    const char *sent = apr_table_get(form, LOGIN_FIELD), *kept = NULL;
    size_t n;

    if (!sent || ap_cookie_read(r, LOGIN_COOKIE, &kept, 0) != APR_SUCCESS || !kept) {
        return 0;
    }
    n = strlen(kept);
    return n >= 32 && cs_ct_streq(sent, kept);
}

int inbox_login_page(request_rec *r, const char *error, const char *email)
{
    return inbox_render(r, error ? HTTP_UNAUTHORIZED : HTTP_OK, "login",
                        login_data(r, error, email));
}

/* Cross-site form posts are refused outright (belt and braces with
 * SameSite cookies and CSRF tokens). */
static int same_origin(request_rec *r)
{
    const char *origin = apr_table_get(r->headers_in, "Origin");
    const char *host = apr_table_get(r->headers_in, "Host");
    if (!origin || !strcmp(origin, "null")) {
        return origin == NULL;
    }
    return host && (!strcmp(origin, apr_pstrcat(r->pool, "http://", host, NULL))
                    || !strcmp(origin, apr_pstrcat(r->pool, "https://", host, NULL)));
}

/* The address an attempt is stored under (an IPv4-mapped one as IPv4) and
 * the network the per-address count covers: cs_ip_network's, the one the
 * intake limit counts (an IPv6 host's whole /64). */
static void attempt_ip(request_rec *r, const char **pip, const char **pnet)
{
    const char *net = cs_ip_network(r->pool, r->useragent_ip);

    *pip = net && strncmp(net, "v6:", 3) ? net : r->useragent_ip;
    *pnet = cs_ip_network_cidr(r->pool, r->useragent_ip);
}

/* The attempt is recorded first, as a failure, in a statement of its own
 * (committed before anything is counted): every attempt under way counts
 * against the others, so a burst of parallel guesses cannot all pass the
 * check before the first failure is written. Its id, or NULL. */
static const char *record_attempt(request_rec *r, PGconn *conn, const char *email)
{
    const char *params[2] = { email, NULL }, *net, *err = NULL, *id;
    PGresult *res;

    attempt_ip(r, &params[1], &net);
    res = cs_db_exec(conn, r->pool, &err, PGRES_TUPLES_OK,
                     "INSERT INTO login_attempts (email, ip, succeeded)"
                     " VALUES (lower($1), $2::inet, false) RETURNING id", 2, params);
    if (!res) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(03023)
                      "cannot record a sign-in attempt: %s", err);
        return NULL;
    }
    id = apr_pstrdup(r->pool, PQgetvalue(res, 0, 0));
    PQclear(res);
    return id;
}

/* An attempt's outcome: a good password marks it succeeded (outcome 1); a
 * wrong one dates the failure from the end of its check, where the delay
 * runs from (-1); an attempt refused unchecked (0) is no failure of the
 * password (or the wait Retry-After states would grow with every
 * impatient retry) and goes. */
static void settle_attempt(request_rec *r, PGconn *conn, const char *id, int outcome)
{
    const char *params[1] = { id }, *err = NULL;
    PGresult *res = cs_db_exec(conn, r->pool, &err, PGRES_COMMAND_OK,
        outcome > 0 ? "UPDATE login_attempts SET succeeded = true WHERE id = $1::bigint"
        : outcome < 0 ? "UPDATE login_attempts SET created_at = now() WHERE id = $1::bigint"
        : "DELETE FROM login_attempts WHERE id = $1::bigint", 1, params);
    if (res) PQclear(res);
}

/* Seconds to wait before attempt @p id may be checked, or 0: the failures
 * (and other attempts under way) before it, per account since its last
 * success and per address network, as cs_login_delay spaces them. */
static long throttled_for(request_rec *r, PGconn *conn, const char *email, const char *id)
{
    const char *params[3] = { email, NULL, id }, *ip, *err = NULL;
    PGresult *res;
    long wait = 0;
    int i;

    attempt_ip(r, &ip, &params[1]);
    if (!params[1]) {
        return -1;
    }
    /* Ages by the database's clock, which wrote created_at. */
    res = cs_db_exec(conn, r->pool, &err, PGRES_TUPLES_OK,
        "SELECT count(*), coalesce(extract(epoch FROM now() - max(created_at)), 1e9)::float8"
        "  FROM login_attempts a WHERE lower(a.email) = lower($1) AND NOT succeeded"
        "   AND id <> $3::bigint"
        "   AND created_at > now() - interval '" THROTTLE_WINDOW "'"
        "   AND created_at > coalesce((SELECT max(created_at) FROM login_attempts"
        "        WHERE lower(email) = lower($1) AND succeeded), '-infinity')"
        " UNION ALL "
        "SELECT count(*) / 4, coalesce(extract(epoch FROM now() - max(created_at)), 1e9)::float8"
        "  FROM login_attempts WHERE ip <<= $2::cidr AND NOT succeeded AND id <> $3::bigint"
        "   AND created_at > now() - interval '" THROTTLE_WINDOW "'", 3, params);
    if (!res) {
        return -1;      /* cannot tell: refuse rather than allow unlimited tries */
    }
    for (i = 0; i < PQntuples(res); i++) {
        int fails = atoi(PQgetvalue(res, i, 0));
        double age = strtod(PQgetvalue(res, i, 1), NULL);
        double delay = (double)apr_time_sec(cs_login_delay(fails));
        long left = (long)ceil(delay - age);
        if (delay > 0 && left > wait) {
            wait = left;
        }
    }
    PQclear(res);
    return wait;
}

int inbox_login_post(request_rec *r)
{
    inbox_conf *conf = inbox_sconf(r->server);
    apr_table_t *form = inbox_read_form(r);
    const char *email, *password, *token, *params[6], *err = NULL, *attempt = NULL;
    PGconn *conn;
    PGresult *res;
    long wait;
    int ok = 0;

    if (!form || !same_origin(r)) {
        return HTTP_BAD_REQUEST;
    }
    email = apr_table_get(form, "email");
    password = apr_table_get(form, "password");
    if (!login_token_ok(r, form)) {
        /* A form from elsewhere, or one older than its cookie: a fresh one. */
        return inbox_render(r, HTTP_BAD_REQUEST, "login", login_data(
            r, "This sign-in form had expired. Please sign in again.", email));
    }
    if (!email || !*email || !password || !*password) {
        return inbox_login_page(r, "Enter your email and password.", email);
    }
    if (inbox_core.db_acquire(r, &conn) != APR_SUCCESS) {
        return inbox_core.send_error(r, HTTP_SERVICE_UNAVAILABLE, "unavailable",
                                     "the dashboard cannot reach its database");
    }
    /* Counted before the password is checked (see record_attempt). */
    if (!(attempt = record_attempt(r, conn, email))
        || (wait = throttled_for(r, conn, email, attempt)) < 0) {
        if (attempt) settle_attempt(r, conn, attempt, 0);
        return inbox_core.send_error(r, HTTP_SERVICE_UNAVAILABLE, "unavailable",
                                     "sign-in is unavailable right now; try again shortly");
    }
    if (wait > 0) {
        settle_attempt(r, conn, attempt, 0);
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, CSLOGNO(03024)
                      "dashboard sign-in from %s throttled for %ld seconds",
                      r->useragent_ip, wait);
        apr_table_setn(r->err_headers_out, "Retry-After", apr_ltoa(r->pool, wait));
        return inbox_render(r, HTTP_TOO_MANY_REQUESTS, "login", login_data(r, apr_psprintf(
            r->pool, "Too many attempts. Try again in %ld seconds.", wait), email));
    }
    params[0] = email;
    res = cs_db_exec(conn, r->pool, &err, PGRES_TUPLES_OK,
                     "SELECT id, password_hash FROM staff_users"
                     " WHERE lower(email) = lower($1) AND disabled_at IS NULL", 1, params);
    if (!res) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (PQntuples(res) == 1) {
        ok = cs_password_verify(PQgetvalue(res, 0, 1), password);
        params[1] = apr_pstrdup(r->pool, PQgetvalue(res, 0, 0));
    }
    else {
        cs_password_burn(password);   /* same time as a real check */
    }
    PQclear(res);
    settle_attempt(r, conn, attempt, ok ? 1 : -1);
    if (!ok) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, CSLOGNO(03020)
                      "failed dashboard sign-in from %s", r->useragent_ip);
        return inbox_login_page(r, GENERIC_LOGIN_ERROR, email);
    }

    /* A fresh token at every sign-in; an old session cookie is dropped. */
    token = cs_random_token(r->pool);
    if (!token) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    params[0] = cs_token_hash(r->pool, token);
    params[2] = interval(r, conf->lifetime);
    params[3] = r->useragent_ip;
    params[4] = apr_table_get(r->headers_in, "User-Agent");
    res = cs_db_exec(conn, r->pool, &err, PGRES_COMMAND_OK,
                     "INSERT INTO sessions (token_hash, user_id, expires_at, ip, user_agent)"
                     " VALUES ($1, $2, now() + $3::interval, $4::inet, left($5, 300))",
                     5, params);
    if (!res) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(03021)
                      "cannot create a session: %s", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    PQclear(res);
    {
        const char *old = NULL;
        if (ap_cookie_read(r, SESSION_COOKIE, &old, 0) == APR_SUCCESS && old
            && cs_token_looks_valid(old)) {
            params[0] = cs_token_hash(r->pool, old);
            res = cs_db_exec(conn, r->pool, &err, PGRES_COMMAND_OK,
                             "DELETE FROM sessions WHERE token_hash = $1", 1, params);
            if (res) PQclear(res);
        }
    }
    ap_cookie_write(r, SESSION_COOKIE, token, cookie_attrs(r), 0, r->err_headers_out, NULL);
    return inbox_redirect(r, "/");
}

static int to_login(request_rec *r)
{
    if (r->method_number == M_GET && !inbox_is_htmx(r)) {
        apr_table_setn(r->headers_out, "Location", "/login");
        return HTTP_SEE_OTHER;
    }
    if (inbox_is_htmx(r)) {
        return inbox_redirect(r, "/login");
    }
    return HTTP_UNAUTHORIZED;
}

int inbox_session(request_rec *r, inbox_ctx **pctx)
{
    inbox_conf *conf = inbox_sconf(r->server);
    const char *token = NULL, *params[3], *err = NULL;
    const unsigned char *key;
    apr_size_t keylen;
    inbox_ctx *ctx;
    PGresult *res;

    *pctx = NULL;
    if (ap_cookie_read(r, SESSION_COOKIE, &token, 0) != APR_SUCCESS || !token
        || !cs_token_looks_valid(token)) {
        return to_login(r);
    }
    ctx = apr_pcalloc(r->pool, sizeof(*ctx));
    if (inbox_core.db_acquire(r, &ctx->conn) != APR_SUCCESS) {
        /* send_error answers OK (the 503 is sent); this function's OK means
         * "a session", so say DONE: the caller must stop here. */
        inbox_core.send_error(r, HTTP_SERVICE_UNAVAILABLE, "unavailable",
                              "the dashboard cannot reach its database");
        return DONE;
    }
    ctx->token_hash = cs_token_hash(r->pool, token);
    params[0] = ctx->token_hash;
    params[1] = interval(r, conf->idle);
    res = cs_db_exec(ctx->conn, r->pool, &err, PGRES_TUPLES_OK,
                     "SELECT s.id, u.id, u.name, u.email, u.is_agency_admin, s.client_id,"
                     "  s.last_seen_at < now() - interval '1 minute'"
                     " FROM sessions s JOIN staff_users u ON u.id = s.user_id"
                     " WHERE s.token_hash = $1 AND u.disabled_at IS NULL"
                     "   AND s.expires_at > now() AND s.last_seen_at > now() - $2::interval",
                     2, params);
    if (!res) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return to_login(r);
    }
    ctx->session_id = apr_pstrdup(r->pool, PQgetvalue(res, 0, 0));
    ctx->user_id = apr_pstrdup(r->pool, PQgetvalue(res, 0, 1));
    ctx->user_name = apr_pstrdup(r->pool, PQgetvalue(res, 0, 2));
    ctx->user_email = apr_pstrdup(r->pool, PQgetvalue(res, 0, 3));
    ctx->is_admin = PQgetvalue(res, 0, 4)[0] == 't';
    params[2] = PQgetisnull(res, 0, 5) ? NULL : apr_pstrdup(r->pool, PQgetvalue(res, 0, 5));
    if (PQgetvalue(res, 0, 6)[0] == 't') {
        /* Idle time counts in minutes: a write per minute, not per request
         * (the inbox polls every few seconds). */
        PGresult *touch;
        params[0] = ctx->session_id;
        touch = cs_db_exec(ctx->conn, r->pool, &err, PGRES_COMMAND_OK,
                           "UPDATE sessions SET last_seen_at = now() WHERE id = $1", 1, params);
        if (touch) PQclear(touch);
    }
    PQclear(res);

    /* The client to show: the session's choice if still allowed, else the
     * first one this person may see. Membership is checked every request,
     * so removing someone takes effect at once. */
    params[0] = ctx->user_id;
    params[1] = ctx->is_admin ? "true" : "false";
    res = cs_db_exec(ctx->conn, r->pool, &err, PGRES_TUPLES_OK,
                     "SELECT c.id, c.name, c.slug, coalesce(m.role, 'admin')"
                     "  FROM clients c LEFT JOIN memberships m"
                     "    ON m.client_id = c.id AND m.user_id = $1"
                     " WHERE m.user_id IS NOT NULL OR $2::boolean"
                     " ORDER BY (c.id = $3::bigint) IS TRUE DESC, c.name LIMIT 1", 3, params);
    if (!res) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (PQntuples(res) == 1) {
        ctx->client_id = apr_pstrdup(r->pool, PQgetvalue(res, 0, 0));
        ctx->client_name = apr_pstrdup(r->pool, PQgetvalue(res, 0, 1));
        ctx->client_slug = apr_pstrdup(r->pool, PQgetvalue(res, 0, 2));
        ctx->role = apr_pstrdup(r->pool, PQgetvalue(res, 0, 3));
    }
    PQclear(res);

    inbox_core.server_secret(r->server, &key, &keylen);
    ctx->csrf = cs_csrf_token(r->pool, key, keylen, ctx->token_hash);
    if (r->method_number == M_POST) {
        if (!inbox_csrf_ok(r, ctx)) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, CSLOGNO(03022)
                          "dashboard POST without a valid CSRF token refused");
            return HTTP_FORBIDDEN;
        }
    }
    *pctx = ctx;
    return OK;
}

/* The token comes in the X-CSRF-Token header (htmx sends it on every
 * request) or the _csrf form field; the form is read once and kept. */
int inbox_csrf_ok(request_rec *r, inbox_ctx *ctx)
{
    const unsigned char *key;
    apr_size_t keylen;
    const char *presented = apr_table_get(r->headers_in, "X-CSRF-Token");
    apr_table_t *form;

    if (!same_origin(r)) {
        return 0;
    }
    form = inbox_read_form(r);
    if (!form) {
        return 0;
    }
    ap_set_module_config(r->request_config, &consult_inbox_module, form);
    if (!presented) {
        presented = apr_table_get(form, "_csrf");
    }
    inbox_core.server_secret(r->server, &key, &keylen);
    return cs_csrf_check(r->pool, key, keylen, ctx->token_hash, presented);
}

int inbox_logout(request_rec *r, inbox_ctx *ctx)
{
    const char *params[1] = { ctx->session_id }, *err = NULL;
    PGresult *res = cs_db_exec(ctx->conn, r->pool, &err, PGRES_COMMAND_OK,
                               "DELETE FROM sessions WHERE id = $1", 1, params);
    if (res) PQclear(res);
    ap_cookie_remove(r, SESSION_COOKIE, cookie_attrs(r), r->err_headers_out, NULL);
    return inbox_redirect(r, "/login");
}

int inbox_switch_client(request_rec *r, inbox_ctx *ctx)
{
    apr_table_t *form = ap_get_module_config(r->request_config, &consult_inbox_module);
    const char *slug = form ? apr_table_get(form, "client") : NULL;
    const char *params[4], *err = NULL;
    PGresult *res;

    params[0] = ctx->session_id;
    params[1] = slug;
    params[2] = ctx->user_id;
    params[3] = ctx->is_admin ? "true" : "false";
    /* Only to a client this person may see; anything else changes nothing. */
    res = cs_db_exec(ctx->conn, r->pool, &err, PGRES_COMMAND_OK,
                     "UPDATE sessions SET client_id = c.id FROM clients c"
                     " WHERE sessions.id = $1 AND c.slug = $2 AND ($4::boolean OR EXISTS"
                     "  (SELECT 1 FROM memberships m WHERE m.user_id = $3 AND m.client_id = c.id))",
                     4, params);
    if (!res) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (atoi(PQcmdTuples(res)) != 1) {
        PQclear(res);
        return HTTP_NOT_FOUND;
    }
    PQclear(res);
    return inbox_redirect(r, "/");
}
