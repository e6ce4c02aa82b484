/*
 * POST /webhooks/calcom and POST /webhooks/jobber on a client's vhost.
 * Both follow the one inbound rule: verify the signature over the raw
 * bytes in constant time (common/providers), record the delivery in core's
 * journal with its job in one statement, answer 2xx after that committed.
 * Nothing else happens in the request, so Jobber's one-second deadline is
 * met and a failure later is retried by the job, never lost. A forged or
 * unsigned delivery answers 401 and writes nothing; a redelivery (same
 * event id) answers 200 and writes nothing.
 */
#include "integ_private.h"

#include "http_protocol.h"
#include <apr_strings.h>

APLOG_USE_MODULE(consult_integrations);

static int record(request_rec *r, const char *provider, const char *event_id,
                  const char *body, apr_size_t len, const char *job_kind)
{
    int dup = 0;
    apr_status_t rv = integ_core.journal_record(r, provider, event_id, body, len, job_kind,
                                                &dup);
    if (APR_STATUS_IS_NOTFOUND(rv)) {
        return integ_core.send_error(r, HTTP_NOT_FOUND, "not_found", "No such client.");
    }
    if (APR_STATUS_IS_EINVAL(rv)) {
        return integ_core.send_error(r, HTTP_BAD_REQUEST, "bad_event",
                                     "The event cannot be stored.");
    }
    if (rv != APR_SUCCESS) {
        /* No 2xx: the provider delivers again, and that is idempotent. */
        return integ_core.send_error(r, HTTP_SERVICE_UNAVAILABLE, "unavailable",
                                     "Try again shortly.");
    }
    return integ_core.send_json(r, HTTP_OK, dup ? "{\"ok\":true,\"duplicate\":true}"
                                                : "{\"ok\":true}");
}

static int read_body(request_rec *r, char **pbody, apr_size_t *plen)
{
    int st = integ_core.read_body(r, INTEG_MAX_BODY, pbody, plen);
    if (st != OK) {
        return integ_core.send_error(r, st, st == HTTP_REQUEST_ENTITY_TOO_LARGE ? "too_large"
                                     : "bad_request", "The body could not be read.");
    }
    return OK;
}

static int refused(request_rec *r, const integ_conf *c, const char *provider, const char *why)
{
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, CSLOGNO(07010)
                  "%s webhook for %s refused: %s", provider, c->slug, why ? why : "bad signature");
    return integ_core.send_error(r, HTTP_UNAUTHORIZED, "bad_signature",
                                 "The signature is missing or wrong.");
}

int integ_calcom_webhook(request_rec *r, integ_conf *c)
{
    cs_calcom_event_t *ev = NULL;
    const char *why = NULL;
    char *body = NULL;
    apr_size_t len = 0;
    int st;

    if ((st = read_body(r, &body, &len)) != OK || !body) {
        return st;
    }
    if (cs_calcom_verify(apr_table_get(r->headers_in, CS_CALCOM_SIGNATURE_HEADER), body, len,
                         c->cal_secret, &why) != APR_SUCCESS) {
        return refused(r, c, "Cal.com", why);
    }
    if (cs_calcom_parse_event(&ev, r->pool, body, len, &why) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, CSLOGNO(07011)
                      "Cal.com webhook for %s unreadable: %s", c->slug, why);
        return integ_core.send_error(r, HTTP_BAD_REQUEST, "bad_event", "The event cannot be read.");
    }
    if (!ev->journal_id) {
        /* A PING (Cal.com's "test" button), or a trigger we do not act on
         * without a booking: signed, so say yes, store nothing. */
        return integ_core.send_json(r, HTTP_OK, "{\"ok\":true,\"ignored\":true}");
    }
    return record(r, "calcom", ev->journal_id, body, len, INTEG_JOB_CALCOM);
}

int integ_jobber_webhook(request_rec *r, integ_conf *c)
{
    cs_jobber_webhook_t *w = NULL;
    const char *why = NULL;
    char *body = NULL;
    apr_size_t len = 0;
    int st;

    if ((st = read_body(r, &body, &len)) != OK || !body) {
        return st;
    }
    if (cs_jobber_verify_webhook(r->pool, apr_table_get(r->headers_in, CS_JOBBER_SIGNATURE_HEADER),
                                 body, len, c->jobber_webhook_secret ? c->jobber_webhook_secret
                                                                     : c->app.client_secret,
                                 &why) != APR_SUCCESS) {
        return refused(r, c, "Jobber", why);
    }
    if (cs_jobber_parse_webhook(&w, r->pool, body, len, &why) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, CSLOGNO(07012)
                      "Jobber webhook for %s unreadable: %s", c->slug, why);
        return integ_core.send_error(r, HTTP_BAD_REQUEST, "bad_event", "The event cannot be read.");
    }
    /* At least once: (topic, item id, occurred at) names one event. */
    return record(r, "jobber", w->event_id, body, len, INTEG_JOB_JOBBER);
}
