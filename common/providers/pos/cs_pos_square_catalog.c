/* The Square adapter, reading catalog objects (those of ListCatalog and
 * BatchRetrieveCatalogObjects pages) into a cs_square_catalog_t. ITEMs
 * come with their ITEM_VARIATIONs nested, MODIFIER_LISTs with their
 * MODIFIERs; a top-level variation or modifier whose parent has not come
 * yet waits for it. Every field is type-checked (cs_pos_get_*): a member
 * of the wrong type refuses the page, a missing one takes Square's
 * default. Money is held to one currency for the whole catalog. */
#include "providers/pos/cs_pos_square_catalog.h"

#include <apr_strings.h>
#include <string.h>

#define SQ_MAX_OBJECTS    100000

cs_square_catalog_t *cs_pos_square_catalog_make(apr_pool_t *p, const char *location,
                                                apr_time_t now)
{
    cs_square_catalog_t *c = apr_pcalloc(p, sizeof(*c));

    c->pool = p;
    c->location = location ? apr_pstrdup(p, location) : "";
    c->now = now;
    c->cats = apr_array_make(p, 8, sizeof(cs_menu_category_t));
    c->cat_ids = apr_hash_make(p);
    c->items = apr_array_make(p, 64, sizeof(sq_item_t *));
    c->item_by_id = apr_hash_make(p);
    c->var_by_id = apr_hash_make(p);
    c->pending_vars = apr_hash_make(p);
    c->lists = apr_array_make(p, 16, sizeof(sq_list_t *));
    c->list_by_id = apr_hash_make(p);
    c->pending_mods = apr_hash_make(p);
    c->images = apr_hash_make(p);
    return c;
}

/* Square's presence rule: present_at_all_locations (default true) minus
 * absent_at_location_ids, or else only present_at_location_ids. */
static int present_here(const cs_square_catalog_t *c, json_object *o)
{
    int all = 1;

    cs_pos_get_bool(o, "present_at_all_locations", &all);
    if (all) {
        return !cs_pos_jarr_has(cs_jarr(o, "absent_at_location_ids"), c->location);
    }
    return cs_pos_jarr_has(cs_jarr(o, "present_at_location_ids"), c->location);
}

/* Money {"amount": cents, "currency": "USD"} into cents, the currency
 * remembered and held to one for the whole catalog. */
static apr_status_t money(cs_square_catalog_t *c, json_object *m, apr_int64_t *pout,
                          const char *id, const char **perr)
{
    apr_pool_t *p = c->pool;
    apr_int64_t amount;
    const char *cur;

    if (!json_object_is_type(m, json_type_object)) {
        CS_POS_FAIL(APR_EINVAL, "Square object %s has a price that is not money", id);
    }
    if (cs_pos_get_int(m, "amount", &amount) != 1 || amount < 0 || amount > CS_POS_MAX_CENTS) {
        CS_POS_FAIL(APR_EINVAL, "Square object %s has no usable price amount", id);
    }
    if (cs_pos_get_str(m, "currency", &cur) < 0 || (cur && strlen(cur) != 3)) {
        CS_POS_FAIL(APR_EINVAL, "Square object %s has an unknown currency", id);
    }
    if (cur && !c->currency) {
        c->currency = apr_pstrdup(p, cur);
    }
    else if (cur && strcmp(cur, c->currency)) {
        CS_POS_FAIL(APR_EINVAL, "Square object %s is priced in %s, the menu in %s", id, cur,
                    c->currency);
    }
    *pout = amount;
    return APR_SUCCESS;
}

/* The location_overrides entry for our location, or NULL. */
static json_object *override_here(const cs_square_catalog_t *c, json_object *data,
                                  const char *id, apr_status_t *prv, const char **perr)
{
    apr_pool_t *p = c->pool;
    json_object *arr;
    apr_size_t i;

    *prv = APR_SUCCESS;
    if (cs_pos_get(data, "location_overrides", json_type_array, &arr) < 0) {
        *perr = apr_psprintf(p, "Square object %s has broken location overrides", id);
        *prv = APR_EINVAL;
        return NULL;
    }
    for (i = 0; i < cs_jlen(arr); i++) {
        json_object *ov = cs_jat(arr, i);
        const char *loc;
        if (!json_object_is_type(ov, json_type_object)
            || cs_pos_get_str(ov, "location_id", &loc) < 0) {
            *perr = apr_psprintf(p, "Square object %s has a broken location override", id);
            *prv = APR_EINVAL;
            return NULL;
        }
        if (loc && !strcmp(loc, c->location)) {
            return ov;
        }
    }
    return NULL;
}

/* sold_out / sold_out_valid_until of an override: a sold-out state whose
 * end has passed is over. */
static apr_status_t sold_out_state(const cs_square_catalog_t *c, json_object *ov,
                                   const char *id, int *psold, apr_time_t *puntil,
                                   const char **perr)
{
    apr_pool_t *p = c->pool;
    const char *until = NULL;
    apr_time_t t = 0;
    int sold = 0;

    *psold = 0;
    *puntil = 0;
    if (!ov) {
        return APR_SUCCESS;
    }
    if (cs_pos_get_bool(ov, "sold_out", &sold) < 0
        || cs_pos_get_str(ov, "sold_out_valid_until", &until) < 0) {
        CS_POS_FAIL(APR_EINVAL, "Square object %s has a broken sold-out state", id);
    }
    if (sold && until && cs_time_parse_iso8601(&t, until) == APR_SUCCESS) {
        if (t <= c->now) {
            return APR_SUCCESS;
        }
        *puntil = t;
    }
    *psold = sold;
    return APR_SUCCESS;
}

/* A slot (of @p size bytes) among the objects waiting for their parent
 * @p parent_id to come in a later page: variations for an item, modifiers
 * for a list. */
static void *wait_for(cs_square_catalog_t *c, apr_hash_t *waiting, const char *parent_id,
                      apr_size_t size)
{
    apr_array_header_t *a = apr_hash_get(waiting, parent_id, APR_HASH_KEY_STRING);

    if (!a) {
        a = apr_array_make(c->pool, 2, (int)size);
        apr_hash_set(waiting, apr_pstrdup(c->pool, parent_id), APR_HASH_KEY_STRING, a);
    }
    return apr_array_push(a);
}

static void attach_var(sq_item_t *it, sq_var_t *v)
{
    int i;

    for (i = 0; i < it->vars->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(it->vars, i, sq_var_t *)->id, v->id)) {
            return;
        }
    }
    APR_ARRAY_PUSH(it->vars, sq_var_t *) = v;
}

static apr_status_t add_variation(cs_square_catalog_t *c, json_object *o, sq_item_t *owner,
                                  const char **perr)
{
    apr_pool_t *p = c->pool;
    json_object *d, *pm = NULL, *ov;
    const char *id, *name, *ptype = NULL, *item_id;
    sq_var_t *v;
    int sellable = 1, deleted = 0, track = 0;
    apr_status_t rv;

    if ((rv = cs_pos_object_id(&id, o, "Square", "an item variation", p, perr))
        != APR_SUCCESS) {
        return rv;
    }
    cs_pos_get_bool(o, "is_deleted", &deleted);
    if (cs_pos_get(o, "item_variation_data", json_type_object, &d) != 1) {
        CS_POS_FAIL(APR_EINVAL, "Square variation %s has no item_variation_data", id);
    }
    if (cs_pos_get_str(d, "name", &name) < 0 || cs_pos_get_str(d, "pricing_type", &ptype) < 0
        || cs_pos_get_str(d, "item_id", &item_id) < 0
        || cs_pos_get_bool(d, "sellable", &sellable) < 0
        || cs_pos_get_bool(d, "track_inventory", &track) < 0
        || cs_pos_get(d, "price_money", json_type_object, &pm) < 0) {
        CS_POS_FAIL(APR_EINVAL, "Square variation %s has a field of the wrong type", id);
    }
    v = apr_pcalloc(p, sizeof(*v));
    v->id = id;
    v->name = apr_pstrdup(p, name && *name ? name : "Regular");
    v->seq = c->seq++;
    if (cs_pos_get_int(d, "ordinal", &v->ordinal) < 0) {
        CS_POS_FAIL(APR_EINVAL, "Square variation %s has a broken ordinal", id);
    }
    v->present = !deleted && sellable && present_here(c, o);
    if (pm && (rv = money(c, pm, &v->price, id, perr)) != APR_SUCCESS) {
        return rv;
    }
    v->priced = pm != NULL && (!ptype || !strcmp(ptype, "FIXED_PRICING"));
    v->tracked = track;
    ov = override_here(c, d, id, &rv, perr);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (ov) {
        json_object *opm;
        const char *optype;
        if (cs_pos_get(ov, "price_money", json_type_object, &opm) < 0
            || cs_pos_get_str(ov, "pricing_type", &optype) < 0
            || cs_pos_get_bool(ov, "track_inventory", &v->tracked) < 0) {
            CS_POS_FAIL(APR_EINVAL, "Square variation %s has a broken location override", id);
        }
        if (opm) {
            if ((rv = money(c, opm, &v->price, id, perr)) != APR_SUCCESS) {
                return rv;
            }
            v->priced = 1;
        }
        if (optype) {
            v->priced = !strcmp(optype, "FIXED_PRICING") && (opm || pm);
        }
    }
    if ((rv = sold_out_state(c, ov, id, &v->sold_out, &v->until, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (apr_hash_get(c->var_by_id, id, APR_HASH_KEY_STRING)) {
        return APR_SUCCESS;     /* seen already (nested and top level) */
    }
    apr_hash_set(c->var_by_id, id, APR_HASH_KEY_STRING, v);
    if (!owner && item_id) {
        owner = apr_hash_get(c->item_by_id, item_id, APR_HASH_KEY_STRING);
        if (!owner) {
            *(sq_var_t **)wait_for(c, c->pending_vars, item_id, sizeof(v)) = v;
            return APR_SUCCESS;
        }
    }
    if (owner) {
        attach_var(owner, v);
    }
    return APR_SUCCESS;
}

static apr_status_t add_item(cs_square_catalog_t *c, json_object *o, const char **perr)
{
    apr_pool_t *p = c->pool;
    json_object *d, *vars, *infos, *cats, *images;
    const char *id, *name, *desc = NULL, *plain = NULL, *vis = NULL, *cat = NULL;
    apr_array_header_t *pend;
    sq_item_t *it;
    int archived = 0, deleted = 0, i;
    apr_size_t k;
    apr_status_t rv;

    if ((rv = cs_pos_object_id(&id, o, "Square", "an item", p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (cs_pos_get(o, "item_data", json_type_object, &d) != 1) {
        CS_POS_FAIL(APR_EINVAL, "Square item %s has no item_data", id);
    }
    if (cs_pos_get_str(d, "name", &name) != 1 || !*name) {
        CS_POS_FAIL(APR_EINVAL, "Square item %s has no name", id);
    }
    if (cs_pos_get_str(d, "description", &desc) < 0
        || cs_pos_get_str(d, "description_plaintext", &plain) < 0
        || cs_pos_get_str(d, "ecom_visibility", &vis) < 0
        || cs_pos_get_bool(d, "is_archived", &archived) < 0
        || cs_pos_get_bool(o, "is_deleted", &deleted) < 0
        || cs_pos_get_str(d, "category_id", &cat) < 0
        || cs_pos_get(d, "variations", json_type_array, &vars) < 0
        || cs_pos_get(d, "modifier_list_info", json_type_array, &infos) < 0
        || cs_pos_get(d, "categories", json_type_array, &cats) < 0
        || cs_pos_get(d, "image_ids", json_type_array, &images) < 0) {
        CS_POS_FAIL(APR_EINVAL, "Square item %s has a field of the wrong type", id);
    }
    if (apr_hash_get(c->item_by_id, id, APR_HASH_KEY_STRING)) {
        return APR_SUCCESS;
    }
    it = apr_pcalloc(p, sizeof(*it));
    it->id = id;
    it->name = apr_pstrdup(p, name);
    it->description = plain || desc ? apr_pstrdup(p, plain ? plain : desc) : NULL;
    it->visible = !vis || (strcmp(vis, "HIDDEN") && strcmp(vis, "UNAVAILABLE"));
    it->usable = !archived && !deleted && present_here(c, o);
    it->seq = c->seq++;
    it->vars = apr_array_make(p, 2, sizeof(sq_var_t *));
    it->infos = apr_array_make(p, 2, sizeof(sq_info_t));
    if (cs_jlen(cats)) {
        json_object *c0 = cs_jat(cats, 0);
        const char *cid;
        apr_int64_t ord;
        int rc = cs_pos_get_int(c0, "ordinal", &ord);
        if (cs_pos_get_str(c0, "id", &cid) != 1 || rc < 0) {
            CS_POS_FAIL(APR_EINVAL, "Square item %s has a broken category", id);
        }
        cat = cid;
        if (rc == 1) {
            it->ordinal = ord;
            it->has_ordinal = 1;
        }
    }
    else if (!cat) {
        json_object *rc = cs_jobj(d, "reporting_category");
        if (cs_pos_get_str(rc, "id", &cat) < 0) {
            CS_POS_FAIL(APR_EINVAL, "Square item %s has a broken reporting category", id);
        }
    }
    it->category_id = cat ? apr_pstrdup(p, cat) : NULL;
    if (cs_jlen(images) && json_object_is_type(cs_jat(images, 0), json_type_string)) {
        it->image_id = apr_pstrdup(p, json_object_get_string(cs_jat(images, 0)));
    }
    for (k = 0; k < cs_jlen(infos); k++) {
        json_object *in = cs_jat(infos, k);
        sq_info_t *info = apr_array_push(it->infos);
        const char *lid;
        info->min = info->max = -1;
        info->enabled = 1;
        if (cs_pos_get_str(in, "modifier_list_id", &lid) != 1 || !*lid
            || cs_pos_get_int(in, "min_selected_modifiers", &info->min) < 0
            || cs_pos_get_int(in, "max_selected_modifiers", &info->max) < 0
            || cs_pos_get_bool(in, "enabled", &info->enabled) < 0
            || info->min > 1000 || info->max > 1000) {
            CS_POS_FAIL(APR_EINVAL, "Square item %s has a broken modifier list", id);
        }
        info->list_id = apr_pstrdup(p, lid);
    }
    apr_hash_set(c->item_by_id, id, APR_HASH_KEY_STRING, it);
    APR_ARRAY_PUSH(c->items, sq_item_t *) = it;
    for (k = 0; k < cs_jlen(vars); k++) {
        if ((rv = add_variation(c, cs_jat(vars, k), it, perr)) != APR_SUCCESS) {
            return rv;
        }
    }
    if ((pend = apr_hash_get(c->pending_vars, id, APR_HASH_KEY_STRING))) {
        for (i = 0; i < pend->nelts; i++) {
            attach_var(it, APR_ARRAY_IDX(pend, i, sq_var_t *));
        }
        apr_hash_set(c->pending_vars, id, APR_HASH_KEY_STRING, NULL);
    }
    return APR_SUCCESS;
}

/* A modifier into its list, once. */
static void list_add(sq_list_t *l, const cs_menu_modifier_t *md)
{
    if (!apr_hash_get(l->mod_ids, md->pos_id, APR_HASH_KEY_STRING)) {
        apr_hash_set(l->mod_ids, md->pos_id, APR_HASH_KEY_STRING, md->pos_id);
        APR_ARRAY_PUSH(l->mods, cs_menu_modifier_t) = *md;
    }
}

static apr_status_t add_modifier(cs_square_catalog_t *c, json_object *o, sq_list_t *owner,
                                 const char **perr)
{
    apr_pool_t *p = c->pool;
    json_object *d, *pm = NULL, *ov;
    const char *id, *name, *lid = NULL;
    cs_menu_modifier_t md;
    int deleted = 0;
    apr_status_t rv;

    memset(&md, 0, sizeof(md));
    if ((rv = cs_pos_object_id(&id, o, "Square", "a modifier", p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (cs_pos_get(o, "modifier_data", json_type_object, &d) != 1) {
        CS_POS_FAIL(APR_EINVAL, "Square modifier %s has no modifier_data", id);
    }
    if (cs_pos_get_str(d, "name", &name) != 1 || !*name
        || cs_pos_get_str(d, "modifier_list_id", &lid) < 0
        || cs_pos_get(d, "price_money", json_type_object, &pm) < 0
        || cs_pos_get_bool(o, "is_deleted", &deleted) < 0) {
        CS_POS_FAIL(APR_EINVAL, "Square modifier %s has no name or a field of the wrong type",
                    id);
    }
    md.pos_id = id;
    md.name = apr_pstrdup(p, name);
    if (pm && (rv = money(c, pm, &md.price_cents, id, perr)) != APR_SUCCESS) {
        return rv;
    }
    ov = override_here(c, d, id, &rv, perr);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (ov) {
        json_object *opm;
        apr_time_t until;
        if (cs_pos_get(ov, "price_money", json_type_object, &opm) < 0) {
            CS_POS_FAIL(APR_EINVAL, "Square modifier %s has a broken location override", id);
        }
        if (opm && (rv = money(c, opm, &md.price_cents, id, perr)) != APR_SUCCESS) {
            return rv;
        }
        if ((rv = sold_out_state(c, ov, id, &md.sold_out, &until, perr)) != APR_SUCCESS) {
            return rv;
        }
    }
    if (deleted || !present_here(c, o)) {
        return APR_SUCCESS;
    }
    if (!owner && lid) {
        owner = apr_hash_get(c->list_by_id, lid, APR_HASH_KEY_STRING);
        if (!owner) {
            *(cs_menu_modifier_t *)wait_for(c, c->pending_mods, lid, sizeof(md)) = md;
            return APR_SUCCESS;
        }
    }
    if (owner) {
        list_add(owner, &md);
    }
    return APR_SUCCESS;
}

static apr_status_t add_list(cs_square_catalog_t *c, json_object *o, const char **perr)
{
    apr_pool_t *p = c->pool;
    json_object *d, *mods;
    const char *id, *name, *sel = NULL, *mtype = NULL;
    apr_int64_t min = -1, max = -1;
    apr_array_header_t *pend;
    sq_list_t *l;
    int deleted = 0, i;
    apr_size_t k;
    apr_status_t rv;

    if ((rv = cs_pos_object_id(&id, o, "Square", "a modifier list", p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (cs_pos_get(o, "modifier_list_data", json_type_object, &d) != 1) {
        CS_POS_FAIL(APR_EINVAL, "Square modifier list %s has no modifier_list_data", id);
    }
    if (cs_pos_get_str(d, "name", &name) != 1 || !*name
        || cs_pos_get_str(d, "selection_type", &sel) < 0
        || cs_pos_get_str(d, "modifier_type", &mtype) < 0
        || cs_pos_get_int(d, "min_selected_modifiers", &min) < 0
        || cs_pos_get_int(d, "max_selected_modifiers", &max) < 0 || min > 1000 || max > 1000
        || cs_pos_get(d, "modifiers", json_type_array, &mods) < 0
        || cs_pos_get_bool(o, "is_deleted", &deleted) < 0) {
        CS_POS_FAIL(APR_EINVAL,
                    "Square modifier list %s has no name or a field of the wrong type", id);
    }
    if (deleted || (mtype && !strcmp(mtype, "TEXT"))
        || apr_hash_get(c->list_by_id, id, APR_HASH_KEY_STRING)) {
        return APR_SUCCESS;     /* free text is not a choice */
    }
    l = apr_pcalloc(p, sizeof(*l));
    l->id = id;
    l->name = apr_pstrdup(p, name);
    l->min = min > 0 ? (int)min : 0;
    l->max = max > 0 ? (int)max : (sel && !strcmp(sel, "SINGLE")) ? 1 : 0;
    l->mods = apr_array_make(p, 4, sizeof(cs_menu_modifier_t));
    l->mod_ids = apr_hash_make(p);
    apr_hash_set(c->list_by_id, id, APR_HASH_KEY_STRING, l);
    APR_ARRAY_PUSH(c->lists, sq_list_t *) = l;
    for (k = 0; k < cs_jlen(mods); k++) {
        if ((rv = add_modifier(c, cs_jat(mods, k), l, perr)) != APR_SUCCESS) {
            return rv;
        }
    }
    if ((pend = apr_hash_get(c->pending_mods, id, APR_HASH_KEY_STRING))) {
        for (i = 0; i < pend->nelts; i++) {
            list_add(l, &APR_ARRAY_IDX(pend, i, cs_menu_modifier_t));
        }
        apr_hash_set(c->pending_mods, id, APR_HASH_KEY_STRING, NULL);
    }
    return APR_SUCCESS;
}

static apr_status_t add_category(cs_square_catalog_t *c, json_object *o, const char **perr)
{
    apr_pool_t *p = c->pool;
    json_object *d;
    const char *id, *name;
    cs_menu_category_t *cat;
    int deleted = 0;
    apr_status_t rv;

    if ((rv = cs_pos_object_id(&id, o, "Square", "a category", p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (cs_pos_get(o, "category_data", json_type_object, &d) != 1
        || cs_pos_get_str(d, "name", &name) != 1
        || cs_pos_get_bool(o, "is_deleted", &deleted) < 0) {
        CS_POS_FAIL(APR_EINVAL, "Square category %s has no name", id);
    }
    if (deleted || apr_hash_get(c->cat_ids, id, APR_HASH_KEY_STRING)) {
        return APR_SUCCESS;
    }
    cat = apr_array_push(c->cats);
    memset(cat, 0, sizeof(*cat));
    cat->pos_id = id;
    cat->name = apr_pstrdup(p, *name ? name : "Menu");
    cat->sort = c->cats->nelts - 1;
    apr_hash_set(c->cat_ids, id, APR_HASH_KEY_STRING, id);
    return APR_SUCCESS;
}

static apr_status_t add_image(cs_square_catalog_t *c, json_object *o, const char **perr)
{
    apr_pool_t *p = c->pool;
    const char *id, *url;
    apr_status_t rv;

    if ((rv = cs_pos_object_id(&id, o, "Square", "an image", p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (cs_pos_get_str(cs_jobj(o, "image_data"), "url", &url) < 0) {
        CS_POS_FAIL(APR_EINVAL, "Square image %s has a broken url", id);
    }
    if (url && (!strncmp(url, "https://", 8) || !strncmp(url, "http://", 7))) {
        apr_hash_set(c->images, id, APR_HASH_KEY_STRING, apr_pstrdup(p, url));
    }
    return APR_SUCCESS;
}

apr_status_t cs_pos_square_add_object(cs_square_catalog_t *c, json_object *o,
                                      const char **perr)
{
    apr_pool_t *p = c->pool;
    const char *type;

    if (++c->objects > SQ_MAX_OBJECTS) {
        CS_POS_FAIL(APR_EINVAL, "the Square catalog has over %d objects", SQ_MAX_OBJECTS);
    }
    if (!json_object_is_type(o, json_type_object) || cs_pos_get_str(o, "type", &type) != 1) {
        *perr = "Square sent a catalog object without a type";
        return APR_EINVAL;
    }
    if (!strcmp(type, "ITEM")) {
        return add_item(c, o, perr);
    }
    if (!strcmp(type, "ITEM_VARIATION")) {
        return add_variation(c, o, NULL, perr);
    }
    if (!strcmp(type, "MODIFIER_LIST")) {
        return add_list(c, o, perr);
    }
    if (!strcmp(type, "MODIFIER")) {
        return add_modifier(c, o, NULL, perr);
    }
    if (!strcmp(type, "CATEGORY")) {
        return add_category(c, o, perr);
    }
    if (!strcmp(type, "IMAGE")) {
        return add_image(c, o, perr);
    }
    return APR_SUCCESS;
}
