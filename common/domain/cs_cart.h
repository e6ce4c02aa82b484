/**
 * @file cs_cart.h
 * @brief An online order's cart: lines checked against the menu and priced
 * from it, and the order's totals (subtotal, fees, tax, tip).
 *
 * Every amount is integer cents (apr_int64_t) and every rate an integer
 * (basis points or millionths); nothing here uses floating point. A line
 * carries no price: what the browser may have sent as one is never read,
 * the unit price is the menu item's plus its chosen modifiers'.
 *
 * Rounding: each amount that comes from a rate (a percent fee, a percent
 * tip, the tax) is computed once, on the whole order, and rounded to the
 * nearest cent with a half cent rounded up (cs_cart_rate_cents). The tax is
 * the tax rate applied to the taxable amount: the subtotal, plus the fees
 * when the restaurant's fees are taxable. The tip is never taxed and never
 * carries fees. The total is the plain sum of the amounts shown, so what
 * the guest sees before paying is exactly what is charged.
 *
 * Errors come in two kinds: APR_EINVAL with a message the guest can act on
 * ("Choose a size for Margherita", "Extra toppings: at most 5"), and
 * APR_BADARG when the caller or the restaurant's configuration is wrong
 * (a tax rate over 100 %, a menu naming a group it lacks): the module logs
 * those and tells the guest online ordering is unavailable.
 */
#ifndef CS_CART_H
#define CS_CART_H

#include "domain/cs_menu.h"

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <apr_errno.h>

#define CS_CART_QTY_MAX      99        /**< of one line */
#define CS_CART_MAX_LINES    50        /**< lines in one cart */
#define CS_CART_MAX_CHOICES  32        /**< modifiers chosen on one line */
/** No amount of an order (a line, the subtotal, the total) may exceed
 * $100,000.00: above it an online order is a mistake or an attack, and
 * every product of an amount and a rate stays far inside 64 bits. */
#define CS_CART_MAX_CENTS    10000000
/** Kitchen load of one cart, at most (cs_slots compares it to capacity). */
#define CS_CART_MAX_POINTS   100000
/** A custom tip may be as large as the subtotal or this, whichever is more. */
#define CS_CART_TIP_CAP_CENTS 10000

#define CS_CART_BP   10000             /**< basis points in 100 % */
#define CS_CART_PPM  1000000           /**< millionths in 100 % */

/** One line as the guest asked for it: no price, only what to make. */
typedef struct {
    const char *item_id;                /**< the item's pos_id */
    int quantity;                       /**< 1 .. CS_CART_QTY_MAX */
    apr_array_header_t *modifier_ids;   /**< of const char *, pos_ids; may be NULL */
} cs_cart_line_t;

/** Sold-out marks over the menu's own flags (item_availability rows, the
 * POS's latest stock answer). */
typedef struct {
    const apr_array_header_t *stock;    /**< of cs_menu_stock_t; NULL: none */
    apr_time_t now;                     /**< a mark whose until is at or before
                                             now has lapsed; 0: every mark holds */
} cs_cart_avail_t;

/** One chosen modifier and the group it counts against. */
typedef struct {
    const cs_menu_group_t *group;
    const cs_menu_modifier_t *modifier;
} cs_cart_choice_t;

/** A line checked and priced from the menu. */
typedef struct {
    const cs_menu_item_t *item;
    int quantity;
    apr_array_header_t *choices;        /**< of cs_cart_choice_t, in menu order:
                                             the item's groups, then each group's
                                             modifiers, whatever order was sent */
    apr_int64_t unit_cents;             /**< item + its modifiers */
    apr_int64_t line_cents;             /**< unit x quantity */
    int prep_points;                    /**< the item's points x quantity */
} cs_cart_priced_t;

typedef enum {
    CS_CART_TIP_NONE = 0,
    CS_CART_TIP_PERCENT,                /**< a preset: percent_bp of the subtotal */
    CS_CART_TIP_CUSTOM                  /**< cents, as the guest typed them */
} cs_cart_tip_kind_t;

typedef struct {
    cs_cart_tip_kind_t kind;
    int percent_bp;                     /**< 0 .. 10000, for CS_CART_TIP_PERCENT */
    apr_int64_t cents;                  /**< for CS_CART_TIP_CUSTOM */
} cs_cart_tip_t;

/** The restaurant's fees, if any: both parts add up into one fee line. */
typedef struct {
    apr_int64_t fixed_cents;            /**< >= 0 */
    int percent_bp;                     /**< of the subtotal, 0 .. 10000 */
    int taxable;                        /**< 1: the fee is taxed like the food */
} cs_cart_fees_t;

typedef struct {
    apr_int64_t subtotal_cents;         /**< sum of line_cents */
    apr_int64_t fee_cents;              /**< fixed + percent part */
    apr_int64_t taxable_cents;          /**< subtotal (+ fee when taxable) */
    apr_int64_t tax_cents;
    apr_int64_t tip_cents;
    apr_int64_t total_cents;            /**< subtotal + fee + tax + tip */
    int items;                          /**< sum of quantities */
    int prep_points;                    /**< sum of the lines' points */
} cs_cart_totals_t;

/**
 * @p cents x @p rate / @p per, rounded to the nearest cent, a half cent up:
 * floor((cents x rate + per / 2) / per). @p per is CS_CART_BP or CS_CART_PPM.
 * @return the amount, or -1 when cents is outside 0 .. CS_CART_MAX_CENTS,
 *         rate outside 0 .. per, or per is neither.
 */
apr_int64_t cs_cart_rate_cents(apr_int64_t cents, apr_int64_t rate, apr_int64_t per);

/**
 * A percent as staff type it ("8.875", "7", "10.25") to millionths of the
 * whole (88750, 70000, 102500): at most four decimals, 0 to 100, exactly.
 * @return APR_SUCCESS or APR_EINVAL.
 */
apr_status_t cs_cart_parse_percent(const char *text, apr_int64_t *pppm);

/**
 * Check @p line against @p menu and price it. The item must exist, be
 * visible and not sold out (the menu's flag, or a current mark in @p avail
 * which then decides); each chosen modifier must belong to one of the
 * item's groups (the first of them, in the item's order, that lists it),
 * be chosen once and not be sold out; each group's count must be within
 * its min .. max (max 0: any number). The first problem found is reported.
 *
 * @param p     Pool for out->choices and the message.
 * @param avail May be NULL (only the menu's flags count).
 * @param out   Filled on success (zeroed on error).
 * @param perr  NULL on success, else a message for the guest (APR_EINVAL)
 *              or for the log (APR_BADARG). May be NULL.
 */
apr_status_t cs_cart_price_line(apr_pool_t *p, const cs_menu_t *menu,
                                const cs_cart_line_t *line,
                                const cs_cart_avail_t *avail,
                                cs_cart_priced_t *out, const char **perr);

/**
 * Price every line of a cart (at most CS_CART_MAX_LINES). On error
 * *pbad is the index of the first line refused (-1 when the cart itself
 * is: empty, too many lines).
 * @param ppriced Array of cs_cart_priced_t in @p p, one per line.
 */
apr_status_t cs_cart_price_all(apr_pool_t *p, const cs_menu_t *menu,
                               const apr_array_header_t *lines,
                               const cs_cart_avail_t *avail,
                               apr_array_header_t **ppriced, int *pbad,
                               const char **perr);

/**
 * The order's totals from its priced lines (see the rounding rule above).
 * @param priced       Array of cs_cart_priced_t, not empty.
 * @param tax_rate_ppm The tax rate in millionths (8.875 % = 88750; a rate in
 *                     basis points is bp x 100), 0 .. CS_CART_PPM.
 * @param tip          NULL: no tip. A percent tip is of the subtotal; a
 *                     custom tip is >= 0 and at most the larger of the
 *                     subtotal and CS_CART_TIP_CAP_CENTS.
 * @param fees         NULL: none.
 * @param out          Filled on success (zeroed on error).
 * @return APR_SUCCESS; APR_EINVAL (an empty cart, an order or tip too
 *         large); APR_BADARG (a rate or fee out of range, a line that
 *         cs_cart_price_line did not make).
 */
apr_status_t cs_cart_totals(const apr_array_header_t *priced, apr_int64_t tax_rate_ppm,
                            const cs_cart_tip_t *tip, const cs_cart_fees_t *fees,
                            cs_cart_totals_t *out, apr_pool_t *p, const char **perr);

/* ---- editing a cart: an array of cs_cart_line_t ------------------------- */

/** Whether two lines make the same thing: same item, same set of modifier
 * ids (in any order). Quantities are not compared. */
int cs_cart_line_same(const cs_cart_line_t *a, const cs_cart_line_t *b);

/**
 * Add @p line to @p lines (copied into the array's pool), or add its
 * quantity to the line that makes the same thing. Only the shape is
 * checked here (quantity, counts, ids present); price the cart to check it
 * against the menu.
 * @param pindex Set to the index of the line added or grown. May be NULL.
 * @return APR_SUCCESS, or APR_EINVAL with a guest message (over 99 of one
 *         line, too many lines).
 */
apr_status_t cs_cart_add(apr_array_header_t *lines, const cs_cart_line_t *line,
                         int *pindex, const char **perr);

/** Change line @p index's quantity; 0 removes it. APR_EINVAL for a quantity
 * outside 0..99 or no such line. */
apr_status_t cs_cart_set_quantity(apr_array_header_t *lines, int index,
                                  int quantity, const char **perr);

/** Remove line @p index (later lines move up). APR_EINVAL: no such line. */
apr_status_t cs_cart_remove(apr_array_header_t *lines, int index);

#endif
