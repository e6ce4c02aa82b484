/*
 * mod_consult_intake: site forms and JSON posts into Postgres.
 * `ConsultIntake On` on a client vhost mounts POST /api/intake.
 */
#include "intake_private.h"
#include "cs_conf.h"

#include "http_request.h"
#include <apr_strings.h>

intake_core_fns intake_core;

#define UNSET (-1)

intake_conf *intake_sconf(server_rec *s)
{
    return ap_get_module_config(s->module_config, &consult_intake_module);
}

apr_off_t intake_max_body(const intake_conf *c)
{
    return c->max_body == UNSET ? INTAKE_DEFAULT_MAX_BODY : c->max_body;
}

const char *intake_thank_you(const intake_conf *c)
{
    return c->thank_you ? c->thank_you : INTAKE_DEFAULT_THANK_YOU;
}

void *intake_create_server(apr_pool_t *p, server_rec *s)
{
    intake_conf *c = apr_pcalloc(p, sizeof(*c));
    c->enabled = UNSET;
    c->max_body = UNSET;
    return c;
}

void *intake_merge_server(apr_pool_t *p, void *basev, void *addv)
{
    intake_conf *base = basev, *add = addv, *c = apr_pcalloc(p, sizeof(*c));
    c->enabled = add->enabled != UNSET ? add->enabled : base->enabled;
    c->max_body = add->max_body != UNSET ? add->max_body : base->max_body;
    c->thank_you = add->thank_you ? add->thank_you : base->thank_you;
    return c;
}

static const char *named(cmd_parms *cmd, const char *err)
{
    return err ? apr_pstrcat(cmd->pool, cmd->cmd->name, ": ", err, NULL) : NULL;
}

static const char *set_enabled(cmd_parms *cmd, void *dc, const char *arg)
{
    return named(cmd, cs_conf_parse_flag(cmd->pool, arg,
                                         &intake_sconf(cmd->server)->enabled));
}

static const char *set_max_body(cmd_parms *cmd, void *dc, const char *arg)
{
    return named(cmd, cs_conf_parse_size(cmd->pool, arg, 1024, 64 * 1024 * 1024,
                                         &intake_sconf(cmd->server)->max_body));
}

static const char *set_thank_you(cmd_parms *cmd, void *dc, const char *arg)
{
    /* A local path only: an absolute URL here would make the form an open
     * redirect if the config were ever built from client input. */
    if (arg[0] != '/' || arg[1] == '/' || strpbrk(arg, " \t\r\n\\")) {
        return apr_psprintf(cmd->pool, "ConsultIntakeThankYou: expected a path "
                            "on this site starting with '/', got '%s'", arg);
    }
    intake_sconf(cmd->server)->thank_you = arg;
    return NULL;
}

const command_rec intake_cmds[] = {
    AP_INIT_TAKE1("ConsultIntake", set_enabled, NULL, RSRC_CONF,
                  "On mounts POST " INTAKE_PATH " on this virtual host"),
    AP_INIT_TAKE1("ConsultIntakeMaxBody", set_max_body, NULL, RSRC_CONF,
                  "largest accepted request body (default 64k)"),
    AP_INIT_TAKE1("ConsultIntakeThankYou", set_thank_you, NULL, RSRC_CONF,
                  "page a browser form post is sent to (default /thanks.html)"),
    { NULL }
};

static void retrieve_core(void)
{
    intake_core.db_acquire = APR_RETRIEVE_OPTIONAL_FN(cs_db_acquire);
    intake_core.client_get = APR_RETRIEVE_OPTIONAL_FN(cs_client_get);
    intake_core.client_configured = APR_RETRIEVE_OPTIONAL_FN(cs_client_configured);
    intake_core.send_error = APR_RETRIEVE_OPTIONAL_FN(cs_send_error);
    intake_core.send_json = APR_RETRIEVE_OPTIONAL_FN(cs_send_json);
}

static int check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                        server_rec *s)
{
    server_rec *v;

    /* check_config runs before the optional_fn_retrieve hook (and alone
     * under `apachectl -t`), so look core up here as well. */
    retrieve_core();
    if (!intake_core.db_acquire || !intake_core.client_get
        || !intake_core.send_error || !intake_core.send_json
        || !intake_core.client_configured) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s, CSLOGNO(02001)
                     "mod_consult_intake needs mod_consult_core: LoadModule "
                     "consult_core_module before consult_intake_module");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    for (v = s; v; v = v->next) {
        if (intake_sconf(v)->enabled == 1 && !intake_core.client_configured(v)) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_WARNING, 0, v,
                         CSLOGNO(02002) "ConsultIntake On in virtual host %s "
                         "(%s:%d) without ConsultClient: %s answers 404 there",
                         v->server_hostname ? v->server_hostname : "?",
                         v->defn_name ? v->defn_name : "?", v->defn_line_number,
                         INTAKE_PATH);
        }
    }
    return OK;
}

static int map_to_storage(request_rec *r)
{
    if (intake_sconf(r->server)->enabled == 1 && !strcmp(r->uri, INTAKE_PATH)) {
        return OK;      /* an endpoint, not a file: skip the filesystem walk */
    }
    return DECLINED;
}

static void register_hooks(apr_pool_t *p)
{
    ap_hook_optional_fn_retrieve(retrieve_core, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_map_to_storage(map_to_storage, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(intake_handler, NULL, NULL, APR_HOOK_MIDDLE);
    intake_register_filter();
}

AP_DECLARE_MODULE(consult_intake) = {
    STANDARD20_MODULE_STUFF,
    NULL,
    NULL,
    intake_create_server,
    intake_merge_server,
    intake_cmds,
    register_hooks,
    0
};
