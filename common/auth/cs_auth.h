/**
 * @file cs_auth.h
 * @brief Authentication primitives for the staff dashboard: argon2id
 * password hashes, session and CSRF tokens, and the login throttle curve.
 *
 * Passwords are stored as the standard argon2id encoding
 * ("$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>", salt and
 * hash in unpadded base64), so the cost travels with each hash and can be
 * raised later without a migration (see cs_password_needs_rehash).
 *
 * Session tokens are 256 random bits in base64url; the database keeps only
 * their SHA-256 (cs_token_hash), so a leaked table yields no usable cookie.
 * CSRF tokens are derived from the session hash with the server secret, so
 * they need no storage of their own.
 *
 * Everything here is stateless and thread safe.
 */
#ifndef CS_AUTH_H
#define CS_AUTH_H

#include <apr_pools.h>
#include <apr_time.h>

/** Longest password accepted, in bytes (longer ones only buy DoS). */
#define CS_PASSWORD_MAX_LEN 1024

/** Default argon2id cost: OWASP's minimum for argon2id (19 MiB, 2 passes,
 * 1 lane). */
#define CS_ARGON2_DEFAULT_M_KIB 19456
#define CS_ARGON2_DEFAULT_T     2
#define CS_ARGON2_DEFAULT_P     1

/** Upper bounds on any cost, hashed or verified: a corrupt or tampered row
 * must not make one login allocate gigabytes or spin for minutes in an
 * httpd worker. */
#define CS_ARGON2_MAX_M_KIB (1024 * 1024)
#define CS_ARGON2_MAX_T     64
#define CS_ARGON2_MAX_P     16

/** Length of cs_random_token and cs_csrf_token values (32 bytes in
 * unpadded base64url). */
#define CS_TOKEN_LEN 43

/** Length of cs_token_hash values (SHA-256 in hex). */
#define CS_TOKEN_HASH_LEN 64

/** argon2id cost parameters. */
typedef struct {
    apr_uint32_t m_cost_kib;    /**< memory, KiB; at least 8 per lane */
    apr_uint32_t t_cost;        /**< passes over memory, at least 1 */
    apr_uint32_t parallelism;   /**< lanes (and threads), at least 1 */
} cs_argon2_params_t;

/* ---- passwords ---------------------------------------------------------- */

/**
 * Hash @p password with argon2id under a fresh 16-byte random salt.
 *
 * @param pout     the encoded hash, allocated in @p p; NULL on failure
 * @param p        pool for the result
 * @param password the password, 1 to CS_PASSWORD_MAX_LEN bytes
 * @param params   cost, or NULL for the defaults (m=19456, t=2, p=1)
 * @return APR_SUCCESS; APR_EINVAL for an empty, NULL or too long password,
 *         or params out of range (see CS_ARGON2_MAX_*); APR_ENOMEM if
 *         argon2 cannot allocate its memory; APR_EGENERAL if no random
 *         salt could be had or argon2 failed otherwise.
 */
apr_status_t cs_password_hash(const char **pout, apr_pool_t *p,
                              const char *password,
                              const cs_argon2_params_t *params);

/**
 * Does @p password match @p encoded? The comparison inside argon2 is
 * constant time. Only encodings cs_password_hash makes are accepted
 * (argon2id, version 19, costs within CS_ARGON2_MAX_*).
 *
 * @return 1 on a match; 0 on a mismatch, a NULL, empty or too long
 *         password, or a NULL or malformed @p encoded.
 */
int cs_password_verify(const char *encoded, const char *password);

/**
 * Should the hash be replaced, after a successful login, by a fresh
 * cs_password_hash of the same password? True when @p encoded is weaker
 * than @p params (NULL: the defaults): less memory or fewer passes than
 * current, a salt under 16 bytes or a hash under 32. A different lane
 * count alone does not count, since it does not change the total work.
 * A malformed @p encoded also says yes (it cannot verify anyway).
 *
 * @return 1 if a rehash is due, else 0.
 */
int cs_password_needs_rehash(const char *encoded,
                             const cs_argon2_params_t *params);

/**
 * Spend the time a cs_password_verify would, against a fixed dummy hash at
 * the default cost. Call it when the login names no known user (or a
 * disabled one), so the response time does not tell which user names
 * exist. It takes the same path as cs_password_verify, including the early
 * return for a missing or too long password. Deployments that hash with
 * other than the default params get a burn at the default cost.
 */
void cs_password_burn(const char *password);

/* ---- session and CSRF tokens -------------------------------------------- */

/**
 * A fresh session (or other bearer) token: 256 random bits in unpadded
 * base64url, CS_TOKEN_LEN characters, safe in a cookie as it is.
 *
 * @return the token in @p p, or NULL if no randomness could be had.
 */
const char *cs_random_token(apr_pool_t *p);

/**
 * What the database stores for @p token: its SHA-256 as CS_TOKEN_HASH_LEN
 * lowercase hex digits. No salt or key is needed since the token already
 * carries 256 random bits, and a plain hash can be looked up by equality.
 *
 * @return the hash in @p p, or NULL for a NULL @p token.
 */
const char *cs_token_hash(apr_pool_t *p, const char *token);

/**
 * The CSRF token for a session: HMAC-SHA256(secret, "csrf|" +
 * @p session_token_hash) in unpadded base64url (CS_TOKEN_LEN characters).
 * It is the same for every form of a session, so nothing need be stored.
 *
 * @return the token in @p p, or NULL when @p secret is NULL or empty or
 *         @p session_token_hash is NULL (no token without a key).
 */
const char *cs_csrf_token(apr_pool_t *p, const unsigned char *secret,
                          apr_size_t len, const char *session_token_hash);

/**
 * Is @p presented the CSRF token of the session? The comparison is
 * constant time.
 *
 * @return 1 if it is; 0 otherwise, and whenever cs_csrf_token would give
 *         NULL or @p presented is NULL or of the wrong length.
 */
int cs_csrf_check(apr_pool_t *p, const unsigned char *secret, apr_size_t len,
                  const char *session_token_hash, const char *presented);

/**
 * Could @p s be a token from cs_random_token: exactly CS_TOKEN_LEN
 * characters of the base64url alphabet? A cheap way to turn away junk
 * cookies before any database query. NULL gives 0.
 */
int cs_token_looks_valid(const char *s);

/* ---- login throttle ----------------------------------------------------- */

/**
 * How long a login must wait after the last failure, given the number of
 * failed attempts in the recent window (per account or per address; the
 * caller keeps the counts). The first 4 failures cost nothing, so typos
 * never lock a person out; from the 5th on the wait starts at 1 second
 * and doubles with each failure (5: 1 s, 6: 2 s, 7: 4 s, ... 14: 512 s),
 * capped at 15 minutes from the 15th failure on. Once capped, a guesser
 * gets one try per 15 minutes until the window forgets the failures.
 *
 * @param recent_failures failures so far; 0 or less means none
 * @return the delay; 0 means the attempt may proceed at once
 */
apr_interval_time_t cs_login_delay(int recent_failures);

#endif
