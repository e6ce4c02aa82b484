/*
 * Twilio webhooks on a client vhost: /twilio/sms, /twilio/voice,
 * /twilio/voice/recording, /twilio/voice/transcription, /twilio/status.
 * Each verifies X-Twilio-Signature (constant time) before doing anything,
 * stores what it must in one transaction, and answers TwiML at once.
 */
#include "twilio_private.h"
#include "text/cs_text.h"
#include "base/cs_json.h"
#include "domain/cs_intake.h"

#include "http_protocol.h"
#include "http_request.h"
#include "http_core.h"
#include "util_script.h"
#include <apr_strings.h>
#include <apr_lib.h>
#include <stdlib.h>

APLOG_USE_MODULE(consult_twilio);

typedef struct {
    request_rec *r;
    const twilio_conf *conf;
    apr_array_header_t *params;     /* cs_pair_t, as received */
    const cs_client_t *client;
    PGconn *conn;
} hook_req;

static const char *param(const hook_req *h, const char *name)
{
    int i;
    for (i = 0; i < h->params->nelts; i++) {
        cs_pair_t *p = &APR_ARRAY_IDX(h->params, i, cs_pair_t);
        if (!strcmp(p->key, name)) return p->value;
    }
    return NULL;
}

static int send_twiml(request_rec *r, const char *xml)
{
    ap_set_content_type(r, "text/xml; charset=utf-8");
    ap_set_content_length(r, strlen(xml));
    ap_rputs(xml, r);
    return OK;
}

/* The URL Twilio signed: the public base (behind a proxy) or this server,
 * plus the path and query as requested. */
static const char *signed_url(request_rec *r, const twilio_conf *c)
{
    if (c->public_url) {
        return apr_pstrcat(r->pool, c->public_url, r->unparsed_uri, NULL);
    }
    return ap_construct_url(r->pool, r->unparsed_uri, r);
}

static int read_params(request_rec *r, apr_array_header_t **pout)
{
    apr_array_header_t *pairs = NULL;
    const char *ct = apr_table_get(r->headers_in, "Content-Type");
    int st;

    if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33)) {
        return HTTP_UNSUPPORTED_MEDIA_TYPE;
    }
    if ((st = twilio_core.read_form(r, 200, 256 * 1024, &pairs)) != OK) {
        return st;
    }
    *pout = pairs;
    return OK;
}

/* 403 unless the request carries Twilio's signature for our auth token and
 * our account. */
static int verify(hook_req *h)
{
    request_rec *r = h->r;
    const char *sig = apr_table_get(r->headers_in, "X-Twilio-Signature");
    const char *acct;

    if (!sig || !cs_twilio_verify(r->pool, h->conf->auth_token, signed_url(r, h->conf),
                                  h->params, NULL, 0, sig)) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, CSLOGNO(04010)
                      "Twilio webhook %s with %s signature refused", r->uri,
                      sig ? "a wrong" : "no");
        return HTTP_FORBIDDEN;
    }
    acct = param(h, "AccountSid");
    if (!acct || strcmp(acct, h->conf->account_sid)) {
        return HTTP_FORBIDDEN;      /* signed, but for another account */
    }
    return OK;
}

static int begin(hook_req *h)
{
    const char *err = NULL;
    apr_status_t rv = twilio_core.client_get(h->r, &h->client);
    if (APR_STATUS_IS_NOTFOUND(rv)) return HTTP_NOT_FOUND;
    if (rv != APR_SUCCESS || twilio_core.db_acquire(h->r, &h->conn) != APR_SUCCESS) {
        apr_table_setn(h->r->err_headers_out, "Retry-After", "5");
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (cs_db_command(h->conn, h->r->pool, &err, "BEGIN") != APR_SUCCESS) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    return OK;
}

static int commit(hook_req *h)
{
    const char *err = NULL;
    if (cs_db_command(h->conn, h->r->pool, &err, "COMMIT") != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, h->r, CSLOGNO(04011) "commit failed: %s", err);
        /* No 2xx: Twilio retries the webhook, and redeliveries are idempotent. */
        return HTTP_SERVICE_UNAVAILABLE;
    }
    return OK;
}

static PGresult *q(hook_req *h, const char *sql, int n, const char *const *params)
{
    const char *err = NULL;
    PGresult *res = cs_db_exec(h->conn, h->r->pool, &err, PGRES_TUPLES_OK, sql, n, params);
    if (!res) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, h->r, CSLOGNO(04012) "query failed: %s", err);
    }
    return res;
}

/* Queue an outbound SMS (message row + job) in the current transaction. */
static int queue_sms(hook_req *h, const char *contact_id, const char *to, const char *body,
                     const char *unique)
{
    const char *params[5] = { h->client->id_str, contact_id, body, to, unique };
    PGresult *res = q(h,
        "WITH m AS (INSERT INTO messages (client_id, conversation_id, channel, direction, body,"
        "   delivery_status, to_address, provider)"
        " SELECT $1, cv.id, 'sms', 'outbound', $3, 'queued', $4, 'twilio'"
        "   FROM conversations cv WHERE cv.client_id = $1 AND cv.contact_id = $2"
        "   AND NOT EXISTS (SELECT 1 FROM jobs WHERE unique_key = $5)"
        " RETURNING id)"
        " INSERT INTO jobs (kind, payload, unique_key)"
        " SELECT 'twilio.sms.send', jsonb_build_object('message_id', m.id, 'client_id', $1::bigint), $5"
        "   FROM m RETURNING id", 5, params);
    if (!res) return HTTP_INTERNAL_SERVER_ERROR;
    PQclear(res);
    return OK;
}

/* Outside the client's hours, one auto-reply per conversation per
 * evening (the evening's date is part of the job's unique key). Local
 * time comes from Postgres, which knows every time zone. */
static int after_hours(hook_req *h, const char *contact_id, const char *phone)
{
    const char *params[3] = { h->conf->time_zone, contact_id, phone }, *evening = NULL;
    PGresult *res = q(h,
        "SELECT extract(isodow FROM now() AT TIME ZONE $1)::int,"
        "  (extract(hour FROM now() AT TIME ZONE $1) * 60"
        "   + extract(minute FROM now() AT TIME ZONE $1))::int,"
        "  to_char(now() AT TIME ZONE $1, 'YYYY-MM-DD'),"
        "  (SELECT cv.id FROM conversations cv WHERE cv.contact_id = $2::bigint),"
        /* The reply goes to the number that wrote, maybe a merged contact's. */
        "  consult_sms_opted_out($2::bigint, $3)", 3, params);
    int open_now;
    const char *conv;

    if (!res) return HTTP_SERVICE_UNAVAILABLE;
    open_now = cs_hours_open(h->conf->hours, h->r->pool, atoi(PQgetvalue(res, 0, 0)),
                             atoi(PQgetvalue(res, 0, 1)), PQgetvalue(res, 0, 2), &evening);
    conv = apr_pstrdup(h->r->pool, PQgetvalue(res, 0, 3));
    if (open_now || PQgetvalue(res, 0, 4)[0] == 't') {
        PQclear(res);
        return OK;
    }
    PQclear(res);
    return queue_sms(h, contact_id, phone, h->conf->after_hours_reply,
                     apr_psprintf(h->r->pool, "after-hours:%s:%s", conv,
                                  evening ? evening : "closed"));
}

static int sms(hook_req *h)
{
    const char *from = param(h, "From"), *sid = param(h, "MessageSid");
    const char *body = param(h, "Body"), *phone = NULL, *nm = param(h, "NumMedia");
    const char *params[8];
    cs_json_t *media = cs_json_array(h->r->pool);
    cs_sms_keyword_t kw;
    apr_status_t rv;
    PGresult *res;
    int i, n;

    if (!from || !sid || cs_phone_e164(h->r->pool, from, "US", &phone) != APR_SUCCESS) {
        return HTTP_BAD_REQUEST;
    }
    n = nm ? atoi(nm) : 0;
    for (i = 0; i < n && i < 10; i++) {
        cs_json_t *item = cs_json_object(h->r->pool);
        cs_json_set_str(item, "url", param(h, apr_psprintf(h->r->pool, "MediaUrl%d", i)));
        cs_json_set_str(item, "content_type",
                        param(h, apr_psprintf(h->r->pool, "MediaContentType%d", i)));
        cs_json_append(media, item);
    }
    rv = twilio_core.client_get(h->r, &h->client);
    if (APR_STATUS_IS_NOTFOUND(rv)) return HTTP_NOT_FOUND;
    if (rv != APR_SUCCESS || twilio_core.db_acquire(h->r, &h->conn) != APR_SUCCESS) {
        apr_table_setn(h->r->err_headers_out, "Retry-After", "5");
        return HTTP_SERVICE_UNAVAILABLE;
    }
    /* Carrier rules: STOP blocks every further SMS until START. */
    kw = cs_sms_keyword(body);
    params[0] = h->client->id_str;
    params[1] = phone;
    params[2] = "sms";
    params[3] = body ? body : "";
    params[4] = "twilio";
    params[5] = sid;
    params[6] = n ? cs_json_dump(media, h->r->pool) : NULL;
    params[7] = kw == CS_SMS_STOP ? "stop" : kw == CS_SMS_START ? "start" : NULL;
    /* One statement, so one transaction and one round trip: the answer
     * below follows the commit. */
    res = q(h, "SELECT * FROM consult_inbound_message($1, $2, $3, $4, $5, $6, $7::jsonb, $8)",
            8, params);
    if (!res) {
        apr_table_setn(h->r->err_headers_out, "Retry-After", "5");
        return HTTP_SERVICE_UNAVAILABLE;
    }
    params[1] = apr_pstrdup(h->r->pool, PQgetvalue(res, 0, 1));
    PQclear(res);
    /* The after-hours reply is idempotent (one per conversation and
     * evening), so a redelivery may ask again safely. */
    if (h->conf->after_hours_reply && h->conf->hours && kw == CS_SMS_NONE) {
        int st;
        if ((st = begin(h)) != OK || (st = after_hours(h, params[1], phone)) != OK
            || (st = commit(h)) != OK) {
            return st;
        }
    }
    return send_twiml(h->r, cs_twiml_empty());
}

static int voice(hook_req *h)
{
    const char *from = param(h, "From"), *call = param(h, "CallSid"), *phone = NULL;
    const char *base = h->conf->public_url ? h->conf->public_url
                       : ap_construct_url(h->r->pool, "", h->r);
    const char *params[7];
    PGresult *res;
    int st;

    if (!call) return HTTP_BAD_REQUEST;
    /* No caller ID ("anonymous", "Restricted", a SIP address): the
     * voicemail still lands, on the client's "Unknown caller" contact. */
    if (!from || cs_phone_e164(h->r->pool, from, "US", &phone) != APR_SUCCESS) {
        phone = NULL;
    }
    {
        /* One voicemail message per call, filled in by the callbacks. */
        if ((st = begin(h)) != OK) return st;
        params[0] = h->client->id_str;
        params[1] = phone;
        params[2] = "voicemail";
        params[3] = "";
        params[4] = "twilio";
        params[5] = call;
        params[6] = NULL;
        res = q(h, "SELECT * FROM consult_inbound_message("
                   "$1, $2, $3, $4, $5, $6, $7::jsonb, NULL)", 7, params);
        if (!res) return HTTP_SERVICE_UNAVAILABLE;
        if (h->conf->missed_call_text && phone && PQgetvalue(res, 0, 2)[0] != 't') {
            const char *contact = apr_pstrdup(h->r->pool, PQgetvalue(res, 0, 1));
            PQclear(res);
            res = NULL;
            if (queue_sms(h, contact, phone, h->conf->missed_call_text,
                          apr_pstrcat(h->r->pool, "missed-call:", call, NULL)) != OK) {
                return HTTP_SERVICE_UNAVAILABLE;
            }
        }
        if (res) PQclear(res);
        if ((st = commit(h)) != OK) return st;
    }
    return send_twiml(h->r, cs_twiml_voicemail(
        h->r->pool, h->conf->greeting,
        apr_pstrcat(h->r->pool, base, "/twilio/voice/done", NULL),
        apr_pstrcat(h->r->pool, base, "/twilio/voice/recording", NULL),
        apr_pstrcat(h->r->pool, base, "/twilio/voice/transcription", NULL), 120));
}

/* How long a recorded voicemail waits for its transcript (Twilio
 * transcribes within a minute or two, and only recordings up to 2 min). */
#define TRANSCRIPT_WAIT "3 minutes"

/* Recording and transcription callbacks attach to the call's message. */
static int voice_callback(hook_req *h, int transcription)
{
    const char *call = param(h, "CallSid"), *params[5];
    PGresult *res;
    int st;

    if (!call) return HTTP_BAD_REQUEST;
    if ((st = begin(h)) != OK) return st;
    params[0] = h->client->id_str;
    params[1] = call;
    if (!transcription) {
        params[2] = param(h, "RecordingUrl");
        params[3] = param(h, "RecordingDuration");
        /* Shown to staff as a link: https only. */
        if (params[2] && strncmp(params[2], "https://", 8)) {
            params[2] = NULL;
        }
        if (params[3]) {
            const char *c;
            if (!*params[3] || strlen(params[3]) > 9) params[3] = NULL;
            for (c = params[3]; c && *c; c++) if (!apr_isdigit(*c)) { params[3] = NULL; break; }
        }
        /* The voicemail is processed (staff told) even if no transcript
         * ever comes: after TRANSCRIPT_WAIT, or at once when it does. */
        res = q(h, "WITH m AS (UPDATE messages SET recording_url = coalesce($3, recording_url),"
                   "   recording_seconds = coalesce($4::int, recording_seconds)"
                   "   WHERE client_id = $1 AND provider = 'twilio' AND provider_id = $2"
                   "   AND channel = 'voicemail' RETURNING id)"
                   " INSERT INTO jobs (kind, payload, unique_key, run_at)"
                   " SELECT 'message.process', jsonb_build_object('message_id', m.id,"
                   "   'client_id', $1::bigint), 'message.process:' || m.id,"
                   "   now() + interval '" TRANSCRIPT_WAIT "' FROM m"
                   " ON CONFLICT (unique_key) DO NOTHING RETURNING id", 4, params);
    }
    else {
        params[2] = param(h, "TranscriptionText");
        params[3] = param(h, "TranscriptionStatus");
        if (!params[3] || strcmp(params[3], "completed") || !params[2]) {
            /* No transcript will come: process the voicemail now. */
            res = q(h, "UPDATE jobs SET run_at = now(), updated_at = now()"
                       " WHERE state = 'queued' AND unique_key = (SELECT 'message.process:' || m.id"
                       "   FROM messages m WHERE m.client_id = $1 AND m.provider = 'twilio'"
                       "   AND m.provider_id = $2 AND m.channel = 'voicemail') RETURNING id",
                    2, params);
        }
        else {
            /* The transcript becomes the message and is classified like
             * any, now (again, if the voicemail was processed without it). */
            res = q(h, "WITH m AS (UPDATE messages SET body = $3"
                       "   WHERE client_id = $1 AND provider = 'twilio' AND provider_id = $2"
                       "   AND channel = 'voicemail' RETURNING id)"
                       " INSERT INTO jobs (kind, payload, unique_key)"
                       " SELECT 'message.process', jsonb_build_object('message_id', m.id,"
                       "   'client_id', $1::bigint), 'message.process:' || m.id FROM m"
                       " ON CONFLICT (unique_key) DO UPDATE SET run_at = now(), state = 'queued',"
                       "   attempts = 0, updated_at = now() WHERE jobs.state IN ('queued', 'done')"
                       " RETURNING id", 3, params);
        }
    }
    if (!res) return HTTP_SERVICE_UNAVAILABLE;
    PQclear(res);
    if ((st = commit(h)) != OK) return st;
    return send_twiml(h->r, cs_twiml_empty());
}

/* Delivery state of our outbound messages; never moves backwards. */
static int status(hook_req *h)
{
    apr_table_t *args = NULL;
    const char *m, *st_in = param(h, "MessageStatus"), *sid = param(h, "MessageSid");
    const char *code = param(h, "ErrorCode"), *params[6], *mapped;
    PGresult *res;
    int st;

    ap_args_to_table(h->r, &args);
    m = args ? apr_table_get(args, "m") : NULL;
    if (!m || !st_in || !sid) return HTTP_BAD_REQUEST;
    mapped = !strcmp(st_in, "delivered") || !strcmp(st_in, "read") ? "delivered"
             : !strcmp(st_in, "sent") ? "sent"
             : !strcmp(st_in, "undelivered") ? "undelivered"
             : !strcmp(st_in, "failed") || !strcmp(st_in, "canceled") ? "failed"
             : !strcmp(st_in, "sending") ? "sending" : "queued";
    if ((st = begin(h)) != OK) return st;
    params[0] = h->client->id_str;
    params[1] = m;
    params[2] = sid;
    params[3] = mapped;
    params[4] = code && *code ? apr_pstrcat(h->r->pool, "Twilio error ", code, NULL) : NULL;
    res = q(h, "UPDATE messages SET delivery_status = $4, provider_id = coalesce(provider_id, $3),"
               " delivery_error = coalesce($5, delivery_error)"
               " WHERE client_id = $1 AND id = $2::bigint AND direction = 'outbound'"
               "   AND (provider_id IS NULL OR provider_id = $3)"
               "   AND array_position(ARRAY['queued','sending','sent','delivered','undelivered','failed'],"
               "        coalesce(delivery_status, 'queued'))"
               "    <= array_position(ARRAY['queued','sending','sent','delivered','undelivered','failed'], $4)"
               " RETURNING id", 5, params);
    if (!res) return HTTP_SERVICE_UNAVAILABLE;
    PQclear(res);
    if ((st = commit(h)) != OK) return st;
    return send_twiml(h->r, cs_twiml_empty());
}

int twilio_handler(request_rec *r)
{
    const twilio_conf *conf = twilio_sconf(r->server);
    hook_req h;
    int st;

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
    memset(&h, 0, sizeof(h));
    h.r = r;
    h.conf = conf;
    if ((st = read_params(r, &h.params)) != OK) {
        return st;
    }
    if ((st = verify(&h)) != OK) {
        return st;
    }
    if (!strcmp(r->uri, "/twilio/sms")) return sms(&h);
    if (!strcmp(r->uri, "/twilio/voice")) return voice(&h);
    if (!strcmp(r->uri, "/twilio/voice/recording")) return voice_callback(&h, 0);
    if (!strcmp(r->uri, "/twilio/voice/transcription")) return voice_callback(&h, 1);
    if (!strcmp(r->uri, "/twilio/voice/done")) return send_twiml(r, cs_twiml_empty());
    if (!strcmp(r->uri, "/twilio/status")) return status(&h);
    return HTTP_NOT_FOUND;
}
