/* POST /api/intake: validate, store in one statement, answer after commit. */
#include "intake_private.h"

#include "http_protocol.h"
#include "http_request.h"
#include <apr_strings.h>

APLOG_USE_MODULE(consult_intake);

/* One INSERT is one transaction: Postgres answers only after it commits,
 * so the 2xx below always follows a durable row. */
static const char *INSERT_SUBMISSION =
    "INSERT INTO submissions"
    " (client_id, name, email, phone, message, fields, source_ip, user_agent, referer)"
    " VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::inet, $8, $9)"
    " RETURNING id";

/* A browser posting the site's form gets a page, not JSON. */
static int wants_html(request_rec *r, int is_json)
{
    const char *accept = apr_table_get(r->headers_in, "Accept");
    return !is_json && accept && ap_strcasestr(accept, "text/html");
}

static int send_invalid_html(request_rec *r, const apr_array_header_t *errors)
{
    const char *back = apr_table_get(r->headers_in, "Referer");
    int i;

    r->status = HTTP_BAD_REQUEST;
    ap_set_content_type(r, "text/html; charset=utf-8");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    ap_rputs("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
             "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
             "<title>Please check the form</title><link rel=\"stylesheet\" "
             "href=\"/style.css\"></head><body><main class=\"container\" "
             "id=\"main\"><h1>Please check the form</h1><ul>", r);
    for (i = 0; i < errors->nelts; i++) {
        const cs_field_error_t *e = &APR_ARRAY_IDX(errors, i, cs_field_error_t);
        ap_rprintf(r, "<li><strong>%s</strong> %s</li>",
                   ap_escape_html(r->pool, e->field),
                   ap_escape_html(r->pool, e->message));
    }
    ap_rprintf(r, "</ul><p><a href=\"%s\">Go back to the form</a> &mdash; "
               "what you typed is still there.</p></main></body></html>",
               back && (!strncmp(back, "http://", 7) || !strncmp(back, "https://", 8))
                   ? ap_escape_html(r->pool, back) : "javascript:history.back()");
    return OK;
}

static int store(request_rec *r, const cs_client_t *client,
                 const cs_submission_t *sub, const char **pid)
{
    PGconn *conn;
    PGresult *res;
    const char *err = NULL;
    const char *params[9];
    apr_status_t rv;

    if ((rv = intake_core.db_acquire(r, &conn)) != APR_SUCCESS) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    params[0] = client->id_str;
    params[1] = sub->name;
    params[2] = sub->email;
    params[3] = sub->phone;
    params[4] = sub->message;
    params[5] = sub->fields_json;
    params[6] = r->useragent_ip;
    params[7] = apr_table_get(r->headers_in, "User-Agent");
    params[8] = apr_table_get(r->headers_in, "Referer");
    res = cs_db_exec(conn, r->pool, &err, PGRES_TUPLES_OK, INSERT_SUBMISSION,
                     9, params);
    if (!res) {
        int lost = cs_db_conn_lost(conn);
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(02010)
                      "storing a submission for client %s failed: %s",
                      client->slug, err);
        return lost ? HTTP_SERVICE_UNAVAILABLE : HTTP_INTERNAL_SERVER_ERROR;
    }
    *pid = apr_pstrdup(r->pool, PQgetvalue(res, 0, 0));
    PQclear(res);
    return OK;
}

int intake_handler(request_rec *r)
{
    intake_conf *conf = intake_sconf(r->server);
    apr_array_header_t *pairs = NULL, *errors;
    const cs_client_t *client = NULL;
    cs_submission_t *sub = NULL;
    const char *why = NULL, *id = NULL;
    int is_json = 0, st;
    apr_status_t rv;

    if (conf->enabled != 1 || strcmp(r->uri, INTAKE_PATH)) {
        return DECLINED;
    }
    if (!intake_core.client_configured(r->server)) {
        return HTTP_NOT_FOUND;      /* tenant-scoped: no client, no endpoint */
    }
    if (r->method_number != M_POST) {
        r->allowed = AP_METHOD_BIT << M_POST;
        apr_table_setn(r->headers_out, "Allow", "POST");
        return intake_core.send_error(r, HTTP_METHOD_NOT_ALLOWED,
                                      "method_not_allowed",
                                      "send the form with POST");
    }
    errors = cs_field_errors_make(r->pool);
    st = intake_read_pairs(r, intake_max_body(conf), &is_json, &pairs, errors, &why);
    if (st == HTTP_BAD_REQUEST && errors->nelts) {
        return wants_html(r, is_json) ? send_invalid_html(r, errors)
               : intake_core.send_json(r, HTTP_BAD_REQUEST,
                                       cs_field_errors_json(r->pool, errors));
    }
    if (st != OK) {
        return intake_core.send_error(
            r, st,
            st == HTTP_REQUEST_ENTITY_TOO_LARGE ? "body_too_large"
            : st == HTTP_UNSUPPORTED_MEDIA_TYPE ? "unsupported_media_type"
            : "bad_request", why);
    }
    if (cs_intake_build(&sub, r->pool, pairs, errors) != APR_SUCCESS) {
        return wants_html(r, is_json) ? send_invalid_html(r, errors)
               : intake_core.send_json(r, HTTP_BAD_REQUEST,
                                       cs_field_errors_json(r->pool, errors));
    }

    rv = intake_core.client_get(r, &client);
    if (APR_STATUS_IS_NOTFOUND(rv)) {
        return HTTP_NOT_FOUND;      /* unknown slug: core logged which one */
    }
    if (rv != APR_SUCCESS) {
        return intake_core.send_error(r, HTTP_SERVICE_UNAVAILABLE, "unavailable",
                                      "we could not save your message just now; "
                                      "please try again in a moment");
    }
    st = store(r, client, sub, &id);
    if (st != OK) {
        return intake_core.send_error(r, st, st == HTTP_SERVICE_UNAVAILABLE
                                      ? "unavailable" : "internal_error",
                                      "we could not save your message just now; "
                                      "please try again in a moment");
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, CSLOGNO(02011)
                  "submission %s stored for client %s", id, client->slug);
    if (is_json) {
        return intake_core.send_json(r, HTTP_CREATED,
                                     apr_psprintf(r->pool, "{\"id\":%s}", id));
    }
    apr_table_setn(r->headers_out, "Location", intake_thank_you(conf));
    return HTTP_SEE_OTHER;
}
