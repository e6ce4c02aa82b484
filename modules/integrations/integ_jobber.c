/*
 * The Jobber jobs.
 *
 *   jobber.lead   a message staff sent to Jobber (a jobber_requests row):
 *                 the contact's Jobber client (found by email or phone,
 *                 else created), a request, and a note with what the
 *                 customer wrote. Each id is committed as soon as Jobber
 *                 gives it (cs_jobs_checkpoint), so a retry resumes where
 *                 the last attempt stopped and never makes a second client
 *                 or request. userErrors end the job with the row failed
 *                 and Jobber's words on it, for staff to read.
 *   jobber.event  a journaled webhook: fetch its item by id and keep the
 *                 customer's Jobber status; APP_DISCONNECT ends the
 *                 connection.
 *   jobber.test   the settings page's "send a test event": one small
 *                 query with the account's token (refreshing it if due).
 *   jobber.reconcile (integ_reconcile.c) what lost webhooks missed.
 */
#include "integ_private.h"

#include <apr_strings.h>
#include <stdlib.h>

APLOG_USE_MODULE(consult_integrations);

typedef enum { CALL_FIND, CALL_CREATE_CLIENT, CALL_CREATE_REQUEST, CALL_NOTE, CALL_FETCH,
               CALL_LOOKUP, CALL_ACCOUNT } call_kind_t;

typedef struct {
    call_kind_t kind;
    const char *email, *phone;
    cs_jobber_new_client_t client;
    cs_jobber_lead_t lead;
    const char *request_id, *message;
    const char *topic, *item_id;
} call_t;

static apr_status_t build(cs_http_req_t *req, apr_pool_t *p, const cs_jobber_app_t *app,
                          const char *access, const call_t *c)
{
    switch (c->kind) {
    case CALL_FIND:
        return cs_jobber_build_find_client(req, p, app, access, c->email, c->phone);
    case CALL_CREATE_CLIENT:
        return cs_jobber_build_create_client(req, p, app, access, &c->client);
    case CALL_CREATE_REQUEST:
        return cs_jobber_build_create_request(req, p, app, access, &c->lead);
    case CALL_NOTE:
        return cs_jobber_build_request_note(req, p, app, access, c->request_id, c->message);
    case CALL_FETCH:
        return cs_jobber_build_fetch_item(req, p, app, access, c->topic, c->item_id);
    case CALL_LOOKUP:
        return cs_jobber_build_client_requests(req, p, app, access, c->lead.client_id);
    default:
        return cs_jobber_build_account(req, p, app, access);
    }
}

/* Send @p call with the account's token; once more with a refreshed one
 * when Jobber says 401. *presp is the answer (NULL: none). */
static apr_status_t send_call(cs_http_resp_t **presp, cs_job_t *job, const integ_conf *c,
                              const char *client_id, const call_t *call, const char **perr)
{
    const char *access = NULL, *failed = NULL, *err = NULL;
    cs_http_req_t req;
    apr_status_t rv;
    int round;

    *presp = NULL;
    for (round = 0; round < 2; round++) {
        if ((rv = integ_jobber_access(&access, job, c, client_id, failed, perr)) != APR_SUCCESS) {
            return rv;
        }
        if ((rv = build(&req, job->pool, &c->app, access, call)) != APR_SUCCESS) {
            *perr = "nothing to send";
            return rv;
        }
        if (cs_http_perform(presp, job->pool, &req, &err) != APR_SUCCESS) {
            *presp = NULL;
            *perr = err;
            return APR_SUCCESS;     /* the parser says "no answer: again later" */
        }
        if ((*presp)->status != 401) {
            return APR_SUCCESS;
        }
        failed = access;
    }
    return APR_SUCCESS;             /* a fresh token refused too: the parser says so */
}

/* Commit what the job wrote so far (an id Jobber just gave us). */
static apr_status_t commit_now(cs_job_t *job)
{
    const char *err = NULL;
    apr_status_t rv = cs_jobs_checkpoint(job->conn, job->pool, &err, job);
    if (rv != APR_SUCCESS) job->error = err;
    return rv;
}

/* The job's failure from a read's verdict. */
int integ_jobber_failed(cs_job_t *job, const char *client_id, apr_status_t rv, const char *why)
{
    job->error = why ? why : "Jobber failed";
    if (APR_STATUS_IS_EACCES(rv)) {
        integ_jobber_mark(job, client_id, rv, why);
    }
    job->permanent = APR_STATUS_IS_EINVAL(rv);
    return APR_STATUS_IS_EAGAIN(rv) ? HTTP_SERVICE_UNAVAILABLE : HTTP_BAD_GATEWAY;
}

/* ---- jobber.lead ------------------------------------------------------- */

static const char LEAD_SQL[] =
    "SELECT jr.state, jr.jobber_request_id, jr.jobber_note_id, cv.contact_id,"
    "  jl.jobber_client_id, ct.name, ct.email, ct.phone, m.body,"
    "  (SELECT count(*) FROM submissions s JOIN attachments a ON a.submission_id = s.id"
    "    WHERE s.message_id = m.id), cl.slug, m.channel,"
    "  (SELECT string_agg(a.id::text, ',' ORDER BY a.id) FROM submissions s"
    "    JOIN attachments a ON a.submission_id = s.id WHERE s.message_id = m.id"
    "     AND a.content_type LIKE 'image/%' AND a.content_type <> 'image/svg+xml')"
    " FROM jobber_requests jr"
    " JOIN messages m ON m.id = jr.message_id AND m.client_id = jr.client_id"
    " JOIN conversations cv ON cv.id = m.conversation_id"
    " JOIN contacts ct ON ct.id = cv.contact_id"
    " JOIN clients cl ON cl.id = jr.client_id"
    " LEFT JOIN jobber_links jl ON jl.client_id = jr.client_id AND jl.contact_id = cv.contact_id"
    " WHERE jr.message_id = $1 AND jr.client_id = $2 FOR UPDATE OF jr";

static const char *col(PGresult *res, int j, apr_pool_t *p)
{
    return PQgetisnull(res, 0, j) ? NULL : apr_pstrdup(p, PQgetvalue(res, 0, j));
}

static int exec_ok(cs_job_t *job, const char *sql, int n, const char *const *params)
{
    PGresult *res = cs_db_exec(job->conn, job->pool, &job->error, PGRES_COMMAND_OK, sql, n,
                               params);
    if (!res) return 0;
    PQclear(res);
    return 1;
}

/* A Jobber refusal on the row, for staff; the job ends (done). */
static int lead_refused(cs_job_t *job, const char *message_id, const char *client_id,
                        const char *why)
{
    const char *params[3] = { message_id, client_id, why };
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, job->server, CSLOGNO(07040)
                 "job %s: Jobber refused the lead of message %s: %s", job->id_str, message_id,
                 why);
    return exec_ok(job, "UPDATE jobber_requests SET state = 'failed', error = left($3, 2000)"
                        " WHERE message_id = $1 AND client_id = $2", 3, params)
           ? OK : HTTP_SERVICE_UNAVAILABLE;
}

/* Keep why the last attempt failed on the row (committed), so staff see
 * it while the job retries. */
static int lead_retry(cs_job_t *job, const char *message_id, const char *client_id,
                      apr_status_t rv, const char *why)
{
    const char *params[3] = { message_id, client_id, why ? why : "Jobber failed" };
    int st = integ_jobber_failed(job, client_id, rv, why);
    if (exec_ok(job, "UPDATE jobber_requests SET error = left($3, 2000)"
                     " WHERE message_id = $1 AND client_id = $2", 3, params)) {
        commit_now(job);
    }
    job->error = why ? why : "Jobber failed";
    return st;
}

/* Our reference on what a lead makes in Jobber: the title of its request
 * and the end of its note, so an attempt after one cut short can find them. */
static const char *lead_ref(apr_pool_t *p, const char *message_id)
{
    /* Delimited, so "ref 12" is never found inside "ref 123". */
    return apr_pstrcat(p, "(Consult ref ", message_id, ")", NULL);
}

static const char *lead_title(apr_pool_t *p, const char *channel, const char *name,
                              const char *ref)
{
    const char *what = !strcmp(channel, "sms") ? "Text" : !strcmp(channel, "voicemail")
                       ? "Voicemail" : !strcmp(channel, "email") ? "Email" : "Website request";
    return apr_pstrcat(p, what, name ? " from " : "", name ? name : "", " ", ref, NULL);
}

/* What the customer wrote, a link per photo (integ_photos.c), a word on
 * any other file, and our reference. */
static const char *lead_note(cs_job_t *job, const integ_conf *c, const char *slug,
                             const char *body, const char *images, long files, const char *ref)
{
    const char *out = body, *link;
    char *list = images ? apr_pstrdup(job->pool, images) : NULL, *id, *last = NULL;
    long linked = 0;

    for (id = list ? apr_strtok(list, ",", &last) : NULL; id; id = apr_strtok(NULL, ",", &last)) {
        if ((link = integ_photo_link(job->pool, job->server, c, slug, id))) {
            out = apr_pstrcat(job->pool, out, linked ? "\n" : "\n\nPhotos:\n", link, NULL);
            linked++;
        }
    }
    if (files > linked) {
        out = apr_psprintf(job->pool, "%s\n\n(%ld %sfile%s with this request: see the message "
                           "in Consult)", out, files - linked, linked ? "more " : "",
                           files - linked == 1 ? "" : "s");
    }
    return apr_pstrcat(job->pool, out, "\n\n", ref, NULL);
}

/* A retry: the attempt before may have been cut (a killed worker) between
 * Jobber's answer and our commit, so look for what it made before making
 * it again. Fills *prequest and *pnote when found. */
static apr_status_t lead_lookup(cs_job_t *job, const integ_conf *c, const char *client_id,
                                const char *jclient, const char *ref, const char **prequest,
                                const char **pnote, const char **pwhy)
{
    cs_http_resp_t *resp = NULL;
    cs_jobber_result_t res;
    const char *request = NULL, *note = NULL;
    call_t call;
    apr_status_t rv;

    memset(&call, 0, sizeof(call));
    memset(&res, 0, sizeof(res));
    call.kind = CALL_LOOKUP;
    call.lead.client_id = jclient;
    if ((rv = send_call(&resp, job, c, client_id, &call, pwhy)) != APR_SUCCESS) {
        return rv;
    }
    rv = cs_jobber_parse_client_requests(&request, &note, job->pool, resp, ref, &res);
    if (rv != APR_SUCCESS) {
        *pwhy = res.why;
        return APR_STATUS_IS_ENOENT(rv) ? APR_SUCCESS : rv;
    }
    if (request && !*prequest) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, job->server, CSLOGNO(07042)
                     "job %s: the Jobber request of an interrupted attempt found (%s)",
                     job->id_str, ref);
        *prequest = request;
    }
    if (note && !*pnote) {
        *pnote = note;
    }
    return APR_SUCCESS;
}

static int lead_job(cs_job_t *job, const integ_conf *c, const char *message_id,
                    const char *client_id)
{
    const char *params[4] = { message_id, client_id, NULL, NULL }, *why = NULL;
    const char *request_id, *note_id, *contact_id, *jclient, *name, *email, *phone, *body;
    const char *channel, *ref, *slug, *images;
    long files;
    cs_http_resp_t *resp = NULL;
    cs_jobber_result_t res;
    call_t call;
    apr_status_t rv;
    PGresult *r;

    if (!(r = cs_db_exec(job->conn, job->pool, &job->error, PGRES_TUPLES_OK, LEAD_SQL, 2,
                         params))) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (PQntuples(r) != 1 || !strcmp(PQgetvalue(r, 0, 0), "sent")) {
        PQclear(r);
        return OK;      /* gone, or already in Jobber */
    }
    request_id = col(r, 1, job->pool);
    note_id = col(r, 2, job->pool);
    contact_id = col(r, 3, job->pool);
    jclient = col(r, 4, job->pool);
    name = col(r, 5, job->pool);
    email = col(r, 6, job->pool);
    phone = col(r, 7, job->pool);
    body = col(r, 8, job->pool);
    files = atol(PQgetvalue(r, 0, 9));
    slug = col(r, 10, job->pool);
    channel = col(r, 11, job->pool);
    images = col(r, 12, job->pool);
    PQclear(r);

    memset(&call, 0, sizeof(call));
    if (!jclient) {
        /* Two leads of one customer at once (two nodes): one finds or makes
         * the Jobber client; the other waits here until that link commits,
         * then reads it instead of making a second client. */
        const char *lp[2] = { client_id, contact_id };
        if (!(r = cs_db_exec(job->conn, job->pool, &job->error, PGRES_TUPLES_OK,
                             "SELECT pg_advisory_xact_lock(hashtextextended('jobber-client:' || $1"
                             " || ':' || $2, 0))", 2, lp))) {
            return HTTP_SERVICE_UNAVAILABLE;
        }
        PQclear(r);
        /* A statement of its own: its snapshot is taken after the wait. */
        if (!(r = cs_db_exec(job->conn, job->pool, &job->error, PGRES_TUPLES_OK,
                             "SELECT jobber_client_id FROM jobber_links"
                             " WHERE client_id = $1 AND contact_id = $2", 2, lp))) {
            return HTTP_SERVICE_UNAVAILABLE;
        }
        jclient = PQntuples(r) ? apr_pstrdup(job->pool, PQgetvalue(r, 0, 0)) : NULL;
        PQclear(r);
    }
    if (!jclient) {
        cs_jobber_client_t *found = NULL;
        call.kind = CALL_FIND;
        call.email = email;
        call.phone = phone;
        memset(&res, 0, sizeof(res));
        if ((rv = send_call(&resp, job, c, client_id, &call, &why)) != APR_SUCCESS) {
            return lead_retry(job, message_id, client_id, rv, why);
        }
        rv = cs_jobber_parse_find_client(&found, job->pool, resp, email, phone, &res);
        if (APR_STATUS_IS_ENOENT(rv)) {
            call.kind = CALL_CREATE_CLIENT;
            call.client.name = name;
            call.client.email = email;
            call.client.phone = phone;
            if (!name) call.client.company = email ? email : phone;
            memset(&res, 0, sizeof(res));
            if ((rv = send_call(&resp, job, c, client_id, &call, &why)) != APR_SUCCESS) {
                return lead_retry(job, message_id, client_id, rv, why);
            }
            rv = cs_jobber_parse_create_client(&found, job->pool, resp, &res);
        }
        if (APR_STATUS_IS_EINVAL(rv)) {
            return lead_refused(job, message_id, client_id, res.why);
        }
        if (rv != APR_SUCCESS) {
            return lead_retry(job, message_id, client_id, rv, res.why);
        }
        jclient = found->id;
        params[2] = contact_id;
        params[3] = jclient;
        /* Committed now: a retry finds the client instead of making another. */
        if (!exec_ok(job, "INSERT INTO jobber_links (client_id, contact_id, jobber_client_id)"
                          " VALUES ($1, $2, $3) ON CONFLICT (client_id, contact_id)"
                          " DO UPDATE SET jobber_client_id = $3, updated_at = now()", 3,
                     params + 1)
            || commit_now(job) != APR_SUCCESS) {
            return HTTP_SERVICE_UNAVAILABLE;
        }
    }
    ref = lead_ref(job->pool, message_id);
    if (job->attempt > 1 && (!request_id || !note_id)) {
        const char *had = request_id;
        if ((rv = lead_lookup(job, c, client_id, jclient, ref, &request_id, &note_id, &why))
            != APR_SUCCESS) {
            return lead_retry(job, message_id, client_id, rv, why);
        }
        params[2] = request_id;
        if (request_id && !had
            && (!exec_ok(job, "UPDATE jobber_requests SET jobber_request_id = $3"
                              " WHERE message_id = $1 AND client_id = $2", 3, params)
                || commit_now(job) != APR_SUCCESS)) {
            return HTTP_SERVICE_UNAVAILABLE;
        }
    }
    if (!request_id) {
        call.kind = CALL_CREATE_REQUEST;
        call.lead.client_id = jclient;
        call.lead.title = lead_title(job->pool, channel, name, ref);
        memset(&res, 0, sizeof(res));
        if ((rv = send_call(&resp, job, c, client_id, &call, &why)) != APR_SUCCESS) {
            return lead_retry(job, message_id, client_id, rv, why);
        }
        rv = cs_jobber_parse_create_request(&request_id, job->pool, resp, &res);
        if (APR_STATUS_IS_EINVAL(rv)) {
            return lead_refused(job, message_id, client_id, res.why);
        }
        if (rv != APR_SUCCESS) {
            return lead_retry(job, message_id, client_id, rv, res.why);
        }
        params[2] = request_id;
        if (!exec_ok(job, "UPDATE jobber_requests SET jobber_request_id = $3, error = NULL"
                          " WHERE message_id = $1 AND client_id = $2", 3, params)
            || commit_now(job) != APR_SUCCESS) {
            return HTTP_SERVICE_UNAVAILABLE;
        }
    }
    if (!note_id && body && *body) {
        call.kind = CALL_NOTE;
        call.request_id = request_id;
        call.message = lead_note(job, c, slug, body, images, files, ref);
        memset(&res, 0, sizeof(res));
        if ((rv = send_call(&resp, job, c, client_id, &call, &why)) != APR_SUCCESS) {
            return lead_retry(job, message_id, client_id, rv, why);
        }
        rv = cs_jobber_parse_request_note(&note_id, job->pool, resp, &res);
        if (APR_STATUS_IS_EINVAL(rv)) {
            return lead_refused(job, message_id, client_id, res.why);
        }
        if (rv != APR_SUCCESS) {
            return lead_retry(job, message_id, client_id, rv, res.why);
        }
    }
    params[2] = note_id;
    if (!exec_ok(job, "UPDATE jobber_requests SET state = 'sent', jobber_note_id = $3,"
                      "  error = NULL, sent_at = now() WHERE message_id = $1 AND client_id = $2",
                 3, params)) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    integ_jobber_mark(job, client_id, APR_SUCCESS, NULL);
    return OK;
}

/* ---- jobber.event ------------------------------------------------------ */

apr_status_t integ_jobber_fetch(cs_jobber_item_t **pitem, cs_job_t *job, const integ_conf *c,
                                const char *client_id, const char *topic, const char *item_id,
                                const char **pwhy)
{
    cs_http_resp_t *resp = NULL;
    cs_jobber_result_t res;
    call_t call;
    apr_status_t rv;

    *pitem = NULL;
    memset(&call, 0, sizeof(call));
    memset(&res, 0, sizeof(res));
    call.kind = CALL_FETCH;
    call.topic = topic;
    call.item_id = item_id;
    if ((rv = send_call(&resp, job, c, client_id, &call, pwhy)) != APR_SUCCESS) {
        return rv;      /* APR_ENOENT: a topic without an item */
    }
    rv = cs_jobber_parse_fetch_item(pitem, job->pool, resp, topic, &res);
    if (rv != APR_SUCCESS) {
        *pwhy = res.why;
    }
    return rv;
}

int integ_jobber_store_item(cs_job_t *job, const char *client_id, const cs_jobber_item_t *item)
{
    const char *params[4] = { client_id, item->client_id,
                              apr_pstrcat(job->pool, item->kind, " ",
                                          item->status ? item->status : "", NULL),
                              !strcmp(item->kind, "client") ? item->web_url : NULL };
    PGresult *res;
    int changed = 0;

    if (item->client_id && !exec_ok(job, "UPDATE jobber_links SET jobber_status = left($3, 200),"
                                         "  jobber_url = coalesce($4, jobber_url), updated_at = now()"
                                         " WHERE client_id = $1 AND jobber_client_id = $2",
                                    4, params)) {
        return -1;
    }
    if (strcmp(item->kind, "request")) {
        return 0;
    }
    params[1] = item->id;
    params[2] = item->status;
    if (!exec_ok(job, "UPDATE jobber_requests SET jobber_url = $3"
                      " WHERE client_id = $1 AND jobber_request_id = $2"
                      "  AND jobber_url IS DISTINCT FROM $3 AND $3 IS NOT NULL", 3,
                 (const char *const[]){ client_id, item->id, item->web_url })) {
        return -1;
    }
    res = cs_db_exec(job->conn, job->pool, &job->error, PGRES_COMMAND_OK,
                     "UPDATE jobber_requests SET jobber_status = left($3, 200)"
                     " WHERE client_id = $1 AND jobber_request_id = $2"
                     "  AND jobber_status IS DISTINCT FROM left($3, 200)", 3, params);
    if (!res) {
        return -1;
    }
    changed = atoi(PQcmdTuples(res)) > 0;
    PQclear(res);
    return changed;
}

/* One delivery, for one client that connected its account. */
static int event_for(cs_job_t *job, const cs_jobber_webhook_t *w, const char *client_id,
                     const char *slug)
{
    const char *params[1] = { client_id }, *why = NULL;
    cs_jobber_item_t *item = NULL;
    const integ_conf *c;
    apr_status_t rv;

    if (!exec_ok(job, "UPDATE integration_accounts SET last_event_at = now(), updated_at = now()"
                      " WHERE client_id = $1 AND provider = 'jobber'", 1, params)) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (!strcmp(w->topic, "APP_DISCONNECT")) {
        /* The owner removed the app in Jobber: the tokens are dead. */
        return exec_ok(job, "UPDATE integration_accounts SET state = 'revoked',"
                            "  access_sealed = NULL, refresh_sealed = NULL, last_error = 'Jobber"
                            " says the app was disconnected (APP_DISCONNECT): connect again',"
                            "  last_error_at = now()"
                            " WHERE client_id = $1 AND provider = 'jobber'", 1, params)
               ? OK : HTTP_SERVICE_UNAVAILABLE;
    }
    if (!(c = integ_conf_for_slug(slug)) || c->jobber != 1) {
        return OK;
    }
    rv = integ_jobber_fetch(&item, job, c, client_id, w->topic, w->item_id, &why);
    if (APR_STATUS_IS_EACCES(rv)) {
        /* Not connected (or revoked): nothing can be fetched until the
         * owner connects; the event stays in the journal. */
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, job->server, CSLOGNO(07041)
                     "job %s: Jobber %s for %s not fetched: %s", job->id_str, w->topic,
                     slug, why);
        return OK;
    }
    if (rv == APR_SUCCESS) {
        return integ_jobber_store_item(job, client_id, item) < 0 ? HTTP_SERVICE_UNAVAILABLE
                                                                 : OK;
    }
    return APR_STATUS_IS_ENOENT(rv) ? OK : integ_jobber_failed(job, client_id, rv, why);
}

/* Jobber sends every account's webhooks to the one URL of our app, so the
 * vhost that received a delivery says nothing about whose it is: its
 * accountId does. It goes to each client that connected that account;
 * else, except for APP_DISCONNECT, to the receiving client if the account
 * of its connection is not known yet (the test event learns it). A
 * delivery for an account no client connected is kept and done. */
static const char OWNERS_SQL[] =
    "SELECT a.client_id, c.slug FROM integration_accounts a JOIN clients c ON c.id = a.client_id"
    " WHERE a.provider = 'jobber' AND a.account_id = $1"
    " UNION ALL"
    " SELECT a.client_id, c.slug FROM integration_accounts a JOIN clients c ON c.id = a.client_id"
    " WHERE a.provider = 'jobber' AND a.client_id = $2 AND a.account_id IS NULL AND NOT $3"
    "  AND NOT EXISTS (SELECT 1 FROM integration_accounts b"
    "                  WHERE b.provider = 'jobber' AND b.account_id = $1)"
    " ORDER BY 1";

static int event_job(cs_job_t *job, const char *event_id)
{
    const char *params[3] = { NULL, NULL, NULL }, *why = NULL, *client_id;
    cs_jobber_webhook_t *w = NULL;
    int i, n, st = OK;
    PGresult *r;

    if (!(r = integ_journal_row(job, "jobber", event_id))) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (PQntuples(r) != 1) {
        PQclear(r);
        return OK;
    }
    client_id = apr_pstrdup(job->pool, PQgetvalue(r, 0, 1));
    if (cs_jobber_parse_webhook(&w, job->pool, PQgetvalue(r, 0, 0), PQgetlength(r, 0, 0), &why)
        != APR_SUCCESS) {
        PQclear(r);
        job->error = why;
        job->permanent = 1;
        return HTTP_BAD_REQUEST;
    }
    PQclear(r);
    params[0] = w->account_id;
    params[1] = client_id;
    params[2] = !strcmp(w->topic, "APP_DISCONNECT") ? "t" : "f";
    if (!(r = cs_db_exec(job->conn, job->pool, &job->error, PGRES_TUPLES_OK, OWNERS_SQL, 3,
                         params))) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    n = PQntuples(r);
    if (!n) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, job->server, CSLOGNO(07043)
                     "job %s: Jobber %s for account %s: no client connected that account",
                     job->id_str, w->topic, w->account_id);
    }
    for (i = 0; i < n && st == OK; i++) {
        st = event_for(job, w, apr_pstrdup(job->pool, PQgetvalue(r, i, 0)),
                       apr_pstrdup(job->pool, PQgetvalue(r, i, 1)));
    }
    PQclear(r);
    if (st != OK) {
        return st;
    }
    params[0] = event_id;
    return exec_ok(job, "UPDATE provider_events SET processed_at = now(),"
                        "  attempts = attempts + 1 WHERE id = $1", 1, params)
           ? OK : HTTP_SERVICE_UNAVAILABLE;
}

/* ---- jobber.test -------------------------------------------------------- */

static int test_job(cs_job_t *job, const integ_conf *c, const char *client_id)
{
    const char *params[4] = { client_id, NULL, NULL, NULL }, *why = NULL;
    cs_http_resp_t *resp = NULL;
    cs_jobber_result_t res;
    cs_jobber_account_t *account = NULL;
    call_t call;
    apr_status_t rv;

    memset(&call, 0, sizeof(call));
    memset(&res, 0, sizeof(res));
    call.kind = CALL_ACCOUNT;
    rv = send_call(&resp, job, c, client_id, &call, &why);
    if (rv == APR_SUCCESS) {
        rv = cs_jobber_parse_account(&account, job->pool, resp, &res);
        why = res.why;
    }
    params[1] = rv == APR_SUCCESS ? "t" : "f";
    params[2] = rv != APR_SUCCESS ? why
                : account->name ? apr_pstrcat(job->pool, "Jobber answered with this account's "
                                              "token: ", account->name, ".", NULL)
                : "Jobber answered with this account's token.";
    /* The account webhooks name (the connect learns it; this heals a
     * connection made while Jobber could not say). */
    params[3] = account ? account->id : NULL;
    if (rv != APR_SUCCESS && !APR_STATUS_IS_EACCES(rv)) {
        integ_jobber_mark(job, client_id, rv, why);
    }
    else if (rv == APR_SUCCESS) {
        integ_jobber_mark(job, client_id, rv, NULL);
    }
    return exec_ok(job, "UPDATE integration_accounts SET test_ok = $2::boolean,"
                        "  test_result = left($3, 2000), test_at = now(),"
                        "  account_id = coalesce($4, account_id)"
                        " WHERE client_id = $1 AND provider = 'jobber'", 4, params)
           ? OK : HTTP_SERVICE_UNAVAILABLE;
}

int integ_jobber_job(cs_job_t *job)
{
    const char *client_id, *slug;
    const integ_conf *c;
    PGresult *res;

    if (!strcmp(job->kind, INTEG_JOB_JOBBER)) {
        const char *event_id = integ_payload_str(job, "event");
        if (!event_id) {
            job->error = "payload lacks the event";
            job->permanent = 1;
            return HTTP_BAD_REQUEST;
        }
        return event_job(job, event_id);
    }
    if (strcmp(job->kind, INTEG_JOB_LEAD) && strcmp(job->kind, INTEG_JOB_TEST)
        && strcmp(job->kind, INTEG_JOB_RECONCILE)) {
        return DECLINED;
    }
    if (!(client_id = integ_payload_str(job, "client_id"))) {
        job->error = "payload lacks client_id";
        job->permanent = 1;
        return HTTP_BAD_REQUEST;
    }
    {
        const char *params[1] = { client_id };
        if (!(res = cs_db_exec(job->conn, job->pool, &job->error, PGRES_TUPLES_OK,
                               "SELECT slug FROM clients WHERE id = $1", 1, params))) {
            return HTTP_SERVICE_UNAVAILABLE;
        }
        slug = PQntuples(res) ? apr_pstrdup(job->pool, PQgetvalue(res, 0, 0)) : NULL;
        PQclear(res);
    }
    if (!(c = integ_conf_for_slug(slug)) || c->jobber != 1) {
        job->error = "Jobber is not switched on for this client (ConsultJobber On)";
        job->permanent = 1;
        return HTTP_NOT_IMPLEMENTED;
    }
    if (!strcmp(job->kind, INTEG_JOB_TEST)) {
        return test_job(job, c, client_id);
    }
    if (!strcmp(job->kind, INTEG_JOB_RECONCILE)) {
        return integ_reconcile_job(job, c, client_id);
    }
    {
        const char *message_id = integ_payload_str(job, "message_id");
        if (!message_id) {
            job->error = "payload lacks message_id";
            job->permanent = 1;
            return HTTP_BAD_REQUEST;
        }
        return lead_job(job, c, message_id, client_id);
    }
}
