/*
 * The guest's pages: the menu with its cart, checkout, payment and the
 * order's status. Rendered from ConsultOrderTemplates (cs_tmpl escapes
 * every value); every form works without JavaScript, the scripts in
 * /_consult/ only make it quicker (payment needs Stripe.js, as Stripe
 * requires).
 */
#include "orders_private.h"
#include "base/cs_crypto.h"
#include "util_cookies.h"

#include "http_protocol.h"
#include "http_request.h"
#include "http_core.h"
#include <apr_strings.h>
#include <apr_lib.h>
#include <stdlib.h>

APLOG_USE_MODULE(consult_orders);

const char *orders_money(apr_pool_t *p, apr_int64_t cents, const char *currency)
{
    return cs_menu_format_price(p, cents, currency ? currency : "USD");
}

static void put_str(json_object *o, const char *k, const char *v)
{
    if (v) json_object_object_add(o, k, json_object_new_string(v));
}

static void put_int(json_object *o, const char *k, apr_int64_t v)
{
    json_object_object_add(o, k, json_object_new_int64(v));
}

static void put_bool(json_object *o, const char *k, int v)
{
    json_object_object_add(o, k, json_object_new_boolean(v));
}

int orders_wants_json(request_rec *r)
{
    const char *a = apr_table_get(r->headers_in, "Accept");
    return a && strstr(a, "application/json") && !strstr(a, "text/html");
}

int orders_render(request_rec *r, int status, const char *name, json_object *data)
{
    orders_conf *c = orders_sconf(r->server);
    const char *out = NULL, *err = NULL;
    apr_size_t len = 0;
    if (cs_tmpl_render(&out, &len, r->pool, c->tmpl, name, data, &err) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(08060) "template %s: %s", name, err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    r->status = status;
    ap_set_content_type(r, "text/html; charset=utf-8");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    ap_set_content_length(r, len);
    if (!r->header_only) ap_rwrite(out, (int)len, r);
    return OK;
}

static apr_status_t put_json(void *o)
{
    json_object_put(o);
    return APR_SUCCESS;
}

json_object *orders_owned(request_rec *r, json_object *o)
{
    apr_pool_cleanup_register(r->pool, o, put_json, apr_pool_cleanup_null);
    return o;
}

json_object *orders_page_data(request_rec *r, const orders_conf *c, const char *title)
{
    const cs_client_t *client = NULL;
    json_object *d = orders_owned(r, json_object_new_object());
    put_str(d, "title", title);
    if (orders_core.client_get(r, &client) == APR_SUCCESS) put_str(d, "restaurant", client->name);
    return d;
}

json_object *orders_cart_json(request_rec *r, const orders_conf *c, const orders_cart_t *cart,
                              const orders_priced_t *pr)
{
    json_object *o = json_object_new_object(), *lines = json_object_new_array(), *tips;
    const char *cur = pr->menu.currency;
    int i, k = 0, j;
    for (i = 0; i < cart->lines->nelts; i++) {
        const cs_cart_line_t *l = &APR_ARRAY_IDX(cart->lines, i, cs_cart_line_t);
        const char *problem = APR_ARRAY_IDX(pr->problems, i, const char *);
        json_object *lo = json_object_new_object();
        put_int(lo, "index", i);
        put_int(lo, "quantity", l->quantity);
        if (!problem) {
            const cs_cart_priced_t *pl = &APR_ARRAY_IDX(pr->priced, k, cs_cart_priced_t);
            const char *mods = NULL;
            k++;
            put_str(lo, "name", pl->item->name);
            for (j = 0; pl->choices && j < pl->choices->nelts; j++) {
                const cs_cart_choice_t *ch = &APR_ARRAY_IDX(pl->choices, j, cs_cart_choice_t);
                mods = mods ? apr_pstrcat(r->pool, mods, ", ", ch->modifier->name, NULL)
                            : ch->modifier->name;
            }
            put_str(lo, "modifiers", mods);
            put_int(lo, "unit_cents", pl->unit_cents);
            put_int(lo, "line_cents", pl->line_cents);
            put_str(lo, "line", orders_money(r->pool, pl->line_cents, cur));
        }
        else {
            put_str(lo, "name", l->item_id);
            put_str(lo, "problem", problem);
        }
        json_object_array_add(lines, lo);
    }
    json_object_object_add(o, "lines", lines);
    put_bool(o, "empty", cart->lines->nelts == 0);
    put_int(o, "count", pr->totals.items);
    put_int(o, "bad", pr->bad);
    put_str(o, "error", pr->error);
    put_int(o, "subtotal_cents", pr->totals.subtotal_cents);
    put_int(o, "fee_cents", pr->totals.fee_cents);
    put_int(o, "tax_cents", pr->totals.tax_cents);
    put_int(o, "tip_cents", pr->totals.tip_cents);
    put_int(o, "total_cents", pr->totals.total_cents);
    put_int(o, "prep_points", pr->totals.prep_points);
    put_str(o, "subtotal", orders_money(r->pool, pr->totals.subtotal_cents, cur));
    if (pr->totals.fee_cents) put_str(o, "fee", orders_money(r->pool, pr->totals.fee_cents, cur));
    put_str(o, "tax", orders_money(r->pool, pr->totals.tax_cents, cur));
    put_str(o, "tip", orders_money(r->pool, pr->totals.tip_cents, cur));
    put_str(o, "total", orders_money(r->pool, pr->totals.total_cents, cur));
    put_str(o, "currency", cur);
    tips = json_object_new_array();
    for (i = 0; i < c->ntips; i++) {
        json_object *t = json_object_new_object();
        put_int(t, "bp", c->tips[i]);
        put_str(t, "label", c->tips[i] % 100
                ? apr_psprintf(r->pool, "%d.%02d%%", c->tips[i] / 100, c->tips[i] % 100)
                : apr_psprintf(r->pool, "%d%%", c->tips[i] / 100));
        put_str(t, "amount", orders_money(r->pool, cs_cart_rate_cents(pr->totals.subtotal_cents,
                                                                      c->tips[i], CS_CART_BP), cur));
        put_bool(t, "selected", cart->tip.kind == CS_CART_TIP_PERCENT && cart->tip.percent_bp == c->tips[i]);
        json_object_array_add(tips, t);
    }
    json_object_object_add(o, "tips", tips);
    put_bool(o, "tip_none", cart->tip.kind == CS_CART_TIP_NONE);
    put_bool(o, "tip_custom", cart->tip.kind == CS_CART_TIP_CUSTOM);
    if (cart->tip.kind == CS_CART_TIP_CUSTOM) {
        put_str(o, "tip_custom_amount", apr_psprintf(r->pool, "%" APR_INT64_T_FMT ".%02d",
                                                     cart->tip.cents / 100, (int)(cart->tip.cents % 100)));
    }
    return o;
}

static const cs_menu_group_t *group_of(const cs_menu_t *m, const char *id)
{
    int i;
    for (i = 0; i < m->groups->nelts; i++) {
        const cs_menu_group_t *g = &APR_ARRAY_IDX(m->groups, i, cs_menu_group_t);
        if (!strcmp(g->pos_id, id)) return g;
    }
    return NULL;
}

static json_object *menu_json(request_rec *r, const cs_pos_menu_info_t *mi)
{
    const cs_menu_t *m = mi->menu;
    json_object *cats = json_object_new_array();
    int i, j, k, g;
    for (i = 0; i < m->categories->nelts; i++) {
        const cs_menu_category_t *cat = &APR_ARRAY_IDX(m->categories, i, cs_menu_category_t);
        json_object *co = json_object_new_object(), *items = json_object_new_array();
        put_str(co, "name", cat->name);
        put_str(co, "description", cat->description);
        for (j = 0; j < m->items->nelts; j++) {
            const cs_menu_item_t *it = &APR_ARRAY_IDX(m->items, j, cs_menu_item_t);
            json_object *io, *groups;
            if (!it->visible || strcmp(it->category_id, cat->pos_id)) continue;
            io = json_object_new_object();
            groups = json_object_new_array();
            put_str(io, "id", it->pos_id);
            put_str(io, "name", it->name);
            put_str(io, "description", it->description);
            put_str(io, "price", orders_money(r->pool, it->price_cents, mi->currency));
            put_bool(io, "sold_out", it->sold_out);
            for (g = 0; it->group_ids && g < it->group_ids->nelts; g++) {
                const cs_menu_group_t *gr = group_of(m, APR_ARRAY_IDX(it->group_ids, g, const char *));
                json_object *go, *mods;
                if (!gr) continue;
                go = json_object_new_object();
                mods = json_object_new_array();
                put_str(go, "name", gr->name);
                put_str(go, "key", apr_psprintf(r->pool, "%s-%s", it->pos_id, gr->pos_id));
                put_bool(go, "single", gr->max == 1);
                put_bool(go, "required", gr->min > 0);
                put_str(go, "rule", gr->min > 0 && gr->max == 1 ? "choose one"
                        : gr->max == 1 ? "optional, one"
                        : gr->max ? apr_psprintf(r->pool, "up to %d", gr->max) : "any");
                for (k = 0; k < gr->modifiers->nelts; k++) {
                    const cs_menu_modifier_t *md = &APR_ARRAY_IDX(gr->modifiers, k, cs_menu_modifier_t);
                    json_object *mo = json_object_new_object();
                    put_str(mo, "id", md->pos_id);
                    put_str(mo, "name", md->name);
                    if (md->price_cents) {
                        put_str(mo, "price", apr_pstrcat(r->pool, "+",
                                orders_money(r->pool, md->price_cents, mi->currency), NULL));
                    }
                    put_bool(mo, "sold_out", md->sold_out);
                    put_bool(mo, "first", k == 0 && gr->min > 0 && gr->max == 1);
                    json_object_array_add(mods, mo);
                }
                json_object_object_add(go, "modifiers", mods);
                json_object_array_add(groups, go);
            }
            json_object_object_add(io, "groups", groups);
            json_object_array_add(items, io);
        }
        if (json_object_array_length(items)) {
            json_object_object_add(co, "items", items);
            json_object_array_add(cats, co);
        }
        else json_object_put(items), json_object_put(co);
    }
    return cats;
}

static void plan_json(request_rec *r, json_object *d, const cs_slots_plan_t *plan)
{
    int i;
    json_object *slots = json_object_new_array();
    put_bool(d, "open", plan->state == CS_SLOTS_OPEN);
    put_str(d, "plan_message", plan->message);
    if (plan->state == CS_SLOTS_OPEN) {
        put_str(d, "asap_label", plan->asap.label);
        put_int(d, "asap_minutes", plan->asap_minutes);
    }
    for (i = 0; plan->slots && i < plan->slots->nelts; i++) {
        const cs_slot_t *s = &APR_ARRAY_IDX(plan->slots, i, cs_slot_t);
        json_object *so = json_object_new_object();
        put_int(so, "at", s->start.at);
        put_str(so, "label", s->start.phrase ? s->start.phrase : s->start.label);
        json_object_array_add(slots, so);
    }
    put_bool(d, "has_slots", plan->slots && plan->slots->nelts > 0);
    put_bool(d, "can_order", plan->state == CS_SLOTS_OPEN
             || (plan->slots && plan->slots->nelts > 0));
    json_object_object_add(d, "slots", slots);
}

/* Shared by the menu and checkout pages: client, connection, cart, prices. */
static int load(request_rec *r, const cs_client_t **pclient, PGconn **pconn,
                orders_cart_t **pcart, orders_priced_t *pr)
{
    orders_conf *c = orders_sconf(r->server);
    int st;
    if (orders_core.client_get(r, pclient) != APR_SUCCESS
        || orders_core.db_acquire(r, pconn) != APR_SUCCESS) {
        return orders_core.send_error(r, HTTP_SERVICE_UNAVAILABLE, "unavailable",
                                      "Online ordering is unavailable right now. Try again shortly.");
    }
    if ((st = orders_cart_load(r, *pconn, (*pclient)->id_str, 0, pcart)) != OK
        || (st = orders_cart_price(r, *pconn, (*pclient)->id_str, c, *pcart, pr)) != OK) {
        return orders_core.send_error(r, st, "unavailable",
                                      "Online ordering is unavailable right now. Try again shortly.");
    }
    return DECLINED;
}

int orders_menu_page(request_rec *r)
{
    orders_conf *c = orders_sconf(r->server);
    const cs_client_t *client = NULL;
    orders_cart_t *cart = NULL;
    orders_priced_t pr;
    cs_slots_plan_t plan;
    PGconn *conn = NULL;
    json_object *d;
    const char *err = NULL;
    int st;

    if ((st = load(r, &client, &conn, &cart, &pr)) != DECLINED) return st;
    if ((st = orders_plan(r, conn, client->id_str, c, pr.totals.prep_points, r->pool, &plan,
                          apr_time_sec(apr_time_now()), &err)) != OK) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(08061) "plan: %s", err);
        return orders_core.send_error(r, st, "unavailable", "Try again shortly.");
    }
    d = orders_page_data(r, c, "Order online");
    put_str(d, "csrf", cart->csrf);
    json_object_object_add(d, "categories", menu_json(r, &pr.menu));
    json_object_object_add(d, "cart", orders_cart_json(r, c, cart, &pr));
    plan_json(r, d, &plan);
    return orders_render(r, HTTP_OK, "order", d);
}

int orders_checkout_page(request_rec *r)
{
    orders_conf *c = orders_sconf(r->server);
    const cs_client_t *client = NULL;
    orders_cart_t *cart = NULL;
    orders_priced_t pr;
    cs_slots_plan_t plan;
    PGconn *conn = NULL;
    json_object *d;
    const char *err = NULL;
    int st;

    if ((st = load(r, &client, &conn, &cart, &pr)) != DECLINED) return st;
    if (!cart->lines->nelts) {
        apr_table_setn(r->headers_out, "Location", "/order");
        return HTTP_SEE_OTHER;
    }
    if ((st = orders_plan(r, conn, client->id_str, c, pr.totals.prep_points, r->pool, &plan,
                          apr_time_sec(apr_time_now()), &err)) != OK) {
        return orders_core.send_error(r, st, "unavailable", "Try again shortly.");
    }
    d = orders_page_data(r, c, "Checkout");
    put_str(d, "csrf", cart->csrf);
    json_object_object_add(d, "cart", orders_cart_json(r, c, cart, &pr));
    plan_json(r, d, &plan);
    return orders_render(r, HTTP_OK, "checkout", d);
}

static int id_ok(const char *id)
{
    apr_size_t i, n = strlen(id);
    if (n != 22) return 0;
    for (i = 0; i < n; i++) {
        if (!apr_isalnum(id[i]) && id[i] != '-' && id[i] != '_') return 0;
    }
    return 1;
}

/* The order with this public id, of this vhost's client only. */
static PGresult *find(request_rec *r, const char *pub, const char **pclient_name)
{
    const cs_client_t *client = NULL;
    const char *params[2], *err = NULL;
    PGconn *conn = NULL;
    if (!id_ok(pub) || orders_core.client_get(r, &client) != APR_SUCCESS
        || orders_core.db_acquire(r, &conn) != APR_SUCCESS) {
        return NULL;
    }
    *pclient_name = client->name;
    params[0] = pub;
    params[1] = client->id_str;
    return cs_db_exec(conn, r->pool, &err, PGRES_TUPLES_OK,
        "SELECT o.id, o.state, o.total_cents, o.currency, o.guest_email, o.guest_name,"
        "  to_char(o.pickup_at AT TIME ZONE coalesce(rs.time_zone, 'UTC'), 'FMHH12:MI AM'),"
        "  o.pickup_asap, o.refunded_cents, o.problem, o.subtotal_cents, o.fee_cents, o.tax_cents,"
        "  o.tip_cents,"
        "  (SELECT json_agg(json_build_object('name', l.name, 'quantity', l.quantity,"
        "     'line', l.line_cents, 'dropped', l.dropped, 'modifiers',"
        "     (SELECT string_agg(m->>'name', ', ') FROM jsonb_array_elements(l.modifiers) m))"
        "     ORDER BY l.n) FROM order_lines l WHERE l.order_id = o.id),"
        "  extract(epoch FROM o.pickup_at)::bigint,"
        "  (SELECT k.token_hash FROM carts k WHERE k.id = o.cart_id)"
        " FROM orders o LEFT JOIN restaurants rs ON rs.client_id = o.client_id"
        " WHERE o.public_id = $1 AND o.client_id = $2", 2, params);
}

int orders_pay_page(request_rec *r, const char *pub)
{
    orders_conf *c = orders_sconf(r->server);
    const char *name = NULL;
    PGresult *res = find(r, pub, &name);
    cs_stripe_intent_t pi;
    cs_stripe_error_t e;
    json_object *d;
    apr_int64_t total;
    const char *cur, *email;

    if (!res || PQntuples(res) != 1) {
        if (res) PQclear(res);
        return HTTP_NOT_FOUND;
    }
    if (strcmp(PQgetvalue(res, 0, 1), "pending_payment")) {
        PQclear(res);
        apr_table_setn(r->headers_out, "Location", apr_pstrcat(r->pool, "/order/status/", pub, NULL));
        return HTTP_SEE_OTHER;
    }
    /* The client secret goes only to the browser whose cart made the order:
     * the public id alone (in the status link, the POS, Stripe's metadata)
     * is not enough to open the card form. */
    {
        const char *cookie = NULL;
        if (PQgetisnull(res, 0, 16) || ap_cookie_read(r, ORDERS_COOKIE, &cookie, 0) != APR_SUCCESS
            || !cookie || !cs_ct_streq(cs_sha256_hex(r->pool, cookie, strlen(cookie)),
                                       PQgetvalue(res, 0, 16))) {
            PQclear(res);
            return orders_core.send_error(r, HTTP_FORBIDDEN, "not_your_cart",
                                          "Open the payment page in the browser you ordered with.");
        }
    }
    total = apr_atoi64(PQgetvalue(res, 0, 2));
    cur = apr_pstrdup(r->pool, PQgetvalue(res, 0, 3));
    email = PQgetisnull(res, 0, 4) ? NULL : apr_pstrdup(r->pool, PQgetvalue(res, 0, 4));
    d = orders_page_data(r, c, "Pay");
    put_str(d, "order", pub);
    put_str(d, "total", orders_money(r->pool, total, cur));
    put_str(d, "pickup", PQgetvalue(res, 0, 6));
    PQclear(res);
    /* The same key as at checkout: Stripe answers the same intent. */
    if (orders_intent(r->pool, c, pub, total, cur, email, &pi, &e) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(08062)
                      "PaymentIntent for order %s: %s", pub, e.why ? e.why : "failed");
        return orders_core.send_error(r, HTTP_SERVICE_UNAVAILABLE, "payment_unavailable",
                                      "The payment could not be started. Please reload in a moment.");
    }
    put_str(d, "publishable_key", c->publishable_key);
    put_str(d, "client_secret", pi.client_secret);
    put_str(d, "stripe_js", c->stripe_js);
    put_str(d, "return_url", ap_construct_url(r->pool,
                                              apr_pstrcat(r->pool, "/order/status/", pub, NULL), r));
    apr_table_setn(r->headers_out, "Content-Security-Policy", c->csp);
    return orders_render(r, HTTP_OK, "pay", d);
}

int orders_status_page(request_rec *r, const char *pub, int json)
{
    orders_conf *c = orders_sconf(r->server);
    const char *name = NULL, *cur;
    PGresult *res = find(r, pub, &name);
    cs_order_state_t s = CS_ORDER_PENDING;
    json_object *d, *steps, *lines = NULL;
    static const cs_order_state_t line[] = { CS_ORDER_PAID, CS_ORDER_SENT, CS_ORDER_ACCEPTED,
                                             CS_ORDER_READY, CS_ORDER_PICKED_UP };
    static const char *const step_names[] = { "Paid", "Sent to the kitchen", "Being prepared",
                                              "Ready", "Picked up" };
    int i;

    if (!res || PQntuples(res) != 1) {
        if (res) PQclear(res);
        if (json) return orders_core.send_error(r, HTTP_NOT_FOUND, "not_found", "No such order.");
        return HTTP_NOT_FOUND;
    }
    cs_order_state_parse(PQgetvalue(res, 0, 1), &s);
    cur = apr_pstrdup(r->pool, PQgetvalue(res, 0, 3));
    d = orders_page_data(r, c, "Your order");
    put_str(d, "order", pub);
    put_str(d, "state", cs_order_state_name(s));
    put_str(d, "label", cs_order_state_label(s));
    put_str(d, "name", PQgetvalue(res, 0, 5));
    put_str(d, "pickup", PQgetvalue(res, 0, 6));
    put_int(d, "pickup_at", apr_atoi64(PQgetvalue(res, 0, 15)));
    put_int(d, "total_cents", apr_atoi64(PQgetvalue(res, 0, 2)));
    put_str(d, "total", orders_money(r->pool, apr_atoi64(PQgetvalue(res, 0, 2)), cur));
    put_int(d, "refunded_cents", apr_atoi64(PQgetvalue(res, 0, 8)));
    if (apr_atoi64(PQgetvalue(res, 0, 8)) > 0) {
        put_str(d, "refunded", orders_money(r->pool, apr_atoi64(PQgetvalue(res, 0, 8)), cur));
    }
    put_str(d, "problem", PQgetisnull(res, 0, 9) ? NULL : PQgetvalue(res, 0, 9));
    put_bool(d, "pending", s == CS_ORDER_PENDING);
    put_bool(d, "ready", s == CS_ORDER_READY);
    put_bool(d, "live", !cs_order_is_final(s));
    put_bool(d, "bad", s == CS_ORDER_FAILED || s == CS_ORDER_CANCELLED || s == CS_ORDER_REFUNDED);
    if (!PQgetisnull(res, 0, 14)) {
        cs_json_t *lj = NULL;
        if (cs_json_parse(&lj, r->pool, PQgetvalue(res, 0, 14), strlen(PQgetvalue(res, 0, 14)),
                          NULL) == APR_SUCCESS) {
            lines = json_object_get(cs_json_raw(lj));
            for (i = 0; i < (int)json_object_array_length(lines); i++) {
                json_object *lo = json_object_array_get_idx(lines, i);
                apr_int64_t cents = 0;
                if (cs_jint(lo, "line", &cents)) put_str(lo, "price", orders_money(r->pool, cents, cur));
            }
        }
    }
    if (lines) json_object_object_add(d, "lines", lines);
    steps = json_object_new_array();
    for (i = 0; i < 5; i++) {
        json_object *so = json_object_new_object();
        put_str(so, "name", step_names[i]);
        put_bool(so, "done", cs_order_is_paid(s) && s >= line[i]);
        put_bool(so, "current", s == line[i]);
        json_object_array_add(steps, so);
    }
    json_object_object_add(d, "steps", steps);
    PQclear(res);
    if (json) {
        return orders_core.send_json(r, HTTP_OK, json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN));
    }
    return orders_render(r, HTTP_OK, "status", d);
}
