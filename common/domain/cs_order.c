/* An online order's states and moves (see cs_order.h). */
#include "domain/cs_order.h"

#include <string.h>

static const char *const names[CS_ORDER_NSTATES] = {
    "pending_payment", "paid", "sent_to_pos", "accepted", "ready", "picked_up",
    "failed", "cancelled", "refunded"
};

static const char *const labels[CS_ORDER_NSTATES] = {
    "Waiting for payment", "Paid: on its way to the kitchen", "Sent to the kitchen",
    "Being prepared", "Ready for pickup", "Picked up", "Could not be completed",
    "Cancelled", "Refunded"
};

const char *cs_order_state_name(cs_order_state_t s)
{
    return (unsigned)s < CS_ORDER_NSTATES ? names[s] : NULL;
}

int cs_order_state_parse(const char *name, cs_order_state_t *ps)
{
    int i;
    for (i = 0; name && i < CS_ORDER_NSTATES; i++) {
        if (!strcmp(name, names[i])) {
            *ps = (cs_order_state_t)i;
            return 1;
        }
    }
    return 0;
}

const char *cs_order_state_label(cs_order_state_t s)
{
    return (unsigned)s < CS_ORDER_NSTATES ? labels[s] : NULL;
}

int cs_order_is_paid(cs_order_state_t s)
{
    return s >= CS_ORDER_PAID && s <= CS_ORDER_PICKED_UP;
}

int cs_order_is_final(cs_order_state_t s)
{
    return s >= CS_ORDER_PICKED_UP;
}

int cs_order_can(cs_order_state_t from, cs_order_state_t to)
{
    if ((unsigned)from >= CS_ORDER_NSTATES || (unsigned)to >= CS_ORDER_NSTATES || from == to) {
        return 0;
    }
    switch (to) {
    case CS_ORDER_PAID: case CS_ORDER_SENT: case CS_ORDER_ACCEPTED:
    case CS_ORDER_READY: case CS_ORDER_PICKED_UP:
        /* Along the main line, forward, from pending only to paid (the
         * kitchen never sees an unpaid order). */
        return from == CS_ORDER_PENDING ? to == CS_ORDER_PAID
                                        : cs_order_is_paid(from) && from < to;
    case CS_ORDER_FAILED:
        return from == CS_ORDER_PAID || from == CS_ORDER_SENT;
    case CS_ORDER_CANCELLED:
        return from == CS_ORDER_PENDING;
    case CS_ORDER_REFUNDED:
        return cs_order_is_paid(from) || from == CS_ORDER_FAILED || from == CS_ORDER_CANCELLED;
    default:
        return 0;
    }
}
