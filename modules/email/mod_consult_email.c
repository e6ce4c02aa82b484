/*
 * mod_consult_email: email through Resend for a client vhost
 * (`ConsultEmail On`): staff replies by email (the email.send job) and
 * new-message notifications to the client's staff (notification.send).
 * Every request carries an Idempotency-Key derived from our own row id,
 * so a retried job never sends a second email (Resend keeps keys 24 h).
 */
#include "email_private.h"
#include "http_log.h"
#include "base/cs_conf.h"
#include "http/cs_http.h"
#include "text/cs_text.h"

#include <apr_strings.h>
#include <apr_hash.h>

#define UNSET (-1)

APLOG_USE_MODULE(consult_email);

static apr_hash_t *by_slug;
static cs_core_t email_core;

static email_conf *sconf(server_rec *s)
{
    return ap_get_module_config(s->module_config, &consult_email_module);
}

static void *create_server(apr_pool_t *p, server_rec *s)
{
    email_conf *c = apr_pcalloc(p, sizeof(*c));
    c->enabled = UNSET;
    c->timeout = UNSET;
    return c;
}

static void *merge_server(apr_pool_t *p, void *basev, void *addv)
{
    email_conf *base = basev, *add = addv, *c = apr_pcalloc(p, sizeof(*c));
    c->enabled = add->enabled != UNSET ? add->enabled : base->enabled;
    c->timeout = add->timeout != UNSET ? add->timeout : base->timeout;
    c->key = add->key ? add->key : base->key;
    c->from = add->from ? add->from : base->from;
    c->reply_to = add->reply_to ? add->reply_to : base->reply_to;
    c->api_base = add->api_base ? add->api_base : base->api_base;
    return c;
}

static const char *set(cmd_parms *cmd, void *dc, const char *arg)
{
    email_conf *c = sconf(cmd->server);
    const char *err, *val = NULL, *addr;
    apr_size_t len = 0;

    switch ((int)(intptr_t)cmd->info) {
    case 0:
        return cs_directive_error(cmd, cs_conf_parse_flag(cmd->pool, arg, &c->enabled));
    case 1:
        if ((err = cs_conf_secret(cmd->pool, arg, &val, &len))) {
            return cs_directive_error(cmd, err);
        }
        c->key = val;
        return NULL;
    case 2:
    case 3:
        /* "Name <addr>" or a bare address; the address must be valid. */
        addr = strchr(arg, '<') ? apr_pstrndup(cmd->pool, strchr(arg, '<') + 1,
                                               strcspn(strchr(arg, '<') + 1, ">")) : arg;
        if (cs_email_normalize(cmd->pool, addr, &val) != APR_SUCCESS) {
            return apr_psprintf(cmd->pool, "%s: expected an email address like "
                                "\"Shop <hello@shop.example>\", got '%s'", cmd->cmd->name, arg);
        }
        if ((int)(intptr_t)cmd->info == 2) c->from = arg; else c->reply_to = arg;
        return NULL;
    case 4:
        if ((strncmp(arg, "http://", 7) && strncmp(arg, "https://", 8))
            || arg[strlen(arg) - 1] == '/') {
            return apr_psprintf(cmd->pool, "ConsultResendAPIBase: expected a URL like "
                                "https://api.resend.com, got '%s'", arg);
        }
        c->api_base = arg;
        return NULL;
    default:
        return cs_directive_error(cmd, cs_conf_parse_duration(
            cmd->pool, arg, apr_time_from_msec(100), apr_time_from_sec(120), &c->timeout));
    }
}

static const command_rec cmds[] = {
    AP_INIT_TAKE1("ConsultEmail", set, (void *)0, RSRC_CONF,
                  "On: email replies and staff notifications through Resend"),
    AP_INIT_TAKE1("ConsultResendKey", set, (void *)1, RSRC_CONF,
                  "Resend API key: env:NAME, file:PATH or the value"),
    AP_INIT_TAKE1("ConsultResendFrom", set, (void *)2, RSRC_CONF,
                  "sender, e.g. \"Ember & Oak <hello@emberandoak.example>\""),
    AP_INIT_TAKE1("ConsultResendReplyTo", set, (void *)3, RSRC_CONF,
                  "where customers' answers go (the client's own mailbox)"),
    AP_INIT_TAKE1("ConsultResendAPIBase", set, (void *)4, RSRC_CONF,
                  "Resend base URL (default https://api.resend.com)"),
    AP_INIT_TAKE1("ConsultEmailTimeout", set, (void *)5, RSRC_CONF,
                  "deadline of a call to Resend (default 10s)"),
    { NULL }
};

const email_conf *email_conf_for_slug(const char *slug)
{
    return slug && by_slug ? apr_hash_get(by_slug, slug, APR_HASH_KEY_STRING) : NULL;
}

static int cs_email_enabled(const char *slug)
{
    return slug && by_slug && apr_hash_get(by_slug, slug, APR_HASH_KEY_STRING) != NULL;
}

static int check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    server_rec *v;
    int have_core = cs_core_retrieve(&email_core);
    by_slug = apr_hash_make(pconf);
    for (v = s; v; v = v->next) {
        email_conf *c = sconf(v);
        const char *slug;
        if (c->enabled != 1) continue;
        if (!have_core) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s, CSLOGNO(05001)
                         "mod_consult_email needs mod_consult_core loaded first");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (!c->key || !c->from) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, v, CSLOGNO(05002)
                         "ConsultEmail On (%s:%d) needs ConsultResendKey and ConsultResendFrom",
                         v->defn_name ? v->defn_name : "?", v->defn_line_number);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (!c->api_base) c->api_base = "https://api.resend.com";
        if (c->timeout == UNSET) c->timeout = apr_time_from_sec(10);
        if ((slug = email_core.client_slug(v))) {
            apr_hash_set(by_slug, slug, APR_HASH_KEY_STRING, c);
        }
    }
    return OK;
}

static void child_init(apr_pool_t *p, server_rec *s)
{
    cs_http_global_init();
}

static void register_hooks(apr_pool_t *p)
{
    APR_REGISTER_OPTIONAL_FN(cs_email_enabled);
    ap_hook_check_config(check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(child_init, NULL, NULL, APR_HOOK_MIDDLE);
    CS_REGISTER_JOB_HANDLER(email_run_job);
}

module AP_MODULE_DECLARE_DATA consult_email_module = {
    STANDARD20_MODULE_STUFF,
    NULL, NULL, create_server, merge_server, cmds, register_hooks, 0
};
