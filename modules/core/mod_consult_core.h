/**
 * @file mod_consult_core.h
 * @brief What mod_consult_core shares with the other Consult modules.
 *
 * Like mod_dbd's ap_dbd_acquire, everything is published as APR optional
 * functions: a feature module retrieves them in its optional_fn_retrieve
 * hook and refuses to start, with one clear line, when core is not loaded.
 */
#ifndef MOD_CONSULT_CORE_H
#define MOD_CONSULT_CORE_H

#include "httpd.h"
#include "apr_optional.h"
#include <libpq-fe.h>

/** The tenant a vhost is bound to with ConsultClient. */
typedef struct {
    apr_int64_t id;
    const char *id_str;   /**< id as text, ready for SQL parameters */
    const char *slug;
    const char *name;
} cs_client_t;

/**
 * The request's database connection. Every call during one request returns
 * the same connection; it goes back to the pool in the request pool's
 * cleanup (drained and rolled back if a handler left a transaction open).
 * @return APR_SUCCESS, or an error when Postgres is unreachable or the pool
 * stayed exhausted past ConsultPoolAcquireTimeout (answer 503, see below).
 */
APR_DECLARE_OPTIONAL_FN(apr_status_t, cs_db_acquire,
                        (request_rec *r, PGconn **pconn));

/**
 * The vhost's client. APR_NOTFOUND when the vhost has no ConsultClient or
 * its slug is not in the clients table (logged once per slug); another
 * error when the database could not be asked.
 */
APR_DECLARE_OPTIONAL_FN(apr_status_t, cs_client_get,
                        (request_rec *r, const cs_client_t **pclient));

/** Whether the (merged) server has a ConsultClient; no database needed. */
APR_DECLARE_OPTIONAL_FN(int, cs_client_configured, (server_rec *s));

/**
 * Send a JSON error {"error": code, "message": message} with @p status.
 * 503 gets Retry-After (ConsultRetryAfter). Returns OK (the response is
 * sent) so a handler can `return cs_send_error(...)`.
 */
APR_DECLARE_OPTIONAL_FN(int, cs_send_error,
                        (request_rec *r, int status, const char *code,
                         const char *message));

/** Send @p body as application/json with @p status; returns OK. */
APR_DECLARE_OPTIONAL_FN(int, cs_send_json,
                        (request_rec *r, int status, const char *body));

#endif
