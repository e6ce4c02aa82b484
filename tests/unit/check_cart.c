/* cs_cart: lines checked against the menu and priced from it, the rounding
 * rule (half a cent rounds up, tax once on the order), tips, fees, the
 * overflow guards and editing a cart. */
#include "unit.h"
#include "domain/cs_cart.h"

#include <apr_strings.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- a small pizzeria -------------------------------------------------- */

static cs_menu_group_t *group(cs_menu_t *m, const char *id, const char *name,
                              int min, int max)
{
    cs_menu_group_t *g = apr_array_push(m->groups);

    memset(g, 0, sizeof(*g));
    g->pos_id = id;
    g->name = name;
    g->min = min;
    g->max = max;
    g->modifiers = apr_array_make(unit_pool, 4, sizeof(cs_menu_modifier_t));
    return g;
}

static void modifier(cs_menu_group_t *g, const char *id, const char *name,
                     apr_int64_t cents, int sold_out)
{
    cs_menu_modifier_t *md = apr_array_push(g->modifiers);

    md->pos_id = id;
    md->name = name;
    md->price_cents = cents;
    md->sold_out = sold_out;
}

/* Group ids after @p prep, NULL-terminated. */
static cs_menu_item_t *item(cs_menu_t *m, const char *id, const char *name,
                            apr_int64_t cents, int prep, ...)
{
    cs_menu_item_t *it = apr_array_push(m->items);
    const char *gid;
    va_list ap;

    memset(it, 0, sizeof(*it));
    it->pos_id = id;
    it->category_id = "main";
    it->name = name;
    it->price_cents = cents;
    it->visible = 1;
    it->prep_points = prep;
    it->group_ids = apr_array_make(unit_pool, 2, sizeof(const char *));
    va_start(ap, prep);
    while ((gid = va_arg(ap, const char *)) != NULL) {
        APR_ARRAY_PUSH(it->group_ids, const char *) = gid;
    }
    va_end(ap);
    return it;
}

static cs_menu_t *pizzeria(void)
{
    cs_menu_t *m = cs_menu_make(unit_pool, "USD");
    cs_menu_category_t *c = apr_array_push(m->categories);
    cs_menu_group_t *g;
    const char *err = NULL;

    memset(c, 0, sizeof(*c));
    c->pos_id = "main";
    c->name = "Main";

    g = group(m, "size", "Size", 1, 1);
    modifier(g, "s12", "12-inch", 0, 0);
    modifier(g, "s16", "16-inch", 500, 0);
    modifier(g, "s20", "20-inch", 900, 1);
    g = group(m, "top", "Extra toppings", 0, 5);
    modifier(g, "mush", "Mushrooms", 150, 0);
    modifier(g, "pep", "Pepperoni", 200, 0);
    modifier(g, "olive", "Olives", 100, 0);
    modifier(g, "onion", "Onions", 100, 0);
    modifier(g, "jal", "Jalape\xc3\xb1os", 100, 0);
    modifier(g, "pine", "Pineapple", 150, 0);
    modifier(g, "bacon", "Bacon", 250, 0);
    g = group(m, "sauce", "Sauces", 2, 2);
    modifier(g, "ranch", "Ranch", 0, 0);
    modifier(g, "bbq", "BBQ", 0, 0);
    modifier(g, "garlic", "Garlic", 50, 0);
    g = group(m, "dress", "Choose a dressing", 1, 1);
    modifier(g, "caesar", "Caesar", 0, 0);
    modifier(g, "vin", "Vinaigrette", 0, 0);
    g = group(m, "dip", "Dips", 1, 3);
    modifier(g, "hummus", "Hummus", 200, 0);
    modifier(g, "tzatziki", "Tzatziki", 200, 0);
    g = group(m, "addon", "Add-ons", 0, 0);
    modifier(g, "nocheese", "No cheese", -100, 0);
    modifier(g, "extra", "Extra cheese", 150, 0);
    g = group(m, "egg", "Egg style", 1, 1);
    modifier(g, "fried", "Fried", 0, 0);

    item(m, "marg", "Margherita", 1400, 2, "size", "top", "addon", NULL);
    item(m, "wings", "Wings", 1099, 1, "sauce", NULL);
    item(m, "salad", "Caesar salad", 899, 1, "dress", NULL);
    item(m, "mezze", "Mezze", 1200, 1, "dip", NULL);
    item(m, "brunch", "Brunch plate", 1500, 1, "egg", NULL);
    item(m, "soda", "Soda", 250, 1, NULL);
    item(m, "staff", "Staff pie", 0, 1, NULL)->visible = 0;
    item(m, "ravioli", "Ravioli", 1600, 1, NULL)->sold_out = 1;
    item(m, "cheap", "Plain bread", 50, 1, "addon", NULL);
    ck_assert_int_eq(cs_menu_validate(m, unit_pool, &err), APR_SUCCESS);
    return m;
}

/* A line from "item qty mod mod ..." */
static cs_cart_line_t line_of(const char *spec)
{
    cs_cart_line_t l;
    char *s = apr_pstrdup(unit_pool, spec), *last = NULL, *tok;

    memset(&l, 0, sizeof(l));
    l.item_id = apr_strtok(s, " ", &last);
    l.quantity = atoi(apr_strtok(NULL, " ", &last));
    l.modifier_ids = apr_array_make(unit_pool, 4, sizeof(const char *));
    while ((tok = apr_strtok(NULL, " ", &last)) != NULL) {
        APR_ARRAY_PUSH(l.modifier_ids, const char *) = tok;
    }
    return l;
}

/* ---- pricing lines: a table -------------------------------------------- */

typedef struct {
    const char *spec;
    apr_status_t rv;
    apr_int64_t unit, line;
    int points;
    const char *err;
} price_case_t;

static const price_case_t price_cases[] = {
    /* prices come from the menu: item + modifiers, x quantity */
    { "marg 1 s12", APR_SUCCESS, 1400, 1400, 2, NULL },
    { "marg 2 s16", APR_SUCCESS, 1900, 3800, 4, NULL },
    { "marg 3 s16 mush pep", APR_SUCCESS, 2250, 6750, 6, NULL },
    { "marg 1 pep s12 mush", APR_SUCCESS, 1750, 1750, 2, NULL },
    { "marg 1 s12 mush pep olive onion jal", APR_SUCCESS, 2050, 2050, 2, NULL },
    { "marg 1 s12 nocheese", APR_SUCCESS, 1300, 1300, 2, NULL },
    { "marg 99 s12", APR_SUCCESS, 1400, 138600, 198, NULL },
    { "wings 1 ranch garlic", APR_SUCCESS, 1149, 1149, 1, NULL },
    { "salad 1 vin", APR_SUCCESS, 899, 899, 1, NULL },
    { "mezze 1 hummus tzatziki", APR_SUCCESS, 1600, 1600, 1, NULL },
    { "soda 4", APR_SUCCESS, 250, 1000, 4, NULL },
    /* quantity */
    { "soda 0", APR_EINVAL, 0, 0, 0, "Choose a quantity from 1 to 99" },
    { "soda 100", APR_EINVAL, 0, 0, 0, "Choose a quantity from 1 to 99" },
    { "soda -1", APR_EINVAL, 0, 0, 0, "Choose a quantity from 1 to 99" },
    /* the item */
    { "nope 1", APR_EINVAL, 0, 0, 0, "This item is no longer on the menu" },
    { "staff 1", APR_EINVAL, 0, 0, 0, "This item is no longer on the menu" },
    { "ravioli 1", APR_EINVAL, 0, 0, 0, "Ravioli is sold out" },
    /* required groups, min and max */
    { "marg 1", APR_EINVAL, 0, 0, 0, "Choose a size for Margherita" },
    { "marg 1 mush", APR_EINVAL, 0, 0, 0, "Choose a size for Margherita" },
    { "brunch 1", APR_EINVAL, 0, 0, 0, "Choose an egg style for Brunch plate" },
    { "salad 1", APR_EINVAL, 0, 0, 0, "Choose a dressing for Caesar salad" },
    { "marg 1 s12 s16", APR_EINVAL, 0, 0, 0, "Size: choose only one" },
    { "marg 1 s12 mush pep olive onion jal pine", APR_EINVAL, 0, 0, 0,
      "Extra toppings: at most 5" },
    { "wings 1 ranch", APR_EINVAL, 0, 0, 0, "Sauces: choose 2" },
    { "wings 1 ranch bbq garlic", APR_EINVAL, 0, 0, 0, "Sauces: at most 2" },
    { "mezze 1", APR_EINVAL, 0, 0, 0, "Dips: choose at least 1" },
    /* modifiers: belong to the item, once, available */
    { "marg 1 s12 ranch", APR_EINVAL, 0, 0, 0, "That option is not available for Margherita" },
    { "soda 1 s12", APR_EINVAL, 0, 0, 0, "That option is not available for Soda" },
    { "marg 1 s12 mush mush", APR_EINVAL, 0, 0, 0, "Mushrooms was chosen twice for Margherita" },
    { "marg 1 s20", APR_EINVAL, 0, 0, 0, "20-inch is sold out" },
    /* an item made cheaper than nothing is the menu's fault */
    { "cheap 1 nocheese", APR_BADARG, 0, 0, 0,
      "item 'cheap' with these modifiers costs less than nothing" },
};

START_TEST(test_lines_are_priced_from_the_menu_and_checked)
{
    const cs_menu_t *m = pizzeria();
    size_t i;

    for (i = 0; i < sizeof(price_cases) / sizeof(price_cases[0]); i++) {
        const price_case_t *c = &price_cases[i];
        cs_cart_line_t l = line_of(c->spec);
        cs_cart_priced_t out;
        const char *err = "unset";
        apr_status_t rv = cs_cart_price_line(unit_pool, m, &l, NULL, &out, &err);

        ck_assert_msg(rv == c->rv, "'%s': status %d, expected %d (%s)", c->spec, rv, c->rv,
                      err ? err : "no error");
        if (c->rv == APR_SUCCESS) {
            ck_assert_ptr_null(err);
            ck_assert_msg(out.unit_cents == c->unit && out.line_cents == c->line
                          && out.prep_points == c->points,
                          "'%s': unit %" APR_INT64_T_FMT " line %" APR_INT64_T_FMT
                          " points %d", c->spec, out.unit_cents, out.line_cents,
                          out.prep_points);
            ck_assert_int_eq(out.quantity, l.quantity);
        }
        else {
            ck_assert_msg(err && !strcmp(err, c->err), "'%s': got '%s', expected '%s'",
                          c->spec, err ? err : "(null)", c->err);
            ck_assert_ptr_null(out.item);
            ck_assert_int_eq(out.line_cents, 0);
        }
    }
}
END_TEST

START_TEST(test_choices_come_back_in_menu_order_whatever_was_sent)
{
    const cs_menu_t *m = pizzeria();
    cs_cart_line_t l = line_of("marg 1 extra pep s16 mush");
    cs_cart_priced_t out;
    const cs_cart_choice_t *c;

    ck_assert_int_eq(cs_cart_price_line(unit_pool, m, &l, NULL, &out, NULL), APR_SUCCESS);
    ck_assert_int_eq(out.choices->nelts, 4);
    c = (const cs_cart_choice_t *)out.choices->elts;
    ck_assert_str_eq(c[0].modifier->pos_id, "s16");
    ck_assert_str_eq(c[0].group->pos_id, "size");
    ck_assert_str_eq(c[1].modifier->pos_id, "mush");
    ck_assert_str_eq(c[2].modifier->pos_id, "pep");
    ck_assert_str_eq(c[3].modifier->pos_id, "extra");
    ck_assert_str_eq(c[3].group->pos_id, "addon");
    ck_assert_int_eq(out.unit_cents, 1400 + 500 + 150 + 200 + 150);
}
END_TEST

START_TEST(test_stock_marks_decide_over_the_menu_flags_until_they_lapse)
{
    const cs_menu_t *m = pizzeria();
    apr_array_header_t *stock = apr_array_make(unit_pool, 4, sizeof(cs_menu_stock_t));
    cs_cart_avail_t av = { stock, apr_time_from_sec(1000) };
    cs_cart_line_t l;
    cs_cart_priced_t out;
    const char *err;
    cs_menu_stock_t *s;

    s = apr_array_push(stock);
    s->pos_id = "marg"; s->sold_out = 1; s->until = 0;
    s = apr_array_push(stock);
    s->pos_id = "mush"; s->sold_out = 1; s->until = apr_time_from_sec(2000);
    s = apr_array_push(stock);
    s->pos_id = "ravioli"; s->sold_out = 0; s->until = 0;      /* back in */
    s = apr_array_push(stock);
    s->pos_id = "s20"; s->sold_out = 1; s->until = apr_time_from_sec(900); /* lapsed */

    l = line_of("marg 1 s12");
    ck_assert_int_eq(cs_cart_price_line(unit_pool, m, &l, &av, &out, &err), APR_EINVAL);
    ck_assert_str_eq(err, "Margherita is sold out");
    APR_ARRAY_IDX(stock, 0, cs_menu_stock_t).until = apr_time_from_sec(1000);
    ck_assert_int_eq(cs_cart_price_line(unit_pool, m, &l, &av, &out, &err), APR_SUCCESS);

    l = line_of("marg 1 s12 mush");
    ck_assert_int_eq(cs_cart_price_line(unit_pool, m, &l, &av, &out, &err), APR_EINVAL);
    ck_assert_str_eq(err, "Mushrooms is sold out");
    av.now = apr_time_from_sec(2000);
    ck_assert_int_eq(cs_cart_price_line(unit_pool, m, &l, &av, &out, &err), APR_SUCCESS);

    l = line_of("ravioli 1");
    ck_assert_int_eq(cs_cart_price_line(unit_pool, m, &l, &av, &out, &err), APR_SUCCESS);
    l = line_of("marg 1 s20");
    ck_assert_int_eq(cs_cart_price_line(unit_pool, m, &l, &av, &out, &err), APR_SUCCESS);
    ck_assert_int_eq(out.unit_cents, 2300);
}
END_TEST

START_TEST(test_a_menu_naming_a_missing_group_is_refused_not_skipped)
{
    cs_menu_t *m = pizzeria();
    cs_cart_line_t l = line_of("soda 1");
    cs_cart_priced_t out;
    const char *err;

    APR_ARRAY_PUSH(APR_ARRAY_IDX(m->items, 5, cs_menu_item_t).group_ids, const char *)
        = "gone";
    ck_assert_int_eq(cs_cart_price_line(unit_pool, m, &l, NULL, &out, &err), APR_BADARG);
    ck_assert_str_eq(err, "item 'soda' names an unknown modifier group 'gone'");
}
END_TEST

START_TEST(test_absurd_amounts_are_refused)
{
    cs_menu_t *m = pizzeria();
    cs_menu_item_t *it = &APR_ARRAY_IDX(m->items, 5, cs_menu_item_t);
    cs_cart_line_t l = line_of("soda 2");
    cs_cart_priced_t out;
    const char *err;

    it->price_cents = CS_CART_MAX_CENTS;
    ck_assert_int_eq(cs_cart_price_line(unit_pool, m, &l, NULL, &out, &err), APR_EINVAL);
    ck_assert_str_eq(err, "This order is too large to place online. Please call us to order.");
    l.quantity = 1;
    ck_assert_int_eq(cs_cart_price_line(unit_pool, m, &l, NULL, &out, &err), APR_SUCCESS);
    it->price_cents = CS_CART_MAX_CENTS + 1;
    ck_assert_int_eq(cs_cart_price_line(unit_pool, m, &l, NULL, &out, &err), APR_BADARG);
    it->price_cents = 100;
    it->prep_points = CS_CART_MAX_POINTS;
    l.quantity = 2;
    ck_assert_int_eq(cs_cart_price_line(unit_pool, m, &l, NULL, &out, &err), APR_EINVAL);
    it->prep_points = 0;            /* not a valid menu, but counts as 1 */
    ck_assert_int_eq(cs_cart_price_line(unit_pool, m, &l, NULL, &out, &err), APR_SUCCESS);
    ck_assert_int_eq(out.prep_points, 2);
}
END_TEST

START_TEST(test_price_all_names_the_line_refused)
{
    const cs_menu_t *m = pizzeria();
    apr_array_header_t *lines = apr_array_make(unit_pool, 4, sizeof(cs_cart_line_t));
    apr_array_header_t *priced;
    const char *err;
    int bad;

    ck_assert_int_eq(cs_cart_price_all(unit_pool, m, lines, NULL, &priced, &bad, &err),
                     APR_EINVAL);
    ck_assert_str_eq(err, "Your cart is empty");
    ck_assert_int_eq(bad, -1);
    APR_ARRAY_PUSH(lines, cs_cart_line_t) = line_of("soda 2");
    APR_ARRAY_PUSH(lines, cs_cart_line_t) = line_of("wings 1 ranch");
    ck_assert_int_eq(cs_cart_price_all(unit_pool, m, lines, NULL, &priced, &bad, &err),
                     APR_EINVAL);
    ck_assert_int_eq(bad, 1);
    ck_assert_ptr_null(priced);
    ck_assert_str_eq(err, "Sauces: choose 2");
    APR_ARRAY_IDX(lines, 1, cs_cart_line_t) = line_of("wings 1 ranch bbq");
    ck_assert_int_eq(cs_cart_price_all(unit_pool, m, lines, NULL, &priced, &bad, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(priced->nelts, 2);
    ck_assert_int_eq(APR_ARRAY_IDX(priced, 1, cs_cart_priced_t).line_cents, 1099);
}
END_TEST

/* ---- the rounding rule --------------------------------------------------- */

typedef struct {
    apr_int64_t cents, rate, per, want;
} rate_case_t;

#define PPM CS_CART_PPM
#define BP  CS_CART_BP

static const rate_case_t rate_cases[] = {
    /* tax rates in millionths */
    { 1001, 82500, PPM, 83 },       /* 8.25 % of $10.01 = 82.5825 c */
    { 1000, 88750, PPM, 89 },       /* 8.875 % of $10.00 = 88.75 c */
    { 400, 88750, PPM, 36 },        /* 8.875 % of $4.00 = 35.5 c: a tie, up */
    { 200, 82500, PPM, 17 },        /* 8.25 % of $2.00 = 16.5 c: up (banker's: 16) */
    { 10, 50000, PPM, 1 },          /* 5 % of $0.10 = 0.5 c: up (banker's: 0) */
    { 9, 50000, PPM, 0 },           /* 0.45 c: down */
    { 25, 60000, PPM, 2 },          /* 1.5 c: up (banker's too) */
    { 75, 60000, PPM, 5 },          /* 4.5 c: up (banker's: 4) */
    { 100, 72500, PPM, 7 },         /* 7.25 c */
    { 1, 88750, PPM, 0 },
    { 2999, 102500, PPM, 307 },     /* 10.25 % of $29.99 = 307.3975 c */
    { 1234, 0, PPM, 0 },
    { 1234, PPM, PPM, 1234 },
    { CS_CART_MAX_CENTS, PPM, PPM, CS_CART_MAX_CENTS },
    { CS_CART_MAX_CENTS, 88750, PPM, 887500 },
    /* tips and fees in basis points */
    { 2347, 1800, BP, 422 },        /* 18 % of $23.47 = 422.46 c */
    { 1010, 1500, BP, 152 },        /* 15 % of $10.10 = 151.5 c: up */
    { 225, 2000, BP, 45 },
    { 333, 300, BP, 10 },           /* 3 % of $3.33 = 9.99 c */
    /* refused */
    { -1, 100, BP, -1 },
    { CS_CART_MAX_CENTS + 1, 100, BP, -1 },
    { 100, BP + 1, BP, -1 },
    { 100, -1, BP, -1 },
    { 100, 5, 100, -1 },
};

START_TEST(test_rates_round_half_a_cent_up)
{
    size_t i;

    for (i = 0; i < sizeof(rate_cases) / sizeof(rate_cases[0]); i++) {
        const rate_case_t *c = &rate_cases[i];
        apr_int64_t got = cs_cart_rate_cents(c->cents, c->rate, c->per);
        ck_assert_msg(got == c->want, "%" APR_INT64_T_FMT " x %" APR_INT64_T_FMT " / %"
                      APR_INT64_T_FMT ": %" APR_INT64_T_FMT ", expected %" APR_INT64_T_FMT,
                      c->cents, c->rate, c->per, got, c->want);
    }
}
END_TEST

START_TEST(test_percent_text_becomes_exact_millionths)
{
    static const struct { const char *in; apr_int64_t ppm; } ok[] = {
        { "8.875", 88750 }, { "8.25", 82500 }, { "7", 70000 }, { "0", 0 },
        { "10.25", 102500 }, { "100", 1000000 }, { "6.5625", 65625 }, { "0.0001", 1 },
    };
    static const char *bad[] = { "", ".5", "5.", "8.87501", "100.0001", "101", "-1",
                                 "8,875", "8.875%", " 8", "1e2", "1000" };
    apr_int64_t v;
    size_t i;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        ck_assert_msg(cs_cart_parse_percent(ok[i].in, &v) == APR_SUCCESS && v == ok[i].ppm,
                      "'%s' -> %" APR_INT64_T_FMT, ok[i].in, v);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(cs_cart_parse_percent(bad[i], &v) == APR_EINVAL, "'%s' accepted", bad[i]);
    }
    ck_assert_int_eq(cs_cart_parse_percent(NULL, &v), APR_EINVAL);
}
END_TEST

/* ---- totals: a table ----------------------------------------------------- */

static const cs_menu_item_t dummy_item = { "x", "main", "X", NULL, NULL, 0, 0, 1, 1, 0, NULL };

/* Priced lines of quantity 1 at these cents (0-terminated). */
static apr_array_header_t *priced_of(const apr_int64_t *cents)
{
    apr_array_header_t *a = apr_array_make(unit_pool, 4, sizeof(cs_cart_priced_t));

    for (; *cents; cents++) {
        cs_cart_priced_t *l = apr_array_push(a);
        memset(l, 0, sizeof(*l));
        l->item = &dummy_item;
        l->quantity = 1;
        l->unit_cents = l->line_cents = *cents;
        l->prep_points = 1;
    }
    return a;
}

typedef struct {
    const char *what;
    apr_int64_t lines[4];
    apr_int64_t tax_ppm;
    cs_cart_tip_t tip;
    cs_cart_fees_t fees;
    int has_fees;
    apr_int64_t subtotal, fee, taxable, tax, tip_cents, total;
} totals_case_t;

static const totals_case_t totals_cases[] = {
    { "8.25% of $10.01", { 1001 }, 82500, { 0 }, { 0 }, 0,
      1001, 0, 1001, 83, 0, 1084 },
    { "8.875% NYC", { 1000 }, 88750, { 0 }, { 0 }, 0,
      1000, 0, 1000, 89, 0, 1089 },
    /* tax once on the order: 3 x 35.5 c would be 36+36+36 per line, but the
     * order's 106.5 c rounds once to 107 */
    { "once, not per line", { 400, 400, 400 }, 88750, { 0 }, { 0 }, 0,
      1200, 0, 1200, 107, 0, 1307 },
    { "a tie rounds up", { 200 }, 82500, { 0 }, { 0 }, 0,
      200, 0, 200, 17, 0, 217 },
    { "18% tip of the subtotal, untaxed", { 2347 }, 82500, { CS_CART_TIP_PERCENT, 1800, 0 },
      { 0 }, 0, 2347, 0, 2347, 194, 422, 2963 },
    { "15% tip with a tie", { 1010 }, 0, { CS_CART_TIP_PERCENT, 1500, 0 }, { 0 }, 0,
      1010, 0, 1010, 0, 152, 1162 },
    { "custom tip", { 1500 }, 70000, { CS_CART_TIP_CUSTOM, 0, 300 }, { 0 }, 0,
      1500, 0, 1500, 105, 300, 1905 },
    { "no tip kind", { 1500 }, 70000, { CS_CART_TIP_NONE, 2000, 999 }, { 0 }, 0,
      1500, 0, 1500, 105, 0, 1605 },
    { "taxable fixed fee", { 2000 }, 82500, { 0 }, { 199, 0, 1 }, 1,
      2000, 199, 2199, 181, 0, 2380 },      /* 181.4175 */
    { "untaxed fixed fee", { 2000 }, 82500, { 0 }, { 199, 0, 0 }, 1,
      2000, 199, 2000, 165, 0, 2364 },
    { "percent fee rounds on its own", { 1010 }, 0, { 0 }, { 0, 350, 1 }, 1,
      1010, 35, 1045, 0, 0, 1045 },         /* 3.5 % of 1010 = 35.35 */
    { "fixed + percent fee, taxed, tip", { 1999, 1001 }, 88750,
      { CS_CART_TIP_PERCENT, 2000, 0 }, { 100, 300, 1 }, 1,
      3000, 190, 3190, 283, 600, 4073 },    /* 283.1125 */
};

START_TEST(test_totals_follow_the_rounding_rule)
{
    size_t i;

    for (i = 0; i < sizeof(totals_cases) / sizeof(totals_cases[0]); i++) {
        const totals_case_t *c = &totals_cases[i];
        cs_cart_totals_t t;
        const char *err = "unset";

        ck_assert_msg(cs_cart_totals(priced_of(c->lines), c->tax_ppm, &c->tip,
                                     c->has_fees ? &c->fees : NULL, &t, unit_pool, &err)
                      == APR_SUCCESS, "%s: %s", c->what, err);
        ck_assert_ptr_null(err);
        ck_assert_msg(t.subtotal_cents == c->subtotal && t.fee_cents == c->fee
                      && t.taxable_cents == c->taxable && t.tax_cents == c->tax
                      && t.tip_cents == c->tip_cents && t.total_cents == c->total,
                      "%s: subtotal %" APR_INT64_T_FMT " fee %" APR_INT64_T_FMT
                      " taxable %" APR_INT64_T_FMT " tax %" APR_INT64_T_FMT
                      " tip %" APR_INT64_T_FMT " total %" APR_INT64_T_FMT, c->what,
                      t.subtotal_cents, t.fee_cents, t.taxable_cents, t.tax_cents,
                      t.tip_cents, t.total_cents);
        ck_assert_int_eq(t.total_cents,
                         t.subtotal_cents + t.fee_cents + t.tax_cents + t.tip_cents);
    }
}
END_TEST

START_TEST(test_totals_count_items_and_kitchen_points)
{
    const cs_menu_t *m = pizzeria();
    apr_array_header_t *lines = apr_array_make(unit_pool, 4, sizeof(cs_cart_line_t));
    apr_array_header_t *priced;
    cs_cart_totals_t t;
    int bad;

    APR_ARRAY_PUSH(lines, cs_cart_line_t) = line_of("marg 2 s16 mush");
    APR_ARRAY_PUSH(lines, cs_cart_line_t) = line_of("soda 3");
    ck_assert_int_eq(cs_cart_price_all(unit_pool, m, lines, NULL, &priced, &bad, NULL),
                     APR_SUCCESS);
    ck_assert_int_eq(cs_cart_totals(priced, 82500, NULL, NULL, &t, unit_pool, NULL),
                     APR_SUCCESS);
    ck_assert_int_eq(t.items, 5);
    ck_assert_int_eq(t.prep_points, 2 * 2 + 3);
    ck_assert_int_eq(t.subtotal_cents, 2 * 2050 + 3 * 250);
    ck_assert_int_eq(t.tax_cents, 400);         /* 4850 x 8.25 % = 400.125 */
}
END_TEST

START_TEST(test_totals_refuse_what_is_out_of_range)
{
    apr_int64_t one[] = { 1000, 0 };
    apr_int64_t big[] = { CS_CART_MAX_CENTS, 1, 0 };
    apr_int64_t max[] = { CS_CART_MAX_CENTS, 0 };
    cs_cart_tip_t tip = { CS_CART_TIP_CUSTOM, 0, 10001 };
    cs_cart_fees_t fees = { -1, 0, 0 };
    apr_array_header_t *pr;
    cs_cart_totals_t t;
    const char *err;

    ck_assert_int_eq(cs_cart_totals(priced_of(big), 0, NULL, NULL, &t, unit_pool, &err),
                     APR_EINVAL);
    ck_assert_str_eq(err, "This order is too large to place online. Please call us to order.");
    ck_assert_int_eq(t.subtotal_cents, 0);
    /* the subtotal fits, the total with tax does not */
    ck_assert_int_eq(cs_cart_totals(priced_of(max), 10, NULL, NULL, &t, unit_pool, &err),
                     APR_EINVAL);
    ck_assert_int_eq(cs_cart_totals(priced_of(max), 0, NULL, NULL, &t, unit_pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(cs_cart_totals(priced_of(one), CS_CART_PPM + 1, NULL, NULL, &t,
                                    unit_pool, &err), APR_BADARG);
    ck_assert_int_eq(cs_cart_totals(priced_of(one), -1, NULL, NULL, &t, unit_pool, &err),
                     APR_BADARG);
    ck_assert_int_eq(cs_cart_totals(priced_of(one), 0, NULL, &fees, &t, unit_pool, &err),
                     APR_BADARG);
    fees.fixed_cents = 0;
    fees.percent_bp = CS_CART_BP + 1;
    ck_assert_int_eq(cs_cart_totals(priced_of(one), 0, NULL, &fees, &t, unit_pool, &err),
                     APR_BADARG);
    /* a custom tip: up to the larger of the subtotal and $100 */
    ck_assert_int_eq(cs_cart_totals(priced_of(one), 0, &tip, NULL, &t, unit_pool, &err),
                     APR_EINVAL);
    ck_assert_str_eq(err, "A tip can be at most 100.00");
    tip.cents = 10000;
    ck_assert_int_eq(cs_cart_totals(priced_of(one), 0, &tip, NULL, &t, unit_pool, &err),
                     APR_SUCCESS);
    tip.cents = -1;
    ck_assert_int_eq(cs_cart_totals(priced_of(one), 0, &tip, NULL, &t, unit_pool, &err),
                     APR_EINVAL);
    ck_assert_str_eq(err, "A tip cannot be negative");
    tip.kind = CS_CART_TIP_PERCENT;
    tip.percent_bp = 10001;
    ck_assert_int_eq(cs_cart_totals(priced_of(one), 0, &tip, NULL, &t, unit_pool, &err),
                     APR_EINVAL);
    tip.kind = (cs_cart_tip_kind_t)7;
    ck_assert_int_eq(cs_cart_totals(priced_of(one), 0, &tip, NULL, &t, unit_pool, &err),
                     APR_BADARG);
    /* an empty cart, and a line not made by cs_cart_price_line */
    pr = priced_of(one);
    ck_assert_int_eq(cs_cart_totals(NULL, 0, NULL, NULL, &t, unit_pool, &err), APR_EINVAL);
    ck_assert_str_eq(err, "Your cart is empty");
    APR_ARRAY_IDX(pr, 0, cs_cart_priced_t).line_cents = 999;
    ck_assert_int_eq(cs_cart_totals(pr, 0, NULL, NULL, &t, unit_pool, &err), APR_BADARG);
}
END_TEST

/* ---- editing a cart ------------------------------------------------------ */

START_TEST(test_adding_the_same_thing_grows_its_line)
{
    apr_array_header_t *cart = apr_array_make(unit_pool, 4, sizeof(cs_cart_line_t));
    cs_cart_line_t a = line_of("marg 2 s16 mush"), b = line_of("marg 1 mush s16"),
                   c = line_of("marg 1 s16");
    const char *err;
    int idx;

    ck_assert_int_eq(cs_cart_add(cart, &a, &idx, &err), APR_SUCCESS);
    ck_assert_int_eq(idx, 0);
    ck_assert_int_eq(cs_cart_add(cart, &b, &idx, &err), APR_SUCCESS);
    ck_assert_int_eq(idx, 0);
    ck_assert_int_eq(cart->nelts, 1);
    ck_assert_int_eq(APR_ARRAY_IDX(cart, 0, cs_cart_line_t).quantity, 3);
    ck_assert_int_eq(cs_cart_add(cart, &c, &idx, &err), APR_SUCCESS);
    ck_assert_int_eq(idx, 1);
    ck_assert(!cs_cart_line_same(&a, &c));
    ck_assert(cs_cart_line_same(&a, &b));

    b.quantity = 97;
    ck_assert_int_eq(cs_cart_add(cart, &b, &idx, &err), APR_EINVAL);
    ck_assert_str_eq(err, "At most 99 of one item");
    b.quantity = 96;
    ck_assert_int_eq(cs_cart_add(cart, &b, &idx, &err), APR_SUCCESS);
    ck_assert_int_eq(APR_ARRAY_IDX(cart, 0, cs_cart_line_t).quantity, 99);

    a = line_of("marg 1 s16 s16");
    ck_assert_int_eq(cs_cart_add(cart, &a, &idx, &err), APR_EINVAL);
    ck_assert_str_eq(err, "An option was chosen twice");
    a = line_of("soda 0");
    ck_assert_int_eq(cs_cart_add(cart, &a, &idx, &err), APR_EINVAL);

    ck_assert_int_eq(cs_cart_set_quantity(cart, 1, 5, &err), APR_SUCCESS);
    ck_assert_int_eq(APR_ARRAY_IDX(cart, 1, cs_cart_line_t).quantity, 5);
    ck_assert_int_eq(cs_cart_set_quantity(cart, 1, 100, &err), APR_EINVAL);
    ck_assert_int_eq(cs_cart_set_quantity(cart, 2, 1, &err), APR_EINVAL);
    ck_assert_str_eq(err, "That line is no longer in your cart");
    ck_assert_int_eq(cs_cart_set_quantity(cart, 0, 0, &err), APR_SUCCESS);
    ck_assert_int_eq(cart->nelts, 1);
    ck_assert_int_eq(APR_ARRAY_IDX(cart, 0, cs_cart_line_t).quantity, 5);
    ck_assert_int_eq(cs_cart_remove(cart, 1), APR_EINVAL);
    ck_assert_int_eq(cs_cart_remove(cart, 0), APR_SUCCESS);
    ck_assert_int_eq(cart->nelts, 0);
}
END_TEST

START_TEST(test_a_cart_holds_at_most_fifty_lines)
{
    apr_array_header_t *cart = apr_array_make(unit_pool, 4, sizeof(cs_cart_line_t));
    const char *err;
    int i;

    for (i = 0; i < CS_CART_MAX_LINES; i++) {
        cs_cart_line_t l = line_of(apr_psprintf(unit_pool, "item%d 1", i));
        ck_assert_int_eq(cs_cart_add(cart, &l, NULL, &err), APR_SUCCESS);
    }
    {
        cs_cart_line_t l = line_of("one-more 1");
        ck_assert_int_eq(cs_cart_add(cart, &l, NULL, &err), APR_EINVAL);
        ck_assert_str_eq(err, "A cart holds at most 50 lines");
    }
}
END_TEST

Suite *cart_suite(void)
{
    Suite *s = suite_create("cart");
    TCase *tc = tcase_create("cart");

    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_lines_are_priced_from_the_menu_and_checked);
    tcase_add_test(tc, test_choices_come_back_in_menu_order_whatever_was_sent);
    tcase_add_test(tc, test_stock_marks_decide_over_the_menu_flags_until_they_lapse);
    tcase_add_test(tc, test_a_menu_naming_a_missing_group_is_refused_not_skipped);
    tcase_add_test(tc, test_absurd_amounts_are_refused);
    tcase_add_test(tc, test_price_all_names_the_line_refused);
    tcase_add_test(tc, test_rates_round_half_a_cent_up);
    tcase_add_test(tc, test_percent_text_becomes_exact_millionths);
    tcase_add_test(tc, test_totals_follow_the_rounding_rule);
    tcase_add_test(tc, test_totals_count_items_and_kitchen_points);
    tcase_add_test(tc, test_totals_refuse_what_is_out_of_range);
    tcase_add_test(tc, test_adding_the_same_thing_grows_its_line);
    tcase_add_test(tc, test_a_cart_holds_at_most_fifty_lines);
    suite_add_tcase(s, tc);
    return s;
}
