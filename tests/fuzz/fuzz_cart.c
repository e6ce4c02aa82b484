/* cs_cart_price_line, cs_cart_price_all, cs_cart_add/set_quantity/remove,
 * cs_cart_totals, cs_cart_rate_cents and cs_cart_parse_percent over a small
 * fixed menu. Each input line is one of:
 *   ITEM QTY [MOD...]            a cart line (priced, then added to the cart)
 *   tax PPM | tip% BP | tip CENTS | fee CENTS BP TAXABLE
 *   qty INDEX QTY | del INDEX   edits of the cart
 *   rate CENTS RATE PER | pct TEXT
 * Numbers are read with strtoll, so huge and negative ones get through.
 * The invariants checked: a priced line's amounts add up and stay within
 * the caps, an error always carries a message, and the totals are the sum
 * of what is shown with the tax exactly the rounding rule's. */
#include "fuzz_common.h"
#include "domain/cs_cart.h"

FUZZ_APR_INIT

static cs_menu_group_t *group(apr_pool_t *p, cs_menu_t *m, const char *id, const char *name,
                              int min, int max)
{
    cs_menu_group_t *g = apr_array_push(m->groups);

    memset(g, 0, sizeof(*g));
    g->pos_id = id;
    g->name = name;
    g->min = min;
    g->max = max;
    g->modifiers = apr_array_make(p, 4, sizeof(cs_menu_modifier_t));
    return g;
}

static void modifier(cs_menu_group_t *g, const char *id, apr_int64_t cents, int sold_out)
{
    cs_menu_modifier_t *md = apr_array_push(g->modifiers);

    md->pos_id = id;
    md->name = id;
    md->price_cents = cents;
    md->sold_out = sold_out;
}

static void item(apr_pool_t *p, cs_menu_t *m, const char *id, apr_int64_t cents, int prep,
                 int visible, int sold_out, const char *g1, const char *g2)
{
    cs_menu_item_t *it = apr_array_push(m->items);

    memset(it, 0, sizeof(*it));
    it->pos_id = id;
    it->category_id = "c";
    it->name = id;
    it->price_cents = cents;
    it->prep_points = prep;
    it->visible = visible;
    it->sold_out = sold_out;
    it->group_ids = apr_array_make(p, 2, sizeof(const char *));
    if (g1) {
        APR_ARRAY_PUSH(it->group_ids, const char *) = g1;
    }
    if (g2) {
        APR_ARRAY_PUSH(it->group_ids, const char *) = g2;
    }
}

static cs_menu_t *menu(apr_pool_t *p)
{
    cs_menu_t *m = cs_menu_make(p, "USD");
    cs_menu_group_t *g;

    g = group(p, m, "size", "Size", 1, 1);
    modifier(g, "s", 0, 0);
    modifier(g, "l", 500, 0);
    modifier(g, "xl", 900, 1);
    g = group(p, m, "top", "Extra toppings", 0, 5);
    modifier(g, "a", 150, 0);
    modifier(g, "b", 200, 0);
    modifier(g, "c", 100, 0);
    modifier(g, "d", 100, 0);
    modifier(g, "e", 100, 0);
    modifier(g, "f", 150, 1);
    modifier(g, "minus", -2000, 0);
    g = group(p, m, "two", "Sauces", 2, 2);
    modifier(g, "x", 0, 0);
    modifier(g, "y", 50, 0);
    modifier(g, "s", 25, 0);             /* an id also in "size" */
    g = group(p, m, "any", "", 0, 0);
    modifier(g, "big", CS_CART_MAX_CENTS, 0);
    modifier(g, "z", 1, 0);
    item(p, m, "pizza", 1400, 2, 1, 0, "size", "top");
    item(p, m, "wings", 1099, 1, 1, 0, "two", NULL);
    item(p, m, "combo", 999, 3, 1, 0, "size", "two");
    item(p, m, "open", 0, 0, 1, 0, "any", NULL);
    item(p, m, "huge", CS_CART_MAX_CENTS, 100000, 1, 0, NULL, NULL);
    item(p, m, "hidden", 100, 1, 0, 0, NULL, NULL);
    item(p, m, "out", 100, 1, 1, 1, NULL, NULL);
    item(p, m, "broken", 100, 1, 1, 0, "nosuch", NULL);
    return m;
}

static apr_int64_t num(const char *s)
{
    return s ? (apr_int64_t)strtoll(s, NULL, 10) : 0;
}

static void check_priced(const cs_cart_priced_t *o)
{
    if (!o->item || o->quantity < 1 || o->quantity > CS_CART_QTY_MAX
        || o->unit_cents < 0 || o->unit_cents > CS_CART_MAX_CENTS
        || o->line_cents != o->unit_cents * o->quantity || o->line_cents > CS_CART_MAX_CENTS
        || o->prep_points < o->quantity || o->prep_points > CS_CART_MAX_POINTS
        || !o->choices) {
        abort();
    }
}

static void check_failed(apr_status_t rv, const char *err, const cs_cart_priced_t *o)
{
    if ((rv != APR_EINVAL && rv != APR_BADARG) || !err || !*err || o->item
        || o->line_cents) {
        abort();
    }
    fuzz_touch_str(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    cs_menu_t *m = menu(p);
    apr_array_header_t *cart = apr_array_make(p, 4, sizeof(cs_cart_line_t));
    apr_array_header_t *stock = apr_array_make(p, 2, sizeof(cs_menu_stock_t));
    cs_cart_avail_t av = { stock, apr_time_from_sec(1000) };
    apr_int64_t tax = 82500;
    cs_cart_tip_t tip = { CS_CART_TIP_NONE, 0, 0 };
    cs_cart_fees_t fees = { 0, 0, 0 };
    int has_fees = 0, lines = 0, bad;
    apr_array_header_t *priced;
    cs_cart_totals_t t;
    const char *err;
    apr_status_t rv;
    cs_menu_stock_t *s;

    s = apr_array_push(stock);
    s->pos_id = "b"; s->sold_out = 1; s->until = apr_time_from_sec(2000);
    s = apr_array_push(stock);
    s->pos_id = "xl"; s->sold_out = 1; s->until = apr_time_from_sec(10);

    while (size && lines++ < 80) {
        char *line = fuzz_take_line(p, &data, &size), *last = NULL;
        char *w = apr_strtok(line, " ", &last);
        char *a1 = w ? apr_strtok(NULL, " ", &last) : NULL;
        char *a2 = a1 ? apr_strtok(NULL, " ", &last) : NULL;
        char *a3 = a2 ? apr_strtok(NULL, " ", &last) : NULL;

        if (!w) {
            continue;
        }
        if (!strcmp(w, "tax")) {
            tax = num(a1);
        }
        else if (!strcmp(w, "tip%")) {
            tip.kind = CS_CART_TIP_PERCENT;
            tip.percent_bp = (int)num(a1);
        }
        else if (!strcmp(w, "tip")) {
            tip.kind = CS_CART_TIP_CUSTOM;
            tip.cents = num(a1);
        }
        else if (!strcmp(w, "fee")) {
            has_fees = 1;
            fees.fixed_cents = num(a1);
            fees.percent_bp = (int)num(a2);
            fees.taxable = (int)num(a3);
        }
        else if (!strcmp(w, "qty")) {
            err = NULL;
            if (cs_cart_set_quantity(cart, (int)num(a1), (int)num(a2), &err) != APR_SUCCESS
                && !err) {
                abort();
            }
        }
        else if (!strcmp(w, "del")) {
            int n = cart->nelts;
            if (cs_cart_remove(cart, (int)num(a1)) == APR_SUCCESS && cart->nelts != n - 1) {
                abort();
            }
        }
        else if (!strcmp(w, "rate")) {
            apr_int64_t per = num(a3), r = cs_cart_rate_cents(num(a1), num(a2), per);
            if (r < -1 || (r >= 0 && r > num(a1))) {
                abort();
            }
        }
        else if (!strcmp(w, "pct")) {
            apr_int64_t ppm = -1;
            if (cs_cart_parse_percent(a1, &ppm) == APR_SUCCESS
                ? (ppm < 0 || ppm > CS_CART_PPM) : ppm != 0) {
                abort();
            }
        }
        else {
            cs_cart_line_t l;
            cs_cart_priced_t o;
            char *mod;

            l.item_id = w;
            l.quantity = (int)num(a1);
            l.modifier_ids = apr_array_make(p, 4, sizeof(const char *));
            if (a2) {
                APR_ARRAY_PUSH(l.modifier_ids, const char *) = a2;
            }
            if (a3) {
                APR_ARRAY_PUSH(l.modifier_ids, const char *) = a3;
                while ((mod = apr_strtok(NULL, " ", &last)) != NULL) {
                    APR_ARRAY_PUSH(l.modifier_ids, const char *) = mod;
                }
            }
            err = NULL;
            rv = cs_cart_price_line(p, m, &l, lines % 2 ? &av : NULL, &o, &err);
            if (rv == APR_SUCCESS) {
                if (err) {
                    abort();
                }
                check_priced(&o);
            }
            else {
                check_failed(rv, err, &o);
            }
            err = NULL;
            if (cs_cart_add(cart, &l, NULL, &err) != APR_SUCCESS && !err) {
                abort();
            }
            if (cart->nelts > CS_CART_MAX_LINES) {
                abort();
            }
        }
    }

    err = NULL;
    rv = cs_cart_price_all(p, m, cart, &av, &priced, &bad, &err);
    if (rv != APR_SUCCESS) {
        if (!err || priced || bad >= cart->nelts) {
            abort();
        }
        apr_pool_destroy(p);
        return 0;
    }
    if (priced->nelts != cart->nelts) {
        abort();
    }
    err = NULL;
    rv = cs_cart_totals(priced, tax, &tip, has_fees ? &fees : NULL, &t, p, &err);
    if (rv == APR_SUCCESS) {
        if (t.total_cents != t.subtotal_cents + t.fee_cents + t.tax_cents + t.tip_cents
            || t.total_cents > CS_CART_MAX_CENTS || t.subtotal_cents < 0 || t.fee_cents < 0
            || t.tax_cents != cs_cart_rate_cents(t.taxable_cents, tax, CS_CART_PPM)
            || t.tip_cents < 0 || t.prep_points < t.items) {
            abort();
        }
    }
    else if (!err || t.total_cents != 0) {
        abort();
    }
    apr_pool_destroy(p);
    return 0;
}
