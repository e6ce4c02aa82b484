/* Helpers for the integration suites: real HTTP through libcurl against the
 * harness's Apache, real SQL against its PostgreSQL, and control of both. */
#ifndef INTEG_H
#define INTEG_H

#include <check.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <libpq-fe.h>

typedef struct {
    long status;
    const char *body;
    apr_size_t len;
    apr_table_t *headers;       /* response headers, case-insensitive */
} it_resp_t;

typedef struct {
    const char *method;         /* default GET, or POST when body is set */
    const char *host;           /* Host header, e.g. coffee-shop.localhost */
    const char *path;
    const char *content_type;   /* NULL: no Content-Type header */
    const char *body;
    apr_size_t body_len;        /* 0: strlen(body) */
    int chunked;                /* send the body chunked, no Content-Length */
    const char *accept;
    const char *const *headers; /* extra "Name: value" lines, NULL-ended */
    const char *base;           /* default $CS_TEST_URL */
} it_req_t;

/* One test's pool, made by it_setup() and destroyed by it_teardown(). */
extern apr_pool_t *it_pool;
void it_setup(void);
void it_teardown(void);

it_resp_t *it_http(const it_req_t *req);
/* POST @p body with @p ctype to /api/intake on @p host; an accepted post is
 * waited for until the worker has made its submission (it_intake_settled). */
it_resp_t *it_post(const char *host, const char *ctype, const char *body);

/* First column of the first row as text ("" for no row). */
const char *it_sql(const char *sql, int nparams, const char *const *params);
long it_sql_long(const char *sql, int nparams, const char *const *params);
/* Rows in submissions, for "nothing was written" checks. */
/* Wait (up to @p seconds) until the worker has drained every acknowledged
 * post from the journal into submissions; 1 when it has. */
int it_intake_settled(int seconds);
long it_submission_count(void);
/* The submission made from the post answered by @p r (its JSON answer's id
 * is the post's journal row), once filed; "" if none. */
const char *it_submission_of(const it_resp_t *r);

/* The fake provider: replace its rules (a JSON list; NULL clears them and
 * the recorded requests) and count recorded requests whose path and body
 * contain the given strings (NULL: any). */
void it_fake_rules(const char *rules_json);
long it_fake_count(const char *path_part, const char *body_part);
/* Requests whose path contains @p path_part and whose header @p name
 * (lowercase) equals @p value. */
long it_fake_count_header(const char *path_part, const char *name, const char *value);

/* The form token in a page served by @p host ("" when none). */
const char *it_form_token(const char *host);

/* The dashboard's sign-in form on @p host: its hidden field
 * ("_login=...") and the cookie that goes with it ("consult_login=..."). */
void it_login_token(const char *host, const char **pfield, const char **pcookie);
/* POST /login with @p form ("email=...&password=...") as a browser sends
 * it from the sign-in page (its token and cookie added). */
it_resp_t *it_sign_in_post(const char *host, const char *form);

/* A signed-in dashboard session on @p host (its cookie and CSRF token),
 * and a request in it: a form post of @p body (with the CSRF token) when
 * set, else a GET. */
typedef struct {
    const char *cookie;         /* "consult_session=..." */
    const char *csrf;
} it_session_t;
it_session_t *it_dash_login(const char *host, const char *email, const char *password);
it_resp_t *it_dash(const char *host, const char *method, const char *path,
                   const it_session_t *s, const char *body);

/* Poll @p sql (first column) until it equals @p want or @p seconds pass. */
int it_wait_sql(const char *sql, const char *want, int seconds);

/* Rate limits count in fixed windows of @p window_s seconds from the
 * epoch: wait until at least @p need_s seconds of the current one are
 * left, so a test's posts all land in one window. */
void it_clear_of_window_edge(int window_s, int need_s);

/* Run tests/integration/ctl.sh with @p args; returns its exit status.
 * Its output is captured into *pout when pout is not NULL. */
int it_ctl(const char *args, const char **pout);

/* Poll GET /consult/health until it answers @p status or @p seconds pass. */
int it_wait_health(long status, int seconds);

/* The Apache error log so far. */
const char *it_error_log(void);

Suite *suite_intake(void);
Suite *suite_core(void);
Suite *suite_config(void);
Suite *suite_migrate(void);
Suite *suite_recovery(void);
Suite *suite_pipeline(void);
Suite *suite_inbox(void);
Suite *suite_twilio(void);
Suite *suite_email(void);
Suite *suite_jobs(void);
Suite *suite_pos(void);
Suite *suite_demo(void);
Suite *suite_menu_dashboard(void);
Suite *suite_integrations(void);
Suite *suite_reconcile(void);
Suite *suite_orders(void);
Suite *suite_sites(void);

#endif
