/**
 * @file pos_fixture.h
 * @brief What the shared POS adapter contract suite (check_pos_contract.c)
 * needs to know about one adapter and its fake (tests/fakes/fake_NAME.py).
 *
 * Every fake speaks its provider's real API and the same control API:
 *   fake_NAME.py --port 0 --portfile FILE --log FILE.jsonl
 *   POST /_control/state  JSON object, any of:
 *        {"sold_out": ["id", ...]}   the POS's sold-out items, replacing
 *        {"remove_item": "id"}       delete an item from the catalog
 *        {"page_size": N}            paginate list answers N per page
 *        {"fail": {"status": 503, "times": 2, "retry_after": 1,
 *                  "path": "glob"}}  the next N matching API calls fail
 *        {"malformed": N}            the next N API answers are broken JSON
 *        {"token_ttl": seconds}      lifetime of issued tokens (Toast)
 *        {"expire_tokens": true}     every issued token stops working now
 *   POST /_control/reset             back to the built-in catalog
 *   GET  /_control/requests          logged API requests, a JSON array of
 *                                    {"method","path","query","headers","body"}
 *   GET  /_control/orders            orders received, a JSON array
 * Every fake's built-in catalog has at least 3 categories, 8 visible items,
 * 2 modifier groups (one required: min 1 max 1), one item sold out.
 */
#ifndef POS_FIXTURE_H
#define POS_FIXTURE_H

#include <apr_pools.h>
#include "providers/pos/cs_pos.h"

typedef struct {
    const char *name;               /**< adapter kind, "square" */
    const char *fake_script;        /**< "tests/fakes/fake_square.py", or
                                         NULL for an adapter without a server
                                         (mock) */
    /** Fill @p conf for the fake at @p base ("http://127.0.0.1:PORT"), or
     * for the mock, files under @p base (a temporary folder). */
    void (*make_conf)(cs_pos_conf_t *conf, apr_pool_t *p, const char *base);
    /** Sign @p w (body and url already set) as the provider would, adding
     * headers to w->headers; @p now is the signing time. */
    void (*sign_webhook)(cs_pos_webhook_t *w, const cs_pos_conf_t *conf,
                         apr_pool_t *p, apr_time_t now);
    /** A webhook body saying @c sold_out_item is sold out (kind STOCK or,
     * where the provider only says "something changed", STOCK with NULL
     * stock), with event id @c webhook_event_id. */
    const char *stock_webhook_body;
    const char *webhook_event_id;
    int webhook_has_timestamp;      /**< 1: a stale signature is refused */

    int visible_items;              /**< visible items of the built-in catalog */
    const char *priced_item;        /**< a POS item id ... */
    apr_int64_t priced_item_cents;  /**< ... and its price in cents (Toast:
                                         a decimal like 12.10 → 1210) */
    const char *sold_out_item;      /**< sold out in the built-in catalog */
    const char *available_item;     /**< available in the built-in catalog */
    const char *required_group;     /**< a group with min 1 max 1 */
    int can_set_sold_out;           /**< 0: set_sold_out is APR_ENOTIMPL */
} pos_fixture_t;

extern const pos_fixture_t pos_fixture_mock;
extern const pos_fixture_t pos_fixture_square;
extern const pos_fixture_t pos_fixture_clover;
extern const pos_fixture_t pos_fixture_toast;

#endif
