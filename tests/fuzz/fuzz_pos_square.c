/* The Square adapter's parsers: the whole input as a ListCatalog page (its
 * menu and stock then built), an inventory counts page over that catalog,
 * a CreateOrder / RetrieveOrder answer and a webhook body; the first line
 * as a presented x-square-hmacsha256-signature over the rest.
 *
 * Invariants: a menu that builds is valid (cs_menu_validate) with prices
 * >= 0 and variation groups of min 1 max 1; every stock entry names an
 * object; an order request built for the catalog's first item parses as
 * JSON; an event has an id, and an ORDER event an order and a known
 * state; our own signature over the rest verifies, the presented one
 * verifies only when it is ours. */
#include "fuzz_common.h"
#include "base/cs_json.h"
#include "providers/pos/cs_pos_parse.h"

FUZZ_APR_INIT

#define KEY "fuzz-square-signature-key"
#define URL "https://consult.example/webhooks/pos/square"

static int known_state(const char *s)
{
    return s && (!strcmp(s, CS_POS_ORDER_PENDING) || !strcmp(s, CS_POS_ORDER_ACCEPTED)
                 || !strcmp(s, CS_POS_ORDER_READY) || !strcmp(s, CS_POS_ORDER_COMPLETED)
                 || !strcmp(s, CS_POS_ORDER_CANCELLED));
}

static void check_menu(apr_pool_t *p, cs_square_catalog_t *c)
{
    cs_menu_t *m = NULL;
    const char *err = NULL, *body = NULL;
    apr_array_header_t *st;
    int i;

    if (cs_pos_square_build_menu(&m, c, p, &err) != APR_SUCCESS) {
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
        fuzz_touch_str(it->description);
        fuzz_touch_str(it->image_url);
    }
    for (i = 0; i < m->groups->nelts; i++) {
        const cs_menu_group_t *g = &APR_ARRAY_IDX(m->groups, i, cs_menu_group_t);
        size_t n = strlen(g->pos_id), k = strlen(CS_SQUARE_VARIATION_GROUP_SUFFIX);
        if (n > k && !strcmp(g->pos_id + n - k, CS_SQUARE_VARIATION_GROUP_SUFFIX)
            && (g->min != 1 || g->max != 1)) {
            abort();
        }
    }
    st = cs_pos_square_build_stock(c, p);
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
        o.customer_name = "Fuzz";
        o.lines = apr_array_make(p, 1, sizeof(cs_pos_line_t));
        l = apr_array_push(o.lines);
        memset(l, 0, sizeof(*l));
        l->item_id = APR_ARRAY_IDX(m->items, 0, cs_menu_item_t).pos_id;
        l->quantity = 1;
        l->modifier_ids = apr_array_make(p, 1, sizeof(const char *));
        if (m->groups->nelts) {
            const cs_menu_group_t *g = &APR_ARRAY_IDX(m->groups, 0, cs_menu_group_t);
            if (g->modifiers->nelts) {
                APR_ARRAY_PUSH(l->modifier_ids, const char *) =
                    APR_ARRAY_IDX(g->modifiers, 0, cs_menu_modifier_t).pos_id;
            }
        }
        if (cs_pos_square_order_request(&body, &o, "L-FUZZ", c, p, &err) != APR_SUCCESS
            || cs_json_parse(&doc, p, body, strlen(body), &err) != APR_SUCCESS) {
            abort();
        }
    }
}

static void check_event(apr_pool_t *p, const char *raw, size_t size)
{
    cs_pos_event_t *ev = NULL;
    const char *err = NULL;

    if (cs_pos_square_parse_event(&ev, raw, size, p, &err) != APR_SUCCESS) {
        if (ev || !err) {
            abort();
        }
        return;
    }
    if (!ev->event_id || !*ev->event_id || !ev->type
        || (ev->kind == CS_POS_EVENT_ORDER && (!ev->order_id || !known_state(ev->order_status)))) {
        abort();
    }
}

static void check_signature(apr_pool_t *p, const char *sig, const char *body, size_t len)
{
    cs_pos_conf_t conf;
    cs_pos_webhook_t w;
    const char *err = NULL, *ours = cs_pos_square_signature(p, KEY, URL, body, len);

    memset(&conf, 0, sizeof(conf));
    memset(&w, 0, sizeof(w));
    conf.webhook_secret = KEY;
    conf.webhook_url = URL;
    w.body = body;
    w.body_len = len;
    w.headers = apr_table_make(p, 2);
    apr_table_set(w.headers, CS_SQUARE_SIG_HEADER, sig);
    if ((cs_pos_square.verify_webhook(&conf, &w, p, &err) == APR_SUCCESS)
        != (ours && *sig && !strcmp(ours, sig))) {
        abort();
    }
    if (ours && len) {
        apr_table_set(w.headers, CS_SQUARE_SIG_HEADER, ours);
        if (cs_pos_square.verify_webhook(&conf, &w, p, &err) != APR_SUCCESS) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    char *raw = fuzz_exact(data, size);
    const uint8_t *rest = data;
    size_t rest_len = size;
    const char *sig = fuzz_take_line(p, &rest, &rest_len);
    char *body = fuzz_exact(rest, rest_len);
    cs_square_catalog_t *c = cs_pos_square_catalog_make(p, "L-MAIN", apr_time_from_sec(1777000000));
    cs_pos_order_result_t *o = NULL;
    const char *cursor = NULL, *err = NULL;

    if (cs_pos_square_parse_catalog_page(c, raw, size, &cursor, &err) == APR_SUCCESS) {
        apr_array_header_t *ids = cs_pos_square_tracked_variations(c, p);
        fuzz_touch_str(cursor);
        fuzz_touch_str(cs_pos_square_counts_request(p, c, ids, 0, 100, cursor));
        check_menu(p, c);
    }
    else if (cursor || !err) {
        abort();
    }
    if (cs_pos_square_parse_counts_page(c, raw, size, &cursor, &err) == APR_SUCCESS) {
        check_menu(p, c);
    }
    if (cs_pos_square_parse_order(&o, raw, size, p, &err) == APR_SUCCESS) {
        if (!o || !o->pos_order_id || !known_state(o->status)) {
            abort();
        }
    }
    check_event(p, raw, size);
    check_signature(p, sig, body, rest_len);
    free(body);
    free(raw);
    apr_pool_destroy(p);
    return 0;
}
