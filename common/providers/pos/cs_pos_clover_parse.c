/* The Clover adapter's orders and webhooks (cs_pos_parse.h): the atomic
 * order body, order answers and states, the one-time verification POST
 * and merchant-update events. */
#include "providers/pos/cs_pos_util.h"
#include "base/cs_crypto.h"

#include <apr_strings.h>
#include <string.h>
#include <strings.h>

#define CL_MAX_UNITS      100       /* units of one line */
#define CL_MAX_LINE_ITEMS 3000      /* Clover's limit per order */
#define CL_MAX_EVENT_ID   200

/* ---- orders ---------------------------------------------------------------- */

apr_status_t cs_pos_clover_order_request(const char **pbody, const cs_pos_order_t *o,
                                         apr_pool_t *p, const char **perr)
{
    cs_json_t *doc = cs_json_object(p);
    json_object *cart = json_object_new_object(), *lines = json_object_new_array();
    const char *note;
    int i, j, u, total = 0;

    *pbody = NULL;
    json_object_object_add(cs_json_raw(doc), "orderCart", cart);
    json_object_object_add(cart, "lineItems", lines);
    if (!o->external_id || !*o->external_id || strlen(o->external_id) > CS_POS_MAX_ID) {
        CS_POS_FAIL(APR_EINVAL, "the order has no usable id");
    }
    if (!o->lines || !o->lines->nelts) {
        CS_POS_FAIL(APR_EINVAL, "the order has no lines");
    }
    for (i = 0; i < o->lines->nelts; i++) {
        const cs_pos_line_t *l = &APR_ARRAY_IDX(o->lines, i, cs_pos_line_t);
        if (!l->item_id || !*l->item_id) {
            CS_POS_FAIL(APR_EINVAL, "line %d names no item", i + 1);
        }
        if (l->quantity < 1 || l->quantity > CL_MAX_UNITS
            || (total += l->quantity) > CL_MAX_LINE_ITEMS) {
            CS_POS_FAIL(APR_EINVAL, "line %d has a quantity Clover cannot take", i + 1);
        }
        for (u = 0; u < l->quantity; u++) {
            json_object *li = json_object_new_object(), *mods = json_object_new_array();
            json_object_object_add(li, "item", cs_pos_jref("id", l->item_id));
            for (j = 0; l->modifier_ids && j < l->modifier_ids->nelts; j++) {
                const char *mid = APR_ARRAY_IDX(l->modifier_ids, j, const char *);
                json_object *mo;
                if (!mid || !*mid) {
                    continue;
                }
                mo = json_object_new_object();
                json_object_object_add(mo, "modifier", cs_pos_jref("id", mid));
                json_object_array_add(mods, mo);
            }
            json_object_object_add(li, "modifications", mods);
            cs_pos_jput_opt(li, "note", l->note);
            json_object_array_add(lines, li);
        }
    }
    cs_pos_jput_str(cart, "externalReferenceId", o->external_id);
    cs_pos_jput_str(cart, "title", o->customer_name && *o->customer_name ? o->customer_name
                                                                          : "Online order");
    note = apr_psprintf(p, "Online order %s%s%s, pickup %s", o->external_id,
                        o->customer_phone ? " " : "",
                        o->customer_phone ? o->customer_phone : "",
                        o->pickup_at ? "scheduled" : "as soon as possible");
    if (o->pickup_at) {
        char buf[APR_RFC822_DATE_LEN];
        apr_rfc822_date(buf, o->pickup_at);
        note = apr_pstrcat(p, note, " for ", buf, NULL);
    }
    cs_pos_jput_str(cart, "note", note);
    *pbody = cs_json_dump(doc, p);
    return APR_SUCCESS;
}

static apr_status_t order_from(cs_pos_order_result_t **pout, json_object *o, apr_pool_t *p,
                               const char **perr)
{
    const char *id, *state;
    apr_int64_t deleted = 0;

    if (!json_object_is_type(o, json_type_object) || cs_pos_get_str(o, "id", &id) != 1 || !*id
        || strlen(id) > CS_POS_MAX_ID || cs_pos_get_str(o, "state", &state) < 0
        || cs_pos_get_int(o, "deletedTime", &deleted) < 0) {
        CS_POS_FAIL(APR_EINVAL, "Clover sent an order without a usable id or state");
    }
    /* "open" is on the register; "locked" is paid and closed. */
    *pout = cs_pos_order_result(p, id, deleted > 0 ? CS_POS_ORDER_CANCELLED
                                : !state || !*state ? CS_POS_ORDER_PENDING
                                : !strcasecmp(state, "open") ? CS_POS_ORDER_ACCEPTED
                                : !strcasecmp(state, "locked") || !strcasecmp(state, "paid")
                                  ? CS_POS_ORDER_COMPLETED
                                : CS_POS_ORDER_PENDING);
    return APR_SUCCESS;
}

static apr_status_t parse_root(json_object **proot, const char *body, apr_size_t len,
                               const char *what, apr_pool_t *p, const char **perr)
{
    const char *why;

    if (cs_pos_json_root(proot, p, body, len, json_type_object, &why) != APR_SUCCESS) {
        CS_POS_FAIL(APR_EINVAL, "Clover sent %s we cannot read (%s)", what,
                    why ? why : "not a JSON object");
    }
    return APR_SUCCESS;
}

apr_status_t cs_pos_clover_parse_order(cs_pos_order_result_t **pout, const char *body,
                                       apr_size_t len, apr_pool_t *p,
                                       const char **perr)
{
    json_object *root;
    apr_status_t rv;

    *pout = NULL;
    if ((rv = parse_root(&root, body, len, "an order", p, perr)) != APR_SUCCESS) {
        return rv;
    }
    return order_from(pout, root, p, perr);
}

apr_status_t cs_pos_clover_parse_order_list(cs_pos_order_result_t **pout,
                                            const char *body, apr_size_t len,
                                            apr_pool_t *p, const char **perr)
{
    json_object *root, *els;
    apr_status_t rv;

    *pout = NULL;
    if ((rv = parse_root(&root, body, len, "an order list", p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (cs_pos_get(root, "elements", json_type_array, &els) < 0) {
        CS_POS_FAIL(APR_EINVAL, "Clover sent an order list that is not a list");
    }
    if (!cs_jlen(els)) {
        return APR_SUCCESS;
    }
    return order_from(pout, cs_jat(els, 0), p, perr);
}

/* ---- webhooks ------------------------------------------------------------------ */

const char *cs_pos_clover_verification_code(const char *body, apr_size_t len,
                                            apr_pool_t *p)
{
    json_object *root;
    const char *code, *why, *s;

    if (len > 4096
        || cs_pos_json_root(&root, p, body, len, json_type_object, &why) != APR_SUCCESS
        || json_object_object_length(root) != 1
        || cs_pos_get_str(root, "verificationCode", &code) != 1 || !*code
        || strlen(code) > 64) {
        return NULL;
    }
    for (s = code; *s; s++) {
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')
              || *s == '-')) {
            return NULL;
        }
    }
    return apr_pstrdup(p, code);
}

apr_status_t cs_pos_clover_parse_event(cs_pos_event_t **pout, const char *body,
                                       apr_size_t len, apr_pool_t *p,
                                       const char **perr)
{
    json_object *root, *merchants;
    cs_pos_event_t *ev;
    const char *code, *menu = NULL, *stock = NULL, *order = NULL, *order_id = NULL;
    char *canon = "";
    int n = 0;
    apr_status_t rv;

    *pout = NULL;
    ev = apr_pcalloc(p, sizeof(*ev));
    if ((code = cs_pos_clover_verification_code(body, len, p))) {
        ev->kind = CS_POS_EVENT_VERIFICATION;
        ev->type = "verification";
        ev->event_id = apr_pstrcat(p, "verification:", code, NULL);
        ev->verification_code = code;
        *pout = ev;
        return APR_SUCCESS;
    }
    if ((rv = parse_root(&root, body, len, "an event", p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (cs_pos_get(root, "merchants", json_type_object, &merchants) != 1) {
        CS_POS_FAIL(APR_EINVAL, "the Clover event has no merchants");
    }
    {
        json_object_object_foreach(merchants, mid, updates) {
            apr_size_t i;
            if (!json_object_is_type(updates, json_type_array) || !*mid
                || strlen(mid) > CS_POS_MAX_ID) {
                CS_POS_FAIL(APR_EINVAL, "the Clover event's updates are not a list");
            }
            for (i = 0; i < cs_jlen(updates); i++) {
                json_object *u = cs_jat(updates, i);
                const char *oid, *type, *colon;
                apr_int64_t ts;
                const char *kind;
                if (cs_pos_get_str(u, "objectId", &oid) != 1
                    || cs_pos_get_str(u, "type", &type) != 1
                    || cs_pos_get_int(u, "ts", &ts) != 1 || !(colon = strchr(oid, ':'))
                    || colon == oid || !colon[1] || strlen(oid) > CS_POS_MAX_ID
                    || strlen(type) > 20 || ++n > 1000) {
                    CS_POS_FAIL(APR_EINVAL, "the Clover event has an update we cannot read");
                }
                canon = apr_psprintf(p, "%s%s%s/%s/%s/%" APR_INT64_T_FMT, canon,
                                     *canon ? "," : "", mid, oid, type, ts);
                kind = apr_psprintf(p, "%.*s:%s", (int)(colon - oid), oid, type);
                if (!strncmp(oid, "I:", 2)) {
                    if (!strcmp(type, "UPDATE")) {
                        stock = stock ? stock : kind;
                    }
                    else {
                        menu = menu ? menu : kind;
                    }
                }
                else if (!strncmp(oid, "IC:", 3) || !strncmp(oid, "IG:", 3)
                         || !strncmp(oid, "IM:", 3)) {
                    menu = menu ? menu : kind;
                }
                else if (!strncmp(oid, "O:", 2) && !order) {
                    order = kind;
                    order_id = apr_pstrdup(p, colon + 1);
                }
            }
        }
    }
    if (!n) {
        CS_POS_FAIL(APR_EINVAL, "the Clover event has no updates");
    }
    /* One kind per delivery: a menu change resyncs everything (sold-out
     * states included), so it wins over a stock change, which wins over
     * an order change. */
    ev->kind = menu ? CS_POS_EVENT_MENU : stock ? CS_POS_EVENT_STOCK
               : order ? CS_POS_EVENT_ORDER : CS_POS_EVENT_OTHER;
    ev->type = menu ? menu : stock ? stock : order ? order : "other";
    if (ev->kind == CS_POS_EVENT_ORDER) {
        ev->order_id = order_id;
    }
    ev->event_id = strlen(canon) <= CL_MAX_EVENT_ID ? canon
                   : apr_pstrcat(p, "sha256:", cs_sha256_hex(p, canon, strlen(canon)), NULL);
    if (!ev->event_id || !strcmp(ev->event_id, "sha256:")) {
        CS_POS_FAIL(APR_EINVAL, "the Clover event id could not be made");
    }
    *pout = ev;
    return APR_SUCCESS;
}
