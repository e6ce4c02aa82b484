/*
 * calcom.reconcile: once a day per client with ConsultCalAPIKey, what lost
 * Cal.com webhooks missed. Cal.com sends a webhook once and does not try
 * again for long, so one lost to an outage of ours (or a webhook removed
 * in Cal.com) would leave a booking off the timeline for good. The job
 * lists the bookings Cal.com changed in the last days (API v2, every page
 * up to a cap), reads each into the webhooks its state implies
 * (cs_calcom_parse_bookings) and, for each whose journal id is not in
 * core's journal yet, records it there under that id and applies it as
 * the calcom.event job would (integ_calcom_apply), all in this job's
 * transaction: on the timeline exactly once, and a webhook delivered late
 * afterwards is answered as a duplicate. What it recovered is counted on
 * the client's Cal.com account row, shown on the settings page.
 *
 * A listing that fails changes nothing but the account's state (failing,
 * with Cal.com's reason, committed on its own so the page and
 * /consult/health show it) and is retried with backoff; a refused key is
 * not retried (tomorrow's run, committed first, tries again).
 */
#include "integ_private.h"

#include <apr_strings.h>

APLOG_USE_MODULE(consult_integrations);

/* How far back a run looks: a week of outage or lost webhooks. */
#define LOOKBACK        apr_time_from_sec(7 * 86400)
/* At most this many pages (CS_CALCOM_PAGE_SIZE bookings each) per run. */
#define MAX_PAGES       20

static int exec_ok(cs_job_t *job, const char *sql, int n, const char *const *params)
{
    PGresult *res = cs_db_exec(job->conn, job->pool, &job->error, PGRES_COMMAND_OK, sql, n,
                               params);
    if (res) PQclear(res);
    return res != NULL;
}

/* The account's state after a listing: connected, or failing with @p why
 * (committed at once: the job's own writes are about to roll back). */
static void mark(cs_job_t *job, const char *client_id, const char *why)
{
    const char *params[2] = { client_id, why }, *err = NULL;

    if (!why) {
        exec_ok(job, "UPDATE integration_accounts SET state = 'connected', last_error = NULL,"
                     "  updated_at = now() WHERE client_id = $1 AND provider = 'calcom'",
                1, params);
        return;
    }
    if (exec_ok(job, "UPDATE integration_accounts SET state = 'failing',"
                     "  last_error = left($2, 2000), last_error_at = now(), updated_at = now()"
                     " WHERE client_id = $1 AND provider = 'calcom'", 2, params)) {
        cs_jobs_checkpoint(job->conn, job->pool, &err, job);
    }
}

/* Every event the recent bookings imply, page by page. */
static apr_status_t list_events(apr_array_header_t **pevents, cs_job_t *job,
                                const integ_conf *c, const char **pwhy)
{
    apr_array_header_t *all = apr_array_make(job->pool, 32, sizeof(cs_calcom_event_t *));
    apr_time_t since = apr_time_now() - LOOKBACK;
    int pg_no, unreadable = 0;

    for (pg_no = 0; pg_no < MAX_PAGES; pg_no++) {
        cs_http_req_t req;
        cs_http_resp_t *resp = NULL;
        cs_calcom_page_t *page = NULL;
        apr_status_t rv;

        cs_calcom_build_list_bookings(&req, job->pool, &c->cal_api, since, CS_CALCOM_PAGE_SIZE,
                                      pg_no * CS_CALCOM_PAGE_SIZE);
        if ((rv = cs_http_perform(&resp, job->pool, &req, pwhy)) != APR_SUCCESS) {
            *pwhy = apr_pstrcat(job->pool, "Cal.com could not be reached: ", *pwhy, NULL);
            return APR_EAGAIN;
        }
        if ((rv = cs_calcom_parse_bookings(&page, job->pool, resp->status, resp->body, resp->len,
                                           CS_CALCOM_PAGE_SIZE, pwhy)) != APR_SUCCESS) {
            return rv;
        }
        apr_array_cat(all, page->events);
        unreadable += page->unreadable;
        if (!page->more) {
            break;
        }
    }
    if (pg_no == MAX_PAGES) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, job->server, CSLOGNO(07070)
                     "job %s: Cal.com reconciliation of %s stopped after %d bookings",
                     job->id_str, c->slug, MAX_PAGES * CS_CALCOM_PAGE_SIZE);
    }
    if (unreadable) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, job->server, CSLOGNO(07071)
                     "job %s: Cal.com listed %d booking(s) for %s that cannot be read",
                     job->id_str, unreadable, c->slug);
    }
    *pevents = all;
    return APR_SUCCESS;
}

/* One event: journaled and applied under a savepoint, so a booking that
 * cannot be applied (no attendee email or phone) is left for the next run
 * and the rest still are. 1 recovered, 0 not, -1 the database failed. */
static int recover(cs_job_t *job, const char *client_id, const char *slug,
                   const cs_calcom_event_t *ev)
{
    const char *err = NULL;
    apr_int64_t row = 0;
    int dup = 0, st;
    apr_status_t rv;

    if (!exec_ok(job, "SAVEPOINT calcom_recover", 0, NULL)) {
        return -1;
    }
    rv = integ_core.journal_add(job->conn, job->pool, "calcom", client_id, ev->journal_id,
                                ev->listed_json, strlen(ev->listed_json), &row, &dup, &err);
    if (rv == APR_SUCCESS && dup) {
        /* a webhook (or an earlier run) brought it: its job applies it */
        return exec_ok(job, "RELEASE SAVEPOINT calcom_recover", 0, NULL) ? 0 : -1;
    }
    if (rv == APR_SUCCESS) {
        st = integ_calcom_apply(job, client_id, slug, ev, &dup);
        if (st == OK) {
            st = integ_journal_processed(job, apr_psprintf(job->pool, "%" APR_INT64_T_FMT, row));
        }
        if (st == OK) {
            return exec_ok(job, "RELEASE SAVEPOINT calcom_recover", 0, NULL) ? !dup : -1;
        }
        err = job->error;
    }
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, job->server, CSLOGNO(07072)
                 "job %s: Cal.com booking %s of %s not recovered: %s", job->id_str,
                 ev->journal_id, slug, err ? err : "cannot be stored");
    job->error = NULL;
    job->permanent = 0;
    return exec_ok(job, "ROLLBACK TO SAVEPOINT calcom_recover", 0, NULL) ? 0 : -1;
}

int integ_cal_reconcile_job(cs_job_t *job)
{
    const char *client_id = integ_payload_str(job, "client_id"), *slug, *why = NULL;
    const char *params[2];
    apr_array_header_t *events = NULL;
    const integ_conf *c;
    PGresult *res;
    apr_status_t rv;
    int i, n, recovered = 0;

    if (!client_id) {
        job->error = "payload lacks client_id";
        job->permanent = 1;
        return HTTP_BAD_REQUEST;
    }
    params[0] = client_id;
    if (!(res = cs_db_exec(job->conn, job->pool, &job->error, PGRES_TUPLES_OK,
                           "SELECT slug FROM clients WHERE id = $1", 1, params))) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    slug = PQntuples(res) ? apr_pstrdup(job->pool, PQgetvalue(res, 0, 0)) : NULL;
    PQclear(res);
    if (!(c = integ_conf_for_slug(slug)) || !c->cal_api.api_key) {
        job->error = "Cal.com reconciliation is not configured for this client (ConsultCalAPIKey)";
        job->permanent = 1;
        return HTTP_NOT_IMPLEMENTED;
    }
    /* Tomorrow's run and the account row first, committed: a failing
     * Cal.com must not stop the daily runs. */
    if (integ_reconcile_next(job, INTEG_JOB_CAL_RECONCILE, client_id) != OK
        || !exec_ok(job, "INSERT INTO integration_accounts (client_id, provider, state)"
                         " VALUES ($1, 'calcom', 'connected')"
                         " ON CONFLICT (client_id, provider) DO NOTHING", 1, params)
        || cs_jobs_checkpoint(job->conn, job->pool, &job->error, job) != APR_SUCCESS) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if ((rv = list_events(&events, job, c, &why)) != APR_SUCCESS) {
        mark(job, client_id, why);
        job->error = why;
        job->permanent = APR_STATUS_IS_EACCES(rv) || APR_STATUS_IS_EINVAL(rv);
        return APR_STATUS_IS_EAGAIN(rv) ? HTTP_SERVICE_UNAVAILABLE : HTTP_BAD_GATEWAY;
    }
    n = events->nelts;
    for (i = 0; i < n; i++) {
        int got = recover(job, client_id, slug, APR_ARRAY_IDX(events, i, cs_calcom_event_t *));
        if (got < 0) {
            return HTTP_SERVICE_UNAVAILABLE;
        }
        recovered += got;
    }
    mark(job, client_id, NULL);
    params[1] = apr_itoa(job->pool, recovered);
    if (!exec_ok(job, "UPDATE integration_accounts SET reconciled_at = now(),"
                      "  reconcile_recovered = $2::integer, updated_at = now()"
                      " WHERE client_id = $1 AND provider = 'calcom'", 2, params)) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (recovered) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, job->server, CSLOGNO(07073)
                     "job %s: Cal.com reconciliation of %s recovered %d booking event(s) no "
                     "webhook had brought", job->id_str, c->slug, recovered);
    }
    return OK;
}
