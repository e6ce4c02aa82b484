/* The cart (cs_cart.h): lines checked against the menu, exact totals. */
#include "domain/cs_cart.h"

#include <apr_strings.h>
#include <apr_lib.h>
#include <string.h>
#include <strings.h>

#define GUEST(...) do {                                                     \
        if (perr) { *perr = apr_psprintf(p, __VA_ARGS__); }                 \
        return APR_EINVAL;                                                  \
    } while (0)
#define CONFIG(...) do {                                                    \
        if (perr) { *perr = apr_psprintf(p, __VA_ARGS__); }                 \
        return APR_BADARG;                                                  \
    } while (0)

static const char too_large[] =
    "This order is too large to place online. Please call us to order.";

/* ---- money --------------------------------------------------------------- */

apr_int64_t cs_cart_rate_cents(apr_int64_t cents, apr_int64_t rate, apr_int64_t per)
{
    if ((per != CS_CART_BP && per != CS_CART_PPM) || cents < 0
        || cents > CS_CART_MAX_CENTS || rate < 0 || rate > per) {
        return -1;
    }
    /* At most 1e7 x 1e6 = 1e13: no overflow. Non-negative, so adding half
     * the divisor and truncating is rounding half up. */
    return (cents * rate + per / 2) / per;
}

apr_status_t cs_cart_parse_percent(const char *text, apr_int64_t *pppm)
{
    const char *s = text;
    apr_int64_t whole = 0, frac = 0;
    int digits = 0, fdigits = 0;

    *pppm = 0;
    if (!s) {
        return APR_EINVAL;
    }
    for (; *s >= '0' && *s <= '9'; s++) {
        if (++digits > 3) {
            return APR_EINVAL;
        }
        whole = whole * 10 + (*s - '0');
    }
    if (!digits) {
        return APR_EINVAL;
    }
    if (*s == '.') {
        for (s++; *s >= '0' && *s <= '9'; s++) {
            if (++fdigits > 4) {
                return APR_EINVAL;
            }
            frac = frac * 10 + (*s - '0');
        }
        if (!fdigits) {
            return APR_EINVAL;
        }
    }
    if (*s) {
        return APR_EINVAL;
    }
    for (; fdigits < 4; fdigits++) {
        frac *= 10;
    }
    /* percent x 10^4 = millionths of the whole */
    if (whole * 10000 + frac > CS_CART_PPM) {
        return APR_EINVAL;
    }
    *pppm = whole * 10000 + frac;
    return APR_SUCCESS;
}

/* ---- menu lookups -------------------------------------------------------- */

static const cs_menu_item_t *find_item(const cs_menu_t *m, const char *id)
{
    int i;

    for (i = 0; m->items && i < m->items->nelts; i++) {
        const cs_menu_item_t *it = &APR_ARRAY_IDX(m->items, i, cs_menu_item_t);
        if (it->pos_id && !strcmp(it->pos_id, id)) {
            return it;
        }
    }
    return NULL;
}

static const cs_menu_group_t *find_group(const cs_menu_t *m, const char *id)
{
    int i;

    for (i = 0; id && m->groups && i < m->groups->nelts; i++) {
        const cs_menu_group_t *g = &APR_ARRAY_IDX(m->groups, i, cs_menu_group_t);
        if (g->pos_id && !strcmp(g->pos_id, id)) {
            return g;
        }
    }
    return NULL;
}

/* A current mark in @p a decides; without one the menu's own flag does. */
static int is_sold_out(const cs_cart_avail_t *a, const char *id, int flag)
{
    int i;

    for (i = 0; a && a->stock && i < a->stock->nelts; i++) {
        const cs_menu_stock_t *s = &APR_ARRAY_IDX(a->stock, i, cs_menu_stock_t);
        if (s->pos_id && !strcmp(s->pos_id, id)) {
            if (s->until != 0 && a->now != 0 && s->until <= a->now) {
                return 0;   /* the mark lapsed: newer than the menu's flag */
            }
            return s->sold_out != 0;
        }
    }
    return flag != 0;
}

/* ---- guest messages ------------------------------------------------------ */

static int starts_with_word(const char *s, const char *w)
{
    size_t n = strlen(w);

    return !strncasecmp(s, w, n) && s[n] == ' ';
}

/* "Choose a size for Margherita" from the group "Size": the name lowercased
 * unless it looks like an acronym ("BBQ sauce"), with its article; a name
 * that already says it ("Choose a crust") is used as it is. */
static const char *choose_one(apr_pool_t *p, const char *group, const char *item)
{
    char *g;

    if (starts_with_word(group, "choose") || starts_with_word(group, "pick")
        || starts_with_word(group, "select")) {
        return apr_psprintf(p, "%s for %s", group, item);
    }
    g = apr_pstrdup(p, group);
    if (!g[0]) {
        return apr_psprintf(p, "Choose an option for %s", item);
    }
    if (apr_isupper(g[0]) && !apr_isupper(g[1])) {
        g[0] = (char)apr_tolower(g[0]);
    }
    return apr_psprintf(p, "Choose %s %s for %s",
                        strchr("aeiouAEIOU", g[0]) ? "an" : "a", g, item);
}

/* ---- pricing a line ------------------------------------------------------ */

/* Position of modifier @p id in group @p g, or -1. */
static int modifier_index(const cs_menu_group_t *g, const char *id)
{
    int j;

    for (j = 0; g->modifiers && j < g->modifiers->nelts; j++) {
        const cs_menu_modifier_t *md = &APR_ARRAY_IDX(g->modifiers, j, cs_menu_modifier_t);
        if (md->pos_id && !strcmp(md->pos_id, id)) {
            return j;
        }
    }
    return -1;
}

typedef struct {
    int group;      /* index among the item's groups */
    int mod;        /* index in that group */
} pick_t;

apr_status_t cs_cart_price_line(apr_pool_t *p, const cs_menu_t *menu,
                                const cs_cart_line_t *line,
                                const cs_cart_avail_t *avail,
                                cs_cart_priced_t *out, const char **perr)
{
    const cs_menu_group_t *groups[CS_CART_MAX_CHOICES];
    pick_t picks[CS_CART_MAX_CHOICES];
    int counts[CS_CART_MAX_CHOICES] = {0};
    const cs_menu_item_t *it;
    const char *name;
    int ngroups, nchosen, i, j, g;
    apr_int64_t unit;

    memset(out, 0, sizeof(*out));
    if (perr) {
        *perr = NULL;
    }
    if (!menu || !line) {
        CONFIG("no menu or no line to price");
    }
    if (line->quantity < 1 || line->quantity > CS_CART_QTY_MAX) {
        GUEST("Choose a quantity from 1 to %d", CS_CART_QTY_MAX);
    }
    it = line->item_id ? find_item(menu, line->item_id) : NULL;
    if (!it || !it->visible || !it->name) {
        GUEST("This item is no longer on the menu");
    }
    name = it->name;
    if (is_sold_out(avail, it->pos_id, it->sold_out)) {
        GUEST("%s is sold out", name);
    }
    if (it->price_cents < 0 || it->price_cents > CS_CART_MAX_CENTS) {
        CONFIG("item '%s' has a price out of range", it->pos_id);
    }

    ngroups = it->group_ids ? it->group_ids->nelts : 0;
    if (ngroups > CS_CART_MAX_CHOICES) {
        CONFIG("item '%s' has more than %d modifier groups", it->pos_id,
               CS_CART_MAX_CHOICES);
    }
    for (g = 0; g < ngroups; g++) {
        const char *gid = APR_ARRAY_IDX(it->group_ids, g, const char *);
        if (!(groups[g] = find_group(menu, gid)) || !groups[g]->name) {
            CONFIG("item '%s' names an unknown modifier group '%s'", it->pos_id,
                   gid ? gid : "");
        }
    }

    nchosen = line->modifier_ids ? line->modifier_ids->nelts : 0;
    if (nchosen > CS_CART_MAX_CHOICES) {
        GUEST("Too many options chosen for %s", name);
    }
    unit = it->price_cents;
    for (i = 0; i < nchosen; i++) {
        const char *id = APR_ARRAY_IDX(line->modifier_ids, i, const char *);
        const cs_menu_modifier_t *md;

        picks[i].group = picks[i].mod = -1;
        for (g = 0; id && *id && g < ngroups && picks[i].mod < 0; g++) {
            if ((picks[i].mod = modifier_index(groups[g], id)) >= 0) {
                picks[i].group = g;
            }
        }
        if (picks[i].mod < 0) {
            GUEST("That option is not available for %s", name);
        }
        md = &APR_ARRAY_IDX(groups[picks[i].group]->modifiers, picks[i].mod,
                            cs_menu_modifier_t);
        for (j = 0; j < i; j++) {
            if (picks[j].group == picks[i].group && picks[j].mod == picks[i].mod) {
                GUEST("%s was chosen twice for %s", md->name ? md->name : "An option",
                      name);
            }
        }
        if (is_sold_out(avail, md->pos_id, md->sold_out)) {
            GUEST("%s is sold out", md->name ? md->name : "That option");
        }
        if (md->price_cents < -CS_CART_MAX_CENTS || md->price_cents > CS_CART_MAX_CENTS) {
            CONFIG("modifier '%s' has a price out of range", md->pos_id);
        }
        /* |unit| stays below 33 x 1e7: no overflow before the check below. */
        unit += md->price_cents;
        counts[picks[i].group]++;
    }

    for (g = 0; g < ngroups; g++) {
        const cs_menu_group_t *gr = groups[g];
        if (counts[g] < gr->min) {
            if (gr->min == 1 && gr->max == 1) {
                GUEST("%s", choose_one(p, gr->name, name));
            }
            if (gr->min == gr->max) {
                GUEST("%s: choose %d", gr->name, gr->min);
            }
            GUEST("%s: choose at least %d", gr->name, gr->min);
        }
        if (gr->max > 0 && counts[g] > gr->max) {
            if (gr->max == 1) {
                GUEST("%s: choose only one", gr->name);
            }
            GUEST("%s: at most %d", gr->name, gr->max);
        }
    }

    if (unit < 0) {
        CONFIG("item '%s' with these modifiers costs less than nothing", it->pos_id);
    }
    if (unit > CS_CART_MAX_CENTS || unit * line->quantity > CS_CART_MAX_CENTS) {
        GUEST("%s", too_large);
    }

    /* The choices in menu order, so the same order prints and sends the
     * same way whatever order the browser listed them in. */
    out->choices = apr_array_make(p, nchosen ? nchosen : 1, sizeof(cs_cart_choice_t));
    for (g = 0; g < ngroups; g++) {
        int nm = groups[g]->modifiers ? groups[g]->modifiers->nelts : 0;
        int m;
        for (m = 0; m < nm && counts[g]; m++) {
            for (i = 0; i < nchosen; i++) {
                if (picks[i].group == g && picks[i].mod == m) {
                    cs_cart_choice_t *c = apr_array_push(out->choices);
                    c->group = groups[g];
                    c->modifier = &APR_ARRAY_IDX(groups[g]->modifiers, m,
                                                 cs_menu_modifier_t);
                }
            }
        }
    }
    out->item = it;
    out->quantity = line->quantity;
    out->unit_cents = unit;
    out->line_cents = unit * line->quantity;
    out->prep_points = (it->prep_points >= 1 ? it->prep_points : 1);
    if (out->prep_points > CS_CART_MAX_POINTS / line->quantity) {
        memset(out, 0, sizeof(*out));
        GUEST("%s", too_large);
    }
    out->prep_points *= line->quantity;
    return APR_SUCCESS;
}

apr_status_t cs_cart_price_all(apr_pool_t *p, const cs_menu_t *menu,
                               const apr_array_header_t *lines,
                               const cs_cart_avail_t *avail,
                               apr_array_header_t **ppriced, int *pbad,
                               const char **perr)
{
    apr_status_t rv;
    int i;

    *ppriced = NULL;
    *pbad = -1;
    if (perr) {
        *perr = NULL;
    }
    if (!lines || lines->nelts == 0) {
        GUEST("Your cart is empty");
    }
    if (lines->nelts > CS_CART_MAX_LINES) {
        GUEST("A cart holds at most %d lines", CS_CART_MAX_LINES);
    }
    *ppriced = apr_array_make(p, lines->nelts, sizeof(cs_cart_priced_t));
    for (i = 0; i < lines->nelts; i++) {
        cs_cart_priced_t *out = apr_array_push(*ppriced);
        rv = cs_cart_price_line(p, menu, &APR_ARRAY_IDX(lines, i, cs_cart_line_t),
                                avail, out, perr);
        if (rv != APR_SUCCESS) {
            *ppriced = NULL;
            *pbad = i;
            return rv;
        }
    }
    return APR_SUCCESS;
}

/* ---- totals -------------------------------------------------------------- */

static apr_status_t totals(const apr_array_header_t *priced, apr_int64_t tax_rate_ppm,
                           const cs_cart_tip_t *tip, const cs_cart_fees_t *fees,
                           cs_cart_totals_t *t, apr_pool_t *p, const char **perr)
{
    int i;

    if (tax_rate_ppm < 0 || tax_rate_ppm > CS_CART_PPM) {
        CONFIG("the tax rate is not between 0 and 100%%");
    }
    if (fees && (fees->fixed_cents < 0 || fees->fixed_cents > CS_CART_MAX_CENTS
                 || fees->percent_bp < 0 || fees->percent_bp > CS_CART_BP)) {
        CONFIG("the fees are out of range");
    }
    if (!priced || priced->nelts == 0) {
        GUEST("Your cart is empty");
    }
    if (priced->nelts > CS_CART_MAX_LINES) {
        GUEST("A cart holds at most %d lines", CS_CART_MAX_LINES);
    }
    for (i = 0; i < priced->nelts; i++) {
        const cs_cart_priced_t *l = &APR_ARRAY_IDX(priced, i, cs_cart_priced_t);
        if (!l->item || l->quantity < 1 || l->quantity > CS_CART_QTY_MAX
            || l->line_cents < 0 || l->line_cents > CS_CART_MAX_CENTS
            || l->line_cents != l->unit_cents * l->quantity
            || l->prep_points < 1 || l->prep_points > CS_CART_MAX_POINTS) {
            CONFIG("cart line %d was not priced by cs_cart_price_line", i + 1);
        }
        /* Each term is at most the cap, so the sums cannot overflow
         * before they are compared with it. */
        t->subtotal_cents += l->line_cents;
        t->items += l->quantity;
        t->prep_points += l->prep_points;
        if (t->subtotal_cents > CS_CART_MAX_CENTS || t->prep_points > CS_CART_MAX_POINTS) {
            GUEST("%s", too_large);
        }
    }

    if (fees) {
        t->fee_cents = fees->fixed_cents
            + cs_cart_rate_cents(t->subtotal_cents, fees->percent_bp, CS_CART_BP);
    }
    t->taxable_cents = t->subtotal_cents + (fees && fees->taxable ? t->fee_cents : 0);
    if (t->taxable_cents > CS_CART_MAX_CENTS) {
        GUEST("%s", too_large);
    }
    t->tax_cents = cs_cart_rate_cents(t->taxable_cents, tax_rate_ppm, CS_CART_PPM);

    if (tip && tip->kind == CS_CART_TIP_PERCENT) {
        if (tip->percent_bp < 0 || tip->percent_bp > CS_CART_BP) {
            GUEST("Choose a tip from 0 to 100%%");
        }
        t->tip_cents = cs_cart_rate_cents(t->subtotal_cents, tip->percent_bp, CS_CART_BP);
    }
    else if (tip && tip->kind == CS_CART_TIP_CUSTOM) {
        apr_int64_t cap = t->subtotal_cents > CS_CART_TIP_CAP_CENTS
            ? t->subtotal_cents : CS_CART_TIP_CAP_CENTS;
        if (tip->cents < 0) {
            GUEST("A tip cannot be negative");
        }
        if (tip->cents > cap) {
            /* No currency symbol: the totals do not know the menu's. */
            GUEST("A tip can be at most %" APR_INT64_T_FMT ".%02d", cap / 100,
                  (int)(cap % 100));
        }
        t->tip_cents = tip->cents;
    }
    else if (tip && tip->kind != CS_CART_TIP_NONE) {
        CONFIG("unknown kind of tip");
    }

    /* Four terms of at most the cap each: no overflow. */
    t->total_cents = t->subtotal_cents + t->fee_cents + t->tax_cents + t->tip_cents;
    if (t->total_cents > CS_CART_MAX_CENTS) {
        GUEST("%s", too_large);
    }
    return APR_SUCCESS;
}

apr_status_t cs_cart_totals(const apr_array_header_t *priced, apr_int64_t tax_rate_ppm,
                            const cs_cart_tip_t *tip, const cs_cart_fees_t *fees,
                            cs_cart_totals_t *out, apr_pool_t *p, const char **perr)
{
    apr_status_t rv;

    memset(out, 0, sizeof(*out));
    if (perr) {
        *perr = NULL;
    }
    rv = totals(priced, tax_rate_ppm, tip, fees, out, p, perr);
    if (rv != APR_SUCCESS) {
        memset(out, 0, sizeof(*out));
    }
    return rv;
}

/* ---- editing ------------------------------------------------------------- */

static int has_id(const apr_array_header_t *ids, const char *id)
{
    int i;

    for (i = 0; ids && i < ids->nelts; i++) {
        const char *s = APR_ARRAY_IDX(ids, i, const char *);
        if (s && !strcmp(s, id)) {
            return 1;
        }
    }
    return 0;
}

int cs_cart_line_same(const cs_cart_line_t *a, const cs_cart_line_t *b)
{
    int na = a->modifier_ids ? a->modifier_ids->nelts : 0;
    int nb = b->modifier_ids ? b->modifier_ids->nelts : 0;
    int i;

    if (!a->item_id || !b->item_id || strcmp(a->item_id, b->item_id) || na != nb) {
        return 0;
    }
    /* Lines are refused with duplicate ids, so equal counts and every id
     * of one in the other is the same set. */
    for (i = 0; i < na; i++) {
        const char *id = APR_ARRAY_IDX(a->modifier_ids, i, const char *);
        if (!id || !has_id(b->modifier_ids, id)) {
            return 0;
        }
    }
    return 1;
}

apr_status_t cs_cart_add(apr_array_header_t *lines, const cs_cart_line_t *line,
                         int *pindex, const char **perr)
{
    apr_pool_t *p = lines->pool;
    cs_cart_line_t *copy;
    int i, j, n;

    if (pindex) {
        *pindex = -1;
    }
    if (perr) {
        *perr = NULL;
    }
    n = line->modifier_ids ? line->modifier_ids->nelts : 0;
    if (!line->item_id || !*line->item_id) {
        GUEST("This item is no longer on the menu");
    }
    if (line->quantity < 1 || line->quantity > CS_CART_QTY_MAX) {
        GUEST("Choose a quantity from 1 to %d", CS_CART_QTY_MAX);
    }
    if (n > CS_CART_MAX_CHOICES) {
        GUEST("Too many options chosen");
    }
    for (i = 0; i < n; i++) {
        const char *id = APR_ARRAY_IDX(line->modifier_ids, i, const char *);
        if (!id || !*id) {
            GUEST("That option is not available");
        }
        for (j = 0; j < i; j++) {
            if (!strcmp(APR_ARRAY_IDX(line->modifier_ids, j, const char *), id)) {
                GUEST("An option was chosen twice");
            }
        }
    }
    for (i = 0; i < lines->nelts; i++) {
        cs_cart_line_t *l = &APR_ARRAY_IDX(lines, i, cs_cart_line_t);
        if (cs_cart_line_same(l, line)) {
            if (l->quantity + line->quantity > CS_CART_QTY_MAX) {
                GUEST("At most %d of one item", CS_CART_QTY_MAX);
            }
            l->quantity += line->quantity;
            if (pindex) {
                *pindex = i;
            }
            return APR_SUCCESS;
        }
    }
    if (lines->nelts >= CS_CART_MAX_LINES) {
        GUEST("A cart holds at most %d lines", CS_CART_MAX_LINES);
    }
    copy = apr_array_push(lines);
    copy->item_id = apr_pstrdup(p, line->item_id);
    copy->quantity = line->quantity;
    copy->modifier_ids = apr_array_make(p, n ? n : 1, sizeof(const char *));
    for (i = 0; i < n; i++) {
        APR_ARRAY_PUSH(copy->modifier_ids, const char *) =
            apr_pstrdup(p, APR_ARRAY_IDX(line->modifier_ids, i, const char *));
    }
    if (pindex) {
        *pindex = lines->nelts - 1;
    }
    return APR_SUCCESS;
}

apr_status_t cs_cart_remove(apr_array_header_t *lines, int index)
{
    if (index < 0 || index >= lines->nelts) {
        return APR_EINVAL;
    }
    memmove(lines->elts + (size_t)index * (size_t)lines->elt_size,
            lines->elts + (size_t)(index + 1) * (size_t)lines->elt_size,
            (size_t)(lines->nelts - index - 1) * (size_t)lines->elt_size);
    lines->nelts--;
    return APR_SUCCESS;
}

apr_status_t cs_cart_set_quantity(apr_array_header_t *lines, int index,
                                  int quantity, const char **perr)
{
    apr_pool_t *p = lines->pool;

    if (perr) {
        *perr = NULL;
    }
    if (index < 0 || index >= lines->nelts) {
        GUEST("That line is no longer in your cart");
    }
    if (quantity < 0 || quantity > CS_CART_QTY_MAX) {
        GUEST("Choose a quantity from 1 to %d", CS_CART_QTY_MAX);
    }
    if (quantity == 0) {
        return cs_cart_remove(lines, index);
    }
    APR_ARRAY_IDX(lines, index, cs_cart_line_t).quantity = quantity;
    return APR_SUCCESS;
}
