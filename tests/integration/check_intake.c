/* POST /api/intake over real HTTP: every rule of the endpoint, checked in
 * the response and in the database. */
#include "integ.h"

#include <apr_strings.h>
#include <string.h>

#define FORM "application/x-www-form-urlencoded"
#define JSON "application/json"
#define SITE "coffee-shop.localhost"

static const char *client_id(const char *slug)
{
    const char *p[1] = { slug };
    return it_sql("SELECT id FROM clients WHERE slug = $1", 1, p);
}

START_TEST(test_form_post_stores_row_and_redirects_to_thank_you)
{
    long before = it_submission_count();
    it_resp_t *r = it_post(SITE, FORM,
                           "name=Ana+Lima&email=Ana%40Example.COM&phone=&"
                           "message=Do+you+cater+for+30%3F&service=catering");
    const char *p[1];

    ck_assert_int_eq(r->status, 303);
    ck_assert_str_eq(apr_table_get(r->headers, "Location"), "/thanks.html");
    ck_assert_int_eq(it_submission_count(), before + 1);
    p[0] = client_id("coffee-shop");
    ck_assert_str_eq(it_sql("SELECT concat_ws('|', name, email, coalesce(phone,'-'), message,"
                            " fields->>'service', fields->>'email', source_ip)"
                            " FROM submissions WHERE client_id = $1 ORDER BY id DESC LIMIT 1",
                            1, p),
                     "Ana Lima|Ana@example.com|-|Do you cater for 30?|catering|"
                     "Ana@Example.COM|127.0.0.1");
}
END_TEST

START_TEST(test_json_post_answers_201_with_the_posts_reference)
{
    it_resp_t *r = it_post(SITE, JSON "; charset=utf-8",
                           "{\"name\":\"Bo\",\"phone\":\"+1 (503) 555-0100\","
                           "\"message\":\"¿Abren el domingo?\",\"visits\":3}");
    const char *id, *p[1];

    ck_assert_int_eq(r->status, 201);
    ck_assert_str_eq(apr_table_get(r->headers, "Content-Type"),
                     "application/json; charset=utf-8");
    ck_assert_msg(!strncmp(r->body, "{\"id\":", 6), "body: %s", r->body);
    id = apr_pstrndup(it_pool, r->body + 6, strcspn(r->body + 6, "}"));
    p[0] = id;
    /* The id is the post's reference: its journal row, which leads to the
     * submission the worker made from it. */
    ck_assert_str_eq(it_sql("SELECT concat_ws('|', c.slug, s.phone, s.message, s.fields->>'visits')"
                            " FROM provider_events e JOIN submissions s ON s.id = e.submission_id"
                            " JOIN clients c ON c.id = s.client_id"
                            " WHERE e.id = $1 AND e.provider = 'intake'", 1, p),
                     "coffee-shop|+15035550100|¿Abren el domingo?|3");
}
END_TEST

START_TEST(test_missing_message_is_400_naming_message_and_writes_nothing)
{
    long before = it_submission_count();
    it_resp_t *r = it_post(SITE, FORM, "name=Al&email=al%40example.com&message=+++");

    ck_assert_int_eq(r->status, 400);
    ck_assert_msg(strstr(r->body, "\"field\":\"message\"") != NULL, "%s", r->body);
    ck_assert_int_eq(it_submission_count(), before);
}
END_TEST

START_TEST(test_no_way_to_reply_is_400_naming_email)
{
    long before = it_submission_count();
    it_resp_t *r = it_post(SITE, JSON, "{\"name\":\"Al\",\"message\":\"hi\"}");

    ck_assert_int_eq(r->status, 400);
    ck_assert_msg(strstr(r->body, "\"field\":\"email\"") != NULL, "%s", r->body);
    ck_assert_int_eq(it_submission_count(), before);
}
END_TEST

START_TEST(test_bad_email_is_400_even_with_a_good_phone)
{
    it_resp_t *r = it_post(SITE, FORM, "email=not-an-email&phone=5035550100&message=hi");

    ck_assert_int_eq(r->status, 400);
    ck_assert_msg(strstr(r->body, "\"field\":\"email\"") != NULL, "%s", r->body);
    ck_assert_msg(strstr(r->body, "not a valid email") != NULL, "%s", r->body);
}
END_TEST

START_TEST(test_bad_phone_is_400_naming_phone)
{
    it_resp_t *r = it_post(SITE, FORM, "phone=call+me+maybe&message=hi");

    ck_assert_int_eq(r->status, 400);
    ck_assert_msg(strstr(r->body, "\"field\":\"phone\"") != NULL, "%s", r->body);
}
END_TEST

START_TEST(test_malformed_json_is_400_naming_body)
{
    long before = it_submission_count();
    it_resp_t *r = it_post(SITE, JSON, "{\"message\": \"hi\", \"email\": ");

    ck_assert_int_eq(r->status, 400);
    ck_assert_msg(strstr(r->body, "\"field\":\"body\"") != NULL, "%s", r->body);
    r = it_post(SITE, JSON, "[\"message\"]");
    ck_assert_int_eq(r->status, 400);
    r = it_post(SITE, JSON, "{\"message\":{\"nested\":1},\"email\":\"a@b.co\"}");
    ck_assert_int_eq(r->status, 400);
    ck_assert_msg(strstr(r->body, "\"field\":\"message\"") != NULL, "%s", r->body);
    ck_assert_int_eq(it_submission_count(), before);
}
END_TEST

START_TEST(test_other_methods_get_405_with_allow)
{
    const char *methods[] = { "GET", "PUT", "DELETE", "PATCH" };
    int i;
    for (i = 0; i < 4; i++) {
        it_req_t req = { 0 };
        it_resp_t *r;
        req.method = methods[i];
        req.host = SITE;
        req.path = "/api/intake";
        r = it_http(&req);
        ck_assert_msg(r->status == 405, "%s -> %ld", methods[i], r->status);
        ck_assert_str_eq(apr_table_get(r->headers, "Allow"), "POST");
    }
}
END_TEST

START_TEST(test_unsupported_content_types_get_415)
{
    long before = it_submission_count();
    ck_assert_int_eq(it_post(SITE, "text/plain", "message=hi&email=a@b.co")->status, 415);
    ck_assert_int_eq(it_post(SITE, NULL, "message=hi&email=a@b.co")->status, 415);
    ck_assert_int_eq(it_post(SITE, "text/csv", "message,email\nhi,a@b.co\n")->status, 415);
    ck_assert_int_eq(it_submission_count(), before);
}
END_TEST

START_TEST(test_body_over_the_limit_is_413_declared_or_chunked)
{
    long before = it_submission_count();
    char *big = apr_palloc(it_pool, 2048 + 64);
    it_req_t req = { 0 };
    it_resp_t *r;

    strcpy(big, "email=a%40b.co&message=");
    memset(big + strlen(big), 'x', 2048);
    big[23 + 2048] = '\0';
    r = it_post("small.localhost", FORM, big);
    ck_assert_int_eq(r->status, 413);
    ck_assert_msg(strstr(r->body, "body_too_large") != NULL, "%s", r->body);

    req.host = "small.localhost";
    req.path = "/api/intake";
    req.content_type = FORM;
    req.body = big;
    req.chunked = 1;
    ck_assert_int_eq(it_http(&req)->status, 413);

    req.content_type = JSON;
    req.body = apr_pstrcat(it_pool, "{\"email\":\"a@b.co\",\"message\":\"",
                           big + 23, "\"}", NULL);
    ck_assert_int_eq(it_http(&req)->status, 413);
    /* Multipart leaves room for files, not for more text. */
    req.content_type = "multipart/form-data; boundary=QqQ";
    req.body = apr_pstrcat(it_pool, "--QqQ\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\n"
                           "a@b.co\r\n--QqQ\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\n",
                           big + 23, "\r\n--QqQ--\r\n", NULL);
    req.chunked = 0;
    ck_assert_int_eq(it_http(&req)->status, 413);
    ck_assert_int_eq(it_submission_count(), before);

    /* Under the limit on the same vhost is fine. */
    ck_assert_int_eq(it_post("small.localhost", FORM, "email=a%40b.co&message=short")->status, 303);
}
END_TEST

START_TEST(test_each_vhost_writes_for_its_own_client_only)
{
    const char *p[1] = { client_id("other-client") };
    long mine = it_sql_long("SELECT count(*) FROM submissions WHERE client_id = $1", 1, p);
    it_resp_t *r = it_post("other.localhost", FORM, "email=z%40z.example&message=other+tenant");

    ck_assert_int_eq(r->status, 303);
    ck_assert_str_eq(apr_table_get(r->headers, "Location"), "/merci.html");
    ck_assert_int_eq(it_sql_long("SELECT count(*) FROM submissions WHERE client_id = $1",
                                 1, p), mine + 1);
    p[0] = "other tenant";
    ck_assert_str_eq(it_sql("SELECT c.slug FROM submissions s JOIN clients c"
                            " ON c.id = s.client_id WHERE s.message = $1", 1, p),
                     "other-client");
}
END_TEST

START_TEST(test_vhost_without_client_answers_404)
{
    long before = it_submission_count();
    ck_assert_int_eq(it_post("noclient.localhost", FORM, "email=a%40b.co&message=hi")->status, 404);
    ck_assert_int_eq(it_submission_count(), before);
}
END_TEST

START_TEST(test_unknown_slug_answers_404_and_logs_the_slug)
{
    long before = it_submission_count();
    ck_assert_int_eq(it_post("ghost.localhost", FORM, "email=a%40b.co&message=hi")->status, 404);
    ck_assert_int_eq(it_submission_count(), before);
    ck_assert_msg(strstr(it_error_log(), "ConsultClient ghost-client") != NULL,
                  "the error log does not name the unknown slug");
    /* Still serving: the child did not crash. */
    ck_assert_int_eq(it_post(SITE, FORM, "email=a%40b.co&message=still+up")->status, 303);
}
END_TEST

START_TEST(test_intake_off_means_no_endpoint)
{
    ck_assert_int_eq(it_post("off.localhost", FORM, "email=a%40b.co&message=hi")->status, 404);
}
END_TEST

START_TEST(test_browser_gets_an_html_error_page_with_escaped_values)
{
    it_req_t req = { 0 };
    it_resp_t *r;

    req.host = SITE;
    req.path = "/api/intake";
    req.content_type = FORM;
    req.accept = "text/html,application/xhtml+xml";
    req.body = "email=%3Cscript%3Ealert(1)%3C%2Fscript%3E&message=hi";
    r = it_http(&req);
    ck_assert_int_eq(r->status, 400);
    ck_assert_msg(strstr(apr_table_get(r->headers, "Content-Type"), "text/html") != NULL, "ctype");
    ck_assert_msg(strstr(r->body, "not a valid email address") != NULL, "%s", r->body);
    ck_assert_msg(strstr(r->body, "<script>") == NULL, "unescaped markup: %s", r->body);
}
END_TEST

START_TEST(test_every_refusal_reads_as_a_page_or_fragment_for_a_person)
{
    const char *hx[] = { "HX-Request: true", NULL };
    char *big = apr_palloc(it_pool, 2100);
    it_req_t req = { 0 };
    it_resp_t *r;

    memset(big, 'x', 2099);
    big[2099] = '\0';
    memcpy(big, "email=a%40b.co&message=", 23);
    /* A browser's form post over the limit: a page, not JSON on screen. */
    req.host = "small.localhost";
    req.path = "/api/intake";
    req.content_type = FORM;
    req.accept = "text/html,application/xhtml+xml";
    req.body = big;
    r = it_http(&req);
    ck_assert_int_eq(r->status, 413);
    ck_assert_msg(strstr(apr_table_get(r->headers, "Content-Type"), "text/html") != NULL, "ctype");
    ck_assert_msg(strstr(r->body, "<h1>Sorry</h1>") != NULL && strstr(r->body, "Go back") != NULL,
                  "%s", r->body);
    /* The same from htmx: a fragment to show in place. */
    req.accept = NULL;
    req.headers = hx;
    r = it_http(&req);
    ck_assert_int_eq(r->status, 413);
    ck_assert_msg(strstr(r->body, "role=\"alert\"") != NULL && strstr(r->body, "<html") == NULL,
                  "%s", r->body);
    /* An API client still gets JSON. */
    req.headers = NULL;
    req.accept = "application/json";
    r = it_http(&req);
    ck_assert_int_eq(r->status, 413);
    ck_assert_msg(strstr(r->body, "\"error\":\"body_too_large\"") != NULL, "%s", r->body);
    /* A wrong method from a browser: a page too. */
    memset(&req, 0, sizeof(req));
    req.host = SITE;
    req.path = "/api/intake";
    req.accept = "text/html";
    r = it_http(&req);
    ck_assert_int_eq(r->status, 405);
    ck_assert_msg(strstr(r->body, "<h1>Sorry</h1><p>Send the form with POST.</p>") != NULL, "%s",
                  r->body);
}
END_TEST

START_TEST(test_phone_region_and_the_total_of_files_are_per_vhost)
{
    char *png = apr_palloc(it_pool, 6000), *body;
#define PART "--P9\r\nContent-Disposition: form-data; name=\"f%d\"; filename=\"p%d.png\"\r\n" \
             "Content-Type: image/png\r\n\r\n"
    const char *head = "--P9\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nuk@uk.example\r\n"
                       "--P9\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\ntwo photos\r\n";
    it_req_t req = { 0 };
    apr_size_t n = 0;
    long before;
    int i;

    /* A local British number, on the GB vhost: E.164 with +44. */
    ck_assert_int_eq(it_post("uk.localhost", FORM,
                             "email=uk%40uk.example&phone=020+7946+0018&message=hello")->status, 303);
    ck_assert_str_eq(it_sql("SELECT phone FROM submissions WHERE email = 'uk@uk.example'"
                            " ORDER BY id DESC LIMIT 1", 0, NULL), "+442079460018");
    /* Two files of 6k each: each under 8k, together over 10k. */
    memset(png, 'z', 6000);
    memcpy(png, "\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
    body = apr_palloc(it_pool, 14000);
    memcpy(body, head, strlen(head));
    n = strlen(head);
    for (i = 0; i < 2; i++) {
        const char *h = apr_psprintf(it_pool, PART, i, i);
        memcpy(body + n, h, strlen(h));
        n += strlen(h);
        memcpy(body + n, png, 6000);
        n += 6000;
        memcpy(body + n, "\r\n", 2);
        n += 2;
    }
    memcpy(body + n, "--P9--\r\n", 8);
    n += 8;
    before = it_submission_count();
    req.host = "uk.localhost";
    req.path = "/api/intake";
    req.content_type = "multipart/form-data; boundary=P9";
    req.body = body;
    req.body_len = n;
    ck_assert_int_eq(it_http(&req)->status, 413);
    ck_assert_int_eq(it_submission_count(), before);
}
END_TEST

START_TEST(test_repeated_fields_are_all_kept)
{
    it_resp_t *r = it_post(SITE, FORM, "email=a%40b.co&message=hi&extra=one&extra=two");
    ck_assert_int_eq(r->status, 303);
    ck_assert_str_eq(it_sql("SELECT fields->>'extra' FROM submissions ORDER BY id DESC LIMIT 1",
                            0, NULL), "[\"one\", \"two\"]");
}
END_TEST

Suite *suite_intake(void)
{
    Suite *s = suite_create("intake");
    TCase *tc = tcase_create("post");

    tcase_add_checked_fixture(tc, it_setup, it_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_form_post_stores_row_and_redirects_to_thank_you);
    tcase_add_test(tc, test_json_post_answers_201_with_the_posts_reference);
    tcase_add_test(tc, test_missing_message_is_400_naming_message_and_writes_nothing);
    tcase_add_test(tc, test_no_way_to_reply_is_400_naming_email);
    tcase_add_test(tc, test_bad_email_is_400_even_with_a_good_phone);
    tcase_add_test(tc, test_bad_phone_is_400_naming_phone);
    tcase_add_test(tc, test_malformed_json_is_400_naming_body);
    tcase_add_test(tc, test_other_methods_get_405_with_allow);
    tcase_add_test(tc, test_unsupported_content_types_get_415);
    tcase_add_test(tc, test_body_over_the_limit_is_413_declared_or_chunked);
    tcase_add_test(tc, test_each_vhost_writes_for_its_own_client_only);
    tcase_add_test(tc, test_vhost_without_client_answers_404);
    tcase_add_test(tc, test_unknown_slug_answers_404_and_logs_the_slug);
    tcase_add_test(tc, test_intake_off_means_no_endpoint);
    tcase_add_test(tc, test_browser_gets_an_html_error_page_with_escaped_values);
    tcase_add_test(tc, test_every_refusal_reads_as_a_page_or_fragment_for_a_person);
    tcase_add_test(tc, test_phone_region_and_the_total_of_files_are_per_vhost);
    tcase_add_test(tc, test_repeated_fields_are_all_kept);
    suite_add_tcase(s, tc);
    return s;
}
