/*
 * Stripe for online orders.
 *
 * - orders_intent: the order's PaymentIntent, created with an
 *   Idempotency-Key made from the order, so asking again (a retried
 *   checkout, the pay page reloaded) returns the same intent and its
 *   client secret; the secret goes to the guest's page and nowhere else.
 * - POST /webhooks/stripe: Stripe-Signature checked (cs_stripe, every v1,
 *   5-minute tolerance, constant time); the event goes into core's
 *   journal with its stripe.event job in one statement, then 200. Any
 *   type, known order or not, is recorded and answered 2xx, as Stripe
 *   would otherwise retry it for days.
 * - stripe.event: the journaled event applied, in any order and any
 *   number of times (each step checks the order's state first).
 * - order.refund: an order_refunds row sent to Stripe once (its key is
 *   the row's id).
 */
#include "orders_private.h"
#include "db/cs_jobs.h"
#include "http/cs_http.h"

#include "http_protocol.h"
#include <apr_strings.h>
#include <stdlib.h>

APLOG_USE_MODULE(consult_orders);

#define MAX_BODY (512 * 1024)
#define LOG_S(job) ((server_rec *)(job)->server)

static apr_status_t stripe_send(apr_pool_t *p, const cs_http_req_t *req, cs_http_resp_t **presp,
                         cs_stripe_error_t *e)
{
    const char *msg = NULL;
    apr_status_t rv = cs_http_perform(presp, p, req, &msg);
    if (rv != APR_SUCCESS) {
        cs_stripe_transport_error(p, rv, msg, e);
    }
    return rv;
}

apr_status_t orders_intent(apr_pool_t *p, const orders_conf *c, const char *public_id,
                           apr_int64_t total, const char *currency, const char *email,
                           cs_stripe_intent_t *pi, cs_stripe_error_t *e)
{
    cs_stripe_intent_req_t in;
    cs_http_req_t req;
    cs_http_resp_t *resp = NULL;
    apr_array_header_t *meta = apr_array_make(p, 1, sizeof(cs_pair_t));
    cs_pair_t *m = apr_array_push(meta);
    const char *why = NULL;

    memset(e, 0, sizeof(*e));
    memset(&in, 0, sizeof(in));
    memset(&req, 0, sizeof(req));
    m->key = "client";
    m->value = c->slug;
    in.amount = total;
    in.currency = currency;
    in.order_id = public_id;
    in.description = apr_psprintf(p, "Online order %s", public_id);
    in.receipt_email = email;
    in.metadata = meta;
    in.idempotency_key = apr_pstrcat(p, "consult-order-", public_id, "-pi", NULL);
    if (cs_stripe_build_create_intent(&req, p, &c->stripe, &in, &why) != APR_SUCCESS) {
        e->kind = CS_STRIPE_ERR_INVALID;
        e->why = why;
        return APR_EINVAL;
    }
    if (stripe_send(p, &req, &resp, e) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    return cs_stripe_parse_intent(p, resp->status, resp->headers, resp->body, resp->len, pi, e);
}

/* The event with data.object.client_secret removed (as given when it has
 * none or is not JSON). */
static const char *without_client_secret(apr_pool_t *p, const char *body, apr_size_t *plen)
{
    cs_json_t *doc = NULL;
    json_object *obj;
    const char *out;
    if (!strstr(body, "client_secret")
        || cs_json_parse(&doc, p, body, *plen, NULL) != APR_SUCCESS
        || !(obj = cs_jobj(cs_jobj(cs_json_raw(doc), "data"), "object"))
        || !json_object_object_get_ex(obj, "client_secret", NULL)) {
        return body;
    }
    json_object_object_del(obj, "client_secret");
    out = apr_pstrdup(p, json_object_to_json_string_ext(cs_json_raw(doc), JSON_C_TO_STRING_PRETTY));
    *plen = strlen(out);
    return out;
}

static int ok(request_rec *r, int duplicate)
{
    return orders_core.send_json(r, HTTP_OK, duplicate ? "{\"received\":true,\"duplicate\":true}"
                                                       : "{\"received\":true}");
}

int orders_stripe_webhook(request_rec *r)
{
    orders_conf *c = orders_sconf(r->server);
    cs_stripe_event_t ev;
    cs_stripe_sig_t v;
    const char *why = NULL;
    char *body = NULL;
    apr_size_t len = 0;
    int st, dup = 0;
    apr_status_t rv;

    if ((st = orders_core.read_body(r, MAX_BODY, &body, &len)) != OK) {
        return orders_core.send_error(r, st, st == HTTP_REQUEST_ENTITY_TOO_LARGE ? "too_large"
                                      : "bad_request", "The body could not be read.");
    }
    v = cs_stripe_verify_signature(r->pool, apr_table_get(r->headers_in, "Stripe-Signature"),
                                   body, len, (const char *const *)c->webhook_secrets->elts,
                                   c->webhook_secrets->nelts, CS_STRIPE_TOLERANCE, apr_time_now());
    if (v != CS_STRIPE_SIG_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, CSLOGNO(08040)
                      "Stripe webhook for %s refused: %s", c->slug, cs_stripe_sig_reason(v));
        return orders_core.send_error(r, HTTP_BAD_REQUEST, "bad_signature",
                                      "The signature is missing, wrong or stale.");
    }
    memset(&ev, 0, sizeof(ev));
    if (cs_stripe_parse_event(r->pool, body, len, &ev, &why) != APR_SUCCESS && !ev.id) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, CSLOGNO(08041)
                      "Stripe webhook for %s unreadable: %s", c->slug, why ? why : "no event id");
        return orders_core.send_error(r, HTTP_BAD_REQUEST, "bad_event", "The event cannot be read.");
    }
    /* An event whose object we cannot read is still recorded (and answered
     * 2xx): the job notes why, and a fixed parser can replay it. A
     * PaymentIntent's client_secret is left out: it is for the guest's
     * page only, never stored. */
    body = (char *)without_client_secret(r->pool, body, &len);
    rv = orders_core.journal_record(r, ORDERS_PROVIDER, ev.id, body, len, ORDERS_JOB_STRIPE, &dup);
    if (APR_STATUS_IS_NOTFOUND(rv)) {
        return orders_core.send_error(r, HTTP_NOT_FOUND, "not_found", "No such client.");
    }
    if (APR_STATUS_IS_EINVAL(rv)) {
        return orders_core.send_error(r, HTTP_BAD_REQUEST, "bad_event", "The event cannot be stored.");
    }
    if (rv != APR_SUCCESS) {
        return orders_core.send_error(r, HTTP_SERVICE_UNAVAILABLE, "unavailable", "Try again shortly.");
    }
    return ok(r, dup);
}

/* ---- the stripe.event job ------------------------------------------------ */


static PGresult *exec(cs_job_t *job, const char **perr, ExecStatusType expect,
                      const char *sql, int n, const char *const *params)
{
    return cs_db_exec(job->conn, job->pool, perr, expect, sql, n, params);
}

typedef struct {
    const char *id, *public_id, *client_id, *slug, *currency, *pickup;
    cs_order_state_t state;
    apr_int64_t total, paid, refunded;
} order_row_t;

/* The order an event is about, locked: by its PaymentIntent, or by the
 * metadata our intent carries (an event can arrive before the browser's
 * checkout stored the intent's id). 0: no such order of this client. */
static int find_order(cs_job_t *job, const char *client_id, const cs_stripe_event_t *ev,
                      order_row_t *o, const char **perr)
{
    const char *params[3] = { client_id, ev->payment_intent, ev->order_id };
    PGresult *res = exec(job, perr, PGRES_TUPLES_OK,
        "SELECT o.id, o.public_id, o.state, o.total_cents, o.paid_cents, o.refunded_cents,"
        "  o.currency, c.slug, to_char(o.pickup_at AT TIME ZONE coalesce(r.time_zone, 'UTC'),"
        "  'FMHH12:MI AM')"
        " FROM orders o JOIN clients c ON c.id = o.client_id"
        " LEFT JOIN restaurants r ON r.client_id = o.client_id"
        " WHERE o.client_id = $1 AND (o.payment_intent = $2 OR ($3::text IS NOT NULL"
        "   AND o.public_id = $3 AND (o.payment_intent IS NULL OR o.payment_intent = $2)))"
        " ORDER BY o.payment_intent = $2 DESC LIMIT 1 FOR UPDATE OF o", 3, params);
    int found;
    if (!res) return -1;
    found = PQntuples(res) == 1;
    if (found) {
        memset(o, 0, sizeof(*o));
        o->id = apr_pstrdup(job->pool, PQgetvalue(res, 0, 0));
        o->public_id = apr_pstrdup(job->pool, PQgetvalue(res, 0, 1));
        cs_order_state_parse(PQgetvalue(res, 0, 2), &o->state);
        o->total = apr_atoi64(PQgetvalue(res, 0, 3));
        o->paid = apr_atoi64(PQgetvalue(res, 0, 4));
        o->refunded = apr_atoi64(PQgetvalue(res, 0, 5));
        o->currency = apr_pstrdup(job->pool, PQgetvalue(res, 0, 6));
        o->slug = apr_pstrdup(job->pool, PQgetvalue(res, 0, 7));
        o->pickup = apr_pstrdup(job->pool, PQgetvalue(res, 0, 8));
        o->client_id = client_id;
    }
    PQclear(res);
    return found;
}

/* The order's entry on the guest's thread: what they ordered, for when. */
static const char *thread_body(cs_job_t *job, const order_row_t *o, const char **perr)
{
    const char *params[1] = { o->id };
    PGresult *res = exec(job, perr, PGRES_TUPLES_OK,
        "SELECT string_agg(quantity || ' x ' || name || CASE WHEN jsonb_array_length(modifiers) > 0"
        "   THEN ' (' || (SELECT string_agg(m->>'name', ', ') FROM jsonb_array_elements(modifiers) m)"
        "   || ')' ELSE '' END, E'\\n' ORDER BY n) FROM order_lines WHERE order_id = $1",
        1, params);
    const char *lines;
    if (!res) return NULL;
    lines = apr_pstrdup(job->pool, PQgetvalue(res, 0, 0));
    PQclear(res);
    return apr_psprintf(job->pool, "Online order %s, paid %s, pickup %s:\n%s", o->public_id,
                        orders_money(job->pool, o->total, o->currency), o->pickup, lines);
}

static int on_succeeded(cs_job_t *job, const cs_stripe_event_t *ev, order_row_t *o)
{
    const char *err = NULL, *params[4], *body;
    PGresult *res;
    apr_status_t rv;

    if (o->state != CS_ORDER_PENDING && o->state != CS_ORDER_CANCELLED) {
        return OK;                      /* applied before (a redelivery) */
    }
    params[0] = o->id;
    params[1] = ev->payment_intent;
    params[2] = apr_psprintf(job->pool, "%" APR_INT64_T_FMT, ev->amount_received);
    res = exec(job, &err, PGRES_COMMAND_OK,
               "UPDATE orders SET payment_intent = coalesce(payment_intent, $2),"
               " paid_cents = $3::bigint, paid_at = coalesce(paid_at, now()) WHERE id = $1",
               3, params);
    if (!res) return orders_job_fail(job, "recording the payment", err);
    PQclear(res);
    if (o->state == CS_ORDER_CANCELLED || ev->amount_received < o->total
        || strcasecmp(ev->currency ? ev->currency : "", o->currency)) {
        /* Paid after we let the order go, or not what we asked: the money
         * goes back whole and the kitchen never sees it. */
        const char *why = o->state == CS_ORDER_CANCELLED
            ? "paid after the order had expired" : "paid an amount other than the order's total";
        if (cs_order_note(job->conn, job->pool, o->id, "stripe", why, &err) != APR_SUCCESS
            || (ev->amount_received > 0
                && cs_order_refund_queue(job->conn, job->pool, o->id, ev->amount_received,
                                       "payment_mismatch", why, "system", &err) != APR_SUCCESS)) {
            return orders_job_fail(job, "refunding", err);
        }
        if (o->state == CS_ORDER_PENDING) {
            cs_order_move(job->conn, job->pool, o->client_id, o->id, CS_ORDER_CANCELLED,
                          "system", why, NULL, &err);
        }
        return OK;
    }
    rv = cs_order_move(job->conn, job->pool, o->client_id, o->id, CS_ORDER_PAID, "stripe",
                       apr_pstrcat(job->pool, "payment ", ev->payment_intent, NULL), NULL, &err);
    if (rv != APR_SUCCESS) return orders_job_fail(job, "marking paid", err);
    if (!(body = thread_body(job, o, &err))) return orders_job_fail(job, "the order's message", err);
    params[1] = body;
    res = exec(job, &err, PGRES_TUPLES_OK, "SELECT consult_order_thread($1, $2)", 2, params);
    if (!res) return orders_job_fail(job, "the order's thread", err);
    PQclear(res);
    if (o->refunded >= ev->amount_received) {
        /* A charge.refunded that came first: refunded already, whole. */
        return cs_order_move(job->conn, job->pool, o->client_id, o->id, CS_ORDER_REFUNDED,
                             "stripe", "refunded in full", NULL, &err) == APR_SUCCESS
               ? OK : orders_job_fail(job, "marking refunded", err);
    }
    if (cs_jobs_enqueue(job->conn, job->pool, &err, ORDERS_JOB_SUBMIT,
                        apr_psprintf(job->pool, "{\"order_id\": %s, \"client_id\": %s}",
                                     o->id, o->client_id),
                        apr_pstrcat(job->pool, ORDERS_JOB_SUBMIT, ":", o->id, NULL), 0)
        != APR_SUCCESS) {
        return orders_job_fail(job, "queueing the POS submit", err);
    }
    return OK;
}

static int on_refunded(cs_job_t *job, const cs_stripe_event_t *ev, order_row_t *o)
{
    const char *err = NULL, *params[2];
    PGresult *res;
    params[0] = o->id;
    params[1] = apr_psprintf(job->pool, "%" APR_INT64_T_FMT, ev->amount_refunded);
    res = exec(job, &err, PGRES_COMMAND_OK,
               "UPDATE orders SET refunded_cents = greatest(refunded_cents, $2::bigint),"
               " updated_at = now() WHERE id = $1", 2, params);
    if (!res) return orders_job_fail(job, "recording the refund", err);
    PQclear(res);
    if (o->paid > 0 && ev->amount_refunded >= o->paid && cs_order_can(o->state, CS_ORDER_REFUNDED)) {
        if (cs_order_move(job->conn, job->pool, o->client_id, o->id, CS_ORDER_REFUNDED, "stripe",
                          "refunded in full", NULL, &err) != APR_SUCCESS) {
            return orders_job_fail(job, "marking refunded", err);
        }
    }
    return OK;
}

int orders_run_stripe_event(cs_job_t *job)
{
    cs_json_t *pl = NULL;
    apr_int64_t event = 0;
    const char *err = NULL, *params[2], *client_id, *body, *note = NULL;
    cs_stripe_event_t ev;
    order_row_t o;
    PGresult *res;
    int st = OK, found;

    if (cs_json_parse(&pl, job->pool, job->payload, strlen(job->payload), &err) != APR_SUCCESS
        || !cs_jint(cs_json_raw(pl), "event", &event)) {
        job->permanent = 1;
        return orders_job_fail(job, "payload", "no event id");
    }
    params[0] = apr_psprintf(job->pool, "%" APR_INT64_T_FMT, event);
    res = exec(job, &err, PGRES_TUPLES_OK,
        "SELECT client_id, payload, processed_at IS NOT NULL FROM provider_events"
        " WHERE id = $1 FOR UPDATE", 1, params);
    if (!res) return orders_job_fail(job, "reading the event", err);
    if (!PQntuples(res) || PQgetvalue(res, 0, 2)[0] == 't') {
        PQclear(res);
        return OK;
    }
    client_id = apr_pstrdup(job->pool, PQgetvalue(res, 0, 0));
    body = apr_pstrdup(job->pool, PQgetvalue(res, 0, 1));
    PQclear(res);

    memset(&ev, 0, sizeof(ev));
    if (cs_stripe_parse_event(job->pool, body, strlen(body), &ev, &err) != APR_SUCCESS) {
        note = err ? err : "unreadable event";
    }
    else if (ev.kind == CS_STRIPE_EV_OTHER || !ev.payment_intent) {
        note = NULL;                    /* recorded; nothing to do */
    }
    else if ((found = find_order(job, client_id, &ev, &o, &err)) < 0) {
        return orders_job_fail(job, "finding the order", err);
    }
    else if (!found) {
        note = "no order of this client has this PaymentIntent";
    }
    else if (ev.kind == CS_STRIPE_EV_INTENT_SUCCEEDED) {
        st = on_succeeded(job, &ev, &o);
    }
    else if (ev.kind == CS_STRIPE_EV_INTENT_FAILED) {
        /* The guest may try another card on the same intent: no move. */
        if (o.state == CS_ORDER_PENDING
            && cs_order_note(job->conn, job->pool, o.id, "stripe",
                             apr_pstrcat(job->pool, "payment failed: ",
                                         ev.failure_message ? ev.failure_message
                                         : ev.failure_code ? ev.failure_code : "declined", NULL),
                             &err) != APR_SUCCESS) {
            return orders_job_fail(job, "noting the failure", err);
        }
    }
    else if (ev.kind == CS_STRIPE_EV_CHARGE_REFUNDED) {
        st = on_refunded(job, &ev, &o);
    }
    else if (ev.kind == CS_STRIPE_EV_DISPUTE_CREATED) {
        params[0] = o.id;
        res = exec(job, &err, PGRES_COMMAND_OK,
                   "UPDATE orders SET disputed = true, updated_at = now() WHERE id = $1", 1, params);
        if (!res) return orders_job_fail(job, "recording the dispute", err);
        PQclear(res);
        if (cs_order_note(job->conn, job->pool, o.id, "stripe",
                          apr_pstrcat(job->pool, "the guest disputed the charge",
                                      ev.failure_code ? " (" : "", ev.failure_code ? ev.failure_code : "",
                                      ev.failure_code ? ")" : "", NULL), &err) != APR_SUCCESS) {
            return orders_job_fail(job, "noting the dispute", err);
        }
    }
    if (st != OK) return st;
    params[0] = apr_psprintf(job->pool, "%" APR_INT64_T_FMT, event);
    params[1] = note;
    res = exec(job, &err, PGRES_COMMAND_OK,
        "UPDATE provider_events SET processed_at = now(), attempts = attempts + 1,"
        " last_error = $2 WHERE id = $1", 2, params);
    if (!res) return orders_job_fail(job, "marking the event", err);
    PQclear(res);
    return OK;
}

/* ---- the order.refund job ------------------------------------------------ */

int orders_run_refund(cs_job_t *job)
{
    cs_json_t *pl = NULL;
    apr_int64_t refund = 0, amount;
    const char *err = NULL, *params[4], *pi, *order_id, *client_id, *slug, *public_id, *reason;
    const char *currency;
    cs_stripe_refund_req_t in;
    cs_stripe_refund_t out;
    cs_stripe_error_t e;
    cs_http_req_t req;
    cs_http_resp_t *resp = NULL;
    orders_conf *c;
    PGresult *res;

    if (cs_json_parse(&pl, job->pool, job->payload, strlen(job->payload), &err) != APR_SUCCESS
        || !cs_jint(cs_json_raw(pl), "refund_id", &refund)) {
        job->permanent = 1;
        return orders_job_fail(job, "payload", "no refund id");
    }
    params[0] = apr_psprintf(job->pool, "%" APR_INT64_T_FMT, refund);
    res = exec(job, &err, PGRES_TUPLES_OK,
        "SELECT f.state, f.amount_cents, o.payment_intent, o.id, o.client_id, c.slug, o.public_id,"
        "  f.reason, o.currency"
        " FROM order_refunds f JOIN orders o ON o.id = f.order_id JOIN clients c ON c.id = o.client_id"
        " WHERE f.id = $1 FOR UPDATE OF f", 1, params);
    if (!res) return orders_job_fail(job, "reading the refund", err);
    if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "queued")) {
        PQclear(res);
        return OK;
    }
    amount = apr_atoi64(PQgetvalue(res, 0, 1));
    pi = PQgetisnull(res, 0, 2) ? NULL : apr_pstrdup(job->pool, PQgetvalue(res, 0, 2));
    order_id = apr_pstrdup(job->pool, PQgetvalue(res, 0, 3));
    client_id = apr_pstrdup(job->pool, PQgetvalue(res, 0, 4));
    slug = apr_pstrdup(job->pool, PQgetvalue(res, 0, 5));
    public_id = apr_pstrdup(job->pool, PQgetvalue(res, 0, 6));
    reason = apr_pstrdup(job->pool, PQgetvalue(res, 0, 7));
    currency = apr_pstrdup(job->pool, PQgetvalue(res, 0, 8));
    PQclear(res);
    if (!(c = orders_conf_for_slug(slug)) || !pi) {
        job->permanent = 1;
        return orders_job_fail(job, "refund", !pi ? "the order has no payment" : "no ConsultOrders for its client");
    }
    memset(&in, 0, sizeof(in));
    memset(&req, 0, sizeof(req));
    memset(&e, 0, sizeof(e));
    in.payment_intent = pi;
    in.amount = amount;
    in.reason = "requested_by_customer";
    in.order_id = public_id;
    in.idempotency_key = apr_psprintf(job->pool, "consult-refund-%" APR_INT64_T_FMT, refund);
    if (cs_stripe_build_refund(&req, job->pool, &c->stripe, &in, &err) != APR_SUCCESS) {
        job->permanent = 1;
        return orders_job_fail(job, "refund", err);
    }
    if (stripe_send(job->pool, &req, &resp, &e) == APR_SUCCESS) {
        cs_stripe_parse_refund(job->pool, resp->status, resp->headers, resp->body, resp->len,
                               &out, &e);
    }
    if (e.kind != CS_STRIPE_ERR_NONE) {
        /* Only a definite no is a failed refund: after a timeout or an
         * unreadable 2xx Stripe may have made it, so the row stays queued
         * (staff cannot refund it a second time) and the job keeps its key. */
        if (e.retry || e.kind == CS_STRIPE_ERR_UNREADABLE) {
            return orders_job_fail(job, "Stripe refund", e.why);
        }
        /* Stripe will not do it: staff see why and refund by hand. */
        params[1] = e.message ? e.message : e.why;
        res = exec(job, &err, PGRES_COMMAND_OK,
                   "UPDATE order_refunds SET state = 'failed', error = $2 WHERE id = $1", 2, params);
        if (!res) return orders_job_fail(job, "recording the refund", err);
        PQclear(res);
        cs_order_note(job->conn, job->pool, order_id, "stripe",
                      apr_pstrcat(job->pool, "refund refused by Stripe: ", params[1], NULL), &err);
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, LOG_S(job), CSLOGNO(08042)
                     "refund %s of order %s (%s) failed: %s", params[0], public_id, slug, params[1]);
        return OK;
    }
    params[1] = out.id;
    params[2] = order_id;
    params[3] = apr_psprintf(job->pool, "%" APR_INT64_T_FMT, amount);
    res = exec(job, &err, PGRES_TUPLES_OK,
        "WITH f AS (UPDATE order_refunds SET state = 'succeeded', stripe_refund_id = $2"
        "   WHERE id = $1 RETURNING amount_cents)"
        " UPDATE orders o SET refunded_cents = greatest(o.refunded_cents,"
        "   (SELECT coalesce(sum(amount_cents), 0) FROM order_refunds"
        "     WHERE order_id = $3 AND (state = 'succeeded' OR id = $1))), updated_at = now()"
        " WHERE o.id = $3 RETURNING o.refunded_cents >= o.paid_cents AND o.paid_cents > 0, o.state",
        3, params);
    if (!res) return orders_job_fail(job, "recording the refund", err);
    if (PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't') {
        cs_order_state_t s;
        if (cs_order_state_parse(PQgetvalue(res, 0, 1), &s) && cs_order_can(s, CS_ORDER_REFUNDED)
            && cs_order_move(job->conn, job->pool, client_id, order_id, CS_ORDER_REFUNDED,
                             "system", reason, NULL, &err) != APR_SUCCESS) {
            PQclear(res);
            return orders_job_fail(job, "marking refunded", err);
        }
    }
    PQclear(res);
    cs_order_note(job->conn, job->pool, order_id, "stripe",
                  apr_psprintf(job->pool, "refunded %s: %s",
                               orders_money(job->pool, amount, currency), reason), &err);
    return OK;
}

/* ---- the order.expire job ------------------------------------------------ */

#define EXPIRY_AGAIN apr_time_from_sec(15 * 60)

/* Stripe away (or the payment still processing) on the expiry's last
 * attempt: dead, the job would leave the order unpaid for good, holding
 * its pickup time; a fresh expiry asks again in 15 minutes instead. */
static int expiry_not_yet(cs_job_t *job, const char *oid, const char *cid, const char *what,
                          const char *why, int transient)
{
    const char *err = NULL;

    if (!transient || job->attempt < job->max_attempts) {
        return orders_job_fail(job, what, why);
    }
    if (cs_jobs_enqueue(job->conn, job->pool, &err, ORDERS_JOB_EXPIRE,
                        apr_psprintf(job->pool, "{\"order_id\": %s, \"client_id\": %s}", oid, cid),
                        apr_psprintf(job->pool, "%s:%s:%" APR_TIME_T_FMT, ORDERS_JOB_EXPIRE, oid,
                                     apr_time_now()), EXPIRY_AGAIN) != APR_SUCCESS
        || cs_order_note(job->conn, job->pool, oid, "system",
                         apr_psprintf(job->pool, "%s: %s; asking again in 15 minutes", what,
                                      why ? why : "no answer"), &err) != APR_SUCCESS) {
        return orders_job_fail(job, "scheduling the expiry again", err);
    }
    return OK;
}

/* An order still unpaid after ConsultOrderUnpaidExpiry gives its pickup
 * capacity back. Stripe is asked first: a payment whose webhook has not
 * arrived (or was lost) is applied here instead, so a paid order is never
 * cancelled. */
int orders_run_expire(cs_job_t *job)
{
    const char *err = NULL, *params[2], *pi = NULL, *slug, *cid, *oid;
    int st;
    cs_stripe_intent_t intent;
    cs_stripe_error_t e;
    cs_http_req_t req;
    cs_http_resp_t *resp = NULL;
    orders_conf *c;
    PGresult *res;

    if ((st = orders_job_order(job, &oid, &cid)) != OK) return st;
    params[0] = oid;
    params[1] = cid;
    res = exec(job, &err, PGRES_TUPLES_OK,
        "SELECT o.state, o.payment_intent, c.slug FROM orders o JOIN clients c ON c.id = o.client_id"
        " WHERE o.id = $1 AND o.client_id = $2", 2, params);
    if (!res) return orders_job_fail(job, "reading the order", err);
    if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "pending_payment")) {
        PQclear(res);
        return OK;
    }
    if (!PQgetisnull(res, 0, 1)) pi = apr_pstrdup(job->pool, PQgetvalue(res, 0, 1));
    slug = apr_pstrdup(job->pool, PQgetvalue(res, 0, 2));
    PQclear(res);
    if (pi && (c = orders_conf_for_slug(slug))) {
        memset(&req, 0, sizeof(req));
        memset(&e, 0, sizeof(e));
        if (cs_stripe_build_retrieve_intent(&req, job->pool, &c->stripe, pi) != APR_SUCCESS) {
            job->permanent = 1;
            return orders_job_fail(job, "expiry", "the stored PaymentIntent id is not Stripe's");
        }
        if (stripe_send(job->pool, &req, &resp, &e) != APR_SUCCESS
            || cs_stripe_parse_intent(job->pool, resp->status, resp->headers, resp->body,
                                      resp->len, &intent, &e) != APR_SUCCESS) {
            return expiry_not_yet(job, oid, cid, "asking Stripe about the payment", e.why, e.retry);
        }
        if (!strcmp(intent.status, "succeeded")) {
            cs_stripe_event_t ev;
            order_row_t o;
            int found;
            memset(&ev, 0, sizeof(ev));
            ev.kind = CS_STRIPE_EV_INTENT_SUCCEEDED;
            ev.payment_intent = intent.id;
            ev.amount_received = intent.amount_received;
            ev.currency = intent.currency;
            ev.order_id = intent.order_id;
            if ((found = find_order(job, cid, &ev, &o, &err)) < 0) return orders_job_fail(job, "the order", err);
            if (!found) return OK;
            cs_order_note(job->conn, job->pool, oid, "stripe",
                          "payment found when the unpaid order was about to expire", &err);
            return on_succeeded(job, &ev, &o);
        }
        if (!strcmp(intent.status, "processing")) {
            /* The bank has it: it ends succeeded or failed; look again later. */
            return expiry_not_yet(job, oid, cid, "expiry", "the payment is processing", 1);
        }
        if (strcmp(intent.status, "canceled")) {
            /* Cancelled at Stripe first, so a pay page still open cannot
             * take the money for an order that no longer holds a slot. A
             * refusal means it changed meanwhile (paid, processing): the
             * next attempt asks again. */
            memset(&req, 0, sizeof(req));
            memset(&e, 0, sizeof(e));
            if (cs_stripe_build_cancel_intent(&req, job->pool, &c->stripe, pi) != APR_SUCCESS) {
                job->permanent = 1;
                return orders_job_fail(job, "expiry", "the stored PaymentIntent id is not Stripe's");
            }
            if (stripe_send(job->pool, &req, &resp, &e) != APR_SUCCESS
                || cs_stripe_parse_intent(job->pool, resp->status, resp->headers, resp->body,
                                          resp->len, &intent, &e) != APR_SUCCESS) {
                return expiry_not_yet(job, oid, cid, "cancelling the payment at Stripe", e.why,
                                      e.retry || e.status == 400);
            }
        }
    }
    if (cs_order_move(job->conn, job->pool, cid, oid, CS_ORDER_CANCELLED, "system",
                      "not paid in time: the pickup time is free again", NULL, &err)
        != APR_SUCCESS && err) {
        return orders_job_fail(job, "cancelling", err);
    }
    return OK;
}
