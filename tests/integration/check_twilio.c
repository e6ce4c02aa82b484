/* Twilio over real HTTP: signed webhooks in (SMS, STOP, voicemail) through
 * core's inbound journal and the twilio.event job, replies out through the
 * fake Twilio, retries, refusals, a worker killed after Twilio accepted a
 * message, identical texts, and status callbacks racing the send job.
 * Signatures here are computed independently of the module (HMAC-SHA1 over
 * the URL and the sorted parameters). sms.localhost sits behind a
 * TLS-terminating proxy as far as Twilio knows: its ConsultTwilioPublicURL
 * (harness.sh) is https://sms.example.com, which is what Twilio signs. */
#include "integ.h"

#include <apr_strings.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SMS "sms.localhost"
#define TOKEN "test-auth-token-0123456789abcdef"
#define ACCOUNT "AC0123456789abcdef0123456789abcdef"

static const char *port(void)
{
    const char *u = getenv("CS_TEST_URL");
    return strrchr(u, ':') + 1;
}

static const char *pct(const char *s)
{
    char *out = apr_palloc(it_pool, strlen(s) * 3 + 1), *o = out;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
            || c == '-' || c == '_' || c == '.' || c == '~') *o++ = (char)c;
        else o += sprintf(o, "%%%02X", c);
    }
    *o = '\0';
    return out;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* What Twilio calls for @p host (its ConsultTwilioPublicURL in harness.sh). */
#define SMS_PUBLIC "https://sms.example.com"
static const char *public_base(const char *host)
{
    return !strcmp(host, SMS) ? SMS_PUBLIC : apr_psprintf(it_pool, "http://%s:%s", host, port());
}

/* POST a Twilio webhook to @p host, signed over @p signed_base + @p path
 * (as Twilio signs the URL it called): names and values alternate in @p kv. */
static it_resp_t *webhook_signed(const char *host, const char *path, const char *const *kv,
                                 const char *signed_base, const char *token)
{
    const char *names[40], *url = apr_pstrcat(it_pool, signed_base, path, NULL);
    const char *body = "", *signing = url, *hdrs[2];
    unsigned char mac[20];
    unsigned int maclen = 0;
    char b64[64];
    int i, n = 0;
    it_req_t q = { 0 };

    for (i = 0; kv[i]; i += 2) names[n++] = kv[i];
    qsort(names, (size_t)n, sizeof(names[0]), by_name);
    for (i = 0; i < n; i++) {
        int j;
        for (j = 0; kv[j]; j += 2) {
            if (!strcmp(kv[j], names[i])) {
                signing = apr_pstrcat(it_pool, signing, kv[j], kv[j + 1], NULL);
            }
        }
    }
    for (i = 0; kv[i]; i += 2) {
        body = apr_pstrcat(it_pool, body, i ? "&" : "", pct(kv[i]), "=", pct(kv[i + 1]), NULL);
    }
    HMAC(EVP_sha1(), token, (int)strlen(token),
         (const unsigned char *)signing, strlen(signing), mac, &maclen);
    EVP_EncodeBlock((unsigned char *)b64, mac, (int)maclen);
    hdrs[0] = apr_pstrcat(it_pool, "X-Twilio-Signature: ", b64, NULL);
    hdrs[1] = NULL;
    q.host = host;
    q.path = path;
    q.method = "POST";
    q.content_type = "application/x-www-form-urlencoded";
    q.body = body;
    q.headers = hdrs;
    return it_http(&q);
}

static it_resp_t *webhook_to(const char *host, const char *path, const char *const *kv,
                             int good_signature)
{
    return webhook_signed(host, path, kv, public_base(host),
                          good_signature ? TOKEN : "wrong-token");
}

static it_resp_t *webhook(const char *path, const char *const *kv, int good_signature)
{
    return webhook_to(SMS, path, kv, good_signature);
}

/* Wait for the twilio.event job of a journaled webhook to have run. */
static void processed(const char *event_id)
{
    ck_assert_msg(it_wait_sql(apr_psprintf(it_pool, "SELECT (processed_at IS NOT NULL)::text"
                                           " FROM provider_events WHERE provider = 'twilio'"
                                           " AND event_id = '%s'", event_id), "true", 15),
                  "the event %s was not processed", event_id);
}

/* A signed inbound SMS, answered, then processed by its job. */
static it_resp_t *inbound_sms(const char *sid, const char *from, const char *text)
{
    const char *kv[] = { "MessageSid", sid, "SmsSid", sid, "AccountSid", ACCOUNT, "From", from,
                         "To", "+15005550006", "Body", text, "NumMedia", "0", NULL };
    it_resp_t *r = webhook("/twilio/sms", kv, 1);
    if (r->status == 200) {
        processed(apr_pstrcat(it_pool, "sms:", sid, NULL));
    }
    return r;
}

/* A signed status callback for our message @p id, processed. */
static void status_callback(const char *id, const char *sid, const char *status)
{
    const char *kv[] = { "MessageSid", sid, "MessageStatus", status, "AccountSid", ACCOUNT, NULL };
    ck_assert_int_eq(webhook(apr_psprintf(it_pool, "/twilio/status?m=%s", id), kv, 1)->status, 200);
    processed(apr_psprintf(it_pool, "status:%s:%s:%s", id, sid, status));
}

static const char *message_of(const char *sid)
{
    const char *p[1] = { sid };
    return it_sql("SELECT id FROM messages WHERE provider = 'twilio' AND provider_id = $1", 1, p);
}

/* Sign in to the dashboard as the SMS client's owner and reply. */
static const char *cookie, *csrf;
static void sign_in(void)
{
    it_req_t q = { 0 };
    it_resp_t *r;
    const char *set, *at, *hdr[2];
    r = it_sign_in_post("admin.localhost", "email=sms%40sms.example&password=sms+password+1");
    set = apr_table_get(r->headers, "Set-Cookie");
    ck_assert_ptr_nonnull(set);
    cookie = apr_pstrndup(it_pool, set, strcspn(set, ";"));
    memset(&q, 0, sizeof(q));
    hdr[0] = apr_pstrcat(it_pool, "Cookie: ", cookie, NULL);
    hdr[1] = NULL;
    q.host = "admin.localhost";
    q.path = "/";
    q.headers = hdr;
    r = it_http(&q);
    at = strstr(r->body, "\"X-CSRF-Token\": \"") + 17;
    csrf = apr_pstrndup(it_pool, at, strcspn(at, "\""));
}

static it_resp_t *reply(const char *message_id, const char *text)
{
    const char *p[1] = { message_id }, *hdr[3];
    const char *cv = it_sql("SELECT conversation_id FROM messages WHERE id = $1", 1, p);
    it_req_t q = { 0 };
    sign_in();
    hdr[0] = apr_pstrcat(it_pool, "Cookie: ", cookie, NULL);
    hdr[1] = apr_pstrcat(it_pool, "X-CSRF-Token: ", csrf, NULL);
    hdr[2] = NULL;
    q.host = "admin.localhost";
    q.path = apr_psprintf(it_pool, "/c/%s/reply", cv);
    q.body = apr_pstrcat(it_pool, "channel=auto&body=", pct(text), NULL);
    q.content_type = "application/x-www-form-urlencoded";
    q.headers = hdr;
    return it_http(&q);
}

static const char *outbound(const char *text)
{
    const char *p[1] = { text };
    return it_sql("SELECT id FROM messages WHERE direction = 'outbound' AND body = $1", 1, p);
}

#define Q(fmt, id) apr_psprintf(it_pool, fmt, id)

START_TEST(test_signed_sms_is_journaled_then_stored_once_and_answered_with_twiml)
{
    const char *kv[] = { "MessageSid", "SM00000000000000000000000000000001", "AccountSid", ACCOUNT,
                         "From", "+15035550111", "To", "+15005550006",
                         "Body", "hi do you deliver on sundays?", "NumMedia", "0", NULL };
    it_resp_t *r = webhook("/twilio/sms", kv, 1);
    const char *m;
    ck_assert_int_eq(r->status, 200);
    ck_assert_msg(strstr(apr_table_get(r->headers, "Content-Type"), "text/xml") != NULL, "ctype");
    ck_assert_msg(strstr(r->body, "<Response") != NULL, "%s", r->body);
    /* Answered after the commit: the raw body is in the journal with its
     * job already, whatever the job has done yet. */
    ck_assert_str_eq(it_sql("SELECT e.payload || '|' || j.kind FROM provider_events e"
                            " JOIN jobs j ON j.unique_key = 'twilio.event:' || e.id"
                            " WHERE e.provider = 'twilio'"
                            " AND e.event_id = 'sms:SM00000000000000000000000000000001'", 0, NULL),
                     "MessageSid=SM00000000000000000000000000000001&AccountSid=" ACCOUNT
                     "&From=%2B15035550111&To=%2B15005550006&Body=hi%20do%20you%20deliver%20on"
                     "%20sundays%3F&NumMedia=0|twilio.event");
    processed("sms:SM00000000000000000000000000000001");
    m = message_of("SM00000000000000000000000000000001");
    ck_assert_msg(*m, "not stored");
    ck_assert_str_eq(it_sql(Q("SELECT m.channel || '|' || ct.phone FROM messages m JOIN conversations cv"
                              " ON cv.id = m.conversation_id JOIN contacts ct ON ct.id = cv.contact_id"
                              " WHERE m.id = %s", m), 0, NULL), "sms|+15035550111");
    /* Twilio redelivers: acknowledged, one event, one job, one message. */
    ck_assert_int_eq(webhook("/twilio/sms", kv, 1)->status, 200);
    ck_assert_str_eq(it_sql("SELECT count(*) || '|' || (SELECT count(*) FROM jobs"
                            "   WHERE unique_key = 'twilio.event:' || min(e.id))"
                            " FROM provider_events e WHERE e.provider = 'twilio'"
                            " AND e.event_id = 'sms:SM00000000000000000000000000000001'", 0, NULL),
                     "1|1");
    ck_assert_str_eq(it_sql("SELECT count(*) FROM messages WHERE provider_id ="
                            " 'SM00000000000000000000000000000001'", 0, NULL), "1");
    /* And it is classified like any message. */
    ck_assert_msg(it_wait_sql(Q("SELECT classified_at IS NOT NULL FROM messages WHERE id = %s", m),
                              "t", 15), "not classified");
}
END_TEST

START_TEST(test_bad_or_missing_signature_is_403_and_stores_nothing)
{
    const char *kv[] = { "MessageSid", "SM00000000000000000000000000000002", "AccountSid", ACCOUNT,
                         "From", "+15035550112", "To", "+15005550006", "Body", "forged", NULL };
    it_req_t q = { 0 };
    ck_assert_int_eq(webhook("/twilio/sms", kv, 0)->status, 403);
    {
        /* Correctly signed, but not for this client's account. */
        const char *other[] = { "MessageSid", "SM00000000000000000000000000000002",
                                "From", "+15035550112", "To", "+15005550006", "Body", "forged", NULL };
        const char *wrong[] = { "MessageSid", "SM00000000000000000000000000000002",
                                "AccountSid", "AC99999999999999999999999999999999",
                                "From", "+15035550112", "To", "+15005550006", "Body", "forged", NULL };
        ck_assert_int_eq(webhook("/twilio/sms", other, 1)->status, 403);
        ck_assert_int_eq(webhook("/twilio/sms", wrong, 1)->status, 403);
    }
    q.host = SMS;
    q.path = "/twilio/sms";
    q.content_type = "application/x-www-form-urlencoded";
    q.body = "MessageSid=SM00000000000000000000000000000002&From=%2B15035550112&Body=forged";
    ck_assert_int_eq(it_http(&q)->status, 403);
    ck_assert_str_eq(message_of("SM00000000000000000000000000000002"), "");
    ck_assert_str_eq(it_sql("SELECT count(*) FROM provider_events WHERE event_id LIKE"
                            " '%SM00000000000000000000000000000002%'", 0, NULL), "0");
}
END_TEST

START_TEST(test_reply_reaches_twilio_once_with_the_right_form_then_delivery_updates)
{
    const char *m, *out;
    it_fake_rules("[{\"method\":\"POST\",\"path\":\"*/Messages.json\",\"body_contains\":\"5pm+works\",\"status\":201,"
                  "\"body\":{\"sid\":\"SMaaaa0000000000000000000000000001\",\"status\":\"queued\"}}]");
    inbound_sms("SM00000000000000000000000000000003", "+15035550113", "can I move my booking to 5pm");
    m = message_of("SM00000000000000000000000000000003");
    ck_assert_int_eq(reply(m, "Sure, 5pm works. See you then!")->status, 303);
    out = outbound("Sure, 5pm works. See you then!");
    ck_assert_msg(it_wait_sql(Q("SELECT provider_id FROM messages WHERE id = %s", out),
                              "SMaaaa0000000000000000000000000001", 15), "no sid stored");
    ck_assert_int_eq(it_fake_count("/Messages.json", "See+you+then"), 1);
    ck_assert_int_eq(it_fake_count("/2010-04-01/Accounts/" ACCOUNT "/Messages.json", "To=%2B15035550113"), 1);
    ck_assert_int_eq(it_fake_count("/Messages.json", "From=%2B15005550006"), 1);
    ck_assert_int_eq(it_fake_count("/Messages.json", "StatusCallback="), 1);
    /* The callback goes where Twilio can reach us, naming the message. */
    ck_assert_int_eq(it_fake_count("/Messages.json", apr_psprintf(it_pool,
                     "StatusCallback=https%%3A%%2F%%2Fsms.example.com%%2Ftwilio%%2Fstatus%%3Fm%%3D%s", out)), 1);
    /* Twilio reports delivery. */
    status_callback(out, "SMaaaa0000000000000000000000000001", "delivered");
    ck_assert_str_eq(it_sql(Q("SELECT delivery_status FROM messages WHERE id = %s", out), 0, NULL),
                     "delivered");
    /* A late "sent" does not move it back. */
    status_callback(out, "SMaaaa0000000000000000000000000001", "sent");
    ck_assert_str_eq(it_sql(Q("SELECT delivery_status FROM messages WHERE id = %s", out), 0, NULL),
                     "delivered");
    /* Nor does a callback naming another SID for it. */
    status_callback(out, "SMaaaa0000000000000000000000000099", "failed");
    ck_assert_str_eq(it_sql(Q("SELECT delivery_status || '|' || provider_id FROM messages WHERE id = %s",
                              out), 0, NULL), "delivered|SMaaaa0000000000000000000000000001");
    it_fake_rules(NULL);
}
END_TEST

START_TEST(test_twilio_failing_then_recovering_delivers_exactly_once)
{
    const char *m, *out;
    it_fake_rules("[{\"method\":\"POST\",\"path\":\"*/Messages.json\",\"body_contains\":\"heaters\",\"status\":503,\"times\":2,"
                  "\"body\":{\"code\":20500,\"message\":\"busy\"}},"
                  "{\"method\":\"GET\",\"path\":\"*/Messages.json\",\"body\":{\"messages\":[]}},"
                  "{\"method\":\"POST\",\"path\":\"*/Messages.json\",\"body_contains\":\"heaters\",\"status\":201,"
                  "\"body\":{\"sid\":\"SMbbbb0000000000000000000000000002\",\"status\":\"queued\"}}]");
    inbound_sms("SM00000000000000000000000000000004", "+15035550114", "is the patio heated");
    m = message_of("SM00000000000000000000000000000004");
    ck_assert_int_eq(reply(m, "Yes, heaters are on from 5pm.")->status, 303);
    out = outbound("Yes, heaters are on from 5pm.");
    ck_assert_msg(it_wait_sql(Q("SELECT provider_id FROM messages WHERE id = %s", out),
                              "SMbbbb0000000000000000000000000002", 30), "never delivered");
    ck_assert_int_eq(it_fake_count("/Messages.json", "heaters+are+on"), 3);
    ck_assert_str_eq(it_sql(Q("SELECT state || attempts FROM jobs WHERE unique_key ="
                              " 'twilio.sms.send:%s'", out), 0, NULL), "done3");
    it_fake_rules(NULL);
}
END_TEST

START_TEST(test_twilio_down_for_every_attempt_ends_failed_on_the_message)
{
    const char *m, *out;
    it_fake_rules("[{\"method\":\"POST\",\"path\":\"*/Messages.json\",\"body_contains\":\"generator\",\"status\":503,"
                  "\"body\":{\"code\":20500,\"message\":\"busy\"}},"
                  "{\"method\":\"GET\",\"path\":\"*/Messages.json\",\"body\":{\"messages\":[]}}]");
    inbound_sms("SM0000000000000000000000000000000b", "+15035550121", "is the power back");
    m = message_of("SM0000000000000000000000000000000b");
    /* The reply and its job as the composer writes them, with two attempts
     * allowed (set at once, so no attempt can start before). */
    out = it_sql(Q("WITH m AS (INSERT INTO messages (client_id, conversation_id, channel, direction,"
                   "   body, delivery_status, to_address, provider)"
                   " SELECT client_id, conversation_id, 'sms', 'outbound', 'The generator is running again.',"
                   "   'queued', '+15035550121', 'twilio' FROM messages WHERE id = %s RETURNING id, client_id)"
                   " INSERT INTO jobs (kind, payload, unique_key, max_attempts)"
                   " SELECT 'twilio.sms.send', jsonb_build_object('message_id', id, 'client_id', client_id),"
                   "   'twilio.sms.send:' || id, 2 FROM m RETURNING payload->>'message_id'", m), 0, NULL);
    ck_assert_msg(it_wait_sql(Q("SELECT delivery_status FROM messages WHERE id = %s", out),
                              "failed", 30), "still waiting after the last attempt");
    ck_assert_msg(strstr(it_sql(Q("SELECT delivery_error FROM messages WHERE id = %s", out), 0, NULL),
                         "Not confirmed after 2 attempts") != NULL, "no reason on the message");
    ck_assert_str_eq(it_sql(Q("SELECT state || attempts FROM jobs WHERE unique_key ="
                              " 'twilio.sms.send:%s'", out), 0, NULL), "dead2");
    ck_assert_int_eq(it_fake_count("/Messages.json", "generator+is+running"), 2);
    it_fake_rules(NULL);
}
END_TEST

START_TEST(test_twilio_refusal_fails_at_once_with_its_error_on_the_message)
{
    const char *m, *out;
    it_fake_rules("[{\"method\":\"POST\",\"path\":\"*/Messages.json\",\"body_contains\":\"Calling+you\",\"status\":400,"
                  "\"body\":{\"code\":21211,\"message\":\"The 'To' number is not a valid phone number.\","
                  "\"status\":400}}]");
    inbound_sms("SM00000000000000000000000000000005", "+15035550115", "call me");
    m = message_of("SM00000000000000000000000000000005");
    ck_assert_int_eq(reply(m, "Calling you now.")->status, 303);
    out = outbound("Calling you now.");
    ck_assert_msg(it_wait_sql(Q("SELECT delivery_status FROM messages WHERE id = %s", out),
                              "failed", 15), "not failed");
    ck_assert_msg(strstr(it_sql(Q("SELECT delivery_error FROM messages WHERE id = %s", out), 0, NULL),
                         "21211") != NULL, "Twilio's error not shown");
    ck_assert_str_eq(it_sql(Q("SELECT state || attempts FROM jobs WHERE unique_key ="
                              " 'twilio.sms.send:%s'", out), 0, NULL), "dead1");
    ck_assert_int_eq(it_fake_count("/Messages.json", "Calling+you+now"), 1);
    it_fake_rules(NULL);
}
END_TEST

START_TEST(test_stop_blocks_replies_and_start_allows_them_again)
{
    const char *m, *out, *p[1] = { "+15035550116" };
    inbound_sms("SM00000000000000000000000000000006", "+15035550116", "hello");
    inbound_sms("SM00000000000000000000000000000007", "+15035550116", " Stop ");
    ck_assert_str_eq(it_sql("SELECT sms_opted_out::text FROM contacts WHERE phone = $1", 1, p), "true");
    m = message_of("SM00000000000000000000000000000007");
    it_fake_rules(NULL);
    /* Staff see it on the contact. */
    {
        const char *hdr[2];
        it_req_t q = { 0 };
        sign_in();
        hdr[0] = apr_pstrcat(it_pool, "Cookie: ", cookie, NULL);
        hdr[1] = NULL;
        q.host = "admin.localhost";
        q.path = apr_pstrcat(it_pool, "/contacts/",
                             it_sql("SELECT id FROM contacts WHERE phone = $1", 1, p), NULL);
        q.headers = hdr;
        ck_assert_msg(strstr(it_http(&q)->body, "Opted out of SMS") != NULL, "opt-out not shown");
    }
    /* The composer has no channel left: the reply is refused, nothing sent. */
    ck_assert_int_eq(reply(m, "Are you still there?")->status, 409);
    ck_assert_str_eq(outbound("Are you still there?"), "");
    ck_assert_int_eq(it_fake_count("/Messages.json", NULL), 0);
    inbound_sms("SM00000000000000000000000000000008", "+15035550116", "START");
    ck_assert_str_eq(it_sql("SELECT sms_opted_out::text FROM contacts WHERE phone = $1", 1, p), "false");
    it_fake_rules("[{\"method\":\"POST\",\"path\":\"*/Messages.json\",\"body_contains\":\"Welcome\",\"status\":201,"
                  "\"body\":{\"sid\":\"SMcccc0000000000000000000000000003\",\"status\":\"queued\"}}]");
    ck_assert_int_eq(reply(m, "Welcome back!")->status, 303);
    out = outbound("Welcome back!");
    ck_assert_msg(it_wait_sql(Q("SELECT provider_id FROM messages WHERE id = %s", out),
                              "SMcccc0000000000000000000000000003", 15), "not sent after START");
    it_fake_rules(NULL);
}
END_TEST

START_TEST(test_worker_killed_after_twilio_accepted_never_sends_twice)
{
    const char *m, *out, *locked = "";
    char date[64];
    time_t now = time(NULL);
    int i;

    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", gmtime(&now));
    /* Twilio takes the message, then hangs before answering; asked later,
     * it lists the message. */
    it_fake_rules(apr_psprintf(it_pool,
        "[{\"method\":\"POST\",\"path\":\"*/Messages.json\",\"body_contains\":\"7am\",\"delay\":1.8,\"times\":1,\"status\":201,"
        "\"body\":{\"sid\":\"SMdddd0000000000000000000000000004\",\"status\":\"queued\"}},"
        /* Like Twilio: a DateSent filter leaves out what is not sent yet. */
        "{\"method\":\"GET\",\"path\":\"*/Messages.json\",\"query_contains\":\"DateSent\","
        "\"body\":{\"messages\":[]}},"
        "{\"method\":\"GET\",\"path\":\"*/Messages.json\",\"body\":{\"messages\":[{\"sid\":"
        "\"SMdddd0000000000000000000000000004\",\"body\":\"We open at 7am tomorrow.\","
        "\"date_created\":\"%s\",\"date_sent\":null,\"status\":\"queued\"}]}}]", date));
    inbound_sms("SM00000000000000000000000000000009", "+15035550117", "what time do you open");
    m = message_of("SM00000000000000000000000000000009");
    ck_assert_int_eq(reply(m, "We open at 7am tomorrow.")->status, 303);
    out = outbound("We open at 7am tomorrow.");
    for (i = 0; i < 200 && !*locked; i++) {
        locked = it_sql(Q("SELECT locked_by FROM jobs WHERE state = 'running'"
                          " AND unique_key = 'twilio.sms.send:%s'", out), 0, NULL);
        if (!*locked || it_fake_count("/Messages.json", "7am+tomorrow") == 0) {
            locked = "";
            usleep(20 * 1000);
        }
    }
    ck_assert_msg(*locked, "the send never started");
    ck_assert_int_eq(kill((pid_t)atoi(strrchr(locked, ':') + 1), SIGKILL), 0);
    ck_assert_msg(it_wait_sql(Q("SELECT provider_id FROM messages WHERE id = %s", out),
                              "SMdddd0000000000000000000000000004", 25), "sid not found after the kill");
    ck_assert_int_eq(it_fake_count("/Messages.json", "7am+tomorrow"), 1);
    ck_assert_msg(it_fake_count("/Messages.json", NULL) >= 2, "Twilio was not asked before resending");
    it_fake_rules(NULL);
}
END_TEST

START_TEST(test_voicemail_with_recording_and_transcript_is_one_inbox_entry)
{
    const char *voice[] = { "CallSid", "CA00000000000000000000000000000001", "AccountSid", ACCOUNT,
                            "From", "+15035550118", "To", "+15005550006", "CallStatus", "ringing", NULL };
    const char *rec[] = { "CallSid", "CA00000000000000000000000000000001", "AccountSid", ACCOUNT,
                          "RecordingSid", "RE00000000000000000000000000000001",
                          "RecordingUrl", "https://api.twilio.com/rec/RE1", "RecordingStatus", "completed",
                          "RecordingDuration", "14", NULL };
    const char *tx[] = { "CallSid", "CA00000000000000000000000000000001", "AccountSid", ACCOUNT,
                         "TranscriptionText", "Hi this is Dana, my sink is leaking, please call me back today",
                         "TranscriptionStatus", "completed", NULL };
    it_resp_t *r;
    const char *m;

    it_fake_rules("[{\"method\":\"POST\",\"path\":\"*/Messages.json\",\"body_contains\":\"missed\",\"status\":201,"
                  "\"body\":{\"sid\":\"SMeeee0000000000000000000000000005\",\"status\":\"queued\"}}]");
    r = webhook("/twilio/voice", voice, 1);
    ck_assert_int_eq(r->status, 200);
    ck_assert_msg(strstr(r->body, "<Record") && strstr(r->body, "Thanks for calling the test shop."),
                  "%s", r->body);
    /* Twilio calls back where it can reach us: the public URL, never the
     * address behind the proxy. */
    ck_assert_msg(strstr(r->body, " action=\"" SMS_PUBLIC "/twilio/voice/done\"")
                  && strstr(r->body, " recordingStatusCallback=\"" SMS_PUBLIC "/twilio/voice/recording\"")
                  && strstr(r->body, " transcribeCallback=\"" SMS_PUBLIC "/twilio/voice/transcription\"")
                  && !strstr(r->body, "localhost"), "%s", r->body);
    ck_assert_int_eq(webhook("/twilio/voice/recording", rec, 1)->status, 200);
    ck_assert_int_eq(webhook("/twilio/voice/transcription", tx, 1)->status, 200);
    processed("transcription:CA00000000000000000000000000000001:completed");
    ck_assert_str_eq(it_sql("SELECT count(*) FROM messages WHERE provider_id ="
                            " 'CA00000000000000000000000000000001'", 0, NULL), "1");
    m = message_of("CA00000000000000000000000000000001");
    ck_assert_str_eq(it_sql(Q("SELECT channel || '|' || recording_seconds || '|' || recording_url"
                              " FROM messages WHERE id = %s", m), 0, NULL),
                     "voicemail|14|https://api.twilio.com/rec/RE1");
    {
        /* Staff click this link: a URL that is not https, or a duration that
         * is not a number, is never stored over a good one. */
        const char *bad[] = { "CallSid", "CA00000000000000000000000000000001", "AccountSid", ACCOUNT,
                              "RecordingSid", "RE00000000000000000000000000000002",
                              "RecordingUrl", "javascript:alert(document.cookie)//https://x",
                              "RecordingStatus", "completed", "RecordingDuration", "9;1", NULL };
        ck_assert_int_eq(webhook("/twilio/voice/recording", bad, 1)->status, 200);
        processed("recording:CA00000000000000000000000000000001:RE00000000000000000000000000000002");
        bad[5] = "RE00000000000000000000000000000004";
        bad[7] = "http://api.twilio.com/rec/RE2";
        ck_assert_int_eq(webhook("/twilio/voice/recording", bad, 1)->status, 200);
        processed("recording:CA00000000000000000000000000000001:RE00000000000000000000000000000004");
        ck_assert_str_eq(it_sql(Q("SELECT recording_seconds || '|' || recording_url"
                                  " FROM messages WHERE id = %s", m), 0, NULL),
                         "14|https://api.twilio.com/rec/RE1");
    }
    ck_assert_msg(it_wait_sql(Q("SELECT urgency FROM messages WHERE id = %s", m), "high", 15),
                  "the transcript was not classified (urgent leak)");
    /* Missed-call text-back went to the caller. */
    ck_assert_msg(it_wait_sql("SELECT count(*) FROM messages WHERE direction = 'outbound'"
                              " AND to_address = '+15035550118' AND provider_id IS NOT NULL", "1", 15),
                  "no missed-call text");
    ck_assert_int_eq(it_fake_count("/Messages.json", "Sorry+we+missed+you"), 1);
    it_fake_rules(NULL);
}
END_TEST

START_TEST(test_voicemail_without_a_transcript_still_reaches_staff)
{
    const char *voice[] = { "CallSid", "CA00000000000000000000000000000002", "AccountSid", ACCOUNT,
                            "From", "+15035550119", "To", "+15005550006", "CallStatus", "ringing", NULL };
    const char *rec[] = { "CallSid", "CA00000000000000000000000000000002", "AccountSid", ACCOUNT,
                          "RecordingSid", "RE00000000000000000000000000000003",
                          "RecordingUrl", "https://api.twilio.com/rec/RE3", "RecordingStatus", "completed",
                          "RecordingDuration", "150", NULL };
    const char *tx[] = { "CallSid", "CA00000000000000000000000000000002", "AccountSid", ACCOUNT,
                         "TranscriptionStatus", "failed", NULL };
    const char *m;

    it_fake_rules("[{\"method\":\"POST\",\"path\":\"*/Messages.json\",\"status\":201,"
                  "\"body\":{\"sid\":\"SMeeee0000000000000000000000000007\",\"status\":\"queued\"}}]");
    ck_assert_int_eq(webhook("/twilio/voice", voice, 1)->status, 200);
    ck_assert_int_eq(webhook("/twilio/voice/recording", rec, 1)->status, 200);
    processed("recording:CA00000000000000000000000000000002:RE00000000000000000000000000000003");
    m = message_of("CA00000000000000000000000000000002");
    /* Waiting for a transcript, not forgotten. */
    ck_assert_str_eq(it_sql(Q("SELECT state || '|' || (run_at > now() + interval '1 minute')::text"
                              " FROM jobs WHERE unique_key = 'message.process:%s'", m), 0, NULL),
                     "queued|true");
    /* Twilio could not transcribe (too long): staff are told now. */
    ck_assert_int_eq(webhook("/twilio/voice/transcription", tx, 1)->status, 200);
    processed("transcription:CA00000000000000000000000000000002:failed");
    ck_assert_msg(it_wait_sql(Q("SELECT count(*) FROM notifications WHERE message_id = %s", m),
                              "1", 15), "no one was told of the voicemail");
    ck_assert_str_eq(it_sql(Q("SELECT (classified_at IS NOT NULL)::text || '|' || recording_url"
                              " FROM messages WHERE id = %s", m), 0, NULL),
                     "true|https://api.twilio.com/rec/RE3");
    it_fake_rules(NULL);
}
END_TEST

START_TEST(test_a_voicemail_without_caller_id_is_kept)
{
    const char *voice[] = { "CallSid", "CA00000000000000000000000000000003", "AccountSid", ACCOUNT,
                            "From", "anonymous", "To", "+15005550006", "CallStatus", "ringing", NULL };
    const char *tx[] = { "CallSid", "CA00000000000000000000000000000003", "AccountSid", ACCOUNT,
                         "TranscriptionText", "It is me, call me at the shop please",
                         "TranscriptionStatus", "completed", NULL };
    const char *m;

    ck_assert_int_eq(webhook("/twilio/voice", voice, 1)->status, 200);
    ck_assert_int_eq(webhook("/twilio/voice/transcription", tx, 1)->status, 200);
    processed("transcription:CA00000000000000000000000000000003:completed");
    m = message_of("CA00000000000000000000000000000003");
    ck_assert_msg(*m, "the voicemail of a caller without caller ID was dropped");
    ck_assert_str_eq(it_sql(Q("SELECT ct.name || '|' || ct.unknown_caller::text || '|' || m.body"
                              " FROM messages m JOIN conversations cv ON cv.id = m.conversation_id"
                              " JOIN contacts ct ON ct.id = cv.contact_id WHERE m.id = %s", m), 0, NULL),
                     "Unknown caller|true|It is me, call me at the shop please");
    ck_assert_msg(it_wait_sql(Q("SELECT count(*) FROM notifications WHERE message_id = %s", m),
                              "1", 15), "no one was told");
    /* No number: no missed-call text. */
    ck_assert_str_eq(it_sql(Q("SELECT count(*) FROM messages o JOIN messages m"
                              " ON m.conversation_id = o.conversation_id WHERE m.id = %s"
                              " AND o.direction = 'outbound'", m), 0, NULL), "0");
    {
        /* Staff learn it was Bo, and merge Bo into Unknown caller: the
         * contact becomes Bo, and the next hidden number starts afresh. */
        const char *p[1] = { m }, *hdr[3], *unknown, *bo;
        it_req_t q = { 0 };
        it_resp_t *r = it_post("sms.localhost", "application/json",
                               "{\"name\":\"Bo Baker\",\"phone\":\"+15035550123\",\"message\":\"it was me\"}");
        ck_assert_int_eq(r->status, 201);
        unknown = it_sql("SELECT cv.contact_id FROM messages m JOIN conversations cv"
                         " ON cv.id = m.conversation_id WHERE m.id = $1", 1, p);
        bo = it_sql("SELECT id FROM contacts WHERE phone = '+15035550123'", 0, NULL);
        sign_in();
        hdr[0] = apr_pstrcat(it_pool, "Cookie: ", cookie, NULL);
        hdr[1] = apr_pstrcat(it_pool, "X-CSRF-Token: ", csrf, NULL);
        hdr[2] = NULL;
        q.host = "admin.localhost";
        q.path = apr_psprintf(it_pool, "/contacts/%s/merge", unknown);
        q.body = apr_psprintf(it_pool, "other=%s", bo);
        q.content_type = "application/x-www-form-urlencoded";
        q.headers = hdr;
        ck_assert_int_eq(it_http(&q)->status, 303);
        p[0] = unknown;
        ck_assert_str_eq(it_sql("SELECT name || '|' || phone || '|' || unknown_caller::text"
                                " FROM contacts WHERE id = $1", 1, p), "Bo Baker|+15035550123|false");
        voice[1] = "CA00000000000000000000000000000004";
        ck_assert_int_eq(webhook("/twilio/voice", voice, 1)->status, 200);
        processed("call:CA00000000000000000000000000000004");
        p[0] = "CA00000000000000000000000000000004";
        ck_assert_str_eq(it_sql("SELECT ct.name || '|' || (ct.id <> " "(SELECT id FROM contacts WHERE phone"
                                " = '+15035550123'))::text FROM messages m JOIN conversations cv"
                                " ON cv.id = m.conversation_id JOIN contacts ct ON ct.id = cv.contact_id"
                                " WHERE m.provider_id = $1", 1, p), "Unknown caller|true");
    }
}
END_TEST

START_TEST(test_a_picture_without_text_is_shown_and_reaches_staff)
{
    const char *mms[] = { "MessageSid", "MM0000000000000000000000000000000c", "AccountSid", ACCOUNT,
                          "From", "+15035550122", "To", "+15005550006", "Body", "", "NumMedia", "1",
                          "MediaUrl0", "https://api.twilio.com/media/ME1", "MediaContentType0", "image/jpeg",
                          NULL };
    const char *m, *p[1], *hdr[2];
    it_req_t q = { 0 };
    it_resp_t *r;

    ck_assert_int_eq(webhook("/twilio/sms", mms, 1)->status, 200);
    processed("sms:MM0000000000000000000000000000000c");
    m = message_of("MM0000000000000000000000000000000c");
    ck_assert_msg(it_wait_sql(Q("SELECT count(*) FROM notifications WHERE message_id = %s", m),
                              "1", 15), "no one was told of the picture");
    p[0] = m;
    sign_in();
    hdr[0] = apr_pstrcat(it_pool, "Cookie: ", cookie, NULL);
    hdr[1] = NULL;
    q.host = "admin.localhost";
    q.path = apr_psprintf(it_pool, "/c/%s", it_sql("SELECT conversation_id FROM messages WHERE id = $1",
                                                   1, p));
    q.headers = hdr;
    r = it_http(&q);
    ck_assert_int_eq(r->status, 200);
    ck_assert_msg(strstr(r->body, "href=\"https://api.twilio.com/media/ME1\"") != NULL,
                  "the picture is not linked in the panel");
}
END_TEST

START_TEST(test_after_hours_reply_goes_once_per_evening)
{
    const char *a[] = { "MessageSid", "SM0000000000000000000000000000c001", "AccountSid", ACCOUNT,
                        "From", "+15035550130", "To", "+15005550007", "Body", "are you open?", NULL };
    const char *b[] = { "MessageSid", "SM0000000000000000000000000000c002", "AccountSid", ACCOUNT,
                        "From", "+15035550130", "To", "+15005550007", "Body", "hello??", NULL };
    it_fake_rules("[{\"method\":\"POST\",\"path\":\"*/Messages.json\",\"body_contains\":\"closed+right+now\","
                  "\"status\":201,\"body\":{\"sid\":\"SMffff0000000000000000000000000006\",\"status\":\"queued\"}}]");
    ck_assert_int_eq(webhook_to("closed.localhost", "/twilio/sms", a, 1)->status, 200);
    ck_assert_int_eq(webhook_to("closed.localhost", "/twilio/sms", b, 1)->status, 200);
    ck_assert_msg(it_wait_sql("SELECT count(*) FROM messages WHERE direction = 'outbound'"
                              " AND to_address = '+15035550130' AND provider_id IS NOT NULL", "1", 15),
                  "no after-hours reply");
    usleep(600 * 1000);
    ck_assert_int_eq(it_fake_count("/Messages.json", "closed+right+now"), 1);
    ck_assert_str_eq(it_sql("SELECT count(*) FROM messages WHERE direction = 'outbound'"
                            " AND to_address = '+15035550130'", 0, NULL), "1");
    it_fake_rules(NULL);
}
END_TEST

/* Defect: behind a TLS-terminating proxy Twilio signs https://public/...,
 * while Apache sees http://internal/...: the signature is checked against
 * ConsultTwilioPublicURL (required), so the proxied request passes and one
 * signed over the internal address does not. */
START_TEST(test_signatures_are_checked_against_the_public_url)
{
    const char *kv[] = { "MessageSid", "SM0000000000000000000000000000d001", "AccountSid", ACCOUNT,
                         "From", "+15035550150", "To", "+15005550006", "Body", "through the proxy", NULL };
    const char *internal = apr_psprintf(it_pool, "http://%s:%s", SMS, port());

    ck_assert_int_eq(webhook_signed(SMS, "/twilio/sms", kv, internal, TOKEN)->status, 403);
    ck_assert_str_eq(it_sql("SELECT count(*) FROM provider_events WHERE event_id ="
                            " 'sms:SM0000000000000000000000000000d001'", 0, NULL), "0");
    /* Twilio's SDKs also sign with the default port spelt out. */
    ck_assert_int_eq(webhook_signed(SMS, "/twilio/sms", kv, SMS_PUBLIC ":443", TOKEN)->status, 200);
    processed("sms:SM0000000000000000000000000000d001");
    ck_assert_msg(*message_of("SM0000000000000000000000000000d001"), "not stored");
    /* The error log says which URL the signature was checked against. */
    kv[1] = "SM0000000000000000000000000000d002";
    ck_assert_int_eq(webhook_signed(SMS, "/twilio/sms", kv, internal, TOKEN)->status, 403);
    ck_assert_msg(strstr(it_error_log(), "checked against " SMS_PUBLIC "/twilio/sms") != NULL,
                  "no hint in the error log");
}
END_TEST

/* The composer's write: an outbound SMS and its send job (@p max_attempts,
 * 0 for the default) in the thread of inbound message @p m. */
static const char *queue_reply(const char *m, const char *text, const char *to, int max_attempts)
{
    const char *p[3] = { m, text, to };
    return it_sql(apr_psprintf(it_pool,
        "WITH o AS (INSERT INTO messages (client_id, conversation_id, channel, direction,"
        "   body, delivery_status, to_address, provider)"
        " SELECT client_id, conversation_id, 'sms', 'outbound', $2, 'queued', $3, 'twilio'"
        "   FROM messages WHERE id = $1 RETURNING id, client_id)"
        " INSERT INTO jobs (kind, payload, unique_key%s)"
        " SELECT 'twilio.sms.send', jsonb_build_object('message_id', id, 'client_id', client_id),"
        "   'twilio.sms.send:' || id%s FROM o RETURNING payload->>'message_id'",
        max_attempts ? ", max_attempts" : "",
        max_attempts ? apr_psprintf(it_pool, ", %d", max_attempts) : ""), 3, p);
}

/* Defect: a retry asks Twilio whether its earlier attempt got through, and
 * Twilio's list only shows the text. Two identical texts in a minute: the
 * first went out; the second's first attempt was refused (503). Its retry
 * sees the first one's message in the list, and must send rather than take
 * that SID. */
START_TEST(test_two_identical_texts_in_a_minute_each_get_their_own_sid)
{
    const char *m, *a, *b;
    it_fake_rules("[{\"method\":\"POST\",\"path\":\"*/Messages.json\",\"body_contains\":\"table+is+ready\","
                  "\"status\":201,\"times\":1,\"body\":{\"sid\":\"SMtwin00000000000000000000000000a1\",\"status\":\"queued\"}},"
                  "{\"method\":\"POST\",\"path\":\"*/Messages.json\",\"body_contains\":\"table+is+ready\","
                  "\"status\":503,\"times\":1,\"body\":{\"code\":20500,\"message\":\"busy\"}},"
                  "{\"method\":\"POST\",\"path\":\"*/Messages.json\",\"body_contains\":\"table+is+ready\","
                  "\"status\":201,\"body\":{\"sid\":\"SMtwin00000000000000000000000000b2\",\"status\":\"queued\"}}]");
    inbound_sms("SM0000000000000000000000000000d003", "+15035550151", "table for 2?");
    m = message_of("SM0000000000000000000000000000d003");
    a = queue_reply(m, "Your table is ready.", "+15035550151", 0);
    ck_assert_msg(it_wait_sql(Q("SELECT provider_id FROM messages WHERE id = %s", a),
                              "SMtwin00000000000000000000000000a1", 15), "the first text was not sent");
    b = queue_reply(m, "Your table is ready.", "+15035550151", 0);
    ck_assert_msg(it_wait_sql(Q("SELECT coalesce(provider_id, '') FROM messages WHERE id = %s", b),
                              "SMtwin00000000000000000000000000b2", 20),
                  "the second text has %s", it_sql(Q("SELECT coalesce(provider_id, 'no SID') || ' '"
                                                     " || delivery_status FROM messages WHERE id = %s", b),
                                                   0, NULL));
    /* Asked first, then sent: three POSTs (one refused), each text once. */
    ck_assert_int_eq(it_fake_count("/Messages.json", "table+is+ready"), 3);
    ck_assert_msg(it_fake_count("/Messages.json", NULL) >= 4, "Twilio was not asked before the resend");
    ck_assert_str_eq(it_sql(Q("SELECT state || attempts FROM jobs WHERE unique_key ="
                              " 'twilio.sms.send:%s'", b), 0, NULL), "done2");
    it_fake_rules(NULL);
}
END_TEST

/* The same, when neither SID can be told: two identical texts whose
 * attempts both went unanswered, and Twilio lists one message with that
 * text. Neither is sent again and neither takes the SID; they wait for
 * Twilio's status callback, which names our message, and after their last
 * attempt they say "not confirmed" for a person. The callback, when it
 * comes, settles its message. */
START_TEST(test_twins_that_cannot_be_told_apart_are_left_unconfirmed)
{
    const char *m, *c, *d;
    char date[64];
    time_t now = time(NULL);

    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", gmtime(&now));
    it_fake_rules(apr_psprintf(it_pool,
        "[{\"method\":\"GET\",\"path\":\"*/Messages.json\",\"body\":{\"messages\":[{\"sid\":"
        "\"SMtwin00000000000000000000000000c3\",\"body\":\"See you at noon.\","
        "\"date_created\":\"%s\",\"date_sent\":null,\"status\":\"queued\"}]}}]", date));
    inbound_sms("SM0000000000000000000000000000d004", "+15035550152", "lunch?");
    m = message_of("SM0000000000000000000000000000d004");
    /* Both marked "sending" by an earlier attempt, no SID: their jobs'
     * last attempt is the retry that asks Twilio. */
    it_sql(Q("WITH o AS (INSERT INTO messages (client_id, conversation_id, channel, direction,"
             "   body, delivery_status, to_address, provider, send_started_at)"
             " SELECT client_id, conversation_id, 'sms', 'outbound', 'See you at noon.', 'sending',"
             "   '+15035550152', 'twilio', now() FROM messages, generate_series(1, 2)"
             "   WHERE id = %s RETURNING id, client_id)"
             " INSERT INTO jobs (kind, payload, unique_key, max_attempts)"
             " SELECT 'twilio.sms.send', jsonb_build_object('message_id', id, 'client_id', client_id),"
             "   'twilio.sms.send:' || id, 1 FROM o", m), 0, NULL);
    c = it_sql("SELECT min(id) FROM messages WHERE body = 'See you at noon.'", 0, NULL);
    d = it_sql("SELECT max(id) FROM messages WHERE body = 'See you at noon.'", 0, NULL);
    ck_assert_msg(it_wait_sql(Q("SELECT string_agg(delivery_status || coalesce(provider_id, ''), ',' ORDER BY id)"
                                " FROM messages WHERE id IN (%s)", apr_pstrcat(it_pool, c, ",", d, NULL)),
                              "failed,failed", 15), "the twins were not left unconfirmed");
    ck_assert_msg(strstr(it_sql(Q("SELECT delivery_error FROM messages WHERE id = %s", c), 0, NULL),
                         "Not confirmed after 1 attempts") != NULL, "no reason shown");
    ck_assert_msg(strstr(it_sql(Q("SELECT delivery_error FROM messages WHERE id = %s", c), 0, NULL),
                         "which is this one cannot be told") != NULL, "the reason does not say why");
    ck_assert_int_eq(it_fake_count("/Messages.json", "noon"), 0);
    /* Twilio's callback names the message: its word replaces our doubt. */
    status_callback(d, "SMtwin00000000000000000000000000c3", "delivered");
    ck_assert_str_eq(it_sql(Q("SELECT delivery_status || '|' || provider_id || '|'"
                              " || coalesce(delivery_error, 'no error') FROM messages WHERE id = %s", d),
                            0, NULL), "delivered|SMtwin00000000000000000000000000c3|no error");
    ck_assert_str_eq(it_sql(Q("SELECT delivery_status || coalesce(provider_id, '') FROM messages"
                              " WHERE id = %s", c), 0, NULL), "failed");
    it_fake_rules(NULL);
}
END_TEST

/* Wait until message @p id's send is out at the fake Twilio (the request
 * arrived and hangs there), its "sending" mark committed. */
static void wait_in_flight(const char *id, const char *body_part)
{
    int i;
    for (i = 0; i < 100; i++) {
        if (it_fake_count("/Messages.json", body_part) > 0
            && !strcmp(it_sql(Q("SELECT delivery_status FROM messages WHERE id = %s", id), 0, NULL),
                       "sending")) {
            return;
        }
        usleep(50 * 1000);
    }
    ck_abort_msg("the send of %s never went out", id);
}

/* Defect: the last attempt times out while Twilio's status callback, handled
 * meanwhile (another worker, another node), says "delivered". The attempt's
 * "failed" is compared on the locked row and leaves Twilio's word; the job
 * is done, not dead. */
START_TEST(test_last_failed_attempt_keeps_a_delivered_status)
{
    const char *m, *out;
    it_fake_rules("[{\"method\":\"POST\",\"path\":\"*/Messages.json\",\"body_contains\":\"slow+lane\","
                  "\"status\":201,\"delay\":3.5,\"body\":{\"sid\":\"SMlate000000000000000000000000001\",\"status\":\"queued\"}}]");
    inbound_sms("SM0000000000000000000000000000d005", "+15035550153", "is the drive-thru open");
    m = message_of("SM0000000000000000000000000000d005");
    out = queue_reply(m, "Yes, the slow lane too.", "+15035550153", 1);
    wait_in_flight(out, "slow+lane");
    /* What the status event's job writes, on another node, mid-call. */
    it_sql(Q("UPDATE messages SET delivery_status = 'delivered',"
             " provider_id = 'SMlate000000000000000000000000001' WHERE id = %s", out), 0, NULL);
    ck_assert_msg(it_wait_sql(Q("SELECT state FROM jobs WHERE unique_key = 'twilio.sms.send:%s'", out),
                              "done", 15), "the job did not end");
    ck_assert_str_eq(it_sql(Q("SELECT delivery_status || '|' || provider_id || '|'"
                              " || coalesce(delivery_error, 'no error') FROM messages WHERE id = %s", out),
                            0, NULL), "delivered|SMlate000000000000000000000000001|no error");
    it_fake_rules(NULL);
}
END_TEST

/* The same race the other way round: the callback arrives while the last
 * attempt hangs, and its event is processed after the attempt wrote
 * "failed" (the one worker was busy with the send). A SID-less "failed" is
 * our own verdict, and Twilio's report replaces it. */
START_TEST(test_delivery_reported_after_the_last_failed_attempt_wins)
{
    const char *m, *out;
    it_fake_rules("[{\"method\":\"POST\",\"path\":\"*/Messages.json\",\"body_contains\":\"late+lane\","
                  "\"status\":201,\"delay\":3.5,\"body\":{\"sid\":\"SMlate000000000000000000000000002\",\"status\":\"queued\"}}]");
    inbound_sms("SM0000000000000000000000000000d006", "+15035550154", "and the late lane?");
    m = message_of("SM0000000000000000000000000000d006");
    out = queue_reply(m, "The late lane opens at 9.", "+15035550154", 1);
    wait_in_flight(out, "late+lane");
    {
        const char *kv[] = { "MessageSid", "SMlate000000000000000000000000002", "MessageStatus",
                             "delivered", "AccountSid", ACCOUNT, NULL };
        ck_assert_int_eq(webhook(apr_psprintf(it_pool, "/twilio/status?m=%s", out), kv, 1)->status, 200);
    }
    ck_assert_msg(it_wait_sql(Q("SELECT delivery_status || '|' || coalesce(provider_id, '') || '|'"
                                " || coalesce(delivery_error, 'no error') FROM messages WHERE id = %s", out),
                              "delivered|SMlate000000000000000000000000002|no error", 20),
                  "Twilio's report did not stand: %s",
                  it_sql(Q("SELECT delivery_status || ' ' || coalesce(delivery_error, '') FROM messages"
                           " WHERE id = %s", out), 0, NULL));
    it_fake_rules(NULL);
}
END_TEST

/* A call's events are processed in the order Twilio sent them even when
 * their jobs run in another (a retry, several workers): here the
 * recording's job is due first, the call's a minute later. */
START_TEST(test_a_calls_events_are_processed_in_order_whatever_the_job_order)
{
    const char *m;
    it_sql("WITH c AS (SELECT id FROM clients WHERE slug = 'sms-client'),"
           " e AS (INSERT INTO provider_events (provider, client_id, event_id, payload)"
           "   SELECT 'twilio', c.id, v.event_id, v.payload FROM c, (VALUES"
           "   ('call:CA0000000000000000000000000000e1', 'CallSid=CA0000000000000000000000000000e1"
           "&AccountSid=" ACCOUNT "&From=anonymous&To=%2B15005550006&CallStatus=ringing', 1),"
           "   ('recording:CA0000000000000000000000000000e1:RE0000000000000000000000000000e1',"
           "    'CallSid=CA0000000000000000000000000000e1&AccountSid=" ACCOUNT
           "&RecordingSid=RE0000000000000000000000000000e1&RecordingUrl=https%3A%2F%2Fapi.twilio.com%2Frec%2FE1"
           "&RecordingDuration=7', 2)) AS v (event_id, payload, n) ORDER BY v.n RETURNING id, event_id)"
           " INSERT INTO jobs (kind, payload, unique_key, run_at)"
           " SELECT 'twilio.event', jsonb_build_object('event', id), 'twilio.event:' || id,"
           "   now() + CASE WHEN event_id LIKE 'call:%' THEN interval '1 minute' ELSE interval '0' END FROM e",
           0, NULL);
    processed("recording:CA0000000000000000000000000000e1:RE0000000000000000000000000000e1");
    ck_assert_str_eq(it_sql("SELECT (processed_at IS NOT NULL)::text FROM provider_events"
                            " WHERE event_id = 'call:CA0000000000000000000000000000e1'", 0, NULL), "true");
    m = message_of("CA0000000000000000000000000000e1");
    ck_assert_str_eq(it_sql(Q("SELECT channel || '|' || recording_seconds || '|' || recording_url"
                              " FROM messages WHERE id = %s", m), 0, NULL),
                     "voicemail|7|https://api.twilio.com/rec/E1");
    /* The call's own job, when it comes, finds nothing left to do. */
    it_sql("UPDATE jobs SET run_at = now() WHERE state = 'queued' AND unique_key = 'twilio.event:'"
           " || (SELECT id FROM provider_events WHERE event_id = 'call:CA0000000000000000000000000000e1')",
           0, NULL);
    ck_assert_msg(it_wait_sql("SELECT j.state FROM jobs j JOIN provider_events e"
                              " ON j.unique_key = 'twilio.event:' || e.id"
                              " WHERE e.event_id = 'call:CA0000000000000000000000000000e1'", "done", 15),
                  "the call's job did not finish");
    ck_assert_str_eq(it_sql("SELECT count(*) FROM messages WHERE provider_id ="
                            " 'CA0000000000000000000000000000e1'", 0, NULL), "1");
}
END_TEST

Suite *suite_twilio(void)
{
    Suite *s = suite_create("twilio");
    TCase *tc = tcase_create("sms");

    tcase_add_checked_fixture(tc, it_setup, it_teardown);
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, test_signed_sms_is_journaled_then_stored_once_and_answered_with_twiml);
    tcase_add_test(tc, test_signatures_are_checked_against_the_public_url);
    tcase_add_test(tc, test_bad_or_missing_signature_is_403_and_stores_nothing);
    tcase_add_test(tc, test_reply_reaches_twilio_once_with_the_right_form_then_delivery_updates);
    tcase_add_test(tc, test_twilio_failing_then_recovering_delivers_exactly_once);
    tcase_add_test(tc, test_twilio_refusal_fails_at_once_with_its_error_on_the_message);
    tcase_add_test(tc, test_twilio_down_for_every_attempt_ends_failed_on_the_message);
    tcase_add_test(tc, test_stop_blocks_replies_and_start_allows_them_again);
    tcase_add_test(tc, test_worker_killed_after_twilio_accepted_never_sends_twice);
    tcase_add_test(tc, test_voicemail_with_recording_and_transcript_is_one_inbox_entry);
    tcase_add_test(tc, test_voicemail_without_a_transcript_still_reaches_staff);
    tcase_add_test(tc, test_a_picture_without_text_is_shown_and_reaches_staff);
    tcase_add_test(tc, test_a_voicemail_without_caller_id_is_kept);
    tcase_add_test(tc, test_after_hours_reply_goes_once_per_evening);
    tcase_add_test(tc, test_two_identical_texts_in_a_minute_each_get_their_own_sid);
    tcase_add_test(tc, test_twins_that_cannot_be_told_apart_are_left_unconfirmed);
    tcase_add_test(tc, test_last_failed_attempt_keeps_a_delivered_status);
    tcase_add_test(tc, test_delivery_reported_after_the_last_failed_attempt_wins);
    tcase_add_test(tc, test_a_calls_events_are_processed_in_order_whatever_the_job_order);
    suite_add_tcase(s, tc);
    return s;
}
