/**
 * @file cs_jobs.h
 * @brief The durable job queue in Postgres.
 *
 * States: queued -> running (claimed with a lease) -> done, or back to
 * queued with a backoff delay after a failure, or dead after the last
 * attempt. A running job whose lease ran out (its process died) is
 * claimable again. Claims use FOR UPDATE SKIP LOCKED, so any number of
 * workers on any number of machines run each job once at a time.
 */
#ifndef CS_JOBS_H
#define CS_JOBS_H

#include <apr_pools.h>
#include <apr_time.h>
#include <libpq-fe.h>

/** A claimed job, as handed to the module that runs its kind. */
typedef struct {
    apr_int64_t id;
    const char *id_str;
    const char *kind;
    const char *payload;      /**< JSON text */
    int attempt;              /**< 1 on the first run */
    int max_attempts;         /**< the limit that applies: the job's, or the worker's when lower */
    PGconn *conn;             /**< in the job's transaction: writes commit with "done" */
    apr_pool_t *pool;         /**< cleared after the job */
    void *server;             /**< server_rec of the worker, for logging */
    const char *error;        /**< set by a failing handler */
    int permanent;            /**< failure retrying cannot fix: dead at once */
    int changed;              /**< set by a handler whose writes change what public
                                   pages show (a menu): after the commit the worker
                                   tells every process's caches to look again */
    const char *worker;       /**< the claiming worker: cs_jobs_hold checks it still is */
    const char *lease;        /**< its lease, as an interval: each hold renews it */
} cs_job_t;

typedef struct {
    long queued;              /**< waiting, due or not */
    long due;                 /**< queued and due now */
    long running;
    long dead;
    double oldest_due_s;      /**< age of the oldest due job, seconds */
} cs_job_stats_t;

/**
 * Delay before retry number @p attempt + 1: base * 2^(attempt-1), capped,
 * with "equal jitter" (half fixed, half random from @p r01 in [0,1)), so
 * retries of many jobs that failed together spread out.
 */
apr_interval_time_t cs_job_backoff(int attempt, apr_interval_time_t base,
                                   apr_interval_time_t cap, double r01);

/**
 * Whether a writer at @p now_ms should send the wake-up NOTIFY, given
 * @p *last_ms, the time (ms, wrapping at 2^32) of the last one sent from
 * this node: once @p gap_ms has passed, exactly one of the writers racing
 * for it wins (an atomic swap of @p *last_ms to @p now_ms) and gets 1.
 */
int cs_jobs_wake_due(volatile apr_uint32_t *last_ms, apr_uint32_t now_ms,
                     apr_uint32_t gap_ms);

/**
 * Enqueue in the caller's transaction. A job with the same @p unique_key
 * (NULL for none) is enqueued once: the second call is a no-op.
 */
apr_status_t cs_jobs_enqueue(PGconn *conn, apr_pool_t *p, const char **perr,
                             const char *kind, const char *payload_json,
                             const char *unique_key, apr_interval_time_t delay);

/**
 * Claim the next due job (or one whose lease expired) for @p worker with a
 * lease of @p lease. A job whose lease ran out on its last attempt (of its
 * own limit or @p max_attempts, whichever is lower) is parked as dead
 * instead. APR_NOTFOUND when nothing is due.
 */
apr_status_t cs_jobs_claim(PGconn *conn, apr_pool_t *p, const char **perr,
                           const char *worker, apr_interval_time_t lease,
                           int max_attempts, cs_job_t **pjob);

/**
 * Hold @p job for as long as the caller's transaction lives: its row is
 * locked (FOR UPDATE), and cs_jobs_claim skips locked rows, so no other
 * worker on any node claims a job whose worker is still running it,
 * however long a provider call takes. The lease only decides what happens
 * when the worker dies (its connection goes, and the lock with it). Call
 * right after BEGIN. It renews the lease, and fails when the job is no
 * longer this worker's (a checkpoint's commit leaves a moment unlocked:
 * past an expired lease another worker may have claimed it then).
 */
apr_status_t cs_jobs_hold(PGconn *conn, apr_pool_t *p, const char **perr,
                          const cs_job_t *job);

/**
 * Commit what the job wrote so far (a "sending" mark before a provider
 * call, say), then begin again and hold the job again, so it is never
 * unheld while its worker runs it.
 */
apr_status_t cs_jobs_checkpoint(PGconn *conn, apr_pool_t *p, const char **perr,
                                const cs_job_t *job);

/** Mark done; call inside the job's transaction, then COMMIT. locked_by
 * stays, recording which worker ran it. */
apr_status_t cs_jobs_done(PGconn *conn, apr_pool_t *p, const char **perr,
                          const cs_job_t *job, const char *worker);

/**
 * Record a failure (outside the job's rolled-back transaction): back to
 * queued after the backoff, or dead when attempts are used up (or the
 * failure is permanent). *pdead tells which.
 */
apr_status_t cs_jobs_failed(PGconn *conn, apr_pool_t *p, const char **perr,
                            const cs_job_t *job, const char *worker,
                            int max_attempts, apr_interval_time_t delay,
                            int *pdead);

apr_status_t cs_jobs_stats(PGconn *conn, apr_pool_t *p, const char **perr,
                           cs_job_stats_t *out);

#endif
