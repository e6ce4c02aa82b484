/*
 * submission.process and message.process: classify a new inbound message
 * (form, SMS, voicemail transcript), store the result on it,
 * and record the notifications the client's staff get. Runs in the job's
 * transaction, so a job that dies half-way leaves nothing and runs again.
 */
#include "intake_private.h"
#include "base/cs_json.h"

#include <apr_strings.h>
#include <apr_hash.h>

APLOG_USE_MODULE(consult_intake);

/* slug -> intake_conf of the vhost bound to it: jobs run outside requests,
 * but classify with the settings of the client's own vhost. */
static apr_hash_t *conf_by_slug;

void intake_jobs_post_config(apr_pool_t *pconf, server_rec *s)
{
    server_rec *v;

    conf_by_slug = apr_hash_make(pconf);
    for (v = s; v; v = v->next) {
        const char *slug = intake_core.client_slug ? intake_core.client_slug(v) : NULL;
        if (slug && intake_sconf(v)->enabled == 1
            && !apr_hash_get(conf_by_slug, slug, APR_HASH_KEY_STRING)) {
            apr_hash_set(conf_by_slug, slug, APR_HASH_KEY_STRING, intake_sconf(v));
        }
    }
}

const cs_classification_t *intake_classify_builtin(apr_pool_t *p, const char *slug,
                                                   const char *text)
{
    const intake_conf *conf = slug ? apr_hash_get(conf_by_slug, slug, APR_HASH_KEY_STRING) : NULL;
    cs_classify_opts_t opts = { conf ? conf->vertical : NULL };

    if (!conf || conf->classifier == CLASSIFIER_LLM || !text || !*text) {
        return NULL;
    }
    return cs_classify_builtin_opts(p, text, &opts);
}

/* The provider shape: common/ builds the request and reads the answer,
 * the module sends it through the one HTTP client. */
static apr_status_t llm_classify(cs_classification_t **pout, apr_pool_t *p,
                                 const cs_llm_conf_t *llm, const char *text,
                                 const char **perr)
{
    cs_http_req_t req;
    cs_http_resp_t *resp = NULL;
    const char *err = NULL;
    apr_status_t rv;

    *pout = NULL;
    if ((rv = cs_llm_build_request(&req, p, llm, text, perr)) != APR_SUCCESS) {
        return rv;
    }
    rv = cs_http_perform(&resp, p, &req, &err);
    return cs_llm_read_response(pout, p, rv, resp, err, perr);
}

static cs_classification_t *classify(cs_job_t *job, const intake_conf *conf,
                                     const char *text)
{
    cs_classification_t *c = NULL;
    const char *err = NULL;
    cs_llm_conf_t llm;
    cs_classify_opts_t opts = { conf ? conf->vertical : NULL };

    if (!conf || conf->classifier != CLASSIFIER_LLM) {
        return cs_classify_builtin_opts(job->pool, text, &opts);
    }
    llm.endpoint = conf->llm_endpoint;
    llm.api_key = conf->llm_key;
    llm.model = conf->llm_model;
    llm.timeout = conf->llm_timeout;
    if (llm_classify(&c, job->pool, &llm, text, &err) == APR_SUCCESS) {
        return c;
    }
    /* The LLM is an upgrade, never a dependency: fall back and say why. */
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, job->server, CSLOGNO(02020)
                 "job %s: LLM classification failed, using builtin: %s",
                 job->id_str, err);
    c = cs_classify_builtin_opts(job->pool, text, &opts);
    c->fallback = err ? err : "LLM failed";
    return c;
}

/* The notification and the job that emails it (mod_consult_email; a
 * client without email just has the row, shown in the dashboard). Once
 * per message, however often the message is processed. */
static int notify(cs_job_t *job, const char *message_id, const char *client_id,
                  const char *kind)
{
    const char *params[3] = { message_id, client_id, kind };
    PGresult *res = cs_db_exec(job->conn, job->pool, &job->error, PGRES_COMMAND_OK,
                     "WITH n AS (INSERT INTO notifications (client_id, message_id, kind)"
                     " VALUES ($2, $1, $3) ON CONFLICT DO NOTHING RETURNING id)"
                     " INSERT INTO jobs (kind, payload, unique_key)"
                     " SELECT 'notification.send', jsonb_build_object('notification_id', n.id),"
                     "   'notification.send:' || n.id FROM n", 3, params);
    if (!res) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    PQclear(res);
    return OK;
}

int intake_run_job(cs_job_t *job)
{
    cs_json_t *payload;
    const char *err = NULL, *params[8], *slug, *body;
    cs_classification_t *c;
    PGresult *res;
    int was_spam;

    /* Form submissions, SMS and voicemail transcripts: classified alike. */
    if (strcmp(job->kind, "submission.process") && strcmp(job->kind, "message.process")) {
        return DECLINED;
    }
    if (cs_json_parse(&payload, job->pool, job->payload, strlen(job->payload), &err)
        != APR_SUCCESS
        || !json_object_is_type(cs_json_raw(payload), json_type_object)) {
        job->error = "payload is not a JSON object";
        job->permanent = 1;
        return HTTP_BAD_REQUEST;
    }
    {
        json_object *v = NULL;
        json_object_object_get_ex(cs_json_raw(payload), "message_id", &v);
        params[0] = v ? json_object_get_string(v) : NULL;
        json_object_object_get_ex(cs_json_raw(payload), "client_id", &v);
        params[1] = v ? json_object_get_string(v) : NULL;
    }
    if (!params[0] || !params[1]) {
        job->error = "payload lacks message_id or client_id";
        job->permanent = 1;
        return HTTP_BAD_REQUEST;
    }
    res = cs_db_exec(job->conn, job->pool, &job->error, PGRES_TUPLES_OK,
                     "SELECT m.body, c.slug, m.is_spam FROM messages m"
                     " JOIN clients c ON c.id = m.client_id"
                     " WHERE m.id = $1 AND m.client_id = $2 FOR UPDATE OF m",
                     2, params);
    if (!res) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return OK;      /* the message was deleted since: nothing to do */
    }
    body = apr_pstrdup(job->pool, PQgetvalue(res, 0, 0));
    slug = apr_pstrdup(job->pool, PQgetvalue(res, 0, 1));
    was_spam = PQgetvalue(res, 0, 2)[0] == 't';
    PQclear(res);

    if (!*body) {
        /* A voicemail Twilio did not transcribe: nothing to classify, but
         * staff still hear of it. */
        res = cs_db_exec(job->conn, job->pool, &job->error, PGRES_COMMAND_OK,
                         "UPDATE messages SET classified_at = now() WHERE id = $1 AND client_id = $2",
                         2, params);
        if (!res) {
            return HTTP_SERVICE_UNAVAILABLE;
        }
        PQclear(res);
        return was_spam ? OK : notify(job, params[0], params[1], "new_message");
    }
    c = classify(job, apr_hash_get(conf_by_slug, slug, APR_HASH_KEY_STRING), body);
    params[2] = c->intent;
    params[3] = c->urgency;
    params[4] = apr_psprintf(job->pool, "%.4f", c->confidence);
    params[5] = cs_classification_json(job->pool, c);
    res = cs_db_exec(job->conn, job->pool, &job->error, PGRES_COMMAND_OK,
                     "UPDATE messages SET intent = $3, urgency = $4,"
                     "  confidence = $5::real, classification = $6::jsonb,"
                     "  classified_at = now(),"
                     "  is_spam = is_spam OR $3 = 'spam',"
                     "  spam_reasons = CASE WHEN $3 = 'spam' AND NOT 'classifier' = ANY(spam_reasons)"
                     "                 THEN spam_reasons || 'classifier'::text ELSE spam_reasons END"
                     " WHERE id = $1 AND client_id = $2", 6, params);
    if (!res) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    PQclear(res);
    if (was_spam || !strcmp(c->intent, "spam")) {
        if (!was_spam) {
            /* Spam by content: the thread goes to the spam folder unless it
             * already holds real messages. */
            res = cs_db_exec(job->conn, job->pool, &job->error, PGRES_COMMAND_OK,
                             "UPDATE conversations cv SET status = 'spam'"
                             " FROM messages m WHERE m.id = $1 AND cv.id = m.conversation_id"
                             "  AND NOT EXISTS (SELECT 1 FROM messages o WHERE"
                             "   o.conversation_id = cv.id AND o.id <> m.id AND NOT o.is_spam)",
                             1, params);
            if (!res) {
                return HTTP_SERVICE_UNAVAILABLE;
            }
            PQclear(res);
        }
        return OK;      /* no one is woken up for spam */
    }
    return notify(job, params[0], params[1],
                  !strcmp(c->urgency, "high") ? "urgent_message" : "new_message");
}
