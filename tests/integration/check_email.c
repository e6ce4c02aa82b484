/* Email through the fake Resend: staff notifications for new messages and
 * email replies, sent once thanks to Idempotency-Key, errors shown. */
#include "integ.h"

#include <apr_strings.h>
#include <string.h>

#define MAIL "mail.localhost"
#define Q(fmt, id) apr_psprintf(it_pool, fmt, id)

static const char *post(const char *email, const char *text)
{
    it_resp_t *r = it_post(MAIL, "application/json", apr_psprintf(
        it_pool, "{\"name\":\"Eve\",\"email\":\"%s\",\"message\":\"%s\"}", email, text));
    const char *p[1];
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    p[0] = it_submission_of(r);
    return it_sql("SELECT message_id FROM submissions WHERE id = $1", 1, p);
}

static it_resp_t *reply(const char *message_id, const char *text)
{
    const char *p[1] = { message_id }, *hdr[3], *set, *at, *cookie, *csrf;
    const char *cv = it_sql("SELECT conversation_id FROM messages WHERE id = $1", 1, p);
    it_req_t q = { 0 };
    it_resp_t *r;

    r = it_sign_in_post("admin.localhost", "email=mail%40mail.example&password=mail+password+1");
    set = apr_table_get(r->headers, "Set-Cookie");
    ck_assert_ptr_nonnull(set);
    cookie = apr_pstrndup(it_pool, set, strcspn(set, ";"));
    memset(&q, 0, sizeof(q));
    hdr[0] = apr_pstrcat(it_pool, "Cookie: ", cookie, NULL);
    hdr[1] = NULL;
    q.host = "admin.localhost";
    q.path = Q("/c/%s", cv);
    q.headers = hdr;
    r = it_http(&q);
    ck_assert_msg(strstr(r->body, "Goes by <strong>email</strong>") != NULL, "composer: %s",
                  strstr(r->body, "Goes by") ? strstr(r->body, "Goes by") : "none");
    at = strstr(r->body, "\"X-CSRF-Token\": \"") + 17;
    csrf = apr_pstrndup(it_pool, at, strcspn(at, "\""));
    memset(&q, 0, sizeof(q));
    hdr[1] = apr_pstrcat(it_pool, "X-CSRF-Token: ", csrf, NULL);
    hdr[2] = NULL;
    q.host = "admin.localhost";
    q.path = Q("/c/%s/reply", cv);
    q.body = apr_pstrcat(it_pool, "channel=auto&body=", text, NULL);
    q.content_type = "application/x-www-form-urlencoded";
    q.headers = hdr;
    return it_http(&q);
}

START_TEST(test_new_message_emails_the_clients_staff_once)
{
    const char *m, *n;
    it_fake_rules("[{\"method\":\"POST\",\"path\":\"/emails\",\"body_contains\":\"gluten\","
                  "\"body\":{\"id\":\"em-notify-1\"}}]");
    m = post("eve@customer.example", "Do you have gluten free cake for Saturday?");
    ck_assert_msg(it_wait_sql(Q("SELECT count(*) FROM notifications WHERE message_id = %s"
                                " AND sent_at IS NOT NULL", m), "1", 20), "not notified");
    n = it_sql(Q("SELECT id FROM notifications WHERE message_id = %s", m), 0, NULL);
    ck_assert_int_eq(it_fake_count("/emails", "mail@mail.example"), 1);
    ck_assert_int_eq(it_fake_count_header("/emails", "idempotency-key",
                                          apr_pstrcat(it_pool, "consult-notification-", n, NULL)), 1);
    ck_assert_int_eq(it_fake_count_header("/emails", "authorization", "Bearer re_test_key_not_real"), 1);
    it_fake_rules(NULL);
}
END_TEST

START_TEST(test_email_reply_goes_once_with_reply_to_even_after_a_failure)
{
    const char *m, *out, *p[1] = { "Yes we do, see you Saturday!" };
    it_fake_rules("[{\"method\":\"POST\",\"path\":\"/emails\",\"body_contains\":\"see you Saturday\","
                  "\"status\":500,\"times\":1,\"body\":{\"name\":\"internal_server_error\","
                  "\"message\":\"boom\",\"statusCode\":500}},"
                  "{\"method\":\"POST\",\"path\":\"/emails\",\"body_contains\":\"see you Saturday\","
                  "\"body\":{\"id\":\"em-reply-1\"}},"
                  "{\"method\":\"POST\",\"path\":\"/emails\",\"body\":{\"id\":\"em-other\"}}]");
    m = post("zoe@customer.example", "Any vegan options at brunch?");
    ck_assert_int_eq(reply(m, "Yes+we+do%2C+see+you+Saturday%21")->status, 303);
    out = it_sql("SELECT id FROM messages WHERE direction = 'outbound' AND body = $1", 1, p);
    ck_assert_msg(it_wait_sql(Q("SELECT provider_id FROM messages WHERE id = %s", out),
                              "em-reply-1", 20), "reply not sent");
    /* Both attempts carried the same key: Resend sends it once. */
    ck_assert_int_eq(it_fake_count_header("/emails", "idempotency-key",
                                          apr_pstrcat(it_pool, "consult-message-", out, NULL)), 2);
    /* Replies carry Reply-To (notifications, also sent here, do too). */
    ck_assert_msg(it_fake_count("/emails", "\"reply_to\":\"owner@mail.example\"") >= 2, "reply_to");
    ck_assert_int_eq(it_fake_count("/emails", "\"to\":[\"zoe@customer.example\"]"), 2);
    ck_assert_int_eq(it_fake_count("/emails", "Re: your message to Mail Client"), 2);
    it_fake_rules(NULL);
}
END_TEST

START_TEST(test_resend_refusal_is_shown_on_the_message)
{
    const char *m, *out, *p[1] = { "Thanks, booked!" };
    it_fake_rules("[{\"method\":\"POST\",\"path\":\"/emails\",\"body_contains\":\"booked\",\"status\":422,"
                  "\"body\":{\"name\":\"validation_error\",\"message\":\"Invalid `to` field.\","
                  "\"statusCode\":422}},"
                  "{\"method\":\"POST\",\"path\":\"/emails\",\"body\":{\"id\":\"em-other\"}}]");
    m = post("kim@customer.example", "Can I book the back room for Friday?");
    ck_assert_int_eq(reply(m, "Thanks%2C+booked%21")->status, 303);
    out = it_sql("SELECT id FROM messages WHERE direction = 'outbound' AND body = $1", 1, p);
    ck_assert_msg(it_wait_sql(Q("SELECT delivery_status FROM messages WHERE id = %s", out),
                              "failed", 20), "not failed");
    ck_assert_msg(strstr(it_sql(Q("SELECT delivery_error FROM messages WHERE id = %s", out), 0, NULL),
                         "validation_error") != NULL, "Resend's error not shown");
    ck_assert_int_eq(it_fake_count("/emails", "booked"), 1);
    it_fake_rules(NULL);
}
END_TEST

/* GET @p path on the dashboard as the both-client's owner. */
static it_resp_t *both_get(const char *path)
{
    static const char *cookie;
    const char *hdr[2];
    it_req_t q = { 0 };
    if (!cookie) {
        it_resp_t *r;
        r = it_sign_in_post("admin.localhost", "email=both%40both.example&password=both+password+1");
        ck_assert_ptr_nonnull(apr_table_get(r->headers, "Set-Cookie"));
        cookie = apr_pstrndup(it_pool, apr_table_get(r->headers, "Set-Cookie"),
                              strcspn(apr_table_get(r->headers, "Set-Cookie"), ";"));
        memset(&q, 0, sizeof(q));
    }
    hdr[0] = apr_pstrcat(it_pool, "Cookie: ", cookie, NULL);
    hdr[1] = NULL;
    q.host = "admin.localhost";
    q.path = path;
    q.headers = hdr;
    return it_http(&q);
}

START_TEST(test_reply_order_and_the_composer_explain_the_channel)
{
    it_resp_t *r = it_post("both.localhost", "application/json",
        "{\"name\":\"Bea\",\"email\":\"bea@both.example\",\"phone\":\"5035550188\","
        "\"message\":\"Do you have oat milk?\"}");
    const char *p[1], *cv;

    ck_assert_int_eq(r->status, 201);
    p[0] = it_submission_of(r);
    cv = it_sql("SELECT m.conversation_id FROM submissions s JOIN messages m ON m.id = s.message_id"
                " WHERE s.id = $1", 1, p);
    /* Written by form: neither SMS nor email is "theirs", so the client's
     * order decides, and ConsultReplyOrder puts email first. */
    r = both_get(Q("/c/%s", cv));
    ck_assert_msg(strstr(r->body, "Goes by <strong>email</strong>") != NULL, "%s",
                  strstr(r->body, "reply-why") ? strstr(r->body, "reply-why") : r->body);
    /* Choosing SMS in the composer says what will happen, and changes nothing. */
    r = both_get(Q("/c/%s/how?channel=sms", cv));
    ck_assert_int_eq(r->status, 200);
    ck_assert_msg(strstr(r->body, "Goes by <strong>SMS</strong>") != NULL, "%s", r->body);
    ck_assert_msg(strstr(r->body, "<html") == NULL, "not a fragment");
    ck_assert_int_eq(both_get(Q("/c/%s/how?channel=pigeon", cv))->status, 400);
    /* Not this client's conversation. */
    ck_assert_int_eq(both_get(Q("/c/%s/how?channel=sms", it_sql(
        "SELECT id FROM conversations WHERE client_id <> (SELECT id FROM clients WHERE slug ="
        " 'both-client') ORDER BY id LIMIT 1", 0, NULL)))->status, 404);
    p[0] = cv;
    ck_assert_str_eq(it_sql("SELECT count(*) FROM messages WHERE conversation_id = $1"
                            " AND direction = 'outbound'", 1, p), "0");
}
END_TEST

Suite *suite_email(void)
{
    Suite *s = suite_create("email");
    TCase *tc = tcase_create("resend");
    tcase_add_checked_fixture(tc, it_setup, it_teardown);
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, test_new_message_emails_the_clients_staff_once);
    tcase_add_test(tc, test_email_reply_goes_once_with_reply_to_even_after_a_failure);
    tcase_add_test(tc, test_resend_refusal_is_shown_on_the_message);
    tcase_add_test(tc, test_reply_order_and_the_composer_explain_the_channel);
    suite_add_tcase(s, tc);
    return s;
}
