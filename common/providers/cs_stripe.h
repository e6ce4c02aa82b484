/**
 * @file cs_stripe.h
 * @brief Stripe, in the provider shape: the requests for PaymentIntents and
 * Refunds are built here and their answers read here, webhook signatures
 * (Stripe-Signature) are checked here and events parsed here, all without
 * the network; the module sends through the one HTTP client.
 *
 * Amounts are integers in the currency's smallest unit (cents), as in
 * domain/cs_menu and as Stripe takes them; there is no floating point
 * anywhere on the way.
 *
 * The signature check follows Stripe's SDKs (stripe-node Webhooks.ts,
 * stripe-python _webhook.py): HMAC-SHA256 of "<t>.<raw body>" under the
 * endpoint secret as given ("whsec_..." is the key itself, not base64),
 * lowercase hex, any v1 matching, a one-sided age limit.
 */
#ifndef CS_STRIPE_H
#define CS_STRIPE_H

#include <apr_pools.h>
#include <apr_errno.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "http/cs_http.h"
#include "http/cs_pair.h"

/** Where the API lives. */
#define CS_STRIPE_API_BASE      "https://api.stripe.com"
/** The Stripe-Version sent unless the account names another: the version
 * stripe-node pinned when this unit was written. Pinning it keeps the
 * answers' shape fixed whatever the account's default version is. */
#define CS_STRIPE_API_VERSION   "2026-07-29.dahlia"
/** The SDKs' default age limit for a webhook signature, in seconds. */
#define CS_STRIPE_TOLERANCE     300
/** Stripe's limits: amounts have at most 8 digits; idempotency keys at most
 * 255 characters; metadata at most 50 keys of at most 40 characters
 * (without '[' or ']') with values of at most 500 characters. */
#define CS_STRIPE_MAX_AMOUNT    99999999
#define CS_STRIPE_MAX_KEY       255
#define CS_STRIPE_MAX_METADATA  50

/** A client's Stripe account, from its vhost's directives. */
typedef struct {
    const char *api_base;           /**< no trailing '/'; NULL or "": CS_STRIPE_API_BASE */
    const char *secret_key;         /**< sk_live_/sk_test_/rk_...: sent as a
                                         Bearer token, never logged */
    const char *api_version;        /**< Stripe-Version; NULL: CS_STRIPE_API_VERSION;
                                         "": none (the account's default) */
    apr_interval_time_t timeout;    /**< 0: cs_http's default */
} cs_stripe_account_t;

/* ---- requests (built here, sent by the module) --------------------------- */

/** A PaymentIntent to create for one order. */
typedef struct {
    apr_int64_t amount;             /**< smallest unit (cents), 1..CS_STRIPE_MAX_AMOUNT */
    const char *currency;           /**< ISO 4217, three letters; sent lowercase */
    const char *order_id;           /**< our order: metadata[order_id], required */
    const char *description;        /**< or NULL (customers may see it on receipts) */
    const char *receipt_email;      /**< or NULL: Stripe emails a receipt there */
    const apr_array_header_t *metadata; /**< more cs_pair_t metadata, or NULL */
    /** Required: derived from the order (e.g. "order-42-pi-1"), so a retry
     * of a request whose answer was lost cannot create a second intent. A
     * new amount for the same order needs a new key (Stripe refuses a key
     * reused with other parameters: CS_STRIPE_ERR_IDEMPOTENCY). */
    const char *idempotency_key;
} cs_stripe_intent_req_t;

/**
 * Fill @p req with POST {api_base}/v1/payment_intents: amount, currency,
 * automatic_payment_methods[enabled]=true, description, receipt_email,
 * metadata[order_id] and the extra metadata, form-encoded (brackets as
 * they are, as the SDKs send them), with the Idempotency-Key header.
 *
 * @return APR_SUCCESS, or APR_EINVAL with *pwhy saying which input is out
 *         of Stripe's limits (nothing is sent then; @p pwhy may be NULL).
 */
apr_status_t cs_stripe_build_create_intent(cs_http_req_t *req, apr_pool_t *p,
                                           const cs_stripe_account_t *a,
                                           const cs_stripe_intent_req_t *in,
                                           const char **pwhy);

/** Fill @p req with GET {api_base}/v1/payment_intents/{id}. APR_EINVAL when
 * @p intent_id is not a Stripe id (letters, digits and '_' only). */
apr_status_t cs_stripe_build_retrieve_intent(cs_http_req_t *req, apr_pool_t *p,
                                             const cs_stripe_account_t *a,
                                             const char *intent_id);

/** Fill @p req with POST {api_base}/v1/payment_intents/{id}/cancel
 * (cancellation_reason=abandoned, Idempotency-Key from the id): an unpaid
 * order let go, so its pay page can no longer take the money. Stripe
 * refuses it (invalid_request_error) for an intent that succeeded or is
 * processing. APR_EINVAL when @p intent_id is not a Stripe id. */
apr_status_t cs_stripe_build_cancel_intent(cs_http_req_t *req, apr_pool_t *p,
                                           const cs_stripe_account_t *a,
                                           const char *intent_id);

/** A refund of (part of) a PaymentIntent's charge. */
typedef struct {
    const char *payment_intent;     /**< pi_..., required */
    apr_int64_t amount;             /**< 0: all that is not refunded yet;
                                         else 1..CS_STRIPE_MAX_AMOUNT (partial) */
    const char *reason;             /**< duplicate | fraudulent |
                                         requested_by_customer, or NULL */
    const char *order_id;           /**< metadata[order_id], or NULL */
    const apr_array_header_t *metadata; /**< more cs_pair_t metadata, or NULL */
    const char *idempotency_key;    /**< required: from our refund row */
} cs_stripe_refund_req_t;

/** Fill @p req with POST {api_base}/v1/refunds (payment_intent, amount,
 * reason, metadata), with the Idempotency-Key header. APR_EINVAL and *pwhy
 * as cs_stripe_build_create_intent. */
apr_status_t cs_stripe_build_refund(cs_http_req_t *req, apr_pool_t *p,
                                    const cs_stripe_account_t *a,
                                    const cs_stripe_refund_req_t *in,
                                    const char **pwhy);

/* ---- answers ---------------------------------------------------------- */

/** What went wrong, sorted by what to do about it. */
typedef enum {
    CS_STRIPE_ERR_NONE = 0,
    /** No answer (refused, timed out, cut off): retry with the same key;
     * Stripe either never saw it or replays what it answered. */
    CS_STRIPE_ERR_TRANSPORT,
    /** 5xx or 424: trouble at Stripe or behind it. Retry with the same key
     * (unless Stripe-Should-Retry said false: then it already had its one
     * effect and the same key would only replay this answer). */
    CS_STRIPE_ERR_UNAVAILABLE,
    /** 429, or code rate_limit / lock_timeout: retry later, same key. */
    CS_STRIPE_ERR_RATE_LIMIT,
    /** 409: a request with the same Idempotency-Key is still running at
     * Stripe (nothing was saved for this one). Retry later with the same
     * key: it then answers what the first one did. */
    CS_STRIPE_ERR_CONFLICT,
    /** type idempotency_error: the key was used before with other
     * parameters (the order changed after its intent was created). The
     * same request can never succeed; a new operation needs a new key. */
    CS_STRIPE_ERR_IDEMPOTENCY,
    /** 402 / card_error: the customer's card was declined or failed; tell
     * them (message is meant for them) and let them try another. */
    CS_STRIPE_ERR_CARD,
    /** 401 / 403: our key is wrong, revoked or lacks a permission. */
    CS_STRIPE_ERR_AUTH,
    /** Any other 4xx (invalid_request_error: a bad parameter, a missing
     * object, an intent in the wrong state): our request, not a retry. */
    CS_STRIPE_ERR_INVALID,
    /** A 2xx whose body is not the object asked for. A retry with the same
     * key replays the saved answer, so this will not go away by itself. */
    CS_STRIPE_ERR_UNREADABLE
} cs_stripe_err_kind_t;

/** A Stripe error: {"error": {"type", "code", "decline_code", "message",
 * "param", "payment_intent": {...}}} plus the HTTP status and headers.
 * Strings absent from the answer are NULL. */
typedef struct {
    cs_stripe_err_kind_t kind;
    long status;                    /**< HTTP status; 0 for a transport failure */
    const char *type;               /**< card_error, invalid_request_error, api_error,
                                         idempotency_error, authentication_error, ... */
    const char *code;               /**< card_declined, resource_missing, rate_limit, ... */
    const char *decline_code;       /**< generic_decline, insufficient_funds, ... */
    const char *message;            /**< Stripe's words (for a card error: the customer's) */
    const char *param;              /**< the parameter at fault */
    const char *payment_intent;     /**< error.payment_intent.id (card errors) */
    const char *request_id;         /**< the Request-Id answer header: for Stripe support */
    int retry;                      /**< 1: the same request with the same key may
                                         succeed later; 0: it never will */
    const char *why;                /**< one line for the log, no secrets */
} cs_stripe_error_t;

/**
 * Sort a non-2xx answer (HTTP @p status, answer @p headers or NULL, JSON
 * @p body of @p len bytes, which may be anything). Always fills @p e.
 *
 * A Stripe-Should-Retry header ("true"/"false") decides e->retry over the
 * status, as the SDKs let it; otherwise 5xx, 424, 429 and 409 retry and
 * every other 4xx does not.
 */
void cs_stripe_parse_error(apr_pool_t *p, long status, apr_table_t *headers,
                           const char *body, apr_size_t len, cs_stripe_error_t *e);

/** Fill @p e for a request that got no answer: cs_http_perform's @p rv
 * (not APR_SUCCESS) and its message @p msg (or NULL). APR_EINVAL (a request
 * cs_http refused) and APR_ENOSPC (an answer over the size limit) do not
 * retry; every other failure does, with the same key. */
void cs_stripe_transport_error(apr_pool_t *p, apr_status_t rv, const char *msg,
                               cs_stripe_error_t *e);

/** A PaymentIntent, as far as we use it. Absent strings are NULL, absent
 * amounts 0. */
typedef struct {
    const char *id;                 /**< pi_... */
    const char *status;             /**< requires_payment_method, requires_confirmation,
                                         requires_action, processing, requires_capture,
                                         canceled, succeeded (others kept as given) */
    apr_int64_t amount;             /**< asked, smallest unit */
    apr_int64_t amount_received;    /**< collected so far */
    const char *currency;           /**< lowercase ISO 4217 */
    const char *client_secret;      /**< for the payment page only: never log or store it */
    const char *order_id;           /**< metadata.order_id */
    const char *latest_charge;      /**< ch_..., or NULL */
    const char *error_code;         /**< last_payment_error.code */
    const char *error_decline_code; /**< last_payment_error.decline_code */
    const char *error_message;      /**< last_payment_error.message */
    apr_int64_t created;            /**< Unix seconds */
    int livemode;                   /**< 1 live, 0 test */
} cs_stripe_intent_t;

/**
 * Read the answer to a create or retrieve of a PaymentIntent.
 *
 * @return APR_SUCCESS with *pi filled when @p status is 2xx and the body is
 *         a PaymentIntent (object "payment_intent", a non-empty id, a status
 *         and an integer amount); APR_EGENERAL otherwise, with *e filled
 *         (cs_stripe_parse_error, or CS_STRIPE_ERR_UNREADABLE for a 2xx).
 *         @p e may be NULL.
 */
apr_status_t cs_stripe_parse_intent(apr_pool_t *p, long status, apr_table_t *headers,
                                    const char *body, apr_size_t len,
                                    cs_stripe_intent_t *pi, cs_stripe_error_t *e);

/** A Refund. Absent strings are NULL. */
typedef struct {
    const char *id;                 /**< re_... */
    const char *status;             /**< pending, requires_action, succeeded, failed, canceled */
    apr_int64_t amount;
    const char *currency;
    const char *payment_intent;
    const char *charge;
    const char *order_id;           /**< metadata.order_id */
    const char *reason;
    const char *failure_reason;     /**< when status is failed */
} cs_stripe_refund_t;

/** Read the answer to POST /v1/refunds: as cs_stripe_parse_intent, for an
 * object "refund" with an id, a status and an integer amount. */
apr_status_t cs_stripe_parse_refund(apr_pool_t *p, long status, apr_table_t *headers,
                                    const char *body, apr_size_t len,
                                    cs_stripe_refund_t *r, cs_stripe_error_t *e);

/* ---- webhooks ----------------------------------------------------------- */

/** The verdict on a Stripe-Signature header. */
typedef enum {
    CS_STRIPE_SIG_OK = 0,
    CS_STRIPE_SIG_NO_HEADER,        /**< NULL or empty header */
    CS_STRIPE_SIG_MALFORMED,        /**< no t=, a t= that is not a number, two t= */
    CS_STRIPE_SIG_NO_V1,            /**< well formed, but no v1= (e.g. only v0=) */
    CS_STRIPE_SIG_NO_MATCH,         /**< no v1 is the HMAC of this body under any secret */
    CS_STRIPE_SIG_STALE,            /**< authentic, but signed more than the tolerance ago */
    CS_STRIPE_SIG_NO_SECRET         /**< we were given no (non-empty) secret */
} cs_stripe_sig_t;

/**
 * Check a Stripe-Signature header against the raw body, in the SDKs'
 * order: parse (items split on ',', each on its first '='; keep t and
 * every v1, ignore v0 and any other scheme), then every v1 against
 * HMAC-SHA256("<t>.<body>") under every secret, in constant time, then
 * the age: now - t > @p tolerance seconds is stale. A timestamp in the
 * future is accepted, as the SDKs accept it. A v1 is compared as sent
 * (64 lowercase hex digits; anything else never matches); only the first
 * 16 v1 entries are looked at (Stripe sends one per active secret).
 *
 * @param header    the Stripe-Signature value, as received
 * @param body      the raw request body (may contain NULs), @p len bytes
 * @param secrets   @p nsecrets endpoint secrets ("whsec_..."), used as the
 *                  HMAC key byte for byte; several while one is rolled
 *                  (Stripe signs with the old and the new one meanwhile);
 *                  NULL or empty entries are skipped
 * @param tolerance seconds; <= 0 means CS_STRIPE_TOLERANCE (there is no
 *                  way to turn the age check off)
 * @param now       the time to judge by (apr_time_now(), or the request's)
 */
cs_stripe_sig_t cs_stripe_verify_signature(apr_pool_t *p, const char *header,
                                           const char *body, apr_size_t len,
                                           const char *const *secrets, int nsecrets,
                                           apr_int64_t tolerance, apr_time_t now);

/** A short English phrase for a verdict ("no Stripe-Signature header", ...). */
const char *cs_stripe_sig_reason(cs_stripe_sig_t v);

/** The event types we act on; every other type is CS_STRIPE_EV_OTHER. */
typedef enum {
    CS_STRIPE_EV_OTHER = 0,
    CS_STRIPE_EV_INTENT_SUCCEEDED,  /**< payment_intent.succeeded */
    CS_STRIPE_EV_INTENT_FAILED,     /**< payment_intent.payment_failed */
    CS_STRIPE_EV_CHARGE_REFUNDED,   /**< charge.refunded */
    CS_STRIPE_EV_DISPUTE_CREATED    /**< charge.dispute.created */
} cs_stripe_event_kind_t;

/** An event, as far as we use it. Absent strings are NULL, absent amounts 0. */
typedef struct {
    const char *id;                 /**< evt_...: the journal's id (redeliveries repeat it) */
    const char *type;               /**< as sent, e.g. "payment_intent.succeeded" */
    cs_stripe_event_kind_t kind;
    apr_int64_t created;            /**< Unix seconds */
    int livemode;
    /* data.object, for the four kinds: */
    const char *object_id;          /**< pi_..., ch_... or dp_... */
    const char *object_type;        /**< payment_intent, charge or dispute */
    const char *payment_intent;     /**< pi_...: the object itself, or for charge.*
                                         its payment_intent */
    const char *charge;             /**< ch_...: the charge (charge.*: a dispute's
                                         charge) or a PaymentIntent's latest_charge */
    const char *status;             /**< the object's status */
    apr_int64_t amount;             /**< intent/charge amount, or the disputed amount */
    apr_int64_t amount_received;    /**< payment_intent.*: collected */
    apr_int64_t amount_refunded;    /**< charge.refunded: refunded so far, in total */
    const char *currency;
    const char *order_id;           /**< data.object.metadata.order_id when set (a
                                         charge or dispute may not carry it: the
                                         payment_intent is the link to rely on) */
    const char *failure_code;       /**< payment_failed: last_payment_error's
                                         decline_code, else its code; dispute: reason */
    const char *failure_message;    /**< payment_failed: last_payment_error.message */
} cs_stripe_event_t;

/**
 * Parse a verified event body.
 *
 * @return APR_SUCCESS when it is an event (an object with a non-empty "id"
 *         and "type"): *ev has id, type, kind, created and livemode, and for
 *         the four kinds the fields of data.object. APR_EINVAL otherwise,
 *         with *pwhy (may be NULL): not JSON, not an event, or one of the
 *         four kinds whose data.object is not the object that type carries
 *         (wrong "object", no id, no payment_intent, no integer amount);
 *         ev->id, ev->type and ev->kind are set then when they were found,
 *         so the module can record what it got.
 */
apr_status_t cs_stripe_parse_event(apr_pool_t *p, const char *body, apr_size_t len,
                                   cs_stripe_event_t *ev, const char **pwhy);

#endif
