/* The one crypto unit (see cs_crypto.h): thin, checked wrappers over
 * OpenSSL so no caller handles an EVP result code or a digest length. */
#include "base/cs_crypto.h"

#include <string.h>
#include <apr_strings.h>
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

/* ---- AES-256-GCM and sealed secrets ------------------------------------- */

#define SEAL_PREFIX "v1."

apr_status_t cs_aes256gcm_encrypt(unsigned char *out, unsigned char tag[CS_GCM_TAG_LEN],
                                  const unsigned char key[CS_AES256_KEY_LEN],
                                  const unsigned char nonce[CS_GCM_NONCE_LEN],
                                  const void *aad, apr_size_t aad_len,
                                  const void *in, apr_size_t len)
{
    EVP_CIPHER_CTX *ctx;
    unsigned char fin[CS_GCM_TAG_LEN];
    apr_status_t rv = APR_EGENERAL;
    int n;

    if (len > (apr_size_t)0x7fffffff || aad_len > (apr_size_t)0x7fffffff) {
        return APR_EINVAL;
    }
    if (!(ctx = EVP_CIPHER_CTX_new())) {
        return APR_EGENERAL;
    }
    /* 12 bytes is GCM's default IV length; set it anyway, so a changed
     * default could never silently use another nonce size. */
    if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1
        || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, CS_GCM_NONCE_LEN, NULL) != 1
        || EVP_EncryptInit_ex(ctx, NULL, NULL, key, nonce) != 1
        || (aad_len && EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1)
        || (len && EVP_EncryptUpdate(ctx, out, &n, in, (int)len) != 1)
        || EVP_EncryptFinal_ex(ctx, fin, &n) != 1       /* GCM writes nothing here */
        || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, CS_GCM_TAG_LEN, tag) != 1) {
        goto leave;
    }
    rv = APR_SUCCESS;
leave:
    EVP_CIPHER_CTX_free(ctx);
    return rv;
}

apr_status_t cs_aes256gcm_decrypt(unsigned char *out,
                                  const unsigned char key[CS_AES256_KEY_LEN],
                                  const unsigned char nonce[CS_GCM_NONCE_LEN],
                                  const void *aad, apr_size_t aad_len,
                                  const void *in, apr_size_t len,
                                  const unsigned char tag[CS_GCM_TAG_LEN])
{
    EVP_CIPHER_CTX *ctx;
    unsigned char t[CS_GCM_TAG_LEN], fin[CS_GCM_TAG_LEN];
    apr_status_t rv = APR_EGENERAL;
    int n;

    if (len > (apr_size_t)0x7fffffff || aad_len > (apr_size_t)0x7fffffff) {
        return APR_EINVAL;
    }
    if (!(ctx = EVP_CIPHER_CTX_new())) {
        return APR_EGENERAL;
    }
    memcpy(t, tag, sizeof(t));      /* the ctrl takes a non-const pointer */
    if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1
        || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, CS_GCM_NONCE_LEN, NULL) != 1
        || EVP_DecryptInit_ex(ctx, NULL, NULL, key, nonce) != 1
        || (aad_len && EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1)
        || (len && EVP_DecryptUpdate(ctx, out, &n, in, (int)len) != 1)
        || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, CS_GCM_TAG_LEN, t) != 1) {
        goto leave;
    }
    /* Final is where GCM compares the tag (in constant time); until it
     * says yes, what Update wrote is unauthenticated and is wiped. */
    rv = EVP_DecryptFinal_ex(ctx, fin, &n) == 1 ? APR_SUCCESS : APR_EACCES;
leave:
    if (rv != APR_SUCCESS && len) {
        OPENSSL_cleanse(out, len);
    }
    EVP_CIPHER_CTX_free(ctx);
    return rv;
}

static int key_id_ok(const char *id, apr_size_t n)
{
    apr_size_t i;

    if (!id || n < 1 || n > CS_SEAL_KEY_ID_MAX) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
              || c == '-' || c == '_')) {
            return 0;
        }
    }
    return 1;
}

const char *cs_seal(apr_pool_t *p, const unsigned char key[CS_AES256_KEY_LEN],
                    const char *key_id, const void *plain, apr_size_t len)
{
    apr_size_t id_len = key_id ? strlen(key_id) : 0, raw_len, pre;
    unsigned char *raw;
    char *out;

    if (!key_id_ok(key_id, id_len) || len > (apr_size_t)0x7fffffff - CS_GCM_NONCE_LEN
                                              - CS_GCM_TAG_LEN) {
        return NULL;
    }
    raw_len = CS_GCM_NONCE_LEN + len + CS_GCM_TAG_LEN;
    raw = apr_palloc(p, raw_len);
    if (cs_random_bytes(raw, CS_GCM_NONCE_LEN) != APR_SUCCESS
        || cs_aes256gcm_encrypt(raw + CS_GCM_NONCE_LEN, raw + CS_GCM_NONCE_LEN + len, key,
                                raw, key_id, id_len, plain, len) != APR_SUCCESS) {
        return NULL;
    }
    pre = sizeof(SEAL_PREFIX) - 1 + id_len + 1;
    out = apr_palloc(p, pre + CS_BASE64URL_LEN(raw_len) + 1);
    memcpy(out, SEAL_PREFIX, sizeof(SEAL_PREFIX) - 1);
    memcpy(out + sizeof(SEAL_PREFIX) - 1, key_id, id_len);
    out[pre - 1] = '.';
    cs_base64url_encode(out + pre, raw, raw_len);
    return out;
}

static int b64url_val(char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    return c == '-' ? 62 : c == '_' ? 63 : -1;
}

/* Unpadded base64url exactly as cs_base64url_encode writes it: no padding,
 * no other alphabet, and no stray bits in the last character (so one
 * sealed value has one spelling). */
static apr_status_t b64url_decode(unsigned char **pout, apr_size_t *plen, apr_pool_t *p,
                                  const char *s, apr_size_t n)
{
    apr_size_t i, o = 0;
    apr_uint32_t acc = 0;
    int bits = 0;
    unsigned char *out;

    if (n % 4 == 1) {
        return APR_EINVAL;
    }
    out = apr_palloc(p, n / 4 * 3 + 3);
    for (i = 0; i < n; i++) {
        int v = b64url_val(s[i]);
        if (v < 0) {
            return APR_EINVAL;
        }
        acc = (acc << 6 | (apr_uint32_t)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    if (bits && (acc & ((1u << bits) - 1))) {
        return APR_EINVAL;
    }
    *pout = out;
    *plen = o;
    return APR_SUCCESS;
}

/* Split "v1.<id>.<payload>": the id and the payload, or 0. */
static int seal_split(const char *sealed, const char **pid, apr_size_t *pid_len,
                      const char **payload)
{
    const char *id, *dot;

    if (!sealed || strncmp(sealed, SEAL_PREFIX, sizeof(SEAL_PREFIX) - 1)) {
        return 0;
    }
    id = sealed + sizeof(SEAL_PREFIX) - 1;
    if (!(dot = strchr(id, '.')) || !key_id_ok(id, (apr_size_t)(dot - id))) {
        return 0;
    }
    *pid = id;
    *pid_len = (apr_size_t)(dot - id);
    *payload = dot + 1;
    return 1;
}

const char *cs_sealed_key_id(apr_pool_t *p, const char *sealed)
{
    const char *id, *payload;
    apr_size_t n;

    return seal_split(sealed, &id, &n, &payload) ? apr_pstrmemdup(p, id, n) : NULL;
}

apr_status_t cs_open(apr_pool_t *p, const apr_array_header_t *keyring, const char *sealed,
                     unsigned char **pplain, apr_size_t *plen, const char **perr)
{
    const cs_seal_key_t *key = NULL;
    const char *id, *payload, *why = NULL;
    unsigned char *raw = NULL, *plain;
    apr_size_t id_len, raw_len = 0, len;
    apr_status_t rv;
    int i;

    *pplain = NULL;
    *plen = 0;
    if (!seal_split(sealed, &id, &id_len, &payload)) {
        rv = APR_EINVAL;
        why = "not a v1 sealed value";
        goto leave;
    }
    if (b64url_decode(&raw, &raw_len, p, payload, strlen(payload)) != APR_SUCCESS
        || raw_len < CS_GCM_NONCE_LEN + CS_GCM_TAG_LEN) {
        rv = APR_EINVAL;
        why = "the sealed value's payload is malformed";
        goto leave;
    }
    for (i = 0; keyring && i < keyring->nelts; i++) {
        const cs_seal_key_t *k = &APR_ARRAY_IDX(keyring, i, cs_seal_key_t);
        if (k->key_id && strlen(k->key_id) == id_len && !memcmp(k->key_id, id, id_len)) {
            key = k;
            break;
        }
    }
    if (!key) {
        rv = APR_ENOENT;
        why = "no key of the keyring has the sealed value's key id";
        goto leave;
    }
    len = raw_len - CS_GCM_NONCE_LEN - CS_GCM_TAG_LEN;
    plain = apr_palloc(p, len + 1);
    rv = cs_aes256gcm_decrypt(plain, key->key, raw, id, id_len, raw + CS_GCM_NONCE_LEN, len,
                              raw + CS_GCM_NONCE_LEN + len);
    if (rv != APR_SUCCESS) {
        why = rv == APR_EACCES ? "the sealed value does not authenticate (wrong key or changed)"
                               : "decryption failed";
        goto leave;
    }
    plain[len] = '\0';
    *pplain = plain;
    *plen = len;
leave:
    if (perr) {
        *perr = why;
    }
    return rv;
}
