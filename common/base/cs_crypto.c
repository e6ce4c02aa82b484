/* The one crypto unit (see cs_crypto.h): thin, checked wrappers over
 * OpenSSL so no caller handles an EVP result code or a digest length. */
#include "base/cs_crypto.h"

#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

apr_status_t cs_sha256(unsigned char out[CS_SHA256_LEN], const void *data,
                       apr_size_t len)
{
    unsigned int n = 0;

    if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1
        || n != CS_SHA256_LEN) {
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

const char *cs_sha256_hex(apr_pool_t *p, const void *data, apr_size_t len)
{
    unsigned char md[CS_SHA256_LEN];
    char *hex;

    if (cs_sha256(md, data, len) != APR_SUCCESS) {
        return NULL;
    }
    hex = apr_palloc(p, 2 * CS_SHA256_LEN + 1);
    cs_hex_encode(hex, md, CS_SHA256_LEN);
    return hex;
}

static apr_status_t hmac(const EVP_MD *md, unsigned char *out, unsigned int want,
                         const void *key, apr_size_t key_len,
                         const void *msg, apr_size_t msg_len)
{
    unsigned int n = 0;

    /* OpenSSL takes the key length as an int. */
    if (key_len > (apr_size_t)0x7fffffff) {
        return APR_EINVAL;
    }
    /* A NULL key with length 0 is valid HMAC; OpenSSL wants a pointer. */
    if (!HMAC(md, key ? key : "", (int)key_len, msg ? msg : (const void *)"",
              msg_len, out, &n) || n != want) {
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

apr_status_t cs_hmac_sha256(unsigned char out[CS_SHA256_LEN],
                            const void *key, apr_size_t key_len,
                            const void *msg, apr_size_t msg_len)
{
    return hmac(EVP_sha256(), out, CS_SHA256_LEN, key, key_len, msg, msg_len);
}

apr_status_t cs_hmac_sha1(unsigned char out[CS_SHA1_LEN],
                          const void *key, apr_size_t key_len,
                          const void *msg, apr_size_t msg_len)
{
    return hmac(EVP_sha1(), out, CS_SHA1_LEN, key, key_len, msg, msg_len);
}

void cs_hex_encode(char *out, const unsigned char *in, apr_size_t n)
{
    static const char digits[] = "0123456789abcdef";
    apr_size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0xf];
    }
    out[2 * n] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

apr_status_t cs_hex_decode(unsigned char *out, apr_size_t n, const char *hex,
                           apr_size_t hex_len)
{
    apr_size_t i;

    if (!hex || hex_len != 2 * n) {
        return APR_EINVAL;
    }
    for (i = 0; i < n; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return APR_EINVAL;
        }
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return APR_SUCCESS;
}

const char *cs_base64_encode(apr_pool_t *p, const unsigned char *in, apr_size_t n)
{
    char *out = apr_palloc(p, 4 * ((n + 2) / 3) + 1);

    EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    return out;
}

apr_status_t cs_base64_decode(unsigned char **pout, apr_size_t *plen,
                              apr_pool_t *p, const char *b64, apr_size_t len)
{
    apr_size_t i, pad = 0, full;
    unsigned char *buf;
    char *padded;
    int n;

    *pout = NULL;
    *plen = 0;
    for (i = 0; i < len; i++) {
        char c = b64[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
                 || (c >= '0' && c <= '9') || c == '+' || c == '/';
        if (c == '=') {
            /* padding only at the end, at most two */
            if (len - i > 2) {
                return APR_EINVAL;
            }
            for (; i < len; i++) {
                if (b64[i] != '=') {
                    return APR_EINVAL;
                }
                pad++;
            }
            break;
        }
        if (!ok) {
            return APR_EINVAL;
        }
    }
    full = len - pad;
    if (full % 4 == 1) {
        return APR_EINVAL;
    }
    /* EVP_DecodeBlock wants whole quanta: restore the padding. */
    padded = apr_palloc(p, full + 4);
    memcpy(padded, b64, full);
    while (full % 4) {
        padded[full++] = '=';
    }
    buf = apr_palloc(p, full / 4 * 3 + 1);
    n = full ? EVP_DecodeBlock(buf, (unsigned char *)padded, (int)full) : 0;
    if (n < 0) {
        return APR_EINVAL;
    }
    /* EVP_DecodeBlock counts the padding as zero bytes. */
    for (i = full; i > 0 && padded[i - 1] == '='; i--) {
        n--;
    }
    buf[n] = '\0';
    *pout = buf;
    *plen = (apr_size_t)n;
    return APR_SUCCESS;
}

void cs_base64url_encode(char *out, const unsigned char *in, apr_size_t n)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    apr_size_t i;
    char *o = out;

    for (i = 0; i + 2 < n; i += 3) {
        apr_uint32_t v = (apr_uint32_t)in[i] << 16
                       | (apr_uint32_t)in[i + 1] << 8 | in[i + 2];
        *o++ = alphabet[v >> 18];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = alphabet[(v >> 6) & 63];
        *o++ = alphabet[v & 63];
    }
    if (n - i == 1) {
        *o++ = alphabet[in[i] >> 2];
        *o++ = alphabet[(in[i] & 3) << 4];
    }
    else if (n - i == 2) {
        apr_uint32_t v = (apr_uint32_t)in[i] << 8 | in[i + 1];
        *o++ = alphabet[v >> 10];
        *o++ = alphabet[(v >> 4) & 63];
        *o++ = alphabet[(v & 15) << 2];
    }
    *o = '\0';
}

void cs_cleanse(void *buf, apr_size_t n)
{
    OPENSSL_cleanse(buf, n);
}

int cs_ct_equal(const void *a, const void *b, apr_size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

int cs_ct_streq(const char *a, const char *b)
{
    apr_size_t n;

    if (!a || !b) {
        return 0;
    }
    n = strlen(a);
    return n == strlen(b) && CRYPTO_memcmp(a, b, n) == 0;
}

apr_status_t cs_random_bytes(unsigned char *out, apr_size_t n)
{
    if (n > (apr_size_t)0x7fffffff || RAND_bytes(out, (int)n) != 1) {
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}
