/*
 * The twilio.sms.send job: one outbound SMS, sent once.
 *
 * Twilio's Messages API has no idempotency key, so the job records that a
 * send began (committed before the HTTP call). A retry that finds that mark
 * without a stored SID asks Twilio for the message first (same To and
 * From, same body, created since the mark, whether sent yet or not) and only
 * sends when Twilio has none: a worker killed after Twilio accepted never
 * sends twice. Twilio's list echoes nothing of ours but the text, so a
 * match is adopted only when no other message of ours can own it
 * (cs_twilio_find_in_list); otherwise the job neither sends nor adopts, and
 * waits for Twilio's status callback, which names our message, or in the
 * end for a person.
 */
#include "twilio_private.h"
#include "base/cs_json.h"

#include <apr_strings.h>
#include <apr_date.h>
#include <stdlib.h>

APLOG_USE_MODULE(consult_twilio);

typedef struct {
    cs_job_t *job;
    const twilio_conf *conf;
    cs_twilio_account_t account;  /* conf as common/providers/cs_twilio wants it */
    const char *id, *client_id, *body, *to, *status, *sid, *slug;
    const char *stored_status, *stored_sid;  /* the row after the last record() */
    apr_time_t started;          /* send_started_at, 0 when none */
    int opted_out;
} out_msg;

static int fail(cs_job_t *job, int permanent, const char *msg)
{
    job->error = msg;
    job->permanent = permanent;
    return HTTP_SERVICE_UNAVAILABLE;
}

/* Write the message's outcome and commit it, so it stands whatever the
 * job does next (the worker then continues in a fresh transaction, still
 * holding the job). The row is not locked during the call to Twilio, so a
 * status callback may have said more already ("sent", "delivered"): what
 * Twilio answered the call ("queued") never takes the status back, and the
 * job's own "failed" (a refusal, or no answer on the last attempt) never
 * replaces a status Twilio reported, nor a message Twilio has a SID for. */
#define STATES "ARRAY['queued','sending','sent','delivered','undelivered','failed']"
#define KEEP "(($3 IN ('queued', 'sent') AND m.delivery_status IS NOT NULL" \
             " AND array_position(" STATES ", m.delivery_status) > array_position(" STATES ", $3))" \
             " OR ($3 = 'failed' AND (m.provider_id IS NOT NULL" \
             "     OR m.delivery_status IN ('sent', 'delivered', 'undelivered', 'failed'))))"

static int record(out_msg *m, const char *status, const char *sid, const char *error)
{
    const char *params[5] = { m->id, m->client_id, status, sid, error }, *err = NULL;
    PGresult *res = cs_db_exec(m->job->conn, m->job->pool, &err, PGRES_TUPLES_OK,
        /* The test is on the row being updated (rechecked after a
         * concurrent callback commits), not on a snapshot of it. */
        "UPDATE messages m SET provider_id = coalesce($4, m.provider_id),"
        " delivery_status = CASE WHEN " KEEP " THEN m.delivery_status ELSE $3 END,"
        " delivery_error = CASE WHEN " KEEP " THEN m.delivery_error ELSE $5 END,"
        " send_started_at = CASE WHEN $3 = 'sending' THEN now() ELSE m.send_started_at END"
        " WHERE m.id = $1 AND m.client_id = $2"
        " RETURNING m.delivery_status, m.provider_id", 5, params);
    if (!res) {
        return fail(m->job, 0, err);
    }
    m->stored_status = PQntuples(res) ? apr_pstrdup(m->job->pool, PQgetvalue(res, 0, 0)) : status;
    m->stored_sid = PQntuples(res) && !PQgetisnull(res, 0, 1)
                    ? apr_pstrdup(m->job->pool, PQgetvalue(res, 0, 1)) : NULL;
    PQclear(res);
    if (cs_jobs_checkpoint(m->job->conn, m->job->pool, &err, m->job) != APR_SUCCESS) {
        return fail(m->job, 0, err);
    }
    return OK;
}

/* After the job wrote "failed": did Twilio's own word (a status callback
 * while the call was out, or for an earlier attempt) stay instead? Then
 * the message's fate is known and the job is done, not dead. */
static int twilio_said_more(out_msg *m)
{
    if (m->stored_sid || strcmp(m->stored_status, "failed")) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, m->job->server, CSLOGNO(04022)
                     "message %s: Twilio reported it %s meanwhile; that stands", m->id,
                     m->stored_status);
        return 1;
    }
    return 0;
}

/* A failure a retry may fix. On the last attempt the message says so,
 * so staff are not left watching "sending" for a text that will not go. */
static int transient(out_msg *m, const char *why)
{
    if (m->job->attempt >= m->job->max_attempts) {
        int st = record(m, "failed", NULL, apr_psprintf(
            m->job->pool, "Not confirmed after %d attempts (it may still have gone out): %s",
            m->job->attempt, why));
        if (st != OK) return st;
        return twilio_said_more(m) ? OK : fail(m->job, 1, why);
    }
    return fail(m->job, 0, why);
}

static int load(out_msg *m, const char *message_id, const char *client_id)
{
    const char *params[2] = { message_id, client_id }, *err = NULL;
    PGresult *res = cs_db_exec(m->job->conn, m->job->pool, &err, PGRES_TUPLES_OK,
        "SELECT m.body, m.to_address, coalesce(m.delivery_status, 'queued'), m.provider_id,"
        "  extract(epoch FROM m.send_started_at)::bigint,"
        "  consult_sms_opted_out(ct.id, m.to_address), c.slug"
        " FROM messages m JOIN conversations cv ON cv.id = m.conversation_id"
        " JOIN contacts ct ON ct.id = cv.contact_id JOIN clients c ON c.id = m.client_id"
        " WHERE m.id = $1 AND m.client_id = $2 AND m.direction = 'outbound'"
        " FOR UPDATE OF m", 2, params);
    apr_pool_t *p = m->job->pool;

    if (!res) {
        return fail(m->job, 0, err);
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return fail(m->job, 1, "the message no longer exists");
    }
    m->id = message_id;
    m->client_id = client_id;
    m->body = apr_pstrdup(p, PQgetvalue(res, 0, 0));
    m->to = PQgetisnull(res, 0, 1) ? NULL : apr_pstrdup(p, PQgetvalue(res, 0, 1));
    m->status = apr_pstrdup(p, PQgetvalue(res, 0, 2));
    m->sid = PQgetisnull(res, 0, 3) ? NULL : apr_pstrdup(p, PQgetvalue(res, 0, 3));
    m->started = PQgetisnull(res, 0, 4) ? 0 : apr_time_from_sec(apr_atoi64(PQgetvalue(res, 0, 4)));
    m->opted_out = PQgetvalue(res, 0, 5)[0] == 't';
    m->slug = apr_pstrdup(p, PQgetvalue(res, 0, 6));
    PQclear(res);
    return OK;
}

/* Which of @p sids are stored on our messages already: another message's,
 * never this one's. */
static apr_status_t taken_sids(out_msg *m, const apr_array_header_t *sids,
                               apr_array_header_t **ptaken, const char **perr)
{
    const char *list = "{", *params[1];
    PGresult *res;
    int i;

    for (i = 0; i < sids->nelts; i++) {
        /* SIDs from the page are any JSON strings: quoted and escaped as
         * array elements, so the literal means what it says. */
        const char *s = APR_ARRAY_IDX(sids, i, const char *), *c;
        char *q = apr_palloc(m->job->pool, 2 * strlen(s) + 3), *o = q;
        *o++ = '"';
        for (c = s; *c; c++) {
            if (*c == '"' || *c == '\\') *o++ = '\\';
            *o++ = *c;
        }
        *o++ = '"';
        *o = '\0';
        list = apr_pstrcat(m->job->pool, list, i ? "," : "", q, NULL);
    }
    params[0] = apr_pstrcat(m->job->pool, list, "}", NULL);
    res = cs_db_exec(m->job->conn, m->job->pool, perr, PGRES_TUPLES_OK,
        "SELECT provider_id FROM messages WHERE provider = 'twilio'"
        " AND provider_id = ANY($1::text[])", 1, params);
    if (!res) return APR_EGENERAL;
    *ptaken = apr_array_make(m->job->pool, PQntuples(res) + 1, sizeof(const char *));
    for (i = 0; i < PQntuples(res); i++) {
        APR_ARRAY_PUSH(*ptaken, const char *) = apr_pstrdup(m->job->pool, PQgetvalue(res, i, 0));
    }
    PQclear(res);
    return APR_SUCCESS;
}

/* Other messages of ours, the same text to the same number, whose send
 * attempt began in the window a match may come from and that Twilio never
 * confirmed (no SID): each may own a match as well as this one. */
static int rivals(out_msg *m, const char **perr)
{
    const char *params[5] = { m->id, m->client_id, m->to, m->body,
                              apr_psprintf(m->job->pool, "%" APR_TIME_T_FMT,
                                           apr_time_sec(m->started)) };
    PGresult *res = cs_db_exec(m->job->conn, m->job->pool, perr, PGRES_TUPLES_OK,
        "SELECT count(*) FROM messages o WHERE o.client_id = $2 AND o.id <> $1"
        " AND o.direction = 'outbound' AND o.channel = 'sms' AND o.provider = 'twilio'"
        " AND o.provider_id IS NULL AND o.to_address = $3 AND o.body = $4"
        " AND o.send_started_at >= to_timestamp($5::double precision) - interval '60 seconds'",
        5, params);
    int n;
    if (!res) return -1;
    n = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    return n;
}

/* Did an earlier attempt reach Twilio? Returns 1 with m->sid set, 0 for no,
 * 2 when Twilio may have it but not provably as which message (*pwhy),
 * -1 when Twilio or the database could not be asked (retry later). */
static int find_earlier(out_msg *m, const char **pwhy)
{
    apr_pool_t *p = m->job->pool;
    cs_http_req_t req;
    cs_http_resp_t *resp = NULL;
    apr_array_header_t *matches = NULL, *taken = NULL;
    const char *err = NULL;
    cs_twilio_list_t found;
    int others;

    /* No DateSent filter: a message Twilio accepted but has not sent yet
     * (queued, accepted, sending) has no date_sent and would be left out.
     * The newest 50 between the two numbers hold any attempt of ours. */
    cs_twilio_build_list(&req, p, &m->account, m->to, m->conf->number);
    if (cs_http_perform(&resp, p, &req, &err) != APR_SUCCESS || resp->status / 100 != 2) {
        return -1;
    }
    found = cs_twilio_list_matches(p, resp->body, resp->len, m->body, m->started, &matches);
    if (found != CS_TWILIO_LIST_FOUND) {
        return found == CS_TWILIO_LIST_NONE ? 0 : -1;
    }
    if (taken_sids(m, matches, &taken, &err) != APR_SUCCESS || (others = rivals(m, &err)) < 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, m->job->server, CSLOGNO(04021)
                     "message %s: cannot compare Twilio's list with ours: %s", m->id, err);
        return -1;
    }
    switch (cs_twilio_find_in_list(p, resp->body, resp->len, m->body, m->started, taken,
                                   others, &m->sid)) {
    case CS_TWILIO_LIST_FOUND:
        return 1;
    case CS_TWILIO_LIST_NONE:
        return 0;
    case CS_TWILIO_LIST_UNSURE:
        *pwhy = apr_psprintf(p, "Twilio lists %d message(s) with this text to this number"
                             " since the attempt, and %d other message(s) of ours with the same"
                             " text were being sent then: which is this one cannot be told, so"
                             " it is neither sent again nor matched (check Twilio's message log"
                             " before resending)", matches->nelts - taken->nelts, others);
        return 2;
    default:
        return -1;
    }
}

int twilio_run_job(cs_job_t *job)
{
    out_msg m;
    cs_json_t *payload;
    cs_http_req_t req;
    cs_http_resp_t *resp = NULL;
    const char *err = NULL, *mid, *cid, *status = NULL, *tmsg = NULL, *callback;
    int code = 0, st;
    apr_status_t rv;

    if (strcmp(job->kind, "twilio.sms.send")) {
        return DECLINED;
    }
    memset(&m, 0, sizeof(m));
    m.job = job;
    if (cs_json_parse(&payload, job->pool, job->payload, strlen(job->payload), &err) != APR_SUCCESS) {
        return fail(job, 1, "payload is not JSON");
    }
    {
        json_object *v = NULL;
        mid = json_object_object_get_ex(cs_json_raw(payload), "message_id", &v)
              ? json_object_get_string(v) : NULL;
        cid = json_object_object_get_ex(cs_json_raw(payload), "client_id", &v)
              ? json_object_get_string(v) : NULL;
    }
    if (!mid || !cid) {
        return fail(job, 1, "payload lacks message_id or client_id");
    }
    if ((st = load(&m, mid, cid)) != OK) {
        return st;
    }
    if (m.sid) {
        return OK;                      /* already with Twilio */
    }
    if (!(m.conf = twilio_conf_for_slug(m.slug))) {
        record(&m, "failed", NULL, "SMS is not set up for this client");
        return fail(job, 1, "no ConsultTwilio vhost for this client");
    }
    m.account.api_base = m.conf->api_base;
    m.account.account_sid = m.conf->account_sid;
    m.account.auth_token = m.conf->auth_token;
    m.account.timeout = m.conf->timeout;
    if (!m.to) {
        record(&m, "failed", NULL, "no phone number to send to");
        return fail(job, 1, "no phone number");
    }
    if (m.opted_out) {
        record(&m, "failed", NULL, "the contact opted out of SMS (STOP)");
        return fail(job, 1, "contact opted out");
    }
    if (!strcmp(m.status, "sending") && m.started) {
        const char *why = NULL;
        int earlier = find_earlier(&m, &why);
        if (earlier < 0) {
            return transient(&m, "cannot ask Twilio whether an earlier attempt was sent");
        }
        if (earlier == 2) {
            /* Not sent, not adopted: a status callback naming this message
             * settles it before the next attempt (load() then finds the
             * SID); after the last, a person does. */
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, job->server, CSLOGNO(04023)
                         "message %s unconfirmed: %s", m.id, why);
            return transient(&m, why);
        }
        if (earlier > 0) {
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, job->server, CSLOGNO(04020)
                         "message %s: an earlier attempt reached Twilio as %s; not sending again",
                         m.id, m.sid);
            return record(&m, "sent", m.sid, NULL);
        }
    }
    /* The mark, committed before the call. */
    if ((st = record(&m, "sending", NULL, NULL)) != OK) {
        return st;
    }
    m.started = apr_time_now();

    /* Our message id rides in the callback URL: Twilio's status callbacks
     * name this message even when its answer to this call is lost. */
    callback = apr_psprintf(job->pool, "%s/twilio/status?m=%s", m.conf->public_url, m.id);
    cs_twilio_build_send(&req, job->pool, &m.account, m.to, m.conf->number, m.body,
                         callback);
    rv = cs_http_perform(&resp, job->pool, &req, &err);
    if (rv != APR_SUCCESS) {
        /* Timeout or connection trouble: maybe sent. The retry asks first. */
        return transient(&m, apr_pstrcat(job->pool, "Twilio: ", err, NULL));
    }
    if (resp->status / 100 == 2) {
        if (cs_twilio_parse_message_response(job->pool, resp->body, resp->len, &m.sid,
                                             &status, &code, &tmsg) != APR_SUCCESS) {
            return transient(&m, "Twilio answered 2xx without a message sid");
        }
        return record(&m, status && !strcmp(status, "sent") ? "sent" : "queued", m.sid, NULL);
    }
    cs_twilio_parse_message_response(job->pool, resp->body, resp->len, &m.sid, &status,
                                     &code, &tmsg);
    if (resp->status / 100 == 4 && resp->status != 429) {
        /* Twilio refused this message (bad number, blocked...): retrying
         * cannot help. Staff see Twilio's words on the message. */
        const char *why = apr_psprintf(job->pool, "Twilio error %d: %s", code,
                                       tmsg ? tmsg : "refused");
        if ((st = record(&m, "failed", NULL, why)) != OK) {
            return st;
        }
        return twilio_said_more(&m) ? OK : fail(job, 1, why);
    }
    /* 5xx and 429: it was not accepted; the mark stays and the retry asks. */
    return transient(&m, apr_psprintf(job->pool, "Twilio answered HTTP %ld", resp->status));
}
