#include "integ.h"

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

apr_pool_t *it_pool;

static const char *env(const char *name)
{
    const char *v = getenv(name);
    if (!v) {
        fprintf(stderr, "%s is not set: run through tests/integration/harness.sh\n", name);
        exit(2);
    }
    return v;
}

void it_setup(void)
{
    apr_pool_create(&it_pool, NULL);
}

void it_teardown(void)
{
    apr_pool_destroy(it_pool);
    it_pool = NULL;
}

typedef struct {
    char *buf;
    apr_size_t len, cap;
} sink_t;

static size_t on_body(char *data, size_t size, size_t n, void *baton)
{
    sink_t *s = baton;
    apr_size_t add = size * n;
    if (s->len + add + 1 > s->cap) {
        apr_size_t cap = (s->cap + add) * 2 + 64;
        char *nb = apr_palloc(it_pool, cap);
        if (s->len) memcpy(nb, s->buf, s->len);
        s->buf = nb;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, add);
    s->len += add;
    s->buf[s->len] = '\0';
    return add;
}

static size_t on_header(char *data, size_t size, size_t n, void *baton)
{
    apr_table_t *t = baton;
    apr_size_t len = size * n;
    char *line = apr_pstrmemdup(it_pool, data, len), *colon = strchr(line, ':');
    if (colon) {
        char *v = colon + 1, *end;
        *colon = '\0';
        while (*v == ' ') v++;
        end = v + strlen(v);
        while (end > v && (end[-1] == '\r' || end[-1] == '\n')) *--end = '\0';
        apr_table_add(t, line, v);
    }
    return len;
}

it_resp_t *it_http(const it_req_t *req)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    it_resp_t *resp = apr_pcalloc(it_pool, sizeof(*resp));
    sink_t sink = { NULL, 0, 0 };
    const char *method = req->method ? req->method : (req->body ? "POST" : "GET");
    CURLcode cc;
    int i;

    resp->headers = apr_table_make(it_pool, 8);
    curl_easy_setopt(c, CURLOPT_URL, apr_pstrcat(it_pool, req->base ? req->base
                                                 : env("CS_TEST_URL"), req->path, NULL));
    hdrs = curl_slist_append(hdrs, apr_pstrcat(it_pool, "Host: ", req->host, NULL));
    hdrs = curl_slist_append(hdrs, req->content_type
                             ? apr_pstrcat(it_pool, "Content-Type: ", req->content_type, NULL)
                             : "Content-Type:");
    hdrs = curl_slist_append(hdrs, req->accept
                             ? apr_pstrcat(it_pool, "Accept: ", req->accept, NULL)
                             : "Accept: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:");
    if (req->chunked) {
        hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
    }
    for (i = 0; req->headers && req->headers[i]; i++) {
        hdrs = curl_slist_append(hdrs, req->headers[i]);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (!strcmp(method, "HEAD")) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    }
    if (req->body) {
        apr_size_t len = req->body_len ? req->body_len : strlen(req->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
        if (!req->chunked) {
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        }
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, resp->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    cc = curl_easy_perform(c);
    ck_assert_msg(cc == CURLE_OK, "%s %s (Host %s): %s", method, req->path,
                  req->host, curl_easy_strerror(cc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    resp->body = sink.buf ? sink.buf : "";
    resp->len = sink.len;
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    return resp;
}

it_resp_t *it_post(const char *host, const char *ctype, const char *body)
{
    it_req_t req = { 0 };
    it_resp_t *r;
    req.host = host;
    req.path = "/api/intake";
    req.content_type = ctype;
    req.body = body;
    r = it_http(&req);
    /* What the tests then read (submissions, messages) is made by the
     * worker from the journal row the answer acknowledged: wait for it. */
    if (r->status >= 200 && r->status < 400) {
        it_intake_settled(10);
    }
    return r;
}

const char *it_sql(const char *sql, int nparams, const char *const *params)
{
    PGconn *conn = PQconnectdb(env("CS_TEST_DATABASE"));
    PGresult *res;
    const char *out = "";

    ck_assert_msg(PQstatus(conn) == CONNECTION_OK, "test db: %s", PQerrorMessage(conn));
    res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK
                  || PQresultStatus(res) == PGRES_COMMAND_OK,
                  "%s: %s", sql, PQresultErrorMessage(res));
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0) {
        out = apr_pstrdup(it_pool, PQgetvalue(res, 0, 0));
    }
    PQclear(res);
    PQfinish(conn);
    return out;
}

long it_sql_long(const char *sql, int nparams, const char *const *params)
{
    return atol(it_sql(sql, nparams, params));
}

int it_intake_settled(int seconds)
{
    /* Journal-first intake: an acknowledged post is a journal row until the
     * worker's drain makes its submission (or gives up on it). */
    return it_wait_sql("SELECT count(*) FROM provider_events WHERE provider = 'intake'"
                       " AND processed_at IS NULL AND attempts < 5", "0", seconds);
}

const char *it_submission_of(const it_resp_t *r)
{
    const char *p[1];

    if (strncmp(r->body, "{\"id\":", 6)) {
        return "";
    }
    p[0] = apr_pstrndup(it_pool, r->body + 6, strcspn(r->body + 6, ",}"));
    it_intake_settled(10);
    return it_sql("SELECT submission_id FROM provider_events"
                  " WHERE id = $1 AND provider = 'intake'", 1, p);
}

long it_submission_count(void)
{
    it_intake_settled(10);
    return it_sql_long("SELECT count(*) FROM submissions", 0, NULL);
}

int it_ctl(const char *args, const char **pout)
{
    const char *cmd = apr_psprintf(it_pool, "%s/tests/integration/ctl.sh %s 2>&1",
                                   env("CS_TEST_ROOT"), args);
    FILE *f = popen(cmd, "r");
    sink_t sink = { NULL, 0, 0 };
    char buf[4096];
    size_t n;
    int st;

    ck_assert_msg(f != NULL, "cannot run %s", cmd);
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        on_body(buf, 1, n, &sink);
    }
    st = pclose(f);
    if (pout) {
        *pout = sink.buf ? sink.buf : "";
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

void it_fake_rules(const char *rules_json)
{
    it_req_t req = { 0 };
    req.base = env("CS_TEST_FAKE_URL");
    req.host = "127.0.0.1";
    req.path = "/_control/rules";
    req.method = "DELETE";
    it_http(&req);
    if (!rules_json) {
        req.path = "/_control/requests";
        it_http(&req);
        return;
    }
    req.path = "/_control/rules";
    req.method = "POST";
    req.content_type = "application/json";
    req.body = rules_json;
    ck_assert_int_eq(it_http(&req)->status / 100, 2);
}

long it_fake_count(const char *path_part, const char *body_part)
{
    it_req_t req = { 0 };
    it_resp_t *r;
    json_object *arr;
    long n = 0;
    size_t i;

    req.base = env("CS_TEST_FAKE_URL");
    req.host = "127.0.0.1";
    req.path = "/_control/requests";
    r = it_http(&req);
    arr = json_tokener_parse(r->body);
    ck_assert_msg(arr && json_object_is_type(arr, json_type_array), "%s", r->body);
    for (i = 0; i < json_object_array_length(arr); i++) {
        json_object *e = json_object_array_get_idx(arr, i), *path, *body;
        json_object_object_get_ex(e, "path", &path);
        json_object_object_get_ex(e, "body", &body);
        if ((!path_part || strstr(json_object_get_string(path), path_part))
            && (!body_part || strstr(json_object_get_string(body), body_part))) {
            n++;
        }
    }
    json_object_put(arr);
    return n;
}

long it_fake_count_header(const char *path_part, const char *name, const char *value)
{
    it_req_t req = { 0 };
    it_resp_t *r;
    json_object *arr;
    long n = 0;
    size_t i;

    req.base = env("CS_TEST_FAKE_URL");
    req.host = "127.0.0.1";
    req.path = "/_control/requests";
    r = it_http(&req);
    arr = json_tokener_parse(r->body);
    ck_assert_msg(arr && json_object_is_type(arr, json_type_array), "%s", r->body);
    for (i = 0; i < json_object_array_length(arr); i++) {
        json_object *e = json_object_array_get_idx(arr, i), *path, *hdrs, *h;
        json_object_object_get_ex(e, "path", &path);
        json_object_object_get_ex(e, "headers", &hdrs);
        if (strstr(json_object_get_string(path), path_part) && hdrs
            && json_object_object_get_ex(hdrs, name, &h)
            && !strcmp(json_object_get_string(h), value)) {
            n++;
        }
    }
    json_object_put(arr);
    return n;
}

const char *it_form_token(const char *host)
{
    it_req_t req = { 0 };
    it_resp_t *r;
    const char *at, *end;

    req.host = host;
    req.path = "/";
    req.accept = "text/html";
    r = it_http(&req);
    at = strstr(r->body, "name=\"_token\" value=\"");
    if (!at) {
        return "";
    }
    at += strlen("name=\"_token\" value=\"");
    end = strchr(at, '"');
    return end ? apr_pstrmemdup(it_pool, at, end - at) : "";
}

void it_login_token(const char *host, const char **pfield, const char **pcookie)
{
    it_req_t req = { 0 };
    it_resp_t *r;
    const char *at, *end, *set;

    req.host = host;
    req.path = "/login";
    req.accept = "text/html";
    r = it_http(&req);
    *pfield = "";
    *pcookie = "";
    at = strstr(r->body, "name=\"_login\" value=\"");
    set = apr_table_get(r->headers, "Set-Cookie");
    if (!at || !set) {
        return;
    }
    at += strlen("name=\"_login\" value=\"");
    end = strchr(at, '"');
    *pfield = apr_pstrcat(it_pool, "_login=", apr_pstrmemdup(it_pool, at, end - at), NULL);
    *pcookie = apr_pstrmemdup(it_pool, set, strcspn(set, ";"));
}

it_resp_t *it_sign_in_post(const char *host, const char *form)
{
    it_req_t req = { 0 };
    const char *field, *cookie, *hdrs[2];

    it_login_token(host, &field, &cookie);
    hdrs[0] = apr_pstrcat(it_pool, "Cookie: ", cookie, NULL);
    hdrs[1] = NULL;
    req.host = host;
    req.path = "/login";
    req.method = "POST";
    req.accept = "text/html";
    req.content_type = "application/x-www-form-urlencoded";
    req.body = apr_pstrcat(it_pool, form, "&", field, NULL);
    req.headers = hdrs;
    return it_http(&req);
}

it_resp_t *it_dash(const char *host, const char *method, const char *path,
                   const it_session_t *s, const char *body)
{
    it_req_t q = { 0 };
    const char *hdrs[3];
    int n = 0;
    q.host = host;
    q.method = method;
    q.path = path;
    q.accept = "text/html";
    if (body) {
        q.body = body;
        q.content_type = "application/x-www-form-urlencoded";
    }
    if (s) hdrs[n++] = apr_pstrcat(it_pool, "Cookie: ", s->cookie, NULL);
    if (s && body) hdrs[n++] = apr_pstrcat(it_pool, "X-CSRF-Token: ", s->csrf, NULL);
    hdrs[n] = NULL;
    q.headers = hdrs;
    return it_http(&q);
}

it_session_t *it_dash_login(const char *host, const char *email, const char *password)
{
    it_session_t *s = apr_pcalloc(it_pool, sizeof(*s));
    it_resp_t *r = it_sign_in_post(host, apr_psprintf(it_pool, "email=%s&password=%s",
                                                      email, password));
    const char *set = apr_table_get(r->headers, "Set-Cookie"), *at, *end;
    const char *mark = "\"X-CSRF-Token\": \"";

    ck_assert_msg(r->status == 303 && set && !strncmp(set, "consult_session=", 16),
                  "login %s: %ld", email, r->status);
    s->cookie = apr_pstrmemdup(it_pool, set, strcspn(set, ";"));
    r = it_dash(host, "GET", "/", s, NULL);
    at = strstr(r->body, mark);
    ck_assert_msg(at != NULL, "no CSRF token on the page");
    at += strlen(mark);
    end = strchr(at, '"');
    s->csrf = apr_pstrmemdup(it_pool, at, end - at);
    return s;
}

void it_clear_of_window_edge(int window_s, int need_s)
{
    while (window_s - (int)(apr_time_sec(apr_time_now()) % window_s) < need_s) {
        usleep(200 * 1000);
    }
}

int it_wait_sql(const char *sql, const char *want, int seconds)
{
    int i;
    for (i = 0; i < seconds * 10; i++) {
        if (!strcmp(it_sql(sql, 0, NULL), want)) {
            return 1;
        }
        usleep(100 * 1000);
    }
    return 0;
}

int it_wait_health(long status, int seconds)
{
    int i;
    for (i = 0; i < seconds * 10; i++) {
        it_req_t req = { 0 };
        req.host = "localhost";
        req.path = "/consult/health";
        if (it_http(&req)->status == status) {
            return 1;
        }
        usleep(100 * 1000);
    }
    return 0;
}

const char *it_error_log(void)
{
    apr_file_t *f;
    apr_finfo_t fi;
    char *buf;
    apr_size_t n;

    if (apr_file_open(&f, env("CS_TEST_ERROR_LOG"), APR_FOPEN_READ, 0, it_pool)
        != APR_SUCCESS) {
        return "";
    }
    apr_file_info_get(&fi, APR_FINFO_SIZE, f);
    n = (apr_size_t)fi.size;
    buf = apr_palloc(it_pool, n + 1);
    apr_file_read_full(f, buf, n, &n);
    buf[n] = '\0';
    apr_file_close(f);
    return buf;
}

int main(int argc, const char *const *argv)
{
    SRunner *sr;
    int failed;

    apr_app_initialize(&argc, &argv, NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    sr = srunner_create(suite_core());
    srunner_add_suite(sr, suite_intake());
    srunner_add_suite(sr, suite_config());
    srunner_add_suite(sr, suite_migrate());
    srunner_add_suite(sr, suite_pipeline());
    srunner_add_suite(sr, suite_inbox());
    srunner_add_suite(sr, suite_twilio());
    srunner_add_suite(sr, suite_email());
    srunner_add_suite(sr, suite_jobs());
    srunner_add_suite(sr, suite_pos());
    srunner_add_suite(sr, suite_integrations());
    srunner_add_suite(sr, suite_reconcile());
    srunner_add_suite(sr, suite_orders());
    srunner_add_suite(sr, suite_demo());
    srunner_add_suite(sr, suite_menu_dashboard());
    srunner_add_suite(sr, suite_sites());
    /* Last: it stops and starts the servers. */
    srunner_add_suite(sr, suite_recovery());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    curl_global_cleanup();
    apr_terminate();
    return failed ? 1 : 0;
}
