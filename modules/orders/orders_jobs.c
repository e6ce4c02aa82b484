/*
 * mod_consult_orders' jobs, besides Stripe's (orders_stripe.c):
 *
 * pos.order.submit: a paid order to the kitchen's POS, through
 * mod_consult_pos (cs_pos_submit), idempotent there by the order's public
 * id, so a worker killed after the POS took it and before our commit
 * sends it again as the same order. Before the first call, every line is
 * checked against the menu once more: a line that sold out since payment
 * is left out and its part refunded; nothing left, the whole order is.
 * That decision is committed before the POS is called (kitchen_lines_at),
 * so a retry after a timeout sends the very same order, whatever the menu
 * says by then, and the refund is never undone. A POS that
 * refuses the order, or stays down past ConsultOrderPOSGiveUp (or the
 * job's last attempt), fails it: refunded, the guest told, staff see why.
 */
#include "orders_private.h"
#include "db/cs_jobs.h"

#include <apr_strings.h>
#include <stdlib.h>

APLOG_USE_MODULE(consult_orders);

#define LOG_S(job) ((server_rec *)(job)->server)

int orders_job_fail(cs_job_t *job, const char *what, const char *err)
{
    job->error = apr_psprintf(job->pool, "%s: %s", what, err ? err : "failed");
    return HTTP_SERVICE_UNAVAILABLE;
}

int orders_job_order(cs_job_t *job, const char **poid, const char **pcid)
{
    cs_json_t *pl = NULL;
    apr_int64_t order = 0, client = 0;
    if (cs_json_parse(&pl, job->pool, job->payload, strlen(job->payload), NULL) != APR_SUCCESS
        || !cs_jint(cs_json_raw(pl), "order_id", &order) || order <= 0
        || !cs_jint(cs_json_raw(pl), "client_id", &client) || client <= 0) {
        job->permanent = 1;
        return orders_job_fail(job, "payload", "expected {\"order_id\": N, \"client_id\": N}");
    }
    *poid = apr_psprintf(job->pool, "%" APR_INT64_T_FMT, order);
    *pcid = apr_psprintf(job->pool, "%" APR_INT64_T_FMT, client);
    return OK;
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

    /* What is left of the payment: refunds already made (ours, or in
     * Stripe's dashboard) or on their way are not refunded again. */
    res = exec(job, &err, PGRES_TUPLES_OK,
        "UPDATE orders SET problem = $2 WHERE id = $1 RETURNING paid_cents - greatest(refunded_cents,"
        " (SELECT coalesce(sum(amount_cents), 0) FROM order_refunds"
        "   WHERE order_id = $1 AND state <> 'failed'))", 2, params);
    if (!res) return orders_job_fail(job, "recording the failure", err);
    if (PQntuples(res) != 1) {
        PQclear(res);
        return orders_job_fail(job, "recording the failure", "the order is gone");
    }
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
        return orders_job_fail(job, "failing the order", err);
    }
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, LOG_S(job), CSLOGNO(08050)
                 "order %s of %s failed at the POS and is refunded: %s", pub, slug, why);
    return OK;
}

int orders_run_submit(cs_job_t *job)
{
    apr_int64_t age, sub, fee, tax, tip, new_sub = 0, refund;
    apr_int64_t tax_ppm, fee_fixed, fee_bp, tip_bp, left;
    int fee_taxable, st, fixed;
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

    if ((st = orders_job_order(job, &oid, &cid)) != OK) return st;
    params[0] = oid;
    params[1] = cid;
    res = exec(job, &err, PGRES_TUPLES_OK,
        "SELECT o.state, o.public_id, c.slug, o.guest_name, o.guest_phone, o.guest_email,"
        "  o.pickup_asap, extract(epoch FROM o.pickup_at)::bigint, o.subtotal_cents, o.fee_cents,"
        "  o.tax_cents, o.tip_cents, o.payment_intent,"
        "  extract(epoch FROM now() - coalesce(o.paid_at, now()))::bigint,"
        "  o.tax_rate_ppm, o.fee_fixed_cents, o.fee_percent_bp, o.fee_taxable, o.tip_percent_bp,"
        "  o.paid_cents - greatest(o.refunded_cents, (SELECT coalesce(sum(f.amount_cents), 0)"
        "    FROM order_refunds f WHERE f.order_id = o.id AND f.state <> 'failed')),"
        "  o.kitchen_lines_at IS NOT NULL"
        " FROM orders o JOIN clients c ON c.id = o.client_id"
        " WHERE o.id = $1 AND o.client_id = $2 FOR UPDATE OF o", 2, params);
    if (!res) return orders_job_fail(job, "reading the order", err);
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
    tax_ppm = apr_atoi64(PQgetvalue(res, 0, 14));
    fee_fixed = apr_atoi64(PQgetvalue(res, 0, 15));
    fee_bp = apr_atoi64(PQgetvalue(res, 0, 16));
    fee_taxable = PQgetvalue(res, 0, 17)[0] == 't';
    tip_bp = PQgetisnull(res, 0, 18) ? -1 : apr_atoi64(PQgetvalue(res, 0, 18));
    left = apr_atoi64(PQgetvalue(res, 0, 19));
    fixed = PQgetvalue(res, 0, 20)[0] == 't';
    PQclear(res);
    if (!(c = orders_conf_for_slug(slug))) {
        job->permanent = 1;
        return orders_job_fail(job, "order", "no vhost of this server has ConsultOrders for its client");
    }

    res = exec(job, &err, PGRES_TUPLES_OK,
        "SELECT n, item_id, name, quantity, unit_cents, line_cents,"
        "  coalesce((SELECT string_agg(m->>'id', E'\\x1f') FROM jsonb_array_elements(modifiers) m), ''),"
        "  dropped"
        " FROM order_lines WHERE order_id = $1 ORDER BY n", 1, params);
    if (!res) return orders_job_fail(job, "reading the lines", err);
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
        l->dropped = fixed && PQgetvalue(res, i, 7)[0] == 't';
        l->line.modifier_ids = apr_array_make(job->pool, 2, sizeof(const char *));
        for (tok = apr_strtok(mods, "\x1f", &last_tok); tok; tok = apr_strtok(NULL, "\x1f", &last_tok)) {
            APR_ARRAY_PUSH(l->line.modifier_ids, const char *) = tok;
        }
    }
    PQclear(res);

    /* The last look at the menu before the kitchen gets it: once, before
     * the first call; a retry keeps what that look decided. */
    memset(&menu, 0, sizeof(menu));
    if (!fixed && orders_pos_menu(job->conn, job->pool, slug, cid, &menu, &err) != APR_SUCCESS) {
        return orders_job_fail(job, "reading the menu", err);
    }
    pos_lines = apr_array_make(job->pool, lines->nelts, sizeof(cs_pos_line_t));
    for (i = 0; i < lines->nelts; i++) {
        line_t *l = &APR_ARRAY_IDX(lines, i, line_t);
        cs_cart_priced_t pl2;
        if (l->dropped
            || (!fixed && cs_cart_price_line(job->pool, menu.menu, &l->line, NULL, &pl2, NULL)
                          != APR_SUCCESS)) {
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
        if (!res) return orders_job_fail(job, "marking the lines", err);
        PQclear(res);
        return give_up(job, cid, oid, slug, pub, why);
    }
    if (dropped_names) {
        /* What the guest would have paid without those lines, by the rules
         * and rates of the checkout (stored on the order): the fee and a
         * percent tip follow the subtotal, the tax its taxable part. */
        apr_int64_t new_fee = 0, new_tax, new_tip = tip, pct = 0;
        const char *ids = "";
        if (fee_fixed || fee_bp) {
            pct = cs_cart_rate_cents(new_sub, fee_bp, CS_CART_BP);
            new_fee = pct < 0 ? -1 : fee_fixed + pct;
        }
        new_tax = new_fee < 0 ? -1 : cs_cart_rate_cents(new_sub + (fee_taxable ? new_fee : 0),
                                                        tax_ppm, CS_CART_PPM);
        if (tip_bp >= 0) new_tip = cs_cart_rate_cents(new_sub, tip_bp, CS_CART_BP);
        if (new_fee < 0 || new_tax < 0 || new_tip < 0) {
            job->permanent = 1;
            return orders_job_fail(job, "the refund of the sold-out lines", "an amount out of range");
        }
        refund = (sub + fee + tax + tip) - (new_sub + new_fee + new_tax + new_tip);
        if (refund > left) refund = left;
        if (!fixed) {
            /* Marked, refunded and told once: a retry finds it done. */
            for (i = 0, j = 0; i < lines->nelts; i++) {
                line_t *l = &APR_ARRAY_IDX(lines, i, line_t);
                if (l->dropped) ids = apr_psprintf(job->pool, "%s%s%d", ids, j++ ? "," : "", l->n);
            }
            params[1] = apr_pstrcat(job->pool, "{", ids, "}", NULL);
            res = exec(job, &err, PGRES_COMMAND_OK,
                       "UPDATE order_lines SET dropped = true WHERE order_id = $1 AND n = ANY($2::int[])",
                       2, params);
            if (!res) return orders_job_fail(job, "marking the lines", err);
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
                return orders_job_fail(job, "refunding the sold-out lines", err);
            }
        }
        sub = new_sub;
        fee = new_fee;
        tax = new_tax;
        tip = new_tip;
    }
    if (!fixed) {
        /* The decision committed before the POS hears of the order; then
         * the order's row is locked again, and still only paid. */
        res = exec(job, &err, PGRES_COMMAND_OK,
                   "UPDATE orders SET kitchen_lines_at = now() WHERE id = $1", 1, params);
        if (!res) return orders_job_fail(job, "fixing the lines", err);
        PQclear(res);
        if (cs_jobs_checkpoint(job->conn, job->pool, &err, job) != APR_SUCCESS) {
            return orders_job_fail(job, "committing the lines", err);
        }
        res = exec(job, &err, PGRES_TUPLES_OK,
                   "SELECT state = 'paid' FROM orders WHERE id = $1 FOR UPDATE", 1, params);
        if (!res) return orders_job_fail(job, "reading the order", err);
        if (PQntuples(res) != 1 || PQgetvalue(res, 0, 0)[0] != 't') {
            PQclear(res);
            return OK;                  /* refunded in the moment between */
        }
        PQclear(res);
    }
    po.lines = pos_lines;
    po.pickup_at = asap ? 0 : apr_time_from_sec(pickup);
    po.subtotal_cents = sub + fee;
    po.tax_cents = tax;
    po.tip_cents = tip;
    po.total_cents = sub + fee + tax + tip;
    po.payment_ref = pi;

    rv = orders_pos_submit(job->pool, slug, &po, &pres, &err);
    if (rv == APR_SUCCESS && !(pres && pres->pos_order_id)) {
        rv = APR_EAGAIN;            /* taken, but no id to follow it by: ask again */
        err = "the POS answered without an order id";
    }
    if (rv == APR_SUCCESS) {
        params[1] = pres->pos_order_id;
        res = exec(job, &err, PGRES_COMMAND_OK,
                   "UPDATE orders SET pos_order_id = $2, problem = NULL WHERE id = $1", 2, params);
        if (!res) return orders_job_fail(job, "recording the POS order", err);
        PQclear(res);
        if (cs_order_move(job->conn, job->pool, cid, oid, CS_ORDER_SENT, "pos",
                          apr_pstrcat(job->pool, "the POS took it as ", pres->pos_order_id, NULL),
                          NULL, &err) != APR_SUCCESS) {
            return orders_job_fail(job, "marking sent", err);
        }
        return OK;
    }
    last = job->attempt >= job->max_attempts || age >= apr_time_sec(c->pos_give_up);
    if ((APR_STATUS_IS_EAGAIN(rv) || APR_STATUS_IS_EACCES(rv)) && !last) {
        /* Retried with backoff (credentials too: a token being rotated);
         * the staff's Orders view says it is waiting for the POS. */
        return orders_job_fail(job, "the POS", err);
    }
    return give_up(job, cid, oid, slug, pub,
                   APR_STATUS_IS_EAGAIN(rv) || APR_STATUS_IS_EACCES(rv)
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
