/*
 * The Menu page of a restaurant client (mod_consult_pos keeps its menu in
 * the restaurants, menu_* and item_availability tables): every item with
 * its live state, the POS's health, and staff 86es.
 *
 *   GET  /menu                        the page ("This client has no menu"
 *                                     for a client without a restaurant)
 *   POST /menu/items/POSID/86         until=eod (end of the restaurant's
 *                                     day, in its time zone) or undone
 *   POST /menu/items/POSID/restore    the staff mark goes
 *
 * A change is one transaction: the staff row of item_availability, the
 * menu version (so /api/menu's ETag moves), the audit row and a
 * pos.item.push job (mod_consult_pos tells the POS where its API can).
 * Everything is scoped to the session's client: another client's POS id
 * is simply not found (404), and nothing changes.
 */
#include "inbox_private.h"
#include "text/cs_text.h"
#include "domain/cs_menu.h"

#include "http_protocol.h"
#include "http_request.h"
#include <apr_strings.h>
#include <stdlib.h>

APLOG_USE_MODULE(consult_inbox);

#define ITEMS_PREFIX "/menu/items/"
#define MAX_POS_ID 200

/* Times as the restaurant's staff read them: in its own zone. */
#define LOCAL(col) "to_char(" col " AT TIME ZONE r.time_zone, 'Mon FMDD, FMHH12:MI AM')"
#define AGE(col) "extract(epoch FROM now() - " col ")::bigint"
/* The end of the restaurant's business day: local midnight (no opening
 * hours are known for restaurants). */
#define END_OF_DAY "(date_trunc('day', now() AT TIME ZONE r.time_zone) + interval '1 day')" \
                   " AT TIME ZONE r.time_zone"

static const char *pos_label(const char *kind)
{
    if (!strcmp(kind, "square")) return "Square";
    if (!strcmp(kind, "clover")) return "Clover";
    if (!strcmp(kind, "toast")) return "Toast";
    if (!strcmp(kind, "mock")) return "Mock POS (demo)";
    return kind;
}

/* "just now", "4 min ago", "3 h ago", "2 days ago". */
static const char *ago(apr_pool_t *p, apr_int64_t s)
{
    if (s < 60) return "just now";
    if (s < 3600) return apr_psprintf(p, "%d min ago", (int)(s / 60));
    if (s < 86400 * 2) return apr_psprintf(p, "%d h ago", (int)(s / 3600));
    return apr_psprintf(p, "%d days ago", (int)(s / 86400));
}

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

/* A time and how long ago, e.g. {"at": "Jun 3, 7:42 PM", "ago": "4 min ago"}. */
static void add_when(request_rec *r, json_object *o, const char *key, PGresult *res,
                     const char *at_col, const char *age_col)
{
    const char *at = col(res, 0, at_col), *age = col(res, 0, age_col);
    json_object *w;
    if (!at) return;
    w = json_object_new_object();
    add_str(w, "at", at);
    if (age) add_str(w, "ago", ago(r->pool, apr_atoi64(age)));
    json_object_object_add(o, key, w);
}

void inbox_menu_nav(request_rec *r, inbox_ctx *ctx, json_object *d)
{
    const char *params[1] = { ctx->client_id };
    PGresult *res;

    if (!ctx->client_id) return;
    res = inbox_query(r, ctx, "SELECT EXISTS (SELECT 1 FROM restaurants WHERE client_id = $1)",
                      1, params);
    if (res) {
        add_bool(d, "has_menu", PQgetvalue(res, 0, 0)[0] == 't');
        PQclear(res);
    }
}

static const char *RESTAURANT_SQL =
    "SELECT r.pos_kind, r.time_zone, r.currency,"
    "  " LOCAL("r.last_sync_at") " AS last_sync, " AGE("r.last_sync_at") " AS last_sync_age,"
    "  r.last_sync_error,"
    "  " LOCAL("r.last_webhook_at") " AS last_webhook, " AGE("r.last_webhook_at") " AS last_webhook_age,"
    "  " LOCAL("r.last_poll_at") " AS last_poll, " AGE("r.last_poll_at") " AS last_poll_age,"
    "  r.last_poll_recovered,"
    "  r.pos_verification_code,"
    "  " LOCAL("r.pos_verification_at") " AS verification_at"
    " FROM restaurants r WHERE r.client_id = $1";

/* Items with the mark that holds now (an "86 for today" past its time no
 * longer does), in the POS's category and item order. */
static const char *ITEMS_SQL =
    "SELECT i.id, i.pos_id, i.name, i.price_cents, i.visible,"
    "  coalesce(c.name, 'Other items') AS category, c.description AS category_description,"
    "  a.source, a.until IS NOT NULL AS has_until,"
    "  to_char(a.until AT TIME ZONE r.time_zone, 'Dy Mon FMDD, FMHH12:MI AM') AS until_local,"
    "  " LOCAL("a.set_at") " AS set_at_local, a.set_at > now() - interval '2 minutes' AS recent,"
    "  a.pushed, a.push_error, u.name AS set_by_name"
    " FROM menu_items i"
    " JOIN restaurants r ON r.client_id = i.client_id"
    " LEFT JOIN menu_categories c ON c.client_id = i.client_id AND c.pos_id = i.category"
    " LEFT JOIN item_availability a ON a.client_id = i.client_id AND a.item_id = i.pos_id"
    "   AND a.sold_out AND (a.until IS NULL OR a.until > now())"
    " LEFT JOIN staff_users u ON a.source = 'staff' AND u.id::text = a.set_by"
    " WHERE i.client_id = $1"
    " ORDER BY c.sort NULLS LAST, c.name, c.pos_id, i.sort, i.name, i.pos_id";

/* One item as the template shows it. */
static json_object *item_json(request_rec *r, PGresult *res, int i, const char *currency,
                              int *psold)
{
    json_object *o = json_object_new_object();
    const char *source = col(res, i, "source"), *pushed = col(res, i, "pushed");
    const char *until = col(res, i, "until_local"), *by = col(res, i, "set_by_name");
    const char *pos_id = col(res, i, "pos_id"), *state, *label;
    int staff = source && !strcmp(source, "staff");
    int has_until = col(res, i, "has_until") && col(res, i, "has_until")[0] == 't';

    add_str(o, "id", col(res, i, "id"));
    add_str(o, "pos_id", pos_id);
    add_str(o, "name", col(res, i, "name"));
    add_str(o, "price", cs_menu_format_price(r->pool, apr_atoi64(col(res, i, "price_cents")),
                                             currency));
    add_bool(o, "hidden", col(res, i, "visible")[0] != 't');
    add_str(o, "action", apr_pstrcat(r->pool, ITEMS_PREFIX,
                                     ap_escape_path_segment(r->pool, pos_id), NULL));
    if (!source) {
        state = "available";
        label = "Available";
    }
    else if (!staff) {
        state = "pos";
        label = "Sold out at the POS";
        if (until) add_str(o, "detail", apr_pstrcat(r->pool, "Until ", until, NULL));
        add_str(o, "hint", "The POS marked it; mark it available there to bring it back.");
    }
    else if (has_until) {
        state = "eod";
        label = "86'd for today";
        add_str(o, "detail", apr_pstrcat(r->pool, "Back on ", until, NULL));
    }
    else {
        state = "undone";
        label = "86'd until undone";
    }
    if (source) (*psold)++;
    add_str(o, "state", state);
    add_str(o, "state_label", label);
    add_bool(o, "sold_out", source != NULL);
    add_bool(o, "staff", staff);
    /* A staff mark can be undone here; anything else can be 86'd (a POS
     * mark too: staff may keep an item off whatever the POS says). */
    add_bool(o, "can_86", !staff);
    if (staff) {
        const char *err = col(res, i, "push_error");
        int recent = col(res, i, "recent") && col(res, i, "recent")[0] == 't';
        add_str(o, "by", by ? by : "staff");
        add_str(o, "at", col(res, i, "set_at_local"));
        if (!pushed) {
            add_str(o, "push", recent ? "Telling the POS…" : "Not confirmed by the POS yet");
            add_str(o, "push_class", "pending");
            /* The row refreshes itself until the POS has answered. */
            add_bool(o, "pending", recent);
        }
        else if (!strcmp(pushed, "pos")) {
            add_str(o, "push", "Pushed to the POS");
            add_str(o, "push_class", "pos");
        }
        else {
            add_str(o, "push", "Kept as Consult's override");
            add_str(o, "push_class", pushed);
            add_str(o, "push_detail", !strcmp(pushed, "local")
                    ? "This POS cannot be changed from here: the website's menu shows it"
                      " sold out, the POS itself does not."
                    : apr_pstrcat(r->pool, "The POS did not take it",
                                  err ? apr_pstrcat(r->pool, " (", err, ")", NULL) : "",
                                  ": the website's menu shows it sold out.", NULL));
        }
    }
    return o;
}

/* The page's data: page data, restaurant and health, items by category.
 * NULL when a query failed. */
static json_object *menu_data(request_rec *r, inbox_ctx *ctx)
{
    const char *params[1] = { ctx->client_id };
    json_object *d = inbox_page_data(r, ctx, "Menu"), *rest, *cats, *cat = NULL, *items = NULL;
    const char *currency, *last_cat = NULL;
    PGresult *res;
    int i, sold = 0, n;

    add_bool(d, "menu_page", 1);
    res = inbox_query(r, ctx, RESTAURANT_SQL, 1, params);
    if (!res) {
        json_object_put(d);
        return NULL;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        add_bool(d, "has_menu", 0);
        return d;                               /* not a restaurant */
    }
    add_bool(d, "has_menu", 1);
    rest = json_object_new_object();
    add_str(rest, "pos_kind", col(res, 0, "pos_kind"));
    add_str(rest, "pos_label", pos_label(col(res, 0, "pos_kind")));
    add_bool(rest, "is_clover", !strcmp(col(res, 0, "pos_kind"), "clover"));
    add_str(rest, "time_zone", col(res, 0, "time_zone"));
    add_when(r, rest, "last_sync", res, "last_sync", "last_sync_age");
    add_str(rest, "last_sync_error", col(res, 0, "last_sync_error"));
    add_when(r, rest, "last_webhook", res, "last_webhook", "last_webhook_age");
    add_when(r, rest, "last_poll", res, "last_poll", "last_poll_age");
    json_object_object_add(rest, "poll_recovered", json_object_new_int64(
        apr_atoi64(col(res, 0, "last_poll_recovered"))));
    add_str(rest, "verification_code", col(res, 0, "pos_verification_code"));
    add_str(rest, "verification_at", col(res, 0, "verification_at"));
    currency = apr_pstrdup(r->pool, col(res, 0, "currency"));
    PQclear(res);

    res = inbox_query(r, ctx, ITEMS_SQL, 1, params);
    if (!res) {
        json_object_put(rest);
        json_object_put(d);
        return NULL;
    }
    cats = json_object_new_array();
    n = PQntuples(res);
    for (i = 0; i < n; i++) {
        const char *name = col(res, i, "category");
        if (!last_cat || strcmp(last_cat, name)) {
            cat = json_object_new_object();
            items = json_object_new_array();
            add_str(cat, "name", name);
            add_str(cat, "description", col(res, i, "category_description"));
            json_object_object_add(cat, "items", items);
            json_object_array_add(cats, cat);
            last_cat = name;
        }
        json_object_array_add(items, item_json(r, res, i, currency, &sold));
    }
    json_object_object_add(rest, "categories", cats);
    json_object_object_add(rest, "item_count", json_object_new_int(n));
    json_object_object_add(rest, "sold_count", json_object_new_int(sold));
    add_bool(rest, "no_items", n == 0);
    PQclear(res);
    json_object_object_add(d, "restaurant", rest);
    return d;
}

int inbox_menu(request_rec *r, inbox_ctx *ctx)
{
    json_object *d;
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if (!(d = menu_data(r, ctx))) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return inbox_render(r, HTTP_OK, "menu", d);
}

/* ---- 86 and un-86 --------------------------------------------------------- */

/* The change runs in the POST's transaction when the handler opened one,
 * else in its own. */
typedef struct {
    int mine;
} menu_tx;

static int tx_begin(request_rec *r, inbox_ctx *ctx, menu_tx *tx)
{
    const char *err = NULL;
    tx->mine = PQtransactionStatus(ctx->conn) == PQTRANS_IDLE;
    if (tx->mine && cs_db_command(ctx->conn, r->pool, &err, "BEGIN") != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(03040)
                      "menu change: BEGIN failed: %s", err);
        return 0;
    }
    return 1;
}

/* Commit (when ours) if @p ok and nothing failed, else roll back (ours) or
 * leave it to the handler's, which rolls back on the error answered. */
static int tx_end(request_rec *r, inbox_ctx *ctx, menu_tx *tx, int ok)
{
    const char *err = NULL;
    ok = ok && !ctx->audit_failed && PQtransactionStatus(ctx->conn) == PQTRANS_INTRANS;
    if (!tx->mine) {
        /* The handler's transaction commits later: the menu caches' own
         * expiry (250 ms) covers the gap. */
        if (ok) inbox_core.content_changed();
        return ok;
    }
    tx->mine = 0;
    if (!ok) {
        cs_db_command(ctx->conn, r->pool, &err, "ROLLBACK");
        return 0;
    }
    if (cs_db_command(ctx->conn, r->pool, &err, "COMMIT") != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(03041)
                      "menu change: COMMIT failed: %s", err);
        return 0;
    }
    inbox_core.content_changed();   /* every process's menu cache looks again */
    return 1;
}

static int exec_ok(request_rec *r, inbox_ctx *ctx, const char *sql, int n,
                   const char *const *params)
{
    const char *err = NULL;
    PGresult *res = cs_db_exec(ctx->conn, r->pool, &err, PGRES_COMMAND_OK, sql, n, params);
    if (!res) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(03042)
                      "menu change failed: %s", err);
        return 0;
    }
    PQclear(res);
    return 1;
}

/* A POS id from the path: 1 to MAX_POS_ID bytes of clean text. */
static const char *pos_id_of(request_rec *r, const char *s, apr_size_t len)
{
    if (len == 0 || len > MAX_POS_ID || !cs_text_is_clean(s, len)
        || memchr(s, '\n', len) || memchr(s, '\r', len) || memchr(s, '\t', len)) {
        return NULL;
    }
    return apr_pstrmemdup(r->pool, s, len);
}

static const char *detail_json(request_rec *r, const char *pos_id, const char *name,
                               const char *until, const char *until_at)
{
    json_object *o = json_object_new_object();
    const char *s;
    add_str(o, "item", pos_id);
    add_str(o, "name", name);
    add_str(o, "until", until);
    add_str(o, "until_at", until_at);
    s = apr_pstrdup(r->pool, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return s;
}

/* Mark @p pos_id sold out by staff, until the end of the day or until
 * undone. 0 on a database failure; *pfound 0 when the client has no
 * such item. */
static int do_86(request_rec *r, inbox_ctx *ctx, const char *pos_id, int eod, int *pfound,
                 const char **pitem)
{
    const char *params[4] = { ctx->client_id, pos_id, eod ? "eod" : "undone", ctx->user_id };
    const char *until = NULL, *name;
    PGresult *res;

    /* The item, this client's only, and (for today) when its day ends. */
    res = inbox_query(r, ctx,
        "SELECT i.id, i.name, CASE WHEN $3 = 'eod' THEN " END_OF_DAY " END"
        " FROM menu_items i JOIN restaurants r ON r.client_id = i.client_id"
        " WHERE i.client_id = $1 AND i.pos_id = $2", 3, params);
    if (!res) return 0;
    if (PQntuples(res) != 1) {
        PQclear(res);
        *pfound = 0;
        return 1;
    }
    *pfound = 1;
    *pitem = apr_pstrdup(r->pool, PQgetvalue(res, 0, 0));
    name = apr_pstrdup(r->pool, PQgetvalue(res, 0, 1));
    until = PQgetisnull(res, 0, 2) ? NULL : apr_pstrdup(r->pool, PQgetvalue(res, 0, 2));
    PQclear(res);

    params[2] = until;
    /* A staff mark replaces whatever mark the item had (the POS's too). */
    if (!exec_ok(r, ctx,
            "INSERT INTO item_availability AS a (client_id, item_id, sold_out, until, source,"
            "  set_by, set_at) VALUES ($1, $2, true, $3::timestamptz, 'staff', $4, now())"
            " ON CONFLICT (client_id, item_id) DO UPDATE SET sold_out = true,"
            "  until = excluded.until, source = 'staff', set_by = excluded.set_by,"
            "  set_at = now(), pushed = NULL, pushed_at = NULL, push_error = NULL", 4, params)
        || !exec_ok(r, ctx, "UPDATE restaurants SET menu_version = menu_version + 1"
                    " WHERE client_id = $1", 1, params)
        /* Tell the POS now; for today, tell it again when the day ends. */
        || !exec_ok(r, ctx,
            "INSERT INTO jobs (kind, payload, run_at)"
            " SELECT 'pos.item.push', jsonb_build_object('client_id', $1::bigint,"
            "   'pos_id', $2::text, 'sold_out', true), now()"
            " UNION ALL"
            " SELECT 'pos.item.push', jsonb_build_object('client_id', $1::bigint,"
            "   'pos_id', $2::text, 'sold_out', false, 'expire', true), $3::timestamptz"
            " WHERE $3::timestamptz IS NOT NULL", 3, params)) {
        return 0;
    }
    return inbox_audit(r, ctx, "item_86", "menu_item", *pitem,
                       detail_json(r, pos_id, name, eod ? "eod" : "undone", until));
}

/* Undo a staff mark. *pfound 0 when the client has no such item; a mark
 * already gone changes nothing (a second click). */
static int do_restore(request_rec *r, inbox_ctx *ctx, const char *pos_id, int *pfound,
                      const char **pitem)
{
    const char *params[2] = { ctx->client_id, pos_id }, *name;
    PGresult *res;
    int gone;

    res = inbox_query(r, ctx,
        "SELECT i.id, i.name FROM menu_items i JOIN restaurants r ON r.client_id = i.client_id"
        " WHERE i.client_id = $1 AND i.pos_id = $2", 2, params);
    if (!res) return 0;
    if (PQntuples(res) != 1) {
        PQclear(res);
        *pfound = 0;
        return 1;
    }
    *pfound = 1;
    *pitem = apr_pstrdup(r->pool, PQgetvalue(res, 0, 0));
    name = apr_pstrdup(r->pool, PQgetvalue(res, 0, 1));
    PQclear(res);

    res = inbox_query(r, ctx,
        "DELETE FROM item_availability WHERE client_id = $1 AND item_id = $2"
        " AND source = 'staff' RETURNING 1", 2, params);
    if (!res) return 0;
    gone = PQntuples(res);
    PQclear(res);
    if (!gone) {
        return 1;
    }
    if (!exec_ok(r, ctx, "UPDATE restaurants SET menu_version = menu_version + 1"
                 " WHERE client_id = $1", 1, params)
        || !exec_ok(r, ctx,
            "INSERT INTO jobs (kind, payload) VALUES ('pos.item.push',"
            " jsonb_build_object('client_id', $1::bigint, 'pos_id', $2::text, 'sold_out', false))",
            2, params)) {
        return 0;
    }
    return inbox_audit(r, ctx, "item_restore", "menu_item", *pitem,
                       detail_json(r, pos_id, name, NULL, NULL));
}

int inbox_menu_item(request_rec *r, inbox_ctx *ctx, const char *rest)
{
    apr_table_t *form = ap_get_module_config(r->request_config, &consult_inbox_module);
    const char *slash = strrchr(rest, '/'), *action, *pos_id, *until, *item = NULL;
    int restore, eod = 0, found = 0, ok;
    menu_tx tx;

    if (!slash || !(pos_id = pos_id_of(r, rest, (apr_size_t)(slash - rest)))) {
        return HTTP_NOT_FOUND;
    }
    action = slash + 1;
    restore = !strcmp(action, "restore");
    if (!restore && strcmp(action, "86")) {
        return HTTP_NOT_FOUND;
    }
    if (r->method_number != M_POST) {
        apr_table_setn(r->err_headers_out, "Allow", "POST");
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if (!form) {
        return HTTP_BAD_REQUEST;
    }
    if (!restore) {
        until = apr_table_get(form, "until");
        if (!until || (strcmp(until, "eod") && strcmp(until, "undone"))) {
            return HTTP_BAD_REQUEST;
        }
        eod = !strcmp(until, "eod");
    }
    if (!tx_begin(r, ctx, &tx)) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    ok = restore ? do_restore(r, ctx, pos_id, &found, &item)
                 : do_86(r, ctx, pos_id, eod, &found, &item);
    if (ok && !found) {
        tx_end(r, ctx, &tx, 0);
        return HTTP_NOT_FOUND;                  /* not this client's item */
    }
    if (!tx_end(r, ctx, &tx, ok)) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (inbox_is_htmx(r)) {
        /* The page as it is now; the form's hx-select takes its item. */
        json_object *d = menu_data(r, ctx);
        return d ? inbox_render(r, HTTP_OK, "menu", d) : HTTP_INTERNAL_SERVER_ERROR;
    }
    return inbox_redirect(r, apr_pstrcat(r->pool, "/menu#menu-item-", item, NULL));
}
