/*
 * The guest's cart: an opaque random cookie (HttpOnly, SameSite=Lax,
 * Secure over HTTPS) whose SHA-256 names a carts row. Lines hold what to
 * make, never a price: every price comes from the menu, now (cs_cart).
 * Every POST carries a token derived from the cookie under the server
 * secret, so another site cannot fill a guest's cart.
 */
#include "orders_private.h"
#include "base/cs_crypto.h"
#include "http/cs_pair.h"

#include "http_protocol.h"
#include "http_request.h"
#include "util_cookies.h"
#include <apr_strings.h>
#include <apr_lib.h>
#include <stdlib.h>

APLOG_USE_MODULE(consult_orders);

#define CART_DAYS 7

static int over_https(request_rec *r)
{
    const char *proto = apr_table_get(r->headers_in, "X-Forwarded-Proto");
    return !strcmp(ap_http_scheme(r), "https") || (proto && !strcasecmp(proto, "https"));
}

/* Bound to the cookie and the restaurant: a cart token is no token at another. */
static const char *csrf_of(request_rec *r, const char *client_id, const char *token)
{
    const unsigned char *key = NULL;
    apr_size_t klen = 0;
    unsigned char mac[CS_SHA256_LEN];
    char hex[2 * CS_SHA256_LEN + 1];
    const char *msg = apr_pstrcat(r->pool, "consult-cart-form:", client_id, ":", token, NULL);
    orders_core.server_secret(r->server, &key, &klen);
    cs_hmac_sha256(mac, key, klen, msg, strlen(msg));
    cs_hex_encode(hex, mac, 16);
    hex[32] = '\0';
    return apr_pstrdup(r->pool, hex);
}

static int token_ok(const char *t)
{
    apr_size_t i, n = t ? strlen(t) : 0;
    if (n != 43) return 0;
    for (i = 0; i < n; i++) {
        if (!apr_isalnum(t[i]) && t[i] != '-' && t[i] != '_') return 0;
    }
    return 1;
}

/* The lines stored as JSON, back into cs_cart_line_t. */
static apr_array_header_t *lines_of(apr_pool_t *p, const char *json)
{
    apr_array_header_t *lines = apr_array_make(p, 4, sizeof(cs_cart_line_t));
    cs_json_t *doc = NULL;
    json_object *arr;
    apr_size_t i, j;
    if (!json || cs_json_parse(&doc, p, json, strlen(json), NULL) != APR_SUCCESS
        || !(arr = cs_json_raw(doc)) || !json_object_is_type(arr, json_type_array)) {
        return lines;
    }
    for (i = 0; i < cs_jlen(arr); i++) {
        json_object *o = cs_jat(arr, i), *mods = cs_jarr(o, "mods");
        cs_cart_line_t *l = apr_array_push(lines);
        apr_int64_t q = 0;
        l->item_id = apr_pstrdup(p, cs_jstr(o, "item") ? cs_jstr(o, "item") : "");
        l->quantity = cs_jint(o, "qty", &q) ? (int)q : 1;
        l->modifier_ids = apr_array_make(p, 2, sizeof(const char *));
        for (j = 0; mods && j < cs_jlen(mods); j++) {
            const char *m = json_object_get_string(cs_jat(mods, j));
            if (m) APR_ARRAY_PUSH(l->modifier_ids, const char *) = apr_pstrdup(p, m);
        }
    }
    return lines;
}

static const char *lines_json(apr_pool_t *p, const apr_array_header_t *lines)
{
    cs_json_t *arr = cs_json_array(p);
    int i, j;
    for (i = 0; i < lines->nelts; i++) {
        const cs_cart_line_t *l = &APR_ARRAY_IDX(lines, i, cs_cart_line_t);
        cs_json_t *o = cs_json_object(p), *mods = cs_json_array(p);
        cs_json_set_str(o, "item", l->item_id);
        cs_json_set_int(o, "qty", l->quantity);
        for (j = 0; l->modifier_ids && j < l->modifier_ids->nelts; j++) {
            json_object_array_add(cs_json_raw(mods), json_object_new_string(
                APR_ARRAY_IDX(l->modifier_ids, j, const char *)));
        }
        cs_json_set_obj(o, "mods", mods);
        cs_json_append(arr, o);
    }
    return cs_json_dump(arr, p);
}

static void tip_of(const char *json, apr_pool_t *p, cs_cart_tip_t *tip)
{
    cs_json_t *doc = NULL;
    apr_int64_t v = 0;
    memset(tip, 0, sizeof(*tip));
    if (!json || cs_json_parse(&doc, p, json, strlen(json), NULL) != APR_SUCCESS) return;
    if (cs_jint(cs_json_raw(doc), "percent_bp", &v)) {
        tip->kind = CS_CART_TIP_PERCENT;
        tip->percent_bp = (int)v;
    }
    else if (cs_jint(cs_json_raw(doc), "cents", &v)) {
        tip->kind = CS_CART_TIP_CUSTOM;
        tip->cents = v;
    }
}

int orders_cart_load(request_rec *r, PGconn *conn, const char *client_id, int for_update,
                     orders_cart_t **pcart)
{
    orders_cart_t *cart = apr_pcalloc(r->pool, sizeof(*cart));
    const char *token = NULL, *params[2], *err = NULL;
    PGresult *res;

    if (ap_cookie_read(r, ORDERS_COOKIE, &token, 0) != APR_SUCCESS || !token_ok(token)) {
        unsigned char raw[32];
        char *t = apr_palloc(r->pool, 44);
        if (cs_random_bytes(raw, sizeof(raw)) != APR_SUCCESS) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        cs_base64url_encode(t, raw, sizeof(raw));
        t[43] = '\0';
        token = t;
        ap_cookie_write(r, ORDERS_COOKIE, token,
                        over_https(r) ? "HttpOnly;SameSite=Lax;Path=/;Secure"
                                      : "HttpOnly;SameSite=Lax;Path=/",
                        CART_DAYS * 86400, r->err_headers_out, NULL);
    }
    cart->token = token;
    cart->csrf = csrf_of(r, client_id, token);
    cart->lines = apr_array_make(r->pool, 4, sizeof(cs_cart_line_t));
    params[0] = cs_sha256_hex(r->pool, token, strlen(token));
    params[1] = client_id;
    res = cs_db_exec(conn, r->pool, &err, PGRES_TUPLES_OK, for_update
        ? "SELECT id, lines, version, tip FROM carts WHERE token_hash = $1 AND client_id = $2 FOR UPDATE"
        : "SELECT id, lines, version, tip FROM carts WHERE token_hash = $1 AND client_id = $2",
        2, params);
    if (!res) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(08020) "reading the cart: %s", err);
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (PQntuples(res) == 1) {
        cart->id = apr_pstrdup(r->pool, PQgetvalue(res, 0, 0));
        cart->lines = lines_of(r->pool, PQgetvalue(res, 0, 1));
        cart->version = atoi(PQgetvalue(res, 0, 2));
        if (!PQgetisnull(res, 0, 3)) tip_of(PQgetvalue(res, 0, 3), r->pool, &cart->tip);
    }
    PQclear(res);
    *pcart = cart;
    return OK;
}

int orders_cart_price(request_rec *r, PGconn *conn, const char *client_id,
                      const orders_conf *c, const orders_cart_t *cart, orders_priced_t *out)
{
    const char *err = NULL;
    int i;

    memset(out, 0, sizeof(*out));
    if (orders_pos_menu(conn, r->pool, c->slug, client_id, &out->menu, &err) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(08021) "menu of %s: %s", c->slug,
                      err ? err : "unavailable");
        return HTTP_SERVICE_UNAVAILABLE;
    }
    out->priced = apr_array_make(r->pool, 4, sizeof(cs_cart_priced_t));
    out->problems = apr_array_make(r->pool, 4, sizeof(const char *));
    /* Line by line, so one item that sold out since it was added shows
     * next to that line and the rest of the cart stays priced. */
    for (i = 0; i < cart->lines->nelts; i++) {
        cs_cart_priced_t pl;
        const char *why = NULL;
        apr_status_t rv = cs_cart_price_line(r->pool, out->menu.menu,
                                             &APR_ARRAY_IDX(cart->lines, i, cs_cart_line_t),
                                             NULL, &pl, &why);
        if (rv == APR_SUCCESS) {
            APR_ARRAY_PUSH(out->priced, cs_cart_priced_t) = pl;
            APR_ARRAY_PUSH(out->problems, const char *) = NULL;
        }
        else {
            if (rv != APR_EINVAL) {
                ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(08022)
                              "cart line of %s: %s", c->slug, why ? why : "refused");
                why = "This item cannot be ordered online right now.";
            }
            APR_ARRAY_PUSH(out->problems, const char *) = why ? why : "Not available.";
            out->bad++;
        }
    }
    if (out->priced->nelts) {
        apr_status_t rv = cs_cart_totals(out->priced, (apr_int64_t)out->menu.tax_rate_bp * 100,
                                         cart->tip.kind ? &cart->tip : NULL,
                                         c->fees_set ? &c->fees : NULL, &out->totals,
                                         r->pool, &err);
        if (rv != APR_SUCCESS) {
            if (rv == APR_BADARG) {
                ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(08023)
                              "totals of %s: %s", c->slug, err);
                err = "Online ordering is unavailable right now.";
            }
            out->error = err;
            memset(&out->totals, 0, sizeof(out->totals));
        }
    }
    return OK;
}

int orders_plan(request_rec *r, PGconn *conn, const char *client_id, const orders_conf *c,
                int points, apr_pool_t *p, cs_slots_plan_t *plan, apr_int64_t now,
                const char **perr)
{
    const char *params[2];
    cs_slots_req_t req;
    PGresult *res;
    int i;

    memset(&req, 0, sizeof(req));
    params[0] = client_id;
    params[1] = apr_itoa(p, c->days + 1);
    res = cs_db_exec(conn, p, perr, PGRES_TUPLES_OK,
        "SELECT s.paused AND (s.paused_until IS NULL OR s.paused_until > now()),"
        "  coalesce(extract(epoch FROM s.paused_until)::bigint, 0), s.extra_minutes"
        " FROM order_settings s WHERE s.client_id = $1", 1, params);
    if (!res) return HTTP_SERVICE_UNAVAILABLE;
    if (PQntuples(res) == 1) {
        req.paused = PQgetvalue(res, 0, 0)[0] == 't';
        req.paused_until = apr_atoi64(PQgetvalue(res, 0, 1));
        req.extra_min = atoi(PQgetvalue(res, 0, 2));
    }
    PQclear(res);
    res = cs_db_exec(conn, p, perr, PGRES_TUPLES_OK,
        "SELECT extract(epoch FROM slot_start)::bigint, points FROM pickup_load"
        " WHERE client_id = $1 AND slot_start >= now() - interval '2 hours'"
        "   AND slot_start < now() + make_interval(days => $2::int)", 2, params);
    if (!res) return HTTP_SERVICE_UNAVAILABLE;
    req.taken = NULL;
    if (PQntuples(res)) {
        apr_array_header_t *taken = apr_array_make(p, PQntuples(res), sizeof(cs_slots_taken_t));
        for (i = 0; i < PQntuples(res); i++) {
            cs_slots_taken_t *t = apr_array_push(taken);
            t->start = apr_atoi64(PQgetvalue(res, i, 0));
            t->points = atoi(PQgetvalue(res, i, 1));
        }
        req.taken = taken;
    }
    PQclear(res);
    req.hours = c->h;
    req.zone = c->zone;
    req.now = now;
    req.lead_min = c->lead_min;
    req.slot_min = c->slot_min;
    req.last_order_min = c->last_order_min;
    req.capacity = c->capacity;
    req.cart_points = points;
    req.max_slots = c->max_slots;
    req.days = c->days;
    req.scheduled_when_closed = c->days > 1;
    if (cs_slots_plan(p, &req, plan, perr) != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

apr_table_t *orders_form(request_rec *r)
{
    apr_array_header_t *pairs = NULL;
    apr_table_t *form = apr_table_make(r->pool, 8);
    const char *ct = apr_table_get(r->headers_in, "Content-Type");
    int i;
    if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33)) {
        ap_discard_request_body(r);
        return NULL;
    }
    if (orders_core.read_form(r, 64, 16 * 1024, &pairs) != OK) {
        return NULL;
    }
    for (i = 0; i < pairs->nelts; i++) {
        cs_pair_t *pair = &APR_ARRAY_IDX(pairs, i, cs_pair_t);
        apr_table_add(form, pair->key, pair->value);
    }
    return form;
}

int orders_csrf_ok(request_rec *r, const orders_cart_t *cart, apr_table_t *form)
{
    const char *sent = form ? apr_table_get(form, "csrf") : NULL;
    if (!sent) sent = apr_table_get(r->headers_in, "X-Consult-CSRF");
    return sent && cs_ct_streq(sent, cart->csrf);
}

static int is_digits(const char *s, int max)
{
    int n = 0;
    if (!s || !*s) return 0;
    for (; *s; s++, n++) {
        if (!apr_isdigit(*s) || n >= max) return 0;
    }
    return 1;
}

/* Collect the modifiers of an add: "mod" fields (checkboxes), and
 * "mod:GROUP" ones (one radio set per group, so choosing a size does not
 * clear the crust). */
static int collect_mod(void *rec, const char *key, const char *val)
{
    apr_array_header_t *mods = rec;
    if ((strcmp(key, "mod") && strncmp(key, "mod:", 4))) return 1;
    if (val && *val && mods->nelts < CS_CART_MAX_CHOICES) {
        APR_ARRAY_PUSH(mods, const char *) = val;
    }
    return 1;
}

/* POST /order/cart: action=add (item, qty, mod...), qty (line, qty),
 * remove (line), tip (tip=none|15|custom, tip_cents). The item is checked
 * against the menu as it is added: a sold-out item never gets in. */
int orders_cart_post(request_rec *r)
{
    orders_conf *c = orders_sconf(r->server);
    const cs_client_t *client = NULL;
    apr_table_t *form = orders_form(r);
    orders_cart_t *cart = NULL;
    const char *action, *err = NULL, *problem = NULL, *params[5];
    orders_priced_t pr;
    PGconn *conn = NULL;
    PGresult *res;
    int st;

    if (orders_core.client_get(r, &client) != APR_SUCCESS
        || orders_core.db_acquire(r, &conn) != APR_SUCCESS) {
        return orders_core.send_error(r, HTTP_SERVICE_UNAVAILABLE, "unavailable",
                                      "Online ordering is unavailable right now. Try again shortly.");
    }
    if (!form) {
        return orders_core.send_error(r, HTTP_BAD_REQUEST, "bad_request", "The form could not be read.");
    }
    if (cs_db_command(conn, r->pool, &err, "BEGIN") != APR_SUCCESS) {
        return orders_core.send_error(r, HTTP_SERVICE_UNAVAILABLE, "unavailable", "Try again shortly.");
    }
    if ((st = orders_cart_load(r, conn, client->id_str, 1, &cart)) != OK) {
        return orders_core.send_error(r, st, "unavailable", "Try again shortly.");
    }
    if (!orders_csrf_ok(r, cart, form)) {
        return orders_core.send_error(r, HTTP_FORBIDDEN, "bad_token",
                                      "This page is out of date. Reload it and try again.");
    }
    action = apr_table_get(form, "action");
    if (!action) action = "add";
    if (!strcmp(action, "add")) {
        cs_cart_line_t line;
        const char *qty = apr_table_get(form, "qty");
        cs_pos_menu_info_t menu;
        cs_cart_priced_t pl;
        memset(&line, 0, sizeof(line));
        line.item_id = apr_table_get(form, "item");
        line.quantity = qty ? (is_digits(qty, 3) ? atoi(qty) : -1) : 1;
        line.modifier_ids = apr_array_make(r->pool, 4, sizeof(const char *));
        apr_table_do(collect_mod, line.modifier_ids, form, NULL);
        if (!line.item_id || !*line.item_id || line.quantity < 1) {
            problem = "Choose an item and a quantity from 1 to 99.";
        }
        else if (orders_pos_menu(conn, r->pool, c->slug, client->id_str, &menu, &err)
                 != APR_SUCCESS) {
            return orders_core.send_error(r, HTTP_SERVICE_UNAVAILABLE, "unavailable",
                                          "The menu is unavailable right now. Try again shortly.");
        }
        else if (cs_cart_price_line(r->pool, menu.menu, &line, NULL, &pl, &problem)
                 != APR_SUCCESS) {
            if (!problem) problem = "This item cannot be ordered right now.";
        }
        else if (cs_cart_add(cart->lines, &line, NULL, &problem) != APR_SUCCESS) {
            if (!problem) problem = "The cart is full.";
        }
    }
    else if (!strcmp(action, "qty") || !strcmp(action, "remove")) {
        const char *line = apr_table_get(form, "line"), *qty = apr_table_get(form, "qty");
        int n = is_digits(line, 3) ? atoi(line) : -1;
        int q = !strcmp(action, "remove") ? 0 : is_digits(qty, 3) ? atoi(qty) : -1;
        if (n < 0 || n >= cart->lines->nelts || q < 0 || q > CS_CART_QTY_MAX) {
            problem = "That line is no longer in your cart.";
        }
        else if (cs_cart_set_quantity(cart->lines, n, q, &problem) != APR_SUCCESS && !problem) {
            problem = "That quantity cannot be ordered.";
        }
    }
    else if (!strcmp(action, "tip")) {
        const char *tip = apr_table_get(form, "tip"), *custom = apr_table_get(form, "tip_amount");
        apr_int64_t cents = 0;
        int i, found = 0;
        memset(&cart->tip, 0, sizeof(cart->tip));
        if (!tip || !strcmp(tip, "none")) found = 1;
        else if (!strcmp(tip, "custom")) {
            if (custom && cs_menu_decimal_to_cents(&cents, custom, 0) == APR_SUCCESS
                && cents <= CS_CART_MAX_CENTS) {
                cart->tip.kind = CS_CART_TIP_CUSTOM;
                cart->tip.cents = cents;
                found = 1;
            }
        }
        else {
            for (i = 0; i < c->ntips; i++) {
                if (is_digits(tip, 5) && atoi(tip) == c->tips[i]) {
                    cart->tip.kind = CS_CART_TIP_PERCENT;
                    cart->tip.percent_bp = c->tips[i];
                    found = 1;
                }
            }
        }
        if (!found) {
            memset(&cart->tip, 0, sizeof(cart->tip));
            problem = "Enter a tip like 3.50, or choose one of the buttons.";
        }
    }
    else {
        problem = "Unknown cart action.";
    }
    if (problem) {
        cs_db_command(conn, r->pool, NULL, "ROLLBACK");
        return orders_core.send_error(r, HTTP_UNPROCESSABLE_ENTITY, "cart_refused", problem);
    }
    params[0] = cs_sha256_hex(r->pool, cart->token, strlen(cart->token));
    params[1] = client->id_str;
    params[2] = lines_json(r->pool, cart->lines);
    params[3] = cart->tip.kind == CS_CART_TIP_PERCENT
        ? apr_psprintf(r->pool, "{\"percent_bp\": %d}", cart->tip.percent_bp)
        : cart->tip.kind == CS_CART_TIP_CUSTOM
        ? apr_psprintf(r->pool, "{\"cents\": %" APR_INT64_T_FMT "}", cart->tip.cents) : NULL;
    /* A new version per change: checkout of this version makes one order. */
    res = cs_db_exec(conn, r->pool, &err, PGRES_TUPLES_OK,
        "INSERT INTO carts AS c (client_id, token_hash, lines, tip) VALUES ($2, $1, $3::jsonb, $4::jsonb)"
        " ON CONFLICT (token_hash) DO UPDATE SET lines = excluded.lines, tip = excluded.tip,"
        "   version = c.version + 1, updated_at = now() WHERE c.client_id = excluded.client_id"
        " RETURNING id, version", 4, params);
    if (!res || PQntuples(res) != 1 || cs_db_command(conn, r->pool, &err, "COMMIT") != APR_SUCCESS) {
        if (res) PQclear(res);
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(08024) "saving the cart: %s",
                      err ? err : "another client's cart");
        return orders_core.send_error(r, HTTP_SERVICE_UNAVAILABLE, "unavailable", "Try again shortly.");
    }
    cart->id = apr_pstrdup(r->pool, PQgetvalue(res, 0, 0));
    cart->version = atoi(PQgetvalue(res, 0, 1));
    PQclear(res);
    if (!orders_wants_json(r)) {
        const char *back = apr_table_get(form, "back");
        apr_table_setn(r->headers_out, "Location",
                       back && !strcmp(back, "checkout") ? "/order/checkout" : "/order#cart");
        return HTTP_SEE_OTHER;
    }
    if ((st = orders_cart_price(r, conn, client->id_str, c, cart, &pr)) != OK) {
        return orders_core.send_error(r, st, "unavailable", "Try again shortly.");
    }
    return orders_core.send_json(r, HTTP_OK,
                                 json_object_to_json_string_ext(orders_owned(r, orders_cart_json(r, c, cart, &pr)),
                                                                JSON_C_TO_STRING_PLAIN));
}
