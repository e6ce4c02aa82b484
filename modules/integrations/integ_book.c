/*
 * GET /book on a client's vhost with ConsultCalLink and
 * ConsultCalPageTemplate: the site's booking page, rendered from its own
 * template with the client's Cal.com link. The template shows a plain link
 * to the booking page (what a visitor without JavaScript uses) and an
 * element the shared loader (htdocs/shared/cal-embed.js, over Cal.com's
 * embed snippet from npm) turns into the inline calendar:
 *
 *   {{booking_url}}   https://app.cal.com/haul-away/free-estimate
 *   {{cal_link}}      haul-away/free-estimate
 *   {{cal_origin}}    https://app.cal.com (ConsultCalOrigin)
 *
 * GET /book.json (any vhost with ConsultCalLink) answers the same three as
 * JSON, for a pop-up button on the site's static pages: the button is a
 * plain link to /book (or the Cal.com page) and cal-embed.js, once it has
 * them, turns the click into Cal.com's booking pop-up.
 */
#include "integ_private.h"
#include "base/cs_file.h"
#include "text/cs_tmpl.h"

#include "http_protocol.h"
#include <apr_strings.h>

APLOG_USE_MODULE(consult_integrations);

int integ_book_load(integ_conf *c, apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *v)
{
    char *buf = NULL;
    apr_size_t len = 0;
    const char *err = NULL;
    apr_status_t rv;

    if (!c->page_template) {
        return OK;
    }
    if ((rv = cs_file_read(&buf, &len, ptemp, c->page_template, 1 << 20)) != APR_SUCCESS
        || cs_tmpl_set_create(&c->tmpl, pconf) != APR_SUCCESS
        || cs_tmpl_add(c->tmpl, "book", buf, len, &err) != APR_SUCCESS
        || cs_tmpl_finalize(c->tmpl, &err) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, rv, v, CSLOGNO(07050)
                     "ConsultCalPageTemplate %s: %s", c->page_template,
                     err ? err : "cannot be read");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

static cs_json_t *book_data(request_rec *r, const integ_conf *c)
{
    cs_json_t *doc = cs_json_object(r->pool);
    const char *origin = c->cal_origin ? c->cal_origin : INTEG_CAL_ORIGIN;

    cs_json_set_str(doc, "cal_link", c->cal_link);
    cs_json_set_str(doc, "cal_origin", origin);
    cs_json_set_str(doc, "booking_url", apr_pstrcat(r->pool, origin, "/", c->cal_link, NULL));
    return doc;
}

int integ_book_json(request_rec *r, const integ_conf *c)
{
    if (r->method_number != M_GET) {
        apr_table_setn(r->headers_out, "Allow", "GET, HEAD");
        return HTTP_METHOD_NOT_ALLOWED;
    }
    /* The configuration's, the same for everyone: a minute in caches. */
    apr_table_setn(r->headers_out, "Cache-Control", "public, max-age=60");
    return integ_core.send_json(r, HTTP_OK, cs_json_dump(book_data(r, c), r->pool));
}

int integ_book_page(request_rec *r, const integ_conf *c)
{
    cs_json_t *doc;
    const char *out = NULL, *err = NULL;
    apr_size_t len = 0;

    if (r->method_number != M_GET) {
        apr_table_setn(r->headers_out, "Allow", "GET, HEAD");
        return HTTP_METHOD_NOT_ALLOWED;
    }
    doc = book_data(r, c);
    if (cs_tmpl_render(&out, &len, r->pool, c->tmpl, "book", cs_json_raw(doc), &err)
        != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(07051)
                      "rendering the booking page of %s failed: %s", c->slug, err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    ap_set_content_type(r, "text/html; charset=utf-8");
    ap_set_content_length(r, len);
    if (!r->header_only) {
        ap_rwrite(out, len, r);
    }
    return OK;
}
