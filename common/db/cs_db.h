/**
 * @file cs_db.h
 * @brief libpq helpers and the per-process connection pool.
 *
 * The pool is an apr_reslist of PGconn. It is plain APR + libpq so the
 * migration tool and tests can use it too; mod_consult_core builds one per
 * child process (in child_init, never before fork: a libpq socket shared
 * across processes corrupts both sides' protocol state).
 */
#ifndef CS_DB_H
#define CS_DB_H

#include <apr_pools.h>
#include <apr_errno.h>
#include <apr_time.h>
#include <libpq-fe.h>

/** Pool settings, resolved from directives (see mod_consult_core). */
typedef struct {
    const char *conninfo;
    int min;                          /**< connections kept open */
    int keep;                         /**< soft max: idle ones above it expire */
    int max;                          /**< hard max per process */
    apr_interval_time_t ttl;          /**< idle lifetime above keep */
    apr_interval_time_t acquire_timeout; /**< wait for a free one at max */
    apr_interval_time_t connect_timeout;
    apr_interval_time_t statement_timeout;
    const char *application_name;
} cs_db_params_t;

typedef struct cs_db_pool_t cs_db_pool_t;

/** Figures for /consult/health. */
typedef struct {
    int in_use;
    int min, keep, max;
    apr_uint64_t opened;              /**< connections opened since start */
    apr_uint64_t broken;              /**< broken ones detected and dropped */
} cs_db_pool_stats_t;

/**
 * Create the pool in @p p. Tries to open params->min connections; when the
 * database is unreachable the pool is still created (opening on demand),
 * *pwarn says why, and APR_SUCCESS is returned, because Apache must start
 * and serve 503s until Postgres is back.
 */
apr_status_t cs_db_pool_create(cs_db_pool_t **pout, apr_pool_t *p,
                               const cs_db_params_t *params,
                               const char **pwarn);

/**
 * Take a healthy connection. A pooled connection that the server closed
 * (restart, idle kill) is detected without a round trip, dropped, and
 * replaced. On failure *perr says why (no secrets: libpq's message).
 */
apr_status_t cs_db_pool_acquire(cs_db_pool_t *pool, PGconn **pconn,
                                const char **perr, apr_pool_t *scratch);

/**
 * Give a connection back. Results are drained and an open transaction is
 * rolled back first; a connection that is broken, or that @p broken marks
 * as suspect, is closed instead of reused.
 */
void cs_db_pool_release(cs_db_pool_t *pool, PGconn *conn, int broken);

void cs_db_pool_stats(cs_db_pool_t *pool, cs_db_pool_stats_t *out);

/** Open one connection with the pool's parameters (used by the pool and
 * the command-line tools). On failure *perr holds libpq's message. */
PGconn *cs_db_connect(const cs_db_params_t *params, const char **perr,
                      apr_pool_t *p);

/** Defaults for every field except conninfo. */
void cs_db_params_defaults(cs_db_params_t *params);

/**
 * True when @p conn can be handed out: status OK, idle (no transaction
 * left open), and its socket has not been closed by the server.
 */
int cs_db_conn_usable(PGconn *conn);

/**
 * PQexecParams with text parameters. Returns the result when its status
 * is @p expect; otherwise clears it, sets *perr (@p perr may be NULL)
 * and returns NULL.
 * The caller PQclear()s a returned result.
 */
PGresult *cs_db_exec(PGconn *conn, apr_pool_t *p, const char **perr,
                     ExecStatusType expect, const char *sql,
                     int nparams, const char *const *params);

/**
 * A statement a connection plans once and then runs by name: the hot
 * paths (the journal writes every post and webhook make), where parsing
 * and planning cost PostgreSQL as much as the write itself. One static
 * per statement; @c name is unique in the process (connections are
 * shared by every module).
 */
typedef struct {
    const char *name;
    const char *sql;
    int nparams;
} cs_db_stmt_t;

/**
 * cs_db_exec for @p stmt: prepared on its first use on @p conn (each
 * connection remembers what it prepared, in libpq instance data that dies
 * with it), then run by name. A statement the server no longer has (a
 * DISCARD ALL by a pooler) is prepared again and run, outside a
 * transaction. With preparation off (cs_db_prepare_set) it is cs_db_exec.
 */
PGresult *cs_db_exec_stmt(PGconn *conn, apr_pool_t *p, const char **perr,
                          ExecStatusType expect, const cs_db_stmt_t *stmt,
                          const char *const *params);

/**
 * Named prepared statements on (the default) or off: off behind a pooler
 * that does not keep them (pgbouncer in transaction pooling, unless 1.21
 * or later with max_prepared_statements above 0). Set at configuration,
 * before the fork. common/ is linked into each module, so this is the
 * calling module's switch: mod_consult_core's, the one caller.
 */
void cs_db_prepare_set(int on);

/** Run a statement that returns no rows (BEGIN, COMMIT, ...). */
apr_status_t cs_db_command(PGconn *conn, apr_pool_t *p, const char **perr,
                           const char *sql);

/** True when an error left the connection unusable (server gone). */
int cs_db_conn_lost(PGconn *conn);

#endif
