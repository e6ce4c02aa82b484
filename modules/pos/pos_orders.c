/*
 * What mod_consult_pos lends mod_consult_orders (optional functions, see
 * mod_consult_core.h): the menu guests see, and the one way an order
 * reaches the restaurant's POS, through the same adapter and settings as
 * the menu sync, so ordering never needs its own copy of the POS's
 * credentials.
 */
#include "pos_private.h"

#include <apr_strings.h>

apr_status_t cs_pos_menu(PGconn *conn, apr_pool_t *p, const char *slug,
                         const char *client_id, cs_pos_menu_info_t *out, const char **perr)
{
    pos_conf *c = pos_conf_for_slug(slug);
    pos_menu_t *m = NULL;
    apr_status_t rv;

    memset(out, 0, sizeof(*out));
    if (!c) {
        if (perr) *perr = "this client has no ConsultPOS";
        return APR_NOTFOUND;
    }
    if ((rv = pos_menu_load(&m, conn, p, client_id, perr)) != APR_SUCCESS) {
        return rv;
    }
    out->menu = m->menu;
    out->version = m->version;
    out->currency = m->currency;
    out->tax_rate_bp = c->tax_rate_bp < 0 ? 0 : c->tax_rate_bp;
    return APR_SUCCESS;
}

apr_status_t cs_pos_submit(apr_pool_t *p, const char *slug, const cs_pos_order_t *order,
                           cs_pos_order_result_t **pres, const char **perr)
{
    pos_conf *c = pos_conf_for_slug(slug);
    cs_pos_session_t s;

    if (!c) {
        if (perr) *perr = "this client has no ConsultPOS";
        return APR_NOTFOUND;
    }
    memset(&s, 0, sizeof(s));
    s.conf = &c->pos;
    s.token_pool = p;
    return c->adapter->submit_order(pres, &s, order, p, perr);
}
