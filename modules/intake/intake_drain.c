/*
 * The worker's half of journal-first intake: the posts the edge recorded in
 * core's inbound journal become contacts, conversations, messages and
 * submissions (each queuing its submission.process job, which classifies
 * it), many in one transaction and one round trip
 * (consult_intake_drain, sql/functions/30_consult_intake_drain.sql).
 * Several workers or nodes drain at once: each skips the rows another
 * holds.
 */
#include "intake_private.h"

#include <apr_strings.h>

APLOG_USE_MODULE(consult_intake);

static PGresult *drain_call(PGconn *conn, apr_pool_t *p, int limit, int safe,
                            const char **perr)
{
    const char *params[2] = { apr_itoa(p, limit), safe ? "true" : "false" };
    return cs_db_exec(conn, p, perr, PGRES_TUPLES_OK,
                      "SELECT processed, failed FROM consult_intake_drain($1, $2)",
                      2, params);
}

int intake_drain(server_rec *s, PGconn *conn, apr_pool_t *p, int limit)
{
    const char *err = NULL;
    PGresult *res;
    int done, failed;

    /* The fast way first; a batch where one row fails is done again row by
     * row (each in its own subtransaction), from the savepoint. */
    if (cs_db_command(conn, p, &err, "SAVEPOINT intake_drain") != APR_SUCCESS) {
        return -1;
    }
    res = drain_call(conn, p, limit, 0, &err);
    if (!res) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, CSLOGNO(02032)
                     "intake journal: a batch failed (%s); filing it row by row", err);
        if (cs_db_command(conn, p, &err, "ROLLBACK TO SAVEPOINT intake_drain") != APR_SUCCESS
            || !(res = drain_call(conn, p, limit, 1, &err))) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, CSLOGNO(02030)
                         "draining the intake journal failed: %s", err);
            return -1;
        }
    }
    done = atoi(PQgetvalue(res, 0, 0));
    failed = atoi(PQgetvalue(res, 0, 1));
    PQclear(res);
    if (failed) {
        /* The rows keep their error (provider_events.last_error) and are
         * tried again, five times at most; /consult/health counts them. */
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, CSLOGNO(02031)
                     "intake journal: %d post(s) could not be filed this round; "
                     "see provider_events.last_error", failed);
    }
    return done + failed;
}
