/* The menu model (cs_menu.h): construction, validation and exact money. */
#include "domain/cs_menu.h"

#include <apr_strings.h>
#include <apr_hash.h>
#include <string.h>

cs_menu_t *cs_menu_make(apr_pool_t *p, const char *currency)
{
    cs_menu_t *m = apr_pcalloc(p, sizeof(*m));

    m->currency = currency ? apr_pstrdup(p, currency) : "USD";
    m->categories = apr_array_make(p, 8, sizeof(cs_menu_category_t));
    m->items = apr_array_make(p, 64, sizeof(cs_menu_item_t));
    m->groups = apr_array_make(p, 16, sizeof(cs_menu_group_t));
    return m;
}

static int seen(apr_hash_t *h, const char *id)
{
    if (apr_hash_get(h, id, APR_HASH_KEY_STRING)) {
        return 1;
    }
    apr_hash_set(h, id, APR_HASH_KEY_STRING, id);
    return 0;
}

#define FAIL(...) do { *perr = apr_psprintf(p, __VA_ARGS__); return APR_EINVAL; } while (0)

static apr_status_t check_groups(const cs_menu_t *m, apr_pool_t *p,
                                 apr_hash_t *groups, const char **perr)
{
    apr_hash_t *mods = apr_hash_make(p);
    int i, j;

    for (i = 0; i < m->groups->nelts; i++) {
        const cs_menu_group_t *g = &APR_ARRAY_IDX(m->groups, i, cs_menu_group_t);
        if (!g->pos_id || !*g->pos_id || !g->name) {
            FAIL("modifier group %d has no id or name", i + 1);
        }
        if (seen(groups, g->pos_id)) {
            FAIL("modifier group '%s' appears twice", g->pos_id);
        }
        if (g->min < 0 || g->max < 0 || (g->max > 0 && g->max < g->min)
            || (g->max == 0 && g->min > 0)) {
            FAIL("modifier group '%s': choose %d to %d is not a range", g->pos_id,
                 g->min, g->max);
        }
        for (j = 0; g->modifiers && j < g->modifiers->nelts; j++) {
            const cs_menu_modifier_t *md = &APR_ARRAY_IDX(g->modifiers, j,
                                                          cs_menu_modifier_t);
            if (!md->pos_id || !*md->pos_id || !md->name) {
                FAIL("modifier %d of group '%s' has no id or name", j + 1, g->pos_id);
            }
            if (seen(mods, apr_pstrcat(p, g->pos_id, "\n", md->pos_id, NULL))) {
                FAIL("modifier '%s' appears twice in group '%s'", md->pos_id, g->pos_id);
            }
            if (md->price_cents < 0 && md->price_cents < -10000000) {
                FAIL("modifier '%s' has an impossible price", md->pos_id);
            }
        }
        if (g->min > 0 && (!g->modifiers || g->modifiers->nelts < g->min)) {
            FAIL("modifier group '%s' needs %d choices but offers fewer", g->pos_id, g->min);
        }
    }
    return APR_SUCCESS;
}

apr_status_t cs_menu_validate(const cs_menu_t *m, apr_pool_t *p, const char **perr)
{
    apr_hash_t *cats = apr_hash_make(p), *items = apr_hash_make(p),
               *groups = apr_hash_make(p);
    apr_status_t rv;
    int i, j;

    *perr = NULL;
    if (!m || !m->categories || !m->items || !m->groups) {
        FAIL("the menu is empty");
    }
    if (!m->currency || strlen(m->currency) != 3) {
        FAIL("the menu has no three-letter currency");
    }
    for (i = 0; i < m->categories->nelts; i++) {
        const cs_menu_category_t *c = &APR_ARRAY_IDX(m->categories, i, cs_menu_category_t);
        if (!c->pos_id || !*c->pos_id || !c->name) {
            FAIL("category %d has no id or name", i + 1);
        }
        if (seen(cats, c->pos_id)) {
            FAIL("category '%s' appears twice", c->pos_id);
        }
    }
    if ((rv = check_groups(m, p, groups, perr)) != APR_SUCCESS) {
        return rv;
    }
    for (i = 0; i < m->items->nelts; i++) {
        const cs_menu_item_t *it = &APR_ARRAY_IDX(m->items, i, cs_menu_item_t);
        if (!it->pos_id || !*it->pos_id || !it->name || !*it->name) {
            FAIL("item %d has no id or name", i + 1);
        }
        if (seen(items, it->pos_id)) {
            FAIL("item '%s' appears twice", it->pos_id);
        }
        if (!it->category_id || !apr_hash_get(cats, it->category_id, APR_HASH_KEY_STRING)) {
            FAIL("item '%s' is in no known category", it->pos_id);
        }
        if (it->price_cents < 0) {
            FAIL("item '%s' has a negative price", it->pos_id);
        }
        if (it->prep_points < 1) {
            FAIL("item '%s' has prep points below 1", it->pos_id);
        }
        for (j = 0; it->group_ids && j < it->group_ids->nelts; j++) {
            const char *gid = APR_ARRAY_IDX(it->group_ids, j, const char *);
            if (!gid || !apr_hash_get(groups, gid, APR_HASH_KEY_STRING)) {
                FAIL("item '%s' names an unknown modifier group '%s'", it->pos_id,
                     gid ? gid : "");
            }
        }
    }
    return APR_SUCCESS;
}

const char *cs_menu_format_price(apr_pool_t *p, apr_int64_t cents,
                                 const char *currency)
{
    const char *sign = cents < 0 ? "-" : "";
    /* Negate in unsigned arithmetic so the most negative value is safe. */
    apr_uint64_t v = cents < 0 ? (apr_uint64_t)0 - (apr_uint64_t)cents : (apr_uint64_t)cents;
    const char *sym = NULL;

    if (!currency || !strcmp(currency, "USD") || !strcmp(currency, "CAD")
        || !strcmp(currency, "AUD") || !strcmp(currency, "MXN")) {
        sym = "$";
    }
    else if (!strcmp(currency, "EUR")) {
        sym = "\xe2\x82\xac";
    }
    else if (!strcmp(currency, "GBP")) {
        sym = "\xc2\xa3";
    }
    if (sym) {
        return apr_psprintf(p, "%s%s%" APR_UINT64_T_FMT ".%02u", sign, sym, v / 100,
                            (unsigned)(v % 100));
    }
    return apr_psprintf(p, "%s%" APR_UINT64_T_FMT ".%02u %s", sign, v / 100,
                        (unsigned)(v % 100), currency);
}

apr_status_t cs_menu_decimal_to_cents(apr_int64_t *pout, const char *text,
                                      int allow_negative)
{
    const char *s = text;
    apr_int64_t units = 0;
    int neg = 0, digits = 0, frac = 0, fdigits = 0;

    *pout = 0;
    if (!s) {
        return APR_EINVAL;
    }
    if (*s == '-') {
        if (!allow_negative) {
            return APR_EINVAL;
        }
        neg = 1;
        s++;
    }
    for (; *s >= '0' && *s <= '9'; s++) {
        /* A menu price over ten million units is a broken answer. */
        if (++digits > 8) {
            return APR_EINVAL;
        }
        units = units * 10 + (*s - '0');
    }
    if (!digits) {
        return APR_EINVAL;
    }
    if (*s == '.') {
        s++;
        for (; *s >= '0' && *s <= '9'; s++) {
            if (*s != '0' && fdigits >= 2) {
                return APR_EINVAL;  /* a fraction of a cent */
            }
            if (fdigits < 2) {
                frac = frac * 10 + (*s - '0');
            }
            fdigits++;
        }
        if (!fdigits || fdigits > 6) {
            return APR_EINVAL;
        }
        if (fdigits == 1) {
            frac *= 10;
        }
    }
    if (*s) {
        return APR_EINVAL;          /* exponents, spaces, anything else */
    }
    *pout = (units * 100 + frac) * (neg ? -1 : 1);
    return APR_SUCCESS;
}
