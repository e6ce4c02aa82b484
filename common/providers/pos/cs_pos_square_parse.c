/* The Square adapter's orders and webhooks (cs_pos_parse.h): the
 * CreateOrder body (its lines priced by Square from the catalog the order
 * names), order answers and states, webhook signatures and events. */
#include "providers/pos/cs_pos_square_catalog.h"

#include <apr_strings.h>
#include <string.h>

#define SQ_MAX_QUANTITY   999

/* ---- orders -------------------------------------------------------------------- */

static const char *rfc3339(apr_pool_t *p, apr_time_t t)
{
    apr_time_exp_t x;

    apr_time_exp_gmt(&x, t);
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02dZ", x.tm_year + 1900, x.tm_mon + 1,
                        x.tm_mday, x.tm_hour, x.tm_min, x.tm_sec);
}

apr_status_t cs_pos_square_order_request(const char **pbody, const cs_pos_order_t *o,
                                         const char *location,
                                         const cs_square_catalog_t *items,
                                         apr_pool_t *p, const char **perr)
{
    cs_json_t *doc = cs_json_object(p);
    json_object *root = cs_json_raw(doc), *order, *lines, *ful, *pick, *rcpt, *fuls;
    sq_var_t *vars[SQ_MAX_VARS];
    int i, j, k, n;

    *pbody = NULL;
    if (!o->external_id || !*o->external_id || strlen(o->external_id) > 40) {
        CS_POS_FAIL(APR_EINVAL, "the order needs an id of 1 to 40 characters for Square");
    }
    if (!o->lines || !o->lines->nelts) {
        CS_POS_FAIL(APR_EINVAL, "the order has no lines");
    }
    cs_pos_jput_str(root, "idempotency_key", o->external_id);
    order = json_object_new_object();
    json_object_object_add(root, "order", order);
    cs_pos_jput_str(order, "location_id", location);
    cs_pos_jput_str(order, "reference_id", o->external_id);
    lines = json_object_new_array();
    json_object_object_add(order, "line_items", lines);
    for (i = 0; i < o->lines->nelts; i++) {
        const cs_pos_line_t *l = &APR_ARRAY_IDX(o->lines, i, cs_pos_line_t);
        sq_item_t *it = l->item_id ? apr_hash_get(items->item_by_id, l->item_id,
                                                  APR_HASH_KEY_STRING) : NULL;
        sq_var_t *pick_var = NULL;
        json_object *li, *mods;

        if (!it || !it->usable || !(n = cs_pos_square_sellable(it, vars, SQ_MAX_VARS))) {
            CS_POS_FAIL(APR_EINVAL, "item %s is no longer for sale at Square",
                        l->item_id ? l->item_id : "(none)");
        }
        if (l->quantity < 1 || l->quantity > SQ_MAX_QUANTITY) {
            CS_POS_FAIL(APR_EINVAL, "line %d has a quantity Square cannot take", i + 1);
        }
        li = json_object_new_object();
        mods = json_object_new_array();
        /* A variation chosen in the item's variation group names the line's
         * catalog object; every other choice is a line modifier. */
        for (j = 0; l->modifier_ids && j < l->modifier_ids->nelts; j++) {
            const char *mid = APR_ARRAY_IDX(l->modifier_ids, j, const char *);
            json_object *mo;
            for (k = 0; mid && !pick_var && k < n; k++) {
                if (!strcmp(vars[k]->id, mid)) {
                    pick_var = vars[k];
                    break;
                }
            }
            if (!mid || (pick_var && !strcmp(pick_var->id, mid))) {
                continue;
            }
            mo = json_object_new_object();
            cs_pos_jput_str(mo, "catalog_object_id", mid);
            cs_pos_jput_str(mo, "quantity", "1");
            json_object_array_add(mods, mo);
        }
        if (!pick_var) {
            pick_var = cs_pos_square_cheapest(vars, n);
        }
        cs_pos_jput_str(li, "catalog_object_id", pick_var->id);
        cs_pos_jput_str(li, "quantity", apr_itoa(p, l->quantity));
        if (json_object_array_length(mods)) {
            json_object_object_add(li, "modifiers", mods);
        }
        else {
            json_object_put(mods);
        }
        cs_pos_jput_opt(li, "note", l->note);
        json_object_array_add(lines, li);
    }
    fuls = json_object_new_array();
    ful = json_object_new_object();
    json_object_array_add(fuls, ful);
    json_object_object_add(order, "fulfillments", fuls);
    cs_pos_jput_str(ful, "type", "PICKUP");
    cs_pos_jput_str(ful, "state", "PROPOSED");
    pick = json_object_new_object();
    json_object_object_add(ful, "pickup_details", pick);
    rcpt = json_object_new_object();
    json_object_object_add(pick, "recipient", rcpt);
    cs_pos_jput_opt(rcpt, "display_name", o->customer_name);
    cs_pos_jput_opt(rcpt, "phone_number", o->customer_phone);
    cs_pos_jput_opt(rcpt, "email_address", o->customer_email);
    cs_pos_jput_str(pick, "schedule_type", o->pickup_at ? "SCHEDULED" : "ASAP");
    if (o->pickup_at) {
        cs_pos_jput_str(pick, "pickup_at", rfc3339(p, o->pickup_at));
    }
    if (o->payment_ref && *o->payment_ref) {
        json_object *md = json_object_new_object();
        cs_pos_jput_opt(md, "payment_ref", o->payment_ref);
        json_object_object_add(order, "metadata", md);
    }
    *pbody = cs_json_dump(doc, p);
    return APR_SUCCESS;
}

/* Square's order state (and the first fulfillment's) in our words. */
static const char *order_state(const char *state, const char *ful)
{
    if (!state || !strcmp(state, "DRAFT")) {
        return CS_POS_ORDER_PENDING;
    }
    if (!strcmp(state, "COMPLETED")) {
        return CS_POS_ORDER_COMPLETED;
    }
    if (!strcmp(state, "CANCELED")) {
        return CS_POS_ORDER_CANCELLED;
    }
    if (strcmp(state, "OPEN")) {
        return CS_POS_ORDER_PENDING;
    }
    if (!ful || !strcmp(ful, "RESERVED")) {
        return CS_POS_ORDER_ACCEPTED;
    }
    if (!strcmp(ful, "PREPARED")) {
        return CS_POS_ORDER_READY;
    }
    if (!strcmp(ful, "COMPLETED")) {
        return CS_POS_ORDER_COMPLETED;
    }
    if (!strcmp(ful, "CANCELED") || !strcmp(ful, "FAILED")) {
        return CS_POS_ORDER_CANCELLED;
    }
    return !strcmp(ful, "PROPOSED") ? CS_POS_ORDER_PENDING : CS_POS_ORDER_ACCEPTED;
}

apr_status_t cs_pos_square_parse_order(cs_pos_order_result_t **pout, const char *body,
                                       apr_size_t len, apr_pool_t *p,
                                       const char **perr)
{
    json_object *root, *order, *fuls;
    const char *id, *state, *ful = NULL, *why;

    *pout = NULL;
    if (cs_pos_json_root(&root, p, body, len, CS_POS_JSON_ANY, &why) != APR_SUCCESS) {
        CS_POS_FAIL(APR_EINVAL, "Square sent an order answer we cannot read (%s)",
                    why ? why : "empty");
    }
    order = cs_jobj(root, "order");
    if (!order || cs_pos_get_str(order, "id", &id) != 1 || !*id || strlen(id) > CS_POS_MAX_ID
        || cs_pos_get_str(order, "state", &state) < 0
        || cs_pos_get(order, "fulfillments", json_type_array, &fuls) < 0
        || (cs_jlen(fuls) && cs_pos_get_str(cs_jat(fuls, 0), "state", &ful) < 0)) {
        CS_POS_FAIL(APR_EINVAL, "Square sent an order without a usable id or state");
    }
    *pout = cs_pos_order_result(p, id, order_state(state, ful));
    return APR_SUCCESS;
}

/* ---- webhooks -------------------------------------------------------------------- */

const char *cs_pos_square_signature(apr_pool_t *p, const char *key, const char *url,
                                    const char *body, apr_size_t len)
{
    return cs_pos_hmac_b64(p, key, url, strlen(url), body, len);
}

apr_status_t cs_pos_square_parse_event(cs_pos_event_t **pout, const char *body,
                                       apr_size_t len, apr_pool_t *p,
                                       const char **perr)
{
    json_object *root, *data, *obj;
    const char *id, *type, *why;
    cs_pos_event_t *ev;

    *pout = NULL;
    if (cs_pos_json_root(&root, p, body, len, json_type_object, &why) != APR_SUCCESS) {
        CS_POS_FAIL(APR_EINVAL, "the Square event is not a JSON object (%s)",
                    why ? why : "empty");
    }
    if (cs_pos_get_str(root, "event_id", &id) != 1 || !*id || strlen(id) > CS_POS_MAX_ID
        || cs_pos_get_str(root, "type", &type) != 1 || !*type || strlen(type) > 100) {
        CS_POS_FAIL(APR_EINVAL, "the Square event has no event_id or type");
    }
    ev = apr_pcalloc(p, sizeof(*ev));
    ev->event_id = apr_pstrdup(p, id);
    ev->type = apr_pstrdup(p, type);
    data = cs_jobj(root, "data");
    obj = cs_jobj(data, "object");
    if (!strcmp(type, "catalog.version.updated")) {
        ev->kind = CS_POS_EVENT_MENU;
    }
    else if (!strcmp(type, "inventory.count.updated")) {
        ev->kind = CS_POS_EVENT_STOCK;
    }
    else if (!strncmp(type, "order.", 6)) {
        json_object *u = cs_jobj(obj, "order_updated");
        const char *oid = NULL, *state = NULL, *ful = NULL;
        json_object *fu;
        if (!u) {
            u = cs_jobj(obj, "order_fulfillment_updated");
        }
        if (!u) {
            u = cs_jobj(obj, "order_created");
        }
        if (cs_pos_get_str(u, "order_id", &oid) < 0
            || cs_pos_get_str(u, "state", &state) < 0) {
            CS_POS_FAIL(APR_EINVAL, "the Square order event is broken");
        }
        if (!oid && cs_pos_get_str(data, "id", &oid) < 0) {
            CS_POS_FAIL(APR_EINVAL, "the Square order event is broken");
        }
        if (!oid || !*oid || strlen(oid) > CS_POS_MAX_ID) {
            CS_POS_FAIL(APR_EINVAL, "the Square order event names no order");
        }
        fu = cs_jarr(u, "fulfillment_update");
        if (cs_jlen(fu) && cs_pos_get_str(cs_jat(fu, 0), "new_state", &ful) < 0) {
            CS_POS_FAIL(APR_EINVAL, "the Square order event is broken");
        }
        ev->kind = CS_POS_EVENT_ORDER;
        ev->order_id = apr_pstrdup(p, oid);
        ev->order_status = order_state(state ? state : "OPEN", ful);
    }
    else {
        ev->kind = CS_POS_EVENT_OTHER;
    }
    *pout = ev;
    return APR_SUCCESS;
}
