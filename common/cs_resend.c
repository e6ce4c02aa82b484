#include "cs_resend.h"
#include "cs_json.h"

#include <apr_strings.h>
#include <stdint.h>
#include <string.h>

/* A string member of @p obj, or NULL. */
static const char *member(json_object *obj, const char *key)
{
    json_object *v;
    if (!obj || !json_object_is_type(obj, json_type_object)
        || !json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string)) {
        return NULL;
    }
    return json_object_get_string(v);
}

apr_status_t cs_resend_parse_answer(apr_pool_t *p, long status, const char *body,
                                    apr_size_t len, const char **pid, const char **pwhy,
                                    int *ppermanent)
{
    json_tokener *tok = json_tokener_new();
    json_object *ans = NULL;
    const char *id, *name, *msg;

    *pid = NULL;
    *pwhy = NULL;
    *ppermanent = 0;
    if (tok && body && len <= INT32_MAX) {
        ans = json_tokener_parse_ex(tok, body, (int)len);
    }
    if (tok) json_tokener_free(tok);
    if (status / 100 == 2) {
        id = member(ans, "id");
        if (id && *id) {
            *pid = apr_pstrdup(p, id);
            json_object_put(ans);
            return APR_SUCCESS;
        }
        *pwhy = "Resend answered without an email id";
        if (ans) json_object_put(ans);
        return APR_EGENERAL;
    }
    name = member(ans, "name");
    msg = member(ans, "message");
    *pwhy = apr_psprintf(p, "Resend %ld %s: %s", status, name ? name : "error",
                         msg ? msg : "no details");
    /* 429 and a concurrent request with our key are worth a retry; other
     * 4xx (a bad address, a bad key) are not. */
    *ppermanent = status / 100 == 4 && status != 429
                  && !(name && !strcmp(name, "concurrent_idempotent_requests"));
    if (ans) json_object_put(ans);
    return APR_EGENERAL;
}
