/* The Square adapter (cs_pos.h): the Catalog, Inventory and Orders APIs
 * under a static access token (Authorization: Bearer, Square-Version),
 * webhooks signed with base64 HMAC-SHA256 of the notification URL and the
 * raw body. Here: the HTTP conversation and the adapter table; the pure
 * parsers and builders (cs_pos_parse.h) are in cs_pos_square_catalog.c
 * (catalog pages), cs_pos_square_menu.c (counts, menu and stock) and
 * cs_pos_square_parse.c (orders and webhooks).
 *
 * Choices (see cs_pos_parse.h for the menu mapping):
 * - The catalog is read with ListCatalog (types ITEM, CATEGORY,
 *   MODIFIER_LIST, IMAGE; variations and modifiers come nested), every
 *   page by cursor. Square sets a variation's location_overrides[].sold_out
 *   itself when a tracked count reaches zero; we also read the IN_STOCK
 *   counts of tracked variations (BatchRetrieveInventoryCounts) so a zero
 *   count is sold out even before that flag appears.
 * - set_sold_out is APR_ENOTIMPL: sold_out is read-only for applications
 *   ("attempts by an application to set this attribute are ignored"), and
 *   zeroing an inventory count would falsify the seller's stock.
 * - Orders: CreateOrder with idempotency_key = reference_id = our order id,
 *   so a retried submission returns the order Square already made. Square
 *   prices the lines from its catalog; our totals ride along only as the
 *   payment reference in metadata.
 * - inventory.count.updated names variations, not our items: the event is
 *   STOCK with NULL stock, and the caller polls fetch_availability.
 */
#include "providers/pos/cs_pos_util.h"
#include "base/cs_crypto.h"

#include <apr_hash.h>
#include <apr_strings.h>
#include <string.h>

#define SQ_DEFAULT_BASE   "https://connect.squareup.com"
#define SQ_LIST_PATH      "/v2/catalog/list?types=ITEM,CATEGORY,MODIFIER_LIST,IMAGE"
#define SQ_COUNTS_PATH    "/v2/inventory/counts/batch-retrieve"
#define SQ_MAX_PAGES      500
#define SQ_COUNTS_CHUNK   100
#define SQ_MAX_RESPONSE   ((apr_size_t)8 * 1024 * 1024)

static apr_status_t sq_authenticate(cs_pos_session_t *s, apr_pool_t *p, const char **perr)
{
    return cs_pos_require_token(s, "Square", "access token", "location", p, perr);
}

/* A request for @p path under the configured base (or Square's own). */
static cs_http_req_t sq_request(cs_pos_session_t *s, const char *method, const char *path,
                                const char *body, apr_pool_t *p)
{
    cs_http_req_t req = cs_pos_json_request(p, method,
                                            apr_pstrcat(p, cs_pos_api_base(s, SQ_DEFAULT_BASE),
                                                        path, NULL),
                                            "Square-Version: " CS_SQUARE_VERSION, body);

    req.bearer = s->conf->access_token;
    req.max_response = SQ_MAX_RESPONSE;
    return req;
}

/* cs_pos_send; a refusal's Square error code joins the message (codes
 * such as INVALID_VALUE say what to fix and hold no secret). */
static apr_status_t sq_send(cs_http_resp_t **presp, cs_pos_session_t *s,
                            const cs_http_req_t *req, apr_pool_t *p, const char **perr)
{
    apr_status_t rv = cs_pos_send(presp, s, req, p, perr);
    json_object *root;
    const char *why, *code;

    if (rv == APR_EINVAL && *presp
        && cs_pos_json_root(&root, p, (*presp)->body, (*presp)->len, CS_POS_JSON_ANY, &why)
           == APR_SUCCESS
        && (code = cs_jstr(cs_jat(cs_jarr(root, "errors"), 0), "code")) && strlen(code) < 80) {
        *perr = apr_psprintf(p, "%s: %s", *perr, code);
    }
    return rv;
}

/* One page read into a catalog through cs_pos_send_scratch (catalog pages
 * can be large: each answer is parsed and dropped at once). */
typedef struct {
    cs_square_catalog_t *c;
    apr_status_t (*parse)(cs_square_catalog_t *c, const char *body, apr_size_t len,
                          const char **pcursor, const char **perr);
    const char *next;           /* the next page's cursor, or NULL */
} sq_page_t;

static apr_status_t sq_read(void *ctx, const char *body, apr_size_t len, const char **perr)
{
    sq_page_t *pg = ctx;

    return pg->parse(pg->c, body, len, &pg->next, perr);
}

static apr_status_t sq_page(sq_page_t *pg, cs_pos_session_t *s, const cs_http_req_t *req,
                            apr_pool_t *p, const char **perr)
{
    pg->next = NULL;
    return cs_pos_send_scratch(s, req, sq_send, sq_read, pg, p, perr);
}

/* Every page of one listing, cursor by cursor: the catalog (@p tracked
 * NULL: GET, the cursor in the query), or the IN_STOCK counts of
 * tracked[from, from + SQ_COUNTS_CHUNK) (POST, the cursor in the body).
 * A catalog longer than SQ_MAX_PAGES pages is refused (a menu without its
 * last items would be wrong); counts beyond that many pages go unread
 * (Square's own sold_out flag still marks those variations). */
static apr_status_t sq_pages(cs_square_catalog_t *c, cs_pos_session_t *s,
                             const apr_array_header_t *tracked, int from, apr_pool_t *p,
                             const char **perr)
{
    sq_page_t pg = { c, tracked ? cs_pos_square_parse_counts_page
                                : cs_pos_square_parse_catalog_page, NULL };
    const char *cursor = NULL;
    int pages = 0;
    apr_status_t rv;

    do {
        cs_http_req_t req = tracked
            ? sq_request(s, "POST", SQ_COUNTS_PATH,
                         cs_pos_square_counts_request(p, c, tracked, from, SQ_COUNTS_CHUNK,
                                                      cursor), p)
            : sq_request(s, "GET", cursor ? apr_pstrcat(p, SQ_LIST_PATH "&cursor=",
                                                        cs_pos_urlenc(p, cursor), NULL)
                                          : SQ_LIST_PATH, NULL, p);

        if ((rv = sq_page(&pg, s, &req, p, perr)) != APR_SUCCESS) {
            return rv;
        }
        if (pg.next && cursor && !strcmp(pg.next, cursor)) {
            CS_POS_FAIL(APR_EINVAL, "Square sent the same %s page twice",
                        tracked ? "inventory" : "catalog");
        }
        cursor = pg.next;
    } while (cursor && ++pages < SQ_MAX_PAGES);
    if (cursor && !tracked) {
        CS_POS_FAIL(APR_EINVAL, "the Square catalog has more than %d pages", SQ_MAX_PAGES);
    }
    return APR_SUCCESS;
}

/* The whole catalog at the location, with the counts of tracked
 * variations, made into the menu (@p pmenu) or the stock (@p pstock). */
static apr_status_t sq_fetch(cs_menu_t **pmenu, apr_array_header_t **pstock,
                             cs_pos_session_t *s, apr_pool_t *p, const char **perr)
{
    cs_square_catalog_t *c;
    apr_array_header_t *tracked;
    int from;
    apr_status_t rv;

    if ((rv = sq_authenticate(s, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    c = cs_pos_square_catalog_make(p, s->conf->location, cs_pos_now(s));
    if ((rv = sq_pages(c, s, NULL, 0, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    tracked = cs_pos_square_tracked_variations(c, p);
    for (from = 0; from < tracked->nelts; from += SQ_COUNTS_CHUNK) {
        if ((rv = sq_pages(c, s, tracked, from, p, perr)) != APR_SUCCESS) {
            return rv;
        }
    }
    if (pstock) {
        *pstock = cs_pos_square_build_stock(c, p);
        return APR_SUCCESS;
    }
    return cs_pos_square_build_menu(pmenu, c, p, perr);
}

static apr_status_t sq_fetch_menu(cs_menu_t **pout, cs_pos_session_t *s, apr_pool_t *p,
                                  const char **perr)
{
    *pout = NULL;
    return sq_fetch(pout, NULL, s, p, perr);
}

static apr_status_t sq_fetch_availability(apr_array_header_t **pout, cs_pos_session_t *s,
                                          apr_pool_t *p, const char **perr)
{
    *pout = NULL;
    return sq_fetch(NULL, pout, s, p, perr);
}

static apr_status_t sq_set_sold_out(cs_pos_session_t *s, const char *item_id, int sold_out,
                                    apr_pool_t *p, const char **perr)
{
    CS_POS_FAIL(APR_ENOTIMPL,
                "Square does not let apps mark items sold out: mark it in Square");
}

static apr_status_t sq_submit(cs_pos_order_result_t **pout, cs_pos_session_t *s,
                              const cs_pos_order_t *o, apr_pool_t *p, const char **perr)
{
    cs_json_t *wanted;
    json_object *ids;
    apr_hash_t *seen = apr_hash_make(p);
    cs_http_req_t req;
    sq_page_t items;
    const char *body;
    int i;
    apr_status_t rv;

    *pout = NULL;
    if ((rv = sq_authenticate(s, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (!o || !o->lines || !o->lines->nelts) {
        CS_POS_FAIL(APR_EINVAL, "the order has no lines");
    }
    /* The lines name our items; Square wants a variation per line, so read
     * the items as Square holds them now. */
    wanted = cs_json_object(p);
    ids = json_object_new_array();
    for (i = 0; i < o->lines->nelts; i++) {
        const char *id = APR_ARRAY_IDX(o->lines, i, cs_pos_line_t).item_id;
        if (id && !apr_hash_get(seen, id, APR_HASH_KEY_STRING)) {
            apr_hash_set(seen, id, APR_HASH_KEY_STRING, id);
            json_object_array_add(ids, json_object_new_string(id));
        }
    }
    json_object_object_add(cs_json_raw(wanted), "object_ids", ids);
    cs_json_set_bool(wanted, "include_related_objects", 0);
    items.c = cs_pos_square_catalog_make(p, s->conf->location, cs_pos_now(s));
    items.parse = cs_pos_square_parse_catalog_page;
    req = sq_request(s, "POST", "/v2/catalog/batch-retrieve", cs_json_dump(wanted, p), p);
    if ((rv = sq_page(&items, s, &req, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = cs_pos_square_order_request(&body, o, s->conf->location, items.c, p, perr))
        != APR_SUCCESS) {
        return rv;
    }
    req = sq_request(s, "POST", "/v2/orders", body, p);
    return cs_pos_order_call(pout, s, &req, sq_send, cs_pos_square_parse_order, p, perr);
}

static apr_status_t sq_order_status(cs_pos_order_result_t **pout, cs_pos_session_t *s,
                                    const char *pos_order_id, apr_pool_t *p,
                                    const char **perr)
{
    cs_http_req_t req;
    apr_status_t rv;

    *pout = NULL;
    if ((rv = sq_authenticate(s, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (!pos_order_id || !*pos_order_id) {
        CS_POS_FAIL(APR_EINVAL, "no Square order id");
    }
    req = sq_request(s, "GET", apr_pstrcat(p, "/v2/orders/", cs_pos_urlenc(p, pos_order_id),
                                           NULL), NULL, p);
    return cs_pos_order_call(pout, s, &req, sq_send, cs_pos_square_parse_order, p, perr);
}

/* Square signs the subscription's notification URL as registered (our
 * configured one), not whatever Host a proxy passed on; no timestamp is
 * signed apart from the body's created_at, and Square redelivers for
 * hours, so replays are caught by event_id in the journal instead. */
static apr_status_t sq_verify(const cs_pos_conf_t *conf, const cs_pos_webhook_t *w,
                              apr_pool_t *p, const char **perr)
{
    const char *url = conf && conf->webhook_url && *conf->webhook_url ? conf->webhook_url
                                                                      : w->url;
    const char *got = cs_pos_webhook_header(w, CS_SQUARE_SIG_HEADER);
    const char *want;

    if (!conf || !conf->webhook_secret || !*conf->webhook_secret) {
        CS_POS_FAIL(APR_EACCES, "no Square signature key is configured");
    }
    if (!url || !*url) {
        CS_POS_FAIL(APR_EACCES, "no Square notification URL is configured");
    }
    if (!got || !*got) {
        CS_POS_FAIL(APR_EACCES, "the delivery is not signed");
    }
    want = cs_pos_square_signature(p, conf->webhook_secret, url, w->body ? w->body : "",
                                   cs_pos_webhook_len(w));
    if (!want || !cs_ct_streq(want, got)) {
        CS_POS_FAIL(APR_EACCES, "the Square signature does not match");
    }
    return APR_SUCCESS;
}

static apr_status_t sq_parse(cs_pos_event_t **pout, const cs_pos_webhook_t *w, apr_pool_t *p,
                             const char **perr)
{
    return cs_pos_square_parse_event(pout, w->body, cs_pos_webhook_len(w), p, perr);
}

const cs_pos_adapter_t cs_pos_square = {
    "square",
    sq_authenticate,
    sq_fetch_menu,
    sq_fetch_availability,
    sq_set_sold_out,
    sq_submit,
    sq_order_status,
    sq_verify,
    sq_parse,
};
