/*
 * mod_consult_email: email through Resend for a client vhost
 * (`ConsultEmail On`): staff replies by email (the email.send job) and
 * new-message notifications to the client's staff (notification.send).
 * Every request carries an Idempotency-Key derived from our own row id,
 * so a retried job never sends a second email (Resend keeps keys 24 h).
 */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "mod_consult_core.h"
#include "base/cs_conf.h"
#include "db/cs_db.h"
#include "http/cs_http.h"
#include "base/cs_json.h"
#include "providers/cs_resend.h"
#include "text/cs_text.h"

#include <apr_strings.h>
#include <apr_hash.h>

#define CSLOGNO(n) "CS" #n ": "
#define UNSET (-1)

APLOG_USE_MODULE(consult_email);

typedef struct {
    int enabled;
    const char *key;          /* resolved secret */
    const char *from;         /* "Name <addr>" */
    const char *reply_to;
    const char *api_base;
    apr_interval_time_t timeout;
} email_conf;

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

static int fail(cs_job_t *job, int permanent, const char *why)
{
    job->error = why;
    job->permanent = permanent;
    return HTTP_SERVICE_UNAVAILABLE;
}

static const char *html_of(apr_pool_t *p, const char *text)
{
    /* The text, escaped, with its line breaks: never markup from anyone. */
    const char *esc = ap_escape_html(p, text), *c;
    char *out = apr_palloc(p, strlen(esc) * 5 + 64), *o = out;
    o += sprintf(o, "<div style=\"white-space:pre-wrap\">");
    for (c = esc; *c; c++) {
        if (*c == '\n') { memcpy(o, "<br>", 4); o += 4; }
        else *o++ = *c;
    }
    strcpy(o, "</div>");
    return out;
}

/* POST /emails. APR_SUCCESS with *pid; otherwise *pwhy and *ppermanent. */
static apr_status_t send_email(cs_job_t *job, const email_conf *c, const char *idem,
                               json_object *to, const char *subject, const char *text,
                               const char **pid, const char **pwhy, int *ppermanent)
{
    apr_pool_t *p = job->pool;
    cs_json_t *doc = cs_json_object(p);
    cs_http_req_t req;
    cs_http_resp_t *resp = NULL;
    apr_array_header_t *hdrs = apr_array_make(p, 1, sizeof(const char *));
    const char *err = NULL;

    json_object_object_add(cs_json_raw(doc), "to", to);
    cs_json_set_str(doc, "from", c->from);
    cs_json_set_str(doc, "subject", subject);
    cs_json_set_str(doc, "text", text);
    cs_json_set_str(doc, "html", html_of(p, text));
    if (c->reply_to) cs_json_set_str(doc, "reply_to", c->reply_to);
    APR_ARRAY_PUSH(hdrs, const char *) = apr_pstrcat(p, "Idempotency-Key: ", idem, NULL);
    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.url = apr_pstrcat(p, c->api_base, "/emails", NULL);
    req.body = cs_json_dump(doc, p);
    req.content_type = "application/json";
    req.bearer = c->key;
    req.headers = hdrs;
    req.timeout = c->timeout;
    *ppermanent = 0;
    if (cs_http_perform(&resp, p, &req, &err) != APR_SUCCESS) {
        *pwhy = apr_pstrcat(p, "Resend: ", err, NULL);
        return APR_EGENERAL;
    }
    return cs_resend_parse_answer(p, resp->status, resp->body, resp->len, pid, pwhy,
                                  ppermanent);
}

static int record(cs_job_t *job, const char *id, const char *status, const char *pid,
                  const char *error)
{
    const char *params[4] = { id, status, pid, error }, *err = NULL;
    PGresult *res = cs_db_exec(job->conn, job->pool, &err, PGRES_COMMAND_OK,
        "UPDATE messages SET delivery_status = $2, provider_id = coalesce($3, provider_id),"
        " delivery_error = $4 WHERE id = $1", 4, params);
    if (!res) return fail(job, 0, err);
    PQclear(res);
    if (cs_db_command(job->conn, job->pool, &err, "COMMIT") != APR_SUCCESS
        || cs_db_command(job->conn, job->pool, &err, "BEGIN") != APR_SUCCESS) {
        return fail(job, 0, err);
    }
    return OK;
}

static const char *payload_field(cs_job_t *job, const char *key)
{
    cs_json_t *doc;
    json_object *v;
    const char *err = NULL;
    if (cs_json_parse(&doc, job->pool, job->payload, strlen(job->payload), &err) != APR_SUCCESS
        || !json_object_object_get_ex(cs_json_raw(doc), key, &v)) {
        return NULL;
    }
    return apr_pstrdup(job->pool, json_object_get_string(v));
}

static int reply_job(cs_job_t *job)
{
    const char *mid = payload_field(job, "message_id"), *params[1], *err = NULL;
    const char *id = NULL, *why = NULL;
    const email_conf *c;
    PGresult *res;
    int permanent = 0;

    if (!mid) return fail(job, 1, "payload lacks message_id");
    params[0] = mid;
    res = cs_db_exec(job->conn, job->pool, &err, PGRES_TUPLES_OK,
        "SELECT m.body, m.to_address, m.provider_id, c.slug, c.name FROM messages m"
        " JOIN clients c ON c.id = m.client_id"
        " WHERE m.id = $1 AND m.direction = 'outbound' AND m.channel = 'email'", 1, params);
    if (!res) return fail(job, 0, err);
    if (PQntuples(res) != 1) { PQclear(res); return fail(job, 1, "no such email message"); }
    if (!PQgetisnull(res, 0, 2)) { PQclear(res); return OK; }   /* sent already */
    c = apr_hash_get(by_slug, PQgetvalue(res, 0, 3), APR_HASH_KEY_STRING);
    if (!c || PQgetisnull(res, 0, 1)) {
        PQclear(res);
        record(job, mid, "failed", NULL, "email is not set up for this client");
        return fail(job, 1, "email not configured");
    }
    {
        json_object *to = json_object_new_array();
        const char *body = apr_pstrdup(job->pool, PQgetvalue(res, 0, 0));
        const char *subject = apr_psprintf(job->pool, "Re: your message to %s",
                                           PQgetvalue(res, 0, 4));
        json_object_array_add(to, json_object_new_string(PQgetvalue(res, 0, 1)));
        PQclear(res);
        if (send_email(job, c, apr_pstrcat(job->pool, "consult-message-", mid, NULL), to,
                       subject, body, &id, &why, &permanent) == APR_SUCCESS) {
            return record(job, mid, "sent", id, NULL);
        }
    }
    if (permanent) {
        record(job, mid, "failed", NULL, why);
    }
    else if (job->attempt >= job->max_attempts) {
        /* The last attempt: say so on the message rather than leave it
         * queued forever (Resend's Idempotency-Key keeps a late retry by
         * hand from sending twice within a day). */
        record(job, mid, "failed", NULL, apr_psprintf(
            job->pool, "Not confirmed after %d attempts (it may still have gone out): %s",
            job->attempt, why));
        permanent = 1;
    }
    return fail(job, permanent, why);
}

/* A new message for the client's staff: every member with an address. */
static int notify_job(cs_job_t *job)
{
    const char *nid = payload_field(job, "notification_id"), *params[1], *err = NULL;
    const char *id = NULL, *why = NULL, *slug, *text;
    const email_conf *c;
    json_object *to;
    PGresult *res;
    int i, permanent = 0;

    if (!nid) return fail(job, 1, "payload lacks notification_id");
    params[0] = nid;
    res = cs_db_exec(job->conn, job->pool, &err, PGRES_TUPLES_OK,
        "SELECT c.slug, c.name, n.kind, m.channel, left(m.body, 500),"
        "  coalesce(ct.name, ct.email, ct.phone), m.intent, n.sent_at IS NOT NULL"
        " FROM notifications n JOIN messages m ON m.id = n.message_id"
        " JOIN clients c ON c.id = n.client_id JOIN conversations cv ON cv.id = m.conversation_id"
        " JOIN contacts ct ON ct.id = cv.contact_id WHERE n.id = $1", 1, params);
    if (!res) return fail(job, 0, err);
    if (PQntuples(res) != 1 || PQgetvalue(res, 0, 7)[0] == 't') { PQclear(res); return OK; }
    slug = apr_pstrdup(job->pool, PQgetvalue(res, 0, 0));
    if (!(c = apr_hash_get(by_slug, slug, APR_HASH_KEY_STRING))) {
        PQclear(res);
        return OK;      /* email is off for this client: nothing to send */
    }
    text = apr_psprintf(job->pool, "%s%s wrote (%s, %s):\n\n%s\n\nOpen your Consult inbox to answer.",
                        !strcmp(PQgetvalue(res, 0, 2), "urgent_message") ? "URGENT: " : "",
                        PQgetvalue(res, 0, 5), PQgetvalue(res, 0, 3),
                        PQgetisnull(res, 0, 6) ? "unclassified" : PQgetvalue(res, 0, 6),
                        *PQgetvalue(res, 0, 4) ? PQgetvalue(res, 0, 4)
                        : !strcmp(PQgetvalue(res, 0, 3), "voicemail")
                          ? "(a voicemail without a transcript: listen to it in your inbox)"
                          : "(no text: they sent a picture or file, see your inbox)");
    {
        const char *subject = apr_psprintf(job->pool, "%sNew message for %s",
                                           !strcmp(PQgetvalue(res, 0, 2), "urgent_message")
                                           ? "Urgent: " : "", PQgetvalue(res, 0, 1));
        PQclear(res);
        res = cs_db_exec(job->conn, job->pool, &err, PGRES_TUPLES_OK,
            "SELECT u.email FROM memberships ms JOIN staff_users u ON u.id = ms.user_id"
            " JOIN notifications n ON n.client_id = ms.client_id"
            " WHERE n.id = $1 AND u.disabled_at IS NULL ORDER BY u.id", 1, params);
        if (!res) return fail(job, 0, err);
        if (PQntuples(res) == 0) { PQclear(res); return OK; }
        to = json_object_new_array();
        for (i = 0; i < PQntuples(res) && i < 50; i++) {
            json_object_array_add(to, json_object_new_string(PQgetvalue(res, i, 0)));
        }
        PQclear(res);
        if (send_email(job, c, apr_pstrcat(job->pool, "consult-notification-", nid, NULL), to,
                       subject, text, &id, &why, &permanent) != APR_SUCCESS) {
            return fail(job, permanent, why);
        }
    }
    res = cs_db_exec(job->conn, job->pool, &err, PGRES_COMMAND_OK,
                     "UPDATE notifications SET sent_at = now() WHERE id = $1", 1, params);
    if (!res) return fail(job, 0, err);
    PQclear(res);
    return OK;
}

static int run_job(cs_job_t *job)
{
    if (!strcmp(job->kind, "email.send")) return reply_job(job);
    if (!strcmp(job->kind, "notification.send")) return notify_job(job);
    return DECLINED;
}

static void register_hooks(apr_pool_t *p)
{
    APR_REGISTER_OPTIONAL_FN(cs_email_enabled);
    ap_hook_check_config(check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(child_init, NULL, NULL, APR_HOOK_MIDDLE);
    CS_REGISTER_JOB_HANDLER(run_job);
}

module AP_MODULE_DECLARE_DATA consult_email_module = {
    STANDARD20_MODULE_STUFF,
    NULL, NULL, create_server, merge_server, cmds, register_hooks, 0
};
