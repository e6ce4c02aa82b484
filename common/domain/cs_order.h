/**
 * @file cs_order.h
 * @brief An online order's life: its states and the only moves between
 * them. Every module that changes an order asks cs_order_can first
 * (common/db/cs_order_db.c does it for them), so the rule lives here once.
 *
 *   pending_payment -> paid -> sent_to_pos -> accepted -> ready -> picked_up
 *
 * Forward only: a state never returns to an earlier one, and a move may
 * skip ahead (a POS that reports "ready" before anyone accepted it). The
 * side exits:
 * - pending_payment -> cancelled: never paid (checkout abandoned).
 * - paid, sent_to_pos -> failed: the POS refused the order or stayed down
 *   past the limit (a refund is queued with the move).
 * - any paid state, failed, cancelled -> refunded: all the money went back
 *   (a payment that arrived for a cancelled order is refunded whole).
 * A partial refund (an item sold out before the kitchen got it) changes
 * no state; the order records what was refunded.
 */
#ifndef CS_ORDER_H
#define CS_ORDER_H

typedef enum {
    CS_ORDER_PENDING = 0,   /**< pending_payment */
    CS_ORDER_PAID,          /**< paid */
    CS_ORDER_SENT,          /**< sent_to_pos */
    CS_ORDER_ACCEPTED,      /**< accepted */
    CS_ORDER_READY,         /**< ready */
    CS_ORDER_PICKED_UP,     /**< picked_up */
    CS_ORDER_FAILED,        /**< failed */
    CS_ORDER_CANCELLED,     /**< cancelled */
    CS_ORDER_REFUNDED,      /**< refunded */
    CS_ORDER_NSTATES
} cs_order_state_t;

/** The state's name as stored ("pending_payment"); NULL out of range. */
const char *cs_order_state_name(cs_order_state_t s);

/** The state of a stored name. @return 1 when known, 0 otherwise. */
int cs_order_state_parse(const char *name, cs_order_state_t *ps);

/** 1 when an order may move from @p from to @p to (never to itself). */
int cs_order_can(cs_order_state_t from, cs_order_state_t to);

/** What the guest reads on the status page ("Ready for pickup"). */
const char *cs_order_state_label(cs_order_state_t s);

/** 1 for a state in which the money was taken and the order lives on
 * (paid, sent_to_pos, accepted, ready, picked_up). */
int cs_order_is_paid(cs_order_state_t s);

/** 1 for a state no move leaves except to refunded (or none at all). */
int cs_order_is_final(cs_order_state_t s);

#endif
