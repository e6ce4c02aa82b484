/* cs_classify_builtin: any text a person or bot sends. */
#include "fuzz_common.h"
#include "classify/cs_classify.h"

FUZZ_APR_INIT

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    const char *text = fuzz_cstr(p, data, size);
    cs_classification_t *c = cs_classify_builtin(p, text);
    int i;

    if (!c || cs_intent_index(c->intent) < 0 || cs_urgency_index(c->urgency) < 0
        || !(c->confidence >= 0.0 && c->confidence <= 1.0)
        || !(c->urgency_confidence >= 0.0 && c->urgency_confidence <= 1.0)) {
        abort();
    }
    if (c->when) {
        for (i = 0; i < c->when->nelts; i++) {
            fuzz_touch_str(APR_ARRAY_IDX(c->when, i, const char *));
        }
    }
    fuzz_touch_str(c->service);
    fuzz_touch_str(c->budget);
    fuzz_touch_str(c->lang);
    fuzz_touch_str(cs_classification_json(p, c));
    apr_pool_destroy(p);
    return 0;
}
