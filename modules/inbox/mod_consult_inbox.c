/*
 * mod_consult_inbox: the staff dashboard (`ConsultInbox On` on its vhost).
 * Routes, configuration and startup; the pages live in inbox_*.c.
 */
#include "inbox_private.h"
#include "base/cs_conf.h"

#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include <apr_strings.h>
#include <apr_lib.h>

cs_core_t inbox_core;

#define UNSET (-1)

inbox_conf *inbox_sconf(server_rec *s)
{
    return ap_get_module_config(s->module_config, &consult_inbox_module);
}

static void *create_server(apr_pool_t *p, server_rec *s)
{
    inbox_conf *c = apr_pcalloc(p, sizeof(*c));
    c->enabled = c->page_size = UNSET;
    c->idle = c->lifetime = UNSET;
    return c;
}

static void *merge_server(apr_pool_t *p, void *basev, void *addv)
{
    inbox_conf *base = basev, *add = addv, *c = apr_pcalloc(p, sizeof(*c));
    c->enabled = add->enabled != UNSET ? add->enabled : base->enabled;
    c->templates = add->templates ? add->templates : base->templates;
    c->idle = add->idle != UNSET ? add->idle : base->idle;
    c->lifetime = add->lifetime != UNSET ? add->lifetime : base->lifetime;
    c->page_size = add->page_size != UNSET ? add->page_size : base->page_size;
    return c;
}

static const char *set_enabled(cmd_parms *cmd, void *dc, const char *arg)
{
    return cs_directive_error(cmd, cs_conf_parse_flag(cmd->pool, arg, &inbox_sconf(cmd->server)->enabled));
}

static const char *set_templates(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *path = ap_server_root_relative(cmd->pool, arg);
    apr_finfo_t fi;
    if (!path || apr_stat(&fi, path, APR_FINFO_TYPE, cmd->temp_pool) != APR_SUCCESS
        || fi.filetype != APR_DIR) {
        return apr_psprintf(cmd->pool, "ConsultInboxTemplates: expected a folder of "
                            "templates, '%s' is not one", arg);
    }
    inbox_sconf(cmd->server)->templates = path;
    return NULL;
}

static const char *set_duration(cmd_parms *cmd, void *dc, const char *arg)
{
    inbox_conf *c = inbox_sconf(cmd->server);
    apr_interval_time_t *dst = cmd->info ? &c->lifetime : &c->idle;
    return cs_directive_error(cmd, cs_conf_parse_duration(cmd->pool, arg, apr_time_from_sec(60),
                                             apr_time_from_sec(30 * 86400), dst));
}

static const char *set_page_size(cmd_parms *cmd, void *dc, const char *arg)
{
    long v = 0;
    const char *err = cs_conf_parse_int(cmd->pool, arg, 5, 500, &v);
    if (err) {
        return cs_directive_error(cmd, err);
    }
    inbox_sconf(cmd->server)->page_size = (int)v;
    return NULL;
}

static const command_rec cmds[] = {
    AP_INIT_TAKE1("ConsultInbox", set_enabled, NULL, RSRC_CONF,
                  "On serves the staff dashboard on this virtual host"),
    AP_INIT_TAKE1("ConsultInboxTemplates", set_templates, NULL, RSRC_CONF,
                  "folder of the dashboard's templates (default "
                  "modules/inbox/templates under ServerRoot)"),
    AP_INIT_TAKE1("ConsultInboxSessionIdle", set_duration, NULL, RSRC_CONF,
                  "sign out after this long without a request (default 2h)"),
    AP_INIT_TAKE1("ConsultInboxSessionMax", set_duration, (void *)1, RSRC_CONF,
                  "sign out this long after signing in, whatever happens (default 12h)"),
    AP_INIT_TAKE1("ConsultInboxPageSize", set_page_size, NULL, RSRC_CONF,
                  "conversations per page of the inbox list (default 50)"),
    { NULL }
};

static void retrieve_core(void)
{
    cs_core_retrieve(&inbox_core);
}

static int check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                        server_rec *s)
{
    server_rec *v;
    cs_tmpl_set_t *set = NULL;
    const char *dir = NULL;

    for (v = s; v; v = v->next) {
        inbox_conf *c = inbox_sconf(v);
        const char *err = NULL;
        if (c->enabled != 1) {
            continue;
        }
        if (!cs_core_retrieve(&inbox_core)) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s, CSLOGNO(03001)
                         "mod_consult_inbox needs mod_consult_core: LoadModule "
                         "consult_core_module before consult_inbox_module");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (c->idle == UNSET) c->idle = apr_time_from_sec(2 * 3600);
        if (c->lifetime == UNSET) c->lifetime = apr_time_from_sec(12 * 3600);
        if (c->page_size == UNSET) c->page_size = 50;
        if (!c->templates) {
            c->templates = ap_server_root_relative(pconf, "modules/inbox/templates");
        }
        /* Templates are compiled once, here: a broken one stops the start
         * (and `apachectl -t`) with its name and line. */
        if (!set || strcmp(dir, c->templates)) {
            dir = c->templates;
            if (cs_tmpl_set_create(&set, pconf) != APR_SUCCESS
                || cs_tmpl_load_dir(set, dir, &err) != APR_SUCCESS
                || cs_tmpl_finalize(set, &err) != APR_SUCCESS) {
                ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, v, CSLOGNO(03002)
                             "ConsultInboxTemplates %s: %s", dir, err ? err : "cannot load");
                return HTTP_INTERNAL_SERVER_ERROR;
            }
        }
        c->tmpl = set;
    }
    return OK;
}

static int map_to_storage(request_rec *r)
{
    /* Everything but the static assets is an endpoint, not a file. */
    if (inbox_sconf(r->server)->enabled == 1 && strncmp(r->uri, "/assets/", 8)) {
        return OK;
    }
    return DECLINED;
}

/* "/c/0123/archive" -> id "123" (inbox_id), rest "archive"; NULL unless
 * the segment is an id. */
static const char *path_id(request_rec *r, const char *prefix, const char **prest)
{
    const char *s = r->uri + strlen(prefix), *e = s, *id;
    while (apr_isdigit(*e)) e++;
    if (e == s || (*e && *e != '/')
        || !(id = inbox_id(r->pool, apr_pstrmemdup(r->pool, s, e - s)))) {
        return NULL;
    }
    *prest = *e == '/' ? e + 1 : "";
    return id;
}

/* The routes; handler() below ends the transaction a POST runs in. */
static int route(request_rec *r)
{
    inbox_conf *conf = inbox_sconf(r->server);
    inbox_ctx *ctx = NULL;
    const char *id, *rest = "";
    int st;

    if (conf->enabled != 1 || !strncmp(r->uri, "/assets/", 8)
        || !strcmp(r->uri, "/consult/health")) {
        return DECLINED;
    }
    /* Every page is per user: never cached, never framed. */
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->err_headers_out, "X-Frame-Options", "DENY");
    apr_table_setn(r->err_headers_out, "Content-Security-Policy",
                   "default-src 'self'; script-src 'self'; style-src 'self'; "
                   "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'");

    if (!strcmp(r->uri, "/login")) {
        if (r->method_number == M_GET) return inbox_login_page(r, NULL, NULL);
        if (r->method_number == M_POST) return inbox_login_post(r);
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if ((st = inbox_session(r, &ctx)) != OK) {
        return st;
    }
    if (r->method_number != M_GET && r->method_number != M_POST) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    /* A signed-in POST (its CSRF token checked) runs in one transaction. */
    if (r->method_number == M_POST && (st = inbox_tx_begin(r, ctx)) != OK) {
        return st;
    }
    if (!strcmp(r->uri, "/logout")) {
        return r->method_number == M_POST ? inbox_logout(r, ctx) : HTTP_METHOD_NOT_ALLOWED;
    }
    if (!strcmp(r->uri, "/switch")) {
        return r->method_number == M_POST ? inbox_switch_client(r, ctx)
                                          : HTTP_METHOD_NOT_ALLOWED;
    }
    if (!ctx->client_id) {
        return inbox_render(r, HTTP_OK, "no_client", inbox_page_data(r, ctx, "No client"));
    }
    if (!strcmp(r->uri, "/")) {
        return inbox_home(r, ctx);
    }
    if (!strcmp(r->uri, "/inbox/list")) {
        return inbox_list(r, ctx);
    }
    if (!strcmp(r->uri, "/export.csv")) {
        return inbox_export_csv(r, ctx);
    }
    if (!strcmp(r->uri, "/export-contacts.csv")) {
        return inbox_export_contacts_csv(r, ctx);
    }
    if (!strcmp(r->uri, "/audit")) {
        return inbox_audit_page(r, ctx);
    }
    if (!strcmp(r->uri, "/replies")) {
        return inbox_replies(r, ctx);
    }
    if (!strcmp(r->uri, "/menu")) {
        return inbox_menu(r, ctx);
    }
    if (!strncmp(r->uri, "/menu/items/", 12)) {
        return inbox_menu_item(r, ctx, r->uri + 12);
    }
    if (!strncmp(r->uri, "/settings/integrations", 22)
        && (!r->uri[22] || r->uri[22] == '/')) {
        return inbox_settings(r, ctx, r->uri + 22);
    }
    if (!strncmp(r->uri, "/c/", 3) && (id = path_id(r, "/c/", &rest))) {
        if (!*rest && r->method_number == M_GET) {
            return inbox_conversation(r, ctx, id);
        }
        if (!strcmp(rest, "messages") && r->method_number == M_GET) {
            return inbox_conversation_messages(r, ctx, id);
        }
        if (!strcmp(rest, "how") && r->method_number == M_GET) {
            return inbox_composer_how(r, ctx, id);
        }
        if (!*rest || r->method_number != M_POST) {
            return HTTP_METHOD_NOT_ALLOWED;
        }
        return inbox_conversation_action(r, ctx, id);
    }
    if (!strncmp(r->uri, "/contacts/", 10) && (id = path_id(r, "/contacts/", &rest))) {
        if (!*rest && r->method_number == M_GET) {
            return inbox_contact(r, ctx, id);
        }
        if (r->method_number != M_POST) {
            return HTTP_METHOD_NOT_ALLOWED;
        }
        return inbox_contact_post(r, ctx, id, rest);
    }
    if (!strncmp(r->uri, "/a/", 3) && (id = path_id(r, "/a/", &rest)) && !*rest) {
        return inbox_attachment(r, ctx, id);
    }
    return HTTP_NOT_FOUND;
}

/*
 * Every POST is one transaction, begun in route() before any route runs
 * and ended here, whatever the route: so an action and its audit row
 * commit together or not at all, and no route has to remember to. COMMIT
 * when the answer is a success (< 400) and every audit row was written;
 * otherwise ROLLBACK (500 when an audit row failed: done but unrecorded is
 * undone). The answer must not reach the client before COMMIT, so while
 * the transaction is open inbox_render holds its page and inbox_tx_end
 * sends it afterwards; a redirect or an error status is only sent after
 * this returns. A failed COMMIT drops the held page and answers 500.
 * GETs change nothing but audit rows (exports, downloads), which they
 * write before sending a byte, refusing (500) when they cannot.
 */
static int handler(request_rec *r)
{
    return inbox_tx_end(r, route(r));
}

static void register_hooks(apr_pool_t *p)
{
    /* After mod_consult_twilio registers cs_twilio_enabled, whatever the
     * LoadModule order. */
    ap_hook_optional_fn_retrieve(retrieve_core, NULL, NULL, APR_HOOK_LAST);
    ap_hook_check_config(check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_map_to_storage(map_to_storage, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(handler, NULL, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(consult_inbox) = {
    STANDARD20_MODULE_STUFF,
    NULL,
    NULL,
    create_server,
    merge_server,
    cmds,
    register_hooks,
    0
};
