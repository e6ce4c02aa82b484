/*
 * The job worker: a mod_watchdog callback in one child per node (the
 * watchdog is a singleton), claiming due jobs from Postgres and handing each
 * to the module that owns its kind through the consult_job optional hook.
 * When a module drains journal rows in batches (intake), other singleton
 * threads (ConsultJobDrainThreads, each with its own connection) do only
 * that, so a queue of jobs never holds filing back, nor filing the jobs.
 * More than one, because filing is one PostgreSQL backend's work per
 * thread: on a busy machine a lone drain backend gets one runnable
 * process's share of the CPU against every request's; with SKIP LOCKED the
 * threads take different rows.
 */
#include "core_private.h"
#include "base/cs_crypto.h"
#include "mod_watchdog.h"

#include "ap_mpm.h"
#include "http_core.h"
#include "http_main.h"
#include <apr_strings.h>
#include <unistd.h>
#include <stdlib.h>
#include <poll.h>

APLOG_USE_MODULE(consult_core);

#define WATCHDOG_NAME "consult-jobs"
/* Per tick: enough to drain a burst, short enough to notice a stop. */
#define MAX_JOBS_PER_TICK 100
#define MAX_TICK_TIME apr_time_from_sec(2)
/* The longest the callback blocks waiting for a notification, so a stop is
 * noticed soon. */
#define MAX_WAIT apr_time_from_sec(1)
/* Journal rows per drain transaction: one round trip for many rows. A
 * drain that keeps up takes what came during its last batch, so this caps
 * only a drain catching up: 200 could not catch up with 2,250 posts/s on
 * the bench machine, 1,000 kept transactions so long that the tail grew
 * (make bench, README). */
#define DRAIN_BATCH 500
/* A batch of at least this many means rows are coming fast: the next one
 * is claimed at once rather than after CS_DRAIN_EVERY, which would add
 * its wait to every post's latency just when the drain is busiest. */
#define DRAIN_GO_ON 50
/* The longest one drain goes on while rows keep coming; jobs run between
 * drains for at least CS_DRAIN_EVERY. */
#define DRAIN_SLICE apr_time_from_msec(300)
/* Enqueuers NOTIFY this channel (cs_journal_record, cs_jobs_enqueue); the
 * worker's connection LISTENs on it. */
#define JOBS_CHANNEL "consult_jobs"

typedef enum { ROLE_JOBS, ROLE_DRAIN } worker_role;

typedef struct {
    worker_role role;
    server_rec *s;
    cs_db_params_t db;
    core_worker_conf conf;
    PGconn *conn;
    const char *id;
    apr_time_t last_complaint;
    apr_time_t next_housekeeping;    /* 0: at the first tick */
    int fresh_conn;                  /* connected since the last start hooks */
    int listening;                   /* LISTEN consult_jobs on this connection */
    int more;                        /* the last round stopped at its cap */
    apr_time_t next_claim;           /* claim by then even without a notification */
    apr_time_t recheck_at;           /* claim again then, after a notification */
    unsigned int seed;
} worker_t;

#define HOUSEKEEPING_EVERY apr_time_from_sec(3600)

/* Old sessions, sign-in attempts and finished jobs go (consult_housekeeping,
 * sql/functions/consult_housekeeping.sql), so those tables do not grow for
 * ever. */
static void housekeeping(worker_t *w, apr_pool_t *p)
{
    const char *err = NULL;
    PGresult *res;

    if (apr_time_now() < w->next_housekeeping) {
        return;
    }
    w->next_housekeeping = apr_time_now() + HOUSEKEEPING_EVERY;
    res = cs_db_exec(w->conn, p, &err, PGRES_TUPLES_OK,
                     "SELECT * FROM consult_housekeeping()", 0, NULL);
    if (!res) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, w->s, CSLOGNO(01038)
                     "housekeeping failed: %s", err);
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, w->s, CSLOGNO(01039)
                 "housekeeping: removed %s expired sessions, %s old sign-in attempts, "
                 "%s finished jobs", PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
                 PQgetvalue(res, 0, 2));
    PQclear(res);
}

const core_hook_link *core_hooks_of(const char *name, int *pn)
{
    apr_array_header_t *hooks = apr_optional_hook_get(name);

    *pn = hooks ? hooks->nelts : 0;
    return hooks ? (const core_hook_link *)hooks->elts : NULL;
}

static int run_hooks(cs_job_t *job)
{
    int i, n;
    const core_hook_link *h = core_hooks_of("consult_job", &n);

    for (i = 0; i < n; i++) {
        int rc = ((cs_HOOK_consult_job_t *)h[i].fn)(job);
        if (rc != DECLINED) {
            return rc;
        }
    }
    job->error = apr_psprintf(job->pool, "no loaded module handles job kind '%s'",
                              job->kind);
    return HTTP_NOT_IMPLEMENTED;
}

/* The consult_worker_start hooks, once per new connection. */
static void run_start_hooks(worker_t *w, apr_pool_t *p)
{
    int i, n;
    const core_hook_link *h = core_hooks_of("consult_worker_start", &n);

    w->fresh_conn = 0;
    for (i = 0; i < n; i++) {
        ((cs_HOOK_consult_worker_start_t *)h[i].fn)(w->s, w->conn, p);
    }
}

/* The consult_worker_drain hooks, a batch per transaction, until a batch
 * comes back with fewer than DRAIN_GO_ON rows or DRAIN_SLICE is up (so one
 * hook's backlog does not starve another's). 1 when a hook stopped with
 * rows still coming. */
static int drain(worker_t *w, apr_pool_t *p)
{
    int i, n, got, more = 0;
    const core_hook_link *h = core_hooks_of("consult_worker_drain", &n);
    apr_time_t until = apr_time_now() + DRAIN_SLICE;
    const char *err = NULL;

    for (i = 0; i < n; i++) {
        do {
            if (cs_db_command(w->conn, p, &err, "BEGIN") != APR_SUCCESS) {
                return 0;
            }
            got = ((cs_HOOK_consult_worker_drain_t *)h[i].fn)(w->s, w->conn, p, DRAIN_BATCH);
            /* What the batch filed queued jobs (classification): wake the
             * jobs thread, once per batch, at the commit. */
            if (got > 0 && cs_db_command(w->conn, p, &err, "NOTIFY " JOBS_CHANNEL) != APR_SUCCESS) {
                got = -1;
            }
            if (got < 0 || cs_db_command(w->conn, p, &err, "COMMIT") != APR_SUCCESS) {
                if (PQstatus(w->conn) == CONNECTION_OK) {
                    PQclear(PQexec(w->conn, "ROLLBACK"));
                }
                got = 0;
                break;
            }
        } while (got >= DRAIN_GO_ON && apr_time_now() < until
                 && PQstatus(w->conn) == CONNECTION_OK);
        more |= got >= DRAIN_GO_ON;
    }
    return more;
}

static int connected(worker_t *w, apr_pool_t *p)
{
    const char *err = NULL;

    if (w->conn && cs_db_conn_usable(w->conn)) {
        return 1;
    }
    if (w->conn) {
        PQfinish(w->conn);
        w->conn = NULL;
    }
    w->conn = cs_db_connect(&w->db, &err, p);
    w->fresh_conn = w->conn != NULL;
    if (!w->conn) {
        /* Once per minute is enough while Postgres is away. */
        if (apr_time_now() - w->last_complaint > apr_time_from_sec(60)) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, w->s, CSLOGNO(01030)
                         "job worker cannot reach the database: %s", err);
            w->last_complaint = apr_time_now();
        }
        return 0;
    }
    return 1;
}

/* Run one claimed job in its own transaction. */
static void run_job(worker_t *w, cs_job_t *job)
{
    const char *err = NULL;
    int rc, dead = 0;

    job->server = w->s;
    /* Handlers see the limit that applies, to tell their last attempt. */
    if (w->conf.max_attempts < job->max_attempts) {
        job->max_attempts = w->conf.max_attempts;
    }
    if (cs_db_command(w->conn, job->pool, &err, "BEGIN") != APR_SUCCESS
        || cs_jobs_hold(w->conn, job->pool, &err, job) != APR_SUCCESS) {
        job->error = err;
        rc = HTTP_SERVICE_UNAVAILABLE;
    }
    else {
        rc = run_hooks(job);
    }
    if (rc == OK) {
        if (cs_jobs_done(w->conn, job->pool, &err, job, w->id) == APR_SUCCESS
            && cs_db_command(w->conn, job->pool, &err, "COMMIT") == APR_SUCCESS) {
            if (job->changed) {
                cs_content_changed();
            }
            ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, w->s, CSLOGNO(01031)
                         "job %s (%s) done", job->id_str, job->kind);
            return;
        }
        job->error = err;
    }
    /* Failure: undo the job's writes, then record the attempt. */
    if (PQstatus(w->conn) == CONNECTION_OK) {
        PQclear(PQexec(w->conn, "ROLLBACK"));
    }
    if (PQstatus(w->conn) != CONNECTION_OK) {
        return;     /* the lease will expire and the job runs again */
    }
    if (cs_jobs_failed(w->conn, job->pool, &err, job, w->id, w->conf.max_attempts,
                       cs_job_backoff(job->attempt, w->conf.backoff,
                                      w->conf.backoff_max,
                                      (double)rand_r(&w->seed) / ((double)RAND_MAX + 1)),
                       &dead) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, w->s, CSLOGNO(01032)
                     "cannot record the failure of job %s: %s", job->id_str, err);
        return;
    }
    ap_log_error(APLOG_MARK, dead ? APLOG_ERR : APLOG_WARNING, 0, w->s,
                 CSLOGNO(01033) "job %s (%s) attempt %d %s: %s", job->id_str,
                 job->kind, job->attempt, dead ? "failed for good, parked as dead"
                 : "failed, will retry", job->error ? job->error : "unknown error");
}

/* LISTEN on a new connection; without it the worker still polls. */
static void listen_for_jobs(worker_t *w, apr_pool_t *p)
{
    const char *err = NULL;

    w->listening = cs_db_command(w->conn, p, &err, "LISTEN " JOBS_CHANNEL) == APR_SUCCESS;
    if (!w->listening) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, w->s, CSLOGNO(01049)
                     "job worker cannot LISTEN " JOBS_CHANNEL ", polling only: %s", err);
    }
}

/* Drop the notifications libpq has read: the claim that follows sees every
 * job committed before them. A journal writer that skipped its NOTIFY
 * because another had just sent one (cs_jobs_notify_due) may commit after
 * that claim, so the worker claims again CS_NOTIFY_RECHECK later. */
static int drain_notifies(worker_t *w)
{
    PGnotify *n;
    int got = 0;

    while ((n = PQnotifies(w->conn)) != NULL) {
        PQfreemem(n);
        got = 1;
    }
    if (got) {
        w->recheck_at = apr_time_now() + CS_NOTIFY_RECHECK;
    }
    return got;
}

/* Whether to claim now: a notification came (or the connection has
 * something to say), or the poll interval is up at @p until. Waits no later
 * than @p leave, and only on a listening connection. */
static int wait_for_jobs(worker_t *w, apr_time_t until, apr_time_t leave)
{
    struct pollfd pfd;
    apr_time_t now = apr_time_now(), end = until < leave ? until : leave;
    int rc;

    if (now >= until) {
        return 1;
    }
    if (!w->conn || !w->listening || PQstatus(w->conn) != CONNECTION_OK
        || PQtransactionStatus(w->conn) != PQTRANS_IDLE) {
        return 0;   /* nothing to wait on: a later callback checks the time */
    }
    if (drain_notifies(w)) {
        return 1;
    }
    if (now >= end) {
        return 0;
    }
    pfd.fd = PQsocket(w->conn);
    pfd.events = POLLIN;
    pfd.revents = 0;
    if (pfd.fd < 0) {
        return 0;
    }
    rc = poll(&pfd, 1, (int)((end - now + 999) / 1000));
    if (rc > 0) {
        /* A notification, or the server closing: either way claim, and
         * connected() sorts out a dead connection. */
        if (PQconsumeInput(w->conn)) {
            drain_notifies(w);
        }
        return 1;
    }
    return apr_time_now() >= until;
}

/* The drain thread's round: batches until the journal has less than one
 * left (or the slice is up: go on at once), then CS_DRAIN_EVERY. It does
 * not LISTEN: intake's rows come without a notification, and the jobs'
 * notifications (its own batches' among them) are not its work. */
static void drain_round(worker_t *w, apr_pool_t *p)
{
    w->more = 0;
    w->next_claim = apr_time_now() + CS_DRAIN_EVERY;
    if (!connected(w, p)) {
        return;
    }
    w->fresh_conn = 0;
    w->more = drain(w, p) && PQstatus(w->conn) == CONNECTION_OK;
}

/* Claim and run due jobs until the queue is empty or the cap is reached. */
static void claim_round(worker_t *w, apr_pool_t *p)
{
    apr_time_t until;
    apr_pool_t *jp;
    int n;

    if (w->role == ROLE_DRAIN) {
        drain_round(w, p);
        return;
    }
    w->more = 0;
    w->next_claim = apr_time_now() + w->conf.poll;
    if (!connected(w, p)) {
        return;
    }
    if (w->fresh_conn) {
        listen_for_jobs(w, p);
        run_start_hooks(w, p);
    }
    housekeeping(w, p);
    /* Notifications read so far are for jobs this round's claims see. */
    if (w->listening && PQconsumeInput(w->conn)) {
        drain_notifies(w);
    }
    until = apr_time_now() + MAX_TICK_TIME;
    apr_pool_create(&jp, p);
    for (n = 0; n < MAX_JOBS_PER_TICK && apr_time_now() < until; n++) {
        cs_job_t *job = NULL;
        const char *err = NULL;
        apr_status_t rv;

        apr_pool_clear(jp);
        rv = cs_jobs_claim(w->conn, jp, &err, w->id, w->conf.lease, w->conf.max_attempts, &job);
        if (APR_STATUS_IS_NOTFOUND(rv)) {
            break;
        }
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, w->s, CSLOGNO(01034)
                         "claiming a job failed: %s", err);
            break;
        }
        run_job(w, job);
        if (PQstatus(w->conn) != CONNECTION_OK) {
            break;
        }
    }
    /* Stopped by the cap, not by an empty queue: go on at the next callback
     * without waiting. */
    w->more = PQstatus(w->conn) == CONNECTION_OK
              && (n == MAX_JOBS_PER_TICK || (n > 0 && apr_time_now() >= until));
    apr_pool_destroy(jp);
    /* After the notifications this round read: the recheck they call for. */
    if (w->recheck_at > apr_time_now() && w->recheck_at < w->next_claim) {
        w->next_claim = w->recheck_at;
    }
}

/* One watchdog callback: claim at once after a capped round or on a
 * notification, otherwise when the poll interval is up; between rounds wait
 * on the connection for a notification, at most MAX_WAIT per callback, so
 * the watchdog sees a stop soon. */
static void tick(worker_t *w, apr_pool_t *p)
{
    apr_time_t leave = apr_time_now() + MAX_WAIT;

    for (;;) {
        if (!w->more && !wait_for_jobs(w, w->next_claim, leave)) {
            return;
        }
        claim_round(w, p);
        if (w->more || !w->conn || apr_time_now() >= leave) {
            return;
        }
    }
}

static apr_status_t worker_callback(int state, void *data, apr_pool_t *pool)
{
    worker_t *w = data;

    switch (state) {
    case AP_WATCHDOG_STATE_STARTING:
        {
            /* ServerName:pid alone collides between identical containers
             * (same name, same pid 1-ish): a random tag makes it unique. */
            unsigned char tag[4] = { 0 };
            char hex[9];
            if (cs_random_bytes(tag, sizeof(tag)) != APR_SUCCESS) {
                apr_generate_random_bytes(tag, sizeof(tag));
            }
            cs_hex_encode(hex, tag, sizeof(tag));
            w->id = apr_psprintf(w->s->process->pool, "%s~%s:%" APR_PID_T_FMT,
                                 w->s->server_hostname ? w->s->server_hostname : "httpd",
                                 hex, getpid());
        }
        w->seed = (unsigned int)getpid() ^ (unsigned int)apr_time_now();
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, w->s, CSLOGNO(01035)
                     "job worker %s started", w->id);
        break;
    case AP_WATCHDOG_STATE_RUNNING:
        tick(w, pool);
        break;
    case AP_WATCHDOG_STATE_STOPPING:
        if (w->conn) {
            PQfinish(w->conn);
            w->conn = NULL;
        }
        w->listening = 0;
        break;
    }
    return APR_SUCCESS;
}

/* One singleton watchdog thread per node for @p role. */
static int start_thread(apr_pool_t *pconf, server_rec *s, worker_role role,
                        const char *name)
{
    APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *get_instance;
    APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *register_cb;
    ap_watchdog_t *wd;
    worker_t *w;
    apr_status_t rv;

    w = apr_pcalloc(pconf, sizeof(*w));
    w->role = role;
    w->s = s;
    core_db_params(s, &w->db);
    core_worker_settings(s, &w->conf);
    w->db.application_name = role == ROLE_DRAIN ? "consult-drain" : "consult-worker";
    get_instance = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    register_cb = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    if (!get_instance || !register_cb) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, CSLOGNO(01036)
                     "ConsultJobWorker On needs mod_watchdog: load it, or set "
                     "ConsultJobWorker Off");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* A child-process singleton: one per node, in whichever child holds
     * the watchdog's mutex; another takes over if that child exits. The
     * watchdog calls back every AP_WD_TM_SLICE (100 ms) at best, counting
     * only its own sleeps; tick() itself waits for a notification or the
     * poll interval (ConsultJobPollInterval; CS_DRAIN_EVERY for the drain),
     * so a notified job is claimed at once, an idle queue is claimed once
     * per interval, and a capped round goes on at the next callback. */
    if ((rv = get_instance(&wd, name, 0, 1, pconf)) != APR_SUCCESS
        || (rv = register_cb(wd, w->conf.poll < AP_WD_TM_SLICE ? w->conf.poll
                                 : AP_WD_TM_SLICE, w, worker_callback)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, CSLOGNO(01037)
                     "cannot start the job worker watchdog");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

int core_worker_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                            apr_pool_t *ptemp, server_rec *s)
{
    cs_db_params_t db;
    core_worker_conf conf;
    int rc, drains;

    /* httpd runs post_config once to check the configuration before the
     * real start; the watchdog is only set up for the real one. */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    core_db_params(s, &db);
    core_worker_settings(s, &conf);
    if (!db.conninfo || !conf.enabled) {
        return OK;
    }
    if ((rc = start_thread(pconf, s, ROLE_JOBS, WATCHDOG_NAME)) != OK) {
        return rc;
    }
    core_hooks_of("consult_worker_drain", &drains);
    if (drains) {
        int i;
        for (i = 0; i < conf.drain_threads; i++) {
            rc = start_thread(pconf, s, ROLE_DRAIN,
                              i ? apr_psprintf(pconf, WATCHDOG_NAME "-drain-%d", i + 1)
                                : WATCHDOG_NAME "-drain");
            if (rc != OK) {
                return rc;
            }
        }
    }
    return OK;
}
