/*
 * POST /order/checkout: the cart becomes an order and a PaymentIntent.
 *
 * One transaction, with the cart's row locked: the same cart version
 * checked out again (a double click, a retry, a second tab) finds the
 * order the first made, so there is one order and one PaymentIntent (its
 * Idempotency-Key is the order's). Before anything is charged every line
 * is priced from the menu again (a sold-out item stops checkout), the
 * pickup time is taken from the plan, and its slot's capacity is taken in
 * one guarded UPDATE, so two guests never both get the last of a slot.
 * Stripe is called only after the commit: no transaction waits on it.
 */
#include "orders_private.h"
#include "base/cs_crypto.h"
#include "text/cs_text.h"

#include "http_protocol.h"
#include "http_request.h"
#include <apr_strings.h>
#include <stdlib.h>

APLOG_USE_MODULE(consult_orders);

static int refuse(request_rec *r, PGconn *conn, int status, const char *code, const char *msg)
{
    cs_db_command(conn, r->pool, NULL, "ROLLBACK");
    return orders_core.send_error(r, status, code, msg);
}

/* The lines as order_lines rows, for jsonb_to_recordset. */
static const char *lines_json(apr_pool_t *p, const apr_array_header_t *priced)
{
    cs_json_t *arr = cs_json_array(p);
    int i, j;
    for (i = 0; i < priced->nelts; i++) {
        const cs_cart_priced_t *l = &APR_ARRAY_IDX(priced, i, cs_cart_priced_t);
        cs_json_t *o = cs_json_object(p), *mods = cs_json_array(p);
        cs_json_set_int(o, "n", i + 1);
        cs_json_set_str(o, "item_id", l->item->pos_id);
        cs_json_set_str(o, "name", l->item->name);
        cs_json_set_int(o, "quantity", l->quantity);
        cs_json_set_int(o, "unit_cents", l->unit_cents);
        cs_json_set_int(o, "line_cents", l->line_cents);
        cs_json_set_int(o, "prep_points", l->prep_points);
        for (j = 0; l->choices && j < l->choices->nelts; j++) {
            const cs_cart_choice_t *ch = &APR_ARRAY_IDX(l->choices, j, cs_cart_choice_t);
            cs_json_t *m = cs_json_object(p);
            cs_json_set_str(m, "id", ch->modifier->pos_id);
            cs_json_set_str(m, "name", ch->modifier->name);
            cs_json_set_int(m, "cents", ch->modifier->price_cents);
            cs_json_append(mods, m);
        }
        cs_json_set_obj(o, "modifiers", mods);
        cs_json_append(arr, o);
    }
    return cs_json_dump(arr, p);
}

static const char *public_id(apr_pool_t *p)
{
    unsigned char raw[16];
    char *t = apr_palloc(p, 23);
    if (cs_random_bytes(raw, sizeof(raw)) != APR_SUCCESS) return NULL;
    cs_base64url_encode(t, raw, sizeof(raw));
    t[22] = '\0';
    return t;
}

/* The tip the checkout form chose, when it chose one. 0: none given;
 * 1: *tip set; -1: not a tip we offer. */
static int form_tip(const orders_conf *c, apr_table_t *form, cs_cart_tip_t *tip)
{
    const char *t = apr_table_get(form, "tip"), *amount = apr_table_get(form, "tip_amount");
    apr_int64_t cents = 0;
    int i;
    if (!t) return 0;
    memset(tip, 0, sizeof(*tip));
    if (!strcmp(t, "none")) return 1;
    if (!strcmp(t, "custom")) {
        if (!amount || cs_menu_decimal_to_cents(&cents, amount, 0) != APR_SUCCESS
            || cents > CS_CART_MAX_CENTS) {
            return -1;
        }
        tip->kind = CS_CART_TIP_CUSTOM;
        tip->cents = cents;
        return 1;
    }
    for (i = 0; i < c->ntips; i++) {
        if (atoi(t) == c->tips[i] && strspn(t, "0123456789") == strlen(t)) {
            tip->kind = CS_CART_TIP_PERCENT;
            tip->percent_bp = c->tips[i];
            return 1;
        }
    }
    return -1;
}

static int same_tip(const cs_cart_tip_t *a, const cs_cart_tip_t *b)
{
    return a->kind == b->kind && (a->kind != CS_CART_TIP_PERCENT || a->percent_bp == b->percent_bp)
        && (a->kind != CS_CART_TIP_CUSTOM || a->cents == b->cents);
}

/* The PaymentIntent of a committed order, and the answer to the guest. */
static int pay(request_rec *r, const orders_conf *c, PGconn *conn, const char *order_id,
               const char *pub, apr_int64_t total, const char *currency, const char *email)
{
    cs_stripe_intent_t pi;
    cs_stripe_error_t e;
    const char *params[2], *err = NULL;
    PGresult *res;

    if (orders_intent(r->pool, c, pub, total, currency, email, &pi, &e) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(08030)
                      "PaymentIntent for order %s of %s: %s", pub, c->slug,
                      e.why ? e.why : "failed");
        /* The order stays; checking out again asks Stripe again, with the
         * same key. */
        return orders_core.send_error(r, e.retry ? HTTP_SERVICE_UNAVAILABLE : HTTP_BAD_GATEWAY,
                                      "payment_unavailable",
                                      "The payment could not be started. Please try again in a moment.");
    }
    params[0] = order_id;
    params[1] = pi.id;
    res = cs_db_exec(conn, r->pool, &err, PGRES_COMMAND_OK,
                     "UPDATE orders SET payment_intent = $2 WHERE id = $1 AND payment_intent IS NULL",
                     2, params);
    if (!res) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(08031)
                      "storing the PaymentIntent of order %s: %s", pub, err);
        return orders_core.send_error(r, HTTP_SERVICE_UNAVAILABLE, "unavailable",
                                      "Please try again in a moment.");
    }
    PQclear(res);
    if (orders_wants_json(r)) {
        cs_json_t *o = cs_json_object(r->pool);
        cs_json_set_str(o, "order", pub);
        cs_json_set_str(o, "payment_intent", pi.id);
        cs_json_set_str(o, "client_secret", pi.client_secret);
        cs_json_set_int(o, "total_cents", total);
        cs_json_set_str(o, "currency", currency);
        cs_json_set_str(o, "pay_url", apr_pstrcat(r->pool, "/order/pay/", pub, NULL));
        cs_json_set_str(o, "status_url", apr_pstrcat(r->pool, "/order/status/", pub, NULL));
        return orders_core.send_json(r, HTTP_OK, cs_json_dump(o, r->pool));
    }
    apr_table_setn(r->headers_out, "Location", apr_pstrcat(r->pool, "/order/pay/", pub, NULL));
    return HTTP_SEE_OTHER;
}

int orders_checkout_post(request_rec *r)
{
    orders_conf *c = orders_sconf(r->server);
    const cs_client_t *client = NULL;
    apr_table_t *form = orders_form(r);
    orders_cart_t *cart = NULL;
    const char *name, *phone_in, *email_in, *phone = NULL, *email = NULL, *pickup;
    const char *err = NULL, *params[25], *region, *pub, *oid;
    apr_array_header_t *priced = NULL;
    cs_cart_totals_t totals;
    cs_slots_plan_t plan;
    cs_cart_tip_t tip;
    cs_pos_menu_info_t menu;
    apr_int64_t now = apr_time_sec(apr_time_now()), slot = 0, ready_at = 0;
    PGconn *conn = NULL;
    PGresult *res;
    int st, bad = -1, asap, i, t;

    if (orders_core.client_get(r, &client) != APR_SUCCESS
        || orders_core.db_acquire(r, &conn) != APR_SUCCESS) {
        return orders_core.send_error(r, HTTP_SERVICE_UNAVAILABLE, "unavailable",
                                      "Online ordering is unavailable right now. Try again shortly.");
    }
    if (!form) {
        return orders_core.send_error(r, HTTP_BAD_REQUEST, "bad_request", "The form could not be read.");
    }
    name = cs_trim(r->pool, apr_table_get(form, "name"));
    phone_in = cs_trim(r->pool, apr_table_get(form, "phone"));
    email_in = cs_trim(r->pool, apr_table_get(form, "email"));
    pickup = apr_table_get(form, "pickup");
    region = orders_core.phone_region ? orders_core.phone_region(c->slug) : "US";
    if (!name || !*name || cs_utf8_chars(name) > 100 || !cs_text_is_clean(name, strlen(name))) {
        return orders_core.send_error(r, HTTP_UNPROCESSABLE_ENTITY, "bad_name",
                                      "Enter the name the order is for.");
    }
    if (phone_in && *phone_in && cs_phone_e164(r->pool, phone_in, region, &phone) != APR_SUCCESS) {
        return orders_core.send_error(r, HTTP_UNPROCESSABLE_ENTITY, "bad_phone",
                                      "That phone number does not look right.");
    }
    if (email_in && *email_in && cs_email_normalize(r->pool, email_in, &email) != APR_SUCCESS) {
        return orders_core.send_error(r, HTTP_UNPROCESSABLE_ENTITY, "bad_email",
                                      "That email address does not look right.");
    }
    if (!phone && !email) {
        return orders_core.send_error(r, HTTP_UNPROCESSABLE_ENTITY, "no_contact",
                                      "Give a phone number or an email so we can tell you when it is ready.");
    }
    asap = !pickup || !*pickup || !strcmp(pickup, "asap");
    if (!asap) {
        char *end = NULL;
        slot = apr_strtoi64(pickup, &end, 10);
        if (!end || *end || slot <= 0) {
            return orders_core.send_error(r, HTTP_UNPROCESSABLE_ENTITY, "bad_pickup",
                                          "Choose a pickup time from the list.");
        }
    }
    if ((t = form_tip(c, form, &tip)) < 0) {
        return orders_core.send_error(r, HTTP_UNPROCESSABLE_ENTITY, "bad_tip",
                                      "Enter a tip like 3.50, or choose one of the buttons.");
    }

    if (cs_db_command(conn, r->pool, &err, "BEGIN") != APR_SUCCESS) {
        return orders_core.send_error(r, HTTP_SERVICE_UNAVAILABLE, "unavailable", "Try again shortly.");
    }
    if ((st = orders_cart_load(r, conn, client->id_str, 1, &cart)) != OK) {
        return refuse(r, conn, st, "unavailable", "Try again shortly.");
    }
    if (!orders_csrf_ok(r, cart, form)) {
        return refuse(r, conn, HTTP_FORBIDDEN, "bad_token",
                      "This page is out of date. Reload it and try again.");
    }
    if (!cart->id || !cart->lines->nelts) {
        return refuse(r, conn, HTTP_CONFLICT, "empty_cart", "Your cart is empty.");
    }
    if (t == 1 && !same_tip(&tip, &cart->tip)) {
        params[0] = cart->id;
        params[1] = tip.kind == CS_CART_TIP_PERCENT
            ? apr_psprintf(r->pool, "{\"percent_bp\": %d}", tip.percent_bp)
            : tip.kind == CS_CART_TIP_CUSTOM
            ? apr_psprintf(r->pool, "{\"cents\": %" APR_INT64_T_FMT "}", tip.cents) : NULL;
        res = cs_db_exec(conn, r->pool, &err, PGRES_TUPLES_OK,
                         "UPDATE carts SET tip = $2::jsonb, version = version + 1, updated_at = now()"
                         " WHERE id = $1 RETURNING version", 2, params);
        if (!res) return refuse(r, conn, HTTP_SERVICE_UNAVAILABLE, "unavailable", "Try again shortly.");
        cart->version = atoi(PQgetvalue(res, 0, 0));
        cart->tip = tip;
        PQclear(res);
    }

    /* This cart, as it is, was checked out before: that order. */
    params[0] = cart->id;
    params[1] = apr_itoa(r->pool, cart->version);
    res = cs_db_exec(conn, r->pool, &err, PGRES_TUPLES_OK,
                     "SELECT id, public_id, state, total_cents, currency, guest_email FROM orders"
                     " WHERE cart_id = $1 AND cart_version = $2", 2, params);
    if (!res) return refuse(r, conn, HTTP_SERVICE_UNAVAILABLE, "unavailable", "Try again shortly.");
    if (PQntuples(res) == 1) {
        const char *id = apr_pstrdup(r->pool, PQgetvalue(res, 0, 0));
        const char *p2 = apr_pstrdup(r->pool, PQgetvalue(res, 0, 1));
        int pending = !strcmp(PQgetvalue(res, 0, 2), "pending_payment");
        apr_int64_t total = apr_atoi64(PQgetvalue(res, 0, 3));
        const char *cur = apr_pstrdup(r->pool, PQgetvalue(res, 0, 4));
        const char *em = PQgetisnull(res, 0, 5) ? NULL : apr_pstrdup(r->pool, PQgetvalue(res, 0, 5));
        PQclear(res);
        cs_db_command(conn, r->pool, NULL, "COMMIT");
        if (pending) return pay(r, c, conn, id, p2, total, cur, em);
        if (orders_wants_json(r)) {
            return orders_core.send_error(r, HTTP_CONFLICT, "already_ordered",
                                          "This cart was ordered already.");
        }
        apr_table_setn(r->headers_out, "Location", apr_pstrcat(r->pool, "/order/status/", p2, NULL));
        return HTTP_SEE_OTHER;
    }
    PQclear(res);

    /* The cart changed since an earlier checkout: that unpaid order's expiry
     * runs now (it cancels its PaymentIntent at Stripe, or applies it if
     * it was paid in another tab, and gives its pickup time back), so one
     * cart never holds more than one slot, nor two live payments. */
    params[0] = cart->id;
    res = cs_db_exec(conn, r->pool, &err, PGRES_COMMAND_OK,
        "UPDATE jobs SET run_at = now(), updated_at = now() WHERE state = 'queued'"
        " AND kind = 'order.expire' AND payload->>'order_id' IN (SELECT id::text FROM orders"
        "   WHERE cart_id = $1 AND state = 'pending_payment')", 1, params);
    if (!res) return refuse(r, conn, HTTP_SERVICE_UNAVAILABLE, "unavailable", "Try again shortly.");
    PQclear(res);

    /* Priced again, from the menu as it is now: nothing sold out is charged. */
    if (orders_pos_menu(conn, r->pool, c->slug, client->id_str, &menu, &err) != APR_SUCCESS) {
        return refuse(r, conn, HTTP_SERVICE_UNAVAILABLE, "unavailable",
                      "The menu is unavailable right now. Try again shortly.");
    }
    if (cs_cart_price_all(r->pool, menu.menu, cart->lines, NULL, &priced, &bad, &err)
        != APR_SUCCESS) {
        return refuse(r, conn, HTTP_CONFLICT, "cart_changed",
                      apr_pstrcat(r->pool, err ? err : "An item in your cart is not available",
                                  ". Remove it from your cart to check out.", NULL));
    }
    if (cs_cart_totals(priced, (apr_int64_t)menu.tax_rate_bp * 100,
                       cart->tip.kind ? &cart->tip : NULL, c->fees_set ? &c->fees : NULL,
                       &totals, r->pool, &err) != APR_SUCCESS) {
        return refuse(r, conn, HTTP_UNPROCESSABLE_ENTITY, "bad_total",
                      err ? err : "This order cannot be placed online.");
    }
    if (totals.total_cents < 50) {
        return refuse(r, conn, HTTP_UNPROCESSABLE_ENTITY, "too_small",
                      "Online orders must come to at least 0.50.");
    }

    /* The pickup time, from the plan as it is inside this transaction. */
    if ((st = orders_plan(r, conn, client->id_str, c, totals.prep_points, r->pool, &plan, now,
                          &err)) != OK) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(08032) "pickup plan of %s: %s",
                      c->slug, err ? err : "failed");
        return refuse(r, conn, st, "unavailable", "Try again shortly.");
    }
    if (asap) {
        if (plan.state != CS_SLOTS_OPEN) {
            return refuse(r, conn, HTTP_CONFLICT, "no_pickup", plan.message);
        }
        slot = plan.asap_slot.start.at;
        ready_at = plan.asap.at;
    }
    else {
        for (i = 0; plan.slots && i < plan.slots->nelts; i++) {
            if (APR_ARRAY_IDX(plan.slots, i, cs_slot_t).start.at == slot) break;
        }
        if (!plan.slots || i == plan.slots->nelts) {
            return refuse(r, conn, HTTP_CONFLICT, "slot_gone",
                          "That pickup time is no longer available. Choose another.");
        }
        ready_at = slot;
    }
    params[0] = client->id_str;
    params[1] = apr_psprintf(r->pool, "%" APR_INT64_T_FMT, slot);
    params[2] = apr_itoa(r->pool, totals.prep_points);
    params[3] = apr_itoa(r->pool, c->capacity);
    res = cs_db_exec(conn, r->pool, &err, PGRES_TUPLES_OK,
        "WITH z AS (INSERT INTO pickup_load (client_id, slot_start) VALUES ($1, to_timestamp($2))"
        "  ON CONFLICT DO NOTHING)"
        " SELECT 1", 2, params);
    if (res) {
        PQclear(res);
        res = cs_db_exec(conn, r->pool, &err, PGRES_TUPLES_OK,
            "UPDATE pickup_load SET points = points + $3::int"
            " WHERE client_id = $1 AND slot_start = to_timestamp($2) AND points + $3::int <= $4::int"
            " RETURNING points", 4, params);
    }
    if (!res) return refuse(r, conn, HTTP_SERVICE_UNAVAILABLE, "unavailable", "Try again shortly.");
    if (PQntuples(res) != 1) {
        PQclear(res);
        return refuse(r, conn, HTTP_CONFLICT, "slot_full",
                      "That pickup time just filled up. Choose another.");
    }
    PQclear(res);

    if (!(pub = public_id(r->pool))) {
        return refuse(r, conn, HTTP_INTERNAL_SERVER_ERROR, "error", "Try again shortly.");
    }
    params[0] = client->id_str;
    params[1] = pub;
    params[2] = cart->id;
    params[3] = apr_itoa(r->pool, cart->version);
    params[4] = name;
    params[5] = phone;
    params[6] = email;
    params[7] = asap ? "t" : "f";
    params[8] = apr_psprintf(r->pool, "%" APR_INT64_T_FMT, ready_at);
    params[9] = apr_psprintf(r->pool, "%" APR_INT64_T_FMT, slot);
    params[10] = apr_itoa(r->pool, totals.prep_points);
    params[11] = menu.currency;
    params[12] = apr_psprintf(r->pool, "%" APR_INT64_T_FMT, totals.subtotal_cents);
    params[13] = apr_psprintf(r->pool, "%" APR_INT64_T_FMT, totals.fee_cents);
    params[14] = apr_psprintf(r->pool, "%" APR_INT64_T_FMT, totals.tax_cents);
    params[15] = apr_psprintf(r->pool, "%" APR_INT64_T_FMT, totals.tip_cents);
    params[16] = apr_psprintf(r->pool, "%" APR_INT64_T_FMT, totals.total_cents);
    params[17] = lines_json(r->pool, priced);
    params[18] = ORDERS_JOB_EXPIRE;
    params[19] = apr_psprintf(r->pool, "%" APR_INT64_T_FMT,
                              (apr_int64_t)apr_time_sec(c->unpaid_expiry));
    params[20] = apr_itoa(r->pool, menu.tax_rate_bp * 100);
    params[21] = apr_psprintf(r->pool, "%" APR_INT64_T_FMT, c->fees_set ? c->fees.fixed_cents : 0);
    params[22] = apr_itoa(r->pool, c->fees_set ? c->fees.percent_bp : 0);
    params[23] = c->fees_set && c->fees.taxable ? "t" : "f";
    params[24] = cart->tip.kind == CS_CART_TIP_PERCENT ? apr_itoa(r->pool, cart->tip.percent_bp) : NULL;
    /* The order, its lines, its first history row and the job that lets
     * it go if it is never paid: one statement. */
    res = cs_db_exec(conn, r->pool, &err, PGRES_TUPLES_OK,
        "WITH o AS (INSERT INTO orders (client_id, public_id, cart_id, cart_version, guest_name,"
        "   guest_phone, guest_email, pickup_asap, pickup_at, slot_start, points, currency,"
        "   subtotal_cents, fee_cents, tax_cents, tip_cents, total_cents, tax_rate_ppm,"
        "   fee_fixed_cents, fee_percent_bp, fee_taxable, tip_percent_bp)"
        "  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, to_timestamp($9), to_timestamp($10), $11, $12,"
        "   $13, $14, $15, $16, $17, $21, $22, $23, $24, $25) RETURNING id),"
        " l AS (INSERT INTO order_lines (order_id, n, item_id, name, quantity, unit_cents,"
        "   line_cents, modifiers, prep_points)"
        "  SELECT o.id, x.n, x.item_id, x.name, x.quantity, x.unit_cents, x.line_cents,"
        "   x.modifiers, x.prep_points FROM o, jsonb_to_recordset($18::jsonb) AS x(n int,"
        "   item_id text, name text, quantity int, unit_cents bigint, line_cents bigint,"
        "   modifiers jsonb, prep_points int)),"
        " e AS (INSERT INTO order_events (order_id, to_state, actor, reason)"
        "  SELECT o.id, 'pending_payment', 'guest', 'checkout' FROM o),"
        " j AS (INSERT INTO jobs (kind, payload, unique_key, run_at)"
        "  SELECT $19, jsonb_build_object('order_id', o.id, 'client_id', $1::bigint),"
        "   $19 || ':' || o.id, now() + make_interval(secs => $20::int) FROM o)"
        " SELECT id FROM o", 25, params);
    if (!res || PQntuples(res) != 1) {
        if (res) PQclear(res);
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(08033) "saving an order of %s: %s",
                      c->slug, err ? err : "no row");
        return refuse(r, conn, HTTP_SERVICE_UNAVAILABLE, "unavailable", "Try again shortly.");
    }
    oid = apr_pstrdup(r->pool, PQgetvalue(res, 0, 0));
    PQclear(res);
    if (cs_db_command(conn, r->pool, &err, "COMMIT") != APR_SUCCESS) {
        return orders_core.send_error(r, HTTP_SERVICE_UNAVAILABLE, "unavailable", "Try again shortly.");
    }
    return pay(r, c, conn, oid, pub, totals.total_cents, menu.currency, email);
}
