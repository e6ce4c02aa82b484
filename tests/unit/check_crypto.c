/* cs_crypto: the digests, MACs and encodings every signature check relies
 * on, against published vectors (FIPS 180-2, RFC 4231, RFC 2202, RFC 4648,
 * Twilio's documented signature example). */
#include "unit.h"
#include "base/cs_crypto.h"

#include <apr_strings.h>
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

/* ---- AES-256-GCM and sealed secrets ------------------------------------- */

static unsigned char *unhex(const char *hex, apr_size_t *pn)
{
    apr_size_t n = strlen(hex) / 2;
    unsigned char *out = apr_palloc(unit_pool, n + 1);

    ck_assert_int_eq(cs_hex_decode(out, n, hex, strlen(hex)), APR_SUCCESS);
    *pn = n;
    return out;
}

START_TEST(test_aes256gcm_matches_gcm_spec_test_case_16)
{
    /* McGrew and Viega, "The Galois/Counter Mode of Operation", test case
     * 16 (also in NIST's GCM test set): AES-256, 96-bit IV, 20 bytes of
     * associated data, 60 bytes of plaintext (a partial final block). */
    apr_size_t nk, nn, np, na, nc;
    unsigned char *key = unhex("feffe9928665731c6d6a8f9467308308"
                               "feffe9928665731c6d6a8f9467308308", &nk);
    unsigned char *nonce = unhex("cafebabefacedbaddecaf888", &nn);
    unsigned char *plain = unhex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d"
                                 "8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657"
                                 "ba637b39", &np);
    unsigned char *aad = unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2", &na);
    unsigned char *want = unhex("522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd"
                                "2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0a"
                                "bcc9f662", &nc);
    unsigned char ct[60], back[60], tag[CS_GCM_TAG_LEN];

    ck_assert_uint_eq(nk, 32);
    ck_assert_uint_eq(nn, 12);
    ck_assert_uint_eq(np, sizeof(ct));
    ck_assert_int_eq(cs_aes256gcm_encrypt(ct, tag, key, nonce, aad, na, plain, np), APR_SUCCESS);
    ck_assert(memcmp(ct, want, nc) == 0);
    ck_assert_str_eq(hex_of(tag, sizeof(tag)), "76fc6ece0f4e1768cddf8853bb2d551b");
    ck_assert_int_eq(cs_aes256gcm_decrypt(back, key, nonce, aad, na, ct, np, tag), APR_SUCCESS);
    ck_assert(memcmp(back, plain, np) == 0);
    /* One flipped bit of the associated data: refused, and nothing handed out. */
    aad[0] ^= 1;
    ck_assert_int_eq(cs_aes256gcm_decrypt(back, key, nonce, aad, na, ct, np, tag), APR_EACCES);
    ck_assert(memcmp(back, plain, 8) != 0);
}
END_TEST

START_TEST(test_aes256gcm_matches_gcm_spec_test_case_14)
{
    /* Test case 14: the zero key, the zero IV, one block of zeros, no AAD. */
    unsigned char key[32] = { 0 }, nonce[12] = { 0 }, plain[16] = { 0 }, ct[16], tag[16];

    ck_assert_int_eq(cs_aes256gcm_encrypt(ct, tag, key, nonce, NULL, 0, plain, 16), APR_SUCCESS);
    ck_assert_str_eq(hex_of(ct, 16), "cea7403d4d606b6e074ec5d3baf39d18");
    ck_assert_str_eq(hex_of(tag, 16), "d0d1c8a799996bf0265b98b5d48ab919");
}
END_TEST

static apr_array_header_t *keyring_of(int n, const char **ids, const unsigned char *fills)
{
    apr_array_header_t *ring = apr_array_make(unit_pool, n, sizeof(cs_seal_key_t));
    int i;

    for (i = 0; i < n; i++) {
        cs_seal_key_t *k = &APR_ARRAY_PUSH(ring, cs_seal_key_t);
        k->key_id = ids[i];
        memset(k->key, fills[i], sizeof(k->key));
    }
    return ring;
}

START_TEST(test_seal_round_trips_and_names_its_key)
{
    static const char *ids[] = { "k1" };
    static const unsigned char fills[] = { 0x11 };
    apr_array_header_t *ring = keyring_of(1, ids, fills);
    const cs_seal_key_t *k = &APR_ARRAY_IDX(ring, 0, cs_seal_key_t);
    const char *a, *b, *err = "unset";
    unsigned char *plain;
    apr_size_t n;

    a = cs_seal(unit_pool, k->key, "k1", "refresh-token-1", 15);
    b = cs_seal(unit_pool, k->key, "k1", "refresh-token-1", 15);
    ck_assert_ptr_nonnull(a);
    ck_assert(!strncmp(a, "v1.k1.", 6));
    /* a random nonce each time: equal secrets do not seal alike */
    ck_assert_str_ne(a, b);
    /* 12 + 15 + 16 bytes, unpadded base64url */
    ck_assert_uint_eq(strlen(a), 6 + CS_BASE64URL_LEN(43));
    ck_assert(strspn(a + 6, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
              == strlen(a + 6));
    ck_assert_int_eq(cs_open(unit_pool, ring, a, &plain, &n, &err), APR_SUCCESS);
    ck_assert_ptr_null(err);
    ck_assert_uint_eq(n, 15);
    ck_assert_str_eq((const char *)plain, "refresh-token-1");
    ck_assert_str_eq(cs_sealed_key_id(unit_pool, a), "k1");
    /* the empty secret seals too */
    a = cs_seal(unit_pool, k->key, "k1", "", 0);
    ck_assert_int_eq(cs_open(unit_pool, ring, a, &plain, &n, NULL), APR_SUCCESS);
    ck_assert_uint_eq(n, 0);
    ck_assert_str_eq((const char *)plain, "");
}
END_TEST

START_TEST(test_open_reads_a_value_sealed_elsewhere)
{
    /* Made apart with python's cryptography (AESGCM): key bytes 0..31, id
     * "k2024-05" as the AAD, nonce bytes 0..11, "jobber refresh token". */
    static const char *ids[] = { "k2024-05" };
    static const unsigned char fills[] = { 0 };
    apr_array_header_t *ring = keyring_of(1, ids, fills);
    cs_seal_key_t *k = &APR_ARRAY_IDX(ring, 0, cs_seal_key_t);
    unsigned char *plain;
    apr_size_t n;
    int i;

    for (i = 0; i < 32; i++) {
        k->key[i] = (unsigned char)i;
    }
    ck_assert_int_eq(cs_open(unit_pool, ring, "v1.k2024-05.AAECAwQFBgcICQoLLW20eaCX4mnoJ-XuwoFY"
                                              "Gey94lqMix1vyM7eRVfZ62kMNJ_3", &plain, &n, NULL),
                     APR_SUCCESS);
    ck_assert_str_eq((const char *)plain, "jobber refresh token");
}
END_TEST

START_TEST(test_open_refuses_an_unknown_key_id_and_a_wrong_key)
{
    static const char *ids[] = { "k1", "k2" };
    static const unsigned char fills[] = { 0x11, 0x22 };
    apr_array_header_t *ring = keyring_of(2, ids, fills);
    unsigned char other[32], *plain = (unsigned char *)"x";
    const char *s, *err = NULL;
    apr_size_t n = 7;

    memset(other, 0x33, sizeof(other));
    s = cs_seal(unit_pool, other, "k3", "secret", 6);
    ck_assert_int_eq(cs_open(unit_pool, ring, s, &plain, &n, &err), APR_ENOENT);
    ck_assert_ptr_null(plain);
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_nonnull(err);
    /* sealed with another key under a known id: it does not authenticate */
    s = cs_seal(unit_pool, other, "k2", "secret", 6);
    ck_assert_int_eq(cs_open(unit_pool, ring, s, &plain, &n, &err), APR_EACCES);
    ck_assert_ptr_null(plain);
    ck_assert_int_eq(cs_open(unit_pool, NULL, s, &plain, &n, NULL), APR_ENOENT);
}
END_TEST

START_TEST(test_open_refuses_any_tampering)
{
    static const char *ids[] = { "k1", "k2" };
    static const unsigned char fills[] = { 0x11, 0x11 };   /* the same key under two ids */
    apr_array_header_t *ring = keyring_of(2, ids, fills);
    const cs_seal_key_t *k = &APR_ARRAY_IDX(ring, 0, cs_seal_key_t);
    const char *s = cs_seal(unit_pool, k->key, "k1", "access-token-abcdef", 19);
    apr_size_t len = strlen(s), pos[3], i;
    unsigned char *plain;
    apr_size_t n;
    char *t;

    ck_assert_int_eq(cs_open(unit_pool, ring, s, &plain, &n, NULL), APR_SUCCESS);
    /* a character in the nonce, in the ciphertext, in the tag */
    pos[0] = 6 + 2;
    pos[1] = 6 + 20;
    pos[2] = len - 3;
    for (i = 0; i < 3; i++) {
        t = apr_pstrdup(unit_pool, s);
        t[pos[i]] = t[pos[i]] == 'A' ? 'B' : 'A';
        ck_assert_int_eq(cs_open(unit_pool, ring, t, &plain, &n, NULL), APR_EACCES);
        ck_assert_ptr_null(plain);
    }
    /* the key id is the associated data: relabelled to another id whose key
     * is even the same, it no longer authenticates */
    t = apr_pstrcat(unit_pool, "v1.k2.", s + 6, NULL);
    ck_assert_int_eq(cs_open(unit_pool, ring, t, &plain, &n, NULL), APR_EACCES);
    /* truncated: the tag cut short */
    t = apr_pstrndup(unit_pool, s, len - 4);
    ck_assert_int_ne(cs_open(unit_pool, ring, t, &plain, &n, NULL), APR_SUCCESS);
}
END_TEST

START_TEST(test_open_refuses_malformed_values)
{
    static const char *ids[] = { "k1" };
    static const unsigned char fills[] = { 0x11 };
    apr_array_header_t *ring = keyring_of(1, ids, fills);
    static const char *bad[] = {
        "", "v1", "v1.", "v1.k1", "v1.k1.", "v2.k1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "v1..AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "v1.k 1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "v1.k1.AAAA",                                     /* shorter than nonce + tag */
        "v1.k1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",  /* padding */
        "v1.k1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+A",  /* the other alphabet */
        "v1.k1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB", /* stray low bits */
        "v1.k1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.x",
    };
    unsigned char *plain, key[32] = { 0 };
    const char *err;
    apr_size_t n, i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err = NULL;
        ck_assert_msg(cs_open(unit_pool, ring, bad[i], &plain, &n, &err) == APR_EINVAL,
                      "accepted %s", bad[i]);
        ck_assert_ptr_nonnull(err);
        ck_assert_ptr_null(plain);
    }
    ck_assert_int_eq(cs_open(unit_pool, ring, NULL, &plain, &n, NULL), APR_EINVAL);
    ck_assert_ptr_null(cs_sealed_key_id(unit_pool, "v1.k1"));
    /* ids that could not be told apart from the separators are refused */
    ck_assert_ptr_null(cs_seal(unit_pool, key, "a.b", "x", 1));
    ck_assert_ptr_null(cs_seal(unit_pool, key, "", "x", 1));
    ck_assert_ptr_null(cs_seal(unit_pool, key, NULL, "x", 1));
    ck_assert_ptr_null(cs_seal(unit_pool, key, "abcdefghijklmnopqrstuvwxyz0123456", "x", 1));
    ck_assert_ptr_nonnull(cs_seal(unit_pool, key, "abcdefghijklmnopqrstuvwxyz012345", "x", 1));
}
END_TEST

START_TEST(test_rotation_opens_old_and_new_and_tells_which_to_reseal)
{
    static const char *old_ids[] = { "2024a" };
    static const char *new_ids[] = { "2025a", "2024a" };
    static const unsigned char old_fill[] = { 0x41 }, new_fills[] = { 0x42, 0x41 };
    apr_array_header_t *before = keyring_of(1, old_ids, old_fill);
    apr_array_header_t *after = keyring_of(2, new_ids, new_fills);
    apr_array_header_t *retired = keyring_of(1, new_ids, new_fills);
    const cs_seal_key_t *cur = &APR_ARRAY_IDX(after, 0, cs_seal_key_t);
    const char *old_s = cs_seal(unit_pool, APR_ARRAY_IDX(before, 0, cs_seal_key_t).key,
                                "2024a", "tok-old", 7);
    const char *new_s;
    unsigned char *plain;
    apr_size_t n;

    /* after rotation the ring holds the new key first and the old one still */
    ck_assert_int_eq(cs_open(unit_pool, after, old_s, &plain, &n, NULL), APR_SUCCESS);
    ck_assert_str_eq((const char *)plain, "tok-old");
    ck_assert_str_ne(cs_sealed_key_id(unit_pool, old_s), cur->key_id);
    /* re-sealed under the current key, then the old key can go */
    new_s = cs_seal(unit_pool, cur->key, cur->key_id, plain, n);
    ck_assert_int_eq(cs_open(unit_pool, retired, new_s, &plain, &n, NULL), APR_SUCCESS);
    ck_assert_str_eq((const char *)plain, "tok-old");
    ck_assert_int_eq(cs_open(unit_pool, retired, old_s, &plain, &n, NULL), APR_ENOENT);
    ck_assert_int_eq(cs_open(unit_pool, before, new_s, &plain, &n, NULL), APR_ENOENT);
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
    tcase_add_test(tc, test_aes256gcm_matches_gcm_spec_test_case_16);
    tcase_add_test(tc, test_aes256gcm_matches_gcm_spec_test_case_14);
    tcase_add_test(tc, test_seal_round_trips_and_names_its_key);
    tcase_add_test(tc, test_open_reads_a_value_sealed_elsewhere);
    tcase_add_test(tc, test_open_refuses_an_unknown_key_id_and_a_wrong_key);
    tcase_add_test(tc, test_open_refuses_any_tampering);
    tcase_add_test(tc, test_open_refuses_malformed_values);
    tcase_add_test(tc, test_rotation_opens_old_and_new_and_tells_which_to_reseal);
    suite_add_tcase(s, tc);
    return s;
}
