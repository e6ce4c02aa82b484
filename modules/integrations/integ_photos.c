/*
 * Photos that came with a lead, for the people who open it in Jobber.
 *
 * Jobber's public API has no way we trust to upload a file into a
 * request, so the lead's note carries a link per photo instead:
 * {public URL}/_consult/photos/ID/TOKEN on the client's vhost. TOKEN is a
 * form token (common/auth/cs_token: issued time, nonce, HMAC-SHA256 under
 * the server secret) scoped to the client and the attachment, so a link
 * opens that one photo of that client, for 90 days (INTEG_PHOTO_TTL: a
 * quote is usually done by then), and nothing else; it is checked in constant time,
 * and anything wrong is a plain 404. Only sniffed images are served. The
 * links survive a restart and work on every node only with one
 * ConsultSecret for all of them (production sets it anyway).
 */
#include "integ_private.h"
#include "auth/cs_token.h"

#include "http_protocol.h"
#include <apr_strings.h>
#include <string.h>

APLOG_USE_MODULE(consult_integrations);

static const char *scope_of(apr_pool_t *p, const char *slug, const char *id)
{
    return apr_pstrcat(p, "photo:", slug, ":", id, NULL);
}

const char *integ_photo_link(apr_pool_t *p, server_rec *s, const integ_conf *c,
                             const char *slug, const char *id)
{
    const unsigned char *key = NULL;
    apr_size_t len = 0;

    integ_core.server_secret(s, &key, &len);
    if (!key || !len || !c->public_url) {
        return NULL;
    }
    return apr_pstrcat(p, c->public_url, INTEG_PATH_PHOTOS, id, "/",
                       cs_form_token_issue(p, key, len, scope_of(p, slug, id), apr_time_now()),
                       NULL);
}

int integ_photo_is_path(const char *uri)
{
    return !strncmp(uri, INTEG_PATH_PHOTOS, sizeof(INTEG_PATH_PHOTOS) - 1);
}

int integ_photo(request_rec *r, const integ_conf *c)
{
    const char *rest = r->uri + sizeof(INTEG_PATH_PHOTOS) - 1, *slash, *id, *token;
    const char *nonce = NULL, *err = NULL, *params[2];
    const unsigned char *key = NULL;
    const cs_client_t *client = NULL;
    apr_size_t len = 0, n;
    PGconn *conn = NULL;
    PGresult *res;

    if (r->method_number != M_GET) {
        apr_table_setn(r->headers_out, "Allow", "GET, HEAD");
        return HTTP_METHOD_NOT_ALLOWED;
    }
    n = strspn(rest, "0123456789");
    if (!n || n > 18 || rest[n] != '/' || !(slash = rest + n) || strchr(slash + 1, '/')) {
        return HTTP_NOT_FOUND;
    }
    id = apr_pstrmemdup(r->pool, rest, n);
    token = slash + 1;
    integ_core.server_secret(r->server, &key, &len);
    if (cs_form_token_check(r->pool, token, key, len, scope_of(r->pool, c->slug, id),
                            apr_time_now(), 0, INTEG_PHOTO_TTL, &nonce) != CS_TOKEN_OK) {
        return HTTP_NOT_FOUND;
    }
    if (integ_core.client_get(r, &client) != APR_SUCCESS
        || integ_core.db_acquire(r, &conn) != APR_SUCCESS) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    params[0] = id;
    params[1] = client->id_str;
    /* Binary out: the bytes as stored, not their text form. */
    res = PQexecParams(conn, "SELECT content_type, data FROM attachments"
                             " WHERE id = $1 AND client_id = $2 AND content_type LIKE 'image/%'"
                             "  AND content_type <> 'image/svg+xml'",
                       2, NULL, params, NULL, NULL, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        err = PQerrorMessage(conn);
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(07070)
                      "reading photo %s of %s failed: %s", id, c->slug, err);
        PQclear(res);
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return HTTP_NOT_FOUND;
    }
    ap_set_content_type(r, apr_pstrmemdup(r->pool, PQgetvalue(res, 0, 0),
                                          PQgetlength(res, 0, 0)));
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    apr_table_setn(r->headers_out, "Content-Security-Policy", "default-src 'none'; sandbox");
    apr_table_setn(r->headers_out, "Cache-Control", "private, max-age=3600");
    apr_table_setn(r->headers_out, "Referrer-Policy", "no-referrer");
    ap_set_content_length(r, PQgetlength(res, 0, 1));
    if (!r->header_only) {
        ap_rwrite(PQgetvalue(res, 0, 1), PQgetlength(res, 0, 1), r);
    }
    PQclear(res);
    return OK;
}
