/**
 * @file cs_resend.h
 * @brief Resend, in the provider shape: the request for POST /emails is
 * built here and its answer read here, both without the network; the
 * module (mod_consult_email) sends it through the one HTTP client.
 */
#ifndef CS_RESEND_H
#define CS_RESEND_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "http/cs_http.h"

/** A client's Resend account, from its vhost's directives. */
typedef struct {
    const char *api_base;            /**< https://api.resend.com */
    const char *key;                 /**< sent as a Bearer token, never logged */
    apr_interval_time_t timeout;     /**< 0: cs_http's default */
} cs_resend_account_t;

/** One email. */
typedef struct {
    const char *from;                /**< "Name <addr>" */
    apr_array_header_t *to;          /**< of const char *, addresses */
    const char *reply_to;            /**< or NULL */
    const char *subject;
    const char *text;                /**< plain text; the HTML part is this,
                                          escaped, with its line breaks */
    const char *idempotency_key;     /**< from our row id: retries send once */
} cs_resend_email_t;

/** Fill @p req with POST {api_base}/emails for @p e (allocated in @p p). */
void cs_resend_build_send(cs_http_req_t *req, apr_pool_t *p,
                          const cs_resend_account_t *a, const cs_resend_email_t *e);

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
