/**
 * @file cs_pos_parse.h
 * @brief Internal to providers/pos: the adapters' pure functions (answer
 * and webhook parsers, request builders), exposed so the unit tests and
 * the fuzz targets call them without HTTP. Modules use cs_pos.h only.
 *
 * Every parser takes untrusted bytes, answers APR_SUCCESS or APR_EINVAL
 * with *perr a short sentence, and never crashes on any input: wrong
 * types, missing members and out-of-range numbers are refused, not
 * guessed at. What the adapters share is in cs_pos_util.h.
 */
#ifndef CS_POS_PARSE_H
#define CS_POS_PARSE_H

#include "providers/pos/cs_pos.h"

/** Largest price (item, variation or modifier) an adapter accepts, in
 * cents: a bigger one is a broken answer, not a menu. */
#define CS_POS_MAX_CENTS ((apr_int64_t)100000000)

/** The category of items filed under none we know (Square, Clover). */
#define CS_POS_NO_CATEGORY       "uncategorized"
#define CS_POS_NO_CATEGORY_NAME  "Other"

/* ======================================================================
 * Square (cs_pos_square_catalog.c, cs_pos_square_menu.c,
 * cs_pos_square_parse.c)
 * ====================================================================== */

/** The Square-Version header every request sends (providers.md 4.2). */
#define CS_SQUARE_VERSION     "2026-05-20"
#define CS_SQUARE_SIG_HEADER  "x-square-hmacsha256-signature"
/** The pos_id suffix of the group an item with several variations gets
 * (item id + suffix), and that group's name. */
#define CS_SQUARE_VARIATION_GROUP_SUFFIX ":variation"
#define CS_SQUARE_VARIATION_GROUP_NAME   "Options"

/** A Square catalog being read page by page (ListCatalog answers and
 * Inventory counts), for one location, at one instant (sold-out states
 * whose sold_out_valid_until has passed are over). */
typedef struct cs_square_catalog_t cs_square_catalog_t;

cs_square_catalog_t *cs_pos_square_catalog_make(apr_pool_t *p, const char *location,
                                                apr_time_t now);

/**
 * Add one ListCatalog (or BatchRetrieveCatalogObjects) answer: ITEM (with
 * its nested ITEM_VARIATIONs), CATEGORY, MODIFIER_LIST (with its nested
 * MODIFIERs), IMAGE, and top-level ITEM_VARIATION / MODIFIER objects.
 * Other types are ignored. *pcursor gets the next page's cursor, or NULL
 * on the last page.
 */
apr_status_t cs_pos_square_parse_catalog_page(cs_square_catalog_t *cat,
                                              const char *body, apr_size_t len,
                                              const char **pcursor,
                                              const char **perr);

/** Variation ids whose inventory Square tracks at the location (an
 * array of const char *), for BatchRetrieveInventoryCounts. */
apr_array_header_t *cs_pos_square_tracked_variations(const cs_square_catalog_t *cat,
                                                     apr_pool_t *p);

/** The BatchRetrieveInventoryCounts request for @p ids (JSON). */
const char *cs_pos_square_counts_request(apr_pool_t *p, const cs_square_catalog_t *cat,
                                         const apr_array_header_t *ids, int from,
                                         int n, const char *cursor);

/** Add one BatchRetrieveInventoryCounts answer: a tracked variation whose
 * IN_STOCK count at the location is 0 or less is sold out. */
apr_status_t cs_pos_square_parse_counts_page(cs_square_catalog_t *cat,
                                             const char *body, apr_size_t len,
                                             const char **pcursor,
                                             const char **perr);

/**
 * The menu the catalog makes (validated). How Square maps:
 * - an ITEM is an item; archived ones, ones absent at the location and
 *   ones with no fixed-price variation are left out; ecom_visibility
 *   HIDDEN or UNAVAILABLE makes it invisible to guests;
 * - one variation: its price is the item's price;
 * - several: the item's price is the cheapest variation's, and the item
 *   gets a required group (min 1, max 1) "<item id>:variation" whose
 *   modifiers are the variations (pos_id = variation id) with their
 *   price above the cheapest as price_cents, so every delta is >= 0 and
 *   the price a guest sees first is the lowest they can pay;
 * - a variation's sold_out at the location (or an IN_STOCK count <= 0
 *   when tracked) is the variation's; the item is sold out when all are;
 * - a MODIFIER_LIST is a group: min/max from min_selected_modifiers /
 *   max_selected_modifiers, else selection_type SINGLE = max 1; an item
 *   that overrides them gets its own copy "<list id>:<item id>".
 */
apr_status_t cs_pos_square_build_menu(cs_menu_t **pout, const cs_square_catalog_t *cat,
                                      apr_pool_t *p, const char **perr);

/** Every item's sold-out state (and each variation's and modifier's),
 * an array of cs_menu_stock_t. */
apr_array_header_t *cs_pos_square_build_stock(const cs_square_catalog_t *cat,
                                              apr_pool_t *p);

/**
 * The CreateOrder request body for @p o at @p location: idempotency_key
 * and reference_id are o->external_id; each line names the variation (a
 * variation id among its modifier_ids, else the item's cheapest), found
 * in @p items (the catalog holding the order's ITEMs, as BatchRetrieve
 * answered); a PICKUP fulfillment carries the customer.
 * APR_EINVAL when an item is no longer in @p items.
 */
apr_status_t cs_pos_square_order_request(const char **pbody, const cs_pos_order_t *o,
                                         const char *location,
                                         const cs_square_catalog_t *items,
                                         apr_pool_t *p, const char **perr);

/** An order from a CreateOrder / RetrieveOrder answer ({"order": ...}). */
apr_status_t cs_pos_square_parse_order(cs_pos_order_result_t **pout, const char *body,
                                       apr_size_t len, apr_pool_t *p,
                                       const char **perr);

/** Base64 HMAC-SHA256 of @p url followed by @p body under @p key: the
 * x-square-hmacsha256-signature value. NULL if crypto failed. */
const char *cs_pos_square_signature(apr_pool_t *p, const char *key, const char *url,
                                    const char *body, apr_size_t len);

/** A webhook body: event_id; catalog.version.updated is MENU,
 * inventory.count.updated STOCK (stock NULL: the counts name variations,
 * so the caller polls), order.* ORDER; the rest OTHER. */
apr_status_t cs_pos_square_parse_event(cs_pos_event_t **pout, const char *body,
                                       apr_size_t len, apr_pool_t *p,
                                       const char **perr);

/* ======================================================================
 * Clover (cs_pos_clover_menu.c, cs_pos_clover_parse.c)
 * ====================================================================== */

#define CS_CLOVER_AUTH_HEADER "X-Clover-Auth"

/** A Clover inventory being read page by page. */
typedef struct cs_clover_catalog_t cs_clover_catalog_t;

cs_clover_catalog_t *cs_pos_clover_catalog_make(apr_pool_t *p);

/** Add one GET .../items?expand=categories,modifierGroups,itemStock page;
 * *pcount gets the number of elements it held (for offset paging). */
apr_status_t cs_pos_clover_parse_items_page(cs_clover_catalog_t *cat, const char *body,
                                            apr_size_t len, int *pcount,
                                            const char **perr);

/** Add one GET .../modifier_groups?expand=modifiers page. */
apr_status_t cs_pos_clover_parse_groups_page(cs_clover_catalog_t *cat, const char *body,
                                             apr_size_t len, int *pcount,
                                             const char **perr);

/**
 * The menu (validated): an item per Clover item (deleted ones and ones
 * whose price is VARIABLE are left out), price in cents, hidden = not
 * visible, sold out when available is false or autoManage is on and
 * itemStock.quantity <= 0; its first category; groups with minRequired /
 * maxAllowed and their modifiers.
 */
apr_status_t cs_pos_clover_build_menu(cs_menu_t **pout, const cs_clover_catalog_t *cat,
                                      apr_pool_t *p, const char **perr);

/** Every item's and modifier's sold-out state (cs_menu_stock_t). */
apr_array_header_t *cs_pos_clover_build_stock(const cs_clover_catalog_t *cat,
                                              apr_pool_t *p);

/** The atomic-order body for @p o (one line item per unit, as Clover
 * counts them; externalReferenceId = o->external_id). */
apr_status_t cs_pos_clover_order_request(const char **pbody, const cs_pos_order_t *o,
                                         apr_pool_t *p, const char **perr);

/** An order object's id and state. */
apr_status_t cs_pos_clover_parse_order(cs_pos_order_result_t **pout, const char *body,
                                       apr_size_t len, apr_pool_t *p,
                                       const char **perr);

/** An order list ({"elements": [...]}): *pout the first order, or NULL
 * when the list is empty. */
apr_status_t cs_pos_clover_parse_order_list(cs_pos_order_result_t **pout,
                                            const char *body, apr_size_t len,
                                            apr_pool_t *p, const char **perr);

/** The one-time verification POST's code ({"verificationCode": "..."}),
 * or NULL when @p body is not one. */
const char *cs_pos_clover_verification_code(const char *body, apr_size_t len,
                                            apr_pool_t *p);

/** A webhook body: the verification POST (VERIFICATION), or merchant
 * updates ({"merchants": {mId: [{objectId, type, ts}]}}): an item UPDATE
 * is STOCK with NULL stock (the caller polls), item CREATE/DELETE and
 * category / modifier changes MENU, an order change ORDER (status NULL:
 * the caller asks order_status). The event id is made of the updates
 * themselves (merchant, object, type, ts), so a redelivery has the same
 * id. */
apr_status_t cs_pos_clover_parse_event(cs_pos_event_t **pout, const char *body,
                                       apr_size_t len, apr_pool_t *p,
                                       const char **perr);

/* ======================================================================
 * Toast (cs_pos_toast_menu.c, cs_pos_toast_parse.c)
 * ====================================================================== */

struct json_object;

/** Webhook signature header: base64(HMAC-SHA256(secret, body + timestamp)),
 * the timestamp being the message's own "timestamp" member. */
#define CS_TOAST_SIG_HEADER        "Toast-Signature"
/** Names the restaurant (its GUID) on every API request. */
#define CS_TOAST_RESTAURANT_HEADER "Toast-Restaurant-External-ID"
/** How old a signed timestamp may be. Toast resends a failed delivery
 * after 5 and then 10 more minutes with the same body, so the grace covers
 * the last resend; the event GUID (the journal key) stops replays inside it. */
#define CS_TOAST_TOLERANCE         apr_time_from_sec(20 * 60)
/** How far ahead of our clock a timestamp may be (clock skew). */
#define CS_TOAST_SKEW              apr_time_from_sec(5 * 60)
/** Our naming authority before our order id in an order's externalId. */
#define CS_TOAST_EXTERNAL_PREFIX   "consult:"

/**
 * A Toast price (a JSON number in currency units, 12.10, or its string
 * form "12.10") to cents, exactly: read from the number's own text, never
 * through a double. At most two decimals, no exponent, not negative.
 * @return APR_SUCCESS, or APR_EINVAL (also for NULL and other types).
 */
apr_status_t cs_pos_toast_price_cents(apr_int64_t *pout, struct json_object *v);

/**
 * A menus v2 answer (GET /menus/v2/menus, a Restaurant) as a validated
 * menu. Every menu group holding items becomes a category (nested groups
 * flattened depth first, named "Parent / Child", sorted in the order Toast
 * lists them; with several menus the menu's name leads); an item's
 * modifier groups and options come from the answer's reference maps and
 * are keyed by GUID. An item in several menus or groups keeps its first
 * place. Items Toast prices only through rules (size or open prices:
 * price null) are left out; items without ORDERING_PARTNERS visibility (on
 * them, their group or menu) are kept hidden, as are items whose required
 * modifier group offers no option we may sell. Nothing is sold out here:
 * the stock API says that (cs_pos_toast_apply_stock).
 */
apr_status_t cs_pos_toast_parse_menu(cs_menu_t **pout, const char *body,
                                     apr_size_t len, apr_pool_t *p,
                                     const char **perr);

/**
 * A stock answer (GET /stock/v1/inventory, an array of MenuItemInventory)
 * as an array of cs_menu_stock_t: OUT_OF_STOCK, and QUANTITY with nothing
 * left, are sold out; IN_STOCK and QUANTITY above 0 are not. Entries Toast
 * marks INVALID, or in a state we do not know, are skipped.
 */
apr_status_t cs_pos_toast_parse_stock(apr_array_header_t **pout, const char *body,
                                      apr_size_t len, apr_pool_t *p,
                                      const char **perr);

/** Mark the items and modifiers of @p m named in @p stock sold out (or
 * available). */
void cs_pos_toast_apply_stock(cs_menu_t *m, const apr_array_header_t *stock);

/**
 * A webhook body ({"timestamp", "eventCategory", "eventType", "guid",
 * "details"}): menus → MENU; stock → STOCK with one entry from details
 * (itemGuid, status, quantity), or stock NULL when details lack them;
 * orders (order_updated) → ORDER with the order's GUID and state; the
 * guest order fulfillment status → ORDER; anything else OTHER. The event
 * id is the message's own guid.
 */
apr_status_t cs_pos_toast_parse_event(cs_pos_event_t **pout, const char *body,
                                      apr_size_t len, apr_pool_t *p,
                                      const char **perr);

/** The orders v2 body for @p order (the caller has checked it has an
 * external id and lines): externalId is CS_TOAST_EXTERNAL_PREFIX and our
 * order id, one check holding the guest as its customer and a selection
 * per line (its modifiers as nested selections), @p dining the takeout
 * dining option's GUID. */
const char *cs_pos_toast_order_request(const cs_pos_order_t *order, const char *dining,
                                       apr_pool_t *p);

/** An Order answer (alone, or as orders[0] of an OrderResponse): its GUID
 * and state. */
apr_status_t cs_pos_toast_parse_order(cs_pos_order_result_t **pout, const char *body,
                                      apr_size_t len, apr_pool_t *p, const char **perr);

/** An Order object's state as a CS_POS_ORDER_* constant (never NULL):
 * voided, deleted or NOT_APPROVED cancelled; NEEDS_APPROVAL and FUTURE
 * pending; delivered completed; every selection READY ready; APPROVED
 * accepted. */
const char *cs_pos_toast_order_state(struct json_object *order);

/** The base64 Toast-Signature of @p body signed with @p timestamp, or NULL
 * when the HMAC could not be computed. */
const char *cs_pos_toast_sign(apr_pool_t *p, const char *secret, const char *body,
                              apr_size_t len, const char *timestamp);

/** An ISO 8601 timestamp as Toast writes them ("2024-05-01T12:00:00Z",
 * ".123Z", "+0000", "+00:00"; no zone is UTC): cs_pos_parse_time, the
 * one reader of the adapters' timestamps. APR_EINVAL otherwise. */
apr_status_t cs_pos_toast_parse_time(apr_time_t *pout, const char *iso);

/** @p t as Toast writes a date-time, "2024-05-01T12:00:00.000+0000". */
const char *cs_pos_toast_format_time(apr_pool_t *p, apr_time_t t);

#endif
