/* cs_text: what people type into forms. The whole input is one value. */
#include "fuzz_common.h"
#include "text/cs_text.h"

FUZZ_APR_INIT

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const regions[] = {
        "US", "GB", "FR", "DE", "AU", "MX", "IT", "ar", "NZ", "XX", ""
    };
    apr_pool_t *p = fuzz_pool();
    char *raw = fuzz_exact(data, size);
    char *s = fuzz_cstr(p, data, size);
    const char *out;
    size_t i;

    if (cs_text_is_clean(raw, size)) {
        /* valid UTF-8 without NULs: cs_utf8_chars' precondition */
        if (cs_utf8_chars(s) > size) {
            abort();
        }
    }
    free(raw);
    fuzz_touch_str(cs_trim(p, s));

    out = NULL;
    if (cs_email_normalize(p, s, &out) == APR_SUCCESS) {
        fuzz_touch_str(out);
        if (!strchr(out, '@')) {
            abort();
        }
    }
    out = NULL;
    if (cs_phone_normalize(p, s, &out) == APR_SUCCESS) {
        fuzz_touch_str(out);
    }
    for (i = 0; i < sizeof(regions) / sizeof(regions[0]); i++) {
        out = NULL;
        (void)cs_phone_region_known(regions[i]);
        if (cs_phone_e164(p, s, regions[i], &out) == APR_SUCCESS) {
            fuzz_touch_str(out);
            if (out[0] != '+') {
                abort();
            }
        }
    }
    apr_pool_destroy(p);
    return 0;
}
