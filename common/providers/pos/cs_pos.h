/**
 * @file cs_pos.h
 * @brief The POS adapter interface: one table of functions every point of
 * sale implements (mock, Square, Clover, Toast), the way mod_session has
 * its providers.
 *
 * An adapter speaks one provider's real API: it builds each request,
 * sends it through the session's transport (cs_http_perform unless a
 * caller injects another), and parses each answer into the provider-free
 * shapes of domain/cs_menu.h and below. Money becomes integer cents at this
 * boundary and nowhere else. Webhooks are verified (constant time, through
 * base/cs_crypto.h) and parsed here too; mod_consult_pos only glues
 * directives, handlers and jobs to these functions.
 *
 * Errors, the same for every adapter and call:
 * - APR_SUCCESS
 * - APR_EAGAIN: transient (timeout, connection refused, 5xx, 429); the job
 *   retries. s->retry_after is set from a Retry-After header when given.
 * - APR_EACCES: credentials refused (401/403) even after one refresh.
 * - APR_EINVAL: the provider answered something we cannot use (4xx,
 *   malformed JSON, a menu that fails cs_menu_validate).
 * - APR_ENOTIMPL: the provider's API cannot do this (e.g. marking an
 *   item sold out through Toast's public API).
 * On failure *perr is a short sentence for staff, never a secret.
 *
 * Adding a fourth POS: write providers/pos/cs_pos_NAME.c defining one
 * `const cs_pos_adapter_t cs_pos_NAME`, add it to cs_pos_adapters[] in
 * cs_pos.c, a fake in tests/fakes, and a fixture for the contract suite.
 */
#ifndef CS_POS_H
#define CS_POS_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <apr_errno.h>

#include "http/cs_http.h"
#include "domain/cs_menu.h"

/** A restaurant's POS settings, from its vhost's directives. */
typedef struct {
    const char *kind;              /**< "mock", "square", "clover", "toast" */
    const char *api_base;          /**< ConsultPOSAPIBase, no trailing slash */
    const char *location;          /**< Square location id, Clover merchant id,
                                        Toast restaurant GUID */
    const char *access_token;      /**< Square / Clover API token */
    const char *client_id;         /**< Toast machine client */
    const char *client_secret;     /**< Toast machine client */
    const char *webhook_secret;    /**< Square signature key, Toast/Clover
                                        secret, mock HMAC key */
    const char *webhook_url;       /**< the public notification URL (Square
                                        signs it) */
    const char *menu_file;         /**< mock: the menu JSON */
    const char *state_file;        /**< mock: the POS's own live state
                                        (sold-out items, received orders) */
    apr_interval_time_t timeout;   /**< per request; 0: 10 s */
} cs_pos_conf_t;

/** Sends one request; cs_http_perform's contract. */
typedef apr_status_t (*cs_pos_send_fn)(cs_http_resp_t **presp, apr_pool_t *p,
                                       const cs_http_req_t *req, const char **perr);

/** One conversation with a POS: settings, transport and the credentials
 * the adapter keeps between calls (Toast's bearer token). A module keeps
 * one per restaurant per process and passes it to every call. */
typedef struct {
    const cs_pos_conf_t *conf;
    cs_pos_send_fn send;           /**< NULL: cs_http_perform */
    apr_pool_t *token_pool;        /**< where a refreshed token is copied;
                                        outlives the calls */
    const char *token;             /**< bearer token in use, or NULL */
    apr_time_t token_expires;      /**< refresh before this */
    apr_interval_time_t retry_after; /**< set on a 429 with Retry-After */
    long last_status;              /**< HTTP status of the last answer */
    apr_time_t now;                /**< 0: apr_time_now(); tests pin it */
} cs_pos_session_t;

/** An order line as the POS needs it; prices already computed by us. */
typedef struct {
    const char *item_id;               /**< POS item id */
    int quantity;
    apr_array_header_t *modifier_ids;  /**< of const char * (POS ids) */
    apr_int64_t unit_price_cents;      /**< item plus modifiers */
    const char *note;                  /**< may be NULL */
} cs_pos_line_t;

typedef struct {
    const char *external_id;      /**< our order id: the POS's idempotency
                                       key / external reference */
    const char *customer_name;
    const char *customer_phone;   /**< E.164 or NULL */
    const char *customer_email;   /**< or NULL */
    apr_time_t pickup_at;         /**< 0: as soon as possible */
    apr_array_header_t *lines;    /**< of cs_pos_line_t */
    apr_int64_t subtotal_cents, tax_cents, tip_cents, total_cents;
    const char *payment_ref;      /**< e.g. the Stripe PaymentIntent id */
} cs_pos_order_t;

/** Normalized order states a POS reports. */
#define CS_POS_ORDER_PENDING   "pending"
#define CS_POS_ORDER_ACCEPTED  "accepted"
#define CS_POS_ORDER_READY     "ready"
#define CS_POS_ORDER_COMPLETED "completed"
#define CS_POS_ORDER_CANCELLED "cancelled"

typedef struct {
    const char *pos_order_id;
    const char *status;           /**< one of CS_POS_ORDER_* */
} cs_pos_order_result_t;

/** An inbound webhook delivery, as received. */
typedef struct {
    const char *url;              /**< the full URL the POS called (public) */
    const char *body;
    apr_size_t body_len;
    apr_table_t *headers;         /**< request headers (case-blind) */
    apr_time_t now;               /**< for timestamp tolerance */
} cs_pos_webhook_t;

typedef enum {
    CS_POS_EVENT_OTHER = 0,       /**< recorded, nothing to do */
    CS_POS_EVENT_MENU,            /**< catalog changed: sync the menu */
    CS_POS_EVENT_STOCK,           /**< sold-out state changed (see stock, or
                                       poll when stock is NULL) */
    CS_POS_EVENT_ORDER,           /**< an order's state changed */
    CS_POS_EVENT_VERIFICATION     /**< Clover's one-time verificationCode */
} cs_pos_event_kind_t;

typedef struct {
    const char *event_id;         /**< unique per provider: the journal key */
    cs_pos_event_kind_t kind;
    const char *type;             /**< the provider's own event type */
    apr_array_header_t *stock;    /**< of cs_menu_stock_t, or NULL */
    const char *order_id;         /**< POS order id (ORDER) */
    const char *order_status;     /**< CS_POS_ORDER_* (ORDER) */
    const char *verification_code;/**< (VERIFICATION) */
} cs_pos_event_t;

typedef struct cs_pos_adapter_t {
    const char *name;

    /** Get or refresh credentials if they are missing or expire within a
     * minute (Toast's machine-client login); a no-op for static tokens.
     * The other calls call it themselves, and once more after a 401. */
    apr_status_t (*authenticate)(cs_pos_session_t *s, apr_pool_t *p,
                                 const char **perr);

    /** The whole menu (every page), validated. */
    apr_status_t (*fetch_menu)(cs_menu_t **pout, cs_pos_session_t *s,
                               apr_pool_t *p, const char **perr);

    /** The sold-out state of every item the POS tracks: an array of
     * cs_menu_stock_t (items absent from it are available). */
    apr_status_t (*fetch_availability)(apr_array_header_t **pout,
                                       cs_pos_session_t *s, apr_pool_t *p,
                                       const char **perr);

    /** Mark an item sold out (or available) at the POS itself;
     * APR_ENOTIMPL where the provider's API cannot. */
    apr_status_t (*set_sold_out)(cs_pos_session_t *s, const char *item_id,
                                 int sold_out, apr_pool_t *p, const char **perr);

    /** Submit an order, idempotently by order->external_id. */
    apr_status_t (*submit_order)(cs_pos_order_result_t **pout,
                                 cs_pos_session_t *s, const cs_pos_order_t *order,
                                 apr_pool_t *p, const char **perr);

    /** The current state of a submitted order. */
    apr_status_t (*order_status)(cs_pos_order_result_t **pout,
                                 cs_pos_session_t *s, const char *pos_order_id,
                                 apr_pool_t *p, const char **perr);

    /** Check a delivery's signature in constant time (and its timestamp,
     * where the provider signs one). APR_EACCES when it does not match,
     * is missing or is stale. */
    apr_status_t (*verify_webhook)(const cs_pos_conf_t *conf,
                                   const cs_pos_webhook_t *w, apr_pool_t *p,
                                   const char **perr);

    /** Parse a verified delivery. APR_EINVAL for a body we cannot read. */
    apr_status_t (*parse_webhook)(cs_pos_event_t **pout,
                                  const cs_pos_webhook_t *w, apr_pool_t *p,
                                  const char **perr);
} cs_pos_adapter_t;

/** The adapter called @p kind, or NULL. */
const cs_pos_adapter_t *cs_pos_adapter(const char *kind);

/** The adapters' names, space-separated ("mock square clover toast"),
 * for the directive's error message. */
const char *cs_pos_adapter_names(void);

/**
 * Send @p req through @p s (its transport, its timeout when the request
 * sets none) and sort the answer: APR_SUCCESS for 2xx with *presp set;
 * APR_EAGAIN for transport failures, 429 (retry_after from Retry-After)
 * and 5xx; APR_EACCES for 401/403; APR_EINVAL for other statuses, with
 * *perr naming the provider and status. *presp is set whenever an answer
 * came, so an adapter can read an error body.
 */
apr_status_t cs_pos_send(cs_http_resp_t **presp, cs_pos_session_t *s,
                         const cs_http_req_t *req, apr_pool_t *p,
                         const char **perr);

/** The session's clock: s->now when pinned, else apr_time_now(). */
apr_time_t cs_pos_now(const cs_pos_session_t *s);

/* The adapters. */
extern const cs_pos_adapter_t cs_pos_mock;
extern const cs_pos_adapter_t cs_pos_square;
extern const cs_pos_adapter_t cs_pos_clover;
extern const cs_pos_adapter_t cs_pos_toast;

#endif
