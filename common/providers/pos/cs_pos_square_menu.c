/* The Square adapter, from answers to the menu (cs_pos_parse.h): catalog
 * and inventory-count pages read into the catalog, then the menu and the
 * stock it makes (the mapping is described at cs_pos_square_build_menu). */
#include "providers/pos/cs_pos_square_catalog.h"

#include <apr_strings.h>
#include <string.h>

/* ---- pages -------------------------------------------------------------------- */

/* Adds one element of a page's list (an object, a count) to @p c. */
typedef apr_status_t (*sq_each_fn)(cs_square_catalog_t *c, json_object *o,
                                   const char **perr);

/* Read one page answer (a JSON object) in a scratch pool: *pcursor its
 * "cursor" (NULL on the last page, and after a failure), then @p each for
 * every element of its array @p key. @p what names the page in messages;
 * @p not_list is the message when @p key is not an array. */
static apr_status_t read_page(cs_square_catalog_t *c, const char *body, apr_size_t len,
                              const char *what, const char *key, const char *not_list,
                              sq_each_fn each, const char **pcursor, const char **perr)
{
    apr_pool_t *p = c->pool, *sp;
    json_object *root, *arr = NULL;
    const char *why, *cur;
    apr_size_t i;
    apr_status_t rv = APR_SUCCESS;

    *pcursor = NULL;
    if (apr_pool_create(&sp, p) != APR_SUCCESS) {
        CS_POS_FAIL(APR_ENOMEM, "out of memory");
    }
    if (cs_pos_json_root(&root, sp, body, len, json_type_object, &why) != APR_SUCCESS) {
        *perr = apr_psprintf(p, "Square sent %s we cannot read (%s)", what,
                             why ? why : "not a JSON object");
        apr_pool_destroy(sp);
        return APR_EINVAL;
    }
    if (cs_pos_get_str(root, "cursor", &cur) < 0 || (cur && strlen(cur) > 4096)) {
        *perr = "Square sent a broken page cursor";
        rv = APR_EINVAL;
    }
    else if (cs_pos_get(root, key, json_type_array, &arr) < 0) {
        *perr = not_list;
        rv = APR_EINVAL;
    }
    else {
        *pcursor = cur && *cur ? apr_pstrdup(p, cur) : NULL;
    }
    for (i = 0; rv == APR_SUCCESS && i < cs_jlen(arr); i++) {
        rv = each(c, cs_jat(arr, i), perr);
    }
    apr_pool_destroy(sp);
    if (rv != APR_SUCCESS) {
        *pcursor = NULL;
    }
    return rv;
}

apr_status_t cs_pos_square_parse_catalog_page(cs_square_catalog_t *c,
                                              const char *body, apr_size_t len,
                                              const char **pcursor,
                                              const char **perr)
{
    return read_page(c, body, len, "a catalog page", "objects",
                     "Square sent a catalog page whose objects are not a list",
                     cs_pos_square_add_object, pcursor, perr);
}

/* ---- inventory counts ------------------------------------------------------ */

apr_array_header_t *cs_pos_square_tracked_variations(const cs_square_catalog_t *c,
                                                     apr_pool_t *p)
{
    apr_array_header_t *ids = apr_array_make(p, 8, sizeof(const char *));
    int i, j;

    for (i = 0; i < c->items->nelts; i++) {
        sq_item_t *it = APR_ARRAY_IDX(c->items, i, sq_item_t *);
        for (j = 0; it->usable && j < it->vars->nelts; j++) {
            sq_var_t *v = APR_ARRAY_IDX(it->vars, j, sq_var_t *);
            if (v->tracked && v->present) {
                APR_ARRAY_PUSH(ids, const char *) = v->id;
            }
        }
    }
    return ids;
}

const char *cs_pos_square_counts_request(apr_pool_t *p, const cs_square_catalog_t *c,
                                         const apr_array_header_t *ids, int from,
                                         int n, const char *cursor)
{
    cs_json_t *req = cs_json_object(p);
    json_object *r = cs_json_raw(req), *a = json_object_new_array(), *locs, *states;
    int i;

    for (i = from; i < from + n && i < ids->nelts; i++) {
        json_object_array_add(a, json_object_new_string(APR_ARRAY_IDX(ids, i, const char *)));
    }
    json_object_object_add(r, "catalog_object_ids", a);
    locs = json_object_new_array();
    json_object_array_add(locs, json_object_new_string(c->location));
    json_object_object_add(r, "location_ids", locs);
    states = json_object_new_array();
    json_object_array_add(states, json_object_new_string("IN_STOCK"));
    json_object_object_add(r, "states", states);
    if (cursor) {
        json_object_object_add(r, "cursor", json_object_new_string(cursor));
    }
    return cs_json_dump(req, p);
}

/* Square's quantity is a decimal string ("3", "0.50000", "-1"): is it
 * zero or less? -1 when it is not a decimal. */
static int quantity_none(const char *q)
{
    int neg = 0, nonzero = 0, digits = 0;

    if (*q == '-') {
        neg = 1;
        q++;
    }
    for (; *q >= '0' && *q <= '9'; q++, digits++) {
        nonzero |= *q != '0';
    }
    if (*q == '.') {
        for (q++; *q >= '0' && *q <= '9'; q++, digits++) {
            nonzero |= *q != '0';
        }
    }
    if (*q || !digits) {
        return -1;
    }
    return neg || !nonzero;
}

/* One InventoryCount: a tracked variation whose IN_STOCK count at the
 * location is 0 or less is sold out. */
static apr_status_t add_count(cs_square_catalog_t *c, json_object *n, const char **perr)
{
    const char *id, *state, *loc, *qty;
    sq_var_t *v;
    int none;

    if (cs_pos_get_str(n, "catalog_object_id", &id) != 1
        || cs_pos_get_str(n, "state", &state) < 0
        || cs_pos_get_str(n, "location_id", &loc) < 0
        || cs_pos_get_str(n, "quantity", &qty) != 1 || (none = quantity_none(qty)) < 0) {
        *perr = "Square sent an inventory count we cannot read";
        return APR_EINVAL;
    }
    if ((state && strcmp(state, "IN_STOCK")) || (loc && strcmp(loc, c->location))) {
        return APR_SUCCESS;
    }
    v = apr_hash_get(c->var_by_id, id, APR_HASH_KEY_STRING);
    if (v && v->tracked && none) {
        v->sold_out = 1;
        v->until = 0;
    }
    return APR_SUCCESS;
}

apr_status_t cs_pos_square_parse_counts_page(cs_square_catalog_t *c,
                                             const char *body, apr_size_t len,
                                             const char **pcursor,
                                             const char **perr)
{
    return read_page(c, body, len, "inventory counts", "counts",
                     "Square sent inventory counts that are not a list", add_count,
                     pcursor, perr);
}

/* ---- the menu ---------------------------------------------------------------- */

int cs_pos_square_sellable(const sq_item_t *it, sq_var_t **out, int cap)
{
    int i, j, n = 0;

    for (i = 0; i < it->vars->nelts && n < cap; i++) {
        sq_var_t *v = APR_ARRAY_IDX(it->vars, i, sq_var_t *);
        if (!v->present || !v->priced) {
            continue;
        }
        for (j = n; j > 0 && (out[j - 1]->ordinal > v->ordinal
                              || (out[j - 1]->ordinal == v->ordinal
                                  && out[j - 1]->seq > v->seq)); j--) {
            out[j] = out[j - 1];
        }
        out[j] = v;
        n++;
    }
    return n;
}

sq_var_t *cs_pos_square_cheapest(sq_var_t **vars, int n)
{
    sq_var_t *best = vars[0];
    int i;

    for (i = 1; i < n; i++) {
        if (vars[i]->price < best->price) {
            best = vars[i];
        }
    }
    return best;
}

static int clamp_int(apr_int64_t v)
{
    return v > 1000000000 ? 1000000000 : v < -1000000000 ? -1000000000 : (int)v;
}

static void push_group(cs_menu_t *m, apr_hash_t *done, const char *id, const char *name,
                       int min, int max, apr_array_header_t *mods, apr_pool_t *p)
{
    cs_menu_group_t *g;

    if (apr_hash_get(done, id, APR_HASH_KEY_STRING)) {
        return;
    }
    apr_hash_set(done, id, APR_HASH_KEY_STRING, id);
    g = apr_array_push(m->groups);
    memset(g, 0, sizeof(*g));
    g->pos_id = id;
    g->name = name;
    g->min = min;
    g->max = max;
    cs_pos_group_bounds(&g->min, &g->max, mods->nelts);
    g->modifiers = apr_array_copy(p, mods);
}

apr_status_t cs_pos_square_build_menu(cs_menu_t **pout, const cs_square_catalog_t *c,
                                      apr_pool_t *p, const char **perr)
{
    cs_menu_t *m = cs_menu_make(p, c->currency ? c->currency : "USD");
    apr_hash_t *done = apr_hash_make(p);
    sq_var_t *vars[SQ_MAX_VARS];
    int i, j, need_other = 0;

    *pout = NULL;
    apr_array_cat(m->categories, c->cats);
    for (i = 0; i < c->items->nelts; i++) {
        sq_item_t *sit = APR_ARRAY_IDX(c->items, i, sq_item_t *);
        cs_menu_item_t *it;
        sq_var_t *base;
        int n, sold = 1;

        if (!sit->usable || !(n = cs_pos_square_sellable(sit, vars, SQ_MAX_VARS))) {
            continue;
        }
        base = cs_pos_square_cheapest(vars, n);
        it = apr_array_push(m->items);
        memset(it, 0, sizeof(*it));
        it->pos_id = sit->id;
        it->name = sit->name;
        it->description = sit->description;
        it->image_url = sit->image_id ? apr_hash_get(c->images, sit->image_id,
                                                     APR_HASH_KEY_STRING) : NULL;
        it->price_cents = base->price;
        it->sort = sit->has_ordinal ? clamp_int(sit->ordinal) : sit->seq;
        it->visible = sit->visible;
        it->prep_points = 1;
        if (sit->category_id
            && apr_hash_get(c->cat_ids, sit->category_id, APR_HASH_KEY_STRING)) {
            it->category_id = sit->category_id;
        }
        else {
            it->category_id = CS_POS_NO_CATEGORY;
            need_other = 1;
        }
        it->group_ids = apr_array_make(p, 2, sizeof(const char *));
        for (j = 0; j < n; j++) {
            sold &= vars[j]->sold_out;
        }
        it->sold_out = sold;
        if (n > 1) {
            const char *gid = apr_pstrcat(p, sit->id, CS_SQUARE_VARIATION_GROUP_SUFFIX, NULL);
            apr_array_header_t *mods = apr_array_make(p, n, sizeof(cs_menu_modifier_t));
            for (j = 0; j < n; j++) {
                cs_menu_modifier_t *md = apr_array_push(mods);
                md->pos_id = vars[j]->id;
                md->name = vars[j]->name;
                md->price_cents = vars[j]->price - base->price;
                md->sold_out = vars[j]->sold_out;
            }
            push_group(m, done, gid, CS_SQUARE_VARIATION_GROUP_NAME, 1, 1, mods, p);
            cs_pos_push_unique(it->group_ids, gid);
        }
        for (j = 0; j < sit->infos->nelts; j++) {
            sq_info_t *info = &APR_ARRAY_IDX(sit->infos, j, sq_info_t);
            sq_list_t *l = apr_hash_get(c->list_by_id, info->list_id, APR_HASH_KEY_STRING);
            int min, max;
            const char *gid;
            if (!info->enabled || !l) {
                continue;       /* switched off, or a list gone from the catalog */
            }
            min = info->min >= 0 ? (int)info->min : l->min;
            max = info->max >= 0 ? (int)info->max : l->max;
            /* Square's per-item bounds differ from the list's: the item gets
             * its own copy of the group, so other items keep theirs. */
            gid = min == l->min && max == l->max ? l->id
                  : apr_pstrcat(p, l->id, ":", sit->id, NULL);
            push_group(m, done, gid, l->name, min, max, l->mods, p);
            cs_pos_push_unique(it->group_ids, gid);
        }
    }
    if (need_other) {
        cs_pos_add_other_category(m, m->categories->nelts);
    }
    return cs_pos_menu_done(pout, m, "Square", p, perr);
}

apr_array_header_t *cs_pos_square_build_stock(const cs_square_catalog_t *c, apr_pool_t *p)
{
    apr_array_header_t *a = apr_array_make(p, c->items->nelts + 8, sizeof(cs_menu_stock_t));
    sq_var_t *vars[SQ_MAX_VARS];
    int i, j, n;

    for (i = 0; i < c->items->nelts; i++) {
        sq_item_t *it = APR_ARRAY_IDX(c->items, i, sq_item_t *);
        apr_time_t back = 0;
        int sold = 1;

        if (!it->usable || !(n = cs_pos_square_sellable(it, vars, SQ_MAX_VARS))) {
            continue;
        }
        /* The item returns with its first variation to return. */
        for (j = 0; j < n; j++) {
            sold &= vars[j]->sold_out;
            if (vars[j]->until && (!back || vars[j]->until < back)) {
                back = vars[j]->until;
            }
            if (n > 1) {
                cs_pos_push_stock(a, vars[j]->id, vars[j]->sold_out, vars[j]->until);
            }
        }
        cs_pos_push_stock(a, it->id, sold, back);
    }
    for (i = 0; i < c->lists->nelts; i++) {
        sq_list_t *l = APR_ARRAY_IDX(c->lists, i, sq_list_t *);
        for (j = 0; j < l->mods->nelts; j++) {
            cs_menu_modifier_t *md = &APR_ARRAY_IDX(l->mods, j, cs_menu_modifier_t);
            cs_pos_push_stock(a, md->pos_id, md->sold_out, 0);
        }
    }
    return a;
}
