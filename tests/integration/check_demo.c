/* The make run walk-through's tool, consult-admin simulate, against the
 * harness's Twilio vhost sms.localhost: a text and a voicemail arrive as
 * Twilio's would (signed for the vhost's public URL, posted to the vhost)
 * and land in the client's inbox; a wrong auth token is refused. The demo
 * channel settings, which only make run includes (conf/demo/, under
 * -DConsultDemo), pass the configuration check, and without that define
 * the coffee-shop vhost the harness shares with make run has no Twilio. */
#include "integ.h"

#include <apr_strings.h>
#include <apr_file_io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* sms.localhost in harness.sh: its account, number, and the public URL
 * Twilio signs (it is "behind a TLS-terminating proxy"); the auth token is
 * in $CS_TEST_TWILIO_TOKEN. */
#define ACCOUNT "AC0123456789abcdef0123456789abcdef"
#define NUMBER "+15005550006"
#define PUBLIC "https://sms.example.com"

static const char *port(void)
{
    return strrchr(getenv("CS_TEST_URL"), ':') + 1;
}

/* consult-admin simulate @p args (already shell-quoted), posting to
 * @p host on the harness's Apache; its exit status, its output in *pout. */
static int simulate(const char *host, const char *args, const char **pout)
{
    const char *cmd = apr_psprintf(it_pool, "%s/consult-admin simulate %s --url http://%s:%s 2>&1",
                                   getenv("CS_TEST_BUILD"), args, host, port());
    FILE *f = popen(cmd, "r");
    char buf[4096];
    const char *out = "";
    size_t n;
    int st;

    ck_assert_msg(f != NULL, "cannot run %s", cmd);
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        out = apr_pstrcat(it_pool, out, apr_pstrmemdup(it_pool, buf, n), NULL);
    }
    st = pclose(f);
    *pout = out;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* The SID simulate printed after @p label ("MessageSid ", "CallSid "). */
static const char *printed_sid(const char *out, const char *label)
{
    const char *at = strstr(out, label);
    ck_assert_msg(at != NULL, "no %s in: %s", label, out);
    at += strlen(label);
    return apr_pstrmemdup(it_pool, at, strspn(at, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                  "abcdefghijklmnopqrstuvwxyz0123456789"));
}

/* What conf/demo/CLIENT.conf holds for the demo client, here for sms.localhost. */
static const char *twilio_conf_file(void)
{
    const char *path = apr_pstrcat(it_pool, getenv("CS_TEST_TMP"), "/demo-sms.conf", NULL);
    apr_file_t *f;

    ck_assert_int_eq(apr_file_open(&f, path, APR_FOPEN_WRITE | APR_FOPEN_CREATE
                                   | APR_FOPEN_TRUNCATE, APR_FPROT_OS_DEFAULT, it_pool),
                     APR_SUCCESS);
    apr_file_puts("# sms.localhost's Twilio settings, as a demo file has them\n"
                  "ConsultTwilio On\n"
                  "    ConsultTwilioAccountSid " ACCOUNT "\n"
                  "    ConsultTwilioAuthToken env:CS_TEST_TWILIO_TOKEN\n"
                  "    ConsultTwilioNumber " NUMBER "\n"
                  "    ConsultTwilioPublicURL \"" PUBLIC "\"\n", f);
    apr_file_close(f);
    return path;
}

START_TEST(test_simulated_sms_lands_in_the_clients_inbox)
{
    const char *out, *sid, *params[1];
    int rc = simulate("sms.localhost", apr_psprintf(
        it_pool, "sms sms-client --conf '%s' --from '(503) 555-0161'"
        " --body 'Simulated: do you deliver on Sundays?'", twilio_conf_file()), &out);

    ck_assert_msg(rc == 0, "simulate sms failed (%d): %s", rc, out);
    ck_assert_msg(strstr(out, "/twilio/sms (signed for " PUBLIC "/twilio/sms): 200"), "%s", out);
    sid = printed_sid(out, "MessageSid ");
    params[0] = sid;
    ck_assert_msg(it_wait_sql(apr_psprintf(it_pool,
        "SELECT count(*) FROM messages m JOIN clients c ON c.id = m.client_id"
        " WHERE c.slug = 'sms-client' AND m.provider = 'twilio' AND m.provider_id = '%s'"
        " AND m.channel = 'sms' AND m.direction = 'inbound'"
        " AND m.body = 'Simulated: do you deliver on Sundays?'", sid), "1", 15),
        "the simulated SMS %s did not land", sid);
    /* From the number given, normalized as Twilio sends it. */
    ck_assert_str_eq(it_sql("SELECT ct.phone FROM messages m"
                            " JOIN conversations cv ON cv.id = m.conversation_id"
                            " JOIN contacts ct ON ct.id = cv.contact_id"
                            " WHERE m.provider = 'twilio' AND m.provider_id = $1", 1, params),
                     "+15035550161");
}
END_TEST

START_TEST(test_simulated_voicemail_lands_with_its_recording_and_transcript)
{
    const char *out, *sid;
    int rc = simulate("sms.localhost",
        "voicemail sms-client --account " ACCOUNT " --to " NUMBER
        " --token env:CS_TEST_TWILIO_TOKEN --public-url " PUBLIC " --from +15035550162"
        " --seconds 9 --transcript 'Simulated: please call me back about a catering order.'",
        &out);

    ck_assert_msg(rc == 0, "simulate voicemail failed (%d): %s", rc, out);
    /* The voice webhook, the <Record> action, the recording, the transcript:
     * the callbacks at the URLs the TwiML named, each signed for its URL. */
    ck_assert_msg(strstr(out, "/twilio/voice (signed for " PUBLIC "/twilio/voice): 200"), "%s", out);
    ck_assert_msg(strstr(out, "/twilio/voice/done (signed for " PUBLIC "/twilio/voice/done): 200"),
                  "%s", out);
    ck_assert_msg(strstr(out, "/twilio/voice/recording (signed for " PUBLIC
                              "/twilio/voice/recording): 200"), "%s", out);
    ck_assert_msg(strstr(out, "/twilio/voice/transcription (signed for " PUBLIC
                              "/twilio/voice/transcription): 200"), "%s", out);
    ck_assert_msg(strstr(out, "the caller hears: Thanks for calling the test shop."), "%s", out);
    sid = printed_sid(out, "CallSid ");
    ck_assert_msg(it_wait_sql(apr_psprintf(it_pool,
        "SELECT count(*) FROM messages m JOIN clients c ON c.id = m.client_id"
        " WHERE c.slug = 'sms-client' AND m.provider = 'twilio' AND m.provider_id = '%s'"
        " AND m.channel = 'voicemail' AND m.recording_seconds = 9"
        " AND m.recording_url LIKE 'https://api.twilio.com/2010-04-01/Accounts/" ACCOUNT
        "/Recordings/RE%%'"
        " AND m.body = 'Simulated: please call me back about a catering order.'", sid), "1", 15),
        "the simulated voicemail %s did not land with its recording and transcript", sid);
    /* Classified like any message. */
    ck_assert_msg(it_wait_sql(apr_psprintf(it_pool,
        "SELECT (classified_at IS NOT NULL)::text FROM messages"
        " WHERE provider = 'twilio' AND provider_id = '%s'", sid), "true", 15),
        "the simulated voicemail %s was not classified", sid);
}
END_TEST

START_TEST(test_simulate_with_a_wrong_token_is_refused_and_stores_nothing)
{
    const char *out;
    long before = it_sql_long("SELECT count(*) FROM messages", 0, NULL);
    int rc = simulate("sms.localhost",
        "sms sms-client --account " ACCOUNT " --to " NUMBER " --token not-the-token"
        " --public-url " PUBLIC " --from +15035550163 --body 'Forged'", &out);

    ck_assert_msg(rc == 1, "a forged SMS was not refused (%d): %s", rc, out);
    ck_assert_msg(strstr(out, ": 403") && strstr(out, "signature"), "%s", out);
    ck_assert_int_eq(it_sql_long("SELECT count(*) FROM messages", 0, NULL), before);
}
END_TEST

START_TEST(test_the_demo_channels_are_make_run_only)
{
    const char *out, *demo = apr_pstrcat(it_pool, getenv("CS_TEST_ROOT"),
                                         "/conf/demo/coffee-shop.conf", NULL);
    int rc;

    /* The harness includes conf/sites/coffee-shop.conf without
     * -DConsultDemo: no Twilio there, so the demo's own webhook is 404. */
    rc = simulate("coffee-shop.localhost", apr_psprintf(
        it_pool, "sms coffee-shop --conf '%s' --from +15035550164 --body 'Hello'", demo), &out);
    ck_assert_msg(rc == 1 && strstr(out, "/twilio/sms: 404"), "(%d) %s", rc, out);
    /* With it, as make run starts Apache, the configuration is valid. */
    setenv("CONSULT_STANDIN_URL", "http://127.0.0.1:9", 1);
    setenv("CONSULT_CAL_STANDIN_URL", "http://127.0.0.1:9", 1);     /* the junk hauler's */
    setenv("CONSULT_JOBBER_STANDIN_URL", "http://127.0.0.1:9", 1);
    rc = it_ctl("httpd-t -DConsultDemo", &out);
    unsetenv("CONSULT_STANDIN_URL");
    unsetenv("CONSULT_CAL_STANDIN_URL");
    unsetenv("CONSULT_JOBBER_STANDIN_URL");
    ck_assert_msg(rc == 0 && strstr(out, "Syntax OK"), "(%d) %s", rc, out);
}
END_TEST

Suite *suite_demo(void)
{
    Suite *s = suite_create("demo");
    TCase *tc = tcase_create("simulate");

    tcase_add_checked_fixture(tc, it_setup, it_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_simulated_sms_lands_in_the_clients_inbox);
    tcase_add_test(tc, test_simulated_voicemail_lands_with_its_recording_and_transcript);
    tcase_add_test(tc, test_simulate_with_a_wrong_token_is_refused_and_stores_nothing);
    tcase_add_test(tc, test_the_demo_channels_are_make_run_only);
    suite_add_tcase(s, tc);
    return s;
}
