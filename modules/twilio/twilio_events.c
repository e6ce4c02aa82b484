/*
 * The twilio.event job: one webhook from core's inbound journal
 * (provider_events, provider "twilio"), done once.
 *
 * The handler (twilio_webhooks.c) verified the signature, journaled the raw
 * form body under an id that names the event (cs_twilio_event_id) and
 * answered. Here the body is decoded with the same parser and the work the
 * handler used to do happens in the job's transaction, which also marks
 * the event processed: an inbound SMS (contact, thread, message, STOP and
 * START, the after-hours reply), a call's voicemail message and missed-call
 * text, the recording and the transcript on it, and delivery status moving
 * forward only.
 *
 * Order within a call: Twilio calls /twilio/voice before it records, and
 * the transcript comes after the recording, but jobs may run in another
 * order (several workers, a retry). So a call's events are taken together:
 * every unprocessed event of the same call journaled up to this one is
 * locked in journal order and processed first. Locking in id order in one
 * statement keeps two workers on the same call from deadlocking; the second
 * finds the events processed and has nothing left to do.
 */
#include "twilio_private.h"
#include "base/cs_json.h"
#include "text/cs_text.h"

#include <apr_strings.h>
#include <apr_lib.h>
#include <stdlib.h>

APLOG_USE_MODULE(consult_twilio);

/* How long a recorded voicemail waits for its transcript (Twilio
 * transcribes within a minute or two, and only recordings up to 2 min). */
#define TRANSCRIPT_WAIT "3 minutes"

typedef struct {
    cs_job_t *job;
    const twilio_conf *conf;      /* NULL: the client's vhost lost ConsultTwilio */
    const char *client_id;
    const char *received;         /* the event's received_at, epoch seconds */
    apr_array_header_t *params;   /* the decoded body */
    const char *note;             /* kept as the event's last_error, or NULL */
} ev_t;

static int fail(cs_job_t *job, const char *what, const char *err)
{
    job->error = apr_psprintf(job->pool, "%s: %s", what, err ? err : "failed");
    return HTTP_SERVICE_UNAVAILABLE;
}

static const char *param(const ev_t *e, const char *name)
{
    return cs_twilio_param(e->params, name);
}

/* A query in the job's transaction; NULL (and job->error) on failure. */
static PGresult *q(ev_t *e, const char *sql, int n, const char *const *params)
{
    const char *err = NULL;
    PGresult *res = cs_db_exec(e->job->conn, e->job->pool, &err, PGRES_TUPLES_OK, sql, n, params);
    if (!res) {
        fail(e->job, "twilio.event", err);
    }
    return res;
}

/* Queue an outbound SMS (message row + job) in the job's transaction; a
 * job with @p unique already queued means it was asked for before. */
static int queue_sms(ev_t *e, const char *contact_id, const char *to, const char *body,
                     const char *unique)
{
    const char *params[5] = { e->client_id, contact_id, body, to, unique };
    PGresult *res = q(e,
        "WITH m AS (INSERT INTO messages (client_id, conversation_id, channel, direction, body,"
        "   delivery_status, to_address, provider)"
        " SELECT $1, cv.id, 'sms', 'outbound', $3, 'queued', $4, 'twilio'"
        "   FROM conversations cv WHERE cv.client_id = $1 AND cv.contact_id = $2"
        "   AND NOT EXISTS (SELECT 1 FROM jobs WHERE unique_key = $5)"
        " RETURNING id)"
        " INSERT INTO jobs (kind, payload, unique_key)"
        " SELECT 'twilio.sms.send', jsonb_build_object('message_id', m.id, 'client_id', $1::bigint), $5"
        "   FROM m RETURNING id", 5, params);
    if (!res) return HTTP_SERVICE_UNAVAILABLE;
    PQclear(res);
    return OK;
}

/* Outside the client's hours when the customer wrote (the event's
 * received_at, not when this job runs), one auto-reply per conversation
 * per evening (the evening's date is part of the job's unique key). Local
 * time comes from Postgres, which knows every time zone. */
static int after_hours(ev_t *e, const char *contact_id, const char *phone)
{
    const char *params[4] = { e->conf->time_zone, contact_id, phone, e->received }, *evening = NULL;
    PGresult *res = q(e,
        "WITH t AS (SELECT to_timestamp($4::double precision) AT TIME ZONE $1 AS l)"
        " SELECT extract(isodow FROM l)::int,"
        "  (extract(hour FROM l) * 60 + extract(minute FROM l))::int,"
        "  to_char(l, 'YYYY-MM-DD'),"
        "  (SELECT cv.id FROM conversations cv WHERE cv.contact_id = $2::bigint),"
        /* The reply goes to the number that wrote, maybe a merged contact's. */
        "  consult_sms_opted_out($2::bigint, $3) FROM t", 4, params);
    int open_then;
    const char *conv;

    if (!res) return HTTP_SERVICE_UNAVAILABLE;
    open_then = cs_hours_open(e->conf->hours, e->job->pool, atoi(PQgetvalue(res, 0, 0)),
                              atoi(PQgetvalue(res, 0, 1)), PQgetvalue(res, 0, 2), &evening);
    conv = apr_pstrdup(e->job->pool, PQgetvalue(res, 0, 3));
    if (open_then || PQgetvalue(res, 0, 4)[0] == 't') {
        PQclear(res);
        return OK;
    }
    PQclear(res);
    return queue_sms(e, contact_id, phone, e->conf->after_hours_reply,
                     apr_psprintf(e->job->pool, "after-hours:%s:%s", conv,
                                  evening ? evening : "closed"));
}

static int sms(ev_t *e)
{
    apr_pool_t *p = e->job->pool;
    const char *from = param(e, "From"), *sid = param(e, "MessageSid");
    const char *body = param(e, "Body"), *phone = NULL, *nm = param(e, "NumMedia");
    const char *params[8], *contact;
    cs_json_t *media = cs_json_array(p);
    cs_sms_keyword_t kw;
    PGresult *res;
    int i, n;

    if (!from || !sid || cs_phone_e164(p, from, "US", &phone) != APR_SUCCESS) {
        e->note = "no MessageSid or no sender number: nothing stored";
        return OK;
    }
    n = nm ? atoi(nm) : 0;
    for (i = 0; i < n && i < 10; i++) {
        cs_json_t *item = cs_json_object(p);
        cs_json_set_str(item, "url", param(e, apr_psprintf(p, "MediaUrl%d", i)));
        cs_json_set_str(item, "content_type", param(e, apr_psprintf(p, "MediaContentType%d", i)));
        cs_json_append(media, item);
    }
    /* Carrier rules: STOP blocks every further SMS until START. */
    kw = cs_sms_keyword(body);
    params[0] = e->client_id;
    params[1] = phone;
    params[2] = "sms";
    params[3] = body ? body : "";
    params[4] = "twilio";
    params[5] = sid;
    params[6] = n ? cs_json_dump(media, p) : NULL;
    params[7] = kw == CS_SMS_STOP ? "stop" : kw == CS_SMS_START ? "start" : NULL;
    /* Idempotent by (provider, MessageSid) on its own, so a replayed
     * event stores nothing twice either. */
    res = q(e, "SELECT * FROM consult_inbound_message($1, $2, $3, $4, $5, $6, $7::jsonb, $8)",
            8, params);
    if (!res) return HTTP_SERVICE_UNAVAILABLE;
    contact = apr_pstrdup(p, PQgetvalue(res, 0, 1));
    PQclear(res);
    /* The after-hours reply is idempotent (one per conversation and
     * evening), so a replay may ask again safely. */
    if (e->conf && e->conf->after_hours_reply && e->conf->hours && kw == CS_SMS_NONE) {
        return after_hours(e, contact, phone);
    }
    return OK;
}

static int call(ev_t *e)
{
    const char *from = param(e, "From"), *sid = param(e, "CallSid"), *phone = NULL;
    const char *params[7];
    PGresult *res;

    /* No caller ID ("anonymous", "Restricted", a SIP address): the
     * voicemail still lands, on the client's "Unknown caller" contact. */
    if (!from || cs_phone_e164(e->job->pool, from, "US", &phone) != APR_SUCCESS) {
        phone = NULL;
    }
    /* One voicemail message per call, filled in by the callbacks. */
    params[0] = e->client_id;
    params[1] = phone;
    params[2] = "voicemail";
    params[3] = "";
    params[4] = "twilio";
    params[5] = sid;
    params[6] = NULL;
    res = q(e, "SELECT * FROM consult_inbound_message("
               "$1, $2, $3, $4, $5, $6, $7::jsonb, NULL)", 7, params);
    if (!res) return HTTP_SERVICE_UNAVAILABLE;
    if (e->conf && e->conf->missed_call_text && phone && PQgetvalue(res, 0, 2)[0] != 't') {
        const char *contact = apr_pstrdup(e->job->pool, PQgetvalue(res, 0, 1));
        PQclear(res);
        return queue_sms(e, contact, phone, e->conf->missed_call_text,
                         apr_pstrcat(e->job->pool, "missed-call:", sid, NULL));
    }
    PQclear(res);
    return OK;
}

/* Recording and transcription callbacks attach to the call's message. */
static int voice_callback(ev_t *e, int transcription)
{
    const char *params[5];
    PGresult *res;

    params[0] = e->client_id;
    params[1] = param(e, "CallSid");
    if (!transcription) {
        params[2] = param(e, "RecordingUrl");
        params[3] = param(e, "RecordingDuration");
        params[4] = e->received;
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
         * ever comes: TRANSCRIPT_WAIT after the recording, or at once when
         * it does. */
        res = q(e, "WITH m AS (UPDATE messages SET recording_url = coalesce($3, recording_url),"
                   "   recording_seconds = coalesce($4::int, recording_seconds)"
                   "   WHERE client_id = $1 AND provider = 'twilio' AND provider_id = $2"
                   "   AND channel = 'voicemail' RETURNING id),"
                   " j AS (INSERT INTO jobs (kind, payload, unique_key, run_at)"
                   " SELECT 'message.process', jsonb_build_object('message_id', m.id,"
                   "   'client_id', $1::bigint), 'message.process:' || m.id,"
                   "   to_timestamp($5::double precision) + interval '" TRANSCRIPT_WAIT "' FROM m"
                   " ON CONFLICT (unique_key) DO NOTHING RETURNING id)"
                   " SELECT count(*) FROM m", 5, params);
    }
    else {
        params[2] = param(e, "TranscriptionText");
        params[3] = param(e, "TranscriptionStatus");
        if (!params[3] || strcmp(params[3], "completed") || !params[2]) {
            /* No transcript will come: process the voicemail now. */
            res = q(e, "WITH m AS (SELECT m.id FROM messages m WHERE m.client_id = $1"
                       "   AND m.provider = 'twilio' AND m.provider_id = $2 AND m.channel = 'voicemail'),"
                       " j AS (UPDATE jobs SET run_at = now(), updated_at = now()"
                       " WHERE state = 'queued' AND unique_key = (SELECT 'message.process:' || id FROM m)"
                       " RETURNING id)"
                       " SELECT count(*) FROM m", 2, params);
        }
        else {
            /* The transcript becomes the message and is classified like
             * any, now (again, if the voicemail was processed without it). */
            res = q(e, "WITH m AS (UPDATE messages SET body = $3"
                       "   WHERE client_id = $1 AND provider = 'twilio' AND provider_id = $2"
                       "   AND channel = 'voicemail' RETURNING id),"
                       " j AS (INSERT INTO jobs (kind, payload, unique_key)"
                       " SELECT 'message.process', jsonb_build_object('message_id', m.id,"
                       "   'client_id', $1::bigint), 'message.process:' || m.id FROM m"
                       " ON CONFLICT (unique_key) DO UPDATE SET run_at = now(), state = 'queued',"
                       "   attempts = 0, updated_at = now() WHERE jobs.state IN ('queued', 'done')"
                       " RETURNING id)"
                       " SELECT count(*) FROM m", 3, params);
        }
    }
    if (!res) return HTTP_SERVICE_UNAVAILABLE;
    if (!strcmp(PQgetvalue(res, 0, 0), "0")) {
        e->note = "no voicemail of this call (its /twilio/voice event was never recorded)";
    }
    PQclear(res);
    return OK;
}

/* Delivery state of one of our outbound messages (our id from the
 * StatusCallback URL, kept in the event id): forward only, with one
 * exception. A "failed" without a SID is our own verdict (the job could
 * not confirm the send: Twilio's failures always come with the SID), so
 * Twilio's word on that message replaces it, whenever it comes. */
static int status(ev_t *e, const char *message_id)
{
    const char *code = param(e, "ErrorCode"), *params[5];
    PGresult *res;

    params[0] = e->client_id;
    params[1] = message_id;
    params[2] = param(e, "MessageSid");
    params[3] = cs_twilio_delivery_status(param(e, "MessageStatus"));
    params[4] = code && *code ? apr_pstrcat(e->job->pool, "Twilio error ", code, NULL) : NULL;
#define RANK(x) "array_position(ARRAY['queued','sending','sent','delivered','undelivered','failed'], " x ")"
    res = q(e, "UPDATE messages SET delivery_status = $4, provider_id = coalesce(provider_id, $3),"
               " delivery_error = CASE WHEN provider_id IS NULL AND delivery_status = 'failed'"
               "   THEN $5 ELSE coalesce($5, delivery_error) END"
               " WHERE client_id = $1 AND id = $2::bigint AND direction = 'outbound'"
               "   AND (provider_id IS NULL OR provider_id = $3)"
               "   AND (" RANK("coalesce(delivery_status, 'queued')") " <= " RANK("$4")
               "        OR (delivery_status = 'failed' AND provider_id IS NULL))"
               " RETURNING id", 5, params);
#undef RANK
    if (!res) return HTTP_SERVICE_UNAVAILABLE;
    PQclear(res);
    return OK;
}

/* One event: decode its body, do its work, mark it processed. */
static int process(ev_t *e, const char *id, const char *event_id, const char *payload)
{
    const char *ref = NULL, *params[2], *err = NULL;
    cs_twilio_event_t kind = cs_twilio_event_parse(e->job->pool, event_id, &ref);
    PGresult *res;
    int st = OK;

    e->note = NULL;
    if (cs_twilio_parse_form(e->job->pool, payload, strlen(payload), 1000, &e->params)
        != APR_SUCCESS) {
        e->note = "the body cannot be read";
    }
    else {
        switch (kind) {
        case CS_TWILIO_EV_SMS: st = sms(e); break;
        case CS_TWILIO_EV_CALL: st = call(e); break;
        case CS_TWILIO_EV_RECORDING: st = voice_callback(e, 0); break;
        case CS_TWILIO_EV_TRANSCRIPTION: st = voice_callback(e, 1); break;
        case CS_TWILIO_EV_STATUS: st = status(e, ref); break;
        default: e->note = "not an event id of ours"; break;
        }
    }
    if (st != OK) {
        return st;
    }
    if (!e->note && !e->conf && (kind == CS_TWILIO_EV_SMS || kind == CS_TWILIO_EV_CALL)) {
        e->note = "no vhost has ConsultTwilio for this client: stored, no automatic reply";
    }
    /* Kept in the journal with the reason; a fixed job can replay it. */
    params[0] = id;
    params[1] = e->note;
    res = cs_db_exec(e->job->conn, e->job->pool, &err, PGRES_COMMAND_OK,
        "UPDATE provider_events SET processed_at = now(), attempts = attempts + 1,"
        " last_error = $2 WHERE id = $1", 2, params);
    if (!res) return fail(e->job, "marking the event", err);
    PQclear(res);
    if (e->note) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, e->job->server, CSLOGNO(04031)
                     "Twilio event %s (%s): %s", id, event_id, e->note);
    }
    return OK;
}

int twilio_run_event(cs_job_t *job)
{
    cs_json_t *pl = NULL;
    apr_int64_t event = 0;
    const char *err = NULL, *params[3], *event_id, *ref = NULL, *slug;
    cs_twilio_event_t kind;
    PGresult *res;
    ev_t e;
    int i, mine = 0;

    if (strcmp(job->kind, TWILIO_JOB_EVENT)) {
        return DECLINED;
    }
    if (cs_json_parse(&pl, job->pool, job->payload, strlen(job->payload), &err) != APR_SUCCESS
        || !cs_jint(cs_json_raw(pl), "event", &event)) {
        job->permanent = 1;
        return fail(job, "payload", "expected {\"event\": ID}");
    }
    memset(&e, 0, sizeof(e));
    e.job = job;
    params[0] = apr_psprintf(job->pool, "%" APR_INT64_T_FMT, event);
    res = cs_db_exec(job->conn, job->pool, &err, PGRES_TUPLES_OK,
        "SELECT e.client_id, e.event_id, c.slug FROM provider_events e"
        " JOIN clients c ON c.id = e.client_id WHERE e.id = $1 AND e.provider = '" TWILIO_PROVIDER "'",
        1, params);
    if (!res) return fail(job, "reading the event", err);
    if (!PQntuples(res)) {
        PQclear(res);
        return OK;                  /* gone (its client deleted) */
    }
    e.client_id = apr_pstrdup(job->pool, PQgetvalue(res, 0, 0));
    event_id = apr_pstrdup(job->pool, PQgetvalue(res, 0, 1));
    slug = apr_pstrdup(job->pool, PQgetvalue(res, 0, 2));
    PQclear(res);
    e.conf = twilio_conf_for_slug(slug);
    kind = cs_twilio_event_parse(job->pool, event_id, &ref);

    params[1] = e.client_id;
    if (kind == CS_TWILIO_EV_CALL || kind == CS_TWILIO_EV_RECORDING
        || kind == CS_TWILIO_EV_TRANSCRIPTION) {
        /* This event and the call's earlier ones still waiting, in order. */
        params[2] = ref;
        res = cs_db_exec(job->conn, job->pool, &err, PGRES_TUPLES_OK,
            "SELECT id, event_id, payload, extract(epoch FROM received_at)::text"
            " FROM provider_events WHERE provider = '" TWILIO_PROVIDER "' AND client_id = $2"
            "   AND processed_at IS NULL AND id <= $1"
            "   AND (event_id = 'call:' || $3 OR starts_with(event_id, 'recording:' || $3 || ':')"
            "        OR starts_with(event_id, 'transcription:' || $3 || ':'))"
            " ORDER BY id FOR UPDATE", 3, params);
    }
    else {
        res = cs_db_exec(job->conn, job->pool, &err, PGRES_TUPLES_OK,
            "SELECT id, event_id, payload, extract(epoch FROM received_at)::text"
            " FROM provider_events WHERE id = $1 AND client_id = $2 AND processed_at IS NULL"
            " FOR UPDATE", 2, params);
    }
    if (!res) return fail(job, "locking the event", err);
    for (i = 0; i < PQntuples(res); i++) {
        mine |= !strcmp(PQgetvalue(res, i, 0), params[0]);
    }
    for (i = 0; mine && i < PQntuples(res); i++) {
        int st;
        e.received = PQgetvalue(res, i, 3);
        if ((st = process(&e, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                          PQgetvalue(res, i, 2))) != OK) {
            PQclear(res);
            return st;
        }
    }
    PQclear(res);
    return OK;                      /* or processed already */
}
