/* cs_form_token_check on arbitrary tokens, plus an issue/check round trip
 * with the input as the scope. */
#include "fuzz_common.h"
#include "auth/cs_token.h"

FUZZ_APR_INIT

static const unsigned char secret[] = "fuzz-secret-0123456789abcdef0123";
#define SECRET_LEN (sizeof(secret) - 1)
/* 2023-11-14T22:13:20Z */
#define NOW ((apr_time_t)1700000000 * APR_USEC_PER_SEC)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    const char *token = fuzz_cstr(p, data, size);
    const char *nonce = NULL;
    const char *issued;
    cs_token_verdict_t v;

    v = cs_form_token_check(p, token, secret, SECRET_LEN, "acme", NOW,
                            apr_time_from_sec(2), apr_time_from_sec(86400),
                            &nonce);
    fuzz_touch_str(cs_token_verdict_name(v));
    if (v != CS_TOKEN_MISSING && v != CS_TOKEN_INVALID) {
        fuzz_touch_str(nonce);
    }
    nonce = NULL;
    v = cs_form_token_check(p, token, secret, 1, "", NOW, 0, 1, &nonce);
    fuzz_touch_str(cs_token_verdict_name(v));

    /* A token we issued for this scope checks out a little later. */
    issued = cs_form_token_issue(p, secret, SECRET_LEN, token, NOW);
    if (issued) {
        nonce = NULL;
        v = cs_form_token_check(p, issued, secret, SECRET_LEN, token,
                                NOW + apr_time_from_sec(5),
                                apr_time_from_sec(2), apr_time_from_sec(86400),
                                &nonce);
        if (v != CS_TOKEN_OK || !nonce) {
            abort();
        }
    }
    apr_pool_destroy(p);
    return 0;
}
