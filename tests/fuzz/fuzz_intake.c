/* cs_intake: a JSON body into pairs (cs_intake_pairs_from_json), or the
 * input read as an application/x-www-form-urlencoded body, then both
 * through cs_intake_build / cs_intake_build_ex and the 400 body. */
#include "fuzz_common.h"
#include "domain/cs_intake.h"

FUZZ_APR_INIT

/* key=value&key=value... decoded as ap_parse_form_data would. */
static apr_array_header_t *pairs_from_form(apr_pool_t *p, const char *s,
                                           size_t n)
{
    apr_array_header_t *pairs = cs_pairs_make(p);
    size_t i = 0;

    while (i < n && pairs->nelts <= CS_INTAKE_MAX_FIELDS) {
        const char *amp = memchr(s + i, '&', n - i);
        size_t end = amp ? (size_t)(amp - s) : n;
        const char *eq = memchr(s + i, '=', end - i);
        size_t klen, vlen;
        const char *key, *val;

        if (eq) {
            key = fuzz_urldecode(p, s + i, (size_t)(eq - (s + i)), &klen);
            val = fuzz_urldecode(p, eq + 1, end - (size_t)(eq + 1 - s), &vlen);
        }
        else {
            key = fuzz_urldecode(p, s + i, end - i, &klen);
            val = "";
            vlen = 0;
        }
        cs_pairs_add(pairs, key, val, vlen);
        i = end + 1;
    }
    return pairs;
}

static void build(apr_pool_t *p, const apr_array_header_t *pairs)
{
    static const cs_intake_opts_t opts[] = {
        { "US", "website", "_token" },
        { "GB", NULL, NULL },
        { NULL, "hp", "cs_token" },
    };
    cs_submission_t *sub;
    apr_array_header_t *errors;
    size_t i;

    errors = cs_field_errors_make(p);
    sub = NULL;
    if (cs_intake_build(&sub, p, pairs, errors) == APR_SUCCESS) {
        fuzz_touch_str(sub->name);
        fuzz_touch_str(sub->email);
        fuzz_touch_str(sub->phone);
        fuzz_touch_str(sub->message);
        fuzz_touch_str(sub->fields_json);
    }
    else {
        fuzz_touch_str(cs_field_errors_json(p, errors));
    }
    for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        errors = cs_field_errors_make(p);
        sub = NULL;
        if (cs_intake_build_ex(&sub, p, pairs, &opts[i], errors) == APR_SUCCESS) {
            fuzz_touch_str(sub->name);
            fuzz_touch_str(sub->email);
            fuzz_touch_str(sub->phone);
            fuzz_touch_str(sub->message);
            fuzz_touch_str(sub->fields_json);
            fuzz_touch_str(sub->service);
            fuzz_touch_str(sub->preferred_time);
            fuzz_touch_str(sub->token);
        }
        else {
            fuzz_touch_str(cs_field_errors_json(p, errors));
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    char *body = fuzz_exact(data, size);
    apr_array_header_t *pairs = NULL;
    apr_array_header_t *errors = cs_field_errors_make(p);

    if (cs_intake_pairs_from_json(&pairs, p, body, size, errors) == APR_SUCCESS) {
        build(p, pairs);
    }
    else {
        fuzz_touch_str(cs_field_errors_json(p, errors));
        build(p, pairs_from_form(p, body, size));
    }
    free(body);
    apr_pool_destroy(p);
    return 0;
}
