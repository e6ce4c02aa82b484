/* The Clover adapter's parsers: the whole input as an items page and a
 * modifier groups page of one inventory (its menu and stock then built),
 * an order and an order list, a webhook body (the verification POST or
 * merchant updates); the first line as a presented X-Clover-Auth over the
 * rest.
 *
 * Invariants: a menu that builds is valid (cs_menu_validate) with prices
 * in range; every stock entry names an object; an atomic order built for
 * the first item parses as JSON; an event has an id, a VERIFICATION event
 * its code, and the same body always makes the same id; a delivery
 * verifies exactly when it is the verification POST or carries our code. */
#include "fuzz_common.h"
#include "base/cs_json.h"
#include "providers/pos/cs_pos_parse.h"

FUZZ_APR_INIT

#define AUTH "fuzz-clover-auth-code"

static void check_menu(apr_pool_t *p, cs_clover_catalog_t *c)
{
    cs_menu_t *m = NULL;
    const char *err = NULL, *body = NULL;
    apr_array_header_t *st;
    int i;

    if (cs_pos_clover_build_menu(&m, c, p, &err) != APR_SUCCESS) {
        if (m || !err) {
            abort();
        }
        return;
    }
    if (!m || cs_menu_validate(m, p, &err) != APR_SUCCESS) {
        abort();
    }
    for (i = 0; i < m->items->nelts; i++) {
        const cs_menu_item_t *it = &APR_ARRAY_IDX(m->items, i, cs_menu_item_t);
        if (it->price_cents < 0 || it->price_cents > CS_POS_MAX_CENTS) {
            abort();
        }
        fuzz_touch_str(it->name);
    }
    st = cs_pos_clover_build_stock(c, p);
    for (i = 0; i < st->nelts; i++) {
        if (!APR_ARRAY_IDX(st, i, cs_menu_stock_t).pos_id) {
            abort();
        }
    }
    if (m->items->nelts) {
        cs_pos_order_t o;
        cs_pos_line_t *l;
        cs_json_t *doc;
        memset(&o, 0, sizeof(o));
        o.external_id = "ord-fuzz-1";
        o.lines = apr_array_make(p, 1, sizeof(cs_pos_line_t));
        l = apr_array_push(o.lines);
        memset(l, 0, sizeof(*l));
        l->item_id = APR_ARRAY_IDX(m->items, 0, cs_menu_item_t).pos_id;
        l->quantity = 2;
        if (cs_pos_clover_order_request(&body, &o, p, &err) != APR_SUCCESS
            || cs_json_parse(&doc, p, body, strlen(body), &err) != APR_SUCCESS) {
            abort();
        }
    }
}

static void check_event(apr_pool_t *p, const char *raw, size_t size)
{
    cs_pos_event_t *ev = NULL, *again = NULL;
    const char *err = NULL;

    if (cs_pos_clover_parse_event(&ev, raw, size, p, &err) != APR_SUCCESS) {
        if (ev || !err) {
            abort();
        }
        return;
    }
    if (!ev->event_id || !*ev->event_id || !ev->type
        || (ev->kind == CS_POS_EVENT_VERIFICATION && !ev->verification_code)
        || (ev->kind == CS_POS_EVENT_ORDER && !ev->order_id)
        || cs_pos_clover_parse_event(&again, raw, size, p, &err) != APR_SUCCESS
        || strcmp(again->event_id, ev->event_id)) {
        abort();
    }
}

static void check_auth(apr_pool_t *p, const char *code, const char *body, size_t len)
{
    cs_pos_conf_t conf;
    cs_pos_webhook_t w;
    const char *err = NULL;
    int verification = cs_pos_clover_verification_code(body, len, p) != NULL;

    memset(&conf, 0, sizeof(conf));
    memset(&w, 0, sizeof(w));
    conf.webhook_secret = AUTH;
    w.body = body;
    w.body_len = len;
    w.headers = apr_table_make(p, 2);
    apr_table_set(w.headers, CS_CLOVER_AUTH_HEADER, code);
    if ((cs_pos_clover.verify_webhook(&conf, &w, p, &err) == APR_SUCCESS)
        != (verification || !strcmp(code, AUTH))) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    char *raw = fuzz_exact(data, size);
    const uint8_t *rest = data;
    size_t rest_len = size;
    const char *code = fuzz_take_line(p, &rest, &rest_len);
    char *body = fuzz_exact(rest, rest_len);
    cs_clover_catalog_t *c = cs_pos_clover_catalog_make(p);
    cs_pos_order_result_t *o = NULL;
    const char *err = NULL;
    int n = -1, ok;

    ok = cs_pos_clover_parse_items_page(c, raw, size, &n, &err) == APR_SUCCESS;
    if (!ok && !err) {
        abort();
    }
    if (cs_pos_clover_parse_groups_page(c, raw, size, &n, &err) == APR_SUCCESS || ok) {
        check_menu(p, c);
    }
    if (cs_pos_clover_parse_order(&o, raw, size, p, &err) == APR_SUCCESS
        && (!o || !o->pos_order_id || !o->status)) {
        abort();
    }
    if (cs_pos_clover_parse_order_list(&o, raw, size, p, &err) == APR_SUCCESS && o
        && (!o->pos_order_id || !o->status)) {
        abort();
    }
    fuzz_touch_str(cs_pos_clover_verification_code(raw, size, p));
    check_event(p, raw, size);
    check_auth(p, code, body, rest_len);
    free(body);
    free(raw);
    apr_pool_destroy(p);
    return 0;
}
