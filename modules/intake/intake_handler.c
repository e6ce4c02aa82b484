/* POST /api/intake: checks, spam marks, one journal row, answer after commit. */
#include "intake_private.h"
#include "base/cs_crypto.h"
#include "text/cs_text.h"

#include "http_protocol.h"
#include "http_request.h"
#include <apr_strings.h>

APLOG_USE_MODULE(consult_intake);

typedef struct {
    request_rec *r;
    const intake_conf *conf;
    const cs_client_t *client;
    cs_submission_t *sub;
    apr_array_header_t *files;       /* cs_part_t */
    apr_array_header_t *file_types;  /* const char *, sniffed, per file */
    apr_array_header_t *spam;        /* const char * reasons */
    const char *idem_key;
    int kind;                        /* BODY_* */
    int htmx;
} intake_req;

/* ---- responses ------------------------------------------------------- */

/* A browser posting the site's form gets a page, not JSON. */
static int wants_html(const intake_req *q)
{
    const char *accept = apr_table_get(q->r->headers_in, "Accept");
    return q->kind != BODY_JSON && accept && ap_strcasestr(accept, "text/html");
}

static int send_html(request_rec *r, int status, const char *html)
{
    r->status = status;
    ap_set_content_type(r, "text/html; charset=utf-8");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    ap_set_content_length(r, strlen(html));
    ap_rputs(html, r);
    return OK;
}

static const char *error_items(request_rec *r, const apr_array_header_t *errors)
{
    const char *items = "";
    int i;
    for (i = 0; i < errors->nelts; i++) {
        const cs_field_error_t *e = &APR_ARRAY_IDX(errors, i, cs_field_error_t);
        items = apr_pstrcat(r->pool, items, "<li><strong>",
                            ap_escape_html(r->pool, e->field), "</strong> ",
                            ap_escape_html(r->pool, e->message), "</li>", NULL);
    }
    return items;
}

static int send_invalid(intake_req *q, const apr_array_header_t *errors)
{
    request_rec *r = q->r;
    const char *back = apr_table_get(r->headers_in, "Referer");

    if (q->htmx) {
        return send_html(r, HTTP_BAD_REQUEST, apr_pstrcat(
            r->pool, "<div class=\"consult-result consult-errors\" role=\"alert\">"
            "<p>Please check the form:</p><ul>", error_items(r, errors),
            "</ul></div>", NULL));
    }
    if (wants_html(q)) {
        return send_html(r, HTTP_BAD_REQUEST, apr_pstrcat(
            r->pool, "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<title>Please check the form</title><link rel=\"stylesheet\" "
            "href=\"/style.css\"></head><body><main class=\"container\" id=\"main\">"
            "<h1>Please check the form</h1><ul>", error_items(r, errors),
            "</ul><p><a href=\"",
            back && (!strncmp(back, "http://", 7) || !strncmp(back, "https://", 8))
                ? ap_escape_html(r->pool, back) : "/",
            "\">Go back to the form</a> &mdash; what you typed is still there."
            "</p></main></body></html>", NULL));
    }
    return intake_core.send_json(r, HTTP_BAD_REQUEST,
                                 cs_field_errors_json(r->pool, errors));
}

static int invalid1(intake_req *q, const char *field, const char *message)
{
    apr_array_header_t *errors = cs_field_errors_make(q->r->pool);
    cs_field_error_t *e = apr_array_push(errors);
    e->field = field;
    e->message = message;
    return send_invalid(q, errors);
}

static int send_stored(intake_req *q, const char *id, int duplicate)
{
    request_rec *r = q->r;

    if (q->htmx) {
        return send_html(r, duplicate ? HTTP_OK : HTTP_CREATED,
                         "<div class=\"consult-result\" role=\"status\"><p>Thanks "
                         "&mdash; we got your message and will reply soon.</p></div>");
    }
    if (q->kind == BODY_JSON) {
        return intake_core.send_json(r, duplicate ? HTTP_OK : HTTP_CREATED,
                                     apr_psprintf(r->pool, "{\"id\":%s%s}", id,
                                                  duplicate ? ",\"duplicate\":true" : ""));
    }
    /* A form post, retried or not, lands on the thank-you page. */
    apr_table_setn(r->headers_out, "Location", q->conf->thank_you);
    return HTTP_SEE_OTHER;
}

/* ---- checks ---------------------------------------------------------- */

/* Cross-origin posts only from ConsultIntakeAllowOrigin; same-origin and
 * non-browser (no Origin) posts always. Returns OK or 403. */
static int check_origin(intake_req *q, int preflight)
{
    request_rec *r = q->r;
    const char *origin = apr_table_get(r->headers_in, "Origin");
    const char *host = apr_table_get(r->headers_in, "Host");
    int i;

    if (!origin) {
        return preflight ? HTTP_FORBIDDEN : OK;
    }
    apr_table_mergen(r->err_headers_out, "Vary", "Origin");
    if (host && (!strcmp(origin, apr_pstrcat(r->pool, "http://", host, NULL))
                 || !strcmp(origin, apr_pstrcat(r->pool, "https://", host, NULL)))) {
        return OK;
    }
    for (i = 0; q->conf->origins && i < q->conf->origins->nelts; i++) {
        if (!strcmp(origin, APR_ARRAY_IDX(q->conf->origins, i, const char *))) {
            apr_table_setn(r->err_headers_out, "Access-Control-Allow-Origin", origin);
            return OK;
        }
    }
    return HTTP_FORBIDDEN;
}

static int preflight(intake_req *q)
{
    request_rec *r = q->r;
    if (check_origin(q, 1) != OK) {
        return intake_core.send_error(r, HTTP_FORBIDDEN, "origin_not_allowed",
                                      "this origin may not post to this site");
    }
    apr_table_setn(r->err_headers_out, "Access-Control-Allow-Methods", "POST");
    apr_table_setn(r->err_headers_out, "Access-Control-Allow-Headers",
                   "Content-Type, Idempotency-Key, HX-Request, HX-Current-URL, "
                   "HX-Target, HX-Trigger");
    apr_table_setn(r->err_headers_out, "Access-Control-Max-Age", "600");
    apr_table_setn(r->headers_out, "Allow", "POST, OPTIONS");
    r->status = HTTP_NO_CONTENT;
    return OK;
}

/* The sender's network for the per-IP limit (an IPv6 host's /64). */
static const char *ip_key(request_rec *r)
{
    return cs_ip_network(r->pool, r->useragent_ip);
}

/* Over the per-client budget, posts are still stored but marked spam, so
 * a flood cannot shut a client's form for genuine visitors. */
static void client_budget(intake_req *q)
{
    int retry = 0;
    if (!intake_core.rate_limit(q->r, apr_pstrcat(q->r->pool, "intake-client|",
                                                  intake_core.client_slug(q->r->server),
                                                  NULL),
                                q->conf->client_limit, q->conf->client_window, &retry)) {
        APR_ARRAY_PUSH(q->spam, const char *) = "client_rate_limit";
    }
}

/* 1: go on; 0: over the per-IP limit, the 429 is sent. */
static int within_rate_limits(intake_req *q)
{
    request_rec *r = q->r;
    int retry = 0, ok;

    ok = intake_core.rate_limit(r, apr_pstrcat(r->pool, "intake-ip|",
                                               ip_key(r), NULL),
                                q->conf->ip_limit, q->conf->ip_window, &retry);
    if (ok) {
        return 1;
    }
    apr_table_setn(r->err_headers_out, "Retry-After", apr_itoa(r->pool, retry));
    intake_core.send_error(r, HTTP_TOO_MANY_REQUESTS, "rate_limited",
                           "too many messages from here; try again later");
    return 0;
}

static void mark_spam(intake_req *q, const char *reason)
{
    APR_ARRAY_PUSH(q->spam, const char *) = reason;
}

/* Honeypot and form token. Spam is stored and marked, never dropped:
 * staff can rescue a false positive. A valid token's nonce is the post's
 * idempotency key, whatever Idempotency-Key the client sent. */
static void check_spam(intake_req *q)
{
    request_rec *r = q->r;
    const unsigned char *key;
    apr_size_t keylen;
    const char *nonce = NULL;
    cs_token_verdict_t v;

    if (q->sub->honeypot_tripped) {
        mark_spam(q, "honeypot");
    }
    if (q->conf->token_mode == TOKEN_OFF) {
        return;
    }
    intake_core.server_secret(r->server, &key, &keylen);
    v = cs_form_token_check(r->pool, q->sub->token, key, keylen, q->client->slug,
                            apr_time_now(), q->conf->min_fill,
                            q->conf->token_max_age, &nonce);
    if (v == CS_TOKEN_MISSING && q->conf->token_mode == TOKEN_OPTIONAL) {
        return;
    }
    if (v != CS_TOKEN_OK) {
        mark_spam(q, cs_token_verdict_name(v));
    }
    /* One token, one submission: the nonce wins over any Idempotency-Key,
     * or a replayed token with a fresh header would store again. */
    if (nonce) {
        q->idem_key = apr_pstrcat(r->pool, "form:", nonce, NULL);
    }
}

/* 1: every file is acceptable; 0: one is not, the 400 is sent. */
static int files_acceptable(intake_req *q)
{
    int i;

    q->file_types = apr_array_make(q->r->pool, 2, sizeof(const char *));
    for (i = 0; q->files && i < q->files->nelts; i++) {
        cs_part_t *f = &APR_ARRAY_IDX(q->files, i, cs_part_t);
        cs_sniffer_t *sniffer = intake_sniffer_get();
        const char *type;
        if (!sniffer) {
            invalid1(q, f->name, "attachments are not accepted right now");
            return 0;
        }
        /* The declared type is the sender's claim; the bytes decide. */
        type = cs_sniff(sniffer, q->r->pool, f->data, f->len);
        if (!cs_type_allowed(type, q->conf->allow_types)) {
            invalid1(q, f->name, apr_psprintf(
                q->r->pool, "is a file of type %s, which is not accepted "
                "(accepted: %s)", type, q->conf->allow_types));
            return 0;
        }
        APR_ARRAY_PUSH(q->file_types, const char *) = type;
    }
    return 1;
}

/* ---- storing --------------------------------------------------------- */

/* Journal-first: the post is one row of core's inbound journal (provider
 * "intake"), committed before the answer; the job worker's drain
 * (intake_drain.c) makes the contact, conversation, message and submission
 * from it moments later. Its event id is the idempotency key, or a random
 * one, so a retried post finds its first row. */
#define JOURNAL_PROVIDER "intake"

static int store_files(intake_req *q, PGconn *conn, apr_int64_t journal_id)
{
    request_rec *r = q->r;
    const char *jid = apr_psprintf(r->pool, "%" APR_INT64_T_FMT, journal_id);
    int i;

    for (i = 0; i < q->files->nelts; i++) {
        cs_part_t *f = &APR_ARRAY_IDX(q->files, i, cs_part_t);
        const char *vals[7];
        int lens[7] = { 0 }, fmts[7] = { 0 };
        PGresult *res;

        vals[0] = q->client->id_str;
        vals[1] = jid;
        vals[2] = f->name;
        vals[3] = f->filename;
        vals[4] = APR_ARRAY_IDX(q->file_types, i, const char *);
        vals[5] = cs_sha256_hex(r->pool, f->data, f->len);
        vals[6] = f->data;
        lens[6] = (int)f->len;
        fmts[6] = 1;        /* binary: the bytes go in untouched */
        res = PQexecParams(conn,
                           "INSERT INTO attachments (client_id, journal_id, field,"
                           " filename, content_type, size, sha256, data)"
                           " VALUES ($1, $2, $3, $4, $5, octet_length($7::bytea), $6, $7::bytea)",
                           7, NULL, vals, lens, fmts, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(02012)
                          "storing an attachment failed: %s (SQLSTATE %s)",
                          PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY),
                          PQresultErrorField(res, PG_DIAG_SQLSTATE));
            PQclear(res);
            return cs_db_conn_lost(conn) ? HTTP_SERVICE_UNAVAILABLE
                                         : HTTP_INTERNAL_SERVER_ERROR;
        }
        PQclear(res);
    }
    return OK;
}

static const char *event_id(intake_req *q)
{
    unsigned char raw[16];
    char hex[33];

    if (q->idem_key) {
        return q->idem_key;
    }
    if (cs_random_bytes(raw, sizeof(raw)) != APR_SUCCESS) {
        return NULL;
    }
    cs_hex_encode(hex, raw, sizeof(raw));
    return apr_pstrcat(q->r->pool, "post:", hex, NULL);
}

static int store(intake_req *q, const char **pid, int *pdup)
{
    request_rec *r = q->r;
    int with_files = q->files && q->files->nelts > 0, st = OK;
    const char *payload, *eid, *err = NULL;
    cs_intake_edge_t edge;
    apr_int64_t jid = 0;
    PGconn *conn;
    apr_status_t rv;

    if (!(eid = event_id(q))) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    memset(&edge, 0, sizeof(edge));
    edge.ip = r->useragent_ip;
    edge.user_agent = apr_table_get(r->headers_in, "User-Agent");
    edge.referer = apr_table_get(r->headers_in, "Referer");
    edge.key = q->idem_key;
    edge.spam = q->spam;
    edge.files = with_files ? q->files->nelts : 0;
    payload = cs_intake_journal_json(r->pool, q->sub, &edge);

    if (intake_core.db_acquire(r, &conn) != APR_SUCCESS) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    /* Files need a second statement, so an explicit transaction; without
     * files the single INSERT is its own transaction. */
    if (with_files && cs_db_command(conn, r->pool, &err, "BEGIN") != APR_SUCCESS) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    rv = intake_core.journal_append(r, JOURNAL_PROVIDER, eid, payload, strlen(payload),
                                    &jid, pdup);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, CSLOGNO(02010)
                      "storing a submission for client %s failed", q->client->slug);
        return cs_db_conn_lost(conn) ? HTTP_SERVICE_UNAVAILABLE : HTTP_INTERNAL_SERVER_ERROR;
    }
    *pid = apr_psprintf(r->pool, "%" APR_INT64_T_FMT, jid);
    if (with_files) {
        if (!*pdup) {
            st = store_files(q, conn, jid);
        }
        if (st == OK && cs_db_command(conn, r->pool, &err, "COMMIT") != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(02013)
                          "commit failed: %s", err);
            st = HTTP_SERVICE_UNAVAILABLE;
        }
        /* On failure the lease's release rolls back the open transaction. */
    }
    return st;
}

/* A post only a bot makes (the hidden field filled: it is off-screen,
 * tabindex -1, autocomplete off) past the client's keep budget is counted,
 * not stored, so a flood costs neither rows nor filing; the first
 * ConsultIntakeSpamKeep per window are stored and marked, for staff to see
 * and rescue. Not a bad form token: a restart without ConsultSecret, or
 * another node's key, gives a person one. */
static int counted_only(intake_req *q)
{
    int retry = 0;

    return q->sub->honeypot_tripped && q->conf->spam_keep > 0
           && !intake_core.rate_limit(q->r, apr_pstrcat(q->r->pool, "intake-spam|",
                                                        q->client->slug, NULL),
                                      q->conf->spam_keep, q->conf->spam_window, &retry);
}

/* The answer to a counted post: what a stored one gets, without an id. */
static int send_counted(intake_req *q)
{
    if (q->htmx || q->kind != BODY_JSON) {
        return send_stored(q, "0", 0);
    }
    return intake_core.send_json(q->r, HTTP_ACCEPTED, "{\"counted\":true}");
}

/* ---- the handler ----------------------------------------------------- */

int intake_handler(request_rec *r)
{
    const intake_conf *conf = intake_sconf(r->server);
    apr_array_header_t *pairs = NULL, *errors;
    intake_req q;
    const char *why = NULL, *id = NULL, *idem;
    int st, dup = 0;
    apr_status_t rv;
    cs_intake_opts_t opts;

    if (conf->enabled != 1 || strcmp(r->uri, INTAKE_PATH)) {
        return DECLINED;
    }
    if (!intake_core.client_slug(r->server)) {
        return HTTP_NOT_FOUND;      /* tenant-scoped: no client, no endpoint */
    }
    memset(&q, 0, sizeof(q));
    q.r = r;
    q.conf = conf;
    q.htmx = apr_table_get(r->headers_in, "HX-Request") != NULL;
    q.spam = apr_array_make(r->pool, 2, sizeof(const char *));

    if (r->method_number == M_OPTIONS) {
        return preflight(&q);
    }
    if (r->method_number != M_POST) {
        r->allowed = AP_METHOD_BIT << M_POST;
        apr_table_setn(r->headers_out, "Allow", "POST");
        return intake_core.send_error(r, HTTP_METHOD_NOT_ALLOWED,
                                      "method_not_allowed", "send the form with POST");
    }
    if (check_origin(&q, 0) != OK) {
        return intake_core.send_error(r, HTTP_FORBIDDEN, "origin_not_allowed",
                                      "this origin may not post to this site");
    }
    if (!within_rate_limits(&q)) {
        return OK;
    }
    idem = apr_table_get(r->headers_in, "Idempotency-Key");
    if (idem) {
        if (!*idem || strlen(idem) > 150 || !cs_text_is_clean(idem, strlen(idem))) {
            return intake_core.send_error(r, HTTP_BAD_REQUEST, "invalid_header",
                                          "Idempotency-Key must be 1 to 150 characters");
        }
        q.idem_key = apr_pstrcat(r->pool, "key:", idem, NULL);
    }

    errors = cs_field_errors_make(r->pool);
    st = intake_read_pairs(r, conf, &q.kind, &pairs, &q.files, errors, &why);
    if (st == HTTP_BAD_REQUEST && errors->nelts) {
        return send_invalid(&q, errors);
    }
    if (st != OK) {
        return intake_core.send_error(
            r, st, st == HTTP_REQUEST_ENTITY_TOO_LARGE ? "body_too_large"
                   : st == HTTP_UNSUPPORTED_MEDIA_TYPE ? "unsupported_media_type"
                   : "bad_request", why);
    }
    opts.region = conf->region;
    opts.honeypot = *conf->honeypot ? conf->honeypot : NULL;
    opts.token_field = INTAKE_TOKEN_FIELD;
    if (cs_intake_build_ex(&q.sub, r->pool, pairs, &opts, errors) != APR_SUCCESS) {
        return send_invalid(&q, errors);
    }
    if (!files_acceptable(&q)) {
        return OK;
    }

    rv = intake_core.client_get(r, &q.client);
    if (APR_STATUS_IS_NOTFOUND(rv)) {
        return HTTP_NOT_FOUND;      /* unknown slug: core logged which one */
    }
    if (rv != APR_SUCCESS) {
        return intake_core.send_error(r, HTTP_SERVICE_UNAVAILABLE, "unavailable",
                                      "we could not save your message just now; "
                                      "please try again in a moment");
    }
    check_spam(&q);
    if (counted_only(&q) && intake_core.edge_count(q.client->id_str, "honeypot")) {
        return send_counted(&q);
    }
    client_budget(&q);
    st = store(&q, &id, &dup);
    if (st != OK) {
        return intake_core.send_error(r, st, st == HTTP_SERVICE_UNAVAILABLE
                                      ? "unavailable" : "internal_error",
                                      "we could not save your message just now; "
                                      "please try again in a moment");
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, CSLOGNO(02011)
                  "post %s %s for client %s%s", id,
                  dup ? "found again" : "recorded", q.client->slug,
                  q.spam->nelts ? " (marked spam)" : "");
    return send_stored(&q, id, dup);
}
