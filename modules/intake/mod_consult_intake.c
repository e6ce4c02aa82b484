/*
 * mod_consult_intake: site forms and JSON posts into Postgres.
 * `ConsultIntake On` on a client vhost mounts POST /api/intake; the
 * submission.process job classifies what arrives.
 */
#include "intake_private.h"
#include "classify/cs_classify.h"
#include "base/cs_conf.h"
#include "text/cs_text.h"

#include "http_request.h"
#include <apr_strings.h>
#include <apr_lib.h>
#include <apr_hash.h>
#include <apr_thread_proc.h>
#include "http/cs_http.h"

cs_core_t intake_core;
static cs_sniffer_t *intake_sniffer;

#define UNSET (-1)

intake_conf *intake_sconf(server_rec *s)
{
    return ap_get_module_config(s->module_config, &consult_intake_module);
}

void *intake_create_server(apr_pool_t *p, server_rec *s)
{
    intake_conf *c = apr_pcalloc(p, sizeof(*c));
    c->enabled = c->token_mode = c->ip_limit = c->client_limit = c->classifier = UNSET;
    c->spam_keep = c->spam_window = UNSET;
    c->max_body = c->max_file = c->max_files_total = UNSET;
    c->min_fill = c->token_max_age = c->ip_window = c->client_window = UNSET;
    c->llm_timeout = UNSET;
    return c;
}

#define MERGE(f) c->f = add->f != UNSET ? add->f : base->f
#define MERGE_PTR(f) c->f = add->f ? add->f : base->f

void *intake_merge_server(apr_pool_t *p, void *basev, void *addv)
{
    intake_conf *base = basev, *add = addv, *c = apr_pcalloc(p, sizeof(*c));
    MERGE(enabled);
    MERGE(max_body);
    MERGE_PTR(thank_you);
    MERGE(token_mode);
    MERGE(min_fill);
    MERGE(token_max_age);
    MERGE_PTR(honeypot);
    MERGE(ip_limit);
    MERGE(ip_window);
    MERGE(client_limit);
    MERGE(client_window);
    MERGE(spam_keep);
    MERGE(spam_window);
    MERGE_PTR(origins);
    MERGE_PTR(region);
    MERGE(max_file);
    MERGE(max_files_total);
    MERGE_PTR(allow_types);
    MERGE(classifier);
    MERGE_PTR(vertical);
    MERGE_PTR(llm_endpoint);
    MERGE_PTR(llm_key);
    MERGE_PTR(llm_model);
    MERGE(llm_timeout);
    return c;
}

#define DEFAULT(f, v) if (c->f == UNSET) c->f = (v)
#define DEFAULT_PTR(f, v) if (!c->f) c->f = (v)

/* Resolve defaults in place; done for every server in post_config, so the
 * request path reads plain values. */
static void resolve(intake_conf *c)
{
    DEFAULT(enabled, 0);
    DEFAULT(max_body, 64 * 1024);
    DEFAULT_PTR(thank_you, "/thanks.html");
    DEFAULT(token_mode, TOKEN_OPTIONAL);
    DEFAULT(min_fill, apr_time_from_sec(3));
    DEFAULT(token_max_age, apr_time_from_sec(24 * 3600));
    DEFAULT_PTR(honeypot, "website");
    DEFAULT(ip_limit, 20);
    DEFAULT(ip_window, apr_time_from_sec(600));
    DEFAULT(client_limit, 1000);
    DEFAULT(client_window, apr_time_from_sec(3600));
    DEFAULT(spam_keep, 20);
    DEFAULT(spam_window, apr_time_from_sec(3600));
    DEFAULT_PTR(region, "US");
    DEFAULT(max_file, 5 * 1024 * 1024);
    DEFAULT(max_files_total, 10 * 1024 * 1024);
    DEFAULT_PTR(allow_types, "image/jpeg image/png image/gif image/webp "
                             "image/heic application/pdf text/plain");
    DEFAULT(classifier, CLASSIFIER_BUILTIN);
    DEFAULT(llm_timeout, apr_time_from_sec(10));
}

static const char *set_flag(cmd_parms *cmd, void *dc, const char *arg)
{
    return cs_directive_error(cmd, cs_conf_parse_flag(cmd->pool, arg,
                                         &intake_sconf(cmd->server)->enabled));
}

static const char *set_size(cmd_parms *cmd, void *dc, const char *arg)
{
    intake_conf *c = intake_sconf(cmd->server);
    int which = (int)(intptr_t)cmd->info;
    apr_off_t *dst = which == 0 ? &c->max_body : which == 1 ? &c->max_file
                                                            : &c->max_files_total;
    return cs_directive_error(cmd, cs_conf_parse_size(cmd->pool, arg, 1024,
                                         256 * 1024 * 1024, dst));
}

static const char *set_duration(cmd_parms *cmd, void *dc, const char *arg)
{
    intake_conf *c = intake_sconf(cmd->server);
    int which = (int)(intptr_t)cmd->info;
    apr_interval_time_t *dst = which == 0 ? &c->min_fill
                               : which == 1 ? &c->token_max_age : &c->llm_timeout;
    return cs_directive_error(cmd, cs_conf_parse_duration(cmd->pool, arg, 0,
                                             apr_time_from_sec(30 * 86400), dst));
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

static const char *set_token_mode(cmd_parms *cmd, void *dc, const char *arg)
{
    intake_conf *c = intake_sconf(cmd->server);
    if (!strcasecmp(arg, "off")) c->token_mode = TOKEN_OFF;
    else if (!strcasecmp(arg, "optional")) c->token_mode = TOKEN_OPTIONAL;
    else if (!strcasecmp(arg, "require")) c->token_mode = TOKEN_REQUIRE;
    else return apr_psprintf(cmd->pool, "ConsultIntakeFormToken: expected Off, "
                             "Optional or Require, got '%s'", arg);
    return NULL;
}

static const char *set_honeypot(cmd_parms *cmd, void *dc, const char *arg)
{
    apr_size_t i, n = strlen(arg);
    if (!strcasecmp(arg, "none")) {
        intake_sconf(cmd->server)->honeypot = "";
        return NULL;
    }
    for (i = 0; i < n; i++) {
        if (!apr_isalnum(arg[i]) && arg[i] != '_' && arg[i] != '-') break;
    }
    if (n == 0 || n > 64 || i < n) {
        return apr_psprintf(cmd->pool, "ConsultIntakeHoneypot: expected a field "
                            "name of letters, digits, '_' or '-', or none; got '%s'", arg);
    }
    intake_sconf(cmd->server)->honeypot = arg;
    return NULL;
}

static const char *set_rate(cmd_parms *cmd, void *dc, const char *n, const char *w)
{
    intake_conf *c = intake_sconf(cmd->server);
    int per_client = (int)(intptr_t)cmd->info;
    const char *err;
    long v = 0;
    apr_interval_time_t window = 0;

    if ((err = cs_conf_parse_int(cmd->pool, n, 0, 1000000, &v))
        || (err = cs_conf_parse_duration(cmd->pool, w, apr_time_from_sec(1),
                                         apr_time_from_sec(86400), &window))) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": ", err,
                           " (usage: COUNT WINDOW, e.g. 20 10m; 0 disables)", NULL);
    }
    if (per_client == 2) { c->spam_keep = (int)v; c->spam_window = window; }
    else if (per_client) { c->client_limit = (int)v; c->client_window = window; }
    else { c->ip_limit = (int)v; c->ip_window = window; }
    return NULL;
}

static const char *add_origin(cmd_parms *cmd, void *dc, const char *arg)
{
    intake_conf *c = intake_sconf(cmd->server);
    apr_uri_t uri;

    /* An origin is scheme://host[:port] exactly, as browsers send it. */
    if (apr_uri_parse(cmd->pool, arg, &uri) != APR_SUCCESS || !uri.scheme
        || (strcmp(uri.scheme, "http") && strcmp(uri.scheme, "https"))
        || !uri.hostname || (uri.path && strcmp(uri.path, "")) || uri.query
        || uri.user || arg[strlen(arg) - 1] == '/') {
        return apr_psprintf(cmd->pool, "ConsultIntakeAllowOrigin: expected an "
                            "origin like https://www.example.com, got '%s'", arg);
    }
    if (!c->origins) {
        c->origins = apr_array_make(cmd->pool, 2, sizeof(const char *));
    }
    APR_ARRAY_PUSH(c->origins, const char *) = apr_pstrdup(cmd->pool, arg);
    return NULL;
}

static const char *set_region(cmd_parms *cmd, void *dc, const char *arg)
{
    if (!cs_phone_region_known(arg)) {
        return apr_psprintf(cmd->pool, "ConsultPhoneRegion: expected a country "
                            "code such as US, CA, MX, GB, ES; '%s' is not known", arg);
    }
    intake_sconf(cmd->server)->region = apr_pstrdup(cmd->pool, arg);
    return NULL;
}

static const char *set_allow_types(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *w, *list = arg;
    /* Each entry must look like type/subtype. */
    while (*(w = ap_getword_conf(cmd->temp_pool, &list))) {
        const char *slash = strchr(w, '/');
        if (!slash || slash == w || !slash[1] || strchr(slash + 1, '/')) {
            return apr_psprintf(cmd->pool, "ConsultIntakeAllowTypes: expected "
                                "media types like image/png application/pdf, "
                                "got '%s'", w);
        }
    }
    intake_sconf(cmd->server)->allow_types = apr_pstrdup(cmd->pool, arg);
    return NULL;
}

static const char *set_classifier(cmd_parms *cmd, void *dc, const char *arg)
{
    intake_conf *c = intake_sconf(cmd->server);
    if (!strcasecmp(arg, "builtin")) c->classifier = CLASSIFIER_BUILTIN;
    else if (!strcasecmp(arg, "llm")) c->classifier = CLASSIFIER_LLM;
    else return apr_psprintf(cmd->pool, "ConsultClassifier: expected builtin or "
                             "llm, got '%s'", arg);
    return NULL;
}

static const char *set_vertical(cmd_parms *cmd, void *dc, const char *arg)
{
    static const char *const names[] = CS_VERTICALS;
    const char *list = "";
    int i;

    if (cs_vertical_index(arg) >= 0) {
        intake_sconf(cmd->server)->vertical = arg;
        return NULL;
    }
    for (i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++) {
        list = apr_pstrcat(cmd->pool, list, i ? ", " : "", names[i], NULL);
    }
    return apr_psprintf(cmd->pool, "ConsultVertical: expected one of %s, got '%s'", list, arg);
}

static const char *set_llm(cmd_parms *cmd, void *dc, const char *arg)
{
    intake_conf *c = intake_sconf(cmd->server);
    int which = (int)(intptr_t)cmd->info;
    const char *err, *val = NULL;
    apr_size_t len = 0;

    if (which == 0) {
        if (strncmp(arg, "http://", 7) && strncmp(arg, "https://", 8)) {
            return apr_psprintf(cmd->pool, "ConsultLLMEndpoint: expected an "
                                "http(s) base URL like https://api.example.com/v1, "
                                "got '%s'", arg);
        }
        c->llm_endpoint = arg;
    }
    else if (which == 1) {
        if ((err = cs_conf_secret(cmd->pool, arg, &val, &len))) {
            return cs_directive_error(cmd, err);
        }
        c->llm_key = val;
    }
    else {
        c->llm_model = arg;
    }
    return NULL;
}

const command_rec intake_cmds[] = {
    AP_INIT_TAKE1("ConsultIntake", set_flag, NULL, RSRC_CONF,
                  "On mounts POST " INTAKE_PATH " on this virtual host"),
    AP_INIT_TAKE1("ConsultIntakeMaxBody", set_size, (void *)0, RSRC_CONF,
                  "largest form or JSON body, files aside (default 64k)"),
    AP_INIT_TAKE1("ConsultIntakeMaxFileSize", set_size, (void *)1, RSRC_CONF,
                  "largest attached file (default 5M)"),
    AP_INIT_TAKE1("ConsultIntakeMaxFilesTotal", set_size, (void *)2, RSRC_CONF,
                  "all attached files together (default 10M)"),
    AP_INIT_RAW_ARGS("ConsultIntakeAllowTypes", set_allow_types, NULL, RSRC_CONF,
                  "attachment types accepted, checked on the bytes "
                  "(default: common images, PDF, plain text)"),
    AP_INIT_TAKE1("ConsultIntakeThankYou", set_thank_you, NULL, RSRC_CONF,
                  "page a browser form post is sent to (default /thanks.html)"),
    AP_INIT_TAKE1("ConsultIntakeFormToken", set_token_mode, NULL, RSRC_CONF,
                  "Off, Optional (default) or Require a signed form token"),
    AP_INIT_TAKE1("ConsultIntakeMinFillTime", set_duration, (void *)0, RSRC_CONF,
                  "a form posted sooner after it was served is spam (default 3s)"),
    AP_INIT_TAKE1("ConsultIntakeTokenMaxAge", set_duration, (void *)1, RSRC_CONF,
                  "a form token older than this is spam (default 24h)"),
    AP_INIT_TAKE1("ConsultIntakeHoneypot", set_honeypot, NULL, RSRC_CONF,
                  "hidden field that only bots fill (default website; none)"),
    AP_INIT_TAKE2("ConsultIntakeRateLimit", set_rate, (void *)0, RSRC_CONF,
                  "posts per client IP per window (default 20 10m)"),
    AP_INIT_TAKE2("ConsultIntakeClientRateLimit", set_rate, (void *)1, RSRC_CONF,
                  "posts per client (tenant) per window (default 1000 1h)"),
    AP_INIT_TAKE2("ConsultIntakeSpamKeep", set_rate, (void *)2, RSRC_CONF,
                  "bot posts (the honeypot filled) stored per client per window; "
                  "past it they are counted only (default 20 1h; 0 stores all)"),
    AP_INIT_ITERATE("ConsultIntakeAllowOrigin", add_origin, NULL, RSRC_CONF,
                    "origins allowed to post cross-site (CORS)"),
    AP_INIT_TAKE1("ConsultPhoneRegion", set_region, NULL, RSRC_CONF,
                  "region for national phone numbers (default US)"),
    AP_INIT_TAKE1("ConsultClassifier", set_classifier, NULL, RSRC_CONF,
                  "builtin (default) or llm"),
    AP_INIT_TAKE1("ConsultVertical", set_vertical, NULL, RSRC_CONF,
                  "the client's kind of business, for the builtin classifier"),
    AP_INIT_TAKE1("ConsultLLMEndpoint", set_llm, (void *)0, RSRC_CONF,
                  "OpenAI-compatible API base URL (…/v1)"),
    AP_INIT_TAKE1("ConsultLLMKey", set_llm, (void *)1, RSRC_CONF,
                  "API key: env:NAME, file:PATH or the value"),
    AP_INIT_TAKE1("ConsultLLMModel", set_llm, (void *)2, RSRC_CONF,
                  "model name sent to the endpoint"),
    AP_INIT_TAKE1("ConsultLLMTimeout", set_duration, (void *)2, RSRC_CONF,
                  "LLM answer deadline before falling back (default 10s)"),
    { NULL }
};

static void retrieve_core(void)
{
    cs_core_retrieve(&intake_core);
}

/* slug -> ConsultPhoneRegion, from the vhosts that bind a client and set a
 * region (their own or the main server's); built at check_config. */
static apr_hash_t *phone_regions;

/* The optional function cs_phone_region: how the dashboard reads a
 * national number typed for a client, as that client's forms read it. */
static const char *cs_phone_region(const char *slug)
{
    const char *region = slug && phone_regions
                         ? apr_hash_get(phone_regions, slug, APR_HASH_KEY_STRING) : NULL;
    return region ? region : "US";
}

static int check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                        server_rec *s)
{
    server_rec *v;

    /* check_config runs before the optional_fn_retrieve hook (and alone
     * under `apachectl -t`), so look core up here as well. */
    if (!cs_core_retrieve(&intake_core)) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s, CSLOGNO(02001)
                     "mod_consult_intake needs mod_consult_core: LoadModule "
                     "consult_core_module before consult_intake_module");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    phone_regions = apr_hash_make(pconf);
    for (v = s; v; v = v->next) {
        intake_conf *c = intake_sconf(v);
        const char *slug = intake_core.client_slug(v), *had;
        if (slug && c->region) {
            /* One region per client: the first vhost's, as configured. */
            if (!(had = apr_hash_get(phone_regions, slug, APR_HASH_KEY_STRING))) {
                apr_hash_set(phone_regions, slug, APR_HASH_KEY_STRING, c->region);
            }
            else if (strcmp(had, c->region)) {
                ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_WARNING, 0, v, CSLOGNO(02005)
                             "ConsultPhoneRegion %s (%s:%d) differs from %s set for "
                             "client %s on another virtual host: the dashboard reads "
                             "its numbers as %s", c->region,
                             v->defn_name ? v->defn_name : "?", v->defn_line_number,
                             had, slug, had);
            }
        }
        resolve(c);
        if (c->enabled == 1 && !intake_core.client_slug(v)) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_WARNING, 0, v,
                         CSLOGNO(02002) "ConsultIntake On in virtual host %s "
                         "(%s:%d) without ConsultClient: %s answers 404 there",
                         v->server_hostname ? v->server_hostname : "?",
                         v->defn_name ? v->defn_name : "?", v->defn_line_number,
                         INTAKE_PATH);
        }
        if (c->classifier == CLASSIFIER_LLM && (!c->llm_endpoint || !c->llm_model)) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, v,
                         CSLOGNO(02003) "ConsultClassifier llm (%s:%d) needs "
                         "ConsultLLMEndpoint and ConsultLLMModel",
                         v->defn_name ? v->defn_name : "?", v->defn_line_number);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    return OK;
}

static int post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                       server_rec *s)
{
    intake_jobs_post_config(pconf, s);
    return OK;
}

/* libmagic's database is loaded by the first post with a file, not at
 * child start: most processes never see an attachment, and each load is
 * about a megabyte resident. */
static apr_thread_once_t *sniffer_once;
static apr_pool_t *sniffer_pool;
static server_rec *sniffer_server;

static void load_sniffer(void)
{
    const char *err = NULL;

    if (cs_sniffer_create(&intake_sniffer, sniffer_pool, &err) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, sniffer_server, CSLOGNO(02004)
                     "cannot load libmagic (attachments are refused): %s", err);
        intake_sniffer = NULL;
    }
}

cs_sniffer_t *intake_sniffer_get(void)
{
    if (sniffer_once) {
        apr_thread_once(sniffer_once, load_sniffer);
    }
    return intake_sniffer;
}

static void child_init(apr_pool_t *p, server_rec *s)
{
    server_rec *v;

    cs_http_global_init();
    sniffer_once = NULL;
    for (v = s; v; v = v->next) {
        if (intake_sconf(v)->enabled == 1) {
            sniffer_server = s;
            if (apr_pool_create(&sniffer_pool, p) != APR_SUCCESS
                || apr_thread_once_init(&sniffer_once, p) != APR_SUCCESS) {
                sniffer_once = NULL;    /* then attachments are refused */
            }
            break;
        }
    }
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
    APR_REGISTER_OPTIONAL_FN(cs_phone_region);
    ap_hook_optional_fn_retrieve(retrieve_core, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_map_to_storage(map_to_storage, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(intake_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_insert_filter(intake_insert_token_filter, NULL, NULL, APR_HOOK_MIDDLE);
    intake_register_filter();
    intake_register_token_filter();
    CS_REGISTER_JOB_HANDLER(intake_run_job);
    CS_REGISTER_WORKER_DRAIN(intake_drain);
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
