/* The Clover adapter (cs_pos.h): the v3 REST API under a merchant's API
 * token (Authorization: Bearer), webhooks authenticated by the static
 * X-Clover-Auth code. Here: the HTTP conversation and the adapter table;
 * the pure parsers and builders (cs_pos_parse.h) are in
 * cs_pos_clover_menu.c (inventory pages, menu and stock) and
 * cs_pos_clover_parse.c (orders and webhooks).
 *
 * Choices:
 * - The menu is GET .../items?expand=categories,modifierGroups,itemStock
 *   plus GET .../modifier_groups?expand=modifiers (an item's expanded
 *   groups carry no modifiers we can rely on), each paged by offset and
 *   limit. A page shorter than asked ends the list only when it is also
 *   shorter than an earlier page (or empty): a server that caps limit
 *   below what we ask must not cut the menu short, at the cost of one
 *   extra request when the whole list fits the first page.
 * - set_sold_out posts the item's `available` (what Clover's own apps
 *   flip for "86"); an autoManage item stays sold out while its stock is
 *   zero, as Clover itself has it.
 * - Orders are atomic orders with externalReferenceId = our order id.
 *   Clover does not deduplicate them, so submit first looks the reference
 *   up (GET .../orders?filter=externalReferenceId=...) and returns the
 *   order found. Clover counts one line item per unit, so a line of
 *   quantity 3 is three line items with the same modifications.
 * - Webhooks: every message but one carries X-Clover-Auth, compared in
 *   constant time with the configured code. The one-time verification
 *   POST ({"verificationCode": ...}) comes before anyone knows that code,
 *   so it is unsigned by nature: verify_webhook accepts it unsigned when
 *   the body is exactly that shape (a short code of letters, digits and
 *   dashes, nothing else), and it only ever becomes a code shown to staff.
 */
#include "providers/pos/cs_pos_util.h"
#include "base/cs_crypto.h"

#include <apr_strings.h>
#include <string.h>

#define CL_DEFAULT_BASE   "https://api.clover.com"
#define CL_LIMIT          100
#define CL_MAX_PAGES      500
#define CL_MAX_RESPONSE   ((apr_size_t)8 * 1024 * 1024)

static apr_status_t cl_authenticate(cs_pos_session_t *s, apr_pool_t *p, const char **perr)
{
    return cs_pos_require_token(s, "Clover", "API token", "merchant id", p, perr);
}

/* A request for .../v3/merchants/{mId}@p rest. */
static cs_http_req_t cl_request(cs_pos_session_t *s, const char *method, const char *rest,
                                const char *body, apr_pool_t *p)
{
    cs_http_req_t req = cs_pos_json_request(p, method,
                                            apr_pstrcat(p, cs_pos_api_base(s, CL_DEFAULT_BASE),
                                                        "/v3/merchants/",
                                                        cs_pos_urlenc(p, s->conf->location),
                                                        rest, NULL),
                                            NULL, body);

    req.bearer = s->conf->access_token;
    req.max_response = CL_MAX_RESPONSE;
    return req;
}

/* One list page read into the inventory through cs_pos_send_scratch. */
typedef struct {
    cs_clover_catalog_t *c;
    apr_status_t (*parse)(cs_clover_catalog_t *c, const char *body, apr_size_t len,
                          int *pcount, const char **perr);
    int count;                  /* the elements the page held */
} cl_page_t;

static apr_status_t cl_read(void *ctx, const char *body, apr_size_t len, const char **perr)
{
    cl_page_t *pg = ctx;

    return pg->parse(pg->c, body, len, &pg->count, perr);
}

/* Every page of a list (see the paging note at the top). */
static apr_status_t cl_list(cl_page_t *pg, cs_pos_session_t *s, const char *rest,
                            apr_pool_t *p, const char **perr)
{
    int offset = 0, prev = -1, pages = 0;
    apr_status_t rv;

    for (;;) {
        cs_http_req_t req;

        if (++pages > CL_MAX_PAGES) {
            CS_POS_FAIL(APR_EINVAL, "the Clover list has more than %d pages", CL_MAX_PAGES);
        }
        req = cl_request(s, "GET", apr_psprintf(p, "%s&limit=%d&offset=%d", rest, CL_LIMIT,
                                                offset), NULL, p);
        pg->count = 0;
        if ((rv = cs_pos_send_scratch(s, &req, NULL, cl_read, pg, p, perr)) != APR_SUCCESS) {
            return rv;
        }
        if (pg->count == 0 || (prev >= 0 && pg->count < prev)) {
            return APR_SUCCESS;
        }
        offset += pg->count;
        prev = pg->count;
    }
}

/* The whole inventory, made into the menu (@p pmenu) or the stock
 * (@p pstock). */
static apr_status_t cl_fetch(cs_menu_t **pmenu, apr_array_header_t **pstock,
                             cs_pos_session_t *s, apr_pool_t *p, const char **perr)
{
    cl_page_t items = { NULL, cs_pos_clover_parse_items_page, 0 };
    cl_page_t groups = { NULL, cs_pos_clover_parse_groups_page, 0 };
    apr_status_t rv;

    if ((rv = cl_authenticate(s, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    items.c = groups.c = cs_pos_clover_catalog_make(p);
    if ((rv = cl_list(&items, s, "/items?expand=categories,modifierGroups,itemStock", p,
                      perr)) != APR_SUCCESS
        || (rv = cl_list(&groups, s, "/modifier_groups?expand=modifiers", p, perr))
           != APR_SUCCESS) {
        return rv;
    }
    if (pstock) {
        *pstock = cs_pos_clover_build_stock(items.c, p);
        return APR_SUCCESS;
    }
    return cs_pos_clover_build_menu(pmenu, items.c, p, perr);
}

static apr_status_t cl_fetch_menu(cs_menu_t **pout, cs_pos_session_t *s, apr_pool_t *p,
                                  const char **perr)
{
    *pout = NULL;
    return cl_fetch(pout, NULL, s, p, perr);
}

static apr_status_t cl_fetch_availability(apr_array_header_t **pout, cs_pos_session_t *s,
                                          apr_pool_t *p, const char **perr)
{
    *pout = NULL;
    return cl_fetch(NULL, pout, s, p, perr);
}

static apr_status_t cl_set_sold_out(cs_pos_session_t *s, const char *item_id, int sold_out,
                                    apr_pool_t *p, const char **perr)
{
    cs_http_req_t req;
    cs_http_resp_t *resp;
    apr_status_t rv;

    if ((rv = cl_authenticate(s, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (!item_id || !*item_id) {
        CS_POS_FAIL(APR_EINVAL, "no Clover item id");
    }
    req = cl_request(s, "POST", apr_pstrcat(p, "/items/", cs_pos_urlenc(p, item_id), NULL),
                     sold_out ? "{\"available\":false}" : "{\"available\":true}", p);
    return cs_pos_send(&resp, s, &req, p, perr);
}

static apr_status_t cl_submit(cs_pos_order_result_t **pout, cs_pos_session_t *s,
                              const cs_pos_order_t *o, apr_pool_t *p, const char **perr)
{
    cs_http_req_t req;
    const char *body, *filter;
    apr_status_t rv;

    *pout = NULL;
    if ((rv = cl_authenticate(s, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (!o) {
        CS_POS_FAIL(APR_EINVAL, "no order");
    }
    if ((rv = cs_pos_clover_order_request(&body, o, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    /* Clover makes a new order for every create: a retry must find the
     * one an earlier attempt made (the answer may have been lost). */
    filter = apr_pstrcat(p, "externalReferenceId=", o->external_id, NULL);
    req = cl_request(s, "GET",
                     apr_pstrcat(p, "/orders?filter=", cs_pos_urlenc(p, filter), NULL), NULL,
                     p);
    if ((rv = cs_pos_order_call(pout, s, &req, NULL, cs_pos_clover_parse_order_list, p, perr))
        != APR_SUCCESS || *pout) {
        return rv;
    }
    req = cl_request(s, "POST", "/atomic_order/orders", body, p);
    return cs_pos_order_call(pout, s, &req, NULL, cs_pos_clover_parse_order, p, perr);
}

static apr_status_t cl_order_status(cs_pos_order_result_t **pout, cs_pos_session_t *s,
                                    const char *pos_order_id, apr_pool_t *p,
                                    const char **perr)
{
    cs_http_req_t req;
    apr_status_t rv;

    *pout = NULL;
    if ((rv = cl_authenticate(s, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (!pos_order_id || !*pos_order_id) {
        CS_POS_FAIL(APR_EINVAL, "no Clover order id");
    }
    req = cl_request(s, "GET", apr_pstrcat(p, "/orders/", cs_pos_urlenc(p, pos_order_id),
                                           NULL), NULL, p);
    return cs_pos_order_call(pout, s, &req, NULL, cs_pos_clover_parse_order, p, perr);
}

static apr_status_t cl_verify(const cs_pos_conf_t *conf, const cs_pos_webhook_t *w,
                              apr_pool_t *p, const char **perr)
{
    const char *got = cs_pos_webhook_header(w, CS_CLOVER_AUTH_HEADER);

    if (cs_pos_clover_verification_code(w->body, cs_pos_webhook_len(w), p)) {
        return APR_SUCCESS;     /* unsigned by nature: see the note at the top */
    }
    if (!conf || !conf->webhook_secret || !*conf->webhook_secret) {
        CS_POS_FAIL(APR_EACCES, "no Clover webhook auth code is configured");
    }
    if (!got || !*got) {
        CS_POS_FAIL(APR_EACCES, "the delivery carries no X-Clover-Auth");
    }
    if (!cs_ct_streq(got, conf->webhook_secret)) {
        CS_POS_FAIL(APR_EACCES, "the X-Clover-Auth code does not match");
    }
    return APR_SUCCESS;
}

static apr_status_t cl_parse(cs_pos_event_t **pout, const cs_pos_webhook_t *w, apr_pool_t *p,
                             const char **perr)
{
    return cs_pos_clover_parse_event(pout, w->body, cs_pos_webhook_len(w), p, perr);
}

const cs_pos_adapter_t cs_pos_clover = {
    "clover",
    cl_authenticate,
    cl_fetch_menu,
    cl_fetch_availability,
    cl_set_sold_out,
    cl_submit,
    cl_order_status,
    cl_verify,
    cl_parse,
};
