/* The per-child connection pool, per-request leases and client lookup. */
#include "core_private.h"

#include "http_request.h"
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_hash.h>

APLOG_USE_MODULE(consult_core);

core_child *cs_core_child;

/* How long a looked-up client is trusted before asking Postgres again:
 * long enough to keep lookups off the hot path, short enough that a client
 * created or renamed with consult-admin shows up without a restart. */
#define CLIENT_TTL        apr_time_from_sec(60)
#define CLIENT_MISSING_TTL apr_time_from_sec(5)

typedef struct {
    cs_client_t client;
    int found;
    apr_time_t fetched;
} client_entry;

typedef struct {
    PGconn *conn;
} req_lease;

static apr_status_t child_pool_gone(void *data)
{
    cs_core_child = NULL;
    return APR_SUCCESS;
}

void core_child_init(apr_pool_t *p, server_rec *s)
{
    cs_db_params_t params;
    const char *warn = NULL;
    core_child *child;
    apr_status_t rv;

    core_db_params(s, &params);
    if (!params.conninfo) {
        return;             /* Consult not configured on this server */
    }
    child = apr_pcalloc(p, sizeof(*child));
    apr_pool_create(&child->cpool, p);
    apr_pool_tag(child->cpool, "consult_db_pool");
    apr_thread_mutex_create(&child->mutex, APR_THREAD_MUTEX_DEFAULT, child->cpool);
    child->clients = apr_hash_make(child->cpool);
    params.application_name = "consult-httpd";
    rv = cs_db_pool_create(&child->pool, child->cpool, &params, &warn);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, CSLOGNO(01010)
                     "cannot create the database connection pool");
        return;
    }
    if (warn) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, CSLOGNO(01011)
                     "database unreachable at child start (requests answer 503 "
                     "until it is back): %s", warn);
    }
    cs_core_child = child;
    apr_pool_cleanup_register(p, NULL, child_pool_gone, apr_pool_cleanup_null);
}

static apr_status_t lease_release(void *data)
{
    req_lease *lease = data;
    if (lease->conn && cs_core_child) {
        cs_db_pool_release(cs_core_child->pool, lease->conn, 0);
    }
    lease->conn = NULL;
    return APR_SUCCESS;
}

apr_status_t cs_db_acquire(request_rec *r, PGconn **pconn)
{
    req_lease *lease = ap_get_module_config(r->request_config, &consult_core_module);
    const char *err = NULL;
    apr_status_t rv;

    *pconn = NULL;
    if (lease && lease->conn) {
        *pconn = lease->conn;
        return APR_SUCCESS;
    }
    if (!cs_core_child) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(01012)
                      "no database pool in this process (is ConsultDatabase set?)");
        return APR_EINIT;
    }
    rv = cs_db_pool_acquire(cs_core_child->pool, pconn, &err, r->pool);
    if (rv != APR_SUCCESS) {
        /* libpq's message names host and port, never the password. */
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, CSLOGNO(01013)
                      "database unavailable: %s", err ? err : "unknown error");
        return rv;
    }
    if (!lease) {
        lease = apr_pcalloc(r->pool, sizeof(*lease));
        ap_set_module_config(r->request_config, &consult_core_module, lease);
    }
    lease->conn = *pconn;
    apr_pool_cleanup_register(r->pool, lease, lease_release, apr_pool_cleanup_null);
    return APR_SUCCESS;
}

const char *cs_client_slug(server_rec *s)
{
    return core_sconf(s)->client_slug;
}

static apr_status_t client_fetch(request_rec *r, const char *slug,
                                 client_entry *out)
{
    PGconn *conn;
    PGresult *res;
    const char *err = NULL;
    const char *params[1] = { slug };
    apr_status_t rv;

    if ((rv = cs_db_acquire(r, &conn)) != APR_SUCCESS) {
        return rv;
    }
    res = cs_db_exec(conn, r->pool, &err, PGRES_TUPLES_OK,
                     "SELECT id, slug, name FROM clients WHERE slug = $1",
                     1, params);
    if (!res) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(01014)
                      "client lookup failed: %s", err);
        return APR_EGENERAL;
    }
    out->found = PQntuples(res) == 1;
    if (out->found) {
        out->client.id_str = PQgetvalue(res, 0, 0);
        out->client.id = apr_atoi64(out->client.id_str);
        out->client.slug = PQgetvalue(res, 0, 1);
        out->client.name = PQgetvalue(res, 0, 2);
    }
    out->fetched = apr_time_now();
    /* Copy out of the result into the request pool before clearing it. */
    if (out->found) {
        out->client.id_str = apr_pstrdup(r->pool, out->client.id_str);
        out->client.slug = apr_pstrdup(r->pool, out->client.slug);
        out->client.name = apr_pstrdup(r->pool, out->client.name);
    }
    PQclear(res);
    return APR_SUCCESS;
}

apr_status_t cs_client_get(request_rec *r, const cs_client_t **pclient)
{
    const char *slug = core_sconf(r->server)->client_slug;
    client_entry *cached, fresh;
    core_child *child = cs_core_child;
    apr_time_t now = apr_time_now();
    apr_status_t rv;

    *pclient = NULL;
    if (!slug) {
        return APR_NOTFOUND;
    }
    if (!child) {
        return APR_EINIT;
    }
    apr_thread_mutex_lock(child->mutex);
    cached = apr_hash_get(child->clients, slug, APR_HASH_KEY_STRING);
    if (cached && now - cached->fetched
                  < (cached->found ? CLIENT_TTL : CLIENT_MISSING_TTL)) {
        fresh = *cached;
        apr_thread_mutex_unlock(child->mutex);
        if (!fresh.found) {
            return APR_NOTFOUND;
        }
        *pclient = apr_pmemdup(r->pool, &fresh.client, sizeof(fresh.client));
        return APR_SUCCESS;
    }
    apr_thread_mutex_unlock(child->mutex);

    /* Ask Postgres without holding the lock. */
    memset(&fresh, 0, sizeof(fresh));
    if ((rv = client_fetch(r, slug, &fresh)) != APR_SUCCESS) {
        return rv;
    }
    if (!fresh.found) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(01015)
                      "ConsultClient %s of virtual host %s is not in the clients "
                      "table; create it with `consult-admin client-add %s NAME`",
                      slug, r->server->server_hostname, slug);
    }
    apr_thread_mutex_lock(child->mutex);
    cached = apr_hash_get(child->clients, slug, APR_HASH_KEY_STRING);
    if (!cached) {
        cached = apr_pcalloc(child->cpool, sizeof(*cached));
        apr_hash_set(child->clients, apr_pstrdup(child->cpool, slug),
                     APR_HASH_KEY_STRING, cached);
    }
    /* Strings live in the child pool; a changed name allocates again, which
     * only happens when an admin renames a client. */
    if (!cached->found || !fresh.found
        || strcmp(cached->client.name, fresh.client.name)
        || strcmp(cached->client.id_str, fresh.client.id_str)) {
        cached->client.name = fresh.found ? apr_pstrdup(child->cpool, fresh.client.name) : "";
        cached->client.slug = apr_pstrdup(child->cpool, slug);
        cached->client.id_str = fresh.found ? apr_pstrdup(child->cpool, fresh.client.id_str) : "";
    }
    cached->client.id = fresh.client.id;
    cached->found = fresh.found;
    cached->fetched = fresh.fetched;
    apr_thread_mutex_unlock(child->mutex);

    if (!fresh.found) {
        return APR_NOTFOUND;
    }
    *pclient = apr_pmemdup(r->pool, &fresh.client, sizeof(fresh.client));
    return APR_SUCCESS;
}
