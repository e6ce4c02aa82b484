/*
 * mod_consult_integrations: a client's Cal.com bookings and Jobber CRM.
 *
 *   POST /webhooks/calcom   Cal.com's signed deliveries (ConsultCalWebhookSecret)
 *   POST /webhooks/jobber   Jobber's signed deliveries (ConsultJobber On)
 *
 * plus the daily reconciliations that recover what lost webhooks missed
 * (jobber.reconcile; calcom.reconcile with ConsultCalAPIKey),
 *
 * and, for the dashboard (mod_consult_inbox), the optional functions that
 * describe a client's integrations and connect its Jobber account. Tokens
 * are sealed with AES-256-GCM under ConsultSecretKey (see integ_tokens.c).
 * Configuration and startup live here; the work in integ_*.c.
 */
#include "integ_private.h"
#include "base/cs_conf.h"

#include "http_protocol.h"
#include "http_request.h"
#include <apr_strings.h>
#include <apr_hash.h>
#include <apr_lib.h>

cs_core_t integ_core;
static apr_hash_t *by_slug;
/* ConsultSecretKey, server-wide: cs_seal_key_t, the first one seals. */
static apr_array_header_t *keyring;

#define UNSET (-1)

integ_conf *integ_sconf(server_rec *s)
{
    return ap_get_module_config(s->module_config, &consult_integrations_module);
}

integ_conf *integ_conf_for_slug(const char *slug)
{
    return slug && by_slug ? apr_hash_get(by_slug, slug, APR_HASH_KEY_STRING) : NULL;
}

const apr_array_header_t *integ_keyring(void)
{
    return keyring && keyring->nelts ? keyring : NULL;
}

static void *create_server(apr_pool_t *p, server_rec *s)
{
    integ_conf *c = apr_pcalloc(p, sizeof(*c));
    c->jobber = UNSET;
    c->app.timeout = UNSET;
    return c;
}

#define MERGE_PTR(f) c->f = add->f ? add->f : base->f
static void *merge_server(apr_pool_t *p, void *basev, void *addv)
{
    integ_conf *base = basev, *add = addv, *c = apr_pcalloc(p, sizeof(*c));
    MERGE_PTR(cal_link);
    MERGE_PTR(cal_origin);
    MERGE_PTR(cal_secret);
    MERGE_PTR(cal_api.api_key);
    MERGE_PTR(cal_api.api_base);
    MERGE_PTR(app.api_base);
    MERGE_PTR(app.client_id);
    MERGE_PTR(app.client_secret);
    MERGE_PTR(app.api_version);
    MERGE_PTR(jobber_webhook_secret);
    MERGE_PTR(public_url);
    MERGE_PTR(page_template);
    MERGE_PTR(auto_send);
    c->jobber = add->jobber != UNSET ? add->jobber : base->jobber;
    c->app.timeout = add->app.timeout != UNSET ? add->app.timeout : base->app.timeout;
    return c;
}

static int is_url(const char *arg)
{
    return (!strncmp(arg, "http://", 7) || !strncmp(arg, "https://", 8))
        && strlen(arg) > 8 && arg[strlen(arg) - 1] != '/' && !strpbrk(arg, " \t\r\n\"'<>");
}

enum { D_CAL_LINK, D_CAL_ORIGIN, D_CAL_SECRET, D_CLIENT_ID, D_CLIENT_SECRET, D_API_BASE,
       D_JOBBER_SECRET, D_PUBLIC_URL, D_API_VERSION, D_PAGE, D_CAL_API_BASE, D_CAL_API_KEY };

static const char *set_str(cmd_parms *cmd, void *dc, const char *arg)
{
    integ_conf *c = integ_sconf(cmd->server);
    const char *val = NULL, *err, *ch;
    apr_size_t len = 0;
    int which = (int)(intptr_t)cmd->info, slash = 0;

    switch (which) {
    case D_CAL_LINK:
        /* Cal.com's "user/event" (or "team/x/event"): it goes into the page
         * and a URL, so only the characters Cal.com's slugs use. */
        for (ch = arg; *ch; ch++) {
            if (*ch == '/') slash++;
            else if (!apr_isalnum(*ch) && !strchr("-_.", *ch)) break;
        }
        if (*ch || !slash || arg[0] == '/' || arg[strlen(arg) - 1] == '/' || strlen(arg) > 200) {
            return apr_psprintf(cmd->pool, "ConsultCalLink: expected a Cal.com link like "
                                "haul-away/free-estimate, got '%s'", arg);
        }
        c->cal_link = arg;
        return NULL;
    case D_CAL_ORIGIN: case D_API_BASE: case D_PUBLIC_URL: case D_CAL_API_BASE:
        if (!is_url(arg)) {
            return apr_psprintf(cmd->pool, "%s: expected a URL like https://example.com "
                                "(no trailing slash), got '%s'", cmd->cmd->name, arg);
        }
        if (which == D_CAL_ORIGIN) c->cal_origin = arg;
        else if (which == D_API_BASE) c->app.api_base = arg;
        else if (which == D_CAL_API_BASE) c->cal_api.api_base = arg;
        else c->public_url = arg;
        return NULL;
    case D_CLIENT_ID:
        if (!*arg || strlen(arg) > 200 || strpbrk(arg, " \t\r\n&#?")) {
            return apr_psprintf(cmd->pool, "ConsultJobberClientId: expected the app's client "
                                "id, got '%s'", arg);
        }
        c->app.client_id = arg;
        return NULL;
    case D_PAGE:
        if (!*arg || !(val = ap_server_root_relative(cmd->pool, arg))) {
            return apr_psprintf(cmd->pool, "ConsultCalPageTemplate: expected a path, got '%s'", arg);
        }
        c->page_template = val;
        return NULL;
    case D_API_VERSION:
        if (strlen(arg) != 10 || !apr_isdigit(arg[0]) || arg[4] != '-' || arg[7] != '-') {
            return apr_psprintf(cmd->pool, "ConsultJobberAPIVersion: expected a date like "
                                "2025-04-16, got '%s'", arg);
        }
        c->app.api_version = arg;
        return NULL;
    default:
        if ((err = cs_conf_secret(cmd->pool, arg, &val, &len))) {
            return cs_directive_error(cmd, err);
        }
        if (len < 8) {
            return apr_pstrcat(cmd->pool, cmd->cmd->name, ": the secret is empty or shorter "
                               "than 8 bytes", NULL);
        }
        if (which == D_CAL_SECRET) c->cal_secret = val;
        else if (which == D_CAL_API_KEY) c->cal_api.api_key = val;
        else if (which == D_CLIENT_SECRET) c->app.client_secret = val;
        else c->jobber_webhook_secret = val;
        return NULL;
    }
}

static const char *set_jobber(cmd_parms *cmd, void *dc, const char *arg)
{
    return cs_directive_error(cmd, cs_conf_parse_flag(cmd->pool, arg,
                                                      &integ_sconf(cmd->server)->jobber));
}

/* The intents the classifier gives (messages.intent), but spam. */
static const char *const INTENTS[] = { "quote_request", "booking_request", "question",
    "complaint", "order_issue", "job_inquiry", "other", NULL };

static const char *set_auto_send(cmd_parms *cmd, void *dc, const char *args)
{
    const char *word, *list = "";
    int i;

    while (*(word = ap_getword_conf(cmd->temp_pool, &args))) {
        for (i = 0; INTENTS[i] && strcmp(INTENTS[i], word); i++) {
        }
        if (!INTENTS[i]) {
            return apr_psprintf(cmd->pool, "ConsultJobberAutoSend: expected intents among "
                                "quote_request, booking_request, question, complaint, "
                                "order_issue, job_inquiry, other, got '%s'", word);
        }
        list = apr_pstrcat(cmd->pool, list, *list ? "," : "", word, NULL);
    }
    if (!*list) {
        return "ConsultJobberAutoSend: expected at least one intent, e.g. quote_request";
    }
    integ_sconf(cmd->server)->auto_send = apr_pstrcat(cmd->pool, "{", list, "}", NULL);
    return NULL;
}

static const char *set_timeout(cmd_parms *cmd, void *dc, const char *arg)
{
    return cs_directive_error(cmd, cs_conf_parse_duration(cmd->pool, arg,
        apr_time_from_msec(100), apr_time_from_sec(120), &integ_sconf(cmd->server)->app.timeout));
}

/* "ConsultSecretKey ID env:NAME|file:PATH": 32 bytes, as 64 hex digits or
 * base64. Repeatable; the first seals, every one opens (rotation). */
static const char *set_key(cmd_parms *cmd, void *dc, const char *id, const char *spec)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY), *val = NULL, *ch;
    apr_size_t len = 0, n = 0;
    unsigned char *raw = NULL;
    cs_seal_key_t *k;
    int i;

    if (err) {
        return err;
    }
    for (ch = id; *ch && (apr_isalnum(*ch) || *ch == '-' || *ch == '_'); ch++) {
    }
    if (!*id || *ch || strlen(id) > CS_SEAL_KEY_ID_MAX) {
        return apr_psprintf(cmd->pool, "ConsultSecretKey: expected a key id (1 to %d of "
                            "A-Z, a-z, 0-9, '-', '_') before the key, got '%s'",
                            CS_SEAL_KEY_ID_MAX, id);
    }
    if (strncmp(spec, "env:", 4) && strncmp(spec, "file:", 5)) {
        return "ConsultSecretKey: the key must come from env:NAME or file:PATH, never "
               "sit in the configuration";
    }
    if ((err = cs_conf_secret(cmd->pool, spec, &val, &len))) {
        return cs_directive_error(cmd, err);
    }
    if (!keyring) {
        keyring = apr_array_make(cmd->pool, 2, sizeof(cs_seal_key_t));
    }
    for (i = 0; i < keyring->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(keyring, i, cs_seal_key_t).key_id, id)) {
            return apr_psprintf(cmd->pool, "ConsultSecretKey: key id '%s' is given twice", id);
        }
    }
    k = apr_array_push(keyring);
    k->key_id = id;
    if (len == 2 * CS_AES256_KEY_LEN
        && cs_hex_decode(k->key, CS_AES256_KEY_LEN, val, len) == APR_SUCCESS) {
        return NULL;
    }
    if (cs_base64_decode(&raw, &n, cmd->temp_pool, val, len) == APR_SUCCESS
        && n == CS_AES256_KEY_LEN) {
        memcpy(k->key, raw, n);
        cs_cleanse(raw, n);
        return NULL;
    }
    keyring->nelts--;
    return apr_psprintf(cmd->pool, "ConsultSecretKey %s: expected 32 random bytes as 64 hex "
                        "digits or base64 (openssl rand -base64 32)", id);
}

#define STR(name, which, help) \
    AP_INIT_TAKE1(name, set_str, (void *)(intptr_t)(which), RSRC_CONF, help)
static const command_rec cmds[] = {
    STR("ConsultCalLink", D_CAL_LINK, "the client's Cal.com link, user/event"),
    STR("ConsultCalOrigin", D_CAL_ORIGIN, "a self-hosted Cal.com's URL (default https://app.cal.com)"),
    STR("ConsultCalPageTemplate", D_PAGE, "the template of GET /book, the booking page"),
    STR("ConsultCalWebhookSecret", D_CAL_SECRET,
        "the Cal.com webhook's secret: env:NAME, file:PATH or the value"),
    STR("ConsultCalAPIKey", D_CAL_API_KEY, "the client's Cal.com API key, for the daily "
        "reconciliation of bookings: env:NAME, file:PATH or the value"),
    STR("ConsultCalAPIBase", D_CAL_API_BASE, "Cal.com's API base URL (default "
        CS_CALCOM_API_BASE "; a self-hosted Cal.com's, or a stand-in)"),
    AP_INIT_TAKE1("ConsultJobber", set_jobber, NULL, RSRC_CONF,
                  "On: the client can connect Jobber; POST /webhooks/jobber"),
    STR("ConsultJobberClientId", D_CLIENT_ID, "the Jobber app's client id"),
    STR("ConsultJobberClientSecret", D_CLIENT_SECRET,
        "the Jobber app's client secret: env:NAME, file:PATH or the value"),
    STR("ConsultJobberAPIBase", D_API_BASE, "Jobber's API base URL (default "
        CS_JOBBER_API_BASE "; tests point it at a fake)"),
    STR("ConsultJobberAPIVersion", D_API_VERSION, "X-JOBBER-GRAPHQL-VERSION (default "
        CS_JOBBER_API_VERSION ")"),
    STR("ConsultJobberWebhookSecret", D_JOBBER_SECRET,
        "the key Jobber signs webhooks with (default: the client secret, as Jobber does)"),
    AP_INIT_RAW_ARGS("ConsultJobberAutoSend", set_auto_send, NULL, RSRC_CONF,
                     "intents whose messages go to Jobber without staff, e.g. quote_request"),
    AP_INIT_TAKE1("ConsultJobberTimeout", set_timeout, NULL, RSRC_CONF,
                  "deadline of a Jobber API call (default 10s)"),
    STR("ConsultIntegrationsPublicURL", D_PUBLIC_URL, "the client vhost's public "
        "scheme://host[:port], for the webhook URLs the dashboard shows"),
    AP_INIT_TAKE2("ConsultSecretKey", set_key, NULL, RSRC_CONF,
                  "ID env:NAME|file:PATH: an AES-256 key sealing tokens at rest; the first "
                  "seals, every one listed opens (rotation)"),
    { NULL }
};

/* The keyring is read anew with every configuration (a restart re-reads
 * it into a fresh pconf). */
static int pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    keyring = NULL;
    return OK;
}

static int fail(server_rec *v, const char *what)
{
    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, v, CSLOGNO(07001) "%s (%s:%d)",
                 what, v->defn_name ? v->defn_name : "?", v->defn_line_number);
    return HTTP_INTERNAL_SERVER_ERROR;
}

static int check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                        server_rec *s)
{
    server_rec *v;
    int have_core = cs_core_retrieve(&integ_core);

    by_slug = apr_hash_make(pconf);
    for (v = s; v; v = v->next) {
        integ_conf *c = integ_sconf(v);
        if (c->jobber != 1 && !c->cal_link && !c->cal_secret && !c->cal_api.api_key) {
            continue;
        }
        if (!have_core) {
            return fail(s, "mod_consult_integrations needs mod_consult_core loaded first");
        }
        if (!(c->slug = integ_core.client_slug(v))) {
            if (v == s) {
                continue;       /* the main server only gives vhosts their defaults */
            }
            return fail(v, "ConsultCalLink, ConsultCalWebhookSecret, ConsultCalAPIKey and "
                        "ConsultJobber need ConsultClient on the same vhost");
        }
        if (c->jobber == 1) {
            if (!c->app.client_id || !c->app.client_secret) {
                return fail(v, "ConsultJobber On needs ConsultJobberClientId and "
                            "ConsultJobberClientSecret");
            }
            if (!integ_keyring()) {
                return fail(v, "ConsultJobber On needs ConsultSecretKey (its tokens are "
                            "stored encrypted)");
            }
        }
        if (c->page_template && !c->cal_link) {
            return fail(v, "ConsultCalPageTemplate needs ConsultCalLink");
        }
        if (integ_book_load(c, pconf, ptemp, v) != OK) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (c->app.timeout == UNSET) c->app.timeout = apr_time_from_sec(10);
        /* ConsultJobberTimeout bounds a call to either provider */
        c->cal_api.timeout = c->app.timeout;
        if (!c->public_url) {
            c->public_url = apr_pstrcat(pconf, "https://", v->server_hostname, NULL);
        }
        if (integ_conf_for_slug(c->slug)) {
            return fail(v, apr_psprintf(ptemp, "client '%s' already has its integrations on "
                                        "another vhost", c->slug));
        }
        apr_hash_set(by_slug, c->slug, APR_HASH_KEY_STRING, c);
    }
    return OK;
}

/* ---- what the dashboard asks ------------------------------------------ */

static const cs_integrations_info_t *cs_integrations_info(apr_pool_t *p, const char *slug)
{
    integ_conf *c = integ_conf_for_slug(slug);
    cs_integrations_info_t *i;

    if (!c) {
        return NULL;
    }
    i = apr_pcalloc(p, sizeof(*i));
    i->cal_link = c->cal_link;
    i->cal_origin = c->cal_origin ? c->cal_origin : INTEG_CAL_ORIGIN;
    if (c->cal_secret) {
        i->calcom_webhook_url = apr_pstrcat(p, c->public_url, INTEG_PATH_CALCOM, NULL);
        i->calcom_secret = c->cal_secret;
    }
    i->jobber = c->jobber == 1;
    if (i->jobber) {
        i->jobber_webhook_url = apr_pstrcat(p, c->public_url, INTEG_PATH_JOBBER, NULL);
    }
    return i;
}

static const char *cs_jobber_authorize_url(apr_pool_t *p, const char *slug,
                                           const char *redirect_uri, const char *state)
{
    integ_conf *c = integ_conf_for_slug(slug);
    return c && c->jobber == 1 ? cs_jobber_build_authorize_url(p, &c->app, redirect_uri, state)
                               : NULL;
}

static apr_status_t cs_jobber_connect(request_rec *r, PGconn *conn, const char *client_id,
                                      const char *slug, const char *user_id, const char *code,
                                      const char *redirect_uri, const char **perr)
{
    return integ_jobber_connect(r, conn, client_id, slug, user_id, code, redirect_uri, perr);
}

/* ---- requests ----------------------------------------------------------- */

static int is_ours(request_rec *r, integ_conf *c)
{
    return c->slug && ((c->tmpl && !strcmp(r->uri, INTEG_PATH_BOOK))
                       || (c->cal_link && !strcmp(r->uri, INTEG_PATH_BOOK_JSON))
                       || (c->cal_secret && !strcmp(r->uri, INTEG_PATH_CALCOM))
                       || (c->jobber == 1 && !strcmp(r->uri, INTEG_PATH_JOBBER))
                       || (c->jobber == 1 && integ_photo_is_path(r->uri)));
}

static int map_to_storage(request_rec *r)
{
    return is_ours(r, integ_sconf(r->server)) ? OK : DECLINED;
}

static int handler(request_rec *r)
{
    integ_conf *c = integ_sconf(r->server);

    if (!is_ours(r, c)) {
        return DECLINED;
    }
    if (!strcmp(r->uri, INTEG_PATH_BOOK)) {
        return integ_book_page(r, c);
    }
    if (!strcmp(r->uri, INTEG_PATH_BOOK_JSON)) {
        return integ_book_json(r, c);
    }
    if (integ_photo_is_path(r->uri)) {
        return integ_photo(r, c);
    }
    if (r->method_number != M_POST) {
        apr_table_setn(r->headers_out, "Allow", "POST");
        return integ_core.send_error(r, HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                                     "use POST");
    }
    return !strcmp(r->uri, INTEG_PATH_CALCOM) ? integ_calcom_webhook(r, c)
                                              : integ_jobber_webhook(r, c);
}

static void child_init(apr_pool_t *p, server_rec *s)
{
    cs_http_global_init();
}

static int run_job(cs_job_t *job)
{
    if (!strcmp(job->kind, INTEG_JOB_CALCOM)) {
        return integ_calcom_job(job);
    }
    if (!strcmp(job->kind, INTEG_JOB_CAL_RECONCILE)) {
        return integ_cal_reconcile_job(job);
    }
    return integ_jobber_job(job);
}

static void register_hooks(apr_pool_t *p)
{
    APR_REGISTER_OPTIONAL_FN(cs_integrations_info);
    APR_REGISTER_OPTIONAL_FN(cs_jobber_authorize_url);
    APR_REGISTER_OPTIONAL_FN(cs_jobber_connect);
    ap_hook_pre_config(pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_map_to_storage(map_to_storage, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(handler, NULL, NULL, APR_HOOK_MIDDLE);
    CS_REGISTER_JOB_HANDLER(run_job);
    CS_REGISTER_HEALTH(integ_health);
    CS_REGISTER_WORKER_START(integ_worker_start);
}

AP_DECLARE_MODULE(consult_integrations) = {
    STANDARD20_MODULE_STUFF,
    NULL,
    NULL,
    create_server,
    merge_server,
    cmds,
    register_hooks,
    0
};
