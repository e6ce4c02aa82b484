/* The POS adapter contract: every adapter (mock, Square, Clover, Toast)
 * against its fake, held to the same behaviours a restaurant would
 * notice: the whole menu across pages, exact prices, sold-out states, a
 * removed item gone, outages and rate limits retried, broken answers and
 * refused credentials reported, webhooks verified and parsed, an order
 * submitted twice made once.
 *
 * One TCase per fixture (pos_fixture.h). Its fake (tests/fakes/...) is
 * started once per TCase in the runner's own process, an unchecked
 * fixture, so forked tests inherit its address; every test resets it to
 * the built-in catalog first. A fixture without a fake (the mock) skips
 * the tests that need the control API. */
#include "unit.h"
#include "pos_fixture.h"
#include "base/cs_json.h"
#include "http/cs_http.h"

#include <apr_strings.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

static const pos_fixture_t *const fixtures[] = {
    &pos_fixture_mock, &pos_fixture_square, &pos_fixture_clover, &pos_fixture_toast,
};
#define N_FIXTURES ((int)(sizeof(fixtures) / sizeof(fixtures[0])))

/* ---- the fixture's fake, per TCase ---------------------------------------- */

static const pos_fixture_t *fx;     /* the running TCase's fixture */
static unit_fake_t fake;

static void fake_start(int k)
{
    fx = fixtures[k];
    *fake.base = '\0';
    if (fx->fake_script) {
        unit_fake_start(&fake, fx->fake_script);
    }
}

static void fake_stop(void)
{
    unit_fake_stop(&fake);
}

#define FIXTURE_START(k) static void start_##k(void) { fake_start(k); }
FIXTURE_START(0)
FIXTURE_START(1)
FIXTURE_START(2)
FIXTURE_START(3)
static void (*const starts[])(void) = { start_0, start_1, start_2, start_3 };

/* ---- per test ---------------------------------------------------------------- */

static cs_pos_conf_t conf;
static cs_pos_session_t sess;
static const cs_pos_adapter_t *ad;

static cs_http_resp_t *control(const char *method, const char *path, const char *body)
{
    cs_http_req_t req;
    cs_http_resp_t *resp = NULL;
    const char *err = NULL;

    memset(&req, 0, sizeof(req));
    req.method = method;
    req.url = apr_pstrcat(unit_pool, fake.base, path, NULL);
    req.body = body;
    req.content_type = body ? "application/json" : NULL;
    ck_assert_msg(cs_http_perform(&resp, unit_pool, &req, &err) == APR_SUCCESS,
                  "%s %s: %s", method, path, err ? err : "?");
    ck_assert_msg(resp->status == 200, "%s %s: HTTP %ld %s", method, path, resp->status,
                  resp->body);
    return resp;
}

static void fake_state(const char *json)
{
    control("POST", "/_control/state", json);
}

static json_object *fake_list(const char *path)
{
    cs_http_resp_t *resp = control("GET", path, NULL);
    cs_json_t *doc;
    const char *err = NULL;

    ck_assert_int_eq(cs_json_parse(&doc, unit_pool, resp->body, resp->len, &err), APR_SUCCESS);
    ck_assert(json_object_is_type(cs_json_raw(doc), json_type_array));
    return cs_json_raw(doc);
}

static void setup(void)
{
    unit_tmpdir_setup("pos_contract");
    cs_http_global_init();
    ad = cs_pos_adapter(fx->name);
    ck_assert_msg(ad != NULL, "no adapter named %s", fx->name);
    if (fx->fake_script) {
        control("POST", "/_control/reset", NULL);
    }
    fx->make_conf(&conf, unit_pool, fx->fake_script ? fake.base : unit_tmpdir);
    memset(&sess, 0, sizeof(sess));
    sess.conf = &conf;
    sess.token_pool = unit_pool;
}

static void teardown(void)
{
    unit_tmpdir_teardown();
}

/* Tests that change the POS through the control API. */
#define NEEDS_FAKE() do { if (!fx->fake_script) return; } while (0)

static cs_menu_t *menu_ok(void)
{
    cs_menu_t *m = NULL;
    const char *err = NULL;
    apr_status_t rv = ad->fetch_menu(&m, &sess, unit_pool, &err);

    ck_assert_msg(rv == APR_SUCCESS, "%s: fetch_menu: %d %s", fx->name, rv, err ? err : "");
    ck_assert_ptr_nonnull(m);
    return m;
}

static const cs_menu_item_t *find_item(const cs_menu_t *m, const char *id)
{
    int i;

    for (i = 0; i < m->items->nelts; i++) {
        const cs_menu_item_t *it = &APR_ARRAY_IDX(m->items, i, cs_menu_item_t);
        if (!strcmp(it->pos_id, id)) {
            return it;
        }
    }
    return NULL;
}

static int visible_items(const cs_menu_t *m)
{
    int i, n = 0;

    for (i = 0; i < m->items->nelts; i++) {
        n += APR_ARRAY_IDX(m->items, i, cs_menu_item_t).visible != 0;
    }
    return n;
}

/* 1 sold out, 0 available (or absent: available), per fetch_availability. */
static int stock_sold_out(const char *id)
{
    apr_array_header_t *a = NULL;
    const char *err = NULL;
    apr_status_t rv = ad->fetch_availability(&a, &sess, unit_pool, &err);
    int i;

    ck_assert_msg(rv == APR_SUCCESS, "%s: fetch_availability: %d %s", fx->name, rv,
                  err ? err : "");
    for (i = 0; i < a->nelts; i++) {
        const cs_menu_stock_t *st = &APR_ARRAY_IDX(a, i, cs_menu_stock_t);
        if (st->pos_id && !strcmp(st->pos_id, id)) {
            return st->sold_out != 0;
        }
    }
    return 0;
}

/* ---- the menu ------------------------------------------------------------------ */

START_TEST(test_whole_menu_is_fetched_across_pages_and_valid)
{
    const cs_menu_t *m;
    const char *err = NULL;
    int i, found = 0;

    if (fx->fake_script) {
        fake_state("{\"page_size\": 2}");
    }
    m = menu_ok();
    ck_assert_int_eq(cs_menu_validate(m, unit_pool, &err), APR_SUCCESS);
    ck_assert_int_eq(visible_items(m), fx->visible_items);
    ck_assert_int_ge(m->categories->nelts, 3);
    for (i = 0; i < m->groups->nelts; i++) {
        const cs_menu_group_t *g = &APR_ARRAY_IDX(m->groups, i, cs_menu_group_t);
        if (!strcmp(g->pos_id, fx->required_group)) {
            ck_assert_int_eq(g->min, 1);
            ck_assert_int_eq(g->max, 1);
            found = 1;
        }
    }
    ck_assert_msg(found, "%s: no required group %s", fx->name, fx->required_group);
}
END_TEST

START_TEST(test_priced_item_is_exact_in_cents)
{
    const cs_menu_item_t *it = find_item(menu_ok(), fx->priced_item);

    ck_assert_ptr_nonnull(it);
    ck_assert_int_eq(it->price_cents, fx->priced_item_cents);
}
END_TEST

START_TEST(test_sold_out_item_is_sold_out_and_available_one_is_not)
{
    const cs_menu_t *m = menu_ok();
    const cs_menu_item_t *gone = find_item(m, fx->sold_out_item);
    const cs_menu_item_t *here = find_item(m, fx->available_item);

    ck_assert_ptr_nonnull(gone);
    ck_assert_ptr_nonnull(here);
    ck_assert_int_eq(gone->sold_out, 1);
    ck_assert_int_eq(here->sold_out, 0);
    ck_assert_int_eq(stock_sold_out(fx->sold_out_item), 1);
    ck_assert_int_eq(stock_sold_out(fx->available_item), 0);
}
END_TEST

START_TEST(test_removed_item_disappears_on_the_next_fetch)
{
    NEEDS_FAKE();
    ck_assert_ptr_nonnull(find_item(menu_ok(), fx->available_item));
    fake_state(apr_psprintf(unit_pool, "{\"remove_item\": \"%s\"}", fx->available_item));
    ck_assert_ptr_null(find_item(menu_ok(), fx->available_item));
}
END_TEST

START_TEST(test_sold_out_set_at_the_pos_or_not_implemented)
{
    const char *err = NULL;
    apr_status_t rv = ad->set_sold_out(&sess, fx->available_item, 1, unit_pool, &err);

    if (!fx->can_set_sold_out) {
        ck_assert_int_eq(rv, APR_ENOTIMPL);
        ck_assert_ptr_nonnull(err);
        return;
    }
    ck_assert_msg(rv == APR_SUCCESS, "%s: set_sold_out: %s", fx->name, err ? err : "");
    ck_assert_int_eq(stock_sold_out(fx->available_item), 1);
    ck_assert_int_eq(ad->set_sold_out(&sess, fx->available_item, 0, unit_pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(stock_sold_out(fx->available_item), 0);
}
END_TEST

/* ---- failures ----------------------------------------------------------------------- */

START_TEST(test_outage_then_success_is_eagain_first)
{
    cs_menu_t *m = NULL;
    const char *err = NULL;

    NEEDS_FAKE();
    fake_state("{\"fail\": {\"status\": 503, \"times\": 1}}");
    ck_assert_int_eq(ad->fetch_menu(&m, &sess, unit_pool, &err), APR_EAGAIN);
    ck_assert_ptr_nonnull(err);
    menu_ok();
}
END_TEST

START_TEST(test_rate_limit_is_eagain_with_retry_after)
{
    cs_menu_t *m = NULL;
    const char *err = NULL;

    NEEDS_FAKE();
    fake_state("{\"fail\": {\"status\": 429, \"times\": 1, \"retry_after\": 7}}");
    ck_assert_int_eq(ad->fetch_menu(&m, &sess, unit_pool, &err), APR_EAGAIN);
    ck_assert_int_eq(sess.retry_after, apr_time_from_sec(7));
}
END_TEST

START_TEST(test_malformed_answer_is_einval_not_a_crash)
{
    cs_menu_t *m = NULL;
    apr_array_header_t *a = NULL;
    const char *err = NULL;

    NEEDS_FAKE();
    fake_state("{\"malformed\": 1}");
    ck_assert_int_eq(ad->fetch_menu(&m, &sess, unit_pool, &err), APR_EINVAL);
    ck_assert_ptr_null(m);
    ck_assert_ptr_nonnull(err);
    fake_state("{\"malformed\": 1}");
    ck_assert_int_eq(ad->fetch_availability(&a, &sess, unit_pool, &err), APR_EINVAL);
    menu_ok();
}
END_TEST

START_TEST(test_bad_token_is_eacces)
{
    cs_menu_t *m = NULL;
    const char *err = NULL;

    NEEDS_FAKE();
    conf.access_token = "wrong-token";
    conf.client_secret = "wrong-secret";
    ck_assert_int_eq(ad->fetch_menu(&m, &sess, unit_pool, &err), APR_EACCES);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_null(strstr(err, "wrong-"));
}
END_TEST

/* ---- webhooks ------------------------------------------------------------------------ */

static cs_pos_webhook_t delivery(const cs_pos_conf_t *c, apr_time_t signed_at, int sign)
{
    cs_pos_webhook_t w;

    memset(&w, 0, sizeof(w));
    w.url = c->webhook_url ? c->webhook_url
                           : apr_pstrcat(unit_pool, "https://consult.example/webhooks/pos/",
                                         fx->name, NULL);
    w.body = fx->stock_webhook_body;
    w.body_len = strlen(w.body);
    w.headers = apr_table_make(unit_pool, 4);
    w.now = apr_time_now();
    if (sign) {
        fx->sign_webhook(&w, c, unit_pool, signed_at);
    }
    return w;
}

START_TEST(test_signed_webhook_verifies_and_parses)
{
    cs_pos_webhook_t w = delivery(&conf, apr_time_now(), 1);
    cs_pos_event_t *ev = NULL;
    const char *err = NULL;
    int i, found = 0;

    ck_assert_msg(ad->verify_webhook(&conf, &w, unit_pool, &err) == APR_SUCCESS,
                  "%s: verify: %s", fx->name, err ? err : "");
    ck_assert_int_eq(ad->parse_webhook(&ev, &w, unit_pool, &err), APR_SUCCESS);
    ck_assert_str_eq(ev->event_id, fx->webhook_event_id);
    ck_assert_int_eq(ev->kind, CS_POS_EVENT_STOCK);
    for (i = 0; ev->stock && i < ev->stock->nelts; i++) {
        const cs_menu_stock_t *st = &APR_ARRAY_IDX(ev->stock, i, cs_menu_stock_t);
        if (!strcmp(st->pos_id, fx->sold_out_item)) {
            ck_assert_int_eq(st->sold_out, 1);
            found = 1;
        }
    }
    ck_assert(!ev->stock || found);
}
END_TEST

START_TEST(test_forged_or_unsigned_webhook_is_eacces)
{
    cs_pos_conf_t other = conf;
    cs_pos_webhook_t w = delivery(&conf, apr_time_now(), 0);
    const char *err = NULL;

    ck_assert_int_eq(ad->verify_webhook(&conf, &w, unit_pool, &err), APR_EACCES);
    other.webhook_secret = "not-the-secret-at-all";
    w = delivery(&other, apr_time_now(), 1);
    ck_assert_int_eq(ad->verify_webhook(&conf, &w, unit_pool, &err), APR_EACCES);
    ck_assert_ptr_nonnull(err);
}
END_TEST

START_TEST(test_stale_webhook_is_refused_where_signed_with_a_time)
{
    cs_pos_webhook_t w;
    const char *err = NULL;

    if (!fx->webhook_has_timestamp) {
        return;
    }
    w = delivery(&conf, apr_time_now() - apr_time_from_sec(3600), 1);
    ck_assert_int_eq(ad->verify_webhook(&conf, &w, unit_pool, &err), APR_EACCES);
}
END_TEST

/* ---- orders ------------------------------------------------------------------------- */

static cs_pos_order_t *order(const char *ext)
{
    cs_pos_order_t *o = apr_pcalloc(unit_pool, sizeof(*o));
    cs_pos_line_t *l;

    o->external_id = ext;
    o->customer_name = "Ada Lovelace";
    o->customer_phone = "+15551234567";
    o->customer_email = "ada@example.com";
    o->lines = apr_array_make(unit_pool, 1, sizeof(cs_pos_line_t));
    l = apr_array_push(o->lines);
    memset(l, 0, sizeof(*l));
    l->item_id = fx->priced_item;
    l->quantity = 2;
    l->modifier_ids = apr_array_make(unit_pool, 1, sizeof(const char *));
    l->unit_price_cents = fx->priced_item_cents;
    o->subtotal_cents = o->total_cents = 2 * fx->priced_item_cents;
    o->payment_ref = "pi_contract_0001";
    return o;
}

START_TEST(test_order_submitted_twice_is_one_order)
{
    cs_pos_order_t *o = order("ord-contract-0001");
    cs_pos_order_result_t *a = NULL, *b = NULL, *st = NULL;
    const char *err = NULL;
    apr_status_t rv;

    rv = ad->submit_order(&a, &sess, o, unit_pool, &err);
    ck_assert_msg(rv == APR_SUCCESS, "%s: submit: %d %s", fx->name, rv, err ? err : "");
    ck_assert_ptr_nonnull(a->pos_order_id);
    rv = ad->submit_order(&b, &sess, o, unit_pool, &err);
    ck_assert_msg(rv == APR_SUCCESS, "%s: submit again: %d %s", fx->name, rv, err ? err : "");
    ck_assert_str_eq(a->pos_order_id, b->pos_order_id);
    if (fx->fake_script) {
        ck_assert_int_eq((int)json_object_array_length(fake_list("/_control/orders")), 1);
    }
    ck_assert_int_eq(ad->order_status(&st, &sess, a->pos_order_id, unit_pool, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(st->pos_order_id, a->pos_order_id);
    ck_assert(!strcmp(st->status, CS_POS_ORDER_PENDING)
              || !strcmp(st->status, CS_POS_ORDER_ACCEPTED)
              || !strcmp(st->status, CS_POS_ORDER_READY)
              || !strcmp(st->status, CS_POS_ORDER_COMPLETED)
              || !strcmp(st->status, CS_POS_ORDER_CANCELLED));
}
END_TEST

START_TEST(test_different_orders_are_different_at_the_pos)
{
    cs_pos_order_result_t *a = NULL, *b = NULL;
    const char *err = NULL;

    ck_assert_int_eq(ad->submit_order(&a, &sess, order("ord-contract-0002"), unit_pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(ad->submit_order(&b, &sess, order("ord-contract-0003"), unit_pool, &err),
                     APR_SUCCESS);
    ck_assert_str_ne(a->pos_order_id, b->pos_order_id);
    if (fx->fake_script) {
        ck_assert_int_eq((int)json_object_array_length(fake_list("/_control/orders")), 2);
    }
}
END_TEST

Suite *pos_contract_suite(void)
{
    Suite *s = suite_create("pos_contract");
    int k;

    for (k = 0; k < N_FIXTURES; k++) {
        TCase *tc = tcase_create(fixtures[k]->name);
        tcase_add_unchecked_fixture(tc, starts[k], fake_stop);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_whole_menu_is_fetched_across_pages_and_valid);
        tcase_add_test(tc, test_priced_item_is_exact_in_cents);
        tcase_add_test(tc, test_sold_out_item_is_sold_out_and_available_one_is_not);
        tcase_add_test(tc, test_removed_item_disappears_on_the_next_fetch);
        tcase_add_test(tc, test_sold_out_set_at_the_pos_or_not_implemented);
        tcase_add_test(tc, test_outage_then_success_is_eagain_first);
        tcase_add_test(tc, test_rate_limit_is_eagain_with_retry_after);
        tcase_add_test(tc, test_malformed_answer_is_einval_not_a_crash);
        tcase_add_test(tc, test_bad_token_is_eacces);
        tcase_add_test(tc, test_signed_webhook_verifies_and_parses);
        tcase_add_test(tc, test_forged_or_unsigned_webhook_is_eacces);
        tcase_add_test(tc, test_stale_webhook_is_refused_where_signed_with_a_time);
        tcase_add_test(tc, test_order_submitted_twice_is_one_order);
        tcase_add_test(tc, test_different_orders_are_different_at_the_pos);
        suite_add_tcase(s, tc);
    }
    return s;
}
