/* The Square adapter (cs_pos.h): the Catalog, Inventory and Orders APIs
 * under a static access token (Authorization: Bearer, Square-Version),
 * webhooks signed with base64 HMAC-SHA256 of the notification URL and the
 * raw body. The pure parsers and builders are declared in cs_pos_parse.h;
 * the adapter table at the bottom glues them to HTTP.
 *
 * Choices (see cs_pos_parse.h for the menu mapping):
 * - The catalog is read with ListCatalog (types ITEM, CATEGORY,
 *   MODIFIER_LIST, IMAGE; variations and modifiers come nested), every
 *   page by cursor. Square sets a variation's location_overrides[].sold_out
 *   itself when a tracked count reaches zero; we also read the IN_STOCK
 *   counts of tracked variations (BatchRetrieveInventoryCounts) so a zero
 *   count is sold out even before that flag appears.
 * - set_sold_out is APR_ENOTIMPL: sold_out is read-only for applications
 *   ("attempts by an application to set this attribute are ignored"), and
 *   zeroing an inventory count would falsify the seller's stock.
 * - Orders: CreateOrder with idempotency_key = reference_id = our order id,
 *   so a retried submission returns the order Square already made. Square
 *   prices the lines from its catalog; our totals ride along only as the
 *   payment reference in metadata.
 * - inventory.count.updated names variations, not our items: the event is
 *   STOCK with NULL stock, and the caller polls fetch_availability.
 */
#include "providers/pos/cs_pos_parse.h"
#include "base/cs_crypto.h"
#include "base/cs_json.h"

#include <apr_hash.h>
#include <apr_strings.h>
#include <stdio.h>
#include <string.h>

#define SQ_DEFAULT_BASE   "https://connect.squareup.com"
#define SQ_LIST_TYPES     "ITEM,CATEGORY,MODIFIER_LIST,IMAGE"
#define SQ_MAX_PAGES      500
#define SQ_MAX_OBJECTS    100000
#define SQ_COUNTS_CHUNK   100
#define SQ_MAX_QUANTITY   999
#define SQ_MAX_ID         200
#define SQ_MAX_RESPONSE   ((apr_size_t)8 * 1024 * 1024)

#define FAIL(rvv, ...) do { *perr = apr_psprintf(p, __VA_ARGS__); return (rvv); } while (0)

/* ---- strict member access ------------------------------------------------
 * 0: absent or null, 1: present with the type, -1: present with another
 * type (a broken answer). */

static json_object *member(json_object *o, const char *key)
{
    json_object *v = NULL;

    if (!json_object_is_type(o, json_type_object)
        || !json_object_object_get_ex(o, key, &v)) {
        return NULL;
    }
    return v;
}

static int get_typed(json_object *o, const char *key, json_type t, json_object **pv)
{
    json_object *v = member(o, key);

    *pv = NULL;
    if (!v) {
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

static int clamp_int(apr_int64_t v)
{
    return v > 1000000000 ? 1000000000 : v < -1000000000 ? -1000000000 : (int)v;
}

/* ---- the catalog being read ----------------------------------------------- */

typedef struct {
    const char *id, *name;
    apr_int64_t price;
    int priced;            /* a fixed price at the location */
    int present;           /* sold at the location */
    int sold_out;
    apr_time_t until;
    int tracked;
    apr_int64_t ordinal;
    int seq;
} sq_var_t;

typedef struct {
    const char *list_id;
    apr_int64_t min, max;  /* -1: the list's own */
    int enabled;
} sq_info_t;

typedef struct {
    const char *id, *name, *description, *category_id, *image_id;
    int visible, usable, has_ordinal, seq;
    apr_int64_t ordinal;
    apr_array_header_t *vars;   /* of sq_var_t * */
    apr_array_header_t *infos;  /* of sq_info_t */
} sq_item_t;

typedef struct {
    const char *id, *name;
    int min, max;
    apr_array_header_t *mods;   /* of cs_menu_modifier_t */
    apr_hash_t *mod_ids;
} sq_list_t;

struct cs_square_catalog_t {
    apr_pool_t *pool;
    const char *location;
    apr_time_t now;
    const char *currency;
    int objects, seq;
    apr_array_header_t *cats;   /* of cs_menu_category_t */
    apr_hash_t *cat_ids;
    apr_array_header_t *items;  /* of sq_item_t * */
    apr_hash_t *item_by_id, *var_by_id, *pending_vars;  /* item id -> array */
    apr_array_header_t *lists;  /* of sq_list_t * */
    apr_hash_t *list_by_id, *pending_mods;              /* list id -> array */
    apr_hash_t *images;         /* image id -> url */
};

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

/* "2024-05-01T12:00:00.123Z" / "...+02:00" to apr time; 0 when not one. */
static int parse_rfc3339(const char *s, apr_time_t *pout)
{
    apr_time_exp_t t;
    int y, mo, d, h, mi, sec, n = 0, off = 0;
    apr_time_t v;

    memset(&t, 0, sizeof(t));
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6
        || y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23
        || mi > 59 || sec > 60 || h < 0 || mi < 0 || sec < 0) {
        return 0;
    }
    s += n;
    if (*s == '.') {
        for (s++; *s >= '0' && *s <= '9'; s++) {
        }
    }
    if (*s == '+' || *s == '-') {
        int oh, om, k = 0;
        if (sscanf(s + 1, "%2d:%2d%n", &oh, &om, &k) != 2 || s[1 + k] || oh > 23 || om > 59
            || oh < 0 || om < 0) {
            return 0;
        }
        off = (oh * 60 + om) * 60 * (*s == '-' ? -1 : 1);
    }
    else if ((*s != 'Z' && *s != 'z') || s[1]) {
        return 0;
    }
    t.tm_year = y - 1900;
    t.tm_mon = mo - 1;
    t.tm_mday = d;
    t.tm_hour = h;
    t.tm_min = mi;
    t.tm_sec = sec > 59 ? 59 : sec;
    if (apr_time_exp_gmt_get(&v, &t) != APR_SUCCESS) {
        return 0;
    }
    *pout = v - apr_time_from_sec(off);
    return 1;
}

static int in_array(json_object *arr, const char *s)
{
    apr_size_t i;

    for (i = 0; i < cs_jlen(arr); i++) {
        json_object *v = cs_jat(arr, i);
        if (json_object_is_type(v, json_type_string) && !strcmp(json_object_get_string(v), s)) {
            return 1;
        }
    }
    return 0;
}

/* Square's presence rule: present_at_all_locations (default true) minus
 * absent_at_location_ids, or else only present_at_location_ids. */
static int present_here(const cs_square_catalog_t *c, json_object *o)
{
    int all = 1;

    get_bool(o, "present_at_all_locations", &all);
    if (all) {
        return !in_array(cs_jarr(o, "absent_at_location_ids"), c->location);
    }
    return in_array(cs_jarr(o, "present_at_location_ids"), c->location);
}

/* An object's id: required, a sane length. */
static apr_status_t object_id(const char **pid, json_object *o, const char *what,
                              apr_pool_t *p, const char **perr)
{
    const char *id;

    if (get_str(o, "id", &id) != 1 || !*id || strlen(id) > SQ_MAX_ID) {
        FAIL(APR_EINVAL, "Square sent %s without a usable id", what);
    }
    *pid = apr_pstrdup(p, id);
    return APR_SUCCESS;
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
        FAIL(APR_EINVAL, "Square object %s has a price that is not money", id);
    }
    if (get_int(m, "amount", &amount) != 1 || amount < 0 || amount > CS_POS_MAX_CENTS) {
        FAIL(APR_EINVAL, "Square object %s has no usable price amount", id);
    }
    if (get_str(m, "currency", &cur) < 0 || (cur && strlen(cur) != 3)) {
        FAIL(APR_EINVAL, "Square object %s has an unknown currency", id);
    }
    if (cur && !c->currency) {
        c->currency = apr_pstrdup(p, cur);
    }
    else if (cur && strcmp(cur, c->currency)) {
        FAIL(APR_EINVAL, "Square object %s is priced in %s, the menu in %s", id, cur,
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
    if (get_typed(data, "location_overrides", json_type_array, &arr) < 0) {
        *perr = apr_psprintf(p, "Square object %s has broken location overrides", id);
        *prv = APR_EINVAL;
        return NULL;
    }
    for (i = 0; i < cs_jlen(arr); i++) {
        json_object *ov = cs_jat(arr, i);
        const char *loc;
        if (!json_object_is_type(ov, json_type_object) || get_str(ov, "location_id", &loc) < 0) {
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
    if (get_bool(ov, "sold_out", &sold) < 0 || get_str(ov, "sold_out_valid_until", &until) < 0) {
        FAIL(APR_EINVAL, "Square object %s has a broken sold-out state", id);
    }
    if (sold && until && parse_rfc3339(until, &t)) {
        if (t <= c->now) {
            return APR_SUCCESS;
        }
        *puntil = t;
    }
    *psold = sold;
    return APR_SUCCESS;
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

    if ((rv = object_id(&id, o, "an item variation", p, perr)) != APR_SUCCESS) {
        return rv;
    }
    get_bool(o, "is_deleted", &deleted);
    if (get_typed(o, "item_variation_data", json_type_object, &d) != 1) {
        FAIL(APR_EINVAL, "Square variation %s has no item_variation_data", id);
    }
    if (get_str(d, "name", &name) < 0 || get_str(d, "pricing_type", &ptype) < 0
        || get_str(d, "item_id", &item_id) < 0 || get_bool(d, "sellable", &sellable) < 0
        || get_bool(d, "track_inventory", &track) < 0
        || get_typed(d, "price_money", json_type_object, &pm) < 0) {
        FAIL(APR_EINVAL, "Square variation %s has a field of the wrong type", id);
    }
    v = apr_pcalloc(p, sizeof(*v));
    v->id = id;
    v->name = apr_pstrdup(p, name && *name ? name : "Regular");
    v->seq = c->seq++;
    if (get_int(d, "ordinal", &v->ordinal) < 0) {
        FAIL(APR_EINVAL, "Square variation %s has a broken ordinal", id);
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
        if (get_typed(ov, "price_money", json_type_object, &opm) < 0
            || get_str(ov, "pricing_type", &optype) < 0
            || get_bool(ov, "track_inventory", &v->tracked) < 0) {
            FAIL(APR_EINVAL, "Square variation %s has a broken location override", id);
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
            apr_array_header_t *pend = apr_hash_get(c->pending_vars, item_id,
                                                    APR_HASH_KEY_STRING);
            if (!pend) {
                pend = apr_array_make(p, 2, sizeof(sq_var_t *));
                apr_hash_set(c->pending_vars, apr_pstrdup(p, item_id), APR_HASH_KEY_STRING,
                             pend);
            }
            APR_ARRAY_PUSH(pend, sq_var_t *) = v;
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

    if ((rv = object_id(&id, o, "an item", p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (get_typed(o, "item_data", json_type_object, &d) != 1) {
        FAIL(APR_EINVAL, "Square item %s has no item_data", id);
    }
    if (get_str(d, "name", &name) != 1 || !*name) {
        FAIL(APR_EINVAL, "Square item %s has no name", id);
    }
    if (get_str(d, "description", &desc) < 0 || get_str(d, "description_plaintext", &plain) < 0
        || get_str(d, "ecom_visibility", &vis) < 0 || get_bool(d, "is_archived", &archived) < 0
        || get_bool(o, "is_deleted", &deleted) < 0 || get_str(d, "category_id", &cat) < 0
        || get_typed(d, "variations", json_type_array, &vars) < 0
        || get_typed(d, "modifier_list_info", json_type_array, &infos) < 0
        || get_typed(d, "categories", json_type_array, &cats) < 0
        || get_typed(d, "image_ids", json_type_array, &images) < 0) {
        FAIL(APR_EINVAL, "Square item %s has a field of the wrong type", id);
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
        int rc = get_int(c0, "ordinal", &ord);
        if (get_str(c0, "id", &cid) != 1 || rc < 0) {
            FAIL(APR_EINVAL, "Square item %s has a broken category", id);
        }
        cat = cid;
        if (rc == 1) {
            it->ordinal = ord;
            it->has_ordinal = 1;
        }
    }
    else if (!cat) {
        json_object *rc = cs_jobj(d, "reporting_category");
        if (get_str(rc, "id", &cat) < 0) {
            FAIL(APR_EINVAL, "Square item %s has a broken reporting category", id);
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
        if (get_str(in, "modifier_list_id", &lid) != 1 || !*lid
            || get_int(in, "min_selected_modifiers", &info->min) < 0
            || get_int(in, "max_selected_modifiers", &info->max) < 0
            || get_bool(in, "enabled", &info->enabled) < 0
            || info->min > 1000 || info->max > 1000) {
            FAIL(APR_EINVAL, "Square item %s has a broken modifier list", id);
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
    if ((rv = object_id(&id, o, "a modifier", p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (get_typed(o, "modifier_data", json_type_object, &d) != 1) {
        FAIL(APR_EINVAL, "Square modifier %s has no modifier_data", id);
    }
    if (get_str(d, "name", &name) != 1 || !*name || get_str(d, "modifier_list_id", &lid) < 0
        || get_typed(d, "price_money", json_type_object, &pm) < 0
        || get_bool(o, "is_deleted", &deleted) < 0) {
        FAIL(APR_EINVAL, "Square modifier %s has no name or a field of the wrong type", id);
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
        if (get_typed(ov, "price_money", json_type_object, &opm) < 0) {
            FAIL(APR_EINVAL, "Square modifier %s has a broken location override", id);
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
            apr_array_header_t *pend = apr_hash_get(c->pending_mods, lid, APR_HASH_KEY_STRING);
            if (!pend) {
                pend = apr_array_make(p, 2, sizeof(cs_menu_modifier_t));
                apr_hash_set(c->pending_mods, apr_pstrdup(p, lid), APR_HASH_KEY_STRING, pend);
            }
            APR_ARRAY_PUSH(pend, cs_menu_modifier_t) = md;
            return APR_SUCCESS;
        }
    }
    if (owner && !apr_hash_get(owner->mod_ids, id, APR_HASH_KEY_STRING)) {
        apr_hash_set(owner->mod_ids, id, APR_HASH_KEY_STRING, id);
        APR_ARRAY_PUSH(owner->mods, cs_menu_modifier_t) = md;
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

    if ((rv = object_id(&id, o, "a modifier list", p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (get_typed(o, "modifier_list_data", json_type_object, &d) != 1) {
        FAIL(APR_EINVAL, "Square modifier list %s has no modifier_list_data", id);
    }
    if (get_str(d, "name", &name) != 1 || !*name || get_str(d, "selection_type", &sel) < 0
        || get_str(d, "modifier_type", &mtype) < 0
        || get_int(d, "min_selected_modifiers", &min) < 0
        || get_int(d, "max_selected_modifiers", &max) < 0 || min > 1000 || max > 1000
        || get_typed(d, "modifiers", json_type_array, &mods) < 0
        || get_bool(o, "is_deleted", &deleted) < 0) {
        FAIL(APR_EINVAL, "Square modifier list %s has no name or a field of the wrong type",
             id);
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
            cs_menu_modifier_t *md = &APR_ARRAY_IDX(pend, i, cs_menu_modifier_t);
            if (!apr_hash_get(l->mod_ids, md->pos_id, APR_HASH_KEY_STRING)) {
                apr_hash_set(l->mod_ids, md->pos_id, APR_HASH_KEY_STRING, md->pos_id);
                APR_ARRAY_PUSH(l->mods, cs_menu_modifier_t) = *md;
            }
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

    if ((rv = object_id(&id, o, "a category", p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (get_typed(o, "category_data", json_type_object, &d) != 1
        || get_str(d, "name", &name) != 1 || get_bool(o, "is_deleted", &deleted) < 0) {
        FAIL(APR_EINVAL, "Square category %s has no name", id);
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

    if ((rv = object_id(&id, o, "an image", p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (get_str(cs_jobj(o, "image_data"), "url", &url) < 0) {
        FAIL(APR_EINVAL, "Square image %s has a broken url", id);
    }
    if (url && (!strncmp(url, "https://", 8) || !strncmp(url, "http://", 7))) {
        apr_hash_set(c->images, id, APR_HASH_KEY_STRING, apr_pstrdup(p, url));
    }
    return APR_SUCCESS;
}

/* Parse @p body in a scratch pool *psp (the values taken are copied into
 * the catalog's pool; the caller destroys *psp on success). */
static apr_status_t with_json(cs_square_catalog_t *c, const char *body, apr_size_t len,
                              const char *what, json_object **proot, apr_pool_t **psp,
                              const char **perr)
{
    apr_pool_t *p = c->pool;
    cs_json_t *doc;
    const char *err = NULL;

    *proot = NULL;
    if (apr_pool_create(psp, p) != APR_SUCCESS) {
        FAIL(APR_ENOMEM, "out of memory");
    }
    if (!body || cs_json_parse(&doc, *psp, body, len, &err) != APR_SUCCESS
        || !json_object_is_type(cs_json_raw(doc), json_type_object)) {
        *perr = apr_psprintf(p, "Square sent %s we cannot read (%s)", what,
                             err ? err : "not a JSON object");
        apr_pool_destroy(*psp);
        return APR_EINVAL;
    }
    *proot = cs_json_raw(doc);
    return APR_SUCCESS;
}

static apr_status_t next_cursor(cs_square_catalog_t *c, json_object *root,
                                const char **pcursor, const char **perr)
{
    apr_pool_t *p = c->pool;
    const char *cur;

    if (get_str(root, "cursor", &cur) < 0 || (cur && strlen(cur) > 4096)) {
        FAIL(APR_EINVAL, "Square sent a broken page cursor");
    }
    *pcursor = cur && *cur ? apr_pstrdup(p, cur) : NULL;
    return APR_SUCCESS;
}

apr_status_t cs_pos_square_parse_catalog_page(cs_square_catalog_t *c,
                                              const char *body, apr_size_t len,
                                              const char **pcursor,
                                              const char **perr)
{
    apr_pool_t *p = c->pool, *sp;
    json_object *root, *objs;
    apr_size_t i;
    apr_status_t rv;

    *pcursor = NULL;
    if ((rv = with_json(c, body, len, "a catalog page", &root, &sp, perr)) != APR_SUCCESS) {
        return rv;
    }
    rv = next_cursor(c, root, pcursor, perr);
    if (rv == APR_SUCCESS && get_typed(root, "objects", json_type_array, &objs) < 0) {
        *perr = "Square sent a catalog page whose objects are not a list";
        rv = APR_EINVAL;
    }
    for (i = 0; rv == APR_SUCCESS && i < cs_jlen(objs); i++) {
        json_object *o = cs_jat(objs, i);
        const char *type;
        if (++c->objects > SQ_MAX_OBJECTS) {
            *perr = apr_psprintf(p, "the Square catalog has over %d objects", SQ_MAX_OBJECTS);
            rv = APR_EINVAL;
        }
        else if (!json_object_is_type(o, json_type_object) || get_str(o, "type", &type) != 1) {
            *perr = "Square sent a catalog object without a type";
            rv = APR_EINVAL;
        }
        else if (!strcmp(type, "ITEM")) {
            rv = add_item(c, o, perr);
        }
        else if (!strcmp(type, "ITEM_VARIATION")) {
            rv = add_variation(c, o, NULL, perr);
        }
        else if (!strcmp(type, "MODIFIER_LIST")) {
            rv = add_list(c, o, perr);
        }
        else if (!strcmp(type, "MODIFIER")) {
            rv = add_modifier(c, o, NULL, perr);
        }
        else if (!strcmp(type, "CATEGORY")) {
            rv = add_category(c, o, perr);
        }
        else if (!strcmp(type, "IMAGE")) {
            rv = add_image(c, o, perr);
        }
    }
    apr_pool_destroy(sp);
    if (rv != APR_SUCCESS) {
        *pcursor = NULL;
    }
    return rv;
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

apr_status_t cs_pos_square_parse_counts_page(cs_square_catalog_t *c,
                                             const char *body, apr_size_t len,
                                             const char **pcursor,
                                             const char **perr)
{
    apr_pool_t *sp;
    json_object *root, *counts;
    apr_size_t i;
    apr_status_t rv;

    *pcursor = NULL;
    if ((rv = with_json(c, body, len, "inventory counts", &root, &sp, perr)) != APR_SUCCESS) {
        return rv;
    }
    rv = next_cursor(c, root, pcursor, perr);
    if (rv == APR_SUCCESS && get_typed(root, "counts", json_type_array, &counts) < 0) {
        *perr = "Square sent inventory counts that are not a list";
        rv = APR_EINVAL;
    }
    for (i = 0; rv == APR_SUCCESS && i < cs_jlen(counts); i++) {
        json_object *n = cs_jat(counts, i);
        const char *id, *state, *loc, *qty;
        sq_var_t *v;
        int none;
        if (get_str(n, "catalog_object_id", &id) != 1 || get_str(n, "state", &state) < 0
            || get_str(n, "location_id", &loc) < 0 || get_str(n, "quantity", &qty) != 1
            || (none = quantity_none(qty)) < 0) {
            *perr = "Square sent an inventory count we cannot read";
            rv = APR_EINVAL;
            break;
        }
        if ((state && strcmp(state, "IN_STOCK")) || (loc && strcmp(loc, c->location))) {
            continue;
        }
        v = apr_hash_get(c->var_by_id, id, APR_HASH_KEY_STRING);
        if (v && v->tracked && none) {
            v->sold_out = 1;
            v->until = 0;
        }
    }
    apr_pool_destroy(sp);
    if (rv != APR_SUCCESS) {
        *pcursor = NULL;
    }
    return rv;
}

/* ---- the menu ---------------------------------------------------------------- */

/* An item's variations that can be ordered here, in Square's order
 * (ordinal, then as listed). */
static int sellable_vars(const sq_item_t *it, sq_var_t **out, int cap)
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

static sq_var_t *cheapest(sq_var_t **vars, int n)
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

/* A group's bounds made consistent with what it offers: at most as many
 * required as there are choices, max 0 ("any") only when none is
 * required. */
static void bounds(int *pmin, int *pmax, int n)
{
    if (*pmin > n) {
        *pmin = n;
    }
    if (*pmax == 0 && *pmin > 0) {
        *pmax = n;
    }
    if (*pmax > 0 && *pmax < *pmin) {
        *pmax = *pmin;
    }
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
    bounds(&g->min, &g->max, mods->nelts);
    g->modifiers = apr_array_copy(p, mods);
}

static void push_gid(apr_array_header_t *gids, const char *gid)
{
    int i;

    for (i = 0; i < gids->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(gids, i, const char *), gid)) {
            return;
        }
    }
    APR_ARRAY_PUSH(gids, const char *) = gid;
}

#define SQ_MAX_VARS 250

apr_status_t cs_pos_square_build_menu(cs_menu_t **pout, const cs_square_catalog_t *c,
                                      apr_pool_t *p, const char **perr)
{
    cs_menu_t *m = cs_menu_make(p, c->currency ? c->currency : "USD");
    apr_hash_t *done = apr_hash_make(p);
    sq_var_t *vars[SQ_MAX_VARS];
    int i, j, need_other = 0;
    apr_status_t rv;

    *pout = NULL;
    for (i = 0; i < c->cats->nelts; i++) {
        APR_ARRAY_PUSH(m->categories, cs_menu_category_t) =
            APR_ARRAY_IDX(c->cats, i, cs_menu_category_t);
    }
    for (i = 0; i < c->items->nelts; i++) {
        sq_item_t *sit = APR_ARRAY_IDX(c->items, i, sq_item_t *);
        cs_menu_item_t *it;
        sq_var_t *base;
        int n, sold = 1;

        if (!sit->usable || !(n = sellable_vars(sit, vars, SQ_MAX_VARS))) {
            continue;
        }
        base = cheapest(vars, n);
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
        if (sit->category_id && apr_hash_get(c->cat_ids, sit->category_id, APR_HASH_KEY_STRING)) {
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
            push_gid(it->group_ids, gid);
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
            push_gid(it->group_ids, gid);
        }
    }
    if (need_other) {
        cs_menu_category_t *cat = apr_array_push(m->categories);
        memset(cat, 0, sizeof(*cat));
        cat->pos_id = CS_POS_NO_CATEGORY;
        cat->name = CS_POS_NO_CATEGORY_NAME;
        cat->sort = m->categories->nelts - 1;
    }
    if ((rv = cs_menu_validate(m, p, perr)) != APR_SUCCESS) {
        *perr = apr_psprintf(p, "the Square menu is not usable: %s", *perr);
        return APR_EINVAL;
    }
    *pout = m;
    return APR_SUCCESS;
}

static void push_stock(apr_array_header_t *a, const char *id, int sold, apr_time_t until)
{
    cs_menu_stock_t *st = apr_array_push(a);

    st->pos_id = id;
    st->sold_out = sold;
    st->until = sold ? until : 0;
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

        if (!it->usable || !(n = sellable_vars(it, vars, SQ_MAX_VARS))) {
            continue;
        }
        /* The item returns with its first variation to return. */
        for (j = 0; j < n; j++) {
            sold &= vars[j]->sold_out;
            if (vars[j]->until && (!back || vars[j]->until < back)) {
                back = vars[j]->until;
            }
            if (n > 1) {
                push_stock(a, vars[j]->id, vars[j]->sold_out, vars[j]->until);
            }
        }
        push_stock(a, it->id, sold, back);
    }
    for (i = 0; i < c->lists->nelts; i++) {
        sq_list_t *l = APR_ARRAY_IDX(c->lists, i, sq_list_t *);
        for (j = 0; j < l->mods->nelts; j++) {
            cs_menu_modifier_t *md = &APR_ARRAY_IDX(l->mods, j, cs_menu_modifier_t);
            push_stock(a, md->pos_id, md->sold_out, 0);
        }
    }
    return a;
}

/* ---- orders -------------------------------------------------------------------- */

static const char *rfc3339(apr_pool_t *p, apr_time_t t)
{
    apr_time_exp_t x;

    apr_time_exp_gmt(&x, t);
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02dZ", x.tm_year + 1900, x.tm_mon + 1,
                        x.tm_mday, x.tm_hour, x.tm_min, x.tm_sec);
}

static void add_str(json_object *o, const char *key, const char *v)
{
    if (v && *v) {
        json_object_object_add(o, key, json_object_new_string(v));
    }
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
        FAIL(APR_EINVAL, "the order needs an id of 1 to 40 characters for Square");
    }
    if (!o->lines || !o->lines->nelts) {
        FAIL(APR_EINVAL, "the order has no lines");
    }
    json_object_object_add(root, "idempotency_key", json_object_new_string(o->external_id));
    order = json_object_new_object();
    json_object_object_add(root, "order", order);
    json_object_object_add(order, "location_id", json_object_new_string(location));
    json_object_object_add(order, "reference_id", json_object_new_string(o->external_id));
    lines = json_object_new_array();
    json_object_object_add(order, "line_items", lines);
    for (i = 0; i < o->lines->nelts; i++) {
        const cs_pos_line_t *l = &APR_ARRAY_IDX(o->lines, i, cs_pos_line_t);
        sq_item_t *it = l->item_id ? apr_hash_get(items->item_by_id, l->item_id,
                                                  APR_HASH_KEY_STRING) : NULL;
        sq_var_t *pick_var = NULL;
        json_object *li, *mods;

        if (!it || !it->usable || !(n = sellable_vars(it, vars, SQ_MAX_VARS))) {
            FAIL(APR_EINVAL, "item %s is no longer for sale at Square",
                 l->item_id ? l->item_id : "(none)");
        }
        if (l->quantity < 1 || l->quantity > SQ_MAX_QUANTITY) {
            FAIL(APR_EINVAL, "line %d has a quantity Square cannot take", i + 1);
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
            json_object_object_add(mo, "catalog_object_id", json_object_new_string(mid));
            json_object_object_add(mo, "quantity", json_object_new_string("1"));
            json_object_array_add(mods, mo);
        }
        if (!pick_var) {
            pick_var = cheapest(vars, n);
        }
        json_object_object_add(li, "catalog_object_id", json_object_new_string(pick_var->id));
        json_object_object_add(li, "quantity",
                               json_object_new_string(apr_itoa(p, l->quantity)));
        if (json_object_array_length(mods)) {
            json_object_object_add(li, "modifiers", mods);
        }
        else {
            json_object_put(mods);
        }
        add_str(li, "note", l->note);
        json_object_array_add(lines, li);
    }
    fuls = json_object_new_array();
    ful = json_object_new_object();
    json_object_array_add(fuls, ful);
    json_object_object_add(order, "fulfillments", fuls);
    json_object_object_add(ful, "type", json_object_new_string("PICKUP"));
    json_object_object_add(ful, "state", json_object_new_string("PROPOSED"));
    pick = json_object_new_object();
    json_object_object_add(ful, "pickup_details", pick);
    rcpt = json_object_new_object();
    json_object_object_add(pick, "recipient", rcpt);
    add_str(rcpt, "display_name", o->customer_name);
    add_str(rcpt, "phone_number", o->customer_phone);
    add_str(rcpt, "email_address", o->customer_email);
    json_object_object_add(pick, "schedule_type",
                           json_object_new_string(o->pickup_at ? "SCHEDULED" : "ASAP"));
    if (o->pickup_at) {
        json_object_object_add(pick, "pickup_at",
                               json_object_new_string(rfc3339(p, o->pickup_at)));
    }
    if (o->payment_ref && *o->payment_ref) {
        json_object *md = json_object_new_object();
        add_str(md, "payment_ref", o->payment_ref);
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
    cs_json_t *doc;
    json_object *order, *fuls;
    const char *id, *state, *ful = NULL, *err = NULL;
    cs_pos_order_result_t *res;

    *pout = NULL;
    if (!body || cs_json_parse(&doc, p, body, len, &err) != APR_SUCCESS) {
        FAIL(APR_EINVAL, "Square sent an order answer we cannot read (%s)", err ? err : "empty");
    }
    order = cs_jobj(cs_json_raw(doc), "order");
    if (!order || get_str(order, "id", &id) != 1 || !*id || strlen(id) > SQ_MAX_ID
        || get_str(order, "state", &state) < 0
        || get_typed(order, "fulfillments", json_type_array, &fuls) < 0
        || (cs_jlen(fuls) && get_str(cs_jat(fuls, 0), "state", &ful) < 0)) {
        FAIL(APR_EINVAL, "Square sent an order without a usable id or state");
    }
    res = apr_pcalloc(p, sizeof(*res));
    res->pos_order_id = apr_pstrdup(p, id);
    res->status = order_state(state, ful);
    *pout = res;
    return APR_SUCCESS;
}

/* ---- webhooks -------------------------------------------------------------------- */

const char *cs_pos_square_signature(apr_pool_t *p, const char *key, const char *url,
                                    const char *body, apr_size_t len)
{
    unsigned char mac[CS_SHA256_LEN];
    apr_size_t ulen = strlen(url);
    char *msg = apr_palloc(p, ulen + len + 1);

    memcpy(msg, url, ulen);
    if (len) {
        memcpy(msg + ulen, body, len);
    }
    if (cs_hmac_sha256(mac, key, strlen(key), msg, ulen + len) != APR_SUCCESS) {
        return NULL;
    }
    return cs_base64_encode(p, mac, sizeof(mac));
}

apr_status_t cs_pos_square_parse_event(cs_pos_event_t **pout, const char *body,
                                       apr_size_t len, apr_pool_t *p,
                                       const char **perr)
{
    cs_json_t *doc;
    json_object *root, *data, *obj;
    const char *id, *type, *err = NULL;
    cs_pos_event_t *ev;

    *pout = NULL;
    if (!body || cs_json_parse(&doc, p, body, len, &err) != APR_SUCCESS
        || !json_object_is_type(cs_json_raw(doc), json_type_object)) {
        FAIL(APR_EINVAL, "the Square event is not a JSON object (%s)", err ? err : "empty");
    }
    root = cs_json_raw(doc);
    if (get_str(root, "event_id", &id) != 1 || !*id || strlen(id) > SQ_MAX_ID
        || get_str(root, "type", &type) != 1 || !*type || strlen(type) > 100) {
        FAIL(APR_EINVAL, "the Square event has no event_id or type");
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
        if (get_str(u, "order_id", &oid) < 0 || get_str(u, "state", &state) < 0) {
            FAIL(APR_EINVAL, "the Square order event is broken");
        }
        if (!oid && get_str(data, "id", &oid) < 0) {
            FAIL(APR_EINVAL, "the Square order event is broken");
        }
        if (!oid || !*oid || strlen(oid) > SQ_MAX_ID) {
            FAIL(APR_EINVAL, "the Square order event names no order");
        }
        fu = cs_jarr(u, "fulfillment_update");
        if (cs_jlen(fu) && get_str(cs_jat(fu, 0), "new_state", &ful) < 0) {
            FAIL(APR_EINVAL, "the Square order event is broken");
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

/* ---- HTTP ---------------------------------------------------------------------- */

/* Percent-encode everything but RFC 3986's unreserved characters. */
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

static apr_status_t sq_ready(cs_pos_session_t *s, apr_pool_t *p, const char **perr)
{
    if (!s || !s->conf) {
        FAIL(APR_EINVAL, "Square is not configured");
    }
    if (!s->conf->access_token || !*s->conf->access_token) {
        FAIL(APR_EACCES, "no Square access token is configured");
    }
    if (!s->conf->location || !*s->conf->location) {
        FAIL(APR_EINVAL, "no Square location is configured");
    }
    return APR_SUCCESS;
}

/* One API call; a refusal's Square error code joins the message (codes
 * such as INVALID_VALUE say what to fix and hold no secret). */
static apr_status_t sq_call(cs_http_resp_t **presp, cs_pos_session_t *s, const char *method,
                            const char *path, const char *body, apr_pool_t *p,
                            const char **perr)
{
    cs_http_req_t req;
    apr_array_header_t *h = apr_array_make(p, 2, sizeof(const char *));
    const char *base = s->conf->api_base && *s->conf->api_base ? s->conf->api_base
                                                               : SQ_DEFAULT_BASE;
    apr_status_t rv;

    memset(&req, 0, sizeof(req));
    APR_ARRAY_PUSH(h, const char *) = "Square-Version: " CS_SQUARE_VERSION;
    APR_ARRAY_PUSH(h, const char *) = "Accept: application/json";
    req.method = method;
    req.url = apr_pstrcat(p, base, path, NULL);
    req.body = body;
    req.content_type = body ? "application/json" : NULL;
    req.headers = h;
    req.bearer = s->conf->access_token;
    req.max_response = SQ_MAX_RESPONSE;
    rv = cs_pos_send(presp, s, &req, p, perr);
    if (rv == APR_EINVAL && *presp) {
        cs_json_t *doc;
        const char *err, *code;
        if (cs_json_parse(&doc, p, (*presp)->body, (*presp)->len, &err) == APR_SUCCESS
            && (code = cs_jstr(cs_jat(cs_jarr(cs_json_raw(doc), "errors"), 0), "code"))
            && strlen(code) < 80) {
            *perr = apr_psprintf(p, "%s: %s", *perr, code);
        }
    }
    return rv;
}

/* A call whose answer is parsed and dropped at once (catalog pages can be
 * large): its memory lives in a scratch pool, the error in @p p. */
typedef apr_status_t (*sq_page_fn)(cs_square_catalog_t *c, const char *body, apr_size_t len,
                                   const char **pcursor, const char **perr);

static apr_status_t sq_page(cs_square_catalog_t *c, sq_page_fn fn, cs_pos_session_t *s,
                            const char *method, const char *path, const char *body,
                            const char **pcursor, apr_pool_t *p, const char **perr)
{
    apr_pool_t *sp;
    cs_http_resp_t *resp = NULL;
    const char *err = NULL;
    apr_status_t rv;

    if (apr_pool_create(&sp, p) != APR_SUCCESS) {
        FAIL(APR_ENOMEM, "out of memory");
    }
    rv = sq_call(&resp, s, method, path, body, sp, &err);
    if (rv == APR_SUCCESS) {
        rv = fn(c, resp->body, resp->len, pcursor, perr);
    }
    else {
        *perr = apr_pstrdup(p, err ? err : "Square failed");
    }
    apr_pool_destroy(sp);
    return rv;
}

static apr_status_t sq_load(cs_square_catalog_t **pcat, cs_pos_session_t *s, apr_pool_t *p,
                            const char **perr)
{
    cs_square_catalog_t *c;
    apr_array_header_t *tracked;
    const char *cursor = NULL, *next;
    int pages = 0, from;
    apr_status_t rv;

    *pcat = NULL;
    if ((rv = sq_ready(s, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    c = cs_pos_square_catalog_make(p, s->conf->location, cs_pos_now(s));
    do {
        const char *path = apr_pstrcat(p, "/v2/catalog/list?types=" SQ_LIST_TYPES,
                                       cursor ? "&cursor=" : "", cursor ? enc(p, cursor) : "",
                                       NULL);
        if ((rv = sq_page(c, cs_pos_square_parse_catalog_page, s, "GET", path, NULL, &next,
                          p, perr)) != APR_SUCCESS) {
            return rv;
        }
        if (next && cursor && !strcmp(next, cursor)) {
            FAIL(APR_EINVAL, "Square sent the same catalog page twice");
        }
        cursor = next;
    } while (cursor && ++pages < SQ_MAX_PAGES);
    if (cursor) {
        FAIL(APR_EINVAL, "the Square catalog has more than %d pages", SQ_MAX_PAGES);
    }
    tracked = cs_pos_square_tracked_variations(c, p);
    for (from = 0; from < tracked->nelts; from += SQ_COUNTS_CHUNK) {
        pages = 0;
        cursor = NULL;
        do {
            const char *body = cs_pos_square_counts_request(p, c, tracked, from,
                                                            SQ_COUNTS_CHUNK, cursor);
            if ((rv = sq_page(c, cs_pos_square_parse_counts_page, s, "POST",
                              "/v2/inventory/counts/batch-retrieve", body, &next, p, perr))
                != APR_SUCCESS) {
                return rv;
            }
            if (next && cursor && !strcmp(next, cursor)) {
                FAIL(APR_EINVAL, "Square sent the same inventory page twice");
            }
            cursor = next;
        } while (cursor && ++pages < SQ_MAX_PAGES);
    }
    *pcat = c;
    return APR_SUCCESS;
}

static apr_status_t sq_authenticate(cs_pos_session_t *s, apr_pool_t *p, const char **perr)
{
    return sq_ready(s, p, perr);
}

static apr_status_t sq_fetch_menu(cs_menu_t **pout, cs_pos_session_t *s, apr_pool_t *p,
                                  const char **perr)
{
    cs_square_catalog_t *c;
    apr_status_t rv;

    *pout = NULL;
    if ((rv = sq_load(&c, s, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    return cs_pos_square_build_menu(pout, c, p, perr);
}

static apr_status_t sq_fetch_availability(apr_array_header_t **pout, cs_pos_session_t *s,
                                          apr_pool_t *p, const char **perr)
{
    cs_square_catalog_t *c;
    apr_status_t rv;

    *pout = NULL;
    if ((rv = sq_load(&c, s, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    *pout = cs_pos_square_build_stock(c, p);
    return APR_SUCCESS;
}

static apr_status_t sq_set_sold_out(cs_pos_session_t *s, const char *item_id, int sold_out,
                                    apr_pool_t *p, const char **perr)
{
    FAIL(APR_ENOTIMPL, "Square does not let apps mark items sold out: mark it in Square");
}

static apr_status_t sq_submit(cs_pos_order_result_t **pout, cs_pos_session_t *s,
                              const cs_pos_order_t *o, apr_pool_t *p, const char **perr)
{
    cs_square_catalog_t *items;
    cs_json_t *req;
    json_object *ids;
    apr_hash_t *seen = apr_hash_make(p);
    cs_http_resp_t *resp;
    const char *cursor, *body;
    int i;
    apr_status_t rv;

    *pout = NULL;
    if ((rv = sq_ready(s, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (!o || !o->lines || !o->lines->nelts) {
        FAIL(APR_EINVAL, "the order has no lines");
    }
    /* The lines name our items; Square wants a variation per line, so read
     * the items as Square holds them now. */
    req = cs_json_object(p);
    ids = json_object_new_array();
    for (i = 0; i < o->lines->nelts; i++) {
        const char *id = APR_ARRAY_IDX(o->lines, i, cs_pos_line_t).item_id;
        if (id && !apr_hash_get(seen, id, APR_HASH_KEY_STRING)) {
            apr_hash_set(seen, id, APR_HASH_KEY_STRING, id);
            json_object_array_add(ids, json_object_new_string(id));
        }
    }
    json_object_object_add(cs_json_raw(req), "object_ids", ids);
    json_object_object_add(cs_json_raw(req), "include_related_objects",
                           json_object_new_boolean(0));
    items = cs_pos_square_catalog_make(p, s->conf->location, cs_pos_now(s));
    if ((rv = sq_page(items, cs_pos_square_parse_catalog_page, s, "POST",
                      "/v2/catalog/batch-retrieve", cs_json_dump(req, p), &cursor, p, perr))
        != APR_SUCCESS) {
        return rv;
    }
    if ((rv = cs_pos_square_order_request(&body, o, s->conf->location, items, p, perr))
        != APR_SUCCESS) {
        return rv;
    }
    if ((rv = sq_call(&resp, s, "POST", "/v2/orders", body, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    return cs_pos_square_parse_order(pout, resp->body, resp->len, p, perr);
}

static apr_status_t sq_order_status(cs_pos_order_result_t **pout, cs_pos_session_t *s,
                                    const char *pos_order_id, apr_pool_t *p,
                                    const char **perr)
{
    cs_http_resp_t *resp;
    apr_status_t rv;

    *pout = NULL;
    if ((rv = sq_ready(s, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (!pos_order_id || !*pos_order_id) {
        FAIL(APR_EINVAL, "no Square order id");
    }
    if ((rv = sq_call(&resp, s, "GET", apr_pstrcat(p, "/v2/orders/", enc(p, pos_order_id),
                                                   NULL), NULL, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    return cs_pos_square_parse_order(pout, resp->body, resp->len, p, perr);
}

/* Square signs the subscription's notification URL as registered (our
 * configured one), not whatever Host a proxy passed on; no timestamp is
 * signed apart from the body's created_at, and Square redelivers for
 * hours, so replays are caught by event_id in the journal instead. */
static apr_status_t sq_verify(const cs_pos_conf_t *conf, const cs_pos_webhook_t *w,
                              apr_pool_t *p, const char **perr)
{
    const char *url = conf && conf->webhook_url && *conf->webhook_url ? conf->webhook_url
                                                                      : w->url;
    const char *got = w->headers ? apr_table_get(w->headers, CS_SQUARE_SIG_HEADER) : NULL;
    const char *want;
    apr_size_t len = w->body ? w->body_len : 0;

    if (!conf || !conf->webhook_secret || !*conf->webhook_secret) {
        FAIL(APR_EACCES, "no Square signature key is configured");
    }
    if (!url || !*url) {
        FAIL(APR_EACCES, "no Square notification URL is configured");
    }
    if (!got || !*got) {
        FAIL(APR_EACCES, "the delivery is not signed");
    }
    want = cs_pos_square_signature(p, conf->webhook_secret, url, w->body ? w->body : "", len);
    if (!want || !cs_ct_streq(want, got)) {
        FAIL(APR_EACCES, "the Square signature does not match");
    }
    return APR_SUCCESS;
}

static apr_status_t sq_parse(cs_pos_event_t **pout, const cs_pos_webhook_t *w, apr_pool_t *p,
                             const char **perr)
{
    apr_size_t len = w->body ? w->body_len : 0;

    return cs_pos_square_parse_event(pout, w->body, len, p, perr);
}

const cs_pos_adapter_t cs_pos_square = {
    "square",
    sq_authenticate,
    sq_fetch_menu,
    sq_fetch_availability,
    sq_set_sold_out,
    sq_submit,
    sq_order_status,
    sq_verify,
    sq_parse,
};
