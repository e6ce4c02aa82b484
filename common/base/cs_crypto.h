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
#include <apr_tables.h>

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

/* ---- sealing secrets at rest: AES-256-GCM -------------------------------
 * OAuth tokens and other credentials we must give back to a provider are
 * stored sealed, never in the clear: cs_seal encrypts under the current
 * key, cs_open picks the key by the id written in the sealed text, so keys
 * rotate without re-encrypting everything at once (old ids stay in the
 * keyring until their rows are re-sealed). */

#define CS_AES256_KEY_LEN   32
#define CS_GCM_NONCE_LEN    12
#define CS_GCM_TAG_LEN      16
/** Longest key id: 1 to 32 of [A-Za-z0-9_-] (it is written in the clear). */
#define CS_SEAL_KEY_ID_MAX  32

/**
 * AES-256-GCM with a 96-bit nonce: @p len bytes of @p in encrypted into
 * @p out (also @p len bytes; may be @p in), the 16-byte tag into @p tag,
 * @p aad authenticated but not encrypted. The primitive under cs_seal,
 * public for the published test vectors: a nonce must never repeat under
 * one key (cs_seal draws a random one per message). APR_EINVAL beyond
 * INT_MAX bytes, APR_EGENERAL when OpenSSL failed.
 */
apr_status_t cs_aes256gcm_encrypt(unsigned char *out, unsigned char tag[CS_GCM_TAG_LEN],
                                  const unsigned char key[CS_AES256_KEY_LEN],
                                  const unsigned char nonce[CS_GCM_NONCE_LEN],
                                  const void *aad, apr_size_t aad_len,
                                  const void *in, apr_size_t len);

/**
 * The inverse of cs_aes256gcm_encrypt. APR_EACCES when @p tag does not
 * authenticate the ciphertext and @p aad under @p key (then @p out is
 * wiped: no unauthenticated byte is ever handed out).
 */
apr_status_t cs_aes256gcm_decrypt(unsigned char *out,
                                  const unsigned char key[CS_AES256_KEY_LEN],
                                  const unsigned char nonce[CS_GCM_NONCE_LEN],
                                  const void *aad, apr_size_t aad_len,
                                  const void *in, apr_size_t len,
                                  const unsigned char tag[CS_GCM_TAG_LEN]);

/** One key of a keyring: its id and its 32 bytes. */
typedef struct {
    const char *key_id;
    unsigned char key[CS_AES256_KEY_LEN];
} cs_seal_key_t;

/**
 * Seal @p len bytes of @p plain under @p key:
 * "v1.<key_id>.<base64url(nonce || ciphertext || tag)>", unpadded
 * base64url, with a fresh random 96-bit nonce and the key id as the
 * associated data (so the id cannot be swapped for another key's). NULL
 * when @p key_id is not 1 to CS_SEAL_KEY_ID_MAX of [A-Za-z0-9_-], or when
 * the random generator or OpenSSL failed.
 */
const char *cs_seal(apr_pool_t *p, const unsigned char key[CS_AES256_KEY_LEN],
                    const char *key_id, const void *plain, apr_size_t len);

/**
 * Open what cs_seal made, with the key of @p keyring (an array of
 * cs_seal_key_t) whose id the sealed text names. *pplain (NUL-terminated
 * for convenience, *plen bytes) in @p p on success.
 *
 * @return APR_SUCCESS;
 *         APR_EINVAL for anything not shaped like a v1 sealed text;
 *         APR_ENOENT when no key of the keyring has its id (retired);
 *         APR_EACCES when it does not authenticate: a wrong key, or the
 *         key id, nonce, ciphertext or tag changed;
 *         APR_EGENERAL when OpenSSL failed.
 *         On failure *pplain is NULL and *perr (when not NULL) says why,
 *         without any of the sealed or plain bytes.
 */
apr_status_t cs_open(apr_pool_t *p, const apr_array_header_t *keyring, const char *sealed,
                     unsigned char **pplain, apr_size_t *plen, const char **perr);

/** The key id a sealed text names (to re-seal what an old key sealed), or
 * NULL when it is not a v1 sealed text. */
const char *cs_sealed_key_id(apr_pool_t *p, const char *sealed);

#endif
