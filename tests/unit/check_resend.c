/* Resend's answers to POST /emails: the id, or why not and whether a
 * retry can help. */
#include "unit.h"
#include "providers/cs_resend.h"

#include <string.h>

static apr_status_t parse(long status, const char *body, const char **id, const char **why,
                          int *permanent)
{
    return cs_resend_parse_answer(unit_pool, status, body, body ? strlen(body) : 0, id, why,
                                  permanent);
}

START_TEST(test_resend_success_gives_the_id)
{
    const char *id, *why;
    int permanent;
    ck_assert_int_eq(parse(200, "{\"id\":\"49a3999c-0ce1-4ea6-ab68-afcd6dc2e794\"}", &id, &why,
                           &permanent), APR_SUCCESS);
    ck_assert_str_eq(id, "49a3999c-0ce1-4ea6-ab68-afcd6dc2e794");
    ck_assert_int_eq(parse(200, "{\"id\":\"\"}", &id, &why, &permanent), APR_EGENERAL);
    ck_assert_int_eq(parse(200, "{\"id\":7}", &id, &why, &permanent), APR_EGENERAL);
    ck_assert_str_eq(why, "Resend answered without an email id");
    ck_assert_int_eq(permanent, 0);
}
END_TEST

START_TEST(test_resend_refusals_say_why_and_whether_to_retry)
{
    const char *id, *why;
    int permanent;
    ck_assert_int_eq(parse(422, "{\"statusCode\":422,\"name\":\"validation_error\","
                                "\"message\":\"Invalid `to` field.\"}", &id, &why, &permanent),
                     APR_EGENERAL);
    ck_assert_str_eq(why, "Resend 422 validation_error: Invalid `to` field.");
    ck_assert_int_eq(permanent, 1);
    ck_assert_ptr_null(id);
    parse(429, "{\"name\":\"rate_limit_exceeded\",\"message\":\"slow down\"}", &id, &why, &permanent);
    ck_assert_int_eq(permanent, 0);
    parse(409, "{\"name\":\"concurrent_idempotent_requests\",\"message\":\"in flight\"}", &id, &why,
          &permanent);
    ck_assert_int_eq(permanent, 0);
    parse(503, "<html>bad gateway</html>", &id, &why, &permanent);
    ck_assert_str_eq(why, "Resend 503 error: no details");
    ck_assert_int_eq(permanent, 0);
    parse(400, NULL, &id, &why, &permanent);
    ck_assert_int_eq(permanent, 1);
}
END_TEST

Suite *resend_suite(void)
{
    Suite *s = suite_create("cs_resend");
    TCase *tc = tcase_create("answers");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_resend_success_gives_the_id);
    tcase_add_test(tc, test_resend_refusals_say_why_and_whether_to_retry);
    suite_add_tcase(s, tc);
    return s;
}
