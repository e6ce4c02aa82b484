/* The Toast adapter's answers and webhooks (cs_pos_parse.h): stock
 * answers, order bodies, answers and states, webhook events, signatures
 * and Toast's date-times. */
#include "providers/pos/cs_pos_util.h"

#include <apr_strings.h>
#include <string.h>

/* ---- stock ---------------------------------------------------------------------- */

/* Toast's stock states; QUANTITY with nothing left is sold out. -1 for a
 * state we do not know. */
static int stock_sold_out(const char *status, json_object *quantity)
{
    if (cs_pos_streq(status, "OUT_OF_STOCK")) {
        return 1;
    }
    if (cs_pos_streq(status, "IN_STOCK")) {
        return 0;
    }
    if (cs_pos_streq(status, "QUANTITY")) {
        return quantity && (json_object_is_type(quantity, json_type_double)
                            || json_object_is_type(quantity, json_type_int))
               && json_object_get_double(quantity) <= 0.0;
    }
    return -1;
}

apr_status_t cs_pos_toast_parse_stock(apr_array_header_t **pout, const char *body,
                                      apr_size_t len, apr_pool_t *p,
                                      const char **perr)
{
    json_object *root;
    apr_array_header_t *out;
    const char *why;
    apr_size_t i;

    *pout = NULL;
    if (cs_pos_json_root(&root, p, body, len, json_type_array, &why) != APR_SUCCESS) {
        CS_POS_FAIL(APR_EINVAL, "Toast answered stock that is not a JSON array");
    }
    out = apr_array_make(p, (int)cs_jlen(root) + 1, sizeof(cs_menu_stock_t));
    for (i = 0; i < cs_jlen(root); i++) {
        json_object *e = cs_jat(root, i);
        const char *guid = cs_pos_nonempty(cs_jstr(e, "guid"));
        int so = stock_sold_out(cs_jstr(e, "status"), cs_pos_member(e, "quantity"));

        if (!guid || so < 0 || cs_pos_streq(cs_jstr(e, "itemGuidValidity"), "INVALID")) {
            continue;
        }
        cs_pos_push_stock(out, guid, so, 0);
    }
    *pout = out;
    return APR_SUCCESS;
}

/* ---- orders and webhooks: parsing ------------------------------------------------ */

static const char *guest_status(const char *s)
{
    if (cs_pos_streq(s, "RECEIVED")) return CS_POS_ORDER_PENDING;
    if (cs_pos_streq(s, "IN_PREPARATION")) return CS_POS_ORDER_ACCEPTED;
    if (cs_pos_streq(s, "READY_FOR_PICKUP")) return CS_POS_ORDER_READY;
    if (cs_pos_streq(s, "CLOSED")) return CS_POS_ORDER_COMPLETED;
    if (cs_pos_streq(s, "VOIDED") || cs_pos_streq(s, "VOID")) return CS_POS_ORDER_CANCELLED;
    return NULL;
}

/* 1 when the order has selections and the kitchen finished every one
 * (fulfillmentStatus READY; voided ones do not count). */
static int all_ready(json_object *order)
{
    json_object *checks = cs_jarr(order, "checks");
    apr_size_t i, j, n = 0;

    for (i = 0; i < cs_jlen(checks); i++) {
        json_object *ck = cs_jat(checks, i), *sel = cs_jarr(ck, "selections");
        if (cs_jbool(ck, "voided", 0) || cs_jbool(ck, "deleted", 0)) {
            continue;
        }
        for (j = 0; j < cs_jlen(sel); j++) {
            json_object *s = cs_jat(sel, j);
            if (cs_jbool(s, "voided", 0)) {
                continue;
            }
            if (!cs_pos_streq(cs_jstr(s, "fulfillmentStatus"), "READY")) {
                return 0;
            }
            n++;
        }
    }
    return n > 0;
}

const char *cs_pos_toast_order_state(json_object *order)
{
    const char *approval = cs_jstr(order, "approvalStatus");
    const char *guest = guest_status(cs_jstr(order, "guestOrderStatus"));

    if (guest) {
        return guest;
    }
    if (cs_jbool(order, "voided", 0) || cs_jbool(order, "deleted", 0)
        || cs_pos_streq(approval, "NOT_APPROVED")) {
        return CS_POS_ORDER_CANCELLED;
    }
    if (cs_pos_streq(approval, "NEEDS_APPROVAL") || cs_pos_streq(approval, "FUTURE")) {
        return CS_POS_ORDER_PENDING;
    }
    if (cs_pos_streq(cs_jstr(cs_jobj(order, "deliveryInfo"), "deliveryState"), "DELIVERED")) {
        return CS_POS_ORDER_COMPLETED;
    }
    /* Toast's order has no "picked up" state (a prepaid check closes at
     * once): ready is as far as orders v2 can tell for pickup. */
    if (all_ready(order)) {
        return CS_POS_ORDER_READY;
    }
    return cs_pos_streq(approval, "APPROVED") ? CS_POS_ORDER_ACCEPTED : CS_POS_ORDER_PENDING;
}

apr_status_t cs_pos_toast_parse_event(cs_pos_event_t **pout, const char *body,
                                      apr_size_t len, apr_pool_t *p,
                                      const char **perr)
{
    json_object *root, *details;
    const char *cat, *type, *id, *why;
    cs_pos_event_t *ev;

    *pout = NULL;
    if (cs_pos_json_root(&root, p, body, len, json_type_object, &why) != APR_SUCCESS) {
        CS_POS_FAIL(APR_EINVAL, "the Toast webhook body is not a JSON object");
    }
    if (!(id = cs_pos_nonempty(cs_jstr(root, "guid")))) {
        CS_POS_FAIL(APR_EINVAL, "the Toast webhook has no event guid");
    }
    cat = cs_jstr(root, "eventCategory");
    type = cs_jstr(root, "eventType");
    details = cs_jobj(root, "details");
    ev = apr_pcalloc(p, sizeof(*ev));
    ev->event_id = id;
    ev->type = type ? type : cat ? cat : "";
    ev->kind = CS_POS_EVENT_OTHER;

    if (cs_pos_streq(cat, "menus") || cs_pos_streq(type, "menus_updated")) {
        ev->kind = CS_POS_EVENT_MENU;
    }
    else if (cs_pos_streq(cat, "stock") || cs_pos_streq(type, "out_of_stock")
             || cs_pos_streq(type, "in_stock") || cs_pos_streq(type, "low_quantity")) {
        const char *item = cs_pos_nonempty(cs_jstr(details, "itemGuid"));
        const char *status = cs_jstr(details, "status");
        int so = stock_sold_out(status, cs_pos_member(details, "quantity"));

        ev->kind = CS_POS_EVENT_STOCK;
        if (so < 0) {
            so = cs_pos_streq(type, "out_of_stock") ? 1
                 : cs_pos_streq(type, "in_stock") ? 0 : -1;
        }
        if (item && so >= 0) {
            ev->stock = apr_array_make(p, 1, sizeof(cs_menu_stock_t));
            cs_pos_push_stock(ev->stock, item, so, 0);
        }
        /* else: something changed, poll the stock API (stock NULL) */
    }
    else if (cs_pos_streq(cat, "orders") || cs_pos_streq(type, "order_updated")
             || cs_pos_streq(type, "channel_order_updated")) {
        /* The Order travels in details (alone or under "order"). */
        json_object *order = cs_jobj(details, "order") ? cs_jobj(details, "order") : details;
        if (!(ev->order_id = cs_pos_nonempty(cs_jstr(order, "guid")))) {
            CS_POS_FAIL(APR_EINVAL, "the Toast order event names no order");
        }
        ev->kind = CS_POS_EVENT_ORDER;
        ev->order_status = cs_pos_toast_order_state(order);
    }
    else if (details && guest_status(cs_jstr(details, "guestOrderStatus"))) {
        /* the guest order fulfillment status webhook */
        ev->order_id = cs_pos_nonempty(cs_jstr(details, "orderGuid"));
        if (!ev->order_id) {
            CS_POS_FAIL(APR_EINVAL, "the Toast order event names no order");
        }
        ev->kind = CS_POS_EVENT_ORDER;
        ev->order_status = guest_status(cs_jstr(details, "guestOrderStatus"));
    }
    *pout = ev;
    return APR_SUCCESS;
}

/* The guest as Toast's Customer: a first and a last name, and a +1 number
 * as ten digits with its country code apart. */
static json_object *customer(const cs_pos_order_t *order, apr_pool_t *p)
{
    json_object *c = json_object_new_object();
    const char *name = order->customer_name ? order->customer_name : "";
    const char *sp, *phone = order->customer_phone;
    char *first;

    while (*name == ' ') {
        name++;
    }
    sp = strchr(name, ' ');
    first = sp ? apr_pstrmemdup(p, name, (apr_size_t)(sp - name)) : apr_pstrdup(p, name);
    while (sp && *sp == ' ') {
        sp++;
    }
    cs_pos_jput_str(c, "entityType", "Customer");
    cs_pos_jput_str(c, "firstName", *first ? first : "Guest");
    cs_pos_jput_str(c, "lastName", sp && *sp ? sp : "-");
    if (phone && !strncmp(phone, "+1", 2) && strlen(phone) == 12) {
        cs_pos_jput_str(c, "phone", phone + 2);
        cs_pos_jput_str(c, "phoneCountryCode", "1");
    }
    else if (phone) {
        cs_pos_jput_str(c, "phone", *phone == '+' ? phone + 1 : phone);
    }
    if (order->customer_email) {
        cs_pos_jput_str(c, "email", order->customer_email);
    }
    return c;
}

const char *cs_pos_toast_order_request(const cs_pos_order_t *order, const char *dining,
                                       apr_pool_t *p)
{
    cs_json_t *doc = cs_json_object(p);
    json_object *root = cs_json_raw(doc), *check = json_object_new_object(),
                *checks = json_object_new_array(), *sels = json_object_new_array();
    int i, j;

    cs_pos_jput_str(root, "entityType", "Order");
    cs_pos_jput_str(root, "externalId",
                    apr_pstrcat(p, CS_TOAST_EXTERNAL_PREFIX, order->external_id, NULL));
    json_object_object_add(root, "diningOption", cs_pos_jref("guid", dining));
    if (order->pickup_at) {
        /* A scheduled order's business date is its promised date. */
        const char *when = cs_pos_toast_format_time(p, order->pickup_at);
        cs_pos_jput_str(root, "promisedDate", when);
        cs_pos_jput_str(root, "openedDate", when);
    }
    for (i = 0; order->lines && i < order->lines->nelts; i++) {
        const cs_pos_line_t *l = &APR_ARRAY_IDX(order->lines, i, cs_pos_line_t);
        json_object *sel = json_object_new_object(), *mods = json_object_new_array();

        cs_pos_jput_str(sel, "entityType", "MenuItemSelection");
        json_object_object_add(sel, "item", cs_pos_jref("guid", l->item_id));
        json_object_object_add(sel, "quantity", json_object_new_int(l->quantity));
        for (j = 0; l->modifier_ids && j < l->modifier_ids->nelts; j++) {
            const char *mid = APR_ARRAY_IDX(l->modifier_ids, j, const char *);
            json_object *m = json_object_new_object();
            cs_pos_jput_str(m, "entityType", "MenuItemSelection");
            json_object_object_add(m, "item", cs_pos_jref("guid", mid));
            json_object_object_add(m, "quantity", json_object_new_int(1));
            json_object_array_add(mods, m);
        }
        json_object_object_add(sel, "modifiers", mods);
        json_object_array_add(sels, sel);
    }
    cs_pos_jput_str(check, "entityType", "Check");
    json_object_object_add(check, "customer", customer(order, p));
    json_object_object_add(check, "selections", sels);
    json_object_array_add(checks, check);
    json_object_object_add(root, "checks", checks);
    return cs_json_dump(doc, p);
}

apr_status_t cs_pos_toast_parse_order(cs_pos_order_result_t **pout, const char *body,
                                      apr_size_t len, apr_pool_t *p, const char **perr)
{
    json_object *ans, *o;
    const char *why;

    *pout = NULL;
    if (cs_pos_json_root(&ans, p, body, len, CS_POS_JSON_ANY, &why) != APR_SUCCESS) {
        CS_POS_FAIL(APR_EINVAL, "Toast answered malformed JSON");
    }
    o = cs_jarr(ans, "orders") ? cs_jat(cs_jarr(ans, "orders"), 0) : ans;
    if (!cs_pos_nonempty(cs_jstr(o, "guid"))) {
        CS_POS_FAIL(APR_EINVAL, "Toast answered an order without a guid");
    }
    *pout = cs_pos_order_result(p, cs_jstr(o, "guid"), cs_pos_toast_order_state(o));
    return APR_SUCCESS;
}

/* ---- time and signatures -------------------------------------------------------- */

const char *cs_pos_toast_format_time(apr_pool_t *p, apr_time_t t)
{
    apr_time_exp_t e;

    apr_time_exp_gmt(&e, t);
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02d.%03d+0000", e.tm_year + 1900,
                        e.tm_mon + 1, e.tm_mday, e.tm_hour, e.tm_min, e.tm_sec,
                        e.tm_usec / 1000);
}

const char *cs_pos_toast_sign(apr_pool_t *p, const char *secret, const char *body,
                              apr_size_t len, const char *timestamp)
{
    return cs_pos_hmac_b64(p, secret, body, len, timestamp,
                           timestamp ? strlen(timestamp) : 0);
}

apr_status_t cs_pos_toast_parse_time(apr_time_t *pout, const char *iso)
{
    return cs_time_parse_iso8601(pout, iso);
}
