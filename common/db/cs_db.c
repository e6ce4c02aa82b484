#include "db/cs_db.h"

#include <apr_strings.h>
#include <apr_reslist.h>
#include <apr_atomic.h>
#include <libpq-events.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

struct cs_db_pool_t {
    apr_reslist_t *reslist;
    cs_db_params_t params;
    apr_pool_t *pool;
    volatile apr_uint32_t opened;
    volatile apr_uint32_t broken;
};

void cs_db_params_defaults(cs_db_params_t *params)
{
    memset(params, 0, sizeof(*params));
    params->min = 1;
    params->keep = 4;
    params->max = 16;
    params->ttl = apr_time_from_sec(60);
    params->acquire_timeout = apr_time_from_sec(3);
    params->connect_timeout = apr_time_from_sec(3);
    params->statement_timeout = apr_time_from_sec(10);
    params->application_name = "consult";
}

static void quiet_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

PGconn *cs_db_connect(const cs_db_params_t *params, const char **perr,
                      apr_pool_t *p)
{
    /* dbname is expanded as a full conninfo string; the keywords after it
     * override, so our timeouts always apply. libpq's connect_timeout has
     * a floor of 2 seconds. gssencmode before it is only a default (the
     * conninfo or PGGSSENCMODE may ask for Kerberos): libpq's "prefer"
     * probes for Kerberos credentials on every connect, which costs each
     * Apache child about 0.8 MB of krb5 pages and state for nothing. */
    long ct = (long)apr_time_sec(params->connect_timeout);
    const char *keys[] = { "gssencmode", "dbname", "connect_timeout", "options",
                           "application_name", "keepalives", NULL };
    const char *vals[7];
    PGconn *conn;

    vals[0] = getenv("PGGSSENCMODE") ? NULL : "disable";
    vals[1] = params->conninfo;
    vals[2] = apr_ltoa(p, ct < 2 ? 2 : ct);
    vals[3] = apr_psprintf(p, "-c statement_timeout=%" APR_INT64_T_FMT,
                           (apr_int64_t)(params->statement_timeout / 1000));
    vals[4] = params->application_name;
    vals[5] = "1";
    vals[6] = NULL;
    conn = PQconnectdbParams(keys, vals, 1);
    if (conn) {
        /* libpq prints server notices on stderr, which is httpd's error log;
         * callers report the errors that matter themselves. */
        PQsetNoticeProcessor(conn, quiet_notice, NULL);
    }
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
        *perr = apr_pstrdup(p, conn ? PQerrorMessage(conn) : "out of memory");
        if (conn) {
            PQfinish(conn);
        }
        return NULL;
    }
    return conn;
}

int cs_db_conn_usable(PGconn *conn)
{
    struct pollfd pfd;
    int rounds;

    if (PQstatus(conn) != CONNECTION_OK
        || PQtransactionStatus(conn) != PQTRANS_IDLE) {
        return 0;
    }
    /* An idle connection has nothing to read. If the socket is readable the
     * server sent something unprompted (its termination notice) or closed
     * it: let libpq consume it and see whether the connection survived. */
    pfd.fd = PQsocket(conn);
    pfd.events = POLLIN;
    pfd.revents = 0;
    if (pfd.fd < 0) {
        return 0;
    }
    /* Reading may return the server's farewell message first and the
     * end-of-file only on the next read, so keep reading while the socket
     * stays readable; a live idle connection stops being readable at once. */
    for (rounds = 0; rounds < 4 && poll(&pfd, 1, 0) > 0; rounds++) {
        PGnotify *n;
        if ((pfd.revents & (POLLERR | POLLHUP | POLLNVAL))
            || !PQconsumeInput(conn)) {
            return 0;
        }
        while ((n = PQnotifies(conn)) != NULL) {
            PQfreemem(n);
        }
        if (PQstatus(conn) != CONNECTION_OK || PQisBusy(conn)) {
            return 0;
        }
        pfd.revents = 0;
    }
    if (rounds == 4) {
        return 0;       /* still chattering while idle: not worth trusting */
    }
    return 1;
}

int cs_db_conn_lost(PGconn *conn)
{
    return PQstatus(conn) != CONNECTION_OK;
}

typedef struct {
    cs_db_pool_t *pool;
    const char *last_error;  /* written by the constructor for acquire's caller */
} ctor_ctx_t;

static apr_status_t conn_construct(void **resource, void *params, apr_pool_t *p)
{
    cs_db_pool_t *pool = params;
    const char *err = NULL;
    apr_pool_t *tmp;
    PGconn *conn;

    apr_pool_create(&tmp, p);
    conn = cs_db_connect(&pool->params, &err, tmp);
    apr_pool_destroy(tmp);
    if (!conn) {
        return APR_ECONNREFUSED;
    }
    apr_atomic_inc32(&pool->opened);
    *resource = conn;
    return APR_SUCCESS;
}

static apr_status_t conn_destruct(void *resource, void *params, apr_pool_t *p)
{
    (void)params;
    (void)p;
    PQfinish(resource);
    return APR_SUCCESS;
}

apr_status_t cs_db_pool_create(cs_db_pool_t **pout, apr_pool_t *p,
                               const cs_db_params_t *params,
                               const char **pwarn)
{
    cs_db_pool_t *pool = apr_pcalloc(p, sizeof(*pool));
    apr_status_t rv;

    *pwarn = NULL;
    pool->params = *params;
    pool->pool = p;
    rv = apr_reslist_create(&pool->reslist, params->min, params->keep,
                            params->max, params->ttl, conn_construct,
                            conn_destruct, pool, p);
    if (rv != APR_SUCCESS && params->min > 0) {
        /* Postgres is down right now: keep no warm connections and open
         * them on demand, so requests recover as soon as it is back. */
        const char *err = NULL;
        PGconn *probe = cs_db_connect(params, &err, p);
        if (probe) {
            PQfinish(probe);
        }
        *pwarn = apr_pstrcat(p, "cannot open the initial connections, "
                             "opening on demand: ", err ? err : "unknown error",
                             NULL);
        rv = apr_reslist_create(&pool->reslist, 0, params->keep, params->max,
                                params->ttl, conn_construct, conn_destruct,
                                pool, p);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    apr_reslist_timeout_set(pool->reslist, params->acquire_timeout);
    /* Dead connections are dropped through invalidate, not re-queued. */
    apr_reslist_cleanup_order_set(pool->reslist, APR_RESLIST_CLEANUP_FIRST);
    *pout = pool;
    return APR_SUCCESS;
}

apr_status_t cs_db_pool_acquire(cs_db_pool_t *pool, PGconn **pconn,
                                const char **perr, apr_pool_t *scratch)
{
    apr_status_t rv;
    int tries;

    *pconn = NULL;
    /* Each pass either hands out a usable connection or drops a dead one;
     * after a Postgres restart every idle connection is dead, so allow as
     * many passes as the pool can hold, plus one fresh open. */
    for (tries = 0; tries <= pool->params.max; tries++) {
        void *res = NULL;
        rv = apr_reslist_acquire(pool->reslist, &res);
        if (rv != APR_SUCCESS) {
            if (APR_STATUS_IS_TIMEUP(rv)) {
                *perr = "timed out waiting for a free database connection";
            }
            else {
                /* Re-open once to get libpq's reason for the log. */
                const char *err = "database unreachable";
                PGconn *probe = cs_db_connect(&pool->params, &err, scratch);
                if (probe) {
                    PQfinish(probe);
                }
                *perr = err;
            }
            return rv;
        }
        if (cs_db_conn_usable(res)) {
            *pconn = res;
            return APR_SUCCESS;
        }
        apr_atomic_inc32(&pool->broken);
        apr_reslist_invalidate(pool->reslist, res);
    }
    *perr = "no usable database connection";
    return APR_EGENERAL;
}

void cs_db_pool_release(cs_db_pool_t *pool, PGconn *conn, int broken)
{
    PGresult *res;

    if (!broken && PQstatus(conn) == CONNECTION_OK) {
        /* Drain whatever a caller left unread, then roll back a transaction
         * an error path left open: the next user must get a clean session. */
        while ((res = PQgetResult(conn)) != NULL) {
            PQclear(res);
        }
        if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
            res = PQexec(conn, "ROLLBACK");
            PQclear(res);
        }
        if (PQtransactionStatus(conn) == PQTRANS_IDLE
            && PQstatus(conn) == CONNECTION_OK) {
            apr_reslist_release(pool->reslist, conn);
            return;
        }
    }
    apr_atomic_inc32(&pool->broken);
    apr_reslist_invalidate(pool->reslist, conn);
}

void cs_db_pool_stats(cs_db_pool_t *pool, cs_db_pool_stats_t *out)
{
    out->in_use = (int)apr_reslist_acquired_count(pool->reslist);
    out->min = pool->params.min;
    out->keep = pool->params.keep;
    out->max = pool->params.max;
    out->opened = apr_atomic_read32(&pool->opened);
    out->broken = apr_atomic_read32(&pool->broken);
}

/* @p res when its status is @p expect; otherwise cleared, with *perr. */
static PGresult *checked(PGconn *conn, apr_pool_t *p, const char **perr,
                         ExecStatusType expect, PGresult *res)
{
    const char *unwanted;

    if (!perr) {
        perr = &unwanted;       /* a caller that only cleans up (ROLLBACK) */
    }
    if (!res || PQresultStatus(res) != expect) {
        /* The primary message and SQLSTATE only: Postgres' DETAIL can quote
         * the failing row (names, phones, messages) into our logs. */
        const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
        const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        *perr = primary ? apr_psprintf(p, "%s (SQLSTATE %s)", primary, state ? state : "?")
                        : apr_pstrdup(p, res ? PQresultErrorMessage(res)
                                             : PQerrorMessage(conn));
        if (!**perr) {
            *perr = apr_psprintf(p, "unexpected result %s",
                                 res ? PQresStatus(PQresultStatus(res)) : "none");
        }
        PQclear(res);
        return NULL;
    }
    return res;
}

PGresult *cs_db_exec(PGconn *conn, apr_pool_t *p, const char **perr,
                     ExecStatusType expect, const char *sql,
                     int nparams, const char *const *params)
{
    return checked(conn, p, perr, expect,
                   PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0));
}

/* ---- prepared statements --------------------------------------------------- */

static int prepare_on = 1;

void cs_db_prepare_set(int on)
{
    prepare_on = on;
}

/* What one connection has prepared: a handful of statements, so a short
 * list. libpq instance data, so it lives and dies with the connection. */
#define PREPARED_MAX 16
typedef struct {
    const cs_db_stmt_t *stmt[PREPARED_MAX];
    int n;
} prepared_t;

static int prepared_event(PGEventId id, void *info, void *pass)
{
    (void)pass;
    switch (id) {
    case PGEVT_REGISTER: {
        PGconn *conn = ((PGEventRegister *)info)->conn;
        prepared_t *pr = calloc(1, sizeof(*pr));
        return pr && PQsetInstanceData(conn, prepared_event, pr);
    }
    case PGEVT_CONNRESET: {
        /* a new session: nothing of the old one is prepared */
        prepared_t *pr = PQinstanceData(((PGEventConnReset *)info)->conn, prepared_event);
        if (pr) {
            pr->n = 0;
        }
        return 1;
    }
    case PGEVT_CONNDESTROY:
        free(PQinstanceData(((PGEventConnDestroy *)info)->conn, prepared_event));
        return 1;
    default:
        return 1;
    }
}

static prepared_t *prepared_of(PGconn *conn)
{
    prepared_t *pr = PQinstanceData(conn, prepared_event);

    if (!pr && PQregisterEventProc(conn, prepared_event, "consult-prepared", NULL)) {
        pr = PQinstanceData(conn, prepared_event);
    }
    return pr;
}

static int is_prepared(const prepared_t *pr, const cs_db_stmt_t *stmt)
{
    int i;

    for (i = 0; i < pr->n; i++) {
        if (pr->stmt[i] == stmt) {
            return 1;
        }
    }
    return 0;
}

static int has_state(const PGresult *res, const char *state)
{
    const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return s && strcmp(s, state) == 0;
}

static void forget(prepared_t *pr, const cs_db_stmt_t *stmt)
{
    int i;

    for (i = 0; i < pr->n; i++) {
        if (pr->stmt[i] == stmt) {
            pr->stmt[i] = pr->stmt[--pr->n];
            return;
        }
    }
}

/* Prepare @p stmt on @p conn. The name already taken on the server
 * (42P05: by whatever this list does not know, which may be other SQL) is
 * freed and prepared again when no transaction is open; in one, the
 * failed prepare has aborted it, and that is the caller's error. */
static apr_status_t prepare(PGconn *conn, apr_pool_t *p, const char **perr, prepared_t *pr,
                            const cs_db_stmt_t *stmt)
{
    PGresult *res = PQprepare(conn, stmt->name, stmt->sql, stmt->nparams, NULL);

    if (has_state(res, "42P05") && PQtransactionStatus(conn) == PQTRANS_IDLE) {
        char *name = PQescapeIdentifier(conn, stmt->name, strlen(stmt->name));
        PQclear(res);
        if (name) {
            PQclear(PQexec(conn, apr_pstrcat(p, "DEALLOCATE ", name, NULL)));
            PQfreemem(name);
        }
        res = PQprepare(conn, stmt->name, stmt->sql, stmt->nparams, NULL);
    }
    if (!(res = checked(conn, p, perr, PGRES_COMMAND_OK, res))) {
        return APR_EGENERAL;
    }
    PQclear(res);
    pr->stmt[pr->n++] = stmt;
    return APR_SUCCESS;
}

PGresult *cs_db_exec_stmt(PGconn *conn, apr_pool_t *p, const char **perr,
                          ExecStatusType expect, const cs_db_stmt_t *stmt,
                          const char *const *params)
{
    prepared_t *pr = prepare_on ? prepared_of(conn) : NULL;
    int known = pr && is_prepared(pr, stmt);
    PGresult *res;

    if (!pr || (!known && pr->n == PREPARED_MAX)) {
        return cs_db_exec(conn, p, perr, expect, stmt->sql, stmt->nparams, params);
    }
    if (!known && prepare(conn, p, perr, pr, stmt) != APR_SUCCESS) {
        return NULL;
    }
    res = PQexecPrepared(conn, stmt->name, stmt->nparams, params, NULL, NULL, 0);
    if (has_state(res, "26000")) {
        /* the server lost what this session prepared (DISCARD ALL) */
        forget(pr, stmt);
        if (PQtransactionStatus(conn) == PQTRANS_IDLE) {
            PQclear(res);
            if (prepare(conn, p, perr, pr, stmt) != APR_SUCCESS) {
                return NULL;
            }
            res = PQexecPrepared(conn, stmt->name, stmt->nparams, params, NULL, NULL, 0);
        }
    }
    return checked(conn, p, perr, expect, res);
}

apr_status_t cs_db_command(PGconn *conn, apr_pool_t *p, const char **perr,
                           const char *sql)
{
    PGresult *res = cs_db_exec(conn, p, perr, PGRES_COMMAND_OK, sql, 0, NULL);
    if (!res) {
        return APR_EGENERAL;
    }
    PQclear(res);
    return APR_SUCCESS;
}
