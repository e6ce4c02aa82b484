/* cs_resend_parse_answer: Resend's answer to POST /emails. The first
 * byte picks the HTTP status (200, 202, 400, 409, 422, 429, 500 or 503),
 * the rest is the body. */
#include "fuzz_common.h"
#include "providers/cs_resend.h"

FUZZ_APR_INIT

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const long statuses[] = { 200, 202, 400, 409, 422, 429, 500, 503 };
    apr_pool_t *p = fuzz_pool();
    long status = size ? statuses[data[0] % 8] : 200;
    char *body = fuzz_exact(size ? data + 1 : data, size ? size - 1 : 0);
    const char *id = NULL, *why = NULL;
    int permanent = -1;
    apr_status_t rv = cs_resend_parse_answer(p, status, body, size ? size - 1 : 0, &id, &why,
                                             &permanent);

    /* An id exactly when it succeeded; a reason otherwise; a retry never
     * ruled out for a 5xx or a 429. */
    if ((rv == APR_SUCCESS) != (id != NULL) || (rv != APR_SUCCESS && !why)
        || (permanent && (status >= 500 || status == 429 || status / 100 == 2))) {
        abort();
    }
    fuzz_touch_str(id);
    fuzz_touch_str(why);
    free(body);
    apr_pool_destroy(p);
    return 0;
}
