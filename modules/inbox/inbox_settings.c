/*
 * The Integrations settings page (owners), over mod_consult_integrations:
 *
 *   GET  /settings/integrations                    each integration's state
 *   GET  /settings/integrations/jobber/connect     off to Jobber to approve
 *   GET  /settings/integrations/jobber/callback    back from Jobber: ?code&state
 *   POST /settings/integrations/jobber/disconnect  tokens forgotten
 *   POST /settings/integrations/jobber/test        a jobber.test job
 *   POST /settings/integrations/jobber/leads/ID    message ID to Jobber (staff too)
 *
 * The OAuth state is a signed token (cs_form_token) whose scope is this
 * session and the client, so a callback only completes in the session
 * that started it, for the client it started for, within 15 minutes.
 * Connect is a GET (a link) because the dashboard's CSP allows forms to
 * post only to itself, redirects included; it changes nothing.
 */
#include "inbox_private.h"
#include "auth/cs_token.h"
#include "db/cs_jobs.h"

#include "http_protocol.h"
#include "http_request.h"
#include "util_script.h"
#include "http_core.h"
#include <apr_strings.h>

APLOG_USE_MODULE(consult_inbox);

#define SETTINGS "/settings/integrations"
#define JOBBER SETTINGS "/jobber/"
#define STATE_MAX_AGE apr_time_from_sec(15 * 60)

static APR_OPTIONAL_FN_TYPE(cs_integrations_info) *info_fn;
static APR_OPTIONAL_FN_TYPE(cs_jobber_authorize_url) *authorize_fn;
static APR_OPTIONAL_FN_TYPE(cs_jobber_connect) *connect_fn;

static void retrieve(void)
{
    info_fn = APR_RETRIEVE_OPTIONAL_FN(cs_integrations_info);
    authorize_fn = APR_RETRIEVE_OPTIONAL_FN(cs_jobber_authorize_url);
    connect_fn = APR_RETRIEVE_OPTIONAL_FN(cs_jobber_connect);
}

static int is_owner(const inbox_ctx *ctx)
{
    return ctx->is_admin || (ctx->role && !strcmp(ctx->role, "owner"));
}

static void add_str(json_object *o, const char *key, const char *v)
{
    if (v) json_object_object_add(o, key, json_object_new_string(v));
}

static const char *col(PGresult *res, int row, const char *name)
{
    int j = PQfnumber(res, name);
    return j < 0 || PQgetisnull(res, row, j) ? NULL : PQgetvalue(res, row, j);
}

static const char *state_label(const char *state)
{
    if (!state) return "Not connected";
    if (!strcmp(state, "connected")) return "Connected";
    if (!strcmp(state, "revoked")) return "Connection revoked: connect again";
    if (!strcmp(state, "failing")) return "Connected, but calls are failing";
    return "Not connected";
}

/* The callback URL Jobber sends the owner back to (the app's redirect URI). */
static const char *redirect_uri(request_rec *r)
{
    return ap_construct_url(r->pool, JOBBER "callback", r);
}

static const char *state_scope(request_rec *r, inbox_ctx *ctx)
{
    return apr_pstrcat(r->pool, "jobber-oauth:", ctx->session_id, ":", ctx->client_id, NULL);
}

#define LOCAL(c) "to_char(" c " AT TIME ZONE 'UTC', 'Mon FMDD, FMHH12:MI AM \"UTC\"')"

static json_object *jobber_data(request_rec *r, inbox_ctx *ctx, const cs_integrations_info_t *i)
{
    const char *params[1] = { ctx->client_id };
    json_object *j = json_object_new_object(), *reqs = json_object_new_array();
    const char *state = NULL;
    PGresult *res;
    int k;

    json_object_object_add(j, "webhook_url", json_object_new_string(i->jobber_webhook_url));
    res = inbox_query(r, ctx,
        "SELECT state, " LOCAL("connected_at") " AS connected_at,"
        "  " LOCAL("expires_at") " AS expires_at, " LOCAL("last_event_at") " AS last_event_at,"
        "  last_error, " LOCAL("last_error_at") " AS last_error_at,"
        "  " LOCAL("refreshed_at") " AS refreshed_at, key_id, test_result,"
        "  CASE WHEN test_ok THEN 'ok' WHEN NOT test_ok THEN 'failed' END AS test_state,"
        "  " LOCAL("test_at") " AS test_at,"
        "  test_requested_at IS NOT NULL AND (test_at IS NULL OR test_at < test_requested_at)"
        "    AS test_pending, " LOCAL("reconciled_at") " AS reconciled_at,"
        "  reconcile_recovered::text AS reconcile_recovered"
        " FROM integration_accounts WHERE client_id = $1 AND provider = 'jobber'", 1, params);
    if (res && PQntuples(res) == 1) {
        static const char *const keys[] = { "connected_at", "expires_at", "last_event_at",
            "last_error", "last_error_at", "refreshed_at", "key_id", "test_result",
            "test_state", "test_at", "reconciled_at", "reconcile_recovered" };
        size_t n;
        state = apr_pstrdup(r->pool, col(res, 0, "state"));
        for (n = 0; n < sizeof(keys) / sizeof(keys[0]); n++) {
            add_str(j, keys[n], col(res, 0, keys[n]));
        }
        json_object_object_add(j, "test_pending", json_object_new_boolean(
                                   col(res, 0, "test_pending")[0] == 't'));
    }
    if (res) PQclear(res);
    add_str(j, "state", state ? state : "disconnected");
    add_str(j, "state_label", state_label(state));
    json_object_object_add(j, "connected", json_object_new_boolean(
                               state && strcmp(state, "disconnected")));
    json_object_object_add(j, "can_test", json_object_new_boolean(
                               state && (!strcmp(state, "connected") || !strcmp(state, "failing"))));
    res = inbox_query(r, ctx,
        "SELECT jr.message_id, jr.state, jr.error, jr.jobber_request_id, jr.jobber_status,"
        "  " LOCAL("jr.created_at") " AS created_at, ct.name, cv.id AS conversation_id"
        " FROM jobber_requests jr JOIN messages m ON m.id = jr.message_id"
        " JOIN conversations cv ON cv.id = m.conversation_id"
        " JOIN contacts ct ON ct.id = cv.contact_id"
        " WHERE jr.client_id = $1 ORDER BY jr.created_at DESC LIMIT 20", 1, params);
    for (k = 0; res && k < PQntuples(res); k++) {
        json_object *o = json_object_new_object();
        const char *st = col(res, k, "state");
        add_str(o, "state", st);
        add_str(o, "state_label", !strcmp(st, "sent") ? "In Jobber" : !strcmp(st, "failed")
                                  ? "Jobber refused it" : "Sending");
        add_str(o, "error", col(res, k, "error"));
        add_str(o, "jobber_status", col(res, k, "jobber_status"));
        add_str(o, "created_at", col(res, k, "created_at"));
        add_str(o, "name", col(res, k, "name") ? col(res, k, "name") : "Unnamed contact");
        add_str(o, "conversation_id", col(res, k, "conversation_id"));
        json_object_array_add(reqs, o);
    }
    if (res) PQclear(res);
    json_object_object_add(j, "requests", reqs);
    return j;
}

static json_object *calcom_data(request_rec *r, inbox_ctx *ctx, const cs_integrations_info_t *i)
{
    const char *params[1] = { ctx->client_id };
    json_object *c = json_object_new_object();
    PGresult *res;

    add_str(c, "link", i->cal_link);
    if (i->cal_link) {
        add_str(c, "booking_url", apr_pstrcat(r->pool, i->cal_origin, "/", i->cal_link, NULL));
    }
    add_str(c, "webhook_url", i->calcom_webhook_url);
    add_str(c, "secret", i->calcom_secret);
    res = inbox_query(r, ctx,
        "SELECT (SELECT " LOCAL("max(received_at)") " FROM provider_events"
        "         WHERE provider = 'calcom' AND client_id = $1) AS last_event_at,"
        "  (SELECT count(*) FROM bookings WHERE client_id = $1) AS bookings,"
        "  (SELECT count(*) FROM provider_events WHERE provider = 'calcom' AND client_id = $1"
        "    AND processed_at IS NULL AND received_at < now() - interval '5 minutes') AS stuck,"
        "  " LOCAL("a.reconciled_at") " AS reconciled_at,"
        "  a.reconcile_recovered::text AS reconcile_recovered, a.state AS reconcile_state,"
        "  a.last_error, " LOCAL("a.last_error_at") " AS last_error_at"
        " FROM (SELECT 1) one LEFT JOIN integration_accounts a"
        "  ON a.client_id = $1 AND a.provider = 'calcom'",
        1, params);
    if (res && PQntuples(res) == 1) {
        add_str(c, "last_event_at", col(res, 0, "last_event_at"));
        add_str(c, "bookings", col(res, 0, "bookings"));
        if (atoi(col(res, 0, "stuck"))) add_str(c, "stuck", col(res, 0, "stuck"));
        /* calcom.reconcile (ConsultCalAPIKey): its last run, and why the
         * last listing failed while it keeps failing */
        add_str(c, "reconciled_at", col(res, 0, "reconciled_at"));
        add_str(c, "reconcile_recovered", col(res, 0, "reconcile_recovered"));
        if (col(res, 0, "reconcile_state") && !strcmp(col(res, 0, "reconcile_state"), "failing")) {
            add_str(c, "reconcile_error", col(res, 0, "last_error"));
            add_str(c, "reconcile_error_at", col(res, 0, "last_error_at"));
        }
    }
    if (res) PQclear(res);
    return c;
}

/* Agency admins: every client's accounts on one page. */
static json_object *all_clients(request_rec *r, inbox_ctx *ctx)
{
    json_object *rows = json_object_new_array();
    PGresult *res = inbox_query(r, ctx,
        "SELECT c.name, a.provider, a.state, a.last_error, " LOCAL("a.last_event_at")
        " AS last_event_at FROM integration_accounts a JOIN clients c ON c.id = a.client_id"
        " ORDER BY a.state <> 'connected' DESC, c.name LIMIT 500", 0, NULL);
    int k;
    for (k = 0; res && k < PQntuples(res); k++) {
        json_object *o = json_object_new_object();
        add_str(o, "client", col(res, k, "name"));
        add_str(o, "provider", !strcmp(col(res, k, "provider"), "jobber") ? "Jobber"
                               : !strcmp(col(res, k, "provider"), "calcom") ? "Cal.com"
                               : col(res, k, "provider"));
        add_str(o, "state_label", state_label(col(res, k, "state")));
        add_str(o, "state", col(res, k, "state"));
        add_str(o, "last_error", col(res, k, "last_error"));
        add_str(o, "last_event_at", col(res, k, "last_event_at"));
        json_object_array_add(rows, o);
    }
    if (res) PQclear(res);
    return rows;
}

static int settings_page(request_rec *r, inbox_ctx *ctx, int status, const char *notice,
                         const char *error)
{
    json_object *d = inbox_page_data(r, ctx, "Integrations");
    const cs_integrations_info_t *i = info_fn ? info_fn(r->pool, ctx->client_slug) : NULL;

    inbox_menu_nav(r, ctx, d);
    json_object_object_add(d, "settings_page", json_object_new_boolean(1));
    add_str(d, "notice", notice);
    add_str(d, "error", error);
    if (i && (i->cal_link || i->calcom_webhook_url)) {
        json_object_object_add(d, "calcom", calcom_data(r, ctx, i));
    }
    if (i && i->jobber) {
        json_object_object_add(d, "jobber", jobber_data(r, ctx, i));
    }
    json_object_object_add(d, "nothing", json_object_new_boolean(
                               !i || (!i->jobber && !i->cal_link && !i->calcom_webhook_url)));
    if (ctx->is_admin) {
        json_object *all = all_clients(r, ctx);
        json_object_object_add(d, "has_all_clients",
                               json_object_new_boolean(json_object_array_length(all) > 0));
        json_object_object_add(d, "all_clients", all);
    }
    return inbox_render(r, status, "integrations", d);
}

static int connect_start(request_rec *r, inbox_ctx *ctx)
{
    const unsigned char *key;
    apr_size_t keylen;
    const char *state, *url;

    inbox_core.server_secret(r->server, &key, &keylen);
    state = cs_form_token_issue(r->pool, key, keylen, state_scope(r, ctx), apr_time_now());
    if (!authorize_fn || !(url = authorize_fn(r->pool, ctx->client_slug, redirect_uri(r),
                                              state))) {
        return settings_page(r, ctx, HTTP_CONFLICT, NULL,
                             "Jobber is not switched on for this client.");
    }
    apr_table_setn(r->headers_out, "Location", url);
    return HTTP_MOVED_TEMPORARILY;
}

static int connect_callback(request_rec *r, inbox_ctx *ctx)
{
    apr_table_t *q = NULL;
    const char *code, *state, *err = NULL, *nonce = NULL;
    const unsigned char *key;
    apr_size_t keylen;
    int st;

    ap_args_to_table(r, &q);
    code = apr_table_get(q, "code");
    state = apr_table_get(q, "state");
    inbox_core.server_secret(r->server, &key, &keylen);
    if (!state || cs_form_token_check(r->pool, state, key, keylen, state_scope(r, ctx),
                                      apr_time_now(), 0, STATE_MAX_AGE, &nonce) != CS_TOKEN_OK) {
        /* Another session's, another client's, stale or forged: never
         * exchange its code. */
        return settings_page(r, ctx, HTTP_BAD_REQUEST, NULL,
                             "That Jobber approval did not start here (or took longer than 15 "
                             "minutes). Nothing was connected: press Connect again.");
    }
    if (!code || !*code) {
        return settings_page(r, ctx, HTTP_BAD_REQUEST, NULL,
                             apr_pstrcat(r->pool, "Jobber did not approve the connection",
                                         apr_table_get(q, "error") ? ": " : ".",
                                         apr_table_get(q, "error"), NULL));
    }
    /* A GET that writes: it runs in a transaction like a POST, the account
     * and its audit row together. */
    if ((st = inbox_tx_begin(r, ctx)) != OK) {
        return st;
    }
    if (!connect_fn || connect_fn(r, ctx->conn, ctx->client_id, ctx->client_slug, ctx->user_id,
                                  code, redirect_uri(r), &err) != APR_SUCCESS) {
        inbox_tx_abort(r);
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, CSLOGNO(03060)
                      "connecting Jobber for %s failed: %s", ctx->client_slug, err ? err : "?");
        return settings_page(r, ctx, HTTP_BAD_GATEWAY, NULL,
                             apr_pstrcat(r->pool, "Jobber could not be connected: ",
                                         err ? err : "unknown error", NULL));
    }
    if (!inbox_audit(r, ctx, "integration_connect", "integration", NULL, "{\"provider\": \"jobber\"}")) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return inbox_redirect(r, SETTINGS "?connected=jobber");
}

static int exec_ok(request_rec *r, inbox_ctx *ctx, const char *sql, int n,
                   const char *const *params)
{
    const char *err = NULL;
    PGresult *res = cs_db_exec(ctx->conn, r->pool, &err, PGRES_COMMAND_OK, sql, n, params);
    if (!res) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(03061)
                      "integration action failed: %s", err);
        return 0;
    }
    PQclear(res);
    return 1;
}

static int disconnect(request_rec *r, inbox_ctx *ctx)
{
    const char *params[1] = { ctx->client_id };
    if (!exec_ok(r, ctx, "UPDATE integration_accounts SET state = 'disconnected',"
                         "  access_sealed = NULL, refresh_sealed = NULL, expires_at = NULL,"
                         "  last_error = NULL, updated_at = now()"
                         " WHERE client_id = $1 AND provider = 'jobber'", 1, params)
        || !inbox_audit(r, ctx, "integration_disconnect", "integration", NULL, "{\"provider\": \"jobber\"}")) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return inbox_redirect(r, SETTINGS "?disconnected=jobber");
}

static int test_event(request_rec *r, inbox_ctx *ctx)
{
    const char *params[1] = { ctx->client_id }, *err = NULL;
    if (!exec_ok(r, ctx, "UPDATE integration_accounts SET test_requested_at = now()"
                         " WHERE client_id = $1 AND provider = 'jobber'", 1, params)
        || cs_jobs_enqueue(ctx->conn, r->pool, &err, "jobber.test",
                           apr_psprintf(r->pool, "{\"client_id\": %s}", ctx->client_id),
                           NULL, 0) != APR_SUCCESS
        || !inbox_audit(r, ctx, "integration_test", "integration", NULL, "{\"provider\": \"jobber\"}")) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return inbox_redirect(r, SETTINGS "?tested=jobber");
}

/* A message to Jobber: its row (once per message: a second press finds
 * the first) and the job, in the POST's transaction. */
static int send_lead(request_rec *r, inbox_ctx *ctx, const char *message_id)
{
    const char *params[3] = { message_id, ctx->client_id, ctx->user_id }, *err = NULL;
    const cs_integrations_info_t *i = info_fn ? info_fn(r->pool, ctx->client_slug) : NULL;
    PGresult *res;
    const char *back;
    int created;

    if (!i || !i->jobber) {
        return HTTP_NOT_FOUND;
    }
    res = cs_db_exec(ctx->conn, r->pool, &err, PGRES_TUPLES_OK,
                     "WITH m AS (SELECT m.id, cv.contact_id, cv.id AS conversation FROM messages m"
                     "   JOIN conversations cv ON cv.id = m.conversation_id"
                     "  WHERE m.id = $1 AND m.client_id = $2 AND m.direction = 'inbound'),"
                     " i AS (INSERT INTO jobber_requests (client_id, message_id, contact_id,"
                     "   requested_by) SELECT $2, m.id, m.contact_id, $3 FROM m"
                     "   ON CONFLICT (message_id) DO NOTHING RETURNING id)"
                     " SELECT (SELECT count(*) FROM m), (SELECT count(*) FROM i),"
                     "  (SELECT conversation FROM m)", 3, params);
    if (!res) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(03062) "queueing a lead failed: %s",
                      err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (PQgetvalue(res, 0, 0)[0] == '0') {
        PQclear(res);
        return HTTP_NOT_FOUND;      /* another client's, or not a customer's message */
    }
    created = PQgetvalue(res, 0, 1)[0] != '0';
    back = apr_pstrcat(r->pool, "/c/", PQgetvalue(res, 0, 2), NULL);
    PQclear(res);
    if (created
        && (cs_jobs_enqueue(ctx->conn, r->pool, &err, "jobber.lead",
                            apr_psprintf(r->pool, "{\"client_id\": %s, \"message_id\": %s}",
                                         ctx->client_id, message_id),
                            apr_pstrcat(r->pool, "jobber.lead:", message_id, NULL), 0)
            != APR_SUCCESS
            || !inbox_audit(r, ctx, "jobber_lead", "message", message_id, NULL))) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return inbox_redirect(r, back);
}

void inbox_settings_message_data(request_rec *r, inbox_ctx *ctx, json_object *d)
{
    const cs_integrations_info_t *i;
    if (!info_fn) {
        retrieve();
    }
    i = info_fn ? info_fn(r->pool, ctx->client_slug) : NULL;
    json_object_object_add(d, "jobber_on", json_object_new_boolean(i && i->jobber));
}

int inbox_settings(request_rec *r, inbox_ctx *ctx, const char *rest)
{
    if (!info_fn) {
        retrieve();
    }
    if (!strncmp(rest, "/jobber/leads/", 14)) {
        const char *id = inbox_id(r->pool, rest + 14);
        if (!id || r->method_number != M_POST) {
            return id ? HTTP_METHOD_NOT_ALLOWED : HTTP_NOT_FOUND;
        }
        return send_lead(r, ctx, id);
    }
    if (!is_owner(ctx)) {
        return HTTP_FORBIDDEN;
    }
    if (!*rest && r->method_number == M_GET) {
        apr_table_t *q = NULL;
        ap_args_to_table(r, &q);
        return settings_page(r, ctx, HTTP_OK,
                             apr_table_get(q, "connected") ? "Jobber is connected."
                             : apr_table_get(q, "disconnected") ? "Jobber is disconnected: its "
                               "tokens are deleted."
                             : apr_table_get(q, "tested") ? "Test queued: the result shows below "
                               "in a few seconds." : NULL, NULL);
    }
    if (!strcmp(rest, "/jobber/connect") && r->method_number == M_GET) {
        return connect_start(r, ctx);
    }
    if (!strcmp(rest, "/jobber/callback") && r->method_number == M_GET) {
        return connect_callback(r, ctx);
    }
    if (r->method_number != M_POST) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if (!strcmp(rest, "/jobber/disconnect")) {
        return disconnect(r, ctx);
    }
    if (!strcmp(rest, "/jobber/test")) {
        return test_event(r, ctx);
    }
    return HTTP_NOT_FOUND;
}
