/* The Clover adapter (cs_pos.h): the v3 REST API under a merchant's API
 * token (Authorization: Bearer), webhooks authenticated by the static
 * X-Clover-Auth code. The pure parsers and builders are declared in
 * cs_pos_parse.h; the adapter table at the bottom glues them to HTTP.
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
#include "providers/pos/cs_pos_parse.h"
#include "base/cs_crypto.h"
#include "base/cs_json.h"

#include <apr_hash.h>
#include <apr_strings.h>
#include <string.h>
#include <strings.h>

#define CL_DEFAULT_BASE   "https://api.clover.com"
#define CL_LIMIT          100
#define CL_MAX_PAGES      500
#define CL_MAX_OBJECTS    100000
#define CL_MAX_UNITS      100       /* units of one line */
#define CL_MAX_LINE_ITEMS 3000      /* Clover's limit per order */
#define CL_MAX_ID         200
#define CL_MAX_EVENT_ID   200
#define CL_MAX_RESPONSE   ((apr_size_t)8 * 1024 * 1024)

#define FAIL(rvv, ...) do { *perr = apr_psprintf(p, __VA_ARGS__); return (rvv); } while (0)

/* ---- strict member access: 0 absent/null, 1 the type, -1 another type ---- */

static int get_typed(json_object *o, const char *key, json_type t, json_object **pv)
{
    json_object *v = NULL;

    *pv = NULL;
    if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v)
        || !v) {
        return 0;
    }
    if (!json_object_is_type(v, t)) {
        return -1;
    }
    *pv = v;
    return 1;
}

static int get_str(json_object *o, const char *key, const char **pout)
{
    json_object *v;
    int rc = get_typed(o, key, json_type_string, &v);

    *pout = rc == 1 ? json_object_get_string(v) : NULL;
    return rc;
}

static int get_int(json_object *o, const char *key, apr_int64_t *pout)
{
    json_object *v;
    int rc = get_typed(o, key, json_type_int, &v);

    if (rc == 1) {
        *pout = json_object_get_int64(v);
    }
    return rc;
}

static int get_bool(json_object *o, const char *key, int *pout)
{
    json_object *v;
    int rc = get_typed(o, key, json_type_boolean, &v);

    if (rc == 1) {
        *pout = json_object_get_boolean(v);
    }
    return rc;
}

/* Clover wraps expanded lists as {"elements": [...]}. */
static int get_elements(json_object *o, const char *key, json_object **parr)
{
    json_object *w;
    int rc = get_typed(o, key, json_type_object, &w);

    *parr = NULL;
    if (rc != 1) {
        return rc;
    }
    return get_typed(w, "elements", json_type_array, parr) < 0 ? -1 : 1;
}

/* ---- the inventory being read --------------------------------------------- */

typedef struct {
    const char *id, *name;
    int min, max, listed, referenced;
    apr_array_header_t *mods;   /* of cs_menu_modifier_t */
    apr_hash_t *mod_ids;
} cl_group_t;

struct cs_clover_catalog_t {
    apr_pool_t *pool;
    int objects;
    apr_array_header_t *items;  /* of cs_menu_item_t */
    apr_hash_t *item_ids;
    apr_array_header_t *cats;   /* of cs_menu_category_t */
    apr_hash_t *cat_ids;
    apr_array_header_t *groups; /* of cl_group_t * */
    apr_hash_t *group_by_id;
};

cs_clover_catalog_t *cs_pos_clover_catalog_make(apr_pool_t *p)
{
    cs_clover_catalog_t *c = apr_pcalloc(p, sizeof(*c));

    c->pool = p;
    c->items = apr_array_make(p, 64, sizeof(cs_menu_item_t));
    c->item_ids = apr_hash_make(p);
    c->cats = apr_array_make(p, 8, sizeof(cs_menu_category_t));
    c->cat_ids = apr_hash_make(p);
    c->groups = apr_array_make(p, 16, sizeof(cl_group_t *));
    c->group_by_id = apr_hash_make(p);
    return c;
}

static apr_status_t object_id(const char **pid, json_object *o, const char *what,
                              apr_pool_t *p, const char **perr)
{
    const char *id;

    if (get_str(o, "id", &id) != 1 || !*id || strlen(id) > CL_MAX_ID) {
        FAIL(APR_EINVAL, "Clover sent %s without a usable id", what);
    }
    *pid = apr_pstrdup(p, id);
    return APR_SUCCESS;
}

/* A money amount in cents within bounds (absent: 0). */
static apr_status_t cents(json_object *o, const char *key, int allow_negative,
                          apr_int64_t *pout, const char *id, apr_pool_t *p, const char **perr)
{
    int rc = get_int(o, key, pout);

    if (rc == 0) {
        *pout = 0;
    }
    if (rc < 0 || *pout > CS_POS_MAX_CENTS || *pout < (allow_negative ? -CS_POS_MAX_CENTS : 0)) {
        FAIL(APR_EINVAL, "Clover object %s has no usable %s", id, key);
    }
    return APR_SUCCESS;
}

static apr_status_t add_modifier(cs_clover_catalog_t *c, cl_group_t *g, json_object *o,
                                 const char **perr)
{
    apr_pool_t *p = c->pool;
    const char *id, *name;
    cs_menu_modifier_t md;
    int available = 1;
    apr_status_t rv;

    memset(&md, 0, sizeof(md));
    if ((rv = object_id(&id, o, "a modifier", p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (get_str(o, "name", &name) != 1 || !*name || get_bool(o, "available", &available) < 0) {
        FAIL(APR_EINVAL, "Clover modifier %s has no name or a field of the wrong type", id);
    }
    if ((rv = cents(o, "price", 1, &md.price_cents, id, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (apr_hash_get(g->mod_ids, id, APR_HASH_KEY_STRING)) {
        return APR_SUCCESS;
    }
    md.pos_id = id;
    md.name = apr_pstrdup(p, name);
    md.sold_out = !available;
    apr_hash_set(g->mod_ids, id, APR_HASH_KEY_STRING, id);
    APR_ARRAY_PUSH(g->mods, cs_menu_modifier_t) = md;
    return APR_SUCCESS;
}

/* A modifier group from an item's expansion (@p listed 0) or from the
 * modifier_groups listing (1, which has the last word on its fields). */
static apr_status_t add_group(cs_clover_catalog_t *c, json_object *o, int listed,
                              cl_group_t **pg, const char **perr)
{
    apr_pool_t *p = c->pool;
    const char *id, *name;
    apr_int64_t min = 0, max = 0;
    json_object *mods;
    cl_group_t *g;
    apr_size_t k;
    apr_status_t rv;

    if ((rv = object_id(&id, o, "a modifier group", p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (get_str(o, "name", &name) < 0 || get_int(o, "minRequired", &min) < 0
        || get_int(o, "maxAllowed", &max) < 0 || min < 0 || max < 0 || min > 1000
        || max > 1000 || get_elements(o, "modifiers", &mods) < 0) {
        FAIL(APR_EINVAL, "Clover modifier group %s has a field of the wrong type", id);
    }
    g = apr_hash_get(c->group_by_id, id, APR_HASH_KEY_STRING);
    if (!g) {
        g = apr_pcalloc(p, sizeof(*g));
        g->id = id;
        g->mods = apr_array_make(p, 4, sizeof(cs_menu_modifier_t));
        g->mod_ids = apr_hash_make(p);
        apr_hash_set(c->group_by_id, id, APR_HASH_KEY_STRING, g);
        APR_ARRAY_PUSH(c->groups, cl_group_t *) = g;
    }
    if (listed || !g->listed) {
        g->name = apr_pstrdup(p, name && *name ? name : "Options");
        g->min = (int)min;
        g->max = (int)max;
        g->listed |= listed;
    }
    for (k = 0; k < cs_jlen(mods); k++) {
        if ((rv = add_modifier(c, g, cs_jat(mods, k), perr)) != APR_SUCCESS) {
            return rv;
        }
    }
    *pg = g;
    return APR_SUCCESS;
}

static apr_status_t add_category(cs_clover_catalog_t *c, json_object *o, const char **pid,
                                 const char **perr)
{
    apr_pool_t *p = c->pool;
    const char *id, *name;
    apr_int64_t sort = 0;
    int rc;
    cs_menu_category_t *cat;
    apr_status_t rv;

    if ((rv = object_id(&id, o, "a category", p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (get_str(o, "name", &name) < 0 || (rc = get_int(o, "sortOrder", &sort)) < 0) {
        FAIL(APR_EINVAL, "Clover category %s has a field of the wrong type", id);
    }
    *pid = id;
    if (apr_hash_get(c->cat_ids, id, APR_HASH_KEY_STRING)) {
        return APR_SUCCESS;
    }
    cat = apr_array_push(c->cats);
    memset(cat, 0, sizeof(*cat));
    cat->pos_id = id;
    cat->name = apr_pstrdup(p, name && *name ? name : "Menu");
    cat->sort = rc == 1 && sort > -1000000 && sort < 1000000 ? (int)sort
                                                             : 1000000 + c->cats->nelts;
    apr_hash_set(c->cat_ids, id, APR_HASH_KEY_STRING, id);
    return APR_SUCCESS;
}

static apr_status_t add_item(cs_clover_catalog_t *c, json_object *o, const char **perr)
{
    apr_pool_t *p = c->pool;
    const char *id, *name, *ptype = NULL;
    json_object *cats, *groups, *stock, *qty = NULL;
    apr_int64_t deleted = 0, price = 0;
    int hidden = 0, available = 1, automanage = 0, out_of_stock = 0;
    cs_menu_item_t *it;
    apr_size_t k;
    apr_status_t rv;

    if ((rv = object_id(&id, o, "an item", p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (get_str(o, "name", &name) != 1 || !*name) {
        FAIL(APR_EINVAL, "Clover item %s has no name", id);
    }
    if (get_bool(o, "hidden", &hidden) < 0 || get_bool(o, "available", &available) < 0
        || get_bool(o, "autoManage", &automanage) < 0 || get_str(o, "priceType", &ptype) < 0
        || get_int(o, "deletedTime", &deleted) < 0
        || get_elements(o, "categories", &cats) < 0
        || get_elements(o, "modifierGroups", &groups) < 0
        || get_typed(o, "itemStock", json_type_object, &stock) < 0) {
        FAIL(APR_EINVAL, "Clover item %s has a field of the wrong type", id);
    }
    if (stock && json_object_object_get_ex(stock, "quantity", &qty) && qty) {
        if (!json_object_is_type(qty, json_type_double)
            && !json_object_is_type(qty, json_type_int)) {
            FAIL(APR_EINVAL, "Clover item %s has a stock quantity that is not a number", id);
        }
        out_of_stock = json_object_get_double(qty) <= 0.0;
    }
    else if (stock) {
        apr_int64_t count;
        int rc = get_int(stock, "stockCount", &count);
        if (rc < 0) {
            FAIL(APR_EINVAL, "Clover item %s has a stock count that is not a number", id);
        }
        out_of_stock = rc == 1 && count <= 0;
    }
    if (deleted > 0 || (ptype && !strcmp(ptype, "VARIABLE"))
        || apr_hash_get(c->item_ids, id, APR_HASH_KEY_STRING)) {
        return APR_SUCCESS;     /* gone, priced at the till, or seen already */
    }
    if ((rv = cents(o, "price", 0, &price, id, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    it = apr_array_push(c->items);
    memset(it, 0, sizeof(*it));
    it->pos_id = id;
    it->name = apr_pstrdup(p, name);
    it->price_cents = price;
    it->sort = c->items->nelts - 1;
    it->visible = !hidden;
    it->prep_points = 1;
    it->sold_out = !available || (automanage && out_of_stock);
    it->category_id = CS_POS_NO_CATEGORY;
    it->group_ids = apr_array_make(p, 2, sizeof(const char *));
    apr_hash_set(c->item_ids, id, APR_HASH_KEY_STRING, id);
    for (k = 0; k < cs_jlen(cats); k++) {
        const char *cid;
        if ((rv = add_category(c, cs_jat(cats, k), &cid, perr)) != APR_SUCCESS) {
            return rv;
        }
        if (k == 0) {
            it->category_id = cid;
        }
    }
    for (k = 0; k < cs_jlen(groups); k++) {
        cl_group_t *g;
        int i, dup = 0;
        if ((rv = add_group(c, cs_jat(groups, k), 0, &g, perr)) != APR_SUCCESS) {
            return rv;
        }
        g->referenced = 1;
        for (i = 0; i < it->group_ids->nelts; i++) {
            dup |= !strcmp(APR_ARRAY_IDX(it->group_ids, i, const char *), g->id);
        }
        if (!dup) {
            APR_ARRAY_PUSH(it->group_ids, const char *) = g->id;
        }
    }
    return APR_SUCCESS;
}

/* Parse a list page in a scratch pool and add each element with @p fn. */
static apr_status_t list_page(cs_clover_catalog_t *c, const char *body, apr_size_t len,
                              const char *what, int *pcount,
                              apr_status_t (*fn)(cs_clover_catalog_t *, json_object *,
                                                 const char **),
                              const char **perr)
{
    apr_pool_t *p = c->pool, *sp;
    cs_json_t *doc;
    json_object *els;
    const char *err = NULL;
    apr_size_t i;
    apr_status_t rv = APR_SUCCESS;

    *pcount = 0;
    if (apr_pool_create(&sp, p) != APR_SUCCESS) {
        FAIL(APR_ENOMEM, "out of memory");
    }
    if (!body || cs_json_parse(&doc, sp, body, len, &err) != APR_SUCCESS
        || !json_object_is_type(cs_json_raw(doc), json_type_object)
        || get_typed(cs_json_raw(doc), "elements", json_type_array, &els) < 0) {
        *perr = apr_psprintf(p, "Clover sent %s we cannot read (%s)", what,
                             err ? err : "not a list of elements");
        apr_pool_destroy(sp);
        return APR_EINVAL;
    }
    for (i = 0; rv == APR_SUCCESS && i < cs_jlen(els); i++) {
        if (++c->objects > CL_MAX_OBJECTS) {
            *perr = apr_psprintf(p, "the Clover inventory has over %d objects", CL_MAX_OBJECTS);
            rv = APR_EINVAL;
        }
        else if (!json_object_is_type(cs_jat(els, i), json_type_object)) {
            *perr = apr_psprintf(p, "Clover sent %s holding a non-object", what);
            rv = APR_EINVAL;
        }
        else {
            rv = fn(c, cs_jat(els, i), perr);
        }
    }
    *pcount = (int)cs_jlen(els);
    apr_pool_destroy(sp);
    return rv;
}

apr_status_t cs_pos_clover_parse_items_page(cs_clover_catalog_t *c, const char *body,
                                            apr_size_t len, int *pcount,
                                            const char **perr)
{
    return list_page(c, body, len, "an items page", pcount, add_item, perr);
}

static apr_status_t add_listed_group(cs_clover_catalog_t *c, json_object *o,
                                     const char **perr)
{
    cl_group_t *g;

    return add_group(c, o, 1, &g, perr);
}

apr_status_t cs_pos_clover_parse_groups_page(cs_clover_catalog_t *c, const char *body,
                                             apr_size_t len, int *pcount,
                                             const char **perr)
{
    return list_page(c, body, len, "a modifier groups page", pcount, add_listed_group, perr);
}

/* ---- the menu --------------------------------------------------------------- */

apr_status_t cs_pos_clover_build_menu(cs_menu_t **pout, const cs_clover_catalog_t *c,
                                      apr_pool_t *p, const char **perr)
{
    cs_menu_t *m = cs_menu_make(p, "USD");
    int i, need_other = 0;

    *pout = NULL;
    for (i = 0; i < c->cats->nelts; i++) {
        APR_ARRAY_PUSH(m->categories, cs_menu_category_t) =
            APR_ARRAY_IDX(c->cats, i, cs_menu_category_t);
    }
    for (i = 0; i < c->items->nelts; i++) {
        const cs_menu_item_t *it = &APR_ARRAY_IDX(c->items, i, cs_menu_item_t);
        need_other |= !strcmp(it->category_id, CS_POS_NO_CATEGORY);
        APR_ARRAY_PUSH(m->items, cs_menu_item_t) = *it;
    }
    if (need_other) {
        cs_menu_category_t *cat = apr_array_push(m->categories);
        memset(cat, 0, sizeof(*cat));
        cat->pos_id = CS_POS_NO_CATEGORY;
        cat->name = CS_POS_NO_CATEGORY_NAME;
        cat->sort = 2000000;
    }
    for (i = 0; i < c->groups->nelts; i++) {
        const cl_group_t *g = APR_ARRAY_IDX(c->groups, i, cl_group_t *);
        cs_menu_group_t *mg;
        int n = g->mods->nelts;
        if (!g->referenced) {
            continue;
        }
        mg = apr_array_push(m->groups);
        memset(mg, 0, sizeof(*mg));
        mg->pos_id = g->id;
        mg->name = g->name;
        /* Clover's maxAllowed 0 (or none) is "no limit"; keep the bounds
         * within what the group offers so the menu stays orderable. */
        mg->min = g->min > n ? n : g->min;
        mg->max = g->max;
        if (mg->max == 0 && mg->min > 0) {
            mg->max = n;
        }
        if (mg->max > 0 && mg->max < mg->min) {
            mg->max = mg->min;
        }
        mg->modifiers = apr_array_copy(p, g->mods);
    }
    if (cs_menu_validate(m, p, perr) != APR_SUCCESS) {
        *perr = apr_psprintf(p, "the Clover menu is not usable: %s", *perr);
        return APR_EINVAL;
    }
    *pout = m;
    return APR_SUCCESS;
}

apr_array_header_t *cs_pos_clover_build_stock(const cs_clover_catalog_t *c, apr_pool_t *p)
{
    apr_array_header_t *a = apr_array_make(p, c->items->nelts + 8, sizeof(cs_menu_stock_t));
    int i, j;

    for (i = 0; i < c->items->nelts; i++) {
        const cs_menu_item_t *it = &APR_ARRAY_IDX(c->items, i, cs_menu_item_t);
        cs_menu_stock_t *st = apr_array_push(a);
        st->pos_id = it->pos_id;
        st->sold_out = it->sold_out;
        st->until = 0;
    }
    for (i = 0; i < c->groups->nelts; i++) {
        const cl_group_t *g = APR_ARRAY_IDX(c->groups, i, cl_group_t *);
        for (j = 0; g->referenced && j < g->mods->nelts; j++) {
            const cs_menu_modifier_t *md = &APR_ARRAY_IDX(g->mods, j, cs_menu_modifier_t);
            cs_menu_stock_t *st = apr_array_push(a);
            st->pos_id = md->pos_id;
            st->sold_out = md->sold_out;
            st->until = 0;
        }
    }
    return a;
}

/* ---- orders ---------------------------------------------------------------- */

static json_object *ref(const char *id)
{
    json_object *o = json_object_new_object();

    json_object_object_add(o, "id", json_object_new_string(id));
    return o;
}

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
    if (!o->external_id || !*o->external_id || strlen(o->external_id) > CL_MAX_ID) {
        FAIL(APR_EINVAL, "the order has no usable id");
    }
    if (!o->lines || !o->lines->nelts) {
        FAIL(APR_EINVAL, "the order has no lines");
    }
    for (i = 0; i < o->lines->nelts; i++) {
        const cs_pos_line_t *l = &APR_ARRAY_IDX(o->lines, i, cs_pos_line_t);
        if (!l->item_id || !*l->item_id) {
            FAIL(APR_EINVAL, "line %d names no item", i + 1);
        }
        if (l->quantity < 1 || l->quantity > CL_MAX_UNITS
            || (total += l->quantity) > CL_MAX_LINE_ITEMS) {
            FAIL(APR_EINVAL, "line %d has a quantity Clover cannot take", i + 1);
        }
        for (u = 0; u < l->quantity; u++) {
            json_object *li = json_object_new_object(), *mods = json_object_new_array();
            json_object_object_add(li, "item", ref(l->item_id));
            for (j = 0; l->modifier_ids && j < l->modifier_ids->nelts; j++) {
                const char *mid = APR_ARRAY_IDX(l->modifier_ids, j, const char *);
                json_object *mo;
                if (!mid || !*mid) {
                    continue;
                }
                mo = json_object_new_object();
                json_object_object_add(mo, "modifier", ref(mid));
                json_object_array_add(mods, mo);
            }
            json_object_object_add(li, "modifications", mods);
            if (l->note && *l->note) {
                json_object_object_add(li, "note", json_object_new_string(l->note));
            }
            json_object_array_add(lines, li);
        }
    }
    json_object_object_add(cart, "externalReferenceId", json_object_new_string(o->external_id));
    json_object_object_add(cart, "title", json_object_new_string(
                               o->customer_name && *o->customer_name ? o->customer_name
                                                                     : "Online order"));
    note = apr_psprintf(p, "Online order %s%s%s, pickup %s", o->external_id,
                        o->customer_phone ? " " : "",
                        o->customer_phone ? o->customer_phone : "",
                        o->pickup_at ? "scheduled" : "as soon as possible");
    if (o->pickup_at) {
        char buf[APR_RFC822_DATE_LEN];
        apr_rfc822_date(buf, o->pickup_at);
        note = apr_pstrcat(p, note, " for ", buf, NULL);
    }
    json_object_object_add(cart, "note", json_object_new_string(note));
    *pbody = cs_json_dump(doc, p);
    return APR_SUCCESS;
}

static apr_status_t order_from(cs_pos_order_result_t **pout, json_object *o, apr_pool_t *p,
                               const char **perr)
{
    const char *id, *state;
    apr_int64_t deleted = 0;
    cs_pos_order_result_t *res;

    if (!json_object_is_type(o, json_type_object) || get_str(o, "id", &id) != 1 || !*id
        || strlen(id) > CL_MAX_ID || get_str(o, "state", &state) < 0
        || get_int(o, "deletedTime", &deleted) < 0) {
        FAIL(APR_EINVAL, "Clover sent an order without a usable id or state");
    }
    res = apr_pcalloc(p, sizeof(*res));
    res->pos_order_id = apr_pstrdup(p, id);
    /* "open" is on the register; "locked" is paid and closed. */
    res->status = deleted > 0 ? CS_POS_ORDER_CANCELLED
                  : !state || !*state ? CS_POS_ORDER_PENDING
                  : !strcasecmp(state, "open") ? CS_POS_ORDER_ACCEPTED
                  : !strcasecmp(state, "locked") || !strcasecmp(state, "paid")
                    ? CS_POS_ORDER_COMPLETED
                  : CS_POS_ORDER_PENDING;
    *pout = res;
    return APR_SUCCESS;
}

static apr_status_t parse_root(json_object **proot, const char *body, apr_size_t len,
                               const char *what, apr_pool_t *p, const char **perr)
{
    cs_json_t *doc;
    const char *err = NULL;

    *proot = NULL;
    if (!body || cs_json_parse(&doc, p, body, len, &err) != APR_SUCCESS
        || !json_object_is_type(cs_json_raw(doc), json_type_object)) {
        FAIL(APR_EINVAL, "Clover sent %s we cannot read (%s)", what,
             err ? err : "not a JSON object");
    }
    *proot = cs_json_raw(doc);
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
    if (get_typed(root, "elements", json_type_array, &els) < 0) {
        FAIL(APR_EINVAL, "Clover sent an order list that is not a list");
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
    cs_json_t *doc;
    json_object *root;
    const char *code, *err, *s;

    if (!body || len > 4096 || cs_json_parse(&doc, p, body, len, &err) != APR_SUCCESS
        || !json_object_is_type((root = cs_json_raw(doc)), json_type_object)
        || json_object_object_length(root) != 1 || get_str(root, "verificationCode", &code) != 1
        || !*code || strlen(code) > 64) {
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
    if (get_typed(root, "merchants", json_type_object, &merchants) != 1) {
        FAIL(APR_EINVAL, "the Clover event has no merchants");
    }
    {
        json_object_object_foreach(merchants, mid, updates) {
            apr_size_t i;
            if (!json_object_is_type(updates, json_type_array) || !*mid
                || strlen(mid) > CL_MAX_ID) {
                FAIL(APR_EINVAL, "the Clover event's updates are not a list");
            }
            for (i = 0; i < cs_jlen(updates); i++) {
                json_object *u = cs_jat(updates, i);
                const char *oid, *type, *colon;
                apr_int64_t ts;
                const char *kind;
                if (get_str(u, "objectId", &oid) != 1 || get_str(u, "type", &type) != 1
                    || get_int(u, "ts", &ts) != 1 || !(colon = strchr(oid, ':'))
                    || colon == oid || !colon[1] || strlen(oid) > CL_MAX_ID
                    || strlen(type) > 20 || ++n > 1000) {
                    FAIL(APR_EINVAL, "the Clover event has an update we cannot read");
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
        FAIL(APR_EINVAL, "the Clover event has no updates");
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
        FAIL(APR_EINVAL, "the Clover event id could not be made");
    }
    *pout = ev;
    return APR_SUCCESS;
}

/* ---- HTTP ---------------------------------------------------------------------- */

static const char *enc(apr_pool_t *p, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = apr_palloc(p, strlen(s) * 3 + 1), *o = out;

    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')
            || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
            *o++ = (char)ch;
        }
        else {
            *o++ = '%';
            *o++ = hex[ch >> 4];
            *o++ = hex[ch & 15];
        }
    }
    *o = '\0';
    return out;
}

static apr_status_t cl_ready(cs_pos_session_t *s, apr_pool_t *p, const char **perr)
{
    if (!s || !s->conf) {
        FAIL(APR_EINVAL, "Clover is not configured");
    }
    if (!s->conf->access_token || !*s->conf->access_token) {
        FAIL(APR_EACCES, "no Clover API token is configured");
    }
    if (!s->conf->location || !*s->conf->location) {
        FAIL(APR_EINVAL, "no Clover merchant id is configured");
    }
    return APR_SUCCESS;
}

/* .../v3/merchants/{mId}@p rest */
static apr_status_t cl_call(cs_http_resp_t **presp, cs_pos_session_t *s, const char *method,
                            const char *rest, const char *body, apr_pool_t *p,
                            const char **perr)
{
    cs_http_req_t req;
    apr_array_header_t *h = apr_array_make(p, 1, sizeof(const char *));
    const char *base = s->conf->api_base && *s->conf->api_base ? s->conf->api_base
                                                               : CL_DEFAULT_BASE;

    memset(&req, 0, sizeof(req));
    APR_ARRAY_PUSH(h, const char *) = "Accept: application/json";
    req.method = method;
    req.url = apr_pstrcat(p, base, "/v3/merchants/", enc(p, s->conf->location), rest, NULL);
    req.body = body;
    req.content_type = body ? "application/json" : NULL;
    req.headers = h;
    req.bearer = s->conf->access_token;
    req.max_response = CL_MAX_RESPONSE;
    return cs_pos_send(presp, s, &req, p, perr);
}

typedef apr_status_t (*cl_page_fn)(cs_clover_catalog_t *c, const char *body, apr_size_t len,
                                   int *pcount, const char **perr);

/* Every page of a list (see the paging note at the top); each answer is
 * parsed and dropped in a scratch pool. */
static apr_status_t cl_list(cs_clover_catalog_t *c, cs_pos_session_t *s, const char *rest,
                            cl_page_fn fn, apr_pool_t *p, const char **perr)
{
    int offset = 0, prev = -1, n, pages = 0;
    apr_status_t rv;

    for (;;) {
        apr_pool_t *sp;
        cs_http_resp_t *resp = NULL;
        const char *err = NULL;

        if (++pages > CL_MAX_PAGES) {
            FAIL(APR_EINVAL, "the Clover list has more than %d pages", CL_MAX_PAGES);
        }
        if (apr_pool_create(&sp, p) != APR_SUCCESS) {
            FAIL(APR_ENOMEM, "out of memory");
        }
        rv = cl_call(&resp, s, "GET", apr_psprintf(sp, "%s&limit=%d&offset=%d", rest, CL_LIMIT,
                                                   offset), NULL, sp, &err);
        if (rv == APR_SUCCESS) {
            rv = fn(c, resp->body, resp->len, &n, perr);
        }
        else {
            *perr = apr_pstrdup(p, err ? err : "Clover failed");
        }
        apr_pool_destroy(sp);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        if (n == 0 || (prev >= 0 && n < prev)) {
            return APR_SUCCESS;
        }
        offset += n;
        prev = n;
    }
}

static apr_status_t cl_load(cs_clover_catalog_t **pcat, cs_pos_session_t *s, apr_pool_t *p,
                            const char **perr)
{
    cs_clover_catalog_t *c;
    apr_status_t rv;

    *pcat = NULL;
    if ((rv = cl_ready(s, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    c = cs_pos_clover_catalog_make(p);
    if ((rv = cl_list(c, s, "/items?expand=categories,modifierGroups,itemStock",
                      cs_pos_clover_parse_items_page, p, perr)) != APR_SUCCESS
        || (rv = cl_list(c, s, "/modifier_groups?expand=modifiers",
                         cs_pos_clover_parse_groups_page, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    *pcat = c;
    return APR_SUCCESS;
}

static apr_status_t cl_authenticate(cs_pos_session_t *s, apr_pool_t *p, const char **perr)
{
    return cl_ready(s, p, perr);
}

static apr_status_t cl_fetch_menu(cs_menu_t **pout, cs_pos_session_t *s, apr_pool_t *p,
                                  const char **perr)
{
    cs_clover_catalog_t *c;
    apr_status_t rv;

    *pout = NULL;
    if ((rv = cl_load(&c, s, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    return cs_pos_clover_build_menu(pout, c, p, perr);
}

static apr_status_t cl_fetch_availability(apr_array_header_t **pout, cs_pos_session_t *s,
                                          apr_pool_t *p, const char **perr)
{
    cs_clover_catalog_t *c;
    apr_status_t rv;

    *pout = NULL;
    if ((rv = cl_load(&c, s, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    *pout = cs_pos_clover_build_stock(c, p);
    return APR_SUCCESS;
}

static apr_status_t cl_set_sold_out(cs_pos_session_t *s, const char *item_id, int sold_out,
                                    apr_pool_t *p, const char **perr)
{
    cs_http_resp_t *resp;
    apr_status_t rv;

    if ((rv = cl_ready(s, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (!item_id || !*item_id) {
        FAIL(APR_EINVAL, "no Clover item id");
    }
    return cl_call(&resp, s, "POST", apr_pstrcat(p, "/items/", enc(p, item_id), NULL),
                   sold_out ? "{\"available\":false}" : "{\"available\":true}", p, perr);
}

static apr_status_t cl_submit(cs_pos_order_result_t **pout, cs_pos_session_t *s,
                              const cs_pos_order_t *o, apr_pool_t *p, const char **perr)
{
    cs_http_resp_t *resp;
    const char *body;
    apr_status_t rv;

    *pout = NULL;
    if ((rv = cl_ready(s, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (!o || (rv = cs_pos_clover_order_request(&body, o, p, perr)) != APR_SUCCESS) {
        if (!o) {
            FAIL(APR_EINVAL, "no order");
        }
        return rv;
    }
    /* Clover makes a new order for every create: a retry must find the
     * one an earlier attempt made (the answer may have been lost). */
    if ((rv = cl_call(&resp, s, "GET",
                      apr_pstrcat(p, "/orders?filter=",
                                  enc(p, apr_pstrcat(p, "externalReferenceId=",
                                                     o->external_id, NULL)), NULL),
                      NULL, p, perr)) != APR_SUCCESS
        || (rv = cs_pos_clover_parse_order_list(pout, resp->body, resp->len, p, perr))
           != APR_SUCCESS) {
        return rv;
    }
    if (*pout) {
        return APR_SUCCESS;
    }
    if ((rv = cl_call(&resp, s, "POST", "/atomic_order/orders", body, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    return cs_pos_clover_parse_order(pout, resp->body, resp->len, p, perr);
}

static apr_status_t cl_order_status(cs_pos_order_result_t **pout, cs_pos_session_t *s,
                                    const char *pos_order_id, apr_pool_t *p,
                                    const char **perr)
{
    cs_http_resp_t *resp;
    apr_status_t rv;

    *pout = NULL;
    if ((rv = cl_ready(s, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (!pos_order_id || !*pos_order_id) {
        FAIL(APR_EINVAL, "no Clover order id");
    }
    if ((rv = cl_call(&resp, s, "GET", apr_pstrcat(p, "/orders/", enc(p, pos_order_id), NULL),
                      NULL, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    return cs_pos_clover_parse_order(pout, resp->body, resp->len, p, perr);
}

static apr_size_t body_len(const cs_pos_webhook_t *w)
{
    return w->body ? w->body_len : 0;
}

static apr_status_t cl_verify(const cs_pos_conf_t *conf, const cs_pos_webhook_t *w,
                              apr_pool_t *p, const char **perr)
{
    const char *got = w->headers ? apr_table_get(w->headers, CS_CLOVER_AUTH_HEADER) : NULL;

    if (cs_pos_clover_verification_code(w->body, body_len(w), p)) {
        return APR_SUCCESS;     /* unsigned by nature: see the note at the top */
    }
    if (!conf || !conf->webhook_secret || !*conf->webhook_secret) {
        FAIL(APR_EACCES, "no Clover webhook auth code is configured");
    }
    if (!got || !*got) {
        FAIL(APR_EACCES, "the delivery carries no X-Clover-Auth");
    }
    if (!cs_ct_streq(got, conf->webhook_secret)) {
        FAIL(APR_EACCES, "the X-Clover-Auth code does not match");
    }
    return APR_SUCCESS;
}

static apr_status_t cl_parse(cs_pos_event_t **pout, const cs_pos_webhook_t *w, apr_pool_t *p,
                             const char **perr)
{
    return cs_pos_clover_parse_event(pout, w->body, body_len(w), p, perr);
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
