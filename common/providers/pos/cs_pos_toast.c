/* The Toast adapter (cs_pos.h) and its pure parsers (cs_pos_parse.h).
 *
 * Toast's partner API: a machine-client login hands out a bearer token
 * (refreshed in its last minute and once after a 401), every request names
 * the restaurant in Toast-Restaurant-External-ID, the menu comes whole
 * from menus v2 with modifier groups and options in reference maps,
 * sold-out state from the stock API, orders go to orders v2 carrying our
 * order id as externalId (Toast refuses a second order with the same one,
 * and answers GET /orders/v2/orders/{externalId}), and webhooks are signed
 * base64(HMAC-SHA256(secret, body + timestamp)) with the timestamp the
 * message carries. Prices are decimals in currency units: they become
 * cents here from the JSON number's own text, never through a double. */
#include "providers/pos/cs_pos_parse.h"
#include "base/cs_crypto.h"
#include "base/cs_json.h"

#include <apr_escape.h>
#include <apr_hash.h>
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
/* Menu groups nested deeper than this are a broken (or hostile) answer. */
#define MAX_GROUP_DEPTH   16
#define MAX_DINING_PAGES  50
#define MAX_CHOICES       100

#define FAIL(rvv, ...) do { *perr = apr_psprintf(p, __VA_ARGS__); return (rvv); } while (0)

/* ---- small readers ---------------------------------------------------------- */

static int is_str(json_object *v, const char *want)
{
    return v && json_object_is_type(v, json_type_string)
           && !strcmp(json_object_get_string(v), want);
}

static int str_eq(const char *a, const char *b)
{
    return a && b && !strcmp(a, b);
}

/* Member @p key of @p o, whatever its type (NULL for absent or null). */
static json_object *member(json_object *o, const char *key)
{
    json_object *v = NULL;

    if (!o || !json_object_is_type(o, json_type_object)
        || !json_object_object_get_ex(o, key, &v)) {
        return NULL;
    }
    return v;
}

/* Toast's visibility arrays: an entity we may sell has ORDERING_PARTNERS
 * ("visible on online ordering sites that integrate ... using the orders
 * API"). An absent or null array states no restriction. */
static int partner_visible(json_object *o)
{
    json_object *vis = member(o, "visibility");
    apr_size_t i;

    if (!vis || !json_object_is_type(vis, json_type_array)) {
        return 1;
    }
    for (i = 0; i < cs_jlen(vis); i++) {
        if (is_str(cs_jat(vis, i), "ORDERING_PARTNERS")) {
            return 1;
        }
    }
    return 0;
}

static const char *nonempty(const char *s)
{
    return s && *s ? s : NULL;
}

apr_status_t cs_pos_toast_price_cents(apr_int64_t *pout, json_object *v)
{
    *pout = 0;
    /* json-c keeps a parsed number's original text: json_object_get_string
     * on 12.10 answers "12.10", not a rounded double. */
    if (!v || !(json_object_is_type(v, json_type_double)
                || json_object_is_type(v, json_type_int)
                || json_object_is_type(v, json_type_string))) {
        return APR_EINVAL;
    }
    return cs_menu_decimal_to_cents(pout, json_object_get_string(v), 0);
}

/* ---- the menu ----------------------------------------------------------------- */

typedef struct {
    cs_menu_t *m;
    apr_pool_t *p;
    const char **perr;
    json_object *group_refs;      /* "modifierGroupReferences" */
    json_object *option_refs;     /* "modifierOptionReferences" */
    apr_hash_t *items;            /* item guid -> seen */
    apr_hash_t *cats;             /* category guid -> seen */
    apr_hash_t *ref_guid;         /* group referenceId text -> group guid */
    apr_hash_t *unsellable;       /* group guid -> can never be satisfied */
    int cat_sort;
} menu_ctx_t;

/* The modifier group with reference @p ref as a cs_menu_group_t (built the
 * first time a reference is met); its GUID, or NULL when the answer lacks
 * it. Groups are keyed by GUID: referenceIds are only numbers within one
 * answer. */
static apr_status_t build_group(const char **pguid, menu_ctx_t *c, apr_int64_t ref)
{
    apr_pool_t *p = c->p;
    const char **perr = c->perr;
    const char *key = apr_psprintf(p, "%" APR_INT64_T_FMT, ref);
    json_object *g = cs_jobj(c->group_refs, key), *opts, *maxv;
    cs_menu_group_t *grp;
    apr_hash_t *mods;
    apr_int64_t min = 0, max = 0, n = 0, oref;
    const char *guid;
    apr_size_t i;

    *pguid = apr_hash_get(c->ref_guid, key, APR_HASH_KEY_STRING);
    if (*pguid) {
        return APR_SUCCESS;
    }
    if (!g || !(guid = nonempty(cs_jstr(g, "guid")))) {
        FAIL(APR_EINVAL, "modifier group reference %s is missing from the menu", key);
    }
    apr_hash_set(c->ref_guid, key, APR_HASH_KEY_STRING, guid);
    *pguid = guid;
    for (i = 0; i < (apr_size_t)c->m->groups->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(c->m->groups, i, cs_menu_group_t).pos_id, guid)) {
            return APR_SUCCESS;   /* the same group under another reference */
        }
    }
    grp = apr_array_push(c->m->groups);
    memset(grp, 0, sizeof(*grp));
    grp->pos_id = guid;
    grp->name = nonempty(cs_jstr(g, "name")) ? cs_jstr(g, "name") : "Options";
    grp->modifiers = apr_array_make(p, 4, sizeof(cs_menu_modifier_t));
    mods = apr_hash_make(p);
    opts = cs_jarr(g, "modifierOptionReferences");
    for (i = 0; i < cs_jlen(opts); i++) {
        json_object *ov = cs_jat(opts, i), *o, *price;
        cs_menu_modifier_t *md;
        const char *oguid;

        if (!json_object_is_type(ov, json_type_int)) {
            FAIL(APR_EINVAL, "modifier group %s lists an option that is not a reference",
                 guid);
        }
        oref = json_object_get_int64(ov);
        o = cs_jobj(c->option_refs, apr_psprintf(p, "%" APR_INT64_T_FMT, oref));
        if (!o || !(oguid = nonempty(cs_jstr(o, "guid")))) {
            FAIL(APR_EINVAL, "modifier option reference %" APR_INT64_T_FMT
                 " is missing from the menu", oref);
        }
        price = member(o, "price");
        /* Options we may not sell, or that only group pricing rules can
         * price (price null), are not offered. */
        if (!partner_visible(o) || !price || apr_hash_get(mods, oguid, APR_HASH_KEY_STRING)) {
            continue;
        }
        apr_hash_set(mods, oguid, APR_HASH_KEY_STRING, oguid);
        md = apr_array_push(grp->modifiers);
        memset(md, 0, sizeof(*md));
        md->pos_id = oguid;
        md->name = nonempty(cs_jstr(o, "name")) ? cs_jstr(o, "name") : "Missing name";
        if (cs_pos_toast_price_cents(&md->price_cents, price) != APR_SUCCESS) {
            FAIL(APR_EINVAL, "modifier option %s has a price we cannot read", oguid);
        }
    }
    /* Toast: minSelections (0: optional), maxSelections (null: no limit),
     * requiredMode REQUIRED forces a choice, isMultiSelect false means one. */
    if (cs_jint(g, "minSelections", &n)) {
        min = n < 0 ? 0 : n > MAX_CHOICES ? MAX_CHOICES : n;
    }
    if (str_eq(cs_jstr(g, "requiredMode"), "REQUIRED") && min < 1) {
        min = 1;
    }
    maxv = member(g, "maxSelections");
    if (maxv && json_object_is_type(maxv, json_type_int)) {
        max = json_object_get_int64(maxv);
        max = max < 0 ? 0 : max > MAX_CHOICES ? MAX_CHOICES : max;
    }
    else if (!cs_jbool(g, "isMultiSelect", 1)) {
        max = 1;
    }
    if (max > 0 && max < min) {
        max = min;
    }
    if (max == 0 && min > 0) {
        max = grp->modifiers->nelts > min ? grp->modifiers->nelts : min;
    }
    if (min > grp->modifiers->nelts) {
        /* A required choice none of whose options we may sell: items that
         * need it are hidden rather than the whole menu refused. */
        apr_hash_set(c->unsellable, guid, APR_HASH_KEY_STRING, guid);
        min = max = grp->modifiers->nelts;
    }
    grp->min = (int)min;
    grp->max = (int)max;
    return APR_SUCCESS;
}

static apr_status_t add_item(menu_ctx_t *c, json_object *o, const char *cat_id,
                             const char *cat_name, const char *cat_desc,
                             int visible, int *psort)
{
    apr_pool_t *p = c->p;
    const char **perr = c->perr;
    const char *guid = nonempty(cs_jstr(o, "guid"));
    json_object *price = member(o, "price"), *refs = cs_jarr(o, "modifierGroupReferences");
    cs_menu_item_t *it;
    apr_size_t i;
    apr_status_t rv;
    int j;

    if (!guid) {
        FAIL(APR_EINVAL, "a menu item in group %s has no guid", cat_id);
    }
    /* Size and open prices (price null) need rules we cannot apply to a
     * fixed menu: such items are not sold through us. The same item in a
     * second menu or group keeps its first place. */
    if (!price || apr_hash_get(c->items, guid, APR_HASH_KEY_STRING)) {
        return APR_SUCCESS;
    }
    apr_hash_set(c->items, guid, APR_HASH_KEY_STRING, guid);
    if (!apr_hash_get(c->cats, cat_id, APR_HASH_KEY_STRING)) {
        cs_menu_category_t *cat = apr_array_push(c->m->categories);
        apr_hash_set(c->cats, cat_id, APR_HASH_KEY_STRING, cat_id);
        cat->pos_id = cat_id;
        cat->name = cat_name;
        cat->description = cat_desc;
        cat->sort = c->cat_sort++;
    }
    it = apr_array_push(c->m->items);
    memset(it, 0, sizeof(*it));
    it->pos_id = guid;
    it->category_id = cat_id;
    it->name = nonempty(cs_jstr(o, "name")) ? cs_jstr(o, "name") : "Missing name";
    it->description = nonempty(cs_jstr(o, "description"));
    it->image_url = nonempty(cs_jstr(o, "image"));
    it->sort = (*psort)++;
    it->visible = visible && partner_visible(o);
    it->prep_points = 1;
    if (cs_pos_toast_price_cents(&it->price_cents, price) != APR_SUCCESS) {
        FAIL(APR_EINVAL, "menu item %s has a price we cannot read", guid);
    }
    it->group_ids = apr_array_make(p, 2, sizeof(const char *));
    for (i = 0; i < cs_jlen(refs); i++) {
        json_object *r = cs_jat(refs, i);
        const char *gid;
        int dup = 0;

        if (!json_object_is_type(r, json_type_int)) {
            FAIL(APR_EINVAL, "menu item %s lists a modifier group that is not a reference",
                 guid);
        }
        if ((rv = build_group(&gid, c, json_object_get_int64(r))) != APR_SUCCESS) {
            return rv;
        }
        for (j = 0; j < it->group_ids->nelts; j++) {
            dup |= !strcmp(APR_ARRAY_IDX(it->group_ids, j, const char *), gid);
        }
        if (!dup) {
            APR_ARRAY_PUSH(it->group_ids, const char *) = gid;
        }
        if (apr_hash_get(c->unsellable, gid, APR_HASH_KEY_STRING)) {
            it->visible = 0;
        }
    }
    return APR_SUCCESS;
}

/* One menu group and, depth first, its children: the group is a category
 * when it holds items of its own; a child is named after its parents. */
static apr_status_t walk_group(menu_ctx_t *c, json_object *g, const char *prefix,
                               int visible, int depth)
{
    apr_pool_t *p = c->p;
    const char **perr = c->perr;
    const char *guid = nonempty(cs_jstr(g, "guid"));
    const char *name = nonempty(cs_jstr(g, "name")) ? cs_jstr(g, "name") : "Menu";
    json_object *items = cs_jarr(g, "menuItems"), *kids = cs_jarr(g, "menuGroups");
    apr_size_t i;
    apr_status_t rv;
    int sort = 0;

    if (depth > MAX_GROUP_DEPTH) {
        FAIL(APR_EINVAL, "menu groups are nested more than %d deep", MAX_GROUP_DEPTH);
    }
    if (!guid) {
        FAIL(APR_EINVAL, "a menu group has no guid");
    }
    if (prefix) {
        name = apr_pstrcat(p, prefix, " / ", name, NULL);
    }
    visible = visible && partner_visible(g);
    for (i = 0; i < cs_jlen(items); i++) {
        if ((rv = add_item(c, cs_jat(items, i), guid, name,
                           nonempty(cs_jstr(g, "description")), visible, &sort))
            != APR_SUCCESS) {
            return rv;
        }
    }
    for (i = 0; i < cs_jlen(kids); i++) {
        if ((rv = walk_group(c, cs_jat(kids, i), name, visible, depth + 1)) != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

apr_status_t cs_pos_toast_parse_menu(cs_menu_t **pout, const char *body,
                                     apr_size_t len, apr_pool_t *p,
                                     const char **perr)
{
    cs_json_t *doc;
    json_object *root, *menus;
    menu_ctx_t c;
    apr_size_t i, j;
    apr_status_t rv;

    *pout = NULL;
    if (cs_json_parse(&doc, p, body, len, perr) != APR_SUCCESS
        || !json_object_is_type(cs_json_raw(doc), json_type_object)) {
        FAIL(APR_EINVAL, "Toast answered a menu that is not a JSON object");
    }
    root = cs_json_raw(doc);
    if (!(menus = cs_jarr(root, "menus"))) {
        FAIL(APR_EINVAL, "Toast answered a menu without menus");
    }
    memset(&c, 0, sizeof(c));
    c.p = p;
    c.perr = perr;
    /* Toast's menus carry no currency; its restaurants price in dollars. */
    c.m = cs_menu_make(p, "USD");
    c.group_refs = cs_jobj(root, "modifierGroupReferences");
    c.option_refs = cs_jobj(root, "modifierOptionReferences");
    c.items = apr_hash_make(p);
    c.cats = apr_hash_make(p);
    c.ref_guid = apr_hash_make(p);
    c.unsellable = apr_hash_make(p);
    for (i = 0; i < cs_jlen(menus); i++) {
        json_object *menu = cs_jat(menus, i), *groups = cs_jarr(menu, "menuGroups");
        /* With several menus (Lunch, Dinner), a category says which. */
        const char *prefix = cs_jlen(menus) > 1 ? nonempty(cs_jstr(menu, "name")) : NULL;

        for (j = 0; j < cs_jlen(groups); j++) {
            if ((rv = walk_group(&c, cs_jat(groups, j), prefix, partner_visible(menu), 1))
                != APR_SUCCESS) {
                return rv;
            }
        }
    }
    if ((rv = cs_menu_validate(c.m, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    *pout = c.m;
    return APR_SUCCESS;
}

/* ---- stock ---------------------------------------------------------------------- */

/* Toast's stock states; QUANTITY with nothing left is sold out. -1 for a
 * state we do not know. */
static int stock_sold_out(const char *status, json_object *quantity)
{
    if (str_eq(status, "OUT_OF_STOCK")) {
        return 1;
    }
    if (str_eq(status, "IN_STOCK")) {
        return 0;
    }
    if (str_eq(status, "QUANTITY")) {
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
    cs_json_t *doc;
    json_object *root;
    apr_array_header_t *out;
    apr_size_t i;

    *pout = NULL;
    if (cs_json_parse(&doc, p, body, len, perr) != APR_SUCCESS
        || !json_object_is_type(cs_json_raw(doc), json_type_array)) {
        FAIL(APR_EINVAL, "Toast answered stock that is not a JSON array");
    }
    root = cs_json_raw(doc);
    out = apr_array_make(p, (int)cs_jlen(root) + 1, sizeof(cs_menu_stock_t));
    for (i = 0; i < cs_jlen(root); i++) {
        json_object *e = cs_jat(root, i);
        const char *guid = nonempty(cs_jstr(e, "guid"));
        int so = stock_sold_out(cs_jstr(e, "status"), member(e, "quantity"));
        cs_menu_stock_t *st;

        if (!guid || so < 0 || str_eq(cs_jstr(e, "itemGuidValidity"), "INVALID")) {
            continue;
        }
        st = apr_array_push(out);
        st->pos_id = guid;
        st->sold_out = so;
        st->until = 0;
    }
    *pout = out;
    return APR_SUCCESS;
}

void cs_pos_toast_apply_stock(cs_menu_t *m, const apr_array_header_t *stock)
{
    apr_hash_t *h;
    int i, j;

    if (!m || !stock || !stock->nelts) {
        return;
    }
    h = apr_hash_make(stock->pool);
    for (i = 0; i < stock->nelts; i++) {
        const cs_menu_stock_t *st = &APR_ARRAY_IDX(stock, i, cs_menu_stock_t);
        apr_hash_set(h, st->pos_id, APR_HASH_KEY_STRING, st);
    }
    for (i = 0; i < m->items->nelts; i++) {
        cs_menu_item_t *it = &APR_ARRAY_IDX(m->items, i, cs_menu_item_t);
        const cs_menu_stock_t *st = apr_hash_get(h, it->pos_id, APR_HASH_KEY_STRING);
        if (st) {
            it->sold_out = st->sold_out;
        }
    }
    /* A modifier option is sold through its item reference, whose GUID the
     * stock API reports like any item's. */
    for (i = 0; i < m->groups->nelts; i++) {
        cs_menu_group_t *g = &APR_ARRAY_IDX(m->groups, i, cs_menu_group_t);
        for (j = 0; g->modifiers && j < g->modifiers->nelts; j++) {
            cs_menu_modifier_t *md = &APR_ARRAY_IDX(g->modifiers, j, cs_menu_modifier_t);
            const cs_menu_stock_t *st = apr_hash_get(h, md->pos_id, APR_HASH_KEY_STRING);
            if (st) {
                md->sold_out = st->sold_out;
            }
        }
    }
}

/* ---- orders and webhooks: parsing ------------------------------------------------ */

static const char *guest_status(const char *s)
{
    if (str_eq(s, "RECEIVED")) return CS_POS_ORDER_PENDING;
    if (str_eq(s, "IN_PREPARATION")) return CS_POS_ORDER_ACCEPTED;
    if (str_eq(s, "READY_FOR_PICKUP")) return CS_POS_ORDER_READY;
    if (str_eq(s, "CLOSED")) return CS_POS_ORDER_COMPLETED;
    if (str_eq(s, "VOIDED") || str_eq(s, "VOID")) return CS_POS_ORDER_CANCELLED;
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
            if (!str_eq(cs_jstr(s, "fulfillmentStatus"), "READY")) {
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
        || str_eq(approval, "NOT_APPROVED")) {
        return CS_POS_ORDER_CANCELLED;
    }
    if (str_eq(approval, "NEEDS_APPROVAL") || str_eq(approval, "FUTURE")) {
        return CS_POS_ORDER_PENDING;
    }
    if (str_eq(cs_jstr(cs_jobj(order, "deliveryInfo"), "deliveryState"), "DELIVERED")) {
        return CS_POS_ORDER_COMPLETED;
    }
    /* Toast's order has no "picked up" state (a prepaid check closes at
     * once): ready is as far as orders v2 can tell for pickup. */
    if (all_ready(order)) {
        return CS_POS_ORDER_READY;
    }
    return str_eq(approval, "APPROVED") ? CS_POS_ORDER_ACCEPTED : CS_POS_ORDER_PENDING;
}

apr_status_t cs_pos_toast_parse_event(cs_pos_event_t **pout, const char *body,
                                      apr_size_t len, apr_pool_t *p,
                                      const char **perr)
{
    cs_json_t *doc;
    json_object *root, *details;
    const char *cat, *type, *id;
    cs_pos_event_t *ev;

    *pout = NULL;
    if (cs_json_parse(&doc, p, body, len, perr) != APR_SUCCESS
        || !json_object_is_type(cs_json_raw(doc), json_type_object)) {
        FAIL(APR_EINVAL, "the Toast webhook body is not a JSON object");
    }
    root = cs_json_raw(doc);
    if (!(id = nonempty(cs_jstr(root, "guid")))) {
        FAIL(APR_EINVAL, "the Toast webhook has no event guid");
    }
    cat = cs_jstr(root, "eventCategory");
    type = cs_jstr(root, "eventType");
    details = cs_jobj(root, "details");
    ev = apr_pcalloc(p, sizeof(*ev));
    ev->event_id = id;
    ev->type = type ? type : cat ? cat : "";
    ev->kind = CS_POS_EVENT_OTHER;

    if (str_eq(cat, "menus") || str_eq(type, "menus_updated")) {
        ev->kind = CS_POS_EVENT_MENU;
    }
    else if (str_eq(cat, "stock") || str_eq(type, "out_of_stock")
             || str_eq(type, "in_stock") || str_eq(type, "low_quantity")) {
        const char *item = nonempty(cs_jstr(details, "itemGuid"));
        const char *status = cs_jstr(details, "status");
        int so = stock_sold_out(status, member(details, "quantity"));

        ev->kind = CS_POS_EVENT_STOCK;
        if (so < 0) {
            so = str_eq(type, "out_of_stock") ? 1 : str_eq(type, "in_stock") ? 0 : -1;
        }
        if (item && so >= 0) {
            cs_menu_stock_t *st;
            ev->stock = apr_array_make(p, 1, sizeof(cs_menu_stock_t));
            st = apr_array_push(ev->stock);
            st->pos_id = item;
            st->sold_out = so;
            st->until = 0;
        }
        /* else: something changed, poll the stock API (stock NULL) */
    }
    else if (str_eq(cat, "orders") || str_eq(type, "order_updated")
             || str_eq(type, "channel_order_updated")) {
        /* The Order travels in details (alone or under "order"). */
        json_object *order = cs_jobj(details, "order") ? cs_jobj(details, "order") : details;
        if (!(ev->order_id = nonempty(cs_jstr(order, "guid")))) {
            FAIL(APR_EINVAL, "the Toast order event names no order");
        }
        ev->kind = CS_POS_EVENT_ORDER;
        ev->order_status = cs_pos_toast_order_state(order);
    }
    else if (details && guest_status(cs_jstr(details, "guestOrderStatus"))) {
        /* the guest order fulfillment status webhook */
        ev->order_id = nonempty(cs_jstr(details, "orderGuid"));
        if (!ev->order_id) {
            FAIL(APR_EINVAL, "the Toast order event names no order");
        }
        ev->kind = CS_POS_EVENT_ORDER;
        ev->order_status = guest_status(cs_jstr(details, "guestOrderStatus"));
    }
    *pout = ev;
    return APR_SUCCESS;
}

/* ---- time and signatures -------------------------------------------------------- */

static int digits(const char **ps, int n, int *pout)
{
    int v = 0, i;

    for (i = 0; i < n; i++) {
        if ((*ps)[i] < '0' || (*ps)[i] > '9') {
            return 0;
        }
        v = v * 10 + ((*ps)[i] - '0');
    }
    *ps += n;
    *pout = v;
    return 1;
}

apr_status_t cs_pos_toast_parse_time(apr_time_t *pout, const char *iso)
{
    apr_time_exp_t e;
    const char *s = iso;
    int year, mon, day, hour, min, sec, usec = 0, scale = 100000, oh = 0, om = 0, sign = 0;
    apr_time_t t;

    *pout = 0;
    memset(&e, 0, sizeof(e));
    if (!s || !digits(&s, 4, &year) || *s++ != '-' || !digits(&s, 2, &mon) || *s++ != '-'
        || !digits(&s, 2, &day) || (*s != 'T' && *s != ' ')) {
        return APR_EINVAL;
    }
    s++;
    if (!digits(&s, 2, &hour) || *s++ != ':' || !digits(&s, 2, &min) || *s++ != ':'
        || !digits(&s, 2, &sec)) {
        return APR_EINVAL;
    }
    if (*s == '.') {
        s++;
        if (*s < '0' || *s > '9') {
            return APR_EINVAL;
        }
        for (; *s >= '0' && *s <= '9'; s++) {
            usec += scale * (*s - '0');
            scale /= 10;
        }
    }
    if (*s == 'Z') {
        s++;
    }
    else if (*s == '+' || *s == '-') {
        sign = *s++ == '-' ? -1 : 1;
        if (!digits(&s, 2, &oh)) {
            return APR_EINVAL;
        }
        if (*s == ':') {
            s++;
        }
        if (!digits(&s, 2, &om) || oh > 23 || om > 59) {
            return APR_EINVAL;
        }
    }
    if (*s || year < 1970 || year > 9999 || mon < 1 || mon > 12 || day < 1 || day > 31
        || hour > 23 || min > 59 || sec > 60) {
        return APR_EINVAL;
    }
    e.tm_year = year - 1900;
    e.tm_mon = mon - 1;
    e.tm_mday = day;
    e.tm_hour = hour;
    e.tm_min = min;
    e.tm_sec = sec;
    if (apr_time_exp_gmt_get(&t, &e) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    *pout = t + usec - (apr_time_t)sign * apr_time_from_sec(oh * 3600 + om * 60);
    return APR_SUCCESS;
}

const char *cs_pos_toast_format_time(apr_pool_t *p, apr_time_t t)
{
    apr_time_exp_t e;

    apr_time_exp_gmt(&e, t);
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02d.%03d+0000", e.tm_year + 1900,
                        e.tm_mon + 1, e.tm_mday, e.tm_hour, e.tm_min, e.tm_sec,
                        e.tm_usec / 1000);
}

/* HMAC-SHA256(secret, body + timestamp) into @p mac. */
static apr_status_t toast_mac(unsigned char mac[CS_SHA256_LEN], apr_pool_t *p,
                              const char *secret, const char *body, apr_size_t len,
                              const char *timestamp)
{
    apr_size_t tl = timestamp ? strlen(timestamp) : 0;
    char *msg = apr_palloc(p, len + tl + 1);

    if (len) {
        memcpy(msg, body, len);
    }
    if (tl) {
        memcpy(msg + len, timestamp, tl);
    }
    return cs_hmac_sha256(mac, secret, strlen(secret), msg, len + tl);
}

const char *cs_pos_toast_sign(apr_pool_t *p, const char *secret, const char *body,
                              apr_size_t len, const char *timestamp)
{
    unsigned char mac[CS_SHA256_LEN];

    if (!secret || toast_mac(mac, p, secret, body, len, timestamp) != APR_SUCCESS) {
        return NULL;
    }
    return cs_base64_encode(p, mac, sizeof(mac));
}

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
    const char *h = w->headers ? apr_table_get(w->headers, CS_TOAST_SIG_HEADER) : NULL;
    const char *ts = NULL, *err = NULL, *want;
    apr_time_t now = w->now ? w->now : apr_time_now(), t;
    cs_json_t *doc;

    if (!conf->webhook_secret || !*conf->webhook_secret) {
        FAIL(APR_EACCES, "no Toast webhook secret is configured");
    }
    if (!h || !*h) {
        FAIL(APR_EACCES, "the delivery is not signed");
    }
    /* The signed timestamp is the one the message carries. */
    if (w->body && cs_json_parse(&doc, p, w->body, w->body_len, &err) == APR_SUCCESS) {
        ts = cs_jstr(cs_json_raw(doc), "timestamp");
    }
    if (!ts || cs_pos_toast_parse_time(&t, ts) != APR_SUCCESS) {
        FAIL(APR_EACCES, "the delivery carries no timestamp we can read");
    }
    /* Compared as text, padding optional: the one canonical encoding of
     * our MAC, so no second spelling of a signature passes. */
    want = cs_pos_toast_sign(p, conf->webhook_secret, w->body ? w->body : "", w->body_len, ts);
    if (!want || !cs_ct_streq(strip_padding(p, want), strip_padding(p, h))) {
        FAIL(APR_EACCES, "the signature does not match");
    }
    if (now - t > CS_TOAST_TOLERANCE || t - now > CS_TOAST_SKEW) {
        FAIL(APR_EACCES, "the signature's timestamp is stale");
    }
    return APR_SUCCESS;
}

static apr_status_t toast_parse_webhook(cs_pos_event_t **pout, const cs_pos_webhook_t *w,
                                        apr_pool_t *p, const char **perr)
{
    return cs_pos_toast_parse_event(pout, w->body, w->body_len, p, perr);
}

/* ---- talking to Toast ------------------------------------------------------------ */

static apr_status_t check_conf(cs_pos_session_t *s, apr_pool_t *p, const char **perr)
{
    if (!s->conf || !nonempty(s->conf->api_base) || !nonempty(s->conf->location)) {
        FAIL(APR_EINVAL, "Toast needs its API host and the restaurant GUID");
    }
    return APR_SUCCESS;
}

static cs_http_req_t make_req(cs_pos_session_t *s, apr_pool_t *p, const char *method,
                              const char *path)
{
    cs_http_req_t r;

    memset(&r, 0, sizeof(r));
    r.method = method;
    r.url = apr_pstrcat(p, s->conf->api_base, path, NULL);
    r.headers = apr_array_make(p, 2, sizeof(const char *));
    APR_ARRAY_PUSH(r.headers, const char *) =
        apr_pstrcat(p, CS_TOAST_RESTAURANT_HEADER ": ", s->conf->location, NULL);
    APR_ARRAY_PUSH(r.headers, const char *) = "Accept: application/json";
    return r;
}

static apr_status_t parse_answer(json_object **pout, cs_json_t **pdoc,
                                 const cs_http_resp_t *resp, apr_pool_t *p,
                                 const char **perr)
{
    const char *err = NULL;

    *pout = NULL;
    if (cs_json_parse(pdoc, p, resp->body, resp->len, &err) != APR_SUCCESS) {
        FAIL(APR_EINVAL, "Toast answered malformed JSON");
    }
    *pout = cs_json_raw(*pdoc);
    return APR_SUCCESS;
}

/* The machine-client login: a new token into the session. The secret
 * travels only in this request's body, whose copy is wiped once sent. */
static apr_status_t toast_login(cs_pos_session_t *s, apr_pool_t *p, const char **perr)
{
    const cs_pos_conf_t *conf = s->conf;
    cs_http_req_t req;
    cs_http_resp_t *resp = NULL;
    cs_json_t *body, *doc;
    json_object *ans, *tok;
    const char *access;
    char *text;
    apr_int64_t ttl = 0;
    apr_status_t rv;

    if (!nonempty(conf->client_id) || !nonempty(conf->client_secret)) {
        FAIL(APR_EACCES, "no Toast client id and secret are configured");
    }
    body = cs_json_object(p);
    cs_json_set_str(body, "clientId", conf->client_id);
    cs_json_set_str(body, "clientSecret", conf->client_secret);
    cs_json_set_str(body, "userAccessType", "TOAST_MACHINE_CLIENT");
    text = (char *)cs_json_dump(body, p);
    req = make_req(s, p, "POST", LOGIN_PATH);
    req.body = text;
    req.content_type = "application/json";
    rv = cs_pos_send(&resp, s, &req, p, perr);
    cs_cleanse(text, strlen(text));
    if (rv == APR_EACCES) {
        FAIL(APR_EACCES, "Toast refused the client id and secret (%ld)", s->last_status);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if ((rv = parse_answer(&ans, &doc, resp, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    tok = cs_jobj(ans, "token");
    access = nonempty(cs_jstr(tok, "accessToken"));
    if (!access || !cs_jint(tok, "expiresIn", &ttl) || ttl <= 0) {
        FAIL(APR_EINVAL, "Toast's login answer has no usable token");
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
                               cs_http_req_t *req, apr_pool_t *p, const char **perr)
{
    apr_status_t rv;

    *presp = NULL;
    if ((rv = toast_authenticate(s, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    req->bearer = s->token;
    rv = cs_pos_send(presp, s, req, p, perr);
    if (rv == APR_EACCES && s->last_status == 401) {
        s->token = NULL;
        s->token_expires = 0;
        if ((rv = toast_login(s, p, perr)) != APR_SUCCESS) {
            return rv;
        }
        req->bearer = s->token;
        rv = cs_pos_send(presp, s, req, p, perr);
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
    req = make_req(s, p, "GET", STOCK_PATH);
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
    req = make_req(s, p, "GET", MENUS_PATH);
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
    cs_json_t *arr, *e, *doc;
    json_object *ans;
    apr_size_t i;
    apr_status_t rv;

    if ((rv = check_conf(s, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (!nonempty(item_id)) {
        FAIL(APR_EINVAL, "no item to mark");
    }
    arr = cs_json_array(p);
    e = cs_json_object(p);
    cs_json_set_str(e, "guid", item_id);
    cs_json_set_str(e, "status", sold_out ? "OUT_OF_STOCK" : "IN_STOCK");
    /* cs_json_append takes a reference: e stays owned by its pool. */
    cs_json_append(arr, e);
    req = make_req(s, p, "PUT", STOCK_SET_PATH);
    req.body = cs_json_dump(arr, p);
    req.content_type = "application/json";
    if ((rv = toast_call(&resp, s, &req, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = parse_answer(&ans, &doc, resp, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    for (i = 0; i < cs_jlen(ans); i++) {
        json_object *r = cs_jat(ans, i);
        if (str_eq(cs_jstr(r, "itemGuidValidity"), "INVALID")) {
            FAIL(APR_EINVAL, "Toast does not know item %s", item_id);
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
        cs_json_t *doc;
        json_object *ans;
        apr_size_t i;

        req = make_req(s, p, "GET", token
                       ? apr_pstrcat(p, DINING_PATH "?pageToken=",
                                     apr_pescape_urlencoded(p, token), NULL)
                       : DINING_PATH);
        if ((rv = toast_call(&resp, s, &req, p, perr)) != APR_SUCCESS) {
            return rv;
        }
        if ((rv = parse_answer(&ans, &doc, resp, p, perr)) != APR_SUCCESS) {
            return rv;
        }
        if (!json_object_is_type(ans, json_type_array)) {
            FAIL(APR_EINVAL, "Toast answered dining options that are not an array");
        }
        for (i = 0; i < cs_jlen(ans); i++) {
            json_object *o = cs_jat(ans, i);
            const char *guid = nonempty(cs_jstr(o, "guid"));
            if (!guid || !str_eq(cs_jstr(o, "behavior"), "TAKE_OUT")) {
                continue;
            }
            if (!cs_jbool(o, "curbside", 0)) {
                *pout = guid;
                return APR_SUCCESS;
            }
            curbside = curbside ? curbside : guid;
        }
        token = resp->headers ? nonempty(apr_table_get(resp->headers,
                                                       "Toast-Next-Page-Token")) : NULL;
        if (!token) {
            break;
        }
    }
    if (curbside) {
        *pout = curbside;
        return APR_SUCCESS;
    }
    FAIL(APR_EINVAL, "the Toast restaurant has no takeout dining option");
}

static json_object *guid_ref(const char *guid)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "guid", json_object_new_string(guid));
    return o;
}

static void add_str(json_object *o, const char *key, const char *val)
{
    json_object_object_add(o, key, json_object_new_string(val ? val : ""));
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
    json_object_object_add(c, "entityType", json_object_new_string("Customer"));
    add_str(c, "firstName", *first ? first : "Guest");
    add_str(c, "lastName", sp && *sp ? sp : "-");
    if (phone && !strncmp(phone, "+1", 2) && strlen(phone) == 12) {
        add_str(c, "phone", phone + 2);
        add_str(c, "phoneCountryCode", "1");
    }
    else if (phone) {
        add_str(c, "phone", *phone == '+' ? phone + 1 : phone);
    }
    if (order->customer_email) {
        add_str(c, "email", order->customer_email);
    }
    return c;
}

static const char *order_body(const cs_pos_order_t *order, const char *dining,
                              apr_pool_t *p)
{
    cs_json_t *doc = cs_json_object(p);
    json_object *root = cs_json_raw(doc), *check = json_object_new_object(),
                *checks = json_object_new_array(), *sels = json_object_new_array();
    int i, j;

    add_str(root, "entityType", "Order");
    add_str(root, "externalId", apr_pstrcat(p, CS_TOAST_EXTERNAL_PREFIX,
                                            order->external_id, NULL));
    json_object_object_add(root, "diningOption", guid_ref(dining));
    if (order->pickup_at) {
        /* A scheduled order's business date is its promised date. */
        const char *when = cs_pos_toast_format_time(p, order->pickup_at);
        add_str(root, "promisedDate", when);
        add_str(root, "openedDate", when);
    }
    for (i = 0; order->lines && i < order->lines->nelts; i++) {
        const cs_pos_line_t *l = &APR_ARRAY_IDX(order->lines, i, cs_pos_line_t);
        json_object *sel = json_object_new_object(), *mods = json_object_new_array();

        add_str(sel, "entityType", "MenuItemSelection");
        json_object_object_add(sel, "item", guid_ref(l->item_id));
        json_object_object_add(sel, "quantity", json_object_new_int(l->quantity));
        for (j = 0; l->modifier_ids && j < l->modifier_ids->nelts; j++) {
            json_object *m = json_object_new_object();
            add_str(m, "entityType", "MenuItemSelection");
            json_object_object_add(m, "item",
                                   guid_ref(APR_ARRAY_IDX(l->modifier_ids, j, const char *)));
            json_object_object_add(m, "quantity", json_object_new_int(1));
            json_object_array_add(mods, m);
        }
        json_object_object_add(sel, "modifiers", mods);
        json_object_array_add(sels, sel);
    }
    add_str(check, "entityType", "Check");
    json_object_object_add(check, "customer", customer(order, p));
    json_object_object_add(check, "selections", sels);
    json_object_array_add(checks, check);
    json_object_object_add(root, "checks", checks);
    return cs_json_dump(doc, p);
}

/* An Order answer (alone, or as orders[0] of an OrderResponse) as a result. */
static apr_status_t order_result(cs_pos_order_result_t **pout, const cs_http_resp_t *resp,
                                 apr_pool_t *p, const char **perr)
{
    cs_json_t *doc;
    json_object *ans, *o;
    cs_pos_order_result_t *res;
    apr_status_t rv;

    *pout = NULL;
    if ((rv = parse_answer(&ans, &doc, resp, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    o = cs_jarr(ans, "orders") ? cs_jat(cs_jarr(ans, "orders"), 0) : ans;
    if (!nonempty(cs_jstr(o, "guid"))) {
        FAIL(APR_EINVAL, "Toast answered an order without a guid");
    }
    res = apr_pcalloc(p, sizeof(*res));
    res->pos_order_id = apr_pstrdup(p, cs_jstr(o, "guid"));
    res->status = cs_pos_toast_order_state(o);
    *pout = res;
    return APR_SUCCESS;
}

static apr_status_t get_order(cs_pos_order_result_t **pout, cs_pos_session_t *s,
                              const char *id, apr_pool_t *p, const char **perr)
{
    cs_http_req_t req = make_req(s, p, "GET", apr_pstrcat(p, ORDERS_PATH "/",
                                 apr_pescape_path_segment(p, id), NULL));
    cs_http_resp_t *resp;
    apr_status_t rv;

    req.max_response = MAX_ORDER_ANSWER;
    if ((rv = toast_call(&resp, s, &req, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    return order_result(pout, resp, p, perr);
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
    if (!order || !nonempty(order->external_id)) {
        FAIL(APR_EINVAL, "an order needs an external id");
    }
    if (!order->lines || !order->lines->nelts) {
        FAIL(APR_EINVAL, "an order needs at least one line");
    }
    if ((rv = dining_option(&dining, s, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    req = make_req(s, p, "POST", ORDERS_PATH);
    req.body = order_body(order, dining, p);
    req.content_type = "application/json";
    req.max_response = MAX_ORDER_ANSWER;
    rv = toast_call(&resp, s, &req, p, perr);
    if (rv == APR_EINVAL) {
        /* Toast refuses a second order with the same externalId: when an
         * earlier attempt got through (its answer lost to a timeout), the
         * order is there under our id. */
        cs_pos_order_result_t *found = NULL;
        if (get_order(&found, s, apr_pstrcat(p, CS_TOAST_EXTERNAL_PREFIX,
                                             order->external_id, NULL), p, &err2)
            == APR_SUCCESS) {
            *pout = found;
            return APR_SUCCESS;
        }
        return rv;
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return order_result(pout, resp, p, perr);
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
    if (!nonempty(pos_order_id)) {
        FAIL(APR_EINVAL, "no order to look up");
    }
    return get_order(pout, s, pos_order_id, p, perr);
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
