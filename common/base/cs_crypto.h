/**
 * @file cs_crypto.h
 * @brief The one crypto unit: SHA-256, HMAC-SHA1/SHA256, hex and base64,
 * constant-time comparison and random bytes, over OpenSSL.
 *
 * Every webhook verifier (Twilio, Square, Toast, Clover, Stripe, Cal.com,
 * Jobber), the form tokens, the session tokens and the migration checksums
 * use these, so a result that OpenSSL failed to produce can never be
 * mistaken for a digest: every function that computes says whether it did.
 */
#ifndef CS_CRYPTO_H
#define CS_CRYPTO_H

#include <apr_pools.h>
#include <apr_errno.h>

#define CS_SHA1_LEN    20
#define CS_SHA256_LEN  32

/** SHA-256 of @p len bytes into @p out (32 bytes). APR_EGENERAL if OpenSSL
 * failed. */
apr_status_t cs_sha256(unsigned char out[CS_SHA256_LEN], const void *data,
                       apr_size_t len);

/** Lowercase hex SHA-256 of @p data in @p p (64 characters), or NULL when
 * OpenSSL failed. */
const char *cs_sha256_hex(apr_pool_t *p, const void *data, apr_size_t len);

/** HMAC-SHA256 of @p msg under @p key into @p out (32 bytes). */
apr_status_t cs_hmac_sha256(unsigned char out[CS_SHA256_LEN],
                            const void *key, apr_size_t key_len,
                            const void *msg, apr_size_t msg_len);

/** HMAC-SHA1 of @p msg under @p key into @p out (20 bytes): Twilio's. */
apr_status_t cs_hmac_sha1(unsigned char out[CS_SHA1_LEN],
                          const void *key, apr_size_t key_len,
                          const void *msg, apr_size_t msg_len);

/** Lowercase hex of @p n bytes into @p out, which holds 2n + 1 bytes. */
void cs_hex_encode(char *out, const unsigned char *in, apr_size_t n);

/** Hex (either case) of exactly 2n characters into @p out (n bytes).
 * APR_EINVAL for a wrong length or a non-hex character. */
apr_status_t cs_hex_decode(unsigned char *out, apr_size_t n, const char *hex,
                           apr_size_t hex_len);

/** Standard, padded base64 of @p n bytes in @p p. */
const char *cs_base64_encode(apr_pool_t *p, const unsigned char *in, apr_size_t n);

/** Unpadded base64url (RFC 4648 section 5) of @p n bytes into @p out,
 * which holds CS_BASE64URL_LEN(n) + 1 bytes: tokens in cookies and URLs. */
#define CS_BASE64URL_LEN(n) ((n) / 3 * 4 + ((n) % 3 ? (n) % 3 + 1 : 0))
void cs_base64url_encode(char *out, const unsigned char *in, apr_size_t n);

/** Decode standard base64 (padding optional, no whitespace) into @p p;
 * APR_EINVAL for anything else. *plen gets the number of bytes. */
apr_status_t cs_base64_decode(unsigned char **pout, apr_size_t *plen,
                              apr_pool_t *p, const char *b64, apr_size_t len);

/** 1 when @p a and @p b are the same @p n bytes, in time that does not
 * depend on where they differ (CRYPTO_memcmp). */
int cs_ct_equal(const void *a, const void *b, apr_size_t n);

/** 1 when the strings are equal, in time independent of their contents
 * (the lengths may leak, as they do in every HMAC header). NULL never
 * equals anything. */
int cs_ct_streq(const char *a, const char *b);

/** Overwrite @p n bytes of a secret so the compiler cannot drop it. */
void cs_cleanse(void *buf, apr_size_t n);

/** @p n cryptographically random bytes (RAND_bytes). APR_EGENERAL when the
 * generator failed: callers must not fall back to weaker randomness. */
apr_status_t cs_random_bytes(unsigned char *out, apr_size_t n);

#endif
