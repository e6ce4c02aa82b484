/* cs_http: the libcurl implementation of cs_http.h. */
#include "http/cs_http.h"

#include <apr_strings.h>
#include <apr_lib.h>
#include <curl/curl.h>
#include <pthread.h>
#include <string.h>

/* ---- global init ---------------------------------------------------------- */

/* curl_global_init is not thread-safe before libcurl 7.84 and must run once
 * per process; pthread_once needs no pool, unlike apr_thread_once. This is
 * the only mutable global in common/ (see STYLE.md practice 2). */
static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init_once(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void cs_http_global_init(void)
{
    pthread_once(&global_once, global_init_once);
}

const char *cs_http_format_interval(apr_pool_t *p, apr_interval_time_t t)
{
    /* Milliseconds precision, by hand: apr_psprintf's %g prints ".5". */
    apr_int64_t ms = (apr_int64_t)((t + 500) / 1000);
    char frac[8];
    int n;

    if (ms % 1000 == 0) {
        return apr_psprintf(p, "%" APR_INT64_T_FMT "s", ms / 1000);
    }
    n = apr_snprintf(frac, sizeof(frac), "%03d", (int)(ms % 1000));
    while (n > 0 && frac[n - 1] == '0') {
        frac[--n] = '\0';
    }
    return apr_psprintf(p, "%" APR_INT64_T_FMT ".%ss", ms / 1000, frac);
}

/* ---- callbacks ------------------------------------------------------------ */

typedef struct {
    apr_pool_t *p;
    char *buf;
    apr_size_t len;
    apr_size_t cap;
    apr_size_t max;
    int too_big;              /* the write callback refused data */
    apr_table_t *headers;
} resp_ctx_t;

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    resp_ctx_t *ctx = userdata;
    apr_size_t n = size * nmemb;

    if (n > ctx->max - ctx->len) {
        /* Returning short makes curl stop with CURLE_WRITE_ERROR; the flag
         * tells map_error it was the size limit (chunked or lying
         * Content-Length: CURLOPT_MAXFILESIZE only catches honest ones). */
        ctx->too_big = 1;
        return 0;
    }
    if (ctx->len + n + 1 > ctx->cap) {
        apr_size_t cap = ctx->cap ? ctx->cap : 4096;
        char *nbuf;
        while (cap < ctx->len + n + 1) {
            cap *= 2;
        }
        /* Pool memory is not freed until the pool is; doubling keeps the
         * waste below the final size, and max bounds it all. */
        nbuf = apr_palloc(ctx->p, cap);
        if (ctx->len) {
            memcpy(nbuf, ctx->buf, ctx->len);
        }
        ctx->buf = nbuf;
        ctx->cap = cap;
    }
    memcpy(ctx->buf + ctx->len, data, n);
    ctx->len += n;
    ctx->buf[ctx->len] = '\0';
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
    resp_ctx_t *ctx = userdata;
    apr_size_t n = size * nmemb;
    const char *colon, *end = data + n;
    char *name, *value;

    /* A status line starts a new response (after "100 Continue", or a
     * proxy's CONNECT answer): keep only the final response's headers. */
    if (n >= 5 && !memcmp(data, "HTTP/", 5)) {
        apr_table_clear(ctx->headers);
        return n;
    }
    colon = memchr(data, ':', n);
    if (!colon || colon == data || *data == ' ' || *data == '\t') {
        return n;   /* blank line, or obsolete folding: ignored */
    }
    while (end > colon + 1 && (end[-1] == '\r' || end[-1] == '\n'
                               || end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }
    name = apr_pstrmemdup(ctx->p, data, (apr_size_t)(colon - data));
    colon++;
    while (colon < end && (*colon == ' ' || *colon == '\t')) {
        colon++;
    }
    value = apr_pstrmemdup(ctx->p, colon, (apr_size_t)(end - colon));
    apr_table_add(ctx->headers, name, value);
    return n;
}

/* ---- helpers -------------------------------------------------------------- */

static int has_line_break(const char *s)
{
    return s && strpbrk(s, "\r\n") != NULL;
}

static int is_token(const char *s)
{
    if (!*s) {
        return 0;
    }
    for (; *s; s++) {
        if (!apr_isalpha(*s) && *s != '-' && *s != '_') {
            return 0;
        }
    }
    return 1;
}

static long to_ms(apr_interval_time_t t)
{
    apr_interval_time_t ms = (t + 999) / 1000;
    return ms < 1 ? 1 : (long)ms;
}

/* "https://host:port" of @p url for messages: no userinfo, path or query,
 * which could hold credentials. Returns APR_EINVAL for a URL that is not
 * absolute http(s). */
static apr_status_t describe_url(const char **pdest, apr_pool_t *p, const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;
    apr_status_t rv = APR_EINVAL;

    *pdest = NULL;
    if (!u) {
        return APR_ENOMEM;
    }
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK
        || curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK
        || curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK
        || curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        goto leave;
    }
    if (strcasecmp(scheme, "http") && strcasecmp(scheme, "https")) {
        goto leave;
    }
    *pdest = apr_pstrcat(p, scheme, "://", host, ":", port, NULL);
    rv = APR_SUCCESS;
leave:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return rv;
}

/* The one place where curl's error codes become apr_status_t. */
static apr_status_t map_error(CURLcode cc, CURL *h, const resp_ctx_t *ctx,
                              const char *dest, apr_interval_time_t timeout,
                              apr_interval_time_t connect_timeout,
                              apr_pool_t *p, const char **msg)
{
    curl_off_t connected = 0;

    switch (cc) {
    case CURLE_OK:
        *msg = NULL;
        return APR_SUCCESS;
    case CURLE_OPERATION_TIMEDOUT:
        curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &connected);
        if (connected == 0 && connect_timeout < timeout) {
            *msg = apr_psprintf(p, "connecting to %s timed out after %s", dest,
                                cs_http_format_interval(p, connect_timeout));
        }
        else {
            *msg = apr_psprintf(p, "timed out after %s",
                                cs_http_format_interval(p, timeout));
        }
        return APR_TIMEUP;
    case CURLE_COULDNT_CONNECT:
        *msg = apr_psprintf(p, "could not connect to %s", dest);
        return APR_ECONNREFUSED;
    case CURLE_COULDNT_RESOLVE_HOST:
        *msg = apr_psprintf(p, "could not resolve the host of %s", dest);
        return APR_ECONNREFUSED;
    case CURLE_COULDNT_RESOLVE_PROXY:
        *msg = "could not resolve the proxy";
        return APR_ECONNREFUSED;
    case CURLE_FILESIZE_EXCEEDED:
        *msg = apr_psprintf(p, "response larger than %" APR_SIZE_T_FMT " bytes",
                            ctx->max);
        return APR_ENOSPC;
    case CURLE_WRITE_ERROR:
        if (ctx->too_big) {
            *msg = apr_psprintf(p, "response larger than %" APR_SIZE_T_FMT
                                " bytes", ctx->max);
            return APR_ENOSPC;
        }
        break;
    case CURLE_UNSUPPORTED_PROTOCOL:
        *msg = "unsupported URL scheme";
        return APR_EINVAL;
    default:
        break;
    }
    /* curl_easy_strerror's texts are fixed strings: no URL, no secrets. */
    *msg = apr_psprintf(p, "request to %s failed: %s", dest, curl_easy_strerror(cc));
    return APR_EGENERAL;
}

/* The caller's request with the defaults applied: what the checks, the
 * curl options and map_error's messages need. */
typedef struct {
    const cs_http_req_t *req;
    const char *method;
    const char *dest;          /* describe_url's form of the URL, for messages */
    apr_interval_time_t timeout;
    apr_interval_time_t connect_timeout;
} plan_t;

static void plan_init(plan_t *pl, const cs_http_req_t *req)
{
    pl->req = req;
    pl->dest = NULL;
    pl->timeout = req->timeout > 0 ? req->timeout : CS_HTTP_DEFAULT_TIMEOUT;
    pl->connect_timeout = req->connect_timeout > 0 ? req->connect_timeout
                                                   : CS_HTTP_DEFAULT_CONNECT_TIMEOUT;
    /* A longer connect timeout could never fire: the total one bounds
     * connecting too. */
    if (pl->connect_timeout > pl->timeout) {
        pl->connect_timeout = pl->timeout;
    }
    pl->method = req->method ? req->method : (req->body ? "POST" : "GET");
}

/* The write and header callbacks' state: the body limit and what they
 * collect. */
static void resp_ctx_init(resp_ctx_t *ctx, apr_pool_t *p, const cs_http_req_t *req)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->p = p;
    ctx->max = req->max_response ? req->max_response : CS_HTTP_DEFAULT_MAX_RESPONSE;
    ctx->headers = apr_table_make(p, 16);
}

/* What can be refused before any header or handle is built, in the order
 * their messages take precedence. Sets pl->dest. */
static apr_status_t check_request(plan_t *pl, apr_pool_t *p, const char **msg)
{
    apr_status_t rv;

    cs_http_global_init();
    if (global_rc != CURLE_OK) {
        *msg = "libcurl initialization failed";
        return APR_EGENERAL;
    }
    if (!pl->req->url || !*pl->req->url) {
        *msg = "no URL";
        return APR_EINVAL;
    }
    rv = describe_url(&pl->dest, p, pl->req->url);
    if (rv != APR_SUCCESS) {
        *msg = rv == APR_EINVAL ? "not an absolute http or https URL"
                                : "out of memory";
        return rv;
    }
    if (!is_token(pl->method)) {
        *msg = "invalid method";
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

/* curl_slist_append returns NULL, and leaves the list as it was, when out
 * of memory: *phdrs always stays the list to free. */
static apr_status_t append_header(struct curl_slist **phdrs, const char *line,
                                  const char **msg)
{
    struct curl_slist *tmp = curl_slist_append(*phdrs, line);

    if (!tmp) {
        *msg = "out of memory";
        return APR_ENOMEM;
    }
    *phdrs = tmp;
    return APR_SUCCESS;
}

/* Header lines: the caller's, then ours (curl sends them in order). A line
 * break in any of them would start a header of its own, so it is refused.
 * On failure *phdrs holds the lines so far, for the caller to free. */
static apr_status_t build_headers(struct curl_slist **phdrs, apr_pool_t *p,
                                  const cs_http_req_t *req, const char **msg)
{
    apr_status_t rv;
    int i;

    if (req->headers) {
        for (i = 0; i < req->headers->nelts; i++) {
            const char *line = APR_ARRAY_IDX(req->headers, i, const char *);
            if (!line || has_line_break(line)) {
                *msg = "header line with a line break";
                return APR_EINVAL;
            }
            if ((rv = append_header(phdrs, line, msg)) != APR_SUCCESS) {
                return rv;
            }
        }
    }
    if (has_line_break(req->content_type) || has_line_break(req->bearer)) {
        *msg = "header value with a line break";
        return APR_EINVAL;
    }
    if (req->content_type
        && (rv = append_header(phdrs, apr_pstrcat(p, "Content-Type: ",
                                                  req->content_type, NULL),
                               msg)) != APR_SUCCESS) {
        return rv;
    }
    if (req->bearer
        && (rv = append_header(phdrs, apr_pstrcat(p, "Authorization: Bearer ",
                                                  req->bearer, NULL),
                               msg)) != APR_SUCCESS) {
        return rv;
    }
    /* No "Expect: 100-continue" round trip for large bodies: every server
     * we talk to reads the body anyway, and some answer the 100 late. */
    return append_header(phdrs, "Expect:", msg);
}

/* Set an option; after the first failure the rest are skipped, so the
 * caller checks cc once. */
#define SETOPT(opt, val) do {                                                 \
        if (cc == CURLE_OK) {                                                 \
            cc = curl_easy_setopt(h, opt, val);                               \
        }                                                                     \
    } while (0)

/* The options every request gets: transport, limits and callbacks. */
static CURLcode set_transfer_options(CURL *h, const plan_t *pl, resp_ctx_t *ctx,
                                     struct curl_slist *hdrs)
{
    CURLcode cc = CURLE_OK;

    /* Multi-threaded httpd: no SIGALRM for DNS timeouts, no SIGPIPE games
     * (httpd ignores SIGPIPE itself). */
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_URL, pl->req->url);
#if LIBCURL_VERSION_NUM >= 0x075500     /* 7.85.0 */
    SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    SETOPT(CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    /* A redirect would carry our credentials to wherever it points; a 3xx
     * is handed to the caller as a response instead. */
    SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(CURLOPT_TIMEOUT_MS, to_ms(pl->timeout));
    SETOPT(CURLOPT_CONNECTTIMEOUT_MS, to_ms(pl->connect_timeout));
    SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)ctx->max);
    SETOPT(CURLOPT_USERAGENT, "Consult/1.0");
    SETOPT(CURLOPT_WRITEFUNCTION, on_body);
    SETOPT(CURLOPT_WRITEDATA, ctx);
    SETOPT(CURLOPT_HEADERFUNCTION, on_header);
    SETOPT(CURLOPT_HEADERDATA, ctx);
    SETOPT(CURLOPT_HTTPHEADER, hdrs);
    return cc;
}

/* Credentials, method and body. curl derives the verb from the body
 * options (POSTFIELDS: POST, NOBODY: HEAD, neither: GET), so
 * CUSTOMREQUEST is set only for a verb those cannot express. */
static CURLcode set_request_options(CURL *h, const plan_t *pl)
{
    const cs_http_req_t *req = pl->req;
    const char *method = pl->method;
    CURLcode cc = CURLE_OK;
    apr_size_t body_len;

    if (req->basic_user) {
        SETOPT(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        SETOPT(CURLOPT_USERNAME, req->basic_user);
        SETOPT(CURLOPT_PASSWORD, req->basic_pass ? req->basic_pass : "");
    }
    if (req->body) {
        body_len = req->body_len ? req->body_len : strlen(req->body);
        SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        SETOPT(CURLOPT_POSTFIELDS, req->body);
        if (strcmp(method, "POST")) {
            SETOPT(CURLOPT_CUSTOMREQUEST, method);
        }
    }
    else if (!strcmp(method, "POST")) {
        /* An empty body still has to be set, or curl would send a GET. */
        SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
        SETOPT(CURLOPT_POSTFIELDS, "");
    }
    else if (!strcmp(method, "HEAD")) {
        SETOPT(CURLOPT_NOBODY, 1L);
    }
    else if (strcmp(method, "GET")) {
        SETOPT(CURLOPT_CUSTOMREQUEST, method);
    }
    return cc;
}

/* A new handle for @p pl, into *ph (left for the caller to clean up even
 * when an option is refused). */
static apr_status_t make_handle(CURL **ph, const plan_t *pl, resp_ctx_t *ctx,
                                struct curl_slist *hdrs, apr_pool_t *p,
                                const char **msg)
{
    CURLcode cc;

    if (!(*ph = curl_easy_init())) {
        *msg = "out of memory";
        return APR_ENOMEM;
    }
    cc = set_transfer_options(*ph, pl, ctx, hdrs);
    if (cc == CURLE_OK) {
        cc = set_request_options(*ph, pl);
    }
    if (cc != CURLE_OK) {
        *msg = apr_psprintf(p, "libcurl refused an option: %s", curl_easy_strerror(cc));
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

/* The finished transfer as the caller sees it; the body and headers stay
 * in @p p, where the callbacks put them. */
static cs_http_resp_t *make_response(CURL *h, apr_pool_t *p, const resp_ctx_t *ctx)
{
    cs_http_resp_t *resp;
    long status = 0;

    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    resp = apr_pcalloc(p, sizeof(*resp));
    resp->status = status;
    resp->body = ctx->buf ? ctx->buf : "";
    resp->len = ctx->len;
    resp->headers = ctx->headers;
    return resp;
}

apr_status_t cs_http_perform(cs_http_resp_t **presp, apr_pool_t *p,
                             const cs_http_req_t *req, const char **perr)
{
    CURL *h = NULL;
    struct curl_slist *hdrs = NULL;
    resp_ctx_t ctx;
    plan_t pl;
    const char *msg = NULL;
    apr_status_t rv;

    *presp = NULL;
    resp_ctx_init(&ctx, p, req);
    plan_init(&pl, req);
    /* Each step sets msg when it fails; whatever was built is freed below. */
    if ((rv = check_request(&pl, p, &msg)) == APR_SUCCESS
        && (rv = build_headers(&hdrs, p, req, &msg)) == APR_SUCCESS
        && (rv = make_handle(&h, &pl, &ctx, hdrs, p, &msg)) == APR_SUCCESS) {
        rv = map_error(curl_easy_perform(h), h, &ctx, pl.dest, pl.timeout,
                       pl.connect_timeout, p, &msg);
        if (rv == APR_SUCCESS) {
            *presp = make_response(h, p, &ctx);
        }
    }
    if (h) {
        curl_easy_cleanup(h);
    }
    curl_slist_free_all(hdrs);
    if (perr) {
        *perr = rv == APR_SUCCESS ? NULL : msg;
    }
    return rv;
}
