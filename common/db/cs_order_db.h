/**
 * @file cs_order_db.h
 * @brief Moving an order from one state to the next in Postgres: the one
 * way every module changes orders.state (mod_consult_orders' jobs and
 * pages, the dashboard's buttons).
 */
#ifndef CS_ORDER_DB_H
#define CS_ORDER_DB_H

#include "domain/cs_order.h"

#include <apr_pools.h>
#include <apr_errno.h>
#include <libpq-fe.h>

/**
 * Move order @p order_id of client @p client_id to @p to, in the caller's
 * transaction: the row is locked, the move checked with cs_order_can, the
 * state written and an order_events row added (@p actor: "guest",
 * "stripe", "pos", "system" or "staff:ID"; @p reason may be NULL). A move
 * out of the kitchen's plan (cancelled, failed, refunded) gives the
 * order's pickup capacity back.
 *
 * @param pfrom the state it was in (set whenever the order was found); may be NULL
 * @return APR_SUCCESS; APR_NOTFOUND (no such order for that client);
 *         APR_EINVAL (not a move the state machine allows: nothing is
 *         written); APR_EGENERAL with *perr when the database failed.
 */
apr_status_t cs_order_move(PGconn *conn, apr_pool_t *p, const char *client_id,
                           const char *order_id, cs_order_state_t to, const char *actor,
                           const char *reason, cs_order_state_t *pfrom, const char **perr);

/** Add a note to an order's history without a move (a failed payment, a
 * dispute, a line left out). */
apr_status_t cs_order_note(PGconn *conn, apr_pool_t *p, const char *order_id,
                           const char *actor, const char *reason, const char **perr);

/**
 * Queue a refund of @p cents of an order (an order_refunds row and the
 * order.refund job that sends it to Stripe), once per @p cause: the same
 * cause again (a retried job, a redelivered event) changes nothing.
 * @p by: "system" or "staff:ID". A zero amount queues nothing.
 */
apr_status_t cs_order_refund_queue(PGconn *conn, apr_pool_t *p, const char *order_id,
                                   apr_int64_t cents, const char *cause, const char *reason,
                                   const char *by, const char **perr);

/**
 * Tell an order's guest @p body through the existing messaging jobs
 * (consult_order_tell): by SMS when @p sms_ok and they gave a phone that
 * did not opt out, else by email when @p email_ok; with neither, the
 * order's history says they were not told.
 */
apr_status_t cs_order_tell(PGconn *conn, apr_pool_t *p, const char *order_id, const char *body,
                           int sms_ok, int email_ok, const char **perr);

#endif
