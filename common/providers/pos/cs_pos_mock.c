/* The mock POS (cs_pos_mock.h): a menu file, a state file, signed
 * webhooks. Same contract as the real adapters, no network. */
#include "providers/pos/cs_pos_mock.h"
#include "base/cs_crypto.h"
#include "base/cs_file.h"
#include "base/cs_json.h"

#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MENU_FILE  ((apr_size_t)4 * 1024 * 1024)
#define MAX_STATE_FILE ((apr_size_t)4 * 1024 * 1024)

#define FAIL(rvv, ...) do { *perr = apr_psprintf(p, __VA_ARGS__); return (rvv); } while (0)

/* ---- menu file ------------------------------------------------------------ */

static apr_status_t parse_groups(cs_menu_t *m, json_object *arr, apr_pool_t *p,
                                 const char **perr)
{
    apr_size_t i, j;

    for (i = 0; i < cs_jlen(arr); i++) {
        json_object *g = cs_jat(arr, i), *mods = cs_jarr(g, "modifiers");
        cs_menu_group_t *grp = apr_array_push(m->groups);
        apr_int64_t min = 0, max = 0;

        grp->pos_id = cs_jstr(g, "id");
        grp->name = cs_jstr(g, "name");
        if (!cs_jint(g, "min", &min) || !cs_jint(g, "max", &max)
            || min < 0 || max < 0 || min > 100 || max > 100) {
            FAIL(APR_EINVAL, "modifier group %d needs integer min and max",
                 (int)i + 1);
        }
        grp->min = (int)min;
        grp->max = (int)max;
        grp->modifiers = apr_array_make(p, 4, sizeof(cs_menu_modifier_t));
        for (j = 0; j < cs_jlen(mods); j++) {
            json_object *o = cs_jat(mods, j);
            cs_menu_modifier_t *md = apr_array_push(grp->modifiers);
            md->pos_id = cs_jstr(o, "id");
            md->name = cs_jstr(o, "name");
            if (!cs_jint(o, "price_cents", &md->price_cents)) {
                FAIL(APR_EINVAL, "modifier %s has no integer price_cents",
                     md->pos_id ? md->pos_id : "?");
            }
        }
    }
    return APR_SUCCESS;
}

static apr_status_t parse_item(cs_menu_t *m, json_object *o, const char *cat,
                               int sort, apr_pool_t *p, const char **perr)
{
    cs_menu_item_t *it = apr_array_push(m->items);
    json_object *gids = cs_jarr(o, "modifier_groups");
    apr_int64_t points = 1;
    apr_size_t k;

    memset(it, 0, sizeof(*it));
    it->pos_id = cs_jstr(o, "id");
    it->category_id = cat;
    it->name = cs_jstr(o, "name");
    it->description = cs_jstr(o, "description");
    it->image_url = cs_jstr(o, "image_url");
    it->sort = sort;
    it->visible = cs_jbool(o, "visible", 1);
    if (!cs_jint(o, "price_cents", &it->price_cents)) {
        FAIL(APR_EINVAL, "item %s has no integer price_cents",
             it->pos_id ? it->pos_id : "?");
    }
    if (json_object_object_get_ex(o, "prep_points", NULL)
        && !cs_jint(o, "prep_points", &points)) {
        FAIL(APR_EINVAL, "item %s: prep_points must be an integer",
             it->pos_id ? it->pos_id : "?");
    }
    it->prep_points = points < 1 || points > 1000 ? 0 : (int)points;
    it->group_ids = apr_array_make(p, 2, sizeof(const char *));
    for (k = 0; k < cs_jlen(gids); k++) {
        json_object *g = cs_jat(gids, k);
        APR_ARRAY_PUSH(it->group_ids, const char *) =
            json_object_is_type(g, json_type_string) ? json_object_get_string(g) : NULL;
    }
    return APR_SUCCESS;
}

apr_status_t cs_pos_mock_parse_menu(cs_menu_t **pout, apr_pool_t *p,
                                    const char *buf, apr_size_t len,
                                    const char **perr)
{
    cs_json_t *doc;
    json_object *root, *cats;
    cs_menu_t *m;
    apr_size_t i, j;
    apr_status_t rv;

    *pout = NULL;
    if ((rv = cs_json_parse(&doc, p, buf, len, perr)) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    root = cs_json_raw(doc);
    m = cs_menu_make(p, cs_jstr(root, "currency"));
    if ((rv = parse_groups(m, cs_jarr(root, "modifier_groups"), p, perr)) != APR_SUCCESS) {
        return rv;
    }
    cats = cs_jarr(root, "categories");
    for (i = 0; i < cs_jlen(cats); i++) {
        json_object *c = cs_jat(cats, i), *items = cs_jarr(c, "items");
        cs_menu_category_t *cat = apr_array_push(m->categories);
        cat->pos_id = cs_jstr(c, "id");
        cat->name = cs_jstr(c, "name");
        cat->description = cs_jstr(c, "description");
        cat->sort = (int)i;
        for (j = 0; j < cs_jlen(items); j++) {
            if ((rv = parse_item(m, cs_jat(items, j), cat->pos_id, (int)j, p, perr))
                != APR_SUCCESS) {
                return rv;
            }
        }
    }
    if ((rv = cs_menu_validate(m, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    *pout = m;
    return APR_SUCCESS;
}

/* ---- state file: {"sold_out": {"id": true}, "orders": {"ext": {...}}} ---- */

static apr_status_t read_state(json_object **pout, cs_json_t **pdoc,
                               const char *path, apr_pool_t *p, const char **perr)
{
    char *buf;
    apr_size_t len;
    apr_status_t rv;

    *pout = NULL;
    rv = path ? cs_file_read(&buf, &len, p, path, MAX_STATE_FILE) : APR_ENOENT;
    if (APR_STATUS_IS_ENOENT(rv)) {
        /* No state yet: nothing sold out, no orders. */
        *pdoc = cs_json_object(p);
        *pout = cs_json_raw(*pdoc);
        return APR_SUCCESS;
    }
    if (rv != APR_SUCCESS) {
        FAIL(APR_EAGAIN, "the mock POS state cannot be read");
    }
    if (cs_json_parse(pdoc, p, buf, len, perr) != APR_SUCCESS
        || !json_object_is_type(cs_json_raw(*pdoc), json_type_object)) {
        FAIL(APR_EINVAL, "the mock POS state is not a JSON object");
    }
    *pout = cs_json_raw(*pdoc);
    return APR_SUCCESS;
}

static apr_status_t write_state(const char *path, cs_json_t *doc, apr_pool_t *p,
                                const char **perr)
{
    const char *s = cs_json_dump(doc, p);

    if (!path || cs_file_write_atomic(path, s, strlen(s), p) != APR_SUCCESS) {
        FAIL(APR_EAGAIN, "the mock POS state cannot be written");
    }
    return APR_SUCCESS;
}

/* The object member @p key of @p root, created when missing. */
static json_object *member_obj(json_object *root, const char *key)
{
    json_object *o = cs_jobj(root, key);

    if (!o) {
        o = json_object_new_object();
        json_object_object_add(root, key, o);
    }
    return o;
}

apr_status_t cs_pos_mock_set_state(const char *state_file, const char *item_id,
                                   int sold_out, apr_pool_t *p, const char **perr)
{
    cs_json_t *doc;
    json_object *root, *so;
    apr_status_t rv;

    if ((rv = read_state(&root, &doc, state_file, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    so = member_obj(root, "sold_out");
    if (sold_out) {
        json_object_object_add(so, item_id, json_object_new_boolean(1));
    }
    else {
        json_object_object_del(so, item_id);
    }
    return write_state(state_file, doc, p, perr);
}

/* ---- the adapter ---------------------------------------------------------- */

static apr_status_t mock_authenticate(cs_pos_session_t *s, apr_pool_t *p,
                                      const char **perr)
{
    return APR_SUCCESS;
}

static apr_status_t mock_availability(apr_array_header_t **pout, cs_pos_session_t *s,
                                      apr_pool_t *p, const char **perr)
{
    cs_json_t *doc;
    json_object *root;
    apr_array_header_t *out = apr_array_make(p, 8, sizeof(cs_menu_stock_t));
    apr_status_t rv;

    *pout = NULL;
    if ((rv = read_state(&root, &doc, s->conf->state_file, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (cs_jobj(root, "sold_out")) {
        json_object_object_foreach(cs_jobj(root, "sold_out"), key, val) {
            if (json_object_is_type(val, json_type_boolean) && json_object_get_boolean(val)) {
                cs_menu_stock_t *st = apr_array_push(out);
                st->pos_id = apr_pstrdup(p, key);
                st->sold_out = 1;
                st->until = 0;
            }
        }
    }
    *pout = out;
    return APR_SUCCESS;
}

static apr_status_t mock_menu(cs_menu_t **pout, cs_pos_session_t *s, apr_pool_t *p,
                              const char **perr)
{
    apr_array_header_t *stock;
    char *buf;
    apr_size_t len;
    apr_status_t rv;
    int i, j;

    *pout = NULL;
    if (!s->conf->menu_file
        || cs_file_read(&buf, &len, p, s->conf->menu_file, MAX_MENU_FILE) != APR_SUCCESS) {
        FAIL(APR_EAGAIN, "the mock POS menu file cannot be read");
    }
    if ((rv = cs_pos_mock_parse_menu(pout, p, buf, len, perr)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = mock_availability(&stock, s, p, perr)) != APR_SUCCESS) {
        *pout = NULL;
        return rv;
    }
    for (i = 0; i < stock->nelts; i++) {
        const cs_menu_stock_t *st = &APR_ARRAY_IDX(stock, i, cs_menu_stock_t);
        for (j = 0; j < (*pout)->items->nelts; j++) {
            cs_menu_item_t *it = &APR_ARRAY_IDX((*pout)->items, j, cs_menu_item_t);
            if (!strcmp(it->pos_id, st->pos_id)) {
                it->sold_out = st->sold_out;
            }
        }
    }
    return APR_SUCCESS;
}

static apr_status_t mock_set_sold_out(cs_pos_session_t *s, const char *item_id,
                                      int sold_out, apr_pool_t *p, const char **perr)
{
    return cs_pos_mock_set_state(s->conf->state_file, item_id, sold_out, p, perr);
}

static apr_status_t mock_submit(cs_pos_order_result_t **pout, cs_pos_session_t *s,
                                const cs_pos_order_t *order, apr_pool_t *p,
                                const char **perr)
{
    cs_json_t *doc;
    json_object *root, *orders, *o;
    cs_pos_order_result_t *res = apr_pcalloc(p, sizeof(*res));
    apr_status_t rv;

    *pout = NULL;
    if (!order->external_id || !*order->external_id) {
        FAIL(APR_EINVAL, "an order needs an external id");
    }
    if ((rv = read_state(&root, &doc, s->conf->state_file, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    orders = member_obj(root, "orders");
    if (!(o = cs_jobj(orders, order->external_id))) {
        /* New: the POS numbers it and accepts it at once. */
        int i;
        json_object *lines = json_object_new_array();
        o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_string(
            apr_psprintf(p, "mock-%d", json_object_object_length(orders) + 1)));
        json_object_object_add(o, "status", json_object_new_string(CS_POS_ORDER_ACCEPTED));
        json_object_object_add(o, "total_cents", json_object_new_int64(order->total_cents));
        for (i = 0; order->lines && i < order->lines->nelts; i++) {
            const cs_pos_line_t *l = &APR_ARRAY_IDX(order->lines, i, cs_pos_line_t);
            json_object *jl = json_object_new_object();
            json_object_object_add(jl, "item", json_object_new_string(l->item_id));
            json_object_object_add(jl, "quantity", json_object_new_int(l->quantity));
            json_object_array_add(lines, jl);
        }
        json_object_object_add(o, "lines", lines);
        json_object_object_add(orders, order->external_id, o);
        if ((rv = write_state(s->conf->state_file, doc, p, perr)) != APR_SUCCESS) {
            return rv;
        }
    }
    res->pos_order_id = apr_pstrdup(p, cs_jstr(o, "id"));
    res->status = apr_pstrdup(p, cs_jstr(o, "status"));
    *pout = res;
    return APR_SUCCESS;
}

static apr_status_t mock_order_status(cs_pos_order_result_t **pout, cs_pos_session_t *s,
                                      const char *pos_order_id, apr_pool_t *p,
                                      const char **perr)
{
    cs_json_t *doc;
    json_object *root;
    apr_status_t rv;

    *pout = NULL;
    if ((rv = read_state(&root, &doc, s->conf->state_file, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    if (cs_jobj(root, "orders")) {
        json_object_object_foreach(cs_jobj(root, "orders"), key, val) {
            const char *id = cs_jstr(val, "id");
            (void)key;
            if (id && !strcmp(id, pos_order_id)) {
                cs_pos_order_result_t *res = apr_pcalloc(p, sizeof(*res));
                res->pos_order_id = apr_pstrdup(p, id);
                res->status = apr_pstrdup(p, cs_jstr(val, "status"));
                *pout = res;
                return APR_SUCCESS;
            }
        }
    }
    FAIL(APR_EINVAL, "the mock POS has no order %s", pos_order_id);
}

/* ---- webhooks ------------------------------------------------------------- */

const char *cs_pos_mock_sign(apr_pool_t *p, const char *secret, apr_time_t t,
                             const char *body, apr_size_t len)
{
    unsigned char mac[CS_SHA256_LEN];
    char hex[2 * CS_SHA256_LEN + 1];
    const char *ts = apr_psprintf(p, "%" APR_TIME_T_FMT, apr_time_sec(t));
    char *msg = apr_pstrcat(p, ts, ".", NULL);

    msg = apr_pstrcat(p, msg, apr_pstrmemdup(p, body, len), NULL);
    if (cs_hmac_sha256(mac, secret, strlen(secret), msg, strlen(ts) + 1 + len)
        != APR_SUCCESS) {
        return NULL;
    }
    cs_hex_encode(hex, mac, sizeof(mac));
    return apr_psprintf(p, "t=%s,v1=%s", ts, hex);
}

static apr_status_t mock_verify(const cs_pos_conf_t *conf, const cs_pos_webhook_t *w,
                                apr_pool_t *p, const char **perr)
{
    const char *h = w->headers ? apr_table_get(w->headers, CS_POS_MOCK_SIG_HEADER) : NULL;
    const char *v1, *want;
    char *end;
    long long t;
    apr_time_t now = w->now ? w->now : apr_time_now();

    if (!conf->webhook_secret || !*conf->webhook_secret) {
        FAIL(APR_EACCES, "no webhook secret is configured");
    }
    if (!h || strncmp(h, "t=", 2) || !(v1 = strstr(h, ",v1="))) {
        FAIL(APR_EACCES, "the delivery is not signed");
    }
    t = strtoll(h + 2, &end, 10);
    if (end != v1 || t <= 0) {
        FAIL(APR_EACCES, "the signature's timestamp is malformed");
    }
    if (llabs((long long)apr_time_sec(now) - t) > apr_time_sec(CS_POS_MOCK_TOLERANCE)) {
        FAIL(APR_EACCES, "the signature is too old");
    }
    want = cs_pos_mock_sign(p, conf->webhook_secret, apr_time_from_sec(t), w->body,
                            w->body_len);
    if (!want || !cs_ct_streq(want, h)) {
        FAIL(APR_EACCES, "the signature does not match");
    }
    return APR_SUCCESS;
}

apr_status_t cs_pos_mock_parse_event(cs_pos_event_t **pout, apr_pool_t *p,
                                     const char *body, apr_size_t len,
                                     const char **perr)
{
    cs_json_t *doc;
    json_object *root, *arr, *order;
    cs_pos_event_t *ev = apr_pcalloc(p, sizeof(*ev));
    const char *type;
    apr_size_t i;

    *pout = NULL;
    if (cs_json_parse(&doc, p, body, len, perr) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    root = cs_json_raw(doc);
    ev->event_id = cs_jstr(root, "event_id");
    type = cs_jstr(root, "type");
    if (!ev->event_id || !*ev->event_id || strlen(ev->event_id) > 200 || !type) {
        FAIL(APR_EINVAL, "the event has no event_id or type");
    }
    ev->type = type;
    if (!strcmp(type, "menu.updated")) {
        ev->kind = CS_POS_EVENT_MENU;
    }
    else if (!strcmp(type, "stock.updated")) {
        ev->kind = CS_POS_EVENT_STOCK;
        if ((arr = cs_jarr(root, "sold_out"))) {
            ev->stock = apr_array_make(p, (int)cs_jlen(arr) + 1, sizeof(cs_menu_stock_t));
            for (i = 0; i < cs_jlen(arr); i++) {
                json_object *o = cs_jat(arr, i);
                cs_menu_stock_t *st;
                if (!cs_jstr(o, "id")) {
                    FAIL(APR_EINVAL, "a stock entry has no id");
                }
                st = apr_array_push(ev->stock);
                st->pos_id = cs_jstr(o, "id");
                st->sold_out = cs_jbool(o, "sold_out", 1);
                st->until = 0;
            }
        }
    }
    else if (!strcmp(type, "order.updated")) {
        ev->kind = CS_POS_EVENT_ORDER;
        order = cs_jobj(root, "order");
        ev->order_id = cs_jstr(order, "id");
        ev->order_status = cs_jstr(order, "status");
        if (!ev->order_id || !ev->order_status) {
            FAIL(APR_EINVAL, "the order event has no order id or status");
        }
    }
    else {
        ev->kind = CS_POS_EVENT_OTHER;
    }
    *pout = ev;
    return APR_SUCCESS;
}

static apr_status_t mock_parse(cs_pos_event_t **pout, const cs_pos_webhook_t *w,
                               apr_pool_t *p, const char **perr)
{
    return cs_pos_mock_parse_event(pout, p, w->body, w->body_len, perr);
}

const cs_pos_adapter_t cs_pos_mock = {
    "mock",
    mock_authenticate,
    mock_menu,
    mock_availability,
    mock_set_sold_out,
    mock_submit,
    mock_order_status,
    mock_verify,
    mock_parse,
};
