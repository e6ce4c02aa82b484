/**
 * @file cs_resend.h
 * @brief Resend's answer to POST /emails, read without the network.
 */
#ifndef CS_RESEND_H
#define CS_RESEND_H

#include <apr_pools.h>

/**
 * Read Resend's answer (HTTP @p status, JSON @p body of @p len bytes).
 *
 * 2xx with {"id": "..."}: APR_SUCCESS, *pid set. Otherwise APR_EGENERAL
 * with *pwhy saying what Resend said ({"name": ..., "message": ...}) and
 * *ppermanent telling whether a retry cannot help: 4xx other than 429 and
 * other than a concurrent request with the same Idempotency-Key.
 */
apr_status_t cs_resend_parse_answer(apr_pool_t *p, long status, const char *body,
                                    apr_size_t len, const char **pid, const char **pwhy,
                                    int *ppermanent);

#endif
