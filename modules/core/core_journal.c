/*
 * Core's inbound journal: every provider's verified webhooks land in
 * provider_events, once per (provider, client, event id), together with the
 * job that processes them, in one statement.
 */
#include "core_private.h"
#include "base/cs_json.h"
#include "text/cs_text.h"

#include <apr_strings.h>
#include <string.h>

APLOG_USE_MODULE(consult_core);

/* Headers that carry a credential rather than a proof: Clover's
 * X-Clover-Auth is the shared auth code itself, not a MAC of the body. */
static int is_credential(const char *key)
{
    return !strcasecmp(key, "Cookie") || !strcasecmp(key, "Authorization")
           || !strcasecmp(key, "Proxy-Authorization") || !strcasecmp(key, "X-Clover-Auth");
}

/* Request headers worth keeping with the payload; never credentials. */
static int add_header(void *data, const char *key, const char *val)
{
    if (!is_credential(key)
        && cs_text_is_clean(key, strlen(key)) && cs_text_is_clean(val, strlen(val))) {
        cs_json_set_str(data, key, val);
    }
    return 1;
}

/* One statement: the event (nothing on a redelivery) and, when it is new,
 * its job keyed by the event row, so even a replayed insert cannot queue
 * the work twice; a new job also wakes the worker (NOTIFY consult_jobs,
 * delivered at commit) unless this node notified less than CS_NOTIFY_GAP
 * ago (cs_jobs_notify_due). The writer that takes the gap's turn notifies
 * even for a redelivery, which queues nothing: a new event that skipped
 * its own notification in the same gap counts on it. */
#define JOURNAL_SQL                                                              \
    "WITH e AS ("                                                                \
    "  INSERT INTO provider_events (provider, client_id, event_id, payload, headers)" \
    "  VALUES ($1, $2, $3, $4, $5::jsonb)"                                       \
    "  ON CONFLICT (provider, client_id, event_id) DO NOTHING RETURNING id),"    \
    " j AS ("                                                                    \
    "  INSERT INTO jobs (kind, payload, unique_key)"                             \
    "  SELECT $6, jsonb_build_object('event', e.id), $6 || ':' || e.id FROM e"   \
    "  ON CONFLICT (unique_key) DO NOTHING RETURNING id)"                        \
    " SELECT (SELECT id FROM e), (SELECT count(*) FROM j)"
static const cs_db_stmt_t journal_stmt = { "cs_journal_record", JOURNAL_SQL, 6 };
static const cs_db_stmt_t journal_notify_stmt = {
    "cs_journal_record_notify", JOURNAL_SQL ", pg_notify('consult_jobs', '')", 6
};

/* What every journal write checks first. */
static int storable(const char *event_id, const char *payload, apr_size_t len)
{
    return event_id && *event_id && strlen(event_id) <= 300
           && cs_text_is_clean(event_id, strlen(event_id))
           && !memchr(payload, '\0', len) && cs_text_is_clean(payload, len);
}

/* Then the client and connection. */
static apr_status_t journal_open(request_rec *r, const char *event_id, const char *payload,
                                 apr_size_t len, const cs_client_t **pclient, PGconn **pconn)
{
    apr_status_t rv;

    if (!storable(event_id, payload, len)) {
        return APR_EINVAL;
    }
    if ((rv = cs_client_get(r, pclient)) != APR_SUCCESS) {
        return rv;
    }
    return cs_db_acquire(r, pconn);
}

apr_status_t cs_journal_record(request_rec *r, const char *provider, const char *event_id,
                               const char *payload, apr_size_t len, const char *job_kind,
                               int *pduplicate)
{
    const cs_client_t *client = NULL;
    PGconn *conn = NULL;
    cs_json_t *headers;
    const char *params[6], *err = NULL;
    PGresult *res;
    apr_status_t rv;

    *pduplicate = 0;
    if ((rv = journal_open(r, event_id, payload, len, &client, &conn)) != APR_SUCCESS) {
        return rv;
    }
    headers = cs_json_object(r->pool);
    apr_table_do(add_header, headers, r->headers_in, NULL);
    params[0] = provider;
    params[1] = client->id_str;
    params[2] = event_id;
    params[3] = apr_pstrmemdup(r->pool, payload, len);
    params[4] = cs_json_dump(headers, r->pool);
    params[5] = job_kind;
    res = cs_db_exec_stmt(conn, r->pool, &err, PGRES_TUPLES_OK,
                          cs_jobs_notify_due() ? &journal_notify_stmt : &journal_stmt, params);
    if (!res) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(01060)
                      "recording a %s event failed: %s", provider, err);
        return APR_EGENERAL;
    }
    *pduplicate = PQgetisnull(res, 0, 0);
    PQclear(res);
    return APR_SUCCESS;
}

/* A row alone, for a provider whose rows a worker drains in batches
 * (journal-first intake): one index-light INSERT, no job, no NOTIFY; a
 * redelivered event id finds the first row. */
static const cs_db_stmt_t append_stmt = {
    "cs_journal_append",
    "WITH e AS ("
    "  INSERT INTO provider_events (provider, client_id, event_id, payload)"
    "  VALUES ($1, $2, $3, $4)"
    "  ON CONFLICT (provider, client_id, event_id) DO NOTHING RETURNING id)"
    " SELECT id, false FROM e"
    " UNION ALL"
    " SELECT id, true FROM provider_events"
    "  WHERE provider = $1 AND client_id = $2 AND event_id = $3"
    "    AND NOT EXISTS (SELECT 1 FROM e)",
    4
};

/* The append itself, on an event already found storable (the payload is
 * scanned once per post: this is intake's hot path). */
static apr_status_t add_checked(PGconn *conn, apr_pool_t *p, const char *provider,
                                const char *client_id, const char *event_id,
                                const char *payload, apr_size_t len, apr_int64_t *pid,
                                int *pduplicate, const char **perr)
{
    const char *params[4];
    PGresult *res = NULL;
    int attempt;

    *pduplicate = 0;
    *pid = 0;
    params[0] = provider;
    params[1] = client_id;
    params[2] = event_id;
    params[3] = len == strlen(payload) ? payload : apr_pstrmemdup(p, payload, len);
    /* Two posts with one key at once: the loser's snapshot may predate the
     * winner's commit and find neither row; a second statement sees it. */
    for (attempt = 0; attempt < 2; attempt++) {
        res = cs_db_exec_stmt(conn, p, perr, PGRES_TUPLES_OK, &append_stmt, params);
        if (!res || PQntuples(res) == 1) {
            break;
        }
        PQclear(res);
        res = NULL;
        *perr = "the event's row vanished";
    }
    if (!res) {
        return APR_EGENERAL;
    }
    *pid = apr_atoi64(PQgetvalue(res, 0, 0));
    *pduplicate = PQgetvalue(res, 0, 1)[0] == 't';
    PQclear(res);
    return APR_SUCCESS;
}

apr_status_t cs_journal_add(PGconn *conn, apr_pool_t *p, const char *provider,
                            const char *client_id, const char *event_id, const char *payload,
                            apr_size_t len, apr_int64_t *pid, int *pduplicate,
                            const char **perr)
{
    *pduplicate = 0;
    *pid = 0;
    if (!storable(event_id, payload, len)) {
        return APR_EINVAL;
    }
    return add_checked(conn, p, provider, client_id, event_id, payload, len, pid, pduplicate,
                       perr);
}

apr_status_t cs_journal_append(request_rec *r, const char *provider, const char *event_id,
                               const char *payload, apr_size_t len,
                               apr_int64_t *pid, int *pduplicate)
{
    const cs_client_t *client = NULL;
    PGconn *conn = NULL;
    const char *err = NULL;
    apr_status_t rv;

    *pduplicate = 0;
    *pid = 0;
    if ((rv = journal_open(r, event_id, payload, len, &client, &conn)) != APR_SUCCESS) {
        return rv;
    }
    rv = add_checked(conn, r->pool, provider, client->id_str, event_id, payload, len, pid,
                     pduplicate, &err);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(01062)
                      "recording a %s event failed: %s", provider, err);
    }
    return rv;
}
