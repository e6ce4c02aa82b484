/*
 * The Orders page of a restaurant client (mod_consult_orders keeps its
 * online orders in orders, order_lines, order_events and order_refunds):
 * new orders with a loud alert until someone acknowledges them, the
 * kitchen's buttons, refunds for owners, and the pause switch.
 *
 *   GET  /orders                    the page (refreshes itself every 5 s)
 *   POST /orders/ID/ack             silence the new-order alert
 *   POST /orders/ID/accept|ready|picked_up
 *   POST /orders/ID/refund          owners: what is left of the payment
 *   POST /orders/pause              action=pause|resume|extra (minutes=N)
 *
 * Every change is one transaction with its audit row; the state moves go
 * through cs_order_move (forward only), so a button pressed twice or on
 * a stale page changes nothing. Everything is scoped to the session's
 * client: another client's order id is simply not found.
 */
#include "inbox_private.h"
#include "db/cs_order_db.h"
#include "domain/cs_menu.h"

#include "http_protocol.h"
#include <apr_strings.h>
#include <stdlib.h>

APLOG_USE_MODULE(consult_inbox);

static const char *col(PGresult *res, int row, const char *name)
{
    int j = PQfnumber(res, name);
    return j < 0 || PQgetisnull(res, row, j) ? NULL : PQgetvalue(res, row, j);
}

static void add_str(json_object *o, const char *key, const char *v)
{
    if (v) json_object_object_add(o, key, json_object_new_string(v));
}

static void add_bool(json_object *o, const char *key, int v)
{
    json_object_object_add(o, key, json_object_new_boolean(v));
}

static int is_owner(const inbox_ctx *ctx)
{
    return ctx->is_admin || (ctx->role && !strcmp(ctx->role, "owner"));
}

#define LOCAL(col) "to_char(" col " AT TIME ZONE coalesce(r.time_zone, 'UTC'), 'FMHH12:MI AM')"

static const char *ORDERS_SQL =
    "SELECT o.id, o.public_id, o.state, o.guest_name, o.guest_phone, o.guest_email,"
    "  o.pickup_asap, " LOCAL("o.pickup_at") " AS pickup, " LOCAL("o.created_at") " AS placed,"
    "  o.total_cents, o.refunded_cents, o.paid_cents, o.currency, o.problem, o.disputed,"
    "  o.acknowledged_at IS NULL AND o.state IN ('paid', 'sent_to_pos') AS is_new,"
    "  o.conversation_id,"
    "  (SELECT string_agg(l.quantity || ' × ' || l.name || coalesce(' (' || (SELECT"
    "     string_agg(m->>'name', ', ') FROM jsonb_array_elements(l.modifiers) m) || ')', '')"
    "     || CASE WHEN l.dropped THEN ' — sold out, refunded' ELSE '' END, E'\\n' ORDER BY l.n)"
    "   FROM order_lines l WHERE l.order_id = o.id) AS lines,"
    "  (SELECT e.reason FROM order_events e WHERE e.order_id = o.id ORDER BY e.id DESC LIMIT 1)"
    "   AS last_event,"
    "  (SELECT coalesce(sum(f.amount_cents), 0) FROM order_refunds f WHERE f.order_id = o.id"
    "     AND f.state = 'queued') AS refund_pending,"
    "  (SELECT count(*) FROM order_refunds f WHERE f.order_id = o.id AND f.state = 'failed')"
    "   AS refund_failed"
    " FROM orders o LEFT JOIN restaurants r ON r.client_id = o.client_id"
    " WHERE o.client_id = $1 AND o.state <> 'pending_payment'"
    "   AND (o.state IN ('paid', 'sent_to_pos', 'accepted', 'ready')"
    "        OR o.updated_at > now() - interval '1 day')"
    " ORDER BY o.state IN ('picked_up', 'failed', 'cancelled', 'refunded'), o.pickup_at, o.id"
    " LIMIT 200";

static json_object *order_json(request_rec *r, inbox_ctx *ctx, PGresult *res, int i)
{
    json_object *o = json_object_new_object();
    const char *state = col(res, i, "state"), *cur = col(res, i, "currency");
    cs_order_state_t s = CS_ORDER_PENDING;
    apr_int64_t paid = apr_atoi64(col(res, i, "paid_cents"));
    apr_int64_t refunded = apr_atoi64(col(res, i, "refunded_cents"));
    apr_int64_t pending = apr_atoi64(col(res, i, "refund_pending"));

    cs_order_state_parse(state, &s);
    add_str(o, "id", col(res, i, "id"));
    add_str(o, "public_id", col(res, i, "public_id"));
    add_str(o, "short", apr_pstrndup(r->pool, col(res, i, "public_id"), 6));
    add_str(o, "state", state);
    add_str(o, "state_label", cs_order_state_label(s));
    add_str(o, "guest", col(res, i, "guest_name"));
    add_str(o, "phone", col(res, i, "guest_phone"));
    add_str(o, "email", col(res, i, "guest_email"));
    add_str(o, "pickup", col(res, i, "pickup"));
    add_bool(o, "asap", col(res, i, "pickup_asap")[0] == 't');
    add_str(o, "placed", col(res, i, "placed"));
    add_str(o, "total", cs_menu_format_price(r->pool, apr_atoi64(col(res, i, "total_cents")), cur));
    if (refunded) add_str(o, "refunded", cs_menu_format_price(r->pool, refunded, cur));
    if (pending) add_str(o, "refund_pending", cs_menu_format_price(r->pool, pending, cur));
    add_bool(o, "refund_failed", atoi(col(res, i, "refund_failed")) > 0);
    add_str(o, "problem", col(res, i, "problem"));
    add_bool(o, "disputed", col(res, i, "disputed")[0] == 't');
    add_str(o, "lines", col(res, i, "lines"));
    add_str(o, "last_event", col(res, i, "last_event"));
    add_str(o, "conversation", col(res, i, "conversation_id"));
    add_bool(o, "is_new", col(res, i, "is_new")[0] == 't');
    add_bool(o, "can_accept", cs_order_can(s, CS_ORDER_ACCEPTED) && s != CS_ORDER_PAID);
    add_bool(o, "can_ready", cs_order_can(s, CS_ORDER_READY) && s != CS_ORDER_PAID);
    add_bool(o, "can_pick_up", cs_order_can(s, CS_ORDER_PICKED_UP) && s != CS_ORDER_PAID);
    add_bool(o, "waiting_pos", s == CS_ORDER_PAID);
    add_bool(o, "bad", s == CS_ORDER_FAILED || s == CS_ORDER_REFUNDED || s == CS_ORDER_CANCELLED);
    add_bool(o, "can_refund", is_owner(ctx) && paid - refunded - pending > 0
             && (cs_order_is_paid(s) || s == CS_ORDER_FAILED));
    if (paid - refunded - pending > 0) {
        add_str(o, "refundable", cs_menu_format_price(r->pool, paid - refunded - pending, cur));
    }
    return o;
}

static json_object *orders_data(request_rec *r, inbox_ctx *ctx)
{
    const char *params[1] = { ctx->client_id };
    json_object *d = inbox_page_data(r, ctx, "Orders"), *active, *done;
    PGresult *res;
    int i, fresh = 0;

    add_bool(d, "orders_page", 1);
    res = inbox_query(r, ctx,
        "SELECT EXISTS (SELECT 1 FROM restaurants WHERE client_id = $1),"
        "  s.paused AND (s.paused_until IS NULL OR s.paused_until > now()),"
        "  " LOCAL("s.paused_until") ", coalesce(s.extra_minutes, 0)"
        " FROM (SELECT 1) x LEFT JOIN order_settings s ON s.client_id = $1"
        " LEFT JOIN restaurants r ON r.client_id = $1", 1, params);
    if (!res) {
        json_object_put(d);
        return NULL;
    }
    add_bool(d, "restaurant", PQgetvalue(res, 0, 0)[0] == 't');
    add_bool(d, "paused", PQgetvalue(res, 0, 1)[0] == 't');
    if (!PQgetisnull(res, 0, 2)) add_str(d, "paused_until", PQgetvalue(res, 0, 2));
    json_object_object_add(d, "extra_minutes", json_object_new_int(atoi(PQgetvalue(res, 0, 3))));
    PQclear(res);

    res = inbox_query(r, ctx, ORDERS_SQL, 1, params);
    if (!res) {
        json_object_put(d);
        return NULL;
    }
    active = json_object_new_array();
    done = json_object_new_array();
    for (i = 0; i < PQntuples(res); i++) {
        json_object *o = order_json(r, ctx, res, i);
        cs_order_state_t s = CS_ORDER_PENDING;
        cs_order_state_parse(col(res, i, "state"), &s);
        if (col(res, i, "is_new")[0] == 't') fresh++;
        json_object_array_add(cs_order_is_final(s) ? done : active, o);
    }
    PQclear(res);
    json_object_object_add(d, "active", active);
    json_object_object_add(d, "done", done);
    json_object_object_add(d, "new_count", json_object_new_int(fresh));
    add_bool(d, "no_active", json_object_array_length(active) == 0);
    add_bool(d, "has_done", json_object_array_length(done) > 0);
    return d;
}

static int page(request_rec *r, inbox_ctx *ctx)
{
    json_object *d = orders_data(r, ctx);
    return d ? inbox_render(r, HTTP_OK, "orders", d) : HTTP_INTERNAL_SERVER_ERROR;
}

static int done(request_rec *r, inbox_ctx *ctx, const char *anchor)
{
    if (inbox_is_htmx(r)) return page(r, ctx);
    return inbox_redirect(r, apr_pstrcat(r->pool, "/orders", anchor ? anchor : "", NULL));
}

static int pause_post(request_rec *r, inbox_ctx *ctx, apr_table_t *form)
{
    const char *action = apr_table_get(form, "action"), *minutes = apr_table_get(form, "minutes");
    const char *params[4] = { ctx->client_id, ctx->user_id, NULL, NULL };
    const char *sql, *detail;
    PGresult *res;
    long n = 0;

    if (!action) return HTTP_BAD_REQUEST;
    if (!strcmp(action, "pause") || !strcmp(action, "extra")) {
        char *end = NULL;
        n = minutes && *minutes ? strtol(minutes, &end, 10) : 0;
        if (minutes && *minutes && (*end || n < 0 || n > 240)) return HTTP_BAD_REQUEST;
    }
    else if (strcmp(action, "resume")) {
        return HTTP_BAD_REQUEST;
    }
    params[2] = apr_ltoa(r->pool, n);
    if (!strcmp(action, "pause")) {
        /* minutes 0: until someone resumes. */
        sql = "INSERT INTO order_settings AS s (client_id, paused, paused_until, set_by, set_at)"
              " VALUES ($1, true, CASE WHEN $3::int > 0 THEN now() + make_interval(mins => $3::int) END,"
              "   $2, now())"
              " ON CONFLICT (client_id) DO UPDATE SET paused = true, paused_until = excluded.paused_until,"
              "   set_by = $2, set_at = now() RETURNING client_id";
    }
    else if (!strcmp(action, "resume")) {
        sql = "INSERT INTO order_settings AS s (client_id, paused, set_by) VALUES ($1, false, $2)"
              " ON CONFLICT (client_id) DO UPDATE SET paused = false, paused_until = NULL,"
              "   set_by = $2, set_at = now() RETURNING client_id";
    }
    else {
        sql = "INSERT INTO order_settings AS s (client_id, extra_minutes, set_by) VALUES ($1, $3, $2)"
              " ON CONFLICT (client_id) DO UPDATE SET extra_minutes = $3::int, set_by = $2, set_at = now()"
              " RETURNING client_id";
    }
    res = inbox_query(r, ctx, sql, !strcmp(action, "resume") ? 2 : 3, params);
    if (!res) return HTTP_INTERNAL_SERVER_ERROR;
    PQclear(res);
    detail = apr_psprintf(r->pool, "{\"action\": \"%s\", \"minutes\": %ld}", action, n);
    if (!inbox_audit(r, ctx, "orders_pause", "client", ctx->client_id, detail)) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return done(r, ctx, "#pause");
}

static int order_post(request_rec *r, inbox_ctx *ctx, const char *id, const char *what)
{
    const char *params[2] = { id, ctx->client_id }, *err = NULL, *actor, *pub, *slug;
    cs_order_state_t to, from = CS_ORDER_PENDING;
    apr_status_t rv;
    PGresult *res;

    res = inbox_query(r, ctx,
        "SELECT o.public_id, c.slug, o.paid_cents - o.refunded_cents - (SELECT coalesce(sum(amount_cents), 0)"
        "   FROM order_refunds f WHERE f.order_id = o.id AND f.state = 'queued'), c.name, o.state"
        " FROM orders o JOIN clients c ON c.id = o.client_id"
        " WHERE o.id = $1 AND o.client_id = $2 FOR UPDATE OF o", 2, params);
    if (!res) return HTTP_INTERNAL_SERVER_ERROR;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return HTTP_NOT_FOUND;
    }
    pub = apr_pstrdup(r->pool, PQgetvalue(res, 0, 0));
    slug = apr_pstrdup(r->pool, PQgetvalue(res, 0, 1));
    actor = apr_pstrcat(r->pool, "staff:", ctx->user_id, NULL);

    if (!strcmp(what, "ack")) {
        PQclear(res);
        res = inbox_query(r, ctx, "UPDATE orders SET acknowledged_at = coalesce(acknowledged_at, now())"
                          " WHERE id = $1 AND client_id = $2 RETURNING id", 2, params);
        if (!res) return HTTP_INTERNAL_SERVER_ERROR;
        PQclear(res);
        return inbox_audit(r, ctx, "order_ack", "order", id, "{}")
               ? done(r, ctx, NULL) : HTTP_INTERNAL_SERVER_ERROR;
    }
    if (!strcmp(what, "refund")) {
        apr_int64_t left = apr_atoi64(PQgetvalue(res, 0, 2));
        PQclear(res);
        if (!is_owner(ctx)) return HTTP_FORBIDDEN;
        if (left <= 0) return done(r, ctx, NULL);       /* a second click */
        if (cs_order_refund_queue(ctx->conn, r->pool, id, left,
                                  apr_psprintf(r->pool, "staff:%" APR_INT64_T_FMT, apr_time_now()),
                                  "refunded by staff", actor, &err) != APR_SUCCESS
            || cs_order_note(ctx->conn, r->pool, id, actor, "refund requested by staff", &err)
               != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(03060) "refund: %s", err);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        return inbox_audit(r, ctx, "order_refund", "order", id,
                           apr_psprintf(r->pool, "{\"cents\": %" APR_INT64_T_FMT "}", left))
               ? done(r, ctx, NULL) : HTTP_INTERNAL_SERVER_ERROR;
    }
    cs_order_state_parse(PQgetvalue(res, 0, 4), &from);
    PQclear(res);
    if (!strcmp(what, "accept")) to = CS_ORDER_ACCEPTED;
    else if (!strcmp(what, "ready")) to = CS_ORDER_READY;
    else if (!strcmp(what, "picked_up")) to = CS_ORDER_PICKED_UP;
    else return HTTP_NOT_FOUND;
    if (from == CS_ORDER_PAID) {
        /* Only the POS submit moves a paid order on: a button pressed on a
         * page made before that (or a crafted post) must not skip the
         * kitchen's POS. */
        return done(r, ctx, NULL);
    }
    rv = cs_order_move(ctx->conn, r->pool, ctx->client_id, id, to, actor, "by staff", &from, &err);
    if (APR_STATUS_IS_EINVAL(rv)) {
        return done(r, ctx, NULL);      /* moved on already (another screen, the POS) */
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(03061) "order %s: %s", id, err);
        return rv == APR_NOTFOUND ? HTTP_NOT_FOUND : HTTP_INTERNAL_SERVER_ERROR;
    }
    if (to == CS_ORDER_READY
        && cs_order_tell(ctx->conn, r->pool, id,
                         apr_psprintf(r->pool, "Your order %s from %s is ready for pickup.",
                                      apr_pstrndup(r->pool, pub, 6), ctx->client_name),
                         inbox_core.twilio_enabled && inbox_core.twilio_enabled(slug),
                         inbox_core.email_enabled && inbox_core.email_enabled(slug), &err)
           != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(03062) "telling the guest: %s", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return inbox_audit(r, ctx, apr_pstrcat(r->pool, "order_", what, NULL), "order", id,
                       apr_psprintf(r->pool, "{\"from\": \"%s\"}", cs_order_state_name(from)))
           ? done(r, ctx, NULL) : HTTP_INTERNAL_SERVER_ERROR;
}

int inbox_orders(request_rec *r, inbox_ctx *ctx, const char *rest)
{
    apr_table_t *form = ap_get_module_config(r->request_config, &consult_inbox_module);
    const char *slash, *id;

    if (!*rest) {
        return r->method_number == M_GET ? page(r, ctx) : HTTP_METHOD_NOT_ALLOWED;
    }
    if (r->method_number != M_POST) {
        apr_table_setn(r->err_headers_out, "Allow", "POST");
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if (!form) return HTTP_BAD_REQUEST;
    if (!strcmp(rest, "/pause")) return pause_post(r, ctx, form);
    if (*rest != '/' || !(slash = strchr(rest + 1, '/'))) return HTTP_NOT_FOUND;
    if (!(id = inbox_id(r->pool, apr_pstrmemdup(r->pool, rest + 1, slash - rest - 1)))) {
        return HTTP_NOT_FOUND;
    }
    return order_post(r, ctx, id, slash + 1);
}
