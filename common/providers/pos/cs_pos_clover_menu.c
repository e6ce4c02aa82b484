/* The Clover adapter, reading the inventory (cs_pos_parse.h): pages of
 * items (with their categories, modifier groups and stock expanded) and of
 * modifier groups (with their modifiers) into a cs_clover_catalog_t, then
 * the menu and the stock it makes. Every field is type-checked
 * (cs_pos_get_*): a member of the wrong type refuses the page. */
#include "providers/pos/cs_pos_util.h"

#include <apr_hash.h>
#include <apr_strings.h>
#include <string.h>

#define CL_MAX_OBJECTS    100000

/* Clover wraps expanded lists as {"elements": [...]}. */
static int get_elements(json_object *o, const char *key, json_object **parr)
{
    json_object *w;
    int rc = cs_pos_get(o, key, json_type_object, &w);

    *parr = NULL;
    if (rc != 1) {
        return rc;
    }
    return cs_pos_get(w, "elements", json_type_array, parr) < 0 ? -1 : 1;
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

/* A money amount in cents within bounds (absent: 0). */
static apr_status_t cents(json_object *o, const char *key, int allow_negative,
                          apr_int64_t *pout, const char *id, apr_pool_t *p, const char **perr)
{
    int rc = cs_pos_get_int(o, key, pout);

    if (rc == 0) {
        *pout = 0;
    }
    if (rc < 0 || *pout > CS_POS_MAX_CENTS
        || *pout < (allow_negative ? -CS_POS_MAX_CENTS : 0)) {
        CS_POS_FAIL(APR_EINVAL, "Clover object %s has no usable %s", id, key);
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
    if ((rv = cs_pos_object_id(&id, o, "Clover", "a modifier", p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (cs_pos_get_str(o, "name", &name) != 1 || !*name
        || cs_pos_get_bool(o, "available", &available) < 0) {
        CS_POS_FAIL(APR_EINVAL, "Clover modifier %s has no name or a field of the wrong type",
                    id);
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

    if ((rv = cs_pos_object_id(&id, o, "Clover", "a modifier group", p, perr))
        != APR_SUCCESS) {
        return rv;
    }
    if (cs_pos_get_str(o, "name", &name) < 0 || cs_pos_get_int(o, "minRequired", &min) < 0
        || cs_pos_get_int(o, "maxAllowed", &max) < 0 || min < 0 || max < 0 || min > 1000
        || max > 1000 || get_elements(o, "modifiers", &mods) < 0) {
        CS_POS_FAIL(APR_EINVAL, "Clover modifier group %s has a field of the wrong type", id);
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

    if ((rv = cs_pos_object_id(&id, o, "Clover", "a category", p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (cs_pos_get_str(o, "name", &name) < 0
        || (rc = cs_pos_get_int(o, "sortOrder", &sort)) < 0) {
        CS_POS_FAIL(APR_EINVAL, "Clover category %s has a field of the wrong type", id);
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

    if ((rv = cs_pos_object_id(&id, o, "Clover", "an item", p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (cs_pos_get_str(o, "name", &name) != 1 || !*name) {
        CS_POS_FAIL(APR_EINVAL, "Clover item %s has no name", id);
    }
    if (cs_pos_get_bool(o, "hidden", &hidden) < 0
        || cs_pos_get_bool(o, "available", &available) < 0
        || cs_pos_get_bool(o, "autoManage", &automanage) < 0
        || cs_pos_get_str(o, "priceType", &ptype) < 0
        || cs_pos_get_int(o, "deletedTime", &deleted) < 0
        || get_elements(o, "categories", &cats) < 0
        || get_elements(o, "modifierGroups", &groups) < 0
        || cs_pos_get(o, "itemStock", json_type_object, &stock) < 0) {
        CS_POS_FAIL(APR_EINVAL, "Clover item %s has a field of the wrong type", id);
    }
    if (stock && json_object_object_get_ex(stock, "quantity", &qty) && qty) {
        if (!json_object_is_type(qty, json_type_double)
            && !json_object_is_type(qty, json_type_int)) {
            CS_POS_FAIL(APR_EINVAL,
                        "Clover item %s has a stock quantity that is not a number", id);
        }
        out_of_stock = json_object_get_double(qty) <= 0.0;
    }
    else if (stock) {
        apr_int64_t count;
        int rc = cs_pos_get_int(stock, "stockCount", &count);
        if (rc < 0) {
            CS_POS_FAIL(APR_EINVAL, "Clover item %s has a stock count that is not a number",
                        id);
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
        if ((rv = add_group(c, cs_jat(groups, k), 0, &g, perr)) != APR_SUCCESS) {
            return rv;
        }
        g->referenced = 1;
        cs_pos_push_unique(it->group_ids, g->id);
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
    json_object *root, *els;
    const char *why;
    apr_size_t i;
    apr_status_t rv = APR_SUCCESS;

    *pcount = 0;
    if (apr_pool_create(&sp, p) != APR_SUCCESS) {
        CS_POS_FAIL(APR_ENOMEM, "out of memory");
    }
    if (cs_pos_json_root(&root, sp, body, len, json_type_object, &why) != APR_SUCCESS
        || cs_pos_get(root, "elements", json_type_array, &els) < 0) {
        *perr = apr_psprintf(p, "Clover sent %s we cannot read (%s)", what,
                             why ? why : "not a list of elements");
        apr_pool_destroy(sp);
        return APR_EINVAL;
    }
    for (i = 0; rv == APR_SUCCESS && i < cs_jlen(els); i++) {
        if (++c->objects > CL_MAX_OBJECTS) {
            *perr = apr_psprintf(p, "the Clover inventory has over %d objects",
                                 CL_MAX_OBJECTS);
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
    apr_array_cat(m->categories, c->cats);
    for (i = 0; i < c->items->nelts; i++) {
        const cs_menu_item_t *it = &APR_ARRAY_IDX(c->items, i, cs_menu_item_t);
        need_other |= !strcmp(it->category_id, CS_POS_NO_CATEGORY);
        APR_ARRAY_PUSH(m->items, cs_menu_item_t) = *it;
    }
    if (need_other) {
        cs_pos_add_other_category(m, 2000000);
    }
    for (i = 0; i < c->groups->nelts; i++) {
        const cl_group_t *g = APR_ARRAY_IDX(c->groups, i, cl_group_t *);
        cs_menu_group_t *mg;
        if (!g->referenced) {
            continue;
        }
        mg = apr_array_push(m->groups);
        memset(mg, 0, sizeof(*mg));
        mg->pos_id = g->id;
        mg->name = g->name;
        /* Clover's maxAllowed 0 (or none) is "no limit"; keep the bounds
         * within what the group offers so the menu stays orderable. */
        mg->min = g->min;
        mg->max = g->max;
        cs_pos_group_bounds(&mg->min, &mg->max, g->mods->nelts);
        mg->modifiers = apr_array_copy(p, g->mods);
    }
    return cs_pos_menu_done(pout, m, "Clover", p, perr);
}

apr_array_header_t *cs_pos_clover_build_stock(const cs_clover_catalog_t *c, apr_pool_t *p)
{
    apr_array_header_t *a = apr_array_make(p, c->items->nelts + 8, sizeof(cs_menu_stock_t));
    int i, j;

    for (i = 0; i < c->items->nelts; i++) {
        const cs_menu_item_t *it = &APR_ARRAY_IDX(c->items, i, cs_menu_item_t);
        cs_pos_push_stock(a, it->pos_id, it->sold_out, 0);
    }
    for (i = 0; i < c->groups->nelts; i++) {
        const cl_group_t *g = APR_ARRAY_IDX(c->groups, i, cl_group_t *);
        for (j = 0; g->referenced && j < g->mods->nelts; j++) {
            const cs_menu_modifier_t *md = &APR_ARRAY_IDX(g->mods, j, cs_menu_modifier_t);
            cs_pos_push_stock(a, md->pos_id, md->sold_out, 0);
        }
    }
    return a;
}
