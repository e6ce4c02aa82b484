/* JSON responses shared by every Consult module, and /consult/health. */
#include "core_private.h"
#include "base/cs_json.h"
#include "domain/cs_intake.h"
#include "util_script.h"

#include "http_protocol.h"
#include "http_request.h"
#include <apr_strings.h>
#include <apr_lib.h>

APLOG_USE_MODULE(consult_core);

int cs_send_json(request_rec *r, int status, const char *body)
{
    r->status = status;
    ap_set_content_type(r, "application/json; charset=utf-8");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->err_headers_out, "X-Content-Type-Options", "nosniff");
    ap_set_content_length(r, strlen(body));
    if (!r->header_only) {
        ap_rputs(body, r);
    }
    return OK;
}

int cs_read_form(request_rec *r, int max_fields, apr_size_t max_bytes,
                 apr_array_header_t **pfields)
{
    apr_array_header_t *raw = NULL, *out;
    int i, st;

    *pfields = NULL;
    if ((st = ap_parse_form_data(r, NULL, &raw, max_fields, max_bytes)) != OK) {
        return st;
    }
    out = cs_pairs_make(r->pool);
    for (i = 0; raw && i < raw->nelts; i++) {
        ap_form_pair_t *fp = &APR_ARRAY_IDX(raw, i, ap_form_pair_t);
        apr_off_t len = 0;
        apr_size_t size;
        char *val;

        apr_brigade_length(fp->value, 1, &len);
        size = (apr_size_t)len;
        val = apr_palloc(r->pool, size + 1);
        apr_brigade_flatten(fp->value, val, &size);
        val[size] = '\0';
        cs_pairs_add(out, fp->name, val, size);
    }
    *pfields = out;
    return OK;
}

int cs_read_body(request_rec *r, apr_size_t max, char **pbuf, apr_size_t *plen)
{
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    apr_size_t len = 0, cap = 8192;
    char *buf;
    int st;

    *pbuf = NULL;
    *plen = 0;
    if (cl && apr_atoi64(cl) > (apr_int64_t)max) return HTTP_REQUEST_ENTITY_TOO_LARGE;
    if ((st = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK)) != OK) return st;
    if (cap > max) cap = max;
    buf = apr_palloc(r->pool, cap + 1);
    if (ap_should_client_block(r)) {
        long n;
        for (;;) {
            if (len == cap) {
                char *nb;
                if (cap >= max) {
                    char junk[1];
                    /* one byte more than allowed: refuse */
                    if (ap_get_client_block(r, junk, 1) > 0) return HTTP_REQUEST_ENTITY_TOO_LARGE;
                    break;
                }
                cap = cap * 2 > max ? max : cap * 2;
                nb = apr_palloc(r->pool, cap + 1);
                memcpy(nb, buf, len);
                buf = nb;
            }
            n = ap_get_client_block(r, buf + len, cap - len);
            if (n < 0) return HTTP_BAD_REQUEST;
            if (n == 0) break;
            len += (apr_size_t)n;
        }
    }
    buf[len] = '\0';
    *pbuf = buf;
    *plen = len;
    return OK;
}

/* An error for a person: a fragment for htmx to show, or a small page for
 * a browser's plain form post (never a JSON text on screen). */
static int send_error_html(request_rec *r, int status, const char *message)
{
    const char *back = apr_table_get(r->headers_in, "Referer"), *html;
    char *msg = ap_escape_html(r->pool, message ? message : "something went wrong");
    size_t n = strlen(msg);

    /* The API's message, written as a sentence for a person. */
    if (n && apr_islower(msg[0])) {
        msg[0] = (char)apr_toupper(msg[0]);
    }
    if (n && !strchr(".!?", msg[n - 1])) {
        msg = apr_pstrcat(r->pool, msg, ".", NULL);
    }

    if (apr_table_get(r->headers_in, "HX-Request")) {
        html = apr_pstrcat(r->pool, "<div class=\"consult-result consult-errors\" role=\"alert\">"
                           "<p>", msg, "</p></div>", NULL);
    }
    else {
        html = apr_pstrcat(r->pool,
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<title>Sorry</title><link rel=\"stylesheet\" href=\"/style.css\"></head>"
            "<body><main class=\"container\" id=\"main\"><h1>Sorry</h1><p>", msg,
            status == HTTP_SERVICE_UNAVAILABLE || status == HTTP_TOO_MANY_REQUESTS
                ? " Nothing you typed is lost: go back and send it again in a moment." : "",
            "</p><p><a href=\"",
            back && (!strncmp(back, "http://", 7) || !strncmp(back, "https://", 8))
                ? ap_escape_html(r->pool, back) : "/",
            "\">Go back</a></p></main></body></html>", NULL);
    }
    ap_set_content_type(r, "text/html; charset=utf-8");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    ap_set_content_length(r, strlen(html));
    if (!r->header_only) {
        ap_rputs(html, r);
    }
    return OK;
}

/* Whether the client reads HTML rather than JSON: htmx, or a browser
 * whose Accept names text/html (fetch() and API clients do not). */
static int wants_html(request_rec *r)
{
    const char *accept = apr_table_get(r->headers_in, "Accept");
    return apr_table_get(r->headers_in, "HX-Request") != NULL
           || (accept && ap_strcasestr(accept, "text/html"));
}

int cs_send_error(request_rec *r, int status, const char *code,
                    const char *message)
{
    cs_json_t *doc = cs_json_object(r->pool);

    cs_json_set_str(doc, "error", code);
    cs_json_set_str(doc, "message", message);
    if (status == HTTP_SERVICE_UNAVAILABLE) {
        apr_table_setn(r->headers_out, "Retry-After",
                       apr_itoa(r->pool, core_retry_after(r->server)));
    }
    /* An unread body must not be taken for the next request. For 413 (and
     * 405/415, whose body we never read) close the connection rather than
     * drain a body we refused; httpd's lingering close avoids a reset. */
    r->status = status;
    if (status == HTTP_REQUEST_ENTITY_TOO_LARGE
        || status == HTTP_UNSUPPORTED_MEDIA_TYPE
        || status == HTTP_METHOD_NOT_ALLOWED) {
        r->connection->keepalive = AP_CONN_CLOSE;
    }
    else {
        ap_discard_request_body(r);
    }
    if (wants_html(r)) {
        return send_error_html(r, status, message);
    }
    return cs_send_json(r, status, cs_json_dump(doc, r->pool));
}

/* The inbound journal's rows not yet processed, by provider: how far the
 * workers are behind (journal-first intake drains here), and the rows
 * given up on after five failures. */
static cs_json_t *journal_backlog(request_rec *r, PGconn *conn)
{
    cs_json_t *out = cs_json_object(r->pool);
    const char *err = NULL;
    PGresult *res;
    int i;

    res = cs_db_exec(conn, r->pool, &err, PGRES_TUPLES_OK,
        "SELECT provider, count(*) FILTER (WHERE attempts < 5),"
        "  coalesce(extract(epoch FROM now() - min(received_at) FILTER (WHERE attempts < 5)), 0),"
        "  count(*) FILTER (WHERE attempts >= 5)"
        " FROM provider_events WHERE processed_at IS NULL GROUP BY provider ORDER BY provider",
        0, NULL);
    if (!res) {
        cs_json_set_str(out, "error", "unavailable (are migrations applied?)");
        return out;
    }
    for (i = 0; i < PQntuples(res); i++) {
        cs_json_t *p = cs_json_object(r->pool);
        cs_json_set_int(p, "waiting", apr_atoi64(PQgetvalue(res, i, 1)));
        cs_json_set_double(p, "oldest_s", atof(PQgetvalue(res, i, 2)));
        cs_json_set_int(p, "failed", apr_atoi64(PQgetvalue(res, i, 3)));
        cs_json_set_obj(out, PQgetvalue(res, i, 0), p);
    }
    PQclear(res);
    return out;
}

/* The consult_health hooks: each module's part of the report. */
static void run_health_hooks(request_rec *r, PGconn *conn, cs_json_t *doc)
{
    int i, n;
    const core_hook_link *h = core_hooks_of("consult_health", &n);

    for (i = 0; i < n; i++) {
        ((cs_HOOK_consult_health_t *)h[i].fn)(r, conn, doc);
    }
}

int core_health_handler(request_rec *r)
{
    cs_json_t *doc, *db, *pool;
    cs_db_pool_stats_t st;
    PGconn *conn = NULL;
    PGresult *res = NULL;
    const char *err = NULL;
    apr_time_t t0;
    int ok = 0;

    if (strcmp(r->uri, "/consult/health")) {
        return DECLINED;
    }
    if (r->method_number != M_GET) {
        r->allowed = AP_METHOD_BIT << M_GET;
        apr_table_setn(r->headers_out, "Allow", "GET, HEAD");
        return cs_send_error(r, HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                               "use GET");
    }
    doc = cs_json_object(r->pool);
    db = cs_json_object(r->pool);
    t0 = apr_time_now();
    if (!cs_core_child) {
        err = "ConsultDatabase is not configured";
    }
    else if (cs_db_acquire(r, &conn) != APR_SUCCESS) {
        err = "cannot connect";
    }
    else if (!(res = cs_db_exec(conn, r->pool, &err, PGRES_TUPLES_OK,
                                "SELECT 1", 0, NULL))) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(01020)
                      "health check query failed: %s", err);
        err = "query failed";
    }
    else {
        ok = 1;
        PQclear(res);
    }
    cs_json_set_str(doc, "status", ok ? "ok" : "unavailable");
    cs_json_set_bool(db, "ok", ok);
    if (ok) {
        cs_json_set_double(db, "rtt_ms",
                           (double)(apr_time_now() - t0) / 1000.0);
    }
    else {
        cs_json_set_str(db, "error", err);
    }
    cs_json_set_obj(doc, "database", db);
    if (ok) {
        /* Queue depth and dead jobs: what an operator checks first when
         * messages stop going out. */
        cs_job_stats_t js;
        cs_json_t *jobs = cs_json_object(r->pool);
        if (cs_jobs_stats(conn, r->pool, &err, &js) == APR_SUCCESS) {
            cs_json_set_int(jobs, "queued", js.queued);
            cs_json_set_int(jobs, "due", js.due);
            cs_json_set_int(jobs, "running", js.running);
            cs_json_set_int(jobs, "dead", js.dead);
            cs_json_set_double(jobs, "oldest_due_s", js.oldest_due_s);
        }
        else {
            cs_json_set_str(jobs, "error", "unavailable (are migrations applied?)");
        }
        cs_json_set_obj(doc, "jobs", jobs);
        cs_json_set_obj(doc, "journal", journal_backlog(r, conn));
        run_health_hooks(r, conn, doc);
    }
    if (cs_core_child) {
        pool = cs_json_object(r->pool);
        cs_db_pool_stats(cs_core_child->pool, &st);
        cs_json_set_int(pool, "in_use", st.in_use);
        cs_json_set_int(pool, "min", st.min);
        cs_json_set_int(pool, "keep", st.keep);
        cs_json_set_int(pool, "max", st.max);
        cs_json_set_int(pool, "opened", (apr_int64_t)st.opened);
        cs_json_set_int(pool, "broken", (apr_int64_t)st.broken);
        cs_json_set_int(pool, "pid", (apr_int64_t)getpid());
        cs_json_set_obj(doc, "pool", pool);
    }
    if (!ok) {
        apr_table_setn(r->headers_out, "Retry-After",
                       apr_itoa(r->pool, core_retry_after(r->server)));
    }
    return cs_send_json(r, ok ? HTTP_OK : HTTP_SERVICE_UNAVAILABLE,
                          cs_json_dump(doc, r->pool));
}
