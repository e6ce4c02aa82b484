/* cs_json_parse, the typed getter and serialization back. */
#include "fuzz_common.h"
#include "base/cs_json.h"

FUZZ_APR_INIT

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    char *buf = fuzz_exact(data, size);
    cs_json_t *j = NULL;
    const char *err = NULL;

    if (cs_json_parse(&j, p, buf, size, &err) == APR_SUCCESS) {
        if (!j) {
            abort();
        }
        fuzz_touch_str(cs_json_get_str(j, "text"));
        fuzz_touch_str(cs_json_get_str(j, ""));
        fuzz_touch_str(cs_json_dump(j, p));
        if (json_object_is_type(cs_json_raw(j), json_type_object)) {
            cs_json_set_str(j, "fuzz", "x");
            cs_json_set_int(j, "n", 1);
            fuzz_touch_str(cs_json_dump(j, p));
        }
    }
    else if (!err) {
        abort();
    }
    free(buf);
    apr_pool_destroy(p);
    return 0;
}
