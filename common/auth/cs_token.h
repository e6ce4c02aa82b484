/**
 * @file cs_token.h
 * @brief Signed form tokens: the server stamps each form it serves with the
 * time and a random nonce, signed with HMAC-SHA256 under the server secret
 * and bound to the client. A post then proves when its form was served
 * (too fast means a bot) and the nonce makes a re-post recognizable.
 *
 * Format: "v1.<issued, unix milliseconds>.<nonce, 32 hex>.<mac, 64 hex>".
 */
#ifndef CS_TOKEN_H
#define CS_TOKEN_H

#include <apr_pools.h>
#include <apr_time.h>

typedef enum {
    CS_TOKEN_OK = 0,
    CS_TOKEN_MISSING,
    CS_TOKEN_INVALID,      /**< malformed, wrong signature or another client's */
    CS_TOKEN_TOO_FAST,     /**< posted sooner than a person could fill the form */
    CS_TOKEN_EXPIRED
} cs_token_verdict_t;

/** A fresh token for @p scope (the client slug), issued at @p now. */
const char *cs_form_token_issue(apr_pool_t *p, const unsigned char *secret,
                                apr_size_t secret_len, const char *scope,
                                apr_time_t now);

/**
 * Check @p token. The signature is compared in constant time. On any
 * verdict but MISSING/INVALID, *pnonce is the token's nonce (use it as the
 * idempotency key: a replayed token finds the first submission).
 */
cs_token_verdict_t cs_form_token_check(apr_pool_t *p, const char *token,
                                       const unsigned char *secret,
                                       apr_size_t secret_len, const char *scope,
                                       apr_time_t now, apr_interval_time_t min_age,
                                       apr_interval_time_t max_age,
                                       const char **pnonce);

/** Short reason for a verdict ("too_fast", ...), stored as a spam reason. */
const char *cs_token_verdict_name(cs_token_verdict_t v);

#endif
