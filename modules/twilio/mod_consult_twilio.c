/*
 * mod_consult_twilio: SMS and voicemail through Twilio for a client vhost
 * (`ConsultTwilio On`): signed webhooks into core's inbound journal, the
 * twilio.event job that processes them, and the twilio.sms.send job out.
 */
#include "twilio_private.h"
#include "base/cs_conf.h"
#include "text/cs_text.h"

#include "http_request.h"
#include <apr_strings.h>
#include <apr_hash.h>
#include <apr_lib.h>

cs_core_t twilio_core;
static apr_hash_t *by_slug;
static apr_hash_t *zone_by_slug;     /* ConsultTimeZone of every client vhost */

#define UNSET (-1)

twilio_conf *twilio_sconf(server_rec *s)
{
    return ap_get_module_config(s->module_config, &consult_twilio_module);
}

static void *create_server(apr_pool_t *p, server_rec *s)
{
    twilio_conf *c = apr_pcalloc(p, sizeof(*c));
    c->enabled = UNSET;
    c->timeout = UNSET;
    return c;
}

#define MERGE_PTR(f) c->f = add->f ? add->f : base->f
static void *merge_server(apr_pool_t *p, void *basev, void *addv)
{
    twilio_conf *base = basev, *add = addv, *c = apr_pcalloc(p, sizeof(*c));
    c->enabled = add->enabled != UNSET ? add->enabled : base->enabled;
    c->timeout = add->timeout != UNSET ? add->timeout : base->timeout;
    MERGE_PTR(account_sid);
    MERGE_PTR(auth_token);
    MERGE_PTR(number);
    MERGE_PTR(public_url);
    MERGE_PTR(api_base);
    MERGE_PTR(greeting);
    MERGE_PTR(missed_call_text);
    MERGE_PTR(hours_spec);
    MERGE_PTR(holidays);
    MERGE_PTR(time_zone);
    MERGE_PTR(after_hours_reply);
    return c;
}

static const char *set_flag(cmd_parms *cmd, void *dc, const char *arg)
{
    return cs_directive_error(cmd, cs_conf_parse_flag(cmd->pool, arg, &twilio_sconf(cmd->server)->enabled));
}

static const char *set_str(cmd_parms *cmd, void *dc, const char *arg)
{
    twilio_conf *c = twilio_sconf(cmd->server);
    const char *val = NULL, *err;
    apr_size_t len = 0;

    switch ((int)(intptr_t)cmd->info) {
    case 0:
        if (strncmp(arg, "AC", 2) || strlen(arg) != 34) {
            return apr_psprintf(cmd->pool, "ConsultTwilioAccountSid: expected AC "
                                "followed by 32 characters, got '%s'", arg);
        }
        c->account_sid = arg;
        break;
    case 1:
        if ((err = cs_conf_secret(cmd->pool, arg, &val, &len))) {
            return cs_directive_error(cmd, err);
        }
        c->auth_token = val;
        break;
    case 2:
        if (cs_phone_e164(cmd->pool, arg, "US", &val) != APR_SUCCESS || arg[0] != '+') {
            return apr_psprintf(cmd->pool, "ConsultTwilioNumber: expected an E.164 "
                                "number like +15035550142, got '%s'", arg);
        }
        c->number = val;
        break;
    case 3:
    case 4:
        if ((strncmp(arg, "http://", 7) && strncmp(arg, "https://", 8))
            || arg[strlen(arg) - 1] == '/') {
            return apr_psprintf(cmd->pool, "%s: expected a URL like https://example.com "
                                "(no trailing slash), got '%s'", cmd->cmd->name, arg);
        }
        if ((int)(intptr_t)cmd->info == 3) c->public_url = arg; else c->api_base = arg;
        break;
    case 5:
        c->greeting = arg;
        break;
    default:
        c->missed_call_text = arg;
        break;
    }
    return NULL;
}

static const char *set_timeout(cmd_parms *cmd, void *dc, const char *arg)
{
    return cs_directive_error(cmd, cs_conf_parse_duration(cmd->pool, arg, apr_time_from_msec(100),
                                             apr_time_from_sec(120),
                                             &twilio_sconf(cmd->server)->timeout));
}

static const char *add_hours(cmd_parms *cmd, void *dc, const char *arg)
{
    twilio_conf *c = twilio_sconf(cmd->server);
    apr_array_header_t *one = apr_array_make(cmd->temp_pool, 1, sizeof(const char *));
    cs_hours_t *h = NULL;
    const char *err = NULL;

    /* Each entry is checked on its own so the error names it. */
    APR_ARRAY_PUSH(one, const char *) = arg;
    if (cs_hours_parse(&h, cmd->temp_pool, one, &err) != APR_SUCCESS) {
        return apr_pstrcat(cmd->pool, "ConsultBusinessHours: ", err, NULL);
    }
    if (!c->hours_spec) c->hours_spec = apr_array_make(cmd->pool, 4, sizeof(const char *));
    APR_ARRAY_PUSH(c->hours_spec, const char *) = arg;
    return NULL;
}

static const char *add_holiday(cmd_parms *cmd, void *dc, const char *arg)
{
    twilio_conf *c = twilio_sconf(cmd->server);
    apr_array_header_t *none = apr_array_make(cmd->temp_pool, 1, sizeof(const char *));
    cs_hours_t *h = NULL;
    const char *err = NULL;

    if (cs_hours_parse(&h, cmd->temp_pool, none, &err) != APR_SUCCESS
        || cs_hours_add_holiday(h, arg, &err) != APR_SUCCESS) {
        return apr_pstrcat(cmd->pool, "ConsultHoliday: ", err ? err : "bad date", NULL);
    }
    if (!c->holidays) c->holidays = apr_array_make(cmd->pool, 4, sizeof(const char *));
    APR_ARRAY_PUSH(c->holidays, const char *) = arg;
    return NULL;
}

static const char *set_tz(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *ch;
    /* An IANA name (Area/City) or UTC; Postgres resolves it. */
    for (ch = arg; *ch; ch++) {
        if (!apr_isalnum(*ch) && !strchr("/_+-", *ch)) break;
    }
    if (!*arg || *ch || strlen(arg) > 64) {
        return apr_psprintf(cmd->pool, "ConsultTimeZone: expected a time zone name like "
                            "America/Los_Angeles, got '%s'", arg);
    }
    twilio_sconf(cmd->server)->time_zone = arg;
    return NULL;
}

static const char *set_after_hours(cmd_parms *cmd, void *dc, const char *arg)
{
    twilio_sconf(cmd->server)->after_hours_reply = arg;
    return NULL;
}

static const command_rec cmds[] = {
    AP_INIT_TAKE1("ConsultTwilio", set_flag, NULL, RSRC_CONF,
                  "On mounts /twilio/* webhooks and enables SMS replies"),
    AP_INIT_TAKE1("ConsultTwilioAccountSid", set_str, (void *)0, RSRC_CONF, "AC..."),
    AP_INIT_TAKE1("ConsultTwilioAuthToken", set_str, (void *)1, RSRC_CONF,
                  "auth token: env:NAME, file:PATH or the value"),
    AP_INIT_TAKE1("ConsultTwilioNumber", set_str, (void *)2, RSRC_CONF,
                  "the client's Twilio number, E.164"),
    AP_INIT_TAKE1("ConsultTwilioPublicURL", set_str, (void *)3, RSRC_CONF,
                  "scheme://host[:port] Twilio calls for this vhost (required with ConsultTwilio On)"),
    AP_INIT_TAKE1("ConsultTwilioAPIBase", set_str, (void *)4, RSRC_CONF,
                  "Twilio REST base URL (default https://api.twilio.com)"),
    AP_INIT_TAKE1("ConsultTwilioGreeting", set_str, (void *)5, RSRC_CONF,
                  "what callers hear before leaving a voicemail"),
    AP_INIT_TAKE1("ConsultTwilioMissedCallText", set_str, (void *)6, RSRC_CONF,
                  "SMS sent to a caller after a missed call (default: none)"),
    AP_INIT_TAKE1("ConsultTwilioTimeout", set_timeout, NULL, RSRC_CONF,
                  "deadline of a call to Twilio's API (default 10s)"),
    AP_INIT_ITERATE("ConsultBusinessHours", add_hours, NULL, RSRC_CONF,
                    "weekly hours, e.g. \"Mon-Fri 08:00-17:00\" \"Sat 09:00-13:00\""),
    AP_INIT_ITERATE("ConsultHoliday", add_holiday, NULL, RSRC_CONF,
                    "closed dates, YYYY-MM-DD"),
    AP_INIT_TAKE1("ConsultTimeZone", set_tz, NULL, RSRC_CONF,
                  "the client's time zone (default UTC)"),
    AP_INIT_TAKE1("ConsultAfterHoursReply", set_after_hours, NULL, RSRC_CONF,
                  "SMS auto-reply outside business hours, once per conversation per evening"),
    { NULL }
};

const twilio_conf *twilio_conf_for_slug(const char *slug)
{
    return slug && by_slug ? apr_hash_get(by_slug, slug, APR_HASH_KEY_STRING) : NULL;
}

/* Exported so the dashboard can tell whether SMS is possible for a client. */
static int cs_twilio_enabled(const char *slug)
{
    return twilio_conf_for_slug(slug) != NULL;
}

/* ConsultTimeZone is this module's directive, but a client's zone is not
 * only for texts: bookings (mod_consult_integrations) are shown in it. */
static const char *cs_client_time_zone(const char *slug)
{
    const char *tz = slug && zone_by_slug ? apr_hash_get(zone_by_slug, slug, APR_HASH_KEY_STRING)
                                          : NULL;
    return tz ? tz : "UTC";
}

static int check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                        server_rec *s)
{
    server_rec *v;
    int have_core = cs_core_retrieve(&twilio_core);

    by_slug = apr_hash_make(pconf);
    zone_by_slug = apr_hash_make(pconf);
    for (v = s; v; v = v->next) {
        twilio_conf *c = twilio_sconf(v);
        const char *slug;
        if (have_core && c->time_zone && (slug = twilio_core.client_slug(v))
            && !apr_hash_get(zone_by_slug, slug, APR_HASH_KEY_STRING)) {
            apr_hash_set(zone_by_slug, slug, APR_HASH_KEY_STRING, c->time_zone);
        }
        if (c->enabled != 1) {
            continue;
        }
        if (!have_core) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s, CSLOGNO(04001)
                         "mod_consult_twilio needs mod_consult_core loaded first");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (!c->account_sid || !c->auth_token || !c->number) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, v, CSLOGNO(04002)
                         "ConsultTwilio On (%s:%d) needs ConsultTwilioAccountSid, "
                         "ConsultTwilioAuthToken and ConsultTwilioNumber",
                         v->defn_name ? v->defn_name : "?", v->defn_line_number);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (!c->api_base) c->api_base = "https://api.twilio.com";
        if (!c->greeting) c->greeting = "Sorry we missed your call. Please leave a message after the beep.";
        if (c->timeout == UNSET) c->timeout = apr_time_from_sec(10);
        if (!c->time_zone) c->time_zone = "UTC";
        {
            /* A misspelt zone would fail every after-hours check in
             * Postgres; catch it here where the system has the zone list. */
            apr_finfo_t fi;
            if (strcmp(c->time_zone, "UTC")
                && apr_stat(&fi, "/usr/share/zoneinfo", APR_FINFO_TYPE, ptemp) == APR_SUCCESS
                && apr_stat(&fi, apr_pstrcat(ptemp, "/usr/share/zoneinfo/", c->time_zone, NULL),
                            APR_FINFO_TYPE, ptemp) != APR_SUCCESS) {
                ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, v, CSLOGNO(04004)
                             "ConsultTimeZone: '%s' is not a time zone this system knows "
                             "(expected a name like America/Chicago)", c->time_zone);
                return HTTP_INTERNAL_SERVER_ERROR;
            }
        }
        if (!c->public_url) {
            /* Twilio signs the URL it called. Behind a TLS-terminating
             * proxy that is not the URL this server sees, so without the
             * public one every webhook would be refused; and Twilio needs
             * it for the voicemail callbacks and delivery status. */
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, v, CSLOGNO(04006)
                         "ConsultTwilio On in vhost %s (%s:%d) needs ConsultTwilioPublicURL, "
                         "the scheme://host[:port] Twilio calls (its signatures cover that URL)",
                         v->server_hostname ? v->server_hostname : "?",
                         v->defn_name ? v->defn_name : "?", v->defn_line_number);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (c->after_hours_reply) {
            const char *err = NULL;
            int i;
            apr_array_header_t *spec = c->hours_spec ? c->hours_spec
                                       : apr_array_make(pconf, 1, sizeof(const char *));
            if (cs_hours_parse(&c->hours, pconf, spec, &err) != APR_SUCCESS) {
                ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, v, CSLOGNO(04003)
                             "ConsultBusinessHours: %s", err);
                return HTTP_INTERNAL_SERVER_ERROR;
            }
            for (i = 0; c->holidays && i < c->holidays->nelts; i++) {
                cs_hours_add_holiday(c->hours, APR_ARRAY_IDX(c->holidays, i, const char *), &err);
            }
        }
        if ((slug = twilio_core.client_slug(v))) {
            apr_hash_set(by_slug, slug, APR_HASH_KEY_STRING, c);
        }
    }
    return OK;
}

static void child_init(apr_pool_t *p, server_rec *s)
{
    cs_http_global_init();
}

static int map_to_storage(request_rec *r)
{
    if (twilio_sconf(r->server)->enabled == 1 && !strncmp(r->uri, "/twilio/", 8)) {
        return OK;
    }
    return DECLINED;
}

static void register_hooks(apr_pool_t *p)
{
    APR_REGISTER_OPTIONAL_FN(cs_twilio_enabled);
    APR_REGISTER_OPTIONAL_FN(cs_client_time_zone);
    ap_hook_check_config(check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_map_to_storage(map_to_storage, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(twilio_handler, NULL, NULL, APR_HOOK_MIDDLE);
    CS_REGISTER_JOB_HANDLER(twilio_run_job);
    CS_REGISTER_JOB_HANDLER(twilio_run_event);
}

AP_DECLARE_MODULE(consult_twilio) = {
    STANDARD20_MODULE_STUFF,
    NULL,
    NULL,
    create_server,
    merge_server,
    cmds,
    register_hooks,
    0
};
