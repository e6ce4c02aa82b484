/* Internal to mod_consult_orders. */
#ifndef ORDERS_PRIVATE_H
#define ORDERS_PRIVATE_H

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "mod_consult_core.h"
#include "db/cs_db.h"
#include "db/cs_order_db.h"
#include "base/cs_json.h"
#include "text/cs_tmpl.h"
#include "domain/cs_cart.h"
#include "domain/cs_slots.h"
#include "domain/cs_order.h"
#include "providers/cs_stripe.h"

#define CSLOGNO(n) "CS" #n ": "

extern module AP_MODULE_DECLARE_DATA consult_orders_module;

#define ORDERS_JOB_STRIPE  "stripe.event"       /* a journaled Stripe webhook */
#define ORDERS_JOB_SUBMIT  "pos.order.submit"   /* a paid order, to the POS */
#define ORDERS_JOB_REFUND  "order.refund"       /* an order_refunds row, to Stripe */
#define ORDERS_JOB_EXPIRE  "order.expire"       /* an unpaid order, let go */
#define ORDERS_PROVIDER    "stripe"             /* the journal's provider */
#define ORDERS_COOKIE      "consult_cart"
#define ORDERS_MAX_TIPS    4

typedef struct {
    int enabled;                    /* ConsultOrders; -1 unset */
    const char *templates;          /* ConsultOrderTemplates */
    apr_array_header_t *hours;      /* ConsultOrderHours entries (const char *) */
    apr_array_header_t *holidays;   /* ConsultOrderHoliday dates */
    int slot_min, capacity, lead_min, last_order_min, days, max_slots;
    int tips[ORDERS_MAX_TIPS];      /* preset tips, basis points; -1 unset */
    int ntips;
    cs_cart_fees_t fees;
    int fees_set;
    apr_interval_time_t pos_give_up, unpaid_expiry;
    cs_stripe_account_t stripe;     /* api_base, secret_key */
    const char *publishable_key;
    apr_array_header_t *webhook_secrets;   /* of const char * */
    /* resolved in check_config / post_config */
    const char *slug;
    const char *defn;
    cs_hours_t *h;
    cs_slots_zone_t *zone;
    const char *zone_name;
    cs_tmpl_set_t *tmpl;
    const char *stripe_js;          /* the script the pay page loads */
    const char *csp;                /* the pay page's Content-Security-Policy */
} orders_conf;

extern cs_core_t orders_core;
extern APR_OPTIONAL_FN_TYPE(cs_pos_menu) *orders_pos_menu;
extern APR_OPTIONAL_FN_TYPE(cs_pos_submit) *orders_pos_submit;

orders_conf *orders_sconf(server_rec *s);
orders_conf *orders_conf_for_slug(const char *slug);

/* orders_cart.c: the guest's cart. */
typedef struct {
    const char *token;              /* the cookie's value */
    const char *csrf;               /* the forms' token for it */
    const char *id;                 /* carts.id, NULL before the first add */
    int version;
    apr_array_header_t *lines;      /* of cs_cart_line_t */
    cs_cart_tip_t tip;
} orders_cart_t;

/* A cart priced against the menu now: each line, or why it cannot be
 * ordered any more. */
typedef struct {
    cs_pos_menu_info_t menu;
    apr_array_header_t *priced;     /* of cs_cart_priced_t, the lines that are fine */
    apr_array_header_t *problems;   /* of const char *, one per line (NULL: fine) */
    int bad;                        /* lines that cannot be ordered */
    cs_cart_totals_t totals;        /* of the fine lines (zero when none) */
    const char *error;              /* the cart as a whole, or NULL */
} orders_priced_t;

/* The cookie (made when missing) and the cart stored for it, if any. */
int orders_cart_load(request_rec *r, PGconn *conn, const char *client_id, int for_update,
                     orders_cart_t **pcart);
int orders_cart_price(request_rec *r, PGconn *conn, const char *client_id,
                      const orders_conf *c, const orders_cart_t *cart, orders_priced_t *out);
/* The plan of pickup times for @p points now (reads pauses and loads). */
int orders_plan(request_rec *r, PGconn *conn, const char *client_id, const orders_conf *c,
                int points, apr_pool_t *p, cs_slots_plan_t *plan, apr_int64_t now,
                const char **perr);
int orders_cart_post(request_rec *r);
int orders_csrf_ok(request_rec *r, const orders_cart_t *cart, apr_table_t *form);
apr_table_t *orders_form(request_rec *r);

/* orders_pages.c */
int orders_render(request_rec *r, int status, const char *name, json_object *data);
/* The caller asked for JSON (the tests, a script) rather than a page. */
int orders_wants_json(request_rec *r);
/* @p o freed with the request's pool. */
json_object *orders_owned(request_rec *r, json_object *o);
json_object *orders_page_data(request_rec *r, const orders_conf *c, const char *title);
json_object *orders_cart_json(request_rec *r, const orders_conf *c, const orders_cart_t *cart,
                              const orders_priced_t *pr);
int orders_menu_page(request_rec *r);
int orders_checkout_page(request_rec *r);
int orders_pay_page(request_rec *r, const char *public_id);
int orders_status_page(request_rec *r, const char *public_id, int json);
const char *orders_money(apr_pool_t *p, apr_int64_t cents, const char *currency);

/* orders_checkout.c */
int orders_checkout_post(request_rec *r);

/* orders_stripe.c */
int orders_stripe_webhook(request_rec *r);
/* A PaymentIntent for the order (created once: its key is the order's),
 * with its client secret for the pay page. */
apr_status_t orders_intent(apr_pool_t *p, const orders_conf *c, const char *public_id,
                           apr_int64_t total, const char *currency, const char *email,
                           cs_stripe_intent_t *pi, cs_stripe_error_t *e);
int orders_run_stripe_event(cs_job_t *job);
int orders_run_refund(cs_job_t *job);

/* orders_jobs.c */
int orders_run_job(cs_job_t *job);
/* A job failed (retried with backoff unless job->permanent): the status to return. */
int orders_job_fail(cs_job_t *job, const char *what, const char *err);
/* The {"order_id": N, "client_id": N} payload of the order jobs, as SQL
 * parameters: OK, or the failure (permanent) to return. */
int orders_job_order(cs_job_t *job, const char **poid, const char **pcid);
int orders_run_submit(cs_job_t *job);
int orders_run_expire(cs_job_t *job);
/* Tell the guest @p body by SMS or email (consult_order_tell). */
apr_status_t orders_tell(PGconn *conn, apr_pool_t *p, const char *slug, const char *order_id,
                         const char *body, const char **perr);

#endif
