/* The POS adapter registry and the one way adapters send (cs_pos.h). */
#include "providers/pos/cs_pos.h"

#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>

static const cs_pos_adapter_t *const adapters[] = {
    &cs_pos_mock, &cs_pos_square, &cs_pos_clover, &cs_pos_toast, NULL
};

const cs_pos_adapter_t *cs_pos_adapter(const char *kind)
{
    int i;

    for (i = 0; kind && adapters[i]; i++) {
        if (!strcmp(adapters[i]->name, kind)) {
            return adapters[i];
        }
    }
    return NULL;
}

const char *cs_pos_adapter_names(void)
{
    return "mock square clover toast";
}

apr_time_t cs_pos_now(const cs_pos_session_t *s)
{
    return s && s->now ? s->now : apr_time_now();
}

/* Retry-After in seconds (the HTTP-date form is rare from APIs: treat it
 * as "soon"). Capped so a hostile answer cannot park a job for days. */
static apr_interval_time_t retry_after(const cs_http_resp_t *resp)
{
    const char *v = resp && resp->headers ? apr_table_get(resp->headers, "Retry-After")
                                          : NULL;
    char *end;
    long n;

    if (!v) {
        return 0;
    }
    n = strtol(v, &end, 10);
    if (end == v || n < 0) {
        return apr_time_from_sec(1);
    }
    return apr_time_from_sec(n > 3600 ? 3600 : n);
}

apr_status_t cs_pos_send(cs_http_resp_t **presp, cs_pos_session_t *s,
                         const cs_http_req_t *req, apr_pool_t *p,
                         const char **perr)
{
    cs_http_req_t r = *req;
    const char *name = s->conf && s->conf->kind ? s->conf->kind : "POS";
    const char *err = NULL;
    cs_http_resp_t *resp = NULL;
    apr_status_t rv;

    *presp = NULL;
    s->retry_after = 0;
    s->last_status = 0;
    if (!r.timeout && s->conf) {
        r.timeout = s->conf->timeout;
    }
    rv = (s->send ? s->send : cs_http_perform)(&resp, p, &r, &err);
    if (rv != APR_SUCCESS) {
        *perr = apr_psprintf(p, "%s could not be reached: %s", name,
                             err ? err : "transport error");
        return APR_EAGAIN;
    }
    *presp = resp;
    s->last_status = resp->status;
    if (resp->status >= 200 && resp->status < 300) {
        return APR_SUCCESS;
    }
    if (resp->status == 429) {
        s->retry_after = retry_after(resp);
        *perr = apr_psprintf(p, "%s is rate limiting us (429)", name);
        return APR_EAGAIN;
    }
    if (resp->status >= 500) {
        s->retry_after = retry_after(resp);
        *perr = apr_psprintf(p, "%s answered %ld", name, resp->status);
        return APR_EAGAIN;
    }
    if (resp->status == 401 || resp->status == 403) {
        *perr = apr_psprintf(p, "%s refused our credentials (%ld)", name, resp->status);
        return APR_EACCES;
    }
    *perr = apr_psprintf(p, "%s refused the request (%ld)", name, resp->status);
    return APR_EINVAL;
}
