/**
 * @file cs_http.h
 * @brief Outbound HTTP(S) requests: one options struct in, one response out,
 * libcurl underneath (the only file that includes curl.h is cs_http.c).
 *
 * Every request has a total timeout, a connect timeout and a response-size
 * limit (defaults below), follows no redirects, speaks only http and https
 * and never raises signals (httpd is multi-threaded). curl's error codes
 * become apr_status_t in one place, so callers decide on a small, stable
 * set of codes. Proxies come from the usual environment variables
 * (https_proxy, no_proxy), as libcurl reads them.
 */
#ifndef CS_HTTP_H
#define CS_HTTP_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <apr_errno.h>

/** Default whole-request timeout. */
#define CS_HTTP_DEFAULT_TIMEOUT         apr_time_from_sec(10)
/** Default connect timeout. */
#define CS_HTTP_DEFAULT_CONNECT_TIMEOUT apr_time_from_sec(3)
/** Default limit on the response body. */
#define CS_HTTP_DEFAULT_MAX_RESPONSE    ((apr_size_t)1024 * 1024)

/** A request. Zero-initialize it and set what you need. */
typedef struct {
    /** "GET", "POST", "DELETE", ...; NULL means "POST" when a body is
     * set, else "GET". */
    const char *method;
    /** Absolute http:// or https:// URL (required). */
    const char *url;
    /** Request body, or NULL. */
    const char *body;
    /** Bytes of @c body; 0 means strlen(body). */
    apr_size_t body_len;
    /** Content-Type of the body, or NULL (libcurl then sends
     * application/x-www-form-urlencoded for a body). */
    const char *content_type;
    /** Extra header lines, const char * "Name: value", or NULL. A line with
     * CR or LF is refused (APR_EINVAL). */
    apr_array_header_t *headers;
    /** HTTP basic authentication when @c basic_user is set. */
    const char *basic_user, *basic_pass;
    /** Sends "Authorization: Bearer <bearer>" when set. */
    const char *bearer;
    /** Whole request, connect to last byte; 0 means 10 s. */
    apr_interval_time_t timeout;
    /** Connecting (DNS, TCP, TLS); 0 means 3 s. */
    apr_interval_time_t connect_timeout;
    /** Largest response body accepted; 0 means 1 MiB. */
    apr_size_t max_response;
} cs_http_req_t;

/** A response: any HTTP status is a response, errors are for transport. */
typedef struct {
    long status;            /**< HTTP status, e.g. 200 */
    const char *body;       /**< body, NUL-terminated (may contain NULs) */
    apr_size_t len;         /**< bytes of @c body */
    apr_table_t *headers;   /**< response headers of the final response */
} cs_http_resp_t;

/**
 * Initialize libcurl (curl_global_init) once per process. Idempotent and
 * thread-safe; cs_http_perform calls it too, but modules should call it in
 * post_config or child_init, before threads exist, as libcurl prefers.
 */
void cs_http_global_init(void);

/**
 * Perform @p req, allocating the response in @p p.
 *
 * @return APR_SUCCESS whenever an HTTP response arrived, whatever its status;
 *         APR_TIMEUP when the timeout or connect timeout ran out;
 *         APR_ECONNREFUSED when no connection could be made (refused,
 *         unreachable, name not resolved): the request was not sent;
 *         APR_ENOSPC when the response body exceeds @c max_response;
 *         APR_EINVAL for an invalid request (no URL, bad header or method);
 *         APR_ENOMEM when libcurl runs out of memory;
 *         APR_EGENERAL otherwise (TLS failure, protocol error, ...).
 *         On failure *presp is NULL and *perr (when @p perr is not NULL) is
 *         a short message naming at most the scheme, host and port, never
 *         credentials, headers, path or query.
 */
apr_status_t cs_http_perform(cs_http_resp_t **presp, apr_pool_t *p,
                             const cs_http_req_t *req, const char **perr);

/** "10s" or "0.5s": how the error messages state a timeout. */
const char *cs_http_format_interval(apr_pool_t *p, apr_interval_time_t t);

#endif
