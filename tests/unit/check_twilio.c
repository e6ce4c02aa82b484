/* cs_twilio: X-Twilio-Signature, opt-out keywords, SMS segments, TwiML and
 * the Messages.json form body / answer. */
#include "unit.h"
#include "providers/cs_twilio.h"

#include <apr_date.h>

#include <apr_strings.h>
#include <string.h>

#define TOKEN "12345"
#define DOC_URL "https://mycompany.com/myapp.php?foo=1&bar=2"
#define DOC_SIG "0/KCTR6DLpKmkAf8muzZqo1nDgQ="

static void add(apr_array_header_t *a, const char *name, const char *value)
{
    cs_pair_t *kv = apr_array_push(a);

    kv->key = name;
    kv->value = value;
}

/* The parameters of Twilio's documented signature example. */
static apr_array_header_t *doc_params(void)
{
    apr_array_header_t *a = apr_array_make(unit_pool, 5, sizeof(cs_pair_t));

    /* Deliberately not in sorted order: the signer sorts. */
    add(a, "To", "+18005551212");
    add(a, "Digits", "1234");
    add(a, "CallSid", "CA1234567890ABCDE");
    add(a, "From", "+12349013030");
    add(a, "Caller", "+12349013030");
    return a;
}

static int verify(const char *url, const apr_array_header_t *params,
                  const char *sig)
{
    return cs_twilio_verify(unit_pool, TOKEN, url, params, NULL, 0, sig);
}

/* ---- signature ---------------------------------------------------------- */

START_TEST(test_signature_matches_twilio_documented_example)
{
    ck_assert_str_eq(cs_twilio_signing_string(unit_pool, DOC_URL, doc_params()),
                     DOC_URL "CallSidCA1234567890ABCDECaller+12349013030"
                     "Digits1234From+12349013030To+18005551212");
    ck_assert_str_eq(cs_twilio_signature(unit_pool, TOKEN, DOC_URL, doc_params()),
                     DOC_SIG);
    ck_assert_int_eq(verify(DOC_URL, doc_params(), DOC_SIG), 1);
}
END_TEST

START_TEST(test_verify_accepts_url_with_or_without_default_port)
{
    /* Same signature, URL presented with the port Twilio left out. */
    ck_assert_int_eq(verify("https://mycompany.com:443/myapp.php?foo=1&bar=2",
                            doc_params(), DOC_SIG), 1);
    /* Signed with the port (python: base64 HMAC over the ":443" URL),
     * presented without it. */
    ck_assert_int_eq(verify(DOC_URL, doc_params(),
                            "EpDEmp1PyjDYp77YxYU3GILBWzE="), 1);
    /* http's default is 80, not 443. */
    ck_assert_int_eq(verify("http://mycompany.com/myapp.php?foo=1&bar=2",
                            doc_params(), DOC_SIG), 0);
}
END_TEST

START_TEST(test_verify_rejects_tampering)
{
    apr_array_header_t *changed = doc_params(), *missing, *extra = doc_params();
    int i;

    APR_ARRAY_IDX(changed, 1, cs_pair_t).value = "9999";
    ck_assert_int_eq(verify(DOC_URL, changed, DOC_SIG), 0);

    missing = apr_array_make(unit_pool, 4, sizeof(cs_pair_t));
    for (i = 1; i < 5; i++) {
        *(cs_pair_t *)apr_array_push(missing) = APR_ARRAY_IDX(doc_params(), i, cs_pair_t);
    }
    ck_assert_int_eq(verify(DOC_URL, missing, DOC_SIG), 0);

    add(extra, "Body", "hi");
    ck_assert_int_eq(verify(DOC_URL, extra, DOC_SIG), 0);

    ck_assert_int_eq(cs_twilio_verify(unit_pool, "12346", DOC_URL, doc_params(),
                                      NULL, 0, DOC_SIG), 0);
    ck_assert_int_eq(verify(DOC_URL, doc_params(), "0/KCTR6DLpKmkAf8muzZqo1nDgQ"), 0);
    ck_assert_int_eq(verify(DOC_URL, doc_params(), "0/KCTR6DLpKmkAf8mu"), 0);
    ck_assert_int_eq(verify(DOC_URL, doc_params(), DOC_SIG "x"), 0);
    ck_assert_int_eq(verify(DOC_URL "&baz=3", doc_params(), DOC_SIG), 0);
    ck_assert_int_eq(verify("https://mycompany.com:8443/myapp.php?foo=1&bar=2",
                            doc_params(), DOC_SIG), 1); /* port removed, as the SDKs */
    ck_assert_int_eq(verify(DOC_URL, doc_params(), ""), 0);
    ck_assert_int_eq(verify(DOC_URL, doc_params(), NULL), 0);
    ck_assert_int_eq(cs_twilio_verify(unit_pool, "", DOC_URL, doc_params(),
                                      NULL, 0, DOC_SIG), 0);
    ck_assert_int_eq(cs_twilio_verify(unit_pool, NULL, DOC_URL, doc_params(),
                                      NULL, 0, DOC_SIG), 0);
}
END_TEST

START_TEST(test_signing_string_sorts_names_and_dedups_repeated_values)
{
    apr_array_header_t *a = apr_array_make(unit_pool, 6, sizeof(cs_pair_t));

    add(a, "b", "2");
    add(a, "a", "x");
    add(a, "MediaUrl", "z");
    add(a, "b", "1");
    add(a, "MediaUrl", "y");
    add(a, "b", "2");
    /* Byte order: uppercase before lowercase; b's values sorted, the
     * duplicate "2" signed once. */
    ck_assert_str_eq(cs_twilio_signing_string(unit_pool, "https://example.com/sms", a),
                     "https://example.com/smsMediaUrlyMediaUrlzaxb1b2");
    /* python3: sorted keys, sorted(set(values)), base64 HMAC-SHA1 "12345"
     * (the validator's own algorithm). */
    ck_assert_str_eq(cs_twilio_signature(unit_pool, TOKEN, "https://example.com/sms", a),
                     "mVi2R6uWcvzg2cnkojpg4V4h70U=");
    ck_assert_int_eq(verify("https://example.com/sms", a,
                            "mVi2R6uWcvzg2cnkojpg4V4h70U="), 1);
}
END_TEST

START_TEST(test_signing_string_without_params_is_the_url)
{
    apr_array_header_t *a = apr_array_make(unit_pool, 1, sizeof(cs_pair_t));

    ck_assert_str_eq(cs_twilio_signing_string(unit_pool, DOC_URL, NULL), DOC_URL);
    ck_assert_str_eq(cs_twilio_signing_string(unit_pool, DOC_URL, a), DOC_URL);
    add(a, "Body", NULL);
    ck_assert_str_eq(cs_twilio_signing_string(unit_pool, DOC_URL, a), DOC_URL "Body");
}
END_TEST

/* Vector computed with python3:
 *   body = '{"property": "value", "boolean": true}'
 *   h = hashlib.sha256(body.encode()).hexdigest()
 *   url = DOC_URL + "&bodySHA256=" + h
 *   base64(hmac.new(b"12345", url.encode(), hashlib.sha1).digest())
 * (the same vector as twilio-python's tests/unit/test_request_validator.py). */
#define JSON_BODY "{\"property\": \"value\", \"boolean\": true}"
#define JSON_HASH "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
#define JSON_URL DOC_URL "&bodySHA256=" JSON_HASH
#define JSON_SIG "a9nBmqA0ju/hNViExpshrM61xv4="

START_TEST(test_verify_json_body_via_body_sha256)
{
    apr_size_t n = strlen(JSON_BODY);

    ck_assert_str_eq(cs_twilio_signature(unit_pool, TOKEN, JSON_URL, NULL), JSON_SIG);
    ck_assert_int_eq(cs_twilio_verify(unit_pool, TOKEN, JSON_URL, NULL,
                                      JSON_BODY, n, JSON_SIG), 1);
    /* Port variant: python signature over the ":443" URL. */
    ck_assert_int_eq(cs_twilio_verify(unit_pool, TOKEN, JSON_URL, NULL, JSON_BODY,
                                      n, "uzN7O1319XdYoYMfTT2eUM1PJT0="), 1);
    /* A body that does not hash to bodySHA256 fails even though the URL
     * signature is right. */
    ck_assert_int_eq(cs_twilio_verify(unit_pool, TOKEN, JSON_URL, NULL,
                                      "{\"property\": \"evil\", \"boolean\": true}",
                                      n, JSON_SIG), 0);
    ck_assert_int_eq(cs_twilio_verify(unit_pool, TOKEN, JSON_URL, NULL,
                                      JSON_BODY, n - 1, JSON_SIG), 0);
    /* No bodySHA256 in the URL: a JSON body cannot be verified. */
    ck_assert_int_eq(cs_twilio_verify(unit_pool, TOKEN, DOC_URL, NULL, JSON_BODY, n,
                                      cs_twilio_signature(unit_pool, TOKEN, DOC_URL,
                                                          NULL)), 0);
    /* Params together with a body is a caller error. */
    ck_assert_int_eq(cs_twilio_verify(unit_pool, TOKEN, JSON_URL, doc_params(),
                                      JSON_BODY, n, JSON_SIG), 0);
}
END_TEST

/* ---- keywords ----------------------------------------------------------- */

START_TEST(test_keywords_trimmed_case_insensitive_whole_message)
{
    ck_assert_int_eq(cs_sms_keyword("STOP"), CS_SMS_STOP);
    ck_assert_int_eq(cs_sms_keyword("  stop \r\n"), CS_SMS_STOP);
    ck_assert_int_eq(cs_sms_keyword("Unsubscribe"), CS_SMS_STOP);
    ck_assert_int_eq(cs_sms_keyword("stopall"), CS_SMS_STOP);
    ck_assert_int_eq(cs_sms_keyword("cancel"), CS_SMS_STOP);
    ck_assert_int_eq(cs_sms_keyword("End"), CS_SMS_STOP);
    ck_assert_int_eq(cs_sms_keyword("quit"), CS_SMS_STOP);
    ck_assert_int_eq(cs_sms_keyword("OptOut"), CS_SMS_STOP);
    ck_assert_int_eq(cs_sms_keyword("revoke"), CS_SMS_STOP);
    ck_assert_int_eq(cs_sms_keyword("Parar"), CS_SMS_STOP);
    ck_assert_int_eq(cs_sms_keyword("\tstart"), CS_SMS_START);
    ck_assert_int_eq(cs_sms_keyword("yes "), CS_SMS_START);
    ck_assert_int_eq(cs_sms_keyword("UNSTOP"), CS_SMS_START);
    ck_assert_int_eq(cs_sms_keyword("help"), CS_SMS_HELP);
    ck_assert_int_eq(cs_sms_keyword(" Info"), CS_SMS_HELP);
    ck_assert_int_eq(cs_sms_keyword("AYUDA"), CS_SMS_HELP);
}
END_TEST

START_TEST(test_keywords_inside_longer_messages_are_ordinary)
{
    ck_assert_int_eq(cs_sms_keyword("stop please"), CS_SMS_NONE);
    ck_assert_int_eq(cs_sms_keyword("please STOP"), CS_SMS_NONE);
    ck_assert_int_eq(cs_sms_keyword("STOP."), CS_SMS_NONE);
    ck_assert_int_eq(cs_sms_keyword("S T O P"), CS_SMS_NONE);
    ck_assert_int_eq(cs_sms_keyword("stopp"), CS_SMS_NONE);
    ck_assert_int_eq(cs_sms_keyword("sto"), CS_SMS_NONE);
    ck_assert_int_eq(cs_sms_keyword("yes, Tuesday works"), CS_SMS_NONE);
    ck_assert_int_eq(cs_sms_keyword(""), CS_SMS_NONE);
    ck_assert_int_eq(cs_sms_keyword("   "), CS_SMS_NONE);
    ck_assert_int_eq(cs_sms_keyword(NULL), CS_SMS_NONE);
}
END_TEST

/* ---- segments ----------------------------------------------------------- */

START_TEST(test_segments_plain_ascii_160_is_one_161_is_two)
{
    const char *enc = NULL;
    int chars = -1;

    ck_assert_int_eq(cs_sms_segments(unit_repeat(unit_pool, "a", 160), &enc, &chars), 1);
    ck_assert_str_eq(enc, "GSM-7");
    ck_assert_int_eq(chars, 160);
    ck_assert_int_eq(cs_sms_segments(unit_repeat(unit_pool, "a", 161), &enc, &chars), 2);
    ck_assert_int_eq(chars, 161);
    ck_assert_int_eq(cs_sms_segments(unit_repeat(unit_pool, "a", 306), NULL, NULL), 2);
    ck_assert_int_eq(cs_sms_segments(unit_repeat(unit_pool, "a", 307), NULL, NULL), 3);
    ck_assert_int_eq(cs_sms_segments("Hi! Your 10:30 appt is confirmed.\n@home?", &enc, &chars), 1);
    ck_assert_str_eq(enc, "GSM-7");
}
END_TEST

START_TEST(test_segments_empty_is_zero)
{
    const char *enc = NULL;
    int chars = -1;

    ck_assert_int_eq(cs_sms_segments("", &enc, &chars), 0);
    ck_assert_str_eq(enc, "GSM-7");
    ck_assert_int_eq(chars, 0);
    ck_assert_int_eq(cs_sms_segments(NULL, &enc, &chars), 0);
}
END_TEST

START_TEST(test_segments_extension_chars_count_two_septets)
{
    const char *enc = NULL;
    int chars = -1;
    char *s;

    ck_assert_int_eq(cs_sms_segments("10\xe2\x82\xac [ok]", &enc, &chars), 1);
    ck_assert_str_eq(enc, "GSM-7");
    ck_assert_int_eq(chars, 2 + 2 + 1 + 2 + 2 + 2);
    /* 158 + euro = 160 septets fits; 159 + euro = 161 does not. */
    s = apr_pstrcat(unit_pool, unit_repeat(unit_pool, "a", 158), "\xe2\x82\xac", NULL);
    ck_assert_int_eq(cs_sms_segments(s, &enc, &chars), 1);
    ck_assert_int_eq(chars, 160);
    s = apr_pstrcat(unit_pool, unit_repeat(unit_pool, "a", 159), "[", NULL);
    ck_assert_int_eq(cs_sms_segments(s, &enc, &chars), 2);
    ck_assert_int_eq(chars, 161);
    ck_assert_str_eq(enc, "GSM-7");
    /* Latin-1 letters of the basic set stay GSM-7 at one septet. */
    ck_assert_int_eq(cs_sms_segments("\xc3\xa9\xc3\xa8\xc3\xb1\xc3\xbc \xc2\xa3", &enc, &chars), 1);
    ck_assert_str_eq(enc, "GSM-7");
    ck_assert_int_eq(chars, 6);
}
END_TEST

START_TEST(test_segments_escape_pair_never_split_across_parts)
{
    int chars = -1;
    /* 152 + euro + 152 = 306 septets: 2 x 153 would fit by count, but the
     * euro's escape pair cannot start at septet 153, so the first part
     * holds 152 and the message needs three. */
    char *s = apr_pstrcat(unit_pool, unit_repeat(unit_pool, "a", 152), "\xe2\x82\xac",
                          unit_repeat(unit_pool, "a", 152), NULL);

    ck_assert_int_eq(cs_sms_segments(s, NULL, &chars), 3);
    ck_assert_int_eq(chars, 306);
    s = apr_pstrcat(unit_pool, unit_repeat(unit_pool, "a", 151), "\xe2\x82\xac",
                    unit_repeat(unit_pool, "a", 153), NULL);
    ck_assert_int_eq(cs_sms_segments(s, NULL, &chars), 2);
}
END_TEST

START_TEST(test_segments_non_gsm_is_ucs2_with_surrogate_pairs)
{
    const char *enc = NULL;
    int chars = -1;
    char *s;

    /* "Thanks 😀": the emoji is outside the BMP, two UTF-16 units. */
    ck_assert_int_eq(cs_sms_segments("Thanks \xf0\x9f\x98\x80", &enc, &chars), 1);
    ck_assert_str_eq(enc, "UCS-2");
    ck_assert_int_eq(chars, 9);
    /* 68 + emoji = 70 fits one segment; 69 + emoji = 71 needs two. */
    s = apr_pstrcat(unit_pool, unit_repeat(unit_pool, "a", 68), "\xf0\x9f\x98\x80", NULL);
    ck_assert_int_eq(cs_sms_segments(s, &enc, &chars), 1);
    ck_assert_int_eq(chars, 70);
    s = apr_pstrcat(unit_pool, unit_repeat(unit_pool, "a", 69), "\xf0\x9f\x98\x80", NULL);
    ck_assert_int_eq(cs_sms_segments(s, &enc, &chars), 2);
    ck_assert_int_eq(chars, 71);
    /* 35 emoji = 70 units: one segment; 67 per part after that, never
     * splitting a pair: 36 emoji = 72 units = 33 + 3 emoji in two parts. */
    ck_assert_int_eq(cs_sms_segments(unit_repeat(unit_pool, "\xf0\x9f\x98\x80", 35),
                                     &enc, &chars), 1);
    ck_assert_int_eq(chars, 70);
    ck_assert_int_eq(cs_sms_segments(unit_repeat(unit_pool, "\xf0\x9f\x98\x80", 67),
                                     &enc, &chars), 3);   /* 134 units, 33 pairs per part */
    ck_assert_int_eq(chars, 134);
    /* One non-GSM character makes the whole message UCS-2: 71 'a' + 'ç'. */
    s = apr_pstrcat(unit_pool, unit_repeat(unit_pool, "a", 70), "\xc3\xa7", NULL);
    ck_assert_int_eq(cs_sms_segments(s, &enc, &chars), 2);
    ck_assert_str_eq(enc, "UCS-2");
    ck_assert_int_eq(chars, 71);
    /* Backtick and tab are not in GSM-7. */
    cs_sms_segments("a`b", &enc, NULL);
    ck_assert_str_eq(enc, "UCS-2");
    cs_sms_segments("a\tb", &enc, NULL);
    ck_assert_str_eq(enc, "UCS-2");
}
END_TEST

/* ---- TwiML -------------------------------------------------------------- */

#define DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"

START_TEST(test_twiml_empty_and_message_escape_markup)
{
    ck_assert_str_eq(cs_twiml_empty(), DECL "<Response/>");
    ck_assert_str_eq(cs_twiml_message(unit_pool, "a<b & \"c\" 'd'>"),
                     DECL "<Response><Message>a&lt;b &amp; &quot;c&quot; "
                     "&apos;d&apos;&gt;</Message></Response>");
    ck_assert_str_eq(cs_twiml_message(unit_pool, "caf\xc3\xa9\x01\n"),
                     DECL "<Response><Message>caf\xc3\xa9\n</Message></Response>");
    ck_assert_str_eq(cs_twiml_message(unit_pool, NULL),
                     DECL "<Response><Message></Message></Response>");
}
END_TEST

START_TEST(test_twiml_voicemail_escapes_text_and_attributes)
{
    ck_assert_str_eq(cs_twiml_voicemail(unit_pool, "Hi, it's Ann & Co <Dental>",
                                        "/vm/done?a=1&b=\"2\"", "/vm/rec",
                                        "/vm/tx?c='3'", 120),
                     DECL "<Response><Say>Hi, it&apos;s Ann &amp; Co &lt;Dental&gt;</Say>"
                     "<Record action=\"/vm/done?a=1&amp;b=&quot;2&quot;\" maxLength=\"120\""
                     " recordingStatusCallback=\"/vm/rec\" transcribe=\"true\""
                     " transcribeCallback=\"/vm/tx?c=&apos;3&apos;\"/></Response>");
    ck_assert_str_eq(cs_twiml_voicemail(unit_pool, NULL, "/vm/done", NULL, NULL, 0),
                     DECL "<Response><Record action=\"/vm/done\"/></Response>");
}
END_TEST

/* ---- Messages.json ------------------------------------------------------ */

START_TEST(test_parse_message_response_success)
{
    const char *json = "{\"sid\": \"SM1234567890abcdef1234567890abcdef\","
        " \"status\": \"queued\", \"num_segments\": \"1\", \"error_code\": null,"
        " \"error_message\": null, \"to\": \"+15035550142\"}";
    const char *sid = NULL, *status = NULL, *msg = "unset";
    int code = -1;

    ck_assert_int_eq(cs_twilio_parse_message_response(unit_pool, json, strlen(json),
                                                      &sid, &status, &code, &msg),
                     APR_SUCCESS);
    ck_assert_str_eq(sid, "SM1234567890abcdef1234567890abcdef");
    ck_assert_str_eq(status, "queued");
    ck_assert_int_eq(code, 0);
    ck_assert_ptr_null(msg);
}
END_TEST

START_TEST(test_parse_message_response_error_document)
{
    const char *json = "{\"code\": 21211, \"message\": \"The 'To' number +1555 is not"
        " a valid phone number.\", \"more_info\": \"https://www.twilio.com/docs/errors/21211\","
        " \"status\": 400}";
    const char *sid = "unset", *status = "unset", *msg = NULL;
    int code = 0;

    ck_assert_int_eq(cs_twilio_parse_message_response(unit_pool, json, strlen(json),
                                                      &sid, &status, &code, &msg),
                     APR_EINVAL);
    ck_assert_ptr_null(sid);
    ck_assert_ptr_null(status);
    ck_assert_int_eq(code, 21211);
    ck_assert_str_eq(msg, "The 'To' number +1555 is not a valid phone number.");
}
END_TEST

START_TEST(test_parse_message_response_garbage_is_einval)
{
    const char *sid = "unset";
    int code = -1;

    ck_assert_int_eq(cs_twilio_parse_message_response(unit_pool, "<html>", 6, &sid,
                                                      NULL, &code, NULL), APR_EINVAL);
    ck_assert_ptr_null(sid);
    ck_assert_int_eq(code, 0);
    ck_assert_int_eq(cs_twilio_parse_message_response(unit_pool, "[1]", 3, &sid,
                                                      NULL, NULL, NULL), APR_EINVAL);
    ck_assert_int_eq(cs_twilio_parse_message_response(unit_pool, "{\"sid\": \"\"}", 11,
                                                      &sid, NULL, NULL, NULL), APR_EINVAL);
    ck_assert_int_eq(cs_twilio_parse_message_response(unit_pool, "{\"sid\": 5}", 10,
                                                      &sid, NULL, NULL, NULL), APR_EINVAL);
    ck_assert_int_eq(cs_twilio_parse_message_response(unit_pool, NULL, 0, &sid,
                                                      NULL, NULL, NULL), APR_EINVAL);
}
END_TEST

START_TEST(test_message_form_encodes_fields)
{
    ck_assert_str_eq(cs_twilio_message_form(unit_pool, "+15035550142", "+15035550100",
                                            "Hi Ann & co, 50% off? caf\xc3\xa9",
                                            "https://x.example/cb?id=7"),
                     "To=%2B15035550142&From=%2B15035550100"
                     "&Body=Hi+Ann+%26+co%2C+50%25+off%3F+caf%C3%A9"
                     "&StatusCallback=https%3A%2F%2Fx.example%2Fcb%3Fid%3D7");
    ck_assert_str_eq(cs_twilio_message_form(unit_pool, "+15035550142",
                                            "MG0123456789abcdef0123456789abcdef",
                                            "ok", NULL),
                     "To=%2B15035550142&MessagingServiceSid=MG0123456789abcdef"
                     "0123456789abcdef&Body=ok");
}
END_TEST

START_TEST(test_find_in_list_matches_body_and_time)
{
    const char *sid = NULL;
    apr_time_t since = apr_date_parse_rfc("Thu, 26 Nov 2026 10:00:00 +0000");
    const char *page =
        "{\"messages\":["
        "{\"sid\":\"SMold\",\"body\":\"See you at 9\",\"date_created\":\"Wed, 25 Nov 2026 10:00:00 +0000\"},"
        "{\"sid\":\"SMother\",\"body\":\"Something else\",\"date_created\":\"Thu, 26 Nov 2026 10:00:05 +0000\"},"
        "{\"sid\":\"SMnew\",\"body\":\"See you at 9\",\"date_created\":\"Thu, 26 Nov 2026 09:59:30 +0000\","
        "\"date_sent\":null,\"status\":\"queued\"}]}";

    /* Same body long before the attempt: an older text, not ours. A
     * queued one (no date_sent yet) from around the attempt: ours. */
    ck_assert_int_eq(cs_twilio_find_in_list(unit_pool, page, strlen(page), "See you at 9", since,
                                            NULL, 0, &sid), CS_TWILIO_LIST_FOUND);
    ck_assert_str_eq(sid, "SMnew");
    ck_assert_int_eq(cs_twilio_find_in_list(unit_pool, page, strlen(page), "Not sent", since,
                                            NULL, 0, &sid), CS_TWILIO_LIST_NONE);
    ck_assert_ptr_null(sid);
    ck_assert_int_eq(cs_twilio_find_in_list(unit_pool, "{\"messages\":[]}", 15, "x", since,
                                            NULL, 0, &sid), CS_TWILIO_LIST_NONE);
    ck_assert_int_eq(cs_twilio_find_in_list(unit_pool, "{\"code\":20003}", 15, "x", since,
                                            NULL, 0, &sid), CS_TWILIO_LIST_UNREADABLE);
    ck_assert_int_eq(cs_twilio_find_in_list(unit_pool, "not json", 8, "x", since, NULL, 0, &sid),
                     CS_TWILIO_LIST_UNREADABLE);
}
END_TEST

/* Two identical texts to one number in a minute: A went out (its SID is
 * stored), B's first attempt was refused with a 503. B's retry sees A's
 * message in the list: it must not take A's SID, but send. */
#define TWIN_PAGE(extra) \
    "{\"messages\":[" extra \
    "{\"sid\":\"SMaaaa\",\"body\":\"Your table is ready\",\"date_created\":\"Thu, 26 Nov 2026 09:59:40 +0000\"}]}"

START_TEST(test_find_in_list_never_adopts_another_messages_sid)
{
    const char *sid = "unset", *page = TWIN_PAGE("");
    apr_time_t since = apr_date_parse_rfc("Thu, 26 Nov 2026 10:00:00 +0000");
    apr_array_header_t *taken = apr_array_make(unit_pool, 1, sizeof(const char *)), *m = NULL;

    APR_ARRAY_PUSH(taken, const char *) = "SMaaaa";
    /* Without knowing A's SID, the old rule would have adopted it. */
    ck_assert_int_eq(cs_twilio_list_matches(unit_pool, page, strlen(page), "Your table is ready",
                                            since, &m), CS_TWILIO_LIST_FOUND);
    ck_assert_int_eq(m->nelts, 1);
    ck_assert_int_eq(cs_twilio_find_in_list(unit_pool, page, strlen(page), "Your table is ready",
                                            since, taken, 0, &sid), CS_TWILIO_LIST_NONE);
    ck_assert_ptr_null(sid);
    /* When B did reach Twilio, its own message is the one left. */
    page = TWIN_PAGE("{\"sid\":\"SMbbbb\",\"body\":\"Your table is ready\","
                     "\"date_created\":\"Thu, 26 Nov 2026 10:00:01 +0000\"},");
    ck_assert_int_eq(cs_twilio_find_in_list(unit_pool, page, strlen(page), "Your table is ready",
                                            since, taken, 0, &sid), CS_TWILIO_LIST_FOUND);
    ck_assert_str_eq(sid, "SMbbbb");
}
END_TEST

START_TEST(test_find_in_list_is_unsure_when_a_match_may_be_anothers)
{
    const char *sid = "unset";
    const char *page = TWIN_PAGE("{\"sid\":\"SMbbbb\",\"body\":\"Your table is ready\","
                                 "\"date_created\":\"Thu, 26 Nov 2026 10:00:01 +0000\"},");
    apr_time_t since = apr_date_parse_rfc("Thu, 26 Nov 2026 10:00:00 +0000");

    /* Two unclaimed messages with our text: which is ours is unknowable. */
    ck_assert_int_eq(cs_twilio_find_in_list(unit_pool, page, strlen(page), "Your table is ready",
                                            since, NULL, 0, &sid), CS_TWILIO_LIST_UNSURE);
    ck_assert_ptr_null(sid);
    /* One unclaimed message, but another of ours was being sent with the
     * same text and has no SID either: it may be that one's. */
    page = TWIN_PAGE("");
    ck_assert_int_eq(cs_twilio_find_in_list(unit_pool, page, strlen(page), "Your table is ready",
                                            since, NULL, 1, &sid), CS_TWILIO_LIST_UNSURE);
    ck_assert_ptr_null(sid);
    /* A SID listed twice (a page overlap) is still one message. */
    page = TWIN_PAGE("{\"sid\":\"SMaaaa\",\"body\":\"Your table is ready\"},");
    ck_assert_int_eq(cs_twilio_find_in_list(unit_pool, page, strlen(page), "Your table is ready",
                                            since, NULL, 0, &sid), CS_TWILIO_LIST_FOUND);
    ck_assert_str_eq(sid, "SMaaaa");
}
END_TEST

START_TEST(test_delivery_status_maps_twilio_words_forward)
{
    ck_assert_str_eq(cs_twilio_delivery_status("delivered"), "delivered");
    ck_assert_str_eq(cs_twilio_delivery_status("read"), "delivered");
    ck_assert_str_eq(cs_twilio_delivery_status("sent"), "sent");
    ck_assert_str_eq(cs_twilio_delivery_status("undelivered"), "undelivered");
    ck_assert_str_eq(cs_twilio_delivery_status("canceled"), "failed");
    ck_assert_str_eq(cs_twilio_delivery_status("failed"), "failed");
    ck_assert_str_eq(cs_twilio_delivery_status("sending"), "sending");
    ck_assert_str_eq(cs_twilio_delivery_status("accepted"), "queued");
    ck_assert_str_eq(cs_twilio_delivery_status(NULL), "queued");
}
END_TEST

/* ---- webhooks, as journaled ---- */

static const char *field(const apr_array_header_t *a, int i, const char **pvalue)
{
    const cs_pair_t *kv = &APR_ARRAY_IDX(a, i, cs_pair_t);
    *pvalue = kv->value;
    return kv->key;
}

START_TEST(test_parse_form_decodes_like_httpd)
{
    const char *body = "Body=Hi+there%2C+50%25+off%3F&From=%2B15035550142&&flag&Bad=%zz%4&To=%2b1";
    apr_array_header_t *a = NULL;
    const char *v;

    ck_assert_int_eq(cs_twilio_parse_form(unit_pool, body, strlen(body), 10, &a), APR_SUCCESS);
    ck_assert_int_eq(a->nelts, 5);
    ck_assert_str_eq(field(a, 0, &v), "Body");
    ck_assert_str_eq(v, "Hi there, 50% off?");
    ck_assert_str_eq(field(a, 1, &v), "From");
    ck_assert_str_eq(v, "+15035550142");
    ck_assert_str_eq(field(a, 2, &v), "flag");
    ck_assert_str_eq(v, "");
    ck_assert_str_eq(field(a, 3, &v), "Bad");
    ck_assert_str_eq(v, "%zz%4");       /* not an escape: kept as sent */
    ck_assert_str_eq(cs_twilio_param(a, "To"), "+1");
    ck_assert_ptr_null(cs_twilio_param(a, "Missing"));
    /* Over the field limit: refused, nothing returned. */
    ck_assert_int_eq(cs_twilio_parse_form(unit_pool, body, strlen(body), 4, &a), APR_EINVAL);
    ck_assert_ptr_null(a);
    ck_assert_int_eq(cs_twilio_parse_form(unit_pool, "", 0, 4, &a), APR_SUCCESS);
    ck_assert_int_eq(a->nelts, 0);
}
END_TEST

START_TEST(test_parsed_form_verifies_like_the_sender_signed_it)
{
    /* Twilio's documented example, sent as a form body. */
    const char *body = "CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234"
                       "&From=%2B12349013030&To=%2B18005551212";
    apr_array_header_t *a = NULL;

    ck_assert_int_eq(cs_twilio_parse_form(unit_pool, body, strlen(body), 200, &a), APR_SUCCESS);
    ck_assert(cs_twilio_verify(unit_pool, TOKEN, DOC_URL, a, NULL, 0, DOC_SIG));
}
END_TEST

static apr_array_header_t *fields(const char *body)
{
    apr_array_header_t *a = NULL;
    ck_assert_int_eq(cs_twilio_parse_form(unit_pool, body, strlen(body), 200, &a), APR_SUCCESS);
    return a;
}

START_TEST(test_event_ids_name_the_event_and_read_back)
{
    const char *ref = NULL;
    apr_array_header_t *rec = fields("CallSid=CA01&RecordingSid=RE01&RecordingUrl=https%3A%2F%2Fx");

    ck_assert_str_eq(cs_twilio_event_id(unit_pool, CS_TWILIO_EV_SMS, fields("MessageSid=SM01&Body=hi"),
                                        NULL), "sms:SM01");
    ck_assert_str_eq(cs_twilio_event_id(unit_pool, CS_TWILIO_EV_CALL, fields("CallSid=CA01"), NULL),
                     "call:CA01");
    ck_assert_str_eq(cs_twilio_event_id(unit_pool, CS_TWILIO_EV_RECORDING, rec, NULL),
                     "recording:CA01:RE01");
    ck_assert_str_eq(cs_twilio_event_id(unit_pool, CS_TWILIO_EV_RECORDING, fields("CallSid=CA01"), NULL),
                     "recording:CA01:-");
    ck_assert_str_eq(cs_twilio_event_id(unit_pool, CS_TWILIO_EV_TRANSCRIPTION,
                                        fields("CallSid=CA01&TranscriptionSid=TR01&TranscriptionStatus=completed"),
                                        NULL), "transcription:CA01:TR01");
    ck_assert_str_eq(cs_twilio_event_id(unit_pool, CS_TWILIO_EV_TRANSCRIPTION,
                                        fields("CallSid=CA01&TranscriptionStatus=failed"), NULL),
                     "transcription:CA01:failed");
    /* A status callback: one event per message, SID and status, so
     * "sent" then "delivered" are two events and a redelivery is one. */
    ck_assert_str_eq(cs_twilio_event_id(unit_pool, CS_TWILIO_EV_STATUS,
                                        fields("MessageSid=SM02&MessageStatus=delivered"), "42"),
                     "status:42:SM02:delivered");

    ck_assert_int_eq(cs_twilio_event_parse(unit_pool, "sms:SM01", &ref), CS_TWILIO_EV_SMS);
    ck_assert_str_eq(ref, "SM01");
    ck_assert_int_eq(cs_twilio_event_parse(unit_pool, "recording:CA01:RE01", &ref), CS_TWILIO_EV_RECORDING);
    ck_assert_str_eq(ref, "CA01");
    ck_assert_int_eq(cs_twilio_event_parse(unit_pool, "transcription:CA01:-", &ref),
                     CS_TWILIO_EV_TRANSCRIPTION);
    ck_assert_str_eq(ref, "CA01");
    ck_assert_int_eq(cs_twilio_event_parse(unit_pool, "call:CA01", &ref), CS_TWILIO_EV_CALL);
    ck_assert_str_eq(ref, "CA01");
    ck_assert_int_eq(cs_twilio_event_parse(unit_pool, "status:42:SM02:delivered", &ref),
                     CS_TWILIO_EV_STATUS);
    ck_assert_str_eq(ref, "42");
    ck_assert_int_eq(cs_twilio_event_parse(unit_pool, "square:abc", &ref), CS_TWILIO_EV_NONE);
    ck_assert_ptr_null(ref);
    ck_assert_int_eq(cs_twilio_event_parse(unit_pool, "sms:", &ref), CS_TWILIO_EV_NONE);
}
END_TEST

START_TEST(test_event_id_needs_well_formed_fields)
{
    ck_assert_ptr_null(cs_twilio_event_id(unit_pool, CS_TWILIO_EV_SMS, fields("Body=hi"), NULL));
    ck_assert_ptr_null(cs_twilio_event_id(unit_pool, CS_TWILIO_EV_SMS, fields("MessageSid=SM%3A1"), NULL));
    ck_assert_ptr_null(cs_twilio_event_id(unit_pool, CS_TWILIO_EV_SMS, fields("MessageSid="), NULL));
    ck_assert_ptr_null(cs_twilio_event_id(unit_pool, CS_TWILIO_EV_CALL, fields("From=x"), NULL));
    ck_assert_ptr_null(cs_twilio_event_id(unit_pool, CS_TWILIO_EV_RECORDING,
                                          fields("CallSid=CA1&RecordingSid=RE+1"), NULL));
    /* Status: our message id (digits), a SID and a status word. */
    ck_assert_ptr_null(cs_twilio_event_id(unit_pool, CS_TWILIO_EV_STATUS,
                                          fields("MessageSid=SM1&MessageStatus=sent"), NULL));
    ck_assert_ptr_null(cs_twilio_event_id(unit_pool, CS_TWILIO_EV_STATUS,
                                          fields("MessageSid=SM1&MessageStatus=sent"), "4x"));
    ck_assert_ptr_null(cs_twilio_event_id(unit_pool, CS_TWILIO_EV_STATUS,
                                          fields("MessageSid=SM1&MessageStatus=Sent%3A"), "4"));
    ck_assert_ptr_null(cs_twilio_event_id(unit_pool, CS_TWILIO_EV_STATUS, fields("MessageStatus=sent"), "4"));
    ck_assert_ptr_null(cs_twilio_event_id(unit_pool, CS_TWILIO_EV_NONE, fields("CallSid=CA1"), NULL));
}
END_TEST

Suite *twilio_suite(void)
{
    Suite *s = suite_create("cs_twilio");
    TCase *tc;

    tc = tcase_create("signature");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_signature_matches_twilio_documented_example);
    tcase_add_test(tc, test_verify_accepts_url_with_or_without_default_port);
    tcase_add_test(tc, test_verify_rejects_tampering);
    tcase_add_test(tc, test_signing_string_sorts_names_and_dedups_repeated_values);
    tcase_add_test(tc, test_signing_string_without_params_is_the_url);
    tcase_add_test(tc, test_verify_json_body_via_body_sha256);
    suite_add_tcase(s, tc);

    tc = tcase_create("keywords");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_keywords_trimmed_case_insensitive_whole_message);
    tcase_add_test(tc, test_keywords_inside_longer_messages_are_ordinary);
    suite_add_tcase(s, tc);

    tc = tcase_create("segments");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_segments_plain_ascii_160_is_one_161_is_two);
    tcase_add_test(tc, test_segments_empty_is_zero);
    tcase_add_test(tc, test_segments_extension_chars_count_two_septets);
    tcase_add_test(tc, test_segments_escape_pair_never_split_across_parts);
    tcase_add_test(tc, test_segments_non_gsm_is_ucs2_with_surrogate_pairs);
    suite_add_tcase(s, tc);

    tc = tcase_create("twiml");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_twiml_empty_and_message_escape_markup);
    tcase_add_test(tc, test_twiml_voicemail_escapes_text_and_attributes);
    suite_add_tcase(s, tc);

    tc = tcase_create("messages");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_parse_message_response_success);
    tcase_add_test(tc, test_parse_message_response_error_document);
    tcase_add_test(tc, test_parse_message_response_garbage_is_einval);
    tcase_add_test(tc, test_message_form_encodes_fields);
    tcase_add_test(tc, test_find_in_list_matches_body_and_time);
    tcase_add_test(tc, test_find_in_list_never_adopts_another_messages_sid);
    tcase_add_test(tc, test_find_in_list_is_unsure_when_a_match_may_be_anothers);
    tcase_add_test(tc, test_delivery_status_maps_twilio_words_forward);
    suite_add_tcase(s, tc);

    tc = tcase_create("journaled webhooks");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_parse_form_decodes_like_httpd);
    tcase_add_test(tc, test_parsed_form_verifies_like_the_sender_signed_it);
    tcase_add_test(tc, test_event_ids_name_the_event_and_read_back);
    tcase_add_test(tc, test_event_id_needs_well_formed_fields);
    suite_add_tcase(s, tc);

    return s;
}
