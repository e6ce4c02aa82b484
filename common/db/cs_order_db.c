/* Order state moves in Postgres (see cs_order_db.h). */
#include "db/cs_order_db.h"
#include "db/cs_db.h"

#include <apr_strings.h>

apr_status_t cs_order_move(PGconn *conn, apr_pool_t *p, const char *client_id,
                           const char *order_id, cs_order_state_t to, const char *actor,
                           const char *reason, cs_order_state_t *pfrom, const char **perr)
{
    const char *params[6];
    cs_order_state_t from;
    PGresult *res;
    int ok;

    params[0] = order_id;
    params[1] = client_id;
    res = cs_db_exec(conn, p, perr, PGRES_TUPLES_OK,
                     "SELECT state FROM orders WHERE id = $1 AND client_id = $2 FOR UPDATE",
                     2, params);
    if (!res) return APR_EGENERAL;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return APR_NOTFOUND;
    }
    ok = cs_order_state_parse(PQgetvalue(res, 0, 0), &from);
    PQclear(res);
    if (!ok) {
        if (perr) *perr = "the order is in an unknown state";
        return APR_EGENERAL;
    }
    if (pfrom) *pfrom = from;
    if (!cs_order_can(from, to)) {
        if (perr) *perr = apr_psprintf(p, "an order cannot go from %s to %s",
                                       cs_order_state_name(from), cs_order_state_name(to));
        return APR_EINVAL;
    }
    params[2] = cs_order_state_name(to);
    params[3] = actor;
    params[4] = reason;
    params[5] = cs_order_state_name(from);
    /* One statement: the state, the history row and, for an order leaving
     * the kitchen's plan, its slot's points (every part reads the row as
     * it was before the UPDATE: one snapshot). */
    res = cs_db_exec(conn, p, perr, PGRES_TUPLES_OK,
        "WITH o AS (UPDATE orders SET state = $3, updated_at = now(),"
        "     holds_capacity = holds_capacity AND $3 NOT IN ('cancelled', 'failed', 'refunded')"
        "   WHERE id = $1 AND client_id = $2"
        "   RETURNING id, client_id, slot_start, points,"
        "     $3 IN ('cancelled', 'failed', 'refunded') AS release),"
        " old AS (SELECT holds_capacity FROM orders WHERE id = $1),"
        " e AS (INSERT INTO order_events (order_id, from_state, to_state, actor, reason)"
        "   SELECT o.id, $6, $3, $4, $5 FROM o),"
        " l AS (UPDATE pickup_load pl SET points = greatest(pl.points - o.points, 0)"
        "   FROM o, old WHERE o.release AND old.holds_capacity"
        "     AND pl.client_id = o.client_id AND pl.slot_start = o.slot_start)"
        " SELECT 1 FROM o", 6, params);
    if (!res) return APR_EGENERAL;
    PQclear(res);
    return APR_SUCCESS;
}

apr_status_t cs_order_note(PGconn *conn, apr_pool_t *p, const char *order_id,
                           const char *actor, const char *reason, const char **perr)
{
    const char *params[3] = { order_id, actor, reason };
    PGresult *res = cs_db_exec(conn, p, perr, PGRES_COMMAND_OK,
        "INSERT INTO order_events (order_id, from_state, actor, reason)"
        " SELECT id, state, $2, $3 FROM orders WHERE id = $1", 3, params);
    if (!res) return APR_EGENERAL;
    PQclear(res);
    return APR_SUCCESS;
}

apr_status_t cs_order_refund_queue(PGconn *conn, apr_pool_t *p, const char *order_id,
                                   apr_int64_t cents, const char *cause, const char *reason,
                                   const char *by, const char **perr)
{
    const char *params[5];
    PGresult *res;
    if (cents <= 0) return APR_SUCCESS;
    params[0] = order_id;
    params[1] = apr_psprintf(p, "%" APR_INT64_T_FMT, cents);
    params[2] = reason;
    params[3] = by;
    params[4] = cause;
    res = cs_db_exec(conn, p, perr, PGRES_TUPLES_OK,
        "WITH f AS (INSERT INTO order_refunds (order_id, amount_cents, reason, requested_by, cause)"
        "   VALUES ($1, $2, $3, $4, $5) ON CONFLICT (order_id, cause) DO NOTHING RETURNING id)"
        " INSERT INTO jobs (kind, payload, unique_key)"
        " SELECT 'order.refund', jsonb_build_object('refund_id', f.id), 'order.refund:' || f.id"
        " FROM f RETURNING id", 5, params);
    if (!res) return APR_EGENERAL;
    PQclear(res);
    return APR_SUCCESS;
}

apr_status_t cs_order_tell(PGconn *conn, apr_pool_t *p, const char *order_id, const char *body,
                           int sms_ok, int email_ok, const char **perr)
{
    const char *params[4] = { order_id, body, sms_ok ? "t" : "f", email_ok ? "t" : "f" };
    PGresult *res = cs_db_exec(conn, p, perr, PGRES_TUPLES_OK,
                               "SELECT consult_order_tell($1, $2, $3, $4)", 4, params);
    if (!res) return APR_EGENERAL;
    PQclear(res);
    return APR_SUCCESS;
}
