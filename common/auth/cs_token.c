#include "auth/cs_token.h"
#include "base/cs_crypto.h"

#include <apr_strings.h>
#include <apr_lib.h>
#include <string.h>

/* MAC over "v1|scope|issued|nonce": the scope binds a token to one client.
 * 0 when the MAC could not be computed (the token is then refused). */
static int mac_hex(char out[65], apr_pool_t *p, const unsigned char *secret,
                    apr_size_t secret_len, const char *scope, const char *issued,
                    const char *nonce)
{
    unsigned char md[CS_SHA256_LEN];
    /* Built in the pool, never cut short: two long scopes must not share
     * a MAC because their common prefix filled a fixed buffer. */
    const char *msg = apr_pstrcat(p, "v1|", scope, "|", issued, "|", nonce, NULL);

    if (cs_hmac_sha256(md, secret, secret_len, msg, strlen(msg)) != APR_SUCCESS) {
        return 0;
    }
    cs_hex_encode(out, md, sizeof(md));
    return 1;
}

const char *cs_form_token_issue(apr_pool_t *p, const unsigned char *secret,
                                apr_size_t secret_len, const char *scope,
                                apr_time_t now)
{
    unsigned char raw[16];
    char nonce[33], mac[65];
    /* Milliseconds: a minimum fill time under a few seconds needs them. */
    const char *issued = apr_psprintf(p, "%" APR_INT64_T_FMT,
                                      (apr_int64_t)apr_time_as_msec(now));

    if (cs_random_bytes(raw, sizeof(raw)) != APR_SUCCESS
        && apr_generate_random_bytes(raw, sizeof(raw)) != APR_SUCCESS) {
        return NULL;
    }
    cs_hex_encode(nonce, raw, sizeof(raw));
    if (!mac_hex(mac, p, secret, secret_len, scope, issued, nonce)) {
        return NULL;
    }
    return apr_pstrcat(p, "v1.", issued, ".", nonce, ".", mac, NULL);
}

static int all_hex(const char *s, apr_size_t n)
{
    apr_size_t i;
    for (i = 0; i < n; i++) {
        if (!apr_isxdigit(s[i]) || apr_isupper(s[i])) {
            return 0;
        }
    }
    return s[n] == '\0' || s[n] == '.';
}

cs_token_verdict_t cs_form_token_check(apr_pool_t *p, const char *token,
                                       const unsigned char *secret,
                                       apr_size_t secret_len, const char *scope,
                                       apr_time_t now, apr_interval_time_t min_age,
                                       apr_interval_time_t max_age,
                                       const char **pnonce)
{
    const char *issued_s, *nonce, *mac, *dot;
    char expect[65];
    apr_int64_t issued;
    apr_interval_time_t age;

    *pnonce = NULL;
    if (!token || !*token) {
        return CS_TOKEN_MISSING;
    }
    if (strncmp(token, "v1.", 3) || strlen(token) > 128) {
        return CS_TOKEN_INVALID;
    }
    issued_s = token + 3;
    dot = strchr(issued_s, '.');
    if (!dot || dot == issued_s || dot - issued_s > 15) {
        return CS_TOKEN_INVALID;
    }
    nonce = dot + 1;
    if (!all_hex(nonce, 32) || nonce[32] != '.') {
        return CS_TOKEN_INVALID;
    }
    mac = nonce + 33;
    if (strlen(mac) != 64 || !all_hex(mac, 64)) {
        return CS_TOKEN_INVALID;
    }
    issued_s = apr_pstrmemdup(p, issued_s, dot - issued_s);
    nonce = apr_pstrmemdup(p, nonce, 32);
    for (dot = issued_s; *dot; dot++) {
        if (!apr_isdigit(*dot)) {
            return CS_TOKEN_INVALID;
        }
    }
    if (!mac_hex(expect, p, secret, secret_len, scope, issued_s, nonce)
        || !cs_ct_equal(expect, mac, 64)) {
        return CS_TOKEN_INVALID;
    }
    *pnonce = nonce;
    issued = apr_atoi64(issued_s);
    age = now - apr_time_from_msec(issued);
    if (age < min_age) {
        return CS_TOKEN_TOO_FAST;   /* includes tokens "from the future" */
    }
    if (age > max_age) {
        return CS_TOKEN_EXPIRED;
    }
    return CS_TOKEN_OK;
}

const char *cs_token_verdict_name(cs_token_verdict_t v)
{
    switch (v) {
    case CS_TOKEN_OK: return "ok";
    case CS_TOKEN_MISSING: return "no_form_token";
    case CS_TOKEN_INVALID: return "bad_form_token";
    case CS_TOKEN_TOO_FAST: return "too_fast";
    case CS_TOKEN_EXPIRED: return "form_token_expired";
    }
    return "unknown";
}
