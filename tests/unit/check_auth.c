/* cs_auth: argon2id password hashes, session and CSRF tokens, the login
 * throttle curve. Hashing tests use a small cost (1 MiB, 1 pass) to stay
 * fast; only the ones about the defaults pay for the real cost. */
#include "unit.h"
#include "auth/cs_auth.h"

#include <apr_strings.h>
#include <limits.h>
#include <string.h>

static const cs_argon2_params_t fast = { 1024, 1, 1 };

static const unsigned char secret[] = "server-secret-0123456789abcdef!!";
#define SECRET_LEN (sizeof(secret) - 1)

/* A well-formed encoding with the given cost text, a 16-byte salt and a
 * 32-byte hash (parsed by needs_rehash, never verified). */
static const char *encoding(const char *cost, const char *salt, const char *hash)
{
    return apr_pstrcat(unit_pool, "$argon2id$v=19$", cost, "$",
                       salt ? salt : "c29tZXNhbHRzb21lc2FsdA",
                       "$", hash ? hash : "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                       NULL);
}

static const char *hash_fast(const char *password)
{
    const char *enc = NULL;
    ck_assert_int_eq(cs_password_hash(&enc, unit_pool, password, &fast),
                     APR_SUCCESS);
    ck_assert_ptr_nonnull(enc);
    return enc;
}

/* ---- passwords ---------------------------------------------------------- */

START_TEST(test_hash_then_verify_round_trip)
{
    const char *enc = hash_fast("correct horse battery staple");
    ck_assert_int_eq(cs_password_verify(enc, "correct horse battery staple"), 1);

    enc = hash_fast("p\xc3\xa4ssw\xc3\xb6rd");
    ck_assert_int_eq(cs_password_verify(enc, "p\xc3\xa4ssw\xc3\xb6rd"), 1);
}
END_TEST

START_TEST(test_wrong_password_fails)
{
    const char *enc = hash_fast("hunter22");
    ck_assert_int_eq(cs_password_verify(enc, "hunter23"), 0);
    ck_assert_int_eq(cs_password_verify(enc, "Hunter22"), 0);
    ck_assert_int_eq(cs_password_verify(enc, "hunter2"), 0);
    ck_assert_int_eq(cs_password_verify(enc, "hunter222"), 0);
    ck_assert_int_eq(cs_password_verify(enc, ""), 0);
    ck_assert_int_eq(cs_password_verify(enc, NULL), 0);
}
END_TEST

START_TEST(test_same_password_twice_hashes_differently)
{
    const char *a = hash_fast("same password");
    const char *b = hash_fast("same password");
    ck_assert_str_ne(a, b);
    ck_assert_int_eq(cs_password_verify(a, "same password"), 1);
    ck_assert_int_eq(cs_password_verify(b, "same password"), 1);
}
END_TEST

START_TEST(test_default_params_encode_owasp_cost)
{
    static const char prefix[] = "$argon2id$v=19$m=19456,t=2,p=1$";
    const char *enc = NULL, *salt, *dollar;

    ck_assert_int_eq(cs_password_hash(&enc, unit_pool, "a real one", NULL),
                     APR_SUCCESS);
    ck_assert_int_eq(strncmp(enc, prefix, sizeof(prefix) - 1), 0);
    /* 16-byte salt and 32-byte hash in unpadded base64 */
    salt = enc + sizeof(prefix) - 1;
    dollar = strchr(salt, '$');
    ck_assert_ptr_nonnull(dollar);
    ck_assert_int_eq(dollar - salt, 22);
    ck_assert_uint_eq(strlen(dollar + 1), 43);
    ck_assert_int_eq(cs_password_verify(enc, "a real one"), 1);
    ck_assert_int_eq(cs_password_needs_rehash(enc, NULL), 0);
}
END_TEST

START_TEST(test_given_params_are_encoded)
{
    cs_argon2_params_t two_lanes = { 2048, 3, 2 };
    const char *enc = NULL;

    enc = hash_fast("pw");
    ck_assert_int_eq(strncmp(enc, "$argon2id$v=19$m=1024,t=1,p=1$", 30), 0);
    ck_assert_int_eq(cs_password_hash(&enc, unit_pool, "pw", &two_lanes),
                     APR_SUCCESS);
    ck_assert_int_eq(strncmp(enc, "$argon2id$v=19$m=2048,t=3,p=2$", 30), 0);
    ck_assert_int_eq(cs_password_verify(enc, "pw"), 1);
}
END_TEST

START_TEST(test_needs_rehash_when_weaker_than_current)
{
    cs_argon2_params_t cur = { 19456, 2, 1 };
    const char *weak = hash_fast("pw");

    ck_assert_int_eq(cs_password_needs_rehash(weak, NULL), 1);
    ck_assert_int_eq(cs_password_needs_rehash(weak, &cur), 1);
    ck_assert_int_eq(cs_password_needs_rehash(weak, &fast), 0);

    /* less memory or fewer passes than current */
    ck_assert_int_eq(cs_password_needs_rehash(
        encoding("m=19455,t=2,p=1", NULL, NULL), NULL), 1);
    ck_assert_int_eq(cs_password_needs_rehash(
        encoding("m=19456,t=1,p=1", NULL, NULL), NULL), 1);
    ck_assert_int_eq(cs_password_needs_rehash(
        encoding("m=65536,t=1,p=1", NULL, NULL), NULL), 1);
    /* equal or stronger: keep */
    ck_assert_int_eq(cs_password_needs_rehash(
        encoding("m=19456,t=2,p=1", NULL, NULL), NULL), 0);
    ck_assert_int_eq(cs_password_needs_rehash(
        encoding("m=65536,t=3,p=1", NULL, NULL), NULL), 0);
    /* a lane count alone changes no work */
    ck_assert_int_eq(cs_password_needs_rehash(
        encoding("m=19456,t=2,p=4", NULL, NULL), NULL), 0);
    /* an 8-byte salt, a 16-byte hash */
    ck_assert_int_eq(cs_password_needs_rehash(
        encoding("m=19456,t=2,p=1", "c29tZXNhbHQ", NULL), NULL), 1);
    ck_assert_int_eq(cs_password_needs_rehash(
        encoding("m=19456,t=2,p=1", NULL, "AAAAAAAAAAAAAAAAAAAAAA"), NULL), 1);
    /* raising the current cost makes today's default weak */
    cur.m_cost_kib = 47104;
    ck_assert_int_eq(cs_password_needs_rehash(
        encoding("m=19456,t=2,p=1", NULL, NULL), &cur), 1);
}
END_TEST

START_TEST(test_needs_rehash_of_malformed_is_yes)
{
    ck_assert_int_eq(cs_password_needs_rehash(NULL, NULL), 1);
    ck_assert_int_eq(cs_password_needs_rehash("", NULL), 1);
    ck_assert_int_eq(cs_password_needs_rehash("$2y$10$abcdefghijklmnopqrstuv", NULL), 1);
    ck_assert_int_eq(cs_password_needs_rehash(
        "$argon2i$v=19$m=65536,t=3,p=1$c29tZXNhbHRzb21lc2FsdA"
        "$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL), 1);
}
END_TEST

START_TEST(test_malformed_encoded_verifies_to_zero)
{
    static const char *bad[] = {
        "",
        "plaintext",
        "$argon2id$",
        /* other variants and versions */
        "$argon2i$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$argon2d$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$argon2id$v=16$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$argon2id$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        /* costs out of range: none of these may reach argon2 */
        "$argon2id$v=19$m=0,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$argon2id$v=19$m=4294967295,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$argon2id$v=19$m=99999999999,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$argon2id$v=19$m=1024,t=0,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$argon2id$v=19$m=1024,t=100000,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$argon2id$v=19$m=1024,t=1,p=0$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$argon2id$v=19$m=16,t=1,p=4$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$argon2id$v=19$m=01024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$argon2id$v=19$m=-1,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$argon2id$v=19$t=1,m=1024,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        /* salt and hash: missing, too short, bad characters, padding, tail */
        "$argon2id$v=19$m=1024,t=1,p=1$$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$argon2id$v=19$m=1024,t=1,p=1$c29tZQ$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$",
        "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA",
        "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$AAA",
        "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAA",
        "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-",
        "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA$",
        "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA ",
    };
    const char *good = hash_fast("pw");
    apr_size_t i, n = strlen(good);

    ck_assert_int_eq(cs_password_verify(NULL, "pw"), 0);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(cs_password_verify(bad[i], "pw") == 0,
                      "verified malformed '%s'", bad[i]);
    }
    /* every truncation of a real hash */
    for (i = 0; i < n; i++) {
        const char *cut = apr_pstrmemdup(unit_pool, good, i);
        ck_assert_msg(cs_password_verify(cut, "pw") == 0,
                      "verified truncated '%s'", cut);
    }
    /* a huge string is refused without being taken apart */
    ck_assert_int_eq(cs_password_verify(
        apr_pstrcat(unit_pool, good, unit_repeat(unit_pool, "A", 100000), NULL),
        "pw"), 0);
    ck_assert_int_eq(cs_password_verify(good, "pw"), 1);
}
END_TEST

START_TEST(test_empty_null_and_too_long_passwords_are_rejected)
{
    const char *enc = "unset";
    char *max = unit_repeat(unit_pool, "x", CS_PASSWORD_MAX_LEN);
    char *over = unit_repeat(unit_pool, "x", CS_PASSWORD_MAX_LEN + 1);

    ck_assert_int_eq(cs_password_hash(&enc, unit_pool, "", &fast), APR_EINVAL);
    ck_assert_ptr_null(enc);
    enc = "unset";
    ck_assert_int_eq(cs_password_hash(&enc, unit_pool, NULL, &fast), APR_EINVAL);
    ck_assert_ptr_null(enc);
    enc = "unset";
    ck_assert_int_eq(cs_password_hash(&enc, unit_pool, over, &fast), APR_EINVAL);
    ck_assert_ptr_null(enc);

    enc = hash_fast(max);
    ck_assert_int_eq(cs_password_verify(enc, max), 1);
    ck_assert_int_eq(cs_password_verify(enc, over), 0);
}
END_TEST

START_TEST(test_params_out_of_range_are_rejected)
{
    static const cs_argon2_params_t bad[] = {
        { 1024, 0, 1 },
        { 1024, 1, 0 },
        { 4, 1, 1 },                        /* under 8 KiB per lane */
        { 16, 1, 4 },
        { CS_ARGON2_MAX_M_KIB + 1, 1, 1 },
        { 1024, CS_ARGON2_MAX_T + 1, 1 },
        { 1024, 1, CS_ARGON2_MAX_P + 1 },
    };
    apr_size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *enc = "unset";
        ck_assert_msg(cs_password_hash(&enc, unit_pool, "pw", &bad[i]) == APR_EINVAL,
                      "params #%u accepted", (unsigned)i);
        ck_assert_ptr_null(enc);
    }
}
END_TEST

/* The shortest of a few runs: a noisy machine only ever adds time. */
static apr_interval_time_t fastest(const char *encoded, const char *password,
                                   int burn)
{
    apr_interval_time_t best = -1;
    int i;

    for (i = 0; i < 3; i++) {
        apr_time_t t0 = apr_time_now();
        if (burn) {
            cs_password_burn(password);
        }
        else {
            ck_assert_int_eq(cs_password_verify(encoded, password), 0);
        }
        t0 = apr_time_now() - t0;
        if (best < 0 || t0 < best) {
            best = t0;
        }
    }
    return best;
}

START_TEST(test_burn_costs_about_what_a_default_verify_costs)
{
    const char *enc = NULL;
    apr_interval_time_t verify, burn;

    ck_assert_int_eq(cs_password_hash(&enc, unit_pool, "the real one", NULL),
                     APR_SUCCESS);
    verify = fastest(enc, "a wrong guess", 0);
    burn = fastest(NULL, "a wrong guess", 1);
    /* Same cost by construction; the bounds only catch a dummy hash that
     * is cheap (or absurdly dear) next to a real one. */
    ck_assert_msg(burn * 4 >= verify && burn <= verify * 4,
                  "burn %" APR_INT64_T_FMT " us, verify %" APR_INT64_T_FMT " us",
                  (apr_int64_t)burn, (apr_int64_t)verify);
}
END_TEST

START_TEST(test_burn_takes_any_password)
{
    cs_password_burn("guess");
    cs_password_burn("");
    cs_password_burn(NULL);
    cs_password_burn(unit_repeat(unit_pool, "x", CS_PASSWORD_MAX_LEN + 1));
}
END_TEST

/* ---- session tokens ----------------------------------------------------- */

START_TEST(test_random_tokens_are_43_chars_distinct_and_look_valid)
{
    const char *seen[64];
    int i, j;

    for (i = 0; i < 64; i++) {
        seen[i] = cs_random_token(unit_pool);
        ck_assert_ptr_nonnull(seen[i]);
        ck_assert_uint_eq(strlen(seen[i]), CS_TOKEN_LEN);
        ck_assert_msg(cs_token_looks_valid(seen[i]), "'%s' looks invalid", seen[i]);
        for (j = 0; j < i; j++) {
            ck_assert_str_ne(seen[i], seen[j]);
        }
    }
}
END_TEST

START_TEST(test_looks_valid_wants_exactly_43_base64url_chars)
{
    const char *ok = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0189-_Q";
    const char *bad_chars = "+/=. \t\"';\x80\xff";
    char buf[CS_TOKEN_LEN + 2];
    const char *c;

    ck_assert_uint_eq(strlen(ok), 43);
    ck_assert_int_eq(cs_token_looks_valid(ok), 1);
    ck_assert_int_eq(cs_token_looks_valid(apr_pstrndup(unit_pool, ok, 42)), 0);
    ck_assert_int_eq(cs_token_looks_valid(apr_pstrcat(unit_pool, ok, "A", NULL)), 0);
    ck_assert_int_eq(cs_token_looks_valid(""), 0);
    ck_assert_int_eq(cs_token_looks_valid(NULL), 0);
    ck_assert_int_eq(cs_token_looks_valid(apr_pstrcat(unit_pool, ok, "=", NULL)), 0);

    for (c = bad_chars; *c; c++) {
        memcpy(buf, ok, CS_TOKEN_LEN + 1);
        buf[0] = *c;
        ck_assert_msg(!cs_token_looks_valid(buf), "accepted 0x%02x first", (unsigned char)*c);
        memcpy(buf, ok, CS_TOKEN_LEN + 1);
        buf[20] = *c;
        ck_assert_msg(!cs_token_looks_valid(buf), "accepted 0x%02x inside", (unsigned char)*c);
        memcpy(buf, ok, CS_TOKEN_LEN + 1);
        buf[CS_TOKEN_LEN - 1] = *c;
        ck_assert_msg(!cs_token_looks_valid(buf), "accepted 0x%02x last", (unsigned char)*c);
    }
}
END_TEST

START_TEST(test_token_hash_is_lowercase_hex_sha256)
{
    ck_assert_str_eq(cs_token_hash(unit_pool, "abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ck_assert_str_eq(cs_token_hash(unit_pool, ""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    ck_assert_str_eq(cs_token_hash(unit_pool, "session"),
        "3f3af1ecebbd1410ab417ec0d27bbfcb5d340e177ae159b59fc8626c2dfd9175");
    ck_assert_ptr_null(cs_token_hash(unit_pool, NULL));
    ck_assert_uint_eq(strlen(cs_token_hash(unit_pool, cs_random_token(unit_pool))),
                      CS_TOKEN_HASH_LEN);
}
END_TEST

/* ---- CSRF tokens -------------------------------------------------------- */

START_TEST(test_csrf_token_is_known_hmac_in_base64url)
{
    /* HMAC-SHA256(secret, "csrf|" + sha256hex("session")), computed apart */
    const char *h = cs_token_hash(unit_pool, "session");
    ck_assert_str_eq(cs_csrf_token(unit_pool, secret, SECRET_LEN, h),
                     "Gt_x_4fErSnvEsmLlNxiOvAjFRkkDRrn-oWJE9dxdlM");
}
END_TEST

START_TEST(test_csrf_token_is_deterministic_and_per_session)
{
    const char *h1 = cs_token_hash(unit_pool, cs_random_token(unit_pool));
    const char *h2 = cs_token_hash(unit_pool, cs_random_token(unit_pool));
    const char *t1 = cs_csrf_token(unit_pool, secret, SECRET_LEN, h1);

    ck_assert_ptr_nonnull(t1);
    ck_assert_uint_eq(strlen(t1), CS_TOKEN_LEN);
    ck_assert_int_eq(cs_token_looks_valid(t1), 1);
    ck_assert_str_eq(cs_csrf_token(unit_pool, secret, SECRET_LEN, h1), t1);
    ck_assert_str_ne(cs_csrf_token(unit_pool, secret, SECRET_LEN, h2), t1);
    /* another secret, another token */
    ck_assert_str_ne(cs_csrf_token(unit_pool, secret, SECRET_LEN - 1, h1), t1);
}
END_TEST

START_TEST(test_csrf_token_needs_a_secret_and_a_session)
{
    ck_assert_ptr_null(cs_csrf_token(unit_pool, NULL, 16, "abc"));
    ck_assert_ptr_null(cs_csrf_token(unit_pool, secret, 0, "abc"));
    ck_assert_ptr_null(cs_csrf_token(unit_pool, secret, SECRET_LEN, NULL));
}
END_TEST

START_TEST(test_csrf_check_accepts_the_right_token)
{
    const char *h = cs_token_hash(unit_pool, cs_random_token(unit_pool));
    const char *t = cs_csrf_token(unit_pool, secret, SECRET_LEN, h);

    ck_assert_int_eq(cs_csrf_check(unit_pool, secret, SECRET_LEN, h, t), 1);
    ck_assert_int_eq(cs_csrf_check(unit_pool, secret, SECRET_LEN, h,
                                   apr_pstrdup(unit_pool, t)), 1);
}
END_TEST

START_TEST(test_csrf_check_rejects_tampered_and_foreign_tokens)
{
    const char *h = cs_token_hash(unit_pool, cs_random_token(unit_pool));
    const char *other = cs_token_hash(unit_pool, cs_random_token(unit_pool));
    const char *t = cs_csrf_token(unit_pool, secret, SECRET_LEN, h);
    char *mod = apr_pstrdup(unit_pool, t);
    int i;

    for (i = 0; i < CS_TOKEN_LEN; i++) {
        mod[i] = t[i] == 'A' ? 'B' : 'A';
        ck_assert_msg(!cs_csrf_check(unit_pool, secret, SECRET_LEN, h, mod),
                      "accepted a change at %d", i);
        mod[i] = t[i];
    }
    ck_assert_int_eq(cs_csrf_check(unit_pool, secret, SECRET_LEN, other, t), 0);
    ck_assert_int_eq(cs_csrf_check(unit_pool, secret, SECRET_LEN - 1, h, t), 0);
}
END_TEST

START_TEST(test_csrf_check_rejects_wrong_length_empty_and_missing)
{
    const char *h = cs_token_hash(unit_pool, "session");
    const char *t = cs_csrf_token(unit_pool, secret, SECRET_LEN, h);

    ck_assert_int_eq(cs_csrf_check(unit_pool, secret, SECRET_LEN, h,
                                   apr_pstrndup(unit_pool, t, CS_TOKEN_LEN - 1)), 0);
    ck_assert_int_eq(cs_csrf_check(unit_pool, secret, SECRET_LEN, h,
                                   apr_pstrcat(unit_pool, t, "A", NULL)), 0);
    ck_assert_int_eq(cs_csrf_check(unit_pool, secret, SECRET_LEN, h,
                                   apr_pstrcat(unit_pool, t, "=", NULL)), 0);
    ck_assert_int_eq(cs_csrf_check(unit_pool, secret, SECRET_LEN, h, ""), 0);
    ck_assert_int_eq(cs_csrf_check(unit_pool, secret, SECRET_LEN, h, NULL), 0);
    /* no secret or no session: nothing is valid, not even an empty match */
    ck_assert_int_eq(cs_csrf_check(unit_pool, NULL, 0, h, t), 0);
    ck_assert_int_eq(cs_csrf_check(unit_pool, secret, 0, h, t), 0);
    ck_assert_int_eq(cs_csrf_check(unit_pool, secret, SECRET_LEN, NULL, t), 0);
}
END_TEST

/* ---- login throttle ----------------------------------------------------- */

START_TEST(test_login_delay_table)
{
    static const struct { int failures; apr_int64_t seconds; } table[] = {
        { INT_MIN, 0 }, { -1, 0 }, { 0, 0 }, { 1, 0 }, { 2, 0 }, { 3, 0 }, { 4, 0 },
        { 5, 1 }, { 6, 2 }, { 7, 4 }, { 8, 8 }, { 9, 16 }, { 10, 32 },
        { 11, 64 }, { 12, 128 }, { 13, 256 }, { 14, 512 },
        { 15, 900 }, { 16, 900 }, { 40, 900 }, { 70, 900 }, { INT_MAX, 900 },
    };
    apr_size_t i;

    for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        ck_assert_msg(cs_login_delay(table[i].failures)
                      == apr_time_from_sec(table[i].seconds),
                      "%d failures: %" APR_INT64_T_FMT " us, want %" APR_INT64_T_FMT " s",
                      table[i].failures, (apr_int64_t)cs_login_delay(table[i].failures),
                      table[i].seconds);
    }
}
END_TEST

START_TEST(test_login_delay_never_decreases)
{
    int n;

    for (n = 0; n < 200; n++) {
        ck_assert(cs_login_delay(n + 1) >= cs_login_delay(n));
        ck_assert(cs_login_delay(n) <= apr_time_from_sec(15 * 60));
    }
}
END_TEST

Suite *auth_suite(void)
{
    Suite *s = suite_create("cs_auth");
    TCase *tc;

    tc = tcase_create("password");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    /* the default-cost tests hash at 19 MiB; leave room on a slow box */
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_hash_then_verify_round_trip);
    tcase_add_test(tc, test_wrong_password_fails);
    tcase_add_test(tc, test_same_password_twice_hashes_differently);
    tcase_add_test(tc, test_default_params_encode_owasp_cost);
    tcase_add_test(tc, test_given_params_are_encoded);
    tcase_add_test(tc, test_needs_rehash_when_weaker_than_current);
    tcase_add_test(tc, test_needs_rehash_of_malformed_is_yes);
    tcase_add_test(tc, test_malformed_encoded_verifies_to_zero);
    tcase_add_test(tc, test_empty_null_and_too_long_passwords_are_rejected);
    tcase_add_test(tc, test_params_out_of_range_are_rejected);
    tcase_add_test(tc, test_burn_costs_about_what_a_default_verify_costs);
    tcase_add_test(tc, test_burn_takes_any_password);
    suite_add_tcase(s, tc);

    tc = tcase_create("session_token");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_random_tokens_are_43_chars_distinct_and_look_valid);
    tcase_add_test(tc, test_looks_valid_wants_exactly_43_base64url_chars);
    tcase_add_test(tc, test_token_hash_is_lowercase_hex_sha256);
    suite_add_tcase(s, tc);

    tc = tcase_create("csrf");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_csrf_token_is_known_hmac_in_base64url);
    tcase_add_test(tc, test_csrf_token_is_deterministic_and_per_session);
    tcase_add_test(tc, test_csrf_token_needs_a_secret_and_a_session);
    tcase_add_test(tc, test_csrf_check_accepts_the_right_token);
    tcase_add_test(tc, test_csrf_check_rejects_tampered_and_foreign_tokens);
    tcase_add_test(tc, test_csrf_check_rejects_wrong_length_empty_and_missing);
    suite_add_tcase(s, tc);

    tc = tcase_create("login_delay");
    tcase_add_test(tc, test_login_delay_table);
    tcase_add_test(tc, test_login_delay_never_decreases);
    suite_add_tcase(s, tc);

    return s;
}
