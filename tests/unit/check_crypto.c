/* cs_crypto: the digests, MACs and encodings every signature check relies
 * on, against published vectors (FIPS 180-2, RFC 4231, RFC 2202, RFC 4648,
 * Twilio's documented signature example). */
#include "unit.h"
#include "base/cs_crypto.h"

#include <string.h>

static const char *hex_of(const unsigned char *md, apr_size_t n)
{
    char *out = apr_palloc(unit_pool, 2 * n + 1);
    cs_hex_encode(out, md, n);
    return out;
}

START_TEST(test_sha256_matches_fips_180_2)
{
    ck_assert_str_eq(cs_sha256_hex(unit_pool, "abc", 3),
                     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ck_assert_str_eq(cs_sha256_hex(unit_pool, "", 0),
                     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
END_TEST

START_TEST(test_hmac_sha256_matches_rfc_4231)
{
    unsigned char key[20], md[CS_SHA256_LEN];

    memset(key, 0x0b, sizeof(key));
    ck_assert_int_eq(cs_hmac_sha256(md, key, sizeof(key), "Hi There", 8), APR_SUCCESS);
    ck_assert_str_eq(hex_of(md, sizeof(md)),
                     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    ck_assert_int_eq(cs_hmac_sha256(md, "Jefe", 4, "what do ya want for nothing?", 28),
                     APR_SUCCESS);
    ck_assert_str_eq(hex_of(md, sizeof(md)),
                     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}
END_TEST

START_TEST(test_hmac_sha1_matches_rfc_2202)
{
    unsigned char md[CS_SHA1_LEN];

    ck_assert_int_eq(cs_hmac_sha1(md, "Jefe", 4, "what do ya want for nothing?", 28),
                     APR_SUCCESS);
    ck_assert_str_eq(hex_of(md, sizeof(md)), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
}
END_TEST

START_TEST(test_twilio_documented_example_signs_as_published)
{
    /* Twilio's security docs: URL + sorted name/value pairs, token 12345. */
    const char *msg = "https://mycompany.com/myapp.php?foo=1&bar=2"
                      "CallSidCA1234567890ABCDECaller+12349013030Digits1234"
                      "From+12349013030To+18005551212";
    unsigned char md[CS_SHA1_LEN];

    ck_assert_int_eq(cs_hmac_sha1(md, "12345", 5, msg, strlen(msg)), APR_SUCCESS);
    ck_assert_str_eq(cs_base64_encode(unit_pool, md, sizeof(md)),
                     "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
}
END_TEST

START_TEST(test_stripe_style_timestamped_hmac_is_lowercase_hex)
{
    /* Stripe signs "t.body" with the whsec_ secret as-is; the expected
     * value was computed apart with python's hmac module. */
    const char *msg = "1492774577.{\"id\":\"evt_test\",\"object\":\"event\"}";
    unsigned char md[CS_SHA256_LEN];

    ck_assert_int_eq(cs_hmac_sha256(md, "whsec_test_secret", 17, msg, strlen(msg)),
                     APR_SUCCESS);
    ck_assert_str_eq(hex_of(md, sizeof(md)),
                     "691252e266ce41cb94d709c84e9580d4172b117a510bbc81723f657d2cd5d215");
}
END_TEST

START_TEST(test_base64_round_trips_rfc_4648_vectors)
{
    static const char *plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
    static const char *enc[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
                                 "Zm9vYmFy" };
    int i;

    for (i = 0; i < 7; i++) {
        unsigned char *out;
        apr_size_t n;
        ck_assert_str_eq(cs_base64_encode(unit_pool, (const unsigned char *)plain[i],
                                          strlen(plain[i])), enc[i]);
        ck_assert_int_eq(cs_base64_decode(&out, &n, unit_pool, enc[i], strlen(enc[i])),
                         APR_SUCCESS);
        ck_assert_uint_eq(n, strlen(plain[i]));
        ck_assert(memcmp(out, plain[i], n) == 0);
    }
}
END_TEST

START_TEST(test_base64_decode_accepts_missing_padding_and_refuses_junk)
{
    unsigned char *out;
    apr_size_t n;

    ck_assert_int_eq(cs_base64_decode(&out, &n, unit_pool, "Zm8", 3), APR_SUCCESS);
    ck_assert_uint_eq(n, 2);
    ck_assert(memcmp(out, "fo", 2) == 0);
    ck_assert_int_eq(cs_base64_decode(&out, &n, unit_pool, "Zm9v YmFy", 9), APR_EINVAL);
    ck_assert_int_eq(cs_base64_decode(&out, &n, unit_pool, "Zg=a", 4), APR_EINVAL);
    ck_assert_int_eq(cs_base64_decode(&out, &n, unit_pool, "Z", 1), APR_EINVAL);
    ck_assert_int_eq(cs_base64_decode(&out, &n, unit_pool, "Zg===", 5), APR_EINVAL);
    ck_assert_ptr_null(out);
}
END_TEST

START_TEST(test_base64url_is_unpadded_with_url_alphabet)
{
    const unsigned char raw[] = { 0xfb, 0xff, 0xbf, 0x01 };
    char out[CS_BASE64URL_LEN(4) + 1];

    cs_base64url_encode(out, raw, sizeof(raw));
    ck_assert_str_eq(out, "-_-_AQ");
}
END_TEST

START_TEST(test_hex_decode_is_case_blind_and_exact_in_length)
{
    unsigned char out[2];

    ck_assert_int_eq(cs_hex_decode(out, 2, "aBcD", 4), APR_SUCCESS);
    ck_assert_uint_eq(out[0], 0xab);
    ck_assert_uint_eq(out[1], 0xcd);
    ck_assert_int_eq(cs_hex_decode(out, 2, "abc", 3), APR_EINVAL);
    ck_assert_int_eq(cs_hex_decode(out, 2, "abcg", 4), APR_EINVAL);
}
END_TEST

START_TEST(test_constant_time_compare_says_equal_only_when_equal)
{
    ck_assert(cs_ct_equal("abcd", "abcd", 4));
    ck_assert(!cs_ct_equal("abcd", "abce", 4));
    ck_assert(cs_ct_streq("sig", "sig"));
    ck_assert(!cs_ct_streq("sig", "sig2"));
    ck_assert(!cs_ct_streq("sig", NULL));
    ck_assert(!cs_ct_streq(NULL, NULL));
}
END_TEST

START_TEST(test_random_bytes_are_not_repeated)
{
    unsigned char a[32], b[32];

    ck_assert_int_eq(cs_random_bytes(a, sizeof(a)), APR_SUCCESS);
    ck_assert_int_eq(cs_random_bytes(b, sizeof(b)), APR_SUCCESS);
    ck_assert(memcmp(a, b, sizeof(a)) != 0);
}
END_TEST

Suite *crypto_suite(void)
{
    Suite *s = suite_create("cs_crypto");
    TCase *tc = tcase_create("crypto");

    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_sha256_matches_fips_180_2);
    tcase_add_test(tc, test_hmac_sha256_matches_rfc_4231);
    tcase_add_test(tc, test_hmac_sha1_matches_rfc_2202);
    tcase_add_test(tc, test_twilio_documented_example_signs_as_published);
    tcase_add_test(tc, test_stripe_style_timestamped_hmac_is_lowercase_hex);
    tcase_add_test(tc, test_base64_round_trips_rfc_4648_vectors);
    tcase_add_test(tc, test_base64_decode_accepts_missing_padding_and_refuses_junk);
    tcase_add_test(tc, test_base64url_is_unpadded_with_url_alphabet);
    tcase_add_test(tc, test_hex_decode_is_case_blind_and_exact_in_length);
    tcase_add_test(tc, test_constant_time_compare_says_equal_only_when_equal);
    tcase_add_test(tc, test_random_bytes_are_not_repeated);
    suite_add_tcase(s, tc);
    return s;
}
