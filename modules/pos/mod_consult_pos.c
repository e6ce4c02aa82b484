/*
 * mod_consult_pos: a restaurant vhost's point of sale (`ConsultPOS
 * mock|square|clover|toast`): the menu synced from the POS into Postgres,
 * sold-out marks from signed webhooks and a poll, GET /menu, /api/menu and
 * /api/menu/availability (served from snapshot files when Postgres is
 * away), POST /webhooks/pos.
 */
#include "pos_private.h"
#include "base/cs_conf.h"
#include "base/cs_file.h"

#include "http_request.h"
#include "http_protocol.h"
#include <apr_strings.h>
#include <apr_hash.h>
#include <apr_time.h>

cs_core_t pos_core;
static apr_hash_t *by_slug;

#define UNSET (-1)

pos_conf *pos_sconf(server_rec *s)
{
    return ap_get_module_config(s->module_config, &consult_pos_module);
}

pos_conf *pos_conf_for_slug(const char *slug)
{
    return slug && by_slug ? apr_hash_get(by_slug, slug, APR_HASH_KEY_STRING) : NULL;
}

const char *pos_rfc3339(apr_pool_t *p, apr_time_t t)
{
    apr_time_exp_t x;
    apr_time_exp_gmt(&x, t);
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02dZ", x.tm_year + 1900,
                        x.tm_mon + 1, x.tm_mday, x.tm_hour, x.tm_min, x.tm_sec);
}

static void *create_server(apr_pool_t *p, server_rec *s)
{
    pos_conf *c = apr_pcalloc(p, sizeof(*c));
    c->menu_sync = UNSET;
    c->poll = UNSET;
    c->pos.timeout = UNSET;
    c->tax_rate_bp = UNSET;
    return c;
}

#define MERGE_PTR(f) c->f = add->f ? add->f : base->f
#define MERGE_NUM(f) c->f = add->f != UNSET ? add->f : base->f
static void *merge_server(apr_pool_t *p, void *basev, void *addv)
{
    pos_conf *base = basev, *add = addv, *c = apr_pcalloc(p, sizeof(*c));
    MERGE_PTR(kind);
    MERGE_PTR(pos.api_base);
    MERGE_PTR(pos.location);
    MERGE_PTR(pos.access_token);
    MERGE_PTR(pos.client_id);
    MERGE_PTR(pos.client_secret);
    MERGE_PTR(pos.webhook_secret);
    MERGE_PTR(pos.webhook_url);
    MERGE_PTR(pos.menu_file);
    MERGE_PTR(pos.state_file);
    MERGE_PTR(snapshot_dir);
    MERGE_PTR(template_file);
    MERGE_NUM(menu_sync);
    MERGE_NUM(poll);
    MERGE_NUM(pos.timeout);
    MERGE_NUM(tax_rate_bp);
    return c;
}

enum { D_LOCATION, D_API_BASE, D_TOKEN, D_CLIENT_ID, D_CLIENT_SECRET, D_WEBHOOK_SECRET,
       D_WEBHOOK_URL, D_MENU_FILE, D_STATE_FILE, D_SNAPSHOT_DIR, D_TEMPLATE };

static const char *set_kind(cmd_parms *cmd, void *dc, const char *arg)
{
    if (!cs_pos_adapter(arg)) {
        return apr_psprintf(cmd->pool, "ConsultPOS: expected one of %s, got '%s'",
                            cs_pos_adapter_names(), arg);
    }
    pos_sconf(cmd->server)->kind = arg;
    return NULL;
}

static int is_url(const char *arg)
{
    return (!strncmp(arg, "http://", 7) || !strncmp(arg, "https://", 8))
        && strlen(arg) > 8 && !strpbrk(arg, " \t\r\n");
}

static const char *set_str(cmd_parms *cmd, void *dc, const char *arg)
{
    pos_conf *c = pos_sconf(cmd->server);
    const char *val = NULL, *err;
    apr_size_t len = 0;
    int which = (int)(intptr_t)cmd->info;

    switch (which) {
    case D_TOKEN: case D_CLIENT_SECRET: case D_WEBHOOK_SECRET:
        if ((err = cs_conf_secret(cmd->pool, arg, &val, &len))) {
            return cs_directive_error(cmd, err);
        }
        if (!len) {
            return apr_pstrcat(cmd->pool, cmd->cmd->name, ": the secret is empty", NULL);
        }
        if (which == D_TOKEN) c->pos.access_token = val;
        else if (which == D_CLIENT_SECRET) c->pos.client_secret = val;
        else c->pos.webhook_secret = val;
        return NULL;
    case D_API_BASE: case D_WEBHOOK_URL:
        if (!is_url(arg) || (which == D_API_BASE && arg[strlen(arg) - 1] == '/')) {
            return apr_psprintf(cmd->pool, "%s: expected a URL like https://example.com%s, "
                                "got '%s'", cmd->cmd->name,
                                which == D_API_BASE ? " (no trailing slash)" : "/webhooks/pos",
                                arg);
        }
        if (which == D_API_BASE) c->pos.api_base = arg; else c->pos.webhook_url = arg;
        return NULL;
    case D_MENU_FILE: case D_STATE_FILE: case D_SNAPSHOT_DIR: case D_TEMPLATE:
        val = ap_server_root_relative(cmd->pool, arg);
        if (!val || !*arg) {
            return apr_psprintf(cmd->pool, "%s: expected a path, got '%s'", cmd->cmd->name, arg);
        }
        if (which == D_MENU_FILE) c->pos.menu_file = val;
        else if (which == D_STATE_FILE) c->pos.state_file = val;
        else if (which == D_SNAPSHOT_DIR) c->snapshot_dir = val;
        else c->template_file = val;
        return NULL;
    case D_LOCATION:
        if (!*arg || strlen(arg) > 200) {
            return apr_psprintf(cmd->pool, "ConsultPOSLocation: expected the POS's location, "
                                "merchant or restaurant id, got '%s'", arg);
        }
        c->pos.location = arg;
        return NULL;
    default:
        if (!*arg || strlen(arg) > 200) {
            return apr_psprintf(cmd->pool, "%s: expected an id, got '%s'", cmd->cmd->name, arg);
        }
        c->pos.client_id = arg;
        return NULL;
    }
}

static const char *set_duration(cmd_parms *cmd, void *dc, const char *arg)
{
    pos_conf *c = pos_sconf(cmd->server);
    switch ((int)(intptr_t)cmd->info) {
    case 0:
        return cs_directive_error(cmd, cs_conf_parse_duration(cmd->pool, arg,
            apr_time_from_sec(1), apr_time_from_sec(86400), &c->menu_sync));
    case 1:
        return cs_directive_error(cmd, cs_conf_parse_duration(cmd->pool, arg,
            apr_time_from_sec(1), apr_time_from_sec(86400), &c->poll));
    default:
        return cs_directive_error(cmd, cs_conf_parse_duration(cmd->pool, arg,
            apr_time_from_msec(100), apr_time_from_sec(120), &c->pos.timeout));
    }
}

static const char *set_tax(cmd_parms *cmd, void *dc, const char *arg)
{
    apr_int64_t bp = 0;
    const char *num = arg;
    apr_size_t n = strlen(arg);
    if (n && arg[n - 1] == '%') num = apr_pstrmemdup(cmd->temp_pool, arg, n - 1);
    /* A percentage with at most two decimals is a whole number of basis
     * points: the same exact decimal reader as prices. */
    if (cs_menu_decimal_to_cents(&bp, num, 0) != APR_SUCCESS || bp > 10000) {
        return apr_psprintf(cmd->pool, "ConsultPOSTaxRate: expected a percentage from 0 to "
                            "100 with at most two decimals, like 8.25, got '%s'", arg);
    }
    pos_sconf(cmd->server)->tax_rate_bp = (int)bp;
    return NULL;
}

#define STR(name, which, help) \
    AP_INIT_TAKE1(name, set_str, (void *)(intptr_t)(which), RSRC_CONF, help)
static const command_rec cmds[] = {
    AP_INIT_TAKE1("ConsultPOS", set_kind, NULL, RSRC_CONF,
                  "the restaurant's point of sale: mock, square, clover or toast"),
    STR("ConsultPOSLocation", D_LOCATION, "Square location, Clover merchant or Toast restaurant id"),
    STR("ConsultPOSAPIBase", D_API_BASE, "the POS API's base URL (tests point it at a fake)"),
    STR("ConsultPOSToken", D_TOKEN, "Square/Clover API token: env:NAME, file:PATH or the value"),
    STR("ConsultPOSClientID", D_CLIENT_ID, "Toast machine client id"),
    STR("ConsultPOSClientSecret", D_CLIENT_SECRET, "Toast machine client secret: env:, file: or value"),
    STR("ConsultPOSWebhookSecret", D_WEBHOOK_SECRET, "webhook signing secret: env:, file: or value"),
    STR("ConsultPOSWebhookURL", D_WEBHOOK_URL, "the public URL the POS posts webhooks to"),
    STR("ConsultPOSMenuFile", D_MENU_FILE, "mock POS: the menu JSON file"),
    STR("ConsultPOSStateFile", D_STATE_FILE, "mock POS: its live state file"),
    STR("ConsultPOSSnapshotDir", D_SNAPSHOT_DIR, "folder of the menu snapshots served when the database is away"),
    STR("ConsultPOSMenuTemplate", D_TEMPLATE, "the /menu page's template (mustache)"),
    AP_INIT_TAKE1("ConsultPOSMenuSync", set_duration, (void *)0, RSRC_CONF,
                  "how often the whole menu is synced (default 15m)"),
    AP_INIT_TAKE1("ConsultPOSPollInterval", set_duration, (void *)1, RSRC_CONF,
                  "how often sold-out state is polled (default 60s)"),
    AP_INIT_TAKE1("ConsultPOSTimeout", set_duration, (void *)2, RSRC_CONF,
                  "deadline of a POS API call (default 10s)"),
    AP_INIT_TAKE1("ConsultPOSTaxRate", set_tax, NULL, RSRC_CONF,
                  "sales tax in percent, e.g. 8.25 (default 0)"),
    { NULL }
};

/* The settings each kind cannot work without. */
static const char *missing(const pos_conf *c)
{
    const char *k = c->kind;
    if (!c->pos.webhook_secret) return "ConsultPOSWebhookSecret";
    if (!c->snapshot_dir) return "ConsultPOSSnapshotDir";
    if (!strcmp(k, "mock")) {
        if (!c->pos.menu_file) return "ConsultPOSMenuFile";
        if (!c->pos.state_file) return "ConsultPOSStateFile";
        return NULL;
    }
    if (!c->pos.location) return "ConsultPOSLocation";
    if (!strcmp(k, "toast")) {
        if (!c->pos.client_id) return "ConsultPOSClientID";
        if (!c->pos.client_secret) return "ConsultPOSClientSecret";
    }
    else if (!c->pos.access_token) {
        return "ConsultPOSToken";
    }
    if (!strcmp(k, "square") && !c->pos.webhook_url) return "ConsultPOSWebhookURL";
    return NULL;
}

static const char *default_api_base(const char *kind)
{
    if (!strcmp(kind, "square")) return "https://connect.squareup.com";
    if (!strcmp(kind, "clover")) return "https://api.clover.com";
    if (!strcmp(kind, "toast")) return "https://ws-api.toasttab.com";
    return "http://mock.invalid";
}

static int load_template(pos_conf *c, apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *v)
{
    char *buf = NULL;
    apr_size_t len = 0;
    const char *err = NULL;
    apr_status_t rv;

    if (!c->template_file) {
        return OK;
    }
    if ((rv = cs_file_read(&buf, &len, ptemp, c->template_file, 1 << 20)) != APR_SUCCESS) {
        /* The page is optional; the menu API works without it. */
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_WARNING, rv, v, CSLOGNO(06002)
                     "ConsultPOSMenuTemplate (%s): cannot read %s; /menu answers 404",
                     c->defn, c->template_file);
        return OK;
    }
    if (cs_tmpl_set_create(&c->tmpl, pconf) != APR_SUCCESS
        || cs_tmpl_add(c->tmpl, "menu", buf, len, &err) != APR_SUCCESS
        || cs_tmpl_finalize(c->tmpl, &err) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, v, CSLOGNO(06003)
                     "ConsultPOSMenuTemplate %s: %s", c->template_file, err ? err : "invalid");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

static int check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                        server_rec *s)
{
    server_rec *v;
    int have_core = cs_core_retrieve(&pos_core);

    by_slug = apr_hash_make(pconf);
    for (v = s; v; v = v->next) {
        pos_conf *c = pos_sconf(v);
        const char *need;
        if (!c->kind) {
            continue;
        }
        c->defn = apr_psprintf(pconf, "%s:%d", v->defn_name ? v->defn_name : "?",
                               v->defn_line_number);
        if (!have_core) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s, CSLOGNO(06001)
                         "mod_consult_pos needs mod_consult_core loaded first");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (!(c->slug = pos_core.client_slug(v))) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, v, CSLOGNO(06004)
                         "ConsultPOS %s (%s) needs ConsultClient on the same vhost",
                         c->kind, c->defn);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if ((need = missing(c))) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, v, CSLOGNO(06005)
                         "ConsultPOS %s (%s) needs %s", c->kind, c->defn, need);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (pos_conf_for_slug(c->slug)) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, v, CSLOGNO(06006)
                         "ConsultPOS (%s): client '%s' already has a POS on another vhost",
                         c->defn, c->slug);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        c->adapter = cs_pos_adapter(c->kind);
        c->pos.kind = c->kind;
        if (!c->pos.api_base) c->pos.api_base = default_api_base(c->kind);
        if (c->pos.timeout == UNSET) c->pos.timeout = apr_time_from_sec(10);
        if (c->menu_sync == UNSET) c->menu_sync = apr_time_from_sec(15 * 60);
        if (c->poll == UNSET) c->poll = apr_time_from_sec(60);
        if (c->tax_rate_bp == UNSET) c->tax_rate_bp = 0;
        if (load_template(c, pconf, ptemp, v) != OK) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        apr_hash_set(by_slug, c->slug, APR_HASH_KEY_STRING, c);
    }
    return OK;
}

static void child_init(apr_pool_t *p, server_rec *s)
{
    cs_http_global_init();
    pos_cache_child_init(p, s);
}

static int is_pos_uri(const char *uri)
{
    return !strcmp(uri, "/menu") || !strcmp(uri, "/api/menu")
        || !strcmp(uri, "/api/menu/availability") || !strcmp(uri, "/webhooks/pos");
}

static int map_to_storage(request_rec *r)
{
    if (pos_sconf(r->server)->kind && is_pos_uri(r->uri)) {
        return OK;
    }
    return DECLINED;
}

static int handler(request_rec *r)
{
    if (!pos_sconf(r->server)->kind || !is_pos_uri(r->uri) || !pos_sconf(r->server)->slug) {
        return DECLINED;
    }
    if (!strcmp(r->uri, "/webhooks/pos")) {
        return pos_webhook_handler(r);
    }
    return pos_api_handler(r);
}

static void register_hooks(apr_pool_t *p)
{
    ap_hook_check_config(check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_map_to_storage(map_to_storage, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(handler, NULL, NULL, APR_HOOK_MIDDLE);
    APR_REGISTER_OPTIONAL_FN(cs_pos_menu);
    APR_REGISTER_OPTIONAL_FN(cs_pos_submit);
    CS_REGISTER_JOB_HANDLER(pos_run_job);
    CS_REGISTER_WORKER_START(pos_worker_start);
}

AP_DECLARE_MODULE(consult_pos) = {
    STANDARD20_MODULE_STUFF,
    NULL,
    NULL,
    create_server,
    merge_server,
    cmds,
    register_hooks,
    0
};
