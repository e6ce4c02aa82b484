/*
 * The worker's half of journal-first intake: the posts the edge recorded in
 * core's inbound journal become contacts, conversations, messages and
 * submissions, many in one transaction. A batch is two round trips: the
 * claim (oldest first, skipping rows another worker or node holds), then
 * consult_intake_drain (sql/functions/30_consult_intake_drain.sql, filing
 * the batch a statement per table through consult_intake_file) with
 * each post's builtin classification made here in between, so the message
 * is written classified, with its notification, and no submission.process
 * job is needed (one fewer transaction and message version per post). A
 * client that classifies with an LLM still gets that job: a model's round
 * trip has no place inside the batch's transaction.
 */
#include "intake_private.h"
#include "base/cs_json.h"

#include <apr_strings.h>

APLOG_USE_MODULE(consult_intake);

static PGresult *drain_call(PGconn *conn, apr_pool_t *p, const char *rows, int safe,
                            const char **perr)
{
    const char *params[2] = { rows, safe ? "true" : "false" };
    return cs_db_exec(conn, p, perr, PGRES_TUPLES_OK,
                      "SELECT failed FROM consult_intake_drain($1::jsonb, $2::boolean)",
                      2, params);
}

/* One claimed row as consult_intake_drain takes it: its id, whether its
 * client's staff are emailed, and (with @p classify) the classification
 * when one is made here. @p id is a bigint column's text, @p payload the
 * edge's JSON (one that does not parse is left to the SQL, which says
 * why). */
static const char *drain_row(apr_pool_t *p, const char *id, const char *slug,
                             const char *payload, int classify)
{
    cs_json_t *j = NULL;
    const char *err = NULL, *text;
    const cs_classification_t *c = NULL;
    int mail = intake_core.email_enabled && intake_core.email_enabled(slug);

    if (classify && cs_json_parse(&j, p, payload, strlen(payload), &err) == APR_SUCCESS
        && (text = cs_json_get_str(j, "message")) != NULL) {
        c = intake_classify_builtin(p, slug, text);
    }
    return apr_psprintf(p, "{\"id\":%s,\"mail\":%s%s%s}", id, mail ? "true" : "false",
                        c ? ",\"class\":" : "", c ? cs_classification_json(p, c) : "");
}

/* The claimed rows as one JSON array, and in @p pplain the same rows
 * without their classifications; NULL when there are none. */
static const char *claim(PGconn *conn, apr_pool_t *p, int limit, int *pn,
                         const char **pplain, const char **perr)
{
    const char *params[1] = { apr_itoa(p, limit) };
    apr_array_header_t *rows, *plain;
    PGresult *res;
    int i, n;

    res = cs_db_exec(conn, p, perr, PGRES_TUPLES_OK,
                     "SELECT id, slug, payload FROM consult_intake_claim($1)", 1, params);
    if (!res) {
        return NULL;
    }
    n = *pn = PQntuples(res);
    rows = apr_array_make(p, n ? n : 1, sizeof(const char *));
    plain = apr_array_make(p, n ? n : 1, sizeof(const char *));
    for (i = 0; i < n; i++) {
        APR_ARRAY_PUSH(rows, const char *) =
            drain_row(p, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), 1);
        APR_ARRAY_PUSH(plain, const char *) =
            drain_row(p, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), NULL, 0);
    }
    PQclear(res);
    if (!n) {
        return NULL;
    }
    *pplain = apr_pstrcat(p, "[", apr_array_pstrcat(p, plain, ','), "]", NULL);
    return apr_pstrcat(p, "[", apr_array_pstrcat(p, rows, ','), "]", NULL);
}

/* One batch: the fast call, then row by row (each in its own
 * subtransaction) from the savepoint (the claim's locks stay: they were
 * taken before it), then row by row without the classifications, so a
 * batch PostgreSQL will not take as JSON (whatever the classifier wrote)
 * is still filed, its rows by submission.process jobs, rather than
 * claimed again and again. */
static int drain_batch(server_rec *s, PGconn *conn, apr_pool_t *p, int limit)
{
    const char *err = NULL, *rows, *plain = NULL;
    PGresult *res;
    int failed, n = 0;

    rows = claim(conn, p, limit, &n, &plain, &err);
    if (!rows) {
        if (err) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, CSLOGNO(02033)
                         "claiming intake journal rows failed: %s", err);
            return -1;
        }
        return 0;
    }
    if (cs_db_command(conn, p, &err, "SAVEPOINT intake_drain") != APR_SUCCESS) {
        return -1;
    }
    res = drain_call(conn, p, rows, 0, &err);
    if (!res) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, CSLOGNO(02032)
                     "intake journal: a batch failed (%s); filing it row by row", err);
        if (cs_db_command(conn, p, &err, "ROLLBACK TO SAVEPOINT intake_drain") != APR_SUCCESS) {
            return -1;
        }
        if (!(res = drain_call(conn, p, rows, 1, &err))) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, CSLOGNO(02034)
                         "intake journal: a batch failed row by row (%s); "
                         "filing it unclassified", err);
            if (cs_db_command(conn, p, &err, "ROLLBACK TO SAVEPOINT intake_drain") != APR_SUCCESS
                || !(res = drain_call(conn, p, plain, 1, &err))) {
                ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, CSLOGNO(02030)
                             "draining the intake journal failed: %s", err);
                return -1;
            }
        }
    }
    failed = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    if (failed) {
        /* The rows keep their error (provider_events.last_error) and are
         * tried again, five times at most; /consult/health counts them. */
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, CSLOGNO(02031)
                     "intake journal: %d post(s) could not be filed this round; "
                     "see provider_events.last_error", failed);
    }
    return n;
}

int intake_drain(server_rec *s, PGconn *conn, apr_pool_t *p, int limit)
{
    apr_pool_t *bp;
    int n;

    /* A pool per batch: the worker goes on batch after batch in one pool
     * while rows keep coming, and each batch parses and classifies hundreds of
     * posts. */
    if (apr_pool_create(&bp, p) != APR_SUCCESS) {
        return -1;
    }
    n = drain_batch(s, conn, bp, limit);
    apr_pool_destroy(bp);
    return n;
}
