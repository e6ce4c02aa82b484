/*
 * mod_consult_orders' jobs, besides Stripe's (orders_stripe.c):
 *
 * pos.order.submit: a paid order to the kitchen's POS, through
 * mod_consult_pos (cs_pos_submit), idempotent there by the order's public
 * id, so a worker killed after the POS took it and before our commit
 * sends it again as the same order. Just before, every line is checked
 * against the menu once more: a line that sold out since payment is left
 * out and its part refunded; nothing left, the whole order is. A POS that
 * refuses the order, or stays down past ConsultOrderPOSGiveUp (or the
 * job's last attempt), fails it: refunded, the guest told, staff see why.
 */
#include "orders_private.h"
#include "db/cs_jobs.h"

#include <apr_strings.h>
#include <stdlib.h>

APLOG_USE_MODULE(consult_orders);

#define LOG_S(job) ((server_rec *)(job)->server)

static int fail(cs_job_t *job, const char *what, const char *err)
{
    job->error = apr_psprintf(job->pool, "%s: %s", what, err ? err : "failed");
    return HTTP_SERVICE_UNAVAILABLE;
}

static PGresult *exec(cs_job_t *job, const char **perr, ExecStatusType expect,
                      const char *sql, int n, const char *const *params)
{
    return cs_db_exec(job->conn, job->pool, perr, expect, sql, n, params);
}

apr_status_t orders_tell(PGconn *conn, apr_pool_t *p, const char *slug, const char *order_id,
                         const char *body, const char **perr)
{
    return cs_order_tell(conn, p, order_id, body,
                         orders_core.twilio_enabled && orders_core.twilio_enabled(slug),
                         orders_core.email_enabled && orders_core.email_enabled(slug), perr);
}

typedef struct {
    int n;
    cs_cart_line_t line;
    const char *name;
    apr_int64_t unit, cents;
    int dropped;
} line_t;

/* The order failed at the POS: everything not refunded yet goes back. */
static int give_up(cs_job_t *job, const char *client_id, const char *order_id,
                   const char *slug, const char *pub, const char *why)
{
    const char *err = NULL, *params[2] = { order_id, why };
    apr_int64_t rest;
    PGresult *res;

    res = exec(job, &err, PGRES_TUPLES_OK,
        "UPDATE orders SET problem = $2 WHERE id = $1 RETURNING paid_cents -"
        " (SELECT coalesce(sum(amount_cents), 0) FROM order_refunds"
        "   WHERE order_id = $1 AND state <> 'failed')", 2, params);
    if (!res) return fail(job, "recording the failure", err);
    rest = apr_atoi64(PQgetvalue(res, 0, 0));
    PQclear(res);
    if (cs_order_move(job->conn, job->pool, client_id, order_id, CS_ORDER_FAILED, "pos", why,
                      NULL, &err) != APR_SUCCESS
        || cs_order_refund_queue(job->conn, job->pool, order_id, rest, "pos_failed", why, "system",
                               &err) != APR_SUCCESS
        || orders_tell(job->conn, job->pool, slug, order_id,
                       apr_psprintf(job->pool, "Sorry, the kitchen could not take your online "
                                    "order %s. We have refunded it in full.", pub), &err)
           != APR_SUCCESS) {
        return fail(job, "failing the order", err);
    }
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, LOG_S(job), CSLOGNO(07050)
                 "order %s of %s failed at the POS and is refunded: %s", pub, slug, why);
    return OK;
}

int orders_run_submit(cs_job_t *job)
{
    cs_json_t *pl = NULL;
    apr_int64_t order = 0, client = 0, age, sub, fee, tax, tip, new_sub = 0, refund;
    const char *err = NULL, *params[3], *oid, *cid, *slug, *pub, *pi, *dropped_names = NULL;
    apr_array_header_t *lines, *pos_lines;
    cs_pos_menu_info_t menu;
    cs_pos_order_t po;
    cs_pos_order_result_t *pres = NULL;
    orders_conf *c;
    PGresult *res;
    int i, j, kept = 0, asap, last;
    apr_int64_t pickup;
    apr_status_t rv;

    if (cs_json_parse(&pl, job->pool, job->payload, strlen(job->payload), &err) != APR_SUCCESS
        || !cs_jint(cs_json_raw(pl), "order_id", &order)
        || !cs_jint(cs_json_raw(pl), "client_id", &client)) {
        job->permanent = 1;
        return fail(job, "payload", "expected {\"order_id\": N, \"client_id\": N}");
    }
    oid = apr_psprintf(job->pool, "%" APR_INT64_T_FMT, order);
    cid = apr_psprintf(job->pool, "%" APR_INT64_T_FMT, client);
    params[0] = oid;
    params[1] = cid;
    res = exec(job, &err, PGRES_TUPLES_OK,
        "SELECT o.state, o.public_id, c.slug, o.guest_name, o.guest_phone, o.guest_email,"
        "  o.pickup_asap, extract(epoch FROM o.pickup_at)::bigint, o.subtotal_cents, o.fee_cents,"
        "  o.tax_cents, o.tip_cents, o.payment_intent,"
        "  extract(epoch FROM now() - coalesce(o.paid_at, now()))::bigint"
        " FROM orders o JOIN clients c ON c.id = o.client_id"
        " WHERE o.id = $1 AND o.client_id = $2 FOR UPDATE OF o", 2, params);
    if (!res) return fail(job, "reading the order", err);
    if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "paid")) {
        PQclear(res);
        return OK;                      /* sent already, or refunded meanwhile */
    }
    memset(&po, 0, sizeof(po));
    pub = apr_pstrdup(job->pool, PQgetvalue(res, 0, 1));
    slug = apr_pstrdup(job->pool, PQgetvalue(res, 0, 2));
    po.external_id = pub;
    po.customer_name = apr_pstrdup(job->pool, PQgetvalue(res, 0, 3));
    po.customer_phone = PQgetisnull(res, 0, 4) ? NULL : apr_pstrdup(job->pool, PQgetvalue(res, 0, 4));
    po.customer_email = PQgetisnull(res, 0, 5) ? NULL : apr_pstrdup(job->pool, PQgetvalue(res, 0, 5));
    asap = PQgetvalue(res, 0, 6)[0] == 't';
    pickup = apr_atoi64(PQgetvalue(res, 0, 7));
    sub = apr_atoi64(PQgetvalue(res, 0, 8));
    fee = apr_atoi64(PQgetvalue(res, 0, 9));
    tax = apr_atoi64(PQgetvalue(res, 0, 10));
    tip = apr_atoi64(PQgetvalue(res, 0, 11));
    pi = PQgetisnull(res, 0, 12) ? NULL : apr_pstrdup(job->pool, PQgetvalue(res, 0, 12));
    age = apr_atoi64(PQgetvalue(res, 0, 13));
    PQclear(res);
    if (!(c = orders_conf_for_slug(slug))) {
        job->permanent = 1;
        return fail(job, "order", "no vhost of this server has ConsultOrders for its client");
    }

    res = exec(job, &err, PGRES_TUPLES_OK,
        "SELECT n, item_id, name, quantity, unit_cents, line_cents,"
        "  coalesce((SELECT string_agg(m->>'id', E'\\x1f') FROM jsonb_array_elements(modifiers) m), '')"
        " FROM order_lines WHERE order_id = $1 ORDER BY n", 1, params);
    if (!res) return fail(job, "reading the lines", err);
    lines = apr_array_make(job->pool, PQntuples(res), sizeof(line_t));
    for (i = 0; i < PQntuples(res); i++) {
        line_t *l = apr_array_push(lines);
        char *mods = apr_pstrdup(job->pool, PQgetvalue(res, i, 6)), *tok, *last_tok = NULL;
        memset(l, 0, sizeof(*l));
        l->n = atoi(PQgetvalue(res, i, 0));
        l->line.item_id = apr_pstrdup(job->pool, PQgetvalue(res, i, 1));
        l->name = apr_pstrdup(job->pool, PQgetvalue(res, i, 2));
        l->line.quantity = atoi(PQgetvalue(res, i, 3));
        l->unit = apr_atoi64(PQgetvalue(res, i, 4));
        l->cents = apr_atoi64(PQgetvalue(res, i, 5));
        l->line.modifier_ids = apr_array_make(job->pool, 2, sizeof(const char *));
        for (tok = apr_strtok(mods, "\x1f", &last_tok); tok; tok = apr_strtok(NULL, "\x1f", &last_tok)) {
            APR_ARRAY_PUSH(l->line.modifier_ids, const char *) = tok;
        }
    }
    PQclear(res);

    /* The last look at the menu before the kitchen gets it. */
    if (orders_pos_menu(job->conn, job->pool, slug, cid, &menu, &err) != APR_SUCCESS) {
        return fail(job, "reading the menu", err);
    }
    pos_lines = apr_array_make(job->pool, lines->nelts, sizeof(cs_pos_line_t));
    for (i = 0; i < lines->nelts; i++) {
        line_t *l = &APR_ARRAY_IDX(lines, i, line_t);
        cs_cart_priced_t pl2;
        if (cs_cart_price_line(job->pool, menu.menu, &l->line, NULL, &pl2, NULL) != APR_SUCCESS) {
            l->dropped = 1;
            dropped_names = dropped_names ? apr_pstrcat(job->pool, dropped_names, ", ", l->name, NULL)
                                          : l->name;
            continue;
        }
        {
            cs_pos_line_t *pline = apr_array_push(pos_lines);
            memset(pline, 0, sizeof(*pline));
            pline->item_id = l->line.item_id;
            pline->quantity = l->line.quantity;
            pline->modifier_ids = l->line.modifier_ids;
            pline->unit_price_cents = l->unit;      /* what the guest paid for it */
        }
        new_sub += l->cents;
        kept++;
    }
    if (!kept) {
        const char *why = "everything in the order sold out before the kitchen got it";
        params[1] = why;
        res = exec(job, &err, PGRES_COMMAND_OK,
                   "UPDATE order_lines SET dropped = true WHERE order_id = $1", 1, params);
        if (!res) return fail(job, "marking the lines", err);
        PQclear(res);
        return give_up(job, cid, oid, slug, pub, why);
    }
    if (dropped_names) {
        /* What the guest would have paid without those lines: the same
         * rules as checkout (cs_cart), the tip unchanged. */
        apr_int64_t new_fee = 0, taxable, new_tax;
        const char *ids = "";
        if (c->fees_set) {
            new_fee = c->fees.fixed_cents
                    + cs_cart_rate_cents(new_sub, c->fees.percent_bp, CS_CART_BP);
        }
        taxable = new_sub + (c->fees_set && c->fees.taxable ? new_fee : 0);
        new_tax = cs_cart_rate_cents(taxable, (apr_int64_t)menu.tax_rate_bp * 100, CS_CART_PPM);
        refund = (sub + fee + tax) - (new_sub + new_fee + new_tax);
        for (i = 0, j = 0; i < lines->nelts; i++) {
            line_t *l = &APR_ARRAY_IDX(lines, i, line_t);
            if (l->dropped) ids = apr_psprintf(job->pool, "%s%s%d", ids, j++ ? "," : "", l->n);
        }
        params[1] = apr_pstrcat(job->pool, "{", ids, "}", NULL);
        res = exec(job, &err, PGRES_COMMAND_OK,
                   "UPDATE order_lines SET dropped = true WHERE order_id = $1 AND n = ANY($2::int[])",
                   2, params);
        if (!res) return fail(job, "marking the lines", err);
        PQclear(res);
        if (cs_order_refund_queue(job->conn, job->pool, oid, refund, "sold_out_lines",
                                apr_pstrcat(job->pool, "sold out before the kitchen got it: ",
                                            dropped_names, NULL), "system", &err) != APR_SUCCESS
            || cs_order_note(job->conn, job->pool, oid, "system",
                             apr_psprintf(job->pool, "left out (sold out): %s; %s refunded",
                                          dropped_names, orders_money(job->pool, refund,
                                                                      menu.currency)), &err)
               != APR_SUCCESS
            || orders_tell(job->conn, job->pool, slug, oid,
                           apr_psprintf(job->pool, "Sorry: %s sold out just before the kitchen "
                                        "got your order %s. We have refunded %s; the rest of "
                                        "your order is on its way.", dropped_names, pub,
                                        orders_money(job->pool, refund, menu.currency)), &err)
               != APR_SUCCESS) {
            return fail(job, "refunding the sold-out lines", err);
        }
        sub = new_sub;
        fee = c->fees_set ? c->fees.fixed_cents + cs_cart_rate_cents(new_sub, c->fees.percent_bp,
                                                                     CS_CART_BP) : 0;
        tax = cs_cart_rate_cents(sub + (c->fees_set && c->fees.taxable ? fee : 0),
                                 (apr_int64_t)menu.tax_rate_bp * 100, CS_CART_PPM);
    }
    po.lines = pos_lines;
    po.pickup_at = asap ? 0 : apr_time_from_sec(pickup);
    po.subtotal_cents = sub + fee;
    po.tax_cents = tax;
    po.tip_cents = tip;
    po.total_cents = sub + fee + tax + tip;
    po.payment_ref = pi;

    rv = orders_pos_submit(job->pool, slug, &po, &pres, &err);
    if (rv == APR_SUCCESS && pres && pres->pos_order_id) {
        params[1] = pres->pos_order_id;
        res = exec(job, &err, PGRES_COMMAND_OK,
                   "UPDATE orders SET pos_order_id = $2, problem = NULL WHERE id = $1", 2, params);
        if (!res) return fail(job, "recording the POS order", err);
        PQclear(res);
        if (cs_order_move(job->conn, job->pool, cid, oid, CS_ORDER_SENT, "pos",
                          apr_pstrcat(job->pool, "the POS took it as ", pres->pos_order_id, NULL),
                          NULL, &err) != APR_SUCCESS) {
            return fail(job, "marking sent", err);
        }
        return OK;
    }
    last = job->attempt >= job->max_attempts || age >= apr_time_sec(c->pos_give_up);
    if (APR_STATUS_IS_EAGAIN(rv) && !last) {
        /* Retried with backoff; the staff's Orders view says it is waiting. */
        params[1] = apr_pstrcat(job->pool, "waiting for the POS: ", err ? err : "unreachable", NULL);
        return fail(job, "the POS", err);
    }
    return give_up(job, cid, oid, slug, pub,
                   APR_STATUS_IS_EAGAIN(rv)
                   ? apr_psprintf(job->pool, "the POS stayed unreachable for %d min (%s)",
                                  (int)(age / 60), err ? err : "no answer")
                   : apr_pstrcat(job->pool, "the POS refused the order: ",
                                 err ? err : "no reason given", NULL));
}

int orders_run_job(cs_job_t *job)
{
    if (!strcmp(job->kind, ORDERS_JOB_STRIPE)) return orders_run_stripe_event(job);
    if (!strcmp(job->kind, ORDERS_JOB_SUBMIT)) return orders_run_submit(job);
    if (!strcmp(job->kind, ORDERS_JOB_REFUND)) return orders_run_refund(job);
    if (!strcmp(job->kind, ORDERS_JOB_EXPIRE)) return orders_run_expire(job);
    return DECLINED;
}
