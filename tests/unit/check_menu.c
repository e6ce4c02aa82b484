/* cs_menu (exact money, validation) and the mock POS adapter's own rules
 * (its menu file, its state file); the shared adapter contract is in
 * check_pos_contract.c. */
#include "unit.h"
#include "domain/cs_menu.h"
#include "providers/pos/cs_pos_mock.h"

#include <apr_strings.h>
#include <string.h>

START_TEST(test_decimal_prices_become_exact_cents)
{
    apr_int64_t c;

    ck_assert_int_eq(cs_menu_decimal_to_cents(&c, "12.10", 0), APR_SUCCESS);
    ck_assert_int_eq(c, 1210);
    ck_assert_int_eq(cs_menu_decimal_to_cents(&c, "12.1", 0), APR_SUCCESS);
    ck_assert_int_eq(c, 1210);
    ck_assert_int_eq(cs_menu_decimal_to_cents(&c, "12", 0), APR_SUCCESS);
    ck_assert_int_eq(c, 1200);
    ck_assert_int_eq(cs_menu_decimal_to_cents(&c, "0.50", 0), APR_SUCCESS);
    ck_assert_int_eq(c, 50);
    /* 0.29 is 0.28999... as a double: the text path must not lose a cent */
    ck_assert_int_eq(cs_menu_decimal_to_cents(&c, "0.29", 0), APR_SUCCESS);
    ck_assert_int_eq(c, 29);
    ck_assert_int_eq(cs_menu_decimal_to_cents(&c, "12.500", 0), APR_SUCCESS);
    ck_assert_int_eq(c, 1250);
    ck_assert_int_eq(cs_menu_decimal_to_cents(&c, "-1.25", 1), APR_SUCCESS);
    ck_assert_int_eq(c, -125);
}
END_TEST

START_TEST(test_decimal_prices_refuse_what_is_not_a_price)
{
    apr_int64_t c;
    static const char *bad[] = { "0.005", "-1", "1e3", "", ".5", "5.", "1,50", "12.10 ",
                                 "NaN", "123456789.00", NULL };
    int i;

    for (i = 0; bad[i]; i++) {
        ck_assert_msg(cs_menu_decimal_to_cents(&c, bad[i], 0) == APR_EINVAL,
                      "'%s' accepted", bad[i]);
    }
    ck_assert_int_eq(cs_menu_decimal_to_cents(&c, NULL, 0), APR_EINVAL);
}
END_TEST

START_TEST(test_prices_format_exactly)
{
    ck_assert_str_eq(cs_menu_format_price(unit_pool, 1400, "USD"), "$14.00");
    ck_assert_str_eq(cs_menu_format_price(unit_pool, 5, "USD"), "$0.05");
    ck_assert_str_eq(cs_menu_format_price(unit_pool, -150, "USD"), "-$1.50");
    ck_assert_str_eq(cs_menu_format_price(unit_pool, 320, "EUR"), "\xe2\x82\xac" "3.20");
    ck_assert_str_eq(cs_menu_format_price(unit_pool, 1234, "JPY"), "12.34 JPY");
}
END_TEST

static const char *menu_json =
    "{\"currency\":\"USD\","
    " \"modifier_groups\":[{\"id\":\"size\",\"name\":\"Size\",\"min\":1,\"max\":1,"
    "   \"modifiers\":[{\"id\":\"s12\",\"name\":\"12-inch\",\"price_cents\":0},"
    "                  {\"id\":\"s16\",\"name\":\"16-inch\",\"price_cents\":500}]}],"
    " \"categories\":[{\"id\":\"pizzas\",\"name\":\"Pizzas\",\"items\":["
    "   {\"id\":\"margherita\",\"name\":\"Margherita\",\"price_cents\":1400,"
    "    \"modifier_groups\":[\"size\"],\"prep_points\":2},"
    "   {\"id\":\"staff\",\"name\":\"Staff pie\",\"price_cents\":0,\"visible\":false}]}]}";

START_TEST(test_mock_menu_file_parses_into_the_model)
{
    cs_menu_t *m;
    const char *err = NULL;
    const cs_menu_item_t *it;

    ck_assert_int_eq(cs_pos_mock_parse_menu(&m, unit_pool, menu_json, strlen(menu_json),
                                            &err), APR_SUCCESS);
    ck_assert_int_eq(m->items->nelts, 2);
    it = &APR_ARRAY_IDX(m->items, 0, cs_menu_item_t);
    ck_assert_str_eq(it->pos_id, "margherita");
    ck_assert_str_eq(it->category_id, "pizzas");
    ck_assert_int_eq(it->price_cents, 1400);
    ck_assert_int_eq(it->prep_points, 2);
    ck_assert_int_eq(it->visible, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(it->group_ids, 0, const char *), "size");
    it = &APR_ARRAY_IDX(m->items, 1, cs_menu_item_t);
    ck_assert_int_eq(it->visible, 0);
    ck_assert_int_eq(it->prep_points, 1);
    ck_assert_int_eq(APR_ARRAY_IDX(m->groups, 0, cs_menu_group_t).min, 1);
}
END_TEST

START_TEST(test_a_menu_with_broken_references_is_refused_with_the_reason)
{
    const char *bad_group = "{\"currency\":\"USD\",\"modifier_groups\":[],\"categories\":"
                            "[{\"id\":\"c\",\"name\":\"C\",\"items\":[{\"id\":\"i\","
                            "\"name\":\"I\",\"price_cents\":100,\"modifier_groups\":"
                            "[\"nope\"]}]}]}";
    const char *dup = "{\"currency\":\"USD\",\"modifier_groups\":[],\"categories\":"
                      "[{\"id\":\"c\",\"name\":\"C\",\"items\":[{\"id\":\"i\",\"name\":"
                      "\"I\",\"price_cents\":100},{\"id\":\"i\",\"name\":\"J\","
                      "\"price_cents\":100}]}]}";
    const char *float_price = "{\"currency\":\"USD\",\"modifier_groups\":[],\"categories\":"
                              "[{\"id\":\"c\",\"name\":\"C\",\"items\":[{\"id\":\"i\","
                              "\"name\":\"I\",\"price_cents\":1.5}]}]}";
    cs_menu_t *m;
    const char *err = NULL;

    ck_assert_int_eq(cs_pos_mock_parse_menu(&m, unit_pool, bad_group, strlen(bad_group),
                                            &err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "unknown modifier group 'nope'"));
    ck_assert_int_eq(cs_pos_mock_parse_menu(&m, unit_pool, dup, strlen(dup), &err),
                     APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "appears twice"));
    ck_assert_int_eq(cs_pos_mock_parse_menu(&m, unit_pool, float_price,
                                            strlen(float_price), &err), APR_EINVAL);
    ck_assert_ptr_null(m);
}
END_TEST

START_TEST(test_mock_state_changes_are_what_the_adapter_reports)
{
    cs_pos_conf_t conf = { 0 };
    cs_pos_session_t s = { 0 };
    apr_array_header_t *stock;
    cs_menu_t *m;
    const char *err = NULL;

    unit_put_file("menu.json", menu_json);
    conf.kind = "mock";
    conf.menu_file = apr_pstrcat(unit_pool, unit_tmpdir, "/menu.json", NULL);
    conf.state_file = apr_pstrcat(unit_pool, unit_tmpdir, "/state.json", NULL);
    s.conf = &conf;

    /* No state file yet: nothing is sold out. */
    ck_assert_int_eq(cs_pos_mock.fetch_availability(&stock, &s, unit_pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(stock->nelts, 0);
    ck_assert_int_eq(cs_pos_mock_set_state(conf.state_file, "margherita", 1, unit_pool,
                                           &err), APR_SUCCESS);
    ck_assert_int_eq(cs_pos_mock.fetch_menu(&m, &s, unit_pool, &err), APR_SUCCESS);
    ck_assert_int_eq(APR_ARRAY_IDX(m->items, 0, cs_menu_item_t).sold_out, 1);
    ck_assert_int_eq(APR_ARRAY_IDX(m->items, 1, cs_menu_item_t).sold_out, 0);
    ck_assert_int_eq(cs_pos_mock.set_sold_out(&s, "margherita", 0, unit_pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(cs_pos_mock.fetch_availability(&stock, &s, unit_pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(stock->nelts, 0);
}
END_TEST

START_TEST(test_mock_webhook_signature_binds_time_and_body)
{
    cs_pos_conf_t conf = { 0 };
    cs_pos_webhook_t w = { 0 };
    const char *body = "{\"event_id\":\"e1\",\"type\":\"stock.updated\","
                       "\"sold_out\":[{\"id\":\"margherita\",\"sold_out\":true}]}";
    apr_time_t now = apr_time_from_sec(1700000000);
    cs_pos_event_t *ev;
    const char *err = NULL;

    conf.webhook_secret = "mock-secret";
    w.body = body;
    w.body_len = strlen(body);
    w.headers = apr_table_make(unit_pool, 2);
    w.now = now;
    apr_table_set(w.headers, CS_POS_MOCK_SIG_HEADER,
                  cs_pos_mock_sign(unit_pool, "mock-secret", now, body, strlen(body)));
    ck_assert_int_eq(cs_pos_mock.verify_webhook(&conf, &w, unit_pool, &err), APR_SUCCESS);
    ck_assert_int_eq(cs_pos_mock.parse_webhook(&ev, &w, unit_pool, &err), APR_SUCCESS);
    ck_assert_str_eq(ev->event_id, "e1");
    ck_assert_int_eq(ev->kind, CS_POS_EVENT_STOCK);
    ck_assert_int_eq(ev->stock->nelts, 1);

    /* Another body under the same header: refused. */
    w.body = "{\"event_id\":\"e2\",\"type\":\"stock.updated\"}";
    w.body_len = strlen(w.body);
    ck_assert_int_eq(cs_pos_mock.verify_webhook(&conf, &w, unit_pool, &err), APR_EACCES);
    /* Ten minutes later: stale. */
    w.body = body;
    w.body_len = strlen(body);
    w.now = now + apr_time_from_sec(600);
    ck_assert_int_eq(cs_pos_mock.verify_webhook(&conf, &w, unit_pool, &err), APR_EACCES);
    ck_assert_ptr_nonnull(strstr(err, "too old"));
    /* No header at all. */
    w.now = now;
    apr_table_clear(w.headers);
    ck_assert_int_eq(cs_pos_mock.verify_webhook(&conf, &w, unit_pool, &err), APR_EACCES);
}
END_TEST

static void tmp_setup(void)
{
    unit_tmpdir_setup("menu");
}

Suite *menu_suite(void)
{
    Suite *s = suite_create("cs_menu");
    TCase *tc = tcase_create("money and model");
    TCase *mock = tcase_create("mock POS");

    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_decimal_prices_become_exact_cents);
    tcase_add_test(tc, test_decimal_prices_refuse_what_is_not_a_price);
    tcase_add_test(tc, test_prices_format_exactly);
    tcase_add_test(tc, test_mock_menu_file_parses_into_the_model);
    tcase_add_test(tc, test_a_menu_with_broken_references_is_refused_with_the_reason);
    tcase_add_test(tc, test_mock_webhook_signature_binds_time_and_body);
    suite_add_tcase(s, tc);
    tcase_add_checked_fixture(mock, tmp_setup, unit_tmpdir_teardown);
    tcase_add_test(mock, test_mock_state_changes_are_what_the_adapter_reports);
    suite_add_tcase(s, mock);
    return s;
}
