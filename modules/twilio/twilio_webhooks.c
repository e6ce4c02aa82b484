/*
 * Twilio webhooks on a client vhost: /twilio/sms, /twilio/voice,
 * /twilio/voice/recording, /twilio/voice/transcription, /twilio/status.
 *
 * One shape for all of them: read the body, verify X-Twilio-Signature
 * (constant time) over ConsultTwilioPublicURL, the address Twilio called,
 * then record the raw body in core's inbound journal together with its
 * twilio.event job, in one statement, and answer only after that
 * committed. The job (twilio_events.c) does the work. A redelivered event
 * has the same journal id, so it is answered and ignored.
 *
 * /twilio/voice answers TwiML (the greeting and <Record>) built from the
 * configuration alone, so the call is answered as soon as its event is
 * journaled; /twilio/voice/done, the <Record> action, has nothing to
 * record and only answers.
 */
#include "twilio_private.h"
#include "text/cs_text.h"

#include "http_protocol.h"
#include "http_request.h"
#include "http_core.h"
#include "util_script.h"
#include <apr_strings.h>

APLOG_USE_MODULE(consult_twilio);

#define MAX_BODY (256 * 1024)
#define MAX_FIELDS 200

static int send_twiml(request_rec *r, const char *xml)
{
    ap_set_content_type(r, "text/xml; charset=utf-8");
    ap_set_content_length(r, strlen(xml));
    ap_rputs(xml, r);
    return OK;
}

/* 403 unless the request carries Twilio's signature for our auth token and
 * our account. Twilio signs the URL it called: behind a TLS-terminating
 * proxy that is not this server's own, hence ConsultTwilioPublicURL (which
 * check_config requires). */
static int verify(request_rec *r, const twilio_conf *c, const apr_array_header_t *params)
{
    const char *sig = apr_table_get(r->headers_in, "X-Twilio-Signature");
    const char *url = apr_pstrcat(r->pool, c->public_url, r->unparsed_uri, NULL);
    const char *acct;

    if (!sig || !cs_twilio_verify(r->pool, c->auth_token, url, params, NULL, 0, sig)) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, CSLOGNO(04010)
                      "Twilio webhook %s with %s signature refused (checked against %s)",
                      r->uri, sig ? "a wrong" : "no", url);
        return HTTP_FORBIDDEN;
    }
    acct = cs_twilio_param(params, "AccountSid");
    if (!acct || strcmp(acct, c->account_sid)) {
        return HTTP_FORBIDDEN;      /* signed, but for another account */
    }
    return OK;
}

/* What the event needs to be usable at all, checked before it is journaled
 * so a signed but useless delivery gets 400 (retrying cannot help) rather
 * than a job that can do nothing. */
static const char *event_id(request_rec *r, cs_twilio_event_t kind,
                            const apr_array_header_t *params)
{
    const char *phone = NULL, *m = NULL;

    if (kind == CS_TWILIO_EV_SMS) {
        const char *from = cs_twilio_param(params, "From");
        if (!from || cs_phone_e164(r->pool, from, "US", &phone) != APR_SUCCESS) {
            return NULL;
        }
    }
    if (kind == CS_TWILIO_EV_STATUS) {
        apr_table_t *args = NULL;
        ap_args_to_table(r, &args);
        m = args ? apr_table_get(args, "m") : NULL;
    }
    return cs_twilio_event_id(r->pool, kind, params, m);
}

static cs_twilio_event_t kind_of(const char *uri)
{
    if (!strcmp(uri, "/twilio/sms")) return CS_TWILIO_EV_SMS;
    if (!strcmp(uri, "/twilio/voice")) return CS_TWILIO_EV_CALL;
    if (!strcmp(uri, "/twilio/voice/recording")) return CS_TWILIO_EV_RECORDING;
    if (!strcmp(uri, "/twilio/voice/transcription")) return CS_TWILIO_EV_TRANSCRIPTION;
    if (!strcmp(uri, "/twilio/status")) return CS_TWILIO_EV_STATUS;
    return CS_TWILIO_EV_NONE;
}

int twilio_handler(request_rec *r)
{
    const twilio_conf *conf = twilio_sconf(r->server);
    apr_array_header_t *params = NULL;
    const char *ct, *id;
    cs_twilio_event_t kind;
    char *body = NULL;
    apr_size_t len = 0;
    apr_status_t rv;
    int st, dup = 0;

    if (conf->enabled != 1 || strncmp(r->uri, "/twilio/", 8)) {
        return DECLINED;
    }
    if (!twilio_core.client_slug(r->server)) {
        return HTTP_NOT_FOUND;
    }
    if (r->method_number != M_POST) {
        apr_table_setn(r->headers_out, "Allow", "POST");
        return HTTP_METHOD_NOT_ALLOWED;
    }
    ct = apr_table_get(r->headers_in, "Content-Type");
    if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33)) {
        return HTTP_UNSUPPORTED_MEDIA_TYPE;
    }
    if ((st = twilio_core.read_body(r, MAX_BODY, &body, &len)) != OK) {
        return st;
    }
    if (cs_twilio_parse_form(r->pool, body, len, MAX_FIELDS, &params) != APR_SUCCESS) {
        return HTTP_REQUEST_ENTITY_TOO_LARGE;
    }
    if ((st = verify(r, conf, params)) != OK) {
        return st;
    }
    if ((kind = kind_of(r->uri)) == CS_TWILIO_EV_NONE) {
        if (!strcmp(r->uri, "/twilio/voice/done")) {
            return send_twiml(r, cs_twiml_empty());
        }
        return HTTP_NOT_FOUND;
    }
    if (!(id = event_id(r, kind, params))) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, CSLOGNO(04013)
                      "signed Twilio webhook %s lacks what it needs (a SID, a sender, a status)",
                      r->uri);
        return HTTP_BAD_REQUEST;
    }
    rv = twilio_core.journal_record(r, TWILIO_PROVIDER, id, body, len, TWILIO_JOB_EVENT, &dup);
    if (APR_STATUS_IS_NOTFOUND(rv)) {
        return HTTP_NOT_FOUND;
    }
    if (APR_STATUS_IS_EINVAL(rv)) {
        return HTTP_BAD_REQUEST;    /* not storable as text: not Twilio's */
    }
    if (rv != APR_SUCCESS) {
        /* No 2xx: Twilio delivers again, and that is idempotent. */
        apr_table_setn(r->err_headers_out, "Retry-After", "5");
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (kind == CS_TWILIO_EV_CALL) {
        /* The callbacks go where Twilio can reach us: the public URL. */
        return send_twiml(r, cs_twiml_voicemail(
            r->pool, conf->greeting,
            apr_pstrcat(r->pool, conf->public_url, "/twilio/voice/done", NULL),
            apr_pstrcat(r->pool, conf->public_url, "/twilio/voice/recording", NULL),
            apr_pstrcat(r->pool, conf->public_url, "/twilio/voice/transcription", NULL),
            TWILIO_MAX_RECORDING));
    }
    return send_twiml(r, cs_twiml_empty());
}
