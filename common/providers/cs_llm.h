/**
 * @file cs_llm.h
 * @brief Message classification by an LLM behind an OpenAI-compatible
 * chat-completions API (OpenAI, or a local server such as llama.cpp, vLLM,
 * Ollama), with structured outputs: the model must answer JSON that matches
 * a strict schema, and the answer is validated again here, since not every
 * compatible server enforces the schema.
 */
#ifndef CS_LLM_H
#define CS_LLM_H

#include "classify/cs_classify.h"
#include "http/cs_http.h"

#include <apr_pools.h>
#include <apr_time.h>
#include <apr_errno.h>

/** Default timeout of a classification request. */
#define CS_LLM_DEFAULT_TIMEOUT apr_time_from_sec(10)

typedef struct {
    /** Base URL of the API, e.g. "http://127.0.0.1:8099/v1"; requests go to
     * {endpoint}/chat/completions (a trailing slash is ignored). */
    const char *endpoint;
    /** Sent as "Authorization: Bearer ..."; NULL sends no Authorization.
     * Never logged, never part of an error message. */
    const char *api_key;
    /** Model name, e.g. "gpt-4o-mini". */
    const char *model;
    /** Whole request; 0 means CS_LLM_DEFAULT_TIMEOUT. */
    apr_interval_time_t timeout;
} cs_llm_conf_t;

/**
 * Build the chat-completions request for @p text into @p req (pool @p p):
 * POST {endpoint}/chat/completions, the key as a Bearer token, the
 * timeout (CS_LLM_DEFAULT_TIMEOUT when unset) and a response limit. The
 * module sends it with cs_http_perform and hands the outcome to
 * cs_llm_read_response.
 * @return APR_SUCCESS, or APR_EINVAL with *perr for a configuration error
 *         ("no LLM endpoint configured", no model, no text).
 */
apr_status_t cs_llm_build_request(cs_http_req_t *req, apr_pool_t *p,
                                  const cs_llm_conf_t *conf, const char *text,
                                  const char **perr);

/**
 * Read the outcome of sending that request: @p sent and @p send_err are
 * cs_http_perform's status and message, @p resp its response.
 *
 * The classification is validated strictly (see cs_llm_parse_answer);
 * confidence is clamped to [0, 1]. Never falls back by itself (the caller
 * uses the builtin model instead, as a stored result says why).
 *
 * @return APR_SUCCESS; or on failure *pout NULL and *perr (when @p perr is
 *         not NULL) one of:
 *         - "timed out after 10s" (APR_TIMEUP; "connecting to
 *           http://host:port timed out after 3s" when connecting was slow),
 *         - "could not connect to http://host:port" and other transport
 *           errors with cs_http_perform's status,
 *         - "invalid LLM endpoint: ..." for an endpoint that is not an
 *           absolute http(s) URL (APR_EINVAL),
 *         - "HTTP 500 from LLM" for any non-2xx answer (APR_EGENERAL; the
 *           provider's error text is not repeated, as some echo the key),
 *         - "invalid answer: ..." when the reply or the classification in it
 *           does not match the schema (APR_EINVAL).
 */
apr_status_t cs_llm_read_response(cs_classification_t **pout, apr_pool_t *p,
                                  apr_status_t sent, const cs_http_resp_t *resp,
                                  const char *send_err, const char **perr);

/**
 * Validate the model's answer (the message content, a JSON object) strictly
 * against the schema: exactly the keys intent (a CS_INTENTS label), urgency
 * (a CS_URGENCIES label), confidence (number in [0,1]), service (string or
 * null), when (array of strings), budget (string or null). Strings must be
 * clean text (cs_text_is_clean); they are trimmed and an empty service or
 * budget becomes NULL. Fills *pout as cs_llm_read_response does.
 * @return APR_SUCCESS, or APR_EINVAL with *perr "invalid answer: ...".
 */
apr_status_t cs_llm_parse_answer(cs_classification_t **pout, apr_pool_t *p,
                                 const char *content, apr_size_t len,
                                 const char **perr);

/** The JSON body of cs_llm_build_request (exposed for tests and debugging). */
const char *cs_llm_request_body(apr_pool_t *p, const cs_llm_conf_t *conf,
                                const char *text);

#endif
