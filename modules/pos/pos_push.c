/*
 * pos.item.push: a staff 86 (or its undoing) from the dashboard's Menu
 * page, told to the POS itself where its API allows.
 *
 * Payload {"client_id": N, "pos_id": "...", "sold_out": true|false}, and
 * "expire": true on the run queued for the end of an "86 for today". The
 * dashboard has already changed item_availability, in the transaction
 * that queued this job; the job makes the POS agree and records how that
 * went on the staff row (item_availability.pushed):
 * - 'pos': the POS took it;
 * - 'local': the adapter answers APR_ENOTIMPL (Square's API cannot mark
 *   items sold out): the staff row stays Consult's own override of the
 *   menu it serves, which the poll and webhooks never overwrite;
 * - 'failed': the POS refused it (credentials, an unknown item), or was
 *   unreachable through the last attempt; the override holds here too.
 * Transient failures (APR_EAGAIN) are retried with core's backoff.
 *
 * Jobs for one item are serialized by an advisory lock, and each checks
 * the staff row as it is now: a push the staff have since undone (or an
 * undo they have since redone) is dropped, as a newer job carries the
 * current state. The row itself is not locked while the POS is asked, so
 * a member of staff never waits on the POS.
 */
#include "pos_private.h"

#include <apr_strings.h>
#include <stdlib.h>

APLOG_USE_MODULE(consult_pos);

#define LOG_S(job) ((server_rec *)(job)->server)

static int fail(cs_job_t *job, const char *what, const char *err)
{
    job->error = apr_psprintf(job->pool, "%s: %s", what, err ? err : "failed");
    return HTTP_SERVICE_UNAVAILABLE;
}

static PGresult *exec(cs_job_t *job, const char **perr, ExecStatusType expect,
                      const char *sql, int n, const char *const *params)
{
    return cs_db_exec(job->conn, job->pool, perr, expect, sql, n, params);
}

int pos_run_push(cs_job_t *job)
{
    cs_json_t *pl = NULL;
    json_object *o;
    apr_int64_t client = 0;
    const char *err = NULL, *pos_id, *client_id, *outcome, *params[5];
    const char *set_at = NULL;
    int sold_out, expire, have = 0, expired = 0, active, last;
    long changed = 0;
    cs_pos_session_t s;
    PGresult *res;
    pos_conf *c;
    apr_status_t rv;

    if (cs_json_parse(&pl, job->pool, job->payload, strlen(job->payload), &err) != APR_SUCCESS
        || !(o = cs_json_raw(pl)) || !cs_jint(o, "client_id", &client) || client <= 0
        || !(pos_id = cs_jstr(o, "pos_id")) || !*pos_id
        || !json_object_object_get_ex(o, "sold_out", NULL)) {
        job->permanent = 1;
        return fail(job, "payload", "expected {\"client_id\": ID, \"pos_id\": \"...\","
                    " \"sold_out\": true|false}");
    }
    sold_out = cs_jbool(o, "sold_out", 0);
    expire = cs_jbool(o, "expire", 0);
    client_id = apr_psprintf(job->pool, "%" APR_INT64_T_FMT, client);

    params[0] = client_id;
    params[1] = pos_id;
    res = exec(job, &err, PGRES_TUPLES_OK, "SELECT slug FROM clients WHERE id = $1", 1, params);
    if (!res) return fail(job, "reading the client", err);
    c = PQntuples(res) ? pos_conf_for_slug(PQgetvalue(res, 0, 0)) : NULL;
    if (!c) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, LOG_S(job), CSLOGNO(06040)
                     "%s for client %s dropped: no ConsultPOS for it", job->kind, client_id);
        PQclear(res);
        return OK;
    }
    PQclear(res);

    /* One job per item at a time, whichever node runs it. */
    res = exec(job, &err, PGRES_TUPLES_OK,
               "SELECT pg_advisory_xact_lock(hashtextextended('pos.item.push:' || $1"
               " || ':' || $2, 0))", 2, params);
    if (!res) return fail(job, "locking the item", err);
    PQclear(res);
    res = exec(job, &err, PGRES_TUPLES_OK,
               "SELECT until IS NOT NULL AND until <= now(), set_at FROM item_availability"
               " WHERE client_id = $1 AND item_id = $2 AND source = 'staff'", 2, params);
    if (!res) return fail(job, "reading the item", err);
    if (PQntuples(res) == 1) {
        have = 1;
        expired = PQgetvalue(res, 0, 0)[0] == 't';
        set_at = apr_pstrdup(job->pool, PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    active = have && !expired;
    /* Superseded: the state this job was queued for is not the state now. */
    if ((sold_out && !active) || (!sold_out && active) || (expire && !(have && expired))) {
        return OK;
    }

    memset(&s, 0, sizeof(s));
    s.conf = &c->pos;
    s.token_pool = job->pool;
    rv = c->adapter->set_sold_out(&s, pos_id, sold_out, job->pool, &err);
    last = job->attempt >= job->max_attempts;
    if (rv == APR_SUCCESS) {
        outcome = "pos";
        err = NULL;
    }
    else if (APR_STATUS_IS_ENOTIMPL(rv)) {
        outcome = "local";
    }
    else if (APR_STATUS_IS_EAGAIN(rv) && !last) {
        return fail(job, "telling the POS", err);       /* retried with backoff */
    }
    else {
        outcome = "failed";
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, LOG_S(job), CSLOGNO(06041)
                     "%s %s at the POS of %s failed: %s", sold_out ? "86 of" : "un-86 of",
                     pos_id, c->slug, err ? err : "unknown error");
    }

    params[2] = outcome;
    params[3] = err;
    params[4] = set_at;
    if (sold_out) {
        /* The row it was queued for, unless the staff have 86'd it anew
         * (whose own job records its own push). */
        res = exec(job, &err, PGRES_COMMAND_OK,
                   "UPDATE item_availability SET pushed = $3, pushed_at = now(), push_error = $4"
                   " WHERE client_id = $1 AND item_id = $2 AND source = 'staff'"
                   "   AND set_at = $5::timestamptz", 5, params);
        if (!res) return fail(job, "recording the push", err);
        PQclear(res);
    }
    else {
        /* An "86 for today" ends: the mark goes (the menu showed the item
         * available since its time; the POS agrees now where it can). And
         * once the POS has been told the item is back, a mark the poll
         * copied from it in between is stale. */
        res = exec(job, &err, PGRES_TUPLES_OK,
                   "WITH x AS (DELETE FROM item_availability WHERE client_id = $1 AND item_id = $2"
                   "   AND ((source = 'staff' AND until <= now())"
                   "     OR ($3 = 'pos' AND source IN ('pos', 'poll'))) RETURNING 1)"
                   " SELECT count(*) FROM x", 3, params);
        if (!res) return fail(job, "clearing the mark", err);
        changed = atol(PQgetvalue(res, 0, 0));
        PQclear(res);
        if (changed) {
            res = exec(job, &err, PGRES_COMMAND_OK,
                       "UPDATE restaurants SET menu_version = menu_version + 1"
                       " WHERE client_id = $1", 1, params);
            if (!res) return fail(job, "bumping the menu version", err);
            PQclear(res);
        }
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, LOG_S(job), CSLOGNO(06042)
                 "%s %s for %s: %s", sold_out ? "86 of" : "un-86 of", pos_id, c->slug,
                 !strcmp(outcome, "pos") ? "pushed to the POS"
                 : !strcmp(outcome, "local") ? "kept as Consult's override" : "not pushed");
    /* The snapshot served while Postgres is away, as the menu is now. */
    if (pos_write_snapshot(job->conn, job->pool, c, client_id, &err) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, LOG_S(job), CSLOGNO(06043)
                     "menu snapshot of %s not written: %s", c->slug, err);
    }
    return OK;
}
