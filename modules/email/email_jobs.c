/* mod_consult_email's jobs: email.send (a staff reply) and
 * notification.send (a new message for the client's staff). Every request
 * carries an Idempotency-Key made from our row id, so a retried job never
 * sends a second email (Resend keeps keys 24 h). */
#include "email_private.h"
#include "http_log.h"
#include "db/cs_db.h"
#include "db/cs_jobs.h"
#include "http/cs_http.h"
#include "base/cs_json.h"
#include "providers/cs_resend.h"

#include <apr_strings.h>
#include <string.h>

APLOG_USE_MODULE(consult_email);

static int fail(cs_job_t *job, int permanent, const char *why)
{
    job->error = why;
    job->permanent = permanent;
    return HTTP_SERVICE_UNAVAILABLE;
}

/* POST /emails, built and read by common/providers/cs_resend, sent here.
 * APR_SUCCESS with *pid; otherwise *pwhy and *ppermanent. */
static apr_status_t send_email(cs_job_t *job, const email_conf *c, const char *idem,
                               apr_array_header_t *to, const char *subject,
                               const char *text, const char **pid, const char **pwhy,
                               int *ppermanent)
{
    cs_resend_account_t account = { c->api_base, c->key, c->timeout };
    cs_resend_email_t email = { c->from, to, c->reply_to, subject, text, idem };
    cs_http_req_t req;
    cs_http_resp_t *resp = NULL;
    const char *err = NULL;

    cs_resend_build_send(&req, job->pool, &account, &email);
    *ppermanent = 0;
    if (cs_http_perform(&resp, job->pool, &req, &err) != APR_SUCCESS) {
        *pwhy = apr_pstrcat(job->pool, "Resend: ", err, NULL);
        return APR_EGENERAL;
    }
    return cs_resend_parse_answer(job->pool, resp->status, resp->body, resp->len, pid,
                                  pwhy, ppermanent);
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
    if (cs_jobs_checkpoint(job->conn, job->pool, &err, job) != APR_SUCCESS) {
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
    c = email_conf_for_slug(PQgetvalue(res, 0, 3));
    if (!c || PQgetisnull(res, 0, 1)) {
        PQclear(res);
        record(job, mid, "failed", NULL, "email is not set up for this client");
        return fail(job, 1, "email not configured");
    }
    {
        apr_array_header_t *to = apr_array_make(job->pool, 1, sizeof(const char *));
        const char *body = apr_pstrdup(job->pool, PQgetvalue(res, 0, 0));
        const char *subject = apr_psprintf(job->pool, "Re: your message to %s",
                                           PQgetvalue(res, 0, 4));
        APR_ARRAY_PUSH(to, const char *) = apr_pstrdup(job->pool, PQgetvalue(res, 0, 1));
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
    apr_array_header_t *to;
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
    if (!(c = email_conf_for_slug(slug))) {
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
        to = apr_array_make(job->pool, PQntuples(res), sizeof(const char *));
        for (i = 0; i < PQntuples(res) && i < 50; i++) {
            APR_ARRAY_PUSH(to, const char *) = apr_pstrdup(job->pool, PQgetvalue(res, i, 0));
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

int email_run_job(cs_job_t *job)
{
    if (!strcmp(job->kind, "email.send")) return reply_job(job);
    if (!strcmp(job->kind, "notification.send")) return notify_job(job);
    return DECLINED;
}
