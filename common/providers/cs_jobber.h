/**
 * @file cs_jobber.h
 * @brief Jobber, in the provider shape: the OAuth 2.0 authorization-code
 * flow with rotating refresh tokens, the GraphQL calls that turn a lead into
 * a Jobber client and request, and the webhook check. Each request is built
 * here into a cs_http_req_t and each answer read here, without the network;
 * the module sends through cs_http_perform and decides what to do next.
 * Sources: developer.getjobber.com (API queries and mutations, versioning,
 * rate limits, refresh token rotation, webhooks) and the official Rails app
 * template.
 *
 * What the read functions return tells the caller what can help:
 *   APR_SUCCESS   done;
 *   APR_EACCES    the credentials were refused: from the GraphQL endpoint
 *                 (401) the access token expired or was revoked, so refresh
 *                 it and send again, once; from the token endpoint the grant
 *                 itself is dead (a used or revoked refresh token, a wrong
 *                 client secret): the account must be connected again;
 *   APR_EAGAIN    throttled (429, a THROTTLED GraphQL error) or Jobber
 *                 failed (5xx, no answer): send the same request again after
 *                 res->retry_after;
 *   APR_EINVAL    Jobber refused the request (GraphQL errors, userErrors,
 *                 another 4xx): the same request will fail again;
 *   APR_ENOENT    (lookups only) nothing matched;
 *   APR_EGENERAL  a 2xx we could not read.
 * res->why then says what Jobber said, never a token or a secret.
 */
#ifndef CS_JOBBER_H
#define CS_JOBBER_H

#include <apr_pools.h>
#include <apr_time.h>
#include <json-c/json.h>

#include "http/cs_http.h"

/** The production API; tests point api_base at the fake. */
#define CS_JOBBER_API_BASE      "https://api.getjobber.com/api"
/** X-JOBBER-GRAPHQL-VERSION when the app sets none: Jobber requires the
 * header and supports a version for 12 months after the next one. */
#define CS_JOBBER_API_VERSION   "2025-04-16"
/** The header Jobber signs webhooks with. */
#define CS_JOBBER_SIGNATURE_HEADER "X-Jobber-Hmac-SHA256"

/** Our Jobber app (one per installation; every account connects to it). */
typedef struct {
    const char *api_base;        /**< NULL: CS_JOBBER_API_BASE */
    const char *client_id;
    const char *client_secret;   /**< also the webhook signing key; never logged */
    const char *api_version;     /**< NULL: CS_JOBBER_API_VERSION */
    apr_interval_time_t timeout; /**< 0: cs_http's default */
} cs_jobber_app_t;

/** extensions.cost of a GraphQL answer (Jobber's leaky bucket, in points). */
typedef struct {
    int known;                   /**< 1 when the answer had it */
    double requested, actual;    /**< requestedQueryCost, actualQueryCost */
    double maximum, available;   /**< throttleStatus.maximumAvailable, currentlyAvailable */
    double restore_rate;         /**< points per second */
} cs_jobber_cost_t;

/** What an answer said beyond its data (see the file comment). */
typedef struct {
    long status;                     /**< the HTTP status, 0 without an answer */
    const char *why;                 /**< NULL on success */
    apr_interval_time_t retry_after; /**< APR_EAGAIN: wait at least this long */
    cs_jobber_cost_t cost;
    const char *version;             /**< extensions.versioning.version */
    const char *version_warning;     /**< extensions.versioning.warning: the
                                          pinned version is going away */
} cs_jobber_result_t;

/* ---- OAuth ------------------------------------------------------------- */

/** The URL to send the account owner to: {api_base}/oauth/authorize with
 * response_type=code, client_id, redirect_uri and @p state (our CSRF and
 * account binding; check it on the way back), each URL-encoded. */
const char *cs_jobber_build_authorize_url(apr_pool_t *p, const cs_jobber_app_t *app,
                                          const char *redirect_uri, const char *state);

typedef enum {
    CS_JOBBER_GRANT_CODE,        /**< the code from the redirect: first tokens */
    CS_JOBBER_GRANT_REFRESH      /**< a refresh token: the next pair */
} cs_jobber_grant_t;

/**
 * Fill @p req with POST {api_base}/oauth/token, a form of grant_type, the
 * code (with @p redirect_uri, which must be the authorize URL's) or the
 * refresh token, client_id and client_secret.
 */
void cs_jobber_build_token_request(cs_http_req_t *req, apr_pool_t *p,
                                   const cs_jobber_app_t *app, cs_jobber_grant_t grant,
                                   const char *code_or_refresh, const char *redirect_uri);

/** A token pair. Seal both before they are stored (cs_seal). */
typedef struct {
    const char *access;
    /** The NEW refresh token: Jobber rotates them, the one just used no
     * longer works, so store this one before anything else. NULL if the
     * answer carried none (keep the current one). */
    const char *refresh;
    /** When the access token stops working: expires_in when the answer has
     * it, else the JWT's exp claim, else 0 (unknown: refresh on a 401). */
    apr_time_t expires_at;
} cs_jobber_tokens_t;

/**
 * Read the token endpoint's answer (@p resp NULL: the send failed). @p now
 * is the time the request was sent. APR_SUCCESS with *pout, APR_EACCES for
 * a refused grant (invalid_grant, invalid_client: reconnect), APR_EAGAIN,
 * APR_EINVAL or APR_EGENERAL as in the file comment.
 */
apr_status_t cs_jobber_parse_token(cs_jobber_tokens_t **pout, apr_pool_t *p,
                                   const cs_http_resp_t *resp, apr_time_t now,
                                   cs_jobber_result_t *res);

/* ---- GraphQL ----------------------------------------------------------- */

/**
 * Fill @p req with POST {api_base}/graphql of {"query", "variables"}, JSON,
 * Bearer @p access and X-JOBBER-GRAPHQL-VERSION. @p variables_json is a
 * JSON object or NULL. APR_EINVAL when it is not an object or no query.
 */
apr_status_t cs_jobber_build_graphql(cs_http_req_t *req, apr_pool_t *p,
                                     const cs_jobber_app_t *app, const char *access,
                                     const char *query, const char *variables_json);

/**
 * Read any GraphQL answer: the status, the JSON, top-level "errors"
 * (THROTTLED: APR_EAGAIN with retry_after from the cost; others:
 * APR_EINVAL), extensions.cost and versioning into @p res. *pdata is the
 * "data" object on success (owned by a pool cleanup of @p p).
 */
apr_status_t cs_jobber_parse_graphql(json_object **pdata, apr_pool_t *p,
                                     const cs_http_resp_t *resp, cs_jobber_result_t *res);

/** A client, as we need it. */
typedef struct {
    const char *id;              /**< Jobber's EncodedId */
    const char *name;
    int archived;
} cs_jobber_client_t;

/**
 * Look for the client with @p email (compared without case) or @p phone
 * (compared by digits; either may be NULL, not both): clients(searchTerm:)
 * with the email, else the phone. Jobber's search is fuzzy, so the answer
 * is filtered by cs_jobber_parse_find_client. APR_EINVAL without either.
 */
apr_status_t cs_jobber_build_find_client(cs_http_req_t *req, apr_pool_t *p,
                                         const cs_jobber_app_t *app, const char *access,
                                         const char *email, const char *phone);

/** The exact match among the search results (an active client before an
 * archived one, the first otherwise), or APR_ENOENT. */
apr_status_t cs_jobber_parse_find_client(cs_jobber_client_t **pout, apr_pool_t *p,
                                         const cs_http_resp_t *resp, const char *email,
                                         const char *phone, cs_jobber_result_t *res);

/** Who to create. @c name is split at its last space into firstName and
 * lastName (one word: firstName only); a company alone is fine. */
typedef struct {
    const char *name;
    const char *company;
    const char *email;           /**< normalized, or NULL */
    const char *phone;           /**< E.164, or NULL */
} cs_jobber_new_client_t;

/** clientCreate; APR_EINVAL when it has neither a name nor a company. */
apr_status_t cs_jobber_build_create_client(cs_http_req_t *req, apr_pool_t *p,
                                           const cs_jobber_app_t *app, const char *access,
                                           const cs_jobber_new_client_t *c);

/** The created client, or APR_EINVAL with res->why from userErrors. */
apr_status_t cs_jobber_parse_create_client(cs_jobber_client_t **pout, apr_pool_t *p,
                                           const cs_http_resp_t *resp,
                                           cs_jobber_result_t *res);

/** A lead, as a Jobber request. */
typedef struct {
    const char *client_id;       /**< from find or create */
    const char *title;           /**< e.g. "Leaking water heater" */
    const char *details;         /**< what the customer wrote; sent by
                                      cs_jobber_build_request_note, since
                                      requestCreate takes free text only
                                      through a form */
} cs_jobber_lead_t;

/** requestCreate {clientId, title}; APR_EINVAL without a client id. */
apr_status_t cs_jobber_build_create_request(cs_http_req_t *req, apr_pool_t *p,
                                            const cs_jobber_app_t *app, const char *access,
                                            const cs_jobber_lead_t *lead);

/** The created request's id (*pid), or APR_EINVAL from userErrors. */
apr_status_t cs_jobber_parse_create_request(const char **pid, apr_pool_t *p,
                                            const cs_http_resp_t *resp,
                                            cs_jobber_result_t *res);

/** requestCreateNote: @p message on request @p request_id. APR_EINVAL
 * without either. */
apr_status_t cs_jobber_build_request_note(cs_http_req_t *req, apr_pool_t *p,
                                          const cs_jobber_app_t *app, const char *access,
                                          const char *request_id, const char *message);

/** The note's id (*pid), or APR_EINVAL from userErrors. */
apr_status_t cs_jobber_parse_request_note(const char **pid, apr_pool_t *p,
                                          const cs_http_resp_t *resp,
                                          cs_jobber_result_t *res);

/* ---- the account and an interrupted attempt ---------------------------- */

/** The Jobber account a token belongs to: webhooks name it (accountId), so
 * a delivery is applied to the client that connected that account. */
typedef struct {
    const char *id;              /**< EncodedId */
    const char *name;            /**< the business's name in Jobber, or NULL */
} cs_jobber_account_t;

/** query { account { id name } } */
apr_status_t cs_jobber_build_account(cs_http_req_t *req, apr_pool_t *p,
                                     const cs_jobber_app_t *app, const char *access);

/** The account, or APR_EGENERAL without an id, or as cs_jobber_parse_graphql. */
apr_status_t cs_jobber_parse_account(cs_jobber_account_t **pout, apr_pool_t *p,
                                     const cs_http_resp_t *resp, cs_jobber_result_t *res);

/**
 * Jobber has no idempotency keys, so a lead's request carries our
 * reference in its title and its note in its text (@p ref, e.g.
 * "Consult ref 123"); an attempt after one that may have been cut between
 * Jobber's answer and our commit first looks for them.
 *
 * The client's newest requests with their newest notes: client(id:) {
 * requests(first: 20) { nodes { id title notes(first: 20) { nodes { ... on
 * RequestNote { id message } } } } } }. APR_EINVAL without a client id.
 */
apr_status_t cs_jobber_build_client_requests(cs_http_req_t *req, apr_pool_t *p,
                                             const cs_jobber_app_t *app, const char *access,
                                             const char *client_id);

/**
 * In that answer, the request whose title contains @p ref (*prequest, else
 * NULL) and, in that request, the note whose message contains @p ref
 * (*pnote, else NULL). APR_SUCCESS whether or not they were found; errors
 * as cs_jobber_parse_graphql; APR_ENOENT when the client is gone.
 */
apr_status_t cs_jobber_parse_client_requests(const char **prequest, const char **pnote,
                                             apr_pool_t *p, const cs_http_resp_t *resp,
                                             const char *ref, cs_jobber_result_t *res);

/* ---- webhook items ----------------------------------------------------- */

/** What a webhook's item is now, as the contact page shows it. */
typedef struct {
    const char *kind;            /**< "client", "request", "quote", "job" */
    const char *id;
    const char *client_id;       /**< the Jobber client it belongs to (or is) */
    const char *status;          /**< requestStatus, quoteStatus, jobStatus, or
                                      "active"/"archived" for a client */
    const char *title;           /**< title, or a client's name */
    const char *web_url;         /**< jobberWebUri when it is an https URL
                                      (at most 500 bytes), else NULL */
} cs_jobber_item_t;

/** Fetch the item of a CLIENT_*, REQUEST_*, QUOTE_* or JOB_* webhook by id.
 * APR_ENOENT for another topic or no item id (nothing to fetch). */
apr_status_t cs_jobber_build_fetch_item(cs_http_req_t *req, apr_pool_t *p,
                                        const cs_jobber_app_t *app, const char *access,
                                        const char *topic, const char *item_id);

/** The item, APR_ENOENT when Jobber has none by that id (deleted), or as
 * cs_jobber_parse_graphql. */
apr_status_t cs_jobber_parse_fetch_item(cs_jobber_item_t **pout, apr_pool_t *p,
                                        const cs_http_resp_t *resp, const char *topic,
                                        cs_jobber_result_t *res);

/* ---- webhooks ---------------------------------------------------------- */

/**
 * Verify a delivery: @p header (X-Jobber-Hmac-SHA256) must be the base64
 * HMAC-SHA256 of the @p len raw bytes of @p body under the app's client
 * secret, compared in constant time (@p p holds the decoded header).
 * APR_SUCCESS, or APR_EACCES with *pwhy.
 */
apr_status_t cs_jobber_verify_webhook(apr_pool_t *p, const char *header, const char *body,
                                      apr_size_t len, const char *client_secret,
                                      const char **pwhy);

/** One delivery, {"data": {"webHookEvent": {...}}}. */
typedef struct {
    const char *topic;           /**< "CLIENT_CREATE", "APP_DISCONNECT", ... */
    const char *app_id;          /**< or NULL */
    const char *account_id;      /**< the Jobber account it is about */
    const char *item_id;         /**< the object to fetch, or NULL */
    const char *occurred_at_raw; /**< as sent, or NULL */
    apr_time_t occurred_at;      /**< 0 when absent */
    /** Delivery is at least once: "<topic>:<itemId>:<occurredAt>" (empty
     * parts when absent) names one event for deduplication. */
    const char *event_id;
} cs_jobber_webhook_t;

/** Read a (verified) delivery. APR_EINVAL with *pwhy without a topic or an
 * account id, or with an occurredAt that is not ISO 8601. */
apr_status_t cs_jobber_parse_webhook(cs_jobber_webhook_t **pout, apr_pool_t *p,
                                     const char *body, apr_size_t len, const char **pwhy);

#endif
