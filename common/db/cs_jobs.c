#include "db/cs_jobs.h"
#include "db/cs_db.h"

#include <apr_atomic.h>
#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>

apr_interval_time_t cs_job_backoff(int attempt, apr_interval_time_t base,
                                   apr_interval_time_t cap, double r01)
{
    double d = (double)base;
    int i;

    for (i = 1; i < attempt && d < (double)cap; i++) {
        d *= 2;
    }
    if (d > (double)cap) {
        d = (double)cap;
    }
    if (r01 < 0) r01 = 0;
    if (r01 >= 1) r01 = 0.999999;
    return (apr_interval_time_t)(d / 2 + d / 2 * r01);
}

int cs_jobs_wake_due(volatile apr_uint32_t *last_ms, apr_uint32_t now_ms,
                     apr_uint32_t gap_ms)
{
    apr_uint32_t last = apr_atomic_read32(last_ms);

    /* The unsigned difference is right across the 49-day wrap. */
    return now_ms - last >= gap_ms && apr_atomic_cas32(last_ms, now_ms, last) == last;
}

static const char *usec_interval(apr_pool_t *p, apr_interval_time_t t)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT " microseconds", (apr_int64_t)t);
}

apr_status_t cs_jobs_enqueue(PGconn *conn, apr_pool_t *p, const char **perr,
                             const char *kind, const char *payload_json,
                             const char *unique_key, apr_interval_time_t delay)
{
    const char *params[4];
    PGresult *res;

    params[0] = kind;
    params[1] = payload_json ? payload_json : "{}";
    params[2] = unique_key;
    params[3] = usec_interval(p, delay);
    /* A job due now wakes the worker (it LISTENs on consult_jobs; the
     * notification is delivered at commit). */
    res = cs_db_exec(conn, p, perr, delay > 0 ? PGRES_COMMAND_OK : PGRES_TUPLES_OK,
                     delay > 0
                     ? "INSERT INTO jobs (kind, payload, unique_key, run_at)"
                       " VALUES ($1, $2::jsonb, $3, now() + $4::interval)"
                       " ON CONFLICT (unique_key) DO NOTHING"
                     : "WITH j AS (INSERT INTO jobs (kind, payload, unique_key, run_at)"
                       " VALUES ($1, $2::jsonb, $3, now() + $4::interval)"
                       " ON CONFLICT (unique_key) DO NOTHING RETURNING 1)"
                       " SELECT pg_notify('consult_jobs', '') FROM j", 4, params);
    if (!res) {
        return APR_EGENERAL;
    }
    PQclear(res);
    return APR_SUCCESS;
}

apr_status_t cs_jobs_claim(PGconn *conn, apr_pool_t *p, const char **perr,
                           const char *worker, apr_interval_time_t lease,
                           int max_attempts, cs_job_t **pjob)
{
    const char *params[3];
    PGresult *res;
    cs_job_t *job;

    *pjob = NULL;
    params[0] = worker;
    params[1] = usec_interval(p, lease);
    params[2] = apr_itoa(p, max_attempts);
    /* The inner SELECT skips rows another worker holds; the outer UPDATE
     * takes the lease in the same statement, so a claim is one round trip
     * and commits on its own (a crash after it leaves an expiring lease). */
    /* A running job whose lease ran out on its last attempt killed its
     * worker every time: it is parked as dead, not run for ever (and the
     * next due job is tried). */
    for (;;) {
        res = cs_db_exec(conn, p, perr, PGRES_TUPLES_OK,
                         "UPDATE jobs SET updated_at = now(),"
                         "  state = CASE WHEN state = 'running'"
                         "    AND attempts >= least(max_attempts, $3::int) THEN 'dead' ELSE 'running' END,"
                         "  last_error = CASE WHEN state = 'running'"
                         "    AND attempts >= least(max_attempts, $3::int)"
                         "    THEN 'the worker stopped during every attempt (' || attempts"
                         "      || '), last on ' || coalesce(locked_by, '?') ELSE last_error END,"
                         "  attempts = CASE WHEN state = 'running'"
                         "    AND attempts >= least(max_attempts, $3::int) THEN attempts ELSE attempts + 1 END,"
                         "  locked_by = $1, locked_until = now() + $2::interval"
                         " WHERE id = (SELECT id FROM jobs"
                         "   WHERE (state = 'queued' AND run_at <= now())"
                         "      OR (state = 'running' AND locked_until < now())"
                         "   ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)"
                         " RETURNING id, kind, payload::text, attempts, max_attempts, state",
                         3, params);
        if (!res) {
            return APR_EGENERAL;
        }
        if (PQntuples(res) == 0) {
            PQclear(res);
            return APR_NOTFOUND;
        }
        if (strcmp(PQgetvalue(res, 0, 5), "dead")) {
            break;
        }
        PQclear(res);
    }
    job = apr_pcalloc(p, sizeof(*job));
    job->id_str = apr_pstrdup(p, PQgetvalue(res, 0, 0));
    job->id = apr_atoi64(job->id_str);
    job->kind = apr_pstrdup(p, PQgetvalue(res, 0, 1));
    job->payload = apr_pstrdup(p, PQgetvalue(res, 0, 2));
    job->attempt = atoi(PQgetvalue(res, 0, 3));
    job->max_attempts = atoi(PQgetvalue(res, 0, 4));
    job->conn = conn;
    job->pool = p;
    job->worker = apr_pstrdup(p, worker);
    job->lease = params[1];
    PQclear(res);
    *pjob = job;
    return APR_SUCCESS;
}

apr_status_t cs_jobs_hold(PGconn *conn, apr_pool_t *p, const char **perr,
                          const cs_job_t *job)
{
    const char *params[3] = { job->id_str, job->worker, job->lease };
    PGresult *res = cs_db_exec(conn, p, perr, PGRES_TUPLES_OK,
                               "UPDATE jobs SET locked_until = now() + $3::interval"
                               " WHERE id = $1 AND state = 'running' AND locked_by = $2"
                               " RETURNING id", 3, params);

    if (!res) {
        return APR_EGENERAL;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        *perr = "lost the job's lease: another worker took it";
        return APR_EGENERAL;
    }
    PQclear(res);
    return APR_SUCCESS;
}

apr_status_t cs_jobs_checkpoint(PGconn *conn, apr_pool_t *p, const char **perr,
                                const cs_job_t *job)
{
    if (cs_db_command(conn, p, perr, "COMMIT") != APR_SUCCESS
        || cs_db_command(conn, p, perr, "BEGIN") != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    return cs_jobs_hold(conn, p, perr, job);
}

apr_status_t cs_jobs_done(PGconn *conn, apr_pool_t *p, const char **perr,
                          const cs_job_t *job, const char *worker)
{
    const char *params[2] = { job->id_str, worker };
    PGresult *res;

    /* Only while we still hold the lease: if it expired and another worker
     * took the job, our transaction must not also count as done. */
    res = cs_db_exec(conn, p, perr, PGRES_TUPLES_OK,
                     "UPDATE jobs SET state = 'done', done_at = now(), updated_at = now(),"
                     "  locked_until = NULL, last_error = NULL"
                     " WHERE id = $1 AND state = 'running' AND locked_by = $2"
                     " RETURNING id", 2, params);
    if (!res) {
        return APR_EGENERAL;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        *perr = "lost the job's lease before finishing";
        return APR_EGENERAL;
    }
    PQclear(res);
    return APR_SUCCESS;
}

apr_status_t cs_jobs_failed(PGconn *conn, apr_pool_t *p, const char **perr,
                            const cs_job_t *job, const char *worker,
                            int max_attempts, apr_interval_time_t delay,
                            int *pdead)
{
    const char *params[5];
    PGresult *res;

    params[0] = job->id_str;
    params[1] = worker;
    params[2] = job->error ? job->error : "failed";
    params[3] = usec_interval(p, delay);
    params[4] = job->permanent ? "0" : apr_itoa(p, max_attempts);
    res = cs_db_exec(conn, p, perr, PGRES_TUPLES_OK,
                     "UPDATE jobs SET"
                     "  state = CASE WHEN attempts >= least(max_attempts, $5::int)"
                     "               THEN 'dead' ELSE 'queued' END,"
                     "  run_at = now() + $4::interval, last_error = left($3, 2000),"
                     "  locked_by = NULL, locked_until = NULL, updated_at = now()"
                     " WHERE id = $1 AND state = 'running' AND locked_by = $2"
                     " RETURNING state", 5, params);
    if (!res) {
        return APR_EGENERAL;
    }
    *pdead = PQntuples(res) == 1 && !strcmp(PQgetvalue(res, 0, 0), "dead");
    PQclear(res);
    return APR_SUCCESS;
}

apr_status_t cs_jobs_stats(PGconn *conn, apr_pool_t *p, const char **perr,
                           cs_job_stats_t *out)
{
    PGresult *res = cs_db_exec(
        conn, p, perr, PGRES_TUPLES_OK,
        "SELECT count(*) FILTER (WHERE state = 'queued'),"
        "       count(*) FILTER (WHERE state = 'queued' AND run_at <= now()),"
        "       count(*) FILTER (WHERE state = 'running'),"
        "       (SELECT count(*) FROM jobs WHERE state = 'dead'),"
        "       coalesce(extract(epoch FROM now() - min(run_at)"
        "                FILTER (WHERE state = 'queued' AND run_at <= now())), 0)"
        "  FROM jobs WHERE state IN ('queued', 'running')", 0, NULL);
    if (!res) {
        return APR_EGENERAL;
    }
    out->queued = atol(PQgetvalue(res, 0, 0));
    out->due = atol(PQgetvalue(res, 0, 1));
    out->running = atol(PQgetvalue(res, 0, 2));
    out->dead = atol(PQgetvalue(res, 0, 3));
    out->oldest_due_s = atof(PQgetvalue(res, 0, 4));
    PQclear(res);
    return APR_SUCCESS;
}
