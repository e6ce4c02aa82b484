/* Internal to mod_consult_inbox, the staff dashboard. */
#ifndef INBOX_PRIVATE_H
#define INBOX_PRIVATE_H

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "mod_consult_core.h"
#include "auth/cs_auth.h"
#include "db/cs_db.h"
#include "base/cs_json.h"
#include "text/cs_tmpl.h"

#define CSLOGNO(n) "CS" #n ": "
#define SESSION_COOKIE "consult_session"

extern module AP_MODULE_DECLARE_DATA consult_inbox_module;

typedef struct {
    int enabled;                        /* -1 unset */
    const char *templates;              /* folder of *.mustache */
    apr_interval_time_t idle;           /* session idle expiry */
    apr_interval_time_t lifetime;       /* absolute expiry */
    int page_size;
    cs_tmpl_set_t *tmpl;                /* compiled in post_config */
} inbox_conf;

extern cs_core_t inbox_core;

/* The signed-in staff member and the client they are working on. Every
 * query of the dashboard is scoped by client_id taken from here, never
 * from the request. */
typedef struct {
    const char *session_id;
    const char *token_hash;
    const char *user_id;
    const char *user_name;
    const char *user_email;
    int is_admin;
    const char *client_id;              /* NULL: no client to show */
    const char *client_name;
    const char *client_slug;
    const char *role;                   /* owner, staff, or admin */
    const char *csrf;
    PGconn *conn;
    int audit_failed;                   /* an audit row could not be written */
} inbox_ctx;

inbox_conf *inbox_sconf(server_rec *s);

/* inbox_auth.c */
int inbox_login_page(request_rec *r, const char *error, const char *email);
int inbox_login_post(request_rec *r);
int inbox_logout(request_rec *r, inbox_ctx *ctx);
/* OK with *pctx set, or an HTTP status (a redirect to /login is sent). */
int inbox_session(request_rec *r, inbox_ctx **pctx);
int inbox_csrf_ok(request_rec *r, inbox_ctx *ctx);
int inbox_switch_client(request_rec *r, inbox_ctx *ctx);

/* inbox_render.c */
/* Render template @p name with @p data into the response; 500 (logged) on
 * a render error, never half a page. Inside a POST's transaction the page
 * is held and sent by inbox_tx_end after COMMIT. */
int inbox_render(request_rec *r, int status, const char *name, json_object *data);
/* The common page data: user, client, csrf, memberships for the switcher. */
json_object *inbox_page_data(request_rec *r, inbox_ctx *ctx, const char *title);
/* Rows of a result as an array of objects, typed by column type. */
json_object *inbox_rows(PGresult *res);
json_object *inbox_row(PGresult *res, int i);
int inbox_is_htmx(request_rec *r);
int inbox_redirect(request_rec *r, const char *to);
/* Form fields of a POST (urlencoded), or NULL on a bad body. */
apr_table_t *inbox_read_form(request_rec *r);
PGresult *inbox_query(request_rec *r, inbox_ctx *ctx, const char *sql,
                      int n, const char *const *params);
/* Write an audit row. 1 when written; 0 when not (logged, and
 * ctx->audit_failed set, so the POST's transaction rolls back): the
 * caller answers 500 and, on a GET, sends nothing. */
int inbox_audit(request_rec *r, inbox_ctx *ctx, const char *action,
                const char *target_type, const char *target_id, const char *detail_json);
/* An id from the request (path, form field, query argument), parsed once,
 * here: the canonical decimal text of a positive bigint ("0042" -> "42"),
 * or NULL for anything else ("", "0", signs, spaces, past 2^63-1). SQL
 * parameters and audit details only ever see this output. */
const char *inbox_id(apr_pool_t *p, const char *s);

/* Every POST is one transaction: the action and its audit row commit
 * together or not at all (see handler() in mod_consult_inbox.c).
 * inbox_tx_begin sends BEGIN (OK, or 500). inbox_tx_end, given the
 * route's return, COMMITs when the answer is a success (< 400) and every
 * audit row was written, else ROLLs BACK; then it sends the page held
 * while the transaction was open, and returns the status to return (500
 * when the commit failed). Without a transaction it returns @p status. */
int inbox_tx_begin(request_rec *r, inbox_ctx *ctx);
int inbox_tx_end(request_rec *r, int status);
/* Roll back now, for a route that hit an expected statement error (a
 * unique violation, say) and still renders a page, whose queries an
 * aborted transaction would refuse. */
void inbox_tx_abort(request_rec *r);

/* inbox_views.c */
int inbox_home(request_rec *r, inbox_ctx *ctx);
int inbox_list(request_rec *r, inbox_ctx *ctx);
int inbox_conversation(request_rec *r, inbox_ctx *ctx, const char *id);
int inbox_conversation_action(request_rec *r, inbox_ctx *ctx, const char *id);
int inbox_attachment(request_rec *r, inbox_ctx *ctx, const char *id);

/* inbox_reply.c: the composer. */
int inbox_conversation_messages(request_rec *r, inbox_ctx *ctx, const char *id);
int inbox_composer_how(request_rec *r, inbox_ctx *ctx, const char *conversation_id);
json_object *inbox_composer(request_rec *r, inbox_ctx *ctx, const char *conversation_id,
                            const char *error);
/* Queue a reply. For htmx, a reply no channel can carry is not an error
 * response: *prefused says why and nothing is written. */
int inbox_reply(request_rec *r, inbox_ctx *ctx, const char *conversation_id,
                const char **prefused);

/* inbox_contacts.c */
int inbox_contact(request_rec *r, inbox_ctx *ctx, const char *id);
int inbox_contact_post(request_rec *r, inbox_ctx *ctx, const char *id, const char *what);
int inbox_export_csv(request_rec *r, inbox_ctx *ctx);
int inbox_export_contacts_csv(request_rec *r, inbox_ctx *ctx);
int inbox_audit_page(request_rec *r, inbox_ctx *ctx);
int inbox_replies(request_rec *r, inbox_ctx *ctx);

/* inbox_menu.c: a restaurant client's Menu page, staff 86es. */
int inbox_menu(request_rec *r, inbox_ctx *ctx);
/* POST /menu/items/POSID/86 and /restore; @p rest is what follows
 * "/menu/items/". */
int inbox_menu_item(request_rec *r, inbox_ctx *ctx, const char *rest);
/* has_menu in @p d (page data): whether the client is a restaurant, for
 * the nav's Menu link. */
void inbox_menu_nav(request_rec *r, inbox_ctx *ctx, json_object *d);

/* inbox_orders.c: the Orders page of a restaurant (online orders, the
 * new-order alert, the kitchen's buttons, refunds, the pause switch). */
int inbox_orders(request_rec *r, inbox_ctx *ctx, const char *rest);
/* inbox_settings.c: the Integrations page (owners) and "Send to Jobber";
 * @p rest is what follows "/settings/integrations". */
int inbox_settings(request_rec *r, inbox_ctx *ctx, const char *rest);
/* jobber_on in @p d (a thread's data): whether its messages can be sent
 * to Jobber. */
void inbox_settings_message_data(request_rec *r, inbox_ctx *ctx, json_object *d);
/* Each message's Jobber state, for the thread's query. */
#define INBOX_JOBBER_COLUMNS \
    "  (SELECT jr.state FROM jobber_requests jr WHERE jr.message_id = m.id) AS jobber_state," \
    "  (SELECT CASE jr.state WHEN 'sent' THEN 'request created' WHEN 'failed' THEN 'refused'" \
    "     ELSE 'sending' END || coalesce(' (' || jr.jobber_status || ')', '')" \
    "     FROM jobber_requests jr WHERE jr.message_id = m.id) AS jobber_label," \
    "  (SELECT jr.error FROM jobber_requests jr WHERE jr.message_id = m.id) AS jobber_error," \
    "  (SELECT jr.jobber_url FROM jobber_requests jr WHERE jr.message_id = m.id) AS jobber_url"

#endif
