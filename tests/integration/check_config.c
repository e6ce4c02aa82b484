/* `apache2 -t` on the real configuration plus one wrong directive: it must
 * fail, naming the directive and what it expects. */
#include "integ.h"

#include <apr_strings.h>
#include <string.h>

static void expect_rejected(const char *directive, const char *expected_text)
{
    const char *out = NULL;
    int rc = it_ctl(apr_psprintf(it_pool, "httpd-t -c '%s'", directive), &out);

    ck_assert_msg(rc != 0, "`%s` was accepted:\n%s", directive, out);
    ck_assert_msg(strstr(out, expected_text) != NULL,
                  "`%s`: expected \"%s\" in:\n%s", directive, expected_text, out);
}

START_TEST(test_the_shipped_configuration_passes)
{
    const char *out = NULL;
    ck_assert_msg(it_ctl("httpd-t", &out) == 0, "%s", out);
    ck_assert_msg(strstr(out, "Syntax OK") != NULL, "%s", out);
}
END_TEST

START_TEST(test_wrong_values_fail_naming_the_directive)
{
    expect_rejected("ConsultPoolMax abc", "ConsultPoolMax: expected an integer from 1 to 1024, got 'abc'");
    expect_rejected("ConsultPoolMin -1", "ConsultPoolMin: expected an integer from 0 to 1024");
    expect_rejected("ConsultPoolTTL soon", "ConsultPoolTTL: expected a duration");
    expect_rejected("ConsultDatabaseConnectTimeout 1s", "ConsultDatabaseConnectTimeout: expected a duration from 2000ms");
    expect_rejected("ConsultRetryAfter 0", "ConsultRetryAfter: expected an integer from 1 to 3600");
    expect_rejected("ConsultDatabasePrepare sometimes", "ConsultDatabasePrepare: expected On or Off, got 'sometimes'");
    expect_rejected("ConsultJobDrainThreads 0", "ConsultJobDrainThreads: expected an integer from 1 to 16");
    expect_rejected("ConsultDatabase \"nosuchoption=1\"", "ConsultDatabase: invalid libpq connection string");
    expect_rejected("ConsultClient Bad_Slug", "ConsultClient: expected a client slug");
    expect_rejected("ConsultIntake maybe", "ConsultIntake: expected On or Off, got 'maybe'");
    expect_rejected("ConsultIntakeMaxBody 12q", "ConsultIntakeMaxBody: expected a size");
    expect_rejected("ConsultIntakeThankYou https://evil.example/", "ConsultIntakeThankYou: expected a path");
    expect_rejected("ConsultReplyOrder sms fax", "ConsultReplyOrder: expected sms and/or email, each once, in the order to try, got 'fax'");
    expect_rejected("ConsultRateLimitCache nosuch", "ConsultRateLimitCache: no socache provider 'nosuch'");
    expect_rejected("ConsultTimeZone Mars/Olympus", "ConsultTimeZone: 'Mars/Olympus' is not a time zone");
    expect_rejected("ConsultCalLink noslash", "ConsultCalLink: expected a Cal.com link like");
    expect_rejected("ConsultCalOrigin cal.example.com", "ConsultCalOrigin: expected a URL");
    expect_rejected("ConsultJobberAPIBase https://api.example.com/", "ConsultJobberAPIBase: expected a URL");
    expect_rejected("ConsultCalWebhookSecret env:CS_NO_SUCH_VARIABLE", "ConsultCalWebhookSecret:");
    expect_rejected("ConsultCalAPIBase api.cal.com", "ConsultCalAPIBase: expected a URL");
    expect_rejected("ConsultCalAPIKey env:CS_NO_SUCH_VARIABLE", "ConsultCalAPIKey:");
    expect_rejected("ConsultCalAPIKey short", "ConsultCalAPIKey: the secret is empty or shorter");
    expect_rejected("ConsultJobberAutoSend quote_request spam", "ConsultJobberAutoSend: expected intents among");
    /* Keys never sit in the configuration, and are 32 bytes. */
    expect_rejected("ConsultSecretKey k9 0123456789abcdef0123456789abcdef",
                    "ConsultSecretKey: the key must come from env:NAME or file:PATH");
    expect_rejected("ConsultSecretKey k9 env:CS_TEST_CAL_SECRET", "ConsultSecretKey k9: expected 32 random bytes");
    expect_rejected("ConsultSecretKey k1 env:CS_TEST_SEAL_KEY_1", "key id 'k1' is given twice");
}
END_TEST

/* Behind a TLS-terminating proxy Twilio signs a URL this server never
 * sees, so a Twilio vhost must say which: without ConsultTwilioPublicURL
 * the check fails, naming the vhost. */
START_TEST(test_twilio_without_a_public_url_fails_naming_the_vhost)
{
    const char *out = NULL;
    int rc = it_ctl("httpd-t -c '<VirtualHost ${CONSULT_LISTEN}>' -c 'ServerName noproxy.localhost'"
                    " -c 'ConsultClient sms-client' -c 'ConsultTwilio On'"
                    " -c 'ConsultTwilioAccountSid AC0123456789abcdef0123456789abcdef'"
                    " -c 'ConsultTwilioAuthToken env:CS_TEST_TWILIO_TOKEN'"
                    " -c 'ConsultTwilioNumber +15005550009' -c '</VirtualHost>'", &out);

    ck_assert_msg(rc != 0, "a Twilio vhost without ConsultTwilioPublicURL was accepted:\n%s", out);
    ck_assert_msg(strstr(out, "ConsultTwilio On in vhost noproxy.localhost") != NULL
                  && strstr(out, "needs ConsultTwilioPublicURL") != NULL, "%s", out);
}
END_TEST

/* Jobber's tokens are sealed with the app's credentials known: a vhost
 * that switches it on without them fails, naming what is missing. */
START_TEST(test_jobber_without_its_app_credentials_fails)
{
    const char *out = NULL;
    int rc = it_ctl("httpd-t -c '<VirtualHost ${CONSULT_LISTEN}>' -c 'ServerName nojobber.localhost'"
                    " -c 'ConsultClient other-client' -c 'ConsultJobber On'"
                    " -c 'ConsultJobberClientId abc' -c '</VirtualHost>'", &out);
    ck_assert_msg(rc != 0, "ConsultJobber On without a client secret was accepted:\n%s", out);
    ck_assert_msg(strstr(out, "ConsultJobber On needs ConsultJobberClientId and "
                              "ConsultJobberClientSecret") != NULL, "%s", out);
}
END_TEST

START_TEST(test_incoherent_pool_bounds_fail_the_check)
{
    expect_rejected("ConsultPoolMin 9", "expected min <= keep <= max, got 9, 4, 16");
}
END_TEST

Suite *suite_config(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("apache2 -t");

    tcase_add_checked_fixture(tc, it_setup, it_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_the_shipped_configuration_passes);
    tcase_add_test(tc, test_wrong_values_fail_naming_the_directive);
    tcase_add_test(tc, test_incoherent_pool_bounds_fail_the_check);
    tcase_add_test(tc, test_twilio_without_a_public_url_fails_naming_the_vhost);
    tcase_add_test(tc, test_jobber_without_its_app_credentials_fails);
    suite_add_tcase(s, tc);
    return s;
}
