/*
 * The worker's start: today's reconciliations, and ConsultJobberAutoSend
 * copied onto the account for the database's trigger.
 *
 * jobber.reconcile: once a day per client with ConsultJobber On, what lost
 * webhooks missed. Jobber delivers webhooks at least once, but a delivery
 * can still be lost (our outage past its retries, a subscription removed):
 * the job fetches every request we sent in the last 60 days by id and
 * keeps any status that changed, counting what it recovered on the
 * account (shown on the settings page). calcom.reconcile does the same
 * for Cal.com's bookings (integ_cal_reconcile.c). Each run enqueues the
 * next, at 03:00 UTC the next day (unique per kind, client and day); the
 * worker_start hook makes sure one exists after an outage or a new
 * configuration.
 */
#include "integ_private.h"

#include <apr_strings.h>

APLOG_USE_MODULE(consult_integrations);

/* Today's run of @p kind for client @p slug, if there was none: due now. */
static void schedule_today(server_rec *v, PGconn *conn, apr_pool_t *p, const char *kind,
                           const char *slug)
{
    const char *params[2] = { kind, slug }, *err = NULL;
    PGresult *res = cs_db_exec(conn, p, &err, PGRES_COMMAND_OK,
                               "INSERT INTO jobs (kind, payload, unique_key)"
                               " SELECT $1, jsonb_build_object('client_id', c.id),"
                               "  $1 || ':' || c.id || ':'"
                               "  || to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
                               " FROM clients c WHERE c.slug = $2"
                               " ON CONFLICT (unique_key) DO NOTHING", 2, params);
    if (!res) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, v, CSLOGNO(07060)
                     "cannot schedule the %s of %s: %s", kind, slug, err);
        return;
    }
    PQclear(res);
}

int integ_reconcile_next(cs_job_t *job, const char *kind, const char *client_id)
{
    const char *params[2] = { kind, client_id };
    PGresult *res = cs_db_exec(job->conn, job->pool, &job->error, PGRES_COMMAND_OK,
        "INSERT INTO jobs (kind, payload, unique_key, run_at)"
        " VALUES ($1, jsonb_build_object('client_id', $2::bigint),"
        "  $1 || ':' || $2 || ':'"
        "  || to_char((now() AT TIME ZONE 'UTC') + interval '1 day', 'YYYY-MM-DD'),"
        "  (date_trunc('day', now() AT TIME ZONE 'UTC') + interval '1 day 3 hours')"
        "   AT TIME ZONE 'UTC')"
        " ON CONFLICT (unique_key) DO NOTHING", 2, params);
    if (!res) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    PQclear(res);
    return OK;
}

void integ_worker_start(server_rec *s, PGconn *conn, apr_pool_t *p)
{
    server_rec *v;

    for (v = s; v; v = v->next) {
        const integ_conf *c = integ_sconf(v);
        const char *err = NULL;
        PGresult *res;

        if (!c->slug || integ_conf_for_slug(c->slug) != c) {
            continue;
        }
        if (c->cal_api.api_key) {
            schedule_today(v, conn, p, INTEG_JOB_CAL_RECONCILE, c->slug);
        }
        if (c->jobber != 1) {
            continue;
        }
        schedule_today(v, conn, p, INTEG_JOB_RECONCILE, c->slug);
        /* ConsultJobberAutoSend as configured now (the trigger of
         * sql/functions/consult_jobber_autosend.sql reads it). */
        {
            const char *ap[2] = { c->slug, c->auto_send ? c->auto_send : "{}" };
            res = cs_db_exec(conn, p, &err, PGRES_COMMAND_OK,
                             "UPDATE integration_accounts a SET auto_send = $2::text[]"
                             " FROM clients c WHERE c.id = a.client_id AND c.slug = $1"
                             "  AND a.provider = 'jobber' AND a.auto_send <> $2::text[]", 2, ap);
            if (res) PQclear(res);
        }
    }
}

int integ_reconcile_job(cs_job_t *job, const integ_conf *c, const char *client_id)
{
    const char *params[2] = { client_id, NULL }, *why = NULL;
    int i, n, recovered = 0;
    PGresult *res;

    /* Tomorrow's run first, committed: a failing Jobber, whose attempts
     * roll back, must not stop the daily runs. */
    if (integ_reconcile_next(job, INTEG_JOB_RECONCILE, client_id) != OK
        || cs_jobs_checkpoint(job->conn, job->pool, &job->error, job) != APR_SUCCESS) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    res = cs_db_exec(job->conn, job->pool, &job->error, PGRES_TUPLES_OK,
                     "SELECT jobber_request_id FROM jobber_requests"
                     " WHERE client_id = $1 AND jobber_request_id IS NOT NULL"
                     "  AND created_at > now() - interval '60 days'"
                     "  AND EXISTS (SELECT 1 FROM integration_accounts a WHERE a.client_id = $1"
                     "   AND a.provider = 'jobber' AND a.state IN ('connected', 'failing'))"
                     " ORDER BY created_at DESC LIMIT 200", 1, params);
    if (!res) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    n = PQntuples(res);
    for (i = 0; i < n; i++) {
        cs_jobber_item_t *item = NULL;
        const char *id = apr_pstrdup(job->pool, PQgetvalue(res, i, 0));
        apr_status_t rv = integ_jobber_fetch(&item, job, c, client_id, "REQUEST_UPDATE", id, &why);
        int changed;
        if (APR_STATUS_IS_ENOENT(rv)) {
            continue;           /* deleted in Jobber */
        }
        if (rv != APR_SUCCESS) {
            PQclear(res);
            return integ_jobber_failed(job, client_id, rv, why);
        }
        if ((changed = integ_jobber_store_item(job, client_id, item)) < 0) {
            PQclear(res);
            return HTTP_SERVICE_UNAVAILABLE;
        }
        recovered += changed;
    }
    PQclear(res);
    params[1] = apr_itoa(job->pool, recovered);
    res = cs_db_exec(job->conn, job->pool, &job->error, PGRES_COMMAND_OK,
                     "UPDATE integration_accounts SET reconciled_at = now(),"
                     "  reconcile_recovered = $2::integer, updated_at = now()"
                     " WHERE client_id = $1 AND provider = 'jobber'", 2, params);
    if (!res) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    PQclear(res);
    if (recovered) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, job->server, CSLOGNO(07061)
                     "job %s: Jobber reconciliation of %s recovered %d change(s) no webhook "
                     "had brought", job->id_str, c->slug, recovered);
    }
    return OK;
}
