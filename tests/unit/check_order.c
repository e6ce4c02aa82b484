/* The order state machine (domain/cs_order.c): the moves an order may
 * make, every one of the 81 pairs checked against the table a restaurant
 * would write down, and the names and labels guests and staff read. */
#include "unit.h"
#include "domain/cs_order.h"

#include <string.h>

#define P CS_ORDER_PENDING
#define D CS_ORDER_PAID
#define S CS_ORDER_SENT
#define A CS_ORDER_ACCEPTED
#define R CS_ORDER_READY
#define U CS_ORDER_PICKED_UP
#define F CS_ORDER_FAILED
#define C CS_ORDER_CANCELLED
#define X CS_ORDER_REFUNDED

/* allowed[from][to], written out by hand: forward along the kitchen's
 * line, the side exits, never backwards, never to itself. */
static const int allowed[CS_ORDER_NSTATES][CS_ORDER_NSTATES] = {
    /*            P  D  S  A  R  U  F  C  X */
    /* P */     { 0, 1, 0, 0, 0, 0, 0, 1, 0 },
    /* D */     { 0, 0, 1, 1, 1, 1, 1, 0, 1 },
    /* S */     { 0, 0, 0, 1, 1, 1, 1, 0, 1 },
    /* A */     { 0, 0, 0, 0, 1, 1, 0, 0, 1 },
    /* R */     { 0, 0, 0, 0, 0, 1, 0, 0, 1 },
    /* U */     { 0, 0, 0, 0, 0, 0, 0, 0, 1 },
    /* F */     { 0, 0, 0, 0, 0, 0, 0, 0, 1 },
    /* C */     { 0, 0, 0, 0, 0, 0, 0, 0, 1 },
    /* X */     { 0, 0, 0, 0, 0, 0, 0, 0, 0 },
};

START_TEST(test_every_move_is_the_one_the_table_allows)
{
    int from, to;
    for (from = 0; from < CS_ORDER_NSTATES; from++) {
        for (to = 0; to < CS_ORDER_NSTATES; to++) {
            ck_assert_msg(cs_order_can(from, to) == allowed[from][to], "%s -> %s: %d",
                          cs_order_state_name(from), cs_order_state_name(to),
                          cs_order_can(from, to));
        }
    }
}
END_TEST

START_TEST(test_an_unpaid_order_never_reaches_the_kitchen)
{
    ck_assert(!cs_order_can(P, S));
    ck_assert(!cs_order_can(P, A));
    ck_assert(!cs_order_can(P, R));
    ck_assert(!cs_order_can(P, X));     /* nothing to refund */
    ck_assert(!cs_order_can(C, D));     /* paid after expiry: refunded, not revived */
}
END_TEST

START_TEST(test_no_state_goes_back_and_refunded_is_the_end)
{
    int from, to;
    for (from = 0; from < CS_ORDER_NSTATES; from++) {
        ck_assert(!cs_order_can(from, from));
        ck_assert(!cs_order_can(X, from));
        for (to = 0; to < from && from <= U; to++) {
            ck_assert_msg(!cs_order_can(from, to), "%s back to %s", cs_order_state_name(from),
                          cs_order_state_name(to));
        }
    }
    ck_assert(!cs_order_can(-1, D));
    ck_assert(!cs_order_can(D, CS_ORDER_NSTATES));
}
END_TEST

START_TEST(test_names_round_trip_and_labels_read_well)
{
    int s;
    cs_order_state_t back;
    for (s = 0; s < CS_ORDER_NSTATES; s++) {
        ck_assert(cs_order_state_parse(cs_order_state_name(s), &back));
        ck_assert_int_eq(back, s);
        ck_assert_ptr_nonnull(cs_order_state_label(s));
    }
    ck_assert_str_eq(cs_order_state_name(S), "sent_to_pos");
    ck_assert_str_eq(cs_order_state_label(R), "Ready for pickup");
    ck_assert(!cs_order_state_parse("shipped", &back));
    ck_assert(!cs_order_state_parse(NULL, &back));
    ck_assert_ptr_null(cs_order_state_name(CS_ORDER_NSTATES));
    ck_assert(cs_order_is_paid(U) && !cs_order_is_paid(F) && !cs_order_is_paid(P));
    ck_assert(cs_order_is_final(U) && cs_order_is_final(X) && !cs_order_is_final(R));
}
END_TEST

Suite *order_suite(void)
{
    Suite *s = suite_create("order");
    TCase *tc = tcase_create("order");
    tcase_add_test(tc, test_every_move_is_the_one_the_table_allows);
    tcase_add_test(tc, test_an_unpaid_order_never_reaches_the_kitchen);
    tcase_add_test(tc, test_no_state_goes_back_and_refunded_is_the_end);
    tcase_add_test(tc, test_names_round_trip_and_labels_read_well);
    suite_add_tcase(s, tc);
    return s;
}
