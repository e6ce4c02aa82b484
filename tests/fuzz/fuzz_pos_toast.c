/* The Toast adapter's parsers: the whole input as a menus v2 answer, a
 * stock answer and a webhook body (parsed, and checked against a
 * Toast-Signature: the presented one from the first line, and our own,
 * which must verify); the first line also as a timestamp and a price.
 *
 * Invariants: a menu that parses is valid (cs_menu_validate) with prices
 * >= 0; a stock answer's entries name an item; an event has an id, and an
 * ORDER event an order and a known state; a signature we compute over a
 * body whose timestamp we read verifies at that instant. */
#include "fuzz_common.h"
#include "base/cs_json.h"
#include "providers/pos/cs_pos_parse.h"

FUZZ_APR_INIT

#define SECRET "fuzz-toast-webhook-secret"

static int known_state(const char *s)
{
    return s && (!strcmp(s, CS_POS_ORDER_PENDING) || !strcmp(s, CS_POS_ORDER_ACCEPTED)
                 || !strcmp(s, CS_POS_ORDER_READY) || !strcmp(s, CS_POS_ORDER_COMPLETED)
                 || !strcmp(s, CS_POS_ORDER_CANCELLED));
}

static void check_menu(apr_pool_t *p, const char *raw, size_t size)
{
    cs_menu_t *m = NULL;
    const char *err = NULL;
    int i, j;

    if (cs_pos_toast_parse_menu(&m, raw, size, p, &err) != APR_SUCCESS) {
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
        if (it->price_cents < 0 || it->sold_out) {
            abort();
        }
        fuzz_touch_str(it->name);
        fuzz_touch_str(it->description);
        fuzz_touch_str(it->image_url);
    }
    for (i = 0; i < m->categories->nelts; i++) {
        fuzz_touch_str(APR_ARRAY_IDX(m->categories, i, cs_menu_category_t).name);
    }
    for (i = 0; i < m->groups->nelts; i++) {
        const cs_menu_group_t *g = &APR_ARRAY_IDX(m->groups, i, cs_menu_group_t);
        for (j = 0; j < g->modifiers->nelts; j++) {
            const cs_menu_modifier_t *md = &APR_ARRAY_IDX(g->modifiers, j, cs_menu_modifier_t);
            if (md->price_cents < 0) {
                abort();
            }
            fuzz_touch_str(md->name);
        }
    }
}

static void check_stock(apr_pool_t *p, const char *raw, size_t size)
{
    apr_array_header_t *st = NULL;
    const char *err = NULL;
    int i;

    if (cs_pos_toast_parse_stock(&st, raw, size, p, &err) != APR_SUCCESS) {
        if (st) {
            abort();
        }
        return;
    }
    for (i = 0; i < st->nelts; i++) {
        const cs_menu_stock_t *e = &APR_ARRAY_IDX(st, i, cs_menu_stock_t);
        if (!e->pos_id || !*e->pos_id || (e->sold_out != 0 && e->sold_out != 1)) {
            abort();
        }
    }
}

static void check_event(apr_pool_t *p, const char *raw, size_t size)
{
    cs_pos_event_t *ev = NULL;
    const char *err = NULL;

    if (cs_pos_toast_parse_event(&ev, raw, size, p, &err) != APR_SUCCESS) {
        if (ev) {
            abort();
        }
        return;
    }
    if (!ev->event_id || !*ev->event_id || !ev->type) {
        abort();
    }
    if (ev->kind == CS_POS_EVENT_ORDER && (!ev->order_id || !known_state(ev->order_status))) {
        abort();
    }
    if (ev->stock && (ev->kind != CS_POS_EVENT_STOCK || ev->stock->nelts != 1
                      || !APR_ARRAY_IDX(ev->stock, 0, cs_menu_stock_t).pos_id)) {
        abort();
    }
    fuzz_touch_str(ev->type);
    fuzz_touch_str(ev->order_id);
}

static void check_signature(apr_pool_t *p, const char *raw, size_t size, const char *sig)
{
    cs_pos_conf_t conf;
    cs_pos_webhook_t w;
    cs_json_t *doc;
    const char *err = NULL, *ts, *good;
    apr_time_t t;

    memset(&conf, 0, sizeof(conf));
    memset(&w, 0, sizeof(w));
    conf.kind = "toast";
    conf.webhook_secret = SECRET;
    w.body = raw;
    w.body_len = size;
    w.headers = apr_table_make(p, 2);
    apr_table_set(w.headers, CS_TOAST_SIG_HEADER, sig);
    w.now = apr_time_from_sec(1714564800);
    (void)cs_pos_toast.verify_webhook(&conf, &w, p, &err);

    if (cs_json_parse(&doc, p, raw, size, &err) != APR_SUCCESS
        || !(ts = cs_jstr(cs_json_raw(doc), "timestamp"))
        || cs_pos_toast_parse_time(&t, ts) != APR_SUCCESS) {
        return;
    }
    good = cs_pos_toast_sign(p, SECRET, raw, size, ts);
    if (!good) {
        abort();
    }
    apr_table_set(w.headers, CS_TOAST_SIG_HEADER, good);
    w.now = t;
    if (cs_pos_toast.verify_webhook(&conf, &w, p, &err) != APR_SUCCESS) {
        abort();
    }
    /* and another secret's never does */
    conf.webhook_secret = "another-secret";
    if (cs_pos_toast.verify_webhook(&conf, &w, p, &err) == APR_SUCCESS) {
        abort();
    }
}

static void check_line(apr_pool_t *p, const char *line)
{
    apr_time_t t;
    apr_int64_t cents = -1;
    cs_json_t *doc;
    const char *err = NULL;
    cs_json_t *o = cs_json_object(p);

    if (cs_pos_toast_parse_time(&t, line) == APR_SUCCESS) {
        fuzz_touch_str(cs_pos_toast_format_time(p, t));
    }
    /* as a JSON string price, and as a JSON number when it parses as one */
    cs_json_set_str(o, "v", line);
    if (cs_pos_toast_price_cents(&cents, json_object_object_get(cs_json_raw(o), "v"))
        == APR_SUCCESS && cents < 0) {
        abort();
    }
    if (cs_json_parse(&doc, p, line, strlen(line), &err) == APR_SUCCESS
        && cs_pos_toast_price_cents(&cents, cs_json_raw(doc)) == APR_SUCCESS && cents < 0) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    char *raw = fuzz_exact(data, size);
    const uint8_t *rest = data;
    size_t rest_len = size;
    const char *line = fuzz_take_line(p, &rest, &rest_len);

    check_menu(p, raw, size);
    check_stock(p, raw, size);
    check_event(p, raw, size);
    check_signature(p, raw, size, line);
    check_line(p, line);
    free(raw);
    apr_pool_destroy(p);
    return 0;
}
