/* cs_llm_parse_answer: the model's answer is untrusted (not every
 * OpenAI-compatible server enforces the schema). */
#include "fuzz_common.h"
#include "providers/cs_llm.h"
#include "text/cs_text.h"

FUZZ_APR_INIT

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    char *content = fuzz_exact(data, size);
    cs_classification_t *c = NULL;
    const char *err = NULL;
    int i;

    if (cs_llm_parse_answer(&c, p, content, size, &err) == APR_SUCCESS) {
        if (!c || cs_intent_index(c->intent) < 0
            || cs_urgency_index(c->urgency) < 0
            || !(c->confidence >= 0.0 && c->confidence <= 1.0)
            || !c->when) {
            abort();
        }
        for (i = 0; i < c->when->nelts; i++) {
            const char *w = APR_ARRAY_IDX(c->when, i, const char *);
            if (!w || !cs_text_is_clean(w, strlen(w))) {
                abort();
            }
        }
        fuzz_touch_str(c->service);
        fuzz_touch_str(c->budget);
        fuzz_touch_str(cs_classification_json(p, c));
    }
    else {
        if (c || !err || strncmp(err, "invalid answer: ", 16)) {
            abort();
        }
    }
    free(content);
    apr_pool_destroy(p);
    return 0;
}
