/* The Toast adapter's menu (cs_pos_parse.h): a menus v2 answer as a
 * validated menu, and the stock API's sold-out states applied to it.
 * Prices are decimals in currency units: they become cents here from the
 * JSON number's own text, never through a double. */
#include "providers/pos/cs_pos_util.h"

#include <apr_hash.h>
#include <apr_strings.h>
#include <string.h>

/* Menu groups nested deeper than this are a broken (or hostile) answer. */
#define MAX_GROUP_DEPTH   16
#define MAX_CHOICES       100

/* Member "name" of @p o when it is a non-empty string, else @p dflt. */
static const char *name_of(json_object *o, const char *dflt)
{
    const char *name = cs_pos_nonempty(cs_jstr(o, "name"));

    return name ? name : dflt;
}

/* Toast's visibility arrays: an entity we may sell has ORDERING_PARTNERS
 * ("visible on online ordering sites that integrate ... using the orders
 * API"). An absent or null array states no restriction. */
static int partner_visible(json_object *o)
{
    json_object *vis = cs_jarr(o, "visibility");

    return !vis || cs_pos_jarr_has(vis, "ORDERING_PARTNERS");
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
    if (!g || !(guid = cs_pos_nonempty(cs_jstr(g, "guid")))) {
        CS_POS_FAIL(APR_EINVAL, "modifier group reference %s is missing from the menu", key);
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
    grp->name = name_of(g, "Options");
    grp->modifiers = apr_array_make(p, 4, sizeof(cs_menu_modifier_t));
    mods = apr_hash_make(p);
    opts = cs_jarr(g, "modifierOptionReferences");
    for (i = 0; i < cs_jlen(opts); i++) {
        json_object *ov = cs_jat(opts, i), *o, *price;
        cs_menu_modifier_t *md;
        const char *oguid;

        if (!json_object_is_type(ov, json_type_int)) {
            CS_POS_FAIL(APR_EINVAL,
                        "modifier group %s lists an option that is not a reference", guid);
        }
        oref = json_object_get_int64(ov);
        o = cs_jobj(c->option_refs, apr_psprintf(p, "%" APR_INT64_T_FMT, oref));
        if (!o || !(oguid = cs_pos_nonempty(cs_jstr(o, "guid")))) {
            CS_POS_FAIL(APR_EINVAL, "modifier option reference %" APR_INT64_T_FMT
                        " is missing from the menu", oref);
        }
        price = cs_pos_member(o, "price");
        /* Options we may not sell, or that only group pricing rules can
         * price (price null), are not offered. */
        if (!partner_visible(o) || !price || apr_hash_get(mods, oguid, APR_HASH_KEY_STRING)) {
            continue;
        }
        apr_hash_set(mods, oguid, APR_HASH_KEY_STRING, oguid);
        md = apr_array_push(grp->modifiers);
        memset(md, 0, sizeof(*md));
        md->pos_id = oguid;
        md->name = name_of(o, "Missing name");
        if (cs_pos_toast_price_cents(&md->price_cents, price) != APR_SUCCESS) {
            CS_POS_FAIL(APR_EINVAL, "modifier option %s has a price we cannot read", oguid);
        }
    }
    /* Toast: minSelections (0: optional), maxSelections (null: no limit),
     * requiredMode REQUIRED forces a choice, isMultiSelect false means one. */
    if (cs_jint(g, "minSelections", &n)) {
        min = n < 0 ? 0 : n > MAX_CHOICES ? MAX_CHOICES : n;
    }
    if (cs_pos_streq(cs_jstr(g, "requiredMode"), "REQUIRED") && min < 1) {
        min = 1;
    }
    maxv = cs_pos_member(g, "maxSelections");
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
    const char *guid = cs_pos_nonempty(cs_jstr(o, "guid"));
    json_object *price = cs_pos_member(o, "price");
    json_object *refs = cs_jarr(o, "modifierGroupReferences");
    cs_menu_item_t *it;
    apr_size_t i;
    apr_status_t rv;

    if (!guid) {
        CS_POS_FAIL(APR_EINVAL, "a menu item in group %s has no guid", cat_id);
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
    it->name = name_of(o, "Missing name");
    it->description = cs_pos_nonempty(cs_jstr(o, "description"));
    it->image_url = cs_pos_nonempty(cs_jstr(o, "image"));
    it->sort = (*psort)++;
    it->visible = visible && partner_visible(o);
    it->prep_points = 1;
    if (cs_pos_toast_price_cents(&it->price_cents, price) != APR_SUCCESS) {
        CS_POS_FAIL(APR_EINVAL, "menu item %s has a price we cannot read", guid);
    }
    it->group_ids = apr_array_make(p, 2, sizeof(const char *));
    for (i = 0; i < cs_jlen(refs); i++) {
        json_object *r = cs_jat(refs, i);
        const char *gid;

        if (!json_object_is_type(r, json_type_int)) {
            CS_POS_FAIL(APR_EINVAL,
                        "menu item %s lists a modifier group that is not a reference", guid);
        }
        if ((rv = build_group(&gid, c, json_object_get_int64(r))) != APR_SUCCESS) {
            return rv;
        }
        cs_pos_push_unique(it->group_ids, gid);
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
    const char *guid = cs_pos_nonempty(cs_jstr(g, "guid"));
    const char *name = name_of(g, "Menu");
    json_object *items = cs_jarr(g, "menuItems"), *kids = cs_jarr(g, "menuGroups");
    apr_size_t i;
    apr_status_t rv;
    int sort = 0;

    if (depth > MAX_GROUP_DEPTH) {
        CS_POS_FAIL(APR_EINVAL, "menu groups are nested more than %d deep", MAX_GROUP_DEPTH);
    }
    if (!guid) {
        CS_POS_FAIL(APR_EINVAL, "a menu group has no guid");
    }
    if (prefix) {
        name = apr_pstrcat(p, prefix, " / ", name, NULL);
    }
    visible = visible && partner_visible(g);
    for (i = 0; i < cs_jlen(items); i++) {
        if ((rv = add_item(c, cs_jat(items, i), guid, name,
                           cs_pos_nonempty(cs_jstr(g, "description")), visible, &sort))
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
    json_object *root, *menus;
    menu_ctx_t c;
    const char *why;
    apr_size_t i, j;
    apr_status_t rv;

    *pout = NULL;
    if (cs_pos_json_root(&root, p, body, len, json_type_object, &why) != APR_SUCCESS) {
        CS_POS_FAIL(APR_EINVAL, "Toast answered a menu that is not a JSON object");
    }
    if (!(menus = cs_jarr(root, "menus"))) {
        CS_POS_FAIL(APR_EINVAL, "Toast answered a menu without menus");
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
        const char *prefix = cs_jlen(menus) > 1 ? name_of(menu, NULL) : NULL;

        for (j = 0; j < cs_jlen(groups); j++) {
            if ((rv = walk_group(&c, cs_jat(groups, j), prefix, partner_visible(menu), 1))
                != APR_SUCCESS) {
                return rv;
            }
        }
    }
    return cs_pos_menu_done(pout, c.m, "Toast", p, perr);
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
