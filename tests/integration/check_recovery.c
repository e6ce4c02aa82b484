/* PostgreSQL going away and coming back, with Apache running and with
 * Apache starting while it is down. */
#include "integ.h"

#include <apr_strings.h>
#include <string.h>

#define SITE "coffee-shop.localhost"
#define FORM "application/x-www-form-urlencoded"

START_TEST(test_postgres_down_gives_503_with_retry_after_then_recovers)
{
    it_resp_t *r;
    const char *out;

    ck_assert_int_eq(it_post(SITE, FORM, "email=a%40b.co&message=before")->status, 303);
    ck_assert_msg(it_ctl("pg-stop", &out) == 0, "%s", out);

    r = it_post(SITE, FORM, "email=a%40b.co&message=while+down");
    ck_assert_int_eq(r->status, 503);
    ck_assert_str_eq(apr_table_get(r->headers, "Retry-After"), "5");
    ck_assert_msg(strstr(r->body, "\"error\":\"unavailable\"") != NULL, "%s", r->body);
    ck_assert_msg(it_wait_health(503, 5), "health did not report 503");
    r = it_post(SITE, "application/json", "{\"email\":\"a@b.co\",\"message\":\"json down\"}");
    ck_assert_int_eq(r->status, 503);

    ck_assert_msg(it_ctl("pg-start", &out) == 0, "%s", out);
    /* Pooled connections from before the restart are dead: the very first
     * request must get a fresh one rather than an error. */
    r = it_post(SITE, FORM, "email=a%40b.co&message=after+restart");
    ck_assert_int_eq(r->status, 303);
    ck_assert_msg(it_wait_health(200, 5), "health did not recover");
    ck_assert_str_eq(it_sql("SELECT string_agg(message, ',' ORDER BY id) FROM submissions"
                            " WHERE message IN ('before', 'while down', 'json down', 'after restart')",
                            0, NULL), "before,after restart");
}
END_TEST

START_TEST(test_every_pooled_connection_is_checked_after_a_restart)
{
    const char *out;
    int i, ok = 0;

    /* Warm several connections in every child, then restart Postgres. */
    for (i = 0; i < 20; i++) {
        it_req_t req = { 0 };
        req.host = "localhost";
        req.path = "/consult/health";
        it_http(&req);
    }
    ck_assert_msg(it_ctl("pg-stop", &out) == 0, "%s", out);
    ck_assert_msg(it_ctl("pg-start", &out) == 0, "%s", out);
    for (i = 0; i < 20; i++) {
        ok += it_post(SITE, FORM, "email=a%40b.co&message=post+restart")->status == 303;
    }
    ck_assert_int_eq(ok, 20);
}
END_TEST

START_TEST(test_apache_starts_while_postgres_is_down)
{
    const char *out;
    it_req_t req = { 0 };

    ck_assert_msg(it_ctl("httpd-stop", &out) == 0, "%s", out);
    ck_assert_msg(it_ctl("pg-stop", &out) == 0, "%s", out);
    ck_assert_msg(it_ctl("httpd-start", &out) == 0, "Apache did not start: %s", out);

    req.host = SITE;
    req.path = "/";
    ck_assert_int_eq(it_http(&req)->status, 200);     /* the site is up */
    ck_assert_int_eq(it_post(SITE, FORM, "email=a%40b.co&message=x")->status, 503);

    ck_assert_msg(it_ctl("pg-start", &out) == 0, "%s", out);
    ck_assert_msg(it_wait_health(200, 10), "requests did not recover by themselves");
    ck_assert_int_eq(it_post(SITE, FORM, "email=a%40b.co&message=recovered")->status, 303);
}
END_TEST

Suite *suite_recovery(void)
{
    Suite *s = suite_create("recovery");
    TCase *tc = tcase_create("postgres");

    tcase_add_checked_fixture(tc, it_setup, it_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_postgres_down_gives_503_with_retry_after_then_recovers);
    tcase_add_test(tc, test_every_pooled_connection_is_checked_after_a_restart);
    tcase_add_test(tc, test_apache_starts_while_postgres_is_down);
    suite_add_tcase(s, tc);
    return s;
}
