/*
 * The twilio.sms.send job: one outbound SMS, sent once.
 *
 * Twilio's Messages API has no idempotency key, so the job records that a
 * send began (committed before the HTTP call). A retry that finds that mark
 * without a stored SID asks Twilio for the message first (same To and
 * From, same body, created since the mark, whether sent yet or not) and only sends when Twilio has
 * none: a worker killed after Twilio accepted never sends twice.
 */
#include "twilio_private.h"
#include "base/cs_json.h"

#include <apr_strings.h>
#include <apr_date.h>

APLOG_USE_MODULE(consult_twilio);

typedef struct {
    cs_job_t *job;
    const twilio_conf *conf;
    cs_twilio_account_t account;  /* conf as common/providers/cs_twilio wants it */
    const char *id, *client_id, *body, *to, *status, *sid, *slug;
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
 * job does next (the worker then continues in a fresh transaction). The
 * row is not locked during the call to Twilio, so a status callback may
 * have said more already ("sent", "delivered"): what Twilio answered the
 * call ("queued") never takes the status back. */
/* Whether the stored status is already past what the call answered. */
#define STATES "ARRAY['queued','sending','sent','delivered','undelivered','failed']"
#define LATER "($3 IN ('queued', 'sent') AND m.delivery_status IS NOT NULL" \
              " AND array_position(" STATES ", m.delivery_status) > array_position(" STATES ", $3))"

static int record(out_msg *m, const char *status, const char *sid, const char *error)
{
    const char *params[5] = { m->id, m->client_id, status, sid, error }, *err = NULL;
    PGresult *res = cs_db_exec(m->job->conn, m->job->pool, &err, PGRES_COMMAND_OK,
        /* The test is on the row being updated (rechecked after a
         * concurrent callback commits), not on a snapshot of it. */
        "UPDATE messages m SET provider_id = coalesce($4, m.provider_id),"
        " delivery_status = CASE WHEN " LATER " THEN m.delivery_status ELSE $3 END,"
        " delivery_error = CASE WHEN " LATER " THEN m.delivery_error ELSE $5 END,"
        " send_started_at = CASE WHEN $3 = 'sending' THEN now() ELSE m.send_started_at END"
        " WHERE m.id = $1 AND m.client_id = $2", 5, params);
    if (!res) {
        return fail(m->job, 0, err);
    }
    PQclear(res);
    if (cs_db_command(m->job->conn, m->job->pool, &err, "COMMIT") != APR_SUCCESS
        || cs_db_command(m->job->conn, m->job->pool, &err, "BEGIN") != APR_SUCCESS) {
        return fail(m->job, 0, err);
    }
    return OK;
}

/* A failure a retry may fix. On the last attempt the message says so,
 * so staff are not left watching "sending" for a text that will not go. */
static int transient(out_msg *m, const char *why)
{
    if (m->job->attempt >= m->job->max_attempts) {
        int st = record(m, "failed", NULL, apr_psprintf(
            m->job->pool, "Not confirmed after %d attempts (it may still have gone out): %s",
            m->job->attempt, why));
        return st != OK ? st : fail(m->job, 1, why);
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

/* Did an earlier attempt reach Twilio? Returns 1 with m->sid set, 0 for no,
 * -1 when Twilio could not be asked or answered oddly (retry later). */
static int find_earlier(out_msg *m)
{
    apr_pool_t *p = m->job->pool;
    cs_http_req_t req;
    cs_http_resp_t *resp = NULL;
    const char *err = NULL;

    /* No DateSent filter: a message Twilio accepted but has not sent yet
     * (queued, accepted, sending) has no date_sent and would be left out.
     * The newest 50 between the two numbers hold any attempt of ours. */
    cs_twilio_build_list(&req, p, &m->account, m->to, m->conf->number);
    if (cs_http_perform(&resp, p, &req, &err) != APR_SUCCESS || resp->status / 100 != 2) {
        return -1;
    }
    return cs_twilio_find_in_list(p, resp->body, resp->len, m->body, m->started, &m->sid);
}

int twilio_run_job(cs_job_t *job)
{
    out_msg m;
    cs_json_t *payload;
    cs_http_req_t req;
    cs_http_resp_t *resp = NULL;
    const char *err = NULL, *mid, *cid, *status = NULL, *tmsg = NULL, *callback;
    const char *public_base;
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
        int earlier = find_earlier(&m);
        if (earlier < 0) {
            return transient(&m, "cannot ask Twilio whether an earlier attempt was sent");
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

    public_base = m.conf->public_url ? m.conf->public_url : NULL;
    callback = public_base ? apr_psprintf(job->pool, "%s/twilio/status?m=%s", public_base, m.id)
                           : NULL;
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
        return fail(job, 1, why);
    }
    /* 5xx and 429: it was not accepted; the mark stays and the retry asks. */
    return transient(&m, apr_psprintf(job->pool, "Twilio answered HTTP %ld", resp->status));
}
