/**
 * @file cs_pos_mock.h
 * @brief The mock POS: a menu file and a small state file stand in for a
 * restaurant's point of sale, so demos and tests need no network.
 *
 * The menu file (sql/seed/pos/NAME.json) is read-only; the state file is
 * the POS's own live state (which items are 86'd, the orders it received)
 * and is what `consult-admin pos-86` changes "at the POS". Its webhooks
 * are signed like Stripe's: header X-Mock-POS-Signature "t=UNIX,v1=HEX"
 * where HEX is HMAC-SHA256(secret, "UNIX." + body), five minutes' grace.
 *
 * Webhook body: {"event_id": "...", "type": "stock.updated" |
 * "menu.updated" | "order.updated", "sold_out": [{"id": "...",
 * "sold_out": true}], "order": {"id": "...", "status": "ready"}}
 */
#ifndef CS_POS_MOCK_H
#define CS_POS_MOCK_H

#include "providers/pos/cs_pos.h"

#define CS_POS_MOCK_SIG_HEADER "X-Mock-POS-Signature"
#define CS_POS_MOCK_TOLERANCE  apr_time_from_sec(300)

/** Parse a mock menu file's bytes into @p *pout (validated). */
apr_status_t cs_pos_mock_parse_menu(cs_menu_t **pout, apr_pool_t *p,
                                    const char *buf, apr_size_t len,
                                    const char **perr);

/** The signature header value for @p body at @p t (seconds). */
const char *cs_pos_mock_sign(apr_pool_t *p, const char *secret, apr_time_t t,
                             const char *body, apr_size_t len);

/** Parse a mock webhook body (no signature check). */
apr_status_t cs_pos_mock_parse_event(cs_pos_event_t **pout, apr_pool_t *p,
                                     const char *body, apr_size_t len,
                                     const char **perr);

/** Set @p item_id sold out (or not) in the state file, as the POS would;
 * written whole to a temporary file and renamed, so a reader never sees
 * half of it. */
apr_status_t cs_pos_mock_set_state(const char *state_file, const char *item_id,
                                   int sold_out, apr_pool_t *p, const char **perr);

#endif
