/**
 * @file cs_menu.h
 * @brief A restaurant's menu as Consult holds it: categories, items,
 * modifier groups and modifiers, every price in integer cents.
 *
 * POS adapters (providers/pos/) turn each provider's catalog into this
 * shape at their boundary (Toast's decimal prices become cents there,
 * exactly), the sync job stores it, and the menu API and page render it.
 * Nothing here uses floating point for money.
 */
#ifndef CS_MENU_H
#define CS_MENU_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <apr_errno.h>

/** One choice of a modifier group ("16-inch", "+ jalapeños"). */
typedef struct {
    const char *pos_id;
    const char *name;
    apr_int64_t price_cents;        /**< added to the item's price; may be 0 */
    int sold_out;                   /**< where the POS reports it */
} cs_menu_modifier_t;

/** A modifier group: choose between @c min and @c max of its modifiers. */
typedef struct {
    const char *pos_id;
    const char *name;
    int min;                        /**< 0: optional */
    int max;                        /**< >= min; 0 with min 0: any number */
    apr_array_header_t *modifiers;  /**< of cs_menu_modifier_t */
} cs_menu_group_t;

typedef struct {
    const char *pos_id;
    const char *name;
    const char *description;        /**< may be NULL */
    int sort;
} cs_menu_category_t;

typedef struct {
    const char *pos_id;
    const char *category_id;        /**< pos_id of its category */
    const char *name;
    const char *description;        /**< may be NULL */
    const char *image_url;          /**< may be NULL */
    apr_int64_t price_cents;
    int sort;
    int visible;                    /**< 0: hidden from guests */
    int prep_points;                /**< kitchen load, >= 1 */
    int sold_out;                   /**< the POS's own state at fetch time */
    apr_array_header_t *group_ids;  /**< of const char *, group pos_ids */
} cs_menu_item_t;

/** A whole menu as one POS answered it. */
typedef struct {
    const char *currency;           /**< ISO 4217, "USD" */
    apr_array_header_t *categories; /**< of cs_menu_category_t */
    apr_array_header_t *items;      /**< of cs_menu_item_t */
    apr_array_header_t *groups;     /**< of cs_menu_group_t */
} cs_menu_t;

/** One item's (or modifier's) sold-out state as a POS reports it. */
typedef struct {
    const char *pos_id;
    int sold_out;
    apr_time_t until;               /**< 0: until undone */
} cs_menu_stock_t;

/** An empty menu in @p p with its arrays made. */
cs_menu_t *cs_menu_make(apr_pool_t *p, const char *currency);

/**
 * Check a menu an adapter built: ids present and unique per kind, every
 * item's category and groups exist, prices >= 0, 0 <= min <= max (or max
 * 0 for "any"), prep_points >= 1.
 * @return APR_SUCCESS or APR_EINVAL with *perr naming the first problem.
 */
apr_status_t cs_menu_validate(const cs_menu_t *m, apr_pool_t *p, const char **perr);

/**
 * "$14.00", "-$1.50", "€3.20": cents as a price in @p currency, exact
 * (integer arithmetic). Unknown currencies print "12.34 XYZ".
 */
const char *cs_menu_format_price(apr_pool_t *p, apr_int64_t cents,
                                 const char *currency);

/**
 * A decimal amount in currency units as a POS sends it in JSON ("12.10",
 * 12.1, 12, "0.5") to cents, exactly: at most two decimals, no exponent,
 * non-negative unless @p allow_negative. Used by Toast, whose prices are
 * decimals. The text form avoids binary floating point entirely; a JSON
 * number is read from its original text.
 * @return APR_SUCCESS or APR_EINVAL.
 */
apr_status_t cs_menu_decimal_to_cents(apr_int64_t *pout, const char *text,
                                      int allow_negative);

#endif
