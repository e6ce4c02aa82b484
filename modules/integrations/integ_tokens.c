/*
 * Jobber's OAuth tokens, sealed at rest and refreshed one at a time.
 *
 * Jobber rotates refresh tokens: every refresh answers a new one and the
 * one used stops working. So a refresh must never run twice at once for
 * one account (the second would spend a token the first already spent and
 * Jobber would revoke the grant), and the new pair must be durable before
 * anything relies on it. Both come from the account's row: a job that
 * finds the access token expiring takes the row FOR UPDATE (another
 * worker, on any node, waits there), looks again (the one before it may
 * have refreshed already), refreshes, stores the sealed pair and commits
 * (cs_jobs_checkpoint) before it makes a single API call with it. What is
 * left is the window between Jobber's answer and our COMMIT: if the
 * process dies there, the new refresh token is lost and the owner must
 * connect again; the settings page and /consult/health then say
 * "revoked".
 *
 * Tokens are sealed with cs_seal (AES-256-GCM, random nonce, key id in
 * the clear and authenticated) under the first ConsultSecretKey; a row
 * sealed under an older key is opened with that key and re-sealed under
 * the first at its next refresh. Tokens are never logged.
 */
#include "integ_private.h"

#include <apr_strings.h>

APLOG_USE_MODULE(consult_integrations);

/* Seal @p plain under the current key, or NULL. */
static const char *seal(apr_pool_t *p, const char *plain)
{
    const apr_array_header_t *ring = integ_keyring();
    const cs_seal_key_t *k;

    if (!ring || !plain) {
        return NULL;
    }
    k = &APR_ARRAY_IDX(ring, 0, cs_seal_key_t);
    return cs_seal(p, k->key, k->key_id, plain, strlen(plain));
}

static const char *open_sealed(apr_pool_t *p, const char *sealed, const char **perr)
{
    const apr_array_header_t *ring = integ_keyring();
    unsigned char *plain = NULL;
    apr_size_t len = 0;

    if (!ring) {
        *perr = "no ConsultSecretKey is configured";
        return NULL;
    }
    if (!sealed || cs_open(p, ring, sealed, &plain, &len, perr) != APR_SUCCESS) {
        if (sealed && !*perr) *perr = "the stored token cannot be opened";
        return NULL;
    }
    return (const char *)plain;
}

static const char *key_id(void)
{
    return APR_ARRAY_IDX(integ_keyring(), 0, cs_seal_key_t).key_id;
}

static const char *expires_param(apr_pool_t *p, apr_time_t t)
{
    return t ? apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)apr_time_sec(t)) : NULL;
}

/* One call of the token endpoint: the code's first pair, or the next one
 * for a refresh token. *perr says why not (never a token). */
static apr_status_t grant(cs_jobber_tokens_t **pt, apr_pool_t *p, const integ_conf *c,
                          cs_jobber_grant_t kind, const char *code_or_refresh,
                          const char *redirect_uri, const char **perr)
{
    cs_http_req_t req;
    cs_http_resp_t *resp = NULL;
    cs_jobber_result_t res;
    const char *err = NULL;
    apr_time_t sent = apr_time_now();
    apr_status_t rv;

    memset(&res, 0, sizeof(res));
    cs_jobber_build_token_request(&req, p, &c->app, kind, code_or_refresh, redirect_uri);
    rv = cs_http_perform(&resp, p, &req, &err);
    rv = cs_jobber_parse_token(pt, p, rv == APR_SUCCESS ? resp : NULL, sent, &res);
    if (rv != APR_SUCCESS) {
        *perr = res.why ? res.why : err ? err : "Jobber did not give us tokens";
    }
    return rv;
}

/* The Jobber account @p access belongs to (webhooks are routed by it), or
 * NULL with *perr. */
static const char *account_of(apr_pool_t *p, const integ_conf *c, const char *access,
                              const char **pname, const char **perr)
{
    cs_http_req_t req;
    cs_http_resp_t *resp = NULL;
    cs_jobber_result_t res;
    cs_jobber_account_t *a = NULL;
    const char *err = NULL;

    memset(&res, 0, sizeof(res));
    *pname = NULL;
    if (cs_jobber_build_account(&req, p, &c->app, access) != APR_SUCCESS) {
        *perr = "the account query could not be built";
        return NULL;
    }
    if (cs_http_perform(&resp, p, &req, &err) != APR_SUCCESS) {
        resp = NULL;
    }
    if (cs_jobber_parse_account(&a, p, resp, &res) != APR_SUCCESS) {
        *perr = res.why ? res.why : err ? err : "Jobber did not say which account this is";
        return NULL;
    }
    *pname = a->name;
    return a->id;
}

apr_status_t integ_jobber_connect(request_rec *r, PGconn *conn, const char *client_id,
                                  const char *slug, const char *user_id, const char *code,
                                  const char *redirect_uri, const char **perr)
{
    integ_conf *c = integ_conf_for_slug(slug);
    cs_jobber_tokens_t *t = NULL;
    const char *err = NULL, *params[8], *account, *account_name = NULL;
    apr_status_t rv;
    PGresult *pr;

    *perr = NULL;
    if (!c || c->jobber != 1) {
        *perr = "Jobber is not switched on for this client (ConsultJobber On)";
        return APR_ENOENT;
    }
    if ((rv = grant(&t, r->pool, c, CS_JOBBER_GRANT_CODE, code, redirect_uri, perr))
        != APR_SUCCESS) {
        return rv;
    }
    if (!t->refresh) {
        *perr = "Jobber answered without a refresh token";
        return APR_EGENERAL;
    }
    /* Which account: Jobber sends every account's webhooks to one URL. If
     * Jobber cannot say now, the connection stands and the test event
     * (queued below) learns it. */
    account = account_of(r->pool, c, t->access, &account_name, &err);
    if (!account) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, CSLOGNO(07021)
                      "Jobber connected for %s, its account not yet known: %s", slug, err);
    }
    else {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, CSLOGNO(07022)
                      "Jobber account %s (%s) connected for %s", account,
                      account_name ? account_name : "no name", slug);
    }
    params[0] = client_id;
    params[1] = seal(r->pool, t->access);
    params[2] = seal(r->pool, t->refresh);
    params[3] = key_id();
    params[4] = expires_param(r->pool, t->expires_at);
    params[5] = user_id;
    params[6] = c->auto_send ? c->auto_send : "{}";
    params[7] = account;
    if (!params[1] || !params[2]) {
        *perr = "the tokens could not be sealed";
        return APR_EGENERAL;
    }
    pr = cs_db_exec(conn, r->pool, &err, PGRES_COMMAND_OK,
                    "INSERT INTO integration_accounts AS a (client_id, provider, state,"
                    "  access_sealed, refresh_sealed, key_id, expires_at, connected_by,"
                    "  connected_at, last_error, last_error_at, auto_send, account_id,"
                    "  updated_at)"
                    " VALUES ($1, 'jobber', 'connected', $2, $3, $4, to_timestamp($5::bigint),"
                    "  $6, now(), NULL, NULL, $7::text[], $8, now())"
                    " ON CONFLICT (client_id, provider) DO UPDATE SET state = 'connected',"
                    "  access_sealed = $2, refresh_sealed = $3, key_id = $4,"
                    "  expires_at = to_timestamp($5::bigint), connected_by = $6,"
                    "  connected_at = now(), last_error = NULL, last_error_at = NULL,"
                    "  auto_send = $7::text[], account_id = $8, updated_at = now()", 8, params);
    if (!pr) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, CSLOGNO(07020)
                      "storing the Jobber account of %s failed: %s", slug, err);
        *perr = "the account could not be stored";
        return APR_EGENERAL;
    }
    PQclear(pr);
    return APR_SUCCESS;
}

/* The account's row; FOR UPDATE when @p lock. */
static PGresult *account(cs_job_t *job, const char *client_id, int lock)
{
    const char *params[1] = { client_id };
    return cs_db_exec(job->conn, job->pool, &job->error, PGRES_TUPLES_OK,
                      lock ? "SELECT state, access_sealed, refresh_sealed,"
                             "  expires_at IS NOT NULL AND expires_at < now() + interval '60 seconds'"
                             " FROM integration_accounts WHERE client_id = $1 AND provider = 'jobber'"
                             " FOR UPDATE"
                           : "SELECT state, access_sealed, refresh_sealed,"
                             "  expires_at IS NOT NULL AND expires_at < now() + interval '60 seconds'"
                             " FROM integration_accounts WHERE client_id = $1 AND provider = 'jobber'",
                      1, params);
}

/* Commit what the job holds (the refreshed pair, a state), keeping the job. */
static apr_status_t commit(cs_job_t *job)
{
    const char *err = NULL;
    if (cs_jobs_checkpoint(job->conn, job->pool, &err, job) != APR_SUCCESS) {
        job->error = err;
        return APR_EAGAIN;
    }
    return APR_SUCCESS;
}

void integ_jobber_mark(cs_job_t *job, const char *client_id, apr_status_t rv, const char *why)
{
    const char *params[3] = { client_id,
                              rv == APR_SUCCESS ? "connected"
                              : APR_STATUS_IS_EACCES(rv) ? "revoked" : "failing",
                              why ? why : "the call failed" };
    const char *err = NULL;
    PGresult *res;

    if (rv == APR_SUCCESS) {
        res = cs_db_exec(job->conn, job->pool, &err, PGRES_COMMAND_OK,
                         "UPDATE integration_accounts SET state = 'connected', last_error = NULL,"
                         "  updated_at = now()"
                         " WHERE client_id = $1 AND provider = 'jobber' AND state = 'failing'",
                         1, params);
    }
    else {
        /* A revoked grant's tokens are worthless: forget them. */
        res = cs_db_exec(job->conn, job->pool, &err, PGRES_COMMAND_OK,
                         "UPDATE integration_accounts SET state = $2, last_error = left($3, 2000),"
                         "  last_error_at = now(), updated_at = now(),"
                         "  access_sealed = CASE WHEN $2 = 'revoked' THEN NULL ELSE access_sealed END,"
                         "  refresh_sealed = CASE WHEN $2 = 'revoked' THEN NULL ELSE refresh_sealed END"
                         " WHERE client_id = $1 AND provider = 'jobber'"
                         "  AND state IN ('connected', 'failing')", 3, params);
    }
    if (res) {
        PQclear(res);
        commit(job);
    }
}

/* Refresh under the row lock the caller holds: the new pair stored and
 * committed. */
static apr_status_t refresh(const char **paccess, cs_job_t *job, const integ_conf *c,
                            const char *client_id, const char *refresh_token,
                            const char **perr)
{
    cs_jobber_tokens_t *t = NULL;
    const char *params[5];
    apr_status_t rv;
    PGresult *pr;

    rv = grant(&t, job->pool, c, CS_JOBBER_GRANT_REFRESH, refresh_token, NULL, perr);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, job->server, CSLOGNO(07021)
                     "job %s: Jobber token refresh failed: %s", job->id_str, *perr);
        integ_jobber_mark(job, client_id, APR_STATUS_IS_EACCES(rv) ? APR_EACCES : APR_EAGAIN,
                          APR_STATUS_IS_EACCES(rv)
                              ? apr_pstrcat(job->pool, "Jobber refused the refresh: ", *perr,
                                            " (connect again)", NULL)
                              : *perr);
        return APR_STATUS_IS_EACCES(rv) ? APR_EACCES : APR_EAGAIN;
    }
    params[0] = client_id;
    params[1] = seal(job->pool, t->access);
    /* No new refresh token: the one we have stays good (re-sealed, so a
     * row under an old key moves to the current one). */
    params[2] = seal(job->pool, t->refresh ? t->refresh : refresh_token);
    params[3] = key_id();
    params[4] = expires_param(job->pool, t->expires_at);
    if (!params[1] || !params[2]) {
        *perr = "the tokens could not be sealed";
        return APR_EGENERAL;
    }
    pr = cs_db_exec(job->conn, job->pool, &job->error, PGRES_COMMAND_OK,
                    "UPDATE integration_accounts SET access_sealed = $2, refresh_sealed = $3,"
                    "  key_id = $4, expires_at = to_timestamp($5::bigint), state = 'connected',"
                    "  refreshed_at = now(), refresh_count = refresh_count + 1,"
                    "  last_error = NULL, updated_at = now()"
                    " WHERE client_id = $1 AND provider = 'jobber'", 5, params);
    if (!pr) {
        return APR_EAGAIN;
    }
    PQclear(pr);
    /* Durable before use: from here the old refresh token is spent. */
    if (commit(job) != APR_SUCCESS) {
        return APR_EAGAIN;
    }
    *paccess = t->access;
    return APR_SUCCESS;
}

apr_status_t integ_jobber_access(const char **paccess, cs_job_t *job, const integ_conf *c,
                                 const char *client_id, const char *failed, const char **perr)
{
    const char *access, *refresh_token, *state;
    int lock, stale;
    PGresult *res;

    *paccess = NULL;
    *perr = NULL;
    /* First without the lock: the common case (a fresh token) waits for
     * nobody. Then, if it needs refreshing, under it, looking again. */
    for (lock = 0; lock < 2; lock++) {
        if (!(res = account(job, client_id, lock))) {
            *perr = job->error;
            return APR_EAGAIN;
        }
        if (PQntuples(res) != 1) {
            PQclear(res);
            *perr = "Jobber is not connected for this client";
            return APR_EACCES;
        }
        state = apr_pstrdup(job->pool, PQgetvalue(res, 0, 0));
        access = PQgetisnull(res, 0, 1) ? NULL : open_sealed(job->pool, PQgetvalue(res, 0, 1), perr);
        refresh_token = PQgetisnull(res, 0, 2) ? NULL
                        : open_sealed(job->pool, PQgetvalue(res, 0, 2), perr);
        stale = PQgetvalue(res, 0, 3)[0] == 't';
        if (*perr) {
            /* Sealed under a key no longer listed (retired too early) or
             * altered: not Jobber's refusal, so never "revoked" (which
             * forgets the tokens); listing the key again recovers them. */
            PQclear(res);
            if (lock) commit(job);
            return APR_EGENERAL;
        }
        PQclear(res);
        if (!strcmp(state, "revoked") || !strcmp(state, "disconnected") || !refresh_token) {
            if (!*perr) {
                *perr = !strcmp(state, "revoked") ? "Jobber revoked the connection: connect again"
                                                  : "Jobber is not connected for this client";
            }
            if (lock) commit(job);
            return APR_EACCES;
        }
        if (access && !stale && !(failed && !strcmp(failed, access))) {
            if (lock && commit(job) != APR_SUCCESS) {
                return APR_EAGAIN;
            }
            *paccess = access;
            return APR_SUCCESS;
        }
    }
    return refresh(paccess, job, c, client_id, refresh_token, perr);
}
