/* Rendering and the small helpers every dashboard page uses. */
#include "inbox_private.h"

#include "http_protocol.h"
#include "http_request.h"
#include "util_script.h"
#include "domain/cs_intake.h"
#include <apr_strings.h>
#include <apr_lib.h>
#include <stdlib.h>

APLOG_USE_MODULE(consult_inbox);

static apr_status_t put_json(void *data)
{
    json_object_put(data);
    return APR_SUCCESS;
}

/* A POST's transaction (inbox_tx_begin/end), kept on the request pool so
 * that inbox_render, which has no ctx, can tell it is open. */
typedef struct {
    inbox_ctx *ctx;
    int open;                   /* BEGIN sent, neither COMMIT nor ROLLBACK yet */
    const char *held;           /* a page rendered while open, sent after it */
    apr_size_t held_len;
} inbox_tx;

#define TX_KEY "consult_inbox.tx"

static inbox_tx *tx_of(request_rec *r)
{
    void *tx = NULL;
    apr_pool_userdata_get(&tx, TX_KEY, r->pool);
    return tx;
}

int inbox_render(request_rec *r, int status, const char *name, json_object *data)
{
    const inbox_conf *conf = inbox_sconf(r->server);
    const char *out = NULL, *err = NULL;
    apr_size_t len = 0;
    inbox_tx *tx = tx_of(r);

    /* The data belongs to the request from here on, rendered or not. */
    apr_pool_cleanup_register(r->pool, data, put_json, apr_pool_cleanup_null);
    if (cs_tmpl_render(&out, &len, r->pool, conf->tmpl, name, data, &err) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(03010)
                      "rendering template %s failed: %s", name, err ? err : "?");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    r->status = status;
    ap_set_content_type(r, "text/html; charset=utf-8");
    ap_set_content_length(r, len);
    if (tx && tx->open) {
        /* Not a byte leaves before COMMIT: the page says what was done. */
        tx->held = out;
        tx->held_len = len;
        return OK;
    }
    if (!r->header_only) {
        ap_rwrite(out, (int)len, r);
    }
    return OK;
}

static int tx_command(request_rec *r, inbox_tx *tx, const char *sql, const char *expect_tag)
{
    const char *err = NULL;
    PGresult *res = cs_db_exec(tx->ctx->conn, r->pool, &err, PGRES_COMMAND_OK, sql, 0, NULL);
    int ok = res != NULL;
    /* COMMIT of a transaction in which a statement failed "succeeds" with
     * the tag ROLLBACK: that is a failure here. */
    if (res && expect_tag && strcmp(PQcmdStatus(res), expect_tag)) {
        err = apr_pstrcat(r->pool, "the transaction ended in ", PQcmdStatus(res), NULL);
        ok = 0;
    }
    if (res) PQclear(res);
    if (!ok) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(03013)
                      "dashboard %s failed: %s", sql, err ? err : "?");
    }
    return ok;
}

int inbox_tx_begin(request_rec *r, inbox_ctx *ctx)
{
    inbox_tx *tx = apr_pcalloc(r->pool, sizeof(*tx));
    tx->ctx = ctx;
    if (!tx_command(r, tx, "BEGIN", NULL)) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    tx->open = 1;
    apr_pool_userdata_setn(tx, TX_KEY, NULL, r->pool);
    return OK;
}

void inbox_tx_abort(request_rec *r)
{
    inbox_tx *tx = tx_of(r);
    if (tx && tx->open) {
        tx->open = 0;
        /* If even this fails, the pool's cleanup rolls the connection back
         * before anyone else gets it. */
        tx_command(r, tx, "ROLLBACK", NULL);
    }
}

int inbox_tx_end(request_rec *r, int status)
{
    inbox_tx *tx = tx_of(r);
    int answer;

    if (!tx) {
        return status;
    }
    /* What the client is told: a returned status, or (OK, the response
     * made) the one the route set, e.g. a page with a form error or
     * cs_send_error's. */
    answer = status == OK || status == DONE ? r->status : status;
    if (tx->open) {
        tx->open = 0;
        if (tx->ctx->audit_failed) {
            tx_command(r, tx, "ROLLBACK", NULL);
            return HTTP_INTERNAL_SERVER_ERROR;  /* done but unrecorded: undone */
        }
        if (answer < 400 && PQtransactionStatus(tx->ctx->conn) == PQTRANS_INERROR) {
            /* A statement failed and the route went on: nothing of it
             * would be stored, so it must not say it was. */
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(03014)
                          "dashboard action %s left a failed transaction", r->uri);
            tx_command(r, tx, "ROLLBACK", NULL);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (answer >= 400) {
            tx_command(r, tx, "ROLLBACK", NULL);
        }
        else if (!tx_command(r, tx, "COMMIT", "COMMIT")) {
            return HTTP_INTERNAL_SERVER_ERROR;  /* the held page is dropped */
        }
    }
    /* A held page is the answer only when the route answered with it. */
    if (tx->held && (status == OK || status == DONE) && !r->header_only) {
        ap_rwrite(tx->held, (int)tx->held_len, r);
    }
    tx->held = NULL;
    return status;
}

int inbox_is_htmx(request_rec *r)
{
    return apr_table_get(r->headers_in, "HX-Request") != NULL;
}

int inbox_redirect(request_rec *r, const char *to)
{
    if (inbox_is_htmx(r)) {
        /* htmx follows this header with a full navigation. */
        apr_table_setn(r->headers_out, "HX-Redirect", to);
        r->status = HTTP_OK;
        ap_set_content_length(r, 0);
        return OK;
    }
    apr_table_setn(r->headers_out, "Location", to);
    return HTTP_SEE_OTHER;
}

apr_table_t *inbox_read_form(request_rec *r)
{
    apr_array_header_t *pairs = NULL;
    apr_table_t *form = apr_table_make(r->pool, 8);
    const char *ct = apr_table_get(r->headers_in, "Content-Type");
    int i;

    if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33)) {
        ap_discard_request_body(r);
        return form;
    }
    if (inbox_core.read_form(r, 64, 64 * 1024, &pairs) != OK) {
        return NULL;
    }
    for (i = 0; i < pairs->nelts; i++) {
        cs_pair_t *pair = &APR_ARRAY_IDX(pairs, i, cs_pair_t);
        apr_table_add(form, pair->key, pair->value);
    }
    return form;
}

static json_object *cell(PGresult *res, int i, int j)
{
    const char *v;
    if (PQgetisnull(res, i, j)) {
        return NULL;
    }
    v = PQgetvalue(res, i, j);
    switch (PQftype(res, j)) {
    case 16:                                   /* bool */
        return json_object_new_boolean(v[0] == 't');
    case 20: case 21: case 23:                 /* int8, int2, int4 */
        return json_object_new_int64(strtoll(v, NULL, 10));
    case 700: case 701: case 1700:             /* float4, float8, numeric */
        return json_object_new_double(strtod(v, NULL));
    case 114: case 3802:                       /* json, jsonb */
        return json_tokener_parse(v);
    default:
        return json_object_new_string(v);
    }
}

json_object *inbox_row(PGresult *res, int i)
{
    json_object *o = json_object_new_object();
    int j;
    for (j = 0; j < PQnfields(res); j++) {
        json_object_object_add(o, PQfname(res, j), cell(res, i, j));
    }
    return o;
}

json_object *inbox_rows(PGresult *res)
{
    json_object *a = json_object_new_array();
    int i;
    for (i = 0; i < PQntuples(res); i++) {
        json_object_array_add(a, inbox_row(res, i));
    }
    return a;
}

PGresult *inbox_query(request_rec *r, inbox_ctx *ctx, const char *sql,
                      int n, const char *const *params)
{
    const char *err = NULL;
    PGresult *res = cs_db_exec(ctx->conn, r->pool, &err, PGRES_TUPLES_OK, sql, n, params);
    if (!res) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(03011)
                      "dashboard query failed: %s", err);
    }
    return res;
}

const char *inbox_id(apr_pool_t *p, const char *s)
{
    static const char max[] = "9223372036854775807";       /* bigint's largest */
    const char *c;
    apr_size_t n;

    if (!s || !*s) {
        return NULL;
    }
    for (c = s; *c; c++) {
        if (!apr_isdigit(*c)) return NULL;
    }
    while (*s == '0') s++;
    n = strlen(s);
    if (n == 0 || n > sizeof(max) - 1 || (n == sizeof(max) - 1 && strcmp(s, max) > 0)) {
        return NULL;
    }
    return apr_pstrmemdup(p, s, n);
}

int inbox_audit(request_rec *r, inbox_ctx *ctx, const char *action,
                const char *target_type, const char *target_id, const char *detail_json)
{
    const char *params[6] = { ctx->client_id, ctx->user_id, action, target_type,
                              target_id, detail_json ? detail_json : "{}" };
    const char *err = NULL;
    PGresult *res = cs_db_exec(ctx->conn, r->pool, &err, PGRES_COMMAND_OK,
                               "INSERT INTO audit_log (client_id, user_id, action,"
                               " target_type, target_id, detail)"
                               " VALUES ($1, $2, $3, $4, $5::bigint, $6::jsonb)", 6, params);
    if (!res) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(03012)
                      "audit log write failed (%s on %s %s): %s", action, target_type,
                      target_id, err);
        ctx->audit_failed = 1;
        return 0;
    }
    PQclear(res);
    return 1;
}

json_object *inbox_page_data(request_rec *r, inbox_ctx *ctx, const char *title)
{
    json_object *d = json_object_new_object(), *me = json_object_new_object();
    PGresult *res;
    const char *params[1];

    json_object_object_add(d, "title", json_object_new_string(title));
    json_object_object_add(d, "csrf", json_object_new_string(ctx->csrf));
    json_object_object_add(me, "name", json_object_new_string(ctx->user_name));
    json_object_object_add(me, "email", json_object_new_string(ctx->user_email));
    json_object_object_add(me, "is_admin", json_object_new_boolean(ctx->is_admin));
    json_object_object_add(me, "is_owner", json_object_new_boolean(
                               ctx->is_admin || (ctx->role && !strcmp(ctx->role, "owner"))));
    json_object_object_add(d, "me", me);
    if (ctx->client_id) {
        json_object *c = json_object_new_object();
        json_object_object_add(c, "id", json_object_new_string(ctx->client_id));
        json_object_object_add(c, "name", json_object_new_string(ctx->client_name));
        json_object_object_add(c, "slug", json_object_new_string(ctx->client_slug));
        json_object_object_add(d, "client", c);
    }
    /* The clients this person may switch to. */
    params[0] = ctx->user_id;
    res = inbox_query(r, ctx,
                      "SELECT c.id::text AS id, c.name, c.slug FROM clients c"
                      " WHERE EXISTS (SELECT 1 FROM staff_users u WHERE u.id = $1"
                      "   AND u.is_agency_admin)"
                      "    OR EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = $1"
                      "   AND m.client_id = c.id)"
                      " ORDER BY c.name LIMIT 500", 1, params);
    if (res) {
        json_object *list = inbox_rows(res);
        size_t i;
        for (i = 0; i < json_object_array_length(list); i++) {
            json_object *o = json_object_array_get_idx(list, i), *id;
            json_object_object_get_ex(o, "id", &id);
            json_object_object_add(o, "current", json_object_new_boolean(
                ctx->client_id && !strcmp(json_object_get_string(id), ctx->client_id)));
        }
        json_object_object_add(d, "clients", list);
        json_object_object_add(d, "many_clients",
                               json_object_new_boolean(PQntuples(res) > 1));
        PQclear(res);
    }
    inbox_menu_nav(r, ctx, d);   /* the Menu link, for restaurant clients */
    return d;
}
