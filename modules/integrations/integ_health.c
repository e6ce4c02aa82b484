/*
 * The integrations' part of GET /consult/health: every Jobber account
 * whose token was revoked or whose calls keep failing, so an operator
 * sees it next to the queue. On a client's vhost only that client's
 * accounts; elsewhere (the dashboard, the default vhost) every client's.
 */
#include "integ_private.h"

#include <apr_strings.h>

APLOG_USE_MODULE(consult_integrations);

void integ_health(request_rec *r, PGconn *conn, cs_json_t *doc)
{
    const char *slug = integ_core.client_slug(r->server), *err = NULL;
    const char *params[1] = { slug };
    cs_json_t *out = cs_json_object(r->pool), *bad = cs_json_array(r->pool);
    PGresult *res;
    int i;

    res = cs_db_exec(conn, r->pool, &err, PGRES_TUPLES_OK,
                     "SELECT c.slug, a.provider, a.state, a.last_error,"
                     "  to_char(a.last_error_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
                     "  (SELECT count(*) FROM integration_accounts x WHERE x.state = 'connected'"
                     "    AND ($1::text IS NULL OR x.client_id = c.id))"
                     " FROM integration_accounts a JOIN clients c ON c.id = a.client_id"
                     " WHERE a.state IN ('revoked', 'failing') AND ($1::text IS NULL OR c.slug = $1)"
                     " ORDER BY c.slug, a.provider", 1, params);
    if (!res) {
        cs_json_set_str(out, "error", "unavailable (are migrations applied?)");
        cs_json_set_obj(doc, "integrations", out);
        return;
    }
    for (i = 0; i < PQntuples(res); i++) {
        cs_json_t *a = cs_json_object(r->pool);
        cs_json_set_str(a, "client", PQgetvalue(res, i, 0));
        cs_json_set_str(a, "provider", PQgetvalue(res, i, 1));
        cs_json_set_str(a, "state", PQgetvalue(res, i, 2));
        if (!PQgetisnull(res, i, 3)) cs_json_set_str(a, "last_error", PQgetvalue(res, i, 3));
        if (!PQgetisnull(res, i, 4)) cs_json_set_str(a, "last_error_at", PQgetvalue(res, i, 4));
        cs_json_append(bad, a);
    }
    PQclear(res);
    cs_json_set_bool(out, "ok", i == 0);
    cs_json_set_obj(out, "failing", bad);
    cs_json_set_obj(doc, "integrations", out);
}
