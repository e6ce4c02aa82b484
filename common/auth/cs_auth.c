#include "auth/cs_auth.h"
#include "base/cs_crypto.h"

#include <apr_general.h>
#include <apr_strings.h>
#include <argon2.h>
#include <limits.h>
#include <string.h>

#define SALT_LEN 16
#define HASH_LEN 32

/* Far above the ~100 characters of our own encodings; argon2_verify
 * allocates two buffers the size of the encoded string, so a corrupt row
 * must not be allowed to pick that size. */
#define ENCODED_MAX_LEN 256

static const cs_argon2_params_t defaults = {
    CS_ARGON2_DEFAULT_M_KIB, CS_ARGON2_DEFAULT_T, CS_ARGON2_DEFAULT_P
};

/* An argon2id hash of a random password nobody knows, at the default cost.
 * cs_password_burn verifies against it: it only has to cost what a real
 * verify costs, so it never needs to match. */
static const char dummy_encoded[] =
    "$argon2id$v=19$m=19456,t=2,p=1$LKRA7lBdtGYztPenyDltGQ"
    "$xZrWW4JvRbpZweNfhU2vO6w3CeVjkPXAkLFpZBqosNQ";

/* OpenSSL's generator first; the kernel's through APR if it ever fails
 * (as cs_token does). */
static int random_bytes(unsigned char *buf, apr_size_t n)
{
    if (cs_random_bytes(buf, n) == APR_SUCCESS) {
        return 1;
    }
    return apr_generate_random_bytes(buf, n) == APR_SUCCESS;
}

static int params_ok(const cs_argon2_params_t *a)
{
    return a->t_cost >= 1 && a->t_cost <= CS_ARGON2_MAX_T
        && a->parallelism >= 1 && a->parallelism <= CS_ARGON2_MAX_P
        /* argon2 needs 8 KiB (two blocks per sync point) per lane */
        && a->m_cost_kib >= 8 * a->parallelism
        && a->m_cost_kib <= CS_ARGON2_MAX_M_KIB;
}

/* The password's length, or 0 when it is missing, empty or too long;
 * strnlen so a huge string is not walked to its end. */
static apr_size_t password_len(const char *password)
{
    apr_size_t n;

    if (!password) {
        return 0;
    }
    n = strnlen(password, CS_PASSWORD_MAX_LEN + 1);
    return n > CS_PASSWORD_MAX_LEN ? 0 : n;
}

/* ---- parsing an encoded hash -------------------------------------------- */

/* A decimal in [0, UINT32_MAX] without leading zeros, as argon2 writes it. */
static int parse_u32(const char **ps, apr_uint32_t *out)
{
    const char *s = *ps;
    apr_uint64_t v = 0;
    int digits = 0;

    while (*s >= '0' && *s <= '9') {
        if (++digits > 10) {
            return 0;
        }
        v = v * 10 + (apr_uint64_t)(*s - '0');
        s++;
    }
    if (digits == 0 || v > 0xFFFFFFFFu || (digits > 1 && **ps == '0')) {
        return 0;
    }
    *out = (apr_uint32_t)v;
    *ps = s;
    return 1;
}

static int expect(const char **ps, const char *lit)
{
    apr_size_t n = strlen(lit);

    if (strncmp(*ps, lit, n) != 0) {
        return 0;
    }
    *ps += n;
    return 1;
}

/* A run of unpadded standard base64 (argon2's alphabet) ending at @p stop;
 * *pbytes is how many bytes it decodes to. */
static int parse_b64(const char **ps, char stop, apr_size_t *pbytes)
{
    const char *s = *ps;
    apr_size_t n;

    while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')
           || (*s >= '0' && *s <= '9') || *s == '+' || *s == '/') {
        s++;
    }
    n = (apr_size_t)(s - *ps);
    if (*s != stop || n == 0 || n % 4 == 1) {
        return 0;
    }
    *pbytes = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
    *ps = s;
    return 1;
}

/* Accept exactly what cs_password_hash writes: argon2id, version 19
 * (0x13), costs within our bounds, salt and hash long enough for argon2.
 * Anything else is refused before argon2 allocates or computes a thing. */
static int parse_encoded(const char *s, cs_argon2_params_t *out,
                         apr_size_t *psalt, apr_size_t *phash)
{
    if (!s || strnlen(s, ENCODED_MAX_LEN + 1) > ENCODED_MAX_LEN) {
        return 0;
    }
    if (!expect(&s, "$argon2id$v=19$m=") || !parse_u32(&s, &out->m_cost_kib)
        || !expect(&s, ",t=") || !parse_u32(&s, &out->t_cost)
        || !expect(&s, ",p=") || !parse_u32(&s, &out->parallelism)
        || !expect(&s, "$") || !parse_b64(&s, '$', psalt)
        || !expect(&s, "$") || !parse_b64(&s, '\0', phash)) {
        return 0;
    }
    return params_ok(out) && *psalt >= ARGON2_MIN_SALT_LENGTH
        && *phash >= ARGON2_MIN_OUTLEN;
}

/* ---- passwords ---------------------------------------------------------- */

apr_status_t cs_password_hash(const char **pout, apr_pool_t *p,
                              const char *password,
                              const cs_argon2_params_t *params)
{
    unsigned char salt[SALT_LEN];
    apr_size_t pwlen = password_len(password);
    size_t enclen;
    char *encoded;
    int rc;

    *pout = NULL;
    if (!params) {
        params = &defaults;
    }
    if (pwlen == 0 || !params_ok(params)) {
        return APR_EINVAL;
    }
    if (!random_bytes(salt, sizeof(salt))) {
        return APR_EGENERAL;
    }
    enclen = argon2_encodedlen(params->t_cost, params->m_cost_kib,
                               params->parallelism, SALT_LEN, HASH_LEN,
                               Argon2_id);
    encoded = apr_palloc(p, enclen);
    rc = argon2id_hash_encoded(params->t_cost, params->m_cost_kib,
                               params->parallelism, password, pwlen,
                               salt, sizeof(salt), HASH_LEN, encoded, enclen);
    if (rc == ARGON2_MEMORY_ALLOCATION_ERROR) {
        return APR_ENOMEM;
    }
    if (rc != ARGON2_OK) {
        return APR_EGENERAL;
    }
    *pout = encoded;
    return APR_SUCCESS;
}

int cs_password_verify(const char *encoded, const char *password)
{
    cs_argon2_params_t got;
    apr_size_t salt_len, hash_len;
    apr_size_t pwlen = password_len(password);

    if (pwlen == 0 || !parse_encoded(encoded, &got, &salt_len, &hash_len)) {
        return 0;
    }
    return argon2id_verify(encoded, password, pwlen) == ARGON2_OK;
}

int cs_password_needs_rehash(const char *encoded,
                             const cs_argon2_params_t *params)
{
    cs_argon2_params_t got;
    apr_size_t salt_len, hash_len;

    if (!params) {
        params = &defaults;
    }
    if (!parse_encoded(encoded, &got, &salt_len, &hash_len)) {
        return 1;
    }
    return got.m_cost_kib < params->m_cost_kib
        || got.t_cost < params->t_cost
        || salt_len < SALT_LEN || hash_len < HASH_LEN;
}

void cs_password_burn(const char *password)
{
    /* The very same function as a real login, so early returns for a bad
     * password and the argon2 work are alike for known and unknown users. */
    (void)cs_password_verify(dummy_encoded, password);
}

/* ---- tokens ------------------------------------------------------------- */

const char *cs_random_token(apr_pool_t *p)
{
    unsigned char raw[32];
    char out[CS_BASE64URL_LEN(sizeof(raw)) + 1];

    if (!random_bytes(raw, sizeof(raw))) {
        return NULL;
    }
    cs_base64url_encode(out, raw, sizeof(raw));
    cs_cleanse(raw, sizeof(raw));
    return apr_pstrdup(p, out);
}

const char *cs_token_hash(apr_pool_t *p, const char *token)
{
    return token ? cs_sha256_hex(p, token, strlen(token)) : NULL;
}

/* The CSRF token into @p out (CS_TOKEN_LEN + 1 bytes). The "csrf|" prefix
 * keeps this MAC apart from any other use of the same server secret. */
static int csrf_compute(char out[CS_TOKEN_LEN + 1], apr_pool_t *p,
                        const unsigned char *secret, apr_size_t len,
                        const char *session_token_hash)
{
    unsigned char md[CS_SHA256_LEN];
    const char *msg;

    if (!secret || len == 0 || !session_token_hash) {
        return 0;
    }
    msg = apr_pstrcat(p, "csrf|", session_token_hash, NULL);
    if (cs_hmac_sha256(md, secret, len, msg, strlen(msg)) != APR_SUCCESS) {
        return 0;
    }
    cs_base64url_encode(out, md, sizeof(md));
    return 1;
}

const char *cs_csrf_token(apr_pool_t *p, const unsigned char *secret,
                          apr_size_t len, const char *session_token_hash)
{
    char out[CS_TOKEN_LEN + 1];

    if (!csrf_compute(out, p, secret, len, session_token_hash)) {
        return NULL;
    }
    return apr_pstrdup(p, out);
}

int cs_csrf_check(apr_pool_t *p, const unsigned char *secret, apr_size_t len,
                  const char *session_token_hash, const char *presented)
{
    char expect_tok[CS_TOKEN_LEN + 1];

    /* The length is public (every token has it), so checking it first
     * leaks nothing and keeps the compare within both buffers. */
    if (!presented || strnlen(presented, CS_TOKEN_LEN + 1) != CS_TOKEN_LEN
        || !csrf_compute(expect_tok, p, secret, len, session_token_hash)) {
        return 0;
    }
    return cs_ct_equal(expect_tok, presented, CS_TOKEN_LEN);
}

int cs_token_looks_valid(const char *s)
{
    int i;

    if (!s) {
        return 0;
    }
    /* Locale-free on purpose: only the 64 base64url characters pass, and
     * a NUL before the end fails like any other outsider. */
    for (i = 0; i < CS_TOKEN_LEN; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
              || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
            return 0;
        }
    }
    return s[CS_TOKEN_LEN] == '\0';
}

/* ---- login throttle ----------------------------------------------------- */

apr_interval_time_t cs_login_delay(int recent_failures)
{
    const apr_interval_time_t cap = apr_time_from_sec(15 * 60);
    apr_interval_time_t d;
    int shift;

    if (recent_failures <= 4) {
        return 0;
    }
    shift = recent_failures - 5;
    /* 2^10 s already passes the cap; stopping here also keeps the shift
     * from overflowing for any count. */
    if (shift >= 10) {
        return cap;
    }
    d = apr_time_from_sec((apr_int64_t)1 << shift);
    return d > cap ? cap : d;
}
