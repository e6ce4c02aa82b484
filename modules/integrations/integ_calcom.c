/*
 * The calcom.event job: one journaled Cal.com delivery onto the contact's
 * timeline. Everything happens in consult_calcom_booking (one statement
 * in the job's transaction: the booking, the contact by the intake's
 * rules, one `booking` message per (uid, trigger) with its time in the
 * client's zone, the staff notification), so a job that dies half-way
 * leaves nothing and runs again. calcom.reconcile applies what it
 * recovers through the same integ_calcom_apply.
 */
#include "integ_private.h"
#include "text/cs_text.h"

#include <apr_strings.h>

APLOG_USE_MODULE(consult_integrations);

const char *integ_payload_str(cs_job_t *job, const char *key)
{
    cs_json_t *doc = NULL;
    const char *err = NULL;
    json_object *v = NULL;

    if (cs_json_parse(&doc, job->pool, job->payload, strlen(job->payload), &err) != APR_SUCCESS
        || !json_object_object_get_ex(cs_json_raw(doc), key, &v) || !v) {
        return NULL;
    }
    return apr_pstrdup(job->pool, json_object_get_string(v));
}

static const char *iso(apr_pool_t *p, apr_time_t t)
{
    apr_time_exp_t x;
    if (!t) return NULL;
    apr_time_exp_gmt(&x, t);
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02dZ", x.tm_year + 1900, x.tm_mon + 1,
                        x.tm_mday, x.tm_hour, x.tm_min, x.tm_sec);
}

PGresult *integ_journal_row(cs_job_t *job, const char *provider, const char *event_id)
{
    const char *params[2] = { event_id, provider };
    return cs_db_exec(job->conn, job->pool, &job->error, PGRES_TUPLES_OK,
                      "SELECT e.payload, e.client_id, c.slug FROM provider_events e"
                      " JOIN clients c ON c.id = e.client_id"
                      " WHERE e.id = $1 AND e.provider = $2 FOR UPDATE OF e", 2, params);
}

int integ_journal_processed(cs_job_t *job, const char *event_id)
{
    const char *params[1] = { event_id };
    PGresult *res = cs_db_exec(job->conn, job->pool, &job->error, PGRES_COMMAND_OK,
                               "UPDATE provider_events SET processed_at = now(),"
                               "  attempts = attempts + 1, last_error = NULL WHERE id = $1", 1,
                               params);
    if (!res) return HTTP_SERVICE_UNAVAILABLE;
    PQclear(res);
    return OK;
}

int integ_calcom_apply(cs_job_t *job, const char *client_id, const char *slug,
                       const cs_calcom_event_t *ev, int *pduplicate)
{
    const char *email = NULL, *phone = NULL, *tz, *params[16], *region, *err = NULL;
    PGresult *res;

    *pduplicate = 0;
    region = integ_core.phone_region ? integ_core.phone_region(slug) : "US";
    if (ev->attendee_email) cs_email_normalize(job->pool, ev->attendee_email, &email);
    if (ev->attendee_phone) cs_phone_e164(job->pool, ev->attendee_phone, region, &phone);
    /* The client's zone (ConsultTimeZone), else the organizer's as Cal.com
     * knows it; the function falls back to UTC for a zone it does not know. */
    tz = integ_core.client_time_zone ? integ_core.client_time_zone(slug) : NULL;
    if ((!tz || !strcmp(tz, "UTC")) && ev->organizer_time_zone) {
        tz = ev->organizer_time_zone;
    }
    params[0] = client_id;
    params[1] = cs_calcom_trigger_name(ev->trigger);
    params[2] = ev->uid;
    params[3] = ev->reschedule_uid;
    params[4] = ev->title;
    params[5] = ev->event_type;
    params[6] = iso(job->pool, ev->start);
    params[7] = iso(job->pool, ev->end);
    params[8] = ev->attendee_name;
    params[9] = email;
    params[10] = phone;
    params[11] = ev->attendee_time_zone;
    params[12] = ev->location ? ev->location : ev->video_url;
    params[13] = ev->notes;
    params[14] = ev->cancellation_reason;
    params[15] = tz;
    res = cs_db_exec(job->conn, job->pool, &err, PGRES_TUPLES_OK,
                     "SELECT o_booking_id, o_message_id, o_duplicate FROM consult_calcom_booking("
                     "$1, $2, $3, $4, left($5, 500), left($6, 200), $7::timestamptz,"
                     " $8::timestamptz, left($9, 200), $10, $11, left($12, 64), left($13, 1000),"
                     " left($14, 2000), left($15, 1000), $16)", 16, params);
    if (!res) {
        job->error = err;
        /* An attendee without email or phone can never be a contact. */
        job->permanent = err && strstr(err, "no attendee email or phone") != NULL;
        return HTTP_SERVICE_UNAVAILABLE;
    }
    *pduplicate = PQgetvalue(res, 0, 2)[0] == 't';
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, job->server, CSLOGNO(07030)
                 "job %s: Cal.com %s for %s: booking %s%s", job->id_str,
                 params[1], slug, PQgetvalue(res, 0, 0), *pduplicate ? " (already applied)" : "");
    PQclear(res);
    return OK;
}

int integ_calcom_job(cs_job_t *job)
{
    const char *event_id = integ_payload_str(job, "event"), *why = NULL;
    const char *client_id, *slug;
    cs_calcom_event_t *ev = NULL;
    PGresult *res;
    int st, dup = 0;

    if (!event_id) {
        job->error = "payload lacks the event";
        job->permanent = 1;
        return HTTP_BAD_REQUEST;
    }
    if (!(res = integ_journal_row(job, "calcom", event_id))) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return OK;
    }
    client_id = apr_pstrdup(job->pool, PQgetvalue(res, 0, 1));
    slug = apr_pstrdup(job->pool, PQgetvalue(res, 0, 2));
    if (cs_calcom_parse_event(&ev, job->pool, PQgetvalue(res, 0, 0), PQgetlength(res, 0, 0),
                              &why) != APR_SUCCESS) {
        PQclear(res);
        job->error = apr_pstrcat(job->pool, "the stored event cannot be read: ", why, NULL);
        job->permanent = 1;
        return HTTP_BAD_REQUEST;
    }
    PQclear(res);
    if (ev->trigger != CS_CALCOM_OTHER
        && (st = integ_calcom_apply(job, client_id, slug, ev, &dup)) != OK) {
        return st;
    }
    return integ_journal_processed(job, event_id);
}
