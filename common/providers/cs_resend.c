#include "providers/cs_resend.h"
#include "base/cs_json.h"

#include <apr_strings.h>
#include <string.h>

apr_status_t cs_resend_parse_answer(apr_pool_t *p, long status, const char *body,
                                    apr_size_t len, const char **pid, const char **pwhy,
                                    int *ppermanent)
{
    cs_json_t *ans = NULL;
    const char *err = NULL, *id, *name = NULL, *msg = NULL;

    *pid = NULL;
    *pwhy = NULL;
    *ppermanent = 0;
    if (body && cs_json_parse(&ans, p, body, len, &err) != APR_SUCCESS) {
        ans = NULL;
    }
    if (status / 100 == 2) {
        if (ans && (id = cs_json_get_str(ans, "id")) && *id) {
            *pid = apr_pstrdup(p, id);
            return APR_SUCCESS;
        }
        *pwhy = "Resend answered without an email id";
        return APR_EGENERAL;
    }
    if (ans) {
        name = cs_json_get_str(ans, "name");
        msg = cs_json_get_str(ans, "message");
    }
    *pwhy = apr_psprintf(p, "Resend %ld %s: %s", status, name ? name : "error",
                         msg ? msg : "no details");
    /* 429 and a concurrent request with our key are worth a retry; other
     * 4xx (a bad address, a bad key) are not. */
    *ppermanent = status / 100 == 4 && status != 429
                  && !(name && !strcmp(name, "concurrent_idempotent_requests"));
    return APR_EGENERAL;
}
