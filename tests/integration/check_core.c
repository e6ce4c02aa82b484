/* mod_consult_core over HTTP: health endpoint and serving the sites. */
#include "integ.h"

#include <apr_strings.h>
#include <string.h>

static it_resp_t *get(const char *host, const char *path)
{
    it_req_t req = { 0 };
    req.host = host;
    req.path = path;
    return it_http(&req);
}

START_TEST(test_health_reports_database_round_trip_and_pool)
{
    it_resp_t *r = get("coffee-shop.localhost", "/consult/health");

    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(apr_table_get(r->headers, "Content-Type"),
                     "application/json; charset=utf-8");
    ck_assert_msg(strstr(r->body, "\"status\":\"ok\"") != NULL, "%s", r->body);
    ck_assert_msg(strstr(r->body, "\"rtt_ms\":") != NULL, "%s", r->body);
    /* conf/httpd.conf sets ConsultPoolMax 16 and ConsultPoolMin 1. */
    ck_assert_msg(strstr(r->body, "\"max\":16") != NULL, "%s", r->body);
    ck_assert_msg(strstr(r->body, "\"min\":1") != NULL, "%s", r->body);
}
END_TEST

START_TEST(test_health_answers_on_a_vhost_without_client)
{
    it_resp_t *r = get("noclient.localhost", "/consult/health");
    ck_assert_int_eq(r->status, 200);
    r = get("localhost", "/consult/health");
    ck_assert_int_eq(r->status, 200);
}
END_TEST

START_TEST(test_health_refuses_post)
{
    it_req_t req = { 0 };
    it_resp_t *r;
    req.host = "localhost";
    req.path = "/consult/health";
    req.method = "POST";
    r = it_http(&req);
    ck_assert_int_eq(r->status, 405);
    ck_assert_str_eq(apr_table_get(r->headers, "Allow"), "GET, HEAD");
}
END_TEST

START_TEST(test_coffee_shop_site_is_served_with_its_form)
{
    it_resp_t *r = get("coffee-shop.localhost", "/");

    ck_assert_int_eq(r->status, 200);
    ck_assert_msg(strstr(r->body, "action=\"/api/intake\"") != NULL, "no intake form");
    ck_assert_msg(strstr(r->body, "name=\"message\"") != NULL, "no message field");
    ck_assert_int_eq(get("coffee-shop.localhost", "/thanks.html")->status, 200);
    r = get("coffee-shop.localhost", "/no-such-page");
    ck_assert_int_eq(r->status, 404);
    ck_assert_msg(strstr(r->body, "<html") != NULL, "404 page is not the site's");
}
END_TEST

START_TEST(test_unknown_host_gets_the_default_page)
{
    it_resp_t *r = get("nobody.localhost", "/");
    ck_assert_int_eq(r->status, 200);
    ck_assert_msg(strstr(r->body, "coffee-shop.localhost") != NULL, "%s", r->body);
    ck_assert_int_eq(get("nobody.localhost", "/api/intake")->status, 404);
}
END_TEST

Suite *suite_core(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("http");

    tcase_add_checked_fixture(tc, it_setup, it_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_health_reports_database_round_trip_and_pool);
    tcase_add_test(tc, test_health_answers_on_a_vhost_without_client);
    tcase_add_test(tc, test_health_refuses_post);
    tcase_add_test(tc, test_coffee_shop_site_is_served_with_its_form);
    tcase_add_test(tc, test_unknown_host_gets_the_default_page);
    suite_add_tcase(s, tc);
    return s;
}
