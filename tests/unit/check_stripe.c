/* Stripe: Stripe-Signature against vectors computed outside this code base
 * (Python's hmac), the request bodies byte for byte, answers and errors
 * sorted by whether a retry can help, the four events we act on, and a
 * round trip against tests/fakes/fake_stripe.py over real HTTP: one intent
 * per Idempotency-Key, a lost answer retried, a card that succeeds and one
 * that is declined, refunds and a dispute, each with its signed webhook
 * received by a listener in the test and checked with our verifier. */
#include "unit.h"
#include "base/cs_json.h"
#include "http/cs_http.h"
#include "providers/cs_stripe.h"

#include <apr_strings.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- Stripe-Signature ------------------------------------------------------ */

/* Computed with Python:
 *   hmac.new(secret, b"1700000000." + body, hashlib.sha256).hexdigest() */
#define SIG_T     1700000000
#define SIG_BODY  "{\n  \"id\": \"evt_1SigTest\",\n  \"object\": \"event\",\n" \
                  "  \"type\": \"payment_intent.succeeded\"\n}"
#define SECRET1   "whsec_test_secret_one"
#define SECRET2   "whsec_rotated_secret_two"
#define V1_S1     "bb7026abf967bdbff93ac6eb4233b147a34fc97ea25f407671909a686a55acd4"
#define V1_S2     "4bfa8a8dd100d15dccb44208d0c873d6a593f191b272b77d9bf4ef86315700fb"
#define V1_OTHER  "05c7c69c0e7f8b7706da5551400225de204e6b3472ad2acfa5d3e55fbebb2655"
/* The same, body "ab\0cd" (5 bytes) under SECRET1. */
#define V1_NUL    "65aa22ab4e0b7cfe4ac63848be8f538a08067156dbe418b9989ac24bdd151951"
/* SIG_BODY under SECRET1 but signed with t=1700000001. */
#define V1_T1     "cb5b2d90fe67595dddccdb5bbe06b603d2f6f90337eb578df63177e251fbf07f"

static cs_stripe_sig_t verify_at(const char *header, const char *body, apr_size_t len,
                                 const char *const *secrets, int n, apr_int64_t now_s)
{
    return cs_stripe_verify_signature(unit_pool, header, body, len, secrets, n, 0,
                                      apr_time_from_sec(now_s));
}

static cs_stripe_sig_t verify1(const char *header, apr_int64_t now_s)
{
    static const char *const one[] = { SECRET1 };

    return verify_at(header, SIG_BODY, strlen(SIG_BODY), one, 1, now_s);
}

START_TEST(test_stripe_signature_valid_vector_is_accepted)
{
    ck_assert_int_eq(verify1("t=1700000000,v1=" V1_S1, SIG_T + 10), CS_STRIPE_SIG_OK);
    /* Stripe's test mode adds a v0: ignored. */
    ck_assert_int_eq(verify1("t=1700000000,v1=" V1_S1 ",v0=" V1_OTHER, SIG_T),
                     CS_STRIPE_SIG_OK);
    /* Order does not matter; t is read as a number, as the SDKs do. */
    ck_assert_int_eq(verify1("v1=" V1_S1 ",t=1700000000", SIG_T), CS_STRIPE_SIG_OK);
    ck_assert_int_eq(verify1("t=01700000000,v1=" V1_S1, SIG_T), CS_STRIPE_SIG_OK);
    ck_assert_str_eq(cs_stripe_sig_reason(CS_STRIPE_SIG_OK), "valid signature");
}
END_TEST

START_TEST(test_stripe_signature_rotated_secret_second_matches)
{
    const char *const both[] = { SECRET1, SECRET2 };
    const char *const with_blank[] = { NULL, "", SECRET2 };
    const char *const old_only[] = { SECRET1 };
    const char *body = SIG_BODY;

    ck_assert_int_eq(verify_at("t=1700000000,v1=" V1_S2, body, strlen(body), both, 2, SIG_T),
                     CS_STRIPE_SIG_OK);
    ck_assert_int_eq(verify_at("t=1700000000,v1=" V1_S2, body, strlen(body), with_blank, 3,
                               SIG_T), CS_STRIPE_SIG_OK);
    ck_assert_int_eq(verify_at("t=1700000000,v1=" V1_S2, body, strlen(body), old_only, 1,
                               SIG_T), CS_STRIPE_SIG_NO_MATCH);
    /* While a secret is rolled Stripe signs with both: one v1 each. */
    ck_assert_int_eq(verify_at("t=1700000000,v1=" V1_S1 ",v1=" V1_S2, body, strlen(body),
                               old_only, 1, SIG_T), CS_STRIPE_SIG_OK);
}
END_TEST

START_TEST(test_stripe_signature_any_v1_may_match)
{
    ck_assert_int_eq(verify1("t=1700000000,v1=" V1_OTHER ",v1=" V1_S1, SIG_T),
                     CS_STRIPE_SIG_OK);
    ck_assert_int_eq(verify1("t=1700000000,v1=" V1_OTHER ",v1=deadbeef,v1=,v1", SIG_T),
                     CS_STRIPE_SIG_NO_MATCH);
    ck_assert_int_eq(verify1("t=1700000000,v1=deadbeef,v1=" V1_S1 ",v1=", SIG_T),
                     CS_STRIPE_SIG_OK);
}
END_TEST

START_TEST(test_stripe_signature_v0_and_other_schemes_are_ignored)
{
    /* A v0 that is the right HMAC is still not a v1. */
    ck_assert_int_eq(verify1("t=1700000000,v0=" V1_S1, SIG_T), CS_STRIPE_SIG_NO_V1);
    ck_assert_int_eq(verify1("t=1700000000,v0=" V1_S1 ",v2=" V1_S1 ",V1=" V1_S1, SIG_T),
                     CS_STRIPE_SIG_NO_V1);
    ck_assert_int_eq(verify1("t=1700000000,v0=" V1_S1 ",v1=" V1_OTHER, SIG_T),
                     CS_STRIPE_SIG_NO_MATCH);
    ck_assert_int_eq(verify1("t=1700000000", SIG_T), CS_STRIPE_SIG_NO_V1);
}
END_TEST

START_TEST(test_stripe_signature_stale_by_301_seconds_is_refused)
{
    ck_assert_int_eq(verify1("t=1700000000,v1=" V1_S1, SIG_T + 300), CS_STRIPE_SIG_OK);
    ck_assert_int_eq(verify1("t=1700000000,v1=" V1_S1, SIG_T + 301), CS_STRIPE_SIG_STALE);
    /* A tolerance of our own. */
    {
        const char *const one[] = { SECRET1 };
        ck_assert_int_eq(cs_stripe_verify_signature(unit_pool, "t=1700000000,v1=" V1_S1,
                                                    SIG_BODY, strlen(SIG_BODY), one, 1, 60,
                                                    apr_time_from_sec(SIG_T + 61)),
                         CS_STRIPE_SIG_STALE);
        ck_assert_int_eq(cs_stripe_verify_signature(unit_pool, "t=1700000000,v1=" V1_S1,
                                                    SIG_BODY, strlen(SIG_BODY), one, 1, 60,
                                                    apr_time_from_sec(SIG_T + 60)),
                         CS_STRIPE_SIG_OK);
    }
    /* Only an authentic signature is called stale; a forged old one does
     * not match (the SDKs check the signature before the age). */
    ck_assert_int_eq(verify1("t=1700000000,v1=" V1_OTHER, SIG_T + 3600),
                     CS_STRIPE_SIG_NO_MATCH);
}
END_TEST

START_TEST(test_stripe_signature_future_timestamp_is_accepted)
{
    ck_assert_int_eq(verify1("t=1700000000,v1=" V1_S1, SIG_T - 3600), CS_STRIPE_SIG_OK);
    ck_assert_int_eq(verify1("t=1700000000,v1=" V1_S1, 0), CS_STRIPE_SIG_OK);
}
END_TEST

START_TEST(test_stripe_signature_tampered_body_or_time_is_refused)
{
    static const char *const one[] = { SECRET1 };
    const char *tampered = "{\n  \"id\": \"evt_1SigTest\",\n  \"object\": \"event\",\n"
                           "  \"type\": \"payment_intent.succeedeD\"\n}";
    const char *spaced = "{\n  \"id\": \"evt_1SigTest\",\n  \"object\": \"event\",\n"
                         "  \"type\": \"payment_intent.succeeded\"\n}\n";

    ck_assert_int_eq(verify_at("t=1700000000,v1=" V1_S1, tampered, strlen(tampered), one, 1,
                               SIG_T), CS_STRIPE_SIG_NO_MATCH);
    ck_assert_int_eq(verify_at("t=1700000000,v1=" V1_S1, spaced, strlen(spaced), one, 1,
                               SIG_T), CS_STRIPE_SIG_NO_MATCH);
    ck_assert_int_eq(verify_at("t=1700000000,v1=" V1_S1, SIG_BODY, strlen(SIG_BODY) - 1, one,
                               1, SIG_T), CS_STRIPE_SIG_NO_MATCH);
    /* The timestamp is signed: moving it breaks the signature. */
    ck_assert_int_eq(verify1("t=1700000001,v1=" V1_S1, SIG_T), CS_STRIPE_SIG_NO_MATCH);
    ck_assert_int_eq(verify1("t=1700000001,v1=" V1_T1, SIG_T), CS_STRIPE_SIG_OK);
    /* Hex is compared as sent: uppercase, truncated or padded never match. */
    {
        char upper[65];
        size_t i;
        strcpy(upper, V1_S1);
        for (i = 0; i < 64; i++) {
            if (upper[i] >= 'a' && upper[i] <= 'f') {
                upper[i] = (char)(upper[i] - 'a' + 'A');
            }
        }
        ck_assert_int_eq(verify1(apr_pstrcat(unit_pool, "t=1700000000,v1=", upper, NULL),
                                 SIG_T), CS_STRIPE_SIG_NO_MATCH);
    }
    ck_assert_int_eq(verify1("t=1700000000,v1=" V1_S1 "0", SIG_T), CS_STRIPE_SIG_NO_MATCH);
    ck_assert_int_eq(verify1("t=1700000000,v1=bb7026abf967", SIG_T), CS_STRIPE_SIG_NO_MATCH);
    /* The whole body counts, NULs included. */
    ck_assert_int_eq(verify_at("t=1700000000,v1=" V1_NUL, "ab\0cd", 5, one, 1, SIG_T),
                     CS_STRIPE_SIG_OK);
    ck_assert_int_eq(verify_at("t=1700000000,v1=" V1_NUL, "ab\0ce", 5, one, 1, SIG_T),
                     CS_STRIPE_SIG_NO_MATCH);
}
END_TEST

START_TEST(test_stripe_signature_secret_is_used_as_is)
{
    /* The same bytes without the whsec_ prefix, or another secret, fail. */
    const char *const bare[] = { "test_secret_one" };
    const char *const other[] = { "whsec_not_ours" };

    ck_assert_int_eq(verify_at("t=1700000000,v1=" V1_S1, SIG_BODY, strlen(SIG_BODY), bare, 1,
                               SIG_T), CS_STRIPE_SIG_NO_MATCH);
    ck_assert_int_eq(verify_at("t=1700000000,v1=" V1_OTHER, SIG_BODY, strlen(SIG_BODY), other,
                               1, SIG_T), CS_STRIPE_SIG_OK);
}
END_TEST

START_TEST(test_stripe_signature_malformed_headers_are_refused)
{
    static const char *const none[] = { NULL, "" };
    static const char *const malformed[] = {
        "garbage", "v1=" V1_S1, "t=,v1=" V1_S1, "t,v1=" V1_S1, "t=abc,v1=" V1_S1,
        "t=17000000x0,v1=" V1_S1, "t=-1700000000,v1=" V1_S1, "t=+1700000000,v1=" V1_S1,
        "t=1700000000,t=1700000000,v1=" V1_S1, "t=1700000000 ,v1=" V1_S1,
        " t=1700000000,v1=" V1_S1, "t=1234567890123456,v1=" V1_S1, ",,", "t", "T=1700000000",
    };
    size_t i;

    ck_assert_int_eq(verify1(NULL, SIG_T), CS_STRIPE_SIG_NO_HEADER);
    ck_assert_int_eq(verify1("", SIG_T), CS_STRIPE_SIG_NO_HEADER);
    for (i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
        ck_assert_msg(verify1(malformed[i], SIG_T) == CS_STRIPE_SIG_MALFORMED, "%s accepted",
                      malformed[i]);
    }
    /* No trimming, as in the SDKs: " v1=" is another scheme. */
    ck_assert_int_eq(verify1("t=1700000000, v1=" V1_S1, SIG_T), CS_STRIPE_SIG_NO_V1);
    ck_assert_int_eq(verify1("t=1700000000,,v1=" V1_S1 ",", SIG_T), CS_STRIPE_SIG_OK);
    /* Nothing to check with. */
    ck_assert_int_eq(verify_at("t=1700000000,v1=" V1_S1, SIG_BODY, strlen(SIG_BODY), none, 2,
                               SIG_T), CS_STRIPE_SIG_NO_SECRET);
    ck_assert_int_eq(verify_at("t=1700000000,v1=" V1_S1, SIG_BODY, strlen(SIG_BODY), NULL, 0,
                               SIG_T), CS_STRIPE_SIG_NO_SECRET);
    ck_assert_str_eq(cs_stripe_sig_reason(CS_STRIPE_SIG_STALE),
                     "signature timestamp older than the tolerance");
}
END_TEST

/* ---- requests ------------------------------------------------------------------ */

static const cs_stripe_account_t account = {
    "https://api.stripe.com", "sk_test_unit", NULL, 0
};

static const char *header_at(const cs_http_req_t *req, int i)
{
    ck_assert_ptr_nonnull(req->headers);
    ck_assert_int_gt(req->headers->nelts, i);
    return APR_ARRAY_IDX(req->headers, i, const char *);
}

static apr_array_header_t *pairs(const char *k1, const char *v1, const char *k2,
                                 const char *v2)
{
    apr_array_header_t *a = apr_array_make(unit_pool, 2, sizeof(cs_pair_t));
    cs_pair_t *kv = apr_array_push(a);

    kv->key = k1;
    kv->value = v1;
    kv->value_len = strlen(v1);
    if (k2) {
        kv = apr_array_push(a);
        kv->key = k2;
        kv->value = v2;
        kv->value_len = strlen(v2);
    }
    return a;
}

START_TEST(test_stripe_create_intent_body_is_exact)
{
    cs_http_req_t req;
    cs_stripe_intent_req_t in = { 0 };
    const char *why = "unset";
    cs_stripe_account_t a = account;

    in.amount = 1250;
    in.currency = "USD";
    in.order_id = "42";
    in.description = "Order 42 at Caf\xc3\xa9 & Co";
    in.receipt_email = "ana+orders@example.com";
    in.metadata = pairs("site", "coffee-shop", "table", "7");
    in.idempotency_key = "order-42-pi-1";
    a.timeout = apr_time_from_sec(20);
    ck_assert_int_eq(cs_stripe_build_create_intent(&req, unit_pool, &a, &in, &why),
                     APR_SUCCESS);
    ck_assert_ptr_null(why);
    ck_assert_str_eq(req.method, "POST");
    ck_assert_str_eq(req.url, "https://api.stripe.com/v1/payment_intents");
    ck_assert_str_eq(req.body,
                     "amount=1250&currency=usd&automatic_payment_methods[enabled]=true"
                     "&description=Order%2042%20at%20Caf%C3%A9%20%26%20Co"
                     "&receipt_email=ana%2Borders%40example.com"
                     "&metadata[order_id]=42&metadata[site]=coffee-shop&metadata[table]=7");
    ck_assert_str_eq(req.content_type, "application/x-www-form-urlencoded");
    ck_assert_str_eq(req.bearer, "sk_test_unit");
    ck_assert_ptr_null(req.basic_user);
    ck_assert(req.timeout == apr_time_from_sec(20));
    ck_assert_int_eq(req.headers->nelts, 2);
    ck_assert_str_eq(header_at(&req, 0), "Stripe-Version: " CS_STRIPE_API_VERSION);
    ck_assert_str_eq(header_at(&req, 1), "Idempotency-Key: order-42-pi-1");

    /* The minimum, another version, and none (the account's default). */
    memset(&in, 0, sizeof(in));
    in.amount = 50;
    in.currency = "eur";
    in.order_id = "order/7 #2";
    in.idempotency_key = "k";
    a.api_version = "2025-03-31.basil";
    a.api_base = "http://127.0.0.1:9";
    ck_assert_int_eq(cs_stripe_build_create_intent(&req, unit_pool, &a, &in, NULL),
                     APR_SUCCESS);
    ck_assert_str_eq(req.url, "http://127.0.0.1:9/v1/payment_intents");
    ck_assert_str_eq(req.body, "amount=50&currency=eur&automatic_payment_methods[enabled]=true"
                               "&metadata[order_id]=order%2F7%20%232");
    ck_assert_str_eq(header_at(&req, 0), "Stripe-Version: 2025-03-31.basil");
    a.api_version = "";
    ck_assert_int_eq(cs_stripe_build_create_intent(&req, unit_pool, &a, &in, NULL),
                     APR_SUCCESS);
    ck_assert_int_eq(req.headers->nelts, 1);
    ck_assert_str_eq(header_at(&req, 0), "Idempotency-Key: k");
}
END_TEST

START_TEST(test_stripe_create_intent_refuses_what_stripe_would)
{
    cs_http_req_t req;
    cs_stripe_intent_req_t ok = { 0 }, in;
    const char *why;
    apr_array_header_t *many;
    int i;

    ok.amount = 1250;
    ok.currency = "usd";
    ok.order_id = "42";
    ok.idempotency_key = "order-42-pi-1";
#define REFUSED(field, value, text)                                                       \
    do {                                                                                  \
        in = ok;                                                                          \
        in.field = value;                                                                 \
        why = NULL;                                                                       \
        ck_assert_int_eq(cs_stripe_build_create_intent(&req, unit_pool, &account, &in,    \
                                                       &why), APR_EINVAL);                \
        ck_assert_ptr_nonnull(why);                                                       \
        ck_assert_msg(strstr(why, text) != NULL, "%s", why);                              \
        ck_assert_ptr_null(req.url);                                                      \
    } while (0)
    REFUSED(amount, 0, "amount");
    REFUSED(amount, -100, "amount");
    REFUSED(amount, 100000000, "amount");
    REFUSED(currency, NULL, "currency");
    REFUSED(currency, "us", "currency");
    REFUSED(currency, "u5d", "currency");
    REFUSED(currency, "usdt", "currency");
    REFUSED(order_id, NULL, "order_id");
    REFUSED(order_id, "", "order_id");
    REFUSED(order_id, unit_repeat(unit_pool, "x", 501), "order_id");
    REFUSED(idempotency_key, NULL, "Idempotency-Key");
    REFUSED(idempotency_key, "", "Idempotency-Key");
    REFUSED(idempotency_key, "order 42", "Idempotency-Key");
    REFUSED(idempotency_key, "order-42\r\nX-Evil: 1", "Idempotency-Key");
    REFUSED(idempotency_key, unit_repeat(unit_pool, "k", 256), "Idempotency-Key");
    REFUSED(metadata, pairs("a[b]", "1", NULL, NULL), "metadata key");
    REFUSED(metadata, pairs("", "1", NULL, NULL), "metadata key");
    REFUSED(metadata, pairs(unit_repeat(unit_pool, "k", 41), "1", NULL, NULL), "metadata key");
    REFUSED(metadata, pairs("order_id", "43", NULL, NULL), "order_id");
    REFUSED(metadata, pairs("note", unit_repeat(unit_pool, "n", 501), NULL, NULL), "note");
    many = apr_array_make(unit_pool, 50, sizeof(cs_pair_t));
    for (i = 0; i < 50; i++) {
        cs_pair_t *kv = apr_array_push(many);
        kv->key = apr_psprintf(unit_pool, "k%d", i);
        kv->value = "v";
    }
    REFUSED(metadata, many, "50 metadata keys");
#undef REFUSED

    /* The limits themselves are fine; characters, not bytes, are counted. */
    in = ok;
    in.amount = CS_STRIPE_MAX_AMOUNT;
    in.idempotency_key = unit_repeat(unit_pool, "k", 255);
    in.order_id = unit_repeat(unit_pool, "\xc3\xa9", 500);
    many->nelts = 49;
    in.metadata = many;
    ck_assert_int_eq(cs_stripe_build_create_intent(&req, unit_pool, &account, &in, &why),
                     APR_SUCCESS);
    ck_assert(strncmp(req.body, "amount=99999999&", 16) == 0);
}
END_TEST

START_TEST(test_stripe_retrieve_intent_url)
{
    cs_http_req_t req;

    ck_assert_int_eq(cs_stripe_build_retrieve_intent(&req, unit_pool, &account,
                                                     "pi_3MtwBwLkdIwHu7ix28a3tqPa"),
                     APR_SUCCESS);
    ck_assert_str_eq(req.method, "GET");
    ck_assert_str_eq(req.url, "https://api.stripe.com/v1/payment_intents/"
                              "pi_3MtwBwLkdIwHu7ix28a3tqPa");
    ck_assert_ptr_null(req.body);
    ck_assert_str_eq(req.bearer, "sk_test_unit");
    ck_assert_int_eq(req.headers->nelts, 1);
    ck_assert_str_eq(header_at(&req, 0), "Stripe-Version: " CS_STRIPE_API_VERSION);
    ck_assert_int_eq(cs_stripe_build_retrieve_intent(&req, unit_pool, &account,
                                                     "pi_1/../../v1/charges"), APR_EINVAL);
    ck_assert_int_eq(cs_stripe_build_retrieve_intent(&req, unit_pool, &account, "pi_1?x=1"),
                     APR_EINVAL);
    ck_assert_int_eq(cs_stripe_build_retrieve_intent(&req, unit_pool, &account, ""),
                     APR_EINVAL);
    ck_assert_int_eq(cs_stripe_build_retrieve_intent(&req, unit_pool, &account, NULL),
                     APR_EINVAL);
}
END_TEST

START_TEST(test_stripe_cancel_intent_is_keyed_by_the_intent)
{
    cs_http_req_t req;

    ck_assert_int_eq(cs_stripe_build_cancel_intent(&req, unit_pool, &account,
                                                   "pi_3MtwBwLkdIwHu7ix28a3tqPa"), APR_SUCCESS);
    ck_assert_str_eq(req.method, "POST");
    ck_assert_str_eq(req.url, "https://api.stripe.com/v1/payment_intents/"
                              "pi_3MtwBwLkdIwHu7ix28a3tqPa/cancel");
    ck_assert_str_eq(req.body, "cancellation_reason=abandoned");
    ck_assert_str_eq(req.content_type, "application/x-www-form-urlencoded");
    ck_assert_int_eq(req.headers->nelts, 2);
    ck_assert_str_eq(header_at(&req, 1), "Idempotency-Key: consult-cancel-pi_3MtwBwLkdIwHu7ix28a3tqPa");
    ck_assert_int_eq(cs_stripe_build_cancel_intent(&req, unit_pool, &account, "pi_1/../refunds"),
                     APR_EINVAL);
    ck_assert_int_eq(cs_stripe_build_cancel_intent(&req, unit_pool, &account, NULL), APR_EINVAL);
}
END_TEST

START_TEST(test_stripe_refund_bodies_full_and_partial)
{
    cs_http_req_t req;
    cs_stripe_refund_req_t in = { 0 };
    const char *why;

    in.payment_intent = "pi_123";
    in.idempotency_key = "refund-9";
    ck_assert_int_eq(cs_stripe_build_refund(&req, unit_pool, &account, &in, &why),
                     APR_SUCCESS);
    ck_assert_str_eq(req.method, "POST");
    ck_assert_str_eq(req.url, "https://api.stripe.com/v1/refunds");
    ck_assert_str_eq(req.body, "payment_intent=pi_123");
    ck_assert_str_eq(header_at(&req, 1), "Idempotency-Key: refund-9");

    in.amount = 250;
    in.reason = "requested_by_customer";
    in.order_id = "42";
    in.metadata = pairs("refund_id", "9", NULL, NULL);
    ck_assert_int_eq(cs_stripe_build_refund(&req, unit_pool, &account, &in, &why),
                     APR_SUCCESS);
    ck_assert_str_eq(req.body, "payment_intent=pi_123&amount=250&reason=requested_by_customer"
                               "&metadata[order_id]=42&metadata[refund_id]=9");

    in.amount = -1;
    ck_assert_int_eq(cs_stripe_build_refund(&req, unit_pool, &account, &in, &why), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "amount"));
    in.amount = 250;
    in.reason = "changed_mind";
    ck_assert_int_eq(cs_stripe_build_refund(&req, unit_pool, &account, &in, &why), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "reason"));
    in.reason = NULL;
    in.payment_intent = "ch_1&amount=1";
    ck_assert_int_eq(cs_stripe_build_refund(&req, unit_pool, &account, &in, &why), APR_EINVAL);
    in.payment_intent = "pi_123";
    in.idempotency_key = NULL;
    ck_assert_int_eq(cs_stripe_build_refund(&req, unit_pool, &account, &in, &why), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "Idempotency-Key"));
}
END_TEST

/* ---- answers ------------------------------------------------------------------- */

#define PI_SUCCEEDED                                                                    \
    "{\"id\":\"pi_3Ab\",\"object\":\"payment_intent\",\"amount\":1250,"                 \
    "\"amount_capturable\":0,\"amount_received\":1250,\"client_secret\":"               \
    "\"pi_3Ab_secret_XyZ\",\"created\":1700000000,\"currency\":\"usd\","                \
    "\"last_payment_error\":null,\"latest_charge\":\"ch_3Ab\",\"livemode\":false,"      \
    "\"metadata\":{\"order_id\":\"42\"},\"status\":\"succeeded\"}"

#define PI_DECLINED                                                                     \
    "{\"id\":\"pi_3Cd\",\"object\":\"payment_intent\",\"amount\":900,"                  \
    "\"amount_received\":0,\"currency\":\"usd\",\"client_secret\":\"s\","               \
    "\"latest_charge\":{\"id\":\"ch_3Cd\",\"object\":\"charge\"},\"livemode\":true,"    \
    "\"last_payment_error\":{\"type\":\"card_error\",\"code\":\"card_declined\","       \
    "\"decline_code\":\"insufficient_funds\",\"message\":\"Your card has insufficient " \
    "funds.\"},\"metadata\":{},\"status\":\"requires_payment_method\"}"

static apr_status_t intent(long status, apr_table_t *h, const char *body,
                           cs_stripe_intent_t *pi, cs_stripe_error_t *e)
{
    return cs_stripe_parse_intent(unit_pool, status, h, body, body ? strlen(body) : 0, pi, e);
}

START_TEST(test_stripe_intent_answers_are_read)
{
    cs_stripe_intent_t pi;
    cs_stripe_error_t e;

    ck_assert_int_eq(intent(200, NULL, PI_SUCCEEDED, &pi, &e), APR_SUCCESS);
    ck_assert_str_eq(pi.id, "pi_3Ab");
    ck_assert_str_eq(pi.status, "succeeded");
    ck_assert_int_eq(pi.amount, 1250);
    ck_assert_int_eq(pi.amount_received, 1250);
    ck_assert_str_eq(pi.currency, "usd");
    ck_assert_str_eq(pi.client_secret, "pi_3Ab_secret_XyZ");
    ck_assert_str_eq(pi.order_id, "42");
    ck_assert_str_eq(pi.latest_charge, "ch_3Ab");
    ck_assert_ptr_null(pi.error_code);
    ck_assert_ptr_null(pi.error_message);
    ck_assert_int_eq(pi.created, 1700000000);
    ck_assert_int_eq(pi.livemode, 0);
    ck_assert_int_eq(e.kind, CS_STRIPE_ERR_NONE);

    ck_assert_int_eq(intent(200, NULL, PI_DECLINED, &pi, NULL), APR_SUCCESS);
    ck_assert_str_eq(pi.status, "requires_payment_method");
    ck_assert_ptr_null(pi.order_id);
    ck_assert_str_eq(pi.latest_charge, "ch_3Cd");     /* expanded: its id */
    ck_assert_str_eq(pi.error_code, "card_declined");
    ck_assert_str_eq(pi.error_decline_code, "insufficient_funds");
    ck_assert_str_eq(pi.error_message, "Your card has insufficient funds.");
    ck_assert_int_eq(pi.livemode, 1);
}
END_TEST

START_TEST(test_stripe_intent_unreadable_2xx_is_not_a_success)
{
    static const char *bad[] = {
        NULL, "", "[]", "not json", "{\"id\":\"pi_1\"}",
        "{\"object\":\"refund\",\"id\":\"re_1\",\"status\":\"succeeded\",\"amount\":1}",
        "{\"object\":\"payment_intent\",\"id\":\"\",\"status\":\"succeeded\",\"amount\":1}",
        "{\"object\":\"payment_intent\",\"id\":\"pi_1\",\"amount\":1}",
        "{\"object\":\"payment_intent\",\"id\":\"pi_1\",\"status\":\"succeeded\","
        "\"amount\":\"1250\"}",
        "{\"object\":\"payment_intent\",\"id\":\"pi_1\",\"status\":\"succeeded\","
        "\"amount\":12.5}",
    };
    cs_stripe_intent_t pi;
    cs_stripe_error_t e;
    apr_table_t *h = apr_table_make(unit_pool, 1);
    size_t i;

    apr_table_set(h, "Request-Id", "req_abc");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(intent(200, h, bad[i], &pi, &e) == APR_EGENERAL, "%s read",
                      bad[i] ? bad[i] : "NULL");
        ck_assert_int_eq(e.kind, CS_STRIPE_ERR_UNREADABLE);
        ck_assert_int_eq(e.retry, 0);
        ck_assert_ptr_null(pi.id);
    }
    ck_assert_str_eq(e.why, "Stripe 200: the answer is not a PaymentIntent");
    ck_assert_str_eq(e.request_id, "req_abc");
}
END_TEST

START_TEST(test_stripe_refund_answers_are_read)
{
    cs_stripe_refund_t r;
    cs_stripe_error_t e;
    const char *ok = "{\"id\":\"re_1\",\"object\":\"refund\",\"amount\":250,"
                     "\"charge\":\"ch_3Ab\",\"currency\":\"usd\",\"metadata\":"
                     "{\"order_id\":\"42\"},\"payment_intent\":\"pi_3Ab\","
                     "\"reason\":\"requested_by_customer\",\"status\":\"succeeded\"}";
    const char *failed = "{\"id\":\"re_2\",\"object\":\"refund\",\"amount\":1000,"
                         "\"status\":\"failed\",\"failure_reason\":\"expired_or_canceled_card\","
                         "\"payment_intent\":{\"id\":\"pi_9\"}}";
    const char *err = "{\"error\":{\"type\":\"invalid_request_error\",\"code\":"
                      "\"charge_already_refunded\",\"message\":\"Charge ch_3Ab has already "
                      "been refunded.\"}}";

    ck_assert_int_eq(cs_stripe_parse_refund(unit_pool, 200, NULL, ok, strlen(ok), &r, &e),
                     APR_SUCCESS);
    ck_assert_str_eq(r.id, "re_1");
    ck_assert_str_eq(r.status, "succeeded");
    ck_assert_int_eq(r.amount, 250);
    ck_assert_str_eq(r.currency, "usd");
    ck_assert_str_eq(r.payment_intent, "pi_3Ab");
    ck_assert_str_eq(r.charge, "ch_3Ab");
    ck_assert_str_eq(r.order_id, "42");
    ck_assert_str_eq(r.reason, "requested_by_customer");
    ck_assert_ptr_null(r.failure_reason);

    ck_assert_int_eq(cs_stripe_parse_refund(unit_pool, 200, NULL, failed, strlen(failed), &r,
                                            &e), APR_SUCCESS);
    ck_assert_str_eq(r.status, "failed");
    ck_assert_str_eq(r.failure_reason, "expired_or_canceled_card");
    ck_assert_str_eq(r.payment_intent, "pi_9");

    ck_assert_int_eq(cs_stripe_parse_refund(unit_pool, 400, NULL, err, strlen(err), &r, &e),
                     APR_EGENERAL);
    ck_assert_int_eq(e.kind, CS_STRIPE_ERR_INVALID);
    ck_assert_str_eq(e.code, "charge_already_refunded");
    ck_assert_int_eq(e.retry, 0);
    ck_assert_int_eq(cs_stripe_parse_refund(unit_pool, 200, NULL, PI_SUCCEEDED,
                                            strlen(PI_SUCCEEDED), &r, &e), APR_EGENERAL);
    ck_assert_int_eq(e.kind, CS_STRIPE_ERR_UNREADABLE);
    ck_assert_str_eq(e.why, "Stripe 200: the answer is not a Refund");
}
END_TEST

static cs_stripe_error_t sort_error(long status, const char *should_retry, const char *body)
{
    cs_stripe_error_t e;
    apr_table_t *h = apr_table_make(unit_pool, 2);

    if (should_retry) {
        apr_table_set(h, "stripe-should-retry", should_retry);   /* any case */
    }
    cs_stripe_parse_error(unit_pool, status, h, body, body ? strlen(body) : 0, &e);
    return e;
}

#define ERR(type, code, msg) \
    "{\"error\":{\"type\":\"" type "\",\"code\":\"" code "\",\"message\":\"" msg "\"}}"

START_TEST(test_stripe_errors_are_sorted_by_what_a_retry_can_do)
{
    cs_stripe_error_t e;
    const char *card = "{\"error\":{\"type\":\"card_error\",\"code\":\"card_declined\","
                       "\"decline_code\":\"generic_decline\",\"message\":\"Your card was "
                       "declined.\",\"charge\":\"ch_1\",\"payment_intent\":{\"id\":\"pi_7\","
                       "\"object\":\"payment_intent\",\"status\":\"requires_payment_method\"}}}";
    const char *idem = ERR("idempotency_error", "idempotency_key_in_use",
                           "Keys for idempotent requests can only be used with the same "
                           "parameters they were first used with.");

    /* Stripe's side, or the rate: yes. */
    e = sort_error(500, NULL, ERR("api_error", "", "An unknown error occurred"));
    ck_assert_int_eq(e.kind, CS_STRIPE_ERR_UNAVAILABLE);
    ck_assert_int_eq(e.retry, 1);
    e = sort_error(502, NULL, "<html>Bad gateway</html>");
    ck_assert_int_eq(e.kind, CS_STRIPE_ERR_UNAVAILABLE);
    ck_assert_int_eq(e.retry, 1);
    ck_assert_str_eq(e.why, "Stripe 502 error: no details");
    e = sort_error(424, NULL, NULL);
    ck_assert_int_eq(e.kind, CS_STRIPE_ERR_UNAVAILABLE);
    ck_assert_int_eq(e.retry, 1);
    e = sort_error(429, NULL, ERR("invalid_request_error", "rate_limit", "Too many requests"));
    ck_assert_int_eq(e.kind, CS_STRIPE_ERR_RATE_LIMIT);
    ck_assert_int_eq(e.retry, 1);
    e = sort_error(400, NULL, ERR("invalid_request_error", "rate_limit", "Too many requests"));
    ck_assert_int_eq(e.kind, CS_STRIPE_ERR_RATE_LIMIT);
    ck_assert_int_eq(e.retry, 1);
    e = sort_error(429, NULL, ERR("invalid_request_error", "lock_timeout", "busy"));
    ck_assert_int_eq(e.kind, CS_STRIPE_ERR_RATE_LIMIT);
    ck_assert_int_eq(e.retry, 1);

    /* 409: our key is still in flight at Stripe: later, with the same key;
     * whatever type it carries. */
    e = sort_error(409, NULL, ERR("invalid_request_error", "", "another in-progress request"));
    ck_assert_int_eq(e.kind, CS_STRIPE_ERR_CONFLICT);
    ck_assert_int_eq(e.retry, 1);
    e = sort_error(409, NULL, idem);
    ck_assert_int_eq(e.kind, CS_STRIPE_ERR_CONFLICT);
    ck_assert_int_eq(e.retry, 1);

    /* The key reused with other parameters: never as it is. */
    e = sort_error(400, NULL, idem);
    ck_assert_int_eq(e.kind, CS_STRIPE_ERR_IDEMPOTENCY);
    ck_assert_int_eq(e.retry, 0);
    e = sort_error(404, NULL, idem);
    ck_assert_int_eq(e.kind, CS_STRIPE_ERR_IDEMPOTENCY);

    /* Cards, keys, requests: no. */
    e = sort_error(402, NULL, card);
    ck_assert_int_eq(e.kind, CS_STRIPE_ERR_CARD);
    ck_assert_int_eq(e.retry, 0);
    ck_assert_str_eq(e.type, "card_error");
    ck_assert_str_eq(e.code, "card_declined");
    ck_assert_str_eq(e.decline_code, "generic_decline");
    ck_assert_str_eq(e.message, "Your card was declined.");
    ck_assert_str_eq(e.payment_intent, "pi_7");
    ck_assert_str_eq(e.why, "Stripe 402 card_error/card_declined/generic_decline: "
                            "Your card was declined.");
    e = sort_error(401, NULL, "{\"error\":{\"type\":\"invalid_request_error\",\"message\":"
                              "\"Invalid API Key provided: sk_test_****unit\"}}");
    ck_assert_int_eq(e.kind, CS_STRIPE_ERR_AUTH);
    ck_assert_int_eq(e.retry, 0);
    e = sort_error(403, NULL, NULL);
    ck_assert_int_eq(e.kind, CS_STRIPE_ERR_AUTH);
    e = sort_error(400, NULL, "{\"error\":{\"type\":\"invalid_request_error\",\"code\":"
                              "\"parameter_missing\",\"param\":\"amount\",\"message\":"
                              "\"Missing required param: amount.\"}}");
    ck_assert_int_eq(e.kind, CS_STRIPE_ERR_INVALID);
    ck_assert_int_eq(e.retry, 0);
    ck_assert_str_eq(e.param, "amount");
    e = sort_error(404, NULL, ERR("invalid_request_error", "resource_missing",
                                  "No such payment_intent: 'pi_x'"));
    ck_assert_int_eq(e.kind, CS_STRIPE_ERR_INVALID);
    e = sort_error(302, NULL, NULL);
    ck_assert_int_eq(e.kind, CS_STRIPE_ERR_INVALID);
    ck_assert_int_eq(e.retry, 0);
    /* OAuth's flat shape. */
    e = sort_error(400, NULL, "{\"error\":\"invalid_grant\",\"error_description\":\"expired\"}");
    ck_assert_str_eq(e.type, "invalid_grant");
    ck_assert_str_eq(e.message, "expired");
}
END_TEST

START_TEST(test_stripe_should_retry_header_overrides_the_status)
{
    cs_stripe_error_t e;

    e = sort_error(500, "false", ERR("api_error", "", "saved"));
    ck_assert_int_eq(e.kind, CS_STRIPE_ERR_UNAVAILABLE);
    ck_assert_int_eq(e.retry, 0);
    e = sort_error(400, "true", ERR("invalid_request_error", "", "try again"));
    ck_assert_int_eq(e.retry, 1);
    e = sort_error(503, "maybe", NULL);
    ck_assert_int_eq(e.retry, 1);
}
END_TEST

START_TEST(test_stripe_error_why_is_one_line_with_the_request_id)
{
    cs_stripe_error_t e;
    apr_table_t *h = apr_table_make(unit_pool, 1);
    const char *body = "{\"error\":{\"type\":\"api_error\",\"message\":\"line one\\nline two\"}}";

    apr_table_set(h, "Request-Id", "req_7Xy");
    cs_stripe_parse_error(unit_pool, 500, h, body, strlen(body), &e);
    ck_assert_str_eq(e.why, "Stripe 500 api_error: line one line two (request req_7Xy)");
    ck_assert_str_eq(e.request_id, "req_7Xy");
    ck_assert_int_eq(e.status, 500);
}
END_TEST

START_TEST(test_stripe_transport_failures_retry_with_the_same_key)
{
    cs_stripe_error_t e;

    cs_stripe_transport_error(unit_pool, APR_TIMEUP, "http://127.0.0.1:1 timed out", &e);
    ck_assert_int_eq(e.kind, CS_STRIPE_ERR_TRANSPORT);
    ck_assert_int_eq(e.retry, 1);
    ck_assert_int_eq(e.status, 0);
    ck_assert_ptr_nonnull(strstr(e.why, "in time"));
    cs_stripe_transport_error(unit_pool, APR_ECONNREFUSED, NULL, &e);
    ck_assert_int_eq(e.kind, CS_STRIPE_ERR_TRANSPORT);
    ck_assert_int_eq(e.retry, 1);
    cs_stripe_transport_error(unit_pool, APR_EGENERAL, "closed", &e);
    ck_assert_int_eq(e.retry, 1);
    cs_stripe_transport_error(unit_pool, APR_EINVAL, "bad header", &e);
    ck_assert_int_eq(e.kind, CS_STRIPE_ERR_INVALID);
    ck_assert_int_eq(e.retry, 0);
    cs_stripe_transport_error(unit_pool, APR_ENOSPC, NULL, &e);
    ck_assert_int_eq(e.kind, CS_STRIPE_ERR_UNREADABLE);
    ck_assert_int_eq(e.retry, 0);
}
END_TEST

/* ---- events ---------------------------------------------------------------------- */

#define EV_HEAD(id, type) \
    "{\"id\":\"" id "\",\"object\":\"event\",\"api_version\":\"" CS_STRIPE_API_VERSION "\"," \
    "\"created\":1700000100,\"livemode\":false,\"pending_webhooks\":1,"                      \
    "\"request\":{\"id\":\"req_1\",\"idempotency_key\":\"order-42-pi-1\"},"                 \
    "\"type\":\"" type "\",\"data\":{\"object\":"

#define EV_SUCCEEDED EV_HEAD("evt_1", "payment_intent.succeeded") PI_SUCCEEDED "}}"
#define EV_FAILED    EV_HEAD("evt_2", "payment_intent.payment_failed") PI_DECLINED "}}"
#define EV_REFUNDED  EV_HEAD("evt_3", "charge.refunded")                                  \
    "{\"id\":\"ch_3Ab\",\"object\":\"charge\",\"amount\":1250,\"amount_captured\":1250,"  \
    "\"amount_refunded\":250,\"currency\":\"usd\",\"metadata\":{\"order_id\":\"42\"},"    \
    "\"payment_intent\":\"pi_3Ab\",\"refunded\":false,\"status\":\"succeeded\"},"         \
    "\"previous_attributes\":{\"amount_refunded\":0}}}"
#define EV_DISPUTE   EV_HEAD("evt_4", "charge.dispute.created")                           \
    "{\"id\":\"dp_1\",\"object\":\"dispute\",\"amount\":1000,\"charge\":\"ch_3Ab\","      \
    "\"currency\":\"usd\",\"metadata\":{},\"payment_intent\":\"pi_3Ab\","                 \
    "\"reason\":\"fraudulent\",\"status\":\"needs_response\"}}}"

static apr_status_t event(const char *body, cs_stripe_event_t *ev, const char **why)
{
    return cs_stripe_parse_event(unit_pool, body, strlen(body), ev, why);
}

START_TEST(test_stripe_event_payment_intent_succeeded)
{
    cs_stripe_event_t ev;
    const char *why = "unset";

    ck_assert_int_eq(event(EV_SUCCEEDED, &ev, &why), APR_SUCCESS);
    ck_assert_ptr_null(why);
    ck_assert_str_eq(ev.id, "evt_1");
    ck_assert_str_eq(ev.type, "payment_intent.succeeded");
    ck_assert_int_eq(ev.kind, CS_STRIPE_EV_INTENT_SUCCEEDED);
    ck_assert_int_eq(ev.created, 1700000100);
    ck_assert_int_eq(ev.livemode, 0);
    ck_assert_str_eq(ev.object_id, "pi_3Ab");
    ck_assert_str_eq(ev.object_type, "payment_intent");
    ck_assert_str_eq(ev.payment_intent, "pi_3Ab");
    ck_assert_str_eq(ev.charge, "ch_3Ab");
    ck_assert_str_eq(ev.status, "succeeded");
    ck_assert_int_eq(ev.amount, 1250);
    ck_assert_int_eq(ev.amount_received, 1250);
    ck_assert_int_eq(ev.amount_refunded, 0);
    ck_assert_str_eq(ev.currency, "usd");
    ck_assert_str_eq(ev.order_id, "42");
    ck_assert_ptr_null(ev.failure_code);
}
END_TEST

START_TEST(test_stripe_event_payment_failed_says_why)
{
    cs_stripe_event_t ev;

    ck_assert_int_eq(event(EV_FAILED, &ev, NULL), APR_SUCCESS);
    ck_assert_int_eq(ev.kind, CS_STRIPE_EV_INTENT_FAILED);
    ck_assert_str_eq(ev.payment_intent, "pi_3Cd");
    ck_assert_str_eq(ev.status, "requires_payment_method");
    ck_assert_int_eq(ev.amount, 900);
    ck_assert_int_eq(ev.amount_received, 0);
    ck_assert_str_eq(ev.failure_code, "insufficient_funds");
    ck_assert_str_eq(ev.failure_message, "Your card has insufficient funds.");
    ck_assert_ptr_null(ev.order_id);
}
END_TEST

START_TEST(test_stripe_event_charge_refunded_links_the_intent)
{
    cs_stripe_event_t ev;

    ck_assert_int_eq(event(EV_REFUNDED, &ev, NULL), APR_SUCCESS);
    ck_assert_int_eq(ev.kind, CS_STRIPE_EV_CHARGE_REFUNDED);
    ck_assert_str_eq(ev.object_type, "charge");
    ck_assert_str_eq(ev.object_id, "ch_3Ab");
    ck_assert_str_eq(ev.charge, "ch_3Ab");
    ck_assert_str_eq(ev.payment_intent, "pi_3Ab");
    ck_assert_int_eq(ev.amount, 1250);
    ck_assert_int_eq(ev.amount_refunded, 250);
    ck_assert_str_eq(ev.order_id, "42");
}
END_TEST

START_TEST(test_stripe_event_dispute_created)
{
    cs_stripe_event_t ev;

    ck_assert_int_eq(event(EV_DISPUTE, &ev, NULL), APR_SUCCESS);
    ck_assert_int_eq(ev.kind, CS_STRIPE_EV_DISPUTE_CREATED);
    ck_assert_str_eq(ev.object_type, "dispute");
    ck_assert_str_eq(ev.object_id, "dp_1");
    ck_assert_str_eq(ev.charge, "ch_3Ab");
    ck_assert_str_eq(ev.payment_intent, "pi_3Ab");
    ck_assert_int_eq(ev.amount, 1000);
    ck_assert_str_eq(ev.status, "needs_response");
    ck_assert_str_eq(ev.failure_code, "fraudulent");
    ck_assert_ptr_null(ev.order_id);
}
END_TEST

START_TEST(test_stripe_event_other_types_parse_to_type_only)
{
    cs_stripe_event_t ev;
    const char *body = EV_HEAD("evt_9", "customer.created")
                       "{\"id\":\"cus_1\",\"object\":\"customer\"}}}";
    const char *thin = "{\"id\":\"evt_10\",\"type\":\"refund.created\",\"created\":5}";

    ck_assert_int_eq(event(body, &ev, NULL), APR_SUCCESS);
    ck_assert_int_eq(ev.kind, CS_STRIPE_EV_OTHER);
    ck_assert_str_eq(ev.id, "evt_9");
    ck_assert_str_eq(ev.type, "customer.created");
    ck_assert_ptr_null(ev.object_id);
    ck_assert_ptr_null(ev.payment_intent);
    ck_assert_int_eq(ev.amount, 0);
    ck_assert_int_eq(event(thin, &ev, NULL), APR_SUCCESS);
    ck_assert_str_eq(ev.type, "refund.created");
    ck_assert_int_eq(ev.created, 5);
}
END_TEST

START_TEST(test_stripe_event_malformed_is_refused_with_what_was_found)
{
    cs_stripe_event_t ev;
    const char *why;
    static const char *not_events[] = {
        "", "[]", "null", "{", "{\"type\":\"payment_intent.succeeded\"}",
        "{\"id\":\"evt_1\"}", "{\"id\":\"\",\"type\":\"x\"}", "{\"id\":7,\"type\":\"x\"}",
        "{\"id\":\"evt_1\",\"type\":\"x\",\"object\":\"v2.core.event\"}",
    };
    size_t i;

    for (i = 0; i < sizeof(not_events) / sizeof(not_events[0]); i++) {
        why = NULL;
        ck_assert_msg(cs_stripe_parse_event(unit_pool, not_events[i], strlen(not_events[i]),
                                            &ev, &why) == APR_EINVAL, "%s", not_events[i]);
        ck_assert_ptr_nonnull(why);
        ck_assert_ptr_null(ev.id);
    }
    /* A known type whose object is not what that type carries. */
    ck_assert_int_eq(event(EV_HEAD("evt_5", "payment_intent.succeeded")
                           "{\"id\":\"ch_1\",\"object\":\"charge\",\"amount\":1}}}", &ev, &why),
                     APR_EINVAL);
    ck_assert_str_eq(ev.id, "evt_5");
    ck_assert_int_eq(ev.kind, CS_STRIPE_EV_INTENT_SUCCEEDED);
    ck_assert_str_eq(why, "payment_intent.succeeded without a payment_intent in data.object");
    ck_assert_int_eq(event(EV_HEAD("evt_6", "payment_intent.succeeded") "null}}", &ev, &why),
                     APR_EINVAL);
    ck_assert_int_eq(event(EV_HEAD("evt_7", "charge.refunded")
                           "{\"id\":\"ch_1\",\"object\":\"charge\",\"amount\":1,"
                           "\"payment_intent\":null}}}", &ev, &why), APR_EINVAL);
    ck_assert_str_eq(why, "charge.refunded: the charge is not linked to a PaymentIntent");
    ck_assert_ptr_null(ev.payment_intent);
    ck_assert_int_eq(event(EV_HEAD("evt_8", "charge.dispute.created")
                           "{\"id\":\"dp_1\",\"object\":\"dispute\",\"amount\":\"1\","
                           "\"payment_intent\":\"pi_1\"}}}", &ev, &why), APR_EINVAL);
    ck_assert_str_eq(why, "charge.dispute.created: data.object has no integer amount");
    ck_assert_int_eq(event(EV_HEAD("evt_9", "charge.refunded")
                           "{\"id\":\"\",\"object\":\"charge\",\"amount\":1,"
                           "\"payment_intent\":\"pi_1\"}}}", &ev, &why), APR_EINVAL);
}
END_TEST

/* ---- against the fake ----------------------------------------------------------- */

static unit_fake_t fake;

static void fake_start(void)
{
    unit_fake_start(&fake, "tests/fakes/fake_stripe.py");
}

static void fake_stop(void)
{
    unit_fake_stop(&fake);
}

static cs_http_resp_t *control(const char *path, const char *json)
{
    cs_http_req_t req = { 0 };
    cs_http_resp_t *resp = NULL;
    const char *err = NULL;

    req.method = json ? "POST" : "GET";
    req.url = apr_pstrcat(unit_pool, fake.base, path, NULL);
    req.body = json;
    req.content_type = json ? "application/json" : NULL;
    ck_assert_msg(cs_http_perform(&resp, unit_pool, &req, &err) == APR_SUCCESS, "%s: %s",
                  path, err ? err : "?");
    ck_assert_msg(resp->status == 200, "%s: HTTP %ld %s", path, resp->status, resp->body);
    return resp;
}

static void round_setup(void)
{
    unit_pool_setup();
    cs_http_global_init();
    control("/_control/reset", "{}");
}

static cs_stripe_account_t fake_account(void)
{
    cs_stripe_account_t a = { NULL, "sk_test_unit", NULL, apr_time_from_sec(5) };

    a.api_base = apr_pstrdup(unit_pool, fake.base);
    return a;
}

/* Build-send-read for a PaymentIntent, as the module's job does. */
static apr_status_t send_intent(const cs_http_req_t *req, cs_stripe_intent_t *pi,
                                cs_stripe_error_t *e)
{
    cs_http_resp_t *resp = NULL;
    const char *err = NULL;
    apr_status_t rv = cs_http_perform(&resp, unit_pool, req, &err);

    if (rv != APR_SUCCESS) {
        memset(pi, 0, sizeof(*pi));
        cs_stripe_transport_error(unit_pool, rv, err, e);
        return rv;
    }
    return cs_stripe_parse_intent(unit_pool, resp->status, resp->headers, resp->body,
                                  resp->len, pi, e);
}

static apr_status_t create(const char *order_id, apr_int64_t amount, const char *key,
                           cs_stripe_intent_t *pi, cs_stripe_error_t *e)
{
    cs_stripe_account_t a = fake_account();
    cs_stripe_intent_req_t in = { 0 };
    cs_http_req_t req;

    in.amount = amount;
    in.currency = "usd";
    in.order_id = order_id;
    in.description = apr_pstrcat(unit_pool, "Order ", order_id, NULL);
    in.idempotency_key = key;
    ck_assert_int_eq(cs_stripe_build_create_intent(&req, unit_pool, &a, &in, NULL),
                     APR_SUCCESS);
    return send_intent(&req, pi, e);
}

/* What Stripe.js does in the customer's browser: confirm with a card. */
static apr_status_t confirm(const char *pi_id, const char *form, cs_stripe_intent_t *pi,
                            cs_stripe_error_t *e)
{
    cs_stripe_account_t a = fake_account();
    cs_http_req_t req;

    ck_assert_int_eq(cs_stripe_build_retrieve_intent(&req, unit_pool, &a, pi_id), APR_SUCCESS);
    req.method = "POST";
    req.url = apr_pstrcat(unit_pool, req.url, "/confirm", NULL);
    req.body = form;
    req.content_type = "application/x-www-form-urlencoded";
    return send_intent(&req, pi, e);
}

static apr_status_t retrieve(const char *pi_id, cs_stripe_intent_t *pi)
{
    cs_stripe_account_t a = fake_account();
    cs_stripe_error_t e;
    cs_http_req_t req;

    ck_assert_int_eq(cs_stripe_build_retrieve_intent(&req, unit_pool, &a, pi_id), APR_SUCCESS);
    return send_intent(&req, pi, &e);
}

static apr_status_t refund(const char *pi_id, apr_int64_t amount, const char *key,
                           cs_stripe_refund_t *r, cs_stripe_error_t *e)
{
    cs_stripe_account_t a = fake_account();
    cs_stripe_refund_req_t in = { 0 };
    cs_http_req_t req;
    cs_http_resp_t *resp = NULL;
    const char *err = NULL;

    in.payment_intent = pi_id;
    in.amount = amount;
    in.order_id = "7";
    in.idempotency_key = key;
    ck_assert_int_eq(cs_stripe_build_refund(&req, unit_pool, &a, &in, NULL), APR_SUCCESS);
    ck_assert_int_eq(cs_http_perform(&resp, unit_pool, &req, &err), APR_SUCCESS);
    return cs_stripe_parse_refund(unit_pool, resp->status, resp->headers, resp->body,
                                  resp->len, r, e);
}

static int intents_at_the_fake(void)
{
    cs_http_resp_t *resp = control("/_control/intents", NULL);
    cs_json_t *doc = NULL;
    const char *err = NULL;

    ck_assert_int_eq(cs_json_parse(&doc, unit_pool, resp->body, resp->len, &err), APR_SUCCESS);
    return (int)cs_jlen(cs_json_raw(doc));
}

/* ---- a webhook endpoint of our own: one loopback socket -------------------------- */

typedef struct {
    int fd;
    int port;
} listener_t;

static void listener_open(listener_t *l)
{
    struct sockaddr_in sa;
    socklen_t n = sizeof(sa);
    int one = 1;

    l->fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(l->fd, 0);
    setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(l->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(l->fd, 16), 0);
    ck_assert_int_eq(getsockname(l->fd, (struct sockaddr *)&sa, &n), 0);
    l->port = ntohs(sa.sin_port);
}

static void listener_close(listener_t *l)
{
    if (l->fd >= 0) {
        close(l->fd);
        l->fd = -1;
    }
}

/* One delivery: the value of its Stripe-Signature and its raw body. */
typedef struct {
    const char *signature;
    const char *body;
    apr_size_t len;
} delivery_t;

/* A header's value in the header block @p head (NUL-terminated), or NULL. */
static const char *header_value(const char *head, const char *name)
{
    apr_size_t nl = strlen(name);
    const char *line = strstr(head, "\r\n");

    while (line && line[2]) {
        line += 2;
        if (!strncasecmp(line, name, nl) && line[nl] == ':') {
            const char *v = line + nl + 1, *end = strstr(v, "\r\n");
            while (*v == ' ') {
                v++;
            }
            return apr_pstrmemdup(unit_pool, v, end ? (apr_size_t)(end - v) : strlen(v));
        }
        line = strstr(line, "\r\n");
    }
    return NULL;
}

/* Accept one POST within 10 s, read it whole, answer 200. */
static int listener_take(listener_t *l, delivery_t *d)
{
    struct pollfd pfd = { l->fd, POLLIN, 0 };
    char *buf;
    apr_size_t cap = 1 << 20, got = 0, head_len = 0, want = 0;
    int c;
    const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

    if (poll(&pfd, 1, 10000) != 1) {
        return 0;
    }
    c = accept(l->fd, NULL, NULL);
    ck_assert_int_ge(c, 0);
    buf = apr_palloc(unit_pool, cap + 1);
    for (;;) {
        struct pollfd cp = { c, POLLIN, 0 };
        ssize_t n;

        ck_assert_msg(poll(&cp, 1, 10000) == 1, "the delivery stalled");
        n = read(c, buf + got, cap - got);
        ck_assert_int_gt(n, 0);
        got += (apr_size_t)n;
        buf[got] = '\0';
        if (!head_len) {
            char *end = strstr(buf, "\r\n\r\n");
            if (end) {
                const char *cl;
                head_len = (apr_size_t)(end - buf) + 4;
                *end = '\0';
                cl = header_value(buf, "Content-Length");
                d->signature = header_value(buf, "Stripe-Signature");
                ck_assert_ptr_nonnull(cl);
                want = (apr_size_t)apr_atoi64(cl);
                *end = '\r';
            }
        }
        if (head_len && got >= head_len + want) {
            break;
        }
    }
    d->body = apr_pstrmemdup(unit_pool, buf + head_len, want);
    d->len = want;
    ck_assert_int_eq(write(c, ok, strlen(ok)), (ssize_t)strlen(ok));
    close(c);
    return 1;
}

/* Point the fake's webhooks at @p l, signed with @p secrets_json, for the
 * four types we act on (an endpoint's enabled_events). */
static void webhooks_to(listener_t *l, const char *secrets_json)
{
    control("/_control/webhook_target",
            apr_psprintf(unit_pool, "{\"url\":\"http://127.0.0.1:%d/stripe/webhook\","
                         "\"secrets\":%s,\"types\":[\"payment_intent.succeeded\","
                         "\"payment_intent.payment_failed\",\"charge.refunded\","
                         "\"charge.dispute.created\"]}", l->port, secrets_json));
}

/* The next delivery, verified with @p secret and parsed. */
static void take_event(listener_t *l, const char *secret, cs_stripe_event_t *ev)
{
    delivery_t d = { 0 };
    const char *const secrets[] = { "whsec_not_this_one", secret };
    const char *why = NULL;

    ck_assert_msg(listener_take(l, &d), "no webhook arrived within 10 s");
    ck_assert_ptr_nonnull(d.signature);
    ck_assert_int_eq(cs_stripe_verify_signature(unit_pool, d.signature, d.body, d.len, secrets,
                                                2, 0, apr_time_now()), CS_STRIPE_SIG_OK);
    ck_assert_msg(cs_stripe_parse_event(unit_pool, d.body, d.len, ev, &why) == APR_SUCCESS,
                  "%s", why);
}

START_TEST(test_stripe_fake_one_intent_per_idempotency_key)
{
    cs_stripe_intent_t a, b, c;
    cs_stripe_error_t e;

    ck_assert_int_eq(create("7", 1250, "order-7-pi-1", &a, &e), APR_SUCCESS);
    ck_assert_str_eq(a.status, "requires_payment_method");
    ck_assert_int_eq(a.amount, 1250);
    ck_assert_str_eq(a.currency, "usd");
    ck_assert_str_eq(a.order_id, "7");
    ck_assert_ptr_nonnull(a.client_secret);
    ck_assert(strncmp(a.id, "pi_", 3) == 0);
    ck_assert_int_eq(create("7", 1250, "order-7-pi-1", &b, &e), APR_SUCCESS);
    ck_assert_str_eq(b.id, a.id);
    ck_assert_str_eq(b.client_secret, a.client_secret);
    ck_assert_int_eq(intents_at_the_fake(), 1);

    /* The order changed but the key did not: refused, and never retried. */
    ck_assert_int_eq(create("7", 1300, "order-7-pi-1", &c, &e), APR_EGENERAL);
    ck_assert_int_eq(e.kind, CS_STRIPE_ERR_IDEMPOTENCY);
    ck_assert_int_eq(e.status, 400);
    ck_assert_int_eq(e.retry, 0);
    ck_assert_ptr_nonnull(e.request_id);
    ck_assert_int_eq(create("7", 1300, "order-7-pi-2", &c, &e), APR_SUCCESS);
    ck_assert_str_ne(c.id, a.id);
    ck_assert_int_eq(intents_at_the_fake(), 2);

    /* What went over the wire. */
    {
        cs_http_resp_t *resp = control("/_control/requests", NULL);
        ck_assert_ptr_nonnull(strstr(resp->body, "\"idempotency-key\": \"order-7-pi-1\""));
        ck_assert_ptr_nonnull(strstr(resp->body, "\"stripe-version\": \""
                                                 CS_STRIPE_API_VERSION "\""));
        ck_assert_ptr_nonnull(strstr(resp->body, "\"authorization\": \"Bearer sk_test_unit\""));
        ck_assert_ptr_nonnull(strstr(resp->body, "\"body\": \"amount=1250&currency=usd&"
                                                 "automatic_payment_methods[enabled]=true&"
                                                 "description=Order%207&"
                                                 "metadata[order_id]=7\""));
    }
}
END_TEST

START_TEST(test_stripe_fake_lost_answer_is_retried_safely)
{
    cs_stripe_intent_t a, b;
    cs_stripe_error_t e;

    /* Stripe made the intent but the answer never came. */
    control("/_control/state", "{\"fail\":{\"status\":0,\"times\":1,"
                               "\"path\":\"/v1/payment_intents\",\"after\":true}}");
    ck_assert_int_ne(create("8", 2000, "order-8-pi-1", &a, &e), APR_SUCCESS);
    ck_assert_int_eq(e.kind, CS_STRIPE_ERR_TRANSPORT);
    ck_assert_int_eq(e.retry, 1);
    ck_assert_int_eq(intents_at_the_fake(), 1);
    ck_assert_int_eq(create("8", 2000, "order-8-pi-1", &b, &e), APR_SUCCESS);
    ck_assert_int_eq(intents_at_the_fake(), 1);
    ck_assert_str_eq(b.order_id, "8");

    /* Stripe down before doing anything, then up. */
    control("/_control/state", "{\"fail\":{\"status\":503,\"times\":1}}");
    ck_assert_int_eq(create("9", 2000, "order-9-pi-1", &a, &e), APR_EGENERAL);
    ck_assert_int_eq(e.kind, CS_STRIPE_ERR_UNAVAILABLE);
    ck_assert_int_eq(e.retry, 1);
    ck_assert_int_eq(create("9", 2000, "order-9-pi-1", &a, &e), APR_SUCCESS);
    /* Rate limited, and a conflict with our own key in flight. */
    control("/_control/state", "{\"fail\":{\"status\":429,\"times\":1}}");
    ck_assert_int_eq(create("10", 2000, "order-10-pi-1", &a, &e), APR_EGENERAL);
    ck_assert_int_eq(e.kind, CS_STRIPE_ERR_RATE_LIMIT);
    ck_assert_int_eq(e.retry, 1);
    control("/_control/state", "{\"fail\":{\"status\":409,\"times\":1}}");
    ck_assert_int_eq(create("10", 2000, "order-10-pi-1", &a, &e), APR_EGENERAL);
    ck_assert_int_eq(e.kind, CS_STRIPE_ERR_CONFLICT);
    ck_assert_int_eq(e.retry, 1);
    /* Stripe says the same request would only replay: do not. */
    control("/_control/state", "{\"fail\":{\"status\":500,\"times\":1,"
                               "\"headers\":{\"Stripe-Should-Retry\":\"false\"}}}");
    ck_assert_int_eq(create("10", 2000, "order-10-pi-1", &a, &e), APR_EGENERAL);
    ck_assert_int_eq(e.kind, CS_STRIPE_ERR_UNAVAILABLE);
    ck_assert_int_eq(e.retry, 0);
    ck_assert_int_eq(create("10", 2000, "order-10-pi-1", &a, &e), APR_SUCCESS);
    ck_assert_int_eq(intents_at_the_fake(), 3);
}
END_TEST

START_TEST(test_stripe_fake_card_4242_succeeds_with_a_signed_webhook)
{
    listener_t l = { -1, 0 };
    cs_stripe_intent_t pi, done, again;
    cs_stripe_error_t e;
    cs_stripe_event_t ev;

    listener_open(&l);
    webhooks_to(&l, "[\"whsec_unit_one\"]");
    ck_assert_int_eq(create("7", 1250, "order-7-pi-1", &pi, &e), APR_SUCCESS);
    ck_assert_int_eq(confirm(pi.id, "payment_method_data[type]=card&"
                             "payment_method_data[card][number]=4242424242424242", &done, &e),
                     APR_SUCCESS);
    ck_assert_str_eq(done.status, "succeeded");
    ck_assert_int_eq(done.amount_received, 1250);
    ck_assert_ptr_nonnull(done.latest_charge);

    take_event(&l, "whsec_unit_one", &ev);
    ck_assert_int_eq(ev.kind, CS_STRIPE_EV_INTENT_SUCCEEDED);
    ck_assert_str_eq(ev.payment_intent, pi.id);
    ck_assert_str_eq(ev.order_id, "7");
    ck_assert_int_eq(ev.amount, 1250);
    ck_assert_int_eq(ev.amount_received, 1250);
    ck_assert_str_eq(ev.charge, done.latest_charge);
    ck_assert(strncmp(ev.id, "evt_", 4) == 0);

    ck_assert_int_eq(retrieve(pi.id, &again), APR_SUCCESS);
    ck_assert_str_eq(again.status, "succeeded");
    /* Confirming twice is the intent's state error, not a retry. */
    ck_assert_int_eq(confirm(pi.id, "payment_method=pm_card_visa", &again, &e), APR_EGENERAL);
    ck_assert_int_eq(e.kind, CS_STRIPE_ERR_INVALID);
    ck_assert_str_eq(e.code, "payment_intent_unexpected_state");
    listener_close(&l);
}
END_TEST

START_TEST(test_stripe_fake_declined_card_fails_with_a_signed_webhook)
{
    listener_t l = { -1, 0 };
    cs_stripe_intent_t pi, after;
    cs_stripe_error_t e;
    cs_stripe_event_t ev;

    listener_open(&l);
    webhooks_to(&l, "[\"whsec_unit_one\"]");
    ck_assert_int_eq(create("11", 900, "order-11-pi-1", &pi, &e), APR_SUCCESS);
    ck_assert_int_eq(confirm(pi.id, "payment_method_data[type]=card&"
                             "payment_method_data[card][number]=4000000000000002", &after, &e),
                     APR_EGENERAL);
    ck_assert_int_eq(e.kind, CS_STRIPE_ERR_CARD);
    ck_assert_int_eq(e.status, 402);
    ck_assert_int_eq(e.retry, 0);
    ck_assert_str_eq(e.code, "card_declined");
    ck_assert_str_eq(e.decline_code, "generic_decline");
    ck_assert_str_eq(e.message, "Your card was declined.");
    ck_assert_str_eq(e.payment_intent, pi.id);

    ck_assert_int_eq(retrieve(pi.id, &after), APR_SUCCESS);
    ck_assert_str_eq(after.status, "requires_payment_method");
    ck_assert_str_eq(after.error_code, "card_declined");
    ck_assert_str_eq(after.error_decline_code, "generic_decline");
    ck_assert_int_eq(after.amount_received, 0);

    take_event(&l, "whsec_unit_one", &ev);
    ck_assert_int_eq(ev.kind, CS_STRIPE_EV_INTENT_FAILED);
    ck_assert_str_eq(ev.payment_intent, pi.id);
    ck_assert_str_eq(ev.failure_code, "generic_decline");
    ck_assert_str_eq(ev.failure_message, "Your card was declined.");
    ck_assert_str_eq(ev.order_id, "11");

    /* The customer tries another card. */
    ck_assert_int_eq(confirm(pi.id, "payment_method=pm_card_visa", &after, &e), APR_SUCCESS);
    ck_assert_str_eq(after.status, "succeeded");
    take_event(&l, "whsec_unit_one", &ev);
    ck_assert_int_eq(ev.kind, CS_STRIPE_EV_INTENT_SUCCEEDED);
    listener_close(&l);
}
END_TEST

START_TEST(test_stripe_fake_refunds_and_dispute_with_rotated_secrets)
{
    listener_t l = { -1, 0 };
    cs_stripe_intent_t pi, done;
    cs_stripe_refund_t r, r2;
    cs_stripe_error_t e;
    cs_stripe_event_t ev;

    listener_open(&l);
    ck_assert_int_eq(create("7", 1250, "order-7-pi-1", &pi, &e), APR_SUCCESS);
    ck_assert_int_eq(confirm(pi.id, "payment_method=pm_card_visa", &done, &e), APR_SUCCESS);
    /* Rolling the secret: Stripe signs with both; either one verifies. */
    webhooks_to(&l, "[\"whsec_unit_old\",\"whsec_unit_new\"]");

    ck_assert_int_eq(refund(pi.id, 250, "refund-1", &r, &e), APR_SUCCESS);
    ck_assert_str_eq(r.status, "succeeded");
    ck_assert_int_eq(r.amount, 250);
    ck_assert_str_eq(r.payment_intent, pi.id);
    ck_assert_str_eq(r.order_id, "7");
    take_event(&l, "whsec_unit_new", &ev);
    ck_assert_int_eq(ev.kind, CS_STRIPE_EV_CHARGE_REFUNDED);
    ck_assert_str_eq(ev.payment_intent, pi.id);
    ck_assert_str_eq(ev.charge, done.latest_charge);
    ck_assert_int_eq(ev.amount, 1250);
    ck_assert_int_eq(ev.amount_refunded, 250);

    /* The same refund again is the same refund, and no new event. */
    ck_assert_int_eq(refund(pi.id, 250, "refund-1", &r2, &e), APR_SUCCESS);
    ck_assert_str_eq(r2.id, r.id);
    /* The rest, then nothing is left. */
    ck_assert_int_eq(refund(pi.id, 0, "refund-2", &r2, &e), APR_SUCCESS);
    ck_assert_int_eq(r2.amount, 1000);
    take_event(&l, "whsec_unit_old", &ev);
    ck_assert_int_eq(ev.kind, CS_STRIPE_EV_CHARGE_REFUNDED);
    ck_assert_int_eq(ev.amount_refunded, 1250);
    ck_assert_int_eq(refund(pi.id, 0, "refund-3", &r2, &e), APR_EGENERAL);
    ck_assert_int_eq(e.kind, CS_STRIPE_ERR_INVALID);
    ck_assert_str_eq(e.code, "charge_already_refunded");

    /* A dispute on another order's charge. */
    ck_assert_int_eq(create("12", 4000, "order-12-pi-1", &pi, &e), APR_SUCCESS);
    ck_assert_int_eq(confirm(pi.id, "payment_method=pm_card_visa", &done, &e), APR_SUCCESS);
    take_event(&l, "whsec_unit_new", &ev);
    ck_assert_int_eq(ev.kind, CS_STRIPE_EV_INTENT_SUCCEEDED);
    control("/_control/dispute", apr_psprintf(unit_pool, "{\"payment_intent\":\"%s\","
                                              "\"reason\":\"product_not_received\"}", pi.id));
    take_event(&l, "whsec_unit_new", &ev);
    ck_assert_int_eq(ev.kind, CS_STRIPE_EV_DISPUTE_CREATED);
    ck_assert_str_eq(ev.payment_intent, pi.id);
    ck_assert_str_eq(ev.charge, done.latest_charge);
    ck_assert_int_eq(ev.amount, 4000);
    ck_assert_str_eq(ev.failure_code, "product_not_received");
    listener_close(&l);
}
END_TEST

START_TEST(test_stripe_fake_webhook_under_another_secret_does_not_verify)
{
    listener_t l = { -1, 0 };
    cs_stripe_intent_t pi, done;
    cs_stripe_error_t e;
    delivery_t d = { 0 };
    const char *const ours[] = { "whsec_unit_ours" };

    listener_open(&l);
    webhooks_to(&l, "[\"whsec_someone_else\"]");
    ck_assert_int_eq(create("13", 700, "order-13-pi-1", &pi, &e), APR_SUCCESS);
    ck_assert_int_eq(confirm(pi.id, "payment_method=pm_card_visa", &done, &e), APR_SUCCESS);
    ck_assert(listener_take(&l, &d));
    ck_assert_int_eq(cs_stripe_verify_signature(unit_pool, d.signature, d.body, d.len, ours, 1,
                                                0, apr_time_now()), CS_STRIPE_SIG_NO_MATCH);
    /* Received late: authentic but stale. */
    {
        const char *const theirs[] = { "whsec_someone_else" };
        ck_assert_int_eq(cs_stripe_verify_signature(unit_pool, d.signature, d.body, d.len,
                                                    theirs, 1, 0, apr_time_now()
                                                    + apr_time_from_sec(301)),
                         CS_STRIPE_SIG_STALE);
    }
    listener_close(&l);
}
END_TEST

Suite *stripe_suite(void)
{
    Suite *s = suite_create("stripe");
    TCase *tc;

    tc = tcase_create("signature");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_stripe_signature_valid_vector_is_accepted);
    tcase_add_test(tc, test_stripe_signature_rotated_secret_second_matches);
    tcase_add_test(tc, test_stripe_signature_any_v1_may_match);
    tcase_add_test(tc, test_stripe_signature_v0_and_other_schemes_are_ignored);
    tcase_add_test(tc, test_stripe_signature_stale_by_301_seconds_is_refused);
    tcase_add_test(tc, test_stripe_signature_future_timestamp_is_accepted);
    tcase_add_test(tc, test_stripe_signature_tampered_body_or_time_is_refused);
    tcase_add_test(tc, test_stripe_signature_secret_is_used_as_is);
    tcase_add_test(tc, test_stripe_signature_malformed_headers_are_refused);
    suite_add_tcase(s, tc);

    tc = tcase_create("requests");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_stripe_create_intent_body_is_exact);
    tcase_add_test(tc, test_stripe_create_intent_refuses_what_stripe_would);
    tcase_add_test(tc, test_stripe_retrieve_intent_url);
    tcase_add_test(tc, test_stripe_cancel_intent_is_keyed_by_the_intent);
    tcase_add_test(tc, test_stripe_refund_bodies_full_and_partial);
    suite_add_tcase(s, tc);

    tc = tcase_create("answers");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_stripe_intent_answers_are_read);
    tcase_add_test(tc, test_stripe_intent_unreadable_2xx_is_not_a_success);
    tcase_add_test(tc, test_stripe_refund_answers_are_read);
    tcase_add_test(tc, test_stripe_errors_are_sorted_by_what_a_retry_can_do);
    tcase_add_test(tc, test_stripe_should_retry_header_overrides_the_status);
    tcase_add_test(tc, test_stripe_error_why_is_one_line_with_the_request_id);
    tcase_add_test(tc, test_stripe_transport_failures_retry_with_the_same_key);
    suite_add_tcase(s, tc);

    tc = tcase_create("events");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_stripe_event_payment_intent_succeeded);
    tcase_add_test(tc, test_stripe_event_payment_failed_says_why);
    tcase_add_test(tc, test_stripe_event_charge_refunded_links_the_intent);
    tcase_add_test(tc, test_stripe_event_dispute_created);
    tcase_add_test(tc, test_stripe_event_other_types_parse_to_type_only);
    tcase_add_test(tc, test_stripe_event_malformed_is_refused_with_what_was_found);
    suite_add_tcase(s, tc);

    /* One fake for the TCase (an unchecked fixture, in the runner's own
     * process); each test resets it. */
    tc = tcase_create("fake");
    tcase_add_unchecked_fixture(tc, fake_start, fake_stop);
    tcase_add_checked_fixture(tc, round_setup, unit_pool_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_stripe_fake_one_intent_per_idempotency_key);
    tcase_add_test(tc, test_stripe_fake_lost_answer_is_retried_safely);
    tcase_add_test(tc, test_stripe_fake_card_4242_succeeds_with_a_signed_webhook);
    tcase_add_test(tc, test_stripe_fake_declined_card_fails_with_a_signed_webhook);
    tcase_add_test(tc, test_stripe_fake_refunds_and_dispute_with_rotated_secrets);
    tcase_add_test(tc, test_stripe_fake_webhook_under_another_secret_does_not_verify);
    suite_add_tcase(s, tc);
    return s;
}
