/* The Toast adapter (cs_pos.h).
 *
 * Toast's partner API: a machine-client login hands out a bearer token
 * (refreshed in its last minute and once after a 401), every request names
 * the restaurant in Toast-Restaurant-External-ID, the menu comes whole
 * from menus v2 with modifier groups and options in reference maps,
 * sold-out state from the stock API, orders go to orders v2 carrying our
 * order id as externalId (Toast refuses a second order with the same one,
 * and answers GET /orders/v2/orders/{externalId}), and webhooks are signed
 * base64(HMAC-SHA256(secret, body + timestamp)) with the timestamp the
 * message carries. Here: the HTTP conversation, webhook verification and
 * the adapter table; the pure parsers and builders (cs_pos_parse.h) are in
 * cs_pos_toast_menu.c (the menu) and cs_pos_toast_parse.c (stock, orders,
 * webhooks, signatures and date-times). */
#include "providers/pos/cs_pos_util.h"
#include "base/cs_crypto.h"

#include <apr_escape.h>
#include <apr_strings.h>
#include <string.h>

#define LOGIN_PATH     "/authentication/v1/authentication/login"
#define MENUS_PATH     "/menus/v2/menus"
#define STOCK_PATH     "/stock/v1/inventory"
#define STOCK_SET_PATH "/stock/v1/inventory/update"
#define DINING_PATH    "/config/v2/diningOptions"
#define ORDERS_PATH    "/orders/v2/orders"

/* A restaurant's menus v2 answer is often several megabytes. */
#define MAX_MENU_ANSWER   ((apr_size_t)32 * 1024 * 1024)
/* An order answer can exceed 600 KB (Toast's own warning). */
#define MAX_ORDER_ANSWER  ((apr_size_t)4 * 1024 * 1024)
/* Refresh a token this long before Toast says it expires. */
#define TOKEN_MARGIN      apr_time_from_sec(60)
#define MAX_DINING_PAGES  50

/* ---- talking to Toast ------------------------------------------------------------ */

static apr_status_t check_conf(cs_pos_session_t *s, apr_pool_t *p, const char **perr)
{
    if (!s->conf || !cs_pos_nonempty(s->conf->api_base)
        || !cs_pos_nonempty(s->conf->location)) {
        CS_POS_FAIL(APR_EINVAL, "Toast needs its API host and the restaurant GUID");
    }
    return APR_SUCCESS;
}

/* A request for @p path naming the restaurant; the bearer is added when
 * it is sent (toast_call). */
static cs_http_req_t make_req(cs_pos_session_t *s, apr_pool_t *p, const char *method,
                              const char *path, const char *body)
{
    return cs_pos_json_request(p, method, apr_pstrcat(p, s->conf->api_base, path, NULL),
                               apr_pstrcat(p, CS_TOAST_RESTAURANT_HEADER ": ",
                                           s->conf->location, NULL), body);
}

static apr_status_t parse_answer(json_object **pout, const cs_http_resp_t *resp,
                                 apr_pool_t *p, const char **perr)
{
    const char *why;

    if (cs_pos_json_root(pout, p, resp->body, resp->len, CS_POS_JSON_ANY, &why)
        != APR_SUCCESS) {
        CS_POS_FAIL(APR_EINVAL, "Toast answered malformed JSON");
    }
    return APR_SUCCESS;
}

/* The machine-client login: a new token into the session. The secret
 * travels only in this request's body, whose copy is wiped once sent. */
static apr_status_t toast_login(cs_pos_session_t *s, apr_pool_t *p, const char **perr)
{
    const cs_pos_conf_t *conf = s->conf;
    cs_http_req_t req;
    cs_http_resp_t *resp = NULL;
    cs_json_t *body;
    json_object *ans, *tok;
    const char *access;
    char *text;
    apr_int64_t ttl = 0;
    apr_status_t rv;

    if (!cs_pos_nonempty(conf->client_id) || !cs_pos_nonempty(conf->client_secret)) {
        CS_POS_FAIL(APR_EACCES, "no Toast client id and secret are configured");
    }
    body = cs_json_object(p);
    cs_json_set_str(body, "clientId", conf->client_id);
    cs_json_set_str(body, "clientSecret", conf->client_secret);
    cs_json_set_str(body, "userAccessType", "TOAST_MACHINE_CLIENT");
    text = (char *)cs_json_dump(body, p);
    req = make_req(s, p, "POST", LOGIN_PATH, text);
    rv = cs_pos_send(&resp, s, &req, p, perr);
    cs_cleanse(text, strlen(text));
    if (rv == APR_EACCES) {
        CS_POS_FAIL(APR_EACCES, "Toast refused the client id and secret (%ld)",
                    s->last_status);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if ((rv = parse_answer(&ans, resp, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    tok = cs_jobj(ans, "token");
    access = cs_pos_nonempty(cs_jstr(tok, "accessToken"));
    if (!access || !cs_jint(tok, "expiresIn", &ttl) || ttl <= 0) {
        CS_POS_FAIL(APR_EINVAL, "Toast's login answer has no usable token");
    }
    if (ttl > 366 * 86400) {
        ttl = 366 * 86400;
    }
    if (s->token_pool) {
        s->token = apr_pstrdup(s->token_pool, access);
        s->token_expires = cs_pos_now(s) + apr_time_from_sec(ttl);
    }
    else {
        /* Nowhere to keep it: good for this call only (token_expires 0
         * means the next call logs in again, never reading a freed token). */
        s->token = apr_pstrdup(p, access);
        s->token_expires = 0;
    }
    return APR_SUCCESS;
}

static apr_status_t toast_authenticate(cs_pos_session_t *s, apr_pool_t *p,
                                       const char **perr)
{
    apr_status_t rv;

    if ((rv = check_conf(s, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (s->token && s->token_expires - cs_pos_now(s) > TOKEN_MARGIN) {
        return APR_SUCCESS;
    }
    rv = toast_login(s, p, perr);
    if (rv == APR_EAGAIN && s->token && s->token_expires > cs_pos_now(s)) {
        /* Toast is briefly unreachable in the token's last minute: the
         * token still works until it expires; the next call tries again. */
        return APR_SUCCESS;
    }
    if (rv != APR_SUCCESS) {
        s->token = NULL;
        s->token_expires = 0;
    }
    return rv;
}

/* One API call with the session's token; after a 401 one fresh login and
 * one more try. */
static apr_status_t toast_call(cs_http_resp_t **presp, cs_pos_session_t *s,
                               const cs_http_req_t *req, apr_pool_t *p, const char **perr)
{
    cs_http_req_t r = *req;
    apr_status_t rv;

    *presp = NULL;
    if ((rv = toast_authenticate(s, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    r.bearer = s->token;
    rv = cs_pos_send(presp, s, &r, p, perr);
    if (rv == APR_EACCES && s->last_status == 401) {
        s->token = NULL;
        s->token_expires = 0;
        if ((rv = toast_login(s, p, perr)) != APR_SUCCESS) {
            return rv;
        }
        r.bearer = s->token;
        rv = cs_pos_send(presp, s, &r, p, perr);
    }
    return rv;
}

static apr_status_t toast_availability(apr_array_header_t **pout, cs_pos_session_t *s,
                                       apr_pool_t *p, const char **perr)
{
    cs_http_req_t req;
    cs_http_resp_t *resp;
    apr_status_t rv;

    *pout = NULL;
    if ((rv = check_conf(s, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    req = make_req(s, p, "GET", STOCK_PATH, NULL);
    if ((rv = toast_call(&resp, s, &req, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    return cs_pos_toast_parse_stock(pout, resp->body, resp->len, p, perr);
}

static apr_status_t toast_menu(cs_menu_t **pout, cs_pos_session_t *s, apr_pool_t *p,
                               const char **perr)
{
    cs_http_req_t req;
    cs_http_resp_t *resp;
    apr_array_header_t *stock;
    cs_menu_t *m;
    apr_status_t rv;

    *pout = NULL;
    if ((rv = check_conf(s, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    req = make_req(s, p, "GET", MENUS_PATH, NULL);
    req.max_response = MAX_MENU_ANSWER;
    if ((rv = toast_call(&resp, s, &req, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = cs_pos_toast_parse_menu(&m, resp->body, resp->len, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    /* The menu says nothing of stock: ask, so items carry the POS's state. */
    if ((rv = toast_availability(&stock, s, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    cs_pos_toast_apply_stock(m, stock);
    *pout = m;
    return APR_SUCCESS;
}

static apr_status_t toast_set_sold_out(cs_pos_session_t *s, const char *item_id,
                                       int sold_out, apr_pool_t *p, const char **perr)
{
    cs_http_req_t req;
    cs_http_resp_t *resp;
    cs_json_t *arr, *e;
    json_object *ans;
    apr_size_t i;
    apr_status_t rv;

    if ((rv = check_conf(s, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (!cs_pos_nonempty(item_id)) {
        CS_POS_FAIL(APR_EINVAL, "no item to mark");
    }
    arr = cs_json_array(p);
    e = cs_json_object(p);
    cs_json_set_str(e, "guid", item_id);
    cs_json_set_str(e, "status", sold_out ? "OUT_OF_STOCK" : "IN_STOCK");
    /* cs_json_append takes a reference: e stays owned by its pool. */
    cs_json_append(arr, e);
    req = make_req(s, p, "PUT", STOCK_SET_PATH, cs_json_dump(arr, p));
    if ((rv = toast_call(&resp, s, &req, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = parse_answer(&ans, resp, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    for (i = 0; i < cs_jlen(ans); i++) {
        json_object *r = cs_jat(ans, i);
        if (cs_pos_streq(cs_jstr(r, "itemGuidValidity"), "INVALID")) {
            CS_POS_FAIL(APR_EINVAL, "Toast does not know item %s", item_id);
        }
    }
    return APR_SUCCESS;
}

/* The restaurant's takeout dining option (orders must name one): every
 * page of the configuration API, a plain TAKE_OUT option before a curbside
 * one. */
static apr_status_t dining_option(const char **pout, cs_pos_session_t *s, apr_pool_t *p,
                                  const char **perr)
{
    const char *token = NULL, *curbside = NULL;
    int page;
    apr_status_t rv;

    *pout = NULL;
    for (page = 0; page < MAX_DINING_PAGES; page++) {
        cs_http_req_t req;
        cs_http_resp_t *resp;
        json_object *ans;
        apr_size_t i;

        req = make_req(s, p, "GET", token
                       ? apr_pstrcat(p, DINING_PATH "?pageToken=",
                                     apr_pescape_urlencoded(p, token), NULL)
                       : DINING_PATH, NULL);
        if ((rv = toast_call(&resp, s, &req, p, perr)) != APR_SUCCESS) {
            return rv;
        }
        if ((rv = parse_answer(&ans, resp, p, perr)) != APR_SUCCESS) {
            return rv;
        }
        if (!json_object_is_type(ans, json_type_array)) {
            CS_POS_FAIL(APR_EINVAL, "Toast answered dining options that are not an array");
        }
        for (i = 0; i < cs_jlen(ans); i++) {
            json_object *o = cs_jat(ans, i);
            const char *guid = cs_pos_nonempty(cs_jstr(o, "guid"));
            if (!guid || !cs_pos_streq(cs_jstr(o, "behavior"), "TAKE_OUT")) {
                continue;
            }
            if (!cs_jbool(o, "curbside", 0)) {
                *pout = guid;
                return APR_SUCCESS;
            }
            curbside = curbside ? curbside : guid;
        }
        token = resp->headers ? cs_pos_nonempty(apr_table_get(resp->headers,
                                                       "Toast-Next-Page-Token")) : NULL;
        if (!token) {
            break;
        }
    }
    if (curbside) {
        *pout = curbside;
        return APR_SUCCESS;
    }
    CS_POS_FAIL(APR_EINVAL, "the Toast restaurant has no takeout dining option");
}

static apr_status_t get_order(cs_pos_order_result_t **pout, cs_pos_session_t *s,
                              const char *id, apr_pool_t *p, const char **perr)
{
    cs_http_req_t req = make_req(s, p, "GET",
                                 apr_pstrcat(p, ORDERS_PATH "/",
                                             apr_pescape_path_segment(p, id), NULL),
                                 NULL);

    req.max_response = MAX_ORDER_ANSWER;
    return cs_pos_order_call(pout, s, &req, toast_call, cs_pos_toast_parse_order, p, perr);
}

static apr_status_t toast_submit(cs_pos_order_result_t **pout, cs_pos_session_t *s,
                                 const cs_pos_order_t *order, apr_pool_t *p,
                                 const char **perr)
{
    cs_http_req_t req;
    cs_http_resp_t *resp;
    const char *dining, *err2 = NULL;
    apr_status_t rv;

    *pout = NULL;
    if ((rv = check_conf(s, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (!order || !cs_pos_nonempty(order->external_id)) {
        CS_POS_FAIL(APR_EINVAL, "an order needs an external id");
    }
    if (!order->lines || !order->lines->nelts) {
        CS_POS_FAIL(APR_EINVAL, "an order needs at least one line");
    }
    if ((rv = dining_option(&dining, s, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    req = make_req(s, p, "POST", ORDERS_PATH, cs_pos_toast_order_request(order, dining, p));
    req.max_response = MAX_ORDER_ANSWER;
    if ((rv = toast_call(&resp, s, &req, p, perr)) == APR_SUCCESS) {
        return cs_pos_toast_parse_order(pout, resp->body, resp->len, p, perr);
    }
    /* Toast refuses a second order with the same externalId: when an
     * earlier attempt got through (its answer lost to a timeout), the
     * order is there under our id. */
    if (rv == APR_EINVAL
        && get_order(pout, s, apr_pstrcat(p, CS_TOAST_EXTERNAL_PREFIX, order->external_id,
                                          NULL), p, &err2) == APR_SUCCESS) {
        return APR_SUCCESS;
    }
    return rv;
}

static apr_status_t toast_order_status(cs_pos_order_result_t **pout, cs_pos_session_t *s,
                                       const char *pos_order_id, apr_pool_t *p,
                                       const char **perr)
{
    apr_status_t rv;

    *pout = NULL;
    if ((rv = check_conf(s, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (!cs_pos_nonempty(pos_order_id)) {
        CS_POS_FAIL(APR_EINVAL, "no order to look up");
    }
    return get_order(pout, s, pos_order_id, p, perr);
}

/* ---- webhooks ---------------------------------------------------------------------- */

static const char *strip_padding(apr_pool_t *p, const char *b64)
{
    apr_size_t n = strlen(b64);

    while (n && b64[n - 1] == '=') {
        n--;
    }
    return apr_pstrmemdup(p, b64, n);
}

static apr_status_t toast_verify(const cs_pos_conf_t *conf, const cs_pos_webhook_t *w,
                                 apr_pool_t *p, const char **perr)
{
    const char *h = cs_pos_webhook_header(w, CS_TOAST_SIG_HEADER);
    const char *ts = NULL, *why, *want;
    apr_time_t now = w->now ? w->now : apr_time_now(), t;
    json_object *root;

    if (!conf->webhook_secret || !*conf->webhook_secret) {
        CS_POS_FAIL(APR_EACCES, "no Toast webhook secret is configured");
    }
    if (!h || !*h) {
        CS_POS_FAIL(APR_EACCES, "the delivery is not signed");
    }
    /* The signed timestamp is the one the message carries. */
    if (cs_pos_json_root(&root, p, w->body, cs_pos_webhook_len(w), CS_POS_JSON_ANY, &why)
        == APR_SUCCESS) {
        ts = cs_jstr(root, "timestamp");
    }
    if (!ts || cs_time_parse_iso8601(&t, ts) != APR_SUCCESS) {
        CS_POS_FAIL(APR_EACCES, "the delivery carries no timestamp we can read");
    }
    /* Compared as text, padding optional: the one canonical encoding of
     * our MAC, so no second spelling of a signature passes. */
    want = cs_pos_toast_sign(p, conf->webhook_secret, w->body, cs_pos_webhook_len(w), ts);
    if (!want || !cs_ct_streq(strip_padding(p, want), strip_padding(p, h))) {
        CS_POS_FAIL(APR_EACCES, "the signature does not match");
    }
    if (now - t > CS_TOAST_TOLERANCE || t - now > CS_TOAST_SKEW) {
        CS_POS_FAIL(APR_EACCES, "the signature's timestamp is stale");
    }
    return APR_SUCCESS;
}

static apr_status_t toast_parse_webhook(cs_pos_event_t **pout, const cs_pos_webhook_t *w,
                                        apr_pool_t *p, const char **perr)
{
    return cs_pos_toast_parse_event(pout, w->body, cs_pos_webhook_len(w), p, perr);
}

const cs_pos_adapter_t cs_pos_toast = {
    "toast",
    toast_authenticate,
    toast_menu,
    toast_availability,
    toast_set_sold_out,
    toast_submit,
    toast_order_status,
    toast_verify,
    toast_parse_webhook,
};
